"""loup: handlers for installs operations (see specs/loup.json)."""

from __future__ import annotations

from generated.loup.models import ApiV1InstallsGetResponse
from generated.loup.models import Install as InstallOut
from handlers.loup import access
from handlers.loup import cursor as cursors
from server.errors import ApiError
from storage.loup import Install, Pack


def list_installs(
    pack_id: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[dict, int, dict[str, str]]:
    """GET /api/v1/installs: installs of the caller's packs, newest first, keyset-paginated.

    Another creator's pack_id simply matches nothing: existence is never revealed.
    """
    info, headers = access.creator("read:installs")
    query = Install.select(Install).join(Pack).where(Pack.creator == info["account_id"])
    if pack_id:
        query = query.where(Install.pack == pack_id)
    if status:
        query = query.where(Install.status == status)
    if cursor:
        try:
            after_at, after_id = cursors.decode(cursor)
        except cursors.InvalidCursor as exc:
            raise ApiError(400, "INVALID_CURSOR", str(exc), headers=headers) from None
        query = query.where(
            (Install.created_at < after_at)
            | ((Install.created_at == after_at) & (Install.id < after_id))
        )
    rows = list(query.order_by(Install.created_at.desc(), Install.id.desc()).limit(limit + 1))
    page, more = rows[:limit], len(rows) > limit
    body = ApiV1InstallsGetResponse(
        data=[
            InstallOut(
                id=row.id,
                skill_pack_id=row.pack_id,
                status=row.status,
                channel=row.channel,
                installed_version=row.installed_version,
                current_period_end=row.current_period_end,
                created_at=row.created_at,
                invocation_count=row.invocation_count,
            )
            for row in page
        ],
        next_cursor=cursors.encode(page[-1].created_at, page[-1].id) if more else None,
    )
    # next_cursor is null on the last page (loup.md: the safe reading of the spec's quirk)
    out = body.model_dump(mode="json", exclude_none=True)
    out["next_cursor"] = body.next_cursor
    for item, row in zip(out["data"], page, strict=True):
        item["channel"] = row.channel  # null when the install has no channel
        item["installed_version"] = row.installed_version
    return out, 200, headers
