from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class EnrollTotp(BaseModel):
    enroll_totp: "EnrollTotpEnrollTotp" = Field(alias="enrollTotp")


class EnrollTotpEnrollTotp(BaseModel):
    method: Optional["EnrollTotpEnrollTotpMethod"]
    secret: Optional[str]
    otpauth_uri: Optional[str] = Field(alias="otpauthUri")
    user_errors: list["EnrollTotpEnrollTotpUserErrors"] = Field(alias="userErrors")


class EnrollTotpEnrollTotpMethod(BaseModel):
    id: str
    active: bool


class EnrollTotpEnrollTotpUserErrors(BaseModel):
    field: Optional[list[str]]
    code: UserErrorCode


EnrollTotp.model_rebuild()
EnrollTotpEnrollTotp.model_rebuild()
