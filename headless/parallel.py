"""Several long-lived render processes on one machine, one dataset.

`headless render FILE --gpus all|0,1|N [--procs-per-gpu K|auto]` starts K render processes
per GPU, each pinned to its GPU (CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES hold only it,
so its Cycles device list is exactly that GPU); `--procs N` starts N processes without
pinning (the CPU, or one GPU shared). Each process (headless.worker) builds the scene once
and renders the chunks of frames it is handed; frames are pure functions of (seed, frame),
so the files are those one process would write. The parent:

- hands out chunks as processes ask for them (fast processes get more),
- prints one progress line for the whole run,
- on Ctrl-C forwards one SIGINT to every process (each finishes its frames in flight) and
  exits 130; the run resumes with --resume,
- when a process dies (crash, SIGKILL, lost GPU) gives the frames of its chunk that are not
  logged as finished to another process, and starts a replacement (bounded retries),
- at the end merges the writers' outputs (one COCO json...) and writes audit/manifest.json.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from headless import early_signals

ROOT = Path(__file__).resolve().parent.parent

# Render processes per GPU for --procs-per-gpu auto, from the H200 benchmark
# (docs/benchmarks.md, bench30 at 640x480): at low sample counts the GPU waits for each
# process's CPU side (scene sync, EXR write and read-back), so more processes fill it: at
# 1 spp 2 / 4 / 6 / 8 gave 48 / 72 / 79 / 75-77 frames/s. From 16 spp on the GPU is the
# limit and every extra process only adds context switches: 1 / 2 / 3 / 4 gave 17 / 30-31
# / 27 / 26 at 16 spp, and 1 / 2 / 3 gave 8.4 / 9.8 / 9.5 at 64 spp. Each process needs
# about two cores (its render loop and its share of annotation).
AUTO_PROCS = ((4, 6),)  # (up to this many samples, processes per GPU)
AUTO_PROCS_HIGH_SAMPLES = 2


def auto_procs_per_gpu(samples: int, cores_per_gpu: int) -> int:
    wanted = next((k for limit, k in AUTO_PROCS if samples <= limit), AUTO_PROCS_HIGH_SAMPLES)
    return max(1, min(wanted, cores_per_gpu // 2))


def auto_procs_rule() -> str:
    """The rule above in words (--help)."""
    steps = ", ".join(f"{k} up to {limit} samples" for limit, k in AUTO_PROCS)
    return f"{steps}, else {AUTO_PROCS_HIGH_SAMPLES}, at most one per 2 cores"


def render_process_env(gpu: int | None = None) -> dict:
    """Environment of a render process (headless.worker): this checkout importable, numpy's
    BLAS on one thread (Cycles has its own threads; idle BLAS pools spin on their cores)
    unless the user chose otherwise, and pinned to `gpu` when given."""
    from sdg_addon.sink import SINGLE_THREAD_BLAS

    env = {**SINGLE_THREAD_BLAS, **os.environ}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = env["HIP_VISIBLE_DEVICES"] = str(gpu)
    return env


MAX_ATTEMPTS_PER_FRAME = 3  # a frame whose process died this many times stops the run
MAX_RESTARTS_PER_SLOT = 3


class ParallelError(RuntimeError):
    """The parallel run failed; `invalid`: a render process refused the input (exit 2)."""

    def __init__(self, message: str, invalid: bool = False):
        super().__init__(message)
        self.invalid = invalid


def parse_gpus(text: str, available: list[int] | None = None) -> list[int]:
    """'all' -> every GPU; '0,2' -> those indices; 'N' -> the first N GPUs."""
    text = text.strip().lower()
    if text == "all" or (text.isdigit() and "," not in text):
        gpus = available if available is not None else visible_gpus()
        if not gpus:
            raise ParallelError("--gpus: no GPU found (nvidia-smi lists none); use --procs N for the CPU")
        if text == "all":
            return gpus
        n = int(text)
        if not 1 <= n <= len(gpus):
            alone = f"; the GPU of index {n} alone is --gpus {n}," if n in gpus else ""
            raise ParallelError(f"--gpus {text}: a count of GPUs, expected 1 .. {len(gpus)} (GPUs here: {gpus}){alone}")
        return gpus[:n]
    try:
        gpus = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParallelError(f"--gpus {text!r}: expected all, a count N, or indices like 0,1") from None
    if not gpus:
        raise ParallelError(f"--gpus {text!r}: expected all, a count N, or indices like 0,1")
    if min(gpus) < 0:
        raise ParallelError(f"--gpus {text!r}: a GPU index is 0 or more (nvidia-smi's indices), like 0,1")
    if len(set(gpus)) != len(gpus):
        twice = sorted({g for g in gpus if gpus.count(g) > 1})
        raise ParallelError(
            f"--gpus {text!r}: GPU {', '.join(map(str, twice))} named twice; each GPU once "
            "(--procs-per-gpu K runs K processes on each)"
        )
    here = available if available is not None else visible_gpus()
    missing = [str(g) for g in gpus if g not in here]
    if here and missing:  # (nvidia-smi listing none, e.g. AMD GPUs: each process checks its own)
        raise ParallelError(f"--gpus {text}: no GPU {', '.join(missing)} here (nvidia-smi lists {here})")
    return gpus


def visible_gpus() -> list[int]:
    """Indices of the NVIDIA GPUs here (nvidia-smi), honouring CUDA_VISIBLE_DEVICES."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None and env.strip():
        return [int(x) for x in env.split(",") if x.strip().isdigit()]
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [int(x) for x in out.stdout.split() if x.strip().isdigit()] if out.returncode == 0 else []


@dataclass
class Slot:
    """One render process: where it runs and what it holds."""

    index: int
    gpu: int | None
    proc: subprocess.Popen | None = None
    assigned: list[int] = field(default_factory=list)  # handed out, not yet reported done
    restarts: int = 0
    finished: bool = False
    exit_code: int | None = None
    error: str | None = None  # what it said before it exited 1 (the output folder cannot be written)

    @property
    def name(self) -> str:
        return f"process {self.index}" + (f" (GPU {self.gpu})" if self.gpu is not None else "")


@dataclass
class ParallelOptions:
    file: Path
    output: Path
    frames: list[int]  # still to render
    gpus: list[int | None]  # one entry per process: its GPU, or None (no pinning)
    chunk: int = 8
    device: str | None = None
    workers: int | None = None  # annotate/write workers per process
    worker_mode: str = "auto"
    quiet: bool = False
    verbose: bool = False
    time_parts: bool = False
    python: str = sys.executable
    clip: int = 1  # frames of a clip (sequence.clip_length) stay together in one process
    run_holder: str | None = None  # "HOST:PID" holding the folder's lock for this run (the parent)
    # Logged frames of clips rendered again: forgotten from the frame logs when the first
    # frames are handed out (the processes have built and accepted the scene by then).
    forget: set[int] = field(default_factory=set)


def chunks(frames: list[int], size: int, clip: int = 1) -> list[list[int]]:
    """Frames in chunks of about `size`, never splitting a clip (a clip is continuous
    motion: one process renders it from its first frame)."""
    out, current = [], []
    for f in frames:
        if current and len(current) >= size and f // clip != current[-1] // clip:
            out.append(current)
            current = []
        current.append(f)
    return out + ([current] if current else [])


def spread(gpus: list, count: int) -> list:
    """At most `count` of the render processes `gpus` asks for (one entry each: its GPU, or
    None), taken in turn from each GPU: a run with fewer chunks of frames than processes
    starts only as many (the others would load Blender and build the scene for nothing),
    on as many GPUs as it can."""
    if count >= len(gpus):
        return gpus
    per_gpu = Counter(gpus)  # (in the order of the GPUs)
    turns = [g for k in range(max(per_gpu.values(), default=0)) for g, n in per_gpu.items() if k < n]
    return turns[: max(1, count)]


class ParallelRun:
    def __init__(self, options: ParallelOptions, on_line=None):
        self.o = options
        self.on_line = on_line or _say
        self.events: queue.Queue = queue.Queue()
        self.todo: deque[list[int]] = deque(chunks(options.frames, options.chunk, options.clip))
        self.attempts: dict[int, int] = {}
        self.done: set[int] = set()
        self.slots = [Slot(i, gpu) for i, gpu in enumerate(options.gpus)]
        self.cancelled = False
        self._inputs_closed = False
        self.terminated = 0  # the signal number of a SIGTERM received
        self.retried_frames: list[int] = []
        self.warnings: list[str] = []  # the processes' warnings, each once (for the manifest)
        self.failure: str | None = None
        self.refused = False  # a process exited 2: the input is invalid (the same for every process)
        self._last_line = 0.0
        self._first_ready = False
        self._last_count = -1

    # ------------------------------------------------------------------ processes
    def _start(self, slot: Slot) -> None:
        o = self.o
        cmd = [o.python, "-m", "headless.worker", str(o.file), "--out", str(o.output), "--tag", f".w{slot.index:03d}"]
        cmd += ["--slot", f"{slot.index}/{len(self.slots)}"]
        if o.run_holder:
            cmd += ["--run-holder", o.run_holder]
        if o.device:
            cmd += ["--device", o.device]
        if slot.gpu is not None:
            cmd += ["--gpu", str(slot.gpu)]
        if o.workers:
            cmd += ["--workers", str(o.workers)]
        cmd += (
            ["--worker-mode", o.worker_mode] + (["--verbose"] if o.verbose else []) + (["--quiet"] if o.quiet else [])
        )
        cmd += ["--time-parts"] if o.time_parts else []
        # Own session: a terminal's Ctrl-C reaches only the parent, which forwards it once.
        slot.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=render_process_env(slot.gpu),
            start_new_session=True,
        )
        slot.assigned, slot.error = [], None
        threading.Thread(target=self._read, args=(slot, slot.proc), daemon=True).start()

    def _read(self, slot: Slot, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                self.events.put((slot, proc, json.loads(line)))
            except json.JSONDecodeError:
                continue  # not ours (a library printing to stdout)
        self.events.put((slot, proc, {"exit": proc.wait()}))

    def _send(self, slot: Slot, message: dict) -> None:
        try:
            slot.proc.stdin.write(json.dumps(message) + "\n")
            slot.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # it died: its exit event follows

    # ------------------------------------------------------------------ the run
    def run(self) -> int:
        """0 when every frame is done, 130 when interrupted; raises ParallelError on failure."""
        total = len(self.o.frames)
        self.started = time.monotonic()
        for slot in self.slots:
            self._start(slot)
        previous = {}
        if _main_thread():
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._on_sigint)
            previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_sigterm)
            early_signals.replay(self._on_sigint, self._on_sigterm)
        try:
            while not all(s.finished for s in self.slots):
                self._close_inputs_once_cancelled()
                try:
                    slot, proc, msg = self.events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if proc is not slot.proc:
                    continue  # a message of a process already replaced
                if "need" in msg:
                    self._ready()
                    self._hand_out(slot)
                elif "done" in msg:
                    f = msg["done"]
                    if f in slot.assigned:
                        slot.assigned.remove(f)
                    if f not in self.done:
                        self.done.add(f)
                        self._progress(total)
                elif "warning" in msg:
                    if msg["warning"] not in self.warnings:  # every process says the scene's
                        self.warnings.append(msg["warning"])
                elif "error" in msg:
                    slot.error = msg["error"]
                elif "exit" in msg:
                    self._exited(slot, msg["exit"])
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self._progress(total, force=True)
        if self.failure:
            raise ParallelError(self.failure, invalid=self.refused)
        if self.terminated:
            return 128 + self.terminated
        return 130 if self.cancelled else 0

    def _ready(self) -> None:
        """A render process asks for frames: the first one's scene is built. The rate and ETA
        count from then, as a single process's (Blender's start and the scene's build, seconds,
        made the first lines' ETA many times too long)."""
        if not self._first_ready:
            self._first_ready = True
            self.started = time.monotonic()

    def _hand_out(self, slot: Slot) -> None:
        if self.cancelled or self.failure or not self.todo:
            self._send(slot, {"stop": True})
            return
        if self.o.forget:
            from sdg_addon import audit

            audit.forget_frames(self.o.output / audit.AUDIT_DIR, self.o.forget)
            self.o.forget = set()
        chunk = self.todo.popleft()
        slot.assigned = list(chunk)
        self._send(slot, {"frames": chunk})

    def _exited(self, slot: Slot, code: int) -> None:
        slot.exit_code = code
        lost = [f for f in slot.assigned if f not in self.done]
        slot.assigned = []
        if code == 0 or self.cancelled or self.failure:
            slot.finished = True
            if lost and not self.cancelled and not self.failure:  # stopped with frames held: a bug
                self.todo.appendleft(lost)
            return
        if code == 1 and slot.error:  # the output folder cannot be written (full, read-only): nor by another
            self.failure = slot.error
            self._stop_all()
            slot.finished = True
            return
        if code == 2:  # invalid input: every process would fail the same way
            self.failure = f"{slot.name} stopped: the parameter file, its scene or the options are invalid (see above)"
            self.refused = True
            self._stop_all()
            slot.finished = True
            return
        # Died: the frames it held but did not log go to another process.
        for f in lost:
            self.attempts[f] = self.attempts.get(f, 0) + 1
        worst = max((self.attempts[f] for f in lost), default=0)
        if worst >= MAX_ATTEMPTS_PER_FRAME:
            self.failure = f"frames {lost} failed {worst} times (last: {slot.name} exited with {code})"
            self._stop_all()
            slot.finished = True
            return
        if lost:
            # Whole clips again: a clip's motion starts at its first frame.
            clips = {f // self.o.clip for f in lost}
            lost = [f for f in self.o.frames if f // self.o.clip in clips]
            if self.o.clip > 1:  # its frames logged already are logged once, by the new rendering
                from sdg_addon import audit

                audit_dir = self.o.output / audit.AUDIT_DIR
                audit.forget_frames(audit_dir, lost, [audit_dir / f"frames.w{slot.index:03d}.jsonl"])
            self.retried_frames += lost
            self.todo.appendleft(lost)
        print(  # on stderr, as every other warning of a run
            f"WARNING: {slot.name} exited with code {code}; frames {lost} handed to another process",
            file=sys.stderr,
            flush=True,
        )
        if slot.restarts < MAX_RESTARTS_PER_SLOT:
            slot.restarts += 1
            self._start(slot)
        else:
            slot.finished = True
            if all(s.finished for s in self.slots) and self.todo:
                self.failure = "every render process died; the frames not rendered are kept for --resume"

    def _stop_all(self) -> None:
        for s in self.slots:
            if s.proc is not None and s.proc.poll() is None:
                with _ignore_errors():
                    s.proc.send_signal(signal.SIGINT)

    def _on_sigterm(self, signum, frame) -> None:
        """As a first Ctrl-C: the processes finish their frames in flight, the run ends
        (merged outputs, manifest, the folder's lock released) with 128 + SIGTERM."""
        self.terminated = signum
        if not self.cancelled:
            self._on_sigint(signum, frame, "SIGTERM")

    def _on_sigint(self, signum, frame, what: str = "Ctrl-C") -> None:
        # No buffered I/O here: the main thread may be inside a write or flush of the same
        # stream (a child's stdin, stderr), which then fails with "reentrant call". Signals
        # and raw writes only; the main loop closes the children's stdin.
        if self.cancelled:  # second Ctrl-C: stop now
            for s in self.slots:
                if s.proc is not None and s.proc.poll() is None:
                    with _ignore_errors():
                        s.proc.kill()
            return
        self.cancelled = True
        say_from_signal_handler(
            f"\n{what}: the render processes finish their frames in flight (Ctrl-C again to stop at once)\n"
        )
        self._stop_all()

    def _close_inputs_once_cancelled(self) -> None:
        """After a Ctrl-C (main thread): a process waiting for frames gets EOF and ends."""
        if not self.cancelled or self._inputs_closed:
            return
        self._inputs_closed = True
        for s in self.slots:
            with _ignore_errors():
                s.proc.stdin.close()

    def _progress(self, total: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.o.quiet or (not force and now - self._last_line < 1.0 and len(self.done) < total):
            return
        if force and self._last_count == len(self.done):
            return
        if force and not self.done:  # the run ends with no frame done (a refusal, Ctrl-C): no "frames 0/N" line
            return
        self._last_line, self._last_count = now, len(self.done)
        alive = sum(1 for s in self.slots if not s.finished)
        tail = f"{alive} render process{'es' if alive != 1 else ''}"
        self.on_line(progress_line(len(self.done), total, now - self.started, tail))


def progress_line(done: int, total: int, elapsed: float, tail: str) -> str:
    """The progress line of a run of several render processes (or Ray actors), as one
    process's: frames done, rate, ETA, then `tail` (what runs them)."""
    from sdg_addon.progress import format_seconds

    rate = done / elapsed if elapsed > 0 else 0.0
    eta = format_seconds((total - done) / rate) if rate > 0 else "?"
    return f"frames {done}/{total} ({100 * done / max(total, 1):.0f}%) | {rate:.2f} frames/s | ETA {eta} | {tail}"


def _say(text: str) -> None:
    from headless.cli import say  # (cli imports this module)

    say(text)


class _ignore_errors:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return exc[0] is not None and issubclass(exc[0], (OSError, ValueError, ProcessLookupError))


def say_from_signal_handler(text: str) -> None:
    """Write to stderr from a signal handler: one raw write. A print there can land while
    the interrupted code is inside a write to the same buffered stream, and then raises
    "reentrant call" into that code."""
    try:
        os.write(sys.stderr.fileno(), text.encode("utf-8", "replace"))
    except (OSError, ValueError, AttributeError):
        pass  # no file descriptor (a test's captured stderr): said nowhere rather than crash


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def finish(
    config, output: Path, summary: dict, rendered: list[int] | None = None, run_holder: str = "", progress=None
) -> None:
    """After every process ended: the writers' merged outputs and the run's manifest.
    `rendered`: the frames this run was to render (those finished now are its
    frames_written_this_run, as a single process's manifest has them). The keys of a single
    run's manifest that its processes' manifests add up to (audit.combined: seconds per
    stage, peak memory, cameras, annotators) come from the manifests of the processes this
    run started: those naming `run_holder`, the parent's lock (an earlier run's are left)."""
    from sdg_addon import audit
    from sdg_addon.frame import LabelTable
    from sdg_addon.writers import create_writer

    audit_dir = output / audit.AUDIT_DIR
    table_file = audit_dir / "label_table.json"
    if table_file.is_file():
        table = LabelTable(json.loads(table_file.read_text()))
        cameras = audit.run_cameras(audit_dir, config)  # a base .blend's cameras too
        for name, options in config.writers.items():
            writer = create_writer(name, output, **options)
            writer.set_run(table, writer.several_sensors(len(cameras), len(config.lidars)))
            writer.progress = progress  # a large dataset's join takes a while: say how far it is
            writer.finalize()
    finished = audit.finished_frames(audit_dir)
    mine = []
    for path in sorted(audit_dir.glob("manifest.*.json")):
        try:
            part = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(part, dict) and run_holder and part.get("run_holder") == run_holder:
            mine.append(part)
    combined = audit.combined(mine)
    combined["interrupted"] = summary.get("interrupted", combined["interrupted"])
    summary.update(combined, writers=list(config.writers))
    if rendered is not None:
        summary["frames_written_this_run"] = sorted(f for f in rendered if f in finished)
    summary["frames_finished_total"] = len(finished)
    if config.cases:  # counted over every process's frame log (each process's own count is partial)
        from sdg_addon.sampling.cases import assign_frames, case_report, case_warnings

        summary["cases"] = case_report(config.cases, assign_frames(config.seed, config.frames, config.cases), finished)
        for text in case_warnings(summary["cases"]):  # said here, not by the processes: theirs would be partial
            print(f"WARNING: {text}", file=sys.stderr, flush=True)
            summary.setdefault("warnings", []).append(text)
    audit.write_json(audit_dir / "manifest.json", summary)
