"""The SSE writer: frames, `id:` lines, heartbeats while the source is silent, compact/spaced JSON."""

from __future__ import annotations

import asyncio

from agentdeck.rest_compat.spec import SSE
from agentdeck.rest_compat.sse import frames


async def _source(items, pause: float | None = 0.0):
    for item in items:
        if pause is not None:  # None: a burst, as a stream's buffered events are read
            await asyncio.sleep(pause)
        yield item


async def _collect(source, spec) -> list[bytes]:
    return [chunk async for chunk in frames(source, spec)]


async def test_frames_with_ids_and_compact_json():
    out = await _collect(_source([{"event_id": 1, "a": None}, {"event_id": 2, "a": "b"}]), SSE(id_field="event_id"))
    assert b"".join(out) == b'id: 1\ndata: {"event_id":1,"a":null}\n\nid: 2\ndata: {"event_id":2,"a":"b"}\n\n'


async def test_events_already_waiting_leave_in_one_write_and_a_slow_source_in_its_own():
    """A frame's trip through the middlewares' sends and the socket costs more than encoding it:
    what the source produced while the last write was going out is written together."""
    many = [{"n": n} for n in range(600)]
    out = await _collect(_source(many, pause=None), SSE())
    assert b"".join(out) == b"".join(b'data: {"n":%d}\n\n' % n for n in range(600))
    assert len(out) < 600 / 2  # batched (at most 256 frames a write)
    slow = await _collect(_source([{"n": 1}, {"n": 2}], pause=0.05), SSE())
    assert slow == [b'data: {"n":1}\n\n', b'data: {"n":2}\n\n']  # nothing waits for company


async def test_spaced_json_without_ids():
    out = await _collect(_source([{"x": 1, "y": [1, 2]}]), SSE(compact=False))
    assert out == [b'data: {"x": 1, "y": [1, 2]}\n\n']


async def test_heartbeats_while_the_source_is_silent():
    spec = SSE(heartbeat=": heartbeat {ts}", heartbeat_seconds=0.05)
    out = await _collect(_source([{"n": 1}], pause=0.18), spec)
    beats = [c for c in out if c.startswith(b": heartbeat ")]
    assert len(beats) >= 2 and out[-1] == b'data: {"n":1}\n\n'
    assert all(c.endswith(b"Z\n\n") for c in beats)


async def test_closing_the_stream_closes_the_source():
    closed = asyncio.Event()

    async def endless():
        try:
            while True:
                await asyncio.sleep(0.01)
                yield {"n": 1}
        finally:
            closed.set()

    stream = frames(endless(), SSE())
    assert (await anext(stream)).startswith(b"data: ")
    await stream.aclose()
    await asyncio.wait_for(closed.wait(), 1)
