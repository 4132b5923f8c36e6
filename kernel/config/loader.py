"""Reading `config.yaml` into a `BearwatchConfig`, with each validation error mapped back to
its key path and YAML line number (`key.path: what is wrong (line N)`)."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from kernel.config.root import BearwatchConfig
from kernel.errors import NEAR_NAME_CUTOFF, ConfigError

_OPS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}


_MAX_VALUE_CHARS = 120
"""A value quoted in a problem is cut to this length (a YAML alias bomb expands to millions)."""


def _short(text: str) -> str:
    return text if len(text) <= _MAX_VALUE_CHARS else f"{text[:_MAX_VALUE_CHARS]}… (cut)"


def _bounded_repr(value: object, depth: int = 3) -> str:
    """repr that looks at most 8 items per level and 3 levels deep (`...` beyond)."""
    if not isinstance(value, list | tuple | dict):
        return _short(repr(value))
    brackets = "{}" if isinstance(value, dict) else "()" if isinstance(value, tuple) else "[]"
    if depth == 0:
        return f"{brackets[0]}...{brackets[1]}"
    if isinstance(value, dict):
        parts = [f"{_bounded_repr(k, depth - 1)}: {_bounded_repr(v, depth - 1)}"
                 for k, v in list(value.items())[:8]]
    else:
        parts = [_bounded_repr(v, depth - 1) for v in value[:8]]
    if len(value) > 8:
        parts.append("...")
    return brackets[0] + ", ".join(parts) + brackets[1]


def _quote(value: object) -> str:
    """repr of a value from the file, bounded in time and length (an alias bomb is huge)."""
    return _short(_bounded_repr(value))


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(err: dict) -> str:  # type: ignore[type-arg]  # pydantic's ErrorDetails
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind in _OPS:
        bound = next(iter(ctx.values()))
        return f"must be {_OPS[kind]} {bound}, got {_quote(value)}"
    if kind == "extra_forbidden":
        near = difflib.get_close_matches(str(err["loc"][-1]), _keys_beside(tuple(err["loc"])),
                                         n=1, cutoff=NEAR_NAME_CUTOFF)
        hint = f"did you mean '{near[0]}'? " if near else ""
        return f"unknown key; {hint}remove it or check its spelling (see config.yaml in the repo)"
    if kind == "missing":
        return "required key is missing"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind == "value_error":
        return msg
    return f"{msg[:1].lower()}{msg[1:]}, got {_quote(value)}"


def _models_in(annotation: object) -> list[type[BaseModel]]:
    """The config sections an annotation can hold: `X`, `X | None`, `list[X]`, unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _keys_beside(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the section holding `loc`'s last key accepts (for a spelling hint)."""
    models: list[type[BaseModel]] = [BearwatchConfig]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue  # a list item: the list's annotation already named its section
        models = [m for model in models if (f := model.model_fields.get(part)) is not None
                  for m in _models_in(f.annotation)]
    return sorted({key for model in models for key in model.model_fields})


def _line_index(text: str) -> dict[tuple[int | str, ...], int]:
    """Map each key path of the YAML document to its 1-based line number."""
    index: dict[tuple[int | str, ...], int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple[int | str, ...]) -> None:
        index[path] = node.start_mark.line + 1
        if id(node) in seen:
            return  # an alias: its nodes are the anchor's (a YAML alias bomb repeats them 9^7x)
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, val in node.value:
                kpath = (*path, str(key.value))
                index[kpath] = key.start_mark.line + 1
                walk(val, kpath)
                index[kpath] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return index


def _nearest_line(index: dict[tuple[int | str, ...], int],
                  loc: tuple[int | str, ...]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in index:
            return index[loc[:cut]]
    return None


def parse_config(text: str, source: str = "config.yaml") -> BearwatchConfig:
    """Validate YAML text into a `BearwatchConfig`.

    Raises:
        ConfigError: with one line per problem, `key.path: what is wrong (line N)`.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [f"YAML syntax error at {where}: {problem}"]) from exc
    except (ValueError, RecursionError) as exc:
        # PyYAML's own limits: an integer of more than 4300 digits (ValueError), nesting
        # deeper than Python's recursion limit (RecursionError).
        raise ConfigError(source, ["(top level): cannot be read as YAML "
                                   f"({type(exc).__name__}: {_short(str(exc))}); a config "
                                   "file is a few levels of keys with short values"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, ["(top level): must be a mapping of sections, got "
                                   f"{type(data).__name__}"])
    try:
        return BearwatchConfig.model_validate(data)
    except ValidationError as exc:
        try:
            lines = _line_index(text)
        except (yaml.YAMLError, RecursionError):
            lines = {}  # the problems are still listed, without line numbers
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _nearest_line(lines, loc)
            suffix = f" (line {line})" if line else ""
            problems.append(f"{_format_loc(loc)}: {_describe(dict(err))}{suffix}")
        raise ConfigError(source, problems) from exc


def load_config(path: str | Path) -> BearwatchConfig:
    """Read and validate a config file.

    Raises:
        ConfigError: the file is missing, unreadable or invalid.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(p), [f"{p}: file not found; pass --config PATH or copy "
                                   "config.yaml from the repository"]) from exc
    except OSError as exc:
        raise ConfigError(str(p), [f"{p}: cannot read ({exc.strerror})"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), [f"{p}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                                   f"offset {exc.start}); save the file as UTF-8"]) from exc
    return parse_config(text, str(p))
