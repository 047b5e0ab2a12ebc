"""Request → GraphQL variables, with failures reported as the documented 422 `details` list.

Query, path and header values are strings parsed by the argument's type; the JSON body has its
snake_case keys renamed to the input type's GraphQL names (unknown keys are rejected), and then
every variable is coerced by graphql-core so that type errors are found before execution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
)
from graphql.utilities import validate_input_value

from agentdeck.rest_compat.names import rest_name
from agentdeck.schema.input_safety import unsafe_text

Source = Literal["path", "query", "header", "body"]

TRUE = {"1", "true", "t", "yes", "y", "on"}
FALSE = {"0", "false", "f", "no", "n", "off"}
SCALAR_ERRORS = {
    "Int": ("int_parsing", "Input should be a valid integer, unable to parse string as an integer"),
    "Float": ("float_parsing", "Input should be a valid number, unable to parse string as a number"),
    "Boolean": ("bool_parsing", "Input should be a valid boolean, unable to interpret input"),
}
# GraphQL's Int is 32-bit: what openapi.json declares as every request integer's bounds, and
# what a request beyond them is told, in the words of any other declared bound.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
TYPE_ERRORS = {
    "String": "string_type",
    "ID": "string_type",
    "Int": "int_type",
    "Float": "float_type",
    "Boolean": "bool_type",
    "UUID": "uuid_parsing",
    "DateTime": "datetime_from_date_parsing",
    "JSON": "json_type",
}
MISSING_FIELD = re.compile(r"to include required field '(\w+)'")


@dataclass(frozen=True)
class Binder:
    source: Source
    key: str  # name in the request (path/query parameter, header, or "" for the body)
    var: str  # GraphQL argument (and variable) name
    type: GraphQLInputType
    required: bool


class InputNames:
    """snake_case REST keys ↔ GraphQL input field names, per input object type."""

    def __init__(self) -> None:
        self._to_gql: dict[str, dict[str, str]] = {}
        self._to_rest: dict[str, dict[str, str]] = {}

    def _load(self, t: GraphQLInputObjectType) -> None:
        if t.name not in self._to_gql:
            pairs = {rest_name(name, f): name for name, f in t.fields.items()}
            self._to_gql[t.name] = pairs
            self._to_rest[t.name] = {g: r for r, g in pairs.items()}

    def to_graphql(self, value: Any, t: GraphQLInputType, loc: list, errors: list) -> Any:
        if isinstance(t, GraphQLNonNull):
            t = t.of_type
        if value is None:
            return None
        if isinstance(t, GraphQLList):
            if isinstance(value, list):
                return [self.to_graphql(v, t.of_type, [*loc, i], errors) for i, v in enumerate(value)]
            return self.to_graphql(value, t.of_type, loc, errors)
        if isinstance(t, GraphQLInputObjectType) and isinstance(value, dict):
            self._load(t)
            names = self._to_gql[t.name]
            out = {}
            for key, item in value.items():
                gql = names.get(key)
                if gql is None:
                    errors.append(
                        {
                            "type": "extra_forbidden",
                            "loc": [*loc, key],
                            "msg": "Extra inputs are not permitted",
                            "input": item,
                        }
                    )
                else:
                    out[gql] = self.to_graphql(item, t.fields[gql].type, [*loc, key], errors)
            return out
        return value

    def rest_path(self, t: GraphQLInputType, path: list) -> tuple[list, GraphQLInputType]:
        """Translate a graphql-core coercion path to REST names; return it with the type there."""
        out: list = []
        for part in path:
            t = t.of_type if isinstance(t, GraphQLNonNull) else t
            if isinstance(part, int):
                t = t.of_type if isinstance(t, GraphQLList) else t
                out.append(part)
            elif isinstance(t, GraphQLInputObjectType):
                self._load(t)
                out.append(self._to_rest[t.name].get(part, part))
                t = t.fields[part].type if part in t.fields else t
            else:
                out.append(part)
        return out, t


def parse_text(raw: str | list[str], t: GraphQLInputType) -> tuple[Any, tuple[str, str] | None]:
    """Parse a query/path/header string by the GraphQL type it feeds."""
    if isinstance(t, GraphQLNonNull):
        t = t.of_type
    if isinstance(t, GraphQLList):
        items = raw if isinstance(raw, list) else [raw]
        parsed = [parse_text(item, t.of_type) for item in items]
        error = next((e for _, e in parsed if e), None)
        return [v for v, _ in parsed], error
    if isinstance(raw, list):
        raw = raw[-1]
    name = get_named_type(t).name
    try:
        if name == "Int":
            return int(raw), None
        if name == "Float":
            return float(raw), None
        if name == "Boolean":
            low = raw.strip().lower()
            if low in TRUE or low in FALSE:
                return low in TRUE, None
            raise ValueError(raw)
    except ValueError:
        return raw, SCALAR_ERRORS[name]
    return raw, None


def coercion_errors(names: InputNames, value: Any, t: GraphQLInputType, loc: list) -> list[dict[str, Any]]:
    """Every way `value` fails `t`, as Pydantic-style error dicts."""
    errors: list[dict[str, Any]] = []

    def on_error(error: GraphQLError, path: list) -> None:
        rest, at = names.rest_path(t, list(path))
        invalid = _value_at(value, path)
        missing = MISSING_FIELD.search(error.message)
        if missing:
            parent = at.of_type if isinstance(at, GraphQLNonNull) else at
            field = missing.group(1)
            if isinstance(parent, GraphQLInputObjectType) and field in parent.fields:
                field = rest_name(field, parent.fields[field])
            errors.append({"type": "missing", "loc": [*loc, *rest, field], "msg": "Field required", "input": invalid})
            return
        named = get_named_type(at)
        if isinstance(named, GraphQLEnumType):
            allowed = ", ".join(f"'{v}'" for v in named.values)
            errors.append({"type": "enum", "loc": [*loc, *rest], "msg": f"Input should be {allowed}", "input": invalid})
            return
        if isinstance(named, GraphQLInputObjectType) and not isinstance(invalid, dict):
            kind = "model_attributes_type"
            msg = "Input should be a valid dictionary or object to extract fields from"
        elif named.name == "Int" and isinstance(invalid, int) and not isinstance(invalid, bool) and invalid > INT_MAX:
            kind, msg = "less_than_equal", f"Input should be less than or equal to {INT_MAX}"
        elif named.name == "Int" and isinstance(invalid, int) and not isinstance(invalid, bool) and invalid < INT_MIN:
            kind, msg = "greater_than_equal", f"Input should be greater than or equal to {INT_MIN}"
        elif invalid is None:
            kind, msg = "missing", "Field required"
        else:
            kind = TYPE_ERRORS.get(named.name, "value_error") if isinstance(named, GraphQLScalarType) else "value_error"
            msg = error.message
        errors.append({"type": kind, "loc": [*loc, *rest], "msg": msg, "input": invalid})

    validate_input_value(value, t, on_error, hide_suggestions=True)
    return errors


def unsafe_problems(value: Any, loc: list) -> list[dict[str, Any]]:
    """Unsafe text (NUL, lone surrogates, control characters) anywhere in a request value. The
    value is not echoed: it may not even be encodable."""
    return [
        {"type": "value_error", "loc": [*loc, *path], "msg": f"Value error, input {problem}", "input": None}
        for path, problem in unsafe_text(value)
    ]


def _value_at(value: Any, path: list) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value
