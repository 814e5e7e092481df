"""All configuration, read from the environment: one explicit line per setting.

Every setting has an embedded default so `pentapi serve` runs with no setup at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    # where the default SQLite file and other local state live
    data_dir: Path = field(default_factory=lambda: Path(_env("PENTAPI_DATA_DIR", "data")))
    # peewee db_url; empty means sqlite:///<data_dir>/pentapi.sqlite3
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    host: str = field(default_factory=lambda: _env("PENTAPI_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PENTAPI_PORT", "8000")))
    workers: int = field(default_factory=lambda: int(_env("PENTAPI_WORKERS", "2")))
    # how many threads of one worker may hold a database write transaction at once
    write_concurrency: int = field(default_factory=lambda: int(_env("PENTAPI_WRITE_CONCURRENCY", "1")))
    log_level: str = field(default_factory=lambda: _env("PENTAPI_LOG_LEVEL", "info"))
    # largest request body accepted, in bytes
    max_body_bytes: int = field(default_factory=lambda: int(_env("PENTAPI_MAX_BODY_BYTES", str(8 * 1024 * 1024))))
    # validate every response against the spec (on in the test suite; costs CPU in production)
    validate_responses: bool = field(default_factory=lambda: _flag("PENTAPI_VALIDATE_RESPONSES", False))
    # the externally visible base URL, for links the APIs hand out (approval pages, pack URLs)
    public_url: str = field(default_factory=lambda: _env("PENTAPI_PUBLIC_URL", ""))
    # extra documents to mount beside the five (test fixtures, drafts): JSON, see server.apis
    extra_apis: str = field(default_factory=lambda: _env("PENTAPI_EXTRA_APIS", ""))
    # answer every request with X-Served-By: <worker pid> (diagnostics; e2e tests pick workers by it)
    expose_worker: bool = field(default_factory=lambda: _flag("PENTAPI_EXPOSE_WORKER", False))

    # ---------------------------------------------------------------- loup (issue 4)
    # where published snapshot tarballs live; empty means <data_dir>/loup/snapshots
    loup_snapshot_dir: str = field(default_factory=lambda: _env("LOUP_SNAPSHOT_DIR", ""))
    # bytes per chunk when streaming a snapshot download (one chunk in flight per download)
    loup_download_chunk_bytes: int = field(
        default_factory=lambda: int(_env("LOUP_DOWNLOAD_CHUNK_BYTES", str(256 * 1024)))
    )
    # fixed rate-limit window, in seconds
    loup_rate_window_seconds: int = field(default_factory=lambda: int(_env("LOUP_RATE_WINDOW_SECONDS", "60")))
    # requests per window per creator key (plat_)
    loup_rate_limit_key: int = field(default_factory=lambda: int(_env("LOUP_RATE_LIMIT_KEY", "120")))
    # requests per window per install token (loupit_)
    loup_rate_limit_token: int = field(default_factory=lambda: int(_env("LOUP_RATE_LIMIT_TOKEN", "120")))
    # requests per window per client address on the public marketplace search
    loup_rate_limit_search: int = field(default_factory=lambda: int(_env("LOUP_RATE_LIMIT_SEARCH", "60")))
    # base of pack URLs in search results: <site>/marketplace/<creator>/<slug>
    loup_site_url: str = field(default_factory=lambda: _env("LOUP_SITE_URL", "https://louphq.com"))
    # hosted runtime client: echo (embedded, no setup) or claude (Anthropic Messages API)
    loup_runtime_client: str = field(default_factory=lambda: _env("LOUP_RUNTIME_CLIENT", "echo"))
    # Anthropic API base URL for the claude client; empty means the SDK's default
    loup_anthropic_base_url: str = field(default_factory=lambda: _env("LOUP_ANTHROPIC_BASE_URL", ""))
    # Anthropic API key for the claude client (required when LOUP_RUNTIME_CLIENT=claude)
    loup_anthropic_api_key: str = field(default_factory=lambda: _env("LOUP_ANTHROPIC_API_KEY", ""))
    # model the claude client calls
    loup_anthropic_model: str = field(default_factory=lambda: _env("LOUP_ANTHROPIC_MODEL", "claude-sonnet-4-6"))
    # largest reply the claude client asks for, in tokens
    loup_anthropic_max_tokens: int = field(default_factory=lambda: int(_env("LOUP_ANTHROPIC_MAX_TOKENS", "1024")))

    # ---------------------------------------------------------------- loopkit (issue 7)
    # HMAC secret for recovery and upgrade codes: "auto" = generated once into
    # <data_dir>/loopkit/secret (mode 0600); empty = none (recover 503, no codes, no graduation)
    loopkit_secret: str = field(default_factory=lambda: _env("LOOPKIT_SIGNUP_UPGRADE_SECRET", "auto"))
    # graduate projects to permanent (no expiry, no plan) keys on provision when a secret exists
    loopkit_auto_graduate: bool = field(default_factory=lambda: _flag("LOOPKIT_PROVISION_AUTO_GRADUATE", True))
    # spans a new project may store (kept when it graduates or upgrades)
    loopkit_quota_spans: int = field(default_factory=lambda: int(_env("LOOPKIT_QUOTA_SPANS", "100000")))
    # lifetime of an ungraduated sandbox project's keys, in hours
    loopkit_sandbox_ttl_hours: int = field(default_factory=lambda: int(_env("LOOPKIT_SANDBOX_TTL_HOURS", "168")))
    # fixed rate-limit window for the public provision and recover routes, in seconds
    loopkit_rate_window_seconds: int = field(default_factory=lambda: int(_env("LOOPKIT_RATE_WINDOW_SECONDS", "3600")))
    # unauthenticated provision calls per window per client address
    loopkit_provision_rate_limit: int = field(default_factory=lambda: int(_env("LOOPKIT_PROVISION_RATE_LIMIT", "30")))
    # recover calls per window per client address
    loopkit_recover_rate_limit: int = field(default_factory=lambda: int(_env("LOOPKIT_RECOVER_RATE_LIMIT", "10")))
    # a keyless mint that loses to a mint of the same name this recent answers 409, older 401
    loopkit_mint_race_seconds: int = field(default_factory=lambda: int(_env("LOOPKIT_MINT_RACE_SECONDS", "10")))
    # most records one window read (diagnose, dashboard, sessions) looks at: the newest ones
    loopkit_window_max_records: int = field(default_factory=lambda: int(_env("LOOPKIT_WINDOW_MAX_RECORDS", "100000")))
    # records GET /v1/telemetry and GET /v1/sessions/{id} return at most
    loopkit_read_max_records: int = field(default_factory=lambda: int(_env("LOOPKIT_READ_MAX_RECORDS", "500")))

    # ---------------------------------------------------------------- loopat (issue 5)
    # the agent that runs turns: local (embedded, deterministic, no setup) or anthropic
    loopat_agent: str = field(default_factory=lambda: _env("LOOPAT_AGENT", "local"))
    # Anthropic API key for the anthropic agent (required when LOOPAT_AGENT=anthropic)
    loopat_anthropic_api_key: str = field(default_factory=lambda: _env("LOOPAT_ANTHROPIC_API_KEY", ""))
    # Anthropic API base URL; empty means the SDK's default
    loopat_anthropic_base_url: str = field(default_factory=lambda: _env("LOOPAT_ANTHROPIC_BASE_URL", ""))
    # model the anthropic agent streams from
    loopat_anthropic_model: str = field(default_factory=lambda: _env("LOOPAT_ANTHROPIC_MODEL", "claude-sonnet-4-6"))
    # max_tokens per model call
    loopat_anthropic_max_tokens: int = field(default_factory=lambda: int(_env("LOOPAT_ANTHROPIC_MAX_TOKENS", "4096")))
    # extended-thinking budget in tokens per model call (0: thinking off)
    loopat_anthropic_thinking_tokens: int = field(
        default_factory=lambda: int(_env("LOOPAT_ANTHROPIC_THINKING_TOKENS", "0")))
    # pause between the local agent's deltas, in milliseconds (it streams word by word)
    loopat_local_delta_ms: int = field(default_factory=lambda: int(_env("LOOPAT_LOCAL_DELTA_MS", "15")))
    # lifetime of a web session (the loopat_session cookie), in days
    loopat_session_days: int = field(default_factory=lambda: int(_env("LOOPAT_SESSION_DAYS", "30")))
    # mark the session cookie Secure even on plain-HTTP requests (it is always Secure over HTTPS)
    loopat_cookie_secure: bool = field(default_factory=lambda: _flag("LOOPAT_COOKIE_SECURE", False))
    # seconds between ping events on an idle stream
    loopat_ping_seconds: float = field(default_factory=lambda: float(_env("LOOPAT_PING_SECONDS", "15")))
    # how often each process reads new events from the turn log, in milliseconds
    loopat_poll_ms: int = field(default_factory=lambda: int(_env("LOOPAT_POLL_MS", "25")))
    # a loop's runner must renew its lease within this many seconds or another process takes over
    loopat_lease_seconds: float = field(default_factory=lambda: float(_env("LOOPAT_LEASE_SECONDS", "15")))
    # an unanswered permission choice is denied after this many seconds (0: never)
    loopat_permission_timeout_seconds: float = field(
        default_factory=lambda: float(_env("LOOPAT_PERMISSION_TIMEOUT_SECONDS", "120")))
    # an unanswered question choice is rejected after this many seconds (0: never)
    loopat_question_timeout_seconds: float = field(
        default_factory=lambda: float(_env("LOOPAT_QUESTION_TIMEOUT_SECONDS", "300")))
    # how long an Idempotency-Key replays its turn, in hours (events are kept as long)
    loopat_idempotency_hours: float = field(default_factory=lambda: float(_env("LOOPAT_IDEMPOTENCY_HOURS", "24")))
    # GET /loops/{id}/events closes after this many seconds (0: never; clients resume with Last-Event-ID)
    loopat_watch_max_seconds: float = field(default_factory=lambda: float(_env("LOOPAT_WATCH_MAX_SECONDS", "0")))
    # argon2id cost for passwords: passes, memory in KiB, lanes (defaults: RFC 9106 low-memory profile)
    loopat_argon2_time_cost: int = field(default_factory=lambda: int(_env("LOOPAT_ARGON2_TIME_COST", "3")))
    loopat_argon2_memory_kib: int = field(default_factory=lambda: int(_env("LOOPAT_ARGON2_MEMORY_KIB", "65536")))
    loopat_argon2_parallelism: int = field(default_factory=lambda: int(_env("LOOPAT_ARGON2_PARALLELISM", "4")))
    # tokens' lastUsedAt is written in one batch per this many seconds, off the request path
    loopat_token_touch_seconds: float = field(
        default_factory=lambda: float(_env("LOOPAT_TOKEN_TOUCH_SECONDS", "5")))

    # ---------------------------------------------------------------- lithtrix (issue 6)
    # free tier lifetime cap, in searches (upstream FREE_TIER_LIFETIME_LIMIT); never resets
    lithtrix_free_call_limit: int = field(default_factory=lambda: int(_env("LITHTRIX_FREE_TIER_LIFETIME_LIMIT", "300")))
    # per-agent searches per rate window: free and pro tiers
    lithtrix_rate_limit_free: int = field(default_factory=lambda: int(_env("LITHTRIX_RATE_LIMIT_FREE", "60")))
    lithtrix_rate_limit_pro: int = field(default_factory=lambda: int(_env("LITHTRIX_RATE_LIMIT_PRO", "600")))
    # length of the fixed rate window, in seconds
    lithtrix_rate_window_seconds: int = field(default_factory=lambda: int(_env("LITHTRIX_RATE_WINDOW_SECONDS", "60")))
    # refused (429) searches in one window that set an agent's abuse flag
    lithtrix_abuse_threshold: int = field(default_factory=lambda: int(_env("LITHTRIX_ABUSE_THRESHOLD", "120")))
    # search provider: auto (brave when a Brave key is set, else local), local or brave
    lithtrix_search_provider: str = field(default_factory=lambda: _env("LITHTRIX_SEARCH_PROVIDER", "auto"))
    # the local full-text index (SQLite FTS5); empty means <data_dir>/lithtrix/index.sqlite3
    lithtrix_index_path: str = field(default_factory=lambda: _env("LITHTRIX_INDEX_PATH", ""))
    # Brave Search API subscription token (X-Subscription-Token)
    lithtrix_brave_api_key: str = field(default_factory=lambda: _env("LITHTRIX_BRAVE_API_KEY", ""))
    # Brave Search API base URL (the web search path is appended)
    lithtrix_brave_base_url: str = field(default_factory=lambda: _env("LITHTRIX_BRAVE_BASE_URL", "https://api.search.brave.com"))
    # seconds before a Brave request counts as failed
    lithtrix_brave_timeout: float = field(default_factory=lambda: float(_env("LITHTRIX_BRAVE_TIMEOUT_SECONDS", "10")))
    # consecutive provider failures that open the circuit, and how long it stays open (s)
    lithtrix_circuit_failures: int = field(default_factory=lambda: int(_env("LITHTRIX_CIRCUIT_FAILURES", "5")))
    lithtrix_circuit_seconds: float = field(default_factory=lambda: float(_env("LITHTRIX_CIRCUIT_OPEN_SECONDS", "60")))
    # Redis URL for the search cache; empty means the SQLite TTL table
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", ""))
    # seconds an identical query (same text and num_results) is answered from the cache
    lithtrix_cache_ttl_seconds: int = field(default_factory=lambda: int(_env("LITHTRIX_CACHE_TTL_SECONDS", "3600")))
    # Stripe: secret key (billing is "not configured" without it), publishable key, webhook secret
    lithtrix_stripe_secret_key: str = field(default_factory=lambda: _env("LITHTRIX_STRIPE_SECRET_KEY", ""))
    lithtrix_stripe_publishable_key: str = field(default_factory=lambda: _env("LITHTRIX_STRIPE_PUBLISHABLE_KEY", ""))
    lithtrix_stripe_webhook_secret: str = field(default_factory=lambda: _env("LITHTRIX_STRIPE_WEBHOOK_SECRET", ""))
    # Stripe API base URL; empty means the library's default (https://api.stripe.com)
    lithtrix_stripe_api_base: str = field(default_factory=lambda: _env("LITHTRIX_STRIPE_API_BASE", ""))
    # Stripe Price of the Pro plan: when set, setup also subscribes the customer to it
    lithtrix_stripe_pro_price_id: str = field(default_factory=lambda: _env("LITHTRIX_STRIPE_PRO_PRICE_ID", ""))
    # seconds a webhook signature's timestamp may differ from now (Stripe's default: 300)
    lithtrix_webhook_tolerance: int = field(default_factory=lambda: int(_env("LITHTRIX_WEBHOOK_TOLERANCE", "300")))
    # retries of a failed Stripe request by the stripe library (idempotent: it sends keys)
    lithtrix_stripe_max_retries: int = field(default_factory=lambda: int(_env("LITHTRIX_STRIPE_MAX_RETRIES", "2")))
    # operator key for /admin/* (X-Admin-Key); empty means the admin API refuses everyone
    lithtrix_admin_api_key: str = field(default_factory=lambda: _env("LITHTRIX_ADMIN_API_KEY", ""))

    # ---------------------------------------------------------------- gvnr (issue 3)
    # free governance operations a new account starts with (the service's SIGNUP_TRIAL_OPS)
    gvnr_signup_trial_ops: int = field(default_factory=lambda: int(_env("GVNR_SIGNUP_TRIAL_OPS", "25")))
    # accounts one client address may create per provisioning window
    gvnr_account_limit_per_ip: int = field(default_factory=lambda: int(_env("GVNR_ACCOUNT_LIMIT_PER_IP", "10")))
    # length of that fixed provisioning window, in seconds
    gvnr_account_limit_window_seconds: int = field(
        default_factory=lambda: int(_env("GVNR_ACCOUNT_LIMIT_WINDOW_SECONDS", "3600")))
    # an approved clearance not reconciled within this many seconds is abandoned (stays charged)
    gvnr_pending_clearance_ttl_seconds: int = field(
        default_factory=lambda: int(_env("GVNR_PENDING_CLEARANCE_TTL_SECONDS", "86400")))
    # comma-separated Origins (besides this server's own) allowed to call /mcp from a browser
    gvnr_mcp_allowed_origins: str = field(default_factory=lambda: _env("GVNR_MCP_ALLOWED_ORIGINS", ""))

    # ---- payments and approvals
    # EVM chain top-ups are paid on: 8453 (Base mainnet) or 84532 (Base Sepolia)
    gvnr_chain_id: int = field(default_factory=lambda: int(_env("GVNR_CHAIN_ID", "8453")))
    # address USDC top-ups are paid to; "auto": a wallet generated once into <data_dir>/gvnr/
    # (the operator holds its key); empty: packs info and top-ups answer misconfigured_network
    gvnr_payto_address: str = field(default_factory=lambda: _env("GVNR_PAYTO_ADDRESS", "auto"))
    # JSON-RPC URL of a node of that chain (topup-verify); empty means misconfigured_network
    gvnr_rpc_url: str = field(default_factory=lambda: _env("GVNR_RPC_URL", ""))
    # seconds one JSON-RPC call may take
    gvnr_rpc_timeout_seconds: float = field(default_factory=lambda: float(_env("GVNR_RPC_TIMEOUT_SECONDS", "10")))
    # topup-verify requires an EIP-191 signature by the sending wallet (stops claims of others' transfers)
    gvnr_topup_require_signature: bool = field(default_factory=lambda: _flag("GVNR_TOPUP_REQUIRE_SIGNATURE", True))
    # x402 facilitator (POST /verify, /settle); empty: 402 quotes only, payments answer misconfigured_network
    gvnr_x402_facilitator_url: str = field(default_factory=lambda: _env("GVNR_X402_FACILITATOR_URL", ""))
    # bearer token sent to the facilitator, if it wants one
    gvnr_x402_facilitator_token: str = field(default_factory=lambda: _env("GVNR_X402_FACILITATOR_TOKEN", ""))
    # seconds a signed x402 payment stays valid (maxTimeoutSeconds of the quote)
    gvnr_x402_max_timeout_seconds: int = field(
        default_factory=lambda: int(_env("GVNR_X402_MAX_TIMEOUT_SECONDS", "300")))
    # seconds one facilitator call may take (settlement waits for the chain)
    gvnr_x402_timeout_seconds: float = field(default_factory=lambda: float(_env("GVNR_X402_TIMEOUT_SECONDS", "30")))
    # approval requests one account may make per minute
    gvnr_approval_limit_per_minute: int = field(
        default_factory=lambda: int(_env("GVNR_APPROVAL_LIMIT_PER_MINUTE", "30")))
    # seconds an approval stays readable (check shows timeout) after it expires; then 404
    gvnr_approval_grace_seconds: int = field(default_factory=lambda: int(_env("GVNR_APPROVAL_GRACE_SECONDS", "86400")))
    # SMTP server for approval emails; empty means status skipped_no_key (the link is logged)
    gvnr_smtp_host: str = field(default_factory=lambda: _env("GVNR_SMTP_HOST", ""))
    gvnr_smtp_port: int = field(default_factory=lambda: int(_env("GVNR_SMTP_PORT", "587")))
    # starttls (port 587), ssl (implicit TLS, port 465) or none (local relays, tests)
    gvnr_smtp_security: str = field(default_factory=lambda: _env("GVNR_SMTP_SECURITY", "starttls"))
    # SMTP AUTH credentials; empty username means no AUTH
    gvnr_smtp_username: str = field(default_factory=lambda: _env("GVNR_SMTP_USERNAME", ""))
    gvnr_smtp_password: str = field(default_factory=lambda: _env("GVNR_SMTP_PASSWORD", ""))
    # From: of approval emails
    gvnr_smtp_from: str = field(default_factory=lambda: _env("GVNR_SMTP_FROM", "Gvnr approvals <approvals@localhost>"))
    # seconds the SMTP conversation may take before the notification is reported failed
    gvnr_smtp_timeout_seconds: float = field(default_factory=lambda: float(_env("GVNR_SMTP_TIMEOUT_SECONDS", "10")))

    # ---------------------------------------------------------------- end of API sections

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'pentapi.sqlite3').resolve()}"

    def replace(self, **changes: object) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]


_current: Settings | None = None


def activate(settings: Settings) -> Settings:
    """Make `settings` the ones `current()` returns (create_app does this; one app per process)."""
    global _current
    _current = settings
    return settings


def current() -> Settings:
    """The settings of the running app (handlers read configuration through this)."""
    return _current if _current is not None else activate(Settings())
