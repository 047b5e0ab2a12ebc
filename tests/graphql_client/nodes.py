from typing import Literal, Optional

from pydantic import Field

from .base_model import BaseModel


class Nodes(BaseModel):
    nodes: list[Optional["NodesNodes"]]


class NodesNodes(BaseModel):
    typename__: Literal[
        "ActivityEvent",
        "Agent",
        "BillingEvent",
        "BillingPlan",
        "BillingSubscription",
        "Consent",
        "Container",
        "Conversation",
        "Guardrail",
        "GuardrailPreset",
        "Incident",
        "Message",
        "MfaMethod",
        "Node",
        "NotificationPreference",
        "ServiceAccountToken",
        "SignupInvite",
        "SignupRequest",
        "StatusSubscription",
        "StorageObject",
        "Tenant",
        "Tool",
        "User",
        "UserSession",
        "VectorStore",
        "VectorStoreFile",
        "Workflow",
        "WorkflowRun",
    ] = Field(alias="__typename")
    id: str


Nodes.model_rebuild()
