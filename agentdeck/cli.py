"""`agentdeck serve | migrate | export-schema | export-openapi`"""

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


if __name__ == "__main__":
    app()
