"""Object storage behind one interface: local disk (the embedded default) or S3.

Both hand out presigned URLs. The local provider signs its own URLs with an HMAC and an expiry
and agentdeck serves them (`/storage/blobs/...`, see `domain/files/storage.py`); the S3 provider
asks aiobotocore for real presigned URLs, so MinIO and other S3-compatible servers work too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from agentdeck.settings import Settings

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client

CHUNK = 1 << 16


@dataclass(frozen=True)
class StorageHealth:
    healthy: bool
    provider: str
    detail: str | None = None


@dataclass(frozen=True)
class Presigned:
    url: str
    method: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stat:
    size: int
    content_type: str | None


class ObjectStorage(Protocol):
    name: str

    async def health(self) -> StorageHealth: ...
    def bucket_for(self, tenant_id: uuid.UUID) -> str: ...
    async def presign_upload(
        self, bucket: str, key: str, mime_type: str, size: int, ttl: int, base_url: str, object_id: uuid.UUID
    ) -> Presigned: ...
    async def presign_download(
        self, bucket: str, key: str, ttl: int, base_url: str, object_id: uuid.UUID
    ) -> Presigned: ...
    async def stat(self, bucket: str, key: str) -> Stat | None: ...
    async def read(self, bucket: str, key: str) -> bytes: ...
    async def open_stream(self, bucket: str, key: str) -> AsyncIterator[bytes]: ...
    async def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...
    async def delete(self, bucket: str, key: str) -> None: ...


def _load_or_create_key(path: Path) -> bytes:
    """One URL-signing key per VAR_DIR, so every process sharing it accepts the others' URLs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            data = path.read_bytes()
            if len(data) == 32:
                return data
            time.sleep(0.01)
        raise RuntimeError(f"storage signing key {path} is unreadable") from None
    with os.fdopen(fd, "wb") as f:
        key = os.urandom(32)
        f.write(key)
    return key


class LocalDiskStorage:
    name = "local"

    def __init__(self, root: Path, signing_key: bytes, bucket_prefix: str = "agent-data") -> None:
        self.root = root
        self.key = signing_key
        self.bucket_prefix = bucket_prefix

    async def health(self) -> StorageHealth:
        def probe() -> StorageHealth:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                probe_file = self.root / f".probe-{uuid.uuid4().hex}"
                probe_file.write_bytes(b"ok")
                probe_file.unlink()
                return StorageHealth(True, self.name)
            except OSError as exc:
                return StorageHealth(False, self.name, f"{type(exc).__name__}: {exc.strerror or exc}")

        return await asyncio.to_thread(probe)

    def bucket_for(self, tenant_id: uuid.UUID) -> str:
        return f"{self.bucket_prefix}-{tenant_id.hex}"

    def path(self, bucket: str, key: str) -> Path:
        target = (self.root / bucket / key).resolve()
        if not target.is_relative_to(self.root.resolve()):
            raise ValueError("object key escapes the storage root")
        return target

    # Signed URLs ---------------------------------------------------------------------------
    def signature(self, method: str, object_id: uuid.UUID, expires: int, extra: str = "") -> str:
        message = f"{method}\n{object_id}\n{expires}\n{extra}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def verify(self, method: str, object_id: uuid.UUID, expires: str, signature: str, extra: str = "") -> str | None:
        """None when the URL is valid, else why it is not."""
        # Epoch seconds in ASCII digits: int() takes other digits ("²" fails in it, "١" not) and
        # refuses thousands of them.
        if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
            return "Malformed signed URL."
        expected = self.signature(method, object_id, int(expires), extra)
        if not hmac.compare_digest(expected, signature):
            return "Signature does not match."
        if int(expires) < time.time():
            return "Signed URL has expired."
        return None

    def _url(self, base_url: str, method: str, object_id: uuid.UUID, ttl: int, extra: str) -> str:
        expires = int(time.time()) + ttl
        sig = self.signature(method, object_id, expires, extra)
        return f"{base_url.rstrip('/')}/storage/blobs/{object_id}?expires={expires}&signature={sig}"

    async def presign_upload(
        self, bucket: str, key: str, mime_type: str, size: int, ttl: int, base_url: str, object_id: uuid.UUID
    ) -> Presigned:
        # The MIME type and size are signed, so the upload cannot change what was allowed.
        url = self._url(base_url, "PUT", object_id, ttl, f"{mime_type}\n{size}")
        return Presigned(url, "PUT", {"Content-Type": mime_type})

    async def presign_download(self, bucket: str, key: str, ttl: int, base_url: str, object_id: uuid.UUID) -> Presigned:
        return Presigned(self._url(base_url, "GET", object_id, ttl, ""), "GET", {})

    # Bytes ---------------------------------------------------------------------------------
    async def write_stream(self, bucket: str, key: str, chunks: Any, limit: int) -> int | None:
        """Write the chunks to a temporary file, then move it in place; None if over `limit`."""
        target = self.path(bucket, key)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        f = await asyncio.to_thread(tmp.open, "wb")
        written = 0
        try:
            async for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    return None
                await asyncio.to_thread(f.write, chunk)
        finally:
            await asyncio.to_thread(f.close)
            if written > limit:
                await asyncio.to_thread(tmp.unlink, missing_ok=True)
        await asyncio.to_thread(os.replace, tmp, target)
        return written

    async def stat(self, bucket: str, key: str) -> Stat | None:
        target = self.path(bucket, key)
        try:
            st = await asyncio.to_thread(target.stat)
        except FileNotFoundError:
            return None
        return Stat(st.st_size, None)

    async def read(self, bucket: str, key: str) -> bytes:
        return await asyncio.to_thread(self.path(bucket, key).read_bytes)

    async def open_stream(self, bucket: str, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, `CHUNK` at a time; the file is opened here (so a missing
        one raises FileNotFoundError before anything is answered) and closed when the chunks end
        or are closed."""
        f = await asyncio.to_thread(self.path(bucket, key).open, "rb")

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(f.read, CHUNK):
                    yield chunk
            finally:
                await asyncio.to_thread(f.close)

        return chunks()

    async def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        async def one():
            yield data

        await self.write_stream(bucket, key, one(), len(data))

    async def delete(self, bucket: str, key: str) -> None:
        await asyncio.to_thread(self.path(bucket, key).unlink, missing_ok=True)


class _S3ClientOptions(TypedDict, total=False):
    # A TypedDict, not dict[str, Any]: `**` of it still selects the stubs' create_client("s3")
    # overload, so the client is typed as S3Client.
    region_name: str
    endpoint_url: str | None
    aws_access_key_id: str
    aws_secret_access_key: str | None


class S3Storage:
    """S3 (or MinIO, or any S3-compatible server) through aiobotocore, one fixed bucket."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint_url: str | None,
        access_key_id: str | None,
        secret_access_key: str | None,
    ) -> None:
        from aiobotocore.session import get_session

        self.bucket = bucket
        self._session = get_session()
        self._kwargs: _S3ClientOptions = {"region_name": region, "endpoint_url": endpoint_url}
        if access_key_id:
            self._kwargs |= {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}

    def _client(self) -> ClientCreatorContext[S3Client]:
        from aiobotocore.config import AioConfig

        # Path-style addressing: MinIO and local servers rarely have wildcard DNS for buckets.
        # AioConfig, the Config aiobotocore takes (a plain botocore Config gets its defaults).
        config = AioConfig(signature_version="s3v4", s3={"addressing_style": "path"})
        return self._session.create_client("s3", config=config, **self._kwargs)

    async def health(self) -> StorageHealth:
        try:
            async with self._client() as s3:
                await asyncio.wait_for(s3.head_bucket(Bucket=self.bucket), 2.0)
            return StorageHealth(True, self.name)
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            return StorageHealth(False, self.name, f"{type(exc).__name__}: {exc}")

    def bucket_for(self, tenant_id: uuid.UUID) -> str:
        return self.bucket

    async def presign_upload(
        self, bucket: str, key: str, mime_type: str, size: int, ttl: int, base_url: str, object_id: uuid.UUID
    ) -> Presigned:
        async with self._client() as s3:
            url = await s3.generate_presigned_url(
                "put_object", Params={"Bucket": bucket, "Key": key, "ContentType": mime_type}, ExpiresIn=ttl
            )
        return Presigned(url, "PUT", {"Content-Type": mime_type})

    async def presign_download(self, bucket: str, key: str, ttl: int, base_url: str, object_id: uuid.UUID) -> Presigned:
        async with self._client() as s3:
            url = await s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=ttl)
        return Presigned(url, "GET", {})

    async def stat(self, bucket: str, key: str) -> Stat | None:
        from botocore.exceptions import ClientError

        async with self._client() as s3:
            try:
                head = await s3.head_object(Bucket=bucket, Key=key)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    return None
                raise
        return Stat(int(head["ContentLength"]), head.get("ContentType"))

    async def read(self, bucket: str, key: str) -> bytes:
        async with self._client() as s3:
            obj = await s3.get_object(Bucket=bucket, Key=key)
            async with obj["Body"] as body:
                return await body.read()

    async def open_stream(self, bucket: str, key: str) -> AsyncIterator[bytes]:
        """The object's bytes, `CHUNK` at a time (FileNotFoundError, before anything is
        answered, when there is no such object); the client is released when the chunks end."""
        from botocore.exceptions import ClientError

        client = self._client()
        s3 = await client.__aenter__()
        try:
            obj = await s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            await client.__aexit__(None, None, None)
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from exc
            raise
        except BaseException:
            await client.__aexit__(None, None, None)
            raise

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async with obj["Body"] as body:
                    while chunk := await body.read(CHUNK):
                        yield chunk
            finally:
                await client.__aexit__(None, None, None)

        return chunks()

    async def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        async with self._client() as s3:
            await s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    async def delete(self, bucket: str, key: str) -> None:
        async with self._client() as s3:
            await s3.delete_object(Bucket=bucket, Key=key)


def make_storage(settings: Settings) -> LocalDiskStorage | S3Storage:
    url = settings.storage_url
    if url and url.startswith("s3://"):
        bucket = url.removeprefix("s3://").strip("/")
        if not bucket:
            raise ValueError("AGENTDECK_STORAGE_URL must name a bucket: s3://<bucket>")
        secret = settings.storage_s3_secret_access_key
        return S3Storage(
            bucket,
            settings.storage_s3_region,
            settings.storage_s3_endpoint_url,
            settings.storage_s3_access_key_id,
            secret.get_secret_value() if secret else None,
        )
    if url and not url.startswith("file://"):
        raise ValueError(f"unsupported AGENTDECK_STORAGE_URL scheme: {url.split(':', 1)[0]}")
    root = Path(url.removeprefix("file://")) if url else settings.var_dir / "storage"
    key = _load_or_create_key(settings.var_dir / "keys" / "storage-url.key")
    return LocalDiskStorage(Path(os.path.expanduser(root)), key, settings.storage_bucket_prefix)
