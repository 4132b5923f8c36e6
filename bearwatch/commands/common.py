"""What every sub-command does first: load and validate the config, set up logging."""

from __future__ import annotations

import argparse
import sys

from bearwatch.config import BearwatchConfig, load_config
from bearwatch.logs import setup_logging


def load(args: argparse.Namespace) -> BearwatchConfig:
    """Validate the config named by --config (exit 2 on error via ConfigError) and log."""
    config = load_config(args.config)
    setup_logging(config.logging, sys.stderr)
    return config
