"""Marker for handlers that `pentapi generate` scaffolded and nobody has written yet.

An operation scaffold answers 501 in its API's envelope; a security-scheme scaffold refuses
every credential with the API's 401 (a 501 is in no spec, and a client must not retry it).
`pending()` lists them (README coverage table, conformance exclusions), so the list can only
shrink as real handlers land.
"""

from __future__ import annotations

import functools
import typing as t

from connexion.exceptions import OAuthProblem

from server.errors import ApiError

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def scaffold(name: str, *, security: bool = False) -> t.Callable[[F], F]:
    def mark(function: F) -> F:
        @functools.wraps(function)
        def not_implemented(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
            if security:
                raise OAuthProblem(detail=f"the {name} security scheme accepts no credentials yet")
            raise ApiError(501, "not_implemented", f"{name} is not implemented yet")

        not_implemented.__pentapi_scaffold__ = name  # type: ignore[attr-defined]
        return t.cast(F, not_implemented)

    return mark


def is_scaffold(function: t.Callable) -> bool:
    return hasattr(function, "__pentapi_scaffold__")
