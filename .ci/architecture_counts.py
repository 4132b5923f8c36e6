"""The architecture figures issue 13 tracks, as JSON: names per stage `__all__`, modules over
400 lines, functions over 5 parameters, and ruff and mypy findings. Run with the project's
virtual environment: `.venv/bin/python .ci/architecture_counts.py` (`duplicates` pairs are
counted by the tool library's command, outside the project)."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = [p.name for p in sorted(REPO.iterdir())
            if (p / "__init__.py").is_file() and p.name not in ("tests", "bench")]


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))
            if "migrations" not in p.parts]


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    return len([n for n in names if n not in ("self", "cls")]) + bool(a.vararg) + bool(a.kwarg)


def _findings(cmd: list[str], pattern: str) -> int | None:
    try:
        out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    m = re.search(pattern, out.stdout + out.stderr)
    return int(m.group(1)) if m else 0


def main() -> int:
    exported = {}
    for pkg in PACKAGES:
        module = importlib.import_module(pkg)
        for surface in (pkg, *getattr(module, "PUBLIC_MODULES", ())):
            if not surface.startswith(pkg):
                continue
            names = getattr(importlib.import_module(surface), "__all__", None)
            exported[surface] = len(names) if names is not None else None
    long_modules, wide_functions = [], []
    for path in _sources():
        rel = path.relative_to(REPO).as_posix()
        text = path.read_text()
        if text.count("\n") > 400:
            long_modules.append(rel)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _params(node) > 5:
                wide_functions.append(f"{rel}:{node.lineno} {node.name}")
    bin_ = Path(sys.executable).parent
    doc = {
        "names_per___all__": exported,
        "modules_over_400_lines": long_modules,
        "functions_over_5_parameters": len(wide_functions),
        "functions_over_5_parameters_list": wide_functions,
        "ruff_findings": _findings([str(bin_ / "ruff"), "check", "--statistics", *PACKAGES,
                                    "tests", "bench"], r"Found (\d+) error"),
        "mypy_errors": _findings([str(bin_ / "mypy")], r"Found (\d+) error"),
    }
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
