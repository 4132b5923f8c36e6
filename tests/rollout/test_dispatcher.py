"""The outbox dispatcher: backoff, giving up, claims, and a pending notification surviving a
process killed with SIGKILL (then sent exactly once by a new dispatcher)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from db.outbox import claim_due, enqueue, outbox_items
from rollout.notify import OutboxDispatcher, RetryPolicy, WebhookNotifier
from rollout.testing import FakeNotifier
from tests.rollout.builders import T0, make_world
from tests.rollout.receivers import webhook_server

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def put(sessions, subject: str = "alert:x", sink: str = "fake") -> None:
    with sessions.begin() as s:
        enqueue(s, subject, sink, {"kind": "admin", "zone_id": "z1"}, now=T0)


def test_dispatcher_failing_sink_retries_with_exponential_backoff(sessions) -> None:
    clock, fake = Clock(T0), FakeNotifier(fail_times=2)
    d = OutboxDispatcher(sessions, {"fake": fake}, clock, retry=RetryPolicy(initial_s=2, max_s=300))
    put(sessions)
    assert d.run_once().retried == 1
    with sessions() as s:
        [row] = outbox_items(s)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "pending", 1, T0 + timedelta(seconds=2))
    assert "fake failure 1" in row.last_error
    assert d.run_once().retried == 0  # not due yet
    clock.now = T0 + timedelta(seconds=2)
    assert d.run_once().retried == 1
    with sessions() as s:
        assert outbox_items(s)[0].next_attempt_at == clock.now + timedelta(seconds=4)
    clock.now += timedelta(seconds=4)
    assert d.run_once().sent == 1
    with sessions() as s:
        [row] = outbox_items(s)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 3, clock.now)
    assert [i.subject for i in fake.sent] == ["alert:x"]


def test_dispatcher_gives_up_after_max_attempts(sessions) -> None:
    clock = Clock(T0)
    d = OutboxDispatcher(sessions, {}, clock, retry=RetryPolicy(initial_s=1, max_attempts=2))
    put(sessions, sink="nowhere")
    assert d.run_once().retried == 1
    clock.now += timedelta(seconds=1)
    assert d.run_once().gave_up == 1
    with sessions() as s:
        [row] = outbox_items(s)
    assert row.status == "failed" and "no notifier configured for sink 'nowhere'" in row.last_error


def test_claim_due_twice_second_claimer_gets_nothing(sessions) -> None:
    put(sessions)
    with sessions.begin() as s:
        first = claim_due(s, now=T0, lease_s=60)
    with sessions.begin() as s:
        second = claim_due(s, now=T0, lease_s=60)
    assert [i.subject for i in first] == ["alert:x"] and second == []
    with sessions.begin() as s:  # the claimer died: after the lease another may take it
        assert [i.attempts for i in claim_due(s, now=T0 + timedelta(seconds=61), lease_s=60)] == [2]


def test_enqueue_same_subject_and_sink_twice_keeps_one(sessions) -> None:
    put(sessions)
    with sessions.begin() as s:
        assert not enqueue(s, "alert:x", "fake", {"kind": "other"}, now=T0)
    with sessions() as s:
        assert [i.payload["kind"] for i in outbox_items(s)] == ["admin"]


CHILD = textwrap.dedent("""
    import os, signal, sys
    from datetime import datetime, timezone
    from kernel.records import Stage
    from db import make_engine, make_sessionmaker
    from db.alerts import store_alert
    from db.outbox import claim_due
    from db.zones import apply_stage_change
    from kernel.records import StageChange
    from rollout import RoutingPolicy, route_alert
    from tests.rollout.builders import T0, alert
    sessions = make_sessionmaker(make_engine(sys.argv[1]))
    with sessions.begin() as s:
        apply_stage_change(s, StageChange("z1", "setup", Stage.SHADOW, Stage.ACTIVE, False,
                                          "t", "t", T0))
    a = alert("c1", T0)
    with sessions.begin() as s:
        store_alert(s, a, now=T0)
        route_alert(s, a, now=T0, routing=RoutingPolicy(sinks=("webhook:0",)))
    print(a.id, flush=True)
    if sys.argv[2] == "claimed":
        with sessions.begin() as s:
            claim_due(s, now=T0, lease_s=60)
    os.kill(os.getpid(), signal.SIGKILL)
""")


@pytest.mark.parametrize("died", ["pending", "claimed"])
def test_outbox_survives_killed_process_and_sends_exactly_once(sessions, db_url, died) -> None:
    make_world(sessions)
    proc = subprocess.run([sys.executable, "-c", CHILD, db_url, died], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    alert_id = proc.stdout.strip()
    clock = Clock(T0 + timedelta(seconds=61))
    with webhook_server() as hook:
        d = OutboxDispatcher(sessions, {"webhook:0": WebhookNotifier(hook.url, secret=None)}, clock)
        assert d.run_once().sent == 1
        clock.now += timedelta(minutes=10)
        assert d.run_once().sent == 0
        assert len(hook.requests) == 1
        assert f'"alert_id":"{alert_id}"' in hook.requests[0][1].decode()
