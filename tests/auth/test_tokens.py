"""Unit tests for agentdeck.auth: keys on disk, JWKS, issue/verify, and forgeries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import multiprocessing
import re
import stat
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jwt
from joserfc.jwk import OKPKey

from agentdeck.auth import tokens
from agentdeck.auth.keys import ACTIVE_FILE, KeyStore
from agentdeck.auth.tokens import IssuedToken, TokenInvalid, TokenService, _EdDSAOnlyRegistry

KID = re.compile(r"^ed25519-[0-9a-f]{12}$")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def craft(header: dict, claims: dict, sign=lambda signing_input: b"") -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    return KeyStore.load_or_create(tmp_path)


@pytest.fixture
def svc(keys: KeyStore) -> TokenService:
    return TokenService(keys)


def access(svc: TokenService, **kw) -> IssuedToken:
    args = dict(
        user_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        roles=["admin"],
        scopes=["conversations:read", "tools:read"],
        session_id=uuid.uuid4(),
        email_verified=True,
    )
    return svc.issue_access(**(args | kw))


def refresh(svc: TokenService, **kw) -> IssuedToken:
    user = f"user:{uuid.uuid4()}"
    args = dict(
        subject=user,
        tenant_id=uuid.uuid4(),
        scopes=["conversations:read"],
        session_id=uuid.uuid4(),
        email_verified=False,
        account=user,
    )
    return svc.issue_refresh(**(args | kw))


def valid_claims(svc: TokenService) -> dict:
    return access(svc).claims


# -- round trips -------------------------------------------------------------------------------


def test_access_round_trip_has_documented_claims(svc: TokenService) -> None:
    user, tenant, sid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    issued = svc.issue_access(
        user_id=user,
        tenant_id=tenant,
        roles=["owner"],
        scopes=["conversations:read", "billing:manage"],
        session_id=sid,
        email_verified=True,
    )
    claims = svc.verify(issued.token)
    assert claims == issued.claims
    assert set(claims) == {
        "sub", "tenant_id", "roles", "scope", "token_use", "iss", "aud", "jti",
        "email_verified", "sid", "iat", "nbf", "exp",
    }  # fmt: skip
    assert claims["sub"] == f"user:{user}"
    assert claims["tenant_id"] == str(tenant)
    assert claims["roles"] == ["owner"]
    assert claims["scope"] == "conversations:read billing:manage"
    assert claims["token_use"] == "access"
    assert claims["iss"] == "agentdeck"
    assert claims["aud"] == ["agent-api"]
    assert claims["email_verified"] is True
    assert claims["sid"] == str(sid)
    assert uuid.UUID(claims["jti"]).version == 4 and claims["jti"] == issued.jti
    assert claims["iat"] == claims["nbf"] == int(issued.issued_at.timestamp())
    assert claims["exp"] - claims["iat"] == 30 * 60
    assert issued.expires_at.tzinfo is not None and issued.expires_at.utcoffset() == timedelta(0)
    assert issued.expires_at == datetime.fromtimestamp(claims["exp"], UTC)

    header = json.loads(unb64(issued.token.split(".")[0]))
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": svc.keys.active_kid}
    assert issued.kid == svc.keys.active_kid


def test_access_without_tenant_omits_claim(svc: TokenService) -> None:
    claims = svc.verify(access(svc, tenant_id=None).token)
    assert "tenant_id" not in claims


def test_refresh_round_trip(svc: TokenService) -> None:
    issued = refresh(svc)
    claims = svc.verify(issued.token, token_use="refresh")
    assert claims["token_use"] == "refresh"
    assert "aud" not in claims
    assert set(claims) == {
        "sub", "tenant_id", "scope", "iss", "email_verified", "jti", "iat", "nbf", "exp",
        "account", "sid", "token_use",
    }  # fmt: skip
    assert claims["account"] == claims["sub"]
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600


def test_service_account_refresh_with_ttl_and_extra(svc: TokenService) -> None:
    issued = svc.issue_refresh(
        subject="service-account:billing-worker",
        tenant_id=None,
        scopes=["billing:read"],
        session_id=None,
        email_verified=None,
        account="billing-worker",
        ttl=timedelta(days=1),
        extra={"fingerprint": "abc"},
    )
    claims = svc.verify(issued.token, token_use="refresh")
    assert claims["sub"] == "service-account:billing-worker"
    assert claims["fingerprint"] == "abc"
    assert not {"sid", "email_verified", "tenant_id", "aud"} & claims.keys()
    assert claims["exp"] - claims["iat"] == 24 * 3600
    with pytest.raises(ValueError):
        refresh(svc, extra={"token_use": "access"})


# -- keys and JWKS -----------------------------------------------------------------------------


def test_kid_format_and_private_file_mode(keys: KeyStore) -> None:
    assert KID.match(keys.active_kid)
    key_file = keys.keys_dir / f"{keys.active_kid}.jwk.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (keys.keys_dir / ACTIVE_FILE).read_text() == keys.active_kid


def test_jwks_shape_and_published_x_verifies(svc: TokenService) -> None:
    jwks = svc.keys.jwks()
    assert list(jwks) == ["keys"] and len(jwks["keys"]) == 1
    entry = jwks["keys"][0]
    assert set(entry) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert entry | {"x": None} == {
        "kty": "OKP", "crv": "Ed25519", "x": None, "kid": svc.keys.active_kid,
        "use": "sig", "alg": "EdDSA",
    }  # fmt: skip

    token = access(svc).token
    signing_input, _, sig = token.rpartition(".")
    # Independent of joserfc: raw Ed25519 verification with only the published x.
    Ed25519PublicKey.from_public_bytes(unb64(entry["x"])).verify(unb64(sig), signing_input.encode())

    etag = svc.keys.jwks_etag
    assert re.fullmatch(r'"[0-9a-f]+"', etag)
    assert svc.keys.jwks_etag == etag
    assert svc.keys.jwks() is not svc.keys.jwks()


def test_key_persisted_and_reused(tmp_path: Path) -> None:
    first = KeyStore.load_or_create(tmp_path)
    token = TokenService(first).issue_access(
        user_id=uuid.uuid4(),
        tenant_id=None,
        roles=["member"],
        scopes=[],
        session_id=uuid.uuid4(),
        email_verified=True,
    )
    second = KeyStore.load_or_create(tmp_path)
    assert second.active_kid == first.active_kid
    assert second.jwks() == first.jwks() and second.jwks_etag == first.jwks_etag
    assert TokenService(second).verify(token.token)["sub"].startswith("user:")


def test_rotation_keeps_old_tokens_verifiable(tmp_path: Path) -> None:
    keys = KeyStore.load_or_create(tmp_path)
    svc = TokenService(keys)
    old_kid, old_etag = keys.active_kid, keys.jwks_etag
    old = access(svc)

    new_kid = keys.rotate()
    assert new_kid != old_kid and KID.match(new_kid) and keys.active_kid == new_kid
    new = access(svc)
    assert new.kid == new_kid
    assert json.loads(unb64(new.token.split(".")[0]))["kid"] == new_kid
    assert svc.verify(old.token)["jti"] == old.jti
    assert svc.verify(new.token)["jti"] == new.jti
    assert [k["kid"] for k in keys.jwks()["keys"]] == [new_kid, old_kid]
    assert keys.jwks_etag != old_etag

    # Persisted: a restart signs with the new key and still accepts the old one.
    restarted = TokenService(KeyStore.load_or_create(tmp_path))
    assert restarted.keys.active_kid == new_kid
    assert restarted.verify(old.token)["jti"] == old.jti

    # Retiring the old key is what finally invalidates its tokens.
    keys.retire(old_kid)
    with pytest.raises(TokenInvalid):
        svc.verify(old.token)


def test_sibling_process_rotation_is_picked_up(tmp_path: Path) -> None:
    a = TokenService(KeyStore.load_or_create(tmp_path))
    b = TokenService(KeyStore.load_or_create(tmp_path))
    b.keys.rotate()
    assert a.verify(access(b).token)  # unknown kid found on disk
    assert b.keys.active_kid in a.keys.kids
    a.keys.reload()
    assert a.keys.active_kid == b.keys.active_kid


def test_first_start_race_loser_adopts_winner(tmp_path: Path) -> None:
    winner = KeyStore.load_or_create(tmp_path)
    # What a process that generated its key concurrently goes through: it loses the ACTIVE link.
    loser = KeyStore._bootstrap(winner.keys_dir)
    assert loser.active_kid == winner.active_kid
    assert sorted(p.name for p in winner.keys_dir.iterdir()) == [
        ACTIVE_FILE,
        f"{winner.active_kid}.jwk.json",
    ]


def _active_kid(var_dir: str) -> str:
    return KeyStore.load_or_create(Path(var_dir)).active_kid


def test_concurrent_first_start_agrees(tmp_path: Path) -> None:
    with multiprocessing.get_context("fork").Pool(6) as pool:
        kids = pool.map(_active_kid, [str(tmp_path)] * 12)
    assert len(set(kids)) == 1
    assert len(list((tmp_path / "keys").glob("*.jwk.json"))) == 1


# -- forgeries and invalid tokens --------------------------------------------------------------


def test_other_key_same_kid_rejected(svc: TokenService) -> None:
    attacker = OKPKey.generate_key("Ed25519")
    header = {"alg": "EdDSA", "typ": "JWT", "kid": svc.keys.active_kid}
    forged = jwt.encode(header, valid_claims(svc), attacker, registry=_EdDSAOnlyRegistry())
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        svc.verify(forged)


def test_unknown_kid_rejected(svc: TokenService) -> None:
    attacker = OKPKey.generate_key("Ed25519")
    for kid in ["ed25519-000000000000", "../../etc/passwd", "x" * 40]:
        header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
        forged = jwt.encode(header, valid_claims(svc), attacker, registry=_EdDSAOnlyRegistry())
        with pytest.raises(TokenInvalid, match="Could not validate credentials"):
            svc.verify(forged)


def test_missing_kid_rejected(svc: TokenService) -> None:
    # Even signed with the real key: a token without kid is refused (§2.1).
    token = jwt.encode(
        {"alg": "EdDSA", "typ": "JWT"},
        valid_claims(svc),
        svc.keys.signing_key,
        registry=_EdDSAOnlyRegistry(),
    )
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        svc.verify(token)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", None])
def test_alg_none_rejected(svc: TokenService, alg: str | None) -> None:
    header = {"typ": "JWT", "kid": svc.keys.active_kid} | ({"alg": alg} if alg else {})
    forged = craft(header, valid_claims(svc))
    assert forged.endswith(".")
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        svc.verify(forged)


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_hmac_with_public_key_as_secret_rejected(svc: TokenService, alg: str) -> None:
    x = svc.keys.jwks()["keys"][0]["x"]
    digest = hashlib.sha256 if alg == "HS256" else hashlib.sha512
    # Every plausible encoding of the public key an HMAC confusion attack might use.
    for secret in [unb64(x), x.encode(), json.dumps(svc.keys.jwks()["keys"][0]).encode()]:
        forged = craft(
            {"alg": alg, "typ": "JWT", "kid": svc.keys.active_kid},
            valid_claims(svc),
            lambda msg, secret=secret: hmac.new(secret, msg, digest).digest(),
        )
        with pytest.raises(TokenInvalid, match="Could not validate credentials"):
            svc.verify(forged)


def test_tampered_payload_rejected(svc: TokenService) -> None:
    header, _, sig = access(svc).token.split(".")
    claims = valid_claims(svc) | {"roles": ["owner"]}
    tampered = f"{header}.{b64(json.dumps(claims).encode())}.{sig}"
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        svc.verify(tampered)


def test_expired_rejected_and_said_so(keys: KeyStore) -> None:
    svc = TokenService(keys, access_ttl=timedelta(minutes=-5), refresh_ttl=timedelta(minutes=-5))
    with pytest.raises(TokenInvalid, match="^Token has expired\\.$"):
        svc.verify(access(svc).token)
    refresh = svc.issue_refresh(
        subject="user:x", tenant_id=None, scopes=[], session_id=uuid.uuid4(), email_verified=True, account="user:x"
    )
    with pytest.raises(TokenInvalid, match="^Token has expired\\.$"):
        svc.verify(refresh.token, token_use="refresh")


def test_expired_forgery_is_invalid_not_expired(svc: TokenService) -> None:
    # "expired" is only said of a token whose signature verified: a forger learns nothing.
    now = int(time.time())
    claims = valid_claims(svc) | {"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}
    header = {"alg": "EdDSA", "typ": "JWT", "kid": svc.keys.active_kid}
    forged = jwt.encode(header, claims, OKPKey.generate_key("Ed25519"), registry=_EdDSAOnlyRegistry())
    with pytest.raises(TokenInvalid, match="^Could not validate credentials$"):
        svc.verify(forged)
    # Within the clock-skew leeway a just-expired token still verifies.
    almost = valid_claims(svc) | {"iat": now - 600, "nbf": now - 600, "exp": now - 10}
    assert svc.verify(jwt.encode(header, almost, svc.keys.signing_key, registry=_EdDSAOnlyRegistry()))


def test_not_yet_valid_rejected_with_leeway(svc: TokenService) -> None:
    def signed(offset: int) -> str:
        now = int(time.time())
        claims = valid_claims(svc) | {"nbf": now + offset, "iat": now, "exp": now + 3600}
        header = {"alg": "EdDSA", "typ": "JWT", "kid": svc.keys.active_kid}
        return jwt.encode(header, claims, svc.keys.signing_key, registry=_EdDSAOnlyRegistry())

    assert svc.verify(signed(10))  # within the 30 s clock-skew leeway
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        svc.verify(signed(600))


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_missing_time_claim_rejected(svc: TokenService, claim: str) -> None:
    claims = valid_claims(svc)
    del claims[claim]
    header = {"alg": "EdDSA", "typ": "JWT", "kid": svc.keys.active_kid}
    token = jwt.encode(header, claims, svc.keys.signing_key, registry=_EdDSAOnlyRegistry())
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        svc.verify(token)


def test_wrong_audience_rejected(keys: KeyStore) -> None:
    other = TokenService(keys, audience=["billing-worker"])
    token = access(other).token
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        TokenService(keys, audience=["agent-api"]).verify(token)
    # Intersection is enough: a verifier serving several audiences accepts it.
    assert TokenService(keys, audience=["agent-api", "billing-worker"]).verify(token)


def test_refresh_presented_as_access_rejected(svc: TokenService) -> None:
    with pytest.raises(TokenInvalid, match=r"^Access token required\.$"):
        svc.verify(refresh(svc).token)
    with pytest.raises(TokenInvalid) as exc:
        svc.verify(access(svc).token, token_use="refresh")
    assert exc.value.message == "Refresh token required."


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "!!!.e30.",
        "e30.e30.",
        b64(b"[]") + ".e30.",
        "é.é.é",
        "a" * 20000,
    ],
)
def test_malformed_rejected(svc: TokenService, token: str) -> None:
    with pytest.raises(TokenInvalid, match="Could not validate credentials"):
        svc.verify(token)


def test_a_verified_token_is_remembered_until_it_expires(svc: TokenService, monkeypatch) -> None:
    token = access(svc)
    decodes = []
    real_decode = tokens.jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode", lambda *a, **kw: decodes.append(1) or real_decode(*a, **kw))
    first = svc.verify(token.token)
    first["sub"] = "tampered"  # callers get a copy: the cache keeps the verified claims
    assert svc.verify(token.token)["sub"].startswith("user:")
    assert len(decodes) == 1
    # A refresh-token check of the same string is its own verification (and fails).
    with pytest.raises(TokenInvalid):
        svc.verify(token.token, token_use="refresh")
    # Past exp and the leeway, the remembered token is verified again, and refused as expired.
    later = token.expires_at.timestamp() + tokens.LEEWAY_SECONDS + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(TokenInvalid):
        svc.verify(token.token)


def test_tokens_that_fail_are_not_remembered(svc: TokenService) -> None:
    forged = access(svc).token[:-4] + "AAAA"
    for _ in range(3):
        with pytest.raises(TokenInvalid):
            svc.verify(forged)
    assert not svc._verified
