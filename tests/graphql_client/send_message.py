from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import TurnStatus, UserErrorCode


class SendMessage(BaseModel):
    send_message: "SendMessageSendMessage" = Field(alias="sendMessage")


class SendMessageSendMessage(BaseModel):
    response: Optional[str]
    status: Optional[TurnStatus]
    conversation: Optional["SendMessageSendMessageConversation"]
    user_errors: list["SendMessageSendMessageUserErrors"] = Field(alias="userErrors")


class SendMessageSendMessageConversation(BaseModel):
    id: str
    message_count: int = Field(alias="messageCount")


class SendMessageSendMessageUserErrors(BaseModel):
    field: Optional[list[str]]
    code: UserErrorCode


SendMessage.model_rebuild()
SendMessageSendMessage.model_rebuild()
