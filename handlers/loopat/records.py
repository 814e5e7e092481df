"""Loop records: creation with upstream's defaults and limits, the caller's list in creation
order with `after`/`before` cursors, and the Loop shape the API answers with."""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass

from generated.loopat.models import CurrentTurn
from generated.loopat.models import Loop as LoopModel
from handlers.loopat import turns
from server.errors import ApiError
from storage import db
from storage.base import utcnow
from storage.loopat import Loop, User

MAX_TITLE = 200
MAX_METADATA_CHARS = 16_384  # JSON.stringify(metadata).length upstream
DEFAULT_TITLE = "untitled"


@dataclass(frozen=True)
class Page:
    loops: list[Loop]
    has_more: bool


def create_loop(user: str, body: dict[str, t.Any]) -> Loop:
    title = (body.get("title") or "").strip() or DEFAULT_TITLE
    if len(title) > MAX_TITLE:
        raise ApiError(400, "title_too_long", f"title is longer than {MAX_TITLE} characters")
    metadata = body.get("metadata") or {}
    encoded = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    if len(encoded) > MAX_METADATA_CHARS:
        raise ApiError(400, "metadata_too_large", f"metadata is larger than {MAX_METADATA_CHARS} characters of JSON")
    owner = User.get_by_id(user)
    profiles = body.get("profiles")
    if profiles is None:
        profiles = json.loads(owner.default_profiles)
    vault = body.get("vault")
    vault = vault if isinstance(vault, str) and vault.strip() else owner.default_vault
    loop_id = turns.new_loop_id()
    insert = Loop.insert(id=loop_id, user=user, title=title, metadata=encoded, profiles=json.dumps(profiles),
                         vault=vault, repo=body.get("repo") or None, created_at=utcnow())
    with db.write():
        insert.execute()
    return Loop.get(Loop.id == loop_id)


def list_loops(user: str, *, limit: int, after: str | None, before: str | None, archived: bool) -> Page:
    """Newest first. `after`: strictly older than that loop; `before`: strictly newer (the page
    nearest to it). An unknown cursor, or another user's loop, gives an empty page (upstream)."""
    limit = min(100, max(1, limit))
    query = Loop.select().where(Loop.user == user)
    if not archived:
        query = query.where(Loop.archived == False)  # noqa: E712
    for cursor, older in ((after, True), (before, False)):
        if cursor is None:
            continue
        anchor = Loop.get_or_none((Loop.id == turns.loop_id_from_api(cursor)) & (Loop.user == user))
        if anchor is None:
            return Page([], False)
        query = query.where(Loop.seq < anchor.seq if older else Loop.seq > anchor.seq)
    if before is not None and after is None:
        rows = list(query.order_by(Loop.seq.asc()).limit(limit + 1))
        return Page(list(reversed(rows[:limit])), len(rows) > limit)
    rows = list(query.order_by(Loop.seq.desc()).limit(limit + 1))
    return Page(rows[:limit], len(rows) > limit)


def as_json(loop: Loop, runtime: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """The spec's Loop; runtime fields only when given (GET /loops/{id})."""
    fields: dict[str, t.Any] = {
        "id": loop.id,
        "title": loop.title,
        "created_at": loop.created_at,
        "created_by": loop.user,
        "archived": loop.archived,
        "archived_at": loop.archived_at,
        "metadata": json.loads(loop.metadata),
        "profiles": json.loads(loop.profiles),
        "vault": loop.vault,
        "repo": loop.repo,
    }
    if runtime is not None:
        current = runtime["current_turn"]
        fields.update(busy=runtime["busy"], queue_depth=runtime["queue_depth"], turn_count=runtime["turn_count"],
                      current_turn=CurrentTurn(**current) if current else None)
    return LoopModel(**fields).model_dump(mode="json", exclude_unset=True)
