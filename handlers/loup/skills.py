"""loup: handlers for skills operations (see specs/loup.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("downloadSkillSnapshot")
def download_skill_snapshot(**kwargs):
    """GET /api/v1/skills/download (scaffolded by `pentapi generate`: answers 501 until written)."""
