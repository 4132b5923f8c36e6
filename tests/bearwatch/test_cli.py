"""The command line as a whole: `--config` before or after any command, help on every
argument, and read-only commands that do not claim to have synced anything."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bearwatch.cli import build_parser, main


def _parsers(parser: argparse.ArgumentParser,
             path: str = "bearwatch") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


COMMANDS = [path.split(" ", 1)[1] for path, p in _parsers(build_parser())
            if path != "bearwatch" and p.get_default("handler") is not None]


@pytest.mark.parametrize(("argv", "expected"), [
    (["rollout", "status"], "config.yaml"),
    (["--config", "a.yaml", "rollout", "status"], "a.yaml"),
    (["rollout", "status", "--config", "b.yaml"], "b.yaml"),
    (["rollout", "--config", "b.yaml", "status"], "b.yaml"),
    (["--config", "a.yaml", "up", "--config", "b.yaml"], "b.yaml"),  # the nearest one wins
    (["up", "--config", "b.yaml", "--no-ui"], "b.yaml"),
])
def test_config_before_or_after_the_command_is_used(argv: list[str], expected: str) -> None:
    assert build_parser().parse_args(argv).config == expected


def test_every_command_takes_config_after_its_name() -> None:
    assert len(COMMANDS) > 20, COMMANDS  # the walk found the nested commands too
    lacking = [c for c in COMMANDS
               if not any("--config" in a.option_strings
                          for a in dict(_parsers(build_parser()))[f"bearwatch {c}"]._actions)]
    assert lacking == []


def test_every_argument_of_every_command_has_help() -> None:
    missing = [f"{path}: {'/'.join(a.option_strings) or a.dest}"
               for path, parser in _parsers(build_parser()) for a in parser._actions
               if not isinstance(a, argparse._SubParsersAction) and not a.help]
    assert missing == []


def test_config_check_after_the_command_reads_that_file(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("review_ui:\n  timezone: Canada/Mountian\n")
    assert main(["config", "check", "--config", str(bad)]) == 2
    assert "review_ui.timezone" in capsys.readouterr().err


def test_read_only_command_does_not_log_catalog_synced(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'b.db'}\nzones: [{{id: a}}]\n"
                   "cameras: [{id: c, zone: a, source: 'demo:'}]\n")
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert main(["rollout", "status", "--config", str(cfg)]) == 0
    assert "catalog synced" in capsys.readouterr().err  # the first run added zone and camera
    assert main(["rollout", "status", "--config", str(cfg)]) == 0
    out = capsys.readouterr()
    assert "catalog" not in out.err and "a" in out.out
    cfg.write_text(cfg.read_text().replace("source: 'demo:'", "source: 'demo:', name: Gate"))
    assert main(["rollout", "status", "--config", str(cfg)]) == 0
    assert "catalog synced" in capsys.readouterr().err  # the camera's name changed
