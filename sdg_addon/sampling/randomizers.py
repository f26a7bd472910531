"""What each randomizer samples (pure Python). scene.randomize applies the values in Blender.

A randomizer has targets (object, light or camera names, resolved from glob patterns when
the scene is built) and parameters. Each parameter is a constant or a distribution; it is
drawn once per target per frame, targets in sorted name order, parameters in the order of
PARAMS below, so a frame's values are reproducible from (seed, frame) alone.
"""

from __future__ import annotations

import fnmatch
import math
from pathlib import Path

import numpy as np

from ..config.fields import Field, option_default
from ..home import expand_home
from ..sensors.thermal import FILE_TEMPERATURES, FILE_TEMPERATURES_TEXT
from .distributions import Distribution, can_draw, certain_values, listed_values

# Kinds of values, checked by config for constants and distribution bounds alike.
NUMBER, VEC3, COLOR, BOOL = "number", "vec3", "color", "bool"
# A number or a list of 3 (a scale: uniform or per axis); a draw may be either, so what
# reads it takes both (as_vec3).
NUMBER_OR_VEC3 = "number_or_vec3"
STRING, STRINGS = "string", "strings"  # a name (file, material); a list of names
ANY = "any"  # a number, a list of numbers, a bool or a string (the property randomizer's value)
# The valid range of every value of a kind (a parameter may narrow it in PARAM_RANGES).
KIND_RANGES = {COLOR: (0.0, 1.0)}

RANDOMIZERS: dict[str, type[RandomizerSpec]] = {}


def register_randomizer(cls):
    RANDOMIZERS[cls.name] = cls
    return cls


def as_vec3(value) -> list[float]:
    """A NUMBER_OR_VEC3 value as 3 numbers: a number is the same on every axis."""
    if isinstance(value, (list, tuple)):
        return [float(x) for x in value]
    return [float(value)] * 3


def absolute_path(text: str, base: Path) -> str:
    """A path or glob relative to `base` (`~` expanded), absolute, in forward slashes; not
    resolved on disk (a glob names no file)."""
    path = expand_home(text)
    return (path if path.is_absolute() else Path(base) / path).as_posix()


# A target_kind in a sentence: what a randomizer takes, and what the scene has of those.
TARGET_WORDS = {
    "placeables": ("objects or lights", "objects and lights"),
    "any": ("objects, lights or cameras", "objects, lights and cameras"),
}


def aim_problems(params: dict, distance: str | None = "distance") -> list[tuple[str, object, str]]:
    """A distance drawing 0 (the camera at the point it looks at), or a location drawing a
    point the look_at draws (a constant, listed, or the one point of a distribution whose
    bounds are one: a uniform with low == high, a shell of radius 0): no direction to aim
    along (Blender's look-at leaves it looking down -Z)."""
    out = []
    if distance and distance in params and can_draw(params[distance], 0):
        out.append(
            (
                distance,
                None,
                "values > 0: at distance 0 the camera is at the point it looks at, with no direction to aim along",
            )
        )
    if "location" in params and "look_at" in params:
        location, look_at = params["location"], params["look_at"]
        same = [v for v in certain_values(location) if can_draw(look_at, v)]
        same += [v for v in certain_values(look_at) if can_draw(location, v)]
        if same:
            out.append(
                (
                    "look_at",
                    None,
                    f"a point other than the location ({same[0]}): at its location it has no direction to aim along",
                )
            )
    return out


def target_words(kind: str) -> tuple[str, str]:
    return TARGET_WORDS.get(kind, (kind, kind))


class RandomizerSpec:
    name = ""
    # What the targets are: "objects" (labelled assets), "lights", "cameras", "placeables"
    # (objects and lights), "any" (objects, lights and cameras), or None.
    target_kind: str | None = "objects"
    # Places its targets (cameras): a camera rigged to another is never one of them.
    moves_targets: bool = False
    # parameter -> (kind, description). A missing parameter is left as it is in the scene.
    PARAMS: dict[str, tuple[str, str]] = {}
    # extra plain options (not sampled) -> a config.fields.Field (type, default, bounds or
    # choices and doc: validation, docs and the panel read it), or (default, type,
    # description) for a value that has neither bounds nor choices (names, globs, lists)
    OPTIONS: dict[str, Field | tuple[object, type | tuple[type, ...], str]] = {}
    # parameter -> (low, high): every value a distribution can draw (its support) must lie
    # within (None: open); colours are always 0 .. 1 (KIND_RANGES). See value_range.
    PARAM_RANGES: dict[str, tuple[float | None, float | None]] = {}
    REQUIRED_OPTIONS: tuple[str, ...] = ()  # options a parameter file must give
    # Options naming files or folders (a string or a list of them; globs allowed), relative
    # to the parameter file: made absolute where a file is written elsewhere (the panel's).
    PATH_OPTIONS: tuple[str, ...] = ()
    # Options written beside each frame's values in the log (which property they went to);
    # a corner case's `set` names them to say which entry of the type it sets.
    LOGGED_OPTIONS: tuple[str, ...] = ()
    # Parameters a corner case's `set` may replace in the drawn values (None: every one of
    # PARAMS): an entry that computes what it applies from a parameter when it draws (where
    # scatter places, which members a pool shows) would log the case's value, not render it.
    CASE_PARAMS: tuple[str, ...] | None = None
    # True: the values are per-clip motion, applied after the other randomizers as an
    # offset over time (sampling.motion); the spec then has offsets(values, t, duration).
    motion = False
    # True: sample() takes `facts` (scene.facts.SceneFacts, read once per run).
    needs_facts = False
    # True (with needs_facts): on a frame it does not fire, sample() also takes `at_trigger`,
    # its values where it fired (sampler), to keep each target where that draw placed it.
    keeps_trigger_places = False
    # Options whose globs name objects of the scene other than its targets (surfaces,
    # colliders, objects to look at): each must match one when the scene is built.
    OBJECT_OPTIONS: tuple[str, ...] = ()

    @classmethod
    def check(cls, params: dict, options: dict) -> list[tuple[str, object, str]]:
        """Problems beyond types and minimums, as (key, value, expected); empty if fine."""
        return []

    @classmethod
    def unused_options(cls, options: dict, given: set[str]) -> list[tuple[str, str]]:
        """Options the file gives (`given`: its keys) that the other options leave unused, as
        (key, expected): they would be read and never applied, without a word."""
        return []

    @classmethod
    def value_range(cls, param: str) -> tuple[float | None, float | None] | None:
        kind = cls.PARAMS[param][0]
        return cls.PARAM_RANGES.get(param, KIND_RANGES.get(kind))

    def __init__(self, params: dict[str, Distribution], options: dict, trigger: str = "frame", interval: int = 1):
        self.params = params
        self.options = {k: options.get(k, option_default(spec)) for k, spec in self.OPTIONS.items()}
        # When it draws new values (Replicator's on_frame(interval)); see trigger_frame.
        self.trigger = trigger  # "frame": every `interval` frames; "once": frame 0 for the run
        self.interval = interval
        # OBJECT_OPTIONS given as a table of labels ({type: [globs]}): the objects it chose in
        # the built scene (Recorder.resolve_targets), by option; the options keep the table.
        self.chosen: dict[str, list[str]] = {}

    def objects(self, key: str, names) -> list[str]:
        """The objects of `names` an OBJECT_OPTIONS option names (sorted): its globs' matches,
        or, for a table of labels, those it chose when the scene was built (choose_objects)."""
        value = self.options.get(key)
        if isinstance(value, dict):
            if key not in self.chosen:
                raise RuntimeError(f"{self.name}: {key} (a table of labels) was not resolved in the built scene")
            chosen = set(self.chosen[key])
            return sorted(n for n in names if n in chosen)
        patterns = [p for p in ([value] if isinstance(value, str) else (value or [])) if p]
        # A name without wildcards is looked up, so a list of thousands of names (Use
        # Selected, a generated file) is matched in a time linear in them, not names x patterns.
        literal = {p for p in patterns if not any(c in p for c in "*?[")}
        globs = [p for p in patterns if p not in literal]
        return sorted({n for n in names if n in literal or any(fnmatch.fnmatchcase(n, p) for p in globs)})

    def choose_objects(self, match) -> None:
        """Resolve each OBJECT_OPTIONS option given as a table of labels: `match(table)`, the
        built scene's objects whose labels match it (BuiltScene.match)."""
        self.chosen = {k: match(v) for k, v in self.options.items() if k in self.OBJECT_OPTIONS and isinstance(v, dict)}

    @classmethod
    def map_paths(cls, entry: dict, convert) -> dict:
        """A [[randomizers]] table with `convert` (str -> str) applied to each path of its
        PATH_OPTIONS (e.g. made absolute for a file written elsewhere); the rest as it is."""
        out = dict(entry)
        for key in cls.PATH_OPTIONS:
            value = out.get(key)
            if isinstance(value, str) and value:
                out[key] = convert(value)
            elif isinstance(value, list):
                out[key] = [convert(v) if isinstance(v, str) and v else v for v in value]
        return out

    def prepare(self, base) -> list[tuple[str, object, str]]:
        """Check and resolve what depends on files (folders named by options), with `base`
        the parameter file's folder; problems as (key, value, expected). Called by config."""
        return []

    def name_problem(self, param: str, values: list) -> tuple[object, str] | None:
        """(the first of `values` that `param` does not take, what it takes) for a parameter
        naming something (a light type, a pattern, a file of the folder), or None: prepare()
        checks what a distribution lists with it, config a corner case's value."""
        return None

    def resolved_extra(self) -> dict:
        """What else a frame's values depend on, for the resolved parameters in audit/
        (e.g. the files found in a folder): a resume refuses a run where it changed."""
        return {}

    def bind(self, facts: dict) -> tuple[str, object, str] | None:
        """Take what it needs from the built scene's facts (e.g. its material names), once
        per run before sampling; a problem as (key, value, expected), as prepare(); None if fine."""
        return None

    def trigger_frame(self, frame: int) -> int:
        """The frame whose draw frame `frame` shows: the last trigger at or before it.

        Values are drawn as if at that frame (its generator, its index for `sequence`), so
        frame f stays a pure function of (seed, f) whether or not the frames between were
        rendered in this process.
        """
        if self.trigger == "once":
            return 0
        return frame - frame % self.interval

    def draw_index(self, frame: int, clip_length: int = 1) -> int:
        """Which of the run's draws frame `frame` shows, from 0: the step of a `sequence`
        distribution, which advances once per trigger (Replicator's sequence). Draws happen at
        clip starts (stills: every frame) whose trigger frames differ."""
        if self.trigger == "once":
            return 0
        first = frame - frame % clip_length
        if self.interval <= clip_length:  # every clip start is a trigger frame of its own
            return first // clip_length
        return self.trigger_frame(first) // self.interval  # each interval holds a clip start

    def sample(self, rng: np.random.Generator, frame: int, targets: list[str]) -> dict:
        """{target: {param: value}} for this frame; targets already sorted."""
        return {t: {k: d.sample(rng, frame) for k, d in self.params.items()} for t in targets}


@register_randomizer
class Pose(RandomizerSpec):
    """Location (metres), rotation (degrees, XYZ Euler) and scale of objects."""

    name = "pose"
    PARAMS = {
        "location": (VEC3, "world location of the object's origin, metres"),
        "rotation": (VEC3, "XYZ Euler rotation, degrees"),
        "scale": (NUMBER_OR_VEC3, "scale factor: a number (all axes alike) or `[x, y, z]` (per local axis)"),
    }
    OPTIONS = {
        "min_distance": Field(
            "min_distance",
            "float",
            0.0,
            "minimum XY distance between the targets' origins, metres, as this entry draws their `location` "
            "(refused without one); `0` = no check",
            low=0.0,
            high=1e6,
        ),
        "max_tries": Field(
            "max_tries",
            "int",
            100,
            "redraws per target to satisfy `min_distance`; after that the last draw is kept, the frame's log line "
            "lists the target under `too_close` and the run warns",
            low=1,
            high=1000,
        ),
    }
    PARAM_RANGES = {"location": (-1e6, 1e6), "rotation": (-1e6, 1e6), "scale": (0.0, 1e6)}

    @classmethod
    def check(cls, params, options):
        if options.get("min_distance", 0) > 0 and "location" not in params:
            return [
                (
                    "min_distance",
                    None,
                    "0 without a `location`: it keeps the locations this entry draws apart, and it draws none",
                )
            ]
        return []

    def sample(self, rng, frame, targets):
        out: dict[str, dict] = {}
        placed = np.zeros((len(targets), 2))  # XY of the targets placed so far (first n rows)
        n = 0
        min_d = float(self.options["min_distance"])
        for t in targets:
            values = {}
            for _ in range(max(1, int(self.options["max_tries"]))):
                values = {k: d.sample(rng, frame) for k, d in self.params.items()}
                loc = values.get("location")
                if min_d <= 0 or loc is None:
                    break
                d = placed[:n] - np.asarray(loc[:2], float)
                if (np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) >= min_d).all():  # one test for all
                    break
            if values.get("location") is not None:
                placed[n] = np.asarray(values["location"][:2], float)
                n += 1
            out[t] = values
        return out

    def too_close(self, values: dict[str, dict]) -> list[str]:
        """The targets of a frame's draw (sample's result) whose location lies nearer than
        min_distance (XY) to an earlier target's: max_tries redraws found no place for
        them, and the last draw was kept. [] without min_distance."""
        min_d = float(self.options["min_distance"])
        if min_d <= 0:
            return []
        out, placed = [], []
        for t, v in values.items():
            loc = v.get("location")
            if loc is None:
                continue
            dx_dy = [(float(loc[0]) - x, float(loc[1]) - y) for x, y in placed]
            if any(math.sqrt(dx * dx + dy * dy) < min_d for dx, dy in dx_dy):  # sample's own test
                out.append(t)
            placed.append((float(loc[0]), float(loc[1])))
        return out


@register_randomizer
class Material(RandomizerSpec):
    """Surface colour, roughness and metallic of objects (per object, not per material)."""

    name = "material"
    PARAMS = {
        "color": (COLOR, "base colour, linear RGB of the working colour space, in [0, 1]"),
        "roughness": (NUMBER, "0 (mirror) .. 1 (matte)"),
        "metallic": (NUMBER, "0 (dielectric) .. 1 (metal)"),
    }
    PARAM_RANGES = {"roughness": (0.0, 1.0), "metallic": (0.0, 1.0)}


@register_randomizer
class Visibility(RandomizerSpec):
    """Show or hide objects (hidden objects are not rendered and not annotated)."""

    name = "visibility"
    PARAMS = {
        "visible": (
            BOOL,
            '`true` to render the object in this frame, e.g. `{ distribution = "choice", values = [true, false], weights = [3, 1] }`',
        )
    }


@register_randomizer
class Light(RandomizerSpec):
    name = "light"
    target_kind = "lights"
    PARAMS = {
        "energy": (NUMBER, "watts (point, spot, area) or W/m² (sun)"),
        "color": (COLOR, "linear RGB of the working colour space, in [0, 1]"),
        "location": (VEC3, "world location, metres (its direction is kept unless `look_at` is given)"),
        "light_type": (
            STRING,
            '`"POINT"`, `"SUN"`, `"SPOT"` or `"AREA"` (any case): the light changes type in place, e.g. `{ distribution = "choice", values = ["area", "spot"] }`',
        ),
        "size": (
            NUMBER,
            "metres: side of an area light (a disk's diameter; a rectangle's or ellipse's width, X, its height `size_y`), radius of a point or spot light (softer shadows); for a sun its angular diameter in degrees, at most 180 (Blender's limit: more is refused where the light is or becomes a sun, by this entry or another)",
        ),
        "temperature": (
            NUMBER,
            "colour temperature in Kelvin (black body: 2700 warm tungsten, 6500 daylight white, 10000 blue sky); multiplies the light's colour (`color`, else the light's own)",
        ),
        "look_at": (
            VEC3,
            "point the light is turned to face, metres, after `location` (spot, area and sun lights shine along their -Z); without it the light's direction is kept; without `location`, a point at the light's location as built is refused (no direction to aim along), and so is an entry after this one that moves the light (a light entry's `location`, a `camera_relative`: it would be turned from where the frame rendered before left it)",
        ),
        "shape": (
            STRING,
            '`"SQUARE"`, `"RECTANGLE"`, `"DISK"` or `"ELLIPSE"` (any case): an area light\'s shape, as Blender\'s Shape (Replicator\'s Rect and Disk lights), e.g. `{ distribution = "choice", values = ["disk", "square"] }`; the same power whatever the shape; a light that is no area light where the entry sets it keeps it for when a `light_type` makes it one; refused on targets that never are one',
        ),
        "size_y": (
            NUMBER,
            "metres: height (Y) of a rectangle or ellipse area light, whose width is `size`; refused on targets that are never a rectangle or an ellipse (a square's and a disk's size is `size` alone)",
        ),
    }
    PARAM_RANGES = {
        "energy": (0.0, 1e9),
        "location": (-1e6, 1e6),
        "look_at": (-1e6, 1e6),
        "size": (0.0, 1e6),
        "temperature": (800.0, 40000.0),
        "size_y": (0.0, 1e6),
    }
    TYPES = ("POINT", "SUN", "SPOT", "AREA")
    SHAPES = ("SQUARE", "RECTANGLE", "DISK", "ELLIPSE")  # Blender's area light shapes
    # The parameters that name one of Blender's names (any case): -> (the names, what to add).
    NAMED = {
        "light_type": (
            TYPES,
            "(Replicator's Sphere is POINT, Distant SUN, Rect and Disk AREA, with `shape` RECTANGLE or DISK)",
        ),
        "shape": (SHAPES, "(any case): an area light's shape (Replicator's Rect is RECTANGLE or SQUARE, Disk DISK)"),
    }

    @classmethod
    def check(cls, params, options):
        return aim_problems(params, distance=None)

    def name_problem(self, param, values):
        if param not in self.NAMED:
            return None
        names, note = self.NAMED[param]
        bad = [v for v in values if not isinstance(v, str) or v.upper() not in names]
        return (bad[0], f"one of {', '.join(names)} {note}") if bad else None

    def prepare(self, base):
        out = []
        for param in self.NAMED:
            d = self.params.get(param)
            problem = self.name_problem(param, listed_values(d)) if d is not None else None
            out += [(param, *problem)] if problem else []
        return out


@register_randomizer
class CameraOrbit(RandomizerSpec):
    """Place cameras on a sphere around a point (or at a location), looking at it."""

    name = "camera"
    target_kind = "cameras"
    moves_targets = True
    OBJECT_OPTIONS = ("look_at_objects",)
    # New parameters go last: a frame's draws follow this order (determinism).
    PARAMS = {
        "look_at": (VEC3, "point the camera looks at, metres; default: the camera's own `look_at` (or the origin)"),
        "distance": (
            NUMBER,
            "distance from `look_at`, metres; a distance drawing 0 is refused (a constant or listed 0, a `uniform` from 0 to 0, a `uniform_int` from 0 or below: no direction to aim along), as a `location` that can draw a point `look_at` draws (listed, or whole numbers a `uniform_int` draws, component by component in a `per_axis`)",
        ),
        "elevation": (NUMBER, "degrees above the horizontal plane through `look_at` (0: level with it)"),
        "azimuth": (NUMBER, "degrees, counter-clockwise from +X seen from above (−90 is the −Y side)"),
        "focal_length": (
            NUMBER,
            "lens focal length, mm (Blender's lens is at least 1 mm); perspective cameras (an orthographic target is refused: its ortho_scale sets its view)",
        ),
        "location": (
            VEC3,
            "world location of the camera, metres, instead of `distance` / `elevation` / `azimuth` (e.g. uniform in a box or a `shell`); it still looks at `look_at`",
        ),
        "roll": (
            NUMBER,
            "turn about the viewing axis, degrees, counter-clockwise as seen from behind the camera (default 0: level)",
        ),
        "rotation": (
            VEC3,
            "XYZ Euler rotation of the camera, degrees, instead of looking at a point (`[0, 0, 0]` looks down −Z, as `cameras[].rotation`): a pose given as location and angles (BlenderProc's camera poses, Replicator's `rep.modify.pose(rotation=...)`)",
        ),
    }
    # Blender clamps a lens below 1 mm without a word
    PARAM_RANGES = {
        "look_at": (-1e6, 1e6),
        "distance": (0.0, 1e6),
        "elevation": (-1e6, 1e6),
        "azimuth": (-1e6, 1e6),
        "focal_length": (1.0, 1e6),
        "location": (-1e6, 1e6),
        "roll": (-1e6, 1e6),
        "rotation": (-1e6, 1e6),
    }

    OPTIONS = {
        "look_at_objects": (
            [],
            (str, list),
            "names or globs of objects to look at instead of the point `look_at`, or a table of their labels (`{ class = \"car\" }`): the mean of their bounding-box centres where they are this frame (Replicator's `look_at` a prim, BlenderProc's `compute_poi`); objects hidden this frame take no part (all of them hidden: all of them, where they were built, not where the frames rendered before left it)",
        ),
        "look_at_count": Field(
            "look_at_count",
            "int",
            0,
            "with `look_at_objects`: aim at this many of them, drawn afresh each frame for each camera, no one twice (BlenderProc's `compute_poi(np.random.choice(objs, size=N, replace=False))`): at most as many as it names (more is refused), all those shown where fewer are shown this frame; 0: all of them",
            low=0,
            high=100000,
        ),
    }

    def __init__(self, params, options, trigger="frame", interval=1):
        super().__init__(params, options, trigger, interval)
        # Resolving object names takes the scene facts; only then are they read.
        self.needs_facts = bool(self.options["look_at_objects"])

    @classmethod
    def check(cls, params, options):
        out = aim_problems(params)
        orbit = [k for k in ("distance", "elevation", "azimuth") if k in params]
        if "location" in params and orbit:
            out.append(
                (
                    "location",
                    None,
                    f"not together with {', '.join(orbit)}: give the camera's location or its orbit around `look_at`",
                )
            )
        objects = options.get("look_at_objects", [])
        aims = [k for k in ("look_at", "distance", "elevation", "azimuth", "roll") if k in params]
        if "rotation" in params and (aims or objects):
            aims += ["look_at_objects"] if objects else []
            out.append(
                (
                    "rotation",
                    None,
                    f"not together with {', '.join(aims)}: the camera is turned by `rotation` or aimed at a point"
                    " (give `location` with `rotation` to place it)",
                )
            )
        if objects and "look_at" in params:
            out.append(
                ("look_at_objects", objects, "not together with `look_at`: the camera looks at a point or at objects")
            )
        if isinstance(objects, list) and not all(isinstance(x, str) and x for x in objects):
            out.append(("look_at_objects", objects, "an object name or glob, or a list of them"))
        if options.get("look_at_count") and not objects:
            out.append(("look_at_count", options["look_at_count"], "with `look_at_objects` (the objects to draw from)"))
        return out

    def sample(self, rng, frame, targets, facts=None, earlier=()):
        out = super().sample(rng, frame, targets)
        patterns = self.options["look_at_objects"]
        if not patterns:
            return out
        from .placement import hidden_in  # (placement imports this module)

        names = self.objects("look_at_objects", facts.names() if facts is not None else [])
        if not names:
            raise ValueError(f"camera: look_at_objects {patterns} matches no object")
        hidden = hidden_in(earlier)
        shown = [n for n in names if n not in hidden] or names  # all hidden: where they were built
        count = int(self.options["look_at_count"])
        for v in out.values():
            if 0 < count < len(shown):  # drawn after the parameters: their values stay as without it
                v["look_at_objects"] = sorted(str(n) for n in rng.choice(shown, size=count, replace=False))
            else:
                v["look_at_objects"] = shown
        return out


@register_randomizer
class World(RandomizerSpec):
    """Background (world) colour and strength."""

    name = "world"
    target_kind = None
    PARAMS = {
        "color": (COLOR, "linear RGB of the working colour space, in [0, 1]"),
        "strength": (NUMBER, "emission strength"),
        "temperature": (NUMBER, f"thermal cameras: sky temperature, in `thermal.unit` ({FILE_TEMPERATURES_TEXT})"),
    }
    PARAM_RANGES = {"strength": (0.0, 1e9), "temperature": FILE_TEMPERATURES}

    def sample(self, rng, frame, targets):
        return {"world": {k: d.sample(rng, frame) for k, d in self.params.items()}}
