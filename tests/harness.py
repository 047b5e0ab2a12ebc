"""Black-box test harness: real uvicorn servers, real HTTP/SSE/WebSocket clients, and the
documented contract as a response validator. Later domains reuse all of it."""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from tests.spawner import ServerProcess, Spawner

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_DIR = ROOT / "tests" / "contract"
BOOTSTRAP_SECRET = "test-bootstrap-secret"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


# Probed once per run, so every test (and the summary in conftest.py) sees the same answer.
@cache
def postgres_up() -> bool:
    return _answers("127.0.0.1", 5432)


@cache
def redis_up() -> bool:
    return _answers("127.0.0.1", 6379)


# Every skip for a missing backend carries this prefix; conftest.py's summary counts those as
# expected and shows any other skip as unexpected.
BACKEND_SKIP = "backend not answering: "


def missing_backends(postgres: bool = True, redis: bool = True) -> str | None:
    """Why the PostgreSQL and/or Redis the caller needs cannot be used, or None when they answer."""
    missing = [
        what
        for what, wanted, up in (
            ("PostgreSQL on 127.0.0.1:5432", postgres, postgres_up),
            ("Redis on 127.0.0.1:6379", redis, redis_up),
        )
        if wanted and not up()
    ]
    return " and ".join(missing) + " did not answer" if missing else None


def _needs(postgres: bool, redis: bool) -> pytest.MarkDecorator:
    reason = missing_backends(postgres, redis)
    return pytest.mark.skipif(reason is not None, reason=BACKEND_SKIP + (reason or ""))


needs_postgres = _needs(postgres=True, redis=False)
needs_redis = _needs(postgres=False, redis=True)
needs_postgres_redis = _needs(postgres=True, redis=True)


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", PG_ADMIN_DSN, "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
        timeout=30,
    )


# Migrating a new database costs about a second; the suite starts dozens. Each backend's
# migrations run once per test process, into a template that every fresh database copies (the
# servers still run `AUTO_MIGRATE`, which then finds the database at head).
_TEMPLATES: dict[str, str] = {}


def _upgrade(url: str) -> None:
    """Migrate `url` on a thread of its own: alembic's env runs its own event loop, and callers
    may be inside one (an async fixture)."""
    from agentdeck.db.migrate import upgrade

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(upgrade, url).result()


def _template(backend: str) -> str:
    if backend not in _TEMPLATES:
        if backend == "sqlite":
            path = Path(tempfile.mkdtemp(prefix="agentdeck-template-")) / "agentdeck.db"
            _upgrade(f"sqlite+aiosqlite:///{path}")
            _TEMPLATES[backend] = str(path)
        else:
            name = f"agentdeck_template_{uuid.uuid4().hex[:12]}"
            _psql(f'CREATE DATABASE "{name}"')
            atexit.register(_psql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _upgrade(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
            _TEMPLATES[backend] = name
    return _TEMPLATES[backend]


def migrated_sqlite(path: Path) -> None:
    """A migrated SQLite database at `path`, unless one is there already (a restarted server)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_template("sqlite"), path)


@contextlib.contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        migrated_sqlite(tmp / "agentdeck.db")
        yield f"sqlite+aiosqlite:///{tmp / 'agentdeck.db'}"
        return
    name = f"agentdeck_test_{uuid.uuid4().hex[:12]}"
    _psql(f'CREATE DATABASE "{name}" TEMPLATE "{_template(backend)}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        with contextlib.suppress(Exception):
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# `agentdeck serve` forked from a process that imported the app once (tests/spawner.py).
_SPAWNER = Spawner(ROOT)


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    process: ServerProcess
    log_path: Path
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=10)

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    # REST -----------------------------------------------------------------------------------
    def rest(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, path, headers=headers, **kw)

    # GraphQL over HTTP ----------------------------------------------------------------------
    def gql(
        self, query: str, variables: dict | None = None, token: str | None = None, headers: dict | None = None
    ) -> dict[str, Any]:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        r = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)
        assert r.status_code in (200, 400), r.text
        return r.json()

    def client(self, token: str | None = None) -> Any:
        """The typed client generated from schema.graphql and tests/operations (`make client`):
        the suite calling the API as client code would. An async context manager."""
        from tests.graphql_client import Client

        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return Client(
            url=f"{self.base_url}/graphql",
            headers=auth,
            ws_url=self.ws_url,
            ws_connection_init_payload=auth,
        )

    # GraphQL subscriptions over WebSocket ---------------------------------------------------
    @contextlib.contextmanager
    def subscription(
        self,
        query: str,
        variables: dict | None = None,
        token: str | None = None,
        protocol: str = "graphql-transport-ws",
    ) -> Iterator[WsSubscription]:
        with ws_connect(self.ws_url, subprotocols=[protocol], open_timeout=5) as ws:
            sub = WsSubscription(ws, protocol)
            sub.init({"authorization": f"Bearer {token}"} if token else {})
            sub.start(query, variables or {})
            yield sub

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class WsSubscription:
    def __init__(self, ws, protocol: str) -> None:
        self.ws = ws
        self.legacy = protocol == "graphql-ws"
        self.id = "1"

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def recv(self, timeout: float = 5) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def init(self, payload: dict) -> None:
        self.send({"type": "connection_init", "payload": payload})
        while True:
            msg = self.recv()
            if msg["type"] == "connection_ack":
                return
            assert msg["type"] in ("ka", "ping"), msg

    def start(self, query: str, variables: dict) -> None:
        kind = "start" if self.legacy else "subscribe"
        self.send({"type": kind, "id": self.id, "payload": {"query": query, "variables": variables}})

    def next(self, timeout: float = 5) -> dict:
        """The next payload (`{"data": ..., "errors": ...}`); skips keep-alives."""
        while True:
            msg = self.recv(timeout)
            if msg["type"] in ("ka", "ping", "pong"):
                continue
            if msg["type"] in ("next", "data"):
                return msg["payload"]
            if msg["type"] == "error":
                return {"errors": msg["payload"] if isinstance(msg["payload"], list) else [msg["payload"]]}
            raise AssertionError(f"unexpected message {msg}")


def start_server(
    tmp: Path,
    env: dict[str, str | None] | None = None,
    backend: str = "sqlite",
    database_url: str | None = None,
    port: int | None = None,
) -> Server:
    """A real server on a loopback port: `port` when the caller must name it in `env`
    (AGENTDECK_PUBLIC_URL), else a free one; `env` adds settings (None removes a default)."""
    if os.environ.get("AGENTDECK_TESTS_IN_PROCESS"):
        raise RuntimeError(
            "a server started in the in-process layer: mark the test e2e "
            "(take the `server` fixture, or `pytestmark = pytest.mark.e2e`)"
        )
    port = port or free_port()
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
        "AGENTDECK_VAR_DIR": str(tmp),
        "AGENTDECK_PORT": str(port),
        # Links (signed URLs, mail) come from configuration only, never from a request's Host.
        "AGENTDECK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AGENTDECK_BOOTSTRAP_SECRET": BOOTSTRAP_SECRET,
        "AGENTDECK_LOG_LEVEL": "warning",
        "AGENTDECK_AUTO_MIGRATE": "true",
        # OWASP's minimum argon2id cost, an eighth of the default's CPU: the suite hashes a
        # password at every registration and sign-in (a test of the default sets its own).
        "AGENTDECK_PASSWORD_HASH_TIME_COST": "2",
        "AGENTDECK_PASSWORD_HASH_MEMORY_KIB": "19456",
        "AGENTDECK_PASSWORD_HASH_PARALLELISM": "1",
        "AGENTDECK_REDIS_PREFIX": f"agentdeck-test-{uuid.uuid4().hex[:8]}:",
    }
    if database_url is None:
        migrated_sqlite(tmp / "agentdeck.db")
    full_env["AGENTDECK_DATABASE_URL"] = database_url or f"sqlite+aiosqlite:///{tmp / 'agentdeck.db'}"
    if backend == "postgres":
        full_env["AGENTDECK_REDIS_URL"] = REDIS_URL
    full_env.update(env or {})
    full_env = {k: v for k, v in full_env.items() if v is not None}
    log_path = tmp / f"server-{port}.log"
    process = _SPAWNER.spawn(["serve"], full_env, ROOT, log_path)
    server = Server(f"http://127.0.0.1:{port}", full_env, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if server.http.get("/health").status_code == 200:
                return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start:\n{server.log()}")


@contextlib.contextmanager
def server_with_openai_stub(tmp: Path, mode: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """A server whose model is the local OpenAI-compatible stub (`server.stub`), in `mode`
    ("responses" or "chat"), so the real `openai` SDK path runs."""
    from tests.openai_stub import run_openai_stub

    with run_openai_stub() as stub:
        srv = start_server(
            tmp,
            env={
                "AGENTDECK_OPENAI_API_KEY": "sk-test",
                "AGENTDECK_OPENAI_BASE_URL": stub.base_url,
                "AGENTDECK_OPENAI_API_MODE": mode,
                "AGENTDECK_OPENAI_MAX_RETRIES": "0",
                **(env or {}),
            },
        )
        srv.stub = stub  # type: ignore[attr-defined]
        try:
            yield srv
        finally:
            srv.stop()


# The documented contract ----------------------------------------------------------------------
# Fixtures derived from the legacy OpenAPI documents by tests/contract/derive.py and committed:
# "documented" (the 88 operations served today) and "extended" (117, the next target).


@cache
def contract_document(name: str = "documented") -> dict[str, Any]:
    path = CONTRACT_DIR / f"{name}.json"
    if not path.exists():
        # Never a skip: without the fixture every contract check would silently vanish.
        raise FileNotFoundError(
            f"{path} is missing; it is committed, re-create it with "
            "`python -m tests.contract.derive <legacy contract folder>`"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def contract_operations(name: str = "documented") -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in a contract fixture."""
    return {(m.upper(), p) for p, item in contract_document(name)["paths"].items() for m in item}


def documented_operations(extended: bool = False) -> set[tuple[str, str]]:
    return contract_operations("extended" if extended else "documented")


@cache
def _validator(name: str, pointer: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**contract_document(name), "$ref": pointer})


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def assert_documented(
    method: str, path: str, response: httpx.Response, content_type: str = "application/json", *, extended: bool = False
) -> None:
    """Validate a real response against the documented schema for (method, path, status);
    `extended=True` checks against the extended contract instead."""
    name = "extended" if extended else "documented"
    op = contract_document(name)["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in op["responses"] or "default" in op["responses"], f"{status} not documented"
    key = status if status in op["responses"] else "default"
    content = op["responses"][key].get("content")
    if not content:
        assert response.content == b""
        return
    if content_type != "application/json":  # bytes (a download): the documented media type, headers
        media = response.headers.get("content-type", "").split(";")[0].strip()
        assert media == content_type and content_type in content, f"{media} answered, {sorted(content)} documented"
        for header in op["responses"][key].get("headers", {}):
            assert header in response.headers, f"{method} {path} {status}: no {header} header"
        assert content[content_type]["schema"] == {"type": "string", "format": "binary"}
        return
    pointer = f"#/paths/{_escape(path)}/{method.lower()}/responses/{key}/content/{_escape(content_type)}/schema"
    errors = sorted(_validator(name, pointer).iter_errors(response.json()), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"


def sse_events(response: httpx.Response) -> list[tuple[str | None, dict]]:
    """Read a whole SSE body: (id, JSON payload) per `data:` frame; comments are skipped."""
    out: list[tuple[str | None, dict]] = []
    for frame in response.text.split("\n\n"):
        event_id, data = None, None
        for line in frame.split("\n"):
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                assert data is None, f"one data line per frame: {frame!r}"
                data = json.loads(line[6:])
        if data is not None:
            out.append((event_id, data))
    return out


def assert_schema(component: str, value: Any, *, extended: bool = False) -> None:
    """Validate a value against a component schema of the documented (or extended) contract."""
    name = "extended" if extended else "documented"
    errors = sorted(_validator(name, f"#/components/schemas/{component}").iter_errors(value), key=str)
    assert not errors, f"{component}: {errors[0].message} at {list(errors[0].absolute_path)}"
