"""`logging:` — level and format of the log lines every process writes."""

from __future__ import annotations

from typing import Literal

from kernel.config.base import Section


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "text"
