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
) -> None:
    """Serve GraphQL at /graphql, REST at /api/v1, Swagger UI at /docs."""
    import uvicorn

    from agentdeck.app import create_app

    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
        loop="asyncio",  # uvloop starved connections under saturation (PERFORMANCE.md)
        ws="websockets-sansio",
        proxy_headers=False,
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


def _administer(work) -> None:
    """Run `work(session, settings)` in one transaction; a domain error exits 1 with its message."""
    import asyncio

    from agentdeck.errors import DomainError

    settings = Settings()
    db = _database(settings)  # migrates synchronously: before the event loop starts

    async def run() -> str:
        try:
            async with db.session() as s:
                out = await work(s, settings)
                await s.commit()
                return out
        finally:
            await db.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except DomainError as exc:
        _fail(exc.message)


if __name__ == "__main__":
    app()
