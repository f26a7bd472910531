"""The hdf5 writer (BlenderProc's write_hdf5 layout) on a real render, read back with h5py
as BlenderProc's tools read it: every dataset equals what the BasicWriter wrote beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy")
h5py = pytest.importorskip("h5py")

from headless.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def tiny_param(tmp_path: Path, hdf5_options: str = "{}", film_transparent: bool = False) -> Path:
    text = (ROOT / "presets" / "default.toml").read_text()
    text = text.replace("resolution = [640, 480]", "resolution = [64, 48]").replace("samples = 32", "samples = 2")
    text = text.replace("frames = 8", "frames = 2").replace('device = "auto"', 'device = "cpu"')
    raw_ids = "colorize_instance_segmentation = false, colorize_semantic_segmentation = false"
    text = text.replace("basic = {}", f"basic = {{ {raw_ids} }}\nhdf5 = {hdf5_options}")
    if film_transparent:
        text = text.replace('view_transform = "Standard"', 'view_transform = "Standard"\nfilm_transparent = true')
    text = text.replace("camera_params = {}", "camera_params = {}\nnormals = {}")
    path = tmp_path / "hdf5_tiny.toml"
    path.write_text(text)
    return path


def read_json_string(dataset) -> object:
    # As BlenderProc's visHdf5Files / docs read string datasets.
    return json.loads(np.array(dataset).tobytes())


def blenderproc_compositor_normals(normal_pass: np.ndarray, cam2world: np.ndarray) -> np.ndarray:
    """BlenderProc 2.8's enable_normals_output node graph, term by term: channel `row` =
    sum over `column` of normal[column] * M[column][row] with M = cam2world @ Rx(-90 deg);
    then R = x * 0.5 + 0.5, B = y * -0.5 + 0.5, G = z * 0.5 + 0.5 (its G and B swapped)."""
    rot_x = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # mathutils Rotation(-90 deg, 'X')
    m = cam2world[:3, :3] @ rot_x
    rows = [sum(normal_pass[..., column] * m[column][row] for column in range(3)) for row in range(3)]
    return np.stack([rows[0] * 0.5 + 0.5, rows[2] * 0.5 + 0.5, rows[1] * -0.5 + 0.5], axis=-1)


def test_hdf5_files_hold_blenderprocs_datasets_equal_to_the_basic_writers_files(tmp_path):
    out = tmp_path / "out"
    assert main(["render", str(tiny_param(tmp_path)), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in (out / "hdf5").iterdir()) == ["0.hdf5", "1.hdf5"]
    for f in range(2):
        with h5py.File(out / "hdf5" / f"{f}.hdf5", "r") as h:
            assert set(h.keys()) == {
                "colors", "depth", "distance", "normals", "instance_segmaps",
                "category_id_segmaps", "instance_attribute_maps", "camera_pose",
            }  # fmt: skip
            # As BlenderProc's write_to_hdf_file: arrays gzip at h5py's default level 4,
            # strings fixed-length bytes, scalar, uncompressed.
            for key in ("colors", "depth", "distance", "normals", "instance_segmaps", "category_id_segmaps"):
                assert h[key].compression == "gzip" and h[key].compression_opts == 4, key
            for key in ("instance_attribute_maps", "camera_pose"):
                assert h[key].dtype.char == "S" and h[key].shape == () and h[key].compression is None, key
            # The dtypes BlenderProc's renderer loads: float32 EXR passes, int64 segmaps.
            assert h["normals"].dtype == h["distance"].dtype == np.float32
            assert h["instance_segmaps"].dtype == h["category_id_segmaps"].dtype == np.int64

            rgb = np.array(Image.open(out / f"rgb_{f:04d}.png").convert("RGB"))
            assert h["colors"].dtype == np.uint8 and np.array_equal(h["colors"][()], rgb)
            depth = np.load(out / f"distance_to_image_plane_{f:04d}.npy")
            assert h["depth"].dtype == np.float32 and np.array_equal(h["depth"][()], depth, equal_nan=True)
            distance = np.load(out / f"distance_to_camera_{f:04d}.npy")
            assert np.array_equal(h["distance"][()], distance, equal_nan=True)
            assert not np.array_equal(h["depth"][()], h["distance"][()])  # two different quantities

            instances = np.array(Image.open(out / f"instance_segmentation_{f:04d}.png")).astype(np.uint32)
            assert np.array_equal(h["instance_segmaps"][()], instances)
            semantic = np.array(Image.open(out / f"semantic_segmentation_{f:04d}.png")).astype(np.uint32)
            assert np.array_equal(h["category_id_segmaps"][()], semantic)

            # The attribute map names every object of the instance map, with its category.
            paths = json.loads((out / f"instance_segmentation_mapping_{f:04d}.json").read_text())
            entries = read_json_string(h["instance_attribute_maps"])
            assert [e["idx"] for e in entries] == sorted(int(i) for i in paths)
            assert len(entries) > 3
            for e in entries:
                assert e["path"] == paths[str(e["idx"])] and e["name"] == e["path"].rsplit("/", 1)[-1]
                pixels = instances == e["idx"]
                assert pixels.any() and np.all(semantic[pixels] == e["category_id"]), e

            # Normals: BlenderProc's encoding, the world normals in Blender camera axes.
            pose = read_json_string(h["camera_pose"])
            r_cv = np.array(pose["cam_R_w2c"]).reshape(3, 3)
            k = np.array(pose["cam_K"]).reshape(3, 3)
            assert k[0, 2] == 32 and k[1, 2] == 24 and k[0, 0] > 0
            world = np.load(out / f"normals_{f:04d}.npy")
            expected = world @ (np.diag([1.0, -1.0, -1.0]) @ r_cv).T * 0.5 + 0.5
            assert np.allclose(h["normals"][()], expected, atol=1e-6)
            cam2world = np.linalg.inv(np.diag([1.0, -1.0, -1.0]) @ r_cv)  # Blender camera axes
            assert np.allclose(h["normals"][()], blenderproc_compositor_normals(world, cam2world), atol=1e-6)
            assert np.all(h["normals"][()][instances == 0] == 0.5)
            # Surfaces seen by the camera face it: +z (towards the viewer) on average.
            assert h["normals"][()][..., 2][instances > 0].mean() > 0.6


def test_hdf5_keep_alpha_stores_rgba_colors_as_blenderproc_does_for_a_transparent_film(tmp_path):
    """BlenderProc's render() loads colors with their alpha when film_transparent is on:
    keep_alpha gives the same (H, W, 4); without it the alpha is dropped."""
    param = tiny_param(tmp_path, "{ keep_alpha = true }", film_transparent=True)
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet", "--frames", "0:1"]) == 0
    rgba = np.array(Image.open(out / "rgb_0000.png"))
    assert rgba.shape == (48, 64, 4) and rgba[..., 3].min() == 0  # the world shows somewhere
    with h5py.File(out / "hdf5" / "0.hdf5", "r") as h:
        assert h["colors"].dtype == np.uint8 and np.array_equal(h["colors"][()], rgba)


def clip_param(tmp_path: Path, flows: str) -> Path:
    """A 3-frame clip of a cube moving right (+x, 1 m a frame) seen from the front."""
    text = f"""
[run]
frames = 3
seed = 1

[render]
resolution = [64, 48]
samples = 1
device = "cpu"

[sequence]
clip_length = 3

[[cameras]]
name = "camera"
location = [0, -8, 0]
look_at = [0, 0, 0]

[[assets]]
name = "cube"
primitive = "cube"
labels = {{ class = "box" }}
location = [-1, 0, 0]
size = 1

[[randomizers]]
type = "trajectory"
targets = ["cube"]
velocity = [24, 0, 0]

[annotators]
rgb = {{}}
instance_segmentation = {{}}
{flows}

[writers]
basic = {{ colorize_instance_segmentation = false }}
hdf5 = {{}}
"""
    path = tmp_path / "clip.toml"
    path.write_text(text)
    return path


def blenderproc_vis_flow(data) -> np.ndarray:
    """The reading lines of BlenderProc 2.8's blenderproc/scripts/visHdf5Files.py for a key of
    default_flow_keys (vis_file: np.array(data[key]); flow_to_rgb: flow[:, :, 0], flow[:, :, 1]
    into cv2.cartToPolar, which takes two float arrays of one size): magnitude and angle."""
    value = np.array(data)
    assert not (len(value.shape) >= 3 and value.shape[0] == 2)  # not taken for a stereo pair
    im1, im2 = value[:, :, 0], value[:, :, 1]
    assert im1.dtype == im2.dtype and im1.dtype in (np.float32, np.float64) and im1.shape == im2.shape
    return np.hypot(im1, im2)


@pytest.mark.parametrize("source", ["exact", "motion_vectors"])
def test_hdf5_holds_blenderprocs_forward_and_backward_flow(tmp_path, source):
    """BlenderProc's render_optical_flow puts forward_flow and backward_flow, (H, W, 2)
    float32 pixels, x right and y down (Cycles' vector pass, y flipped, its forward half
    negated), into write_hdf5's files; ours hold the exact flows, or motion_vectors' halves."""
    flows = "forward_flow = {}\nbackward_flow = {}" if source == "exact" else "motion_vectors = {}"
    out = tmp_path / "out"
    assert main(["render", str(clip_param(tmp_path, flows)), "--out", str(out), "--quiet"]) == 0
    clip = out / "clip_0000"
    for f in range(3):
        with h5py.File(out / "hdf5" / f"{f}.hdf5", "r") as h:
            instances = np.array(Image.open(clip / f"instance_segmentation_{f:04d}.png"))
            cube = instances > 1
            assert cube.sum() > 20
            for key, half, sign in (("forward_flow", slice(2, 4), 1), ("backward_flow", slice(0, 2), -1)):
                assert h[key].dtype == np.float32 and h[key].shape == (48, 64, 2), key
                assert h[key].compression == "gzip"
                flow = h[key][()]
                if source == "exact":
                    assert np.array_equal(flow, np.load(clip / f"{key}_{f:04d}.npy"))
                else:
                    assert np.array_equal(flow, np.load(clip / f"motion_vectors_{f:04d}.npy")[..., half])
                assert np.all(blenderproc_vis_flow(h[key]) == np.hypot(flow[..., 0], flow[..., 1]))
                no_frame = (key == "forward_flow" and f == 2) or (key == "backward_flow" and f == 0)
                if source == "exact" and no_frame:
                    continue  # the clip has no frame there: 0 (the basic writer's status says 4)
                # The cube moves right about 5 pixels a frame; nothing else moves.
                assert 2 < sign * np.median(flow[..., 0][cube]) < 10, (key, f)
                assert abs(np.median(flow[..., 1][cube])) < 0.5, (key, f)
                assert np.all(flow[instances == 0] == 0)
