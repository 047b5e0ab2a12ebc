"""Shared state under concurrent writers: counters kept in SQL, quotas that admit no more than
they allow. Each test fires its requests at once from threads against the shared server (SQLite,
and PostgreSQL + Redis when they answer)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from tests.harness import fresh_database, needs_postgres, start_server
from tests.users import register

CHAT = "/api/v1/chat"
TURNS = 20


def _at_once(n: int, call: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """`n` calls released together (a barrier), each on its own thread and connection."""
    barrier = threading.Barrier(n)
    out: list[httpx.Response | BaseException] = [RuntimeError("did not run")] * n

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            out[i] = call(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    failures = [r for r in out if isinstance(r, BaseException)]
    assert not failures, failures[0]
    return out  # type: ignore[return-value]


def _client(server) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=60)


def _post(server, path: str, token: str, body: dict) -> httpx.Response:
    with _client(server) as c:
        return c.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_concurrent_turns_on_one_conversation_keep_its_counter_and_preview(server):
    acct = register(server, verified=True)
    t = acct.access_token
    cid = server.rest("POST", CHAT, token=t, json={"message": "opening"}).json()["conversation_id"]
    replies = _at_once(TURNS, lambda i: _post(server, CHAT, t, {"message": f"turn {i}", "conversation_id": cid}))
    assert [r.status_code for r in replies] == [200] * TURNS, [r.text for r in replies if r.status_code != 200]

    history = server.rest("GET", f"/api/v1/conversations/{cid}", token=t).json()["messages"]
    assert len(history) == 2 * (TURNS + 1)
    listed = server.rest("GET", "/api/v1/conversations", token=t).json()["items"]
    [row] = [c for c in listed if c["conversation_id"] == cid]
    assert row["message_count"] == len(history)
    # The preview is the newest message's (the list and the history agree on which that is).
    newest = max(history, key=lambda m: m["timestamp"])
    assert row["last_message_preview"] == newest["content"][:280]


def test_concurrent_first_turns_under_one_new_id_share_the_conversation(server):
    acct = register(server, verified=True)
    cid = str(uuid.uuid4())  # client-chosen: the turns race to create it
    replies = _at_once(
        10, lambda i: _post(server, CHAT, acct.access_token, {"message": f"first {i}", "conversation_id": cid})
    )
    assert [r.status_code for r in replies] == [200] * 10, [r.text for r in replies if r.status_code != 200]
    history = server.rest("GET", f"/api/v1/conversations/{cid}", token=acct.access_token).json()["messages"]
    assert len(history) == 20
    [row] = server.rest("GET", "/api/v1/conversations", token=acct.access_token).json()["items"]
    assert row["message_count"] == 20


def test_concurrent_turns_from_new_conversations_are_each_counted(server):
    acct = register(server, verified=True)
    replies = _at_once(10, lambda i: _post(server, CHAT, acct.access_token, {"message": f"solo {i}"}))
    assert [r.status_code for r in replies] == [200] * 10
    listed = server.rest("GET", "/api/v1/conversations", token=acct.access_token, params={"limit": 50}).json()
    assert sorted(c["message_count"] for c in listed["items"]) == [2] * 10


def test_a_usage_hard_limit_admits_exactly_what_is_left(server):
    acct = register(server, verified=True)
    t = acct.access_token
    base = f"/api/v1/billing/tenants/{acct.tenant_id}"
    assert server.rest("POST", f"{base}/subscription", token=t, json={"plan_code": "starter"}).status_code == 201
    # 97 of the starter plan's 100 messages used: 3 turns are left, and 8 race for them.
    assert (
        server.rest("POST", f"{base}/usage", token=t, json={"feature_key": "messages", "quantity": 97}).status_code
        == 202
    )
    replies = _at_once(8, lambda i: _post(server, CHAT, t, {"message": f"race {i}"}))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] * 3 + [429] * 5, codes
    assert all(r.json()["error"] == "usage_limit_exceeded" for r in replies if r.status_code == 429)
    totals = server.gql("{ billingUsage { nodes { featureKey quantity } } }", token=t)
    assert {"featureKey": "messages", "quantity": 100} in totals["data"]["billingUsage"]["nodes"], totals


def test_quotas_admit_no_more_than_they_allow(backend, tmp_path):
    """A quota counted over the tenant's rows: the check and the insert are one transaction
    holding the tenant row's lock, so concurrent creators cannot both see room for one."""
    with fresh_database(backend, tmp_path) as url:
        srv = start_server(
            tmp_path,
            backend=backend,
            database_url=url,
            env={"AGENTDECK_VECTOR_STORE_MAX_PER_TENANT": "3", "AGENTDECK_CONTAINER_MAX_PER_TENANT": "2"},
        )
        try:
            _fill_quotas(srv)
        finally:
            srv.stop()


def _fill_quotas(srv) -> None:
    t = register(srv, verified=True).access_token
    stores = _at_once(8, lambda i: _post(srv, "/api/v1/vector-stores", t, {"name": f"store {i}"}))
    assert sorted(r.status_code for r in stores) == [201] * 3 + [403] * 5
    assert srv.rest("GET", "/api/v1/vector-stores", token=t).json()["total"] == 3
    containers = _at_once(6, lambda i: _post(srv, "/api/v1/containers", t, {"name": f"box {i}"}))
    assert sorted(r.status_code for r in containers) == [201] * 2 + [403] * 4
    assert srv.rest("GET", "/api/v1/containers", token=t).json()["total"] == 2


def test_one_refresh_token_presented_at_once_rotates_once(server):
    """Rotation is single use under concurrency too: of five refreshes racing with one token,
    one rotates it and the others are reuse, which ends the session."""
    acct = register(server, verified=True)
    replies = _at_once(5, lambda i: _post(server, "/api/v1/auth/refresh", "-", {"refresh_token": acct.refresh_token}))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] + [401] * 4, codes
    [winner] = [r.json() for r in replies if r.status_code == 200]
    assert server.rest("GET", "/api/v1/auth/me", token=winner["access_token"]).status_code == 401


# A failed payment event is retried by one process ---------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=needs_postgres)])
async def db(request, tmp_path):
    from agentdeck.db.migrate import upgrade
    from agentdeck.db.session import Database

    with fresh_database(request.param, tmp_path) as url:
        await asyncio.to_thread(upgrade, url)
        database = Database(url)
        yield database
        await database.dispose()


async def test_every_process_sees_a_due_retry_but_one_runs_it(db):
    from agentdeck.db.models import StripeEvent
    from agentdeck.domain.billing.events import _claim

    now = datetime.now(UTC)
    event = StripeEvent(
        stripe_event_id=f"evt_{uuid.uuid4().hex}",
        event_type="invoice.paid",
        payload={},
        stripe_created_at=now,
        processing_outcome="failed",
        processing_attempts=1,
        next_retry_at=now - timedelta(seconds=1),
    )
    async with db.platform_session() as s:
        s.add(event)
        await s.commit()
    workers = [SimpleNamespace(platform_session=db.platform_session) for _ in range(5)]
    claimed = await asyncio.gather(*(_claim(w, event.id) for w in workers))
    assert sorted(claimed) == [False] * 4 + [True]
    async with db.platform_session() as s:
        pushed = await s.get(StripeEvent, event.id)
    assert pushed.next_retry_at > now  # not due again until the claim lapses
