"""`agentdeck ingest FOLDER --tenant ... --store ...`: every supported file of a folder into a
vector store, with a `rich` progress bar (bytes read) and a summary table."""

from __future__ import annotations

import asyncio
import mimetypes
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from agentdeck.context import Context, Principal, Services
from agentdeck.resolvers import ingest, storage, vector_stores
from agentdeck.settings import Settings

SUFFIXES = {**ingest.EXTENSIONS}


@dataclass
class Outcome:
    path: Path
    status: str
    text_bytes: int
    error: str | None


def files_in(folder: Path, recursive: bool) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in SUFFIXES)


def mime_of(path: Path) -> str:
    return SUFFIXES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "text/plain"


async def ingest_folder(settings: Settings, tenant_id: uuid.UUID, store: str, folder: Path,
                        recursive: bool, console: Console) -> list[Outcome]:
    services = Services(settings)
    # The CLI acts as the tenant's owner: whoever runs it already holds the database.
    ctx = Context(services=services, principal=Principal("cli", tenant_id=tenant_id, roles=("owner",)))
    try:
        target = await _store(ctx, store)
        seen = await _already_ingested(ctx, target.id)
        paths = [p for p in files_in(folder, recursive)
                 if (str(p.relative_to(folder)), p.stat().st_size) not in seen]
        console.print(f"vector store [bold]{target.name}[/] ({target.id}): {len(paths)} files")
        outcomes: list[Outcome] = []
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn())
        started = time.perf_counter()
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("ingesting", total=sum(p.stat().st_size for p in paths))
            for path in paths:
                progress.update(task, description=path.name[:40])
                outcomes.append(await _one(ctx, target.id, folder, path))
                progress.advance(task, path.stat().st_size)
        _summary(console, outcomes, time.perf_counter() - started)
        return outcomes
    finally:
        await services.close()


async def _already_ingested(ctx: Context, store_id: uuid.UUID) -> set[tuple[str, int | None]]:
    """(relative path, size) of files a previous run completed: a re-run only adds what is new."""
    seen, offset = set(), 0
    while True:
        page = await vector_stores.list_files(ctx, store_id, "completed", 100, offset)
        seen |= {(f.attributes.get("path"), f.size_bytes) for f in page.items}
        offset += 100
        if offset >= page.total:
            return seen


async def _store(ctx: Context, store: str):
    try:
        return await vector_stores.get_store(ctx, uuid.UUID(store))
    except ValueError:
        pass
    found = await vector_stores.store_named(ctx, store)
    return found or await vector_stores.create_store(ctx, store, None, None, None)


async def _one(ctx: Context, store_id: uuid.UUID, folder: Path, path: Path) -> Outcome:
    from agentdeck.errors import DomainError

    try:
        data = await asyncio.to_thread(path.read_bytes)
        obj = await storage.store_bytes(ctx, str(path.relative_to(folder)), mime_of(path), data)
        row = await vector_stores.attach_object(ctx, store_id, obj, {"path": str(path.relative_to(folder))},
                                                None, True)
        return Outcome(path, row.status, row.usage_bytes, row.last_error)
    except DomainError as exc:
        return Outcome(path, "failed", 0, exc.message)


def _summary(console: Console, outcomes: list[Outcome], seconds: float) -> None:
    table = Table("file", "status", "text bytes", "error")
    for o in outcomes:
        table.add_row(o.path.name, o.status, str(o.text_bytes), o.error or "")
    console.print(table)
    text = sum(o.text_bytes for o in outcomes)
    ok = sum(o.status == "completed" for o in outcomes)
    console.print(f"{ok}/{len(outcomes)} completed, {text / 1e6:.2f} MB of text in {seconds:.2f} s "
                  f"({text / 1e6 / max(seconds, 1e-9):.2f} MB/s)")
