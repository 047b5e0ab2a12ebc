"""The identity graph, in-process (tests/inprocess.py): `me`, `tenant`, `User`/`Tenant`/`UserSession`
nodes, the members and sessions connections, and the identity mutations' payloads.

- node(id:) round trips for the caller, their tenant, a fellow member and their own sessions;
  another tenant's (or user's) ids are null, like missing ones;
- members and sessions page with first/after, pageInfo and totalCount; sessions are the
  caller's own only;
- wrong credentials stay a top-level UNAUTHENTICATED error; mistakes the user can correct
  (a weak password, a taken email, a stale settings version, an unknown session) are
  `userErrors` naming the input field, with the rest of the response intact.
"""

from __future__ import annotations

import uuid

from agentdeck.db.models.identity import Membership, User
from agentdeck.domain.identity.registration import register
from agentdeck.schema import build_schema
from tests.inprocess import bearer, client, platform, tenant_member

PASSWORD = "correct horse battery staple"
SCHEMA = build_schema()


async def run(ctx, query: str, variables: dict | None = None) -> tuple[dict | None, list[dict]]:
    """(data, errors as dicts with message, path and extensions.code)."""
    result = await SCHEMA.execute(query, variable_values=variables, context_value=ctx)
    errors = [
        {"message": e.message, "path": e.path, "code": (e.extensions or {}).get("code")} for e in result.errors or []
    ]
    return result.data, errors


def global_id(type_name: str, key: object) -> str:
    from strawberry.relay import GlobalID

    return str(GlobalID(type_name, str(key)))


async def add_member(services, tenant_id: uuid.UUID, role: str, email: str) -> uuid.UUID:
    async with services.db.platform_session() as s:
        user = User(email=email, password_hash="unused")
        s.add(user)
        await s.flush()
        s.add(Membership(tenant_id=tenant_id, user_id=user.id, role=role))
        await s.commit()
        return user.id


ME = "{ me { id databaseId email role emailVerified platformRole scopes tenant { id databaseId name slug } } }"


async def test_me_and_tenant_are_nodes_and_foreign_ids_are_null(tmp_path):
    async with platform(tmp_path) as services:
        ctx = await tenant_member(services, "owner", "Acme")
        other = await tenant_member(services, "owner", "Other Co")
        data, errors = await run(ctx, ME)
        assert not errors, errors
        me = data["me"]
        assert me["role"] == "OWNER" and me["emailVerified"] is False and me["platformRole"] is None
        assert me["databaseId"] == ctx.principal.subject.removeprefix("user:")
        assert me["tenant"]["name"] == "Acme" and me["tenant"]["databaseId"] == str(ctx.principal.tenant_id)
        assert "billing:manage" in me["scopes"]
        assert me["id"] == global_id("User", me["databaseId"])

        data, errors = await run(ctx, "{ tenant { id name } }")
        assert data["tenant"] == {"id": me["tenant"]["id"], "name": "Acme"}

        theirs, _ = await run(other, ME)
        lookup = """query($ids: [ID!]!) { nodes(ids: $ids) {
            __typename ... on User { email } ... on Tenant { slug } } }"""
        ids = [me["id"], me["tenant"]["id"], theirs["me"]["id"], theirs["me"]["tenant"]["id"]]
        ids += [global_id("User", uuid.uuid4()), global_id("Tenant", "not-a-uuid")]
        data, errors = await run(ctx, lookup, {"ids": ids})
        assert not errors, errors
        assert data["nodes"] == [
            {"__typename": "User", "email": me["email"]},
            {"__typename": "Tenant", "slug": me["tenant"]["slug"]},
            None,
            None,
            None,
            None,
        ]


async def test_members_page_and_fellow_members_are_nodes(tmp_path):
    async with platform(tmp_path) as services:
        ctx = await tenant_member(services, "admin", "Acme")
        tenant_id = ctx.principal.tenant_id
        for i, role in enumerate(("viewer", "member")):
            await add_member(services, tenant_id, role, f"m{i}-{uuid.uuid4().hex[:6]}@example.com")
        stranger = await tenant_member(services, "owner", "Other Co")
        page = """query($after: String) { tenant { members(first: 2, after: $after) {
            totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
            edges { cursor node { role joinedAt user { id email role tenant { name } } } } } } }"""
        data, errors = await run(ctx, page)
        assert not errors, errors
        first = data["tenant"]["members"]
        assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
        assert [e["node"]["role"] for e in first["edges"]] == ["ADMIN", "VIEWER"]
        assert first["edges"][1]["node"]["user"]["role"] == "VIEWER"
        assert first["edges"][1]["node"]["user"]["tenant"]["name"] == "Acme"
        data, errors = await run(ctx, page, {"after": first["pageInfo"]["endCursor"]})
        second = data["tenant"]["members"]
        assert [e["node"]["role"] for e in second["edges"]] == ["MEMBER"]
        assert second["pageInfo"] == {**second["pageInfo"], "hasNextPage": False, "hasPreviousPage": True}

        fellow = first["edges"][1]["node"]["user"]
        lookup = "query($id: ID!) { node(id: $id) { ... on User { email role } } }"
        data, _ = await run(ctx, lookup, {"id": fellow["id"]})
        assert data["node"] == {"email": fellow["email"], "role": "VIEWER"}
        data, errors = await run(stranger, lookup, {"id": fellow["id"]})
        assert data["node"] is None and not errors
        # Another member's sessions are theirs alone.
        data, errors = await run(
            ctx, '{ node(id: "%s") { ... on User { email sessions { totalCount } } } }' % fellow["id"]
        )
        assert data["node"] == {"email": fellow["email"], "sessions": None}
        assert errors[0]["code"] == "FORBIDDEN" and errors[0]["path"] == ["node", "sessions"]
        # A bad cursor is the caller's mistake, named.
        data, errors = await run(ctx, page, {"after": "nope"})
        assert errors[0]["code"] == "INVALID_INPUT"


async def test_a_viewer_reads_members_but_not_settings(tmp_path):
    async with platform(tmp_path) as services:
        ctx = await tenant_member(services, "viewer", "Acme")
        data, errors = await run(ctx, "{ tenant { name members { totalCount } } }")
        assert not errors and data["tenant"]["members"]["totalCount"] == 1
        data, errors = await run(ctx, "{ tenant { name settings { version } } }")
        assert data is None and errors[0]["code"] == "FORBIDDEN" and errors[0]["path"] == ["tenant", "settings"]
        data, errors = await run(client(services), "{ tenant { name } }")
        assert data is None and errors[0]["code"] == "UNAUTHENTICATED"


SESSIONS = """query($first: Int, $after: String, $revoked: Boolean) { me { sessions(first: $first, after: $after,
    filter: {includeRevoked: $revoked}) { totalCount pageInfo { hasNextPage endCursor }
    nodes { id databaseId current revokedAt client { device browser } tenant { name } } } } }"""
REVOKE = """mutation($id: ID!) { revokeSession(input: {sessionId: $id}) {
    session { id revokedAt } userErrors { field message code } } }"""


async def test_sessions_page_revoke_and_stay_private(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.3.1")
        first = (await register(anon, "ida@example.com", PASSWORD, "Ida's", None, None)).signed_in
        second = (await register(anon, "jon@example.com", PASSWORD, "Jon's", None, None)).signed_in
        ctx = await bearer(services, first.access.token)
        login = """mutation($i: LoginInput!) { login(input: $i) {
            tokens { tokenType expiresAt accessToken } session { id current } user { email role }
            userErrors { field } } }"""
        data, errors = await run(anon, login, {"i": {"email": "ida@example.com", "password": PASSWORD}})
        assert not errors, errors
        signed_in = data["login"]
        assert signed_in["tokens"]["tokenType"] == "BEARER" and signed_in["userErrors"] == []
        assert signed_in["user"] == {"email": "ida@example.com", "role": "OWNER"}

        data, errors = await run(ctx, SESSIONS, {"first": 1})
        assert not errors, errors
        page = data["me"]["sessions"]
        assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"] is True and len(page["nodes"]) == 1
        data, _ = await run(ctx, SESSIONS, {"first": 1, "after": page["pageInfo"]["endCursor"]})
        nodes = page["nodes"] + data["me"]["sessions"]["nodes"]
        assert {n["databaseId"] for n in nodes} == {str(first.session.id), _db(signed_in)}
        assert [n["current"] for n in nodes if n["databaseId"] == str(first.session.id)] == [True]
        assert nodes[0]["tenant"]["name"] == "Ida's"

        # Revoking: the session comes back ended; again, it is a user error at the field.
        data, errors = await run(ctx, REVOKE, {"id": signed_in["session"]["id"]})
        assert not errors and data["revokeSession"]["userErrors"] == []
        assert data["revokeSession"]["session"]["revokedAt"] is not None
        for missing in (signed_in["session"]["id"], global_id("UserSession", uuid.uuid4()), "garbage"):
            data, errors = await run(ctx, REVOKE, {"id": missing})
            assert not errors
            assert data["revokeSession"]["session"] is None
            assert data["revokeSession"]["userErrors"][0]["field"] == ["input", "sessionId"]
            assert data["revokeSession"]["userErrors"][0]["code"] == "NOT_FOUND"
        data, _ = await run(ctx, SESSIONS, {"revoked": False})
        assert data["me"]["sessions"]["totalCount"] == 1
        data, _ = await run(ctx, SESSIONS, {"revoked": True})
        assert data["me"]["sessions"]["totalCount"] == 2

        # Another user's session: null as a node, not found to revoke.
        theirs = await bearer(services, second.access.token)
        data, errors = await run(theirs, "query($id: ID!) { node(id: $id) { id } }", {"id": nodes[0]["id"]})
        assert data["node"] is None and not errors
        data, _ = await run(theirs, REVOKE, {"id": nodes[0]["id"]})
        assert data["revokeSession"]["userErrors"][0]["code"] == "NOT_FOUND"


def _db(signed_in: dict) -> str:
    from strawberry.relay import GlobalID

    return GlobalID.from_id(signed_in["session"]["id"]).node_id


async def test_login_errors_and_the_tenant_choice(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.4.1")
        reg = await register(anon, "kai@example.com", PASSWORD, "Kai's", None, None)
        shared = await tenant_member(services, "owner", "Shared")
        await add_member(services, shared.principal.tenant_id, "viewer", "lee@example.com")
        async with services.db.platform_session() as s:
            s.add(Membership(tenant_id=shared.principal.tenant_id, user_id=reg.signed_in.user.id, role="viewer"))
            await s.commit()
        login = """mutation($i: LoginInput!) { login(input: $i) {
            tokens { accessToken } user { role tenant { name } } userErrors { field message code } } }"""
        # Wrong credentials: top-level UNAUTHENTICATED (a guess, not a field to correct).
        data, errors = await run(anon, login, {"i": {"email": "kai@example.com", "password": PASSWORD + "!"}})
        assert data is None and errors[0]["code"] == "UNAUTHENTICATED" and errors[0]["path"] == ["login"]
        # A member of two tenants names one.
        data, errors = await run(anon, login, {"i": {"email": "kai@example.com", "password": PASSWORD}})
        assert not errors and data["login"]["tokens"] is None
        assert data["login"]["userErrors"][0]["field"] == ["input", "tenantId"]
        assert data["login"]["userErrors"][0]["code"] == "INVALID"
        shared_id = global_id("Tenant", shared.principal.tenant_id)
        data, errors = await run(
            anon, login, {"i": {"email": "kai@example.com", "password": PASSWORD, "tenantId": shared_id}}
        )
        assert not errors and data["login"]["user"] == {"role": "VIEWER", "tenant": {"name": "Shared"}}
        data, errors = await run(
            anon, login, {"i": {"email": "kai@example.com", "password": PASSWORD, "tenantId": "x"}}
        )
        assert data["login"]["userErrors"][0] == {
            **data["login"]["userErrors"][0],
            "field": ["input", "tenantId"],
            "code": "NOT_FOUND",
        }
        # A tenant of someone else's answers like a wrong password.
        foreign = global_id("Tenant", uuid.uuid4())
        data, errors = await run(
            anon, login, {"i": {"email": "kai@example.com", "password": PASSWORD, "tenantId": foreign}}
        )
        assert data is None and errors[0]["code"] == "UNAUTHENTICATED"


REGISTER = """mutation($i: RegisterInput!) { register(input: $i) {
    tokens { accessToken } user { email role emailVerified } tenant { name }
    userErrors { field message code } } }"""


async def test_register_user_errors_name_the_field(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.5.1")
        good = {"email": "max@example.com", "password": PASSWORD, "tenantName": "Max Co", "acceptTerms": True}
        for change, field in (
            ({"email": "nope"}, ["input", "email"]),
            ({"password": "short"}, ["input", "password"]),
            ({"tenantName": "x"}, ["input", "tenantName"]),
            ({"acceptTerms": False}, ["input", "acceptTerms"]),
        ):
            data, errors = await run(anon, REGISTER, {"i": {**good, **change}})
            assert not errors, errors
            assert data["register"]["tokens"] is None
            assert {tuple(e["field"]) for e in data["register"]["userErrors"]} == {tuple(field)}, change
            assert data["register"]["userErrors"][0]["code"] == "INVALID"
        data, errors = await run(anon, REGISTER, {"i": good})
        assert not errors and data["register"]["userErrors"] == []
        assert data["register"]["user"] == {"email": "max@example.com", "role": "OWNER", "emailVerified": False}
        assert data["register"]["tenant"] == {"name": "Max Co"}
        data, errors = await run(anon, REGISTER, {"i": {**good, "email": "MAX@example.com"}})
        assert data["register"]["userErrors"] == [
            {"field": ["input", "email"], "message": "Email already registered.", "code": "CONFLICT"}
        ]
        data, _ = await run(anon, "{ signupPolicy { policy inviteRequired requestAccessEnabled } }")
        assert data["signupPolicy"] == {"policy": "PUBLIC", "inviteRequired": False, "requestAccessEnabled": False}


SETTINGS = """mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) {
    settings { version planMetadata { key value } flags { key enabled } billingContacts { email notifyBilling } }
    userErrors { field message code } } }"""


async def test_tenant_settings_write_with_versions_and_user_errors(tmp_path):
    async with platform(tmp_path) as services:
        admin = await tenant_member(services, "admin", "Acme")
        member = await tenant_member(services, "member", "Acme 2")
        body = {
            "expectedVersion": 0,
            "billingContacts": [{"name": "Ada", "email": "ada@example.com"}],
            "planMetadata": [{"key": "tier", "value": "gold"}],
            "flags": [{"key": "beta", "enabled": True}],
        }
        data, errors = await run(member, SETTINGS, {"i": body})
        assert data is None and errors[0]["code"] == "FORBIDDEN"

        data, errors = await run(admin, SETTINGS, {"i": body})
        assert not errors and data["updateTenantSettings"]["userErrors"] == []
        assert data["updateTenantSettings"]["settings"] == {
            "version": 1,
            "planMetadata": [{"key": "tier", "value": "gold"}],
            "flags": [{"key": "beta", "enabled": True}],
            "billingContacts": [{"email": "ada@example.com", "notifyBilling": True}],
        }
        for change, field, code in (
            ({}, ["input", "expectedVersion"], "CONFLICT"),  # version 0 is stale now
            ({"expectedVersion": -1}, ["input", "expectedVersion"], "INVALID"),
            (
                {"expectedVersion": 1, "billingContacts": [{"name": "A", "email": "x"}]},
                ["input", "billingContacts", "0", "email"],
                "INVALID",
            ),
            (
                {"expectedVersion": 1, "flags": [{"key": "a", "enabled": True}] * 2},
                ["input", "flags", "1", "key"],
                "INVALID",
            ),
            ({"expectedVersion": 1, "billingWebhookUrl": "ftp://x"}, ["input", "billingWebhookUrl"], "INVALID"),
        ):
            data, errors = await run(admin, SETTINGS, {"i": {**body, **change}})
            assert not errors, errors
            assert data["updateTenantSettings"]["settings"] is None
            assert [(e["field"], e["code"]) for e in data["updateTenantSettings"]["userErrors"]] == [(field, code)]
        data, _ = await run(admin, "{ tenant { settings { version updatedAt flags { key } } } }")
        assert data["tenant"]["settings"]["version"] == 1 and data["tenant"]["settings"]["flags"] == [{"key": "beta"}]


async def test_account_mutations_answer_payloads(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.6.1")
        reg = (await register(anon, "ned@example.com", PASSWORD, "Ned's", None, None)).signed_in
        ctx = await bearer(services, reg.access.token, "10.0.6.1")
        change = """mutation($i: ChangePasswordInput!) { changePassword(input: $i) {
            user { email } userErrors { field code } } }"""
        data, errors = await run(
            ctx, change, {"i": {"currentPassword": "wrong one entirely", "newPassword": PASSWORD + "2"}}
        )
        assert not errors and data["changePassword"] == {
            "user": None,
            "userErrors": [{"field": ["input", "currentPassword"], "code": "INVALID"}],
        }
        data, errors = await run(ctx, change, {"i": {"currentPassword": PASSWORD, "newPassword": "weak"}})
        assert data["changePassword"]["userErrors"][0]["field"] == ["input", "newPassword"]
        data, errors = await run(ctx, change, {"i": {"currentPassword": PASSWORD, "newPassword": PASSWORD + "2"}})
        assert not errors and data["changePassword"] == {"user": {"email": "ned@example.com"}, "userErrors": []}

        verify = "mutation($t: String!) { verifyEmail(input: {token: $t}) { emailVerified userErrors { field code } } }"
        data, errors = await run(anon, verify, {"t": "not-a-token"})
        assert data["verifyEmail"] == {
            "emailVerified": None,
            "userErrors": [{"field": ["input", "token"], "code": "INVALID"}],
        }
        send = "mutation { sendEmailVerification { sent user { emailVerified } userErrors { code } } }"
        data, errors = await run(ctx, send)
        assert not errors and data["sendEmailVerification"] == {
            "sent": True,
            "user": {"emailVerified": False},
            "userErrors": [],
        }
        forgot = "mutation($e: String!) { forgotPassword(input: {email: $e}) { requested userErrors { field } } }"
        data, _ = await run(anon, forgot, {"e": "nobody@example.com"})
        assert data["forgotPassword"] == {"requested": True, "userErrors": []}
        data, _ = await run(anon, forgot, {"e": "not an email"})
        assert data["forgotPassword"] == {"requested": None, "userErrors": [{"field": ["input", "email"]}]}

        support = await tenant_member(services, "owner", "Support Co")
        reset = """mutation($i: ResetUserPasswordInput!) { resetUserPassword(input: $i) {
            user { email } userErrors { field code } } }"""
        foreign = global_id("User", reg.user.id)
        data, errors = await run(support, reset, {"i": {"userId": foreign, "newPassword": PASSWORD + "3"}})
        assert not errors and data["resetUserPassword"]["userErrors"] == [
            {"field": ["input", "userId"], "code": "NOT_FOUND"}
        ]
        mine = global_id("User", support.principal.subject.removeprefix("user:"))
        data, errors = await run(support, reset, {"i": {"userId": mine, "newPassword": PASSWORD + "3"}})
        assert not errors and data["resetUserPassword"]["userErrors"] == []
        assert data["resetUserPassword"]["user"]["email"].endswith("@example.com")


async def test_a_members_page_costs_the_same_statements_for_one_member_or_many(tmp_path):
    from sqlalchemy import event

    async with platform(tmp_path) as services:
        statements: list[str] = []
        event.listen(services.db.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        query = """{ tenant { members(first: 50) { totalCount nodes { role user { email tenant { name } } } } } }"""

        async def cost(ctx) -> int:
            statements.clear()
            data, errors = await run(ctx, query)
            assert not errors, errors
            return len(statements)

        small = await tenant_member(services, "owner", "Small")
        large = await tenant_member(services, "owner", "Large")
        for i in range(6):
            await add_member(services, large.principal.tenant_id, "member", f"n{i}-{uuid.uuid4().hex[:6]}@example.com")
        await cost(small)  # warm: the tenant context is decided once per request context
        await cost(large)
        assert 1 < await cost(small) == await cost(large)


async def test_refresh_logout_and_logout_all_payloads(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.7.1")
        reg = (await register(anon, "ola@example.com", PASSWORD, "Ola's", None, None)).signed_in
        refresh = """mutation($t: String!) { refreshSession(input: {refreshToken: $t}) {
            tokens { refreshToken accessToken } session { databaseId } user { email } userErrors { code } } }"""
        data, errors = await run(anon, refresh, {"t": reg.refresh.token})
        assert not errors, errors
        fresh = data["refreshSession"]
        assert fresh["session"]["databaseId"] == str(reg.session.id) and fresh["user"]["email"] == "ola@example.com"
        # The used token again: UNAUTHENTICATED at the top (and the family ends), not a user error.
        data, errors = await run(anon, refresh, {"t": reg.refresh.token})
        assert data is None and errors[0]["code"] == "UNAUTHENTICATED"

        second = (await register(anon, "pia@example.com", PASSWORD, "Pia's", None, None)).signed_in
        ctx = await bearer(services, second.access.token)
        logout = "mutation($t: String!) { logout(input: {refreshToken: $t}) { revoked userErrors { code } } }"
        data, errors = await run(ctx, logout, {"t": second.refresh.token})
        assert not errors and data["logout"] == {"revoked": True, "userErrors": []}
        data, errors = await run(ctx, logout, {"t": second.refresh.token})
        assert data["logout"] == {"revoked": False, "userErrors": []}  # already ended

        third = (await register(anon, "quin@example.com", PASSWORD, "Quin's", None, None)).signed_in
        login = 'mutation { login(input: {email: "quin@example.com", password: "%s"}) { userErrors { code } } }'
        await run(anon, login % PASSWORD)
        ctx = await bearer(services, third.access.token)
        data, errors = await run(ctx, "mutation { logoutAll { revokedCount userErrors { code } } }")
        assert not errors and data["logoutAll"] == {"revokedCount": 2, "userErrors": []}
        data, errors = await run(client(services), "mutation { logoutAll { revokedCount } }")
        assert data is None and errors[0]["code"] == "UNAUTHENTICATED"
