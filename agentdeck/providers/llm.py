"""Language models behind one streaming interface.

A provider turns (instructions, messages, tools) into a stream of `LLMEvent`s. The chat runner
(domain/agents/runtime.py) owns the tool loop and handoffs; a provider makes one model call.

- `OfflineModel` (default, no key configured): streams a deterministic, clearly labelled reply,
  so the whole platform works on `make serve` and in tests.
- `llm_openai.OpenAIModel` (`AGENTDECK_OPENAI_API_KEY`): the official SDK, Responses API streaming, or Chat
  Completions streaming for OpenAI-compatible servers (`AGENTDECK_OPENAI_API_MODE=chat`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class FunctionTool:
    """A tool the model may call; the server runs it (see agents/tools.py)."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """Conversation input. `role` is user | assistant | tool; tool results carry `tool_call_id`."""

    role: str
    content: str
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model produced it


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


# The events of one model call --------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseStarted:
    response_id: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """Streaming arguments of a call the model is making (`index` orders parallel calls)."""

    index: int
    call_id: str
    name: str
    delta: str


@dataclass(frozen=True)
class Completed:
    """The call finished: its complete text, the tool calls to run, and token usage."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)


class ModelError(Exception):
    """The provider failed; `retryable` says whether trying again could help."""

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


LLMEvent = ResponseStarted | TextDelta | ToolCallDelta | Completed


class LLMProvider(Protocol):
    name: str
    # Whether `hosted` tool configurations (web search, code interpreter, image generation:
    # run by the provider, not by us) are passed to the model.
    hosted_tools: bool

    def stream(
        self,
        *,
        model: str,
        instructions: str,
        messages: list[Message],
        tools: list[FunctionTool],
        hosted: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[LLMEvent]:
        """One model call. Ends with `Completed`, or raises `ModelError`. Closing the iterator
        (aclose) must stop the underlying request promptly."""
        ...


class OfflineModel:
    """A deterministic stand-in: no network, no key, says plainly what it is.

    It echoes the last user message in word-sized chunks, `delay_s` apart. If the message asks
    for the time (or names a tool the agent has, e.g. "use get_current_time"), it calls that
    tool first, so the tool loop runs offline too; a tool that takes a `query` (file_search,
    search_conversations) is given the whole message as its query.
    """

    name = "offline"
    hosted_tools = False
    PREFIX = "[offline model] "

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self._calls = 0

    async def stream(
        self,
        *,
        model: str,
        instructions: str,
        messages: list[Message],
        tools: list[FunctionTool],
        hosted: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[LLMEvent]:
        self._calls += 1
        yield ResponseStarted(f"offline_{self._calls:08d}")
        last_user = next((m.content for m in reversed(messages) if m.role == "user"), "")
        last = messages[-1] if messages else None
        wanted = self._wanted_tool(last_user, tools)
        if wanted is not None and (last is None or last.role != "tool"):
            # A tool that takes a `query` (a search) is asked the user's message.
            takes_query = "query" in wanted.parameters.get("properties", {})
            arguments = json.dumps({"query": last_user}) if takes_query else "{}"
            call = ToolCall(id=f"call_offline_{self._calls:06d}", name=wanted.name, arguments=arguments)
            yield ToolCallDelta(0, call.id, call.name, arguments)
            yield Completed("", (call,), Usage(_tokens(last_user), 1))
            return
        reply = self.PREFIX + self._reply(last_user, last)
        for chunk in re.findall(r"\S+\s*", reply):
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            yield TextDelta(chunk)
        yield Completed(reply, (), Usage(sum(_tokens(m.content) for m in messages), _tokens(reply)))

    @staticmethod
    def _wanted_tool(text: str, tools: list[FunctionTool]) -> FunctionTool | None:
        lowered = text.lower()
        for tool in tools:
            if tool.name in lowered or (tool.name == "get_current_time" and "what time" in lowered):
                return tool
        return None

    @staticmethod
    def _reply(user_text: str, last: Message | None) -> str:
        if last is not None and last.role == "tool":
            return f"The tool answered: {last.content}"
        if not user_text.strip():
            return "I received an empty message."
        return f"You said: {user_text.strip()}"


def _tokens(text: str) -> int:
    """A rough token count (about four characters a token) for offline usage figures."""
    return max(1, len(text) // 4) if text else 0


def parse_arguments(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
