"""The native conventions' toolkit (agentdeck/schema/graph.py, nodes.py) on a toy schema: cursor
arithmetic, page info, argument errors, mutation payloads, node(id:) resolution. Each domain's
own types are tested in its directory."""

from __future__ import annotations

import base64
from collections.abc import Iterable

import pytest
import strawberry
from strawberry import relay

from agentdeck.domain.common.results import Page
from agentdeck.errors import Conflict, Forbidden, InvalidInput, NotFound
from agentdeck.schema import graph, nodes
from agentdeck.schema.graph import After, Before, Connection, First, Last

ITEMS = [f"item-{i}" for i in range(45)]
OWNED = {"1": "mine", "2": "mine too"}  # what the caller may see; "3" exists for another tenant


@strawberry.type
class Thing(graph.Node):
    key: relay.NodeID[str]
    label: str

    @classmethod
    def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Thing | None]:
        return [Thing(key=i, label=OWNED[i]) if i in OWNED else None for i in node_ids]


@strawberry.type
class RenamePayload:
    thing: Thing | None = None
    user_errors: list[graph.UserError]


async def _fetch(offset: int, limit: int) -> Page[str]:
    return Page(items=ITEMS[offset : offset + limit], total=len(ITEMS))


async def _rename(label: str) -> dict:
    if label == "taken":
        raise Conflict("That label is taken.")
    if label == "":
        raise InvalidInput("Invalid label.", details=[{"loc": ["body", "new_label"], "msg": "must not be empty"}])
    if label == "secret":
        raise Forbidden("Not yours.")
    if label == "missing":
        raise NotFound("No such thing.")
    return {"thing": Thing(key="1", label=label)}


@strawberry.type
class Query(nodes.Query):
    @strawberry.field
    async def items(
        self, first: First = None, after: After = None, last: Last = None, before: Before = None
    ) -> Connection[str]:
        return await graph.paginate(_fetch, str, first=first, after=after, last=last, before=before)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def rename(self, label: str) -> RenamePayload:
        return await graph.payload(RenamePayload, _rename(label))


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation, types=[Thing])
PAGE = "{ edges { cursor node } nodes pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount }"


async def _items(args: str = "") -> dict:
    result = await SCHEMA.execute(f"{{ items{args} {PAGE} }}")
    assert result.errors is None, result.errors
    return result.data["items"]


async def _error(args: str) -> str:
    result = await SCHEMA.execute(f"{{ items{args} {{ totalCount }} }}")
    assert result.errors and result.data is None
    return result.errors[0].message


async def test_forward_pages_walk_the_whole_list_once():
    seen, after, pages = [], None, 0
    while True:
        page = await _items(f'(first: 20, after: "{after}")' if after else "(first: 20)")
        seen += page["nodes"]
        pages += 1
        assert page["totalCount"] == 45
        assert [e["node"] for e in page["edges"]] == page["nodes"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert (seen, pages) == (ITEMS, 3)
    assert page["pageInfo"]["hasPreviousPage"] is True


async def test_the_default_page_is_twenty_and_an_empty_list_has_no_cursors():
    page = await _items()
    assert len(page["nodes"]) == graph.DEFAULT_PAGE == 20
    assert page["pageInfo"]["hasPreviousPage"] is False
    last = await _items(f'(after: "{graph.offset_cursor(44)}")')
    assert last["nodes"] == [] and last["pageInfo"]["startCursor"] is None and last["totalCount"] == 45


async def test_backward_pages_from_the_end_and_from_a_cursor():
    tail = await _items("(last: 5)")
    assert tail["nodes"] == ITEMS[40:]
    assert tail["pageInfo"]["hasNextPage"] is False and tail["pageInfo"]["hasPreviousPage"] is True
    before = await _items(f'(last: 5, before: "{tail["pageInfo"]["startCursor"]}")')
    assert before["nodes"] == ITEMS[35:40]
    head = await _items(f'(last: 10, before: "{graph.offset_cursor(3)}")')
    assert head["nodes"] == ITEMS[:3] and head["pageInfo"]["hasPreviousPage"] is False
    between = await _items(f'(first: 10, after: "{graph.offset_cursor(4)}", before: "{graph.offset_cursor(8)}")')
    assert between["nodes"] == ITEMS[5:8]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("(first: 0)", "`first` must be between 1 and 100."),
        ("(first: 101)", "`first` must be between 1 and 100."),
        ("(last: -1)", "`last` must be between 1 and 100."),
        ("(first: 1, last: 1)", "Pass `first` or `last`, not both."),
        ('(after: "nonsense")', "`after` is not a cursor this list gave out."),
        (
            f'(before: "{base64.urlsafe_b64encode(b"cursor:-4").decode()}")',
            "`before` is not a cursor this list gave out.",
        ),
    ],
)
async def test_bad_page_arguments_are_named_in_graphql_terms(args, message):
    assert await _error(args) == message


async def test_a_mutation_answers_its_payload_or_user_errors():
    ok = await SCHEMA.execute('mutation { rename(label: "new") { thing { label } userErrors { field message code } } }')
    assert ok.data == {"rename": {"thing": {"label": "new"}, "userErrors": []}}

    query = "mutation($l: String!) { rename(label: $l) { thing { label } userErrors { field message code } } }"
    taken = await SCHEMA.execute(query, variable_values={"l": "taken"})
    assert taken.errors is None
    assert taken.data["rename"] == {
        "thing": None,
        "userErrors": [{"field": None, "message": "That label is taken.", "code": "CONFLICT"}],
    }
    empty = await SCHEMA.execute(query, variable_values={"l": ""})
    assert empty.data["rename"]["userErrors"] == [
        {"field": ["newLabel"], "message": "must not be empty", "code": "INVALID"}
    ]
    missing = await SCHEMA.execute(query, variable_values={"l": "missing"})
    assert missing.data["rename"]["userErrors"][0]["code"] == "NOT_FOUND"
    # Permission is not the user's input to correct: a top-level error with its code.
    secret = await SCHEMA.execute(query, variable_values={"l": "secret"})
    assert secret.data is None
    assert secret.errors[0].original_error.code == "FORBIDDEN"


async def test_node_resolves_global_ids_and_is_null_for_anything_else():
    mine = str(relay.GlobalID("Thing", "1"))
    assert base64.b64decode(mine).decode() == "Thing:1"
    query = "query($id: ID!) { node(id: $id) { id ... on Thing { label } } }"
    found = await SCHEMA.execute(query, variable_values={"id": mine})
    assert found.data == {"node": {"id": mine, "label": "mine"}}
    for other in (str(relay.GlobalID("Thing", "3")), str(relay.GlobalID("Query", "1")), "not base64!", "Zm9v"):
        result = await SCHEMA.execute(query, variable_values={"id": other})
        assert (result.errors, result.data) == (None, {"node": None}), other

    many = await SCHEMA.execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        variable_values={"ids": [mine, str(relay.GlobalID("Thing", "3")), str(relay.GlobalID("Thing", "2"))]},
    )
    assert many.data == {"nodes": [{"id": mine}, None, {"id": str(relay.GlobalID("Thing", "2"))}]}
    too_many = await SCHEMA.execute(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variable_values={"ids": [mine] * 101}
    )
    assert too_many.errors[0].message == "`ids` takes at most 100 ids."


@pytest.mark.parametrize("face", ["graphql", "rest"])
def test_every_entity_type_loads_its_nodes_through_graph_node(face):
    """Each type implementing the `Node` interface subclasses `graph.Node` and implements
    `load_nodes`, so relay's overloaded `resolve_nodes` is adapted in one place (no per-type
    `type: ignore[override]`), and a lookup by global id reaches the type's own domain read."""
    from graphql import GraphQLObjectType

    from agentdeck.schema import build_schema

    schema = build_schema(face=face)
    entity_types, wrong = [], []
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or "Node" not in {i.name for i in named.interfaces}:
            continue
        origin = schema.get_type_by_name(named.name).origin
        entity_types.append(named.name)
        if not issubclass(origin, graph.Node) or "load_nodes" not in vars(origin) or "resolve_nodes" in vars(origin):
            wrong.append(named.name)
    assert len(entity_types) >= {"graphql": 25, "rest": 9}[face] and wrong == [], wrong
    assert [i.name for i in schema._schema.get_type("Node").interfaces] == []


# Names that stand for a closed set or a point in time: on the native graph such a field is an
# enum or a DateTime, never a String. The exceptions are open sets, each with its reason.
CLOSED_SET_NAMES = {"status", "state", "kind", "role", "type", "severity", "channel", "source", "category", "stage"}
OPEN_SETS = {
    ("BillingEvent", "type"): "the payment provider's event type (Stripe has hundreds, and adds more)",
    ("BillingEventFilter", "type"): "filters that open set",
    ("BillingContact", "role"): "a contact's job title, free text",
    ("BillingContactInput", "role"): "the same free text",
    ("MessageAttachment", "kind"): "what a file is to its message, as the sender said",
}


def test_no_string_stands_for_a_closed_set_or_a_timestamp():
    from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType, get_named_type

    from agentdeck.schema import build_schema

    schema = build_schema()._schema
    found = []
    for named in schema.type_map.values():
        if named.name.startswith("__") or not isinstance(
            named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
        ):
            continue
        for field_name, field in named.fields.items():
            if get_named_type(field.type).name != "String" or (named.name, field_name) in OPEN_SETS:
                continue
            if field_name in ("mimeType", "serverTimestamp"):
                # A media type is an open set; `serverTimestamp` is the stream envelope's wire
                # string (the SSE bodies carry it), with `serverTime: DateTime` beside it.
                continue
            if field_name in CLOSED_SET_NAMES or field_name.endswith(("At", "Status", "Kind", "Type", "Timestamp")):
                found.append(f"{named.name}.{field_name}")
    assert found == [], found
