"""Benchmark: one LiDAR scan against one Cycles render of the same scene.

  python -m headless.bench_lidar [FILE] [--resolution 640x480] [--samples 64]
                                 [--device cpu] [--channels 64] [--columns 2048] [--json OUT]

FILE (default: presets/examples/lidar_30_objects.toml, 30 objects on a ground) is built
once and frame 0's randomizer values applied; then the first LiDAR of the file (made
CHANNELS x COLUMNS) scans it and the first camera renders it (RGB + the passes of the
default annotators). Prints one JSON object: seconds of the scan (ray casts, BVH build
included: it is rebuilt every frame), of its annotation (noise, intensity, ids), of the
render, and the ratio; wall-clock and CPU seconds (all threads: what the work costs on a
machine shared with others). Each is the best of --repeat runs after a warm-up (the scan
once, the render at 1 sample: kernel loading and scene sync are not what is compared).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from headless.bench import check_options, print_figures

ROOT = Path(__file__).resolve().parent.parent


def _best(fn, repeat: int) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of all threads, result) of the fastest of `repeat` runs."""
    best, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t
        if wall < best:
            best, cpu = wall, time.process_time() - c
    return best, cpu, out


def main(argv: list[str] | None = None) -> int:
    from headless.bench import parse_resolution
    from headless.cli import at_least_one
    from sdg_addon.config.schema import DEVICES

    p = argparse.ArgumentParser(
        prog="python -m headless.bench_lidar",
        description="One LiDAR scan against one Cycles render of the same scene; prints the figures as JSON.",
    )
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=ROOT / "presets" / "examples" / "lidar_30_objects.toml",
        help="parameter file with [[lidars]] (default presets/examples/lidar_30_objects.toml)",
    )
    p.add_argument("--resolution", default="640x480", help="WxH of the render of the first camera (default 640x480)")
    p.add_argument("--samples", type=at_least_one, default=64, help="Cycles samples of the render (default 64)")
    p.add_argument("--device", default="cpu", type=str.lower, choices=DEVICES, help="render device (default cpu)")
    p.add_argument("--channels", type=at_least_one, default=64, help="channels of the file's first LiDAR (default 64)")
    p.add_argument(
        "--columns", type=at_least_one, default=2048, help="its columns, rays per channel and turn (default 2048)"
    )
    p.add_argument(
        "--repeat", type=at_least_one, default=1, help="timed runs of each (best kept), after a warm-up (default 1)"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)
    problem = check_options(args)  # --resolution, --json: exit 2, before the scene is built
    if problem:
        p.error(problem)

    from headless.cli import report_problems
    from sdg_addon.config import ConfigError, load_config
    from sdg_addon.console import blender_console_silenced

    try:
        config = load_config(args.file)
    except ConfigError as e:  # missing, unreadable, invalid: every problem, exit 2 (was a traceback)
        report_problems(args.file, e)
        return 2
    if not config.lidars:
        print(f"error: {args.file} has no [[lidars]]", file=sys.stderr)
        return 2
    w, h = parse_resolution(args.resolution)
    config.render.width, config.render.height = w, h
    config.render.samples = args.samples
    config.render.device = args.device
    lidar = config.lidars[0]
    lidar.channels, lidar.columns = args.channels, args.columns

    with blender_console_silenced():  # Blender's render lines ("Saved: ...") off stdout: the figures' JSON alone
        return _measure(args, config, w, h)


def _measure(args, config, w: int, h: int) -> int:
    from sdg_addon.annotators import create_annotator
    from sdg_addon.annotators.base import ANNOTATORS
    from sdg_addon.capture.lidar import LidarCaster
    from sdg_addon.capture.render import Capturer
    from sdg_addon.recorder import Recorder, RunOptions, annotator_plan
    from sdg_addon.sampling import sample_frame
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.motion import SequencePlayer

    lidar = config.lidars[0]
    built = build_scene(config)
    targets = Recorder(config, RunOptions(Path("."), range(1))).resolve_targets(built)
    SequencePlayer(built, config.sequence, config.randomizers).apply(
        0, sample_frame(config.seed, 0, config.randomizers, targets)
    )
    plan = annotator_plan(config)
    passes = {x for name in plan for x in ANNOTATORS[name].passes}
    capturer = Capturer(built, config.render, passes, any(ANNOTATORS[n].needs_geometry for n in plan))
    caster = LidarCaster(capturer, [lidar], config.seed)
    camera = config.cameras[0].name
    try:
        objects = capturer.scene_objects()
        caster.scan(0, objects)  # warm-up: mesh export cache, BVH code paths
        scan_s, scan_cpu, scans = _best(lambda: caster.scan(0, objects), args.repeat)
        annotator = create_annotator("lidar")
        annotate_s, annotate_cpu, cloud = _best(lambda: annotator.annotate(scans[0]), args.repeat)
        built.scene.cycles.samples = 1
        capturer.capture(0, camera, objects)  # warm-up: kernels, scene sync
        built.scene.cycles.samples = args.samples
        render_s, render_cpu, _ = _best(lambda: capturer.capture(0, camera, objects), args.repeat)
    finally:
        capturer.close()
    triangles = len(caster.scene_geometry()[0])
    figures = {
        "file": str(args.file),
        "objects": len(built.entities),
        "triangles": triangles,
        "lidar": f"{lidar.channels}x{lidar.columns} ({lidar.model})",
        "rays": lidar.channels * lidar.columns,
        "returns": int(len(cloud["data"])),
        "lidar_scan_s": round(scan_s, 3),
        "lidar_annotate_s": round(annotate_s, 3),
        "lidar_total_s": round(scan_s + annotate_s, 3),
        "lidar_total_cpu_s": round(scan_cpu + annotate_cpu, 3),
        "render": f"{w}x{h} {args.samples} spp on {capturer.device.get('type')}",
        "render_s": round(render_s, 3),
        "render_cpu_s": round(render_cpu, 3),
        "render_over_lidar": round(render_s / (scan_s + annotate_s), 2),
        "render_over_lidar_cpu": round(render_cpu / (scan_cpu + annotate_cpu), 2),
    }
    return print_figures(figures, args.json)


if __name__ == "__main__":
    sys.exit(main())
