"""Chat: synchronous and streamed turns, resume, tools, handoff-free defaults, and conversations.

The shared server runs the offline model; the OpenAI path runs against a local stub server.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from tests.harness import (
    assert_documented,
    assert_schema,
    server_with_openai_stub,
    sse_events,
    start_server,
)
from tests.users import register, run_sql

CHAT, STREAM = "/api/v1/chat", "/api/v1/chat/stream"


@pytest.fixture(scope="module")
def owner(server):
    return register(server, verified=True)


def _stream(server, token: str, body: dict, **kw) -> httpx.Response:
    return server.rest("POST", STREAM, token=token, json=body, timeout=30, **kw)


def test_sync_chat_answers_and_keeps_the_conversation(server, owner):
    r = server.rest("POST", CHAT, token=owner.access_token, json={"message": "Hello agentdeck"})
    assert r.status_code == 200, r.text
    assert_documented("POST", CHAT, r)
    body = r.json()
    assert body["response"] == "[offline model] You said: Hello agentdeck"
    assert body["agent_used"] == "triage" and body["handoff_occurred"] is False
    cid = body["conversation_id"]

    history = server.rest("GET", f"/api/v1/conversations/{cid}", token=owner.access_token)
    assert history.status_code == 200
    assert_documented("GET", "/api/v1/conversations/{conversation_id}", history)
    assert [(m["role"], m["content"]) for m in history.json()["messages"]] == [
        ("user", "Hello agentdeck"),
        ("assistant", body["response"]),
    ]
    assert history.json()["display_name"] == "Hello agentdeck"

    # The same conversation continues with its history.
    again = server.rest("POST", CHAT, token=owner.access_token, json={"message": "Second", "conversation_id": cid})
    assert again.json()["conversation_id"] == cid
    events = server.rest("GET", f"/api/v1/conversations/{cid}/events", token=owner.access_token)
    assert_documented("GET", "/api/v1/conversations/{conversation_id}/events", events)
    items = events.json()["items"]
    assert [i["sequence_no"] for i in items] == list(range(1, len(items) + 1))
    assert [(i["run_item_type"], i["role"]) for i in items] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]


def test_stream_byte_format(server, owner):
    r = _stream(server, owner.access_token, {"message": "stream these words please"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/event-stream"
    assert r.headers["cache-control"] == "no-cache"
    # Not `*` as the legacy stream had: CORS is the middleware's one policy (test_security_headers).
    assert "access-control-allow-origin" not in r.headers
    frames = [f for f in r.text.split("\n\n") if f]
    for frame in frames:  # NOTES §4.1: data-only, one compact JSON line per event, nulls present
        assert frame.startswith('data: {"schema":"public_sse_v1","event_id":') and "\n" not in frame, frame
        assert '"workflow":null' in frame
    events = sse_events(r)
    for event_id, event in events:
        assert_schema("StreamingChatEvent", event)
        assert event_id is None
    assert [e["event_id"] for _, e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for _, e in events]
    assert kinds[0] == "lifecycle" and kinds[-1] == "final" and kinds.count("final") == 1
    assert "error" not in kinds
    text = "".join(e["delta"] for _, e in events if e["kind"] == "message.delta")
    final = events[-1][1]["final"]
    assert final["status"] == "completed" and final["response_text"] == text
    assert final["usage"]["total_tokens"] == final["usage"]["input_tokens"] + final["usage"]["output_tokens"] > 0
    assert events[-1][1]["stream_id"].startswith("chat_") and len(events[-1][1]["stream_id"]) == 37


def test_function_tools_run_on_the_server(server, owner):
    events = [e for _, e in sse_events(_stream(server, owner.access_token, {"message": "What time is it?"}))]
    kinds = [e["kind"] for e in events]
    for kind in ("tool.status", "tool.arguments.done", "tool.output", "final"):
        assert kind in kinds, kinds
    output = next(e for e in events if e["kind"] == "tool.output")
    assert output["tool_call_id"] and "utc" in output["output"]
    assert events[-1]["final"]["response_text"].startswith("[offline model] The tool answered:")
    cid = events[0]["conversation_id"]
    items = server.rest("GET", f"/api/v1/conversations/{cid}/events", token=owner.access_token).json()["items"]
    assert [i["run_item_type"] for i in items] == ["message", "tool_call", "tool_output", "message"]
    assert items[1]["tool_name"] == "get_current_time"


def test_resume_after_a_dropped_connection_loses_and_repeats_nothing(server, owner):
    long_message = " ".join(f"word{i}" for i in range(60))
    seen: list[dict] = []
    with httpx.stream(
        "POST",
        server.base_url + STREAM,
        json={"message": long_message},
        timeout=30,
        headers={"Authorization": f"Bearer {owner.access_token}"},
    ) as r:
        buffer = ""
        for chunk in r.iter_text():
            buffer += chunk
            while "\n\n" in buffer:
                frame, buffer = buffer.split("\n\n", 1)
                data = next(line for line in frame.split("\n") if line.startswith("data: "))
                seen.append(json.loads(data[6:]))
            if len(seen) >= 5:
                break  # the client goes away mid-turn
    last = seen[-1]["event_id"]
    stream_id = seen[0]["stream_id"]
    r = server.rest(
        "GET",
        f"/api/v1/chat/streams/{stream_id}",
        token=owner.access_token,
        headers={"Last-Event-ID": str(last)},
        timeout=30,
    )
    assert r.status_code == 200
    rest = [e for _, e in sse_events(r)]
    ids = [e["event_id"] for e in seen] + [e["event_id"] for e in rest]
    assert ids == list(range(1, len(ids) + 1)), ids
    assert rest[-1]["kind"] == "final"
    # The turn completed and was kept although its first reader left.
    history = server.rest("GET", f"/api/v1/conversations/{seen[0]['conversation_id']}", token=owner.access_token)
    assert history.json()["messages"][-1]["content"] == rest[-1]["final"]["response_text"]


def test_graphql_subscription_and_sse_see_the_same_turn(server, owner):
    started = server.gql(
        'mutation { startChat(input: {message: "same events both ways"}) { streamId conversation { id } } }',
        token=owner.access_token,
    )
    stream_id = started["data"]["startChat"]["streamId"]
    sse = [
        e
        for _, e in sse_events(
            server.rest("GET", f"/api/v1/chat/streams/{stream_id}", token=owner.access_token, timeout=30)
        )
    ]
    query = """subscription($s: String!) { chatEvents(streamId: $s) {
        ... on StreamEventBase { eventId } ... on MessageDeltaEvent { kind delta } ... on LifecycleEvent { kind }
        ... on FinalEvent { kind } ... on OutputItemAddedEvent { kind } ... on OutputItemDoneEvent { kind } } }"""
    ws_events = []
    with server.subscription(query, {"s": stream_id}, token=owner.access_token) as sub:
        while True:
            payload = sub.next(timeout=10)
            assert "errors" not in payload, payload
            ws_events.append(payload["data"]["chatEvents"])
            if ws_events[-1].get("kind") == "FINAL":
                break
    # The same events; GraphQL names the kind by its enum (MESSAGE_DELTA), SSE by its value.
    assert [(e["eventId"], e["kind"], e.get("delta")) for e in ws_events] == [
        (e["event_id"], e["kind"].upper().replace(".", "_"), e.get("delta")) for e in sse
    ]


def test_websocket_chat_stream_needs_authentication(server):
    with server.subscription('subscription { chatStream(input: {message: "hi"}) { __typename } }') as sub:
        payload = sub.next()
    assert payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_other_tenants_get_404(server, owner):
    cid = server.rest("POST", CHAT, token=owner.access_token, json={"message": "private"}).json()["conversation_id"]
    other = register(server, verified=True)
    for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/events"):
        r = server.rest("GET", path, token=other.access_token)
        assert r.status_code == 404, path
    assert server.rest("DELETE", f"/api/v1/conversations/{cid}", token=other.access_token).status_code == 404
    r = server.rest("POST", CHAT, token=other.access_token, json={"message": "hijack", "conversation_id": cid})
    assert r.status_code == 404
    assert cid not in {
        c["conversation_id"]
        for c in server.rest("GET", "/api/v1/conversations", token=other.access_token).json()["items"]
    }
    # The owner's conversation is untouched.
    assert len(server.rest("GET", f"/api/v1/conversations/{cid}", token=owner.access_token).json()["messages"]) == 2


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "message"]),
        ({"message": 5}, ["body", "message"]),
        ({"message": "x", "conversation_id": "nope"}, ["body", "conversation_id"]),
        ({"message": "   "}, ["body", "message"]),
        ({"message": "x", "colour": 1}, ["body", "colour"]),
    ],
)
def test_invalid_bodies_are_422(server, owner, body, loc):
    for path in (CHAT, STREAM):
        r = server.rest("POST", path, token=owner.access_token, json=body)
        assert r.status_code == 422, (path, r.text)
        assert_documented("POST", path, r)
        assert any(d["loc"] == loc for d in r.json()["details"]), r.json()


def test_chat_needs_a_verified_member(server):
    assert server.rest("POST", CHAT, json={"message": "hi"}).status_code == 401
    unverified = register(server)
    r = server.rest("POST", STREAM, token=unverified.access_token, json={"message": "hi"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/json"


def test_list_search_and_delete(server):
    acct = register(server, verified=True)
    ids = [
        server.rest("POST", CHAT, token=acct.access_token, json={"message": m}).json()["conversation_id"]
        for m in ("alpha zebra", "beta giraffe", "gamma zebra zebra")
    ]
    page = server.rest("GET", "/api/v1/conversations", token=acct.access_token, params={"limit": 2})
    assert_documented("GET", "/api/v1/conversations", page)
    first = page.json()
    assert [c["conversation_id"] for c in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = server.rest(
        "GET", "/api/v1/conversations", token=acct.access_token, params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [c["conversation_id"] for c in second["items"]] == [ids[0]] and second["next_cursor"] is None
    bad = server.rest("GET", "/api/v1/conversations", token=acct.access_token, params={"cursor": "!!"})
    assert bad.status_code == 400

    found = server.rest("GET", "/api/v1/conversations/search", token=acct.access_token, params={"q": "zebra"})
    assert found.status_code == 200, found.text
    assert_documented("GET", "/api/v1/conversations/search", found)
    hits = [h["conversation_id"] for h in found.json()["items"]]
    assert set(hits) == {ids[0], ids[2]} and hits[0] == ids[2]  # more matches rank higher
    assert server.rest("GET", "/api/v1/conversations/search", token=acct.access_token).status_code == 422

    r = server.rest("DELETE", f"/api/v1/conversations/{ids[2]}", token=acct.access_token)
    assert r.status_code == 204 and r.content == b""
    assert server.rest("GET", f"/api/v1/conversations/{ids[2]}", token=acct.access_token).status_code == 404
    hits = [
        h["conversation_id"]
        for h in server.rest(
            "GET", "/api/v1/conversations/search", token=acct.access_token, params={"q": "zebra"}
        ).json()["items"]
    ]
    assert hits == [ids[0]]  # deleted messages left the index too
    viewer = server.rest(
        "DELETE", f"/api/v1/conversations/{ids[0]}", token=acct.access_token, headers={"X-Tenant-Role": "member"}
    )
    assert viewer.status_code == 403


def test_agents_and_tools(server, owner):
    r = server.rest("GET", "/api/v1/agents", token=owner.access_token, params={"limit": 4})
    assert_documented("GET", "/api/v1/agents", r)
    page = r.json()
    assert page["total"] == 9 and len(page["items"]) == 4 and page["next_cursor"]
    names = [a["name"] for a in page["items"]]
    rest = server.rest(
        "GET", "/api/v1/agents", token=owner.access_token, params={"limit": 100, "cursor": page["next_cursor"]}
    ).json()
    assert len(names + [a["name"] for a in rest["items"]]) == 9 and rest["next_cursor"] is None
    assert server.rest("POST", "/api/v1/chat", token=owner.access_token, json={"message": "hi"}).status_code == 200
    status = server.rest("GET", "/api/v1/agents/triage/status", token=owner.access_token)
    assert_documented("GET", "/api/v1/agents/{agent_name}/status", status)
    assert status.json()["status"] == "active" and status.json()["total_conversations"] >= 1
    missing = server.rest("GET", "/api/v1/agents/nope/status", token=owner.access_token)
    assert missing.status_code == 404 and missing.json()["message"] == "Agent 'nope' not found"
    tools = server.rest("GET", "/api/v1/tools", token=owner.access_token)
    assert_documented("GET", "/api/v1/tools", tools)
    assert "get_current_time" in tools.json()["per_agent"]["triage"]
    assert server.rest("GET", "/api/v1/tools").status_code == 401


def test_unknown_agent_type_falls_back_to_triage(server, owner):
    body = server.rest("POST", CHAT, token=owner.access_token, json={"message": "hi", "agent_type": "nope"}).json()
    assert body["agent_used"] == "triage"


# The OpenAI path, against a local OpenAI-compatible server -------------------------------------


@pytest.fixture(scope="module", params=["responses", "chat"])
def openai_server(request, tmp_path_factory):
    with server_with_openai_stub(tmp_path_factory.mktemp(f"openai-{request.param}"), request.param) as srv:
        yield srv


def test_openai_text_and_function_call_round_trip(openai_server):
    from tests.openai_stub import function_call, text

    stub = openai_server.stub
    acct = register(openai_server, verified=True)
    stub.reset()
    stub.script(function_call("get_current_time", "{}"), text("It is tea time."))
    events = [e for _, e in sse_events(_stream(openai_server, acct.access_token, {"message": "time?"}))]
    for event in events:
        assert_schema("StreamingChatEvent", event)
    assert events[-1]["kind"] == "final" and events[-1]["final"]["response_text"] == "It is tea time."
    assert events[-1]["response_id"]  # the provider's response id is carried
    second = json.dumps(stub.requests[-1].body)
    assert "utc" in second  # the tool's output went back to the model


def test_openai_error_mid_stream_ends_the_turn_with_an_error_event(openai_server):
    from tests.openai_stub import error_mid_stream

    stub = openai_server.stub
    acct = register(openai_server, verified=True)
    stub.reset()
    stub.script(error_mid_stream("Partial answer that breaks", after=1))
    events = [e for _, e in sse_events(_stream(openai_server, acct.access_token, {"message": "break"}))]
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "error" and "final" not in kinds and kinds.count("error") == 1
    assert events[-1]["error"]["source"] == "provider"
    assert_schema("StreamingChatEvent", events[-1])
    rows = run_sql(openai_server, "SELECT status FROM chat_runs WHERE stream_id = :s", {"s": events[-1]["stream_id"]})
    assert rows == [("failed",)]
    r = openai_server.rest("POST", CHAT, token=acct.access_token, json={"message": "again"})
    assert r.status_code == 200  # the stub's queue is empty: it answers "stub reply"


def test_openai_handoffs_pass_the_history_their_policy_allows(openai_server):
    from tests.openai_stub import function_call, text

    stub = openai_server.stub
    acct = register(openai_server, verified=True)
    t = acct.access_token
    stub.reset()
    stub.script(text("first answer"))
    cid = openai_server.rest("POST", CHAT, token=t, json={"message": "earlier question"}).json()["conversation_id"]

    def turn(message: str, target: str, **extra) -> tuple[str, str]:
        stub.reset()
        stub.script(function_call(f"transfer_to_{target}", "{}"), text(f"{target} answer"))
        r = openai_server.rest("POST", CHAT, token=t, json={"message": message, "conversation_id": cid, **extra})
        assert r.status_code == 200, r.text
        assert r.json()["agent_used"] == target and r.json()["handoff_occurred"] is True
        return json.dumps(stub.requests[0].body), json.dumps(stub.requests[1].body)

    # triage -> researcher is `fresh`: the researcher sees only the new message.
    before, after = turn("second question", "researcher")
    assert "earlier question" in before and "first answer" in before
    assert "second question" in after and "earlier question" not in after and "transfer_to_researcher" not in after
    # triage -> code_assistant is `last_turn`: this turn, with the handoff call, and nothing older.
    _, after = turn("third question", "code_assistant")
    assert "third question" in after and "transfer_to_code_assistant" in after
    assert "second question" not in after and "earlier question" not in after
    # The request may ask for the whole history.
    _, after = turn("fourth question", "researcher", run_options={"handoff_context_policy": "full"})
    assert "earlier question" in after and "third question" in after and "fourth question" in after
    bad = openai_server.rest(
        "POST", CHAT, token=t, json={"message": "x", "run_options": {"handoff_context_policy": "everything"}}
    )
    assert bad.status_code == 422
    assert bad.json()["details"][0]["loc"] == ["body", "run_options", "handoff_context_policy"]
    assert_documented("POST", CHAT, bad)


def test_stream_cap_per_user(tmp_path):
    srv = start_server(tmp_path, env={"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "200"})
    try:
        acct = register(srv, verified=True)
        results: list[int] = []

        def open_stream() -> None:
            results.append(_stream(srv, acct.access_token, {"message": "one two three four five six"}).status_code)

        threads = [threading.Thread(target=open_stream) for _ in range(5)]
        for t in threads:
            t.start()
        time.sleep(0.6)
        r = _stream(srv, acct.access_token, {"message": "one too many"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        for t in threads:
            t.join(30)
        assert results == [200] * 5
        assert _stream(srv, acct.access_token, {"message": "after"}).status_code == 200  # slots freed
    finally:
        srv.stop()


def test_conversation_ids_must_be_uuids_not_strings_of_another_tenant(server, owner):
    r = server.rest("POST", CHAT, token=owner.access_token, json={"message": "x", "conversation_id": str(uuid.uuid4())})
    assert r.status_code == 200  # a new conversation may be started under a client-chosen id


def test_turns_are_metered_and_a_tenant_over_its_hard_limit_gets_429(server):
    acct = register(server, verified=True)
    base = f"/api/v1/billing/tenants/{acct.tenant_id}"
    assert (
        server.rest("POST", f"{base}/subscription", token=acct.access_token, json={"plan_code": "starter"}).status_code
        == 201
    )
    assert server.rest("POST", CHAT, token=acct.access_token, json={"message": "counted"}).status_code == 200
    totals = server.gql("{ billingUsage { nodes { featureKey quantity } } }", token=acct.access_token)
    assert {"featureKey": "messages", "quantity": 1} in totals["data"]["billingUsage"]["nodes"], totals
    # Use up the starter plan's 100 messages, then one more turn is refused before it starts.
    r = server.rest("POST", f"{base}/usage", token=acct.access_token, json={"feature_key": "messages", "quantity": 99})
    assert r.status_code == 202, r.text
    r = server.rest("POST", CHAT, token=acct.access_token, json={"message": "one too many"})
    assert r.status_code == 429 and r.json()["error"] == "usage_limit_exceeded"
    assert r.json()["details"]["limit_value"] == 100
    assert_documented("POST", CHAT, r)


def test_the_native_graph_serves_what_the_rest_operations_do(server):
    acct = register(server, verified=True)
    t = acct.access_token
    answer = server.gql(
        'mutation { sendMessage(input: {message: "graph quokka"}) { conversation { id databaseId } response agent { key } userErrors { message } } }',
        token=t,
    )["data"]["sendMessage"]
    cid, uid = answer["conversation"]["id"], answer["conversation"]["databaseId"]
    assert answer["userErrors"] == [] and answer["agent"] == {"key": "triage"}
    assert answer["response"] == "[offline model] You said: graph quokka"
    data = server.gql(
        """query($c: ID!) {
            agents(first: 2) { totalCount nodes { key tooling { supportsWebSearch } } pageInfo { hasNextPage } }
            agent(key: "researcher") { key status tooling { supportsWebSearch } totalConversations }
            tools { nodes { name } }
            conversations(first: 5) { nodes { id messageCount agent { key } lastMessage { role } } }
            searchConversations(query: "quokka") { nodes { conversation { id } score snippet } }
            conversation(id: $c) { messages { nodes { role content } } events { nodes { sequenceNumber type } } }
        }""",
        {"c": cid},
        token=t,
    )
    assert "errors" not in data, data
    d = data["data"]
    assert d["agents"]["totalCount"] == 9 and d["agents"]["pageInfo"]["hasNextPage"] is True
    assert d["agent"] == {
        "key": "researcher",
        "status": "ACTIVE",
        "tooling": {"supportsWebSearch": True},
        "totalConversations": 0,
    }
    assert "get_current_time" in [n["name"] for n in d["tools"]["nodes"]]
    assert d["conversations"]["nodes"][0] == {
        "id": cid,
        "messageCount": 2,
        "agent": {"key": "triage"},
        "lastMessage": {"role": "ASSISTANT"},
    }
    assert d["searchConversations"]["nodes"][0]["conversation"]["id"] == cid
    assert [m["role"] for m in d["conversation"]["messages"]["nodes"]] == ["USER", "ASSISTANT"]
    assert [(i["sequenceNumber"], i["type"]) for i in d["conversation"]["events"]["nodes"]] == [
        (1, "MESSAGE"),
        (2, "MESSAGE"),
    ]
    # The REST face answers for the same conversation by its database id.
    assert server.rest("GET", f"/api/v1/conversations/{uid}", token=t).json()["conversation_id"] == uid
    deleted = server.gql(
        "mutation($c: ID!) { deleteConversation(input: {id: $c}) { deletedConversationId userErrors { code } } }",
        {"c": cid},
        token=t,
    )
    assert deleted["data"]["deleteConversation"] == {"deletedConversationId": cid, "userErrors": []}
    gone = server.gql("query($c: ID!) { conversation(id: $c) { displayName } }", {"c": cid}, token=t)
    assert gone["data"] == {"conversation": None}
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND" and gone["errors"][0]["path"] == ["conversation"]


def test_the_native_chat_stream_ends_with_the_final_event_and_resumes_by_event_id(server):
    t = register(server, verified=True).access_token
    query = """subscription($i: SendMessageInput!) { chatStream(input: $i) { __typename
        ... on StreamEventBase { eventId streamId serverTime conversation { id } agentNode { key } }
        ... on MessageDeltaEvent { delta }
        ... on FinalEvent { final { status responseText usage { requests } } } } }"""
    events = []
    with server.subscription(query, {"i": {"message": "stream natively", "agent": "researcher"}}, token=t) as sub:
        while not events or events[-1]["__typename"] != "FinalEvent":
            payload = sub.next(timeout=10)
            assert "errors" not in payload, payload
            events.append(payload["data"]["chatStream"])
    final = events[-1]["final"]
    assert final["status"] == "COMPLETED" and final["responseText"] == "[offline model] You said: stream natively"
    assert "".join(e.get("delta") or "" for e in events) == final["responseText"]
    # The envelope's ids as nodes, and its timestamp as a DateTime (GraphQL only: SSE bodies are unchanged).
    conversation = events[0]["conversation"]["id"]
    assert all(e["conversation"] == {"id": conversation} for e in events)
    assert events[-1]["agentNode"] == {"key": "researcher"} and events[0]["serverTime"].startswith("20")
    listed = server.gql("{ conversations { nodes { id } } }", token=t)["data"]["conversations"]["nodes"]
    assert listed == [{"id": conversation}]
    resumed = []
    after = events[-3]["eventId"]
    resume = """subscription($s: String!, $a: Int!) { chatEvents(streamId: $s, afterEventId: $a) {
        ... on StreamEventBase { eventId } } }"""
    with server.subscription(resume, {"s": events[0]["streamId"], "a": after}, token=t) as sub:
        while len(resumed) < 2:
            resumed.append(sub.next(timeout=10)["data"]["chatEvents"]["eventId"])
    assert resumed == [after + 1, after + 2]


def test_hosted_tools_are_passed_through_when_the_provider_runs_them(openai_server):
    stub = openai_server.stub
    acct = register(openai_server, verified=True)
    stub.reset()
    for agent in ("researcher", "code_assistant"):
        r = openai_server.rest("POST", CHAT, token=acct.access_token, json={"message": "hi", "agent_type": agent})
        assert r.status_code == 200, r.text
    researcher, coder = (json.dumps(req.body.get("tools") or req.body.get("messages")) for req in stub.requests[-2:])
    mode = openai_server.env["AGENTDECK_OPENAI_API_MODE"]
    if mode == "responses":
        assert '{"type": "web_search"}' in researcher
        assert '"type": "code_interpreter", "container": {"type": "auto"}' in coder  # no container bound
    else:  # Chat Completions has no hosted tools: none are sent
        assert "web_search" not in researcher and "code_interpreter" not in coder
