"""The native GraphQL conventions every domain's public types follow (see docs/graphql.md).

- Every entity is a `Node` (`graph.Node`, Strawberry's relay `Node`): an opaque global `id: ID!`,
  resolvable by `node(id:)`/`nodes(ids:)`; its `load_nodes` goes through the domain, so a foreign
  or missing id resolves to null exactly as a direct lookup would.
- Every list is a `Connection` with `edges`, `nodes`, `pageInfo` and `totalCount`, paged by
  `first/after` (and `last/before`) with opaque cursors: `paginate()` turns a domain function that
  reads a page by offset and limit into one.
- Every mutation returns a payload: the changed object(s) and `userErrors`, the typed mistakes a
  user can correct (invalid input, a conflict, a missing object). Authentication, permission,
  rate limits and faults stay top-level GraphQL errors with `extensions.code`. `payload()` maps
  the domain's errors into a payload.
- Nested fields read through per-request DataLoaders (`loader()`), so a list of 50 objects with
  their relations costs a constant number of queries.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader
from strawberry.utils.await_maybe import AwaitableOrValue

from agentdeck.domain.common.pagination import parse_count
from agentdeck.domain.common.results import Page
from agentdeck.errors import DomainError, InvalidInput, NotFound

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)

GlobalID = relay.GlobalID
PageInfo = relay.PageInfo
MAX_PAGE = 100
DEFAULT_PAGE = 20


class Node(relay.Node):
    """The base of every entity type: Strawberry's relay `Node` interface, with one place that
    adapts its `resolve_nodes` to the plain signature each type implements as `load_nodes`.

    Deliberately not decorated: the GraphQL interface stays relay's `Node` (decorating this class
    would declare a second interface of the same name); the subclasses only inherit its methods.
    """

    # relay.Node declares resolve_nodes as three overloads on `required` (Literal[True] -> Self,
    # otherwise Self | None). Each type's own annotation (`list[Tenant | None]`) cannot satisfy
    # them all (mypy's [override] error, silenced once per type before); this one implementation
    # returns `Iterable[Any]`, which satisfies every overload, and `load_nodes` is the typed
    # contract, so no type needs an ignore.
    @classmethod
    def resolve_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> AwaitableOrValue[Iterable[Any]]:
        return cls.load_nodes(info=info, node_ids=node_ids, required=required)

    @classmethod
    def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> AwaitableOrValue[Iterable[Any]]:
        """The nodes of `node_ids`, in order, read through the domain with the caller's context:
        None for one that is missing or not visible to the caller (NotFound instead when
        `required`). Sync or async; every entity type implements it."""
        raise NotImplementedError(f"{cls.__name__} does not implement load_nodes")


@strawberry.type(name="Edge", description="An edge in a connection: a node and its cursor.")
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(name="Connection", description="A page of a list, in the Relay connection shape.")
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T] = strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many items the whole list has.")

    def __getattr__(self, name: str) -> Any:
        # Called only for an attribute the instance lacks: `edges` of a connection built by
        # `_connection`, made on first read (a query selecting only `nodes` builds no edge).
        if name == "edges" and "_first_offset" in self.__dict__:
            offset = self.__dict__["_first_offset"]
            edges = [Edge(cursor=offset_cursor(offset + i), node=node) for i, node in enumerate(self.nodes)]
            self.__dict__["edges"] = edges
            return edges
        raise AttributeError(name)


def _connection(nodes: list[T], offset: int, page_info: PageInfo, total: int) -> Connection[T]:
    """A connection whose edges (a cursor per node) are made when first read, from the offset of
    its first node: building 50 edges and their base64 cursors was a tenth of a 50-item page that
    never selected them. Otherwise what `Connection(edges=..., nodes=..., ...)` makes."""
    connection: Connection[T] = Connection.__new__(Connection)
    connection.__dict__.update(nodes=nodes, page_info=page_info, total_count=total, _first_offset=offset)
    return connection


First = Annotated[
    int | None,
    strawberry.argument(description=f"Returns the first n items (1 to {MAX_PAGE}; {DEFAULT_PAGE} by default)."),
]
After = Annotated[str | None, strawberry.argument(description="Returns the items after this cursor.")]
Last = Annotated[int | None, strawberry.argument(description=f"Returns the last n items (1 to {MAX_PAGE}).")]
Before = Annotated[str | None, strawberry.argument(description="Returns the items before this cursor.")]

_CURSOR = "cursor:"


def offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR}{offset}".encode()).decode()


def _offset(cursor: str, argument: str) -> int:
    """The offset a cursor of `offset_cursor` holds; one the client forged (not base64, another
    prefix, not a count from 0 to MAX_COUNT) is refused, naming the argument."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_CURSOR):
            raise ValueError(text)
        return parse_count(text[len(_CURSOR) :])
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidInput(
            f"`{argument}` is not a cursor this list gave out.",
            details=[{"loc": [argument], "msg": "not a cursor of this list", "type": "invalid_cursor"}],
        ) from None


def _size(value: int | None, argument: str) -> int | None:
    if value is not None and not 1 <= value <= MAX_PAGE:
        raise InvalidInput(
            f"`{argument}` must be between 1 and {MAX_PAGE}.",
            details=[{"loc": [argument], "msg": f"must be between 1 and {MAX_PAGE}", "type": "out_of_range"}],
        )
    return value


def window(first: int | None, after: str | None, last: int | None, before: str | None) -> tuple[int, int]:
    """The (offset, limit) that `first/after/last/before` ask for, before the total is known
    (`last` without `before` needs it: see `paginate`)."""
    first, last = _size(first, "first"), _size(last, "last")
    if first is not None and last is not None:
        raise InvalidInput("Pass `first` or `last`, not both.", details=[{"loc": ["last"], "type": "conflict"}])
    start = _offset(after, "after") + 1 if after is not None else 0
    end = _offset(before, "before") if before is not None else None
    if last is not None:
        stop = end if end is not None else start + last  # replaced by the total when unbounded
        return max(start, stop - last), min(last, stop - start)
    limit = first if first is not None else DEFAULT_PAGE
    if end is not None:
        limit = max(0, min(limit, end - start))
    return start, limit


async def paginate(
    fetch: Callable[[int, int], Awaitable[Page[R]]],
    convert: Callable[[R], T],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[T]:
    """One page of an offset-paged domain list as a connection (cursors are opaque offsets)."""
    offset, limit = window(first, after, last, before)
    if last is not None and before is None:  # the last n of the whole list: its size first
        total = (await fetch(0, 1)).total if limit else 0
        offset = max(offset, total - last)
        limit = max(0, total - offset)
    page = await fetch(offset, limit) if limit else await fetch(0, 1)
    nodes = [convert(item) for item in page.items] if limit else []
    page_info = PageInfo(
        has_next_page=offset + len(nodes) < page.total,
        has_previous_page=offset > 0,
        start_cursor=offset_cursor(offset) if nodes else None,
        end_cursor=offset_cursor(offset + len(nodes) - 1) if nodes else None,
    )
    return _connection(nodes, offset, page_info, page.total)


def connection_of(items: Sequence[T]) -> Connection[T]:
    """A whole (short, bounded) list as one connection page: for lists the domain computes in
    memory (a catalog, a plan's features), where paging has nothing to save."""
    page_info = PageInfo(
        has_next_page=False,
        has_previous_page=False,
        start_cursor=offset_cursor(0) if items else None,
        end_cursor=offset_cursor(len(items) - 1) if items else None,
    )
    return _connection(list(items), 0, page_info, len(items))


# -- global ids -------------------------------------------------------------------------------


def node_key(value: str, type_name: str) -> str | None:
    """The key inside a global id of `type_name`; None for any other string (a malformed id, or
    another type's: ids are opaque, so neither is the client's business to tell apart)."""
    try:
        decoded = GlobalID.from_id(value)
    except relay.GlobalIDValueError:
        return None
    return decoded.node_id if decoded.type_name == type_name else None


def node_uuid(value: str, type_name: str) -> uuid.UUID | None:
    """`node_key` for the types keyed by a database UUID."""
    key = node_key(value, type_name)
    try:
        return uuid.UUID(key) if key is not None else None
    except ValueError:
        return None


def uuids(node_ids: Iterable[str]) -> list[uuid.UUID | None]:
    """The keys `load_nodes` is given, as UUIDs (None for one that is not: it names nothing)."""
    out: list[uuid.UUID | None] = []
    for node_id in node_ids:
        try:
            out.append(uuid.UUID(str(node_id)))
        except ValueError:
            out.append(None)
    return out


# -- per-request DataLoaders ------------------------------------------------------------------


def loader(info: strawberry.Info, name: str, batch: Callable[[list[K]], Awaitable[Sequence[Any]]]) -> DataLoader:
    """The request's DataLoader called `name`, made on first use. The context lives as long as a
    WebSocket connection, so loaders do not cache between loads: they batch within one tick
    (that is what removes the N+1), and every event of a subscription reads fresh rows."""
    loaders = info.context.loaders
    found = loaders.get(name)
    if found is None:
        found = loaders[name] = DataLoader(load_fn=batch, cache=False)
    return found


# -- mutation payloads -------------------------------------------------------------------------


@strawberry.enum(description="What kind of mistake a user error is.")
class UserErrorCode(Enum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    GONE = "gone"
    TOO_LARGE = "too_large"


# Domain error codes (agentdeck.errors.CODES) that are the user's to correct.
_USER_ERRORS: dict[str, UserErrorCode] = {
    "BAD_REQUEST": UserErrorCode.INVALID,
    "INVALID_INPUT": UserErrorCode.INVALID,
    "NOT_FOUND": UserErrorCode.NOT_FOUND,
    "CONFLICT": UserErrorCode.CONFLICT,
    "GONE": UserErrorCode.GONE,
    "PAYLOAD_TOO_LARGE": UserErrorCode.TOO_LARGE,
}


E = TypeVar("E", bound=Enum)


def known_member(kind: type[E], value: str | None) -> E | None:
    """A recorded or provider's string as a member of `kind`; None for none, or for a value this
    API does not know (a new value upstream must not break a whole page)."""
    try:
        return kind(value) if value is not None else None
    except ValueError:
        return None


def catalog_nodes(
    keys: Iterable[str], find: Callable[[str], T | None], convert: Callable[[T], R], required: bool, what: str
) -> list[R | None]:
    """`load_nodes` of a catalog kept in memory (agents, tools, guardrails): each key's entry,
    None for a key the catalog lacks, or NotFound for it when Strawberry requires every node."""
    out: list[R | None] = []
    for key in keys:
        entry = find(key)
        if entry is None and required:
            raise NotFound(f"{what} not found.")
        out.append(convert(entry) if entry is not None else None)
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@strawberry.type(description="A mistake in a mutation's input that the user can correct.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="The path to the input field at fault (GraphQL names), when one is."
    )
    message: str
    code: UserErrorCode

    @classmethod
    def from_domain(cls, error: DomainError, code: UserErrorCode) -> list[UserError]:
        """One user error per detail that names a field: `{"loc": [...], "msg"}` (the REST layer's
        422 form) or `{"field": "input.x_y", "message"}` (the domain's form), as a path of GraphQL
        names (`["input", "xY"]`); a single one without a field otherwise."""
        details = error.details if isinstance(error.details, list) else []
        out = []
        for detail in details:
            if not isinstance(detail, dict):
                continue
            loc, field = detail.get("loc"), detail.get("field")
            parts = list(loc) if isinstance(loc, list | tuple) else field.split(".") if isinstance(field, str) else []
            path = [_camel(str(p)) for p in parts if p not in ("body", "query", "path")]
            if path:
                message = detail.get("msg") or detail.get("message") or error.message
                out.append(cls(field=path, message=str(message), code=code))
        return out or [cls(field=None, message=error.message, code=code)]


def user_error_code(error: DomainError) -> UserErrorCode | None:
    """The user-error code of a domain error, or None when it stays a top-level GraphQL error."""
    return _USER_ERRORS.get(error.code)


P = TypeVar("P")


async def payload(make: Callable[..., P], action: Awaitable[dict[str, Any]]) -> P:
    """Run a mutation's action; its result fields, or its user errors, make the payload.

    `action` resolves to the payload's fields (without `user_errors`); a domain error that is the
    user's to correct becomes `userErrors` (the other fields null), anything else propagates."""
    try:
        fields = await action
    except DomainError as error:
        code = user_error_code(error)
        if code is None:
            raise
        return make(user_errors=UserError.from_domain(error, code))
    return make(user_errors=[], **fields)
