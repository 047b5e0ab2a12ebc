from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class VerifyTotp(BaseModel):
    verify_totp: "VerifyTotpVerifyTotp" = Field(alias="verifyTotp")


class VerifyTotpVerifyTotp(BaseModel):
    method: Optional["VerifyTotpVerifyTotpMethod"]
    user_errors: list["VerifyTotpVerifyTotpUserErrors"] = Field(alias="userErrors")


class VerifyTotpVerifyTotpMethod(BaseModel):
    id: str
    active: bool


class VerifyTotpVerifyTotpUserErrors(BaseModel):
    field: Optional[list[str]]
    code: UserErrorCode


VerifyTotp.model_rebuild()
VerifyTotpVerifyTotp.model_rebuild()
