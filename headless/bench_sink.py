"""Benchmark: CPU cost of annotation + writing per frame, without rendering each time.

  python -m headless.bench_sink [FILE] [--frames 4] [--resolution 640x480] [--samples 1]
                                [--device cpu] [--annotators A,B|all] [--writers W,V]
                                [--loops 5] [--by-part] [--profile 30] [--sort cumulative] [--json OUT]

FILE (default presets/bench30.toml) renders --frames frames once (in this process, inline
frame sink); the captured frames are kept and then annotated and written again
--loops times into a temporary folder by a fresh frame sink (the first pass is a warm-up;
TMPDIR picks the folder's file system, e.g. /dev/shm to leave the disk out).
Prints CPU milliseconds per frame of the annotate and write stages, as the run's own log
counts them (thread CPU time: what the work costs whatever else runs on the machine): the
mean over all passes and the best pass; with --by-part also each annotator's and writer's
share (what to leave out of a slow parameter file). The timed passes run with the memory
settings of a worker process (`sink.keep_freed_memory`). --profile N adds cProfile's N most expensive
functions to stderr (own time, or with --sort cumulative time including callees).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

from headless.bench import add_scene_options, check_options, checked_config, print_figures
from sdg_addon.console import stdout_to_stderr


def capture(param: Path, out: Path):
    """Render the parameter file once; return (SinkSpec, [captured frames])."""
    from sdg_addon import sink
    from sdg_addon.sink import FrameSink

    kept = {"frames": []}

    class KeepingSink(FrameSink):
        def __init__(self, spec):
            kept["spec"] = spec
            super().__init__(spec)

        def process(self, captured, record):
            # As captured: the sink adds derived passes (the display-referred "rgb") and
            # caches to the frames, which every timed pass must compute again.
            kept["frames"].append([(f, dict(f.passes)) for f in captured])
            return super().process(captured, record)

    from headless.cli import main as cli_main

    plain, sink.FrameSink = sink.FrameSink, KeepingSink  # what InlineSink builds
    try:
        args = ["render", str(param), "--out", str(out), "--worker-mode", "inline", "--quiet"]
        code = cli_main(args)
        if code != 0:  # the run said why on stderr; 2: the input (a device missing here), as the run exits
            print("bench_sink: the render of the benchmark frames failed", file=sys.stderr)
            raise SystemExit(code)
    finally:
        sink.FrameSink = plain
    return kept["spec"], kept["frames"]


def as_captured(frame, passes: dict):
    """The frame as the capture made it: its own passes only, no cache, objects without
    the triangles derived from their meshes."""
    frame.passes = dict(passes)
    frame.cache.clear()
    for obj in frame.objects.values():
        if getattr(obj, "faces", None) is not None:  # (older SceneObjects have no faces)
            obj.triangles = None
    return frame


def time_sink(
    spec, frames, out: Path, loops: int, profile: int | None, sort: str = "tottime", by_part: bool = False
) -> dict:
    from sdg_addon import output
    from sdg_addon.sink import FrameSink, keep_freed_memory

    keep_freed_memory()  # as a worker process does (the capture's render is over by now)
    # CPU time of this thread, as the figures count it (the default clock is wall time:
    # a write blocked on the file system would look like work).
    prof = cProfile.Profile(time.thread_time) if profile else None
    per_pass = []
    parts = {"annotate": {}, "write": {}}  # summed over the timed passes (with by_part)
    spec.time_parts = by_part  # the sink's own per-part record, as `render --time-parts` logs it
    for k in range(loops + 1):
        # Each pass into a folder of its own, as a run writes: new files only (on ext4 a
        # rename over an existing file forces its data out first, ~20x the cost of one).
        spec.output = out / f"pass{k}"
        output.activate(spec.output)
        sink = FrameSink(spec)
        totals = {"annotate": 0.0, "write": 0.0}
        for kept in frames:
            captured = [as_captured(f, passes) for f, passes in kept]
            record = {"seconds": {}}
            if prof and k:
                prof.enable()
            sink.process(captured, record)
            if prof and k:
                prof.disable()
            for s in totals:
                totals[s] += record["cpu_seconds"][s]
            if k:  # a timed pass
                for stage, spent in record.get("cpu_seconds_by_part", {}).items():
                    for name, seconds in spent.items():
                        parts[stage][name] = parts[stage].get(name, 0.0) + seconds
        output.deactivate(spec.output)
        if k:  # pass 0 warms up (imports, caches, first files)
            per_pass.append({s: 1000 * v / len(frames) for s, v in totals.items()})
    if prof:
        pstats.Stats(prof, stream=sys.stderr).sort_stats(sort).print_stats(profile)
    mean = {s: sum(p[s] for p in per_pass) / len(per_pass) for s in ("annotate", "write")}
    best = min(per_pass, key=lambda p: p["annotate"] + p["write"])
    figures = {}
    if by_part:
        per_frame = 1000 / (len(per_pass) * len(frames))
        figures["cpu_ms_per_frame_by_part"] = {
            stage: {name: round(v * per_frame, 2) for name, v in sorted(spent.items(), key=lambda kv: -kv[1])}
            for stage, spent in parts.items()
        }
    return {
        "cpu_ms_per_frame_mean": {**{s: round(v, 1) for s, v in mean.items()}, "total": round(sum(mean.values()), 1)},
        "cpu_ms_per_frame_best_pass": {
            **{s: round(v, 1) for s, v in best.items()},
            "total": round(sum(best.values()), 1),
        },
        **figures,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m headless.bench_sink")
    add_scene_options(p)
    p.add_argument("--frames", type=int, default=4, help="frames rendered once, then timed (default 4)")
    p.add_argument("--samples", type=int, default=1, help="overrides render.samples (default 1)")
    p.add_argument("--device", default="cpu", help="render device of those frames (default cpu)")
    p.add_argument("--loops", type=int, default=5, help="timed passes over the captured frames (default 5)")
    p.add_argument("--profile", type=int, metavar="N", help="print cProfile's top N functions to stderr")
    p.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"), help="order of --profile")
    p.add_argument(
        "--by-part",
        action="store_true",
        help="also CPU ms per frame of each annotator and writer (work a frame shares, such as the view "
        "transform or the silhouettes, counts for the first one that asks for it)",
    )
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    problem = check_options(args)
    if problem:
        p.error(problem)
    data = checked_config(args)
    if data is None:
        return 2
    with tempfile.TemporaryDirectory(prefix="sdg_bench_sink_") as tmp:
        tmp = Path(tmp)
        param = tmp / "bench.json"
        param.write_text(json.dumps(data))
        with stdout_to_stderr():  # stdout carries the figures alone (JSON)
            spec, frames = capture(param, tmp / "rendered")
        figures = {
            "file": args.file.name,
            "frames": len(frames),
            "loops": args.loops,
            "annotators": sorted(spec.annotators),
            "writers": sorted(spec.writers),
            **time_sink(spec, frames, tmp / "written", args.loops, args.profile, args.sort, args.by_part),
        }
        shutil.rmtree(tmp / "written", ignore_errors=True)
    return print_figures(figures, args.json)


if __name__ == "__main__":
    sys.exit(main())
