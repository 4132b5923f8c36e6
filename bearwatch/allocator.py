"""glibc's malloc tuned for a long-running `bearwatch up`: few arenas, free memory given back.

Why: `bearwatch up` runs ~25 threads (a reader per camera, the detector and its ONNX Runtime
pool, the outbox dispatcher, the scheduler) that allocate and free frame-sized buffers of many
sizes (decoded JPEGs, resized copies, region crops, batch tensors). glibc gives each new thread
its own arena, up to 8 per core, and an arena keeps what is freed for its own reuse: memory
freed in one arena is never handed to another thread, and free chunks between live ones are not
returned to the system. Measured (bench/soak.py, 16 cameras, 2 cores, malloc_info): 16 arenas
holding 409 MiB free at minute 3 and 572 MiB at minute 7 while the memory in use stayed at
~475 MiB and the Python heap (tracemalloc) was flat at ~230 MiB; the process's RSS rose with
the free part (+7.3 % over the 30-minute soak), not with anything the program kept.

The remedy is glibc's own: at most `ARENAS` arenas (`mallopt(M_ARENA_MAX)`, the programmatic
`MALLOC_ARENA_MAX`; set before the threads start, it caps the arenas they get) and, every
`TRIM_INTERVAL_S`, `malloc_trim(0)`, which returns the free pages of every arena to the system.
Children started afterwards (the review UI's Streamlit process) inherit `MALLOC_ARENA_MAX`
through the environment. Both are no-ops where the C library is not glibc (musl, macOS).

With those two the 30-minute soak still grew 6.4 %, in steps that followed the load. The rest
is glibc's dynamic mmap threshold: a block above it (128 KiB at first) is mmapped and unmapped
on free, but each such free raises the threshold to that block's size (up to 32 MiB), so after
the first frames every frame-sized buffer (a 960x540 RGB frame is 1.5 MiB, a batch tensor
2.4 MiB) comes from the arenas, and a few long-lived ones among them pin the pages around
them. `fix_mmap_threshold` sets the threshold (`M_MMAP_THRESHOLD`, which also turns the dynamic
adjustment off): frame-sized buffers are then always mapped on their own and go back to the
system when freed, at the cost of a page fault per page of each (a few µs per frame).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import time
from collections.abc import Callable
from typing import Any

ARENAS = 2
"""Arenas for all threads: two keep lock contention low on the few cores Bearwatch runs on."""
TRIM_INTERVAL_S = 60.0
"""How often `FreeMemoryReleaser` returns free pages; a trim takes a few ms."""
M_ARENA_MAX = -8  # glibc's <malloc.h>
ENV_ARENA_MAX = "MALLOC_ARENA_MAX"
MMAP_THRESHOLD = 256 * 1024
"""Blocks from this size on are mmapped: every frame and tensor, none of the small objects."""
M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
ENV_MMAP_THRESHOLD = "MALLOC_MMAP_THRESHOLD_"  # glibc's tunable env name ends in "_"


@functools.cache
def _glibc() -> Any | None:
    """The C library when it is glibc (it has `mallopt` and `malloc_trim`), else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (call before starting threads) and, by
    `MALLOC_ARENA_MAX` in the environment (unless already set), for children started later.

    Args:
        arenas: the most arenas, >= 1.

    Returns:
        Whether the cap is in force here (False where the C library is not glibc).
    """
    if arenas < 1:
        raise ValueError(f"arenas must be >= 1, got {arenas}")
    return _mallopt(M_ARENA_MAX, arenas, env=ENV_ARENA_MAX)


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Mmap every block of `threshold` bytes or more, with glibc's dynamic raising of that
    threshold off, here and (by `MALLOC_MMAP_THRESHOLD_`, unless already set) in children.

    Returns:
        Whether the threshold is in force here (False where the C library is not glibc).
    """
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1 byte, got {threshold}")
    return _mallopt(M_MMAP_THRESHOLD, threshold, env=ENV_MMAP_THRESHOLD)


def _mallopt(option: int, value: int, *, env: str) -> bool:
    """`mallopt(option, value)` here, and `env` (glibc's name for it, unless already set) for
    children; whether glibc took it."""
    os.environ.setdefault(env, str(value))
    libc = _glibc()
    return libc is not None and libc.mallopt(option, value) == 1


def release_free_memory() -> bool:
    """`malloc_trim(0)`: return the free pages of every arena to the system.

    Returns:
        Whether any memory was released (False also where the C library is not glibc).
    """
    libc = _glibc()
    return libc is not None and libc.malloc_trim(0) == 1


class FreeMemoryReleaser:
    """Calls `release_free_memory` at most every `interval_s`, from a loop that calls
    `maybe_release()` often (`bearwatch up`'s supervision loop).

    Args:
        interval_s: seconds between trims.
        monotonic: the interval clock (inject in tests).
        release: what a trim does (inject in tests).
    """

    def __init__(self, interval_s: float = TRIM_INTERVAL_S, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 release: Callable[[], bool] = release_free_memory) -> None:
        self.interval_s = interval_s
        self.monotonic = monotonic
        self.release = release
        self.trims = 0
        self._last = monotonic()

    def maybe_release(self) -> bool:
        """Trim if `interval_s` has passed since the last one; whether it trimmed."""
        now = self.monotonic()
        if now - self._last < self.interval_s:
            return False
        self._last = now
        self.release()
        self.trims += 1
        return True
