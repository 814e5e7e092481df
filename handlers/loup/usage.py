"""loup: handlers for usage operations (see specs/loup.json)."""

from __future__ import annotations

import datetime as dt
import json

from generated.loup.models import ApiV1UsageGetResponse
from generated.loup.models import UsageEvent as UsageEventOut
from handlers.loup import access
from server.errors import ApiError
from storage.base import utcnow
from storage.loup import Pack, UsageEvent

DEFAULT_WINDOW = dt.timedelta(days=7)


def list_usage(
    pack_id: str | None = None,
    event_type: str | None = None,
    from_: str | None = None,
    to: str | None = None,
    limit: int = 200,
) -> tuple[dict, int, dict[str, str]]:
    """GET /api/v1/usage: the caller's packs' events, newest first, in [from, to).

    `to` defaults to now and `from` to 7 days before `to`: with neither bound, the last 7 days.
    """
    info, headers = access.creator("read:usage")
    start, end = _window(_parse(from_, "from", headers), _parse(to, "to", headers), headers)
    query = (
        UsageEvent.select(UsageEvent)
        .join(Pack, on=UsageEvent.pack == Pack.id)
        .where(
            (Pack.creator == info["account_id"])
            & (UsageEvent.occurred_at >= start)
            & (UsageEvent.occurred_at < end)
        )
    )
    if pack_id:
        query = query.where(UsageEvent.pack == pack_id)
    if event_type:
        query = query.where(UsageEvent.event_type == event_type)
    rows = query.order_by(UsageEvent.occurred_at.desc(), UsageEvent.id.desc()).limit(limit)
    body = ApiV1UsageGetResponse(
        data=[
            UsageEventOut(
                id=row.id,
                occurred_at=row.occurred_at,
                event_type=row.event_type,
                install_id=row.install_id,
                payload=json.loads(row.payload) if row.payload else None,
                llm_tokens_used=row.llm_tokens_used,
                llm_cost_usd=row.llm_cost_usd,
            )
            for row in rows
        ]
    )
    return body.model_dump(mode="json", exclude_none=True), 200, headers


def _parse(value: str | None, name: str, headers: dict[str, str]) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError):
        raise ApiError(
            400, "BAD_REQUEST", f"{name} must be an ISO 8601 date-time", headers=headers
        ) from None
    # The spec's `date-time` format (RFC 3339) already refused values without an offset.
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        return (
            dt.datetime.min.replace(tzinfo=dt.UTC)
            if parsed.year == 1
            else dt.datetime.max.replace(tzinfo=dt.UTC)
        )


def _window(
    start: dt.datetime | None, end: dt.datetime | None, headers: dict[str, str]
) -> tuple[dt.datetime, dt.datetime]:
    if end is None:
        end = utcnow()
    if start is None:
        floor = dt.datetime.min.replace(tzinfo=dt.UTC)
        start = end - DEFAULT_WINDOW if end - floor > DEFAULT_WINDOW else floor
    if start > end:
        raise ApiError(400, "BAD_REQUEST", "from must not be later than to", headers=headers)
    return start, end
