"""The MCP tools: one table entry per tool, each naming the REST operation it *is*.

A tool's `inputSchema` is that operation's input (handlers/gvnr/inputs.py), its arguments are
validated with the same validator as the REST door, and `run` is the same function the REST
handler calls (handlers/gvnr/actions.py), so a tool call has exactly the REST semantics: the
same success body, the same error codes.

To add a tool (e.g. the approval tools), append a `Tool` to `TOOLS`:

    Tool("check_approval", "getApprovalCheckByApprovalId",
         lambda call: approvals.check(call.account_id, call.arguments["approval_id"]),
         "Poll an approval request ...", read_only=True)

`run` takes a `ToolCall` (account id, validated arguments, the base URL the client reached
Gvnr at) and returns the REST success body; it may be a plain function (run on a worker
thread) or a coroutine function, and raises `ApiError` exactly as the REST handler would.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from handlers.gvnr import actions, inputs


@dataclass(frozen=True)
class ToolCall:
    account_id: str
    arguments: dict[str, t.Any]
    base_url: str  # where the client reached Gvnr, e.g. https://gvnr.example (for links)


@dataclass(frozen=True)
class Tool:
    name: str
    operation_id: str  # the REST operation whose input, semantics and answers the tool has
    run: t.Callable[[ToolCall], t.Any]
    description: str
    read_only: bool = False
    idempotent: bool = False

    def input_schema(self) -> dict[str, t.Any]:
        return inputs.schema(self.operation_id)

    def output_schema(self) -> dict[str, t.Any] | None:
        schema = inputs.success_schema(self.operation_id)
        if schema is None:
            return None
        return schema if schema.get("type") == "object" else {"type": "object", **schema}


TOOLS: list[Tool] = [
    Tool("budget_clear", "postBudgetClear",
         lambda c: actions.budget_clear(c.account_id, c.arguments),
         "Call BEFORE every LLM call. Approves the call when the account has governance operations left and "
         "the estimated cost fits the agent's spend envelope (then spends one operation and records the "
         "clearance for reconcile); otherwise approved=false with reason no_credits, no_envelope or "
         "envelope_exceeded. estimated_tokens: output tokens for chat models, input tokens for embeddings."),
    Tool("set_envelope", "putBudgetEnvelope",
         lambda c: actions.set_envelope(c.account_id, c.arguments),
         "Create or update an agent's USD spend envelope. window=daily resets at 00:00 UTC, session never "
         "resets. Updating keeps the spend so far.", idempotent=True),
    Tool("get_balance", "getAccountBalance",
         lambda c: actions.get_balance(c.account_id),
         "Governance operations left on this account (one approved budget_clear spends one).", read_only=True),
    Tool("set_rate_envelope", "putRateEnvelope",
         lambda c: actions.set_rate_envelope(c.account_id, c.arguments),
         "Create or replace a requests-per-minute cap for (agent_id, provider, model), counted in fixed "
         "60-second windows. Setting it (create or update) starts a fresh window.", idempotent=True),
    Tool("rate_check", "postRateCheck",
         lambda c: actions.rate_check(c.account_id, c.arguments),
         "Call before a request to a rate-limited provider: allowed=true counts the request; allowed=false "
         "(rate_exceeded) gives retry_after_ms until the window ends, or no_rate_envelope."),
    Tool("reconcile", "postBudgetReconcile",
         lambda c: actions.reconcile(c.account_id, c.arguments),
         "Call AFTER the LLM call with the provider's actual token counts. Settles the agent's oldest pending "
         "clearance once (a second call without a new clearance answers no_pending_clearance) and corrects "
         "the envelope by (actual - estimated) cost."),
    Tool("idempotency_check", "postIdempotencyCheck",
         lambda c: actions.idempotency_check(c.account_id, c.arguments),
         "Check-and-set a retry key: is_first_call=true exactly once per key within its TTL "
         "(default 3600 s, at most 30 days), false on every replay."),
]


def by_name() -> dict[str, Tool]:
    return {tool.name: tool for tool in TOOLS}
