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


class _Counted(list):
    """A list of target names that counts the `in` tests asked of it."""

    asked = 0

    def __contains__(self, name):
        _Counted.asked += 1
        return list.__contains__(self, name)


def test_scatter_and_settle_of_thousands_of_targets_set_them_apart_in_a_time_linear_in_them():
    """scatter's surface / avoid and physics_settle's passive are chosen among the objects
    that are not its targets: each object was looked up in the list of targets, each frame
    (and by validate's checks), quadratic in them (3,000 objects, 1,500 targets: 0.09 s a
    frame for the list, 6,000: 0.5 s). The targets are now a set: no object asks the list."""
    from pathlib import Path

    import numpy as np

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.sampling.placement import moved_static_objects
    from sdg_addon.sampling.sampler import frame_rng
    from sdg_addon.scene.facts import EntityGeometry, SceneFacts

    quad = np.array([[-5, -5, 0], [5, -5, 0], [5, 5, 0], [-5, 5, 0]], dtype=float)
    cube = np.array([[x, y, z] for x in (-0.05, 0.05) for y in (-0.05, 0.05) for z in (-0.05, 0.05)])
    cube_tris = np.array([[0, 1, 3], [0, 3, 2], [4, 5, 7], [4, 7, 6], [0, 1, 5], [0, 5, 4]])

    def geometry(verts, tris, at):
        m = np.eye(4)
        m[:3, 3] = at
        return EntityGeometry(verts=verts, tris=tris, root_matrix=m, root_scale=1.0)

    balls = [f"ball_{i:03d}" for i in range(60)]
    facts = SceneFacts(entities={"ground": geometry(quad, np.array([[0, 1, 2], [0, 2, 3]]), (0, 0, 0))})
    for i, name in enumerate(balls + [f"box_{i:03d}" for i in range(60)]):
        facts.entities[name] = geometry(cube, cube_tris, (i % 11 - 5, i // 11 - 5, 0.05))
    cfg = config_from_dict(
        {
            "cameras": [{"name": "cam", "location": [0, -2, 1]}],
            "randomizers": [
                {"type": "scatter", "targets": "ball_*", "surface": "ground", "avoid": "box_*"},
                {"type": "physics_settle", "targets": "ball_*", "passive": ["ground", "box_*"]},
            ],
        },
        Path("t.toml"),
    )
    scatter, settle = cfg.randomizers
    targets = _Counted(balls)
    _Counted.asked = 0
    placed = scatter.sample(frame_rng(1, 0, 0), 0, targets, facts=facts)
    assert sum(bool(v.get("placed")) for v in placed.values()) > 0
    scatter.hanging_note(facts, targets)
    settle.sample(frame_rng(1, 0, 1), 0, targets, facts=facts)
    assert moved_static_objects(cfg.randomizers, [targets, _Counted(balls)], facts.names()) == []
    assert _Counted.asked <= len(balls), f"{_Counted.asked} names looked up in the list of targets"


def test_a_surface_another_entry_moves_names_five_of_its_thousands_of_objects():
    """avoid = { class = "box" } of a scatter and a pose moving 1,500 boxes was refused with
    every box named, one line of 14,000 characters (validate of 3,000 labelled objects);
    the line names five and how many more, as the warning of objects moved after a settle."""
    from pathlib import Path

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.sampling.placement import moved_static_objects

    cfg = config_from_dict(
        {
            "cameras": [{"name": "cam", "location": [0, -2, 1]}],
            "randomizers": [
                {"type": "scatter", "targets": "ball_*", "avoid": "box_*"},
                {"type": "pose", "targets": "box_*", "location": [0, 0, 1]},
            ],
        },
        Path("t.toml"),
    )
    balls, boxes = [f"ball_{i:04d}" for i in range(1500)], [f"box_{i:04d}" for i in range(1500)]
    [(field, value, expected)] = moved_static_objects(cfg.randomizers, [balls, boxes], balls + boxes)
    assert (field, value) == ("randomizers[0].avoid", "box_*")
    assert expected == (
        "objects no randomizer moves (read once, as built); randomizers[1] (pose) moves "
        "box_0000, box_0001, box_0002, box_0003, box_0004 and 1495 more"
    )


def test_an_option_listing_thousands_of_names_is_matched_in_a_time_linear_in_them(monkeypatch):
    """avoid = [1,500 names] (Use Selected, a generated file) was matched by trying every
    name of the scene against every name listed, each frame: 3,000 objects, 2.3 s a call.
    A name without wildcards is now looked up (6 ms); globs still match as globs."""
    import fnmatch
    from pathlib import Path

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.sampling import randomizers

    boxes, balls = [f"box_{i:04d}" for i in range(1500)], [f"ball_{i:04d}" for i in range(1500)]
    entry = {"type": "scatter", "targets": "ball_*", "avoid": [*boxes, "ball_000?"]}
    cfg = config_from_dict({"cameras": [{"name": "cam", "location": [0, -2, 1]}], "randomizers": [entry]}, Path("t"))
    tried, fnmatchcase = [], fnmatch.fnmatchcase

    def counted(name, pattern):
        tried.append(pattern)
        return fnmatchcase(name, pattern)

    monkeypatch.setattr(randomizers.fnmatch, "fnmatchcase", counted)
    chosen = cfg.randomizers[0].objects("avoid", balls + boxes)
    assert chosen == sorted(boxes + [f"ball_000{i}" for i in range(10)])
    assert len(tried) <= len(balls) + len(boxes), f"{len(tried)} names tried against patterns"
