from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from agentdeck.auth.tenancy import Principal
from agentdeck.db.models import Tenant as TenantRow
from agentdeck.domain.common.results import Outcome
from agentdeck.domain.identity import auth as r
from agentdeck.domain.identity import registration
from agentdeck.schema.limits import limited
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

    @classmethod
    def from_signed_in(cls, signed_in: r.SignedIn) -> UserSession:
        access, refresh, session = signed_in.access, signed_in.refresh, signed_in.session
        return cls(
            access_token=access.token,
            refresh_token=refresh.token,
            token_type="bearer",
            expires_at=access.expires_at,
            refresh_expires_at=refresh.expires_at,
            kid=access.kid,
            refresh_kid=refresh.kid,
            scopes=signed_in.scopes,
            tenant_id=session.tenant_id,
            user_id=session.user_id,
            email_verified=signed_in.email_verified,
            session_id=session.id,
        )


@strawberry.type(description="A new tenant's owner, signed in.")
class UserRegistration(UserSession):
    tenant_slug: str

    @classmethod
    def from_registration(cls, registered: registration.Registration) -> UserRegistration:
        signed_in = UserSession.from_signed_in(registered.signed_in)
        return cls(**vars(signed_in), tenant_slug=registered.tenant.slug)


@strawberry.type
class SignupPolicy:
    policy: str
    invite_required: bool
    request_access_enabled: bool

    @classmethod
    def from_policy(cls, policy: r.SignupPolicy) -> SignupPolicy:
        return cls(
            policy=policy.policy,
            invite_required=policy.invite_required,
            request_access_enabled=policy.request_access_enabled,
        )


@strawberry.type(description="A tenant, as its members see it.")
class Tenant:
    id: uuid.UUID
    name: str
    slug: str

    @classmethod
    def from_row(cls, row: TenantRow) -> Tenant:
        return cls(id=row.id, name=row.name, slug=row.slug)


@strawberry.type(description="A signed-in person, in the tenant of their token.")
class User:
    id: uuid.UUID
    email: str
    display_name: str | None
    tenant: Tenant | None = strawberry.field(description="The tenant the access token acts in.")
    role: str | None = strawberry.field(description="The user's role in that tenant: viewer, member, admin or owner.")
    scopes: list[str] = strawberry.field(description="What this access token grants.")
    email_verified: bool = strawberry.field(
        description="Whether the address is verified now. A token issued before verifying still says "
        "`email_verified: false` and is refused on tenant operations: refresh it (`refreshSession`)."
    )
    platform_role: str | None = strawberry.field(description='"platform_operator" for operators, else null.')

    @classmethod
    def from_profile(cls, profile: r.Profile) -> User:
        user = profile.user
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            tenant=Tenant.from_row(profile.tenant) if profile.tenant else None,
            role=profile.role,
            scopes=profile.scopes,
            email_verified=user.email_verified_at is not None,
            platform_role=user.platform_role,
        )


@strawberry.type(description="The legacy REST shape of `GET /api/v1/auth/me` (the raw token claims).")
class CurrentUser:
    user_id: str
    token_payload: JSON


@strawberry.type(description="The legacy REST envelope of `GET /api/v1/auth/me`.")
class CurrentUserResult:
    message: str
    data: CurrentUser

    @classmethod
    def from_outcome(cls, outcome: Outcome[Principal]) -> CurrentUserResult:
        principal = outcome.data
        return cls(
            message=outcome.message,
            data=CurrentUser(user_id=principal.subject.removeprefix("user:"), token_payload=JSON(principal.claims)),
        )


@strawberry.type
class SessionLogout:
    revoked: bool


@strawberry.type
class SessionLogoutResult:
    message: str
    data: SessionLogout

    @classmethod
    def from_outcome(cls, outcome: Outcome[bool]) -> SessionLogoutResult:
        return cls(message=outcome.message, data=SessionLogout(revoked=outcome.data))


@strawberry.type
class SessionLogoutAll:
    revoked: int


@strawberry.type
class SessionLogoutAllResult:
    message: str
    data: SessionLogoutAll

    @classmethod
    def from_outcome(cls, outcome: Outcome[int]) -> SessionLogoutAllResult:
        return cls(message=outcome.message, data=SessionLogoutAll(revoked=outcome.data))


@strawberry.input
class LoginInput:
    email: str
    password: str
    tenant_id: uuid.UUID | None = None


TERMS_DESCRIPTION = "Must be true: the terms of service are accepted."


@strawberry.input
class RegisterInput:
    email: str
    password: str
    tenant_name: str
    accept_terms: bool = strawberry.field(metadata=limited(r.ACCEPT_TERMS), description=TERMS_DESCRIPTION)
    display_name: str | None = None
    plan_code: str | None = None
    trial_days: int | None = None
    invite_token: str | None = None


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.type
class Query:
    @strawberry.field(description="Who may sign up, and how.")
    def signup_policy(self, info: strawberry.Info) -> SignupPolicy:
        return SignupPolicy.from_policy(r.signup_policy(info.context))

    @strawberry.field(extensions=allow(Authenticated()), description="The signed-in user: email, names, tenant, role.")
    async def me(self, info: strawberry.Info) -> User:
        return User.from_profile(await r.me(info.context))

    @strawberry.field(
        extensions=allow(Authenticated()),
        description="The legacy REST form of `me` served at `GET /api/v1/auth/me`: a message and the raw "
        "claims of the access token.",
        deprecation_reason="The legacy REST envelope (GET /api/v1/auth/me); query `me` instead.",
    )
    def me_legacy(self, info: strawberry.Info) -> CurrentUserResult:
        return CurrentUserResult.from_outcome(r.me_legacy(info.context))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Sign in with email and password.")
    async def login(self, info: strawberry.Info, input: LoginInput) -> UserSession:
        return UserSession.from_signed_in(await r.login(info.context, input.email, input.password, input.tenant_id))

    @strawberry.mutation(description="Create a tenant and its owner, and sign in.")
    async def register(self, info: strawberry.Info, input: RegisterInput) -> UserRegistration:
        return UserRegistration.from_registration(
            await registration.register(
                info.context, input.email, input.password, input.tenant_name, input.display_name, input.invite_token
            )
        )

    @strawberry.mutation(description="Exchange a refresh token for a new pair (single use).")
    async def refresh_session(self, info: strawberry.Info, input: RefreshTokenInput) -> UserSession:
        return UserSession.from_signed_in(await r.refresh(info.context, input.refresh_token))

    @strawberry.mutation(extensions=allow(Authenticated()), description="Revoke the session of a refresh token.")
    async def logout(self, info: strawberry.Info, input: RefreshTokenInput) -> SessionLogoutResult:
        return SessionLogoutResult.from_outcome(await r.logout(info.context, input.refresh_token))

    @strawberry.mutation(extensions=allow(Authenticated()), description="Revoke every session of the caller.")
    async def logout_all(self, info: strawberry.Info) -> SessionLogoutAllResult:
        return SessionLogoutAllResult.from_outcome(await r.logout_all(info.context))
