#!/usr/bin/env bash
# The benchmark set behind docs/benchmarks.md: the default preset at 640x480 with several
# sample counts on one device. Usage: bash scripts/bench_suite.sh DEVICE [OUTDIR] [FRAMES]
#   PY=/path/to/python (default .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${1:-auto}; OUTDIR=${2:-out/bench}; FRAMES=${3:-30}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUTDIR"
for spp in 1 16 64; do
  "$PY" -m headless.bench presets/default.toml --frames "$FRAMES" --resolution 640x480 --samples "$spp" \
    --device "$DEVICE" --json "$OUTDIR/bench_${DEVICE}_${spp}spp.json" | grep -v "Saved:" || exit 1
done
