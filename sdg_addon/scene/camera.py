"""Apply camera values (sampling.camera) in Blender: look at a target with roll."""

from __future__ import annotations

import math

import numpy as np
from mathutils import Vector

from ..config.problems import first_names
from .base import evaluated_depsgraph
from .build import BuiltScene, aim
from .randomize import applier, file_check, target_check


def target_centre(built: BuiltScene, name: str) -> Vector:
    """Centre of the entity's bounding box (in its root's space), where it is now; one
    hidden this frame, where it was built (a hidden object once stood where the frames this
    process rendered before had left it, and aiming there made a frame differ with --procs,
    --shard and --resume; scene.randomize.put_back_as_built now puts one a scatter leaves
    back, but the point aimed at stays the one as built)."""
    e = built.entities[name]
    g = built.facts.entities.get(name) if built.facts is not None else None
    if g is not None and e.meshes and all(m.hide_render for m in e.meshes):
        m = g.root_matrix
        return Vector(m[:3, :3] @ ((g.bbox[0] + g.bbox[1]) / 2) + m[:3, 3])
    evaluated_depsgraph(built.scene)  # placements of this frame applied before
    pts = []
    for m in e.meshes:
        corners = np.array([c[:] for c in m.bound_box], dtype=np.float64)
        mw = np.array(m.matrix_world, dtype=np.float64)
        pts.append(corners @ mw[:3, :3].T + mw[:3, 3])
    if not pts:
        return e.root.matrix_world.translation.copy()
    # The box in the root's frame, then its centre in the world (stable under rotation).
    root = np.array(e.root.matrix_world, dtype=np.float64)
    local = (np.concatenate(pts) - root[:3, 3]) @ np.linalg.inv(root[:3, :3]).T
    centre = (local.min(axis=0) + local.max(axis=0)) / 2
    return Vector(root[:3, :3] @ centre + root[:3, 3])


@target_check("camera")
def check_look_at_count(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """`look_at_count` draws that many of the objects `look_at_objects` names, never one
    twice (BlenderProc's np.random.choice(objs, size=N, replace=False) raises where N is
    larger): more than there are was taken and every frame aimed at all of them."""
    count = int(spec.options.get("look_at_count") or 0)
    if count <= 0 or not spec.options.get("look_at_objects"):
        return None
    mine = set(targets)  # once, not once per object
    names = spec.objects("look_at_objects", [n for n in built.names("objects") if n not in mine])
    if not names or count <= len(names):  # (none: refused with the option itself)
        return None
    listed = first_names(names)
    return (
        "look_at_count",
        count,
        f"at most {len(names)}, the objects `look_at_objects` names ({listed}): it aims at that many of them, "
        "drawn each frame, no one twice (0: all of them)",
    )


# Entries that move, show or hide objects: a camera aiming at objects takes them as this
# frame's entries before it left them.
CHANGE_OBJECTS = ("pose", "scatter", "physics_settle", "camera_relative", "pool", "visibility")
AIMED_AT = {"camera": "look_at_objects", "camera_look_at": "look_at"}


@file_check
def check_cameras_aimed_before_their_objects_change(built: BuiltScene, specs: list, targets: list[list[str]]) -> list:
    """A camera entry aiming at objects (a `camera`'s look_at_objects, a `camera_look_at`'s
    look_at) before an entry that moves, shows or hides them: entries apply in file order,
    so it aimed at them where, and as shown as, the frame this process rendered before left
    them (frame 2 rendered alone differed from frame 2 after frames 0 and 1). Refused, as a
    camera_relative before an entry moving its camera is. (A trajectory moves its targets
    after every entry, from where they stand: not one of them.)"""
    from ..labels.parse import label_targets_given

    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        key = AIMED_AT.get(spec.name)
        if key is None or not spec.options.get(key):
            continue
        mine = set(names)
        looked = set(spec.objects(key, [n for n in built.entities if n not in mine]))
        for j in range(i + 1, len(specs)):
            hit = sorted(looked & set(targets[j])) if specs[j].name in CHANGE_OBJECTS else []
            if hit:
                given = spec.options[key]
                shown = first_names(hit)
                expected = (
                    f"objects no later entry moves, shows or hides: randomizers[{j}] ({specs[j].name}) changes "
                    f"{shown} after this entry aims at them, so it would aim where the frame rendered before left "
                    f"them; put this entry after randomizers[{j}]"
                )
                out.append((i, (key, label_targets_given(given) if isinstance(given, dict) else given, expected)))
                break
    return out


@applier("camera_look_at")
def apply_camera_look_at(built: BuiltScene, target: str, v: dict) -> None:
    obj = built.cameras[target]
    centre = target_centre(built, v["target"])
    azim = None
    if "location" in v:
        obj.location = v["location"]
    else:
        elev, azim, dist = math.radians(v["elevation"]), math.radians(v["azimuth"]), v["distance"]
        obj.location = centre + Vector(
            (dist * math.cos(elev) * math.cos(azim), dist * math.cos(elev) * math.sin(azim), dist * math.sin(elev))
        )
    aim(obj, centre, v.get("roll", 0.0), azim)
    if "focal_length" in v:
        obj.data.lens = v["focal_length"]
