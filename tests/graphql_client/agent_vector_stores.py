from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class AgentVectorStores(BaseModel):
    agent: Optional["AgentVectorStoresAgent"]


class AgentVectorStoresAgent(BaseModel):
    key: str
    vector_stores: "AgentVectorStoresAgentVectorStores" = Field(alias="vectorStores")


class AgentVectorStoresAgentVectorStores(BaseModel):
    total_count: int = Field(alias="totalCount")
    nodes: list["AgentVectorStoresAgentVectorStoresNodes"]


class AgentVectorStoresAgentVectorStoresNodes(BaseModel):
    id: str
    name: str
    files: "AgentVectorStoresAgentVectorStoresNodesFiles"


class AgentVectorStoresAgentVectorStoresNodesFiles(BaseModel):
    nodes: list["AgentVectorStoresAgentVectorStoresNodesFilesNodes"]


class AgentVectorStoresAgentVectorStoresNodesFilesNodes(BaseModel):
    file_id: str = Field(alias="fileId")
    filename: str
    download_url: str = Field(alias="downloadUrl")


AgentVectorStores.model_rebuild()
AgentVectorStoresAgent.model_rebuild()
AgentVectorStoresAgentVectorStores.model_rebuild()
AgentVectorStoresAgentVectorStoresNodes.model_rebuild()
AgentVectorStoresAgentVectorStoresNodesFiles.model_rebuild()
