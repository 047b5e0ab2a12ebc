"""The /graphql endpoint: transports, limits, and which errors are shown."""

from __future__ import annotations

import pytest

from tests.harness import BOOTSTRAP_SECRET


def test_query_over_get_and_post(server):
    r = server.http.get("/graphql", params={"query": "{ health { status } }"})
    assert r.status_code == 200 and r.json()["data"]["health"]["status"] == "HEALTHY"
    assert server.gql("{ health { status } }")["data"]["health"]["status"] == "HEALTHY"


def test_graphiql_is_served(server):
    r = server.http.get("/graphql", headers={"accept": "text/html"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()


def test_mutations_never_run_over_get(server):
    q = 'mutation { publishNotice(input: {message: "x"}) { notice { message } } }'
    r = server.http.get("/graphql", params={"query": q}, headers={"authorization": f"Bearer {BOOTSTRAP_SECRET}"})
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"query": 42}',
        b'{"query": "{ health { "}',
        b'{"query": "{ nope }"}',
        b'{"query": "{ health { status } }", "variables": "nope"}',
        b"{}",
    ],
)
def test_garbage_gets_a_4xx_or_a_graphql_error_never_a_500(server, body):
    r = server.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert r.status_code < 500
    if r.status_code == 200:
        assert r.json()["errors"]


def test_depth_alias_and_token_limits(server):
    deep = "{ health " + "{ status " * 20 + "}" * 21
    assert server.gql(deep)["errors"]
    aliases = "{ " + " ".join(f"a{i}: health {{ status }}" for i in range(40)) + " }"
    errs = server.gql(aliases)["errors"]
    assert any("alias" in e["message"].lower() for e in errs)
    tokens = "{ health { " + "status " * 3000 + "} }"
    errs = server.gql(tokens)["errors"]
    assert any("token" in e["message"].lower() for e in errs)


def test_domain_errors_carry_codes(server):
    notice = 'mutation { publishNotice(input: {message: "%s"}) { notice { message } userErrors { field code } } }'
    out = server.gql(notice % "x")
    assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    out = server.gql("{ platformStatus { incidents(first: 0) { totalCount } } }")
    err = out["errors"][0]
    assert err["extensions"]["code"] == "INVALID_INPUT"
    assert err["extensions"]["details"][0]["loc"] == ["first"]
    # A mutation's correctable mistake is a user error in its payload, not a top-level error.
    out = server.gql(notice % " ", token=BOOTSTRAP_SECRET)
    assert "errors" not in out
    assert out["data"]["publishNotice"] == {
        "notice": None,
        "userErrors": [{"field": ["input", "message"], "code": "INVALID"}],
    }
