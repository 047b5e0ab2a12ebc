"""The project's Strawberry `Schema`: Strawberry's, with errors logged the way we log them."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from agentdeck.metrics import operation_labels
from agentdeck.schema.error_reporting import log_graphql_error


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Strawberry logs every error with its traceback; a client's mistakes (domain errors,
        parse, validation and variable errors) get one line here, only faults a traceback.
        Runs before `MaskErrors`, so faults are logged unmasked."""
        field = operation_labels(execution_context)[0] if execution_context is not None else "other"
        for error in errors:
            log_graphql_error(f"GraphQL {field}", error)
