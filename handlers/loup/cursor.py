"""Opaque keyset cursors: base64url of the last item's (created_at, id).

Pages walk (created_at DESC, id DESC). A row inserted while a client pages is newer than
every cursor already handed out, so it can only appear before the current position: pages
never skip or repeat an existing item, unlike offsets.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json


class InvalidCursor(ValueError):
    pass


def encode(created_at: dt.datetime, item_id: str) -> str:
    raw = json.dumps([created_at.astimezone(dt.UTC).isoformat(), item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, item_id = json.loads(raw)
        created_at = dt.datetime.fromisoformat(stamp)
        if not isinstance(item_id, str) or created_at.tzinfo is None:
            raise ValueError("not a cursor")
        # an offset at the edge of the calendar (year 1 or 9999) cannot be moved to UTC
        return created_at.astimezone(dt.UTC), item_id
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError, RecursionError) as exc:
        raise InvalidCursor("cursor is not one this API issued") from exc
