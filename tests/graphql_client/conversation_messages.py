from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import MessageRole


class ConversationMessages(BaseModel):
    conversation: Optional["ConversationMessagesConversation"]


class ConversationMessagesConversation(BaseModel):
    id: str
    agent: Optional["ConversationMessagesConversationAgent"]
    messages: "ConversationMessagesConversationMessages"


class ConversationMessagesConversationAgent(BaseModel):
    key: str


class ConversationMessagesConversationMessages(BaseModel):
    total_count: int = Field(alias="totalCount")
    page_info: "ConversationMessagesConversationMessagesPageInfo" = Field(
        alias="pageInfo"
    )
    nodes: list["ConversationMessagesConversationMessagesNodes"]


class ConversationMessagesConversationMessagesPageInfo(BaseModel):
    has_next_page: bool = Field(alias="hasNextPage")
    end_cursor: Optional[str] = Field(alias="endCursor")


class ConversationMessagesConversationMessagesNodes(BaseModel):
    role: MessageRole
    content: str
    created_at: Any = Field(alias="createdAt")


ConversationMessages.model_rebuild()
ConversationMessagesConversation.model_rebuild()
ConversationMessagesConversationMessages.model_rebuild()
