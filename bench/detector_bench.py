"""Detector benchmark (prints JSON): raw forward at batch B (the limit) vs the full pipeline
(synthetic cameras → FrameQueue → batcher → model → encounters → SQLite) vs fastai's
`learn.predict` loop on the same network, plus capture→committed latency at 80 % load.
See `bearwatch/loop_bench.py` for what each figure means.

Usage: .venv/bin/python bench/detector_bench.py [--device cpu|cuda] [--cameras N] [--batch B]
       [--seconds S] [--rounds R] [--json PATH]        (same options as `bearwatch bench`)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bearwatch.cli import main

if __name__ == "__main__":
    args = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="bw-bench-cfg-") as tmp:
        cfg = Path(tmp) / "config.yaml"
        cfg.write_text(f"storage:\n  root: {Path(tmp) / 'var'}\n")
        if "--json" not in args:
            args += ["--json", str(Path(tmp) / "bench.json")]
        # `bearwatch bench` prints the JSON document on stdout; progress goes to stderr.
        sys.exit(main(["--config", str(cfg), "bench", *args]))
