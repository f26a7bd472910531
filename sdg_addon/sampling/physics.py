"""Physics settle: drop objects with Blender's rigid body simulation until they rest.

`physics_settle` samples nothing random: its values are each target's start pose, taken
from the earlier entries of the same frame (`pose`, `scatter`) or, when none placed it, the
pose as built (scene facts). So the simulation starts from a pure function of (seed, frame,
scene facts), and Blender's rigid body solver (Bullet) is deterministic for the same start:
the settled frame is the same alone, in shards and after a resume. scene.physics runs the
simulation on invisible proxies and copies the settled poses onto the objects; the log
holds the start, the settled pose and the steps taken.

`initial_velocity` draws, once per clip as every randomizer, the velocity and spin the
rigid bodies of a `sequence.rigid_body` clip start with (scene.clip_physics gives them).
"""

from __future__ import annotations

import numpy as np

from ..config.fields import Field
from .placement import hidden_in
from .randomizers import NUMBER, VEC3, RandomizerSpec, register_randomizer
from .rotations import matrix_euler


@register_randomizer
class PhysicsSettle(RandomizerSpec):
    """Drop the targets onto passive objects (rigid body simulation) until they rest."""

    name = "physics_settle"
    needs_facts = True
    OBJECT_OPTIONS = ("passive",)
    CASE_PARAMS = ()  # drop lifts the start pose when it is drawn
    PARAMS = {"drop": (NUMBER, "lift each target this much before dropping it, metres (default 0)")}
    PARAM_RANGES = {"drop": (0.0, 1e6)}
    OPTIONS = {
        "passive": (
            "ground",
            (str, list),
            'the static colliders the targets fall onto (mesh shapes): names (globs) or a table of their labels (`{ class = "table" }`)',
        ),
        "max_steps": Field(
            "max_steps",
            "int",
            250,
            "simulation steps at most, one scene frame each: 1 / the scene's frame rate, `sequence.fps` in clips "
            "(`clip_length` > 1); for stills a base .blend's own rate, else 24 fps (1/24 s), whatever "
            "`sequence.fps` says",
            low=1,
            high=100000,
        ),
        "rest_speed": Field(
            "rest_speed",
            "float",
            0.01,
            "m/s: at rest when every target moves slower for 10 steps, each corner of its bounding box (a card "
            "rocking on an edge moves though its centre is all but still); a thin card may rock slower than this, "
            "tilted a few tenths of a degree: 0.0001 lets it lie flat (0 none: Bullet's bodies at rest still move "
            "by float noise, so every target read not at rest)",
            low=0.0,
            strict_low=True,
        ),
        "friction": Field(
            "friction",
            "float",
            0.5,
            "friction coefficient of every body, targets and colliders (Bullet's: two bodies in contact grip with the product of "
            "theirs, 0.5 on 0.5 is 0.25, so a box slides down a 20° ramp, tan 20° = 0.36, which 0.65 holds; above 1 grips harder: "
            "BlenderProc's BOP scripts use 100 so that nothing slides)",
            low=0.0,
            high=1000.0,
        ),
        "bounciness": Field("bounciness", "float", 0.0, "restitution of every body", low=0.0, high=1.0),
        "damping": Field(
            "damping",
            "float",
            0.3,
            "linear and angular damping of the targets (Bullet has no rolling resistance: without damping a ball rolls on)",
            low=0.0,
            high=1.0,
        ),
        "shape": Field(
            "shape",
            "choice",
            "convex_hull",
            "collision shape of the targets (a torus as a convex hull has no hole); with `convex_hull` a box "
            "(8 corners along its own axes: a cube, a book, a card) collides as a box",
            choices=("convex_hull", "mesh"),
        ),
    }

    def sample(self, rng, frame, targets, facts=None, earlier=()):
        hidden = hidden_in(earlier)
        # A collider hidden this frame (a pool's table not shown) is not there to land on:
        # it would hold the targets in mid-air, as clip physics leaves hidden objects out.
        own = set(targets)  # a set: thousands of targets and objects would be quadratic each frame
        passive = self.objects("passive", [n for n in facts.names() if n not in own and n not in hidden])
        out = {}
        for t in targets:
            drop = float(self.params["drop"].sample(rng, frame)) if "drop" in self.params else 0.0
            if t in hidden:
                out[t] = {"simulated": False}
                continue
            start = _start_pose(t, earlier, facts)
            start["location"][2] += drop
            out[t] = {"simulated": True, "start": start, "passive": passive}
        return out


def _start_pose(name: str, earlier, facts) -> dict:
    """Where the target is when the simulation starts: the last pose set this frame."""
    g = facts.entities[name]
    m = g.root_matrix
    pose = {
        "location": [float(x) for x in m[:3, 3]],
        # (R S) / s per column: the rotation (a per-axis scale scales R's columns)
        "rotation": matrix_euler(m[:3, :3] / np.asarray(g.root_scale)) if np.all(g.root_scale) else [0.0, 0.0, 0.0],
        "scale": list(g.root_scale) if isinstance(g.root_scale, list) else g.root_scale,
    }
    for e in earlier:
        v = e["values"].get(name)
        if v is None or e["type"] not in ("pose", "scatter") or v.get("placed") is False:
            continue
        for key in ("location", "rotation", "scale"):
            if key in v:
                pose[key] = list(v[key]) if isinstance(v[key], list) else float(v[key])  # scale: either
    return pose


@register_randomizer
class InitialVelocity(RandomizerSpec):
    """Throw the targets: the velocity and spin their rigid bodies have at each clip's first
    frame (`sequence.rigid_body = true`)."""

    name = "initial_velocity"
    # Scene frames before each clip's first one over which scene.clip_physics gives the bodies
    # their velocity: a rigid-body cache simulates no frame 0 or earlier (Blender read such
    # frames back wrong), so sequence.start_frame is at least this.
    PREROLL = 2
    PARAMS = {
        "velocity": (
            VEC3,
            "of the body's centre of mass at the clip's first frame, metres per second along world X, Y, Z",
        ),
        "angular_velocity": (
            VEC3,
            "spin about the body's centre of mass at the clip's first frame, degrees per second about world X, Y, Z "
            "(an angular velocity vector: its length is the rate, its direction the axis); its length below "
            "180 x `sequence.fps` (half a turn per frame)",
        ),
    }
    PARAM_RANGES = {"velocity": (-1e6, 1e6), "angular_velocity": (-1e6, 1e6)}
