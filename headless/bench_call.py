"""Benchmark: where the time of one render call goes.

  python -m headless.bench_call [FILE] [--frames 30] [--resolution 640x480] [--samples 16]
                                [--device cuda] [--openexr-threads blender] [--json OUT]

FILE (default presets/bench30.toml) is built once; then each frame's randomizer values are
applied and the first camera rendered as a run renders it (the same passes, the hand-off
EXR), in this one process, nothing annotated or written. Blender's render handlers and the
render's status lines (`render_stats`: "Synchronizing object", "Sample 3/16", ...) are
timestamped, and each call is cut into phases, milliseconds from one event to the next:

- `apply`: drawing and applying the frame's randomizer values (before the call);
- `before_init`: from the call to Blender's render_init (its render set-up);
- `init_to_sync`: render_init to Cycles' "Initializing" (the render's depsgraph, Cycles'
  object sync);
- `sync`: Cycles' scene update up to the first sample (shaders, objects, BVH, uploads);
- `first_sample`: Cycles renders one sample alone first; `other_samples`: the rest, with
  the read-back of the render buffers;
- `saving`: from "Finished" to render_post: the passes handed to Blender and the hand-off
  EXR written;
- `call`: the whole call. Medians over the frames after the first two (kernel loading and
  first-time caches excluded).

`--openexr-threads blender` keeps Blender's OpenEXR thread pool (a run writes the hand-off
EXR without it: sdg_addon/capture/exr_threads.py), to compare the `saving` phase. Run two
or three at once on one GPU to see which phases stretch when processes share it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from headless.bench import ROOT, check_options, parse_resolution, print_figures

HANDLERS = ("render_init", "render_pre", "render_post", "render_stats")
# (phase, event it starts at, event it ends at); an event is a handler name or a substring
# of a render_stats line.
PHASES = (
    ("before_init", None, "render_init"),
    ("init_to_sync", "render_init", "Initializing"),
    ("sync", "Initializing", "Sample 0/"),
    ("first_sample", "Sample 0/", "Sample 1/"),
    ("other_samples", "Sample 1/", "Finished"),
    ("saving", "Finished", "render_post"),
)


def phases(events: list[tuple[float, str]]) -> dict[str, float | None]:
    """Milliseconds of each phase of one call from its (seconds since the call, event)
    pairs; None where an event did not come."""

    def first(name):
        if name is None:
            return 0.0
        return next((t for t, event in events if name == event or (name not in HANDLERS and name in event)), None)

    out = {}
    for phase, start, end in PHASES:
        a, b = first(start), first(end)
        out[phase] = round((b - a) * 1000, 3) if a is not None and b is not None and b >= a else None
    if first("Sample 1/") is None:  # no second status line: the one pass ends at "Finished"
        a, b = first("Sample 0/"), first("Finished")
        out["first_sample"] = round((b - a) * 1000, 3) if a is not None and b is not None and b >= a else None
    return out


def main(argv: list[str] | None = None) -> int:
    from headless.cli import at_least_one
    from sdg_addon.config.schema import DEVICES

    p = argparse.ArgumentParser(
        prog="python -m headless.bench_call",
        description="Where the time of one render call goes (render handlers' timestamps); prints JSON.",
    )
    p.add_argument("file", nargs="?", type=Path, default=ROOT / "presets" / "bench30.toml", help="parameter file")
    p.add_argument("--frames", type=at_least_one, default=30, help="frames rendered (default 30)")
    p.add_argument("--resolution", default=None, help="WxH, overrides the file")
    p.add_argument("--samples", type=at_least_one, default=None, help="overrides render.samples")
    p.add_argument("--device", default=None, type=str.lower, choices=DEVICES, help="overrides render.device")
    p.add_argument(
        "--openexr-threads",
        choices=("run", "blender"),
        default="run",
        help="run: the hand-off EXR written as a run writes it (no OpenEXR pool); blender: Blender's pool",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    problem = check_options(args)
    if problem:
        p.error(problem)

    from headless.cli import report_problems
    from sdg_addon.config import ConfigError, load_config
    from sdg_addon.console import blender_console_silenced

    try:
        config = load_config(args.file)
    except ConfigError as e:
        report_problems(args.file, e)
        return 2
    if args.resolution:
        config.render.width, config.render.height = parse_resolution(args.resolution)
    if args.samples:
        config.render.samples = args.samples
    if args.device:
        config.render.device = args.device
    with blender_console_silenced():  # Blender's render lines off stdout: the figures' JSON alone
        figures = _measure(args, config)
    return print_figures(figures, args.json)


def _measure(args, config) -> dict:
    import bpy

    from sdg_addon.annotators.base import ANNOTATORS
    from sdg_addon.capture.exr_threads import openexr_threads, set_openexr_threads
    from sdg_addon.capture.render import Capturer
    from sdg_addon.recorder import Recorder, RunOptions, annotator_plan
    from sdg_addon.sampling import sample_frame
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    events: list[tuple[float, str]] = []

    def handler(name):
        def record(*args):
            text = args[0] if args and isinstance(args[0], str) else ""
            events.append((time.perf_counter(), f"{name} {text}" if text else name))

        return record

    built = build_scene(config)
    targets = Recorder(config, RunOptions(Path("."), range(args.frames))).resolve_targets(built)
    plan = annotator_plan(config)
    passes = {x for name in plan for x in ANNOTATORS[name].passes}
    blenders = openexr_threads()  # the Capturer sets 0 (as a run writes the hand-off EXR)
    capturer = Capturer(built, config.render, passes, need_geometry=False)
    capturer.read_passes_later = True  # the call alone is timed; the EXR is read after it
    if args.openexr_threads == "blender" and blenders is not None:
        set_openexr_threads(blenders)
    camera = built.cameras[config.cameras[0].name]
    added = [(getattr(bpy.app.handlers, name), handler(name)) for name in HANDLERS]
    for handlers, fn in added:
        handlers.append(fn)
    frames = []
    try:
        for f in range(args.frames):
            t0 = time.perf_counter()
            apply_frame(built, sample_frame(config.seed, f, config.randomizers, targets))
            t1 = time.perf_counter()
            events.clear()
            captured = capturer.render_passes(camera)
            t2 = time.perf_counter()
            captured.load()  # read (and removed) as a worker would
            row = phases([(t - t1, event) for t, event in events])
            row["apply"], row["call"] = round((t1 - t0) * 1000, 3), round((t2 - t1) * 1000, 3)
            frames.append(row)
    finally:
        for handlers, fn in added:
            handlers.remove(fn)
        capturer.close()
    steady = frames[2:] or frames
    median = {}
    for key in ("apply", "call", *(phase for phase, _, _ in PHASES)):
        values = [row[key] for row in steady if row.get(key) is not None]
        median[key] = round(statistics.median(values), 2) if values else None
    return {
        "file": str(args.file),
        "render": f"{config.render.width}x{config.render.height} {config.render.samples} spp",
        "device": capturer.device,
        "passes": sorted(capturer.passes),
        "openexr_threads": args.openexr_threads,
        "frames": args.frames,
        "median_ms": median,
        "per_frame_ms": frames,
    }


if __name__ == "__main__":
    sys.exit(main())
