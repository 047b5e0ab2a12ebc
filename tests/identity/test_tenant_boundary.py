"""The tenant a request acts in is decided once, for every kind of principal and header.

A principal acts in the tenant of its token; `X-Tenant-Id` may only repeat it (compared as a
UUID), unless the principal holds `platform:operator` (or `support:*`), which may name another
tenant and is then scoped to exactly that one. Nothing ever answers with another tenant's rows.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness import BOOTSTRAP_SECRET, ROOT, assert_documented, fresh_database, start_server
from tests.users import PASSWORD, login, mark_email_verified, register

CONVERSATIONS = "/api/v1/conversations"
SETTINGS = "/api/v1/tenants/settings"
MISMATCH = "Tenant mismatch between token and X-Tenant-Id header."
NEEDS_OPERATOR = "Acting in the tenant named by X-Tenant-Id requires the platform:operator scope."
MISSING = "Authenticated token is missing tenant context."


@pytest.fixture(scope="module")
def world(backend, tmp_path_factory):
    """A server of its own (the matrix mints service-account tokens, whose per-minute budget the
    shared server's tests spend), two tenants with a conversation each, and one token per kind
    of principal."""
    tmp = tmp_path_factory.mktemp(f"boundary-{backend}")
    with fresh_database(backend, tmp) as url:
        srv = start_server(tmp, backend=backend, database_url=url, env={"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "0"})
        try:
            a, b = register(srv, verified=True), register(srv, verified=True)
            conversations = {}
            for account in (a, b):
                r = srv.rest("POST", "/api/v1/chat", token=account.access_token, json={"message": "hello"})
                assert r.status_code == 200, r.text
                conversations[account.tenant_id] = {r.json()["conversation_id"]}

            def mint(body: dict) -> str:
                r = srv.rest("POST", "/api/v1/auth/service-accounts/issue", token=BOOTSTRAP_SECRET, json=body)
                assert r.status_code == 201, r.text
                return r.json()["refresh_token"]

            email = f"op-{a.user_id[:8]}@example.com"
            done = subprocess.run(
                [sys.executable, "-m", "agentdeck.cli", "create-operator", email, "--password", PASSWORD],
                env=srv.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            mark_email_verified(srv, done.stdout.split("user_id=")[1].split()[0])
            tokens = {
                "user": a.access_token,
                "tenant service account": mint(
                    {"account": "analytics-batch", "scopes": ["conversations:read"], "tenant_id": a.tenant_id}
                ),
                "tenant-less service account": mint({"account": "demo-bot", "scopes": ["conversations:read"]}),
                "support service account": mint({"account": "support-console", "scopes": ["support:*"]}),
                "bootstrap secret": BOOTSTRAP_SECRET,
                "operator": login(srv, email)["access_token"],
            }
            yield srv, a.tenant_id, b.tenant_id, conversations, tokens
        finally:
            srv.stop()


# Per principal, per header: the tenant whose rows come back, or (status, message).
# A = the token's own tenant (tenant A for the tenant-less ones too), B = another tenant.
OWN_TENANT = {"none": "A", "A": "A", "a (upper case)": "A", "B": (403, MISMATCH), "garbage": (403, MISMATCH)}
NO_TENANT = {
    "none": (401, MISSING),
    "A": (403, NEEDS_OPERATOR),
    "a (upper case)": (403, NEEDS_OPERATOR),
    "B": (403, NEEDS_OPERATOR),
    "garbage": (400, "Tenant context must be a valid UUID."),
}
PLATFORM = {
    "none": (401, MISSING),
    "A": "A",
    "a (upper case)": "A",
    "B": "B",
    "garbage": (400, "Tenant context must be a valid UUID."),
}
SCOPES = (403, "Insufficient scopes for this operation.")
MATRIX = {
    "user": OWN_TENANT,
    "tenant service account": OWN_TENANT,
    "tenant-less service account": NO_TENANT,
    "support service account": PLATFORM,
    "bootstrap secret": dict.fromkeys(OWN_TENANT, SCOPES),  # platform:operator alone grants no tenant scopes
}


def _header(name: str, a: str, b: str) -> dict[str, str]:
    value = {"none": None, "A": a, "a (upper case)": a.upper(), "B": b, "garbage": "not-a-tenant"}[name]
    return {} if value is None else {"X-Tenant-Id": value}


@pytest.mark.parametrize("principal", list(MATRIX))
def test_conversations_of_exactly_one_tenant_for_every_principal_and_header(world, principal):
    srv, a, b, conversations, tokens = world
    for header, expected in MATRIX[principal].items():
        r = srv.rest("GET", CONVERSATIONS, token=tokens[principal], headers=_header(header, a, b))
        assert_documented("GET", CONVERSATIONS, r)
        if isinstance(expected, tuple):
            assert (r.status_code, r.json()["message"]) == expected, (principal, header, r.text)
        else:
            seen = {c["conversation_id"] for c in r.json()["items"]}
            assert seen == conversations[{"A": a, "B": b}[expected]], (principal, header)


def test_an_operator_acts_in_the_named_tenant_and_only_there(world):
    """The operator's own token names its own (operator) tenant; with X-Tenant-Id it is scoped to the
    named tenant, with a role from its scopes (not its `roles` claim, which speaks for its own)."""
    srv, a, b, conversations, tokens = world
    for tenant in (a, b, b.upper()):
        r = srv.rest("GET", SETTINGS, token=tokens["operator"], headers={"X-Tenant-Id": tenant})
        assert r.status_code == 200, r.text
        assert r.json()["tenant_id"] == tenant.lower()
        r = srv.rest("GET", CONVERSATIONS, token=tokens["operator"], headers={"X-Tenant-Id": tenant})
        assert {c["conversation_id"] for c in r.json()["items"]} == conversations[tenant.lower()]


def test_a_role_header_only_lowers_the_role_in_the_named_tenant(world):
    srv, a, b, _, tokens = world
    support = tokens["support service account"]
    r = srv.rest("GET", SETTINGS, token=support, headers={"X-Tenant-Id": b, "X-Tenant-Role": "viewer"})
    assert r.status_code == 403 and r.json()["message"] == "Insufficient tenant privileges for this operation."
    r = srv.rest("GET", SETTINGS, token=support, headers={"X-Tenant-Id": b, "X-Tenant-Role": "owner"})
    assert r.status_code == 403 and r.json()["message"] == "Requested tenant role exceeds privileges granted by token."


def test_graphql_decides_the_tenant_the_same_way(world):
    srv, a, b, conversations, tokens = world
    query = "{ conversations(first: 10) { nodes { databaseId } } }"
    out = srv.gql(query, token=tokens["tenant-less service account"], headers={"X-Tenant-Id": b})
    assert out["data"] is None and out["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    out = srv.gql(query, token=tokens["support service account"], headers={"X-Tenant-Id": b})
    assert {c["databaseId"] for c in out["data"]["conversations"]["nodes"]} == conversations[b]
    out = srv.gql(query, token=tokens["user"], headers={"X-Tenant-Id": a.upper()})
    assert {c["databaseId"] for c in out["data"]["conversations"]["nodes"]} == conversations[a]


def test_a_turn_started_in_a_named_tenant_stays_there(world):
    """Work that outlives the request (the turn's task) keeps the tenant the request decided."""
    srv, a, b, _, tokens = world
    support = tokens["support service account"]
    r = srv.rest("POST", "/api/v1/chat", token=support, headers={"X-Tenant-Id": b}, json={"message": "as support"})
    assert r.status_code == 200, r.text
    conversation = r.json()["conversation_id"]
    r = srv.rest("GET", f"{CONVERSATIONS}/{conversation}", token=tokens["user"])
    assert r.status_code == 404  # not tenant A's
    r = srv.rest("GET", f"{CONVERSATIONS}/{conversation}", token=support, headers={"X-Tenant-Id": b})
    assert r.status_code == 200 and len(r.json()["messages"]) == 2, r.text  # the question and the answer
