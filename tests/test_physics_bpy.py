"""Physics settle: objects dropped from a volume come to rest on the table or the ground,
deterministically (the same run twice, a frame alone == that frame of the full run)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from mathutils import Vector  # noqa: E402
from scenes import asset, camera, datablock_counts, ground, header, records, render, sun, write_param  # noqa: E402

SCENE = (
    header((64, 48), samples=1, seed=3, frames=3)
    + ground(3.0)
    + camera((0, -2, 1.6), (0, 0, 0.7))
    + sun(location=None)
    + asset("table", "table", 1.2, distractor=True)
    + asset("box", "cube", 0.1, count=6, label="box")
    + """
[[randomizers]]
type = "scatter"
targets = "box*"
volume = "box"
center = [0.3, 0, 1.1]
size = [1.2, 0.5, 0.3]
orientation = "random"
[[randomizers]]
type = "physics_settle"
targets = "box*"
passive = ["table", "ground"]
[annotators]
instance_segmentation = {}
"""
)
TABLE_TOP = 0.72


def test_settle_rests_on_surfaces_and_is_deterministic(tmp_path):
    param = write_param(tmp_path, SCENE, "drop.toml")
    assert render(param, tmp_path / "a") == 0
    # The scene now shows frame 2 settled: every box lies on the table top or the ground.
    depsgraph = bpy.context.evaluated_depsgraph_get()
    on_table = 0
    for i in range(6):
        obj = bpy.data.objects[f"box_{i:03d}"]
        mesh = obj.evaluated_get(depsgraph).to_mesh()
        z = min((obj.matrix_world @ v.co).z for v in mesh.vertices)
        obj.evaluated_get(depsgraph).to_mesh_clear()
        assert abs(z - TABLE_TOP) < 0.005 or abs(z) < 0.005, (obj.name, z)
        on_table += abs(z - TABLE_TOP) < 0.005
    assert on_table >= 1
    full = records(tmp_path / "a")
    settle = [next(s for s in r["samples"] if s["type"] == "physics_settle") for r in full.values()]
    assert all(v["at_rest"] and v["steps"] < 250 for s in settle for v in s["values"].values())
    assert render(param, tmp_path / "b", "--frames", "1:2") == 0
    alone = records(tmp_path / "b")
    assert alone[1]["samples"] == full[1]["samples"]  # settled poses included
    a = np.array(Image.open(tmp_path / "a" / "instance_segmentation_0001.png"))
    b = np.array(Image.open(tmp_path / "b" / "instance_segmentation_0001.png"))
    assert np.array_equal(a, b)


def test_settle_leaks_no_datablocks(tmp_path):
    param = write_param(tmp_path, SCENE.replace("frames = 3", "frames = 5"), "drop.toml")
    kinds = ("meshes", "materials", "images", "objects", "collections")
    counts = datablock_counts(param, tmp_path / "leak", range(5), kinds)
    assert all(c == counts[1] for c in counts[1:]), counts


def test_settle_simulates_about_the_centre_of_mass(tmp_path):
    """A primitive's origin is the centre of its base; the body must still turn about its
    centre of volume (as BlenderProc's simulation does), not about that origin. A ball
    dropped upside down (origin on top) has no reason to turn over: it lands and stays
    upside down. With the mass at the origin it would roll until the origin is at the
    bottom, like a weeble, and every dropped object would tend to stand upright."""
    scene = (
        header((32, 24), samples=1, seed=1, frames=1)
        + ground(3.0)
        + camera((0, -2, 1), (0, 0, 0))
        + sun(location=None)
        + asset("ball", "sphere", 0.2, label="ball")
        + """
[[randomizers]]
type = "pose"
targets = "ball"
location = [0, 0, 0.5]
rotation = [165, 0, 0]
[[randomizers]]
type = "physics_settle"
targets = "ball"
passive = "ground"
max_steps = 400
"""
    )
    assert render(write_param(tmp_path, scene, "ball.toml"), tmp_path / "out") == 0
    (rec,) = records(tmp_path / "out").values()
    v = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]["ball"]
    assert v["at_rest"], v
    ball = bpy.data.objects["ball"]
    up = ball.matrix_world.to_3x3() @ Vector((0, 0, 1))
    assert up.z < -0.2, (up, v)  # still upside down (it may roll a little on its facets: up.z -0.29)
    centre = ball.matrix_world.translation + 0.1 * up  # the origin is 0.1 below the centre
    assert abs(centre.z - 0.1) < 0.005, v["settled_location"]  # the ball lies on the ground


def test_at_rest_is_said_of_each_target(tmp_path, caplog):
    """A box dropped beside a small ground falls for ever; the one dropped onto it rests.
    The log says so of each (was: of all together, so the resting one read 'not at rest'),
    and the run says which did not come to rest, and where it ended (was: nothing but the
    log's 'at_rest': planes dropped onto the ground passed it and ended 200 m below)."""
    scene = (
        header((32, 24), samples=1, seed=1, frames=1)
        + ground(1.0)
        + camera((0, -3, 1), (0, 0, 0))
        + sun(location=None)
        + asset("box", "cube", 0.2, count=2, label="box")
        + """
[[randomizers]]
type = "pose"
targets = "box_*"
location = { distribution = "sequence", values = [[0, 0, 0.3]] }
[[randomizers]]
type = "pose"
targets = "box_001"
location = [3, 0, 0.3]
[[randomizers]]
type = "physics_settle"
targets = "box_*"
passive = "ground"
max_steps = 120
"""
    )
    caplog.set_level("INFO", logger="sdg")
    assert render(write_param(tmp_path, scene, "two.toml"), tmp_path / "out", quiet=False) == 0
    (rec,) = records(tmp_path / "out").values()
    v = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]
    assert v["box_000"]["at_rest"] and not v["box_001"]["at_rest"], v
    assert rec["not_at_rest"] == ["box_001"]
    err = caplog.text
    assert "frame 0: physics_settle: not at rest after max_steps" in err and "box_001 at z -" in err, err
    assert "box_000 at z" not in err
    assert v["box_000"]["settled_location"][2] == pytest.approx(0.0, abs=0.01)
    assert v["box_001"]["settled_location"][2] < -1


def body_of(proxy) -> str:
    """The object a rigid body stands for: 'sdg_physics_proxies/table (collider 2)' -> table."""
    return proxy.name.split("/")[-1].split(" (collider ")[0]


def test_a_frame_with_hidden_targets_settles_as_alone(tmp_path):
    """Targets hidden in a frame (pool) take no part in its simulation: their proxies leave
    the rigid body world (a disabled body still collides where an earlier frame left it)."""
    text = SCENE.replace("frames = 3", "frames = 2").replace(
        '[[randomizers]]\ntype = "scatter"',
        '[[randomizers]]\ntype = "pool"\ntargets = "box*"\nk = { distribution = "sequence", values = [6, 2] }\n'
        '[[randomizers]]\ntype = "scatter"',
    )
    param = write_param(tmp_path, text, "pool.toml")
    assert render(param, tmp_path / "a") == 0
    full = records(tmp_path / "a")
    settle = next(s for s in full[1]["samples"] if s["type"] == "physics_settle")["values"]
    simulated = {n for n, v in settle.items() if v.get("simulated")}
    assert len(simulated) == 2
    bodies = {body_of(o) for o in bpy.context.scene.rigidbody_world.collection.objects}
    assert bodies == simulated | {"table", "ground"}
    assert render(param, tmp_path / "b", "--frames", "1") == 0
    assert records(tmp_path / "b")[1]["samples"] == full[1]["samples"]


def test_a_frame_settles_as_alone_whatever_the_frames_before_simulated(tmp_path):
    """Bullet's results depend on the order of the world's bodies, and the bodies' collection
    kept the order they were first linked in: boxes 3-5 simulated in frame 0, then 0-5 in
    frame 1, came to rest elsewhere than frame 1 alone (in a shard, after a resume; a mug
    4 cm away off the table in a user's run). The bodies are now linked in one order every
    frame: passive, then active, by name."""
    text = SCENE.replace("frames = 3", "frames = 2").replace(
        '[[randomizers]]\ntype = "scatter"',
        '[[randomizers]]\ntype = "visibility"\ntargets = "box_00[0-2]"\n'
        'visible = { distribution = "sequence", values = [false, true] }\n'
        '[[randomizers]]\ntype = "scatter"',
    )
    param = write_param(tmp_path, text, "order.toml")
    assert render(param, tmp_path / "a") == 0
    bodies = [body_of(o) for o in bpy.context.scene.rigidbody_world.collection.objects]
    bodies = [b for i, b in enumerate(bodies) if i == 0 or b != bodies[i - 1]]  # (a table's pieces)
    assert bodies == ["ground", "table"] + [f"box_{i:03d}" for i in range(6)], bodies
    full = records(tmp_path / "a")
    assert render(param, tmp_path / "b", "--frames", "1") == 0
    assert records(tmp_path / "b")[1]["samples"] == full[1]["samples"]


def test_a_surface_or_collider_another_entry_moves_is_refused(tmp_path, capsys):
    """Scatter surfaces and physics colliders are read once, as built: a pose entry that
    also moves the table (targets = "*") would leave objects floating where the table was.
    Exit 2 naming both entries, nothing written (rendered silently before)."""
    text = SCENE + '\n[[randomizers]]\ntype = "pose"\ntargets = "*"\nrotation = { distribution = "uniform_rotation" }\n'
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text, "moved.toml"), out) == 2
    err = capsys.readouterr().err
    assert "moved.toml: randomizers[1].passive: got [" in err, err
    assert "randomizers[2] (pose) moves ground, table" in err, err
    assert "randomizers[0].surface" not in err  # a volume scatter has no surface
    assert not out.exists()


def test_avoiding_what_another_scatter_places_is_refused_with_the_way_out(tmp_path, capsys):
    """avoid reads the objects as built: avoiding another scatter entry's targets avoided
    where they were built, not where they were placed. Refused, saying what to do instead."""
    text = SCENE.replace('targets = "box*"\nvolume', 'targets = "box_00[0-2]"\navoid = "box_00[3-5]"\nvolume', 1)
    text += '\n[[randomizers]]\ntype = "scatter"\ntargets = "box_00[3-5]"\nsurface = "table"\n'
    assert render(write_param(tmp_path, text, "avoid.toml"), tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "randomizers[0].avoid" in err and "randomizers[2] (scatter) moves box_003, box_004, box_005" in err, err
    assert "scatter them together" in err


@pytest.mark.parametrize(
    "sequence, seconds",
    [("", 1.0), ("[sequence]\nfps = 12\n", 1.0), ("[sequence]\nfps = 12\nclip_length = 2\n", 2.0)],
)
def test_a_step_is_a_frame_at_24_fps_as_max_steps_says(tmp_path, sequence, seconds):
    """A box falling freely for 24 steps falls for about 1 s (g/2 = 4.9 m; 0.8 m at 60 steps
    a second), as the max_steps option's doc says; sequence.fps sets the step in clips only
    (12 fps: 2 s, 19.6 m), not for stills, where the doc had said it did."""
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    doc = RANDOMIZERS["physics_settle"].OPTIONS["max_steps"].doc
    assert "`sequence.fps` in clips" in doc and "else 24 fps (1/24 s), whatever `sequence.fps` says" in doc
    frames = 2 if "clip_length" in sequence else 1
    scene = (
        header((32, 24), samples=1, seed=1, frames=frames)
        + camera((0, -30, 5), (0, 0, 5))
        + sun(location=None)
        + asset("box", "cube", 0.2, label="box")
        + sequence
        + """
[scene]
ground = false
[[randomizers]]
type = "pose"
targets = "box"
location = [0, 0, 30]
[[randomizers]]
type = "physics_settle"
targets = "box"
passive = []
max_steps = 24
damping = 0
"""
    )
    assert render(write_param(tmp_path, scene, "fall.toml"), tmp_path / "out") == 0
    rec = records(tmp_path / "out")[0]
    v = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]["box"]
    fall = 9.81 / 2 * seconds**2
    assert v["steps"] == 24 and 0.85 * fall < 30 - v["settled_location"][2] < 1.1 * fall, v


def test_a_target_under_a_keyed_parent_renders_where_it_came_to_rest(tmp_path):
    """A .blend's box (its own labels: an entity) under an empty keyed to move 1.5 m over
    frames 1..50: settling steps the scene frames, and the settled world pose was set as the
    box's own at the last step's frame, where the empty had moved on, so back at frame 1 the
    box stood 0.8 m from where it came to rest (its labels with it). Now the box, its pose
    label and the log agree, on the floor; a box under an empty moved once (not keyed) too."""
    import json
    import math

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 50
    bpy.ops.mesh.primitive_plane_add(size=10)
    bpy.context.object.name = "floor"
    bpy.context.object["semantics"] = {"class": ["floor"]}
    parents = {}
    for name, parent in (("box_keyed", "cart"), ("box_moved", "shelf")):
        bpy.ops.mesh.primitive_cube_add(size=0.2)
        box = bpy.context.object
        box.name, box["semantics"] = name, {"class": ["box"]}
        parents[name] = bpy.data.objects.new(parent, None)
        scene.collection.objects.link(parents[name])
        box.parent = parents[name]
    bpy.data.objects["box_keyed"].location = (0, 0, 0.5)
    cart = parents["box_keyed"]
    cart.location = (-0.5, 0.5, 0)
    cart.keyframe_insert("location", frame=1)
    cart.location = (1.0, 0.5, 0)
    cart.keyframe_insert("location", frame=50)
    parents["box_moved"].location, parents["box_moved"].rotation_euler = (0.5, -0.5, 0.6), (0, 0, math.radians(40))
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 3), (math.radians(55), 0, 0)
    scene.frame_set(1)
    blend = tmp_path / "cart.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    text = (
        f'[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
        '[[randomizers]]\ntype = "physics_settle"\ntargets = "box_*"\npassive = "floor"\n'
        "[annotators]\nobject_pose = {}\n"
    )
    assert render(write_param(tmp_path, text, "cart.toml"), tmp_path / "out") == 0
    (rec,) = records(tmp_path / "out").values()
    settled = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]
    info = json.loads((tmp_path / "out" / "object_pose_info_0000.json").read_text())
    poses = dict(zip(info["primPaths"], np.load(tmp_path / "out" / "object_pose_objectToWorld_0000.npy")))
    for name, parent in (("box_keyed", "cart"), ("box_moved", "shelf")):
        v = settled[name]
        assert v["at_rest"] and abs(v["settled_location"][2] - 0.1) < 0.005, (name, v)
        where = poses[f"/{parent}/{name}"][:3, 3]
        assert np.allclose(where, v["settled_location"], atol=1e-4), (name, where, v["settled_location"])
        assert np.allclose(bpy.data.objects[name].matrix_world.translation, where, atol=1e-4)


def test_a_target_with_a_constraint_is_refused_before_anything_is_written(tmp_path, capsys):
    """A .blend's box under a Limit Location (min z 0.4): it settled at z 0.1, as its log
    said, and rendered at z 0.4, its labels with it. Refused (exit 2, naming the box and its
    constraint), nothing written; the box without the constraint settles."""
    import math

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_plane_add(size=10)
    bpy.context.object.name = "floor"
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 0, 0.5))
    box = bpy.context.object
    box.name, box["semantics"] = "box", {"class": ["box"]}
    limit = box.constraints.new("LIMIT_LOCATION")
    limit.name, limit.use_min_z, limit.min_z = "Limit Location", True, 0.4
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 3), (math.radians(55), 0, 0)
    blends = {}
    for name, enabled in (("limited", True), ("free", False)):
        limit.enabled = enabled
        blends[name] = tmp_path / f"{name}.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blends[name]), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    def param(blend):
        return write_param(
            tmp_path,
            f'[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
            f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
            '[[randomizers]]\ntype = "physics_settle"\ntargets = "box"\npassive = "floor"\n',
            f"{blend.stem}.toml",
        )

    assert render(param(blends["limited"]), tmp_path / "limited_out") == 2
    err = capsys.readouterr().err
    assert 'limited.toml: randomizers[0].targets: got ["box"]' in err, err
    assert "'box' has constraints ('Limit Location') that would move or turn it" in err, err
    assert not (tmp_path / "limited_out").exists()
    assert render(param(blends["free"]), tmp_path / "free_out") == 0
    (rec,) = records(tmp_path / "free_out").values()
    v = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]["box"]
    assert abs(v["settled_location"][2] - 0.1) < 0.005, v


def test_a_blends_own_rigid_body_world_is_not_replaced_silently(tmp_path, capsys):
    """A .blend whose rigid-body world drops a cube from z = 3 over the clip: a physics_settle
    entry for another object replaced that world with its own, and the cube stayed at z = 3
    in every frame. Refused (exit 2, naming the .blend's bodies and the way out), nothing
    written; without the entry the cube falls; an entry that settles the .blend's bodies
    themselves (onto its floor) is fine."""
    import math

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 50
    bpy.ops.mesh.primitive_plane_add(size=10)
    bpy.context.object.name = "floor"
    bpy.ops.rigidbody.world_add()
    bpy.ops.rigidbody.object_add(type="PASSIVE")
    bpy.ops.mesh.primitive_cube_add(size=0.4, location=(-1, 0, 3))
    bpy.context.object.name = "debris"
    bpy.ops.rigidbody.object_add(type="ACTIVE")
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(1, 0, 1))
    bpy.context.object.name, bpy.context.object["semantics"] = "box", {"class": ["box"]}
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -6, 2), (math.radians(80), 0, 0)
    scene.frame_set(1)
    blend = tmp_path / "world.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    text = (
        '[run]\nframes = 6\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n[sequence]\nclip_length = 6\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
    )
    settle = '[[randomizers]]\ntype = "physics_settle"\ntargets = "box"\npassive = "floor"\n'
    assert render(write_param(tmp_path, text + settle, "settle.toml"), tmp_path / "settle_out") == 2
    err = capsys.readouterr().err
    assert 'settle.toml: randomizers[0].type: got "physics_settle"' in err, err
    assert "own rigid-body world simulates 'debris':" in err and "Rigid Body World" in err, err  # (the floor: passive)
    assert not (tmp_path / "settle_out").exists()
    assert render(write_param(tmp_path, text, "plain.toml"), tmp_path / "plain_out") == 0
    assert bpy.data.objects["debris"].matrix_world.translation.z < 2.9  # it fell
    # settling the .blend's own bodies (the debris onto the floor) loses nothing
    own = settle.replace('targets = "box"', 'targets = ["box", "debris"]')
    assert render(write_param(tmp_path, text + own, "own.toml"), tmp_path / "own_out") == 0


def test_a_collider_hidden_this_frame_holds_nothing(tmp_path):
    """The table, a passive collider, hidden this frame by a visibility entry: the boxes
    came to rest on its top, 0.72 m up in mid-air in the picture. A hidden collider takes no
    part (as clip physics leaves hidden objects out): every box rests on the ground (or on
    another box), and the log's passive list names the ground alone."""
    hide = '[[randomizers]]\ntype = "visibility"\ntargets = "table"\nvisible = false\n'
    text = SCENE.replace("frames = 3", "frames = 1").replace("[[randomizers]]", hide + "[[randomizers]]", 1)
    assert render(write_param(tmp_path, text, "hidden.toml"), tmp_path / "out") == 0
    (rec,) = records(tmp_path / "out").values()
    settled = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]
    assert all(v["passive"] == ["ground"] for v in settled.values()), settled
    for name, v in settled.items():
        assert v["at_rest"] and v["settled_location"][2] < 0.4, (name, v["settled_location"])


def test_placing_a_keyed_object_in_a_clip_is_refused(tmp_path, capsys):
    """A .blend's box keyed to move: in a clip, a `pose` location of [1, 0, 1] (or a
    physics_settle) showed in no frame, each frame playing the keys, while the log said it
    was placed. Refused in a sequence (exit 2, naming the box), nothing written; in a still
    too, whose render plays the keys at the scene's frame (its image byte for byte as
    without the entry, object_pose saying [1, 0, 1]; a camera_relative likewise); a box
    keyed in scale only is placed in every frame of the clip, and refused a pose scale."""
    import json
    import math

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 50
    for name in ("moving", "growing"):
        bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 0, 0.5))
        box = bpy.context.object
        box.name, box["semantics"] = name, {"class": ["box"]}
    moving, growing = bpy.data.objects["moving"], bpy.data.objects["growing"]
    moving.keyframe_insert("location", frame=1)
    moving.location = (0.3, 0, 0.5)
    moving.keyframe_insert("location", frame=20)
    growing.keyframe_insert("scale", frame=1)
    growing.scale = (2, 2, 2)
    growing.keyframe_insert("scale", frame=20)
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 3), (math.radians(55), 0, 0)
    lamp = bpy.data.objects.new("Lamp", bpy.data.lights.new("Lamp", "POINT"))
    scene.collection.objects.link(lamp)
    lamp.keyframe_insert("location", frame=1)
    scene.frame_set(1)
    blend = tmp_path / "keyed.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    def param(name, clip_length, entry):
        text = (
            f'[run]\nframes = {clip_length}\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
            f"[sequence]\nclip_length = {clip_length}\n"
            f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n[[randomizers]]\n{entry}\n'
            "[annotators]\nobject_pose = {}\n"
        )
        return write_param(tmp_path, text, f"{name}.toml")

    for kind, entry in (
        ("pose", 'type = "pose"\ntargets = "moving"\nlocation = [1, 0, 1]'),
        ("settle", 'type = "physics_settle"\ntargets = "moving"\npassive = []'),
    ):
        assert render(param(kind, 3, entry), tmp_path / f"{kind}_out") == 2
        err = capsys.readouterr().err
        assert f'{kind}.toml: randomizers[0].targets: got ["moving"]' in err, err
        assert "'moving' is animated, and each frame of a clip plays the scene's animation" in err, err
        assert not (tmp_path / f"{kind}_out").exists()
    for kind, entry, target, keys in (
        ("still", 'type = "pose"\ntargets = "moving"\nlocation = [1, 0, 1]', "moving", "location and rotation"),
        ("relative", 'type = "camera_relative"\ntargets = "moving"\ndepth = 2', "moving", "location and rotation"),
        ("grown", 'type = "pose"\ntargets = "growing"\nscale = 0.5', "growing", "scale"),
        ("grown_near", 'type = "camera_relative"\ntargets = "growing"\ndepth = 2\nscale = 0.5', "growing", "scale"),
        # a keyed light placed in the view: lit from its keyed place (x 0.1 and 0.9 alike)
        ("lamp", 'type = "camera_relative"\ntargets = "Lamp"\ndepth = 2', "Lamp", "location and rotation"),
    ):
        assert render(param(kind, 1, entry), tmp_path / kind) == 2
        err = capsys.readouterr().err
        assert f'{kind}.toml: randomizers[0].targets: got ["{target}"]' in err, err
        assert f"objects whose {keys}" in err and "in stills as in clips" in err, err
        assert not (tmp_path / kind).exists()
    assert (
        render(param("scaled", 3, 'type = "pose"\ntargets = "growing"\nlocation = [1, 0, 1]'), tmp_path / "grow") == 0
    )
    for i in range(3):
        folder = tmp_path / "grow" / "clip_0000"
        info = json.loads((folder / f"object_pose_info_{i:04d}.json").read_text())
        poses = dict(zip(info["primPaths"], np.load(folder / f"object_pose_objectToWorld_{i:04d}.npy")))
        assert np.allclose(poses["/growing"][:3, 3], [1, 0, 1], atol=1e-6), (i, poses["/growing"])


def one_entry_on_blend(tmp_path, blend, name: str, entry: str):
    """A one-frame 32 x 24 parameter file NAME.toml recording `blend`'s CamA with one
    randomizer entry (its TOML lines)."""
    text = (
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n[[randomizers]]\n{entry}\n'
    )
    return write_param(tmp_path, text, f"{name}.toml")


def test_showing_or_hiding_an_object_whose_render_visibility_is_keyed_is_refused(tmp_path, capsys):
    """A .blend's box with Visibility > Renders keyed: a visibility entry's `visible = false`
    hid it from the masks and boxes while its keys showed it in the image (the box's pixels
    where the labels had none), in a still. Refused (exit 2, naming it) for the entries that
    show and hide their targets, nothing written; an unkeyed box is hidden as before."""
    import math

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    for name in ("keyed", "plain"):
        bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 0, 0.5))
        box = bpy.context.object
        box.name, box["semantics"] = name, {"class": ["box"]}
    bpy.data.objects["keyed"].keyframe_insert("hide_render", frame=1)
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 3), (math.radians(55), 0, 0)
    blend = tmp_path / "shown.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    def param(name, entry):
        return one_entry_on_blend(tmp_path, blend, name, entry)

    for kind, entry in (
        ("hide", 'type = "visibility"\ntargets = "keyed"\nvisible = false'),
        ("pool", 'type = "pool"\ntargets = ["keyed", "plain"]\nk = 1'),
    ):
        assert render(param(kind, entry), tmp_path / kind) == 2
        err = capsys.readouterr().err
        assert f'{kind}.toml: randomizers[0].targets: got ["keyed"]' in err, err
        assert "objects whose visibility in renders is not keyed: 'keyed'" in err, err
        assert not (tmp_path / kind).exists()
    assert render(param("plain", 'type = "visibility"\ntargets = "plain"\nvisible = false'), tmp_path / "p") == 0


def test_colouring_an_object_whose_colour_is_keyed_is_refused(tmp_path, capsys):
    """A .blend's box with its colour (Object Info > Color, what the add-on's materials show)
    keyed green: a material entry's red and blue rendered the same green image, the log
    saying each. Refused (exit 2) for material and procedural_texture colours; a roughness
    alone is fine."""
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 0, 0.5))
    box = bpy.context.object
    box.name, box["semantics"], box.color = "box", {"class": ["box"]}, (0, 1, 0, 1)
    box.keyframe_insert("color", frame=1)
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    bpy.context.scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 0.5), (1.5708, 0, 0)
    blend = tmp_path / "green.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    def param(name, entry):
        return one_entry_on_blend(tmp_path, blend, name, entry)

    for kind in ("material", "procedural_texture"):
        assert render(param(kind, f'type = "{kind}"\ntargets = "box"\ncolor = [1, 0, 0]'), tmp_path / kind) == 2
        err = capsys.readouterr().err
        assert f'{kind}.toml: randomizers[0].targets: got ["box"]' in err, err
        assert "objects whose colour is not keyed: 'box'" in err, err
        assert not (tmp_path / kind).exists()
    assert render(param("rough", 'type = "material"\ntargets = "box"\nroughness = 0.2'), tmp_path / "r") == 0


def test_moving_or_placing_a_keyed_object_or_camera_is_refused(tmp_path, capsys):
    """A .blend's box keyed to move 0.1 m a frame along x, and its camera keyed too: a
    `trajectory` on the box (a `camera_trajectory` on the camera) keyed its motion into the
    object's own animation and then cleared it, so the box moved only along the
    trajectory's y, its own x motion gone (x 0 in every frame of both clips) and the log
    silent. Refused (exit 2, naming the object), in clips and in stills (whose motion is
    keyed around the frame too); an unkeyed box takes its trajectory as before."""
    import math

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, 50
    for name in ("moving", "still"):
        bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 0, 0.5))
        box = bpy.context.object
        box.name, box["semantics"] = name, {"class": ["box"]}
    moving = bpy.data.objects["moving"]
    moving.keyframe_insert("location", frame=1)
    moving.location = (2.3, 0, 0.5)
    moving.keyframe_insert("location", frame=24)
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 3), (math.radians(55), 0, 0)
    cam.keyframe_insert("location", frame=1)
    cam.location = (0, -3, 3)
    cam.keyframe_insert("location", frame=24)
    cam.data.keyframe_insert("lens", frame=1)  # a zoom
    lamp = bpy.data.objects.new("Lamp", bpy.data.lights.new("Lamp", "POINT"))
    scene.collection.objects.link(lamp)
    lamp.location = (0, 0, 3)
    lamp.keyframe_insert("location", frame=1)
    lamp.location = (0, 0, 5)
    lamp.keyframe_insert("location", frame=24)
    bulb = bpy.data.objects.new("Bulb", bpy.data.lights.new("Bulb", "POINT"))  # its energy keyed (a flicker)
    scene.collection.objects.link(bulb)
    bulb.data.keyframe_insert("energy", frame=1)
    scene.frame_set(1)
    blend = tmp_path / "keyed.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    def param(name, clip_length, entry):
        text = (
            f'[run]\nframes = {clip_length}\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
            f"[sequence]\nclip_length = {clip_length}\n"
            f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n[[randomizers]]\n{entry}\n'
            "[annotators]\nobject_pose = {}\n"
        )
        return write_param(tmp_path, text, f"{name}.toml")

    for kind, clip_length, entry, target in (
        ("box", 3, 'type = "trajectory"\ntargets = "moving"\nvelocity = [0, 2.4, 0]', "moving"),
        ("box_still", 1, 'type = "trajectory"\ntargets = "moving"\nvelocity = [0, 2.4, 0]', "moving"),
        ("cam", 3, 'type = "camera_trajectory"\ntargets = "CamA"\nvelocity = [0, 2.4, 0]', "CamA"),
    ):
        assert render(param(kind, clip_length, entry), tmp_path / f"{kind}_out") == 2
        err = capsys.readouterr().err
        assert f'{kind}.toml: randomizers[0].targets: got ["{target}"]' in err, err
        assert f"'{target}' is animated, and the " in err and "would replace its own animation" in err, err
        assert not (tmp_path / f"{kind}_out").exists()
    entry = 'type = "trajectory"\ntargets = "still"\nvelocity = [0, 2.4, 0]'
    assert render(param("unkeyed", 3, entry), tmp_path / "unkeyed") == 0
    # A keyed camera placed or aimed by a camera / camera_look_at entry stood where its keys
    # put it, in clips and stills alike (log: [3, -6, 2]; camera_params: [0, -4, 3]).
    place = 'type = "camera"\ntargets = "CamA"\nlocation = [3, -6, 2]\nlook_at = [0, 0, 0]'
    aim = 'type = "camera_look_at"\ntargets = "CamA"\nlook_at = "still"\ndistance = 3'
    # ... and a keyed light a light entry places (lit from its keyed place, the log saying otherwise)
    lit = 'type = "light"\ntargets = "Lamp"\nlocation = [0, -3, 1]'
    for kind, clip_length, entry, target in (
        ("place", 3, place, "CamA"),
        ("place_still", 1, place, "CamA"),
        ("aim_still", 1, aim, "CamA"),
        ("lamp_still", 1, lit, "Lamp"),
    ):
        assert render(param(kind, clip_length, entry), tmp_path / f"{kind}_out") == 2
        err = capsys.readouterr().err
        assert f'{kind}.toml: randomizers[0].targets: got ["{target}"]' in err, err
        assert f"'{target}' is animated, and its keys put it back when the frame renders" in err, err
        assert not (tmp_path / f"{kind}_out").exists()
    # Its lens is keyed too (a zoom): a focal length set by camera or sensor was set back.
    for kind, entry in (
        ("lens", 'type = "camera"\ntargets = "CamA"\nfocal_length = 50'),
        ("zoom", 'type = "sensor"\ntargets = "CamA"\nfocal_length = 50'),
    ):
        assert render(param(kind, 1, entry), tmp_path / f"{kind}_out") == 2
        err = capsys.readouterr().err
        assert "'CamA' has it keyed or driven (lens), and the animation sets it back" in err, err
    f_stop = 'type = "sensor"\ntargets = "CamA"\nf_stop = 2.8'
    assert render(param("f_stop", 1, f_stop), tmp_path / "f_stop") == 0
    energy = 'type = "light"\ntargets = "Lamp"\nenergy = 800'
    assert render(param("energy", 1, energy), tmp_path / "energy") == 0
    # A light whose energy is keyed: an entry's energy was set back by the keys (energy 0
    # rendered lit as before); its colour is not keyed and is set.
    flicker = 'type = "light"\ntargets = "Bulb"\nenergy = 0'
    assert render(param("flicker", 1, flicker), tmp_path / "flicker_out") == 2
    err = capsys.readouterr().err
    assert "'Bulb' has it keyed or driven (energy), and the animation sets it back" in err, err
    tint = 'type = "light"\ntargets = "Bulb"\ncolor = [1, 0.5, 0.5]'
    assert render(param("tint", 1, tint), tmp_path / "tint") == 0


def test_moving_objects_after_they_settled_is_warned(tmp_path):
    """A scatter after physics_settle on the same boxes placed them after they had come to
    rest: they rendered in mid-air where the scatter put them (z 0.15 .. 0.63 above the
    ground), the simulation unseen, without a word. The run now warns, naming both entries;
    in the documented order it says nothing of the kind."""
    settle = '\n[[randomizers]]\ntype = "physics_settle"\ntargets = "box*"\npassive = ["table", "ground"]\n'
    scatter = (
        '\n[[randomizers]]\ntype = "scatter"\ntargets = "box*"\nvolume = "box"\n'
        'center = [0.3, 0, 1.1]\nsize = [1.2, 0.5, 0.3]\norientation = "random"\n'
    )
    base = SCENE.split("\n[[randomizers]]")[0].replace("frames=3", "frames=1")
    for order, warned in ((settle + scatter, True), (scatter + settle, False)):
        out = tmp_path / ("warned" if warned else "quiet")
        text = base + order + "[annotators]\nrgb = {}\n"
        assert render(write_param(tmp_path, text), out, "--frames", "0:1") == 0
        warnings = json.loads((out / "audit" / "manifest.json").read_text())["warnings"]
        said = [w for w in warnings if "(physics_settle) let them come to rest" in w]
        assert bool(said) == warned, warnings
        if warned:
            assert said[0].startswith("randomizers[1] (scatter) moves box_000, box_001, box_002, box_003, box_004 and")
            assert "put physics_settle after the entries that place its targets" in said[0]


def lowest_point(name: str) -> Vector:
    """The object's lowest vertex in world space, as rendered."""
    obj = bpy.data.objects[name]
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = obj.evaluated_get(depsgraph).to_mesh()
    low = min((obj.matrix_world @ v.co for v in mesh.vertices), key=lambda p: p.z)
    obj.evaluated_get(depsgraph).to_mesh_clear()
    return low


def test_flat_and_box_shaped_objects_rest_on_the_surface_where_they_fell(tmp_path):
    """Colliders were bare triangles (the ground's two), which have no inside: a plane, a card
    or a coin dropped onto the ground passed through it between two substeps and fell for
    ever, a plane dropped onto the table came to rest inside its top, a 1 m cube dropped flat
    slid 15-57 cm on the seam of the ground's triangles, and every body rested 2 mm up (two
    margins). A flat collider is now a solid below its surface, a convex piece its hull, a
    box Bullet's box (boxes land flat on boxes); colliders have no margin. As docs say: a box
    rests on the surface within 0.1 mm where it fell (within 1 mm), any other body at most
    1.2 mm above it (its 1 mm margin), and nothing ends below it."""
    drops = {  # name: primitive, size, scale, where its base starts
        "cube": ("cube", 1.0, 1, (-2, -2, 1.0)),
        "die": ("cube", 0.05, 1, (0, -2, 1.0)),
        "box": ("cube", 0.2, 1, (2, -2, 0.3)),
        "book": ("cube", 0.25, [1, 0.75, 0.12], (-2, 0, 0.5)),
        "card": ("cube", 0.1, [1, 0.6, 0.02], (0, 0, 1.0)),
        "sheet": ("plane", 0.2, 1, (2, 0, 1.0)),
        "coin": ("cylinder", 0.03, [1, 1, 0.1], (-2, 2, 0.3)),
        "leaf": ("plane", 0.15, 1, (0.35, 2, 0.9)),  # onto the table
    }
    scene = (
        header((32, 24), samples=1, seed=1, frames=1)
        + ground(6.0)
        + camera((0, -6, 3), (0, 0, 0))
        + sun(location=None)
        + asset("table", "table", 1.2, distractor=True, location=[0, 2, 0])
        + "".join(asset(n, p, s) for n, (p, s, _scale, _at) in drops.items())
        + "".join(
            f'\n[[randomizers]]\ntype = "pose"\ntargets = "{n}"\nlocation = {list(at)}\nrotation = [0, 0, 0]\n'
            f"scale = {scale}\n"
            for n, (_p, _s, scale, at) in drops.items()
        )
        + f"""
[[randomizers]]
type = "physics_settle"
targets = {json.dumps(list(drops))}
passive = ["table", "ground"]
"""
    )
    assert render(write_param(tmp_path, scene, "flat.toml"), tmp_path / "out") == 0
    (rec,) = records(tmp_path / "out").values()
    values = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]
    assert all(v["at_rest"] for v in values.values()), values
    for name, (primitive, _size, _scale, at) in drops.items():
        low = lowest_point(name)
        surface = TABLE_TOP if name == "leaf" else 0.0
        if primitive == "cube":  # box on box: on the surface, where it fell
            assert abs(low.z - surface) <= 1e-4, (name, low)
            moved = Vector(bpy.data.objects[name].matrix_world.translation.xy) - Vector(at[:2])
            assert moved.length <= 1e-3, (name, moved)
        else:  # a convex hull: up to its 1 mm margin above the surface, never below it
            assert 0.0 <= low.z - surface <= 0.0012, (name, low)


@pytest.mark.parametrize("turn", [90, -90])
def test_a_wall_beside_a_dropped_box_leaves_it_where_it_fell(tmp_path, turn):
    """A flat collider facing up is given depth below it; a wall (a plane turned about X) is
    not: the depth would lie on the side its faces do not face, the room for a wall turned
    -90 degrees, and a box dropped 5 cm from it was pushed 1.08 m away."""
    scene = (
        header((32, 24), samples=1, seed=1, frames=1)
        + ground(6.0)
        + camera((0, -4, 1), (0, 0, 0))
        + sun(location=None)
        + asset("wall", "plane", 2.0, distractor=True, location=[0, -1, 1], rotation=[turn, 0, 0])
        + asset("box", "cube", 0.2, label="box")
        + """
[[randomizers]]
type = "pose"
targets = "box"
location = [0, -0.85, 0.5]
[[randomizers]]
type = "physics_settle"
targets = "box"
passive = ["wall", "ground"]
"""
    )
    assert render(write_param(tmp_path, scene, "wall.toml"), tmp_path / "out") == 0
    (rec,) = records(tmp_path / "out").values()
    v = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]["box"]
    assert v["at_rest"], v
    assert v["settled_location"] == pytest.approx([0, -0.85, 0], abs=1e-3), v


def test_the_targets_not_at_rest_are_named_ten_and_how_many_more(tmp_path, caplog):
    """12 boxes dropped beside the ground fall for ever: the run names ten of them and how many
    more (400 balls rolling off a ground made a line of 200 names), the frame's log all 12;
    the line no longer says that a flat object passes a collider (a flat one holds it)."""
    scene = (
        header((32, 24), samples=1, seed=1, frames=1)
        + ground(1.0)
        + camera((0, -3, 1), (0, 0, 0))
        + sun(location=None)
        + asset("box", "cube", 0.1, count=12, label="box")
        + """
[[randomizers]]
type = "pose"
targets = "box_*"
location = { distribution = "uniform", low = [3, -2, 0.2], high = [5, 2, 0.3] }
[[randomizers]]
type = "physics_settle"
targets = "box_*"
passive = "ground"
max_steps = 20
"""
    )
    caplog.set_level("INFO", logger="sdg")
    assert render(write_param(tmp_path, scene, "off.toml"), tmp_path / "out", quiet=False) == 0
    (rec,) = records(tmp_path / "out").values()
    assert rec["not_at_rest"] == [f"box_{i:03d}" for i in range(12)]
    (line,) = [r.getMessage() for r in caplog.records if "not at rest after max_steps" in r.getMessage()]
    assert line.count(" at z ") == 10 and line.endswith(", and 2 more"), line
    assert "a flat or thin object" not in line and "neither flat nor convex" in line, line


def test_settling_many_targets_says_the_time_it_takes_once(tmp_path, caplog):
    """400 boxes and balls took four minutes a frame to settle, in silence (the progress line
    comes after the frame); from 100 targets the run says so once, before the first."""
    scene = (
        header((32, 24), samples=1, seed=1, frames=2)
        + ground(4.0)
        + camera((0, -3, 1), (0, 0, 0))
        + sun(location=None)
        + asset("box", "cube", 0.05, count=100, label="box")
        + """
[[randomizers]]
type = "scatter"
targets = "box_*"
volume = "box"
center = [0, 0, 1]
size = [1.5, 1.5, 1]
[[randomizers]]
type = "physics_settle"
targets = "box_*"
passive = "ground"
max_steps = 2
"""
    )
    caplog.set_level("INFO", logger="sdg")
    assert render(write_param(tmp_path, scene, "many.toml"), tmp_path / "out", quiet=False) == 0
    said = [r.getMessage() for r in caplog.records if "targets simulated together" in r.getMessage()]
    assert said == [
        "physics_settle: 100 targets simulated together, up to 2 steps a frame: the time grows faster than their "
        "number (on one CPU core 100 boxes and balls took 26 s a frame, 400 four minutes)"
    ], said
    caplog.clear()
    fewer = scene.replace("count=100", "count=99").replace("count = 100", "count = 99")
    assert render(write_param(tmp_path, fewer, "fewer.toml"), tmp_path / "fewer", quiet=False) == 0
    assert not [r for r in caplog.records if "targets simulated together" in r.getMessage()]


def test_a_scene_in_centimetres_rests_its_bodies_a_millimetre_up(tmp_path):
    """The margin and a flat collider's depth are metres whatever the unit scale: in a .blend
    in centimetres a ball rests 0.1 units (1 mm) above the floor, a box on it; its gravity is
    the scene's, in Blender units (9.81 units/s2: a fall takes ten times as long), as in Blender."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.unit_settings.scale_length = 0.01
    bpy.ops.mesh.primitive_plane_add(size=400)
    bpy.context.object.name = "floor"
    bpy.ops.mesh.primitive_uv_sphere_add(radius=5, location=(-50, 0, 30))
    bpy.context.object.name = "ball"
    bpy.ops.mesh.primitive_cube_add(size=10, location=(50, 0, 30))
    bpy.context.object.name = "box"
    bpy.ops.object.camera_add(location=(0, -300, 150), rotation=(1.2, 0, 0))
    scene.camera = bpy.context.object
    blend = tmp_path / "cm.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_homefile(use_empty=True)
    param = write_param(
        tmp_path,
        header((32, 24), samples=1, seed=1, frames=1)
        + f'\n[scene]\nblend = "{blend.as_posix()}"\n'
        + '\n[[randomizers]]\ntype = "physics_settle"\ntargets = ["ball", "box"]\npassive = "floor"\n',
        "cm.toml",
    )
    assert render(param, tmp_path / "out") == 0
    (rec,) = records(tmp_path / "out").values()
    values = next(s for s in rec["samples"] if s["type"] == "physics_settle")["values"]
    assert all(v["at_rest"] for v in values.values()), values
    assert 0.05 <= lowest_point("ball").z <= 0.12, lowest_point("ball")  # 1 mm: 0.1 units, not 0.001
    assert abs(lowest_point("box").z) <= 1e-3, lowest_point("box")
    assert values["ball"]["steps"] > 60  # 30 units at 9.81 units/s2: 2.5 s, 60 steps at 24 fps


@pytest.mark.parametrize("friction, holds", [(0.58, False), (0.65, True)])
def test_a_ramp_holds_a_box_when_the_product_of_their_frictions_exceeds_its_slope(tmp_path, friction, holds):
    """Bullet's contact friction is the product of the two bodies' (both take `friction`):
    a 20 degree ramp (tan 0.364) lets a box slide down at 0.58 (0.336), holds it at 0.65
    (0.4225), as parameters.md says; where it holds, the box lies on the ramp (within 0.1 mm)."""
    scene = (
        header((32, 24), samples=1, seed=1, frames=1)
        + ground(8.0)
        + camera((0, -4, 2), (0, 0, 0))
        + sun(location=None)
        + asset("ramp", "plane", 3.0, distractor=True, location=[0, 0, 1], rotation=[20, 0, 0])
        + asset("box", "cube", 0.2, label="box")
        + f"""
[[randomizers]]
type = "pose"
targets = "box"
location = [0, 0, 1.3]
[[randomizers]]
type = "physics_settle"
targets = "box"
passive = ["ramp", "ground"]
friction = {friction}
"""
    )
    assert render(write_param(tmp_path, scene, "ramp.toml"), tmp_path / "out") == 0
    box = bpy.data.objects["box"]
    normal = Vector((0, -np.sin(np.radians(20)), np.cos(np.radians(20))))
    depsgraph = bpy.context.evaluated_depsgraph_get()
    mesh = box.evaluated_get(depsgraph).to_mesh()
    above = min((box.matrix_world @ v.co - Vector((0, 0, 1))).dot(normal) for v in mesh.vertices)
    box.evaluated_get(depsgraph).to_mesh_clear()
    assert (abs(above) <= 1e-4) == holds, above
    assert (box.matrix_world.translation.z > 0.5) == holds, box.matrix_world.translation


def test_a_subdivided_floor_is_a_box_of_its_outline(tmp_path):
    """A flat collider of many faces (a .blend's floor of 100 x 100 squares) was given depth
    as the hull of all its points (10,201 above, as many below: a ground of 300 x 300 squares
    took 3.8 s a frame to rebuild), and as a hull, not Bullet's box; its depth is now made of
    its outline's corners: a box of 8 for a rectangle, a prism for a hexagon. Boxes rest on
    both, where they fell."""
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.mesh.primitive_grid_add(x_subdivisions=100, y_subdivisions=100, size=4)
    bpy.context.object.name = "floor"
    bpy.ops.mesh.primitive_circle_add(vertices=6, radius=0.5, fill_type="NGON", location=(3, 0, 0.5))
    bpy.context.object.name = "shelf"
    for name, x, z in (("box", 0, 1.0), ("crate", 3, 1.2)):
        bpy.ops.mesh.primitive_cube_add(size=0.2, location=(x, 0, z))
        bpy.context.object.name = name
    bpy.ops.object.camera_add(location=(0, -6, 3), rotation=(1.1, 0, 0))
    bpy.context.scene.camera = bpy.context.object
    blend = tmp_path / "floor.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_homefile(use_empty=True)
    param = write_param(
        tmp_path,
        header((32, 24), samples=1, seed=1, frames=1)
        + f'\n[scene]\nblend = "{blend.as_posix()}"\n'
        + '\n[[randomizers]]\ntype = "physics_settle"\ntargets = ["box", "crate"]\npassive = ["floor", "shelf"]\n',
        "floor.toml",
    )
    assert render(param, tmp_path / "out") == 0
    shapes = {
        body_of(o): (o.rigid_body.collision_shape, len(o.data.vertices))
        for o in bpy.context.scene.rigidbody_world.collection.objects
        if o.rigid_body.type == "PASSIVE"
    }
    assert shapes == {"floor": ("BOX", 8), "shelf": ("CONVEX_HULL", 12)}, shapes
    for name, surface, x in (("box", 0.0, 0), ("crate", 0.5, 3)):
        low = lowest_point(name)
        assert abs(low.z - surface) <= 1e-4, (name, low)
        assert abs(bpy.data.objects[name].matrix_world.translation.x - x) <= 1e-3


def test_a_card_still_rocking_on_an_edge_is_not_at_rest(tmp_path):
    """At rest was judged by the centre's speed: a card dropped from 1.5 m still rocking on an
    edge (its centre all but still) was taken to be at rest after 177 steps and rendered
    tilted 0.54 degrees; a body now moves as fast as its bounding box's fastest corner (0.15
    degrees, 198 steps), and with rest_speed = 0.0001 it lies flat."""
    scene = (
        header((32, 24), samples=1, seed=1, frames=1)
        + ground(4.0)
        + camera((0, -3, 1), (0, 0, 0))
        + sun(location=None)
        + asset("card", "cube", 1.0, label="card")
        + """
[[randomizers]]
type = "pose"
targets = "card"
location = [0, 0, 1.5]
scale = [0.1, 0.06, 0.002]
[[randomizers]]
type = "physics_settle"
targets = "card"
passive = "ground"
"""
    )
    for rest_speed, most in ((None, 0.2), (0.0001, 0.01)):
        text = scene if rest_speed is None else scene + f"rest_speed = {rest_speed}\nmax_steps = 400\n"
        out = tmp_path / f"out{rest_speed}"
        assert render(write_param(tmp_path, text, "card.toml"), out) == 0
        card = bpy.data.objects["card"]
        tilt = np.degrees((card.matrix_world.to_3x3().normalized() @ Vector((0, 0, 1))).angle(Vector((0, 0, 1))))
        assert tilt <= most, (rest_speed, tilt)
