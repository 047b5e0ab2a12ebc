"""A local OpenAI-compatible server, so tests run the real `openai` SDK path (DESIGN.md).

It speaks `POST /v1/responses` (Responses API SSE events), `POST /v1/chat/completions`
(`data: {chunk}` lines ending with `data: [DONE]`) and `POST /v1/moderations` (scores 0 unless a
phrase given to `stub.flag(phrase, category)` occurs in the input; these requests are recorded in
`stub.moderations`, not `stub.requests`); and, for the files a tenant keeps at OpenAI,
`GET /v1/files/{id}/content` and `GET /v1/containers/{id}/files/{id}/content` (bytes put in
`stub.files` / `stub.container_files`; others 404), `POST`/`DELETE /v1/containers` and
`POST /v1/embeddings` (deterministic: a hashed bag of words). Each request takes the next scripted reply
from a queue (`stub.script(...)`); an empty queue replies with the text "stub reply". Every
request is recorded (`stub.requests`) so tests can assert what the SDK sent.

    with run_openai_stub() as stub:            # or the `openai_stub` pytest fixture
        stub.script(text("Hello there"), function_call("get_current_time", '{"tz": "UTC"}'))
        OpenAIModel(api_key="test", base_url=stub.base_url)   # base_url ends in /v1
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ErrorKind = Literal["event", "failed", "abrupt"]


@dataclass
class Reply:
    """One scripted model reply. Build with the helpers below."""

    text: str = ""
    call: tuple[str, str] | None = None  # (tool name, JSON arguments)
    # Fail after `fail_after` deltas: "event" = an error event (chat: a `{"error": ...}` chunk),
    # "failed" = `response.failed` (Responses only), "abrupt" = the connection just drops.
    fail_after: int | None = None
    error: ErrorKind = "event"
    error_code: str = "server_error"
    http_errors: list[int] = field(default_factory=list)  # statuses answered before success
    delay_s: float = 0.0  # between deltas
    parts: int = 3  # how many deltas the text is streamed in


def text(value: str, *, delay_s: float = 0.0) -> Reply:
    return Reply(text=value, delay_s=delay_s)


def function_call(name: str, arguments: str) -> Reply:
    return Reply(call=(name, arguments))


def error_mid_stream(
    value: str = "Partial answer that breaks",
    *,
    after: int = 2,
    kind: ErrorKind = "event",
    code: str = "server_error",
) -> Reply:
    return Reply(text=value, fail_after=after, error=kind, error_code=code)


def http_error_then(status: int, times: int = 1, reply: Reply | None = None) -> Reply:
    base = reply or text("Recovered after an error")
    base.http_errors = [status] * times
    return base


def slow(value: str, delay_s: float = 0.1) -> Reply:
    """A word per delta, `delay_s` apart: long enough to be interrupted."""
    return Reply(text=value, delay_s=delay_s, parts=len(value.split(" ")))


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class _Abrupt(Exception):
    """Raised inside a streaming body: uvicorn then drops the connection mid-response."""


def _chunks(value: str, parts: int = 3) -> list[str]:
    """Split into a few deltas (word boundaries kept so the joined text is exact)."""
    if not value:
        return []
    words = value.split(" ")
    size = max(1, -(-len(words) // parts))
    groups = [" ".join(words[i : i + size]) for i in range(0, len(words), size)]
    return [g + (" " if i < len(groups) - 1 else "") for i, g in enumerate(groups)]


class OpenAIStub:
    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.moderations: list[dict[str, Any]] = []  # the bodies of /v1/moderations requests
        self.flags: dict[str, str] = {}  # phrase -> moderation category it scores 0.9 in
        self.first_delta_at: float | None = None  # time.monotonic() of the first delta sent
        self.disconnected_at: float | None = None  # when a stream ended before it finished
        self.disconnected = threading.Event()
        self.port = 0
        self._counter = 0
        self.files: dict[str, tuple[str, bytes]] = {}  # file id -> (filename, bytes)
        self.container_files: dict[tuple[str, str], bytes] = {}  # (container id, file id) -> bytes
        self.app = Starlette(
            routes=[
                Route("/v1/responses", self._responses, methods=["POST"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/moderations", self._moderations, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/v1/containers", self._create_container, methods=["POST"]),
                Route("/v1/containers/{cid}", self._delete_container, methods=["DELETE"]),
                Route("/v1/files/{fid}/content", self._file_content, methods=["GET"]),
                Route("/v1/containers/{cid}/files/{fid}/content", self._container_file_content, methods=["GET"]),
            ]
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def flag(self, phrase: str, category: str) -> None:
        """Moderation scores `category` 0.9 for inputs containing `phrase`."""
        self.flags[phrase.lower()] = category

    def reset(self) -> None:
        self.replies.clear()
        self.requests.clear()
        self.moderations.clear()
        self.flags.clear()
        self.files.clear()
        self.container_files.clear()
        self.first_delta_at = self.disconnected_at = None
        self.disconnected.clear()

    def bodies(self, path_suffix: str = "") -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path.endswith(path_suffix)]

    # Plumbing shared by both endpoints -----------------------------------------------------------

    async def _take(self, request: Request) -> tuple[Reply | None, Response | None]:
        body = await request.json()
        self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body))
        reply = self.replies[0] if self.replies else text("stub reply")
        if reply.http_errors:
            status = reply.http_errors.pop(0)
            error = {
                "message": f"stub HTTP {status}",
                "type": "server_error",
                "code": "rate_limit_exceeded" if status == 429 else "server_error",
                "param": None,
            }
            # retry-after-ms keeps the SDK's backoff short in tests.
            return None, JSONResponse({"error": error}, status, headers={"retry-after-ms": "10"})
        if self.replies:
            self.replies.popleft()
        return reply, None

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_stub{self._counter:06d}"

    async def _guard(self, events: AsyncIterator[str]) -> AsyncIterator[str]:
        """Note when the client went away before the stream finished (cancellation tests)."""
        finished = False
        try:
            async for event in events:
                yield event
            finished = True
        finally:
            if not finished and self.disconnected_at is None:
                self.disconnected_at = time.monotonic()
                self.disconnected.set()

    async def _pace(self, reply: Reply, index: int) -> None:
        if index == 0 and self.first_delta_at is None:
            self.first_delta_at = time.monotonic()
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)

    # POST /v1/moderations ------------------------------------------------------------------------

    async def _moderations(self, request: Request) -> Response:
        body = await request.json()
        self.moderations.append(body)
        inputs = body["input"] if isinstance(body.get("input"), list) else [body.get("input")]
        categories = (
            "harassment harassment/threatening hate hate/threatening illicit illicit/violent self-harm "
            "self-harm/instructions self-harm/intent sexual sexual/minors violence violence/graphic"
        ).split()
        results = []
        for value in inputs:
            text = str(value).lower()
            scores = dict.fromkeys(categories, 0.0)
            for phrase, category in self.flags.items():
                if phrase in text:
                    scores[category] = 0.9
            results.append(
                {
                    "flagged": any(v >= 0.5 for v in scores.values()),
                    "categories": {k: v >= 0.5 for k, v in scores.items()},
                    "category_scores": scores,
                    "category_applied_input_types": {k: ["text"] for k in categories},
                }
            )
        return JSONResponse({"id": self._next_id("modr"), "model": body.get("model"), "results": results})

    # Files, containers, embeddings -------------------------------------------------------------

    def _note(self, request: Request, body: dict[str, Any] | None = None) -> None:
        self.requests.append(RecordedRequest(request.url.path, dict(request.headers), body or {}))

    @staticmethod
    def _missing(what: str) -> Response:
        error = {"message": f"No such {what}", "type": "invalid_request_error", "code": None, "param": None}
        return JSONResponse({"error": error}, 404)

    @staticmethod
    def _chunked(data: bytes) -> AsyncIterator[bytes]:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 1 << 14):
                yield data[start : start + (1 << 14)]

        return chunks()

    async def _file_content(self, request: Request) -> Response:
        self._note(request)
        found = self.files.get(request.path_params["fid"])
        if found is None:
            return self._missing("file")
        name, data = found
        return StreamingResponse(
            self._chunked(data),
            media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def _container_file_content(self, request: Request) -> Response:
        self._note(request)
        data = self.container_files.get((request.path_params["cid"], request.path_params["fid"]))
        if data is None:
            return self._missing("container file")
        return StreamingResponse(self._chunked(data), media_type="application/octet-stream")

    async def _create_container(self, request: Request) -> Response:
        body = await request.json()
        self._note(request, body)
        created = {"id": self._next_id("cntr"), "object": "container", "name": body.get("name"), "status": "running"}
        return JSONResponse({**created, "created_at": int(time.time())})

    async def _delete_container(self, request: Request) -> Response:
        self._note(request)
        return JSONResponse({"id": request.path_params["cid"], "object": "container.deleted", "deleted": True})

    @staticmethod
    def embedding(text: str, dims: int) -> list[float]:
        """A hashed bag of crudely stemmed words, `dims` wide: texts sharing words are close."""
        vector = [0.0] * dims
        for word in re.findall(r"[a-z]{3,}", text.lower()):
            vector[int(hashlib.md5(word[:6].encode()).hexdigest(), 16) % dims] += 1.0
        return vector

    async def _embeddings(self, request: Request) -> Response:
        body = await request.json()
        self._note(request, body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": self.embedding(t, body.get("dimensions", 64))}
            for i, t in enumerate(inputs)
        ]
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return JSONResponse({"object": "list", "data": data, "model": body.get("model", "stub"), "usage": usage})

    # POST /v1/responses --------------------------------------------------------------------------

    async def _responses(self, request: Request) -> Response:
        reply, error = await self._take(request)
        if error is not None:
            return error
        assert reply is not None
        body = self.requests[-1].body
        return StreamingResponse(self._guard(self._responses_events(reply, body)), media_type="text/event-stream")

    async def _responses_events(self, reply: Reply, body: dict[str, Any]) -> AsyncIterator[str]:
        seq = 0

        def sse(payload: dict[str, Any]) -> str:
            nonlocal seq
            payload["sequence_number"] = seq
            seq += 1
            return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"

        response: dict[str, Any] = {
            "id": self._next_id("resp"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "in_progress",
            "model": body.get("model", "stub"),
            "output": [],
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "tools": body.get("tools", []),
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "metadata": {},
            "temperature": 1.0,
            "top_p": 1.0,
            "usage": None,
        }
        yield sse({"type": "response.created", "response": response})
        yield sse({"type": "response.in_progress", "response": response})
        output: list[dict[str, Any]] = []
        if reply.call is not None:
            name, arguments = reply.call
            item = {
                "id": self._next_id("fc"),
                "type": "function_call",
                "status": "in_progress",
                "call_id": self._next_id("call"),
                "name": name,
                "arguments": "",
            }
            yield sse({"type": "response.output_item.added", "output_index": 0, "item": item})
            for i, piece in enumerate(_split(arguments)):
                await self._pace(reply, i)
                yield sse(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item["id"],
                        "output_index": 0,
                        "delta": piece,
                    }
                )
            yield sse(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item["id"],
                    "output_index": 0,
                    "arguments": arguments,
                }
            )
            item = {**item, "status": "completed", "arguments": arguments}
            yield sse({"type": "response.output_item.done", "output_index": 0, "item": item})
            output.append(item)
        else:
            msg_id = self._next_id("msg")
            item = {"id": msg_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
            yield sse({"type": "response.output_item.added", "output_index": 0, "item": item})
            yield sse(
                {
                    "type": "response.content_part.added",
                    "item_id": msg_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []},
                }
            )
            for i, piece in enumerate(_chunks(reply.text, reply.parts)):
                if reply.fail_after is not None and i == reply.fail_after:
                    if reply.error == "abrupt":
                        raise _Abrupt
                    if reply.error == "failed":
                        err = {"code": reply.error_code, "message": "stub: the response failed"}
                        failed = {**response, "status": "failed", "error": err}
                        yield sse({"type": "response.failed", "response": failed})
                    else:
                        yield sse(
                            {
                                "type": "error",
                                "code": reply.error_code,
                                "message": "stub: error mid-stream",
                                "param": None,
                            }
                        )
                    return
                await self._pace(reply, i)
                yield sse(
                    {
                        "type": "response.output_text.delta",
                        "item_id": msg_id,
                        "output_index": 0,
                        "content_index": 0,
                        "delta": piece,
                        "logprobs": [],
                    }
                )
            part = {"type": "output_text", "text": reply.text, "annotations": []}
            yield sse(
                {
                    "type": "response.output_text.done",
                    "item_id": msg_id,
                    "output_index": 0,
                    "content_index": 0,
                    "text": reply.text,
                    "logprobs": [],
                }
            )
            yield sse(
                {
                    "type": "response.content_part.done",
                    "item_id": msg_id,
                    "output_index": 0,
                    "content_index": 0,
                    "part": part,
                }
            )
            item = {**item, "status": "completed", "content": [part]}
            yield sse({"type": "response.output_item.done", "output_index": 0, "item": item})
            output.append(item)
        usage = _usage(body, reply)
        done = {
            **response,
            "status": "completed",
            "output": output,
            "usage": {
                "input_tokens": usage[0],
                "output_tokens": usage[1],
                "total_tokens": usage[0] + usage[1],
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0},
            },
        }
        yield sse({"type": "response.completed", "response": done})

    # POST /v1/chat/completions -------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        reply, error = await self._take(request)
        if error is not None:
            return error
        assert reply is not None
        body = self.requests[-1].body
        return StreamingResponse(self._guard(self._chat_events(reply, body)), media_type="text/event-stream")

    async def _chat_events(self, reply: Reply, body: dict[str, Any]) -> AsyncIterator[str]:
        chunk_id = self._next_id("chatcmpl")
        base = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "stub"),
        }

        def sse(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n"

        yield sse({"role": "assistant", "content": ""})
        if reply.call is not None:
            name, arguments = reply.call
            call_id = self._next_id("call")
            for i, piece in enumerate(_split(arguments)):
                await self._pace(reply, i)
                call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if i == 0:
                    call = {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": piece},
                    }
                yield sse({"tool_calls": [call]})
            yield sse({}, "tool_calls")
        else:
            for i, piece in enumerate(_chunks(reply.text, reply.parts)):
                if reply.fail_after is not None and i == reply.fail_after:
                    if reply.error == "abrupt":
                        raise _Abrupt
                    error = {
                        "message": "stub: error mid-stream",
                        "type": "server_error",
                        "code": reply.error_code,
                        "param": None,
                    }
                    yield f"data: {json.dumps({'error': error})}\n\n"
                    return
                await self._pace(reply, i)
                yield sse({"content": piece})
            yield sse({}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt, completion = _usage(body, reply)
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"


def _split(arguments: str) -> list[str]:
    """JSON arguments in three roughly equal deltas (as a model streams them)."""
    if not arguments:
        return [""]
    step = max(1, -(-len(arguments) // 3))
    return [arguments[i : i + step] for i in range(0, len(arguments), step)]


def _usage(body: dict[str, Any], reply: Reply) -> tuple[int, int]:
    """Deterministic token counts: about four characters a token."""
    prompt = len(json.dumps(body.get("input") or body.get("messages") or "")) // 4
    produced = reply.text if reply.call is None else reply.call[1]
    return max(1, prompt), max(1, len(produced) // 4)


@contextmanager
def run_openai_stub() -> Iterator[OpenAIStub]:
    """Serve a fresh stub on 127.0.0.1 and a free port, in a background thread."""
    stub = OpenAIStub()
    config = uvicorn.Config(stub.app, host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="openai-stub", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the OpenAI stub did not start")
        time.sleep(0.01)
    stub.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield stub
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def openai_stub_server() -> Iterator[OpenAIStub]:
    with run_openai_stub() as stub:
        yield stub


@pytest.fixture
def openai_stub(openai_stub_server: OpenAIStub) -> Iterator[OpenAIStub]:
    """The shared stub, with an empty script and request log for this test."""
    openai_stub_server.reset()
    yield openai_stub_server
    openai_stub_server.reset()
