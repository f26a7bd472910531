"""Scene-linear render -> display-referred 8-bit image (the view transform), as Blender does.

"Standard" is the sRGB transfer function, exact, in numpy (no Blender needed); "Raw"
clips; other views (AgX, Filmic) go through OpenColorIO with Blender's own configuration
(OpenImageIO and the configuration ship with Blender and the bpy module).
"""

from __future__ import annotations

import functools

import numpy as np


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function on values in [0, 1]."""
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def srgb_inverse(encoded: np.ndarray) -> np.ndarray:
    """Inverse of srgb_encode (float64)."""
    v = np.asarray(encoded, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


_BINS = 4096  # a power of two: x * _BINS is exact in float32, so a bin never straddles


@functools.lru_cache(maxsize=1)
def _srgb_levels() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables for round(255 * srgb_encode(x)) of x in [0, 1], correctly rounded.

    Level k starts at the linear value t_k = srgb_inverse((k - 0.5) / 255). Levels are at
    least 1 / (255 * 12.92) = 3.0e-4 apart in linear terms (the steepest part of the
    curve), more than a bin (1 / 4096 = 2.4e-4), so a bin holds at most one t_k: the level
    of x is base[bin] + (x >= threshold[bin]), two lookups instead of a power per value.
    """
    t = srgb_inverse((np.arange(1, 256) - 0.5) / 255.0)
    t32 = t.astype(np.float32)
    # The smallest float32 >= t_k: for float32 x, x >= t32 exactly when x >= t_k.
    t32 = np.where(t32.astype(np.float64) < t, np.nextafter(t32, np.float32(2)), t32)
    edges = np.arange(_BINS + 1) / _BINS
    first_above = np.searchsorted(t, edges, side="right")  # index of the first t_k > edge
    base = first_above.astype(np.uint8)  # level at the bin's left edge
    threshold = np.full(_BINS + 1, np.inf, dtype=np.float32)
    inside = first_above[:-1] < len(t)
    inside[inside] &= t[first_above[:-1][inside]] < edges[1:][inside]
    threshold[:-1][inside] = t32[first_above[:-1][inside]]
    return base, threshold


def srgb_levels(linear: np.ndarray) -> np.ndarray:
    """uint8 round(255 * srgb_encode(clip(linear, 0, 1))), correctly rounded, by lookup."""
    base, threshold = _srgb_levels()
    # maximum/minimum with float32 scalars: np.clip is several times slower here.
    x = np.maximum(np.asarray(linear, dtype=np.float32), np.float32(0.0))
    np.minimum(x, np.float32(1.0), out=x)
    with np.errstate(invalid="ignore"):
        idx = (x * np.float32(_BINS)).astype(np.intp)
    if np.isnan(x).any():
        idx[np.isnan(x)] = 0  # NaN -> black, as the formula's cast gives
    return base[idx] + (x >= threshold[idx]).view(np.uint8)


def display_transform(linear_rgba: np.ndarray, view: str) -> np.ndarray:
    """(H, W, 4) scene-linear float RGBA -> (H, W, 4) uint8 RGBA for an sRGB display."""
    if view == "Standard":
        # All four channels in one pass over the contiguous array (strided views of three
        # channels cost more than the extra channel), then alpha overwritten.
        out = srgb_levels(np.ascontiguousarray(linear_rgba, dtype=np.float32))
        alpha = np.minimum(np.maximum(linear_rgba[..., 3], np.float32(0.0)), np.float32(1.0))
        out[..., 3] = np.round(alpha * np.float32(255.0))
        return out
    alpha = np.clip(linear_rgba[..., 3:4], 0.0, 1.0)
    rgb = np.clip(linear_rgba[..., :3], 0.0, None)
    if view == "Raw":
        out = rgb
    else:
        out = _ocio_display(rgb, view)
    rgba = np.concatenate([np.clip(out, 0.0, 1.0), alpha], axis=-1)
    return np.round(rgba * 255.0).astype(np.uint8)


def _ocio_display(rgb: np.ndarray, view: str) -> np.ndarray:
    # No bpy here: this runs in worker processes, which cannot import it.
    from .blender_paths import ocio_config
    from .capture.exr import _oiio  # OpenImageIO ships with Blender

    oiio = _oiio()
    config = str(ocio_config())
    buf = oiio.ImageBuf(np.ascontiguousarray(rgb, dtype=np.float32))
    res = oiio.ImageBufAlgo.ociodisplay(buf, "sRGB", view, "Linear Rec.709", colorconfig=config)
    if res.has_error:
        raise RuntimeError(f"view transform {view!r} failed: {res.geterror()}")
    return np.asarray(res.get_pixels(oiio.FLOAT)).reshape(rgb.shape)
