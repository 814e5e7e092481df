"""Per-credential fixed windows: 429 with Retry-After, X-RateLimit-Remaining on every answer."""

from __future__ import annotations

from tests.api.loup.conftest import P


def test_creator_key_window(make_client, world):
    api = make_client(loup_rate_limit_key=3, loup_rate_window_seconds=3600)
    answers = [api.get(f"{P}/me", headers=world.creator_headers()) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    limited = answers[-1]
    assert (
        limited.json()["error"] == "rate limit exceeded"
        and limited.json()["code"] == "RATE_LIMITED"
    )
    retry = int(limited.headers["Retry-After"])
    assert 1 <= retry <= 3600 and limited.json()["retry_after_seconds"] == retry
    # The window is per key: another key (even of the same creator) is unaffected.
    assert (
        api.get(f"{P}/me", headers=world.creator_headers("alice_installs_only")).status_code == 200
    )
    # A limited key is limited on every operation, before its scope is looked at.
    assert api.get(f"{P}/usage", headers=world.creator_headers()).status_code == 429


def test_install_token_window_covers_downloads_and_invoke(make_client, world):
    api = make_client(loup_rate_limit_token=2, loup_rate_window_seconds=3600)
    headers = world.token_headers()
    assert api.get(f"{P}/skills/download", headers=headers).headers["X-RateLimit-Remaining"] == "1"
    assert api.post(f"{P}/runtime/invoke", json={"prompt": "x"}, headers=headers).status_code == 410
    r = api.get(f"{P}/runtime/whats-new", headers=headers)
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert (
        api.get(f"{P}/runtime/installs", headers=world.token_headers("bob_install")).status_code
        == 200
    )


def test_search_is_limited_per_client_address(make_client, world):
    api = make_client(loup_rate_limit_search=2, loup_rate_window_seconds=3600)
    codes = [
        api.get(f"{P}/marketplace/search", params={"q": "writer"}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
