"""`agentdeck serve | migrate | export-schema | export-openapi | create-tenant | create-operator`"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from agentdeck.settings import Settings

app = typer.Typer(no_args_is_help=True, help="agentdeck: multi-tenant AI-agent platform")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default AGENTDECK_HOST)"),
    port: int | None = typer.Option(None, help="Port (default AGENTDECK_PORT)"),
    workers: int | None = typer.Option(None, min=1, help="Worker processes (default AGENTDECK_WORKERS); "
                                                         "more than one needs AGENTDECK_REDIS_URL"),
) -> None:
    """Serve GraphQL at /graphql, REST at /api/v1, Swagger UI at /docs."""
    import os

    import uvicorn

    from agentdeck.logs import configure_logging

    settings = Settings()
    configure_logging(settings)
    workers = workers or settings.workers
    if workers > 1:
        problem = scale_out_problem(settings)
        if problem:
            _fail(problem)
        if settings.should_auto_migrate:
            # Once, here, rather than racing in every worker's start-up.
            from agentdeck.db.migrate import upgrade

            upgrade(settings.effective_database_url)
            os.environ["AGENTDECK_AUTO_MIGRATE"] = "false"  # the workers inherit the environment
    uvicorn.run(
        "agentdeck.app:app_from_environment",
        factory=True,  # each worker process builds its own app (and its own pools and tasks)
        workers=workers,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        log_config=None,  # configured above (and by each worker): one format for uvicorn's lines and ours
        access_log=False,  # RequestMiddleware writes the access line (with correlation id, tenant)
        loop="asyncio",  # uvloop starved connections under saturation (PERFORMANCE.md)
        ws="websockets-sansio",
        # Client address and scheme from X-Forwarded-* only when sent by a trusted proxy.
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        # On SIGTERM: stop accepting, let requests in flight finish for this long, then cancel.
        timeout_graceful_shutdown=settings.graceful_timeout_seconds,
    )


def scale_out_problem(settings: Settings) -> str | None:
    """Why several worker processes would not behave as one server, or None. Without Redis each
    process keeps its own event bus, replayable streams, rate limits and revocation cache: a
    stream started on one worker could not be read on another, and every limit would be N times
    as generous."""
    if settings.redis_url:
        return None
    database = "SQLite and " if settings.is_sqlite else ""
    return (f"--workers > 1 needs AGENTDECK_REDIS_URL: with {database}no Redis, live streams, rate limits and "
            "session revocation would not be shared between the worker processes. Set AGENTDECK_REDIS_URL "
            "(and use PostgreSQL in production), or serve with one worker.")


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    from agentdeck.db.migrate import upgrade

    settings = Settings()
    upgrade(settings.effective_database_url)
    typer.echo(f"migrated {settings.effective_database_url.split('@')[-1]}")


@app.command("export-schema")
def export_schema(path: Path = typer.Argument(Path("schema.graphql"))) -> None:
    """Write the GraphQL SDL (committed; a test fails when it is stale)."""
    from agentdeck.schema import build_schema

    path.write_text(build_schema().as_str() + "\n")
    typer.echo(f"wrote {path}")


@app.command("export-openapi")
def export_openapi(path: Path = typer.Argument(Path("openapi.json"))) -> None:
    """Write the REST layer's OpenAPI document (committed; a test fails when it is stale)."""
    from agentdeck.rest_compat.openapi import openapi_document

    path.write_text(json.dumps(openapi_document(), indent=2) + "\n")
    typer.echo(f"wrote {path}")


def _database(settings: Settings):
    """The database the server uses, migrated first when the server would migrate it too."""
    from agentdeck.db.migrate import upgrade
    from agentdeck.db.session import Database

    if settings.should_auto_migrate:
        upgrade(settings.effective_database_url)
    return Database(settings.effective_database_url)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


@app.command("create-tenant")
def create_tenant(
    name: str = typer.Argument(..., help="Tenant name (2-128 characters)"),
    owner_email: str = typer.Option(..., "--owner-email", help="Owner's email; an existing user is reused"),
    password: str | None = typer.Option(None, "--password", help="Owner's password (required for a new user)"),
) -> None:
    """Create a tenant with its owner."""
    from agentdeck.resolvers import admin

    async def work(s, settings: Settings) -> str:
        user, created = await admin.ensure_user(s, owner_email, password, settings.password_min_length)
        tenant, _ = await admin.add_tenant(s, name, user)
        return f"tenant_id={tenant.id} slug={tenant.slug} user_id={user.id} user={'created' if created else 'existing'}"

    _administer(work)


@app.command("create-operator")
def create_operator(
    email: str = typer.Argument(..., help="Operator's email; an existing user is promoted"),
    password: str | None = typer.Option(None, "--password", help="Password (required for a new user)"),
) -> None:
    """Create or promote a platform operator (invites, signup approvals)."""
    from agentdeck.resolvers import admin

    async def work(s, settings: Settings) -> str:
        user, tenant_id, created = await admin.make_operator(s, email, password, settings.password_min_length)
        return f"user_id={user.id} tenant_id={tenant_id} user={'created' if created else 'promoted'}"

    _administer(work)


@app.command("ingest")
def ingest(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="Folder of documents"),
    tenant: str = typer.Option(..., "--tenant", help="Tenant id"),
    store: str = typer.Option(..., "--store", help="Vector store id, or a name (created when missing)"),
    recursive: bool = typer.Option(True, "--recursive/--flat", help="Include sub-folders"),
) -> None:
    """Ingest every supported file of a folder into a vector store, showing progress."""
    import asyncio
    import uuid

    from rich.console import Console

    from agentdeck.errors import DomainError
    from agentdeck.ingest_folder import ingest_folder

    settings = Settings()
    if settings.should_auto_migrate:  # as the server would, before the event loop starts
        from agentdeck.db.migrate import upgrade

        upgrade(settings.effective_database_url)
    try:
        tenant_id = uuid.UUID(tenant)
    except ValueError:
        _fail("--tenant must be a tenant id (UUID)")
        return
    try:
        outcomes = asyncio.run(ingest_folder(settings, tenant_id, store, folder, recursive, Console()))
    except DomainError as exc:
        _fail(exc.message)
        return
    if any(o.status != "completed" for o in outcomes):
        raise typer.Exit(2)


def _administer(work) -> None:
    """Run `work(session, settings)` in one transaction; a domain error exits 1 with its message."""
    import asyncio

    from agentdeck.errors import DomainError

    settings = Settings()
    db = _database(settings)  # migrates synchronously: before the event loop starts

    async def run() -> str:
        try:
            async with db.platform_session() as s:
                out = await work(s, settings)
                await s.commit()
                return out
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except DomainError as exc:
        _fail(exc.message)


incident_app = typer.Typer(help="Open, update and resolve status-page incidents (notifies subscribers).")
app.add_typer(incident_app, name="incident")


def _incident(call) -> None:
    """Run `call(ctx)` as platform automation, then wait for the alerts it sent."""
    import asyncio

    from agentdeck.context import Context, Principal, Services
    from agentdeck.errors import DomainError
    from agentdeck.resolvers import status_subscriptions

    settings = Settings()
    if settings.should_auto_migrate:  # as the server would, before the event loop starts
        from agentdeck.db.migrate import upgrade

        upgrade(settings.effective_database_url)

    async def run() -> str:
        services = Services(settings)
        ctx = Context(services=services, principal=Principal("cli", frozenset({"platform:operator"})))
        try:
            incident = await call(ctx)
            await status_subscriptions.drain()
            return f"incident_id={incident.incident_id} state={incident.state} severity={incident.severity}"
        finally:
            await services.close()

    try:
        typer.echo(asyncio.run(run()))
    except DomainError as exc:
        _fail(exc.message)


@incident_app.command("open")
def incident_open(
    service: str = typer.Argument(..., help="Affected service, e.g. Database"),
    impact: str = typer.Argument(..., help="What users see"),
    severity: str = typer.Option("major", help="major | minor | maintenance"),
    state: str = typer.Option("investigating", help="investigating | identified | monitoring | resolved"),
) -> None:
    """Open an incident."""
    from agentdeck.resolvers import status

    _choice(severity, status.SEVERITIES), _choice(state, status.STATES)
    _incident(lambda ctx: status.open_incident(ctx, service, impact, severity, state))


@incident_app.command("update")
def incident_update(
    incident_id: str = typer.Argument(...),
    impact: str | None = typer.Option(None),
    state: str | None = typer.Option(None, help="investigating | identified | monitoring | resolved"),
    severity: str | None = typer.Option(None, help="major | minor | maintenance"),
) -> None:
    """Update an incident."""
    from agentdeck.resolvers import status

    _choice(state, status.STATES), _choice(severity, status.SEVERITIES)
    _incident(lambda ctx: status.update_incident(ctx, _uuid(incident_id), impact, state, severity))


@incident_app.command("resolve")
def incident_resolve(incident_id: str = typer.Argument(...), impact: str | None = typer.Option(None)) -> None:
    """Resolve an incident."""
    from agentdeck.resolvers import status

    _incident(lambda ctx: status.resolve_incident(ctx, _uuid(incident_id), impact))


def _choice(value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        _fail(f"{value!r} is not one of {', '.join(allowed)}")


def _uuid(value: str):
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        _fail(f"{value!r} is not an incident id")


if __name__ == "__main__":
    app()
