"""Build Lithtrix's sample corpus, handlers/lithtrix/corpus/sample.jsonl, from public-domain
texts that Debian packages install: `python -m scripts.build_corpus [--out PATH]`.

* miscfiles: the Declaration of Independence and the Constitution with its amendments
  (/usr/share/state/us-declaration.gz, us-constitution.gz);
* bible-kjv (the `bible` command) over bible-kjv-text's data: chapters of the King James Bible;
* dict-devil: Ambrose Bierce's The Devil's Dictionary (/usr/share/dictd/devil.*), its preface
  and one page per initial letter.

The words are the files' own. Only whitespace changes (`paragraphs`): wrapped lines are joined,
indentation and runs of spaces become one space or a line break, paragraphs are separated by
one blank line. Two kinds of apparatus are dropped: the verse references `bible` prints before
each verse (each verse stays its own paragraph) and the braces dictd puts around a
cross-referenced headword ({HUSBAND} becomes HUSBAND). The same packages make the same bytes on
every run. handlers/lithtrix/corpus/README.md says which package version and file each row
comes from, its copyright, and how each URL was chosen.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from handlers.lithtrix.local_index import SAMPLE_CORPUS

STATE = Path("/usr/share/state")  # miscfiles
BIBLE_DATA = Path("/usr/lib")  # bible-kjv-text's bible.data
DEVIL = Path("/usr/share/dictd")  # dict-devil

# Rows are written in this order: founding documents, Bible chapters, the dictionary.
CHAPTERS = (  # (the book as `bible` reads it, the book as titled, chapter)
    ("Genesis", "Genesis", 1), ("Genesis", "Genesis", 11), ("Exodus", "Exodus", 20), ("Ruth", "Ruth", 1),
    ("Job", "Job", 38), ("Psalms", "Psalm", 23), ("Psalms", "Psalm", 90), ("Psalms", "Psalm", 121),
    ("Proverbs", "Proverbs", 31), ("Ecclesiastes", "Ecclesiastes", 1), ("Ecclesiastes", "Ecclesiastes", 3),
    ("Isaiah", "Isaiah", 40), ("Isaiah", "Isaiah", 53), ("Matthew", "Matthew", 5), ("Matthew", "Matthew", 6),
    ("Luke", "Luke", 2), ("Luke", "Luke", 15), ("John", "John", 1), ("1Corinthians", "1 Corinthians", 13),
    ("Revelation", "Revelation", 21),
)
KJV_URL = "https://www.gutenberg.org/ebooks/10"
DEVIL_URL = "https://www.gutenberg.org/ebooks/972"
_VERSE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$")
# dictd's base64 digits for offsets and lengths in a .index file (not RFC 4648's padding form)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class MissingSource(RuntimeError):
    """A package the corpus is built from is not installed."""


def paragraphs(text: str) -> str:
    """The text with its whitespace normalised: paragraphs (blank-line separated) apart by one
    blank line; in each, a line that starts at the margin continues the line before (it was
    wrapped), while an indented one (a verse line, an indented paragraph, a signature) starts a
    new line; runs of spaces become one."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines: list[str] = []
        for line in block.split("\n"):
            words = " ".join(line.split())
            if not words:
                continue
            if lines and not line[0].isspace():
                lines[-1] += " " + words
            else:
                lines.append(words)
        if lines:
            out.append("\n".join(lines))
    return "\n\n".join(out)


def row(url: str, title: str, published_date: str | None, text: str) -> dict:
    return {"url": url, "title": title, "published_date": published_date, "text": paragraphs(text)}


def _require(path: Path, package: str) -> Path:
    if not path.exists():
        raise MissingSource(f"{path} is missing: apt-get install {package}")
    return path


def _gunzip(path: Path, package: str) -> str:
    return gzip.decompress(_require(path, package).read_bytes()).decode("utf-8")


def _between(text: str, start: str | None, end: str | None) -> str:
    """The part of `text` from the line `start` (or the top) up to the line `end` (or the end)."""
    lo = 0 if start is None else text.index(f"\n{start}\n") + 1
    hi = len(text) if end is None else text.index(f"\n{end}\n", lo)
    return text[lo:hi]


def founding_documents() -> list[dict]:
    declaration = _gunzip(STATE / "us-declaration.gz", "miscfiles")
    constitution = _gunzip(STATE / "us-constitution.gz", "miscfiles")
    # The file's "Amendments" heading stands over both amendment pages, so it is in neither.
    return [
        row("https://avalon.law.yale.edu/18th_century/declare.asp", "The Declaration of Independence",
            "1776-07-04", declaration),
        row("https://www.archives.gov/founding-docs/constitution-transcript", "The Constitution of the United States",
            "1787-09-17", _between(constitution, None, "Amendments")),
        row("https://www.archives.gov/founding-docs/bill-of-rights-transcript",
            "The Constitution of the United States: The Bill of Rights (Amendments I-X)", "1791-12-15",
            _between(constitution, "The Ten Original Amendments: The Bill of Rights.", "Amendment XI")),
        row("https://www.archives.gov/founding-docs/amendments-11-27",
            "The Constitution of the United States: Amendments XI-XXVII", None,
            _between(constitution, "Amendment XI", None)),
    ]


def chapter(book: str, number: int) -> list[str]:
    """The verses of one chapter, as `bible` prints them (a reference, a space, the verse)."""
    if shutil.which("bible") is None:
        raise MissingSource("the bible command is missing: apt-get install bible-kjv")
    _require(BIBLE_DATA / "bible.data", "bible-kjv-text")
    # -f turns pretty-printing off: one "Ge1:1 In the beginning ..." line per verse, never wrapped.
    # -p names the data's folder, so a bible.data in the working directory is never read instead.
    # `bible` clamps the range to the chapter's last verse.
    out = subprocess.run(["bible", "-p", str(BIBLE_DATA), "-f", f"{book}{number}:1-999"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, check=True).stdout
    verses = []
    for line in out.splitlines():
        match = _VERSE.match(line)
        if not match or int(match[2]) != number or int(match[3]) != len(verses) + 1:
            raise ValueError(f"bible {book}{number}: unexpected line {line[:60]!r}")
        verses.append(match[4])
    if not verses:
        raise ValueError(f"bible {book}{number}: no verses")
    return verses


def bible_chapters() -> list[dict]:
    rows = []
    for book, titled, number in CHAPTERS:
        anchor = f"{titled.lower().replace(' ', '-')}-{number}"
        rows.append(row(f"{KJV_URL}#{anchor}", f"The King James Bible: {titled} {number}", None,
                        "\n\n".join(chapter(book, number))))
    return rows


def _number(digits: str) -> int:
    value = 0
    for digit in digits:
        value = value * 64 + _B64.index(digit)
    return value


def devils_dictionary() -> list[dict]:
    index = _require(DEVIL / "devil.index", "dict-devil").read_text(encoding="utf-8")
    data = gzip.decompress(_require(DEVIL / "devil.dict.dz", "dict-devil").read_bytes())  # dictzip is gzip
    entries: dict[int, str] = {}  # by offset: a few entries are indexed under two headwords
    preface = ""
    for line in index.splitlines():
        headword, offset, length = line.split("\t")
        start = _number(offset)
        text = data[start:start + _number(length)].decode("utf-8")
        if headword == "00databaseinfo":  # the e-text's header (dropped), then Bierce's preface
            found = re.search(r"^ *PREFACE$", text, re.MULTILINE)
            preface = text[found.start():] if found else ""
        elif not headword.startswith("00database"):
            entries[start] = re.sub(r"\{([^{}]*)\}", r"\1", text)
    if not preface:
        raise ValueError("devil.index: no PREFACE in the 00databaseinfo entry")
    letters: dict[str, list[str]] = defaultdict(list)
    for start in sorted(entries):
        letters[entries[start][0].upper()].append(entries[start])
    rows = [row(f"{DEVIL_URL}#preface", "The Devil's Dictionary: Preface", None, preface)]
    for letter in sorted(letters):
        rows.append(row(f"{DEVIL_URL}#letter-{letter.lower()}", f"The Devil's Dictionary: Letter {letter}", None,
                        "\n\n".join(letters[letter])))
    return rows


def build() -> list[dict]:
    rows = founding_documents() + bible_chapters() + devils_dictionary()
    urls = [r["url"] for r in rows]
    if len(set(urls)) != len(urls):
        raise ValueError("two rows share a URL (the index upserts by URL)")
    return rows


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.build_corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_CORPUS, help=f"where to write (default: {SAMPLE_CORPUS})")
    args = parser.parse_args(argv)
    try:
        rows = build()
    except MissingSource as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    args.out.write_bytes(jsonl(rows))
    words = sum(len(r["text"].split()) for r in rows)
    print(f"{args.out}: {len(rows)} pages, {words} words", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
