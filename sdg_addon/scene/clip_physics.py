"""Rigid-body simulation over each clip (sequence.rigid_body), with Blender's own solver.

Active bodies: every entity with exactly one rendered mesh that is not background (the
asset objects), shaped by their convex hull (a box: Bullet's box); passive: every other
mesh (the ground, objects of several meshes), which collides as physics_settle's colliders
do, as its pieces (Collider: proxies made where it stands at the clip's first frame, the
mesh itself no body). Each clip simulates afresh, in a new rigid-body world with new
active bodies (Bullet keeps contact state within a world, a body Blender's state of its
last simulation), from the poses the randomizers set at its first frame
(scene frame `start_frame`), one frame past its end (Cycles' vector pass reads the frame
after each rendered one); frames then show scene frames `start_frame + i`, `sequence.fps`
frames per second of simulated time. A clip is always rendered from its first frame on
(shards take whole clips, resume re-renders whole clips), so it is the same in every
process. (`physics_settle`, the per-frame settle randomizer, uses its own world: not
together with this.)

Bullet turns a body about its origin (its centre of mass there), and a primitive's origin
is the centre of its base: simulated as it is, every body would be bottom-heavy. So, as
in physics_settle (and as BlenderProc moves origins to the centre of mass to simulate), an
active body is an invisible proxy: a copy of the object's evaluated geometry whose origin
is its centre of volume. The entity's root follows the proxy through a Copy Transforms
constraint, aimed at an empty under the proxy where the root's origin is: the object's
origin, mesh data and poses (annotations, which read the root) stay its own, and the
depsgraph moves it at every frame it evaluates (Cycles' vector pass included).

Initial velocities (the `initial_velocity` randomizer): Blender's rigid bodies take no
velocity, but an Animated (kinematic) body moves Bullet's body, which keeps the velocity of
its last kinematic step when released. So with such an entry each clip's world starts
PREROLL frames before the clip's first frame: every active body is Animated over those
frames, a thrown one keyframed along its velocity and turning by its angular velocity (about
its centre: the proxy's origin) to its start pose at the clip's first frame (standing over
the world's first two frames), the others standing at theirs (their poses keyframed too);
one frame later all are released. Blender's depsgraph evaluates the simulation with no
relation to an object's animation but through its transform, and rebuilds the bodies at the
world's second frame from matrices of either of its first two frames: keyed so, every run
simulates alike. Blender moves an Animated body
between frames in `substeps_per_frame` straight steps and slerps, so the last step gives it
exactly the velocity and spin of the path (a turn of half a turn or more per frame would go
the other way round: config refuses such angular velocities). Bullet's steps (semi-implicit
Euler: velocity += g h, then position += velocity h) put a body released at velocity v at
p + v t + g t (t + h) / 2, h the substep; released at v - g h / 2 it is at p + v t + g t^2 / 2
at every step, the exact throw: that is the velocity given. Without damping (Blender's
default: 4 % of the velocity and 10 % of the spin lost per second) a free body follows the
exact ballistic path and spins at a constant rate (a body of equal inertia about every axis).
Without an `initial_velocity` entry nothing of this happens: the world starts at the clip's
first frame, as it always did.
"""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ..labels.blender import BACKGROUND_PROPERTY
from ..sampling.physics import InitialVelocity
from .base import evaluated_depsgraph, meters_per_unit
from .build import BuiltScene
from .facts import mesh_triangles
from .instancing import renders
from .physics import (
    MARGIN,
    SLAB,
    add_body,
    collider_objects,
    is_axis_box,
    new_rigid_body_world,
    proxy_collection,
    proxy_object,
)

BODIES = "sdg_clip_rigid_bodies"
PROXIES = "sdg_clip_proxies"  # a collection that is never rendered and is not an entity
FOLLOW = "sdg_clip_follow"  # the name of the constraint that makes an object follow its proxy
# Frames before a clip's first one over which bodies are Animated, with initial velocities: the
# world rebuilds its bodies at its second frame (their poses there), so the step into the
# clip's first frame is the first that surely moves them, and gives them their velocity.
PREROLL = InitialVelocity.PREROLL
# Randomizers that place objects: they set a clip's start poses; after its first frame the
# simulation owns the poses (placing again would move the bodies back).
PLACEMENT_TYPES = ("pose", "scatter", "camera_relative")
# Rigid-body settings an object of a .blend brings that its proxy takes over.
OWN_SETTINGS = (
    "enabled",
    "mass",
    "friction",
    "restitution",
    "linear_damping",
    "angular_damping",
    "use_margin",
    "collision_margin",
    "collision_collections",
    "use_deactivation",
    "use_start_deactivated",
    "deactivate_linear_velocity",
    "deactivate_angular_velocity",
)


def _new_world(scene, start_frame: int, clip_length: int, substeps: int = 10, iterations: int = 10):
    world = new_rigid_body_world(scene, BODIES)
    world.point_cache.frame_start = start_frame
    world.point_cache.frame_end = start_frame + clip_length
    world.substeps_per_frame = substeps  # [sequence] substeps_per_frame
    world.solver_iterations = iterations  # [sequence] solver_iterations
    return world


def _step_and_gravity(scene, world) -> tuple[float, Vector]:
    """(simulated seconds per scene frame, the gravity Bullet applies), as Blender's solver
    reads them (its frame rate, the world's time scale and effector weights)."""
    step = world.time_scale * scene.render.fps_base / scene.render.fps
    weights = world.effector_weights
    gravity = Vector(scene.gravity) * (weights.gravity * weights.all) if scene.use_gravity else Vector()
    return step, gravity


def thrown_problem(built: BuiltScene, name: str) -> str | None:
    """Why the entity `name` cannot be thrown (an initial_velocity target), or None: only an
    active body moves with a velocity."""
    entity = built.entities[name]
    meshes = [m for m in entity.meshes if renders(m) and m.type == "MESH"]
    if len(meshes) != 1:
        return f"it has {len(meshes)} rendered meshes: a passive body"
    if entity.root.get(BACKGROUND_PROPERTY) or meshes[0].get(BACKGROUND_PROPERTY):
        return "it is background: a passive body"
    settings = own_settings(meshes[0])
    if settings and meshes[0].rigid_body.kinematic:
        return "its .blend body is Animated: it follows its own keyframes"
    if settings and meshes[0].rigid_body.type == "PASSIVE":
        return "its .blend body is Passive: it stays where it is"
    if settings and not settings["enabled"]:
        return "its .blend body is not Dynamic: it stays where it is"
    return None


def body_kinds(built: BuiltScene) -> dict:
    """{mesh object: "ACTIVE" | "PASSIVE"} of every rendered mesh."""
    kinds = {}
    for e in built.entities.values():
        meshes = [m for m in e.meshes if renders(m) and m.type == "MESH"]
        moving = len(meshes) == 1 and not e.root.get(BACKGROUND_PROPERTY) and not meshes[0].get(BACKGROUND_PROPERTY)
        for m in meshes:
            # A .blend's animated (kinematic) body follows its own keyframes: it stays its
            # own body, as a passive one moved by its animation. A .blend's Passive body (a
            # floor, a shelf) stays passive (was: made active, it fell with the rest).
            own = m.rigid_body
            still = own is not None and (own.kinematic or own.type == "PASSIVE")
            kinds[m] = "ACTIVE" if moving and not still else "PASSIVE"
    return kinds


def _bodies(world, bodies: list[tuple]) -> None:
    """Each of `bodies` ((object, type, shape, margin, settings)) a body of `world`, in that
    order: the margin, then the settings a .blend gave it (read before any world of ours
    replaced the file's, since Blender gives the bodies of a new world its defaults: the
    ground of a clip after the first had a 4 cm margin again)."""
    for obj, kind, shape, margin, own in bodies:
        add_body(obj, world, kind)
        obj.rigid_body.use_margin = True
        obj.rigid_body.collision_margin = margin
        obj.rigid_body.type = kind
        obj.rigid_body.collision_shape = shape
        for key, value in own.items():
            setattr(obj.rigid_body, key, value)


def drop_body(obj) -> None:
    """Remove `obj`'s rigid body: a body Blender keeps from an earlier clip's world carries
    that simulation's state into the next world (a clip of bodies that touch then moved
    otherwise than alone, in a shard or on resume); each clip gets new ones."""
    if obj.rigid_body is not None:
        with bpy.context.temp_override(object=obj, active_object=obj, selected_objects=[obj]):
            bpy.ops.rigidbody.object_remove()


def _copy(value):
    return value if isinstance(value, (bool, int, float, str)) else tuple(value)


def own_settings(obj) -> dict:
    """The rigid-body settings `obj` has (a .blend's), or {} (none)."""
    rb = obj.rigid_body
    # Copies: a bpy array (collision_collections) is a live view of the object's settings.
    return {k: _copy(getattr(rb, k)) for k in OWN_SETTINGS} if rb is not None else {}


class Proxy:
    """An active entity's rigid body: its mesh's geometry with the origin at its centre of
    volume, and an empty under it where the entity's root is, which the root follows (and
    the mesh with it: a .blend asset's mesh is a child of its root)."""

    def __init__(self, mesh_object, root, collection, depsgraph, entity: str = ""):
        self.mesh_object, self.root, self.entity = mesh_object, root, entity
        verts, tris = mesh_triangles(mesh_object, depsgraph)
        self.body, centre = proxy_object(f"{PROXIES}/{mesh_object.name}", verts, tris, collection)
        self.origin = bpy.data.objects.new(f"{PROXIES}/{mesh_object.name}/root", None)
        collection.objects.link(self.origin)
        for o in (self.body, self.origin):
            o.hide_render = True  # (the collection's hides it too: this says so to checks of objects)
        self.origin.parent = self.body
        self.offset = Matrix.Translation(centre.tolist())  # the proxy's origin in the mesh's space
        self.own_settings = own_settings(mesh_object)
        # A box along its own axes (a cube, a book, a card) collides as Bullet's box, with a
        # contact at each corner it lands on, its margin inside: as a convex hull (one point a
        # step) a 1 m cube dropped flat onto the ground from 0.1 to 2 m slid 8 mm (median) to
        # 6.5 cm and rested 1 mm up; as a box 0.2 mm to 2.3 cm, on the ground.
        self.shape = "BOX" if is_axis_box(verts) else "CONVEX_HULL"

    def place(self) -> None:
        """The proxy where the mesh is, its empty where the root is (their poses now)."""
        mesh_world = self.mesh_object.matrix_world
        self.body.matrix_world = mesh_world @ self.offset
        self.origin.matrix_basis = self.offset.inverted() @ mesh_world.inverted() @ self.root.matrix_world

    def unkey(self) -> None:
        """Remove the keyframes of an earlier clip's pre-roll (its poses and Animated flag)."""
        ad = self.body.animation_data
        action = ad.action if ad is not None else None
        self.body.animation_data_clear()
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)

    def hold(self, start_frame: int, throw: dict | None, step: float, gravity: Vector) -> None:
        """Animated over the pre-roll, released one frame after the clip's first frame
        (`start_frame`); thrown: keyframed along the velocity (less g h / 2, see the module's
        words) and turning about its centre at the angular velocity, to its start pose at
        `start_frame`; standing: keyframed at its pose. `step`: the simulated seconds per frame;
        `gravity` times the substep / 2."""
        body = self.body
        if throw is not None:
            v = Vector(throw.get("velocity", (0.0, 0.0, 0.0))) - gravity
            w = Vector([math.radians(a) for a in throw.get("angular_velocity", (0.0, 0.0, 0.0))])
            start = body.matrix_world.copy()
            turn0, centre = start.to_3x3(), start.translation.copy()
            previous = None
            # The world's first frame holds the pose of its second: Blender rebuilds the bodies
            # at the second (RIGIDBODY_REBUILD), reading the objects' matrices with no relation
            # to their animation, so of either frame, as the depsgraph's threads ran; where the
            # two differed a spinning body's slerped steps differed in the last float bits.
            for k in range(-PREROLL, 1):
                t = max(k, 1 - PREROLL) * step
                turn = Matrix.Rotation(w.length * t, 3, w.normalized()) if w.length > 0 else Matrix.Identity(3)
                pose = (turn @ turn0).to_4x4()
                pose.translation = centre + v * t
                body.matrix_world = pose if k < 0 else start
                if previous is not None:
                    body.rotation_euler.make_compatible(previous)
                previous = body.rotation_euler.copy()
                body.keyframe_insert("location", frame=start_frame + k)
                body.keyframe_insert("rotation_euler", frame=start_frame + k)
        else:
            # Standing: its pose keyframed too. Blender's depsgraph orders an object's
            # animation before the simulation only through its transform: with the Animated
            # flag alone keyframed, the simulation read it before or after the frame's
            # animation set it (as its threads ran), releasing the body a frame late in
            # some runs (1.7 mm at the clip's second frame, or the picture not the labels).
            for frame in (start_frame - PREROLL, start_frame):
                body.keyframe_insert("location", frame=frame)
                body.keyframe_insert("rotation_euler", frame=frame)
        rb = body.rigid_body
        rb.kinematic = True
        rb.keyframe_insert("kinematic", frame=start_frame - PREROLL)
        rb.kinematic = False
        rb.keyframe_insert("kinematic", frame=start_frame + 1)

    def follow(self, following: bool) -> None:
        """Make the root follow the proxy (a Copy Transforms constraint), or stop."""
        constraint = self.root.constraints.get(FOLLOW)
        if constraint is not None:
            self.root.constraints.remove(constraint)
        if following:
            constraint = self.root.constraints.new("COPY_TRANSFORMS")
            constraint.name = FOLLOW
            constraint.target = self.origin


class Collider:
    """A passive mesh's bodies, where it stands at a clip's first frame: proxies of its pieces
    as physics_settle's colliders (physics.collider_objects: a flat piece facing up a solid
    below its surface, a closed convex one its hull or Bullet's box, others triangles), no
    margin. As bare triangles with a margin of 1 mm, bodies rested 2 mm up, a 1 m cube
    dropped flat from 1 m slid 7 cm on the seam of the ground's two, and a card, a coin or
    a plane fell through the ground. The mesh itself gets no body; its proxies are remade
    only where it stands elsewhere than in the clip before."""

    def __init__(self, mesh_object, collection, depsgraph, settings: dict):
        self.mesh_object, self.collection = mesh_object, collection
        self.geometry = mesh_triangles(mesh_object, depsgraph)  # in the mesh's space, read once (as proxies)
        # The .blend's friction, restitution, collision collections...: its margin is for its
        # own shape, not for these.
        self.own_settings = {k: v for k, v in settings.items() if k not in ("use_margin", "collision_margin")}
        self.matrix: np.ndarray | None = None  # the mesh's world matrix the bodies were made for
        self.bodies: list[tuple] = []  # (object, Bullet shape, world matrix)

    def place(self, slab: float) -> None:
        """The bodies where the mesh stands now (`slab`: a flat piece's depth, scene units)."""
        matrix = np.array(self.mesh_object.matrix_world)
        if self.matrix is None or not np.array_equal(matrix, self.matrix):
            self.remove()
            verts, tris = self.geometry
            world = verts @ matrix[:3, :3].T + matrix[:3, 3]
            self.bodies = collider_objects(f"{PROXIES}/{self.mesh_object.name}", world, tris, slab, self.collection)
            for obj, _shape, _frame in self.bodies:
                obj.hide_render = True  # (the collection's hides it too: this says so to checks of objects)
            self.matrix = matrix
        for obj, _shape, frame in self.bodies:
            obj.matrix_world = Matrix(frame.tolist())

    def remove(self) -> None:
        for obj, _shape, _frame in self.bodies:
            mesh = obj.data
            bpy.data.objects.remove(obj)
            if mesh is not None and mesh.users == 0:
                bpy.data.meshes.remove(mesh)
        self.bodies, self.matrix = [], None


class ClipBodies:
    """The run's rigid bodies: the proxies are made once; each clip restarts the simulation."""

    def __init__(self, built: BuiltScene, substeps: int = 10, iterations: int = 10):
        self.scene = built.scene
        self.substeps, self.iterations = substeps, iterations  # the world's, as [sequence] gives them
        kinds = body_kinds(built)
        passive = [m for m, kind in kinds.items() if kind == "PASSIVE"]
        collection = proxy_collection(self.scene, PROXIES)
        # A .blend's Animated body follows its own keyframes: it stays its own body (its
        # triangles); any other passive mesh collides as its pieces (Collider).
        depsgraph = evaluated_depsgraph(self.scene)
        animated = [m for m in passive if m.rigid_body is not None and m.rigid_body.kinematic]
        self.animated = {m: own_settings(m) for m in animated}
        self.colliders = [Collider(m, collection, depsgraph, own_settings(m)) for m in passive if m not in animated]
        root_of = {m: (name, e.root) for name, e in built.entities.items() for m in e.meshes}
        self.proxies = [
            Proxy(m, root_of[m][1], collection, depsgraph, root_of[m][0])
            for m, kind in kinds.items()
            if kind == "ACTIVE"
        ]

    def restart(self, start_frame: int, clip_length: int, throws: dict | None = None) -> None:
        """Simulate a clip afresh, in a new world, from the objects' poses at its first
        frame, one frame past its end. Objects hidden in this clip (a pool's members not
        shown, a scatter's unplaced, a visibility entry's) take no part: they would collide
        where they stand, unseen (a pool's members all at their place as built, inside each
        other, burst apart and threw the shown ones out of the picture). `throws`: None
        without an initial_velocity randomizer, else {entity: {"velocity": [x, y, z] m/s,
        "angular_velocity": [x, y, z] degrees/s}} of the thrown ones (the others start at rest)."""
        scene = self.scene
        for proxy in self.proxies:
            proxy.follow(False)
            proxy.unkey()
        scene.frame_set(start_frame)  # the objects' own poses, no longer following a proxy
        for proxy in self.proxies:
            proxy.place()
        for body in [p.body for p in self.proxies] + [obj for c in self.colliders for obj, _s, _f in c.bodies]:
            drop_body(body)
        colliders = [c for c in self.colliders if renders(c.mesh_object)]
        for collider in colliders:
            collider.place(SLAB / meters_per_unit(scene))
        shown = [p for p in self.proxies if renders(p.mesh_object)]
        preroll = 0 if throws is None else PREROLL
        world = _new_world(scene, start_frame - preroll, clip_length + preroll, self.substeps, self.iterations)
        # The bodies' collection outlives the worlds: a passive body an earlier clip linked
        # stayed a body of this one, hidden or not (a distractor shown in clip 0, hidden in
        # clip 1, still held the falling ball in clip 1, unseen, where clip 1 alone let it
        # fall to the ground), and the bodies' order (Bullet's results depend on it) was
        # that of the clips before. Each clip links its own, in one order.
        for obj in list(world.collection.objects):
            world.collection.objects.unlink(obj)
        # Margins: none on the colliders, 1 mm on the active bodies (Blender's 4 cm, outside a
        # convex hull, would hold them 4 cm above what they lie on; inside a box), so a box
        # rests on what holds it and a hull 1 mm above; a .blend's own margin where it has one.
        # Metres, as physics_settle's, whatever the unit scale (0.001 units was 0.01 mm in a
        # .blend in centimetres).
        margin = MARGIN / meters_per_unit(scene)
        _bodies(
            world,
            [(obj, "PASSIVE", shape, 0.0, c.own_settings) for c in colliders for obj, shape, _frame in c.bodies]
            + [(m, "PASSIVE", "MESH", margin, own) for m, own in self.animated.items() if renders(m)]
            + [(p.body, "ACTIVE", p.shape, margin, p.own_settings) for p in shown],
        )
        if throws is not None:
            step, gravity = _step_and_gravity(scene, world)
            half_step = gravity * (step / world.substeps_per_frame / 2)
            for proxy in shown:
                proxy.hold(start_frame, throws.get(proxy.entity), step, half_step)
        for proxy in shown:
            proxy.follow(True)
        for f in range(start_frame - preroll, start_frame + clip_length + 1):
            scene.frame_set(f)
        if scene.render.use_persistent_data:
            # The render's persistent data holds the previous clip's rigid-body world: Cycles'
            # vector pass, which evaluates the frame after, read no motion from it. Switching
            # the setting off frees that data (Blender does so when it is turned off).
            scene.render.use_persistent_data = False
            scene.render.use_persistent_data = True
