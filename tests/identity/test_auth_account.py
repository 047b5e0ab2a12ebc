"""Sessions, email verification and passwords — REST (checked against the contract) and GraphQL."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from tests.harness import assert_documented, fresh_database, start_server
from tests.smtp_sink import SmtpSink
from tests.users import PASSWORD, Account, register, run_sql

NEW_PASSWORD = "Brand-New-Passphrase-77"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")
OK_NO_DATA = {"success": True, "data": None}


@pytest.fixture(scope="module")
def mail(backend, tmp_path_factory):
    """A server of its own that mails through a local SMTP sink; its own IP rate-limit budget."""
    sink = SmtpSink().start()
    tmp = tmp_path_factory.mktemp(f"account-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, env={"AGENTDECK_SMTP_URL": sink.url}, backend=backend, database_url=url)
        srv.sink = sink  # type: ignore[attr-defined]
        try:
            yield srv
        finally:
            srv.stop()
            sink.stop()


def _mailed_token(srv, to: str, subject: str) -> str:
    mail = srv.sink.wait_for(lambda m: m.to == to and m.subject == subject and m not in srv.seen)
    srv.seen.append(mail)
    return TOKEN.search(mail.text).group(1)


@pytest.fixture(autouse=True)
def _seen(request):
    # Mails already read, so a second mail to one address is told apart from the first.
    if "mail" in request.fixturenames:
        srv = request.getfixturevalue("mail")
        if not hasattr(srv, "seen"):
            srv.seen = []


def _login(srv, email: str, password: str = PASSWORD, **kw) -> dict:
    r = srv.rest("POST", "/api/v1/auth/token", json={"email": email, "password": password}, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def _verified(srv) -> tuple[Account, dict]:
    acct = register(srv)
    token = _mailed_token(srv, acct.email, "Verify your email address")  # sent on registration
    assert srv.rest("POST", "/api/v1/auth/email/verify", json={"token": token}).status_code == 200
    return acct, _login(srv, acct.email)


def _me(srv, token: str) -> int:
    return srv.rest("GET", "/api/v1/auth/me", token=token).status_code


# End to end ------------------------------------------------------------------------------------


def test_register_verify_login_refresh_list_logout(mail):
    acct = register(mail)  # registration mails the verification link
    token = _mailed_token(mail, acct.email, "Verify your email address")
    # Only the hash is stored.
    stored = [row[0] for row in run_sql(mail, "SELECT token_hash FROM account_tokens")]
    assert hashlib.sha256(token.encode()).hexdigest() in stored and token not in stored

    r = mail.rest("POST", "/api/v1/auth/email/verify", json={"token": token})
    assert r.status_code == 200, r.text
    assert_documented("POST", "/api/v1/auth/email/verify", r)
    assert r.json() == {**OK_NO_DATA, "message": "Email verified successfully."}

    session = _login(mail, acct.email)
    assert session["email_verified"] is True
    me = mail.rest("GET", "/api/v1/auth/me", token=session["access_token"]).json()
    assert me["data"]["token_payload"]["email_verified"] is True
    r = mail.rest("POST", "/api/v1/auth/email/send", token=session["access_token"])
    assert r.status_code == 202 and r.json()["message"] == "Email already verified."
    assert r.json()["data"] == {"email_verified": True}

    r = mail.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert fresh["email_verified"] is True

    r = mail.rest("GET", "/api/v1/auth/sessions", token=fresh["access_token"])
    assert r.status_code == 200, r.text
    assert_documented("GET", "/api/v1/auth/sessions", r)
    listed = {s["id"]: s for s in r.json()["sessions"]}
    assert set(listed) == {acct.session_id, session["session_id"]}
    assert listed[session["session_id"]]["current"] is True and listed[acct.session_id]["current"] is False

    r = mail.rest(
        "POST", "/api/v1/auth/logout", token=fresh["access_token"], json={"refresh_token": fresh["refresh_token"]}
    )
    assert r.status_code == 200 and r.json()["data"] == {"revoked": True}
    assert _me(mail, fresh["access_token"]) == 401


# Sessions --------------------------------------------------------------------------------------


def test_list_sessions_describes_clients_and_pages(server):
    acct = register(server)
    phone = _login(server, acct.email, headers={"user-agent": IPHONE})
    r = server.rest("GET", "/api/v1/auth/sessions", token=phone["access_token"])
    assert r.status_code == 200, r.text
    assert_documented("GET", "/api/v1/auth/sessions", r)
    body = r.json()
    assert body["total"] == 2 and body["limit"] == 20 and body["offset"] == 0
    item = next(s for s in body["sessions"] if s["id"] == phone["session_id"])
    assert item["current"] is True and item["tenant_id"] == acct.tenant_id
    assert item["client"] == {"platform": "iOS", "browser": "Safari", "device": "mobile", "user_agent": IPHONE}
    assert item["ip_address_masked"] == "127.0.0.*" and item["location"] is None
    assert re.fullmatch(r"[0-9a-f]{16}", item["fingerprint"])

    page = server.rest(
        "GET",
        "/api/v1/auth/sessions",
        token=phone["access_token"],
        params={"limit": 1, "offset": 1, "tenant_id": acct.tenant_id},
    ).json()
    assert page["total"] == 2 and len(page["sessions"]) == 1 and page["offset"] == 1
    other_tenant = server.rest(
        "GET", "/api/v1/auth/sessions", token=phone["access_token"], params={"tenant_id": str(uuid.uuid4())}
    ).json()
    assert other_tenant["total"] == 0 and other_tenant["sessions"] == []


def test_list_sessions_rejects_bad_paging_and_needs_a_token(server):
    acct = register(server)
    for params, loc in (
        ({"limit": 101}, ["query", "limit"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
        ({"limit": "x"}, ["query", "limit"]),
    ):
        r = server.rest("GET", "/api/v1/auth/sessions", token=acct.access_token, params=params)
        assert r.status_code == 422, (params, r.text)
        assert_documented("GET", "/api/v1/auth/sessions", r)
        assert r.json()["details"][0]["loc"] == loc
    r = server.rest("GET", "/api/v1/auth/sessions")
    assert r.status_code == 401
    assert_documented("GET", "/api/v1/auth/sessions", r)
    out = server.gql("{ me { sessions { totalCount } } }")
    assert out["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_revoked_sessions_are_listed_on_request(server):
    acct = register(server)
    other = _login(server, acct.email)
    assert (
        server.rest("DELETE", f"/api/v1/auth/sessions/{other['session_id']}", token=acct.access_token).status_code
        == 200
    )
    live = server.rest("GET", "/api/v1/auth/sessions", token=acct.access_token).json()
    assert [s["id"] for s in live["sessions"]] == [acct.session_id]
    everything = server.rest(
        "GET", "/api/v1/auth/sessions", token=acct.access_token, params={"include_revoked": "true"}
    ).json()
    assert everything["total"] == 2
    revoked = next(s for s in everything["sessions"] if s["id"] == other["session_id"])
    assert revoked["revoked_at"] is not None


def test_revoke_session_ends_its_token_at_once(server):
    acct = register(server)
    other = _login(server, acct.email)
    assert _me(server, other["access_token"]) == 200
    path = f"/api/v1/auth/sessions/{other['session_id']}"
    r = server.rest("DELETE", path, token=acct.access_token)
    assert r.status_code == 200, r.text
    assert_documented("DELETE", "/api/v1/auth/sessions/{session_id}", r)
    assert r.json() == {"success": True, "message": "Session revoked successfully.", "data": {"revoked": True}}
    assert _me(server, other["access_token"]) == 401
    assert _me(server, acct.access_token) == 200
    # Already revoked → 404.
    r = server.rest("DELETE", path, token=acct.access_token)
    assert r.status_code == 404
    assert_documented("DELETE", "/api/v1/auth/sessions/{session_id}", r)


def test_another_users_session_is_not_found(server):
    alice, bob = register(server), register(server)
    for sid in (bob.session_id, str(uuid.uuid4())):
        r = server.rest("DELETE", f"/api/v1/auth/sessions/{sid}", token=alice.access_token)
        assert r.status_code == 404, r.text
        assert_documented("DELETE", "/api/v1/auth/sessions/{session_id}", r)
    assert _me(server, bob.access_token) == 200
    r = server.rest("DELETE", "/api/v1/auth/sessions/not-a-uuid", token=alice.access_token)
    assert r.status_code == 422
    assert_documented("DELETE", "/api/v1/auth/sessions/{session_id}", r)
    assert server.rest("DELETE", f"/api/v1/auth/sessions/{bob.session_id}").status_code == 401


def test_sessions_over_graphql(server):
    acct = register(server)
    other = _login(server, acct.email, headers={"user-agent": IPHONE})
    out = server.gql(
        "{ me { sessions(first: 5) { totalCount nodes { id databaseId current client { device } } } } }",
        token=acct.access_token,
    )
    assert "errors" not in out, out
    sessions = out["data"]["me"]["sessions"]
    assert sessions["totalCount"] == 2
    listed = {s["databaseId"]: s for s in sessions["nodes"]}
    assert listed[acct.session_id]["current"] is True and listed[other["session_id"]]["client"]["device"] == "MOBILE"
    mutation = """mutation($s: ID!) { revokeSession(input: {sessionId: $s}) {
        session { databaseId revokedAt } userErrors { field code } } }"""
    out = server.gql(mutation, {"s": listed[other["session_id"]]["id"]}, token=acct.access_token)
    assert out["data"]["revokeSession"]["userErrors"] == []
    assert out["data"]["revokeSession"]["session"]["revokedAt"] is not None
    assert _me(server, other["access_token"]) == 401
    out = server.gql(mutation, {"s": listed[other["session_id"]]["id"]}, token=acct.access_token)
    assert out["data"]["revokeSession"] == {
        "session": None,
        "userErrors": [{"field": ["input", "sessionId"], "code": "NOT_FOUND"}],
    }


# Email verification ----------------------------------------------------------------------------


def test_verification_tokens_are_single_use_and_expire(mail):
    acct = register(mail)
    mail.rest("POST", "/api/v1/auth/email/send", token=acct.access_token)
    token = _mailed_token(mail, acct.email, "Verify your email address")
    run_sql(
        mail,
        "UPDATE account_tokens SET expires_at = '2000-01-01 00:00:00' "
        f"WHERE token_hash = '{hashlib.sha256(token.encode()).hexdigest()}'",
    )
    for bad in (token, "forged-" + token, "x"):
        r = mail.rest("POST", "/api/v1/auth/email/verify", json={"token": bad})
        assert r.status_code == 400, r.text
        assert_documented("POST", "/api/v1/auth/email/verify", r)
        assert "request a new verification email" in r.json()["message"]
    assert _login(mail, acct.email)["email_verified"] is False

    mail.rest("POST", "/api/v1/auth/email/send", token=acct.access_token)
    token = _mailed_token(mail, acct.email, "Verify your email address")
    assert mail.rest("POST", "/api/v1/auth/email/verify", json={"token": token}).status_code == 200
    assert mail.rest("POST", "/api/v1/auth/email/verify", json={"token": token}).status_code == 400
    r = mail.rest("POST", "/api/v1/auth/email/verify", json={"token": ""})
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "token"]
    assert_documented("POST", "/api/v1/auth/email/verify", r)
    r = mail.rest("POST", "/api/v1/auth/email/verify", json={"token": token, "extra": 1})
    assert r.status_code == 422
    assert_documented("POST", "/api/v1/auth/email/verify", r)


def test_verification_send_needs_a_token_and_is_rate_limited(mail):
    r = mail.rest("POST", "/api/v1/auth/email/send")
    assert r.status_code == 401
    assert_documented("POST", "/api/v1/auth/email/send", r)
    acct = register(mail)
    r = mail.rest("POST", "/api/v1/auth/email/send", token=acct.access_token)
    assert r.status_code == 202, r.text
    assert_documented("POST", "/api/v1/auth/email/send", r)
    assert r.json() == {"success": True, "message": "Verification email sent.", "data": {"email_verified": False}}
    for _ in range(2):
        assert mail.rest("POST", "/api/v1/auth/email/send", token=acct.access_token).status_code == 202
    r = mail.rest("POST", "/api/v1/auth/email/send", token=acct.access_token)
    assert r.status_code == 429, r.text
    assert_documented("POST", "/api/v1/auth/email/send", r)
    assert int(r.headers["retry-after"]) > 0 and r.json()["error"] == "TooManyRequests"


def test_email_verification_over_graphql(mail):
    acct = register(mail)
    out = mail.gql(
        "mutation { sendEmailVerification { sent user { emailVerified } userErrors { code } } }",
        token=acct.access_token,
    )
    assert out["data"]["sendEmailVerification"] == {"sent": True, "user": {"emailVerified": False}, "userErrors": []}
    token = _mailed_token(mail, acct.email, "Verify your email address")
    verify = "mutation($i: VerifyEmailInput!) { verifyEmail(input: $i) { emailVerified userErrors { field code } } }"
    out = mail.gql(verify, {"i": {"token": token}})
    assert out["data"]["verifyEmail"] == {"emailVerified": True, "userErrors": []}
    assert mail.gql("{ me { emailVerified } }", token=acct.access_token)["data"]["me"]["emailVerified"] is True
    out = mail.gql(verify, {"i": {"token": token}})
    assert out["data"]["verifyEmail"] == {
        "emailVerified": None,
        "userErrors": [{"field": ["input", "token"], "code": "INVALID"}],
    }


# The mailed link, followed in a browser ---------------------------------------------------------

LINK = re.compile(r"(http\S+/verify-email\?token=[A-Za-z0-9_-]+)")
TENANT_OP = "/api/v1/conversations"  # any tenant operation: they all pass the verification gate


def _mailed_link(srv, to: str) -> str:
    mail = srv.sink.wait_for(lambda m: m.to == to and m.subject == "Verify your email address" and m not in srv.seen)
    srv.seen.append(mail)
    return LINK.search(mail.text).group(1)


def _path(srv, link: str) -> str:
    # The link names AGENTDECK_PUBLIC_URL, which the harness sets to the server's own address.
    assert link.startswith(f"{srv.base_url}/verify-email?token="), link
    return link.removeprefix(srv.base_url)


def _assert_self_contained(r) -> None:
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["cache-control"] == "no-store" and r.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text.lower()
    assert page.startswith("<!doctype html>") and "<script" not in page and "<link" not in page
    assert "src=" not in page and "@import" not in page and "url(" not in page


def test_the_mailed_link_verifies_in_a_browser_once(mail):
    acct = register(mail)
    path = _path(mail, _mailed_link(mail, acct.email))
    assert mail.rest("HEAD", path).status_code == 200  # a link checker does not spend the token
    r = mail.rest("GET", path)
    assert r.status_code == 200, r.text
    _assert_self_contained(r)
    assert "<h1>Email verified</h1>" in r.text and "/api/v1/auth/refresh" in r.text
    assert f'href="{mail.base_url}/graphql"' in r.text  # links from configuration only
    assert _login(mail, acct.email)["email_verified"] is True
    # The same link again, and links that never were, get the refusal page and change nothing.
    for bad, status in (
        (path, 400),
        ("/verify-email?token=forged", 400),
        ("/verify-email", 400),
        ("/verify-email?token=", 400),
        ("/verify-email?token=a%00b", 400),
        ("/verify-email?token=" + "x" * 5000, 400),
    ):
        r = mail.rest("GET", bad)
        assert r.status_code == status, (bad, r.text)
        _assert_self_contained(r)
        assert "This verification link cannot be used" in r.text, bad
        assert "/api/v1/auth/email/send" in r.text
    assert mail.rest("POST", path).status_code == 405


def test_an_expired_link_gets_the_refusal_page(mail):
    acct = register(mail)
    link = _mailed_link(mail, acct.email)
    token = link.rsplit("=", 1)[1]
    run_sql(
        mail,
        "UPDATE account_tokens SET expires_at = '2000-01-01 00:00:00' "
        f"WHERE token_hash = '{hashlib.sha256(token.encode()).hexdigest()}'",
    )
    r = mail.rest("GET", _path(mail, link))
    assert r.status_code == 400 and "request a new verification email" in r.text
    assert _login(mail, acct.email)["email_verified"] is False


def test_the_refusal_of_an_unverified_token_says_to_verify_then_refresh(mail):
    acct = register(mail)
    link = _mailed_link(mail, acct.email)
    r = mail.rest("GET", TENANT_OP, token=acct.access_token)
    assert r.status_code == 403
    assert_documented("GET", TENANT_OP, r)
    body = r.json()
    assert body["error"] == "Forbidden" and body["message"].startswith("Email verification required. Open the link")
    assert "POST /api/v1/auth/refresh" in body["message"]
    # Verified since: the same (old) token is told to refresh, not to verify again.
    assert mail.rest("GET", _path(mail, link)).status_code == 200
    r = mail.rest("GET", TENANT_OP, token=acct.access_token)
    assert r.status_code == 403
    assert_documented("GET", TENANT_OP, r)
    message = r.json()["message"]
    assert message.startswith("Email verification required. Your address is verified, but this token")
    assert "POST /api/v1/auth/refresh" in message and "Open the link" not in message
    out = mail.gql("{ conversations(first: 1) { totalCount } }", token=acct.access_token)
    assert out["errors"][0]["message"] == message and out["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert mail.gql("{ me { emailVerified } }", token=acct.access_token)["data"]["me"]["emailVerified"] is True
    # Refreshing gives a token that says so, and it works.
    fresh = mail.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": acct.refresh_token}).json()
    assert fresh["email_verified"] is True
    assert mail.rest("GET", TENANT_OP, token=fresh["access_token"]).status_code == 200


# Forgotten password ----------------------------------------------------------------------------


def test_forgot_and_confirm_reset_the_password_and_end_sessions(mail):
    acct = register(mail)
    unknown = mail.rest(
        "POST", "/api/v1/auth/password/forgot", json={"email": f"nobody-{uuid.uuid4().hex}@example.com"}
    )
    r = mail.rest("POST", "/api/v1/auth/password/forgot", json={"email": acct.email.upper()})
    for resp in (unknown, r):
        assert resp.status_code == 202, resp.text
        assert_documented("POST", "/api/v1/auth/password/forgot", resp)
    assert (
        r.json()
        == unknown.json()
        == {**OK_NO_DATA, "message": "If the account exists, password reset instructions have been sent."}
    )
    token = _mailed_token(mail, acct.email, "Reset your password")

    r = mail.rest("POST", "/api/v1/auth/password/confirm", json={"token": token, "new_password": "short"})
    assert r.status_code == 422
    assert_documented("POST", "/api/v1/auth/password/confirm", r)
    assert r.json()["details"][0]["loc"] == ["body", "new_password"]

    r = mail.rest("POST", "/api/v1/auth/password/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text  # the weak attempt did not burn the link
    assert_documented("POST", "/api/v1/auth/password/confirm", r)
    assert r.json()["data"] is None
    assert _me(mail, acct.access_token) == 401
    assert mail.rest("POST", "/api/v1/auth/token", json={"email": acct.email, "password": PASSWORD}).status_code == 401
    _login(mail, acct.email, NEW_PASSWORD)

    r = mail.rest("POST", "/api/v1/auth/password/confirm", json={"token": token, "new_password": NEW_PASSWORD + "x"})
    assert r.status_code == 400
    assert_documented("POST", "/api/v1/auth/password/confirm", r)


def test_reset_tokens_expire_and_cannot_verify_email(mail):
    acct = register(mail)
    mail.rest("POST", "/api/v1/auth/password/forgot", json={"email": acct.email})
    token = _mailed_token(mail, acct.email, "Reset your password")
    # A reset token is not a verification token.
    assert mail.rest("POST", "/api/v1/auth/email/verify", json={"token": token}).status_code == 400
    run_sql(
        mail,
        "UPDATE account_tokens SET expires_at = '2000-01-01 00:00:00' "
        f"WHERE token_hash = '{hashlib.sha256(token.encode()).hexdigest()}'",
    )
    r = mail.rest("POST", "/api/v1/auth/password/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 400 and "expired" in r.json()["message"]
    assert _me(mail, acct.access_token) == 200


def test_forgot_password_validates_and_rate_limits(mail):
    r = mail.rest("POST", "/api/v1/auth/password/forgot", json={"email": "not-an-email"})
    assert r.status_code == 422
    assert_documented("POST", "/api/v1/auth/password/forgot", r)
    assert r.json()["details"][0]["loc"] == ["body", "email"]
    email = f"limited-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(5):
        assert mail.rest("POST", "/api/v1/auth/password/forgot", json={"email": email}).status_code == 202
    r = mail.rest("POST", "/api/v1/auth/password/forgot", json={"email": email})
    assert r.status_code == 429
    assert_documented("POST", "/api/v1/auth/password/forgot", r)
    assert int(r.headers["retry-after"]) > 0


def test_password_reset_over_graphql(mail):
    acct = register(mail)
    out = mail.gql(
        "mutation($i: ForgotPasswordInput!) { forgotPassword(input: $i) { requested userErrors { field } } }",
        {"i": {"email": acct.email}},
    )
    assert out["data"]["forgotPassword"] == {"requested": True, "userErrors": []}
    token = _mailed_token(mail, acct.email, "Reset your password")
    confirm = """mutation($i: ConfirmPasswordResetInput!) { confirmPasswordReset(input: $i) {
        passwordReset userErrors { field message code } } }"""
    out = mail.gql(confirm, {"i": {"token": token, "newPassword": "weak"}})
    errors = out["data"]["confirmPasswordReset"]["userErrors"]
    assert errors and all(e["field"] == ["input", "newPassword"] and e["code"] == "INVALID" for e in errors)
    out = mail.gql(confirm, {"i": {"token": token, "newPassword": NEW_PASSWORD}})
    assert out["data"]["confirmPasswordReset"] == {"passwordReset": True, "userErrors": []}
    out = mail.gql(confirm, {"i": {"token": token, "newPassword": NEW_PASSWORD}})
    assert out["data"]["confirmPasswordReset"]["userErrors"][0]["field"] == ["input", "token"]


# Changing a password ---------------------------------------------------------------------------


def test_change_password_keeps_this_session_and_ends_the_others(server):
    acct = register(server)
    other = _login(server, acct.email)
    r = server.rest(
        "POST",
        "/api/v1/auth/password/change",
        token=acct.access_token,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 200, r.text
    assert_documented("POST", "/api/v1/auth/password/change", r)
    assert r.json() == {**OK_NO_DATA, "message": "Password changed successfully."}
    assert _me(server, acct.access_token) == 200
    assert _me(server, other["access_token"]) == 401
    _login(server, acct.email, NEW_PASSWORD)


def test_change_password_failures(server):
    acct = register(server)
    change = "/api/v1/auth/password/change"
    r = server.rest("POST", change, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 401
    assert_documented("POST", change, r)
    r = server.rest(
        "POST",
        change,
        token=acct.access_token,
        json={"current_password": "Wrong-Password-123", "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 400 and r.json()["message"] == "Current password is incorrect."
    assert_documented("POST", change, r)
    for body, loc in (
        ({"current_password": PASSWORD, "new_password": "weak"}, ["body", "new_password"]),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, ["body", "new_password"]),
        ({"current_password": PASSWORD}, ["body", "new_password"]),
    ):
        r = server.rest("POST", change, token=acct.access_token, json=body)
        assert r.status_code == 422, r.text
        assert_documented("POST", change, r)
        assert r.json()["details"][0]["loc"] == loc
    _login(server, acct.email)  # nothing changed


def test_wrong_current_passwords_are_throttled(server):
    acct = register(server)
    body = {"current_password": "Wrong-Password-123", "new_password": NEW_PASSWORD}
    for _ in range(5):
        assert (
            server.rest("POST", "/api/v1/auth/password/change", token=acct.access_token, json=body).status_code == 400
        )
    r = server.rest(
        "POST",
        "/api/v1/auth/password/change",
        token=acct.access_token,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 429
    assert_documented("POST", "/api/v1/auth/password/change", r)


def test_change_password_over_graphql(server):
    acct = register(server)
    change = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { user { email } userErrors { field message } } }"
    out = server.gql(
        change, {"i": {"currentPassword": "Wrong-Password-123", "newPassword": NEW_PASSWORD}}, token=acct.access_token
    )
    assert out["data"]["changePassword"] == {
        "user": None,
        "userErrors": [{"field": ["input", "currentPassword"], "message": "Current password is incorrect."}],
    }
    out = server.gql(change, {"i": {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}}, token=acct.access_token)
    assert out["data"]["changePassword"] == {"user": {"email": acct.email}, "userErrors": []}


# Support resets a member's password ------------------------------------------------------------


def test_admin_reset(mail):
    owner, session = _verified(mail)
    stranger = register(mail)
    reset = "/api/v1/auth/password/reset"
    # An unverified token is refused before anything else.
    r = mail.rest(
        "POST", reset, token=owner.access_token, json={"user_id": owner.user_id, "new_password": NEW_PASSWORD}
    )
    assert r.status_code == 403 and r.json()["message"].startswith("Email verification required.")
    assert_documented("POST", reset, r)
    # Users of other tenants, and unknown users, are not found.
    for user_id in (stranger.user_id, str(uuid.uuid4())):
        r = mail.rest(
            "POST", reset, token=session["access_token"], json={"user_id": user_id, "new_password": NEW_PASSWORD}
        )
        assert r.status_code == 404, r.text
        assert_documented("POST", reset, r)
    assert _me(mail, stranger.access_token) == 200
    r = mail.rest("POST", reset, token=session["access_token"], json={"user_id": owner.user_id, "new_password": "weak"})
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "new_password"]
    assert_documented("POST", reset, r)

    r = mail.rest(
        "POST", reset, token=session["access_token"], json={"user_id": owner.user_id, "new_password": NEW_PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert_documented("POST", reset, r)
    assert r.json() == {**OK_NO_DATA, "message": "Password reset successfully."}
    assert _me(mail, session["access_token"]) == 401  # the target's sessions ended
    after = _login(mail, owner.email, NEW_PASSWORD)

    stranger_id = mail.gql("{ me { id } }", token=stranger.access_token)["data"]["me"]["id"]
    out = mail.gql(
        "mutation($i: ResetUserPasswordInput!) { resetUserPassword(input: $i) { user { id } userErrors { field code } } }",
        {"i": {"userId": stranger_id, "newPassword": NEW_PASSWORD}},
        token=after["access_token"],
    )
    assert out["data"]["resetUserPassword"] == {
        "user": None,
        "userErrors": [{"field": ["input", "userId"], "code": "NOT_FOUND"}],
    }
    r = mail.rest("POST", reset, json={"user_id": owner.user_id, "new_password": NEW_PASSWORD})
    assert r.status_code == 401
