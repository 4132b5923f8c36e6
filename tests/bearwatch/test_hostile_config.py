"""Hostile config files: whatever the YAML, `parse_config`/`load_config` raise only
`ConfigError`, naming the file and the key, quickly and in a bounded message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel.config import load_config, parse_config
from kernel.errors import ConfigError

SECTIONS = ("zones", "cameras", "detector", "rollout", "database", "storage", "ingest",
            "notifier", "logging", "training", "review_ui", "proposals")
CAMERA_KEYS = ("id", "zone", "source", "fps", "latitude", "longitude", "motion_gating")

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=12), st.binary(max_size=6), st.datetimes())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3),
                      max_leaves=8)

FAST = settings(max_examples=50, deadline=None)


def _problems(text: str, source: str = "hostile.yaml") -> ConfigError | None:
    """The ConfigError the text raises (None when it is valid); anything else fails the test."""
    try:
        parse_config(text, source)
    except ConfigError as exc:
        return exc
    return None


@FAST
@given(st.text(max_size=300))
def test_parse_config_arbitrary_text_raises_only_config_error(text: str) -> None:
    err = _problems(text)
    if err is not None:
        assert err.path == "hostile.yaml" and str(err).startswith("hostile.yaml: ")
        assert err.problems and all(p.strip() for p in err.problems)


@FAST
@given(st.sampled_from(SECTIONS), values)
def test_parse_config_any_value_at_a_section_names_the_section(section: str,
                                                               value: object) -> None:
    err = _problems(yaml.safe_dump({section: value}))
    if err is not None:
        assert err.path == "hostile.yaml"
        assert all(p.startswith((section, "(top level)")) for p in err.problems), err.problems
        assert all(len(p) < 600 for p in err.problems)


@FAST
@given(st.sampled_from(CAMERA_KEYS), values)
def test_parse_config_any_value_at_a_camera_key_names_key_and_line(key: str,
                                                                   value: object) -> None:
    camera = {"id": "north", "zone": "a", "source": "demo", key: value}
    err = _problems(yaml.safe_dump({"zones": [{"id": "a"}], "cameras": [camera]}))
    if err is not None:
        assert any(p.startswith(f"cameras[0].{key}") or p.startswith("cameras[0]")
                   for p in err.problems), err.problems
        assert all("(line " in p for p in err.problems), err.problems


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_load_config_arbitrary_bytes_names_the_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bytes.yaml"
    path.write_bytes(data)
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.path == str(path) and str(exc).startswith(f"{path}: ")


BOMB = "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['x'] * 9)}]\n"
               for p, n in zip(["", "a", "b", "c", "d", "e"], "abcdef", strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("zones: " + "[" * 5000 + "]" * 5000, "(top level): cannot be read as YAML",
                     id="nested-5000-deep"),
        pytest.param("cameras:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(2000)),
                     "(top level): cannot be read as YAML", id="mapping-2000-deep"),
        pytest.param("zones:\n  - id: " + "9" * 5000, "(top level): cannot be read as YAML",
                     id="int-of-5000-digits"),
        pytest.param(BOMB + "cameras: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
                     "cameras[0]: input should be a valid dictionary", id="alias-bomb"),
        pytest.param("zones: \x00", "YAML syntax error", id="nul-character"),
        pytest.param("zones: !!python/object/apply:os.system [echo]", "YAML syntax error",
                     id="python-tag"),
        pytest.param("? [a, b]\n: 1", "YAML syntax error", id="unhashable-key"),
        pytest.param("1: 2", "[1]: keys should be strings", id="integer-key"),
    ],
)
def test_parse_config_hostile_document_clear_bounded_error(text: str, expected: str) -> None:
    started = time.monotonic()
    err = _problems(text)
    assert err is not None and err.problems[0].startswith(expected), err
    assert len(str(err)) < 4000  # a repeated alias is quoted cut, not expanded to megabytes
    assert time.monotonic() - started < 3.0


def test_load_config_not_utf8_names_file_byte_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("zones:\n  - id: café\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert info.value.problems == [f"{path}: not UTF-8 text (byte 0xe9 at offset 18); "
                                   "save the file as UTF-8"]
