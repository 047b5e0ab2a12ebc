"""OpenAI-style attribute filters for vector-store search, evaluated on file attributes.

{"type": "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "nin", "key": "...", "value": ...}
{"type": "and" | "or", "filters": [<filter>, ...]}
"""

from __future__ import annotations

from typing import Any

COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin")
MAX_DEPTH, MAX_FILTERS = 5, 50


def validate_filters(f: Any, depth: int = 0) -> str | None:
    """None when `f` is a valid filter (or absent), else what is wrong."""
    if f is None and depth == 0:
        return None
    if depth > MAX_DEPTH:
        return f"filters may nest at most {MAX_DEPTH} levels."
    if not isinstance(f, dict):
        return "a filter must be an object."
    kind = f.get("type")
    if kind in ("and", "or"):
        items = f.get("filters")
        if set(f) != {"type", "filters"} or not isinstance(items, list) or not 1 <= len(items) <= MAX_FILTERS:
            return f"a compound filter needs 'filters': a list of 1-{MAX_FILTERS} filters."
        return next((p for p in (validate_filters(i, depth + 1) for i in items) if p), None)
    if kind not in COMPARISONS:
        return f"filter type must be one of {', '.join(COMPARISONS)}, and, or."
    if set(f) != {"type", "key", "value"} or not isinstance(f["key"], str):
        return "a comparison filter needs exactly 'type', 'key' and 'value'."
    value = f["value"]
    if kind in ("in", "nin"):
        if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
            return f"'{kind}' needs a list of strings or numbers."
    elif not isinstance(value, str | int | float):  # bool is an int
        return "a comparison value must be a string, number or boolean."
    return None


def matches(f: dict[str, Any], attributes: dict[str, Any]) -> bool:
    kind = f["type"]
    if kind == "and":
        return all(matches(i, attributes) for i in f["filters"])
    if kind == "or":
        return any(matches(i, attributes) for i in f["filters"])
    if f["key"] not in attributes:
        return kind in ("ne", "nin")
    have, want = attributes[f["key"]], f["value"]
    if kind == "eq":
        return have == want
    if kind == "ne":
        return have != want
    if kind == "in":
        return have in want
    if kind == "nin":
        return have not in want
    if isinstance(have, str) != isinstance(want, str):
        return False  # ordering a string against a number matches nothing
    try:
        return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[kind]
    except TypeError:
        return False
