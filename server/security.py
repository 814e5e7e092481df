"""Connexion's security handlers, with one per-request cost removed.

Connexion asks `inspect.signature` of the security function on every request, twice (does it
take `required_scopes`? `request`?): about a third of its security middleware's time. A
function's signature does not change, so the answer is remembered per function. Passed to
Connexion through its `security_map` option; behaviour is otherwise Connexion's own.
"""

from __future__ import annotations

import functools
import typing as t

from connexion.security import (
    SECURITY_HANDLERS,
    AbstractSecurityHandler,
    ApiKeySecurityHandler,
    BasicSecurityHandler,
    BearerSecurityHandler,
    OAuthSecurityHandler,
)


@functools.lru_cache(maxsize=1024)
def _accepts_kwarg(func: t.Callable, keyword: str) -> bool:
    return AbstractSecurityHandler._accepts_kwarg(func, keyword)


class _Remembering:
    _accepts_kwarg = staticmethod(_accepts_kwarg)


class Basic(_Remembering, BasicSecurityHandler):
    pass


class ApiKey(_Remembering, ApiKeySecurityHandler):
    pass


class OAuth(_Remembering, OAuthSecurityHandler):
    pass


class Bearer(_Remembering, BearerSecurityHandler):
    pass


SECURITY_MAP = {"basic": Basic, "apiKey": ApiKey, "oauth2": OAuth, "bearer": Bearer}
assert SECURITY_MAP.keys() == SECURITY_HANDLERS.keys(), "Connexion's security handler set changed"
