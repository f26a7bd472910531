"""Sequences end to end: clips, trajectories, exact flow, motion vectors, shards, resume.

Tiny renders (48x36, 1 sample). A cube's front face is the only face the camera sees, so
its depth is known and its flow can be computed by hand: a translation T parallel to the
image plane shifts it by fx * T / depth pixels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")

from scenes import NO_GROUND, camera, header, render, sun, write_param  # noqa: E402

W, H = 48, 36
CUBE = 0.5
CAM_DIST = 4.0
DEPTH = CAM_DIST - CUBE / 2  # of the cube's front face

BASE = (  # a template: str.format fills frames, clip_length and motion
    header((W, H), samples=1, seed=3, frames="{frames}")
    + """
[sequence]
clip_length = {clip_length}
fps = 2
"""
    + NO_GROUND
    + camera((0.0, -CAM_DIST, 0.0), (0.0, 0.0, 0.0), focal_length=50)
    + sun()
    + f"""
[[assets]]
name = "box"
primitive = "cube"
size = {CUBE}
labels = {{{{ class = "box" }}}}

[[assets]]
name = "ball"
primitive = "sphere"
size = 0.3
location = [0.5, 0.5, 0.0]
labels = {{{{ class = "ball" }}}}

[[randomizers]]
type = "trajectory"
targets = "box"
{{motion}}

[annotators]
rgb = {{{{}}}}
distance_to_image_plane = {{{{}}}}
instance_segmentation = {{{{}}}}
forward_flow = {{{{}}}}
backward_flow = {{{{}}}}
motion_vectors = {{{{}}}}
camera_params = {{{{}}}}
"""
)


def render_clip(tmp_path: Path, name: str, frames=3, clip_length=3, motion="velocity = [0.4, 0.0, 0.0]", extra=()):
    param = write_param(tmp_path, BASE.format(frames=frames, clip_length=clip_length, motion=motion), f"{name}.toml")
    out = tmp_path / name
    assert render(param, out, *extra) == 0
    return param, out


def load(out: Path, clip: int, i: int, name: str) -> np.ndarray:
    return np.load(out / f"clip_{clip:04d}" / f"{name}_{i:04d}.npy")


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    return render_clip(tmp_path_factory.mktemp("linear"), "linear")[1]


def test_flow_of_translated_cube_is_projected_shift(linear):
    params = json.loads((linear / "clip_0000" / "camera_params_0000.json").read_text())
    step = 0.4 / 2  # metres per frame: velocity 0.4 m/s at 2 fps
    expected = params["fx"] * step / DEPTH
    box = json.loads((linear / "audit" / "label_table.json").read_text())
    assert box  # labels exist
    for i in range(3):
        depth = load(linear, 0, i, "distance_to_image_plane")
        cube = np.isclose(depth, DEPTH, atol=1e-3)
        assert cube.sum() > 50
        if i < 2:
            fwd = load(linear, 0, i, "forward_flow")
            assert np.abs(fwd[cube][:, 0] - expected).max() < 0.1
            assert np.abs(fwd[cube][:, 1]).max() < 0.1
        if i > 0:
            bwd = load(linear, 0, i, "backward_flow")
            assert np.abs(bwd[cube][:, 0] + expected).max() < 0.1
    # ends of a clip: no frame to flow to, all invalid (status 4), flow 0
    assert not load(linear, 0, 2, "forward_flow_valid").any()
    assert (
        load(linear, 0, 2, "forward_flow_status")[np.isfinite(load(linear, 0, 2, "distance_to_image_plane"))] == 4
    ).all()
    assert not load(linear, 0, 0, "backward_flow").any()
    # the static ball does not move: flow 0 and valid where it is seen in both frames
    ball_px = np.isfinite(load(linear, 0, 0, "distance_to_image_plane")) & ~np.isclose(
        load(linear, 0, 0, "distance_to_image_plane"), DEPTH, atol=1e-3
    )
    valid = load(linear, 0, 0, "forward_flow_valid")
    assert (valid & ball_px).sum() > 5
    assert np.abs(load(linear, 0, 0, "forward_flow")[valid & ball_px]).max() < 1e-4


def test_cube_moves_in_the_images_and_keeps_its_instance_id(linear):
    from PIL import Image

    ids, centres = [], []
    for i in range(3):
        mapping = json.loads((linear / "clip_0000" / f"instance_segmentation_mapping_{i:04d}.json").read_text())
        ids.append({path: key for key, path in mapping.items()})
        img = np.asarray(Image.open(linear / "clip_0000" / f"instance_segmentation_{i:04d}.png"))
        key = next(k for k, p in mapping.items() if p.endswith("/box"))
        colour = np.array(json.loads(key.replace("(", "[").replace(")", "]")), np.uint8)
        ys, xs = np.nonzero(np.all(img == colour, axis=-1))
        centres.append(xs.mean())
    # every object keeps its id (and colour) in every frame of the clip where it is seen
    for path in set().union(*ids):
        assert len({m[path] for m in ids if path in m}) == 1
    assert all("/sdg_assets/box/box" in m for m in ids)
    assert centres[0] < centres[1] < centres[2]
    log = [json.loads(x) for x in (linear / "audit" / "frames.jsonl").read_text().splitlines()]
    assert [(r["clip"], r["clip_frame"]) for r in sorted(log, key=lambda r: r["frame"])] == [(0, 0), (0, 1), (0, 2)]


def test_augment_noise_is_new_in_every_frame_of_a_clip(tmp_path):
    """A clip's frames share the values drawn for its first frame, augment's noise_seed too:
    the Gaussian noise of every frame of a clip was one frozen pattern (a still scene's three
    frames byte-identical). Frame i > 0 now draws it from (noise_seed, i), as a sensor's
    noise is new in every frame; what is seen (the scene) stays the clip's."""
    text = BASE.format(frames=3, clip_length=3, motion="velocity = [0, 0, 0]")
    text += '\n[[randomizers]]\ntype = "augment"\ntargets = "cam"\ngaussian_noise = 0.05\n'
    out = tmp_path / "noisy"
    assert render(write_param(tmp_path, text, "noisy.toml"), out) == 0
    from PIL import Image

    rgb = [np.asarray(Image.open(out / "clip_0000" / f"rgb_{i:04d}.png"), dtype=float)[..., :3] for i in range(3)]
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert 0.03 * 255 < (rgb[a] - rgb[b]).std() < 0.08 * 255, (a, b)  # two independent draws of 0.05


def test_forward_backward_round_trip_and_motion_vectors(tmp_path):
    # a spline: the velocity changes within the clip, so forward and backward differ
    motion = 'velocity = { distribution = "uniform", low = [-0.6, 0, 0], high = [0.6, 0, 0] }\npath = "spline"'
    _param, out = render_clip(tmp_path, "spline", motion=motion)
    fwd, valid = load(out, 0, 1, "forward_flow"), load(out, 0, 1, "forward_flow_valid")
    bwd_next = load(out, 0, 2, "backward_flow")
    ys, xs = np.nonzero(valid)
    assert len(ys) > 50
    qx = np.floor(xs + 0.5 + fwd[ys, xs, 0]).astype(int)
    qy = np.floor(ys + 0.5 + fwd[ys, xs, 1]).astype(int)
    back = fwd[ys, xs] + bwd_next[qy, qx]
    assert np.abs(back).max() < 0.1
    assert not np.allclose(np.abs(fwd[valid]), np.abs(load(out, 0, 1, "backward_flow")[valid]), atol=0.05)
    # Cycles' vector pass agrees with the geometric flow (both directions)
    mv = load(out, 0, 1, "motion_vectors")
    surface = np.isfinite(load(out, 0, 1, "distance_to_image_plane"))
    assert np.abs(mv[..., 2:][surface] - fwd[surface]).max() < 0.01
    assert np.abs(mv[..., :2][surface] - load(out, 0, 1, "backward_flow")[surface]).max() < 0.01


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.relative_to(out).parts[0] != "audit"
    }


def test_three_shards_of_four_clips_equal_one_run_and_resume_rerenders_a_clip(tmp_path):
    motion = 'velocity = { distribution = "uniform", low = [-0.5, 0, -0.2], high = [0.5, 0, 0.2] }'
    param, one = render_clip(tmp_path, "one", frames=8, clip_length=2, motion=motion)
    sharded = tmp_path / "sharded"
    for i in range(3):
        assert render(param, sharded, "--shard", f"{i}/3") == 0
    a, b = _files(one), _files(sharded)
    assert sorted(a) == sorted(b)
    assert sorted({k.split("/")[0] for k in a}) == [f"clip_{c:04d}" for c in range(4)]
    assert a == b
    # a shard holds whole clips: shard 1 of 3 rendered clip 1 (frames 2, 3) only
    shard1 = [
        json.loads(x)["frame"] for x in (sharded / "audit" / "frames.shard001of003.jsonl").read_text().splitlines()
    ]
    assert sorted(shard1) == [2, 3]
    # a clip with a missing frame is re-rendered whole on resume
    log = one / "audit" / "frames.jsonl"
    lines = [x for x in log.read_text().splitlines() if json.loads(x)["frame"] != 5]
    log.write_text("\n".join(lines) + "\n")
    before = json.loads(next(x for x in lines if json.loads(x)["frame"] == 4))["finished_unix"]
    assert render(param, one, "--resume") == 0
    manifest = json.loads((one / "audit" / "manifest.json").read_text())
    assert manifest["frames_written_this_run"] == [4, 5]
    # the clip's frame 4, rendered again, is logged once: by its last rendering
    records = [json.loads(x) for x in log.read_text().splitlines()]
    assert sorted(r["frame"] for r in records) == list(range(8))
    assert next(r for r in records if r["frame"] == 4)["finished_unix"] > before
    assert manifest["frames_finished_total"] == 8
    # the same with render processes: the parent forgets frame 2 before they start
    lines = [x for x in log.read_text().splitlines() if json.loads(x)["frame"] != 3]
    log.write_text("\n".join(lines) + "\n")
    assert render(param, one, "--resume", "--procs", "2", "--chunk", "2") == 0
    logged = [json.loads(x)["frame"] for p in (one / "audit").glob("frames*.jsonl") for x in p.read_text().splitlines()]
    assert sorted(logged) == list(range(8))
    manifest = json.loads((one / "audit" / "manifest.json").read_text())
    assert manifest["frames_skipped_as_done"] == [0, 1, 4, 5, 6, 7]
    assert _files(one) == b
    # a frame range that cuts a clip is refused before anything is written
    assert render(param, tmp_path / "cut", "--frames", "1:4") == 2
    assert not (tmp_path / "cut").exists()


def test_a_frame_range_that_cuts_a_clip_names_its_clips_whole(tmp_path, capsys):
    """README's 'one frame alone' (--frames 2) in a run of 2-frame clips was refused with
    '--frames 2:3 cuts clips ...: use a range from a multiple of 2 to a multiple of 2', where
    the user gave 2, a multiple of 2; the refusal now gives the range of the clips it touches."""
    param = write_param(tmp_path, BASE.format(frames=8, clip_length=2, motion="velocity = [0.4, 0.0, 0.0]"))
    for given, whole in (("2", "2:4"), ("1:4", "0:4"), ("3:7", "2:8")):
        assert render(param, tmp_path / "cut", "--frames", given) == 2
        assert f"(its clips whole: --frames {whole})" in capsys.readouterr().err
        assert not (tmp_path / "cut").exists()
    assert render(param, tmp_path / "whole", "--frames", "2:4") == 0


def test_blend_animation_plays_and_flow_follows_it(tmp_path):
    """A .blend asset's own keyframes play over a clip; flow and Cycles' vectors see them."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_cube_add(size=CUBE, location=(0, 0, 0))
    cube = bpy.context.object
    for frame, x in ((1, -0.3), (4, 0.3)):  # eased (Bezier) from -0.3 to 0.3 m
        cube.location.x = x
        cube.keyframe_insert("location", index=0, frame=frame)
    action = cube.animation_data.action
    curves = list(getattr(action, "fcurves", None) or [])  # Blender 4.x; 5.x: layered actions
    for layer in getattr(action, "layers", []):
        for strip in layer.strips:
            for bag in strip.channelbags:
                curves += list(bag.fcurves)
    xs = [curves[0].evaluate(1 + i) for i in range(4)]  # scene frames of the clip's frames
    assert xs[1] - xs[0] != xs[2] - xs[1]  # not a constant velocity
    blend = tmp_path / "anim.blend"
    bpy.data.libraries.write(str(blend), {cube}, fake_user=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    text = BASE.format(frames=4, clip_length=4, motion="velocity = [0.0, 0.0, 0.0]")
    text = text.replace('primitive = "cube"\nsize = 0.5', f'file = "{blend.as_posix()}"')
    param = write_param(tmp_path, text, "anim.toml")
    out = tmp_path / "anim"
    assert render(param, out) == 0
    params = json.loads((out / "clip_0000" / "camera_params_0000.json").read_text())
    for i in range(3):
        depth = load(out, 0, i, "distance_to_image_plane")
        cube_px = np.isclose(depth, DEPTH, atol=1e-3)
        assert cube_px.sum() > 50
        fwd = load(out, 0, i, "forward_flow")
        mv = load(out, 0, i, "motion_vectors")
        assert np.abs(fwd[cube_px][:, 0] - params["fx"] * (xs[i + 1] - xs[i]) / DEPTH).max() < 0.1
        assert np.abs(mv[..., 2:][cube_px] - fwd[cube_px]).max() < 0.01


def blurred_blend_clip(tmp_path: Path) -> str:
    """A clip's parameters over a base .blend rendering with motion blur (shutter 1 frame):
    the box sweeps 1 m a frame, lit from the camera; no motion_vectors."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.use_motion_blur, scene.render.motion_blur_shutter = True, 1.0
    blend = tmp_path / "blur.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    text = BASE.format(frames=2, clip_length=2, motion="velocity = [2.0, 0.0, 0.0]")  # 1 m a frame
    text = text.replace("motion_vectors = {}\n", "").replace("samples = 1", "samples = 8")
    text = text.replace("[scene]\n", f'[scene]\nblend = "{blend.as_posix()}"\n')
    return text.replace("location = [0, 0, 5]", "location = [0, -5, 0]\nlook_at = [0, 0, 0]")  # lights the face seen


def test_a_base_blends_motion_blur_blurs_the_clips_images(tmp_path):
    """A .blend's own motion blur (Render > Motion Blur) blurs a clip's images as it blurs
    a still's; masks stay those of the frame's instant. The clip used to turn it off."""
    text = blurred_blend_clip(tmp_path)
    out = tmp_path / "blur"
    assert render(write_param(tmp_path, text, "blur.toml"), out) == 0
    from PIL import Image

    clip = out / "clip_0000"
    mapping = json.loads((clip / "instance_segmentation_mapping_0000.json").read_text())
    key = next(k for k, p in mapping.items() if p.endswith("/box"))
    colour = np.array(json.loads(key.replace("(", "[").replace(")", "]")), np.uint8)
    box = np.all(np.asarray(Image.open(clip / "instance_segmentation_0000.png")) == colour, axis=-1)
    row = int(np.nonzero(box.any(1))[0].min()) + 1  # above the ball behind the box
    rgb = np.asarray(Image.open(clip / "rgb_0000.png"))[..., :3].astype(int)
    cube, seen = box[row], np.abs(rgb[row] - rgb[row, 0]).max(-1) > 8  # the cube's colour, blurred or not
    # The cube (0.5 m, 9 px at its depth) sweeps 1 m (18 px) while the shutter is open.
    assert 7 <= cube.sum() <= 10 and seen.sum() >= cube.sum() + 10


def test_a_shutter_blurs_the_cameras_it_targets_only(tmp_path):
    """The sensor randomizer's shutter set the scene's motion blur, so a shutter for one
    camera blurred every camera's image (a second camera, a rigged thermal one): it now
    holds for the cameras targeted, the others render with the scene's own (none here)."""
    from PIL import Image

    text = BASE.format(frames=2, clip_length=2, motion="velocity = [2.0, 0.0, 0.0]")  # 1 m a frame
    text = text.replace("motion_vectors = {}\n", "").replace("samples = 1", "samples = 8")
    text = text.replace("location = [0, 0, 5]", "location = [0, -5, 0]\nlook_at = [0, 0, 0]")  # lights the face seen
    text += camera((0.0, -CAM_DIST, 0.0), (0.0, 0.0, 0.0), name="cam2", focal_length=50)
    text += '[[randomizers]]\ntype = "sensor"\ntargets = "cam"\nshutter = 1.0\n'
    out = tmp_path / "one"
    assert render(write_param(tmp_path, text, "one.toml"), out) == 0
    seen = {}
    for cam in ("cam", "cam2"):
        folder = out / "clip_0000" / cam
        mapping = json.loads((folder / "instance_segmentation" / "instance_segmentation_mapping_0000.json").read_text())
        key = next(k for k, p in mapping.items() if p.endswith("/box"))
        colour = np.array(json.loads(key.replace("(", "[").replace(")", "]")), np.uint8)
        box = np.all(
            np.asarray(Image.open(folder / "instance_segmentation" / "instance_segmentation_0000.png")) == colour, -1
        )
        row = int(np.nonzero(box.any(1))[0].min()) + 1  # above the ball behind the box
        rgb = np.asarray(Image.open(folder / "rgb" / "rgb_0000.png"))[..., :3].astype(int)
        seen[cam] = (box[row].sum(), (np.abs(rgb[row] - rgb[row, 0]).max(-1) > 8).sum())
    assert seen["cam"][1] >= seen["cam"][0] + 10  # blurred: the 9 px box sweeps 18 px
    assert seen["cam2"][1] <= seen["cam2"][0] + 2, seen  # sharp: its edges' anti-aliasing at most


def test_a_base_blends_motion_blur_that_motion_vectors_turns_off_is_said(tmp_path):
    """With motion_vectors (Cycles makes no vector pass with motion blur) the run turns a base
    .blend's motion blur off, its images sharp, without a word; it now says so, and how to
    keep the blur. A run without motion_vectors keeps it and says nothing."""
    text = blurred_blend_clip(tmp_path)
    said = {}
    for name, extra in (("plain", ""), ("vectors", "motion_vectors = {}\n")):
        param = write_param(tmp_path, text.replace("[annotators]\n", "[annotators]\n" + extra), f"{name}.toml")
        assert render(param, tmp_path / name) == 0
        warnings = json.loads((tmp_path / name / "audit" / "manifest.json").read_text())["warnings"]
        said[name] = [w for w in warnings if "motion blur" in w]
    assert said["plain"] == [] and len(said["vectors"]) == 1
    assert (
        said["vectors"][0].startswith("the base scene renders with motion blur")
        and "leave motion_vectors out" in (said["vectors"][0])
    )


def test_motion_vectors_of_a_moving_orthographic_camera_are_said_to_be_wrong(tmp_path):
    """Cycles' vector pass is wrong for an orthographic camera that moves (measured: 9 px off
    an exact 0.7 px flow in a 64 x 48 clip), which annotators.md said but the run did not:
    its motion_vectors were written without a word. The run now warns, naming the camera
    and the exact flows; a static orthographic camera, or the flows alone, say nothing."""
    motion = """
[[randomizers]]
type = "camera_trajectory"
targets = "cam"
velocity = [0.5, 0.0, 0.2]
angular_velocity = [0.0, 0.0, 5.0]
"""
    said = {}
    for name, moving, annotators in (
        ("moving", True, "motion_vectors = {}\n"),
        ("static", False, "motion_vectors = {}\n"),
        ("flow", True, "forward_flow = {}\n"),
    ):
        text = (
            header((W, H), samples=1, seed=3, frames=2)
            + "\n[sequence]\nclip_length = 2\nfps = 10\n"
            + NO_GROUND
            + camera((0.0, -CAM_DIST, 0.5), (0.0, 0.0, 0.0), projection="orthographic", ortho_scale=2.0)
            + sun()
            + f'\n[[assets]]\nname = "box"\nprimitive = "cube"\nsize = {CUBE}\nlabels = {{ class = "box" }}\n'
            + (motion if moving else "")
            + "\n[annotators]\n"
            + annotators
        )
        param = write_param(tmp_path, text, f"{name}.toml")
        assert render(param, tmp_path / name) == 0
        warnings = json.loads((tmp_path / name / "audit" / "manifest.json").read_text())["warnings"]
        said[name] = [w for w in warnings if "orthographic" in w]
    assert said["static"] == [] and said["flow"] == [], said
    (text,) = said["moving"]
    assert text.startswith("motion_vectors of the orthographic camera(s) cam, which move within a clip"), text
    assert "forward_flow and backward_flow are exact" in text


def test_an_orthographic_camera_moved_by_nla_strips_is_moving_and_one_keyed_otherwise_is_not(clean_bpy):
    """moving_orthographic_cameras read any action or driver of a camera (or a parent) as
    motion and missed NLA strips: a camera whose parent's move was pushed down to an NLA
    strip (no active action) was not warned of, one keyed only in its visibility was. It now
    asks scene.randomize's transform_animated / scale_animated: the move, in strips too."""
    from types import SimpleNamespace

    from sdg_addon.recorder import moving_orthographic_cameras

    bpy = clean_bpy
    cameras = {}
    for name in ("strip", "visibility", "still"):
        data = bpy.data.cameras.new(name)
        data.type = "ORTHO"
        cameras[name] = bpy.data.objects.new(name, data)
        bpy.context.scene.collection.objects.link(cameras[name])
    rig = bpy.data.objects.new("rig", None)
    bpy.context.scene.collection.objects.link(rig)
    cameras["strip"].parent = rig
    rig.keyframe_insert("location", frame=1)
    rig.location.x = 1.0
    rig.keyframe_insert("location", frame=2)
    action = rig.animation_data.action
    rig.animation_data.nla_tracks.new().strips.new("move", 1, action)
    rig.animation_data.action = None  # pushed down: the strip alone moves it
    cameras["visibility"].keyframe_insert("hide_render", frame=1)
    built = SimpleNamespace(cameras=cameras, render_cameras=list(cameras))
    config = SimpleNamespace(sequence=SimpleNamespace(clip_length=2), randomizers=[])
    assert moving_orthographic_cameras(built, config, []) == ["strip"]


RIGID = (
    header((W, H), samples=1, seed=1, frames=8)
    + """
[sequence]
clip_length = 4
fps = 24
rigid_body = true

[scene]
ground = { size = 4.0 }
"""
    + camera((0.0, -CAM_DIST, 0.6), (0.0, 0.0, 0.6), focal_length=50)
    + sun()
    + f"""
[[assets]]
name = "box"
primitive = "cube"
size = {CUBE}
labels = {{ class = "box" }}

[[randomizers]]
type = "pose"
targets = "box"
location = [0.0, 0.0, 0.8]

[annotators]
distance_to_image_plane = {{}}
instance_segmentation = {{}}
forward_flow = {{}}
motion_vectors = {{}}
camera_params = {{}}
"""
)


def test_rigid_body_simulation_plays_per_clip(tmp_path):
    param = write_param(tmp_path, RIGID, "rigid.toml")
    out = tmp_path / "rigid"
    assert render(param, out) == 0
    fy = json.loads((out / "clip_0000" / "camera_params_0000.json").read_text())["fy"]
    g, dt = 9.81, 1 / 24
    for i in range(3):
        depth = load(out, 0, i, "distance_to_image_plane")
        box = np.isclose(depth, DEPTH, atol=1e-3)  # its front face
        assert box.sum() > 20
        fwd = load(out, 0, i, "forward_flow")[box]
        # free fall from rest at the clip's start: drop between frames i and i + 1
        drop = g / 2 * (((i + 1) * dt) ** 2 - (i * dt) ** 2)
        assert np.allclose(fwd[:, 0], 0, atol=0.05)
        assert np.allclose(fwd[:, 1], fy * drop / DEPTH, rtol=0.15)  # Bullet's steps: within 15 %
        assert np.abs(load(out, 0, i, "motion_vectors")[..., 2:][box] - fwd).max() < 0.01
    # every clip starts the simulation afresh from its first frame's poses
    for i in range(4):
        assert np.array_equal(load(out, 0, i, "forward_flow"), load(out, 1, i, "forward_flow"))


COLLIDING = (
    header((W, H), samples=1, seed=5, frames=6)
    + """
[sequence]
clip_length = 3
fps = 10
rigid_body = true

[scene]
ground = { size = 8.0 }
"""
    + camera((0.0, -CAM_DIST, 1.6), (0.0, 0.0, 0.3))
    + """
[[assets]]
name = "box"
primitive = "cube"
size = 0.5
count = 2
labels = { class = "box" }

[[randomizers]]
type = "pose"
targets = "box*"
location = { distribution = "uniform", low = [-0.3, -0.3, 0.6], high = [0.3, 0.3, 1.5] }

[annotators]
bounding_box_3d = {}
"""
)


def test_a_clip_of_colliding_bodies_is_the_same_alone_as_after_other_clips(tmp_path):
    """Bodies that touch (two boxes dropped into each other) move in clip 1 as when clip 1
    is rendered alone (--frames, a shard, a resume): no body keeps Blender's state of the
    previous clip's simulation."""
    param = write_param(tmp_path, COLLIDING, "colliding.toml")
    assert render(param, tmp_path / "all") == 0
    assert render(param, tmp_path / "alone", "--frames", "3:6") == 0
    for i in range(3):
        name = f"clip_0001/bounding_box_3d_{i:04d}.npy"
        together, alone = np.load(tmp_path / "all" / name), np.load(tmp_path / "alone" / name)
        if i == 0:  # the start poses (the randomizers') move: the boxes do collide
            moved = np.load(tmp_path / "all" / "clip_0001/bounding_box_3d_0002.npy")
            assert np.abs(moved["transform"] - together["transform"]).max() > 0.01
        assert np.array_equal(together, alone), i


POOLED = (
    header((W, H), samples=1, seed=2, frames=24)
    + """
[sequence]
clip_length = 12
fps = 12
rigid_body = true

[scene]
ground = { size = 8.0 }
"""
    + camera((0.0, -CAM_DIST, 1.6), (0.0, 0.0, 0.3))
    + """
[[assets]]
name = "ball"
primitive = "sphere"
size = 0.5
count = 4
labels = { class = "ball" }

[[randomizers]]
type = "pool"
targets = "ball_*"
k = 1

[[randomizers]]
type = "pose"
targets = "ball_*"
location = [0, 0, 1.5]

[annotators]
bounding_box_3d = {}
"""
)


def test_objects_hidden_in_a_clip_take_no_part_in_its_simulation(tmp_path):
    """A pool shows one of four balls per clip (Kubric's random number of objects); the
    hidden three stood at their place as built, inside each other, and collided unseen:
    they burst apart and threw the shown one about. Now the shown ball falls straight onto
    the ground below it and rests there (its 1 mm margin: the ground has none), in every clip."""
    param = write_param(tmp_path, POOLED, "pooled.toml")
    out = tmp_path / "pooled"
    assert render(param, out) == 0
    for clip in (0, 1):
        rows = np.load(out / f"clip_{clip:04d}" / "bounding_box_3d_0011.npy")  # the clip's last frame
        assert len(rows) == 1, clip  # in the picture
        # on the ground below, in every clip: a clip after the first rested on a 4 cm margin
        # (Blender gave the ground of each new world its default margin back)
        x, y, z = rows[0]["transform"][3, :3]
        assert abs(x) < 0.03 and abs(y) < 0.03 and abs(z - 0.001) < 0.001, (
            clip,
            x,
            y,
            z,
        )  # a faceted ball rolls a little


def test_a_passive_body_hidden_in_a_clip_takes_no_part_after_a_clip_that_showed_it(tmp_path):
    """A distractor (a passive body) shown in clip 0 and hidden in clip 1: the ball came to rest
    on it, unseen, in clip 1 after clip 0 (the bodies' collection kept it), where clip 1 alone
    (--frames, a shard, a resume) let it fall to the ground. Now clip 1 is the same either way."""
    text = (
        header((W, H), samples=1, seed=1, frames=24)
        + "[sequence]\nclip_length = 12\nfps = 12\nrigid_body = true\n"
        + camera((0.0, -8.0, 3.0), (0.0, 0.0, 1.0))
        + '[[assets]]\nname = "plate"\nprimitive = "cube"\nsize = 1.0\ndistractor = true\n'
        + '[[assets]]\nname = "ball"\nprimitive = "sphere"\nsize = 0.5\nlocation = [0, 0, 1.3]\n'
        + 'labels = { class = "ball" }\n'
        + '[[randomizers]]\ntype = "visibility"\ntargets = "plate"\n'
        + 'visible = { distribution = "sequence", values = [true, false] }\n'
        + "[annotators]\nbounding_box_3d = {}\n"
    )
    param = write_param(tmp_path, text, "hidden_plate.toml")
    assert render(param, tmp_path / "all") == 0
    assert render(param, tmp_path / "alone", "--frames", "12:24") == 0

    def height(out: str, clip: int) -> float:
        return float(np.load(tmp_path / out / f"clip_{clip:04d}" / "bounding_box_3d_0011.npy")["transform"][0][3, 2])

    assert height("all", 0) == pytest.approx(1.0, abs=0.01)  # on the plate, shown in clip 0
    assert height("all", 1) == pytest.approx(0.0, abs=0.01)  # on the ground: the plate is hidden
    for i in range(12):
        name = f"clip_0001/bounding_box_3d_{i:04d}.npy"
        assert np.array_equal(np.load(tmp_path / "all" / name), np.load(tmp_path / "alone" / name)), i


def test_motion_vectors_of_bodies_after_other_clips_follow_the_simulation(tmp_path):
    """Cycles' vector pass of a later clip reads the clip's own simulation (with persistent
    data on, the render kept the first clip's rigid-body world): it agrees with the exact
    flow and with the clip rendered alone."""
    param = write_param(
        tmp_path, COLLIDING.replace("bounding_box_3d = {}", "forward_flow = {}\nmotion_vectors = {}"), "mv.toml"
    )
    assert render(param, tmp_path / "all") == 0
    assert render(param, tmp_path / "alone", "--frames", "3:6") == 0
    for clip in (0, 1):
        for i in range(2):  # frames with a next frame in the clip
            folder = tmp_path / "all" / f"clip_{clip:04d}"
            fwd = np.load(folder / f"forward_flow_{i:04d}.npy")
            valid = np.load(folder / f"forward_flow_valid_{i:04d}.npy")
            vectors = np.load(folder / f"motion_vectors_{i:04d}.npy")[..., 2:]
            assert np.abs(fwd[valid]).max() > 0.5, (clip, i)  # the boxes fall
            assert np.abs(vectors[valid] - fwd[valid]).max() < 0.01, (clip, i)
    assert _files(tmp_path / "alone") == {
        k: v for k, v in _files(tmp_path / "all").items() if k.startswith("clip_0001/")
    }


TIPPED = (
    header((32, 24), samples=1, seed=1, frames=24)
    + """
[sequence]
clip_length = 24
fps = 8
rigid_body = true

[scene]
ground = { size = 3.0 }
"""
    + camera((0.0, -1.2, 0.5), (0.0, 0.0, 0.1))
    + sun()
    + """
[[assets]]
name = "can"
primitive = "cylinder"
size = 0.2
labels = { class = "can" }

[[randomizers]]
type = "pose"
targets = "can"
location = [0.0, 0.0, 0.25]
rotation = [155, 0, 0]

[annotators]
object_pose = {}
bounding_box_3d = {}
"""
)


def test_rigid_bodies_turn_about_their_centre_and_poses_stay_the_objects(tmp_path):
    """A cylinder (height 0.2, radius 0.07, origin at the centre of its base) dropped upside
    down, 25 degrees off: about its centre it tips over only past atan(0.07 / 0.1) = 35
    degrees, so it settles on its top face, upside down. With its mass at the origin (now on
    top: tips past atan(0.07 / 0.2) = 19 degrees) it would fall over and, bottom-heavy as a
    weeble, end standing on its base. The poses the annotations report are the object's
    own frame (its base's centre), not the simulation's (its centre)."""
    import bpy

    out = tmp_path / "tipped"
    assert render(write_param(tmp_path, TIPPED, "tipped.toml"), out) == 0

    def pose(i: int) -> np.ndarray:
        (m,) = np.load(out / "clip_0000" / f"object_pose_objectToWorld_{i:04d}.npy")
        box = np.load(out / "clip_0000" / f"bounding_box_3d_{i:04d}.npy")
        assert np.allclose(box["transform"][0].T, m, atol=1e-5)  # 3D box: the same frame
        assert np.allclose([box[k][0] for k in ("z_min", "z_max")], [0.0, 0.2], atol=1e-5)  # its own mesh
        return m

    a = np.radians(155)
    tipped = [[1, 0, 0, 0], [0, np.cos(a), -np.sin(a), 0], [0, np.sin(a), np.cos(a), 0.25], [0, 0, 0, 1]]
    assert np.allclose(pose(0), tipped, atol=1e-5)  # as the pose randomizer set it
    rest = pose(23)
    assert np.allclose(rest[:3, 2], [0, 0, -1], atol=0.01), rest  # upside down, on its top face
    # its origin (the base's centre, now on top) 0.2 up, plus its 1 mm margin (the ground has none)
    assert abs(rest[2, 3] - 0.201) < 0.001, rest
    assert np.allclose(pose(22), rest, atol=1e-3)  # at rest
    # the object's origin and mesh stay as built
    z = [v.co.z for v in bpy.data.objects["can"].data.vertices]
    assert min(z) == 0.0 and abs(max(z) - 0.2) < 1e-6


def blend_with_bodies(path: Path, cubes: dict, **settings) -> Path:
    """Write a .blend holding 0.2 m cubes (name -> location; origin at their centre), each
    with a rigid body of these settings."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.rigidbody.world_add()
    for name, location in cubes.items():
        bpy.ops.mesh.primitive_cube_add(size=0.2, location=location)
        cube = bpy.context.object
        cube.name = name
        bpy.ops.rigidbody.object_add(type="ACTIVE")
        for key, value in settings.items():
            setattr(cube.rigid_body, key, value)
    bpy.data.libraries.write(str(path), set(bpy.context.scene.objects), fake_user=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return path


def test_blend_assets_own_rigid_bodies_keep_their_settings_and_poses(tmp_path):
    """.blend assets whose cubes bring their own rigid bodies (which kept them out of the
    clip's world): a shelf of two cubes (passive: several meshes) holds the dynamic cube
    dropped onto it, one whose Dynamic is off stays where it is. The annotated pose is the
    asset's root, which follows (the simulated cube is a child of it)."""
    one_mm = {"use_margin": True, "collision_margin": 0.001}
    shelf = blend_with_bodies(tmp_path / "shelf.blend", {"left": (-0.1, 0, 0.1), "right": (0.1, 0, 0.1)}, **one_mm)
    drop = blend_with_bodies(tmp_path / "drop.blend", {"cube": (0, 0, 0)}, mass=2.0, **one_mm)
    hover = blend_with_bodies(tmp_path / "hover.blend", {"cube": (0, 0, 0)}, enabled=False)
    text = TIPPED.replace("clip_length = 24", "clip_length = 12").replace("frames = 24", "frames = 12")
    text = text.split("[[assets]]")[0] + "".join(
        f"""
[[assets]]
name = "{name}"
file = "{path.as_posix()}"
location = [{x}, 0.0, {z}]
labels = {{ class = "{name}" }}
"""
        for name, path, x, z in (("shelf", shelf, 0.0, 0.0), ("drop", drop, 0.0, 0.6), ("hover", hover, 0.5, 0.6))
    )
    text += "\n[annotators]\nobject_pose = {}\n"
    out = tmp_path / "blend_bodies"
    assert render(write_param(tmp_path, text, "bodies.toml"), out) == 0
    info = json.loads((out / "clip_0000" / "object_pose_info_0011.json").read_text())
    poses = np.load(out / "clip_0000" / "object_pose_objectToWorld_0011.npy")
    pose = {path.split("/")[-1]: m for path, m in zip(info["primPaths"], poses)}
    # on the shelf: its top 0.2 up, the cube's centre 0.1 above (boxes: their margins are inside)
    assert abs(pose["drop"][2, 3] - 0.3) < 1e-4, pose["drop"]
    assert np.allclose(pose["drop"][:3, 2], [0, 0, 1], atol=0.01)
    assert np.allclose(pose["hover"][:3, 3], [0.5, 0.0, 0.6], atol=1e-6)
    assert np.allclose(pose["shelf"], np.eye(4), atol=1e-6)


def _lowest(obj, depsgraph) -> float:
    """The height of an object's lowest vertex in world space, as evaluated."""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    low = min((obj.matrix_world @ v.co).z for v in mesh.vertices)
    evaluated.to_mesh_clear()
    return low


def test_a_clips_bodies_rest_on_what_they_fall_onto_nothing_through_it(tmp_path):
    """Passive bodies collided as bare triangles with a 1 mm margin: every body rested 2 mm
    up, a 1 m cube dropped flat from 1 m slid 7 cm on the seam of the ground's two triangles,
    and a 2 mm card, a plane, a coin and a leaf dropped onto the table passed through (17 m
    below 2 s later). They now collide as physics_settle's colliders, as parameters.md says: a
    box rests on the surface (within 0.1 mm) and within 3 cm of where it fell, any other
    body 0.6 to 1 mm above it (its margin), nothing below it. A passive object moved between
    clips holds where it stands (its colliders remade, the old ones removed), and the scene's
    own meshes get no rigid body. Poses only: no render."""
    import tomllib

    import bpy

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.clip_physics import PROXIES, ClipBodies

    drops = {  # name: primitive, size, scale, where its base starts
        "cube": ("cube", 1.0, [1, 1, 1], (-3, -3, 1.0)),
        "box": ("cube", 0.2, [1, 1, 1], (0, -3, 0.3)),
        "card": ("cube", 0.1, [1, 0.6, 0.02], (3, -3, 1.0)),
        "sheet": ("plane", 0.2, [1, 1, 1], (-3, 0, 1.0)),
        "coin": ("cylinder", 0.03, [1, 1, 0.1], (0, 0, 1.0)),
        "ball": ("sphere", 0.5, [1, 1, 1], (3, 0, 1.0)),
        "leaf": ("plane", 0.15, [1, 1, 1], (-3, 3, 1.5)),  # onto the table's top, 0.72 up
        "die": ("cube", 0.05, [1, 1, 1], (3, 3, 1.0)),  # onto the plate, 0.5 up
    }
    text = header((16, 12), samples=1, frames=48)
    text += "[sequence]\nclip_length = 48\nfps = 24\nrigid_body = true\n[scene]\nground = { size = 10.0 }\n"
    text += camera((0.0, -9.0, 4.0), (0.0, 0.0, 0.0))
    text += '[[assets]]\nname = "table"\nprimitive = "table"\nsize = 1.2\ndistractor = true\n'
    text += '[[assets]]\nname = "plate"\nprimitive = "cube"\nsize = 0.5\ndistractor = true\n'
    text += "".join(
        f'[[assets]]\nname = "{n}"\nprimitive = "{p}"\nsize = {size}\n' for n, (p, size, *_) in drops.items()
    )
    built = build_scene(config_from_dict(tomllib.loads(text), tmp_path / "p.toml"))
    bodies = ClipBodies(built)
    proxies = bpy.data.collections[PROXIES]
    count = None
    for clip, plate in enumerate([(3, 3, 0), (2, 2, 0)]):  # the plate stands elsewhere in the second clip
        built.entities["table"].root.location = (-3.35, 3, 0)
        built.entities["plate"].root.location = plate
        for name, (_p, _size, scale, at) in drops.items():
            root = built.entities[name].root
            root.location = (plate[0], plate[1], 1.0) if name == "die" else at
            root.rotation_euler, root.scale = (0, 0, 0), scale
        bodies.restart(1, 48)
        built.scene.frame_set(48)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        for name, (primitive, _size, _scale, at) in drops.items():
            entity = built.entities[name]
            (mesh,) = entity.meshes
            above = _lowest(mesh, depsgraph) - {"leaf": 0.72, "die": 0.5}.get(name, 0.0)
            if primitive == "cube":  # a box on a box: on the surface, near where it fell
                assert abs(above) <= 1e-4, (clip, name, above)
                start = plate if name == "die" else at
                slide = np.hypot(*(np.array(entity.root.matrix_world.translation.xy) - start[:2]))
                assert slide <= 0.03, (clip, name, slide)
            else:  # a convex hull: its 1 mm margin above the surface, never below it
                assert 0.0006 <= above <= 0.0011, (clip, name, above)
        if count is not None:
            assert len(proxies.objects) == count  # the plate's first colliders are gone
        count = len(proxies.objects)
    for entity in built.entities.values():
        assert all(m.rigid_body is None for m in entity.meshes)  # only proxies are bodies
    assert built.scene.objects["ground"].rigid_body is None


def test_a_clip_in_centimetres_rests_its_bodies_a_millimetre_up(tmp_path):
    """The active bodies' margin is a millimetre whatever the unit scale, as physics_settle's:
    in a scene in centimetres a ball rests 0.1 units above the ground (it was 0.001 units,
    0.01 mm), a box on it. Poses only: no render."""
    import tomllib

    import bpy

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.clip_physics import ClipBodies

    text = header((16, 12), samples=1, frames=48)
    text += "[sequence]\nclip_length = 48\nfps = 24\nrigid_body = true\n[scene]\nground = { size = 100.0 }\n"
    text += camera((0.0, -90.0, 40.0), (0.0, 0.0, 0.0))
    text += '[[assets]]\nname = "ball"\nprimitive = "sphere"\nsize = 10.0\n'
    text += '[[assets]]\nname = "box"\nprimitive = "cube"\nsize = 10.0\n'
    built = build_scene(config_from_dict(tomllib.loads(text), tmp_path / "p.toml"))
    built.scene.unit_settings.scale_length = 0.01
    for name, x in (("ball", -20.0), ("box", 20.0)):
        built.entities[name].root.location = (x, 0.0, 5.0)  # 5 cm up: 0.32 s of fall at 9.81 units/s2
    ClipBodies(built).restart(1, 48)
    built.scene.frame_set(48)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    (ball,), (box,) = built.entities["ball"].meshes, built.entities["box"].meshes
    assert 0.06 <= _lowest(ball, depsgraph) <= 0.11, _lowest(ball, depsgraph)  # 1 mm: 0.1 units
    assert abs(_lowest(box, depsgraph)) <= 1e-3, _lowest(box, depsgraph)


def test_a_passive_object_that_stays_keeps_its_colliders_from_clip_to_clip(tmp_path):
    """Collider.place makes a passive mesh's colliders (physics.collider_objects: its pieces
    found and shaped, new objects) only where it stands elsewhere than in the clip before:
    the ground and a plate that stay keep theirs, a plate moved gets new ones. Poses only."""
    import tomllib

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.clip_physics import ClipBodies

    text = header((16, 12), samples=1, frames=4)
    text += "[sequence]\nclip_length = 2\nfps = 24\nrigid_body = true\n[scene]\nground = { size = 10.0 }\n"
    text += camera((0.0, -9.0, 4.0), (0.0, 0.0, 0.0))
    text += '[[assets]]\nname = "plate"\nprimitive = "cube"\nsize = 0.5\ndistractor = true\n'
    text += '[[assets]]\nname = "box"\nprimitive = "cube"\nsize = 0.2\n'
    built = build_scene(config_from_dict(tomllib.loads(text), tmp_path / "p.toml"))
    bodies = ClipBodies(built)
    built.entities["box"].root.location = (0.0, 0.0, 1.0)
    plate = built.entities["plate"].root
    made = {}
    for clip, at in enumerate([(2.0, 2.0, 0.0), (2.0, 2.0, 0.0), (-2.0, 2.0, 0.0)]):
        plate.location = at
        bodies.restart(1 + 2 * clip, 2)
        kept = {}
        for collider in bodies.colliders:
            assert collider.bodies, collider.mesh_object.name
            kept[collider.mesh_object.name] = all(obj.get("sdg_test_clip") == clip - 1 for obj, *_ in collider.bodies)
            for obj, *_ in collider.bodies:
                obj["sdg_test_clip"] = clip
        made[clip] = kept
    (plate_mesh,) = built.entities["plate"].meshes
    assert set(made[1].values()) == {True}, made  # nothing moved: every collider kept
    assert made[2].pop(plate_mesh.name) is False and set(made[2].values()) == {True}, made  # the plate's new


def test_a_blend_assets_passive_body_stays_where_it_is(tmp_path, capsys):
    """A .blend asset whose one cube has a Passive rigid body (a slab above the ground): it was made
    an active body and fell, with the cube dropped onto it; it stays passive now, and holds
    the cube on its top (boxes: their margins are inside). Throwing it is refused, as an Animated one."""
    one_mm = {"use_margin": True, "collision_margin": 0.001}
    slab = blend_with_bodies(tmp_path / "slab.blend", {"slab": (0, 0, 0)}, type="PASSIVE", **one_mm)
    drop = blend_with_bodies(tmp_path / "drop.blend", {"cube": (0, 0, 0)}, **one_mm)
    text = TIPPED.replace("clip_length = 24", "clip_length = 12").replace("frames = 24", "frames = 12")
    text = text.split("[[assets]]")[0] + "".join(
        f"""
[[assets]]
name = "{name}"
file = "{path.as_posix()}"
location = [0.0, 0.0, {z}]
labels = {{ class = "{name}" }}
"""
        for name, path, z in (("slab", slab, 0.15), ("drop", drop, 0.6))
    )
    out = tmp_path / "slab_out"
    assert render(write_param(tmp_path, text + "\n[annotators]\nobject_pose = {}\n", "slab.toml"), out) == 0
    info = json.loads((out / "clip_0000" / "object_pose_info_0011.json").read_text())
    poses = np.load(out / "clip_0000" / "object_pose_objectToWorld_0011.npy")
    pose = {path.split("/")[-1]: m for path, m in zip(info["primPaths"], poses)}
    assert np.allclose(pose["slab"][:3, 3], [0.0, 0.0, 0.15], atol=1e-6), pose["slab"]
    assert abs(pose["drop"][2, 3] - 0.35) < 1e-4, pose["drop"]  # on the slab's top (0.25), 0.1 up
    thrown = text.replace("rigid_body = true", "rigid_body = true\nstart_frame = 2", 1)
    thrown += '\n[[randomizers]]\ntype = "initial_velocity"\ntargets = "slab"\nvelocity = [1, 0, 0]\n'
    assert render(write_param(tmp_path, thrown, "thrown.toml"), tmp_path / "thrown_out") == 2
    assert "slab: its .blend body is Passive: it stays where it is" in capsys.readouterr().err


THROWN = (
    header((64, 48), samples=1, seed=4, frames=24)
    + """
[sequence]
clip_length = 12
fps = 24
start_frame = 2
rigid_body = true

[scene]
ground = { size = 20.0 }
"""
    + camera((0.0, -6.0, 2.0), (0.0, 0.0, 1.5))
    + sun()
    + """
[[assets]]
name = "thrown"
file = "FREE"
labels = { class = "thrown" }

[[assets]]
name = "still"
file = "FREE"
labels = { class = "still" }

[[randomizers]]
type = "pose"
targets = "thrown"
location = { distribution = "uniform", low = [-0.5, -0.5, 2.0], high = [0.5, 0.5, 2.5] }
rotation = { distribution = "uniform", low = [-90, -90, -90], high = [90, 90, 90] }

[[randomizers]]
type = "pose"
targets = "still"
location = [1.9, 0.0, 2.0]

[[randomizers]]
type = "initial_velocity"
targets = "thrown"
velocity = { distribution = "uniform", low = [-2, 0, 0], high = [2, 2, 3] }
angular_velocity = { distribution = "uniform", low = [-400, -400, -400], high = [400, 400, 400] }

[annotators]
object_pose = {}
"""
)


def _rotation(axis_angle: np.ndarray) -> np.ndarray:
    """Rodrigues: the rotation by |axis_angle| radians about its direction."""
    angle = float(np.linalg.norm(axis_angle))
    if angle == 0:
        return np.eye(3)
    x, y, z = axis_angle / angle
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _poses(out: Path, clip: int, i: int) -> dict[str, np.ndarray]:
    folder = out / f"clip_{clip:04d}"
    info = json.loads((folder / f"object_pose_info_{i:04d}.json").read_text())
    poses = np.load(folder / f"object_pose_objectToWorld_{i:04d}.npy")
    return {path.split("/")[-1]: m for path, m in zip(info["primPaths"], poses)}


def test_thrown_bodies_fly_the_exact_ballistic_path_and_spin_about_their_centre(tmp_path):
    """initial_velocity (Kubric's obj.velocity, Replicator's rigid_body(velocity=...,
    angular_velocity=...)): a cube without damping (a .blend body's own settings; Blender's
    default damping slows a body) thrown in mid-air is, at every frame of the clip, where
    the throw puts its centre, p + v t + g t^2 / 2, within 0.1 mm (Bullet's own steps alone
    were 9 mm off by frame 11: the velocity given makes up for them), turned by the angular
    velocity about world axes through its centre within 0.01 degree; in every clip, and the
    same when a clip is rendered alone (a shard, a resume). The cube not thrown falls from
    rest exactly as in a run without initial_velocity."""
    free = blend_with_bodies(tmp_path / "free.blend", {"cube": (0, 0, 0)}, linear_damping=0.0, angular_damping=0.0)
    text = THROWN.replace("FREE", free.as_posix())
    out = tmp_path / "thrown"
    assert render(write_param(tmp_path, text, "thrown.toml"), out) == 0
    rows = [json.loads(line) for line in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    g, fps = np.array([0.0, 0.0, -9.81]), 24.0
    for clip in (0, 1):
        first = next(r for r in rows if r["clip"] == clip and r["clip_frame"] == 0)
        (throw,) = [s["values"]["thrown"] for s in first["samples"] if s["type"] == "initial_velocity"]
        v, w = np.array(throw["velocity"]), np.radians(throw["angular_velocity"])
        assert np.linalg.norm(v) > 0.5 and np.linalg.norm(w) > 1.0  # a throw, and a spin
        start = _poses(out, clip, 0)["thrown"]
        for i in range(12):
            t = i / fps
            pose = _poses(out, clip, i)["thrown"]  # the root: the cube's centre (its origin)
            assert np.linalg.norm(pose[:3, 3] - (start[:3, 3] + v * t + g * t * t / 2)) < 1e-4, (clip, i)
            turned = _rotation(w * t) @ start[:3, :3]
            cos = np.clip((np.trace(turned.T @ pose[:3, :3]) - 1) / 2, -1.0, 1.0)
            assert np.degrees(np.arccos(cos)) < 0.01, (clip, i)
    alone = tmp_path / "alone"
    assert render(write_param(tmp_path, text, "thrown.toml"), alone, "--frames", "12:24") == 0
    assert _files(alone) == {k: b for k, b in _files(out).items() if k.startswith("clip_0001/")}
    # the cube not thrown: as without any initial_velocity entry (its 2 pre-roll frames held it)
    resting = tmp_path / "resting"
    plain = text.split('[[randomizers]]\ntype = "initial_velocity"')[0] + "[annotators]\nobject_pose = {}\n"
    assert render(write_param(tmp_path, plain, "plain.toml"), resting) == 0
    for i in range(12):
        assert np.array_equal(_poses(out, 1, i)["still"], _poses(resting, 1, i)["still"]), i
    assert _poses(out, 1, 11)["still"][2, 3] < 1.8  # it did fall


LANDING = (
    header((32, 24), samples=1, seed=1, frames=24)
    + """
[sequence]
clip_length = 24
fps = 8
start_frame = 2
rigid_body = true

[scene]
ground = { size = 6.0 }
"""
    + camera((0.0, -2.5, 1.0), (0.0, 0.0, 0.2))
    + sun()
    + """
[[assets]]
name = "cube"
primitive = "cube"
size = 0.2
labels = { class = "cube" }

[[randomizers]]
type = "pose"
targets = "cube"
location = [-0.6, 0.0, 0.5]

[[randomizers]]
type = "initial_velocity"
targets = "cube"
velocity = [2.0, 0.5, 1.0]
angular_velocity = [0, 300, 100]

[annotators]
object_pose = {}
motion_vectors = {}
"""
)


def test_a_thrown_cube_lands_and_stops_on_the_ground(tmp_path):
    """A cube (Blender's default damping and friction) thrown sideways and spinning from
    0.5 m lands, tumbles and comes to rest lying on a face on the ground, away from where
    it was thrown; the motion vectors of the clip's first frame see it come in. A target that is no moving body (a .blend model of two meshes is
    passive) is refused before anything is written, naming it."""
    out = tmp_path / "landed"
    assert render(write_param(tmp_path, LANDING, "landed.toml"), out) == 0

    def pose(i: int) -> np.ndarray:
        (m,) = np.load(out / "clip_0000" / f"object_pose_objectToWorld_{i:04d}.npy")
        return m

    assert np.allclose(pose(0)[:3, 3], [-0.6, 0.0, 0.5], atol=1e-6)
    assert pose(2)[2, 3] > 0.5  # thrown upwards first
    # Cycles' vector pass at the first frame sees it come in (from the left: backward x < 0)
    backward = np.load(out / "clip_0000" / "motion_vectors_0000.npy")[..., 0]
    assert backward.min() < -1.0, backward.min()
    rest = pose(23)
    assert np.allclose(pose(22), rest, atol=1e-3)  # at rest
    assert rest[0, 3] > 0.0  # it flew and slid towards +x
    # on a face: one of its axes upright; its centre (0.1 above its base's centre, the
    # origin) 0.1 m above the ground (a box on a box: their margins are inside)
    assert np.abs(rest[2, :3]).max() > 0.999
    centre = rest @ [0.0, 0.0, 0.1, 1.0]
    assert abs(centre[2] - 0.1) < 1e-4, rest

    shelf = blend_with_bodies(tmp_path / "shelf.blend", {"left": (-0.1, 0, 0.1), "right": (0.1, 0, 0.1)})
    text = LANDING + f'\n[[assets]]\nname = "shelf"\nfile = "{shelf.as_posix()}"\nlabels = {{ class = "shelf" }}\n'
    refused = text.replace('targets = "cube"\nvelocity', 'targets = ["cube", "shelf"]\nvelocity')
    assert render(write_param(tmp_path, refused, "refused.toml"), tmp_path / "refused") == 2
    assert not (tmp_path / "refused" / "clip_0000").exists()


def _reaches(dot: str, obj: str, source: str, target: str) -> bool:
    """Whether, in Blender's depsgraph relations (Depsgraph.debug_relations_graphviz),
    operation `source` of object `obj` leads to an operation named `target`."""
    import re

    labels, owner, stack = {}, {}, []
    for line in dot.splitlines():
        if line.startswith("subgraph cluster_"):
            stack.append(None)
        elif line.startswith("graph [") and stack and stack[-1] is None:
            found = re.search(r'label="ID_REF : OB(.*?) \(orig', line)
            stack[-1] = found.group(1) if found else ""
        elif line.startswith("}") and stack:
            stack.pop()
        node = re.match(r'"(\d+)" \[.*?label="([^"]*)"', line)
        if node:
            labels[node.group(1)] = node.group(2)
            owner[node.group(1)] = next((name for name in reversed(stack) if name), "")
    edges: dict = {}
    for a, b in re.findall(r'"(\d+)" -> "(\d+)"', dot):
        edges.setdefault(a, []).append(b)
    todo = [n for n, label in labels.items() if owner[n] == obj and label.startswith(source)]
    assert todo, (obj, source)
    seen = set(todo)
    while todo:
        for b in edges.get(todo.pop(), []):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return any(labels.get(n, "").startswith(target) for n in seen)


def test_held_bodies_animation_comes_before_the_simulation(tmp_path):
    """Every body Animated over the pre-roll (thrown or standing) is released by its keyframed
    Animated flag, which Blender's simulation must read after the frame's animation set it.
    Blender orders an object's animation before the simulation only through its transform:
    a body with the flag alone keyframed (was: every body not thrown) was read by the
    simulation before or after its animation, as the depsgraph's threads ran, so a resting
    body was released at the clip's second frame or one frame later (1.7 mm apart at frame
    1, in 13 of 16 runs of one file, the picture sometimes not matching the labels).
    And the bodies are rebuilt alike whichever frame's matrices Blender reads."""
    import bpy

    from sdg_addon.scene.clip_physics import BODIES, PREROLL, PROXIES, Proxy, _bodies, _new_world, _step_and_gravity
    from sdg_addon.scene.physics import proxy_collection

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_plane_add(size=4.0)
    ground = bpy.context.object
    cubes = []
    for x in (-0.5, 0.5):
        bpy.ops.mesh.primitive_cube_add(size=0.2, location=(x, 0.0, 0.1))
        cubes.append(bpy.context.object)
    collection = proxy_collection(scene, PROXIES)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    proxies = [Proxy(c, c, collection, depsgraph, c.name) for c in cubes]
    for proxy in proxies:
        proxy.place()
    start = 10
    world = _new_world(scene, start - PREROLL, 3 + PREROLL)
    _bodies(world, [(ground, "PASSIVE", "MESH", 0.0, {})] + [(p.body, "ACTIVE", p.shape, 0.001, {}) for p in proxies])
    step, gravity = _step_and_gravity(scene, world)
    throw = {"velocity": (1.0, 0.0, 1.0), "angular_velocity": (0.0, 200.0, 90.0)}
    proxies[0].hold(start, throw, step, gravity * (step / world.substeps_per_frame / 2))
    proxies[1].hold(start, None, step, gravity * (step / world.substeps_per_frame / 2))
    assert world.collection.name == BODIES
    path = tmp_path / "relations.dot"
    bpy.context.evaluated_depsgraph_get().debug_relations_graphviz(filepath=str(path))
    dot = path.read_text()
    for proxy in proxies:
        for reader in ("RIGIDBODY_SIM", "RIGIDBODY_TRANSFORM_COPY"):  # (the latter: the pose shown)
            assert _reaches(dot, proxy.body.name, "ANIMATION_EXIT", reader), (proxy.body.name, reader)
    # Blender rebuilds the bodies at the world's second frame from matrices of its first or
    # second frame (no relation orders them): a thrown body stands over both (was: it moved
    # between them, and a spinning one's path differed in the last float bits between runs)
    assert not _reaches(dot, proxies[0].body.name, "ANIMATION_EXIT", "RIGIDBODY_REBUILD")
    poses = {}
    for frame in (start - PREROLL, start - PREROLL + 1):
        scene.frame_set(frame)
        poses[frame] = [p.body.matrix_world.copy() for p in proxies]
    assert poses[start - PREROLL] == poses[start - PREROLL + 1]
    scene.frame_set(start)
    assert proxies[0].body.matrix_world != poses[start - PREROLL][0]  # (it moves into the clip)
    bpy.ops.wm.read_factory_settings(use_empty=True)


def test_worker_processes_write_the_same_clip_as_inline(tmp_path, linear):
    """With worker processes a capture's EXR would go to a worker by name; flow needs a
    clip's neighbours, so the render loop reads it itself and the frame travels as arrays:
    every file equals the inline run's, flow and motion vectors included."""
    _param, out = render_clip(tmp_path, "procs", extra=("--worker-mode", "processes", "--workers", "2"))
    files = sorted(p.relative_to(linear) for p in linear.rglob("*") if p.is_file() and "audit" not in p.parts)
    assert len(files) > 20 and any("forward_flow" in str(f) for f in files)
    for f in files:
        assert (out / f).read_bytes() == (linear / f).read_bytes(), f


def _deforming_blend(path: Path) -> None:
    """A bar bent by a two-bone armature and a plane whose shape key grows over frames
    1..3; the camera looks along +Y."""
    import math

    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_cube_add(size=1, location=(0, 0, 1))
    bar = bpy.context.object
    bar.name, bar.scale = "bar", (0.25, 0.25, 1.0)
    bpy.ops.object.transform_apply(scale=True)
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.subdivide(number_cuts=6)
    bpy.ops.object.mode_set(mode="OBJECT")
    bar["semantics"] = {"class": ["bar"]}
    rig = bpy.data.objects.new("rig", bpy.data.armatures.new("rig"))
    scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    lower = rig.data.edit_bones.new("lower")
    lower.head, lower.tail = (0, 0, 0), (0, 0, 1)
    upper = rig.data.edit_bones.new("upper")
    upper.head, upper.tail, upper.parent = (0, 0, 1), (0, 0, 2), lower
    bpy.ops.object.mode_set(mode="OBJECT")
    bar.modifiers.new("rig", "ARMATURE").object = rig
    for bone, inside in (("lower", lambda z: z < 1.0), ("upper", lambda z: z >= 1.0)):
        group = bar.vertex_groups.new(name=bone)
        group.add([v.index for v in bar.data.vertices if inside(v.co.z)], 1.0, "REPLACE")
    pose = rig.pose.bones["upper"]
    pose.rotation_mode = "XYZ"
    for frame, degrees in ((1, 0.0), (2, 20.0), (3, 45.0)):
        pose.rotation_euler = (0.0, math.radians(degrees), 0.0)
        pose.keyframe_insert("rotation_euler", frame=frame)
    bpy.ops.mesh.primitive_plane_add(size=0.8, location=(-1.2, 0, 1), rotation=(math.pi / 2, 0, 0))
    sheet = bpy.context.object
    sheet.name = "sheet"
    sheet["semantics"] = {"class": ["sheet"]}
    sheet.shape_key_add(name="basis")
    lean = sheet.shape_key_add(name="lean")
    for v in lean.data:
        if v.co.y > 0:  # the plane's top edge (local +Y) leans sideways
            v.co.x += 0.3
    for frame, value in ((1, 0.0), (3, 1.0)):
        lean.value = value
        lean.keyframe_insert("value", frame=frame)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (-0.4, -5.0, 1.2), (math.pi / 2, 0.0, 0.0)
    scene.camera = cam
    scene.collection.objects.link(bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN")))
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _flow_by_ray_casts(blend: Path, frame: int, step: int, width: int, height: int) -> dict:
    """{(row, col): (object, true flow (2,))}: each pixel centre's ray cast at scene frame
    `frame`, the hit point's barycentric coordinates in its evaluated triangle carried to
    that triangle at `frame + step`, projected with the camera."""
    import bpy
    from mathutils import Vector
    from mathutils.geometry import barycentric_transform, intersect_point_tri

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    cam = scene.camera
    f = cam.data.lens / cam.data.sensor_width * width
    to_cam = cam.matrix_world.inverted()

    def triangles(depsgraph, name):
        evaluated = bpy.data.objects[name].evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        mesh.calc_loop_triangles()
        out = {}
        for t in mesh.loop_triangles:
            out.setdefault(t.polygon_index, []).append(
                [evaluated.matrix_world @ mesh.vertices[i].co for i in t.vertices]
            )
        evaluated.to_mesh_clear()
        return out

    scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    hits = {}
    for row in range(height):
        for col in range(width):
            d = Vector(((col + 0.5 - width / 2) / f, -(row + 0.5 - height / 2) / f, -1.0))
            ok, loc, _n, poly, obj, _m = scene.ray_cast(
                depsgraph, cam.matrix_world.translation, cam.matrix_world.to_3x3() @ d
            )
            if ok:
                hits[row, col] = (obj.original.name, poly, loc.copy())
    here = {name: triangles(depsgraph, name) for name in {h[0] for h in hits.values()}}
    scene.frame_set(frame + step)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    there = {name: triangles(depsgraph, name) for name in here}
    out = {}
    for (row, col), (name, poly, loc) in hits.items():
        pairs = list(zip(here[name][poly], there[name][poly]))
        a, b = next(((a, b) for a, b in pairs if intersect_point_tri(loc, *a) is not None), pairs[0])
        q = to_cam @ barycentric_transform(loc, *a, *b)
        uv = np.array([width / 2 + f * q.x / -q.z, height / 2 - f * q.y / -q.z])
        out[row, col] = (name, uv - [col + 0.5, row + 0.5])
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return out


def test_flow_follows_armatures_and_shape_keys(tmp_path):
    """A .blend's armature bends a bar and a shape key leans a sheet: every valid pixel's
    forward and backward flow is its surface point's hand-computed motion (ray cast, carried
    on its deforming triangle) within 0.01 px. The rigid rule alone was off by up to 1.5 px
    there, with those pixels marked valid."""
    blend = tmp_path / "deform.blend"
    _deforming_blend(blend)
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=3)
        + f'[sequence]\nclip_length = 3\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\ninstance_segmentation = {}\nforward_flow = {}\nbackward_flow = {}\n",
        "deform.toml",
    )
    out = tmp_path / "deform"
    assert render(param, out) == 0
    for i, step, kind in (
        (0, 1, "forward_flow"),
        (1, 1, "forward_flow"),
        (1, -1, "backward_flow"),
        (2, -1, "backward_flow"),
    ):
        flow, valid = load(out, 0, i, kind), load(out, 0, i, f"{kind}_valid")
        seen = {"bar": 0, "sheet": 0}
        for (row, col), (name, true) in _flow_by_ray_casts(blend, 1 + i, step, W, H).items():
            if valid[row, col]:
                seen[name] += 1
                assert np.abs(flow[row, col] - true).max() < 0.01, (kind, i, name, row, col, flow[row, col], true)
        assert min(seen.values()) > 20, seen


def particle_scene(radius: float, size: float, height: float, cam_height: float):
    """An empty scene with a camera at y = -6 looking along +Y, a sun, and an emitter plane
    (`size`, at z = `height`) whose Newtonian particles are copies of a ball (`radius`, its
    source disabled in renders, as usual; labelled class ball). Returns the particle
    settings, for the test to set count, frames and lifetime."""
    import math

    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_ico_sphere_add(radius=radius, location=(0, 0, -20))
    ball = bpy.context.object
    ball.name, ball.hide_render = "ball", True
    ball["semantics"] = {"class": ["ball"]}
    bpy.ops.mesh.primitive_plane_add(size=size, location=(0, 0, height))
    emitter = bpy.context.object
    emitter.name, emitter.show_instancer_for_render = "emitter", False
    emitter.modifiers.new("p", "PARTICLE_SYSTEM")
    s = emitter.particle_systems[0].settings
    s.physics_type, s.normal_factor, s.render_type, s.instance_object = "NEWTON", 0.0, "OBJECT", ball
    s.particle_size = 1.0
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -6, cam_height), (math.pi / 2, 0, 0)
    scene.camera = cam
    scene.collection.objects.link(bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN")))
    return s


def test_particles_of_a_blend_play_in_a_clip(tmp_path):
    """Particles falling under gravity (their source object disabled in renders, as usual)
    are made real objects once, and still fall over the clip as Blender renders them: each
    copy sits where Blender's particle instance is at every frame, and the flow of its
    pixels is that motion projected (motion vectors agree)."""
    import bpy

    s = particle_scene(radius=0.1, size=1.0, height=2, cam_height=1)
    s.count, s.frame_start, s.frame_end, s.lifetime = 4, 1, 1, 100
    scene = bpy.context.scene
    blend = tmp_path / "fall.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    truth = []  # per frame of the clip (scene frames 10, 11, 12): each particle's location
    for frame in (10, 11, 12):
        scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        truth.append(sorted(tuple(i.matrix_world.translation) for i in depsgraph.object_instances if i.is_instance))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert truth[0] != truth[2]  # they fall
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=3)
        + f'[sequence]\nclip_length = 3\nstart_frame = 10\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\ndistance_to_image_plane = {}\ninstance_segmentation = {}\nbounding_box_3d = {}\n"
        + "forward_flow = {}\nmotion_vectors = {}\ncamera_params = {}\n",
        "fall.toml",
    )
    out = tmp_path / "fall"
    assert render(param, out) == 0
    params = json.loads((out / "clip_0000" / "camera_params_0000.json").read_text())
    fy, depth0 = params["fy"], load(out, 0, 0, "distance_to_image_plane")
    for i in range(3):
        boxes = load(out, 0, i, "bounding_box_3d")
        placed = sorted(tuple(np.asarray(b["transform"]).T[:3, 3]) for b in boxes)
        assert np.allclose(placed, truth[i], atol=1e-5), i
    # frame 0 -> 1: every ball pixel moves down by fy * dz / depth (no sideways motion)
    dz = {round(a[0], 4): b[2] - a[2] for a, b in zip(truth[0], truth[1])}
    assert len(set(dz.values())) == 1  # the same fall for all
    valid = load(out, 0, 0, "forward_flow_valid")
    flow, mv = load(out, 0, 0, "forward_flow"), load(out, 0, 0, "motion_vectors")
    assert valid.sum() > 10
    expected = -fy * next(iter(dz.values())) / depth0[valid]
    assert np.abs(flow[valid][:, 1] - expected).max() < 0.01 and np.abs(flow[valid][:, 0]).max() < 1e-3
    assert np.abs(mv[..., 2:][valid] - flow[valid]).max() < 0.01


def test_animation_inside_an_instanced_collection_plays_in_a_clip(tmp_path):
    """A collection instance of a keyframed object (a turning blade): the copy made real
    keeps the keyframes, so it turns as Blender renders it; flow = that turn, projected."""
    import math

    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    fan = bpy.data.collections.new("fan")
    scene.collection.children.link(fan)
    bpy.ops.mesh.primitive_cube_add(size=1.0)
    blade = bpy.context.object
    for c in list(blade.users_collection):
        c.objects.unlink(blade)
    fan.objects.link(blade)
    blade.name, blade.scale = "blade", (1.0, 0.3, 0.3)
    blade["semantics"] = {"class": ["blade"]}
    blade.keyframe_insert("rotation_euler", frame=1)
    blade.rotation_euler.y = 1.0
    blade.keyframe_insert("rotation_euler", frame=5)
    bpy.context.view_layer.layer_collection.children["fan"].exclude = True
    holder = bpy.data.objects.new("fan_0", None)
    holder.instance_type, holder.instance_collection, holder.location = "COLLECTION", fan, (0.3, 0, 1)
    scene.collection.objects.link(holder)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 1), (math.pi / 2, 0, 0)
    scene.camera = cam
    scene.collection.objects.link(bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN")))
    blend = tmp_path / "fan.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    poses = []
    for frame in (2, 3):
        scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        poses.append(next(np.array(i.matrix_world) for i in depsgraph.object_instances if i.is_instance))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=2)
        + f'[sequence]\nclip_length = 2\nstart_frame = 2\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\ndistance_to_image_plane = {}\ninstance_segmentation = {}\nforward_flow = {}\ncamera_params = {}\n",
        "fan.toml",
    )
    out = tmp_path / "fan"
    assert render(param, out) == 0
    p = json.loads((out / "clip_0000" / "camera_params_0000.json").read_text())
    fx, fy, cx, cy = p["fx"], p["fy"], p["cx"], p["cy"]
    depth, valid = load(out, 0, 0, "distance_to_image_plane"), load(out, 0, 0, "forward_flow_valid")
    flow = load(out, 0, 0, "forward_flow")
    rows, cols = np.nonzero(valid)
    assert len(rows) > 10
    d = depth[rows, cols].astype(np.float64)
    # The camera at (0, -4, 1) looks along +Y: image x = world x, image up = world z.
    world = np.stack([(cols + 0.5 - cx) / fx * d, d - 4.0, 1.0 - (rows + 0.5 - cy) / fy * d, np.ones_like(d)])
    moved = poses[1] @ np.linalg.inv(poses[0]) @ world
    u = cx + fx * moved[0] / (moved[1] + 4.0)
    v = cy - fy * (moved[2] - 1.0) / (moved[1] + 4.0)
    true = np.stack([u - (cols + 0.5), v - (rows + 0.5)], axis=1)
    assert np.abs(true).max() > 0.5  # it turns
    assert np.abs(flow[rows, cols] - true).max() < 0.01


def test_particles_born_and_dying_in_a_clip_are_there_exactly_when_blender_renders_them(tmp_path):
    """A particle system emitting over time, each particle living 3 frames, recorded from
    a .blend saved at frame 1 (where no particle lives yet): at every frame of the clip the
    dataset holds exactly the particles Blender renders then, where it renders them (none
    born later missing, none dead still there), with one instance id each for the clip."""
    import bpy

    s = particle_scene(radius=0.08, size=1.5, height=1, cam_height=0.8)
    s.count, s.frame_start, s.frame_end, s.lifetime, s.lifetime_random = 12, 2, 14, 3, 0.0
    s.effector_weights.gravity = 0.2
    scene = bpy.context.scene
    scene.frame_set(1)
    blend = tmp_path / "emit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    frames = range(6, 11)  # the clip's scene frames
    truth = []  # per frame: each living particle's location
    for frame in frames:
        scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        truth.append(sorted(tuple(i.matrix_world.translation) for i in depsgraph.object_instances if i.is_instance))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    counts = [len(t) for t in truth]
    assert min(counts) > 0 and len({tuple(t) for t in truth}) == len(truth)
    # Some are born during the clip and some die: neither set holds at the first frame only.
    first = {round(p[0], 5) for p in truth[0]}
    assert any({round(p[0], 5) for p in t} - first for t in truth[1:])
    assert any(first - {round(p[0], 5) for p in t} for t in truth[1:])
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=len(frames))
        + f'[sequence]\nclip_length = {len(frames)}\nstart_frame = {frames[0]}\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\nbounding_box_2d_tight = {}\nbounding_box_3d = {}\n",
        "emit.toml",
    )
    out = tmp_path / "emit"
    assert render(param, out) == 0
    ids_of = {}  # particle copy's prim path -> its instance id, over the clip
    for i in range(len(frames)):
        boxes = load(out, 0, i, "bounding_box_3d")
        placed = sorted(tuple(np.asarray(b["transform"]).T[:3, 3]) for b in boxes)
        assert len(placed) == len(truth[i]) and np.allclose(placed, truth[i], atol=1e-5), i
        info = json.loads((out / "clip_0000" / f"bounding_box_3d_prim_paths_{i:04d}.json").read_text())
        for path, box in zip(info, boxes):
            assert ids_of.setdefault(path, int(box["semanticId"])) is not None
        # What the image shows is a particle living at this frame (none dead still drawn).
        shown = json.loads((out / "clip_0000" / f"bounding_box_2d_tight_prim_paths_{i:04d}.json").read_text())
        assert shown and set(shown) <= set(info), (i, shown, info)
    assert len(ids_of) > max(counts)  # more particles over the clip than at any one frame


@pytest.mark.parametrize("kind", ["VERTS", "FACES"])
def test_vertex_and_face_instancing_play_in_a_clip_as_blender_renders_them(tmp_path, kind):
    """Vertex / face instancing of a pebble on a plane whose shape key spreads it and
    whose object tilts over the clip: at every frame the dataset has one copy per vertex
    (face) exactly where Blender's instance is (3D boxes: the whole transform), and the
    instance masks cover what Blender itself renders of the file at that frame. (The
    copies were hidden at every frame of a clip: the instancing they are read from had
    been switched off when they were made.)"""

    import bpy
    from PIL import Image

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    if kind == "VERTS":
        bpy.ops.mesh.primitive_plane_add(size=1.0)
    else:  # two faces
        bpy.ops.mesh.primitive_grid_add(x_subdivisions=2, y_subdivisions=1, size=1.0)
    holder = bpy.context.object
    holder.name, holder.instance_type, holder.use_instance_faces_scale = "holder", kind, True
    holder.shape_key_add(name="Basis")
    spread = holder.shape_key_add(name="spread")
    for v in spread.data:
        v.co = (v.co.x * 2.0, v.co.y * 1.5, v.co.z)
    for frame, value, tilt in ((1, 0.0, 0.0), (11, 1.0, 0.6)):
        spread.value, holder.rotation_euler.y = value, tilt
        spread.keyframe_insert("value", frame=frame)
        holder.keyframe_insert("rotation_euler", frame=frame)
    bpy.ops.mesh.primitive_cube_add(size=0.25)
    pebble = bpy.context.object
    pebble.name, pebble.parent = "pebble", holder
    pebble["semantics"] = {"class": ["pebble"]}
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location = (0, 0, 5)  # looking down -Z
    scene.camera = cam
    scene.collection.objects.link(bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN")))
    scene.frame_set(1)
    blend = tmp_path / "inst.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    frames = range(4, 7)
    truth, seen = [], []  # per frame: Blender's instance matrices; where it renders something
    scene.render.engine, scene.cycles.samples, scene.cycles.device = "CYCLES", 1, "CPU"
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    scene.render.film_transparent, scene.render.image_settings.color_mode = True, "RGBA"
    scene.render.filter_size = 0.0  # a pixel is covered where its centre is, as in the masks
    for frame in frames:
        scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        truth.append(
            sorted((np.array(i.matrix_world) for i in depsgraph.object_instances if i.is_instance), key=tuple_of)
        )
        scene.render.filepath = str(tmp_path / f"blender_{frame}.png")
        bpy.ops.render.render(write_still=True)
        seen.append(np.array(Image.open(scene.render.filepath))[..., 3] > 127)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert len(truth[0]) == (4 if kind == "VERTS" else 2)
    assert not np.allclose(truth[0][0], truth[-1][0], atol=1e-3)  # they move
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=len(frames))
        + f'[sequence]\nclip_length = {len(frames)}\nstart_frame = {frames[0]}\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\nbounding_box_3d = {}\ninstance_segmentation = {}\n",
        "inst.toml",
    )
    out = tmp_path / "inst"
    assert render(param, out) == 0
    for i in range(len(frames)):
        boxes = load(out, 0, i, "bounding_box_3d")
        placed = sorted((np.asarray(b["transform"]).T for b in boxes), key=tuple_of)
        assert len(placed) == len(truth[i]) and np.allclose(placed, truth[i], atol=1e-5), i
        ids = np.array(Image.open(out / "clip_0000" / f"instance_segmentation_{i:04d}.png"))
        masked = ids[..., 3] > 0  # colourized: background (0, 0, 0, 0), each copy its colour
        assert masked.sum() > 20 and (masked != seen[i]).sum() <= 0.02 * seen[i].sum(), i
        mapping = json.loads((out / "clip_0000" / f"instance_segmentation_mapping_{i:04d}.json").read_text())
        shown = {mapping[str(tuple(int(x) for x in c))] for c in ids[masked]}
        copies = {f"/holder/instance_{k:03d}" for k in range(len(truth[i]))}
        assert shown - {"UNLABELLED"} == copies, i  # every copy is seen (and the plane, unlabelled)


def tuple_of(matrix) -> tuple:
    """A 4x4 matrix's translation, to sort instances by."""
    return tuple(np.round(np.asarray(matrix)[:3, 3], 5))


def test_vertex_instances_added_during_a_clip_are_there_from_the_frame_blender_renders_them(tmp_path):
    """Vertex instancing on a plane whose Array modifier's count grows during the clip:
    every frame holds exactly the copies Blender renders then (a vertex added later gets
    its copy, hidden before), where Blender puts them."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_plane_add(size=0.5, location=(-1.0, 0.0, 1.0))
    holder = bpy.context.object
    holder.name, holder.instance_type = "holder", "VERTS"
    array = holder.modifiers.new("Array", "ARRAY")
    array.relative_offset_displace = (1.5, 0.0, 0.0)
    for frame, count in ((1, 1), (7, 4)):
        array.count = count
        array.keyframe_insert("count", frame=frame)
    bpy.ops.mesh.primitive_cube_add(size=0.1, location=(-1.0, 0.0, 1.0))
    stud = bpy.context.object
    stud.name, stud.parent, stud["semantics"] = "stud", holder, {"class": ["stud"]}
    stud.matrix_parent_inverse = holder.matrix_world.inverted()
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location, scene.camera = (0.5, 0.0, 6.0), cam  # looking down: all in view
    scene.frame_set(1)
    blend = tmp_path / "studs.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    frames = range(2, 7)
    truth = []
    for frame in frames:
        scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        truth.append(sorted(tuple(i.matrix_world.translation) for i in depsgraph.object_instances if i.is_instance))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert len(truth[0]) < len(truth[-1])
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=len(frames))
        + f'[sequence]\nclip_length = {len(frames)}\nstart_frame = {frames[0]}\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\nbounding_box_3d = {}\n",
        "studs.toml",
    )
    out = tmp_path / "studs"
    assert render(param, out) == 0
    for i in range(len(frames)):
        placed = sorted(tuple(np.asarray(b["transform"]).T[:3, 3]) for b in load(out, 0, i, "bounding_box_3d"))
        assert len(placed) == len(truth[i]) and np.allclose(placed, truth[i], atol=1e-5), i


def test_a_parallel_resume_the_render_processes_refuse_leaves_the_frame_log_as_it_was(tmp_path, capfd):
    """The parent of a parallel resume forgets the logged frames of a clip to render again;
    it forgot them before the render processes had built their scene, so when they refused
    it (exit 2, here a texture edited since the run) the log had lost them: the folder was
    not left as found. They are now forgotten when the first frames are handed out."""
    from sdg_addon.writers.png import encode_png

    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "a.png").write_bytes(encode_png(np.full((4, 4, 3), 90, np.uint8)))
    text = BASE.format(frames=4, clip_length=2, motion="velocity = [0.4, 0.0, 0.0]")
    text += '\n[[randomizers]]\ntype = "texture"\ntargets = "box"\nfolder = "tex"\n'
    param = write_param(tmp_path, text)
    out = tmp_path / "out"
    assert render(param, out) == 0
    log = out / "audit" / "frames.jsonl"
    log.write_text("".join(x + "\n" for x in log.read_text().splitlines() if json.loads(x)["frame"] != 3))
    before = log.read_bytes()
    (tmp_path / "tex" / "a.png").write_bytes(encode_png(np.full((4, 4, 3), 200, np.uint8)))
    capfd.readouterr()
    assert render(param, out, "--resume", "--procs", "2", "--chunk", "2") == 2
    assert "the files the scene reads differ" in capfd.readouterr().err
    assert log.read_bytes() == before


def test_collection_instances_shaped_by_animated_objects_play_in_a_clip_as_blender_renders_them(tmp_path):
    """An instanced collection of a wall whose boolean cutter moves and a bar an armature
    bends over the clip, instanced twice (one turned): at every frame the instance masks
    cover what Blender itself renders of the file (the copies' modifiers use copies of
    the cutter and the armature, which keep their keyframes)."""

    import bpy
    from PIL import Image

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    parts = bpy.data.collections.new("parts")
    scene.collection.children.link(parts)
    rig = bpy.data.objects.new("rig", bpy.data.armatures.new("rig"))
    parts.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("tip")
    bone.head, bone.tail = (0.0, 0.0, 0.0), (0.5, 0.0, 0.0)
    bpy.ops.object.mode_set(mode="OBJECT")
    pose = rig.pose.bones["tip"]
    pose.rotation_mode = "XYZ"
    for frame, turn in ((1, 0.0), (9, 1.5)):
        pose.rotation_euler = (0.0, 0.0, turn)
        pose.keyframe_insert("rotation_euler", frame=frame)
    bar = bpy.data.objects.new("bar", bpy.data.meshes.new("bar"))
    bar.data.from_pydata(
        [(x, y, z) for x in (0.0, 0.5) for y in (-0.05, 0.05) for z in (-0.05, 0.05)],
        [],
        [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)],
    )
    parts.objects.link(bar)
    bar.vertex_groups.new(name="tip").add(list(range(8)), 1.0, "REPLACE")
    bar.modifiers.new("rig", "ARMATURE").object = rig
    bar["semantics"] = {"class": ["bar"]}
    bpy.ops.mesh.primitive_cube_add(size=0.6, location=(0.0, 0.8, 0.0))
    wall = bpy.context.object
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.25, location=(-0.3, 0.8, 0.3))
    cutter = bpy.context.object
    for obj in (wall, cutter):
        for c in list(obj.users_collection):
            c.objects.unlink(obj)
        parts.objects.link(obj)
    wall.name, cutter.name, cutter.hide_render = "wall", "cutter", True
    wall["semantics"] = {"class": ["wall"]}
    wall.modifiers.new("hole", "BOOLEAN").object = cutter
    for frame, x in ((1, -0.3), (9, 0.3)):
        cutter.location.x = x
        cutter.keyframe_insert("location", frame=frame)
    bpy.context.view_layer.layer_collection.children["parts"].exclude = True
    for i, x in enumerate((-1.0, 1.0)):
        holder = bpy.data.objects.new(f"ci_{i}", None)
        holder.instance_type, holder.instance_collection = "COLLECTION", parts
        holder.location, holder.rotation_euler.z = (x, 0.0, 0.0), 0.5 * i
        scene.collection.objects.link(holder)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location, scene.camera = (0.0, 0.3, 6.0), cam
    scene.frame_set(1)
    blend = tmp_path / "parts.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    frames = range(3, 7)
    seen = []  # per frame: where Blender renders something
    scene.render.engine, scene.cycles.samples, scene.cycles.device = "CYCLES", 1, "CPU"
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = W, H, 100
    scene.render.film_transparent, scene.render.image_settings.color_mode = True, "RGBA"
    scene.render.filter_size = 0.0
    for frame in frames:
        scene.frame_set(frame)
        scene.render.filepath = str(tmp_path / f"blender_{frame}.png")
        bpy.ops.render.render(write_still=True)
        seen.append(np.array(Image.open(scene.render.filepath))[..., 3] > 127)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert (seen[0] != seen[-1]).sum() > 10  # the holes move, the bars bend
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=len(frames))
        + f'[sequence]\nclip_length = {len(frames)}\nstart_frame = {frames[0]}\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\ninstance_segmentation = {}\n",
        "parts.toml",
    )
    out = tmp_path / "parts"
    assert render(param, out) == 0
    for i in range(len(frames)):
        masked = np.array(Image.open(out / "clip_0000" / f"instance_segmentation_{i:04d}.png"))[..., 3] > 0
        assert (masked != seen[i]).sum() <= 0.03 * seen[i].sum(), (i, (masked != seen[i]).sum(), seen[i].sum())


def test_vertex_instancing_inside_a_collection_instance_plays_in_a_clip(tmp_path):
    """A vertex instancer (its shape key spreading it) and its child in an instanced
    collection, instanced twice: every frame of the clip holds the copies Blender renders,
    where it renders them (they were hidden at every frame: the child's copy was kept out
    of the instancing read with the vertices' copies)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    parts = bpy.data.collections.new("parts")
    scene.collection.children.link(parts)
    bpy.ops.mesh.primitive_plane_add(size=0.6)
    bpy.ops.mesh.primitive_cube_add(size=0.1)
    holder, child = bpy.data.objects["Plane"], bpy.data.objects["Cube"]
    for obj in (holder, child):
        for c in list(obj.users_collection):
            c.objects.unlink(obj)
        parts.objects.link(obj)
    holder.name, holder.instance_type = "holder", "VERTS"
    holder.shape_key_add(name="Basis")
    spread = holder.shape_key_add(name="spread")
    for v in spread.data:
        v.co = v.co * 2.0
    for frame, value in ((1, 0.0), (9, 1.0)):
        spread.value = value
        spread.keyframe_insert("value", frame=frame)
    child.name, child.parent, child["semantics"] = "child", holder, {"class": ["child"]}
    bpy.context.view_layer.layer_collection.children["parts"].exclude = True
    for i, (x, turn) in enumerate(((-1.0, 0.0), (1.0, 0.7))):
        e = bpy.data.objects.new(f"ci_{i}", None)
        e.instance_type, e.instance_collection = "COLLECTION", parts
        e.location, e.rotation_euler.z = (x, 0.0, 0.0), turn
        scene.collection.objects.link(e)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location, scene.camera = (0.0, 0.0, 6.0), cam
    scene.frame_set(1)
    blend = tmp_path / "nested.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    frames = range(3, 6)
    truth = []
    for frame in frames:
        scene.frame_set(frame)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        truth.append(
            sorted(
                tuple(i.matrix_world.translation)
                for i in depsgraph.object_instances
                if i.is_instance and i.object.original.name == "child"
            )
        )
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert len(truth[0]) == 8 and truth[0] != truth[-1]
    param = write_param(
        tmp_path,
        header((W, H), samples=1, seed=1, frames=len(frames))
        + f'[sequence]\nclip_length = {len(frames)}\nstart_frame = {frames[0]}\n[scene]\nblend = "{blend.as_posix()}"\n'
        + "[annotators]\nbounding_box_3d = {}\n",
        "nested.toml",
    )
    out = tmp_path / "nested"
    assert render(param, out) == 0
    for i in range(len(frames)):
        placed = sorted(tuple(np.asarray(b["transform"]).T[:3, 3]) for b in load(out, 0, i, "bounding_box_3d"))
        assert len(placed) == len(truth[i]) and np.allclose(placed, truth[i], atol=1e-5), i


def test_distractor_assets_are_passive_bodies_of_a_clip(tmp_path):
    """A distractor asset (unlabelled on purpose: furniture, Kubric's static=True) stays
    where it is in a rigid-body clip, even in mid-air, while a labelled one falls beside it."""
    text = (
        header((W, H), samples=1, seed=1, frames=6)
        + "[sequence]\nclip_length = 6\nfps = 12\nrigid_body = true\n"
        + camera((0.0, -8.0, 3.0), (0.0, 0.0, 1.0))
        + '[[assets]]\nname = "clutter"\nprimitive = "sphere"\nsize = 0.5\nlocation = [0, 0, 2]\ndistractor = true\n'
        + '[[assets]]\nname = "ball"\nprimitive = "sphere"\nsize = 0.5\nlocation = [1, 0, 2]\nlabels = { class = "ball" }\n'
        + "[annotators]\ninstance_id_segmentation = {}\nbounding_box_3d = {}\n"
    )
    from PIL import Image

    out = tmp_path / "out"
    assert render(write_param(tmp_path, text, "static.toml"), out) == 0
    clip = out / "clip_0000"

    def clutter_pixels(i: int) -> np.ndarray:
        mapping = json.loads((clip / f"instance_id_segmentation_mapping_{i:04d}.json").read_text())
        (key,) = [k for k, path in mapping.items() if path.endswith("/clutter")]
        colour = [int(c) for c in key.strip("()").split(",")]
        image = np.array(Image.open(clip / f"instance_id_segmentation_{i:04d}.png"))
        return np.argwhere((image == colour).all(axis=-1))

    assert len(clutter_pixels(0)) > 0 and np.array_equal(clutter_pixels(0), clutter_pixels(5))
    ball = [np.load(clip / f"bounding_box_3d_{i:04d}.npy")["transform"][0][3, 2] for i in (0, 5)]
    assert ball[0] == pytest.approx(2.0) and ball[1] < 1.5  # the ball fell


@pytest.mark.parametrize("boxes", ["full", "visible"])
def test_mot_writer_tracks_are_the_basic_writers_boxes_with_ids_stable_in_each_clip(tmp_path, boxes):
    """Two clips with the mot writer beside the basic one: one MOT sequence per clip whose
    gt.txt rows are the BasicWriter's rows of the boxes the writer adds by itself (left/top
    + 1, MOT's 1-based pixels): bounding_box_2d_loose for boxes = "full" (nothing is cut off
    by the border here, so the full box is the loose one), bounding_box_2d_tight for
    "visible"; each object's track id the same in every frame, and img1/ the frames' RGB.
    The ball passes behind the moving box: with full boxes it keeps its row there."""
    from PIL import Image

    text = (
        BASE.format(frames=6, clip_length=3, motion="velocity = [0.4, 0.0, 0.0]")
        + f'\n[writers]\nbasic = {{}}\nmot = {{ boxes = "{boxes}" }}\n'
    )
    annotator, other = {
        "full": ("bounding_box_2d_loose", "bounding_box_2d_tight"),
        "visible": ("bounding_box_2d_tight", "bounding_box_2d_loose"),
    }[boxes]
    rows_per_frame = []
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    ids_of: dict[str, set] = {}
    for clip in range(2):
        seq = out / "mot" / "train" / f"clip_{clip:04d}"
        info = (seq / "seqinfo.ini").read_text()
        assert f"name=clip_{clip:04d}\n" in info and "frameRate=2\n" in info and "seqLength=3\n" in info
        assert f"imWidth={W}\nimHeight={H}\n" in info
        rows = [line.split(",") for line in (seq / "gt" / "gt.txt").read_text().splitlines()]
        assert (seq / "gt" / "labels.txt").read_text().splitlines() == ["box", "ball"]
        for i in range(3):
            assert not (out / f"clip_{clip:04d}" / f"{other}_{i:04d}.npy").exists(), "only the boxes it needs"
            found = load(out, clip, i, annotator)
            paths = json.loads((out / f"clip_{clip:04d}" / f"{annotator}_prim_paths_{i:04d}.json").read_text())
            by_box = {
                (
                    int(b["x_min"]) + 1,
                    int(b["y_min"]) + 1,
                    int(b["x_max"] - b["x_min"]) + 1,
                    int(b["y_max"] - b["y_min"]) + 1,
                ): p
                for b, p in zip(found, paths)
            }
            mine = [r for r in rows if r[0] == str(i + 1)]
            assert len(mine) == len(by_box) >= 1
            rows_per_frame.append(len(mine))
            for r in mine:
                path = by_box[tuple(int(v) for v in r[2:6])]
                ids_of.setdefault(path, set()).add(int(r[1]))
                assert r[6] == "1" and r[7] == ("1" if path.endswith("/box") else "2")
            rgb = np.asarray(Image.open(out / f"clip_{clip:04d}" / f"rgb_{i:04d}.png").convert("RGB"))
            assert np.array_equal(np.asarray(Image.open(seq / "img1" / f"{i + 1:06d}.png")), rgb)
    assert len(ids_of) == 2 and all(len(ids) == 1 for ids in ids_of.values()), ids_of
    # The ball goes behind the moving box: a row while hidden with full boxes only.
    assert (rows_per_frame == [2] * 6) if boxes == "full" else (min(rows_per_frame) == 1), rows_per_frame


@pytest.mark.parametrize("fps", [1e-6, 3.2767e9])
def test_a_clip_at_the_fps_limits_renders(tmp_path, fps):
    """sequence.fps at its declared limits: Blender's fps is an int of at most 32767 (was:
    fps = round(sequence.fps), and a rate past 2^31 stopped the run with bpy's 'value not in
    int range')."""
    text = header((32, 24), samples=1, frames=2) + camera((0.0, -3.0, 2.0), (0.0, 0.0, 0.0)) + sun()
    text += f"[sequence]\nclip_length = 2\nfps = {fps!r}\n"
    text += '[[assets]]\nname = "cube"\nprimitive = "cube"\nlabels = { class = "cube" }\n'
    text += '[[randomizers]]\ntype = "trajectory"\ntargets = "cube"\nvelocity = [0, 0, 0]\n'
    assert render(write_param(tmp_path, text), tmp_path / "out") == 0


DROP = (
    header((16, 12), samples=1, seed=1, frames=24)
    + """
[sequence]
clip_length = 24
fps = 12
rigid_body = true
{substeps}
[scene]
ground = {{ size = 20.0 }}
"""
    + camera((0.0, -12.0, 3.0), (0.0, 0.0, 1.0))
    + sun()
    + """
[[assets]]
name = "cube"
primitive = "cube"
size = 1.0
location = [0.0, 0.0, 5.0]
labels = {{ class = "cube" }}

[annotators]
object_pose = {{}}
"""
)


def test_substeps_per_frame_and_solver_iterations_reach_the_simulation(tmp_path, monkeypatch):
    """[sequence] substeps_per_frame and solver_iterations (BlenderProc's substeps_per_frame
    and solver_iters, Kubric's step_rate = 240 as ceil(240 / fps)) are the rigid-body world's
    while each clip simulates (they were Blender's defaults, 10 and 10, whatever the file),
    and they change the simulation: a 1 m cube dropped flat from 5 m lands elsewhere."""
    from sdg_addon.scene import clip_physics

    seen = []
    made = clip_physics.new_rigid_body_world

    def spied(scene, bodies_name):
        world = made(scene, bodies_name)
        seen.append(world)
        return world

    monkeypatch.setattr(clip_physics, "new_rigid_body_world", spied)

    def last_pose(name: str, substeps: str) -> np.ndarray:
        out = tmp_path / name
        assert render(write_param(tmp_path, DROP.format(substeps=substeps), f"{name}.toml"), out) == 0
        (m,) = np.load(out / "clip_0000" / "object_pose_objectToWorld_0023.npy")
        return m

    default = last_pose("default", "")
    assert (seen[-1].substeps_per_frame, seen[-1].solver_iterations) == (10, 10)
    stiff = last_pose("stiff", "substeps_per_frame = 20\nsolver_iterations = 15\n")
    assert (seen[-1].substeps_per_frame, seen[-1].solver_iterations) == (20, 15)
    assert abs(stiff[2, 3]) < 1e-4  # at rest on the ground (a box on a box: their margins are inside)
    assert not np.allclose(default, stiff, atol=1e-3)
