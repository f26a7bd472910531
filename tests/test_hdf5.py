"""The hdf5 writer's dependency and options, without rendering (no bpy)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from headless.cli import EXIT_INVALID, EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent


def param_with_hdf5(tmp_path: Path, options: str = "{}") -> Path:
    text = (ROOT / "presets" / "default.toml").read_text().replace("basic = {}", f"basic = {{}}\nhdf5 = {options}")
    path = tmp_path / "with_hdf5.toml"
    path.write_text(text)
    return path


def test_hdf5_writer_without_h5py_is_refused_at_validation_naming_the_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "h5py", None)  # `import h5py` raises ImportError
    param = param_with_hdf5(tmp_path)
    assert main(["validate", str(param)]) == EXIT_INVALID == 2
    err = "".join(capsys.readouterr())
    assert "writers.hdf5" in err and "pip install h5py" in err


def test_hdf5_writer_validates_with_h5py_and_bounds_its_compression_level(tmp_path, capsys):
    pytest.importorskip("h5py")
    assert main(["validate", str(param_with_hdf5(tmp_path, "{ compression_level = 9 }"))]) == EXIT_OK
    assert main(["validate", str(param_with_hdf5(tmp_path, "{ compression_level = 10 }"))]) == EXIT_INVALID
    assert "compression_level" in "".join(capsys.readouterr())


def test_hdf5_writer_takes_world_normals_only(tmp_path, capsys):
    """Its normals are BlenderProc's camera-space encoding of world normals: normals in
    another space would be turned a second time, so they are refused up front."""
    pytest.importorskip("h5py")
    text = param_with_hdf5(tmp_path).read_text()
    assert "camera_params = {}\n" in text
    world = tmp_path / "world_normals.toml"
    world.write_text(text.replace("camera_params = {}\n", "camera_params = {}\nnormals = {}\n"))
    assert main(["validate", str(world)]) == EXIT_OK
    camera = tmp_path / "camera_normals.toml"
    camera.write_text(text.replace("camera_params = {}\n", 'camera_params = {}\nnormals = { space = "camera" }\n'))
    assert main(["validate", str(camera)]) == EXIT_INVALID
    assert 'annotators.normals.space: got "camera"; expected "world" with the hdf5 writer' in "".join(
        capsys.readouterr()
    )


def test_camera_pose_says_when_cam_k_is_an_orthographic_cameras_affine_projection():
    """cam_K of an orthographic camera is affine (u = fx x + cx, no division by depth): the
    entry says `projection`, so a pinhole reader is not misled; a perspective one is as before."""
    from types import SimpleNamespace

    import numpy as np

    from sdg_addon.frame import Camera
    from sdg_addon.writers.hdf5 import camera_pose

    for projection in ("perspective", "orthographic"):
        cam = Camera("cam", 64, 48, projection, np.eye(4), 20.0, 20.0, 32.0, 24.0, 0.1, 100.0)
        pose = camera_pose(SimpleNamespace(camera=cam))
        assert sorted(pose) == ["cam_K", "cam_R_w2c", "cam_t_w2c"] + (
            ["projection"] if projection != "perspective" else []
        )
        point_cam = np.array([0.5, -0.25, 4.0])  # OpenCV camera axes
        u, v = cam.project_camera((np.diag([1.0, -1.0, -1.0]) @ point_cam)[None])[0][0]
        k = np.reshape(pose["cam_K"], (3, 3))
        if projection == "perspective":
            assert np.allclose(k @ point_cam / point_cam[2], [u, v, 1.0])
        else:
            assert pose["projection"] == "orthographic"
            assert np.allclose(k[:2, :2] @ point_cam[:2] + k[:2, 2], [u, v])


def test_camera_pose_is_in_metres_in_a_scene_in_centimetres():
    """A scene in centimetres (Camera.meters_per_unit 0.01): cam_t_w2c in metres, and an
    orthographic cam_K maps metres (20 pixels per Blender unit: 2000 per metre)."""
    from types import SimpleNamespace

    import numpy as np

    from sdg_addon.frame import Camera
    from sdg_addon.writers.hdf5 import camera_pose

    to_world = np.eye(4)
    to_world[:3, 3] = [0.0, 0.0, 250.0]  # 2.5 m above the origin, in centimetres
    for projection, fx in (("perspective", 20.0), ("orthographic", 2000.0)):
        cam = Camera("cam", 64, 48, projection, to_world, 20.0, 20.0, 32.0, 24.0, 0.1, 100.0, meters_per_unit=0.01)
        pose = camera_pose(SimpleNamespace(camera=cam))
        assert np.allclose(pose["cam_t_w2c"], [0.0, 0.0, 2.5])
        assert np.allclose(np.reshape(pose["cam_K"], (3, 3)), [[fx, 0, 32], [0, fx, 24], [0, 0, 1]])


def test_attribute_maps_name_an_object_as_its_name_not_its_escaped_path():
    """A prim path writes a name's "/" and "%" as %2F and %25; BlenderProc's `name` is the
    object's name: "shelf/box", not "shelf%2Fbox"."""
    from types import SimpleNamespace

    from sdg_addon.frame import LabelTable
    from sdg_addon.writers.hdf5 import attribute_maps

    labels = {"2": {"class": "box"}, "3": {"class": "box"}}
    paths = {"2": "/shelf/box", "3": "/shelf%2Fbox", "4": "/50%25 off"}
    info = {"idToLabels": paths, "idToSemantics": labels}
    frame = SimpleNamespace(annotations={"instance_segmentation": {"info": info}}, label_table=LabelTable())
    names = [(e["name"], e["path"]) for e in attribute_maps(frame, "class")]
    assert names == [("box", "/shelf/box"), ("shelf/box", "/shelf%2Fbox"), ("50% off", "/50%25 off")]
