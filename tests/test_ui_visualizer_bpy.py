"""The recorder panel's last-frame picture (sdg_addon/ui/visualizer.py, Blender's own image
loading) shows the instance and semantic masks as the files hold them: colourised maps as
their colours, raw id maps (colorize_* = false: 16-bit grey PNG, or .npy above 65535) in
the same colours, each id its palette colour, not near-black grey levels."""

from __future__ import annotations

import numpy as np
import pytest
from test_basic_colorize import MAPS, frame  # noqa: F401 (fixture)

from sdg_addon.writers import create_writer
from sdg_addon.writers.palette import id_colors

TILES = {"instance_segmentation": 1, "semantic_segmentation": 2}  # tile index in a camera row


@pytest.mark.parametrize("colourised", [True, False])
def test_mask_tiles_show_each_id_in_its_palette_colour(tmp_path, clean_bpy, frame, colourised):  # noqa: F811
    from sdg_addon.ui import visualizer

    h, w = frame.annotations["instance_segmentation"]["data"].shape
    frame.annotations["rgb"] = np.full((h, w, 4), 255, np.uint8)
    options = {f"colorize_{name}": colourised for name in MAPS}
    create_writer("basic", tmp_path, **options).write(frame)
    row = visualizer.camera_row(tmp_path, "0000")
    for name, k in TILES.items():
        ids = frame.annotations[name]["data"]
        tile = row[:, k * (w + visualizer.GAP) : k * (w + visualizer.GAP) + w, :3]
        expected = id_colors(ids)[..., :3] / 255.0
        assert np.allclose(tile, expected, atol=0.5 / 255), name


def test_raw_ids_above_16_bits_come_from_their_npy(tmp_path, clean_bpy, frame):  # noqa: F811
    from sdg_addon.ui import visualizer

    ids = frame.annotations["instance_segmentation"]["data"].astype(np.uint32).copy()
    ids[ids >= 2] += 70000
    frame.annotations["instance_segmentation"] = {
        "data": ids,
        "info": {"idToLabels": {int(i): f"/o{i}" for i in np.unique(ids)}, "idToSemantics": {}},
    }
    h, w = ids.shape
    frame.annotations["rgb"] = np.full((h, w, 4), 255, np.uint8)
    create_writer("basic", tmp_path, colorize_instance_segmentation=False).write(frame)
    assert (tmp_path / "instance_segmentation_0000.npy").is_file()
    tile = visualizer.camera_row(tmp_path, "0000")[:, w + visualizer.GAP : 2 * w + visualizer.GAP, :3]
    assert np.allclose(tile, id_colors(ids)[..., :3] / 255.0, atol=0.5 / 255)


def test_depth_tile_is_the_colourised_depth_as_stored(tmp_path, clean_bpy, frame):  # noqa: F811
    """The panel is a byte (sRGB) image: its pixels are stored and shown as given, so the
    depth tile holds colorize_depth's levels / 255, as the headless preview's depth tile."""
    from sdg_addon.colormaps import colorize_depth
    from sdg_addon.ui import visualizer

    h, w = frame.annotations["instance_segmentation"]["data"].shape
    depth = np.linspace(1.0, 5.0, h * w, dtype=np.float32).reshape(h, w)
    depth[0, :4] = np.inf
    frame.annotations["rgb"] = np.full((h, w, 4), 255, np.uint8)
    frame.annotations["distance_to_image_plane"] = depth
    create_writer("basic", tmp_path).write(frame)
    image, _suffix = visualizer.frame_image(tmp_path)
    assert not image.is_float
    pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
    image.pixels.foreach_get(pixels)
    panel = pixels.reshape(image.size[1], image.size[0], 4)[::-1]
    k = 3
    tile = panel[:h, k * (w + visualizer.GAP) : k * (w + visualizer.GAP) + w, :3]
    assert np.allclose(tile, colorize_depth(depth) / 255.0, atol=0.5 / 255)


@pytest.mark.parametrize("layout", ["flat", "frames_per_folder", "sequence"])
def test_show_last_frame_finds_the_runs_last_frame_in_every_layout(tmp_path, clean_bpy, layout):
    """Show Last Frame: one row per camera of the run's last frame, wherever the BasicWriter
    put it: <camera>/rgb/, <camera>/frames_N/rgb/ (frames_per_folder), clip_N/<camera>/rgb/
    (sequences). Before, the last two said the folder 'holds no recorded frame'."""
    from test_writers_formats import make_frame

    from sdg_addon.ui import visualizer

    options = {"frames_per_folder": 2} if layout == "frames_per_folder" else {}
    w = create_writer("basic", tmp_path, **options)
    w.set_run(None, several_cameras=True)
    for run_frame in range(5):
        for cam in ("left", "right"):
            made = make_frame(run_frame, cam)
            if layout == "sequence":
                made.clip, made.clip_frame = divmod(run_frame, 2)
            w.write(made)
    image, suffix = visualizer.frame_image(tmp_path)
    assert suffix == ("0000" if layout == "sequence" else "0004")  # clip 2's frame 0 is run frame 4
    h = make_frame(0).annotations["rgb"].shape[0]
    assert image.size[1] == 2 * h + visualizer.GAP  # a row per camera
    pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
    image.pixels.foreach_get(pixels)
    panel = pixels.reshape(image.size[1], image.size[0], 4)[::-1]
    assert np.allclose(panel[h // 2, 1, 1], 4 / 255)  # make_frame's green channel: the frame


def test_a_recording_without_the_basic_writers_rgb_says_what_show_last_frame_needs(tmp_path, clean_bpy):
    """A recording with the COCO writer alone, or without the rgb annotator, has frames but
    no rgb_*.png of the basic writer: said so (was 'holds no recorded frame', after the
    panel had said 'Done: 3 frame(s) written')."""
    from sdg_addon.ui import visualizer

    (tmp_path / "coco").mkdir()
    (tmp_path / "coco" / "rgb_0000.png").write_bytes(b"")  # another writer's folder: not looked in
    with pytest.raises(FileNotFoundError, match="no rgb_\\*.png of the basic writer: Show Last Frame needs the rgb"):
        visualizer.frame_image(tmp_path)


@pytest.mark.parametrize("annotator_subfolders", [False, True])
def test_show_last_frame_takes_a_camera_named_rgb_for_one_camera(tmp_path, clean_bpy, annotator_subfolders):
    """Cameras 'rgb' and 'side' in the flat layout (annotator_subfolders = false) write
    OUT/rgb/rgb_0000.png beside that camera's other files: Show Last Frame read it as the
    rgb annotator folder of a camera at the root too, and drew three rows for two cameras
    (the extra one without boxes or masks), as report and preview did before b87ea29."""
    from test_writers_formats import make_frame

    from sdg_addon.ui import visualizer

    w = create_writer("basic", tmp_path, annotator_subfolders=annotator_subfolders)
    w.set_run(None, several_cameras=True)
    for cam in ("rgb", "side"):
        w.write(make_frame(0, cam))
    assert (tmp_path / "rgb" / ("rgb/rgb_0000.png" if annotator_subfolders else "rgb_0000.png")).is_file()
    assert [folder.name for _key, _suffix, folder in visualizer.frame_places(tmp_path)] == ["rgb", "side"]
    image, _suffix = visualizer.frame_image(tmp_path)
    assert image.size[1] == 2 * make_frame(0).annotations["rgb"].shape[0] + visualizer.GAP  # a row per camera


def test_show_last_frame_draws_keypoints_and_names_what_it_leaves_to_the_preview(tmp_path, clean_bpy, frame):  # noqa: F811
    """Show Last Frame drew the RGB with its 2D boxes only: a recording's keypoints (YOLO-pose,
    COCO keypoints) were nowhere, and its 3D boxes and LiDAR scans, which the headless preview
    draws, went unsaid. A seen keypoint is now a 3 x 3 dot over a dark halo, a hidden one a
    ring, one outside the image none; 3D boxes and LiDAR points are named for the preview."""
    from sdg_addon.annotators.keypoints import KEYPOINT_DTYPE
    from sdg_addon.ui import visualizer

    h, w = frame.annotations["instance_segmentation"]["data"].shape
    frame.annotations["rgb"] = np.full((h, w, 4), 255, np.uint8)
    rows = [(2, 1, 0, 3.5, 4.5, 2.0, 2), (2, 1, 1, 9.2, 4.7, 2.0, 1), (2, 1, 2, -3.0, 4.0, 2.0, 0)]
    frame.annotations["keypoints"] = {
        "data": np.array(rows, dtype=KEYPOINT_DTYPE),
        "info": {"names": {}, "skeletons": {}, "primPaths": {}, "idToLabels": {}},
    }
    create_writer("basic", tmp_path).write(frame)
    assert (tmp_path / "keypoints_0000.npy").is_file()
    image, suffix, left_out = visualizer.frame_picture(tmp_path)
    assert suffix == "0000" and left_out == []
    pixels = np.empty(image.size[0] * image.size[1] * 4, np.float32)
    image.pixels.foreach_get(pixels)
    rgb = pixels.reshape(image.size[1], image.size[0], 4)[::-1][:h, :w, :3]
    dot, near = visualizer.KEYPOINT_COLOR[:3], {"atol": 0.5 / 255}  # (a byte image)
    assert np.allclose(rgb[3:6, 2:5], dot, **near) and np.allclose(rgb[2, 1:6], 0) and np.allclose(rgb[4, 0], 1)
    assert np.allclose(rgb[4, 9], 0) and np.allclose(rgb[3, 8:11][[0, 2]], dot, **near)  # the hidden one: a ring
    assert np.allclose(rgb[4, 12:], 1)  # nothing else drawn on the row (the one outside the image: none)
    np.save(tmp_path / "bounding_box_3d_0000.npy", np.zeros(0))
    (tmp_path / "top" / "lidar").mkdir(parents=True)
    np.save(tmp_path / "top" / "lidar" / "lidar_0000.npy", np.zeros((0, 4), np.float32))
    assert visualizer.frame_picture(tmp_path)[2] == ["3D boxes", "LiDAR points"]
