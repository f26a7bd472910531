"""Scene-linear render -> display-referred 8-bit image (the view transform), as Blender does.

"Standard" is the sRGB transfer function, exact, in numpy (no Blender needed); "Raw"
clips; other views (AgX, Filmic) go through OpenColorIO with Blender's own configuration
(OpenImageIO and the configuration ship with Blender and the bpy module).
"""

from __future__ import annotations

import os

import numpy as np


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function on values in [0, 1]."""
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def display_transform(linear_rgba: np.ndarray, view: str) -> np.ndarray:
    """(H, W, 4) scene-linear float RGBA -> (H, W, 4) uint8 RGBA for an sRGB display."""
    rgb = np.clip(linear_rgba[..., :3], 0.0, None)
    alpha = np.clip(linear_rgba[..., 3:4], 0.0, 1.0)
    if view == "Standard":
        out = srgb_encode(np.minimum(rgb, 1.0))
    elif view == "Raw":
        out = rgb
    else:
        out = _ocio_display(rgb, view)
    rgba = np.concatenate([np.clip(out, 0.0, 1.0), alpha], axis=-1)
    return np.round(rgba * 255.0).astype(np.uint8)


def _ocio_display(rgb: np.ndarray, view: str) -> np.ndarray:
    import bpy

    from .capture.exr import _oiio  # OpenImageIO ships with Blender

    oiio = _oiio()
    config = os.path.join(bpy.utils.resource_path("LOCAL"), "datafiles", "colormanagement", "config.ocio")
    buf = oiio.ImageBuf(np.ascontiguousarray(rgb, dtype=np.float32))
    res = oiio.ImageBufAlgo.ociodisplay(buf, "sRGB", view, "Linear Rec.709", colorconfig=config)
    if res.has_error:
        raise RuntimeError(f"view transform {view!r} failed: {res.geterror()}")
    return np.asarray(res.get_pixels(oiio.FLOAT)).reshape(rgb.shape)
