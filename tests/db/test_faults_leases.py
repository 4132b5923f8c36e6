"""Fault injection: one process's wall clock 1 h off while review leases are held.

Leases live in the database and are shared by every UI process, so they are wall-clock times
by necessity (a monotonic clock means nothing to another process). What a step does:

- a process whose clock is ahead sees others' leases as expired and may take their items
  over; one whose clock is behind writes leases that others see as expired at once. Either way
  an item may be claimed early by a second operator, but a verdict needs the lease holder and
  an unexpired lease, so the first holder's verdict is refused: never two verdicts;
- a lease stamped more than a minute in a reader's future (a clock an hour ahead) does not hold
  the item for everyone else (`db.reviews.MAX_CLOCK_SKEW`): it is not stuck for an hour if
  its operator walks away.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.errors import ConflictError
from db.models import Review
from db.reviews import VerdictInput, claim_next_alert, record_alert_verdict
from kernel.records import Role, Verdict
from tests.review_ui import builders as b

LEASE = 60.0
HOUR = timedelta(hours=1)


@pytest.fixture
def ops(sessions: sessionmaker[Session]) -> dict[str, b.Reviewer]:
    b.catalog(sessions)
    return b.users(sessions, [("ann", Role.OPERATOR), ("bob", Role.OPERATOR)])


@pytest.mark.parametrize(("ann_off", "bob_off"), [
    (timedelta(0), HOUR),   # bob's clock an hour ahead
    (-HOUR, timedelta(0)),  # ann's clock an hour behind
])
def test_fault_clock_step_lease_taken_over_early_but_one_verdict(
        sessions: sessionmaker[Session], ops: dict[str, b.Reviewer], ann_off: timedelta,
        bob_off: timedelta) -> None:
    (aid,) = b.store(sessions, [b.alert()])
    with sessions.begin() as s:
        d = claim_next_alert(s, ops["ann"], now=b.T0 + ann_off, lease_seconds=LEASE)
        assert d is not None and d.id == aid
    with sessions.begin() as s:  # 5 s later in real time: ann's lease looks expired to bob
        d = claim_next_alert(s, ops["bob"], now=b.T0 + bob_off + timedelta(seconds=5),
                             lease_seconds=LEASE)
        assert d is not None and d.id == aid
    with sessions.begin() as s, pytest.raises(ConflictError, match="not claimed by 'ann'"):
        record_alert_verdict(s, aid, ops["ann"], VerdictInput(Verdict.BEAR),
                             now=b.T0 + ann_off + timedelta(seconds=10))
    with sessions.begin() as s:
        record_alert_verdict(s, aid, ops["bob"], VerdictInput(Verdict.BEAR),
                             now=b.T0 + bob_off + timedelta(seconds=10))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 1


def test_fault_clock_ahead_lease_not_stretched_for_others(
        sessions: sessionmaker[Session], ops: dict[str, b.Reviewer]) -> None:
    (aid,) = b.store(sessions, [b.alert()])
    with sessions.begin() as s:
        assert claim_next_alert(s, ops["ann"], now=b.T0 + HOUR, lease_seconds=LEASE)
    with sessions.begin() as s:  # the lease's length has passed in real time
        d = claim_next_alert(s, ops["bob"], now=b.T0 + timedelta(seconds=LEASE + 1),
                             lease_seconds=LEASE)
    assert d is not None and d.id == aid
