"""Guardrails and their presets (domain/catalog/guardrails.py): the catalogue agents' turns enforce.

The native roots serve `Guardrail` and `GuardrailPreset` nodes; the `Rest*` root keeps the legacy
REST shapes (plain lists, snake_case strings, `guardrail_count`). Both read the same catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.domain.agents.guardrails import find_guardrail, find_preset
from agentdeck.domain.catalog import AgentSpec
from agentdeck.domain.catalog.guardrails import (
    GUARDRAILS,
    PRESETS,
    GuardrailCheck,
    GuardrailSpec,
)
from agentdeck.domain.catalog.guardrails import (
    GuardrailPreset as PresetSpec,
)
from agentdeck.domain.common import access
from agentdeck.domain.common.limits import Limit
from agentdeck.schema import graph
from agentdeck.schema.limits import limited
from agentdeck.schema.permissions import Scope, Verified, allow

CATALOG = allow(Verified(), Scope("tools:read"))
Key = Annotated[str, strawberry.argument(metadata=limited(Limit(min_length=1, max_length=128)))]


@strawberry.enum(description="When in a turn a guardrail runs.")
class GuardrailStage(Enum):
    PRE_FLIGHT = strawberry.enum_value("pre_flight", description="On the user's message, before anything else.")
    INPUT = strawberry.enum_value("input", description="On the user's message, before the model sees it.")
    OUTPUT = strawberry.enum_value("output", description="On the model's answer, before the user gets it.")
    TOOL_INPUT = strawberry.enum_value("tool_input", description="On a tool call's arguments.")
    TOOL_OUTPUT = strawberry.enum_value("tool_output", description="On a tool's result.")


@strawberry.enum(description="How a guardrail decides.")
class GuardrailEngine(Enum):
    REGEX = strawberry.enum_value("regex", description="Rules (patterns, lists, lengths).")
    LLM = strawberry.enum_value("llm", description="A language model judges.")
    API = strawberry.enum_value("api", description="A provider's API (e.g. OpenAI moderation).")
    HYBRID = strawberry.enum_value("hybrid", description="A provider's API when configured, rules otherwise.")


@strawberry.type(description="A check agents' turns run (see `guardrailPresets` for how they are grouped).")
class Guardrail(graph.Node):
    guardrail_key: relay.NodeID[str]
    spec: strawberry.Private[GuardrailSpec]

    @classmethod
    def from_spec(cls, spec: GuardrailSpec) -> Guardrail:
        return cls(guardrail_key=spec.key, spec=spec)

    @classmethod
    def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Guardrail | None]:
        access.require_scope(info.context, "tools:read")
        return graph.catalog_nodes(node_ids, GUARDRAILS.get, cls.from_spec, required, "Guardrail")

    @strawberry.field(description="The guardrail's key (as `key`).")
    def database_id(self) -> str:
        return self.spec.key

    @strawberry.field(description="The key presets and `guardrail(key:)` use.")
    def key(self) -> str:
        return self.spec.key

    @strawberry.field(description="Its name for people.")
    def display_name(self) -> str:
        return self.spec.display_name

    @strawberry.field(description="What it checks and what it does when it finds something.")
    def description(self) -> str:
        return self.spec.description

    @strawberry.field(description="When in a turn it runs.")
    def stage(self) -> GuardrailStage:
        return GuardrailStage(self.spec.stage)

    @strawberry.field(description="How it decides.")
    def engine(self) -> GuardrailEngine:
        return GuardrailEngine(self.spec.engine)

    @strawberry.field(description="Whether it can mask what it finds instead of refusing the turn.")
    def supports_masking(self) -> bool:
        return self.spec.supports_masking

    @strawberry.field(description="Whether it reads earlier messages of the conversation.")
    def uses_conversation_history(self) -> bool:
        return self.spec.uses_conversation_history

    @strawberry.field(description="Whether a failure of the check itself refuses the turn.")
    def tripwire_on_error(self) -> bool:
        return self.spec.tripwire_on_error

    @strawberry.field(description="Its configuration where a preset sets none.")
    def default_config(self) -> JSON:
        return JSON(self.spec.default_config)

    @strawberry.field(description="The JSON Schema of its configuration.")
    def config_schema(self) -> JSON:
        return JSON(self.spec.config_schema)


@strawberry.type(description="A guardrail with its configuration, as a preset or an agent runs it.")
class ConfiguredGuardrail:
    check: strawberry.Private[GuardrailCheck]

    @strawberry.field(description="The guardrail.")
    def guardrail(self) -> Guardrail:
        return Guardrail.from_spec(GUARDRAILS[self.check.guardrail_key])

    @strawberry.field(description="Whether it runs (a preset may list a guardrail it leaves off).")
    def enabled(self) -> bool:
        return self.check.enabled

    @strawberry.field(
        description="Its configuration: a preset's is merged over the guardrail's `defaultConfig`; an agent's "
        "is the merged, effective one."
    )
    def config(self) -> JSON:
        return JSON(self.check.config)


@strawberry.type(description="A named set of configured guardrails that agents refer to.")
class GuardrailPreset(graph.Node):
    preset_key: relay.NodeID[str]
    preset: strawberry.Private[PresetSpec]

    @classmethod
    def from_preset(cls, preset: PresetSpec) -> GuardrailPreset:
        return cls(preset_key=preset.key, preset=preset)

    @classmethod
    def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[GuardrailPreset | None]:
        access.require_scope(info.context, "tools:read")
        return graph.catalog_nodes(node_ids, PRESETS.get, cls.from_preset, required, "Guardrail preset")

    @strawberry.field(description="The preset's key (as `key`).")
    def database_id(self) -> str:
        return self.preset.key

    @strawberry.field(description="The key agents and `guardrailPreset(key:)` use.")
    def key(self) -> str:
        return self.preset.key

    @strawberry.field(description="Its name for people.")
    def display_name(self) -> str:
        return self.preset.display_name

    @strawberry.field(description="What it is for.")
    def description(self) -> str:
        return self.preset.description

    @strawberry.field(description="How many guardrails it configures (enabled or not).")
    def guardrail_count(self) -> int:
        return len(self.preset.guardrails)

    @strawberry.field(description="Its guardrails with their configuration, in the order they run.")
    def checks(self) -> graph.Connection[ConfiguredGuardrail]:
        return graph.connection_of([ConfiguredGuardrail(check=c) for c in self.preset.guardrails])


def agent_guardrails(spec: AgentSpec) -> list[ConfiguredGuardrail]:
    """The guardrails an agent's turns run, with their effective configuration."""
    return [
        ConfiguredGuardrail(check=GuardrailCheck(g.spec.key, g.config, enabled=True)) for g in spec.active_guardrails
    ]


@strawberry.input(description="Which guardrails `guardrails` lists.")
class GuardrailFilter:
    stage: GuardrailStage | None = strawberry.UNSET


@strawberry.type
class Query:
    @strawberry.field(extensions=CATALOG, description="Every guardrail agents' turns can run.")
    def guardrails(self, filter: GuardrailFilter | None = None) -> graph.Connection[Guardrail]:
        stage = filter.stage.value if filter is not None and filter.stage else None
        return graph.connection_of(
            [Guardrail.from_spec(s) for s in GUARDRAILS.values() if stage is None or s.stage == stage]
        )

    @strawberry.field(extensions=CATALOG, description="The guardrail with this key, or null (NOT_FOUND).")
    def guardrail(self, key: Key) -> Guardrail | None:
        return Guardrail.from_spec(find_guardrail(key))

    @strawberry.field(extensions=CATALOG, description="The guardrail presets agents refer to.")
    def guardrail_presets(self) -> graph.Connection[GuardrailPreset]:
        return graph.connection_of([GuardrailPreset.from_preset(p) for p in PRESETS.values()])

    @strawberry.field(extensions=CATALOG, description="The preset with this key, or null (NOT_FOUND).")
    def guardrail_preset(self, key: Key) -> GuardrailPreset | None:
        return GuardrailPreset.from_preset(find_preset(key))


# -- the legacy REST shapes --------------------------------------------------------------------


@strawberry.type
class GuardrailSummary:
    """The legacy REST listing's guardrail: the catalogue's spec, its stage and engine as their
    wire strings. Each field reads the spec, so the spec's fields are listed nowhere else."""

    spec: strawberry.Private[GuardrailSpec]

    @classmethod
    def from_spec(cls, spec: GuardrailSpec) -> Self:
        return cls(spec=spec)

    @strawberry.field
    def key(self) -> str:
        return self.spec.key

    @strawberry.field
    def display_name(self) -> str:
        return self.spec.display_name

    @strawberry.field
    def description(self) -> str:
        return self.spec.description

    @strawberry.field
    def stage(self) -> str:
        return self.spec.stage

    @strawberry.field
    def engine(self) -> str:
        return self.spec.engine

    @strawberry.field
    def supports_masking(self) -> bool:
        return self.spec.supports_masking


@strawberry.type
class GuardrailDetail(GuardrailSummary):
    """The legacy REST guardrail: the listing's fields, then how it runs and is configured."""

    @strawberry.field
    def uses_conversation_history(self) -> bool:
        return self.spec.uses_conversation_history

    @strawberry.field
    def tripwire_on_error(self) -> bool:
        return self.spec.tripwire_on_error

    @strawberry.field
    def default_config(self) -> JSON:
        return JSON(self.spec.default_config)

    @strawberry.field
    def config_schema(self) -> JSON:
        return JSON(self.spec.config_schema)


@strawberry.type
class PresetSummary:
    key: str
    display_name: str
    description: str
    guardrail_count: int

    @classmethod
    def from_preset(cls, preset: PresetSpec) -> PresetSummary:
        return cls(
            key=preset.key,
            display_name=preset.display_name,
            description=preset.description,
            guardrail_count=len(preset.guardrails),
        )


@strawberry.type
class GuardrailCheckConfigSchema:
    guardrail_key: str
    enabled: bool
    config: JSON


@strawberry.type
class PresetDetail:
    key: str
    display_name: str
    description: str
    guardrail_count: int
    guardrails: list[GuardrailCheckConfigSchema]

    @classmethod
    def from_preset(cls, preset: PresetSpec) -> PresetDetail:
        return cls(
            key=preset.key,
            display_name=preset.display_name,
            description=preset.description,
            guardrail_count=len(preset.guardrails),
            guardrails=[
                GuardrailCheckConfigSchema(guardrail_key=c.guardrail_key, enabled=c.enabled, config=JSON(c.config))
                for c in preset.guardrails
            ],
        )


@strawberry.type
class RestQuery:
    @strawberry.field(extensions=CATALOG)
    def guardrails(self) -> list[GuardrailSummary]:
        return [GuardrailSummary.from_spec(s) for s in GUARDRAILS.values()]

    @strawberry.field(extensions=CATALOG)
    def guardrail(self, guardrail_key: Key) -> GuardrailDetail:
        return GuardrailDetail.from_spec(find_guardrail(guardrail_key))

    @strawberry.field(extensions=CATALOG)
    def guardrail_presets(self) -> list[PresetSummary]:
        return [PresetSummary.from_preset(p) for p in PRESETS.values()]

    @strawberry.field(extensions=CATALOG)
    def guardrail_preset(self, preset_key: Key) -> PresetDetail:
        return PresetDetail.from_preset(find_preset(preset_key))
