"""loup: handlers for runtime operations (see specs/loup.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("listRuntimeInstalls")
def list_runtime_installs(**kwargs):
    """GET /api/v1/runtime/installs (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("invokeRuntimeSkill")
def invoke_runtime_skill(**kwargs):
    """POST /api/v1/runtime/invoke (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("runtimeWhatsNew")
def runtime_whats_new(**kwargs):
    """GET /api/v1/runtime/whats-new (scaffolded by `pentapi generate`: answers 501 until written)."""
