"""Scene facts: the geometry placement randomizers need, read once per run (bpy, mathutils).

A frame's values must be a pure function of (seed, frame, scene facts), so what the
samplers of sampling.placement and sampling.camera know of the scene is read here once,
right after the scene is built, and never again:

- every entity's triangles in its root's space (vertices + triangle indices), the root's
  transform as built, and its local bounding box;
- the world triangles of the static objects named as scatter surfaces or obstacles.

`SceneFacts` also answers the geometric questions of scatter with mathutils' BVH trees
(`Layout`: does this pose intersect what is already placed? `surface_below`: does a
point rest on a surface?). The sampling modules call it through these methods only and
import no bpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from .base import evaluated_depsgraph
from .build import BuiltScene


@dataclass
class EntityGeometry:
    verts: np.ndarray  # (N, 3) in the root's local space (world = root matrix @ verts)
    tris: np.ndarray  # (M, 3) int indices into verts
    root_matrix: np.ndarray  # (4, 4) root's world transform as built
    # The root's scale as built: a number when its axes agree (their mean), else [x, y, z]
    # (a base scene's stretched object keeps its stretch when scatter or physics place it).
    root_scale: float | list[float]

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self.verts) == 0:
            return np.zeros(3), np.zeros(3)
        return self.verts.min(axis=0), self.verts.max(axis=0)


@dataclass
class SceneFacts:
    entities: dict[str, EntityGeometry] = field(default_factory=dict)
    lights: list[str] = field(default_factory=list)
    cameras: list[str] = field(default_factory=list)
    _static_trees: dict[str, BVHTree] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ queries
    def names(self) -> list[str]:
        return sorted(self.entities)

    def world_verts(self, name: str, matrix: np.ndarray | None = None) -> np.ndarray:
        g = self.entities[name]
        m = g.root_matrix if matrix is None else matrix
        return g.verts @ m[:3, :3].T + m[:3, 3]

    def world_triangles(self, name: str) -> np.ndarray:
        """(M, 3, 3) triangles of an entity as built (static surfaces)."""
        g = self.entities[name]
        return self.world_verts(name)[g.tris]

    def static_tree(self, name: str) -> BVHTree:
        tree = self._static_trees.get(name)
        if tree is None:
            tree = _tree(self.world_verts(name), self.entities[name].tris)
            self._static_trees[name] = tree
        return tree

    def surface_below(self, surfaces: list[str], point, direction, max_distance: float) -> float | None:
        """Distance from `point` along `direction` to the nearest of `surfaces`, or None."""
        best = None
        for s in surfaces:
            hit = self.static_tree(s).ray_cast(Vector(point), Vector(direction), max_distance)
            if hit[0] is not None and (best is None or hit[3] < best):
                best = hit[3]
        return best

    def inside_solid(self, surfaces: list[str], point, direction) -> bool:
        """True when `point` lies inside a solid of `surfaces` as seen along `direction`: the
        first face the ray meets is a back face (its normal points along the ray)."""
        best = None
        for s in surfaces:
            hit = self.static_tree(s).ray_cast(Vector(point), Vector(direction))
            if hit[0] is not None and (best is None or hit[3] < best[3]):
                best = hit
        return best is not None and best[1].dot(Vector(direction)) > 0

    def layout(self, obstacles: list[str] = ()) -> Layout:
        """An empty arrangement that already holds the static `obstacles`."""
        return Layout(self, obstacles)


class Layout:
    """Objects placed so far in one frame; answers whether a new pose intersects them.

    BVH trees are built only for pairs whose bounding boxes overlap (most draws on a
    roomy surface need none), and at most once per placed object. The boxes of everything
    placed are tested against a draw's box in one array operation: a test per placed object
    made placing N objects quadratic in Python calls (500 scattered objects: 170,000 calls,
    3 s a frame).
    """

    def __init__(self, facts: SceneFacts, static: list[str]):
        self.facts = facts
        # [tree or None, world verts, triangles, box low, box high, plane if flat (lazy)]
        self.placed: list[list] = []
        # Box low / high corners of placed[:count], rows in placed's order (room to grow).
        self._lo = np.empty((16, 3))
        self._hi = np.empty((16, 3))
        for name in static:
            verts = facts.world_verts(name)
            if len(verts):
                tris = facts.entities[name].tris
                self._append([facts.static_tree(name), verts, tris, verts.min(axis=0), verts.max(axis=0), UNSET])

    def _append(self, entry: list) -> None:
        n = len(self.placed)
        if n == len(self._lo):
            self._lo = np.concatenate([self._lo, np.empty_like(self._lo)])
            self._hi = np.concatenate([self._hi, np.empty_like(self._hi)])
        self._lo[n], self._hi[n] = entry[3], entry[4]
        self.placed.append(entry)

    def _tree_of(self, entry) -> BVHTree:
        if entry[0] is None:
            entry[0] = _tree(entry[1], entry[2])
        return entry[0]

    def fits(self, name: str, matrix: np.ndarray) -> bool:
        """True when the object at `matrix` neither intersects nor lies inside/around
        anything placed (mesh-level: BVH triangle overlap, plus a containment test and,
        for a flat mesh, the area it shares with faces in its plane)."""
        g = self.facts.entities[name]
        if len(g.tris) == 0:
            return True
        verts = self.facts.world_verts(name, matrix)
        lo, hi = verts.min(axis=0), verts.max(axis=0)
        mine = [None, verts, g.tris, lo, hi, UNSET]
        n = len(self.placed)
        apart = (hi < self._lo[:n]).any(axis=1) | (self._hi[:n] < lo).any(axis=1)
        for k in np.flatnonzero(~apart).tolist():  # bounding boxes that meet, in placed order
            other = self.placed[k]
            tree, other_tree = self._tree_of(mine), self._tree_of(other)
            if tree.overlap(other_tree):
                return False
            if other_inside(tree, other_tree, verts):
                return False
            if coplanar_overlap(mine, other):
                return False
        return True

    def add(self, name: str, matrix: np.ndarray) -> None:
        verts = self.facts.world_verts(name, matrix)
        self._append([None, verts, self.facts.entities[name].tris, verts.min(axis=0), verts.max(axis=0), UNSET])


def other_inside(tree: BVHTree, other: BVHTree, verts: np.ndarray) -> bool:
    """With no triangle intersections, one closed mesh is inside the other when any one
    of its points is: test a vertex of the new one against the other and vice versa."""
    if len(verts) and _inside(other, verts[0]):
        return True
    # A vertex of `other`: the nearest point of other's surface to our first vertex.
    hit = other.find_nearest(Vector(verts[0])) if len(verts) else (None,)
    return hit[0] is not None and _inside(tree, np.array(hit[0]))


UNSET = object()  # a layout entry's plane, not yet computed
COPLANAR = 1e-6  # metres: vertices this close to a plane lie in it


def _plane(entry: list) -> tuple[np.ndarray, float] | None:
    """(unit normal, offset) of the plane a flat mesh (a sheet: every vertex in one plane)
    lies in, else None; kept in the entry."""
    if entry[5] is UNSET:
        verts, entry[5] = entry[1], None
        if len(verts) >= 3:
            centre = verts.mean(axis=0)
            normal = np.linalg.svd(verts - centre, full_matrices=False)[2][-1]
            if np.abs((verts - centre) @ normal).max() <= COPLANAR:
                entry[5] = (normal, float(normal @ centre))
    return entry[5]


def coplanar_overlap(a: list, b: list) -> bool:
    """True when a flat mesh (a plane, a decal, a card) and triangles of the other lying in
    its plane share an area. BVH's overlap finds crossing triangles only: sheets scattered
    flat on one surface lie in one plane and overlapped unseen. Touching along an edge or
    at a corner is not overlapping."""
    for flat, other in ((a, b), (b, a)):
        plane = _plane(flat)
        if plane is None or not len(flat[2]) or not len(other[2]):
            continue
        normal, offset = plane
        on_plane = np.abs(other[1] @ normal - offset) <= COPLANAR
        tb = other[1][other[2][on_plane[other[2]].all(axis=1)]]
        if not len(tb):
            continue
        ta = flat[1][flat[2]]
        lo, hi = tb.min(axis=(0, 1)) - COPLANAR, tb.max(axis=(0, 1)) + COPLANAR
        ta = ta[((ta.max(axis=1) >= lo) & (ta.min(axis=1) <= hi)).all(axis=1)]
        step = max(1, 200_000 // len(tb))  # pairs at a time
        for start in range(0, len(ta), step):
            pa = np.repeat(ta[start : start + step], len(tb), axis=0)
            pb = np.tile(tb, (len(pa) // len(tb), 1, 1))
            if _share_area(pa, pb, normal):
                return True
    return False


def _share_area(a: np.ndarray, b: np.ndarray, normal: np.ndarray) -> bool:
    """Whether any pair of triangles a[i], b[i] in the plane of `normal` overlaps by more
    than COPLANAR on every separating axis (the normals of their edges in the plane)."""
    edges = np.concatenate([np.roll(a, -1, axis=1) - a, np.roll(b, -1, axis=1) - b], axis=1)
    axes = np.cross(edges, normal)  # (pairs, 6, 3)
    length = np.linalg.norm(axes, axis=2)
    axes = np.divide(axes, length[..., None], out=np.zeros_like(axes), where=length[..., None] > 0)
    on_a, on_b = np.einsum("pxc,pvc->pxv", axes, a), np.einsum("pxc,pvc->pxv", axes, b)
    depth = np.minimum(on_a.max(axis=2), on_b.max(axis=2)) - np.maximum(on_a.min(axis=2), on_b.min(axis=2))
    return bool(((depth > COPLANAR) | (length == 0)).all(axis=1).any())


def _inside(tree: BVHTree, point) -> bool:
    hit = tree.find_nearest(Vector(point))
    if hit[0] is None:
        return False
    to_point = Vector(point) - hit[0]
    return to_point.length > 1e-9 and to_point.dot(hit[1]) < 0


def _tree(verts: np.ndarray, tris: np.ndarray) -> BVHTree:
    return BVHTree.FromPolygons([tuple(v) for v in verts.tolist()], tris.tolist(), all_triangles=True, epsilon=0.0)


def extract_facts(built: BuiltScene) -> SceneFacts:
    """Read every entity's geometry once (evaluated meshes: modifiers applied)."""

    depsgraph = evaluated_depsgraph(built.scene)
    facts = SceneFacts(lights=sorted(built.lights), cameras=sorted(built.cameras))
    for name, e in sorted(built.entities.items()):
        root_mw = np.array(e.root.matrix_world, dtype=np.float64)
        to_root = np.linalg.inv(root_mw)
        verts, tris, offset = [], [], 0
        for m in e.meshes:
            co, idx = mesh_triangles(m, depsgraph)
            mw = to_root @ np.array(m.matrix_world, dtype=np.float64)
            verts.append(co @ mw[:3, :3].T + mw[:3, 3])
            tris.append(idx + offset)
            offset += len(co)
        v = np.concatenate(verts) if verts else np.zeros((0, 3))
        t = np.concatenate(tris).astype(np.int64) if tris else np.zeros((0, 3), np.int64)
        axes = np.array(e.root.matrix_world.to_scale(), dtype=np.float64)
        uniform = float(np.ptp(axes)) <= 1e-6 * float(np.abs(axes).max())
        scale = float(np.mean(axes)) if uniform else [float(x) for x in axes]
        facts.entities[name] = EntityGeometry(v, t, root_mw, scale)
    built.facts = facts  # appliers that need the run's geometry (physics) read it there
    return facts


def mesh_triangles(obj, depsgraph) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) in the object's space, triangles (T, 3)) of its evaluated mesh."""
    evaluated = obj.evaluated_get(depsgraph)
    try:
        mesh = evaluated.to_mesh()
    except RuntimeError:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    if mesh is None:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    try:
        mesh.calc_loop_triangles()
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", co)
        idx = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int64)
        mesh.loop_triangles.foreach_get("vertices", idx)
    finally:
        evaluated.to_mesh_clear()
    return co.reshape(-1, 3), idx.reshape(-1, 3)
