"""Streaming outputs of a real render: the WebDataset writer's tar shards are read by
`webdataset` itself (every frame, in order, files equal to the BasicWriter's), shards are
byte-identical between one run and two render shards, and the package's Dataset reads the
BasicWriter folder into boxes / labels / masks that match the annotations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy")
wds = pytest.importorskip("webdataset")

from headless.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def tiny_default(tmp_path: Path, frames: int) -> Path:
    text = (ROOT / "presets" / "default.toml").read_text()
    text = text.replace("resolution = [640, 480]", "resolution = [64, 48]").replace("samples = 32", "samples = 1")
    text = text.replace("frames = 8", f"frames = {frames}").replace('device = "auto"', 'device = "cpu"')
    text = text.replace("basic = {}", "basic = {}\nwebdataset = { frames_per_shard = 2 }")
    path = tmp_path / "default_tiny.toml"
    path.write_text(text)
    return path


def test_webdataset_reads_every_frame_and_dataset_class_reads_basic(tmp_path):
    param = tiny_default(tmp_path, frames=3)
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    index = json.loads((out / "webdataset" / "train.json").read_text())
    assert index["shards"] == ["train-000000.tar", "train-000001.tar"] and index["frames"] == [2, 1]

    url = str(out / "webdataset" / index["url"])
    samples = list(wds.WebDataset(url, shardshuffle=False).decode("pil"))
    assert [s["__key__"] for s in samples] == ["000000", "000001", "000002"]
    for f, s in enumerate(samples):
        assert np.array_equal(np.array(s["rgb.png"]), np.array(Image.open(out / f"rgb_{f:04d}.png").convert("RGB")))
        assert np.array_equal(s["depth.npy"], np.load(out / f"distance_to_image_plane_{f:04d}.npy"))
        meta = s["json"]
        assert meta["frame"] == f and meta["classes"][:2] == ["mug", "ball"]
        boxes = np.load(out / f"bounding_box_2d_tight_{f:04d}.npy")
        tight = meta["bounding_box_2d_tight"]
        assert [r["x_min"] for r in tight["data"]] == boxes["x_min"].tolist()
        ids = s["instance.npy"]  # raw ids
        assert ids.shape == (48, 64) and set(tight["info"]["bboxIds"]) <= set(np.unique(ids).tolist())

    # Two render shards into one folder: the merged tar shards are byte-identical.
    split = tmp_path / "split"
    assert main(["render", str(param), "--out", str(split), "--shard", "1/2", "--quiet"]) == 0
    assert main(["render", str(param), "--out", str(split), "--shard", "0/2", "--quiet"]) == 0
    for name in index["shards"]:
        assert (split / "webdataset" / name).read_bytes() == (out / "webdataset" / name).read_bytes()

    from sdg_addon.dataset import BasicWriterDataset

    ds = BasicWriterDataset(out)
    assert len(ds) == 3 and ds.classes == ["mug", "ball", "box", "cone", "donut", "monkey"]
    for f in range(3):
        item = ds[f]
        assert item["frame"] == f and item["image"].shape == (48, 64, 3) and item["depth"].shape == (48, 64)
        rows = np.load(out / f"bounding_box_2d_tight_{f:04d}.npy")
        assert len(item["boxes"]) == len(rows) > 0
        assert np.array_equal(item["boxes"][:, 2], rows["x_max"] + 1)
        for k in range(len(rows)):
            mask = item["masks"][k]
            ys, xs = np.nonzero(mask)
            # Each mask is its box's object: its extent is the tight box.
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == tuple(item["boxes"][k].astype(int))
            assert 0 <= item["labels"][k] < len(ds.classes)
