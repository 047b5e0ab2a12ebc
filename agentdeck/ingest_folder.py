"""`agentdeck ingest FOLDER --tenant ... --store ...`: every supported file of a folder into a
vector store, with a `rich` progress bar (bytes read) and a summary that accounts for every file:
ingested now (or failed, with why), already ingested by a previous run, or skipped, with why."""

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
from agentdeck.domain.files import ingest, storage, vector_stores
from agentdeck.settings import Settings

SUFFIXES = {**ingest.EXTENSIONS}
HIDDEN = "hidden (a name starting with '.')"
EXAMPLES = 3  # skipped files named per reason; the rest are counted


@dataclass
class Outcome:
    path: Path
    status: str
    text_bytes: int
    error: str | None


@dataclass
class Plan:
    """A folder sorted out before anything is read: what to ingest, and what not and why."""

    new: list[Path]
    already: list[Path]  # completed by a previous run (same relative path and size)
    skipped: dict[str, list[Path]]  # reason -> files


def skip_reason(relative: Path) -> str | None:
    """Why a file is not ingested, or None. Hidden files (.git, .venv, editor files) are never
    wanted; other types are named so the user knows what was left out."""
    if any(part.startswith(".") for part in relative.parts):
        return HIDDEN
    if relative.suffix.lower() not in SUFFIXES:
        kind = relative.suffix.lower() or "no file extension"
        return f"unsupported type ({kind})"
    return None


def plan(folder: Path, recursive: bool, seen: set[tuple[str, int | None]]) -> Plan:
    pattern = "**/*" if recursive else "*"
    out = Plan([], [], {})
    for path in sorted(p for p in folder.glob(pattern) if p.is_file()):
        relative = path.relative_to(folder)
        reason = skip_reason(relative)
        if reason is not None:
            out.skipped.setdefault(reason, []).append(path)
        elif (str(relative), path.stat().st_size) in seen:
            out.already.append(path)
        else:
            out.new.append(path)
    return out


def mime_of(path: Path) -> str:
    return SUFFIXES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "text/plain"


async def ingest_folder(
    settings: Settings, tenant_id: uuid.UUID, store: str, folder: Path, recursive: bool, console: Console
) -> list[Outcome]:
    services = Services(settings)
    # The CLI acts as the tenant's owner: whoever runs it already holds the database.
    ctx = Context(services=services, principal=Principal("cli", tenant_id=tenant_id, roles=("owner",)))
    try:
        target = await _store(ctx, store)
        todo = plan(folder, recursive, await _already_ingested(ctx, target.id))
        skipped = sum(len(files) for files in todo.skipped.values())
        console.print(
            f"vector store [bold]{target.name}[/] ({target.id}): {len(todo.new)} new files to ingest, "
            f"{len(todo.already)} already ingested, {skipped} skipped"
        )
        outcomes: list[Outcome] = []
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        started = time.perf_counter()
        with Progress(*columns, console=console, disable=not todo.new) as progress:
            task = progress.add_task("ingesting", total=sum(p.stat().st_size for p in todo.new))
            for path in todo.new:
                progress.update(task, description=path.name[:40])
                outcomes.append(await _one(ctx, target.id, folder, path))
                progress.advance(task, path.stat().st_size)
        _summary(console, folder, todo, outcomes, time.perf_counter() - started)
        return outcomes
    finally:
        await services.close()


async def _already_ingested(ctx: Context, store_id: uuid.UUID) -> set[tuple[str, int | None]]:
    """(relative path, size) of files a previous run completed: a re-run only adds what is new."""
    seen: set[tuple[str, int | None]] = set()
    offset = 0
    while True:
        page = await vector_stores.list_files(ctx, store_id, "completed", 100, offset)
        for f in page.items:
            path = f.attributes.get("path")
            if isinstance(path, str):  # a file attached some other way may have none
                seen.add((path, f.size_bytes))
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
        row = await vector_stores.attach_object(ctx, store_id, obj, {"path": str(path.relative_to(folder))}, None, True)
        return Outcome(path, row.status, row.usage_bytes, row.last_error)
    except DomainError as exc:
        return Outcome(path, "failed", 0, exc.message)


def _summary(console: Console, folder: Path, todo: Plan, outcomes: list[Outcome], seconds: float) -> None:
    if outcomes:
        table = Table("file", "status", "text bytes", "error")
        for o in outcomes:
            table.add_row(str(o.path.relative_to(folder)), o.status, str(o.text_bytes), o.error or "")
        console.print(table)
    if todo.skipped:
        table = Table("skipped", "files", "reason")
        for reason, files in todo.skipped.items():
            names = ", ".join(str(p.relative_to(folder)) for p in files[:EXAMPLES])
            more = f" and {len(files) - EXAMPLES} more" if len(files) > EXAMPLES else ""
            table.add_row(names + more, str(len(files)), reason)
        console.print(table)
        if any(reason.startswith("unsupported") for reason in todo.skipped):
            console.print(f"Supported types: {' '.join(sorted(SUFFIXES))}")
    skipped = sum(len(files) for files in todo.skipped.values())
    tail = f"{len(todo.already)} already ingested (unchanged since a previous run), {skipped} skipped"
    if not outcomes:
        console.print(f"Nothing new to ingest: {tail}.")
        return
    text = sum(o.text_bytes for o in outcomes)
    ok = sum(o.status == "completed" for o in outcomes)
    console.print(
        f"{ok}/{len(outcomes)} new files completed, {text / 1e6:.2f} MB of text in {seconds:.2f} s "
        f"({text / 1e6 / max(seconds, 1e-9):.2f} MB/s); {tail}."
    )
