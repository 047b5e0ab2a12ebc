"""Content moderation through OpenAI's moderations API when a key is configured (unset = none:
the `moderation` guardrail then runs its rule-based check, domain/agents/guardrails.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentdeck.settings import Settings


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool
    scores: dict[str, float] = field(default_factory=dict)  # category ("self-harm", ...) -> 0..1


class ModerationError(Exception):
    """The moderation API could not answer."""


class OpenAIModeration:
    def __init__(self, api_key: str, base_url: str | None, timeout_s: float = 10.0, max_retries: int = 1) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)

    async def classify(self, text: str, model: str) -> ModerationResult:
        import openai

        try:
            response = await self.client.moderations.create(input=text, model=model)
        except openai.OpenAIError as exc:
            raise ModerationError(f"moderation failed: {type(exc).__name__}") from exc
        if not response.results:
            raise ModerationError("moderation returned no result")
        result = response.results[0]
        scores = result.category_scores.model_dump(by_alias=True) if result.category_scores else {}
        return ModerationResult(
            bool(result.flagged), {k: float(v) for k, v in scores.items() if isinstance(v, int | float)}
        )


def make_moderation(settings: Settings) -> OpenAIModeration | None:
    if not settings.openai_api_key:
        return None
    return OpenAIModeration(settings.openai_api_key, settings.openai_base_url)
