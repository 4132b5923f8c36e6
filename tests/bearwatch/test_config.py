from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from bearwatch.cli import main
from kernel.config import ENV_DATABASE_URL, BearwatchConfig, load_config, parse_config
from kernel.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

THREE_MISTAKES = """\
zones:
  - id: a
cameras:
  - id: c1
    zone: a
    source: demo
  - id: c2
    zone: a
    source: demo
    colour: red
  - id: c3
    zone: a
    source: demo
    fps: -1
detector:
  k: 5
  n: 3
"""


def test_repository_config_is_valid() -> None:
    cfg = load_config(REPO / "config.yaml")
    assert isinstance(cfg, BearwatchConfig)
    assert {c.zone for c in cfg.cameras} <= {z.id for z in cfg.zones}


def _setting_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every setting of `model`, dotted; nested sections recursed, lists of records (zones,
    cameras, webhooks, sites) not: the file shows examples of those, not every key."""
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        out.append(path)
        if typing.get_origin(field.annotation) in (list, tuple):
            continue
        sections = [t for t in (field.annotation, *typing.get_args(field.annotation))
                    if isinstance(t, type) and issubclass(t, BaseModel)]
        if sections:
            out.extend(_setting_paths(sections[0], f"{path}."))
    return out


def _documented_paths(text: str) -> set[str]:
    """Dotted paths of the keys `text` sets, and of those it shows commented out (`# key: …`)
    in a section, by indentation."""
    found: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, key) of the sections the line is in
    for line in text.splitlines():
        m = re.match(r"^(\s*)(#\s*)?([A-Za-z_][A-Za-z0-9_]*):(\s|$)", line)
        if m is None:
            continue
        indent, commented, key = len(m.group(1)), m.group(2) is not None, m.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        found.add(".".join([k for _, k in stack] + [key]))
        if not commented:
            stack.append((indent, key))
    return found


def test_repository_config_shows_every_setting() -> None:
    # Every setting lives in config.yaml, set to its default or shown commented out, so that a
    # new setting is documented where users look; this fails for one that is not.
    documented = _documented_paths((REPO / "config.yaml").read_text())
    missing = [p for p in _setting_paths(BearwatchConfig) if p not in documented]
    assert not missing, f"settings not in config.yaml: {missing}"


def test_documented_paths_follow_indentation_and_comments() -> None:
    text = "a:\n  b: 1\n  # c: unset\n  d:\n    e: 2\nf: 3\n# g: x\n"
    assert _documented_paths(text) == {"a", "a.b", "a.c", "a.d", "a.d.e", "f", "g"}


@pytest.mark.parametrize(("text", "expected"), [
    ("detector:\n  max_bach: 4\n", "detector.max_bach: unknown key; did you mean 'max_batch'?"),
    ("detectr:\n  k: 2\n", "detectr: unknown key; did you mean 'detector'?"),
    ("detector:\n  proposals:\n    tile_still: true\n",
     "detector.proposals.tile_still: unknown key; did you mean 'tile_stills'?"),
    ("zones:\n  - id: z\n    name: Z\n    stgae: pilot\n",
     "zones[0].stgae: unknown key; did you mean 'stage'?"),
    ("review_ui:\n  zzzz: 1\n", "review_ui.zzzz: unknown key; remove it"),  # nothing near
])
def test_unknown_key_names_the_nearest_known_one(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_parse_three_mistakes_reports_each_with_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(THREE_MISTAKES)
    problems = info.value.problems
    assert len(problems) == 3
    assert problems[0].startswith("cameras[1].colour: unknown key")
    assert problems[1].startswith("cameras[2].fps: must be > 0")
    assert "got -1" in problems[1]
    assert problems[2].startswith("detector: k (5) must be <= n (3)")
    assert "(line 14)" in problems[1]


def test_cli_config_check_bad_file_exits_2_listing_all(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(THREE_MISTAKES)
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "cameras[1].colour" in err and "cameras[2].fps" in err and "detector: k (5)" in err


def test_yaml_syntax_error_names_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("a: [1\nb: 2\n")
    assert "line 2" in info.value.problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zones: [{id: a}]\ncameras: [{id: c, zone: b, source: x}]\n",
         "cameras[0].zone 'b' is not a zone"),
        ("database: {url: 'postgresql://u:secret@h/db'}\n", "holds a password"),
        ("zones: [{id: a}, {id: a}]\n", "zone id 'a' is used twice"),
        ("zones: [{id: a, stage: active}]\n", "zones[0].stage"),
        ("cameras: [{id: c, zone: a, source: x, latitude: 10}]\nzones: [{id: a}]\n",
         "latitude and longitude"),
        ("ingest: {backoff_initial_s: 10, backoff_max_s: 1}\n", "backoff_max_s"),
        ("zones: [{id: a}]\ncameras: [{id: c, zone: a, source: x, k: 2}]\n",
         "k and n must be given together"),
        ("zones: [{id: a}]\ncameras: [{id: c, zone: a, source: x, k: 3, n: 2}]\n",
         "k (3) must be <= n (2)"),
        ("- 1\n- 2\n", "must be a mapping"),
        ("zones: [{id: 'Bad Id'}]\n", "zones[0].id"),
        ("ingest: {burst_gap_s: -1}\n", "ingest.burst_gap_s"),
        ("zones: [{id: a}]\ncameras: [{id: c, zone: a, source: x, burst_gap_s: 7200}]\n",
         "cameras[0].burst_gap_s"),
    ],
)
def test_parse_rejects_bad_value(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert expected in "\n".join(info.value.problems)


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "file not found" in info.value.problems[0]


def test_database_url_env_override_and_password_env(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = parse_config("database: {url: 'postgresql+psycopg://bw@db/bw', password_env: BW_PW}\n")
    monkeypatch.setenv("BW_PW", "s3cret")
    assert cfg.database.resolved_url() == "postgresql+psycopg://bw:s3cret@db/bw"
    monkeypatch.setenv(ENV_DATABASE_URL, "sqlite:///other.db")
    assert cfg.database.resolved_url() == "sqlite:///other.db"


def test_empty_file_gives_defaults() -> None:
    cfg = parse_config("")
    assert cfg.detector.model == "shipped" and cfg.database.url.startswith("sqlite")


def test_unknown_time_zone_names_key_line_and_close_matches() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("zones: [{id: a}]\nreview_ui:\n  port: 8501\n  timezone: Canada/Mountian\n")
    [problem] = info.value.problems
    assert problem.startswith("review_ui.timezone: unknown time zone 'Canada/Mountian'; did you "
                              "mean 'Canada/Mountain'")
    assert problem.endswith("(line 4)")


@pytest.mark.parametrize(("zone", "hint"), [
    ("edmonton", "did you mean 'America/Edmonton'"),  # case and region forgotten
    ("Nowhere/Xyzzy", "use an IANA name such as 'America/Edmonton' or 'UTC'"),
    ("../../etc/passwd", "unknown time zone '../../etc/passwd'"),  # not a key ZoneInfo loads
    ("", "unknown time zone ''"),
])
def test_bad_time_zone_rejected_with_hint(zone: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f"review_ui:\n  timezone: '{zone}'\n")
    [problem] = info.value.problems
    assert problem.startswith("review_ui.timezone: ") and hint in problem
    assert problem.endswith("(line 2)")


def test_known_time_zone_accepted() -> None:
    assert parse_config("review_ui: {timezone: America/Edmonton}\n").review_ui.timezone == (
        "America/Edmonton")


def test_cli_config_check_bad_time_zone_exits_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("review_ui:\n  timezone: Canada/Mountian\n")
    assert main(["config", "check", str(bad)]) == 2
    assert "review_ui.timezone: unknown time zone 'Canada/Mountian'" in capsys.readouterr().err


def test_storage_root_that_is_a_file_rejected(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("not a folder")
    with pytest.raises(ConfigError) as info:
        parse_config(f"storage:\n  root: {tmp_path / 'var'}\n")
    [problem] = info.value.problems
    assert problem.startswith("storage.root: ") and "is not a folder" in problem
    assert problem.endswith("(line 2)")
