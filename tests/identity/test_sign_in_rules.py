"""Sign-in rules, in-process (tests/inprocess.py): domain/identity/auth.py and login_throttle.py.

- refresh tokens rotate; a used one coming back ends the whole session (every token of it, the
  access token included);
- sign-in normalises the email; a user of several tenants must name one, and naming a tenant
  they are not in answers like a wrong password; the role of the membership decides the scopes;
- logout takes only the caller's own refresh token; logout_all ends every session of the user;
- throttling: after the free failures a client waits, doubling up to the cap; the same account
  from another client is not slowed; a success clears the client's count; an unknown email is
  throttled exactly like a known one.
"""

from __future__ import annotations

import uuid

import pytest

from agentdeck.auth.revocation import Revocations
from agentdeck.db.models.identity import AuthSession, Membership, User
from agentdeck.domain.identity.admin import add_tenant
from agentdeck.domain.identity.auth import BAD_CREDENTIALS, login, logout, logout_all, refresh
from agentdeck.domain.identity.login_throttle import backoff_seconds
from agentdeck.domain.identity.registration import register
from agentdeck.errors import BadRequest, Forbidden, RateLimited, Unauthenticated
from agentdeck.providers.bus import InProcessBus
from tests.inprocess import bearer, client, platform

PASSWORD = "correct horse battery staple"


async def test_a_used_refresh_token_coming_back_ends_the_whole_session(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.0.1")
        first = (await register(anon, "ann@example.com", PASSWORD, "Ann's", None, None)).signed_in
        second = await refresh(anon, first.refresh.token)
        assert second.session.id == first.session.id  # one family
        assert second.refresh.jti != first.refresh.jti
        assert second.scopes == first.scopes

        with pytest.raises(Unauthenticated, match="already been used"):
            await refresh(anon, first.refresh.token)  # someone kept a copy
        async with services.db.platform_session() as s:
            session = await s.get(AuthSession, first.session.id)
        assert session.revoked_reason == "refresh_reuse"
        with pytest.raises(Unauthenticated, match="has been revoked"):
            await refresh(anon, second.refresh.token)  # the legitimate holder's token dies too
        with pytest.raises(Unauthenticated, match="Session has been revoked"):
            await bearer(services, second.access.token)


async def test_a_user_of_several_tenants_names_one_and_gets_that_roles_scopes(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.0.2")
        reg = await register(anon, "Bob@Example.com ", PASSWORD, "Bob's", None, None)
        async with services.db.platform_session() as s:
            other = User(email="carol@example.com", password_hash="unused")
            s.add(other)
            await s.flush()
            shared, _ = await add_tenant(s, "Carol's", other)
            s.add(Membership(tenant_id=shared.id, user_id=reg.signed_in.session.user_id, role="viewer"))
            await s.commit()

        with pytest.raises(BadRequest, match="tenant_id is required"):
            await login(anon, "bob@example.com", PASSWORD, None)
        with pytest.raises(Unauthenticated) as not_member:
            await login(anon, "bob@example.com", PASSWORD, uuid.uuid4())
        with pytest.raises(Unauthenticated) as wrong_password:
            await login(anon, "bob@example.com", PASSWORD + "!", reg.tenant.id)
        assert not_member.value.message == wrong_password.value.message == BAD_CREDENTIALS

        # The same client: the right password without a tenant is not a failed attempt, so the
        # two failures above stay under the three a client gets before it must wait.
        viewer = await login(anon, "  BOB@example.COM", PASSWORD, shared.id)
        assert viewer.session.tenant_id == shared.id
        assert sorted(viewer.scopes) == ["conversations:read", "tools:read"]
        assert viewer.access.claims["roles"] == ["viewer"]
        owner = await login(anon, "bob@example.com", PASSWORD, reg.tenant.id)
        assert "billing:manage" in owner.scopes


async def test_logout_takes_only_the_callers_token_and_logout_all_ends_every_session(tmp_path):
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.0.3")
        dan = (await register(anon, "dan@example.com", PASSWORD, "Dan's", None, None)).signed_in
        eve = (await register(anon, "eve@example.com", PASSWORD, "Eve's", None, None)).signed_in
        dan_ctx = await bearer(services, dan.access.token)
        with pytest.raises(Forbidden, match="another user"):
            await logout(dan_ctx, eve.refresh.token)

        await login(anon, "dan@example.com", PASSWORD, None)  # a second session
        outcome = await logout_all(dan_ctx)
        assert outcome.data == 2
        assert (await logout(dan_ctx, dan.refresh.token)).data is False  # already ended
        await bearer(services, eve.access.token)  # eve's session lives on


async def test_a_failing_client_waits_while_the_owner_elsewhere_signs_in(tmp_path):
    async with platform(tmp_path, login_backoff_base_seconds=60) as services:
        guesser, owner = client(services, "203.0.113.9"), client(services, "198.51.100.7")
        await register(owner, "fay@example.com", PASSWORD, "Fay's", None, None)

        async def attempts(ctx, email, password, n):
            answers = []
            for _ in range(n):
                try:
                    await login(ctx, email, password, None)
                    answers.append("ok")
                except (Unauthenticated, RateLimited) as exc:
                    answers.append(exc.code if isinstance(exc, RateLimited) else "bad")
            return answers

        # The third failure opens a 60 s wait: even the right password is refused meanwhile.
        assert await attempts(guesser, "fay@example.com", "wrong", 3) == ["bad", "bad", "bad"]
        with pytest.raises(RateLimited) as waited:
            await login(guesser, "fay@example.com", PASSWORD, None)
        assert waited.value.retry_after == 60
        # Each further failure doubles the wait, up to the cap; a huge streak does not overflow.
        waits = [backoff_seconds(n, services.settings) for n in (1, 2, 3, 4, 5, 6, 7, 10**9)]
        assert waits == [0, 0, 60, 120, 240, 480, 900, 900]
        # An email nobody has is answered the same way, so the answers reveal no accounts.
        assert await attempts(guesser, "nobody@example.com", "wrong", 4) == ["bad", "bad", "bad", "RATE_LIMITED"]

        # The owner's own client is not slowed, and a success clears that client's count.
        assert await attempts(owner, "fay@example.com", "wrong", 2) == ["bad", "bad"]
        assert await attempts(owner, "fay@example.com", PASSWORD, 1) == ["ok"]
        assert await attempts(owner, "fay@example.com", "wrong", 3) == ["bad", "bad", "bad"]
        assert await attempts(owner, "fay@example.com", PASSWORD, 1) == ["RATE_LIMITED"]


async def test_a_logout_is_refused_at_once_by_a_process_its_message_has_not_reached(tmp_path):
    """Two processes share the database and the bus's epoch, but process B has not yet read the
    pub/sub message announcing the logout (a loaded process reads its socket late): B's cached
    "live" answer must not outlive the logout."""
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.0.9")
        ann = (await register(anon, "late@example.com", PASSWORD, "Late's", None, None)).signed_in
        bus_b = InProcessBus()  # pub/sub of its own: A's messages never reach it
        bus_b._epochs = services.bus._epochs  # the counter both read (a Redis key in production)
        process_b = Revocations(services.db, bus_b)
        await process_b.start()
        await services.revocations.start()
        try:
            assert await process_b.is_live(ann.session.id)  # B caches "live"
            assert await process_b.is_live(ann.session.id)
            await logout(await bearer(services, ann.access.token), ann.refresh.token)  # on A
            assert not await process_b.is_live(ann.session.id)
        finally:
            await process_b.stop()
            await services.revocations.stop()
