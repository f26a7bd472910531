"""Export Parameter File / Import: the recorder panel's settings as a parameter file.

The exported file names the saved .blend as its base scene ([scene] blend, relative to the
parameter file) and reproduces, headless, the dataset the panel records:
`python -m headless render FILE` gives identical annotations.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import bpy
from bpy.props import StringProperty

from ..config import ConfigError, load_config
from ..config.paths import map_file_paths
from ..config.problems import Problems
from ..config.schema import config_from_dict, default_output, read_table
from ..config.toml_out import dumps_for
from ..sampling.randomizers import absolute_path
from . import settings as ui_settings
from .job import problem_sentence


def file_reference(target: str, param: Path) -> str:
    """An absolute path (the .blend, the output, a folder or glob) as the parameter file
    names it: relative to it where possible."""
    try:
        return Path(os.path.relpath(target, param.parent)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(target).as_posix()


UNSAVED = "save the .blend first (File > Save): the parameter file names it as the base scene"


class SDG_OT_export_parameters(bpy.types.Operator):
    """Write the recorder's settings as a parameter file naming this .blend (runs headless: python -m headless render FILE)"""

    bl_idname = "sdg.export_parameters"
    bl_label = "Export Parameter File"
    bl_options = {"REGISTER"}

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.toml;*.json", options={"HIDDEN"})
    check_existing: bpy.props.BoolProperty(default=True, options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        from .job import not_recording

        if context.scene is None or not not_recording(cls):
            return False
        if not bpy.data.filepath:  # greyed out before the file browser is opened, not after
            cls.poll_message_set(f"{UNSAVED[0].upper()}{UNSAVED[1:]}")
            return False
        return True

    def invoke(self, context, event):
        if not self.filepath:
            stem = Path(bpy.data.filepath).stem if bpy.data.filepath else "scene"
            self.filepath = (
                str(Path(bpy.data.filepath).with_name(f"{stem}.toml")) if bpy.data.filepath else f"{stem}.toml"
            )
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        problem = export_problem(self.filepath)
        if problem:
            self.report({"ERROR"}, f"Export Parameter File: {problem}")
            return {"CANCELLED"}
        path = Path(bpy.path.abspath(self.filepath))
        try:
            table = ui_settings.to_table(context.scene, file_reference(bpy.data.filepath, path))
        except ui_settings.SettingsError as e:
            self.report({"ERROR"}, f"Export Parameter File: {e}")
            return {"CANCELLED"}
        output = table["run"]["output"]
        where = ""
        if not output.strip():  # none chosen yet: headless uses its default (or --out)
            del table["run"]["output"]
            where = f"; no Output chosen: it writes into {default_output(path)} of the working folder (or --out)"
        elif output.startswith("//"):  # next to the .blend: that folder, as headless takes run.output
            # relative to the working folder of the command, not to the file
            table["run"]["output"] = Path(os.path.normpath(bpy.path.abspath(output))).as_posix()
        # The files and folders it names (absolute in the panels) relative to the file too.
        table = map_file_paths(table, lambda p: file_reference(p, path))
        try:  # what headless will say of the file, said now (as Start does), nothing written
            config_from_dict(copy.deepcopy(table), path)
        except ConfigError as e:
            self.report(
                {"ERROR"},
                f"Export Parameter File: {len(e.problems)} problem(s) in the settings; "
                f"first: {problem_sentence(e.problems[0], ui_settings.randomizer_names(context.scene))}",
            )
            return {"CANCELLED"}
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text(dumps_for(path.suffix, table), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)  # nothing of ours left in the user's folder
            self.report({"ERROR"}, f"Export Parameter File: cannot write {path}: {e.strerror or e}")
            return {"CANCELLED"}
        if bpy.data.is_dirty:  # also set by a recording (restored by undo) or a preview image
            self.report(
                {"WARNING"},
                f"Wrote {path}; the .blend may have unsaved changes: the headless run uses the file as saved{where}",
            )
        else:
            self.report(
                {"INFO"}, f"Wrote {path} (python -m headless render {path.name} reproduces the recording{where})"
            )
        return {"FINISHED"}


def export_problem(filepath: str) -> str | None:
    """Why Export cannot write `filepath` now (a sentence), or None."""
    if not bpy.data.filepath:
        return UNSAVED
    if Path(filepath).suffix.lower() not in (".toml", ".json"):
        return f"{Path(filepath).name!r}: choose a file name ending in .toml or .json"
    path = Path(bpy.path.abspath(filepath))
    if path.is_dir():
        return f"{path} is a folder: choose a file name ending in .toml or .json"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist: choose an existing folder"
    return None


class SDG_OT_import_parameters(bpy.types.Operator):
    """Fill the recorder and randomizer panels from a parameter file (the open scene stays the base scene)"""

    bl_idname = "sdg.import_parameters"
    bl_label = "Import"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.toml;*.json", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        from .job import not_recording

        return context.scene is not None and not_recording(cls)

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        path = Path(bpy.path.abspath(self.filepath))
        try:
            load_config(path)  # every problem at once, before anything changes
        except ConfigError as e:
            self.report({"ERROR"}, f"Import: {len(e.problems)} problem(s); first: {e.problems[0]}")
            return {"CANCELLED"}
        except OSError as e:
            self.report({"ERROR"}, f"Import: cannot read {path}: {e.strerror or e}")
            return {"CANCELLED"}
        # Relative to the file in it, absolute in the panels: a recording writes its parameter
        # file elsewhere (next to the scene copy).
        table = map_file_paths(read_table(path, Problems(path.as_posix())), lambda p: absolute_path(p, path.parent))
        problem = ui_settings.import_problem(context.scene, table)
        if problem:
            self.report({"ERROR"}, f"Import: {problem}")
            return {"CANCELLED"}
        notes = ui_settings.from_table(context.scene, table)
        context.scene.sdg.imported_from = path.as_posix()
        self.report({"INFO"}, " ".join([f"Imported {path.name}.", *(f"{n}." for n in notes)]))
        return {"FINISHED"}


CLASSES = (SDG_OT_export_parameters, SDG_OT_import_parameters)
