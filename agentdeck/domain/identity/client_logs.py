"""Log lines sent by the caller's client (a browser, an app): written to the server's log, marked
as the client's, never answered back.

Each entry becomes one line of the `agentdeck.client` logger, which says `client_log` (the JSON
format adds `client_log: true`, the user, the event, its scope and fields), after the request's
correlation id and tenant like every line. What arrives is the client's, so it is treated as
hostile text: the input layer already refuses NUL and the other C0 control characters; what
remains that could forge or break a line (line breaks, tabs, DEL and C1 controls, Unicode line
separators and bidirectional overrides) is escaped as `\\uXXXX`, and reserved field names are
dropped. A submission is bounded in size (`AGENTDECK_CLIENT_LOG_MAX_BYTES`, 413 beyond) and
entries per user per minute (`AGENTDECK_CLIENT_LOGS_PER_MINUTE`, 429 beyond).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentdeck.context import Context
from agentdeck.domain.common.limits import Limit
from agentdeck.domain.identity.auth import require_user
from agentdeck.errors import DomainError, InvalidInput, RateLimited
from agentdeck.logs import UNSAFE_IN_LINE

log = logging.getLogger("agentdeck.client")

EVENT = Limit(min_length=1, max_length=128)
SCOPE = Limit(max_length=64)
LEVEL = Limit(min_length=1, max_length=16)
MESSAGE = Limit(max_length=2048)
TIMESTAMP = Limit(max_length=64)
MAX_ENTRIES = 50  # per submission (GraphQL); the REST route takes one
MAX_FIELDS = 32
MAX_DEPTH = 8  # of nested objects and lists in `fields`
RESERVED_FIELDS = frozenset({"level", "message"})  # the legacy service's: fields cannot override the line's own
# The client's level names -> the level of the server's line (a client cannot raise CRITICAL).
LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "log": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.ERROR,
    "critical": logging.ERROR,
}


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"


@dataclass(frozen=True)
class ClientLogEntry:
    event: str
    level: str = "info"
    message: str | None = None
    scope: str | None = None
    timestamp: str | None = None
    fields: Any = field(default_factory=dict)  # a JSON object (checked)


def neutralise(text: str) -> str:
    """`text` with every character that could break or forge a log line escaped as `\\uXXXX`."""
    return UNSAFE_IN_LINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dict):
        return {neutralise(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _problems(entry: ClientLogEntry, at: str) -> list[dict[str, Any]]:
    problems = (
        EVENT.problems(entry.event, f"{at}.event")
        + LEVEL.problems(entry.level, f"{at}.level")
        + MESSAGE.problems(entry.message, f"{at}.message")
        + SCOPE.problems(entry.scope, f"{at}.scope")
        + TIMESTAMP.problems(entry.timestamp, f"{at}.timestamp")
    )
    if entry.level.strip().lower() not in LEVELS:
        problems.append({"field": f"{at}.level", "message": f"level must be one of {', '.join(LEVELS)}"})
    if not isinstance(entry.fields, dict):
        problems.append({"field": f"{at}.fields", "message": "fields must be a JSON object"})
    elif len(entry.fields) > MAX_FIELDS:
        problems.append({"field": f"{at}.fields", "message": f"fields must have at most {MAX_FIELDS} entries"})
    elif _too_deep(entry.fields):
        problems.append({"field": f"{at}.fields", "message": f"fields must nest at most {MAX_DEPTH} levels"})
    return problems


def _too_deep(value: Any) -> bool:
    """Whether `value` nests objects or lists deeper than MAX_DEPTH (iteratively: a hostile
    value must not exhaust the stack of whatever walks it)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _size(entries: Sequence[ClientLogEntry]) -> int:
    body = [
        {"event": e.event, "level": e.level, "message": e.message, "scope": e.scope, "timestamp": e.timestamp,
         "fields": e.fields}
        for e in entries
    ]  # fmt: skip
    return len(json.dumps(body, ensure_ascii=False, default=str, separators=(",", ":")).encode())


async def submit(ctx: Context, entries: Sequence[ClientLogEntry], field: str = "input.entries") -> int:
    """Write the caller's client log entries to the server's log; how many were written."""
    principal = require_user(ctx)
    if not entries or len(entries) > MAX_ENTRIES:
        raise InvalidInput(
            f"Send 1 to {MAX_ENTRIES} log entries.",
            details=[{"field": field, "message": f"send 1 to {MAX_ENTRIES} log entries"}],
        )
    single = field == "input"
    problems = [p for i, e in enumerate(entries) for p in _problems(e, field if single else f"{field}.{i}")]
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)
    cap = ctx.settings.client_log_max_bytes
    if _size(entries) > cap:
        raise PayloadTooLarge("Log payload too large.", details={"max_bytes": cap})
    per_minute = ctx.settings.client_logs_per_minute
    user_id = principal.subject.removeprefix("user:")
    decision = await ctx.services.limiter.hit(f"client_logs:user:{user_id}", per_minute, 60, amount=len(entries))
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit exceeded ({per_minute} log entries per minute). Retry after {decision.retry_after}s.",
            retry_after=decision.retry_after,
            limit=per_minute,
        )
    for entry in entries:
        _write(entry, user_id)
    return len(entries)


def _quoted(value: Any) -> str:
    if isinstance(value, str):
        # A quote inside cannot end the value: it is written as \u0022, like the neutralised
        # characters (the text formatter escapes every backslash of the line).
        return '"' + value.replace('"', "\\u0022") + '"'
    return json.dumps(value, ensure_ascii=False, default=str)


def _write(entry: ClientLogEntry, user_id: str) -> None:
    fields = {k: v for k, v in entry.fields.items() if k not in RESERVED_FIELDS}
    event, scope = neutralise(entry.event), neutralise(entry.scope) if entry.scope else None
    message = neutralise(entry.message) if entry.message else None
    timestamp = neutralise(entry.timestamp) if entry.timestamp else None
    cleaned = _clean(fields)
    level = LEVELS[entry.level.strip().lower()]
    # The text format shows only the message: it carries every fact, each value quoted (`fields`
    # as JSON), so that no value can pose as another key.
    text = " ".join(
        f"{key}={_quoted(value)}"
        for key, value in (
            ("user", user_id),
            ("event", event),
            ("scope", scope),
            ("message", message),
            ("client_time", timestamp),
            ("fields", cleaned or None),
        )
        if value is not None
    )
    log.log(
        level,
        "client_log %s",
        text,
        extra={
            "client_log": True,
            "user_id": user_id,
            "client_event": event,
            "client_scope": scope,
            "client_message": message,
            "client_time": timestamp,
            "client_fields": cleaned,
        },
    )
