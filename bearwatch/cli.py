"""The `bearwatch` command line: one entry point, one sub-command module per concern.

Each module in `bearwatch.commands` has `register(subparsers)`; the handler it sets receives
the parsed arguments and returns an exit status. Config and logging are set up here, once.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from kernel.errors import BearwatchError, ConfigError

# Order = order in --help.
COMMAND_MODULES = (
    "bearwatch.commands.config_cmd",
    "bearwatch.commands.db_cmd",
    "bearwatch.commands.users_cmd",
    "bearwatch.commands.up_cmd",
    "bearwatch.commands.status_cmd",
    "bearwatch.commands.run_cmd",
    "bearwatch.commands.edge_cmd",
    "bearwatch.commands.eval_cmd",
    "bearwatch.commands.bench_cmd",
    "bearwatch.commands.ui_cmd",
    "bearwatch.commands.train_cmd",
    "bearwatch.commands.evalreport_cmd",
    "bearwatch.commands.drift_cmd",
    "bearwatch.commands.probe_cmd",
    "bearwatch.commands.rollout_cmd",
    "bearwatch.commands.notify_cmd",
    "bearwatch.commands.model_cmd",
    "bearwatch.commands.calibrate_cmd",
    "bearwatch.commands.simulate_cmd",
)

log = logging.getLogger("bearwatch")

CONFIG_HELP = "config file (default: ./config.yaml)"


class CommandParser(argparse.ArgumentParser):
    """The parser of every sub-command, nested ones too (`add_subparsers` makes its children of
    its own class): `--config` is accepted after the command name as well as before it. Its
    default is SUPPRESS, so a value given before the command is kept when none follows it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help=CONFIG_HELP)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bearwatch",
        description="Bear-warning camera monitoring: ingest, detect, review, staged rollout.",
    )
    parser.add_argument("--config", default="config.yaml", metavar="PATH", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=CommandParser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def passive_openmp() -> None:
    """Call before torch loads (and its OpenMP): idle OpenMP workers then sleep instead of
    spinning. On a small CPU shared with camera readers, spinning workers stall each other at
    every barrier; measured on 2 busy cores, a batch-8 forward took 1-3 s spinning and 0.45 s
    passive. A value set by the operator wins. Entry points call it (the CLI, the benches);
    importing a package never does."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: Sequence[str] | None = None) -> int:
    passive_openmp()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"config error in {exc.path}:", file=sys.stderr)
        for line in exc.problems:
            print(f"  {line}", file=sys.stderr)
        return exc.exit_code
    except BearwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
