"""HMAC codes, the generated secret, and the markdown report, without a server."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import multiprocessing
import stat

from handlers.loopkit import codes, report
from handlers.loopkit.shapes import DiagnosisPacket


def test_codes_are_hmac_sha256_hex_of_the_documented_messages():
    secret = b"s3cret"
    assert codes.recovery_code(secret, "my-app-1a2b3c4d") == hmac.new(
        secret, b"recover:my-app-1a2b3c4d", hashlib.sha256).hexdigest()
    assert codes.upgrade_code(secret, "my-app-1a2b3c4d") == hmac.new(
        secret, b"signup-upgrade:sandbox:my-app-1a2b3c4d", hashlib.sha256).hexdigest()
    code = codes.recovery_code(secret, "p")
    assert codes.matches(code, code.upper()) and codes.matches(code, f"  {code}\n")
    assert not codes.matches(code, code[:-1] + "0" if code[-1] != "0" else code[:-1] + "1")
    assert not codes.matches(code, "ünïcode")


def test_configured_and_absent_secrets(settings):
    assert codes.server_secret(settings.replace(loopkit_secret="abc")) == b"abc"
    assert codes.server_secret(settings.replace(loopkit_secret="")) is None


def test_auto_secret_is_generated_once_private_and_kept(settings):
    path = settings.data_dir / "loopkit" / "secret"
    first = codes.server_secret(settings)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    codes._cache.clear()  # as a fresh process would
    assert codes.server_secret(settings) == first


def _read_secret(path: str, queue) -> None:
    from pathlib import Path

    codes._cache.clear()
    queue.put(codes.generated_secret(Path(path)))


def test_processes_racing_to_create_the_secret_agree(tmp_path):
    path = tmp_path / "race" / "secret"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_read_secret, args=(str(path), queue)) for _ in range(6)]
    for w in workers:
        w.start()
    found = {queue.get(timeout=30) for _ in workers}
    for w in workers:
        w.join(timeout=30)
    assert len(found) == 1 and path.read_text().strip().encode() in found
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary files left


def test_markdown_escapes_telemetry_text():
    assert report.escape("search_flights | `rm` *x* <b>\nnext") == "search_flights \\| \\`rm\\` \\*x\\* \\<b\\> next"
    assert report.escape("_private_") == "\\_private\\_"


def _packet(**kw) -> DiagnosisPacket:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    win = {"since_minutes": 60, "start": now, "end": now, "max_records": 10, "capped": False}
    base = dict(packet_id="pkt_1", tenant_id="sandbox", project_id="p-1", source="s",
                status="ready_for_issue_diagnosis", since_minutes=60, telemetry_read=40, failures=12,
                approval_required=True, approval_reason="writes", created_at=now, window=win,
                checks=[{"signal_type": "tool_call_failed", "inspected": 20, "found": 1}], summary="Inspected 40.",
                issues=[{"issue_id": "iss_1", "title": "tool_call_failed on search | x", "severity": "high",
                         "signal_type": "tool_call_failed", "count": 12, "evidence_ids": ["rec_a"], "traces": ["t1"],
                         "next_action": "Fix it", "external_write": True, "eval_candidate": "search-v1",
                         "impact": "12 of 20 failed"}])
    base.update(kw)
    return DiagnosisPacket.model_validate(base)


def test_report_renders_window_packet_and_issues():
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    stats = {"records": 40, "traces": 10, "sessions": 5, "errors": 12, "error_rate": 0.3, "tool_calls": 20,
             "tool_failures": 12, "llm_calls": 10, "input_tokens": 100, "output_tokens": 50}
    win = {"since_minutes": 60, "start": now, "end": now, "max_records": 10, "capped": True}
    text = report.render({"project_id": "p-1", "spans_used": 40, "quota_spans": 1000}, stats, win, _packet(), now)
    assert text.startswith("# LoopKit report: p-1\n")
    assert "| 40 | 10 | 5 | 12 | 30.0% | 20 | 12 | 10 | 100 | 50 |" in text
    assert "capped at the newest 10 records" in text and "Spans stored: 40 of 1000 (quota_spans)." in text
    assert "### 1. [high] tool_call_failed on search \\| x" in text
    assert "- evidence: `rec_a`" in text and "next action (needs approval): Fix it" in text
    empty = report.render({"project_id": "p-1", "spans_used": 0, "quota_spans": None}, stats, win, None, now)
    assert "No diagnosis packet yet" in empty
    clean = report.render({"project_id": "p", "spans_used": 0}, stats, win, _packet(issues=[], status="observe_more",
                                                                                  approval_required=False), now)
    assert "No repeated failure signal." in clean and "tool_call_failed (20 inspected)" in clean
