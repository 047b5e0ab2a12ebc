"""A real agentdeck server for a benchmark: a uvicorn subprocess on a free loopback port, ready
when `/health` answers (never a fixed sleep)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

PASSWORD = "Correct-Horse-42-battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict[str, str], args: tuple[str, ...] = ()) -> Iterator[str]:
    """Yields the base URL of a server run with `env` added to the bench's defaults."""
    with serve_process(env, args) as (base, _pid):
        yield base


@contextlib.contextmanager
def serve_process(env: dict[str, str], args: tuple[str, ...] = ()) -> Iterator[tuple[str, int]]:
    """`serve`, yielding the server's process id too (to read its CPU time)."""
    tmp = tempfile.mkdtemp(prefix="agentdeck-bench-")
    port = free_port()
    full = {
        **os.environ,
        "AGENTDECK_VAR_DIR": tmp,
        "AGENTDECK_PORT": str(port),
        "AGENTDECK_LOG_LEVEL": "warning",
        "AGENTDECK_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
        "AGENTDECK_AUTO_MIGRATE": "true",
        "AGENTDECK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        **env,
    }
    log = open(os.path.join(tmp, "server.log"), "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentdeck.cli", "serve", *args], env=full, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: see {log.name}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: see {log.name}")
            time.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
