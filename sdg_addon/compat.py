"""Blender 4.2 LTS vs 5.x: every difference the add-on meets, in one place (import only
where bpy is available). Checked with the bpy wheels 4.2.23 and 5.0.1 (CI runs a smoke
set on both: tests/test_blender_versions.py)."""

from __future__ import annotations

import bpy

from .colour import LINEAR_REC709

IS_5 = bpy.app.version >= (5, 0, 0)


def sky_model() -> str:
    """The physically based sky model: Nishita in 4.x; its successor in 5.x (Nishita was
    renamed single scattering, and multiple scattering added: the better one is used)."""
    items = {e.identifier for e in bpy.types.ShaderNodeTexSky.bl_rna.properties["sky_type"].enum_items}
    for name in ("MULTIPLE_SCATTERING", "NISHITA", "SINGLE_SCATTERING"):
        if name in items:
            return name
    return "HOSEK_WILKIE"


def sky_aerosol_property() -> str:
    """The sky node's dust / aerosol density: `dust_density` in 4.x, `aerosol_density` in 5.x."""
    props = bpy.types.ShaderNodeTexSky.bl_rna.properties
    return "aerosol_density" if "aerosol_density" in props else "dust_density"


def disable_light_temperature(light) -> None:
    """Blender's own light temperature (4.4+: `use_temperature`, which multiplies the colour)
    off: the add-on sets the colour from a temperature itself, the same on every version."""
    if hasattr(light, "use_temperature"):
        light.use_temperature = False


def white_balance_on(view_settings) -> bool:
    """Whether the view's white balance is on (Blender 4.3+: `use_white_balance`; 4.2 has none)."""
    return bool(getattr(view_settings, "use_white_balance", False))


def disable_white_balance(view_settings) -> None:
    """The view's white balance off, where this Blender has one (4.3+)."""
    if hasattr(view_settings, "use_white_balance"):
        view_settings.use_white_balance = False


def enable_nodes(idblock) -> None:
    """Materials and worlds use nodes: to be switched on in 4.x, always on (deprecated) in 5.x."""
    if not IS_5:
        idblock.use_nodes = True


def world_nodes_as_in_5(world) -> None:
    """A world with nodes off (4.x: a world made by a script has no node tree; one a user
    switched off renders its flat colour) made as Blender 5.x makes it when it reads the
    file: a Background node of the world's colour, strength 1, feeding an active World
    Output (beside the old nodes, left unused). Without it the world randomizers and
    world_property paths were refused on 4.2 for a file 5.x runs (the same image either way)."""
    if IS_5 or world is None or world.use_nodes:
        return
    had_tree = world.node_tree is not None
    world.use_nodes = True  # 4.x makes a tree where there was none: Output <- Background
    nodes = world.node_tree.nodes
    if had_tree:
        output = nodes.new("ShaderNodeOutputWorld")
        bg = nodes.new("ShaderNodeBackground")
        world.node_tree.links.new(bg.outputs["Background"], output.inputs["Surface"])
        for n in nodes:
            if n.type == "OUTPUT_WORLD":
                n.is_active_output = n == output
    else:
        bg = next(n for n in nodes if n.type == "BACKGROUND")
    bg.inputs["Color"].default_value = (*world.color[:3], 1.0)
    bg.inputs["Strength"].default_value = 1.0


def uses_nodes(idblock) -> bool:
    """Whether a material or world renders its node tree (always in 5.x)."""
    return idblock.node_tree is not None and (IS_5 or idblock.use_nodes)


def compositor_tree(scene):
    """The scene's compositor node tree, None where it has none: a node group of its own in
    Blender 5 (`compositing_node_group`), `node_tree` in 4.x while Use Nodes is on."""
    if hasattr(scene, "compositing_node_group"):
        return scene.compositing_node_group
    return scene.node_tree if scene.use_nodes else None


def all_strips(editor) -> list:
    """Every strip of a sequence editor, those inside meta strips too: `strips_all` in Blender
    4.4 and later, `sequences_all` in 4.2."""
    return list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)


def action_fcurves(action) -> list:
    """The F-curves of an action: its own in Blender 4.2, those of its layers' strips' channel
    bags in the layered actions of 4.4 and later (a 4.2 file's actions are read as such)."""
    curves = list(getattr(action, "fcurves", None) or [])
    for layer in getattr(action, "layers", ()):
        for strip in layer.strips:
            for bag in getattr(strip, "channelbags", ()):
                curves += list(bag.fcurves)
    return curves


# Cycles 4.2 with persistent data (render.persistent_data, on by default) gives a view layer's
# vector pass wrong motion (every pixel moving towards the image's corner, also in a still)
# when the render's first layer has no vector pass; the 1-sample data layer is such a layer.
# Seen with bpy 4.2.23, not with 5.0.1: there the main layer keeps its vector pass too.
VECTOR_PASS_ON_EVERY_LAYER = not IS_5


def mix_rgb(tree):
    """A colour mix node with (factor, a, b, result) sockets, the same in 4.2 and 5.x."""
    node = tree.nodes.new("ShaderNodeMix")
    node.data_type = "RGBA"
    ins = {s.identifier: s for s in node.inputs}
    outs = {s.identifier: s for s in node.outputs}
    return node, ins["Factor_Float"], ins["A_Color"], ins["B_Color"], outs["Result_Color"]


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


def set_multilayer_exr(image_settings) -> None:
    """Blender 5 chooses multilayer through media_type; 4.x has the file format alone."""
    if hasattr(image_settings, "media_type"):
        image_settings.media_type = "MULTI_LAYER_IMAGE"
    image_settings.file_format = "OPEN_EXR_MULTILAYER"


def set_single_image(image_settings) -> None:
    """Blender 5 chooses a single image (not a multilayer EXR or a video) through media_type;
    4.x has the file format alone (set after this)."""
    if hasattr(image_settings, "media_type"):
        image_settings.media_type = "IMAGE"


def render_multilayer_exr(scene, path: str) -> None:
    """Render the scene's camera into the multilayer EXR at `path`.

    Pixels that are not square (a camera with fy != fx): Blender 5.0 refuses to write such a
    render as a multilayer EXR ("Conflicting attributes found for header ...
    'pixelAspectRatio'"; 4.2 writes it). The render result is then saved after the render,
    with square pixels set for the save alone: the pixels are those rendered. One path on
    every version (4.2 takes it too), the direct one for square pixels.
    """
    r = scene.render
    aspect = r.pixel_aspect_x, r.pixel_aspect_y
    if aspect == (1.0, 1.0):
        r.filepath = path
        bpy.ops.render.render(write_still=True)
        return
    bpy.ops.render.render(write_still=False)
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    try:
        bpy.data.images["Render Result"].save_render(path, scene=scene)
    finally:
        r.pixel_aspect_x, r.pixel_aspect_y = aspect


def progress_bar(layout, factor: float, text: str) -> None:
    """A progress bar where the layout has one (Blender >= 4.0), else a label."""
    if hasattr(layout, "progress"):
        layout.progress(factor=factor, type="BAR", text=text)
    else:
        layout.label(text=text)


def path_options() -> set[str]:
    """Options of a path StringProperty that may hold "//" (relative to the .blend): newer
    Blenders warn unless the property says so; 4.2 has no such option."""
    if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties.keys():
        return {"PATH_SUPPORTS_BLEND_RELATIVE"}
    return set()


def working_space() -> str:
    """The session's scene-linear working colour space, in which Cycles renders: Blender 5.0
    keeps one per file (a base .blend read or appended into an empty session brings its own:
    ACEScg, Linear Rec.2020), 4.2 has Linear Rec.709 only."""
    colorspace = getattr(bpy.data, "colorspace", None)
    return getattr(colorspace, "working_space", "") or LINEAR_REC709


def default_working_space() -> None:
    """Give the session Blender's default working colour space (Linear Rec.709) again, as a
    new file has: Blender 5.0 keeps the one of the last file read (an earlier run's base .blend
    in ACEScg) in a session emptied in place. Nothing to convert: called on an empty session."""
    if working_space() != LINEAR_REC709:
        bpy.ops.wm.set_working_color_space(working_space=LINEAR_REC709, convert_colors=False)


def rewrites_file_paths() -> bool:
    """Whether Blender can rewrite the file paths of the session's data in one pass
    (bpy.data.file_path_foreach: 5.0; 4.2 has none)."""
    return hasattr(bpy.data, "file_path_foreach")


# Grease Pencil objects: GREASEPENCIL in 5.x (the rewritten Grease Pencil), GPENCIL in 4.2.
GREASE_PENCIL_TYPES = ("GREASEPENCIL", "GPENCIL")


def draws_grease_pencil(view_layer) -> bool:
    """Whether the view layer draws Grease Pencil over the render (5.x: its Filter > Grease
    Pencil; 4.2 has no such switch and always does)."""
    return bool(getattr(view_layer, "use_grease_pencil", True))


def adaptive_subdivision_on(obj, subsurf, scene) -> bool:
    """Whether Adaptive Subdivision is on for `subsurf`, `obj`'s Subdivision Surface modifier:
    5.x has the switch on the modifier; 4.x on the object (`obj.cycles`), taken only with
    the Experimental feature set."""
    if hasattr(subsurf, "use_adaptive_subdivision"):
        return bool(subsurf.use_adaptive_subdivision)
    cycles = getattr(obj, "cycles", None)
    return bool(getattr(cycles, "use_adaptive_subdivision", False)) and scene.cycles.feature_set == "EXPERIMENTAL"
