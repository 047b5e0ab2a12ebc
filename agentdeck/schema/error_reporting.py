"""What a GraphQL client is told when something goes wrong.

A client error (a document that does not parse or validate, a variable of the wrong type, unsafe
text, a domain rule) is reported as it is, with `extensions.code`. Only a fault of the server is
masked, as "Unexpected error." with the correlation id that the server's log line quotes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSyntaxError,
)
from starlette.websockets import WebSocket
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types.graphql import OperationType

from agentdeck.errors import DomainError, as_unavailable
from agentdeck.logs import correlation_id, log_client_error, log_fault
from agentdeck.schema.documents import SeenBefore, document_size, release_tokens
from agentdeck.schema.input_safety import variable_errors

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL = "INTERNAL_SERVER_ERROR"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"  # over the cost budget per operation (schema/cost.py)


def _extensions(error: GraphQLError) -> dict[str, Any]:
    """`error.extensions`, which graphql-core declares optional (its constructor always sets a
    dict, but the attribute may be assigned None)."""
    return error.extensions or {}


def _tag(errors: list[GraphQLError] | None, code: str) -> None:
    for error in errors or ():
        if not _extensions(error).get("code"):
            error.extensions = {**_extensions(error), "code": code}


def is_client_error(error: GraphQLError) -> bool:
    """Errors about the request itself, and overload the client should retry (`UNAVAILABLE`).
    Anything else that escaped a resolver is a fault."""
    original = error.original_error
    if isinstance(original, DomainError) or _extensions(error).get("code") or as_unavailable(original):
        return True
    if error.path is None:  # before execution: variable coercion
        return True
    # An argument the executor could not coerce (graphql-core raises these as GraphQLError).
    return isinstance(original, GraphQLError) and error.message.startswith("Argument '")


def client_code(error: GraphQLError) -> str:
    """The code a client error is reported (and logged) with."""
    code = _extensions(error).get("code")
    if code:
        return str(code)
    busy = as_unavailable(error.original_error)
    if busy is not None:
        return busy.code
    return PARSE_FAILED if isinstance(error, GraphQLSyntaxError) else BAD_USER_INPUT


def log_graphql_error(where: str, error: GraphQLError) -> None:
    """A client error in one line; a fault with its traceback (before it is masked)."""
    if is_client_error(error):
        log_client_error(where, client_code(error), error.message)
    else:
        log_fault(where, error.original_error or error)


class ErrorReporting(MaskErrors):
    """Codes for client errors; faults masked with the correlation id (replaces `MaskErrors`)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda e: not is_client_error(e))

    def on_validate(self) -> Iterator[None]:
        yield
        _tag(self.execution_context.pre_execution_errors, VALIDATION_FAILED)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": INTERNAL, "correlationId": correlation_id.get()}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        for error in errors:
            busy = as_unavailable(error.original_error)
            if busy is not None and not isinstance(error.original_error, DomainError):
                # The driver's words name pool sizes and URLs: the client gets ours.
                error.message, error.extensions = busy.message, {**_extensions(error), **busy.extensions}
            if is_client_error(error):
                _tag([error], client_code(error))
        return super()._process_errors(errors)


# The parse and validation caches are keyed by the document's text: a longer one (comments and
# string literals are not bounded by the token limit) is parsed and validated every time, so
# that 512 entries cannot hold up to the 1 MiB body bound each.
CACHEABLE_QUERY_CHARS = 16_384


class CachedParser(ParserCache):
    """`ParserCache` for documents sent more than once (`SeenBefore`); a document that does not
    parse is left to Strawberry's own parse, which reports it as a request error (ParserCache's
    raise would skip error reporting)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.seen_before = SeenBefore()

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        query = ec.query
        if query is not None and len(query) <= CACHEABLE_QUERY_CHARS and self.seen_before(query):
            with contextlib.suppress(GraphQLError):
                ec.graphql_document = self.cached_parse_document(query, **ec.parse_options)
        yield
        if ec.graphql_document is not None:
            release_tokens(ec.graphql_document)


class BoundedValidation(SchemaExtension):
    """Validation that cannot stall the server. Before a document not seen before is validated,
    `document_size` measures it on the parsed document (a walk of at most `max_fields`
    selections) and refuses one that would be costly to validate: over `max_fields` selections,
    or over `max_field_pairs` pairs of fields sharing a response path, which graphql-core's
    OverlappingFieldsCanBeMerged compares one by one (149 copies of `health { status }`, 298
    fields, made 22,052 such pairs and took 45 ms; 490 copies 1.0-1.5 s). What is accepted
    validates in a few ms, on a worker thread. The results for a document sent more than once,
    refusals included, are cached by its text."""

    def __init__(self, max_fields: int, max_field_pairs: int, maxsize: int = 512) -> None:
        self.max_fields = max_fields
        self.max_field_pairs = max_field_pairs
        self.maxsize = maxsize
        self.cache: OrderedDict[str, list[GraphQLError]] = OrderedDict()
        self.seen_before = SeenBefore()

    async def on_validate(self) -> AsyncIterator[None]:
        ec = self.execution_context
        document = ec.graphql_document
        if document is None:  # Strawberry validates only a document that parsed
            raise RuntimeError("on_validate ran without a parsed document")
        key = ec.query
        if key and key in self.cache:
            self.cache.move_to_end(key)
            errors = self.cache[key]
        else:
            refusal = self.refusal(document.definitions)
            if refusal is not None:
                errors = [GraphQLError(refusal, extensions={"code": VALIDATION_FAILED})]
            else:
                # Strawberry's own validation adds its rules (`@oneOf` literals, `Maybe`) to ours.
                errors = await asyncio.to_thread(validate_document, ec.schema._schema, document, ec.validation_rules)
            if key and len(key) <= CACHEABLE_QUERY_CHARS and self.seen_before(key):
                self.cache[key] = errors
                if len(self.cache) > self.maxsize:
                    self.cache.popitem(last=False)
        ec.pre_execution_errors = errors
        yield

    def refusal(self, definitions: Any) -> str | None:
        """Why the document is too costly to validate, or None."""
        size = document_size(definitions, self.max_fields, self.max_field_pairs)
        if size.selections > self.max_fields:
            return f"The document selects more than {self.max_fields} fields; split it into smaller operations."
        if size.pairs > self.max_field_pairs:
            repeated = f"'{size.repeated}' {size.repeats} times" if size.repeated else "fragments many times"
            return (
                f"The document repeats fields too often to be validated ({repeated} in one place): "
                f"over {self.max_field_pairs} pairs of same-named fields to compare. Select each field once."
            )
        return None


class RequestChecks(SchemaExtension):
    """Before execution: unsafe text anywhere in the variables (`input_safety`), and a
    subscription sent over plain HTTP (it would run its resolver as a query)."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        errors = variable_errors(ec.variables)
        if errors:
            raise errors[0]
        if ec.operation_type is OperationType.SUBSCRIPTION and not isinstance(ec.context.request, WebSocket):
            raise GraphQLError(
                "Subscriptions are served over WebSocket at /graphql (graphql-transport-ws or graphql-ws).",
                extensions={"code": "BAD_REQUEST"},
            )
        yield
