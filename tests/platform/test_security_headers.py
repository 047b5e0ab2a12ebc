"""Security headers, no-store on credentials, and the one CORS policy — against real servers."""

from __future__ import annotations

import re

import httpx
import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType

from tests.harness import BOOTSTRAP_SECRET, fresh_database, start_server
from tests.users import PASSWORD, register

# Headers are set by middleware, above any database: SQLite shows them (see tests/conftest.py).
ONE_BACKEND = True

ALLOWED = "http://localhost:3000"  # in the default AGENTDECK_CORS_ORIGINS
EVIL = "https://evil.example"
HTML_CSP = ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]


@pytest.fixture(scope="module")
def proxied(backend, tmp_path_factory):
    """A server of this module's own (rate-limit budgets not shared with other tests), behind a
    pretend TLS-terminating proxy on 127.0.0.1, which it trusts."""
    tmp = tmp_path_factory.mktemp(f"proxied-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, env={"AGENTDECK_FORWARDED_ALLOW_IPS": "127.0.0.1"}, backend=backend, database_url=url)
        yield srv
        srv.stop()


def _assert_base_headers(r: httpx.Response) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/health", "/api/v1/billing/plans", "/openapi.json", "/api/v1/nowhere"])
def test_every_response_carries_nosniff_and_referrer_policy(server, path):
    r = server.rest("GET", path)
    _assert_base_headers(r)
    assert "x-frame-options" not in r.headers and "strict-transport-security" not in r.headers
    r = server.rest("POST", "/api/v1/auth/token", content=b"x" * 2_000_000)  # 413 from the body bound
    assert r.status_code == 413
    _assert_base_headers(r)


@pytest.mark.parametrize(("path", "headers"), [("/docs", {}), ("/graphql", {"accept": "text/html"})])
def test_html_pages_cannot_be_framed(server, path, headers):
    r = server.http.get(path, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    _assert_base_headers(r)
    assert r.headers["x-frame-options"] == "DENY"
    csp = {d.strip() for d in r.headers["content-security-policy"].split(";")}
    assert set(HTML_CSP) <= csp and "script-src 'self'" in csp  # the tools load nothing from elsewhere


def test_hsts_only_over_https_from_a_trusted_proxy(server, proxied):
    forwarded = {"X-Forwarded-Proto": "https"}
    r = proxied.rest("GET", "/health", headers=forwarded)
    assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in proxied.rest("GET", "/health").headers  # plain http
    # A server that trusts no proxy ignores the header: a client cannot claim https for itself.
    assert "strict-transport-security" not in server.rest("GET", "/health", headers=forwarded).headers


def _no_store(r: httpx.Response) -> bool:
    return r.headers.get("cache-control") == "no-store" and r.headers.get("pragma") == "no-cache"


def test_token_responses_are_not_stored(proxied):
    server = proxied
    acct = register(server, verified=True)
    auth = {"Authorization": f"Bearer {acct.access_token}"}
    answers = {
        "register": server.rest(
            "POST",
            "/api/v1/auth/register",
            json={"email": f"n-{acct.email}", "password": PASSWORD, "tenant_name": "Nostore", "accept_terms": True},
        ),
        "login": server.rest("POST", "/api/v1/auth/token", json={"email": acct.email, "password": PASSWORD}),
        "wrong password": server.rest("POST", "/api/v1/auth/token", json={"email": acct.email, "password": "x" * 16}),
        "refresh": server.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token}),
        "forgot": server.rest("POST", "/api/v1/auth/password/forgot", json={"email": acct.email}),
        "confirm": server.rest(
            "POST", "/api/v1/auth/password/confirm", json={"token": "nope", "new_password": "Another-Passphrase-99"}
        ),
        "me": server.rest("GET", "/api/v1/auth/me", headers=auth),
        "service account": server.rest(
            "POST",
            "/api/v1/auth/service-accounts/issue",
            headers={"Authorization": f"Bearer {BOOTSTRAP_SECRET}"},
            json={"account": "analytics-batch", "scopes": ["conversations:read"], "tenant_id": acct.tenant_id},
        ),
        "browser issue": server.rest(
            "POST",
            "/api/v1/auth/service-accounts/browser-issue",
            headers=auth,
            json={
                "account": "analytics-batch",
                "scopes": ["conversations:read"],
                "tenant_id": acct.tenant_id,
                "reason": "nightly export",
            },
        ),
        "upload url": server.rest(
            "POST",
            "/api/v1/storage/objects/upload-url",
            headers=auth,
            json={"filename": "a.txt", "mime_type": "text/plain", "size_bytes": 1},
        ),
        "graphql": server.http.post("/graphql", json={"query": "{ signupPolicy { policy } }"}),
    }
    assert answers["login"].status_code == 200 and answers["register"].status_code == 201
    assert answers["service account"].status_code == 201, answers["service account"].text
    assert answers["browser issue"].status_code == 201, answers["browser issue"].text
    for name, r in answers.items():
        assert _no_store(r), (name, r.status_code, dict(r.headers))
    # Only those: public, cacheable answers keep their own policy.
    assert "cache-control" not in server.rest("GET", "/api/v1/billing/plans").headers
    assert server.rest("GET", "/.well-known/jwks.json").headers["cache-control"].startswith("public")


# What a credential looks like in a result type: a token, a secret, a signed URL.
CREDENTIAL = re.compile(r"(Token|Secret|^uploadUrl|^downloadUrl)$")


def _holds_credential(t, seen: set[str], depth: int = 0) -> bool:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    if not isinstance(t, GraphQLObjectType) or t.name in seen or depth > 4:
        return False
    seen.add(t.name)
    return any(CREDENTIAL.search(name) or _holds_credential(f.type, seen, depth + 1) for name, f in t.fields.items())


def test_every_route_whose_answer_can_hold_a_credential_is_no_store():
    """A guard for routes added later: a result type with a token, secret or signed URL in it
    must be marked `no_store=True` in the route table."""
    from agentdeck.rest_compat.routes import ROUTES
    from agentdeck.schema import REST, build_schema

    schema = build_schema(face=REST)._schema  # the face the routes run on
    roots = {**schema.query_type.fields, **schema.mutation_type.fields, **schema.subscription_type.fields}
    missing = [
        f"{op.method} {op.path}" for op in ROUTES if _holds_credential(roots[op.field].type, set()) and not op.no_store
    ]
    assert not missing, f"mark no_store=True: {missing}"


def _stream(srv, token: str, origin: str) -> httpx.Response:
    with srv.http.stream(
        "POST",
        "/api/v1/chat/stream",
        json={"message": "hi"},
        headers={"Authorization": f"Bearer {token}", "Origin": origin},
    ) as r:
        r.read()
        return r


def test_one_cors_policy_for_json_and_sse_routes(server):
    acct = register(server, verified=True)
    for origin, allowed in ((ALLOWED, True), (EVIL, False)):
        answers = [
            _stream(server, acct.access_token, origin),
            server.rest("GET", "/api/v1/auth/me", token=acct.access_token, headers={"Origin": origin}),
        ]
        for r in answers:
            assert r.status_code == 200, r.text
            if allowed:
                assert r.headers["access-control-allow-origin"] == ALLOWED
                assert r.headers["access-control-allow-credentials"] == "true"
                assert "Retry-After" in r.headers["access-control-expose-headers"]
            else:
                assert "access-control-allow-origin" not in r.headers
            assert "Origin" in r.headers["vary"]
    assert answers[0].headers["content-type"] == "text/event-stream"


@pytest.mark.parametrize("method", ["PATCH", "PUT", "DELETE"])
def test_preflight_allows_served_methods_for_allowed_origins_only(server, method):
    path = "/api/v1/billing/tenants/00000000-0000-0000-0000-000000000000/subscription"
    ask = {"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization,content-type"}
    r = server.http.options(path, headers={"Origin": ALLOWED, **ask})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ALLOWED
    assert method in r.headers["access-control-allow-methods"]
    r = server.http.options(path, headers={"Origin": EVIL, **ask})
    assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
