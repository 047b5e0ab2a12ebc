from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class BindVectorStore(BaseModel):
    bind_vector_store: "BindVectorStoreBindVectorStore" = Field(alias="bindVectorStore")


class BindVectorStoreBindVectorStore(BaseModel):
    vector_store: Optional["BindVectorStoreBindVectorStoreVectorStore"] = Field(
        alias="vectorStore"
    )
    agent_key: Optional[str] = Field(alias="agentKey")
    user_errors: list["BindVectorStoreBindVectorStoreUserErrors"] = Field(
        alias="userErrors"
    )


class BindVectorStoreBindVectorStoreVectorStore(BaseModel):
    id: str
    name: str
    bound_agents: list[str] = Field(alias="boundAgents")


class BindVectorStoreBindVectorStoreUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


BindVectorStore.model_rebuild()
BindVectorStoreBindVectorStore.model_rebuild()
