"""Materials whose colour, roughness and metallic are set per object, not per material.

Base Color comes from Object Info > Color (Object.color) and roughness / metallic from
object attributes (custom properties), so every copy of an asset shares one material yet
the material randomizer can give each copy its own look without copying materials.
"""

from __future__ import annotations

import bpy

from ..compat import enable_nodes, uses_nodes

ROUGHNESS_PROP = "sdg_roughness"
METALLIC_PROP = "sdg_metallic"


def per_object_material(name: str) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    enable_nodes(mat)
    nodes = mat.node_tree.nodes
    bsdf = next((n for n in nodes if n.type == "BSDF_PRINCIPLED"), None)
    if bsdf is None:
        bsdf = nodes.new("ShaderNodeBsdfPrincipled")
        out = next((n for n in nodes if n.type == "OUTPUT_MATERIAL"), None) or nodes.new("ShaderNodeOutputMaterial")
        mat.node_tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    wire_principled(mat)
    return mat


LOOK_INPUTS = ("color", "roughness", "metallic")


# A model file's material is shared by every copy; an object whose look the parameter file
# sets (the asset's `color`, a material randomizer drawing it) carries 1 in these, the others
# nothing (read as 0): they keep what the file has.
DRIVE_PROPS = {"color": "sdg_drive_color", "roughness": "sdg_drive_roughness", "metallic": "sdg_drive_metallic"}
_SOCKETS = {"color": "Base Color", "roughness": "Roughness", "metallic": "Metallic"}


def _object_attribute(tree, name: str):
    attr = tree.nodes.new("ShaderNodeAttribute")
    attr.attribute_type = "OBJECT"
    attr.attribute_name = name
    return attr


def wire_principled(mat: bpy.types.Material, inputs=LOOK_INPUTS, per_object_choice: bool = False) -> None:
    """Drive `inputs` (of color, roughness, metallic) of every Principled BSDF of `mat` from
    the object's colour and attributes; the others keep what the material has (a texture).
    `per_object_choice` (a model file's material, shared by objects driven and not): each
    input is mixed between the material's own (its link or value) and the object's, by the
    object's DRIVE_PROPS flag, so an object not driven renders as the file made it and a
    driven one exactly with its own value (a mix factor of 1)."""
    tree = mat.node_tree
    if tree is None:  # Blender < 5, `use_nodes` off: a plain material, nothing to drive
        return
    for bsdf in [n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"]:
        for key in (k for k in LOOK_INPUTS if k in inputs):
            socket = bsdf.inputs[_SOCKETS[key]]
            if key == "color":
                value = tree.nodes.new("ShaderNodeObjectInfo").outputs["Color"]
            else:
                value = _object_attribute(tree, ROUGHNESS_PROP if key == "roughness" else METALLIC_PROP).outputs["Fac"]
            if per_object_choice:
                mix = tree.nodes.new("ShaderNodeMix")
                mix.data_type = "RGBA" if key == "color" else "FLOAT"
                a, b = (mix.inputs[6], mix.inputs[7]) if key == "color" else (mix.inputs[2], mix.inputs[3])
                if socket.is_linked:
                    tree.links.new(socket.links[0].from_socket, a)
                else:
                    a.default_value = socket.default_value
                tree.links.new(value, b)
                tree.links.new(_object_attribute(tree, DRIVE_PROPS[key]).outputs["Fac"], mix.inputs["Factor"])
                value = mix.outputs[2] if key == "color" else mix.outputs[0]
            tree.links.new(value, socket)


def renders_principled(mat: bpy.types.Material) -> bool:
    """Whether a Principled BSDF of `mat` (at the top of its node tree, those wire_principled
    drives) feeds the surface Cycles renders: its active Cycles output's Surface, through
    any nodes. Not so for a material without nodes (4.x, use_nodes off), a Diffuse BSDF, a
    Principled BSDF inside a group or on an output for another engine."""
    if not uses_nodes(mat):
        return False
    out = mat.node_tree.get_output_node("CYCLES")
    if out is None:
        return False
    seen, todo = set(), [out.inputs["Surface"]]
    while todo:
        for link in todo.pop().links:
            node = link.from_node
            if node.type == "BSDF_PRINCIPLED":
                return True
            if node.name not in seen:
                seen.add(node.name)
                todo.extend(node.inputs)
    return False


def _give_material(objects, mat) -> None:
    """`mat` in every (empty) material slot of each object, or its first slot where it has none."""
    for o in objects:
        if o.material_slots:
            for slot in o.material_slots:
                slot.material = mat
        else:
            o.data.materials.append(mat)


def wire_file_materials(objects, inputs, name: str = "model") -> list[str]:
    """Drive `inputs` of the materials of a model's `objects` (each input wired once). A
    mesh with no material (STL, PLY) gets one of the add-on's, driven, when any input is:
    else Blender's default surface would show none of them. Returns the names of the
    materials that show none of `inputs` (renders_principled: no Principled BSDF renders).
    A mesh with no material but colours on its vertices (a PLY scan, BOP's models) gets one
    showing them (vertex_colour_material), driven as a file's material is."""
    coloured = [o for o in objects if o.data.color_attributes and not any(s.material for s in o.material_slots)]
    if coloured:
        _give_material(coloured, vertex_colour_material(f"sdg_{name}_vertex_colours"))
    bare = [o for o in objects if inputs and not any(slot.material for slot in o.material_slots)]
    if bare:
        _give_material(bare, per_object_material(f"sdg_{name}"))
    unshown = []
    for o in objects:
        for slot in o.material_slots:
            mat = slot.material
            if mat is None:
                continue
            done = list(mat.get(WIRED_PROP, []))
            todo = [k for k in inputs if k not in done]
            if todo:
                wire_principled(mat, todo, per_object_choice=True)
                mat[WIRED_PROP] = done + todo
            if inputs and mat.name not in unshown and not renders_principled(mat):
                unshown.append(mat.name)
    return unshown


def vertex_colour_material(name: str) -> bpy.types.Material:
    """A Principled BSDF whose Base Color is the mesh's colour attribute (the one it renders),
    Blender's default roughness and metallic."""
    mat = bpy.data.materials.new(name)
    enable_nodes(mat)
    tree = mat.node_tree
    bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None)
    if bsdf is None:
        bsdf = tree.nodes.new("ShaderNodeBsdfPrincipled")
        out = next((n for n in tree.nodes if n.type == "OUTPUT_MATERIAL"), None)
        out = out or tree.nodes.new("ShaderNodeOutputMaterial")
        tree.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    colours = tree.nodes.new("ShaderNodeVertexColor")  # layer_name "": the render colour attribute
    tree.links.new(colours.outputs["Color"], bsdf.inputs["Base Color"])
    return mat


WIRED_PROP = "sdg_wired"  # a file's material: the inputs wire_principled drives already


def set_object_look(obj, color=None, roughness=None, metallic=None, drive=()) -> None:
    """The object's colour, roughness and metallic; `drive`: which of them replace a model
    file's own (DRIVE_PROPS)."""
    for key in drive:
        obj[DRIVE_PROPS[key]] = 1.0
    if color is not None:
        c = list(color)
        obj.color = (*c[:3], c[3] if len(c) > 3 else 1.0)
    if roughness is not None:
        obj[ROUGHNESS_PROP] = float(roughness)
    if metallic is not None:
        obj[METALLIC_PROP] = float(metallic)


DEFAULT_SURFACE = (0.8, 0.8, 0.8)  # Blender's surface where an object has no material


def base_colour(obj, mat=None):
    """The linear RGB base colour `mat` (default the object's active material) shows on
    `obj`: its Principled BSDF's Base Color as shown_colour finds it, else the material's
    diffuse colour (no Principled BSDF, or no nodes); Blender's default grey without a
    material; None when a texture or other nodes make it. What LiDAR intensity and NIR
    reflectance derive from."""
    mat = obj.active_material if mat is None else mat
    if mat is None:
        return DEFAULT_SURFACE
    tree = mat.node_tree if uses_nodes(mat) else None
    bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None) if tree else None
    if bsdf is None:
        return tuple(mat.diffuse_color)[:3]
    return shown_colour(obj, bsdf.inputs["Base Color"])


def shown_colour(obj, socket, depth: int = 0):
    """The linear RGB a colour socket shows on `obj`: its own value, the object's colour
    (Object Info), or a mix of those by a number or an object attribute (how a model
    file's material is driven per object: wire_principled); None when it comes from
    anything else (a texture)."""
    if not socket.is_linked:
        return tuple(socket.default_value)[:3]
    node = socket.links[0].from_node
    if node.type == "OBJECT_INFO":
        return tuple(obj.color)[:3]
    if node.type != "MIX" or node.data_type != "RGBA" or node.blend_type != "MIX" or depth > 8:
        return None
    factor = node.inputs["Factor"]
    if not factor.is_linked:
        f = float(factor.default_value)
    else:
        source = factor.links[0].from_node
        if source.type != "ATTRIBUTE" or source.attribute_type != "OBJECT":
            return None
        f = float(obj.get(source.attribute_name, 0.0))  # an object's missing attribute reads 0
    f = min(1.0, max(0.0, f))
    a = shown_colour(obj, node.inputs[6], depth + 1) if f < 1.0 else (0.0, 0.0, 0.0)
    b = shown_colour(obj, node.inputs[7], depth + 1) if f > 0.0 else (0.0, 0.0, 0.0)
    if a is None or b is None:
        return None
    return tuple((1.0 - f) * x + f * y for x, y in zip(a, b))


def base_roughness(obj, mat=None) -> float | None:
    """The roughness `mat` (default the object's active material) shows on `obj`: its
    Principled BSDF's Roughness, its own value or the object's attribute driving it (a mix
    of those, as wire_principled drives a model file's); None without such a material or
    when a texture makes it. What a thermal camera's reflection lobe takes."""
    mat = obj.active_material if mat is None else mat
    tree = mat.node_tree if mat is not None and uses_nodes(mat) else None
    bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None) if tree else None
    return None if bsdf is None else _shown_number(obj, bsdf.inputs["Roughness"])


def base_metallic(obj, mat=None) -> float | None:
    """The metallic `mat` (default the object's active material) shows on `obj`, as
    base_roughness reads the roughness."""
    mat = obj.active_material if mat is None else mat
    tree = mat.node_tree if mat is not None and uses_nodes(mat) else None
    bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None) if tree else None
    return None if bsdf is None else _shown_number(obj, bsdf.inputs["Metallic"])


def own_surface(obj) -> tuple[float, float]:
    """(roughness, metallic) the object's own material shows, else Blender's default
    surface's (0.5, 0): what an image texture or pattern material the randomizers show on
    it reads from the object where nothing set them (a .blend's objects)."""
    roughness, metallic = base_roughness(obj), base_metallic(obj)
    return (0.5 if roughness is None else roughness, 0.0 if metallic is None else metallic)


def _shown_number(obj, socket, depth: int = 0) -> float | None:
    if not socket.is_linked:
        return float(socket.default_value)
    node = socket.links[0].from_node
    if node.type == "ATTRIBUTE" and node.attribute_type == "OBJECT":
        return float(obj.get(node.attribute_name, 0.0))  # an object's missing attribute reads 0
    if node.type != "MIX" or node.data_type != "FLOAT" or depth > 8:
        return None
    f = _shown_number(obj, node.inputs["Factor"], depth + 1)
    if f is None:
        return None
    f = min(1.0, max(0.0, f))
    a = _shown_number(obj, node.inputs[2], depth + 1) if f < 1.0 else 0.0
    b = _shown_number(obj, node.inputs[3], depth + 1) if f > 0.0 else 0.0
    return None if a is None or b is None else (1.0 - f) * a + f * b
