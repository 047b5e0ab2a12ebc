"""Bounds on input values, declared once and used three ways.

A `Limit` is attached to a schema argument or input field (`schema.limits.limited`). The schema
checks every argument against its limits before the field's resolver runs (`check`), REST
reports the problems as the legacy 422 `details`, and openapi.json publishes the same numbers
(`json_schema`). Nothing else restates them.

    first: Annotated[int, strawberry.argument(metadata=limited(PAGE_SIZE))] = 50
    name: str = strawberry.field(metadata=limited(Limit(min_length=1, max_length=128)))
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from agentdeck.errors import InvalidInput

Format = Literal["uuid", "email", "uri"]
# Deliberately simple (the legacy service used email-validator's syntax check): one @, a dot in
# the domain, no spaces. Deliverability is proven by the mail a flow sends, not by a regex.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 320


@dataclass(frozen=True)
class Limit:
    """`ge`/`gt`/`le` bound numbers; `min_length`/`max_length` bound strings (leading and trailing
    blanks do not count towards `min_length`: a blank name is not a name) and lists (items);
    `const` is the only value accepted (`accept_terms: true`), refused with `message` if given.

    `pattern` is a regular expression a whole string must match (JSON Schema's `pattern`, so
    keep it to the syntax Python and ECMA-262 share)."""

    ge: int | None = None
    gt: int | None = None
    le: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    format: Format | None = None
    const: bool | None = None
    message: str | None = None
    pattern: str | None = None

    def problems(self, value: Any, field: str) -> list[dict[str, Any]]:
        """Pydantic-style problems ({field, type, message}); none for a null (absent) value."""
        if value is None:
            return []
        if self.const is not None:
            found = None if value == self.const else ("value_error", self.message or f"Input should be {self.const}")
        elif isinstance(value, str | list):
            found = self._length(value)
            if found is None and isinstance(value, str) and self.format:
                found = _format_problem(value, self.format)
            if found is None and isinstance(value, str) and self.pattern and not re.fullmatch(self.pattern, value):
                found = "string_pattern_mismatch", f"String should match pattern '{self.pattern}'"
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found = self._range(value)
        else:
            found = None
        return [] if found is None else [{"field": field, "type": found[0], "message": found[1]}]

    def _range(self, value: float) -> tuple[str, str] | None:
        if self.ge is not None and value < self.ge:
            return "greater_than_equal", f"Input should be greater than or equal to {self.ge}"
        if self.gt is not None and value <= self.gt:
            return "greater_than", f"Input should be greater than {self.gt}"
        if self.le is not None and value > self.le:
            return "less_than_equal", f"Input should be less than or equal to {self.le}"
        return None

    def _length(self, value: str | list) -> tuple[str, str] | None:
        unit = "character" if isinstance(value, str) else "item"
        size = len(value.strip()) if isinstance(value, str) else len(value)
        if self.min_length is not None and size < self.min_length:
            kind = "string_too_short" if unit == "character" else "too_short"
            return kind, f"{_kind(value)} should have at least {_count(self.min_length, unit)}"
        if self.max_length is not None and len(value) > self.max_length:
            kind = "string_too_long" if unit == "character" else "too_long"
            return kind, f"{_kind(value)} should have at most {_count(self.max_length, unit)}"
        return None

    def json_schema(self, is_list: bool = False) -> dict[str, Any]:
        """The same bounds as JSON Schema keywords (for openapi.json)."""
        names = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum"}
        out: dict[str, Any] = {names[k]: getattr(self, k) for k in names if getattr(self, k) is not None}
        lengths = ("minItems", "maxItems") if is_list else ("minLength", "maxLength")
        if self.min_length is not None:
            out[lengths[0]] = self.min_length
        if self.max_length is not None:
            out[lengths[1]] = self.max_length
        if self.format is not None:
            out["format"] = self.format
        if self.const is not None:
            out["const"] = self.const
        if self.pattern is not None:
            out["pattern"] = self.pattern
        return out


def _kind(value: str | list) -> str:
    return "String" if isinstance(value, str) else "List"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _format_problem(value: str, fmt: Format) -> tuple[str, str] | None:
    if fmt == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return "uuid_parsing", "Input should be a valid UUID"
        return None
    if fmt == "email":
        if len(value) > MAX_EMAIL or not EMAIL.match(value):
            return "value_error", "value is not a valid email address"
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "url_parsing", "Input should be a valid URL"
    return None


def check(problems: list[dict[str, Any]]) -> None:
    if problems:
        raise InvalidInput(problems[0]["message"], details=problems)


# Shared by every paginated list.
PAGE_SIZE = Limit(ge=1, le=100)
OFFSET = Limit(ge=0)
