"""Scenes of many entities (docs/exactness.md, Entities): how many a scene may have
(Blender's pass_index, the id of the Object Index pass, is 0 .. 32767, ids 0 and 1
reserved: 32766 at most), and finding them in a time linear in their number."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

from sdg_addon.scene.build import MAX_ENTITIES, discover_entities  # noqa: E402


def _scene_of(n: int):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    me = bpy.data.meshes.new("tri")
    me.from_pydata([(0, 0, 0), (0.01, 0, 0), (0, 0.01, 0)], [], [(0, 1, 2)])
    for i in range(n):
        scene.collection.objects.link(bpy.data.objects.new(f"o{i:05d}", me))
    return scene


def test_the_entity_limit_and_one_past_it():
    assert MAX_ENTITIES == 32766
    scene = _scene_of(MAX_ENTITIES)
    entities = discover_entities(scene, realize=False)
    assert len(entities) == MAX_ENTITIES
    assert max(e.instance_id for e in entities.values()) == 32767  # pass_index's largest
    scene.collection.objects.link(bpy.data.objects.new("one_more", bpy.data.meshes["tri"]))
    with pytest.raises(ValueError) as err:
        discover_entities(scene, realize=False)
    said = str(err.value)
    assert "32767 entities" in said and "at most 32766" in said
    assert "make fewer instances" in said  # the way out, not a bare count


def test_the_copies_of_instances_are_labelled_in_a_time_linear_in_their_number(count_users_collection):
    """Each realized copy's labels asked whether its instancer was an Object by
    hasattr(instancer, "users_collection"), which evaluates Object.users_collection, a
    scan of every collection's objects: quadratic in the copies (6,000 Geometry Nodes
    instances: 18 of the 41 s of discover_entities; 32,765 did not finish in 19 minutes).
    It is now asked of the object's type; the copies keep their instancer's labels."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    proto_coll = bpy.data.collections.new("protos")
    scene.collection.children.link(proto_coll)
    me = bpy.data.meshes.new("tri")
    me.from_pydata([(0, 0, 0), (0.01, 0, 0), (0, 0.01, 0)], [], [(0, 1, 2)])
    proto = bpy.data.objects.new("pebble", me)
    proto_coll.objects.link(proto)
    bpy.context.view_layer.layer_collection.children["protos"].exclude = True
    points = bpy.data.meshes.new("points")
    points.from_pydata([(0.1 * i, 0, 0) for i in range(40)], [], [])
    emitter = bpy.data.objects.new("emitter", points)
    scene.collection.objects.link(emitter)
    emitter["semantics"] = "class:pebble"
    tree = bpy.data.node_groups.new("inst", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    gi, go = tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")
    on_points, info = tree.nodes.new("GeometryNodeInstanceOnPoints"), tree.nodes.new("GeometryNodeObjectInfo")
    info.inputs["Object"].default_value = proto
    tree.links.new(gi.outputs[0], on_points.inputs["Points"])
    tree.links.new(info.outputs["Geometry"], on_points.inputs["Instance"])
    tree.links.new(on_points.outputs[0], go.inputs[0])
    emitter.modifiers.new("gn", "NODES").node_group = tree

    asked = count_users_collection()
    entities = discover_entities(scene)
    copies = [e for name, e in entities.items() if name != "emitter"]
    assert len(copies) == 40
    assert all(e.labels.get("class") == ["pebble"] for e in copies), [e.labels for e in copies][:3]
    assert len(asked) <= 2, f"users_collection asked {len(asked)} times for 40 copies"
