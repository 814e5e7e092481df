"""Markup out, plain text in: HTML pages to indexable text, and provider snippets to the
HTML-free snippets the API promises (Brave's descriptions carry <strong> highlights and
entities; a local page may have been written with markup).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import typing as t
from dataclasses import dataclass, field
from html.parser import HTMLParser

_WS = re.compile(r"\s+")
_TAG_HINT = re.compile(r"<[A-Za-z/!?]")
# Elements whose content is never page text.
_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "object"}
# Elements that end a line of text (so words on both sides never run together).
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th",
    "section", "article", "header", "footer", "nav", "aside", "blockquote", "pre", "hr", "table",
    "dd", "dt", "dl", "figure", "figcaption", "main", "form", "title",
}


def collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


@dataclass
class Page:
    """What an HTML document yields: its text and the metadata found in its markup."""

    text: str
    title: str = ""
    url: str = ""  # <link rel=canonical> or og:url
    published_date: str = ""  # article:published_time, date meta, or the first <time datetime>
    meta: dict[str, str] = field(default_factory=dict)


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.h1: list[str] = []
        self.meta: dict[str, str] = {}
        self.canonical = ""
        self.time = ""
        self._skip = 0
        self._in_title = False
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip += 1
        elif tag == "h1":
            self._in_h1 = True
        elif tag == "meta":
            name = (a.get("property") or a.get("name") or a.get("itemprop") or "").lower()
            if name and "content" in a:
                self.meta.setdefault(name, a["content"].strip())
        elif tag == "link" and "canonical" in a.get("rel", "").lower().split():
            self.canonical = self.canonical or a.get("href", "").strip()
        elif tag == "time" and not self.time:
            self.time = a.get("datetime", "").strip()
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/>, <meta .../>: a void element never opens a skipped region
        if tag in _SKIP:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "h1":
            self._in_h1 = False
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
            return
        if self._skip:
            return
        if self._in_h1:
            self.h1.append(data)
        self.parts.append(data)


def parse_html(markup: str) -> Page:
    """Text and metadata of an HTML document. Scripts, styles and the head are not text."""
    parser = _Extractor()
    parser.feed(markup)
    parser.close()
    meta = parser.meta
    title = collapse("".join(parser.title)) or meta.get("og:title", "") or collapse("".join(parser.h1))
    published = (
        meta.get("article:published_time")
        or meta.get("date")
        or meta.get("dc.date")
        or meta.get("dcterms.date")
        or meta.get("datepublished")
        or parser.time
    )
    return Page(
        text=collapse("".join(parser.parts)),
        title=title,
        url=parser.canonical or meta.get("og:url", ""),
        published_date=published,
        meta=meta,
    )


def strip_html(text: str) -> str:
    """Plain text of a fragment: tags dropped, entities decoded, whitespace collapsed.

    Text without anything that looks like a tag only has its entities decoded, so "x < y" and
    "AT&T" survive as they are.
    """
    if not _TAG_HINT.search(text):
        return collapse(html.unescape(text))
    return parse_html(text).text


def clean_snippet(text: str, limit: int = 400) -> str:
    """An HTML-free snippet of at most `limit` characters, cut at a word boundary."""
    plain = strip_html(text)
    if len(plain) <= limit:
        return plain
    cut = plain[:limit].rsplit(" ", 1)[0] or plain[:limit]
    return cut.rstrip(" ,;:") + "..."


def iso_date(value: t.Any) -> str | None:
    """An ISO 8601 date or date-time for what a page declares, or None when it is not one."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = collapse(str(value))
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    return parsed.isoformat()
