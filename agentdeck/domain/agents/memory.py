"""A conversation's memory strategy: what of its history the model is sent on each turn.

The stored history is never changed (the transcript, the ledger and `messages` stay whole); the
strategy only shapes the model's input, turn by turn. A turn is a user message with everything
after it up to the next user message. The modes (the legacy contract's names and knobs):

- `none` (or unset): the last `HISTORY_LIMIT` messages, as before.
- `trim`: once the conversation has more than `max_user_turns` turns, only the last
  `keep_last_turns` turns (or, when that is unset or 0, the last `max_user_turns`).
- `summarize`: once it has more than `max_user_turns` turns, the earlier ones are replaced by a
  summary (a `[summary] prior context` user message and the summary as the assistant's answer,
  as the legacy service sent it) followed by the last `keep_last_turns` turns (at least one).
  The summary is extractive: the earlier messages, `role: text` per line, cut to `SUMMARY_CHARS`.
- `compact`: once it has more than `compact_trigger_turns` turns, tool outputs of all but the last
  `compact_keep` turns (and, with `clear_tool_inputs`, their tool-call arguments) are replaced by a
  placeholder naming the call. The history sent to the model holds its messages (past turns' tool
  items are not replayed), so this reaches the tool items of the turn being run once it is old
  enough to be compacted: in practice a no-op today, kept for the contract and for longer loops.

`memory_injection` is stored and reported; there is no cross-conversation summary store to inject
from, so it changes nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentdeck.domain.common.limits import Limit
from agentdeck.providers.llm import Message

MODES = ("none", "trim", "summarize", "compact")
# Turn counts: at least 1 (0 would mean "forget everything"), at most what HISTORY_LIMIT could hold.
TURNS = Limit(ge=1, le=1000)
SUMMARY_CHARS = 4000
SUMMARY_PREFIX = "[summary]"


@dataclass(frozen=True)
class MemoryConfig:
    """The strategy stored on a conversation (every field may be unset: None)."""

    mode: str | None = None
    max_user_turns: int | None = None
    keep_last_turns: int | None = None
    compact_trigger_turns: int | None = None
    compact_keep: int | None = None
    clear_tool_inputs: bool | None = None
    memory_injection: bool | None = None

    @classmethod
    def of(cls, row: Any) -> MemoryConfig:
        """The config stored on a `Conversation` row (its `memory_*` columns)."""
        return cls(
            mode=row.memory_mode,
            max_user_turns=row.memory_max_user_turns,
            keep_last_turns=row.memory_keep_last_turns,
            compact_trigger_turns=row.memory_compact_trigger_turns,
            compact_keep=row.memory_compact_keep,
            clear_tool_inputs=row.memory_clear_tool_inputs,
            memory_injection=row.memory_injection,
        )

    @staticmethod
    def column(name: str) -> str:
        """The `Conversation` column holding the field `name`."""
        return name if name == "memory_injection" else f"memory_{name}"


def _turns(messages: list[Message]) -> list[list[Message]]:
    """The messages grouped by turn (anything before the first user message is a turn of its own)."""
    turns: list[list[Message]] = []
    for message in messages:
        if message.role == "user" or not turns:
            turns.append([message])
        else:
            turns[-1].append(message)
    return turns


def _flat(turns: list[list[Message]]) -> list[Message]:
    return [m for turn in turns for m in turn]


def summarize(messages: list[Message]) -> str:
    """An extractive summary of `messages`: `role: text` lines, cut to SUMMARY_CHARS."""
    lines = [f"{m.role}: {' '.join(m.content.split())}" for m in messages if m.role != "tool" and m.content.strip()]
    text = "\n".join(lines)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _placeholder(kind: str, name: str, call_id: str) -> str:
    return f"⟦removed: tool {kind} for {name} (call_id={call_id}); reason=context_compaction⟧"


def _compact(turns: list[list[Message]], keep: int, clear_inputs: bool) -> list[Message]:
    out: list[Message] = []
    protected = len(turns) - keep
    for index, turn in enumerate(turns):
        if index >= protected:
            out += turn
            continue
        names = {c.id: c.name for m in turn for c in m.tool_calls}
        for m in turn:
            if m.role == "tool" and m.tool_call_id is not None:
                name = names.get(m.tool_call_id, "tool")
                m = Message("tool", _placeholder("output", name, m.tool_call_id), tool_call_id=m.tool_call_id)
            elif clear_inputs and m.tool_calls:
                calls = tuple(type(c)(c.id, c.name, "{}") for c in m.tool_calls)
                m = Message(m.role, m.content, tool_call_id=m.tool_call_id, tool_calls=calls)
            out.append(m)
    return out


def apply_memory(messages: list[Message], config: MemoryConfig) -> list[Message]:
    """What the model is sent of `messages` (oldest first) under `config` (see the module)."""
    mode = config.mode or "none"
    turns = _turns(messages)
    if mode in ("trim", "summarize"):
        limit = config.max_user_turns
        if not limit or len(turns) <= limit:
            return messages
        keep = config.keep_last_turns or 0
        if mode == "trim":
            return _flat(turns[-(keep or limit) :])
        tail = turns[-max(1, keep) :]
        summary = summarize(_flat(turns[: len(turns) - len(tail)]))
        return [Message("user", f"{SUMMARY_PREFIX} prior context"), Message("assistant", summary), *_flat(tail)]
    if mode == "compact":
        trigger = config.compact_trigger_turns
        if not trigger or len(turns) <= trigger:
            return messages
        keep = config.compact_keep if config.compact_keep is not None else 2
        return _compact(turns, max(1, keep), bool(config.clear_tool_inputs))
    return messages
