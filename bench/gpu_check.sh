#!/usr/bin/env bash
# The detector benchmark on CUDA, for a machine with a GPU: prints the JSON (device, batch size,
# raw forward vs pipeline vs learn.predict frames/s, their ratios, latency p50/p99).
# Targets (DESIGN.md §6): ratio_vs_limit >= 0.85, ratio_vs_predict >= 20 on a GPU.
# Usage: bash bench/gpu_check.sh [extra bearwatch bench options, e.g. --batch 32 --cameras 16]
# On a machine without our venv (python3 holds torch, no network), the wheels in .whl/ (cp312,
# fetched beforehand with pip download: fastai and the rest torch's image lacks) are installed
# into /tmp/site, since the project itself cannot be pip-installed there; the code runs from
# the tree through PYTHONPATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export PYTHONUNBUFFERED=1
# Checked before installing anything, so a CPU-only machine stops here with this message.
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device visible to torch")'
SITE=
if [ "$PY" = python3 ] && compgen -G ".whl/*.whl" >/dev/null; then
  SITE=/tmp/site
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" .whl/*.whl
fi
export PYTHONPATH="${SITE:+$SITE:}$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi >&2 || true
"$PY" -c 'import sys, torch, torchvision, fastai
print(f"python {sys.version.split()[0]}, torch {torch.__version__} (CUDA {torch.version.cuda}, "
      f"cuDNN {torch.backends.cudnn.version()}), torchvision {torchvision.__version__}, "
      f"fastai {fastai.__version__}, GPU {torch.cuda.get_device_name(0)}", file=sys.stderr)'
OUT=${OUT:-$(mktemp -d)}
# Batch 32 and 64, each with the forward overlapped (the default on CUDA) and not, same run.
for b in ${BATCHES:-32 64}; do
  for ov in on off; do
    "$PY" bench/detector_bench.py --device cuda --cameras "${CAMERAS:-16}" --batch "$b" \
      --overlap "$ov" --seconds "${SECONDS_PER_PATH:-15}" \
      --predict-frames "${PREDICT_FRAMES:-200}" --json "$OUT/bench_cuda_b${b}_${ov}.json" "$@" \
      >/dev/null
    cat "$OUT/bench_cuda_b${b}_${ov}.json"
  done
done
