"""Query cost analysis (agentdeck/schema/cost.py): the arithmetic on a small schema of its own
(in-process), then what a client of /graphql sees: `extensions.cost` on every response, an
operation over the budget refused before it runs, and the budget per tenant per minute."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace
from typing import Annotated

import httpx
import pytest
import strawberry
from graphql import get_introspection_query, parse

from agentdeck.providers import ratelimit
from agentdeck.providers.ratelimit import InProcessLimiter
from agentdeck.schema import build_schema, graph
from agentdeck.schema.cost import INTROSPECTION_COST, LIST_SIZE, operation_cost, query_cost
from agentdeck.settings import Settings
from tests.harness import BOOTSTRAP_SECRET
from tests.users import register

# -- a toy schema: connections, a plain list, a union, nodes(ids:) ----------------------------

CALLS: list[str] = []


@strawberry.type
class Part:
    name: str


@strawberry.type
class Item:
    name: str
    tags: list[str]

    @strawberry.field
    def parts(self) -> list[Part]:
        return []

    @strawberry.field
    def children(self, first: graph.First = None, last: graph.Last = None) -> graph.Connection[Part]:
        return graph.connection_of([])

    @strawberry.field
    def owner(self) -> Part:
        return Part(name="o")


@strawberry.type
class Bundle:
    @strawberry.field
    def items(self, first: graph.First = None) -> graph.Connection[Item]:
        return graph.connection_of([])


Thing = Annotated[Item | Bundle | Part, strawberry.union("Thing")]


@strawberry.type
class Query:
    @strawberry.field
    def items(self, first: graph.First = None, last: graph.Last = None) -> graph.Connection[Item]:
        CALLS.append("items")
        return graph.connection_of([Item(name=f"i{i}", tags=[]) for i in range(3)])

    @strawberry.field
    def things(self) -> list[Thing]:
        return []

    @strawberry.field
    def nodes(self, ids: list[strawberry.ID]) -> list[Part | None]:
        return [None for _ in ids]

    @strawberry.field
    def version(self) -> str:
        return "1"


TOY = strawberry.Schema(query=Query)


def cost(document: str, variables: dict | None = None) -> int:
    return operation_cost(TOY._schema, parse(document), variables)


def test_each_object_costs_one_and_leaves_cost_nothing():
    assert cost("{ version }") == 1  # a root field is a resolver call, even for a scalar
    assert cost("{ __typename }") == 0
    # The connection (1) and its pageInfo (1); totalCount is a leaf.
    assert cost("{ items { totalCount pageInfo { hasNextPage } } }") == 2


def test_first_and_last_multiply_and_nested_connections_multiply():
    assert cost("{ items(first: 5) { nodes { name } } }") == 1 + 5
    assert cost("{ items(last: 4) { edges { cursor node { name } } } }") == 1 + 4 * (1 + 1)
    # Absent: the default page.
    assert cost("{ items { nodes { name } } }") == 1 + graph.DEFAULT_PAGE
    # 5 items, each with a connection of 3 parts: 1 + 5 × (1 + (1 + 3)).
    assert cost("{ items(first: 5) { nodes { children(first: 3) { nodes { name } } } } }") == 26
    deep = "{ items(first: 10) { edges { node { children(first: 10) { edges { node { name } } } } } } }"
    assert cost(deep) == 1 + 10 * (1 + 1 + 1 + 10 * (1 + 1))


def test_variables_decide_first():
    query = "query($n: Int) { items(first: $n) { nodes { name } } }"
    assert cost(query, {"n": 7}) == 1 + 7
    assert cost(query, {}) == 1 + graph.DEFAULT_PAGE  # null: the default page
    assert cost("query($n: Int = 3) { items(first: $n) { nodes { name } } }", {}) == 1 + 3
    # Variables execution would refuse: counted as if absent (execution then reports them).
    assert cost(query, {"n": "many"}) == 1 + graph.DEFAULT_PAGE


def test_other_lists_count_a_fixed_size_and_nodes_count_their_ids():
    assert cost("{ items(first: 2) { nodes { tags parts { name } } } }") == 1 + 2 * (1 + LIST_SIZE)
    assert cost('{ nodes(ids: ["a", "b", "c"]) { name } }') == 3
    assert cost("query($ids: [ID!]!) { nodes(ids: $ids) { name } }", {"ids": ["x"] * 40}) == 40


def test_fragments_count_where_they_are_spread():
    fragment = "fragment F on Item { owner { name } children(first: 2) { nodes { name } } }"
    once = cost(f"{{ items(first: 3) {{ nodes {{ ...F }} }} }} {fragment}")
    assert once == 1 + 3 * (1 + 1 + (1 + 2))
    twice = cost(
        f"{{ a: items(first: 3) {{ nodes {{ ...F }} }} b: items(first: 3) {{ nodes {{ ...F }} }} }} {fragment}"
    )
    assert twice == 2 * once
    inline = cost("{ items(first: 3) { nodes { ... on Item { owner { name } } } } }")
    assert inline == 1 + 3 * (1 + 1)
    assert cost("{ items(first: 3) { nodes { owner @skip(if: true) { name } } } }") == 1 + 3
    query = "query($on: Boolean!) { items(first: 3) { nodes { owner @include(if: $on) { name } } } }"
    assert cost(query, {"on": False}) == 1 + 3


def test_a_union_costs_its_most_expensive_member():
    query = """{ things {
        ... on Part { name }
        ... on Item { owner { name } }
        ... on Bundle { items(first: 4) { nodes { owner { name } } } }
    } }"""
    # Each of the LIST_SIZE things may be a Bundle: 1 + (1 + 4 × (1 + 1)).
    assert cost(query) == LIST_SIZE * (1 + 1 + 4 * 2)
    assert cost("{ things { ... on Part { name } } }") == LIST_SIZE


def test_introspection_costs_a_fixed_amount():
    assert cost("{ __schema { types { name fields { name type { name } } } } }") == INTROSPECTION_COST
    assert cost('{ __type(name: "Item") { name } }') == INTROSPECTION_COST
    assert cost(get_introspection_query()) == INTROSPECTION_COST


# -- the extension, in-process ------------------------------------------------------------------


def toy_schema(max_cost: int, per_minute: int) -> strawberry.Schema:
    return strawberry.Schema(query=Query, extensions=[query_cost(max_cost, per_minute)])


def caller(limiter: InProcessLimiter, tenant: uuid.UUID | None = None) -> SimpleNamespace:
    principal = SimpleNamespace(tenant_id=tenant, subject="user:x") if tenant else None
    return SimpleNamespace(services=SimpleNamespace(limiter=limiter), principal=principal, request=None, response=None)


async def test_an_operation_over_the_budget_is_refused_before_it_runs():
    CALLS.clear()
    schema = toy_schema(max_cost=10, per_minute=100)
    ctx = caller(InProcessLimiter(), uuid.uuid4())
    result = await schema.execute("{ items(first: 20) { nodes { name } } }", context_value=ctx)
    [error] = result.errors
    assert error.extensions["code"] == "QUERY_TOO_COSTLY"
    assert "21" in error.message and "10" in error.message
    assert result.data is None and CALLS == []  # nothing ran
    assert result.extensions["cost"] == {"requested": 21, "budget": 10, "remaining": 100}  # nothing spent
    ok = await schema.execute("{ items(first: 2) { nodes { name } } }", context_value=ctx)
    assert ok.errors is None and CALLS == ["items"]
    assert ok.extensions["cost"] == {"requested": 3, "budget": 10, "remaining": 97}


async def test_the_minute_budget_is_per_tenant_and_ends_with_its_window(monkeypatch):
    now = [999_999_960.0]  # a multiple of 60 s: a window starts there
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    schema = toy_schema(max_cost=10, per_minute=20)
    limiter = InProcessLimiter()
    mine, other = caller(limiter, uuid.uuid4()), caller(limiter, uuid.uuid4())
    query = "{ items(first: 9) { nodes { name } } }"  # costs 10
    for remaining in (10, 0):
        result = await schema.execute(query, context_value=mine)
        assert result.errors is None and result.extensions["cost"]["remaining"] == remaining
    now[0] += 15
    refused = await schema.execute(query, context_value=mine)
    [error] = refused.errors
    assert error.extensions["code"] == "RATE_LIMITED"
    assert error.extensions["retryAfter"] == 45
    assert error.extensions["rateLimit"] == {"limit": 20, "remaining": 0, "reset": 45}
    assert refused.data is None and refused.extensions["cost"]["remaining"] == 0
    # Another tenant has its own budget; anonymous callers spend their address's.
    assert (await schema.execute(query, context_value=other)).errors is None
    anonymous = await schema.execute(query, context_value=caller(limiter))
    assert anonymous.errors is None and anonymous.extensions["cost"]["remaining"] == 10
    now[0] += 45  # the next window
    again = await schema.execute(query, context_value=mine)
    assert again.errors is None and again.extensions["cost"]["remaining"] == 10


async def test_the_real_schema_prices_graphiql_and_the_hostile_input_documents():
    settings = Settings()
    schema = build_schema(settings)._schema
    assert operation_cost(schema, parse(get_introspection_query())) == INTROSPECTION_COST < settings.graphql_max_cost
    heavy = "{" + " ".join(["health { status }"] * 140) + "}"
    assert operation_cost(schema, parse(heavy)) == 140
    assert operation_cost(schema, parse("{ nodes(ids: []) { id } }")) == 1


# -- end to end ---------------------------------------------------------------------------------


def _post(server, query: str, token: str | None = None, variables: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = server.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert r.status_code == 200, r.text
    return r


def test_every_response_reports_its_cost(server):
    settings = Settings()
    budget = settings.graphql_max_cost
    body = _post(server, "{ health { status } }").json()
    assert body["data"]["health"]["status"] == "healthy"
    cost = body["extensions"]["cost"]
    assert cost["requested"] == 1 and cost["budget"] == budget
    assert 0 <= cost["remaining"] < settings.graphql_tenant_cost_per_minute
    # GraphiQL's introspection passes under the default budget.
    body = _post(server, get_introspection_query()).json()
    assert "errors" not in body and body["extensions"]["cost"]["requested"] == INTROSPECTION_COST
    # A document refused by validation ran nothing and spent nothing.
    body = _post(server, "{ nope }").json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert body["extensions"]["cost"]["requested"] == 0
    # Over the default budget: nodes(ids:) costs one per id.
    ids = [f"id-{i}" for i in range(budget + 1)]
    body = _post(server, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables={"ids": ids}).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert f"costs {budget + 1}" in error["message"] and f"budget of {budget}" in error["message"]
    assert body.get("data") is None and body["extensions"]["cost"]["requested"] == budget + 1


MAX_COST = 20
PER_MINUTE = 60
TEN = "{ " + " ".join(f"h{i}: health {{ status }}" for i in range(10)) + " }"  # costs 10


@pytest.fixture(scope="module")
def budgeted(backend, tmp_path_factory):
    """A server with small budgets: 20 per operation, 60 per tenant per minute."""
    from tests import harness  # not the name `start_server`: the module's other tests stay in-process

    tmp = tmp_path_factory.mktemp(f"cost-{backend}")
    with harness.fresh_database(backend, tmp) as url:
        env = {"AGENTDECK_GRAPHQL_MAX_COST": str(MAX_COST), "AGENTDECK_GRAPHQL_TENANT_COST_PER_MINUTE": str(PER_MINUTE)}
        srv = harness.start_server(tmp, env=env, backend=backend, database_url=url)
        yield srv
        srv.stop()


def _fresh_window(margin: float = 15) -> None:
    """Wait for the next minute window if this one ends within `margin` seconds."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


def test_a_costly_mutation_is_refused_and_nothing_runs(budgeted):
    publish = 'p{i}: publishNotice(input: {{message: "costly {i}"}}) {{ message }}'
    costly = "mutation { " + " ".join(publish.format(i=i) for i in range(MAX_COST + 1)) + " }"
    with budgeted.subscription("subscription { notices { message } }") as sub:
        time.sleep(0.3)
        body = _post(budgeted, costly, token=BOOTSTRAP_SECRET).json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", error
        assert body.get("data") is None
        assert body["extensions"]["cost"] == {"requested": MAX_COST + 1, "budget": MAX_COST, "remaining": PER_MINUTE}
        done = _post(budgeted, 'mutation { publishNotice(input: {message: "after"}) { message } }', BOOTSTRAP_SECRET)
        assert done.json()["data"]["publishNotice"]["message"] == "after"
        assert sub.next()["data"]["notices"]["message"] == "after"  # the costly one published nothing


def test_the_rest_layer_is_not_priced(budgeted):
    owner = register(budgeted, verified=True)
    before = _post(budgeted, "{ health { status } }", owner.access_token).json()["extensions"]["cost"]["remaining"]
    for path in ("/api/v1/conversations", "/api/v1/agents", "/api/v1/billing/plans"):
        assert budgeted.rest("GET", path, token=owner.access_token).status_code == 200, path
    after = _post(budgeted, "{ health { status } }", owner.access_token).json()["extensions"]["cost"]["remaining"]
    assert after == before - 1  # only the GraphQL query spent


def test_the_minute_budget_refuses_with_retry_after(budgeted):
    first, second = register(budgeted, verified=True), register(budgeted, verified=True)
    _fresh_window()
    for remaining in range(PER_MINUTE - 10, -1, -10):
        r = _post(budgeted, TEN, first.access_token)
        assert "errors" not in r.json() and r.json()["extensions"]["cost"]["remaining"] == remaining
    r = _post(budgeted, TEN, first.access_token)
    body = r.json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED", error
    wait = error["extensions"]["retryAfter"]
    assert 1 <= wait <= 60 and r.headers["Retry-After"] == str(wait)
    assert error["extensions"]["rateLimit"] == {"limit": PER_MINUTE, "remaining": 0, "reset": wait}
    assert body.get("data") is None and body["extensions"]["cost"]["remaining"] == 0
    # The budget is the tenant's: another tenant still has all of its own.
    other = _post(budgeted, TEN, second.access_token).json()
    assert "errors" not in other and other["extensions"]["cost"]["remaining"] == PER_MINUTE - 10
    # Over WebSocket the check is made when the subscription starts.
    with budgeted.subscription("subscription { notices { message } }", token=first.access_token) as sub:
        [error] = sub.next()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED", error
