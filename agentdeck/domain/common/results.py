"""Result shapes every context shares, so a domain function returns its rows (or the objects it
computed) in one of these instead of a type of its own that restates a GraphQL type. The
Strawberry types map them (`schema/<x>.py`, typed `from_*` constructors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A completed action as the legacy REST service answered it: a `message`, and `data` (None
    where the envelope's `data` is always null)."""

    message: str
    data: T


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list read by limit and offset, and how many items the whole list has."""

    items: list[T]
    total: int


@dataclass(frozen=True)
class CursorPage(Generic[T]):
    """One page of a list read by cursor; `next_cursor` is None on the last page."""

    items: list[T]
    next_cursor: str | None
