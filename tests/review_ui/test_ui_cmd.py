"""`bearwatch ui`: refuses to start on a database it cannot use, before any Streamlit starts;
stopped by SIGTERM or SIGINT, it stops its Streamlit child too (no orphan keeps the port)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bearwatch.cli import main
from bearwatch.commands import ports
from bearwatch.commands.ui_cmd import streamlit_command
from review_ui import APP_PATH
from tests.review_ui.conftest import make_ui_env


def test_ui_unmigrated_database_exits_with_fix(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'empty.db'}\n")
    assert main(["--config", str(cfg), "ui", "--port", "8999"]) != 0
    assert "bearwatch db upgrade" in capsys.readouterr().err


def test_streamlit_command_is_headless_on_host_and_port() -> None:
    cmd = streamlit_command(APP_PATH, host="0.0.0.0", port=8600)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("review_ui/app.py")
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.headless"] == "true"
    assert (flags["--server.address"], flags["--server.port"]) == ("0.0.0.0", "8600")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    """Running, per /proc (a zombie has exited; only its parent has not reaped it yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "zombie" not in state and "dead" not in state


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (psutil is not a dependency; /proc is Linux's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        ppid = next(line for line in status.splitlines() if line.startswith("PPid:"))
        if int(ppid.split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _until(what: str, check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout_s} s")
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ui_stop_signal_stops_streamlit_child(tmp_path: Path, signum: signal.Signals) -> None:
    env = make_ui_env(tmp_path)
    port = _free_port()
    bearwatch = Path(sys.executable).parent / "bearwatch"
    log = (tmp_path / "ui.log").open("wb")
    parent = subprocess.Popen([str(bearwatch), "--config", str(env.config_path), "ui",
                               "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                              cwd=tmp_path)
    children: list[int] = []
    try:
        _until("serving", lambda: parent.poll() is None and _answers(port), 60)
        children = _children(parent.pid)
        assert children, "no Streamlit child found"
        parent.send_signal(signum)
        code = parent.wait(timeout=30)
        _until("closed", lambda: not _answers(port), 15)
        assert [pid for pid in children if _alive(pid)] == []
        assert code == 0  # an asked-for stop is a clean stop (systemd, docker stop)
    finally:
        # Never leak the child, even when the test fails (that was the defect).
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        log.close()


def _listening(port: int) -> socket.socket:
    s = socket.create_server(("127.0.0.1", port))
    s.listen()
    return s


def test_ui_on_a_busy_port_exits_non_zero_naming_port_and_holder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = make_ui_env(tmp_path)
    port = _free_port()
    with _listening(port):
        code = main(["ui", "--config", str(env.config_path), "--port", str(port)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"port {port} (127.0.0.1) for the review UI is already in use" in err
    if sys.platform.startswith("linux"):
        assert f"by pid {os.getpid()} (" in err  # this test process holds it
    assert "--port, or review_ui.port" in err


def test_second_up_on_a_busy_port_exits_non_zero_before_starting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()
    db = tmp_path / "up.db"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{db}\nreview_ui:\n  port: {port}\n")
    with _listening(port):
        code = main(["up", "--config", str(cfg)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"port {port} (127.0.0.1) for the review UI is already in use by pid " in err
    assert "is Bearwatch already running?" in err
    assert not db.exists()  # nothing migrated, no pipeline, no second instance


def test_a_descriptor_closed_during_the_scan_does_not_hide_the_holder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A busy process closes files while /proc/PID/fd is read; one descriptor gone must not
    # make the whole process invisible (a CI run said "a process this user cannot see" of
    # the test process itself).
    real = os.readlink
    own = f"/proc/{os.getpid()}/fd/"
    vanished: list[str] = []

    def closing_meanwhile(path: str | os.PathLike[str]) -> str:
        target = real(path)
        if str(path).startswith(own) and not target.startswith("socket:") and not vanished:
            vanished.append(str(path))
            raise FileNotFoundError(path)
        return target

    monkeypatch.setattr(ports.os, "readlink", closing_meanwhile)
    port = _free_port()
    with _listening(port):
        holder = ports.listener(port)
    assert vanished
    assert holder is not None and holder.startswith(f"pid {os.getpid()} (")
