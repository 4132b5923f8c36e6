"""The outbox dispatcher: sends due notifications after their transaction committed.

Each round: queue camera events for operators (idempotent; in `run_forever` at most once per
poll, not on every wake-up an alert's commit causes), claim due rows (committed, so a second
dispatcher skips them), send each through its sink's notifier, then mark it sent or
schedule a retry with exponential backoff (`retry_initial_s · 2^(attempts-1)`, capped at
`retry_max_s`); after `max_attempts` the row is marked failed and kept for inspection. The
state is in the database, so a restart loses nothing: a row claimed by a process that died is
claimed again once its lease expires.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from db.outbox import claim_due, mark_failed, mark_sent, on_enqueue_committed
from kernel.records import utc_now
from rollout.errors import NotifyError
from rollout.notifiers import Notifier
from rollout.routing import RoutingPolicy, route_camera_events

log = logging.getLogger("bearwatch.rollout")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff of failed sends: seconds, and the attempts before giving up."""

    initial_s: float = 2.0
    max_s: float = 300.0
    max_attempts: int = 10
    lease_s: float = 60.0

    def delay_s(self, attempts: int) -> float:
        return float(min(self.max_s, self.initial_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one round did: rows sent, rescheduled, given up."""

    sent: int = 0
    retried: int = 0
    gave_up: int = 0


class OutboxDispatcher:
    """Sends outbox rows through notifiers keyed by sink name.

    Args:
        sessions: session factory.
        notifiers: sink name → Notifier (`mqtt`, `webhook:0`, `apprise:ENV`).
        clock: UTC now; `sleep`: seconds → None (injected so tests run fast).
        retry: backoff policy; `routing`: when given, camera events are queued each round.
    """

    def __init__(self, sessions: sessionmaker[Session], notifiers: Mapping[str, Notifier],
                 clock: Callable[[], datetime] = utc_now,
                 sleep: Callable[[float], None] | None = None, *,
                 retry: RetryPolicy = RetryPolicy(), routing: RoutingPolicy | None = None,
                 batch: int = 20) -> None:
        self.sessions, self.notifiers, self.clock = sessions, dict(notifiers), clock
        self._stop = threading.Event()
        # Set after a transaction of this process enqueued a notification (and by `stop`): the
        # idle wait ends at once instead of at the next poll.
        self._wake = threading.Event()
        self.sleep = sleep or self._wake.wait
        self.retry, self.routing, self.batch = retry, routing, batch
        self._thread: threading.Thread | None = None

    def run_once(self, *, camera_events: bool = True) -> DispatchReport:
        """One round: claim the due rows, send them, record each outcome.

        Args:
            camera_events: first queue the camera events of `routing` (when given).
        """
        if camera_events and self.routing is not None:
            with self.sessions.begin() as s:
                route_camera_events(s, now=self.clock(), routing=self.routing)
        with self.sessions.begin() as s:
            items = claim_due(s, now=self.clock(), lease_s=self.retry.lease_s, limit=self.batch)
        sent = retried = gave_up = 0
        for item in items:
            notifier = self.notifiers.get(item.sink)
            try:
                if notifier is None:
                    raise NotifyError(f"no notifier configured for sink {item.sink!r}; "
                                      f"configured: {sorted(self.notifiers)}")
                notifier.send(item)
            except NotifyError as exc:
                give_up = item.attempts >= self.retry.max_attempts
                retry_at = None if give_up else self.clock() + timedelta(
                    seconds=self.retry.delay_s(item.attempts))
                with self.sessions.begin() as s:
                    mark_failed(s, item.id, str(exc), retry_at=retry_at)
                gave_up += give_up
                retried += not give_up
                log.warning("notification failed", extra={
                    "subject": item.subject, "sink": item.sink, "attempts": item.attempts,
                    "error": str(exc), "gave_up": give_up})
                continue
            with self.sessions.begin() as s:
                mark_sent(s, item.id, now=self.clock())
            sent += 1
            log.info("notification sent", extra={"subject": item.subject, "sink": item.sink})
        return DispatchReport(sent, retried, gave_up)

    def wake(self) -> None:
        """Start the next round now (called after a commit that enqueued a notification)."""
        self._wake.set()

    def run_forever(self, *, poll_s: float = 1.0) -> None:
        """Rounds until `stop()`; a round with work is followed at once by the next, an idle
        one waits `poll_s` or until a transaction of this process enqueues a notification
        (the poll remains the safety net for rows other processes enqueue)."""
        unsubscribe = on_enqueue_committed(self.wake)
        routed_at: float | None = None
        try:
            while not self._stop.is_set():
                self._wake.clear()  # a commit during the round below wakes the next wait
                # Camera events are operator notices read by a scan of the last day's events:
                # once per poll, so the wake-ups of a burst of alerts each cost one claim only.
                now = time.monotonic()
                events = routed_at is None or now - routed_at >= poll_s
                try:
                    report = self.run_once(camera_events=events)
                    if events:
                        routed_at = now
                except Exception:  # a database hiccup must not end the loop; next round retries
                    log.exception("outbox round failed")
                    report = DispatchReport()
                if report.sent == 0 and report.retried == 0:
                    self.sleep(poll_s)
        finally:
            unsubscribe()

    def start(self, *, poll_s: float = 1.0) -> None:
        self._thread = threading.Thread(target=self.run_forever, kwargs={"poll_s": poll_s},
                                        name="outbox-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
