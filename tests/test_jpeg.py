"""jpeg.py, the numpy JPEG round trip used where Pillow is missing (inside Blender), checked
against Pillow's libjpeg(-turbo): the same quantization tables, the same image to the bit."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from sdg_addon import imaging
from sdg_addon.imaging import apply_display
from sdg_addon.jpeg import CHROMA_TABLE, LUMA_TABLE, jpeg_roundtrip, quality_table


def pillow_roundtrip(rgb8: np.ndarray, quality: int) -> tuple[np.ndarray, dict]:
    buf = io.BytesIO()
    Image.fromarray(rgb8, "RGB").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    decoded = Image.open(buf)
    return np.asarray(decoded.convert("RGB")), decoded.quantization


def test_quality_tables_are_libjpegs_at_every_quality():
    img = np.zeros((8, 8, 3), np.uint8)
    for q in range(1, 101):
        _, tables = pillow_roundtrip(img, q)  # Pillow reads them back in row order
        assert np.array_equal(quality_table(LUMA_TABLE, q).reshape(-1), tables[0]), q
        assert np.array_equal(quality_table(CHROMA_TABLE, q).reshape(-1), tables[1]), q


def _test_images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    h, w = 96, 128
    yy, xx = np.mgrid[0:h, 0:w]
    gradient = np.stack([xx * 2, yy * 2, (xx + yy)], axis=-1).astype(np.uint8)
    shapes = gradient.copy()
    shapes[20:50, 10:70] = (200, 30, 40)  # saturated colour edges: chroma subsampling shows
    shapes[60:90, 80:120] = (20, 200, 90)
    noisy = np.clip(gradient + rng.normal(0, 12, gradient.shape), 0, 255).astype(np.uint8)
    return {"gradient": gradient, "shapes": shapes, "noisy": noisy, "odd size": shapes[:37, :53]}


@pytest.mark.parametrize("quality", [1, 2, 5, 10, 25, 50, 75, 90, 95, 100])
def test_the_numpy_round_trip_is_pillows_to_the_bit(quality):
    """libjpeg's integer DCT, its rounding of halves, its colour conversion, chroma averaging
    and upsampling, and its range limit: every value as Pillow decodes it."""
    rng = np.random.default_rng(quality)
    images = {
        **_test_images(),
        "random noise": rng.integers(0, 256, (41, 67, 3), dtype=np.uint8),  # every coefficient large
        "checkerboard": ((np.indices((32, 48)).sum(0) % 2) * 255).astype(np.uint8)[..., None].repeat(3, 2),
    }
    for name, img in images.items():
        assert np.array_equal(jpeg_roundtrip(img, quality), pillow_roundtrip(img, quality)[0]), name


@pytest.mark.parametrize("quality", [1, 10, 50, 95])
def test_flat_colours_come_back_exactly_as_libjpeg_returns_them(quality):
    """Many colours through libjpeg's fixed-point colour conversions (flat blocks: the DC
    coefficient's rounding of halves, the chroma averaging and upsampling)."""
    colours = np.random.default_rng(quality).integers(0, 256, (150, 3))
    tiles = np.broadcast_to(colours[:, None, None, :], (150, 16, 16, 3)).astype(np.uint8)
    for tile in tiles:
        assert np.array_equal(jpeg_roundtrip(tile, quality), pillow_roundtrip(tile, quality)[0]), tile[0, 0]


def test_the_numpy_round_trip_of_every_size_up_to_a_unit_and_past_it_is_pillows():
    """Every height and width 1 .. 18 (one 16 x 16 unit and past it): libjpeg pads a unit's
    columns before averaging chroma but repeats the averaged chroma's last row below it, and
    upsamples chroma of at most two columns by repeating it, not by its triangle filter."""
    rng = np.random.default_rng(16)
    for h in range(1, 19):
        for w in range(1, 19):
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            out = jpeg_roundtrip(img, 50)
            assert out.dtype == np.uint8 and np.array_equal(out, pillow_roundtrip(img, 50)[0]), (h, w)


def test_jpeg_augmentation_works_without_pillow(monkeypatch):
    """Blender's Python has no Pillow: the augmentation falls back to jpeg.py."""
    img = np.zeros((24, 40, 4), np.uint8)
    img[..., :3] = _test_images()["shapes"][:24, :40]
    img[..., 3] = 200
    with_pillow = apply_display(img, {"jpeg_quality": 40})
    monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import ...` now fails
    with pytest.raises(ImportError):
        from PIL import Image  # noqa: F401
    without = apply_display(img, {"jpeg_quality": 40})
    assert np.array_equal(without[..., :3], jpeg_roundtrip(img[..., :3], 40))
    assert np.array_equal(without, with_pillow)  # the same image either way, alpha kept
    assert np.array_equal(imaging._jpeg_rgba(img, 0), apply_display(img, {"jpeg_quality": 1}))  # clamped
