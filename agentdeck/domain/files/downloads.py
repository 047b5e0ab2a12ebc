"""Downloads of file bytes, streamed (extended contract: `GET /openai/files/{file_id}/download`,
`GET /openai/containers/{container_id}/files/{file_id}/download`).

Who may: any role of the tenant. What:

- a file: a file id of the tenant. `file-<object hex>` (a vector store file's id, or any stored
  object's) is served from our own storage, whichever provider runs the models; any other id
  the tenant holds (a vector store file's, or one of its containers' `file_ids`) is OpenAI's and
  served through the SDK when OpenAI is configured;
- a container's file: the container must be the tenant's (named by its provider id, `cntr_...`,
  as the legacy service did, or its UUID). An OpenAI container's files come from OpenAI; a local
  container's files are the stored objects it was created with (`file_ids`), from our storage.

Anything else, another tenant's included, is NotFound. Bytes are never held whole: the source
is opened here (so a missing file is a 404 before the answer starts) and read as it is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select

from agentdeck.context import Context
from agentdeck.db.models import Container, StorageObject, VectorStoreFile
from agentdeck.domain.common.access import require_role
from agentdeck.domain.files.containers import is_local
from agentdeck.domain.files.storage import CONTROL
from agentdeck.errors import InvalidInput, NotFound, UpstreamFailed
from agentdeck.providers.files import FileGone, FileUnavailable, RemoteFile

MAX_ID = 256  # longer file or container ids name nothing
MAX_FILENAME = 256
FILE_PATH = "/api/v1/openai/files/{file_id}/download"
CONTAINER_FILE_PATH = "/api/v1/openai/containers/{container_id}/files/{file_id}/download"


@dataclass
class Download:
    """An opened download: a name for `Content-Disposition`, its size when known, and its
    bytes, read as they are iterated (iterate to the end, or `close()`, to release the source)."""

    filename: str
    chunks: AsyncIterator[bytes]
    size: int | None = None

    async def close(self) -> None:
        """Release the source without reading it (an async generator's `aclose`)."""
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def download_url(public_url: str, file_id: str) -> str:
    """Where a file is downloaded (with the bearer token): the REST operation, on `public_url`."""
    return public_url.rstrip("/") + FILE_PATH.format(file_id=quote(file_id, safe=""))


def container_file_url(public_url: str, container_id: str, file_id: str) -> str:
    path = CONTAINER_FILE_PATH.format(container_id=quote(container_id, safe=""), file_id=quote(file_id, safe=""))
    return public_url.rstrip("/") + path


def _plausible(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and not CONTROL.search(value)


def _object_id(file_id: str) -> uuid.UUID | None:
    """The stored object a `file-<hex>` id names (our ids), else None (a provider's id)."""
    if not file_id.startswith("file-"):
        return None
    try:
        return uuid.UUID(hex=file_id.removeprefix("file-"))
    except ValueError:
        return None


async def _from_storage(ctx: Context, obj: StorageObject, filename: str | None = None) -> Download:
    try:
        chunks = await ctx.services.storage.open_stream(obj.bucket, obj.object_key)
    except FileNotFoundError:
        raise NotFound("File not found") from None
    return Download(filename or obj.filename, chunks, obj.size_bytes)


async def _remote(
    open_remote: Callable[[], Awaitable[RemoteFile]], fallback_name: str, filename: str | None
) -> Download:
    try:
        remote = await open_remote()
    except FileGone:
        raise NotFound("File not found") from None
    except FileUnavailable as exc:
        raise UpstreamFailed("Failed to fetch file from OpenAI") from exc
    return Download(filename or remote.filename or fallback_name, remote.chunks, remote.length)


async def _available_object(ctx: Context, object_id: uuid.UUID) -> StorageObject | None:
    async with ctx.session() as s:
        obj = await s.get(StorageObject, object_id)
    return obj if obj is not None and obj.status == "available" else None


async def _held_by_tenant(ctx: Context, file_id: str) -> bool:
    """Whether the tenant holds this provider file id: a vector store file's, or one its
    containers were created with."""
    async with ctx.session() as s:
        if await s.scalar(select(VectorStoreFile.id).where(VectorStoreFile.openai_file_id == file_id).limit(1)):
            return True
        lists = (await s.scalars(select(Container.file_ids))).all()
    return any(file_id in (ids or []) for ids in lists)


def _check_filename(filename: str | None) -> str | None:
    if filename is None:
        return None
    if len(filename) > MAX_FILENAME or CONTROL.search(filename):
        message = f"filename must be at most {MAX_FILENAME} characters, without control characters."
        raise InvalidInput(message, details=[{"field": "filename", "message": message}])
    return filename.strip() or None


async def open_file(ctx: Context, file_id: str) -> Download:
    """The tenant's file `file_id`, opened for streaming."""
    await require_role(ctx, "viewer")
    if not _plausible(file_id):
        raise NotFound("File not found")
    object_id = _object_id(file_id)
    if object_id is not None:
        obj = await _available_object(ctx, object_id)
        if obj is None:
            raise NotFound("File not found")
        return await _from_storage(ctx, obj)
    files = ctx.services.files
    if files is None or not await _held_by_tenant(ctx, file_id):
        raise NotFound("File not found")
    return await _remote(lambda: files.open_file(file_id), f"{file_id}.bin", None)


async def _tenant_container(ctx: Context, container_id: str) -> Container | None:
    async with ctx.session() as s:
        found = await s.scalar(select(Container).where(Container.openai_id == container_id))
        if found is None:
            try:
                found = await s.get(Container, uuid.UUID(container_id))
            except ValueError:
                found = None
    return found


async def open_container_file(
    ctx: Context, container_id: str, file_id: str, filename: str | None = None, conversation_id: str | None = None
) -> Download:
    """A file of the tenant's container, opened for streaming; `filename` names the download.
    `conversation_id` is accepted for the legacy clients that send it; it grants nothing (the
    container itself must be the tenant's)."""
    await require_role(ctx, "viewer")
    name = _check_filename(filename)
    if not _plausible(container_id):
        raise NotFound("Container not found")
    container = await _tenant_container(ctx, container_id)
    if container is None:
        raise NotFound("Container not found")
    if not _plausible(file_id):
        raise NotFound("File not found")
    files = ctx.services.files
    if not is_local(container) and files is not None:
        return await _remote(lambda: files.open_container_file(container.openai_id, file_id), f"{file_id}.bin", name)
    object_id = _object_id(file_id)
    if file_id not in (container.file_ids or []) or object_id is None:
        raise NotFound("File not found")
    obj = await _available_object(ctx, object_id)
    if obj is None:
        raise NotFound("File not found")
    return await _from_storage(ctx, obj, name)
