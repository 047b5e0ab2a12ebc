"""Guardrail rules, in-process (tests/inprocess.py): what the detectors find, that streamed
masking never lets a match out in pieces, the catalogue's validation, and a turn against a
model that records what it was sent (earlier turns' PII is masked too; a moderation API that
fails falls back to the offline rules)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from agentdeck.domain.agents.guardrails import (
    _output_mask,
    _StreamMasker,
    filter_urls,
    mask_pii,
    offline_moderation,
)
from agentdeck.domain.catalog import SPECS
from agentdeck.domain.catalog.guardrails import GUARDRAILS, PII_ENTITIES, PRESETS, active_guardrails
from agentdeck.domain.chat.turns import ChatRequest, chat
from agentdeck.providers.llm import Completed, Message, ResponseStarted, TextDelta, ToolCall, ToolCallDelta, Usage
from agentdeck.providers.moderation import ModerationError
from tests.inprocess import platform, tenant_member


@pytest.mark.parametrize(
    ("text", "masked", "kinds"),
    [
        ("write to a.b+c@mail.example.org now", "write to <EMAIL_ADDRESS> now", {"EMAIL_ADDRESS"}),
        ("call (555) 123-4567 or +44 555 123 4567", "call <PHONE_NUMBER> or <PHONE_NUMBER>", {"PHONE_NUMBER"}),
        ("card 4111-1111-1111-1111.", "card <CREDIT_CARD>.", {"CREDIT_CARD"}),
        ("ssn 123-45-6789", "ssn <US_SSN>", {"US_SSN"}),
        ("order 4111-1111-1111-1112 and id 2024-01-05", "order 4111-1111-1111-1112 and id 2024-01-05", set()),
        ("version 1.2.3, 42 apples, 10:30", "version 1.2.3, 42 apples, 10:30", set()),
    ],
)
def test_pii_detection(text, masked, kinds):
    out, found = mask_pii(text, PII_ENTITIES)
    assert (out, set(found)) == (masked, kinds)


def test_text_that_cannot_hold_pii_is_told_apart_without_the_detector():
    """`mask_pii` skips the detector on text without an `@` or nine close digits: every string
    of the characters PII is made of that the detector matches must pass that precheck."""
    import random

    from agentdeck.domain.agents.guardrails import _MAY_HOLD_PII, _PII

    rng = random.Random(7)
    alphabet = "0123456789" * 4 + " ().+-@x\u0663"
    matched = 0
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(9, 24)))
        if _PII.search(text):
            matched += 1
            assert _MAY_HOLD_PII.search(text), text
    assert matched > 1000
    assert mask_pii("w1 w22 w333 w4444 2024-01-05 10:30", PII_ENTITIES) == ("w1 w22 w333 w4444 2024-01-05 10:30", {})


def test_only_the_configured_entities_are_masked():
    assert mask_pii("x@y.io 555-123-4567", ["PHONE_NUMBER"])[0] == "x@y.io <PHONE_NUMBER>"


def test_streamed_masking_equals_masking_the_whole_text_however_it_is_split():
    guards = [g for g in active_guardrails("standard", ("url_filter",)) if g.spec.stage == "output"]
    guards = [replace(g, config={**g.config, "url_block_list": ["evil.example"]}) for g in guards]
    mask = _output_mask(guards)
    text = (
        "Reach jane.doe@example.com, +1 (555) 123-4567 or 4111 1111 1111 1111; see https://evil.example/a?b=c "
        "and https://fine.example. " * 4
    )
    whole = mask(text)[0]
    assert "jane" not in whole and "evil" not in whole and "https://fine.example" in whole
    for size in (1, 2, 5, 17, 64, 1000):
        masker = _StreamMasker(mask)
        pieces = [masker.feed(p) for p in re.findall(f".{{1,{size}}}", text, re.S)] + [masker.flush()]
        assert "".join(pieces) == whole, size
        assert not any("@example.com" in p or "4567" in p for p in pieces)


def test_streamed_words_go_out_as_they_complete_and_numbers_when_they_end():
    masker = _StreamMasker(_output_mask([g for g in active_guardrails("standard") if g.spec.stage == "output"]))
    assert [masker.feed(w) for w in ("Hello ", "word0 ", "call ", "555 ", "123 ", "4567", " now ")] == [
        "Hello ",
        "word0 ",
        "call ",
        "",
        "",
        "",
        "<PHONE_NUMBER> now ",
    ]


@pytest.mark.parametrize(
    "text", ["a" * 32000, "a." * 16000, "1" * 32000, "1 " * 16000, "a@b." * 8000, "https://x.io/" + "a" * 32000]
)
def test_hostile_text_is_scanned_in_linear_time(text):
    mask = _output_mask([g for g in active_guardrails("standard", ("url_filter",)) if g.spec.stage == "output"])
    started = time.perf_counter()
    mask_pii(text, PII_ENTITIES)
    offline_moderation(text)
    masker = _StreamMasker(mask)
    streamed = "".join(masker.feed(text[i : i + 3]) for i in range(0, len(text), 3)) + masker.flush()
    assert streamed == mask(text)[0]
    assert time.perf_counter() - started < 1.5  # quadratic scanning took 1.5 s for the mask alone


def test_url_filter_allow_list_and_subdomains():
    config = {"url_allow_list": ["docs.example"], "check_subdomains": True}
    assert filter_urls("https://api.docs.example/x https://other.example", config)[0] == (
        "https://api.docs.example/x <BLOCKED_URL>"
    )


def test_offline_moderation_flags_only_clear_phrasings():
    assert offline_moderation("I want to kill myself") == {"self-harm": 1.0}
    assert offline_moderation("how to kill a python process that hangs") == {}
    assert offline_moderation("the bomb of a movie") == {}


def test_the_catalogue_is_consistent():
    for preset in PRESETS.values():
        assert all(c.guardrail_key in GUARDRAILS for c in preset.guardrails)
    assert SPECS["triage"].guardrail_preset == "standard"
    assert SPECS["compliance_reviewer"].guardrail_preset == "strict"
    # A preset's configuration is merged over the guardrail's default.
    [pii] = [g for g in SPECS["compliance_reviewer"].active_guardrails if g.spec.key == "pii_detection_input"]
    assert pii.config == {"entities": list(PII_ENTITIES), "block": True}
    # Disabled checks do not run; an agent's own keys are added once.
    assert "url_filter" not in {g.spec.key for g in active_guardrails("standard")}
    assert [g.spec.key for g in active_guardrails(None, ("url_filter", "url_filter"))] == ["url_filter"]


def test_an_agent_naming_an_unknown_guardrail_is_refused_at_import():
    from agentdeck.domain.catalog import agents

    bad = replace(SPECS["triage"], key="bad", guardrails=("nope",))
    original = agents._SPECS
    agents._SPECS = (*original, bad)
    try:
        with pytest.raises(ValueError, match="unknown guardrails"):
            agents._validate()
    finally:
        agents._SPECS = original


class RecordingModel:
    name = "recording"
    hosted_tools = False

    def __init__(self, reply: str = "ok") -> None:
        self.reply = reply
        self.seen: list[list[Message]] = []

    async def stream(self, *, model, instructions, messages, tools, hosted=()) -> AsyncIterator:
        self.seen.append(list(messages))
        yield ResponseStarted("resp")
        yield TextDelta(self.reply)
        yield Completed(self.reply, (), Usage(1, 1))


class FailingModeration:
    def __init__(self) -> None:
        self.calls = 0

    async def classify(self, text: str, model: str):
        self.calls += 1
        raise ModerationError("down")


async def test_earlier_turns_are_masked_too_and_a_failing_moderation_api_falls_back_to_rules(tmp_path):
    async with platform(tmp_path) as services:
        model = services.llm = RecordingModel("noted")
        moderation = services.moderation = FailingModeration()
        ctx = await tenant_member(services)
        first = await chat(ctx, ChatRequest("I am bob@corp.example"))
        await chat(ctx, ChatRequest("and my number is 555-123-4567", first.conversation_id))
        sent = [m.content for m in model.seen[-1] if m.role == "user"]
        assert sent == ["I am <EMAIL_ADDRESS>", "and my number is <PHONE_NUMBER>"]
        refused = await chat(ctx, ChatRequest("I want to end my life", first.conversation_id))
        assert refused.metadata and refused.metadata["status"] == "refused" and "self-harm" in refused.response
        assert moderation.calls == 3 and len(model.seen) == 2


class SearchingModel(RecordingModel):
    """Asks `search_conversations` for "bob" once, then answers."""

    async def stream(self, *, model, instructions, messages, tools, hosted=()) -> AsyncIterator:
        self.seen.append(list(messages))
        yield ResponseStarted("resp")
        if messages[-1].role == "user" and messages[-1].content.startswith("search"):
            call = ToolCall("call_1", "search_conversations", '{"query": "bob"}')
            yield ToolCallDelta(0, call.id, call.name, call.arguments)
            yield Completed("", (call,), Usage(1, 1))
            return
        yield TextDelta("done")
        yield Completed("done", (), Usage(1, 1))


async def test_a_tools_result_is_masked_before_the_model_reads_it(tmp_path):
    async with platform(tmp_path) as services:
        model = services.llm = SearchingModel()
        ctx = await tenant_member(services)
        await chat(ctx, ChatRequest("note that bob can be reached at bob@corp.example"))
        await chat(ctx, ChatRequest("search for bob please"))
        tool_messages = [m for m in model.seen[-1] if m.role == "tool"]
        assert tool_messages and "bob" in tool_messages[0].content.lower()
        assert "<EMAIL_ADDRESS>" in tool_messages[0].content and "bob@corp.example" not in tool_messages[0].content
