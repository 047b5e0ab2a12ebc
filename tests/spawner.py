"""Test servers forked from one process that has already imported the app.

Importing agentdeck (Strawberry decorating ~170 modules' types, SQLAlchemy, redis-py, ...) takes
2-4 s of CPU; the end-to-end layer starts about 80 servers on a 2-core machine, so most of a
server's start-up was spent importing the same modules again. Each test process keeps one
spawner instead: a child Python process that imports `agentdeck.app` once, then forks a server
per request. A forked server sets its environment and working directory, sends its output to
its log and runs `agentdeck serve` as the command line would, so what it serves is what
`python -m agentdeck.cli serve` serves; only the imports are shared.

Protocol, one JSON object per line on the spawner's stdin/stdout:
  {"op": "spawn", "env": {...}, "cwd": "...", "log": "...", "args": ["serve"]} -> {"pid": N}
  {"op": "poll", "pid": N} -> {"returncode": null | int}   (negative: killed by that signal)
When its stdin closes (the test process ended), the spawner kills the servers still running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _returncode(status: int) -> int:
    return os.waitstatus_to_exitcode(status)


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become the server the request describes. Never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["agentdeck", *request["args"]]
        from agentdeck.cli import app

        try:
            app(request["args"], prog_name="agentdeck")
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported in the server's log, then the child exits
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    import agentdeck.app  # noqa: F401 - the point of this process: import once, fork many
    import agentdeck.cli  # noqa: F401

    finished: dict[int, int] = {}
    running: set[int] = set()

    def reap() -> None:
        for pid in list(running):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                running.discard(pid)
                finished[pid] = _returncode(status)

    out = sys.stdout
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        reap()
        if request["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(request)
            running.add(pid)
            answer: dict[str, Any] = {"pid": pid}
        else:
            answer = {"returncode": finished.get(request["pid"])}
        print(json.dumps(answer), file=out, flush=True)
    for pid in running:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Spawner:
    """The test process's side: one spawner process, started on first use."""

    def __init__(self, cwd: Path) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._cwd = cwd

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.spawner"],
                    cwd=self._cwd,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env={k: v for k, v in os.environ.items() if not k.startswith("AGENTDECK_")},
                )
                assert self._process.stdout is not None
                ready = self._process.stdout.readline()
                if not ready:
                    raise RuntimeError("the test server spawner exited while importing agentdeck")
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            answer = self._process.stdout.readline()
            if not answer:
                raise RuntimeError("the test server spawner exited")
            return json.loads(answer)

    def spawn(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> ServerProcess:
        answer = self._ask({"op": "spawn", "env": env, "cwd": str(cwd), "log": str(log), "args": args})
        return ServerProcess(self, answer["pid"])


class ServerProcess:
    """What the tests use of `subprocess.Popen` for a spawned server: pid, poll, wait, signals."""

    def __init__(self, spawner: Spawner, pid: int) -> None:
        self._spawner = spawner
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._spawner._ask({"op": "poll", "pid": self.pid})["returncode"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"server {self.pid}", timeout or 0)
            time.sleep(0.02)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


if __name__ == "__main__":
    main()
