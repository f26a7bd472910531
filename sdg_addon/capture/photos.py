"""Decode a background photo with Blender: the stored 8-bit values (where Pillow is missing:
Blender's own Python; backgrounds.decode_with_pillow gives the same bytes elsewhere).

Loaded as a new image datablock (never one of the user's), read and removed again. An
8-bit image's `pixels` are its stored (sRGB) bytes / 255, bottom row first, RGBA whatever
the file holds (grey is spread to RGB): rounded back they are the bytes, exactly. The
photo's own alpha is dropped: its colour as stored is pasted, opaque.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..backgrounds import cannot_read, not_8_bit


def decode_photo(path) -> np.ndarray:
    """(h, w, 3) uint8, top row first. ValueError naming the file if Blender cannot read
    it as an 8-bit image (a broken file; a 16-bit TIFF, which it reads as float)."""
    path = Path(path)
    try:
        image = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as e:
        raise cannot_read(path, f": {e}") from None
    try:
        if image.is_float:
            raise not_8_bit(path)
        width, height = image.size
        channels = image.channels
        if width == 0 or height == 0:
            raise cannot_read(path, " (no pixels)")
        pixels = np.empty(width * height * channels, np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    rows = pixels.reshape(height, width, channels)[::-1]
    rgb = rows[..., :3] if channels >= 3 else np.repeat(rows[..., :1], 3, axis=-1)
    return np.rint(rgb * np.float32(255.0)).astype(np.uint8)
