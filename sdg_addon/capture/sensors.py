"""Thermal and NIR renders (bpy): the scene as the sensor sees it, through a material
override, with the same geometry (so masks, boxes and depth are those of a visible camera
at that pose).

Thermal: every surface emits e * B(T) (band radiance of its temperature, sensors.thermal)
and reflects its surroundings with reflectance 1 - e; the world is a black body at its
temperature; lights are off (they are visible-light sources). Cycles' clamping, glossy
filter, denoiser and film exposure are off so the linear float result is radiometric.

NIR: every surface is a grey diffuse reflector of its NIR reflectance; the scene's lights
stay on and the camera's illuminator (a spot light parented to it) is switched on.

Per-object values come from custom properties (sensors.TEMPERATURE_PROP ...) on the
object, else its parents, else its first material, else the run's defaults; they are
written to per-object attributes that the override material reads.
"""

from __future__ import annotations

import bpy

from ..compat import enable_nodes, working_space
from ..scene.base import render_view_layer
from ..scene.materials import base_colour, base_roughness
from ..sensors import EMISSIVITY_PROP, ILLUMINATOR_PROP, NIR_REFLECTANCE_PROP, TEMPERATURE_PROP
from ..sensors.nir import default_reflectance
from ..sensors.thermal import band_radiance

EMISSION_ATTR = "sdg_thermal_emission"
REFLECTANCE_ATTR = "sdg_thermal_reflectance"
ROUGHNESS_ATTR = "sdg_thermal_roughness"
NIR_ATTR = "sdg_nir_value"
NIR_TEXTURE_REFLECTANCE = 0.5  # a base colour made by a texture: unknown, mid grey (as the LiDAR's)


def lookup(obj, prop: str):
    """The property on the object, its parents, then its first material; None if absent."""
    o = obj
    while o is not None:
        if prop in o:
            return o[prop]
        o = o.parent
    for slot in getattr(obj, "material_slots", ()):
        if slot.material is not None and prop in slot.material:
            return slot.material[prop]
    return None


def _attr(tree, name: str):
    node = tree.nodes.new("ShaderNodeAttribute")
    node.attribute_type = "OBJECT"
    node.attribute_name = name
    return node


def _override_material(name: str):
    """(material, its emptied node tree, a new output node): an override made anew each run."""
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    enable_nodes(mat)
    tree = mat.node_tree
    tree.nodes.clear()
    return mat, tree, tree.nodes.new("ShaderNodeOutputMaterial")


def thermal_material() -> bpy.types.Material:
    """Emission (e * B(T)) + (1 - e) * a white reflection lobe: multiscatter GGX of the
    surface's roughness mixed by that roughness with Lambert (mirror at 0, diffuse at 1).
    Both lobes reflect everything, so a closed room at one temperature reads that
    temperature; the lobe is white and weighted outside, because a tinted microfacet lobe
    loses energy in its inner bounces and would reflect less than 1 - e."""
    mat, tree, out = _override_material("sdg_thermal_override")
    emission = tree.nodes.new("ShaderNodeEmission")
    emission.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    tree.links.new(_attr(tree, EMISSION_ATTR).outputs["Fac"], emission.inputs["Strength"])
    roughness = _attr(tree, ROUGHNESS_ATTR).outputs["Fac"]
    glossy = tree.nodes.new("ShaderNodeBsdfGlossy")
    glossy.distribution = "MULTI_GGX"
    glossy.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    tree.links.new(roughness, glossy.inputs["Roughness"])
    diffuse = tree.nodes.new("ShaderNodeBsdfDiffuse")
    diffuse.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    lobe = tree.nodes.new("ShaderNodeMixShader")  # glossy (smooth) .. Lambert (rough)
    tree.links.new(roughness, lobe.inputs["Fac"])
    tree.links.new(glossy.outputs["BSDF"], lobe.inputs[1])
    tree.links.new(diffuse.outputs["BSDF"], lobe.inputs[2])
    reflection = tree.nodes.new("ShaderNodeMixShader")  # (1 - fac) * nothing + fac * lobe
    tree.links.new(_attr(tree, REFLECTANCE_ATTR).outputs["Fac"], reflection.inputs["Fac"])
    tree.links.new(lobe.outputs["Shader"], reflection.inputs[2])
    add = tree.nodes.new("ShaderNodeAddShader")
    tree.links.new(emission.outputs["Emission"], add.inputs[0])
    tree.links.new(reflection.outputs["Shader"], add.inputs[1])
    tree.links.new(add.outputs["Shader"], out.inputs["Surface"])
    # Every surface emits: sampling them all as lights (a light tree of every triangle)
    # costs far more than it saves; reflection rays find the emitters.
    mat.cycles.emission_sampling = "NONE"
    return mat


def nir_material() -> bpy.types.Material:
    mat, tree, out = _override_material("sdg_nir_override")
    diffuse = tree.nodes.new("ShaderNodeBsdfDiffuse")
    tree.links.new(_attr(tree, NIR_ATTR).outputs["Color"], diffuse.inputs["Color"])
    tree.links.new(diffuse.outputs["BSDF"], out.inputs["Surface"])
    return mat


def _world(name: str) -> bpy.types.World:
    world = bpy.data.worlds.get(name) or bpy.data.worlds.new(name)
    enable_nodes(world)
    return world


def _background(world):
    return next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")


class SensorRender:
    """Switches a built scene to a thermal or NIR view for one render, then back."""

    def __init__(self, scene, ambient_k: float = 293.15, emissivity: float = 0.95):
        self.scene = scene
        self.ambient_k = ambient_k
        self.emissivity = emissivity
        self._thermal_mat = None
        self._nir_mat = None
        self._saved = None

    # ------------------------------------------------------------------ per-object values
    def _mesh_objects(self):
        return [o for o in self.scene.objects if o.type not in ("CAMERA", "LIGHT", "EMPTY", "LIGHT_PROBE", "SPEAKER")]

    def world_temperature(self) -> float:
        world = self.scene.world
        if world is not None and TEMPERATURE_PROP in world:
            return float(world[TEMPERATURE_PROP])
        return self.ambient_k

    def set_thermal_attributes(self) -> None:
        for obj in self._mesh_objects():
            t = lookup(obj, TEMPERATURE_PROP)
            e = lookup(obj, EMISSIVITY_PROP)
            t = self.ambient_k if t is None else float(t)
            e = self.emissivity if e is None else min(1.0, max(0.0, float(e)))
            # The roughness its material shows (a model file's or a .blend's own, or driven),
            # else the object's sdg_roughness (a texture makes it), else 0.5.
            roughness = base_roughness(obj)
            if roughness is None:
                roughness = lookup(obj, "sdg_roughness")
            obj[EMISSION_ATTR] = float(e * band_radiance(t))
            obj[REFLECTANCE_ATTR] = 1.0 - e
            obj[ROUGHNESS_ATTR] = 0.5 if roughness is None else float(roughness)
            obj.update_tag()  # custom properties alone do not make Cycles re-sync (persistent data)

    def set_nir_attributes(self) -> None:
        for obj in self._mesh_objects():
            r = lookup(obj, NIR_REFLECTANCE_PROP)
            if r is None:  # from the base colour its material shows (a model file's own too), 0.5 from a texture
                colour = base_colour(obj)
                r = NIR_TEXTURE_REFLECTANCE if colour is None else default_reflectance(colour, working_space())
            obj[NIR_ATTR] = min(1.0, max(0.0, float(r)))
            obj.update_tag()

    # ------------------------------------------------------------------ switching
    def begin(self, kind: str, camera_name: str) -> None:
        # The view layer rendered (a .blend's first may be off for rendering, another on).
        scene, c, vl = self.scene, self.scene.cycles, render_view_layer(self.scene)
        self._saved = {
            "world": scene.world,
            "layer": vl.name,
            "override": vl.material_override,
            "film_transparent": scene.render.film_transparent,
            "cycles": {
                k: getattr(c, k)
                for k in (
                    "sample_clamp_direct",
                    "sample_clamp_indirect",
                    "blur_glossy",
                    "use_denoising",
                    "film_exposure",
                )
            },
            "hidden": {},
        }
        scene.render.film_transparent = False
        c.sample_clamp_direct = c.sample_clamp_indirect = 0.0
        c.blur_glossy = 0.0
        c.use_denoising = False
        c.film_exposure = 1.0  # Film > Exposure scales the linear image: radiance as it is
        lights = [o for o in scene.objects if o.type == "LIGHT"]
        if kind == "thermal":
            self._thermal_mat = self._thermal_mat or thermal_material()
            self.set_thermal_attributes()
            vl.material_override = self._thermal_mat
            world = _world("sdg_thermal_world")
            bg = _background(world)
            bg.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
            bg.inputs["Strength"].default_value = float(band_radiance(self.world_temperature()))
            # A uniform sky: reflection rays find it exactly; sampling it as a light only adds noise.
            world.cycles.sampling_method = "NONE"
            scene.world = world
            show = set()
        else:
            self._nir_mat = self._nir_mat or nir_material()
            self.set_nir_attributes()
            vl.material_override = self._nir_mat
            # Lights stay, other cameras' illuminators do not; this camera's shines.
            show = {o.name for o in lights if o.get(ILLUMINATOR_PROP, camera_name) == camera_name}
        for o in lights:
            self._saved["hidden"][o.name] = o.hide_render
            o.hide_render = o.name not in show

    def end(self) -> None:
        scene, saved = self.scene, self._saved
        if saved is None:
            return
        scene.world = saved["world"]
        scene.view_layers[saved["layer"]].material_override = saved["override"]
        scene.render.film_transparent = saved["film_transparent"]
        for k, v in saved["cycles"].items():
            setattr(scene.cycles, k, v)
        for name, hidden in saved["hidden"].items():
            obj = scene.objects.get(name)
            if obj is not None:
                obj.hide_render = hidden
        self._saved = None
