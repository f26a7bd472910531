"""Command line: validate a parameter file, render a dataset.

  python -m headless validate FILE [--out DIR] [--device D] [--no-scene]
  python -m headless merge FILE [--out DIR]          (after parallel shards)
  python -m headless render FILE [--out DIR] [--frames A:B] [--device D] [--resume]
                                 [--overwrite] [--shard I/N]
  python -m headless preview DIR [--frame N] [--sheet] [-n 16] [--camera C] [--out FILE.png]
  python -m headless report DIR [OTHER] [--out FOLDER]
Exit codes: 0 ok, 2 invalid input (every problem listed), 1 failure, 130 interrupted (143: SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from headless import early_signals
from headless.parallel import auto_procs_rule, say_from_signal_handler
from sdg_addon.console import blender_console_silenced
from sdg_addon.home import expand_home

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_WORKERS = 64
MAX_PROCS = 64  # render --procs, and --procs-per-gpu per GPU: each a Blender process of its own
SHEET = {"n": 16, "columns": 4, "thumb_width": 320}  # preview --sheet's defaults (-n, --columns, --thumb-width)
DEFAULT_CHUNK = 8  # render --chunk: frames handed to a render process of a parallel run at a time


# --worker-mode -> RunOptions.worker_processes ("threads": the old name of "inline").
WORKER_MODES = {"auto": None, "processes": True, "inline": False, "threads": False}
WORKER_MODE_HELP = (
    "processes: annotate/write in worker processes overlapped with the render (default on > 4 cores or a GPU); "
    "inline: in the main thread after each render (threads: old name of inline)"
)


def _folder(text: str) -> Path:
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a folder path (not empty)")
    return Path(text)


def _out_of(args, config) -> Path:
    """The output folder: --out, else the file's run.output; "~/ds" (quoted, or in the file) is
    the home folder's, as output.check_folder checks it."""
    if not args.out:
        _say_default_output(config)
    return expand_home(args.out or config.output)


def _say_default_output(config) -> None:
    """The output folder a file naming none gets, said where its name is not the file's
    (schema.default_output_note: aux.toml's out/_aux-HASH)."""
    from sdg_addon.config.schema import default_output_note

    note = default_output_note(config)
    if note:
        say(note)


def at_least_one(text: str) -> int:
    """argparse type: a whole number >= 1 (else a usage error naming the option and value)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: expected a whole number >= 1")
    return value


def _path(text: str) -> Path:
    return expand_home(text)  # "~/ds" quoted (a script's argument): the home folder's, as a shell gives it


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m headless",
        description="Synthetic data generator (Blender).",
        epilog="exit codes: 0 done, 1 failed (the run could not go on, or a folder could not be written), "
        "2 invalid input (nothing written: every problem listed, naming its file, field, value and what is "
        "expected), 130 interrupted by Ctrl-C and 143 by SIGTERM (finished frames kept: continue with --resume)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a parameter file; list every problem")
    v.add_argument("file", type=Path, help="the parameter file (.toml or .json; docs/parameters.md)")
    v.add_argument("--out", type=_folder, help="the output folder render will get (default: run.output of the file)")
    v.add_argument("--device", help="the render device render will get with --device (default: render.device)")
    v.add_argument(
        "--no-scene",
        action="store_true",
        help="check the file alone: do not build the scene (what only the built scene tells, "
        "and the render device, are then checked when render starts)",
    )
    r = sub.add_parser("render", help="render a dataset from a parameter file")
    r.add_argument("file", type=Path, help="the parameter file (.toml or .json; docs/parameters.md)")
    r.add_argument("--out", type=_folder, help="output folder (default: run.output of the file)")
    r.add_argument("--frames", help="frames to render: N (frame N only), START:STOP (stop excluded), :STOP, START:")
    r.add_argument("--device", help="auto, cpu, cuda, optix, hip, metal, oneapi (overrides render.device)")
    r.add_argument("--resume", action="store_true", help="continue a run in --out, skipping finished frames")
    r.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the files an earlier run of this tool recorded in --out (nothing else), start anew",
    )
    r.add_argument(
        "--shard",
        help="I/N: render only frames f with f %% N == I (for parallel runs); a sequence's shards take whole "
        "clips: clip c (frames c*K .. c*K+K-1) goes to shard c %% N",
    )
    r.add_argument(
        "--quiet", action="store_true", help="no progress lines; importers' output shown only if an import fails"
    )
    r.add_argument("--verbose", action="store_true", help="keep Blender's own console output (render logs)")
    r.add_argument(
        "--workers",
        type=int,
        help="annotate/write workers, 1 .. 64 (default: cores - 1, at least 2, at most 8; with several render processes their share of the cores)",
    )
    r.add_argument(
        "--time-parts",
        action="store_true",
        help="log each annotator's and writer's CPU seconds per frame (cpu_seconds_by_part in audit/frames*.jsonl)",
    )
    r.add_argument(
        "--worker-mode",
        choices=tuple(WORKER_MODES),
        default="auto",
        help=WORKER_MODE_HELP,
    )
    par = r.add_argument_group("several render processes (one dataset; see docs/scale.md)")
    par.add_argument(
        "--gpus", help="all, a count N (the first N GPUs) or indices like 0,1: processes pinned one GPU each"
    )
    par.add_argument(
        "--procs-per-gpu",
        help=f"render processes per GPU with --gpus (default auto: {auto_procs_rule()}: the measured best on an H200)",
    )
    par.add_argument(
        "--procs", type=int, help=f"N render processes without GPU pinning (the CPU, or one GPU), 1 .. {MAX_PROCS}"
    )
    par.add_argument("--chunk", type=int, help=f"frames handed to a process at a time (default {DEFAULT_CHUNK})")
    par.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run on a Ray cluster (ADDRESS of its head; none: a local Ray); needs requirements-ray.txt",
    )
    par.add_argument("--ray-workers", type=int, help="Ray actors (default: one per GPU of the cluster, else 2)")
    pv = sub.add_parser("preview", help="draw one frame (or a contact sheet) of an output folder as a PNG")
    pv.add_argument("dir", type=_path, help="output folder (BasicWriter layout)")
    pv.add_argument("--frame", type=int, help="frame number (default: the first)")
    pv.add_argument("--sheet", action="store_true", help="contact sheet of -n frames instead of one frame")
    pv.add_argument(
        "-n", type=at_least_one, help=f"frames on the contact sheet, spread over the dataset (default {SHEET['n']})"
    )
    pv.add_argument("--columns", type=at_least_one, help=f"contact sheet columns (default {SHEET['columns']})")
    pv.add_argument(
        "--thumb-width",
        type=at_least_one,
        help=f"contact sheet thumbnail width in pixels (default {SHEET['thumb_width']})",
    )
    pv.add_argument(
        "--camera",
        help="camera: its sub-folder, or its name in the parameter file (default: all for a frame, the first for a sheet)",
    )
    pv.add_argument("--mask", choices=("instance", "semantic", "none"), default="instance", help="mask overlay")
    pv.add_argument("--out", type=_path, help="PNG to write (default: DIR/preview/frame_NNNN.png or sheet.png)")
    rp = sub.add_parser("report", help="an HTML page with plots of what a dataset holds, or of two side by side")
    rp.add_argument("dir", type=_path, help="output folder (BasicWriter layout + audit/)")
    rp.add_argument("other", type=_path, nargs="?", help="a second output folder: compare the two")
    rp.add_argument("--out", type=_path, help="folder for the page (default: DIR/report or DIR/report/compare_OTHER)")
    m = sub.add_parser("merge", help="join the per-shard outputs of writers (e.g. one COCO json) in --out")
    m.add_argument("file", type=Path, help="the parameter file (.toml or .json) the shards ran")
    m.add_argument("--out", type=_folder, help="output folder (default: run.output of the file)")
    return p


def _load_or_report(path: Path):
    """The validated Config, or None after printing every problem to stderr."""
    from sdg_addon.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as e:
        report_problems(path, e)
        return None


def report_problems(path: Path, error, context: str = "") -> None:
    """Every problem of a parameter file, found by validation or in the built scene, on
    stderr under a header naming the file (`context`: what else applied, e.g. the
    benchmark's options)."""
    print(f"{len(error.problems)} problem(s) in {path}{context}:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)


def warning(text: str) -> None:
    """A warning of the run (Recorder's on_warning) on stderr, as render and validate say them."""
    print(f"WARNING: {text}", file=sys.stderr, flush=True)


def say(text: str) -> None:
    """A line on stdout; where its reader has gone (`render ... | head -1`, a log pipe that
    died), it and every later line go to the null device: what is printed is a report of
    the run, never a reason to stop it (the run was stopped as a failure of the output
    folder, "Broken pipe")."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            for fd in {sys.stdout.fileno(), 1}:  # Python's stdout (a copy of fd 1 while Blender's is silenced) and fd 1
                os.dup2(devnull, fd)
        except (OSError, ValueError):
            pass
        finally:
            os.close(devnull)


class ProgressLines:
    """A run's progress lines on stdout: the first frame's, then at most one a second (as a
    parallel run's parent prints them), and the last; none with --quiet. A line a frame
    flooded a long run's log (tens of lines a second on a GPU)."""

    INTERVAL_S = 1.0

    def __init__(self, quiet: bool = False, clock=None):
        import time

        self.quiet, self.clock = quiet, clock or time.monotonic
        self.last: float | None = None

    def __call__(self, progress) -> None:
        now = self.clock()
        due = self.last is None or now - self.last >= self.INTERVAL_S or progress.done >= progress.total
        if self.quiet or not due:
            return
        self.last = now
        say(progress.line())


terminated: list[int] = []  # SIGTERM received (exit 143 instead of 130)


@contextlib.contextmanager
def ctrl_c_cancels(recorder):
    """First Ctrl-C: finish the frames in flight, log them, stop (resumable). Second: stop now.

    Blender handles SIGINT during a render by cutting the render short, and Python's
    default KeyboardInterrupt may not surface; an explicit handler makes both defined.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum, frame):
        if recorder.cancel_requested:
            recorder.cancel(now=True)  # seen by the run even where Blender swallows the exception
            raise KeyboardInterrupt
        # Cancel first: a second Ctrl-C can interrupt the print below (handlers nest), and
        # must then find the run cancelled and stop it at once.
        recorder.cancel()
        say_from_signal_handler("\nCtrl-C: finishing the frames in flight (Ctrl-C again to stop at once)\n")

    def on_sigterm(signum, frame):
        # As a first Ctrl-C: the run ends after the frames in flight and its finally blocks
        # release the lock and the temp render folder. Raising here instead would not unwind:
        # the signal often lands inside Cycles' Python code, where Blender turns SystemExit
        # into an immediate exit (SIGKILL cannot be handled at all: the next run cleans up).
        terminated.append(signum)
        recorder.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    early_signals.replay(on_sigint, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


def _merge(args) -> int:
    """Run every writer's finalize() over what is on disk: after shards ran in parallel
    (each shard's own finalize saw only what existed when it ended)."""
    from sdg_addon.audit import AUDIT_DIR, finished_frames, parameter_sections, run_cameras, write_json
    from sdg_addon.frame import LabelTable
    from sdg_addon.output import OutputError, OutputFolder, recorded_link_out, remove_stale_temporaries
    from sdg_addon.writers import create_writer
    from sdg_addon.writers.base import removed_parts
    from sdg_addon.writers.paths import UnsafePathError

    config = _load_or_report(args.file)
    if config is None:
        return EXIT_INVALID
    out = _out_of(args, config)
    done = finished_frames(out / AUDIT_DIR) if (out / AUDIT_DIR).is_dir() else {}
    if not done:
        print(f"error: {out} holds no finished frames (no audit/frames*.jsonl)", file=sys.stderr)
        return EXIT_INVALID
    _take_recorded_device(config, out / AUDIT_DIR)
    if config.base.blend and not config.base.scene:  # the .blend's scene, as the shards recorded it
        from sdg_addon.scene.base import fill_scene_name

        fill_scene_name(config)
    mixed = _other_parameters(out / AUDIT_DIR, parameter_sections(config.resolved()))
    if mixed:
        print(
            f"error: cannot merge {out}: parts of it were rendered from other parameters than {args.file}:",
            file=sys.stderr,
        )
        for line in mixed:
            print(f"  {line}", file=sys.stderr)
        print(
            "  merge only the shards rendered from one parameter file (those named were not rendered from this one)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    table = LabelTable(json.loads((out / AUDIT_DIR / "label_table.json").read_text()))
    cameras = run_cameras(out / AUDIT_DIR, config)
    lost = removed_parts(config, out, done, cameras)
    if lost:
        print(f"error: cannot merge {out}:\n" + "\n".join(lost), file=sys.stderr)
        return EXIT_INVALID
    linked_out = recorded_link_out(out)  # the writers' joined files would go through it
    if linked_out:
        print(f"error: cannot merge {out}: {linked_out}", file=sys.stderr)
        return EXIT_INVALID
    folder = OutputFolder(out)
    try:
        folder.open()  # locked and recorded like a run: --overwrite later removes what merge wrote
        remove_stale_temporaries(out)  # the shards have ended: a killed one's temporary files go
        for name, options in config.writers.items():
            writer = create_writer(name, out, **options)
            writer.set_run(table, writer.several_sensors(len(cameras), len(config.lidars)))
            writer.progress = say  # a large dataset's join takes a while: say how far it is
            writer.finalize()
        manifest, unmet = _merged_manifest(config, out / AUDIT_DIR, done, cameras)
        unfinished = _unfinished_frames(out, done, config.sequence.clip_length)
        if unfinished:  # the whole dataset's manifest says it is not whole yet
            manifest["warnings"] = [unfinished, *manifest["warnings"]]
        mixed_versions = [w for w in _mixed_versions(out) if w not in manifest["warnings"]]
        manifest["warnings"] = mixed_versions + manifest["warnings"]
        if any((out / AUDIT_DIR).glob("manifest.shard*.json")):  # a whole run's own manifest is kept
            write_json(out / AUDIT_DIR / "manifest.json", manifest)
    except (OutputError, UnsafePathError) as e:  # UnsafePathError: a user's file where merge writes, kept
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as e:  # read-only storage, a full disk: one line, as a run says it
        return _cannot_write(e, out)
    finally:
        folder.close()
    for text in ([unfinished] if unfinished else []) + mixed_versions + unmet:
        print(f"WARNING: {text}", file=sys.stderr)
    say(f"merged {len(done)} finished frame(s) in {out} for writers {', '.join(config.writers)}")
    return EXIT_OK


def _unfinished_frames(out: Path, done: dict[int, dict], clip: int) -> str | None:
    """What merge says of the frames the runs in `out` were asked for (each one's
    audit/environment*.json records its range and shard) that are not finished: a shard
    stopped, or still to run (merge joins what is finished; the whole dataset is not)."""
    from sdg_addon.audit import AUDIT_DIR

    asked, ran = set(), {}  # ran: N -> {index of a shard of N that ran here: the frames it was asked for}
    for env in sorted((out / AUDIT_DIR).glob("environment*.json")):
        try:
            record = json.loads(env.read_text())
            start, stop = (int(x) for x in record["frames"])
            shard = record.get("shard")
            if shard:
                ran.setdefault(int(shard[1]), {}).setdefault(int(shard[0]), set()).update(range(start, stop))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        asked.update(range(start, stop))
    missing = sorted(asked - set(done))
    if not missing:
        return None
    shown = ", ".join(str(f) for f in missing[:10]) + (", ..." if len(missing) > 10 else "")
    whose = []
    left_out = False  # frames of a shard that ran here with a --frames leaving them out
    for n, shards in sorted(ran.items()):
        for i in range(n):
            mine = [f for f in missing if (f // clip) % n == i]
            if i not in shards:
                if mine:
                    whose.append(f"shard {i}/{n}: {len(mine)}, not run here")
                continue
            outside = sum(1 for f in mine if f not in shards[i])
            if len(mine) > outside:
                whose.append(f"shard {i}/{n}: {len(mine) - outside}, stopped before it finished, or still running")
            if outside:
                whose.append(f"shard {i}/{n}: {outside}, outside the --frames it ran with")
                left_out = True
    return (
        f"{len(missing)} of the {len(asked)} frame(s) asked for are not finished in {out}: {shown}"
        + (f" ({'; '.join(whose)})" if whose else "")
        + "; merge joined the finished ones: render the rest (a stopped shard: its command plus --resume"
        + (
            "; frames outside a shard's --frames: that shard with --frames naming them, plus --resume"
            if left_out
            else ""
        )
        + "), then merge again"
    )


def _mixed_versions(out: Path) -> list[str]:
    """What merge says of parts rendered by different versions (each part's
    audit/environment*.json records them; a --resume across two says so itself): another
    sampling version draws other scenes from the same seed, another Blender renders other
    images."""
    from sdg_addon.audit import AUDIT_DIR

    drawn: dict = {}  # version -> the records naming it
    blender: dict = {}
    for env in sorted((out / AUDIT_DIR).glob("environment*.json")):
        try:
            record = json.loads(env.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            drawn.setdefault(record.get("draws_version"), []).append(f"audit/{env.name}")
            blender.setdefault(record.get("blender"), []).append(f"audit/{env.name}")
    said = []
    if len(drawn) > 1:
        each = "; ".join(
            f"{'sampling version ' + str(v) if v is not None else 'a version that recorded none'}: {', '.join(names)}"
            for v, names in drawn.items()
        )
        said.append(
            f"the parts of {out} were drawn by different versions of the sampling code ({each}): the same seed "
            "draws other scenes under each, so no one run makes this dataset (render the parts of one version "
            "again with the other, for one version throughout)"
        )
    if len(blender) > 1:
        each = "; ".join(f"Blender {v}: {', '.join(names)}" for v, names in blender.items())
        said.append(f"the parts of {out} were rendered with different Blenders ({each}): their images can differ")
    return said


def _take_recorded_device(config, audit_dir: Path) -> None:
    """The render device the dataset records (`render --device` overrides render.device, and
    merge has no --device): a command-line choice, not other parameters; shards rendered on
    another device than the recorded one still differ in `render`."""
    from sdg_addon.config.schema import DEVICES

    try:
        device = json.loads((audit_dir / "resolved.json").read_text())["render"]["device"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if isinstance(device, str) and device in DEVICES:
        config.render.device = device


def _merged_manifest(config, audit_dir: Path, done: dict[int, dict], cameras: list) -> tuple[dict, list[str]]:
    """audit/manifest.json of the joined dataset (shards in one folder, or copied together):
    frames and corner cases counted over every part's frame log (each part's manifest counts
    only what was logged when it ended), the parts' warnings each once (less their partial
    case counts), and each part's frames and seconds; and the warnings of the cases the
    joined count leaves unmet. The keys of a single run's manifest are there too, joined over
    the parts as audit.combined adds them up (seconds per stage, peak memory)."""
    from sdg_addon.audit import combined
    from sdg_addon.sampling.cases import assign_frames, case_report, case_warnings

    parts, warnings, wholes = {}, [], []
    for path in sorted(audit_dir.glob("manifest*.json")):
        if path.name == "manifest.json":
            continue  # an earlier merge's (or a whole run's): made again from the parts
        try:
            part = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(part, dict):
            continue
        written = part.get("frames_written_this_run")
        parts[path.name] = {"frames_written": len(written) if isinstance(written, list) else written}
        parts[path.name]["seconds_total"] = part.get("seconds_total")
        parts[path.name]["peak_memory_mb"] = part.get("peak_memory_mb")
        wholes.append(part)
        partial = set(case_warnings(part["cases"])) if isinstance(part.get("cases"), dict) else set()
        warnings += [w for w in part.get("warnings") or [] if w not in partial and w not in warnings]
    manifest = {"mode": "merge", "parts": parts, "frames_finished_total": len(done)}
    # The frames the parts' (last) runs were asked for, wrote and found done, joined.
    requests = [w["frames_requested"] for w in wholes if "frames_requested" in w]
    manifest["frames_requested"] = requests[0] if requests and all(r == requests[0] for r in requests) else requests
    for key in ("frames_written_this_run", "frames_skipped_as_done"):
        manifest[key] = sorted({f for w in wholes if isinstance(w.get(key), list) for f in w[key]})
    seconds = [p["seconds_total"] for p in parts.values() if isinstance(p["seconds_total"], (int, float))]
    manifest["seconds_total"] = round(sum(seconds), 3)  # the parts' (last) runs, added
    manifest.update(combined(wholes), writers=list(config.writers))
    manifest.setdefault("cameras", cameras)
    unmet = []
    if config.cases:
        manifest["cases"] = case_report(config.cases, assign_frames(config.seed, config.frames, config.cases), done)
        unmet = case_warnings(manifest["cases"])
    manifest["warnings"] = warnings + [w for w in unmet if w not in warnings]
    return manifest, unmet


def _other_parameters(audit_dir: Path, mine: dict[str, str]) -> list[str]:
    """What in a dataset's audit/ was rendered from other parameters than `mine` (sections of
    audit.parameter_sections): resolved.json, and each shard's or process's environment file
    (shards rendered into separate folders, then copied together, share one resolved.json)."""
    from sdg_addon.audit import differing_sections, parameter_sections

    found = []
    records = []
    try:
        records.append(
            ("audit/resolved.json", parameter_sections(json.loads((audit_dir / "resolved.json").read_text())))
        )
    except (OSError, ValueError, AttributeError):
        pass  # none: only the shards' own records
    for env in sorted(audit_dir.glob("environment*.json")):
        try:
            theirs = json.loads(env.read_text()).get("parameters")
        except (OSError, ValueError, AttributeError):
            theirs = None
        if isinstance(theirs, dict):  # older datasets do not record it
            records.append((f"audit/{env.name}", theirs))
    for name, theirs in records:
        differ = differing_sections(mine, theirs)
        if differ:
            found.append(f"{name}: differs in {', '.join(differ)}")
    return found


def _validate(path: Path, out: Path | None = None, device: str | None = None, scene: bool = True) -> int:
    """What render refuses before it writes anything, said as render says it (exit 2), and
    'FILE: OK' only where render would start: the file, the output folder as the disk is,
    then (unless `scene` is False: --no-scene) the render device and the scene, built as
    the run builds it, writing nothing. What depends on --resume / --overwrite (an earlier
    run in the folder) is render's to say."""
    from sdg_addon.config import ConfigError
    from sdg_addon.config.problems import Problem
    from sdg_addon.output import refused_location, unusable_location

    config = _load_or_report(path)
    if config is None:
        return EXIT_INVALID
    if device is not None:
        device = _device_option(device)
        if device is None:
            return EXIT_INVALID
    # A folder render always refuses is a problem of the file (run.output), or of --out.
    refused = refused_location(str(out if out is not None else config.output))
    if refused is not None:
        field = "--out" if out is not None else "run.output"
        value = str(out) if out is not None else config.output
        expected = f"a folder of the dataset's own, not {refused}"
        if out is None:
            expected += " (or render with --out)"
        report_problems(path, ConfigError([Problem(str(path), field, value, expected)]))
        return EXIT_INVALID
    unusable = unusable_location(str(out if out is not None else config.output), writable=True)
    if unusable is not None:  # render would refuse it as the disk is now
        field = "--out" if out is not None else "run.output"
        value = str(out) if out is not None else config.output
        report_problems(path, ConfigError([Problem(str(path), field, value, f"a folder render can make ({unusable})")]))
        return EXIT_INVALID
    from sdg_addon.config.schema import output_read_back

    read_back = output_read_back(config, expand_home(out if out is not None else config.output))
    if read_back:  # render refuses it: the run would read its own images
        report_problems(path, ConfigError(read_back))
        return EXIT_INVALID
    if out is None:
        _say_default_output(config)
    if not scene:
        _say_file_notes(config)
        say(f"{path}: OK (the scene was not built: --no-scene)")
        return EXIT_OK
    with _signals_noted() as noted:  # Blender loads and builds the scene: stopped after, as a run is
        try:
            import bpy  # noqa: F401
        except ImportError:  # render needs it too: the file alone is all this Python can check
            _say_file_notes(config)
            say(f"{path}: OK (the scene was not built: this Python has no bpy, which render needs)")
            return EXIT_OK
        code = _check_scene(path, config, expand_home(out if out is not None else config.output), device)
    if noted:
        print(
            "\ninterrupted: validate stopped once the scene was built (it writes nothing); run it again",
            file=sys.stderr,
        )
        return 128 + noted[0]
    if code != EXIT_OK:
        return code
    say(f"{path}: OK")
    return EXIT_OK


def _say_file_notes(config) -> None:
    """The warnings of the parameter file alone (recorder.file_notes), as render says them,
    where validate builds no scene (which says them with the scene's own)."""
    from sdg_addon.recorder import annotator_plan, file_notes

    for note in file_notes(annotator_plan(config), config):
        warning(note)


@contextlib.contextmanager
def _signals_noted():
    """Ctrl-C and SIGTERM only noted while the block runs (yields the list of them): a
    KeyboardInterrupt raised while bpy loads its add-ons crashed the process (exit 139 after
    their tracebacks), and one inside Blender's operators may leave it half done; a run
    likewise stops only once its scene is built. The handlers before are given back."""
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, lambda received, _frame: noted.append(received))
    try:
        yield noted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _check_scene(path: Path, config, out: Path, device: str | None) -> int:
    """The render device and the scene, checked as render checks them before it writes
    anything (Recorder.build_and_check_scene): every problem said in render's words, exit
    2; its warnings as render shows them. Nothing is written."""
    from sdg_addon.capture.device import DeviceError, RenderError
    from sdg_addon.config import ConfigError
    from sdg_addon.recorder import Recorder, RecorderError, RunOptions

    options = RunOptions(out, range(config.frames), device=device, device_from="--device", quiet=True)
    recorder = Recorder(config, options, on_warning=warning)
    try:
        with blender_console_silenced():
            _built, targets, _plan = recorder.build_and_check_scene()
    except ConfigError as e:  # a value of the file the built scene refuses (an asset, a name, a path)
        report_problems(path, e)
        return EXIT_INVALID
    except (RecorderError, ValueError, DeviceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID
    except RenderError as e:  # no folder takes the renders' passes files: render fails so (exit 1)
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    for line in recorder.label_targets_chosen(targets):  # what labels chose, not seen in the file
        say(line)
    return EXIT_OK


def _device_option(text: str) -> str | None:
    """--device's value in lower case (one device in any case, as render.device), or None
    after saying what it expects."""
    from sdg_addon.config.schema import DEVICES

    if text.lower() not in DEVICES:
        print(f"error: --device {text!r}: expected one of {list(DEVICES)}", file=sys.stderr)
        return None
    return text.lower()


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if n < 1:
        raise ValueError(f"--shard {text!r}: expected I/N with N >= 1 shards")
    if not 0 <= i < n:
        raise ValueError(f"--shard {text!r}: expected I/N with 0 <= I < N (shards count from 0: 0/{n} .. {n - 1}/{n})")
    return i, n


def _empty_shard_note(recorder, out: Path) -> str | None:
    """The line an empty shard says (more shards than frames is legitimate across machines):
    it renders nothing and writes nothing, not even an empty manifest that reads as done."""
    if not recorder.options.shard or recorder.my_frames():
        return None
    (i, n), frames, k = recorder.options.shard, recorder.options.frames, recorder.clip_length
    rule = f"frame f goes to shard f % {n}" if k == 1 else f"clip c of {k} frames goes to shard c % {n}"
    return (
        f"shard {i}/{n} gets none of the {len(frames)} frame(s) {frames.start}:{frames.stop} ({rule}): "
        f"nothing to do, nothing written to {out}"
    )


def _render(args) -> int:
    from sdg_addon.capture.device import DeviceError, RenderError
    from sdg_addon.config import ConfigError
    from sdg_addon.progress import format_seconds
    from sdg_addon.recorder import DiskError, Recorder, RecorderError, RunOptions, disk_error, parse_frames
    from sdg_addon.sink import SinkError

    config = _load_or_report(args.file)
    if config is None:
        return EXIT_INVALID
    try:
        frames = parse_frames(args.frames, config.frames) if args.frames else range(config.frames)
        shard = _parse_shard(args.shard)
        if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
            raise ValueError(f"--workers {args.workers}: expected 1 .. {MAX_WORKERS}")
        if args.resume and args.overwrite:
            raise ValueError("--resume and --overwrite: give one of the two")
        if args.procs_per_gpu is not None and not args.gpus:
            raise ValueError(
                f"--procs-per-gpu {args.procs_per_gpu}: render processes per GPU of --gpus, which is not given "
                "(N processes on the CPU or one GPU: --procs N)"
            )
        if args.ray_workers is not None and args.ray is None:
            raise ValueError(f"--ray-workers {args.ray_workers}: Ray actors of --ray, which is not given")
        if args.chunk is not None and not (args.gpus or args.procs is not None or args.ray is not None):
            raise ValueError(
                f"--chunk {args.chunk}: frames handed to each render process of --gpus, --procs or --ray, "
                "none of which is given"
            )
        if args.ray_workers is not None and args.ray_workers < 1:
            raise ValueError(f"--ray-workers {args.ray_workers}: expected >= 1")
        if args.ray is not None and (args.gpus or args.procs is not None):
            raise ValueError(
                "--ray and --gpus/--procs are separate ways to split a run; pick one "
                "(under Ray, --ray-workers N actors, one GPU each where the cluster has GPUs)"
            )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID
    if args.device is not None:
        args.device = _device_option(args.device)
        if args.device is None:
            return EXIT_INVALID
    out = _out_of(args, config)
    from sdg_addon.config.schema import output_read_back

    read_back = output_read_back(config, out)
    if read_back:  # before anything is written (--overwrite would delete files the run reads)
        report_problems(args.file, ConfigError(read_back))
        return EXIT_INVALID
    if early_signals.received:  # Ctrl-C or SIGTERM while this process loaded: nothing written yet
        print("interrupted before the run started: nothing written", file=sys.stderr)
        return 128 + early_signals.received[0]
    if args.ray is not None:
        early_signals.release()  # the Ray driver stops on Python's own KeyboardInterrupt (ray.init too)
    if args.gpus or args.procs is not None or args.ray is not None:
        try:
            return _render_parallel(args, config, frames, out)
        except OSError as e:  # read-only storage, a full disk: one line, as a single process says it
            print(f"error: {disk_error(e, out)}", file=sys.stderr)
            return EXIT_FAILED
    options = RunOptions(out, frames, args.resume, args.overwrite, args.device, shard, device_from="--device")
    options.worker_processes = WORKER_MODES[args.worker_mode]
    options.time_parts, options.quiet = args.time_parts, args.quiet
    if args.workers:
        options.write_workers = args.workers

    recorder = Recorder(config, options, ProgressLines(args.quiet), warning, on_message=None if args.quiet else say)
    empty = _empty_shard_note(recorder, out)
    if empty:
        say(empty)
        return EXIT_OK
    try:
        with contextlib.nullcontext() if args.verbose else blender_console_silenced(), ctrl_c_cancels(recorder):
            result = recorder.run()
    except ConfigError as e:  # a value of the file the built scene refuses (an asset, a name, a path)
        report_problems(args.file, e)
        return EXIT_INVALID
    except (RecorderError, ValueError, DeviceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID
    except (DiskError, OSError) as e:
        print(f"error: {e if isinstance(e, DiskError) else disk_error(e, out)}", file=sys.stderr)
        return EXIT_FAILED
    except (SinkError, RenderError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        result = None
    if recorder.complete:
        say(f"complete: all {len(result.frames_skipped)} frame(s) are finished in {out}; nothing to do")
        return EXIT_OK
    if terminated and (result is None or recorder.cancelled):
        print(f"\nterminated: finished frames are kept in {out}; continue with --resume", file=sys.stderr)
        return 128 + terminated[0]
    if result is None or recorder.cancelled:
        print(
            f"\ninterrupted: finished frames are kept in {out}; continue with the same command plus --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in result.stage_seconds.items())
    say(
        f"done: {len(result.frames_written)} frame(s) written, {len(result.frames_skipped)} already done, "
        f"in {format_seconds(result.seconds)} on {result.device.get('type')} -> {out} ({stages})"
    )
    return EXIT_OK


def _render_parallel(args, config, frames: range, out: Path) -> int:
    """--gpus / --procs / --ray: several long-lived render processes, one dataset."""
    import time

    from headless import parallel
    from sdg_addon.recorder import Recorder, RecorderError, RunOptions
    from sdg_addon.writers import create_writer

    if args.shard:
        print("error: --shard and --gpus/--procs/--ray are separate ways to split a run; pick one", file=sys.stderr)
        return EXIT_INVALID
    if args.chunk is None:
        args.chunk = DEFAULT_CHUNK
    if args.chunk < 1:
        print(f"error: --chunk {args.chunk}: expected >= 1", file=sys.stderr)
        return EXIT_INVALID
    try:
        device = (args.device or config.render.device).lower()
        gpus = None if args.ray is not None else _process_gpus(args, config.render.samples, device)
        if args.ray is not None:
            from headless import ray_backend

            ray_backend.import_ray()  # a clear message (how to install it) before anything is written
    except parallel.ParallelError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID
    # The output folder is checked and prepared once, here (--overwrite, --resume); the
    # render processes then only add frames (they run as --resume, each with its own lock).
    from sdg_addon import output

    options = RunOptions(out, frames, args.resume, args.overwrite, args.device)
    recorder = Recorder(config, options)
    try:
        recorder.check_clip_range()
        for name, w in config.writers.items():
            create_writer(name, out, **w)
        output.check_folder(out)
        done = recorder.check_previous()  # refused before anything is written, the folder included
    except (RecorderError, output.OutputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID
    if recorder.is_complete(done):  # --resume of a finished dataset: nothing written, not even a lock
        say(f"complete: all {len(recorder.my_frames())} frame(s) are finished in {out}; nothing to do")
        return EXIT_OK
    joined_ray = False
    if args.ray is not None:
        try:
            joined_ray = ray_backend.connect(args.ray)  # a wrong address: refused before anything is written
        except parallel.ParallelError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_INVALID
    try:
        # The whole folder's lock, held until the end (the render processes are let in by it):
        # no other run starts in the folder meanwhile, and one that ended since the look above
        # is seen by the look under the lock.
        folder = output.OutputFolder(out)
        refused = False  # the render processes refused the scene (exit 2): nothing of the run stays
        try:
            folder.open()
        except output.OutputError as e:
            print(f"error: {e}", file=sys.stderr)
            return EXIT_INVALID
        try:
            try:
                done = recorder.check_previous()
                if args.overwrite:
                    output.remove_written(out, config.files)
            except (RecorderError, output.OutputError) as e:
                print(f"error: {e}", file=sys.stderr)
                return EXIT_INVALID
            todo = recorder.frames_to_render(done)
            # Finished frames of a clip rendered again (whole) are logged once, by the new
            # rendering: forgotten when the first frames go out to the render processes or Ray
            # actors (before any appends to a log; a scene they refuse leaves the log as it was).
            again = set(todo) & set(done)
            done = {f: rec for f, rec in done.items() if f not in again}  # skipped as done: not rendered again
            t0 = time.perf_counter()
            try:
                if not todo:  # everything finished already (--resume): no process to start
                    code, summary = 0, {"mode": "ray" if args.ray is not None else "processes"}
                    gpus = []  # none started: the summary line names none
                elif args.ray is not None:
                    code, summary = ray_backend.render(
                        args, todo, out, recorder.clip_length, folder.lock.holder, forget=again
                    )
                else:
                    # No more processes than chunks of frames: the others would get none.
                    gpus = parallel.spread(gpus, len(parallel.chunks(todo, args.chunk, recorder.clip_length)))
                    po = parallel.ParallelOptions(args.file, out, todo, gpus, chunk=args.chunk, device=args.device)
                    po.workers, po.worker_mode = args.workers, args.worker_mode
                    po.quiet, po.verbose, po.time_parts = args.quiet, args.verbose, args.time_parts
                    po.clip, po.run_holder, po.forget = recorder.clip_length, folder.lock.holder, again
                    if po.workers is None:  # share the cores between the processes' writer pools
                        po.workers = max(1, min(8, (os.cpu_count() or 2) // len(gpus) - 1))
                    run = parallel.ParallelRun(po)
                    code = run.run()
                    summary = {"mode": "processes", "gpus": gpus, "retried_frames": run.retried_frames}
                    summary["warnings"] = run.warnings  # the render processes', each once
            except parallel.ParallelError as e:
                print(f"error: {e}", file=sys.stderr)
                refused = e.invalid
                if not e.invalid:  # as a single process's: what it finished, and why it failed
                    _write_failed_manifest(
                        out, [frames.start, frames.stop], todo, e, "ray" if args.ray is not None else "processes"
                    )
                return EXIT_INVALID if e.invalid else 1
            summary.update(frames_requested=[frames.start, frames.stop], frames_skipped_as_done=sorted(done))
            summary.update(seconds_total=round(time.perf_counter() - t0, 3), interrupted=code != 0)
            output.remove_stale_temporaries(out)  # every process has ended: a killed one's temporary files go
            # The merged outputs are the run's files.
            try:
                with _second_ctrl_c_stops("the writers are joining their files"):
                    parallel.finish(
                        config, out, summary, todo, folder.lock.holder, progress=None if args.quiet else say
                    )
            except KeyboardInterrupt:  # as a single process's second Ctrl-C in its writers' join
                print(
                    f"\ninterrupted while the writers joined their files: every frame is kept in {out}; "
                    "continue with the same command plus --resume (it joins them again)",
                    file=sys.stderr,
                )
                return EXIT_INTERRUPTED
        finally:
            folder.close()
            if refused:
                folder.remove_if_unused()
        if code != 0:
            print(
                f"\ninterrupted: finished frames are kept in {out}; continue with the same command plus --resume",
                file=sys.stderr,
            )
            return code if code > 128 else EXIT_INTERRUPTED  # 143 after SIGTERM
        # The summary line, as a single process prints it (--quiet drops progress lines only).
        from sdg_addon.progress import format_seconds

        processes = summary.get("actors") or len(gpus or [])
        kind = ("Ray actor", "s") if args.ray is not None else ("render process", "es")
        how = f" with {processes} {kind[0]}{kind[1] if processes != 1 else ''}" if processes else ""
        stages = summary.get("seconds_per_stage") or {}
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in stages.items() if v or k != "read")
        say(
            f"done: {len(todo)} frame(s) written, {len(done)} already done, in "
            f"{format_seconds(summary.get('seconds_total', 0.0))}{how} -> {out}"
            + (f" (process-seconds: {stages})" if stages else "")
        )
        return EXIT_OK
    finally:
        if joined_ray:
            ray_backend.disconnect()


@contextlib.contextmanager
def _second_ctrl_c_stops(doing: str):
    """While the block runs (in the main thread), a first Ctrl-C is said and the block goes
    on, a second raises KeyboardInterrupt: as in a single process's run (before: a parallel
    run's parent only noted Ctrl-C while its writers joined their files, early_signals' note
    after the render processes' handler, and ran the join to its end, exit 0)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []

    def on_sigint(signum, frame):
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)
        say_from_signal_handler(f"\nCtrl-C: {doing} (Ctrl-C again to stop at once)\n")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _write_failed_manifest(out: Path, requested: list[int], todo: list[int], error: Exception, mode: str) -> None:
    """A failed parallel run's audit/manifest.json, as a single process writes one: the frames
    it finished and why it failed (where the disk allows)."""
    from sdg_addon import audit

    try:
        finished = audit.finished_frames(out / audit.AUDIT_DIR)
        audit.write_json(
            out / audit.AUDIT_DIR / "manifest.json",
            {
                "mode": mode,
                "frames_requested": requested,
                "frames_written_this_run": sorted(f for f in todo if f in finished),
                "frames_finished_total": len(finished),
                "failed": f"{type(error).__name__}: {error}",
            },
        )
    except OSError:
        pass


@contextlib.contextmanager
def _output_folder(out: Path):
    """The whole run's lock and write record, held by the parent of parallel processes
    while it alone writes (before they start, after they end)."""
    from sdg_addon import output

    folder = output.OutputFolder(out)
    folder.open()
    try:
        yield folder
    finally:
        folder.close()


def _process_gpus(args, samples: int, device: str = "auto") -> list:
    """One entry per render process: its GPU index, or None (not pinned). `device`: the
    render device (--device, else render.device)."""
    from headless import parallel

    if args.procs is not None:
        if not 1 <= args.procs <= MAX_PROCS:
            raise parallel.ParallelError(f"--procs {args.procs}: expected 1 .. {MAX_PROCS}")
        if args.gpus:
            raise parallel.ParallelError("--procs and --gpus: pick one (--gpus with --procs-per-gpu K)")
        return [None] * args.procs
    k = args.procs_per_gpu or "auto"
    if k != "auto" and (not str(k).isdigit() or not 1 <= int(k) <= MAX_PROCS):
        raise parallel.ParallelError(f"--procs-per-gpu {k!r}: expected auto or a whole number 1 .. {MAX_PROCS}")
    gpus = parallel.parse_gpus(args.gpus)
    if device == "cpu":
        raise parallel.ParallelError(
            f"--gpus {args.gpus}: pins each render process to a GPU, but the render device is cpu "
            "(--device or render.device); use --procs N for processes on the CPU"
        )
    if k == "auto":
        k = parallel.auto_procs_per_gpu(samples, (os.cpu_count() or 2) // max(1, len(gpus)))
    return [g for g in gpus for _ in range(int(k))]


def _preview(args) -> int:
    from sdg_addon import visualize

    given = [(o, v) for o, v in (("-n", args.n), ("--columns", args.columns), ("--thumb-width", args.thumb_width)) if v]
    if args.sheet and args.frame is not None:
        print(
            f"error: --frame {args.frame}: the panel of one frame; --sheet draws -n frames: give one of the two",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if given and not args.sheet:
        option, value = given[0]
        print(
            f"error: {option} {value}: an option of the contact sheet, which --sheet asks for and is not given",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        if args.camera:  # its folder, or its name as the parameter file gives it ("linke Kamera")
            args.camera = visualize.camera_folder(args.dir, args.camera)
        if args.sheet:
            sheet = {k: getattr(args, k) or default for k, default in SHEET.items()}
            image = visualize.contact_sheet(args.dir, camera=args.camera, mask=args.mask, **sheet)
            out = args.out or visualize.default_output(args.dir, sheet=True, camera=args.camera)
        else:
            frame = args.frame if args.frame is not None else visualize.frames(args.dir, args.camera)[0]
            image = visualize.frame_panel(args.dir, frame, camera=args.camera, mask=args.mask)
            out = args.out or visualize.default_output(args.dir, frame, camera=args.camera)
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return EXIT_INVALID
    try:
        with _recorded_if_inside(Path(args.dir), Path(out)):
            visualize.save_png(image, out)
    except ValueError as e:  # a file there that is not an earlier preview of this tool
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as e:  # read-only storage (a dataset's own folder, the default), a full disk
        return _cannot_write(e, Path(out).parent)
    say(str(out))
    return EXIT_OK


@contextlib.contextmanager
def _recorded_if_inside(folder: Path, out: Path):
    """A file written into a dataset of this tool (`folder` or the dataset it lies in: a
    clip's folder) is recorded there as the tool's, as a run's files are: `--overwrite`
    removes it. Inside or outside a dataset only a new .png, or an earlier preview of this
    tool, is written: never a user's file, nor a frame's image the run wrote."""
    from sdg_addon import output, visualize

    if Path(out).suffix.lower() != ".png":
        raise ValueError(f"--out {out}: expected a .png file name")
    # Its folder as render's --out is checked: a URL (gs://b/p.png), a Windows drive on Linux
    # or macOS (D:/p.png) or ~user of no user here would be a folder of that name in the
    # working folder, as report --out refuses too.
    folder_text = os.path.dirname(str(out))
    problem = output.unusable_location(folder_text) if folder_text else None
    if problem is not None:
        raise ValueError(f"--out {out}: {problem}")
    above = next((p for p in Path(out).parents if os.path.lexists(p)), None)
    if above is not None and not above.is_dir():  # the user's input, not a failure of the disk
        raise ValueError(f"--out {out}: {above} is a file, not a folder")
    dataset = output.dataset_root(folder)
    inside = dataset is not None and output.inside_dataset(dataset, out)
    refused = output.audit_refusal(dataset, out) or output.frames_refusal(out, Path(out).parent) if inside else None
    if refused:
        raise ValueError(refused)
    # Inside a dataset too: a frame's own PNG (rgb_0000.png, coco/train/000000.png) is the
    # tool's file, but not a preview; replacing it would destroy the frame.
    if os.path.lexists(out) and not visualize.is_preview(out):
        raise ValueError(f"{out} is there already and is not a preview of this tool; give a new --out")
    if inside:
        output.activate(dataset)
    try:
        yield
    finally:
        if inside:
            output.deactivate(dataset)


def _report(args) -> int:
    from sdg_addon import report

    try:
        if args.other is not None:
            page = report.write_comparison(args.dir, args.other, args.out)
        else:
            page = report.write_report(args.dir, args.out)
    except (FileNotFoundError, KeyError, ValueError) as e:
        print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as e:  # read-only storage (a dataset's own folder, the default), a full disk
        return _cannot_write(e, Path(args.out) if args.out else Path(args.dir) / "report")
    say(str(page))
    return EXIT_OK


def _cannot_write(e: OSError, folder: Path) -> int:
    """One line naming the folder and the cause (no traceback); exit 1."""
    from sdg_addon.recorder import disk_error

    print(f"error: {disk_error(e, folder)}", file=sys.stderr)
    return EXIT_FAILED


def exit_with(code: int):
    """sys.exit(code) for the entry points, after freeing a fluid simulation the session holds:
    freed during Python's own shutdown, Mantaflow's data aborts the process (exit 139)."""
    if "bpy" in sys.modules:
        from sdg_addon.scene.caches import free_simulations_before_exit

        free_simulations_before_exit()
    sys.exit(code)


def _has_pillow() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def _joined_shard_values(argv: list[str]) -> list[str]:
    """`--shard -1/2` as `--shard=-1/2`: argparse takes a value starting with '-' for an
    option and said only "expected one argument"; joined, _parse_shard says what a shard is."""
    out, k = [], 0
    while k < len(argv):
        if argv[k] == "--shard" and k + 1 < len(argv) and argv[k + 1][:1] == "-" and "/" in argv[k + 1]:
            out.append(f"--shard={argv[k + 1]}")
            k += 2
            continue
        out.append(argv[k])
        k += 1
    return out


def main(argv: list[str] | None = None) -> int:
    # A path or name the output's encoding lacks (Windows writes a redirected stdout in its
    # code page: D:/データ/out) is printed escaped, as Python's stderr does, not raised as a
    # UnicodeEncodeError once the run is done (exit 1, a traceback).
    # OSError: a stdout whose descriptor was moved under it (a pipe dup2'd over /dev/null,
    # as bench_sink's stdout_to_stderr does) cannot tell() its place: keep it as it is.
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stdout.reconfigure(errors="backslashreplace")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(_joined_shard_values(sys.argv[1:] if argv is None else argv))
    try:
        return _command(args)
    except UnicodeEncodeError as e:  # a name no file name of this system can hold (its locale's encoding)
        from sdg_addon.sampling.appearance import file_names_not_utf8

        not_utf8 = file_names_not_utf8()
        if not_utf8 is None or not isinstance(e.object, str):
            raise
        print(
            f"error: {e.object!r} holds {e.object[e.start : e.end]!r}, which no file name here can hold: {not_utf8}",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _command(args) -> int:
    if args.command == "render":  # only a run waits for its own handlers (early_signals)
        return _render(args)
    early_signals.release()
    if early_signals.received:  # Ctrl-C or SIGTERM while this process loaded
        print(f"interrupted before {args.command} started: nothing written", file=sys.stderr)
        return 128 + early_signals.received[0]
    if args.command in ("preview", "report") and not _has_pillow():
        print(
            f"error: {args.command} draws its images with Pillow, which this Python does not have "
            "(Blender's own Python and the bpy 4.2 environment lack it): pip install pillow "
            "(requirements.txt pins its version)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    command = {"validate": lambda: _validate(args.file, args.out, args.device, not args.no_scene)}
    command["preview"] = lambda: _preview(args)
    command.update(report=lambda: _report(args), merge=lambda: _merge(args))
    with early_signals.sigterm_as_ctrl_c() as stopped_by:
        try:
            return command[args.command]()
        except KeyboardInterrupt:  # its lock is released on the way out, as on any error
            print(
                f"\ninterrupted: {args.command} stopped before it ended (each file it wrote is whole: written "
                "under a temporary name, then renamed); run it again",
                file=sys.stderr,
            )
            return 128 + stopped_by[0] if stopped_by else EXIT_INTERRUPTED
