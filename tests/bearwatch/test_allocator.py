"""`bearwatch.allocator` on the real glibc: the arena cap holds for threads started after it,
`malloc_trim` gives freed pages back, and `bearwatch up`'s releaser trims at its interval.

The glibc checks run in a fresh interpreter each (an arena cap is per process and must come
before the threads), with `MALLOC_ARENA_MAX` removed from its environment so the uncapped run
shows what glibc does on its own."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bearwatch.allocator import FreeMemoryReleaser, fix_mmap_threshold, limit_arenas

REPO = Path(__file__).resolve().parents[2]

_glibc = ctypes.util.find_library("c")
needs_glibc = pytest.mark.skipif(
    _glibc is None or not hasattr(ctypes.CDLL(_glibc), "malloc_trim"),
    reason="glibc's malloc (mallopt, malloc_trim, malloc_info) only")

# 8 threads alive at once, each allocating: glibc gives each its own arena unless capped.
# Prints the number of heaps (arenas) malloc_info lists.
ARENAS_SCRIPT = """
import ctypes, ctypes.util, re, sys, tempfile, threading
from bearwatch.allocator import limit_arenas
if sys.argv[1] == "capped":
    assert limit_arenas(2)
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
together = threading.Barrier(8)
def work():
    together.wait()
    p = libc.malloc(4096)
    together.wait()
    libc.free(p)
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
with tempfile.NamedTemporaryFile(suffix=".xml") as f:
    fp = libc.fopen(f.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fclose(ctypes.c_void_p(fp))
    print(len(re.findall(r'<heap nr="', open(f.name).read())))
"""

# A thread allocates 64 MiB in 64-KiB blocks (below the mmap threshold: from its arena),
# touches them, frees all but the last (which pins the heap's top): the pages stay resident
# until malloc_trim. Prints the RSS (KiB) after the frees and after `release_free_memory`.
TRIM_SCRIPT = """
import ctypes, ctypes.util, threading
from bearwatch.allocator import release_free_memory
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
def work():
    blocks = [libc.malloc(64 * 1024) for _ in range(1024)]
    for p in blocks:
        libc.memset(p, 1, 64 * 1024)
    for p in blocks[:-1]:
        libc.free(p)
t = threading.Thread(target=work)
t.start(); t.join()
before = rss_kib()
released = release_free_memory()
print(before, rss_kib(), released)
"""

# A 2-MiB block freed raises glibc's dynamic mmap threshold above 2 MiB, so the next one comes
# from the heap and stays there; with the threshold fixed it is mapped again. Prints how many
# mmapped blocks (mallinfo2().hblks) that second block added.
MMAP_SCRIPT = """
import ctypes, ctypes.util, sys
from bearwatch.allocator import fix_mmap_threshold
if sys.argv[1] == "fixed":
    assert fix_mmap_threshold()
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = MallInfo2
size = 2 * 1024 * 1024
libc.free(libc.malloc(size))
before = libc.mallinfo2().hblks
held = libc.malloc(size)
print(libc.mallinfo2().hblks - before)
libc.free(held)
"""


def _run(script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@needs_glibc
@pytest.mark.parametrize(("mode", "most", "least"), [
    ("uncapped", 99, 5),  # glibc alone: an arena per thread (8 per core at most)
    ("capped", 2, 1),
])
def test_limit_arenas_threads_started_after_share_at_most_the_cap(
        mode: str, most: int, least: int) -> None:
    heaps = int(_run(ARENAS_SCRIPT, mode))
    assert least <= heaps <= most, (mode, heaps)


@needs_glibc
def test_release_free_memory_freed_pages_leave_rss() -> None:
    before, after, released = _run(TRIM_SCRIPT).split()
    assert released == "True"
    assert int(before) - int(after) >= 32 * 1024, (before, after)  # of the 64 MiB freed


@needs_glibc
@pytest.mark.parametrize(("mode", "mapped"), [("dynamic", 0), ("fixed", 1)])
def test_fix_mmap_threshold_frame_sized_blocks_stay_mapped_after_a_free(
        mode: str, mapped: int) -> None:
    assert int(_run(MMAP_SCRIPT, mode)) == mapped, mode


def test_fix_mmap_threshold_sets_the_environment_for_children(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    fix_mmap_threshold(256 * 1024)
    assert os.environ["MALLOC_MMAP_THRESHOLD_"] == str(256 * 1024)
    with pytest.raises(ValueError, match="threshold must be >= 1 byte"):
        fix_mmap_threshold(0)


def test_limit_arenas_sets_the_environment_for_children(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    limit_arenas(2)
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # an operator's own setting is kept
    limit_arenas(2)
    assert os.environ["MALLOC_ARENA_MAX"] == "4"


def test_limit_arenas_zero_raises() -> None:
    with pytest.raises(ValueError, match="arenas must be >= 1"):
        limit_arenas(0)


def test_free_memory_releaser_trims_once_per_interval() -> None:
    now = [100.0]
    calls: list[float] = []

    def release() -> bool:
        calls.append(now[0])
        return True

    releaser = FreeMemoryReleaser(60.0, monotonic=lambda: now[0], release=release)
    done = []
    for t in (100.0, 130.0, 159.9, 160.0, 160.5, 219.9, 220.0, 400.0):
        now[0] = t
        done.append(releaser.maybe_release())
    assert done == [False, False, False, True, False, False, True, True]
    assert calls == [160.0, 220.0, 400.0] and releaser.trims == 3
