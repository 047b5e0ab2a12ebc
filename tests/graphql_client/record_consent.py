from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class RecordConsent(BaseModel):
    record_consent: "RecordConsentRecordConsent" = Field(alias="recordConsent")


class RecordConsentRecordConsent(BaseModel):
    consent: Optional["RecordConsentRecordConsentConsent"]
    user_errors: list["RecordConsentRecordConsentUserErrors"] = Field(
        alias="userErrors"
    )


class RecordConsentRecordConsentConsent(BaseModel):
    id: str
    database_id: Any = Field(alias="databaseId")
    policy_key: str = Field(alias="policyKey")
    version: str
    accepted_at: Any = Field(alias="acceptedAt")


class RecordConsentRecordConsentUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


RecordConsent.model_rebuild()
RecordConsentRecordConsent.model_rebuild()
