"""Placement randomizers: scatter on surfaces or in a volume, and camera-relative placement.

`scatter` needs scene facts (scene.facts.SceneFacts, read once per run): the targets'
triangles, the surfaces' triangles and BVH trees to test that a pose intersects nothing
placed before it. Frame f's values are a pure function of (seed, f, scene facts).

Scatter, per target in sorted name order, up to `max_tries` draws:
  surface mode: a point uniform by area on the chosen surfaces' triangles (optionally only
    faces whose normal has z >= `min_normal_z`, e.g. a table top), an orientation
    (`upright`: turned about world Z only; `normal`: the object's +Z along the face normal,
    then turned about it; `random`: any rotation), then the object is moved along the face
    normal until its lowest point touches the face plane (plus 0.1 mm, so that touching
    is not counted as intersecting). The draw is kept if that lowest point lies over the
    surface (no overhanging into the air) and the object's mesh intersects no surface,
    obstacle or object placed before it (BVH triangle overlap, plus a containment test and,
    for flat meshes, the area shared in their plane).
  volume mode: a location uniform in a box or a sphere; turned about world Z (`upright`, the
    default, by `yaw`) or any rotation (`random`, `normal`), unless `rotation` is given.
What fits in no try is hidden for the frame and logged as {"placed": false}.
"""

from __future__ import annotations

import math

import numpy as np

from ..config.fields import Field
from ..config.problems import first_names
from ..labels.parse import label_targets_given
from .distributions import Choice, listed_values
from .randomizers import BOOL, NUMBER, NUMBER_OR_VEC3, VEC3, RandomizerSpec, register_randomizer
from .rotations import align_z, compose, euler_matrix, matrix_euler, random_rotation, rotation_z


def hidden_in(earlier: list[dict]) -> set[str]:
    """Objects an earlier entry of this frame hides (pool, visibility, scatter)."""
    hidden: set[str] = set()
    for e in earlier:
        for name, v in e["values"].items():
            shown = v.get("shown", v.get("visible", v.get("placed")))
            if shown is False:
                hidden.add(name)
            elif shown is True:
                hidden.discard(name)
    return hidden


# Entries whose values may hold a target's scale (a number or [x, y, z]).
SCALERS = ("pose", "scatter", "camera_relative")


def scale_in(name: str, earlier: list[dict], facts) -> float | list[float]:
    """The target's scale as the frame's earlier entries left it (the last `pose`,
    `scatter` or `camera_relative` that set one; Replicator's pose-then-scatter), else as
    built."""
    scale = facts.entities[name].root_scale
    for e in earlier:
        v = e["values"].get(name)
        if v is not None and e["type"] in SCALERS and "scale" in v and v.get("placed") is not False:
            scale = v["scale"]
    return scale


def rotation_in(name: str, earlier: list[dict]) -> np.ndarray | None:
    """The target's rotation (3x3) as the frame's earlier entries set it (the last `pose`,
    `scatter` or `camera_relative` that set one; Replicator's pose-then-scatter keeps it),
    else None."""
    rotation = None
    for e in earlier:
        v = e["values"].get(name)
        if v is not None and e["type"] in SCALERS and "rotation" in v and v.get("placed") is not False:
            rotation = v["rotation"]
    return None if rotation is None else euler_matrix(rotation)


# Entries that move their target objects, and the options naming objects that must stay
# where they were built (read once as scene facts: surfaces, obstacles, passive colliders).
MOVERS = ("pose", "scatter", "physics_settle", "camera_relative", "trajectory")
STATIC_OPTIONS = {"scatter": ("surface", "avoid"), "physics_settle": ("passive",)}


def moved_static_objects(specs, targets: list[list[str]], names) -> list[tuple[str, list[str], str]]:
    """(field, objects, expected) for each scatter surface / avoid and physics_settle passive
    option naming objects another entry moves: their geometry is read once, as built, so
    they would be placed on or collided with where they no longer are."""
    out = []
    for i, (spec, own) in enumerate(zip(specs, targets)):
        for option in STATIC_OPTIONS.get(spec.name, ()):
            mine = set(own)  # a set: thousands of targets and names would be quadratic
            static = spec.objects(option, [n for n in names if n not in mine])
            for j, (other, moved) in enumerate(zip(specs, targets)):
                hit = sorted(set(static) & set(moved)) if other.name in MOVERS and j != i else []
                if hit:
                    hint = (
                        "; one scatter entry's targets never intersect: scatter them together"
                        if (spec.name == other.name == "scatter")
                        else ""
                    )
                    given = spec.options.get(option)  # a table of labels as the file writes it
                    shown = first_names(hit)
                    out.append(
                        (
                            f"randomizers[{i}].{option}",
                            label_targets_given(given) if isinstance(given, dict) else given,
                            f"objects no randomizer moves (read once, as built); randomizers[{j}] "
                            f"({other.name}) moves {shown}{hint}",
                        )
                    )
    return out


def moved_after_settling(specs, targets: list[list[str]]) -> list[str]:
    """A warning for each entry that moves objects an earlier physics_settle let come to
    rest: they render where it puts them (a scatter after the settle left boxes in mid-air,
    the simulation's result unseen, without a word)."""
    out = []
    for i, (spec, settled) in enumerate(zip(specs, targets)):
        if spec.name != "physics_settle":
            continue
        for j in range(i + 1, len(specs)):
            moved = sorted(set(settled) & set(targets[j])) if specs[j].name in MOVERS else []
            if moved:
                shown = first_names(moved)
                out.append(
                    f"randomizers[{j}] ({specs[j].name}) moves {shown} after randomizers[{i}] (physics_settle) "
                    "let them come to rest: they render where it puts them, not where they came to rest; put "
                    "physics_settle after the entries that place its targets"
                )
    return out


# What the placing entries do with a target hidden when they run (by an earlier entry, or a
# scatter's target without a free place): not placed, left where the frame's entries before
# them put it, else where it was built.
LEFT_UNPLACED = {
    "scatter": "hides those it does not place (hidden before it, or without a free place)",
    "physics_settle": "does not simulate those hidden when it runs",
}


def _may_show(spec) -> bool:
    """Whether a pool or visibility entry can show its targets (a visibility entry drawing
    only false cannot)."""
    if spec.name == "pool":
        return True
    drawn = spec.params.get("visible")
    if drawn is None:
        return False
    values = listed_values(drawn)
    return not values or any(v is True for v in values)


def shown_after_placing(specs, targets: list[list[str]]) -> list[str]:
    """A warning for each pool or visibility entry that can show objects an earlier scatter
    or physics_settle left unplaced this frame: shown, they stand where they were built (or
    where an entry before the placer put them), not where it would have placed them, e.g. a
    scatter's hidden cubes, all built at one spot, shown there on top of one another."""
    out, warned = [], set()  # a showing entry is named once, after the first placer it follows
    for i, (spec, placed) in enumerate(zip(specs, targets)):
        if spec.name not in LEFT_UNPLACED:
            continue
        for j in range(i + 1, len(specs)):
            shown = sorted(set(placed) & set(targets[j])) if specs[j].name in ("pool", "visibility") else []
            if shown and _may_show(specs[j]) and j not in warned:
                warned.add(j)
                names = first_names(shown)
                out.append(
                    f"randomizers[{j}] ({specs[j].name}) can show {names} after randomizers[{i}] ({spec.name}), "
                    f"which {LEFT_UNPLACED[spec.name]}: shown so, they stand where they were built (or where an "
                    f"entry before it put them), not placed; put randomizers[{j}] before randomizers[{i}]"
                )
                break
    return out


def copies_on_one_spot(assets, specs, targets: list[list[str]]) -> list[str]:
    """A warning for each asset whose `count` copies (two or more, not a pool's members) no
    entry places: built at one place, they render inside one another, and which of them a
    pixel shows is Cycles' tie (even between two processes of one run); Replicator's
    rep.create.cube(count=3) without a position does the same."""
    placed: set[str] = set()
    for spec, names in zip(specs, targets):
        if spec.name in ("scatter", "physics_settle", "camera_relative", "trajectory", "pool") or (
            spec.name == "pose" and "location" in spec.params
        ):
            placed.update(names)
    out = []
    for i, a in enumerate(assets):
        if a.count < 2 or a.pool_files or a.blend_assets:
            continue
        left = [f"{a.name}_{k:03d}" for k in range(a.count) if f"{a.name}_{k:03d}" not in placed]
        if len(left) >= 2:
            names = first_names(left)
            out.append(
                f"assets[{i}] ({a.name}): {names} are built at one place and no randomizer places them (a pose's "
                "location, a scatter, a camera_relative, a trajectory, a physics_settle, or a pool showing some): "
                "they render inside one another and which of them a pixel shows is arbitrary; place them, or give "
                "count = 1"
            )
    return out


@register_randomizer
class Pool(RandomizerSpec):
    """Show k of the targets per frame (choice without replacement); hide the others.

    Made for asset pools (`files = "assets/mugs/*.glb"`): a pool of 200 models is loaded
    once, and each frame shows k of them. Put it before `scatter`, which then places only
    the members shown.
    """

    name = "pool"
    CASE_PARAMS = ()  # k picks the members shown when it is drawn
    PARAMS = {
        "k": (
            NUMBER,
            'how many targets to show this frame (rounded to a whole number; more than there are: all), e.g. `3` or `{ distribution = "uniform_int", low = 1, high = 5 }`',
        )
    }
    PARAM_RANGES = {"k": (0, None)}
    OPTIONS = {
        "order": Field(
            "order",
            "choice",
            "random",
            "`random`: k of the targets drawn uniformly each frame; `cycle`: the targets in name order, k at a "
            "time, frame after frame (frame f shows those at positions f·k .. f·k + k − 1, wrapping round): each "
            "one shown within ⌈n / k⌉ frames (every model of a set, as BOP renders it); k a constant of 1 or more then",
            choices=("random", "cycle"),
        ),
    }

    @classmethod
    def check(cls, params, options):
        if "k" not in params:
            return [("k", None, "how many targets to show per frame (a whole number or a distribution)")]
        if options.get("order") == "cycle" and params["k"].name != "constant":
            return [("k", params["k"].to_dict(), 'a whole number with order = "cycle" (the same k every frame)')]
        if options.get("order") == "cycle" and round(float(params["k"].sample(None, 0))) < 1:
            return [("k", None, 'at least 1, rounded, with order = "cycle" (0 would show no target in any frame)')]
        return []

    def sample(self, rng, frame, targets):
        k = min(int(round(float(self.params["k"].sample(rng, frame)))), len(targets))
        if self.options["order"] == "cycle":  # targets arrive sorted by name (resolve)
            chosen = {targets[(frame * k + j) % len(targets)] for j in range(k)}
        else:
            chosen = set(Choice(values=list(targets), k=k).sample(rng, frame)) if k > 0 else set()
        return {t: {"shown": t in chosen} for t in targets}


REST_GAP = 1e-4  # metres between a scattered object and its surface (touching != overlap)
REST_TOLERANCE = 1e-3  # the lowest point must lie over the surface within this


@register_randomizer
class Scatter(RandomizerSpec):
    """Scatter objects on the surfaces of other objects or in a volume, never intersecting."""

    name = "scatter"
    needs_facts = True
    keeps_trigger_places = True
    OBJECT_OPTIONS = ("surface", "avoid")
    CASE_PARAMS = ()  # the placement is computed from scale, yaw and rotation when drawn
    PARAMS = {
        "scale": (
            NUMBER_OR_VEC3,
            "scale factor: a number (all axes alike) or `[x, y, z]` (per local axis); default: the scale an earlier entry (`pose`, `camera_relative`) set this frame, else the object's scale as built",
        ),
        "yaw": (
            NUMBER,
            'turn about the up axis (world Z, or the face normal with `orientation = "normal"`), degrees; default: the rotation an earlier entry (`pose`, `camera_relative`) set this frame, else uniform 0..360',
        ),
        "rotation": (
            VEC3,
            'XYZ Euler degrees, on a surface with `orientation = "random"`, in a volume with any orientation; default: the rotation an earlier entry set this frame, else drawn as `orientation` says (`upright`: a uniform yaw only; `random`: uniform over all rotations)',
        ),
    }
    PARAM_RANGES = {"scale": (0.0, 1e6), "yaw": (-1e6, 1e6), "rotation": (-1e6, 1e6)}
    OPTIONS = {
        "surface": (
            "",
            (str, list),
            'names (globs) of the objects to scatter on, or a table of their labels (`{ class = "table" }`, as `targets` takes one); empty: scatter in `volume`',
        ),
        "min_normal_z": Field(
            "min_normal_z",
            "float",
            -1.0,
            "surface mode (refused without `surface`): only faces whose unit normal has z >= this (`0.9`: table tops, not the legs); a value no face of the surfaces reaches is refused when the scene is built",
            low=-1.0,
            high=1.0,
        ),
        "orientation": Field(
            "orientation",
            "choice",
            "upright",
            '`upright` turns about world Z only, on a surface and in a volume (give `orientation = "random"` for any rotation there); `normal` (surface mode) puts the object\'s +Z along the face normal, in a volume it is `random`; `random`: any rotation, uniform (on a surface then rested on its lowest point)',
            choices=("upright", "normal", "random"),
        ),
        "volume": Field(
            "volume",
            "choice",
            "box",
            "volume mode (refused with `surface`): the region the origins are drawn in (uniformly)",
            choices=("box", "sphere"),
        ),
        "center": Field(
            "center",
            "vec3",
            [0.0, 0.0, 0.5],
            "volume mode (refused with `surface`): centre of the box or sphere, metres",
            low=-1e6,
            high=1e6,
        ),
        "size": Field(
            "size",
            "vec3",
            [1.0, 1.0, 1.0],
            'volume mode, `volume = "box"` (refused with a sphere or `surface`): box edge lengths [x, y, z], metres',
            low=0.0,
            high=1e6,
        ),
        "radius": Field(
            "radius",
            "float",
            0.5,
            'volume mode, `volume = "sphere"` (refused with the default box or `surface`): sphere radius, metres',
            low=0.0,
            high=1e6,
        ),
        "avoid": (
            [],
            (str, list),
            'other (static) objects the targets must not intersect: names (globs) or a table of their labels (`{ class = "wall" }`); each placed target\'s frame log lists those it kept clear of (`avoided`)',
        ),
        "max_tries": Field(
            "max_tries",
            "int",
            100,
            "draws per target before it is hidden for the frame (a draw on a surface hidden this frame is no try)",
            low=1,
            high=100000,
        ),
    }

    @classmethod
    def check(cls, params, options):
        """`yaw` and `rotation` where the orientation takes them only: else they were drawn
        and never applied (an upright object on a surface ignored a rotation of [90, 0, 0])."""
        orientation, out = options.get("orientation", "upright"), []
        if options.get("surface"):
            if "rotation" in params and orientation != "random":
                used = f'orientation = "{orientation}" turns the object by `yaw`'
                out.append(("rotation", None, f'on a surface only with orientation = "random" ({used})'))
            if "yaw" in params and orientation == "random":
                out.append(("yaw", None, 'on a surface not with orientation = "random" (give `rotation`)'))
        elif "yaw" in params and "rotation" in params:
            out.append(("yaw", None, "in a volume not together with `rotation`, which sets the whole turn"))
        elif "yaw" in params and orientation != "upright":
            out.append(("yaw", None, f'in a volume only with orientation = "upright" ("{orientation}": any rotation)'))
        return out

    @classmethod
    def unused_options(cls, options, given):
        """The region's options where the entry places in another (was: `radius = 2` without
        `volume = "sphere"` scattered in the default 1 m box, the radius read and unused)."""
        if options.get("surface"):
            return [
                (k, "only in volume mode (without `surface`): the targets are placed on the surfaces")
                for k in ("volume", "center", "size", "radius")
                if k in given
            ]
        out = (
            [("min_normal_z", "only with `surface` (in a volume there are no faces)")]
            if "min_normal_z" in given
            else []
        )
        if options.get("volume") == "sphere" and "size" in given:
            out.append(("size", 'only with volume = "box" (the sphere\'s extent is `radius`)'))
        if options.get("volume") != "sphere" and "radius" in given:
            out.append(
                ("radius", 'only with volume = "sphere" (the box\'s extent is `size`; volume = "box" is the default)')
            )
        return out

    def hanging_note(self, facts, targets: list[str]) -> str | None:
        """What to say when an upright (or randomly turned) object may be put on faces that
        face down or sideways, which min_normal_z lets through: it is lifted off them along
        their normal, so it hangs under a table top or stands off a leg's side in mid-air
        (scatter on a table with the default min_normal_z put 8 of 12 mugs there). None
        otherwise (orientation = "normal" aligns the object to such a face, as asked)."""
        o = self.options
        if not o["surface"] or o["orientation"] == "normal":
            return None
        own = set(targets)
        surfaces = self.objects("surface", [n for n in facts.names() if n not in own])
        low, total = 0.0, 0.0
        for name in surfaces:
            t = facts.world_triangles(name)
            cross = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
            area = np.linalg.norm(cross, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                z = np.where(area > 0, cross[:, 2] / area, -2.0)
            drawn = z >= float(o["min_normal_z"])
            total += float(area[drawn].sum())
            low += float(area[drawn & (z <= 1e-6)].sum())
        if low <= 0 or total <= 0:
            return None
        return (
            f"{100 * low / total:.0f} % of the area it draws on ({', '.join(surfaces)}) faces down or sideways "
            f"(min_normal_z = {float(o['min_normal_z']):g}): an object placed there is lifted off such a face along "
            "its normal, so it hangs under it or stands off it in mid-air (under a table top, beside a leg); "
            "min_normal_z = 0.9 keeps to faces that face up"
        )

    def sample(self, rng, frame, targets, facts=None, earlier=(), at_trigger=None):
        """`at_trigger`: on a frame it does not fire, its values where it fired; a target placed
        there starts from the draw that placed it (an earlier draw, which an object hidden
        now stood in the way of then, is not taken)."""
        if facts is None:
            raise ValueError("scatter needs scene facts")
        o = self.options
        hidden = hidden_in(earlier)
        own = set(targets)  # a set: thousands of targets and objects would be quadratic each frame
        others = [n for n in facts.names() if n not in own]
        surfaces = self.objects("surface", others)
        avoid = self.objects("avoid", others)
        # Surfaces and obstacles hidden this frame (a pool, visibility) hold and block nothing:
        # objects were placed on a hidden table, in mid-air in the picture. The picker keeps
        # every surface, so that a target's draws do not depend on which are shown; a draw on
        # a hidden one is no try (a pool of 10 tables, one shown: 100 tries, not 10).
        layout = facts.layout(sorted((set(surfaces) | set(avoid)) - hidden))
        area = _SurfacePicker(facts, surfaces, float(o["min_normal_z"])) if surfaces else None
        shown = [s for s in surfaces if s not in hidden]
        max_tries = int(o["max_tries"])
        share = area.share(shown) if area is not None else 1.0
        draws = max_tries if share >= 1.0 else min(100 * max_tries, math.ceil(max_tries / share)) if share > 0 else 0
        out: dict[str, dict] = {}
        # One generator per target (sorted names, hidden ones too): a target's draws do not
        # depend on which others are shown this frame, so an entry repeating its trigger
        # frame's draws leaves each target where it was placed, unless it no longer fits.
        seeds = rng.integers(0, 2**63, size=len(targets))
        for t, seed in zip(targets, seeds):
            rng = np.random.Generator(np.random.PCG64(int(seed)))
            if t in hidden:  # not shown this frame (a pool, visibility): takes no room
                out[t] = {"placed": False, "tries": 0, "hidden_before": True}
                continue
            values = {"placed": False, "tries": 0}
            before = (at_trigger or {}).get(t, {})
            first = before["tries"] - 1 if before.get("placed") else 0  # the draw that placed it
            counted = 0  # tries: draws not on a hidden surface
            for k in range(max(draws, first + 1) if share > 0 else 0):
                if counted >= max_tries and k > first:  # (the kept draw is reached: it may fit)
                    break
                values["tries"] = k + 1
                drawn = {name: d.sample(rng, frame) for name, d in self.params.items()}
                scale = drawn["scale"] if "scale" in drawn else scale_in(t, earlier, facts)
                scale = [float(x) for x in scale] if isinstance(scale, list) else float(scale)
                factor = np.asarray(scale)  # multiplies the rotation's columns: per local axis
                kept = None if ("yaw" in drawn or "rotation" in drawn) else rotation_in(t, earlier)
                if area is not None:
                    pose = self._on_surface(rng, facts, t, area, drawn, factor, kept)
                else:
                    pose = self._in_volume(rng, drawn, kept)
                on_hidden = pose is not None and pose[2] is not None and pose[2][0] in hidden
                counted += 0 if on_hidden else 1
                if pose is None or k < first:  # (a draw before the kept one: drawn, not taken)
                    continue
                location, rotation, surface = pose
                matrix = compose(location, rotation, factor)
                if area is not None and (surface is None or on_hidden):
                    continue
                if area is not None:
                    # Where the object is lowest, the surface must be right below it.
                    location = self._settled(facts, t, rotation, factor, location, surface, area, shown)
                    if location is None:
                        continue
                    matrix = compose(location, rotation, factor)
                if not layout.fits(t, matrix):
                    continue
                layout.add(t, matrix)
                values = {
                    "placed": True,
                    "location": [float(x) for x in location],
                    "rotation": matrix_euler(rotation),
                    "scale": scale,
                    "tries": k + 1,
                }
                if surface is not None:
                    values["surface"] = surface[0]
                if avoid:  # which objects `avoid` chose (by name or labels), those shown this frame
                    values["avoided"] = [n for n in avoid if n not in hidden]
                break
            out[t] = values
        return out

    def _on_surface(self, rng, facts, name, area, drawn, scale, kept=None):
        """`kept`: the rotation an earlier entry set this frame, kept as it is (under the face
        normal with `orientation = "normal"`) and rested on its lowest point."""
        tri_index, point = area.draw(rng)
        normal = area.normals[tri_index]
        orientation = self.options["orientation"]
        if kept is not None:
            rotation = align_z(normal) @ kept if orientation == "normal" else kept
        else:
            yaw = float(drawn["yaw"]) if "yaw" in drawn else float(rng.uniform(0.0, 360.0))
            if orientation == "normal":
                rotation = align_z(normal) @ rotation_z(yaw)
            elif orientation == "random":
                rotation = euler_matrix(drawn["rotation"]) if "rotation" in drawn else random_rotation(rng)
            else:
                rotation = rotation_z(yaw)
        local = facts.entities[name].verts @ (rotation * scale).T
        if len(local) == 0:
            return None
        lift = -float(np.min(local @ normal)) + REST_GAP
        if facts.inside_solid(area.surfaces, point + normal * REST_GAP, normal):
            # A face covered by solid (a table leg's top under the table top): an object
            # smaller than the cover fitted there, inside it, past the containment test.
            return None
        return point + normal * lift, rotation, (area.owner(tri_index), tri_index)

    def _settled(self, facts, name, rotation, scale, location, surface, area, shown):
        normal = area.normals[surface[1]]
        world = facts.entities[name].verts @ (rotation * scale).T + location
        height = world @ normal
        # The contact points: every vertex within the tolerance of the lowest one (a whole
        # flat base, or a single corner) must lie over the surface.
        contact = world[height <= height.min() + REST_TOLERANCE]
        if len(contact) > 64:
            contact = contact[np.linspace(0, len(contact) - 1, 64).astype(int)]
        # Below each contact point the surface must be near: on a flat face within the
        # tolerance, on a curved one within what its curvature takes away (a quarter of the
        # object's size at most); over an edge, only the floor far below.
        probe = 0.01
        reach = probe + max(2 * REST_TOLERANCE, 0.25 * float(np.ptp(world, axis=0).max()))
        for point in contact:
            hit = facts.surface_below(shown, point + normal * probe, -normal, reach)
            if hit is None:
                return None
        return location

    def _in_volume(self, rng, drawn, kept=None):
        o = self.options
        centre = np.asarray(o["center"], float)
        if o["volume"] == "sphere":
            direction = rng.normal(size=3)
            direction /= np.linalg.norm(direction) or 1.0
            location = centre + direction * float(o["radius"]) * rng.random() ** (1 / 3)
        else:
            location = centre + (rng.random(3) - 0.5) * np.asarray(o["size"], float)
        if kept is not None:
            rotation = kept
        elif "rotation" in drawn:
            rotation = euler_matrix(drawn["rotation"])
        elif o["orientation"] == "upright":
            yaw = float(drawn["yaw"]) if "yaw" in drawn else float(rng.uniform(0.0, 360.0))
            rotation = rotation_z(yaw)
        else:
            rotation = random_rotation(rng)
        return location, rotation, None


class _SurfacePicker:
    """Triangles of the surfaces, drawn uniformly by area."""

    def __init__(self, facts, surfaces: list[str], min_normal_z: float):
        tris, owners = [], []
        for s in surfaces:
            t = facts.world_triangles(s)
            tris.append(t)
            owners += [s] * len(t)
        t = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
        cross = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
        area = np.linalg.norm(cross, axis=1) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            normals = cross / (2 * area[:, None])
        keep = (area > 0) & (normals[:, 2] >= min_normal_z)
        if not keep.any():
            raise ValueError(f"scatter: surfaces {surfaces} have no face with normal z >= {min_normal_z}")
        self.surfaces = surfaces
        self.tris, self.normals = t[keep], normals[keep]
        self.owners = [o for o, k in zip(owners, keep) if k]
        self.cdf = np.cumsum(area[keep]) / area[keep].sum()
        self.areas = area[keep]

    def share(self, shown: list[str]) -> float:
        """The part of the area drawn on that the `shown` surfaces hold."""
        mine = np.isin(np.asarray(self.owners, dtype=object), list(shown))
        return float(self.areas[mine].sum() / self.areas.sum()) if len(self.areas) else 0.0

    def draw(self, rng) -> tuple[int, np.ndarray]:
        i = min(int(np.searchsorted(self.cdf, rng.random(), side="right")), len(self.cdf) - 1)
        r1, r2 = rng.random(2)
        s = np.sqrt(r1)
        a, b, c = self.tris[i]
        return i, (1 - s) * a + s * (1 - r2) * b + s * r2 * c

    def owner(self, i: int) -> str:
        return self.owners[i]


@register_randomizer
class CameraRelative(RandomizerSpec):
    """Place objects or lights in a camera's view: at a depth and a normalized image position.

    x, y are image coordinates in [0, 1] (0, 0: top-left corner; 0.5, 0.5: the centre);
    depth is the distance to the image plane in metres. With `fully_inside`, an object
    whose bounding box would cross the image border is moved towards the image centre
    along the line to the drawn position, at the same depth, until it fits; one too big
    to fit at that depth even at the centre is moved farther away first (the depth used is
    logged as `depth_used`).
    """

    name = "camera_relative"
    target_kind = "placeables"
    PARAMS = {
        "depth": (NUMBER, "distance to the camera's image plane, metres (required)"),
        "x": (
            NUMBER,
            "normalized image x: 0 left edge .. 1 right edge (default uniform 0..1; outside 0 .. 1: beyond that edge)",
        ),
        "y": (
            NUMBER,
            "normalized image y: 0 top edge .. 1 bottom edge (default uniform 0..1; outside 0 .. 1: beyond that edge)",
        ),
        "rotation": (
            VEC3,
            "XYZ Euler degrees (objects only, refused with a light among the targets; default: unchanged)",
        ),
        "scale": (
            NUMBER_OR_VEC3,
            "scale factor: a number (all axes alike) or `[x, y, z]` (per local axis) (objects only, as `rotation`; default: unchanged)",
        ),
        "random_rotation": (
            BOOL,
            "`true`: any orientation, uniform over all rotations, instead of `rotation` (objects only, as `rotation`)",
        ),
    }
    PARAM_RANGES = {
        "depth": (0.0, 1e6),
        "x": (-1e6, 1e6),
        "y": (-1e6, 1e6),
        "rotation": (-1e6, 1e6),
        "scale": (0.0, 1e6),
    }
    OPTIONS = {
        "camera": ("", str, "the camera (default: the first camera)"),
        "fully_inside": (
            False,
            bool,
            "objects: keep the whole bounding box inside the image. A box crossing the border is moved towards the image centre (same depth) until it fits; one too big for its depth even at the centre is first moved farther away (the depth used is logged as `depth_used`). The box is the object's as turned and scaled when this entry runs: an entry after it turning or scaling them (a `pose`'s rotation or scale, a `scatter`, a `physics_settle`) is refused",
        ),
    }

    @classmethod
    def check(cls, params, options):
        out = []
        if "depth" not in params:
            out.append(("depth", None, "a depth (number or distribution): distance to the image plane, metres"))
        if "rotation" in params and "random_rotation" in params:  # it drew both, applied one
            out.append(("rotation", None, "not together with random_rotation (which draws the rotation)"))
        return out

    def sample(self, rng, frame, targets):
        out = {}
        for t in targets:
            v = {k: d.sample(rng, frame) for k, d in self.params.items()}
            v.setdefault("x", float(rng.random()))
            v.setdefault("y", float(rng.random()))
            if v.pop("random_rotation", False):
                v["rotation"] = matrix_euler(random_rotation(rng))
            if self.options["camera"]:
                v["camera"] = self.options["camera"]
            if self.options["fully_inside"]:
                v["fully_inside"] = True
            out[t] = v
        return out
