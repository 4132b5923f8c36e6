"""Whether the review UI's port is free before `bearwatch up` or `bearwatch ui` starts
anything, and if not, who holds it (a second Bearwatch, most often), so the command exits
non-zero with the port and the running instance instead of a Streamlit child failing later."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp
_MAX_CMDLINE = 160


def _cmdline(pid: str) -> str:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    text = raw.decode(errors="replace").strip()
    return text if len(text) <= _MAX_CMDLINE else text[:_MAX_CMDLINE] + "…"


def _parent(pid: str) -> str | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return line.split()[1]
    return None


def _listening_inodes(port: int) -> set[str]:
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) > 9 and f[3] == _LISTEN and int(f[1].rsplit(":", 1)[1], 16) == port:
                found.add(f"socket:[{f[9]}]")
    return found


def _holds(proc: Path, sockets: set[str]) -> bool:
    """Whether the process has one of `sockets` open. A descriptor closed while it is looked
    at (a busy process opens and closes files all the time) is skipped, not taken for the
    whole process being out of sight.

    Raises:
        OSError: the process is gone or belongs to another user.
    """
    for fd in (proc / "fd").iterdir():
        try:
            if os.readlink(fd) in sockets:
                return True
        except FileNotFoundError:
            continue
    return False


def listener(port: int) -> str | None:
    """The process listening on the TCP port, with its parent (`bearwatch up` starts the UI as
    a child), when this user may see it (Linux /proc); None when it cannot be told."""
    sockets = _listening_inodes(port)
    if not sockets:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if not _holds(proc, sockets):
                continue
            who = f"pid {proc.name} ({_cmdline(proc.name)})"
            ppid = _parent(proc.name)
            if ppid and ppid not in ("0", "1"):
                who += f", started by pid {ppid} ({_cmdline(ppid)})"
            return who
        except OSError:  # gone, or another user's process
            continue
    return None


def port_problem(host: str, port: int, *, setting: str) -> str | None:
    """Why the UI cannot listen on host:port, naming the port and who holds it; None if free.

    Args:
        setting: where the port comes from, for the fix (`--port or review_ui.port`).
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.create_server(address, family=family):
            return None
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            return f"the review UI cannot listen on {host}:{port}: {exc}"
    holder = listener(port)
    who = f"by {holder}" if holder else "by a process this user cannot see"
    return (f"port {port} ({host}) for the review UI is already in use {who}; is Bearwatch "
            f"already running? Stop that instance, or choose another port ({setting})")
