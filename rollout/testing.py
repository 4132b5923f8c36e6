"""In-memory fakes of the rollout stage's Protocols, for tests of code that uses them."""

from __future__ import annotations

from db.outbox import OutboxItem
from rollout.errors import NotifyError


class FakeNotifier:
    """Records what it is asked to send; fails the first `fail_times` sends."""

    def __init__(self, *, fail_times: int = 0) -> None:
        self.sent: list[OutboxItem] = []
        self.calls = 0
        self.fail_times = fail_times

    def send(self, item: OutboxItem) -> None:
        self.calls += 1
        if self.calls <= self.fail_times:
            raise NotifyError(f"fake failure {self.calls} of {self.fail_times}")
        self.sent.append(item)
