"""The raw routes: what is bytes, not GraphQL, so it cannot go through the schema.

- `PUT`/`GET /storage/blobs/{id}`: the byte transfer behind the local storage provider's signed
  URLs (every rule is in `domain/files/storage.py`);
- `GET /api/v1/openai/files/{file_id}/download` and
  `GET /api/v1/openai/containers/{container_id}/files/{file_id}/download`: a tenant's file bytes,
  streamed (who may read what is `domain/files/downloads.py`);
- `POST /webhooks/stripe`: the Stripe webhook, whose signature covers the exact bytes of the body
  (served when billing is enabled).

`routes.RAW_ROUTES` documents them in OpenAPI.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentdeck.context import Context, Services
from agentdeck.domain.billing import handle_stripe_webhook
from agentdeck.domain.files import downloads, storage
from agentdeck.errors import DomainError
from agentdeck.logs import log_client_error
from agentdeck.rest_compat import errors

BLOB_PREFIX = "/storage/blobs/"
# Uploaded bytes are the tenant's, not ours: should a browser render them anyway (an HTML file),
# they run sandboxed, with no script, no requests, in no frame.
SANDBOX = "sandbox; default-src 'none'; frame-ancestors 'none'"
# Dropped from the quoted fallback name: quotes and backslashes (they would end or escape the
# quoted-string) and `%` (some clients percent-decode the plain `filename`, RFC 6266 App. D).
_UNQUOTABLE = re.compile(r'["\\%]')


def content_disposition(filename: str | None) -> str:
    """`attachment` with the name both ways RFC 6266 provides: an ASCII `filename` for old
    clients (accents folded, other non-ASCII as `_`) and the exact UTF-8 `filename*`."""
    name = storage.CONTROL.sub("", filename or "").strip() or "download"
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    ascii_name = "".join(c if c.isascii() else "_" for c in folded)
    fallback = _UNQUOTABLE.sub("", ascii_name).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def header_media_type(mime: str | None) -> str:
    """The stored type as a Content-Type, unless it cannot be one (a row stored before types
    were checked): then the bytes are served as opaque."""
    return mime if mime and storage.media_type_problem(mime) is None else "application/octet-stream"


def _error(exc: DomainError) -> Response:
    return errors.from_extensions(exc.message, exc.extensions, lambda f: [f])


def blob_routes(services: Services) -> list[Route]:
    async def upload(request: Request) -> Response:
        q = request.query_params
        try:
            await storage.receive_upload(
                services,
                request.path_params["object_id"],
                q.get("expires", ""),
                q.get("signature", ""),
                request.headers.get("content-type"),
                request.stream(),
            )
        except DomainError as exc:
            return _error(exc)
        return Response(status_code=200)

    async def download(request: Request) -> Response:
        q = request.query_params
        try:
            path, obj = await storage.open_download(
                services, request.path_params["object_id"], q.get("expires", ""), q.get("signature", "")
            )
        except DomainError as exc:
            return _error(exc)
        return FileResponse(
            path,
            media_type=header_media_type(obj.mime_type),
            headers={
                "Content-Disposition": content_disposition(obj.filename),
                "Content-Security-Policy": SANDBOX,
            },
        )

    return [
        Route(BLOB_PREFIX + "{object_id}", upload, methods=["PUT"]),
        Route(BLOB_PREFIX + "{object_id}", download, methods=["GET"]),
    ]


async def _streamed(request: Request, download: downloads.Download) -> Response:
    """The legacy download answer (opaque bytes, an attachment, privately cacheable for five
    minutes), its body read from the source as it is sent (a HEAD request's source is closed
    unread)."""
    headers = {
        "Content-Disposition": content_disposition(download.filename),
        "Cache-Control": "private, max-age=300",
        "Content-Security-Policy": SANDBOX,
    }
    if request.method == "HEAD":
        await download.close()
        return Response(media_type="application/octet-stream", headers=headers)
    return StreamingResponse(download.chunks, media_type="application/octet-stream", headers=headers)


def download_routes(context_for: Callable[[Request], Awaitable[Context]]) -> list[Route]:
    async def file_download(request: Request) -> Response:
        context = await context_for(request)
        try:
            download = await downloads.open_file(context, request.path_params["file_id"])
        except DomainError as exc:
            log_client_error("GET " + downloads.FILE_PATH, exc.code, exc.message)
            return _error(exc)
        return await _streamed(request, download)

    async def container_file_download(request: Request) -> Response:
        context = await context_for(request)
        q = request.query_params
        try:
            download = await downloads.open_container_file(
                context,
                request.path_params["container_id"],
                request.path_params["file_id"],
                filename=q.get("filename"),
                conversation_id=q.get("conversation_id"),
            )
        except DomainError as exc:
            log_client_error("GET " + downloads.CONTAINER_FILE_PATH, exc.code, exc.message)
            return errors.from_extensions(exc.message, exc.extensions, lambda f: ["query", f])
        return await _streamed(request, download)

    return [
        Route(downloads.FILE_PATH, file_download, methods=["GET"]),
        Route(downloads.CONTAINER_FILE_PATH, container_file_download, methods=["GET"]),
    ]


def webhook_routes(context_for: Callable[[Request], Awaitable[Context]]) -> list[Route]:
    async def stripe_webhook(request: Request) -> Response:
        context = await context_for(request)
        try:
            receipt = await handle_stripe_webhook(
                context, await request.body(), request.headers.get("stripe-signature")
            )
        except DomainError as exc:
            log_client_error("POST /webhooks/stripe", exc.code, exc.message)
            return errors.from_extensions(exc.message, exc.extensions, lambda f: ["body", f])
        return JSONResponse({"success": receipt.success, "duplicate": receipt.duplicate}, 202)

    return [Route("/webhooks/stripe", stripe_webhook, methods=["POST"])]
