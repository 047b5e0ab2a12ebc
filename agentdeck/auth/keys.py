"""Ed25519 signing keys kept on disk under `<var_dir>/keys/`, published as a JWKS.

Layout: one private JWK per key in `<kid>.jwk.json` (mode 0600) and a pointer file `ACTIVE`
holding the kid that signs new tokens. Every other key file is still accepted for verification,
which is what makes rotation possible without logging everybody out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from joserfc.jwk import OKPKey
from joserfc.util import urlsafe_b64decode

ACTIVE_FILE = "ACTIVE"
KEY_SUFFIX = ".jwk.json"
# The legacy contract's kid format. Also the guard that makes `<kid>.jwk.json` safe as a path.
KID_RE = re.compile(r"^ed25519-[0-9a-f]{12}$")


def kid_for(key: OKPKey) -> str:
    """Stable kid: the RFC 7638 thumbprint of the public key, so a key always has the same id."""
    return "ed25519-" + urlsafe_b64decode(key.thumbprint().encode()).hex()[:12]


def _write_new_file(path: Path, data: bytes) -> Path:
    """Write `data` to a fresh private temp file next to `path`; the caller links/renames it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # O_EXCL + 0600 at creation: the private key is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _replace(path: Path, data: bytes) -> None:
    os.replace(_write_new_file(path, data), path)  # atomic: readers see old or new, never half


def _create_exclusive(path: Path, data: bytes) -> bool:
    """Atomically create `path` with `data` unless it already exists. True if we created it."""
    tmp = _write_new_file(path, data)
    try:
        os.link(tmp, path)  # link() fails if `path` exists: the first-start race has one winner
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


class KeyStore:
    """The active signing key plus older keys still accepted for verification."""

    def __init__(self, keys_dir: Path, keys: dict[str, OKPKey], active_kid: str) -> None:
        self.keys_dir = keys_dir
        self._keys = keys
        self.active_kid = active_kid
        self._refresh_jwks()

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def load_or_create(cls, var_dir: Path) -> KeyStore:
        keys_dir = Path(var_dir) / "keys"
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (keys_dir / ACTIVE_FILE).exists():
            return cls._bootstrap(keys_dir)
        return cls._load(keys_dir)

    @classmethod
    def _bootstrap(cls, keys_dir: Path) -> KeyStore:
        """First start: generate a key and try to claim `ACTIVE`; if another process won, use its."""
        key = OKPKey.generate_key("Ed25519", private=True)
        kid = kid_for(key)
        key_path = keys_dir / f"{kid}{KEY_SUFFIX}"
        # The key file goes in before the pointer, so whoever reads ACTIVE finds the key.
        _create_exclusive(key_path, _serialize(key, kid))
        if not _create_exclusive(keys_dir / ACTIVE_FILE, kid.encode()):
            key_path.unlink(missing_ok=True)  # lost the race: our key never signed anything
        return cls._load(keys_dir)

    @classmethod
    def _load(cls, keys_dir: Path) -> KeyStore:
        active = (keys_dir / ACTIVE_FILE).read_text().strip()
        if not KID_RE.match(active):
            raise RuntimeError(f"{keys_dir / ACTIVE_FILE}: malformed kid {active!r}")
        keys: dict[str, OKPKey] = {}
        for path in keys_dir.glob(f"*{KEY_SUFFIX}"):
            loaded = _load_key_file(path)
            if loaded is not None:
                keys[loaded[0]] = loaded[1]
        if active not in keys:
            raise RuntimeError(f"{keys_dir}: active key {active} has no key file")
        return cls(keys_dir, keys, active)

    def reload(self) -> None:
        """Pick up a rotation done by another process sharing the same var_dir."""
        fresh = self._load(self.keys_dir)
        self._keys, self.active_kid = fresh._keys, fresh.active_kid
        self._refresh_jwks()

    # -- rotation ----------------------------------------------------------------------------

    def rotate(self) -> str:
        """Make a new active key; previous keys stay (verification only). Returns the new kid."""
        key = OKPKey.generate_key("Ed25519", private=True)
        kid = kid_for(key)
        _replace(self.keys_dir / f"{kid}{KEY_SUFFIX}", _serialize(key, kid))
        _replace(self.keys_dir / ACTIVE_FILE, kid.encode())
        self._keys[kid] = key
        self.active_kid = kid
        self._refresh_jwks()
        return kid

    def retire(self, kid: str) -> None:
        """Drop an old key: tokens it signed stop verifying. The active key cannot be retired."""
        if kid == self.active_kid:
            raise ValueError("cannot retire the active key; rotate first")
        if KID_RE.match(kid):
            (self.keys_dir / f"{kid}{KEY_SUFFIX}").unlink(missing_ok=True)
        self._keys.pop(kid, None)
        self._refresh_jwks()

    # -- use ---------------------------------------------------------------------------------

    @property
    def signing_key(self) -> OKPKey:
        return self._keys[self.active_kid]

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def verification_key(self, kid: str) -> OKPKey | None:
        """Public key for `kid`, or None. An unknown but well-formed kid is looked up on disk
        once, so a key rotated in by a sibling process verifies without a restart."""
        if kid not in self._keys and KID_RE.match(kid):
            loaded = _load_key_file(self.keys_dir / f"{kid}{KEY_SUFFIX}")
            if loaded is not None and loaded[0] == kid:
                self._keys[kid] = loaded[1]
                self._refresh_jwks()
        return self._public.get(kid)

    def jwks(self) -> dict[str, Any]:
        """`{"keys": [...]}`, active key first; a fresh copy each call."""
        return json.loads(self._jwks_json)

    @property
    def jwks_etag(self) -> str:
        return self._jwks_etag

    def _refresh_jwks(self) -> None:
        # Computed once per key set (not per request): the JWKS endpoint just serves these.
        order = [self.active_kid] + sorted(k for k in self._keys if k != self.active_kid)
        entries = []
        # Verification uses the public halves only: nothing downstream ever needs `d`.
        self._public = {k: OKPKey.import_key(v.as_dict(private=False)) for k, v in self._keys.items()}
        for kid in order:
            pub = self._public[kid].as_dict(private=False)
            entries.append(
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": pub["x"],
                    "kid": kid,
                    "use": "sig",
                    "alg": "EdDSA",
                }
            )
        self._jwks_json = json.dumps({"keys": entries}, separators=(",", ":"), sort_keys=True)
        self._jwks_etag = '"' + hashlib.sha256(self._jwks_json.encode()).hexdigest()[:32] + '"'


def _serialize(key: OKPKey, kid: str) -> bytes:
    return json.dumps({**key.as_dict(private=True), "kid": kid}, indent=2).encode()


def _load_key_file(path: Path) -> tuple[str, OKPKey] | None:
    # A sibling that lost the first-start race deletes its key file; a vanished file is not an error.
    with contextlib.suppress(FileNotFoundError):
        data = json.loads(path.read_text())
        if data.get("kty") != "OKP" or data.get("crv") != "Ed25519" or "d" not in data:
            raise RuntimeError(f"{path}: not an Ed25519 private JWK")
        key = OKPKey.import_key({k: data[k] for k in ("kty", "crv", "x", "d")})
        kid = kid_for(key)
        if data.get("kid") not in (None, kid):
            raise RuntimeError(f"{path}: kid {data.get('kid')!r} does not match the key ({kid})")
        return kid, key
    return None
