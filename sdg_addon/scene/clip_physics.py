"""Rigid-body simulation over each clip (sequence.rigid_body), with Blender's own solver.

Active bodies: every entity with exactly one rendered mesh that is not background (the
asset objects), shaped by their convex hull; passive: every other mesh (the ground,
objects of several meshes). Each clip simulates afresh, in a new rigid-body world (Bullet
keeps contact state within a world), from the poses the randomizers set at its first frame
(scene frame `start_frame`), one frame past its end (Cycles' vector pass reads the frame
after each rendered one); frames then show scene frames `start_frame + i`, `sequence.fps`
frames per second of simulated time. A clip is always rendered from its first frame on
(shards take whole clips, resume re-renders whole clips), so it is the same in every
process. (`physics_settle`, the per-frame settle randomizer, uses its own world: not
together with this.)
"""

from __future__ import annotations

import bpy

from ..labels.blender import BACKGROUND_PROPERTY
from .build import BuiltScene
from .instancing import renders

BODIES = "sdg_clip_rigid_bodies"
# Randomizers that place objects: they set a clip's start poses; after its first frame the
# simulation owns the poses (placing again would move the bodies back).
PLACEMENT_TYPES = ("pose", "scatter", "camera_relative")


def _new_world(scene, start_frame: int, clip_length: int):
    bodies = bpy.data.collections.get(BODIES) or bpy.data.collections.new(BODIES)
    with bpy.context.temp_override(scene=scene):
        if scene.rigidbody_world is not None:
            bpy.ops.rigidbody.world_remove()
        bpy.ops.rigidbody.world_add()
    world = scene.rigidbody_world
    world.collection = bodies
    world.point_cache.frame_start = start_frame
    world.point_cache.frame_end = start_frame + clip_length
    return world


def body_kinds(built: BuiltScene) -> dict:
    """{mesh object: "ACTIVE" | "PASSIVE"} of every rendered mesh."""
    kinds = {}
    for e in built.entities.values():
        meshes = [m for m in e.meshes if renders(m) and m.type == "MESH"]
        moving = len(meshes) == 1 and not e.root.get(BACKGROUND_PROPERTY) and not meshes[0].get(BACKGROUND_PROPERTY)
        for m in meshes:
            kinds[m] = "ACTIVE" if moving else "PASSIVE"
    return kinds


def _bodies(world, kinds: dict) -> None:
    for m, kind in kinds.items():
        if m.rigid_body is None:
            if m.name not in world.collection.objects:
                world.collection.objects.link(m)
            with bpy.context.temp_override(object=m, active_object=m, selected_objects=[m]):
                bpy.ops.rigidbody.object_add(type=kind)
        m.rigid_body.type = kind
        m.rigid_body.collision_shape = "CONVEX_HULL" if kind == "ACTIVE" else "MESH"


def restart_simulation(built: BuiltScene, kinds: dict, start_frame: int, clip_length: int) -> None:
    """Simulate a clip afresh, in a new world, from the current poses (its first frame's),
    one frame past its end."""
    scene = built.scene
    _bodies(_new_world(scene, start_frame, clip_length), kinds)
    for f in range(start_frame, start_frame + clip_length + 1):
        scene.frame_set(f)
