from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import ActivityReadState, UserErrorCode


class DismissActivity(BaseModel):
    dismiss_activity: "DismissActivityDismissActivity" = Field(alias="dismissActivity")


class DismissActivityDismissActivity(BaseModel):
    event: Optional["DismissActivityDismissActivityEvent"]
    unread_count: Optional[int] = Field(alias="unreadCount")
    user_errors: list["DismissActivityDismissActivityUserErrors"] = Field(
        alias="userErrors"
    )


class DismissActivityDismissActivityEvent(BaseModel):
    id: str
    read_state: ActivityReadState = Field(alias="readState")


class DismissActivityDismissActivityUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


DismissActivity.model_rebuild()
DismissActivityDismissActivity.model_rebuild()
