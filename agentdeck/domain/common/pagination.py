"""Opaque cursors: base64url(JSON), as the legacy service used."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from agentdeck.errors import BadRequest


def encode_cursor(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def decode_cursor(cursor: str | None, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise BadRequest("Invalid pagination cursor") from None
    if not isinstance(value, dict) or any(k not in value for k in keys):
        raise BadRequest("Invalid pagination cursor")
    return value
