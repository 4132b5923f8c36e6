"""`bearwatch ui [--port N]`: serve the review UI (Streamlit) on review_ui.host/port.

The app runs as a `streamlit run` child process; it finds the config through
$BEARWATCH_CONFIG (an absolute path), and opens the database itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bearwatch.commands.common import load
from bearwatch.wiring import open_database
from review_ui import APP_PATH

ENV_CONFIG = "BEARWATCH_CONFIG"


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


def _ui(args: argparse.Namespace) -> int:
    cfg = load(args)
    open_database(cfg)  # fail here, with the fix, if the database is unreachable or old
    host = args.host or cfg.review_ui.host
    port = args.port or cfg.review_ui.port
    if not 1 <= port <= 65535:
        print(f"error: --port {port} is not a port (1..65535)", file=sys.stderr)
        return 2
    env = {**os.environ, ENV_CONFIG: str(Path(args.config).resolve())}
    print(f"review UI on http://{host}:{port} (config {env[ENV_CONFIG]})", flush=True)
    child = subprocess.Popen(streamlit_command(APP_PATH, host=host, port=port), env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        return child.wait()
