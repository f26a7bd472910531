"""Exactness of the Blender side (docs/exactness.md): instancing, alpha, tiny objects,
objects cut by the image border, label inheritance. Tiny Cycles renders (CPU, 1-4 spp).

Scenes are built with bpy directly; entities come from discover_entities (which makes
instances real), frames from the Capturer, annotations from the registered annotators.
"""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
bmesh = pytest.importorskip("bmesh")

from sdg_addon.annotators import create_annotator  # noqa: E402
from sdg_addon.annotators.silhouettes import full_silhouette  # noqa: E402
from sdg_addon.capture.render import Capturer  # noqa: E402
from sdg_addon.compat import enable_nodes  # noqa: E402
from sdg_addon.config.schema import RenderSettings  # noqa: E402
from sdg_addon.labels.blender import collection_parents, resolved_labels, set_labels  # noqa: E402
from sdg_addon.scene.build import BuiltScene, discover_entities, label_table  # noqa: E402
from sdg_addon.scene.instancing import DROP_INSTANCES, realize_instances, unrealize_instances  # noqa: E402


# ---------------------------------------------------------------------------- helpers
def mesh(kind: str, name: str, size: float):
    me = bpy.data.meshes.new(name)
    bm = bmesh.new()
    if kind == "cube":
        bmesh.ops.create_cube(bm, size=size)
    elif kind == "sphere":
        bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=size / 2)
    elif kind == "plane":
        bmesh.ops.create_grid(bm, x_segments=1, y_segments=1, size=size / 2)
    bm.to_mesh(me)
    bm.free()
    return me


def add(name, data, collection=None, location=(0, 0, 0), labels=None):
    obj = bpy.data.objects.new(name, data)
    (collection or bpy.context.scene.collection).objects.link(obj)
    obj.location = location
    if labels:
        set_labels(obj, labels)
    return obj


def camera(location=(0, 0, 10), ortho_scale=None, lens=50.0, rotation=(0, 0, 0)):
    data = bpy.data.cameras.new("cam")
    if ortho_scale is not None:
        data.type, data.ortho_scale = "ORTHO", ortho_scale
    data.lens = lens
    data.clip_start, data.clip_end = 0.1, 100.0
    cam = add("cam", data, location=location)
    cam.rotation_euler = rotation
    return cam


def capture(cam, width=64, height=48, samples=1, realize=True, **render):
    scene = bpy.context.scene
    entities = discover_entities(scene, realize=realize)
    built = BuiltScene(scene, entities, cameras={"cam": cam}, label_table=label_table({}, entities.values()))
    settings = RenderSettings(width=width, height=height, samples=samples, device="cpu", **render)
    capturer = Capturer(built, settings, {"instance", "depth"}, need_geometry=True)
    try:
        frame = capturer.capture(0, "cam")
    finally:
        capturer.close()
    return frame, entities


def ids_in(frame) -> set[int]:
    return set(np.unique(frame.passes["instance"]).tolist()) - {0}


def tight_boxes(frame) -> dict[str, tuple]:
    out = create_annotator("bounding_box_2d_tight").annotate(frame)
    rows = out["data"]
    return {
        p: tuple(int(r[k]) for k in ("x_min", "y_min", "x_max", "y_max"))
        for p, r in zip(out["info"]["primPaths"], rows)
    }


def gn_instancer(host, instance_socket):
    """A Geometry Nodes modifier on `host`: Instance on Points(host's points, <instance>)."""
    group = bpy.data.node_groups.new("scatter", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    n_in, n_out = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    iop = group.nodes.new("GeometryNodeInstanceOnPoints")
    group.links.new(n_in.outputs[0], iop.inputs["Points"])
    group.links.new(instance_socket(group), iop.inputs["Instance"])
    group.links.new(iop.outputs["Instances"], n_out.inputs[0])
    host.modifiers.new("scatter", "NODES").node_group = group


def object_info(obj):
    def socket(group):
        node = group.nodes.new("GeometryNodeObjectInfo")
        node.inputs["Object"].default_value = obj
        node.inputs["As Instance"].default_value = True
        return node.outputs["Geometry"]

    return socket


def collection_info(coll):
    def socket(group):
        node = group.nodes.new("GeometryNodeCollectionInfo")
        node.inputs["Collection"].default_value = coll
        return node.outputs[0]

    return socket


def grid_mesh(name, nx, ny, spacing):
    """A mesh of nx * ny loose vertices on a grid centred on the origin (GN points)."""
    me = bpy.data.meshes.new(name)
    xs = (np.arange(nx) - (nx - 1) / 2) * spacing
    ys = (np.arange(ny) - (ny - 1) / 2) * spacing
    me.from_pydata([(float(x), float(y), 0.0) for y in ys for x in xs], [], [])
    return me


# 200 copies on a 20 x 10 grid, 1 m apart, seen from above: ~6 px per metre at 128 x 96.
NX, NY, SPACING, TILE = 20, 10, 1.0, 0.5


def grid_camera():
    return camera(location=(0, 0, 10), ortho_scale=NX * SPACING + 1.0)


def assert_200_distinct(frame, entities, prefix):
    copies = {e.instance_id: e for e in entities.values() if e.name.startswith(prefix) and e.meshes}
    assert len(copies) == NX * NY
    visible = ids_in(frame)
    assert set(copies) <= visible, f"{len(set(copies) - visible)} copies missing from the instance map"
    boxes = tight_boxes(frame)
    assert len({p for p in boxes if p in {e.path for e in copies.values()}}) == NX * NY
    # Each copy is where its geometry is: one compact blob per id, boxes disjoint per cell.
    centres = {(b[0] + b[2]) // 2 for b in boxes.values()}
    assert len(centres) >= NX


# ---------------------------------------------------------------------------- instancing
def test_200_collection_instances_yield_200_ids(clean_bpy):
    tile = bpy.data.collections.new("tile")  # not linked to the scene: only instanced
    set_labels(tile, {"class": "tile"})
    add("tile_mesh", mesh("cube", "tile", TILE), collection=tile)
    xs = (np.arange(NX) - (NX - 1) / 2) * SPACING
    ys = (np.arange(NY) - (NY - 1) / 2) * SPACING
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            e = add(f"tile_{j * NX + i:03d}", None, location=(float(x), float(y), 0))
            e.instance_type, e.instance_collection = "COLLECTION", tile
    frame, entities = capture(grid_camera(), width=128, height=96)
    assert_200_distinct(frame, entities, "tile_")
    e = entities["tile_007"]
    assert e.path == "/tile_007" and e.labels == {"class": ["tile"]}
    assert [m.name for m in e.meshes] == ["tile_007/tile_mesh"]
    assert e.meshes[0].data == bpy.data.objects["tile_mesh"].data  # linked, not copied


def test_200_geometry_nodes_instances_yield_200_ids(clean_bpy):
    # The instanced object itself sits out of view (hidden for rendering, its instances
    # would not render either, as in Blender).
    add("pebble", mesh("cube", "pebble", TILE), location=(100, 0, 0), labels={"material": "stone"})
    host = add("scatter", grid_mesh("points", NX, NY, SPACING), labels={"class": "pebble", "material": "any"})
    gn_instancer(host, object_info(bpy.data.objects["pebble"]))
    frame, entities = capture(grid_camera(), width=128, height=96)
    assert_200_distinct(frame, entities, "scatter/instance_")
    first = entities["scatter/instance_000"]
    # The instancer's labels, overridden by the instanced object's own.
    assert first.labels == {"class": ["pebble"], "material": ["stone"]}
    assert first.path == "/scatter/instance_000"
    # A copy's own transform is its place in the instancer's space (a pose randomizer on it
    # moves it as it would move a child object).
    assert np.allclose(first.root.location, host.data.vertices[0].co)
    # Deterministic: realizing again gives the same names and ids.
    again = discover_entities(bpy.context.scene)
    assert {n: e.instance_id for n, e in again.items()} == {n: e.instance_id for n, e in entities.items()}
    # And undoing it restores the user's scene.
    unrealize_instances(bpy.context.scene)
    assert not any(o.name.startswith("scatter/") for o in bpy.data.objects)
    assert [m.name for m in host.modifiers] == ["scatter"]


def test_200_linked_duplicates_yield_200_ids(clean_bpy):
    data = mesh("cube", "box", TILE)
    xs = (np.arange(NX) - (NX - 1) / 2) * SPACING
    ys = (np.arange(NY) - (NY - 1) / 2) * SPACING
    for j, y in enumerate(ys):
        for i, x in enumerate(xs):
            add(f"box_{j * NX + i:03d}", data, location=(float(x), float(y), 0), labels={"class": "box"})
    frame, entities = capture(grid_camera(), width=128, height=96)
    assert_200_distinct(frame, entities, "box_")


def test_realized_instances_render_exactly_like_the_instances(clean_bpy):
    """Collection instance (nested), Geometry Nodes (object and collection), particles and
    vertex instancing: making them real changes no pixel, and every copy gets an id."""
    parts = bpy.data.collections.new("parts")
    set_labels(parts, {"class": "thing"})
    a = add("a", mesh("cube", "a", 0.2), collection=parts)
    b = add("b", mesh("sphere", "b", 0.12), collection=parts, location=(0, 0, 0.15))
    b.parent = a
    a.color = (0.1, 0.2, 0.9, 1)  # instances take the instancer's colour, copies too
    outer = bpy.data.collections.new("outer")
    inner = add("inner", None, collection=outer, location=(0.3, 0, 0))
    inner.instance_type, inner.instance_collection = "COLLECTION", parts
    for i, x in enumerate((-1.6, -1.0)):
        e = add(f"ci_{i}", None, location=(x, 0.8, 0))
        e.instance_type, e.instance_collection = "COLLECTION", parts
    nested = add("nested", None, location=(-1.3, -0.2, 0))
    nested.instance_type, nested.instance_collection = "COLLECTION", outer
    gn1 = add("gn_obj", mesh("plane", "gn1", 0.6), location=(0.2, 0.8, 0), labels={"class": "thing"})
    gn_instancer(gn1, object_info(a))
    gn2 = add("gn_coll", mesh("plane", "gn2", 0.6), location=(0.2, -0.6, 0))
    gn2.rotation_euler = (0.2, 0.1, 0.5)
    gn_instancer(gn2, collection_info(parts))
    verts = add("verts", mesh("plane", "vp", 0.5), location=(1.3, 0.7, 0))
    verts.instance_type = "VERTS"
    child = add("child", mesh("cube", "ch", 0.1), labels={"class": "child"})
    child.parent = verts
    emitter = add("emitter", mesh("plane", "em", 0.6), location=(1.3, -0.6, 0))
    psys = emitter.modifiers.new("p", "PARTICLE_SYSTEM").particle_system
    psys.settings.count, psys.settings.frame_start, psys.settings.frame_end = 6, 1, 1
    grain = add("grain", mesh("cube", "grain", 0.1), location=(0, 0, -30), labels={"class": "grain"})
    psys.settings.render_type, psys.settings.instance_object = "OBJECT", grain
    psys.settings.particle_size = 1.0
    sun = add("sun", bpy.data.lights.new("sun", "SUN"))
    sun.rotation_euler = (0.4, 0.3, 0)
    cam = camera(location=(0, 0, 6), ortho_scale=4.0)
    before, _ = capture(cam, width=64, height=64, samples=2, realize=False)
    after, entities = capture(cam, width=64, height=64, samples=2)
    diff = np.abs(before.passes["combined"] - after.passes["combined"]).max()
    assert diff < 1e-4
    names = set(entities)
    assert {"ci_0", "ci_1", "nested/inner"} <= names  # each collection instance is one copy
    assert entities["ci_0"].labels == {"class": ["thing"]}
    assert [m.name for m in entities["ci_0"].meshes] == ["ci_0/a", "ci_0/b"]
    assert sum(n.startswith("gn_obj/instance_") for n in names) == 4
    assert sum(n.count("/") == 1 and n.startswith("gn_coll/instance_") for n in names) == 4
    assert sum(n.startswith("verts/instance_") for n in names) == 4
    assert sum(n.startswith("emitter/instance_") for n in names) == 6
    assert entities["gn_coll/instance_002"].labels == {"class": ["thing"]}
    assert entities["verts/instance_001"].labels == {"class": ["child"]}
    # Every copy in view is in the instance map, with an id of its own.
    copies = [e for e in entities.values() if "/" in e.name and e.meshes]
    visible = ids_in(after)
    assert len({e.instance_id for e in copies}) == len(copies)
    assert [e.name for e in copies if e.instance_id not in visible] == []


def test_collection_instances_of_objects_modified_by_other_objects_render_as_blender_renders_them(clean_bpy):
    """An instanced collection of a wall cut by a boolean whose cutter (disabled in renders)
    is in the collection, a plate cut by a cutter outside it, a bar bent by an armature of
    the collection: Blender evaluates them where they are and instances the result. The
    copies made real have the same shapes (before: their modifiers used the objects where
    they stand, not where the copy is: walls without holes, bars unbent)."""
    parts = bpy.data.collections.new("parts")
    bpy.context.scene.collection.children.link(parts)
    set_labels(parts, {"class": "thing"})
    wall = add("wall", mesh("cube", "wall", 0.6), collection=parts)
    cutter = add("cutter", mesh("sphere", "cutter", 0.4), collection=parts, location=(0.0, 0.0, 0.3))
    cutter.hide_render = True
    wall.modifiers.new("hole", "BOOLEAN").object = cutter
    plate = add("plate", mesh("cube", "plate", 0.4), collection=parts, location=(0.6, 0.0, 0.0))
    outside = add("outside", mesh("cube", "outside", 0.3), location=(0.75, 0.15, 0.2))
    outside.hide_render = True
    plate.modifiers.new("notch", "BOOLEAN").object = outside
    rig = add("rig", bpy.data.armatures.new("rig"), collection=parts, location=(0.0, 0.6, 0.0))
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("tip")
    bone.head, bone.tail = (0.0, 0.0, 0.0), (0.4, 0.0, 0.0)
    bpy.ops.object.mode_set(mode="OBJECT")
    rig.pose.bones["tip"].rotation_mode = "XYZ"
    rig.pose.bones["tip"].rotation_euler = (0.0, 0.0, 0.8)
    bar = add("bar", mesh("cube", "bar", 0.1), collection=parts, location=(0.2, 0.6, 0.0))
    bar.scale = (4.0, 1.0, 1.0)
    bar.vertex_groups.new(name="tip").add(list(range(8)), 1.0, "REPLACE")
    bar.modifiers.new("rig", "ARMATURE").object = rig
    # A child of the armature deformed by it without a modifier (parent type Armature).
    bar2 = add("bar2", mesh("cube", "bar2", 0.1), collection=parts, location=(0.2, 0.9, 0.0))
    bar2.scale = (4.0, 1.0, 1.0)
    bar2.vertex_groups.new(name="tip").add(list(range(8)), 1.0, "REPLACE")
    bar2.parent, bar2.parent_type = rig, "ARMATURE"
    bpy.context.view_layer.layer_collection.children["parts"].exclude = True
    for i, (x, turn) in enumerate(((-1.2, 0.0), (0.4, 0.7))):
        e = add(f"ci_{i}", None, location=(x, -0.3, 0.0))
        e.instance_type, e.instance_collection, e.rotation_euler.z = "COLLECTION", parts, turn
    add("sun", bpy.data.lights.new("sun", "SUN")).rotation_euler = (0.4, 0.3, 0)
    cam = camera(location=(0, 0, 6), ortho_scale=4.0)
    before, _ = capture(cam, width=64, height=64, samples=2, realize=False)
    after, entities = capture(cam, width=64, height=64, samples=2)
    assert np.abs(before.passes["combined"] - after.passes["combined"]).max() < 1e-4
    assert {"ci_0", "ci_1"} <= set(entities)
    # A still: each shape is evaluated once, as Blender's instances share it (200 walls with a
    # boolean each took 12 s to make real, evaluating 200 booleans, and again on every move).
    walls = [bpy.data.objects[f"ci_{i}/wall"] for i in range(2)]
    assert walls[0].data == walls[1].data and not walls[0].modifiers


@pytest.mark.parametrize("given", ["in the node tree", "as a modifier input"])
def test_collection_instances_of_node_trees_reading_another_object_render_as_blender_renders_them(clean_bpy, given):
    """An instanced collection holding a Geometry Nodes scatter whose Object Info (Relative)
    reads a source object, named in the node tree or given as a modifier input: the copies
    made real scatter it where Blender's instances do (before, from the node tree: read
    where the copy stands, the source landed elsewhere)."""
    parts = bpy.data.collections.new("parts")
    bpy.context.scene.collection.children.link(parts)
    set_labels(parts, {"class": "thing"})
    source = add("source", mesh("cube", "source", 0.2), collection=parts, location=(0.3, 0.0, 0.0))
    source.hide_render = True
    host = add("host", mesh("plane", "host", 0.8), collection=parts)
    group = bpy.data.node_groups.new("scatter", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Source", in_out="INPUT", socket_type="NodeSocketObject")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    n_in, n_out = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    info = group.nodes.new("GeometryNodeObjectInfo")
    info.transform_space = "RELATIVE"
    info.inputs["As Instance"].default_value = True
    iop = group.nodes.new("GeometryNodeInstanceOnPoints")
    group.links.new(n_in.outputs[0], iop.inputs["Points"])
    group.links.new(info.outputs["Geometry"], iop.inputs["Instance"])
    group.links.new(iop.outputs["Instances"], n_out.inputs[0])
    mod = host.modifiers.new("scatter", "NODES")
    mod.node_group = group
    if given == "in the node tree":
        info.inputs["Object"].default_value = source
    else:
        group.links.new(n_in.outputs[1], info.inputs["Object"])
        mod[group.interface.items_tree["Source"].identifier] = source
    bpy.context.view_layer.layer_collection.children["parts"].exclude = True
    for i, (x, turn) in enumerate(((-1.0, 0.0), (0.8, 0.7))):
        e = add(f"ci_{i}", None, location=(x, -0.3, 0.0))
        e.instance_type, e.instance_collection, e.rotation_euler.z = "COLLECTION", parts, turn
    add("sun", bpy.data.lights.new("sun", "SUN")).rotation_euler = (0.4, 0.3, 0)
    cam = camera(location=(0, 0, 6), ortho_scale=4.0)
    before, _ = capture(cam, width=64, height=64, samples=2, realize=False)
    after, entities = capture(cam, width=64, height=64, samples=2)
    assert np.abs(before.passes["combined"] - after.passes["combined"]).max() < 1e-4
    assert sum(n.startswith(("ci_0/host/instance_", "ci_1/host/instance_")) for n in entities) == 8
    unrealize_instances(bpy.context.scene)  # the node trees made for the copies go with them
    assert {g.name for g in bpy.data.node_groups} <= {"scatter", DROP_INSTANCES}


def test_simulated_particles_of_collection_instances_render_as_blender_renders_them(clean_bpy):
    """An instanced collection holding an emitter of falling particles, instanced twice (one
    turned): Blender simulates the emitter where it stands and instances the result. The
    copies made real in a still are those particles (before: the copy's own simulation,
    from when it was made, left them where they were born)."""
    parts = bpy.data.collections.new("parts")
    bpy.context.scene.collection.children.link(parts)
    grain = add("grain", mesh("cube", "grain", 0.1), location=(0, 0, -30), labels={"class": "grain"})
    emitter = add("emitter", mesh("plane", "em", 0.8), collection=parts)
    settings = emitter.modifiers.new("p", "PARTICLE_SYSTEM").particle_system.settings
    settings.count, settings.frame_start, settings.frame_end, settings.physics_type = 6, 1, 1, "NEWTON"
    settings.normal_factor, settings.lifetime = 0.5, 100
    settings.render_type, settings.instance_object, settings.particle_size = "OBJECT", grain, 1.0
    bpy.context.view_layer.layer_collection.children["parts"].exclude = True
    for i, (x, turn) in enumerate(((-1.0, 0.0), (0.8, 0.7))):
        e = add(f"ci_{i}", None, location=(x, -0.3, 0.0))
        e.instance_type, e.instance_collection, e.rotation_euler.x = "COLLECTION", parts, turn
    for frame in range(1, 6):
        bpy.context.scene.frame_set(frame)
    add("sun", bpy.data.lights.new("sun", "SUN")).rotation_euler = (0.4, 0.3, 0)
    cam = camera(location=(0, 0, 6), ortho_scale=4.0)
    before, _ = capture(cam, width=64, height=64, samples=2, realize=False)
    after, entities = capture(cam, width=64, height=64, samples=2)
    assert np.abs(before.passes["combined"] - after.passes["combined"]).max() < 1e-4
    assert sum(n.startswith(("ci_0/emitter/instance_", "ci_1/emitter/instance_")) for n in entities) == 12
    assert entities["ci_1/emitter/instance_003"].labels == {"class": ["grain"]}


def test_vertex_instancing_inside_a_collection_instance_renders_as_blender_renders_it(clean_bpy):
    """An instanced collection holding a vertex instancer and its child: Blender renders the
    child on each vertex and not the child itself. The copy of the child made real was
    rendered too, where the child stands (it was left out of the children hidden once the
    vertices' copies were made, being a copy itself)."""
    parts = bpy.data.collections.new("parts")
    bpy.context.scene.collection.children.link(parts)
    holder = add("holder", mesh("plane", "holder", 0.6), collection=parts)
    holder.instance_type = "VERTS"
    child = add("child", mesh("cube", "child", 0.1), collection=parts, labels={"class": "child"})
    child.parent = holder
    bpy.context.view_layer.layer_collection.children["parts"].exclude = True
    for i, (x, turn) in enumerate(((-1.0, 0.0), (0.8, 0.7))):
        e = add(f"ci_{i}", None, location=(x, -0.3, 0.0))
        e.instance_type, e.instance_collection, e.rotation_euler.z = "COLLECTION", parts, turn
    add("sun", bpy.data.lights.new("sun", "SUN")).rotation_euler = (0.4, 0.3, 0)
    cam = camera(location=(0, 0, 6), ortho_scale=4.0)
    before, _ = capture(cam, width=64, height=64, samples=2, realize=False)
    after, entities = capture(cam, width=64, height=64, samples=2)
    assert np.abs(before.passes["combined"] - after.passes["combined"]).max() < 1e-4
    assert sum(n.startswith(("ci_0/holder/instance_", "ci_1/holder/instance_")) for n in entities) == 8


def test_sources_disabled_in_renders_are_instanced_as_blender_renders_them(clean_bpy):
    """A particle system's or Object Info's source object is usually disabled in renders:
    Blender still renders its instances, so they become copies with their labels. A
    collection disabled in renders is instanced as nothing (collection instance, Collection
    Info, particles of a collection): no copy of it may render."""
    ball = add("ball", mesh("cube", "ball", 0.2), location=(0, 0, -30), labels={"class": "ball"})
    ball.hide_render = True
    emitter = add("emitter", mesh("plane", "em", 0.8), location=(-1.0, 0.6, 0))
    emitter.show_instancer_for_render = False
    psys = emitter.modifiers.new("p", "PARTICLE_SYSTEM").particle_system
    psys.settings.count, psys.settings.frame_start, psys.settings.frame_end = 5, 1, 1
    psys.settings.render_type, psys.settings.instance_object = "OBJECT", ball
    psys.settings.particle_size = 1.0
    gn_instancer(add("gn_obj", grid_mesh("pts", 2, 2, 0.5), location=(0.8, 0.6, 0)), object_info(ball))
    off = bpy.data.collections.new("off")
    off.hide_render = True
    add("cube", mesh("cube", "cube", 0.3), collection=off, labels={"class": "cube"})
    ci = add("ci", None, location=(-1.0, -0.8, 0))
    ci.instance_type, ci.instance_collection = "COLLECTION", off
    gn_instancer(add("gn_coll", grid_mesh("pts2", 2, 1, 0.6), location=(0.8, -0.8, 0)), collection_info(off))
    emitter2 = add("emitter2", mesh("plane", "em2", 0.6), location=(0.0, -0.8, 0))
    emitter2.show_instancer_for_render = False
    psys2 = emitter2.modifiers.new("p", "PARTICLE_SYSTEM").particle_system
    psys2.settings.count, psys2.settings.frame_start, psys2.settings.frame_end = 3, 1, 1
    psys2.settings.render_type, psys2.settings.instance_collection = "COLLECTION", off
    add("sun", bpy.data.lights.new("sun", "SUN"))
    cam = camera(location=(0, 0, 6), ortho_scale=4.0)
    before, _ = capture(cam, width=64, height=64, realize=False)
    after, entities = capture(cam, width=64, height=64)
    assert np.abs(before.passes["combined"] - after.passes["combined"]).max() < 1e-4
    copies = sorted(n for n in entities if "/instance_" in n or n.startswith("ci/"))
    assert copies == [f"emitter/instance_{k:03d}" for k in range(5)] + [f"gn_obj/instance_{k:03d}" for k in range(4)]
    assert all(entities[n].labels == {"class": ["ball"]} for n in copies)
    by_id = {e.instance_id: n for n, e in entities.items()}
    assert sorted(by_id[i] for i in ids_in(after)) == copies  # every rendered pixel is a copy's


# ---------------------------------------------------------------------------- pixels
def test_masks_are_the_pixel_centre_silhouettes(clean_bpy):
    """The id pass samples pixel centres: an unoccluded object's mask is exactly the
    rasterized silhouette of its triangles (perspective camera, off-axis)."""
    add("ball", mesh("sphere", "ball", 1.0), location=(0.3, -0.2, 0), labels={"class": "ball"})
    add("box", mesh("cube", "box", 0.8), location=(-1.4, 0.6, 0.2), labels={"class": "box"})
    cam = camera(location=(0.2, -5.5, 3.0), rotation=(1.07, 0.0, 0.05))
    frame, entities = capture(cam, samples=4)
    for name in ("ball", "box"):
        iid = entities[name].instance_id
        mask = frame.passes["instance"] == iid
        assert mask.sum() > 20
        np.testing.assert_array_equal(mask, full_silhouette(frame, iid))


@pytest.mark.parametrize("pixel_filter, width, bound", [("BLACKMAN_HARRIS", 1.5, 0.0006), ("GAUSSIAN", 3.0, 0.0011)])
def test_the_id_sample_is_within_a_thousandth_of_a_pixel_of_the_centre(clean_bpy, pixel_filter, width, bound):
    """Cycles' first sample, the one of the id and depth passes, lies a little off the pixel
    centre: about 0.0005 px along each axis with the default filter (Blackman-Harris 1.5
    px), about 0.001 px with a 3 px filter (docs/exactness.md). Measured on planes tilted
    about one image axis under an orthographic camera: depth is linear there, so the depth
    error over the depth change per pixel is the offset along that axis."""
    me = bpy.data.meshes.new("slope")
    me.from_pydata([(-10, -10, 0), (10, -10, 0), (10, 10, 0), (-10, 10, 0)], [], [(0, 1, 2, 3)])
    slope = add("slope", me, labels={"class": "slope"})
    cam = camera(location=(0, 0, 10), ortho_scale=6.4)  # 0.1 m pixels at 64 x 48
    bpy.context.scene.cycles.pixel_filter_type, bpy.context.scene.cycles.filter_width = pixel_filter, width
    for axis in (0, 1):
        slope.rotation_euler = (0.0, 0.5, 0.0) if axis == 0 else (0.5, 0.0, 0.0)
        bpy.context.view_layer.update()
        frame, _ = capture(cam)
        origins, _ = frame.camera.pixel_rays()  # camera space; the camera looks down -Z
        normal = np.array(slope.matrix_world.to_3x3().col[2])
        by_hand = 10.0 + (normal[0] * origins[..., 0] + normal[1] * origins[..., 1]) / normal[2]
        step = 0.1 * abs(normal[axis] / normal[2])  # depth change per pixel along the axis
        offset = np.abs(frame.passes["depth"] - by_hand) / step
        assert offset.max() < bound, offset.max()


def test_masks_of_modified_meshes_are_their_silhouettes(clean_bpy):
    """Meshes with modifiers (they may change every frame: the capture sends no half-edge
    twins, the worker finds them): a subdivided sphere and an arrayed cube, unoccluded,
    are still exactly their pixel-centre silhouettes."""
    ball = add("ball", mesh("sphere", "sball", 0.9), location=(0.4, -0.1, 0), labels={"class": "ball"})
    ball.modifiers.new("sub", "SUBSURF").levels = 1
    row = add("row", mesh("cube", "rbox", 0.4), location=(-2.0, 0.8, 0.2), labels={"class": "box"})
    row.modifiers.new("arr", "ARRAY").count = 3
    cam = camera(location=(0.2, -5.5, 3.0), rotation=(1.07, 0.0, 0.05))
    frame, entities = capture(cam, samples=2)
    objects = [frame.objects[entities[name].instance_id] for name in ("ball", "row")]
    assert all(obj.twins is None and not obj.closed for obj in objects)  # left to the worker
    for obj in objects:
        mask = frame.passes["instance"] == obj.instance_id
        assert mask.sum() > 20
        np.testing.assert_array_equal(mask, full_silhouette(frame, obj.instance_id))
        assert obj.twins is not None and (obj.twins >= 0).all()  # found, and closed meshes


@pytest.mark.parametrize("samples", [1, 4])
@pytest.mark.parametrize("effect", ["depth_of_field", "motion_blur"])
def test_masks_and_depth_stay_sharp_with_depth_of_field_and_motion_blur(clean_bpy, effect, samples):
    """Cycles takes a pixel's first sample through a random point of the aperture (depth of
    field) at a random time of the shutter (motion blur): ids and depth would be those of a
    blurred image, hundreds of pixels off the silhouettes and metres off in depth. They come
    from the 1-sample data layer, where both are off (the image keeps them): masks are the
    objects' pixel-centre silhouettes at the frame's instant, depth the pinhole's."""
    scene = bpy.context.scene
    ball = add("ball", mesh("sphere", "ball", 1.2), location=(-0.8, 0.0, 0.0), labels={"class": "ball"})
    box = add("box", mesh("cube", "box", 1.0), location=(1.2, 1.5, 0.3), labels={"class": "box"})
    cam = camera(location=(0.0, -8.0, 0.5), rotation=(1.5, 0.0, 0.0))
    if effect == "depth_of_field":
        cam.data.dof.use_dof = True
        cam.data.dof.focus_distance, cam.data.dof.aperture_fstop = 2.0, 0.1
    else:
        scene.render.use_motion_blur, scene.render.motion_blur_shutter = True, 1.0
        for obj, dx in ((ball, 1.5), (box, -1.0)):
            x = obj.location.x
            for f, offset in ((0, -dx), (1, 0.0), (2, dx)):
                obj.location.x = x + offset
                obj.keyframe_insert("location", frame=f)
        scene.frame_set(1)
    frame, entities = capture(cam, samples=samples)
    for name in ("ball", "box"):
        iid = entities[name].instance_id
        mask = frame.passes["instance"] == iid
        assert mask.sum() > 40
        np.testing.assert_array_equal(mask, full_silhouette(frame, iid))
    # Depth where the pixel-centre rays meet the box's front face (y = 1.0), by hand.
    _, rays = frame.camera.pixel_rays()  # camera space, z = -1: the ray's parameter is depth
    ray_y = rays @ np.array(cam.matrix_world.to_3x3())[1]
    by_hand = (1.0 - cam.location.y) / ray_y
    front = (frame.passes["instance"] == entities["box"].instance_id) & (frame.passes["depth"] < 9.2)
    assert front.sum() > 20
    np.testing.assert_allclose(frame.passes["depth"][front], by_hand[front], rtol=1e-5)
    # The image keeps the effect; the scene's own settings are as they were.
    assert cam.data.dof.use_dof == (effect == "depth_of_field")
    assert scene.render.motion_blur_shutter == 1.0 or effect == "depth_of_field"
    assert cam.data.animation_data is None and cam.animation_data is None  # no driver left behind
    assert not box.animation_data.drivers if box.animation_data else True
    assert all(o.cycles.use_motion_blur for o in scene.objects)


def test_a_switch_the_blend_drives_itself_is_left_alone(clean_bpy):
    """A .blend's own driver on the camera's depth of field is not replaced nor removed by
    the capture's: the effect then stays in the ids (docs/exactness.md)."""
    add("ball", mesh("sphere", "ball", 1.2), labels={"class": "ball"})
    cam = camera(location=(0.0, -8.0, 0.5), rotation=(1.5, 0.0, 0.0))
    cam.data.dof.aperture_fstop = 0.1
    own = cam.data.driver_add("dof.use_dof").driver
    own.type, own.expression = "SCRIPTED", "1"
    capture(cam, samples=2)
    fcurve = cam.data.animation_data.drivers.find("dof.use_dof")
    assert fcurve is not None and fcurve.driver.expression == "1" and not fcurve.driver.variables


def signed_volume(vertices, faces) -> float:
    """Volume of a closed triangle mesh, positive when its faces wind outwards."""
    a, b, c = (np.asarray(vertices, np.float64)[np.asarray(faces)[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def test_a_mirrored_objects_faces_wind_outwards_as_it_renders(clean_bpy):
    """Blender renders an object of negative scale with its surface facing out; its world
    triangles (each vertex moved by the mirroring matrix) would wind inwards. The capture
    turns them round, so the frame's geometry and object_pose's model (the BOP writer's PLY)
    wind outwards like any other object's; its mask is still its silhouette."""
    box = add("box", mesh("cube", "box", 1.0), location=(-1.0, 0.0, 0.0), labels={"class": "box"})
    box.scale = (-1.0, 0.5, 1.0)
    box.rotation_euler = (0.3, 0.2, 0.1)
    plain = add("plain", mesh("cube", "plain", 1.0), location=(1.0, 0.0, 0.0), labels={"class": "plain"})
    plain.scale = (1.0, 0.5, 1.0)
    cam = camera(location=(0.0, -6.0, 1.0), rotation=(1.4, 0.0, 0.0))
    frame, entities = capture(cam)
    models = create_annotator("object_pose").annotate(frame)["info"]["models"]
    for name in ("box", "plain"):
        obj = frame.objects[entities[name].instance_id]
        assert signed_volume(obj.vertices, obj.faces) == pytest.approx(0.5, rel=1e-6)
        model = models[name]
        assert signed_volume(model["vertices"], model["faces"]) == pytest.approx(0.5, rel=1e-5)
        np.testing.assert_array_equal(
            frame.passes["instance"] == obj.instance_id, full_silhouette(frame, obj.instance_id)
        )


def test_ties_go_where_cycles_puts_them(clean_bpy):
    """A square whose four sides run through rows and columns of pixel centres (orthographic,
    a power-of-two pixel size: exact arithmetic). Cycles' first sample lies a hair right of
    and above the centre, so the left and bottom sides keep their centres, the right and top
    sides lose them; the rasterizer's tie rule is the same, so the mask is the silhouette
    and nothing in front makes no occlusion."""
    me = bpy.data.meshes.new("tile")
    x0, x1, y0, y1 = -1.0625, 0.9375, -0.8125, 0.6875  # 0.125 m pixels: centres at odd 1/16ths
    me.from_pydata([(x0, y0, 0), (x1, y0, 0), (x1, y1, 0), (x0, y1, 0)], [], [(0, 1, 2, 3)])
    add("tile", me, labels={"class": "tile"})
    frame, entities = capture(camera(location=(0, 0, 10), ortho_scale=8.0))
    iid = entities["tile"].instance_id
    mask = frame.passes["instance"] == iid
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    # Columns 23 (x = x0) .. 38 (x1 = centre of 39, lost); rows 19 (y1 = centre of 18, lost) .. 30 (y0).
    assert (cols[0], cols[-1], rows[0], rows[-1]) == (23, 38, 19, 30) and mask.sum() == 16 * 12
    np.testing.assert_array_equal(mask, full_silhouette(frame, iid))
    occ = create_annotator("occlusion").annotate(frame)["data"]
    assert occ["occlusionRatio"].tolist() == [0.0]


def test_near_ties_of_float32_vertices_go_where_cycles_puts_them(clean_bpy):
    """As above with a pixel size no binary fraction gives (0.1 m: ortho_scale 4.7 over 47
    px, an odd height), as a user's top-down scene has it: a box 0.4 x 0.6 m whose sides run
    through rows and columns of centres, and one a column past the right border. The
    vertices are float32, so a side lies a ten-millionth of a pixel off the centres, on
    either side; Cycles' sample, about 0.0005 px right of and above the centre, decides them
    as exact ties. The silhouette did not: a row or column too many (the box's top row
    above its mask), so the amodal mask (silhouette united with the visible pixels) was a
    row taller than the object, its loose box a row taller than its tight one, and
    occlusion 0.14 with nothing in front."""
    box = add("box", mesh("cube", "box", 1.0), location=(-2.15, 0.0, 0.0), labels={"class": "box"})
    box.scale = (0.4, 0.6, 0.2)  # x -2.35 (the image's left edge) .. -1.95, y -0.3 .. 0.3
    past = add("past", mesh("cube", "past", 1.0), location=(2.25, 1.0, 0.0), labels={"class": "past"})
    past.scale = (0.4, 0.4, 0.2)  # x 2.05 .. 2.45: a column past the right edge (2.35)
    bpy.context.view_layer.update()
    frame, entities = capture(camera(location=(0, 0, 10), ortho_scale=4.7), width=47, height=33)
    occ = create_annotator("occlusion").annotate(frame)["data"]
    assert occ["occlusionRatio"].tolist() == [0.0, 0.0]
    for name, rows, cols in (("box", (14, 19), (0, 3)), ("past", (5, 8), (44, 46))):
        iid = entities[name].instance_id
        mask = frame.passes["instance"] == iid
        np.testing.assert_array_equal(mask, full_silhouette(frame, iid))
        ys, xs = np.nonzero(mask)
        assert (ys.min(), ys.max()) == rows and (xs.min(), xs.max()) == cols


@pytest.mark.parametrize("how", ["scene", "view layer override"])
def test_masks_and_depth_see_through_a_world_volume(clean_bpy, how):
    """Fog in the world (a volume shader on its output): the first sample of a pixel may
    scatter in it before reaching a surface, which left the pixel BACKGROUND with no depth
    (145 of about 1100 object pixels in a 64 x 48 test). The data layer renders without the
    world (a world override), so masks are the silhouettes and depth the surfaces'; the
    image keeps the fog. So with a foggy world the rendered view layer takes as its World
    Override (View Layer > Override > World), which was not looked at: 1275 of 2268 object
    pixels of a 64 x 48 .blend were BACKGROUND without depth."""
    world = bpy.data.worlds.new("foggy")
    if how == "scene":
        bpy.context.scene.world = world
    else:
        bpy.context.scene.view_layers[0].world_override = world
    enable_nodes(world)
    fog = world.node_tree.nodes.new("ShaderNodeVolumePrincipled")
    fog.inputs["Density"].default_value = 0.2
    output = next(n for n in world.node_tree.nodes if n.type == "OUTPUT_WORLD")
    world.node_tree.links.new(fog.outputs[0], output.inputs["Volume"])
    ball = add("ball", mesh("sphere", "ball", 1.2), location=(-0.8, 0.0, 0.0), labels={"class": "ball"})
    box = add("box", mesh("cube", "box", 1.0), location=(1.2, 1.5, 0.3), labels={"class": "box"})
    cam = camera(location=(0.0, -8.0, 0.5), rotation=(1.5, 0.0, 0.0))
    frame, entities = capture(cam, samples=1)
    for obj in (ball, box):
        iid = entities[obj.name].instance_id
        mask = frame.passes["instance"] == iid
        assert mask.sum() > 40
        np.testing.assert_array_equal(mask, full_silhouette(frame, iid))
        assert np.isfinite(frame.passes["depth"][mask]).all()
    assert world.node_tree.links  # the world unchanged
    if how == "scene":
        assert bpy.context.scene.world == world
    else:
        assert bpy.context.scene.view_layers[0].world_override == world


def test_a_volume_material_under_a_material_override_is_a_surface_in_the_ids(clean_bpy):
    """Under a view layer's Material Override (clay) a smoke cube renders as a clay cube,
    hiding the box behind it in the image; it was still taken for a volume and hidden where
    ids are rendered, so the box owned those pixels. With the override it is a surface."""
    add("box", mesh("cube", "box", 1.5), location=(0.3, 2.0, 0.0), labels={"class": "box"})
    smoke = add("smoke", mesh("cube", "smoke", 1.5), location=(-0.2, 0.0, 0.0), labels={"class": "smoke"})
    mat = bpy.data.materials.new("smoke")
    enable_nodes(mat)
    nodes = mat.node_tree.nodes
    for node in list(nodes):
        if node.type != "OUTPUT_MATERIAL":
            nodes.remove(node)
    volume = nodes.new("ShaderNodeVolumePrincipled")
    mat.node_tree.links.new(volume.outputs[0], next(n for n in nodes if n.type == "OUTPUT_MATERIAL").inputs["Volume"])
    smoke.data.materials.append(mat)
    bpy.context.scene.view_layers[0].material_override = bpy.data.materials.new("clay")
    frame, entities = capture(camera(location=(0.0, -7.0, 0.0), rotation=(1.5708, 0.0, 0.0)))
    iid = entities["smoke"].instance_id
    np.testing.assert_array_equal(frame.passes["instance"] == iid, full_silhouette(frame, iid))


def test_masks_and_depth_see_through_a_volume_object(clean_bpy):
    """A cube whose material has only a Volume output (smoke) in front of a box: the box's
    pixels behind it were lost at random to BACKGROUND (the sample stopped in the smoke).
    Such objects are left out of the data layer (a driver on their camera visibility), so
    the box's mask is its silhouette; the smoke owns no pixel either way."""
    box = add("box", mesh("cube", "box", 1.5), location=(0.3, 2.0, 0.0), labels={"class": "box"})
    smoke = add("smoke", mesh("cube", "smoke", 1.5), location=(-0.2, 0.0, 0.0), labels={"class": "smoke"})
    mat = bpy.data.materials.new("smoke")
    enable_nodes(mat)
    nodes = mat.node_tree.nodes
    for node in list(nodes):
        if node.type != "OUTPUT_MATERIAL":
            nodes.remove(node)
    volume = nodes.new("ShaderNodeVolumePrincipled")
    volume.inputs["Density"].default_value = 5.0
    mat.node_tree.links.new(volume.outputs[0], next(n for n in nodes if n.type == "OUTPUT_MATERIAL").inputs["Volume"])
    smoke.data.materials.append(mat)
    cam = camera(location=(0.0, -7.0, 0.0), rotation=(1.5708, 0.0, 0.0))
    frame, entities = capture(cam, samples=1)
    iid = entities["box"].instance_id
    mask = frame.passes["instance"] == iid
    assert mask.sum() > 100
    np.testing.assert_array_equal(mask, full_silhouette(frame, iid))
    assert not (frame.passes["instance"] == entities["smoke"].instance_id).any()
    assert smoke.visible_camera and smoke.animation_data is None and box.animation_data is None


def test_tiny_objects_appear_when_they_cover_a_pixel_centre(clean_bpy):
    """A sphere ~3 px across is in the map; sub-pixel spheres appear exactly when they cover
    a pixel centre (the same rule as the rasterizer), never anywhere else."""
    cam = camera(location=(0, 0, 10), ortho_scale=6.4)  # 10 px per metre at 64 x 48
    add("small", mesh("sphere", "small", 0.3), location=(-1.0, 0.5, 0), labels={"class": "tiny"})
    # Pixel centres are at (k + 0.5) / 10 - 3.2 m: one dot on a centre, one between four.
    add("dot_on", mesh("sphere", "on", 0.05), location=(0.05, 0.05, 0), labels={"class": "tiny"})
    add("dot_off", mesh("sphere", "off", 0.05), location=(1.0, 1.0, 0), labels={"class": "tiny"})
    frame, entities = capture(cam)
    small = entities["small"].instance_id
    mask = frame.passes["instance"] == small
    assert 3 <= mask.sum() <= 12
    np.testing.assert_array_equal(mask, full_silhouette(frame, small))
    assert entities["small"].path in tight_boxes(frame)
    assert (frame.passes["instance"] == entities["dot_on"].instance_id).sum() == 1
    assert (frame.passes["instance"] == entities["dot_off"].instance_id).sum() == 0
    assert full_silhouette(frame, entities["dot_off"].instance_id).sum() == 0


def test_text_and_curves_get_ids_too(clean_bpy):
    """Every object type that renders surfaces takes an id, not only meshes."""
    text = bpy.data.curves.new("label", "FONT")
    text.body, text.size = "IT", 1.5
    add("text", text, location=(-1.2, -0.5, 0), labels={"class": "text"})
    curve = bpy.data.curves.new("tube", "CURVE")
    curve.dimensions, curve.bevel_depth = "3D", 0.15
    spline = curve.splines.new("POLY")
    spline.points.add(1)
    spline.points[0].co, spline.points[1].co = (0.6, -0.8, 0, 1), (1.6, 0.8, 0, 1)
    add("tube", curve, labels={"class": "tube"})
    frame, entities = capture(camera(location=(0, 0, 10), ortho_scale=4.0))
    for name in ("text", "tube"):
        iid = entities[name].instance_id
        mask = frame.passes["instance"] == iid
        assert mask.sum() > 20
        np.testing.assert_array_equal(mask, full_silhouette(frame, iid))


def test_objects_cut_by_the_border_get_clipped_boxes(clean_bpy):
    cam = camera(location=(0, -6, 0), rotation=(np.pi / 2, 0, 0))
    ball = add("ball", mesh("sphere", "ball", 1.2), location=(1.9, 0, 1.3), labels={"class": "ball"})
    frame, entities = capture(cam)
    iid = entities["ball"].instance_id
    mask = frame.passes["instance"] == iid
    np.testing.assert_array_equal(mask, full_silhouette(frame, iid))
    # The projection of the geometry leaves the image on the right and at the top ...
    verts = np.array([ball.matrix_world @ v.co for v in ball.data.vertices])
    px, _ = frame.camera.project(verts)
    assert px[:, 0].max() > frame.width and px[:, 1].min() < 0
    # ... and the tight box is the visible part, clipped to the image.
    x0, y0, x1, y1 = tight_boxes(frame)["/ball"]
    assert (x1, y0) == (frame.width - 1, 0)
    assert abs(x0 - np.floor(px[:, 0].min())) <= 1 and abs(y1 - np.floor(px[:, 1].max())) <= 1
    info = create_annotator("bounding_box_2d_tight").annotate(frame)["info"]
    if "truncationRatio" in info:  # recorded by the box annotator
        assert 0.05 < info["truncationRatio"][0] < 0.95


# ---------------------------------------------------------------------------- transparency
def alpha_scene(alpha=1.0, transmission=0.0):
    """A labelled sphere behind a labelled plane (0.8 m square) with a Principled material."""
    add("sphere", mesh("sphere", "s", 1.4), labels={"class": "sphere"})
    plane = add("plane", mesh("plane", "p", 0.8), location=(0, 0, 1), labels={"class": "plane"})
    mat = bpy.data.materials.new("film")
    enable_nodes(mat)  # 4.2: a new material has no node tree until asked
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Alpha"].default_value = alpha
    bsdf.inputs["Transmission Weight"].default_value = transmission
    plane.data.materials.append(mat)
    return camera(location=(0, 0, 5), ortho_scale=2.0)  # 32 px per metre at 64 x 48


def owners_behind_plane(frame, entities):
    """(pixels of the plane's silhouette owned by the plane, by the sphere, total)."""
    region = full_silhouette(frame, entities["plane"].instance_id)
    ids = frame.passes["instance"][region]
    return (ids == entities["plane"].instance_id).sum(), (ids == entities["sphere"].instance_id).sum(), region.sum()


@pytest.mark.parametrize(
    "alpha, transmission, threshold, plane_owns",
    [
        (0.0, 0.0, 0.5, "none"),  # alpha-cut: exactly transparent
        (0.1, 0.0, 0.5, "few"),  # below the threshold: mostly the sphere
        (0.9, 0.0, 0.5, "all"),  # above: the plane
        (1.0, 1.0, 0.5, "all"),  # glass is not alpha: opaque for masks
        (0.1, 0.0, 0.05, "all"),  # render.alpha_threshold moves the rule
    ],
)
def test_alpha_threshold_rule(clean_bpy, alpha, transmission, threshold, plane_owns):
    cam = alpha_scene(alpha, transmission)
    frame, entities = capture(cam, alpha_threshold=threshold)
    plane, sphere, total = owners_behind_plane(frame, entities)
    assert total == 26 * 26 and plane + sphere == total
    if plane_owns == "all":
        assert plane == total
        assert np.allclose(frame.passes["depth"][frame.passes["instance"] == entities["plane"].instance_id], 4.0)
    elif plane_owns == "none":
        assert sphere == total
        # Geometry sees surfaces, not alpha: the invisible plane, nothing in front of it, is
        # in view with its full silhouette and counts as hidden (docs/annotators.md).
        occ = create_annotator("occlusion").annotate(frame)
        row = occ["data"][occ["data"]["instanceId"] == entities["plane"].instance_id][0]
        assert (row["visiblePixels"], row["unoccludedPixels"], row["occlusionRatio"]) == (0, total, 1.0)
    else:  # the one id sample passes a surface below the threshold with probability 1 - alpha
        assert sphere >= 0.8 * total and plane >= 1
    # Depth belongs to the same surface as the id.
    on_sphere = frame.passes["instance"] == entities["sphere"].instance_id
    assert (frame.passes["depth"][on_sphere] > 4.2).all()


def test_past_the_transparent_bounces_the_next_surface_is_black_and_owns_the_pixel(clean_bpy):
    """docs/exactness.md said a pixel seen through more transparent surfaces than the limit
    gets the background; Cycles renders the surface where the limit stops the ray opaque
    black, and it owns the pixel and its depth: with transparent_bounces = 0 an alpha-cut
    plane (alpha 0) in front of a sphere is a black plane over all its pixels, labelled."""
    from pathlib import Path

    cam = alpha_scene(alpha=0.0)
    frame, entities = capture(cam, transparent_bounces=0)
    plane, sphere, total = owners_behind_plane(frame, entities)
    assert total == 26 * 26 and plane == total
    assert np.allclose(frame.passes["depth"][frame.passes["instance"] == entities["plane"].instance_id], 4.0)
    rgb = np.asarray(frame.passes["combined"])[full_silhouette(frame, entities["plane"].instance_id)]
    assert rgb[..., :3].max() < 0.01  # black: what Cycles renders there
    text = " ".join((Path(__file__).parents[1] / "docs" / "exactness.md").read_text().split())
    assert "stops at the next one: Cycles renders that surface opaque black, and it owns the pixel" in text


@pytest.mark.parametrize("colour, low, high", [(1.0, 0.25, 0.35), (0.05, 0.0, 0.08)])
def test_a_film_below_the_threshold_owns_pixels_by_its_shading_weight(clean_bpy, colour, low, high):
    """docs/exactness.md: below the threshold a surface owns a pixel with probability about
    alpha w / (alpha w + 1 - alpha), w its albedo: about alpha when white (0.3 here), far
    less when dark (a 0.05 grey film of alpha 0.3 owns ~3 %, not ~30 %)."""
    cam = alpha_scene(alpha=0.3)
    bsdf = next(n for n in bpy.data.materials["film"].node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = (colour, colour, colour, 1.0)
    frame, entities = capture(cam)
    plane, sphere, total = owners_behind_plane(frame, entities)
    assert plane + sphere == total and low <= plane / total <= high, (plane, total)


@pytest.mark.parametrize("how", ["shader", "object"])
def test_a_holdout_is_background_in_the_masks_and_a_hole_in_the_rgb(clean_bpy, how):
    """docs/parameters.md and annotators.md: a holdout (a Holdout shader or an object set to
    Holdout) owns no pixel and no depth, hides what is behind it, and is alpha 0 in `rgb`
    with the film opaque, as in Blender's own image."""
    add("ground", mesh("plane", "g", 6.0), labels={"class": "ground"})
    hole = add("hole", mesh("plane", "h", 1.0), location=(0, 0, 1), labels={"class": "hole"})
    if how == "shader":
        mat = bpy.data.materials.new("holdout")
        enable_nodes(mat)
        nodes = mat.node_tree.nodes
        out = next(n for n in nodes if n.type == "OUTPUT_MATERIAL")
        mat.node_tree.links.new(nodes.new("ShaderNodeHoldout").outputs[0], out.inputs["Surface"])
        hole.data.materials.append(mat)
    else:
        hole.is_holdout = True
    frame, entities = capture(camera(location=(0, 0, 5), ortho_scale=2.0))  # 32 px per metre
    region = full_silhouette(frame, entities["hole"].instance_id)
    assert region.sum() == 32 * 32
    assert (frame.passes["instance"][region] == 0).all() and np.isinf(frame.passes["depth"][region]).all()
    rgb = frame.rgb()
    assert (rgb[..., 3][region] == 0).all() and (rgb[..., 3][~region] == 255).all()


def test_a_shadow_catcher_owns_its_pixels_though_the_rgb_shows_the_world(clean_bpy):
    """docs/parameters.md: a shadow catcher is no hole: its id and depth in the masks (a box
    behind it hidden), while `rgb` shows the world there, alpha only where its shadows fall
    with a transparent film."""
    add("catcher", mesh("plane", "c", 1.0), location=(0, 0, 1), labels={"class": "catcher"}).is_shadow_catcher = True
    add("behind", mesh("cube", "b", 0.5), location=(0, 0, 0), labels={"class": "behind"})
    frame, entities = capture(camera(location=(0, 0, 5), ortho_scale=2.0), film_transparent=True)
    region = full_silhouette(frame, entities["catcher"].instance_id)
    assert region.sum() == 32 * 32
    assert (frame.passes["instance"][region] == entities["catcher"].instance_id).all()
    assert np.isfinite(frame.passes["depth"][region]).all()
    assert not (frame.passes["instance"] == entities["behind"].instance_id).any()
    assert (frame.rgb()[..., 3][region] == 0).all()  # no light: no shadow, nothing shown


@pytest.mark.parametrize("data_layer", [False, True])
def test_a_material_override_reaches_the_ids_as_it_reaches_the_image(clean_bpy, data_layer):
    """A .blend's view layer Material Override (a clay render) makes an alpha-cut plane
    opaque in the image: it owns its pixels there. The 1-sample data layer (depth of field
    here) rendered without the override, so the ball behind owned them in the ids where the
    image showed the plane; the data layer now takes the main layer's override and filters."""
    cam = alpha_scene(alpha=0.0)
    bpy.context.scene.view_layers[0].material_override = bpy.data.materials.new("clay")
    if data_layer:
        cam.data.dof.use_dof, cam.data.dof.aperture_fstop = True, 1000.0
    frame, entities = capture(cam)
    assert ("SDG Data" in [v.name for v in bpy.context.scene.view_layers]) == data_layer
    plane, sphere, total = owners_behind_plane(frame, entities)
    assert (plane, sphere) == (total, 0)


@pytest.mark.parametrize("glass_transparent", [False, True])
def test_glass_is_opaque_in_the_alpha_unless_the_blend_makes_it_transparent(clean_bpy, glass_transparent):
    """docs/parameters.md (background): glass owns its pixels in the masks and has alpha 1
    with a transparent film, so a photo behind does not show through it; a .blend's Film >
    Transparent Glass (kept as the file has it) makes its alpha < 1 where it transmits (957 of
    1024 pixels at 1 spp; reflections stay opaque), the masks as before."""
    glass = add("glass", mesh("plane", "g", 1.0), location=(0, 0, 1), labels={"class": "glass"})
    mat = bpy.data.materials.new("glass")
    enable_nodes(mat)
    nodes = mat.node_tree.nodes
    out = next(n for n in nodes if n.type == "OUTPUT_MATERIAL")
    mat.node_tree.links.new(nodes.new("ShaderNodeBsdfGlass").outputs[0], out.inputs["Surface"])
    glass.data.materials.append(mat)
    bpy.context.scene.cycles.film_transparent_glass = glass_transparent
    frame, entities = capture(camera(location=(0, 0, 5), ortho_scale=2.0), film_transparent=True)
    region = full_silhouette(frame, entities["glass"].instance_id)
    assert (frame.passes["instance"][region] == entities["glass"].instance_id).all()
    alpha = frame.rgb()[..., 3][region]
    if glass_transparent:  # what it transmits: transparent; its reflections (a few %) opaque
        assert (alpha < 255).mean() > 0.8, np.unique(alpha, return_counts=True)
    else:
        assert (alpha == 255).all()


def test_alpha_threshold_is_a_render_option(tmp_path):
    from sdg_addon.config.problems import ConfigError
    from sdg_addon.config.schema import config_from_dict

    base = {"cameras": [{"name": "c", "location": [0, -3, 1]}]}
    cfg = config_from_dict({**base, "render": {"alpha_threshold": 0.25}}, tmp_path / "p.toml")
    assert cfg.render.alpha_threshold == 0.25
    assert config_from_dict(base, tmp_path / "p.toml").render.alpha_threshold == 0.5
    with pytest.raises(ConfigError, match="alpha_threshold"):
        config_from_dict({**base, "render": {"alpha_threshold": 1.5}}, tmp_path / "p.toml")


# ---------------------------------------------------------------------------- labels
def test_labels_nearest_wins_per_type(clean_bpy):
    scene = bpy.context.scene
    furniture = bpy.data.collections.new("furniture")
    scene.collection.children.link(furniture)
    set_labels(furniture, {"class": "furniture", "room": "kitchen"})
    chair = add("chair", None, collection=furniture, labels={"class": "chair"})
    seat = add("seat", mesh("cube", "seat", 0.4), collection=furniture, labels={"material": "wood"})
    leg = add("leg", mesh("cube", "leg", 0.1), collection=furniture, labels={"class": "leg"})
    frame_ = add("frame", mesh("cube", "frame", 0.3), collection=furniture)
    seat.parent = leg.parent = frame_.parent = chair
    cups = bpy.data.collections.new("cups")
    scene.collection.children.link(cups)
    set_labels(cups, {"class": "cup"})
    cup = add("cup", mesh("cube", "cup", 0.1), collection=cups)
    cup.parent = chair  # parented for convenience, but in its own labelled collection
    parents = collection_parents(scene)
    # Several types, inherited from the collection and the parent, nearest wins per type.
    assert resolved_labels(seat, parents) == {"class": ["chair"], "room": ["kitchen"], "material": ["wood"]}
    assert resolved_labels(leg, parents) == {"class": ["leg"], "room": ["kitchen"]}
    assert resolved_labels(frame_, parents) == {"class": ["chair"], "room": ["kitchen"]}
    # A collection only the child is in is nearer than the parent object.
    assert resolved_labels(cup, parents) == {"class": ["cup"], "room": ["kitchen"]}
    # Entities: parts whose labels differ from their parent's are instances of their own.
    entities = discover_entities(scene)
    assert [m.name for m in entities["chair"].meshes] == ["frame"]
    assert entities["seat"].labels == {"class": ["chair"], "room": ["kitchen"], "material": ["wood"]}
    assert entities["leg"].path == "/furniture/chair/leg" and entities["cup"].labels["class"] == ["cup"]
    assert len({e.instance_id for e in entities.values()}) == 4


def test_prim_paths_are_unique_whatever_the_names_hold(clean_bpy):
    """An object named "shelf/box" and the child "box" of "shelf" both had the path
    /shelf/box (so had a child named "shelf/box"): two instances under one prim path in
    every mapping. A name's "/" and "%" are escaped as in a URL; other names are as before."""
    scene = bpy.context.scene
    shelf = add("shelf", mesh("cube", "shelf", 0.4))
    child = add("box", mesh("cube", "box", 0.1))
    named_child = add("shelf/lid", mesh("cube", "shelf/lid", 0.1))
    lid = add("lid", mesh("cube", "lid", 0.1))
    child.parent = named_child.parent = lid.parent = shelf
    for name, labels in (("box", {"class": "box"}), ("shelf/lid", {"class": "a"}), ("lid", {"class": "b"})):
        set_labels(bpy.data.objects[name], labels)
    add("shelf/box", mesh("cube", "shelf/box2", 0.1))
    add("50% off", mesh("cube", "sale", 0.1))
    add("Cube.001 x", mesh("cube", "plain", 0.1))
    entities = discover_entities(scene)
    paths = {name: e.path for name, e in entities.items()}
    assert paths == {
        "shelf": "/shelf",
        "box": "/shelf/box",
        "lid": "/shelf/lid",
        "shelf/lid": "/shelf/shelf%2Flid",
        "shelf/box": "/shelf%2Fbox",
        "50% off": "/50%25 off",
        "Cube.001 x": "/Cube.001 x",
    }


def test_prim_path_goes_through_a_collection_that_renders(clean_bpy):
    """An object in an excluded collection ("archive", first by name) and in a rendered one
    ("shelf") had the path /archive/box, through the collection the view layer leaves out."""
    scene = bpy.context.scene
    archive, shelf = bpy.data.collections.new("archive"), bpy.data.collections.new("shelf")
    scene.collection.children.link(archive)
    scene.collection.children.link(shelf)
    box = add("box", mesh("cube", "box", 0.2), collection=shelf, labels={"class": "box"})
    archive.objects.link(box)
    bpy.context.view_layer.layer_collection.children["archive"].exclude = True
    assert discover_entities(scene)["box"].path == "/shelf/box"
    bpy.context.view_layer.layer_collection.children["archive"].exclude = False
    assert discover_entities(scene)["box"].path == "/archive/box"  # both render: the first by name


def test_a_collection_linked_twice_is_read_where_it_renders(clean_bpy):
    """A collection linked into the scene and into a collection excluded from the view layer
    (labelled zone = archived): its objects took their path and labels through the excluded
    one (/archive/shelf/box, zone archived), which Blender does not render them through."""
    scene = bpy.context.scene
    shelf, archive = bpy.data.collections.new("shelf"), bpy.data.collections.new("archive")
    scene.collection.children.link(shelf)
    scene.collection.children.link(archive)
    archive.children.link(shelf)
    set_labels(archive, {"zone": "archived"})
    add("box", mesh("cube", "box", 0.2), collection=shelf, labels={"class": "box"})
    bpy.context.view_layer.layer_collection.children["archive"].exclude = True
    box = discover_entities(scene)["box"]
    assert (box.path, box.labels) == ("/shelf/box", {"class": ["box"]})
    bpy.context.view_layer.layer_collection.children["archive"].exclude = False  # both render: the last link
    box = discover_entities(scene)["box"]
    assert (box.path, box.labels) == ("/archive/shelf/box", {"zone": ["archived"], "class": ["box"]})


def test_instance_labels_instancer_then_instanced(clean_bpy):
    """Copies resolve as: the instancer where it sits (its collections, parents, itself),
    then the instanced collection, then the prototype's own hierarchy; nearest wins."""
    scene = bpy.context.scene
    room = bpy.data.collections.new("room")
    scene.collection.children.link(room)
    set_labels(room, {"room": "office", "class": "clutter"})
    lamp = bpy.data.collections.new("lamp")
    set_labels(lamp, {"class": "lamp", "brand": "acme"})
    base = add("base", mesh("cube", "base", 0.3), collection=lamp)
    shade = add("shade", mesh("sphere", "shade", 0.3), collection=lamp, location=(0, 0, 0.4))
    shade.parent = base
    set_labels(shade, {"part": "shade"})
    e = add("lamp_01", None, collection=room, labels={"brand": "generic", "state": "on"})
    e.instance_type, e.instance_collection = "COLLECTION", lamp
    entities = discover_entities(scene)
    copy = entities["lamp_01"]
    # brand: the instanced collection (nearer) beats the instancer; state: only the instancer.
    assert copy.labels == {"room": ["office"], "class": ["lamp"], "brand": ["acme"], "state": ["on"]}
    assert [m.name for m in copy.meshes] == ["lamp_01/base"]
    assert entities["lamp_01/shade"].labels == {**copy.labels, "part": ["shade"]}
    assert entities["lamp_01/shade"].path == "/room/lamp_01/base/shade"
    # The copies sit where the instance was.
    realize_instances(scene)  # idempotent: replaces the copies with equal ones
    bpy.context.view_layer.update()
    got = bpy.data.objects["lamp_01/shade"].matrix_world.translation
    assert np.allclose(got, (0, 0, 0.4))


def test_passes_read_later_are_the_passes_read_at_once(clean_bpy):
    """For worker processes the capture hands on the EXR by name (CapturedPasses): the file
    waits under a name of its own, pickles as that name, and when read gives exactly the
    arrays an eager capture of the same scene gives; reading removes it."""
    import os
    import pickle

    from sdg_addon.capture.exr import CapturedPasses

    bpy.ops.mesh.primitive_uv_sphere_add(radius=1.0)
    add("box", bpy.data.meshes["Sphere"].copy(), location=(1.5, 0.5, 0.5), labels={"class": ["b"]})
    cam = camera(location=(0, 0, 8))
    scene = bpy.context.scene
    entities = discover_entities(scene, realize=True)
    built = BuiltScene(scene, entities, cameras={"cam": cam}, label_table=label_table({}, entities.values()))
    settings = RenderSettings(width=64, height=48, samples=2, device="cpu")
    capturer = Capturer(built, settings, {"instance", "depth", "normal"}, need_geometry=False)
    try:
        eager = capturer.capture(0, "cam").passes
        capturer.read_passes_later = True
        later = capturer.capture(1, "cam").passes
        assert isinstance(eager, dict) and isinstance(later, CapturedPasses) and not later.loaded
        path = later.source[0]
        assert os.path.isfile(path) and len(pickle.dumps(later)) < 2000
        assert sorted(later) == sorted(eager) >= ["combined", "depth", "instance", "normal"]
        for name, array in eager.items():
            assert later[name].dtype == array.dtype and np.array_equal(later[name], array), name
        assert later.loaded and not os.path.exists(path)
    finally:
        capturer.close()
