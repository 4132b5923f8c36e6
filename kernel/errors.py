"""The root of every Bearwatch error.

Each package has its own base in `<pkg>/errors.py` that derives from `BearwatchError`, so the
command line can catch one type, print the message (what, where, the value, the fix) and exit
with a clear status instead of a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Similarity (difflib's ratio) from which a known name is offered as the one meant: a typo
# ('campgrund', 'max_bach', 'stgae') scores 0.8 or more, a different word ('south' for
# 'north', 0.6) less.
NEAR_NAME_CUTOFF = 0.75


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


def no_such(kind: str, name: str, known: Iterable[str]) -> str:
    """The message for a name that is not there: the nearest known name when one is close
    (a typo), then the known names: `no zone 'campgrund'; did you mean 'campground'? known:
    campground, trail`."""
    names = sorted(known)
    near = difflib.get_close_matches(name, names, n=1, cutoff=NEAR_NAME_CUTOFF)
    hint = f" did you mean {near[0]!r}?" if near else ""
    return f"no {kind} {name!r};{hint} known: {', '.join(names) or 'none yet'}"
