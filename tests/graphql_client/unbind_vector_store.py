from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class UnbindVectorStore(BaseModel):
    unbind_vector_store: "UnbindVectorStoreUnbindVectorStore" = Field(
        alias="unbindVectorStore"
    )


class UnbindVectorStoreUnbindVectorStore(BaseModel):
    vector_store: Optional["UnbindVectorStoreUnbindVectorStoreVectorStore"] = Field(
        alias="vectorStore"
    )
    agent_key: Optional[str] = Field(alias="agentKey")
    user_errors: list["UnbindVectorStoreUnbindVectorStoreUserErrors"] = Field(
        alias="userErrors"
    )


class UnbindVectorStoreUnbindVectorStoreVectorStore(BaseModel):
    id: str
    bound_agents: list[str] = Field(alias="boundAgents")


class UnbindVectorStoreUnbindVectorStoreUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


UnbindVectorStore.model_rebuild()
UnbindVectorStoreUnbindVectorStore.model_rebuild()
