"""A conversation's messages page, memory strategy and metadata stream, through both faces of a
real server: REST validated against the extended contract, GraphQL over HTTP and WebSocket;
another tenant's token, roles, and hostile input (unknown modes, out-of-range and huge numbers,
bad cursors) answered with 4xx and changing nothing. What the model is sent after a strategy is set
is read from the OpenAI stub's recorded requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.graphql_client import GraphQLClientGraphQLMultiError, MemoryMode, UpdateConversationMemoryInput
from tests.harness import assert_documented, server_with_openai_stub
from tests.users import register

MESSAGES = "/api/v1/conversations/{conversation_id}/messages"
MEMORY = "/api/v1/conversations/{conversation_id}/memory"
STREAM = "/api/v1/conversations/{conversation_id}/stream"


@pytest.fixture(scope="module")
def owner(server):
    return register(server, verified=True)


@pytest.fixture(scope="module")
def stranger(server):
    return register(server, verified=True, tenant_name="Other Tenant")


def _chat(server, token: str, message: str, cid: str | None = None) -> dict:
    body = {"message": message, **({"conversation_id": cid} if cid else {})}
    r = server.rest("POST", "/api/v1/chat", token=token, json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _conversation(server, token: str, turns: int) -> str:
    cid = _chat(server, token, "turn 1")["conversation_id"]
    for i in range(2, turns + 1):
        _chat(server, token, f"turn {i}", cid)
    return cid


def _memory_of(server, token: str, cid: str) -> dict:
    """The stored strategy, read through the native graph."""
    gid = _gid(server, token, cid)
    q = """query($id: ID!) { conversation(id: $id) { memory { mode maxUserTurns keepLastTurns
        compactTriggerTurns compactKeep clearToolInputs memoryInjection } } }"""
    return server.gql(q, {"id": gid}, token=token)["data"]["conversation"]["memory"]


def _gid(server, token: str, cid: str) -> str:
    q = "{ conversations(first: 100) { nodes { id databaseId } } }"
    nodes = server.gql(q, token=token)["data"]["conversations"]["nodes"]
    return next(n["id"] for n in nodes if n["databaseId"] == cid)


# -- messages -------------------------------------------------------------------------------------


def test_messages_are_paged_newest_first_by_default_and_oldest_first_on_request(server, owner):
    cid = _conversation(server, owner.access_token, 3)
    path = MESSAGES.format(conversation_id=cid)

    r = server.rest("GET", path, token=owner.access_token)
    assert r.status_code == 200, r.text
    assert_documented("GET", MESSAGES, r, extended=True)
    body = r.json()
    assert [m["content"] for m in body["items"] if m["role"] == "user"] == ["turn 3", "turn 2", "turn 1"]
    assert len(body["items"]) == 6 and body["next_cursor"] is None and body["prev_cursor"] is None

    seen, cursor = [], None
    while True:
        params = {"limit": 4, "direction": "asc", **({"cursor": cursor} if cursor else {})}
        page = server.rest("GET", path, token=owner.access_token, params=params)
        assert_documented("GET", MESSAGES, page, extended=True)
        seen += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [m["message_id"] for m in seen] == [m["message_id"] for m in reversed(body["items"])]

    # The native connection pages the same messages.
    q = """query($id: ID!) { conversation(id: $id) { messages(last: 2) { nodes { content role } totalCount } } }"""
    native = server.gql(q, {"id": _gid(server, owner.access_token, cid)}, token=owner.access_token)
    assert native["data"]["conversation"]["messages"]["totalCount"] == 6
    assert native["data"]["conversation"]["messages"]["nodes"][0]["content"] == "turn 3"


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"limit": 0}, 422),
        ({"limit": 101}, 422),
        ({"limit": 10**30}, 422),
        ({"limit": "many"}, 422),
        ({"direction": "sideways"}, 422),
        ({"cursor": "%%%not-base64"}, 400),
        ({"cursor": "eyJ0cyI6ICJ4IiwgImlkIjogInkifQ"}, 400),  # {"ts": "x", "id": "y"}
    ],
)
def test_bad_message_page_parameters_are_refused(server, owner, params, status):
    cid = _chat(server, owner.access_token, "page me")["conversation_id"]
    r = server.rest("GET", MESSAGES.format(conversation_id=cid), token=owner.access_token, params=params)
    assert r.status_code == status, r.text
    assert_documented("GET", MESSAGES, r, extended=True)


def test_another_tenants_messages_are_not_found(server, owner, stranger):
    cid = _chat(server, owner.access_token, "mine alone")["conversation_id"]
    for token, conversation in ((stranger.access_token, cid), (owner.access_token, "not-a-uuid")):
        r = server.rest("GET", MESSAGES.format(conversation_id=conversation), token=token)
        assert r.status_code == 404, r.text
        assert_documented("GET", MESSAGES, r, extended=True)
    assert server.rest("GET", MESSAGES.format(conversation_id=cid)).status_code == 401


# -- memory -------------------------------------------------------------------------------------


def test_memory_is_set_field_by_field_and_reported_whole(server, owner):
    cid = _chat(server, owner.access_token, "remember this")["conversation_id"]
    path = MEMORY.format(conversation_id=cid)
    r = server.rest("PATCH", path, token=owner.access_token, json={"mode": "trim", "max_user_turns": 4})
    assert r.status_code == 200, r.text
    assert_documented("PATCH", MEMORY, r, extended=True)
    assert r.json() == {
        "mode": "trim",
        "max_user_turns": 4,
        "keep_last_turns": None,
        "compact_trigger_turns": None,
        "compact_keep": None,
        "clear_tool_inputs": None,
        "memory_injection": None,
    }
    r = server.rest("PATCH", path, token=owner.access_token, json={"keep_last_turns": 2, "memory_injection": True})
    assert r.json()["mode"] == "trim" and r.json()["keep_last_turns"] == 2 and r.json()["memory_injection"] is True
    r = server.rest("PATCH", path, token=owner.access_token, json={"max_user_turns": None})  # null clears
    assert r.json()["max_user_turns"] is None and r.json()["keep_last_turns"] == 2
    assert _memory_of(server, owner.access_token, cid)["mode"] == "TRIM"
    r = server.rest("PATCH", path, token=owner.access_token, json={})  # nothing to change: the strategy
    assert r.status_code == 200 and r.json()["keep_last_turns"] == 2


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"mode": "forget"}, ["body", "mode"]),
        ({"max_user_turns": 0}, ["body", "max_user_turns"]),
        ({"keep_last_turns": 1001}, ["body", "keep_last_turns"]),
        ({"compact_keep": 10**30}, ["body", "compact_keep"]),
        ({"compact_trigger_turns": "ten"}, ["body", "compact_trigger_turns"]),
        ({"clear_tool_inputs": "sometimes"}, ["body", "clear_tool_inputs"]),
        ({"window": 3}, ["body", "window"]),
    ],
)
def test_bad_memory_settings_get_422_and_change_nothing(server, owner, body, loc):
    cid = _chat(server, owner.access_token, "strict settings")["conversation_id"]
    path = MEMORY.format(conversation_id=cid)
    server.rest("PATCH", path, token=owner.access_token, json={"mode": "summarize", "max_user_turns": 3})
    r = server.rest("PATCH", path, token=owner.access_token, json={**body, "memory_injection": True})
    assert r.status_code == 422, r.text
    assert_documented("PATCH", MEMORY, r, extended=True)
    assert loc in [d["loc"] for d in r.json()["details"]]
    after = _memory_of(server, owner.access_token, cid)
    assert (after["mode"], after["maxUserTurns"], after["memoryInjection"]) == ("SUMMARIZE", 3, None)


def test_only_admins_of_the_tenant_set_a_conversations_memory(server, owner, stranger):
    cid = _chat(server, owner.access_token, "guarded")["conversation_id"]
    path = MEMORY.format(conversation_id=cid)
    member = server.rest(
        "PATCH", path, token=owner.access_token, json={"mode": "trim"}, headers={"X-Tenant-Role": "member"}
    )
    assert member.status_code == 403, member.text
    assert_documented("PATCH", MEMORY, member, extended=True)
    foreign = server.rest("PATCH", path, token=stranger.access_token, json={"mode": "trim"})
    assert foreign.status_code == 404, foreign.text
    assert_documented("PATCH", MEMORY, foreign, extended=True)
    assert server.rest("PATCH", path, json={"mode": "trim"}).status_code == 401
    assert _memory_of(server, owner.access_token, cid)["mode"] is None


def test_the_native_mutation_answers_a_payload_with_user_errors(server, owner, stranger):
    cid = _chat(server, owner.access_token, "native memory")["conversation_id"]
    gid = _gid(server, owner.access_token, cid)
    m = """mutation($i: UpdateConversationMemoryInput!) { updateConversationMemory(input: $i) {
        memory { mode maxUserTurns compactKeep } conversation { id } userErrors { field message code } } }"""
    ok = server.gql(
        m, {"i": {"id": gid, "mode": "COMPACT", "compactTriggerTurns": 4, "compactKeep": 1}}, owner.access_token
    )
    payload = ok["data"]["updateConversationMemory"]
    assert payload["userErrors"] == [] and payload["conversation"]["id"] == gid
    assert payload["memory"] == {"mode": "COMPACT", "maxUserTurns": None, "compactKeep": 1}

    foreign = server.gql(m, {"i": {"id": gid, "mode": "NONE"}}, stranger.access_token)
    errors = foreign["data"]["updateConversationMemory"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "id"], "NOT_FOUND")]

    bounded = server.gql(m, {"i": {"id": gid, "maxUserTurns": 0}}, owner.access_token)
    assert bounded["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    huge = server.gql(m, {"i": {"id": gid, "compactKeep": 10**30}}, owner.access_token)
    assert "errors" in huge and huge.get("data") is None
    unknown = server.gql(m, {"i": {"id": gid, "mode": "FORGET"}}, owner.access_token)
    assert "errors" in unknown
    assert _memory_of(server, owner.access_token, cid)["compactKeep"] == 1  # unchanged by the refusals


# -- the metadata stream --------------------------------------------------------------------------


def _frames(response: httpx.Response) -> Iterator[dict]:
    """The JSON payloads of an open SSE response, as they come (comments skipped)."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[6:])


def test_the_stream_sends_the_snapshot_then_each_change(server, owner):
    cid = _chat(server, owner.access_token, "watch me")["conversation_id"]
    headers = {"Authorization": f"Bearer {owner.access_token}"}
    url = server.base_url + STREAM.format(conversation_id=cid)
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(10)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        frames = _frames(r)
        first = next(frames)
        assert (first["reason"], first["conversation_id"], first["message_count"]) == ("snapshot", cid, 2)
        assert first["display_name"] == "watch me"
        _chat(server, owner.access_token, "and more", cid)
        server.rest("PATCH", MEMORY.format(conversation_id=cid), token=owner.access_token, json={"mode": "none"})
        seen = [next(frames) for _ in range(3)]
    assert [(f["reason"], f["turn_status"], f["message_count"]) for f in seen] == [
        ("turn_started", "running", 3),
        ("turn_finished", "completed", 4),
        ("memory_updated", None, 4),
    ]
    assert seen[1]["last_message_preview"] == "[offline model] You said: and more"


def test_another_tenants_stream_is_not_found_as_json(server, owner, stranger):
    cid = _chat(server, owner.access_token, "private stream")["conversation_id"]
    for token, conversation in ((stranger.access_token, cid), (owner.access_token, "nope")):
        r = server.rest("GET", STREAM.format(conversation_id=conversation), token=token)
        assert r.status_code == 404, r.text
        assert_documented("GET", STREAM, r, extended=True)
    assert server.rest("GET", STREAM.format(conversation_id=cid)).status_code == 401


def test_the_subscription_streams_typed_updates_until_deletion(server, owner, stranger):
    cid = _chat(server, owner.access_token, "subscribe to me")["conversation_id"]
    gid = _gid(server, owner.access_token, cid)
    q = """subscription($id: ID!) { conversationUpdates(id: $id) {
        __typename
        ... on ConversationUpdate { messageCount displayName conversationId conversation { id messageCount } }
        ... on ConversationTurnFinished { turnStatus } } }"""
    with server.subscription(q, {"id": gid}, token=owner.access_token) as sub:
        first = sub.next()["data"]["conversationUpdates"]
        assert (first["__typename"], first["messageCount"], first["conversationId"]) == ("ConversationSnapshot", 2, gid)
        assert first["conversation"] == {"id": gid, "messageCount": 2} and first["displayName"] == "subscribe to me"
        _chat(server, owner.access_token, "again", cid)
        started, finished = (sub.next()["data"]["conversationUpdates"] for _ in range(2))
        assert (started["__typename"], started["messageCount"]) == ("ConversationTurnStarted", 3)
        assert (finished["__typename"], finished["turnStatus"], finished["messageCount"]) == (
            "ConversationTurnFinished",
            "COMPLETED",
            4,
        )
        assert server.rest("DELETE", f"/api/v1/conversations/{cid}", token=owner.access_token).status_code == 204
        gone = sub.next()["data"]["conversationUpdates"]
        assert (gone["__typename"], gone["conversation"]) == ("ConversationDeleted", None)
        assert sub.recv()["type"] == "complete"
    with server.subscription(q, {"id": gid}, token=stranger.access_token) as sub:
        refused = sub.next()
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# -- what the model is sent -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def stubbed(tmp_path_factory):
    with server_with_openai_stub(tmp_path_factory.mktemp("memory-stub"), "chat") as srv:
        yield srv


def test_the_model_is_sent_less_history_once_a_strategy_is_set(stubbed):
    acct = register(stubbed, verified=True)
    token = acct.access_token
    cid = _conversation(stubbed, token, 3)

    def sent_last() -> list[tuple[str, str]]:
        messages = stubbed.stub.bodies("/chat/completions")[-1]["messages"]
        return [(m["role"], m["content"]) for m in messages if m["role"] != "system"]

    assert [c for r, c in sent_last() if r == "user"] == ["turn 1", "turn 2", "turn 3"]
    r = stubbed.rest(
        "PATCH", MEMORY.format(conversation_id=cid), token=token, json={"mode": "trim", "max_user_turns": 2}
    )
    assert r.status_code == 200, r.text
    _chat(stubbed, token, "turn 4", cid)
    assert sent_last() == [("user", "turn 3"), ("assistant", "stub reply"), ("user", "turn 4")]

    stubbed.rest(
        "PATCH",
        MEMORY.format(conversation_id=cid),
        token=token,
        json={"mode": "summarize", "max_user_turns": 1, "keep_last_turns": 1},
    )
    _chat(stubbed, token, "turn 5", cid)
    sent = sent_last()
    assert sent[0] == ("user", "[summary] prior context") and sent[-1] == ("user", "turn 5")
    assert "user: turn 1" in sent[1][1] and len(sent) == 3


# -- the typed client -------------------------------------------------------------------------------


async def test_memory_and_usage_through_the_typed_client(server):
    account = await asyncio.to_thread(register, server, verified=True)  # it runs a loop of its own
    token = account.access_token
    cid = (await asyncio.to_thread(_chat, server, token, "typed memory"))["conversation_id"]
    gid = await asyncio.to_thread(_gid, server, token, cid)
    async with server.client(token) as client:
        first = UpdateConversationMemoryInput(id=gid, mode=MemoryMode.TRIM, max_user_turns=3)
        set_ = (await client.update_conversation_memory(first)).update_conversation_memory
        assert set_.user_errors == [] and set_.conversation is not None and set_.conversation.id == gid
        assert set_.memory is not None and (set_.memory.mode, set_.memory.max_user_turns) == (MemoryMode.TRIM, 3)
        # Fields left out keep their values (the client leaves unset fields out).
        more = UpdateConversationMemoryInput(id=gid, keep_last_turns=2)
        kept = (await client.update_conversation_memory(more)).update_conversation_memory.memory
        assert kept is not None and (kept.mode, kept.max_user_turns, kept.keep_last_turns) == (MemoryMode.TRIM, 3, 2)
        cleared = UpdateConversationMemoryInput(id=gid, mode=None)
        after = (await client.update_conversation_memory(cleared)).update_conversation_memory.memory
        assert after is not None and after.mode is None and after.keep_last_turns == 2
        with pytest.raises(GraphQLClientGraphQLMultiError) as refused:
            await client.update_conversation_memory(UpdateConversationMemoryInput(id=gid, compact_keep=0))
        assert refused.value.errors[0].extensions["code"] == "INVALID_INPUT"

        counters = (await client.usage_counters(first=10)).usage_counters
        assert counters.total_count == 1 and counters.nodes[0].requests == 1
        assert counters.nodes[0].input_tokens > 0
