"""Multi-factor authentication in the graph: enrolling and verifying TOTP authenticators,
deleting them, recovery codes, and completing a sign-in that answered a challenge.

The caller's methods are read on `me { mfaMethods recoveryCodesLeft }`; the types (`MfaMethod`,
`MfaChallenge`) live in `schema/auth.py` with the other identity types, since `login` answers
the challenge. `RestQuery`/`RestMutation` keep the legacy REST shapes (`/api/v1/auth/mfa...`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import strawberry

from agentdeck.domain.identity import auth as r
from agentdeck.domain.identity import mfa
from agentdeck.errors import NotFound, Unauthenticated
from agentdeck.schema import graph
from agentdeck.schema.access_native import bounded, check_input
from agentdeck.schema.account import AccountActionResult
from agentdeck.schema.auth import (
    SESSION,
    SIGNED_IN_USER,
    TOKENS,
    AuthTokens,
    MfaMethod,
    RestMfaMethodView,
    RestUserSession,
    User,
    UserSession,
    _signed_in,
    decode_id,
    payload,
)
from agentdeck.schema.limits import limited
from agentdeck.schema.permissions import Authenticated, allow

CODE_DESCRIPTION = "A six-digit code of the authenticator app (or, to complete a sign-in, a recovery code)."

# -- native inputs and payloads ----------------------------------------------------------------


@strawberry.input(description="A new TOTP authenticator.")
class EnrollTotpInput:
    label: str | None = strawberry.field(
        default=None, metadata=bounded(mfa.LABEL), description="A name to tell it apart (1-64 characters)."
    )


@strawberry.type(description="The result of `enrollTotp`: the secret is shown this once.")
class EnrollTotpPayload:
    method: MfaMethod | None = strawberry.field(default=None, description="The new method, pending until verified.")
    secret: str | None = strawberry.field(default=None, description="The shared secret (base32), for manual entry.")
    otpauth_uri: str | None = strawberry.field(
        default=None, description="The `otpauth://totp/...` key URI an authenticator app scans (as a QR code)."
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="A code of a method, which turns it on.")
class VerifyTotpInput:
    method_id: strawberry.ID = strawberry.field(description="The method (its global id).")
    code: str = strawberry.field(metadata=bounded(mfa.CODE), description="The app's current six-digit code.")


@strawberry.type(description="The result of `verifyTotp`.")
class VerifyTotpPayload:
    method: MfaMethod | None = strawberry.field(default=None, description="The method, now active.")
    user_errors: list[graph.UserError]


@strawberry.input(description="The method to delete.")
class DeleteMfaMethodInput:
    method_id: strawberry.ID = strawberry.field(description="One of the caller's methods (its global id).")


@strawberry.type(description="The result of `deleteMfaMethod`.")
class DeleteMfaMethodPayload:
    method: MfaMethod | None = strawberry.field(default=None, description="The method, revoked.")
    user_errors: list[graph.UserError]


@strawberry.type(description="The result of `regenerateRecoveryCodes`: the codes are shown this once.")
class RegenerateRecoveryCodesPayload:
    recovery_codes: list[str] | None = strawberry.field(
        default=None, description="New one-time codes; every earlier one stopped working."
    )
    user_errors: list[graph.UserError]


@strawberry.input(description="A challenge from `login` and a second factor.")
class CompleteMfaSignInInput:
    challenge_token: str = strawberry.field(
        metadata=bounded(mfa.CHALLENGE_TOKEN), description="`login`'s `mfaChallenge.challengeToken`."
    )
    code: str = strawberry.field(metadata=bounded(mfa.CODE), description=CODE_DESCRIPTION)
    method_id: strawberry.ID | None = strawberry.field(
        default=None, description="The method the code is from (its global id); any active one when omitted."
    )


@strawberry.type(description="The result of `completeMfaSignIn`.")
class CompleteMfaSignInPayload:
    tokens: AuthTokens | None = strawberry.field(default=None, description=TOKENS)
    session: UserSession | None = strawberry.field(default=None, description=SESSION)
    user: User | None = strawberry.field(default=None, description=SIGNED_IN_USER)
    user_errors: list[graph.UserError]


def _method_id(global_id: str) -> uuid.UUID:
    return decode_id(global_id, "MfaMethod", "method_id")


# -- native roots ------------------------------------------------------------------------------


@strawberry.type
class Mutation:
    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Enrol a TOTP authenticator: answers its secret once. It is pending until `verifyTotp` "
        "checks a code of it; then sign-ins need a code. At most five pending and active methods.",
    )
    async def enroll_totp(self, info: strawberry.Info, input: EnrollTotpInput | None = None) -> EnrollTotpPayload:
        async def action() -> dict[str, Any]:
            if input is not None:
                check_input(input)
            enrolled = await mfa.enroll_totp(info.context, input.label if input is not None else None)
            return {
                "method": MfaMethod.from_row(enrolled.method),
                "secret": enrolled.secret,
                "otpauth_uri": enrolled.otpauth_uri,
            }

        return await payload(EnrollTotpPayload, action())

    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Check a code of a method, which turns a pending one on. A wrong code is a user error at "
        "`input.code`; repeated ones are throttled (RATE_LIMITED), as sign-ins are.",
    )
    async def verify_totp(self, info: strawberry.Info, input: VerifyTotpInput) -> VerifyTotpPayload:
        async def action() -> dict[str, Any]:
            check_input(input)
            method = await mfa.verify_totp(info.context, _method_id(input.method_id), input.code)
            return {"method": MfaMethod.from_row(method)}

        return await payload(VerifyTotpPayload, action(), {NotFound: ["input", "methodId"]})

    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Delete (revoke) one of the caller's MFA methods. With no active one left, sign-ins need "
        "the password only.",
    )
    async def delete_mfa_method(self, info: strawberry.Info, input: DeleteMfaMethodInput) -> DeleteMfaMethodPayload:
        async def action() -> dict[str, Any]:
            method = await mfa.delete_method(info.context, _method_id(input.method_id))
            return {"method": MfaMethod.from_row(method)}

        return await payload(DeleteMfaMethodPayload, action(), {NotFound: ["input", "methodId"]})

    @strawberry.mutation(
        extensions=allow(Authenticated()),
        description="Make ten new one-time recovery codes (each completes one sign-in in place of a TOTP code); "
        "the earlier ones stop working.",
    )
    async def regenerate_recovery_codes(self, info: strawberry.Info) -> RegenerateRecoveryCodesPayload:
        async def action() -> dict[str, Any]:
            return {"recovery_codes": await mfa.regenerate_recovery_codes(info.context)}

        return await payload(RegenerateRecoveryCodesPayload, action())

    @strawberry.mutation(
        description="Complete a sign-in that answered `mfaChallenge`, with a TOTP code or a recovery code. A "
        "wrong code or a lapsed challenge is an UNAUTHENTICATED error, repeated wrong codes a RATE_LIMITED one."
    )
    async def complete_mfa_sign_in(
        self, info: strawberry.Info, input: CompleteMfaSignInInput
    ) -> CompleteMfaSignInPayload:
        async def action() -> dict[str, Any]:
            check_input(input)
            method_id = mfa_method_or_none(input.method_id)
            return _signed_in(await r.complete_mfa_sign_in(info.context, input.challenge_token, input.code, method_id))

        return await payload(CompleteMfaSignInPayload, action())


def mfa_method_or_none(global_id: str | None) -> uuid.UUID | None:
    """A method id given to complete a sign-in: one that names no method is a wrong factor (an
    UNAUTHENTICATED error, as a wrong code), not a lookup to report."""
    if global_id is None:
        return None
    key = graph.node_uuid(global_id, "MfaMethod")
    if key is None:
        raise Unauthenticated(mfa.INVALID_CODE)
    return key


# -- the legacy REST shapes --------------------------------------------------------------------


@strawberry.type(name="TotpEnrollResponse")
class RestTotpEnrollment:
    secret: str
    method_id: uuid.UUID
    otpauth_url: str | None


@strawberry.type(name="RecoveryCodesResponse")
class RestRecoveryCodes:
    codes: list[str]


@strawberry.input(name="TotpVerifyRequest")
class RestTotpVerifyInput:
    method_id: uuid.UUID
    code: str = strawberry.field(metadata=limited(mfa.CODE))


@strawberry.input(name="MfaChallengeCompleteRequest")
class RestMfaCompleteInput:
    challenge_token: str = strawberry.field(metadata=limited(mfa.CHALLENGE_TOKEN))
    method_id: uuid.UUID
    code: str = strawberry.field(metadata=limited(mfa.CODE))


Label = Annotated[str | None, strawberry.argument(metadata=limited(mfa.LABEL))]


@strawberry.type
class RestQuery:
    @strawberry.field(extensions=allow(Authenticated()), description="The caller's MFA methods, revoked ones too.")
    async def mfa_methods(self, info: strawberry.Info) -> list[RestMfaMethodView]:
        page = await mfa.list_methods(info.context, 0, mfa.LIST_MAX)
        return [RestMfaMethodView.from_row(row) for row in page.items]


@strawberry.type
class RestMutation:
    @strawberry.mutation(extensions=allow(Authenticated()), description="Enrol a TOTP authenticator.")
    async def enroll_totp(self, info: strawberry.Info, label: Label = None) -> RestTotpEnrollment:
        enrolled = await mfa.enroll_totp(info.context, label)
        return RestTotpEnrollment(
            secret=enrolled.secret, method_id=enrolled.method.id, otpauth_url=enrolled.otpauth_uri
        )

    @strawberry.mutation(extensions=allow(Authenticated()), description="Verify a TOTP method with a code.")
    async def verify_totp(self, info: strawberry.Info, input: RestTotpVerifyInput) -> AccountActionResult:
        await mfa.verify_totp(info.context, input.method_id, input.code)
        return AccountActionResult(message="MFA verified.")

    @strawberry.mutation(extensions=allow(Authenticated()), description="Revoke one of the caller's MFA methods.")
    async def delete_mfa_method(self, info: strawberry.Info, method_id: uuid.UUID) -> AccountActionResult:
        await mfa.delete_method(info.context, method_id)
        return AccountActionResult(message="MFA method revoked.")

    @strawberry.mutation(extensions=allow(Authenticated()), description="Replace the caller's recovery codes.")
    async def regenerate_recovery_codes(self, info: strawberry.Info) -> RestRecoveryCodes:
        return RestRecoveryCodes(codes=await mfa.regenerate_recovery_codes(info.context))

    @strawberry.mutation(description="Complete an MFA challenge with a code; answers the session.")
    async def complete_mfa_sign_in(self, info: strawberry.Info, input: RestMfaCompleteInput) -> RestUserSession:
        signed_in = await r.complete_mfa_sign_in(info.context, input.challenge_token, input.code, input.method_id)
        return RestUserSession.from_signed_in(signed_in)
