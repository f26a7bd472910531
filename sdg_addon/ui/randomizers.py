"""Randomizers panel: add, reorder, edit and remove the randomizers of the open scene.

Drawn from the registries (sampling.randomizers.RANDOMIZERS: types, PARAMS, OPTIONS;
sampling.distributions.DISTRIBUTIONS: distributions and their parameters), so every
registered type appears with the names the parameter file uses. Preview Frame applies
frame f's sampled values to the open scene (one undo step: Undo Preview or Ctrl+Z).
"""

from __future__ import annotations

import atexit
import os
import shutil
import uuid

import bpy
from bpy.props import EnumProperty, IntProperty

from ..sampling.distributions import DISTRIBUTIONS
from ..sampling.randomizers import RANDOMIZERS
from . import settings as ui_settings
from .job import not_recording
from .props import SidebarPanel
from .recording import JobModal, off_while_recording, scene_can_record, start_modal

KIND_HINTS = {
    "number": "0.5",
    "vec3": "[0, 0, 1]",
    "number_or_vec3": "1.5 or [1, 2, 0.5]",
    "color": "[1, 0, 0]",
    "bool": "true",
    "string": "Metal",  # a name or word, typed as it is (quotes optional)
}


class SDG_OT_randomizer_add(bpy.types.Operator):
    """Add a randomizer of this type (targets: the selected objects, lights or cameras)"""

    bl_idname = "sdg.randomizer_add"
    bl_label = "Add Randomizer"
    bl_options = {"REGISTER", "UNDO"}

    type: EnumProperty(name="Type", items=ui_settings.randomizer_items)

    @classmethod
    def poll(cls, context):
        return context.scene is not None and not_recording(cls)

    def execute(self, context):
        s = context.scene.sdg
        item = ui_settings.add_randomizer(s, {"type": self.type})
        kind = RANDOMIZERS[self.type].target_kind
        item.targets = ", ".join(ui_settings.name_glob(n) for n in selected_targets(context, kind))
        s.randomizer_index = len(s.randomizers) - 1
        if kind is not None and not item.targets:
            self.report(
                {"WARNING"},
                f"Randomizer {len(s.randomizers)} ({self.type}) has no targets: it takes {TARGET_TYPES[kind][1]}; "
                "select them and click Use Selected, or type their names",
            )
        return {"FINISHED"}


class SDG_OT_randomizer_remove(bpy.types.Operator):
    """Remove this randomizer"""

    bl_idname = "sdg.randomizer_remove"
    bl_label = "Remove Randomizer"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(min=0)

    @classmethod
    def poll(cls, context):
        return context.scene is not None and len(context.scene.sdg.randomizers) > 0 and not_recording(cls)

    def execute(self, context):
        s = context.scene.sdg
        if self.index >= len(s.randomizers):
            self.report({"ERROR"}, f"Remove Randomizer: there is no randomizer {self.index + 1}")
            return {"CANCELLED"}
        s.randomizers.remove(self.index)
        s.randomizer_index = min(s.randomizer_index, max(0, len(s.randomizers) - 1))
        return {"FINISHED"}


class SDG_OT_randomizer_move(bpy.types.Operator):
    """Move this randomizer up or down (randomizers apply in list order)"""

    bl_idname = "sdg.randomizer_move"
    bl_label = "Move Randomizer"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(min=0)
    direction: EnumProperty(items=(("UP", "Up", ""), ("DOWN", "Down", "")))

    @classmethod
    def poll(cls, context):
        return context.scene is not None and len(context.scene.sdg.randomizers) > 1 and not_recording(cls)

    def execute(self, context):
        s = context.scene.sdg
        to = self.index - 1 if self.direction == "UP" else self.index + 1
        if not (0 <= self.index < len(s.randomizers) and 0 <= to < len(s.randomizers)):
            return {"CANCELLED"}
        s.randomizers.move(self.index, to)
        s.randomizer_index = to
        return {"FINISHED"}


class SDG_OT_randomizer_use_selected(bpy.types.Operator):
    """Set the targets to the selected objects (lights / cameras for those randomizers)"""

    bl_idname = "sdg.randomizer_use_selected"
    bl_label = "Use Selected"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(min=0)

    @classmethod
    def poll(cls, context):
        if not getattr(context, "selected_objects", None):
            cls.poll_message_set("Select the objects, lights or cameras to use as this randomizer's targets")
            return False
        return context.scene is not None and not_recording(cls)

    def execute(self, context):
        s = context.scene.sdg
        if self.index >= len(s.randomizers):
            return {"CANCELLED"}
        item = s.randomizers[self.index]
        kind = RANDOMIZERS[item.type].target_kind
        names = selected_targets(context, kind)
        if not names:
            self.report(
                {"WARNING"}, f"Use Selected: a {item.type} randomizer takes {TARGET_TYPES[kind][1]}; none is selected"
            )
            return {"CANCELLED"}
        item.targets = ", ".join(ui_settings.name_glob(n) for n in names)  # each names its object alone
        if item.target_labels.strip():  # the selection chooses now, not labels
            item.target_labels = ""
            self.report({"INFO"}, f"Use Selected: {item.type} targets these by name now (Target Labels cleared)")
        return {"FINISHED"}


# A randomizer's target_kind (RandomizerSpec): the object types it takes, and in words.
TARGET_TYPES = {
    "objects": (lambda t: t not in ("LIGHT", "CAMERA"), "objects (not lights or cameras)"),
    "lights": (lambda t: t == "LIGHT", "lights"),
    "cameras": (lambda t: t == "CAMERA", "cameras"),
    "placeables": (lambda t: t != "CAMERA", "objects or lights"),
    "any": (lambda t: True, "objects, lights or cameras"),
}


def selected_targets(context, kind: str | None) -> list[str]:
    if kind is None:
        return []
    objects = getattr(context, "selected_objects", None) or []
    takes = TARGET_TYPES[kind][0]
    return sorted(o.name for o in objects if takes(o.type))


class SDG_OT_preview_frame(bpy.types.Operator):
    """Apply frame f's sampled values to the open scene to see them (Undo Preview or Ctrl+Z takes them back)"""

    bl_idname = "sdg.preview_frame"
    bl_label = "Preview Frame"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and not_recording(cls)

    def execute(self, context):
        from ..recorder import RecorderError
        from . import job as jobs

        warnings: list[str] = []
        try:
            applied = preview(context.scene, context.scene.sdg.preview_frame, warnings.append)
        except (ValueError, RecorderError) as e:
            self.report({"ERROR"}, f"Preview Frame: {e}")
            jobs.set_error(f"Preview Frame: {e}")
            return {"CANCELLED"}
        beyond = beyond_the_recording(context.scene)
        if beyond:
            warnings.append(beyond)
        jobs.set_error("; ".join(f"Preview Frame: {w}" for w in warnings) or None)
        for warning in warnings:
            self.report({"WARNING"}, f"Preview Frame: {warning}")
        self.report({"INFO"}, f"Frame {context.scene.sdg.preview_frame}: applied {applied} value(s); Ctrl+Z undoes it")
        return {"FINISHED"}


def beyond_the_recording(scene) -> str | None:
    """What Preview Frame and Render Preview say of a frame past the recording's Frames."""
    frame, frames = scene.sdg.preview_frame, scene.sdg.run.frames
    if frame < frames:
        return None
    return (
        f"frame {frame} is beyond the recording's {frames} frame(s) (0 to {frames - 1}): the recording does not make it"
    )


def preview(scene, frame: int, on_warning=None) -> int:
    """Apply frame `frame`'s sampled values of the panels' randomizers to `scene` (built as a
    recording builds it); returns how many target values were applied. Warnings about the
    entries (a target name that matches nothing) go to `on_warning`."""
    import tempfile
    from pathlib import Path

    from ..config import ConfigError, FieldError
    from ..config.schema import config_from_dict
    from ..recorder import Recorder, RunOptions
    from ..sampling import clip_of, sample_frame
    from ..sampling.cases import apply_overrides, assign_frames, is_quota
    from ..scene.build import build_scene
    from ..scene.motion import SequencePlayer
    from ..scene.physics import remove_helpers
    from .job import PREVIEW_MARK, applied_previews, preview_problem

    problem = preview_problem(scene)
    if problem:
        raise ValueError(problem)
    try:
        table = ui_settings.to_table(scene, None)
    except ui_settings.SettingsError as e:
        raise ValueError(str(e)) from None
    table["run"]["output"] = "preview"
    try:
        config = config_from_dict(table, Path(tempfile.gettempdir()) / "preview.toml", open_scene=True)
    except ConfigError as e:
        raise settings_problem(e, scene) from None
    before = set(scene.objects.keys())
    had_world = scene.rigidbody_world is not None  # the user's own (settling replaces it)
    try:  # problems only the built scene shows (targets that match nothing, ...)
        built = build_scene(config, scene)
        recorder = Recorder(config, RunOptions(Path("preview"), range(frame, frame + 1)), on_warning=on_warning)
        targets = recorder.prepare_scene(built)
    except FieldError as e:  # a value only the built scene refuses (its labels...), as Start names it
        raise settings_problem(config.named([e, *e.more]), scene) from None
    except ConfigError as e:
        raise settings_problem(e, scene) from None
    # As the recording applies frame f: its draw within its clip, played (trajectories move
    # their objects to the clip's time; a still is a clip of one frame).
    clip_len = config.sequence.clip_length
    sampled = sample_frame(
        config.seed, frame, config.randomizers, targets, clip_len, config.sequence.fps, recorder.scene_facts(built)
    )
    assigned = assign_frames(config.seed, config.frames, config.cases)
    for case in config.cases:  # a fixed corner case on its frames (a quota's first draw is shown)
        if frame in assigned[case.name] and not is_quota(case):
            apply_overrides(sampled, case)
    SequencePlayer(built, config.sequence, config.randomizers).apply(clip_of(frame, clip_len)[1], sampled)
    remove_helpers(scene, keep_world=had_world)  # physics proxies: the settled poses stay
    # Undone with the preview: Undo Preview is offered while it is there, and the objects it
    # added (an imported file's cameras, lights, assets) are ones a build would add again.
    token = uuid.uuid4().hex
    applied_previews.add(token)
    scene[PREVIEW_MARK] = {"frame": frame, "objects": sorted(set(scene.objects.keys()) - before), "token": token}
    bpy.context.view_layer.update()
    return sum(len(entry["values"]) for entry in sampled)


def settings_problem(error, scene) -> ValueError:
    """A ConfigError of the panels' settings as the panels say it (no temporary file)."""
    from .job import problem_sentence

    first = problem_sentence(error.problems[0], ui_settings.randomizer_names(scene))
    return ValueError(f"{len(error.problems)} problem(s) in the settings; first: {first}")


_last_preview: str | None = None
PREVIEW_PREFIX = "sdg_preview_"


def remove_last_preview() -> None:
    """The last Render Preview's folder (ours, in the temp folder): removed at the next preview
    and when Blender quits, so previews do not pile up in the user's temp folder."""
    global _last_preview
    if _last_preview is not None:
        shutil.rmtree(_last_preview, ignore_errors=True)
        _last_preview = None


atexit.register(remove_last_preview)


class SDG_OT_preview_render(JobModal, bpy.types.Operator):
    """Record frame f alone into a temporary folder and show it (RGB, masks, depth, boxes) in an Image Editor"""

    bl_idname = "sdg.preview_render"
    bl_label = "Render Preview"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and not_recording(cls) and scene_can_record(cls, context.scene)

    def execute(self, context):
        import tempfile

        from ..capture.render import remove_stale_dirs
        from . import job as jobs

        frame = context.scene.sdg.preview_frame
        global _last_preview
        remove_last_preview()
        # Named with this Blender's pid: a later preview removes what a Blender killed before
        # its exit clean-up left (as a run does with its render folders).
        remove_stale_dirs(PREVIEW_PREFIX, tempfile.gettempdir())
        folder = _last_preview = tempfile.mkdtemp(prefix=f"{PREVIEW_PREFIX}{os.getpid()}_")
        try:
            job = jobs.RecordingJob.from_scene(context, output=folder, preview=frame)
        except ValueError as e:
            self.report({"ERROR"}, f"Render Preview: {e}")
            jobs.set_error(f"Render Preview: {e}")
            return {"CANCELLED"}
        job.show_when_done = True
        job.title = f"Render Preview of frame {frame}"
        beyond = beyond_the_recording(context.scene)
        if beyond:  # said as Preview Frame says it, and under the preview's result in the panel
            job.notes.append(beyond)
            self.report({"WARNING"}, f"Render Preview: {beyond}")
        return start_modal(self, context, job)


class SDG_OT_undo_preview(bpy.types.Operator):
    """Take the previewed values back (the same as Edit > Undo)"""

    bl_idname = "sdg.undo_preview"
    bl_label = "Undo Preview"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        from .job import PREVIEW_MARK, PREVIEW_SAVED, preview_undoable

        # a preview is applied; while recording, undo would replace the scene being rendered
        if context.scene is None or not not_recording(cls):
            return False
        if PREVIEW_MARK not in context.scene:  # greyed out: the tooltip says why
            cls.poll_message_set("No preview is applied: Preview Frame applies frame f's values, this takes them back")
            return False
        if not preview_undoable(context.scene):
            cls.poll_message_set(PREVIEW_SAVED)
            return False
        return True

    def execute(self, context):
        try:
            bpy.ops.ed.undo()
        except RuntimeError as e:
            self.report({"ERROR"}, f"Undo Preview: {e}; use Edit > Undo")
            return {"CANCELLED"}
        return {"FINISHED"}


class SDG_MT_randomizer_add(bpy.types.Menu):
    bl_idname = "SDG_MT_randomizer_add"
    bl_label = "Add Randomizer"

    def draw(self, context):
        for name, label, _desc, _number in ui_settings.randomizer_items():
            self.layout.operator(SDG_OT_randomizer_add.bl_idname, text=label).type = name


class SDG_PT_randomizers(SidebarPanel, bpy.types.Panel):
    bl_idname = "SDG_PT_randomizers"
    bl_label = "Randomizers"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        if scene is None:
            return
        s = scene.sdg
        layout = off_while_recording(layout)
        layout.menu(SDG_MT_randomizer_add.bl_idname, icon="ADD")
        if not s.randomizers:
            layout.label(text="No randomizers: every frame shows the scene as it is", icon="INFO")
        for i, item in enumerate(s.randomizers):
            draw_randomizer(layout.box(), item, i, len(s.randomizers))
        row = layout.row(align=True)
        row.prop(s, "preview_frame")
        row.operator(SDG_OT_preview_frame.bl_idname, icon="HIDE_OFF")
        row = layout.row(align=True)
        row.operator(SDG_OT_undo_preview.bl_idname, icon="LOOP_BACK")
        row.operator(SDG_OT_preview_render.bl_idname, icon="RENDER_STILL")


def draw_randomizer(box, item, index: int, count: int) -> None:
    cls = RANDOMIZERS.get(item.type)
    header = box.row(align=True)
    header.prop(item, "show_expanded", text="", icon="TRIA_DOWN" if item.show_expanded else "TRIA_RIGHT", emboss=False)
    header.prop(item, "enabled", text="")
    header.label(text=f"{index + 1}. {item.type or 'a type this version lacks'}")
    for direction, icon in (("UP", "TRIA_UP"), ("DOWN", "TRIA_DOWN")):
        sub = header.row(align=True)
        sub.enabled = (index > 0) if direction == "UP" else (index < count - 1)
        op = sub.operator(SDG_OT_randomizer_move.bl_idname, text="", icon=icon)
        op.index, op.direction = index, direction
    header.operator(SDG_OT_randomizer_remove.bl_idname, text="", icon="X").index = index
    if not item.show_expanded or cls is None:
        return
    if cls.target_kind is not None:
        row = box.row(align=True)
        by_label = cls.target_kind in ui_settings.LABEL_TARGET_KINDS and bool(item.target_labels.strip())
        names = row.row(align=True)
        names.active = not by_label  # the labels choose (the names are kept, not used)
        names.prop(item, "targets")
        row.operator(SDG_OT_randomizer_use_selected.bl_idname, text="", icon="RESTRICT_SELECT_OFF").index = index
        if cls.target_kind in ui_settings.LABEL_TARGET_KINDS:
            box.prop(item, "target_labels")
    row = box.row(align=True)  # when it draws new values
    row.prop(item, "trigger")
    sub = row.row(align=True)
    sub.enabled = item.trigger == "frame"  # once: drawn at frame 0 only
    sub.prop(item, "interval")
    needed = ui_settings.required_params(item)
    for row in item.params:
        line = box.row(align=True)
        line.alert = row.name in needed and not row.use  # shown red until given
        line.prop(row, "use", text=f"{row.name} (required)" if row.name in needed else row.name)
        if not row.use:
            continue
        line.prop(row, "distribution", text="")
        col = box.column(align=True)
        if row.distribution == ui_settings.CONSTANT:
            col.prop(row, "value", text=f"value (e.g. {KIND_HINTS.get(row.kind, '0')})")
        elif row.distribution not in DISTRIBUTIONS:  # saved by another version or a plugin
            col.label(text="A distribution this version lacks: choose one", icon="ERROR")
        else:
            for p in DISTRIBUTIONS[row.distribution].PARAMS:
                col.prop(row, p)
    for row in item.options:
        line = box.row()
        required = row.name in cls.REQUIRED_OPTIONS
        line.alert = required and row.value.strip() in ("", '""')  # shown red until given
        text = f"{row.name} (required)" if required else row.name
        line.prop(row, "path" if row.name in cls.PATH_OPTIONS else "value", text=text)


CLASSES = (
    SDG_OT_randomizer_add,
    SDG_OT_randomizer_remove,
    SDG_OT_randomizer_move,
    SDG_OT_randomizer_use_selected,
    SDG_OT_preview_frame,
    SDG_OT_preview_render,
    SDG_OT_undo_preview,
    SDG_MT_randomizer_add,
    SDG_PT_randomizers,
)
