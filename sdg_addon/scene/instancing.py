"""Make every copy of instanced geometry a real object, so each copy gets its own id (bpy).

Object.pass_index (the id Cycles writes in the Object Index pass) is per object: every copy
made by a collection instance, Geometry Nodes instances, particles or vertex/face
instancing would share its instancer's (or prototype's) id. `realize_instances(scene)`
replaces those copies by real objects before rendering (docs/exactness.md, "Instancing"):

- A collection instance (an object with instance_type COLLECTION) becomes the parent of
  linked duplicates of the instanced collection's objects (mesh data shared, hierarchy,
  modifiers and materials kept); its instancing is switched off. The instancer itself is
  the copy: one collection instance = one entity, named and pathed after the instancer.
  Objects the prototypes' modifiers use (a boolean's cutter, an armature, an object of a
  Geometry Nodes tree; in the collection or not) get copies too, not rendered, placed in
  the instance space the same way, and the copies' modifiers (node trees: copies of them)
  use those: Blender evaluates the prototypes where they stand and
  instances the result, so each copy keeps the shape of its instance. In a still, a mesh
  shaped by other objects is evaluated once instead and its copies share that shape.
  Nested collection instances are realized level by level.
- Geometry Nodes instances, particles (object/collection render) and vertex/face
  instancing: every instance in the evaluated depsgraph becomes a real object parented to
  its instancer, named "<instancer>/instance_<k>" (k: 0, 1, ... in instance order; for
  Geometry Nodes the top-level instance index). A Geometry Nodes instance of several
  objects (a collection) becomes an empty "<instancer>/instance_<k>" with one child per
  object. Geometry is taken from the evaluated instance (one mesh per distinct geometry,
  shared by all its copies). The instances are then removed from the instancer (Geometry
  Nodes: a trailing "Delete Geometry (Instance)" modifier; particles: the modifier is
  disabled for rendering; vertex/face instancing: switched off and its children hidden),
  so nothing is rendered twice; the instancer's own geometry stays.

Every realized object records its instancer and its prototype's labels (labels.blender
resolves copies as "instancer's labels, overridden by the prototype's"). Everything done
here is marked and undone by `unrealize_instances(scene)`; `realize_instances` starts by
undoing a previous realization, so calling it again reflects the scene as it is now.

The depsgraph read is the view layer's, its viewport settings given their render values
first (scene.render_settings); node trees that branch on "Is Viewport" see the viewport.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import bpy
from mathutils import Matrix

from ..labels.blender import (
    INSTANCE_LABELS,
    INSTANCER,
    REALIZED_INSTANCER,
    collection_parents,
    label_chain,
    object_collections,
    own_labels,
    users_of,
)
from ..labels.parse import LABEL_PROPERTY, merge_labels
from .base import render_view_layer
from .keypoints import KEYPOINT_PROPERTY, keypoint_name

log = logging.getLogger("sdg")

REALIZED = "sdg_realized"  # on objects and meshes made here
COPY_ROOT = "sdg_instance_root"  # on the object that stands for one copy (an entity root)
DROP_INSTANCES = "sdg_drop_instances"  # node group / modifier removing instances
INSTANCE_KEY = "sdg_instance_key"  # on a copy of a depsgraph instance: which one, in every frame
MAX_NESTING = 16
_NO_LEVEL = 2**31 - 1  # persistent_id entries beyond the nesting depth
# Object types whose evaluated geometry can be turned into a mesh.
MESH_LIKE = {"MESH", "CURVE", "SURFACE", "FONT", "META"}
# Object types Cycles renders (and that take an object index).
GEOMETRY_TYPES = MESH_LIKE | {"CURVES", "POINTCLOUD", "VOLUME"}
_SKIP_TYPES = {"CAMERA", "SPEAKER", "LIGHT_PROBE", "ARMATURE", "LATTICE", "EMPTY"}


# ---------------------------------------------------------------------- visibility
def render_collections(scene) -> set[int]:
    """Pointers of the collections whose objects render (view layer 0: not excluded and
    not disabled for rendering, nor any collection above them)."""
    out = {scene.collection.as_pointer()}

    def walk(layer_coll):
        for child in layer_coll.children:
            if child.exclude or child.collection.hide_render:
                continue
            out.add(child.collection.as_pointer())
            walk(child)

    walk(render_view_layer(scene).layer_collection)
    return out


def in_render_collections(obj, collections: set[int], users: dict | None = None) -> bool:
    return any(c.as_pointer() in collections for c in users_of(obj, users))


def renders(obj) -> bool:
    """Whether Cycles draws `obj` itself as the camera sees it (object-level settings, and
    an Indirect Only collection of the scene's rendered view layer: not seen by the camera)."""
    if obj.hide_render or not getattr(obj, "visible_camera", True):
        return False
    scene = bpy.context.scene
    if scene is not None and obj.indirect_only_get(view_layer=render_view_layer(scene)):
        return False
    has_particles = len(getattr(obj, "particle_systems", ())) > 0
    if (has_particles or obj.instance_type in ("VERTS", "FACES")) and not obj.show_instancer_for_render:
        return False
    parent = obj.parent
    if parent is not None and parent.instance_type in ("VERTS", "FACES"):
        return False  # Blender hides the children of a vertex/face instancer in renders
    return True


# ---------------------------------------------------------------------- public API
def realize_instances(scene, frames=()) -> list[str]:
    """Make every rendered instance in `scene` a real object; return the copies' names.

    `frames`: the other scene frames the run renders (a clip's): instances Blender renders
    at any of them get a copy too (particles born later, or dead by then: a copy for each,
    key_instance_motion shows it exactly at the frames where Blender renders it).
    Deterministic: instancers are processed in name order, instances in instance order.
    """
    unrealize_instances(scene)
    made: list[str] = []
    for _ in range(MAX_NESTING):
        colls = render_collections(scene)
        todo = [
            o
            for o in scene.objects
            if o.instance_type == "COLLECTION"
            and o.instance_collection is not None
            and o.get(REALIZED_INSTANCER) is None
            and not o.hide_render
        ]
        users = object_collections(scene) if todo else {}
        todo = sorted((o for o in todo if in_render_collections(o, colls, users)), key=lambda o: o.name)
        if not todo:
            break
        depsgraph = _depsgraph(scene)
        worlds: dict[str, tuple] = {}  # evaluated transforms of prototypes, read first
        shapes: dict[str, object] = {}  # stills: shapes made with other objects, as evaluated
        for coll in {o.instance_collection for o in todo}:
            protos = _collection_tree(coll)[1]
            if not frames:
                for proto in protos:
                    if proto.name not in shapes and _shaped_by_others(proto):
                        shapes[proto.name] = _evaluated_shape(proto, depsgraph)
            live = [p for p in protos if p.name not in shapes]
            for proto in [*protos, *_used_objects(live)]:
                worlds.setdefault(proto.name, _evaluated_transform(proto, depsgraph))
        # Stills: particles simulated where the prototype emitter stands, as instanced.
        simulated = {} if frames else _simulated_particles(depsgraph, {o.name for o in todo})
        for obj in todo:
            _realize_collection_instance(obj, worlds, _collections_for_copies(users_of(obj, users), scene), shapes)
            made.append(obj.name)
            for emitter, groups in sorted(simulated.get(obj.name, {}).items()):
                made += _copy_simulated_particles(scene, obj, emitter, groups, worlds)
    made += _realize_depsgraph_instances(scene, frames)
    return made


def linked_node_instancers(scene) -> list[str]:
    """Objects linked from a library whose Geometry Nodes instances render: their instances
    are not made real (a modifier dropping them for their copies cannot be added to linked
    data), so they render as Blender renders them, with no id of their own."""
    colls, users = render_collections(scene), object_collections(scene)
    return sorted(
        o.name
        for o in scene.objects
        if o.library is not None
        and not o.hide_render
        and _has_node_instances(o)
        and in_render_collections(o, colls, users)
    )


def linked_node_instancers_note(scene) -> str:
    names = linked_node_instancers(scene)
    if not names:
        return ""
    return (
        f"Geometry Nodes instances of objects linked from a library are not told apart: {', '.join(map(repr, names))} "
        "(a linked object takes no modifier in the run): their pixels are the instanced object's (UNLABELLED where "
        "it does not render itself, as a scatter's source) and they have no boxes of their own. "
        "To label them, make a library override of the object (Object > Library Override > Make) or link its "
        "collection through a collection instance"
    )


def relative_collection_note(scene, clip: bool = False) -> str:
    """Collection instances whose objects are evaluated otherwise where they stand: node
    trees reading where their object stands (Collection Info set to Relative, Self Object,
    Active Camera) and, in a `clip`, simulated particles (simulated in world space, from the
    frame the copy is made; a still copies Blender's). A copy made real stands elsewhere
    than the object Blender evaluates, and cannot take a collection, itself, the camera or
    a simulation along (objects it names, it can: _used_objects). A sentence naming them,
    or ''."""
    found: dict[tuple, list[str]] = {}  # (object, what differs, collection) -> instancers
    colls = render_collections(scene)
    users = object_collections(scene)
    instancers = [
        o
        for o in scene.objects
        if o.instance_type == "COLLECTION" and o.instance_collection is not None and not o.hide_render
    ]
    for instancer in sorted(instancers, key=lambda o: o.name):
        if not in_render_collections(instancer, colls, users):
            continue
        todo, seen = [instancer.instance_collection], set()
        while todo:
            coll = todo.pop()
            if coll.name in seen:
                continue
            seen.add(coll.name)
            for proto in _collection_tree(coll)[1]:
                if proto.instance_type == "COLLECTION" and proto.instance_collection is not None:
                    todo.append(proto.instance_collection)
                for what in _evaluated_where_it_stands(proto, clip):
                    found.setdefault((proto.name, what, proto.users_collection[0].name), []).append(instancer.name)
    if not found:
        return ""
    listed = "; ".join(
        f"{obj!r} ({what}) in collection {coll!r}, instanced by {', '.join(map(repr, names))}"
        for (obj, what, coll), names in sorted(found.items())
    )
    return (
        "collection instances made real can differ from Blender's: what depends on where an object stands "
        "is evaluated on the copy, which stands where the instance is, not where Blender evaluates the "
        f"object: {listed}"
    )


def _evaluated_where_it_stands(obj, clip: bool):
    """What of `obj`'s evaluation depends on where it stands, in words (simulated particles:
    in a clip only)."""
    for mod in getattr(obj, "modifiers", ()):
        if not mod.show_render:
            continue
        if mod.type == "NODES" and mod.node_group is not None:
            reads = sorted(_placement_reads(mod.node_group))
            if reads:
                yield f"node tree {mod.node_group.name!r} reads where it stands: {', '.join(reads)}"
        elif mod.type == "PARTICLE_SYSTEM" and clip:
            settings = mod.particle_system.settings
            if settings.render_type in ("OBJECT", "COLLECTION") and settings.physics_type != "NO":
                yield f"particle system {mod.particle_system.name!r} is simulated ({settings.physics_type.lower()})"


_PLACEMENT_NODES = {"GeometryNodeSelfObject": "Self Object", "GeometryNodeInputActiveCamera": "Active Camera"}


def _placement_reads(group, seen=None) -> set[str]:
    """What `group` and the groups it nests read that depends on where the object stands."""
    seen = set() if seen is None else seen
    seen.add(group.name)
    reads = set()
    for node in group.nodes:
        if node.bl_idname == "GeometryNodeCollectionInfo" and node.transform_space == "RELATIVE":
            reads.add("Collection Info set to Relative")
        elif node.bl_idname in _PLACEMENT_NODES:
            reads.add(_PLACEMENT_NODES[node.bl_idname])
        tree = getattr(node, "node_tree", None)
        if tree is not None and tree.name not in seen:
            reads |= _placement_reads(tree, seen)
    return reads


def reads_active_camera(obj) -> bool:
    """Whether a Geometry Nodes modifier `obj` renders with reads the Active Camera (nested
    groups too): its geometry is then evaluated anew for each camera it is rendered from (a
    card turned to face the camera)."""
    return any(
        mod.type == "NODES"
        and mod.show_render
        and mod.node_group is not None
        and "Active Camera" in _placement_reads(mod.node_group)
        for mod in getattr(obj, "modifiers", ())
    )


def camera_turned_instances_note(scene) -> str:
    """Objects whose Geometry Nodes instances read the Active Camera (cards turned to face
    it, left as instances): the run makes each instance a real object once, placed as the
    node tree places it for the camera the scene is built with, so from another camera, or
    once the camera moves, the copies keep that placement where Blender turns them to the
    camera rendering. A sentence naming them, or ''."""
    colls, users = render_collections(scene), object_collections(scene)
    turned = {
        o.name
        for o in scene.objects
        if o.library is None and not o.hide_render and reads_active_camera(o) and in_render_collections(o, colls, users)
    }
    if not turned:
        return ""
    instancers = {
        inst.parent.original.name
        for inst in _depsgraph(scene).object_instances
        if inst.is_instance and inst.parent is not None and inst.parent.original.name in turned
    }
    if not instancers:
        return ""
    camera = scene.camera.name if scene.camera is not None else ""
    return (
        f"Geometry Nodes instances that read the Active Camera: {', '.join(map(repr, sorted(instancers)))}. The run "
        f"makes each instance a real object once, placed for the camera the scene is built with ({camera!r}): "
        "from another camera, or once the camera moves, they keep that placement, where Blender's render turns "
        "them to the camera rendering (cards facing the first camera show edge-on to a second). For instances "
        "that follow each camera, end the node tree with Realize Instances (then one object, read for each camera)"
    )


def unrealize_instances(scene) -> None:
    """Undo `realize_instances`: remove the realized objects, restore the instancers."""
    realized = [o for o in scene.objects if o.get(REALIZED)]
    meshes = {o.data for o in realized if isinstance(o.data, bpy.types.Mesh) and o.data.get(REALIZED)}
    bpy.data.batch_remove(realized)
    bpy.data.batch_remove([m for m in meshes if m.users == 0])
    bpy.data.batch_remove([m for m in bpy.data.meshes if m.get(REALIZED) and m.users == 0])  # made, unused
    # Node trees made for copies (nested ones are used by those above them: outer first).
    while trees := [g for g in bpy.data.node_groups if g.get(REALIZED) and g.users == 0]:
        bpy.data.batch_remove(trees)
    for o in scene.objects:
        state = o.get(REALIZED_INSTANCER)
        if state is not None:
            _restore(o, state.to_dict() if hasattr(state, "to_dict") else dict(state))


def is_instance_copy(obj) -> bool:
    """True for an object standing for one copy of instanced geometry (an entity root)."""
    return bool(obj.get(COPY_ROOT))


# ---------------------------------------------------------------------- state
def _save(obj, **changes) -> None:
    state = obj.get(REALIZED_INSTANCER)
    merged = state.to_dict() if state is not None else {}
    for k, v in changes.items():
        merged.setdefault(k, v)
    obj[REALIZED_INSTANCER] = merged


def _restore(obj, state: dict) -> None:
    if "instance_type" in state:
        obj.instance_type = state["instance_type"]
    if "hide_render" in state:
        obj.hide_render = bool(state["hide_render"])
    for name in state.get("particle_modifiers", []):
        mod = obj.modifiers.get(name)
        if mod is not None:
            mod.show_render = True
    mod = obj.modifiers.get(DROP_INSTANCES) if hasattr(obj, "modifiers") else None
    if mod is not None:
        obj.modifiers.remove(mod)
    for key in (REALIZED_INSTANCER, COPY_ROOT):
        if key in obj:
            del obj[key]


def _clean_copy(copy) -> None:
    """A linked duplicate of a prototype: drop our marks and undo realization state."""
    state = copy.get(REALIZED_INSTANCER)
    if state is not None:
        _restore(copy, state.to_dict())
    for key in (REALIZED, COPY_ROOT, INSTANCER, INSTANCE_LABELS):
        if key in copy:
            del copy[key]
    if getattr(copy, "constraints", None):
        # Placed where its constraints put it when realized; keyframes would fight them.
        copy.animation_data_clear()
        copy.constraints.clear()
    # Otherwise it keeps its keyframes (the prototype's action, shared): placed in the
    # instance space by its parent inverse, they move it there as they move the prototype,
    # so the instanced content's own animation plays in a clip.
    copy.parent_type = "OBJECT"
    copy.matrix_basis = Matrix.Identity(4)


# An object's ray visibility switches (Object > Visibility > Ray Visibility).
_RAY_VISIBILITY = (
    "visible_camera",
    "visible_diffuse",
    "visible_glossy",
    "visible_transmission",
    "visible_volume_scatter",
    "visible_shadow",
)


def _visibility_as_instanced(copy, proto, instancer) -> None:
    """Give a copy the visibility Cycles gives the instance it stands for: the rays both
    its object and its instancer let through, the instancer's holdout (the object's own is
    not used for an instance) and a shadow catcher where either is one. Copies kept the
    object's alone: the instances of an empty hidden from the camera, or set to Holdout,
    rendered (and a holdout object's instances were holes where Blender draws them). In
    nested instancing the instancer is the outermost one, as Cycles takes it."""
    # Nested instancing: Cycles reads the outermost instancer (an instanced collection's own
    # instancers, made real before, lead to it), not those in between.
    for _ in range(64):
        outer = instancer.get(INSTANCER) if instancer.get(REALIZED) else None
        if not isinstance(outer, bpy.types.Object):
            break
        instancer = outer
    for name in _RAY_VISIBILITY:
        setattr(copy, name, bool(getattr(proto, name, True)) and bool(getattr(instancer, name, True)))
    copy.is_holdout = bool(instancer.is_holdout)
    copy.is_shadow_catcher = bool(proto.is_shadow_catcher or instancer.is_shadow_catcher)


def _mark(obj, instancer, labels: dict) -> None:
    obj[REALIZED] = 1
    obj[INSTANCER] = instancer
    obj[INSTANCE_LABELS] = {t: list(v) for t, v in labels.items()}


# ---------------------------------------------------------------------- collections
def _collection_tree(root) -> tuple[dict[str, object], list]:
    """({collection name: parent or None}, objects) of an instanced collection, skipping
    child collections disabled for rendering; objects sorted by name. A collection disabled
    for rendering is instanced as nothing (as Blender renders it)."""
    parents: dict[str, object] = {root.name: None}
    if root.hide_render:
        return parents, []
    objects: dict[str, object] = {o.name: o for o in root.objects}

    def walk(coll):
        for child in coll.children:
            if child.hide_render or child.name in parents:
                continue
            parents[child.name] = coll
            objects.update({o.name: o for o in child.objects})
            walk(child)

    walk(root)
    return parents, [objects[n] for n in sorted(objects)]


def _depsgraph(scene):
    """The evaluated depsgraph of the view layer the scene renders (base.evaluated_depsgraph)."""
    from .base import evaluated_depsgraph

    return evaluated_depsgraph(scene)


def _evaluated_transform(obj, depsgraph) -> tuple[Matrix, Matrix]:
    """(world matrix, local matrix_basis) of an object as evaluated."""
    try:
        evaluated = obj.evaluated_get(depsgraph)
        return evaluated.matrix_world.copy(), evaluated.matrix_basis.copy()
    except (RuntimeError, ReferenceError):
        return obj.matrix_world.copy(), obj.matrix_basis.copy()


def _place(obj, parent, parent_frame: Matrix, world: Matrix, basis: Matrix) -> None:
    """Parent `obj` so that its world matrix is exactly `world` while its own transform
    (location, rotation, scale) is `basis` (the identity where `basis` is singular).

    `parent_frame` is the parent's world matrix in the same space as `world`.
    """
    obj.parent = parent
    if abs(basis.determinant()) < 1e-12:
        basis = Matrix.Identity(4)
    obj.matrix_basis = basis
    obj.matrix_parent_inverse = parent_frame.inverted_safe() @ world @ basis.inverted_safe()


def _realize_collection_instance(instancer, worlds: dict, instancer_colls: list, shapes: dict) -> None:
    coll = instancer.instance_collection
    parents, protos = _collection_tree(coll)
    protos = [p for p in protos if not p.get(REALIZED) and p.type != "CAMERA" and not p.hide_render]
    offset = Matrix.Translation(-coll.instance_offset)
    copies = {}
    for proto in protos:
        copy = proto.copy()  # a linked duplicate: data, modifiers, materials, properties
        copy.name = f"{instancer.name}/{proto.name}"
        copy.color = instancer.color  # Blender gives instances their instancer's colour
        _clean_copy(copy)
        _visibility_as_instanced(copy, proto, instancer)
        _mark(copy, instancer, merge_labels(label_chain(proto, parents)))
        keypoint = keypoint_name(proto)
        if keypoint is not None:  # kp_<name>: the copy's name, INSTANCER/kp_<name>, says no more
            copy[KEYPOINT_PROPERTY] = keypoint
        if proto.name in shapes:  # the prototype's shape, shared: nothing left to evaluate
            copy.data = shapes[proto.name]
            copy.modifiers.clear()
        for c in instancer_colls:
            c.objects.link(copy)
        copies[proto.name] = copy
    # Objects the other copies' modifiers use (a boolean's cutter, an armature, a curve),
    # where not copied above: copies of their own, not rendered, so that each stands to the
    # copies as the object stands to the prototypes (Blender evaluates the prototypes where
    # they are and instances the result); their shapes then play in a clip.
    used = [o for o in _used_objects([p for p in protos if p.name not in shapes]) if o.name not in copies]
    for obj in used:
        copy = obj.copy()
        copy.name = f"{instancer.name}/{obj.name}"
        _clean_copy(copy)
        _mark(copy, instancer, {})
        copy.hide_render = True
        for c in instancer_colls:
            c.objects.link(copy)
        copies[obj.name] = copy
    for copy in copies.values():
        for mod, setting, kind, target in list(_object_uses(copy)):
            if target.name not in copies:
                continue
            if kind == "input":
                mod[setting] = copies[target.name]
            elif kind == "setting":
                setattr(mod, setting, copies[target.name])
            elif mod.node_group.get(REALIZED) is None:
                mod.node_group = _tree_for_copy(mod.node_group, copies)
    for proto in [*protos, *used]:
        copy = copies[proto.name]
        world, basis = worlds[proto.name]
        parent = proto.parent
        if parent is not None and parent.name in copies:
            _place(copy, copies[parent.name], worlds[parent.name][0], world, basis)
            if proto.parent_type == "ARMATURE" and proto.name not in shapes:  # deformed by it too
                copy.parent_type = "ARMATURE"
        else:  # instance space: the instancer's, shifted by the collection's offset
            _place(copy, instancer, offset.inverted(), world, basis)
    _save(instancer, instance_type=instancer.instance_type)
    instancer[COPY_ROOT] = 1
    instancer.instance_type = "NONE"


def _simulates_particles(obj) -> bool:
    """Whether `obj` emits particles rendered as objects that a simulation moves."""
    return any(
        m.type == "PARTICLE_SYSTEM"
        and m.show_render
        and m.particle_system.settings.render_type in ("OBJECT", "COLLECTION")
        and m.particle_system.settings.physics_type != "NO"
        for m in getattr(obj, "modifiers", ())
    )


def _simulates_particles_in(coll) -> bool:
    return any(_simulates_particles(o) for o in _collection_tree(coll)[1])


def _simulated_particles(depsgraph, instancers: set) -> dict:
    """{instancer: {emitter: {key: [record]}}}: the particles of simulated emitters inside
    the collection instances `instancers`, as Blender instances them. A copy of the emitter
    would simulate on its own, in world space, from when it is made."""
    found: dict = {}
    meshes: dict = {}
    emitters: dict = {}  # instancer -> {(particle settings, system name): emitter}, or None: ambiguous
    for name in instancers:
        coll = bpy.data.objects[name].instance_collection
        for proto in _collection_tree(coll)[1] if _simulates_particles_in(coll) else ():
            for psys in getattr(proto, "particle_systems", ()):
                key = (psys.settings.name, psys.name)
                known = emitters.setdefault(name, {})
                known[key] = None if key in known else proto
    for inst in depsgraph.object_instances:
        if not inst.is_instance or inst.particle_system is None or inst.parent is None:
            continue
        top = inst.parent.original
        psys = inst.particle_system
        emitter = emitters.get(top.name, {}).get((psys.settings.original.name, psys.name))
        if emitter is None or not _simulates_particles(emitter):
            continue
        ob = inst.object
        if ob.type not in MESH_LIKE:
            continue
        ptr = ob.data.as_pointer() if ob.data is not None else id(ob)
        if ptr not in meshes:
            meshes[ptr] = bpy.data.meshes.new_from_object(ob)
            meshes[ptr].name = f"sdg_{emitter.name}_{ob.original.name}"
            meshes[ptr][REALIZED] = 1
        record = {
            "data": meshes[ptr],
            "proto": ob.original,
            "name": ob.original.name,
            "matrix": inst.matrix_world.copy(),
            "materials": [(s.link, s.material) for s in ob.material_slots],
            "kind": "particles",
        }
        key = (tuple(p for p in inst.persistent_id if p != _NO_LEVEL), ob.original.name)
        found.setdefault(top.name, {}).setdefault(emitter.name, {}).setdefault(key, []).append(record)
    return found


def _copy_simulated_particles(scene, instancer, emitter: str, groups: dict, worlds: dict) -> list[str]:
    """Copies of the particles Blender instances for `emitter` in the collection instance
    `instancer` (records of _simulated_particles), made children of the emitter's copy,
    whose own particles are switched off."""
    copy = bpy.data.objects.get(f"{instancer.name}/{emitter}")
    if copy is None:
        return []
    for m in copy.modifiers:
        if m.type == "PARTICLE_SYSTEM":
            m.show_render = m.show_viewport = False
    offset = Matrix.Translation(-instancer.instance_collection.instance_offset)
    world = instancer.matrix_world @ offset @ worlds[emitter][0]
    ctx = _Context(collection_parents(scene), object_collections(scene), scene)
    return _make_copies(ctx, copy, world, groups)


def _shaped_by_others(obj) -> bool:
    """A mesh whose shape other objects make (a boolean's cutter, an armature, a curve)
    and that makes no instances of its own (Geometry Nodes, particles: made real later)."""
    if obj.type != "MESH" or any(m.type in ("NODES", "PARTICLE_SYSTEM") for m in obj.modifiers):
        return False
    return obj.parent_type == "ARMATURE" or any(kind == "setting" for _m, _s, kind, _t in _object_uses(obj))


def _evaluated_shape(obj, depsgraph):
    """`obj`'s evaluated mesh as new mesh data (marked made here)."""
    mesh = bpy.data.meshes.new_from_object(obj.evaluated_get(depsgraph))
    mesh.name = f"sdg_{obj.name}_shape"
    mesh[REALIZED] = 1
    return mesh


def _object_uses(obj):
    """(modifier, setting, kind, object) of every object `obj`'s modifiers use: kind
    "setting", their object settings (a boolean's operand, an armature, a curve, a mirror
    or array offset object); "input", the object inputs of a Geometry Nodes modifier
    (modifier[setting]); "node", an object named in its node tree (setting None)."""
    for mod in getattr(obj, "modifiers", ()):
        for prop in mod.bl_rna.properties:
            if (
                prop.type == "POINTER"
                and not prop.is_readonly
                and getattr(prop.fixed_type, "identifier", "") == "Object"
            ):
                target = getattr(mod, prop.identifier)
                if target is not None:
                    yield mod, prop.identifier, "setting", target
        if mod.type == "NODES":
            for key in mod.keys():
                if isinstance(mod[key], bpy.types.Object):
                    yield mod, key, "input", mod[key]
            if mod.node_group is not None:
                for socket in _object_sockets(mod.node_group):
                    yield mod, None, "node", socket.default_value


def _object_sockets(group, seen=None):
    """The unlinked Object inputs set in `group`'s nodes and in the groups it nests."""
    seen = set() if seen is None else seen
    seen.add(group.name)
    for node in group.nodes:
        tree = getattr(node, "node_tree", None)
        if tree is not None and tree.name not in seen:
            yield from _object_sockets(tree, seen)
        for socket in node.inputs:
            if socket.type == "OBJECT" and not socket.is_linked and getattr(socket, "default_value", None) is not None:
                yield socket


def _tree_for_copy(group, copies: dict):
    """`group` with its objects replaced by their copies (and so the groups it nests that
    name one): a copy of the node group, made here (removed with the copies); `group`
    itself where it names none of them."""
    if not any(s.default_value.name in copies for s in _object_sockets(group)):
        return group
    tree = group.copy()
    tree[REALIZED] = 1
    for node in tree.nodes:
        nested = getattr(node, "node_tree", None)
        if nested is not None:
            node.node_tree = _tree_for_copy(nested, copies)
        for socket in node.inputs:
            value = getattr(socket, "default_value", None) if socket.type == "OBJECT" else None
            if value is not None and not socket.is_linked and value.name in copies:
                socket.default_value = copies[value.name]
    return tree


def _used_objects(objects) -> list:
    """The objects `objects`' modifiers use, and those theirs use, ..., in first-use order;
    not cameras or lights (nothing to evaluate relative to), nor `objects` themselves."""
    seen = {o.name for o in objects}
    found, todo = [], list(objects)
    while todo:
        for _mod, _setting, _kind, target in _object_uses(todo.pop(0)):
            if target.name not in seen and target.type not in ("CAMERA", "LIGHT"):
                seen.add(target.name)
                found.append(target)
                todo.append(target)
    return found


# ---------------------------------------------------------------------- depsgraph instances
def _drop_instances_group():
    group = bpy.data.node_groups.get(DROP_INSTANCES)
    if group is not None:
        return group
    group = bpy.data.node_groups.new(DROP_INSTANCES, "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    n_in = group.nodes.new("NodeGroupInput")
    n_out = group.nodes.new("NodeGroupOutput")
    delete = group.nodes.new("GeometryNodeDeleteGeometry")
    delete.domain = "INSTANCE"
    group.links.new(n_in.outputs[0], delete.inputs["Geometry"])
    group.links.new(delete.outputs["Geometry"], n_out.inputs[0])
    return group


def _has_node_instances(obj) -> bool:
    return any(m.type == "NODES" and m.show_render and m.node_group is not None for m in obj.modifiers)


def _collections_for_copies(collections: list, scene) -> list:
    """Where copies of an instancer's instances go: its `collections`, those of this file; a
    collection linked from a library, or a library override of one, takes no objects, so
    copies of an instancer there go into the scene's own collection (parented to the
    instancer, whose collections they inherit through it)."""
    own = [c for c in collections if c.library is None and c.override_library is None]
    if own or scene is None:
        return own
    return [scene.collection]


class _Context:
    """Scene lookups shared by all copies of one realization (computed once)."""

    def __init__(self, parents: dict, users: dict, scene=None):
        self.parents, self.users = parents, users
        self.scene = scene
        self._labels: dict[str, dict] = {}

    def collections_of(self, obj) -> list:
        return users_of(obj, self.users)

    def collections_for_copies(self, instancer) -> list:
        return _collections_for_copies(self.collections_of(instancer), self.scene)

    def prototype_labels(self, proto) -> dict:
        """Labels of an instanced object as it resolves where it lives (scene or not)."""
        if proto.name not in self._labels:
            parents = dict(self.parents)
            for c in proto.users_collection:
                if c.name not in parents and not c.is_embedded_data:
                    parents[c.name] = None  # a collection outside the scene counts on its own
            self._labels[proto.name] = merge_labels(label_chain(proto, parents, self.users))
        return self._labels[proto.name]


def _copy_properties(src, dst) -> None:
    """Custom properties (read by materials as object attributes) of a prototype."""
    for key in src.keys():
        if key in (LABEL_PROPERTY, REALIZED, COPY_ROOT, INSTANCER, INSTANCE_LABELS, REALIZED_INSTANCER):
            continue
        try:
            dst[key] = src[key]
        except (TypeError, ValueError):
            pass


@contextmanager
def _disabled_in_viewports_as_in_renders():
    """Objects and collections disabled in renders are disabled in viewports too while the
    instances are read (restored after).

    The depsgraph read is the viewport's. Blender's instancing leaves out what that
    evaluation hides: a collection's objects (particles of a collection, Collection Info,
    vertex instancing) are left out where disabled (a render: disabled in renders), while an
    object named directly (particles of an object, Object Info) is instanced even when it is
    itself disabled in renders, as a particle system's source object usually is.
    """
    changed = []
    for block in (*bpy.data.collections, *bpy.data.objects):
        if block.hide_render and not block.hide_viewport:
            try:  # linked data too: set in this session only, as local data is
                block.hide_viewport = True
            except (AttributeError, TypeError, RuntimeError):
                continue
            changed.append(block)
    try:
        yield
    finally:
        for block in changed:
            block.hide_viewport = False


def _realize_depsgraph_instances(scene, frames=()) -> list[str]:
    with _disabled_in_viewports_as_in_renders():
        return _realize_evaluated_instances(scene, frames)


def _evaluated_instances(depsgraph, colls, users):
    """(instancer, depsgraph instance, kind, key) of every rendered instance to make real,
    in depsgraph order. `key` identifies one copy of an instancer in every frame."""
    for inst in depsgraph.object_instances:
        if not inst.is_instance or inst.parent is None:
            continue
        instancer = inst.parent.original
        if instancer.instance_type == "COLLECTION" and instancer.type == "EMPTY":
            continue  # collection instances are realized structurally (or are not rendered)
        if instancer.hide_render or not in_render_collections(instancer, colls, users):
            continue
        ob = inst.object
        if ob.type in _SKIP_TYPES and not (ob.type == "EMPTY" and keypoint_name(ob.original) is not None):
            continue  # an empty is copied where it is a keypoint (below its instance's copy)
        proto = ob.original
        is_geometry = proto == instancer  # a Geometry Nodes geometry, no object of its own
        levels = tuple(p for p in inst.persistent_id if p != _NO_LEVEL)
        if is_geometry and len(levels) < 2:
            continue  # the object's own geometry of another type (a curve's or text's mesh)
        if not is_geometry and proto.hide_render and not proto.hide_viewport:
            continue  # data that could not be disabled in viewports above
        if inst.particle_system is not None:
            kind, key = "particles", (levels, proto.name)
        elif _has_node_instances(instancer):
            if instancer.library is not None:
                continue  # linked: no modifier can drop its instances for copies (linked_node_instancers)
            kind, key = "nodes", (levels[-1] if levels else 0,)
        else:
            kind, key = "dupli", (levels, proto.name)
        yield instancer, inst, kind, key


def _realize_evaluated_instances(scene, frames=()) -> list[str]:
    """Copies of the instances at the current frame, then of those only found at one of
    `frames` (made as they are at the first frame that has them)."""
    ctx = _Context(collection_parents(scene), object_collections(scene), scene)
    groups: dict[str, dict[tuple, list]] = {}
    instancers: dict[str, tuple] = {}
    current = scene.frame_current
    # Other frames are set only where instances can come and go: setting a frame steps
    # simulations (rigid bodies, fluids), which a scene without them is spared.
    frames = [f for f in frames if f != current] if _instances_over_time(scene) else []
    try:
        for frame in [current, *frames]:
            if frame != scene.frame_current:
                scene.frame_set(frame)
            known = {(name, key) for name, g in groups.items() for key in g}
            # Evaluated meshes are told apart by address, which another frame may reuse.
            _add_records(scene, ctx, known, groups, instancers, meshes={})
    finally:
        if scene.frame_current != current:
            scene.frame_set(current)
    made: list[str] = []
    for name in sorted(groups):
        instancer, instancer_world = instancers[name]
        made += _make_copies(ctx, instancer, instancer_world, groups[name])
        _suppress(instancer, {r["kind"] for g in groups[name].values() for r in g})
    if made:  # the copies' world matrices, which the keypoints are read from, evaluated
        _depsgraph(scene)
    return made


def _instances_over_time(scene) -> bool:
    """Whether the set of depsgraph instances may change with the frame: particles
    rendered as objects or collections, Geometry Nodes, vertex / face instancing (a
    modifier can add vertices or faces over time)."""
    for o in scene.objects:
        if o.instance_type in ("VERTS", "FACES"):
            return True
        for ps in getattr(o, "particle_systems", ()):
            if ps.settings.render_type in ("OBJECT", "COLLECTION"):
                return True
        if any(m.type == "NODES" for m in getattr(o, "modifiers", ())):
            return True
    return False


def _add_records(scene, ctx, known: set, groups: dict, instancers: dict, meshes: dict) -> None:
    """The records (what a copy is made of) of the instances at the scene's frame whose
    (instancer, key) is not `known`, into `groups`."""
    depsgraph = _depsgraph(scene)
    colls = render_collections(scene)
    for instancer, inst, kind, key in _evaluated_instances(depsgraph, colls, ctx.users):
        if (instancer.name, key) in known:
            continue
        ob = inst.object
        proto = ob.original
        is_geometry = proto == instancer
        if ob.type in MESH_LIKE:
            ptr = ob.data.as_pointer() if ob.data is not None else id(ob)
            data = meshes.get(ptr)
            if data is None:
                data = bpy.data.meshes.new_from_object(ob)
                data.name = f"sdg_{instancer.name}_{'geometry' if is_geometry else proto.name}"
                data[REALIZED] = 1
                meshes[ptr] = data
            materials = [(s.link, s.material) for s in ob.material_slots]
        elif not is_geometry:
            data, materials = proto.data, None  # lights, hair, point clouds, volumes: linked
        else:
            log.warning("instances of %s geometry on %s are not realized (no object to copy)", ob.type, instancer.name)
            continue
        record = {
            "data": data,
            "proto": None if is_geometry else proto,
            "name": "geometry" if is_geometry else proto.name,
            "matrix": inst.matrix_world.copy(),
            "materials": materials,
            "kind": kind,
        }
        groups.setdefault(instancer.name, {}).setdefault(key, []).append(record)
        instancers.setdefault(instancer.name, (instancer, inst.parent.matrix_world.copy()))


def _is_keypoint(record) -> bool:
    """Whether a record is of a keypoint empty (the only empties _evaluated_instances gives)."""
    return record["proto"] is not None and record["proto"].type == "EMPTY"


def _make_copies(ctx, instancer, instancer_world, groups) -> list[str]:
    to_local = instancer_world.inverted_safe()
    # An instance of keypoint empties alone has no object to carry them.
    keys = sorted(key for key, records in groups.items() if not all(_is_keypoint(r) for r in records))
    width = max(3, len(str(len(keys) - 1)))
    made = []
    for k, key in enumerate(keys):
        # A copy's INSTANCE_KEY numbers it among all of its instance's records, as
        # key_instance_motion counts the depsgraph's instances.
        numbered = list(enumerate(groups[key]))
        records = [r for _n, r in numbered if not _is_keypoint(r)]
        base = f"{instancer.name}/instance_{k:0{width}d}"
        copies = {}  # prototype name: (copy, its world matrix), for the keypoints' parents
        if len(records) == 1:
            obj = _new_object(base, records[0], instancer, ctx)
            _place(obj, instancer, instancer_world, records[0]["matrix"], _local(to_local @ records[0]["matrix"]))
            obj[INSTANCE_KEY] = f"{key!r}#{next(n for n, r in numbered if r is records[0])}"
            root = obj
            copies[records[0]["name"]] = (obj, records[0]["matrix"])
        else:
            root = bpy.data.objects.new(base, None)
            _mark(root, instancer, {})
            for c in ctx.collections_for_copies(instancer):
                c.objects.link(root)
            root.parent = instancer
            seen: dict[str, int] = {}
            part_labels = []
            for number, r in numbered:
                if _is_keypoint(r):
                    continue
                n = seen[r["name"]] = seen.get(r["name"], -1) + 1
                part = _new_object(f"{base}/{r['name']}" + (f"_{n}" if n else ""), r, instancer, ctx)
                _place(part, root, instancer_world, r["matrix"], _local(to_local @ r["matrix"]))
                part[INSTANCE_KEY] = f"{key!r}#{number}"
                part_labels.append(own_labels_of_copy(part))
                copies.setdefault(r["name"], (part, r["matrix"]))
            # The copy as a whole carries the labels all its parts share (e.g. those of the
            # instanced collection), so parts split off only where they add their own.
            common = {t: v for t, v in part_labels[0].items() if all(p.get(t) == v for p in part_labels[1:])}
            root[INSTANCE_LABELS] = common
        for number, r in numbered:
            if _is_keypoint(r):  # below the copy of its parent (it moves with it), else the root
                parent = r["proto"].parent
                holder, frame = copies.get(parent.name if parent is not None else "", (root, None))
                point = bpy.data.objects.new(f"{holder.name}/{r['name']}", None)
                point[KEYPOINT_PROPERTY] = keypoint_name(r["proto"])
                point[INSTANCE_KEY] = f"{key!r}#{number}"
                _mark(point, instancer, {})
                for c in ctx.collections_for_copies(instancer):
                    c.objects.link(point)
                _place(point, holder, instancer_world if frame is None else frame, r["matrix"], Matrix.Identity(4))
        root[COPY_ROOT] = 1
        made.append(root.name)
    return made


def _local(matrix: Matrix) -> Matrix:
    """`matrix` as location, rotation and scale (what matrix_basis can hold; no shear)."""
    loc, rot, scale = matrix.decompose()
    return Matrix.LocRotScale(loc, rot, scale)


def own_labels_of_copy(obj) -> dict:
    """The prototype labels recorded on a realized object."""
    value = obj.get(INSTANCE_LABELS)
    return {t: list(v) for t, v in (value.to_dict() if value is not None else {}).items()}


def _new_object(name, record, instancer, ctx):
    obj = bpy.data.objects.new(name, record["data"])
    obj.color = instancer.color  # Blender gives instances their instancer's colour
    proto = record["proto"]
    _visibility_as_instanced(obj, proto if proto is not None else instancer, instancer)
    _copy_properties(proto if proto is not None else instancer, obj)
    if proto is not None:
        labels = ctx.prototype_labels(proto)
        if LABEL_PROPERTY in proto:
            obj[LABEL_PROPERTY] = own_labels(proto)
    else:
        labels = {}
    _mark(obj, instancer, labels)
    if record["materials"]:
        for i, (link, mat) in enumerate(record["materials"]):
            if i >= len(obj.material_slots):
                break
            if link == "OBJECT" or obj.material_slots[i].material is None:
                obj.material_slots[i].link = "OBJECT"
                obj.material_slots[i].material = mat
    for c in ctx.collections_for_copies(instancer):
        c.objects.link(obj)
    return obj


def _suppress(instancer, kinds: set[str]) -> None:
    """Stop `instancer` from rendering the instances that were made real."""
    if kinds & {"particles", "dupli"} and not instancer.show_instancer_for_render and not instancer.hide_render:
        _save(instancer, hide_render=False)
        instancer.hide_render = True  # its own geometry was not rendered either
    if "nodes" in kinds:
        mod = instancer.modifiers.new(DROP_INSTANCES, "NODES")
        mod.node_group = _drop_instances_group()
        _save(instancer, modifier=DROP_INSTANCES)
    if "particles" in kinds:
        names = []
        for m in instancer.modifiers:
            if m.type == "PARTICLE_SYSTEM" and m.show_render:
                if m.particle_system.settings.render_type in ("OBJECT", "COLLECTION"):
                    m.show_render = False
                    names.append(m.name)
        _save(instancer, particle_modifiers=names)
    if "dupli" in kinds and instancer.instance_type in ("VERTS", "FACES"):
        for child in instancer.children:
            # Not the copies just made of its instances (a child copied with a collection
            # instance is hidden as any child is).
            if child.get(INSTANCER) != instancer and not child.hide_render:
                _save(child, hide_render=False)
                child.hide_render = True
        _save(instancer, instance_type=instancer.instance_type)
        instancer.instance_type = "NONE"


# ---------------------------------------------------------------------- animation
@contextmanager
def _instancing_as_in_the_file(scene):
    """The scene's own instancing back in the depsgraph while it is read (undone after):
    the Delete Geometry (Instance) modifiers off, vertex / face instancing switched on again
    and the instancers and children hidden for their copies shown (the copies themselves
    out of it)."""
    drops = [m for o in scene.objects for m in getattr(o, "modifiers", ()) if m.name == DROP_INSTANCES]
    duplis = []  # (instancer, its instance type as saved)
    hidden = []  # objects hidden once their copies were made
    for o in scene.objects:
        state = o.get(REALIZED_INSTANCER)
        state = state.to_dict() if state is not None else {}
        if state.get("instance_type") in ("VERTS", "FACES") and o.instance_type == "NONE":
            duplis.append((o, state["instance_type"]))
        if "hide_render" in state and o.hide_render:
            hidden.append(o)
    for m in drops:
        m.show_viewport = False
    # The copies are children of their instancer: out of its instancing while it is read.
    copies = [c for o, _kind in duplis for c in o.children if c.get(INSTANCER) == o and not c.hide_viewport]
    for o, kind in duplis:
        o.instance_type = kind
    for c in copies:
        c.hide_viewport = True
    for o in hidden:
        o.hide_render = False
    try:
        yield
    finally:
        for m in drops:
            m.show_viewport = True
        for o, _kind in duplis:
            o.instance_type = "NONE"
        for c in copies:
            c.hide_viewport = False
        for o in hidden:
            o.hide_render = True


def key_instance_motion(scene, frames) -> list[str]:
    """Keyframe the copies of depsgraph instances (particles, Geometry Nodes, vertex
    instancing) where the scene's own instancing puts them at each of `frames` (scene
    frames), so a clip plays a particle system's or a node tree's animation as Blender
    renders it (Cycles' vector pass included: the frames around the clip are keyed too).
    Only copies that move, or that Blender renders at some of `frames` only (hidden at the
    others: particles born or dying in the clip), are keyed; returns their names. The
    current frame is kept."""
    frames = list(frames)
    copies = {}
    for o in scene.objects:
        if o.get(INSTANCE_KEY) is not None and o.get(INSTANCER) is not None:
            copies[(o[INSTANCER].name, o[INSTANCE_KEY])] = o
    if not copies:
        return []
    current = scene.frame_current
    placed: dict[str, list] = {}
    with _instancing_as_in_the_file(scene), _disabled_in_viewports_as_in_renders():
        for frame in frames:
            scene.frame_set(frame)
            depsgraph = _depsgraph(scene)
            colls = render_collections(scene)
            users = object_collections(scene)
            seen: dict[tuple, int] = {}
            for instancer, inst, _kind, key in _evaluated_instances(depsgraph, colls, users):
                n = seen[instancer.name, key] = seen.get((instancer.name, key), -1) + 1
                copy = copies.get((instancer.name, f"{key!r}#{n}"))
                if copy is not None:
                    placed.setdefault(copy.name, []).append((frame, inst.matrix_world.copy()))
    # A copy Blender does not render at some of the frames (a particle born later or dead
    # by then) is hidden there; it moves where it is rendered.
    coming_and_going = {c.name for c in copies.values() if len(placed.get(c.name, ())) < len(frames)}
    moving = {name for name, poses in placed.items() if any(m != poses[0][1] for _f, m in poses)}
    for name in sorted(moving | coming_and_going):
        copy = bpy.data.objects[name]
        copy.rotation_mode = "XYZ"
        poses = dict(placed.get(name, ()))
        for frame in frames:
            matrix = poses.get(frame)
            if matrix is not None:
                scene.frame_set(frame)  # the parents where they are then
                copy.matrix_world = matrix
                for path in ("location", "rotation_euler", "scale"):
                    copy.keyframe_insert(path, frame=frame)
            if len(poses) < len(frames):
                copy.hide_render = matrix is None
                copy.keyframe_insert("hide_render", frame=frame)
    scene.frame_set(current)
    return sorted(moving | coming_and_going)
