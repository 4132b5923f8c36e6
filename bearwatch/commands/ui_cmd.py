"""`bearwatch ui [--port N]`: serve the review UI (Streamlit) on review_ui.host/port.

The app runs as a `streamlit run` child process; it finds the config through
$BEARWATCH_CONFIG (an absolute path), and opens the database itself. SIGTERM (systemd,
`docker stop`) or SIGINT (Ctrl-C) stops the child and waits for it; if this process dies
outright, Linux stops the child (no orphan keeps serving the port).
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from bearwatch.commands.common import load
from bearwatch.commands.ports import port_problem
from bearwatch.wiring import open_database
from review_ui import APP_PATH

ENV_CONFIG = "BEARWATCH_CONFIG"
PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>
# How long Streamlit gets to shut down after SIGTERM before it is killed, s.
STOP_TIMEOUT_S = 10.0

log = logging.getLogger("bearwatch")


def register(sub: Any) -> None:
    p = sub.add_parser("ui", help="serve the review UI (operators, admins, analysts)")
    p.add_argument("--port", type=int, default=None,
                   help="port to listen on (default: review_ui.port in the config)")
    p.add_argument("--host", default=None,
                   help="address to bind (default: review_ui.host in the config)")
    p.set_defaults(handler=_ui)


def streamlit_command(app: str, *, host: str, port: int) -> list[str]:
    """The child command line: headless, no usage statistics, no file watcher, and no
    developer menu (operators only need the app)."""
    return [sys.executable, "-m", "streamlit", "run", app,
            "--server.headless", "true", "--server.address", host, "--server.port", str(port),
            "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]


def _die_with_parent() -> None:
    """In the UI child, before exec: ask Linux for SIGTERM when the parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_streamlit(app: str, *, host: str, port: int,
                    env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start the Streamlit child. Own session: Ctrl-C reaches the parent once, and the parent
    stops the child itself (`stop_streamlit`); if the parent is killed outright (kill -9, OOM),
    the kernel sends the child SIGTERM (Linux)."""
    return subprocess.Popen(streamlit_command(app, host=host, port=port), env=dict(env),
                            start_new_session=True, preexec_fn=_die_with_parent)


def stop_streamlit(child: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the child and wait for it; SIGKILL if it takes longer than `timeout_s`."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _ui(args: argparse.Namespace) -> int:
    cfg = load(args)
    open_database(cfg)  # fail here, with the fix, if the database is unreachable or old
    host = args.host or cfg.review_ui.host
    port = args.port or cfg.review_ui.port
    if not 1 <= port <= 65535:
        print(f"error: --port {port} is not a port (1..65535)", file=sys.stderr)
        return 2
    problem = port_problem(host, port, setting="--port, or review_ui.port in the config")
    if problem:  # before any child: a second instance must not exit 0
        print(f"error: {problem}", file=sys.stderr)
        return 1
    env = {**os.environ, ENV_CONFIG: str(Path(args.config).resolve())}
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("shutting down: stopping the review UI", extra={"signal": signum})
        stop.set()

    # Handlers first: a SIGTERM right after the child starts must still stop it.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    child = start_streamlit(APP_PATH, host=host, port=port, env=env)
    print(f"review UI on http://{host}:{port} (config {env[ENV_CONFIG]})", flush=True)
    try:
        while not stop.is_set() and child.poll() is None:
            stop.wait(0.5)
    finally:
        stop_streamlit(child)
        for s, handler in previous.items():
            signal.signal(s, handler)
    # An asked-for stop is a clean stop; otherwise the child's own exit status.
    return 0 if stop.is_set() else child.returncode
