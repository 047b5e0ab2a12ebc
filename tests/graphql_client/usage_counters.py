from typing import Any

from pydantic import Field

from .base_model import BaseModel


class UsageCounters(BaseModel):
    usage_counters: "UsageCountersUsageCounters" = Field(alias="usageCounters")


class UsageCountersUsageCounters(BaseModel):
    total_count: int = Field(alias="totalCount")
    nodes: list["UsageCountersUsageCountersNodes"]


class UsageCountersUsageCountersNodes(BaseModel):
    day: Any
    input_tokens: int = Field(alias="inputTokens")
    output_tokens: int = Field(alias="outputTokens")
    requests: int
    storage_bytes: int = Field(alias="storageBytes")
    updated_at: Any = Field(alias="updatedAt")


UsageCounters.model_rebuild()
UsageCountersUsageCounters.model_rebuild()
