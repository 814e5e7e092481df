"""Snapshot tarballs: built once from a directory, stored on disk, served byte for byte.

The SHA-256 is computed over the stored bytes at build time (tarballs are not reproducible
across builds, so the digest only holds for the exact file we keep) and downloads stream
the file in fixed-size chunks, so memory stays flat whatever the snapshot's size.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from server.settings import Settings

# Files that never belong in a published snapshot.
_SKIP = {".git", ".hg", ".svn", "__pycache__", ".DS_Store", "node_modules"}


@dataclass(frozen=True)
class Built:
    path: Path  # where the tarball now lives
    sha256: str  # hex digest of the stored bytes
    size_bytes: int


def snapshot_dir(settings: Settings) -> Path:
    return (
        Path(settings.loup_snapshot_dir)
        if settings.loup_snapshot_dir
        else settings.data_dir / "loup" / "snapshots"
    )


def _filter(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if any(part in _SKIP for part in Path(info.name).parts):
        return None
    if not (info.isfile() or info.isdir()):
        return None  # no symlinks or devices: an installer must not be pointed outside its folder
    # Normalise ownership so the archive carries nothing about the publisher's machine.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


class _NoHardLinks(dict):
    """tarfile remembers inodes to store a second name of a file as a hard link (LNKTYPE),
    which `_filter` would drop; forgetting them stores every name as its own regular file."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def build_tarball(source: Path, target: Path) -> Built:
    """Pack `source` (a directory) into gzip tar `target`, atomically; return its digest."""
    source = Path(source)
    if not source.is_dir():
        raise ValueError(f"{source} is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            archive.inodes = _NoHardLinks()
            for entry in sorted(source.iterdir()):
                archive.add(entry, arcname=entry.name, filter=_filter)
        digest, size = file_digest(tmp)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Built(target, digest, size)


def file_digest(path: Path, chunk: int = 1024 * 1024) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size
