"""Apply sensor randomizers (sampling.sensor) in Blender: lens, depth of field, motion blur.

Exposure, white balance and the `augment` and `background` randomizers change only the
RGB image, after the render (sdg_addon.imaging, sdg_addon.backgrounds): nothing to do in
the scene for them.
"""

from __future__ import annotations

import math

from ..config.problems import one_of
from ..config.schema import MIN_LENS_MM
from .build import BuiltScene
from .randomize import applier, file_check, target_check


@target_check("sensor")
def check_sensor(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """The object kept in focus is one of the scene's (was found missing at frame 0, after
    the output folder had been written to)."""
    focus = spec.options.get("focus_target")
    if focus and focus not in built.entities:
        return "focus_target", focus, one_of(focus, sorted(built.entities), "object of the scene")
    return (
        _ortho_lens_problem(built, spec, targets)
        or _fov_problem(built, spec, targets)
        or _shared_lens_problem(built, spec, targets)
    )


@file_check
def check_focus_without_depth_of_field(built: BuiltScene, specs: list, targets: list[list[str]]) -> list:
    """A focus (`focus_distance`, `focus_target`) shows only with depth of field on: the
    cameras the add-on makes have it off until a sensor entry gives `f_stop` (this or
    another), so a focus alone was drawn, logged and never seen (every image sharp). A .blend
    camera with its depth of field on (or its switch driven) takes it."""
    stopped = set()
    for spec, names in zip(specs, targets):
        if spec.name == "sensor" and "f_stop" in spec.params:
            stopped.update(names)
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name != "sensor" or "f_stop" in spec.params:
            continue
        if spec.options.get("focus_target"):
            key, value = "focus_target", spec.options["focus_target"]
        elif "focus_distance" in spec.params:
            key, value = "focus_distance", spec.params["focus_distance"].to_dict()
        else:
            continue
        sharp = [t for t in names if t in built.cameras and t not in stopped and not _dof_may_be_on(built.cameras[t])]
        if sharp:
            expected = (
                f"an f_stop for {sharp[0]!r} (in this sensor entry or another): its depth of field is off, so "
                "every image is sharp whatever the focus"
            )
            out.append((i, (key, value, expected)))
    return out


def _dof_may_be_on(cam) -> bool:
    data = cam.data
    anim = data.animation_data
    return bool(data.dof.use_dof) or (anim is not None and anim.drivers.find("dof.use_dof") is not None)


@target_check("camera")
@target_check("camera_look_at")
def _ortho_lens_problem(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """An orthographic camera has no lens to change (was: drawn and logged, without effect;
    the camera and camera_look_at entries' focal_length too)."""
    ortho = [t for t in targets if t in built.cameras and built.cameras[t].data.type == "ORTHO"]
    lens = next((key for key in ("focal_length", "fov") if key in spec.params), None)
    if lens and ortho:
        return (
            lens,
            spec.params[lens].to_dict(),
            f"perspective cameras as targets: {ortho[0]!r} is orthographic, it has no {lens.replace('_', ' ')} "
            "(its ortho_scale sets how much it sees)",
        )
    return None


# What the sensor and camera entries set on a camera's data (its Camera data-block): the
# shutter is the camera's own (built.shutters), the rest is shared by every camera using it.
DATA_KEYS = ("focal_length", "fov", "f_stop", "focus_distance", "focus_target")


@target_check("camera")
@target_check("camera_look_at")
def _shared_lens_problem(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """A .blend camera sharing its Camera data with another recorded camera (a linked
    duplicate, Alt+D): a lens or focus drawn for it is the other's too, so the other rendered
    (and camera_params said) a lens no entry gave it, and a draw for each left both with the
    later one, the log saying the earlier (was: silently)."""
    key = next((k for k in DATA_KEYS if k in spec.params or spec.options.get(k)), None)
    if key is None:
        return None
    for t in targets:
        cam = built.cameras.get(t)
        if cam is None:
            continue
        others = [n for n in built.render_cameras if n != t and built.cameras[n].data == cam.data]
        if others:
            value = spec.params[key].to_dict() if key in spec.params else spec.options[key]
            return (
                key,
                value,
                f"targets with camera data of their own: {t!r} shares its camera data {cam.data.name!r} with "
                f"{others[0]!r}, so {others[0]!r} would render with the {key.replace('_', ' ')} drawn for {t!r} "
                "(and, where both are targets, both with the later draw); in the .blend make the data of "
                f"{t!r} single-user (Object Data Properties: click the user count beside its name)",
            )
    return None


def _fov_problem(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """A fov wider than a target's sensor allows: Blender's lens is at least 1 mm, so the
    widest view is 2 atan(sensor / 2 mm), the sensor's width, or its height for a camera
    fitted Vertical (the side the fov spans: Blender's Camera.angle); a wider draw would be
    rendered (and camera_params would say) that widest view, not the fov logged."""
    bounds = spec.params["fov"].bounds() if "fov" in spec.params else None
    if bounds is None:
        return None
    drawn = float(max(bounds[1])) if hasattr(bounds[1], "__len__") else float(bounds[1])
    for t in targets:
        cam = built.cameras.get(t)
        if cam is None:
            continue
        vertical = cam.data.sensor_fit == "VERTICAL"
        sensor = cam.data.sensor_height if vertical else cam.data.sensor_width
        widest = math.degrees(2 * math.atan(sensor / 2 / MIN_LENS_MM))
        if drawn > widest:
            return (
                "fov",
                spec.params["fov"].to_dict(),
                f"a fov of at most {widest:.4g}° on {t!r}: its sensor is {sensor:g} mm "
                f"{'high (Sensor Fit Vertical)' if vertical else 'wide'} and Blender's lens at least "
                f"{MIN_LENS_MM:g} mm (it would render {widest:.4g}° where {drawn:g}° is drawn); a larger "
                f"{'sensor height' if vertical else 'sensor_width'} on the camera, or a narrower fov",
            )
    return None


@applier("sensor", with_spec=True)
def apply_sensor(built: BuiltScene, target: str, v: dict, spec) -> None:
    data = built.cameras[target].data
    if "focal_length" in v:
        data.lens = float(v["focal_length"])
    if "fov" in v:
        data.angle = math.radians(float(v["fov"]))  # across the side the sensor fits (AUTO: the larger)
    if "f_stop" in v:
        data.dof.use_dof = True
        data.dof.aperture_fstop = float(v["f_stop"])
    focus = spec.options.get("focus_target") if spec is not None else ""
    if focus:
        entity = built.entities.get(focus)
        if entity is None:
            raise ValueError(
                f"sensor: focus_target {focus!r} is no object of the scene (objects: {built.names('objects')})"
            )
        data.dof.focus_object = entity.root
        data.dof.focus_subtarget = ""  # its origin: a .blend's bone name would pick the new target's bone
    elif "focus_distance" in v:
        data.dof.focus_object = None
        data.dof.focus_distance = float(v["focus_distance"])
    if "shutter" in v:  # this camera's: set on the scene while it renders (capture.render)
        built.shutters[target] = float(v["shutter"])


@applier("augment")
def apply_augment(built: BuiltScene, target: str, v: dict) -> None:
    """Nothing in the scene: augmentations act on the rendered RGB image (imaging)."""


@applier("background")
def apply_background(built: BuiltScene, target: str, v: dict) -> None:
    """Nothing in the scene: the photo goes behind the rendered image (backgrounds)."""
