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
        "Container",
        "Conversation",
        "Incident",
        "Message",
        "Node",
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
