"""The credibility table: documented scores per domain category, from the host alone."""

from __future__ import annotations

import pytest

from handlers.lithtrix import credibility as c


@pytest.mark.parametrize(
    ("url", "score"),
    [
        ("https://www.archives.gov/founding-docs", 1.0),
        ("https://nasa.gov", 1.0),
        ("https://www.greenplan.gov.sg/", 1.0),  # gov under a country code (the docs' own example)
        ("https://www.gov.uk/browse", 1.0),
        ("http://WWW.CDC.GOV./flu", 1.0),  # case and a trailing dot
        ("https://avalon.law.yale.edu/19th_century/gettyb.asp", 0.9),
        ("https://www.unimelb.edu.au/", 0.9),
        ("https://www.bbc.com/news", 0.8),
        ("https://www.bbc.co.uk/news", 0.8),
        ("https://www.reuters.com/world/", 0.8),
        ("https://apnews.com/article/x", 0.8),
        ("https://www.npr.org/sections/news/", 0.8),  # news outranks its .org
        ("https://www.gutenberg.org/ebooks/1342", 0.7),
        ("https://www.oxfam.org.uk/", 0.7),
        ("https://example.com/", 0.5),
        ("https://gov.example.com/", 0.5),  # gov as a subdomain is not a gov domain
        ("https://notreuters.com/", 0.5),
        ("https://reuters.com.evil.net/", 0.5),
        ("https://www.gov.example/", 0.5),  # two-letter rule needs a letters-only country code
        ("https://192.168.0.1/", 0.5),
        ("not a url", 0.5),
        ("", 0.5),
        ("https://[::1/", 0.5),  # unparseable
    ],
)
def test_scores(url, score):
    assert c.score_url(url) == score


def test_scores_stay_in_the_documented_range():
    assert {r.score for r in c.RULES} | {c.DEFAULT_SCORE} == {1.0, 0.9, 0.8, 0.7, 0.5}
    assert all(0.0 <= r.score <= 1.0 for r in c.RULES)


def test_the_published_table_is_the_one_applied():
    table = c.table()
    assert [(row["category"], row["score"]) for row in table] == [
        ("government", 1.0), ("education", 0.9), ("major_news", 0.8), ("organisation", 0.7), ("other", 0.5)]
    for domain in ("bbc.com", "reuters.com", "apnews.com", "npr.org"):
        assert domain in table[2]["applies_to"] and c.score_host(domain) == 0.8


def test_host_of():
    assert c.host_of("https://User@Sub.Example.COM:8443/path?q") == "sub.example.com"
    assert c.host_of("mailto:x@y") == ""
