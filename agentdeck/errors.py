"""Domain errors. Resolvers raise these; GraphQL shows `extensions.code`, REST maps the code.

A domain error is an expected outcome (not found, forbidden, conflict...): it is never masked.
Anything else that escapes a resolver is a bug and is masked as "Unexpected error.".
"""

from __future__ import annotations

from typing import Any

# The one table of error codes: code -> (HTTP status, the REST `error` name, or None for the name
# the status gives). Every `extensions.code` the server reports is one of these: a DomainError
# with a code not in it cannot be defined or raised, REST refuses to answer one
# (`http_status`), and tests/platform/test_layers.py fails on a literal code used anywhere in
# agentdeck/ (GraphQLError extensions, error constructors) that is not listed here.
CODES: dict[str, tuple[int, str | None]] = {
    "BAD_REQUEST": (400, None),
    "UNAUTHENTICATED": (401, None),
    "FORBIDDEN": (403, None),
    "NOT_FOUND": (404, None),
    "CONFLICT": (409, None),
    "GONE": (410, None),
    "PAYLOAD_TOO_LARGE": (413, None),
    "INVALID_INPUT": (422, "ValidationError"),
    "LOCKED": (423, None),
    "PRECONDITION_REQUIRED": (428, None),
    "RATE_LIMITED": (429, None),
    "BAD_GATEWAY": (502, None),
    "UNAVAILABLE": (503, None),
    # Codes that legacy clients match by name (NOTES §6, §10).
    "MissingStripeSignature": (400, "MissingStripeSignature"),
    "InvalidStripePayload": (400, "InvalidStripePayload"),
    "InvalidStripeSignature": (400, "InvalidStripeSignature"),
    "StripeWebhookNotConfigured": (503, "StripeWebhookNotConfigured"),
    "StripeWebhookProcessingFailed": (500, "StripeWebhookProcessingFailed"),
    "StripeBillingStreamPublishFailed": (500, "StripeBillingStreamPublishFailed"),
    "usage_limit_exceeded": (429, "usage_limit_exceeded"),
    # Codes of the GraphQL endpoint itself, about the request rather than a field: /graphql
    # reports them (schema/error_reporting.py, cost.py, persisted.py) and the REST layer, which
    # sends only its own documents, never meets them; the status is the one REST would answer.
    "GRAPHQL_PARSE_FAILED": (400, None),  # the document does not parse
    "GRAPHQL_VALIDATION_FAILED": (400, None),  # it does not validate against the schema, or is too big
    "BAD_USER_INPUT": (400, None),  # a variable of the wrong type, or unsafe text in one
    "QUERY_TOO_COSTLY": (400, None),  # over the cost budget of one operation
    "PERSISTED_QUERY_NOT_FOUND": (400, None),  # Apollo APQ: the hash is unknown, send the document
    "PERSISTED_QUERY_NOT_SUPPORTED": (400, None),  # an APQ version other than 1
    "PERSISTED_QUERY_HASH_MISMATCH": (400, None),  # the document is not the one the hash names
    "PERSISTED_QUERY_TOO_LARGE": (413, None),  # too big a document to keep
    "INTERNAL_SERVER_ERROR": (500, None),  # a fault, masked (with the correlation id)
}


class UnknownErrorCode(ValueError):
    """A programming error: a code missing from `CODES` (REST could not answer it)."""


def _known(code: str) -> str:
    if code not in CODES:
        raise UnknownErrorCode(f"error code {code!r} is not in agentdeck.errors.CODES")
    return code


def http_status(code: str) -> tuple[int, str | None]:
    """The HTTP status and REST `error` name of `code`; UnknownErrorCode for one not in CODES
    (loud in tests, a 500 in production: never a status made up for it)."""
    return CODES[_known(code)]


class DomainError(Exception):
    code = "BAD_REQUEST"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _known(cls.code)

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = _known(code)
        self.details = details
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.details is not None:
            ext["details"] = self.details
        if self.retry_after is not None:
            ext["retryAfter"] = self.retry_after
        return ext


class BadRequest(DomainError):
    code = "BAD_REQUEST"


class InvalidInput(DomainError):
    """Input that is well-typed but breaks a rule; `details` lists the offending fields."""

    code = "INVALID_INPUT"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class Gone(DomainError):
    code = "GONE"


class Locked(DomainError):
    code = "LOCKED"


class RateLimited(DomainError):
    """Too many attempts; `retry_after` says when to come back. With `limit`, the quota that was
    spent is stated too: `extensions.rateLimit` = {limit, remaining, reset (seconds)}, which
    REST sends as X-RateLimit-Limit / -Remaining / -Reset."""

    code = "RATE_LIMITED"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int | None = None,
        limit: int | None = None,
        remaining: int = 0,
        details: Any = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, details=details)
        self.limit = limit
        self.remaining = remaining

    @property
    def extensions(self) -> dict[str, Any]:
        ext = super().extensions
        if self.limit is not None:
            ext["rateLimit"] = {"limit": self.limit, "remaining": self.remaining, "reset": self.retry_after}
        return ext


class PreconditionRequired(DomainError):
    code = "PRECONDITION_REQUIRED"


class Unavailable(DomainError):
    """The server (or a dependency) cannot take this now: 503 with `Retry-After`, never masked."""

    code = "UNAVAILABLE"


BUSY_RETRY_AFTER_S = 1  # what an overloaded process tells a client to wait before retrying


def as_unavailable(exc: BaseException | None) -> Unavailable | None:
    """An overload fault as the error the client is told, or None for any other exception.
    A database pool wait that ended is raised as `Unavailable` by `db.session`; one reached
    without a session (the engine used directly) is recognised here."""
    if isinstance(exc, Unavailable):
        return exc
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(exc, PoolTimeout):
        return Unavailable(
            "The server is busy: no database connection came free in time. Retry shortly.",
            retry_after=BUSY_RETRY_AFTER_S,
        )
    return None


class UpstreamFailed(DomainError):
    code = "BAD_GATEWAY"
