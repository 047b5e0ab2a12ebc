"""Live streams: GraphQL subscriptions over both WebSocket protocols and the REST SSE writer."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.harness import BOOTSTRAP_SECRET, WsSubscription

NOTICES = "subscription { notices { message level publishedAt } }"


def _publish(server, message: str, level: str = "info") -> None:
    r = server.rest("POST", "/api/v1/notices", token=BOOTSTRAP_SECRET, json={"message": message, "level": level})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_notice_reaches_websocket_subscribers(server, protocol):
    with server.subscription(NOTICES, protocol=protocol) as sub:
        time.sleep(0.3)  # the subscription is registered once the first message is processed
        _publish(server, f"over {protocol}", "critical")
        payload = sub.next()
        assert payload["data"]["notices"]["message"] == f"over {protocol}"
        assert payload["data"]["notices"]["level"] == "CRITICAL"


def test_websocket_with_a_bad_token_is_rejected(server):
    with ws_connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        sub = WsSubscription(ws, "graphql-transport-ws")
        sub.send({"type": "connection_init", "payload": {"authorization": "Bearer forged"}})
        with pytest.raises(ConnectionClosed) as closed:
            sub.recv()
        assert closed.value.rcvd.code == 4403


def test_sse_stream_frames_notices(server):
    frames: list[str] = []
    ready = threading.Event()

    def read() -> None:
        with httpx.stream("GET", server.base_url + "/api/v1/notices/stream", timeout=10) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            assert r.headers["cache-control"] == "no-cache"
            ready.set()
            buf = ""
            for chunk in r.iter_text():
                buf += chunk
                while "\n\n" in buf:
                    frame, buf = buf.split("\n\n", 1)
                    frames.append(frame)
                if len(frames) >= 2:
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(5), "stream did not open (headers must not wait for the first event)"
    time.sleep(0.3)
    _publish(server, "first")
    _publish(server, "second")
    reader.join(10)
    assert len(frames) == 2
    assert frames[0].startswith('data: {"message":"first","level":"info","published_at":')
    assert "\n" not in frames[0]  # one line per frame, compact JSON
