from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import GuardrailEngine, GuardrailStage


class GuardrailPreset(BaseModel):
    guardrail_preset: Optional["GuardrailPresetGuardrailPreset"] = Field(
        alias="guardrailPreset"
    )


class GuardrailPresetGuardrailPreset(BaseModel):
    key: str
    guardrail_count: int = Field(alias="guardrailCount")
    checks: "GuardrailPresetGuardrailPresetChecks"


class GuardrailPresetGuardrailPresetChecks(BaseModel):
    nodes: list["GuardrailPresetGuardrailPresetChecksNodes"]


class GuardrailPresetGuardrailPresetChecksNodes(BaseModel):
    enabled: bool
    config: Any
    guardrail: "GuardrailPresetGuardrailPresetChecksNodesGuardrail"


class GuardrailPresetGuardrailPresetChecksNodesGuardrail(BaseModel):
    key: str
    stage: GuardrailStage
    engine: GuardrailEngine
    supports_masking: bool = Field(alias="supportsMasking")


GuardrailPreset.model_rebuild()
GuardrailPresetGuardrailPreset.model_rebuild()
GuardrailPresetGuardrailPresetChecks.model_rebuild()
GuardrailPresetGuardrailPresetChecksNodes.model_rebuild()
