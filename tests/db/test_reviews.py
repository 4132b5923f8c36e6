"""db.reviews on SQLite and PostgreSQL: claim order, leases, verdicts, concurrent claims."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.errors import ConflictError
from db.models import AlertRow, AuditLog, AuditSampleRow, Review, ReviewLease
from db.reviews import (
    VerdictInput,
    claim_next_alert,
    claim_next_audit,
    pending_alerts,
    queue_counts,
    record_alert_verdict,
    record_audit_verdict,
    release_lease,
)
from kernel.records import ReasonCode, Role, Stage, Verdict
from tests.review_ui import builders as b

LEASE = 60.0


@pytest.fixture
def ops(sessions: sessionmaker[Session]) -> dict[str, b.Reviewer]:
    b.catalog(sessions)
    return b.users(sessions, [("ann", Role.OPERATOR), ("bob", Role.OPERATOR)])


def test_claim_next_alert_order_is_priority_then_score_then_age(
        sessions: sessionmaker[Session], ops: dict[str, b.Reviewer]) -> None:
    old_low = b.alert(peak=0.6, first_seen=b.T0)
    new_low = b.alert(peak=0.6, first_seen=b.T0 + timedelta(minutes=1))
    high = b.alert(peak=0.95, first_seen=b.T0 + timedelta(minutes=2))
    pilot = b.alert(camera="cam-p", zone="pilotz", stage=Stage.PILOT, peak=0.55,
                    first_seen=b.T0 + timedelta(minutes=3))
    b.store(sessions, [old_low, new_low, high, pilot])
    got = []
    for name in ("ann", "bob", "ann", "bob"):
        with sessions.begin() as s:
            d = claim_next_alert(s, ops[name], now=b.T0, lease_seconds=LEASE)
            assert d is not None
            got.append(d.id)
            record_alert_verdict(s, d.id, ops[name], VerdictInput(Verdict.BEAR), now=b.T0)
    assert got == [pilot.id, high.id, old_low.id, new_low.id]


def test_claim_next_alert_twice_returns_the_held_alert(
        sessions: sessionmaker[Session], ops: dict[str, b.Reviewer]) -> None:
    b.store(sessions, [b.alert(), b.alert(peak=0.7)])
    with sessions.begin() as s:
        first = claim_next_alert(s, ops["ann"], now=b.T0, lease_seconds=LEASE)
    with sessions.begin() as s:
        later = b.T0 + timedelta(seconds=5)
        again = claim_next_alert(s, ops["ann"], now=later, lease_seconds=LEASE)
        other = claim_next_alert(s, ops["bob"], now=later, lease_seconds=LEASE)
    assert first is not None and again is not None and other is not None
    assert again.id == first.id and other.id != first.id


def test_claim_next_alert_after_lease_expiry_returns_alert_to_queue(
        sessions: sessionmaker[Session], ops: dict[str, b.Reviewer]) -> None:
    (aid,) = b.store(sessions, [b.alert()])
    with sessions.begin() as s:
        assert claim_next_alert(s, ops["ann"], now=b.T0, lease_seconds=LEASE) is not None
    with sessions.begin() as s:
        assert claim_next_alert(s, ops["bob"], now=b.T0 + timedelta(seconds=59),
                                lease_seconds=LEASE) is None
    later = b.T0 + timedelta(seconds=61)
    with sessions.begin() as s:
        d = claim_next_alert(s, ops["bob"], now=later, lease_seconds=LEASE)
        assert d is not None and d.id == aid
    with sessions.begin() as s, pytest.raises(ConflictError, match="not claimed by 'ann'"):
        record_alert_verdict(s, aid, ops["ann"], VerdictInput(Verdict.BEAR), now=later)


def test_record_alert_verdict_writes_review_alert_audit_and_releases_lease(
        sessions: sessionmaker[Session], ops: dict[str, b.Reviewer]) -> None:
    (aid,) = b.store(sessions, [b.alert()], frame_paths=["f0.jpg", "f1.jpg"])
    with sessions.begin() as s:
        d = claim_next_alert(s, ops["ann"], now=b.T0, lease_seconds=LEASE)
        assert d is not None and [f.image_path for f in d.frames] == ["f0.jpg", "f1.jpg"]
        assert d.zone_stage is Stage.SHADOW and d.camera_name == "Shadow cam"
    decision = VerdictInput(Verdict.NO_BEAR, ReasonCode.SHADOW_OR_LIGHT, "branch moving")
    with sessions.begin() as s:
        record_alert_verdict(s, aid, ops["ann"], decision, now=b.T0 + timedelta(seconds=9))
    with sessions.begin() as s:
        row = s.get(AlertRow, aid)
        assert row is not None
        assert (row.review_state, row.verdict) == ("reviewed", "no_bear")
        review = s.scalar(select(Review).where(Review.alert_id == aid))
        assert review is not None
        assert (review.reason_code, review.note, review.operator_id) == (
            "shadow_or_light", "branch moving", ops["ann"].id)
        assert s.scalar(select(func.count()).select_from(ReviewLease)) == 0
        actions = list(s.scalars(select(AuditLog.action).where(
            AuditLog.subject == f"alert:{aid}").order_by(AuditLog.id)))
        assert actions == ["review.claim", "review.verdict"]
        assert pending_alerts(s) == []
    with sessions.begin() as s, pytest.raises(ConflictError, match="already reviewed"):
        record_alert_verdict(s, aid, ops["ann"], VerdictInput(Verdict.BEAR), now=b.T0)


@pytest.mark.parametrize(("verdict", "reason", "message"), [
    (Verdict.NO_BEAR, None, "needs a reason code"),
    (Verdict.BEAR, ReasonCode.PERSON, "only for 'no_bear'"),
])
def test_verdict_input_inconsistent_reason_raises(verdict: Verdict, reason: ReasonCode | None,
                                                  message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VerdictInput(verdict, reason)


def test_record_alert_verdict_by_non_holder_is_refused(
        sessions: sessionmaker[Session], ops: dict[str, b.Reviewer]) -> None:
    (aid,) = b.store(sessions, [b.alert()])
    with sessions.begin() as s:
        claim_next_alert(s, ops["ann"], now=b.T0, lease_seconds=LEASE)
    with sessions.begin() as s, pytest.raises(ConflictError):
        record_alert_verdict(s, aid, ops["bob"], VerdictInput(Verdict.BEAR), now=b.T0)


def test_release_lease_puts_alert_back(sessions: sessionmaker[Session],
                                       ops: dict[str, b.Reviewer]) -> None:
    (aid,) = b.store(sessions, [b.alert()])
    with sessions.begin() as s:
        claim_next_alert(s, ops["ann"], now=b.T0, lease_seconds=LEASE)
        assert queue_counts(s, now=b.T0).alerts_claimed == 1
        assert release_lease(s, "alert", str(aid), ops["ann"], now=b.T0) is True
    with sessions.begin() as s:
        d = claim_next_alert(s, ops["bob"], now=b.T0, lease_seconds=LEASE)
        assert d is not None and d.id == aid


def test_audit_queue_claim_and_bear_verdict(sessions: sessionmaker[Session],
                                            ops: dict[str, b.Reviewer]) -> None:
    ids = b.audit_samples(sessions, 2)
    with sessions.begin() as s:
        first = claim_next_audit(s, ops["ann"], now=b.T0, lease_seconds=LEASE)
        second = claim_next_audit(s, ops["bob"], now=b.T0, lease_seconds=LEASE)
        assert first is not None and second is not None
        assert [first.id, second.id] == ids
        record_audit_verdict(s, first.id, ops["ann"], VerdictInput(Verdict.BEAR), now=b.T0)
    with sessions.begin() as s:
        row = s.get(AuditSampleRow, ids[0])
        assert row is not None and (row.review_state, row.verdict) == ("reviewed", "bear")
        assert queue_counts(s, now=b.T0).audit_pending == 1


def _hammer(sessions: sessionmaker[Session], reviewer: b.Reviewer, got: list[uuid.UUID],
            errors: list[BaseException]) -> None:
    try:
        while True:
            with sessions.begin() as s:
                d = claim_next_alert(s, reviewer, now=b.T0, lease_seconds=LEASE)
                if d is None:
                    return
                got.append(d.id)
                # Review at once so the next claim takes a new alert.
                record_alert_verdict(s, d.id, reviewer, VerdictInput(Verdict.UNSURE), now=b.T0)
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)


def test_claim_next_alert_concurrent_operators_never_share_an_alert(
        sessions: sessionmaker[Session]) -> None:
    b.catalog(sessions)
    names = [(f"op{i}", Role.OPERATOR) for i in range(4)]
    ops = b.users(sessions, names)
    ids = b.store(sessions, [b.alert(peak=0.5 + i / 200, first_seen=b.T0 + timedelta(seconds=i))
                             for i in range(40)])
    got: dict[str, list[uuid.UUID]] = {n: [] for n, _ in names}
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_hammer, args=(sessions, ops[n], got[n], errors))
               for n, _ in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    everything = [a for lst in got.values() for a in lst]
    assert len(everything) == len(set(everything)), "an alert was claimed twice"
    assert sorted(everything) == sorted(ids)
    with sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 40
