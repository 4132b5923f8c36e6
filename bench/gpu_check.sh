#!/usr/bin/env bash
# The detector benchmark on CUDA, for a machine with a GPU: prints the JSON (device, batch size,
# raw forward vs pipeline vs learn.predict frames/s, their ratios, latency p50/p99).
# Targets (DESIGN.md §6): ratio_vs_limit >= 0.85, ratio_vs_predict >= 20 on a GPU.
# Usage: bash bench/gpu_check.sh [extra bearwatch bench options, e.g. --batch 32 --cameras 16]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device visible to torch")'
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >&2 || true
OUT=${OUT:-$(mktemp -d)}
"$PY" bench/detector_bench.py --device cuda --cameras "${CAMERAS:-16}" --batch "${BATCH:-32}" \
  --seconds "${SECONDS_PER_PATH:-15}" --predict-frames "${PREDICT_FRAMES:-200}" \
  --json "$OUT/bench_cuda.json" "$@" >/dev/null
cat "$OUT/bench_cuda.json"
