"""Signup policies, access requests and invites — REST (checked against the contract) and GraphQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import ROOT, assert_documented, fresh_database, start_server
from tests.users import PASSWORD, register

REQUEST_ACCESS = "/api/v1/auth/request-access"
REQUESTS = "/api/v1/auth/signup-requests"
APPROVE = "/api/v1/auth/signup-requests/{request_id}/approve"
REJECT = "/api/v1/auth/signup-requests/{request_id}/reject"
INVITES = "/api/v1/auth/invites"
REVOKE = "/api/v1/auth/invites/{invite_id}/revoke"
REGISTER = "/api/v1/auth/register"
_operators: dict[str, str] = {}


def _email(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def call(server, method: str, template: str, token: str | None = None, **kw):
    """One REST call, validated against the documented response for `template`."""
    path = template.format(**kw.pop("ids", {}))
    r = server.rest(method, path, token=token, **kw)
    assert_documented(method, template, r)
    return r


def operator(server) -> str:
    """An operator's access token: created with the CLI on the server's database, signed in over REST."""
    if server.base_url not in _operators:
        email = _email("op")
        done = subprocess.run(
            [sys.executable, "-m", "agentdeck.cli", "create-operator", email, "--password", PASSWORD],
            env=server.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        r = server.rest("POST", "/api/v1/auth/token", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        assert {"auth:invites", "auth:signup_requests"} <= set(r.json()["scopes"])
        _operators[server.base_url] = r.json()["access_token"]
    return _operators[server.base_url]


def run_sql(server, statement: str) -> None:
    url = server.env["AGENTDECK_DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as db:
            db.execute(statement)
    else:
        dsn = url.replace("postgresql+asyncpg", "postgresql")
        subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qc", statement], check=True, timeout=30)


def issue(server, **body) -> dict:
    r = call(server, "POST", INVITES, operator(server), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def sign_up(server, email: str, token: str | None):
    body = {"email": email, "password": PASSWORD, "tenant_name": "Invited Co", "accept_terms": True}
    if token is not None:
        body["invite_token"] = token
    return call(server, "POST", REGISTER, json=body)


def ask(server, email: str, **extra):
    body = {"email": email, "organization": "Ask Co", "full_name": "Ann Asker", "accept_terms": True, **extra}
    return call(server, "POST", REQUEST_ACCESS, json=body)


def pending_request(server, email: str) -> dict:
    assert ask(server, email).status_code == 202
    listed = call(server, "GET", REQUESTS, operator(server), params={"status": "pending", "limit": 200})
    return next(x for x in listed.json()["requests"] if x["email"] == email)


@pytest.fixture(scope="module")
def invite_server(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"invite-only-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, env={"AGENTDECK_SIGNUP_POLICY": "invite_only"}, backend=backend, database_url=url)
        yield srv
        srv.stop()


@pytest.fixture(scope="module")
def approval_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("approval")
    srv = start_server(tmp, env={"AGENTDECK_SIGNUP_POLICY": "approval"})
    yield srv
    srv.stop()


# --- public policy: the shared server -------------------------------------------------------


def test_request_access_is_refused_while_signup_is_public(server):
    r = ask(server, _email())
    assert r.status_code == 403 and r.json()["error"] == "Forbidden"


def test_operator_operations_need_a_token_and_the_operator_scopes(server):
    owner = register(server).access_token
    some = str(uuid.uuid4())
    cases = [
        ("GET", REQUESTS, {}, None),
        ("POST", APPROVE, {"request_id": some}, {}),
        ("POST", REJECT, {"request_id": some}, {}),
        ("GET", INVITES, {}, None),
        ("POST", INVITES, {}, {}),
        ("POST", REVOKE, {"invite_id": some}, None),
    ]
    for method, template, params, body in cases:
        assert call(server, method, template, ids=params, json=body).status_code == 401
        r = call(server, method, template, owner, ids=params, json=body)
        assert r.status_code == 403 and r.json()["message"] == "Insufficient scopes for this operation.", template
    out = server.gql("{ signupInvites { totalCount } }", token=owner)
    assert out["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_issue_list_and_revoke_invites(server):
    email = _email("inv")
    made = issue(server, invited_email=email.upper(), max_redemptions=3, note="for a friend")
    assert made["status"] == "active" and made["invited_email"] == email and made["redeemed_count"] == 0
    assert made["max_redemptions"] == 3 and made["invite_token"].endswith(made["token_hint"])
    assert len(made["invite_token"]) >= 40 and set(made["invite_token"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    op = operator(server)
    listed = call(server, "GET", INVITES, op, params={"email": email, "status": "active"}).json()
    assert listed["total"] == 1 and listed["invites"][0]["id"] == made["id"]
    assert "invite_token" not in listed["invites"][0]  # the token is shown once, at issue
    revoked = call(server, "POST", REVOKE, op, ids={"invite_id": made["id"]})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert call(server, "GET", INVITES, op, params={"email": email, "status": "active"}).json()["total"] == 0
    assert call(server, "GET", INVITES, op, params={"email": email, "status": "revoked"}).json()["total"] == 1
    assert call(server, "POST", REVOKE, op, ids={"invite_id": str(uuid.uuid4())}).status_code == 404


def test_invite_defaults_and_paging(server):
    made = issue(server)
    assert made["max_redemptions"] == 1 and made["invited_email"] is None and made["expires_at"]
    issue(server)
    page = call(server, "GET", INVITES, operator(server), params={"limit": 1, "offset": 1}).json()
    assert len(page["invites"]) == 1 and page["total"] >= 2


def test_bad_invite_bodies_and_queries_are_422(server):
    op = operator(server)
    for body, loc in [
        ({"max_redemptions": 11}, ["body", "max_redemptions"]),
        ({"max_redemptions": 0}, ["body", "max_redemptions"]),
        ({"expires_in_hours": 337}, ["body", "expires_in_hours"]),
        ({"invited_email": "nope"}, ["body", "invited_email"]),
        ({"note": "x" * 513}, ["body", "note"]),
        ({"unknown": 1}, ["body", "unknown"]),
        ({"signup_request_id": "not-a-uuid"}, ["body", "signup_request_id"]),
    ]:
        r = call(server, "POST", INVITES, op, json=body)
        assert r.status_code == 422 and r.json()["error"] == "ValidationError", (body, r.text)
        assert any(d["loc"] == loc for d in r.json()["details"]), (body, r.json())
    for params in ({"limit": 201}, {"limit": 0}, {"status": "bogus"}, {"offset": -1}):
        assert call(server, "GET", INVITES, op, params=params).status_code == 422, params
        assert call(server, "GET", REQUESTS, op, params=params).status_code == 422, params
    r = call(server, "POST", INVITES, op, json={"signup_request_id": str(uuid.uuid4())})
    assert r.status_code == 404


def test_unknown_signup_requests_are_404(server):
    op = operator(server)
    some = {"request_id": str(uuid.uuid4())}
    assert call(server, "POST", APPROVE, op, ids=some, json={}).status_code == 404
    assert call(server, "POST", REJECT, op, ids=some, json={"reason": "no"}).status_code == 404


def test_invites_over_graphql(server):
    op = operator(server)
    out = server.gql(
        "mutation($i: IssueSignupInviteInput!) { issueSignupInvite(input: $i) "
        "{ invite { id status maxRedemptions } inviteToken userErrors { field } } }",
        {"i": {"maxRedemptions": 2}},
        token=op,
    )
    assert "errors" not in out, out
    made = out["data"]["issueSignupInvite"]
    assert made["invite"]["status"] == "ACTIVE" and made["invite"]["maxRedemptions"] == 2 and made["inviteToken"]
    out = server.gql(
        "mutation($id: ID!) { revokeSignupInvite(input: {id: $id}) { invite { status } userErrors { field } } }",
        {"id": made["invite"]["id"]},
        token=op,
    )
    assert out["data"]["revokeSignupInvite"] == {"invite": {"status": "REVOKED"}, "userErrors": []}
    out = server.gql("{ signupInvites(first: 100, filter: {status: REVOKED}) { totalCount nodes { id } } }", token=op)
    assert made["invite"]["id"] in [i["id"] for i in out["data"]["signupInvites"]["nodes"]]


def test_public_registration_ignores_invites(server):
    assert sign_up(server, _email(), None).status_code == 201


# --- invite_only ------------------------------------------------------------------------------


def test_invite_only_policy_is_reported(invite_server):
    r = call(invite_server, "GET", "/api/v1/auth/signup-policy")
    assert r.json() == {"policy": "invite_only", "invite_required": True, "request_access_enabled": True}


def test_invite_only_registration(invite_server):
    srv = invite_server
    assert sign_up(srv, _email(), None).status_code == 403
    assert sign_up(srv, _email(), "not-a-real-token").status_code == 403
    made = issue(srv, max_redemptions=2)
    assert sign_up(srv, _email(), made["invite_token"]).status_code == 201
    assert sign_up(srv, _email(), made["invite_token"]).status_code == 201
    r = sign_up(srv, _email(), made["invite_token"])
    assert r.status_code == 403 and "exhausted" in r.json()["message"]
    listed = call(srv, "GET", INVITES, operator(srv), params={"status": "exhausted"}).json()
    assert [i["redeemed_count"] for i in listed["invites"] if i["id"] == made["id"]] == [2]


def test_a_failed_registration_does_not_spend_the_invite(invite_server):
    taken = register_with_new_invite(invite_server)
    made = issue(invite_server)
    assert sign_up(invite_server, taken, made["invite_token"]).status_code == 409  # email exists
    assert sign_up(invite_server, _email(), made["invite_token"]).status_code == 201


def register_with_new_invite(srv) -> str:
    email = _email()
    assert sign_up(srv, email, issue(srv)["invite_token"]).status_code == 201
    return email


def test_revoked_expired_and_mismatched_invites_are_403(invite_server):
    srv = invite_server
    revoked = issue(srv)
    call(srv, "POST", REVOKE, operator(srv), ids={"invite_id": revoked["id"]})
    r = sign_up(srv, _email(), revoked["invite_token"])
    assert r.status_code == 403 and "revoked" in r.json()["message"]

    expired = issue(srv, expires_in_hours=1)
    past = (
        "2000-01-01 00:00:00.000000"
        if srv.env["AGENTDECK_DATABASE_URL"].startswith("sqlite")
        else "2000-01-01T00:00:00Z"
    )
    run_sql(srv, f"UPDATE signup_invites SET expires_at = '{past}' WHERE id = '{_db_id(srv, expired['id'])}'")
    r = sign_up(srv, _email(), expired["invite_token"])
    assert r.status_code == 403 and "expired" in r.json()["message"]
    listed = call(srv, "GET", INVITES, operator(srv), params={"status": "expired"}).json()
    assert expired["id"] in [i["id"] for i in listed["invites"]]

    mine = issue(srv, invited_email=_email("mine"))
    r = sign_up(srv, _email("other"), mine["invite_token"])
    assert r.status_code == 403 and "another email" in r.json()["message"]
    assert sign_up(srv, mine["invited_email"], mine["invite_token"]).status_code == 201


def _db_id(srv, value: str) -> str:
    # SQLAlchemy's Uuid type stores 32 hex digits on SQLite and a native uuid on PostgreSQL.
    return uuid.UUID(value).hex if srv.env["AGENTDECK_DATABASE_URL"].startswith("sqlite") else value


def test_two_concurrent_registrations_cannot_both_redeem_the_last_use(invite_server):
    for _ in range(3):
        token = issue(invite_server)["invite_token"]
        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(lambda e, t=token: sign_up(invite_server, e, t).status_code, [_email(), _email()]))
        assert codes == [201, 403], codes


def test_request_access_is_stored_and_honeypots_are_not(invite_server):
    srv, email, bot = invite_server, _email("ask"), _email("bot")
    r = ask(srv, email, message="We build agents.")
    assert r.status_code == 202 and r.json()["policy"] == "invite_only"
    r = ask(srv, bot, honeypot="http://spam.example")
    assert r.status_code == 202 and r.json()["policy"] == "invite_only"
    emails = [x["email"] for x in call(srv, "GET", REQUESTS, operator(srv), params={"limit": 200}).json()["requests"]]
    assert email in emails and bot not in emails


def test_request_access_validates_its_body(invite_server):
    for body, loc in [
        ({"email": "bad"}, ["body", "email"]),
        ({"organization": "x"}, ["body", "organization"]),
        ({"full_name": "y" * 129}, ["body", "full_name"]),
        ({"accept_terms": False}, ["body", "accept_terms"]),
        ({"message": "m" * 1001}, ["body", "message"]),
        ({"extra": 1}, ["body", "extra"]),
    ]:
        full = {"email": _email(), "organization": "Org", "full_name": "Full Name", "accept_terms": True, **body}
        r = call(invite_server, "POST", REQUEST_ACCESS, json=full)
        assert r.status_code == 422 and any(d["loc"] == loc for d in r.json()["details"]), (body, r.text)
    r = call(invite_server, "POST", REQUEST_ACCESS, json={"email": _email()})
    assert r.status_code == 422


def test_request_access_is_rate_limited_per_email(invite_server):
    email = _email("rl")
    assert [ask(invite_server, email).status_code for _ in range(3)] == [202, 202, 202]
    r = ask(invite_server, email)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.json()["error"] == "TooManyRequests"


# --- approval -------------------------------------------------------------------------------


def test_approval_flow(approval_server):
    srv, op, email = approval_server, operator(approval_server), _email("appr")
    request = pending_request(srv, email)
    assert request["status"] == "pending" and request["organization"] == "Ask Co"
    r = call(
        srv,
        "POST",
        APPROVE,
        op,
        ids={"request_id": request["id"]},
        json={"note": "welcome", "invite_expires_in_hours": 24},
    )
    assert r.status_code == 200, r.text
    decision = r.json()
    assert decision["request"]["status"] == "approved" and decision["request"]["decision_reason"] == "welcome"
    invite = decision["invite"]
    assert invite["signup_request_id"] == request["id"] and invite["invited_email"] == email
    assert decision["request"]["invite_token_hint"] == invite["token_hint"]
    again = call(srv, "POST", APPROVE, op, ids={"request_id": request["id"]}, json={})
    assert again.status_code == 409
    assert call(srv, "POST", REJECT, op, ids={"request_id": request["id"]}, json={}).status_code == 409
    listed = call(srv, "GET", INVITES, op, params={"request_id": request["id"]}).json()
    assert [i["id"] for i in listed["invites"]] == [invite["id"]]
    assert sign_up(srv, email, invite["invite_token"]).status_code == 201


def test_rejection(approval_server):
    srv, op = approval_server, operator(approval_server)
    request = pending_request(srv, _email("rej"))
    r = call(srv, "POST", REJECT, op, ids={"request_id": request["id"]}, json={"reason": "not now"})
    assert r.status_code == 200
    assert r.json()["invite"] is None and r.json()["request"]["status"] == "rejected"
    assert r.json()["request"]["decision_reason"] == "not now"
    rejected = call(srv, "GET", REQUESTS, op, params={"status": "rejected"}).json()
    assert request["id"] in [x["id"] for x in rejected["requests"]]


def test_approval_needs_an_invite_of_an_approved_request(approval_server):
    srv = approval_server
    assert sign_up(srv, _email(), None).status_code == 403
    loose = issue(srv)
    r = sign_up(srv, _email(), loose["invite_token"])
    assert r.status_code == 403 and "approved signup request" in r.json()["message"]
    email = _email("early")
    request = pending_request(srv, email)
    early = issue(srv, signup_request_id=request["id"])
    assert sign_up(srv, email, early["invite_token"]).status_code == 403
    call(srv, "POST", APPROVE, operator(srv), ids={"request_id": request["id"]}, json={})
    assert sign_up(srv, email, early["invite_token"]).status_code == 201


def test_decisions_over_graphql(approval_server):
    srv, op = approval_server, operator(approval_server)
    emails = [_email("g1"), _email("g2")]
    for email in emails:
        out = srv.gql(
            "mutation($i: RequestAccessInput!) { requestAccess(input: $i) { policy { policy } userErrors { field } } }",
            {"i": {"email": email, "organization": "Graph Org", "fullName": "Gee Graph", "acceptTerms": True}},
        )
        assert out["data"]["requestAccess"] == {"policy": {"policy": "approval"}, "userErrors": []}
    listed = srv.gql(
        "{ signupRequests(first: 100, filter: {status: PENDING}) { totalCount nodes { id email } } }", token=op
    )
    mine = {x["email"]: x for x in listed["data"]["signupRequests"]["nodes"]}
    first, second = mine[emails[0]], mine[emails[1]]
    out = srv.gql(
        "mutation($id: ID!) { approveSignupRequest(input: {id: $id}) "
        "{ signupRequest { status invite { id } } invite { id signupRequest { id } } inviteToken } }",
        {"id": first["id"]},
        token=op,
    )
    approved = out["data"]["approveSignupRequest"]
    assert approved["inviteToken"] and approved["signupRequest"]["status"] == "APPROVED"
    assert approved["signupRequest"]["invite"]["id"] == approved["invite"]["id"]
    assert approved["invite"]["signupRequest"] == {"id": first["id"]}
    out = srv.gql(
        'mutation($id: ID!) { rejectSignupRequest(input: {id: $id, reason: "dup"}) '
        "{ signupRequest { status decisionReason invite { id } } userErrors { field } } }",
        {"id": second["id"]},
        token=op,
    )
    assert out["data"]["rejectSignupRequest"] == {
        "signupRequest": {"status": "REJECTED", "decisionReason": "dup", "invite": None},
        "userErrors": [],
    }
    out = srv.gql(
        "mutation($id: ID!) { rejectSignupRequest(input: {id: $id}) { signupRequest { status } "
        "userErrors { field message code } } }",
        {"id": second["id"]},
        token=op,
    )
    assert out["data"]["rejectSignupRequest"] == {
        "signupRequest": None,
        "userErrors": [{"field": None, "message": "Signup request is already rejected.", "code": "CONFLICT"}],
    }
