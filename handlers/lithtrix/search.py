"""lithtrix: GET /v1/search, credibility-scored search with a cache, quota and rate limit.

One search, in order:

1. the cache, keyed by provider, normalised query and num_results (a read);
2. one write transaction: the per-minute rate window (429 RATE_LIMIT_EXCEEDED with Retry-After
   past the limit) and, if allowed, the quota: one conditional UPDATE counts the call and logs
   it (handlers/lithtrix/ratelimit.py, handlers/lithtrix/quota.py).
   Past the free cap the search is refused the way Lithtrix documents it: HTTP 200, no
   results, `usage.over_limit: true` and `error_code: "OVER_LIMIT"`, nothing counted;
3. on a cache miss, the provider behind its circuit breaker: an open circuit is 503
   SERVICE_UNAVAILABLE, a failure 502 UPSTREAM_ERROR; both refund the call, so a failed search
   costs nothing. A fresh answer is cached for LITHTRIX_CACHE_TTL_SECONDS.

Cache hits count as calls (the cache saves the provider's quota, not the agent's).
"""

from __future__ import annotations

import math
import time

from generated.lithtrix.models import SearchResultItem, SearchSuccessResponse
from handlers.lithtrix import access, agents, cache, credibility, providers, quota, ratelimit, usage_log
from handlers.lithtrix.circuit import Breaker, CircuitOpen
from handlers.lithtrix.security import INVALID_KEY
from handlers.lithtrix.text import clean_snippet, strip_html
from server.errors import ApiError
from server.settings import current
from storage import db

OVER_LIMIT = ("Free tier lifetime limit of {limit} calls reached. Upgrade to Pro (unlimited) via "
              "GET /v1/billing/config then POST /v1/billing/setup.")


def search_v1_search_get(q: str, num_results: int = 10) -> tuple[dict, int, dict[str, str]]:
    started = time.perf_counter()
    settings = current()
    agent = access.agent()
    provider, breaker = providers.provider_for(settings)
    store = cache.cache_for(settings)
    key = cache.key_for(provider.name, q, num_results)
    hit = store.get(key)

    # The rate window and the quota are counted in one short transaction.
    rate = settings.lithtrix_rate_limit_pro if agent.tier == "pro" else settings.lithtrix_rate_limit_free
    counting = ratelimit.prepare(agent.id, rate, settings.lithtrix_rate_window_seconds,
                                 settings.lithtrix_abuse_threshold)
    reserving = quota.prepare(agent.id, q, num_results, cached=hit is not None, day=usage_log.today())
    with db.write():
        decision = counting.run()
        reservation = reserving.run() if decision.allowed else None
    if not decision.allowed:
        raise ApiError(429, "RATE_LIMIT_EXCEEDED", "Per-minute rate limit exceeded. See Retry-After header.",
                       headers=decision.headers())
    if reservation is None:
        return _refused(agent.id, q, started), 200, decision.headers()

    if hit is None:
        try:
            results = _ask(provider, breaker, q, num_results)
        except ApiError as exc:  # the provider failed: nothing is counted, the window still is
            quota.refund(agent.id, reservation)
            exc.headers = {**decision.headers(), **exc.headers}
            raise
        except BaseException:
            quota.refund(agent.id, reservation)
            raise
        store.set(key, results, settings.lithtrix_cache_ttl_seconds)
    else:
        results = hit
    body = SearchSuccessResponse(
        query=q,
        results=[SearchResultItem(**item) for item in results],
        cached=hit is not None,
        response_time_ms=_elapsed_ms(started),
        usage=reservation.usage.info(),
    )
    return body.model_dump(mode="json"), 200, decision.headers()


def _ask(provider: providers.Provider, breaker: Breaker, q: str, num_results: int) -> list[dict]:
    try:
        breaker.before_call()
    except CircuitOpen as exc:
        raise ApiError(503, "SERVICE_UNAVAILABLE", "Search is temporarily unavailable. Please retry shortly.",
                       headers={"Retry-After": str(math.ceil(exc.retry_after))}) from None
    try:
        hits = provider.search(q, num_results)
    except providers.ProviderError:
        breaker.failed()
        raise ApiError(502, "UPSTREAM_ERROR", "The search provider failed. Please try again.") from None
    except BaseException:
        breaker.failed()
        raise
    breaker.succeeded()
    return [_result(hit) for hit in hits[:num_results]]


def _result(hit: providers.Hit) -> dict:
    """A result as the API returns it: HTML-free text, source host, credibility score."""
    host = credibility.host_of(hit.url)
    return SearchResultItem(
        title=strip_html(hit.title) or hit.url,
        url=hit.url,
        snippet=clean_snippet(hit.snippet),
        source=host,
        credibility_score=credibility.score_host(host),
        published_date=hit.published_date,
    ).model_dump(mode="json")


def _refused(agent_id: str, q: str, started: float) -> dict:
    agent = agents.get(agent_id)
    if agent is None:
        raise ApiError(401, "INVALID_API_KEY", INVALID_KEY)
    if agent.status != "active":  # suspended between authentication and now
        raise ApiError(403, "AGENT_SUSPENDED", "This agent is suspended. Contact the operator.")
    usage = quota.usage_of(agent)
    body = SearchSuccessResponse(
        query=q, results=[], cached=False, response_time_ms=_elapsed_ms(started), usage=usage.info()
    ).model_dump(mode="json")
    body.update(error_code="OVER_LIMIT", message=OVER_LIMIT.format(limit=agent.call_limit))
    return body


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))
