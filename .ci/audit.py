"""The dependency audit CI runs: `pip-audit` over the lock file (requirements.lock), each
pinned version looked up in PyPI's vulnerability data.

Fails on any known vulnerability. A package the service could not be asked about (an offline
machine, or a PyPI mirror that does not serve the per-version JSON API) is counted and named
in a warning, not passed over silently: the summary line says how many were really audited.
Set BEARWATCH_AUDIT_STRICT=1 to fail when any package could not be audited (a machine with
network access should run it so).

Usage: .venv/bin/python .ci/audit.py [requirements.lock]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def main() -> int:
    lock = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock")
    if not lock.is_file():
        print(f"audit: {lock} not found; run `make lock` to write it", file=sys.stderr)
        return 2
    pip_audit = Path(sys.executable).with_name("pip-audit")
    proc = subprocess.run(
        [str(pip_audit), "--requirement", str(lock), "--no-deps", "--disable-pip",
         "--progress-spinner", "off", "--format", "json"],
        capture_output=True, text=True, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        print(f"audit: pip-audit gave no report (exit {proc.returncode}):\n{proc.stderr}",
              file=sys.stderr)
        return 2
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulnerable = [d for d in deps if d.get("vulns")]
    audited = len(deps) - len(skipped)
    for d in vulnerable:
        for v in d["vulns"]:
            fixes = ", ".join(v.get("fix_versions", [])) or "none yet"
            print(f"audit: {d['name']}=={d['version']}: {v['id']} (fixed in {fixes})")
    if skipped:
        names = ", ".join(d["name"] for d in skipped[:5])
        print(f"audit: WARNING: {len(skipped)} of {len(deps)} pinned packages could not be "
              f"audited (the vulnerability service did not answer for them: {names}, ...); "
              "run .ci/audit.py on a machine with access to pypi.org", file=sys.stderr)
    print(f"audit: {audited} of {len(deps)} pinned packages audited, "
          f"{len(vulnerable)} with known vulnerabilities")
    if vulnerable:
        return 1
    if skipped and os.environ.get("BEARWATCH_AUDIT_STRICT") == "1":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
