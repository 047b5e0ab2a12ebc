"""`agentdeck serve | migrate | export-schema | schema-diff | export-openapi | create-tenant |
create-operator | ingest | outbox | incident`"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import typer

from agentdeck.settings import Settings

app = typer.Typer(no_args_is_help=True, help="agentdeck: multi-tenant AI-agent platform")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default AGENTDECK_HOST)"),
    port: int | None = typer.Option(None, help="Port (default AGENTDECK_PORT)"),
    workers: int | None = typer.Option(
        None, min=1, help="Worker processes (default AGENTDECK_WORKERS); more than one needs AGENTDECK_REDIS_URL"
    ),
) -> None:
    """Serve GraphQL at /graphql, REST at /api/v1, Swagger UI at /docs (printed once ready)."""
    from agentdeck.logs import configure_logging
    from agentdeck.serve import run

    settings = Settings()
    configure_logging(settings)
    workers = workers or settings.workers
    if workers > 1 and (problem := scale_out_problem(settings)):
        _fail(problem)
    if not run(settings, host or settings.host, port or settings.port, workers):
        raise typer.Exit(3)  # uvicorn's start-up failure code


def scale_out_problem(settings: Settings) -> str | None:
    """Why several worker processes would not behave as one server, or None. Without Redis each
    process keeps its own event bus, replayable streams, rate limits and revocation cache: a
    stream started on one worker could not be read on another, and every limit would be N times
    as generous."""
    if settings.redis_url:
        return None
    database = "SQLite and " if settings.is_sqlite else ""
    return (
        f"--workers > 1 needs AGENTDECK_REDIS_URL: with {database}no Redis, live streams, rate limits and "
        "session revocation would not be shared between the worker processes. Set AGENTDECK_REDIS_URL "
        "(and use PostgreSQL in production), or serve with one worker."
    )


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
    path.write_text(_served_sdl())
    typer.echo(f"wrote {path}")


def _served_sdl() -> str:
    """The SDL of the schema this code serves, exactly as export-schema writes it."""
    from agentdeck.schema import build_schema

    return build_schema().as_str() + "\n"


@app.command("schema-diff")
def schema_diff(
    old: str = typer.Argument(
        "schema.graphql",
        help="The schema clients were written against: an SDL file, or REV:path read with git show "
        "(e.g. origin/main:schema.graphql)",
    ),
    new: str | None = typer.Argument(
        None, help="The schema to check, an SDL file or REV:path. Default: the schema this code serves"
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of lines"),
) -> None:
    """Report what changed from OLD to NEW that breaks clients (exit 1) or may change what they see
    (dangerous, exit 0), as graphql-core judges it. Exit 2: a schema could not be read."""
    from agentdeck.schema_diff import SchemaSourceError, read_sdl, schema_changes

    new_name = new or "the served schema"
    try:
        changes = schema_changes(read_sdl(old), read_sdl(new) if new else _served_sdl(), old, new_name)
    except SchemaSourceError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    breaking = sum(c.criticality == "BREAKING" for c in changes)
    if as_json:
        typer.echo(json.dumps({"old": old, "new": new_name, "changes": [c.as_dict() for c in changes]}, indent=2))
    else:
        for change in changes:
            typer.echo(change.line())
        typer.echo(f"{breaking} breaking, {len(changes) - breaking} dangerous: {old} -> {new_name}")
    if breaking:
        raise typer.Exit(1)


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


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _user_exists(settings: Settings, email: str) -> bool:
    import asyncio

    from sqlalchemy import select

    from agentdeck.db.models import User
    from agentdeck.domain.identity import admin

    db = _database(settings)

    async def look() -> bool:
        try:
            async with db.platform_session() as s:
                return await s.scalar(select(User.id).where(User.email == admin.normalise_email(email))) is not None
        finally:
            await db.dispose()

    return asyncio.run(look())


def _password_for(email: str, given: str | None) -> str | None:
    """`--password` when given (scripts). Otherwise, for an email with no account yet and someone
    at a terminal, ask: hidden, typed twice, checked before the confirmation. Existing users
    keep their password, so nobody is asked for one; without a terminal the command then says
    that a new user needs `--password`."""
    import sys

    from agentdeck.auth.passwords import password_problems
    from agentdeck.errors import DomainError

    if given is not None or not sys.stdin.isatty():
        return given
    settings = Settings()
    try:
        if _user_exists(settings, email):
            return None
    except DomainError:
        return None  # a malformed email: the command itself says what is wrong with it

    def strong(value: str) -> str:
        problems = password_problems(value, email=email.strip().lower(), min_length=settings.password_min_length)
        if problems:
            typer.echo("Password refused: " + " ".join(problems), err=True)
            raise typer.BadParameter(problems[0])  # typer asks again
        return value

    return typer.prompt(
        f"Password for the new user {email}", hide_input=True, confirmation_prompt=True, value_proc=strong
    )


PASSWORD_HELP = "Password of a new user; omitted: asked for at the terminal (hidden, twice)"


@app.command("create-tenant")
def create_tenant(
    name: str = typer.Argument(..., help="Tenant name (2-128 characters)"),
    owner_email: str = typer.Option(..., "--owner-email", help="Owner's email; an existing user is reused"),
    password: str | None = typer.Option(None, "--password", help=PASSWORD_HELP),
) -> None:
    """Create a tenant with its owner."""
    from agentdeck.domain.identity import admin

    password = _password_for(owner_email, password)

    async def work(s, settings: Settings) -> str:
        user, created = await admin.ensure_user(s, owner_email, password, settings.password_min_length)
        tenant, _ = await admin.add_tenant(s, name, user)
        return f"tenant_id={tenant.id} slug={tenant.slug} user_id={user.id} user={'created' if created else 'existing'}"

    _administer(work)


@app.command("create-operator")
def create_operator(
    email: str = typer.Argument(..., help="Operator's email; an existing user is promoted"),
    password: str | None = typer.Option(None, "--password", help=PASSWORD_HELP),
) -> None:
    """Create or promote a platform operator (invites, signup approvals)."""
    from agentdeck.domain.identity import admin

    password = _password_for(email, password)

    async def work(s, settings: Settings) -> str:
        user, tenant_id, created = await admin.make_operator(s, email, password, settings.password_min_length)
        return f"user_id={user.id} tenant_id={tenant_id} user={'created' if created else 'promoted'}"

    _administer(work)


@app.command("outbox")
def outbox(
    to: str | None = typer.Option(None, "--to", help="Only mail to this address"),
    limit: int = typer.Option(5, "--limit", min=1, max=100, help="How many messages, newest first"),
    link: bool = typer.Option(False, "--link", help="Print only the first link of the newest message (scripts)"),
) -> None:
    """Show platform mail from the outbox, newest first: with no AGENTDECK_SMTP_URL (the default)
    every message is kept there, so a verification link can be followed without a mail server."""
    import asyncio

    from agentdeck.providers.mail import links_in
    from agentdeck.providers.mail import outbox as read_outbox

    settings = Settings()
    db = _database(settings)

    async def read():
        try:
            return await read_outbox(db, to, 1 if link else limit)
        finally:
            await db.dispose()

    messages = asyncio.run(read())
    if link:
        found = links_in(messages[0].body_text) if messages else []
        if not found:
            _fail(f"No mail with a link{f' to {to}' if to else ''} in the outbox.")
        typer.echo(found[0])
        return
    for m in messages:
        typer.echo(
            f"--- {m.created_at:%Y-%m-%d %H:%M:%S} UTC  {m.kind}  ({m.status})\n"
            f"To: {m.to_address}\nSubject: {m.subject}\n\n{m.body_text.rstrip()}\n"
        )
    if not messages:
        typer.echo(f"No mail{f' to {to}' if to else ''} in the outbox.")


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
    from agentdeck.domain.status import subscriptions as status_subscriptions
    from agentdeck.errors import DomainError

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
            return f"incident_id={incident.id} state={incident.state} severity={incident.severity}"
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
    from agentdeck.domain.status import page as status

    _choice(severity, status.SEVERITIES)
    _choice(state, status.STATES)
    _incident(lambda ctx: status.open_incident(ctx, service, impact, severity, state))


@incident_app.command("update")
def incident_update(
    incident_id: str = typer.Argument(...),
    impact: str | None = typer.Option(None),
    state: str | None = typer.Option(None, help="investigating | identified | monitoring | resolved"),
    severity: str | None = typer.Option(None, help="major | minor | maintenance"),
) -> None:
    """Update an incident."""
    from agentdeck.domain.status import page as status

    _choice(state, status.STATES)
    _choice(severity, status.SEVERITIES)
    _incident(lambda ctx: status.update_incident(ctx, _uuid(incident_id), impact, state, severity))


@incident_app.command("resolve")
def incident_resolve(incident_id: str = typer.Argument(...), impact: str | None = typer.Option(None)) -> None:
    """Resolve an incident."""
    from agentdeck.domain.status import page as status

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
