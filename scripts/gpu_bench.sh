#!/usr/bin/env bash
# The GPU figures of docs/benchmarks.md, on a lent GPU machine (see docs/benchmarks.md).
#   usage: PY=python bash scripts/gpu_bench.sh MODE OUTDIR [FRAMES]
#   MODE k-sweep: presets/bench30.toml at 1, 16 and 64 spp with K = 1, 2, 4, 6, 8 render
#                 processes on one GPU, the bare render and the GPU's ceiling in the same run
#   MODE gpus:    1 GPU against every GPU (--gpus all), K processes per GPU (default: auto's K)
#   MODE auto / auto-long: one GPU, the K that --procs-per-gpu auto picks (--procs auto), the bare
#                 render and (64 spp) the ceiling in the same run (auto-long: without them)
#   FRAMES (default 120) is the count at 64 spp; 16 spp renders 2x and 1 spp 4x as many, so that
#   each run's steady window spans several seconds at its rate (at 1 spp and K = 6 a run of 120
#   frames left under 2 s past the start-up: 71 and 46 frames/s in two runs minutes apart)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
MODE=$1; OUT=$2; FRAMES=${3:-120}
mkdir -p "$OUT"
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv > "$OUT/gpus.csv" 2>&1
nproc > "$OUT/nproc.txt"
for spp in 1 16 64; do
  case $spp in 1) n=$((FRAMES * 4)) ;; 16) n=$((FRAMES * 2)) ;; *) n=$FRAMES ;; esac
  case $MODE in
    k-sweep)
      extra=(); [ "$spp" = 64 ] && extra=(--ceiling)
      $PY -m headless.bench presets/bench30.toml --frames "$n" --samples "$spp" --device cuda \
        --gpus 1 --procs 1,2,4,6,8 "${extra[@]}" --json "$OUT/k-sweep-${spp}spp.json" > "$OUT/k-sweep-${spp}spp.log" 2>&1
      ;;
    auto)
      extra=(); [ "$spp" = 64 ] && extra=(--ceiling)
      $PY -m headless.bench presets/bench30.toml --frames "$n" --samples "$spp" --device cuda \
        --gpus 1 --procs auto "${extra[@]}" --json "$OUT/auto-${spp}spp.json" > "$OUT/auto-${spp}spp.log" 2>&1
      ;;
    auto-long)
      $PY -m headless.bench presets/bench30.toml --frames "$n" --samples "$spp" --device cuda \
        --gpus 1 --procs auto --no-bare --json "$OUT/long-${spp}spp.json" > "$OUT/long-${spp}spp.log" 2>&1
      ;;
    gpus)  # K per GPU: what --procs-per-gpu auto picks on 16 cores (6 up to 4 spp, else 2), or $K
      k=${K:-$([ "$spp" -le 4 ] && echo 6 || echo 2)}
      $PY -m headless.bench presets/bench30.toml --frames "$n" --samples "$spp" --device cuda \
        --gpus 1 --procs "$k" --no-bare --json "$OUT/gpus1-${spp}spp.json" > "$OUT/gpus1-${spp}spp.log" 2>&1
      $PY -m headless.bench presets/bench30.toml --frames "$((n * 2))" --samples "$spp" --device cuda \
        --gpus all --procs "$k" --no-bare --json "$OUT/gpusall-${spp}spp.json" > "$OUT/gpusall-${spp}spp.log" 2>&1
      ;;
  esac
  echo "$MODE ${spp} spp done $(date -u +%T)"
done
