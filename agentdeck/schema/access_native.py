"""What the native fields of the access domains (service accounts, signup, contact, containers)
need beyond the toolkit (`graph.py`), kept here so the toolkit stays untouched:

- global ids as arguments: `lookup_key` (a lookup: a malformed id, another type's id or a missing
  entity are all `NotFound`) and `input_key` (a mutation's input: the same, as a user error at
  the input field's path);
- input bounds checked inside the mutation (`bounded` metadata, `check_input`), so a value out of
  bounds is a user error at its path rather than a top-level error (the `limited` metadata of
  `schema.limits` is enforced before the resolver, which suits the REST face);
- `payload`: `graph.payload`, plus the domain's `{"field": "input.x_y", "message"}` details (the
  shape the REST layer answers with) turned into user errors at `["input", "xY"]`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from strawberry.types.base import get_object_definition

from agentdeck.domain.common.limits import Limit
from agentdeck.errors import DomainError, InvalidInput, NotFound
from agentdeck.schema import graph

P = TypeVar("P")
INPUT = "input"
BOUND = "native_limit"  # not `schema.limits.KEY`: enforce_limits must not see these


def database_key(value: str, type_name: str) -> uuid.UUID | None:
    """The UUID a global id of `type_name` carries, or None when it is not one."""
    return graph.node_uuid(value, type_name)


def lookup_key(value: str, type_name: str, message: str) -> uuid.UUID:
    """The UUID of a lookup's `id`; anything that cannot name a `type_name` is `NotFound`."""
    key = database_key(value, type_name)
    if key is None:
        raise NotFound(message)
    return key


def input_key(value: str, type_name: str, message: str, field: str = "id") -> uuid.UUID:
    """The UUID of an id in a mutation's input, else `NotFound` at `input.<field>`."""
    key = database_key(value, type_name)
    if key is None:
        raise NotFound(message, details=[{"loc": [INPUT, field], "msg": message}])
    return key


def bounded(limit: Limit) -> dict[str, Any]:
    """Metadata of a native input field whose bounds `check_input` checks."""
    return {BOUND: limit}


def check_input(value: Any, path: Sequence[str] = (INPUT,)) -> None:
    """Raise `InvalidInput` (every problem, at its GraphQL path) if a `bounded` field of the input
    object `value` (at any depth) is out of its bounds."""
    problems: list[dict[str, Any]] = []
    _walk(value, list(path), problems)
    if problems:
        raise InvalidInput(problems[0]["msg"], details=problems)


def _walk(value: Any, path: list[str], out: list[dict[str, Any]]) -> None:
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, [*path, str(i)], out)
        return
    definition = get_object_definition(value)
    if definition is None or not definition.is_input:
        return
    for field in definition.fields:
        item = getattr(value, field.python_name, None)
        here = [*path, field.python_name]
        metadata: Mapping[str, Any] = field.metadata or {}
        limit = metadata.get(BOUND)
        if limit is not None:
            out += [{"loc": here, "msg": p["message"], "type": p["type"]} for p in limit.problems(item, ".".join(here))]
        _walk(item, here, out)


def _located(error: DomainError, missing: str | None) -> None:
    """Give a user error's details the `loc` form `graph.UserError.from_domain` reads."""
    details = error.details if isinstance(error.details, list) else None
    if details is None:
        if error.code == "NOT_FOUND" and missing is not None:
            error.details = [{"loc": [INPUT, missing], "msg": error.message}]
        return
    located = []
    for detail in details:
        if isinstance(detail, dict) and "loc" not in detail and isinstance(detail.get("field"), str):
            parts = detail["field"].split(".")
            loc = parts if parts[0] == INPUT else [INPUT, *parts]
            detail = {**detail, "loc": loc, "msg": detail.get("message") or error.message}
        located.append(detail)
    error.details = located


async def payload(make: Callable[..., P], action: Awaitable[dict[str, Any]], *, missing: str | None = None) -> P:
    """`graph.payload`, with the domain's `field`-style details located (and a `NotFound`
    without details placed at `input.<missing>`, the id the mutation looked for)."""

    async def located() -> dict[str, Any]:
        try:
            return await action
        except DomainError as error:
            if graph.user_error_code(error) is not None:
                _located(error, missing)
            raise

    return await graph.payload(make, located())


async def batched(keys: list[uuid.UUID], read: Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, Any]]]) -> list:
    """A DataLoader batch over a domain read that answers {key: value} (None for a missing key)."""
    found = await read(list(dict.fromkeys(keys)))
    return [found.get(k) for k in keys]
