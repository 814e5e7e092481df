"""loopkit: handlers for signup operations (see specs/loopkit.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("postSignupUpgrade")
def post_signup_upgrade(**kwargs):
    """POST /v1/signup/upgrade (scaffolded by `pentapi generate`: answers 501 until written)."""
