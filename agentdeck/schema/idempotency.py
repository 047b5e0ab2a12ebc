"""The `idempotencyKey` argument of every field that creates something (REST: the
`Idempotency-Key` header, bound to it in the route table). The rule is the domain's
(`domain/common/idempotency.py`); a field passes it the key and the arguments the key guards."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from agentdeck.domain.common import idempotency as ri
from agentdeck.schema.limits import limited

IdempotencyKey = Annotated[
    str | None,
    strawberry.argument(
        description="Makes the request safe to retry (REST: the `Idempotency-Key` header). 1-255 visible ASCII "
        "characters, kept 24 hours by default, per caller and operation: a retry with the same key and "
        "arguments gets the first request's result and creates nothing; other arguments are refused.",
        metadata=limited(ri.KEY),
    ),
]


def keyed(key: str | None, **arguments: Any) -> ri.Idempotency:
    """The key and the field's other arguments, which it guards (the domain fingerprints them)."""
    return ri.Idempotency(key, arguments)
