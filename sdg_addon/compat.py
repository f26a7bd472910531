"""Blender 4.2 LTS vs 5.x differences, in one place (import only where bpy is available)."""

from __future__ import annotations

import bpy

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


def set_light_temperature(light, kelvin: float, rgb: list[float]) -> None:
    """Colour temperature of a light: Blender's own (4.4+: `use_temperature`, multiplies
    the colour) where it exists, else the black-body colour `rgb` computed by us."""
    if hasattr(light, "use_temperature"):
        light.use_temperature = True
        light.temperature = kelvin
    else:
        light.color = rgb[:3]


def enable_nodes(idblock) -> None:
    """Materials and worlds use nodes: to be switched on in 4.x, always on (deprecated) in 5.x."""
    if not IS_5:
        idblock.use_nodes = True


def mix_rgb(tree):
    """A colour mix node with (factor, a, b, result) sockets, the same in 4.2 and 5.x."""
    node = tree.nodes.new("ShaderNodeMix")
    node.data_type = "RGBA"
    ins = {s.identifier: s for s in node.inputs}
    outs = {s.identifier: s for s in node.outputs}
    return node, ins["Factor_Float"], ins["A_Color"], ins["B_Color"], outs["Result_Color"]
