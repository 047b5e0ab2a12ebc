"""FastExecutor answers exactly what graphql-core's own field path answers: data, errors, paths."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import pytest
import strawberry
from graphql import execute, parse
from strawberry import relay
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from agentdeck.schema import build_schema
from agentdeck.schema.executor import FastExecutor


@strawberry.enum
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Inner:
    label: str
    weight: float | None = None


@strawberry.type
class Item:
    name: str
    count: int
    color: Color
    note: str | None
    when: datetime
    inner: Inner | None = None
    tags: list[str] = strawberry.field(default_factory=list)

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self, suffix: str = "!") -> str:
        await asyncio.sleep(0)
        return self.name + suffix


class Broken:
    """Looks like an Item, but breaks the schema's promises."""

    name = None  # non-null in the schema
    count = "many"  # not an Int
    color = Color.RED
    note = None
    when = datetime(2026, 1, 1, tzinfo=UTC)
    inner = None
    tags: list[str] = []


ITEMS = [
    Item(
        name="a",
        count=1,
        color=Color.RED,
        note=None,
        when=datetime(2026, 1, 1, tzinfo=UTC),
        inner=Inner(label="x", weight=None),
        tags=["t"],
    ),
    Item(name="b", count=2, color=Color.BLUE, note="n", when=datetime(2026, 2, 1, tzinfo=UTC)),
]


class NotInner:
    """Has Inner's attributes but is another class: `is_type_of` refuses it."""

    label = "z"
    weight = None


@strawberry.interface
class Shape:
    sides: int


@strawberry.type
class Square(Shape):
    side: float


@strawberry.type
class Circle(Shape):
    radius: float | None


@strawberry.type
class Holder:
    inner: Inner | None
    sure: Inner
    either: Inner | Item | None = None  # a union, plain
    shape: Shape | None = None  # an interface, plain


HOLDERS = [
    Holder(
        inner=Inner(label="x"),
        sure=Inner(label="y", weight=1.5),
        either=ITEMS[1],
        shape=Circle(sides=0, radius=None),
    ),
    Holder(inner=Inner(label="x"), sure=Inner(label="y"), either=Inner(label=None), shape=Square(sides=4, side=2)),  # type: ignore[arg-type]
    Holder(inner=Inner(label="x"), sure=Inner(label="y"), either=NotInner(), shape=NotInner()),  # type: ignore[arg-type]
    Holder(inner=Inner(label=None), sure=Inner(label="y")),  # type: ignore[arg-type]  # null where non-null
    Holder(inner=None, sure=Inner(label=None)),  # type: ignore[arg-type]  # bubbles past `sure`
    Holder(inner=NotInner(), sure=Inner(label="y")),  # type: ignore[arg-type]  # not an Inner
]


@strawberry.type
class Shelf:
    """Plain lists of plain objects: completed item by item without graphql-core's field path."""

    items: list[Item]
    maybe: list[Item | None] | None = None
    inners: list[Inner] | None = None


SHELVES = [
    Shelf(items=ITEMS, maybe=[ITEMS[0], None], inners=[Inner(label="x", weight=2.5)]),
    Shelf(items=[ITEMS[1], Broken()], maybe=[Broken(), ITEMS[1]]),  # type: ignore[list-item]  # bubbles past `items`
    Shelf(items=[], maybe=None, inners=[Inner(label="x"), NotInner()]),  # type: ignore[list-item]  # not an Inner
    Shelf(items=ITEMS, maybe=[Inner(label="y")], inners=[Inner(label=None)]),  # type: ignore[list-item, arg-type]
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def shelves(self) -> list[Shelf | None]:
        return SHELVES

    @strawberry.field
    def holders(self) -> list[Holder | None]:
        return HOLDERS

    @strawberry.field
    def sure_holders(self) -> list[Holder]:
        return HOLDERS[:1]

    @strawberry.field
    def broken(self) -> list[Item | None]:
        return [ITEMS[0], Broken()]  # type: ignore[list-item]

    @strawberry.field
    def strict(self) -> Item:
        return Broken()  # type: ignore[return-value]


SCHEMA = strawberry.Schema(Query)._schema

DOCUMENTS = [
    "{ items { name count color note when tags inner { label weight } } }",
    '{ items { n: name c: count name shout later(suffix: "?") } }',
    "{ items { ...F later } } fragment F on Item { name color @skip(if: true) note @include(if: true) }",
    "{ items { __typename name } }",
    "{ broken { name count color } }",
    "{ broken { color note } }",
    "{ strict { name } }",
    "{ strict { color } }",
    "{ holders { inner { label weight } sure { label } } }",
    "{ holders { i: inner { label } inner { weight } } }",
    "{ sureHolders { sure { label weight } inner { label } } }",
    "{ holders { either { __typename ... on Inner { label } ... on Item { name count } } } }",
    "{ holders { shape { __typename sides ... on Square { side } ... on Circle { radius } } } }",
    "{ shelves { items { name count later } maybe { name note } inners { label weight } } }",
    "{ shelves { maybe { color shout } inners { __typename label } } }",
    "{ shelves { items { name inner { label } } } }",
]


def _run(executor: type, document: str) -> tuple:
    result = execute(SCHEMA, parse(document), executor_class=executor)
    if hasattr(result, "__await__"):
        result = asyncio.run(_await(result))
    return result.data, [(e.message, e.path) for e in result.errors or []]


async def _await(result):
    return await result


@pytest.mark.parametrize("document", DOCUMENTS)
def test_same_answers_as_graphql_core(document):
    assert _run(FastExecutor, document) == _run(StrawberryGraphQLCoreExecutionContext, document)


def test_the_platform_schema_uses_it():
    assert build_schema().execution_context_class is FastExecutor


def _slow_path_calls(monkeypatch) -> list:
    """The response keys graphql-core's own field path executes from now on, in order."""
    calls = []
    slow_path = StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self, parent_type, source, field_group, path, *rest):
        calls.append(path.key)
        return slow_path(self, parent_type, source, field_group, path, *rest)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    return calls


def test_plain_fields_skip_graphql_cores_field_path_when_strawberry_executes(monkeypatch):
    """Strawberry hands every execution a MiddlewareManager, empty unless an extension resolves
    fields: an empty one must not send every field down graphql-core's path (it once did, and the
    fast path served nothing in production)."""
    schema = strawberry.Schema(Query, execution_context_class=FastExecutor)
    calls = _slow_path_calls(monkeypatch)
    result = schema.execute_sync("{ items { name count color inner { label } } }")
    assert result.errors is None and len(result.data["items"]) == 2
    assert calls == ["items"]  # the list field resolves; its items' plain fields and objects are read directly


def test_plain_lists_of_plain_objects_skip_graphql_cores_field_path(monkeypatch):
    calls = _slow_path_calls(monkeypatch)
    data, errors = _run(FastExecutor, "{ shelves { items { name } inners { label } } }")
    assert errors == [
        ("Cannot return null for non-nullable field Item.name.", ["shelves", 1, "items", 1, "name"]),
        ("Cannot return null for non-nullable field Inner.label.", ["shelves", 3, "inners", 0, "label"]),
    ]
    assert data["shelves"][0] == {"items": [{"name": "a"}, {"name": "b"}], "inners": [{"label": "x"}]}
    assert data["shelves"][1] is None  # the null item bubbled past the non-null list to the shelf
    # Through graphql-core's path: the root list (a resolver); the second shelf's `items`, which
    # holds a Broken (and so its null name); the third's `inners`, which holds a NotInner; and the
    # fourth's null label. The rest, three lists and their items' fields, is read directly.
    assert calls == ["shelves", "items", "name", "inners", "label"]


def test_a_plain_lists_items_are_shaped_by_one_compiled_function(monkeypatch):
    """Items whose whole selection is plain attributes (down to their plain objects) are shaped by
    code made once per selection, not field by field; one item it cannot shape (a Broken) sends
    the list back through the field-by-field path, with graphql-core's errors."""
    fields = []
    original = FastExecutor.execute_fields

    def counting(self, parent_type, *args, **kwargs):
        fields.append(parent_type.name)
        return original(self, parent_type, *args, **kwargs)

    monkeypatch.setattr(FastExecutor, "execute_fields", counting)
    data, errors = _run(FastExecutor, "{ shelves { items { name count color note when inner { label } } } }")
    assert errors == [("Cannot return null for non-nullable field Item.name.", ["shelves", 1, "items", 1, "name"])]
    assert data["shelves"][0]["items"][0] == {
        "name": "a",
        "count": 1,
        "color": "RED",
        "note": None,
        "when": "2026-01-01T00:00:00+00:00",
        "inner": {"label": "x"},
    }
    # The root's and each shelf's fields; items' only for the second shelf's two, one a Broken.
    assert fields == ["Query", "Shelf", "Shelf", "Item", "Item", "Shelf", "Shelf"]


def test_collected_subfields_are_reused_across_executions_but_not_past_skip_and_include():
    """Subfields are collected once per document and type, across executions (a subscription's
    events); a document whose selection depends on variables collects them per execution."""
    items = parse("{ items { name ... on Item { count } } }")
    first = execute(SCHEMA, items, executor_class=FastExecutor)
    again = execute(SCHEMA, items, executor_class=FastExecutor)
    assert first.data == again.data == {"items": [{"name": "a", "count": 1}, {"name": "b", "count": 2}]}
    conditional = parse("query($c: Boolean!) { items { name count @include(if: $c) } }")
    shown = execute(SCHEMA, conditional, variable_values={"c": True}, executor_class=FastExecutor)
    hidden = execute(SCHEMA, conditional, variable_values={"c": False}, executor_class=FastExecutor)
    assert shown.data == {"items": [{"name": "a", "count": 1}, {"name": "b", "count": 2}]}
    assert hidden.data == {"items": [{"name": "a"}, {"name": "b"}]}


def test_broken_values_are_errors_not_data():
    data, errors = _run(FastExecutor, "{ broken { name count color } }")
    assert data == {"broken": [{"name": "a", "count": 1, "color": "RED"}, None]}
    assert [tuple(path) for _, path in errors] == [("broken", 1, "name")]  # the null ends the object
    data, errors = _run(FastExecutor, "{ broken { count } }")
    assert data == {"broken": [{"count": 1}, None]}  # count is non-null too
    assert [(tuple(path), "Int cannot represent" in message) for message, path in errors] == [
        (("broken", 1, "count"), True)
    ]


@strawberry.type
class Plain(relay.Node):
    code: relay.NodeID[str]


@strawberry.type
class Custom(relay.Node):
    code: relay.NodeID[str]

    @classmethod
    def resolve_id(cls, root: Custom, *, info: strawberry.Info) -> str:
        return root.code.upper()


@strawberry.type
class NodeQuery:
    @strawberry.field
    def plain(self) -> list[Plain]:
        return [Plain(code="a1"), Plain(code="b2")]

    @strawberry.field
    def custom(self) -> Custom:
        return Custom(code="c3")


def test_a_nodes_id_read_directly_is_strawberrys_global_id():
    schema = strawberry.Schema(NodeQuery, execution_context_class=FastExecutor)
    result = schema.execute_sync("{ plain { id } custom { id } }")
    assert result.errors is None
    assert [n["id"] for n in result.data["plain"]] == [
        str(relay.GlobalID("Plain", "a1")),
        str(relay.GlobalID("Plain", "b2")),
    ]
    assert result.data["custom"]["id"] == str(relay.GlobalID("Custom", "C3"))  # its own resolve_id still runs


@strawberry.type
class Ticks:
    @strawberry.subscription
    async def ticks(self, n: int) -> AsyncGenerator[Inner | Item, None]:
        for i in range(n):
            yield (
                Inner(label=f"t{i}")
                if i % 2
                else Item(name=f"i{i}", count=i, color=Color.RED, note=None, when=datetime(2026, 1, 1, tzinfo=UTC))
            )
        yield Inner(label=None)  # type: ignore[arg-type]  # an event that breaks its type's promise


async def _events(executor: type) -> list:
    schema = strawberry.Schema(Query, subscription=Ticks, execution_context_class=executor)
    document = "subscription { ticks(n: 4) { __typename ... on Inner { label } ... on Item { name count color } } }"
    out = []
    async for result in await schema.subscribe(document):
        out.append((result.data, [(e.message, e.path) for e in result.errors or []]))
    return out


async def test_subscription_events_are_shaped_as_graphql_core_shapes_them(monkeypatch):
    """A subscription's root field is the event itself: read directly, its union type named by its
    class, without graphql-core's per-event field path."""
    expected = await _events(StrawberryGraphQLCoreExecutionContext)
    calls = _slow_path_calls(monkeypatch)
    assert await _events(FastExecutor) == expected
    assert len(expected) == 5 and expected[-1][1]  # the broken event is an error, as before
    assert calls == ["label"]  # only the broken event's null took graphql-core's path


def _executed_operations(monkeypatch) -> list:
    """The events graphql-core executes from now on (its per-event path), by class."""
    calls = []
    execute_operation = StrawberryGraphQLCoreExecutionContext.execute_operation

    def counted(self, *args):
        calls.append(type(self.root_value).__name__)
        return execute_operation(self, *args)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_operation", counted)
    return calls


async def test_plain_subscription_events_are_shaped_by_a_plan_not_executed(monkeypatch):
    """An event whose selection is plain attributes (nested plain objects included) is shaped by
    the plan compiled once for its class: graphql-core executes only the event that breaks its
    type's promise, and answers it as it always did."""
    expected = await _events(StrawberryGraphQLCoreExecutionContext)
    executed = _executed_operations(monkeypatch)
    assert await _events(FastExecutor) == expected
    assert executed == ["Inner"]  # the broken event alone


@strawberry.type
class Nested:
    @strawberry.subscription
    async def items(self) -> AsyncGenerator[Item, None]:
        when = datetime(2026, 1, 1, tzinfo=UTC)
        yield Item(name="a", count=1, color=Color.BLUE, note=None, when=when, inner=Inner(label="x", weight=0.5))
        yield Item(name="b", count=2, color=Color.RED, note="n", when=when)
        yield Item(name="c", count=3, color=Color.RED, note=None, when=when, inner=Broken())  # type: ignore[arg-type]


@strawberry.type
class Shelves:
    @strawberry.subscription
    async def shelves(self) -> AsyncGenerator[Shelf, None]:
        for shelf in SHELVES:
            yield shelf


async def _nested(executor: type, document: str, subscription: type = Nested) -> list:
    schema = strawberry.Schema(Query, subscription=subscription, execution_context_class=executor)
    return [
        (result.data, [(e.message, e.path) for e in result.errors or []])
        async for result in await schema.subscribe(document)
    ]


@pytest.mark.parametrize(
    "document",
    [
        "subscription { items { __typename name count color note when inner { label weight } } }",
        "subscription { renamed: items { n: name inner { label } } }",
        "subscription { items { name shout } }",  # a resolved field: graphql-core's path, every event
    ],
)
async def test_subscription_plans_answer_as_graphql_core(document):
    assert await _nested(FastExecutor, document) == await _nested(StrawberryGraphQLCoreExecutionContext, document)


@pytest.mark.parametrize(
    "document",
    [
        "subscription { shelves { items { name count color inner { label } } inners { label weight } } }",
        "subscription { shelves { maybe { name } } }",  # a list with null items: graphql-core's path
        "subscription { shelves { items { name tags } } }",  # a list of scalars below: graphql-core's path
    ],
)
async def test_events_holding_lists_of_plain_objects_answer_as_graphql_core(document):
    expected = await _nested(StrawberryGraphQLCoreExecutionContext, document, Shelves)
    assert await _nested(FastExecutor, document, Shelves) == expected


async def test_events_holding_lists_of_plain_objects_are_shaped_by_their_plan(monkeypatch):
    """A billing event carries a list of usage lines: its events are planned too. Only the shelves
    that break a promise (a Broken item, a NotInner, a null label) are executed by graphql-core."""
    document = "subscription { shelves { items { name count } inners { label } } }"
    expected = await _nested(StrawberryGraphQLCoreExecutionContext, document, Shelves)
    executed = _executed_operations(monkeypatch)
    assert await _nested(FastExecutor, document, Shelves) == expected
    assert executed == ["Shelf", "Shelf", "Shelf"]  # the last three shelves; the first is shaped
