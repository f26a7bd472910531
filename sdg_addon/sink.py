"""The frame sink: annotate and write captured frames, in threads or in worker processes.

At GPU speed a frame's annotation and encoding cost more CPU than its render, and in
threads they contend for Python's GIL with each other and with the render loop. So the
recorder can hand frames to worker *processes* (spawned, bpy-free: annotators and writers
are plain Python + numpy), each holding its own annotators and writers built from a
picklable SinkSpec. Threads remain for small runs and for Blender's UI.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import output
from .annotators import create_annotator
from .audit import current_rss_mb
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
    several_cameras: bool


class FrameSink:
    """Annotators and writers of one run; process() is safe to call from several threads."""

    def __init__(self, spec: SinkSpec):
        self.spec = spec
        self.annotators = {name: create_annotator(name, **opts) for name, opts in spec.annotators.items()}
        load_plugin_writers(spec.writers)  # a spawned worker loads the named plugins itself
        self.writers = [create_writer(name, spec.output, **opts) for name, opts in spec.writers.items()]
        for w in self.writers:
            w.set_run(spec.label_table, spec.several_cameras)

    def process(self, captured: list[FrameData], record: dict) -> tuple[dict, list[str]]:
        """Annotate and write one frame (all cameras); return its log record and warnings."""
        t, c = time.perf_counter(), time.thread_time()
        annotated, warnings = [], []
        for frame in captured:
            annotators = {n: a for n, a in self.annotators.items() if frame.sensor in a.sensors}
            annotations = {name: a.annotate(frame) for name, a in annotators.items()}
            if frame.sensor == "camera":
                warnings += frame_warnings(frame)
            annotated.append(
                AnnotatedFrame(
                    frame.frame,
                    frame.camera.name,
                    annotations,
                    frame.label_table,
                    frame.camera,
                    clip=frame.clip,
                    clip_frame=frame.clip_frame,
                    sensor=frame.sensor,
                )
            )
        t1, c1 = time.perf_counter(), time.thread_time()
        for frame in annotated:
            for w in self.writers:
                if frame.sensor in w.sensors:
                    w.write(frame)
        record["seconds"].update(annotate=t1 - t, write=time.perf_counter() - t1)
        # CPU seconds of this thread: what annotation and encoding cost, whatever else runs.
        record.setdefault("cpu_seconds", {}).update(annotate=c1 - c, write=time.thread_time() - c1)
        record["worker_rss_mb"] = current_rss_mb()
        return record, warnings

    def finalize(self) -> None:
        for w in self.writers:
            w.finalize()


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


# ---------------------------------------------------------------- worker processes
_worker_sink: FrameSink | None = None


def init_worker(spec: SinkSpec) -> None:
    global _worker_sink
    # Ctrl-C reaches the whole process group: the parent decides (it finishes the frames
    # in flight), so workers ignore it instead of dying with frames half written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    output.activate(spec.output)  # record what this process writes; refuse writes elsewhere
    _worker_sink = FrameSink(spec)


def process_in_worker(captured: list[FrameData], record: dict) -> tuple[dict, list[str]]:
    return _worker_sink.process(captured, record)


def warm_up() -> None:
    """A no-op task: submitting one per worker starts the processes (imports, writer
    set-up) while the first frame renders, not after it."""
