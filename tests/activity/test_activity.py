"""The activity feed through both faces, against real servers (SQLite, and PostgreSQL + Redis):
the five legacy REST operations validated against the extended contract, the native graph, the
SSE stream (live, then resumed with Last-Event-ID) and the GraphQL subscription."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from agentdeck.db.base import Base
from agentdeck.db.migrate import upgrade
from agentdeck.db.session import Database
from tests.graphql_client import (
    ActivityFilter,
    ActivityReadState,
    ActivityStatus,
    DismissActivityInput,
    MarkActivityReadInput,
    MarkAllActivityReadInput,
)
from tests.harness import (
    BOOTSTRAP_SECRET,
    Server,
    assert_documented,
    assert_schema,
    fresh_database,
    needs_postgres_redis,
    sse_events,
    start_server,
)
from tests.users import Account, login, register

A = "/api/v1/activity"
READ = A + "/{event_id}/read"
DISMISS = A + "/{event_id}/dismiss"
ALL = A + "/mark-all-read"
STREAM = A + "/stream"
EVENT = "id databaseId action objectType objectId objectName status actorId actorType readState metadata"
PAYLOAD = "unreadCount userErrors { field message code }"


def feed(server: Server, token: str, **params) -> dict:
    r = server.rest("GET", A, token=token, params=params)
    assert_documented("GET", A, r, extended=True)
    assert r.status_code == 200, r.text
    return r.json()


def post(server: Server, template: str, token: str, event_id: str | None = None, **kw) -> httpx.Response:
    r = server.rest("POST", template.format(event_id=event_id), token=token, **kw)
    assert_documented("POST", template, r, extended=True)
    return r


def reader_in(server: Server, acct: Account) -> str:
    """Another reader of `acct`'s tenant: the billing-worker service account (activity:read)."""
    r = server.rest(
        "POST",
        "/api/v1/auth/service-accounts/issue",
        token=BOOTSTRAP_SECRET,
        json={"account": "billing-worker", "scopes": ["activity:read"], "tenant_id": acct.tenant_id},
    )
    assert r.status_code == 201, r.text
    return r.json()["refresh_token"]


def test_sign_in_run_upload_and_billing_appear_in_the_feed(server):
    acct = register(server, verified=True)  # registers, then signs in
    run = server.rest(
        "POST", "/api/v1/workflows/analysis_code/run", token=acct.access_token, json={"message": "Plan an app"}
    )
    assert run.status_code == 200, run.text
    upload = server.rest(
        "POST",
        "/api/v1/storage/objects/upload-url",
        token=acct.access_token,
        json={"filename": "notes.txt", "mime_type": "text/plain", "size_bytes": 5},
    )
    assert upload.status_code == 201, upload.text
    put = httpx.put(upload.json()["upload_url"], content=b"hello", headers={"Content-Type": "text/plain"})
    assert put.status_code < 300, put.text
    sub = server.rest(
        "POST",
        f"/api/v1/billing/tenants/{acct.tenant_id}/subscription",
        token=acct.access_token,
        json={"plan_code": "starter"},
    )
    assert sub.status_code == 201, sub.text

    body = feed(server, acct.access_token)
    actions = [item["action"] for item in body["items"]]
    for wanted in (
        "auth.signup.success",
        "auth.login.success",
        "workflow.run.started",
        "workflow.run.completed",
        "storage.file.uploaded",
        "billing.subscription.created",
    ):
        assert wanted in actions, (wanted, actions)
    assert actions.index("workflow.run.completed") < actions.index("workflow.run.started")  # newest first
    assert body["unread_count"] == len(actions) and all(i["read_state"] == "unread" for i in body["items"])
    assert all(i["tenant_id"] == acct.tenant_id for i in body["items"])
    signed_in = next(i for i in body["items"] if i["action"] == "auth.login.success")
    assert (signed_in["actor_id"], signed_in["actor_type"], signed_in["object_name"]) == (
        acct.user_id,
        "user",
        acct.email,
    )
    completed = next(i for i in body["items"] if i["action"] == "workflow.run.completed")
    assert completed["metadata"]["workflow_key"] == "analysis_code" and completed["status"] == "success"
    uploaded = next(i for i in body["items"] if i["action"] == "storage.file.uploaded")
    assert uploaded["object_id"] == upload.json()["object_id"] and uploaded["object_name"] == "notes.txt"

    # filters and cursor paging
    only = feed(server, acct.access_token, object_type="workflow_run", status="success")
    assert [i["action"] for i in only["items"]] == ["workflow.run.completed"]
    pages, cursor = [], None
    while True:
        page = feed(server, acct.access_token, limit=2, **({"cursor": cursor} if cursor else {}))
        pages += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [i["id"] for i in body["items"]]

    gql = server.gql(
        "query($f: ActivityFilter) { activity(first: 50, filter: $f) { totalCount nodes { %s } } "
        "unreadActivityCount }" % EVENT,
        {"f": {"objectType": "STORAGE_OBJECT"}},
        token=acct.access_token,
    )
    assert "errors" not in gql, gql
    nodes = gql["data"]["activity"]["nodes"]
    assert [(n["action"], n["objectName"], n["status"], n["readState"]) for n in nodes] == [
        ("storage.file.uploaded", "notes.txt", "SUCCESS", "UNREAD")
    ]
    assert gql["data"]["unreadActivityCount"] == len(actions)
    node = server.gql(
        "query($id: ID!) { node(id: $id) { ... on ActivityEvent { action } } }",
        {"id": nodes[0]["id"]},
        token=acct.access_token,
    )
    assert node["data"]["node"] == {"action": "storage.file.uploaded"}


def test_read_dismiss_and_mark_all_through_both_faces_are_the_callers_own(server):
    acct = register(server, verified=True)
    other = reader_in(server, acct)
    login(server, acct.email)
    items = feed(server, acct.access_token)["items"]
    assert len(items) == 3  # signup, and two sign-ins
    first, second, third = (i["id"] for i in items)

    r = post(server, READ, acct.access_token, first)
    assert r.status_code == 200 and r.json() == {"unread_count": 2}
    r = post(server, DISMISS, acct.access_token, second)
    assert r.status_code == 200 and r.json() == {"unread_count": 1}
    states = {i["id"]: i["read_state"] for i in feed(server, acct.access_token)["items"]}
    assert states == {first: "read", second: "dismissed", third: "unread"}
    assert feed(server, other)["unread_count"] == 3  # the other reader's state is its own

    gid = server.gql("{ activity(filter: {readState: UNREAD}) { nodes { id databaseId } } }", token=acct.access_token)[
        "data"
    ]["activity"]["nodes"]
    assert [n["databaseId"] for n in gid] == [third]
    marked = server.gql(
        "mutation($i: MarkActivityReadInput!) { markActivityRead(input: $i) { event { readState } %s } }" % PAYLOAD,
        {"i": {"id": gid[0]["id"]}},
        token=acct.access_token,
    )["data"]["markActivityRead"]
    assert marked == {"event": {"readState": "READ"}, "unreadCount": 0, "userErrors": []}
    dismissed = server.gql(
        "mutation($i: DismissActivityInput!) { dismissActivity(input: $i) { event { readState } %s } }" % PAYLOAD,
        {"i": {"id": gid[0]["id"]}},
        token=acct.access_token,
    )["data"]["dismissActivity"]
    assert dismissed["event"] == {"readState": "DISMISSED"} and dismissed["userErrors"] == []

    # mark-all: only the caller; dismissals survive; later events are unread again
    r = post(server, ALL, other)
    assert r.status_code == 200 and r.json() == {"unread_count": 0}
    assert {i["read_state"] for i in feed(server, other)["items"]} == {"read"}
    login(server, acct.email)
    all_read = server.gql("mutation { markAllActivityRead { %s } }" % PAYLOAD, token=acct.access_token)
    assert all_read["data"]["markAllActivityRead"] == {"unreadCount": 0, "userErrors": []}
    states = {i["id"]: i["read_state"] for i in feed(server, acct.access_token)["items"]}
    assert states[second] == "dismissed" and states[third] == "dismissed" and states[first] == "read"
    assert list(states.values()).count("read") == 2  # the new sign-in too
    assert feed(server, other)["unread_count"] == 1  # the new sign-in, for the other reader


def test_another_tenant_and_bad_input_get_clear_answers(server):
    acct = register(server, verified=True)
    stranger = register(server, verified=True)
    unverified = register(server)  # unverified token
    theirs = feed(server, stranger.access_token)["items"][0]["id"]

    for template in (READ, DISMISS):
        r = post(server, template, acct.access_token, theirs)
        assert r.status_code == 404, r.text
        r = post(server, template, acct.access_token, str(uuid.uuid4()))
        assert r.status_code == 404, r.text
        r = post(server, template, acct.access_token, "not-a-uuid")
        assert r.status_code == 400 and r.json()["message"] == "event_id must be a valid UUID.", r.text
        r = post(server, template, acct.access_token, "x" * 100)
        assert r.status_code == 422, r.text
    assert {i["read_state"] for i in feed(server, stranger.access_token)["items"]} == {"unread"}  # unchanged

    stranger_gid = server.gql("{ activity(first: 1) { nodes { id } } }", token=stranger.access_token)
    gid = stranger_gid["data"]["activity"]["nodes"][0]["id"]
    mutation = "mutation($i: MarkActivityReadInput!) { markActivityRead(input: $i) { event { id } %s } }" % PAYLOAD
    out = server.gql(mutation, {"i": {"id": gid}}, token=acct.access_token)["data"]["markActivityRead"]
    assert out["event"] is None and out["userErrors"][0]["code"] == "NOT_FOUND"
    assert out["userErrors"][0]["field"] == ["input", "id"]
    out = server.gql(mutation, {"i": {"id": "bogus"}}, token=acct.access_token)["data"]["markActivityRead"]
    assert out["userErrors"][0]["code"] == "INVALID" and out["userErrors"][0]["field"] == ["input", "id"]
    node = server.gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid}, token=acct.access_token)
    assert node["data"]["node"] is None

    for params, status in (
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
        ({"limit": 10**30}, 422),
        ({"status": "bogus"}, 422),
        ({"created_after": "yesterday"}, 422),
        ({"action": "x" * 300}, 422),
        ({"action": "a\x00b"}, 422),
        ({"cursor": "garbage"}, 400),
    ):
        r = server.rest("GET", A, token=acct.access_token, params=params)
        assert r.status_code == status, (params, r.text)
        assert_documented("GET", A, r, extended=True)
    assert feed(server, acct.access_token, limit=200)["items"]

    assert server.rest("GET", A).status_code == 401
    r = server.rest("GET", A, token=unverified.access_token)  # email not verified
    assert r.status_code == 403
    assert_documented("GET", A, r, extended=True)
    r = server.rest("GET", A, token=acct.access_token, headers={"X-Tenant-Id": stranger.tenant_id})
    assert r.status_code == 403
    assert_documented("GET", A, r, extended=True)
    r = server.rest("GET", STREAM, token=acct.access_token, headers={"Last-Event-ID": "nope"})
    assert r.status_code == 422 and r.json()["details"][0]["loc"] == ["header", "Last-Event-ID"], r.text
    assert_documented("GET", STREAM, r, extended=True)
    gql = server.gql("{ activity { totalCount } }", token=unverified.access_token)
    assert gql["errors"][0]["extensions"]["code"] == "FORBIDDEN"


class Stream:
    """`GET /activity/stream` read in a thread, frame by frame."""

    def __init__(self, server: Server, token: str, last_event_id: str | None = None) -> None:
        self.raw = b""
        self.status = 0
        self.opened = threading.Event()
        self._stop = threading.Event()
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.thread = threading.Thread(target=self._read, args=(server, headers), daemon=True)
        self.thread.start()
        assert self.opened.wait(10), "the stream did not open"

    def _read(self, server: Server, headers: dict) -> None:
        try:
            with httpx.stream("GET", server.base_url + STREAM, headers=headers, timeout=30) as r:
                self.status, self.headers = r.status_code, r.headers
                self.opened.set()
                for chunk in r.iter_raw():
                    self.raw += chunk
                    if self._stop.is_set():
                        return
        except httpx.HTTPError:
            self.opened.set()

    def events(self, n: int, timeout: float = 10) -> list[tuple[str | None, dict]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            complete = self.raw.decode(errors="replace").rsplit("\n\n", 1)[0] + "\n\n" if b"\n\n" in self.raw else ""
            found = sse_events(httpx.Response(200, text=complete))
            if len(found) >= n:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{n} events expected, got {self.raw!r}")

    def close(self) -> None:
        self._stop.set()


def until_seen(poke, look, within: float = 20.0):
    """`poke()` (make an event) and `look()` (a short bounded wait for it), again until `look`
    finds something: a live stream may subscribe a moment after its headers are sent, and no
    client can tell when, so the first event is made until one arrives. Bounded by `within`."""
    deadline = time.monotonic() + within
    while True:
        poke()
        try:
            return look()
        except (AssertionError, TimeoutError):
            if time.monotonic() > deadline:
                raise


def newer_than(server: Server, token: str, event_id: str) -> list[str]:
    """The ids of the events recorded after `event_id`, oldest first (as the feed orders them)."""
    ids = [i["id"] for i in feed(server, token, limit=200)["items"]]
    return ids[: ids.index(event_id)][::-1]


def test_the_stream_delivers_live_events_and_resumes_after_last_event_id(server):
    acct = register(server, verified=True)
    live = Stream(server, acct.access_token)
    assert live.status == 200 and live.headers["content-type"].startswith("text/event-stream")
    event_id, item = until_seen(lambda: login(server, acct.email), lambda: live.events(1, timeout=0.5))[0]
    live.close()
    assert_schema("ActivityEventItem", item, extended=True)
    assert item["action"] == "auth.login.success" and event_id == item["id"] and item["read_state"] == "unread"

    # two more while no one listens; resuming after the first delivers what came since, first
    login(server, acct.email)
    login(server, acct.email)
    missed = newer_than(server, acct.access_token, event_id)
    assert len(missed) >= 2
    resumed = Stream(server, acct.access_token, last_event_id=event_id)
    assert [i for i, _ in resumed.events(len(missed))] == missed
    # The replay came after the stream subscribed: the next event can only come live.
    login(server, acct.email)
    events = resumed.events(len(missed) + 1)
    resumed.close()
    assert len(events) == len(missed) + 1
    assert events[-1][1]["action"] == "auth.login.success" and events[-1][0] not in [*missed, event_id]
    for _, payload in events:
        assert_schema("ActivityEventItem", payload, extended=True)

    stranger = register(server, verified=True)
    quiet = Stream(server, stranger.access_token, last_event_id=event_id)  # another tenant's id

    def both() -> None:
        login(server, acct.email)  # not the stranger's tenant
        login(server, stranger.email)

    first = until_seen(both, lambda: quiet.events(1, timeout=0.5))
    quiet.close()
    assert {e["tenant_id"] for _, e in first} == {stranger.tenant_id}  # nothing replayed, nothing foreign


def test_the_graphql_subscription_delivers_typed_events_and_resumes(server):
    acct = register(server, verified=True)
    query = "subscription($after: ID) { activityEvents(after: $after) { id action readState actorType } }"
    with server.subscription(query, {}, token=acct.access_token) as sub:
        got = until_seen(lambda: login(server, acct.email), lambda: sub.next(timeout=0.5))
    assert "errors" not in got, got
    event = got["data"]["activityEvents"]
    assert event["action"] == "auth.login.success" and event["readState"] == "UNREAD"
    assert event["actorType"] == "USER"

    login(server, acct.email)
    missed = newer_than(server, acct.access_token, _database_id(server, acct, event["id"]))
    with server.subscription(query, {"after": event["id"]}, token=acct.access_token) as sub:
        replayed = [sub.next(timeout=10)["data"]["activityEvents"] for _ in missed]
    assert [_database_id(server, acct, e["id"]) for e in replayed] == missed

    with server.subscription(query, {"after": "bogus"}, token=acct.access_token) as sub:
        refused = sub.next(timeout=10)
    assert refused["errors"][0]["extensions"]["code"] == "INVALID_INPUT", refused


def _database_id(server: Server, acct: Account, global_id: str) -> str:
    found = server.gql(
        "query($id: ID!) { node(id: $id) { ... on ActivityEvent { databaseId } } }",
        {"id": global_id},
        token=acct.access_token,
    )
    return str(found["data"]["node"]["databaseId"])


@pytest.mark.parametrize("role_header", ["member", "viewer"])
def test_a_lower_role_header_keeps_the_scope_check(server, role_header):
    """Down-scoping the role does not remove the token's scope: activity stays readable by the
    owner acting as a member (the legacy service checked the scope and a tenant context)."""
    acct = register(server, verified=True)
    r = server.rest("GET", A, token=acct.access_token, headers={"X-Tenant-Role": role_header})
    assert r.status_code == 200, r.text
    assert_documented("GET", A, r, extended=True)


async def test_the_typed_client_pages_filters_and_marks(server):
    acct = await asyncio.to_thread(register, server, verified=True)  # it runs a loop of its own
    for _ in range(2):
        await asyncio.to_thread(login, server, acct.email)
    async with server.client(acct.access_token) as client:
        first = await client.activity_feed(first=2)
        assert first.activity.total_count == 4 and first.unread_activity_count == 4
        assert first.activity.page_info.has_next_page
        rest = await client.activity_feed(first=2, after=first.activity.page_info.end_cursor)
        nodes = first.activity.nodes + rest.activity.nodes
        assert [n.action for n in nodes] == ["auth.login.success"] * 3 + ["auth.signup.success"]
        assert all(n.read_state == ActivityReadState.UNREAD and n.status == ActivityStatus.SUCCESS for n in nodes)

        marked = (await client.mark_activity_read(MarkActivityReadInput(id=nodes[0].id))).mark_activity_read
        assert marked.user_errors == [] and marked.unread_count == 3
        assert marked.event is not None and marked.event.read_state == ActivityReadState.READ
        gone = (await client.dismiss_activity(DismissActivityInput(id=nodes[1].id))).dismiss_activity
        assert gone.event is not None and gone.event.read_state == ActivityReadState.DISMISSED
        unread = await client.activity_feed(filter_=ActivityFilter(read_state=ActivityReadState.UNREAD))
        assert [n.id for n in unread.activity.nodes] == [nodes[2].id, nodes[3].id]

        older = MarkAllActivityReadInput(before=nodes[3].created_at)  # up to the signup only
        assert (await client.mark_all_activity_read(older)).mark_all_activity_read.unread_count == 1
        assert (await client.mark_all_activity_read()).mark_all_activity_read.unread_count == 0
        dismissed = await client.activity_feed(filter_=ActivityFilter(read_state=ActivityReadState.DISMISSED))
        assert [n.id for n in dismissed.activity.nodes] == [nodes[1].id]


def test_the_migration_matches_the_models(backend, tmp_path):
    async def diff(url: str) -> list:
        await asyncio.to_thread(upgrade, url)  # alembic's env calls asyncio.run
        db = Database(url)
        try:
            async with db.engine.connect() as conn:
                return await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        finally:
            await db.dispose()

    with fresh_database(backend, tmp_path) as url:
        found = asyncio.run(diff(url))
    assert [d for d in found if "activity_" in repr(d)] == []


@needs_postgres_redis
def test_an_event_recorded_on_one_process_reaches_a_stream_on_another(tmp_path):
    env = {"AGENTDECK_REDIS_PREFIX": f"agentdeck-test-{uuid.uuid4().hex[:8]}:"}
    with fresh_database("postgres", tmp_path) as url:
        a = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        b = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        try:
            acct = register(a, verified=True)
            on_b = Stream(b, acct.access_token)
            event_id, item = until_seen(lambda: login(a, acct.email), lambda: on_b.events(1, timeout=0.5))[0]
            on_b.close()
            assert item["action"] == "auth.login.success" and item["tenant_id"] == acct.tenant_id
            # resumed on A after what B delivered: what came since, from the shared database
            login(b, acct.email)
            missed = newer_than(a, acct.access_token, event_id)
            on_a = Stream(a, acct.access_token, last_event_id=event_id)
            assert [i for i, _ in on_a.events(len(missed))] == missed
            on_a.close()
        finally:
            a.stop()
            b.stop()
