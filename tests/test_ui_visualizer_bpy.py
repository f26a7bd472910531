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
