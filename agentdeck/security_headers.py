"""Pure ASGI middleware adding the browser-facing security headers to every HTTP response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
# Frame and plug-in protection for every HTML page; the browser tools' pages send a fuller policy
# of their own (`browser_tools.TOOL_PAGE_CSP`), which this one does not replace.
HTML = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'; object-src 'none'; base-uri 'none'"),
)


class SecurityHeadersMiddleware:
    """Adds nosniff and the referrer policy to every response, frame protection to HTML pages
    and HSTS to https requests, leaving alone any of them a route set itself.

    The scheme is the connection's, or behind a TLS-terminating proxy the one uvicorn takes from
    `X-Forwarded-Proto`, which it believes only from `AGENTDECK_FORWARDED_ALLOW_IPS`.
    """

    def __init__(self, app: ASGIApp, hsts_max_age_seconds: int) -> None:
        self.app = app
        value = f"max-age={hsts_max_age_seconds}; includeSubDomains".encode()
        self.hsts = ((b"strict-transport-security", value),) if hsts_max_age_seconds > 0 else ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = self.hsts if scope.get("scheme") == "https" else ()

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = BASE + (HTML if _is_html(headers) else ()) + hsts
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"content-type" and value.lower().startswith(b"text/html") for name, value in headers)
