"""loup: handlers for skills operations (see specs/loup.json)."""

from __future__ import annotations

import os

import flask

from handlers.loup import access, catalog, snapshots
from server.errors import ApiError
from server.settings import current
from storage import db
from storage.loup import Install, PackVersion


def download_skill_snapshot(version: str | None = None) -> flask.Response:
    """GET /api/v1/skills/download: stream the approved snapshot of the token's pack.

    Without `version`: the latest approved one. A version still being prepared answers 409;
    an unknown (or unapproved) one 404. The tarball streams from disk in fixed-size chunks.
    """
    info, headers = access.install()
    owned = catalog.owned(info["install_id"])
    row = _pick(owned.pack.id, version, headers)
    path = snapshots.snapshot_dir(current()) / row.path
    try:
        handle = path.open("rb")
    except OSError:
        raise ApiError(
            502, "SNAPSHOT_FETCH_FAILED", "snapshot fetch failed", headers=headers
        ) from None
    if os.fstat(handle.fileno()).st_size != row.size_bytes:
        handle.close()  # truncated or replaced on disk: the digest would not match
        raise ApiError(502, "SNAPSHOT_FETCH_FAILED", "snapshot fetch failed", headers=headers)
    # What the buyer now has installed (shown to the creator as installed_version).
    installed = Install.update(installed_version=row.version).where(
        (Install.id == owned.install.id)
        & (Install.installed_version.is_null() | (Install.installed_version != row.version))
    )
    with db.write():
        installed.execute()
    filename = f"{owned.creator.handle}-{owned.pack.slug}-{row.version}.tar.gz"
    return flask.Response(
        snapshots.stream(handle, current().loup_download_chunk_bytes),
        status=200,
        mimetype="application/gzip",
        headers={
            **headers,
            "Content-Length": str(row.size_bytes),
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Loup-Version": row.version,
            "X-Content-Sha256": row.sha256,
            "Cache-Control": "private, no-store",
        },
        direct_passthrough=True,
    )


def _pick(pack_id: str, version: str | None, headers: dict[str, str]) -> PackVersion:
    if version is not None:
        row = catalog.find_version(pack_id, version)
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"version {version} not found", headers=headers)
    else:
        row = catalog.latest_approved(pack_id)
        if row is None:
            preparing = PackVersion.get_or_none(
                (PackVersion.pack == pack_id) & (PackVersion.state == "preparing")
            )
            if preparing is None:
                raise ApiError(
                    404, "NOT_FOUND", "this pack has no released version yet", headers=headers
                )
            row = preparing
    if row.state == "preparing":
        raise ApiError(
            409,
            "NOT_READY",
            "your files are still being prepared; try again shortly",
            headers=headers,
        )
    return row
