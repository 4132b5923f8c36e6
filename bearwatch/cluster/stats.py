"""Per-replica figures (issue "Observability": batch size, queue, latency, errors, memory).

Each replica keeps a `ReplicaMeter` and pushes its `ReplicaStats` every `REPORT_S` to the
`ReplicaBoard`, one small named actor that `bearwatch up` starts beside the deployment (and
that ends with it: its owner is the `up` process). `bearwatch status` reads the board from any
process that joins the cluster, and `bearwatch up` copies it into the database every few
seconds (`copier`), for the Cameras page and for `bearwatch status` when Ray cannot be reached.
A Serve handle call reaches one replica of its choosing, so asking the replicas themselves
could miss some; the board holds every replica's latest report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import ray

from bearwatch.cluster.records import ClusterStatus, ReplicaStats
from bearwatch.memory import rss_mb

APP_NAME = "bearwatch-detector"  # the Serve application
BOARD_NAME = f"{APP_NAME}-stats"
REPORT_S = 2.0
# A report older than this is a replica that has gone (killed, scaled down): not shown.
STALE_S = 30.0
WINDOW = 1024  # requests the latency percentiles are over
# `ray.init` on an address where nothing listens retries for minutes: a plain TCP connect to
# the head's GCS port first tells "unreachable" in seconds.
REACH_TIMEOUT_S = 5.0


@dataclass(slots=True)
class ReplicaMeter:
    """A replica's counters. Updated on its event loop (requests) and in its forward-pass
    thread (batches); read by its reporter thread: plain ints and a deque under the GIL."""

    replica: str
    batches: int = 0
    images: int = 0
    last_batch: int = 0
    errors: int = 0
    rejected: int = 0
    ongoing: int = 0
    in_forward: int = 0
    forward_ms: float = 0.0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def batch(self, size: int, ms: float) -> None:
        self.batches += 1
        self.images += size
        self.last_batch = size
        self.forward_ms += ms

    def snapshot(self) -> ReplicaStats:
        lat = np.asarray(list(self.latencies_ms), dtype=np.float64)
        p50, p99 = (float(np.percentile(lat, 50)), float(np.percentile(lat, 99))) \
            if lat.size else (0.0, 0.0)
        return ReplicaStats(
            replica=self.replica, pid=os.getpid(), node=ray.util.get_node_ip_address(),
            rss_mb=rss_mb(), batches=self.batches, images=self.images,
            mean_batch=self.images / self.batches if self.batches else 0.0,
            last_batch=self.last_batch, queue=max(0, self.ongoing - self.in_forward),
            ongoing=self.ongoing, latency_p50_ms=p50, latency_p99_ms=p99,
            mean_forward_ms=self.forward_ms / self.batches if self.batches else 0.0,
            errors=self.errors, rejected=self.rejected, reported_at=time.time())


@ray.remote(num_cpus=0)
class ReplicaBoard:
    """The latest report of each replica."""

    def __init__(self) -> None:
        self.latest: dict[str, ReplicaStats] = {}

    def report(self, stats: ReplicaStats) -> None:
        self.latest[stats.replica] = stats

    def forget(self, replica: str) -> None:
        self.latest.pop(replica, None)

    def all(self) -> list[ReplicaStats]:
        cutoff = time.time() - STALE_S
        return sorted((s for s in self.latest.values() if s.reported_at >= cutoff),
                      key=lambda s: s.replica)


def start_board(namespace: str) -> Any:
    """The board, started by (and owned by) this driver; an existing one is reused."""
    return ReplicaBoard.options(  # type: ignore[attr-defined]
        name=BOARD_NAME, namespace=namespace, get_if_exists=True).remote()


class Reporter:
    """A replica's thread pushing `meter.snapshot()` to the board every `REPORT_S`; a board
    not (yet) there is looked up again at the next tick."""

    def __init__(self, meter: ReplicaMeter, namespace: str) -> None:
        self.meter = meter
        self.namespace = namespace
        self._stop = threading.Event()
        self._board: Any = None
        self._thread = threading.Thread(target=self._run, name="stats-reporter", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(REPORT_S):
            self.push()

    def push(self) -> None:
        try:
            if self._board is None:
                self._board = ray.get_actor(BOARD_NAME, namespace=self.namespace)
            self._board.report.remote(self.meter.snapshot())
        except Exception:  # no board (a deployment without `bearwatch up`), or it went away
            self._board = None

    def stop(self) -> None:
        self._stop.set()
        if self._board is not None:
            # The board may be gone first; nothing to tidy then.
            with contextlib.suppress(Exception):
                self._board.forget.remote(self.meter.replica)


def read_board(namespace: str, *, timeout_s: float = 30.0) -> list[ReplicaStats] | None:
    """Every live replica's latest report (a connected driver); None: no board, i.e. no
    `bearwatch up` has deployed the detector in `namespace`."""
    try:
        board = ray.get_actor(BOARD_NAME, namespace=namespace)
    except ValueError:
        return None
    return list(ray.get(board.all.remote(), timeout=timeout_s))


def check_reachable(address: str, *, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Whether something accepts a TCP connection at a `host:port` cluster address ('auto'
    and `ray://` addresses are left to Ray).

    Raises:
        ConnectionError: nothing answers there within `timeout_s` (the socket's reason).
    """
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} within {timeout_s:g} s "
                              f"({exc.strerror or exc})") from exc


def read_status(address: str, namespace: str) -> ClusterStatus:
    """Join the cluster at `address` as a driver, read the detector application's state and
    the board, leave.

    Raises:
        ConnectionError: the cluster cannot be reached (nothing answers at `address`, or
            Ray's message).
    """
    from ray import serve

    check_reachable(address)

    ray.init(address=address, namespace=namespace, log_to_driver=False,
             logging_level=logging.WARNING)
    try:
        try:
            apps = serve.status().applications
        except Exception:  # no Serve on the cluster yet: nothing deployed
            apps = {}
        app = apps.get(APP_NAME)
        states: dict[str, int] = {}
        if app is not None:
            for dep in app.deployments.values():
                for state, n in dep.replica_states.items():
                    name = str(getattr(state, "value", state))  # Serve's str enums
                    states[name] = states.get(name, 0) + int(n)
        stats = read_board(namespace) if app is not None else None
        return ClusterStatus(app_status=None if app is None
                             else str(getattr(app.status, "value", app.status)),
                             replica_states=states, replicas=tuple(stats or ()))
    finally:
        ray.shutdown()
