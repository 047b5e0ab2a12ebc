"""Stored objects: the native graph (`StorageObject` nodes, the `storageObjects` connection,
`createStorageUpload`, `deleteStorageObject`) and, for the REST layer, the legacy fields
(`RestQuery`, `RestMutation`), over the same domain functions (`domain/files/storage.py`).

The bytes themselves never pass through GraphQL: a client PUTs them to the presigned upload
request and GETs them from `downloadUrl` (the local provider's signed routes are REST,
`rest_compat/raw.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.db import models as db
from agentdeck.domain.files import storage as r
from agentdeck.errors import DomainError, InvalidInput, NotFound
from agentdeck.schema import graph
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


# Named as the legacy contract names it: `StorageObject` is the native node, which the REST face
# also reaches (through `Agent.vectorStores`).
@strawberry.type(
    name="StorageObjectResponse",
    description="A stored object; `pending_upload` until its bytes are seen, then `available`.",
)
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
class RestQuery:
    @strawberry.field(extensions=allow(TenantRole("viewer")), description="The tenant's stored objects.")
    async def storage_objects(
        self, info: strawberry.Info, limit: PageSize = 20, offset: Offset = 0, conversation_id: uuid.UUID | None = None
    ) -> StorageObjectList:
        return StorageObjectList.from_page(await r.list_objects(info.context, limit, offset, conversation_id))

    @strawberry.field(extensions=allow(TenantRole("viewer")), description="A presigned download URL.")
    async def storage_download_url(self, info: strawberry.Info, object_id: uuid.UUID) -> StoragePresignDownload:
        return StoragePresignDownload.from_signed(await r.download_url(info.context, object_id))


@strawberry.type
class RestMutation:
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


# -- the native graph ------------------------------------------------------------------------

VIEW, WRITE = allow(TenantRole("viewer")), allow(TenantRole("admin"))
CONVERSATION = "Conversation"  # the chat domain's node type: a stored object's conversation


def decode_id(value: str, type_name: str, field: str | None = None) -> uuid.UUID:
    """The UUID inside a global id of `type_name`. An id that is not one (malformed, or of
    another type) names nothing: NotFound, at `field` (a dotted input path) when given."""
    key = graph.node_uuid(value, type_name)
    if key is not None:
        return key
    details = [{"field": field, "type": "not_found", "message": f"No {type_name} has this id."}] if field else None
    raise NotFound(f"No {type_name} has this id.", details=details)


def global_id(type_name: str, key: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(relay.GlobalID(type_name, str(key))))


async def by_ids(
    fetch: Callable[[list[uuid.UUID]], Awaitable[Sequence[Any]]], keys: list[uuid.UUID | None]
) -> list[Any]:
    """`fetch(ids)` (a domain read by ids, in order) for the valid keys; None for the others."""
    valid = [k for k in keys if k is not None]
    found = dict(zip(valid, await fetch(valid), strict=True)) if valid else {}
    return [found.get(k) if k is not None else None for k in keys]


async def acted(
    action: Awaitable[dict[str, Any]], renamed: dict[str, str] | None = None, not_found: str | None = None
) -> dict[str, Any]:
    """A mutation's domain action, its errors' field paths in the shape `graph.UserError`
    reads. The domain names a field as a dotted path of REST names (`{"field": "input.mime_type",
    ...}` in `details`, or a `Refused`'s `field`), which `renamed` maps to the native input's where
    they differ; `UserError.from_domain` reads `loc` lists (a toolkit gap, bridged here).
    `not_found`: the input field a NotFound that names none is about (the one id it can be)."""
    try:
        return await action
    except DomainError as error:
        if error.details is None:
            field = getattr(error, "field", None) or (not_found if isinstance(error, NotFound) else None)
            if isinstance(field, str):
                error.details = [{"field": field, "message": error.message}]
        if isinstance(error.details, list):
            error.details = [_loc(d, renamed or {}) for d in error.details]
        raise


def _loc(detail: Any, renamed: dict[str, str]) -> Any:
    if isinstance(detail, dict) and "loc" not in detail and isinstance(detail.get("field"), str):
        path: str = renamed.get(detail["field"]) or detail["field"]
        return {**detail, "loc": path.split("."), "msg": detail.get("message")}
    return detail


@strawberry.enum(description="Where a stored object is in its life.")
class StorageObjectStatus(Enum):
    PENDING_UPLOAD = strawberry.enum_value("pending_upload", description="Waiting for its bytes.")
    AVAILABLE = strawberry.enum_value("available", description="Its bytes are stored; it can be downloaded.")


@strawberry.type(description="An HTTP header a presigned request must be sent with.")
class PresignedHeader:
    name: str = strawberry.field(description="The header's name, such as `Content-Type`.")
    value: str = strawberry.field(description="Its value, exactly.")


@strawberry.type(
    description="A presigned HTTP request: send it as it is, before `expiresAt`; the signature is the credential."
)
class PresignedRequest:
    url: str = strawberry.field(description="The signed URL.")
    method: str = strawberry.field(description="The HTTP method: `PUT` for an upload, `GET` for a download.")
    headers: list[PresignedHeader] = strawberry.field(
        description="The headers the request must carry (they are signed)."
    )
    expires_at: datetime = strawberry.field(description="When the signature stops being accepted.")

    @classmethod
    def from_signed(cls, signed: r.SignedRequest) -> PresignedRequest:
        return cls(
            url=signed.presigned.url,
            method=signed.presigned.method,
            headers=[PresignedHeader(name=k, value=v) for k, v in signed.presigned.headers.items()],
            expires_at=signed.expires_at,
        )


@strawberry.type(name="StorageObject", description="A file the tenant stored: its bytes live in the storage provider.")
class StorageObjectNode(graph.Node):
    key: relay.NodeID[uuid.UUID]
    row: strawberry.Private[db.StorageObject]
    database_id: uuid.UUID = strawberry.field(description="The object's UUID (REST's `object_id`).")
    filename: str = strawberry.field(description="The name it was uploaded with, as given.")
    mime_type: str = strawberry.field(description="The media type it was declared with.")
    size_bytes: int = strawberry.field(description="Its size: as declared until uploaded, then as received.")
    status: StorageObjectStatus = strawberry.field(description="Whether its bytes have been uploaded.")
    bucket: str = strawberry.field(description="The provider's bucket it is in.")
    object_key: str = strawberry.field(description="Its key in the bucket.")
    agent_key: str | None = strawberry.field(description="The agent it was uploaded for, if any.")
    conversation_id: strawberry.ID | None = strawberry.field(
        description="The global id of the conversation it was uploaded in, if any."
    )
    metadata: JSON = strawberry.field(description="The metadata it was uploaded with.")
    created_at: datetime = strawberry.field(description="When the upload was requested.")
    updated_at: datetime = strawberry.field(description="When it last changed (its bytes arrived, say).")

    @classmethod
    def from_row(cls, row: db.StorageObject) -> StorageObjectNode:
        return cls(
            key=row.id,
            row=row,
            database_id=row.id,
            filename=row.filename,
            mime_type=row.mime_type,
            size_bytes=row.size_bytes,
            status=StorageObjectStatus(row.status),
            bucket=row.bucket,
            object_key=row.object_key,
            agent_key=row.agent_key,
            conversation_id=global_id(CONVERSATION, row.conversation_id) if row.conversation_id else None,
            metadata=JSON(row.meta or {}),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[StorageObjectNode | None]:
        rows = await by_ids(lambda ids: r.objects_by_ids(info.context, ids), graph.uuids(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]

    @strawberry.field(
        description="A presigned download of the bytes; null until they are uploaded. Signing reads nothing."
    )
    async def download_url(self, info: strawberry.Info) -> PresignedRequest | None:
        if self.row.status != "available":
            return None
        return PresignedRequest.from_signed(await r.sign_download(info.context, self.row))


@strawberry.input(description="Which stored objects to list.")
class StorageObjectFilter:
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those uploaded in this conversation (its global id)."
    )


@strawberry.input(description="The object to create; its bytes are PUT to the upload request after.")
class CreateStorageUploadInput:
    filename: str = strawberry.field(description="1-256 characters, no control characters.")
    mime_type: str = strawberry.field(description="The media type the bytes will be sent with (an allowed one).")
    size_bytes: int = strawberry.field(description="The size of the bytes, at most the tenant's limit.")
    agent_key: str | None = strawberry.field(default=None, description="The agent it is for, if any.")
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="The conversation it belongs to (its global id), if any."
    )
    metadata: JSON | None = strawberry.field(default=None, description="An object kept with it.")


@strawberry.type(description="The object created and the request that uploads its bytes.")
class CreateStorageUploadPayload:
    user_errors: list[graph.UserError]
    storage_object: StorageObjectNode | None = strawberry.field(
        default=None, description="The object created, `PENDING_UPLOAD` until its bytes are PUT."
    )
    upload: PresignedRequest | None = strawberry.field(
        default=None, description="PUT the bytes with it; the object is then `AVAILABLE`."
    )


@strawberry.input(description="The stored object to delete.")
class DeleteStorageObjectInput:
    id: strawberry.ID = strawberry.field(description="The object's global id.")


@strawberry.type(description="The deleted object's id.")
class DeleteStorageObjectPayload:
    user_errors: list[graph.UserError]
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The deleted object's global id.")


def _conversation(value: strawberry.ID | None, field: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return decode_id(value, CONVERSATION, field)
    except NotFound:
        raise InvalidInput(
            "Not a conversation id.",
            details=[{"field": field, "type": "invalid_id", "message": "Not a conversation id."}],
        ) from None


@strawberry.type
class Query:
    @strawberry.field(extensions=VIEW, description="The tenant's stored objects, newest first.")
    async def storage_objects(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        last: graph.Last = None,
        before: graph.Before = None,
        filter: StorageObjectFilter | None = None,
    ) -> graph.Connection[StorageObjectNode]:
        conversation = _conversation(filter.conversation_id if filter else None, "filter.conversationId")
        return await graph.paginate(
            lambda offset, limit: r.page_objects(info.context, offset, limit, conversation),
            StorageObjectNode.from_row,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(extensions=VIEW, description="A stored object by its global id (null if there is none).")
    async def storage_object(
        self, info: strawberry.Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its global id.")]
    ) -> StorageObjectNode | None:
        (row,) = await r.objects_by_ids(info.context, [decode_id(id, "StorageObject")])
        if row is None:
            raise NotFound("No StorageObject has this id.")
        return StorageObjectNode.from_row(row)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=WRITE,
        description="Create a stored object and the presigned request that uploads its bytes.",
    )
    async def create_storage_upload(
        self, info: strawberry.Info, input: CreateStorageUploadInput, idempotency_key: IdempotencyKey = None
    ) -> CreateStorageUploadPayload:
        async def action() -> dict[str, Any]:
            request = r.UploadRequest(
                filename=input.filename,
                mime_type=input.mime_type,
                size_bytes=input.size_bytes,
                agent_key=input.agent_key,
                conversation_id=_conversation(input.conversation_id, "input.conversationId"),
                metadata=input.metadata,
            )
            signed = await r.create_upload(info.context, request, keyed(idempotency_key, input=input))
            return {
                "storage_object": StorageObjectNode.from_row(signed.row),
                "upload": PresignedRequest.from_signed(signed),
            }

        return await graph.payload(CreateStorageUploadPayload, acted(action()))

    @strawberry.mutation(extensions=WRITE, description="Delete a stored object and its bytes.")
    async def delete_storage_object(
        self, info: strawberry.Info, input: DeleteStorageObjectInput
    ) -> DeleteStorageObjectPayload:
        async def action() -> dict[str, Any]:
            await r.delete_object(info.context, decode_id(input.id, "StorageObject", "input.id"))
            return {"deleted_id": input.id}

        return await graph.payload(DeleteStorageObjectPayload, acted(action(), not_found="input.id"))
