"""`lastUsedAt` of API tokens, updated on use without slowing the request.

Upstream updates it best-effort after every successful resolve. Here the security function
(on the event loop) only records "token X was used at T" in memory, and at most once per
interval per token; a background thread writes everything recorded in one transaction every
LOOPAT_TOKEN_TOUCH_SECONDS. A request never waits for that write. What a crashed process had
not written yet is lost, which only makes `lastUsedAt` a few seconds staler.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time

from server.settings import current
from storage import db
from storage.base import utcnow
from storage.loopat import ApiToken

log = logging.getLogger("pentapi.loopat")

_lock = threading.Lock()
_pending: dict[str, dt.datetime] = {}  # token id -> when it was last used
_wake = threading.Event()
_thread: threading.Thread | None = None


def record(token_id: str, last_written: dt.datetime | None) -> None:
    """Note a use of `token_id`; skipped when the stored value is younger than one interval."""
    now = utcnow()
    interval = current().loopat_token_touch_seconds
    if last_written is not None and (now - last_written).total_seconds() < interval:
        return
    with _lock:
        _pending[token_id] = now
    _ensure_thread()


def flush() -> int:
    """Write everything recorded so far (one transaction); returns how many tokens."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    if not batch:
        return 0
    updates = [ApiToken.update(last_used_at=when).where(
        (ApiToken.id == token_id) & ((ApiToken.last_used_at.is_null()) | (ApiToken.last_used_at < when)))
        for token_id, when in batch.items()]
    try:
        with db.database.connection_context(), db.write():
            for update in updates:
                update.execute()
    except Exception:  # best effort, like upstream: never let this thread die
        log.warning("could not record lastUsedAt for %d token(s)", len(batch), exc_info=True)
    return len(batch)


def _ensure_thread() -> None:
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="loopat-token-touch", daemon=True)
            _thread.start()


def _run() -> None:
    last = time.monotonic()
    while True:
        # Short naps, so a changed interval (settings are per app) takes effect within a second.
        interval = max(0.05, current().loopat_token_touch_seconds)
        _wake.wait(min(1.0, interval))
        _wake.clear()
        if time.monotonic() - last >= interval:
            last = time.monotonic()
            flush()


atexit.register(flush)
