"""The frame sink: annotate and write captured frames, in the main thread or in worker
processes.

Blender does not support Python threads running next to it ("Python threads cause
Blender to crash in hard to diagnose ways", e.g. while Cycles renders; a writer thread
did crash CI). So nothing of ours runs in a Python thread of the Blender process:

- InlineSink annotates and writes each frame in the main thread, right after its render
  (small machines, Blender's UI);
- ProcessSink overlaps them with the next render in spawned, bpy-free worker processes
  (annotators and writers are plain Python + numpy), each building its own annotators and
  writers from a picklable SinkSpec. The main thread feeds them through pipes and
  collects their results between renders: no helper thread in the Blender process.

Both have one interface: submit(), collect(timeout), pending, close().
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

import numpy as np

from . import output
from .annotators import create_annotator
from .audit import current_rss_mb
from .capture.exr import CapturedPasses
from .frame import AnnotatedFrame, FrameData, LabelTable
from .writers import create_writer
from .writers.plugins import load_plugin_writers


@dataclass
class SinkSpec:
    """Everything a worker needs, as plain picklable data."""

    output: Path
    annotators: dict[str, dict]  # name -> options
    writers: dict[str, dict]  # name -> options
    label_table: LabelTable
    sensors: tuple[int, int]  # the run's cameras and LiDARs (Writer.several_sensors)
    time_parts: bool = False  # record["cpu_seconds_by_part"]: each annotator's and writer's


class FrameSink:
    """Annotators and writers of one run."""

    def __init__(self, spec: SinkSpec):
        self.spec = spec
        self.annotators = {name: create_annotator(name, **opts) for name, opts in spec.annotators.items()}
        load_plugin_writers(spec.writers)  # a spawned worker loads the named plugins itself
        self.writers = [create_writer(name, spec.output, **opts) for name, opts in spec.writers.items()]
        for w in self.writers:
            w.set_run(spec.label_table, w.several_sensors(*spec.sensors))

    def process(self, captured: list[FrameData], record: dict) -> tuple[dict, list[str]]:
        """Annotate and write one frame (all cameras); return its log record and warnings."""
        t, c = time.perf_counter(), time.thread_time()
        annotated, warnings = [], []
        # Each part timed always (two clock reads a call: microseconds a frame), logged on request.
        parts = {"annotate": {}, "write": {}}
        for frame in captured:
            annotators = {n: a for n, a in self.annotators.items() if frame.sensor in a.sensors}
            annotations = _timed_calls(annotators, "annotate", frame, parts["annotate"])
            if frame.sensor == "camera" and any(reads_labels(a) for a in annotators.values()):
                warnings += frame_warnings(frame)
            elif frame.sensor == "lidar":
                warnings += lidar_warnings(frame)
            annotated.append(
                AnnotatedFrame(
                    frame.frame,
                    frame.camera.name,
                    annotations,
                    frame.label_table,
                    frame.camera,
                    clip=frame.clip,
                    clip_frame=frame.clip_frame,
                    fps=frame.fps,
                    sensor=frame.sensor,
                )
            )
        t1, c1 = time.perf_counter(), time.thread_time()
        for w in self.writers:  # every camera's frame known first (kitti's stereo pairs)
            w.begin_frame([frame for frame in annotated if frame.sensor in w.sensors])
        for frame in annotated:
            writers = {w.name: w for w in self.writers if frame.sensor in w.sensors}
            _timed_calls(writers, "write", frame, parts["write"])
        for w in self.writers:  # what they warned of (Writer.warn) goes back with the frame
            warnings += w.warnings
            w.warnings = []
        record["seconds"].update(annotate=t1 - t, write=time.perf_counter() - t1)
        # CPU seconds of this thread: what annotation and encoding cost, whatever else runs.
        record.setdefault("cpu_seconds", {}).update(annotate=c1 - c, write=time.thread_time() - c1)
        if self.spec.time_parts:
            record["cpu_seconds_by_part"] = {s: {k: round(v, 6) for k, v in p.items()} for s, p in parts.items()}
        record["worker_rss_mb"] = current_rss_mb()
        return record, warnings

    def finalize(self, progress=None) -> None:
        """Every writer's finalize(); `progress(text)` hears how far the joins are."""
        for w in self.writers:
            w.progress = progress
            w.finalize()


def _timed_calls(named: dict, method: str, frame, spent: dict) -> dict:
    """x.method(frame) for each of `named` (name -> x), in order: their results by name; each
    one's CPU seconds of this thread added to spent[name] (summed over a frame's cameras)."""
    results = {}
    for name, x in named.items():
        c = time.thread_time()
        results[name] = getattr(x, method)(frame)
        spent[name] = spent.get(name, 0.0) + time.thread_time() - c
    return results


def reads_labels(annotator) -> bool:
    """Whether an annotator's output depends on the objects' labels (masks, boxes, poses...:
    those with a `semantic_type`), unlike rgb, depth, normals, flow or instance ids."""
    return "semantic_type" in annotator.OPTIONS


def frame_warnings(frame: FrameData) -> list[str]:
    """Warn when label-based annotators would write nothing for this frame."""
    if "instance" not in frame.passes:
        return []
    if any(frame.objects[i].labels for i in frame.visible_ids() if i in frame.objects):
        return []
    return [
        f"frame {frame.frame}, camera {frame.camera.name}: no labelled object is visible; "
        "its segmentation is all background/unlabelled and its box lists are empty"
    ]


def lidar_warnings(frame: FrameData) -> list[str]:
    """Warn when a LiDAR's scan is empty because every ray that met a surface met it nearer
    than min_range: the sensor sits inside (or against) its mount, whose own faces end every
    ray (mounted at a box's origin: no point in any frame, without a word)."""
    hits = frame.passes.get("lidar")
    if hits is None:
        return []
    spec = hits["spec"]
    distance = np.asarray(hits["distance"], dtype=np.float64)
    hit = np.isfinite(distance)
    near = hit & (distance < spec["min_range"])
    if not near.any() or (hit & ~near & (distance <= spec["max_range"])).any():
        return []
    return [
        f"frame {frame.frame}, LiDAR {frame.camera.name}: no return: each of its {int(near.sum())} rays that met a "
        f"surface met it nearer than min_range ({spec['min_range']:g}), as a sensor inside its mount or against "
        "another surface does: move it out (lidars[].location, in the mount's frame)"
    ]


# ---------------------------------------------------------------- where frames are processed
class SinkError(RuntimeError):
    """A worker process ended without answering (killed, out of memory, crashed)."""


class InlineSink:
    """Annotate and write each frame in the calling (main) thread as it is submitted."""

    pending = 0  # nothing is ever in flight

    def __init__(self, spec: SinkSpec):
        self.sink = FrameSink(spec)
        self._done: list = []

    def submit(self, captured: list[FrameData], record: dict) -> None:
        try:
            self._done.append(self.sink.process(captured, record))
        except Exception as e:  # reported by the recorder, like a worker's
            self._done.append(e)

    def collect(self, timeout: float = 0) -> list:
        done, self._done = self._done, []
        return done

    def close(self, now: bool = False) -> None:
        pass


class _Worker:
    def __init__(self, ctx, spec: SinkSpec, index: int):
        tasks_out, self.tasks = ctx.Pipe(duplex=False)
        self.results, results_in = ctx.Pipe(duplex=False)
        self.process = ctx.Process(
            target=worker_main, args=(tasks_out, results_in, spec), name=f"sdg-sink-{index}", daemon=True
        )
        self.process.start()  # imports and writer set-up happen while the first frame renders
        tasks_out.close()
        results_in.close()
        self.pending, self.dead = 0, False


# numpy's BLAS in a worker: one thread. Several workers (and render processes) share the
# machine, and an idle OpenBLAS thread pool spins on cores the renders need.
SINGLE_THREAD_BLAS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def single_thread_blas_for_children():
    """Processes started inside the block get SINGLE_THREAD_BLAS (where the user's
    environment does not set these already); this process's environment is restored."""
    added = {k: v for k, v in SINGLE_THREAD_BLAS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


class ProcessSink:
    """Frames handed to `workers` spawned processes, least busy first; results come back
    (as (record, warnings) or an exception) when the main thread collects them."""

    def __init__(self, spec: SinkSpec, workers: int, handoff_dir: str | None = None):
        ctx = multiprocessing.get_context("spawn")  # never inherits Blender's state
        self.handoff_dir, self._sequence = handoff_dir, 0
        with single_thread_blas_for_children():
            self.workers = [_Worker(ctx, spec, i) for i in range(max(1, workers))]
        self._failed: list[SinkError] = []

    @property
    def pending(self) -> int:
        return sum(w.pending for w in self.workers)

    def submit(self, captured: list[FrameData], record: dict) -> None:
        alive = [w for w in self.workers if not w.dead]
        if not alive:
            raise SinkError("every worker process has ended; nothing can be written")
        worker = min(alive, key=lambda w: w.pending)
        path = None
        if self.handoff_dir is not None:
            self._sequence += 1
            path = os.path.join(self.handoff_dir, f"frame_{self._sequence}.bin")
        try:
            worker.tasks.send(package((captured, record), path))
        except OSError:  # it died since (broken pipe): this frame stays unfinished
            self._failed.append(self._died(worker))
            return
        worker.pending += 1

    def collect(self, timeout: float = 0) -> list:
        """Results ready now, or within `timeout` seconds (when any is pending). A worker
        that died answers its frames with one SinkError, and gets no more."""
        done, self._failed = self._failed, []
        busy = {w.results: w for w in self.workers if w.pending}
        if not busy or done:
            return done
        for conn in wait(list(busy), timeout=timeout):
            worker = busy[conn]
            try:
                done.append(conn.recv())
                worker.pending -= 1
            except (EOFError, OSError):
                done.append(self._died(worker))
        return done

    @staticmethod
    def _died(worker: _Worker) -> SinkError:
        worker.process.join(5)
        worker.pending, worker.dead = 0, True
        return SinkError(
            f"a worker process ended without finishing its frames (exit code {worker.process.exitcode}); "
            "frames it held are not written: --resume renders them"
        )

    def close(self, now: bool = False) -> None:
        """Let the workers finish what they hold and exit; `now`: stop them at once (a
        second Ctrl-C; what they held stays unlogged, --resume renders it)."""
        for w in self.workers:
            try:
                if now:
                    w.process.terminate()
                else:
                    w.tasks.send(None)  # finish what is queued, then exit
            except OSError:
                pass
        for w in self.workers:
            w.process.join(5 if now else 30)
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(5)
            w.tasks.close()
            w.results.close()


# glibc's malloc hands blocks above its mmap threshold (dynamic, at most 32 MiB) straight
# back to the kernel when freed, and trims the heap's free top: every frame's multi-MB
# temporaries then come back as fresh pages, zero-filled by page faults in kernel time
# (3-8 ms of a frame's CPU at 640x480 on our benchmark VM). A worker makes the same
# allocations frame after frame, so it keeps them. Above these sizes (frames of 8K and
# more) blocks are mapped and returned as before.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
# Each setting with the values to try, largest first (a glibc may refuse a threshold above
# 32 MiB, its own dynamic maximum).
MALLOC_KEEP_BYTES = {M_MMAP_THRESHOLD: (256 << 20, 32 << 20), M_TRIM_THRESHOLD: (512 << 20, 64 << 20)}


def keep_freed_memory() -> bool:
    """Make this process's malloc reuse freed memory instead of returning it (glibc only;
    elsewhere nothing changes). Only for worker processes: Blender's own is left alone."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(any(mallopt(param, v) == 1 for v in values) for param, values in MALLOC_KEEP_BYTES.items())


def worker_main(tasks, results, spec: SinkSpec) -> None:
    """A worker process: a reader thread takes frames off the pipe as soon as they come (so
    the main process never waits on a busy worker), the main thread processes them in order.
    (Threads are fine here: no Blender in this process.)"""
    # Ctrl-C reaches the whole process group: the parent decides (it finishes the frames
    # in flight), so workers ignore it instead of dying with frames half written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Stopped at once (close(now=True)): unwind, so a file being written loses its temporary
    # name (writers/io.atomic_stream removes it on any exception) instead of leaving it.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    keep_freed_memory()
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                package = tasks.recv()
            except (EOFError, OSError):
                package = None  # the parent closed the pipe or is gone
            if package is None:
                inbox.put(None)
                return
            try:
                t, c = time.perf_counter(), time.thread_time()
                task = load_passes(unpackage(*package))
                # The frame's own stage: a worker's reading of it (hand-off file, EXR) is CPU
                # of the frame as much as annotating it, on another thread.
                _captured, record = task
                record.setdefault("seconds", {})["read"] = time.perf_counter() - t
                record.setdefault("cpu_seconds", {})["read"] = time.thread_time() - c
                inbox.put(task)
            except Exception as e:  # answered as this frame's error
                inbox.put(e)

    threading.Thread(target=read, daemon=True).start()
    try:
        output.activate(spec.output)  # record what this process writes; refuse writes elsewhere
        sink, setup_error = FrameSink(spec), None
    except Exception as e:
        sink, setup_error = None, e
    while (task := inbox.get()) is not None:
        try:
            if isinstance(task, Exception):
                raise task
            if setup_error is not None:
                raise setup_error
            result = sink.process(*task)
        except Exception as e:
            result = picklable(e)
        results.send(result)


def load_passes(task):
    """Read the passes of a task's captures that came as a file name (CapturedPasses) now,
    in the reader thread, as the hand-off file is read: not in the annotate stage."""
    for frame in task[0]:
        if isinstance(frame.passes, CapturedPasses):
            frame.passes = frame.passes.load()
    return task


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def package(task, path: str | None) -> tuple:
    """(pickle, hand-off file, buffer sizes): the arrays go out of band (pickle protocol 5)
    into the file at `path` (in the render's tmpfs folder: a memory copy); the pipe carries
    the rest. Pushing megabytes through the pipe instead costs the render loop ~10x more
    (the worker must be scheduled to drain it). Without a path, or where the file cannot be
    written (tmpfs full), the arrays go through the pipe."""
    buffers: list[pickle.PickleBuffer] = []
    meta = pickle.dumps(task, protocol=5, buffer_callback=buffers.append)
    views = [b.raw() for b in buffers]
    if path is not None and views:
        try:
            with open(path, "wb", buffering=0) as f:
                for view in views:
                    _write_all(f, view)
            return meta, path, [v.nbytes for v in views]
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return meta, None, [bytearray(v) for v in views]  # writable at the other end


def unpackage(meta: bytes, path: str | None, buffers: list):
    """The task package() made; a handoff file is read into fresh (writable)
    buffers and removed."""
    if path is not None:
        sizes, buffers = buffers, []
        with open(path, "rb", buffering=0) as f:
            for size in sizes:
                buffer = bytearray(size)
                view, got = memoryview(buffer), 0
                while got < size:
                    n = f.readinto(view[got:])
                    if not n:
                        raise OSError(f"handoff file {path} is short")
                    got += n
                buffers.append(buffer)
        os.unlink(path)
    return pickle.loads(meta, buffers=buffers)


def _write_all(f, view: memoryview) -> None:
    view = view.cast("B")
    while view:
        n = f.write(view)
        view = view[n:]


def picklable(error: Exception) -> Exception:
    """The error itself when it survives pickling (OSError keeps its errno), else a
    RuntimeError carrying its type, message and traceback."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = "".join(traceback.format_exception(error)).rstrip()
        return RuntimeError(f"{type(error).__name__}: {error}\n{text}")


def open_sink(
    spec: SinkSpec, processes: bool, workers: int, handoff_dir: str | None = None
) -> InlineSink | ProcessSink:
    return ProcessSink(spec, workers, handoff_dir) if processes else InlineSink(spec)
