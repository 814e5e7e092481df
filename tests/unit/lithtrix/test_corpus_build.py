"""The shipped sample corpus is exactly what scripts/build_corpus.py makes from the installed
Debian packages (miscfiles, bible-kjv, bible-kjv-text, dict-devil; `./run test` installs them).
Without them the build raises: this fails rather than skips, so a corpus edited by hand or a
package that changed its text never passes unnoticed."""

from __future__ import annotations

from handlers.lithtrix import local_index as li
from scripts import build_corpus


def test_the_shipped_corpus_is_what_the_builder_makes_from_the_packages(tmp_path):
    out = tmp_path / "sample.jsonl"
    assert build_corpus.main(["--out", str(out)]) == 0, "a source package is missing (see stderr)"
    assert out.read_bytes() == li.SAMPLE_CORPUS.read_bytes()


def test_paragraphs_only_change_whitespace():
    text = "ABDICATION, n.  An act whereby\na sovereign attests.\n\n    Poor Isabella's Dead,\n    Set all\n\n\n"
    # a wrapped line joins the one before, an indented (verse) line stays a line
    assert build_corpus.paragraphs(text) == (
        "ABDICATION, n. An act whereby a sovereign attests.\n\nPoor Isabella's Dead,\nSet all")
    assert build_corpus.paragraphs(text).split() == text.split()
