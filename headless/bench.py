"""Benchmark: frames/s and seconds per stage of a real run, plus peak memory.

  python -m headless.bench [FILE] [--frames 20] [--resolution 640x480] [--samples 16]
                           [--device auto] [--json OUT.json]

Renders FILE (default: the built-in preset) into a temporary folder and prints one JSON
object: steady-state frames/s (first frame excluded: it pays for kernel loading and scene
sync), mean seconds per stage (sample, apply, render, annotate, write), peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m headless.bench")
    p.add_argument("file", nargs="?", type=Path, default=ROOT / "presets" / "default.toml")
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--resolution", default=None, help="WxH, overrides the file")
    p.add_argument("--samples", type=int, default=None, help="overrides render.samples")
    p.add_argument("--device", default=None)
    p.add_argument("--writers", help="comma list of writers, overrides the file (e.g. basic,coco,yolo,kitti)")
    p.add_argument("--annotators", help="comma list of annotators or 'all', overrides the file")
    p.add_argument("--worker-mode", choices=("auto", "processes", "threads"), default="auto")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--keep", type=Path, default=None, help="keep the dataset in this folder")
    args = p.parse_args(argv)

    from sdg_addon.audit import finished_frames, peak_memory_mb
    from sdg_addon.config import load_config
    from sdg_addon.recorder import Recorder, RunOptions

    config = load_config(args.file)
    if args.resolution:
        w, h = (int(x) for x in args.resolution.lower().split("x"))
        config.render.width, config.render.height = w, h
    if args.samples:
        config.render.samples = args.samples
    if args.writers:
        config.writers = {name: {} for name in args.writers.split(",")}
    if args.annotators:
        from sdg_addon.annotators import ANNOTATORS

        names = sorted(ANNOTATORS) if args.annotators == "all" else args.annotators.split(",")
        config.annotators = {name: {} for name in names}
    out = args.keep or Path(tempfile.mkdtemp(prefix="sdg_bench_"))
    t0 = time.perf_counter()
    options = RunOptions(out, range(args.frames), overwrite=True, device=args.device)
    options.worker_processes = {"auto": None, "processes": True, "threads": False}[args.worker_mode]
    if args.workers:
        options.write_workers = args.workers
    result = Recorder(config, options).run()
    wall = time.perf_counter() - t0
    records = [r for _f, r in sorted(finished_frames(out / "audit").items())]
    stages = ("sample", "apply", "render", "annotate", "write")
    steady = records[1:] or records
    per_stage = {s: statistics.mean(r["seconds"].get(s, 0.0) for r in steady) for s in stages}
    # sample, apply and render run in the main thread (median over steady frames: the
    # bound when the workers keep up); annotate and write run in the workers, overlapped.
    main_thread = statistics.median(
        sum(r["seconds"].get(s, 0.0) for s in ("sample", "apply", "render")) for r in steady
    )
    figures = {
        "file": str(args.file),
        "frames": len(records),
        "resolution": [config.render.width, config.render.height],
        "samples": config.render.samples,
        "annotators": sorted(config.annotators),
        "writers": list(config.writers),
        "device": result.device,
        "workers": [options.write_workers, options.worker_mode_used],
        "wall_seconds": round(wall, 3),
        "first_frame_render_s": round(records[0]["seconds"]["render"], 4) if records else None,
        "steady_frames_per_s_main_thread": round(1.0 / main_thread, 3) if main_thread else None,
        "steady_frames_per_s_overall": _steady_rate(steady),
        "overall_frames_per_s": round(len(records) / wall, 3),
        "mean_seconds_per_stage": {k: round(v, 4) for k, v in per_stage.items()},
        "peak_memory_mb": round(peak_memory_mb(), 1),
    }
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    if args.keep is None:
        shutil.rmtree(out, ignore_errors=True)
    return 0


def _steady_rate(records: list[dict]) -> float | None:
    """Frames per second from the start of the first steady frame to the end of the last
    one (all stages, start-up of the worker pool included): an honest throughput."""
    started = [r["started_unix"] for r in records if "started_unix" in r]
    ended = [r["finished_unix"] for r in records if "finished_unix" in r]
    if len(ended) < 2 or not started or max(ended) <= min(started):
        return None
    return round(len(ended) / (max(ended) - min(started)), 3)


if __name__ == "__main__":
    sys.exit(main())
