"""Rigid-body simulation over each clip (sequence.rigid_body), with Blender's own solver.

Active bodies: every entity with exactly one rendered mesh that is not background (the
asset objects), shaped by their convex hull; passive: every other mesh (the ground,
objects of several meshes). Each clip starts the simulation afresh from the poses the
randomizers set at its first frame (scene frame `start_frame`); frames then step one scene
frame at a time, `sequence.fps` frames per second of simulated time. A clip is always
rendered from its first frame on (shards take whole clips, resume re-renders whole clips),
so the simulation of a clip is the same in every process.
"""

from __future__ import annotations

import bpy

from ..labels.blender import BACKGROUND_PROPERTY
from .build import BuiltScene
from .instancing import renders

# Randomizers that place objects: they set a clip's start poses; after its first frame the
# simulation owns the poses (placing again would move the bodies back).
PLACEMENT_TYPES = ("pose", "scatter", "camera_relative")


def _add_body(obj, kind: str) -> None:
    with bpy.context.temp_override(object=obj, active_object=obj, selected_objects=[obj]):
        bpy.ops.rigidbody.object_add(type=kind)
    obj.rigid_body.collision_shape = "CONVEX_HULL" if kind == "ACTIVE" else "MESH"


def setup_rigid_bodies(built: BuiltScene, start_frame: int, clip_length: int) -> list:
    """Create the rigid-body world and bodies; return the active objects."""
    scene = built.scene
    with bpy.context.temp_override(scene=scene):
        if scene.rigidbody_world is None:
            bpy.ops.rigidbody.world_add()
    world = scene.rigidbody_world
    world.point_cache.frame_start = start_frame
    world.point_cache.frame_end = start_frame + clip_length
    active = []
    for e in built.entities.values():
        meshes = [m for m in e.meshes if renders(m) and m.type == "MESH"]
        moving = len(meshes) == 1 and not e.root.get(BACKGROUND_PROPERTY) and not meshes[0].get(BACKGROUND_PROPERTY)
        for m in meshes:
            if m.rigid_body is None:
                _add_body(m, "ACTIVE" if moving else "PASSIVE")
        if moving:
            active += meshes
    return active


def restart_simulation(built: BuiltScene, start_frame: int, clip_length: int) -> None:
    """Simulate a clip afresh from the current poses (its first frame's), one frame past its
    end: Cycles' vector pass reads the frames before and after each rendered one."""
    scene = built.scene
    with bpy.context.temp_override(scene=scene):
        bpy.ops.ptcache.free_bake_all()
    for f in range(start_frame, start_frame + clip_length + 1):
        scene.frame_set(f)
