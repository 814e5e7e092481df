"""The embedded index: created once with the sample corpus, BM25 in phrase/all/any tiers,
snippets around the matched terms, user text never parsed as FTS5 syntax, upserts by URL."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from handlers.lithtrix import local_index as li


@pytest.fixture
def index(tmp_path):
    return tmp_path / "idx" / "index.sqlite3"


def test_the_sample_corpus_is_loaded_on_first_open(index):
    lines = [line for line in li.SAMPLE_CORPUS.read_text().splitlines() if line.strip()]
    assert li.count(index) == len(lines) == 51
    conn = sqlite3.connect(index)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dict(conn.execute("SELECT key, value FROM meta")) == {"schema": "1", "sample_loaded": "yes"}
    conn.close()


def test_the_sample_corpus_rows_are_well_formed_and_on_the_publishers_hosts_its_readme_names():
    """Each row is {url, title, published_date, text} with a unique https URL on one of the hosts
    corpus/README.md names as the texts' publishers (no Wikipedia), non-empty title and text,
    and an ISO 8601 date or null. Whether a text is public domain is the README's account; this
    checks the data says what that account says."""
    rows = [json.loads(line) for line in li.SAMPLE_CORPUS.read_text().splitlines() if line.strip()]
    publishers = {"www.archives.gov", "avalon.law.yale.edu", "www.gutenberg.org"}
    hosts = {urlsplit(row["url"]).netloc for row in rows}
    assert hosts == publishers  # every row on a named publisher's host, and every publisher used
    assert all(set(row) == {"url", "title", "published_date", "text"} for row in rows)
    assert all(urlsplit(row["url"]).scheme == "https" for row in rows)
    assert len({row["url"] for row in rows}) == len(rows)
    assert all(isinstance(row["title"], str) and row["title"].strip() for row in rows)
    assert all(isinstance(row["text"], str) and len(row["text"].split()) >= 20 for row in rows)
    for row in rows:
        assert row["published_date"] is None or dt.date.fromisoformat(row["published_date"]), row["url"]


def _open_in_child(path: str, queue) -> None:  # noqa: ANN001
    queue.put(li.count(li.Path(path)))


def test_workers_opening_a_fresh_index_at_once_load_the_sample_once(index):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open_in_child, args=(str(index), queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert sorted(queue.get(timeout=5) for _ in procs) == [51, 51, 51]


def test_phrase_then_all_words_then_any(index):
    docs = [
        li.Document.clean("https://a.example/1", "Notes", "red apple tart recipes and more"),
        li.Document.clean("https://a.example/2", "Notes", "apple pie with a red glaze"),  # all words, no phrase
        li.Document.clean("https://a.example/3", "Notes", "the red fox"),  # one word
    ]
    li.add_documents(index, docs, sample=False)
    urls = [h.url for h in li.search(index, "red apple", 10)]
    assert urls == ["https://a.example/1", "https://a.example/2", "https://a.example/3"]
    assert [h.url for h in li.search(index, "red apple", 2)] == urls[:2]


def test_title_matches_outrank_body_matches(index):
    li.add_documents(index, [
        li.Document.clean("https://b.example/body", "Other", "a page that mentions zebras once"),
        li.Document.clean("https://b.example/title", "Zebras", "a page about stripes"),
    ], sample=False)
    assert li.search(index, "zebras", 2)[0].url == "https://b.example/title"


def test_stemming_and_case_folding(index):
    hits = li.search(index, "GOVERNMENTS instituted", 3)
    assert hits[0].url == "https://avalon.law.yale.edu/18th_century/declare.asp"


def test_snippets_center_on_the_match(index):
    filler = " ".join(f"filler{i}" for i in range(300))
    page = li.Document.clean("https://c.example/", "Long", f"{filler} the narwhal surfaced {filler}")
    li.add_documents(index, [page], sample=False)
    (hit,) = li.search(index, "narwhal", 1)
    assert "narwhal surfaced" in hit.snippet
    assert hit.snippet.startswith("...") and hit.snippet.endswith("...")
    assert len(hit.snippet.split()) <= li.SNIPPET_TOKENS + 2


@pytest.mark.parametrize("query", ['"', "AND", "a OR b", "NOT x", "x*", "(a", "col:term", "NEAR(a b)", "^a", "- + ."])
def test_user_text_is_never_fts_syntax(index, query):
    li.search(index, query, 5)  # no sqlite error for any of these


def test_empty_queries_find_nothing(index):
    assert li.search(index, "", 5) == [] and li.search(index, "  ...  ", 5) == []


def test_upsert_by_url_replaces_the_document(index):
    li.add_documents(index, [li.Document.clean("https://d.example/", "First", "alpha words")], sample=False)
    li.add_documents(index, [li.Document.clean("https://d.example/", "Second", "omega words")], sample=False)
    assert li.count(index) == 1
    assert li.search(index, "alpha", 5) == []
    assert li.search(index, "omega", 5)[0].title == "Second"


def test_concurrent_readers_while_writing(index):
    li.count(index)

    def read(_):
        return len(li.search(index, "liberty", 5))

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(read, i) for i in range(20)]
        li.add_documents(index, (li.Document.clean(f"https://e.example/{i}", "Liberty", "liberty bell") for i in
                                 range(200)), batch=50)
        assert all(f.result() == 5 for f in futures)
    assert li.count(index) == 51 + 200  # the sample corpus and the pages written


def test_documents_are_cleaned():
    doc = li.Document.clean("https://x.example/", "", "<p>First words of the page &amp; more</p>", "2020-02-02")
    assert doc.text == "First words of the page & more" and doc.title == doc.text
    with pytest.raises(li.InvalidDocument):
        li.Document.clean("javascript:alert(1)", "t", "x")
    with pytest.raises(li.InvalidDocument):
        li.Document.clean("https://x.example/", "t", "<p> </p>")
    assert li.Document.clean("https://x.example/", "t", "x", "not a date").published_date is None
