"""Marketplace search: SQLite FTS5 ranked by bm25 over public packs' name, slug, description.

The index (storage.loup.SEARCH_DDL) is maintained by triggers on the packs table. User text
never reaches FTS5's query syntax: it is cut into word tokens, each quoted, prefix-matched
and OR-ed, so bm25 ranks packs that match more (and rarer) words first.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass

from storage import db
from storage.loup import Creator, Pack

MAX_QUERY_CHARS = 200  # longer queries return an empty result, as the real service does
MAX_TOKENS = 16
WEIGHTS = (10.0, 6.0, 1.0)  # name, slug, description
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    creator: str
    slug: str
    name: str
    description: str | None
    pricing_model: str


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for free text, or None when there is nothing to search."""
    if not text or len(text) > MAX_QUERY_CHARS:
        return None
    tokens = list(dict.fromkeys(t.lower() for t in _TOKEN.findall(text)))[:MAX_TOKENS]
    # Prefix-match words of two or more characters (search as you type); single letters exactly.
    terms = [f'"{t}"*' if len(t) > 1 else f'"{t}"' for t in tokens if t.strip("_")]
    return " OR ".join(terms) or None


def search(text: str, limit: int) -> list[Hit]:
    expression = fts_query(text)
    if expression is None:
        return []
    if not db.is_sqlite():
        return _search_like(text, limit)
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = db.database.execute_sql(
        "SELECT c.handle, p.slug, p.name, p.description, p.pricing_model "
        "FROM loup_pack_search s JOIN loup_pack p ON p.seq = s.rowid "
        "JOIN loup_creator c ON c.id = p.creator_id "
        "WHERE loup_pack_search MATCH ? AND p.public "
        f"ORDER BY bm25(loup_pack_search, {weights}), p.seq "
        "LIMIT ?",
        (expression, limit),
    ).fetchall()
    return [Hit(*row) for row in rows]


def _search_like(text: str, limit: int) -> list[Hit]:
    """Databases without FTS5 (PostgreSQL): substring match on any word, name order."""
    words = _TOKEN.findall(text.lower())[:MAX_TOKENS]
    match = functools.reduce(
        operator.or_,
        [
            Pack.name.contains(w) | Pack.slug.contains(w) | Pack.description.contains(w)
            for w in words
        ],
    )
    rows = (
        Pack.select(Pack, Creator)
        .join(Creator)
        .where(Pack.public & match)
        .order_by(Pack.name)
        .limit(limit)
    )
    return [Hit(r.creator.handle, r.slug, r.name, r.description, r.pricing_model) for r in rows]
