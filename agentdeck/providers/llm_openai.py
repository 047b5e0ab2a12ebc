"""OpenAI, or any OpenAI-compatible server, through the official SDK (see `llm.py`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

import openai
from openai import AsyncOpenAI

from agentdeck.providers.llm import (
    Completed,
    FunctionTool,
    LLMEvent,
    Message,
    ModelError,
    ResponseStarted,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    # Types only: the request bodies below are plain dicts at run time, whatever the SDK version.
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
    from openai.types.responses import ResponseInputItemParam, ToolParam

# Provider error codes after which the same request may well succeed (mid-stream errors carry a
# code but no HTTP status).
_RETRYABLE_CODES = frozenset({"server_error", "rate_limit_exceeded", "timeout", "overloaded"})


# The optional arguments of a call, left out of the request (not sent as null) when unused. Typed
# dicts rather than `dict[str, Any]`: `**` of one still lets the type checker pick the SDK's
# `stream=True` overload, so the stream's events keep their types.
class _ResponsesOptions(TypedDict, total=False):
    instructions: str
    tools: list[ToolParam]


class _ChatOptions(TypedDict, total=False):
    tools: list[ChatCompletionToolParam]


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
        self.client = AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)

    async def stream(
        self,
        *,
        model: str,
        instructions: str,
        messages: list[Message],
        tools: list[FunctionTool],
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
        self,
        model: str,
        instructions: str,
        messages: list[Message],
        tools: list[FunctionTool],
        hosted: Sequence[dict[str, Any]] = (),
    ) -> AsyncGenerator[LLMEvent, None]:
        kwargs: _ResponsesOptions = {}
        if instructions:
            kwargs["instructions"] = instructions
        if tools or hosted:
            # cast: the SDK's FunctionToolParam requires `strict`, which we leave out so the API
            # applies its default; hosted tools are agent-spec configurations passed as they are.
            kwargs["tools"] = cast(
                "list[ToolParam]",
                [
                    {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in tools
                ]
                + [dict(h) for h in hosted],
            )
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
                # Test `event.type` itself, not a copy: that is what narrows the SDK's union of
                # event classes to the one each branch reads.
                if event.type == "response.created":
                    started = True
                    yield ResponseStarted(event.response.id)
                elif event.type == "response.output_text.delta":
                    text.append(event.delta)
                    yield TextDelta(event.delta)
                elif event.type == "response.output_item.added" and event.item.type == "function_call":
                    calls[event.output_index] = [event.item.call_id, event.item.name, ""]
                elif event.type == "response.function_call_arguments.delta":
                    call = calls.get(event.output_index)
                    if call is not None:
                        call[2] += event.delta
                        index = list(calls).index(event.output_index)
                        yield ToolCallDelta(index, call[0], call[1], event.delta)
                elif event.type == "response.output_item.done" and event.item.type == "function_call":
                    item = event.item
                    streamed = calls.setdefault(event.output_index, [item.call_id, item.name, ""])
                    if not streamed[2] and item.arguments:
                        # The server sent the arguments whole, without deltas.
                        index = list(calls).index(event.output_index)
                        yield ToolCallDelta(index, item.call_id, item.name, item.arguments)
                    done[event.output_index] = ToolCall(item.call_id, item.name, item.arguments or streamed[2])
                elif event.type == "response.completed" or event.type == "response.incomplete":
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
                elif event.type == "response.failed":
                    error = event.response.error
                    code = error.code if error else None
                    message = error.message if error else "the response failed"
                    raise ModelError(message, code=code, retryable=code in _RETRYABLE_CODES)
                elif event.type == "error":
                    raise ModelError(event.message, code=event.code, retryable=event.code in _RETRYABLE_CODES)
        raise ModelError(
            "the model stream ended before the response completed",
            code="incomplete_stream",
            retryable=True,
        )

    # Chat Completions ----------------------------------------------------------------------------

    async def _chat(
        self, model: str, instructions: str, messages: list[Message], tools: list[FunctionTool]
    ) -> AsyncGenerator[LLMEvent, None]:
        kwargs: _ChatOptions = {}
        if tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
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


def _responses_input(messages: list[Message]) -> list[ResponseInputItemParam]:
    items: list[ResponseInputItemParam] = []
    for m in messages:
        if m.role == "tool":
            items.append({"type": "function_call_output", "call_id": _call_id(m), "output": m.content})
            continue
        if m.content or not m.tool_calls:
            role = "assistant" if m.role == "assistant" else _user_role(m)
            items.append({"role": role, "content": m.content})
        for call in m.tool_calls:
            items.append({"type": "function_call", "call_id": call.id, "name": call.name, "arguments": call.arguments})
    return items


def _chat_messages(instructions: str, messages: list[Message]) -> list[ChatCompletionMessageParam]:
    out: list[ChatCompletionMessageParam] = []
    if instructions:
        out.append({"role": "system", "content": instructions})
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": _call_id(m), "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            out.append(
                {
                    "role": "assistant",
                    "content": m.content or None,
                    "tool_calls": [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in m.tool_calls
                    ],
                }
            )
        elif m.role == "assistant":
            out.append({"role": "assistant", "content": m.content})
        else:
            out.append({"role": _user_role(m), "content": m.content})
    return out


def _user_role(m: Message) -> Literal["user"]:
    # cast: `Message.role` is a plain str (read back from the conversation table). Tool results
    # and assistant turns are handled apart, so this is a user turn; its role is sent as it is.
    return cast(Literal["user"], m.role)


def _call_id(m: Message) -> str:
    # The chat runner always sets `tool_call_id` on a tool result; were it missing, "" is as
    # unknown to the model as null would be.
    return m.tool_call_id or ""


def _model_error(exc: openai.APIError) -> ModelError:
    """Map an SDK error (the SDK has already spent its retries) to a `ModelError`."""
    if isinstance(exc, openai.APITimeoutError):
        return ModelError("the model request timed out", code="timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ModelError("lost the connection to the model", code="connection_error", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = exc.code or f"http_{status}"
        # A 429 for an exhausted quota will not clear by retrying; a rate limit will.
        retryable = code != "insufficient_quota" and (status in (408, 409, 429) or status >= 500)
        return ModelError(exc.message, code=code, retryable=retryable)
    # An error object in the middle of a stream (no HTTP status).
    return ModelError(
        exc.message, code=exc.code or "stream_error", retryable=(exc.code or "server_error") in _RETRYABLE_CODES
    )
