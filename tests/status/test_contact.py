"""The contact form — REST (checked against the contract) and the native GraphQL mutation."""

from __future__ import annotations

import uuid

import pytest

from tests.harness import assert_documented, fresh_database, start_server
from tests.smtp_sink import SmtpSink

CONTACT = "/api/v1/contact"
RECIPIENT = "inbox@agentdeck.test"


@pytest.fixture(scope="module")
def contact_srv(backend, tmp_path_factory):
    sink = SmtpSink().start()
    tmp = tmp_path_factory.mktemp(f"contact-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(
            tmp,
            env={"AGENTDECK_SMTP_URL": sink.url, "AGENTDECK_CONTACT_RECIPIENT": RECIPIENT},
            backend=backend,
            database_url=url,
        )
        srv.sink = sink  # type: ignore[attr-defined]
        try:
            yield srv
        finally:
            srv.stop()
            sink.stop()


def post(srv, **body):
    r = srv.rest("POST", CONTACT, json=body)
    assert_documented("POST", CONTACT, r)
    return r


def _email() -> str:
    return f"c-{uuid.uuid4().hex[:8]}@example.com"


def test_submission_is_stored_and_mailed(contact_srv):
    email = _email()
    r = post(contact_srv, email=email, name="Ada", topic="Pricing", message="Do you offer volume discounts?")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["success"] is True and body["data"]["delivered"] is True and body["data"]["suppressed"] is False
    reference = body["data"]["reference_id"]
    mail = contact_srv.sink.wait_for(lambda m: reference in m.text)
    assert mail.to == RECIPIENT and email in mail.text and "volume discounts" in mail.text


def test_honeypot_is_suppressed(contact_srv):
    r = post(contact_srv, email=_email(), message="Buy cheap things now!!", honeypot="http://spam")
    assert r.status_code == 202 and r.json()["data"]["suppressed"] is True
    assert r.json()["data"]["delivered"] is False


def test_invalid_submissions_are_422(contact_srv):
    for body in (
        {"email": "nope", "message": "long enough message"},
        {"email": _email(), "message": "short"},
        {"email": _email()},
        {"email": _email(), "message": "x" * 2001},
        {"email": _email(), "message": "long enough message", "name": "n" * 121},
        {"email": _email(), "message": "long enough message", "extra": True},
    ):
        r = post(contact_srv, **body)
        assert r.status_code == 422, body
        assert r.json()["error"] == "ValidationError"


def test_over_graphql(contact_srv):
    mutation = (
        "mutation($i: SubmitContactInput!) { submitContact(input: $i) "
        "{ message receipt { referenceId delivered } userErrors { field message code } } }"
    )
    email = _email()
    out = contact_srv.gql(mutation, {"i": {"email": email, "message": "Hello there, team!"}})
    sent = out["data"]["submitContact"]
    assert sent["userErrors"] == [] and sent["receipt"]["delivered"] is True and sent["message"]
    contact_srv.sink.wait_for(lambda m: sent["receipt"]["referenceId"] in m.text)
    out = contact_srv.gql(mutation, {"i": {"email": "nope", "message": "short", "name": "n" * 121}})
    refused = out["data"]["submitContact"]
    assert refused["receipt"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["input", "email"], "INVALID"),
        (["input", "message"], "INVALID"),
        (["input", "name"], "INVALID"),
    ]


def test_rate_limits_per_email_and_per_ip(contact_srv):
    email = _email()
    codes = [post(contact_srv, email=email, message="Checking the limits here").status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    # Per IP: 20 per hour; earlier tests already spent some of this server's budget.
    statuses = [post(contact_srv, email=_email(), message="Checking the IP limit").status_code for _ in range(20)]
    assert statuses[-1] == 429 and 202 in statuses
