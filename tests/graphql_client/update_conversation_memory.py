from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import MemoryMode, UserErrorCode


class UpdateConversationMemory(BaseModel):
    update_conversation_memory: "UpdateConversationMemoryUpdateConversationMemory" = (
        Field(alias="updateConversationMemory")
    )


class UpdateConversationMemoryUpdateConversationMemory(BaseModel):
    memory: Optional["UpdateConversationMemoryUpdateConversationMemoryMemory"]
    conversation: Optional[
        "UpdateConversationMemoryUpdateConversationMemoryConversation"
    ]
    user_errors: list["UpdateConversationMemoryUpdateConversationMemoryUserErrors"] = (
        Field(alias="userErrors")
    )


class UpdateConversationMemoryUpdateConversationMemoryMemory(BaseModel):
    mode: Optional[MemoryMode]
    max_user_turns: Optional[int] = Field(alias="maxUserTurns")
    keep_last_turns: Optional[int] = Field(alias="keepLastTurns")
    compact_trigger_turns: Optional[int] = Field(alias="compactTriggerTurns")
    compact_keep: Optional[int] = Field(alias="compactKeep")
    clear_tool_inputs: Optional[bool] = Field(alias="clearToolInputs")
    memory_injection: Optional[bool] = Field(alias="memoryInjection")


class UpdateConversationMemoryUpdateConversationMemoryConversation(BaseModel):
    id: str


class UpdateConversationMemoryUpdateConversationMemoryUserErrors(BaseModel):
    field: Optional[list[str]]
    code: UserErrorCode


UpdateConversationMemory.model_rebuild()
UpdateConversationMemoryUpdateConversationMemory.model_rebuild()
