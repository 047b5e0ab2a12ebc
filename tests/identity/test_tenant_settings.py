"""Tenant settings with optimistic concurrency, and the tenant-context rules that guard them."""

from __future__ import annotations

import uuid

import pytest

from tests.harness import assert_documented
from tests.users import register

PATH = "/api/v1/tenants/settings"
BODY = {
    "billing_contacts": [{"name": "Ada", "email": "ada@example.com", "role": "finance"}],
    # A public address literal: the SSRF guard resolves host names, and tests run offline.
    "billing_webhook_url": "https://93.184.215.14/billing",
    "plan_metadata": {"tier": "gold"},
    "flags": {"feature.billing": True},
}


@pytest.fixture
def owner(server):
    return register(server, verified=True)


def _put(server, token, body=BODY, if_match='"0"', headers=None):
    h = dict(headers or {})
    if if_match is not None:
        h["If-Match"] = if_match
    return server.rest("PUT", PATH, token=token, json=body, headers=h)


def test_read_write_with_etags(server, owner):
    r = server.rest("GET", PATH, token=owner.access_token)
    assert r.status_code == 200, r.text
    assert_documented("GET", PATH, r)
    assert r.headers["etag"] == '"0"' and r.json()["version"] == 0 and r.json()["flags"] == {}

    r = _put(server, owner.access_token)
    assert r.status_code == 200, r.text
    assert_documented("PUT", PATH, r)
    assert r.headers["etag"] == '"1"'
    body = r.json()
    assert body["billing_contacts"][0] == {
        "name": "Ada",
        "email": "ada@example.com",
        "role": "finance",
        "phone": None,
        "notify_billing": True,
    }
    assert body["plan_metadata"] == {"tier": "gold"} and body["tenant_id"] == owner.tenant_id

    r = _put(server, owner.access_token, {**BODY, "flags": {}}, if_match='"1"')
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["flags"] == {}
    assert server.rest("GET", PATH, token=owner.access_token).headers["etag"] == '"2"'


def test_stale_missing_and_malformed_preconditions(server, owner):
    assert _put(server, owner.access_token).status_code == 200
    stale = _put(server, owner.access_token, if_match='"0"')
    assert stale.status_code == 409 and stale.json()["error"] == "Conflict"
    missing = _put(server, owner.access_token, if_match=None)
    assert missing.status_code == 428
    assert_documented("PUT", PATH, missing)
    assert missing.json()["error"] == "HTTPException"
    assert _put(server, owner.access_token, if_match="*").status_code == 400
    assert server.rest("GET", PATH, token=owner.access_token).json()["version"] == 1  # unchanged


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**BODY, "colour": "red"}, ["body", "colour"]),
        ({**BODY, "billing_contacts": [{"name": "A", "email": "nope"}]}, ["body", "billing_contacts", 0, "email"]),
        ({**BODY, "plan_metadata": {"tier": 5}}, ["body", "plan_metadata"]),
        ({**BODY, "flags": {"x": "yes"}}, ["body", "flags"]),
        ({**BODY, "billing_webhook_url": "ftp://x"}, ["body", "billing_webhook_url"]),
        ({"billing_contacts": [], "flags": {}}, ["body", "plan_metadata"]),
    ],
)
def test_invalid_bodies_change_nothing(server, owner, body, loc):
    r = _put(server, owner.access_token, body)
    assert r.status_code == 422, r.text
    assert_documented("PUT", PATH, r)
    assert any(d["loc"] == loc for d in r.json()["details"]), r.json()["details"]
    assert server.rest("GET", PATH, token=owner.access_token).json()["version"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.0.0.7/hook",
        "https://[::1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        "http://93.184.215.14/billing",  # public, but not https
        "https://user:pw@93.184.215.14/billing",
        "https://no-such-host.invalid/hook",
    ],
)
def test_internal_or_unsafe_webhook_urls_are_refused_when_written(server, owner, url):
    r = _put(server, owner.access_token, {**BODY, "billing_webhook_url": url})
    assert r.status_code == 422, r.text
    assert_documented("PUT", PATH, r)
    details = r.json()["details"]
    assert details[0]["loc"] == ["body", "billing_webhook_url"] and details[0]["msg"].startswith("Webhook target")
    assert server.rest("GET", PATH, token=owner.access_token).json()["version"] == 0  # nothing written


def test_an_overlong_webhook_url_is_refused(server, owner):
    r = _put(server, owner.access_token, {**BODY, "billing_webhook_url": "https://93.184.215.14/" + "a" * 2100})
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["body", "billing_webhook_url"]


def test_an_unsafe_webhook_url_is_a_graphql_user_error_naming_the_field(server, owner):
    m = """mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) {
        settings { version } userErrors { field message code } } }"""
    out = server.gql(
        m,
        {
            "i": {
                "expectedVersion": 0,
                "billingContacts": [],
                "planMetadata": [],
                "flags": [],
                "billingWebhookUrl": "https://169.254.169.254/latest",
            }
        },
        token=owner.access_token,
    )
    payload = out["data"]["updateTenantSettings"]
    assert payload["settings"] is None
    error = payload["userErrors"][0]
    assert error["field"] == ["input", "billingWebhookUrl"] and error["code"] == "INVALID"
    assert error["message"].startswith("Webhook target")
    assert server.rest("GET", PATH, token=owner.access_token).json()["version"] == 0  # nothing written


def test_tenants_do_not_see_each_other(server, owner):
    other = register(server, verified=True)
    assert _put(server, owner.access_token).status_code == 200
    theirs = server.rest("GET", PATH, token=other.access_token).json()
    assert theirs["tenant_id"] == other.tenant_id and theirs["version"] == 0
    # Writing with the version the other tenant has does not touch the first tenant's row.
    assert _put(server, other.access_token, {**BODY, "flags": {"x": True}}).status_code == 200
    assert server.rest("GET", PATH, token=owner.access_token).json()["flags"] == {"feature.billing": True}


def test_tenant_context_headers(server, owner):
    r = server.rest("GET", PATH, token=owner.access_token, headers={"X-Tenant-Id": str(uuid.uuid4())})
    assert r.status_code == 403 and r.json()["message"] == "Tenant mismatch between token and X-Tenant-Id header."
    assert (
        server.rest("GET", PATH, token=owner.access_token, headers={"X-Tenant-Id": owner.tenant_id}).status_code == 200
    )
    r = server.rest("GET", PATH, token=owner.access_token, headers={"X-Tenant-Role": "member"})
    assert r.status_code == 403 and r.json()["message"] == "Insufficient tenant privileges for this operation."
    assert server.rest("GET", PATH, token=owner.access_token, headers={"X-Tenant-Role": "admin"}).status_code == 200


def test_unverified_email_and_anonymous_callers_are_refused(server):
    unverified = register(server)
    r = server.rest("GET", PATH, token=unverified.access_token)
    assert r.status_code == 403 and r.json()["message"].startswith("Email verification required.")
    r = server.rest("GET", PATH)
    assert r.status_code == 401
    assert_documented("GET", PATH, r)


def test_graphql_twin(server, owner):
    q = "{ tenant { databaseId settings { version flags { key enabled } billingContacts { email } } } }"
    out = server.gql(q, token=owner.access_token)
    assert out["data"]["tenant"]["databaseId"] == owner.tenant_id
    assert out["data"]["tenant"]["settings"]["version"] == 0
    m = """mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) {
        settings { version planMetadata { key value } } userErrors { field code } } }"""
    variables = {
        "i": {"expectedVersion": 0, "billingContacts": [], "planMetadata": [{"key": "a", "value": "b"}], "flags": []}
    }
    out = server.gql(m, variables, token=owner.access_token)
    assert out["data"]["updateTenantSettings"] == {
        "settings": {"version": 1, "planMetadata": [{"key": "a", "value": "b"}]},
        "userErrors": [],
    }
    # The REST view of the same write: the map and the ETag.
    r = server.rest("GET", PATH, token=owner.access_token)
    assert r.json()["plan_metadata"] == {"a": "b"} and r.headers["etag"] == '"1"'
    out = server.gql(m, variables, token=owner.access_token)
    assert out["data"]["updateTenantSettings"] == {
        "settings": None,
        "userErrors": [{"field": ["input", "expectedVersion"], "code": "CONFLICT"}],
    }
    # An unverified token is refused before anything: a top-level FORBIDDEN.
    unverified = register(server)
    out = server.gql(m, {"i": {**variables["i"], "expectedVersion": 1}}, token=unverified.access_token)
    assert out["data"] is None and out["errors"][0]["extensions"]["code"] == "FORBIDDEN"
