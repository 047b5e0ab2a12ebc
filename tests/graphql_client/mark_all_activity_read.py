from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class MarkAllActivityRead(BaseModel):
    mark_all_activity_read: "MarkAllActivityReadMarkAllActivityRead" = Field(
        alias="markAllActivityRead"
    )


class MarkAllActivityReadMarkAllActivityRead(BaseModel):
    unread_count: Optional[int] = Field(alias="unreadCount")
    user_errors: list["MarkAllActivityReadMarkAllActivityReadUserErrors"] = Field(
        alias="userErrors"
    )


class MarkAllActivityReadMarkAllActivityReadUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


MarkAllActivityRead.model_rebuild()
MarkAllActivityReadMarkAllActivityRead.model_rebuild()
