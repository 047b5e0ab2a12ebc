from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.resolvers import auth as r
from agentdeck.schema.permissions import Authenticated, allow


@strawberry.type(description="Tokens for a signed-in session.")
class UserSession:
    access_token: str
    refresh_token: str
    token_type: str
    expires_at: datetime
    refresh_expires_at: datetime
    kid: str
    refresh_kid: str
    scopes: list[str]
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email_verified: bool
    session_id: uuid.UUID


@strawberry.type(description="A new tenant's owner, signed in.")
class UserRegistration(UserSession):
    tenant_slug: str


@strawberry.type
class SignupPolicy:
    policy: str
    invite_required: bool
    request_access_enabled: bool


@strawberry.type
class CurrentUser:
    user_id: str
    token_payload: JSON


@strawberry.type
class CurrentUserResult:
    message: str
    data: CurrentUser


@strawberry.type
class SessionLogout:
    revoked: bool


@strawberry.type
class SessionLogoutResult:
    message: str
    data: SessionLogout


@strawberry.type
class SessionLogoutAll:
    revoked: int


@strawberry.type
class SessionLogoutAllResult:
    message: str
    data: SessionLogoutAll


@strawberry.input
class LoginInput:
    email: str
    password: str
    tenant_id: uuid.UUID | None = None


@strawberry.input
class RegisterInput:
    email: str
    password: str
    tenant_name: str
    display_name: str | None = None
    plan_code: str | None = None
    trial_days: int | None = None
    accept_terms: bool = False
    invite_token: str | None = None


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.type
class Query:
    @strawberry.field(description="Who may sign up, and how.")
    def signup_policy(self, info: strawberry.Info) -> SignupPolicy:
        return r.signup_policy(info.context)  # type: ignore[return-value]

    @strawberry.field(extensions=allow(Authenticated()), description="The caller and the claims of its access token.")
    def me(self, info: strawberry.Info) -> CurrentUserResult:
        return r.me(info.context)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Sign in with email and password.")
    async def login(self, info: strawberry.Info, input: LoginInput) -> UserSession:
        return await r.login(info.context, input.email, input.password, input.tenant_id)  # type: ignore[return-value]

    @strawberry.mutation(description="Create a tenant and its owner, and sign in.")
    async def register(self, info: strawberry.Info, input: RegisterInput) -> UserRegistration:
        return await r.register(  # type: ignore[return-value]
            info.context, input.email, input.password, input.tenant_name, input.display_name,
            input.accept_terms, input.invite_token,
        )

    @strawberry.mutation(description="Exchange a refresh token for a new pair (single use).")
    async def refresh_session(self, info: strawberry.Info, input: RefreshTokenInput) -> UserSession:
        return await r.refresh(info.context, input.refresh_token)  # type: ignore[return-value]

    @strawberry.mutation(extensions=allow(Authenticated()), description="Revoke the session of a refresh token.")
    async def logout(self, info: strawberry.Info, input: RefreshTokenInput) -> SessionLogoutResult:
        return await r.logout(info.context, input.refresh_token)  # type: ignore[return-value]

    @strawberry.mutation(extensions=allow(Authenticated()), description="Revoke every session of the caller.")
    async def logout_all(self, info: strawberry.Info) -> SessionLogoutAllResult:
        return await r.logout_all(info.context)  # type: ignore[return-value]
