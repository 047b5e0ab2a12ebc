"""Bad input through the REST layer gets a clear 4xx in the documented shape, never a 500."""

from __future__ import annotations

import re
import uuid

from tests.harness import BOOTSTRAP_SECRET

# The REST binder and error envelopes sit above the database: SQLite shows them (tests/conftest.py).
ONE_BACKEND = True

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def test_unknown_path_and_wrong_method_answer_like_the_legacy_service(server):
    r = server.rest("GET", "/api/v1/does-not-exist")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = server.rest("DELETE", "/health")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
    assert "GET" in r.headers["allow"]


def test_every_unsupported_method_of_every_documented_path_is_405(server):
    """Including paths a parameterised sibling would otherwise take: `DELETE
    /conversations/search` is not a delete of conversation "search"."""
    paths = server.rest("GET", "/openapi.json").json()["paths"]
    checked = 0
    for template, item in paths.items():
        path = re.sub(r"{\w+}", str(uuid.uuid4()), template)
        allowed = {m.upper() for m in item} | ({"HEAD"} if "get" in item else set())
        for method in sorted(set(METHODS) - allowed):
            r = server.rest(method, path)
            assert r.status_code == 405, (method, template, r.status_code, r.text)
            assert set(r.headers["allow"].replace(" ", "").split(",")) == allowed, (method, template)
            if method != "HEAD":
                assert r.json() == {"detail": "Method Not Allowed"}
            checked += 1
    assert checked > 300


def test_literal_paths_answer_405_not_their_parameterised_siblings_422(server):
    for method, path, allow in (
        ("DELETE", "/api/v1/conversations/search", "GET"),
        ("DELETE", "/api/v1/storage/objects/upload-url", "POST"),
        ("GET", f"/api/v1/vector-stores/{uuid.uuid4()}/files/upload", "POST"),
        ("DELETE", "/api/v1/status/subscriptions/verify", "POST"),
        ("DELETE", "/api/v1/status/subscriptions/challenge", "POST"),
    ):
        r = server.rest(method, path, token=BOOTSTRAP_SECRET)
        assert r.status_code == 405 and allow in r.headers["allow"], (method, path, r.text)
    # A malformed id on the parameterised route itself is still the legacy 422.
    r = server.rest("DELETE", "/api/v1/status/subscriptions/not-a-uuid", token=BOOTSTRAP_SECRET)
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["path", "subscription_id"]
    r = server.rest("GET", "/api/v1/vector-stores/not-a-uuid")
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["path", "vector_store_id"]


def _post(server, body, **kw):
    return (
        server.rest("POST", "/api/v1/notices", token=BOOTSTRAP_SECRET, **kw)
        if body is None
        else server.rest(
            "POST",
            "/api/v1/notices",
            token=BOOTSTRAP_SECRET,
            content=body,
            headers={"content-type": "application/json"},
            **kw,
        )
    )


def _assert_validation(r, loc, kind):
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["success"] is False and body["error"] == "ValidationError"
    assert body["message"] == "Request validation failed."
    assert any(d["loc"] == loc and d["type"] == kind for d in body["details"]), body["details"]


def test_malformed_json(server):
    _assert_validation(_post(server, b'{"message": '), ["body", 12], "json_invalid")


def test_missing_body_and_missing_field(server):
    _assert_validation(_post(server, None), ["body"], "missing")
    _assert_validation(_post(server, b'{"level": "info"}'), ["body", "message"], "missing")


def test_wrong_types_unknown_fields_and_bad_enums(server):
    _assert_validation(_post(server, b'{"message": 5}'), ["body", "message"], "string_type")
    _assert_validation(_post(server, b'{"message": "x", "colour": "red"}'), ["body", "colour"], "extra_forbidden")
    _assert_validation(_post(server, b'{"message": "x", "level": "loud"}'), ["body", "level"], "enum")
    _assert_validation(_post(server, b"[1, 2]"), ["body"], "model_attributes_type")


def test_domain_validation_maps_argument_paths_to_rest_locations(server):
    _assert_validation(_post(server, b'{"message": "   "}'), ["body", "message"], "value_error")


def test_oversized_body_is_413(server):
    r = _post(server, b'{"message": "' + b"x" * 2_000_000 + b'"}')
    assert r.status_code == 413
    assert r.json()["error"] == "PayloadTooLarge"


def test_authentication_and_scope_errors(server):
    r = server.rest("POST", "/api/v1/notices", json={"message": "hi"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"success": False, "error": "Unauthorized", "message": "Not authenticated", "details": None}
    r = server.rest("POST", "/api/v1/notices", token="wrong", json={"message": "hi"})
    assert r.status_code == 401


def test_success(server):
    r = server.rest("POST", "/api/v1/notices", token=BOOTSTRAP_SECRET, json={"message": "hello", "level": "warning"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["message"] == "hello" and body["level"] == "warning" and "published_at" in body
