"""The byte transfer behind the local provider's signed URLs: `PUT`/`GET /storage/blobs/{id}`.

Raw Starlette routes (bytes, not GraphQL); every rule is in `resolvers/storage.py`.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from agentdeck.context import Services
from agentdeck.errors import DomainError
from agentdeck.resolvers import storage
from agentdeck.rest_compat import errors

BLOB_PREFIX = "/storage/blobs/"


def _error(exc: DomainError) -> Response:
    return errors.from_extensions(exc.message, exc.extensions, lambda f: [f])


def blob_routes(services: Services) -> list[Route]:
    async def upload(request: Request) -> Response:
        q = request.query_params
        try:
            await storage.receive_upload(
                services, request.path_params["object_id"], q.get("expires", ""), q.get("signature", ""),
                request.headers.get("content-type"), request.stream(),
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
        disposition = f"attachment; filename*=UTF-8''{quote(obj.filename or 'file')}"
        return FileResponse(path, media_type=obj.mime_type, headers={"Content-Disposition": disposition})

    return [
        Route(BLOB_PREFIX + "{object_id}", upload, methods=["PUT"]),
        Route(BLOB_PREFIX + "{object_id}", download, methods=["GET"]),
    ]
