"""Text no input may carry, wherever it arrives: GraphQL variables and literals, REST bodies,
query strings, paths and headers.

NUL cannot be stored by PostgreSQL (SQLite would keep it, so the two would differ), a lone
surrogate cannot be encoded as UTF-8 at all, and the other C0 control characters (tab, line
feed and carriage return aside) have no place in text a person typed and break logs and
headers. All three are refused with an error that names the field, before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationRule

_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` is refused, or None."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "must not contain NUL characters"
    if "\ud800" <= char <= "\udfff":
        return "must be valid Unicode (it contains a lone surrogate)"
    return f"must not contain control characters (found U+{ord(char):04X})"


def unsafe_text(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every (path, problem) in a JSON-like value: its strings and its objects' keys."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            yield path, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (problem := text_problem(key)):
                yield (*path, key), f"key {problem}"
            yield from unsafe_text(item, (*path, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from unsafe_text(item, (*path, index))


def variable_errors(variables: dict[str, Any] | None) -> list[GraphQLError]:
    """GraphQL errors (code BAD_USER_INPUT) for unsafe text in an operation's variables."""
    errors = []
    for path, problem in unsafe_text(variables or {}):
        name, *rest = path
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest)
        errors.append(
            GraphQLError(
                f"Variable '${name}'{' at ' + repr(where[1:]) if where else ''} {problem}.",
                extensions={"code": "BAD_USER_INPUT"},
            )
        )
    return errors


class SafeStringLiterals(ValidationRule):
    """The same rule for string literals written into the document itself."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        problem = text_problem(node.value)
        if problem:
            self.report_error(GraphQLError(f"String literal {problem}.", node))
