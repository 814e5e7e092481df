"""Reading pages for the local index: a JSONL file (one page per line) or a folder of HTML
files. `pentapi lithtrix index` (scripts/admin_lithtrix.py) feeds these to the index.

JSONL lines are objects with `url`, `title`, `text` and optionally `published_date`
(`published` and `date` are accepted too, and `body` or `content` for the text). HTML files
(*.html, *.htm, recursively) are stripped of markup; the title is <title> (else og:title, else
the first <h1>); the URL is <link rel=canonical> or og:url, else `base_url` + the file's
relative path, else its file:// URI; the date is article:published_time, a date meta or the
first <time datetime>.

Bad entries are reported (`Skipped`), never fatal: one broken line must not lose a whole import.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass
from pathlib import Path

from handlers.lithtrix.local_index import Document, InvalidDocument
from handlers.lithtrix.text import parse_html

HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class Skipped:
    where: str  # "file.jsonl:12" or a path
    reason: str


def _first(row: dict, *names: str) -> t.Any:
    return next((row[name] for name in names if row.get(name) not in (None, "")), None)


def count_jsonl(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def read_jsonl(path: Path, skipped: list[Skipped]) -> t.Iterator[Document]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                skipped.append(Skipped(where, f"not JSON: {exc.msg}" if hasattr(exc, "msg") else "not JSON"))
                continue
            if not isinstance(row, dict):
                skipped.append(Skipped(where, "not a JSON object"))
                continue
            try:
                yield Document.clean(
                    row.get("url"),
                    row.get("title"),
                    _first(row, "text", "body", "content"),
                    _first(row, "published_date", "published", "date"),
                )
            except InvalidDocument as exc:
                skipped.append(Skipped(where, str(exc)))


def html_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in HTML_SUFFIXES)


def read_html_folder(folder: Path, skipped: list[Skipped], base_url: str | None = None) -> t.Iterator[Document]:
    for path in html_files(folder):
        try:
            page = parse_html(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError) as exc:
            skipped.append(Skipped(str(path), f"unreadable: {exc}"))
            continue
        url = page.url
        if not url.startswith(("http://", "https://")):
            relative = path.relative_to(folder).as_posix()
            url = f"{base_url.rstrip('/')}/{relative}" if base_url else path.resolve().as_uri()
        try:
            yield Document.clean(url, page.title, page.text, page.published_date)
        except InvalidDocument as exc:
            skipped.append(Skipped(str(path), str(exc)))
