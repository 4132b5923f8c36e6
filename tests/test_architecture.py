"""The package rules of STYLE.md ("For Bearwatch" 1, 2), checked on the source itself."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STAGES = ("camera_ingest", "detector", "review_ui", "rollout")
PACKAGES = (*STAGES, "db", "bearwatch")
LEAVES = ("bearwatch/records.py", "bearwatch/errors.py", "bearwatch/config.py")
LEAF_ALLOWED = {"__future__", "dataclasses", "datetime", "enum", "uuid", "numpy", "os", "pathlib",
                "typing", "yaml", "pydantic", "sqlalchemy", "bearwatch"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", STAGES + ("db",))
def test_package_public_surface_is_declared(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list), f"{package}/__init__.py must define __all__"
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ names {name!r}, which is not defined"


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package: str) -> None:
    problems = []
    for path in _sources(package):
        rel = path.relative_to(REPO).as_posix()
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "streamlit" and package != "review_ui":
                problems.append(f"{rel}: only review_ui imports streamlit")
            if top == "yaml" and package != "bearwatch":
                problems.append(f"{rel}: only bearwatch reads YAML")
            if package in ("camera_ingest", "detector") and top == "db":
                problems.append(f"{rel}: {package} must not import db")
            if package != "db" and name in ("db.models", "db.base"):
                problems.append(f"{rel}: imports {name}; SQL stays inside db/")
            if package != "bearwatch" and name.startswith(("bearwatch.cli", "bearwatch.commands",
                                                           "bearwatch.wiring")):
                problems.append(f"{rel}: stages never import the command line ({name})")
            if top in STAGES and top != package and name != top:
                problems.append(f"{rel}: imports {name}; use `from {top} import …` (its __all__)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaf_modules_import_only_leaves(leaf: str) -> None:
    for name in _imports(REPO / leaf):
        top = name.split(".")[0]
        assert top in LEAF_ALLOWED, f"{leaf} imports {name}"
        if top == "bearwatch":
            assert name in ("bearwatch.records", "bearwatch.errors", "bearwatch.config"), name
