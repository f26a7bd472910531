"""The PNG encoder: Pillow (an independent decoder) reads back exactly what was written."""

import io

import numpy as np
import pytest
from PIL import Image

from sdg_addon.writers.png import encode_png


@pytest.mark.parametrize(
    "shape,dtype,mode",
    [((7, 5), np.uint8, "L"), ((7, 5, 3), np.uint8, "RGB"), ((7, 5, 4), np.uint8, "RGBA"), ((7, 5), np.uint16, "I;16")],
)
def test_roundtrip_through_pillow(shape, dtype, mode):
    rng = np.random.default_rng(0)
    a = rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    img = Image.open(io.BytesIO(encode_png(a)))
    assert img.size == (shape[1], shape[0])
    assert img.mode.startswith(mode[:1]) and np.array_equal(np.array(img).astype(dtype), a)


def test_rejects_what_png_cannot_hold():
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match="shape"):
        encode_png(np.zeros((2, 2, 2), np.uint8))


def test_views_that_are_not_contiguous_are_encoded_as_their_values():
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 255, size=(9, 6, 4), endpoint=True).astype(np.uint8)
    grey = rng.integers(0, 65535, size=(6, 9), endpoint=True).astype(np.uint16)
    for view in (rgba[..., :3], rgba[:, ::2], rgba[::-1, :, 1], rgba.transpose(1, 0, 2), grey.T, grey[:, ::3]):
        assert not view.flags.c_contiguous
        img = np.array(Image.open(io.BytesIO(encode_png(view))))
        assert np.array_equal(img.astype(view.dtype), view)
        assert encode_png(view) == encode_png(np.ascontiguousarray(view))


def test_every_chunk_carries_zlibs_crc32():
    import struct
    import zlib

    data = encode_png(np.random.default_rng(2).integers(0, 255, size=(16, 9, 4)).astype(np.uint8))
    pos, kinds = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])[0] == zlib.crc32(kind + body)
        kinds.append(kind)
        pos += 12 + n
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
