from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class MfaLogin(BaseModel):
    login: "MfaLoginLogin"


class MfaLoginLogin(BaseModel):
    tokens: Optional["MfaLoginLoginTokens"]
    mfa_challenge: Optional["MfaLoginLoginMfaChallenge"] = Field(alias="mfaChallenge")
    user_errors: list["MfaLoginLoginUserErrors"] = Field(alias="userErrors")


class MfaLoginLoginTokens(BaseModel):
    access_token: str = Field(alias="accessToken")


class MfaLoginLoginMfaChallenge(BaseModel):
    challenge_token: str = Field(alias="challengeToken")
    expires_at: Any = Field(alias="expiresAt")
    methods: "MfaLoginLoginMfaChallengeMethods"


class MfaLoginLoginMfaChallengeMethods(BaseModel):
    nodes: list["MfaLoginLoginMfaChallengeMethodsNodes"]


class MfaLoginLoginMfaChallengeMethodsNodes(BaseModel):
    id: str


class MfaLoginLoginUserErrors(BaseModel):
    field: Optional[list[str]]
    code: UserErrorCode


MfaLogin.model_rebuild()
MfaLoginLogin.model_rebuild()
MfaLoginLoginMfaChallenge.model_rebuild()
MfaLoginLoginMfaChallengeMethods.model_rebuild()
