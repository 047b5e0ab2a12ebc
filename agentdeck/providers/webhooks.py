"""Outbound webhooks with SSRF protection and HMAC signatures.

A target must be `https` and every address its host resolves to must be public: private,
loopback, link-local, multicast, reserved and unspecified addresses are refused, so a
subscriber cannot make the server call its own network. Redirects are never followed (a 3xx
is a failed delivery), so a public URL cannot bounce the request to an internal one.
`allow_loopback` (tests only) additionally admits loopback targets, over http too, so a local
receiver can take part. The check resolves the host right before each delivery; a host whose
DNS answer changes between the check and the connection (rebinding) is a residual risk.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("agentdeck.webhooks")

SIGNATURE_HEADER = "X-Status-Signature"
TIMEOUT_S = 5.0


class UnsafeTarget(ValueError):
    """The URL is not an acceptable webhook target; the message says why."""


@dataclass(frozen=True)
class Delivery:
    ok: bool
    status: int | None  # HTTP status, None when no response arrived
    error: str | None = None
    unsafe: bool = False  # refused before sending: retrying cannot help


def canonical_body(payload: dict[str, Any]) -> bytes:
    """Compact JSON with sorted keys: what is signed is exactly what is sent."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return not allow_loopback
    return (
        ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global
    )


async def check_target(url: str, *, allow_loopback: bool = False) -> None:
    """Raise `UnsafeTarget` unless `url` is an https URL whose host resolves to public addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeTarget("Webhook target must be a valid URL.") from None
    host = parts.hostname
    if not host or parts.username or parts.password:
        raise UnsafeTarget("Webhook target must be an https URL with a host and no credentials.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    loopback_name = host.lower() == "localhost" or host.lower().endswith(".localhost")
    if loopback_name and not allow_loopback:
        raise UnsafeTarget("Webhook target must not be localhost.")
    if parts.scheme != "https" and not (
        allow_loopback and parts.scheme == "http" and (loopback_name or (literal is not None and literal.is_loopback))
    ):
        raise UnsafeTarget("Webhook target must use https.")
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise UnsafeTarget("Webhook target host could not be resolved.") from None
        # str(): the typing allows an integer host, for a Python built without IPv6; no-op here.
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses or any(_refused(ip, allow_loopback) for ip in addresses):
        raise UnsafeTarget("Webhook target must not resolve to a private, loopback or link-local address.")


async def post_signed(url: str, secret: str, payload: dict[str, Any], *, allow_loopback: bool = False) -> Delivery:
    """One signed POST; any 2xx is success. The target is re-checked first (DNS may have changed)."""
    try:
        await check_target(url, allow_loopback=allow_loopback)
    except UnsafeTarget as exc:
        return Delivery(False, None, str(exc), unsafe=True)
    body = canonical_body(payload)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        "User-Agent": "agentdeck-status-webhooks",
    }
    try:
        async with httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT_S, trust_env=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Delivery(False, None, f"{type(exc).__name__}: {exc}")
    return Delivery(200 <= response.status_code < 300, response.status_code)


async def deliver_with_retries(
    url: str,
    secret: str,
    payload: dict[str, Any],
    *,
    allow_loopback: bool = False,
    attempts: int = 3,
    backoff_s: float = 1.0,
) -> Delivery:
    """Retry transient failures (no response, 429, 5xx) with exponential backoff."""
    result = Delivery(False, None, "not attempted")
    for attempt in range(attempts):
        result = await post_signed(url, secret, payload, allow_loopback=allow_loopback)
        transient = result.status is None or result.status == 429 or result.status >= 500
        if result.ok or result.unsafe or not transient:
            break
        if attempt + 1 < attempts:
            await asyncio.sleep(backoff_s * 2**attempt)
    if not result.ok:
        log.warning("webhook delivery to %s failed: %s", url[:64], result.error or result.status)
    return result
