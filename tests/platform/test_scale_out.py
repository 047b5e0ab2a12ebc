"""The production configuration: several processes on one PostgreSQL + Redis, as `agentdeck
serve --workers N` on one machine or N servers behind a load balancer, and a stopping server
that finishes what it was doing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import httpx
import psutil
import pytest
from websockets.sync.client import connect as ws_connect

from tests.harness import (
    ROOT,
    Server,
    fresh_database,
    needs_postgres_redis,
    sse_events,
    start_server,
)
from tests.users import register

CHAT = "/api/v1/chat"
EVENTS = """subscription($s: String!) { chatEvents(streamId: $s) {
    __typename ... on StreamEventBase { eventId } ... on MessageDeltaEvent { delta } } }"""


def _long(words: int) -> str:
    return " ".join(f"word{i}" for i in range(words))


# One machine: uvicorn workers ---------------------------------------------------------------------


def test_several_workers_without_redis_are_refused(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
        "AGENTDECK_VAR_DIR": str(tmp_path),
        "AGENTDECK_PORT": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "agentdeck.cli", "serve", "--workers", "2"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "--workers > 1 needs AGENTDECK_REDIS_URL" in done.stderr
    assert "SQLite" in done.stderr


def _worker_of(server: Server, local_port: int) -> int:
    """The worker process (a child of `agentdeck serve`) holding our connection's other end."""
    for child in psutil.Process(server.process.pid).children():
        try:
            if any(c.raddr and c.raddr.port == local_port for c in child.net_connections("tcp")):
                return child.pid
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no worker holds the connection from port {local_port}")


def _ws_on_two_workers(server: Server, token: str) -> dict[int, object]:
    """GraphQL WebSocket connections, opened until two different workers hold one each. The
    server answered /health once its first worker was ready; the second may still be starting
    (seconds on a busy machine), so this keeps trying for a bounded time."""
    held: dict[int, object] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ws = ws_connect(server.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=5)
        ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        pid = _worker_of(server, ws.socket.getsockname()[1])
        if pid in held:
            ws.close()
            time.sleep(0.1)
        else:
            held[pid] = ws
        if len(held) == 2:
            break
    return held


def _operation(ws, query: str, variables: dict | None = None, op_id: str = "1"):
    ws.send(json.dumps({"type": "subscribe", "id": op_id, "payload": {"query": query, "variables": variables or {}}}))
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "next":
            yield message["payload"]
        elif message["type"] == "complete":
            return
        elif message["type"] not in ("ping", "pong", "ka"):
            raise AssertionError(message)


@needs_postgres_redis
def test_two_workers_serve_one_platform(tmp_path):
    """`--workers 2` on PostgreSQL + Redis: two processes answer (told apart by which one holds
    the connection, seen from outside), and a turn started on one is read live on the other."""
    with fresh_database("postgres", tmp_path) as url:
        srv = start_server(
            tmp_path,
            backend="postgres",
            database_url=url,
            env={"AGENTDECK_WORKERS": "2", "AGENTDECK_OFFLINE_MODEL_DELAY_MS": "50", "AGENTDECK_LOG_LEVEL": "info"},
        )
        try:
            assert len(psutil.Process(srv.process.pid).children()) >= 2
            t = register(srv, verified=True).access_token
            held = _ws_on_two_workers(srv, t)
            assert len(held) == 2, "every connection went to one worker"
            (pid_a, a), (pid_b, b) = held.items()
            assert pid_a != pid_b
            [started] = _operation(a, 'mutation { startChat(input: {message: "%s"}) { streamId } }' % _long(40))
            stream_id = started["data"]["startChat"]["streamId"]
            kinds = []
            for payload in _operation(b, EVENTS, {"s": stream_id}, op_id="2"):
                assert "errors" not in payload, payload
                kinds.append(payload["data"]["chatEvents"]["__typename"])
                if kinds[-1] == "FinalEvent":
                    break
            assert kinds[0] == "LifecycleEvent" and kinds.count("MessageDeltaEvent") >= 40
            for ws in (a, b):
                ws.close()
            # Where to go is said once for the server, not once a worker.
            deadline = time.monotonic() + 10
            while "agentdeck is ready" not in srv.log() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert srv.log().count("agentdeck is ready") == 1, srv.log()
        finally:
            srv.stop()


# Two servers behind a load balancer ------------------------------------------------------------


@pytest.fixture
def two_servers(tmp_path):
    """Two server processes sharing one PostgreSQL database, one Redis and one VAR_DIR (the
    signing keys), as two machines behind a load balancer would."""
    env = {"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "50", "AGENTDECK_REDIS_PREFIX": f"two-{uuid.uuid4().hex[:8]}:"}
    with fresh_database("postgres", tmp_path) as url:
        a = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        b = start_server(tmp_path, env=env, backend="postgres", database_url=url)
        try:
            yield a, b
        finally:
            a.stop()
            b.stop()


@needs_postgres_redis
def test_a_stream_started_on_one_server_is_read_live_on_the_other(two_servers):
    a, b = two_servers
    t = register(a, verified=True).access_token
    started = a.gql('mutation { startChat(input: {message: "%s"}) { streamId } }' % _long(60), token=t)
    stream_id = started["data"]["startChat"]["streamId"]
    # Read over SSE on B while A is still producing (60 words at 50 ms: three seconds).
    opened = time.monotonic()
    with b.http.stream(
        "GET", f"/api/v1/chat/streams/{stream_id}", headers={"Authorization": f"Bearer {t}"}, timeout=30
    ) as r:
        assert r.status_code == 200
        first_at = None
        body = ""
        for chunk in r.iter_text():
            first_at = first_at or time.monotonic()
            body += chunk
    assert first_at - opened < 1.5  # live, not after the turn ended
    events = [e for _, e in sse_events(httpx.Response(200, text=body))]
    assert events[-1]["kind"] == "final"
    assert sum(1 for e in events if e["kind"] == "message.delta") >= 60


EVENTS_AFTER = """subscription($s: String!, $a: Int!) { chatEvents(streamId: $s, afterEventId: $a) {
    __typename ... on StreamEventBase { eventId } } }"""


def _resumed_over_sse(server: Server, token: str, stream_id: str, last_event_id: int | None) -> list[tuple[int, str]]:
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    r = server.rest("GET", f"/api/v1/chat/streams/{stream_id}", token=token, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return [(e["event_id"], e["kind"]) for _, e in sse_events(r)]


def _resumed_over_graphql(server: Server, token: str, stream_id: str, after: int) -> list[tuple[int, str]]:
    events = []
    with server.subscription(EVENTS_AFTER, {"s": stream_id, "a": after}, token=token) as sub:
        while (message := sub.recv(timeout=10))["type"] != "complete":
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            event = message["payload"]["data"]["chatEvents"]
            events.append((event["eventId"], event["__typename"]))
    return events


@needs_postgres_redis
def test_a_finished_turn_resumes_whole_on_either_server_from_any_event(two_servers):
    """A turn finished on A, resumed on B (and on A) from the start, from the middle and from
    below the first event: every event after the position once, in order, and one terminal event
    at the end, over SSE (Last-Event-ID) and the GraphQL subscription (afterEventId)."""
    a, b = two_servers
    t = register(a, verified=True).access_token
    r = a.rest("POST", CHAT, token=t, json={"message": _long(10)}, timeout=30)
    assert r.status_code == 200, r.text
    stream_id = r.json()["metadata"]["stream_id"]
    whole = _resumed_over_sse(a, t, stream_id, None)  # the writer's own copy
    n, middle = len(whole), len(whole) // 2
    assert [i for i, _ in whole] == list(range(1, n + 1)) and whole[-1][1] == "final" and n >= 12
    for server in (b, a):
        for last_event_id, first in ((None, 1), (0, 1), (middle, middle + 1), (-5, 1)):
            events = _resumed_over_sse(server, t, stream_id, last_event_id)
            assert events == whole[first - 1 :], (server.base_url, last_event_id, events)
        for after, first in ((0, 1), (middle, middle + 1), (-5, 1)):
            events = _resumed_over_graphql(server, t, stream_id, after)
            assert [i for i, _ in events] == list(range(first, n + 1)), (server.base_url, after, events)
            assert [kind for _, kind in events if kind in ("FinalEvent", "ErrorEvent")] == ["FinalEvent"]
            assert events[-1][1] == "FinalEvent"


@needs_postgres_redis
def test_logout_and_refresh_reuse_on_one_server_are_seen_at_once_on_the_other(two_servers):
    a, b = two_servers
    acct = register(a, verified=True)
    assert b.rest("GET", "/api/v1/auth/me", token=acct.access_token).status_code == 200  # B caches "live"
    r = a.rest("POST", "/api/v1/auth/logout", token=acct.access_token, json={"refresh_token": acct.refresh_token})
    assert r.status_code == 200 and r.json()["data"]["revoked"] is True
    assert b.rest("GET", "/api/v1/auth/me", token=acct.access_token).status_code == 401

    other = register(a, verified=True)
    assert b.rest("GET", "/api/v1/auth/me", token=other.access_token).status_code == 200
    rotated = a.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": other.refresh_token})
    assert rotated.status_code == 200
    reused = b.rest("POST", "/api/v1/auth/refresh", json={"refresh_token": other.refresh_token})
    assert reused.status_code == 401  # a used refresh token came back: the session ends everywhere
    fresh = rotated.json()["access_token"]
    assert a.rest("GET", "/api/v1/auth/me", token=fresh).status_code == 401
    assert b.rest("GET", "/api/v1/auth/me", token=fresh).status_code == 401


# A stopping server ----------------------------------------------------------------------------


def test_sigterm_lets_requests_in_flight_finish_and_refuses_new_connections(tmp_path):
    srv = start_server(
        tmp_path, env={"AGENTDECK_OFFLINE_MODEL_DELAY_MS": "100", "AGENTDECK_GRACEFUL_TIMEOUT_SECONDS": "20"}
    )
    n = 12
    try:
        t = register(srv, verified=True).access_token
        out: list = [None] * n

        def turn(i: int) -> None:
            with httpx.Client(base_url=srv.base_url, timeout=30) as c:
                out[i] = c.post(CHAT, json={"message": _long(20)}, headers={"Authorization": f"Bearer {t}"})

        threads = [threading.Thread(target=turn, args=(i,)) for i in range(n)]
        for th in threads:
            th.start()
        time.sleep(1.0)  # every turn is under way (each takes about 2.5 s)
        signalled = time.monotonic()
        srv.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        host, port = srv.base_url.removeprefix("http://").split(":")
        with pytest.raises(OSError):  # draining: the listening socket is closed
            socket.create_connection((host, int(port)), timeout=2).close()
        for th in threads:
            th.join(30)
        assert [r.status_code for r in out] == [200] * n, [r.text for r in out if r is not None]
        assert all(r.json()["response"].startswith("[offline model]") for r in out)
        srv.process.wait(25)
        assert time.monotonic() - signalled < 20
        # uvicorn shuts down, then re-raises the signal it caught: the exit status says SIGTERM.
        assert srv.process.returncode in (0, -signal.SIGTERM)
        assert "Traceback" not in srv.log()
    finally:
        if srv.process.poll() is None:
            srv.stop()
