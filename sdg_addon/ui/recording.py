"""Recorder panel and operators: validate a parameter file, record it modally, cancel.

Start runs a modal operator: a window-manager timer calls RecordingJob.step(), which
renders one frame and returns, so the UI stays usable between frames (a frame itself
blocks while Cycles renders it). Esc or the Cancel button stop after the frames in flight
are written; the dataset stays valid and can be resumed.
"""

from __future__ import annotations

import textwrap

import bpy

from ..compat import progress_bar
from . import job as jobs
from .props import SidebarPanel

TIMER_STEP = 0.05  # seconds between steps (a step is one frame)
MAX_PROBLEMS = 8
WRAP = 60


def tag_redraw(context) -> None:
    wm = context.window_manager
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def wrapped(layout, text: str, icon: str = "NONE") -> None:
    for i, line in enumerate(textwrap.wrap(text, WRAP) or [""]):
        layout.label(text=line, icon=icon if i == 0 else "BLANK1")


def handle_event(job, event_type: str, event_value: str) -> str:
    """One event of the recording's modal operator: "pass" it on, "wait" for more, or "end".

    A timer tick advances the job by one frame; Esc cancels it (the frames in flight are
    still written, so the modal keeps stepping until the job is over).
    """
    if job is None or not job.running:
        return "end"
    if event_type == "ESC" and event_value == "PRESS":
        job.cancel()
        return "wait"
    if event_type != "TIMER":
        return "pass"
    return "wait" if job.step() else "end"


class SDG_OT_validate_parameters(bpy.types.Operator):
    """Check the parameter file and list every problem in the panel"""

    bl_idname = "sdg.validate_parameters"
    bl_label = "Validate"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return bool(context.window_manager.sdg.parameter_file)

    def execute(self, context):
        path = bpy.path.abspath(context.window_manager.sdg.parameter_file)
        result = jobs.validate(path)
        jobs.last_validation = result
        if result.ok:
            self.report({"INFO"}, f"{path}: OK ({result.summary})")
        else:
            self.report({"WARNING"}, f"{len(result.problems)} problem(s): {result.problems[0]}")
        tag_redraw(context)
        return {"FINISHED"}


class SDG_OT_start_recording(bpy.types.Operator):
    """Build the scene of the parameter file (replacing the open scene) and record the dataset"""

    bl_idname = "sdg.start_recording"
    bl_label = "Start Recording"
    bl_options = {"REGISTER"}

    _timer = None

    @classmethod
    def poll(cls, context):
        settings = context.window_manager.sdg
        return jobs.running_job() is None and bool(settings.parameter_file) and bool(settings.output_dir)

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(
            self,
            event,
            title="Start Recording",
            message="Recording from a parameter file replaces the open scene; unsaved changes are lost.",
            confirm_text="Record",
            icon="WARNING",
        )

    def execute(self, context):
        try:
            job = jobs.RecordingJob.from_settings(context.window_manager.sdg)
        except ValueError as e:
            self.report({"ERROR"}, f"Start Recording: {e}")
            return {"CANCELLED"}
        jobs.current = job
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_STEP, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, max(job.total, 1))
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = jobs.current
        action = handle_event(job, event.type, event.value)
        if action == "pass":
            return {"PASS_THROUGH"}
        context.window_manager.progress_update(job.done if job else 0)
        tag_redraw(context)
        if action == "end":
            return self._end(context, job)
        return {"RUNNING_MODAL"}

    def cancel(self, context):
        # Blender ends the operator (window closed, file loaded): stop the job cleanly.
        jobs.shutdown()
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
        return {"FINISHED"} if job.state == "done" else {"CANCELLED"}


class SDG_OT_cancel_recording(bpy.types.Operator):
    """Stop the recording after the frames in flight (finished frames are kept; resume later)"""

    bl_idname = "sdg.cancel_recording"
    bl_label = "Cancel Recording"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        job = jobs.running_job()
        return job is not None and job.state != "cancelling"

    def execute(self, context):
        jobs.running_job().cancel()
        tag_redraw(context)
        return {"FINISHED"}


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
        col.prop(settings, "parameter_file")
        col.prop(settings, "output_dir")
        if not settings.output_dir:
            col.label(text="Choose an output folder", icon="INFO")
        col.prop(settings, "use_file_frames")
        if not settings.use_file_frames:
            row = col.row(align=True)
            row.prop(settings, "frame_start")
            row.prop(settings, "frame_count")
        col.prop(settings, "device")
        col.prop(settings, "existing")
        col.operator(SDG_OT_validate_parameters.bl_idname, icon="CHECKMARK")
        draw_validation(layout, settings)

        if running:
            draw_progress(layout, job)
        else:
            layout.operator(SDG_OT_start_recording.bl_idname, icon="REC")
            layout.label(text="Recording replaces the open scene", icon="INFO")
            if job is not None:
                box = layout.box()
                wrapped(box, job.message, icon="CHECKMARK" if job.state == "done" else "ERROR")
                draw_warnings(box, job)


def draw_validation(layout, settings):
    result = jobs.last_validation
    if result is None or result.path != bpy.path.abspath(settings.parameter_file):
        return
    box = layout.box()
    if result.ok:
        wrapped(box, f"OK: {result.summary}", icon="CHECKMARK")
        return
    box.alert = True
    box.label(text=f"{len(result.problems)} problem(s)", icon="ERROR")
    for problem in result.problems[:MAX_PROBLEMS]:
        wrapped(box, problem, icon="DOT")
    if len(result.problems) > MAX_PROBLEMS:
        box.label(text=f"... and {len(result.problems) - MAX_PROBLEMS} more (see the console)")


def draw_progress(layout, job):
    box = layout.box()
    line = job.progress_line()
    progress_bar(box, job.fraction, line)
    if job.message != line:
        wrapped(box, job.message, icon="TIME")
    box.operator(SDG_OT_cancel_recording.bl_idname, icon="CANCEL")
    box.label(text="Esc also cancels")
    draw_warnings(box, job)


def draw_warnings(layout, job):
    for warning in job.warnings[-3:]:
        wrapped(layout, warning, icon="ERROR")


CLASSES = (SDG_OT_validate_parameters, SDG_OT_start_recording, SDG_OT_cancel_recording, SDG_PT_recorder)
