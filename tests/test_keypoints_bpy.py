"""Keypoints of a real render: a cube's eight corners declared in the parameter file
project to pixels computed by hand, with visibility 2 (front face), 1 (back face, hidden
by the cube itself) and 0 (a keypoint outside the image); the COCO writer writes them as
COCO keypoints that pycocotools loads. Empties named kp_<name> in a scene are keypoints too."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("bpy")

from scenes import NO_GROUND, camera, header, render, sun, write_param  # noqa: E402

W, H, FOCAL, SENSOR, DIST = 64, 48, 50.0, 36.0, 5.0
# Primitives have their base centred on the origin: the unit cube spans z in [0, 1].
CORNERS = {f"c{i}": [(-0.5, 0.5)[i & 1], (-0.5, 0.5)[(i >> 1) & 1], (0.0, 1.0)[i >> 2]] for i in range(8)}

SCENE = (
    header((W, H), samples=2)
    + NO_GROUND
    + camera((0.0, -DIST, 0.5), (0.0, 0.0, 0.5), focal_length=FOCAL, sensor_width=SENSOR)
    + sun((0, -5, 5))
    + f"""
[[assets]]
name = "cube"
primitive = "cube"
size = 1.0
labels = {{ class = "cube" }}
keypoints = {{ {", ".join(f"{k} = {v}" for k, v in CORNERS.items())}, far = [10.0, 0.0, 0.0] }}
skeleton = [["c0", "c1"], ["c1", "c3"], ["c0", "far"]]

[annotators]
keypoints = {{}}

[writers]
basic = {{}}
coco = {{}}
yolo = {{ keypoints = true }}
"""
)


def expected(name):
    """Hand projection: depth = y + 5, u = W/2 + f x / depth, v = H/2 - f (z - 0.5) / depth."""
    x, y, z = CORNERS.get(name, [10.0, 0.0, 0.0])
    z -= 0.5  # the camera's height
    f = FOCAL * W / SENSOR
    depth = y + DIST
    u, v = W / 2 + f * x / depth, H / 2 - f * z / depth
    if not (0 <= u < W and 0 <= v < H):
        return u, v, 0
    return u, v, 2 if y < 0 else 1  # the front face (y = -0.5) faces the camera


def test_cube_corners_project_by_hand_with_visibility_and_coco(tmp_path):
    out = tmp_path / "out"
    assert render(write_param(tmp_path, SCENE, "kp.toml"), out) == 0
    rows = np.load(out / "keypoints_0000.npy")
    info = json.loads((out / "keypoints_info_0000.json").read_text())
    names = next(iter(info["names"].values()))
    assert names == [*CORNERS, "far"]
    assert len(rows) == 9
    for r in rows:
        u, v, vis = expected(names[r["index"]])
        assert r["x"] == pytest.approx(u, abs=1e-4) and r["y"] == pytest.approx(v, abs=1e-4)
        assert r["visibility"] == vis, names[r["index"]]
    assert sorted(int(r["visibility"]) for r in rows) == [0, 1, 1, 1, 1, 2, 2, 2, 2]

    from pycocotools.coco import COCO

    coco = COCO(str(out / "coco" / "annotations" / "instances_train.json"))
    cat = coco.loadCats(coco.getCatIds())[0]
    assert cat["keypoints"] == names and cat["skeleton"] == [[1, 2], [2, 4], [1, 9]]
    ann = coco.loadAnns(coco.getAnnIds())[0]
    kp = np.array(ann["keypoints"]).reshape(-1, 3)
    assert ann["num_keypoints"] == 8
    for k, name in enumerate(names):
        u, v, vis = expected(name)
        assert kp[k, 2] == vis
        if vis:  # COCO's pixel-index coordinates: the centre of the top-left pixel is (0, 0)
            assert kp[k, 0] == pytest.approx(u - 0.5, abs=1e-3) and kp[k, 1] == pytest.approx(v - 0.5, abs=1e-3)
        else:
            assert kp[k, :2].tolist() == [0, 0]

    # YOLO-pose: the box, then x / W, y / H, v of each keypoint (pixel edges: COCO's + 0.5),
    # 0 0 0 for the one outside the image; dataset.yaml's kpt_shape, flip_idx (no sides:
    # each in place) and kpt_names; the run recorded the classes' names for its workers.
    (line,) = (out / "yolo" / "labels" / "train" / "000000.txt").read_text().splitlines()
    values = line.split()
    box = coco.loadAnns(coco.getAnnIds())[0]["bbox"]
    cx, cy, w, h = (float(v) for v in values[1:5])
    assert [(cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H] == pytest.approx(box, abs=1e-3)
    points = np.array(values[5:], dtype=float).reshape(-1, 3)
    assert values[0] == "0" and len(points) == 9
    for k, name in enumerate(names):
        u, v, vis = expected(name)
        assert points[k, 2] == vis
        if vis:
            assert points[k, 0] * W == pytest.approx(u, abs=1e-3) and points[k, 1] * H == pytest.approx(v, abs=1e-3)
            assert points[k, 0] * W == pytest.approx(kp[k, 0] + 0.5, abs=1e-3)
        else:
            assert points[k].tolist() == [0, 0, 0]
    text = (out / "yolo" / "dataset.yaml").read_text()
    assert "kpt_shape: [9, 3]\nflip_idx: [0, 1, 2, 3, 4, 5, 6, 7, 8]\n" in text
    assert json.loads((out / "audit" / "keypoint_classes.json").read_text()) == {
        "semantic_type": "class",
        "classes": {"cube": names},
    }


def test_empties_named_kp_in_a_scene_are_keypoints(clean_bpy):
    """An empty kp_tip below an object (a user's .blend) is read as keypoint 'tip' in world
    space, following its parent; Blender's .001 suffix is ignored."""
    import bpy

    from sdg_addon.scene.keypoints import entity_keypoints

    mesh = bpy.data.meshes.new("m")
    root = bpy.data.objects.new("thing", mesh)
    bpy.context.scene.collection.objects.link(root)
    a = bpy.data.objects.new("kp_tip", None)
    b = bpy.data.objects.new("kp_base.001", None)
    for e, z in ((a, 1.0), (b, 0.0)):
        bpy.context.scene.collection.objects.link(e)
        e.parent = root
        e.location = (0.0, 0.0, z)
    root.location = (1.0, 2.0, 3.0)
    root.scale = (2.0, 2.0, 2.0)
    root["sdg_skeleton"] = '[["tip", "base"]]'
    bpy.context.view_layer.update()
    points, skeleton = entity_keypoints(root)
    assert list(points) == ["base", "tip"]
    assert np.allclose(points["tip"], [1.0, 2.0, 5.0]) and np.allclose(points["base"], [1.0, 2.0, 3.0])
    assert skeleton == [["tip", "base"]]


def test_keypoint_empties_of_a_blend_asset_file(tmp_path, clean_bpy):
    """A .blend asset with empties kp_tip / kp_base (and a skeleton) parented to its mesh:
    each copy of the asset has those keypoints, moved with it."""
    import bmesh
    import bpy

    me = bpy.data.meshes.new("bar")
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=0.2)
    bm.to_mesh(me)
    bm.free()
    bar = bpy.data.objects.new("bar", me)
    bpy.context.scene.collection.objects.link(bar)
    bar["sdg_skeleton"] = '[["tip", "base"]]'
    for name, z in (("kp_tip", 0.1), ("kp_base", -0.1)):
        e = bpy.data.objects.new(name, None)
        bpy.context.scene.collection.objects.link(e)
        e.parent = bar
        e.location = (0.0, 0.0, z)
    bpy.context.view_layer.update()  # world matrices as Blender saves them from its UI
    model = tmp_path / "bar.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(model))
    bpy.ops.wm.read_factory_settings(use_empty=True)

    text = SCENE.split("[[assets]]")[0] + (
        '[[assets]]\nname = "bar"\nfile = "bar.blend"\nlocation = [0.0, 0.0, 0.5]\nlabels = { class = "bar" }\n'
        "[annotators]\nkeypoints = {}\n[writers]\nbasic = {}\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text, "bar.toml"), out) == 0
    rows = np.load(out / "keypoints_0000.npy")
    info = json.loads((out / "keypoints_info_0000.json").read_text())
    names = next(iter(info["names"].values()))
    assert sorted(names) == ["base", "tip"] and next(iter(info["skeletons"].values())) in ([[1, 0]], [[0, 1]])
    f = FOCAL * W / SENSOR
    for r in rows:
        z = 0.1 if names[r["index"]] == "tip" else -0.1  # camera at height 0.5, like the bar
        assert r["x"] == pytest.approx(W / 2, abs=1e-3) and r["y"] == pytest.approx(H / 2 - f * z / DIST, abs=1e-3)
        assert r["visibility"] == 1  # inside the cube (0.1 from its centre, faces at 0.1): hidden


def test_scene_objects_reads_the_children_of_all_entities_in_one_walk(clean_bpy, monkeypatch):
    """Object.children walks every object of the file each time it is read: reading it for
    each entity made a frame's scene facts quadratic in the objects (1,000 labelled objects:
    0.7 s a frame). scene_objects reads the parent links once and still finds each entity's
    keypoints, nested ones too."""
    import bpy

    from sdg_addon.capture.render import Capturer
    from sdg_addon.config.schema import RenderSettings
    from sdg_addon.labels.blender import set_labels
    from sdg_addon.scene.build import BuiltScene, discover_entities, label_table

    mesh = bpy.data.meshes.new("m")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    for i in range(6):
        root = bpy.data.objects.new(f"thing{i}", mesh)
        bpy.context.scene.collection.objects.link(root)
        set_labels(root, {"class": "thing"})
        root.location = (float(i), 0.0, 0.0)
        holder = bpy.data.objects.new(f"holder{i}", None)  # a keypoint below a child
        tip = bpy.data.objects.new(f"kp_tip.{i:03d}", None)
        for obj, parent, z in ((holder, root, 1.0), (tip, holder, 2.0)):
            bpy.context.scene.collection.objects.link(obj)
            obj.parent = parent
            obj.location = (0.0, 0.0, z)
    bpy.context.view_layer.update()
    scene = bpy.context.scene
    entities = discover_entities(scene, realize=True)
    built = BuiltScene(scene, entities, cameras={}, label_table=label_table({}, entities.values()))
    capturer = Capturer(built, RenderSettings(width=8, height=6, samples=1, device="cpu"), {"instance"}, False)
    reads = []
    children = bpy.types.Object.children
    monkeypatch.setattr(bpy.types.Object, "children", property(lambda o: reads.append(o) or children.fget(o)))
    try:
        objects = capturer.scene_objects()
    finally:
        capturer.close()
    assert reads == []
    assert len(objects) == 6
    for obj in objects.values():
        x = float(obj.object_to_world[0, 3])
        assert obj.keypoints == {"tip": pytest.approx([x, 0.0, 3.0])}


def test_keypoints_below_a_labelled_part_are_the_parts_not_its_parents(clean_bpy):
    """A table (class table) with a mug (class mug) parented to it, the mug's handle an
    empty kp_handle below the mug: the mug is an entity of its own, but the table's
    keypoints were read from every empty below it, so the table had the mug's 'handle' too
    (a COCO table annotation with the mug's keypoint). Only the mug has it now."""
    import bpy

    from sdg_addon.capture.render import Capturer
    from sdg_addon.config.schema import RenderSettings
    from sdg_addon.labels.blender import set_labels
    from sdg_addon.scene.build import BuiltScene, discover_entities, label_table

    scene = bpy.context.scene
    mesh = bpy.data.meshes.new("m")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    table, mug = bpy.data.objects.new("table", mesh), bpy.data.objects.new("mug", mesh)
    handle = bpy.data.objects.new("kp_handle", None)
    for obj, parent, labels in ((table, None, "table"), (mug, table, "mug"), (handle, mug, None)):
        scene.collection.objects.link(obj)
        obj.parent = parent
        if labels:
            set_labels(obj, {"class": labels})
    mug.location, handle.location = (0.2, 0.0, 1.0), (0.1, 0.0, 0.0)
    bpy.context.view_layer.update()
    entities = discover_entities(scene, realize=True)
    built = BuiltScene(scene, entities, cameras={}, label_table=label_table({}, entities.values()))
    capturer = Capturer(built, RenderSettings(width=8, height=6, samples=1, device="cpu"), {"instance"}, False)
    try:
        objects = capturer.scene_objects()
    finally:
        capturer.close()
    got = {o.path: o.keypoints for o in objects.values()}
    assert got == {"/table": {}, "/table/mug": {"handle": pytest.approx([0.3, 0.0, 1.0])}}


def test_keypoint_empties_of_an_instanced_collection_are_each_instances_keypoints(clean_bpy):
    """A collection holding a mesh and its kp_tip empty, instanced twice (a .blend's asset
    collection): the run realizes each instance as copies named INSTANCER/NAME, so the
    copy of kp_tip, 'ring0/kp_tip', no longer read as a keypoint and both instances had no
    keypoints (an empty keypoints file, without a word). Each instance now has 'tip' where
    its instance of the empty stands. A skeleton on the collection's mesh (sdg_skeleton:
    the instancer, the entity's root, has none) was dropped too; it is each instance's."""
    import bpy

    from sdg_addon.capture.render import Capturer
    from sdg_addon.config.schema import RenderSettings
    from sdg_addon.labels.blender import set_labels
    from sdg_addon.scene.build import BuiltScene, discover_entities, label_table

    scene = bpy.context.scene
    src = bpy.data.collections.new("src")
    scene.collection.children.link(src)
    mesh = bpy.data.meshes.new("m")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    part = bpy.data.objects.new("part", mesh)
    tip = bpy.data.objects.new("kp_tip", None)
    for obj in (part, tip):
        src.objects.link(obj)
    tip.parent = part
    tip.location = (0.5, 0.0, 0.25)
    base = bpy.data.objects.new("kp_base", None)
    src.objects.link(base)
    base.parent = part
    part["sdg_skeleton"] = '[["tip", "base"]]'  # on the collection's mesh: the instancer is the root
    scene.view_layers[0].layer_collection.children["src"].exclude = True
    for i in range(2):
        ring = bpy.data.objects.new(f"ring{i}", None)
        scene.collection.objects.link(ring)
        ring.instance_type, ring.instance_collection = "COLLECTION", src
        ring.location = (float(i), 2.0, 0.0)
        ring.rotation_euler = (0.0, 0.0, 1.0 + i)
        ring.scale = (2.0, 2.0, 2.0)
        set_labels(ring, {"class": "ring"})
    bpy.context.view_layer.update()
    wanted = {}
    for inst in bpy.context.evaluated_depsgraph_get().object_instances:
        if inst.is_instance and inst.object.name == "kp_tip":
            wanted[inst.parent.name] = list(inst.matrix_world.translation)
    assert len(wanted) == 2
    entities = discover_entities(scene, realize=True)
    built = BuiltScene(scene, entities, cameras={}, label_table=label_table({}, entities.values()))
    capturer = Capturer(built, RenderSettings(width=8, height=6, samples=1, device="cpu"), {"instance"}, False)
    try:
        objects = capturer.scene_objects()
    finally:
        capturer.close()
    got = {o.path.strip("/"): o.keypoints["tip"] for o in objects.values()}
    assert got == {name: pytest.approx(xyz) for name, xyz in wanted.items()}
    assert all(o.skeleton == [["tip", "base"]] for o in objects.values())


def test_keypoint_empties_of_a_collection_geometry_nodes_instance_are_each_instances_keypoints(clean_bpy):
    """The same collection instanced on two points by Geometry Nodes (Instance on Points,
    Collection Info): each instance is made real as an object, but empties were not copied,
    so neither instance had keypoints. Each now has 'tip' where its instance of the empty
    stands, below its copy of the empty's parent (so it moves with it in a clip), and the
    instance is still its mesh alone (its 3D box in its own axes)."""
    import bpy

    from sdg_addon.capture.render import Capturer
    from sdg_addon.config.schema import RenderSettings
    from sdg_addon.labels.blender import set_labels
    from sdg_addon.scene.build import BuiltScene, discover_entities, label_table

    scene = bpy.context.scene
    src = bpy.data.collections.new("src")
    scene.collection.children.link(src)
    mesh = bpy.data.meshes.new("m")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    part = bpy.data.objects.new("part", mesh)
    tip = bpy.data.objects.new("kp_tip", None)
    for obj in (part, tip):
        src.objects.link(obj)
    tip.parent = part
    tip.location = (0.5, 0.0, 0.25)
    scene.view_layers[0].layer_collection.children["src"].exclude = True
    points = bpy.data.meshes.new("points")
    points.from_pydata([(-1.0, 0.0, 0.0), (1.0, 0.5, 0.0)], [], [])
    host = bpy.data.objects.new("host", points)
    scene.collection.objects.link(host)
    host.rotation_euler = (0.0, 0.0, 0.5)
    set_labels(host, {"class": "thing"})
    tree = bpy.data.node_groups.new("scatter", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    given, out = tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")
    on_points, info = tree.nodes.new("GeometryNodeInstanceOnPoints"), tree.nodes.new("GeometryNodeCollectionInfo")
    info.inputs["Collection"].default_value = src
    tree.links.new(given.outputs[0], on_points.inputs["Points"])
    tree.links.new(info.outputs[0], on_points.inputs["Instance"])
    tree.links.new(on_points.outputs[0], out.inputs[0])
    host.modifiers.new("GN", "NODES").node_group = tree
    bpy.context.view_layer.update()
    wanted = sorted(
        list(i.matrix_world.translation)
        for i in bpy.context.evaluated_depsgraph_get().object_instances
        if i.is_instance and i.object.name == "kp_tip"
    )
    assert len(wanted) == 2
    entities = discover_entities(scene, realize=True)
    built = BuiltScene(scene, entities, cameras={}, label_table=label_table({}, entities.values()))
    capturer = Capturer(built, RenderSettings(width=8, height=6, samples=1, device="cpu"), {"instance"}, False)
    try:
        objects = capturer.scene_objects()
    finally:
        capturer.close()
    got = {o.path: o.keypoints for o in objects.values() if o.path.startswith("/host/")}
    assert sorted(got) == ["/host/instance_000", "/host/instance_001"]
    assert sorted(p["tip"] for p in got.values()) == [pytest.approx(xyz) for xyz in wanted]
    assert all(bpy.data.objects[path.strip("/")].type == "MESH" for path in got)


@pytest.mark.parametrize(
    "raw, said",
    [
        ('[["tip", "base", "x"]]', "expected a JSON list of [name, name] pairs"),
        ("tip-base", "expected a JSON list of [name, name] pairs"),
        ('[["tip", 2]]', "expected a JSON list of [name, name] pairs"),
        ('[["tip", "bse"]]', "naming 'bse', not keypoints of it (its keypoints: 'base', 'tip'"),
    ],
)
def test_a_base_scenes_skeleton_that_is_not_pairs_of_its_keypoints_is_refused(clean_bpy, raw, said):
    """A .blend object's sdg_skeleton of a pair of three names stopped the run with 'too many
    values to unpack', one not JSON or naming a keypoint the object lacks was dropped unsaid:
    each is refused naming the object and its value (before anything is written); a good
    one passes, and entity_keypoints reads only pairs of names."""
    import bpy

    from sdg_addon.config.problems import FieldError
    from sdg_addon.scene.base import check_scene_skeletons
    from sdg_addon.scene.keypoints import entity_keypoints

    root = bpy.data.objects.new("thing", bpy.data.meshes.new("m"))
    bpy.context.scene.collection.objects.link(root)
    for name in ("kp_tip", "kp_base"):
        e = bpy.data.objects.new(name, None)
        bpy.context.scene.collection.objects.link(e)
        e.parent = root
    root["sdg_skeleton"] = '[["tip", "base"]]'
    check_scene_skeletons("scene.blend")
    root["sdg_skeleton"] = raw
    with pytest.raises(FieldError) as e:
        check_scene_skeletons("scene.blend")
    assert "object 'thing' has sdg_skeleton" in str(e.value) and said in str(e.value)
    assert entity_keypoints(root)[1] == []


def test_two_empties_of_one_keypoint_name_below_an_object_are_refused(clean_bpy):
    """kp_tip and its copy kp_tip.001 (Shift+D) below one object: the copy's position was
    the keypoint, unsaid; a base scene with them is refused naming the object and both
    empties, and entity_keypoints takes the first by name. A copy below another object
    (a duplicated object with its empties) is that object's keypoint, as before."""
    import bpy

    from sdg_addon.config.problems import FieldError
    from sdg_addon.scene.base import check_scene_keypoint_names
    from sdg_addon.scene.keypoints import entity_keypoints

    roots = []
    for r, names in (("thing", ("kp_tip", "kp_base")), ("thing.001", ("kp_tip.002",))):
        root = bpy.data.objects.new(r, bpy.data.meshes.new("m"))
        bpy.context.scene.collection.objects.link(root)
        for z, name in enumerate(names):
            e = bpy.data.objects.new(name, None)
            bpy.context.scene.collection.objects.link(e)
            e.parent, e.location = root, (0.0, 0.0, float(z))
        roots.append(root)
    check_scene_keypoint_names("scene.blend")
    e = bpy.data.objects.new("kp_tip.001", None)
    bpy.context.scene.collection.objects.link(e)
    e.parent, e.location = roots[0], (0.0, 0.0, 5.0)
    bpy.context.view_layer.update()
    with pytest.raises(FieldError) as info:
        check_scene_keypoint_names("scene.blend")
    assert "object 'thing' has the empties 'kp_tip' and 'kp_tip.001', both keypoint 'tip'" in str(info.value)
    assert entity_keypoints(roots[0])[0]["tip"] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "raw, said",
    [
        ('[["tip", "base", "x"]]', "a JSON list of [name, name] pairs: object 'bar' has sdg_skeleton"),
        ('[["tip", "bse"]]', "naming 'bse' (its keypoints: 'base', 'tip')"),
    ],
)
def test_a_blend_asset_files_skeleton_that_is_not_pairs_of_its_keypoints_is_refused(
    tmp_path, clean_bpy, capsys, raw, said
):
    """An asset file's sdg_skeleton of three names in a pair, or naming a keypoint the file
    lacks, was dropped without a word (COCO's skeleton empty or short); the entry is now
    refused naming the file, the object and its value (exit 2, nothing written)."""
    import bmesh
    import bpy

    me = bpy.data.meshes.new("bar")
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=0.2)
    bm.to_mesh(me)
    bm.free()
    bar = bpy.data.objects.new("bar", me)
    bpy.context.scene.collection.objects.link(bar)
    bar["sdg_skeleton"] = raw
    for name in ("kp_tip", "kp_base"):
        e = bpy.data.objects.new(name, None)
        bpy.context.scene.collection.objects.link(e)
        e.parent = bar
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "bar.blend"))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    text = SCENE.split("[[assets]]")[0] + (
        '[[assets]]\nname = "bar"\nfile = "bar.blend"\nlabels = { class = "bar" }\n'
        "[annotators]\nkeypoints = {}\n[writers]\nbasic = {}\n"
    )
    capsys.readouterr()
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text, "bar.toml"), out) == 2
    err = capsys.readouterr().err
    assert "assets[0].file" in err and said in err, err
    assert not out.exists()


def test_a_blends_objects_of_one_class_with_other_keypoints_are_refused_before_any_file(tmp_path, clean_bpy):
    """Two cubes of a .blend, both class 'box', one with empties kp_tip / kp_base and one
    with kp_a: the COCO category has one list of keypoint names, and the run stopped at the
    first frame showing both, after audit/ and the first frames' files were written. validate
    and render now refuse the file once the scene is built (exit 2, nothing written),
    naming both objects; with the same empties, or without the COCO writer, it runs."""
    import bpy

    from headless.cli import main

    def blend(path, second_names):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
        scene.collection.objects.link(cam)
        cam.location = (0.0, -6.0, 0.5)
        cam.rotation_euler = (1.5708, 0.0, 0.0)
        scene.camera = cam
        for name, x, kp in (("A", -1.0, ("tip", "base")), ("B", 1.0, second_names)):
            bpy.ops.mesh.primitive_cube_add(size=0.5, location=(x, 0.0, 0.5))
            obj = bpy.context.object
            obj.name = name
            obj["semantics"] = "class:box"
            for k, key in enumerate(kp):
                e = bpy.data.objects.new(f"kp_{key}", None)
                scene.collection.objects.link(e)
                e.parent = obj
                e.location = (0.0, 0.0, 0.25 - 0.5 * k)
        bpy.ops.wm.save_as_mainfile(filepath=str(path))
        bpy.ops.wm.read_factory_settings(use_empty=True)

    text = (
        header((W, H), samples=1)
        + '[scene]\nground = false\nblend = "{}"\ncameras = ["Cam"]\n[annotators]\nkeypoints = {{}}\n[writers]\n{}'
    )
    other = tmp_path / "other.blend"
    blend(other, ("a",))
    param = write_param(tmp_path, text.format(other.as_posix(), "coco = {}\n"), "other.toml")
    out = tmp_path / "out"
    assert main(["validate", str(param)]) == 2
    assert render(param, out) == 2
    assert not out.exists() or not any(out.iterdir())
    assert render(write_param(tmp_path, text.format(other.as_posix(), "basic = {}\n"), "b.toml"), tmp_path / "b") == 0
    # YOLO-pose has one keypoint list per class too (its slots): refused alike.
    pose = write_param(tmp_path, text.format(other.as_posix(), "yolo = { keypoints = true }\n"), "pose.toml")
    assert main(["validate", str(pose)]) == 2
    same = tmp_path / "same.blend"
    blend(same, ("tip", "base"))
    assert render(write_param(tmp_path, text.format(same.as_posix(), "coco = {}\n"), "same.toml"), tmp_path / "s") == 0


def test_yolo_pose_without_any_keypoints_is_refused_once_the_scene_is_built(tmp_path, capsys):
    """yolo keypoints = true where no labelled object has keypoints (none declared, no
    kp_ empties) would write lines of 0 keypoints, kpt_shape [0, 3], which Ultralytics
    cannot train: validate (and render) refuse it, exit 2, naming the option."""
    from headless.cli import main

    text = SCENE.replace(
        f"keypoints = {{ {', '.join(f'{k} = {v}' for k, v in CORNERS.items())}, far = [10.0, 0.0, 0.0] }}\n", ""
    )
    text = text.replace('skeleton = [["c0", "c1"], ["c1", "c3"], ["c0", "far"]]\n', "")
    assert "c0" not in text
    assert main(["validate", str(write_param(tmp_path, text, "none.toml"))]) == 2
    err = capsys.readouterr().err
    assert "writers.yolo.keypoints" in err and "kpt_shape [0, 3]" in err, err


def test_yolo_pose_classes_no_flip_idx_serves_are_warned_by_validate(tmp_path, capsys):
    """The cube's corners stay in place under a flip, a pin's left / right swap slots 0
    and 1: no flip_idx serves both, which validate (the scene built) says in a warning
    naming the slot and both classes; the file is valid (exit 0)."""
    from headless.cli import main

    pin = '\n[[assets]]\nname = "pin"\nprimitive = "cube"\nsize = 0.2\nlabels = { class = "pin" }\n'
    pin += "keypoints = { left = [-0.1, 0.0, 0.1], right = [0.1, 0.0, 0.1] }\n"
    text = SCENE.replace("\n[annotators]", pin + "\n[annotators]")
    assert main(["validate", str(write_param(tmp_path, text, "pin.toml"))]) == 0
    err = capsys.readouterr().err
    assert "yolo (keypoints = true): no flip_idx serves every class: keypoint slot 0 is 'c0' of class 'cube'" in err, (
        err
    )
    assert "'left' of class 'pin', mirrored by slot 1 ('right')" in err, err


def test_the_keypoint_class_conflict_names_both_objects():
    from sdg_addon.writers.coco import keypoint_class_conflict

    box = {"class": ["box"]}
    objects = [
        ("A", box, ["tip", "base"], [["tip", "base"]]),
        ("plain", box, [], []),  # no keypoints: unlabelled keypoints in COCO, no conflict
        ("C", {"class": ["crate"]}, ["a"], []),
        ("B", box, ["tip", "base"], []),  # the same names, no skeleton: another category schema
    ]
    said = keypoint_class_conflict(objects, "class", None)
    assert "'A' and 'B' are both class 'box'" in said and "['tip', 'base']" in said
    objects[3] = ("B", box, ["tip", "base"], [("tip", "base")])
    assert keypoint_class_conflict(objects, "class", None) is None
    objects.append(("D", box, ["base", "tip"], [["tip", "base"]]))  # another order: other indices
    assert "'A' and 'D'" in keypoint_class_conflict(objects, "class", None)


def test_the_keypoints_of_many_copies_are_added_in_a_time_linear_in_them(
    clean_bpy, count_users_collection, monkeypatch, tmp_path
):
    """Each copy of an asset with keypoints asked its root for Object.users_collection (to
    put the keypoint empties in its collections), a scan of every collection's objects:
    building was quadratic in the copies (count = 1000 / 2000 / 4000 of a cube with three
    keypoints: 5.1 / 8.0 / 23.9 s, 8.9 s of it in that scan at 4000). The copies' collection
    is now handed on; the empties are in it, below their copy."""
    import tomllib

    import bpy

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene import build

    text = (
        header((32, 24), samples=1)
        + NO_GROUND
        + camera((0.0, -DIST, 0.5), (0.0, 0.0, 0.5))
        + sun((0, -5, 5))
        + """
[[assets]]
name = "cube"
primitive = "cube"
size = 0.1
count = 30
labels = { class = "cube" }
keypoints = { top = [0.0, 0.0, 0.1], side = [0.05, 0.0, 0.05] }
"""
    )
    asked = count_users_collection()
    cfg = config_from_dict(tomllib.loads(text), tmp_path / "s.toml")
    build.build_scene(cfg)
    monkeypatch.undo()
    assert len([n for n in asked if n.startswith("cube_")]) <= 1, f"users_collection asked {len(asked)} times"
    for i in range(30):
        root = bpy.data.objects[f"cube_{i:03d}"]
        kps = sorted(c.name.split(".")[0] for c in root.children)
        assert kps == ["kp_side", "kp_top"], kps
        assert all([c.name for c in k.users_collection] == ["cube"] for k in root.children)


def test_preview_draws_the_keypoints_and_3d_box_where_the_render_has_them(tmp_path, drawn_text):
    """preview's 3D box corners are the cube's corners projected by hand (the keypoints c0..c7
    are those corners, in the same order), and its overlay draws the visible corners' dots."""
    from PIL import Image

    from headless.cli import main
    from sdg_addon import visualize as viz

    scene = SCENE.replace(
        "keypoints = {}", "keypoints = {}\nbounding_box_3d = {}\ncamera_params = {}\ninstance_segmentation = {}"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, scene, "kp3d.toml"), out) == 0
    ff = viz.frame_files(out, 0)[0]
    boxes, note = viz.load_boxes_3d(ff)
    assert note == "3D boxes: 1" and boxes[0].label == "cube"
    for k, (u, v) in enumerate(boxes[0].corners):
        assert (u, v) == pytest.approx(expected(f"c{k}")[:2], abs=1e-3), k
    (kp,) = viz.load_keypoints(ff)
    assert [int(v) for v in kp.points[:, 2]] == [expected(n)[2] for n in [*CORNERS, "far"]]
    said = drawn_text()
    assert main(["preview", str(out), "--out", str(tmp_path / "p.png")]) == 0
    assert "3D boxes: 1" in said
    assert Image.open(tmp_path / "p.png").size == (2 * W, H)
    dots, plain = viz.overlay(ff, boxes=False), viz.overlay(ff, boxes=False, keypoints=False)
    for name in CORNERS:
        u, v, vis = expected(name)
        if vis == 2:  # a filled dot on the pixel the keypoint is in, in the cube's mask colour
            x, y = int(u), int(v)
            assert dots.getpixel((x, y)) != plain.getpixel((x, y)), name
            assert dots.getpixel((x, y)) == viz.load_mask(ff, "instance_segmentation").path_colors[kp.prim_path]
