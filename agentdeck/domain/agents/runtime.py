"""Runs one chat turn: the model call(s), the tool loop, handoffs, persistence and the stream.

A turn runs as a server task, not inside a request: a reader that goes away (or was never
there) does not stop it. Everything a reader needs is in the turn's replayable stream; what
outlives the stream (messages, the run-item ledger, usage) is written to the database before
the terminal event, so a client that sees `final` can read the history at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.models import ChatRun, Conversation, ConversationEvent, ConversationMessage
from agentdeck.db.session import execute_core, session_tenant
from agentdeck.domain.agents.guardrails import Guard
from agentdeck.domain.agents.memory import MemoryConfig, apply_memory
from agentdeck.domain.agents.streams import StreamWriter
from agentdeck.domain.agents.tools import TOOLS, handoff_tool
from agentdeck.domain.agents.updates import publish_update
from agentdeck.domain.catalog import SPECS, AgentSpec
from agentdeck.domain.files.containers import code_interpreter_tool
from agentdeck.providers.llm import (
    Completed,
    FunctionTool,
    Message,
    ModelError,
    ResponseStarted,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    parse_arguments,
)

log = logging.getLogger("agentdeck.chat")
HISTORY_LIMIT = 50
PREVIEW_CHARS = 280
LEDGER_ATTEMPTS = 8


@dataclass
class TurnResult:
    status: str  # completed | failed | incomplete | refused (by a guardrail: response_text is the refusal)
    response_text: str = ""
    agent: str = ""
    handoffs: int = 0
    usage: Usage = field(default_factory=Usage)
    requests: int = 0
    error: str | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)  # the guardrails' `redacted` notices
    # Run items the caller writes to the ledger in its finishing transaction (`defer_answer`).
    ledger: list[dict[str, Any]] = field(default_factory=list)


async def hosted_for(ctx: Context, spec: AgentSpec) -> list[dict[str, Any]]:
    """Provider-run tools of the agent, when the provider runs them (OpenAI Responses API).
    A code interpreter uses the container bound to the agent, if any. File search stays a
    server-side concern: the tenant's vector stores are ours, not the provider's."""
    if not ctx.services.llm.hosted_tools:
        return []
    hosted: list[dict[str, Any]] = []
    for name in spec.tools:
        if name == "code_interpreter":
            hosted.append(await code_interpreter_tool(ctx, spec.key))
        elif name in ("web_search", "image_generation"):
            hosted.append({"type": name})
    return hosted


def tools_for(spec: AgentSpec) -> list[FunctionTool]:
    own = [TOOLS[name].schema for name in spec.tools if name in TOOLS]
    return own + [handoff_tool(h.agent, SPECS[h.agent].display_name) for h in spec.handoffs]


async def record_run_item(ctx: Context, conversation_id: uuid.UUID, **item: Any) -> None:
    """Append one run item to the conversation's durable ledger (next sequence number). Writers
    of one conversation (concurrent turns, parallel workflow branches, other processes) take its
    row's lock first, so each reads the number the one before it wrote: counted by retrying
    on the unique constraint alone, 20 concurrent turns ran out of attempts. A writer that
    still loses to the constraint takes the next number."""
    for attempt in range(LEDGER_ATTEMPTS):
        try:
            async with ctx.session() as s:
                await append_run_item(s, conversation_id, **item)
                await s.commit()
            return
        except IntegrityError:
            if attempt == LEDGER_ATTEMPTS - 1:
                raise


# The turn's statements, built once with bind parameters: executed with `execute_core`, each
# finds its compiled form by identity (no ORM execute path, no cache key per execution). Each
# names the tenant of its session itself (`session_tenant`). A conversation's row they return
# holds the model's columns and is read as the model is (as `chat.conversations` reads pages).
_conversations = cast(Table, Conversation.__table__)
_messages = cast(Table, ConversationMessage.__table__)
_events = cast(Table, ConversationEvent.__table__)
_runs = cast(Table, ChatRun.__table__)


def _param(name: str, column: Any) -> Any:
    return bindparam(name, type_=column.type)


def _note_statement(with_agent: bool) -> Any:
    c = _conversations.c
    now = _param("p_now", c.updated_at)
    newer = or_(c.updated_at.is_(None), c.updated_at <= now)
    values: dict[str, Any] = {
        "message_count": c.message_count + 1,
        "last_message_preview": case(
            (newer, _param("p_preview", c.last_message_preview)), else_=c.last_message_preview
        ),
        "updated_at": case((newer, now), else_=c.updated_at),
    }
    if with_agent:
        values["active_agent"] = case((newer, _param("p_agent", c.active_agent)), else_=c.active_agent)
    return (
        update(_conversations)
        .where(c.id == _param("p_cid", c.id), c.tenant_id == _param("p_tenant", c.tenant_id))
        .values(values)
        .returning(*c)
    )


_NOTE = {False: _note_statement(False), True: _note_statement(True)}
_LOCK = (
    update(_conversations)
    .where(_conversations.c.id == _param("p_cid", _conversations.c.id))
    .where(_conversations.c.tenant_id == _param("p_tenant", _conversations.c.tenant_id))
    .values(id=_conversations.c.id)
)
# The next sequence number and the item in one statement (the conversation's row lock is held:
# see `record_run_item`); every column is given, none left to a default.
_EVENT_COLUMNS = [c.key for c in _events.c if c.key != "sequence_no"]
_APPEND = insert(_events).from_select(
    [*_EVENT_COLUMNS, "sequence_no"],
    select(
        *(_param(f"p_{name}", _events.c[name]) for name in _EVENT_COLUMNS),
        func.coalesce(func.max(_events.c.sequence_no), 0) + 1,
    ).where(
        _events.c.conversation_id == _param("p_conversation_id", _events.c.conversation_id),
        _events.c.tenant_id == _param("p_tenant_id", _events.c.tenant_id),
    ),
)
_ITEM_FIELDS = frozenset(_EVENT_COLUMNS) - {"id", "conversation_id", "tenant_id", "created_at", "attachments"}
_ADD_MESSAGE = insert(_messages)
_HISTORY = (
    select(_messages.c.role, _messages.c.content)
    .where(
        _messages.c.conversation_id == _param("p_cid", _messages.c.conversation_id),
        _messages.c.tenant_id == _param("p_tenant", _messages.c.tenant_id),
    )
    .order_by(_messages.c.created_at.desc())
    .limit(HISTORY_LIMIT)
)
_READ_CONVERSATION = select(*_conversations.c).where(
    _conversations.c.id == _param("p_cid", _conversations.c.id),
    _conversations.c.tenant_id == _param("p_tenant", _conversations.c.tenant_id),
)


def _end_statement(with_terminal: bool) -> Any:
    c = _runs.c
    names = ["status", "error", "input_tokens", "output_tokens", "requests", "ended_at"]
    if with_terminal:
        names.append("terminal_event")
    return (
        update(_runs)
        .where(c.id == _param("p_run", c.id), c.tenant_id == _param("p_tenant", c.tenant_id))
        .values({name: _param(f"p_{name}", c[name]) for name in names})
    )


_END_RUN = {False: _end_statement(False), True: _end_statement(True)}


async def append_run_item(s: AsyncSession, conversation_id: uuid.UUID, *, locked: bool = False, **item: Any) -> None:
    """`record_run_item` in the caller's transaction (which commits it): the conversation's row
    lock first (unless the caller holds it: `locked`), then the item with the next sequence number."""
    tenant = session_tenant(s)
    if not locked:
        await execute_core(s, _LOCK, {"p_cid": conversation_id, "p_tenant": tenant})
    unknown = set(item) - _ITEM_FIELDS
    if unknown:
        raise TypeError(f"unknown run item fields: {sorted(unknown)}")
    params = {f"p_{name}": item.get(name) for name in _ITEM_FIELDS}
    params |= {
        "p_id": uuid.uuid4(),
        "p_conversation_id": conversation_id,
        "p_tenant_id": tenant,
        "p_attachments": [],
        "p_created_at": datetime.now(UTC),
    }
    await execute_core(s, _APPEND, params)


async def history(s: AsyncSession, conversation: Any) -> list[Message]:
    """What the model is sent of the conversation: its last HISTORY_LIMIT messages, shaped by the
    conversation's memory strategy (`memory.apply_memory`); read in the caller's transaction (the
    one that starts the turn, so the history is the conversation as the message found it).
    `conversation`: its row (the model's columns)."""
    params = {"p_cid": conversation.id, "p_tenant": session_tenant(s)}
    rows = (await execute_core(s, _HISTORY, params)).all()
    messages = [Message(role, content) for role, content in reversed(rows)]
    return apply_memory(messages, MemoryConfig.of(conversation))


async def run_turn(
    ctx: Context,
    writer: StreamWriter,
    run_id: uuid.UUID,
    conversation_id: uuid.UUID,
    spec: AgentSpec,
    messages: list[Message],
    handoff_policy: str | None = None,
) -> TurnResult:
    """The turn after its start (which emitted its `in_progress` event): the agent loop on
    `messages` (the history read when it started), then one transaction that stores the answer,
    its ledger item, the run's outcome and its terminal event, then the closing events."""
    result = TurnResult(status="failed", agent=spec.key)
    try:
        result = await run_agent(
            ctx, writer, conversation_id, spec, messages, handoff_policy=handoff_policy, defer_answer=True
        )
    except ModelError as exc:
        result.status, result.error = "failed", exc.message
        await _finish_failed(ctx, run_id, conversation_id, result)
        await writer.emit(
            "error",
            result.agent,
            error={"code": exc.code, "message": exc.message, "source": "provider", "is_retryable": exc.retryable},
        )
        return result
    except asyncio.CancelledError:
        result.status, result.error = "failed", "interrupted: the server stopped during the turn"
        await asyncio.shield(_finish_failed(ctx, run_id, conversation_id, result))
        if not writer.closed:
            await asyncio.shield(
                writer.emit(
                    "error",
                    result.agent,
                    error={"code": "interrupted", "message": result.error, "source": "server", "is_retryable": True},
                )
            )
        raise
    except Exception:
        log.exception("chat turn %s failed", writer.stream_id)
        result.status, result.error = "failed", "Internal error while running the agent."
        await _finish_failed(ctx, run_id, conversation_id, result)
        await writer.emit(
            "error",
            result.agent,
            error={"code": None, "message": result.error, "source": "server", "is_retryable": False},
        )
        return result
    refused = result.status == "refused"  # the turn completed, with a guardrail's refusal
    closing: list[tuple[str, str | None, dict[str, Any]]] = [
        (
            "lifecycle",
            result.agent,
            {"status": "completed" if refused else result.status, "reason": result.error if refused else None},
        ),
        (
            "final",
            result.agent,
            {
                "final": final_payload(result.status, result.response_text, result.usage, result.requests),
                "notices": result.notices or None,
            },
        ),
    ]
    row = await writer.close_with(closing, lambda terminal: _finish(ctx, run_id, conversation_id, result, terminal))
    await publish_update(ctx, conversation_id, "turn_finished", result.status, row)
    return result


def final_payload(status: str, response_text: str | None, usage: Usage, requests: int) -> dict[str, Any]:
    """The `final` event's payload (chat turns and workflow runs); a `refused` turn's text is its refusal."""
    refused = status == "refused"
    return {
        "status": status,
        "response_text": None if refused else response_text or None,
        "structured_output": None,
        "reasoning_summary_text": None,
        "refusal_text": response_text if refused else None,
        "attachments": [],
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "cached_input_tokens": None,
            "reasoning_output_tokens": None,
            "requests": requests,
        },
    }


HANDOFF_POLICIES = ("full", "fresh", "last_turn")


def handoff_context(messages: list[Message], policy: str) -> list[Message]:
    """What an agent taking over sees: everything (`full`), the turn from the user's last message
    on, with its tool calls and outputs (`last_turn`), or only that message (`fresh`)."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if policy == "full" or last_user is None:
        return messages
    return messages[last_user:] if policy == "last_turn" else [messages[last_user]]


async def run_agent(
    ctx: Context,
    writer: StreamWriter,
    conversation_id: uuid.UUID,
    spec: AgentSpec,
    messages: list[Message],
    workflow_run_id: str | None = None,
    handoff_policy: str | None = None,
    max_turns: int | None = None,
    defer_answer: bool = False,
) -> TurnResult:
    """One agent's model/tool loop, emitting non-terminal events only (workflow steps reuse it, tagging
    their ledger items with `workflow_run_id`). On a handoff the next agent sees the history its
    `Handoff.context` allows, or `handoff_policy` when the request names one. At most `max_turns`
    model calls (default: the agent's own). With `defer_answer` the answer's ledger item is left
    in the result's `ledger` for the caller's finishing transaction."""
    llm, model_default = ctx.services.llm, ctx.settings.default_model
    agent = spec
    usage_in = usage_out = requests = handoffs = 0
    output_index = 0
    hosted: dict[str, list[dict[str, Any]]] = {}  # per agent, looked up once a turn
    policy: str | None = None  # set by a handoff: the history the next agent sees
    max_turns = max_turns or spec.max_turns
    guard = Guard(ctx, writer)
    messages, refusal = await guard.screen(spec, messages)
    if refusal is not None:
        return TurnResult("refused", refusal, spec.key, error=refusal, notices=guard.notices)
    for _ in range(max_turns):
        model = agent.model or model_default
        if agent.key not in hosted:
            hosted[agent.key] = await hosted_for(ctx, agent)
        message_item: tuple[int, str] | None = None
        calls: dict[int, tuple[int, str]] = {}  # model's call index -> (output_index, item id)
        completed: Completed | None = None
        model_call = llm.stream(
            model=model,
            instructions=agent.instructions,
            messages=messages,
            tools=tools_for(agent),
            hosted=hosted[agent.key],
        )
        async for event in guard.stream(agent, model_call):
            if isinstance(event, ResponseStarted):
                writer.response_id = event.response_id
            elif isinstance(event, TextDelta):
                if message_item is None:
                    message_item = (output_index, f"msg_{uuid.uuid4().hex[:24]}")
                    output_index += 1
                    await writer.emit(
                        "output_item.added",
                        agent.key,
                        item=message_item,
                        item_type="message",
                        role="assistant",
                        status="in_progress",
                    )
                await writer.emit("message.delta", agent.key, item=message_item, content_index=0, delta=event.text)
            elif isinstance(event, ToolCallDelta):
                if event.index not in calls:
                    calls[event.index] = (output_index, event.call_id)
                    output_index += 1
                    await writer.emit(
                        "output_item.added",
                        agent.key,
                        item=calls[event.index],
                        item_type="function_call",
                        role="assistant",
                        status="in_progress",
                    )
                    await writer.emit(
                        "tool.status",
                        agent.key,
                        item=calls[event.index],
                        tool=_function_tool(event.call_id, event.name, "in_progress"),
                    )
                await writer.emit(
                    "tool.arguments.delta",
                    agent.key,
                    item=calls[event.index],
                    tool_call_id=event.call_id,
                    tool_type="function",
                    tool_name=event.name,
                    delta=event.delta,
                )
            elif isinstance(event, Completed):
                completed = event
        if completed is None:
            raise ModelError("The model stream ended without completing.", retryable=True)
        requests += 1
        usage_in += completed.usage.input_tokens
        usage_out += completed.usage.output_tokens
        if message_item is not None:
            await writer.emit(
                "output_item.done",
                agent.key,
                item=message_item,
                item_type="message",
                role="assistant",
                status="completed",
            )
        if not completed.tool_calls:
            answer = {
                "run_item_type": "message",
                "run_item_name": "message_output_item",
                "role": "assistant",
                "agent": agent.key,
                "model": model,
                "content_text": completed.text,
                "response_id": writer.response_id,
                "workflow_run_id": workflow_run_id,
            }
            if not defer_answer:
                await record_run_item(ctx, conversation_id, **answer)
            return TurnResult(
                "completed",
                completed.text,
                agent.key,
                handoffs,
                Usage(usage_in, usage_out),
                requests,
                notices=guard.notices,
                ledger=[answer] if defer_answer else [],
            )
        messages = [*messages, Message("assistant", completed.text, tool_calls=completed.tool_calls)]
        for i, call in enumerate(completed.tool_calls):
            item = calls.get(i) or (output_index, call.id)
            if i not in calls:
                output_index += 1
            caller = agent
            agent, output, handed_off = await _run_call(
                ctx, writer, conversation_id, agent, call, item, handoffs, workflow_run_id
            )
            handoffs += handed_off
            tool_text = await guard.tool_output(caller, json.dumps(output, default=str))
            messages.append(Message("tool", tool_text, tool_call_id=call.id))
            if handed_off:
                policy = handoff_policy or next(h.context for h in caller.handoffs if h.agent == agent.key)
        if policy is not None:  # after all of the response's calls: tool results follow their call
            messages, policy = handoff_context(messages, policy), None
    return TurnResult(
        "incomplete",
        "",
        agent.key,
        handoffs,
        Usage(usage_in, usage_out),
        requests,
        error=f"stopped after {max_turns} model calls",
        notices=guard.notices,
    )


async def _run_call(
    ctx: Context,
    writer: StreamWriter,
    conversation_id: uuid.UUID,
    agent: AgentSpec,
    call: ToolCall,
    item: tuple[int, str],
    handoffs: int,
    workflow_run_id: str | None = None,
) -> tuple[AgentSpec, Any, int]:
    args = parse_arguments(call.arguments)
    await writer.emit(
        "tool.arguments.done",
        agent.key,
        item=item,
        tool_call_id=call.id,
        tool_type="function",
        tool_name=call.name,
        arguments_text=call.arguments,
        arguments_json=args,
    )
    await record_run_item(
        ctx,
        conversation_id,
        run_item_type="tool_call",
        run_item_name=call.name,
        role="assistant",
        agent=agent.key,
        tool_call_id=call.id,
        tool_name=call.name,
        call_arguments=args,
        response_id=writer.response_id,
        workflow_run_id=workflow_run_id,
    )
    target = call.name.removeprefix("transfer_to_")
    handed_off = 0
    if call.name.startswith("transfer_to_") and target in {h.agent for h in agent.handoffs}:
        output: Any = {"assistant": target}
        await writer.emit("agent.updated", agent.key, from_agent=agent.key, to_agent=target, handoff_index=handoffs)
        await record_run_item(
            ctx,
            conversation_id,
            run_item_type="handoff",
            run_item_name="handoff_output_item",
            agent=target,
            call_output={"from": agent.key, "to": target},
            workflow_run_id=workflow_run_id,
        )
        next_agent, handed_off = SPECS[target], 1
    elif call.name in TOOLS and call.name in agent.tools:
        try:
            output = await TOOLS[call.name].run(ctx, args, agent.key)
        except Exception as exc:  # noqa: BLE001 - a failing tool is reported to the model, not fatal
            log.warning("tool %s failed: %s", call.name, exc)
            output = {"error": f"{call.name} failed: {type(exc).__name__}"}
        next_agent = agent
    else:
        output, next_agent = {"error": f"unknown tool '{call.name}'"}, agent
    await writer.emit("tool.output", agent.key, item=item, tool_call_id=call.id, tool_type="function", output=output)
    await writer.emit(
        "tool.status",
        agent.key,
        item=item,
        tool=_function_tool(call.id, call.name, "completed", call.arguments, args, output),
    )
    await writer.emit(
        "output_item.done", agent.key, item=item, item_type="function_call", role="assistant", status="completed"
    )
    await record_run_item(
        ctx,
        conversation_id,
        run_item_type="tool_output",
        run_item_name=call.name,
        role="tool",
        agent=agent.key,
        tool_call_id=call.id,
        tool_name=call.name,
        call_output=output if isinstance(output, dict) else {"value": output},
        workflow_run_id=workflow_run_id,
    )
    return next_agent, output, handed_off


def _function_tool(
    call_id: str,
    name: str,
    status: str,
    arguments_text: str | None = None,
    arguments_json: dict | None = None,
    output: Any = None,
) -> dict[str, Any]:
    return {
        "tool_type": "function",
        "tool_call_id": call_id,
        "status": status,
        "name": name,
        "arguments_text": arguments_text,
        "arguments_json": arguments_json,
        "output": output,
    }


async def _finish(
    ctx: Context, run_id: uuid.UUID, conversation_id: uuid.UUID, result: TurnResult, terminal: dict | None = None
) -> Conversation | None:
    """One transaction: the answer and its ledger item, the run's outcome and (given) its terminal
    event. Returns the conversation's row as it left it (for the update its readers get).

    The answer's count on the conversation comes first: its UPDATE takes the row lock the ledger
    item needs and returns the row, so the turn's end is four statements (count, item, message,
    outcome) and one commit."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "p_run": run_id,
        "p_status": result.status,
        "p_error": result.error,
        "p_input_tokens": result.usage.input_tokens,
        "p_output_tokens": result.usage.output_tokens,
        "p_requests": result.requests,
        "p_ended_at": now,
    }
    if terminal is not None:
        values["p_terminal_event"] = terminal
    answered = result.status == "completed" and bool(result.response_text)
    for attempt in range(LEDGER_ATTEMPTS):
        try:
            async with ctx.session() as s:
                tenant = session_tenant(s)
                row = None
                if answered:
                    row = await note_message(s, conversation_id, result.response_text, now, result.agent)
                for i, item in enumerate(result.ledger):
                    await append_run_item(s, conversation_id, locked=answered or i > 0, **item)
                if answered:
                    await _insert_message(s, conversation_id, "assistant", result.response_text, result.agent, now)
                await execute_core(s, _END_RUN[terminal is not None], {**values, "p_tenant": tenant})
                if row is None:
                    params = {"p_cid": conversation_id, "p_tenant": tenant}
                    row = cast("Conversation | None", (await execute_core(s, _READ_CONVERSATION, params)).one_or_none())
                await s.commit()
            return row
        except IntegrityError:  # another writer took the ledger's next number: see record_run_item
            if attempt == LEDGER_ATTEMPTS - 1:
                raise
    return None


async def _finish_failed(ctx: Context, run_id: uuid.UUID, conversation_id: uuid.UUID, result: TurnResult) -> None:
    row = await _finish(ctx, run_id, conversation_id, result)
    await publish_update(ctx, conversation_id, "turn_finished", result.status, row)


async def add_assistant_message(
    s: AsyncSession, conversation_id: uuid.UUID, text: str, agent: str | None, now: datetime
) -> Conversation | None:
    """The answer joins the conversation's history (in the caller's transaction); returns the
    conversation's row after it (None: no such conversation of the session's tenant)."""
    row = await note_message(s, conversation_id, text, now, agent)
    await _insert_message(s, conversation_id, "assistant", text, agent, now)
    return row


async def _insert_message(
    s: AsyncSession, conversation_id: uuid.UUID, role: str, text: str, agent: str | None, now: datetime
) -> None:
    params = {
        "id": uuid.uuid4(),
        "conversation_id": conversation_id,
        "role": role,
        "content": text,
        "agent": agent,
        "attachments": [],
        "created_at": now,
        "tenant_id": session_tenant(s),
    }
    await execute_core(s, _ADD_MESSAGE, params)


async def add_message(s: AsyncSession, conversation_id: uuid.UUID, role: str, text: str, now: datetime) -> None:
    """A message of `role` joins the conversation's history (in the caller's transaction), without
    counting it: the caller counts it (`note_message`, or a new row made with its count)."""
    await _insert_message(s, conversation_id, role, text, None, now)


async def note_message(
    s: AsyncSession, conversation_id: uuid.UUID, text: str, now: datetime, agent: str | None = None
) -> Conversation | None:
    """Count a message added at `now` on its conversation, in one UPDATE: concurrent turns each
    add one (a value read and written back would lose some), and the preview, active agent and
    `updated_at` follow the newest message, whichever transaction commits last. Takes the row's
    lock (as `lock_row` would) and returns the row as the UPDATE left it (None: no such
    conversation of the session's tenant)."""
    params = {"p_cid": conversation_id, "p_tenant": session_tenant(s), "p_now": now, "p_preview": text[:PREVIEW_CHARS]}
    if agent is not None:
        params["p_agent"] = agent
    row = (await execute_core(s, _NOTE[agent is not None], params)).one_or_none()
    return cast("Conversation | None", row)
