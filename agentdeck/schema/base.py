"""The project's Strawberry `Schema`: Strawberry's, with errors logged the way we log them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types import ExecutionContext
from strawberry.types.scalar import ScalarDefinition

from agentdeck.metrics import operation_labels
from agentdeck.schema.error_reporting import log_graphql_error
from agentdeck.schema.hooks import CachedHooksRunner


def _moment(value: object) -> Any:
    """A client's DateTime: what Strawberry's DateTime accepts, and a moment that exists in UTC
    (`0001-01-01T00:00:00+23:59` parses but is before year 1 there: every query converting it
    for the database failed with a 500)."""
    assert DateTimeDefinition.parse_value is not None
    moment = DateTimeDefinition.parse_value(value)
    offset = moment.utcoffset() if isinstance(moment, dt.datetime) else None
    if offset is not None:
        try:
            moment.replace(tzinfo=None) - offset
        except OverflowError:
            raise StrawberryInputCoercionError(
                f'Value cannot represent a DateTime: "{value}". It is outside the range of UTC dates.'
            ) from None
    return moment


# Strawberry's DateTime (same name, description and output), with a parser that also refuses a
# moment outside the range of UTC datetimes as a coercion error (BAD_USER_INPUT, REST 422).
DATETIME = ScalarDefinition(
    name=DateTimeDefinition.name,
    description=DateTimeDefinition.description,
    specified_by_url=None,
    serialize=DateTimeDefinition.serialize,
    parse_value=_moment,
    parse_literal=None,
    origin=dt.datetime,
)


class Schema(strawberry.Schema):
    def __init__(self, **kwargs: Any) -> None:
        kwargs["scalar_overrides"] = {dt.datetime: DATETIME, **(kwargs.get("scalar_overrides") or {})}
        super().__init__(**kwargs)

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return CachedHooksRunner(execution_context=execution_context, extensions=extensions)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Strawberry logs every error with its traceback; a client's mistakes (domain errors,
        parse, validation and variable errors) get one line here, only faults a traceback.
        Runs before `MaskErrors`, so faults are logged unmasked."""
        field = operation_labels(execution_context)[0] if execution_context is not None else "other"
        for error in errors:
            log_graphql_error(f"GraphQL {field}", error)
