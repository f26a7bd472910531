"""pose.scale per axis, rendered: a unit cube turned 90° about Z and scaled (1, 2, 0.5) in its
own axes, seen by two orthographic cameras (top, front), has the 2D boxes and the 3D box
computed by hand; object_pose stays a rotation; the log holds the list.
A primitive's origin is the centre of its base: the cube spans z 0 .. 1 in its own space."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("bpy")

from scenes import NO_GROUND, asset, camera, ground, header, records, render, sun, write_param  # noqa: E402

W, H = 64, 48
ORTHO = 4.0  # metres across the width: 16 px per metre
PX = W / ORTHO
SCALE = [1, 2, 0.5]
BASE_Z = 0.5  # the origin (base centre) is at the front camera's height

SCENE = (
    header((W, H), samples=2)
    + NO_GROUND
    + camera((0, 0, 10), name="top", rotation=[0, 0, 0], projection="orthographic", ortho_scale=ORTHO)
    + camera((0, -10, BASE_Z), name="front", rotation=[90, 0, 0], projection="orthographic", ortho_scale=ORTHO)
    + sun()
    + asset("box", "cube", 1, label="box")
    + f"""
[[randomizers]]
type = "pose"
targets = ["box"]
location = [0, 0, {BASE_Z}]
rotation = [0, 0, 90]
scale = {{ distribution = "choice", values = [{SCALE}] }}

[annotators]
bounding_box_2d_tight = {{}}
bounding_box_3d = {{}}
object_pose = {{}}
"""
)


def pixel_box(lo_m, hi_m, centre_px):
    """Pixels whose centres lie in [lo_m, hi_m] metres from the image centre: (first, last)."""
    return int(np.ceil(centre_px + lo_m * PX - 0.5)), int(np.floor(centre_px + hi_m * PX - 0.5))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("scale")
    out = d / "out"
    assert render(write_param(d, SCENE, "scale.toml"), out) == 0
    return out


def test_a_per_axis_scale_gives_the_2d_boxes_computed_by_hand(run):
    # Turned 90° about Z, the local y (2 m long) lies along world x: world extents 2 x 1 x 0.5.
    half = {"x": SCALE[1] / 2, "y": SCALE[0] / 2}
    top = np.load(run / "top" / "bounding_box_2d_tight" / "bounding_box_2d_tight_0000.npy")
    front = np.load(run / "front" / "bounding_box_2d_tight" / "bounding_box_2d_tight_0000.npy")
    assert len(top) == 1 and len(front) == 1
    x = pixel_box(-half["x"], half["x"], W / 2)
    assert x == (16, 47)
    # Image rows grow downwards: world +y (top view) and +z (front view) are up, so the
    # base (at the front camera's height) to the top, 0.5 m up, is -0.5 .. 0 m image-down.
    assert (top[0]["x_min"], top[0]["x_max"]) == x
    assert (top[0]["y_min"], top[0]["y_max"]) == pixel_box(-half["y"], half["y"], H / 2) == (16, 31)
    assert (front[0]["x_min"], front[0]["x_max"]) == x
    assert (front[0]["y_min"], front[0]["y_max"]) == pixel_box(-SCALE[2], 0.0, H / 2) == (16, 23)


def test_a_per_axis_scale_gives_the_3d_box_computed_by_hand(run):
    box = np.load(run / "top" / "bounding_box_3d" / "bounding_box_3d_0000.npy")
    assert len(box) == 1
    b = box[0]
    # Extents in the object's own space (the unit cube); the scale is in the transform.
    lo = [b["x_min"], b["y_min"], b["z_min"]]
    hi = [b["x_max"], b["y_max"], b["z_max"]]
    assert np.allclose(lo, [-0.5, -0.5, 0], atol=1e-6) and np.allclose(hi, [0.5, 0.5, 1], atol=1e-6)
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90° about Z
    to_world = np.eye(4)
    to_world[:3, :3] = turn @ np.diag(SCALE)
    to_world[:3, 3] = [0, 0, BASE_Z]
    assert np.allclose(b["transform"], to_world.T, atol=1e-6)  # USD's row-vector layout
    corners = np.array([[x, y, z, 1.0] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (0, 1)])
    world = (corners @ b["transform"].astype(np.float64))[:, :3]
    assert np.allclose(world.min(axis=0), [-1, -0.5, BASE_Z], atol=1e-6)
    assert np.allclose(world.max(axis=0), [1, 0.5, BASE_Z + 0.5], atol=1e-6)


def test_object_pose_is_rigid_and_the_log_holds_the_list(run):
    # The model frame is the root's frame without its scale (the scale lives in the model).
    pose = np.load(run / "top" / "object_pose" / "object_pose_0000.npy")
    assert pose.shape == (1, 4, 4)
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    world_to_top = np.diag([1.0, -1.0, -1.0])  # OpenCV axes of a camera looking down -Z
    assert np.allclose(pose[0][:3, :3], world_to_top @ turn, atol=1e-6)
    assert np.allclose(pose[0][:3, 3], [0, 0, 10 - BASE_Z], atol=1e-5)
    logged = records(run)
    assert logged[0]["samples"] == [
        {"type": "pose", "values": {"box": {"location": [0, 0, BASE_Z], "rotation": [0, 0, 90], "scale": SCALE}}}
    ]


def test_physics_settle_drops_the_body_with_its_per_axis_scale(tmp_path):
    # A 0.4 m cube turned 90° about X: its local y (scaled 0.25) is world z, so the slab is
    # 0.1 m thick and centred on its origin: at rest on the ground the origin is 0.05 m up
    # (0.2 m with the scale lost, the slab on edge with another axis scaled).
    text = (
        header((W, H), samples=1)
        + ground(3.0)
        + camera((0, -3, 1), (0, 0, 0))
        + sun()
        + asset("slab", "cube", 0.4, label="slab")
        + """
[[randomizers]]
type = "pose"
targets = ["slab"]
location = [0, 0, 0.3]
rotation = [90, 0, 0]
scale = [1, 0.25, 1]
[[randomizers]]
type = "physics_settle"
targets = ["slab"]
passive = ["ground"]
[annotators]
instance_segmentation = {}
"""
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text, "slab.toml"), out) == 0
    samples = records(out)[0]["samples"]
    settled = samples[1]["values"]["slab"]
    assert settled["start"]["scale"] == [1, 0.25, 1] and settled["at_rest"]
    assert abs(settled["settled_location"][2] - 0.05) < 0.003, settled["settled_location"]
    assert np.allclose(settled["settled_rotation"][:2], [90, 0], atol=1.0)  # flat (it may turn about Z)


def test_scatter_and_camera_relative_take_a_per_axis_scale():
    """Scatter's footprints and rest height use the per-axis scale: flat boxes 0.4 x 0.2 x
    0.05 m lie on the table top, never intersecting (Blender's own meshes checked)."""
    import itertools
    import tomllib
    from pathlib import Path

    from test_placement_bpy import pose, world_tree

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.facts import extract_facts

    text = (
        header((W, H), samples=1, seed=5)
        + ground(4.0)
        + camera((0, -2.2, 1.8), (0, 0, 0.7))
        + sun()
        + asset("table", "table", 1.2)
        + asset("box", "cube", 0.2, count=8, label="box")
        + """
[[randomizers]]
type = "scatter"
targets = ["box_00[0-6]"]
surface = "table"
min_normal_z = 0.9
yaw = 0
scale = [2, 1, 0.25]
[[randomizers]]
type = "camera_relative"
targets = ["box_007"]
depth = 1
x = 0.5
y = 0.5
scale = [1, 2, 0.5]
"""
    )
    cfg = config_from_dict(tomllib.loads(text), Path("t.toml"))
    built = build_scene(cfg)
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    sampled = pose(cfg, built, facts, targets, 0)
    assert tuple(built.entities["box_007"].root.scale) == (1.0, 2.0, 0.5)
    placed = [n for n in targets[0][:7] if sampled[0]["values"][n]["placed"]]
    assert len(placed) >= 3 and all(sampled[0]["values"][n]["scale"] == [2, 1, 0.25] for n in placed)
    trees = {}
    for n in placed:
        obj = built.entities[n].root
        assert tuple(obj.scale) == (2.0, 1.0, 0.25)
        trees[n], co = world_tree(obj)  # Blender's own evaluated mesh, in the world
        table_top = 0.72
        assert table_top <= co[:, 2].min() <= table_top + 1e-3 and abs(np.ptp(co[:, 2]) - 0.05) < 1e-6
        assert np.allclose(np.ptp(co, axis=0), [0.4, 0.2, 0.05], atol=1e-6)  # yaw 0: along the axes
    for a, b in itertools.combinations(placed, 2):
        assert not trees[a].overlap(trees[b]), (a, b)


def test_a_base_scenes_stretched_object_keeps_its_stretch_when_scattered_or_settled(tmp_path, clean_bpy):
    """The shop .blend's can_b is scaled (1.2, 1.2, 0.8): scatter without `scale` keeps it
    (was: the mean of its axes on all three), physics_settle starts from it."""
    import bpy
    from blend_scene import make_shop_blend

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.sampling import sample_frame
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.facts import extract_facts
    from sdg_addon.scene.randomize import apply_frame

    make_shop_blend(tmp_path / "shop.blend")
    table = {
        "scene": {"blend": "shop.blend", "cameras": "CamA"},
        "randomizers": [
            {"type": "physics_settle", "targets": ["can_b"], "passive": ["floor"]},
            {"type": "scatter", "targets": ["can_b"], "volume": "box", "center": [0, 0, 1], "size": [1, 1, 0.5]},
        ],
    }
    cfg = config_from_dict(table, tmp_path / "p.toml")
    built = build_scene(cfg)
    facts = extract_facts(built)
    assert np.allclose(facts.entities["can_b"].root_scale, [1.2, 1.2, 0.8]) and np.allclose(
        facts.entities["can_a"].root_scale, 1.0
    )
    assert isinstance(facts.entities["can_a"].root_scale, float)  # uniform: a number, as before
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers[1:], targets[1:], facts=facts)
    assert sampled[0]["values"]["can_b"]["placed"]
    apply_frame(built, sampled)
    assert np.allclose(bpy.data.objects["can_b"].scale, [1.2, 1.2, 0.8], atol=1e-6)
    start = sample_frame(cfg.seed, 0, cfg.randomizers[:1], targets[:1], facts=facts)[0]["values"]["can_b"]["start"]
    assert np.allclose(start["scale"], [1.2, 1.2, 0.8], atol=1e-6)
    from mathutils import Euler

    from sdg_addon.sampling.rotations import euler_matrix

    turn = np.array(Euler((0.0, np.radians(90), np.radians(20))).to_matrix())  # as saved
    assert np.allclose(euler_matrix(start["rotation"]), turn, atol=1e-6)  # a rotation, the scale divided out


def test_scatter_after_pose_keeps_the_pose_scale_and_places_the_scaled_objects():
    """Replicator's `rep.modify.pose(scale=...)` then `rep.randomizer.scatter_2d(...)`: scatter
    without its own `scale` keeps the scale the pose entry set this frame (a number or per
    axis) and places the scaled objects: 0.1 m cubes scaled 3 rest on the table top as
    0.3 m cubes, never intersecting (was: scatter put back the scale as built)."""
    import itertools
    import tomllib
    from pathlib import Path

    from test_placement_bpy import pose, world_tree

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.facts import extract_facts

    text = (
        header((W, H), samples=1, seed=3)
        + ground(4.0)
        + camera((0, -2.2, 1.8), (0, 0, 0.7))
        + sun()
        + asset("table", "table", 1.2)
        + asset("box", "cube", 0.1, count=6, label="box")
        + """
[[randomizers]]
type = "pose"
targets = "box_00[0-4]"
scale = 3
[[randomizers]]
type = "pose"
targets = "box_005"
scale = [4, 2, 1]
[[randomizers]]
type = "scatter"
targets = "box_*"
surface = "table"
min_normal_z = 0.9
yaw = 0
"""
    )
    cfg = config_from_dict(tomllib.loads(text), Path("t.toml"))
    built = build_scene(cfg)
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    trees = {}
    for frame in range(3):
        scattered = pose(cfg, built, facts, targets, frame)[2]["values"]
        placed = [n for n in sorted(scattered) if scattered[n]["placed"]]
        assert len(placed) >= 4, scattered
        for n in placed:
            want = [4, 2, 1] if n == "box_005" else [3, 3, 3]
            assert scattered[n]["scale"] == (want if n == "box_005" else 3)  # logged as drawn
            obj = built.entities[n].root
            assert tuple(obj.scale) == tuple(float(x) for x in want)
            trees[n], co = world_tree(obj)  # Blender's own evaluated mesh, in the world
            table_top = 0.72
            assert table_top <= co[:, 2].min() <= table_top + 1e-3
            assert np.allclose(np.ptp(co, axis=0), [0.1 * x for x in want], atol=1e-6)  # yaw 0
        for a, b in itertools.combinations(placed, 2):
            assert not trees[a].overlap(trees[b]), (frame, a, b)


def test_scatter_after_pose_keeps_the_pose_rotation_and_rests_the_turned_objects():
    """Replicator's `rep.modify.pose(rotation=...)` then `rep.randomizer.scatter_2d(...)`
    keeps the rotation (scatter_2d moves the prims only). Scatter without its own `yaw` /
    `rotation` keeps the rotation an earlier entry set this frame: boxes turned 30° about Z,
    and a box tipped on an edge (45° about X), rest on the table top with that rotation,
    never intersecting; the volume mode keeps it too. With its own `yaw` scatter turns them
    (was: the pose rotation always replaced by scatter's uniform yaw)."""
    import itertools
    import tomllib
    from pathlib import Path

    import bpy
    from test_placement_bpy import pose, world_tree

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.sampling.rotations import euler_matrix
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.facts import extract_facts

    def scene(scatter_extra: str) -> str:
        return (
            header((W, H), samples=1, seed=5)
            + ground(4.0)
            + camera((0, -2.2, 1.8), (0, 0, 0.7))
            + sun()
            + asset("table", "table", 1.2)
            + asset("box", "cube", 0.1, count=5, label="box")
            + asset("floater", "cube", 0.1, label="box")
            + """
[[randomizers]]
type = "pose"
targets = "box_00[0-3]"
rotation = [0, 0, 30]
[[randomizers]]
type = "pose"
targets = "box_004"
rotation = [45, 0, 0]
[[randomizers]]
type = "pose"
targets = "floater"
rotation = [10, 20, 30]
[[randomizers]]
type = "scatter"
targets = "box_*"
surface = "table"
min_normal_z = 0.9
"""
            + scatter_extra
            + """
[[randomizers]]
type = "scatter"
targets = "floater"
volume = "box"
center = [0, 0, 2.5]
size = [0.2, 0.2, 0.2]
"""
        )

    cfg = config_from_dict(tomllib.loads(scene("")), Path("t.toml"))
    built = build_scene(cfg)
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    for frame in range(3):
        sampled = pose(cfg, built, facts, targets, frame)
        scattered = sampled[3]["values"]
        placed = [n for n in sorted(scattered) if scattered[n]["placed"]]
        assert len(placed) >= 4, scattered
        trees = {}
        for n in placed:
            want = euler_matrix([45, 0, 0] if n == "box_004" else [0, 0, 30])
            obj = built.entities[n].root
            assert np.allclose(np.array(obj.matrix_world)[:3, :3], want, atol=1e-6), n
            assert np.allclose(euler_matrix(scattered[n]["rotation"]), want, atol=1e-9)  # logged as placed
            trees[n], co = world_tree(obj)
            assert 0.72 <= co[:, 2].min() <= 0.72 + 1e-3, (n, co[:, 2].min())  # resting on the top
        for a, b in itertools.combinations(placed, 2):
            assert not trees[a].overlap(trees[b]), (frame, a, b)
        floater = np.array(bpy.data.objects["floater"].matrix_world)
        assert np.allclose(floater[:3, :3], euler_matrix([10, 20, 30]), atol=1e-6)
        assert np.all(np.abs(floater[:3, 3] - [0, 0, 2.5]) <= 0.1 + 1e-9)

    # Its own yaw wins over the pose's rotation.
    cfg = config_from_dict(tomllib.loads(scene("yaw = 90\n")), Path("t.toml"))
    built = build_scene(cfg)
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    scattered = pose(cfg, built, facts, targets, 0)[3]["values"]
    for n in (n for n in scattered if scattered[n]["placed"]):
        assert np.allclose(np.array(built.entities[n].root.matrix_world)[:3, :3], euler_matrix([0, 0, 90]), atol=1e-6)
