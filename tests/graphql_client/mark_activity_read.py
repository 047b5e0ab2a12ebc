from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import ActivityReadState, UserErrorCode


class MarkActivityRead(BaseModel):
    mark_activity_read: "MarkActivityReadMarkActivityRead" = Field(
        alias="markActivityRead"
    )


class MarkActivityReadMarkActivityRead(BaseModel):
    event: Optional["MarkActivityReadMarkActivityReadEvent"]
    unread_count: Optional[int] = Field(alias="unreadCount")
    user_errors: list["MarkActivityReadMarkActivityReadUserErrors"] = Field(
        alias="userErrors"
    )


class MarkActivityReadMarkActivityReadEvent(BaseModel):
    id: str
    read_state: ActivityReadState = Field(alias="readState")


class MarkActivityReadMarkActivityReadUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


MarkActivityRead.model_rebuild()
MarkActivityReadMarkActivityRead.model_rebuild()
