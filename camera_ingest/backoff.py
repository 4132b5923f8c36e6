"""Reconnect delays: exponential, capped, with jitter so many cameras behind one failed link
do not all retry in the same instant."""

from __future__ import annotations

import random


class Backoff:
    """Delays of `initial * 2**n` seconds, capped at `cap`, each scaled by a random factor in
    [0.5, 1.0) ("equal jitter": never less than half the nominal delay).

    Args:
        initial: first nominal delay, s (> 0).
        cap: largest nominal delay, s (>= initial).
        rng: injected for deterministic tests.
    """

    def __init__(self, initial: float, cap: float, rng: random.Random) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError(f"backoff needs 0 < initial <= cap, got {initial}, {cap}")
        self.initial = initial
        self.cap = cap
        self.rng = rng
        self.attempt = 0

    def nominal(self, attempt: int) -> float:
        """The delay before jitter for the n-th consecutive failure (0-based), s."""
        return min(self.cap, self.initial * 2.0 ** min(attempt, 64))

    def next_delay(self) -> float:
        """The next delay, s, and count the failure."""
        delay = self.nominal(self.attempt) * (0.5 + 0.5 * self.rng.random())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """The source works again: the next failure starts from `initial`."""
        self.attempt = 0
