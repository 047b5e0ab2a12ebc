"""The native graph of access requests and invites, in-process (tests/inprocess.py): the
`SignupRequest` and `SignupInvite` nodes (status enums, DateTimes, the request ↔ invite edges
through DataLoaders), their connections with filters and pages, and the mutations' payloads with
user errors at their input paths; only operators (scopes `auth:signup_requests`,
`auth:invites`) reach any of it."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy import event, func, select
from strawberry.relay import GlobalID

from agentdeck.context import Context
from agentdeck.db.models.signup import SignupRequest
from agentdeck.domain.identity import signup
from agentdeck.domain.identity.auth import OPERATOR_SCOPES
from agentdeck.schema import build_schema
from tests.inprocess import client, platform, tenant_member

SCHEMA = build_schema()
ASK = """mutation($i: RequestAccessInput!) {
  requestAccess(input: $i) { policy { policy inviteRequired } userErrors { field message code } }
}"""
REQUESTS = """query($first: Int, $after: String, $f: SignupRequestFilter) {
  signupRequests(first: $first, after: $after, filter: $f) {
    totalCount nodes { id databaseId email fullName organization message status createdAt decidedAt }
    pageInfo { hasNextPage endCursor }
  }
}"""
INVITE = "invite { id status tokenHint invitedEmail maxRedemptions redeemedCount expiresAt note signupRequest { id } }"
ISSUE = (
    "mutation($i: IssueSignupInviteInput!) { issueSignupInvite(input: $i) "
    f"{{ {INVITE} inviteToken userErrors {{ field message code }} }} }}"
)


async def gql(ctx: Context, query: str, **variables: Any) -> dict[str, Any]:
    ctx.loaders.clear()
    result = await SCHEMA.execute(query, variable_values=variables, context_value=ctx)
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [{"path": e.path, "message": e.message, **(e.extensions or {})} for e in result.errors]
    return out


async def operator(services: Any) -> Context:
    ctx = await tenant_member(services, role="owner", tenant_name="Operators")
    assert ctx.principal is not None
    ctx.principal = dataclasses.replace(ctx.principal, scopes=ctx.principal.scopes | set(OPERATOR_SCOPES))
    return ctx


def ask(email: str, **extra: Any) -> dict[str, Any]:
    return {"email": email, "organization": "Ask Co", "fullName": "Ann Asker", "acceptTerms": True, **extra}


async def test_requests_decisions_and_their_invites(tmp_path):
    async with platform(tmp_path, signup_policy="approval") as services:
        op, anyone = await operator(services), client(services, "203.0.113.9")
        member = await tenant_member(services, role="owner", tenant_name="Not operators")

        for i in range(3):
            out = await gql(anyone, ASK, i=ask(f"asker{i}@example.com", message=f"hello {i}"))
            assert out["data"]["requestAccess"] == {
                "policy": {"policy": "approval", "inviteRequired": True},
                "userErrors": [],
            }
        bad = (await gql(anyone, ASK, i=ask("not-an-email", fullName="A", acceptTerms=False, message="x" * 1001)))[
            "data"
        ]["requestAccess"]
        assert bad["policy"] is None
        assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(["input", "acceptTerms"], "INVALID")]
        bad = (await gql(anyone, ASK, i=ask("not-an-email", fullName="A")))["data"]["requestAccess"]
        assert [e["field"] for e in bad["userErrors"]] == [["input", "email"], ["input", "fullName"]]

        first = (await gql(op, REQUESTS, first=2))["data"]["signupRequests"]
        assert first["totalCount"] == 3 and len(first["nodes"]) == 2 and first["pageInfo"]["hasNextPage"]
        rest = (await gql(op, REQUESTS, first=2, after=first["pageInfo"]["endCursor"]))["data"]["signupRequests"]
        nodes = {n["email"]: n for n in first["nodes"] + rest["nodes"]}
        assert sorted(nodes) == [f"asker{i}@example.com" for i in range(3)]
        one = nodes["asker0@example.com"]
        assert (one["status"], one["message"], one["decidedAt"]) == ("PENDING", "hello 0", None)
        assert GlobalID.from_id(one["id"]).node_id == one["databaseId"]

        approve = """mutation($i: ApproveSignupRequestInput!) { approveSignupRequest(input: $i) {
          signupRequest { status decisionReason decidedAt invite { id } }
          invite { id status expiresAt signupRequest { id email } } inviteToken
          userErrors { field message code } } }"""
        out = (await gql(op, approve, i={"id": one["id"], "note": "welcome", "inviteExpiresInHours": 24}))["data"]
        done = out["approveSignupRequest"]
        assert done["userErrors"] == [] and done["inviteToken"]
        assert done["signupRequest"]["status"] == "APPROVED" and done["signupRequest"]["decidedAt"]
        assert done["signupRequest"]["invite"]["id"] == done["invite"]["id"]
        assert done["invite"]["signupRequest"] == {"id": one["id"], "email": "asker0@example.com"}
        issued_for = "query($f: SignupInviteFilter) { signupInvites(filter: $f) { nodes { id } } }"
        out = (await gql(op, issued_for, f={"signupRequestId": one["id"]}))["data"]["signupInvites"]
        assert out["nodes"] == [{"id": done["invite"]["id"]}]
        for variables, field, code in (
            ({"id": one["id"]}, None, "CONFLICT"),
            ({"id": str(GlobalID("SignupRequest", str(uuid.uuid4())))}, ["input", "id"], "NOT_FOUND"),
            ({"id": "garbage"}, ["input", "id"], "NOT_FOUND"),
            (
                {"id": nodes["asker1@example.com"]["id"], "inviteExpiresInHours": 0},
                ["input", "inviteExpiresInHours"],
                "INVALID",
            ),
        ):
            out = (await gql(op, approve, i=variables))["data"]["approveSignupRequest"]
            assert out["signupRequest"] is None and out["inviteToken"] is None
            assert [(e["field"], e["code"]) for e in out["userErrors"]] == [(field, code)], variables

        reject = """mutation($i: RejectSignupRequestInput!) { rejectSignupRequest(input: $i) {
          signupRequest { status decisionReason invite { id } } userErrors { field code } } }"""
        out = (await gql(op, reject, i={"id": nodes["asker1@example.com"]["id"], "reason": "not now"}))["data"]
        assert out["rejectSignupRequest"] == {
            "signupRequest": {"status": "REJECTED", "decisionReason": "not now", "invite": None},
            "userErrors": [],
        }

        counts = {}
        for status in ("PENDING", "APPROVED", "REJECTED"):
            counts[status] = (await gql(op, REQUESTS, f={"status": status}))["data"]["signupRequests"]["totalCount"]
        assert counts == {"PENDING": 1, "APPROVED": 1, "REJECTED": 1}

        node = "query($id: ID!) { node(id: $id) { id ... on SignupRequest { status } } }"
        assert (await gql(op, node, id=one["id"]))["data"]["node"] == {"id": one["id"], "status": "APPROVED"}
        missing = str(GlobalID("SignupRequest", str(uuid.uuid4())))
        assert (await gql(op, node, id=missing))["data"]["node"] is None
        for caller in (member, anyone):  # not operators: refused, whatever the id
            out = await gql(caller, node, id=one["id"])
            assert out["data"]["node"] is None and out["errors"][0]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")
            out = await gql(caller, REQUESTS)
            assert out["data"] is None and out["errors"][0]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")
            out = await gql(caller, approve, i={"id": nodes["asker2@example.com"]["id"]})
            assert out["data"] is None and out["errors"][0]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")


async def test_invites(tmp_path):
    async with platform(tmp_path, signup_policy="invite_only") as services:
        op = await operator(services)
        member = await tenant_member(services, role="owner", tenant_name="Not operators")

        made = (await gql(op, ISSUE, i={"invitedEmail": "Friend@Example.com", "maxRedemptions": 3, "note": "hi"}))[
            "data"
        ]["issueSignupInvite"]
        assert made["userErrors"] == [] and made["inviteToken"].endswith(made["invite"]["tokenHint"])
        invite = made["invite"]
        assert (invite["status"], invite["invitedEmail"], invite["maxRedemptions"], invite["redeemedCount"]) == (
            "ACTIVE",
            "friend@example.com",
            3,
            0,
        )
        assert invite["expiresAt"] and invite["signupRequest"] is None
        plain = (await gql(op, ISSUE, i={}))["data"]["issueSignupInvite"]  # every field has a default
        assert plain["invite"]["maxRedemptions"] == 1

        for fields, path, code in (
            ({"maxRedemptions": 11}, ["input", "maxRedemptions"], "INVALID"),
            ({"invitedEmail": "nope"}, ["input", "invitedEmail"], "INVALID"),
            ({"expiresInHours": 0}, ["input", "expiresInHours"], "INVALID"),
            (
                {"signupRequestId": str(GlobalID("SignupRequest", str(uuid.uuid4())))},
                ["input", "signupRequestId"],
                "NOT_FOUND",
            ),
            ({"signupRequestId": "garbage"}, ["input", "signupRequestId"], "NOT_FOUND"),
        ):
            out = (await gql(op, ISSUE, i=fields))["data"]["issueSignupInvite"]
            assert out["invite"] is None and out["inviteToken"] is None
            assert [(e["field"], e["code"]) for e in out["userErrors"]] == [(path, code)], fields

        revoke = """mutation($id: ID!) { revokeSignupInvite(input: {id: $id}) {
          invite { status revokedAt } userErrors { field code } } }"""
        out = (await gql(op, revoke, id=invite["id"]))["data"]["revokeSignupInvite"]
        assert out["invite"]["status"] == "REVOKED" and out["invite"]["revokedAt"] and out["userErrors"] == []
        again = (await gql(op, revoke, id=invite["id"]))["data"]["revokeSignupInvite"]
        assert again["invite"]["revokedAt"] == out["invite"]["revokedAt"]  # idempotent: the first time stands
        wrong_type = str(GlobalID("SignupRequest", GlobalID.from_id(invite["id"]).node_id))
        out = (await gql(op, revoke, id=wrong_type))["data"]["revokeSignupInvite"]
        assert out == {"invite": None, "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}]}

        listing = """query($f: SignupInviteFilter) { signupInvites(filter: $f) { totalCount nodes { id status } } }"""
        everything = (await gql(op, listing))["data"]["signupInvites"]
        assert everything["totalCount"] == 2
        revoked = (await gql(op, listing, f={"status": "REVOKED"}))["data"]["signupInvites"]
        assert [n["id"] for n in revoked["nodes"]] == [invite["id"]]
        mine = (await gql(op, listing, f={"invitedEmail": "FRIEND@example.com"}))["data"]["signupInvites"]
        assert mine["totalCount"] == 1
        none = (await gql(op, listing, f={"signupRequestId": "garbage"}))["data"]["signupInvites"]
        assert none["totalCount"] == 0

        node = "query($id: ID!) { node(id: $id) { ... on SignupInvite { status } } }"
        assert (await gql(op, node, id=invite["id"]))["data"]["node"] == {"status": "REVOKED"}
        out = await gql(member, node, id=invite["id"])
        assert out["data"]["node"] is None and out["errors"][0]["code"] == "FORBIDDEN"
        out = await gql(member, ISSUE, i={})
        assert out["data"] is None and out["errors"][0]["code"] == "FORBIDDEN"


async def test_a_page_with_its_edges_costs_constant_statements(tmp_path):
    async with platform(tmp_path, signup_policy="approval") as services:
        op = await operator(services)
        query = "{ signupRequests(first: 50) { nodes { email invite { tokenHint signupRequest { email } } } } }"
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = services.db.engine.sync_engine
        sizes = {}
        for n in (2, 20):
            async with services.db.platform_session() as s:
                have = await s.scalar(select(func.count()).select_from(SignupRequest)) or 0
                rows = [
                    SignupRequest(email=f"bulk{i}@example.com", organization="Bulk", full_name="Bulk Asker")
                    for i in range(have, n)
                ]
                s.add_all(rows)
                await s.commit()
            for row in rows:
                await signup.approve(op, row.id, None, None)
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            try:
                out = await gql(op, query)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            nodes = out["data"]["signupRequests"]["nodes"]
            assert len(nodes) == n and all(x["invite"]["signupRequest"]["email"] == x["email"] for x in nodes)
            sizes[n] = len(statements)
        assert 0 < sizes[2] == sizes[20], sizes
