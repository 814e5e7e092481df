"""Snapshot building and the provisioning rules."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from handlers.loup import provisioning as prov
from handlers.loup import snapshots
from server.settings import Settings
from storage.loup import ApiKey, InstallToken


def test_build_tarball_digest_and_contents(tmp_path):
    source = tmp_path / "pack"
    (source / "prompts").mkdir(parents=True)
    (source / "SKILL.md").write_text("# Skill\n")
    (source / "prompts" / "a.md").write_text("A\n")
    (source / ".git").mkdir()
    (source / ".git" / "HEAD").write_text("ref")
    (source / "link").symlink_to("/etc/passwd")
    built = snapshots.build_tarball(source, tmp_path / "out" / "v1.tar.gz")
    data = built.path.read_bytes()
    assert built.sha256 == hashlib.sha256(data).hexdigest() and built.size_bytes == len(data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert set(members) == {"SKILL.md", "prompts", "prompts/a.md"}
    assert all(m.uid == 0 and m.uname == "" for m in members.values())
    assert list((tmp_path / "out").iterdir()) == [built.path]  # no partial file left behind


def test_build_tarball_keeps_both_names_of_a_hard_linked_file(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.md").write_text("same bytes")
    os.link(source / "a.md", source / "b.md")
    built = snapshots.build_tarball(source, tmp_path / "out.tar.gz")
    with tarfile.open(built.path, mode="r:gz") as archive:
        assert {m.name: m.isfile() for m in archive.getmembers()} == {"a.md": True, "b.md": True}
        assert archive.extractfile("b.md").read() == b"same bytes"


def test_build_tarball_refuses_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError):
        snapshots.build_tarball(tmp_path / "f", tmp_path / "out.tar.gz")




def test_provisioning_rules(database, tmp_path):
    creator = prov.create_creator("selr-ai", "Selr")
    with pytest.raises(prov.ProvisioningError):
        prov.create_creator("selr-ai", "Again")
    with pytest.raises(prov.ProvisioningError):
        prov.create_creator("Bad Handle", "x")
    with pytest.raises(prov.ProvisioningError, match="admin"):
        prov.mint_key(creator.id, ["admin"])
    with pytest.raises(prov.ProvisioningError):
        prov.mint_key(creator.id, ["read:everything"])
    key, secret = prov.mint_key(creator.id, ["read:usage", "read:usage"])
    assert secret.startswith("plat_") and key.scopes == "read:usage"
    assert ApiKey.get_by_id(key.id).digest == hashlib.sha256(secret.encode()).hexdigest()
    pack = prov.create_pack(creator.id, "writer", "Writer")
    with pytest.raises(prov.ProvisioningError):
        prov.create_pack(creator.id, "writer", "Dup")
    with pytest.raises(prov.ProvisioningError):
        prov.create_pack(creator.id, "x", "x", pricing_model="barter")
    settings = Settings().replace(data_dir=tmp_path / "data")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "SKILL.md").write_text("hi")
    version = prov.publish_version(settings, pack.id, "1.0.0", tmp_path / "src", changelog="First")
    assert version.state == "approved" and version.approved_at is not None and len(version.sha256) == 64
    with pytest.raises(prov.ProvisioningError):
        prov.publish_version(settings, pack.id, "1.0.0", tmp_path / "src")
    with pytest.raises(prov.ProvisioningError):
        prov.publish_version(settings, pack.id, "../../etc", tmp_path / "src")
    held = prov.publish_version(settings, pack.id, "1.1.0", tmp_path / "src", approve=False)
    assert held.state == "pending_review" and held.approved_at is None
    assert prov.approve_version(pack.id, "1.1.0").state == "approved"
    install = prov.create_install(pack.id, channel="telegram", spend_cap_usd=1.25)
    assert install.spend_cap_micro_usd == 1_250_000
    with pytest.raises(prov.ProvisioningError):
        prov.create_install(pack.id, channel="fax")
    token, plaintext = prov.mint_install_token(install.id)
    assert plaintext.startswith("loupit_") and InstallToken.get_by_id(token.id).digest != plaintext


def test_substring_search_for_databases_without_fts5(database):
    from handlers.loup import search

    creator = prov.create_creator("selr-ai", "Selr")
    prov.create_pack(creator.id, "invoice-chaser", "Invoice Chaser", "Overdue reminders.")
    prov.create_pack(creator.id, "ledger", "Ledger", "Invoice matching for bookkeepers.")
    prov.create_pack(creator.id, "hidden-invoices", "Hidden Invoices", None, public=False)
    hits = search._search_like("invoice", 10)
    assert [h.slug for h in hits] == ["invoice-chaser", "ledger"]  # name order, public only


def test_concurrent_publishes_of_one_version_make_one_version_and_clean_refusals(database, tmp_path):
    """Publishers released together by a barrier all pass the "already exists?" read before any
    of them inserts, so the unique (pack, version) index decides: one wins, every other one gets
    ProvisioningError (not IntegrityError), and no row or snapshot file of theirs is left."""
    import threading

    from storage.loup import PackVersion

    creator = prov.create_creator("selr-ai", "Selr")
    pack = prov.create_pack(creator.id, "writer", "Writer")
    settings = Settings().replace(data_dir=tmp_path / "data")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "SKILL.md").write_text("hi")
    publishers, rounds = 4, 15
    outcomes: list[str] = []
    lock = threading.Lock()

    def publish(barrier: threading.Barrier, version: str) -> None:
        with database.connection_context():
            barrier.wait()
            try:
                prov.publish_version(settings, pack.id, version, tmp_path / "src")
                outcome = "published"
            except prov.ProvisioningError as exc:
                outcome = f"refused: {exc}"
            except Exception as exc:  # noqa: BLE001 - what the test is about
                outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    for n in range(rounds):
        barrier = threading.Barrier(publishers, timeout=30)
        threads = [threading.Thread(target=publish, args=(barrier, f"1.0.{n}")) for _ in range(publishers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert outcomes.count("published") == rounds, outcomes
    refusals = {o for o in outcomes if o != "published"}
    assert refusals == {f"refused: version 1.0.{n} already exists" for n in range(rounds)}, refusals
    rows = list(PackVersion.select().where(PackVersion.pack == pack.id))
    assert sorted(r.version for r in rows) == sorted(f"1.0.{n}" for n in range(rounds))
    assert all(r.state == "approved" for r in rows)
    files = sorted(p.name for p in (prov.snapshots.snapshot_dir(settings) / pack.id).iterdir())
    assert files == sorted(f"{r.id}.tar.gz" for r in rows)  # only the winners' snapshots
