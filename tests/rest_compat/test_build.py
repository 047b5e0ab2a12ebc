"""The REST generator on a tiny schema built inline: binding, shapes, statuses, start-up checks."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

import pytest
import strawberry
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.testclient import TestClient

from agentdeck.domain.common.limits import Limit
from agentdeck.errors import NotFound, UnknownErrorCode
from agentdeck.rest_compat.build import RouteTableError, build_routes, more_specific
from agentdeck.rest_compat.openapi import build_openapi
from agentdeck.rest_compat.spec import Op
from agentdeck.schema.limits import PageSize, enforce_limits, limited


@strawberry.enum
class Colour(Enum):
    red = "red"
    dark_blue = "dark_blue"


@strawberry.type
class Inner:
    display_name: str
    hidden_count: int = strawberry.field(metadata={"rest": {"skip": True}})


@strawberry.type
class Item:
    item_id: uuid.UUID
    colour: Colour
    inner: Inner
    tags: list[str]

    @strawberry.field
    def needs_arg(self, x: int) -> int:  # fields with required arguments are not selected
        return x


@strawberry.type
class Page:
    items: list[Item]
    next_cursor: str | None


@strawberry.input
class PointInput:
    x_pos: int
    y_pos: int = 0


@strawberry.input
class CreateInput:
    display_name: str
    colour: Colour = Colour.red
    points: list[PointInput] = strawberry.field(default_factory=list)


@strawberry.type
class Message:
    message: str
    data: Inner | None


ITEM_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


def _item(name: str, colour: Colour = Colour.red, tags: list[str] | None = None) -> Item:
    return Item(item_id=ITEM_ID, colour=colour, inner=Inner(display_name=name, hidden_count=3), tags=tags or [])


@strawberry.type
class Query:
    @strawberry.field
    def items(
        self,
        first: int = 2,
        after: str | None = None,
        colour: Colour | None = None,
        flag: bool = False,
        tag: list[str] | None = None,
    ) -> Page:
        return Page(items=[_item(f"{first}-{after}-{flag}", colour or Colour.red, tag)], next_cursor=after)

    @strawberry.field
    def item(self, item_id: uuid.UUID, if_match: str | None = None) -> Item:
        if item_id != ITEM_ID:
            raise NotFound("Item not found")
        return _item(f"etag={if_match}")


@strawberry.type
class Mutation:
    @strawberry.mutation
    def create(self, input: CreateInput) -> Item:
        return _item(f"{input.display_name}:{sum(p.x_pos + p.y_pos for p in input.points)}", input.colour)

    @strawberry.mutation
    def remove(self, item_id: uuid.UUID) -> bool:
        return True

    @strawberry.mutation
    def hello(self) -> Message:
        return Message(message="Hello.", data=Inner(display_name="x", hidden_count=1))


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation)
TABLE = (
    Op(
        "GET",
        "/items",
        "items",
        query={"limit": "first", "cursor": "after", "colour": "colour", "flag": "flag", "tag": "tag"},
    ),
    Op("GET", "/items/{item_id}", "item", header={"If-Match": "ifMatch"}),
    Op("POST", "/items", "create", body="input", status=201),
    Op("DELETE", "/items/{item_id}", "remove", status=204),
    Op("POST", "/hello", "hello", envelope=True),
)


async def _context(_request):
    return None


@pytest.fixture(scope="module")
def client():
    routes, _ = build_routes(SCHEMA, TABLE, _context)
    with TestClient(Starlette(routes=routes)) as c:
        yield c


def test_result_is_in_rest_shape(client):
    r = client.get("/items")
    assert r.status_code == 200
    assert r.json() == {
        "items": [{"item_id": str(ITEM_ID), "colour": "red", "inner": {"display_name": "2-None-False"}, "tags": []}],
        "next_cursor": None,
    }


def test_query_parameters_bind_by_type(client):
    r = client.get(
        "/items",
        params=[
            ("limit", "5"),
            ("cursor", "abc"),
            ("colour", "dark_blue"),
            ("flag", "yes"),
            ("tag", "a"),
            ("tag", "b"),
        ],
    )
    item = r.json()["items"][0]
    assert item["inner"]["display_name"] == "5-abc-True"
    assert item["colour"] == "dark_blue" and item["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    ("params", "loc", "kind"),
    [
        ({"limit": "ten"}, ["query", "limit"], "int_parsing"),
        ({"flag": "maybe"}, ["query", "flag"], "bool_parsing"),
        ({"colour": "green"}, ["query", "colour"], "enum"),
    ],
)
def test_bad_query_parameters(client, params, loc, kind):
    r = client.get("/items", params=params)
    assert r.status_code == 422
    assert r.json()["details"][0]["loc"] == loc and r.json()["details"][0]["type"] == kind


def test_path_and_header_parameters(client):
    r = client.get(f"/items/{ITEM_ID}", headers={"If-Match": '"3"'})
    assert r.json()["inner"]["display_name"] == 'etag="3"'
    r = client.get("/items/not-a-uuid")
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["path", "item_id"]
    r = client.get(f"/items/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["message"] == "Item not found"


def test_body_binding_renames_nested_keys_and_reports_nested_errors(client):
    r = client.post("/items", json={"display_name": "n", "colour": "dark_blue", "points": [{"x_pos": 2, "y_pos": 3}]})
    assert r.status_code == 201 and r.json()["inner"]["display_name"] == "n:5"
    r = client.post("/items", json={"display_name": "n", "points": [{"y_pos": 1}, {"x_pos": "a"}]})
    details = r.json()["details"]
    assert {"type": "missing", "loc": ["body", "points", 0, "x_pos"]}.items() <= details[0].items()
    assert details[1]["loc"] == ["body", "points", 1, "x_pos"] and details[1]["type"] == "int_type"
    r = client.post("/items", json={"display_name": "n", "points": [{"x_pos": 1, "z": 0}]})
    assert r.json()["details"][0]["loc"] == ["body", "points", 0, "z"]


def test_204_and_envelope(client):
    r = client.delete(f"/items/{ITEM_ID}")
    assert r.status_code == 204 and r.content == b""
    assert client.post("/hello").json() == {"success": True, "message": "Hello.", "data": {"display_name": "x"}}


def test_wrong_method_lists_every_method_of_the_path(client):
    r = client.put(f"/items/{ITEM_ID}")
    assert r.status_code == 405
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "DELETE"}


@pytest.mark.parametrize(
    ("op", "problem"),
    [
        (Op("GET", "/x", "nope"), "no query field"),
        (Op("GET", "/items/{item_id}", "item", query={"q": "missing"}), "no argument"),
        (Op("POST", "/items", "create"), "required arguments not bound"),
    ],
)
def test_bad_rows_fail_at_start_up(op, problem):
    with pytest.raises(RouteTableError, match=problem):
        build_routes(SCHEMA, (op,), _context)


def test_openapi_uses_rest_names_and_marks_requirements():
    _, compiled = build_routes(SCHEMA, TABLE, _context)
    doc = build_openapi(SCHEMA._schema, compiled)
    create = doc["paths"]["/items"]["post"]
    assert "201" in create["responses"] and "422" in create["responses"]
    body = doc["components"]["schemas"]["CreateInput"]
    assert body["required"] == ["display_name"] and body["additionalProperties"] is False
    assert "hidden_count" not in doc["components"]["schemas"]["Inner"]["properties"]
    params = {p["name"]: p for p in doc["paths"]["/items"]["get"]["parameters"]}
    assert params["limit"]["in"] == "query" and not params["limit"]["required"]


# -- declared limits and sibling routes ------------------------------------------------------


@strawberry.input
class NoteInput:
    text: str = strawberry.field(metadata=limited(Limit(min_length=2, max_length=5)))
    tags: list[str] | None = strawberry.field(default=None, metadata=limited(Limit(max_length=2)))


@strawberry.type
class LimitedQuery:
    @strawberry.field
    def notes(self, limit: PageSize = 10, note_id: str = "") -> str:
        return f"{limit}:{note_id}"


@strawberry.type
class LimitedMutation:
    @strawberry.mutation
    def note(self, input: NoteInput) -> str:
        return input.text


def _limited_app() -> tuple[TestClient, dict]:
    enforce_limits((LimitedQuery, LimitedMutation))
    schema = strawberry.Schema(query=LimitedQuery, mutation=LimitedMutation)
    table = (
        Op("GET", "/notes", "notes", query={"limit": "limit"}),
        Op("GET", "/notes/{note_id}", "notes", path_args={"note_id": "noteId"}),
        Op("POST", "/notes/latest", "note", body="input"),
    )
    routes, compiled = build_routes(schema, table, _context)
    return TestClient(Starlette(routes=routes)), build_openapi(schema._schema, compiled)


def test_declared_limits_are_enforced_and_documented():
    client, doc = _limited_app()
    assert client.get("/notes", params={"limit": 100}).json() == "100:"
    r = client.get("/notes", params={"limit": 101})
    assert r.status_code == 422
    assert r.json()["details"] == [
        {"type": "less_than_equal", "loc": ["query", "limit"], "msg": "Input should be less than or equal to 100"}
    ]
    r = client.post("/notes/latest", json={"text": " x ", "tags": ["a", "b", "c"]})
    assert [(d["loc"], d["type"]) for d in r.json()["details"]] == [
        (["body", "text"], "string_too_short"),
        (["body", "tags"], "too_long"),
    ]
    assert client.post("/notes/latest", json={"text": "abcde"}).json() == "abcde"
    (param,) = doc["paths"]["/notes"]["get"]["parameters"]
    assert param["schema"] == {"type": "integer", "format": "int32", "minimum": 1, "maximum": 100}
    props = doc["components"]["schemas"]["NoteInput"]["properties"]
    assert props["text"] == {"type": "string", "minLength": 2, "maxLength": 5}
    assert props["tags"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}, "maxItems": 2}


def test_a_const_limit_accepts_one_value_and_publishes_it():
    terms = Limit(const=True, message="Terms must be accepted.")
    assert terms.problems(True, "input.ok") == [] and terms.problems(None, "input.ok") == []
    assert terms.problems(False, "input.ok") == [
        {"field": "input.ok", "type": "value_error", "message": "Terms must be accepted."}
    ]
    assert Limit(const=True).problems(False, "f")[0]["message"] == "Input should be True"
    assert terms.json_schema() == {"const": True}


def test_a_literal_path_is_not_taken_by_its_parameterised_sibling():
    client, _ = _limited_app()
    assert client.get("/notes/abc").json() == "10:abc"
    r = client.get("/notes/latest")  # the sibling's path, not note "latest"
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert more_specific("/a/{x}/b", "/a/{y}/{z}") and not more_specific("/a/{y}/{z}", "/a/{x}/b")
    assert not more_specific("/a/b", "/a/c") and not more_specific("/a/{x}", "/a/{y}")


@strawberry.type
class Done:
    result: str


@strawberry.type
class Pending:
    ticket: str


@strawberry.type
class UnionMutation:
    @strawberry.mutation
    def attempt(self, wait: bool) -> Annotated[Done | Pending, strawberry.union("Attempt")]:
        return Pending(ticket="t-1") if wait else Done(result="ok")


def test_a_union_result_answers_the_status_of_its_member():
    """`status_by_type`: sign-in answers 200 with tokens or 202 with an MFA challenge."""
    schema = strawberry.Schema(query=Query, mutation=UnionMutation)
    row = Op("POST", "/attempt", "attempt", query={"wait": "wait"}, status_by_type={"Pending": 202})
    routes, compiled = build_routes(schema, (row,), _context)
    with TestClient(Starlette(routes=routes)) as c:
        done, pending = c.post("/attempt?wait=false"), c.post("/attempt?wait=true")
    assert (done.status_code, done.json()) == (200, {"result": "ok"})
    assert (pending.status_code, pending.json()) == (202, {"ticket": "t-1"})
    responses = build_openapi(schema._schema, compiled)["paths"]["/attempt"]["post"]["responses"]
    assert responses["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Pending"}
    assert responses["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Attempt"}
    with pytest.raises(RouteTableError, match="needs a union"):
        build_routes(SCHEMA, (Op("POST", "/hello", "hello", status_by_type={"Message": 202}),), _context)


@strawberry.type
class RefusingQuery:
    @strawberry.field
    def refusal(self, code: str) -> str:
        raise GraphQLError(f"Refused with {code}.", extensions={"code": code})


def test_a_graphql_error_with_a_code_answers_as_the_table_says_and_an_unknown_code_fails_loudly():
    """An error that is not a DomainError but carries `extensions.code` is answered with the
    status and name the one table gives it; a code missing from the table is a programming
    error, raised (a 500 and a traceback in production) rather than answered with a made-up
    status."""
    schema = strawberry.Schema(query=RefusingQuery)
    routes, _ = build_routes(schema, (Op("GET", "/refusals/{code}", "refusal"),), _context)
    with TestClient(Starlette(routes=routes)) as c:
        gone = c.get("/refusals/GONE")
        assert (gone.status_code, gone.json()) == (
            410,
            {"success": False, "error": "Gone", "message": "Refused with GONE.", "details": None},
        )
        too_large = c.get("/refusals/PERSISTED_QUERY_TOO_LARGE")
        assert (too_large.status_code, too_large.json()["error"]) == (413, "PayloadTooLarge")
        with pytest.raises(UnknownErrorCode, match="NO_SUCH_CODE"):
            c.get("/refusals/NO_SUCH_CODE")
