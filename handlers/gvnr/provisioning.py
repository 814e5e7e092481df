"""Creating accounts: shared by POST /v1/account, the admin command and the test fixtures.

The `bg_` key is returned once, in plaintext, beside the row that stores only its digest.
"""

from __future__ import annotations

import uuid

from handlers.gvnr.keys import KEY_PREFIX
from server import tokens
from storage import db
from storage.gvnr import Account


def create_account(ops: int = 0, notification_email: str | None = None) -> tuple[Account, str]:
    """A new account holding `ops` governance operations, and its plaintext key."""
    if ops < 0:
        raise ValueError("ops must be >= 0")
    key = tokens.mint(KEY_PREFIX, 16)  # bg_ + 32 lowercase hex, the service's format
    account = Account(id=str(uuid.uuid4()), key_digest=tokens.digest(key), ops_remaining=ops,
                      notification_email=notification_email)
    with db.write():
        account.save(force_insert=True)
    return account, key
