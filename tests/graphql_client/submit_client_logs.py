from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class SubmitClientLogs(BaseModel):
    submit_client_logs: "SubmitClientLogsSubmitClientLogs" = Field(
        alias="submitClientLogs"
    )


class SubmitClientLogsSubmitClientLogs(BaseModel):
    accepted_count: Optional[int] = Field(alias="acceptedCount")
    user_errors: list["SubmitClientLogsSubmitClientLogsUserErrors"] = Field(
        alias="userErrors"
    )


class SubmitClientLogsSubmitClientLogsUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


SubmitClientLogs.model_rebuild()
SubmitClientLogsSubmitClientLogs.model_rebuild()
