"""The application's long-lived services and the per-request Context built from them."""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from agentdeck.auth import passwords
from agentdeck.auth.keys import KeyStore
from agentdeck.auth.revocation import Revocations
from agentdeck.auth.tenancy import Principal, TenantContext, TenantRows, decide_tenant
from agentdeck.auth.tokens import TokenInvalid, TokenService
from agentdeck.db.models.identity import User
from agentdeck.db.session import Database, PoolLimits
from agentdeck.errors import Forbidden, Unauthenticated
from agentdeck.logs import bind_tenant
from agentdeck.providers.bus import Bus, make_bus
from agentdeck.providers.containers import make_containers
from agentdeck.providers.embeddings import make_embeddings
from agentdeck.providers.files import make_files
from agentdeck.providers.llm import LLMProvider
from agentdeck.providers.mail import make_mailer
from agentdeck.providers.models import make_llm
from agentdeck.providers.moderation import make_moderation
from agentdeck.providers.payments import PaymentProvider, make_payments
from agentdeck.providers.ratelimit import make_limiter
from agentdeck.providers.redis_link import RedisLink
from agentdeck.providers.storage import make_storage
from agentdeck.settings import Settings

UNVERIFIED = "Email verification required."
REFRESH_HINT = (
    "refresh your token (POST /api/v1/auth/refresh with the refresh token, or the "
    "refreshSession mutation) or sign in again."
)


class Worker(Protocol):
    """A background task of a domain, started and stopped with the process."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class RunLauncher(Protocol):
    """Runs chat turns and workflow runs as server tasks (`domain.agents.runs.RunSupervisor`)."""

    def launch_turn(self, run_id: uuid.UUID, work: Coroutine[Any, Any, Any]) -> None: ...

    def launch_run(self, run_id: uuid.UUID, runner: Any, work: Coroutine[Any, Any, Any]) -> None: ...

    async def request_cancel(self, run_id: uuid.UUID) -> None: ...


class Services:
    """Built once per process by `app.create_app`; everything a resolver may reach."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.monotonic()
        passwords.configure(
            settings.password_hash_time_cost, settings.password_hash_memory_kib, settings.password_hash_parallelism
        )
        self.db = Database(
            settings.effective_database_url,
            PoolLimits(settings.db_pool_size, settings.db_max_overflow, settings.db_pool_timeout_seconds),
        )
        self.redis = RedisLink(settings) if settings.redis_url else None
        self.bus: Bus = make_bus(self.redis, settings.redis_prefix)
        self.storage = make_storage(settings)
        self.containers = make_containers(settings)
        self.embeddings = make_embeddings(settings)
        self.moderation = make_moderation(settings)  # None: the moderation guardrail's own rules
        self.files = make_files(settings)  # OpenAI's file bytes; None offline
        self.keys = KeyStore.load_or_create(settings.var_dir)
        self.tokens = TokenService(
            self.keys,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            access_ttl=timedelta(minutes=settings.access_token_ttl_minutes),
            refresh_ttl=timedelta(minutes=settings.refresh_token_ttl_minutes),
        )
        self.limiter = make_limiter(self.redis, settings.redis_prefix)
        self.revocations = Revocations(self.db, self.bus)
        self.tenant_rows = TenantRows(self.db, settings.tenant_cache_seconds)
        self.mailer = make_mailer(settings, self.db)
        self.payments: PaymentProvider = make_payments(settings)
        self.llm: LLMProvider = make_llm(settings)
        self._tasks: set[asyncio.Task] = set()
        # Background workers live with their domain; the application adds them (`app.add_workers`).
        self.workers: list[Worker] = []
        self._runs: RunLauncher | None = None

    @property
    def runs(self) -> RunLauncher:
        if self._runs is None:
            raise RuntimeError("no run supervisor: the application adds one (agentdeck.app.add_workers)")
        return self._runs

    @runs.setter
    def runs(self, launcher: RunLauncher) -> None:
        self._runs = launcher

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Run `work` as a server task: it outlives the request that started it; shutdown
        cancels what is still running (each task records its own interruption)."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def start(self) -> None:
        await self.revocations.start()
        for worker in self.workers:
            await worker.start()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        for worker in reversed(self.workers):
            await worker.stop()
        await self.revocations.stop()
        await self.limiter.close()
        await self.bus.close()
        if self.redis is not None:
            await self.redis.close()
        await self.db.dispose()


@dataclass
class Context:
    """Built once per HTTP request, or once per WebSocket connection."""

    services: Services
    request: HTTPConnection | None = None
    response: Any = None
    principal: Principal | None = None
    connection_params: dict[str, Any] | None = None  # WebSocket connection_init payload
    auth_error: Exception | None = None  # why presented credentials were refused
    loaders: dict[str, Any] = field(default_factory=dict)
    tenant: TenantContext | None = None  # decided once, by `tenant_context()`

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def bus(self) -> Bus:
        return self.services.bus

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise self.auth_error or Unauthenticated("Not authenticated")
        return self.principal

    async def require_verified(self) -> Principal:
        """Tokens that say `email_verified: false` are refused; tokens without the claim pass."""
        principal = self.require_principal()
        if self.settings.require_email_verification and principal.claims.get("email_verified") is False:
            raise Forbidden(await self._unverified_message(principal))
        return principal

    async def _unverified_message(self, principal: Principal) -> str:
        """The refusal keeps the legacy message as its first sentence and says what to do.

        The gate itself reads only the token, as the legacy service did. The database is read
        here, on the refusal path alone (one primary-key lookup), because the usual cause is a
        token issued before its user followed the link: telling that user to verify again
        would send them round in circles, so they are told to refresh instead.
        """
        if await self._verified_since(principal):
            return f"{UNVERIFIED} Your address is verified, but this token was issued before that: {REFRESH_HINT}"
        return (
            f"{UNVERIFIED} Open the link mailed to you (POST /api/v1/auth/email/send sends another), "
            f"then {REFRESH_HINT} A token issued before verifying "
            "still says email_verified: false."
        )

    async def _verified_since(self, principal: Principal) -> bool:
        try:
            user_id = uuid.UUID(principal.subject.removeprefix("user:"))
        except ValueError:
            return False
        async with self.platform_session() as s:
            verified_at = await s.scalar(select(User.email_verified_at).where(User.id == user_id))
        return verified_at is not None

    async def tenant_context(self) -> TenantContext:
        """The tenant this request acts in and the caller's role there, decided once."""
        if self.tenant is None:
            principal = await self.require_verified()
            headers = self.request.headers if self.request is not None else {}
            self.tenant = await decide_tenant(
                self.services.tenant_rows, principal, headers.get("x-tenant-id"), headers.get("x-tenant-role")
            )
            bind_tenant(self.tenant.tenant_id)
        return self.tenant

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A database session of the caller's own, scoped to the tenant this request acts in
        (deciding it first if no permission has yet)."""
        tenant = await self.tenant_context()
        async with self.services.db.session(tenant.tenant_id) as s:
            yield s

    def platform_session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """An unscoped session for platform tables (identity, plans, status): never for the
        tenant-owned rows of a tenant operation, which take `session()`."""
        return self.services.db.platform_session()

    def detached(self) -> Context:
        """A context for work that outlives the request: same principal and tenant, no request."""
        return Context(services=self.services, principal=self.principal, tenant=self.tenant)


async def authenticate(services: Services, conn: HTTPConnection | None, token: str | None = None) -> Principal | None:
    """Resolve the caller from `Authorization: Bearer ...` (or a WebSocket init payload token).

    No credentials → None (anonymous). Credentials that do not verify → `Unauthenticated`.
    """
    if token is None and conn is not None:
        header = conn.headers.get("authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Not authenticated")
    if not token:
        return None
    secret = services.settings.bootstrap_secret
    if secret and hmac.compare_digest(token.encode(), secret.get_secret_value().encode()):
        return Principal(subject="bootstrap", scopes=frozenset({"platform:operator"}))
    try:
        claims = services.tokens.verify(token, token_use="access")
    except TokenInvalid as exc:
        service = _service_account_claims(services, token)
        if service is None:
            raise Unauthenticated(str(exc)) from None
        return await _service_account_principal(services, service)
    subject = str(claims.get("sub", ""))
    if not subject.startswith("user:"):
        raise Unauthenticated("Token subject must reference a user account.")
    try:
        sid = uuid.UUID(str(claims["sid"]))
        tenant_id = uuid.UUID(str(claims["tenant_id"])) if claims.get("tenant_id") else None
    except (KeyError, ValueError):
        raise Unauthenticated("Could not validate credentials") from None
    if not await services.revocations.is_live(sid):
        raise Unauthenticated("Session has been revoked.")
    scopes = set(str(claims.get("scope", "")).split()) | set(claims.get("scopes") or [])
    return Principal(
        subject=subject,
        scopes=frozenset(scopes),
        tenant_id=tenant_id,
        roles=tuple(claims.get("roles") or ()),
        claims=claims,
    )


def _service_account_claims(services: Services, token: str) -> dict[str, Any] | None:
    """Claims of a valid service-account refresh token, else None (user refresh tokens too:
    they stay refused on the API exactly as before)."""
    try:
        claims = services.tokens.verify(token, token_use="refresh")
    except TokenInvalid:
        return None
    return claims if str(claims.get("sub", "")).startswith("service-account:") else None


async def _service_account_principal(services: Services, claims: dict[str, Any]) -> Principal:
    """Unlike the legacy service, a service-account token authenticates with exactly its scopes.
    No `roles` claim: the tenant role is inferred from the scopes (`access.granted_role`)."""
    try:
        tenant_id = uuid.UUID(str(claims["tenant_id"])) if claims.get("tenant_id") else None
    except ValueError:
        raise Unauthenticated("Could not validate credentials") from None
    if not await services.revocations.is_token_live(str(claims["jti"])):
        raise Unauthenticated("Token has been revoked.")
    return Principal(
        subject=str(claims["sub"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        tenant_id=tenant_id,
        claims=claims,
    )
