"""Apply placement values (sampling.placement) in Blender: scatter and camera-relative."""

from __future__ import annotations

import math

import numpy as np
from mathutils import Vector

from ..config.problems import first_names, one_of
from ..sampling.randomizers import as_vec3
from .base import evaluated_depsgraph
from .build import BuiltScene, set_hidden, turn
from .randomize import applier, file_check, target_check


def set_shown(built: BuiltScene, name: str, shown: bool) -> None:
    for obj in built.entities[name].meshes:
        set_hidden(obj, not shown)


@applier("pool")
def apply_pool(built: BuiltScene, target: str, v: dict) -> None:
    set_shown(built, target, bool(v["shown"]))


@applier("scatter")
def apply_scatter(built: BuiltScene, target: str, v: dict) -> None:
    """Placed: the sampled pose; not placed: hidden for this frame (logged as such)."""
    set_shown(built, target, bool(v.get("placed")))
    if not v.get("placed"):
        return
    root = built.entities[target].root
    root.location = v["location"]
    turn(root, [math.radians(a) for a in v["rotation"]])
    root.scale = as_vec3(v["scale"])


@target_check("scatter")
def check_scatter_surfaces(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """The surfaces have a face whose normal reaches `min_normal_z` (the faces scatter draws
    from): else the run stopped at frame 0, after audit/ was written, naming no field."""

    from .facts import mesh_triangles

    own = set(targets)
    surfaces = spec.objects("surface", [n for n in built.entities if n not in own])
    if not surfaces:
        return None  # in a volume (a surface matching nothing is refused apart)
    depsgraph = evaluated_depsgraph(built.scene)
    highest = -math.inf
    for name in surfaces:  # world triangles and normals as scene facts and scatter compute them
        root_mw = np.array(built.entities[name].root.matrix_world, dtype=np.float64)
        to_root = np.linalg.inv(root_mw)
        for obj in built.entities[name].meshes:
            co, tris = mesh_triangles(obj, depsgraph)
            mw = to_root @ np.array(obj.matrix_world, dtype=np.float64)
            t = ((co @ mw[:3, :3].T + mw[:3, 3]) @ root_mw[:3, :3].T + root_mw[:3, 3])[tris]
            cross = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
            area = np.linalg.norm(cross, axis=1) / 2
            if np.any(area > 0):
                highest = max(highest, float(np.max(cross[area > 0, 2] / (2 * area[area > 0]))))
    wanted = float(spec.options["min_normal_z"])
    if highest >= wanted:
        return None
    has = f"their faces' normals reach z = {highest:.4g} at most" if highest > -math.inf else "they have no faces"
    return (
        "min_normal_z",
        wanted,
        f"a value the faces of the surfaces {surfaces} reach, the faces scatter draws points from ({has})",
    )


@target_check("camera_relative")
def check_camera_relative(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """The camera it places in view of is one of the scene's (was a KeyError at frame 0)."""
    name = spec.options.get("camera")
    if name and name not in built.cameras:
        return "camera", name, one_of(name, sorted(built.cameras), "camera of the scene")
    return None


# What camera_relative turns or scales: objects only (a light is placed, never turned).
OBJECT_ONLY_PARAMS = ("rotation", "scale", "random_rotation")


@target_check("camera_relative")
def check_camera_relative_lights(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """A light among the targets of an entry that turns or scales them: the draw was logged
    for the light (rotation, scale) and never applied."""
    lights = [t for t in targets if t in built.lights and t not in built.entities]
    given = [k for k in OBJECT_ONLY_PARAMS if k in spec.params]
    if not lights or not given:
        return None
    return (
        given[0],
        spec.params[given[0]].to_dict(),
        f"objects only: {lights[0]!r} is a light, which camera_relative places but does not turn or scale "
        f"(give the light an entry of its own without {', '.join(given)})",
    )


def _turns_or_scales(spec) -> bool:
    """Whether an entry sets its targets' rotation or scale (what camera_relative's
    fully_inside fits into the image)."""
    if spec.name in ("scatter", "physics_settle"):
        return True
    keys = {"pose": ("rotation", "scale"), "camera_relative": ("rotation", "scale", "random_rotation")}
    return any(k in spec.params for k in keys.get(spec.name, ()))


@file_check
def check_fitted_before_turned(built: BuiltScene, specs: list, targets: list[list[str]]) -> list:
    """camera_relative's `fully_inside` fits each object's box, as turned and scaled when it
    runs, into the image; an entry after it turning or scaling them (a pose's rotation or
    scale, a scatter, a settle) made it fit the box the frame rendered before had left: frame
    2 rendered alone differed from frame 2 after frames 0 and 1 (and the box rendered was not
    the one fitted). Refused, naming the later entry."""
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name != "camera_relative" or not spec.options.get("fully_inside"):
            continue
        objects = {n for n in names if n in built.entities}
        for j in range(i + 1, len(specs)):
            hit = sorted(objects & set(targets[j])) if _turns_or_scales(specs[j]) else []
            if hit:
                shown = first_names(hit)
                expected = (
                    f"false, or this entry after randomizers[{j}] ({specs[j].name}), which turns or scales {shown} "
                    "after this entry fits their boxes into the image: it would fit them as the frame rendered "
                    "before left them"
                )
                out.append((i, ("fully_inside", True, expected)))
                break
    return out


@applier("camera_relative")
def apply_camera_relative(built: BuiltScene, target: str, v: dict) -> None:
    from ..capture.render import camera_info

    scene = built.scene
    # The first camera by default, as documented: not the scene's active camera, which is the
    # last one rendered in the frame before (a process's first frame then placed it elsewhere).
    cam_name = v.get("camera") or (built.render_cameras or [built.scene.camera.name])[0]
    cam_obj = built.cameras[cam_name]
    evaluated_depsgraph(scene)  # the camera as placed in this frame
    cam = camera_info(scene, cam_obj)
    is_light = target in built.lights and target not in built.entities
    obj = built.lights[target] if is_light else built.entities[target].root
    if not is_light:
        if "rotation" in v:
            turn(obj, [math.radians(a) for a in v["rotation"]])
        if "scale" in v:
            obj.scale = as_vec3(v["scale"])
    depth = float(v["depth"])
    u, w = float(v["x"]) * cam.width, float(v["y"]) * cam.height
    obj.location = _point_at(cam, u, w, depth)
    if is_light or not v.get("fully_inside"):
        return
    # Move towards the image centre (same depth) until the bounding box is inside.
    corners = _local_corners(built, target)
    lo, hi = 0.0, 1.0
    cu, cw = cam.cx, cam.cy
    if _inside(cam, obj, corners):
        return
    obj.location = _point_at(cam, cu, cw, depth)
    # Too big for this depth even at the centre: farther away (from 1 mm where the depth is 0,
    # which 1.25 times never left: the object stayed at the lens, out of the image).
    for _ in range(100):
        if _inside(cam, obj, corners):
            break
        depth = depth * 1.25 if depth > 0 else 1e-3
        obj.location = _point_at(cam, cu, cw, depth)
    v["depth_used"] = depth  # logged with the frame (the log is written after apply)
    for _ in range(30):
        mid = (lo + hi) / 2
        obj.location = _point_at(cam, cu + mid * (u - cu), cw + mid * (w - cw), depth)
        if _inside(cam, obj, corners):
            lo = mid
        else:
            hi = mid
    obj.location = _point_at(cam, cu + lo * (u - cu), cw + lo * (w - cw), depth)


def _point_at(cam, u: float, v: float, depth: float) -> Vector:
    if cam.projection == "perspective":
        p = np.array([(u - cam.cx) / cam.fx * depth, -(v - cam.cy) / cam.fy * depth, -depth])
    else:
        p = np.array([(u - cam.cx) / cam.fx, -(v - cam.cy) / cam.fy, -depth])
    m = cam.camera_to_world
    return Vector(m[:3, :3] @ p + m[:3, 3])


def _local_corners(built: BuiltScene, name: str) -> np.ndarray:
    """The entity's bounding-box corners in its root's space."""
    e = built.entities[name]
    evaluated_depsgraph(built.scene)
    to_root = np.linalg.inv(np.array(e.root.matrix_world, dtype=np.float64))
    pts = []
    for m in e.meshes:
        corners = np.array([c[:] for c in m.bound_box], dtype=np.float64)
        mw = to_root @ np.array(m.matrix_world, dtype=np.float64)
        pts.append(corners @ mw[:3, :3].T + mw[:3, 3])
    p = np.concatenate(pts) if pts else np.zeros((1, 3))
    lo, hi = p.min(axis=0), p.max(axis=0)
    return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


def _inside(cam, root, corners: np.ndarray) -> bool:
    m = np.array(root.matrix_basis, dtype=np.float64)  # entity roots have no parent
    world = corners @ m[:3, :3].T + m[:3, 3]
    px, depth = cam.project(world)
    return bool(
        np.all(depth > 0)
        and np.all(px[:, 0] >= 0)
        and np.all(px[:, 0] <= cam.width)
        and np.all(px[:, 1] >= 0)
        and np.all(px[:, 1] <= cam.height)
    )
