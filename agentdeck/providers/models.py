"""Which language model serves: OpenAI when a key is set, else the offline model."""

from __future__ import annotations

from agentdeck.providers.llm import LLMProvider, OfflineModel
from agentdeck.settings import Settings


def make_llm(settings: Settings) -> LLMProvider:
    if settings.openai_api_key:
        # Imported only then: the SDK takes a second to import, and most processes never need it.
        from agentdeck.providers.llm_openai import OpenAIModel

        return OpenAIModel(
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            mode=settings.openai_api_mode,
            timeout_s=settings.openai_timeout_seconds,
            max_retries=settings.openai_max_retries,
        )
    return OfflineModel(settings.offline_model_delay_ms / 1000)
