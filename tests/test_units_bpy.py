"""A base .blend whose unit scale is not 1: the annotations keep Blender units (camera_params'
metersPerSceneUnit says how many metres one is), and every writer whose format has a unit
converts to it, so a cube scene modelled in centimetres (geometry x 100, scale_length 0.01,
clip range x 100, the same lens) gives the files of the same scene in metres."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")
from mathutils import Vector  # noqa: E402

from headless.cli import main  # noqa: E402

HAS_H5PY = importlib.util.find_spec("h5py") is not None


def make_cube_blend(path: Path, k: float, scale_length: float, sun: bool = True) -> None:
    """A cube on a floor seen by CamA under a sun (or none): lengths times `k`, the unit scale given."""
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.unit_settings.scale_length = scale_length
    bpy.ops.mesh.primitive_cube_add(size=1.0 * k, location=(0.3 * k, 0.2 * k, 0.5 * k))
    cube = bpy.context.active_object
    cube.name = "cube"
    cube.rotation_euler = (0.0, 0.0, math.radians(25))
    cube["semantics"] = {"class": ["cube"]}
    bpy.ops.mesh.primitive_plane_add(size=8 * k)
    bpy.context.active_object.name = "floor"
    bpy.context.active_object["semantics"] = {"class": ["floor"]}
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location = Vector((0.0, -4.0, 2.0)) * k
    cam.rotation_euler = (Vector((0.0, 0.0, 0.4)) * k - cam.location).to_track_quat("-Z", "Y").to_euler()
    cam.data.clip_start, cam.data.clip_end = 0.1 * k, 100 * k
    scene.camera = cam
    if sun:
        light = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
        light.rotation_euler = (0.6, 0.2, 0.3)
        scene.collection.objects.link(light)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=False)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)


def param_text(blend: Path, k: float) -> str:
    """One 64 x 48 frame of `blend`'s CamA and a LiDAR (lengths in Blender units: times k)."""
    writers = ["basic", "bop", "kitti", "kitti_velodyne", "pcd", "webdataset"] + (["hdf5"] if HAS_H5PY else [])
    return (
        '[run]\nframes = 1\n[render]\nresolution = [64, 48]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
        '[[lidars]]\nname = "velo"\npreset = "spinning_16"\ncolumns = 90\n'
        f"location = [0, {-3 * k:g}, {1 * k:g}]\nmin_range = {0.5 * k:g}\nmax_range = {100 * k:g}\n"
        "[annotators]\ncamera_params = {}\ndistance_to_image_plane = {}\ndistance_to_camera = {}\n"
        "bounding_box_3d = {}\n[writers]\n"
        + "".join(f"{w} = {{}}\n" for w in writers)
        + f'[[lights]]\nname = "bulb"\ntype = "point"\nlocation = [0, 0, {3 * k:g}]\nenergy = 500\n'
        + '[[lights]]\nname = "sky"\ntype = "sun"\nlocation = [0, 0, 10]\nenergy = 2\n'
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The scene in metres and in centimetres, each rendered by every writer with lengths."""
    d = tmp_path_factory.mktemp("units")
    out = {}
    for name, k, scale in (("m", 1.0, 1.0), ("cm", 100.0, 0.01)):
        blend = d / f"cube_{name}.blend"
        make_cube_blend(blend, k, scale)
        param = d / f"cube_{name}.toml"
        param.write_text(param_text(blend, k))
        assert main(["render", str(param), "--out", str(d / name), "--quiet"]) == 0
        out[name] = d / name
    return SimpleNamespace(m=out["m"], cm=out["cm"], dir=d)


def warnings(out: Path) -> list[str]:
    """The run's warnings, as audit/manifest.json keeps them."""
    return json.loads((out / "audit" / "manifest.json").read_text())["warnings"]


def test_the_centimetre_scene_is_in_scene_units_in_its_annotations(runs):
    """The annotations keep Blender units (as documented), camera_params says how many metres."""
    m = json.loads((runs.m / "CamA" / "camera_params" / "camera_params_0000.json").read_text())
    cm = json.loads((runs.cm / "CamA" / "camera_params" / "camera_params_0000.json").read_text())
    assert (m["metersPerSceneUnit"], cm["metersPerSceneUnit"]) == (1.0, 0.01)
    depth = "CamA/distance_to_image_plane/distance_to_image_plane_0000.npy"
    dm, dcm = np.load(runs.m / depth), np.load(runs.cm / depth)
    hit = np.isfinite(dm)
    assert hit.any() and np.array_equal(hit, np.isfinite(dcm))
    assert np.allclose(dcm[hit] * 0.01, dm[hit], rtol=1e-5)


def test_bop_files_are_millimetres_whatever_the_unit_scale(runs):
    """BOP's models, poses and depth PNG were Blender units x 1000 (a cube in centimetres was
    100 times too large, its depth beyond 65.5 m: all 0); now the same as the scene in metres."""
    bop_m, bop_cm = runs.m / "bop", runs.cm / "bop"
    scene = "train_pbr/000000"
    gt_m = json.loads((bop_m / scene / "scene_gt.json").read_text())["0"]
    gt_cm = json.loads((bop_cm / scene / "scene_gt.json").read_text())["0"]
    assert [g["obj_id"] for g in gt_m] == [g["obj_id"] for g in gt_cm] and gt_m
    for a, b in zip(gt_m, gt_cm):
        assert np.allclose(a["cam_t_m2c"], b["cam_t_m2c"], atol=1e-3), (a, b)
        assert np.allclose(a["cam_R_m2c"], b["cam_R_m2c"], atol=1e-6)
    cam_m = json.loads((bop_m / scene / "scene_camera.json").read_text())["0"]
    cam_cm = json.loads((bop_cm / scene / "scene_camera.json").read_text())["0"]
    assert np.allclose(cam_m["cam_t_w2c"], cam_cm["cam_t_w2c"], atol=1e-3)
    assert 4000 < np.linalg.norm(cam_m["cam_t_w2c"]) < 5000  # the camera 4.5 m from the origin, in mm
    for ply in ("obj_000001.ply", "obj_000002.ply"):  # bop_toolkit's loader: header, then float x y z
        a, b = (p.read_bytes() for p in (bop_m / "models" / ply, bop_cm / "models" / ply))
        head = a[: a.index(b"end_header\n") + 11]
        assert b.startswith(head)
        n = int(next(line.split()[2] for line in head.decode().splitlines() if line.startswith("element vertex")))
        va = np.frombuffer(a, "<f4", 3 * n, len(head)).reshape(n, 3)
        vb = np.frombuffer(b, "<f4", 3 * n, len(head)).reshape(n, 3)
        assert np.allclose(va, vb, atol=1e-3), ply
    info_cm = json.loads((bop_cm / "models" / "models_info.json").read_text())
    assert info_cm["1"]["size_x"] == pytest.approx(1000.0, abs=1e-3)  # the 1 m cube: 1000 mm
    depth_m, depth_cm = (np.asarray(Image.open(b / scene / "depth" / "000000.png")) for b in (bop_m, bop_cm))
    assert depth_m.dtype == np.uint16 and (depth_m > 0).any()
    assert np.abs(depth_m.astype(int) - depth_cm.astype(int)).max() <= 1
    warned = [w for w in warnings(runs.cm) if "unit scale is 0.01" in w]
    assert len(warned) == 1 and "bop (millimetres)" in warned[0], warned
    assert not [w for w in warnings(runs.m) if "unit scale" in w]


def test_kitti_labels_are_metres_whatever_the_unit_scale(runs):
    """label_2's 3D fields (h w l x y z) were Blender units as metres (the centimetre cube
    100 m tall, 420 m away); now the lines of the scene in metres."""
    lines = {}
    for name in ("m", "cm"):
        text = (getattr(runs, name) / "kitti" / "training" / "label_2" / "000000.txt").read_text()
        lines[name] = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in text.splitlines()}
    assert set(lines["m"]) == set(lines["cm"]) == {"cube", "floor"}
    for kind, row in lines["m"].items():
        assert np.allclose(row[7:13], lines["cm"][kind][7:13], atol=2e-4), (kind, row, lines["cm"][kind])
        assert np.allclose(row[2], lines["cm"][kind][2], atol=2e-4)  # alpha
    assert np.allclose(lines["m"]["cube"][7:10], [1.0, 1.0, 1.0])  # h w l of the 1 m cube
    calib = "kitti/training/calib/000000.txt"
    assert (runs.m / calib).read_text() == (runs.cm / calib).read_text()
    assert any("kitti (metres)" in w for w in warnings(runs.cm))


@pytest.mark.skipif(not HAS_H5PY, reason="needs h5py")
def test_hdf5_depth_distance_and_camera_pose_are_metres_whatever_the_unit_scale(runs):
    """BlenderProc's depth and distance (and our camera_pose's cam_t_w2c) were Blender units,
    100 times the metres of the scene in centimetres; now as the scene in metres."""
    import h5py

    got = {}
    for name in ("m", "cm"):
        with h5py.File(getattr(runs, name) / "hdf5" / "0.hdf5", "r") as f:
            got[name] = {k: f[k][()] for k in ("depth", "distance", "camera_pose")}
    for key in ("depth", "distance"):
        a, b = got["m"][key], got["cm"][key]
        hit = np.isfinite(a)
        assert a.dtype == b.dtype == np.float32 and hit.any() and np.array_equal(hit, np.isfinite(b))
        assert np.allclose(a[hit], b[hit], rtol=1e-5), key
        assert 3.0 < float(a[hit].min()) < 6.0  # metres
    pose_m, pose_cm = (json.loads(got[n]["camera_pose"]) for n in ("m", "cm"))
    assert np.allclose(pose_m["cam_t_w2c"], pose_cm["cam_t_w2c"], atol=1e-5)
    assert pose_m["cam_K"] == pose_cm["cam_K"]


def test_lidar_files_are_metres_whatever_the_unit_scale(runs):
    """kitti_velodyne's .bin points and poses.txt, and the PCD's x y z, were Blender units
    (KITTI's and PCL's unit is the metre); now those of the scene in metres."""
    seq = "kitti_velodyne/velo/sequences/00"
    pts = {
        n: np.fromfile(getattr(runs, n) / seq / "velodyne" / "000000.bin", "<f4").reshape(-1, 4) for n in ("m", "cm")
    }
    assert len(pts["m"]) == len(pts["cm"]) > 100
    assert np.allclose(pts["m"], pts["cm"], atol=1e-4)
    assert 2.0 < np.linalg.norm(pts["m"][:, :3], axis=1).min() < 5.0  # the cube 3 m ahead, in metres
    labels = "labels/000000.label"
    assert (runs.m / seq / labels).read_bytes() == (runs.cm / seq / labels).read_bytes()
    poses = {n: np.loadtxt(getattr(runs, n) / seq / "poses.txt") for n in ("m", "cm")}
    assert np.allclose(poses["m"], poses["cm"], atol=1e-6)
    assert np.allclose(poses["m"][[3, 7, 11]], [0.0, -3.0, 1.0])
    clouds = {}
    for n in ("m", "cm"):
        data = (getattr(runs, n) / "pcd" / "velo" / "000000.pcd").read_bytes()
        head = data[: data.index(b"DATA binary\n") + 12]
        dtype = [("xyz", "<f4", 3), ("intensity", "<f4"), ("semantic", "<u4"), ("instance", "<u4"), ("ring", "<u2")]
        clouds[n] = (head, np.frombuffer(data, dtype, offset=len(head)))
    assert clouds["m"][0] == clouds["cm"][0]
    assert np.allclose(clouds["m"][1]["xyz"], clouds["cm"][1]["xyz"], atol=1e-4)
    assert np.allclose(clouds["m"][1]["xyz"], pts["m"][:, :3])
    warned = next(w for w in warnings(runs.cm) if "unit scale is 0.01" in w)
    assert "kitti_velodyne (metres)" in warned and "pcd (metres)" in warned, warned
    assert "so are the LiDARs' ranges" in warned and "'velo' " in warned, warned


def test_a_nir_illuminator_is_watts_whatever_the_unit_scale(tmp_path):
    """A NIR camera's illuminator (illuminator_power watts) lit a scene in centimetres 1e4
    times less than the same scene in metres (Cycles' fall-off takes a Blender unit for a
    metre): the NIR image of the sunless cube scene was black; now the metre scene's image."""
    images = {}
    for name, k, scale in (("m", 1.0, 1.0), ("cm", 100.0, 0.01)):
        blend = tmp_path / f"dark_{name}.blend"
        make_cube_blend(blend, k, scale, sun=False)
        param = tmp_path / f"nir_{name}.toml"
        param.write_text(
            '[run]\nframes = 1\n[render]\nresolution = [64, 48]\nsamples = 4\ndevice = "cpu"\n'
            f'[scene]\nblend = "{blend.as_posix()}"\ncameras = []\n'
            f'[[cameras]]\nname = "nircam"\nsensor = "nir"\nlocation = [0, {-4 * k:g}, {2 * k:g}]\n'
            f"look_at = [0, 0, {0.4 * k:g}]\nclip_end = {100 * k:g}\n[writers]\nbasic = {{}}\n"
        )
        assert main(["render", str(param), "--out", str(tmp_path / name), "--quiet"]) == 0
        images[name] = np.asarray(Image.open(tmp_path / name / "nircam" / "nir" / "nir_0000.png")).astype(int)
    assert images["m"].mean() > 10  # lit by its illuminator alone
    assert np.abs(images["m"] - images["cm"]).max() <= 2


def test_the_unit_scale_warning_says_what_the_lights_energies_give_in_metres(runs):
    """A point, spot or area light of the file lit a scene in centimetres 1e4 times less than
    the same light in the scene in metres (Cycles' fall-off takes a Blender unit for a metre),
    and the unit-scale warning spoke only of lengths; it now gives each such light's energy as
    it lights in metres and the energy for a light of the scene in metres (not the sun's)."""
    warned = next(w for w in warnings(runs.cm) if "unit scale is 0.01" in w)
    assert "'bulb' 500 W (0.05 W)" in warned and "energy = 5e+06 for 500 W" in warned, warned
    assert "'sky'" not in warned
    assert not [w for w in warnings(runs.m) if "unit scale" in w]
