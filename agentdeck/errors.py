"""Domain errors. Resolvers raise these; GraphQL shows `extensions.code`, REST maps the code.

A domain error is an expected outcome (not found, forbidden, conflict...): it is never masked.
Anything else that escapes a resolver is a bug and is masked as "Unexpected error.".
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "BAD_REQUEST"

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
            self.code = code
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

    def __init__(self, message: str, *, retry_after: int | None = None, limit: int | None = None,
                 remaining: int = 0, details: Any = None) -> None:
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
    code = "UNAVAILABLE"


class UpstreamFailed(DomainError):
    code = "BAD_GATEWAY"
