"""loup: handlers for skills operations (see specs/loup.json)."""

from __future__ import annotations

import hashlib
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
        while data := await anyio.to_thread.run_sync(handle.read, chunk):
            yield data
        await db.in_thread(_record_installed, owned.install.id, row.version)

    return _FileStream(handle, body(), status_code=200, headers=headers, media_type="application/gzip")


class _FileStream(StreamingResponse):
    """Closes the file when the response ends, however it ends: a client that leaves before
    the first chunk means the body generator never starts, so its own cleanup would never run."""

    def __init__(self, handle: t.BinaryIO, content: t.AsyncIterator[bytes], **kwargs: t.Any) -> None:
        super().__init__(content, **kwargs)
        self.handle = handle

    async def __call__(self, scope: t.Any, receive: t.Any, send: t.Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.handle.close()


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
    if not _matches(handle, row):
        handle.close()  # truncated or altered on disk: X-Content-Sha256 would not match the bytes
        raise ApiError(502, "SNAPSHOT_FETCH_FAILED", "snapshot fetch failed", headers=headers)
    return owned, row, handle, headers


# (inode, size, mtime) of files whose bytes were hashed and found to match their version's
# digest, per process. Snapshots are written once and renamed into place, so a file that keeps
# its identity keeps its bytes; any rewrite changes the key and the file is hashed again.
_verified: set[tuple[int, int, int, str]] = set()


def _matches(handle: t.BinaryIO, row: PackVersion) -> bool:
    stat = os.fstat(handle.fileno())
    if stat.st_size != row.size_bytes:
        return False
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns, row.sha256)
    if key not in _verified:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()  # the first download of this file
        handle.seek(0)
        if digest != row.sha256:
            return False
        _verified.add(key)
    return True


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
