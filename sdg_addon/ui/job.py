"""A recording started from the UI, advanced one step at a time (SDG_OT_start_recording).

The job drives Recorder.iter_run(): each step() renders one frame and returns, so the
modal operator keeps Blender responsive between frames. The scene is built into the open
file in place (scene.build.new_scene), keeping preferences and enabled add-ons.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from ..config import ConfigError, load_config
from ..config.schema import DEVICES
from ..progress import Progress, format_seconds
from ..recorder import DiskError, Recorder, RecorderError, RunOptions


@dataclass
class Validation:
    path: str
    problems: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(path: str) -> Validation:
    """Load and check a parameter file; never raises."""
    result = Validation(path)
    try:
        config = load_config(path)
    except ConfigError as e:
        result.problems = [str(p) for p in e.problems]
        return result
    except OSError as e:
        result.problems = [f"{path}: {e}"]
        return result
    result.summary = (
        f"{config.frames} frames, {config.render.width}x{config.render.height}, {config.render.samples} samples, "
        f"{len(config.cameras)} camera(s), {len(config.assets)} asset(s), writers: {', '.join(config.writers) or '-'}"
    )
    return result


class RecordingJob:
    """One recording: create it, call step() until it returns False, read state/message."""

    def __init__(self, config, options: RunOptions):
        self.options = options
        self.total = len(options.frames)
        self.progress: Progress | None = None
        self.warnings: list[str] = []
        self.state = "starting"  # starting, running, cancelling, done, cancelled, failed
        self.message = "Building the scene..."
        self.started = time.monotonic()
        self.recorder = Recorder(config, options, on_warning=self.warnings.append)
        self._steps = None

    @classmethod
    def from_settings(cls, settings) -> RecordingJob:
        """A job from the panel's settings; raises ValueError with a message for the user."""
        path = bpy.path.abspath(settings.parameter_file)
        if not settings.parameter_file:
            raise ValueError("choose a parameter file")
        if not settings.output_dir:
            raise ValueError("choose an output folder")
        try:
            config = load_config(path)
        except ConfigError as e:
            raise ValueError(f"{len(e.problems)} problem(s) in the parameter file; first: {e.problems[0]}") from None
        if settings.use_file_frames:
            frames = range(config.frames)
        else:
            frames = range(settings.frame_start, settings.frame_start + settings.frame_count)
        device = None if settings.device == "FILE" else settings.device.lower()
        if device is not None and device not in DEVICES:
            raise ValueError(f"unknown device {device!r}")
        output = Path(bpy.path.abspath(settings.output_dir))
        options = RunOptions(
            output,
            frames,
            resume=settings.existing == "RESUME",
            overwrite=settings.existing == "OVERWRITE",
            device=device,
            # Threads inside the Blender app: spawning Python processes from a running
            # Blender session is left to the headless driver.
            worker_processes=False,
        )
        return cls(config, options)

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running", "cancelling")

    def cancel(self) -> None:
        if self.running:
            self.state = "cancelling"
            self.message = "Cancelling: finishing the frames in flight..."
            self.recorder.cancel()

    def step(self) -> bool:
        """Advance by one frame (the first step also builds the scene); False when over."""
        if not self.running:
            return False
        try:
            if self._steps is None:
                self._steps = self.recorder.iter_run()
                self.progress = next(self._steps)
            else:
                self.progress = next(self._steps)
        except StopIteration:
            self._finish()
            return False
        except (RecorderError, DiskError, ConfigError, FileNotFoundError, ValueError) as e:
            hint = " (in the panel: Existing Frames > Resume or Overwrite)" if "--resume" in str(e) else ""
            return self._fail(f"{e}{hint}")
        except ModuleNotFoundError as e:
            return self._fail(f"{e} inside Blender: see docs/extension.md (bundling wheels)")
        except Exception as e:  # shown in the panel, with the traceback in the console
            import traceback

            traceback.print_exc()
            return self._fail(f"{type(e).__name__}: {e}")
        if self.state == "starting":
            self.state = "running"
        if self.state == "running":
            self.message = self.progress_line()
        return True

    def close(self) -> None:
        """Stop for good (file load, add-on disabled): cancel and finish what is in flight."""
        if self._steps is not None and self.running:
            self.recorder.cancel()
            with contextlib.suppress(Exception):
                for _ in self._steps:
                    pass
            self.state, self.message = "cancelled", "Cancelled"

    @property
    def done(self) -> int:
        return self.progress.done if self.progress is not None else 0

    @property
    def fraction(self) -> float:
        if self.progress is None:
            return 0.0
        return self.progress.fraction

    def progress_line(self) -> str:
        p = self.progress
        if p is None:
            return self.message
        return f"{p.done}/{p.total} frames | {p.rate:.2f} frames/s | ETA {format_seconds(p.eta)}"

    def _finish(self) -> None:
        result = self.recorder.result
        written = len(result.frames_written)
        if self.state == "cancelling":
            self.state = "cancelled"
            self.message = f"Cancelled: {written} frame(s) written to {self.options.output}"
        else:
            self.state = "done"
            self.message = (
                f"Done: {written} frame(s) written, {len(result.frames_skipped)} already done, "
                f"in {format_seconds(result.seconds)} -> {self.options.output}"
            )

    def _fail(self, text: str) -> bool:
        self.state, self.message = "failed", f"Failed: {text}"
        if self._steps is not None:
            with contextlib.suppress(Exception):
                self._steps.close()
        return False


# The job of this Blender session (one at a time) and the last validation, for the panel.
current: RecordingJob | None = None
last_validation: Validation | None = None


def running_job() -> RecordingJob | None:
    return current if current is not None and current.running else None


def shutdown() -> None:
    """Called on file load and when the add-on is disabled."""
    if current is not None:
        current.close()


@bpy.app.handlers.persistent
def on_load_pre(*_args) -> None:
    shutdown()
