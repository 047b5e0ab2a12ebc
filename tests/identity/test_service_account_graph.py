"""The native graph of service-account tokens, in-process (tests/inprocess.py): minting through
the payloads (the token shown once, user errors at their input paths, permissions top level),
the `ServiceAccountToken` node and `node(id:)` across tenants, the `serviceAccountTokens`
connection (filter, status enum, pages; every tenant's through `operator`, for operators only) and
revocation."""

from __future__ import annotations

from typing import Any

from strawberry.relay import GlobalID

from agentdeck.context import Context
from agentdeck.schema import build_schema
from tests.inprocess import bearer, platform, tenant_member

SCHEMA = build_schema()
SECRET = "in-process-bootstrap-secret"
REASON = "rotating the nightly pipeline credentials"
TOKEN = "token { id databaseId jti account isGlobal scopes fingerprint status issuedAt expiresAt revokedAt }"
ISSUE = (
    "mutation($i: IssueServiceAccountTokenInput!) { issueServiceAccountToken(input: $i) "
    f"{{ {TOKEN} refreshToken userErrors {{ field message code }} }} }}"
)
BROWSER = (
    "mutation($i: IssueServiceAccountTokenFromBrowserInput!) { issueServiceAccountTokenFromBrowser(input: $i) "
    f"{{ {TOKEN} refreshToken userErrors {{ field message code }} }} }}"
)
PAGE = "totalCount nodes { id account fingerprint status isGlobal } pageInfo { hasNextPage endCursor }"
LIST = f"""query($first: Int, $after: String, $f: ServiceAccountTokenFilter) {{
  serviceAccountTokens(first: $first, after: $after, filter: $f) {{ {PAGE} }}
}}"""
OPERATOR_LIST = f"""query($first: Int, $f: ServiceAccountTokenFilter, $t: ID) {{
  operator {{ serviceAccountTokens(first: $first, filter: $f, tenant: $t) {{ {PAGE} }} }}
}}"""
REVOKE = """mutation($i: RevokeServiceAccountTokenInput!) {
  revokeServiceAccountToken(input: $i) { token { id status revokedAt revokedReason } userErrors { field code } }
}"""


async def gql(ctx: Context, query: str, **variables: Any) -> dict[str, Any]:
    ctx.loaders.clear()
    result = await SCHEMA.execute(query, variable_values=variables, context_value=ctx)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [{"path": e.path, "message": e.message, **(e.extensions or {})} for e in result.errors]
    return out


def tenant_gid(ctx: Context) -> str:
    assert ctx.principal is not None
    return str(GlobalID("Tenant", str(ctx.principal.tenant_id)))


async def test_minting_payloads_and_user_errors(tmp_path):
    async with platform(tmp_path, bootstrap_secret=SECRET) as services:
        boot = await bearer(services, SECRET)
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        made = await gql(
            boot,
            ISSUE,
            i={
                "account": "analytics-batch",
                "scopes": ["conversations:read"],
                "tenant": tenant_gid(a),
                "fingerprint": "etl-01",
            },
        )
        issued = made["data"]["issueServiceAccountToken"]
        assert issued["userErrors"] == [] and issued["refreshToken"].count(".") == 2
        token = issued["token"]
        assert (token["account"], token["isGlobal"], token["scopes"], token["status"]) == (
            "analytics-batch",
            False,
            ["conversations:read"],
            "ACTIVE",
        )
        assert GlobalID.from_id(token["id"]).node_id == token["databaseId"]

        glob = (await gql(boot, ISSUE, i={"account": "demo-bot", "scopes": ["chat:write", "conversations:read"]}))[
            "data"
        ]["issueServiceAccountToken"]["token"]
        assert glob["isGlobal"] is True and glob["scopes"] == ["chat:write", "conversations:read"]  # catalog order

        for fields, field, code in (
            ({"account": "nope", "scopes": []}, None, "INVALID"),
            (
                {"account": "demo-bot", "scopes": ["chat:write"], "lifetimeMinutes": 0},
                ["input", "lifetimeMinutes"],
                "INVALID",
            ),
            (
                {"account": "analytics-batch", "scopes": ["conversations:read"], "tenant": "nope"},
                ["input", "tenant"],
                "INVALID",
            ),
        ):
            out = (await gql(boot, ISSUE, i=fields))["data"]["issueServiceAccountToken"]
            assert out["token"] is None and out["refreshToken"] is None
            assert [(e["field"], e["code"]) for e in out["userErrors"]] == [(field, code)], fields

        # Permissions stay top-level errors: a tenant admin may not use the bootstrap mutation.
        denied = await gql(a, ISSUE, i={"account": "demo-bot", "scopes": ["chat:write"]})
        assert denied["data"] is None and denied["errors"][0]["code"] == "FORBIDDEN"

        browser = {"account": "analytics-batch", "scopes": ["conversations:read"], "reason": REASON}
        mine = (await gql(a, BROWSER, i=browser))["data"]["issueServiceAccountTokenFromBrowser"]
        assert mine["userErrors"] == [] and mine["token"]["isGlobal"] is False
        short = (await gql(a, BROWSER, i={**browser, "reason": "short"}))["data"]
        assert short["issueServiceAccountTokenFromBrowser"]["userErrors"] == [
            {"field": ["input", "reason"], "message": "String should have at least 10 characters", "code": "INVALID"}
        ]
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        foreign = await gql(a, BROWSER, i={**browser, "tenant": tenant_gid(b)})
        assert foreign["data"] is None and foreign["errors"][0]["code"] == "FORBIDDEN"


async def test_node_listing_and_revocation(tmp_path):
    async with platform(tmp_path, bootstrap_secret=SECRET) as services:
        boot = await bearer(services, SECRET)
        a = await tenant_member(services, role="admin", tenant_name="Tenant A")
        b = await tenant_member(services, role="admin", tenant_name="Tenant B")
        member = await tenant_member(services, role="member", tenant_name="Tenant M")
        ids = {}
        for owner, label in ((a, "a1"), (a, "a2"), (a, "a3"), (b, "b1")):
            out = await gql(
                owner,
                BROWSER,
                i={"account": "synthetic-monitor", "scopes": ["tools:read"], "reason": REASON, "fingerprint": label},
            )
            ids[label] = out["data"]["issueServiceAccountTokenFromBrowser"]["token"]["id"]
        await gql(boot, ISSUE, i={"account": "demo-bot", "scopes": ["chat:write"], "fingerprint": "global"})

        node = "query($id: ID!) { node(id: $id) { id ... on ServiceAccountToken { fingerprint } } }"
        assert (await gql(a, node, id=ids["a1"]))["data"]["node"] == {"id": ids["a1"], "fingerprint": "a1"}
        assert (await gql(b, node, id=ids["a1"]))["data"]["node"] is None  # another tenant's
        assert (await gql(boot, node, id=ids["b1"]))["data"]["node"]["fingerprint"] == "b1"  # operators see all

        first = (await gql(a, LIST, first=2))["data"]["serviceAccountTokens"]
        assert first["totalCount"] == 3 and len(first["nodes"]) == 2 and first["pageInfo"]["hasNextPage"]
        rest = (await gql(a, LIST, first=2, after=first["pageInfo"]["endCursor"]))["data"]["serviceAccountTokens"]
        assert sorted(n["fingerprint"] for n in first["nodes"] + rest["nodes"]) == ["a1", "a2", "a3"]
        assert not rest["pageInfo"]["hasNextPage"]
        assert (await gql(a, LIST, f={"fingerprint": "b1"}))["data"]["serviceAccountTokens"]["totalCount"] == 0

        # Operators, through `operator`: every tenant's; global tokens on request; one tenant's.
        def operated(out: dict[str, Any]) -> dict[str, Any]:
            assert "errors" not in out, out
            return out["data"]["operator"]["serviceAccountTokens"]

        everyone = operated(await gql(boot, OPERATOR_LIST, first=100))
        assert {n["fingerprint"] for n in everyone["nodes"]} == {"a1", "a2", "a3", "b1"}
        both = operated(await gql(boot, OPERATOR_LIST, first=100, f={"includeGlobal": True}))
        assert [n["isGlobal"] for n in both["nodes"]].count(True) == 1
        only_b = operated(await gql(boot, OPERATOR_LIST, t=tenant_gid(b)))
        assert [n["fingerprint"] for n in only_b["nodes"]] == ["b1"]
        # The root field is the request's tenant's only: a token acting in none has nothing there.
        for caller, query, variables in (
            (a, OPERATOR_LIST, {"t": tenant_gid(a)}),  # a tenant admin is no operator
            (a, LIST, {"f": {"includeGlobal": True}}),
            (member, LIST, {}),
            (boot, LIST, {}),
        ):
            out = await gql(caller, query, **variables)
            assert out["data"] is None and out["errors"][0]["code"] == "FORBIDDEN", variables
        bad = await gql(boot, OPERATOR_LIST, t="nope")
        assert bad["errors"][0]["code"] == "INVALID_INPUT" and bad["errors"][0]["path"] == [
            "operator",
            "serviceAccountTokens",
        ]

        out = (await gql(b, REVOKE, i={"id": ids["a1"]}))["data"]["revokeServiceAccountToken"]
        assert out == {"token": None, "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}]}
        long = (await gql(a, REVOKE, i={"id": ids["a1"], "reason": "x" * 257}))["data"]["revokeServiceAccountToken"]
        assert long["userErrors"] == [{"field": ["input", "reason"], "code": "INVALID"}]
        done = (await gql(a, REVOKE, i={"id": ids["a1"], "reason": "leaked in a log"}))["data"]
        token = done["revokeServiceAccountToken"]["token"]
        assert (token["status"], token["revokedReason"]) == ("REVOKED", "leaked in a log") and token["revokedAt"]
        again = (await gql(a, REVOKE, i={"id": ids["a1"], "reason": "twice"}))["data"]["revokeServiceAccountToken"]
        assert again["token"]["revokedReason"] == "leaked in a log"  # the first revocation stands

        by_status = {}
        for status in ("ACTIVE", "REVOKED", "EXPIRED"):
            page = (await gql(a, LIST, f={"status": status}))["data"]["serviceAccountTokens"]
            by_status[status] = sorted(n["fingerprint"] for n in page["nodes"])
        assert by_status == {"ACTIVE": ["a2", "a3"], "REVOKED": ["a1"], "EXPIRED": []}
        assert (await gql(a, LIST))["data"]["serviceAccountTokens"]["totalCount"] == 3  # any status

        # Below admin, tokens are no one's business: node(id:) is null with the permission error.
        out = await gql(member, node, id=ids["a2"])
        assert out["data"]["node"] is None and out["errors"][0]["code"] == "FORBIDDEN"
