"""The server secret and the two codes derived from it.

recovery code = hex HMAC-SHA256(secret, "recover:<project_id>")
upgrade code  = hex HMAC-SHA256(secret, "signup-upgrade:sandbox:<project_id>")

Codes are never stored: they are recomputed whenever needed, so they survive key rotation.
The secret is LOOPKIT_SIGNUP_UPGRADE_SECRET; its embedded default "auto" generates one random
secret into <data_dir>/loopkit/secret the first time it is needed (every worker of one data
directory reads the same file); an empty value means no secret at all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from server.settings import Settings

AUTO = "auto"
_cache: dict[Path, bytes] = {}
_lock = threading.Lock()


def server_secret(settings: Settings) -> bytes | None:
    """The HMAC key, or None when the operator configured none."""
    value = settings.loopkit_secret
    if not value:
        return None
    if value != AUTO:
        return value.encode("utf-8")
    return generated_secret(settings.data_dir / "loopkit" / "secret")


def generated_secret(path: Path) -> bytes:
    """Read the secret at `path`, creating it first when absent.

    Creation is race-free across processes: the secret is written to a private temporary file
    and hard-linked into place, which fails if another process linked its own first; everyone
    then reads the one file that won.
    """
    with _lock:
        cached = _cache.get(path)
        if cached is not None:
            return cached
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        secret = path.read_text().strip().encode("ascii")
        _cache[path] = secret
        return secret


def _code(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def recovery_code(secret: bytes, project_id: str) -> str:
    return _code(secret, f"recover:{project_id}")


def upgrade_code(secret: bytes, project_id: str) -> str:
    return _code(secret, f"signup-upgrade:sandbox:{project_id}")


def matches(expected: str, given: str) -> bool:
    """Constant-time comparison; hex is case-insensitive, surrounding whitespace ignored."""
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8"))
