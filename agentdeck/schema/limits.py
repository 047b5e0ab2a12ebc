"""Enforce the `Limit`s declared on arguments and input fields (see `domain/common/limits.py`).

`enforce_limits` gives every root field whose arguments carry a limit (directly or inside an
input object) one `CheckLimits` extension. It runs after the field's permissions, so a caller
without access learns nothing about the input, and before the resolver, so bad input changes
nothing. Root fields only run once per operation, so the extension costs nothing per item.
"""

from __future__ import annotations

from collections.abc import Iterable
from inspect import isasyncgen, isawaitable
from typing import Annotated, Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.field import StrawberryField

from agentdeck.domain.common.limits import OFFSET, PAGE_SIZE, Limit, check

KEY = "limit"


def limited(limit: Limit, **metadata: Any) -> dict[str, Any]:
    """Metadata for `strawberry.argument(metadata=...)` or `strawberry.field(metadata=...)`."""
    return {**metadata, KEY: limit}


def limit_of(definition: Any) -> Limit | None:
    """The limit declared on a Strawberry argument or field (None when it has none)."""
    return (getattr(definition, "metadata", None) or {}).get(KEY)


class CheckLimits(FieldExtension):
    def __init__(self, field: StrawberryField) -> None:
        self.arguments = field.arguments

    def problems(self, info: strawberry.Info, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        convert = info.schema.config.name_converter
        for argument in self.arguments:
            if argument.python_name in kwargs:
                path = convert.from_argument(argument)
                value = kwargs[argument.python_name]
                limit = limit_of(argument)
                if limit is not None:
                    out += limit.problems(value, path)
                _walk(value, path, out)
        return out

    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        check(self.problems(info, kwargs))
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        check(self.problems(info, kwargs))
        result = next_(source, info, **kwargs)
        if isasyncgen(result):  # a subscription
            return result
        return await result if isawaitable(result) else result


def _walk(value: Any, path: str, out: list[dict[str, Any]]) -> None:
    """Limits of input-object fields, at any depth (paths use the REST, i.e. Python, names)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}.{i}", out)
        return
    definition = get_object_definition(value)
    if definition is None or not definition.is_input:
        return
    for field in definition.fields:
        item = getattr(value, field.python_name, None)
        limit = limit_of(field)
        if limit is not None:
            out += limit.problems(item, f"{path}.{field.python_name}")
        _walk(item, f"{path}.{field.python_name}", out)


def _has_limits(annotation: Any, seen: set[type] | None = None) -> bool:
    seen = seen if seen is not None else set()
    while isinstance(annotation, StrawberryOptional | StrawberryList):
        annotation = annotation.of_type
    definition = get_object_definition(annotation)
    if definition is None or not definition.is_input or annotation in seen:
        return False
    seen.add(annotation)
    return any(limit_of(f) is not None or _has_limits(f.type, seen) for f in definition.fields)


def enforce_limits(root_types: Iterable[type]) -> None:
    """Give each root field with limited arguments its `CheckLimits`, innermost (after the
    permission checks, which Strawberry runs outside it). Idempotent: schemas are built often."""
    for root in root_types:
        definition = get_object_definition(root, strict=True)
        for field in definition.fields:
            if any(isinstance(e, CheckLimits) for e in field.extensions):
                continue
            if any(limit_of(a) is not None or _has_limits(a.type) for a in field.arguments):
                field.extensions.insert(0, CheckLimits(field))


# Every paginated list takes these (see `domain.common.limits.PAGE_SIZE`, `OFFSET`).
PageSize = Annotated[int, strawberry.argument(metadata=limited(PAGE_SIZE))]
Offset = Annotated[int, strawberry.argument(metadata=limited(OFFSET))]
