"""The first operations through the whole path: REST routes and their GraphQL twins."""

from __future__ import annotations

import pytest

from tests.harness import assert_documented, start_server

OPERATIONS = [
    ("/", "service"),
    ("/health", "health"),
    ("/health/ready", "readiness"),
    ("/health/storage", "storageHealth"),
]


@pytest.mark.parametrize(("path", "field"), OPERATIONS)
def test_rest_matches_contract_and_graphql(server, path, field):
    r = server.rest("GET", path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert_documented("GET", path, r)

    gql = server.gql(f"{{ {field} {{ __typename }} }}")
    assert "errors" not in gql
    # The native field answers the same probe, typed: an enum and a DateTime with its offset
    # (the REST body keeps the documented naive timestamp).
    body = r.json()
    if field != "service":
        selection = "status checkedAt version uptimeSeconds"
        data = server.gql(f"{{ {field} {{ {selection} }} }}")["data"][field]
        assert data["status"] == body["status"].upper() and data["version"] == body["version"]
        assert data["checkedAt"].endswith("+00:00") and data["uptimeSeconds"] >= 0
    else:
        data = server.gql("{ service { name version } }")["data"]["service"]
        assert data == {"name": body["service"], "version": body["version"]}


def test_health_payload(server):
    body = server.rest("GET", "/health").json()
    assert body["status"] == "healthy"
    assert "+" not in body["timestamp"] and not body["timestamp"].endswith("Z")  # naive, as documented
    assert body["uptime"] >= 0
    assert server.rest("GET", "/health/ready").json()["status"] == "ready"


def test_every_response_carries_request_headers(server):
    a = server.rest("GET", "/health")
    b = server.rest("GET", "/health")
    assert a.headers["x-correlation-id"] != b.headers["x-correlation-id"]
    assert float(a.headers["x-process-time"]) >= 0


def test_readiness_is_503_when_redis_is_down(tmp_path):
    srv = start_server(tmp_path, env={"AGENTDECK_REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        assert srv.rest("GET", "/health").status_code == 200  # liveness does not probe
        r = srv.rest("GET", "/health/ready")
        assert r.status_code == 503
        assert_documented("GET", "/health/ready", r)
        body = r.json()
        assert body["error"] == "ServiceUnavailable"
        assert "redis" in body["message"] and "redis" in body["details"]
        gql = srv.gql("{ readiness { status } }")
        assert gql["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    finally:
        srv.stop()


def test_readiness_is_503_when_the_database_is_down(tmp_path):
    srv = start_server(
        tmp_path,
        env={
            "AGENTDECK_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
            "AGENTDECK_AUTO_MIGRATE": "false",
        },
    )
    try:
        r = srv.rest("GET", "/health/ready")
        assert r.status_code == 503
        assert "database" in r.json()["details"]
    finally:
        srv.stop()


def test_storage_health_reports_an_unwritable_store(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the storage directory should be")
    srv = start_server(tmp_path, env={"AGENTDECK_STORAGE_URL": f"file://{blocker}/objects"})
    try:
        r = srv.rest("GET", "/health/storage")
        assert r.status_code == 503
        assert_documented("GET", "/health/storage", r)
        assert r.json()["error"] == "ServiceUnavailable"
    finally:
        srv.stop()


def test_metrics_count_routes_and_operations(server):
    server.rest("GET", "/health")
    server.gql("query Probe { health { status } }")
    text = server.rest("GET", "/metrics").text
    assert 'agentdeck_http_requests_total{method="GET",route="/health",status="200"}' in text
    # Over /graphql an operation is counted by its root field: the client's name is free text.
    assert 'operation="health"' in text and 'transport="graphql"' in text and "Probe" not in text
    assert 'operation="Rest_GET_health"' in text and 'transport="rest"' in text
