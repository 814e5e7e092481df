"""Snapshot downloads: the bytes, their digest, version selection, readiness, isolation."""

from __future__ import annotations

import hashlib
import io
import tarfile

from handlers.loup import provisioning as prov
from handlers.loup import snapshots
from storage.loup import Install, PackVersion
from tests.api.loup.conftest import P


def _unpack(content: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def test_download_latest_approved_snapshot(api, world):
    r = api.get(f"{P}/skills/download", headers=world.token_headers())
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/gzip"
    assert r.headers["x-loup-version"] == "1.1.0"
    assert r.headers["x-content-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert int(r.headers["content-length"]) == len(r.content)
    assert "selr-ai-voice-graded-writer-1.1.0.tar.gz" in r.headers["content-disposition"]
    assert _unpack(r.content) == {"SKILL.md": b"# Writer v1.1\n"}
    # The creator now sees what the buyer installed.
    assert Install.get_by_id(world.ids["alice_install"]).installed_version == "1.1.0"


def test_head_and_an_aborted_transfer_do_not_count_as_installed(api, world):
    head = api.head(f"{P}/skills/download", headers=world.token_headers())
    assert head.status_code == 200 and head.content == b""
    assert head.headers["x-loup-version"] == "1.1.0" and int(head.headers["content-length"]) > 0
    with api.stream("GET", f"{P}/skills/download", headers=world.token_headers()) as r:
        assert r.status_code == 200  # headers only: the client goes away before the body
    assert Install.get_by_id(world.ids["alice_install"]).installed_version is None
    api.get(f"{P}/skills/download", headers=world.token_headers())
    assert Install.get_by_id(world.ids["alice_install"]).installed_version == "1.1.0"


def test_download_named_version(api, world):
    r = api.get(f"{P}/skills/download", params={"version": "1.0.0"}, headers=world.token_headers())
    assert r.status_code == 200 and r.headers["x-loup-version"] == "1.0.0"
    assert r.headers["x-content-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert _unpack(r.content) == {"SKILL.md": b"# Writer\n", "prompts/hook.md": b"Draft a hook\n"}


def test_the_same_bytes_every_time(api, world):
    first = api.get(f"{P}/skills/download", headers=world.token_headers())
    second = api.get(f"{P}/skills/download", headers=world.token_headers())
    assert first.content == second.content
    stored = PackVersion.get(
        (PackVersion.pack == world.ids["writer"]) & (PackVersion.version == "1.1.0")
    )
    assert stored.sha256 == first.headers["x-content-sha256"]


def test_unknown_and_unapproved_versions_are_404(api, world):
    world.publish("writer", "2.0.0", {"SKILL.md": b"secret"}, approve=False)
    for version in ("9.9.9", "2.0.0"):
        r = api.get(
            f"{P}/skills/download", params={"version": version}, headers=world.token_headers()
        )
        assert r.status_code == 404, version
        assert r.json()["code"] == "NOT_FOUND"
    # Unapproved versions never become "latest" either.
    assert (
        api.get(f"{P}/skills/download", headers=world.token_headers()).headers["x-loup-version"]
        == "1.1.0"
    )


def test_preparing_version_is_409(api, world):
    row = world.publish("writer", "1.2.0", {"SKILL.md": b"soon"})
    PackVersion.update(state="preparing").where(PackVersion.id == row.id).execute()
    r = api.get(f"{P}/skills/download", params={"version": "1.2.0"}, headers=world.token_headers())
    assert r.status_code == 409
    assert r.json()["error"] == "your files are still being prepared; try again shortly"
    # While it prepares, the latest ready release is what installs get.
    assert (
        api.get(f"{P}/skills/download", headers=world.token_headers()).headers["x-loup-version"]
        == "1.1.0"
    )


def test_first_release_still_preparing_is_409_without_version(api, world):
    install = prov.create_install(world.ids["kit"])
    _, secret = prov.mint_install_token(install.id)
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get(f"{P}/skills/download", headers=headers).status_code == 404  # nothing released
    row = world.publish("kit", "0.9.0", {"README.md": b"kit"})
    PackVersion.update(state="preparing").where(PackVersion.id == row.id).execute()
    assert api.get(f"{P}/skills/download", headers=headers).status_code == 409


def test_missing_or_truncated_snapshot_file_is_502(api, world):
    row = PackVersion.get(
        (PackVersion.pack == world.ids["writer"]) & (PackVersion.version == "1.1.0")
    )
    path = snapshots.snapshot_dir(world.settings) / row.path
    path.write_bytes(path.read_bytes()[:10])
    r = api.get(f"{P}/skills/download", headers=world.token_headers())
    assert r.status_code == 502 and r.json()["error"] == "snapshot fetch failed"
    path.unlink()
    assert api.get(f"{P}/skills/download", headers=world.token_headers()).status_code == 502


def test_a_snapshot_altered_on_disk_is_502_even_at_the_same_size(api, world):
    row = PackVersion.get(
        (PackVersion.pack == world.ids["writer"]) & (PackVersion.version == "1.1.0")
    )
    path = snapshots.snapshot_dir(world.settings) / row.path
    good = api.get(f"{P}/skills/download", headers=world.token_headers())
    assert good.status_code == 200  # this process has now verified the file once
    altered = bytearray(path.read_bytes())
    altered[len(altered) // 2] ^= 0xFF
    path.write_bytes(bytes(altered))  # rewritten in place: same size, new bytes
    r = api.get(f"{P}/skills/download", headers=world.token_headers())
    assert r.status_code == 502 and r.json()["error"] == "snapshot fetch failed"
    path.write_bytes(good.content)  # restored: the digest matches again
    again = api.get(f"{P}/skills/download", headers=world.token_headers())
    assert again.status_code == 200 and again.content == good.content
    assert again.headers["x-content-sha256"] == hashlib.sha256(again.content).hexdigest()


def test_a_token_only_reaches_its_own_pack(api, world):
    r = api.get(f"{P}/skills/download", headers=world.token_headers("bob_install"))
    assert r.headers["x-loup-version"] == "0.1.0"
    assert _unpack(r.content) == {"SKILL.md": b"# Ledger\n"}
    # Asking bob's token for one of alice's versions finds nothing.
    r = api.get(
        f"{P}/skills/download",
        params={"version": "1.1.0"},
        headers=world.token_headers("bob_install"),
    )
    assert r.status_code == 404


def test_download_needs_an_install_token(api, world):
    assert api.get(f"{P}/skills/download").status_code == 401
    assert api.get(f"{P}/skills/download", headers=world.creator_headers()).status_code == 401
