"""Trajectories of objects and cameras within a clip (pure Python; scene.motion applies them).

A trajectory randomizer samples, once per clip, a velocity (metres per second, world axes)
and an angular velocity (degrees per second, added to the XYZ Euler angles) per target:
- path = "linear": one velocity for the whole clip; offset(t) = v * t.
- path = "spline": `knots` velocities spread evenly over the clip (the first at its first
  frame, the last at its last); the velocity between knots is interpolated linearly, so
  the path is a C1 quadratic spline through the clip-start pose whose velocity at each
  knot is the sampled one. Past the last knot the last velocity continues (that is where
  the frame after a clip's end is, for the motion-vector pass).
t is the time since the clip's first frame: frame i of a clip is at t = i / sequence.fps.
The offset is added to the target's pose at the clip's start (as built, or as a pose /
camera randomizer set it), so a frame's pose is a pure function of (seed, clip, i).
"""

from __future__ import annotations

import numpy as np

from ..config.fields import Field
from .randomizers import VEC3, RandomizerSpec, register_randomizer

PATHS = ("linear", "spline")


def integrate_velocity(knots: np.ndarray, duration: float, t: float) -> np.ndarray:
    """Displacement at time t of a velocity interpolated linearly between knots spread over
    [0, duration] (constant outside); knots (n, 3). Exact (piecewise quadratic)."""
    knots = np.asarray(knots, dtype=np.float64).reshape(-1, 3)
    n = len(knots)
    if n == 1 or duration <= 0:
        return knots[0] * t
    times = np.linspace(0.0, duration, n)
    if t <= 0:
        return knots[0] * t  # before the clip: the first velocity, backwards
    out = np.zeros(3)
    for k in range(n - 1):
        a, b = times[k], times[k + 1]
        if t <= a:
            break
        end = min(t, b)
        # velocity at `end` on this segment, then the trapezoid from a to end
        v_end = knots[k] + (knots[k + 1] - knots[k]) * (end - a) / (b - a)
        out += 0.5 * (knots[k] + v_end) * (end - a)
    if t > times[-1]:
        out += knots[-1] * (t - times[-1])
    return out


@register_randomizer
class Trajectory(RandomizerSpec):
    """Objects move during a clip: velocity and angular velocity sampled once per clip."""

    name = "trajectory"
    CASE_PARAMS = ()  # the offsets are integrated from the velocities when drawn
    motion = True  # applied after the other randomizers, as an offset over the clip
    PARAMS = {
        "velocity": (
            VEC3,
            "metres per second along world X, Y, Z; each component times a clip's time (`sequence.clip_length` / `fps`) at most 1000000 m, as any coordinate",
        ),
        "angular_velocity": (VEC3, "degrees per second added to the X, Y, Z Euler angles"),
    }
    PARAM_RANGES = {"velocity": (-1e6, 1e6), "angular_velocity": (-1e6, 1e6)}
    OPTIONS = {
        "path": Field(
            "path",
            "choice",
            "linear",
            "`linear`: one velocity per clip; `spline`: `knots` velocities per clip",
            choices=PATHS,
        ),
        "knots": Field(
            "knots",
            "int",
            3,
            "spline: velocities drawn per clip, at times spread evenly from the clip's first to its last frame; between knots the velocity changes linearly (a smooth, C1 path through the sampled velocities)",
            low=2,
            high=1000,
        ),
    }

    def sample(self, rng, frame, targets):
        n = self.options["knots"] if self.options["path"] == "spline" else 1
        out = {}
        for t in targets:
            out[t] = {k: [d.sample(rng, frame) for _ in range(n)] for k, d in self.params.items()}
        return out

    @staticmethod
    def offsets(values: dict, t: float, duration: float) -> dict:
        """{"location_offset": [x, y, z] metres, "rotation_offset": [x, y, z] degrees} at t."""
        out = {}
        if "velocity" in values:
            out["location_offset"] = integrate_velocity(values["velocity"], duration, t).tolist()
        if "angular_velocity" in values:
            out["rotation_offset"] = integrate_velocity(values["angular_velocity"], duration, t).tolist()
        return out


@register_randomizer
class CameraTrajectory(Trajectory):
    """Cameras move during a clip (after the camera randomizer placed them at its start)."""

    name = "camera_trajectory"
    target_kind = "cameras"
    moves_targets = True
