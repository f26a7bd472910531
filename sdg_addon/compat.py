"""Blender 4.2 LTS vs 5.x: every difference the add-on meets, in one place.

Checked with the bpy wheels 4.2.23 and 5.0.1 (tests run the smoke set on both).
"""

from __future__ import annotations

# Blender 4.x names render passes in a multilayer EXR by their short legacy names; 5.0
# spells them out. The capture reads passes by the 5.x names (canonical_passes).
LEGACY_PASS_NAMES = {
    "IndexOB": "Object Index",
    "IndexMA": "Material Index",
    "AO": "Ambient Occlusion",
    "DiffCol": "Diffuse Color",
    "DiffDir": "Diffuse Direct",
    "DiffInd": "Diffuse Indirect",
    "GlossCol": "Glossy Color",
    "GlossDir": "Glossy Direct",
    "GlossInd": "Glossy Indirect",
    "TransCol": "Transmission Color",
    "TransDir": "Transmission Direct",
    "TransInd": "Transmission Indirect",
    "VolumeDir": "Volume Direct",
    "VolumeInd": "Volume Indirect",
    "Emit": "Emission",
    "Env": "Environment",
}


def canonical_passes(passes: dict) -> dict:
    """{pass name: array} with Blender 4.x pass names replaced by the 5.x ones."""
    return {LEGACY_PASS_NAMES.get(name, name): value for name, value in passes.items()}


def blender_version() -> tuple[int, int, int]:
    import bpy

    return tuple(bpy.app.version)


def use_nodes(idblock) -> None:
    """Materials and worlds use nodes: a switch before Blender 5 (always on, deprecated, after)."""
    if blender_version() < (5, 0, 0):
        idblock.use_nodes = True


def set_multilayer_exr(image_settings) -> None:
    """Blender 5 chooses multilayer through media_type; 4.x has the file format alone."""
    if hasattr(image_settings, "media_type"):
        image_settings.media_type = "MULTI_LAYER_IMAGE"
    image_settings.file_format = "OPEN_EXR_MULTILAYER"


def progress_bar(layout, factor: float, text: str) -> None:
    """A progress bar where the layout has one (Blender >= 4.0), else a label."""
    if hasattr(layout, "progress"):
        layout.progress(factor=factor, type="BAR", text=text)
    else:
        layout.label(text=text)


def path_options() -> set[str]:
    """Options of a path StringProperty that may hold "//" (relative to the .blend): newer
    Blenders warn unless the property says so; 4.2 has no such option."""
    import bpy

    if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties.keys():
        return {"PATH_SUPPORTS_BLEND_RELATIVE"}
    return set()
