"""Search providers behind one interface: `provider.search(query, count) -> list[Hit]`.

* `local`: the embedded full-text index (handlers/lithtrix/local_index.py), the default;
* `brave`: the Brave Search API (handlers/lithtrix/brave.py), chosen by LITHTRIX_SEARCH_PROVIDER
  or, with `auto`, whenever a Brave key is configured.

A provider raises ProviderError when it cannot answer; the search handler turns that into 502
UPSTREAM_ERROR and counts nothing. Each provider sits behind a per-process circuit breaker
(handlers/lithtrix/circuit.py), so a failing upstream is not hammered.
"""

from __future__ import annotations

import atexit
import threading
import typing as t
from dataclasses import dataclass

from handlers.lithtrix.circuit import Breaker
from server.settings import Settings


@dataclass(frozen=True)
class Hit:
    """One result as a provider returns it (the snippet may still carry markup)."""

    title: str
    url: str
    snippet: str
    published_date: str | None = None


class ProviderError(Exception):
    """The provider failed (network, HTTP error, unparseable answer): 502 UPSTREAM_ERROR."""


class Provider(t.Protocol):
    name: str

    def search(self, query: str, count: int) -> list[Hit]: ...


def provider_name(settings: Settings) -> str:
    choice = settings.lithtrix_search_provider.strip().lower() or "auto"
    if choice == "auto":
        return "brave" if settings.lithtrix_brave_api_key else "local"
    if choice not in ("local", "brave"):
        raise ValueError(f"LITHTRIX_SEARCH_PROVIDER must be auto, local or brave, not {choice!r}")
    return choice


_lock = threading.Lock()
_providers: dict[tuple, tuple[Provider, Breaker]] = {}


def _config(settings: Settings) -> tuple:
    name = provider_name(settings)
    if name == "brave":
        return (name, settings.lithtrix_brave_base_url, settings.lithtrix_brave_api_key,
                settings.lithtrix_brave_timeout)
    from handlers.lithtrix.local_index import default_path  # local_index imports this module

    return (name, str(default_path(settings)))


def _close_all() -> None:
    for provider, _ in _providers.values():
        getattr(provider, "close", lambda: None)()


atexit.register(_close_all)


def provider_for(settings: Settings) -> tuple[Provider, Breaker]:
    """The configured provider and its breaker: one per process, rebuilt (and the old one's
    connections closed) only when the configuration changes, as it does between tests."""
    key = _config(settings) + (settings.lithtrix_circuit_failures, settings.lithtrix_circuit_seconds)
    with _lock:
        found = _providers.get(key)
        if found is None:
            for old, _ in _providers.values():
                getattr(old, "close", lambda: None)()
            _providers.clear()
            found = (_build(settings), Breaker(settings.lithtrix_circuit_failures,
                                               settings.lithtrix_circuit_seconds))
            _providers[key] = found
        return found


def _build(settings: Settings) -> Provider:
    if provider_name(settings) == "brave":
        from handlers.lithtrix.brave import BraveProvider

        return BraveProvider(
            base_url=settings.lithtrix_brave_base_url,
            api_key=settings.lithtrix_brave_api_key,
            timeout=settings.lithtrix_brave_timeout,
        )
    from handlers.lithtrix.local_index import LocalProvider, default_path

    return LocalProvider(default_path(settings))
