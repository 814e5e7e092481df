"""lithtrix: handlers for register operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("register_agent_v1_register_post")
def register_agent_v1_register_post(**kwargs):
    """POST /v1/register (scaffolded by `pentapi generate`: answers 501 until written)."""
