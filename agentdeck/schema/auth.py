"""Identity in the graph: the people (`User`), their tenant (`Tenant`, its members) and their
sign-in sessions (`UserSession`), with sign-in, registration, refresh and sign-out.

The native roots (`Query`, `Mutation`) are the graph's; `RestQuery`/`RestMutation` keep the
legacy shapes the REST routes run (token envelopes, `meLegacy`, the signup policy's strings).
The node types are defined here because the three identity modules share them: `account.py`
(sessions, email, passwords) and `tenants.py` (the tenant root and its settings) import them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from agentdeck.auth.devices import fingerprint, mask_ip, parse_user_agent
from agentdeck.auth.tenancy import Principal
from agentdeck.db.models import Tenant as TenantRow
from agentdeck.db.models.identity import AuthSession
from agentdeck.db.models.identity import User as UserRow
from agentdeck.db.models.mfa import MfaMethod as MfaMethodRow
from agentdeck.domain.common import access
from agentdeck.domain.common.results import Outcome
from agentdeck.domain.identity import account as accounts
from agentdeck.domain.identity import auth as r
from agentdeck.domain.identity import mfa, registration
from agentdeck.domain.identity import tenants as tenancy
from agentdeck.errors import DomainError, Forbidden, InvalidInput, NotFound
from agentdeck.schema import graph, preferences
from agentdeck.schema.billing import BillingSubscription
from agentdeck.schema.limits import limited
from agentdeck.schema.permissions import Authenticated, allow
from agentdeck.schema.preferences import Consent, NotificationPreference
from agentdeck.schema.tenant_settings import TenantSettings

# -- helpers shared by the identity modules ----------------------------------------------------


def user_errors(
    error: DomainError, code: graph.UserErrorCode, fields: Mapping[type[DomainError], list[str]]
) -> list[graph.UserError]:
    """The user errors of a domain error; one whose details name no field takes the path `fields`
    gives its class, if any (a `TenantRequired` is about `input.tenantId`)."""
    found = graph.UserError.from_domain(error, code)
    if found[0].field is None:
        path = next((p for kind, p in fields.items() if isinstance(error, kind)), None)
        if path is not None:
            return [graph.UserError(field=path, message=error.message, code=code)]
    return found


P = TypeVar("P")


async def payload(
    make: Callable[..., P],
    action: Awaitable[dict[str, Any]],
    fields: Mapping[type[DomainError], list[str]] | None = None,
) -> P:
    """`graph.payload` for the identity domain: see `user_errors`."""
    try:
        values = await action
    except DomainError as error:
        code = graph.user_error_code(error)
        if code is None:
            raise
        return make(user_errors=user_errors(error, code, fields or {}))
    return make(user_errors=[], **values)


def decode_id(global_id: str, type_name: str, field: str) -> uuid.UUID:
    """The UUID inside a global id of `type_name`; anything else is not found (ids are opaque)."""
    key = graph.node_uuid(global_id, type_name)
    if key is None:
        raise NotFound(
            f"No {type_name} has this id.",
            details=[{"field": f"input.{field}", "message": f"no {type_name} with this id"}],
        )
    return key


def _viewer_id(principal: Principal | None) -> str | None:
    if principal is None or not principal.subject.startswith("user:"):
        return None
    return principal.subject.removeprefix("user:")


def _tenant_loader(info: strawberry.Info) -> Any:
    ctx = info.context

    async def batch(ids: list[uuid.UUID]) -> list[TenantRow | None]:
        return await tenancy.tenants_by_ids(ctx, ids)

    return graph.loader(info, "identity.tenant", batch)


async def _own_tenant(info: strawberry.Info, tenant_id: uuid.UUID, what: str) -> None:
    """Members and settings are read in the tenant the request acts in; another tenant's object
    (a session's tenant, say) does not show them."""
    if (await access.tenant_context(info.context)).tenant_id != tenant_id:
        raise Forbidden(f"A tenant's {what} are shown only in the tenant this request acts in.")


# -- enums -------------------------------------------------------------------------------------


@strawberry.enum(name="TenantRole", description="A member's role in a tenant, from the least to the most granted.")
class MemberRole(Enum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


@strawberry.enum(description="A platform-wide role, above any tenant's.")
class PlatformRole(Enum):
    PLATFORM_OPERATOR = "platform_operator"


@strawberry.enum(description="Who may sign up (`AGENTDECK_SIGNUP_POLICY`).")
class SignupPolicyKind(Enum):
    PUBLIC = strawberry.enum_value("public", description="Anyone registers.")
    INVITE_ONLY = strawberry.enum_value("invite_only", description="Registration needs an invite token.")
    APPROVAL = strawberry.enum_value(
        "approval", description="People request access; an operator's approval issues an invite."
    )


@strawberry.enum(description="How an access token is presented.")
class TokenType(Enum):
    BEARER = strawberry.enum_value("bearer", description="`Authorization: Bearer <accessToken>`.")


@strawberry.enum(description="The kind of device a session's user agent describes.")
class DeviceType(Enum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    BOT = "bot"


# -- node types --------------------------------------------------------------------------------


@strawberry.type(name="Tenant", description="An organisation: its members share its agents, data and plan.")
class Tenant(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The tenant's UUID (the REST API's `tenant_id`).")
    name: str = strawberry.field(description="The name given at registration.")
    slug: str = strawberry.field(description="A unique, URL-safe handle made from the name at creation.")
    created_at: datetime = strawberry.field(description="When the tenant was created.")

    @classmethod
    def from_row(cls, row: TenantRow) -> Tenant:
        return cls(key=str(row.id), database_id=row.id, name=row.name, slug=row.slug, created_at=row.created_at)

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Tenant | None]:
        rows = await tenancy.visible_tenants(info.context, graph.uuids(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]

    @strawberry.field(description="The tenant's settings (tenant admins; the tenant of the request only).")
    async def settings(self, info: strawberry.Info) -> TenantSettings:
        await access.require_role(info.context, "admin")
        await _own_tenant(info, self.database_id, "settings")
        return TenantSettings.from_settings(await tenancy.get_settings(info.context))

    @strawberry.field(
        description="The tenant's billing subscription, with its plan; null when it has none (billing "
        "viewers; the tenant of the request only)."
    )
    async def billing_subscription(self, info: strawberry.Info) -> BillingSubscription | None:
        return await BillingSubscription.for_tenant(info, self.database_id)

    @strawberry.field(
        description="The tenant's members with their roles, earliest first (verified members; the tenant of "
        "the request only)."
    )
    async def members(
        self, info: strawberry.Info, first: graph.First = None, after: graph.After = None
    ) -> graph.Connection[TenantMember]:
        await _own_tenant(info, self.database_id, "members")
        ctx = info.context
        return await graph.paginate(
            lambda offset, limit: tenancy.list_members(ctx, offset, limit),
            TenantMember.from_member,
            first=first,
            after=after,
        )


@strawberry.type(
    name="User", description="A person with an account, as seen in one tenant: the caller (`me`) or a member."
)
class User(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The user's UUID (the REST API's `user_id`).")
    email: str = strawberry.field(description="The sign-in address, lower-case.")
    display_name: str | None = strawberry.field(description="The name the user goes by, if they gave one.")
    role: MemberRole = strawberry.field(description="The user's role in `tenant`.")
    email_verified: bool = strawberry.field(
        description="Whether the address is verified now. A token issued before verifying still says "
        "`email_verified: false` and is refused on tenant operations: refresh it (`refreshSession`)."
    )
    platform_role: PlatformRole | None = strawberry.field(description="A platform role (operators), else null.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    tenant_id: strawberry.Private[uuid.UUID]
    tenant_row: strawberry.Private[TenantRow | None] = None  # when the reader of the user read it too

    @classmethod
    def of(cls, user: UserRow, tenant_id: uuid.UUID, role: str) -> User:
        return cls(
            key=str(user.id),
            database_id=user.id,
            email=user.email,
            display_name=user.display_name,
            role=MemberRole(role),
            email_verified=user.email_verified_at is not None,
            platform_role=PlatformRole(user.platform_role) if user.platform_role else None,
            created_at=user.created_at,
            tenant_id=tenant_id,
        )

    @classmethod
    def from_member(cls, member: tenancy.Member) -> User:
        return cls.of(member.user, member.tenant_id, member.role)

    @classmethod
    def from_profile(cls, profile: r.Profile) -> User:
        assert profile.tenant is not None and profile.role is not None  # r.viewer guarantees them
        user = cls.of(profile.user, profile.tenant.id, profile.role)
        user.tenant_row = profile.tenant  # read with the user: `me { tenant }` reads nothing more
        return user

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        ids = graph.uuids(node_ids)
        wanted = [i for i in ids if i is not None]
        members = dict(zip(wanted, await tenancy.members_by_user_ids(info.context, wanted), strict=True))
        return [cls.from_member(m) if i is not None and (m := members.get(i)) else None for i in ids]

    def _is_viewer(self, info: strawberry.Info) -> bool:
        return _viewer_id(info.context.principal) == str(self.database_id)

    @strawberry.field(description="The tenant this user is seen in: for `me`, the tenant of the access token.")
    async def tenant(self, info: strawberry.Info) -> Tenant:
        row = self.tenant_row or await _tenant_loader(info).load(self.tenant_id)
        if row is None:
            raise NotFound("Tenant not found.")
        return Tenant.from_row(row)

    @strawberry.field(description="What the access token of this request grants: on the caller only, null on others.")
    def scopes(self, info: strawberry.Info) -> list[str] | None:
        return sorted(info.context.principal.scopes) if self._is_viewer(info) else None

    @strawberry.field(
        description="The policy versions the user accepted, newest first: the caller's own only (null and "
        "FORBIDDEN on anyone else)."
    )
    async def consents(
        self, info: strawberry.Info, first: graph.First = None, after: graph.After = None
    ) -> graph.Connection[Consent] | None:
        if not self._is_viewer(info):
            raise Forbidden("Only a user's own consents are visible.")
        return await preferences.consents_of(info, first, after)

    @strawberry.field(
        description="Which optional notices the user wants, in the tenant of the request (a category without "
        "a preference is sent): the caller's own only (null and FORBIDDEN on anyone else)."
    )
    async def notification_preferences(self, info: strawberry.Info) -> graph.Connection[NotificationPreference] | None:
        if not self._is_viewer(info):
            raise Forbidden("Only a user's own notification preferences are visible.")
        return await preferences.preferences_of(info)

    @strawberry.field(
        description="The user's sign-in sessions across their tenants, most recently active first: the "
        "caller's own only (null and FORBIDDEN on anyone else)."
    )
    async def sessions(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        filter: UserSessionFilter | None = None,
    ) -> graph.Connection[UserSession] | None:
        if not self._is_viewer(info):
            raise Forbidden("Only a user's own sessions are visible.")
        ctx = info.context
        include_revoked = filter.include_revoked if filter is not None else False
        return await graph.paginate(
            lambda offset, limit: accounts.list_sessions(ctx, include_revoked, limit, offset, None),
            lambda row: UserSession.from_row(row, accounts.is_current(ctx, row)),
            first=first,
            after=after,
        )

    @strawberry.field(
        description="The user's second factors (MFA), oldest first: the caller's own only (null and FORBIDDEN on "
        "anyone else). MFA is on while one of them is active."
    )
    async def mfa_methods(
        self,
        info: strawberry.Info,
        first: graph.First = None,
        after: graph.After = None,
        filter: MfaMethodFilter | None = None,
    ) -> graph.Connection[MfaMethod] | None:
        if not self._is_viewer(info):
            raise Forbidden("Only a user's own MFA methods are visible.")
        ctx = info.context
        include_revoked = filter.include_revoked if filter is not None else False
        return await graph.paginate(
            lambda offset, limit: mfa.list_methods(ctx, offset, limit, include_revoked),
            MfaMethod.from_row,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="How many unused recovery codes the user has (`regenerateRecoveryCodes` makes new ones): the "
        "caller's own only (null and FORBIDDEN on anyone else)."
    )
    async def recovery_codes_left(self, info: strawberry.Info) -> int | None:
        if not self._is_viewer(info):
            raise Forbidden("Only a user's own recovery codes are visible.")
        return await mfa.recovery_codes_left(info.context)


@strawberry.type(description="A user's membership of a tenant.")
class TenantMember:
    user: User = strawberry.field(description="The member.")
    role: MemberRole = strawberry.field(description="Their role in the tenant.")
    joined_at: datetime = strawberry.field(description="When they joined it.")

    @classmethod
    def from_member(cls, member: tenancy.Member) -> TenantMember:
        return cls(user=User.from_member(member), role=MemberRole(member.role), joined_at=member.joined_at)


@strawberry.input(description="Which sessions a session list shows.")
class UserSessionFilter:
    include_revoked: bool = strawberry.field(default=False, description="Ended sessions too.")


@strawberry.type(description="The client of a session, read roughly from its user agent.")
class SessionClient:
    platform: str | None = strawberry.field(description='The operating system, e.g. "iOS", "Windows".')
    browser: str | None = strawberry.field(description='The browser or HTTP client, e.g. "Safari", "curl".')
    device: DeviceType | None = strawberry.field(description="Null when the user agent does not say.")
    user_agent: str | None = strawberry.field(description="The user agent as sent (at most 512 characters).")

    @classmethod
    def from_user_agent(cls, user_agent: str | None) -> SessionClient:
        client = parse_user_agent(user_agent)
        return cls(
            platform=client.platform,
            browser=client.browser,
            device=DeviceType(client.device) if client.device else None,
            user_agent=client.user_agent,
        )


@strawberry.type(description="The approximate place of a session (GeoIP).")
class SessionLocation:
    city: str | None = strawberry.field(description="The city, when known.")
    region: str | None = strawberry.field(description="The region or state, when known.")
    country: str | None = strawberry.field(description="The country, when known.")


@strawberry.type(name="UserSession", description="One sign-in of a user: its refresh tokens form one family.")
class UserSession(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The session's UUID (the REST API's `session_id`).")
    created_at: datetime = strawberry.field(description="When it signed in.")
    last_seen_at: datetime | None = strawberry.field(description="When its tokens were last refreshed.")
    revoked_at: datetime | None = strawberry.field(description="When it ended; null while it is live.")
    current: bool = strawberry.field(description="Whether this is the session of the token making this request.")
    client: SessionClient = strawberry.field(description="What it signed in with.")
    ip_address_masked: str | None = strawberry.field(description="The address it signed in from, masked (a.b.c.*).")
    fingerprint: str | None = strawberry.field(description="A short hash of address and user agent.")
    location: SessionLocation | None = strawberry.field(description="Unknown (null) unless GeoIP is configured.")
    tenant_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: AuthSession, current: bool) -> UserSession:
        """The session as its user may see it: the address masked, no GeoIP (always unknown)."""
        return cls(
            key=str(row.id),
            database_id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            revoked_at=row.revoked_at,
            current=current,
            client=SessionClient.from_user_agent(row.user_agent),
            ip_address_masked=mask_ip(row.ip_address),
            fingerprint=fingerprint(row.ip_address, row.user_agent),
            location=None,
            tenant_id=row.tenant_id,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[UserSession | None]:
        ctx = info.context
        ids = graph.uuids(node_ids)
        wanted = [i for i in ids if i is not None]
        rows = dict(zip(wanted, await accounts.sessions_by_ids(ctx, wanted), strict=True))
        return [
            cls.from_row(row, accounts.is_current(ctx, row)) if i is not None and (row := rows.get(i)) else None
            for i in ids
        ]

    @strawberry.field(description="The tenant the session signed in to.")
    async def tenant(self, info: strawberry.Info) -> Tenant:
        row = await _tenant_loader(info).load(self.tenant_id)
        if row is None:
            raise NotFound("Tenant not found.")
        return Tenant.from_row(row)


@strawberry.enum(description="A kind of second factor.")
class MfaMethodType(Enum):
    TOTP = strawberry.enum_value("totp", description="An authenticator app's time-based codes (RFC 6238).")


@strawberry.input(description="Which MFA methods a list shows.")
class MfaMethodFilter:
    include_revoked: bool = strawberry.field(default=False, description="Deleted (revoked) methods too.")


@strawberry.type(
    name="MfaMethod",
    description="A second factor of the caller's: pending until a code verifies it, then active until deleted.",
)
class MfaMethod(graph.Node):
    key: relay.NodeID[str]
    database_id: uuid.UUID = strawberry.field(description="The method's UUID (the REST API's `method_id`).")
    type: MfaMethodType = strawberry.field(description="What kind of factor it is.")
    label: str | None = strawberry.field(description="The name given at enrolment, if any.")
    active: bool = strawberry.field(description="Verified and not deleted: sign-ins need a code of it.")
    created_at: datetime = strawberry.field(description="When it was enrolled.")
    verified_at: datetime | None = strawberry.field(description="When a code first verified it; null while pending.")
    last_used_at: datetime | None = strawberry.field(description="When a code of it was last accepted.")
    revoked_at: datetime | None = strawberry.field(description="When it was deleted; null while it is not.")

    @classmethod
    def from_row(cls, row: MfaMethodRow) -> MfaMethod:
        return cls(
            key=str(row.id),
            database_id=row.id,
            type=MfaMethodType(row.method_type),
            label=row.label,
            active=mfa.is_active(row),
            created_at=row.created_at,
            verified_at=row.verified_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )

    @classmethod
    async def load_nodes(
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[MfaMethod | None]:
        rows = await mfa.methods_by_ids(info.context, graph.uuids(node_ids))
        return [cls.from_row(row) if row is not None else None for row in rows]


@strawberry.type(
    description="A sign-in whose password was right, waiting for a second factor: complete it with "
    "`completeMfaSignIn` and a code of one of `methods` (or a recovery code) before `expiresAt`."
)
class MfaChallenge:
    challenge_token: str = strawberry.field(description="Pass it to `completeMfaSignIn`; it grants nothing else.")
    expires_at: datetime = strawberry.field(description="When the challenge lapses (sign in again after that).")
    methods: graph.Connection[MfaMethod] = strawberry.field(
        description="The user's active methods, any of which completes it."
    )

    @classmethod
    def from_domain(cls, challenge: r.MfaChallenge) -> MfaChallenge:
        return cls(
            challenge_token=challenge.token.token,
            expires_at=challenge.token.expires_at,
            methods=graph.connection_of([MfaMethod.from_row(m) for m in challenge.methods]),
        )


# -- sign-in results ---------------------------------------------------------------------------


@strawberry.type(description="The tokens of a signed-in session. Present the access token as a bearer token.")
class AuthTokens:
    access_token: str = strawberry.field(description="A short-lived JWT: `Authorization: Bearer <accessToken>`.")
    refresh_token: str = strawberry.field(description="Single use: `refreshSession` exchanges it for a new pair.")
    token_type: TokenType = strawberry.field(description="How to present the access token.")
    expires_at: datetime = strawberry.field(description="When the access token expires.")
    refresh_expires_at: datetime = strawberry.field(description="When the refresh token expires.")
    scopes: list[str] = strawberry.field(description="What the access token grants.")

    @classmethod
    def from_signed_in(cls, signed_in: r.SignedIn) -> AuthTokens:
        return cls(
            access_token=signed_in.access.token,
            refresh_token=signed_in.refresh.token,
            token_type=TokenType.BEARER,
            expires_at=signed_in.access.expires_at,
            refresh_expires_at=signed_in.refresh.expires_at,
            scopes=signed_in.scopes,
        )


def _signed_in(signed_in: r.SignedIn) -> dict[str, Any]:
    """A payload's fields for a session just signed in (or refreshed)."""
    return {
        "tokens": AuthTokens.from_signed_in(signed_in),
        "session": UserSession.from_row(signed_in.session, current=False),
        "user": User.of(signed_in.user, signed_in.session.tenant_id, signed_in.role),
    }


TOKENS = "The new tokens."
SESSION = "The session signed in (not the `current` one: that is the session of the token making the request)."
SIGNED_IN_USER = "The user signed in, in the session's tenant."


@strawberry.type(
    description="The result of `login`: a session (`tokens`, `session`, `user`), or, for a user with MFA on, "
    "`mfaChallenge` alone."
)
class LoginPayload:
    tokens: AuthTokens | None = strawberry.field(default=None, description=TOKENS)
    session: UserSession | None = strawberry.field(default=None, description=SESSION)
    user: User | None = strawberry.field(default=None, description=SIGNED_IN_USER)
    mfa_challenge: MfaChallenge | None = strawberry.field(
        default=None,
        description="Set instead of the session when the user has MFA on: the password was right, and "
        "`completeMfaSignIn` with a code opens the session.",
    )
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `register`.")
class RegisterPayload:
    tokens: AuthTokens | None = strawberry.field(default=None, description=TOKENS)
    session: UserSession | None = strawberry.field(default=None, description=SESSION)
    user: User | None = strawberry.field(default=None, description="The new user, owner of the new tenant.")
    tenant: Tenant | None = strawberry.field(default=None, description="The new tenant.")
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `refreshSession`.")
class RefreshSessionPayload:
    tokens: AuthTokens | None = strawberry.field(default=None, description=TOKENS)
    session: UserSession | None = strawberry.field(default=None, description="The session refreshed.")
    user: User | None = strawberry.field(default=None, description=SIGNED_IN_USER)
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `logout`.")
class LogoutPayload:
    revoked: bool | None = strawberry.field(default=None, description="False when the session had already ended.")
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `logoutAll`.")
class LogoutAllPayload:
    revoked_count: int | None = strawberry.field(default=None, description="How many live sessions were ended.")
    user_errors: list[graph.UserError]


@strawberry.type(description="Who may sign up, and how.")
class SignupRules:
    policy: SignupPolicyKind = strawberry.field(description="The policy in force.")
    invite_required: bool = strawberry.field(description="Whether registering needs an invite token.")
    request_access_enabled: bool = strawberry.field(description="Whether people may request access.")

    @classmethod
    def from_policy(cls, policy: r.SignupPolicy) -> SignupRules:
        return cls(
            policy=SignupPolicyKind(policy.policy),
            invite_required=policy.invite_required,
            request_access_enabled=policy.request_access_enabled,
        )


# -- native inputs -----------------------------------------------------------------------------


@strawberry.input(description="Sign in with email and password.")
class LoginInput:
    email: str = strawberry.field(description="The account's address (any case).")
    password: str
    tenant_id: strawberry.ID | None = strawberry.field(
        default=None, description="The tenant to sign in to (its global id): needed by members of several tenants."
    )


TERMS_DESCRIPTION = "Must be true: the terms of service are accepted."


@strawberry.input(description="A new tenant and its owner.")
class RegisterInput:
    email: str = strawberry.field(description="The new account's address.")
    password: str = strawberry.field(description="A passphrase the password rules accept (long enough, not the email).")
    tenant_name: str = strawberry.field(description="The new tenant's name: 2-128 characters.")
    accept_terms: bool = strawberry.field(description=TERMS_DESCRIPTION)
    display_name: str | None = strawberry.field(default=None, description="The name the user goes by.")
    invite_token: str | None = strawberry.field(default=None, description="Needed unless sign-up is public.")


@strawberry.input(description="A refresh token to exchange.")
class RefreshSessionInput:
    refresh_token: str = strawberry.field(description="The latest refresh token of the session.")


@strawberry.input(description="The refresh token of the session to end.")
class LogoutInput:
    refresh_token: str = strawberry.field(description="A refresh token of the caller's session to end.")


# -- native roots ------------------------------------------------------------------------------


@strawberry.type
class Query:
    @strawberry.field(description="Who may sign up, and how.")
    def signup_policy(self, info: strawberry.Info) -> SignupRules:
        return SignupRules.from_policy(r.signup_policy(info.context))

    @strawberry.field(
        extensions=allow(Authenticated()), description="The signed-in user, in the tenant of their token."
    )
    async def me(self, info: strawberry.Info) -> User:
        return User.from_profile(await r.viewer(info.context))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Sign in with email and password. Wrong credentials are an UNAUTHENTICATED error, and "
        "repeated failures a RATE_LIMITED one (not user errors): they are not mistakes to correct field by field. "
        "A user with MFA on gets `mfaChallenge` instead of a session."
    )
    async def login(self, info: strawberry.Info, input: LoginInput) -> LoginPayload:
        async def action() -> dict[str, Any]:
            tenant = decode_id(input.tenant_id, "Tenant", "tenant_id") if input.tenant_id is not None else None
            result = await r.login(info.context, input.email, input.password, tenant)
            if isinstance(result, r.MfaChallenge):
                return {"mfa_challenge": MfaChallenge.from_domain(result)}
            return _signed_in(result)

        return await payload(LoginPayload, action(), {r.TenantRequired: ["input", "tenantId"]})

    @strawberry.mutation(description="Create a tenant and its owner, and sign in. A verification link is mailed.")
    async def register(self, info: strawberry.Info, input: RegisterInput) -> RegisterPayload:
        async def action() -> dict[str, Any]:
            problems = r.ACCEPT_TERMS.problems(input.accept_terms, "input.accept_terms")
            if problems:
                raise InvalidInput(problems[0]["message"], details=problems)
            registered = await registration.register(
                info.context, input.email, input.password, input.tenant_name, input.display_name, input.invite_token
            )
            return {**_signed_in(registered.signed_in), "tenant": Tenant.from_row(registered.tenant)}

        return await payload(RegisterPayload, action(), {registration.EmailTaken: ["input", "email"]})

    @strawberry.mutation(
        description="Exchange a refresh token for a new pair (single use: a used one ends the session). A "
        "refused token is an UNAUTHENTICATED error."
    )
    async def refresh_session(self, info: strawberry.Info, input: RefreshSessionInput) -> RefreshSessionPayload:
        async def action() -> dict[str, Any]:
            return _signed_in(await r.refresh(info.context, input.refresh_token))

        return await payload(RefreshSessionPayload, action())

    @strawberry.mutation(extensions=allow(Authenticated()), description="End the caller's session of a refresh token.")
    async def logout(self, info: strawberry.Info, input: LogoutInput) -> LogoutPayload:
        async def action() -> dict[str, Any]:
            return {"revoked": (await r.logout(info.context, input.refresh_token)).data}

        return await payload(LogoutPayload, action())

    @strawberry.mutation(extensions=allow(Authenticated()), description="End every session of the caller.")
    async def logout_all(self, info: strawberry.Info) -> LogoutAllPayload:
        async def action() -> dict[str, Any]:
            return {"revoked_count": (await r.logout_all(info.context)).data}

        return await payload(LogoutAllPayload, action())


# -- the legacy REST shapes (the routes run these) ---------------------------------------------


@strawberry.type(name="UserSession", description="Tokens for a signed-in session.")
class RestUserSession:
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
    def from_signed_in(cls, signed_in: r.SignedIn) -> RestUserSession:
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


@strawberry.type(name="MfaMethodView", description="A second factor, in the legacy REST shape.")
class RestMfaMethodView:
    id: uuid.UUID
    method_type: str
    label: str | None
    verified_at: str | None
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def from_row(cls, row: MfaMethodRow) -> RestMfaMethodView:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None  # the legacy `.isoformat()` strings

        return cls(
            id=row.id,
            method_type=row.method_type,
            label=row.label,
            verified_at=iso(row.verified_at),
            last_used_at=iso(row.last_used_at),
            revoked_at=iso(row.revoked_at),
        )


@strawberry.type(
    name="MfaChallengeResponse",
    description="The password was right and the user has MFA on: complete with POST /api/v1/auth/mfa/complete.",
)
class RestMfaChallenge:
    mfa_required: bool
    challenge_token: str
    methods: list[RestMfaMethodView]

    @classmethod
    def from_domain(cls, challenge: r.MfaChallenge) -> RestMfaChallenge:
        return cls(
            mfa_required=True,
            challenge_token=challenge.token.token,
            methods=[RestMfaMethodView.from_row(m) for m in challenge.methods],
        )


RestLoginResult = Annotated[RestUserSession | RestMfaChallenge, strawberry.union("LoginResult")]


@strawberry.type(description="A new tenant's owner, signed in.")
class UserRegistration(RestUserSession):
    tenant_slug: str

    @classmethod
    def from_registration(cls, registered: registration.Registration) -> UserRegistration:
        signed_in = RestUserSession.from_signed_in(registered.signed_in)
        return cls(**vars(signed_in), tenant_slug=registered.tenant.slug)


# The legacy shape (strings); also what `requestAccess` answers.
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


@strawberry.input(name="LoginInput")
class RestLoginInput:
    email: str
    password: str
    tenant_id: uuid.UUID | None = None


@strawberry.input(name="RegisterInput")
class RestRegisterInput:
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
class RestQuery:
    @strawberry.field(description="Who may sign up, and how.")
    def signup_policy(self, info: strawberry.Info) -> SignupPolicy:
        return SignupPolicy.from_policy(r.signup_policy(info.context))

    @strawberry.field(
        extensions=allow(Authenticated()),
        description="The legacy REST form of `me` served at `GET /api/v1/auth/me`: a message and the raw "
        "claims of the access token.",
        deprecation_reason="The legacy REST envelope (GET /api/v1/auth/me); query `me` instead.",
    )
    def me_legacy(self, info: strawberry.Info) -> CurrentUserResult:
        return CurrentUserResult.from_outcome(r.me_legacy(info.context))


@strawberry.type
class RestMutation:
    @strawberry.mutation(description="Sign in with email and password (a challenge when the user has MFA on).")
    async def login(self, info: strawberry.Info, input: RestLoginInput) -> RestLoginResult:
        result = await r.login(info.context, input.email, input.password, input.tenant_id)
        if isinstance(result, r.MfaChallenge):
            return RestMfaChallenge.from_domain(result)
        return RestUserSession.from_signed_in(result)

    @strawberry.mutation(description="Create a tenant and its owner, and sign in.")
    async def register(self, info: strawberry.Info, input: RestRegisterInput) -> UserRegistration:
        return UserRegistration.from_registration(
            await registration.register(
                info.context, input.email, input.password, input.tenant_name, input.display_name, input.invite_token
            )
        )

    @strawberry.mutation(description="Exchange a refresh token for a new pair (single use).")
    async def refresh_session(self, info: strawberry.Info, input: RefreshTokenInput) -> RestUserSession:
        return RestUserSession.from_signed_in(await r.refresh(info.context, input.refresh_token))

    @strawberry.mutation(extensions=allow(Authenticated()), description="Revoke the session of a refresh token.")
    async def logout(self, info: strawberry.Info, input: RefreshTokenInput) -> SessionLogoutResult:
        return SessionLogoutResult.from_outcome(await r.logout(info.context, input.refresh_token))

    @strawberry.mutation(extensions=allow(Authenticated()), description="Revoke every session of the caller.")
    async def logout_all(self, info: strawberry.Info) -> SessionLogoutAllResult:
        return SessionLogoutAllResult.from_outcome(await r.logout_all(info.context))
