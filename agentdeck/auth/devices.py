"""What a session list shows about a client: a rough reading of its user agent, a masked IP and
a fingerprint. Deliberately simple (no UA database): it labels common browsers for a person
looking at their own sessions, it is not a security decision."""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

# First match wins, so the more specific names come first (Edge and Opera also say "Chrome",
# Chrome also says "Safari").
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx/", "httpx"),
    ("python-requests/", "requests"),
)
_PLATFORMS = (
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Android", "Android"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
_BOTS = ("bot", "spider", "crawler", "curl/", "python-", "wget")


@dataclass(frozen=True)
class ClientInfo:
    platform: str | None
    browser: str | None
    device: str | None
    user_agent: str | None


def parse_user_agent(user_agent: str | None) -> ClientInfo:
    if not user_agent:
        return ClientInfo(None, None, None, None)
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    platform = next((name for marker, name in _PLATFORMS if marker in user_agent), None)
    lower = user_agent.lower()
    device: str | None
    if any(b in lower for b in _BOTS):
        device = "bot"
    elif "ipad" in lower or "tablet" in lower:
        device = "tablet"
    elif "mobile" in lower or "iphone" in lower or "android" in lower:
        device = "mobile"
    else:
        device = "desktop" if platform else None
    return ClientInfo(platform, browser, device, user_agent)


def mask_ip(ip: str | None) -> str | None:
    """IPv4 keeps its /24 (`a.b.c.*`), IPv6 its /48 (`a:b:c:*`): enough to recognise a network."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if isinstance(addr, ipaddress.IPv4Address):
        return ".".join(str(addr).split(".")[:3]) + ".*"
    groups = addr.exploded.split(":")[:3]
    return ":".join(g.lstrip("0") or "0" for g in groups) + ":*"


def fingerprint(ip: str | None, user_agent: str | None) -> str | None:
    """Stable id for an IP + user-agent pair, so a person can spot the same device twice.

    Only the session's own user sees it, and they already know their address, so an unkeyed
    hash is enough."""
    if not ip and not user_agent:
        return None
    return hashlib.sha256(f"{ip or ''}|{user_agent or ''}".encode()).hexdigest()[:16]
