"""Marker for handlers that `pentapi generate` scaffolded and nobody has written yet.

A scaffold answers 501 in its API's envelope; `pending()` lists them (README coverage table,
conformance exclusions), so the list can only shrink as real handlers land.
"""

from __future__ import annotations

import functools
import typing as t

from server.errors import ApiError

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def scaffold(operation_id: str) -> t.Callable[[F], F]:
    def mark(function: F) -> F:
        @functools.wraps(function)
        def not_implemented(*args: t.Any, **kwargs: t.Any) -> t.NoReturn:
            raise ApiError(501, "not_implemented", f"{operation_id} is not implemented yet")

        not_implemented.__pentapi_scaffold__ = operation_id  # type: ignore[attr-defined]
        return t.cast(F, not_implemented)

    return mark


def is_scaffold(function: t.Callable) -> bool:
    return hasattr(function, "__pentapi_scaffold__")
