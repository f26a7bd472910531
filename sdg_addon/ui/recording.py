"""Recorder panel and operators: record the open scene (cameras, annotators and writers
checklists, run and render settings from the declarations) or a parameter file, modally;
cancel; validate a parameter file. Export / Import live in ui.parameters.

Start runs a modal operator: a window-manager timer calls RecordingJob.step(), which
renders one frame and returns, so the UI stays usable between frames (a frame itself
blocks while Cycles renders it). Esc or the Cancel button stop after the frames in flight
are written; the dataset stays valid and can be resumed.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import bpy

from ..compat import progress_bar
from ..scene.base import cameras_left_out, colour_differences, image_differences
from ..writers import WRITERS
from . import job as jobs
from . import settings as ui_settings
from .props import SidebarPanel
from .visualizer import has_frames

TIMER_STEP = 0.05  # seconds between steps (a step is one frame)
MAX_PROBLEMS = 8
MAX_WARNINGS = 3  # the latest warnings shown in the panel
WRAP = 60


def tag_redraw(context) -> None:
    wm = context.window_manager
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def off_while_recording(layout):
    """The layout a panel that edits the open scene draws into: greyed out, saying why, while
    a recording runs (its undo at the end would take an edit back without a word)."""
    if jobs.running_job() is None:
        return layout
    wrapped(layout, jobs.RECORDING_UNDOES, icon="INFO")
    col = layout.column()
    col.enabled = False
    return col


def wrapped(layout, text: str, icon: str = "NONE") -> None:
    for i, line in enumerate(textwrap.wrap(text, WRAP) or [""]):
        layout.label(text=line, icon=icon if i == 0 else "BLANK1")


SAVE_BLOCKED = (
    "Save (Ctrl+S) is blocked while recording: the open scene holds the recording's randomized state "
    "until it ends and is restored; save then"
)


UNDO_BLOCKED = (
    "Undo and Redo are blocked while recording: they would replace the scene the recording is rendering; "
    "the recording undoes its changes itself when it ends (Cancel to end it now)"
)
# Quit, New and Open ask "Save changes?" of the file the recording made changed: a Save
# there writes the randomized scene into the user's file, and Blender quits or loads another
# file before the recording can say so (the save warning of the run's end never shows).
CLOSE_BLOCKED = (
    "Quit, New and Open (Ctrl+Q, Ctrl+N, Ctrl+O) are blocked while recording: Blender would offer to save "
    "the open scene, which holds the recording's randomized state, into your file; Cancel the recording "
    "(Esc) first"
)
BLOCKED_KEYS = {  # with Ctrl (Cmd)
    "S": SAVE_BLOCKED,
    "Z": UNDO_BLOCKED,
    "Y": UNDO_BLOCKED,
    "Q": CLOSE_BLOCKED,
    "N": CLOSE_BLOCKED,
    "O": CLOSE_BLOCKED,
}


def handle_event(job, event_type: str, event_value: str, ctrl: bool = False) -> str:
    """One event of the recording's modal operator: "pass" it on, "wait" for more, or "end".

    A timer tick advances the job by one frame; Esc cancels it (the frames in flight are
    still written, so the modal keeps stepping until the job is over). Ctrl+S (Cmd+S) is
    kept from Blender: it would write the randomized scene into the user's file; so are
    Ctrl+Z, Ctrl+Shift+Z and Ctrl+Y: undo would pull the scene from under the recording; and
    Ctrl+Q, Ctrl+N, Ctrl+O, whose "Save changes?" would write it too.
    """
    if job is None or not job.running:
        return "end"
    if event_type == "ESC" and event_value == "PRESS":
        job.cancel()
        return "wait"
    blocked = BLOCKED_KEYS.get(event_type) if ctrl else None
    if blocked is not None:
        if event_value == "PRESS" and blocked not in job.warnings:
            job.warnings.append(blocked)
        return "wait"
    if event_type != "TIMER":
        return "pass"
    return "wait" if job.step() else "end"


class SDG_OT_validate_parameters(bpy.types.Operator):
    """Check the parameter file and the scene it builds, as headless validate does, and list every problem and warning in the panel"""

    bl_idname = "sdg.validate_parameters"
    bl_label = "Validate"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        if not context.window_manager.sdg.parameter_file:
            cls.poll_message_set("Choose a parameter file to validate")
            return False
        return jobs.not_recording(cls)  # it builds the file's scene, as headless validate does

    def execute(self, context):
        settings = context.window_manager.sdg
        path = bpy.path.abspath(settings.parameter_file)
        device = None if settings.device == "FILE" else settings.device.lower()  # as Start records it
        result = jobs.validate(path, build=True, device=device)
        jobs.last_validation = result
        warned = f"{len(result.warnings)} warning(s); first: {result.warnings[0]}" if result.warnings else ""
        if result.ok:
            self.report(
                {"WARNING"} if warned else {"INFO"}, f"{path}: OK ({result.summary})" + (warned and f"; {warned}")
            )
        else:
            self.report({"WARNING"}, f"{len(result.problems)} problem(s): {result.problems[0]}")
            if warned:  # said by render before it stopped, as headless validate prints them
                self.report({"WARNING"}, warned)
        tag_redraw(context)
        return {"FINISHED"}


class JobModal:
    """The modal half of an operator that runs a RecordingJob (start_modal starts it)."""

    _timer = None

    def modal(self, context, event):
        job = jobs.current
        action = handle_event(job, event.type, event.value, ctrl=event.ctrl or event.oskey)
        if action == "wait" and event.type in BLOCKED_KEYS and event.value == "PRESS":
            self.report({"WARNING"}, BLOCKED_KEYS[event.type])
        if action == "pass":
            return {"PASS_THROUGH"}
        # The share of this run's frames done, on the scale progress_begin set (every frame of
        # the run): a resume, which renders only those not yet done, stopped short of the end.
        context.window_manager.progress_update(job.fraction * max(job.total, 1) if job else 0)
        tag_redraw(context)
        if action == "end":
            return self._end(context, job)
        return {"RUNNING_MODAL"}

    def cancel(self, context):
        # Blender ends the operator (window closed, file loaded, quit): stop the job cleanly;
        # no undo while the window or the file goes.
        jobs.shutdown(restore=False)
        self._end(context, jobs.current)

    def _end(self, context, job):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        tag_redraw(context)
        if job is None:
            return {"CANCELLED"}
        level = {"done": "INFO", "cancelled": "WARNING"}.get(job.state, "ERROR")
        self.report({level}, job.message)
        if getattr(job, "saved_during", False):
            self.report({"WARNING"}, jobs.SAVED_DURING)
        if job.state == "done" and getattr(job, "show_when_done", False):
            try:
                bpy.ops.sdg.show_frame()
            except RuntimeError as e:  # nothing to show (no rgb): said, not raised out of the modal
                self.report({"WARNING"}, str(e).strip().removeprefix("Error: "))
        return {"FINISHED"} if job.state == "done" else {"CANCELLED"}


class SDG_OT_start_recording(JobModal, bpy.types.Operator):
    """Record the dataset: the open scene with these settings, or a parameter file (the open scene is restored afterwards)"""

    bl_idname = "sdg.start_recording"
    bl_label = "Start Recording"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        settings = context.window_manager.sdg
        if jobs.running_job() is not None or context.scene is None:
            return False
        if settings.source == "FILE":
            for text, problem in (
                (settings.parameter_file, "Choose a parameter file"),
                (settings.output_dir, jobs.output_problem("")),
            ):
                if not text:
                    cls.poll_message_set(problem)
                    return False
            return True
        if not scene_can_record(cls, context.scene):
            return False
        if not context.scene.sdg.run.output.strip():  # greyed out, as for a parameter file
            cls.poll_message_set(jobs.output_problem(""))
            return False
        return True

    def execute(self, context):
        settings = context.window_manager.sdg
        try:
            if settings.source == "FILE":
                job = jobs.RecordingJob.from_settings(settings)
            else:
                job = jobs.RecordingJob.from_scene(context)
        except ValueError as e:
            self.report({"ERROR"}, f"Start Recording: {e}")
            jobs.set_error(str(e))
            tag_redraw(context)
            return {"CANCELLED"}
        jobs.set_error(None)
        return start_modal(self, context, job)


def camera_problem(scene) -> str | None:
    """Why the open scene has nothing to record from (the Cameras list says it too)."""
    cams = [o for o in scene.objects if o.type == "CAMERA"]
    if not cams:
        return "The scene has no camera: add one"
    if not any(getattr(cam, ui_settings.RECORD_PROPERTY, True) for cam in cams):
        return "No camera is ticked: tick at least one"
    return None


def scene_can_record(op_class, scene) -> bool:
    """poll() of the operators that record the open scene: off without a camera to record,
    with the reason in Blender's tooltip."""
    problem = camera_problem(scene)
    if problem is not None:
        op_class.poll_message_set(problem)
        return False
    return True


def start_modal(op, context, job):
    jobs.current = job
    wm = context.window_manager
    if context.window is not None:
        op._timer = wm.event_timer_add(TIMER_STEP, window=context.window)
    wm.modal_handler_add(op)
    wm.progress_begin(0, max(job.total, 1))
    return {"RUNNING_MODAL"}


class SDG_OT_cancel_recording(bpy.types.Operator):
    """Stop the recording after the frames in flight (finished frames are kept; resume later)"""

    bl_idname = "sdg.cancel_recording"
    bl_label = "Cancel Recording"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        job = jobs.running_job()
        if job is not None and job.state == "cancelling":  # the button stays drawn, greyed out: say why
            cls.poll_message_set("Already cancelling: the frames in flight are being finished")
            return False
        return job is not None

    def execute(self, context):
        jobs.running_job().cancel()
        tag_redraw(context)
        return {"FINISHED"}


class SDG_OT_dismiss_messages(bpy.types.Operator):
    """Clear the panel's messages about the last recording or refused start"""

    bl_idname = "sdg.dismiss_messages"
    bl_label = "Dismiss"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        job = jobs.current
        return bool(jobs.last_error) or (job is not None and not job.running)

    def execute(self, context):
        jobs.forget_messages()
        tag_redraw(context)
        return {"FINISHED"}


def when(seconds: float | None) -> str:
    """'14:02 (3 min ago)': messages stay on the panel; their age tells them from the present."""
    if seconds is None:
        return ""
    return f"{time.strftime('%H:%M', time.localtime(seconds))} ({jobs.ago(seconds)})"


def message_header(box, text: str, icon: str) -> None:
    row = box.row()
    row.label(text=text, icon=icon)
    row.operator(SDG_OT_dismiss_messages.bl_idname, text="", icon="X", emboss=False)


class SDG_PT_recorder(SidebarPanel, bpy.types.Panel):
    bl_idname = "SDG_PT_recorder"
    bl_label = "Synthetic Data Recorder"

    def draw(self, context):
        layout = self.layout
        settings = context.window_manager.sdg
        job = jobs.current
        running = job is not None and job.running

        col = layout.column()
        col.enabled = not running
        col.row().prop(settings, "source", expand=True)
        if settings.source == "FILE":
            draw_file_source(col, settings)
        elif context.scene is not None:
            draw_scene_source(col, context, settings)
        if jobs.last_error and not running:
            box = layout.box()
            box.alert = True
            message_header(box, when(jobs.last_error_time), "ERROR")
            wrapped(box, jobs.last_error)

        if running:
            draw_progress(layout, job)
        else:
            layout.operator(SDG_OT_start_recording.bl_idname, icon="REC")
            layout.label(text="Your file is not modified: the scene is restored after", icon="INFO")
            if job is not None:
                box = layout.box()
                message_header(box, f"Last {job.title.lower()}: {when(job.ended)}", "TIME")
                wrapped(box, job.message, icon="CHECKMARK" if job.state == "done" else "ERROR")
                draw_warnings(box, job)
                for note in job.notes:
                    wrapped(box, note, icon="INFO")
                if has_frames(job):  # (a Resume of a finished dataset: its frames)
                    box.operator("sdg.show_frame", icon="IMAGE_DATA")


def draw_file_source(col, settings):
    col.prop(settings, "parameter_file")
    col.prop(settings, "output_dir")
    problem = jobs.output_problem(settings.output_dir)
    if problem:
        wrapped(col, problem, icon="INFO" if not settings.output_dir.strip() else "ERROR")
    col.prop(settings, "use_file_frames")
    if not settings.use_file_frames:
        row = col.row(align=True)
        row.prop(settings, "frame_start")
        row.prop(settings, "frame_count")
    col.prop(settings, "device")
    col.prop(settings, "existing")
    col.operator(SDG_OT_validate_parameters.bl_idname, icon="CHECKMARK")
    draw_validation(col, settings)


def draw_scene_source(col, context, settings):
    scene = context.scene
    run = scene.sdg.run
    box = col.box()
    box.label(text="Cameras", icon="CAMERA_DATA")
    cams = sorted((o for o in scene.objects if o.type == "CAMERA"), key=lambda o: o.name)
    problem = camera_problem(scene)
    if problem is not None:
        box.label(text=problem, icon="ERROR")
    left_out = cameras_left_out(scene)
    for cam in cams:
        row = box.row()
        ticked = getattr(cam, ui_settings.RECORD_PROPERTY, True)
        why = left_out.get(cam.name)
        row.alert = bool(why) and ticked  # recorded, though the artist left it out of renders
        text = cam.name if not why else f"{cam.name} ({why}{': recorded while ticked' if ticked else ''})"
        row.prop(cam, ui_settings.RECORD_PROPERTY, text=text)
    grid = col.column(align=True)
    grid.prop(run, "frames")
    row = grid.row(align=True)
    row.prop(run, "width", text="X")
    row.prop(run, "height", text="Y")
    grid.prop(run, "samples")
    grid.prop(run, "denoise")
    grid.prop(run, "device")
    grid.prop(run, "seed")
    # The RGB's colour management ([render]): what the scene's Color Management panel says
    # is not used unless set here too (the recording's warnings name the differences).
    colour = col.column(align=True)
    colour.prop(run, "view_transform")
    colour.prop(run, "look")
    row = colour.row(align=True)
    row.prop(run, "exposure")
    row.prop(run, "gamma")
    col.prop(run, "film_transparent")  # a background randomizer's photo goes where it is transparent
    draw_scene_differences(col, scene)
    col.prop(run, "output")
    problem = jobs.output_problem(run.output)
    if problem:
        wrapped(col, problem, icon="INFO" if not run.output.strip() else "ERROR")
    col.prop(run, "existing")
    draw_checklist(col, settings, "show_annotators", scene.sdg.annotators, "Annotators")
    box = col.box()
    if fold_out(box, settings, "show_writers"):
        for name in WRITERS:
            group = getattr(scene.sdg.writers, name, None)
            if group is None:
                continue
            box.prop(group, "enabled", text=name)
            if group.enabled:
                sub = box.column(align=True)
                for opt in WRITERS[name].OPTIONS:
                    sub.prop(group, opt)
    extra = json.loads(scene.sdg.extra_json or "{}")
    if extra:
        wrapped(
            col,
            f"Also from {Path(scene.sdg.imported_from).name or 'the imported file'}: "
            + ", ".join(ui_settings.kept_names(extra)),
            icon="FILE",
        )
    row = col.row(align=True)
    row.operator("sdg.export_parameters", icon="EXPORT")
    row.operator("sdg.import_parameters", icon="IMPORT")


def draw_scene_differences(col, scene):
    """Where the scene's Color Management or image (size at its percentage, transparent film:
    what F12 renders) is not the recording's: say so, each with a button that takes the
    scene's values (a fresh scene's AgX is not Standard, its 1920 x 1080 not 640 x 480)."""
    for what, differences, operator in (
        ("Color Management", colour_differences, SDG_OT_match_scene_colour),
        ("image", image_differences, SDG_OT_match_scene_image),
    ):
        notes, match = differences(scene, scene.sdg.run)
        if not notes:
            continue
        box = col.box()
        wrapped(box, f"The scene's {what} is not the recording's: {'; '.join(notes)}", icon="INFO")
        if match:
            box.operator(operator.bl_idname, icon=operator.ICON)


class MatchScene:
    """Set the recording's settings to the scene's where `differences` names them."""

    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and jobs.not_recording(cls)

    def execute(self, context):
        run = context.scene.sdg.run
        notes, match = self.differences(context.scene, run)
        for name, value in match.items():
            setattr(run, name, value)
        left = self.differences(context.scene, run)[0]
        if left:
            self.report({"WARNING"}, f"Not reproduced by the recording: {'; '.join(left)}")
        return {"FINISHED"} if match else {"CANCELLED"}


class SDG_OT_match_scene_colour(MatchScene, bpy.types.Operator):
    """Set View Transform, Look, Exposure and Gamma to the scene's Color Management (the recorded RGB then looks like a render of the scene)"""

    bl_idname = "sdg.match_scene_colour"
    bl_label = "Use the Scene's Color Management"
    ICON = "COLOR"
    differences = staticmethod(colour_differences)


class SDG_OT_match_scene_image(MatchScene, bpy.types.Operator):
    """Set Resolution and Film Transparent to the scene's (Output > Format at its percentage, Film > Transparent)"""

    bl_idname = "sdg.match_scene_image"
    bl_label = "Use the Scene's Image Size and Film"
    ICON = "IMAGE_DATA"
    differences = staticmethod(image_differences)


def fold_out(box, settings, toggle: str, text: str | None = None) -> bool:
    """A header that opens and closes what follows it (a triangle, as Blender's panels): the
    setting `toggle` of `settings` says whether it is open."""
    shown = getattr(settings, toggle)
    icon = "TRIA_DOWN" if shown else "TRIA_RIGHT"
    if text is None:
        box.prop(settings, toggle, icon=icon, emboss=False)
    else:
        box.prop(settings, toggle, text=text, icon=icon, emboss=False)
    return shown


def draw_checklist(col, settings, toggle: str, group, title: str):
    box = col.box()
    if fold_out(box, settings, toggle, title):
        flow = box.grid_flow(columns=2, even_columns=True)
        for name in group.bl_rna.properties.keys():
            if name not in ("rna_type", "name"):
                flow.prop(group, name)


def draw_validation(layout, settings):
    result = jobs.last_validation
    if result is None or result.path != bpy.path.abspath(settings.parameter_file):
        return
    box = layout.box()
    if result.ok:
        wrapped(box, f"OK: {result.summary}", icon="CHECKMARK")
        for line in result.chosen:  # what targets by label chose in the built scene
            wrapped(box, line, icon="DOT")
    else:
        box.alert = True
        box.label(text=f"{len(result.problems)} problem(s)", icon="ERROR")
        for problem in result.problems[:MAX_PROBLEMS]:
            wrapped(box, problem, icon="DOT")
        if len(result.problems) > MAX_PROBLEMS:
            box.label(text=f"... and {len(result.problems) - MAX_PROBLEMS} more (see the console)")
    draw_validation_warnings(layout, settings, result.warnings)


def draw_validation_warnings(layout, settings, warnings: list[str]):
    """What render would warn of (as headless validate prints it): listed when few, in a
    box the user opens when more than MAX_WARNINGS."""
    if not warnings:
        return
    box = layout.box()
    title = f"{len(warnings)} warning(s)"
    if len(warnings) > MAX_WARNINGS:
        if not fold_out(box, settings, "show_validation_warnings", title):
            return
    else:
        box.label(text=title, icon="ERROR")
    for warning in warnings:
        wrapped(box, warning, icon="DOT")


def draw_progress(layout, job):
    box = layout.box()
    line = job.progress_line()
    progress_bar(box, job.fraction, line)
    if job.state != "running" and job.message != line:  # cancelling: said besides the bar
        wrapped(box, job.message, icon="TIME")
    box.operator(SDG_OT_cancel_recording.bl_idname, icon="CANCEL")
    box.label(text="Esc also cancels")
    wrapped(box, "Edits made now are undone with the recording when it ends; do not save until then", icon="INFO")
    draw_warnings(box, job)


def draw_warnings(layout, job):
    hidden = len(job.warnings) - MAX_WARNINGS
    if hidden > 0:  # the latest are shown: say that there are more, and where they are
        wrapped(
            layout,
            f"{hidden} earlier warning(s) not shown: a recording's own are in its folder's audit/manifest.json",
            icon="INFO",
        )
    for warning in job.warnings[-MAX_WARNINGS:]:
        wrapped(layout, warning, icon="ERROR")


CLASSES = (
    SDG_OT_validate_parameters,
    SDG_OT_start_recording,
    SDG_OT_cancel_recording,
    SDG_OT_match_scene_colour,
    SDG_OT_match_scene_image,
    SDG_OT_dismiss_messages,
    SDG_PT_recorder,
)
