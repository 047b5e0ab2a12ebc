"""Every knob of the platform, read from `AGENTDECK_*` environment variables.

Each setting has a safe embedded default so that `make serve` works on a fresh machine with
nothing else running: SQLite under `var/`, in-process events, the offline model, local billing.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # populate_by_name: a field read from a non-prefixed variable too (otel_endpoint) can still be
    # passed by its name, Settings(otel_endpoint=...).
    model_config = SettingsConfigDict(env_prefix="AGENTDECK_", env_file=".env", extra="ignore", populate_by_name=True)

    # Where mutable state (SQLite file, signing keys, local storage) lives.
    var_dir: Path = Path("var")

    database_url: str = ""  # empty = sqlite+aiosqlite:///<var_dir>/agentdeck.db
    auto_migrate: bool | None = None  # None = migrate on start for SQLite only
    redis_url: str | None = None  # unset = in-process bus, limits and revocation cache
    redis_prefix: str = "agentdeck:"  # namespace for every key and channel in Redis
    # Redis connections (providers/redis_link.py): commands time out after `socket_timeout`;
    # blocking stream reads use a pool of their own; a request waits `pool_timeout` for a free
    # connection before Redis counts as failed for it (degraded mode, not an error).
    redis_socket_timeout_seconds: float = 5.0
    redis_connect_timeout_seconds: float = 2.0
    redis_health_check_seconds: int = 15
    redis_max_connections: int = 64
    redis_max_blocking_connections: int = 256
    redis_pool_timeout_seconds: float = 2.0

    # Connections per server process (PostgreSQL): kept, opened beyond that under load, and how
    # long a request waits for one before it is answered 503 (server busy) with Retry-After.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)

    # Back-pressure per server process (agentdeck/backpressure.py): requests being served at
    # once, and open streams (SSE responses, WebSocket connections) at once; beyond either, a
    # request is answered 503 with Retry-After at once instead of queueing. Health checks and
    # /metrics are never refused.
    max_requests_in_flight: int = Field(default=32, ge=1)
    max_streams: int = Field(default=32, ge=1)
    # `agentdeck serve`: worker processes (uvicorn's; more than one needs Redis), and how long a
    # stopping server (SIGTERM) lets the requests in flight finish before cancelling them.
    workers: int = Field(default=1, ge=1)
    graceful_timeout_seconds: float = Field(default=30.0, gt=0)
    # How long an idle keep-alive connection stays open: longer than the idle timeout of what
    # sits in front (60 s on common load balancers) and of pooling clients. A server that closes
    # first races their next request on that connection, which then gets a reset (a 502 from a
    # proxy, a ReadError from a client; uvicorn's own default is 5 s).
    keep_alive_seconds: float = Field(default=90.0, gt=0)

    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"  # agentdeck.logs: one line per record either way
    # `/metrics` is public when unset; when set it needs `Authorization: Bearer <token>`.
    metrics_token: SecretStr | None = None
    # Traces (agentdeck/tracing.py): the OTLP/HTTP collector's base URL (spans go to
    # <endpoint>/v1/traces), e.g. http://127.0.0.1:4318. Empty = tracing off, and agentdeck imports
    # no OpenTelemetry module. The standard OTEL_EXPORTER_OTLP_ENDPOINT is read when ours is unset.
    otel_endpoint: str = Field(
        default="", validation_alias=AliasChoices("AGENTDECK_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_service_name: str = "agentdeck"  # the `service.name` every span carries

    smtp_url: str | None = None  # e.g. smtp://user:pass@host:587; unset = outbox table + log
    mail_from: str = "agentdeck <no-reply@agentdeck.local>"

    # Platform automation's credential: `Authorization: Bearer <secret>` acts as a platform
    # operator (publishing notices, minting service-account tokens). Unset = disabled.
    bootstrap_secret: SecretStr | None = None

    signup_policy: Literal["public", "invite_only", "approval"] = "public"
    require_email_verification: bool = True

    openai_api_key: str | None = None  # unset = the offline model
    openai_base_url: str | None = None

    enable_billing: bool = True
    stripe_secret_key: str | None = None  # unset = the local billing provider
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_tolerance_seconds: int = 300  # the SDK's default; older signatures are refused
    enable_billing_stream: bool = True  # GET /billing/stream and the billingEvents subscription
    billing_stream_per_minute: int = 20  # stream connections opened per tenant per minute
    billing_stream_concurrency: int = 3  # open streams per tenant (per server process)
    enable_usage_guardrails: bool = True  # plan hard limits enforced by `check_usage_limit`

    storage_url: str | None = None  # unset = local disk under <var_dir>/storage; s3://bucket

    # Bounds on every input.
    max_body_bytes: int = 1_048_576
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    # A parse-time backstop on a document's size; the cost below is the guard on what it asks.
    graphql_max_tokens: int = 2_000
    graphql_max_fields: int = 300  # selections per document, counted before validation
    # Pairs of fields sharing a response path (`{ a a }`: one), which validation compares one by
    # one: counted before validation, so that what is accepted validates in a few ms (the REST
    # layer's largest stored operation, a stream's event union, has 1,100).
    graphql_max_field_pairs: int = 1_200
    # Query cost (schema/cost.py): the most one operation may cost, checked before it executes,
    # and the cost each tenant (anonymous callers: each client address) may spend per minute,
    # shared through Redis when configured (0 = no budget per minute).
    graphql_max_cost: int = Field(default=2_000, ge=1)
    graphql_tenant_cost_per_minute: int = Field(default=60_000, ge=0)
    # Automatic persisted queries (schema/persisted.py): documents each process keeps (an LRU),
    # the largest document that may be persisted (so a process keeps at most size x bytes), and
    # how long Redis keeps one for every process.
    apq_cache_size: int = Field(default=2_048, ge=1)
    apq_max_query_bytes: int = Field(default=16_384, ge=1)
    apq_ttl_hours: int = Field(default=24, ge=1)
    graphiql: bool = True

    cors_origins: list[str] = Field(default_factory=lambda: ["http://localhost:3000", "http://localhost:8000"])
    # Behind a TLS-terminating proxy: the proxy addresses whose X-Forwarded-For/-Proto uvicorn
    # believes (comma-separated, "*" = any). Unset = the headers are ignored, so a client cannot
    # claim another address (rate limits) or https (HSTS) for itself.
    forwarded_allow_ips: str | None = None
    # Strict-Transport-Security max-age on responses to https requests; 0 = not sent.
    hsts_max_age_seconds: int = 31_536_000

    # JWTs (agentdeck.auth.tokens). Signing keys live under <var_dir>/keys/.
    auth_issuer: str = "agentdeck"  # `iss` of every token, checked on verification
    # Accepted/issued `aud`; the legacy default also listed analytics-service, billing-worker,
    # support-console and synthetic-monitor.
    auth_audience: list[str] = Field(default_factory=lambda: ["agent-api"])
    access_token_ttl_minutes: int = 30
    # How long a process trusts a tenant row it read (auth/tenancy.TenantRows): a tenant's status
    # set in the database is seen within this many seconds; 0 reads it on every request.
    tenant_cache_seconds: float = Field(default=5.0, ge=0)
    refresh_token_ttl_minutes: int = 43_200  # 30 days

    password_min_length: int = 14
    # argon2id's cost per password hash (agentdeck.auth.passwords): RFC 9106's low-memory
    # profile by default. Lowering it below OWASP's minimum (t=2, 19 MiB, p=1) is refused.
    # Hashes made with other parameters still verify and are re-hashed at the next sign-in.
    password_hash_time_cost: int = Field(default=3, ge=2)
    password_hash_memory_kib: int = Field(default=65_536, ge=19_456)
    password_hash_parallelism: int = Field(default=4, ge=1)
    # Sign-in throttling (domain/identity/login_throttle.py); no account is ever locked. One client
    # (address) failing for one account: its `free`-th consecutive failure makes it wait `base`
    # seconds, each further one twice as long, at most `max`; failures are remembered for a
    # window of `window` seconds, a success forgets them.
    login_backoff_free_failures: int = 3
    login_backoff_base_seconds: int = 1
    login_backoff_max_seconds: int = 900
    login_backoff_window_seconds: int = 86_400
    # Failures from one address across accounts (the legacy 50 per 10 min).
    login_ip_max_attempts: int = 50
    login_ip_window_seconds: int = 600
    # Failures for one account across every client: a generous ceiling against distributed
    # guessing, answered 429 until the window ends.
    login_account_max_failures: int = 100
    login_account_window_seconds: int = 900
    # Multi-factor authentication (domain/identity/mfa.py). TOTP secrets are encrypted at rest
    # (AES-256-GCM) and recovery codes hashed with a pepper, both under a key derived from
    # `mfa_encryption_key`; unset, a random key is made once under <var_dir>/keys/mfa.key (every
    # process sharing the var_dir agrees on it; servers on several hosts must set this one).
    # A sign-in of a user with MFA on answers a challenge valid `mfa_challenge_ttl_minutes`.
    mfa_encryption_key: SecretStr | None = None
    mfa_challenge_ttl_minutes: int = Field(default=5, ge=1, le=60)

    # Object storage, vector stores, containers (NOTES §8). Legacy limits: 512 MB, 900 s URLs.
    storage_max_file_mb: int = 512
    storage_signed_url_ttl_seconds: int = 900
    storage_bucket_prefix: str = "agent-data"  # local disk: "<prefix>-<tenant hex>" per tenant
    storage_s3_region: str = "us-east-1"
    storage_s3_endpoint_url: str | None = None  # MinIO or any S3-compatible server
    storage_s3_access_key_id: str | None = None  # unset = the default AWS credential chain
    storage_s3_secret_access_key: SecretStr | None = None
    vector_store_max_per_tenant: int = 100
    vector_store_max_files_per_store: int = 500
    container_max_per_tenant: int = 20
    # With OpenAI configured, vector-store search ranks by embeddings instead of BM25.
    embedding_model: str = "text-embedding-3-small"
    embedding_dimensions: int = 256

    # Status page (domain/status/page.py): how often the dependency probes run, and whether
    # webhook subscriptions may target loopback over plain http (tests only: a local receiver).
    status_probe_interval_seconds: float = 30.0
    status_page_title: str = "agentdeck Platform Status"
    status_webhook_allow_loopback: bool = False
    # Contact form (domain/status/contact.py): where submissions are mailed.
    contact_recipient: str = "support@agentdeck.local"
    # Client log ingestion (domain/identity/client_logs.py): the largest submission (its entries
    # as JSON) and the entries one user may submit per minute.
    client_log_max_bytes: int = Field(default=16_384, ge=256)
    client_logs_per_minute: int = Field(default=60, ge=1)

    # Language model (providers/llm.py). With `openai_api_key` set: "responses" = the Responses
    # API, "chat" = Chat Completions (most OpenAI-compatible servers); the SDK retries 429/5xx
    # `openai_max_retries` times. Without a key the offline model streams a word every
    # `offline_model_delay_ms` (so `make serve` visibly streams; tests use 0).
    openai_api_mode: Literal["responses", "chat"] = "responses"
    openai_timeout_seconds: float = 60
    openai_max_retries: int = 2
    offline_model_delay_ms: int = 15
    default_model: str = "gpt-4.1-mini"

    # Chat turns and workflow runs (domain/agents/runs.py): each process touches its running ones this
    # often; a run whose heartbeat is three intervals old (its process is gone) is marked failed.
    run_heartbeat_seconds: float = 10.0

    # Idempotency keys (domain/common/idempotency.py): how long a key's first result is kept for its
    # retries; past that, the key is a new key.
    idempotency_ttl_hours: int = Field(default=24, ge=1)

    # The activity feed (domain/activity): events older than this are deleted (in bounded batches,
    # with the status monitor's rounds), with their read receipts.
    activity_retention_days: int = Field(default=90, ge=1)

    # A stream reader gives up when its stream has been silent this long (the turn goes on).
    stream_idle_timeout_seconds: float = 300.0
    # Per tenant+user chat limits (legacy defaults): turns per minute, streams per minute, and
    # streams open at once.
    chat_per_minute: int = 60
    chat_stream_per_minute: int = 30
    chat_stream_concurrency: int = 5

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'agentdeck.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def tracing(self) -> bool:
        return bool(self.otel_endpoint.strip())

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate
