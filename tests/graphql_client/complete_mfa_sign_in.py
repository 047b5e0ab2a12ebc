from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class CompleteMfaSignIn(BaseModel):
    complete_mfa_sign_in: "CompleteMfaSignInCompleteMfaSignIn" = Field(
        alias="completeMfaSignIn"
    )


class CompleteMfaSignInCompleteMfaSignIn(BaseModel):
    tokens: Optional["CompleteMfaSignInCompleteMfaSignInTokens"]
    user_errors: list["CompleteMfaSignInCompleteMfaSignInUserErrors"] = Field(
        alias="userErrors"
    )


class CompleteMfaSignInCompleteMfaSignInTokens(BaseModel):
    access_token: str = Field(alias="accessToken")


class CompleteMfaSignInCompleteMfaSignInUserErrors(BaseModel):
    field: Optional[list[str]]
    code: UserErrorCode


CompleteMfaSignIn.model_rebuild()
CompleteMfaSignInCompleteMfaSignIn.model_rebuild()
