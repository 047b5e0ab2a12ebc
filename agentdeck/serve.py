"""`agentdeck serve`: uvicorn with the settings, and, once the socket listens, where to go.

The addresses come from the server itself (its settings and the socket it bound), so they are
right whatever port or public URL it was given; a Makefile echo could not know either.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time

import httpx
import uvicorn
import uvicorn.supervisors

from agentdeck.settings import Settings

log = logging.getLogger("agentdeck")
READY_WITHIN_SECONDS = 300  # how long `--workers N` waits for its first worker to announce it


def base_url(settings: Settings, host: str, port: int) -> str:
    """What a person opens: AGENTDECK_PUBLIC_URL when set, else the address listened on (the
    loopback address when listening on every interface)."""
    if "public_url" in settings.model_fields_set:
        return settings.public_url.rstrip("/")
    return listen_url(host, port)


def listen_url(host: str, port: int) -> str:
    """The address listened on, as this machine reaches it (loopback for every interface)."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def ready_lines(settings: Settings, host: str, port: int) -> list[str]:
    base = base_url(settings, host, port)
    graphql = "GraphiQL (GraphQL IDE)" if settings.graphiql else "GraphQL (GraphiQL off)"
    lines = [
        f"agentdeck is ready, listening on {host}:{port}",
        f"  {graphql:<24} {base}/graphql",
        f"  {'Swagger UI (REST docs)':<24} {base}/docs",
        f"  {'REST API base':<24} {base}/api/v1",
        f"  {'Health':<24} {base}/health",
    ]
    if "public_url" not in settings.model_fields_set and settings.public_url.rstrip("/") != base:
        # Mailed links (email verification, password reset) are built from the setting alone.
        lines.append(
            f"  AGENTDECK_PUBLIC_URL is unset: links in mail point to {settings.public_url}; "
            f"set it to {base} for them to reach this server"
        )
    return lines


class ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, settings: Settings) -> None:
        super().__init__(config)
        self.settings = settings

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # exits the process if start-up failed
        port = self.servers[0].sockets[0].getsockname()[1]  # the real one, even for port 0
        for line in ready_lines(self.settings, self.config.host, port):
            log.info(line)


class ReadySupervisor(uvicorn.supervisors.Multiprocess):
    """uvicorn's supervisor of `--workers` processes, which says where to go (once, not once a
    worker) when the first worker serves. Since uvicorn 0.51 the supervisor builds each worker's
    server itself, so a ReadyServer cannot be handed to it."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], settings: Settings) -> None:
        super().__init__(config, sockets)
        self.settings = settings

    def init_processes(self) -> None:
        super().init_processes()
        # In a thread of its own, so the supervisor's loop goes on handling signals; over HTTP,
        # since the workers' health-check pipes belong to that loop.
        threading.Thread(target=self._announce, name="announce-ready", daemon=True).start()

    def _announce(self) -> None:
        port = self.sockets[0].getsockname()[1]
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        with httpx.Client(base_url=listen_url(self.config.host, port), timeout=1) as client:
            while not self.should_exit.is_set() and time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/health").status_code == 200:
                        for line in ready_lines(self.settings, self.config.host, port):
                            log.info(line)
                        return
                self.should_exit.wait(0.1)


def run(settings: Settings, host: str, port: int, workers: int = 1) -> bool:
    """Serve until interrupted, in `workers` processes each building its own app (and its own
    pools and tasks); False when the server never started."""
    if workers > 1 and settings.should_auto_migrate:
        # Once, here, rather than racing in every worker's start-up; the workers inherit this.
        from agentdeck.db.migrate import upgrade

        upgrade(settings.effective_database_url)
        os.environ["AGENTDECK_AUTO_MIGRATE"] = "false"
    config = uvicorn.Config(
        "agentdeck.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,  # `logs.configure_logging` set one format for uvicorn's lines and ours
        access_log=False,  # RequestMiddleware writes the access line (with correlation id, tenant)
        loop="asyncio",  # uvloop starved connections under saturation (docs/performance.md)
        ws="websockets-sansio",
        # Client address and scheme from X-Forwarded-* only when sent by a trusted proxy.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # On SIGTERM: stop accepting, let requests in flight finish for this long, then cancel.
        # uvicorn annotates it int, but hands it to asyncio.wait_for: fractions of a second work.
        timeout_graceful_shutdown=settings.graceful_timeout_seconds,  # type: ignore[arg-type]
        timeout_keep_alive=settings.keep_alive_seconds,  # type: ignore[arg-type]  # call_later takes it too
    )
    server = ReadyServer(config, settings)
    try:
        if workers > 1:
            # What uvicorn.run does for workers, with our supervisor.
            ReadySupervisor(config, [config.bind_socket()], settings).run()
            return True
        server.run()
    except KeyboardInterrupt:
        pass
    return server.started
