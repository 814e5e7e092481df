"""Secrets: minted with `secrets`, stored only as SHA-256 hex, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def mint(prefix: str, nbytes: int = 24) -> str:
    """A new secret: prefix + 2*nbytes lowercase hex characters."""
    return prefix + secrets.token_hex(nbytes)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(stored_digest: str, secret: str) -> bool:
    """Constant-time check that `secret` hashes to `stored_digest`."""
    return hmac.compare_digest(stored_digest.encode(), digest(secret).encode())
