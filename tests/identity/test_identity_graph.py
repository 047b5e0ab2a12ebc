"""The identity graph end to end, over a real server's /graphql: a newcomer registers, refreshes
once verified, reads their tenant (members, settings), writes the settings, ends a session and
then all of them, with GraphQL alone. The rules are tested in-process (test_identity_graph_rules)."""

from __future__ import annotations

import uuid

from tests.users import PASSWORD, mark_email_verified

REGISTER = """mutation($i: RegisterInput!) { register(input: $i) {
    tokens { accessToken refreshToken tokenType } user { id databaseId role } tenant { id name }
    userErrors { field message code } } }"""
REFRESH = """mutation($t: String!) { refreshSession(input: {refreshToken: $t}) {
    tokens { accessToken refreshToken } userErrors { code } } }"""
LOGIN = (
    """mutation($i: LoginInput!) { login(input: $i) { tokens { accessToken } session { id } userErrors { code } } }"""
)
TENANT = """{ tenant { id name members { totalCount nodes { role user { id email } } }
    settings { version flags { key enabled } } } me { sessions { totalCount nodes { id current } } } }"""


def test_a_tenant_owner_over_graphql_alone(server):
    email = f"graph-{uuid.uuid4().hex[:8]}@example.com"
    variables = {"i": {"email": email, "password": PASSWORD, "tenantName": "Graph Only", "acceptTerms": True}}
    out = server.gql(REGISTER, variables)
    assert "errors" not in out, out
    registered = out["data"]["register"]
    assert registered["userErrors"] == [] and registered["tokens"]["tokenType"] == "BEARER"
    assert registered["user"]["role"] == "OWNER" and registered["tenant"]["name"] == "Graph Only"
    # The same address again is the user's mistake, at the field.
    again = server.gql(REGISTER, variables)["data"]["register"]
    assert again["tokens"] is None and again["userErrors"][0]["field"] == ["input", "email"]

    # Unverified: the tenant's name, not its members.
    token = registered["tokens"]["accessToken"]
    out = server.gql("{ tenant { name members { totalCount } } }", token=token)
    assert out["data"] is None and out["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert server.gql("{ me { tenant { name } } }", token=token)["data"]["me"]["tenant"]["name"] == "Graph Only"

    # Verified since: the refreshed token reads the tenant.
    mark_email_verified(server, registered["user"]["databaseId"])
    out = server.gql(REFRESH, {"t": registered["tokens"]["refreshToken"]})
    token = out["data"]["refreshSession"]["tokens"]["accessToken"]
    out = server.gql(TENANT, token=token)
    assert "errors" not in out, out
    tenant = out["data"]["tenant"]
    assert tenant["id"] == registered["tenant"]["id"]
    assert tenant["members"]["totalCount"] == 1
    assert tenant["members"]["nodes"][0] == {"role": "OWNER", "user": {"id": registered["user"]["id"], "email": email}}
    assert tenant["settings"] == {"version": 0, "flags": []}

    update = """mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) {
        settings { version flags { key enabled } } userErrors { field code } } }"""
    body = {
        "expectedVersion": 0,
        "billingContacts": [],
        "planMetadata": [],
        "flags": [{"key": "beta", "enabled": True}],
    }
    out = server.gql(update, {"i": body}, token=token)
    assert out["data"]["updateTenantSettings"] == {
        "settings": {"version": 1, "flags": [{"key": "beta", "enabled": True}]},
        "userErrors": [],
    }
    assert server.rest("GET", "/api/v1/tenants/settings", token=token).json()["flags"] == {"beta": True}

    # A second sign-in, listed and ended; then every session.
    other = server.gql(LOGIN, {"i": {"email": email, "password": PASSWORD}})["data"]["login"]
    sessions = server.gql(TENANT, token=token)["data"]["me"]["sessions"]
    assert sessions["totalCount"] == 2 and other["session"]["id"] in {s["id"] for s in sessions["nodes"]}
    revoke = "mutation($s: ID!) { revokeSession(input: {sessionId: $s}) { session { revokedAt } userErrors { code } } }"
    out = server.gql(revoke, {"s": other["session"]["id"]}, token=token)
    assert out["data"]["revokeSession"]["session"]["revokedAt"] is not None
    assert server.gql("{ me { email } }", token=other["tokens"]["accessToken"])["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    out = server.gql("mutation { logoutAll { revokedCount } }", token=token)
    assert out["data"]["logoutAll"]["revokedCount"] == 1
    assert server.rest("GET", "/api/v1/auth/me", token=token).status_code == 401
