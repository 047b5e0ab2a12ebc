"""`agentdeck serve` says where to go once it is ready, from its own settings and socket."""

from __future__ import annotations

import re
import socket
import time

from agentdeck.settings import Settings
from tests.harness import free_port, start_server


def _ready_lines(srv) -> list[str]:
    deadline = time.monotonic() + 10  # the lines are logged just before /health first answers
    while time.monotonic() < deadline:
        lines = srv.log().splitlines()
        start = next((i for i, line in enumerate(lines) if "agentdeck is ready" in line), None)
        if start is not None and len(lines) >= start + 5:
            return [re.sub(r"^.* tenant=- ", "", line) for line in lines[start : start + 6]]
        time.sleep(0.05)
    raise AssertionError(srv.log())


def test_serve_prints_the_urls_of_its_public_address_once_listening(tmp_path):
    port = free_port()
    srv = start_server(
        tmp_path, port=port, env={"AGENTDECK_LOG_LEVEL": "info", "AGENTDECK_PUBLIC_URL": f"http://localhost:{port}/"}
    )
    try:
        lines = _ready_lines(srv)
        log = srv.log()
        assert log.index("Application startup complete") < log.index("agentdeck is ready")
        assert lines[0] == f"agentdeck is ready, listening on 127.0.0.1:{port}"
        assert [line.split()[-1] for line in lines[1:5]] == [
            f"http://localhost:{port}/graphql",
            f"http://localhost:{port}/docs",
            f"http://localhost:{port}/api/v1",
            f"http://localhost:{port}/health",
        ]
        assert "GraphiQL" in lines[1] and "Swagger UI" in lines[2] and "AGENTDECK_PUBLIC_URL" not in log
        # Each printed address answers.
        assert srv.http.get(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"}).status_code == 200
        assert srv.http.get(f"http://127.0.0.1:{port}/docs").status_code == 200
        assert srv.http.get(f"http://127.0.0.1:{port}/health").status_code == 200
        assert log.count("agentdeck is ready") == 1
    finally:
        srv.stop()


def test_without_a_public_url_it_prints_the_address_it_listens_on_and_says_mail_links_differ(tmp_path):
    srv = start_server(tmp_path, env={"AGENTDECK_LOG_LEVEL": "info", "AGENTDECK_PUBLIC_URL": None})
    try:
        lines = _ready_lines(srv)
        assert lines[1].endswith(f"{srv.base_url}/graphql")
        assert "AGENTDECK_PUBLIC_URL is unset: links in mail point to http://127.0.0.1:8000" in lines[5]
        assert f"set it to {srv.base_url}" in lines[5]
    finally:
        srv.stop()


def _response(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 response (Content-Length framed), or b"" when the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return data


def _idle_for(base_url: str, seconds: float) -> bytes:
    """Sends one request on a raw keep-alive connection, waits `seconds` idle, sends another, and
    returns what the server answered the second (b"" when it had closed the connection)."""
    host, port = base_url.removeprefix("http://").split(":")
    request = f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        assert _response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(seconds)
        try:
            sock.sendall(request)
            return _response(sock)
        except ConnectionResetError:
            return b""


def test_idle_keep_alive_connections_outlive_uvicorns_five_seconds_and_the_setting_bounds_them(tmp_path):
    """A pooling client or proxy reuses an idle connection; a server that closes it first races
    that request into a reset (uvicorn closes after 5 s unless told otherwise)."""
    srv = start_server(tmp_path, env={"AGENTDECK_KEEP_ALIVE_SECONDS": "1"})
    try:
        assert _idle_for(srv.base_url, 0.2).startswith(b"HTTP/1.1 200")
        assert _idle_for(srv.base_url, 1.6) == b""
    finally:
        srv.stop()
    assert Settings().keep_alive_seconds > 60  # above a load balancer's usual idle timeout
