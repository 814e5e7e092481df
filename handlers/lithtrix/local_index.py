"""The embedded search provider: a local full-text index in its own SQLite file (FTS5).

* Documents (url, title, text, published date) live in `documents`; `documents_fts` is an
  external-content FTS5 table over title and text, kept in sync by triggers, with the Porter
  stemmer over unicode61 tokens (diacritics folded).
* Ranking is BM25 with the title weighted 5:1 over the text, in three tiers: documents with
  the exact phrase, then documents with every query word, then documents with any of them
  (each tier in BM25 order; a tier only fills what the ones before left of the page).
* Snippets are FTS5's `snippet()`: the window of the text with the most matched terms.
* User text never reaches FTS5's query syntax: it is cut into word tokens, each quoted.
* The first open of a fresh index creates it and loads the shipped sample corpus
  (handlers/lithtrix/corpus/sample.jsonl), under a file lock so several workers starting at
  once load it exactly once. The index is its own file, so it works whatever DATABASE_URL is.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import re
import sqlite3
import threading
import typing as t
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from handlers.lithtrix.providers import Hit, ProviderError
from handlers.lithtrix.text import iso_date, strip_html
from server.settings import Settings

SAMPLE_CORPUS = Path(__file__).resolve().parent / "corpus" / "sample.jsonl"
SCHEMA_VERSION = "1"
MAX_TERMS = 32
SNIPPET_TOKENS = 40
TITLE_WEIGHT, BODY_WEIGHT = 5.0, 1.0
_TOKEN = re.compile(r"\w+", re.UNICODE)

DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS documents ("
    " id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, title TEXT NOT NULL, body TEXT NOT NULL,"
    " published_date TEXT, added_at TEXT NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5("
    " title, body, content='documents', content_rowid='id',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN"
    " INSERT INTO documents_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN"
    " INSERT INTO documents_fts(documents_fts, rowid, title, body)"
    " VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE ON documents BEGIN"
    " INSERT INTO documents_fts(documents_fts, rowid, title, body)"
    " VALUES ('delete', old.id, old.title, old.body);"
    " INSERT INTO documents_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
)


def default_path(settings: Settings) -> Path:
    if settings.lithtrix_index_path:
        return Path(settings.lithtrix_index_path)
    return settings.data_dir / "lithtrix" / "index.sqlite3"


# ------------------------------------------------------------------ documents


class InvalidDocument(ValueError):
    """A document the index refuses (no http(s) URL, no text)."""


@dataclass(frozen=True)
class Document:
    url: str
    title: str
    text: str
    published_date: str | None = None

    @classmethod
    def clean(cls, url: t.Any, title: t.Any, text: t.Any, published_date: t.Any = None) -> Document:
        """A storable document: markup stripped, whitespace collapsed, the date as ISO 8601."""
        url = str(url or "").strip()
        if not re.match(r"^https?://[^/\s]+", url) and not url.startswith("file://"):
            raise InvalidDocument(f"url must be an http(s) URL, got {url[:80]!r}")
        body = strip_html(str(text or ""))
        if not body:
            raise InvalidDocument(f"{url}: no text")
        heading = strip_html(str(title or "")) or " ".join(body.split()[:12])
        return cls(url=url, title=heading[:500], text=body, published_date=iso_date(published_date))


# ------------------------------------------------------------------ the index file


_ready: set[str] = set()
_ready_lock = threading.Lock()
_local = threading.local()


@contextmanager
def _file_lock(path: Path) -> t.Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def ensure(path: Path, *, sample: bool = True) -> None:
    """Create the index (and load the sample corpus) unless this file already has one."""
    key = str(Path(path).resolve())
    with _ready_lock:
        if key in _ready:
            return
    with _file_lock(Path(path)):
        conn = _connect(Path(path))
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # once, under the lock: readers never block writers
            for statement in DDL:
                conn.execute(statement)
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if version is None:
                if sample:
                    _write(conn, read_sample())
                conn.execute("INSERT INTO meta(key, value) VALUES ('schema', ?), ('sample_loaded', ?)",
                             (SCHEMA_VERSION, "yes" if sample else "no"))
        finally:
            conn.close()
    with _ready_lock:
        _ready.add(key)


def connection(path: Path) -> sqlite3.Connection:
    """This thread's connection to the index at `path` (created, with the sample, if new).

    A thread keeps one connection; asking for another index closes the previous one.
    """
    ensure(path)
    held: tuple[str, sqlite3.Connection] | None = getattr(_local, "held", None)
    if held is not None and held[0] == str(path):
        return held[1]
    if held is not None:
        held[1].close()
    conn = _connect(Path(path))
    _local.held = (str(path), conn)
    return conn


def read_sample() -> list[Document]:
    with SAMPLE_CORPUS.open(encoding="utf-8") as lines:
        return [
            Document.clean(row["url"], row["title"], row["text"], row.get("published_date"))
            for row in map(json.loads, filter(str.strip, lines))
        ]


def _write(conn: sqlite3.Connection, docs: t.Iterable[Document]) -> int:
    now = dt.datetime.now(dt.UTC).isoformat()
    rows = [(d.url, d.title, d.text, d.published_date, now) for d in docs]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO documents(url, title, body, published_date, added_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET title = excluded.title, body = excluded.body, "
            "published_date = excluded.published_date",
            rows,
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)


def add_documents(path: Path, docs: t.Iterable[Document], *, batch: int = 500,
                  progress: t.Callable[[int], None] | None = None, sample: bool = True) -> int:
    """Insert or replace (by URL) documents in batches of `batch` per transaction."""
    ensure(path, sample=sample)
    conn = _connect(Path(path))
    written = 0
    try:
        chunk: list[Document] = []
        for doc in docs:
            chunk.append(doc)
            if len(chunk) >= batch:
                written += _write(conn, chunk)
                progress and progress(len(chunk))
                chunk = []
        if chunk:
            written += _write(conn, chunk)
            progress and progress(len(chunk))
    finally:
        conn.close()
    return written


def count(path: Path) -> int:
    return connection(path).execute("SELECT count(*) FROM documents").fetchone()[0]


# ------------------------------------------------------------------ search


def terms(text: str) -> list[str]:
    """The query's distinct word tokens, each quoted for FTS5 (at most MAX_TERMS)."""
    tokens = list(dict.fromkeys(tok.lower() for tok in _TOKEN.findall(text or "") if tok.strip("_")))
    return [f'"{tok}"' for tok in tokens[:MAX_TERMS]]


def search(path: Path, query: str, count: int) -> list[Hit]:
    words = terms(query)
    if not words:
        return []
    conn = connection(path)
    tiers = [" AND ".join(words)]
    if len(words) > 1:
        # the exact phrase first, then every word anywhere, then any of the words
        tiers = ['"' + " ".join(w.strip('"') for w in words) + '"', *tiers, " OR ".join(words)]
    hits: list[tuple[int, Hit]] = []
    for expression in tiers:
        if len(hits) >= count:
            break
        hits += _ranked(conn, expression, count - len(hits), {rowid for rowid, _ in hits})
    return [hit for _, hit in hits]


def _ranked(conn: sqlite3.Connection, expression: str, limit: int, exclude: set[int]) -> list[tuple[int, Hit]]:
    # Rank inside FTS5 first and cut to the page; snippets are then built for the page only.
    ranked = conn.execute(
        "SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? "
        f"ORDER BY bm25(documents_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}), rowid LIMIT ?",
        (expression, limit + len(exclude)),
    ).fetchall()
    order = [rowid for (rowid,) in ranked if rowid not in exclude][:limit]
    if not order:
        return []
    marks = ",".join("?" * len(order))
    rows = conn.execute(
        "SELECT documents_fts.rowid, d.title, d.url, snippet(documents_fts, 1, '', '', '...', ?), "
        "d.published_date FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid "
        f"WHERE documents_fts MATCH ? AND documents_fts.rowid IN ({marks})",
        (SNIPPET_TOKENS, expression, *order),
    ).fetchall()
    found = {row[0]: Hit(title=row[1], url=row[2], snippet=row[3], published_date=row[4]) for row in rows}
    return [(rowid, found[rowid]) for rowid in order if rowid in found]


class LocalProvider:
    name = "local"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def search(self, query: str, count: int) -> list[Hit]:
        try:
            return search(self.path, query, count)
        except sqlite3.Error as exc:
            raise ProviderError(f"local index: {exc}") from exc
