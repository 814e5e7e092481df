"""The human side of an approval: one small, mobile-first HTML page per state.

No JavaScript and no external resources: two plain forms POST the decision, so the page
works in any mail client's browser. Everything the agent supplied is HTML-escaped, and the
headers forbid scripts, framing, caching, referrers and indexing.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'"),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}


@dataclass(frozen=True)
class View:
    approval_id: str
    agent_id: str
    action_summary: str
    created_at: int  # unix ms
    expires_at: int
    decision: str  # pending | approved | denied | timeout
    decided_at: int | None = None


def time_left(ms: int) -> str:
    """'~N min' rounded (at least 1), then hours, then days for long windows."""
    minutes = max(1, round(ms / 60_000))
    if minutes < 90:
        return f"~{minutes} min"
    hours = round(minutes / 60)
    return f"~{hours} h" if hours < 48 else f"~{round(hours / 24)} days"


def utc(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def pending(view: View, now_ms: int) -> str:
    e = html.escape
    action = f"{e(view.approval_id)}/decide"  # relative: works under any mount prefix
    forms = "".join(
        f'<form method="post" action="{action}">'
        f'<input type="hidden" name="decision" value="{value}">'
        f'<button type="submit" class="{css}">{label}</button></form>'
        for value, css, label in (("approved", "approve", "Approve"), ("denied", "deny", "Deny"))
    )
    body = (
        '<h1>Approve this action?</h1>'
        f'{_details(view)}'
        f'<p class="expiry"><strong>Expires in {time_left(view.expires_at - now_ms)}</strong><br>'
        f'<span class="muted small">at {utc(view.expires_at)}</span></p>'
        f'<div class="actions">{forms}</div>'
        '<p class="muted small">Anyone with this link can answer. Your answer is final.</p>'
    )
    return _page("Approval needed", body)


def terminal(view: View, notice: str | None = None) -> str:
    """Approved / denied (with the decision time) or expired; `notice` explains a refused answer."""
    if view.decision == "approved":
        state, css = f"Approved {utc(view.decided_at or 0)}", "ok"
    elif view.decision == "denied":
        state, css = f"Denied {utc(view.decided_at or 0)}", "no"
    else:
        state, css = "Expired before decision", "muted"
    lead = f'<p class="notice">{html.escape(notice)}</p>' if notice else ""
    body = f'{lead}<h1 class="{css}">{html.escape(state)}</h1>{_details(view)}'
    return _page(state, body)


def recorded(view: View) -> str:
    word = "Approved" if view.decision == "approved" else "Denied"
    body = (f'<h1 class="{"ok" if word == "Approved" else "no"}">{word}</h1>{_details(view)}'
            '<p>Thank you. The agent sees your answer the next time it checks; you can close this page.</p>')
    return _page(word, body)


def message(title: str, text: str) -> str:
    return _page(title, f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>")


def _details(view: View) -> str:
    e = html.escape
    return (f'<dl><dt>Agent</dt><dd class="agent">{e(view.agent_id)}</dd>'
            f'<dt>Action</dt><dd class="summary">{e(view.action_summary)}</dd></dl>')


_CSS = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:17px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  background:#f3f4f6;color:#111827}
main{max-width:30rem;margin:0 auto;padding:1.25rem 1rem 2rem}
.brand{font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;color:#6b7280;margin:0 0 .75rem}
.card{background:#fff;border-radius:14px;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin:0 0 1rem}
dl{margin:0 0 1rem}
dt{font-size:.75rem;text-transform:uppercase;letter-spacing:.06em;color:#6b7280;margin-top:.75rem}
dd{margin:.2rem 0 0;overflow-wrap:anywhere}
.agent{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.95rem}
.summary{white-space:pre-wrap;font-size:1.05rem;background:#f9fafb;border:1px solid #e5e7eb;
  border-radius:10px;padding:.75rem}
.expiry{margin:1rem 0}
.actions{display:flex;flex-direction:column;gap:.75rem;margin:1.25rem 0}
form{margin:0}
button{width:100%;min-height:3.25rem;border:0;border-radius:12px;font:inherit;font-weight:600;
  font-size:1.1rem;cursor:pointer}
.approve{background:#15803d;color:#fff}
.deny{background:#fff;color:#b91c1c;border:2px solid #b91c1c}
.ok{color:#15803d}.no{color:#b91c1c}
.muted{color:#6b7280}.small{font-size:.85rem}
.notice{background:#fef3c7;border-radius:10px;padding:.75rem;margin:0 0 1rem}
@media (prefers-color-scheme:dark){
  body{background:#111827;color:#f9fafb}.card{background:#1f2937;box-shadow:none}
  .summary{background:#111827;border-color:#374151}.deny{background:transparent;color:#fca5a5;
  border-color:#fca5a5}.ok{color:#4ade80}.no{color:#fca5a5}.muted,.brand,dt{color:#9ca3af}
  .notice{background:#78350f;color:#fef3c7}}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{html.escape(title)} · Gvnr</title><style>{_CSS}</style></head>"
        f'<body><main><p class="brand">Gvnr · human approval</p><div class="card">{body}</div></main></body></html>'
    )
