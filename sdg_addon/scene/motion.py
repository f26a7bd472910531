"""Sequences in Blender: trajectories keyframed around the current frame, scene frames set.

Per frame i of a clip (see sampling.motion):
1. every trajectory target gets back its pose as built (no pose of an earlier frame or
   clip leaks in), and the keyframes this module made for it are removed;
2. the other randomizers are applied (scene.randomize): pose / camera set the clip's start
   pose;
3. each trajectory target's pose is start pose + offset(t) and is keyframed at the scene
   frames of frames i - 1, i, i + 1 of the clip (its trajectory continues past the clip's
   ends), so Cycles' vector pass, which evaluates the scene one frame before and after,
   sees the true motion;
4. the scene frame is set to `start_frame + i` (the scene's own animation plays too, and
   with sequence.rigid_body the simulation steps: scene.clip_physics, which at frame 0
   restarts it, with the initial_velocity entries' velocities). Copies made of
   instances (particles, Geometry Nodes, vertex / face instancing) are keyed once, where the scene's instancing puts
   them at the clip's scene frames (instancing.key_instance_motion), so they play as well.
Stills without trajectories or simulation never touch the scene frame.
"""

from __future__ import annotations

import math

import bpy

from ..sampling.motion import Trajectory
from .build import BuiltScene, clip_scene_frames
from .caches import fluid_domains, redirect_replay_fluid_caches
from .instancing import key_instance_motion
from .randomize import apply_frame

MOTION_TYPES = {"trajectory": "objects", "camera_trajectory": "cameras"}


def throws(sampled: list[dict]) -> dict | None:
    """{target: initial_velocity values} of a frame's entries, a later entry's over an
    earlier's (as placements); None where the run has no initial_velocity randomizer."""
    entries = [e for e in sampled if e["type"] == "initial_velocity"]
    if not entries:
        return None
    out: dict[str, dict] = {}
    for entry in entries:
        for name, values in entry["values"].items():
            out.setdefault(name, {}).update(values)
    return out


class SequencePlayer:
    def __init__(self, built: BuiltScene, sequence, randomizers=()):
        self.built = built
        self.sequence = sequence
        self.randomizers = list(randomizers)  # in the order of sample_frame's entries
        self.fps = float(sequence.fps)
        self.rest: dict[int, tuple] = {}  # id(object) -> (location, rotation, scale) as built
        self.keyed: set[str] = set()
        self.physics = bool(getattr(sequence, "rigid_body", False))
        self.active = bool(clip_scene_frames(sequence, self.randomizers))
        scene = built.scene
        if self.active:
            # Frames step by one scene frame. A .blend's motion blur stays on (the render
            # turns it off only where the motion_vectors annotator needs the vector pass).
            scene.frame_start = min(scene.frame_start, sequence.start_frame - 1)
            scene.frame_end = max(scene.frame_end, sequence.start_frame + sequence.clip_length)
            # Simulated time: one scene frame is 1 / sequence.fps seconds.
            scene.render.fps = min(32767, max(1, round(self.fps)))  # Blender's fps (int); the base makes the rest
            scene.render.fps_base = scene.render.fps / self.fps
            # Copies of instances (particles, node trees) play the scene's own animation.
            self.moving_instances = key_instance_motion(scene, clip_scene_frames(sequence, self.randomizers))
        if self.physics:
            from .clip_physics import ClipBodies

            self.bodies = ClipBodies(
                built, getattr(sequence, "substeps_per_frame", 10), getattr(sequence, "solver_iterations", 10)
            )
        # Replay fluid domains simulate as frames play and reuse the frames in their cache
        # folder: each clip gets an empty one, so it simulates afresh from its own first
        # frame, as it would alone (shards, --resume), whatever an earlier clip cached.
        self.replay_fluids = [obj for obj, d in fluid_domains(scene.objects) if d.cache_type == "REPLAY"]

    def _object(self, kind: str, name: str):
        return self.built.entities[name].root if kind == "objects" else self.built.cameras[name]

    def _reset(self, obj) -> None:
        key = obj.as_pointer()
        if key not in self.rest:
            # Euler angles are keyframed: a quaternion object (glTF) switches to XYZ, which
            # Blender does keeping its orientation.
            obj.rotation_mode = "XYZ"
            self.rest[key] = (obj.location.copy(), obj.rotation_euler.copy(), obj.scale.copy())
        if obj.name in self.keyed:
            ad = obj.animation_data
            action = ad.action if ad is not None else None
            obj.animation_data_clear()
            if action is not None and action.users == 0:
                bpy.data.actions.remove(action)
            self.keyed.discard(obj.name)
        loc, rot, scale = self.rest[key]
        obj.location, obj.rotation_euler, obj.scale = loc, rot, scale

    def apply(self, frame_in_clip: int, sampled: list[dict]) -> None:
        """Apply one frame's sampled values (sampling.sample_frame) and set the scene frame."""
        motion = [e for e in sampled if e["type"] in MOTION_TYPES]
        for entry in motion:
            for name in entry["values"]:
                self._reset(self._object(MOTION_TYPES[entry["type"]], name))
        specs = self.randomizers or [None] * len(sampled)
        kept = [(e, r) for e, r in zip(sampled, specs) if e["type"] not in MOTION_TYPES]
        if self.physics and frame_in_clip > 0:
            from .clip_physics import PLACEMENT_TYPES

            kept = [(e, r) for e, r in kept if e["type"] not in PLACEMENT_TYPES]
        apply_frame(self.built, [e for e, _r in kept], [r for _e, r in kept])
        if not self.active:
            return
        scene_frame = self.sequence.start_frame + frame_in_clip
        if frame_in_clip == 0 and self.replay_fluids:
            redirect_replay_fluid_caches(self.replay_fluids)
        if self.physics and frame_in_clip == 0:
            self.bodies.restart(self.sequence.start_frame, self.sequence.clip_length, throws(sampled))
        for entry in motion:
            kind = MOTION_TYPES[entry["type"]]
            for name, values in entry["values"].items():
                self._keyframe(self._object(kind, name), values, scene_frame)
        self.built.scene.frame_set(scene_frame)

    def _keyframe(self, obj, values: dict, scene_frame: int) -> None:
        start_loc, start_rot = obj.location.copy(), obj.rotation_euler.copy()
        t, duration = values["time"], values["duration"]
        for step in (-1, 0, 1):
            off = Trajectory.offsets(values, t + step / self.fps, duration)
            if "location_offset" in off:
                obj.location = [a + b for a, b in zip(start_loc, off["location_offset"])]
                obj.keyframe_insert("location", frame=scene_frame + step)
            if "rotation_offset" in off:
                obj.rotation_euler = [a + math.radians(b) for a, b in zip(start_rot, off["rotation_offset"])]
                obj.keyframe_insert("rotation_euler", frame=scene_frame + step)
        self.keyed.add(obj.name)
