"""Chat turns: start one, observe its stream, or wait for its answer.

`start_turn` persists the user's message and launches the turn as a server task; readers
observe the turn's replayable stream (`turn_events`) from any sequence number. The one-call
forms — `chat` (the whole answer) and `chat_stream` (start and observe) — are built from those.
Each of the three takes an idempotency key (`domain/common/idempotency.py`): a retry gets the turn
its first request started, never a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.context import Context
from agentdeck.db.models import ChatRun, Conversation
from agentdeck.db.session import execute_core, rowcount, session_tenant
from agentdeck.domain.agents.memory import MemoryConfig, apply_memory
from agentdeck.domain.agents.runs import follow, terminal_recorder
from agentdeck.domain.agents.runtime import (
    HANDOFF_POLICIES,
    PREVIEW_CHARS,
    add_message,
    append_run_item,
    history,
    note_message,
    run_turn,
)
from agentdeck.domain.agents.streams import StreamWriter, new_stream_id
from agentdeck.domain.agents.updates import publish_update
from agentdeck.domain.billing.usage import METERED_FEATURE, reserve_usage
from agentdeck.domain.catalog import AgentSpec, resolve_agent
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.access import require_role
from agentdeck.errors import InvalidInput, NotFound, RateLimited, UpstreamFailed
from agentdeck.providers.llm import Message
from agentdeck.providers.ratelimit import held_slot

MAX_MESSAGE_CHARS = 32_000
TITLE_CHARS = 60
_UNSET = {column.key: None for column in cast(Table, Conversation.__table__).c if column.key.startswith("memory_")}
# Built once: see `execute_core`.
_START_RUN = insert(cast(Table, ChatRun.__table__))
_NEW_CONVERSATION = {  # INSERT ... ON CONFLICT DO NOTHING (`insert_if_absent`), per dialect
    name: dialect.insert(cast(Table, Conversation.__table__)).on_conflict_do_nothing()
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


@dataclass
class ChatRequest:
    message: str
    conversation_id: str | None = None
    agent_type: str | None = None
    run_options: dict[str, Any] | None = None


@dataclass
class Turn:
    conversation_id: uuid.UUID
    stream_id: str
    run_id: uuid.UUID
    agent: AgentSpec


@dataclass
class ChatAnswer:
    """A finished turn's answer: what `chat` returns, and what a retry of it replays (stored
    as JSON with the idempotency key, so its fields are the stored shape: add, never rename)."""

    conversation_id: str
    response: str
    agent_used: str | None = None
    handoff_occurred: bool | None = None
    output_schema: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


async def _limit(ctx: Context, name: str, per_minute: int) -> None:
    tc = await require_role(ctx, "viewer")
    caller = f"{tc.tenant_id}:{ctx.require_principal().subject}"
    decision = await ctx.services.limiter.hit(f"{name}:{caller}", per_minute, 60)
    if not decision.allowed:
        raise RateLimited(
            f"Rate limit exceeded ({name}_per_minute). Retry after {decision.retry_after}s.",
            retry_after=decision.retry_after,
        )


def parse_conversation_id(raw: str | None) -> uuid.UUID | None:
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise InvalidInput(
            "conversation_id must be a UUID.",
            details=[{"field": "input.conversation_id", "message": "Input should be a valid UUID"}],
        ) from None


def caller_user_id(ctx: Context) -> uuid.UUID | None:
    subject = ctx.require_principal().subject
    return uuid.UUID(subject.removeprefix("user:")) if subject.startswith("user:") else None


async def open_conversation(
    s: AsyncSession, wanted: uuid.UUID | None, agent_key: str, text: str, user_id: uuid.UUID | None, now: datetime
) -> tuple[Conversation, bool]:
    """Continue conversation `wanted` (or start one) with the user's message `text` (not committed);
    returns the conversation's row as this transaction leaves it (the model's columns; the row's
    lock is held) and whether this call created it.

    Turns on one conversation run concurrently (several tabs, several processes), so the counter
    and the preview are changed in SQL, never read here and written back: `note_message`. A new
    conversation is inserted with its first message counted."""
    row = None if wanted is None else await note_message(s, wanted, text, now)
    if row is None:
        conversation_id = wanted or uuid.uuid4()
        values: dict[str, Any] = {
            "id": conversation_id,
            "user_id": user_id,
            "agent_entrypoint": agent_key,
            "active_agent": agent_key,
            "display_name": text[:TITLE_CHARS],
            "status": "active",
            "message_count": 1,
            "last_message_preview": text[:PREVIEW_CHARS],
            "created_at": now,
            "updated_at": now,
        }
        # A concurrent first turn may create the same id: whoever inserts second does nothing,
        # and counts its message on the row the first one made.
        values["tenant_id"] = session_tenant(s)
        insert = _NEW_CONVERSATION[s.get_bind().dialect.name]
        if rowcount(await execute_core(s, insert, values)) == 1:
            await add_message(s, conversation_id, "user", text, now)
            # The row as inserted, read as the model is (like the RETURNING row of `note_message`);
            # the columns not given (its memory strategy) are unset.
            return cast(Conversation, SimpleNamespace(**_UNSET, **values)), True
        else:
            row = await note_message(s, conversation_id, text, now)
            if row is None:
                raise NotFound("Conversation not found.")  # the id is another tenant's
    await add_message(s, row.id, "user", text, now)
    return row, False


async def start_chat(ctx: Context, req: ChatRequest, idem: idempotency.Idempotency = idempotency.NO_KEY) -> Turn:
    async with idempotency.claim(ctx, "start_chat", idem) as claim:
        return await start_turn(ctx, req, claim)


def _previous_turn(resource: dict[str, Any]) -> Turn:
    return Turn(
        uuid.UUID(resource["conversation_id"]),
        resource["stream_id"],
        uuid.UUID(resource["run_id"]),
        resolve_agent(resource["agent"]),
    )


async def start_turn(ctx: Context, req: ChatRequest, claim: idempotency.Claim | None = None) -> Turn:
    """Start a turn; with a `claim` that is a retry, the turn its first request started."""
    await require_role(ctx, "viewer")
    if claim is not None and claim.resource is not None:
        return _previous_turn(claim.resource)
    text = req.message.strip()
    if not text or len(req.message) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"message must be 1-{MAX_MESSAGE_CHARS} characters.",
            details=[{"field": "input.message", "message": f"1-{MAX_MESSAGE_CHARS} characters"}],
        )
    wanted = parse_conversation_id(req.conversation_id)
    handoff_policy = (req.run_options or {}).get("handoff_context_policy")
    if handoff_policy is not None and handoff_policy not in HANDOFF_POLICIES:
        raise InvalidInput(
            "run_options.handoff_context_policy must be full, fresh or last_turn.",
            details=[
                {
                    "field": "input.run_options.handoff_context_policy",
                    "message": "Input should be 'full', 'fresh' or 'last_turn'",
                }
            ],
        )
    spec = resolve_agent(req.agent_type)
    user_id = caller_user_id(ctx)
    now = datetime.now(UTC)
    run_id, stream_id = uuid.uuid4(), new_stream_id("chat")
    async with ctx.session() as s:
        await reserve_usage(ctx, s, METERED_FEATURE, 1, record=True)  # over the plan's hard limit: 429
        conversation, created = await open_conversation(s, wanted, spec.key, text, user_id, now)
        conversation_id = conversation.id
        run = {
            "id": run_id,
            "conversation_id": conversation_id,
            "user_id": user_id,
            "stream_id": stream_id,
            "agent": spec.key,
            "status": "running",
            "input_tokens": 0,
            "output_tokens": 0,
            "requests": 0,
            "started_at": now,
            "tenant_id": session_tenant(s),
        }
        await execute_core(s, _START_RUN, run)
        if claim is not None:
            await claim.attach(
                s,
                {
                    "conversation_id": str(conversation_id),
                    "stream_id": stream_id,
                    "run_id": str(run_id),
                    "agent": spec.key,
                },
            )
        # The user's message joins the ledger in the transaction that starts the turn (the
        # conversation's row lock is held: `open_conversation` wrote it).
        await append_run_item(
            s,
            conversation_id,
            locked=True,
            run_item_type="message",
            run_item_name="user_input",
            role="user",
            agent=spec.key,
            content_text=text,
        )
        if created:  # its history is this message
            messages = apply_memory([Message("user", text)], MemoryConfig.of(conversation))
        else:
            messages = await history(s, conversation)
        await s.commit()
    await publish_update(ctx, conversation_id, "turn_started", "running", conversation)
    turn = Turn(conversation_id, stream_id, run_id, spec)
    writer = StreamWriter(
        ctx.bus, stream_id, str(conversation_id), on_terminal=terminal_recorder(ctx.services, ChatRun, run_id)
    )
    # Before anyone reads it: a reader in this process then finds the stream live here, instead
    # of asking the database whether a stream it has never seen already ended.
    await writer.emit("lifecycle", spec.key, status="in_progress", reason=None)
    ctx.services.runs.launch_turn(
        run_id, run_turn(ctx.detached(), writer, run_id, conversation_id, spec, messages, handoff_policy)
    )
    return turn


async def turn_events(ctx: Context, stream_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
    """The events of a turn of this tenant, from `after` + 1 to its terminal event."""
    await require_role(ctx, "viewer")
    async with ctx.session() as s:
        known = await s.scalar(select(ChatRun.id).where(ChatRun.stream_id == stream_id))
    if known is None:
        raise NotFound("Chat stream not found.")
    async for event in follow(ctx, ChatRun, stream_id, after):
        yield event


async def chat_stream(
    ctx: Context, req: ChatRequest, idem: idempotency.Idempotency = idempotency.NO_KEY
) -> AsyncIterator[dict[str, Any]]:
    await _limit(ctx, "chat_stream", ctx.settings.chat_stream_per_minute)
    tc = await require_role(ctx, "viewer")
    cap = ctx.settings.chat_stream_concurrency  # open streams per user, across processes
    slot = f"chat_stream_slot:{tc.tenant_id}:{ctx.require_principal().subject}"
    async with held_slot(ctx.services.limiter, slot, cap) as held:
        if not held:
            raise RateLimited(f"Rate limit exceeded (chat_stream_concurrency {cap}). Retry after 5s.", retry_after=5)
        async with idempotency.claim(ctx, "chat_stream", idem) as claim:
            turn = await start_turn(ctx, req, claim)  # a retry joins the first request's turn
        async for event in follow(ctx, ChatRun, turn.stream_id):
            yield event


async def chat(ctx: Context, req: ChatRequest, idem: idempotency.Idempotency = idempotency.NO_KEY) -> ChatAnswer:
    """The whole answer in one response (the turn still streams to any other reader). A retry
    gets the stored answer of its key's turn, or waits for that turn if it is still running."""
    await _limit(ctx, "chat", ctx.settings.chat_per_minute)
    async with idempotency.claim(ctx, "chat", idem) as claim:
        if claim.response is not None:
            return claim.replay(ChatAnswer)
        turn = await start_turn(ctx, req, claim)
    agent, handoff, final, error = turn.agent.key, False, None, None
    async for event in follow(ctx, ChatRun, turn.stream_id):
        if event["kind"] == "agent.updated":
            agent, handoff = event["to_agent"], True
        elif event["kind"] == "final":
            final = event["final"]
        elif event["kind"] == "error":
            error = event["error"]
    if final is None:
        message = error["message"] if error else "The agent did not finish."
        failure = UpstreamFailed(f"Error processing chat request: {message}")
        if error is not None:  # the turn ended so: that is its outcome for every retry
            await claim.remember_error(ctx, failure)
        raise failure
    answer = ChatAnswer(
        conversation_id=str(turn.conversation_id),
        response=final["response_text"] or final.get("refusal_text") or "",  # a guardrail's refusal
        agent_used=agent,
        handoff_occurred=handoff,
        output_schema=turn.agent.output_schema,
        metadata={"stream_id": turn.stream_id, "status": final["status"], "usage": final["usage"]},
    )
    await claim.remember(ctx, answer)
    return answer
