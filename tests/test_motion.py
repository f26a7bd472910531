"""Sequences without Blender: trajectories, per-clip sampling, flow geometry, config rules."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_addon.annotators.flow import LEAVES_IMAGE, NO_FRAME, NO_SURFACE, OCCLUDED, VALID, geometric_flow
from sdg_addon.config import ConfigError, load_config
from sdg_addon.frame import Camera, FrameData, FrameView, LabelTable, SceneObject
from sdg_addon.sampling import RANDOMIZERS, make_distribution, sample_frame
from sdg_addon.sampling.motion import integrate_velocity

CAMERA = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'


def spec(kind, options=None, **params):
    return RANDOMIZERS[kind]({k: make_distribution(v) for k, v in params.items()}, options or {})


def test_linear_and_spline_integration_are_exact():
    v = np.array([[1.0, 0.0, -2.0]])
    assert np.allclose(integrate_velocity(v, 2.0, 0.75), [0.75, 0.0, -1.5])
    assert np.allclose(integrate_velocity(v, 2.0, -0.5), [-0.5, 0.0, 1.0])  # before the clip
    # knots 0 -> 2 m/s over [0, 1] s then 2 -> 0 over [1, 2]: areas 1 and 1 (triangle)
    knots = np.array([[0.0, 0, 0], [2.0, 0, 0], [0.0, 0, 0]])
    assert integrate_velocity(knots, 2.0, 0.0)[0] == 0.0
    assert np.isclose(integrate_velocity(knots, 2.0, 0.5)[0], 0.25)  # 0.5 * 0.5 * 1
    assert np.isclose(integrate_velocity(knots, 2.0, 1.0)[0], 1.0)
    assert np.isclose(integrate_velocity(knots, 2.0, 2.0)[0], 2.0)
    assert np.isclose(integrate_velocity(knots, 2.0, 2.5)[0], 2.0)  # last velocity (0) continues
    # velocity at a knot is the sampled one: the derivative there
    eps = 1e-6
    d = (integrate_velocity(knots, 2.0, 1.0 + eps) - integrate_velocity(knots, 2.0, 1.0 - eps)) / (2 * eps)
    assert np.isclose(d[0], 2.0, atol=1e-4)


def test_randomizers_act_once_per_clip():
    rs = [
        spec("pose", location={"distribution": "uniform", "low": [-1, -1, 0], "high": [1, 1, 0]}),
        spec("world", strength={"distribution": "sequence", "values": [1.0, 2.0, 3.0]}),
        spec("trajectory", velocity={"distribution": "uniform", "low": [-1, -1, 0], "high": [1, 1, 0]}),
    ]
    targets = [["a", "b"], [], ["a"]]
    frames = [sample_frame(5, f, rs, targets, clip_length=4, fps=2.0) for f in range(8)]
    for f in range(8):
        first = frames[f - f % 4]
        assert frames[f][0]["values"] == first[0]["values"]  # pose: same values in a clip
        assert frames[f][0].get("trigger_frame", f) == f - f % 4
        assert frames[f][1]["values"]["world"]["strength"] == [1.0, 2.0][f // 4]  # sequence steps per clip
        v = frames[f][2]["values"]["a"]
        assert v["velocity"] == first[2]["values"]["a"]["velocity"]
        t = (f % 4) / 2.0
        assert v["time"] == t
        assert np.allclose(v["location_offset"], np.array(v["velocity"][0]) * t)
    assert frames[0][0] != frames[4][0]  # another clip, other values
    # triggers compose: the draw of the clip's first frame (interval 6: frame 8 shows the draw of 6)
    every6 = RANDOMIZERS["pose"](rs[0].params, {}, "frame", 6)
    once = RANDOMIZERS["pose"](rs[0].params, {}, "once", 1)
    drawn = [sample_frame(5, f, [every6, once], [["a"], ["a"]], clip_length=4) for f in range(12)]
    assert [d[0].get("trigger_frame", f) for f, d in enumerate(drawn)] == [0] * 8 + [6] * 4
    assert all(d[1]["values"] == drawn[0][1]["values"] for d in drawn)
    # clip length 1 is exactly the stills rule
    still = [sample_frame(5, f, rs[:2], targets[:2]) for f in range(3)]
    assert still == [sample_frame(5, f, rs[:2], targets[:2], clip_length=1) for f in range(3)]


def test_spline_trajectory_samples_one_velocity_per_knot():
    r = spec(
        "camera_trajectory",
        {"path": "spline", "knots": 4},
        velocity={"distribution": "uniform", "low": [-1, -1, -1], "high": [1, 1, 1]},
    )
    v = sample_frame(1, 0, [r], [["cam"]], clip_length=5)[0]["values"]["cam"]
    assert len(v["velocity"]) == 4 and len({tuple(k) for k in v["velocity"]}) == 4


def _camera(x=0.0):
    c2w = np.eye(4)
    c2w[:3, 3] = [x, 0.0, 5.0]  # looking down -Z at the XY plane
    return Camera("cam", 20, 10, "perspective", c2w, 10.0, 10.0, 10.0, 5.0, 0.1, 100.0)


def _frame(depth, instance, obj_to_world, camera=None):
    objs = {2: SceneObject(2, "p", "/p", {}, obj_to_world, np.zeros(3), np.ones(3))}
    return FrameData(0, camera or _camera(), {"depth": depth, "instance": instance}, objs, LabelTable())


def test_geometric_flow_statuses():
    h, w = 10, 20
    depth = np.full((h, w), 5.0, np.float32)
    depth[:, :2] = np.inf  # background
    inst = np.full((h, w), 2, np.uint32)
    inst[:, :2] = 0
    moved = np.eye(4)
    moved[0, 3] = 1.0  # +1 m in x at depth 5: +2 px (fx 10)
    a = _frame(depth, inst, np.eye(4))
    assert (geometric_flow(a, "next")["info"]["status"][:, 2:] == NO_FRAME).all()
    other_depth = depth.copy()
    other_depth[:, 10] = 1.0  # something in front of column 10 in the next frame
    a.neighbours["next"] = FrameView(1, _camera(), {2: moved}, other_depth, inst)
    out = geometric_flow(a, "next")
    flow, status = out["data"], out["info"]["status"]
    assert np.allclose(flow[:, 2:], [2.0, 0.0], atol=1e-5)
    assert (status[:, :2] == NO_SURFACE).all() and not flow[:, :2].any()
    assert (status[:, 18:] == LEAVES_IMAGE).all()
    assert (status[:, 8] == OCCLUDED).all()  # lands on column 10
    assert (status[:, 2:8] == VALID).all() and out["info"]["valid"][:, 2:8].all()
    # a moving camera: the static plane flows the other way
    a.neighbours["next"] = FrameView(1, _camera(x=1.0), {2: np.eye(4)}, depth, inst)
    assert np.allclose(geometric_flow(a, "next")["data"][:, 2:], [-2.0, 0.0], atol=1e-5)


def test_a_steep_plane_nothing_hides_is_not_taken_for_occluded():
    """A point is compared with the surface at its own position, not only at the centre of
    the pixel it falls in: on a plane seen at a grazing angle (a floor towards the horizon)
    depth changes by several percent across a pixel, and a camera moving over an empty floor
    had a third of its floor pixels 'occluded' (status 3). The plane z = k x under a camera
    looking down, moved 0.3 m sideways: every point that stays in the image is valid."""
    h, w, k = 10, 20, 0.8
    u = np.arange(w) + 0.5

    def plane_depth(cam_x):  # depth of z = k x through each pixel centre, camera at (cam_x, 0, 5)
        return np.tile(((5 - k * cam_x) / (1 + k * (u - 10.0) / 10.0)).astype(np.float32), (h, 1))

    inst = np.full((h, w), 2, np.uint32)
    a = _frame(plane_depth(0.0), inst, np.eye(4))
    a.neighbours["next"] = FrameView(1, _camera(x=0.3), {2: np.eye(4)}, plane_depth(0.3), inst)
    status = geometric_flow(a, "next")["info"]["status"]
    assert set(np.unique(status)) <= {VALID, LEAVES_IMAGE} and (status == VALID).sum() > 150, np.bincount(
        status.ravel()
    )
    # a surface in front still hides it (the pixels it lands on see something nearer)
    nearer = plane_depth(0.3)
    nearer[:, 8:12] = 1.0
    a.neighbours["next"] = FrameView(1, _camera(x=0.3), {2: np.eye(4)}, nearer, inst)
    assert (geometric_flow(a, "next")["info"]["status"] == OCCLUDED).sum() >= 4 * h


def test_sequence_section_rules(tmp_path):
    def problems(text):
        p = tmp_path / "p.toml"
        p.write_text(text + CAMERA)
        with pytest.raises(ConfigError) as info:
            load_config(p)
        return {(x.field): x for x in info.value.problems}

    found = problems("[run]\nframes = 10\n[sequence]\nclip_length = 4\n")
    assert "run.frames" in found and "multiple" in found["run.frames"].expected
    found = problems('[sequence]\nclip_length = 0\nfps = 0\nfolders = "clips"\n')
    assert {"sequence.clip_length", "sequence.fps", "sequence.folders"} <= set(found)
    found = problems('[[randomizers]]\ntype = "trajectory"\ntargets = "*"\npath = "bezier"\nknots = 1\n')
    assert "'spline'" in found["randomizers[0].path"].expected
    assert "randomizers[0].knots" in found
    p = tmp_path / "ok.toml"
    p.write_text("[run]\nframes = 12\n[sequence]\nclip_length = 4\nfps = 30\n" + CAMERA)
    cfg = load_config(p)
    assert (cfg.sequence.clip_length, cfg.sequence.fps, cfg.sequence.folders) == (4, 30.0, "clip")
    p.write_text("[run]\nframes = 4\n[sequence]\nclip_length = 1\n" + CAMERA)
    assert load_config(p).sequence.clip_length == 1  # the limit: stills


@pytest.mark.parametrize("kind", ["trajectory", "camera_trajectory"])
def test_a_velocity_that_carries_its_targets_past_the_coordinate_bound_is_refused(tmp_path, kind):
    """velocity up to 1e6 m/s over clips of 2 s put objects 2e6 m away, where every other
    coordinate of the file stops at 1e6 m (Blender's precision), without a word; a velocity
    whose offset over a clip (clip_length / fps) may pass 1e6 m is now refused, the bound
    itself taken."""

    def found(high, clip_length=48, fps=24):
        p = tmp_path / "p.toml"
        p.write_text(
            f"[run]\nframes = {clip_length}\n[sequence]\nclip_length = {clip_length}\nfps = {fps}\n"
            f'[[randomizers]]\ntype = "{kind}"\ntargets = "*"\n'
            f'velocity = {{ distribution = "uniform", low = [0, 0, 0], high = [{high}, 0, 0] }}\n' + CAMERA
        )
        try:
            load_config(p)
        except ConfigError as e:
            return {x.field: x.expected for x in e.problems}
        return {}

    said = found(1e6)
    assert list(said) == ["randomizers[0].velocity"], said
    assert "+-500000 metres per second" in said["randomizers[0].velocity"]
    assert found(5e5) == {}  # 2 s at 500 km/s: 1e6 m, the bound
    assert list(found(5.0001e5)) == ["randomizers[0].velocity"]
    assert found(1e6, clip_length=2, fps=2) == {}


def test_flow_colours_for_looking_at_a_dataset():
    from sdg_addon.colormaps import colorize_flow

    flow = np.array([[[2.0, 0.0], [-2.0, 0.0], [0.0, -1.0], [5.0, 5.0]]], np.float32)
    valid = np.array([[True, True, True, False]])
    rgb = colorize_flow(flow, valid)
    assert rgb[0, 0].tolist() == [255, 0, 0]  # right: red, full length
    assert rgb[0, 1].tolist() == [0, 255, 255]  # left: cyan
    assert rgb[0, 2, 0] < rgb[0, 2, 1] and rgb[0, 2].max() == 128  # up (y down): half length
    assert rgb[0, 3].tolist() == [0, 0, 0]  # not valid


def test_flow_in_a_run_of_stills_is_warned(tmp_path):
    """forward_flow / backward_flow in a run without clips wrote flow 0 and status 4 (no
    such frame) in every frame, without a word; the run now says so and what makes flow."""
    from sdg_addon.recorder import flow_without_clips

    def note(sequence: str, annotators: dict):
        p = tmp_path / "p.toml"
        p.write_text("[run]\nframes = 4\n" + CAMERA + sequence)
        return flow_without_clips(annotators, load_config(p))

    text = note("", {"rgb": {}, "forward_flow": {}, "backward_flow": {}})
    assert text.startswith("forward_flow and backward_flow in a run of stills") and "clip_length = 2" in text, text
    assert note("", {"backward_flow": {}}).startswith("backward_flow in a run of stills")
    assert note("", {"rgb": {}, "motion_vectors": {}}) is None  # stills keyed around the frame have vectors
    assert note("[sequence]\nclip_length = 2\n", {"forward_flow": {}}) is None


def test_motion_vectors_where_nothing_moves_are_warned(tmp_path):
    """motion_vectors in a run of primitives placed anew each frame (Replicator's habit: its
    motion vectors see those jumps between frames) were 0 everywhere, without a word; so
    were the flows of clips where nothing moves. The run now says so and what moves things;
    a trajectory, a camera_trajectory, rigid bodies in clips, a base .blend or a model file
    (their own animation plays) say nothing."""
    from sdg_addon.recorder import motion_of_nothing

    (tmp_path / "m.glb").write_bytes(b"glTF")
    box = '[[assets]]\nname = "box"\nprimitive = "cube"\n'
    moving = '[[randomizers]]\ntype = "trajectory"\ntargets = "box"\nvelocity = [1, 0, 0]\n'

    def note(extra: str, annotators: dict):
        p = tmp_path / "p.toml"
        p.write_text("[run]\nframes = 4\n" + CAMERA + box + extra)
        return motion_of_nothing(annotators, load_config(p))

    text = note("", {"rgb": {}, "motion_vectors": {}})
    assert text.startswith("motion_vectors where nothing moves: no trajectory, camera_trajectory"), text
    assert "anew each frame, which is no motion" in text
    assert note("", {"forward_flow": {}}) is None  # flow_without_clips says that of stills
    clips = "[sequence]\nclip_length = 2\n"
    text = note(clips, {"forward_flow": {}, "backward_flow": {}, "motion_vectors": {}})
    assert text.startswith("forward_flow, backward_flow and motion_vectors where nothing moves"), text
    assert "every vector and flow is 0" in text and "anew each clip" in text
    assert note(moving, {"motion_vectors": {}}) is None  # keyed around the frame: vectors in stills too
    assert note(clips + moving, {"forward_flow": {}}) is None
    assert note(clips.replace("2\n", "2\nrigid_body = true\n"), {"forward_flow": {}}) is None
    assert note('[[assets]]\nname = "m"\nfile = "m.glb"\n', {"motion_vectors": {}}) is None
    p = tmp_path / "p.toml"
    p.write_text("[run]\nframes = 4\n" + CAMERA + box)
    assert motion_of_nothing({"motion_vectors": {}}, load_config(p), open_scene=True) is None  # the add-on's scene


def test_rigid_body_in_a_run_of_stills_is_warned(tmp_path):
    """sequence.rigid_body with clip_length 1 (a Kubric port's quick check: run.frames = 1
    needs clip_length 1) showed every body where the randomizers put it, in mid-air, no body
    falling or thrown, without a word; the run now says so and what drops objects."""
    from sdg_addon.recorder import rigid_body_without_clips

    def note(sequence: str):
        p = tmp_path / "p.toml"
        p.write_text("[run]\nframes = 4\n" + CAMERA + sequence)
        return rigid_body_without_clips(load_config(p))

    text = note("[sequence]\nrigid_body = true\n")
    assert text.startswith("sequence.rigid_body in a run of stills (clip_length 1)"), text
    assert "clip_length = 2 or more" in text and "physics_settle" in text
    assert note("[sequence]\nrigid_body = true\nclip_length = 2\n") is None
    assert note("") is None
