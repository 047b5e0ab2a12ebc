"""Code-interpreter containers: OpenAI containers through the SDK when OpenAI is configured,
otherwise local records (an id is minted here and nothing runs)."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from agentdeck.settings import Settings


class ContainerProvider(Protocol):
    name: str

    async def create(
        self, name: str, memory_limit: str, expires_after: dict[str, Any] | None, file_ids: list[str]
    ) -> tuple[str, str]: ...  # (provider id, status)
    async def delete(self, provider_id: str) -> None: ...


class LocalContainers:
    name = "local"

    async def create(
        self, name: str, memory_limit: str, expires_after: dict[str, Any] | None, file_ids: list[str]
    ) -> tuple[str, str]:
        return f"cntr_local_{uuid.uuid4().hex}", "running"

    async def delete(self, provider_id: str) -> None:
        return None


class OpenAIContainers:
    name = "openai"

    def __init__(self, api_key: str, base_url: str | None) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=1, timeout=30)

    async def create(
        self, name: str, memory_limit: str, expires_after: dict[str, Any] | None, file_ids: list[str]
    ) -> tuple[str, str]:
        from openai import omit

        created = await self.client.containers.create(
            name=name,
            memory_limit=memory_limit,  # type: ignore[arg-type]
            expires_after=expires_after or omit,  # type: ignore[arg-type]
            file_ids=file_ids or omit,
        )
        return created.id, created.status or "running"

    async def delete(self, provider_id: str) -> None:
        from openai import NotFoundError

        try:
            await self.client.containers.delete(provider_id)
        except NotFoundError:
            pass  # already gone (expired upstream): deleting our record is what matters


def make_containers(settings: Settings) -> LocalContainers | OpenAIContainers:
    if settings.openai_api_key:
        return OpenAIContainers(settings.openai_api_key, settings.openai_base_url)
    return LocalContainers()
