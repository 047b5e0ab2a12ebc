"""The application's long-lived services and the per-request Context built from them."""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from agentdeck.db.session import Database
from agentdeck.providers.bus import Bus, make_bus
from agentdeck.providers.storage import make_storage
from agentdeck.settings import Settings


class Services:
    """Built once per process by `app.create_app`; everything a resolver may reach."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.monotonic()
        self.db = Database(settings.effective_database_url)
        self.bus: Bus = make_bus(settings.redis_url, settings.redis_prefix)
        self.storage = make_storage(settings.storage_url, settings.var_dir)

    async def close(self) -> None:
        await self.bus.close()
        await self.db.dispose()


@dataclass(frozen=True)
class Principal:
    """Who is calling. `subject` is e.g. `user:<uuid>` or `bootstrap`."""

    subject: str
    scopes: frozenset[str] = frozenset()
    tenant_id: uuid.UUID | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass
class Context:
    """Built once per HTTP request, or once per WebSocket connection."""

    services: Services
    request: HTTPConnection | None = None
    response: Any = None
    principal: Principal | None = None
    connection_params: dict[str, Any] | None = None  # WebSocket connection_init payload
    loaders: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def bus(self) -> Bus:
        return self.services.bus

    def session(self, *, tenant_scoped: bool = True) -> Any:
        """A database session owned by the caller, scoped to the principal's tenant."""
        tenant = self.principal.tenant_id if (tenant_scoped and self.principal) else None
        return self.services.db.session(tenant_id=tenant)


def authenticate(services: Services, conn: HTTPConnection | None, token: str | None = None) -> Principal | None:
    """Resolve the caller from `Authorization: Bearer ...` (or a WebSocket init payload token)."""
    if token is None and conn is not None:
        header = conn.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            token = None
    if not token:
        return None
    secret = services.settings.bootstrap_secret
    if secret and hmac.compare_digest(token.encode(), secret.get_secret_value().encode()):
        return Principal(subject="bootstrap", scopes=frozenset({"platform:operator"}))
    return None
