"""loopat: handlers for loops operations (see specs/loopat.json)."""

from __future__ import annotations

from server.scaffold import scaffold


@scaffold("getLoops")
def get_loops(**kwargs):
    """GET /loops (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postLoops")
def post_loops(**kwargs):
    """POST /loops (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getLoopsById")
def get_loops_by_id(**kwargs):
    """GET /loops/{id} (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("deleteLoopsById")
def delete_loops_by_id(**kwargs):
    """DELETE /loops/{id} (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postLoopsByIdMessages")
def post_loops_by_id_messages(**kwargs):
    """POST /loops/{id}/messages (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("getLoopsByIdEvents")
def get_loops_by_id_events(**kwargs):
    """GET /loops/{id}/events (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postLoopsByIdChoicesByChoiceId")
def post_loops_by_id_choices_by_choice_id(**kwargs):
    """POST /loops/{id}/choices/{choiceId} (scaffolded by `pentapi generate`: answers 501 until written)."""


@scaffold("postLoopsByIdInterrupt")
def post_loops_by_id_interrupt(**kwargs):
    """POST /loops/{id}/interrupt (scaffolded by `pentapi generate`: answers 501 until written)."""
