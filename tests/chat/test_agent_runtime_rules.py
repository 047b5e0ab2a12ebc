"""Agent runtime rules, in-process (tests/inprocess.py), driven by chat turns against a scripted
model: which tools each agent is offered (its function tools and its handoffs; hosted tools only
when the provider runs them, a code interpreter in the agent's bound container; file search is a
function tool of ours, never hosted); that a call to a tool or handoff the agent does not have
is answered with an error, not run; the history an agent taking over sees under each handoff context policy (the spec's, or the
request's); and the stream envelope's sequence rules (numbered 1..n across forks, nothing after
the terminal event, which is kept before the bus has it)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from agentdeck.domain.agents.runtime import handoff_context, tools_for
from agentdeck.domain.agents.streams import StreamWriter, timestamp, workflow_context
from agentdeck.domain.catalog import SPECS, WORKFLOWS
from agentdeck.domain.chat.turns import ChatRequest, chat
from agentdeck.domain.files.containers import bind_agent, create_container
from agentdeck.errors import InvalidInput
from agentdeck.providers.bus import InProcessBus
from agentdeck.providers.llm import Completed, Message, ResponseStarted, TextDelta, ToolCall, ToolCallDelta, Usage
from tests.inprocess import platform, tenant_member

AGENT_BY_INSTRUCTIONS = {spec.instructions: key for key, spec in SPECS.items()}


@dataclass
class Call:
    agent: str
    messages: list[Message]
    tools: list[str]
    hosted: list[dict]


class ScriptedModel:
    """A user message `<agent>:<tool>` makes that agent call that tool once; otherwise (and after
    a tool result) the model answers in text. Every call is recorded."""

    name = "scripted"

    def __init__(self, hosted_tools: bool = False) -> None:
        self.hosted_tools = hosted_tools
        self.calls: list[Call] = []

    async def stream(self, *, model, instructions, messages, tools, hosted=()) -> AsyncIterator:
        agent = AGENT_BY_INSTRUCTIONS[instructions]
        self.calls.append(Call(agent, list(messages), [t.name for t in tools], list(hosted)))
        n = len(self.calls)
        yield ResponseStarted(f"resp_{n}")
        last = messages[-1]
        wanted_by, _, tool = last.content.partition(":")
        if last.role == "user" and wanted_by == agent:
            call = ToolCall(f"call_{n}", tool, "{}")
            yield ToolCallDelta(0, call.id, call.name, "{}")
            yield Completed("", (call,), Usage(1, 1))
            return
        text = f"{agent} answers" if last.role == "tool" else f"{agent} heard {last.content}"
        yield TextDelta(text)
        yield Completed(text, (), Usage(1, 1))

    def seen_by(self, agent: str) -> list[Call]:
        return [c for c in self.calls if c.agent == agent]


def _shape(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.role, m.content if m.role != "tool" else "<tool output>") for m in messages]


def test_handoff_context_policies_cut_the_history_at_the_last_user_message():
    call = ToolCall("c1", "transfer_to_researcher", "{}")
    history = [
        Message("user", "earlier question"),
        Message("assistant", "earlier answer"),
        Message("user", "now this"),
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", '{"assistant": "researcher"}', tool_call_id="c1"),
    ]
    assert handoff_context(history, "full") == history
    assert handoff_context(history, "last_turn") == history[2:]
    assert handoff_context(history, "fresh") == [history[2]]
    no_user = [Message("assistant", "hello")]
    assert handoff_context(no_user, "fresh") == no_user  # nothing to cut at: all of it


def test_each_agent_is_offered_its_function_tools_and_its_handoffs():
    assert [t.name for t in tools_for(SPECS["triage"])] == [
        "get_current_time",
        "search_conversations",
        "transfer_to_code_assistant",
        "transfer_to_researcher",
    ]
    handoff = tools_for(SPECS["triage"])[2]
    assert handoff.description == "Hand the conversation to Code Assistant."
    assert tools_for(SPECS["researcher"]) == []  # web search is hosted, not ours to run
    # File search is ours to run (over the stores bound to the agent), not the provider's.
    assert [t.name for t in tools_for(SPECS["retriever"])] == ["file_search"]
    assert [t.name for t in tools_for(SPECS["director"])][-1] == "transfer_to_image_studio"


async def test_the_history_an_agent_taking_over_sees_follows_the_handoff_policy(tmp_path):
    async with platform(tmp_path) as services:
        model = services.llm = ScriptedModel()
        ctx = await tenant_member(services)

        async def handoff(target: str, policy: str | None) -> list[tuple[str, str]]:
            first = await chat(ctx, ChatRequest("hello", agent_type="triage"))
            options = {"handoff_context_policy": policy} if policy else None
            answer = await chat(
                ctx,
                ChatRequest(f"triage:transfer_to_{target}", first.conversation_id, "triage", options),
            )
            assert (answer.agent_used, answer.handoff_occurred) == (target, True)
            return _shape(model.seen_by(target)[-1].messages)

        asked = ("user", "triage:transfer_to_researcher")
        call, output = ("assistant", ""), ("tool", "<tool output>")
        everything = [("user", "hello"), ("assistant", "triage heard hello"), asked, call, output]
        # The specs' own policies: triage hands research over fresh, code with the last turn.
        assert await handoff("researcher", None) == [asked]
        assert await handoff("code_assistant", None) == [("user", "triage:transfer_to_code_assistant"), call, output]
        # A request's policy wins over the spec's.
        assert await handoff("researcher", "full") == everything
        assert await handoff("researcher", "last_turn") == [asked, call, output]
        handed = model.seen_by("researcher")[-1].messages[-1]
        assert json.loads(handed.content) == {"assistant": "researcher"}

        with pytest.raises(InvalidInput) as exc:
            await chat(ctx, ChatRequest("hi", run_options={"handoff_context_policy": "some"}))
        assert exc.value.details[0]["field"] == "input.run_options.handoff_context_policy"


async def test_tools_and_handoffs_an_agent_does_not_have_are_refused_not_run(tmp_path):
    async with platform(tmp_path) as services:
        model = services.llm = ScriptedModel()
        ctx = await tenant_member(services)

        async def tool_output(agent: str, tool: str) -> tuple[dict, str | None]:
            answer = await chat(ctx, ChatRequest(f"{agent}:{tool}", agent_type=agent))
            return json.loads(model.calls[-1].messages[-1].content), answer.agent_used

        own, agent = await tool_output("triage", "get_current_time")
        assert set(own) == {"utc"} and agent == "triage"
        assert await tool_output("researcher", "get_current_time") == (
            {"error": "unknown tool 'get_current_time'"},
            "researcher",
        )
        # A handoff the agent is not allowed is an unknown tool too: nobody takes over.
        assert await tool_output("triage", "transfer_to_pdf_designer") == (
            {"error": "unknown tool 'transfer_to_pdf_designer'"},
            "triage",
        )
        assert model.seen_by("pdf_designer") == []
        assert model.seen_by("triage")[0].tools == [t.name for t in tools_for(SPECS["triage"])]


async def test_hosted_tools_follow_the_spec_and_the_agents_container(tmp_path):
    async with platform(tmp_path) as services:
        model = services.llm = ScriptedModel(hosted_tools=True)
        ctx = await tenant_member(services)
        container = await create_container(ctx, "box", None, None, None, None)
        await bind_agent(ctx, "code_assistant", container.id)
        for agent in ("code_assistant", "pdf_designer", "retriever", "triage"):
            await chat(ctx, ChatRequest("hi", agent_type=agent))
        hosted = {c.agent: c.hosted for c in model.calls}
        assert hosted == {
            "code_assistant": [{"type": "code_interpreter", "container": container.openai_id}],
            "pdf_designer": [{"type": "code_interpreter", "container": {"type": "auto"}}],
            "retriever": [{"type": "web_search"}],  # file search stays ours
            "triage": [],
        }


async def test_stream_events_are_numbered_once_across_forks_and_end_at_the_terminal_event():
    bus = InProcessBus()
    seen_at_terminal: list[int] = []

    async def keep(event: dict) -> None:  # the bus must not have it yet
        seen_at_terminal.extend([e["event_id"] async for e in bus.replay("s1", 0, wait_s=0)])
        kept.append(event)

    kept: list[dict] = []
    spec = WORKFLOWS["analysis_parallel"]
    fanout, synthesis = spec.stages
    run_id = uuid.uuid4()
    writer = StreamWriter(bus, "s1", "conv-1", workflow_context(spec, run_id), on_terminal=keep)
    branches = [writer.fork(workflow_context(spec, run_id, fanout, step, i)) for i, step in enumerate(fanout.steps)]
    branches[1].response_id = "resp_b"

    await writer.emit("lifecycle", None, status="in_progress")
    await asyncio.gather(*(b.emit("message.delta", None, delta=str(i)) for i in range(10) for b in branches))
    final = await branches[0].emit("final", "researcher", final={"status": "completed"})
    assert writer.closed and branches[1].closed
    with pytest.raises(RuntimeError):
        await writer.emit("lifecycle", None, status="completed")

    events = [e async for e in bus.replay("s1", 0, wait_s=0)]
    assert [e["event_id"] for e in events] == list(range(1, 23))
    assert events[-1] is final and kept == [final] and seen_at_terminal == list(range(1, 22))
    assert {e["response_id"] for e in events if e["workflow"]["branch_index"] == 1} == {"resp_b"}
    assert {e["response_id"] for e in events if e["workflow"]["branch_index"] == 0} == {None}
    assert final["workflow"] == {
        "workflow_key": "analysis_parallel",
        "workflow_run_id": str(run_id),
        "stage_name": "fanout",
        "step_name": "analysis",
        "step_agent": "researcher",
        "parallel_group": "fanout",
        "branch_index": 0,
    }
    assert workflow_context(spec, run_id, synthesis, synthesis.steps[0])["parallel_group"] is None
    assert [e["event_id"] async for e in bus.replay("s1", 20, wait_s=0)] == [21, 22]


def test_event_timestamps_are_written_as_isoformat_writes_them(monkeypatch):
    """`timestamp()` formats the second once; the text is `datetime.isoformat()`'s with `Z`,
    microseconds left out when they are 0, as before."""
    import time as time_module
    from datetime import UTC, datetime

    for ns in (
        1_795_000_000_123_456_789,
        1_795_000_000_000_000_999,
        1_795_000_001_000_001_000,
        1_795_000_000_999_999_999,
    ):
        monkeypatch.setattr(time_module, "time_ns", lambda ns=ns: ns)
        moment = datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(microsecond=ns % 1_000_000_000 // 1000)
        assert timestamp() == moment.isoformat().replace("+00:00", "Z")
