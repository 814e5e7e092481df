"""loup: handlers for skills operations (see specs/loup.json)."""

from __future__ import annotations

import os
import typing as t

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from handlers.loup import access, catalog, snapshots
from server.errors import ApiError
from server.settings import current
from storage import db
from storage.loup import Install, PackVersion


async def download_skill_snapshot(request: Request) -> Response:
    """GET /api/v1/skills/download: stream the approved snapshot of the token's pack.

    Without `version`: the latest approved one. A version still being prepared answers 409;
    an unknown (or unapproved) one 404. Native async: a slow client holds no WSGI handler
    thread; the file is read in fixed-size chunks on worker threads, never whole. The buyer's
    installed_version is recorded once the last byte has gone out (not for HEAD, not for an
    aborted transfer).
    """
    owned, row, handle, headers = await db.in_thread(_open, request.query_params.get("version"))
    filename = f"{owned.creator.handle}-{owned.pack.slug}-{row.version}.tar.gz"
    headers = {
        **headers,
        "Content-Length": str(row.size_bytes),
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Loup-Version": row.version,
        "X-Content-Sha256": row.sha256,
        "Cache-Control": "private, no-store",
    }
    if request.method == "HEAD":
        handle.close()
        return Response(status_code=200, headers=headers, media_type="application/gzip")
    chunk = current().loup_download_chunk_bytes

    async def body() -> t.AsyncIterator[bytes]:
        try:
            while data := await anyio.to_thread.run_sync(handle.read, chunk):
                yield data
        finally:
            handle.close()
        await db.in_thread(_record_installed, owned.install.id, row.version)

    return StreamingResponse(body(), status_code=200, headers=headers, media_type="application/gzip")


def _open(version: str | None) -> tuple[catalog.Owned, PackVersion, t.BinaryIO, dict[str, str]]:
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
    return owned, row, handle, headers


def _record_installed(install_id: str, version: str) -> None:
    """What the buyer now has installed (shown to the creator as installed_version)."""
    installed = Install.update(installed_version=version).where(
        (Install.id == install_id)
        & (Install.installed_version.is_null() | (Install.installed_version != version))
    )
    with db.write():
        installed.execute()


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
