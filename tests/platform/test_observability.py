"""What operators see: bounded `/metrics`, and logs where a client's mistakes are one line and
only faults carry a traceback, each tagged with the correlation id the client received."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest

from agentdeck.logs import TextFormatter, correlation_id, tenant
from tests.harness import start_server
from tests.users import register

# Metrics and logs sit above the database: SQLite shows them (tests/conftest.py).
ONE_BACKEND = True

METRICS_TOKEN = "test-metrics-token"
SERIES = re.compile(r"^(\w+\{.*\}|\w+) ", re.M)


def _series(text: str) -> set[str]:
    return set(SERIES.findall(text))


def test_invented_operation_names_and_methods_add_no_series(server):
    def burst(i: int) -> None:
        server.gql(f"query Invented{i} {{ health {{ status }} }}")
        server.gql(f"query Bogus{i} {{ noSuchField{i} }}")
        server.gql(f"mutation M{i} {{ nope }}")
        server.http.post("/graphql", json={"query": f"query Q{i} {{"})  # syntax error
        server.http.post("/graphql", json={"query": "{ health { status } tools { totalCount } }"})
        server.http.request(f"INVENTED{i}", "/health")

    burst(0)
    server.rest("GET", "/metrics")  # reading /metrics is a request too: count it before comparing
    before = _series(server.rest("GET", "/metrics").text)
    for i in range(1, 51):  # 50 of each invented name: one series each would show at once
        burst(i)
    text = server.rest("GET", "/metrics").text
    assert _series(text) == before
    assert 'operation="health"' in text
    assert 'operation="other"' in text and "Invented" not in text and "INVENTED" not in text


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """A server logging at INFO in JSON, with `/metrics` behind a token."""
    tmp = tmp_path_factory.mktemp("observed")
    srv = start_server(
        tmp,
        env={"AGENTDECK_LOG_LEVEL": "info", "AGENTDECK_LOG_FORMAT": "json", "AGENTDECK_METRICS_TOKEN": METRICS_TOKEN},
    )
    yield srv
    srv.stop()


def test_metrics_token_is_required_when_set(observed):
    assert observed.rest("GET", "/metrics").status_code == 401
    r = observed.rest("GET", "/metrics", token="wrong")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = observed.rest("GET", "/metrics", token=METRICS_TOKEN)
    assert r.status_code == 200 and "agentdeck_http_requests_total" in r.text


def _lines_for(srv, cid: str, timeout: float = 5) -> list[dict]:
    """The server's JSON log records of one request, once its access line is written."""
    deadline = time.monotonic() + timeout
    while True:
        records = []
        for line in srv.log().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("correlation_id") == cid:
                    records.append(record)
        if any(r["logger"] == "agentdeck.access" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def test_client_errors_are_one_line_without_traceback(observed):
    gql = "/graphql"
    cases = [
        (
            "bad login",
            observed.rest(
                "POST", "/api/v1/auth/token", json={"email": "nobody@example.com", "password": "not-the-password"}
            ),
            "UNAUTHENTICATED",
        ),
        (
            "validation",
            observed.http.post(gql, json={"query": "query Mine { noSuchField }"}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "variables",
            observed.http.post(
                gql, json={"query": "query($n: Int!) { agents(first: $n) { totalCount } }", "variables": {"n": "many"}}
            ),
            "BAD_USER_INPUT",
        ),
        ("garbage token, REST", observed.rest("GET", "/api/v1/auth/me", token="garbage"), "UNAUTHENTICATED"),
        (
            "garbage token, GraphQL",
            observed.http.post(gql, json={"query": "{ me { email } }"}, headers={"Authorization": "Bearer not.a.jwt"}),
            "UNAUTHENTICATED",
        ),
        (
            "bad query parameter",
            observed.rest("GET", "/api/v1/auth/sessions", token="garbage", params={"limit": "x"}),
            "BAD_USER_INPUT",
        ),
    ]
    for name, response, code in cases:
        assert response.status_code < 500, (name, response.text)
        records = _lines_for(observed, response.headers["x-correlation-id"])
        access = [r for r in records if r["logger"] == "agentdeck.access"]
        errors = [r for r in records if r["logger"] != "agentdeck.access"]
        assert len(access) == 1 and access[0]["status"] == response.status_code, (name, records)
        assert access[0]["path"] == response.request.url.path and "?" not in access[0]["message"]
        assert len(errors) == 1, (name, records)
        assert errors[0]["level"] in ("INFO", "WARNING") and code in errors[0]["message"], (name, errors)
        assert "traceback" not in errors[0] and "Traceback" not in json.dumps(records), name
    assert "Traceback" not in observed.log()


def test_access_line_names_the_tenant(observed):
    account = register(observed)
    me = observed.rest("GET", "/api/v1/auth/me", token=account.access_token)
    (access,) = [x for x in _lines_for(observed, me.headers["x-correlation-id"]) if x["logger"] == "agentdeck.access"]
    assert access["tenant"] == account.tenant_id and access["method"] == "GET"
    assert access["time"].endswith("Z") and access["duration_ms"] >= 0


def test_a_fault_logs_its_traceback_with_the_clients_correlation_id(tmp_path):
    # A real fault: the database is unreachable, so public reads fail unexpectedly.
    srv = start_server(
        tmp_path,
        env={
            "AGENTDECK_LOG_LEVEL": "info",
            "AGENTDECK_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
            "AGENTDECK_AUTO_MIGRATE": "false",
        },
    )
    try:
        rest = srv.rest("GET", "/api/v1/billing/plans")
        assert rest.status_code == 500 and rest.json()["error"] == "InternalServerError"
        gql = srv.http.post("/graphql", json={"query": "{ billingPlans { nodes { code } } }"})
        assert gql.json()["errors"][0]["message"] != ""
        for response in (rest, gql):
            cid = response.headers["x-correlation-id"]
            deadline = time.monotonic() + 5
            while f"cid={cid} tenant=- GET" not in srv.log() and f"cid={cid} tenant=- POST" not in srv.log():
                assert time.monotonic() < deadline, srv.log()[-3000:]
                time.sleep(0.05)
            text = srv.log()
            error = re.search(
                rf"^\S+Z ERROR agentdeck cid={cid} tenant=- unexpected error in .*\nTraceback", text, re.M
            )
            assert error, text[-3000:]
            assert "ConnectionRefusedError" in text[error.end() :]
    finally:
        srv.stop()


def test_text_lines_are_one_line_each_in_utc():
    record = logging.LogRecord("agentdeck", logging.INFO, __file__, 1, "bad\ninput %s", ("x\r\n",), None)
    token_c, token_t = correlation_id.set("abc"), tenant.set("t-1")
    try:
        from agentdeck.logs import RequestFacts

        RequestFacts().filter(record)
    finally:
        correlation_id.reset(token_c)
        tenant.reset(token_t)
    line = TextFormatter().format(record)
    assert "\n" not in line and "\r" not in line
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO agentdeck cid=abc tenant=t-1 bad\\ninput x\\r\\n", line
    )
