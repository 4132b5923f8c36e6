"""What every sub-command does first: load and validate the config, set up logging."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from kernel.config import BearwatchConfig, load_config
from kernel.logs import setup_logging
from kernel.model_defaults import with_model_defaults


def load(args: argparse.Namespace) -> BearwatchConfig:
    """Validate the config named by --config (exit 2 on error via ConfigError) and log;
    an unset detector.threshold becomes the configured model's calibrated threshold."""
    config = with_model_defaults(load_config(args.config))
    setup_logging(config.logging, sys.stderr)
    return config


def wait_until_stopped(stop: threading.Event, duration_s: float | None,
                       alive: Callable[[], bool] = lambda: True) -> None:
    """Return once `stop` is set, `duration_s` has passed (None: no limit) or `alive()` is
    false: the main thread of a long-running command while its threads work."""
    deadline = None if duration_s is None else time.monotonic() + duration_s
    while not stop.is_set() and alive():
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        stop.wait(0.5 if left is None else min(0.5, left))


@contextmanager
def stop_on_signals(message: str) -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT (logged as `message`), for the long-running commands'
    loops; the previous handlers come back on exit. Install it before starting children, so
    a signal right after their start still stops them."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("bearwatch").info(message, extra={"signal": signum})
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
