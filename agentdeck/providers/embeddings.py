"""Text embeddings for vector-store search when OpenAI is configured (unset = BM25 only)."""

from __future__ import annotations

from array import array

from agentdeck.settings import Settings

BATCH = 128


class OpenAIEmbeddings:
    def __init__(self, api_key: str, base_url: str | None, model: str, dimensions: int) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=2, timeout=60)
        self.model = model
        self.dimensions = dimensions

    async def embed(self, texts: list[str]) -> list[bytes]:
        """One L2-normalised float32 vector per text, packed (so cosine is a dot product)."""
        out: list[bytes] = []
        for start in range(0, len(texts), BATCH):
            batch = texts[start : start + BATCH]
            response = await self.client.embeddings.create(input=batch, model=self.model, dimensions=self.dimensions)
            for item in sorted(response.data, key=lambda d: d.index):
                out.append(pack(item.embedding))
        return out


def pack(vector: list[float]) -> bytes:
    norm = sum(x * x for x in vector) ** 0.5 or 1.0
    return array("f", (x / norm for x in vector)).tobytes()


def unpack(blob: bytes) -> array:
    values = array("f")
    values.frombytes(blob)
    return values


def make_embeddings(settings: Settings) -> OpenAIEmbeddings | None:
    if not settings.openai_api_key:
        return None
    return OpenAIEmbeddings(
        settings.openai_api_key, settings.openai_base_url, settings.embedding_model, settings.embedding_dimensions
    )
