"""Bad input through the REST layer gets a clear 4xx in the documented shape, never a 500."""

from __future__ import annotations

from tests.harness import BOOTSTRAP_SECRET


def test_unknown_path_and_wrong_method_answer_like_the_legacy_service(server):
    r = server.rest("GET", "/api/v1/does-not-exist")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
    r = server.rest("DELETE", "/health")
    assert r.status_code == 405 and r.json() == {"detail": "Method Not Allowed"}
    assert "GET" in r.headers["allow"]


def _post(server, body, **kw):
    return server.rest("POST", "/api/v1/notices", token=BOOTSTRAP_SECRET, **kw) if body is None else \
        server.rest("POST", "/api/v1/notices", token=BOOTSTRAP_SECRET, content=body,
                    headers={"content-type": "application/json"}, **kw)


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
    _assert_validation(_post(server, b'[1, 2]'), ["body"], "model_attributes_type")


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
