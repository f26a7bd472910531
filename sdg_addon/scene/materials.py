"""Materials whose colour, roughness and metallic are set per object, not per material.

Base Color comes from Object Info > Color (Object.color) and roughness / metallic from
object attributes (custom properties), so every copy of an asset shares one material yet
the material randomizer can give each copy its own look without copying materials.
"""

from __future__ import annotations

import bpy

from ..compat import enable_nodes

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


def wire_principled(mat: bpy.types.Material, inputs=LOOK_INPUTS) -> None:
    """Drive `inputs` (of color, roughness, metallic) of every Principled BSDF of `mat` from
    the object's colour and attributes; the others keep what the material has (a texture)."""
    tree = mat.node_tree
    if tree is None:  # Blender < 5, `use_nodes` off: a plain material, nothing to drive
        return
    for bsdf in [n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"]:
        if "color" in inputs:
            info = tree.nodes.new("ShaderNodeObjectInfo")
            tree.links.new(info.outputs["Color"], bsdf.inputs["Base Color"])
        for key, prop, socket in (("roughness", ROUGHNESS_PROP, "Roughness"), ("metallic", METALLIC_PROP, "Metallic")):
            if key not in inputs:
                continue
            attr = tree.nodes.new("ShaderNodeAttribute")
            attr.attribute_type = "OBJECT"
            attr.attribute_name = prop
            tree.links.new(attr.outputs["Fac"], bsdf.inputs[socket])


def wire_file_materials(objects, inputs, name: str = "model") -> None:
    """Drive `inputs` of the materials of a model's `objects` (each input wired once). A
    mesh with no material (STL, PLY) gets one of the add-on's, driven, when any input is:
    else Blender's default surface would show none of them."""
    bare = [o for o in objects if inputs and not any(slot.material for slot in o.material_slots)]
    if bare:
        mat = per_object_material(f"sdg_{name}")
        for o in bare:
            if o.material_slots:
                for slot in o.material_slots:
                    slot.material = mat
            else:
                o.data.materials.append(mat)
    for o in objects:
        for slot in o.material_slots:
            mat = slot.material
            if mat is None:
                continue
            done = list(mat.get(WIRED_PROP, []))
            todo = [k for k in inputs if k not in done]
            if todo:
                wire_principled(mat, todo)
                mat[WIRED_PROP] = done + todo


WIRED_PROP = "sdg_wired"  # a file's material: the inputs wire_principled drives already


def set_object_look(obj, color=None, roughness=None, metallic=None) -> None:
    if color is not None:
        c = list(color)
        obj.color = (*c[:3], c[3] if len(c) > 3 else 1.0)
    if roughness is not None:
        obj[ROUGHNESS_PROP] = float(roughness)
    if metallic is not None:
        obj[METALLIC_PROP] = float(metallic)
