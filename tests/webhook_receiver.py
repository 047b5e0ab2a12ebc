"""A local HTTP server that records webhook POSTs and answers as told, per path."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`responses[path]` is a list of statuses answered in turn (the last one repeats);
    `/redirect` answers 302 to a loopback URL."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.responses: dict[str, list[int]] = {}
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server hook)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._cond:
                    receiver.received.append((self.path, dict(self.headers), body))
                    receiver._cond.notify_all()
                    plan = receiver.responses.get(self.path, [302] if self.path == "/redirect" else [200])
                    status = plan.pop(0) if len(plan) > 1 else plan[0]
                self.send_response(status)
                if self.path == "/redirect":
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/internal")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, predicate, timeout: float = 10) -> tuple[str, dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for path, headers, body in self.received:
                    payload = json.loads(body)
                    if predicate(path, payload):
                        return path, headers, body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching webhook; received {[r[0] for r in self.received]}")
                self._cond.wait(remaining)

    def count(self, path: str) -> int:
        with self._cond:
            return sum(1 for p, _, _ in self.received if p == path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
