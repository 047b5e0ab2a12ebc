"""Activity feed rules, in-process (tests/inprocess.py): domain/activity.

- an event is recorded in the transaction of its change: committed with it, published once it
  commits, never seen when it rolls back;
- the feed is the tenant's own (another tenant's event id is not found), newest first, paged by
  cursor, filtered;
- read state is per reader: read, dismissed, mark-all (a checkpoint that dismissals survive),
  the unread count; one reader's marks never change another's;
- the live stream delivers new events and, resumed after an event, the ones since then first,
  none twice; the `activity:read` scope is required.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agentdeck.auth.tenancy import Principal
from agentdeck.context import Context
from agentdeck.db.models import ActivityEvent, ActivityReceipt
from agentdeck.domain import activity
from agentdeck.domain.files.storage import UploadRequest, create_upload, delete_object, store_bytes
from agentdeck.domain.identity.auth import login
from agentdeck.domain.identity.registration import register
from agentdeck.errors import BadRequest, Forbidden, InvalidInput, NotFound
from tests.inprocess import client, platform, tenant_member

PASSWORD = "correct horse battery staple"


async def _emit(ctx, action: str = "test.thing", **fields) -> uuid.UUID:
    """Record one event in the caller's tenant, in a transaction of its own."""
    async with ctx.session() as s:
        row = activity.record(ctx, s, action, **fields)
        await s.commit()
    return row.id


async def _next(agen):
    return await asyncio.wait_for(anext(agen), 5.0)


async def test_an_event_commits_with_its_change_and_is_published_only_then(tmp_path):
    async with platform(tmp_path) as services:
        owner = await tenant_member(services)
        anchor = await _emit(owner, "test.anchor")
        live = activity.stream(owner, anchor)  # subscribes, then replays what came after `anchor`
        kept = []
        for n in range(2):
            async with owner.session() as s:
                activity.record(owner, s, "test.rolled_back")
                await s.rollback()
            kept.append(await _emit(owner, "test.kept", object_type="thing", object_id=f"t-{n}", metadata={"n": n}))
            entry = await _next(live)
            # The first comes from the replay or live; the second can only come live (the stream
            # was subscribed before it replayed). The rolled-back ones never come.
            assert entry.event.id == kept[n] and entry.read_state == "unread"
            assert entry.event.meta == {"n": n}
        await live.aclose()

        page = await activity.feed(owner, activity.Filter(), 50, None)
        assert [e.event.action for e in page.items] == ["test.kept", "test.kept", "test.anchor"]
        event = page.items[0].event
        assert (event.actor_type, event.actor_id, event.actor_role) == ("user", owner.principal.subject[5:], "owner")
        assert (event.object_type, event.object_id, event.meta, event.status) == ("thing", "t-1", {"n": 1}, "success")


async def test_the_feed_is_the_tenants_own_and_paged_newest_first(tmp_path):
    async with platform(tmp_path) as services:
        owner = await tenant_member(services)
        other = await tenant_member(services, tenant_name="Other")
        ids = [await _emit(owner, f"test.n{i}", object_id=str(i)) for i in range(5)]
        foreign = await _emit(other, "test.foreign")

        page = await activity.feed(owner, activity.Filter(), 2, None)
        seen = [e.event.id for e in page.items]
        while page.next_cursor:
            page = await activity.feed(owner, activity.Filter(), 2, page.next_cursor)
            seen += [e.event.id for e in page.items]
        assert seen == ids[::-1]
        assert page.unread_count == 5

        by_object = await activity.feed(owner, activity.Filter(object_id="3"), 50, None)
        assert [e.event.id for e in by_object.items] == [ids[3]]
        assert (await activity.feed(owner, activity.Filter(status="failure"), 50, None)).items == []
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert (await activity.feed(owner, activity.Filter(created_after=later), 50, None)).items == []
        naive = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None)  # read as UTC
        assert len((await activity.feed(owner, activity.Filter(created_after=naive), 50, None)).items) == 5
        offset = await activity.feed_page(owner, activity.Filter(), 1, 2)
        assert [e.event.id for e in offset.items] == [ids[3], ids[2]] and offset.total == 5

        found = await activity.entries_by_ids(owner, [foreign, ids[0]])
        assert found[0] is None and found[1] is not None and found[1].event.id == ids[0]
        with pytest.raises(NotFound):
            await activity.mark(owner, foreign, "read")
        with pytest.raises(BadRequest, match="Invalid pagination cursor"):
            await activity.feed(owner, activity.Filter(), 2, "not-a-cursor")
        with pytest.raises(InvalidInput):
            await activity.feed(owner, activity.Filter(status="bogus"), 2, None)


async def test_read_state_is_per_reader_and_mark_all_keeps_dismissals(tmp_path):
    async with platform(tmp_path) as services:
        owner = await tenant_member(services)
        ids = [await _emit(owner, f"test.n{i}") for i in range(3)]
        other = Context(  # another reader of the same tenant: an admin of it
            services=services,
            principal=Principal(
                subject=f"user:{uuid.uuid4()}",
                scopes=owner.principal.scopes,
                tenant_id=owner.principal.tenant_id,
                roles=("admin",),
                claims={"email_verified": True},
            ),
        )
        await activity.mark(owner, ids[0], "read")
        await activity.mark(owner, ids[1], "dismissed")
        assert await activity.unread_count(owner) == 1
        assert await activity.unread_count(other) == 3  # not touched by the first reader

        states = {e.event.id: e.read_state for e in (await activity.feed(owner, activity.Filter(), 50, None)).items}
        assert states == {ids[0]: "read", ids[1]: "dismissed", ids[2]: "unread"}
        unread = await activity.feed_page(owner, activity.Filter(read_state="unread"), 0, 10)
        assert [e.event.id for e in unread.items] == [ids[2]]

        assert await activity.mark_all(owner) == 0
        states = {e.event.id: e.read_state for e in (await activity.feed(owner, activity.Filter(), 50, None)).items}
        assert states == {ids[0]: "read", ids[1]: "dismissed", ids[2]: "read"}
        assert await activity.unread_count(other) == 3

        newer = await _emit(owner, "test.after")
        assert await activity.unread_count(owner) == 1
        dismissed = await activity.feed_page(owner, activity.Filter(read_state="dismissed"), 0, 10)
        assert [e.event.id for e in dismissed.items] == [ids[1]]
        read = await activity.feed_page(owner, activity.Filter(read_state="read"), 0, 10)
        assert {e.event.id for e in read.items} == {ids[0], ids[2]}
        await activity.mark(owner, newer, "read")
        await activity.mark(owner, newer, "dismissed")  # a second mark changes the receipt
        assert (await activity.entries_by_ids(owner, [newer]))[0].read_state == "dismissed"


async def test_activity_needs_the_activity_scope(tmp_path):
    async with platform(tmp_path) as services:
        member = await tenant_member(services, role="member")
        with pytest.raises(Forbidden, match="Insufficient scopes"):
            await activity.feed(member, activity.Filter(), 10, None)
        with pytest.raises(Forbidden):
            await activity.mark_all(member)


async def test_a_resumed_stream_replays_what_came_after_then_goes_live(tmp_path):
    async with platform(tmp_path) as services:
        owner = await tenant_member(services)
        other = await tenant_member(services, tenant_name="Other")
        ids = [await _emit(owner, f"test.n{i}") for i in range(3)]
        foreign = await _emit(other, "test.foreign")

        resumed = activity.stream(owner, ids[0])
        assert [(await _next(resumed)).event.id for _ in range(2)] == ids[1:]
        live = await _emit(owner, "test.live")
        assert (await _next(resumed)).event.id == live
        await resumed.aclose()

        unknown = activity.stream(owner, foreign)  # another tenant's id: nothing replayed, live only
        pending = asyncio.ensure_future(anext(unknown))
        newest: list[uuid.UUID] = []
        for _ in range(50):  # until the stream is subscribed and sees one (bounded)
            await _emit(other, "test.other_tenant")
            newest.append(await _emit(owner, "test.newest"))
            done, _ = await asyncio.wait({pending}, timeout=0.1)
            if done:
                break
        assert (await pending).event.id in newest  # not one of the older events, not the other tenant's
        await unknown.aclose()


async def test_platform_changes_are_recorded(tmp_path):
    """Sign-in, registration and files record their events (workflow runs and billing changes
    are covered end to end, tests/activity/test_activity.py)."""
    async with platform(tmp_path) as services:
        anon = client(services, "10.0.0.9")
        registered = await register(anon, "feed@example.com", PASSWORD, "Feed Co", None, None)
        await login(anon, "feed@example.com", PASSWORD, None)
        owner = await tenant_member(services)
        stored = await store_bytes(owner, "notes.txt", "text/plain", b"hello")
        await create_upload(owner, UploadRequest("later.txt", "text/plain", 5))  # pending: nothing yet
        await delete_object(owner, stored.id)

        tenant_id = registered.tenant.id
        async with services.db.session(tenant_id) as s:
            rows = list(await s.scalars(select(ActivityEvent).order_by(ActivityEvent.created_at)))
        assert [r.action for r in rows] == ["auth.signup.success", "auth.login.success"]
        login_row = rows[1]
        assert login_row.object_name == "feed@example.com" and login_row.actor_role == "owner"
        assert login_row.ip_hash and login_row.ip_hash != "10.0.0.9"

        page = await activity.feed(owner, activity.Filter(object_type="storage_object"), 10, None)
        assert [(e.event.action, e.event.object_name) for e in page.items] == [
            ("storage.file.deleted", "notes.txt"),
            ("storage.file.uploaded", "notes.txt"),
        ]


async def test_events_past_their_retention_are_purged_with_their_receipts(tmp_path):
    async with platform(tmp_path) as services:
        owner = await tenant_member(services)
        old, recent = await _emit(owner, "test.old"), await _emit(owner, "test.recent")
        await activity.mark(owner, old, "read")
        async with services.db.platform_session() as s:
            row = await s.get(ActivityEvent, old)
            assert row is not None
            row.created_at = datetime.now(UTC) - timedelta(days=91)
            await s.commit()

        assert await activity.purge_older(services.db, 90) == 1
        assert await activity.purge_older(services.db, 90) == 0
        page = await activity.feed(owner, activity.Filter(), 50, None)
        assert [e.event.id for e in page.items] == [recent]
        async with services.db.platform_session() as s:
            assert list(await s.scalars(select(ActivityReceipt))) == []
