"""A recording started from the UI, advanced one step at a time (SDG_OT_start_recording).

The job drives Recorder.iter_run(): each step() renders one frame and returns, so the
modal operator keeps Blender responsive between frames.

The user's file is never modified. A recording of the open scene works on it in memory
(parameter-file assets, realized instances, randomized poses...) and, when it ends, takes
the session back to the undo step pushed before it started: the scene is as it was, and
the .blend on disk was only read. A copy of the open scene (write_scene_copy: a partial
write, not a save of the user's file) and the parameter file of the run go to the output's
audit/inputs: together they reproduce the dataset headless.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from .. import audit
from ..capture.device import DeviceError
from ..config import ConfigError, load_config
from ..config.problems import MISSING, quoted
from ..config.schema import DEVICES
from ..config.toml_out import dumps
from ..home import expand_home
from ..progress import Progress, format_seconds
from ..recorder import DiskError, Recorder, RecorderError, RunOptions, annotator_plan, disk_error, file_notes
from ..sampling import clip_of
from ..scene.base import cameras_left_out
from ..writers import WRITERS
from ..writers.paths import safe_name
from . import settings as ui_settings


@dataclass
class Validation:
    path: str
    problems: list[str] = field(default_factory=list)
    summary: str = ""
    chosen: list[str] = field(default_factory=list)  # what label targets chose (Recorder.label_targets_chosen)
    # What render would warn of (headless validate prints them): of the file alone
    # (recorder.file_notes) and of the built scene (Recorder.build_and_check_scene's).
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(path: str, build: bool = False, device: str | None = None) -> Validation:
    """Load and check a parameter file; with `build`, the scene it builds too, as headless
    validate checks it (built_scene_problems), on `device` (the panel's Device, None: the
    file's render.device); never raises. Its warnings are render's, as headless validate
    prints them: of the built scene (with `build`) or else of the file alone."""
    result = Validation(path)
    try:
        config = load_config(path)
    except ConfigError as e:
        result.problems = [str(p) for p in e.problems]
        return result
    except OSError as e:
        result.problems = [f"{path}: {e}"]
        return result
    if build:
        result.problems = built_scene_problems(config, device, result.chosen, result.warnings)
        if result.problems:
            return result
    else:  # as validate --no-scene: the file's own
        result.warnings = [panel_words(note, False) for note in file_notes(annotator_plan(config), config)]
    cameras = [f"{len(config.cameras)} camera(s)"] if config.cameras or not config.base.blend else []
    if config.base.blend:  # the .blend's own cameras, by the names [scene] cameras gives (none: all)
        cameras.append(f"cameras of {Path(config.base.blend).name}: {', '.join(config.base.cameras) or 'all'}")
    result.summary = (
        f"{config.frames} frames, {config.render.width}x{config.render.height}, {config.render.samples} samples, "
        f"{', '.join(cameras)}, {len(config.assets)} asset(s), writers: {', '.join(config.writers) or '-'}"
    )
    return result


def built_scene_problems(
    config, device: str | None = None, chosen: list | None = None, warnings: list | None = None
) -> list[str]:
    """What headless validate says of the scene a parameter file builds (a .blend's labels
    that do not parse, a name it lacks, a render device this machine lacks...), found as it
    finds them (Recorder.build_and_check_scene), in the open session, which is then taken
    back to before by undo, as after a recording. Nothing is written. `chosen` (a list): what
    label targets chose is added to it, as headless validate prints it; `warnings` (a list):
    the warnings the build and its checks gave (render's, as validate prints them)."""
    try:
        check_can_restore()
    except ValueError as e:
        return [str(e)]
    blend = config.base.blend
    if blend and bpy.data.filepath and Path(bpy.path.abspath(bpy.data.filepath)).resolve() == Path(blend).resolve():
        # What Start says of it (scene.base.load_blend_scene), without emptying the session
        # as a background Blender would to read it.
        return [
            f"{Path(blend).as_posix()} is the file open in Blender: record it with Record: Open Scene in the "
            "recorder panel (or name another file in [scene] blend)"
        ]
    job = RecordingJob(config, RunOptions(Path(tempfile.gettempdir()), range(config.frames), device=device))
    push_restore_point()
    job._libraries_before = {lib.name for lib in bpy.data.libraries}
    job._restore_pending = True
    try:
        _built, targets, _plan = job.recorder.build_and_check_scene()
        if chosen is not None:
            chosen += job.recorder.label_targets_chosen(targets)
    except ConfigError as e:
        return [str(p) for p in e.problems]
    except (RecorderError, DeviceError, ValueError) as e:
        return [panel_words(str(e))]
    finally:
        if warnings is not None:
            warnings += job.warnings
        job.restore()
    return []


class RecordingJob:
    """One recording: create it, call step() until it returns False, read state/message."""

    def __init__(self, config, options: RunOptions, open_scene=None, temp_dir: Path | None = None):
        options.in_open_session = True  # a base .blend is appended, never read whole (scene.base)
        self.options = options
        self.config = config
        self.temp_dir = temp_dir  # the scene copy and parameter file, until copied to audit/
        # The panels made the parameter file (in temp_dir): its problems are said in the
        # panels' words, randomizers by these names (ui.settings.randomizer_names).
        self.panel_made = temp_dir is not None
        # Its settings are the panels' (the open scene's recording, or its resume): a scene
        # difference is matched with the panel's button, not in a parameter file's [render].
        self.panel_settings = self.panel_made
        self.randomizer_names: list[str] = []
        self._restore_pending = False  # an undo step was pushed: go back to it at the end
        self._libraries_before: set[str] = set()  # the session's libraries when it was pushed
        self.show_when_done = False  # Render Preview: open the frame in an Image Editor
        self.shown_frame: tuple[int, int] | None = None  # (clip or -1, frame) Show Last Frame shows; None: the last
        self.saved_during = False  # the user's file was saved mid-run (on_save_post)
        self.total = len(options.frames)
        self.progress: Progress | None = None
        self.warnings: list[str] = []
        self.notes: list[str] = []  # not problems: what the user may wonder about afterwards
        self.state = "starting"  # starting, running, cancelling, done, cancelled, failed
        self.message = "Building the scene..."
        self.title = "Recording"  # what the panel calls it once over ("Render Preview")
        self.started = time.monotonic()
        self.ended: float | None = None  # time.time() when it was over, for the panel's "3 min ago"
        # Blender's unsaved-changes mark before the run: the restore's undo steps set it.
        self.file_was_clean = not file_has_unsaved_changes()
        self.recorder = Recorder(
            config,
            options,
            on_warning=lambda text: self.warnings.append(panel_words(text, self.panel_settings)),
            open_scene=open_scene,
        )
        self._steps = None

    @classmethod
    def from_settings(cls, settings) -> RecordingJob:
        """A job from the panel's settings; raises ValueError with a message for the user."""
        path = bpy.path.abspath(settings.parameter_file)
        if not settings.parameter_file:
            raise ValueError("Choose a parameter file")
        output = output_folder(settings.output_dir)
        check_can_restore()
        try:
            config = load_config(path)
        except ConfigError as e:
            raise ValueError(f"{len(e.problems)} problem(s) in the parameter file; first: {e.problems[0]}") from None
        except OSError as e:
            raise ValueError(f"Cannot read the parameter file {path}: {e.strerror or e}") from None
        if settings.use_file_frames:
            frames = range(config.frames)
        else:
            frames = range(settings.frame_start, settings.frame_start + settings.frame_count)
            if frames.stop > config.frames:  # as the headless --frames refuses them
                raise ValueError(
                    f"Start {frames.start} and Count {len(frames)} go past the file's frames: it has "
                    f"{config.frames} frame(s), 0 .. {config.frames - 1} (run.frames); choose frames within them "
                    "or tick All Frames of the File"
                )
        device = None if settings.device == "FILE" else settings.device.lower()
        if device is not None and device not in DEVICES:
            raise ValueError(f"unknown device {device!r}")
        options = RunOptions(
            output,
            frames,
            resume=settings.existing == "RESUME",
            overwrite=settings.existing == "OVERWRITE",
            device=device,
            # In the main thread, frame by frame between the modal steps: spawning worker
            # processes from a running Blender session is left to the headless driver.
            worker_processes=False,
        )
        return cls(config, options)

    @classmethod
    def from_scene(cls, context, output: str | None = None, preview: int | None = None) -> RecordingJob:
        """A recording of the open scene with the panels' settings (scene.sdg); raises
        ValueError with a sentence for the user. `output` overrides the panel's; `preview`:
        frame f alone (Render Preview), or the clip holding it (a clip is rendered whole),
        which Show Last Frame then shows at f."""
        scene = context.scene
        if scene is None:
            raise ValueError("No scene is open")
        mode = getattr(context, "mode", "OBJECT")
        if mode != "OBJECT":
            raise ValueError(f"Leave {mode_name(context, mode)} first: recording works in Object Mode")
        check_can_restore()
        problem = preview_problem(scene)
        if problem:
            raise ValueError(problem)
        s = scene.sdg
        text = output if output is not None else s.run.output
        out = output_folder(text)
        temp = Path(tempfile.mkdtemp(prefix="sdg_scene_"))
        try:
            name = safe_name(Path(bpy.data.filepath).stem if bpy.data.filepath else scene.name)
            blend = temp / f"{name}.blend"
            write_scene_copy(blend)
            try:
                table = ui_settings.to_table(scene, blend.name)
            except ui_settings.SettingsError as e:
                raise ValueError(str(e)) from None
            table["run"]["output"] = out.as_posix()
            param = temp / f"{name}.toml"
            param.write_text(dumps(table), encoding="utf-8")
            try:
                config = load_config(param)
            except ConfigError as e:
                raise ValueError(
                    f"{len(e.problems)} problem(s) in the settings; first: "
                    + problem_sentence(e.problems[0], ui_settings.randomizer_names(scene))
                ) from None
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        frames, shown = range(config.frames), None
        if preview is not None:
            clip_len = config.sequence.clip_length
            clip, i = clip_of(preview, clip_len)
            frames = range(preview - i, preview - i + clip_len)
            shown = (clip if clip_len > 1 else -1, i if clip_len > 1 else preview)  # as visualizer numbers it
        options = RunOptions(
            out,
            frames,
            resume=s.run.existing == "RESUME",
            overwrite=s.run.existing == "OVERWRITE",
            worker_processes=False,
        )
        earlier = earlier_recording(out) if options.resume else None
        if earlier is not None:
            shutil.rmtree(temp, ignore_errors=True)
            return cls.resume_recording(config, options, earlier)
        job = cls(config, options, open_scene=scene, temp_dir=temp)
        job.randomizer_names = ui_settings.randomizer_names(scene)
        left_out = cameras_left_out(scene)
        ticked_left_out = [
            f"{name!r} ({why})"
            for name, why in sorted(left_out.items())
            if getattr(scene.objects[name], ui_settings.RECORD_PROPERTY, True)
        ]
        if ticked_left_out:  # the Cameras list's tick records them; headless would leave them out
            job.warnings.append(
                f"camera(s) left out of renders recorded because ticked in the Cameras list: "
                f"{', '.join(ticked_left_out)}; untick them there to leave them out"
            )
        job.shown_frame = shown
        return job

    @classmethod
    def resume_recording(cls, config, options: RunOptions, earlier: Path) -> RecordingJob:
        """Resume an earlier recording of the open scene from its own copy of the scene
        (audit/inputs): a new copy of the open scene never has the same bytes (Blender
        writes memory addresses and UI state), so it could not be checked against the
        frames already written, and edits made since would mix two scenes in one dataset.
        The panel's settings must still be the run's."""
        try:
            before = load_config(earlier)
        except (ConfigError, OSError) as e:
            raise ValueError(f"cannot resume from {earlier}: {e}; choose Existing Frames: Overwrite") from None
        now, then = (audit.parameter_sections(scene_free(c.resolved())) for c in (config, before))
        differ = audit.differing_sections(now, then)
        if differ:
            raise ValueError(
                f"the settings differ from those of the recording in {options.output} ({', '.join(differ)}): "
                "set them back, or choose Existing Frames: Overwrite or a new output folder"
            )
        before.frames = config.frames  # may grow, as with the headless --resume (frames is not compared)
        job = cls(before, options)
        job.panel_settings = True
        job.warnings.append(
            f"Resuming from the recording's own copy of the scene ({earlier.with_suffix('.blend').name} in "
            "audit/inputs): changes made to the open scene since it started are not recorded "
            "(Existing Frames: Overwrite records them)"
        )
        return job

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
                push_restore_point()
                self._libraries_before = {lib.name for lib in bpy.data.libraries}
                self._restore_pending = True
                self._steps = self.recorder.iter_run()
                self.progress = next(self._steps)
            else:
                self.progress = next(self._steps)
        except StopIteration:
            self._finish()
            return False
        except ConfigError as e:  # found when the scene is built (a name the open scene uses, ...)
            if not self.panel_made:  # the user's own parameter file: named with its path
                return self._fail(panel_words(str(e)))
            first = problem_sentence(e.problems[0], self.randomizer_names)
            return self._fail(f"{len(e.problems)} problem(s) in the settings; first: {first}")
        except (RecorderError, DiskError, DeviceError, ValueError) as e:
            return self._fail(panel_words(str(e)))
        except OSError as e:  # the output cannot be made or written (no permission, read-only), a file not there
            return self._fail(os_error_sentence(e, self.options.output))
        except ReferenceError:  # Blender data the run holds was freed under it
            return self._fail(
                "the scene was replaced under the recording (Edit > Undo, a file loaded or a scene deleted while "
                "it ran). Finished frames are kept: Existing Frames: Resume continues"
            )
        except ModuleNotFoundError as e:
            return self._fail(f"{e} inside Blender: see docs/extension.md (bundling wheels)")
        except Exception as e:  # shown in the panel, with the traceback in the console
            import traceback

            traceback.print_exc()
            return self._fail(
                f"an unexpected error stopped the recording ({type(e).__name__}: {e}). Finished frames are kept; "
                "the details are in the system console (Window > Toggle System Console)"
            )
        if self.state == "starting":
            self.state = "running"
        if self.state == "running":
            self.message = self.progress_line()
        return True

    def close(self, restore: bool = True) -> None:
        """Stop for good (add-on disabled, file load, window closed): cancel and finish what
        is in flight; with `restore`, take the open scene back to before the run (not when a
        file load replaces it anyway). The temporary scene copy goes either way."""
        if self.running:
            if self._steps is not None:
                self.recorder.cancel()
                with contextlib.suppress(Exception):
                    for _ in self._steps:
                        pass
            self.state, self.message = "cancelled", "Cancelled"
            self.ended = time.time()
        if not restore:
            self._restore_pending = False
        self.restore()

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

    def restore(self) -> None:
        """Take the session back to before the run; remove the temporary copies."""
        if self._restore_pending:
            self._restore_pending = False
            try:
                # Free Cycles' persistent render data first: it points into the scene that
                # undo replaces (Blender 4.2 crashes at exit otherwise).
                for scene in bpy.data.scenes:
                    if scene.render.use_persistent_data:
                        scene.render.use_persistent_data = False
                # Undo loads the step before the active one: push the run's state, then
                # step back to the one pushed before it started.
                bpy.ops.ed.undo_push(message="SDG recording")
                bpy.ops.ed.undo()
                # Undo keeps the libraries the run appended from (a parameter file's .blend):
                # the session's are as before, or the next run's append of the same file
                # makes Blender report clashing names ("Critical blend-file corruption").
                for library in list(bpy.data.libraries):
                    if library.name not in self._libraries_before:
                        bpy.data.libraries.remove(library)
                # A new step drops the recording's step from the redo history: Redo
                # (Ctrl+Shift+Z) would bring the randomized scene back, and a save after it
                # would write that into the user's file.
                bpy.ops.ed.undo_push(message="After SDG recording")
            except RuntimeError as e:
                self.warnings.append(
                    f"Could not restore the scene as it was before the recording ({e}): use Edit > Undo"
                )
            else:
                if self.file_was_clean and not self.saved_during:
                    self.notes.append(FILE_STILL_SAVED)
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None
        if self.saved_during and SAVED_DURING not in self.warnings:
            self.warnings.append(SAVED_DURING)

    def _finish(self) -> None:
        self.ended = time.time()
        self.restore()
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
        self.ended = time.time()
        if self._steps is not None:
            with contextlib.suppress(Exception):
                self._steps.close()
        self.restore()
        return False


PREVIEW_MARK = "sdg_previewed"  # on the scene while a preview is applied: {frame, objects it added, token}
# The tokens of the previews applied since the file was opened: Blender has an undo step
# for those only (a preview saved with the file and opened again has none).
applied_previews: set[str] = set()
PREVIEW_SAVED = "The preview was saved with the file: Blender keeps no undo step for it once the file is opened again"


def preview_undoable(scene) -> bool:
    mark = scene.get(PREVIEW_MARK)
    return mark is not None and mark.get("token") in applied_previews


def preview_problem(scene) -> str | None:
    """Why the open scene cannot be built for a recording or a preview now: a Preview Frame
    added the imported file's cameras, lights or assets to it, which a build adds again."""
    mark = scene.get(PREVIEW_MARK)
    if mark is None:
        return None
    names = [name for name in mark.get("objects", []) if name in scene.objects]
    if not names:
        return None  # deleted since
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    if not preview_undoable(scene):
        return (
            f"The file was saved with frame {mark.get('frame', 0)} previewed and objects the preview added "
            f"({shown}): delete them, the recording adds them itself"
        )
    return (
        f"Frame {mark.get('frame', 0)} is previewed in the open scene with objects it added ({shown}): "
        "Undo Preview (Ctrl+Z) first, or delete them: the recording adds them itself"
    )


def os_error_sentence(e: OSError, output: Path) -> str:
    """What an OSError of a recording means: the output folder (or a file in it) cannot be
    made or written, as the headless run says it; else the file it names and why."""
    where = Path(e.filename) if isinstance(e.filename, str) else None
    if where is None or where == output or output in where.parents:
        return str(disk_error(e, output))
    return f"cannot use {where.as_posix()}: {e.strerror or e}"


UNDO_PREFERENCES = "Preferences > System > Memory & Limits"


def mode_name(context, mode: str) -> str:
    """The mode the 3D View's header shows ('Edit Mode', 'Weight Paint'), not context.mode's
    identifier ('EDIT_MESH', 'PAINT_WEIGHT')."""
    obj = getattr(context, "active_object", None)
    items = bpy.types.Object.bl_rna.properties["mode"].enum_items
    if obj is not None and obj.mode in items.keys():
        return items[obj.mode].name
    return f"{mode.replace('_', ' ').title()} mode"


def check_can_restore() -> None:
    """A recording goes back to the undo step pushed before it: refused where Blender would
    not keep that step (no global undo, no undo steps, or a memory limit that may drop it),
    as the run would end with the randomized scene open and no undo step to take it back."""
    edit = bpy.context.preferences.edit
    why = "a recording restores the open scene through undo when it ends"
    if not edit.use_global_undo:
        raise ValueError(f"Turn on Global Undo in {UNDO_PREFERENCES}: {why}")
    if edit.undo_steps < 1:
        raise ValueError(f"Set Undo Steps in {UNDO_PREFERENCES} to 1 or more (it is 0): {why}")
    if edit.undo_memory_limit:
        raise ValueError(
            f"Set Undo Memory Limit in {UNDO_PREFERENCES} to 0 (unlimited; it is {edit.undo_memory_limit} MB): "
            f"{why}, and the limit can free the step it goes back to, leaving the recorded scene open"
        )


# The headless driver's options in its messages, as the recorder panel names them.
PANEL_WORDS = {
    "e.g. --out out/my_dataset": "e.g. //my_dataset (a new folder next to the .blend)",
    "the working folder itself": "Blender's working folder itself",
    "(or leave it out with [scene] cameras)": "(or untick it in the Cameras list)",
    "pass --resume": "choose Existing Frames: Resume",
    "--resume": "Existing Frames: Resume",
    "--overwrite": "Existing Frames: Overwrite",
}
# The run's "set in [render]" for a scene's difference -> the panel's button that does it.
MATCH_BUTTONS = {
    "the base scene's colour management": "Use the Scene's Color Management",
    "the base scene's image": "Use the Scene's Image Size and Film",
}


def panel_words(text: str, buttons: bool = True) -> str:
    """The headless driver's options in a message as the recorder panel names them; with
    `buttons` (a recording of the panels' settings) a scene difference's [render] values as
    the panel's button that sets them."""
    for option, words in PANEL_WORDS.items():
        text = text.replace(option, words)
    for start, button in MATCH_BUTTONS.items():
        if buttons and text.startswith(start):
            text = text.replace("To match it, set in [render]:", f"To match it, click {button} in the recorder panel:")
    return text


def earlier_recording(out: Path) -> Path | None:
    """The parameter file of an earlier recording of the open scene in `out` (the one in
    audit/inputs beside its scene copy), or None."""
    inputs = out / audit.AUDIT_DIR / "inputs"
    found = [p for p in sorted(inputs.glob("*.toml")) if p.with_suffix(".blend").is_file()]
    return found[0] if len(found) == 1 else None


def scene_free(resolved: dict) -> dict:
    """Resolved parameters without the base scene's file and hash."""
    base = resolved.get("base")
    if isinstance(base, dict):
        resolved["base"] = {k: v for k, v in base.items() if k not in ("blend", "blend_sha256")}
    return resolved


UI_DATA = (bpy.types.WindowManager, bpy.types.Screen, bpy.types.WorkSpace)  # not the scene's


def write_scene_copy(path: Path) -> None:
    """Every datablock of the session but its UI (windows, screens, workspaces), as a .blend
    at `path` (for audit/inputs and Resume; it is read back by appending a scene, as any
    base .blend is). Not only what the scenes use: a run may name a material or collection
    no scene holds (a material pool kept with a fake user).

    A partial write, not save_as_mainfile(copy=True): to Blender that is a save, which says
    "Saved copy as ..." in the status bar (read as the user's file being saved somewhere),
    runs other add-ons' save handlers and renders a thumbnail. Paths are written absolute:
    the copy moves to audit/inputs, where paths relative to the user's .blend lead nowhere."""
    ids = {i for i in bpy.data.user_map() if not isinstance(i, UI_DATA)}
    bpy.data.libraries.write(str(path), ids, path_remap="ABSOLUTE", compress=False)


def file_has_unsaved_changes() -> bool:
    """Blender's unsaved-changes mark (the title bar's asterisk); read-only in Python."""
    return bpy.data.is_dirty


FILE_STILL_SAVED = (
    "Blender now marks the file as changed: the scene was restored through Undo, and Python cannot clear "
    "that mark. Nothing of yours changed since it was last saved: closing without saving loses nothing"
)


def ago(when: float | None, now: float | None = None) -> str:
    """'just now', '5 min ago', '2 h ago' (for messages that stay on the panel)."""
    if when is None:
        return ""
    seconds = max(0.0, (time.time() if now is None else now) - when)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


def push_restore_point() -> None:
    bpy.ops.ed.undo_push(message="Before SDG recording")


def output_folder(text: str) -> Path:
    """The output folder the user typed, as an absolute path; ValueError with a sentence."""
    problem = output_problem(text)
    if problem:
        raise ValueError(problem)
    return expand_home(bpy.path.abspath(text))


def output_problem(text: str) -> str | None:
    """Why the typed output folder cannot be recorded into (a sentence), or None. Shown in
    the panel as it is typed and raised by Start."""
    if not text.strip():
        return "Choose an output folder (Output) before recording"
    if text.startswith("//") and not bpy.data.filepath:
        return (
            f"The output folder {text!r} is relative to the .blend ('//'), but this file has never been saved: "
            "save the .blend first or choose an absolute folder"
        )
    path = expand_home(bpy.path.abspath(text))
    if not path.is_absolute():
        # Blender's working folder is wherever it was started from (often / or its own
        # install folder), not the .blend's: '//' is Blender's way to say "next to the file".
        return (
            f"The output {text!r} would be relative to Blender's working folder ({Path.cwd()}), not to your .blend: "
            f"write '//{text}' for a folder next to the .blend, or an absolute folder"
        )
    if path.is_file():
        return f"The output {text!r} is a file, not a folder: choose a folder (new, empty, or a dataset of this tool)"
    return None


def problem_sentence(problem, randomizers: list[str] = ()) -> str:
    """A parameter-file problem without the temporary file name (the panel made the file);
    a setting the recorder panel shows is named as the panel names it, and so are the
    randomizers (`randomizers`: the panel's name of each entry of the file, in its order)."""
    field = problem.field or "settings"
    section, _, name = field.partition(".")
    if (section, name) in [("run", n) for n in ui_settings.RUN_NAMES] + [
        ("render", n) for n in ui_settings.RENDER_NAMES
    ]:
        field = f"{name.replace('_', ' ').title()} ({field})"
    writer, _, option = name.partition(".")
    if section == "writers" and option in getattr(WRITERS.get(writer), "OPTIONS", ()):  # under its writer's tick
        field = f"{writer} writer, {option.replace('_', ' ').title()} ({field})"
    # Targets by label come from the Target Labels field, not Targets (the names, greyed then).
    by_label = re.fullmatch(r"randomizers\[(\d+)\]\.targets(?:\.(.+))?", field)
    if (
        by_label
        and int(by_label.group(1)) < len(randomizers)
        and (by_label.group(2) or isinstance(problem.value, dict))
    ):
        field = f"randomizers[{by_label.group(1)}].Target Labels" + (
            f", {by_label.group(2)}" if by_label.group(2) else ""
        )

    def panel_name(match) -> str:
        i = int(match.group(1))
        return match.group(0) if i >= len(randomizers) else randomizers[i] + (", " if match.group(2) else "")

    got = "not given" if problem.value is MISSING else f"got {problem.value!r}"  # an empty field, an unticked row
    if isinstance(problem.value, dict):  # a table as the panels' fields write it (Target Labels: TOML)
        got = f"got {quoted(problem.value, toml=True)}"
    # The panels' paths are relative to the .blend (the file the run reads is made from them).
    expected = problem.expected.replace("relative to the parameter file", "relative to the .blend")
    text = f"{field}: {got}; expected {expected}"
    if problem.field == "scene.blend":  # the open scene (its temporary copy, or the .blend Export names)
        text = f"the open scene: expected {problem.expected}"
    return panel_words(re.sub(r"\brandomizers\[(\d+)\](\.)?", panel_name, text))


# The job of this Blender session (one at a time) and the last validation, for the panel.
current: RecordingJob | None = None
last_validation: Validation | None = None
last_error: str | None = None  # why the last Start Recording was refused (shown in the panel)
last_error_time: float | None = None  # time.time() of last_error


def set_error(text: str | None) -> None:
    global last_error, last_error_time
    last_error, last_error_time = text, (time.time() if text else None)


def forget_messages() -> None:
    """Drop what the panel says about earlier runs (a new file is opened, or Dismiss)."""
    global current
    if current is not None and not current.running:
        current = None
    set_error(None)


def running_job() -> RecordingJob | None:
    return current if current is not None and current.running else None


RECORDING_UNDOES = "Not while recording: the recording undoes changes made during it when it ends"


def not_recording(op_class) -> bool:
    """poll() of an operator that edits the open scene: off while a recording runs (its undo
    at the end would take the edit back), with the reason in Blender's tooltip."""
    if running_job() is not None:
        op_class.poll_message_set(RECORDING_UNDOES)
        return False
    return True


def shutdown(restore: bool = True) -> None:
    """Called when the add-on is disabled (the open scene restored) and on file load or when
    Blender ends the modal (window closed, quit: not restored, the scene goes anyway)."""
    if current is not None:
        current.close(restore)


@bpy.app.handlers.persistent
def on_load_pre(*_args) -> None:
    shutdown(restore=False)
    applied_previews.clear()  # the file opened has no undo step for its previews
    forget_messages()  # they were about the file being closed


SAVED_DURING = (
    "The .blend was saved while recording (File > Save): the file on disk holds the recording's randomized "
    "scene. The open scene is restored now: save it again (Ctrl+S) to write it back"
)


@bpy.app.handlers.persistent
def on_save_post(*args) -> None:
    """A save of the user's file during a recording (File > Save from the menu, which the
    modal cannot keep from Blender) wrote the recording's state: tell them to save again
    once it is restored. The recording's own scene copy goes elsewhere and is not counted."""
    job = running_job()
    saved = args[0] if args and isinstance(args[0], str) else bpy.data.filepath
    if job is not None and job._restore_pending and saved and bpy.data.filepath and saved == bpy.data.filepath:
        job.saved_during = True
