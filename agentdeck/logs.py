"""The process's logging, configured once from settings, and the request facts every line carries.

Each line has the UTC time, level, logger, the request's correlation id (the `X-Correlation-ID`
the client received) and the tenant the request acts in, when known:

    text: 2025-01-02T03:04:05.678Z INFO agentdeck.access cid=3f2a… tenant=9b1c… GET /api/v1/me 200 4.1ms
    json: {"time": "…Z", "level": "INFO", "logger": "agentdeck.access", "correlation_id": "3f2a…", …}

Client errors (bad input, failed sign-in, refused tokens) are one line without a traceback
(`log_client_error`); only unexpected faults carry a traceback, at ERROR (`log_fault`).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from agentdeck.settings import Settings

# The request being served: set by `middleware.RequestMiddleware`, read by every log line and by
# masked errors, so that a client quoting its `X-Correlation-ID` leads to the server's lines.
correlation_id: ContextVar[str] = ContextVar("correlation_id", default="-")
# The tenant the request acts in ("-" until known): see `bind_tenant`.
tenant: ContextVar[str] = ContextVar("tenant", default="-")

log = logging.getLogger("agentdeck")
MAX_MESSAGE_CHARS = 300  # a client's error message can echo its input: keep each line short
# Refusals that deserve an operator's eye more than the rest: guessed passwords, stolen or
# expired tokens, and a dependency that is down or failing.
WARN_CODES = frozenset({"UNAUTHENTICATED", "LOCKED", "UNAVAILABLE", "BAD_GATEWAY"})

_configured = False


def bind_tenant(tenant_id: uuid.UUID | str | None) -> None:
    """Name the tenant the current request (or WebSocket connection) acts in on its log lines.

    Call it wherever the tenant is decided; it lasts until the request ends.
    """
    tenant.set(str(tenant_id) if tenant_id else "-")


class RequestFacts(logging.Filter):
    """Stamps each record with the correlation id and tenant of the request that emitted it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        record.tenant = tenant.get()
        return True


class TextFormatter(logging.Formatter):
    """One line per record (newlines in messages are escaped); a fault's traceback follows it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s cid=%(correlation_id)s tenant=%(tenant)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return utc_iso(record)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802
        record.message = escape_line(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        # A traceback keeps its lines, but what it quotes (an exception's message may hold the
        # client's text) gets no control character through either.
        return "\n".join(
            UNSAFE_IN_LINE.sub(_escape_character, line) for line in super().formatException(ei).split("\n")
        )


class JsonLineFormatter(JsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(correlation_id)s %(tenant)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "traceback"},
        )

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        log_data["time"] = utc_iso(record)
        super().add_fields(log_data, record, message_dict)


def utc_iso(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


# What could break a line, forge one or rewrite a terminal: C0 and C1 controls, DEL, Unicode line
# separators, bidirectional overrides, and lone surrogates (which no encoding can write).
UNSAFE_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_character(match: re.Match[str]) -> str:
    character = match.group()
    return _SHORT_ESCAPES.get(character) or f"\\u{ord(character):04x}"


def escape_line(text: str) -> str:
    """`text` on one line that is safe to print: backslashes doubled, every control character
    (newlines, NUL, ESC...) escaped as `\\n`, `\\r`, `\\t` or `\\uXXXX`."""
    return UNSAFE_IN_LINE.sub(_escape_character, text.replace("\\", "\\\\"))


def configure_logging(settings: Settings) -> None:
    """Send every logger's records (uvicorn's, the libraries', ours) to stderr in one format."""
    global _configured
    if _configured:
        return
    _configured = True
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestFacts())
    handler.setFormatter(JsonLineFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def _short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "…"


def log_client_error(where: str, code: str, message: str) -> None:
    """An expected refusal (bad input, failed sign-in, refused token): one line, no traceback."""
    level = logging.WARNING if code in WARN_CODES else logging.INFO
    log.log(level, "%s in %s: %s", code, where, _short(message))


def log_fault(where: str, exc: BaseException) -> None:
    """Something the server got wrong: the traceback, at ERROR."""
    log.error("unexpected error in %s: %s", where, _short(str(exc) or type(exc).__name__), exc_info=exc)
