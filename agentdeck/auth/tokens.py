"""Issue and verify the platform's JWTs (legacy contract NOTES §2.1 / §2.5).

EdDSA (Ed25519) only. The header is inspected before any key is looked up, so an `alg` of
`none` or a symmetric algorithm can never be paired with a public key (the classic HS256
key-confusion forgery). Ed25519 is cheap, so everything here is synchronous.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64decode

from agentdeck.auth.keys import KID_RE, KeyStore

INVALID = "Could not validate credentials"
# Told apart from INVALID so a client knows to refresh rather than sign the user out; it is
# only said of a token whose signature verified (claims are checked after the signature).
EXPIRED = "Token has expired."
LEEWAY_SECONDS = 30  # clock skew between hosts, applied to exp/nbf/iat
# Verified tokens remembered until they expire: a client sends the same access token with every
# request, and its EdDSA verification was ~37% of `GET /api/v1/auth/me`. Revocation is not a
# property of the token (callers check the session on every request), so caching cannot outlive it.
VERIFIED_CACHE_SIZE = 10_000

# Claims `extra` may not overwrite: they are what verification and the callers rely on.
_RESERVED = frozenset("sub iss aud exp nbf iat jti token_use scope tenant_id account sid email_verified".split())


class TokenInvalid(Exception):
    """Any verification failure; `message` is safe to return to the client."""

    def __init__(self, message: str = INVALID) -> None:
        super().__init__(message)
        self.message = message


class _EdDSA(EdDSAAlgorithm):
    # joserfc flags "EdDSA" as superseded by RFC 9864's "Ed25519" and warns on every use; the
    # legacy contract and its JWKS consumers expect "EdDSA", so we keep it, without the noise.
    # Empty, not None: joserfc warns only when it is set, and EdDSAAlgorithm types it as a str.
    security_warning = ""


class _EdDSAOnlyRegistry(JWSRegistry):
    # A registry that knows no other algorithm: even if a check above were bypassed, joserfc
    # itself could not verify `none`/HS*/RS* here. Class attributes shadow the global registry.
    algorithms = {"EdDSA": _EdDSA()}
    recommended = ["EdDSA"]


_REGISTRY = _EdDSAOnlyRegistry(algorithms=["EdDSA"])


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    kid: str
    expires_at: datetime  # UTC aware
    issued_at: datetime  # UTC aware
    claims: dict[str, Any]


class TokenService:
    def __init__(
        self,
        keys: KeyStore,
        issuer: str = "agentdeck",
        audience: Sequence[str] = ("agent-api",),
        access_ttl: timedelta = timedelta(minutes=30),
        refresh_ttl: timedelta = timedelta(days=30),
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = list(audience)
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # (token, token_use) -> (claims, kid, exp): tokens whose signature and claims verified.
        self._verified: OrderedDict[tuple[str, str], tuple[dict[str, Any], str, int]] = OrderedDict()

    # -- issuing -----------------------------------------------------------------------------

    def issue_access(
        self,
        *,
        user_id: UUID,
        tenant_id: UUID | None,
        roles: list[str],
        scopes: list[str],
        session_id: UUID,
        email_verified: bool,
    ) -> IssuedToken:
        claims: dict[str, Any] = {"sub": f"user:{user_id}"}
        if tenant_id is not None:  # no claim (not null): §2.3 then falls back to X-Tenant-Id
            claims["tenant_id"] = str(tenant_id)
        claims |= {
            "roles": list(roles),
            "scope": " ".join(scopes),
            "token_use": "access",
            "aud": list(self.audience),
            "email_verified": email_verified,
            "sid": str(session_id),
        }
        return self._sign(claims, self.access_ttl)

    def issue_refresh(
        self,
        *,
        subject: str,
        tenant_id: UUID | None,
        scopes: list[str],
        session_id: UUID | None,
        email_verified: bool | None,
        account: str,
        ttl: timedelta | None = None,
        extra: dict[str, Any] | None = None,
    ) -> IssuedToken:
        """User refresh tokens (`subject`=`account`=`user:<id>`) and service-account tokens
        (`service-account:<name>`, no session, no email_verified). No `aud`, per §2.1."""
        if extra and (clash := _RESERVED & extra.keys()):
            raise ValueError(f"extra claims may not override {sorted(clash)}")
        claims: dict[str, Any] = {"sub": subject, "account": account}
        if tenant_id is not None:
            claims["tenant_id"] = str(tenant_id)
        claims |= {"scope": " ".join(scopes), "token_use": "refresh"}
        if email_verified is not None:  # §2.4: a token without the claim passes the gate
            claims["email_verified"] = email_verified
        if session_id is not None:
            claims["sid"] = str(session_id)
        claims |= extra or {}
        return self._sign(claims, self.refresh_ttl if ttl is None else ttl)

    def issue_mfa_challenge(self, *, user_id: UUID, tenant_id: UUID, ttl: timedelta) -> IssuedToken:
        """A sign-in waiting for its second factor (NOTES §2.1: `token_use="mfa_challenge"`). It
        grants nothing: only the MFA completion accepts it, with a code."""
        claims = {"sub": f"user:{user_id}", "tenant_id": str(tenant_id), "token_use": "mfa_challenge"}
        return self._sign(claims | {"aud": list(self.audience)}, ttl)

    def _sign(self, claims: dict[str, Any], ttl: timedelta) -> IssuedToken:
        now = datetime.now(UTC).replace(microsecond=0)  # NumericDate is whole seconds
        exp = now + ttl
        jti = str(uuid.uuid4())
        iat = int(now.timestamp())
        claims = {
            **claims,
            "iss": self.issuer,
            "jti": jti,
            "iat": iat,
            "nbf": iat,
            "exp": int(exp.timestamp()),
        }
        kid = self.keys.active_kid
        header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
        token = jwt.encode(header, claims, self.keys.signing_key, registry=_REGISTRY)
        return IssuedToken(token=token, jti=jti, kid=kid, expires_at=exp, issued_at=now, claims=claims)

    # -- verification ------------------------------------------------------------------------

    def verify(self, token: str, *, token_use: str = "access") -> dict[str, Any]:
        """Claims of a valid token of kind `token_use`, else `TokenInvalid`.

        A token verified before is answered from memory until its `exp` (plus the leeway) passes
        or its key is retired; a token that failed is verified again each time (nothing to save,
        and an attacker's garbage must not fill the cache)."""
        cache_key = (token, token_use)
        cached = self._verified.get(cache_key)
        if cached is not None:
            claims, kid, exp = cached
            if time.time() <= exp + LEEWAY_SECONDS and self.keys.verification_key(kid) is not None:
                self._verified.move_to_end(cache_key)
                return dict(claims)
            del self._verified[cache_key]
        claims, kid = self._verify(token, token_use)
        self._verified[cache_key] = (claims, kid, int(claims["exp"]))
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return dict(claims)

    def _verify(self, token: str, token_use: str) -> tuple[dict[str, Any], str]:
        header = _unverified_header(token)
        # Algorithm first, key second: a header we did not write never reaches a key.
        if header.get("alg") != "EdDSA":
            raise TokenInvalid()
        kid = header.get("kid")
        if not isinstance(kid, str) or not KID_RE.match(kid):
            raise TokenInvalid()
        key = self.keys.verification_key(kid)
        if key is None:
            raise TokenInvalid()
        try:
            claims = jwt.decode(token, key, algorithms=["EdDSA"], registry=_REGISTRY).claims
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                exp={"essential": True},
                iat={"essential": True},
                sub={"essential": True},
                jti={"essential": True},
                iss={"essential": True, "value": self.issuer},
            ).validate(claims)
        except ExpiredTokenError as exc:
            raise TokenInvalid(EXPIRED) from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise TokenInvalid() from exc
        # token_use before aud: a refresh token has no aud, and the client should be told
        # which kind of token was expected rather than a generic failure.
        if claims.get("token_use") != token_use:
            raise TokenInvalid(f"{token_use.capitalize()} token required.")
        if token_use == "access":
            aud = claims.get("aud")
            auds = [aud] if isinstance(aud, str) else aud
            if not isinstance(auds, list) or not set(self.audience) & {a for a in auds if isinstance(a, str)}:
                raise TokenInvalid()
        return claims, kid


def _unverified_header(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16_384:
        raise TokenInvalid()
    try:
        header = json.loads(urlsafe_b64decode(token.split(".", 1)[0].encode("ascii")))
    except (ValueError, TypeError) as exc:  # bad base64, bad JSON, non-ASCII
        raise TokenInvalid() from exc
    if not isinstance(header, dict):
        raise TokenInvalid()
    return header
