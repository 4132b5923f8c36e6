"""The root of every Bearwatch error.

Each package has its own base in `<pkg>/errors.py` that derives from `BearwatchError`, so the
command line can catch one type, print the message (what, where, the value, the fix) and exit
with a clear status instead of a traceback.
"""

from __future__ import annotations


class BearwatchError(Exception):
    """Base of all errors Bearwatch raises on purpose."""

    exit_code: int = 1


class ConfigError(BearwatchError):
    """`config.yaml` is missing, unreadable or invalid.

    `problems` holds one line per problem, each starting with the key path
    (`cameras[2].fps: must be > 0, got -1`).
    """

    exit_code = 2

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s)\n" + "\n".join(problems))
