"""The keys that protect multi-factor secrets at rest.

One master key per deployment: `AGENTDECK_MFA_ENCRYPTION_KEY` (any string, stretched with HKDF),
or else 32 random bytes made once under `<var_dir>/keys/mfa.key` (every process sharing the
var_dir agrees on it). Two keys are derived from it:

- TOTP secrets are sealed with AES-256-GCM, a fresh 96-bit nonce each time, and the method's id
  as associated data: a ciphertext copied onto another row does not open.
- recovery codes are stored as HMAC-SHA256(pepper, salt || code) with a random salt per code: a
  leaked table alone (without the key) cannot be brute-forced offline, short as the codes are.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from agentdeck.settings import Settings

NONCE_BYTES = 12
KEY_FILE = "mfa.key"


class SealedSecretUnreadable(Exception):
    """A sealed secret does not open under this key (another key, or an altered row)."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"agentdeck-mfa", info=purpose).derive(master)


class MfaKeys:
    def __init__(self, master: bytes) -> None:
        self._aead = AESGCM(_derive(master, b"totp-secrets"))
        self._pepper = _derive(master, b"recovery-codes")

    def seal(self, secret: str, bound_to: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), bound_to)

    def open(self, sealed: bytes, bound_to: bytes) -> str:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], bound_to).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError) as exc:
            raise SealedSecretUnreadable() from exc

    def code_hash(self, salt: str, code: str) -> str:
        return hmac.new(self._pepper, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def _load_or_create(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            data = path.read_bytes()
            if len(data) == 32:
                return data
            time.sleep(0.01)
        raise RuntimeError(f"MFA key {path} is unreadable") from None
    key = os.urandom(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


@lru_cache(maxsize=8)
def _keys(var_dir: str, configured: str | None) -> MfaKeys:
    master = configured.encode() if configured else _load_or_create(Path(var_dir) / "keys" / KEY_FILE)
    return MfaKeys(master)


def mfa_keys(settings: Settings) -> MfaKeys:
    """The deployment's keys (made once per process and setting)."""
    configured = settings.mfa_encryption_key.get_secret_value() if settings.mfa_encryption_key else None
    return _keys(str(Path(settings.var_dir).resolve()), configured or None)
