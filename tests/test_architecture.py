"""The package rules of STYLE.md and ARCHITECTURE.md, checked on the source itself.

The layers and "no stage imports another's internals" are import-linter contracts
(`[tool.importlinter]` in pyproject.toml); the first test runs them, so a broken contract fails
`make test` as well as `.ci/run`'s lint step. The rest are rules import-linter cannot say.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAGES = ("camera_ingest", "detector", "review_ui", "rollout")
PACKAGES = ("kernel", "db", *STAGES, "training", "bearwatch")
# The kernel is read by every stage: nothing heavier than these.
KERNEL_ALLOWED = {"__future__", "collections", "dataclasses", "datetime", "difflib", "enum",
                  "functools", "importlib", "json", "logging", "math", "numpy", "os", "pathlib",
                  "re", "sys", "typing", "uuid", "yaml", "pydantic", "safetensors", "sqlalchemy",
                  "zoneinfo", "kernel"}
SURFACE_TARGET = 25


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.module, node.lineno))
    return names


def _sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(linter), "--no-cache"], cwd=REPO, capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


@pytest.mark.parametrize("package", (*STAGES, "db", "training"))
def test_public_surface_is_declared_and_defined(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list), f"{package}/__init__.py must define __all__"
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which is not defined"
    assert not hasattr(module, "__getattr__"), f"{package}: no lazy module __getattr__"


def _surfaces(package: str) -> list[str]:
    """A stage's public surfaces: its __init__ and the modules it lists in PUBLIC_MODULES
    (`rollout.reports`, `detector.models`, …), each a small `__all__` for one audience."""
    return [package, *getattr(importlib.import_module(package), "PUBLIC_MODULES", ())]


@pytest.mark.parametrize("package", STAGES)
def test_every_exported_name_is_used_by_another_package(package: str) -> None:
    """A surface's __all__ is what the other packages use (tests may reach further)."""
    for surface in _surfaces(package):
        used: set[str] = set()
        for other in PACKAGES:
            if other == package:
                continue
            for path in _sources(other):
                for node in ast.walk(ast.parse(path.read_text())):
                    if isinstance(node, ast.ImportFrom) and node.module == surface:
                        used.update(a.name for a in node.names)
        exported = set(importlib.import_module(surface).__all__)
        assert not exported - used, (f"{surface}.__all__ exports names no other package "
                                     f"imports: {sorted(exported - used)}; drop them")


@pytest.mark.parametrize("package", STAGES)
def test_each_surface_is_small(package: str) -> None:
    for surface in _surfaces(package):
        exported = importlib.import_module(surface).__all__
        assert len(exported) <= SURFACE_TARGET, (
            f"{surface} exports {len(exported)} names (target {SURFACE_TARGET}): split it by "
            "audience into a public module listed in PUBLIC_MODULES")


@pytest.mark.parametrize("package", STAGES)
def test_public_modules_are_listed_and_import_linter_allows_exactly_them(package: str) -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    [contract] = [c for c in config["contracts"] if c["id"] == "stage-internals"]
    allowed = {rule.split(" -> ")[1] for rule in contract.get("ignore_imports", [])
               if rule.startswith("** -> ")}
    listed = set(_surfaces(package)[1:])
    assert {m for m in allowed if m.startswith(package + ".")} == listed


@pytest.mark.parametrize("package", (*STAGES, "db", "kernel", "training"))
def test_importing_a_package_has_no_side_effects(package: str) -> None:
    # Third-party imports may touch the environment themselves (OpenCV sets
    # LD_LIBRARY_PATH): load them first, then see what our package adds.
    code = ("import json, os, numpy, cv2, torch, pydantic, sqlalchemy; "
            f"before = dict(os.environ); import {package}; "
            "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [], \
        f"importing {package} changed the environment"


@pytest.mark.parametrize("package", PACKAGES)
def test_db_is_used_through_its_public_modules(package: str) -> None:
    if package == "db":
        pytest.skip("db's own modules import each other")
    import db

    public = {"db", *db.PUBLIC_MODULES, "db.bulk"}  # db.bulk: an import-linter contract
    problems = [f"{path.relative_to(REPO)}:{line}: imports {name}, not one of "
                f"db.PUBLIC_MODULES"
                for path in _sources(package) for name, line in _imports(path)
                if name.split(".")[0] == "db" and name not in public]
    assert not problems, "\n".join(problems)


def test_db_public_modules_exist() -> None:
    import db

    for name in db.PUBLIC_MODULES:
        importlib.import_module(name)


def test_kernel_imports_no_stage_and_nothing_heavy() -> None:
    problems = [f"{path.relative_to(REPO)}:{line}: imports {name}"
                for path in _sources("kernel") for name, line in _imports(path)
                if name.split(".")[0] not in KERNEL_ALLOWED]
    assert not problems, "\n".join(problems)


def test_yaml_is_read_by_the_kernel_config_and_the_app_only() -> None:
    problems = [f"{path.relative_to(REPO)}:{line}"
                for package in PACKAGES if package not in ("kernel", "bearwatch")
                for path in _sources(package) for name, line in _imports(path)
                if name.split(".")[0] == "yaml"]
    assert not problems, "only kernel.config and the app read YAML:\n" + "\n".join(problems)


def test_import_kernel_and_rollout_do_not_load_torch() -> None:
    """rollout reads drift maths from kernel.drift (numpy), not through detector's torch."""
    code = "import sys, kernel.drift, kernel.intervals, rollout; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.stdout.strip().splitlines()[-1] == "False"
