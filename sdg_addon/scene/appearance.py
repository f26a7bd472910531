"""Apply appearance randomizers (sampling.appearance) in Blender.

Datablocks are made once and reused: one material per texture set and per procedural
pattern, each image loaded once (`check_existing`), the world's extra nodes created on
first use and found by name afterwards. Per-object values (texture scale and rotation,
second colour) are object custom properties read by Attribute nodes, and the material is
set on the object's slots (link = OBJECT), so copies sharing a mesh still differ and no
mesh is modified. A long run therefore ends with as many datablocks as after its first
frames (tested).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import bpy

from .. import compat
from ..sampling.appearance import PATTERNS
from .build import BuiltScene, scene_background, world_background
from .materials import METALLIC_PROP, ROUGHNESS_PROP
from .randomize import animated_paths, applier, target_check

SCALE_PROP = "sdg_tex_scale"
ROTATION_PROP = "sdg_tex_rotation"
COLOR2_PROP = "sdg_color2"
KEY_PROP = "sdg_key"  # what a material made here was made for (a texture file, a pattern)
DEFAULT_SCALE = 4.0  # repeats / cells per metre when `scale` is not randomized
DEFAULT_COLOR2 = (0.05, 0.05, 0.05)  # the second colour of a pattern when not randomized


def _material(key: str, name: str, build) -> bpy.types.Material:
    """The material made for `key`, made by build(material) on first use."""
    for m in bpy.data.materials:
        if m.get(KEY_PROP) == key:
            return m
    mat = bpy.data.materials.new(name[:60])
    compat.enable_nodes(mat)
    mat[KEY_PROP] = key
    build(mat)
    return mat


def _attribute(tree, prop: str):
    node = tree.nodes.new("ShaderNodeAttribute")
    node.attribute_type = "OBJECT"
    node.attribute_name = prop
    return node


def _principled(tree):
    return next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")


def _object_mapping(tree):
    """Object-space coordinates scaled and rotated about Z by per-object attributes."""
    links = tree.links
    coord = tree.nodes.new("ShaderNodeTexCoord")
    mapping = tree.nodes.new("ShaderNodeMapping")
    links.new(coord.outputs["Object"], mapping.inputs["Vector"])
    links.new(_attribute(tree, SCALE_PROP).outputs["Fac"], mapping.inputs["Scale"])
    rot = tree.nodes.new("ShaderNodeCombineXYZ")
    links.new(_attribute(tree, ROTATION_PROP).outputs["Fac"], rot.inputs["Z"])
    links.new(rot.outputs["Vector"], mapping.inputs["Rotation"])
    return mapping


def _surface_attributes(tree, bsdf, roughness_linked: bool) -> None:
    if not roughness_linked:
        tree.links.new(_attribute(tree, ROUGHNESS_PROP).outputs["Fac"], bsdf.inputs["Roughness"])
    tree.links.new(_attribute(tree, METALLIC_PROP).outputs["Fac"], bsdf.inputs["Metallic"])


_decoded: set[tuple] = set()  # (path, mtime, size) of the folder images load_image saw decode


def load_image(path: Path, colour_data: bool = True, kind: str = "texture") -> bpy.types.Image:
    """A folder's image. The first time a file (this version of it) is loaded, it is decoded
    to see that Blender can read it: validate reads a file's first bytes only (a folder may
    hold thousands), and one cut short past them rendered magenta without a word. Its pixels
    are then let go: Cycles reads the file itself."""
    image = bpy.data.images.load(str(path), check_existing=True)
    try:
        stat = os.stat(path)
        key = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key not in _decoded:
        if not image.has_data and tuple(image.size) == (0, 0):
            bpy.data.images.remove(image)
            raise ValueError(
                f"{kind}: cannot read {Path(path).as_posix()}: Blender cannot decode it (damaged or cut short)"
            )
        image.buffers_free()
        _decoded.add(key)
    if not colour_data:
        image.colorspace_settings.name = "Non-Color"
    return image


FLUSH_AFTER = 48  # folder images rendered before Cycles' persistent data, which holds them all, is freed
_held: set[str] = set()  # texture / HDRI images shown since it was last freed


def shown_folder_images(scene) -> set[str]:
    """Names of the texture sets' and the HDRI's images the scene shows now: a texture
    material on some object (its users: object slots), the world's HDRI node linked."""
    shown = set()
    for m in bpy.data.materials:
        if m.users and str(m.get(KEY_PROP, "")).startswith("texture:") and m.node_tree is not None:
            shown.update(n.image.name for n in m.node_tree.nodes if n.type == "TEX_IMAGE" and n.image is not None)
    tree = scene.world.node_tree if scene.world is not None else None
    env = tree.nodes.get("sdg_hdri") if tree is not None else None
    if env is not None and env.image is not None and env.outputs["Color"].links:
        shown.add(env.image.name)
    return shown


def release_images(scene) -> None:
    """Cycles' persistent data (`render.persistent_data`, on by default) keeps every image a
    render has read, shown or not since: a run drawing from a library of hundreds of textures
    or HDRIs held every one drawn so far (memory grew by each one's decoded size, up to the
    whole library). Once more than FLUSH_AFTER of them were shown, the persistent data is
    freed (switched off and on: the next render builds it again, as the first frame's did,
    reading only the images it shows). Called once a frame's values are set."""
    global _held
    if not scene.render.use_persistent_data:
        return
    shown = shown_folder_images(scene)
    _held |= shown
    if len(_held) > FLUSH_AFTER:
        scene.render.use_persistent_data = False
        scene.render.use_persistent_data = True
        _held = shown


def texture_material(maps: dict[str, Path]) -> bpy.types.Material:
    def build(mat):
        tree, links = mat.node_tree, mat.node_tree.links
        bsdf = _principled(tree)
        mapping = _object_mapping(tree)

        def image_node(path, colour_data):
            node = tree.nodes.new("ShaderNodeTexImage")
            node.image = load_image(path, colour_data)
            node.projection = "BOX"  # object space, no UVs needed
            node.projection_blend = 0.25
            links.new(mapping.outputs["Vector"], node.inputs["Vector"])
            return node

        links.new(image_node(maps["color"], True).outputs["Color"], bsdf.inputs["Base Color"])
        if "normal" in maps:
            nmap = tree.nodes.new("ShaderNodeNormalMap")
            links.new(image_node(maps["normal"], False).outputs["Color"], nmap.inputs["Color"])
            links.new(nmap.outputs["Normal"], bsdf.inputs["Normal"])
        if "roughness" in maps:
            links.new(image_node(maps["roughness"], False).outputs["Color"], bsdf.inputs["Roughness"])
        _surface_attributes(tree, bsdf, "roughness" in maps)

    return _material("texture:" + maps["color"].as_posix(), f"sdg_texture_{maps['color'].stem}", build)


def procedural_material(pattern: str) -> bpy.types.Material:
    def build(mat):
        tree, links = mat.node_tree, mat.node_tree.links
        bsdf = _principled(tree)
        mapping = _object_mapping(tree)
        node_type = {
            "noise": "ShaderNodeTexNoise",
            "voronoi": "ShaderNodeTexVoronoi",
            "checker": "ShaderNodeTexChecker",
        }
        tex = tree.nodes.new(node_type[pattern])
        tex.inputs["Scale"].default_value = 1.0  # the mapping scales (per object)
        links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
        # a factor in [0, 1] with contrast: noise hovers around 0.5, voronoi distances ~0 .. 0.7
        span = {"noise": (0.35, 0.65), "voronoi": (0.0, 0.6), "checker": (0.0, 1.0)}[pattern]
        ramp = tree.nodes.new("ShaderNodeMapRange")
        ramp.inputs["From Min"].default_value, ramp.inputs["From Max"].default_value = span
        ramp.clamp = True
        links.new(tex.outputs["Distance" if pattern == "voronoi" else "Fac"], ramp.inputs["Value"])
        _node, factor, a, b, result = compat.mix_rgb(tree)
        links.new(ramp.outputs["Result"], factor)
        links.new(tree.nodes.new("ShaderNodeObjectInfo").outputs["Color"], a)
        links.new(_attribute(tree, COLOR2_PROP).outputs["Color"], b)
        links.new(result, bsdf.inputs["Base Color"])
        _surface_attributes(tree, bsdf, False)

    return _material(f"procedural:{pattern}", f"sdg_procedural_{pattern}", build)


@target_check("texture")
@target_check("procedural_texture")
@target_check("material_swap")
def check_material_slots(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """The meshes an entry gives a material take one: not a mesh linked from a library,
    whose material slots are read-only (the run stopped at its first frame, after audit/
    was written, with "attribute 'material' from 'MaterialSlot' is read-only")."""
    linked = {n: m for n in targets for m in built.entities[n].meshes if m.library is not None}
    if not linked:
        return None
    name, mesh = next(iter(linked.items()))
    return (
        "targets",
        sorted(linked),
        f"objects whose materials the run can set: {name!r} is (or holds) {mesh.name!r}, linked from "
        f"{mesh.library.filepath}, whose material slots no {spec.name} randomizer can change; make a library "
        "override of it in the .blend (Object > Library Override > Make), or leave it out of targets",
    )


def set_object_material(obj, mat) -> None:
    """Show `mat` on every slot of this object only (object-linked slots; mesh untouched)."""
    if not obj.material_slots:
        obj.data.materials.append(None)  # a slot to link (an asset without any material)
    for slot in obj.material_slots:
        slot.link = "OBJECT"
        slot.material = mat


def _keep_surface(built: BuiltScene, obj) -> None:
    """The roughness and metallic the texture's or pattern's material reads from the object:
    where nothing set them (a .blend's object), those its own material showed when built; a
    missing attribute reads 0 (the object rendered as a mirror, whatever its material)."""
    roughness, metallic = built.own_surfaces.get(obj.name, (0.5, 0.0))
    if ROUGHNESS_PROP not in obj:
        obj[ROUGHNESS_PROP] = float(roughness)
    if METALLIC_PROP not in obj:
        obj[METALLIC_PROP] = float(metallic)


def _texture_values(obj, v: dict) -> None:
    # Always written: an unrandomized value is the default, never the previous frame's.
    obj[SCALE_PROP] = float(v.get("scale", DEFAULT_SCALE))
    obj[ROTATION_PROP] = math.radians(float(v.get("rotation", 0.0)))


@applier("texture", with_spec=True)
def apply_texture(built: BuiltScene, target: str, v: dict, spec) -> None:
    mat = texture_material(spec.maps(v["image"]))
    for obj in built.entities[target].meshes:
        _keep_surface(built, obj)
        set_object_material(obj, mat)
        _texture_values(obj, v)


@applier("procedural_texture")
def apply_procedural(built: BuiltScene, target: str, v: dict) -> None:
    pattern = v.get("pattern", PATTERNS[0]).lower()
    mat = procedural_material(pattern)
    for obj in built.entities[target].meshes:
        _keep_surface(built, obj)
        set_object_material(obj, mat)
        _texture_values(obj, v)
        if "color" in v:
            c = list(v["color"])
            obj.color = (*c[:3], 1.0)
        # a fixed default, never derived from the object's current colour (which a later
        # randomizer of the previous frame may have set): frame f stays a function of f
        obj[COLOR2_PROP] = [float(x) for x in v.get("color2", DEFAULT_COLOR2)][:3]
        if "roughness" in v:
            obj[ROUGHNESS_PROP] = float(v["roughness"])


@applier("material_swap")
def apply_material_swap(built: BuiltScene, target: str, v: dict) -> None:
    mat = bpy.data.materials.get(v["material"])
    if mat is None:
        known = surface_materials()
        raise ValueError(f"material_swap: no material named {v['material']!r} in the scene (materials: {known})")
    for obj in built.entities[target].meshes:
        set_object_material(obj, mat)


def scene_facts(built: BuiltScene) -> dict:
    """What randomizers may pick from in the built scene: its material names (the
    user's and the assets', not those this module makes while running, nor grease pencil
    ones, which shade no surface: Blender 4.2's session holds its startup file's 'Dots
    Stroke', so `materials = "*"` drew it there and not on 5.x)."""
    return {"materials": surface_materials()}


def surface_materials() -> list[str]:
    return sorted(m.name for m in bpy.data.materials if KEY_PROP not in m and not m.is_grease_pencil)


# ------------------------------------------------------------------------- world


def _world_background(scene):
    return scene_background(scene)


@target_check("world")
@target_check("world_hdri")
@target_check("sky")
def check_world(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """A base scene's world these can set: one with a Background node (an Emission world or a
    node group's ended the run with a StopIteration traceback after audit/ was written). A
    scene without a world gets one; a `world` entry setting only a temperature needs none."""
    world = built.scene.world
    bg = world_background(world)
    if world is None or bg is not None:
        return None if bg is None else _unshown_world_input(world, bg, spec)
    if spec.name == "world" and not ({"color", "strength"} & set(spec.params)):
        return None
    nodes = sorted(n.name for n in world.node_tree.nodes) if world.node_tree is not None else []
    return (
        "type",
        spec.name,
        f"a world with a Background node to set (as a new world has): the scene's world {world.name!r} has none "
        f"(its nodes: {nodes}); give it one (World > Surface: Background), or set its own inputs with world_property",
    )


def _unshown_world_input(world, bg, spec) -> tuple[str, object, str] | None:
    """A Background input the entry sets (`world`: the colour and strength it gives; `sky`:
    its strength; `world_hdri`: the strength, 1 by default) that the .blend keys or drives, or
    whose strength a link feeds: the animation sets it back when the frame renders, or the
    link's value shows, so the value drawn showed in no frame (was: silently; a colour link is
    replaced by the entry's own, as an HDRI's or a sky's)."""
    keys = {"world": ("color", "strength"), "sky": ("strength",), "world_hdri": ("strength",)}[spec.name]
    given = [k for k in keys if k in spec.params or (spec.name, k) == ("world_hdri", "strength")]
    animated = animated_paths(world.node_tree)
    for key in given:
        socket = bg.inputs["Color" if key == "color" else "Strength"]
        path = socket.path_from_id() + ".default_value"
        links = [link for link in socket.links if not link.is_muted] if key == "strength" else []
        if path in animated or links:
            how, way_out = "keys or drives", "remove its keys or driver in the .blend"
            if links:
                how = f"feeds by a link (from {links[0].from_node.name!r}) the"
                way_out = "remove the link in the .blend, or set what feeds it with world_property"
            given = key in spec.params
            return (
                key if given else "type",
                spec.params[key].to_dict() if given else spec.name,
                f"a world whose {socket.name} the run sets: the scene's world {world.name!r} {how} {socket.name} "
                f"of its Background node {bg.name!r}, so the {key} {'drawn' if given else 'set (1 by default)'} "
                f"would show in no frame; {way_out}",
            )
    return None


def _named(tree, name: str, node_type: str):
    node = tree.nodes.get(name)
    if node is None:
        node = tree.nodes.new(node_type)
        node.name = name
    return node


def _show_on_background(tree, bg, output) -> None:
    socket = bg.inputs["Color"]
    if not any(link.from_socket == output for link in socket.links):
        tree.links.new(output, socket)


@applier("world_hdri", with_spec=True)
def apply_world_hdri(built: BuiltScene, target: str, v: dict, spec) -> None:
    tree, bg = _world_background(built.scene)
    coord = _named(tree, "sdg_hdri_coord", "ShaderNodeTexCoord")
    mapping = _named(tree, "sdg_hdri_mapping", "ShaderNodeMapping")
    env = _named(tree, "sdg_hdri", "ShaderNodeTexEnvironment")
    if not mapping.inputs["Vector"].links:
        tree.links.new(coord.outputs["Generated"], mapping.inputs["Vector"])
        tree.links.new(mapping.outputs["Vector"], env.inputs["Vector"])
    env.image = load_image(spec.folder / v["image"], kind="world_hdri")
    mapping.inputs["Rotation"].default_value = (0.0, 0.0, math.radians(float(v.get("rotation", 0.0))))
    bg.inputs["Strength"].default_value = float(v.get("strength", 1.0))
    _show_on_background(tree, bg, env.outputs["Color"])


@applier("sky")
def apply_sky(built: BuiltScene, target: str, v: dict) -> None:
    tree, bg = _world_background(built.scene)
    sky = _named(tree, "sdg_sky", "ShaderNodeTexSky")
    model = compat.sky_model()
    if sky.sky_type != model:
        sky.sky_type = model
    angles = {"sun_elevation": "sun_elevation", "sun_rotation": "sun_rotation"}
    for key, prop in angles.items():
        if key in v:
            setattr(sky, prop, math.radians(float(v[key])))
    plain = {"altitude": "altitude", "air": "air_density", "aerosol": compat.sky_aerosol_property()}
    plain["ozone"] = "ozone_density"
    for key, prop in plain.items():
        if key in v:
            setattr(sky, prop, float(v[key]))
    if "strength" in v:
        bg.inputs["Strength"].default_value = float(v["strength"])
    _show_on_background(tree, bg, sky.outputs["Color"])
