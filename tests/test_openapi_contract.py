"""What openapi.json declares is what the server does: security, and limits at their boundary."""

from __future__ import annotations

import re
import uuid

from tests.harness import ROOT

PUBLIC = {
    ("GET", "/health"), ("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/register"),
    ("GET", "/api/v1/billing/plans"), ("GET", "/api/v1/status"), ("GET", "/api/v1/status/rss"),
}


def _operations(doc: dict):
    for template, item in doc["paths"].items():
        for method, op in item.items():
            yield method.upper(), template, op


def test_bearer_scheme_is_declared_and_public_operations_have_none():
    import json

    doc = json.loads((ROOT / "openapi.json").read_text())
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        **doc["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    security = {(m, p): op.get("security") for m, p, op in _operations(doc)}
    assert all(security[op] is None for op in PUBLIC)
    assert security[("GET", "/api/v1/conversations")] == [{"bearerAuth": []}]
    assert security[("GET", "/api/v1/auth/me")] == [{"bearerAuth": []}]
    assert security[("POST", "/api/v1/status/subscriptions")] == [{}, {"bearerAuth": []}]


def test_declared_security_matches_what_the_server_does_without_a_token(server):
    """Every operation that binds without a body: required bearer → 401, otherwise never 401."""
    doc = server.rest("GET", "/openapi.json").json()
    checked = 0
    for method, template, op in _operations(doc):
        path = re.sub(r"{\w+}", str(uuid.uuid4()), template)
        with server.http.stream(method, path) as r:  # streams: the status line is enough
            status = r.status_code
            r.close()
        if status == 422 or op.get("security") == [{}, {"bearerAuth": []}]:
            continue  # rejected before any credential is looked at; or the token is optional
        required = op.get("security") == [{"bearerAuth": []}]
        assert (status == 401) == required, (method, template, status, op.get("security"))
        checked += 1
    assert checked >= 50
