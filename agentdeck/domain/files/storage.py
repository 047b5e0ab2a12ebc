"""Stored objects and the presign flow (NOTES §8.1).

A client asks for an upload URL (a `pending_upload` row is created), PUTs the bytes to it, and
the object becomes `available` once its bytes are seen: at once for the local provider (agentdeck
receives them), on the next read of the row for S3 (a HEAD on the object). There is no
"complete upload" call, as in the legacy service.

Asking for an upload URL takes an idempotency key (`domain/common/idempotency.py`): a retry gets the
object its first request created, with a freshly signed URL (a stored one may have expired, and
a signed URL is a credential, better not kept).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select

from agentdeck.context import Context, Services
from agentdeck.db.base import utcnow
from agentdeck.db.models import StorageObject
from agentdeck.domain import activity
from agentdeck.domain.common import idempotency
from agentdeck.domain.common.access import require_role
from agentdeck.domain.common.limits import Limit, check
from agentdeck.domain.common.results import Page
from agentdeck.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from agentdeck.providers.storage import LocalDiskStorage, Presigned

MIB = 1024 * 1024
# What a stored object's `status` may be. `rejected` (bytes that broke the declared size or type)
# is never shown: such an object reads as deleted.
STATUSES = ("pending_upload", "available")
# The legacy allow-list (NOTES §8.1); `text/*` code types are matched by prefix.
ALLOWED_MIME = frozenset(
    {
        "application/json",
        "application/gzip",
        "application/x-gzip",
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/x-tar",
        "application/x-sh",
        "application/xml",
        "application/msword",
        "application/typescript",
        "application/x-typescript",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
    }
)
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# A media type as HTTP defines it (RFC 9110 §8.3.1): `type/subtype` and `; name=value`
# parameters, tokens of visible ASCII. The value becomes a Content-Type header, so anything
# else (CR/LF, NUL, non-ASCII) is refused rather than let through to break or forge headers.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"[\t !#-\[\]-~]*"'  # visible ASCII but `"` and `\`; no escapes
MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
# Control characters (C0, DEL, C1) and Unicode line/paragraph separators: never in a name that
# is shown back or sent in a header.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class UploadRejected(DomainError):
    """The bytes sent to a signed URL break what the URL allowed (size, type)."""

    code = "BAD_REQUEST"


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"


class Refused(BadRequest):
    """A refusal that is about one input field (`field`, a dotted path of the REST names). It
    answers as any BadRequest does, without details (the legacy REST body); the native graph
    names the field in its user error."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class UploadRequest:
    filename: str
    mime_type: str
    size_bytes: int
    agent_key: str | None = None
    conversation_id: uuid.UUID | None = None
    metadata: Any = None


@dataclass
class SignedRequest:
    """A stored object's row and a presigned request for its bytes (upload or download), valid for
    `expires_in_seconds`."""

    row: StorageObject
    presigned: Presigned
    expires_in_seconds: int
    signed_at: datetime = field(default_factory=utcnow)

    @property
    def expires_at(self) -> datetime:
        return self.signed_at + timedelta(seconds=self.expires_in_seconds)


@dataclass
class ObjectList:
    items: list[StorageObject]
    next_offset: int | None


def media_type_problem(mime: str) -> str | None:
    """Why `mime` cannot be a Content-Type, or None."""
    if CONTROL.search(mime):
        return "MIME type must not contain control characters."
    if not MEDIA_TYPE.fullmatch(mime):
        return "MIME type must be a media type such as text/plain."
    return None


def mime_allowed(mime: str) -> bool:
    base = mime.split(";", 1)[0].strip().lower()
    return base in ALLOWED_MIME or base.startswith("text/")


def safe_filename(name: str) -> str:
    cleaned = UNSAFE.sub("_", Path(name.replace("\\", "/")).name).lstrip(".")
    return cleaned[:128] or "file"


# Declared on `StoragePresignUploadInput` too (so openapi.json shows them); checked here because
# the CLI's folder ingestion stores files without going through the schema.
FILENAME = Limit(min_length=1, max_length=256)
MIME_TYPE = Limit(min_length=1, max_length=128)
SIZE_BYTES = Limit(ge=0)
AGENT_KEY = Limit(max_length=64)


def _validate_upload(req: UploadRequest) -> None:
    problems = [
        *FILENAME.problems(req.filename, "input.filename"),
        *MIME_TYPE.problems(req.mime_type, "input.mime_type"),
        *SIZE_BYTES.problems(req.size_bytes, "input.size_bytes"),
        *AGENT_KEY.problems(req.agent_key, "input.agent_key"),
    ]
    fields = {p["field"] for p in problems}
    if "input.filename" not in fields and CONTROL.search(req.filename):
        problems.append(
            {
                "field": "input.filename",
                "type": "value_error",
                "message": "Filename must not contain control characters.",
            }
        )
    if "input.mime_type" not in fields and (problem := media_type_problem(req.mime_type)):
        problems.append({"field": "input.mime_type", "type": "value_error", "message": problem})
    if req.metadata is not None and not isinstance(req.metadata, dict):
        problems.append(
            {"field": "input.metadata", "type": "dict_type", "message": "Input should be a valid dictionary"}
        )
    check(problems)


async def create_upload(
    ctx: Context, req: UploadRequest, idem: idempotency.Idempotency = idempotency.NO_KEY
) -> SignedRequest:
    tc = await require_role(ctx, "admin")
    _validate_upload(req)
    if req.size_bytes > ctx.settings.storage_max_file_mb * MIB:
        raise Refused("File size exceeds allowed limit", "input.size_bytes")
    if not mime_allowed(req.mime_type):
        raise Refused("MIME type is not allowed", "input.mime_type")
    async with idempotency.claim(ctx, "create_upload", idem) as claim:
        if claim.resource is not None:
            return await _upload_url_again(ctx, uuid.UUID(claim.resource["object_id"]))
        return await _new_upload(ctx, tc.tenant_id, req, claim)


async def _new_upload(
    ctx: Context, tenant_id: uuid.UUID, req: UploadRequest, claim: idempotency.Claim
) -> SignedRequest:
    storage = ctx.services.storage
    object_id = uuid.uuid4()
    bucket = storage.bucket_for(tenant_id)
    key = f"{tenant_id}/{object_id}/{safe_filename(req.filename)}"
    ttl = ctx.settings.storage_signed_url_ttl_seconds
    signed = await storage.presign_upload(
        bucket, key, req.mime_type, req.size_bytes, ttl, ctx.settings.public_url, object_id
    )
    row = StorageObject(
        id=object_id,
        bucket=bucket,
        object_key=key,
        filename=req.filename,
        mime_type=req.mime_type,
        size_bytes=req.size_bytes,
        status="pending_upload",
        owner_user_id=caller_user_id(ctx),
        conversation_id=req.conversation_id,
        agent_key=req.agent_key,
        meta=req.metadata or {},
    )
    async with ctx.session() as s:
        s.add(row)
        await claim.attach(s, {"object_id": str(object_id)})
        await s.commit()
    return SignedRequest(row, signed, ttl)


async def _upload_url_again(ctx: Context, object_id: uuid.UUID) -> SignedRequest:
    """The answer to a retry: the first request's object, its upload URL signed anew."""
    async with ctx.session() as s:
        row = await s.get(StorageObject, object_id)
    if row is None or row.status == "rejected":
        raise Conflict("The object this idempotency key created has been deleted; use a new key.")
    ttl = ctx.settings.storage_signed_url_ttl_seconds
    signed = await ctx.services.storage.presign_upload(
        row.bucket, row.object_key, row.mime_type or "", row.size_bytes or 0, ttl, ctx.settings.public_url, row.id
    )
    return SignedRequest(row, signed, ttl)


async def store_bytes(ctx: Context, filename: str, mime_type: str, data: bytes) -> StorageObject:
    """Store bytes the server already holds (the CLI's folder ingestion): same rules as an
    upload URL, but the object is `available` at once."""
    tc = await require_role(ctx, "admin")
    req = UploadRequest(filename, mime_type, len(data))
    _validate_upload(req)
    if len(data) > ctx.settings.storage_max_file_mb * MIB:
        raise Refused("File size exceeds allowed limit", "input.size_bytes")
    if not mime_allowed(mime_type):
        raise Refused("MIME type is not allowed", "input.mime_type")
    storage = ctx.services.storage
    object_id = uuid.uuid4()
    bucket = storage.bucket_for(tc.tenant_id)
    key = f"{tc.tenant_id}/{object_id}/{safe_filename(filename)}"
    await storage.put(bucket, key, data, mime_type)
    row = StorageObject(
        id=object_id,
        bucket=bucket,
        object_key=key,
        filename=filename,
        mime_type=mime_type,
        size_bytes=len(data),
        status="available",
        owner_user_id=caller_user_id(ctx),
        meta={},
    )
    async with ctx.session() as s:
        s.add(row)
        _uploaded(ctx, s, row)
        await s.commit()
    return row


def caller_user_id(ctx: Context) -> uuid.UUID | None:
    subject = ctx.principal.subject if ctx.principal else ""
    try:
        return uuid.UUID(subject.removeprefix("user:")) if subject.startswith("user:") else None
    except ValueError:
        return None


async def _refresh(services: Services, s: Any, row: StorageObject) -> None:
    """A pending object whose bytes are in the provider becomes available (S3 path); bytes
    that break the declared size or type are deleted instead."""
    if row.status != "pending_upload" or isinstance(services.storage, LocalDiskStorage):
        return
    stat = await services.storage.stat(row.bucket, row.object_key)
    if stat is None:
        return
    declared = (row.mime_type or "").split(";")[0].strip().lower()
    seen = (stat.content_type or declared).split(";")[0].strip().lower()
    if stat.size > row.size_bytes or seen != declared:
        await services.storage.delete(row.bucket, row.object_key)
        row.status = "rejected"
    else:
        row.status, row.size_bytes = "available", stat.size
        _uploaded(services, s, row)
    await s.commit()


async def get_object(ctx: Context, object_id: uuid.UUID, *, available: bool = False) -> StorageObject:
    """The caller's tenant's object (other tenants' ids are simply not found)."""
    await require_role(ctx, "viewer")
    async with ctx.session() as s:
        row = await s.get(StorageObject, object_id)
        if row is not None:
            await _refresh(ctx.services, s, row)
    if row is None or row.status == "rejected":
        raise NotFound("Object not found")
    if available and row.status != "available":
        raise Conflict("Object has not been uploaded yet.")
    return row


def _visible(conversation_id: uuid.UUID | None) -> Select[StorageObject]:
    query = select(StorageObject).where(StorageObject.status != "rejected")
    if conversation_id is not None:
        query = query.where(StorageObject.conversation_id == conversation_id)
    return query


async def list_objects(ctx: Context, limit: int, offset: int, conversation_id: uuid.UUID | None) -> ObjectList:
    await require_role(ctx, "viewer")
    query = _visible(conversation_id)
    async with ctx.session() as s:
        rows = list(
            (
                await s.scalars(
                    query.order_by(StorageObject.created_at.desc(), StorageObject.id).limit(limit).offset(offset)
                )
            ).all()
        )
        for row in rows:
            await _refresh(ctx.services, s, row)
    items = [r for r in rows if r.status != "rejected"]
    return ObjectList(items, offset + limit if len(rows) == limit else None)


async def page_objects(
    ctx: Context, offset: int, limit: int, conversation_id: uuid.UUID | None = None
) -> Page[StorageObject]:
    """One page of the tenant's objects, newest first, and how many there are (the GraphQL
    connection's read; `list_objects` is the legacy one, which counts nothing)."""
    await require_role(ctx, "viewer")
    query = _visible(conversation_id)
    async with ctx.session() as s:
        total = await s.scalar(select(func.count()).select_from(query.subquery()))
        rows = list(
            (
                await s.scalars(
                    query.order_by(StorageObject.created_at.desc(), StorageObject.id).limit(limit).offset(offset)
                )
            ).all()
        )
        for row in rows:
            await _refresh(ctx.services, s, row)
    return Page([r for r in rows if r.status != "rejected"], total or 0)


async def objects_by_ids(ctx: Context, ids: Sequence[uuid.UUID]) -> list[StorageObject | None]:
    """The tenant's objects with these ids, in order, in one read; None where there is none (a
    missing, rejected or other tenant's id)."""
    await require_role(ctx, "viewer")
    if not ids:
        return []
    async with ctx.session() as s:
        rows = (await s.scalars(_visible(None).where(StorageObject.id.in_(set(ids))))).all()
        for row in rows:
            await _refresh(ctx.services, s, row)
    found = {r.id: r for r in rows if r.status != "rejected"}
    return [found.get(i) for i in ids]


async def download_url(ctx: Context, object_id: uuid.UUID) -> SignedRequest:
    return await sign_download(ctx, await get_object(ctx, object_id, available=True))


async def sign_download(ctx: Context, row: StorageObject) -> SignedRequest:
    """A presigned download of an available object the caller has read (`get_object`,
    `objects_by_ids`): signing reads nothing more."""
    if row.status != "available":
        raise Conflict("Object has not been uploaded yet.")
    ttl = ctx.settings.storage_signed_url_ttl_seconds
    signed = await ctx.services.storage.presign_download(
        row.bucket, row.object_key, ttl, ctx.settings.public_url, row.id
    )
    return SignedRequest(row, signed, ttl)


async def delete_object(ctx: Context, object_id: uuid.UUID) -> bool:
    await require_role(ctx, "admin")
    async with ctx.session() as s:
        row = await s.get(StorageObject, object_id)
        if row is None:
            raise NotFound("Object not found")
        await ctx.services.storage.delete(row.bucket, row.object_key)
        await s.delete(row)
        activity.record(
            ctx, s, "storage.file.deleted", object_type="storage_object", object_id=row.id, object_name=row.filename
        )
        await s.commit()
    return True


async def read_bytes(ctx: Context, row: StorageObject) -> bytes:
    return await ctx.services.storage.read(row.bucket, row.object_key)


# The local provider's signed URLs: no principal, the signature is the credential. ----------


def _local(services: Services) -> LocalDiskStorage:
    if not isinstance(services.storage, LocalDiskStorage):
        raise NotFound("Not Found")
    return services.storage


async def _signed_row(
    services: Services, method: str, object_id: str, expires: str, signature: str, extra
) -> StorageObject:
    storage = _local(services)
    try:
        oid = uuid.UUID(object_id)
    except ValueError:
        raise NotFound("Object not found") from None
    async with services.db.platform_session() as s:
        row = await s.get(StorageObject, oid)
    if row is None:
        raise NotFound("Object not found")
    problem = storage.verify(method, oid, expires, signature, extra(row))
    if problem:
        raise Forbidden(problem)
    return row


async def receive_upload(
    services: Services,
    object_id: str,
    expires: str,
    signature: str,
    content_type: str | None,
    chunks: AsyncIterator[bytes],
) -> StorageObject:
    """Store the bytes PUT to a signed upload URL, enforcing the signed type and size."""
    row = await _signed_row(services, "PUT", object_id, expires, signature, lambda r: f"{r.mime_type}\n{r.size_bytes}")
    if row.status != "pending_upload":
        raise Conflict("Object has already been uploaded.")
    if (content_type or "").split(";")[0].strip().lower() != row.mime_type.split(";")[0].strip().lower():
        raise UploadRejected(f"Content-Type must be {row.mime_type}, as signed.")
    written = await _local(services).write_stream(row.bucket, row.object_key, chunks, row.size_bytes)
    if written is None:
        raise PayloadTooLarge(f"Upload exceeds the declared size of {row.size_bytes} bytes.")
    async with services.db.platform_session() as s:
        fresh = await s.get(StorageObject, row.id)
        if fresh is None:  # deleted while uploading
            await _local(services).delete(row.bucket, row.object_key)
            raise NotFound("Object not found")
        fresh.status, fresh.size_bytes = "available", written
        _uploaded(services, s, fresh)
        await s.commit()
    return fresh


def _uploaded(where: Context | Services, s: Any, row: StorageObject) -> None:
    """An object's bytes are in: the upload in its tenant's activity feed, by its owner."""
    owner = activity.Actor(str(row.owner_user_id), "user") if row.owner_user_id else None
    activity.record(
        where,
        s,
        "storage.file.uploaded",
        tenant_id=row.tenant_id,
        actor=owner,
        object_type="storage_object",
        object_id=row.id,
        object_name=row.filename,
        metadata={"mime_type": row.mime_type, "size_bytes": row.size_bytes},
    )


async def open_download(services: Services, object_id: str, expires: str, signature: str) -> tuple[Path, StorageObject]:
    row = await _signed_row(services, "GET", object_id, expires, signature, lambda r: "")
    if row.status != "available":
        raise NotFound("Object not found")
    return _local(services).path(row.bucket, row.object_key), row
