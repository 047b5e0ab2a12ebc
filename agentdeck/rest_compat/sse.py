"""Server-Sent Events: `data:` frames, heartbeat comments while the source is silent, `id:` lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from agentdeck.rest_compat.spec import SSE

_END = object()
MAX_BATCH = 256  # events written together at most


def encode(payload: Any, spec: SSE) -> bytes:
    if spec.compact:
        data = orjson.dumps(payload)
    else:  # the legacy billing stream used Python's default separators
        data = json.dumps(payload, ensure_ascii=False).encode()
    if spec.id_field is not None and isinstance(payload, dict) and spec.id_field in payload:
        return b"id: %s\ndata: %s\n\n" % (str(payload[spec.id_field]).encode(), data)
    return b"data: %s\n\n" % data


def heartbeat(spec: SSE) -> bytes:
    ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return spec.heartbeat.format(ts=ts).encode() + b"\n\n"


async def frames(
    source: AsyncIterator[Any],
    spec: SSE,
    on_close: Callable[[], Any] | None = None,
) -> AsyncIterator[bytes]:
    """Encode every payload of `source`, with a heartbeat after each silent interval.

    The source is drained by its own task into a queue, so that waiting with a timeout never
    cancels the source's own await (cancelling an async generator mid-step would end it).
    """
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1024)

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
        finally:
            await queue.put(_END)

    task = asyncio.create_task(pump())
    try:
        while True:
            if queue.empty():
                # `asyncio.timeout`, not `wait_for`: wait_for wraps the get in a task of its own,
                # per event and subscriber (an event fanned out to 1,000 streams made 1,000 tasks).
                try:
                    async with asyncio.timeout(spec.heartbeat_seconds):
                        item = await queue.get()
                except TimeoutError:
                    yield heartbeat(spec)
                    continue
            else:
                item = queue.get_nowait()
            if item is _END:
                break
            # Events that are already waiting leave in one write: a frame costs its trip through
            # every middleware's send and the socket, more than encoding it.
            chunk, ended = [encode(item, spec)], False
            while len(chunk) < MAX_BATCH and not queue.empty():
                more = queue.get_nowait()
                if more is _END:
                    ended = True
                    break
                chunk.append(encode(more, spec))
            yield chunk[0] if len(chunk) == 1 else b"".join(chunk)
            if ended:
                break
        await task  # surfaces an exception raised by the source
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if on_close is not None:
            await on_close()
