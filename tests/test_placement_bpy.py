"""Placement randomizers in Blender: scatter never interpenetrates and rests on its surface,
camera-relative objects project inside the image, look-at targets sit at the image centre.

Checks use Blender's own evaluated meshes (BVHTree.FromObject), not the scene facts the
samplers used, so a wrong transform in facts or appliers is caught."""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from mathutils import Euler  # noqa: E402
from mathutils.bvhtree import BVHTree  # noqa: E402
from scenes import asset, camera, camera_roll, ground, header, records, render, sun, write_param  # noqa: E402

from sdg_addon.capture.render import camera_info  # noqa: E402
from sdg_addon.config.schema import config_from_dict  # noqa: E402
from sdg_addon.sampling import sample_frame  # noqa: E402
from sdg_addon.scene.build import build_scene  # noqa: E402
from sdg_addon.scene.facts import extract_facts  # noqa: E402
from sdg_addon.scene.randomize import apply_frame  # noqa: E402

TABLE_TOP = 0.72  # primitive "table" of size 1.2: 1.5 x 1 x 0.9 scaled by 0.8

BASE = (
    header((64, 48), samples=1, seed=5, frames=4)
    + ground(4.0)
    + camera((0, -2.2, 1.8), (0, 0, 0.7))
    + sun(location=None)
    + asset("table", "table", 1.2)
    + asset("mug", "cylinder", 0.16, count=8, label="mug")
    + asset("donut", "torus", 0.2, count=4, label="donut")
)

# Mugs and donuts scattered on the table top.
SCATTER_ON_TABLE = """
[[randomizers]]
type = "scatter"
targets = ["mug*", "donut*"]
surface = "table"
min_normal_z = 0.9
"""


def built_run(extra: str):
    cfg = config_from_dict(tomllib.loads(BASE + extra), Path("test.toml"))
    built = build_scene(cfg)
    built.scene.render.resolution_x, built.scene.render.resolution_y = 64, 48
    built.scene.render.resolution_percentage = 100
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    return cfg, built, facts, targets


def world_tree(obj) -> tuple[BVHTree, np.ndarray]:
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = obj.evaluated_get(depsgraph).to_mesh()
    mw = np.array(obj.matrix_world)
    co = np.array([v.co[:] for v in mesh.vertices]) @ mw[:3, :3].T + mw[:3, 3]
    polys = [tuple(p.vertices) for p in mesh.polygons]
    obj.evaluated_get(depsgraph).to_mesh_clear()
    return BVHTree.FromPolygons(co.tolist(), polys), co


def pose(cfg, built, facts, targets, frame: int):
    """Sample frame, apply it to the scene and update; the samples."""
    sampled = sample_frame(cfg.seed, frame, cfg.randomizers, targets, facts=facts)
    apply_frame(built, sampled)
    bpy.context.view_layer.update()
    return sampled


def shown(built, names):
    return [n for n in names if not built.entities[n].meshes[0].hide_render]


def test_scatter_on_table_rests_and_never_intersects():
    cfg, built, facts, targets = built_run(SCATTER_ON_TABLE)
    names = targets[0]
    for f in range(4):
        sampled = pose(cfg, built, facts, targets, f)
        placed = shown(built, names)
        assert len(placed) == len(names), sampled  # 12 small objects fit on a 1.2 m table
        trees = {}
        for n in placed:
            tree, co = world_tree(built.entities[n].root)
            trees[n] = tree
            # Resting: the lowest point on the table top (not below, at most 1 mm above) ...
            assert TABLE_TOP <= co[:, 2].min() <= TABLE_TOP + 1e-3, (n, co[:, 2].min())
            # ... and over the table, not beside it.
            low = co[co[:, 2] < co[:, 2].min() + 1e-6]
            assert np.all(np.abs(low[:, 0]) <= 0.6 + 1e-6) and np.all(np.abs(low[:, 1]) <= 0.4 + 1e-6)
        for a, b in itertools.combinations(placed, 2):
            assert not trees[a].overlap(trees[b]), (f, a, b)


def test_small_objects_are_never_scattered_inside_the_table_top():
    """The legs' tops face up under the table top: objects thinner than the top (2 cm
    here, the top is 4 cm) were put there, inside it, in about 1 frame of 60 (the
    containment test sees the leg's top as the nearest face, pointing up)."""
    cfg, built, facts, targets = built_run(
        SCATTER_ON_TABLE.replace('["mug*", "donut*"]', '"mug*"') + "scale = 0.125\n"  # 2 cm mugs
    )
    heights = [
        v["location"][2]
        for f in range(60)
        for v in sample_frame(cfg.seed, f, cfg.randomizers, targets, facts=facts)[0]["values"].values()
    ]
    assert len(heights) == 60 * 8
    assert np.allclose(heights, TABLE_TOP + 1e-4, atol=1e-6), sorted(set(np.round(heights, 4)))


def test_scatter_hides_and_logs_what_does_not_fit():
    cfg, built, facts, targets = built_run(
        SCATTER_ON_TABLE
        + """scale = 2.5
max_tries = 20
"""
    )
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers, targets, facts=facts)
    values = sampled[0]["values"]
    unplaced = sorted(n for n, v in values.items() if not v["placed"])
    assert unplaced, "12 objects at 2.5x cannot all fit on the table"
    assert all(values[n]["tries"] == 20 for n in unplaced)
    apply_frame(built, sampled)
    bpy.context.view_layer.update()
    assert sorted(set(targets[0]) - set(shown(built, targets[0]))) == unplaced
    placed = shown(built, targets[0])
    trees = {n: world_tree(built.entities[n].root)[0] for n in placed}
    for a, b in itertools.combinations(placed, 2):
        assert not trees[a].overlap(trees[b]), (a, b)


def test_scatter_in_a_sphere_volume():
    cfg, built, facts, targets = built_run(
        """
[[randomizers]]
type = "scatter"
targets = ["mug*", "donut*"]
volume = "sphere"
center = [0, 0, 1.5]
radius = 0.3
orientation = "random"
"""
    )
    pose(cfg, built, facts, targets, 1)
    placed = shown(built, targets[0])
    assert len(placed) >= 8
    trees = {}
    for n in placed:
        trees[n] = world_tree(built.entities[n].root)[0]
        origin = np.array(built.entities[n].root.location)
        assert np.linalg.norm(origin - [0, 0, 1.5]) <= 0.3 + 1e-9
    for a, b in itertools.combinations(placed, 2):
        assert not trees[a].overlap(trees[b]), (a, b)


def test_layout_rejects_intersection_and_containment():
    """The mesh-level check: a pose that touches by triangles or sits inside is refused,
    one with the bounding spheres overlapping but meshes apart is accepted."""
    cfg, built, facts, _ = built_run("")
    from sdg_addon.sampling.rotations import compose

    layout = facts.layout()
    eye = np.eye(3)
    layout.add("donut_000", compose([0, 0, 0], eye, 1.0))
    assert not layout.fits("donut_001", compose([0.05, 0, 0], eye, 1.0))  # tori crossing
    assert not layout.fits("mug_000", compose([0.2, 0, 0], eye, 3.0))  # a big mug around the torus...
    # ... and a small mug standing in the torus hole (torus 0.2 wide: hole radius ~0.057 m):
    assert layout.fits("mug_000", compose([0, 0, -0.01], eye, 0.3))
    layout2 = facts.layout()
    layout2.add("mug_001", compose([0, 0, 0], eye, 3.0))  # a big mug...
    assert not layout2.fits("mug_002", compose([0, 0, 0.1], eye, 0.5))  # ... with a small one inside


def test_layout_looks_only_at_placed_objects_whose_boxes_meet_the_draw():
    """Placing N objects tested each draw's box against every placed object one Python call
    at a time: quadratic (500 scattered objects, 170,000 calls a frame). The boxes are now
    tested at once, and only objects whose boxes meet the draw's are looked at; the answers
    are the same."""
    cfg, built, facts, _ = built_run("")
    from sdg_addon.sampling.rotations import compose

    class Watched(list):
        def __init__(self, items):
            super().__init__(items)
            self.seen = []

        def __iter__(self):
            self.seen.append("all")
            return super().__iter__()

        def __getitem__(self, k):
            self.seen.append(k)
            return super().__getitem__(k)

    layout = facts.layout()
    eye = np.eye(3)
    for i in range(40):  # a row of tori 1 m apart (0.2 m wide), more than the first capacity
        layout.add("donut_000", compose([float(i), 0, 0], eye, 1.0))
    layout.placed = Watched(layout.placed)
    assert layout.fits("donut_001", compose([0.5, 5.0, 0], eye, 1.0))  # far from all
    assert layout.placed.seen == []
    assert not layout.fits("donut_001", compose([30.05, 0, 0], eye, 1.0))  # crossing torus 30
    assert layout.placed.seen == [30]
    layout.placed.seen.clear()
    assert layout.fits("donut_001", compose([30.5, 0, 0], eye, 1.0))  # between 30 and 31
    assert layout.placed.seen == []
    assert not layout.fits("mug_000", compose([10.0, 0, 0], eye, 30.0))  # a big mug around several
    assert layout.placed.seen and set(layout.placed.seen) <= set(range(40))


@pytest.mark.parametrize("depth", ['{ distribution = "uniform", low = 0.2, high = 1.5 }', "0", "1e-6"])
def test_camera_relative_fully_inside_projects_inside_the_image(depth):
    """Every box projects inside the image, at a depth of 0 too (was: 1.25 times 0, forty
    times, left the objects at the lens, none in the image, depth_used 0) and of 1 µm
    (7.5 mm after forty steps: still outside)."""
    cfg, built, facts, targets = built_run(
        f"""
[[randomizers]]
type = "camera_relative"
targets = ["mug*", "donut*"]
depth = {depth}
random_rotation = true
fully_inside = true
"""
    )
    scene = built.scene
    for f in range(6):
        sampled = pose(cfg, built, facts, targets, f)
        cam = camera_info(scene, built.cameras["cam"])
        for n in targets[0]:
            _tree, co = world_tree(built.entities[n].root)
            px, depth = cam.project(co)
            assert np.all(depth > 0)
            assert (
                np.all(px >= -1e-6) and np.all(px[:, 0] <= cam.width + 1e-6) and np.all(px[:, 1] <= cam.height + 1e-6)
            )
            v = sampled[0]["values"][n]
            # The depth asked for (distance to the image plane of the object's origin).
            assert cam.project(np.array(built.entities[n].root.location))[1][0] == pytest.approx(
                v.get("depth_used", v["depth"]), abs=1e-5
            )


def test_camera_relative_without_fully_inside_hits_the_drawn_pixel():
    cfg, built, facts, targets = built_run(
        """
[[randomizers]]
type = "camera_relative"
targets = ["mug*"]
depth = 1.0
"""
    )
    sampled = pose(cfg, built, facts, targets, 0)
    cam = camera_info(built.scene, built.cameras["cam"])
    for n, v in sampled[0]["values"].items():
        px, depth = cam.project(np.array(built.entities[n].root.location))
        assert px[0] == pytest.approx([v["x"] * 64, v["y"] * 48], abs=1e-4)
        assert depth[0] == pytest.approx(1.0)


def test_camera_relative_places_in_view_of_the_first_camera_whichever_rendered_last():
    """Without its `camera` option, camera_relative placed in view of the scene's active
    camera, which is the last camera rendered in the frame before: with two cameras a
    process's first frame (--procs, a shard, --frames, a resume) placed the objects
    elsewhere than the same frame after another one. It is the first camera, as documented."""
    cfg, built, facts, targets = built_run(
        camera((2.0, -1.5, 1.6), (0, 0, 0.7), name="side")
        + """
[[randomizers]]
type = "camera_relative"
targets = ["mug*"]
depth = 1.0
"""
    )
    built.scene.camera = built.cameras["side"]  # as the render of the frame before leaves it
    sampled = pose(cfg, built, facts, targets, 1)
    cam = camera_info(built.scene, built.cameras["cam"])
    for n, v in sampled[0]["values"].items():
        px, depth = cam.project(np.array(built.entities[n].root.location))
        assert px[0] == pytest.approx([v["x"] * 64, v["y"] * 48], abs=1e-4)
        assert depth[0] == pytest.approx(1.0)


def test_camera_look_at_centres_the_target_with_roll():
    cfg, built, facts, targets = built_run(
        SCATTER_ON_TABLE
        + """[[randomizers]]
type = "camera_look_at"
targets = "cam"
look_at = ["mug*", "donut*"]
distance = { distribution = "uniform", low = 0.8, high = 2.0 }
roll = { distribution = "uniform", low = -45, high = 45 }
"""
    )
    seen = set()
    for f in range(6):
        sampled = pose(cfg, built, facts, targets, f)
        v = sampled[1]["values"]["cam"]
        seen.add(v["target"])
        assert 0 <= v["elevation"] <= 90  # hemisphere
        cam = camera_info(built.scene, built.cameras["cam"])
        _tree, co = world_tree(built.entities[v["target"]].root)
        root = np.array(built.entities[v["target"]].root.matrix_world)
        local = (co - root[:3, 3]) @ np.linalg.inv(root[:3, :3]).T
        centre = root[:3, :3] @ ((local.min(0) + local.max(0)) / 2) + root[:3, 3]
        px, depth = cam.project(centre)
        assert px[0] == pytest.approx([32, 24], abs=1e-3)
        assert depth[0] == pytest.approx(v["distance"], abs=1e-4)
        # Roll: the camera's x axis is the horizontal "right" turned by `roll` about the
        # camera's own +Z axis (counter-clockwise seen from behind the camera).
        assert camera_roll(cam.camera_to_world) == pytest.approx(v["roll"], abs=1e-3)
    assert len(seen) > 1


def test_camera_at_a_drawn_location_looks_at_the_point_with_roll():
    """Replicator's `rep.modify.pose(position=uniform(...), look_at=...)` and BlenderProc's
    camera_sampling (a location in a box, aimed at a point of interest, in-plane rotation):
    the camera is exactly at the drawn location, the point at the image centre, the roll
    as drawn."""
    cfg, built, facts, targets = built_run(
        """[[randomizers]]
type = "camera"
targets = "cam"
location = { distribution = "uniform", low = [-2, -2, 1.5], high = [2, 2, 2.5] }
look_at = [0, 0, 0.72]
roll = { distribution = "uniform", low = -45, high = 45 }
"""
    )
    for f in range(4):
        v = pose(cfg, built, facts, targets, f)[0]["values"]["cam"]
        assert -45 <= v["roll"] <= 45 and -2 <= v["location"][0] <= 2 and 1.5 <= v["location"][2] <= 2.5
        cam = camera_info(built.scene, built.cameras["cam"])
        assert cam.camera_to_world[:3, 3] == pytest.approx(v["location"], abs=1e-5)
        px, depth = cam.project(np.array([0, 0, 0.72]))
        assert px[0] == pytest.approx([32, 24], abs=1e-3)
        assert depth[0] == pytest.approx(np.linalg.norm(np.subtract(v["location"], [0, 0, 0.72])), abs=1e-4)
        assert camera_roll(cam.camera_to_world) == pytest.approx(v["roll"], abs=1e-3)


def test_camera_orbit_takes_a_roll():
    cfg, built, facts, targets = built_run(
        '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ndistance = 2\nelevation = 40\nazimuth = 30\nroll = 20\n'
    )
    pose(cfg, built, facts, targets, 0)
    cam = camera_info(built.scene, built.cameras["cam"])
    assert camera_roll(cam.camera_to_world) == pytest.approx(20, abs=1e-3)
    px, _depth = cam.project(np.array([0, 0, 0.7]))  # the camera's own look_at
    assert px[0] == pytest.approx([32, 24], abs=1e-3)


@pytest.mark.parametrize("kind", ["camera", "camera_look_at"])
def test_a_camera_straight_above_stays_level_and_turns_with_its_azimuth(kind):
    """Blender's to_track_quat, which aimed every camera, leaves the level near straight
    down: at elevation 89.99 the image turned by up to 180 degrees from 89.9's, and at 90 it
    was the same whatever the azimuth (a top-down turntable of 4 azimuths rendered 4 equal
    frames). The camera is now level up to the pole, and there turned as the orbit reaches
    it: its right side a quarter turn counter-clockwise from the azimuth."""
    look = "look_at = [0, 0, 0.7]" if kind == "camera" else 'look_at = "table"'
    cfg, built, facts, targets = built_run(
        f"""[[randomizers]]
type = "{kind}"
targets = "cam"
{look}
distance = 2
elevation = {{ distribution = "sequence", values = [89.9, 89.99, 90, 90, -90, -89.99] }}
azimuth = {{ distribution = "sequence", values = [30, 30, 30, 120, 30, 30] }}
"""
    )
    for f, az in enumerate([30, 30, 30, 120, 30, 30]):
        pose(cfg, built, facts, targets, f)
        right = camera_info(built.scene, built.cameras["cam"]).camera_to_world[:3, 0]
        assert right[2] == pytest.approx(0, abs=1e-6), f
        turn = math.degrees(math.atan2(right[1], right[0])) - (az + 90)
        assert (turn + 180) % 360 - 180 == pytest.approx(0, abs=1e-3), f


def test_camera_looks_at_the_mean_centre_of_objects_shown():
    """Replicator's `look_at=prim` and BlenderProc's `compute_poi(objects)`: the camera aims
    at the mean of the objects' bounding-box centres where they are this frame; an object
    an earlier entry hid takes no part."""
    cfg, built, facts, targets = built_run(
        """[[randomizers]]
type = "pose"
targets = ["mug_000", "mug_001", "donut_000"]
location = { distribution = "uniform", low = [-0.5, -0.4, 0.72], high = [0.5, 0.4, 0.72] }
[[randomizers]]
type = "visibility"
targets = "donut_000"
visible = { distribution = "sequence", values = [true, false] }
[[randomizers]]
type = "camera"
targets = "cam"
location = { distribution = "uniform", low = [-2, -2, 1.5], high = [2, 2, 2.5] }
look_at_objects = ["mug_000", "mug_001", "donut_000"]
"""
    )
    for f in range(2):
        sampled = pose(cfg, built, facts, targets, f)
        names = ["mug_000", "mug_001", "donut_000"][: 3 - f]  # frame 1 hides the donut
        assert sampled[2]["values"]["cam"]["look_at_objects"] == sorted(names)
        centres = []
        for n in names:
            _tree, co = world_tree(built.entities[n].root)
            centres.append((co.min(0) + co.max(0)) / 2)  # upright: the world box is the box
        cam = camera_info(built.scene, built.cameras["cam"])
        px, _depth = cam.project(np.mean(centres, axis=0))
        assert px[0] == pytest.approx([32, 24], abs=1e-3)


def test_cameras_look_only_at_objects_shown_and_at_all_when_none_is():
    """parameters.md: camera_look_at picks among the `look_at` objects shown this frame, and
    `look_at_objects` leaves hidden ones out; with every one hidden both take them all (the
    docs said nothing of that case)."""
    cfg, built, facts, targets = built_run(
        """[[randomizers]]
type = "visibility"
targets = "mug*"
visible = { distribution = "sequence", values = [false, true] }
[[randomizers]]
type = "camera_look_at"
targets = "cam"
look_at = ["mug*", "donut_000"]
distance = 2
[[randomizers]]
type = "camera"
targets = "cam"
look_at_objects = ["mug*", "donut_000"]
distance = 3
"""
    )
    mugs = [f"mug_{i:03d}" for i in range(8)]
    for f in range(12):
        values = sample_frame(cfg.seed, f, cfg.randomizers, targets, facts=facts)
        picked, looked = values[1]["values"]["cam"]["target"], values[2]["values"]["cam"]["look_at_objects"]
        if f % 2 == 0:  # mugs hidden: the donut only
            assert picked == "donut_000" and looked == ["donut_000"], (f, picked, looked)
        else:
            assert looked == sorted([*mugs, "donut_000"]), (f, looked)
    hidden_all = """[[randomizers]]
type = "visibility"
targets = ["mug*", "donut_000"]
visible = false
[[randomizers]]
type = "camera_look_at"
targets = "cam"
look_at = ["mug*", "donut_000"]
distance = 2
[[randomizers]]
type = "camera"
targets = "cam"
look_at_objects = ["mug*", "donut_000"]
distance = 3
"""
    cfg, built, facts, targets = built_run(hidden_all)
    seen = set()
    for f in range(12):
        values = sample_frame(cfg.seed, f, cfg.randomizers, targets, facts=facts)
        seen.add(values[1]["values"]["cam"]["target"])
        assert values[2]["values"]["cam"]["look_at_objects"] == sorted([*mugs, "donut_000"])
    assert len(seen) > 1 and seen <= {*mugs, "donut_000"}
    from sdg_addon.sampling.camera import CameraLookAt
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    assert "all of them hidden: among them all" in CameraLookAt.OPTIONS["look_at"][2]
    assert (
        "all of them hidden: all of them, where they were built" in RANDOMIZERS["camera"].OPTIONS["look_at_objects"][2]
    )


@pytest.mark.parametrize(
    "aim",
    [
        'type = "camera"\ntargets = "cam"\nlook_at_objects = "donut_000"\ndistance = 3\n',
        'type = "camera_look_at"\ntargets = "cam"\nlook_at = "donut_000"\ndistance = 3\n',
    ],
    ids=["look_at_objects", "camera_look_at"],
)
def test_a_camera_aiming_at_hidden_objects_aims_where_they_were_built(aim):
    """A scatter leaves a target an earlier entry hid where the frame before placed it, so a
    camera aiming at the hidden object aimed where the process's previous frame had left it:
    a clip or frame differed with --procs, --shard and --resume (seen: a sequence whose pool
    hid every cube look_at_objects named). A hidden object is aimed at where it was built,
    whatever was rendered before."""
    cfg, built, facts, targets = built_run(
        """[[randomizers]]
type = "visibility"
targets = "donut_000"
visible = { distribution = "sequence", values = [true, false] }
[[randomizers]]
type = "scatter"
targets = "donut_000"
volume = "box"
center = [0.8, 0.3, 1.2]
size = [0.6, 0.6, 0.4]
[[randomizers]]
"""
        + aim
    )
    g = facts.entities["donut_000"]
    built_centre = g.root_matrix[:3, :3] @ ((g.bbox[0] + g.bbox[1]) / 2) + g.root_matrix[:3, 3]
    first = pose(cfg, built, facts, targets, 1)  # frame 1 rendered first: the donut hidden, as built
    assert first[1]["values"]["donut_000"]["placed"] is False
    alone = np.array(built.cameras["cam"].matrix_world)
    px, _depth = camera_info(built.scene, built.cameras["cam"]).project(built_centre)
    assert px[0] == pytest.approx([32, 24], abs=1e-3)
    pose(cfg, built, facts, targets, 0)  # shown: scattered away from where it was built
    assert np.abs(np.array(built.entities["donut_000"].root.location) - g.root_matrix[:3, 3]).max() > 0.1
    pose(cfg, built, facts, targets, 1)  # hidden again
    assert np.array(built.cameras["cam"].matrix_world) == pytest.approx(alone, abs=1e-6)


@pytest.mark.parametrize(
    "placer",
    [
        'type = "scatter"\ntargets = "donut_000"\nvolume = "box"\ncenter = [0.8, 0.3, 1.2]\nsize = [0.6, 0.6, 0.4]\n',
        # dropped from 1 m onto the table top (0.72 m), from where it was built (z = 0)
        'type = "physics_settle"\ntargets = "donut_000"\npassive = ["ground", "table"]\nmax_steps = 60\ndrop = 1\n',
    ],
    ids=["scatter", "physics_settle"],
)
def test_an_object_shown_again_after_a_placer_left_it_stands_where_the_frame_alone_puts_it(placer):
    """An object a scatter or physics_settle left unplaced (hidden by an earlier entry, or
    without a free place) kept the pose an earlier frame of the process had given it, and a
    later `visibility` entry showing it again rendered it there: frame 1 after frame 0 was
    not frame 1 alone (--procs, --shard, --resume differed). It stands where the frame's
    earlier entries put it, else where it was built, whatever was rendered before."""
    cfg, built, facts, targets = built_run(
        """[[randomizers]]
type = "visibility"
targets = "donut_000"
visible = { distribution = "sequence", values = [true, false] }
[[randomizers]]
"""
        + placer
        + """[[randomizers]]
type = "visibility"
targets = "donut_000"
visible = true
"""
    )
    root = built.entities["donut_000"].root

    def transform():
        return np.array(root.matrix_world), root.rotation_mode

    pose(cfg, built, facts, targets, 1)  # frame 1 first: the placer leaves it, as built
    alone = transform()
    pose(cfg, built, facts, targets, 0)  # shown: placed away from where it was built
    assert np.abs(np.array(root.matrix_world) - alone[0]).max() > 0.1
    pose(cfg, built, facts, targets, 1)  # left again, and shown by the last entry
    assert transform()[0] == pytest.approx(alone[0], abs=1e-9) and transform()[1] == alone[1]


def test_a_look_at_count_above_the_objects_named_is_refused():
    """look_at_count = 5 of 3 objects was taken, every frame aiming at all 3 (BlenderProc's
    np.random.choice(objs, size=5, replace=False) raises): refused before anything is
    written, naming how many there are; as many as there are is fine."""
    from sdg_addon.scene.randomize import check_targets

    entry = """[[randomizers]]
type = "camera"
targets = "cam"
distance = 3
look_at_objects = ["mug_000", "mug_001", "donut_000"]
look_at_count = {}
"""
    cfg, built, _facts, targets = built_run(entry.format(4))
    problems = check_targets(built, cfg.randomizers, targets)
    assert [(i, key, value) for i, (key, value, _e) in problems] == [(0, "look_at_count", 4)]
    assert "at most 3, the objects `look_at_objects` names (donut_000, mug_000, mug_001)" in problems[0][1][2]
    cfg, built, _facts, targets = built_run(entry.format(3))
    assert check_targets(built, cfg.randomizers, targets) == []


@pytest.mark.parametrize(
    "aim, key",
    [
        ('type = "camera"\ntargets = "cam"\nlook_at_objects = "donut_000"\ndistance = 3\n', "look_at_objects"),
        ('type = "camera_look_at"\ntargets = "cam"\nlook_at = "donut_000"\ndistance = 3\n', "look_at"),
    ],
    ids=["look_at_objects", "camera_look_at"],
)
def test_a_camera_aiming_at_objects_a_later_entry_moves_is_refused(aim, key):
    """A camera entry aiming at objects before the entry that moves them aimed where the
    frame rendered before had left them (frame 2 alone differed from frame 2 after frames 0
    and 1): refused, naming the entry to put it after; after it, fine. So is one before an
    entry showing or hiding them; a later entry moving other objects is fine."""
    from sdg_addon.scene.randomize import check_targets

    move = """[[randomizers]]
type = "pose"
targets = "{}"
location = {{ distribution = "uniform", low = [-0.5, -0.5, 0.9], high = [0.5, 0.5, 0.9] }}
"""
    show = '[[randomizers]]\ntype = "visibility"\ntargets = "donut_000"\nvisible = true\n'
    for later in (move.format("donut_000"), show):
        cfg, built, _facts, targets = built_run("[[randomizers]]\n" + aim + later)
        problems = check_targets(built, cfg.randomizers, targets)
        assert [(i, p[0], p[1]) for i, p in problems] == [(0, key, "donut_000")], problems
        assert "randomizers[1] (" in problems[0][1][2] and "put this entry after randomizers[1]" in problems[0][1][2]
    for text in (
        move.format("donut_000") + "[[randomizers]]\n" + aim,
        "[[randomizers]]\n" + aim + move.format("mug_000"),
    ):
        cfg, built, _facts, targets = built_run(text)
        assert check_targets(built, cfg.randomizers, targets) == []


def test_showing_objects_a_scatter_left_unplaced_is_warned(tmp_path):
    """A visibility entry after a scatter showed the objects it had hidden (a pool hid them
    before it, or they found no free place) where they were built, all of a count's copies
    at one spot, without a word; the run now warns, naming both entries and the way out. A
    visibility entry drawing only false, or one before the scatter, is not warned."""
    pool = '[[randomizers]]\ntype = "pool"\ntargets = "mug*"\nk = 2\n'
    scatter = SCATTER_ON_TABLE.replace('targets = ["mug*", "donut*"]', 'targets = "mug*"')
    show = '[[randomizers]]\ntype = "visibility"\ntargets = "mug*"\nvisible = {}\n'
    for name, order, warned in (
        ("after", pool + scatter + show.format("true"), True),
        ("choice", pool + scatter + show.format('{ distribution = "choice", values = [true, false] }'), True),
        ("hides", pool + scatter + show.format("false"), False),
        ("before", pool + show.format("true") + scatter, False),
    ):
        out = tmp_path / name
        text = BASE.replace("frames = 4", "frames = 1") + order + "[annotators]\nrgb = {}\n"
        assert render(write_param(tmp_path, text), out) == 0
        warnings = json.loads((out / "audit" / "manifest.json").read_text())["warnings"]
        said = [w for w in warnings if "after randomizers[1] (scatter), which hides those it does not place" in w]
        assert bool(said) == warned, (name, warnings)
        if warned:
            assert said[0].startswith(
                "randomizers[2] (visibility) can show mug_000, mug_001, mug_002, mug_003, mug_004"
            )
            assert "stand where they were built" in said[0] and said[0].endswith(
                "put randomizers[2] before randomizers[1]"
            )


def test_fitting_into_the_image_before_an_entry_turns_or_scales_is_refused():
    """camera_relative's fully_inside fits the box as turned and scaled when it runs: a pose
    scaling the object after it made it fit the box the frame rendered before had left (frame
    2 alone differed from frame 2 after frames 0 and 1): refused, naming the pose; a pose
    before it, one moving it only, or fully_inside = false, are fine."""
    from sdg_addon.scene.randomize import check_targets

    fit = '[[randomizers]]\ntype = "camera_relative"\ntargets = "donut_000"\ndepth = 1.5\nfully_inside = {}\n'
    scale = '[[randomizers]]\ntype = "pose"\ntargets = "donut_000"\nscale = { distribution = "uniform", low = 1, high = 3 }\n'
    move = '[[randomizers]]\ntype = "pose"\ntargets = "donut_000"\nlocation = [0, 0, 1]\n'
    cfg, built, _facts, targets = built_run(fit.format("true") + scale)
    problems = check_targets(built, cfg.randomizers, targets)
    assert [(i, key, value) for i, (key, value, _e) in problems] == [(0, "fully_inside", True)]
    assert "after randomizers[1] (pose), which turns or scales donut_000" in problems[0][1][2]
    for text in (scale + fit.format("true"), fit.format("true") + move, fit.format("false") + scale):
        cfg, built, _facts, targets = built_run(text)
        assert check_targets(built, cfg.randomizers, targets) == [], text


def test_camera_looks_at_a_subset_drawn_each_frame():
    """BlenderProc's `compute_poi(np.random.choice(objs, size=N))`: `look_at_count = 2` aims
    each frame at the mean centre of 2 of the 3 objects, a subset drawn afresh per frame
    (reproducibly: the same frame draws the same subset)."""
    text = """[[randomizers]]
type = "camera"
targets = "cam"
location = { distribution = "uniform", low = [-2, -2, 1.5], high = [2, 2, 2.5] }
look_at_objects = ["mug_000", "mug_001", "donut_000"]
look_at_count = 2
"""
    cfg, built, facts, targets = built_run(text)
    subsets = set()
    for f in range(8):
        sampled = pose(cfg, built, facts, targets, f)
        names = sampled[0]["values"]["cam"]["look_at_objects"]
        assert len(names) == 2 and len(set(names)) == 2 and set(names) <= {"mug_000", "mug_001", "donut_000"}
        subsets.add(tuple(names))
        centres = []
        for n in names:
            _tree, co = world_tree(built.entities[n].root)
            centres.append((co.min(0) + co.max(0)) / 2)
        cam = camera_info(built.scene, built.cameras["cam"])
        px, _depth = cam.project(np.mean(centres, axis=0))
        assert px[0] == pytest.approx([32, 24], abs=1e-3)
    assert len(subsets) > 1  # drawn per frame, not once
    again = pose(cfg, built, facts, targets, 3)[0]["values"]["cam"]["look_at_objects"]
    assert again == pose(cfg, built, facts, targets, 3)[0]["values"]["cam"]["look_at_objects"]


def test_look_at_target_is_rendered_at_the_image_centre(tmp_path):
    """The rendered mask of a sphere target is centred on the image centre within 1 px."""
    import json

    from PIL import Image

    param = write_param(
        tmp_path,
        BASE.replace("resolution = [64, 48]", "resolution = [65, 49]").replace("frames = 4", "frames = 3")
        + asset("ball", "sphere", 0.3, label="ball")
        + """
[[randomizers]]
type = "scatter"
targets = ["mug*", "donut*", "ball"]
surface = "table"
min_normal_z = 0.9
[[randomizers]]
type = "camera_look_at"
targets = "cam"
look_at = "ball"
distance = { distribution = "uniform", low = 1.0, high = 1.8 }
elevation = { distribution = "uniform", low = 30, high = 60 }
roll = { distribution = "uniform", low = -30, high = 30 }
[annotators]
instance_segmentation = {}
""",
        "look.toml",
    )
    out = tmp_path / "out"
    assert render(param, out) == 0
    for f in range(3):
        mapping = json.loads((out / f"instance_segmentation_mapping_{f:04d}.json").read_text())
        colour = next(c for c, p in mapping.items() if p.endswith("/ball"))
        rgba = tuple(int(x) for x in colour.strip("()").split(","))
        mask = np.all(np.array(Image.open(out / f"instance_segmentation_{f:04d}.png").convert("RGBA")) == rgba, -1)
        rows, cols = np.nonzero(mask)
        assert len(rows) > 40
        # A sphere projects to an ellipse centred slightly off its centre's image away from
        # the axis; on the axis (the look-at target) it is centred exactly.
        assert abs(cols.mean() + 0.5 - 65 / 2) <= 1.0 and abs(rows.mean() + 0.5 - 49 / 2) <= 1.0, f


def test_camera_relative_places_lights_too():
    cfg, built, facts, targets = built_run(
        """
[[randomizers]]
type = "camera_relative"
targets = "sun"
depth = 2.0
x = 0.25
y = 0.75
"""
    )
    pose(cfg, built, facts, targets, 0)
    cam = camera_info(built.scene, built.cameras["cam"])
    px, depth = cam.project(np.array(built.lights["sun"].location))
    assert px[0] == pytest.approx([16, 36], abs=1e-4) and depth[0] == pytest.approx(2.0)


def test_scatter_aligned_to_the_normal_on_a_curved_surface():
    """On a sphere: each object's +Z follows the face normal, it rests on the surface
    (its nearest point within 1 mm) and intersects neither the sphere nor the others."""
    from mathutils import Vector

    cfg, built, facts, targets = built_run(
        """
[[assets]]
name = "globe"
primitive = "sphere"
size = 1.0
location = [2, 0, 0]
[[randomizers]]
type = "scatter"
targets = "mug*"
surface = "globe"
orientation = "normal"
"""
    )
    pose(cfg, built, facts, targets, 0)
    globe, _ = world_tree(built.entities["globe"].root)
    centre = np.array([2.0, 0.0, 0.5])
    placed = shown(built, targets[0])
    assert len(placed) == 8
    trees = {}
    for n in placed:
        root = built.entities[n].root
        tree, co = world_tree(root)
        trees[n] = tree
        radial = np.array(root.location) - centre
        radial /= np.linalg.norm(radial)
        z_axis = np.array(root.matrix_world.to_3x3().col[2]).ravel()
        assert np.degrees(np.arccos(np.clip(np.dot(z_axis, radial), -1, 1))) < 12  # a facet's normal
        assert not tree.overlap(globe), n
        gap = min(globe.find_nearest(Vector(p))[3] for p in co)
        assert gap <= 1e-3, (n, gap)
    for a, b in itertools.combinations(placed, 2):
        assert not trees[a].overlap(trees[b]), (a, b)


def test_light_copies_are_randomized_each_on_its_own(tmp_path):
    """`count = 3` on a light: three lights, each at its own drawn location."""

    text = (
        header((32, 24), samples=1, seed=2, frames=1)
        + ground(4.0)
        + camera((0, -3, 2), (0, 0, 0))
        + '[[lights]]\nname = "lamp"\ntype = "point"\nenergy = 100\ncount = 3\n'
        + '[[randomizers]]\ntype = "light"\ntargets = "lamp_*"\n'
        + 'location = { distribution = "shell", center = [0, 0, 0], radius_min = 2, radius_max = 3, elevation_min = 10 }\n'
    )
    assert render(write_param(tmp_path, text, "lamps.toml"), tmp_path / "out") == 0
    (rec,) = records(tmp_path / "out").values()
    drawn = rec["samples"][0]["values"]
    assert sorted(drawn) == ["lamp_000", "lamp_001", "lamp_002"]
    for name, v in drawn.items():
        obj = bpy.data.objects[name]
        assert obj.type == "LIGHT" and obj.data.type == "POINT"
        assert np.array(obj.location) == pytest.approx(v["location"], abs=1e-6)
        assert 2 <= np.linalg.norm(v["location"]) <= 3
    assert len({tuple(v["location"]) for v in drawn.values()}) == 3


def test_camera_randomizer_turns_a_quaternion_camera():
    """A .blend's or an imported camera may rotate by quaternion (glTF, USD): the camera
    randomizer must still aim it (setting Euler angles alone would leave it as it was)."""
    cfg, built, facts, targets = built_run(
        '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ndistance = 2\nelevation = 40\nazimuth = 30\n'
    )
    cam_obj = built.cameras["cam"]
    cam_obj.rotation_mode = "QUATERNION"
    cam_obj.rotation_quaternion = (1, 0, 0, 0)  # looking straight down
    pose(cfg, built, facts, targets, 0)
    cam = camera_info(built.scene, cam_obj)
    px, _depth = cam.project(np.array([0, 0, 0.7]))  # the camera's own look_at
    assert px[0] == pytest.approx([32, 24], abs=1e-3)


def test_pose_and_light_turn_quaternion_objects():
    """Objects of a .blend imported from glTF rotate by quaternion: `pose` rotation and a
    light's `look_at` must still turn them (Euler angles alone would be ignored)."""
    cfg, built, facts, targets = built_run(
        '[[randomizers]]\ntype = "pose"\ntargets = "mug_000"\nrotation = [90, 0, 30]\n'
        '[[randomizers]]\ntype = "light"\ntargets = "sun"\nlocation = [0, 0, 3]\nlook_at = [3, 0, 0]\n'
    )
    mug, sun = built.entities["mug_000"].root, built.lights["sun"]
    for obj in (mug, sun):
        obj.rotation_mode = "QUATERNION"
        obj.rotation_quaternion = (1, 0, 0, 0)
    pose(cfg, built, facts, targets, 0)
    want = np.array(Euler([math.radians(a) for a in (90, 0, 30)]).to_matrix())
    assert np.array(mug.matrix_world.to_3x3()) == pytest.approx(want, abs=1e-6)
    down = np.array(sun.matrix_world.to_3x3()) @ [0, 0, -1]  # a light shines along its -Z
    assert down == pytest.approx(np.array([3, 0, -3]) / math.sqrt(18), abs=1e-6)


def test_trajectory_turns_a_quaternion_object_from_its_own_orientation():
    """A trajectory's angular velocity is keyframed on Euler angles: an object rotating by
    quaternion (glTF) must turn from the orientation it has, not stay still."""
    from sdg_addon.scene.motion import SequencePlayer

    cfg, built, facts, targets = built_run(
        "[sequence]\nclip_length = 2\nfps = 2\n"
        '[[randomizers]]\ntype = "trajectory"\ntargets = "mug_000"\nangular_velocity = [0, 0, 30]\n'
    )
    mug = built.entities["mug_000"].root
    mug.rotation_mode = "QUATERNION"
    mug.rotation_quaternion = Euler((0, 0, math.radians(90))).to_quaternion()
    player = SequencePlayer(built, cfg.sequence, cfg.randomizers)
    player.apply(1, sample_frame(cfg.seed, 1, cfg.randomizers, targets, clip_length=2, fps=2.0))
    bpy.context.view_layer.update()
    assert math.degrees(mug.matrix_world.to_euler("XYZ").z) == pytest.approx(90 + 30 * 0.5, abs=1e-3)


def test_a_scatter_that_does_not_fire_keeps_each_target_where_it_was_placed():
    """A `scatter` drawn once per run after a per-frame `pool`: on later frames each member
    shown again stands where the trigger frame placed it (each target draws from its own
    stream), as a Replicator user expects of a randomizer that does not fire; was: the
    members shown took the draws in turn, so a place of frame 0 went to another member."""
    text = (
        header((64, 48), samples=1, seed=7, frames=6)
        + ground(8.0)
        + camera((0, -6, 5), (0, 0, 0))
        + sun(location=None)
        + asset("box", "cube", 0.1, count=8, label="box")
        + """
[[randomizers]]
type = "pool"
targets = "box_*"
k = 4
[[randomizers]]
type = "scatter"
targets = "box_*"
surface = "ground"
trigger = "once"
"""
    )
    cfg = config_from_dict(tomllib.loads(text), Path("t.toml"))
    built = build_scene(cfg)
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    first = pose(cfg, built, facts, targets, 0)[1]["values"]
    kept = 0
    for frame in range(1, 6):
        values = pose(cfg, built, facts, targets, frame)[1]["values"]
        for name, v in values.items():
            if v["placed"] and first[name]["placed"]:
                assert v["tries"] == 1 and v["location"] == first[name]["location"], (frame, name)
                assert v["rotation"] == first[name]["rotation"]
                assert tuple(built.entities[name].root.location) == pytest.approx(v["location"])
                kept += 1
    assert kept >= 5  # members shown in frame 0 and again later


@pytest.mark.parametrize(
    "entry, key",
    [
        ('type = "scatter"\ntargets = "mug_*"\nsurface = "tabel"', "surface"),  # scattered in the volume
        ('type = "scatter"\ntargets = "mug_*"\nsurface = "table"\navoid = ["donut*", "lamp"]', None),
        ('type = "scatter"\ntargets = "mug_*"\nsurface = "table"\navoid = "lamp"', "avoid"),  # ignored
        ('type = "physics_settle"\ntargets = "mug_*"\npassive = ["flor"]', "passive"),  # fell through
        ('type = "camera_look_at"\ntargets = "cam"\nlook_at = "cup*"\ndistance = 2', "look_at"),
        ('type = "camera"\ntargets = "cam"\nlook_at_objects = "cup*"', "look_at_objects"),
    ],
)
def test_object_globs_of_an_entry_must_match_an_object(tmp_path, capsys, entry, key):
    """A surface, an object to avoid, a collider or an object to look at that matches none of
    the scene's objects other than the entry's targets is refused before anything is
    written (exit 2, naming the file and field): a misspelt surface scattered in the volume,
    an avoid or passive glob was ignored (objects fell through the ground), a camera's
    stopped the run with 'matches no object' after audit/ was written."""
    out = tmp_path / "out"
    param = write_param(tmp_path, BASE.replace("frames = 4", "frames = 1") + f"\n[[randomizers]]\n{entry}\n")
    code = render(param, out, "--device", "cpu")
    if key is None:  # one of the list matches: fine
        assert code == 0
        return
    err = capsys.readouterr().err
    assert code == 2 and f"p.toml: randomizers[0].{key}: got " in err, err
    assert "objects of the scene other than the entry's targets" in err and "'table'" in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    "entry, said",
    [
        ('type = "physics_settle"\ntargets = "mug_*"\npassive = ["table", "flor"]', "passive: no objects named 'flor'"),
        ('type = "scatter"\ntargets = "mug_*"\nsurface = ["table", "shelf"]', "surface: no objects named 'shelf'"),
    ],
)
def test_a_name_of_an_object_option_that_is_no_object_is_said(tmp_path, capsys, entry, said):
    """A name of a list of colliders (or surfaces, obstacles) that is no object of the scene,
    where the others are, was left out in silence (the mugs fell through the floor that
    passive = ["table", "flor"] meant, exit 0); the run says so, as it says of targets."""
    param = write_param(tmp_path, BASE.replace("frames = 4", "frames = 1") + f"\n[[randomizers]]\n{entry}\n")
    assert render(param, tmp_path / "out", "--device", "cpu") == 0
    err = capsys.readouterr().err
    assert f"randomizers[0] ({entry.split(chr(34))[1]}): {said} (deleted or renamed?); it uses table" in err, err


def test_a_scatter_that_does_not_fire_keeps_a_place_its_trigger_frame_found_after_others():
    """On a crowded table a member of a per-frame pool may find its place at frame 0 only at
    its 5th draw, the earlier ones hitting members shown then. When those are hidden on a
    later frame, a `trigger = "once"` scatter took the first of those earlier draws (the
    member moved, nothing standing at its place); it now keeps the draw frame 0 placed it
    with (or a later one where that place is taken now), frame after frame."""
    text = (
        header((64, 48), samples=1, seed=5, frames=30)
        + camera((0, -1.6, 1.9), (0, 0, 0.75))
        + sun(location=None)
        + asset("table", "table", 1.2)
        + asset("box", "cube", 0.15, count=6, label="box")
        + """
[[randomizers]]
type = "pool"
targets = "box_*"
k = 3
[[randomizers]]
type = "scatter"
targets = "box_*"
surface = "table"
min_normal_z = 0.9
trigger = "once"
"""
    )
    cfg = config_from_dict(tomllib.loads(text), Path("t.toml"))
    built = build_scene(cfg)
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    first = sample_frame(cfg.seed, 0, cfg.randomizers, targets, facts=facts)[1]["values"]
    late = [n for n, v in first.items() if v["placed"] and v["tries"] > 1]
    assert late, first  # the case in question: a member placed by a later draw at frame 0
    kept = set()
    for frame in range(1, 30):
        values = sample_frame(cfg.seed, frame, cfg.randomizers, targets, facts=facts)[1]["values"]
        for name, v in values.items():
            if v["placed"] and first[name]["placed"]:
                assert v["tries"] >= first[name]["tries"], (frame, name)  # was: an earlier draw
                if v["tries"] == first[name]["tries"]:
                    assert v["location"] == first[name]["location"] and v["rotation"] == first[name]["rotation"]
                    kept.add(name)
    assert set(late) <= kept


@pytest.mark.parametrize(
    "targets, entry, refused",
    [
        ('["mug", "sun"]', "rotation = [10, 20, 30]", "rotation"),
        ('"sun"', "scale = 3", "scale"),
        ('["mug", "sun"]', "random_rotation = true", "random_rotation"),
        ('["mug", "sun"]', "", None),  # placed only: a light takes that
        ('"mug"', "rotation = [10, 20, 30]\nscale = 3", None),
    ],
)
def test_camera_relative_refuses_to_turn_or_scale_a_light(tmp_path, capsys, targets, entry, refused):
    """camera_relative turns and scales objects only: a light among its targets was logged
    with the drawn rotation and scale (audit/frames.jsonl) and rendered unturned, unscaled.
    Refused before anything is written, naming the light."""
    text = header((16, 12), samples=1) + camera((0, -2, 1), (0, 0, 0)) + sun() + asset("mug", "cylinder", 0.2)
    text += f'[[randomizers]]\ntype = "camera_relative"\ntargets = {targets}\ndepth = 1\n{entry}\n'
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == (2 if refused else 0)
    if refused:
        err = capsys.readouterr().err
        assert f"randomizers[0].{refused}: got " in err and "objects only: 'sun' is a light" in err, err
        assert not out.exists()


@pytest.mark.parametrize(
    "surface, min_normal_z, refused", [("globe", 1.0, True), ("globe", 0.99, False), ("top", 1.0, False)]
)
def test_a_scatter_surface_without_a_face_up_to_min_normal_z_is_refused_before_anything_is_written(
    tmp_path, capsys, surface, min_normal_z, refused
):
    """A UV sphere's faces reach a normal z of 0.995: with min_normal_z = 1 scatter had no face
    to draw from and the run stopped at frame 0 with exit 2, audit/ written, naming no field.
    Now refused first (file, field, value, the highest normal z); a flat top takes 1 itself."""
    text = header((16, 12), samples=1) + camera((0, -3, 2), (0, 0, 0.5)) + sun()
    text += asset("globe", "sphere", 1.0, location=[0, 0, 0]) + asset("top", "plane", 2.0, location=[3, 0, 0])
    text += asset("mug", "cube", 0.05, label="mug")
    text += (
        f'[[randomizers]]\ntype = "scatter"\ntargets = "mug"\nsurface = "{surface}"\nmin_normal_z = {min_normal_z}\n'
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == (2 if refused else 0)
    if refused:
        err = capsys.readouterr().err
        assert (
            "p.toml: randomizers[0].min_normal_z: got 1.0; expected a value the faces of the surfaces ['globe']" in err
        )
        assert "reach z = 0.995" in err and not out.exists()


def test_a_camera_orbits_at_its_elevation_above_the_plane_through_look_at(tmp_path):
    """The camera entry's elevation was said to be 'degrees above the XY plane'; it is taken
    above the horizontal plane through look_at: elevation 0 is level with a raised look_at,
    as the parameter's description now says."""
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    text = header((16, 12), samples=1) + camera((0, -3, 2), (0, 0, 0)) + sun() + asset("mug", "cube", 0.1)
    text += '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nlook_at = [0, 0, 1.5]\ndistance = 2\nelevation = 0\nazimuth = -90\n'
    cfg = config_from_dict(tomllib.loads(text), Path("t.toml"))
    built = build_scene(cfg)
    targets = [
        built.match(r.target_kind, p, moves=r.moves_targets) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)
    ]
    apply_frame(built, sample_frame(cfg.seed, 0, cfg.randomizers, targets))
    bpy.context.view_layer.update()
    assert tuple(built.cameras["cam"].matrix_world.translation) == pytest.approx((0, -2, 1.5), abs=1e-6)
    assert "through `look_at`" in RANDOMIZERS["camera"].PARAMS["elevation"][1]


def test_a_min_distance_no_draw_can_meet_is_logged_and_warned(tmp_path, capsys):
    """Three cubes drawn in a 0.1 m square, 1 m apart: max_tries redraws cannot place them
    and the last draw was kept without a word in 200 of 200 frames (dr6). The frame's log
    line now lists them (too_close, by randomizer index) and the run warns once."""
    text = (
        header((32, 24), samples=1, frames=2)
        + ground(6)
        + camera((0, -4, 2), (0, 0, 0))
        + sun()
        + "".join(asset(f"c{i}", "cube", 0.05, label="c") for i in range(3))
        + '\n[[randomizers]]\ntype = "pose"\ntargets = ["c*"]\nmin_distance = 1.0\nmax_tries = 3\n'
        + 'location = { distribution = "uniform", low = [0, 0, 0], high = [0.1, 0.1, 0] }\n'
    )
    param = write_param(tmp_path, text)
    capsys.readouterr()
    assert render(param, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert err.count("randomizers[0] (pose): min_distance = 1 m was not met in some frames") == 1, err
    logged = records(tmp_path / "out")
    assert [logged[f]["too_close"] for f in (0, 1)] == [{"0": ["c1", "c2"]}] * 2


def covered(built, names, points: np.ndarray) -> np.ndarray:
    """How many of the flat objects `names` cover each (x, y) point (their meshes' world
    corners, from Blender: convex quads lying flat)."""
    count = np.zeros(len(points), int)
    for n in names:
        obj = built.entities[n].root
        corners = np.array([(obj.matrix_world @ v.co)[:2] for v in obj.data.vertices])
        centre = corners.mean(axis=0)
        corners = corners[np.argsort(np.arctan2(*(corners - centre).T[::-1]))]  # counter-clockwise
        inside = np.ones(len(points), bool)
        for p, q in zip(corners, np.roll(corners, -1, axis=0)):
            inside &= (q[0] - p[0]) * (points[:, 1] - p[1]) - (q[1] - p[1]) * (points[:, 0] - p[0]) > 1e-4
        count += inside
    return count


@pytest.mark.parametrize(
    "region",
    ['surface = "ground"', "size = [0, 0, 0]\nyaw = 0"],  # lying on a surface; one pose for every draw
)
def test_scattered_sheets_never_overlap(region):
    """Flat objects (planes, decals, cards) lie in one plane: BVH's overlap test finds
    crossing triangles only, so 12 sheets of 0.3 m on a 1 m ground were all placed, lying on
    each other (up to 0.079 of their 0.09 m2 shared), and sheets given one pose all stood in
    it. Now no point of the ground is under two sheets, and what does not fit is hidden."""
    text = (
        header((64, 48), samples=1, seed=3, frames=3)
        + ground(1.0)
        + camera((0, 0, 3), (0, 0, 0))
        + sun(location=None)
        + asset("sheet", "plane", 0.3, count=12, label="sheet")
        + f'\n[[randomizers]]\ntype = "scatter"\ntargets = "sheet_*"\n{region}\n'
    )
    cfg = config_from_dict(tomllib.loads(text), Path("test.toml"))
    built = build_scene(cfg)
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    grid = np.stack(np.meshgrid(np.linspace(-0.7, 0.7, 141), np.linspace(-0.7, 0.7, 141)), -1).reshape(-1, 2)
    for f in range(3):
        pose(cfg, built, facts, targets, f)
        placed = shown(built, targets[0])
        assert 1 <= len(placed) < 12, (f, placed)  # 12 x 0.09 m2 cannot lie apart on 1 m2
        assert covered(built, placed, grid).max() == 1, f


def test_a_surface_hidden_this_frame_holds_nothing():
    """A scatter surface hidden this frame (visibility, a pool) was still scattered on: mugs
    stood at the top of a hidden table, 0.72 m up in mid-air in the picture (logged on
    'table'). Now a hidden surface holds nothing: the targets are placed on the surfaces
    shown, and with none shown each is hidden, unplaced."""
    hide_table = '\n[[randomizers]]\ntype = "visibility"\ntargets = "table"\nvisible = false\n'
    for surface, placed_on in (('"table"', None), ('["table", "ground"]', "ground")):
        cfg, built, facts, targets = built_run(
            hide_table + SCATTER_ON_TABLE.replace('surface = "table"', f"surface = {surface}")
        )
        for f in range(3):
            values = sample_frame(cfg.seed, f, cfg.randomizers, targets, facts=facts)[1]["values"]
            assert len(values) == 12
            if placed_on is None:
                assert not any(v["placed"] for v in values.values()), (f, values)
            else:
                assert all(v["placed"] and v["surface"] == "ground" for v in values.values()), (f, values)
                assert all(abs(v["location"][2]) < 0.2 for v in values.values()), (f, values)


@pytest.mark.parametrize("gap", [1e-3, 5e-5, 1e-5])
def test_a_camera_aims_at_a_point_close_to_it(gap):
    """A look_at a few micrometres away (a microscope-scale scene in metres): Blender's
    to_track_quat takes a direction shorter than 1e-4 for none and looked along +Y, so a
    camera at [0, -5, 2] given look_at [1e-5, -5, 2] looked along +Y, not +X."""
    from mathutils import Vector

    from sdg_addon.scene.build import look_at_rotation

    for target, forward in (((gap, -5.0, 2.0), (1, 0, 0)), ((0.0, -5.0 - gap, 2.0 + gap), (0, -0.7071068, 0.7071068))):
        m = look_at_rotation(Vector((0.0, -5.0, 2.0)), target).to_matrix()
        assert np.allclose(-np.array(m.col[2]), forward, atol=1e-4), (target, list(-m.col[2]))
        assert abs(m.col[0][2]) < 1e-6  # level: the image's right side horizontal


@pytest.mark.parametrize(
    "options, warned",
    [("", True), ("min_normal_z = 0.9", False), ('orientation = "normal"', False), ("min_normal_z = 0.01", False)],
)
def test_upright_objects_on_faces_facing_down_or_sideways_are_warned(tmp_path, options, warned):
    """With the default min_normal_z (-1) a scatter on a table drew the underside of its top
    and the sides of its legs too, lifting each upright object off them along their normal:
    8 of 12 mugs hung under the top (z 0.58) or stood off a leg in mid-air, without a word,
    against 'objects rest on it, neither floating nor sinking'. The run now warns, naming the
    share of such faces and min_normal_z; orientation = "normal" aligns to them, as asked."""
    text = (
        header((32, 24), samples=1, seed=5, frames=1)
        + camera((0, -2.2, 1.8), (0, 0, 0.7))
        + asset("table", "table", 1.2)
        + asset("mug", "cylinder", 0.1, count=3, label="mug")
        + f'\n[[randomizers]]\ntype = "scatter"\ntargets = "mug_*"\nsurface = "table"\n{options}\n'
        + "[annotators]\nrgb = {}\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out, "--worker-mode", "inline") == 0
    warnings = json.loads((out / "audit" / "manifest.json").read_text())["warnings"]
    said = [w for w in warnings if w.startswith("randomizers[0] (scatter): ")]
    assert bool(said) == warned, warnings
    if warned:
        assert "of the area it draws on (table) faces down or sideways (min_normal_z = -1)" in said[0]
        assert "min_normal_z = 0.9 keeps to faces that face up" in said[0]


def test_draws_on_a_hidden_surface_are_no_tries():
    """With hidden surfaces left out, a draw landing on one was still a try: three tables, one
    shown, left a third of max_tries to find a place on it (max_tries = 6: about 2 draws,
    several targets hidden a frame). Such draws are no tries now: as many are placed as with the
    shown table alone, and a target's draws stay the same whatever is shown."""
    desks = asset("desk", "table", 1.2, count=3)  # three tables in one place, two hidden
    scatter = SCATTER_ON_TABLE.replace('surface = "table"', 'surface = "desk_*"') + "max_tries = 6\n"
    hide = '\n[[randomizers]]\ntype = "visibility"\ntargets = ["desk_000", "desk_002"]\nvisible = false\n'
    cfg, built, facts, targets = built_run(desks + hide + scatter)
    placed = []
    for f in range(4):
        values = sample_frame(cfg.seed, f, cfg.randomizers, targets, facts=facts)[-1]["values"]
        assert all(v["surface"] == "desk_001" for v in values.values() if v["placed"]), values
        placed.append(sum(v["placed"] for v in values.values()))
    assert min(placed) >= 10, placed  # 12 small objects on one 1.2 m table, 6 tries each
