"""Fault injection: a webhook that answers 500, then hangs past the notifier's timeout.

The dispatcher retries with backoff, gives up after `max_attempts`, keeps the row as failed,
and `bearwatch rollout status` shows it to admins.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bearwatch.cli import main
from db.outbox import enqueue, outbox_items
from rollout.notify import OutboxDispatcher, RetryPolicy, WebhookNotifier
from tests.rollout.builders import T0

TIMEOUT_S = 0.3


@contextmanager
def bad_webhook(*, errors: int) -> Iterator[tuple[str, list[str]]]:
    """A server answering 500 `errors` times, then never answering (until the test ends)."""
    calls: list[str] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            if len(calls) < errors:
                calls.append("500")
                self.send_response(500)
                self.end_headers()
                self.wfile.write(b"boom")
                return
            calls.append("hang")
            release.wait(10)  # well past the notifier's timeout

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", calls
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_fault_webhook_500_then_timeout_retried_with_backoff_then_failed(sessions: Any) -> None:
    with sessions.begin() as s:
        enqueue(s, "admin:z1:fault", "webhook:0", {"kind": "admin", "zone_id": "z1"}, now=T0)
    now = [T0]
    gaps: list[float] = []
    with bad_webhook(errors=2) as (url, calls):
        d = OutboxDispatcher(sessions, {"webhook:0": WebhookNotifier(url, secret=b"k",
                                                                     timeout_s=TIMEOUT_S)},
                             lambda: now[0], retry=RetryPolicy(initial_s=1, max_attempts=4))
        gave_up = 0
        for _ in range(4):
            report = d.run_once()
            gave_up += report.gave_up
            with sessions() as s:
                [row] = outbox_items(s)
            if row.status == "failed":
                break
            gaps.append((row.next_attempt_at - now[0]).total_seconds())
            assert d.run_once().retried == 0  # not due before its backoff
            now[0] = row.next_attempt_at
    assert calls == ["500", "500", "hang", "hang"]
    assert gaps == [1.0, 2.0, 4.0]  # exponential backoff between the four attempts
    assert gave_up == 1
    assert (row.status, row.attempts) == ("failed", 4)
    assert "timed out" in row.last_error.lower()


def test_fault_failed_notification_shown_by_rollout_status(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], sessions: Any) -> None:
    with sessions.begin() as s:
        enqueue(s, "admin:north:fault", "webhook:0", {"kind": "admin", "zone_id": "north"},
                now=T0)
    with bad_webhook(errors=1) as (url, _calls):
        d = OutboxDispatcher(sessions, {"webhook:0": WebhookNotifier(url, secret=None)},
                             lambda: T0 + timedelta(hours=1), retry=RetryPolicy(max_attempts=1))
        assert d.run_once().gave_up == 1
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"storage: {{root: '{tmp_path / 'var'}'}}\n"
                   "zones: [{id: north, stage: shadow}]\n"
                   "cameras: [{id: cam1, zone: north, source: 'demo:'}]\n")
    monkeypatch.setenv("BEARWATCH_DATABASE_URL", db_url)
    assert main(["--config", str(cfg), "rollout", "status"]) == 0
    out = capsys.readouterr().out
    assert "FAILED notifications: 1" in out
    assert "admin:north:fault -> webhook:0: 1 attempts, last error: webhook" in out
    assert "answered 500: boom" in out
