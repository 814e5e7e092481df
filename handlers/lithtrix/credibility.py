"""Credibility scores: a fixed table over the source's domain, never the page's content.

The table is Lithtrix's published one (docs "Credibility scoring"): government 1.0, education
0.9, major news 0.8, organisations 0.7, everything else 0.5. A score is distinct from
relevance: results are ranked by the provider, the score only labels each source.

How a host is placed (the first rule that matches wins, in table order):

* government: the top-level label is `gov`, or `gov` sits directly under a two-letter country
  code (`www.greenplan.gov.sg`, `www.gov.uk`);
* education: the same with `edu` (`avalon.law.yale.edu`, `www.unimelb.edu.au`);
* major news: the host is one of NEWS_DOMAINS or a subdomain of one (`www.bbc.co.uk`,
  `apnews.com`, `www.npr.org`, which is news before it is an `.org`);
* organisation: the same rule as government with `org` (`www.gutenberg.org`, `www.oxfam.org.uk`);
* anything else, including hosts that cannot be parsed: the default.

`gov.example.com` is not government: the label must be the domain's suffix, not a subdomain.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_SCORE = 0.5

# The outlets the published table names (BBC, Reuters, AP News, NPR) and the other major
# news sources it alludes to, by registrable domain.
NEWS_DOMAINS = (
    "bbc.com", "bbc.co.uk", "reuters.com", "apnews.com", "npr.org",
    "nytimes.com", "washingtonpost.com", "wsj.com", "theguardian.com", "ft.com",
    "bloomberg.com", "economist.com", "cnn.com", "cbsnews.com", "nbcnews.com", "abcnews.go.com",
    "pbs.org", "aljazeera.com", "afp.com", "latimes.com", "usatoday.com", "politico.com",
)


@dataclass(frozen=True)
class Rule:
    score: float
    category: str
    description: str


RULES = (
    Rule(1.0, "government", "Government domains: .gov, or gov.<country code> (e.g. gov.uk, gov.sg)"),
    Rule(0.9, "education", "Education domains: .edu, or edu.<country code> (e.g. edu.au)"),
    Rule(0.8, "major_news", "Major news outlets: " + ", ".join(NEWS_DOMAINS)),
    Rule(0.7, "organisation", "Organisation domains: .org, or org.<country code> (e.g. org.uk)"),
)


def host_of(url: str) -> str:
    """The URL's hostname, lowercased, without a trailing dot ('' when there is none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".").lower()


def _suffix_is(labels: list[str], kind: str) -> bool:
    if len(labels) >= 2 and labels[-1] == kind:
        return True
    return len(labels) >= 3 and labels[-2] == kind and len(labels[-1]) == 2 and labels[-1].isalpha()


def _is_news(host: str) -> bool:
    return any(host == d or host.endswith("." + d) for d in NEWS_DOMAINS)


def category(host: str) -> str:
    """The category of a hostname: government, education, major_news, organisation or other."""
    labels = [label for label in host.lower().rstrip(".").split(".") if label]
    if _suffix_is(labels, "gov"):
        return "government"
    if _suffix_is(labels, "edu"):
        return "education"
    if _is_news(".".join(labels)):
        return "major_news"
    if _suffix_is(labels, "org"):
        return "organisation"
    return "other"


_SCORES = {rule.category: rule.score for rule in RULES}


def score_host(host: str) -> float:
    return _SCORES.get(category(host), DEFAULT_SCORE)


def score_url(url: str) -> float:
    """The credibility score (0.5 to 1.0) of the page at `url`, from its host alone."""
    return score_host(host_of(url))


def table() -> list[dict]:
    """The scoring rules as data (served by /v1/capabilities, so the docs never drift)."""
    rows = [{"score": r.score, "category": r.category, "applies_to": r.description} for r in RULES]
    rows.append({"score": DEFAULT_SCORE, "category": "other", "applies_to": "Every other domain"})
    return rows
