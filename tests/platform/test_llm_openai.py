"""The model providers: `OpenAIModel` against a local OpenAI-compatible stub (both API modes,
the real SDK path) and the `OfflineModel`."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from agentdeck.providers.llm import (
    Completed,
    FunctionTool,
    LLMEvent,
    Message,
    ModelError,
    OfflineModel,
    ResponseStarted,
    TextDelta,
    ToolCall,
    ToolCallDelta,
)
from agentdeck.providers.llm_openai import OpenAIModel
from agentdeck.providers.models import make_llm
from agentdeck.settings import Settings
from tests import openai_stub as stub_module
from tests.openai_stub import (
    OpenAIStub,
    error_mid_stream,
    function_call,
    http_error_then,
    slow,
    text,
)

# The stub's fixtures, used by name below.
openai_stub_server = stub_module.openai_stub_server
openai_stub = stub_module.openai_stub

MODES = ["responses", "chat"]
TIME_TOOL = FunctionTool(
    "get_current_time",
    "The current time in a time zone.",
    {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
)


def model(stub: OpenAIStub, mode: str, max_retries: int = 2) -> OpenAIModel:
    return OpenAIModel(
        api_key="sk-test",
        base_url=stub.base_url,
        mode=mode,  # type: ignore[arg-type]
        timeout_s=10,
        max_retries=max_retries,
    )


async def collect(llm, messages, tools=(), instructions="Be brief.") -> list[LLMEvent]:
    return [
        e
        async for e in llm.stream(
            model="gpt-4.1-mini", instructions=instructions, messages=list(messages), tools=list(tools)
        )
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_text_streams_deltas_then_completed(openai_stub, mode):
    openai_stub.script(text("Hello there, how are you today?"))
    events = await collect(model(openai_stub, mode), [Message("user", "Hi")])

    assert isinstance(events[0], ResponseStarted) and events[0].response_id
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1 and "".join(deltas) == "Hello there, how are you today?"
    done = events[-1]
    assert isinstance(done, Completed)
    assert done.text == "Hello there, how are you today?" and done.tool_calls == ()
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0

    sent = openai_stub.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "gpt-4.1-mini" and sent.body["stream"] is True
    if mode == "responses":
        assert sent.body["instructions"] == "Be brief."
        assert sent.body["input"] == [{"role": "user", "content": "Hi"}]
    else:
        assert sent.body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
        assert sent.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("mode", MODES)
async def test_function_call_and_tool_result_round_trip(openai_stub, mode):
    arguments = '{"tz": "Europe/Paris"}'
    openai_stub.script(function_call("get_current_time", arguments), text("It is noon."))
    llm = model(openai_stub, mode)
    history = [Message("user", "What time is it in Paris?")]

    events = await collect(llm, history, [TIME_TOOL])
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert deltas and {(d.index, d.name) for d in deltas} == {(0, "get_current_time")}
    assert "".join(d.delta for d in deltas) == arguments
    done = events[-1]
    assert isinstance(done, Completed) and done.text == ""
    (call,) = done.tool_calls
    assert call == ToolCall(deltas[0].call_id, "get_current_time", arguments)

    tools_sent = openai_stub.requests[0].body["tools"]
    if mode == "responses":
        assert tools_sent == [
            {
                "type": "function",
                "name": "get_current_time",
                "description": TIME_TOOL.description,
                "parameters": TIME_TOOL.parameters,
            }
        ]
    else:
        assert tools_sent == [
            {
                "type": "function",
                "function": {
                    "name": "get_current_time",
                    "description": TIME_TOOL.description,
                    "parameters": TIME_TOOL.parameters,
                },
            }
        ]

    history += [
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", '{"time": "12:00"}', tool_call_id=call.id),
    ]
    events = await collect(llm, history, [TIME_TOOL])
    assert isinstance(events[-1], Completed) and events[-1].text == "It is noon."

    body = openai_stub.requests[-1].body
    if mode == "responses":
        assert body["input"] == [
            {"role": "user", "content": "What time is it in Paris?"},
            {"type": "function_call", "call_id": call.id, "name": "get_current_time", "arguments": arguments},
            {"type": "function_call_output", "call_id": call.id, "output": '{"time": "12:00"}'},
        ]
    else:
        assert body["messages"][1:] == [
            {"role": "user", "content": "What time is it in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": "get_current_time", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": '{"time": "12:00"}'},
        ]


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("responses", "event"), ("responses", "failed"), ("chat", "event"), ("responses", "abrupt"), ("chat", "abrupt")],
)
async def test_error_mid_stream_raises_model_error(openai_stub, mode, kind):
    openai_stub.script(error_mid_stream("one two three four five six", after=1, kind=kind))
    seen: list[LLMEvent] = []
    with pytest.raises(ModelError) as info:
        async for event in model(openai_stub, mode).stream(
            model="m", instructions="", messages=[Message("user", "Hi")], tools=[]
        ):
            seen.append(event)
    assert any(isinstance(e, TextDelta) for e in seen)  # it failed after streaming began
    assert not any(isinstance(e, Completed) for e in seen)
    assert info.value.retryable
    assert info.value.code == ("connection_error" if kind == "abrupt" else "server_error")
    assert len(openai_stub.requests) == 1  # mid-stream failures are not retried by the SDK


@pytest.mark.parametrize("mode", MODES)
async def test_non_retryable_stream_error(openai_stub, mode):
    openai_stub.script(error_mid_stream(after=1, code="invalid_prompt"))
    with pytest.raises(ModelError) as info:
        await collect(model(openai_stub, mode), [Message("user", "Hi")])
    assert info.value.code == "invalid_prompt" and not info.value.retryable


@pytest.mark.parametrize("mode", MODES)
async def test_429_then_success_is_retried_by_the_sdk(openai_stub, mode):
    openai_stub.script(http_error_then(429, times=1, reply=text("Recovered fine")))
    events = await collect(model(openai_stub, mode), [Message("user", "Hi")])
    assert isinstance(events[-1], Completed) and events[-1].text == "Recovered fine"
    assert len(openai_stub.requests) == 2


@pytest.mark.parametrize("mode", MODES)
async def test_500_beyond_max_retries_is_a_retryable_model_error(openai_stub, mode):
    openai_stub.script(http_error_then(500, times=5))
    with pytest.raises(ModelError) as info:
        await collect(model(openai_stub, mode, max_retries=2), [Message("user", "Hi")])
    assert info.value.retryable and info.value.code == "server_error"
    assert len(openai_stub.requests) == 3  # the first try and two retries


@pytest.mark.parametrize("mode", MODES)
async def test_aclose_after_first_delta_closes_the_http_stream(openai_stub, mode):
    openai_stub.script(slow("one two three four five six seven eight nine", delay_s=0.2))
    stream = model(openai_stub, mode).stream(model="m", instructions="", messages=[Message("user", "Hi")], tools=[])
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    closed_at = time.monotonic()
    await stream.aclose()  # type: ignore[attr-defined]
    assert await asyncio.to_thread(openai_stub.disconnected.wait, 1.0)
    assert openai_stub.disconnected_at is not None
    assert openai_stub.disconnected_at - closed_at < 1.0


@pytest.mark.parametrize("mode", MODES)
async def test_task_cancellation_closes_the_http_stream(openai_stub, mode):
    openai_stub.script(slow("one two three four five six seven eight nine", delay_s=0.2))
    first = asyncio.Event()

    async def consume() -> None:
        async for event in model(openai_stub, mode).stream(
            model="m", instructions="", messages=[Message("user", "Hi")], tools=[]
        ):
            if isinstance(event, TextDelta):
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(openai_stub.disconnected.wait, 1.0)


def test_make_llm_picks_the_provider():
    assert isinstance(make_llm(Settings(openai_api_key=None, offline_model_delay_ms=0)), OfflineModel)
    llm = make_llm(
        Settings(
            openai_api_key="sk-x", openai_base_url="http://127.0.0.1:9/v1", openai_api_mode="chat", openai_max_retries=5
        )
    )
    assert isinstance(llm, OpenAIModel) and llm.mode == "chat"
    assert llm.client.max_retries == 5 and str(llm.client.base_url).startswith("http://127.0.0.1:9")


# The offline model -------------------------------------------------------------------------------


async def test_offline_model_echoes_deterministically():
    events = await collect(OfflineModel(), [Message("user", "Hello there")])
    assert isinstance(events[0], ResponseStarted)
    done = events[-1]
    assert isinstance(done, Completed)
    assert done.text == "[offline model] You said: Hello there"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == done.text
    assert done.usage.output_tokens > 0
    again = await collect(OfflineModel(), [Message("user", "Hello there")])
    assert again == events


async def test_offline_model_calls_the_time_tool_then_uses_its_answer():
    llm = OfflineModel()
    history = [Message("user", "What time is it?")]
    events = await collect(llm, history, [TIME_TOOL])
    done = events[-1]
    assert isinstance(done, Completed) and done.text == ""
    (call,) = done.tool_calls
    assert call.name == "get_current_time" and json.loads(call.arguments) == {}
    assert any(isinstance(e, ToolCallDelta) and e.call_id == call.id for e in events)

    # Without the tool on offer, it just answers.
    plain = await collect(OfflineModel(), history)
    assert isinstance(plain[-1], Completed) and plain[-1].tool_calls == ()

    history += [Message("assistant", "", tool_calls=(call,)), Message("tool", "12:00 UTC", tool_call_id=call.id)]
    follow_up = await collect(llm, history, [TIME_TOOL])
    done = follow_up[-1]
    assert isinstance(done, Completed) and done.tool_calls == ()
    assert done.text == "[offline model] The tool answered: 12:00 UTC"
