"""The chat domain's native graph, in-process (tests/inprocess.py): Node ids and tenant
boundaries, lookups (null + NOT_FOUND), connections, enums, mutation payloads with user errors,
idempotency keys in inputs, permissions, and the constant statement count of a page of
conversations with their agents and last messages (no N+1)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from agentdeck.context import Context, Services
from agentdeck.db.models import Conversation, ConversationMessage
from agentdeck.domain.catalog import SPECS
from agentdeck.schema import build_schema
from tests.inprocess import platform, tenant_member

SCHEMA = build_schema()
AGENTS = sorted(SPECS)


async def run(ctx: Context, query: str, variables: dict[str, Any] | None = None) -> Any:
    ctx.loaders.clear()
    return await SCHEMA.execute(query, variable_values=variables, context_value=ctx)


async def ok(ctx: Context, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await run(ctx, query, variables)
    assert result.errors is None, result.errors
    return result.data


def gid(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


async def seed(ctx: Context, count: int, messages: int = 2) -> list[uuid.UUID]:
    """`count` conversations across the agents, each with `messages` messages (the last one the
    assistant's, saying `answer <i>`)."""
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    async with ctx.session() as s:
        for i in range(count):
            agent = AGENTS[i % len(AGENTS)]
            at = start + timedelta(seconds=i)
            c = Conversation(
                agent_entrypoint=agent,
                active_agent=agent,
                display_name=f"conversation {i}",
                status="active",
                message_count=messages,
                last_message_preview=f"answer {i}",
                created_at=at,
                updated_at=at,
            )
            s.add(c)
            await s.flush()
            for m in range(messages):
                last = m == messages - 1
                s.add(
                    ConversationMessage(
                        conversation_id=c.id,
                        role="assistant" if last else "user",
                        content=f"answer {i}" if last else f"question {i}.{m}",
                        agent=agent if last else None,
                        created_at=at + timedelta(milliseconds=m),
                    )
                )
            ids.append(c.id)
        await s.commit()
    return ids


@contextmanager
def statements(services: Services) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


PAGE = (
    "query($n: Int!) { conversations(first: $n) { nodes { id agent { key } lastMessagePreview "
    "lastMessage { content } } } }"
)


async def test_a_page_of_conversations_costs_the_same_statements_for_5_as_for_50(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        small = await tenant_member(services, tenant_name="Small")
        large = await tenant_member(services, tenant_name="Large")
        await seed(small, 5)
        await seed(large, 50)
        await ok(small, PAGE, {"n": 5})  # warm: the tenant context, the first connection
        await ok(large, PAGE, {"n": 50})
        with statements(services) as five:
            data5 = await ok(small, PAGE, {"n": 5})
        with statements(services) as fifty:
            data50 = await ok(large, PAGE, {"n": 50})
        nodes = data50["conversations"]["nodes"]
        assert len(data5["conversations"]["nodes"]) == 5 and len(nodes) == 50
        assert {n["agent"]["key"] for n in nodes} == set(AGENTS)  # across every agent
        assert nodes[0]["lastMessage"]["content"] == "answer 49"  # newest first, its own last message
        assert all(n["lastMessage"]["content"].startswith("answer ") for n in nodes)
        assert all(n["lastMessagePreview"] == n["lastMessage"]["content"] for n in nodes)  # kept on the row
        assert len(fifty) == len(five), (five, fifty)
        assert len(fifty) == 2, fifty  # the page with its count, the last messages: no agent query, no N+1


NESTED = """query($n: Int!) { conversations(first: $n) { nodes {
    messages(first: 2) { totalCount nodes { content } pageInfo { hasNextPage } }
    events(first: 5) { totalCount }
    newest: messages(last: 1) { nodes { content } } } } }"""


async def test_nested_messages_and_events_are_batched_across_the_page(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        small = await tenant_member(services, tenant_name="Small")
        large = await tenant_member(services, tenant_name="Large")
        await seed(small, 5, messages=3)
        await seed(large, 50, messages=3)
        await ok(small, NESTED, {"n": 5})
        with statements(services) as five:
            await ok(small, NESTED, {"n": 5})
        with statements(services) as fifty:
            data = await ok(large, NESTED, {"n": 50})
        nodes = data["conversations"]["nodes"]
        assert all(n["messages"]["totalCount"] == 3 and n["messages"]["pageInfo"]["hasNextPage"] for n in nodes)
        assert nodes[0]["messages"]["nodes"] == [{"content": "question 49.0"}, {"content": "question 49.1"}]
        assert nodes[0]["newest"]["nodes"] == [{"content": "answer 49"}]
        assert all(n["events"]["totalCount"] == 0 for n in nodes)  # seeded rows have no ledger
        # The page with its count, then a window and its counts per distinct window asked for
        # (`last: 1` asks the total first): 9 statements for 5 conversations or 50.
        assert len(fifty) == len(five) == 9, (five, fifty)


async def test_agent_usage_of_a_whole_page_is_one_statement(tmp_path):
    query = "{ conversations(first: 40) { nodes { agent { totalConversations lastUsedAt } } } }"
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        await seed(ctx, 40, messages=1)
        await ok(ctx, query)
        with statements(services) as seen:
            data = await ok(ctx, query)
        usage = [n["agent"] for n in data["conversations"]["nodes"]]
        assert {u["totalConversations"] for u in usage} == {40 // len(AGENTS), 40 // len(AGENTS) + 1}
        assert all(u["lastUsedAt"] for u in usage)
        assert len([s for s in seen if "GROUP BY" in s.upper()]) == 1 and len(seen) <= 4, seen


async def test_node_ids_round_trip_and_another_tenants_are_null(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")
        [cid] = await seed(a, 1)
        listed = await ok(a, "{ conversations { nodes { id databaseId lastMessage { id role } } } }")
        node = listed["conversations"]["nodes"][0]
        assert node["databaseId"] == str(cid) and node["id"] == gid("Conversation", str(cid))
        message_id = node["lastMessage"]["id"]
        query = """query($ids: [ID!]!) { nodes(ids: $ids) {
            __typename id ... on Conversation { displayName status } ... on Message { content role }
            ... on Agent { key } ... on Tool { name kind } } }"""
        ids = [node["id"], message_id, gid("Agent", "researcher"), gid("Tool", "web_search")]
        mine = (await ok(a, query, {"ids": ids}))["nodes"]
        assert mine[0] == {
            "__typename": "Conversation",
            "id": node["id"],
            "displayName": "conversation 0",
            "status": "ACTIVE",
        }
        assert mine[1]["content"] == "answer 0" and mine[1]["role"] == "ASSISTANT"
        assert mine[2]["key"] == "researcher" and mine[3] == {
            "__typename": "Tool",
            "id": ids[3],
            "name": "web_search",
            "kind": "HOSTED",
        }
        theirs = (await ok(b, query, {"ids": ids}))["nodes"]
        assert theirs[0] is None and theirs[1] is None  # another tenant's conversation and message
        assert theirs[2]["key"] == "researcher"  # the catalog is everyone's
        unknown = [gid("Conversation", str(uuid.uuid4())), gid("Conversation", "not-a-uuid"), gid("Agent", "nope")]
        assert (await ok(a, query, {"ids": unknown}))["nodes"] == [None, None, None]


async def test_lookups_of_missing_ids_are_null_with_not_found_and_the_rest_stands(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")
        [cid] = await seed(b, 1)
        query = """query($id: ID!) { conversation(id: $id) { id } agent(key: "nope") { key }
            known: agent(key: "triage") { displayName } }"""
        for missing in (gid("Conversation", str(cid)), gid("Agent", "triage"), "garbage"):
            result = await run(a, query, {"id": missing})
            assert result.data == {"conversation": None, "agent": None, "known": {"displayName": "Triage Assistant"}}
            errors = {tuple(e.path): e.extensions["code"] for e in result.errors}
            assert errors == {("conversation",): "NOT_FOUND", ("agent",): "NOT_FOUND"}
        mine = await ok(b, query.replace('agent(key: "nope") { key }', ""), {"id": gid("Conversation", str(cid))})
        assert mine["conversation"] == {"id": gid("Conversation", str(cid))}


async def test_connections_page_with_cursors_totals_and_filters(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        await seed(ctx, 5, messages=3)
        page = "query($a: String) { conversations(first: 2, after: $a) { totalCount nodes { displayName } pageInfo { hasNextPage hasPreviousPage endCursor } } }"
        first = (await ok(ctx, page))["conversations"]
        assert first["totalCount"] == 5 and [n["displayName"] for n in first["nodes"]] == [
            "conversation 4",
            "conversation 3",
        ]
        assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
        second = (await ok(ctx, page, {"a": first["pageInfo"]["endCursor"]}))["conversations"]
        assert [n["displayName"] for n in second["nodes"]] == ["conversation 2", "conversation 1"]
        assert second["pageInfo"]["hasPreviousPage"]

        filtered = await ok(
            ctx, '{ conversations(filter: {agent: "%s"}) { totalCount nodes { agent { key } } } }' % AGENTS[1]
        )
        assert filtered["conversations"]["totalCount"] == 1
        assert filtered["conversations"]["nodes"][0]["agent"]["key"] == AGENTS[1]

        messages = """{ conversations(first: 1) { nodes {
            all: messages { totalCount nodes { role content } }
            newest: messages(last: 1) { nodes { content } pageInfo { hasPreviousPage } } } } }"""
        conv = (await ok(ctx, messages))["conversations"]["nodes"][0]
        assert conv["all"]["totalCount"] == 3 and [m["role"] for m in conv["all"]["nodes"]] == [
            "USER",
            "USER",
            "ASSISTANT",
        ]
        assert conv["newest"] == {"nodes": [{"content": "answer 4"}], "pageInfo": {"hasPreviousPage": True}}

        agents = await ok(
            ctx,
            '{ agents(first: 3) { totalCount nodes { key } pageInfo { hasNextPage } } searched: agents(filter: {search: "cites"}) { nodes { key } } }',
        )
        assert agents["agents"]["totalCount"] == len(SPECS) and len(agents["agents"]["nodes"]) == 3
        assert agents["searched"]["nodes"] == [{"key": "researcher"}]

        bad = await run(ctx, "{ conversations(first: 101) { totalCount } }")
        assert bad.data is None and bad.errors[0].extensions["code"] == "INVALID_INPUT"
        bad = await run(ctx, '{ conversations(after: "nope") { totalCount } }')
        assert bad.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_agents_and_tools_are_typed_with_their_edges(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        data = await ok(
            ctx,
            """{ agent(key: "triage") { id databaseId status tooling { supportsWebSearch }
                  tools { nodes { name kind category description } } handoffs { nodes { key } } totalConversations lastUsedAt }
                tools { totalCount nodes { name kind agents { nodes { key } } } } }""",
        )
        triage = data["agent"]
        assert triage["databaseId"] == "triage" and triage["id"] == gid("Agent", "triage")
        assert triage["status"] == "ACTIVE" and triage["totalConversations"] == 0 and triage["lastUsedAt"] is None
        assert [t["name"] for t in triage["tools"]["nodes"]] == ["get_current_time", "search_conversations"]
        assert triage["tools"]["nodes"][0]["kind"] == "FUNCTION" and triage["tools"]["nodes"][0]["description"]
        assert [t["category"] for t in triage["tools"]["nodes"]] == ["UTILITY", "KNOWLEDGE"]
        assert [h["key"] for h in triage["handoffs"]["nodes"]] == ["code_assistant", "researcher"]
        tools = {t["name"]: t for t in data["tools"]["nodes"]}
        assert data["tools"]["totalCount"] == len(tools)
        assert tools["web_search"]["kind"] == "HOSTED"
        assert {a["key"] for a in tools["web_search"]["agents"]["nodes"]} == {
            k for k, s in SPECS.items() if "web_search" in s.tools
        }


SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
    response handoffOccurred streamId status usage { requests }
    conversation { id messageCount lastMessage { role content } } agent { key }
    userErrors { field message code } } }"""


async def test_send_message_answers_with_a_payload_and_user_errors(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")
        sent = (await ok(a, SEND, {"input": {"message": "hello graph", "agent": "researcher"}}))["sendMessage"]
        assert sent["userErrors"] == [] and sent["response"] == "[offline model] You said: hello graph"
        assert sent["status"] == "COMPLETED" and sent["agent"] == {"key": "researcher"} and sent["streamId"]
        assert sent["conversation"]["messageCount"] == 2
        assert sent["conversation"]["lastMessage"] == {"role": "ASSISTANT", "content": sent["response"]}
        conversation = sent["conversation"]["id"]

        again = (await ok(a, SEND, {"input": {"message": "and again", "conversationId": conversation}}))["sendMessage"]
        assert again["conversation"]["id"] == conversation and again["conversation"]["messageCount"] == 4

        cases = [
            ({"message": "   "}, ["input", "message"], "INVALID"),
            ({"message": "hi", "agent": "nope"}, ["input", "agent"], "NOT_FOUND"),
            ({"message": "hi", "conversationId": "garbage"}, ["input", "conversationId"], "NOT_FOUND"),
        ]
        for given, field, code in cases:
            refused = (await ok(a, SEND, {"input": given}))["sendMessage"]
            assert refused["response"] is None and refused["conversation"] is None
            assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(field, code)], refused
        theirs = (await ok(b, SEND, {"input": {"message": "hi", "conversationId": conversation}}))["sendMessage"]
        assert [e["field"] for e in theirs["userErrors"]] == [["input", "conversationId"]]
        listed = await ok(b, "{ conversations { totalCount } }")
        assert listed["conversations"]["totalCount"] == 0  # nothing was started for b


async def test_an_idempotency_key_in_the_input_makes_a_retry_safe(tmp_path):
    start = """mutation($input: StartChatInput!) { startChat(input: $input) {
        streamId conversation { id } agent { key } userErrors { field code } } }"""
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        body = {"message": "only once", "idempotencyKey": "k-1"}
        first = (await ok(ctx, start, {"input": body}))["startChat"]
        retry = (await ok(ctx, start, {"input": body}))["startChat"]
        assert first["userErrors"] == [] and retry == first and first["agent"] == {"key": "triage"}
        other = (await ok(ctx, start, {"input": {**body, "message": "something else"}}))["startChat"]
        assert other["streamId"] is None
        assert other["userErrors"] == [{"field": ["input", "idempotencyKey"], "code": "INVALID"}]

        sent = (await ok(ctx, SEND, {"input": {"message": "answer once", "idempotencyKey": "k-2"}}))["sendMessage"]
        twin = (await ok(ctx, SEND, {"input": {"message": "answer once", "idempotencyKey": "k-2"}}))["sendMessage"]
        assert twin["conversation"]["id"] == sent["conversation"]["id"] and twin["streamId"] == sent["streamId"]
        assert twin["response"] == sent["response"]
        total = await ok(ctx, "{ conversations { totalCount } }")
        assert total["conversations"]["totalCount"] == 2  # one per key

        bad = await run(ctx, start, {"input": {"message": "x", "idempotencyKey": "has space"}})
        assert bad.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_delete_conversation_needs_an_admin_and_reports_the_deleted_id(tmp_path):
    delete = """mutation($id: ID!) { deleteConversation(input: {id: $id}) {
        deletedConversationId userErrors { field code } } }"""
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        owner = await tenant_member(services, "owner")
        [cid] = await seed(owner, 1)
        viewer = await tenant_member(services, "viewer")
        global_id = gid("Conversation", str(cid))
        refused = await run(viewer, delete, {"id": global_id})
        assert refused.data is None and refused.errors[0].extensions["code"] == "FORBIDDEN"
        done = (await ok(owner, delete, {"id": global_id}))["deleteConversation"]
        assert done == {"deletedConversationId": global_id, "userErrors": []}
        gone = (await ok(owner, delete, {"id": global_id}))["deleteConversation"]
        assert gone == {"deletedConversationId": None, "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}]}
        assert (await ok(owner, "{ conversations { totalCount } }"))["conversations"]["totalCount"] == 0


async def test_search_is_a_query_returning_hits_with_their_conversations(tmp_path):
    query = """query($q: String!, $n: Int) { searchConversations(query: $q, first: $n) {
        totalCount nodes { snippet score conversation { displayName } } pageInfo { hasNextPage } } }"""
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        a = await tenant_member(services, tenant_name="Tenant A")
        b = await tenant_member(services, tenant_name="Tenant B")
        for text in ("the quokka smiles", "a quokka again", "no marsupial here"):
            await ok(a, SEND, {"input": {"message": text}})
        await ok(b, SEND, {"input": {"message": "quokka of b"}})
        found = (await ok(a, query, {"q": "quokka", "n": 1}))["searchConversations"]
        assert found["totalCount"] == 2 and found["pageInfo"]["hasNextPage"]
        assert "quokka" in found["nodes"][0]["snippet"] and found["nodes"][0]["score"] > 0
        too_many = await run(a, query, {"q": "quokka", "n": 51})
        assert too_many.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_events_are_the_ledger_as_a_connection(tmp_path):
    query = """{ conversations { nodes { events { totalCount nodes { sequenceNumber type role name agent { key } createdAt } }
        none: events(filter: {workflowRunId: "nope"}) { totalCount } } } }"""
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        await ok(ctx, SEND, {"input": {"message": "ledger me"}})
        conv = (await ok(ctx, query))["conversations"]["nodes"][0]
        events = conv["events"]
        assert events["totalCount"] == 2 and [e["sequenceNumber"] for e in events["nodes"]] == [1, 2]
        assert [(e["type"], e["role"]) for e in events["nodes"]] == [("MESSAGE", "USER"), ("MESSAGE", "ASSISTANT")]
        assert events["nodes"][0]["agent"] == {"key": "triage"}
        assert conv["none"]["totalCount"] == 0


async def test_reads_need_the_conversation_scope(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        [cid] = await seed(ctx, 1)
        assert ctx.principal is not None
        ctx.principal = type(ctx.principal)(
            **{**ctx.principal.__dict__, "scopes": frozenset({"tools:read"})}  # an API key with one scope
        )
        listed = await run(ctx, "{ conversations { totalCount } }")
        assert listed.errors[0].extensions["code"] == "FORBIDDEN"
        node = await run(ctx, "query($id: ID!) { node(id: $id) { id } }", {"id": gid("Conversation", str(cid))})
        assert node.errors[0].extensions["code"] == "FORBIDDEN"
        agent = await ok(ctx, '{ agent(key: "triage") { key } }')
        assert agent == {"agent": {"key": "triage"}}


async def test_a_page_past_the_end_still_counts_the_whole_list(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services, tenant_name="Counted")
        await seed(ctx, 3)
        query = "query($a: String) { conversations(first: 2, after: $a) { totalCount nodes { id } pageInfo { hasNextPage endCursor } } }"
        first = (await ok(ctx, query, {"a": None}))["conversations"]
        assert (first["totalCount"], len(first["nodes"]), first["pageInfo"]["hasNextPage"]) == (3, 2, True)
        second = (await ok(ctx, query, {"a": first["pageInfo"]["endCursor"]}))["conversations"]
        assert (second["totalCount"], len(second["nodes"]), second["pageInfo"]["hasNextPage"]) == (3, 1, False)
        past = (await ok(ctx, query, {"a": second["pageInfo"]["endCursor"]}))["conversations"]
        assert (past["totalCount"], past["nodes"]) == (3, [])  # no row to carry the count: counted alone


async def test_a_chat_turn_is_ten_statements_in_two_commits_and_keeps_its_ledger_in_order(tmp_path):
    """A turn's start (usage, conversation, message, run, ledger item) and its end (count, ledger
    item, answer, outcome) are one transaction each, of Core statements: a regression here is a
    statement added to every turn. A continued conversation costs the same plus its history read."""
    from agentdeck.domain.chat.conversations import conversation_events, get_history
    from agentdeck.domain.chat.turns import ChatRequest, chat

    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        await chat(ctx, ChatRequest("warm"))  # the tenant context, the first connection
        commits: list[Any] = []

        def commit(conn: Any) -> None:
            commits.append(conn)

        event.listen(services.db.engine.sync_engine, "commit", commit)
        try:
            with statements(services) as first:
                answer = await chat(ctx, ChatRequest("hello"))
            assert len(first) == 10 and len(commits) == 2, first
            commits.clear()
            with statements(services) as second:
                await chat(ctx, ChatRequest("again", conversation_id=answer.conversation_id))
            assert len(second) == 11 and len(commits) == 2, second
        finally:
            event.remove(services.db.engine.sync_engine, "commit", commit)
        transcript = await get_history(ctx, answer.conversation_id)
        assert [m.role for m in transcript.messages] == ["user", "assistant", "user", "assistant"]
        assert transcript.conversation.message_count == 4
        assert transcript.conversation.last_message_preview == transcript.messages[-1].content
        ledger = await conversation_events(ctx, answer.conversation_id, None)
        assert [e.sequence_no for e in ledger.items] == [1, 2, 3, 4]
        assert [e.run_item_name for e in ledger.items] == ["user_input", "message_output_item"] * 2
        assert all(e.tenant_id == ctx.principal.tenant_id for e in ledger.items)


async def test_core_statements_of_a_session_follow_its_transactions(tmp_path):
    """`execute_core` keeps the session's connection for its transaction: after a commit the next
    statement is in a new transaction, and one rolled back is gone."""
    from sqlalchemy import func, select

    from agentdeck.db.models import UsageRecord
    from agentdeck.db.session import execute_core, session_tenant
    from agentdeck.domain.billing.usage import _RECORD

    async with platform(tmp_path) as services:
        ctx = await tenant_member(services)
        now = datetime.now(UTC)

        def usage(s: Any, key: str) -> dict[str, Any]:
            return {
                "id": uuid.uuid4(),
                "feature_key": key,
                "quantity": 1,
                "idempotency_key": None,
                "period_start": now,
                "period_end": now + timedelta(days=1),
                "recorded_at": now,
                "tenant_id": session_tenant(s),
            }

        async with ctx.session() as s:
            await execute_core(s, _RECORD, usage(s, "kept"))
            await s.commit()
            await execute_core(s, _RECORD, usage(s, "dropped"))
            await s.rollback()
            await execute_core(s, _RECORD, usage(s, "kept"))
            await s.commit()
        async with ctx.session() as s:
            rows = await s.execute(select(UsageRecord.feature_key, func.count()).group_by(UsageRecord.feature_key))
            assert dict(rows.all()) == {"kept": 2}
