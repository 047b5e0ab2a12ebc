from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import UserErrorCode


class Login(BaseModel):
    login: "LoginLogin"


class LoginLogin(BaseModel):
    tokens: Optional["LoginLoginTokens"]
    user_errors: list["LoginLoginUserErrors"] = Field(alias="userErrors")


class LoginLoginTokens(BaseModel):
    access_token: str = Field(alias="accessToken")
    expires_at: Any = Field(alias="expiresAt")


class LoginLoginUserErrors(BaseModel):
    field: Optional[list[str]]
    message: str
    code: UserErrorCode


Login.model_rebuild()
LoginLogin.model_rebuild()
