"""A scene far from the world origin labels as at the origin (docs/exactness.md, "Far from
the origin"). The same tiny scene is rendered at the origin and with every object, light,
camera and LiDAR moved by the same offset in x and y. Every placement is a multiple of
1/128 m, so Blender's float32 locations hold it exactly up to 1e5 m: relative to the
camera the two scenes are the same, and whatever differs is arithmetic far from the origin.

What our code computes (silhouette geometry, 3D boxes, poses, camera matrices, LiDAR hits)
is in float64 or camera-relative and must agree to float64 rounding. What Cycles renders
(ids, depth, normals, and the point cloud and occlusion built on them) is float32 in world
space: the tolerances below are the measured render noise at 1e4 m with a margin."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy")

from scenes import NO_GROUND, asset, camera, header, render, sun, table, write_param  # noqa: E402

NEAR, FAR = 1e4, 1e5


def scene(offset: float) -> str:
    def at(x, y, z):
        return [x + offset, y + offset, z]

    return (
        header((64, 48), samples=1)
        + NO_GROUND
        + camera(at(3.0, -6.0, 2.5), at(0.0, 0.0, 0.5))
        + sun(at(0.0, 0.0, 5.0))
        + asset("ground", "plane", 20.0, location=at(0.0, 0.0, 0.0), label="ground")
        + asset("cube", "cube", 1.0, location=at(0.0, 0.0, 0.5), rotation=[0, 0, 30], label="box")
        + asset("ball", "sphere", 0.75, location=at(1.0, -1.25, 0.375), label="ball")
        + asset("can", "cylinder", 0.5, location=at(-1.0, 0.75, 0.25), label="can")
        + table("lidars", "top", preset="spinning_16", columns=360, location=at(0.0, -4.0, 0.0))
        + """
[annotators]
occlusion = {}
bounding_box_2d_tight = {}
bounding_box_2d_loose = {}
bounding_box_3d = {}
distance_to_camera = {}
distance_to_image_plane = {}
instance_segmentation = {}
normals = {}
pointcloud = {}
camera_params = {}
object_pose = {}

[writers]
basic = { colorize_instance_segmentation = false }
"""
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[float, Path]:
    base = tmp_path_factory.mktemp("far")
    out = {}
    for offset in (0.0, NEAR, FAR):
        folder = base / f"at_{offset:g}"
        folder.mkdir()
        assert render(write_param(folder, scene(offset)), folder / "out") == 0
        out[offset] = folder / "out"
    return out


def find(out: Path, name: str) -> Path:
    """The one file of that name in the run (with a LiDAR the camera's files have folders)."""
    (path,) = out.rglob(name)
    return path


def load(out: Path, name: str):
    return np.load(find(out, name))


def ids(out: Path) -> np.ndarray:
    return np.array(Image.open(find(out, "instance_segmentation_0000.png")))


def lidar(out: Path, key: str) -> np.ndarray:
    return load(out, f"lidar{key}_0000.npy")


@pytest.mark.parametrize("offset", [NEAR, FAR])
def test_geometry_labels_far_from_the_origin_are_the_origins(runs, offset):
    home, far = runs[0.0], runs[offset]
    # 3D boxes: extents equal, transforms equal once the offset is taken off.
    a, b = load(home, "bounding_box_3d_0000.npy"), load(far, "bounding_box_3d_0000.npy")
    for field in ("x_min", "y_min", "z_min", "x_max", "y_max", "z_max"):
        assert np.array_equal(a[field], b[field])
    moved = b["transform"].astype(np.float64)
    moved[:, 3, :2] -= offset
    assert np.abs(moved - a["transform"]).max() < 1e-9
    # Object poses are camera-relative: equal to float64 rounding of the offset.
    assert np.abs(load(far, "object_pose_0000.npy") - load(home, "object_pose_0000.npy")).max() < 1e-9
    cam_a = json.loads(find(home, "camera_params_0000.json").read_text())
    cam_b = json.loads(find(far, "camera_params_0000.json").read_text())
    m_a, m_b = np.array(cam_a["camera_to_world"]), np.array(cam_b["camera_to_world"])
    assert np.array_equal(m_a[:3, :3], m_b[:3, :3]) and np.array_equal(m_b[:2, 3] - offset, m_a[:2, 3])
    assert cam_a["cameraProjection"] == cam_b["cameraProjection"]
    # Silhouettes: the objects' full projections, our float64 rasterization. Their pixel
    # counts can only gain the few pixels Cycles draws outside them (amodal = silhouette
    # plus visible pixels outside it), bounded by the render noise test below.
    occ_a, occ_b = load(home, "sdg_occlusion_0000.npy"), load(far, "sdg_occlusion_0000.npy")
    assert np.array_equal(occ_a["instanceId"], occ_b["instanceId"])
    assert np.abs(occ_a["unoccludedPixels"].astype(int) - occ_b["unoccludedPixels"].astype(int)).max() <= 1
    # LiDAR hits are computed relative to the sensors: the same ranges, ids and points
    # (before, mathutils' float32 BVH in world space put ranges 4 mm off at 1e4 m, 5 cm at 1e5 m).
    assert np.array_equal(lidar(far, "_instance"), lidar(home, "_instance"))
    assert np.abs(lidar(far, "_range") - lidar(home, "_range")).max() < 1e-5
    assert np.abs(lidar(far, "")[:, :3] - lidar(home, "")[:, :3]).max() < 1e-5


def test_render_labels_1e4_m_from_the_origin_are_the_origins_to_float32_render_noise(runs):
    home, far = runs[0.0], runs[NEAR]
    # Cycles' ids: the same pixels here (measured: none of 3,072 differ at 1e4 m; 15 of
    # 307,200 at 640 x 480), so the same 2D boxes and occlusion ratios.
    assert np.array_equal(ids(far), ids(home))
    for name in ("bounding_box_2d_tight_0000.npy", "bounding_box_2d_loose_0000.npy", "occlusion_0000.npy"):
        a, b = load(home, name), load(far, name)
        for field in a.dtype.names:
            assert np.array_equal(a[field], b[field]), (name, field)
    # Depth: Cycles intersects in float32 world space, 1e4 m has a 1 mm float32 step;
    # measured up to 2.4 mm (3.4e-4 of the depth) on a 7 m scene.
    for name in ("distance_to_camera_0000.npy", "distance_to_image_plane_0000.npy"):
        a, b = load(home, name), load(far, name)
        hit = np.isfinite(a)
        assert np.array_equal(hit, np.isfinite(b))
        assert (np.abs(a[hit] - b[hit]) / a[hit]).max() < 1e-3
    # Normals: a hit a millimetre off is on the same face, a smooth face's normal is
    # interpolated there (measured up to 0.009 per component).
    assert np.abs(load(far, "normals_0000.npy") - load(home, "normals_0000.npy")).max() < 0.02
    # Points: the depth's noise plus the float32 world coordinates' half step at 1e4 m
    # (0.5 mm); measured 2.3 mm.
    pa, pb = load(home, "pointcloud_0000.npy"), load(far, "pointcloud_0000.npy")
    assert pa.shape == pb.shape
    moved = pb.astype(np.float64)
    moved[:, :2] -= NEAR
    assert np.abs(moved - pa).max() < 5e-3
    assert np.array_equal(load(far, "pointcloud_instance_0000.npy"), load(home, "pointcloud_instance_0000.npy"))
