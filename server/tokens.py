"""Secrets: minted with `secrets`, stored only as SHA-256 hex, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path


def mint(prefix: str, nbytes: int = 24) -> str:
    """A new secret: prefix + 2*nbytes lowercase hex characters."""
    return prefix + secrets.token_hex(nbytes)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(stored_digest: str, secret: str) -> bool:
    """Constant-time check that `secret` hashes to `stored_digest`."""
    return hmac.compare_digest(stored_digest.encode(), digest(secret).encode())


_local: dict[Path, str] = {}
_local_lock = threading.Lock()


def local_secret(path: Path, nbytes: int = 32) -> str:
    """A random hex secret kept in the file `path` (mode 0600), created the first time.

    For embedded defaults that must be the same in every worker of one data directory (an HMAC
    key, a receiving wallet's key). Creation is race-free across processes: the secret is
    written to a private temporary file and hard-linked into place, which fails if another
    process linked its own first; everyone then reads the one file that won.
    """
    with _local_lock:
        cached = _local.get(path)
        if cached is not None:
            return cached
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(nbytes) + "\n")
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        secret = path.read_text().strip()
        _local[path] = secret
        return secret
