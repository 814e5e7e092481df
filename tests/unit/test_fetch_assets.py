"""The docs UI's assets are taken only from a tarball whose digest is the pinned one."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile

import pytest

from scripts import fetch_assets


def _tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_bytes_that_are_not_the_pinned_tarball_are_refused():
    data = _tarball({name: b"x" for name in fetch_assets.FILES})
    fetch_assets.verify(data, _integrity(data))  # the matching digest passes
    with pytest.raises(fetch_assets.IntegrityError):
        fetch_assets.verify(data)  # not the pinned swagger-ui-dist tarball
    with pytest.raises(fetch_assets.IntegrityError):
        fetch_assets.verify(data[:-1] + bytes([data[-1] ^ 1]), _integrity(data))


def test_unpack_writes_the_files_and_the_stamp(tmp_path):
    files = {name: name.encode() for name in fetch_assets.FILES}
    assert not fetch_assets.current(tmp_path)
    fetch_assets.unpack(_tarball(files), tmp_path)
    assert all((tmp_path / name).read_bytes() == data for name, data in files.items())
    assert fetch_assets.current(tmp_path)
    (tmp_path / "swagger-ui.css").unlink()
    assert not fetch_assets.current(tmp_path)  # a missing file means fetch again


def test_a_tarball_missing_a_file_is_refused(tmp_path):
    with pytest.raises((fetch_assets.IntegrityError, KeyError)):
        fetch_assets.unpack(_tarball({"LICENSE": b"x"}), tmp_path)


def test_the_checkout_has_the_pinned_release():
    # ./run fetched it before the suite; the docs UI tests serve these very files
    assert fetch_assets.current()
