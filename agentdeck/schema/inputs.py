"""Input types built from a plan of their fields made once, not per request.

Strawberry converts an input object field by field, resolving each field's type annotation and
GraphQL name again for every value: for `ChatInput` (twelve fields, which the REST layer sends
all of) that was 26 recursive conversions per chat turn, about 5% of a turn's CPU. A type given
`fast_input` keeps, per field, its GraphQL name, Python name and resolved type; values of scalar
fields are taken as they are (what Strawberry's conversion returns for them), anything else (a
nested input, a list of them, an enum, a `Maybe`, a GlobalID) is converted by Strawberry itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from strawberry.relay.types import GlobalID
from strawberry.scalars import is_scalar
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryMaybe, StrawberryOptional, get_object_definition

T = TypeVar("T", bound=type)

_Plan = tuple[dict[str, Any], list[tuple[str, str, Any, bool]]]


def _as_is(type_: Any, ctx: InputContext) -> bool:
    """True when Strawberry's conversion returns a value of `type_` unchanged."""
    if isinstance(type_, StrawberryMaybe):
        return False  # wrapped in Some()
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    return type_ is not GlobalID and is_scalar(type_, ctx.scalar_registry)


def fast_input(cls: T) -> T:
    """Give the Strawberry input type `cls` a `from_input` that converts by a plan made once."""
    definition = get_object_definition(cls, strict=True)
    plans: dict[int, _Plan] = {}  # per schema configuration (name converter, scalars)

    def plan(ctx: InputContext) -> _Plan:
        found = plans.get(id(ctx.config))
        if found is None:
            # As Strawberry does: a field without a default is None unless sent.
            defaults = {
                f.python_name: None
                for f in definition.fields
                if f.default_value is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            }
            fields = []
            for f in definition.fields:
                type_ = f.resolve_type(type_definition=definition)
                fields.append((ctx.config.name_converter.from_field(f), f.python_name, type_, _as_is(type_, ctx)))
            found = plans[id(ctx.config)] = (defaults, fields)
        return found

    def from_input(type_: type, value: Mapping[str, Any], ctx: InputContext) -> Any:
        defaults, fields = plan(ctx)
        kwargs = dict(defaults)
        for graphql_name, python_name, field_type, as_is in fields:
            if graphql_name in value:
                item = value[graphql_name]
                kwargs[python_name] = item if as_is else ctx.convert(item, field_type, graphql_name)
        return type_(**kwargs)

    definition.from_input = from_input
    return cls
