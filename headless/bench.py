"""Benchmark: the pipeline against a bare Cycles render of the same scene, in one run.

  python -m headless.bench [FILE] [--frames 30] [--resolution 640x480] [--samples 16]
                           [--device auto] [--procs 1,2,4] [--annotators all] [--writers basic,coco]
                           [--ceiling] [--no-bare] [--by-part] [--rounds R] [--json OUT.json]

FILE defaults to presets/bench30.toml (30 procedural objects). For each K in --procs it
renders the dataset with K render processes (`headless render`, K = 1: one process), then
renders the same frames bare (same scene and randomizers, RGB PNG only, one
`bpy.ops.render.render` per frame, nothing else), and prints one JSON object:

- pipeline[K]: steady frames/s (from the time the frames each process rendered before it finished its
  first one are finished: they finish in a burst) with the frames and seconds of that window
  (a note when it spans under 5 s: too short to trust), time to first
  frame from process start, wall and CPU seconds per frame per stage (sample, apply,
  render in the render loop; read, annotate and write in the workers, read only with
  worker processes: CPU seconds are what each costs whatever else runs), peak memory of every process of the
  run together (render processes and their workers), memory and frame time at the start
  and end of the run (flat means no growth); with --by-part also each annotator's and
  writer's CPU seconds per frame (the run logs them: `render --time-parts`);
- bare: steady frames/s and seconds per render call;
- ratio_to_bare[K]: pipeline seconds per frame / bare seconds per frame (1.0 = free);
  with one render process also ratio_to_bare_median: the median time from one finished
  frame to the next against the bare render's median frame, which a few frames slowed down
  by another job on a shared machine do not move; with --rounds R the pipeline and the bare
  render run in turn R times, each round's ratios are kept (`rounds`) and the row's ratios
  are their medians (a machine that is slower for minutes moves both sides of a round);
- ceiling (with --ceiling): bare Cycles at 1920x1080, 64 spp: samples/s, and the frames/s
  that rate allows at the benchmark's size and samples (the GPU's limit for this scene);
  stderr says first about how long it takes (hours on a CPU), then each frame.

Also: `python -m headless.bench --trend OUTDIR` summarizes a finished run's own log
(audit/frames*.jsonl): memory and seconds per frame over the run, in windows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from headless.cli import WORKER_MODES, report_problems, say
from sdg_addon.config.paths import map_file_paths
from sdg_addon.sampling.randomizers import absolute_path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("sample", "apply", "render", "read", "annotate", "write")  # read: a worker reading the frame


# ------------------------------------------------------------------ the parameter file
def bench_config(args) -> dict:
    """The parameter file as data, with the benchmark's overrides; relative paths made
    absolute (the copy lives in a temporary folder)."""
    from sdg_addon.config.problems import Problems
    from sdg_addon.config.schema import read_table

    path = args.file.resolve()
    problems = Problems(path.as_posix())
    data = read_table(path, problems)  # ConfigError naming the file: missing, unreadable, not TOML
    problems.raise_if_any()
    _absolute_paths(data, path.parent)
    run = data.setdefault("run", {})
    run["frames"] = args.frames
    render = data.setdefault("render", {})
    if args.resolution:
        render.pop("width", None), render.pop("height", None)
        render["resolution"] = list(parse_resolution(args.resolution))
    if args.samples is not None:
        render["samples"] = args.samples
    if args.device:
        render["device"] = args.device
    if args.writers:
        data["writers"] = {name: {} for name in args.writers.split(",")}
    if args.annotators:
        names = all_annotators(data) if args.annotators == "all" else args.annotators.split(",")
        data["annotators"] = {name: {} for name in names}
    return data


def all_annotators(data: dict) -> list[str]:
    """--annotators all: every annotator the file's sensors make (lidar needs a LiDAR, thermal
    and nir a camera of that sensor: asked for without, a run refuses them)."""
    from sdg_addon.annotators import ANNOTATORS
    from sdg_addon.config.schema import SENSOR_ANNOTATORS

    cameras = data.get("cameras")
    sensors = (
        {c.get("sensor", "visible") for c in cameras if isinstance(c, dict)} if isinstance(cameras, list) else set()
    )
    return [
        n
        for n in sorted(ANNOTATORS)
        if not (n == "lidar" and not data.get("lidars"))
        and not (n in SENSOR_ANNOTATORS and SENSOR_ANNOTATORS[n] not in sensors)
    ]


def parse_resolution(text: str) -> tuple[int, int]:
    """--resolution WxH as (w, h); ValueError naming the option otherwise."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"--resolution {text!r}: expected WxH in pixels, e.g. 640x480")
    w, h = (int(p) for p in parts)
    return w, h


def check_options(args) -> str | None:
    """What is wrong with the benchmark's own options (one line), or None. The parameter
    file with the options applied is checked by check_config."""
    if args.resolution is not None:
        try:
            parse_resolution(args.resolution)
        except ValueError as e:
            return str(e)
    json_path = getattr(args, "json", None)
    if json_path is not None and not json_path.parent.is_dir():
        return f"--json {json_path}: no such folder {json_path.parent} (the figures are written there at the end)"
    if json_path is not None and json_path.is_dir():
        return f"--json {json_path}: a folder; give the file to write the figures to, e.g. {json_path / 'bench.json'}"
    if getattr(args, "procs", None) is not None:
        try:
            procs_list(args)
        except SystemExit as e:
            return str(e)
    for name in ("chunk", "workers", "rounds", "loops", "profile"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            return f"--{name} {value}: expected a whole number >= 1"
    return None


def checked_config(args) -> dict | None:
    """The parameter file with the benchmark's options applied (bench_config), validated as
    a run would before anything runs; None after every problem on stderr, naming the user's
    file (not the temporary copy the runs read)."""
    from sdg_addon.config import ConfigError
    from sdg_addon.config.schema import config_from_dict

    try:
        data = bench_config(args)
    except ConfigError as e:  # the file itself cannot be read
        report_problems(args.file, e)
        return None
    try:
        config_from_dict(data, args.file.resolve())
    except ConfigError as e:
        report_problems(args.file, e, " with the benchmark's options applied")
        return None
    return data


def _absolute_paths(data: dict, base: Path) -> None:
    map_file_paths(data, lambda path: absolute_path(path, base))
    scene = data.get("scene")
    if isinstance(scene, dict) and isinstance(scene.get("blend"), str):
        scene["blend"] = absolute_path(scene["blend"], base)


# ------------------------------------------------------------------ memory of a process tree
def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants together (Linux)."""
    kids = _children()
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
        stack += kids.get(p, [])
    return total / 2**20


class PeakMemory:
    """Samples the RSS of a process tree (5 times a second) and keeps the largest sum."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self.available = os.path.isdir("/proc")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.available and not self._stop.wait(0.2):
            self.peak = max(self.peak, tree_rss_mb(self.pid))

    def stop(self) -> float | None:
        self._stop.set()
        self.thread.join()
        return round(self.peak, 1) if self.available else None


# ------------------------------------------------------------------ runs
def procs_list(args) -> list:
    """--procs as a list: ints, and "auto" (with --gpus: the tool's --procs-per-gpu auto)."""
    out = []
    for item in str(args.procs).split(","):
        item = item.strip().lower()
        if item == "auto" and args.gpus:
            out.append("auto")
        elif item.isdigit() and int(item) > 0:
            out.append(int(item))
        else:
            raise SystemExit(f"bench: --procs {args.procs!r}: positive integers, or auto with --gpus")
    return out


def run_pipeline(param: Path, out: Path, procs, args) -> dict:
    cmd = [sys.executable, "-m", "headless", "render", str(param), "--out", str(out), "--overwrite", "--quiet"]
    if args.gpus:
        cmd += ["--gpus", args.gpus, "--procs-per-gpu", str(procs), "--chunk", str(args.chunk)]
    elif procs != "auto" and procs > 1:
        cmd += ["--procs", str(procs), "--chunk", str(args.chunk)]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    cmd += ["--worker-mode", args.worker_mode]
    cmd += ["--time-parts"] if args.by_part else []
    started = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(proc.pid)
    _out, err = proc.communicate()
    peak = memory.stop()
    wall = time.time() - started
    if proc.returncode != 0:
        print(f"bench: the pipeline run failed ({proc.returncode}):\n{err[-4000:]}", file=sys.stderr)
        raise SystemExit(proc.returncode if proc.returncode > 0 else 1)  # 2: the input (a device missing here)
    records = []
    for log in sorted((out / "audit").glob("frames*.jsonl")):
        records += [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    records.sort(key=lambda r: r["finished_unix"])
    logs = _by_process(out)
    first_of_process = {min(rs, key=lambda r: r["finished_unix"])["frame"] for rs in logs.values()}
    procs_total = len(first_of_process)
    steady = [r for r in records if r["frame"] not in first_of_process] or records
    fps, window = steady_rate(logs)
    span = window[-1]["finished_unix"] - window[0]["finished_unix"] if window else 0.0
    row = {
        "median_frame_s": _r(median_frame_seconds(window)) if procs_total == 1 else None,
        "procs": procs,
        "render_processes": procs_total,
        "frames": len(records),
        "steady_frames_per_s": _r(fps),
        "steady_frames": len(window) - 1 if window else 0,
        "steady_seconds": _r(span),
        "time_to_first_frame_s": _r(records[0]["finished_unix"] - started),
        "wall_s": _r(wall),
        "wall_seconds_per_frame": {s: _r(_mean(r["seconds"].get(s) for r in steady)) for s in STAGES},
        "cpu_seconds_per_frame": {s: _r(_mean(r.get("cpu_seconds", {}).get(s) for r in steady)) for s in STAGES},
        **({"cpu_seconds_per_frame_by_part": parts_per_frame(steady)} if args.by_part else {}),
        "peak_memory_mb_all_processes": peak,
        "trend": trend_of(records),
    }
    if fps is None:
        row["note"] = (
            "no steady frames/s: no frame's render started after its process's first frame was finished "
            "(they all waited for the worker processes to start); use more frames"
        )
    else:
        row["note"] = short_window_note(row["steady_frames"], span)
        if row["note"] is None:
            del row["note"]
    return row


# The least a steady window should span to be a figure: one slow second (another job, a
# file system stall) in a window of a second or two moves frames/s by a third. With K
# processes the start-up takes most of a short run (r37: 120 frames at 1 spp, K = 6, 70
# frames/s: a window under 2 s, 71 and 46 frames/s in two runs minutes apart).
STEADY_MIN_SECONDS = 5.0


def short_window_note(frames: int, seconds: float) -> str | None:
    """A note for a steady window too short to trust (see STEADY_MIN_SECONDS), or None."""
    if seconds >= STEADY_MIN_SECONDS:
        return None
    return (
        f"steady frames/s from {frames} frames over {seconds:.2f} s only (under {STEADY_MIN_SECONDS:g} s, "
        "where a one-second stall moves it by a third): use more frames"
    )


def processes_asked(procs, gpus: str | None) -> int | None:
    """Render processes a row asked for: K, or K per GPU of --gpus (a count or a list);
    None where only the run knows (auto, --gpus all)."""
    if not isinstance(procs, int):
        return None
    if not gpus:
        return procs
    gpus = gpus.strip().lower()
    if gpus.isdigit():
        return procs * int(gpus)
    return procs * len([g for g in gpus.split(",") if g.strip()]) if "," in gpus else None


def idle_note(row: dict, asked: int | None, frames: int, chunk: int) -> str | None:
    """A row whose processes did not all render (too few frames for the chunks: the run
    starts no more than there are chunks): its figures are those of fewer processes, which
    the row's `procs` does not say."""
    got = row.get("render_processes")
    if asked is None or got is None or got >= asked:
        return None
    return (
        f"{asked} render processes asked, {got} rendered frames ({frames} frames handed "
        f"out {chunk} at a time): no chunk was left for the others; use more frames or a smaller --chunk"
    )


def ratios(row: dict, bare: dict) -> dict:
    """A pipeline run against a bare run: frames/s ratio, and (one render process) the
    median frame time's ratio."""
    out = {}
    if row["steady_frames_per_s"] and bare["steady_frames_per_s"]:
        out["ratio_to_bare"] = _r(bare["steady_frames_per_s"] / row["steady_frames_per_s"])
    if row.get("median_frame_s") and bare.get("median_frame_s"):
        out["ratio_to_bare_median"] = _r(row["median_frame_s"] / bare["median_frame_s"])
    return out


def summarize_rounds(rows: list[dict], rounds: list[tuple[list[dict], dict | None]]) -> None:
    """--rounds R: each row (its first round's figures) gets `rounds`, every round's frames/s,
    bare frames/s and ratios (as each round's rows hold them, from `ratios`), and its ratios
    become the medians over the rounds: each pipeline run is set against the bare run right
    after it, so a machine that is slower for a while (a shared host) moves both sides of a
    round alike."""
    for i, row in enumerate(rows):
        per_round = []
        for round_rows, bare in rounds:
            other = round_rows[i]
            entry = {
                "steady_frames_per_s": other["steady_frames_per_s"],
                "median_frame_s": other.get("median_frame_s"),
                "cpu_seconds_per_frame": other["cpu_seconds_per_frame"],
            }
            if bare:
                entry["bare_steady_frames_per_s"] = bare["steady_frames_per_s"]
                entry["bare_median_frame_s"] = bare.get("median_frame_s")
            entry.update({k: other[k] for k in ("ratio_to_bare", "ratio_to_bare_median") if k in other})
            per_round.append(entry)
        row["rounds"] = per_round
        for key in ("ratio_to_bare", "ratio_to_bare_median"):
            values = [e[key] for e in per_round if e.get(key) is not None]
            if values:
                row[key] = _r(statistics.median(values))


def parts_per_frame(records: list[dict]) -> dict:
    """Each annotator's and writer's CPU seconds per frame (`render --time-parts` logs them
    per frame): the mean over the records, most expensive first. A part that did not run for
    a frame (another sensor's) counts 0 there."""
    logged = [r["cpu_seconds_by_part"] for r in records if "cpu_seconds_by_part" in r]
    out = {}
    for stage in ("annotate", "write"):
        names = {name for parts in logged for name in parts.get(stage, {})}
        means = {name: sum(p.get(stage, {}).get(name, 0.0) for p in logged) / len(logged) for name in names}
        out[stage] = {name: _r(v) for name, v in sorted(means.items(), key=lambda kv: (-kv[1], kv[0]))}
    return out


def steady_rate(logs: dict[str, list[dict]]) -> tuple[float | None, list[dict]]:
    """Frames/s of a run past its start-up, and the frames of that window (the first its
    start, sorted by finished_unix), from each process's log.

    Frames a process rendered before its first frame was finished waited for its worker
    processes to start (they hold up to two frames each) and finish together at once, at no
    rate the pipeline keeps (on 2 loaded cores: 8 frames finished within 0.5 s, 14 frames/s
    against a render loop of 2 a second). The window starts when the last of those (of every
    process) is finished: every frame finished after that is counted, and no work done on
    an uncounted frame falls inside it (so the rate is neither raised by the burst nor
    lowered by time spent finishing frames it does not count)."""
    firsts = {name: min(r["finished_unix"] for r in rs) for name, rs in logs.items() if rs}
    if not firsts:
        return None, []
    ahead = [r["finished_unix"] for name, rs in logs.items() for r in rs if r["started_unix"] < firsts[name]]
    start = max([*firsts.values(), *ahead])  # every process past its start-up and its burst
    counted = sorted(
        (r for rs in logs.values() for r in rs if r["finished_unix"] > start),
        key=lambda r: r["finished_unix"],
    )
    window = [{"finished_unix": start}, *counted]
    span = window[-1]["finished_unix"] - start
    return (len(counted) / span if counted and span > 0 else None), window


def median_frame_seconds(records: list[dict]) -> float | None:
    """Median time between consecutive finished frames of one process (records sorted by
    finished_unix): its frame time, robust to a few frames another job slowed down."""
    done = [r["finished_unix"] for r in records]
    steps = [b - a for a, b in zip(done, done[1:])]
    return statistics.median(steps) if steps else None


def _by_process(out: Path) -> dict[str, list[dict]]:
    logs = {}
    for log in sorted((out / "audit").glob("frames*.jsonl")):
        logs[log.name] = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {k: v for k, v in logs.items() if v}


def run_bare(param: Path, args, resolution=None, samples=None, frames=None) -> dict:
    cmd = [sys.executable, "-m", "headless.bench", "--bare", str(param)]
    if resolution:
        cmd += ["--resolution", resolution]
    if samples:
        cmd += ["--samples", str(samples)]
    if frames:
        cmd += ["--frames", str(frames)]
    code, stdout, stderr = run_forwarding_progress(cmd)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if code != 0 or not lines:
        raise SystemExit(f"bench: the bare render failed ({code}):\n{stderr[-4000:]}")
    return json.loads(lines[-1])


PROGRESS_PREFIX = "bench: "  # a process's stderr lines passed on to the terminal as they come


def run_forwarding_progress(cmd: list[str]) -> tuple[int, str, str]:
    """Run `cmd` (from the repository, this checkout importable): its exit code, stdout, and
    the stderr lines other than its progress lines (those starting with PROGRESS_PREFIX are
    printed on this stderr as they come: a long render shows it is moving)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rest: list[str] = []

    def read_stderr():
        for line in proc.stderr:
            if line.startswith(PROGRESS_PREFIX):
                print(line, end="", file=sys.stderr, flush=True)
            else:
                rest.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    stdout = proc.stdout.read()
    code = proc.wait()
    reader.join()
    return code, stdout, "".join(rest)


CEILING_FRAMES = 10  # at most: bare Cycles at 1920x1080, 64 spp (--ceiling)


def ceiling_note(frames: int, bare: dict | None) -> str:
    """What --ceiling is about to render, and about how long it takes at the samples/s of the
    bare render just measured (none: the CPU takes minutes a frame)."""
    text = f"ceiling: bare Cycles at 1920x1080, 64 spp, {frames} frame(s)"
    rate = (bare or {}).get("samples_per_s")
    if rate:
        from sdg_addon.progress import format_seconds

        eta = format_seconds(frames * 1920 * 1080 * 64 / rate)
        device = bare.get("device")
        device = device.get("type") if isinstance(device, dict) else device
        return f"{text}: about {eta} at the bare render's {rate / 1e6:.3g} M samples/s on {device}"
    return f"{text} (on a CPU: minutes a frame)"


def bare_main(args) -> int:
    """In a fresh process: the scene of the parameter file, RGB PNG only, one render call
    per frame (what a minimal Blender script would do), randomizers applied as in a run."""
    import bpy

    from headless.cli import blender_console_silenced
    from sdg_addon.capture.render import configure_cycles, temp_render_dir
    from sdg_addon.compat import set_single_image
    from sdg_addon.config import load_config
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.sampling import sample_frame
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    config = load_config(args.bare)
    if args.resolution:
        config.render.width, config.render.height = parse_resolution(args.resolution)
    if args.samples:
        config.render.samples = args.samples
    frames = args.frames
    with blender_console_silenced():
        built = build_scene(config)
        targets = Recorder(config, RunOptions(Path("."), range(frames))).resolve_targets(built)
        scene = built.scene
        device = configure_cycles(scene, config.render, set())
        for layer in list(scene.view_layers)[1:]:
            scene.view_layers.remove(layer)
        s = scene.render.image_settings
        set_single_image(s)
        s.file_format, s.color_mode, s.color_depth, s.compression = "PNG", "RGBA", "8", 15
        folder = temp_render_dir()
        times, loop = [], []
        for f in range(frames):
            t0 = time.perf_counter()
            apply_frame(built, sample_frame(config.seed, f, config.randomizers, targets))
            for cam in config.cameras:
                scene.camera = built.cameras[cam.name]
                scene.render.filepath = os.path.join(folder, "rgb.png")
                t1 = time.perf_counter()
                bpy.ops.render.render(write_still=True)
                times.append(time.perf_counter() - t1)
            loop.append(time.perf_counter() - t0)
            print(
                f"{PROGRESS_PREFIX}bare render {config.render.width}x{config.render.height}, "
                f"{config.render.samples} spp: frame {f + 1}/{frames} in {loop[-1]:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        shutil.rmtree(folder, ignore_errors=True)
    steady = loop[1:] or loop
    w, h, spp = config.render.width, config.render.height, config.render.samples
    render_s = statistics.median(times[len(config.cameras) :] or times)
    print(
        json.dumps(
            {
                "device": device,
                "resolution": [w, h],
                "samples": spp,
                "frames": frames,
                "first_frame_s": _r(loop[0]),
                "steady_frames_per_s": _r(1.0 / statistics.mean(steady)),
                "median_frame_s": _r(statistics.median(steady)),
                "median_render_call_s": _r(render_s),
                "samples_per_s": round(w * h * spp / render_s),  # per camera render call
            }
        )
    )
    return 0


# ------------------------------------------------------------------ long-run trend
def trend_of(records: list[dict], windows: int = 4) -> list[dict]:
    """Memory and seconds per frame in consecutive windows of a run (flat = no growth)."""
    records = sorted(records, key=lambda r: r["frame"])
    if len(records) < windows:
        return []
    n, out = len(records), []
    for k in range(windows):  # every frame in one window, the last frame in the last one
        part = records[k * n // windows : (k + 1) * n // windows]
        out.append(
            {
                "frames": [part[0]["frame"], part[-1]["frame"]],
                "main_rss_mb": _r(max((r.get("rss_mb") or 0) for r in part)),
                "worker_rss_mb": _r(max((r.get("worker_rss_mb") or 0) for r in part)),
                "seconds_per_frame": _r(_mean(sum(r["seconds"].get(s, 0.0) for s in STAGES) for r in part)),
            }
        )
    return out


def trend_main(folder: Path, json_path: Path | None = None) -> int:
    from sdg_addon.audit import finished_frames

    # every process's log; a torn last line (a run killed mid-write) is no frame, as --resume reads it
    records = list(finished_frames(folder / "audit").values()) if (folder / "audit").is_dir() else []
    if not records:
        print(f"error: {folder} has no audit/frames*.jsonl", file=sys.stderr)
        return 2
    rows = trend_of(records, windows=min(10, len(records)))
    return print_figures({"folder": str(folder), "frames": len(records), "windows": rows}, json_path)


# ------------------------------------------------------------------ helpers
def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else None


def _r(x, digits: int = 4):
    return None if x is None else round(float(x), digits)


def print_figures(figures: dict, json_path: Path | None) -> int:
    """Print the figures as JSON, also into json_path when given; exit status 0 (also where
    stdout's reader has gone: `--trend DIR | head`)."""
    text = json.dumps(figures, indent=1)
    if json_path:
        json_path.write_text(text)
    say(text)
    return 0


def add_scene_options(p: argparse.ArgumentParser) -> None:
    """The options bench and bench_sink share: the parameter file and what overrides its
    image size, writers and annotators."""
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        default=ROOT / "presets" / "bench30.toml",
        help="parameter file (default presets/bench30.toml)",
    )
    p.add_argument("--resolution", default=None, help="WxH, overrides the file")
    p.add_argument("--writers", help="comma list of writers, overrides the file (e.g. basic,coco,yolo,kitti)")
    p.add_argument(
        "--annotators",
        help="comma list of annotators, or 'all' (every one the file's sensors make); overrides the file",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m headless.bench")
    add_scene_options(p)
    p.add_argument("--frames", type=int, default=30, help="frames of each run (default 30)")
    p.add_argument("--samples", type=int, default=None, help="overrides render.samples")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, optix, ... (overrides render.device)")
    p.add_argument(
        "--procs", default="1", help="render processes, a comma list to compare (e.g. 1,2,4; auto with --gpus)"
    )
    p.add_argument("--gpus", help="run with `--gpus GPUS --procs-per-gpu K` (K from --procs) instead of --procs K")
    p.add_argument("--chunk", type=int, default=8, help="render's --chunk with several processes (default 8)")
    p.add_argument(
        "--worker-mode", choices=tuple(WORKER_MODES), default="auto", help="render's --worker-mode (default auto)"
    )
    p.add_argument("--workers", type=int, default=None, help="render's --workers (default: render's)")
    p.add_argument("--no-bare", action="store_true", help="skip the bare render")
    p.add_argument(
        "--by-part",
        action="store_true",
        help="also each annotator's and writer's CPU seconds per frame inside the run (render --time-parts)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="pipeline then bare render, R times in turn; the ratios are the medians of the rounds' (shared machines)",
    )
    p.add_argument(
        "--ceiling",
        action="store_true",
        help="also bare Cycles at 1920x1080, 64 spp (samples/s), up to 10 frames: hours on a CPU",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--keep", type=Path, default=None, help="keep the datasets in this folder")
    p.add_argument("--bare", type=Path, help=argparse.SUPPRESS)  # internal: the bare-render process
    p.add_argument("--trend", type=Path, metavar="OUTDIR", help="summarize a finished run's frame log")
    args = p.parse_args(argv)
    if args.bare:
        return bare_main(args)
    if args.trend:
        problem = check_options(args)
        if problem:
            p.error(problem)
        return trend_main(args.trend, args.json)
    problem = check_options(args)
    if problem:
        p.error(problem)
    if args.keep is not None:  # the runs start in the tool's folder: the user's folder, made absolute here
        args.keep = args.keep.resolve()
    data = checked_config(args)
    if data is None:
        return 2

    work = Path(tempfile.mkdtemp(prefix="sdg_bench_"))
    param = work / "bench.json"
    param.write_text(json.dumps(data))
    figures: dict = {
        "file": str(args.file),
        "frames": args.frames,
        "render": data.get("render", {}),
        "annotators": sorted(data.get("annotators", {})),
        "writers": list(data.get("writers", {"basic": {}})),
        "cpu_count": os.cpu_count(),
        "gpus": args.gpus,
        "pipeline": [],
    }
    try:
        rounds = []
        for r in range(args.rounds):
            rows = []
            for k in procs_list(args):
                name = f"procs{k}" if args.rounds == 1 else f"procs{k}-round{r + 1}"
                gpus = f" per GPU of --gpus {args.gpus}" if args.gpus else ""
                print(
                    f"{PROGRESS_PREFIX}pipeline: {args.frames} frame(s), {k} render process(es){gpus}",
                    file=sys.stderr,
                    flush=True,
                )
                rows.append(run_pipeline(param, (args.keep or work) / name, k, args))
                note = idle_note(rows[-1], processes_asked(k, args.gpus), args.frames, args.chunk)
                if note:
                    rows[-1]["note"] = "; ".join(filter(None, [rows[-1].get("note"), note]))
                if rows[-1].get("note"):
                    print(f"bench: note: {rows[-1]['note']}", file=sys.stderr)
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            if not args.no_bare:
                print(f"{PROGRESS_PREFIX}bare render: {args.frames} frame(s)", file=sys.stderr, flush=True)
            bare = None if args.no_bare else run_bare(param, args, frames=args.frames)
            for row in rows if bare else ():
                row.update(ratios(row, bare))
            rounds.append((rows, bare))
        figures["pipeline"], bare = rounds[0]
        if bare:
            figures["bare"] = bare
        if args.rounds > 1:
            summarize_rounds(figures["pipeline"], rounds)
        if args.ceiling:
            frames = min(args.frames, CEILING_FRAMES)
            print(f"{PROGRESS_PREFIX}{ceiling_note(frames, bare)}", file=sys.stderr, flush=True)
            big = run_bare(param, args, resolution="1920x1080", samples=64, frames=frames)
            from sdg_addon.config.schema import config_from_dict

            render = config_from_dict(data, args.file.resolve()).render  # `resolution` or width / height
            per_frame = render.width * render.height * render.samples
            big["frames_per_s_at_bench_size"] = _r(big["samples_per_s"] / per_frame)
            figures["ceiling"] = big
    finally:
        # The runs' copy of the parameter file (each kept dataset holds it in audit/inputs),
        # and the datasets unless --keep put them elsewhere.
        shutil.rmtree(work, ignore_errors=True)
    return print_figures(figures, args.json)


if __name__ == "__main__":
    sys.exit(main())
