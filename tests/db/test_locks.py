"""The leader lock: one holder at a time, renewal, take-over after expiry (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from db.locks import acquire, holder_of, release

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def take(sessions, holder: str, at: datetime) -> bool:
    with sessions.begin() as s:
        return acquire(s, "job", holder, now=at, ttl_s=60)


def test_acquire_free_lock_then_other_holder_refused(sessions) -> None:
    assert take(sessions, "a", T0)
    assert not take(sessions, "b", T0 + timedelta(seconds=30))
    with sessions() as s:
        assert holder_of(s, "job", now=T0) == "a"


def test_acquire_by_holder_renews(sessions) -> None:
    assert take(sessions, "a", T0)
    assert take(sessions, "a", T0 + timedelta(seconds=50))
    assert not take(sessions, "b", T0 + timedelta(seconds=100))  # renewed until 110 s


def test_acquire_after_expiry_takes_over(sessions) -> None:
    assert take(sessions, "a", T0)
    assert take(sessions, "b", T0 + timedelta(seconds=60))
    assert not take(sessions, "a", T0 + timedelta(seconds=61))


def test_release_frees_lock_only_for_holder(sessions) -> None:
    assert take(sessions, "a", T0)
    with sessions.begin() as s:
        release(s, "job", "b")
    assert not take(sessions, "b", T0)
    with sessions.begin() as s:
        release(s, "job", "a")
    assert take(sessions, "b", T0)
