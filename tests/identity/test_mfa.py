"""Multi-factor authentication through both faces against a real server: enrolling and verifying a
TOTP authenticator, sign-in answering a challenge (REST 202, GraphQL `login.mfaChallenge`) that
only a code completes, recovery codes, deleting, another user's method, hostile input, and wrong
codes throttled. REST answers are checked against the extended legacy contract."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from tests.harness import assert_documented, assert_schema
from tests.users import PASSWORD, Account, register

TOKEN = "/api/v1/auth/token"
MFA = "/api/v1/auth/mfa"
ENROLL = "/api/v1/auth/mfa/totp/enroll"
VERIFY = "/api/v1/auth/mfa/totp/verify"
METHOD = "/api/v1/auth/mfa/{method_id}"
REGENERATE = "/api/v1/auth/mfa/recovery/regenerate"
COMPLETE = "/api/v1/auth/mfa/complete"


def code_at(secret: str, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * steps))


def wrong(secret: str) -> str:
    near = {code_at(secret, s) for s in (-1, 0, 1, 2)}
    return next(c for c in ("123456", "654321", "111111", "222222", "333333") if c not in near)


def rest(server, method: str, template: str, token: str | None = None, path: str | None = None, **kw):
    r = server.rest(method, path or template, token=token, **kw)
    assert_documented(method, template, r, extended=True)
    return r


def sign_in(server, account: Account):
    return rest(server, "POST", TOKEN, json={"email": account.email, "password": account.password})


def enable_totp(server, account: Account) -> tuple[str, str]:
    """Enrol and verify a TOTP method over REST: (method id, secret); the current code is spent."""
    r = rest(server, "POST", ENROLL, account.access_token, params={"label": "phone"})
    assert r.status_code == 201, r.text
    body = r.json()
    ok = rest(
        server,
        "POST",
        VERIFY,
        account.access_token,
        json={"method_id": body["method_id"], "code": code_at(body["secret"])},
    )
    assert ok.status_code == 200, ok.text
    return body["method_id"], body["secret"]


def test_rest_an_mfa_user_cannot_sign_in_without_a_code(server):
    owner = register(server, verified=True)
    assert rest(server, "GET", MFA, owner.access_token).json() == []
    r = rest(server, "POST", ENROLL, owner.access_token, params={"label": "phone"})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    enrolled = r.json()
    secret, method_id = enrolled["secret"], enrolled["method_id"]
    assert (
        enrolled["otpauth_url"].startswith("otpauth://totp/agentdeck:")
        and f"secret={secret}" in enrolled["otpauth_url"]
    )
    pending = rest(server, "GET", MFA, owner.access_token).json()
    assert [(m["id"], m["method_type"], m["label"], m["verified_at"]) for m in pending] == [
        (method_id, "totp", "phone", None)
    ]
    assert sign_in(server, owner).status_code == 200  # pending: the password alone still signs in

    r = rest(server, "POST", VERIFY, owner.access_token, json={"method_id": method_id, "code": wrong(secret)})
    assert r.status_code == 400 and r.json()["message"] == "Invalid MFA code.", r.text
    # Each code is taken once and reused: one computed again could fall in the next 30 s step,
    # a different (unspent) code.
    verified_with, later = code_at(secret), code_at(secret, 1)
    r = rest(server, "POST", VERIFY, owner.access_token, json={"method_id": method_id, "code": verified_with})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "message": "MFA verified.", "data": None}
    assert rest(server, "GET", MFA, owner.access_token).json()[0]["verified_at"] is not None

    r = sign_in(server, owner)
    assert r.status_code == 202, r.text
    assert r.headers["cache-control"] == "no-store"
    challenge = r.json()
    assert challenge["mfa_required"] is True and "access_token" not in challenge
    assert [m["id"] for m in challenge["methods"]] == [method_id]
    assert_schema("MfaChallengeResponse", challenge, extended=True)
    # The challenge is no access token.
    assert server.rest("GET", "/api/v1/auth/me", token=challenge["challenge_token"]).status_code == 401

    body = {"challenge_token": challenge["challenge_token"], "method_id": method_id}
    r = rest(server, "POST", COMPLETE, json={**body, "code": wrong(secret)})
    assert r.status_code == 401, r.text
    r = rest(server, "POST", COMPLETE, json={**body, "code": verified_with})  # spent by the verification
    assert r.status_code == 401, r.text
    r = rest(server, "POST", COMPLETE, json={**body, "code": later})
    assert r.status_code == 200, r.text
    session = r.json()
    assert session["user_id"] == owner.user_id and session["tenant_id"] == owner.tenant_id
    assert server.rest("GET", "/api/v1/auth/me", token=session["access_token"]).status_code == 200
    # Neither the code nor the challenge opens a second session.
    again = sign_in(server, owner).json()
    r = rest(server, "POST", COMPLETE, json={**body, "challenge_token": again["challenge_token"], "code": later})
    assert r.status_code == 401, r.text


def test_rest_recovery_codes_work_once_and_regenerating_replaces_them(server):
    owner = register(server, verified=True)
    method_id, _ = enable_totp(server, owner)
    r = rest(server, "POST", REGENERATE, owner.access_token)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
    codes = r.json()["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10

    def complete(code: str):
        challenge = sign_in(server, owner).json()
        return rest(
            server,
            "POST",
            COMPLETE,
            json={"challenge_token": challenge["challenge_token"], "method_id": method_id, "code": code},
        )

    assert complete(codes[0]).status_code == 200
    assert complete(codes[0]).status_code == 401  # used
    fresh = rest(server, "POST", REGENERATE, owner.access_token).json()["codes"]
    assert complete(codes[1]).status_code == 401  # replaced
    assert complete(fresh[1]).status_code == 200


def test_rest_methods_are_the_callers_own_and_deleting_turns_mfa_off(server):
    owner = register(server, verified=True)
    method_id, secret = enable_totp(server, owner)
    other = register(server, verified=True, tenant_name="Other Co")
    path = METHOD.format(method_id=method_id)
    r = rest(server, "DELETE", METHOD, other.access_token, path=path)
    assert r.status_code == 404, r.text
    r = rest(server, "POST", VERIFY, other.access_token, json={"method_id": method_id, "code": code_at(secret, 1)})
    assert r.status_code == 404, r.text
    assert rest(server, "GET", MFA, other.access_token).json() == []
    assert sign_in(server, owner).status_code == 202  # untouched

    r = rest(server, "DELETE", METHOD, owner.access_token, path=path)
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "message": "MFA method revoked.", "data": None}
    assert rest(server, "GET", MFA, owner.access_token).json()[0]["revoked_at"] is not None
    assert sign_in(server, owner).status_code == 200
    r = rest(server, "DELETE", METHOD, owner.access_token, path=METHOD.format(method_id=uuid.uuid4()))
    assert r.status_code == 404


def test_rest_mfa_refuses_anonymous_callers_and_hostile_input(server):
    owner = register(server, verified=True)
    assert rest(server, "GET", MFA).status_code == 401
    assert rest(server, "POST", ENROLL).status_code == 401
    assert rest(server, "POST", REGENERATE).status_code == 401
    method_id, _ = enable_totp(server, owner)
    cases = [
        ("DELETE", METHOD, METHOD.format(method_id="not-a-uuid"), {}),
        ("POST", ENROLL, ENROLL, {"params": {"label": "x" * 65}}),
        ("POST", ENROLL, ENROLL, {"params": {"label": "a\x00b"}}),
        ("POST", VERIFY, VERIFY, {"json": {"method_id": method_id, "code": "12"}}),
        ("POST", VERIFY, VERIFY, {"json": {"method_id": method_id, "code": "9" * 5000}}),
        ("POST", VERIFY, VERIFY, {"json": {"method_id": 10**40, "code": "123456"}}),
        ("POST", VERIFY, VERIFY, {"json": {"method_id": method_id, "code": "12\x003456"}}),
        ("POST", COMPLETE, COMPLETE, {"json": {"challenge_token": "short", "method_id": method_id, "code": "123456"}}),
        ("POST", COMPLETE, COMPLETE, {"json": {"method_id": method_id, "code": "123456"}}),
    ]
    for method, template, path, kw in cases:
        r = rest(server, method, template, owner.access_token, path=path, **kw)
        assert r.status_code == 422, (path, kw, r.text)
    # A well-formed token that is no challenge, or garbage of the right length: 401, never 5xx.
    for token in (owner.access_token, "x" * 40, "a.b.c" * 3):
        r = rest(server, "POST", COMPLETE, json={"challenge_token": token, "method_id": method_id, "code": "123456"})
        assert r.status_code == 401, r.text
    assert len(rest(server, "GET", MFA, owner.access_token).json()) == 1  # nothing changed


def test_rest_wrong_codes_are_throttled_like_wrong_passwords(server):
    owner = register(server, verified=True)
    method_id, secret = enable_totp(server, owner)
    challenge = sign_in(server, owner).json()
    body = {"challenge_token": challenge["challenge_token"], "method_id": method_id}
    for _ in range(3):  # the free failures (AGENTDECK_LOGIN_BACKOFF_FREE_FAILURES)
        assert rest(server, "POST", COMPLETE, json={**body, "code": wrong(secret)}).status_code == 401
    r = rest(server, "POST", COMPLETE, json={**body, "code": code_at(secret, 1)})
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) >= 1 and r.headers["x-ratelimit-remaining"] == "0"


# -- GraphQL ------------------------------------------------------------------------------------

METHOD_FIELDS = "id databaseId type label active verifiedAt revokedAt"
LOGIN = (
    "mutation($i: LoginInput!) { login(input: $i) { tokens { accessToken } "
    "mfaChallenge { challengeToken expiresAt methods { nodes { id } } } userErrors { field code } } }"
)
COMPLETE_MUTATION = (
    "mutation($i: CompleteMfaSignInInput!) { completeMfaSignIn(input: $i) { "
    "tokens { accessToken } session { databaseId } user { databaseId } userErrors { field code } } }"
)


def gql_login(server, account: Account) -> dict:
    out = server.gql(LOGIN, {"i": {"email": account.email, "password": PASSWORD}})
    assert "errors" not in out, out
    return out["data"]["login"]


def test_graphql_an_mfa_user_cannot_sign_in_without_a_code(server):
    owner = register(server, verified=True)
    token = owner.access_token
    out = server.gql(
        f'mutation {{ enrollTotp(input: {{label: "laptop"}}) {{ method {{ {METHOD_FIELDS} }} secret otpauthUri '
        "userErrors { field } } }",
        token=token,
    )
    enrolled = out["data"]["enrollTotp"]
    method, secret = enrolled["method"], enrolled["secret"]
    assert method["type"] == "TOTP" and method["active"] is False and enrolled["otpauthUri"].startswith("otpauth://")
    assert gql_login(server, owner)["tokens"] is not None  # pending

    verify = "mutation($i: VerifyTotpInput!) { verifyTotp(input: $i) { method { active } userErrors { field code } } }"
    out = server.gql(verify, {"i": {"methodId": method["id"], "code": wrong(secret)}}, token=token)
    assert out["data"]["verifyTotp"] == {
        "method": None,
        "userErrors": [{"field": ["input", "code"], "code": "INVALID"}],
    }
    for bad in ("9" * 5000, "12"):  # bounded like the REST body: a user error, nothing checked
        out = server.gql(verify, {"i": {"methodId": method["id"], "code": bad}}, token=token)
        assert out["data"]["verifyTotp"]["userErrors"] == [{"field": ["input", "code"], "code": "INVALID"}]
    out = server.gql(verify, {"i": {"methodId": method["id"], "code": code_at(secret)}}, token=token)
    assert out["data"]["verifyTotp"] == {"method": {"active": True}, "userErrors": []}
    me = server.gql("{ me { mfaMethods { totalCount nodes { id active } } recoveryCodesLeft } }", token=token)
    assert me["data"]["me"] == {
        "mfaMethods": {"totalCount": 1, "nodes": [{"id": method["id"], "active": True}]},
        "recoveryCodesLeft": 0,
    }
    node = server.gql(
        "query($id: ID!) { node(id: $id) { ... on MfaMethod { label } } }", {"id": method["id"]}, token=token
    )
    assert node["data"]["node"] == {"label": "laptop"}

    login = gql_login(server, owner)
    assert login["tokens"] is None and login["userErrors"] == []
    challenge = login["mfaChallenge"]
    assert [m["id"] for m in challenge["methods"]["nodes"]] == [method["id"]]

    out = server.gql(COMPLETE_MUTATION, {"i": {"challengeToken": challenge["challengeToken"], "code": wrong(secret)}})
    assert out["data"] is None or out["data"]["completeMfaSignIn"] is None
    assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    out = server.gql(
        COMPLETE_MUTATION,
        {"i": {"challengeToken": challenge["challengeToken"], "code": code_at(secret, 1), "methodId": method["id"]}},
    )
    done = out["data"]["completeMfaSignIn"]
    assert done["userErrors"] == [] and done["user"]["databaseId"] == owner.user_id
    fresh = done["tokens"]["accessToken"]
    assert server.gql("{ me { databaseId } }", token=fresh)["data"]["me"]["databaseId"] == owner.user_id

    codes = server.gql("mutation { regenerateRecoveryCodes { recoveryCodes userErrors { field } } }", token=fresh)[
        "data"
    ]["regenerateRecoveryCodes"]["recoveryCodes"]
    assert len(codes) == 10
    challenge = gql_login(server, owner)["mfaChallenge"]
    out = server.gql(COMPLETE_MUTATION, {"i": {"challengeToken": challenge["challengeToken"], "code": codes[0]}})
    assert out["data"]["completeMfaSignIn"]["tokens"] is not None
    assert server.gql("{ me { recoveryCodesLeft } }", token=fresh)["data"]["me"]["recoveryCodesLeft"] == 9


def test_graphql_another_users_method_is_not_found(server):
    owner = register(server, verified=True)
    method_id, _ = enable_totp(server, owner)
    listed = server.gql("{ me { mfaMethods { nodes { id databaseId } } } }", token=owner.access_token)
    global_id = listed["data"]["me"]["mfaMethods"]["nodes"][0]["id"]
    other = register(server, verified=True, tenant_name="Other Co")
    delete = "mutation($i: DeleteMfaMethodInput!) { deleteMfaMethod(input: $i) { method { revokedAt } userErrors { field code } } }"
    out = server.gql(delete, {"i": {"methodId": global_id}}, token=other.access_token)
    assert out["data"]["deleteMfaMethod"] == {
        "method": None,
        "userErrors": [{"field": ["input", "methodId"], "code": "NOT_FOUND"}],
    }
    node = server.gql("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}, token=other.access_token)
    assert node["data"]["node"] is None
    assert server.gql("{ me { mfaMethods { totalCount } } }", token=other.access_token)["data"]["me"]["mfaMethods"] == {
        "totalCount": 0
    }
    assert gql_login(server, owner)["mfaChallenge"] is not None  # untouched

    out = server.gql(delete, {"i": {"methodId": global_id}}, token=owner.access_token)
    assert out["data"]["deleteMfaMethod"]["method"]["revokedAt"] is not None
    assert gql_login(server, owner)["tokens"] is not None
    out = server.gql(delete, {"i": {"methodId": "bm90IGFuIGlk"}}, token=owner.access_token)
    assert out["data"]["deleteMfaMethod"]["userErrors"][0]["code"] == "NOT_FOUND"
    anonymous = server.gql("mutation { enrollTotp { secret } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_typed_client_signs_an_mfa_user_in_with_a_code(server):
    import asyncio

    from tests.graphql_client import (
        CompleteMfaSignInInput,
        EnrollTotpInput,
        GraphQLClientGraphQLMultiError,
        LoginInput,
        VerifyTotpInput,
    )

    owner = await asyncio.to_thread(register, server, verified=True)  # it runs a loop of its own
    async with server.client(owner.access_token) as client:
        enrolled = (await client.enroll_totp(EnrollTotpInput(label="typed"))).enroll_totp
        assert enrolled.method is not None and enrolled.secret is not None
        verified = await client.verify_totp(
            VerifyTotpInput(method_id=enrolled.method.id, code=code_at(enrolled.secret))
        )
        assert verified.verify_totp.method is not None and verified.verify_totp.method.active
    async with server.client() as anonymous:
        login = (await anonymous.mfa_login(LoginInput(email=owner.email, password=owner.password))).login
        assert login.tokens is None and login.mfa_challenge is not None
        challenge = login.mfa_challenge.challenge_token
        with pytest.raises(GraphQLClientGraphQLMultiError) as refused:
            await anonymous.complete_mfa_sign_in(
                CompleteMfaSignInInput(challenge_token=challenge, code=wrong(enrolled.secret))
            )
        assert refused.value.errors[0].extensions["code"] == "UNAUTHENTICATED"
        done = await anonymous.complete_mfa_sign_in(
            CompleteMfaSignInInput(challenge_token=challenge, code=code_at(enrolled.secret, 1))
        )
        assert done.complete_mfa_sign_in.tokens is not None


def test_the_migration_matches_the_models(backend, tmp_path):
    import asyncio

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from agentdeck.db.base import Base
    from agentdeck.db.session import Database
    from tests.harness import fresh_database

    async def diff(url: str) -> list:
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                return await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        finally:
            await db.dispose()

    with fresh_database(backend, tmp_path) as url:
        found = asyncio.run(diff(url))
    assert [d for d in found if "mfa_" in repr(d)] == []
