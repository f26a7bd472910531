#!/usr/bin/env bash
# The benchmark set behind docs/benchmarks.md, on one device, 640x480:
#   the default preset at 1, 16 and 64 samples; every annotator with every writer at 16.
# Usage: bash scripts/bench_suite.sh DEVICE [OUTDIR] [FRAMES]   (PY=python to use; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${1:-auto}; OUTDIR=${2:-out/bench}; FRAMES=${3:-30}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUTDIR"
run() {  # name, extra args...
  local name=$1; shift
  "$PY" -m headless.bench presets/default.toml --frames "$FRAMES" --resolution 640x480 --device "$DEVICE" \
    --json "$OUTDIR/bench_${DEVICE}_${name}.json" "$@" > "$OUTDIR/bench_${DEVICE}_${name}.log" 2>&1 \
    || { tail -20 "$OUTDIR/bench_${DEVICE}_${name}.log"; exit 1; }
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], {k: d[k] for k in ('steady_frames_per_s_overall', 'steady_frames_per_s_main_thread', 'mean_seconds_per_stage', 'peak_memory_mb')})" \
    "$OUTDIR/bench_${DEVICE}_${name}.json" "$name"
}
run 1spp --samples 1
run 16spp --samples 16
run 64spp --samples 64
run 16spp_all --samples 16 --annotators all --writers basic,coco,yolo,kitti
