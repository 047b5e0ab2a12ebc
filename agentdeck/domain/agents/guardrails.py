"""Running an agent's guardrails (domain/catalog/guardrails.py) in its turns and workflow steps.

`Guard.screen` runs the `pre_flight` and `input` guardrails on the messages before the first model
call: PII is masked in what the model receives (or the turn is refused), an overlong message, a
blocked keyword or a flagged moderation result refuses the turn. `Guard.tool_output` masks PII in a tool's
result before the model reads it (`tool_output`). `Guard.stream` wraps one model
call's events and runs the `output` guardrails on the answer as it streams: text is held back just
long enough that no email address, phone or card number is cut in two between deltas, so the
deltas, the final text, the ledger and the stored answer are all masked alike.

Each guardrail that acts emits a `guardrail` event on the turn's stream (the native graph's
`GuardrailEvent`; the legacy REST stream leaves these out, as the legacy service's public stream
had no such event) and adds a `redacted` notice that the terminal event carries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from agentdeck.context import Context
from agentdeck.domain.agents.streams import StreamWriter
from agentdeck.domain.catalog import AgentSpec
from agentdeck.domain.catalog.guardrails import GUARDRAILS, PRESETS, ActiveGuardrail, GuardrailPreset, GuardrailSpec
from agentdeck.errors import NotFound
from agentdeck.providers.llm import Completed, LLMEvent, Message, TextDelta
from agentdeck.providers.moderation import ModerationError

log = logging.getLogger("agentdeck.guardrails")


def find_guardrail(key: str) -> GuardrailSpec:
    spec = GUARDRAILS.get(key)
    if spec is None:
        raise NotFound(f"Guardrail '{key}' not found")
    return spec


def find_preset(key: str) -> GuardrailPreset:
    preset = PRESETS.get(key)
    if preset is None:
        raise NotFound(f"Preset '{key}' not found")
    return preset


# -- PII ---------------------------------------------------------------------------------------

# Every part is bounded and starts only where a run of its characters starts, so that scanning is
# linear in the text's length (32,000 characters without an `@` took 1.5 s with `[...]+@`).
_PII = re.compile(
    r"(?P<EMAIL_ADDRESS>(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@"
    r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-]))"
    r"|(?P<US_SSN>(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-]))"
    r"|(?P<CREDIT_CARD>(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-]))"
    r"|(?P<PHONE_NUMBER>(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}(?!\w))"
)


# What every match of `_PII` holds: an email address an `@`; an SSN, card or phone number at least
# nine digits, each apart from the next by at most two of ` ().+-`. Text without it (most deltas
# of a streamed answer) has nothing to mask, found without running `_PII` and its look-arounds.
_MAY_HOLD_PII = re.compile(r"@|\d(?:[ ().+-]{0,2}\d){8}")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _pii_kind(match: re.Match[str], entities: set[str]) -> str | None:
    kind = match.lastgroup
    if kind is None or kind not in entities:
        return None
    if kind == "CREDIT_CARD" and not _luhn(re.sub(r"\D", "", match.group())):
        return None
    return kind


def mask_pii(text: str, entities: set[str] | list[str]) -> tuple[str, dict[str, int]]:
    """`text` with each PII match of `entities` replaced by `<KIND>`, and how many of each."""
    if not _MAY_HOLD_PII.search(text):
        return text, {}
    wanted, found = set(entities), dict[str, int]()

    def replace(match: re.Match[str]) -> str:
        kind = _pii_kind(match, wanted)
        if kind is None:
            return match.group()
        found[kind] = found.get(kind, 0) + 1
        return f"<{kind}>"

    return _PII.sub(replace, text), found


# -- URLs --------------------------------------------------------------------------------------

_URL = re.compile(r"\bhttps?://[^\s<>\"')\]]+", re.IGNORECASE)


def _host_in(host: str, hosts: list[str], subdomains: bool) -> bool:
    for entry in hosts:
        entry = entry.lower().strip().removeprefix("https://").removeprefix("http://").split("/")[0]
        if host == entry or (subdomains and host.endswith("." + entry)):
            return True
    return False


def filter_urls(text: str, config: dict[str, Any]) -> tuple[str, dict[str, int]]:
    if "://" not in text:  # every match of `_URL` has it
        return text, {}
    allow, block = list(config.get("url_allow_list") or []), list(config.get("url_block_list") or [])
    subdomains = bool(config.get("check_subdomains", True))
    found = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        try:
            host = (urlsplit(match.group()).hostname or "").lower()
        except ValueError:
            host = ""
        blocked = _host_in(host, block, subdomains) or (bool(allow) and not _host_in(host, allow, subdomains))
        if not blocked:
            return match.group()
        found += 1
        return "<BLOCKED_URL>"

    masked = _URL.sub(replace, text)
    return masked, ({"URL": found} if found else {})


# -- moderation --------------------------------------------------------------------------------

# The offline lexicon: a few unambiguous phrasings per category (score 1.0 when one matches).
_LEXICON: dict[str, re.Pattern[str]] = {
    "violence": re.compile(
        r"\b(?:how (?:do i|to|can i) (?:build|make) a (?:bomb|pipe bomb|nerve agent)"
        r"|i (?:will|am going to|'m going to) (?:kill|murder|shoot|stab) (?:you|him|her|them|everyone))\b",
        re.IGNORECASE,
    ),
    "self-harm": re.compile(
        r"\b(?:kill myself|end my life|commit suicide|hurt myself on purpose|ways to self-harm)\b", re.IGNORECASE
    ),
    "hate": re.compile(
        r"\b(?:all|those) \w+ (?:people )?(?:should|must|deserve to) (?:die|be exterminated|be wiped out)\b",
        re.IGNORECASE,
    ),
    "harassment": re.compile(r"\byou(?:'re| are) a (?:worthless|pathetic) (?:idiot|piece of \w+)\b", re.IGNORECASE),
    "sexual/minors": re.compile(
        r"\b(?:sexual|explicit|nude)\b[^.]{0,60}\b(?:child|children|minor|minors|underage)\b", re.IGNORECASE
    ),
}


# Any category's phrasing, in one pass over the text: most text has none, found without five.
_ANY_CATEGORY = re.compile("|".join(f"(?:{p.pattern})" for p in _LEXICON.values()), re.IGNORECASE)


def offline_moderation(text: str) -> dict[str, float]:
    if not _ANY_CATEGORY.search(text):
        return {}
    return {category: 1.0 for category, pattern in _LEXICON.items() if pattern.search(text)}


def _flagged(scores: dict[str, float], config: dict[str, Any]) -> list[str]:
    threshold = float(config.get("threshold", 0.5))
    wanted = [str(c) for c in config.get("categories") or []]
    out = []
    for category, score in scores.items():
        base = category.split("/")[0]
        if score >= threshold and (not wanted or category in wanted or base in wanted):
            out.append(category)
    return sorted(out)


# -- the guard ---------------------------------------------------------------------------------


class Refused(Exception):
    """A guardrail refused the turn."""

    def __init__(self, guardrail: str, message: str) -> None:
        super().__init__(message)
        self.guardrail, self.message = guardrail, message


def _keywords(config: dict[str, Any]) -> re.Pattern[str] | None:
    words = [str(k).strip() for k in config.get("keywords") or [] if str(k).strip()]
    if not words:
        return None
    return re.compile(r"(?<!\w)(?:%s)(?!\w)" % "|".join(re.escape(w) for w in words), re.IGNORECASE)


@dataclass
class Guard:
    """The guardrails of one agent loop (a chat turn, or a workflow step)."""

    ctx: Context
    writer: StreamWriter
    notices: list[dict[str, Any]] = field(default_factory=list)

    async def _acted(
        self, agent: str, guard: ActiveGuardrail, action: str, message: str, path: str, **details: Any
    ) -> None:
        await self.writer.emit(
            "guardrail",
            agent,
            guardrail_key=guard.spec.key,
            guardrail_stage=guard.spec.stage,
            action=action,
            message=message,
            details=details or None,
        )
        if action == "masked":
            self.notices.append({"type": "redacted", "path": path, "message": message})

    async def screen(self, spec: AgentSpec, messages: list[Message]) -> tuple[list[Message], str | None]:
        """The messages the model may see, and the refusal if a guardrail refuses the turn."""
        guards = [g for g in spec.active_guardrails if g.spec.stage in ("pre_flight", "input")]
        if not guards:
            return messages, None
        try:
            for guard in sorted(guards, key=lambda g: g.spec.stage != "pre_flight"):
                messages = await self._screen_one(spec.key, guard, messages)
        except Refused as refusal:
            await self._acted(spec.key, _find(guards, refusal.guardrail), "blocked", refusal.message, "input")
            return messages, refusal.message
        return messages, None

    async def _screen_one(self, agent: str, guard: ActiveGuardrail, messages: list[Message]) -> list[Message]:
        key, config = guard.spec.key, guard.config
        last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
        text = messages[last].content if last is not None else ""
        if key == "max_input_length":
            limit = int(config.get("max_chars", 16000))
            if len(text) > limit:
                raise Refused(key, f"The message is too long for this assistant ({len(text)} > {limit} characters).")
        elif key == "pii_detection_input":
            entities = config.get("entities") or []
            masked, total = list(messages), dict[str, int]()
            for i, message in enumerate(messages):
                if message.role != "user":
                    continue
                new, found = mask_pii(message.content, entities)
                if found and config.get("block") and i == last:
                    raise Refused(key, f"The message contains personal data ({', '.join(sorted(found))}).")
                for kind, n in found.items():
                    total[kind] = total.get(kind, 0) + n
                if new != message.content:
                    masked[i] = Message(message.role, new, message.tool_call_id, message.tool_calls)
            if total:
                kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(total.items()))
                await self._acted(agent, guard, "masked", f"Masked {kinds} before the model.", "input", entities=total)
            return masked
        elif key == "blocked_keywords":
            pattern = _keywords(config)
            if pattern is not None and (hit := pattern.search(text)):
                refusal = str(config.get("message") or "This assistant cannot help with that topic.")
                raise Refused(key, f"{refusal} (blocked: '{hit.group().lower()}')")
        elif key == "moderation":
            categories = await self._moderate(guard, text)
            if categories:
                raise Refused(key, f"The message was flagged by moderation ({', '.join(categories)}).")
        return messages

    async def _moderate(self, guard: ActiveGuardrail, text: str) -> list[str]:
        if not text.strip():
            return []
        api = self.ctx.services.moderation
        if api is not None:
            try:
                result = await api.classify(text, str(guard.config.get("model") or "omni-moderation-latest"))
                return _flagged(result.scores, guard.config) or (
                    ["flagged"] if result.flagged and not result.scores else []
                )
            except ModerationError as exc:
                if guard.spec.tripwire_on_error:
                    raise Refused(guard.spec.key, "Moderation is unavailable; the message was not sent.") from exc
                log.warning("moderation API failed, using the offline rules: %s", exc)
        return _flagged(offline_moderation(text), guard.config)

    async def tool_output(self, spec: AgentSpec, text: str) -> str:
        """A tool's result as the model may see it (`tool_output` guardrails: PII masked)."""
        for guard in spec.active_guardrails:
            if guard.spec.key == "pii_tool_output":
                text, found = mask_pii(text, guard.config.get("entities") or [])
                if found:
                    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(found.items()))
                    await self._acted(
                        spec.key, guard, "masked", f"Masked {kinds} in a tool's result.", "tool_output", entities=found
                    )
        return text

    async def stream(self, spec: AgentSpec, events: AsyncIterator[LLMEvent]) -> AsyncIterator[LLMEvent]:
        """One model call's events with the agent's output guardrails applied to its text."""
        guards = [g for g in spec.active_guardrails if g.spec.stage == "output"]
        if not guards:
            async with aclosing(events):  # type: ignore[type-var]
                async for event in events:
                    yield event
            return
        mask = _output_mask(guards)
        masker = _StreamMasker(mask)
        async with aclosing(events):  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, TextDelta):
                    out = masker.feed(event.text)
                    if out:
                        yield TextDelta(out)
                elif isinstance(event, Completed):
                    rest = masker.flush()
                    if rest:
                        yield TextDelta(rest)
                    text, found = mask(event.text)
                    for guard in guards:
                        counts = found.get(guard.spec.key)
                        if counts:
                            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
                            await self._acted(
                                spec.key,
                                guard,
                                "masked",
                                f"Masked {kinds} in the answer.",
                                "final.response_text",
                                entities=counts,
                            )
                    yield Completed(text, event.tool_calls, event.usage)
                else:
                    yield event


def _find(guards: list[ActiveGuardrail], key: str) -> ActiveGuardrail:
    return next(g for g in guards if g.spec.key == key)


Mask = Callable[[str], tuple[str, dict[str, dict[str, int]]]]


def _output_mask(guards: list[ActiveGuardrail]) -> Mask:
    def mask(text: str) -> tuple[str, dict[str, dict[str, int]]]:
        found: dict[str, dict[str, int]] = {}
        for guard in guards:
            if guard.spec.key == "pii_detection_output":
                text, counts = mask_pii(text, guard.config.get("entities") or [])
            elif guard.spec.key == "url_filter":
                text, counts = filter_urls(text, guard.config)
            else:
                continue
            if counts:
                found[guard.spec.key] = counts
        return text, found

    return mask


# A run of digits (and a phone's or card's separators) reaching the end: it may continue.
_NUMBER_TAIL = re.compile(r"(?<!\S)[+(]?\d[\d ().-]*\Z")


class _StreamMasker:
    """Masks streamed text without cutting a match in two: text is released up to the last blank
    (an email address or URL has none), but not into a run of digits that more digits may extend
    (a phone or card number in groups), nor inside anything that already looks like PII or a URL.
    Words go out as they complete, numbers when the next word shows they ended."""

    WINDOW = 64
    MAX_PENDING = 4096

    def __init__(self, mask: Mask) -> None:
        """`mask`: `_output_mask`'s, which changes only text holding a match of `_MAY_HOLD_PII`
        or a `://`."""
        self.mask = mask
        self.pending = ""

    def feed(self, text: str) -> str:
        self.pending += text
        cut = max(self.pending.rfind(" "), self.pending.rfind("\n")) + 1
        if cut <= 0:
            if len(self.pending) < self.MAX_PENDING:
                return ""
            cut = len(self.pending) - self.WINDOW
        start = max(0, cut - self.WINDOW)
        if (tail := _NUMBER_TAIL.search(self.pending[start:cut])) is not None:
            cut = start + tail.start()
        if len(self.pending) >= self.MAX_PENDING:  # one enormous token (a URL, base64): let it go
            cut = max(cut, len(self.pending) - self.WINDOW)
        else:
            pending = self.pending
            may_hold_pii, may_hold_url = _MAY_HOLD_PII.search(pending), "://" in pending
            if not (may_hold_pii or may_hold_url):
                # Nothing the output mask changes (every match of it has one or the other), in
                # this text nor in any part of it: the words leave as they are.
                out, self.pending = pending[:cut], pending[cut:]
                return out
            for pattern, maybe in ((_PII, may_hold_pii), (_URL, may_hold_url)):
                for match in pattern.finditer(pending) if maybe else ():
                    if match.start() < cut < match.end():
                        cut = match.start()
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return self.mask(out)[0] if out else ""

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return self.mask(out)[0] if out else ""
