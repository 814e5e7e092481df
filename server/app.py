"""The composition root: `create_app(settings, api=None)` builds the Connexion FlaskApp.

With `api=None` all five APIs are mounted under their prefixes (/loup, /loopkit,
/loopat/api/v1, /lithtrix, /gvnr); with a name, that one API is served at its spec's own
paths. The whole middleware stack is listed here, outermost first.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import sys
import typing as t
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

import connexion
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import API
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.options import SwaggerUIOptions
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.exceptions import HTTPException

from server import envelopes
from server.apis import APIS, ApiDef, extra_apis
from server.errors import INTERNAL, METHOD, classify
from server.middleware import BodyLimit, ContentDecoding, NativeAsync, RequestLog, Site, request_id
from server.naming import security_function_for
from server.oas31 import VALIDATOR_MAP, Spec31, URIParser31
from server.resolver import HandlerResolver
from server.security import SECURITY_MAP
from server.settings import Settings, activate
from storage import all_models, db

log = logging.getLogger("pentapi")
RECURSION_LIMIT = 1000  # CPython's default: deep enough for any handler, shallow enough for the C stack


class _AnyPath(PathConvertor):
    regex = "(?s:.*)"


# Connexion mounts each API with a Starlette Mount, which matches the rest of the path with
# the `path` convertor's `.*`; that stops at a newline, so a path parameter holding an encoded
# newline (/agents/a%0Ab) missed its mounted API's routes and reached Flask unrouted (a 500).
# Unmounted routes (`[^/]+`) match it, so mounted ones must too.
register_url_convertor("path", _AnyPath())


def create_app(settings: Settings | None = None, api: str | None = None) -> connexion.FlaskApp:
    settings = activate(settings or Settings())
    db.bind(settings.resolved_database_url, write_concurrency=settings.write_concurrency)
    db.init_schema(all_models())

    selected = [APIS[api]] if api else [*APIS.values(), *extra_apis(settings.extra_apis)]
    combined = api is None
    mounts = {a.base_path(combined): {"name": a.name, "document": a.document, "prefix": a.prefix(combined)}
              for a in selected}
    async_handlers: dict[tuple[str, str], t.Callable] = {}
    render = partial(render_error, mounts=[(m.base_path, a) for a in selected for m in a.mounts(combined)],
                     fallback=None if combined else selected[0])

    app = connexion.FlaskApp(
        __name__,
        lifespan=api_lifespans(selected),
        middlewares=[
            partial(ServerErrorMiddleware, handler=render),
            partial(RequestLog, served_by=settings.expose_worker),
            ExceptionMiddleware,
            partial(BodyLimit, max_bytes=settings.max_body_bytes),
            partial(ContentDecoding, max_bytes=settings.max_body_bytes),
            partial(Site, mounts=mounts, combined=combined),
            RoutingMiddleware,
            SecurityMiddleware,
            RequestValidationMiddleware,
            ResponseValidationMiddleware,
            LifespanMiddleware,
            ContextMiddleware,
            # innermost, so `connexion.context` (token_info) works in async handlers as in sync ones
            partial(NativeAsync, handlers=async_handlers),
        ],
        validator_map=VALIDATOR_MAP,
        security_map=SECURITY_MAP,
        uri_parser_class=URIParser31,
        # tokenId -> token_id, from -> from_, id -> id_: handler arguments are plain Python names
        pythonic_params=True,
        validate_responses=settings.validate_responses,
        swagger_ui_options=SwaggerUIOptions(swagger_ui=False, serve_spec=False),
    )
    # Every failure, framework or handler, goes through the one renderer.
    for kind in (Exception, ProblemException, HTTPException, 404, 405):
        app.add_error_handler(kind, render)
    for api_def in selected:
        _add_api(app, api_def, combined, async_handlers)
    # The handlers are imported now. py_ecc (pulled in by eth_account, for Gvnr's x402) raises
    # the interpreter's recursion limit to 100,000 on import; with that, a deeply nested JSON
    # body overflows the C stack and kills the worker instead of raising RecursionError (a 400).
    sys.setrecursionlimit(RECURSION_LIMIT)

    flask_app = app.app
    # One connection per request, closed on every path (teardown runs after errors too).
    flask_app.before_request(lambda: db.database.connect(reuse_if_open=True) and None)
    flask_app.teardown_request(lambda _exc: db.database.close())
    return app


def api_lifespans(selected: list[ApiDef]) -> t.Callable | None:
    """One lifespan entering each API package's own `lifespan(app)` (an async context manager
    in handlers/<api>/__init__.py, for state a worker keeps: loopat's turn engine), if any."""
    hooks = [hook for a in selected if (hook := getattr(importlib.import_module(a.handlers), "lifespan", None))]
    if not hooks:
        return None

    @asynccontextmanager
    async def lifespan(app: t.Any) -> t.AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for hook in hooks:
                await stack.enter_async_context(hook(app))
            yield

    return lifespan


def _add_api(app: connexion.FlaskApp, api_def: ApiDef, combined: bool, async_handlers: dict) -> None:
    """Hand Connexion a ready 3.1 Specification (its own add_api would re-check it as 3.0),
    one per mount of the document (see ApiDef.mounts)."""
    schemes = api_def.document.get("components", {}).get("securitySchemes", {})
    security_module = f"{api_def.handlers}.security"
    functions = {name: f"{security_module}.{security_function_for(name)}" for name in schemes}
    if functions:
        module = importlib.import_module(security_module)
        missing = [f for f in functions.values() if not hasattr(module, f.rsplit(".", 1)[1])]
        if missing:
            raise RuntimeError(f"{api_def.name}: security functions missing: {', '.join(missing)}")
    for mount in api_def.mounts(combined):
        if not mount.document["paths"]:
            continue
        specification = Spec31.bound(api_def.name, functions)(mount.document)
        options = app.middleware.options.replace(
            resolver=HandlerResolver(api_def.name, api_def.handlers, mount.base_path, async_handlers)
        )
        app.middleware.apis.append(
            API(specification, base_path=mount.base_path, name=mount.name, **options.__dict__)
        )


def owner_of(path: str, mounts: list[tuple[str, ApiDef]], fallback: ApiDef | None) -> tuple[str, ApiDef | None]:
    """The API whose mount prefix owns `path` (longest prefix wins), with that prefix."""
    best: tuple[str, ApiDef] | None = None
    for base, api_def in mounts:
        if base and (path == base or path.startswith(base + "/")) and (best is None or len(base) > len(best[0])):
            best = (base, api_def)
    return best if best else ("", fallback)


def allowed_methods(api_def: ApiDef, path: str) -> list[str]:
    """Methods the spec documents for the template matching `path` (Connexion's routes are per
    operation, so a 405 from routing would name only one of them)."""
    allowed: set[str] = set()
    for template, item in api_def.document.get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            allowed.update(m.upper() for m in item if m in HTTP_METHODS)
    return sorted(allowed)


HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def render_error(request: ConnexionRequest, exc: Exception, *, mounts: list[tuple[str, ApiDef]],
                 fallback: ApiDef | None) -> ConnexionResponse:
    failure = classify(exc)
    failure.operation = request.scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id")
    rid = request_id(request.scope)
    if failure.kind == INTERNAL and failure.status == 500:
        log.error("unhandled error rid=%s %s %s", rid, request.method, request.url.path, exc_info=exc)
    base, api_def = owner_of(request.url.path, mounts, fallback)
    if failure.kind == METHOD and api_def is not None:
        allowed = allowed_methods(api_def, request.url.path[len(base):] or "/")
        if allowed:
            failure.headers["Allow"] = ", ".join(allowed)
    renderer = envelopes.ENVELOPES.get(api_def.envelope, envelopes.generic) if api_def else envelopes.generic
    status, body, headers = renderer(failure)
    return ConnexionResponse(
        status_code=status,
        mimetype="application/json",
        content_type="application/json",
        body=json.dumps(body).encode(),
        headers=headers,
    )
