"""What every sub-command does first: load and validate the config, set up logging."""

from __future__ import annotations

import argparse
import sys

from bearwatch.logs import setup_logging
from kernel.config import BearwatchConfig, load_config
from kernel.model_defaults import with_model_defaults


def load(args: argparse.Namespace) -> BearwatchConfig:
    """Validate the config named by --config (exit 2 on error via ConfigError) and log;
    an unset detector.threshold becomes the configured model's calibrated threshold."""
    config = with_model_defaults(load_config(args.config))
    setup_logging(config.logging, sys.stderr)
    return config
