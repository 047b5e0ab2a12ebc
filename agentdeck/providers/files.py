"""File bytes kept by OpenAI (files, and files inside OpenAI containers), streamed through the
official SDK. Offline (no `AGENTDECK_OPENAI_API_KEY`) there is no such provider: every file's
bytes are in our own storage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from email.message import Message
from typing import Any

from agentdeck.settings import Settings

CHUNK = 64 * 1024


class FileGone(Exception):
    """The provider has no such file (404)."""


class FileUnavailable(Exception):
    """The provider failed or could not be reached."""


@dataclass
class RemoteFile:
    """An opened download: the response has started, its body is read as `chunks` are."""

    chunks: AsyncIterator[bytes]
    content_type: str | None
    filename: str | None
    length: int | None


def _filename(disposition: str | None) -> str | None:
    if not disposition:
        return None
    message = Message()
    message["content-disposition"] = disposition
    name = message.get_filename()
    return str(name) if name else None


class OpenAIFiles:
    name = "openai"

    def __init__(self, api_key: str, base_url: str | None) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=1, timeout=60)

    async def open_file(self, file_id: str) -> RemoteFile:
        return await self._open(lambda: self.client.files.with_streaming_response.content(file_id))

    async def open_container_file(self, container_id: str, file_id: str) -> RemoteFile:
        return await self._open(
            lambda: self.client.containers.files.content.with_streaming_response.retrieve(
                file_id, container_id=container_id
            )
        )

    async def _open(self, request: Callable[[], AbstractAsyncContextManager[Any]]) -> RemoteFile:
        """Start the request (so that a missing file or a failing provider is known before any
        byte is answered), then hand over its body, read and released as it is streamed."""
        from openai import APIError, NotFoundError

        manager = request()
        try:
            response = await manager.__aenter__()
        except NotFoundError as exc:
            raise FileGone(str(exc)) from exc
        except (APIError, OSError) as exc:
            raise FileUnavailable(f"{type(exc).__name__}: {exc}") from exc

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.iter_bytes(CHUNK):
                    yield chunk
            finally:
                await manager.__aexit__(None, None, None)

        headers = response.headers
        length = headers.get("content-length")
        return RemoteFile(
            chunks(),
            headers.get("content-type"),
            _filename(headers.get("content-disposition")),
            int(length) if length and length.isdigit() else None,
        )


def make_files(settings: Settings) -> OpenAIFiles | None:
    if settings.openai_api_key:
        return OpenAIFiles(settings.openai_api_key, settings.openai_base_url)
    return None
