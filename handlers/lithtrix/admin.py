"""lithtrix: handlers for admin operations (see specs/lithtrix.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("list_agents_admin_agents_get")
def list_agents_admin_agents_get(**kwargs):
    """GET /admin/agents (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("get_agent_detail_admin_agents__agent_id__get")
def get_agent_detail_admin_agents_agent_id_get(**kwargs):
    """GET /admin/agents/{agent_id} (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("get_stats_admin_stats_get")
def get_stats_admin_stats_get(**kwargs):
    """GET /admin/stats (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("suspend_agent_admin_agents__agent_id__suspend_post")
def suspend_agent_admin_agents_agent_id_suspend_post(**kwargs):
    """POST /admin/agents/{agent_id}/suspend (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("reinstate_agent_admin_agents__agent_id__reinstate_post")
def reinstate_agent_admin_agents_agent_id_reinstate_post(**kwargs):
    """POST /admin/agents/{agent_id}/reinstate (scaffolded by `pentapi generate`: answers 501 until written)."""
