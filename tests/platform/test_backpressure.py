"""Back-pressure: a process at its bound answers 503 with Retry-After at once, in the documented
envelope, instead of queueing; a database pool wait that ends is a 503 too, never a masked 500."""

from __future__ import annotations

import subprocess
import threading
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.harness import (
    PG_ADMIN_DSN,
    assert_documented,
    fresh_database,
    needs_postgres_redis,
    start_server,
)
from tests.users import register

CHAT, STREAM = "/api/v1/chat", "/api/v1/chat/stream"
SLOW = " ".join(f"w{i}" for i in range(30))  # 30 words at 100 ms: a turn of about 3 s


def _busy(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "1"
    assert r.headers["x-correlation-id"]
    assert r.json() == {
        "success": False,
        "error": "ServiceUnavailable",
        "message": r.json()["message"],
        "details": None,
    }


def _in_threads(calls: list) -> list:
    out: list = [None] * len(calls)

    def run(i: int) -> None:
        out[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    return [threads, out]


@pytest.fixture(scope="module")
def bounded(tmp_path_factory):
    srv = start_server(
        tmp_path_factory.mktemp("bounded"),
        env={
            "AGENTDECK_MAX_REQUESTS_IN_FLIGHT": "2",
            "AGENTDECK_MAX_STREAMS": "1",
            "AGENTDECK_OFFLINE_MODEL_DELAY_MS": "100",
        },
    )
    yield srv
    srv.stop()


def _post(srv, path: str, token: str, body: dict) -> httpx.Response:
    with httpx.Client(base_url=srv.base_url, timeout=30) as c:
        return c.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_requests_beyond_the_bound_are_refused_at_once(bounded):
    t = register(bounded, verified=True).access_token
    threads, out = _in_threads([lambda: _post(bounded, CHAT, t, {"message": SLOW}) for _ in range(2)])
    time.sleep(0.5)  # both turns are being served
    started = time.monotonic()
    refused = bounded.rest("GET", "/api/v1/conversations", token=t)
    assert time.monotonic() - started < 1.0  # not queued behind the turns (about 3 s)
    _busy(refused)
    assert_documented("GET", "/api/v1/conversations", refused)
    gql = bounded.http.post("/graphql", json={"query": "{ __typename }"})
    _busy(gql)
    # Health checks and metrics are answered whatever the load.
    for path in ("/health", "/health/ready", "/metrics"):
        assert bounded.http.get(path).status_code == 200, path
    assert 'agentdeck_load_shed_total{kind="request"}' in bounded.http.get("/metrics").text
    for th in threads:
        th.join(30)
    assert [r.status_code for r in out] == [200, 200]
    assert bounded.rest("GET", "/api/v1/conversations", token=t).status_code == 200  # room again


def test_streams_have_their_own_bound(bounded):
    t = register(bounded, verified=True).access_token
    threads, out = _in_threads([lambda: _post(bounded, STREAM, t, {"message": SLOW})])
    time.sleep(0.5)
    # A second stream is refused (SSE and WebSocket alike); plain requests still have room.
    _busy(_post(bounded, STREAM, t, {"message": "another"}))
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(bounded.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=5)
    assert refused.value.response.status_code == 503
    assert refused.value.response.headers["Retry-After"] == "1"
    assert bounded.rest("GET", "/api/v1/conversations", token=t).status_code == 200
    threads[0].join(30)
    assert out[0].status_code == 200 and '"final"' in out[0].text
    with ws_connect(bounded.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=5):
        pass  # the stream ended: its place is free


@needs_postgres_redis
def test_a_pool_wait_that_ends_is_503_not_a_masked_fault(tmp_path):
    """One pooled connection, held by a request whose query waits on a table lock: the next
    requests wait for the pool, then are told the server is busy."""
    with fresh_database("postgres", tmp_path) as url:
        srv = start_server(
            tmp_path,
            backend="postgres",
            database_url=url,
            env={
                "AGENTDECK_DB_POOL_SIZE": "1",
                "AGENTDECK_DB_MAX_OVERFLOW": "0",
                "AGENTDECK_DB_POOL_TIMEOUT_SECONDS": "0.5",
            },
        )
        try:
            t = register(srv, verified=True).access_token
            dbname = url.rsplit("/", 1)[1]
            lock = subprocess.Popen(
                [
                    "psql",
                    PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{dbname}",
                    "-qc",
                    "BEGIN; LOCK TABLE conversations; SELECT pg_sleep(3); COMMIT;",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(0.7)  # the lock is taken
                threads, out = _in_threads([lambda: srv.rest("GET", "/api/v1/conversations", token=t, timeout=30)])
                time.sleep(0.3)  # ...and that request holds the only connection, waiting on it
                _busy(srv.rest("GET", "/api/v1/conversations", token=t))
                answer = srv.gql("{ conversations { nodes { id } } }", token=t)
                [error] = answer["errors"]
                assert error["extensions"]["code"] == "UNAVAILABLE", error
                assert error["extensions"]["retryAfter"] == 1
                assert "QueuePool" not in error["message"]
            finally:
                lock.wait(10)
            threads[0].join(30)
            assert out[0].status_code == 200  # the held request finished once the lock went
            assert srv.rest("GET", "/api/v1/conversations", token=t).status_code == 200
            assert "unexpected error" not in srv.log()
        finally:
            srv.stop()
