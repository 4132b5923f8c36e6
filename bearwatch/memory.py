"""This process's resident memory, for the figures a process reports about itself (a detector
replica's stats, an edge site's contact). No Ray, no torch: the edge box imports it too."""

from __future__ import annotations

import os
from pathlib import Path


def rss_mb() -> float | None:
    """This process's resident memory, MiB (Linux /proc; None elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
