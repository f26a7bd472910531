"""Named 3D keypoints of entities, as Blender empties below the entity's root (bpy).

Two sources, one representation:
- a parameter file's asset `keypoints = { name = [x, y, z] }` (and `skeleton`): the
  builder adds one empty per keypoint, parented to each copy's root at those local
  coordinates (so the asset's scale and every randomized pose carry them);
- a user's .blend: empties anywhere below an object, named `kp_<name>` (Blender's
  `.001` suffixes of duplicates are ignored) or carrying the custom property
  `sdg_keypoint = "<name>"`. A skeleton is the root's custom property `sdg_skeleton`, a
  JSON list of [name, name] pairs. In a .blend given as an asset `file`, such empties
  (of the objects taken) become the asset's keypoints: the importer keeps their positions
  (stash_keypoints) and every copy gets them as in the file, relative to the model.
Keypoints are read per frame in world space (capture), in declaration order (parameter
file) or by name (empties of a .blend).
"""

from __future__ import annotations

import json
import re

import bpy

KEYPOINT_PROPERTY = "sdg_keypoint"
ORDER_PROPERTY = "sdg_keypoint_index"
SKELETON_PROPERTY = "sdg_skeleton"
NAME_PREFIX = "kp_"
_DUPLICATE_SUFFIX = re.compile(r"\.\d{3,}$")


def add_keypoints(root, keypoints: dict[str, list[float]], skeleton: list[list[str]], collections=None) -> None:
    """One empty per keypoint below `root`, at its local coordinates; skeleton on the root.
    The empties go in `collections`, by default root's (Object.users_collection scans every
    collection of the file: a caller adding many roots names theirs)."""
    collections = list(root.users_collection) if collections is None else list(collections)
    for index, (name, xyz) in enumerate(keypoints.items()):
        empty = bpy.data.objects.new(f"{NAME_PREFIX}{name}", None)
        empty.empty_display_size = 0.02
        for coll in collections:
            coll.objects.link(empty)
        empty.parent = root
        empty.location = xyz
        empty[KEYPOINT_PROPERTY] = name
        empty[ORDER_PROPERTY] = index
    if skeleton:
        root[SKELETON_PROPERTY] = json.dumps(skeleton)


def keypoint_name(obj) -> str | None:
    """The keypoint an object stands for, or None (not an empty, or not a keypoint)."""
    if obj.type != "EMPTY":
        return None
    name = obj.get(KEYPOINT_PROPERTY)
    if isinstance(name, str) and name:
        return name
    if obj.name.startswith(NAME_PREFIX) and len(obj.name) > len(NAME_PREFIX):
        return _DUPLICATE_SUFFIX.sub("", obj.name[len(NAME_PREFIX) :])
    return None


def children_map() -> dict:
    """{object: [its children]} of every object, in bpy.data.objects order (as
    Object.children lists them). Object.children walks every object of the file each time
    it is read; a caller reading the children of many objects builds this map once."""
    found: dict = {}
    for obj in bpy.data.objects:
        parent = obj.parent
        if parent is not None:
            found.setdefault(parent, []).append(obj)
    return found


def entity_keypoints(
    root, children: dict | None = None, roots: set | frozenset = frozenset()
) -> tuple[dict[str, list[float]], list[list[str]]]:
    """({name: world [x, y, z]} in keypoint order, skeleton pairs) of the entity at `root`.
    `children`: children_map() of the scene, for a caller reading many entities (without it,
    this one reads the map itself, a walk over every object). `roots`: the roots of the
    scene's entities; what lies below another one (a labelled part, a realized instance) is
    that entity's, not this one's. The skeleton is the root's sdg_skeleton, else those of
    the objects below it (an instanced collection's mesh carries it, the instancer is the
    root), in name order."""
    if children is None:
        children = children_map()
    found = []
    skeletons = []  # (name, raw) of the objects below the root that carry a skeleton
    stack = [c for c in children.get(root, ()) if c not in roots]
    while stack:
        obj = stack.pop()
        stack.extend(c for c in children.get(obj, ()) if c not in roots)
        if SKELETON_PROPERTY in obj:
            skeletons.append((obj.name, obj[SKELETON_PROPERTY]))
        name = keypoint_name(obj)
        if name is not None:
            order = obj.get(ORDER_PROPERTY)
            found.append((order if isinstance(order, int) else 1 << 30, name, obj))
    found.sort(key=lambda t: (t[0], t[1], t[2].name))
    points = {}
    for _order, name, obj in found:
        if name not in points:  # a name twice: the first (in order) wins
            points[name] = [float(c) for c in obj.matrix_world.translation]
    if SKELETON_PROPERTY in root or not skeletons:
        pairs = parse_skeleton(root.get(SKELETON_PROPERTY)) or []
    else:
        pairs = []
        for _name, raw in sorted(skeletons):
            pairs += [pair for pair in parse_skeleton(raw) or [] if pair not in pairs]
    skeleton = [[a, b] for a, b in pairs if a in points and b in points]
    return points, skeleton


def parse_skeleton(raw) -> list[list[str]] | None:
    """The [name, name] pairs of an sdg_skeleton custom property (a JSON list of pairs of
    names), [] when there is none, None when it is not such a list."""
    if raw is None:
        return []
    if not isinstance(raw, str):
        return None
    try:
        pairs = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(n, str) for n in p) for p in pairs
    ):
        return None
    return [[a, b] for a, b in pairs]


STASH_PROPERTY = "sdg_file_keypoints"


def file_world(obj):
    """An imported object's world matrix from its parent chain. Objects appended from a
    .blend are not evaluated yet: their matrix_world reads as identity until a depsgraph
    update, while location / rotation / scale and the parent chain are the file's."""
    m = obj.matrix_basis.copy()
    if obj.parent is not None:
        m = file_world(obj.parent) @ obj.matrix_parent_inverse @ m
    return m


def stash_keypoints(meshes: list, imported: list) -> str:
    """Before an importer's non-mesh objects are removed: keep the keypoint empties among
    them (world positions as imported, i.e. in the model's frame) and any skeleton, as a
    JSON custom property on the first mesh. Returns what is wrong with a skeleton of the
    file ("" when nothing): not a JSON list of [name, name] pairs, or naming a keypoint the
    file has not (it was dropped unsaid)."""
    points, skeleton, owner = {}, None, None
    for obj in sorted(imported, key=lambda o: o.name):
        name = keypoint_name(obj)
        if name is not None and name not in points:
            points[name] = [float(c) for c in file_world(obj).translation]
        if SKELETON_PROPERTY in obj and skeleton is None:
            skeleton, owner = parse_skeleton(obj[SKELETON_PROPERTY]), obj
            if skeleton is None:
                return (
                    f"a keypoint skeleton that is a JSON list of [name, name] pairs: object {obj.name!r} has "
                    f"{SKELETON_PROPERTY} = {obj[SKELETON_PROPERTY]!r}"
                )
    unknown = sorted({n for pair in skeleton or [] for n in pair} - set(points))
    if unknown:
        return (
            f"a keypoint skeleton naming keypoints of the file: object {owner.name!r} has {SKELETON_PROPERTY} = "
            f"{owner[SKELETON_PROPERTY]!r}, naming {', '.join(repr(n) for n in unknown)} (its keypoints: "
            f"{', '.join(repr(n) for n in points) or 'none'})"
        )
    if points and meshes:
        meshes[0][STASH_PROPERTY] = json.dumps({"points": points, "skeleton": skeleton or []})
    return ""


def stashed_keypoints(meshes: list) -> tuple[dict[str, list[float]], list[list[str]]]:
    """The keypoints stash_keypoints kept: ({name: [x, y, z]}, skeleton)."""
    for obj in meshes:
        raw = obj.get(STASH_PROPERTY)
        if isinstance(raw, str):
            data = json.loads(raw)
            return dict(data.get("points", {})), list(data.get("skeleton", []))
    return {}, []
