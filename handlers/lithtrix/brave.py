"""The Brave Search API as a provider: `GET {base}/res/v1/web/search?q=&count=` with the
subscription token in `X-Subscription-Token`.

From Brave's answer only `web.results[]` is used: `title`, `url`, `description` (Brave marks
matched words with <strong> and escapes entities: the search handler strips both),
`page_age` (an ISO date-time, when Brave knows it) and `meta_url.hostname`. Brave accepts
queries of at most 400 characters and 50 words, Lithtrix up to 500 characters, so longer
queries are cut to Brave's limits before they are sent. Any transport error, non-200 status
(401/403 bad token, 422, 429 rate limit, 5xx) or unexpected body is a ProviderError.
"""

from __future__ import annotations

import logging

import httpx

from handlers.lithtrix.providers import Hit, ProviderError
from handlers.lithtrix.text import iso_date

log = logging.getLogger("pentapi.lithtrix.brave")
PATH = "/res/v1/web/search"
MAX_QUERY_CHARS = 400
MAX_QUERY_WORDS = 50


def brave_query(query: str) -> str:
    """The query cut to what Brave accepts (whole words, 400 characters, 50 words)."""
    words = query.split()[:MAX_QUERY_WORDS]
    text = " ".join(words)
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUERY_CHARS]
    return text


class BraveProvider:
    name = "brave"

    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        self.url = base_url.rstrip("/") + PATH
        self.api_key = api_key
        self.client = httpx.Client(timeout=timeout, headers={"Accept": "application/json"})

    def close(self) -> None:
        self.client.close()

    def search(self, query: str, count: int) -> list[Hit]:
        if not self.api_key:
            raise ProviderError("Brave Search is not configured (LITHTRIX_BRAVE_API_KEY)")
        try:
            response = self.client.get(
                self.url,
                params={"q": brave_query(query), "count": count},
                headers={"X-Subscription-Token": self.api_key, "Accept-Encoding": "gzip"},
            )
        except httpx.HTTPError as exc:
            raise ProviderError(f"Brave Search unreachable: {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            log.warning("brave answered %s: %s", response.status_code, response.text[:300])
            raise ProviderError(f"Brave Search answered HTTP {response.status_code}")
        try:
            return parse(response.json(), count)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ProviderError("Brave Search sent an unexpected answer") from exc


def parse(body: dict, count: int) -> list[Hit]:
    """Hits from a Brave web search response (no `web` section means no web results)."""
    if not isinstance(body, dict) or body.get("type") != "search":
        raise ValueError("not a web search response")
    results = (body.get("web") or {}).get("results") or []
    hits = []
    for item in results:
        url = item.get("url")
        if not isinstance(url, str) or not url:
            continue
        hits.append(
            Hit(
                title=str(item.get("title") or url),
                url=url,
                snippet=str(item.get("description") or ""),
                published_date=iso_date(item.get("page_age")),
            )
        )
    return hits[:count]
