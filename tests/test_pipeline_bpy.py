"""End-to-end: parameter file -> Cycles render -> annotations, checked against geometry
computed by hand. Tiny renders (65x49, 1-4 samples) keep this fast on a CPU."""

from __future__ import annotations

import json
import math
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy")
from oiio_check import requires_oiio  # noqa: E402
from scenes import NO_GROUND, camera, ground, header, render, sun, write_param, write_writer_plugin  # noqa: E402

from headless.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
W, H = 65, 49  # odd, so the image centre is the centre of pixel (32, 24)
RADIUS = 0.5
CAM_DIST = 4.0
FOCAL, SENSOR = 50.0, 36.0

SPHERE_FILE = (
    header((W, H), samples=2)
    + NO_GROUND
    + camera((0.0, -CAM_DIST, RADIUS), (0.0, 0.0, RADIUS), focal_length=FOCAL, sensor_width=SENSOR)
    + sun()
    + f"""
[[assets]]
name = "ball"
primitive = "sphere"
size = {2 * RADIUS}
labels = {{ class = "ball", color = "red" }}

[[assets]]
name = "pole"
primitive = "cylinder"
size = 0.3
location = [1.2, 0.5, 0.0]

[annotators]
rgb = {{}}
distance_to_image_plane = {{}}
distance_to_camera = {{}}
instance_segmentation = {{}}
semantic_segmentation = {{}}
bounding_box_2d_tight = {{}}
camera_params = {{}}
"""
)


@pytest.fixture(scope="module")
def sphere_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("sphere")
    param = write_param(d, SPHERE_FILE, "sphere.toml")
    out = d / "out"
    assert render(param, out) == 0
    return out


def test_depth_at_centre_is_distance_minus_radius(sphere_run):
    depth = np.load(sphere_run / "distance_to_image_plane_0000.npy")
    assert depth.shape == (H, W) and depth.dtype == np.float32
    # The UV sphere (32 x 16 segments) is within r * (1 - cos(pi / 16)) of the true sphere.
    tol = RADIUS * (1 - math.cos(math.pi / 16)) + 1e-3
    assert abs(depth[H // 2, W // 2] - (CAM_DIST - RADIUS)) < tol
    assert np.isinf(depth[0, 0])  # nothing behind the sphere: no surface
    dist = np.load(sphere_run / "distance_to_camera_0000.npy")
    assert abs(dist[H // 2, W // 2] - depth[H // 2, W // 2]) < 1e-4  # on the axis they agree
    assert np.all(dist[np.isfinite(depth)] >= depth[np.isfinite(depth)] - 1e-5)


def test_tight_box_is_projected_extent(sphere_run):
    boxes = np.load(sphere_run / "bounding_box_2d_tight_0000.npy")
    labels = json.loads((sphere_run / "bounding_box_2d_tight_labels_0000.json").read_text())
    paths = json.loads((sphere_run / "bounding_box_2d_tight_prim_paths_0000.json").read_text())
    assert len(boxes) == 1 and paths == ["/sdg_assets/ball/ball"]  # the pole has no label
    assert labels == {str(boxes[0]["semanticId"]): {"class": "ball"}}
    f_px = FOCAL * W / SENSOR
    r_px = f_px * math.tan(math.asin(RADIUS / CAM_DIST))  # silhouette of a centred sphere
    cx, cy = W / 2, H / 2
    b = boxes[0]
    # Inclusive pixel indices: the outermost covered pixel centres lie within the circle.
    assert abs(b["x_min"] - (cx - r_px)) <= 1.0 and abs(b["x_max"] + 1 - (cx + r_px)) <= 1.0
    assert abs(b["y_min"] - (cy - r_px)) <= 1.0 and abs(b["y_max"] + 1 - (cy + r_px)) <= 1.0
    assert b["occlusionRatio"] < 0.05


def test_masks_map_to_object_and_class(sphere_run):
    inst = np.array(Image.open(sphere_run / "instance_segmentation_0000.png"))
    mapping = json.loads((sphere_run / "instance_segmentation_mapping_0000.json").read_text())
    semantics = json.loads((sphere_run / "instance_segmentation_semantics_mapping_0000.json").read_text())
    sem = np.array(Image.open(sphere_run / "semantic_segmentation_0000.png"))
    sem_labels = json.loads((sphere_run / "semantic_segmentation_labels_0000.json").read_text())
    depth = np.load(sphere_run / "distance_to_image_plane_0000.npy")
    key = lambda c: "(" + ", ".join(str(int(x)) for x in c) + ")"  # noqa: E731
    ball_colour = next(k for k, v in mapping.items() if v == "/sdg_assets/ball/ball")
    assert semantics[ball_colour] == {"class": "ball", "color": "red"}
    ball = np.array([key(c) == ball_colour for c in inst.reshape(-1, 4)]).reshape(H, W)
    # Every pixel with a surface near the sphere's depth belongs to the ball, and only those.
    near = np.isfinite(depth) & (depth < CAM_DIST + RADIUS + 0.01)
    pole = np.array([mapping.get(key(c)) == "UNLABELLED" for c in inst.reshape(-1, 4)]).reshape(H, W)
    assert ball.sum() > 100 and np.array_equal(ball, near & ~pole)
    # The semantic map is the instance map pushed through the label table.
    sem_keys = np.array([key(c) for c in sem.reshape(-1, 4)]).reshape(H, W)
    assert {sem_labels[k]["class"] for k in np.unique(sem_keys[ball])} == {"ball"}
    assert {sem_labels[k]["class"] for k in np.unique(sem_keys[pole])} <= {"UNLABELLED"}
    assert {sem_labels[k]["class"] for k in np.unique(sem_keys[~np.isfinite(depth)])} == {"BACKGROUND"}


def test_camera_params_reproject_known_points(sphere_run):
    params = json.loads((sphere_run / "camera_params_0000.json").read_text())
    assert params["renderProductResolution"] == [W, H]
    K = np.array(params["intrinsics"])
    w2c = np.array(params["world_to_camera_opencv"])
    for point, pixel in (([0, 0, RADIUS], (W / 2, H / 2)), ([0.3, 0.0, RADIUS + 0.2], None)):
        p = w2c @ np.array([*point, 1.0])
        uv = (K @ p[:3])[:2] / p[2]
        if pixel is None:  # by hand: x right of centre and z above it, seen from 4 m
            f_px = FOCAL * W / SENSOR
            pixel = (W / 2 + f_px * 0.3 / CAM_DIST, H / 2 - f_px * 0.2 / CAM_DIST)
        assert np.allclose(uv, pixel, atol=1e-6)
    # Replicator's layout: view transform and projection as row-vector matrices.
    view = np.array(params["cameraViewTransform"]).reshape(4, 4).T
    proj = np.array(params["cameraProjection"]).reshape(4, 4).T
    clip = proj @ view @ np.array([0.3, 0.0, RADIUS + 0.2, 1.0])
    ndc = clip[:3] / clip[3]
    u, v = (ndc[0] + 1) / 2 * W, (1 - ndc[1]) / 2 * H
    assert np.allclose((u, v), pixel, atol=1e-6)


def test_audit_trail(sphere_run):
    audit = sphere_run / "audit"
    assert (audit / "inputs" / "sphere.toml").read_text() == SPHERE_FILE
    resolved = json.loads((audit / "resolved.json").read_text())
    assert resolved["seed"] == 1 and resolved["render"]["width"] == W
    env = json.loads((audit / "environment.json").read_text())
    assert env["blender"].startswith(("4.", "5.")) and env["render_device"]["type"] == "CPU"
    lines = (audit / "frames.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    assert rec["frame"] == 0 and set(rec["seconds"]) >= {"render", "annotate", "write"}
    assert json.loads((audit / "cameras.json").read_text()) == ["cam"]
    # README's "What a run writes" lists what is in audit/: here all but scene_files.json
    # (primitives read no files), pool_members.json (no asset pool) and tmp/ (removed when
    # the run ends).
    readme = (ROOT / "README.md").read_text(encoding="utf-8").split("## What a run writes")[1].split("```")[1]
    # an entry: 4 spaces then its name (a description's further lines are indented more)
    listed = {m.group(1) for m in re.finditer(r"^ {4}([\w.]+)", readme, re.M)}
    assert listed - {"scene_files.json", "pool_members.json", "tmp"} == {p.name for p in audit.iterdir()}


# ---------------------------------------------------------------- the default preset


def tiny_default(tmp_path: Path, frames: int = 3) -> Path:
    text = (ROOT / "presets" / "default.toml").read_text()
    text = text.replace("resolution = [640, 480]", "resolution = [64, 48]").replace("samples = 32", "samples = 1")
    text = text.replace("frames = 8", f"frames = {frames}")
    text = text.replace('device = "auto"', 'device = "cpu"')
    path = write_param(tmp_path, text, "default_tiny.toml")
    return path


def test_default_preset_both_entry_points_agree(tmp_path, monkeypatch):
    param = tiny_default(tmp_path, frames=2)
    out_module = tmp_path / "module"
    assert render(param, out_module) == 0

    # What `blender -b -P headless/run.py -- render ...` does: run the script with that argv.
    out_blender = tmp_path / "blender"
    argv = ["blender", "-b", "-P", "headless/run.py", "--", "render", str(param), "--out", str(out_blender), "--quiet"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(ROOT / "headless" / "run.py"), run_name="__main__")
    assert done.value.code == 0

    names = sorted(p.name for p in out_module.glob("*_000[01].*"))
    assert names == sorted(p.name for p in out_blender.glob("*_000[01].*"))
    assert "rgb_0001.png" in names and "bounding_box_2d_tight_0001.npy" in names
    for name in ("bounding_box_2d_tight_0000.npy", "bounding_box_2d_tight_0001.npy"):
        assert np.array_equal(np.load(out_module / name), np.load(out_blender / name))
    samples = [json.loads(line)["samples"] for line in (out_module / "audit/frames.jsonl").read_text().splitlines()]
    assert samples[0] != samples[1]  # consecutive frames differ
    boxes = [np.load(out_module / f"bounding_box_2d_tight_000{i}.npy") for i in (0, 1)]
    assert len(boxes[0]) >= 3 and not np.array_equal(boxes[0], boxes[1])


def test_single_frame_reproduces_and_resume(tmp_path, capsys):
    param = tiny_default(tmp_path, frames=3)
    full = tmp_path / "full"
    assert render(param, full) == 0
    alone = tmp_path / "alone"
    assert render(param, alone, "--frames", "2:3") == 0
    assert not (alone / "rgb_0000.png").exists()
    a, b = (json.loads((d / "audit/frames.jsonl").read_text().splitlines()[-1]) for d in (full, alone))
    assert b["frame"] == 2 and a["frame"] == 2 and a["samples"] == b["samples"]
    assert np.array_equal(
        np.load(full / "bounding_box_2d_tight_0002.npy"), np.load(alone / "bounding_box_2d_tight_0002.npy")
    )

    # A crash after frame 1: its log line torn, frame 2 never logged.
    log = full / "audit" / "frames.jsonl"
    lines = log.read_text().splitlines()
    log.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    capsys.readouterr()
    assert render(param, full) == 2
    assert "--resume" in capsys.readouterr().err
    assert render(param, full, "--resume", quiet=False) == 0
    out = capsys.readouterr().out
    assert "2 frame(s) written, 1 already done" in out
    frames = sorted(json.loads(x)["frame"] for x in log.read_text().splitlines() if x.endswith("}"))
    assert frames == [0, 1, 2]


def test_unlabelled_scene_warns_with_names(tmp_path, capsys):
    text = SPHERE_FILE.replace('labels = { class = "ball", color = "red" }', "").replace("[[assets]]", "[[assets]]", 1)
    param = write_param(tmp_path, text, "nolabels.toml")
    assert render(param, tmp_path / "o") == 0
    err = capsys.readouterr().err
    assert "no object in the scene has a semantic label" in err
    assert "ball" in err and "pole" in err
    assert "no labelled object is visible" in err


def test_a_run_whose_annotators_read_no_labels_is_not_warned_of_empty_labels(tmp_path, capsys):
    """A run of rgb and depth only (an unlabelled scene for depth estimation) was warned that
    'segmentation and boxes will be empty', and every frame that 'its segmentation is all
    background/unlabelled and its box lists are empty', though it writes neither (N lines on
    stderr and in the manifest for N frames); those warnings now come only where an annotator
    of the run reads labels (one with a semantic_type), as above."""
    text = SPHERE_FILE.replace('labels = { class = "ball", color = "red" }', "")
    text = text[: text.index("[annotators]")] + "[annotators]\nrgb = {}\ndistance_to_image_plane = {}\n"
    param = write_param(tmp_path, text, "depth_only.toml")
    assert render(param, tmp_path / "o") == 0
    err = capsys.readouterr().err
    assert "semantic label" not in err and "no labelled object" not in err and "label (annotated" not in err, err
    assert json.loads((tmp_path / "o" / "audit" / "manifest.json").read_text())["warnings"] == []


def test_an_annotator_that_finds_no_labelled_object_says_so_once(tmp_path, capsys):
    """A semantic_type no object carries, or a semantic_filter keeping none of the labels:
    masks all UNLABELLED and no boxes in every frame, now said once at the start (before:
    silently empty output, exit 0)."""
    text = SPHERE_FILE.replace("semantic_segmentation = {}", 'semantic_segmentation = { semantic_type = "material" }')
    text = text.replace("bounding_box_2d_tight = {}", 'bounding_box_2d_tight = { semantic_filter = ["cup*"] }')
    assert "material" in text and "cup*" in text
    param = write_param(tmp_path, text, "empty.toml")
    assert render(param, tmp_path / "o") == 0
    err = capsys.readouterr().err
    assert err.count("annotator semantic_segmentation: no object has a 'material' label") == 1, err
    assert "objects' label types: class, color" in err
    assert err.count("annotator bounding_box_2d_tight: its semantic_filter ['cup*'] keeps none") == 1, err
    assert "instance_segmentation" not in err  # its defaults find the ball


def test_two_cameras_one_subfolder_each_and_orthographic(tmp_path):
    text = SPHERE_FILE.replace(
        "[[lights]]",
        """[[cameras]]
name = "top"
projection = "orthographic"
ortho_scale = 2.0
location = [0.0, 0.0, 5.0]
look_at = [0.0, 0.0, 0.0]

[[lights]]""",
        1,
    )
    param = write_param(tmp_path, text, "two.toml")
    out = tmp_path / "out"
    assert render(param, out) == 0
    # Replicator's layout for several render products: <camera>/<annotator>/<annotator>_N.
    assert (out / "cam" / "rgb" / "rgb_0000.png").is_file() and (out / "top" / "rgb" / "rgb_0000.png").is_file()
    assert not (out / "rgb_0000.png").exists()
    # Top-down orthographic view: the sphere (radius 0.5 at the origin) is a disc of
    # radius 0.5 m = 0.5 * W / ortho_scale pixels around the image centre.
    params = json.loads((out / "top" / "camera_params" / "camera_params_0000.json").read_text())
    assert params["projection"] == "orthographic"
    box = np.load(out / "top" / "bounding_box_2d_tight" / "bounding_box_2d_tight_0000.npy")[0]
    assert (out / "top" / "bounding_box_2d_tight" / "bounding_box_2d_tight_labels_0000.json").is_file()
    r_px = RADIUS * W / 2.0
    assert abs(box["x_min"] - (W / 2 - r_px)) <= 1 and abs(box["x_max"] + 1 - (W / 2 + r_px)) <= 1
    depth = np.load(out / "top" / "distance_to_image_plane" / "distance_to_image_plane_0000.npy")
    assert abs(depth[H // 2, W // 2] - (5.0 - 2 * RADIUS)) < 0.01  # top of the sphere at z = 1


def test_frame_alone_equals_frame_in_full_run_with_partial_camera_orbit(tmp_path):
    """Only the azimuth is sampled: distance and elevation must come from the camera as
    built, not from wherever the previous frame left it."""
    text = SPHERE_FILE + (
        '\n[[randomizers]]\ntype = "camera"\ntargets = "cam"\n'
        'azimuth = { distribution = "uniform", low = -180, high = 180 }\n'
    )
    param = write_param(tmp_path, text.replace("frames = 1", "frames = 3"), "orbit.toml")
    assert render(param, tmp_path / "full") == 0
    assert render(param, tmp_path / "alone", "--frames", "2") == 0
    a, b = (json.loads((tmp_path / d / "camera_params_0002.json").read_text()) for d in ("full", "alone"))
    assert np.allclose(a["camera_to_world"], b["camera_to_world"], atol=1e-6)
    loc = np.array(a["camera_to_world"])[:3, 3]
    assert abs(np.linalg.norm(loc - [0, 0, RADIUS]) - CAM_DIST) < 1e-4  # distance as built


def test_every_annotator_through_basic_writer(tmp_path):
    """All registered annotators a visible camera makes, at once, written by the BasicWriter,
    in Replicator's names (lidar, thermal and nir need their sensors: refused without)."""
    from sdg_addon.annotators import ANNOTATORS
    from sdg_addon.config.schema import SENSOR_ANNOTATORS

    names = [n for n in ANNOTATORS if n != "lidar" and n not in SENSOR_ANNOTATORS]
    text = SPHERE_FILE.split("[annotators]")[0] + "[annotators]\n" + "".join(f"{n} = {{}}\n" for n in names)
    param = write_param(tmp_path, text, "all.toml")
    out = tmp_path / "out"
    assert render(param, out) == 0
    names = {p.name for p in out.iterdir()}
    for expected in (
        "normals_0000.npy",
        "instance_id_segmentation_0000.png",
        "bounding_box_2d_loose_0000.npy",
        "bounding_box_3d_0000.npy",
        "occlusion_0000.npy",
        "pointcloud_0000.npy",
        "pointcloud_rgb_0000.npy",
        "pointcloud_normals_0000.npy",
        "pointcloud_semantic_0000.npy",
    ):
        assert expected in names
    points = np.load(out / "pointcloud_0000.npy")
    # Every point of the ball lies on the sphere (faceted: within the polygon error).
    assert len(points) > 100
    r = np.linalg.norm(points - [0.0, 0.0, RADIUS], axis=1)
    assert np.all(np.abs(r - RADIUS) < RADIUS * (1 - math.cos(math.pi / 16)) + 0.01)
    # Replicator's layouts: pointcloud normals N x 4; normals as a colourised H x W x 4 png.
    normals = np.load(out / "pointcloud_normals_0000.npy")
    assert normals.shape == (len(points), 4) and np.all(normals[:, 3] == 1.0)
    with Image.open(out / "normals_0000.png") as im:
        png = np.asarray(im)
    n = np.load(out / "normals_0000.npy")
    assert png.shape == (*n.shape[:2], 4)
    surface = np.any(n != 0, axis=-1)
    assert np.all(png[surface, 3] == 255) and np.all(png[~surface] == 127)
    expected = ((n[surface][:, :3] * 0.5 + 0.5) * 255).astype(np.uint8)
    assert np.array_equal(png[surface][:, :3], expected)
    box3d = np.load(out / "bounding_box_3d_0000.npy")
    assert len(box3d) == 1 and np.allclose([box3d[0]["x_min"], box3d[0]["z_max"]], [-RADIUS, 2 * RADIUS], atol=1e-3)


def test_overwrite_leaves_nothing_stale(tmp_path):
    """A shorter --overwrite run into a used folder: no frame of the old run survives in
    the BasicWriter files or the COCO json (whose parts are merged from disk)."""
    text = tiny_default(tmp_path, frames=3).read_text().replace("basic = {}", "basic = {}\ncoco = {}")
    param = write_param(tmp_path, text, "coco.toml")
    out = tmp_path / "out"
    assert render(param, out) == 0
    assert (out / "rgb_0002.png").exists()
    assert render(param, out, "--frames", "0:1", "--overwrite") == 0
    assert sorted(p.name for p in out.glob("rgb_*.png")) == ["rgb_0000.png"]
    coco = json.loads(next((out / "coco" / "annotations").glob("instances_*.json")).read_text())
    assert [im["id"] for im in coco["images"]] == [0]


def test_merge_of_shards_rendered_with_device_option(tmp_path):
    """`render --shard I/N --device D` then `merge FILE` (which has no --device): the device the
    shards were rendered on is a command-line choice, not another parameter file; shards on
    different devices are still refused."""
    text = tiny_default(tmp_path, frames=2).read_text().replace('device = "cpu"', 'device = "auto"')
    param = write_param(tmp_path, text.replace("basic = {}", "basic = {}\ncoco = {}"), "dev.toml")
    out = tmp_path / "out"
    assert render(param, out, "--shard", "0/2", "--device", "cpu") == 0
    assert render(param, out, "--shard", "1/2", "--device", "cpu") == 0
    assert main(["merge", str(param), "--out", str(out)]) == 0
    assert json.loads((out / "audit" / "manifest.json").read_text())["frames_finished_total"] == 2
    env = out / "audit" / "environment.shard001of002.json"
    record = json.loads(env.read_text())
    resolved = json.loads((out / "audit" / "resolved.json").read_text())
    resolved["render"]["device"] = "cuda"
    from sdg_addon.audit import parameter_sections

    record["parameters"] = parameter_sections(resolved)  # as a shard rendered with --device cuda
    env.write_text(json.dumps(record))
    assert main(["merge", str(param), "--out", str(out)]) == 2


def test_device_option_in_any_case_is_one_device(tmp_path):
    """`--device CPU` is accepted as render.device's any case is: the run records `cpu`, so
    the same run resumed with `--device cpu` (or merged) is the same run."""
    param = tiny_default(tmp_path, frames=2)
    out = tmp_path / "out"
    assert render(param, out, "--frames", "0:1", "--device", "CPU") == 0
    assert json.loads((out / "audit" / "resolved.json").read_text())["render"]["device"] == "cpu"
    assert render(param, out, "--resume", "--device", "cpu") == 0
    assert (out / "rgb_0001.png").is_file()


def test_output_under_the_home_folder_is_written_there(tmp_path, monkeypatch):
    """run.output = "~/ds" (or a quoted --out "~/ds") is the folder in the home folder, the
    one the checks look at: never a folder named '~' in the working folder."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(), work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    text = tiny_default(tmp_path, frames=1).read_text().replace('output = "out/default"', 'output = "~/ds"')
    param = write_param(tmp_path, text, "home.toml")
    assert main(["render", str(param), "--quiet"]) == 0
    assert main(["render", str(param), "--out", "~/other", "--quiet"]) == 0
    assert (home / "ds" / "rgb_0000.png").is_file() and (home / "other" / "rgb_0000.png").is_file()
    assert main(["merge", str(param)]) == 0
    assert main(["preview", "~/ds", "--out", "~/p.png"]) == 0  # quoted: a script's arguments
    assert main(["report", "~/ds", "~/other", "--out", "~/rep"]) == 0
    assert (home / "p.png").is_file() and (home / "rep" / "index.html").is_file()
    assert not (work / "~").exists()


def test_shards_into_one_folder_then_merge_equal_one_run(tmp_path):
    text = tiny_default(tmp_path, frames=4).read_text().replace("basic = {}", "basic = {}\ncoco = {}\nyolo = {}")
    param = write_param(tmp_path, text, "shards.toml")
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    assert render(param, whole) == 0
    assert render(param, sharded, "--shard", "1/2") == 0
    assert render(param, sharded, "--shard", "0/2") == 0
    assert main(["merge", str(param), "--out", str(sharded)]) == 0

    def coco(d):
        return json.loads(next((d / "coco" / "annotations").glob("instances_*.json")).read_text())

    assert coco(whole) == coco(sharded) and len(coco(whole)["images"]) == 4
    assert (sharded / "yolo" / "dataset.yaml").is_file()
    for f in range(4):
        name = f"bounding_box_2d_tight_{f:04d}.npy"
        assert np.array_equal(np.load(whole / name), np.load(sharded / name))
    # A shard run again without --resume is refused; the other shard's frames are not its own.
    assert render(param, sharded, "--shard", "0/2") == 2


def test_merge_before_every_shard_finished_names_the_frames_and_shards_missing(tmp_path, capsys):
    """`merge` of a folder where a shard has not run (or was stopped) joined the finished
    frames and said only "merged 2 finished frame(s)", exit 0, as of a whole dataset; it now
    says which frames the shards were asked for are not finished, and whose, in a warning
    (and the manifest's warnings), then nothing once they are."""
    param = tiny_default(tmp_path, frames=4)
    out = tmp_path / "out"
    assert render(param, out, "--shard", "1/2") == 0
    capsys.readouterr()
    assert main(["merge", str(param), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    said = f"WARNING: 2 of the 4 frame(s) asked for are not finished in {out}: 0, 2 (shard 0/2: 2, not run here)"
    assert said in err, err
    assert "then merge again" in err
    warnings = json.loads((out / "audit" / "manifest.json").read_text())["warnings"]
    assert warnings[0].startswith(said[len("WARNING: ") :]), warnings
    assert render(param, out, "--shard", "0/2") == 0
    capsys.readouterr()
    assert main(["merge", str(param), "--out", str(out)]) == 0
    assert "not finished" not in capsys.readouterr().err
    assert not json.loads((out / "audit" / "manifest.json").read_text())["warnings"]


def test_a_shard_run_again_is_told_overwrite_deletes_the_other_shards_frames(tmp_path, capsys):
    """A shard run again without --resume was told 'pass --resume ... or --overwrite to start
    anew', the frames counted its own only, while --overwrite deletes every run's files in the
    folder: the other shards' finished frames too; the message now says so."""
    param = tiny_default(tmp_path, frames=4)
    out = tmp_path / "out"
    assert render(param, out, "--shard", "0/2") == 0
    capsys.readouterr()
    assert render(param, out, "--shard", "0/2") == 2
    err = capsys.readouterr().err
    assert "already holds 2 finished frame(s)" in err and "to start anew\n" in err, err
    assert render(param, out, "--shard", "1/2") == 0
    capsys.readouterr()
    assert render(param, out, "--shard", "0/2") == 2
    err = capsys.readouterr().err
    assert "or --overwrite to start anew (which deletes the folder's 2 other finished frame(s) too)" in err, err


def test_merge_says_frames_a_shards_frames_left_out_are_not_a_stopped_shards(tmp_path, capsys):
    """A shard run with --frames 0:2 finished, and merge said its other frame was of a shard
    'stopped before it finished, or still running', whose command plus --resume (the advice)
    renders nothing; merge now says the frame lay outside the --frames the shard ran with, and
    how to render it."""
    param = tiny_default(tmp_path, frames=4)
    out = tmp_path / "out"
    assert render(param, out, "--shard", "0/2", "--frames", "0:2") == 0
    assert render(param, out, "--shard", "1/2") == 0
    capsys.readouterr()
    assert main(["merge", str(param), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    said = "2 (shard 0/2: 1, outside the --frames it ran with); merge joined the finished ones"
    assert said in err, err
    assert "stopped before it finished" not in err
    assert "that shard with --frames naming them, plus --resume" in err
    assert render(param, out, "--shard", "0/2", "--frames", "2:4", "--resume") == 0
    capsys.readouterr()
    assert main(["merge", str(param), "--out", str(out)]) == 0
    assert "not finished" not in capsys.readouterr().err


def test_merge_of_shards_of_two_sampling_versions_or_blenders_says_so(tmp_path, capsys):
    """Shards rendered by two versions of the tool (another sampling.DRAWS_VERSION, another
    Blender; copied together from two machines) were merged without a word, while a --resume
    across two says so; merge now says which parts were drawn or rendered by which."""
    param = tiny_default(tmp_path, frames=2)
    out = tmp_path / "out"
    assert render(param, out, "--shard", "0/2") == 0
    assert render(param, out, "--shard", "1/2") == 0
    env = out / "audit" / "environment.shard001of002.json"
    record = json.loads(env.read_text())
    mine = record["draws_version"]
    env.write_text(json.dumps({**record, "draws_version": mine + 1, "blender": "3.6.0"}))
    capsys.readouterr()
    assert main(["merge", str(param), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    drawn = (
        f"WARNING: the parts of {out} were drawn by different versions of the sampling code (sampling version "
        f"{mine}: audit/environment.shard000of002.json; sampling version {mine + 1}: "
        "audit/environment.shard001of002.json): the same seed draws other scenes"
    )
    assert drawn in err, err
    blenders = f"(Blender {record['blender']}: audit/environment.shard000of002.json; Blender 3.6.0: audit/environment"
    assert f"were rendered with different Blenders {blenders}" in err, err
    warnings = json.loads((out / "audit" / "manifest.json").read_text())["warnings"]
    assert any(w.startswith(drawn[len("WARNING: ") : 60]) for w in warnings), warnings
    env.write_text(json.dumps(record))
    capsys.readouterr()
    assert main(["merge", str(param), "--out", str(out)]) == 0
    assert "different" not in capsys.readouterr().err


def test_worker_processes_write_what_inline_writes(tmp_path):
    """Annotating and writing in spawned worker processes (no bpy there) gives the same
    dataset as annotating and writing in the main thread."""
    param = tiny_default(tmp_path, frames=3)
    text = param.read_text().replace("basic = {}", "basic = {}\ncoco = {}")
    param.write_text(text)
    outs = {}
    for mode in ("inline", "processes"):
        outs[mode] = tmp_path / mode
        args = ["render", str(param), "--out", str(outs[mode]), "--worker-mode", mode, "--workers", "2", "--quiet"]
        assert main(args) == 0
    names = sorted(p.name for p in outs["inline"].glob("*_000*.*"))
    assert names == sorted(p.name for p in outs["processes"].glob("*_000*.*")) and len(names) > 20
    for name in names:
        if name.endswith(".npy"):
            assert np.array_equal(np.load(outs["inline"] / name), np.load(outs["processes"] / name)), name
        else:
            assert (outs["inline"] / name).read_bytes() == (outs["processes"] / name).read_bytes(), name
    coco = [json.loads(next((d / "coco" / "annotations").glob("*.json")).read_text()) for d in outs.values()]
    assert coco[0] == coco[1]
    # A worker's reading of the frame (hand-off file, EXR by name) is a stage of its own in
    # the frame log, wall and CPU time; inline the render stage reads the passes itself.
    for mode, out in outs.items():
        records = [json.loads(x) for x in (out / "audit" / "frames.jsonl").read_text().splitlines()]
        for rec in records:
            if mode == "processes":
                assert rec["seconds"]["read"] > 0 and rec["cpu_seconds"]["read"] > 0, rec
            else:
                assert "read" not in rec["seconds"] and "read" not in rec["cpu_seconds"], rec


@pytest.mark.parametrize("view", ["AgX", "Filmic"])
@requires_oiio
def test_view_transforms_in_worker_processes(tmp_path, view):
    """AgX and Filmic (OpenColorIO) in spawned workers, which cannot import bpy: the run
    finishes and its RGB equals the one made in the main thread."""
    param = tiny_default(tmp_path, frames=1)
    param.write_text(param.read_text().replace('view_transform = "Standard"', f'view_transform = "{view}"'))
    outs = {}
    for mode in ("inline", "processes"):
        outs[mode] = tmp_path / mode
        args = ["render", str(param), "--out", str(outs[mode]), "--worker-mode", mode, "--workers", "1", "--quiet"]
        assert main(args) == 0
    rgb = [np.array(Image.open(d / "rgb_0000.png")) for d in outs.values()]
    assert np.array_equal(rgb[0], rgb[1]) and rgb[0].std() > 5


def test_explicit_missing_device_is_a_clear_error(tmp_path, capsys):
    """Exit 2 with nothing written, the output folder included (before: audit/ left behind)."""
    param = write_param(tmp_path, SPHERE_FILE, "s.toml")
    assert render(param, tmp_path / "o", "--device", "optix", quiet=False) == 2
    assert "found no OPTIX device" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_optix_denoiser_without_optix_is_refused_before_anything_is_written(tmp_path, capfd):
    """denoiser = "optix" where Cycles has no OptiX: exit 2 and no output folder (before:
    the error came when the render settings were made, after audit/ had been written)."""
    from sdg_addon.capture.device import gpu_devices

    if gpu_devices("OPTIX"):
        pytest.skip("this machine has OptiX")
    text = SPHERE_FILE.replace('device = "cpu"\n', 'device = "cpu"\ndenoise = true\ndenoiser = "optix"\n')
    param = write_param(tmp_path, text, "s.toml")
    for extra in ((), ("--procs", "2")):
        out = tmp_path / f"o{len(extra)}"
        assert render(param, out, *extra, quiet=False) == 2
        err = capfd.readouterr().err  # (render processes write to the file descriptor)
        assert "render.denoiser = 'optix'" in err and "'oidn'" in err and "Traceback" not in err, err
        assert not out.exists()


def test_a_render_cycles_refuses_ends_the_run_with_its_reason_not_a_traceback(tmp_path, capsys, monkeypatch):
    """Blender's render operator failing (seen on a lent H200: an OptiX render device with
    denoiser = "optix", where plain Blender fails the same way, 'Failed to create OptiX
    denoiser'): exit 1 with Cycles' reason, the camera and what to use instead, the manifest
    saying it failed; before: a Python traceback through the recorder."""
    from sdg_addon.capture import render as capture_render

    def fail(scene, path):
        raise RuntimeError("Error: Failed to create OptiX denoiser\nError: Failed to create OptiX denoiser\n")

    monkeypatch.setattr(capture_render, "render_multilayer_exr", fail)
    param = write_param(tmp_path, SPHERE_FILE, "s.toml")
    out = tmp_path / "o"
    assert render(param, out, quiet=False) == 1
    err = capsys.readouterr().err
    assert "error: Cycles could not render camera 'cam': Failed to create OptiX denoiser;" in err, err
    assert 'use denoiser = "oidn"' in err and "Traceback" not in err
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert "Failed to create OptiX denoiser" in manifest["failed"]


@pytest.mark.parametrize("kept", [0, 4096])
def test_a_passes_file_cut_short_by_a_full_temp_folder_is_said_and_resumed(tmp_path, capsys, monkeypatch, kept):
    """The render's EXR cut short where it is written (a full /dev/shm: a container's is 64
    MB; a file size limit), which Blender does not report: exit 1 naming the file, its
    folder and the likely cause, the manifest saying it failed; --resume completes (before:
    "cannot reshape array of size 1 into shape (H,W,4)", exit 2 as if the input were bad)."""
    import os

    from sdg_addon.capture import render as capture_render

    real = capture_render.render_multilayer_exr
    calls = []

    def cut_short(scene, path):
        real(scene, path)
        calls.append(path)
        if len(calls) == 2:  # the second frame's file
            os.truncate(path, kept)

    monkeypatch.setattr(capture_render, "render_multilayer_exr", cut_short)
    param = write_param(tmp_path, SPHERE_FILE.replace("frames = 1", "frames = 3"), "s.toml")
    out = tmp_path / "o"
    assert render(param, out, "--worker-mode", "inline", quiet=False) == 1
    err = capsys.readouterr().err
    assert "error: Cycles could not render camera 'cam': its passes file" in err and "is cut short" in err, err
    assert "full, or a file size limit set?" in err and "Traceback" not in err
    assert "failed" in json.loads((out / "audit" / "manifest.json").read_text())
    assert (out / "rgb_0000.png").is_file() and not (out / "rgb_0001.png").exists()
    monkeypatch.setattr(capture_render, "render_multilayer_exr", real)
    assert render(param, out, "--resume") == 0 and (out / "rgb_0002.png").is_file()


OCCLUSION_FILE = (
    header((321, 241), samples=1, seed=None)
    + NO_GROUND
    + camera((0.0, -4.0, 0.5), (0.0, 0.0, 0.5), focal_length=25)
    + sun(location=None)
    + """
[[assets]]
name = "wall"
primitive = "cube"
size = 2.0
[[assets]]
name = "front"
primitive = "sphere"
size = 1.0
location = [-1.2, -2.5, 0.0]
labels = { class = "ball" }
[[assets]]
name = "behind"
primitive = "sphere"
size = 1.0
location = [0.0, 3.0, 0.0]
labels = { class = "ball" }
[[assets]]
name = "half"
primitive = "sphere"
size = 1.0
# On the ray from the camera through the wall's front edge (x = 1 at y = -1): x = 7 / 3.
location = [2.3333333, 3.0, 0.0]
labels = { class = "ball" }
[annotators]
occlusion = {}
bounding_box_2d_tight = {}
bounding_box_2d_loose = {}
"""
)


def test_occlusion_of_real_renders_behind_in_front_half(tmp_path):
    """Rendered by Cycles: a ball hidden by a wall is 1.0 occluded, one in front 0.0, one
    half behind the wall's edge 0.5 (tolerance 0.05: its outline is ~100 of ~800 pixels)."""
    param = write_param(tmp_path, OCCLUSION_FILE, "occ.toml")
    out = tmp_path / "out"
    assert render(param, out) == 0
    occ = np.load(out / "occlusion_0000.npy")
    paths = json.loads((out / "sdg_occlusion_info_0000.json").read_text())["primPaths"]
    # Replicator's occlusion rows hold exactly its three fields; ours keep pixel counts apart.
    assert occ.dtype.names == ("instanceId", "semanticId", "occlusionRatio")
    full = np.load(out / "sdg_occlusion_0000.npy")
    assert np.array_equal(full["occlusionRatio"], occ["occlusionRatio"]) and "visiblePixels" in full.dtype.names
    ratio = {p.rsplit("/", 1)[-1]: float(r["occlusionRatio"]) for p, r in zip(paths, occ)}
    assert ratio["behind"] == 1.0 and ratio["front"] == 0.0
    assert abs(ratio["half"] - 0.5) < 0.05
    tight = json.loads((out / "bounding_box_2d_tight_prim_paths_0000.json").read_text())
    loose = json.loads((out / "bounding_box_2d_loose_prim_paths_0000.json").read_text())
    assert "/sdg_assets/behind/behind" not in tight and "/sdg_assets/behind/behind" in loose
    # The loose box of the half-hidden ball is its full projection: twice as wide as tight.
    t = np.load(out / "bounding_box_2d_tight_0000.npy")[tight.index("/sdg_assets/half/half")]
    lo = np.load(out / "bounding_box_2d_loose_0000.npy")[loose.index("/sdg_assets/half/half")]
    tw, lw = t["x_max"] - t["x_min"] + 1, lo["x_max"] - lo["x_min"] + 1
    assert abs(tw / lw - 0.5) < 0.08 and lo["y_min"] == t["y_min"] and lo["y_max"] == t["y_max"]


def test_coco_of_a_real_render_matches_the_instance_masks(tmp_path):
    """pycocotools loads the COCO json of a rendered dataset; every decoded RLE mask equals
    the object's pixels in the BasicWriter's instance map, and its bbox their extent."""
    pycocotools = pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.mask import decode

    assert pycocotools
    text = tiny_default(tmp_path, frames=2).read_text().replace("basic = {}", "basic = {}\ncoco = {}")
    param = write_param(tmp_path, text, "c.toml")
    out = tmp_path / "out"
    assert render(param, out) == 0
    coco = COCO(str(out / "coco" / "annotations" / "instances_train.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["mug", "ball", "box", "cone", "donut", "monkey"]
    checked = 0
    for image in coco.loadImgs(coco.getImgIds()):
        inst = np.array(Image.open(out / f"instance_segmentation_{image['id']:04d}.png"))
        mapping = json.loads((out / f"instance_segmentation_mapping_{image['id']:04d}.json").read_text())
        colour_of = {path: key for key, path in mapping.items()}
        keys = np.array(["(" + ", ".join(str(int(x)) for x in c) + ")" for c in inst.reshape(-1, 4)]).reshape(
            inst.shape[:2]
        )
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image["id"])):
            mask = decode(ann["segmentation"]).astype(bool)
            assert np.array_equal(mask, keys == colour_of[ann["sdg_prim_path"]])
            ys, xs = np.nonzero(mask)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            assert ann["area"] == mask.sum()
            checked += 1
    assert checked >= 6


def install_writer_plugin(tmp_path, monkeypatch, name: str, body: str, **plugin) -> None:
    """scenes.write_writer_plugin, on sys.path for this test (spawned workers inherit it)."""
    monkeypatch.syspath_prepend(str(write_writer_plugin(tmp_path / "site", name, body, **plugin)))
    from sdg_addon.writers import WRITERS

    monkeypatch.delitem(WRITERS, name, raising=False)  # loaded again by the next test


@pytest.mark.parametrize("mode", ["processes", "inline"])
def test_slow_writers_bound_the_frames_in_memory(tmp_path, monkeypatch, mode):
    """A writer slower than the render makes the render loop wait: at most 2 frames per
    worker are held in memory (captured but not yet written), however long the run. In
    worker processes the next renders overlap the writing; inline, frame f + 1 is rendered
    only once frame f is written."""
    import time

    from sdg_addon.capture import render as capture_render
    from sdg_addon.config import load_config
    from sdg_addon.recorder import Recorder, RunOptions

    # CLOCK_MONOTONIC is one clock for every process of the machine.
    install_writer_plugin(
        tmp_path,
        monkeypatch,
        "slow_test",
        "time.sleep(0.4)\nio.write_text(self.output_dir / 'slow' / f'{frame.frame}.txt', repr(time.monotonic()))",
    )
    captured_at = {}
    original = capture_render.Capturer.capture_frame

    def timed_capture(self, frame, camera_names):
        result = original(self, frame, camera_names)
        captured_at[frame] = time.monotonic()
        return result

    monkeypatch.setattr(capture_render.Capturer, "capture_frame", timed_capture)
    param = tiny_default(tmp_path, frames=8)
    param.write_text(param.read_text().replace("basic = {}", "slow_test = {}"))
    options = RunOptions(tmp_path / "out", range(8), write_workers=1, worker_processes=mode == "processes")
    Recorder(load_config(param), options).run()
    assert options.worker_mode_used == mode
    written_at = {int(p.stem): float(p.read_text()) for p in (tmp_path / "out" / "slow").glob("*.txt")}
    assert sorted(written_at) == list(range(8))
    pending = 2 * options.write_workers if mode == "processes" else 0  # submitted, not yet written
    for f in range(8 - pending - 1):
        # Frame f + pending + 1 can only be captured once frame f is written.
        assert captured_at[f + pending + 1] >= written_at[f]
    overlapped = [f for f in range(7) if captured_at[f + 1] < written_at[f]]
    assert bool(overlapped) == (mode == "processes"), overlapped


@pytest.mark.parametrize("mode", ["processes", "inline"])
def test_no_python_thread_runs_next_to_blenders_render(tmp_path, monkeypatch, mode):
    """Blender does not support Python threads running beside it (a writer thread crashed
    CI while Cycles rendered): during every render the main thread is the only one."""
    import threading

    from sdg_addon.capture import render as capture_render

    seen = []
    original = capture_render.Capturer.render_passes

    def watched(self, *args, **kwargs):
        seen.append(sorted(t.name for t in threading.enumerate()))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(capture_render.Capturer, "render_passes", watched)
    param = tiny_default(tmp_path, frames=4)
    args = ["render", str(param), "--out", str(tmp_path / "out"), "--worker-mode", mode, "--workers", "2", "--quiet"]
    assert main(args) == 0
    assert len(seen) == 4 and all(names == ["MainThread"] for names in seen), seen


def test_a_worker_process_that_dies_is_an_error_and_resume_finishes(tmp_path, monkeypatch, capsys):
    """A worker process killed mid-run (out of memory, crash) ends the run with exit 1 and
    a sentence, not a hang or a traceback; the frames it finished stay logged, and --resume
    renders the rest."""
    install_writer_plugin(
        tmp_path,
        monkeypatch,
        "dies_test",
        "if frame.frame == 2 and os.environ.get('SDG_TEST_DIE'):\n    os._exit(3)\n"
        "io.write_text(self.output_dir / 'dies' / f'{frame.frame}.txt', 'ok')",
    )
    param = tiny_default(tmp_path, frames=5)
    param.write_text(param.read_text().replace("basic = {}", "basic = {}\ndies_test = {}"))
    out = tmp_path / "out"
    args = ["render", str(param), "--out", str(out), "--worker-mode", "processes", "--workers", "1", "--quiet"]
    monkeypatch.setenv("SDG_TEST_DIE", "1")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "worker process ended" in err and "exit code 3" in err and "Traceback" not in err
    finished = [json.loads(line)["frame"] for line in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    assert finished == [0, 1]
    monkeypatch.delenv("SDG_TEST_DIE")
    assert main(args + ["--resume"]) == 0
    lines = (out / "audit" / "frames.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["frame"] for line in lines) == list(range(5))
    assert sorted(p.name for p in (out / "dies").iterdir()) == [f"{f}.txt" for f in range(5)]
    assert all((out / f"rgb_{f:04d}.png").is_file() for f in range(5))


def test_plugin_writer_from_an_installed_package_in_worker_processes(tmp_path, monkeypatch):
    """A writer published by an installed package (a real dist-info with an entry point in
    group sdg.writers), enabled by name in the parameter file, also works in spawned
    worker processes (each loads the named plugin itself)."""
    body = (
        "rows = frame.annotations['bounding_box_2d_tight']['data']\n"
        "text = ''.join(f\"{r['x_min']},{r['y_min']},{r['x_max']},{r['y_max']}\\n\" for r in rows)\n"
        "io.write_text(self.output_dir / 'csv' / f'{frame.frame:04d}.csv', text)"
    )
    install_writer_plugin(tmp_path, monkeypatch, "boxes_csv", body, required_annotators=("bounding_box_2d_tight",))

    param = tiny_default(tmp_path, frames=2)
    param.write_text(param.read_text().replace("basic = {}", "basic = {}\nboxes_csv = {}"))
    out = tmp_path / "out"
    args = ["render", str(param), "--out", str(out), "--worker-mode", "processes", "--workers", "2", "--quiet"]
    assert main(args) == 0
    for f in range(2):
        boxes = np.load(out / f"bounding_box_2d_tight_{f:04d}.npy")
        rows = (out / "csv" / f"{f:04d}.csv").read_text().splitlines()
        assert rows == [f"{b['x_min']},{b['y_min']},{b['x_max']},{b['y_max']}" for b in boxes]


LEANING = (
    header((64, 48), samples=1, frames=4)
    + ground(4.0)
    + camera((0.0, -3.0, 1.0), (0.0, 0.0, 0.3))
    + sun()
    + """
[[assets]]
name = "crate"
primitive = "cube"
size = 0.5
labels = { class = "crate" }

[[randomizers]]
type = "pose"
targets = "crate"
location = [0.0, 0.0, 0.3]
rotation = [0, 30, 0]

[[assets]]
name = "stone"
primitive = "sphere"
size = 0.2
location = [0.6, 0.0, 0.0]

[annotators]
rgb = {}

[writers]
basic = {}
kitti = {}
"""
)
KITTI_LEANING = "kitti: objects labelled class:crate lean more than 10° from upright in some frames."


def test_a_writers_warning_reaches_the_manifest_and_report_once_from_worker_processes(tmp_path, capsys):
    """A crate leaning 30 degrees in every frame, KITTI writer in spawned worker processes:
    its warning (Writer.warn) is in audit/manifest.json, on stderr and on the report page,
    once for the run, not once per frame."""
    from sdg_addon.report import write_report

    param = write_param(tmp_path, LEANING, "leaning.toml")
    out = tmp_path / "out"
    assert (
        main(["render", str(param), "--out", str(out), "--worker-mode", "processes", "--workers", "2", "--quiet"]) == 0
    )
    warnings = json.loads((out / "audit" / "manifest.json").read_text())["warnings"]
    assert [w for w in warnings if w.startswith("kitti:")] == [next(w for w in warnings if KITTI_LEANING in w)]
    assert capsys.readouterr().err.count(f"WARNING: {KITTI_LEANING}") == 1
    page = write_report(out, tmp_path / "report").read_text()
    assert KITTI_LEANING in page


def test_render_processes_warnings_reach_the_runs_manifest_once(tmp_path):
    """--procs 2: each render process says the scene's warning (the unlabelled stone) and
    the KITTI writer's; the run's manifest (written by the parent) has each once."""
    param = write_param(tmp_path, LEANING.replace("frames = 4", "frames = 6"), "leaning.toml")
    out = tmp_path / "procs"
    assert (
        main(["render", str(param), "--out", str(out), "--procs", "2", "--chunk", "1", "--workers", "1", "--quiet"])
        == 0
    )
    warnings = json.loads((out / "audit" / "manifest.json").read_text())["warnings"]
    assert len([w for w in warnings if w.startswith("kitti:")]) == 1 and KITTI_LEANING in warnings[-1]
    assert warnings[:-1] == ["objects without a 'class' label (annotated as UNLABELLED): stone"]


def test_asset_list_is_used_and_copied_to_the_audit(tmp_path):
    """Assets from a separate asset list (relative to the parameter file) render, and the
    audit keeps both files byte for byte."""
    main_text, assets_text = SPHERE_FILE.split("[[assets]]", 1)
    assets_text = "[[assets]]" + assets_text.split("[annotators]")[0]
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "assets.toml").write_text(assets_text)
    param = tmp_path / "scene.toml"
    # A top-level key comes before the first table in TOML.
    param.write_text('asset_list = "lists/assets.toml"\n' + main_text + "[annotators]\nbounding_box_2d_tight = {}\n")
    out = tmp_path / "out"
    assert render(param, out) == 0
    assert json.loads((out / "bounding_box_2d_tight_prim_paths_0000.json").read_text()) == ["/sdg_assets/ball/ball"]
    assert (out / "audit" / "inputs" / "scene.toml").read_bytes() == param.read_bytes()
    assert (out / "audit" / "inputs" / "assets.toml").read_text() == assets_text


def test_ground_is_unlabelled_on_purpose_not_warned_about(tmp_path, capsys):
    param = tiny_default(tmp_path, frames=1)
    text = param.read_text().replace(
        'name = "box"\nprimitive = "cube"\nsize = 0.15\nlabels = { class = "box" }',
        'name = "box"\nprimitive = "cube"\nsize = 0.15',
    )
    assert text != param.read_text()
    param.write_text(text)
    assert render(param, tmp_path / "o") == 0
    err = capsys.readouterr().err
    assert "without a 'class' label" in err and "box" in err and "ground" not in err
    # Unlabelled, the ground is UNLABELLED (1) in the masks, not BACKGROUND (0) (parameters.md):
    # the image's bottom corners see the ground in front of the table.
    sem = np.asarray(Image.open(tmp_path / "o" / "semantic_segmentation_0000.png"))
    labels = json.loads((tmp_path / "o" / "semantic_segmentation_labels_0000.json").read_text())
    for corner in (sem[-1, 0], sem[-1, -1]):
        assert labels[str(tuple(int(c) for c in corner))] == {"class": "UNLABELLED"}


def test_primitives_are_closed_surfaces_and_the_ground_is_not(tmp_path, monkeypatch):
    """The capture marks which objects are closed surfaces (their silhouettes then need one
    winding's triangles): the default preset's primitives are; its ground plane and
    Suzanne (whose eyes are separate open shells) are not."""
    from sdg_addon.capture import render as capture_render

    seen, twinned = {}, {}
    original = capture_render.Capturer.scene_objects

    def recording(self):
        objects = original(self)
        seen.update({o.name: o.closed for o in objects.values()})
        # The geometry goes out as one mesh (shared vertices) with its half-edge twins.
        twinned.update({o.name: bool((o.twins >= 0).all()) for o in objects.values()})
        for o in objects.values():
            assert o.triangles is None and o.twins.shape == (3 * len(o.faces),)
            assert o.faces.max() < len(o.vertices)
        return objects

    monkeypatch.setattr(capture_render.Capturer, "scene_objects", recording)
    assert render(tiny_default(tmp_path, frames=1), tmp_path / "out", "--worker-mode", "inline") == 0
    assert seen.pop("ground") is False and seen.pop("monkey") is False
    assert len(seen) >= 8 and all(seen.values()), seen
    assert twinned.pop("ground") is False and all(twinned[name] for name in seen), twinned


def test_cancel_now_stops_worker_processes_without_waiting(tmp_path, monkeypatch):
    """cancel(now=True) (the command line's second Ctrl-C, which Blender may swallow as an
    exception inside Cycles' callbacks) ends the run at once: KeyboardInterrupt, the worker
    processes stopped, the frames they held not logged, no half-written file left."""
    import multiprocessing
    import time

    from sdg_addon.config import load_config
    from sdg_addon.recorder import Recorder, RunOptions

    install_writer_plugin(
        tmp_path,
        monkeypatch,
        "slow_test",
        # Stopped in the middle of writing a file: its temporary name must not stay behind.
        "with io.atomic_stream(self.output_dir / 'slow' / f'{frame.frame}.txt') as f:\n"
        "    f.write(b'half')\n"
        "    time.sleep(float(os.environ.get('SDG_TEST_SLOW', 0)))",
    )
    monkeypatch.setenv("SDG_TEST_SLOW", "30")
    param = tiny_default(tmp_path, frames=6)
    param.write_text(param.read_text().replace("basic = {}", "basic = {}\nslow_test = {}"))
    options = RunOptions(tmp_path / "out", range(6), write_workers=1, worker_processes=True)
    recorder = Recorder(load_config(param), options)
    from sdg_addon import sink

    original = sink.ProcessSink.submit

    def submit(self, captured, record):
        original(self, captured, record)
        if record["frame"] == 1:  # two frames with the worker, sleeping inside a write
            deadline = time.monotonic() + 60
            while not list((tmp_path / "out").rglob(".*.tmp")) and time.monotonic() < deadline:
                time.sleep(0.05)
            recorder.cancel(now=True)

    monkeypatch.setattr(sink.ProcessSink, "submit", submit)
    t = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        recorder.run()
    assert time.monotonic() - t < 20  # the worker sleeps 30 s per frame
    assert multiprocessing.active_children() == []
    log = tmp_path / "out" / "audit" / "frames.jsonl"
    assert not log.exists() or log.read_text() == ""
    assert not list((tmp_path / "out").rglob("*.tmp"))  # the stopped worker removed its own
    assert not (tmp_path / "out" / "audit" / "tmp").exists()  # and its temporary folder


@pytest.mark.parametrize(
    ("device", "cores", "mode"),
    [("CPU", 2, "inline"), ("CPU", 4, "inline"), ("CPU", 5, "processes"), ("CUDA", 2, "processes")],
)
def test_auto_worker_mode_overlaps_with_a_gpu_or_many_cores(tmp_path, monkeypatch, device, cores, mode):
    """auto: worker processes when a GPU renders (the CPU is free meanwhile) or on more than
    4 cores (the limit and one step past it); inline on a small CPU-only machine."""
    import os

    from sdg_addon.capture import render as capture_render
    from sdg_addon.config import load_config
    from sdg_addon.recorder import Recorder, RunOptions

    real = capture_render.select_device

    def pretend(scene, requested):
        found = real(scene, requested)  # renders on the CPU; reports the pretended device
        return {**found, "type": device}

    monkeypatch.setattr(capture_render, "select_device", pretend)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    options = RunOptions(tmp_path / "out", range(1), write_workers=1)
    Recorder(load_config(tiny_default(tmp_path, frames=1)), options).run()
    assert options.worker_mode_used == mode
    assert (tmp_path / "out" / "rgb_0000.png").is_file()


def k_matrix_scene(fx, fy, ball, cx=21.5, cy=30.25) -> str:
    """A camera from a K matrix (fy None: square pixels) 4 m in front of a ball of radius
    0.3 centred at `ball`; masks, both 2D boxes and camera_params."""
    k_fields = {"fx": fx, "cx": cx, "cy": cy} | ({} if fy is None else {"fy": fy})
    return (
        header((64, 48), samples=2, seed=1, frames=1)
        + NO_GROUND
        + camera((0.0, -4.0, 0.0), (0.0, 0.0, 0.0), **k_fields)
        + sun()
        + f"""
[[assets]]
name = "ball"
primitive = "sphere"
size = 0.6
location = [{ball[0]}, {ball[1]}, {ball[2] - 0.3}]
labels = {{ class = "ball" }}
[annotators]
instance_segmentation = {{}}
camera_params = {{}}
bounding_box_2d_tight = {{}}
bounding_box_2d_loose = {{}}
"""
    )


def check_k_matrix_frame(out: Path, fx, fy, ball, cx=21.5, cy=30.25) -> None:
    """camera_params gives K back, the ball renders where K projects its centre, as wide and
    tall as fx and fy make it, and the loose box (our silhouette, rasterized with that K)
    is the tight box of Cycles' mask, pixel for pixel."""
    params = json.loads((out / "camera_params_0000.json").read_text())
    assert np.allclose(params["intrinsics"], [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], atol=1e-4)
    # The camera looks along +Y from y = -4: x right, image y down = world -z, depth 4.
    u, v = fx * ball[0] / 4.0 + cx, fy * -ball[2] / 4.0 + cy
    ids = np.array(Image.open(out / "instance_segmentation_0000.png")).astype(np.int64)
    ids = ids[..., :3].sum(axis=-1) if ids.ndim == 3 else ids
    background = np.bincount(ids.ravel()).argmax()
    rows, cols = np.nonzero(ids != background)
    assert abs(cols.mean() + 0.5 - u) < 0.3 and abs(rows.mean() + 0.5 - v) < 0.3, (cols.mean(), rows.mean(), u, v)
    # A ball of radius 0.3 at ~4 m: about 2 f r / 4 pixels across each axis.
    assert abs(np.ptp(cols) + 1 - fx * 0.15) <= 1.5 and abs(np.ptp(rows) + 1 - fy * 0.15) <= 1.5
    tight = np.load(out / "bounding_box_2d_tight_0000.npy")
    loose = np.load(out / "bounding_box_2d_loose_0000.npy")
    corners = ("x_min", "y_min", "x_max", "y_max")
    assert [int(tight[0][c]) for c in corners] == [int(loose[0][c]) for c in corners]


@pytest.mark.parametrize(
    "fx, fy, ball",
    [
        (70.0, None, (0.6, 0.0, -0.4)),  # square pixels
        (60.0, 90.0, (0.6, 0.0, 0.3)),  # fy > fx: Blender's pixel_aspect_x > 1
        (90.0, 60.0, (0.3, 0.0, 0.3)),  # fx > fy: pixel_aspect_y > 1
    ],
)
def test_a_k_matrix_camera_projects_where_its_intrinsics_say(tmp_path, fx, fy, ball):
    """fx, fy, cx, cy of [[cameras]] (a real camera's K, e.g. a BOP dataset's): Blender's
    lens shift made from the principal point, its pixel aspect from fy / fx."""
    out = tmp_path / "out"
    assert render(write_param(tmp_path, k_matrix_scene(fx, fy, ball), "k.toml"), out) == 0
    check_k_matrix_frame(out, fx, fx if fy is None else fy, ball)


PYTHON42 = ROOT / ".venv42" / "bin" / "python"


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_a_k_matrix_with_fy_other_than_fx_renders_on_blender_42(tmp_path):
    """4.2 writes the multilayer EXR of non-square pixels itself (5.0 refuses to: see
    compat.render_multilayer_exr); the frame is the same K either way."""
    fx, fy, ball = 60.0, 90.0, (0.6, 0.0, 0.3)
    param = write_param(tmp_path, k_matrix_scene(fx, fy, ball), "k.toml")
    out = tmp_path / "out42"
    cmd = [str(PYTHON42), "-m", "headless", "render", str(param), "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_k_matrix_frame(out, fx, fy, ball)


def test_the_writers_joins_are_said_by_render_and_merge_not_with_quiet(tmp_path, monkeypatch, capsys):
    """After the last frame (render) and in `merge`, the command line says how far the
    writers' joins of parts are (PROGRESS_INTERVAL_S 0 here: every part); --quiet says none."""
    from sdg_addon.writers.base import Writer

    monkeypatch.setattr(Writer, "PROGRESS_INTERVAL_S", 0.0)
    text = tiny_default(tmp_path, frames=2).read_text().replace("basic = {}", "basic = {}\ncoco = {}")
    param = write_param(tmp_path, text, "coco.toml")
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "coco: reading the parts of train 1/2" in said and "coco: joining the annotations of train 1/2" in said
    assert main(["merge", str(param), "--out", str(out)]) == 0
    assert "coco: joining the annotations of train 1/2" in capsys.readouterr().out
    assert main(["render", str(param), "--out", str(out), "--overwrite", "--quiet"]) == 0
    assert "coco:" not in capsys.readouterr().out


def test_a_stereo_rigs_p3_finds_its_objects_in_image_3(tmp_path):
    """A rendered stereo rig (right rigged 0.25 m along left's x, a tilted left camera):
    the left KITTI folder's image_3 is the right camera's image, and each ball's centre (its
    label's bottom centre raised by half its height) projected with P3 lands within 0.5 px of
    the centroid of its pixels in the right camera's instance mask."""
    text = (
        header((160, 120), samples=1)
        + NO_GROUND
        + camera((0.3, -2.0, 1.2), (0.0, 0.0, 0.3), name="left")
        + '[[cameras]]\nname = "right"\nrig = "left"\nlocation = [0.25, 0, 0]\n'
        + sun()
        + "".join(
            f'[[assets]]\nname = "ball{k}"\nprimitive = "sphere"\nsize = 0.08\nlocation = {loc}\n'
            'labels = { class = "ball" }\n'
            for k, loc in enumerate(([-0.3, 0.1, 0.2], [0.05, -0.2, 0.4], [0.3, 0.3, 0.1]))
        )
        + "[annotators]\ninstance_segmentation = {}\n[writers]\nkitti = {}\nbasic = { colorize_instance_segmentation = false }\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    training = out / "kitti" / "left" / "training"
    assert (training / "image_3" / "000000.png").read_bytes() == (
        out / "kitti" / "right" / "training" / "image_2" / "000000.png"
    ).read_bytes()
    calib = {
        k: np.array([float(v) for v in rest.split()])
        for k, rest in (line.split(":", 1) for line in (training / "calib" / "000000.txt").read_text().splitlines())
    }
    p3 = calib["P3"].reshape(3, 4)
    fx = 35 / 36 * 160  # the default lens (35 mm on a 36 mm sensor) at 160 pixels
    assert np.allclose(p3[:, 3], [-fx * 0.25, 0, 0], atol=1e-3)  # KITTI's P3[0, 3] = -fx * baseline
    ids = np.asarray(Image.open(out / "right" / "instance_segmentation" / "instance_segmentation_0000.png"))
    mapping = json.loads(
        (out / "right" / "instance_segmentation" / "instance_segmentation_mapping_0000.json").read_text()
    )
    centroids = []
    for key, path in mapping.items():
        if "ball" in path:
            ys, xs = np.nonzero(ids == int(key))
            centroids.append((xs.mean() + 0.5, ys.mean() + 0.5))
    lines = (training / "label_2" / "000000.txt").read_text().splitlines()
    assert len(lines) == len(centroids) == 3
    for line in lines:
        v = line.split()
        h, (x, y, z) = float(v[8]), map(float, v[11:14])
        u, w, s = p3 @ [x, y - h / 2, z, 1.0]
        assert min(math.hypot(u / s - cx, w / s - cy) for cx, cy in centroids) < 0.5, line
