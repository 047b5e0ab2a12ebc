"""A conversation's memory strategy, its message pages and its live updates, in-process
(tests/inprocess.py): what the model is sent under each mode, the settings' validation (nothing
changes on bad input), roles and tenants; keyset pages of messages both ways; the updates a
turn, a setting and a deletion publish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agentdeck.domain.agents.memory import SUMMARY_PREFIX, MemoryConfig, apply_memory
from agentdeck.domain.chat import conversations as rv
from agentdeck.domain.chat.turns import ChatRequest, chat
from agentdeck.errors import BadRequest, Forbidden, InvalidInput, NotFound
from agentdeck.providers.llm import Message, OfflineModel, ToolCall
from tests.inprocess import platform, tenant_member


class RecordingModel(OfflineModel):
    """The offline model, remembering the messages of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[list[Message]] = []

    async def stream(self, **kw) -> AsyncIterator:  # type: ignore[override]
        self.sent.append(list(kw["messages"]))
        async for event in super().stream(**kw):
            yield event


def _turns(n: int) -> list[Message]:
    out = []
    for i in range(1, n + 1):
        out += [Message("user", f"q{i}"), Message("assistant", f"a{i}")]
    return out


def _texts(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


def test_trim_keeps_the_last_turns_once_there_are_more_than_the_limit():
    history = [*_turns(4), Message("user", "q5")]
    assert apply_memory(history, MemoryConfig()) == history
    assert apply_memory(history, MemoryConfig(mode="none", max_user_turns=1)) == history
    assert _texts(apply_memory(history, MemoryConfig(mode="trim", max_user_turns=2))) == ["q4", "a4", "q5"]
    kept = apply_memory(history, MemoryConfig(mode="trim", max_user_turns=3, keep_last_turns=1))
    assert _texts(kept) == ["q5"]
    assert apply_memory(history, MemoryConfig(mode="trim", max_user_turns=5)) == history  # not over yet
    assert apply_memory(history, MemoryConfig(mode="trim")) == history  # no limit: nothing to trim


def test_summarize_replaces_the_earlier_turns_with_one_summary():
    history = [*_turns(3), Message("user", "q4")]
    sent = apply_memory(history, MemoryConfig(mode="summarize", max_user_turns=2, keep_last_turns=2))
    assert [m.role for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[0].content == f"{SUMMARY_PREFIX} prior context"
    assert sent[1].content == "user: q1\nassistant: a1\nuser: q2\nassistant: a2"
    assert _texts(sent[2:]) == ["q3", "a3", "q4"]
    one = apply_memory(history, MemoryConfig(mode="summarize", max_user_turns=2))
    assert _texts(one[2:]) == ["q4"]  # at least the turn being run is kept whole
    long = [Message("user", "x" * 5000), Message("assistant", "y"), Message("user", "now")]
    assert len(apply_memory(long, MemoryConfig(mode="summarize", max_user_turns=1))[1].content) == 4000


def test_compact_replaces_old_tool_items_with_placeholders():
    call = ToolCall("c1", "get_current_time", '{"tz": "UTC"}')
    history = [
        Message("user", "q1"),
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", '{"time": "noon"}', tool_call_id="c1"),
        Message("assistant", "a1"),
        *(_turns(3)[2:]),
    ]
    config = MemoryConfig(mode="compact", compact_trigger_turns=2, compact_keep=1)
    sent = apply_memory(history, config)
    assert sent[2].content.startswith("⟦removed: tool output for get_current_time (call_id=c1)")
    assert sent[1].tool_calls[0].arguments == '{"tz": "UTC"}'  # inputs are kept unless cleared
    cleared = apply_memory(history, MemoryConfig(**{**vars(config), "clear_tool_inputs": True}))
    assert cleared[1].tool_calls[0].arguments == "{}"
    assert apply_memory(history, MemoryConfig(mode="compact", compact_trigger_turns=3)) == history


async def test_the_strategy_set_on_a_conversation_shapes_what_the_model_is_sent(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        model = services.llm = RecordingModel()
        ctx = await tenant_member(services)
        first = await chat(ctx, ChatRequest("one"))
        cid = first.conversation_id
        for text in ("two", "three"):
            await chat(ctx, ChatRequest(text, cid))
        assert [m.content for m in model.sent[-1] if m.role == "user"] == ["one", "two", "three"]

        config = await rv.update_memory(ctx, cid, {"mode": "trim", "max_user_turns": 2, "keep_last_turns": 1})
        assert (config.mode, config.max_user_turns, config.keep_last_turns) == ("trim", 2, 1)
        await chat(ctx, ChatRequest("four", cid))
        assert _texts(model.sent[-1]) == ["four"]

        # A partial change keeps the other fields; null clears one.
        config = await rv.update_memory(ctx, cid, {"keep_last_turns": None})
        assert (config.mode, config.max_user_turns, config.keep_last_turns) == ("trim", 2, None)
        await chat(ctx, ChatRequest("five", cid))
        assert [m.content for m in model.sent[-1] if m.role == "user"] == ["four", "five"]

        await rv.update_memory(ctx, cid, {"mode": "summarize", "max_user_turns": 1})
        await chat(ctx, ChatRequest("six", cid))
        assert model.sent[-1][0].content == f"{SUMMARY_PREFIX} prior context"
        assert "user: one" in model.sent[-1][1].content and _texts(model.sent[-1][2:]) == ["six"]

        await rv.update_memory(ctx, cid, {"mode": None})
        await chat(ctx, ChatRequest("seven", cid))
        assert len([m for m in model.sent[-1] if m.role == "user"]) == 7
        # The transcript itself is never trimmed.
        assert len((await rv.get_history(ctx, cid)).messages) == 14


async def test_bad_memory_settings_are_refused_naming_the_field_and_change_nothing(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        owner = await tenant_member(services)
        cid = (await chat(owner, ChatRequest("hello"))).conversation_id
        await rv.update_memory(owner, cid, {"mode": "trim", "max_user_turns": 3})
        for changes, field in (
            ({"mode": "forget"}, "input.mode"),
            ({"max_user_turns": 0}, "input.max_user_turns"),
            ({"keep_last_turns": -1}, "input.keep_last_turns"),
            ({"compact_keep": 10**18}, "input.compact_keep"),
            ({"mode": "trim", "compact_trigger_turns": 1001}, "input.compact_trigger_turns"),
            ({"window": 3}, "input.window"),
        ):
            with pytest.raises(InvalidInput) as exc:
                await rv.update_memory(owner, cid, changes)
            assert exc.value.details[0]["field"] == field
        config = await rv.memory_config(owner, (await rv.get_history(owner, cid)).conversation.id)
        assert (config.mode, config.max_user_turns, config.compact_keep) == ("trim", 3, None)

        with pytest.raises(NotFound):
            await rv.update_memory(owner, "not-a-uuid", {"mode": "trim"})
        other = await tenant_member(services, tenant_name="Other")
        with pytest.raises(NotFound):
            await rv.update_memory(other, cid, {"mode": "none"})
        member = await tenant_member(services, role="member")
        with pytest.raises(Forbidden):  # the legacy rule: admins set a conversation's memory
            await rv.update_memory(member, cid, {"mode": "none"})


async def test_messages_are_paged_by_keyset_newest_first_or_oldest_first(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        cid = (await chat(ctx, ChatRequest("m1"))).conversation_id
        for text in ("m2", "m3"):
            await chat(ctx, ChatRequest(text, cid))
        everything = [m.id for m in (await rv.get_history(ctx, cid)).messages]
        assert len(everything) == 6

        async def walk(direction: str, limit: int) -> list:
            seen, cursor = [], None
            while True:
                page = await rv.message_page(ctx, cid, limit, cursor, direction)
                seen += [m.id for m in page.items]
                if page.next_cursor is None:
                    return seen
                cursor = page.next_cursor

        assert await walk("asc", 4) == everything
        assert await walk("desc", 4) == everything[::-1]
        assert await walk("desc", 100) == everything[::-1]
        for cursor in ("%%%", "bm90LWpzb24", "eyJ0cyI6ICJ4IiwgImlkIjogInkifQ"):  # junk, not JSON, bad values
            with pytest.raises(BadRequest):
                await rv.message_page(ctx, cid, 10, cursor)
        with pytest.raises(InvalidInput):
            await rv.message_page(ctx, cid, 10, None, "sideways")
        other = await tenant_member(services, tenant_name="Other")
        with pytest.raises(NotFound):
            await rv.message_page(other, cid, 10, None)


async def test_a_reader_sees_the_snapshot_then_each_change_until_the_conversation_is_deleted(tmp_path):
    async with platform(tmp_path, offline_model_delay_ms=0) as services:
        ctx = await tenant_member(services)
        cid = (await chat(ctx, ChatRequest("first words"))).conversation_id
        other = await tenant_member(services, tenant_name="Other")
        with pytest.raises(NotFound):
            await anext(rv.conversation_updates(other, cid))

        updates: list[dict] = []
        reader = rv.conversation_updates(ctx, cid)
        updates.append(await anext(reader))  # subscribed: nothing after this is missed

        async def rest() -> None:
            async for update in reader:
                updates.append(update)

        task = asyncio.create_task(rest())
        await chat(ctx, ChatRequest("more", cid))
        await rv.update_memory(ctx, cid, {"mode": "trim", "max_user_turns": 5})
        await rv.delete_conversation(ctx, cid)
        await asyncio.wait_for(task, 5)  # the deletion ends the stream

        assert [(u["reason"], u["turn_status"]) for u in updates] == [
            ("snapshot", None),
            ("turn_started", "running"),
            ("turn_finished", "completed"),
            ("memory_updated", None),
            ("deleted", None),
        ]
        assert [u["message_count"] for u in updates] == [2, 3, 4, 4, 4]
        assert {u["display_name"] for u in updates} == {"first words"}
