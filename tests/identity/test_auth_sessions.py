"""Registration, sign-in, refresh rotation, sign-out and the current user — REST and GraphQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid

import pytest

from tests.harness import assert_documented, start_server
from tests.users import PASSWORD, register

PAYLOAD_FIELDS = (
    "tokens { accessToken refreshToken tokenType expiresAt refreshExpiresAt scopes } "
    "session { id databaseId } user { databaseId email role } userErrors { field message code }"
)


def test_signup_policy(server):
    r = server.rest("GET", "/api/v1/auth/signup-policy")
    assert r.status_code == 200
    assert_documented("GET", "/api/v1/auth/signup-policy", r)
    assert r.json() == {"policy": "public", "invite_required": False, "request_access_enabled": False}
    assert server.gql("{ signupPolicy { policy inviteRequired } }")["data"]["signupPolicy"]["policy"] == "PUBLIC"


def test_register_creates_a_tenant_and_signs_the_owner_in(server):
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    r = server.rest(
        "POST",
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "tenant_name": "Owner Co",
            "display_name": "Olive",
            "accept_terms": True,
        },
    )
    assert r.status_code == 201, r.text
    assert_documented("POST", "/api/v1/auth/register", r)
    body = r.json()
    assert body["token_type"] == "bearer" and body["tenant_slug"].startswith("owner-co-")
    assert "billing:manage" in body["scopes"] and body["email_verified"] is False
    me = server.rest("GET", "/api/v1/auth/me", token=body["access_token"])
    assert me.status_code == 200, me.text
    assert_documented("GET", "/api/v1/auth/me", me)
    payload = me.json()["data"]["token_payload"]
    assert me.json()["data"]["user_id"] == body["user_id"]
    assert payload["sub"] == f"user:{body['user_id']}" and payload["roles"] == ["owner"]
    assert payload["tenant_id"] == body["tenant_id"] and payload["sid"] == body["session_id"]
    assert payload["token_use"] == "access"
    # Byte for byte the legacy envelope: the claims exactly as the token carries them, in its order.
    claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    legacy = {
        "success": True,
        "message": "User information retrieved successfully",
        "data": {"user_id": body["user_id"], "token_payload": claims},
    }
    assert me.content == json.dumps(legacy, separators=(",", ":")).encode()
    assert me.headers["content-type"] == "application/json"


def test_me_is_the_user_over_graphql_and_the_legacy_envelope_over_rest(server):
    acct = register(server, tenant_name="Profile Co")
    fields = (
        "{ id databaseId email displayName tenant { databaseId name slug } role scopes emailVerified platformRole }"
    )
    me = server.gql("{ me %s }" % fields, token=acct.access_token)
    assert "errors" not in me, me
    user = me["data"]["me"]
    assert user["databaseId"] == acct.user_id and user["email"] == acct.email and user["displayName"] is None
    assert user["tenant"]["databaseId"] == acct.tenant_id and user["tenant"]["name"] == "Profile Co"
    assert user["tenant"]["slug"].startswith("profile-co-")
    assert user["role"] == "OWNER" and "conversations:write" in user["scopes"]
    assert user["emailVerified"] is False and user["platformRole"] is None
    node = server.gql('{ node(id: "%s") { ... on User { email } } }' % user["id"], token=acct.access_token)
    assert node["data"]["node"] == {"email": acct.email}
    # The legacy envelope is REST only: its field is not in the graph.
    legacy = server.gql("{ meLegacy { message } }", token=acct.access_token)
    assert "Cannot query field 'meLegacy'" in legacy["errors"][0]["message"]
    rest = server.rest("GET", "/api/v1/auth/me", token=acct.access_token).json()
    assert rest["data"]["user_id"] == acct.user_id
    assert set(rest) == {"success", "message", "data"} and set(rest["data"]) == {"user_id", "token_payload"}
    # Anonymous callers and service principals are not users.
    for token in (None, "garbage"):
        out = server.gql("{ me { email } }", token=token)
        assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_register_over_graphql(server):
    out = server.gql(
        "mutation($i: RegisterInput!) { register(input: $i) { tokens { accessToken } user { id } "
        "tenant { slug } userErrors { field } } }",
        {
            "i": {
                "email": f"g-{uuid.uuid4().hex[:8]}@example.com",
                "password": PASSWORD,
                "tenantName": "Graph Co",
                "acceptTerms": True,
            }
        },
    )
    assert "errors" not in out and out["data"]["register"]["userErrors"] == [], out
    token = out["data"]["register"]["tokens"]["accessToken"]
    me = server.gql("{ me { id emailVerified tenant { slug } } }", token=token)
    assert me["data"]["me"]["id"] == out["data"]["register"]["user"]["id"]
    assert me["data"]["me"]["tenant"]["slug"] == out["data"]["register"]["tenant"]["slug"]


def test_register_rejects_bad_input_and_changes_nothing(server):
    email = f"bad-{uuid.uuid4().hex[:8]}@example.com"
    cases = [
        (
            {"email": "not-an-email", "password": PASSWORD, "tenant_name": "X Co", "accept_terms": True},
            ["body", "email"],
        ),
        ({"email": email, "password": "short", "tenant_name": "X Co", "accept_terms": True}, ["body", "password"]),
        (
            {"email": email, "password": PASSWORD, "tenant_name": "X Co", "accept_terms": False},
            ["body", "accept_terms"],
        ),
        ({"email": email, "password": PASSWORD, "accept_terms": True}, ["body", "tenant_name"]),
    ]
    for body, loc in cases:
        r = server.rest("POST", "/api/v1/auth/register", json=body)
        assert r.status_code == 422, (body, r.text)
        assert_documented("POST", "/api/v1/auth/register", r)
        assert any(d["loc"] == loc for d in r.json()["details"]), r.json()
    # Nothing was created: the email is still free.
    assert server.rest("POST", "/api/v1/auth/token", json={"email": email, "password": PASSWORD}).status_code == 401


def test_register_twice_is_a_conflict(server):
    acct = register(server)
    r = server.rest(
        "POST",
        "/api/v1/auth/register",
        json={
            "email": acct.email.upper(),
            "password": PASSWORD,
            "tenant_name": "Again",
            "accept_terms": True,
        },
    )
    assert r.status_code == 409 and r.json()["error"] == "Conflict"


def test_login(server):
    acct = register(server)
    r = server.rest("POST", "/api/v1/auth/token", json={"email": acct.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert_documented("POST", "/api/v1/auth/token", r)
    assert r.json()["session_id"] != acct.session_id  # every sign-in is its own session
    out = server.gql(
        f"mutation($i: LoginInput!) {{ login(input: $i) {{ {PAYLOAD_FIELDS} }} }}",
        {"i": {"email": acct.email, "password": PASSWORD}},
    )
    signed_in = out["data"]["login"]
    assert signed_in["user"] == {"databaseId": acct.user_id, "email": acct.email, "role": "OWNER"}
    assert signed_in["tokens"]["tokenType"] == "BEARER" and signed_in["userErrors"] == []
    token = signed_in["tokens"]["accessToken"]
    assert server.rest("GET", "/api/v1/auth/me", token=token).json()["data"]["user_id"] == acct.user_id
    # Wrong credentials are not a user error: the same top-level UNAUTHENTICATED as REST's 401.
    out = server.gql(
        f"mutation($i: LoginInput!) {{ login(input: $i) {{ {PAYLOAD_FIELDS} }} }}",
        {"i": {"email": acct.email, "password": "Wrong-Password-123"}},
    )
    assert out["data"] is None and out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert out["errors"][0]["message"] == "Incorrect email or password."


def test_wrong_password_and_unknown_email_are_401(server):
    acct = register(server)
    for body in (
        {"email": acct.email, "password": "Wrong-Password-123"},
        {"email": "nobody-" + acct.email, "password": PASSWORD},
    ):
        r = server.rest("POST", "/api/v1/auth/token", json=body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert_documented("POST", "/api/v1/auth/token", r)
        assert r.json()["message"] == "Incorrect email or password."


def test_refresh_rotates_and_reuse_revokes_the_family(server):
    acct = register(server)
    r = server.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token})
    assert r.status_code == 200, r.text
    assert_documented("POST", "/api/v1/auth/refresh", r)
    fresh = r.json()
    assert fresh["session_id"] == acct.session_id and fresh["refresh_token"] != acct.refresh_token
    assert server.rest("GET", "/api/v1/auth/me", token=fresh["access_token"]).status_code == 200
    # The used refresh token comes back: the whole session ends, including the new tokens.
    r = server.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token})
    assert r.status_code == 401
    assert server.rest("GET", "/api/v1/auth/me", token=fresh["access_token"]).status_code == 401
    assert (
        server.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 401
    )


def test_an_access_token_is_not_a_refresh_token(server):
    acct = register(server)
    r = server.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": acct.access_token})
    assert r.status_code == 401
    assert server.rest("GET", "/api/v1/auth/me", token=acct.refresh_token).status_code == 401


def test_logout_revokes_the_session_at_once(server):
    acct = register(server)
    assert server.rest("GET", "/api/v1/auth/me", token=acct.access_token).status_code == 200
    r = server.rest("POST", "/api/v1/auth/logout", token=acct.access_token, json={"refresh_token": acct.refresh_token})
    assert r.status_code == 200, r.text
    assert_documented("POST", "/api/v1/auth/logout", r)
    assert r.json() == {"success": True, "message": "Session revoked successfully.", "data": {"revoked": True}}
    assert server.rest("GET", "/api/v1/auth/me", token=acct.access_token).status_code == 401
    r = server.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token})
    assert r.status_code == 401


def test_logout_all(server):
    acct = register(server)
    second = server.rest("POST", "/api/v1/auth/token", json={"email": acct.email, "password": PASSWORD}).json()
    r = server.rest("POST", "/api/v1/auth/logout/all", token=acct.access_token)
    assert r.status_code == 200, r.text
    assert_documented("POST", "/api/v1/auth/logout/all", r)
    assert r.json()["data"] == {"revoked": 2}
    for token in (acct.access_token, second["access_token"]):
        assert server.rest("GET", "/api/v1/auth/me", token=token).status_code == 401


def test_me_needs_a_valid_token(server):
    r = server.rest("GET", "/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["message"] == "Not authenticated"
    assert_documented("GET", "/api/v1/auth/me", r)
    assert server.rest("GET", "/api/v1/auth/me", headers={"authorization": "Basic abc"}).status_code == 401
    assert server.rest("GET", "/api/v1/auth/me", token="garbage").status_code == 401


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict, claims: dict, sign) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


@pytest.fixture
def genuine(server):
    acct = register(server)
    claims = server.rest("GET", "/api/v1/auth/me", token=acct.access_token).json()["data"]["token_payload"]
    jwks = server.rest("GET", "/.well-known/jwks.json").json()
    return acct, claims, jwks["keys"][0]


def test_forged_tokens_are_refused(server, genuine):
    acct, claims, jwk = genuine
    header, payload, _sig = acct.access_token.split(".")
    public = base64.urlsafe_b64decode(jwk["x"] + "==")
    forgeries = {
        "alg none": _forge({"alg": "none", "typ": "JWT", "kid": jwk["kid"]}, claims, lambda _m: b""),
        "HS256 with the public key": _forge(
            {"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]},
            claims,
            lambda m: hmac.new(public, m, hashlib.sha256).digest(),
        ),
        "unknown kid": _forge(
            {"alg": "EdDSA", "typ": "JWT", "kid": "ed25519-000000000000"}, claims, lambda _m: b"\x00" * 64
        ),
        "tampered claims": f"{header}.{_b64(json.dumps({**claims, 'roles': ['owner'], 'scope': 'support:*'}).encode())}.{_sig}",
    }
    for name, token in forgeries.items():
        r = server.rest("GET", "/api/v1/auth/me", token=token)
        assert r.status_code == 401, name
        assert r.json()["message"] == "Could not validate credentials", name


def _expired_twin(server, claims: dict) -> tuple[str, str]:
    """An access token and a refresh token for the same session as `claims`, signed with the
    server's own key, that expired an hour ago."""
    from datetime import timedelta
    from pathlib import Path

    from agentdeck.auth.keys import KeyStore
    from agentdeck.auth.tokens import TokenService

    old = TokenService(
        KeyStore.load_or_create(Path(server.env["AGENTDECK_VAR_DIR"])),
        access_ttl=timedelta(hours=-1),
        refresh_ttl=timedelta(hours=-1),
    )
    user_id, session_id = uuid.UUID(claims["sub"].removeprefix("user:")), uuid.UUID(claims["sid"])
    access = old.issue_access(
        user_id=user_id,
        tenant_id=uuid.UUID(claims["tenant_id"]),
        roles=claims["roles"],
        scopes=claims["scope"].split(),
        session_id=session_id,
        email_verified=False,
    )
    refresh = old.issue_refresh(
        subject=claims["sub"],
        tenant_id=None,
        scopes=[],
        session_id=session_id,
        email_verified=False,
        account=claims["sub"],
    )
    return access.token, refresh.token


def test_expired_tokens_are_told_apart_from_invalid_ones(server, genuine):
    acct, claims, _jwk = genuine
    expired, expired_refresh = _expired_twin(server, claims)
    for token, message in ((expired, "Token has expired."), ("not.a.token", "Could not validate credentials")):
        r = server.rest("GET", "/api/v1/auth/me", token=token)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", r.text
        assert_documented("GET", "/api/v1/auth/me", r)
        assert r.json() == {"success": False, "error": "Unauthorized", "message": message, "details": None}
        out = server.gql("{ me { email } }", token=token)
        assert out["errors"][0]["message"] == message
        assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    r = server.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": expired_refresh})
    assert r.status_code == 401 and r.json()["message"] == "Token has expired."


def test_jwks_has_an_etag(server):
    r = server.rest("GET", "/.well-known/jwks.json")
    assert r.status_code == 200
    key = r.json()["keys"][0]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
    again = server.rest("GET", "/.well-known/jwks.json", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304


def test_a_password_hashed_at_another_cost_is_rehashed_at_sign_in(tmp_path):
    """An operator raising (or lowering) AGENTDECK_PASSWORD_HASH_*: existing users still sign
    in, and their stored hash moves to the new cost then."""
    import sqlite3

    def stored_hash(email: str) -> str:
        with sqlite3.connect(tmp_path / "agentdeck.db") as db:
            return db.execute("SELECT password_hash FROM users WHERE email = ?", (email,)).fetchone()[0]

    old = start_server(tmp_path)  # the suite's cost: t=2, 19 MiB, p=1
    try:
        acct = register(old, verified=True)
    finally:
        old.stop()
    assert "m=19456,t=2,p=1" in stored_hash(acct.email)
    new = start_server(
        tmp_path,
        env={
            "AGENTDECK_PASSWORD_HASH_TIME_COST": "3",
            "AGENTDECK_PASSWORD_HASH_MEMORY_KIB": "32768",
            "AGENTDECK_PASSWORD_HASH_PARALLELISM": "2",
        },
    )
    try:
        r = new.rest("POST", "/api/v1/auth/token", json={"email": acct.email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert "m=32768,t=3,p=2" in stored_hash(acct.email)
        r = new.rest("POST", "/api/v1/auth/token", json={"email": acct.email, "password": PASSWORD})
        assert r.status_code == 200, r.text  # and the new hash verifies
    finally:
        new.stop()
