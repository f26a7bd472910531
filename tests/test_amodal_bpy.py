"""Amodal masks of a real render: a card half hidden by a card in front. Its amodal mask is
its full rectangle computed by hand (pixel centres inside the projected square), and
visible / amodal pixels equal the occlusion annotation."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("bpy")

from scenes import NO_GROUND, camera, header, render, sun, write_param  # noqa: E402

W, H, FOCAL, SENSOR, DIST = 64, 48, 50.0, 36.0, 5.0

CARDS = (
    header((W, H), samples=4)
    + NO_GROUND
    + camera((0.0, -DIST, 0.0), (0.0, 0.0, 0.0), focal_length=FOCAL, sensor_width=SENSOR)
    + sun((0, -5, 5))
    + """
[[assets]]
name = "back"
primitive = "plane"
size = 1.0
rotation = [90, 0, 0]
labels = { class = "card" }

[[assets]]
name = "front"
primitive = "plane"
size = 1.0
location = [0.5, -1.0, 0.0]
rotation = [90, 0, 0]
labels = { class = "card" }

[annotators]
instance_segmentation = {}
instance_segmentation_amodal = {}
occlusion = {}
bounding_box_2d_loose = {}

[writers]
basic = { colorize_instance_segmentation = false }
"""
)


def test_half_hidden_card_amodal_mask_is_its_full_rectangle(tmp_path):
    out = tmp_path / "out"
    assert render(write_param(tmp_path, CARDS, "cards.toml"), out) == 0
    npz = np.load(out / "instance_segmentation_amodal_0000.npz")
    info = json.loads((out / "instance_segmentation_amodal_info_0000.json").read_text())
    row = [p.rsplit("/", 1)[-1] for p in info["primPaths"]].index("back")
    iid = info["instanceIds"][row]
    mask = npz["masks"][row]
    assert npz["instance_ids"][row] == iid
    # By hand: the back card spans x, z in [-0.5, 0.5] at depth 5; f = 50 mm * 64 px / 36 mm.
    f = FOCAL * W / SENSOR
    u0, u1 = W / 2 - f * 0.5 / DIST, W / 2 + f * 0.5 / DIST
    v0, v1 = H / 2 - f * 0.5 / DIST, H / 2 + f * 0.5 / DIST
    cols = (np.arange(W) + 0.5 >= u0) & (np.arange(W) + 0.5 < u1)
    rows = (np.arange(H) + 0.5 >= v0) & (np.arange(H) + 0.5 < v1)
    expected = rows[:, None] & cols[None, :]
    assert np.array_equal(mask, expected)
    # Visible: its left half (the front card covers x >= 0, i.e. u >= W / 2).
    from PIL import Image

    ids = np.array(Image.open(out / "instance_segmentation_0000.png"))
    visible = ids == iid
    assert np.array_equal(visible, expected & (np.arange(W) + 0.5 < W / 2)[None, :])
    occ = np.load(out / "occlusion_0000.npy")
    occ_row = occ[list(occ["instanceId"]).index(iid)]
    assert occ_row["occlusionRatio"] == pytest.approx(1 - visible.sum() / mask.sum(), abs=1e-7)
    assert occ_row["occlusionRatio"] == pytest.approx(0.5, abs=1e-7)
    assert info["occlusionRatio"][row] == pytest.approx(0.5, abs=1e-12)
    loose = np.load(out / "bounding_box_2d_loose_0000.npy")[row]
    ys, xs = np.nonzero(expected)
    assert (loose["x_min"], loose["y_min"], loose["x_max"], loose["y_max"]) == (xs.min(), ys.min(), xs.max(), ys.max())
