"""Real-protocol stand-ins for Lithtrix's third-party services, each on a free local port:

* BraveStandin: Brave's web search endpoint (`GET /res/v1/web/search`), its
  `X-Subscription-Token` auth, its JSON response and error shapes and its X-RateLimit headers,
  gzip when asked; failures can be injected.
* StripeStandin: the Stripe HTTP API calls Lithtrix makes (customers, payment method attach,
  customer update, subscriptions): bearer secret key, form-encoded bodies, Stripe JSON objects
  and error bodies, Idempotency-Key replay; driven in tests by the real `stripe` library.
* RedisServer: a real `redis-server` process (no persistence) on a free port.
"""

from __future__ import annotations

import gzip
import json
import secrets
import shutil
import socket
import subprocess
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """A ThreadingHTTPServer in a daemon thread; subclasses implement `handle(request)`."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: t.Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = owner.handle(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    def start(self) -> _Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        raise NotImplementedError


# ---------------------------------------------------------------------------------- Brave

BRAVE_PAGES = [
    {
        "title": "Moon Landing | <strong>NASA</strong>",
        "url": "https://www.nasa.gov/history/apollo-11/",
        "description": "The first crewed <strong>Moon</strong> landing &amp; the Apollo 11 mission &#x2014; "
        "July 20, 1969.",
        "page_age": "2023-07-20T00:00:00",
        "age": "July 20, 2023",
        "meta_url": {"scheme": "https", "netloc": "nasa.gov", "hostname": "www.nasa.gov",
                     "favicon": "https://imgs.search.brave.com/favicon.png", "path": "› history › apollo-11"},
    },
    {
        "title": "Apollo 11 - BBC Bitesize",
        "url": "https://www.bbc.co.uk/bitesize/topics/apollo-11",
        "description": "How the <strong>Moon</strong> landing happened, for students.",
        "meta_url": {"scheme": "https", "netloc": "bbc.co.uk", "hostname": "www.bbc.co.uk",
                     "favicon": "", "path": "› bitesize"},
    },
    {
        "title": "Lunar science at MIT",
        "url": "https://eaps.mit.edu/moon",
        "description": "Research on the <em>Moon</em>'s origin <script>alert(1)</script>and geology.",
        "page_age": "2022-01-05T10:30:00",
        "meta_url": {"scheme": "https", "netloc": "mit.edu", "hostname": "eaps.mit.edu", "favicon": "", "path": ""},
    },
    {
        "title": "Moon facts",
        "url": "https://moonfacts.example.com/",
        "description": "Fun facts about the <strong>Moon</strong>.",
        "meta_url": {"scheme": "https", "netloc": "example.com", "hostname": "moonfacts.example.com",
                     "favicon": "", "path": ""},
    },
]


def brave_error(status: int, code: str, detail: str, meta: dict | None = None) -> dict:
    return {"type": "ErrorResponse",
            "error": {"id": secrets.token_hex(8), "status": status, "code": code, "detail": detail,
                      "meta": meta or {}},
            "time": int(time.time())}


class BraveStandin(_Server):
    PATH = "/res/v1/web/search"

    def __init__(self, token: str = "BSA-test-token", pages: list[dict] | None = None) -> None:
        super().__init__()
        self.token = token
        self.pages = pages if pages is not None else BRAVE_PAGES
        self.fail: list[tuple[int, bytes]] = []  # queued failures: (status, body)

    def fail_next(self, times: int = 1, status: int = 500, body: bytes | None = None) -> None:
        payload = body if body is not None else json.dumps(
            brave_error(status, "INTERNAL" if status >= 500 else "RATE_LIMITED", "Injected failure")).encode()
        self.fail.extend([(status, payload)] * times)

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.requests.append({"method": method, "path": parts.path, "query": query, "headers": headers})
            failure = self.fail.pop(0) if self.fail else None
        lower = {k.lower(): v for k, v in headers.items()}
        rate = {"X-RateLimit-Limit": "1, 15000", "X-RateLimit-Policy": "1;w=1, 15000;w=2592000",
                "X-RateLimit-Remaining": "0, 14999", "X-RateLimit-Reset": "1, 2419200"}
        if parts.path != self.PATH or method != "GET":
            return self._json(404, brave_error(404, "NOT_FOUND", "Not found"), lower, rate)
        if lower.get("x-subscription-token") != self.token:
            return self._json(401, brave_error(401, "SUBSCRIPTION_TOKEN_INVALID",
                                               "The provided subscription token is invalid."), lower, rate)
        if failure is not None:
            return failure[0], {"Content-Type": "application/json", **rate}, failure[1]
        q, count = query.get("q", ""), query.get("count", "20")
        if not q or len(q) > 400 or len(q.split()) > 50 or not count.isdigit() or not 1 <= int(count) <= 20:
            return self._json(422, brave_error(422, "VALIDATION", "Unable to validate request parameter(s)"),
                              lower, rate)
        words = [w.lower() for w in q.split()]
        hits = [p for p in self.pages if any(w in (p["title"] + p["description"]).lower() for w in words)]
        results = [{"type": "search_result", "subtype": "generic", "is_source_local": False,
                    "is_source_both": False, "family_friendly": True, "language": "en", **page}
                   for page in hits[: int(count)]]
        answer = {
            "type": "search",
            "query": {"original": q, "show_strict_warning": False, "is_navigational": False,
                      "is_news_breaking": False, "spellcheck_off": True, "country": "us", "bad_results": False,
                      "should_fallback": False, "postal_code": "", "city": "", "header_country": "",
                      "more_results_available": len(hits) > int(count), "state": ""},
            "mixed": {"type": "mixed", "main": [{"type": "web", "index": i, "all": False}
                                                for i in range(len(results))], "top": [], "side": []},
        }
        if results:
            answer["web"] = {"type": "search", "results": results, "family_friendly": True}
        return self._json(200, answer, lower, rate)

    @staticmethod
    def _json(status: int, body: dict, request_headers: dict, extra: dict) -> tuple[int, dict, bytes]:
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", **extra}
        if "gzip" in request_headers.get("accept-encoding", ""):
            payload = gzip.compress(payload)
            headers["Content-Encoding"] = "gzip"
        return status, headers, payload


# ---------------------------------------------------------------------------------- Stripe

def stripe_error(type_: str, message: str, code: str | None = None, param: str | None = None,
                 **extra: t.Any) -> dict:
    error: dict = {"type": type_, "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    error["request_log_url"] = "https://dashboard.stripe.com/test/logs/req_" + secrets.token_hex(7)
    error.update(extra)
    return {"error": error}


class StripeStandin(_Server):
    """Stripe's API for: POST /v1/customers, POST /v1/customers/{id},
    POST /v1/payment_methods/{id}/attach, POST /v1/subscriptions."""

    # Stripe's test PaymentMethods that Lithtrix can meet: a working Visa and a declined card.
    CARDS = {"pm_card_visa": ("visa", "4242"), "pm_card_mastercard": ("mastercard", "4444")}
    DECLINED = {"pm_card_chargeDeclined": "generic_decline", "pm_card_chargeDeclinedInsufficientFunds":
                "insufficient_funds"}

    def __init__(self, secret_key: str = "sk_test_lithtrix", prices: tuple[str, ...] = ("price_pro_monthly",)) -> None:
        super().__init__()
        self.secret_key = secret_key
        self.prices = set(prices)
        self.customers: dict[str, dict] = {}
        self.payment_methods: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.idempotent: dict[str, tuple[int, dict, bytes]] = {}
        self.fail: list[tuple[str, int, dict, dict]] = []  # (path prefix, status, body, headers)

    def fail_next(self, path_prefix: str, status: int = 500, body: dict | None = None,
                  headers: dict | None = None) -> None:
        self.fail.append((path_prefix, status, body or stripe_error("api_error", "An unknown error occurred"),
                          headers or {}))

    def calls(self, method: str | None = None, prefix: str = "") -> list[dict]:
        return [r for r in self.requests if (method is None or r["method"] == method) and r["path"].startswith(prefix)]

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        lower = {k.lower(): v for k, v in headers.items()}
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        route = urlsplit(path).path
        record = {"method": method, "path": route, "form": form, "headers": lower}
        with self._lock:
            self.requests.append(record)
            key = lower.get("idempotency-key")
            if key and key in self.idempotent:
                status, extra, payload = self.idempotent[key]
                return status, {**extra, "Idempotent-Replayed": "true"}, payload
            failure = next((f for f in self.fail if route.startswith(f[0])), None)
            if failure:
                self.fail.remove(failure)
                answer = (failure[1], failure[2], failure[3])
            else:
                answer = self._route(method, route, form, lower)
            status, obj, extra_headers = answer
            payload = json.dumps(obj).encode()
            out = {"Content-Type": "application/json", "Request-Id": "req_" + secrets.token_hex(7),
                   "Stripe-Version": lower.get("stripe-version", "2025-01-01"), **extra_headers}
            # Stripe saves the first response for a key once execution began (errors included);
            # rate-limited and conflicting (409) requests never began, so they are not saved.
            if key and status not in (409, 429):
                self.idempotent[key] = (status, out, payload)
            return status, out, payload

    def _route(self, method: str, route: str, form: dict, headers: dict) -> tuple[int, dict, dict]:
        if headers.get("authorization") != f"Bearer {self.secret_key}":
            return 401, stripe_error("invalid_request_error",
                                     "Invalid API Key provided: sk_test_****" + self.secret_key[-4:]), {}
        if "application/x-www-form-urlencoded" not in headers.get("content-type", "") and method == "POST":
            return 400, stripe_error("invalid_request_error", "Invalid request: expected form encoding"), {}
        parts = route.strip("/").split("/")
        if method == "POST" and parts == ["v1", "customers"]:
            return 200, self._new_customer(form), {}
        if method == "POST" and len(parts) == 3 and parts[:2] == ["v1", "customers"]:
            return self._update_customer(parts[2], form)
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "payment_methods"] and parts[3] == "attach":
            return self._attach(parts[2], form)
        if method == "POST" and parts == ["v1", "subscriptions"]:
            return self._subscribe(form)
        return 404, stripe_error("invalid_request_error", f"Unrecognized request URL ({method}: {route})."), {}

    @staticmethod
    def _metadata(form: dict) -> dict:
        return {k[len("metadata["):-1]: v for k, v in form.items() if k.startswith("metadata[")}

    def _new_customer(self, form: dict) -> dict:
        customer_id = "cus_" + secrets.token_hex(7)
        customer = {
            "id": customer_id, "object": "customer", "address": None, "balance": 0, "created": int(time.time()),
            "currency": None, "default_source": None, "delinquent": False, "description": form.get("description"),
            "discount": None, "email": form.get("email"), "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                 "rendering_options": None},
            "livemode": False, "metadata": self._metadata(form), "name": form.get("name"), "phone": None,
            "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
        }
        self.customers[customer_id] = customer
        return customer

    def _missing(self, kind: str, object_id: str, param: str) -> tuple[int, dict, dict]:
        return 404, stripe_error("invalid_request_error", f"No such {kind}: '{object_id}'", "resource_missing",
                                 param), {}

    def _update_customer(self, customer_id: str, form: dict) -> tuple[int, dict, dict]:
        customer = self.customers.get(customer_id)
        if customer is None:
            return self._missing("customer", customer_id, "id")
        default = form.get("invoice_settings[default_payment_method]")
        if default is not None:
            pm = self.payment_methods.get(default)
            if pm is None or pm["customer"] != customer_id:
                return 400, stripe_error("invalid_request_error",
                                         f"The customer does not have a payment method with the ID {default}. "
                                         "The payment method must be attached to the customer.",
                                         "resource_missing", "invoice_settings[default_payment_method]"), {}
            customer["invoice_settings"]["default_payment_method"] = default
        return 200, customer, {}

    def _attach(self, pm_id: str, form: dict) -> tuple[int, dict, dict]:
        customer_id = form.get("customer", "")
        if customer_id not in self.customers:
            return self._missing("customer", customer_id, "customer")
        if pm_id in self.DECLINED:
            return 402, stripe_error("card_error", "Your card was declined.", "card_declined",
                                     decline_code=self.DECLINED[pm_id]), {}
        if pm_id not in self.CARDS:
            return self._missing("PaymentMethod", pm_id, "payment_method")
        existing = self.payment_methods.get(pm_id)
        if existing and existing["customer"] not in (None, customer_id):
            return 400, stripe_error("invalid_request_error", "The payment method you provided has already been "
                                     "attached to a customer.", "payment_method_unexpected_state"), {}
        brand, last4 = self.CARDS[pm_id]
        pm = {"id": pm_id, "object": "payment_method", "allow_redisplay": "unspecified",
              "billing_details": {"address": None, "email": None, "name": None, "phone": None},
              "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034, "country": "US",
                       "funding": "credit"},
              "created": int(time.time()), "customer": customer_id, "livemode": False, "metadata": {},
              "type": "card"}
        self.payment_methods[pm_id] = pm
        return 200, pm, {}

    def _subscribe(self, form: dict) -> tuple[int, dict, dict]:
        customer_id = form.get("customer", "")
        if customer_id not in self.customers:
            return self._missing("customer", customer_id, "customer")
        price = form.get("items[0][price]", "")
        if price not in self.prices:
            return self._missing("price", price, "items[0][price]")
        sub_id = "sub_" + secrets.token_hex(7)
        subscription = {
            "id": sub_id, "object": "subscription", "customer": customer_id, "status": "active",
            "created": int(time.time()), "current_period_end": int(time.time()) + 30 * 86400,
            "default_payment_method": form.get("default_payment_method"), "livemode": False,
            "metadata": self._metadata(form),
            "items": {"object": "list", "data": [{"id": "si_" + secrets.token_hex(7), "object": "subscription_item",
                                                  "price": {"id": price, "object": "price"}, "quantity": 1}],
                      "has_more": False, "url": f"/v1/subscription_items?subscription={sub_id}"},
        }
        self.subscriptions[sub_id] = subscription
        return 200, subscription, {}


# ---------------------------------------------------------------------------------- Redis


class RedisServer:
    """`redis-server --port N --save '' --appendonly no` on 127.0.0.1."""

    BINARY = shutil.which("redis-server") or "/usr/bin/redis-server"

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [self.BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        self.client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
