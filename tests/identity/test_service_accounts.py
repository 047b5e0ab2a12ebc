"""Service-account tokens: mint (bootstrap secret / browser), list, revoke, and use on the API.

Rate-limit budget: the shared server counts 5 issues per account and 30 overall per minute, so
each test mints few tokens and the burst test uses an account no other test mints.
"""

from __future__ import annotations

import base64
import json
import uuid

from tests.harness import BOOTSTRAP_SECRET, assert_documented
from tests.users import Account, register

ISSUE = "/api/v1/auth/service-accounts/issue"
BROWSER = "/api/v1/auth/service-accounts/browser-issue"
TOKENS = "/api/v1/auth/service-accounts/tokens"
REVOKE = "/api/v1/auth/service-accounts/tokens/{jti}/revoke"
REASON = "rotating the nightly pipeline credentials"


def verified(server) -> Account:
    return register(server, verified=True)


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def issue(server, body: dict):
    r = server.rest("POST", ISSUE, token=BOOTSTRAP_SECRET, json=body)
    assert_documented("POST", ISSUE, r)
    return r


def listing(server, token: str, **params):
    r = server.rest("GET", TOKENS, token=token, params=params)
    assert_documented("GET", TOKENS, r)
    return r


def test_bootstrap_secret_mints_tokens_shaped_like_the_legacy_ones(server):
    owner = register(server)
    r = issue(
        server,
        {
            "account": "analytics-batch",
            "scopes": ["conversations:read"],
            "tenant_id": owner.tenant_id,
            "fingerprint": "etl-01",
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["account"] == "analytics-batch" and body["token_use"] == "refresh"
    assert body["session_id"] is None and body["tenant_id"] == owner.tenant_id
    c = claims(body["refresh_token"])
    assert c["sub"] == "service-account:analytics-batch" and c["account"] == "analytics-batch"
    assert c["token_use"] == "refresh" and c["scope"] == "conversations:read"
    assert c["tenant_id"] == owner.tenant_id and c["fingerprint"] == "etl-01" and "sid" not in c
    assert c["exp"] - c["iat"] == 30 * 86400

    r = issue(server, {"account": "support-console", "scopes": ["activity:read"], "lifetime_minutes": 60})
    assert r.status_code == 201, r.text
    assert r.json()["tenant_id"] is None and "tenant_id" not in claims(r.json()["refresh_token"])
    c = claims(r.json()["refresh_token"])
    assert c["exp"] - c["iat"] == 3600


def test_issue_refusals(server):
    owner = register(server)
    body = {"account": "demo-bot", "scopes": ["chat:write"]}
    for token, status in ((None, 401), ("not-the-secret", 401), (owner.access_token, 403)):
        r = server.rest("POST", ISSUE, token=token, json=body)
        assert r.status_code == status, r.text
        assert_documented("POST", ISSUE, r)
    bad = [
        {"account": "no-such-account", "scopes": ["chat:write"]},
        {"account": "demo-bot", "scopes": ["support:*"]},  # outside the account's set
        {"account": "demo-bot", "scopes": []},
        {"account": "analytics-batch", "scopes": ["conversations:read"]},  # tenant required
        {"account": "analytics-batch", "scopes": ["conversations:read"], "tenant_id": "nope"},
        {"account": "analytics-batch", "scopes": ["conversations:read"], "tenant_id": str(uuid.uuid4())},
        {"account": "demo-bot", "scopes": ["chat:write"], "tenant_id": owner.tenant_id},  # tenant forbidden
    ]
    for b in bad:
        r = issue(server, b)
        assert r.status_code == 400, (b, r.text)
        assert r.json()["error"] == "BadRequest"
    for b, loc in (
        ({"account": "demo-bot"}, ["body", "scopes"]),
        ({"account": "demo-bot", "scopes": ["chat:write"], "vault": 1}, ["body", "vault"]),
        ({"account": "demo-bot", "scopes": "chat:write", "force": "maybe"}, ["body", "force"]),
    ):
        r = issue(server, b)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "ValidationError"
        assert any(d["loc"] == loc for d in r.json()["details"]), r.json()


def test_native_issue(server):
    mutation = (
        "mutation($i: IssueServiceAccountTokenInput!) { issueServiceAccountToken(input: $i) "
        "{ token { account scopes status } refreshToken userErrors { field code } } }"
    )
    out = server.gql(
        mutation, {"i": {"account": "demo-bot", "scopes": ["conversations:read", "chat:write"]}}, token=BOOTSTRAP_SECRET
    )
    assert "errors" not in out, out
    issued = out["data"]["issueServiceAccountToken"]
    assert issued["token"] == {
        "account": "demo-bot",
        "scopes": ["chat:write", "conversations:read"],
        "status": "ACTIVE",
    }
    assert claims(issued["refreshToken"])["account"] == "demo-bot"
    out = server.gql(mutation, {"i": {"account": "nope", "scopes": []}}, token=BOOTSTRAP_SECRET)
    assert out["data"]["issueServiceAccountToken"]["userErrors"] == [{"field": None, "code": "INVALID"}]
    out = server.gql(mutation, {"i": {"account": "demo-bot", "scopes": ["chat:write"]}})
    assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_browser_issue_by_tenant_admins_and_operators(server):
    owner, other = verified(server), register(server)
    body = {"account": "analytics-batch", "scopes": ["conversations:read"], "reason": REASON}
    r = server.rest("POST", BROWSER, token=owner.access_token, json=body)
    assert r.status_code == 201, r.text
    assert_documented("POST", BROWSER, r)
    assert r.json()["tenant_id"] == owner.tenant_id  # the admin's own tenant is implied

    refusals = [
        (None, body, {}, 401),
        (register(server).access_token, body, {}, 403),  # email not verified
        (owner.access_token, body, {"X-Tenant-Role": "member"}, 403),  # a member is not an admin
        (owner.access_token, {**body, "tenant_id": other.tenant_id}, {}, 403),  # another tenant
        (owner.access_token, {"account": "support-console", "scopes": ["support:*"], "reason": REASON}, {}, 403),
        (BOOTSTRAP_SECRET, body, {}, 403),  # automation uses /issue
        (owner.access_token, {**body, "reason": "short"}, {}, 422),
        (owner.access_token, {"account": "analytics-batch", "scopes": ["conversations:read"]}, {}, 422),
    ]
    for token, b, headers, status in refusals:
        r = server.rest("POST", BROWSER, token=token, json=b, headers=headers)
        assert r.status_code == status, (b, headers, r.text)
        assert_documented("POST", BROWSER, r)

    out = server.gql(
        "mutation($i: IssueServiceAccountTokenFromBrowserInput!) { issueServiceAccountTokenFromBrowser(input: $i) "
        "{ token { id } } }",
        {"i": {"account": "analytics-batch", "scopes": ["conversations:read"], "reason": REASON}},
        token=owner.access_token,
        headers={"X-Tenant-Role": "member"},
    )
    assert out["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_listing_is_scoped_to_the_callers_tenant(server):
    a, b = verified(server), verified(server)
    for owner in (a, b):
        r = server.rest(
            "POST",
            BROWSER,
            token=owner.access_token,
            json={
                "account": "synthetic-monitor",
                "scopes": ["tools:read"],
                "reason": REASON,
                "fingerprint": owner.user_id,
            },
        )
        assert r.status_code == 201, r.text
    r = listing(server, a.access_token)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["limit"] == 20 and page["offset"] == 0 and page["total"] == len(page["items"]) >= 1
    assert {i["tenant_id"] for i in page["items"]} == {a.tenant_id}
    assert listing(server, a.access_token, fingerprint=b.user_id).json()["total"] == 0
    assert listing(server, a.access_token, tenant_id=b.tenant_id).status_code == 403
    assert listing(server, a.access_token, include_global="true").status_code == 403
    r = server.rest("GET", TOKENS, token=a.access_token, headers={"X-Tenant-Role": "member"})
    assert r.status_code == 403 and r.json()["error"] == "Forbidden"
    assert server.rest("GET", TOKENS).status_code == 401
    # Operators (here: platform automation) may look at any tenant.
    r = listing(server, BOOTSTRAP_SECRET, tenant_id=b.tenant_id, account="synthetic")
    assert [i["fingerprint"] for i in r.json()["items"]] == [b.user_id]
    for params, loc in (
        ({"limit": 101}, ["query", "limit"]),
        ({"limit": "x"}, ["query", "limit"]),
        ({"status": "gone"}, ["query", "status"]),
        ({"offset": -1}, ["query", "offset"]),
    ):
        r = listing(server, a.access_token, **params)
        assert r.status_code == 422, (params, r.text)
        assert any(d["loc"] == loc for d in r.json()["details"]), r.json()

    out = server.gql(
        "{ serviceAccountTokens(first: 5) { totalCount nodes { jti fingerprint signingKid } } }", token=a.access_token
    )
    native = out["data"]["serviceAccountTokens"]
    assert native["totalCount"] == page["total"] and {i["fingerprint"] for i in native["nodes"]} == {a.user_id}


def test_revoke(server):
    a, b = verified(server), verified(server)
    r = server.rest(
        "POST",
        BROWSER,
        token=a.access_token,
        json={
            "account": "analytics-batch",
            "scopes": ["conversations:read"],
            "reason": REASON,
        },
    )
    token = r.json()["refresh_token"]
    jti = claims(token)["jti"]
    path = REVOKE.format(jti=jti)
    for who, target in ((b.access_token, path), (a.access_token, REVOKE.format(jti="unknown"))):
        r = server.rest("POST", target, token=who, json={})
        assert r.status_code == 404, r.text
        assert_documented("POST", REVOKE, r)
    r = server.rest("POST", path, token=a.access_token, json={"reason": "x" * 257})
    assert r.status_code == 422
    assert_documented("POST", REVOKE, r)
    assert server.rest("POST", path, token=a.access_token).status_code == 422  # the body is required

    r = server.rest("POST", path, token=a.access_token, json={"reason": "leaked in a log"})
    assert r.status_code == 200, r.text
    assert_documented("POST", REVOKE, r)
    assert r.json() == {"success": True, "message": "Service-account token revoked.", "data": {"jti": jti}}
    item = listing(server, a.access_token, status="revoked").json()["items"]
    assert [(i["jti"], i["revoked_reason"]) for i in item if i["jti"] == jti] == [(jti, "leaked in a log")]
    assert all(i["jti"] != jti for i in listing(server, a.access_token).json()["items"])

    listed = server.gql(
        "{ serviceAccountTokens(first: 100, filter: {status: REVOKED}) { nodes { id jti status revokedReason } } }",
        token=a.access_token,
    )["data"]["serviceAccountTokens"]["nodes"]
    mine = [n for n in listed if n["jti"] == jti]
    assert [(n["status"], n["revokedReason"]) for n in mine] == [("REVOKED", "leaked in a log")]
    out = server.gql(
        "mutation($i: RevokeServiceAccountTokenInput!) { revokeServiceAccountToken(input: $i) "
        "{ token { id } userErrors { field code } } }",
        {"i": {"id": mine[0]["id"]}},
        token=b.access_token,
    )
    assert out["data"]["revokeServiceAccountToken"] == {
        "token": None,
        "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}],
    }


def test_service_account_tokens_work_on_the_api_with_exactly_their_scopes(server):
    owner = register(server)
    support = issue(server, {"account": "support-console", "scopes": ["support:*"]}).json()["refresh_token"]
    analytics = issue(
        server, {"account": "analytics-batch", "scopes": ["conversations:read"], "tenant_id": owner.tenant_id}
    ).json()["refresh_token"]
    # support:* is operator scope: it may list every tenant's tokens.
    r = listing(server, support, tenant_id=owner.tenant_id)
    assert r.status_code == 200, r.text
    assert {i["account"] for i in r.json()["items"]} == {"analytics-batch"}
    # conversations:read makes a viewer: listing needs a tenant admin.
    r = listing(server, analytics)
    assert r.status_code == 403, r.text
    # Not a human: the user-only operations refuse it.
    assert server.rest("GET", "/api/v1/auth/me", token=support).status_code == 401
    # Revoked: refused at once (the cache is kept honest by the bus).
    jti = claims(support)["jti"]
    r = server.rest("POST", REVOKE.format(jti=jti), token=BOOTSTRAP_SECRET, json={"reason": "rotation"})
    assert r.status_code == 200, r.text
    r = listing(server, support)
    assert r.status_code == 401 and r.json()["message"] == "Token has been revoked."
    # A user's refresh token is still not an API credential.
    assert server.rest("GET", TOKENS, token=owner.refresh_token).status_code == 401


def test_burst_limit_per_account(server):
    # billing-worker is minted by no other test, so its per-minute window is this test's alone.
    owner = register(server)
    body = {"account": "billing-worker", "scopes": ["billing:read"], "tenant_id": owner.tenant_id, "force": True}
    statuses = []
    for _ in range(12):  # a window boundary may reset the count once; two cannot pass in 12 calls
        r = issue(server, body)
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[-1] == 429 and statuses.count(201) >= 5, statuses
    assert int(r.headers["retry-after"]) >= 1 and r.json()["error"] == "TooManyRequests"
