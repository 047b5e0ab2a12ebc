from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class DeleteConversation(BaseModel):
    delete_conversation: "DeleteConversationDeleteConversation" = Field(
        alias="deleteConversation"
    )


class DeleteConversationDeleteConversation(BaseModel):
    deleted_conversation_id: Optional[str] = Field(alias="deletedConversationId")
    user_errors: list["DeleteConversationDeleteConversationUserErrors"] = Field(
        alias="userErrors"
    )


class DeleteConversationDeleteConversationUserErrors(BaseModel):
    field: Optional[list[str]]
    code: UserErrorCode


DeleteConversation.model_rebuild()
DeleteConversationDeleteConversation.model_rebuild()
