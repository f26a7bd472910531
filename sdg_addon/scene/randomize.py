"""Apply sampled randomizer values to the Blender scene (the bpy half of randomizers).

One function per randomizer name of sampling.randomizers, registered in APPLIERS.
Each takes the built scene, a target name and that target's {param: value} for a frame.
"""

from __future__ import annotations

import math

from mathutils import Color, Vector

from ..compat import action_fcurves, disable_light_temperature, working_space
from ..config.problems import first_names
from ..sampling.appearance import blackbody_light_rgb, blackbody_xyz
from ..sampling.distributions import Constant, can_draw, certain_values, listed_values
from ..sampling.randomizers import as_vec3
from ..sensors.thermal import to_kelvin
from .build import BuiltScene, aim, scene_background, set_hidden, set_thermal, set_world, turn
from .materials import LOOK_INPUTS, set_object_look

APPLIERS = {}
WITH_SPEC: set[str] = set()  # appliers that also take the randomizer spec (its folder, ...)


# Appliers that take all targets of an entry at once: fn(built, {target: values}, spec).
ENTRY_APPLIERS = {}


# Checks of an entry's targets in the built scene, before anything is written:
# fn(built, spec, target names) -> a problem as text, or None; a name may have several
# (registered by the modules that know each constraint), run in registration order.
TARGET_CHECKS: dict[str, list] = {}


def target_check(name):
    def deco(fn):
        TARGET_CHECKS.setdefault(name, []).append(fn)
        return fn

    return deco


# Checks that read every entry of the file at once (what another entry does to a target):
# fn(built, specs, targets) -> [(entry index, (key, value, expected)), ...].
FILE_CHECKS: list = []


def file_check(fn):
    FILE_CHECKS.append(fn)
    return fn


def check_targets(built: BuiltScene, specs: list, targets: list[list[str]]) -> list[tuple[int, tuple]]:
    """(entry index, (key, value, expected)) for every randomizer entry whose targets cannot
    take its values (a check returns its entry's key, the value there and what was expected):
    each problem of each entry's checks."""
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        for check in TARGET_CHECKS.get(spec.name, ()):
            problem = check(built, spec, names)
            if problem:
                out.append((i, problem))
    for check in FILE_CHECKS:
        out += check(built, specs, targets)
    return sorted(out, key=lambda p: p[0])


def applier(name, with_spec: bool = False):
    def deco(fn):
        APPLIERS[name] = fn
        if with_spec:
            WITH_SPEC.add(name)
        return fn

    return deco


@applier("pose")
def apply_pose(built: BuiltScene, target: str, v: dict) -> None:
    root = built.entities[target].root
    if "location" in v:
        root.location = v["location"]
    if "rotation" in v:
        turn(root, [math.radians(a) for a in v["rotation"]])
    if "scale" in v:
        root.scale = as_vec3(v["scale"])


@applier("material")
def apply_material(built: BuiltScene, target: str, v: dict) -> None:
    for obj in built.entities[target].meshes:
        set_object_look(
            obj,
            v.get("color"),
            v.get("roughness"),
            v.get("metallic"),
            drive=[k for k in LOOK_INPUTS if v.get(k) is not None],
        )


@applier("visibility")
def apply_visibility(built: BuiltScene, target: str, v: dict) -> None:
    if "visible" in v:
        for obj in built.entities[target].meshes:
            set_hidden(obj, not v["visible"])


SUN_MAX_ANGLE = 180.0  # degrees: Blender keeps a sun's angle within [0, 180]


@file_check
def check_sun_sizes(built: BuiltScene, specs: list, targets: list[list[str]]) -> list[tuple[int, tuple]]:
    """A sun's `size` is its angular diameter in degrees, which Blender keeps within 180: a
    larger draw was rendered 180 while the log said otherwise. A target is a sun where the
    entry's own light_type can make it one, else where it is built as one or another light
    entry's light_type can make it one (values stay until changed: an entry after it made it
    a sun in the frame before)."""
    can_be_sun = set()
    for spec, names in zip(specs, targets):
        kind = spec.params.get("light_type") if spec.name == "light" else None
        if kind is not None and any(str(t).upper() == "SUN" for t in listed_values(kind)):
            can_be_sun.update(names)
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name != "light" or "size" not in spec.params:
            continue
        bounds = spec.params["size"].bounds()
        if bounds is None or float(max(bounds[1])) <= SUN_MAX_ANGLE:
            continue
        kind = spec.params.get("light_type")
        if kind is not None:
            suns = names if any(str(t).upper() == "SUN" for t in listed_values(kind)) else []
        else:
            suns = [t for t in names if t in can_be_sun or (t in built.lights and built.lights[t].data.type == "SUN")]
        if suns:
            problem = (
                f"at most {SUN_MAX_ANGLE:g} where the light is a sun ({suns[0]!r}): a sun's size is its angular "
                f"diameter in degrees, which Blender keeps within {SUN_MAX_ANGLE:g} (it would render "
                f"{SUN_MAX_ANGLE:g} where {float(max(bounds[1])):g} is drawn)"
            )
            out.append((i, ("size", spec.params["size"].to_dict(), problem)))
    return out


@file_check
def check_area_shapes(built: BuiltScene, specs: list, targets: list[list[str]]) -> list[tuple[int, tuple]]:
    """A light entry's `shape` and `size_y` are an area light's, and `size_y` a rectangle's
    or an ellipse's height: on targets that never are one, drawn and logged, they would
    never show. A target can be an area light where the entry's own light_type can make it
    one, else where it is built as one or another light entry's light_type can make it one;
    a rectangle or ellipse where the entry's own shape can make it one, else where it is
    built as one or another light entry's shape can make it one."""

    def can_be(key: str, wanted: set[str]) -> set[str]:
        return {
            t
            for spec, names in zip(specs, targets)
            if spec.name == "light" and key in spec.params and _draws_name(spec.params[key], wanted)
            for t in names
        }

    areas, rects = can_be("light_type", {"AREA"}), can_be("shape", RECT_SHAPES)
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name != "light" or not names:
            continue
        lights = {t: built.lights[t].data for t in names if t in built.lights}
        if "light_type" in spec.params:
            area = _draws_name(spec.params["light_type"], {"AREA"})
        else:
            area = any(t in areas or (t in lights and lights[t].type == "AREA") for t in names)
        if "shape" in spec.params:
            rect = _draws_name(spec.params["shape"], RECT_SHAPES)
        else:
            rect = any(t in rects or (t in lights and _shape(lights[t]) in RECT_SHAPES) for t in names)
        for key in ("shape", "size_y"):
            if key not in spec.params:
                continue
            if not area:
                kinds = ", ".join(f"{t!r} a {lights[t].type.lower()} light" for t in names[:3] if t in lights)
                expected = (
                    f"targets that are area lights where the entry sets them ({kinds}, and no light_type of the "
                    'file makes them one): an area light\'s shape and height; add light_type = "area" to the '
                    "entry, or leave it out"
                )
                out.append((i, (key, spec.params[key].to_dict(), expected)))
                break
            if key == "size_y" and not rect:
                shapes = ", ".join(f"{t!r} a {_shape(lights[t]).lower()}" for t in names[:3] if t in lights)
                expected = (
                    f"targets that are rectangles or ellipses ({shapes}, and no shape of the file makes them one): "
                    "size_y is their height, a square's and a disk's size is `size` alone; add shape = \"rectangle\" "
                    "(or ellipse) to the entry, or leave size_y out"
                )
                out.append((i, (key, spec.params[key].to_dict(), expected)))
    return out


RECT_SHAPES = {"RECTANGLE", "ELLIPSE"}  # the area light shapes with a height of their own (size_y)


def _draws_name(d, wanted: set[str]) -> bool:
    """Whether a light entry's `light_type` or `shape` can draw one of `wanted` (any case)."""
    return any(str(x).upper() in wanted for x in listed_values(d))


def _shape(data) -> str:
    """An area light's shape; another type's light, SQUARE: Blender keeps the shape it had as
    an area light, but a PointLight, SpotLight or SunLight does not show it."""
    return getattr(data, "shape", "SQUARE")


def _draws_point(look_at, point) -> bool:
    """Whether `look_at` draws `point` (a location as Blender holds it, in single precision)
    with a positive probability: a constant, listed or one-point value at it, or whole numbers
    of a uniform_int, a per_axis's components each drawing theirs."""
    if any(math.dist(p, point) < 1e-9 for p in certain_values(look_at)):
        return True
    return can_draw(look_at, [round(float(x), 6) for x in point])


@file_check
def check_cameras_aimed_from_their_point(built: BuiltScene, specs: list, targets: list[list[str]]) -> list:
    """A `camera` entry giving neither `location` nor `distance` keeps the camera's distance as
    built from the point it looks at (or, with `look_at` alone, aims it from where it stands):
    a `look_at` at the camera's own location as built (its [[cameras]] location, a .blend
    camera's) left no direction to aim along, and it rendered looking down -Z without a word,
    as a distance of 0 did before it was refused. Where an earlier entry places the camera
    (a `camera` or `camera_look_at` entry), it stands elsewhere: not said."""
    out = []
    placed: set[str] = set()
    for i, (spec, names) in enumerate(zip(specs, targets)):
        own = spec.name == "camera" and not (
            {"location", "distance", "rotation"} & set(spec.params) or spec.options.get("look_at_objects")
        )
        if own and "look_at" in spec.params:  # (a camera's own look_at at its location: refused when read)
            for name in (n for n in names if n in built.cameras and n not in placed and n in built.camera_starts):
                start = built.camera_starts[name]
                if _draws_point(spec.params["look_at"], start):
                    out.append(
                        (
                            i,
                            (
                                "look_at",
                                spec.params["look_at"].to_dict(),
                                f"a point other than the location of {name!r} as built ({list(start)}): without "
                                "`location` or `distance` the camera keeps its distance from the point it looks "
                                "at, here 0, with no direction to aim along; give a `distance` or `location`",
                            ),
                        )
                    )
                    break
        if spec.name in CAMERA_PLACERS:
            placed.update(names)
    return out


@file_check
def check_lights_aimed_from_their_point(built: BuiltScene, specs: list, targets: list[list[str]]) -> list:
    """A `light` entry giving `look_at` without `location` turns the light from where it
    stands: a `look_at` at its location as built left no direction to aim along (it shone
    down -Z without a word). Where an earlier entry places the light (a `light` entry's
    `location`, a `camera_relative`), it stands elsewhere: not said."""
    out = []
    placed: set[str] = set()
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name == "light" and "look_at" in spec.params and "location" not in spec.params:
            for name in (n for n in names if n in built.lights and n not in placed):
                start = tuple(built.lights[name].matrix_world.translation)
                if _draws_point(spec.params["look_at"], start):
                    out.append(
                        (
                            i,
                            (
                                "look_at",
                                spec.params["look_at"].to_dict(),
                                f"a point other than the location of light {name!r} ({[round(x, 6) for x in start]}): "
                                "without `location` the entry turns it from where it stands, with no direction "
                                "to aim along; give a `location`, or another point",
                            ),
                        )
                    )
                    break
        if (spec.name == "light" and "location" in spec.params) or spec.name == "camera_relative":
            placed.update(names)
    return out


def _places_light(spec) -> bool:
    """Whether an entry moves the lights it targets: a light entry's `location`, a camera_relative."""
    return (spec.name == "light" and "location" in spec.params) or spec.name == "camera_relative"


@file_check
def check_lights_aimed_before_they_move(built: BuiltScene, specs: list, targets: list[list[str]]) -> list:
    """A `light` entry giving `look_at` without `location` turns the light from where it
    stands; before an entry that moves it (a light entry's `location`, which keeps its
    direction, or a camera_relative), it stood where the frame rendered before had left it,
    so the direction differed alone, with --procs, --shard and --resume (a spot's pool of
    light moved across the image). Refused, naming the later entry."""
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name != "light" or "look_at" not in spec.params or "location" in spec.params:
            continue
        lights = {n for n in names if n in built.lights}
        for j in range(i + 1, len(specs)):
            moved = sorted(lights & set(targets[j])) if _places_light(specs[j]) else []
            if moved:
                expected = (
                    f"a `location` too, or this entry after randomizers[{j}] ({specs[j].name}), which moves "
                    f"{first_names(moved)}: without "
                    "`location` the light is turned from where it stands, here where the frame rendered before "
                    "left it"
                )
                out.append((i, ("look_at", spec.params["look_at"].to_dict(), expected)))
                break
    return out


@target_check("pose")
@target_check("scatter")
@target_check("camera_relative")
@target_check("trajectory")
def check_placed_objects(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """The objects (and lights) an entry places take its world location and rotation as
    their own: not a .blend's object whose constraints or parent move, turn or scale it (was:
    a `pose` location of [-0.3, 0, 0] put an object parented to a moved empty at [0.16,
    0.21, 0.2]; its labels followed it). A `pose` entry that only scales places nothing."""
    if spec.name == "pose" and not any(k in spec.params for k in ("location", "rotation")):
        return None
    objs = {n: built.entities[n].root if n in built.entities else built.lights.get(n) for n in targets}
    return _refuse_moved(
        targets,
        objs,
        lambda name, problem: (
            f"objects placed by their own location and rotation: a {spec.name} randomizer "
            f"places them in world coordinates, and {name!r} {problem} (it would stand elsewhere)"
        ),
    )


@target_check("light")
def check_placed_lights(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """The lights an entry moves or aims (`location`, `look_at`: world values, set as the
    light's own) are where their own location and rotation put them: not a .blend's light
    whose constraints or parent move or turn it (was: it shone from elsewhere, another way)."""
    if not any(k in spec.params for k in ("location", "look_at")):
        return None
    return _refuse_moved(
        targets,
        {n: built.lights.get(n) for n in targets},
        lambda name, problem: (
            "lights placed by their own location and rotation: a light randomizer's location "
            f"and look_at are world ones, and light {name!r} {problem} (it would shine from elsewhere)"
        ),
    )


# What a light entry sets of a light's data (its Light data-block), not of the object.
LIGHT_DATA_KEYS = ("energy", "color", "temperature", "size", "light_type", "shape", "size_y")


@target_check("light")
def check_shared_light_data(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """A .blend light sharing its Light data with another object (a linked duplicate, Alt+D:
    a row of lamps): what an entry draws of the data for one is the other's too, so both
    shone with the later draw while the log gave each its own (was: silently). Constants
    given to every light sharing the data set it alike: fine."""
    keys = [k for k in LIGHT_DATA_KEYS if k in spec.params]
    drawn = [k for k in keys if not isinstance(spec.params[k], Constant)]
    for t in targets:
        obj = built.lights.get(t)
        if not keys or obj is None or obj.data is None or obj.data.users < 2:
            continue
        others = sorted(o.name for o in built.scene.objects if o.data == obj.data and o != obj)
        if others and (drawn or not set(others) <= set(targets)):  # (constants for all of them: alike)
            key = (drawn or keys)[0]
            return (
                key,
                spec.params[key].to_dict(),
                f"targets with light data of their own: {t!r} shares its light data {obj.data.name!r} with "
                f"{others[0]!r}, so {others[0]!r} would shine with the {key.replace('_', ' ')} drawn for {t!r} "
                "(and, where both are targets, both with the later draw, the log giving each its own); in the "
                f".blend make the data of {t!r} single-user (Object Data Properties: click the user count "
                "beside its name)",
            )
    return None


def _refuse_moved(targets: list[str], objs: dict, expected) -> tuple[str, object, str] | None:
    """The target check's refusal of the targets whose parent or constraints move them
    (world_pose_problem), worded by `expected(first name, its problem)`, or None."""
    problems = {n: world_pose_problem(o) for n, o in objs.items() if o is not None}
    refused = [n for n in targets if problems.get(n)]
    if not refused:
        return None
    if "Delta Transform" in problems[refused[0]]:
        way_out = "set its Delta Transform's location and rotation to 0"
    else:
        way_out = (
            "remove its constraints or clear its parent keeping its transform (Object > Parent > Clear and Keep "
            "Transformation)"
        )
    return (
        "targets",
        refused,
        f"{expected(refused[0], problems[refused[0]])}; in the .blend, {way_out}, or leave it out of targets",
    )


def light_colour(kelvin: float, tint) -> list[float]:
    """A light's colour at `kelvin` times `tint` (a colour of the scene), luminance 1, in the
    session's working colour space, as Blender's own temperature gives it: Linear Rec.709
    (blackbody_light_rgb), or the black body's XYZ converted into another (Blender 5.0
    renders a .blend in its own, ACEScg or Linear Rec.2020, where Rec.709 numbers were another,
    more saturated colour)."""
    if working_space() == "Linear Rec.709":
        rgb = blackbody_light_rgb(kelvin)
    else:
        rgb = [max(0.0, c) for c in Color(blackbody_xyz(kelvin)).from_xyz_d65_to_scene_linear()]
    return [float(c) * float(t) for c, t in zip(rgb, tint)]


@applier("light")
def apply_light(built: BuiltScene, target: str, v: dict) -> None:
    obj = built.lights[target]
    data = obj.data
    if "light_type" in v:
        kind = v["light_type"].upper()
        if data.type != kind:
            data.type = kind  # the same light datablock, another type
            data = obj.data  # now seen as that type's RNA struct
    if "energy" in v:
        data.energy = v["energy"]
    if "color" in v:
        built.light_colors[target] = tuple(v["color"][:3])
        kelvin = built.light_kelvin.get(target)  # an earlier entry's temperature, this frame
        data.color = v["color"][:3] if kelvin is None else light_colour(kelvin, v["color"][:3])
    if "location" in v:
        obj.location = v["location"]
    if "look_at" in v:
        aim(obj, v["look_at"])
    if "size" in v:
        if data.type == "AREA":
            data.size = v["size"]
        elif data.type == "SUN":
            data.angle = math.radians(v["size"])
        else:
            data.shadow_soft_size = v["size"]
    if "shape" in v or "size_y" in v:
        # An area light's; another type's light keeps them for when it is made one (Blender
        # keeps them in the light's data whatever its type, seen only as an area light).
        kind = data.type
        if kind != "AREA":
            data.type = "AREA"
            data = obj.data
        if "shape" in v:
            data.shape = v["shape"].upper()
        if "size_y" in v:
            data.size_y = v["size_y"]
        if kind != "AREA":
            data.type = kind
            data = obj.data
    if "temperature" in v:  # times the light's own colour (Blender's and USD's temperature do so)
        built.light_kelvin[target] = v["temperature"]
        data.color = light_colour(v["temperature"], built.light_colors.get(target, (1.0, 1.0, 1.0)))
        disable_light_temperature(data)  # else Blender's own (4.4+) would multiply it in again


# What places or aims a camera: an entry with none of these (a lens alone) leaves its pose
# as it is (a .blend's camera, or one declared with `rotation`, is not turned to the origin).
CAMERA_POSE_KEYS = ("look_at", "look_at_objects", "location", "distance", "elevation", "azimuth", "roll")


def _moves_on_its_own(obj) -> bool:
    """Whether an object may move without its own location and rotation: animated (keys,
    drivers, NLA) or constrained."""
    ad = obj.animation_data
    keyed = ad is not None and (ad.action is not None or len(ad.drivers) > 0 or len(ad.nla_tracks) > 0)
    return keyed or any(c.enabled and c.influence > 0 for c in obj.constraints)


TRANSFORM_PATHS = (
    "location",
    "rotation_euler",
    "rotation_quaternion",
    "rotation_axis_angle",
    "delta_location",
    "delta_rotation_euler",
    "delta_rotation_quaternion",
)
# Entries that set a clip's objects where they start; `pose` only with a location or rotation.
CLIP_PLACERS = ("pose", "scatter", "camera_relative", "physics_settle")
# Entries that place or aim a clip's cameras where they start (`camera`: but for a lens alone).
CAMERA_PLACERS = ("camera", "camera_look_at")
# Entries whose motion is keyed on their targets (scene.motion).
MOVERS = ("trajectory", "camera_trajectory")
# Entries that show and hide their targets (hide_render of their meshes).
HIDERS = ("visibility", "pool", "scatter")


def _action_paths(action) -> set[str]:
    """The data paths an action animates: its F-curves (Blender 4.2), or those of its layers'
    strips' channel bags (the layered actions of Blender 4.4 and later)."""
    return {c.data_path for c in action_fcurves(action)}


# A light entry's parameter -> the properties of the light's data it sets (scene.randomize's light applier).
LIGHT_DATA_PATHS = {
    "energy": ("energy",),
    "color": ("color",),
    "temperature": ("color",),
    "size": ("size", "shadow_soft_size", "angle"),
    "light_type": ("type",),
    "shape": ("shape",),
    "size_y": ("size_y",),
}


def data_set_twice(specs, targets: list[list[str]]) -> list[str]:
    """A warning for each light, camera or pose entry and property entry (path `data.color`,
    `data.energy`, `data.lens`, `location`...) that set one property of the same targets: the
    later entry sets it over the earlier one each frame, so the earlier's value shows in no
    frame (a property entry's data.color before a light entry's temperature, which multiplies
    the light's own or `color` entry's colour; after it, the temperature). A light's `size`
    is left out: which property it sets goes by the type."""
    out = []
    for i, first in enumerate(specs):
        for j in range(i + 1, len(specs)):
            pair = (first, specs[j])
            entry = next((s for s in pair if s.name in ENTRY_DATA_PATHS), None)
            prop = next((s for s in pair if s.name == "property"), None)
            if entry is None or prop is None:
                continue
            path = str(prop.options.get("path", "")).replace(" ", "")
            attr = path.split("[")[0]
            paths = ENTRY_DATA_PATHS[entry.name]
            params = [p for p in entry.params if (entry.name, p) != ("light", "size") and attr in paths.get(p, ())]
            shared = sorted(set(targets[i]) & set(targets[j]))
            if not params or not shared:
                continue
            said = {id(entry): " and ".join(f"`{p}`" for p in params), id(prop): f"path {path}"}
            names = first_names(shared)
            out.append(
                f"randomizers[{i}] ({first.name}, {said[id(first)]}) and randomizers[{j}] ({specs[j].name}, "
                f"{said[id(specs[j])]}) both set {path if '[' in path else attr} of {names}: the later entry wins each "
                f"frame, so randomizers[{i}]'s value {'there ' if '[' in path else ''}shows in no frame"
                + (
                    " (a temperature multiplies the light's own colour or a light entry's `color`, not a property's)"
                    if "temperature" in params and prop is first
                    else ""
                )
                + "; set it in one entry"
            )
    return out


# A camera, camera_look_at or sensor entry's parameter -> the camera data's properties it sets.
CAMERA_DATA_PATHS = {
    "focal_length": ("lens", "angle"),
    "fov": ("lens", "angle"),
    "f_stop": ("dof.aperture_fstop", "dof.use_dof"),
    "focus_distance": ("dof.focus_distance",),
}

# An entry's parameter -> the paths from its targets it sets (data_set_twice): their data's
# properties, a pose's and a light's location, a pose's rotation and scale.
_DATA = {
    kind: {p: tuple(f"data.{x}" for x in xs) for p, xs in paths.items()}
    for kind, paths in (("light", LIGHT_DATA_PATHS), ("camera", CAMERA_DATA_PATHS))
}
ENTRY_DATA_PATHS = {
    "light": {**_DATA["light"], "location": ("location",)},
    "camera": _DATA["camera"],
    "camera_look_at": _DATA["camera"],
    "sensor": _DATA["camera"],
    "pose": {
        "location": ("location",),
        "rotation": ("rotation_euler", "rotation_quaternion", "rotation_axis_angle"),
        "scale": ("scale",),
    },
}


def animated_paths(id_data) -> set[str]:
    """The data paths a data-block's own animation keys or drives."""
    ad = getattr(id_data, "animation_data", None)
    if ad is None:
        return set()
    paths = {d.data_path for d in ad.drivers}
    if ad.action is not None:
        paths |= _action_paths(ad.action)
    return paths


def scale_animated(obj) -> bool:
    """Whether obj's own scale is keyed or driven (NLA strips: assumed so)."""
    ad = obj.animation_data
    if ad is None:
        return False
    return bool(ad.nla_tracks) or any(p.split("[")[0] == "scale" for p in animated_paths(obj))


def transform_animated(obj) -> bool:
    """Whether obj's own location or rotation is keyed or driven (NLA strips: assumed so)."""
    ad = obj.animation_data
    if ad is None:
        return False
    return bool(ad.nla_tracks) or any(p.split("[")[0] in TRANSFORM_PATHS for p in animated_paths(obj))


def keyed_clip_targets(
    specs, targets: list[list[str]], entities, cameras=None, placers: bool = True, lights=None
) -> list[tuple[str, list[str], str]]:
    """(field, objects, expected) for each entry that places objects whose own location or
    rotation is keyed, in a sequence (`placers`): each frame of a clip shows the scene
    frame's animation, so the keys put them back (was: a `pose` location of [1, 0, 1] on a
    keyed box of a .blend did not show in any frame of the clip, its log saying it did).
    A keyed camera that a `camera` or `camera_look_at` entry places (a keyed light that a
    `light` entry places or aims), in clips and stills: its keys put it back when the frame
    renders (a `camera` location [3, -6, 2] left the camera at its keyed [1, -6, 1], its log
    saying [3, -6, 2]). And for each `trajectory` / `camera_trajectory` moving such an object or camera (stills
    too: their motion is keyed around the frame): its keys went into the object's own
    animation, which was then cleared, so the object stood still but for the trajectory,
    its own animation gone for the rest of the run."""
    cameras = cameras or {}
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name in HIDERS and (spec.name != "visibility" or "visible" in spec.params):
            # Its keys show or hide the object when the frame renders, in stills and clips:
            # visible = false left a box keyed shown in the image, its masks and boxes without it.
            keyed = [
                n
                for n in names
                if n in entities and any("hide_render" in animated_paths(o) for o in entities[n].meshes)
            ]
            if keyed:
                out.append(
                    (
                        f"randomizers[{i}].targets",
                        keyed,
                        f"objects whose visibility in renders is not keyed: {keyed[0]!r} has it keyed or driven "
                        "(Object Properties > Visibility > Renders), and its keys show or hide it when the frame "
                        f"renders whatever the {spec.name} entry says (the image showing an object its labels "
                        "leave out, or the other way round); leave it out of targets, or remove those keys in "
                        "the .blend",
                    )
                )
        if spec.name in ("material", "procedural_texture") and "color" in spec.params:
            # The colour they give is the object's own (Object Info > Color): keyed, it was set back.
            keyed = [
                n for n in names if n in entities and any("color" in animated_paths(o) for o in entities[n].meshes)
            ]
            if keyed:
                out.append(
                    (
                        f"randomizers[{i}].targets",
                        keyed,
                        f"objects whose colour is not keyed: {keyed[0]!r} has it keyed or driven (Object "
                        "Properties > Viewport Display > Color, the colour the add-on's materials show), and "
                        f"its keys set it back when the frame renders (the {spec.name} entry's colour would "
                        "show in no frame); leave it out of targets, or remove those keys in the .blend",
                    )
                )
        if spec.name in MOVERS:
            keyed = [n for n in names if (n in entities and transform_animated(entities[n].root))]
            keyed += [n for n in names if n not in entities and n in cameras and transform_animated(cameras[n])]
            if keyed:
                out.append(
                    (
                        f"randomizers[{i}].targets",
                        keyed,
                        f"objects and cameras whose location and rotation are not keyed: {keyed[0]!r} is "
                        f"animated, and the {spec.name} entry's motion is keyed in its place, which would "
                        "replace its own animation (it moved only as the trajectory says); leave it out of "
                        "targets, or remove its location and rotation keys in the .blend",
                    )
                )
            continue
        data_paths, among, what = {
            "light": (LIGHT_DATA_PATHS, lights or {}, "lights"),
            "camera": (CAMERA_DATA_PATHS, cameras, "cameras"),
            "camera_look_at": (CAMERA_DATA_PATHS, cameras, "cameras"),
            "sensor": (CAMERA_DATA_PATHS, cameras, "cameras"),
        }.get(spec.name, ({}, {}, ""))
        sets = {path for param in spec.params for path in data_paths.get(param, ())}
        keyed = [n for n in names if sets and n in among and sets & animated_paths(among[n].data)]
        if keyed:
            which = ", ".join(sorted(sets & animated_paths(among[keyed[0]].data)))
            out.append(
                (
                    f"randomizers[{i}].targets",
                    keyed,
                    f"{what} whose data does not key what the entry sets: {keyed[0]!r} has it keyed or driven "
                    f"({which}), and the animation sets it back when the frame renders (the {spec.name} "
                    "entry's values would show in no frame); leave it out of targets, or remove those keys "
                    "in the .blend",
                )
            )
        if spec.name in CAMERA_PLACERS or (spec.name == "light" and {"location", "look_at"} & set(spec.params)):
            if spec.name == "camera" and set(spec.params) <= {"focal_length"}:
                continue  # a lens alone places nothing
            what, among = ("lights", lights or {}) if spec.name == "light" else ("cameras", cameras)
            keyed = [n for n in names if n in among and transform_animated(among[n])]
            if keyed:
                out.append(
                    (
                        f"randomizers[{i}].targets",
                        keyed,
                        f"{what} whose location and rotation are not keyed: {keyed[0]!r} is animated, and "
                        f"its keys put it back when the frame renders, in clips and stills (the {spec.name} "
                        "entry would show in no frame); leave it out of targets, or remove its location and "
                        "rotation keys in the .blend",
                    )
                )
            continue
        if spec.name not in CLIP_PLACERS:
            continue
        # In stills too: the render plays the keys at the scene's frame (a pose location [1, 0, 0]
        # rendered byte for byte as none, while object_pose said [1, 0, 0]); a pose's scale on
        # an object whose scale is keyed likewise.
        places = spec.name != "pose" or any(k in spec.params for k in ("location", "rotation"))
        scales = "scale" in spec.params  # (pose, scatter, camera_relative)
        keyed = [
            n
            for n in names
            if n in entities
            and ((places and transform_animated(entities[n].root)) or (scales and scale_animated(entities[n].root)))
        ]
        keyed += [n for n in names if n not in entities and n in (lights or {}) and transform_animated(lights[n])]
        if keyed:
            first = entities[keyed[0]].root if keyed[0] in entities else lights[keyed[0]]
            moved = places and transform_animated(first)
            what = "location and rotation" if moved else "scale"
            how = (
                "each frame of a clip plays the scene's animation, which puts it back"
                if placers
                else "its keys put it back when the frame renders, in stills as in clips"
            )
            out.append(
                (
                    f"randomizers[{i}].targets",
                    keyed,
                    f"objects whose {what} {'is' if what == 'scale' else 'are'} not keyed{', in a sequence' if placers else ''}: "
                    f"{keyed[0]!r} is animated, and {how} (the {spec.name} entry would show in no frame, its "
                    f"log saying it did); leave it out of targets, or remove its {what} keys in the .blend",
                )
            )
    return out


def world_pose_problem(obj) -> str:
    """Why a world location and rotation set as obj's own would not be where it renders
    ("" when they would): a constraint turning or moving it (Track To, Follow Path, ...), a
    delta location or rotation added to its own, or a parent whose transform is not the identity there (a parent moved, turned or scaled
    after parenting, one animated or constrained, a bone or vertex parent). A parent kept
    only to organise the scene (Set Parent keeping the transform, not moved since) is fine."""
    active = [c.name for c in obj.constraints if c.enabled and c.influence > 0]
    if active:
        return f"has constraints ({', '.join(repr(n) for n in active)}) that place or turn it"
    if any(obj.delta_location) or any(obj.delta_rotation_euler):  # added to its own (turn() makes it XYZ)
        return (
            "has a Delta Transform (Object Properties > Transform > Delta Transform) that Blender adds to its own "
            "location and rotation"
        )
    parent = obj.parent
    if parent is None:
        return ""
    frame = parent.matrix_world @ obj.matrix_parent_inverse
    identity = all(abs(frame[r][c] - (r == c)) <= 1e-6 for r in range(4) for c in range(4))
    moving = False
    ancestor = parent
    while ancestor is not None:
        moving = moving or _moves_on_its_own(ancestor)
        ancestor = ancestor.parent
    if obj.parent_type != "OBJECT" or not identity or moving:
        return (
            f"is parented to {parent.name!r}, which moves, turns or scales it, so its own location and rotation "
            "are in that parent's axes"
        )
    return ""


@target_check("camera")
@target_check("camera_look_at")
@target_check("camera_trajectory")
def check_placed_cameras(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """The cameras an entry places take the world location and aim it gives them as their
    own: a .blend's camera with a constraint (Track To, Follow Path) or a parent that moves,
    turns or scales it would render elsewhere (was: the camera stood metres away and looked
    elsewhere; its labels followed it). A camera rigged to another camera is never a target
    (it follows its rig); a `camera` entry with a lens alone places nothing."""
    if spec.name == "camera" and not any(k in spec.params for k in (*CAMERA_POSE_KEYS, "rotation")):
        return None
    return _refuse_moved(
        targets,
        {n: built.cameras[n] for n in targets},
        lambda name, problem: (
            f"cameras placed by their own location and rotation: a {spec.name} randomizer "
            f"places cameras in world coordinates, and camera {name!r} {problem} (it would stand or look elsewhere)"
        ),
    )


@applier("camera")
def apply_camera(built: BuiltScene, target: str, v: dict) -> None:
    obj = built.cameras[target]
    if "focal_length" in v:
        obj.data.lens = v["focal_length"]
    if "rotation" in v:  # a pose as location and angles: nothing is aimed
        if "location" in v:
            obj.location = v["location"]
        turn(obj, [math.radians(a) for a in v["rotation"]])
        return
    if not any(k in v for k in CAMERA_POSE_KEYS):
        return
    target_point = Vector(v.get("look_at", built.camera_targets.get(target, (0.0, 0.0, 0.0))))
    if v.get("look_at_objects"):
        from .camera import target_centre  # (scene.camera imports this module)

        centres = [target_centre(built, n) for n in v["look_at_objects"]]
        target_point = sum(centres, Vector()) / len(centres)
    azim = None
    if "location" in v:
        obj.location = v["location"]
    elif any(k in v for k in ("distance", "elevation", "azimuth")):
        # Unsampled coordinates come from the camera as built, never from the previous
        # frame, so a frame's pose depends only on its own values.
        offset = Vector(built.camera_starts.get(target, obj.location)) - target_point
        dist = v.get("distance", offset.length)
        horizontal = math.hypot(offset.x, offset.y)
        elev = math.radians(v["elevation"]) if "elevation" in v else math.atan2(offset.z, horizontal)
        azim = math.radians(v["azimuth"]) if "azimuth" in v else math.atan2(offset.y, offset.x)
        obj.location = target_point + Vector(
            (dist * math.cos(elev) * math.cos(azim), dist * math.cos(elev) * math.sin(azim), dist * math.sin(elev))
        )
    aim(obj, target_point, v.get("roll"), azim)


@applier("world")
def apply_world(built: BuiltScene, target: str, v: dict) -> None:
    if "color" in v:  # a plain colour replaces an HDRI or sky an earlier entry showed
        tree, bg = scene_background(built.scene)
        for link in list(bg.inputs["Color"].links):
            tree.links.remove(link)
    set_world(built.scene, v.get("color"), v.get("strength"))
    if "temperature" in v:
        set_thermal(built.scene.world, to_kelvin(v["temperature"], built.temperature_unit))


@applier("thermal")
def apply_thermal(built: BuiltScene, target: str, v: dict) -> None:
    # On the entity's root and its meshes: a part's own sdg_ property (a model file's, a
    # .blend's) gives way to the frame's value (capture.sensors.lookup finds the object's first).
    kelvin = to_kelvin(v["temperature"], built.temperature_unit) if "temperature" in v else None
    entity = built.entities[target]
    for obj in (entity.root, *entity.meshes):
        set_thermal(obj, kelvin, v.get("emissivity"), v.get("nir_reflectance"))


# Entries that may leave a target unplaced in a frame (a scatter's target hidden by an
# earlier entry or finding no free place, a physics_settle's hidden target): the flag of
# their values saying it was placed, when the entry sets its whole pose.
PLACED_OR_LEFT = {"scatter": "placed", "physics_settle": "simulated"}


def put_back_as_built(built: BuiltScene, sampled: list[dict]) -> None:
    """Put the targets an entry leaves unplaced this frame (PLACED_OR_LEFT) back where they
    were built, before the frame's entries apply: such a target then stands where this
    frame's earlier entries put it, else as built, never where an earlier frame of this
    process placed it (a later `visibility` entry showing it again showed it there: frames
    differed alone, with --procs, --shard and --resume). The poses as built are read at the
    process's first frame, before anything moved them; a placed target gets its whole pose
    from the entry."""
    for entry in sampled:
        flag = PLACED_OR_LEFT.get(entry["type"])
        if flag is None:
            continue
        for name, values in entry["values"].items():
            entity = built.entities.get(name)
            if entity is None:
                continue
            root = entity.root
            pose = built.built_poses.get(name)
            if pose is None:  # the first frame of this process: nothing has moved it yet
                built.built_poses[name] = (
                    root.location.copy(),
                    root.rotation_mode,
                    root.rotation_euler.copy(),
                    root.rotation_quaternion.copy(),
                    tuple(root.rotation_axis_angle),
                    root.scale.copy(),
                )
                continue
            if values.get(flag):
                continue
            location, mode, euler, quaternion, axis_angle, scale = pose
            root.rotation_mode = mode  # first: setting the mode converts the values it holds
            root.location, root.rotation_euler, root.rotation_quaternion = location, euler, quaternion
            root.rotation_axis_angle, root.scale = axis_angle, scale


def apply_frame(built: BuiltScene, sampled: list[dict], specs: list | None = None) -> None:
    """Apply one frame's values (sampling.sample_frame output) in randomizer order;
    `specs` are the run's randomizers (in the same order), for appliers that need them."""
    built.light_kelvin.clear()  # temperatures are this frame's
    put_back_as_built(built, sampled)
    for i, entry in enumerate(sampled):
        whole = ENTRY_APPLIERS.get(entry["type"])
        if whole is not None:  # all targets at once (a simulation)
            whole(built, entry["values"], specs[i] if specs else None)
            continue
        fn = APPLIERS[entry["type"]]
        extra = (specs[i],) if entry["type"] in WITH_SPEC else ()
        for target, values in entry["values"].items():
            fn(built, target, values, *extra)
    if any(entry["type"] in ("texture", "world_hdri") for entry in sampled):
        appearance.release_images(built.scene)  # a texture / HDRI library's images Cycles holds


# Appliers of the other randomizer families register themselves on import.
from . import appearance, camera, physics, placement, properties, sensor  # noqa: E402, F401
