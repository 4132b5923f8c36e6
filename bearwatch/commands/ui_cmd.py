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
from pathlib import Path
from typing import Any

from bearwatch.commands.common import load, stop_on_signals
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


def start_streamlit(config_path: str, *, host: str, port: int) -> subprocess.Popen[bytes]:
    """Start the Streamlit child on the review app, reading the config at `config_path`. Own
    session: Ctrl-C reaches the parent once, and the parent stops the child itself
    (`stop_streamlit`); if the parent is killed outright (kill -9, OOM), the kernel sends the
    child SIGTERM (Linux)."""
    env = {**os.environ, ENV_CONFIG: str(Path(config_path).resolve())}
    return subprocess.Popen(streamlit_command(APP_PATH, host=host, port=port), env=env,
                            start_new_session=True, preexec_fn=_die_with_parent)


def refuse_taken_port(host: str, port: int, *, setting: str) -> int | None:
    """Exit status 1, with the error printed, when `port` is taken; None when it is free.
    Checked before anything starts: a second instance must not exit 0."""
    problem = port_problem(host, port, setting=setting)
    if problem is None:
        return None
    print(f"error: {problem}", file=sys.stderr)
    return 1


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
    refused = refuse_taken_port(host, port, setting="--port, or review_ui.port in the config")
    if refused is not None:
        return refused
    with stop_on_signals("shutting down: stopping the review UI") as stop:
        child = start_streamlit(args.config, host=host, port=port)
        print(f"review UI on http://{host}:{port} (config {Path(args.config).resolve()})",
              flush=True)
        try:
            while not stop.is_set() and child.poll() is None:
                stop.wait(0.5)
        finally:
            stop_streamlit(child)
    # An asked-for stop is a clean stop; otherwise the child's own exit status.
    return 0 if stop.is_set() else child.returncode
