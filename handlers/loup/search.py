"""Marketplace search: SQLite FTS5 ranked by bm25 over public packs' name, slug, description.

The index (storage.loup.SEARCH_DDL) is maintained by triggers on the packs table and holds
public packs only. User text never reaches FTS5's query syntax: it is cut into word tokens,
each quoted and prefix-matched. Packs matching all the words come first, then packs matching
any of them; bm25 ranks within each group.
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


def terms(text: str) -> list[str]:
    """Quoted FTS5 terms for free text; empty when there is nothing (or too much) to search."""
    if not text or len(text) > MAX_QUERY_CHARS:
        return []
    tokens = list(dict.fromkeys(t.lower() for t in _TOKEN.findall(text)))[:MAX_TOKENS]
    # Prefix-match words of two or more characters (search as you type); single letters exactly.
    return [f'"{t}"*' if len(t) > 1 else f'"{t}"' for t in tokens if t.strip("_")]


def fts_query(text: str, operator: str = "OR") -> str | None:
    """An FTS5 MATCH expression joining the terms with AND or OR, or None."""
    found = terms(text)
    return f" {operator} ".join(found) or None


def search(text: str, limit: int) -> list[Hit]:
    """Packs matching every word first; when those are fewer than `limit`, packs matching any
    word fill the rest (each group ranked by bm25)."""
    if not terms(text):
        return []
    if not db.is_sqlite():
        return _search_like(text, limit)
    hits = _ranked(fts_query(text, "AND"), limit)
    if len(hits) < limit and len(terms(text)) > 1:
        seen = {(h.creator, h.slug) for h in hits}
        hits += [h for h in _ranked(fts_query(text, "OR"), limit) if (h.creator, h.slug) not in seen]
    return hits[:limit]


def _ranked(expression: str | None, limit: int) -> list[Hit]:
    # Rank and cut inside the FTS table first, then join only the page: scoring is the cost.
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = db.database.execute_sql(
        "SELECT c.handle, p.slug, p.name, p.description, p.pricing_model FROM ("
        f"SELECT rowid AS seq, bm25(loup_pack_search, {weights}) AS score FROM loup_pack_search "
        "WHERE loup_pack_search MATCH ? ORDER BY score LIMIT ?) AS s "
        "JOIN loup_pack p ON p.seq = s.seq JOIN loup_creator c ON c.id = p.creator_id "
        "ORDER BY s.score, p.seq",
        (expression, limit),
    ).fetchall()
    return [Hit(*row) for row in rows]


def _search_like(text: str, limit: int) -> list[Hit]:
    """Databases without FTS5 (PostgreSQL): substring match on any word, name order."""
    words = _TOKEN.findall(text.lower())[:MAX_TOKENS]
    match = functools.reduce(
        operator.or_,
        [Pack.name.contains(w) | Pack.slug.contains(w) | Pack.description.contains(w) for w in words],
    )
    rows = Pack.select(Pack, Creator).join(Creator).where(Pack.public & match).order_by(Pack.name).limit(limit)
    return [Hit(r.creator.handle, r.slug, r.name, r.description, r.pricing_model) for r in rows]
