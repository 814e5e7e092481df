"""The Brave provider against a local server speaking Brave's web search protocol."""

from __future__ import annotations

import pytest

from handlers.lithtrix import brave
from handlers.lithtrix.providers import ProviderError, provider_name
from server.settings import Settings
from tests.api.lithtrix.standins import BraveStandin


@pytest.fixture
def standin():
    server = BraveStandin().start()
    yield server
    server.stop()


def test_search_parses_braves_results(standin):
    provider = brave.BraveProvider(standin.url, standin.token, timeout=5)
    hits = provider.search("moon", 3)
    provider.close()
    assert [h.url for h in hits] == ["https://www.nasa.gov/history/apollo-11/",
                                     "https://www.bbc.co.uk/bitesize/topics/apollo-11", "https://eaps.mit.edu/moon"]
    assert hits[0].published_date == "2023-07-20T00:00:00" and hits[1].published_date is None
    assert "<strong>" in hits[0].snippet  # cleaning is the search handler's job
    request = standin.requests[0]
    assert request["headers"]["Accept-Encoding"] == "gzip" and request["headers"]["Accept"] == "application/json"


def test_no_web_section_means_no_results(standin):
    provider = brave.BraveProvider(standin.url, standin.token, timeout=5)
    assert provider.search("zzzz-nothing", 5) == []
    provider.close()


@pytest.mark.parametrize("status", [401, 422, 429, 500, 503])
def test_errors_are_provider_errors(standin, status):
    provider = brave.BraveProvider(standin.url, standin.token, timeout=5)
    standin.fail_next(status=status)
    with pytest.raises(ProviderError, match=str(status)):
        provider.search("moon", 3)
    provider.close()


def test_unexpected_bodies_are_provider_errors():
    with pytest.raises(ValueError):
        brave.parse({"type": "ErrorResponse"}, 3)
    assert brave.parse({"type": "search", "web": {"results": [{"title": "no url"}]}}, 3) == []


def test_query_cut():
    assert brave.brave_query("a  b   c") == "a b c"
    assert len(brave.brave_query(" ".join(["word"] * 80)).split()) == 50
    assert len(brave.brave_query("x" * 450)) == 400
    cut = brave.brave_query(("abcdefghi " * 45).strip())
    assert len(cut) <= 400 and not cut.endswith(" ") and cut.split()[-1] == "abcdefghi"


def test_provider_choice():
    assert provider_name(Settings().replace(lithtrix_search_provider="auto", lithtrix_brave_api_key="")) == "local"
    assert provider_name(Settings().replace(lithtrix_search_provider="auto", lithtrix_brave_api_key="k")) == "brave"
    assert provider_name(Settings().replace(lithtrix_search_provider="local", lithtrix_brave_api_key="k")) == "local"
    with pytest.raises(ValueError):
        provider_name(Settings().replace(lithtrix_search_provider="google"))
