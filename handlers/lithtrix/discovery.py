"""/v1/capabilities and /v1/guide, built at request time from the served OpenAPI document
and the live settings, so they cannot drift from what the server does: endpoints, auth and
parameter limits come from specs/lithtrix.json; tiers, rate limits, provider, cache and billing
state from the settings; the credibility rules from handlers/lithtrix/credibility.py; error
codes from the documented responses (the `(CODE)` in each description).
"""

from __future__ import annotations

import re
import typing as t

from handlers.lithtrix import credibility, webhooks
from handlers.lithtrix.billing import UPGRADED
from handlers.lithtrix.providers import provider_name
from handlers.lithtrix.quota import UPGRADE_URL
from handlers.lithtrix.register import STORE_KEY
from server.apis import APIS
from server.settings import Settings

SERVICE = "Lithtrix Search API"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
EXAMPLE_AGENT_ID = "550e8400-e29b-41d4-a716-446655440000"
EXAMPLE_KEY = "ltx_" + "a1b2c3d4" * 4


def document() -> dict:
    return APIS["lithtrix"].document


def _operations(public_only: bool = True) -> t.Iterator[tuple[str, str, dict]]:
    for path, item in document()["paths"].items():
        if public_only and path.startswith("/admin"):
            continue  # operator routes are not part of the agent-facing description
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def operation(path: str, method: str) -> dict:
    return document()["paths"][path][method]


def _auth_required(op: dict) -> bool:
    return bool(op.get("security"))


def parameter_rules(path: str, method: str) -> dict[str, dict]:
    """Each query parameter's rules, read from its schema (type, required, bounds, default)."""
    rules = {}
    for param in operation(path, method).get("parameters", []):
        if param["in"] != "query":
            continue
        schema = param.get("schema", {})
        rule = {"type": schema.get("type"), "required": bool(param.get("required"))}
        for key in ("minLength", "maxLength", "minimum", "maximum", "default", "pattern"):
            if key in schema:
                rule[key] = schema[key]
        if param.get("description"):
            rule["description"] = param["description"]
        rules[param["name"]] = rule
    return rules


def body_rules(schema_name: str) -> dict[str, dict]:
    schema = document()["components"]["schemas"][schema_name]
    rules = {}
    for name, prop in schema.get("properties", {}).items():
        rule = {"type": prop.get("type"), "required": name in schema.get("required", [])}
        for key in ("minLength", "maxLength", "pattern", "description"):
            if key in prop:
                rule[key] = prop[key]
        rules[name] = rule
    return rules


def error_codes() -> dict[str, int]:
    """Every documented error code with its HTTP status (OVER_LIMIT rides in a 200)."""
    codes: dict[str, int] = {}
    for _, _, op in _operations(public_only=False):
        for status, response in op.get("responses", {}).items():
            for group in re.findall(r"\(([A-Z][A-Z_]+(?:, [A-Z][A-Z_]+)*)\)", response.get("description", "")):
                for name in group.split(", "):
                    codes.setdefault(name, int(status))
    codes["OVER_LIMIT"] = 200
    return dict(sorted(codes.items()))


def free_tier_text(settings: Settings) -> str:
    return f"{settings.lithtrix_free_call_limit} calls (one-time trial, lifetime total)"


def capabilities(settings: Settings, base_url: str) -> dict:
    info = document()["info"]
    return {
        "service": SERVICE,
        "version": info["version"],
        "description": info["description"].split("\n\n")[0].replace("**", ""),
        "base_url": base_url,
        "authentication": {
            "type": "bearer",
            "header": "Authorization: Bearer ltx_...",
            "key_prefix": "ltx_",
            "obtain_via": "POST /v1/register",
            "rotate_via": "POST /v1/keys/rotate",
        },
        "endpoints": [
            {
                "method": method.upper(),
                "path": path,
                "summary": op.get("summary", ""),
                "auth_required": _auth_required(op),
                **({"hint": op["x-agent-hint"]} if "x-agent-hint" in op else {}),
            }
            for path, method, op in _operations()
        ],
        "rate_limits": {
            "free_tier": free_tier_text(settings),
            "pro_tier": "unlimited",
            "per_minute": {
                "free": settings.lithtrix_rate_limit_free,
                "pro": settings.lithtrix_rate_limit_pro,
                "window_seconds": settings.lithtrix_rate_window_seconds,
            },
            "over_limit": "past the free cap, searches answer 200 with no results, usage.over_limit true and "
            f"error_code OVER_LIMIT; upgrade via {UPGRADE_URL}",
            "rate_limited": "429 RATE_LIMIT_EXCEEDED with a Retry-After header (seconds)",
        },
        "search": {
            "endpoint": "GET /v1/search",
            "parameters": parameter_rules("/v1/search", "get"),
            "provider": provider_name(settings),
            "cache": {
                "backend": "redis" if settings.redis_url else "sqlite",
                "ttl_seconds": settings.lithtrix_cache_ttl_seconds,
                "key": "provider + normalised query + num_results",
            },
            "result_fields": list(document()["components"]["schemas"]["SearchResultItem"]["properties"]),
        },
        "credibility_scoring": {
            "basis": "the result's domain category; page content is not analysed; distinct from relevance",
            "range": [credibility.DEFAULT_SCORE, 1.0],
            "rules": credibility.table(),
        },
        "billing": {
            "configured": bool(settings.lithtrix_stripe_secret_key and settings.lithtrix_stripe_publishable_key),
            "publishable_key": "GET /v1/billing/config",
            "status": "GET /v1/billing",
            "upgrade": f"POST {UPGRADE_URL}",
            "webhook_events": webhooks.TIER_RULES,
        },
        "errors": {
            "envelope": {"status": "error", "error_code": "<CODE>", "message": "<text>"},
            "validation": "422 {\"detail\": [{\"type\", \"loc\", \"msg\", \"input\", \"ctx\"}]}",
            "codes": error_codes(),
        },
    }


def guide(settings: Settings, base_url: str) -> dict:
    limit = settings.lithtrix_free_call_limit

    def step(number: int, name: str, description: str, path: str, method: str, **extra: t.Any) -> dict:
        op = operation(path, method)
        entry = {
            "step": number,
            "name": name,
            "description": description,
            "method": method.upper(),
            "path": path,
            "auth_required": _auth_required(op),
        }
        if _auth_required(op):
            entry["auth_header"] = "Authorization: Bearer ltx_..."
        entry.update(extra)
        entry.setdefault("params", None)
        return entry

    example_usage = {"calls_total": 1, "calls_remaining": limit - 1, "over_limit": False, "upgrade_url": UPGRADE_URL}
    return {
        "title": "Lithtrix agent quickstart",
        "description": "Follow the steps in order: discover, register, search, check usage, upgrade. "
        "No human is needed at any step.",
        "base_url": base_url,
        "steps": [
            step(1, "discover", "Read the service's endpoints, limits and scoring rules.", "/v1/capabilities", "get",
                 example_response={"service": SERVICE, "version": document()["info"]["version"],
                                   "authentication": {"type": "bearer", "obtain_via": "POST /v1/register"},
                                   "rate_limits": {"free_tier": free_tier_text(settings), "pro_tier": "unlimited"}}),
            step(2, "register", "Register yourself and store the returned key: it is shown only once.",
                 "/v1/register", "post",
                 body={"agent_name": "my-research-agent", "owner_identifier": "you@example.com"},
                 body_rules=body_rules("RegisterRequest"),
                 example_response={"api_key": EXAMPLE_KEY, "agent_id": EXAMPLE_AGENT_ID, "message": STORE_KEY}),
            step(3, "search", "Search; every result carries a credibility_score and the answer your usage.",
                 "/v1/search", "get",
                 params={"q": "Singapore climate policy 2025", "num_results": 5},
                 param_rules=parameter_rules("/v1/search", "get"),
                 example_response={"status": "success", "query": "Singapore climate policy 2025", "results": [
                     {"title": "Singapore Green Plan 2030", "url": "https://www.greenplan.gov.sg/",
                      "snippet": "The Singapore Green Plan 2030 is a whole-of-nation movement...",
                      "source": "www.greenplan.gov.sg",
                      "credibility_score": credibility.score_url("https://www.greenplan.gov.sg/"),
                      "published_date": None}],
                     "usage": example_usage, "cached": False, "response_time_ms": 312}),
            step(4, "check_usage", "Check your tier, calls so far and the cap.", "/v1/billing", "get",
                 example_response={"tier": "free", "calls_total": 1, "call_limit": limit, "over_limit": False,
                                   "stripe_customer_id": None}),
            step(5, "upgrade", "When over_limit is true: get the publishable key from GET /v1/billing/config, "
                 "create a PaymentMethod with Stripe.js, then send its id here.", UPGRADE_URL, "post",
                 body={"payment_method_id": "pm_..."},
                 example_response={"tier": "pro", "stripe_customer_id": "cus_...",
                                   "message": UPGRADED.format(rate=settings.lithtrix_rate_limit_pro)}),
        ],
    }
