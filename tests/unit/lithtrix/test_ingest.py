"""`pentapi lithtrix index`: JSONL and HTML folders into the index, with a progress bar; and the
agent and cache commands."""

from __future__ import annotations

import json

import pytest

from handlers.lithtrix import ingest, local_index
from server.cli import main
from server.settings import Settings


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PENTAPI_DATA_DIR", str(tmp_path / "data"))

    def call(*args: str, ok: bool = True):
        code = main(["lithtrix", *args])
        out, err = capsys.readouterr()
        assert code == (0 if ok else 1), err
        return (json.loads(out), err) if ok else err

    return call


def test_jsonl_aliases_and_bad_lines(tmp_path):
    source = tmp_path / "pages.jsonl"
    source.write_text("\n".join([
        json.dumps({"url": "https://www.cdc.gov/a", "title": "A", "text": "alpha", "published_date": "2024-01-02"}),
        json.dumps({"url": "https://www.cdc.gov/b", "title": "B", "body": "beta", "published": "2024-01-03"}),
        json.dumps({"url": "https://www.cdc.gov/c", "content": "gamma", "date": "nope"}),
        "{broken",
        json.dumps(["not", "an", "object"]),
        json.dumps({"url": "https://www.cdc.gov/d", "title": "no text"}),
        "",
    ]))
    skipped: list = []
    docs = list(ingest.read_jsonl(source, skipped))
    assert [(d.url, d.text, d.published_date) for d in docs] == [
        ("https://www.cdc.gov/a", "alpha", "2024-01-02"), ("https://www.cdc.gov/b", "beta", "2024-01-03"),
        ("https://www.cdc.gov/c", "gamma", None)]
    assert docs[2].title == "gamma"
    assert [s.where for s in skipped] == ["pages.jsonl:4", "pages.jsonl:5", "pages.jsonl:6"]
    assert ingest.count_jsonl(source) == 6


def test_html_folder(tmp_path):
    site = tmp_path / "site"
    (site / "docs").mkdir(parents=True)
    (site / "index.html").write_text('<html><head><title>Home</title><link rel="canonical" '
                                     'href="https://www.usa.gov/"></head><body><p>Welcome</p></body></html>')
    (site / "docs" / "page.htm").write_text("<h1>Page</h1><p>Text <b>here</b></p>")
    (site / "empty.html").write_text("<html><body><script>x()</script></body></html>")
    (site / "notes.txt").write_text("not html")
    skipped: list = []
    docs = list(ingest.read_html_folder(site, skipped, base_url="https://example.gov/base/"))
    assert [(d.url, d.title, d.text) for d in docs] == [
        ("https://example.gov/base/docs/page.htm", "Page", "Page Text here"),
        ("https://www.usa.gov/", "Home", "Welcome")]
    assert [s.where for s in skipped] == [str(site / "empty.html")]
    no_base = list(ingest.read_html_folder(site, [], None))
    assert no_base[0].url == (site / "docs" / "page.htm").resolve().as_uri()


def test_the_index_command_ingests_with_a_progress_bar(run, tmp_path):
    source = tmp_path / "more.jsonl"
    source.write_text("\n".join(json.dumps({"url": f"https://www.nih.gov/{i}", "title": f"Study {i}",
                                            "text": f"okapi study number {i}"}) for i in range(30)) + "\nbad\n")
    out, err = run("index", str(source), "--batch", "7")
    assert out["indexed"] == 30 and out["documents"] == 81  # with the 51 pages of the sample corpus
    assert out["skipped"] == [{"where": "more.jsonl:31", "reason": "not JSON: Expecting value"}]
    assert "indexing" in err and "31/31" in err
    path = local_index.default_path(Settings().replace(data_dir=tmp_path / "data"))
    assert len(local_index.search(path, "okapi", 50)) == 30


def test_the_index_command_reads_html_folders_and_clears_the_cache(run, tmp_path):
    from handlers.lithtrix import cache
    from storage import db

    site = tmp_path / "site"
    site.mkdir()
    (site / "a.html").write_text("<title>Axolotl</title><p>axolotl facts</p>")
    run("cache", "clear")
    with db.database.connection_context():
        cache.SqliteCache().set("lithtrix:search:v1:x", {"results": []}, 60)
    out, _ = run("index", str(site), "--base-url", "https://www.fws.gov", "--quiet")
    assert out["indexed"] == 1 and out["cache_entries_cleared"] == 1


def test_the_index_command_refuses_a_missing_source(run, tmp_path):
    assert "no such file or folder" in run("index", str(tmp_path / "nope.jsonl"), ok=False)


def test_agent_commands(run):
    made, _ = run("agent", "register", "ops-bot", "ops@example.com")
    assert made["api_key"].startswith("ltx_")
    assert "already registered" in run("agent", "register", "ops-bot", "ops@example.com", ok=False)
    assert "letters, digits" in run("agent", "register", "bad name", "o", ok=False)
    listed, _ = run("agent", "list")
    assert [a["id"] for a in listed["agents"]] == [made["agent_id"]] and "key_hash" not in listed["agents"][0]
    assert run("agent", "suspend", made["agent_id"])[0]["status"] == "suspended"
    assert run("agent", "reinstate", made["agent_id"])[0]["status"] == "active"
    assert run("agent", "tier", made["agent_id"], "pro")[0]["tier"] == "pro"
    shown, _ = run("agent", "show", made["agent_id"])
    assert shown["tier"] == "pro" and len(shown["daily_breakdown"]) == 7
    assert "unknown agent" in run("agent", "show", "nope", ok=False)
