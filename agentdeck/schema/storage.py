from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.db import models as db
from agentdeck.domain.files import storage as r
from agentdeck.schema.idempotency import IdempotencyKey, keyed
from agentdeck.schema.limits import Offset, PageSize, limited
from agentdeck.schema.permissions import TenantRole, allow


@strawberry.type(description="A presigned upload: PUT the bytes to `uploadUrl` with `headers`.")
class StoragePresignUpload:
    object_id: uuid.UUID
    upload_url: str
    method: str
    headers: JSON
    bucket: str
    object_key: str
    expires_in_seconds: int

    @classmethod
    def from_signed(cls, signed: r.SignedRequest) -> StoragePresignUpload:
        return cls(
            object_id=signed.row.id,
            upload_url=signed.presigned.url,
            method=signed.presigned.method,
            headers=JSON(signed.presigned.headers),
            bucket=signed.row.bucket,
            object_key=signed.row.object_key,
            expires_in_seconds=signed.expires_in_seconds,
        )


@strawberry.type(description="A presigned download: GET `downloadUrl` with `headers`.")
class StoragePresignDownload:
    object_id: uuid.UUID
    download_url: str
    method: str
    headers: JSON
    bucket: str
    object_key: str
    expires_in_seconds: int

    @classmethod
    def from_signed(cls, signed: r.SignedRequest) -> StoragePresignDownload:
        return cls(
            object_id=signed.row.id,
            download_url=signed.presigned.url,
            method=signed.presigned.method,
            headers=JSON(signed.presigned.headers),
            bucket=signed.row.bucket,
            object_key=signed.row.object_key,
            expires_in_seconds=signed.expires_in_seconds,
        )


@strawberry.type(description="A stored object; `pending_upload` until its bytes are seen, then `available`.")
class StorageObject:
    id: uuid.UUID
    bucket: str
    object_key: str
    filename: str | None
    mime_type: str | None
    size_bytes: int | None
    status: str | None
    created_at: datetime | None
    conversation_id: uuid.UUID | None
    agent_key: str | None

    @classmethod
    def from_row(cls, row: db.StorageObject) -> StorageObject:
        return cls(
            id=row.id,
            bucket=row.bucket,
            object_key=row.object_key,
            filename=row.filename,
            mime_type=row.mime_type,
            size_bytes=row.size_bytes,
            status=row.status,
            created_at=row.created_at,
            conversation_id=row.conversation_id,
            agent_key=row.agent_key,
        )


@strawberry.type
class StorageObjectList:
    items: list[StorageObject]
    next_offset: int | None

    @classmethod
    def from_page(cls, page: r.ObjectList) -> StorageObjectList:
        return cls(items=[StorageObject.from_row(o) for o in page.items], next_offset=page.next_offset)


@strawberry.input
class StoragePresignUploadInput:
    filename: str = strawberry.field(metadata=limited(r.FILENAME))
    mime_type: str = strawberry.field(metadata=limited(r.MIME_TYPE))
    size_bytes: int = strawberry.field(metadata=limited(r.SIZE_BYTES))
    agent_key: str | None = strawberry.field(default=None, metadata=limited(r.AGENT_KEY))
    conversation_id: uuid.UUID | None = None
    metadata: JSON | None = None


@strawberry.type
class Query:
    @strawberry.field(extensions=allow(TenantRole("viewer")), description="The tenant's stored objects.")
    async def storage_objects(
        self, info: strawberry.Info, limit: PageSize = 20, offset: Offset = 0, conversation_id: uuid.UUID | None = None
    ) -> StorageObjectList:
        return StorageObjectList.from_page(await r.list_objects(info.context, limit, offset, conversation_id))

    @strawberry.field(extensions=allow(TenantRole("viewer")), description="A presigned download URL.")
    async def storage_download_url(self, info: strawberry.Info, object_id: uuid.UUID) -> StoragePresignDownload:
        return StoragePresignDownload.from_signed(await r.download_url(info.context, object_id))


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=allow(TenantRole("admin")), description="Create an object and its upload URL.")
    async def create_storage_upload(
        self, info: strawberry.Info, input: StoragePresignUploadInput, idempotency_key: IdempotencyKey = None
    ) -> StoragePresignUpload:
        signed = await r.create_upload(
            info.context, r.UploadRequest(**vars(input)), keyed(idempotency_key, input=input)
        )
        return StoragePresignUpload.from_signed(signed)

    @strawberry.mutation(extensions=allow(TenantRole("admin")), description="Delete an object and its bytes.")
    async def delete_storage_object(self, info: strawberry.Info, object_id: uuid.UUID) -> bool:
        return await r.delete_object(info.context, object_id)
