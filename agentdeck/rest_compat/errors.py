"""GraphQL error codes → HTTP status and the documented error envelope.

Envelope: {"success": false, "error": <name>, "message": <text>, "details": <any|null>}.
The status and the `error` name come from the one table of codes, `agentdeck.errors.CODES`; the
name is derived from the status, as the legacy service did, unless the table gives one (codes
that legacy clients match on by name).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import Response

from agentdeck.errors import http_status

NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Gone",
    413: "PayloadTooLarge",
    423: "Locked",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
}

VALIDATION_MESSAGE = "Request validation failed."


def envelope(
    status: int,
    message: str,
    *,
    error: str | None = None,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "success": False,
        "error": error or NAMES.get(status, "HTTPException"),
        "message": message,
        "details": details,
    }
    try:
        encoded = orjson.dumps(body)
    except TypeError:  # details echo a client's value orjson cannot encode (an int past 64 bits)
        encoded = json.dumps(body, default=str).encode()
    return Response(encoded, status, headers=headers, media_type="application/json")


def validation_failed(details: list[dict[str, Any]]) -> Response:
    return envelope(422, VALIDATION_MESSAGE, error="ValidationError", details=details)


def internal_error() -> Response:
    return envelope(500, "Internal server error.")


def from_extensions(message: str, extensions: dict[str, Any] | None, to_loc) -> Response:
    """Render an error's GraphQL `extensions` (a domain error's, or a GraphQL error's that has a
    code) as the documented envelope, with the status the table gives its code.

    `to_loc` turns an argument path such as `input.password` into a REST `loc` list.
    """
    ext = extensions or {}
    status, name = http_status(ext["code"])  # UnknownErrorCode for a code not in the table
    details = ext.get("details")
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if ext.get("retryAfter") is not None:
        headers["Retry-After"] = str(ext["retryAfter"])
    quota = ext.get("rateLimit")
    if quota:
        headers["X-RateLimit-Limit"] = str(quota["limit"])
        headers["X-RateLimit-Remaining"] = str(quota["remaining"])
        headers["X-RateLimit-Reset"] = str(quota["reset"])  # seconds, like Retry-After
    if status == 422 and name == "ValidationError":
        details = [
            {"type": d.get("type", "value_error"), "loc": to_loc(d.get("field", "")), "msg": d.get("message", message)}
            for d in (details or [])
        ]
        return envelope(422, VALIDATION_MESSAGE, error=name, details=details, headers=headers)
    return envelope(status, message, error=name, details=details, headers=headers)


def not_found_detail() -> Response:
    return Response(b'{"detail":"Not Found"}', 404, media_type="application/json")
