"""Physics settle in Blender (sampling.physics): rigid body simulation on proxies.

Every simulated or passive entity gets, once per run, an invisible proxy: one mesh object
holding all its parts' geometry in the entity root's space (so a model of several meshes,
under an empty, is one rigid body). The proxy's origin is the entity's centre of volume:
Bullet puts a body's centre of mass at its origin, and a primitive's origin (the centre of
its base) would make every body bottom-heavy, righting itself like a weeble. The proxies
live in a collection that is not rendered and is not an entity. Per frame: the rigid body cache is reset, the active proxies are put
at their start poses, the scene steps frame by frame until every active proxy moves slower
than `rest_speed` for 10 steps (or `max_steps`), and the settled poses are copied onto the
entities' roots. The scene frame is restored afterwards.
"""

from __future__ import annotations

import logging
import math

import bpy
import numpy as np
from mathutils import Euler, Matrix, Vector

from ..sampling.randomizers import as_vec3
from .base import meters_per_unit
from .build import BuiltScene
from .randomize import ENTRY_APPLIERS, applier, target_check

PROXIES = "sdg_physics_proxies"
BODIES = "sdg_rigid_bodies"  # the rigid body world's collection
REST_STEPS = 10
MARGIN = 0.001  # metres: Bullet's collision margin of an active body, outside its convex hull
SLAB = 0.1  # metres: how deep a flat collider's solid reaches below its surface
MAX_PARTS = 32  # a collider of more separate pieces than this is one triangle mesh
MANY_BODIES = 100  # targets settled together from which the time a frame takes is said


def centre_of_volume(verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Centroid of the solid the triangles enclose (signed tetrahedra from the origin); the
    bounding box centre for an open or flat mesh, whose 'volume' means nothing."""
    if len(verts) == 0:
        return np.zeros(3)
    low, high = verts.min(axis=0), verts.max(axis=0)
    box = (low + high) / 2
    if len(tris) == 0:
        return box
    a, b, c = (verts[tris[:, k]] for k in range(3))
    vol = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0
    total = float(vol.sum())
    if abs(total) <= 1e-9 * float(np.prod(np.maximum(high - low, 1e-12))):
        return box
    centre = (vol[:, None] * (a + b + c)).sum(axis=0) / (4.0 * total)
    inside = np.all(centre >= low - 1e-9) and np.all(centre <= high + 1e-9)
    return centre if inside else box


def _components(n_verts: int, tris: np.ndarray) -> np.ndarray:
    """A label per vertex: vertices joined by triangles share one (0, 1, ... in order)."""
    parent = list(range(n_verts))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, c in tris.tolist():
        ra, rb, rc = root(a), root(b), root(c)
        parent[rb] = ra
        parent[root(rc)] = ra
    roots = np.array([root(i) for i in range(n_verts)], dtype=np.int64)
    return np.unique(roots, return_inverse=True)[1]


def _hull_2d(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The convex hull of 2D points (Andrew's monotone chain): (the indices of its corners,
    its area)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))

    def half(seq):
        out = []
        for i in seq:
            p = points[i]
            while len(out) >= 2:
                a, b = points[out[-2]], points[out[-1]]
                if (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) > 0:
                    break
                out.pop()
            out.append(i)
        return out

    if len(order) < 3:
        return np.array(order, dtype=np.int64), 0.0
    corners = np.array(half(order)[:-1] + half(order[::-1])[:-1], dtype=np.int64)
    x, y = points[corners, 0], points[corners, 1]
    return corners, 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def cuboid_axes(verts: np.ndarray) -> np.ndarray | None:
    """The three edge vectors of the box whose 8 corners `verts` are (each once or repeated),
    or None for any other shape. Bullet collides two boxes with a contact at each corner
    they touch with (its box-box test), where two convex hulls get one point a step: a cube
    dropped flat onto a hull turned on its one first corner and slid centimetres."""
    if len(verts) < 8:
        return None
    extent = float(np.ptp(verts, axis=0).max())
    eps = 1e-6 * max(extent, 1e-12)
    corners = np.unique(np.round(verts / eps) * eps, axis=0)
    if len(corners) != 8:
        return None
    first = corners[0]
    near = sorted(corners[1:] - first, key=lambda e: float(np.dot(e, e)))[:3]
    edges = np.array(near)
    lengths = np.linalg.norm(edges, axis=1)
    if lengths.min() <= 1e3 * eps:
        return None
    unit = edges / lengths[:, None]
    if float(np.abs(unit @ unit.T - np.eye(3)).max()) > 1e-6:
        return None
    coords = (corners - first) @ np.linalg.inv(edges)
    if (
        float(np.abs(coords - np.round(coords)).max()) > 1e-6
        or len(
            {tuple(c) for c in np.round(coords).astype(int).tolist()}
            & {(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)}
        )
        != 8
    ):
        return None
    return edges


def _part(verts: np.ndarray, tris: np.ndarray, slab: float) -> tuple[np.ndarray, np.ndarray, str]:
    """One connected piece of a collider as Bullet should see it: a flat convex piece facing
    up (a ground, a shelf board) as the convex solid `slab` deep below it, a closed convex one
    (a box, a table's top or leg) as its convex hull, anything else as its triangles."""
    extent = float(np.ptp(verts, axis=0).max()) if len(verts) else 0.0
    eps = 1e-6 * max(extent, 1e-12)
    a, b, c = (verts[tris[:, k]] for k in range(3))
    cross = np.cross(b - a, c - a)
    centre = verts.mean(axis=0)
    normal = np.linalg.svd(verts - centre, full_matrices=False)[2][-1] if len(verts) >= 3 else np.zeros(3)
    if len(verts) >= 3 and float(np.abs((verts - centre) @ normal).max()) <= eps:
        unique = np.unique(np.sort(tris, axis=1), axis=0)
        area = 0.5 * float(
            np.linalg.norm(
                np.cross(verts[unique[:, 1]] - verts[unique[:, 0]], verts[unique[:, 2]] - verts[unique[:, 0]]), axis=1
            ).sum()
        )
        u = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
        u /= np.linalg.norm(u)
        corners, hull = _hull_2d(np.stack([verts @ u, verts @ np.cross(normal, u)], axis=1))
        # Only a piece facing up (a floor, a shelf board, a ramp up to 60 degrees; its faces
        # facing up or down) is given depth, below it: a wall's depth would lie on the side its
        # faces do not face, which is the room for half of the walls built (a plane turned -90
        # degrees about X beside a box pushed the box 1.08 m away).
        if hull > 0 and abs(area - hull) <= 1e-6 * hull and abs(normal[2]) >= 0.5:
            if normal[2] < 0:
                normal = -normal
            # Its outline's corners above and below: a ground of 300 x 300 squares is a box
            # of 8 (was a hull of its 181,202 points, rebuilt every frame: 3.8 s a frame).
            top = verts[corners]
            return np.concatenate([top, top - slab * normal]), np.zeros((0, 3), np.int64), "CONVEX_HULL"
    edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    counts = np.unique(edges, axis=0, return_counts=True)[1]
    if len(tris) >= 4 and bool((counts == 2).all()):
        unit = cross / np.maximum(np.linalg.norm(cross, axis=1), 1e-300)[:, None]
        convex = True
        for start in range(0, len(tris), 256):
            d = (
                np.einsum("fc,vc->fv", unit[start : start + 256], verts)
                - np.einsum("fc,fc->f", unit[start : start + 256], a[start : start + 256])[:, None]
            )
            if not bool(((d.max(axis=1) <= eps) | (d.min(axis=1) >= -eps)).all()):
                convex = False
                break
        if convex:
            return verts, tris, "CONVEX_HULL"
    return verts, tris, "MESH"


def collider_parts(verts: np.ndarray, tris: np.ndarray, slab: float) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """The bodies a passive collider is simulated as: (vertices, triangles, Bullet shape) of
    each connected piece (see _part), the pieces Bullet would see as triangles joined into one.
    A flat collider as bare triangles has no inside: a card, a coin or a plane landing on a
    ground passed through it between two substeps and fell for ever, and a 1 m cube dropped
    flat onto it slid 15 cm on the seam of its two triangles; on a solid they rest."""
    if len(tris) == 0:
        return []
    labels = _components(len(verts), tris)
    pieces = int(labels.max()) + 1
    if pieces > MAX_PARTS:
        return [(verts, tris, "MESH")]
    parts, meshes = [], []
    for k in range(pieces):
        keep = np.flatnonzero(labels == k)
        index = np.full(len(verts), -1, dtype=np.int64)
        index[keep] = np.arange(len(keep))
        own = index[tris[labels[tris[:, 0]] == k]]
        if len(own) == 0:
            continue
        part = _part(verts[keep], own, slab)
        if part[2] == "CONVEX_HULL" and cuboid_axes(part[0]) is not None:
            part = (part[0], part[1], "BOX")
        (meshes if part[2] == "MESH" else parts).append(part)
    if meshes:
        offsets = np.cumsum([0] + [len(v) for v, _t, _s in meshes[:-1]])
        parts.append(
            (
                np.concatenate([v for v, _t, _s in meshes]),
                np.concatenate([t + o for (_v, t, _s), o in zip(meshes, offsets)]),
                "MESH",
            )
        )
    return parts


def is_axis_box(verts: np.ndarray) -> bool:
    """Whether `verts` are the 8 corners of a box along the axes of their space: such a body
    collides as Bullet's box (Blender's Box shape is the mesh's bounding box about its
    origin, a proxy's centre of volume, the box's centre); see cuboid_axes."""
    edges = cuboid_axes(verts)
    return edges is not None and bool((np.abs(edges).max(axis=1) >= (1 - 1e-9) * np.linalg.norm(edges, axis=1)).all())


def collider_objects(name: str, verts: np.ndarray, tris: np.ndarray, slab: float, coll) -> list[tuple]:
    """The bodies a passive collider of these world-space triangles is simulated as
    (collider_parts): (object in `coll`, Bullet shape, its world matrix (4 x 4 array)) of each
    piece, a box in its own axes (Bullet's box is its bounding box about its origin)."""
    made = []
    for k, (part, part_tris, shape) in enumerate(collider_parts(verts, tris, slab)):
        frame = np.eye(4)
        if shape == "BOX":  # in the box's own axes, centred
            edges = cuboid_axes(part)
            axes = edges / np.linalg.norm(edges, axis=1)[:, None]
            if np.linalg.det(axes) < 0:
                axes[2] = -axes[2]
            frame[:3, :3] = axes.T
            local = part @ axes.T
            frame[:3, 3] = axes.T @ ((local.min(axis=0) + local.max(axis=0)) / 2)
            part, part_tris = (part - frame[:3, 3]) @ axes.T, np.zeros((0, 3), np.int64)
        obj, centre = proxy_object(f"{name} (collider {k})", part, part_tris, coll)
        made.append((obj, shape, frame @ np.array(Matrix.Translation(Vector(centre)))))
    return made


def proxy_collection(scene, name: str):
    """The collection `name` of proxies in the scene: never rendered, never an entity."""
    coll = bpy.data.collections.get(name)
    if coll is None:
        coll = bpy.data.collections.new(name)
        scene.collection.children.link(coll)
        coll.hide_render = True
    return coll


def proxy_object(name: str, verts: np.ndarray, tris: np.ndarray, coll) -> tuple[bpy.types.Object, np.ndarray]:
    """A mesh object of these triangles in `coll`, its origin at their centre of volume (where
    Bullet puts the centre of mass): (the object, that centre in the triangles' space)."""
    centre = centre_of_volume(verts, tris)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata((verts - centre).tolist(), [], tris.tolist())
    obj = bpy.data.objects.new(name, mesh)
    coll.objects.link(obj)
    return obj, centre


def new_rigid_body_world(scene, bodies_name: str):
    """A new rigid body world whose bodies are the collection `bodies_name`. A new one each
    time: Bullet keeps contact state between runs of one world, so reusing it would make a
    simulation depend on those before it."""
    bodies = bpy.data.collections.get(bodies_name) or bpy.data.collections.new(bodies_name)
    with bpy.context.temp_override(scene=scene):
        if scene.rigidbody_world is not None:
            bpy.ops.rigidbody.world_remove()
        bpy.ops.rigidbody.world_add()
    scene.rigidbody_world.collection = bodies
    return scene.rigidbody_world


def _proxy(built: BuiltScene, name: str, coll) -> bpy.types.Object:
    """The entity's rigid body, its origin at the entity's centre of volume."""
    cache = built.__dict__.setdefault("_physics_proxies", {})
    obj = cache.get(name)
    if obj is not None:
        return obj
    # The geometry as read once when the scene was built (scene facts), never from the
    # objects' current poses: float noise of those would make the simulation differ.
    geometry = built.facts.entities[name]
    obj, centre = proxy_object(f"{PROXIES}/{name}", geometry.verts, geometry.tris, coll)
    obj["sdg_centre"] = [float(x) for x in centre]  # root space -> the proxy's origin
    obj["sdg_box"] = is_axis_box(geometry.verts)
    obj.matrix_world = Matrix(geometry.root_matrix.tolist()) @ _offset(obj)
    cache[name] = obj
    return obj


def _colliders(built: BuiltScene, name: str, coll) -> list[tuple[bpy.types.Object, str]]:
    """The passive entity's bodies and their shapes (collider_parts), in world space as built."""
    cache = built.__dict__.setdefault("_physics_colliders", {})
    bodies = cache.get(name)
    if bodies is None:
        geometry = built.facts.entities[name]
        slab = SLAB / meters_per_unit(built.scene)
        made = collider_objects(f"{PROXIES}/{name}", built.facts.world_verts(name), geometry.tris, slab, coll)
        bodies = []
        for obj, shape, frame in made:
            obj["sdg_frame"] = [float(x) for x in frame.ravel()]
            bodies.append((obj, shape))
        cache[name] = bodies
    return bodies


def _offset(proxy, inverse: bool = False) -> Matrix:
    """The proxy's origin in its entity root's space: proxy world = root world @ this."""
    c = Vector(proxy["sdg_centre"])
    return Matrix.Translation(-c if inverse else c)


def _world(built: BuiltScene):
    coll = proxy_collection(built.scene, PROXIES)
    # A new world per settle: a frame's settle does not depend on the frames before it.
    return coll, new_rigid_body_world(built.scene, BODIES)


def remove_helpers(scene, keep_world: bool) -> None:
    """Remove what settling added to `scene` (the proxies, their collections and, unless
    `keep_world`, the rigid body world): a preview shows the settled poses without them."""
    proxies = bpy.data.collections.get(PROXIES)
    if proxies is not None:
        for obj in list(proxies.objects):
            mesh = obj.data
            bpy.data.objects.remove(obj)
            if mesh is not None and mesh.users == 0:
                bpy.data.meshes.remove(mesh)
        bpy.data.collections.remove(proxies)
    if not keep_world and scene.rigidbody_world is not None:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_remove()
    bodies = bpy.data.collections.get(BODIES)
    if bodies is not None and not bodies.objects:
        bpy.data.collections.remove(bodies)


def add_body(obj, world, kind: str) -> None:
    """`obj` one of `world`'s bodies: a new rigid body of type `kind`, or the one it has."""
    if obj.name not in world.collection.objects:
        world.collection.objects.link(obj)  # (which gives it a rigid body, if it had none)
    if obj.rigid_body is None:
        with bpy.context.temp_override(object=obj, active_object=obj, selected_objects=[obj]):
            bpy.ops.rigidbody.object_add(type=kind)


def _make_body(obj, kind: str, shape: str, friction: float, bounciness: float, damping: float, margin: float) -> None:
    add_body(obj, bpy.context.scene.rigidbody_world, kind)
    rb = obj.rigid_body
    rb.type = kind
    rb.collision_shape = shape
    rb.friction = friction
    rb.restitution = bounciness
    rb.linear_damping = rb.angular_damping = damping
    rb.use_margin = True
    rb.collision_margin = margin


def many_bodies_note(count: int, max_steps: int) -> str:
    """What a settle of many targets costs, said before it: Bullet's time a step grows faster
    than the bodies (measured on one core: 100 boxes and 482-vertex balls 26 s a frame of
    250 steps, 400 of them 4 minutes)."""
    return (
        f"physics_settle: {count} targets simulated together, up to {max_steps} steps a frame: the time grows "
        "faster than their number (on one CPU core 100 boxes and balls took 26 s a frame, 400 four minutes)"
    )


def settle(built: BuiltScene, values: dict, spec) -> None:
    """Simulate the entry's targets together and place them where they came to rest."""
    active = {t: v for t, v in values.items() if v.get("simulated")}
    if not active:
        return
    opts = spec.options if spec is not None else {}
    scene = built.scene
    if len(active) >= MANY_BODIES and not built.__dict__.get("_many_bodies_said"):
        # Said once, before the first such simulation: it ran minutes in silence (the
        # progress line comes after the frame).
        built.__dict__["_many_bodies_said"] = True
        logging.getLogger("sdg").info(many_bodies_note(len(active), int(opts.get("max_steps", 250))))
    coll, rbw = _world(built)
    # The world's bodies in one order every frame (passive, then active, by name): Bullet's
    # results depend on the order bodies are added, and the collection kept the order they
    # were first linked in over the frames before (frame 1 rendered alone, in a shard, came to
    # rest elsewhere than after frame 0: a mug 4 cm away, off the table's edge). Proxies of
    # objects not in this frame's simulation (hidden, or another entry's) stay out: a disabled
    # rigid body still collides, where an earlier frame left it.
    for obj in list(rbw.collection.objects):
        rbw.collection.objects.unlink(obj)
    passive = sorted({p for v in active.values() for p in v.get("passive", [])})
    shape = "MESH" if opts.get("shape") == "mesh" else "CONVEX_HULL"
    friction, bounce = float(opts.get("friction", 0.5)), float(opts.get("bounciness", 0.0))
    # Bullet's margin lies outside a convex hull or a triangle mesh: a body of margin m rests
    # m above what holds it (two of 1 mm: 2 mm). Colliders have none, so the lowest point of
    # a resting target is MARGIN above the surface; theirs would double it.
    margin = MARGIN / meters_per_unit(scene)
    bodies = {}
    for name in passive:
        for obj, collider_shape in _colliders(built, name, coll):
            _make_body(obj, "PASSIVE", collider_shape, friction, bounce, 0.0, 0.0)
            obj.matrix_world = Matrix(np.reshape(obj["sdg_frame"], (4, 4)).tolist())  # as built
    for name in active:
        bodies[name] = _proxy(built, name, coll)
        own = "BOX" if shape == "CONVEX_HULL" and bodies[name]["sdg_box"] else shape
        _make_body(bodies[name], "ACTIVE", own, friction, bounce, float(opts.get("damping", 0.3)), margin)
    frame_before = scene.frame_current
    start = rbw.point_cache.frame_start
    max_steps = int(opts.get("max_steps", 250))
    rbw.point_cache.frame_end = start + max_steps  # (re)setting it resets the cache
    for name, v in active.items():
        s = v["start"]
        m = Matrix.LocRotScale(Vector(s["location"]), Euler([math.radians(a) for a in s["rotation"]]), None)
        bodies[name].matrix_world = m @ Matrix.Diagonal((*as_vec3(s["scale"]), 1.0)) @ _offset(bodies[name])
    rbw.point_cache.frame_end = start + max_steps
    scene.frame_set(start)
    fps = scene.render.fps / scene.render.fps_base
    still_needed = float(opts.get("rest_speed", 0.01)) / fps
    # A body moves as fast as the fastest corner of its bounding box, not as its centre: a
    # card still rocking on an edge (its centre all but still) was taken to be at rest and
    # rendered tilted (0.45 degrees).
    corners = {n: np.array([(*c, 1.0) for c in o.bound_box]).T for n, o in bodies.items()}
    last = {n: np.array(o.matrix_world) @ corners[n] for n, o in bodies.items()}
    still = dict.fromkeys(bodies, 0)  # steps each body has been still for, in a row
    steps = 0
    for steps in range(1, max_steps + 1):
        scene.frame_set(start + steps)
        now = {n: np.array(o.matrix_world) @ corners[n] for n, o in bodies.items()}
        for n in bodies:
            moved = float(np.linalg.norm((now[n] - last[n])[:3], axis=0).max())
            still[n] = still[n] + 1 if moved < still_needed else 0
        last = now
        if min(still.values()) >= REST_STEPS:
            break
    settled = {name: bodies[name].matrix_world @ _offset(bodies[name], inverse=True) for name in active}
    # Back at the frame that renders before the settled poses are set: a world matrix is set
    # as a local one under the parent's pose of the current frame, so set at the last step's
    # frame a parent animated (or driven) between the two would carry the object away from
    # where it came to rest (was: 0.8 m along with a keyed cart). Parents before children: a
    # target moved after its settled child would carry it along.
    scene.frame_set(frame_before)
    for name in sorted(active, key=lambda n: _depth(built.entities[n].root)):
        v, mw = active[name], settled[name]
        built.entities[name].root.matrix_world = mw
        loc, rot, _scale = mw.decompose()
        v["settled_location"] = [float(x) for x in loc]
        v["settled_rotation"] = [math.degrees(a) for a in rot.to_euler("XYZ")]
        v["steps"] = steps
        v["at_rest"] = still[name] >= REST_STEPS  # this body (one falling off says so alone)


def _depth(obj) -> int:
    """How many parents are above obj."""
    depth = 0
    while obj.parent is not None:
        obj, depth = obj.parent, depth + 1
    return depth


ENTRY_APPLIERS["physics_settle"] = settle


@target_check("physics_settle")
def check_settled_objects(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """Every target renders where it came to rest: a .blend object's constraint (Limit
    Location, Track To, ...) would move or turn it from there (was: a box under a Limit
    Location of min z 0.4 settled at z 0.1, as its log said, and rendered at z 0.4). A parent,
    moved or animated, is fine: the settled pose is set in its axes at the rendered frame."""
    refused = {}
    for name in targets:
        root = built.entities[name].root
        active = [c.name for c in root.constraints if c.enabled and c.influence > 0]
        if active:
            refused[name] = active
    if not refused:
        return None
    first = next(iter(refused))
    return (
        "targets",
        list(refused),
        f"objects that render where the simulation leaves them: {first!r} has constraints "
        f"({', '.join(repr(c) for c in refused[first])}) that would move or turn it from there; in the .blend, "
        "remove or disable them, or leave it out of targets",
    )


@target_check("physics_settle")
def check_own_world(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """A .blend's own rigid-body world keeps simulating: settling replaces the scene's world
    with one of its own, and the .blend's bodies would stop (was: a .blend's cube falling
    from z = 3 over frames 1..12 stayed at z = 3, in every frame, once a physics_settle
    entry settled another object). Bodies the entry settles or collides with are fine."""
    from .clip_physics import BODIES as CLIP_BODIES

    world = built.scene.rigidbody_world
    coll = world.collection if world is not None else None
    if coll is None or coll.name in (BODIES, CLIP_BODIES) or not coll.all_objects:  # (not the tool's own)
        return None
    # The .blend's bodies this entry settles or collides with are simulated here anyway.
    settled = set(targets) | set(spec.objects("passive", list(built.entities)))
    entity_of = {m.name: n for n, e in built.entities.items() for m in (e.root, *e.meshes)}
    bodies = sorted(o.name for o in coll.all_objects if entity_of.get(o.name) not in settled)
    if not bodies:
        return None
    listed = ", ".join(repr(n) for n in bodies[:5]) + (f" and {len(bodies) - 5} more" if len(bodies) > 5 else "")
    return (
        "type",
        spec.name,
        f"no physics_settle with a .blend whose own rigid-body world simulates {listed}: settling replaces "
        "the scene's rigid-body world, and theirs would stop playing; settle them too (in targets), remove that "
        "world in the .blend (Scene Properties > Rigid Body World), or leave physics_settle out",
    )


@applier("initial_velocity")
def apply_initial_velocity(built: BuiltScene, target: str, v: dict) -> None:
    """Nothing to set on the object: scene.clip_physics gives its rigid body the velocity
    when it restarts the simulation at each clip's first frame."""


@target_check("initial_velocity")
def check_initial_velocity(built: BuiltScene, spec, targets: list[str]) -> tuple[str, object, str] | None:
    """Every target is an active body of the clip's simulation (a passive one cannot move)."""
    from .clip_physics import thrown_problem

    for name in targets:
        problem = thrown_problem(built, name)
        if problem:
            return (
                "targets",
                name,
                f"asset objects the simulation moves (one rendered mesh, not background, not a .blend's "
                f"Passive, Animated or non-Dynamic body); {name}: {problem}",
            )
    return None
