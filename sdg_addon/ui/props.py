"""Settings of the SDG panels, on the window manager (`context.window_manager.sdg`).

Label-tool and parameter-file settings live on the window manager; the recorder's settings
for the open scene live on the scene (ui.settings), so they are saved with the .blend.
"""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, PointerProperty, StringProperty

from ..compat import path_options
from .settings import EXISTING_ITEMS  # one wording for both Existing Frames fields

# The add-on's root folder (the extension folder when installed, the repository otherwise).
ADDON_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_PRESET = ADDON_ROOT / "presets" / "default.toml"

DEVICE_ITEMS = (
    ("FILE", "From File", "Use render.device of the parameter file"),
    ("AUTO", "Auto", "A GPU backend if Cycles finds one, else the CPU"),
    ("CPU", "CPU", ""),
    ("CUDA", "CUDA", ""),
    ("OPTIX", "OptiX", ""),
    ("HIP", "HIP", ""),
    ("METAL", "Metal", ""),
    ("ONEAPI", "oneAPI", ""),
)

SCOPE_ITEMS = (
    ("MESHES", "All Meshes", "Every mesh object of the scene"),
    ("SELECTED", "Selected", "The selected objects"),
    ("OBJECTS", "All Objects", "Every object of the scene"),
    ("COLLECTIONS", "Collections", "Every collection of the scene"),
)


# Strip Prefixes is typed comma-separated (NameRule.from_text), not as the declaration's TOML
# list: the panel's field and the operator's (its Adjust Last Operation panel) say so.
PREFIXES_DOC = "Literal prefixes removed first (the first that matches), comma-separated, e.g. SM_, GEO_"


def rule_property(field_name: str, **extra):
    """A Label by Name Rule setting, declared once in config.schema.LABEL_RULE_FIELDS."""
    from ..config.schema import LABEL_RULE_FIELDS
    from .settings import field_property

    return field_property(next(f for f in LABEL_RULE_FIELDS if f.name == field_name), **extra)


class SDG_PG_settings(bpy.types.PropertyGroup):
    # ---------------------------------------------------------------- labels
    label_type: StringProperty(name="Type", default="class", description="Label type, e.g. class")
    label_value: StringProperty(name="Value", default="", description="Label value, e.g. mug")
    rename_from: StringProperty(name="Old Value", default="", description="The label value to rename, e.g. mugg")
    rename_to: StringProperty(name="New Value", default="", description="What it becomes, e.g. mug")
    # The rule's settings come from the `[[label_rules]]` declarations (one engine, one schema).
    rule_pattern: rule_property("pattern")
    rule_prefixes: rule_property("prefixes", name="Strip Prefixes", description=PREFIXES_DOC)
    rule_suffix: rule_property("suffix", name="Strip Suffix")
    rule_lowercase: rule_property("lowercase")
    rule_scope: EnumProperty(name="Apply To", items=SCOPE_ITEMS, default="MESHES")
    rule_overwrite: rule_property("overwrite")

    # ---------------------------------------------------------------- recorder
    source: EnumProperty(
        name="Record",
        items=(
            ("SCENE", "Open Scene", "Record the scene open in Blender with the settings below (it is restored after)"),
            (
                "FILE",
                "Parameter File",
                "Record a parameter file as the headless driver does (the open scene is restored after)",
            ),
        ),
        default="SCENE",
    )
    show_annotators: BoolProperty(name="Annotators", default=False)
    show_writers: BoolProperty(name="Writers", default=False)
    show_validation_warnings: BoolProperty(
        name="Warnings", default=False, description="List the warnings Validate found (what render would warn of)"
    )
    parameter_file: StringProperty(
        name="Parameter File",
        subtype="FILE_PATH",
        options=path_options(),
        default=str(DEFAULT_PRESET),
        description="Parameter file (.toml or .json) to record; the default is the bundled preset",
    )
    output_dir: StringProperty(
        name="Output",
        subtype="DIR_PATH",
        options=path_options(),
        default="",
        description="Folder the dataset is written to, in place of the file's run.output: an absolute folder, or "
        "//name for one next to the .blend",
    )
    use_file_frames: BoolProperty(
        name="All Frames of the File", default=True, description="Record the frames run.frames of the file"
    )
    frame_start: IntProperty(name="Start", default=0, min=0, description="First frame index")
    frame_count: IntProperty(name="Count", default=10, min=1, description="Number of frames")
    device: EnumProperty(name="Device", items=DEVICE_ITEMS, default="FILE")
    existing: EnumProperty(
        name="Existing Frames", items=EXISTING_ITEMS, default="STOP", description="When the output folder has frames"
    )


CLASSES = (SDG_PG_settings,)


def register_properties() -> None:
    bpy.types.WindowManager.sdg = PointerProperty(type=SDG_PG_settings)


def unregister_properties() -> None:
    del bpy.types.WindowManager.sdg


class SidebarPanel:
    """Mixin: our panels live in the 3D view's sidebar, tab "SDG"."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "SDG"
