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

from server import tokens
from server.settings import Settings

AUTO = "auto"


def server_secret(settings: Settings) -> bytes | None:
    """The HMAC key, or None when the operator configured none."""
    value = settings.loopkit_secret
    if not value:
        return None
    if value != AUTO:
        return value.encode("utf-8")
    return tokens.local_secret(settings.data_dir / "loopkit" / "secret").encode("ascii")


def _code(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def recovery_code(secret: bytes, project_id: str) -> str:
    return _code(secret, f"recover:{project_id}")


def upgrade_code(secret: bytes, project_id: str) -> str:
    return _code(secret, f"signup-upgrade:sandbox:{project_id}")


def matches(expected: str, given: str) -> bool:
    """Constant-time comparison; hex is case-insensitive, surrounding whitespace ignored."""
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8"))
