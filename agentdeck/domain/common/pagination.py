"""Opaque cursors, base64url(JSON) as the legacy service used, and the counts a client sends as
text (offsets, versions).

A cursor comes back from the client, who may have forged it. `decode_cursor` reads it against
the fields its list declares, each checked for its type and range by a reader below, so that a
forged cursor is the client's mistake (`BadRequest`, 400), never a fault where a value of the
wrong type or size reaches Python or the database. Offsets and versions are at most `MAX_COUNT`,
whether they arrive in a cursor or as text (`parse_count`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from agentdeck.errors import BadRequest

# The largest offset or version a client may send: PostgreSQL's INTEGER, and far beyond any list
# or any number of writes (an offset past 2**63 - 1 made OFFSET fail on both databases).
MAX_COUNT = 2**31 - 1
INVALID_CURSOR = "Invalid pagination cursor"
_MAX_DIGITS = len(str(MAX_COUNT))
_MAX_TIMESTAMP_CHARS = 64

# A reader turns a cursor field's JSON value into what the list compares, or raises ValueError
# or TypeError when it is not a value the list could have written.
Reader = Callable[[Any], Any]


def timestamp(value: Any) -> datetime:
    """An ISO 8601 moment, in UTC (one without a zone is UTC)."""
    if not isinstance(value, str) or len(value) > _MAX_TIMESTAMP_CHARS:
        raise TypeError("a timestamp is an ISO 8601 string")
    moment = datetime.fromisoformat(value)
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00, say: before any moment in UTC
        raise ValueError(value) from None


def identifier(value: Any) -> uuid.UUID:
    """A row's UUID, as text."""
    if not isinstance(value, str):
        raise TypeError("an id is a string")
    return uuid.UUID(value)


def offset(value: Any) -> int:
    """A position in a list: an integer from 0 to MAX_COUNT (not a boolean, not a float)."""
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"an offset is an integer from 0 to {MAX_COUNT}")
    return value


def key(value: Any) -> str:
    """A catalog key (an agent's, a workflow's)."""
    if not isinstance(value, str):
        raise TypeError("a key is a string")
    return value


def encode_cursor(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def decode_cursor(cursor: str | None, fields: Mapping[str, Reader]) -> dict[str, Any] | None:
    """The fields of `cursor` (None when there is none), each read by its reader; a cursor that
    does not decode, lacks a field or holds a value its reader refuses is a 400."""
    if not cursor:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(value, dict):
            raise TypeError("a cursor is a JSON object")
        return {name: read(value[name]) for name, read in fields.items()}
    except (binascii.Error, ValueError, TypeError, KeyError):
        # binascii.Error, orjson.JSONDecodeError and UnicodeDecodeError are ValueErrors too.
        raise BadRequest(INVALID_CURSOR) from None


def parse_count(text: str) -> int:
    """A count a client sent as text (an offset, a version): ASCII digits, at most MAX_COUNT.
    ValueError otherwise; each caller words the refusal for its own field."""
    if not 0 < len(text) <= _MAX_DIGITS or not text.isascii() or not text.isdigit():
        raise ValueError(f"a count is an integer from 0 to {MAX_COUNT}")
    value = int(text)
    if value > MAX_COUNT:
        raise ValueError(f"a count is an integer from 0 to {MAX_COUNT}")
    return value
