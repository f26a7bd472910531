"""writers/tiff.py: single-channel TIFF files without Pillow (Blender's Python has none),
read back by Pillow and OpenCV."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from sdg_addon.writers import io
from sdg_addon.writers.tiff import encode_tiff


def _images():
    rng = np.random.default_rng(0)
    kelvin = rng.uniform(-40.0, 1500.0, (37, 53)).astype(np.float32)
    kelvin[0, 0], kelvin[0, 1] = np.float32(0.1), np.float32(3.4e38)  # not round in binary; near max
    yield kelvin
    yield rng.integers(0, 65536, (37, 53)).astype(np.uint16)
    yield np.array([[65535]], np.uint16)  # one pixel


@pytest.mark.parametrize("image", list(_images()), ids=["float32", "uint16", "one pixel"])
def test_pillow_and_opencv_read_back_the_values(tmp_path, image):
    path = tmp_path / "t.tiff"
    path.write_bytes(encode_tiff(image))
    with Image.open(path) as im:
        assert im.mode == ("F" if image.dtype == np.float32 else "I;16")
        assert im.size == (image.shape[1], image.shape[0])
        read = np.asarray(im)
    assert read.dtype == image.dtype and np.array_equal(read, image)
    read = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert read.dtype == image.dtype and np.array_equal(read, image)


def test_refuses_what_it_cannot_store():
    for bad in (np.zeros((4, 4), np.float64), np.zeros((4, 4, 3), np.uint16), np.zeros((0, 4), np.uint16)):
        with pytest.raises(ValueError, match="TIFF"):
            encode_tiff(bad)


def test_thermal_tiffs_need_no_pillow(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # as inside Blender
    kelvin = np.array([[273.15, 300.004], [1000.0, 0.0]], np.float32)
    io.write_tiff(tmp_path / "f.tiff", kelvin)
    io.write_tiff(tmp_path / "c.tiff", kelvin, "centikelvin")
    monkeypatch.undo()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "f.tiff")), kelvin)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "c.tiff")), [[27315, 30000], [65535, 0]])  # 1000 K clips
