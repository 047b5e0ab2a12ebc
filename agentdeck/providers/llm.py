"""Language models behind one streaming interface.

A provider turns (instructions, messages, tools) into a stream of `LLMEvent`s. The chat runner
(resolvers/chat_runner.py) owns the tool loop and handoffs; a provider makes one model call.

- `OfflineModel` (default, no key configured): streams a deterministic, clearly labelled reply,
  so the whole platform works on `make serve` and in tests.
- `OpenAIModel` (`AGENTDECK_OPENAI_API_KEY`): the official SDK, Responses API streaming, or Chat
  Completions streaming for OpenAI-compatible servers (`AGENTDECK_OPENAI_API_MODE=chat`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import openai
from openai import AsyncOpenAI

if TYPE_CHECKING:
    from agentdeck.settings import Settings


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
        self, *, model: str, instructions: str, messages: list[Message], tools: list[FunctionTool],
        hosted: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[LLMEvent]:
        """One model call. Ends with `Completed`, or raises `ModelError`. Closing the iterator
        (aclose) must stop the underlying request promptly."""
        ...


class OfflineModel:
    """A deterministic stand-in: no network, no key, says plainly what it is.

    It echoes the last user message in word-sized chunks, `delay_s` apart. If the message asks
    for the time (or names a tool the agent has, e.g. "use get_current_time"), it calls that
    tool first, so the tool loop runs offline too.
    """

    name = "offline"
    hosted_tools = False
    PREFIX = "[offline model] "

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self._calls = 0

    async def stream(
        self, *, model: str, instructions: str, messages: list[Message], tools: list[FunctionTool],
        hosted: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[LLMEvent]:
        self._calls += 1
        yield ResponseStarted(f"offline_{self._calls:08d}")
        last_user = next((m.content for m in reversed(messages) if m.role == "user"), "")
        last = messages[-1] if messages else None
        wanted = self._wanted_tool(last_user, tools)
        if wanted is not None and (last is None or last.role != "tool"):
            call = ToolCall(id=f"call_offline_{self._calls:06d}", name=wanted.name, arguments="{}")
            yield ToolCallDelta(0, call.id, call.name, "{}")
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


# The OpenAI SDK ----------------------------------------------------------------------------------

# Provider error codes after which the same request may well succeed (mid-stream errors carry a
# code but no HTTP status).
_RETRYABLE_CODES = frozenset({"server_error", "rate_limit_exceeded", "timeout", "overloaded"})


class OpenAIModel:
    """OpenAI (or an OpenAI-compatible server) through the official SDK.

    `mode="responses"` streams the Responses API; `mode="chat"` streams Chat Completions, which
    most OpenAI-compatible servers speak. The SDK retries 429/5xx/connection errors itself
    (`max_retries`) before the stream starts; a failure after that surfaces as `ModelError`.
    """

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        mode: Literal["responses", "chat"] = "responses",
        timeout_s: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        if mode not in ("responses", "chat"):
            raise ValueError(f"unknown OpenAI API mode {mode!r}")
        self.mode = mode
        self.hosted_tools = mode == "responses"
        self.client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
        )

    async def stream(
        self, *, model: str, instructions: str, messages: list[Message], tools: list[FunctionTool],
        hosted: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[LLMEvent]:
        if self.mode == "responses":
            inner = self._responses(model, instructions, messages, tools, hosted)
        else:  # Chat Completions has no hosted tools
            inner = self._chat(model, instructions, messages, tools)
        # aclosing: when our consumer closes us (or is cancelled), the inner generator unwinds at
        # once, and with it the SDK stream's `async with`, which closes the HTTP response.
        async with aclosing(inner):
            try:
                async for event in inner:
                    yield event
            except openai.APIError as exc:
                raise _model_error(exc) from exc

    async def close(self) -> None:
        await self.client.close()

    # Responses API -------------------------------------------------------------------------------

    async def _responses(
        self, model: str, instructions: str, messages: list[Message], tools: list[FunctionTool],
        hosted: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[LLMEvent]:
        kwargs: dict[str, Any] = {}
        if instructions:
            kwargs["instructions"] = instructions
        if tools or hosted:
            kwargs["tools"] = [
                {"type": "function", "name": t.name, "description": t.description,
                 "parameters": t.parameters}
                for t in tools
            ] + [dict(h) for h in hosted]
        text: list[str] = []
        calls: dict[int, list[str]] = {}  # output_index -> [call_id, name, arguments so far]
        done: dict[int, ToolCall] = {}
        started = False
        stream = await self.client.responses.create(
            model=model,
            input=_responses_input(messages),
            stream=True,
            # The platform keeps the conversation and resends it each turn; nothing needs to be
            # stored at the provider.
            store=False,
            **kwargs,
        )
        async with stream:
            async for event in stream:
                kind = event.type
                if kind == "response.created":
                    started = True
                    yield ResponseStarted(event.response.id)
                elif kind == "response.output_text.delta":
                    text.append(event.delta)
                    yield TextDelta(event.delta)
                elif kind == "response.output_item.added" and event.item.type == "function_call":
                    calls[event.output_index] = [event.item.call_id, event.item.name, ""]
                elif kind == "response.function_call_arguments.delta":
                    call = calls.get(event.output_index)
                    if call is not None:
                        call[2] += event.delta
                        index = list(calls).index(event.output_index)
                        yield ToolCallDelta(index, call[0], call[1], event.delta)
                elif kind == "response.output_item.done" and event.item.type == "function_call":
                    item = event.item
                    streamed = calls.setdefault(event.output_index, [item.call_id, item.name, ""])
                    if not streamed[2] and item.arguments:
                        # The server sent the arguments whole, without deltas.
                        index = list(calls).index(event.output_index)
                        yield ToolCallDelta(index, item.call_id, item.name, item.arguments)
                    done[event.output_index] = ToolCall(
                        item.call_id, item.name, item.arguments or streamed[2]
                    )
                elif kind in ("response.completed", "response.incomplete"):
                    # `incomplete` (output token limit, content filter) still ends the call with
                    # what was produced; the runner treats it like any reply.
                    response = event.response
                    if not started:
                        yield ResponseStarted(response.id)
                    usage = response.usage
                    yield Completed(
                        "".join(text),
                        tuple(done[i] for i in sorted(done)),
                        Usage(usage.input_tokens, usage.output_tokens) if usage else Usage(),
                    )
                    return
                elif kind == "response.failed":
                    error = event.response.error
                    code = error.code if error else None
                    message = error.message if error else "the response failed"
                    raise ModelError(message, code=code, retryable=code in _RETRYABLE_CODES)
                elif kind == "error":
                    raise ModelError(
                        event.message, code=event.code, retryable=event.code in _RETRYABLE_CODES
                    )
        raise ModelError(
            "the model stream ended before the response completed",
            code="incomplete_stream",
            retryable=True,
        )

    # Chat Completions ----------------------------------------------------------------------------

    async def _chat(
        self, model: str, instructions: str, messages: list[Message], tools: list[FunctionTool]
    ) -> AsyncIterator[LLMEvent]:
        kwargs: dict[str, Any] = {}
        if tools:
            kwargs["tools"] = [
                {"type": "function", "function": {"name": t.name, "description": t.description,
                                                  "parameters": t.parameters}}
                for t in tools
            ]
        text: list[str] = []
        calls: dict[int, list[str]] = {}  # tool call index -> [id, name, arguments so far]
        usage = Usage()
        finished = False
        started = False
        stream = await self.client.chat.completions.create(
            model=model,
            messages=_chat_messages(instructions, messages),
            stream=True,
            stream_options={"include_usage": True},
            **kwargs,
        )
        async with stream:
            async for chunk in stream:
                if not started:
                    started = True
                    yield ResponseStarted(chunk.id)
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices[:1]:  # we never ask for n > 1
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        yield TextDelta(delta.content)
                    for tc in delta.tool_calls or ():
                        fn = tc.function
                        call = calls.get(tc.index)
                        first = call is None
                        if call is None:
                            # Some compatible servers omit ids; the tool result needs one.
                            call = calls[tc.index] = [tc.id or f"call_{tc.index}", "", ""]
                        if fn is not None and fn.name:
                            call[1] = call[1] or fn.name
                        piece = (fn.arguments if fn is not None else None) or ""
                        call[2] += piece
                        if piece or first:
                            yield ToolCallDelta(tc.index, call[0], call[1], piece)
                    if choice.finish_reason is not None:
                        finished = True
        if not finished:
            raise ModelError(
                "the model stream ended before the response completed",
                code="incomplete_stream",
                retryable=True,
            )
        yield Completed(
            "".join(text),
            tuple(ToolCall(c[0], c[1], c[2]) for _, c in sorted(calls.items())),
            usage,
        )


def _responses_input(messages: list[Message]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            items.append(
                {"type": "function_call_output", "call_id": m.tool_call_id, "output": m.content}
            )
            continue
        if m.content or not m.tool_calls:
            items.append({"role": m.role, "content": m.content})
        for call in m.tool_calls:
            items.append(
                {"type": "function_call", "call_id": call.id, "name": call.name,
                 "arguments": call.arguments}
            )
    return items


def _chat_messages(instructions: str, messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if instructions:
        out.append({"role": "system", "content": instructions})
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append({
                "role": "assistant",
                "content": m.content or None,
                "tool_calls": [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.name, "arguments": c.arguments}}
                    for c in m.tool_calls
                ],
            })
        else:
            out.append({"role": m.role, "content": m.content})
    return out


def _model_error(exc: openai.APIError) -> ModelError:
    """Map an SDK error (the SDK has already spent its retries) to a `ModelError`."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelError("the model request timed out", code="timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ModelError("lost the connection to the model", code="connection_error",
                          retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = exc.code or f"http_{status}"
        # A 429 for an exhausted quota will not clear by retrying; a rate limit will.
        retryable = code != "insufficient_quota" and (status in (408, 409, 429) or status >= 500)
        return ModelError(exc.message, code=code, retryable=retryable)
    # An error object in the middle of a stream (no HTTP status).
    return ModelError(exc.message, code=exc.code or "stream_error",
                      retryable=(exc.code or "server_error") in _RETRYABLE_CODES)


def make_llm(settings: Settings) -> LLMProvider:
    """The configured model: OpenAI when a key is set, else the offline model."""
    if settings.openai_api_key:
        return OpenAIModel(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            mode=settings.openai_api_mode,
            timeout_s=settings.openai_timeout_seconds,
            max_retries=settings.openai_max_retries,
        )
    return OfflineModel(settings.offline_model_delay_ms / 1000)
