"""Camera randomizers: look at a random target object from a shell, hemisphere or path.

`camera_look_at` draws, per camera: a target among the objects matching `look_at` (those
an earlier entry of the frame hid excepted), a
viewpoint (on a sphere or upper hemisphere around the target at `distance`, or on the
polyline `path`) and a roll about the viewing axis. scene.camera points the camera at the
target's centre (the centre of its bounding box, as placed in this frame), so that
centre is at the image centre. With `min_pixels` > 0 the recorder redraws the frame
(derived seeds, at most `max_tries` renders) until the target covers at least that many
pixels of the camera's instance mask.
"""

from __future__ import annotations

import math

import numpy as np

from ..config.fields import Field
from .placement import hidden_in
from .randomizers import NUMBER, RandomizerSpec, aim_problems, register_randomizer

SHELL_PARAMS = ("distance", "elevation", "azimuth")  # where on a sphere or hemisphere


@register_randomizer
class CameraLookAt(RandomizerSpec):
    """Point cameras at a random target object from a shell, hemisphere or path, with roll."""

    name = "camera_look_at"
    OBJECT_OPTIONS = ("look_at",)
    target_kind = "cameras"
    moves_targets = True
    needs_facts = True
    # path_position is turned into a location when drawn; the others are applied as they are
    CASE_PARAMS = ("distance", "elevation", "azimuth", "roll", "focal_length")
    PARAMS = {
        "distance": (
            NUMBER,
            'distance from the target\'s centre, metres (required unless `shell = "path"`); a distance drawing 0 is refused (a constant or listed 0, a `uniform` from 0 to 0, a `uniform_int` from 0 or below: no direction to aim along)',
        ),
        "elevation": (NUMBER, "degrees above the target's horizontal plane (default: uniform by area over the shell)"),
        "azimuth": (NUMBER, "degrees counter-clockwise from +X (default uniform 0..360)"),
        "roll": (
            NUMBER,
            "turn about the viewing axis, degrees, counter-clockwise as seen from behind the camera (default 0)",
        ),
        "focal_length": (
            NUMBER,
            "lens focal length, mm (Blender's lens is at least 1 mm); perspective cameras (an orthographic target is refused: its ortho_scale sets its view)",
        ),
        "path_position": (NUMBER, '`shell = "path"`: 0 first point .. 1 last point, by length (default uniform)'),
    }
    PARAM_RANGES = {
        "distance": (0.0, 1e6),
        "elevation": (-1e6, 1e6),
        "azimuth": (-1e6, 1e6),
        "roll": (-1e6, 1e6),
        "focal_length": (1.0, 1e6),
        "path_position": (0.0, 1.0),
    }
    OPTIONS = {
        "look_at": (
            "*",
            (str, list),
            'the candidate target objects (names or globs, or a table of their labels: `{ class = "car" }`); each frame looks at one of them, uniformly, among those shown this frame (all of them hidden: among them all, aimed at where it was built, not where the frames rendered before left it)',
        ),
        "shell": Field(
            "shell",
            "choice",
            "hemisphere",
            "where the camera is: on a sphere or upper hemisphere around the target, or on `path`",
            choices=("sphere", "hemisphere", "path"),
        ),
        "path": (
            [],
            list,
            '`shell = "path"` (refused with another shell): the camera path `[[x, y, z], ...]`, at least 2 points',
        ),
        "min_pixels": Field(
            "min_pixels",
            "int",
            0,
            "guarantee: redraw the frame (derived seeds) until the target covers at least this many pixels of the camera's instance mask; "
            "stills only (a sequence's clips are rendered once: refused there)",
            low=0,
        ),
        "max_tries": Field(
            "max_tries",
            "int",
            10,
            'renders per frame at most for `min_pixels`; the last is kept and logged with `"guarantees_met": false`',
            low=1,
            high=1000,
        ),
    }

    @classmethod
    def unused_options(cls, options, given):
        """A `path` without `shell = "path"` was read and never used: the camera orbited the
        default hemisphere."""
        if "path" in given and options.get("shell") != "path":
            return [
                ("path", f'only with shell = "path" (shell = "{options.get("shell")}" places the camera by distance)')
            ]
        return []

    @classmethod
    def check(cls, params, options):
        out = aim_problems(params)
        shell = options["shell"]
        if shell == "path":
            path = options["path"]
            ok = isinstance(path, list) and len(path) >= 2
            ok = ok and all(isinstance(p, list) and len(p) == 3 and all(_coordinate(x) for x in p) for p in path)
            if not ok:
                out.append(
                    ("path", path, "a list of at least 2 points [x, y, z], each coordinate a number within ±1e6 m")
                )
            # the camera is where the path puts it: these were drawn and never applied
            out += [
                (k, None, 'not with shell = "path" (the path places the camera)') for k in SHELL_PARAMS if k in params
            ]
        else:
            if "distance" not in params:
                out.append(("distance", None, "a distance from the target (number or distribution), metres"))
            if "path_position" in params:
                out.append(
                    (
                        "path_position",
                        None,
                        f'only with shell = "path" (shell = "{shell}" takes distance, elevation and azimuth)',
                    )
                )
        return out

    def sample(self, rng, frame, targets, facts=None, earlier=()):
        names = self.objects("look_at", facts.names() if facts is not None else [])
        if not names:
            raise ValueError(f"camera_look_at: look_at {self.options['look_at']} matches no object")
        hidden = hidden_in(earlier)  # objects hidden this frame (pool, visibility, scatter) are no target
        names = [n for n in names if n not in hidden] or names
        out = {}
        for cam in targets:
            drawn = {k: d.sample(rng, frame) for k, d in self.params.items()}
            v: dict = {"target": names[int(rng.integers(len(names)))]}
            shell = self.options["shell"]
            if shell == "path":
                t = float(drawn.get("path_position", rng.random()))
                v["path_position"] = t
                v["location"] = point_on_path(self.options["path"], t)
            else:
                v["distance"] = float(drawn["distance"])
                if "elevation" in drawn:
                    v["elevation"] = float(drawn["elevation"])
                else:  # uniform by area over the shell: sin(elevation) uniform
                    low = 0.0 if shell == "hemisphere" else -1.0
                    v["elevation"] = math.degrees(math.asin(rng.uniform(low, 1.0)))
                v["azimuth"] = float(drawn["azimuth"]) if "azimuth" in drawn else float(rng.uniform(0.0, 360.0))
            v["roll"] = float(drawn.get("roll", 0.0))
            if "focal_length" in drawn:
                v["focal_length"] = float(drawn["focal_length"])
            out[cam] = v
        return out

    def pixel_requirements(self, values: dict) -> list[tuple[str, str, int]]:
        """(camera, target object, minimum pixels) the frame must meet (recorder checks)."""
        need = int(self.options["min_pixels"])
        if need <= 0:
            return []
        return [(cam, v["target"], need) for cam, v in values.items()]


def point_on_path(points, t: float) -> list[float]:
    """The point at fraction t of the polyline's length."""
    p = np.asarray(points, float)
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    total = float(seg.sum())
    if total == 0:
        return [float(x) for x in p[0]]
    s = min(max(t, 0.0), 1.0) * total
    i = min(int(np.searchsorted(np.cumsum(seg), s, side="left")), len(seg) - 1)
    before = float(np.sum(seg[:i]))
    f = (s - before) / seg[i] if seg[i] > 0 else 0.0
    return [float(x) for x in p[i] + f * (p[i + 1] - p[i])]


def _coordinate(x) -> bool:
    """A number a point of the scene can have (not nan, not inf, within Blender's sane range)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and abs(x) <= 1e6
