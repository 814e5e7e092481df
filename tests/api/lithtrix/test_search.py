"""GET /v1/search: results from the embedded index and from Brave (a local stand-in speaking
Brave's protocol), the cache on both backends, quotas at the boundary, rate limits, provider
failures (nothing counted) and the circuit breaker."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import redis

from storage import db
from storage.lithtrix import UsageLog
from tests.api.lithtrix.conftest import P, agent_row, register, set_agent

TAG = re.compile(r"<[^>]+>|&[#\w]+;")


def search(client, who, **params):
    return client.get(f"{P}/v1/search", params=params, headers=who.headers)


def logged(agent_id: str) -> list[UsageLog]:
    with db.database.connection_context():
        return list(UsageLog.select().where(UsageLog.agent == agent_id).order_by(UsageLog.id))


# ------------------------------------------------------------------ the local index


def test_a_fresh_server_answers_from_the_sample_corpus(api, agent):
    r = search(api, agent, q="We the People", num_results=3)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "success" and body["query"] == "We the People" and body["cached"] is False
    first = body["results"][0]
    assert first["url"] == "https://www.archives.gov/founding-docs/constitution-transcript"
    assert first["source"] == "www.archives.gov" and first["credibility_score"] == 1.0
    assert first["published_date"] == "1787-09-17"
    # the phrase is on the page's first lines, so the snippet is its start, not cut ("...")
    assert first["snippet"].startswith("The Constitution of the United States of America Preamble We the People of")
    assert len(body["results"]) == 3
    assert body["usage"] == {"calls_total": 1, "calls_remaining": 299, "over_limit": False,
                             "upgrade_url": "/v1/billing/setup"}
    assert isinstance(body["response_time_ms"], int) and body["response_time_ms"] >= 0
    assert r.headers["X-RateLimit-Limit"] == "60" and r.headers["X-RateLimit-Remaining"] == "59"


def test_scores_follow_the_domain_table(api, agent):
    scores = {}
    for q in ("pursuit of Happiness", "my shepherd", "Bill of Rights"):
        for item in search(api, agent, q=q, num_results=20).json()["results"]:
            scores[item["source"]] = item["credibility_score"]
    assert scores == {"avalon.law.yale.edu": 0.9, "www.gutenberg.org": 0.7, "www.archives.gov": 1.0}


def test_snippets_are_cut_around_the_matched_terms(api, agent):
    item = search(api, agent, q="Remember the sabbath day").json()["results"][0]
    assert item["title"] == "The King James Bible: Exodus 20"
    assert "Remember the sabbath day" in item["snippet"]
    assert item["snippet"].startswith("...")  # cut: the passage is deep in the page
    assert not TAG.search(item["snippet"])


def test_num_results_defaults_to_ten_and_caps_the_page(api, agent):
    assert len(search(api, agent, q="the").json()["results"]) == 10
    assert len(search(api, agent, q="the", num_results=20).json()["results"]) == 20
    assert len(search(api, agent, q="the", num_results=1).json()["results"]) == 1


def test_no_match_and_punctuation_only_queries_are_empty_successes(api, agent):
    for q in ("xyzzyplugh", "!!! ??? ---", '"*():^'):
        r = search(api, agent, q=q)
        assert r.status_code == 200 and r.json()["results"] == [], q
    assert agent_row(agent.agent_id).calls_total == 3  # each was a (counted) search


def test_query_syntax_is_searched_as_words(api, agent):
    # FTS5 operators in user text are plain words, never syntax (no errors, no injection).
    r = search(api, agent, q='"charity" NOT tongues* OR (NEAR')
    assert r.status_code == 200
    assert r.json()["results"][0]["url"] == "https://www.gutenberg.org/ebooks/10#1-corinthians-13"


def test_pages_added_to_the_index_are_found(api, agent, settings):
    from handlers.lithtrix import local_index

    doc = local_index.Document.clean("https://www.nih.gov/zzq", "<b>Quokka</b> study", "<p>Quokkas &amp; you</p>",
                                     "2024-02-03")
    local_index.add_documents(local_index.default_path(settings), [doc])
    item = search(api, agent, q="quokka").json()["results"][0]
    assert item == {"title": "Quokka study", "url": "https://www.nih.gov/zzq", "snippet": "Quokkas & you",
                    "source": "www.nih.gov", "credibility_score": 1.0, "published_date": "2024-02-03"}


# ------------------------------------------------------------------ cache


def test_identical_queries_are_served_from_the_cache_and_still_counted(api, agent):
    first = search(api, agent, q="Freedom of speech", num_results=5).json()
    again = search(api, agent, q="  freedom   OF speech ", num_results=5).json()
    assert first["cached"] is False and again["cached"] is True
    assert again["results"] == first["results"] and again["query"] == "  freedom   OF speech "
    assert again["usage"]["calls_total"] == 2
    assert search(api, agent, q="freedom of speech", num_results=6).json()["cached"] is False
    other = register(api, "other", "o@example.com")
    assert search(api, other, q="freedom of speech", num_results=5).json()["cached"] is True
    assert [row.cached for row in logged(agent.agent_id)] == [False, True, False]


def test_the_redis_cache_serves_repeats_too(make_api, redis_url, redis_server):
    api = make_api(redis_url=redis_url)
    agent = register(api)
    assert search(api, agent, q="moon").json()["cached"] is False
    keys = redis_server.client.keys("lithtrix:search:v1:*")
    assert len(keys) == 1 and 3590 <= redis_server.client.ttl(keys[0]) <= 3600
    assert search(api, agent, q="Moon").json()["cached"] is True
    with db.database.connection_context():
        from storage.lithtrix import CacheEntry

        assert CacheEntry.select().count() == 0  # nothing went to the SQLite table


def test_an_unreachable_redis_only_costs_the_cache(make_api):
    api = make_api(redis_url="redis://127.0.0.1:1/0")
    agent = register(api)
    for _ in range(2):
        r = search(api, agent, q="moon")
        assert r.status_code == 200 and r.json()["cached"] is False and r.json()["results"]


# ------------------------------------------------------------------ quota


def test_the_free_cap_refuses_past_the_boundary(make_api):
    api = make_api(lithtrix_free_call_limit=3)
    agent = register(api)
    answers = [search(api, agent, q="liberty").json() for _ in range(5)]
    assert [a["usage"]["calls_total"] for a in answers] == [1, 2, 3, 3, 3]
    assert [a["usage"]["calls_remaining"] for a in answers] == [2, 1, 0, 0, 0]
    assert [a["usage"]["over_limit"] for a in answers] == [False, False, True, True, True]
    assert all(a["results"] for a in answers[:3])  # the call that reaches the cap is answered
    for refused in answers[3:]:
        assert refused["results"] == [] and refused["cached"] is False
        assert refused["error_code"] == "OVER_LIMIT" and "POST /v1/billing/setup" in refused["message"]
    assert len(logged(agent.agent_id)) == 3
    billing = api.get(f"{P}/v1/billing", headers=agent.headers).json()
    assert billing == {"tier": "free", "calls_total": 3, "call_limit": 3, "over_limit": True,
                       "stripe_customer_id": None}


def test_concurrent_searches_at_the_boundary_hand_out_each_count_once(make_api):
    api = make_api(lithtrix_free_call_limit=12)
    agent = register(api)
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: search(api, agent, q=f"liberty {i}").json(), range(30)))
    counted = sorted(a["usage"]["calls_total"] for a in answers if a["results"])
    assert counted == list(range(1, 13))
    assert sum(1 for a in answers if a.get("error_code") == "OVER_LIMIT") == 18
    assert agent_row(agent.agent_id).calls_total == 12 and len(logged(agent.agent_id)) == 12


def test_pro_is_unlimited(make_api):
    api = make_api(lithtrix_free_call_limit=1)
    agent = register(api)
    set_agent(agent.agent_id, tier="pro")
    for n in range(1, 4):
        usage = search(api, agent, q="moon").json()["usage"]
        assert usage == {"calls_total": n, "calls_remaining": None, "over_limit": False,
                         "upgrade_url": "/v1/billing/setup"}


# ------------------------------------------------------------------ rate limit


def test_per_minute_rate_limit_is_429_with_retry_after_and_not_counted(make_api):
    api = make_api(lithtrix_rate_limit_free=3, lithtrix_abuse_threshold=2)
    agent = register(api)
    codes = [search(api, agent, q="moon") for _ in range(6)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429, 429, 429]
    limited = codes[3]
    assert limited.json() == {"status": "error", "error_code": "RATE_LIMIT_EXCEEDED",
                              "message": "Per-minute rate limit exceeded. See Retry-After header."}
    assert 1 <= int(limited.headers["Retry-After"]) <= 60 and limited.headers["X-RateLimit-Remaining"] == "0"
    assert agent_row(agent.agent_id).calls_total == 3
    # Two refused calls past the limit set the abuse flag (LITHTRIX_ABUSE_THRESHOLD).
    assert agent_row(agent.agent_id).flagged is True


def test_pro_gets_the_pro_rate(make_api):
    api = make_api(lithtrix_rate_limit_free=1, lithtrix_rate_limit_pro=3)
    agent = register(api)
    set_agent(agent.agent_id, tier="pro")
    assert [search(api, agent, q="moon").status_code for _ in range(4)] == [200, 200, 200, 429]


# ------------------------------------------------------------------ Brave


def test_brave_results_are_cleaned_sourced_and_scored(brave_api, brave):
    agent = register(brave_api)
    r = search(brave_api, agent, q="moon landing", num_results=4)
    assert r.status_code == 200
    results = r.json()["results"]
    assert results[0] == {
        "title": "Moon Landing | NASA",
        "url": "https://www.nasa.gov/history/apollo-11/",
        "snippet": "The first crewed Moon landing & the Apollo 11 mission \u2014 July 20, 1969.",
        "source": "www.nasa.gov",
        "credibility_score": 1.0,
        "published_date": "2023-07-20T00:00:00",
    }
    assert [x["credibility_score"] for x in results] == [1.0, 0.8, 0.9, 0.5]
    assert results[2]["snippet"] == "Research on the Moon's origin and geology."
    assert results[1]["published_date"] is None
    sent = brave.requests[-1]
    assert sent["path"] == "/res/v1/web/search" and sent["query"] == {"q": "moon landing", "count": "4"}
    assert sent["headers"]["X-Subscription-Token"] == brave.token


def test_queries_are_cut_to_braves_limits(brave_api, brave):
    agent = register(brave_api)
    long_query = " ".join(["moon"] * 60)
    assert search(brave_api, agent, q=long_query).status_code == 200
    assert search(brave_api, agent, q="m" * 500).status_code == 200
    words, chars = brave.requests[-2]["query"]["q"], brave.requests[-1]["query"]["q"]
    assert len(words.split()) == 50 and len(chars) == 400


def test_brave_failures_are_502_and_cost_nothing(brave_api, brave):
    agent = register(brave_api)
    for status in (500, 429, 503):
        brave.fail_next(status=status)
        r = search(brave_api, agent, q="moon")
        assert r.status_code == 502
        assert r.json() == {"status": "error", "error_code": "UPSTREAM_ERROR",
                            "message": "The search provider failed. Please try again."}
        # The call still counted in the rate window (not in the quota), and says so.
        assert r.headers["X-RateLimit-Limit"] == "60" and "X-RateLimit-Reset" in r.headers
    assert r.headers["X-RateLimit-Remaining"] == "57"
    brave.fail_next(status=200, body=b"<html>not json</html>")
    assert search(brave_api, agent, q="moon").status_code == 502
    assert agent_row(agent.agent_id).calls_total == 0 and logged(agent.agent_id) == []
    ok = search(brave_api, agent, q="moon").json()  # a failure is never cached
    assert ok["cached"] is False and ok["usage"]["calls_total"] == 1


def test_a_wrong_brave_token_is_an_upstream_error(make_api, brave):
    api = make_api(lithtrix_brave_api_key="BSA-wrong", lithtrix_brave_base_url=brave.url)
    agent = register(api)
    assert search(api, agent, q="moon").status_code == 502
    assert agent_row(agent.agent_id).calls_total == 0


def test_unreachable_brave_is_502(make_api):
    api = make_api(lithtrix_brave_api_key="BSA-x", lithtrix_brave_base_url="http://127.0.0.1:1")
    agent = register(api)
    assert search(api, agent, q="moon").json()["error_code"] == "UPSTREAM_ERROR"


def test_the_circuit_opens_after_five_failures(brave_api, brave):
    agent = register(brave_api)
    brave.fail_next(times=5, status=500)
    assert [search(brave_api, agent, q=f"moon {i}").status_code for i in range(5)] == [502] * 5
    seen = len(brave.requests)
    r = search(brave_api, agent, q="moon again")
    assert r.status_code == 503 and r.json()["error_code"] == "SERVICE_UNAVAILABLE"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert len(brave.requests) == seen  # refused without calling Brave
    assert agent_row(agent.agent_id).calls_total == 0


def test_an_open_circuit_still_serves_the_cache(make_api, brave):
    api = make_api(lithtrix_brave_api_key=brave.token, lithtrix_brave_base_url=brave.url,
                   lithtrix_circuit_failures=1)
    agent = register(api)
    assert search(api, agent, q="moon").json()["cached"] is False
    brave.fail_next(status=500)
    assert search(api, agent, q="lunar").status_code == 502
    assert search(api, agent, q="other").status_code == 503
    assert search(api, agent, q="moon").json()["cached"] is True


def test_brave_answers_are_cached_in_redis(make_api, brave, redis_url):
    api = make_api(lithtrix_brave_api_key=brave.token, lithtrix_brave_base_url=brave.url, redis_url=redis_url)
    agent = register(api)
    first = search(api, agent, q="moon").json()
    second = search(api, agent, q="moon").json()
    assert (first["cached"], second["cached"]) == (False, True) and first["results"] == second["results"]
    assert len(brave.requests) == 1
    assert redis.Redis.from_url(redis_url).dbsize() == 1
