"""Authentication: Ed25519 signing keys and JWT issue/verification."""
