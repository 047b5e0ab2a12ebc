"""The shipped agents (the legacy service's default set), declared as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentdeck.domain.catalog.guardrails import (
    DEFAULT_PRESET,
    GUARDRAILS,
    PRESETS,
    ActiveGuardrail,
    active_guardrails,
)

# Tools the platform runs itself (domain/agents/tools.py) and hosted tools a provider may offer.
FUNCTION_TOOLS = {"get_current_time", "search_conversations", "file_search"}
HOSTED_TOOLS = {"web_search", "code_interpreter", "image_generation"}


@dataclass(frozen=True)
class Handoff:
    agent: str
    context: str = "full"  # full | fresh | last_turn: how much history the next agent sees


@dataclass(frozen=True)
class AgentSpec:
    key: str
    display_name: str
    description: str
    instructions: str
    tools: tuple[str, ...] = ()
    handoffs: tuple[Handoff, ...] = ()
    model: str | None = None  # None = the configured default model
    output_schema: dict[str, Any] | None = None
    max_turns: int = 8
    extra: dict[str, Any] = field(default_factory=dict)
    # The guardrails its turns run (domain/catalog/guardrails.py): a preset, plus guardrail keys
    # of its own (default configuration). None = no preset.
    guardrail_preset: str | None = DEFAULT_PRESET
    guardrails: tuple[str, ...] = ()

    @property
    def active_guardrails(self) -> tuple[ActiveGuardrail, ...]:
        return active_guardrails(self.guardrail_preset, self.guardrails)

    @property
    def tooling(self) -> dict[str, bool]:
        return {
            "supports_code_interpreter": "code_interpreter" in self.tools,
            "supports_file_search": "file_search" in self.tools,
            "supports_image_generation": "image_generation" in self.tools,
            "supports_web_search": "web_search" in self.tools,
        }


COMPANY_BRIEF_SCHEMA = {
    "type": "object",
    "properties": {
        "company": {"type": "string"},
        "summary": {"type": "string"},
        "key_facts": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["company", "summary", "key_facts"],
    "additionalProperties": False,
}

_SPECS = (
    AgentSpec(
        "triage",
        "Triage Assistant",
        "Front door: answers directly or hands off to the code assistant or the researcher.",
        "You are the triage assistant. Answer briefly, or hand off: code questions to "
        "code_assistant, research questions to researcher.",
        tools=("get_current_time", "search_conversations"),
        handoffs=(Handoff("code_assistant", "last_turn"), Handoff("researcher", "fresh")),
    ),
    AgentSpec(
        "code_assistant",
        "Code Assistant",
        "Writes, explains and runs code.",
        "You are a careful software engineer. Prefer small, tested examples.",
        tools=("code_interpreter",),
    ),
    AgentSpec(
        "researcher",
        "Researcher",
        "Researches a topic on the web and cites sources.",
        "You research thoroughly and cite your sources.",
        tools=("web_search",),
    ),
    AgentSpec(
        "retriever",
        "Knowledge Retriever",
        "Answers from the tenant's documents, then the web.",
        "Answer from the tenant's documents (file_search) first; cite the files you used.",
        tools=("file_search", "web_search"),
    ),
    AgentSpec(
        "company_intel",
        "Company Intel Brief",
        "A structured brief about a company.",
        "Produce a factual brief about the company the user names.",
        tools=("web_search",),
        output_schema=COMPANY_BRIEF_SCHEMA,
    ),
    AgentSpec(
        "compliance_reviewer",
        "Compliance Reviewer",
        "Reviews text for policy and compliance risks.",
        "Review the text for compliance risks. Be strict and specific.",
        guardrail_preset="strict",
    ),
    AgentSpec(
        "director",
        "Task Director",
        "Plans a task and delegates its parts to specialist agents.",
        "Break the task into parts and delegate each to the right specialist.",
        tools=("get_current_time", "search_conversations"),
        handoffs=(
            Handoff("retriever"),
            Handoff("pdf_designer"),
            Handoff("code_assistant"),
            Handoff("researcher"),
            Handoff("image_studio"),
        ),
    ),
    AgentSpec(
        "image_studio",
        "Image Studio",
        "Generates images from descriptions.",
        "Create the image the user describes.",
        tools=("image_generation",),
    ),
    AgentSpec(
        "pdf_designer",
        "PDF Designer",
        "Lays out documents as PDFs with code.",
        "Produce well laid-out PDF documents using code.",
        tools=("code_interpreter",),
    ),
)

SPECS: dict[str, AgentSpec] = {spec.key: spec for spec in _SPECS}
DEFAULT_AGENT = "triage"


def resolve_agent(key: str | None) -> AgentSpec:
    """Unknown or empty agent keys fall back to the default agent, as the legacy service did."""
    return SPECS.get(key or "", SPECS[DEFAULT_AGENT])


def _validate() -> None:
    for spec in _SPECS:
        unknown = [t for t in spec.tools if t not in FUNCTION_TOOLS | HOSTED_TOOLS]
        missing = [h.agent for h in spec.handoffs if h.agent not in SPECS]
        guards = [g for g in spec.guardrails if g not in GUARDRAILS]
        if spec.guardrail_preset is not None and spec.guardrail_preset not in PRESETS:
            guards.append(f"preset {spec.guardrail_preset}")
        if unknown or missing or guards:
            raise ValueError(
                f"agent spec '{spec.key}': unknown tools {unknown}, unknown handoffs {missing}, "
                f"unknown guardrails {guards}"
            )


_validate()
