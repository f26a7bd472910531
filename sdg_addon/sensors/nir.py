"""Near-infrared (NIR, ~850 nm) images and reflectance defaults, in plain numpy (no bpy).

A NIR camera is rendered in grey: every surface is a diffuse reflector of its NIR
reflectance, lit by the scene's lights and the camera's active illuminator (a spot light
at the camera, optionally projecting a dot pattern). The result is one linear channel.
"""

from __future__ import annotations

import numpy as np

from ..colour import LINEAR_REC709, as_rec709, srgb_encode
from .thermal import gaussian_blur, vignetting_gain


def default_reflectance(base_color, working_space: str = LINEAR_REC709) -> float:
    """NIR reflectance from a visible base colour (linear RGB of `working_space`, the session's:
    Blender 5.0 keeps a .blend's own, e.g. ACEScg) when none is given, from its Linear Rec.709
    numbers (in ACEScg the red channel is another, wider red).

    The red channel is the visible band nearest to the NIR; most paints, plastics and
    fabrics reflect at least as much in the NIR as in the red, and the mean keeps dark
    colours dark. Vegetation (dark green, bright in the NIR) is the classic exception:
    give such materials `nir_reflectance` explicitly.
    """
    c = list(as_rec709(base_color, working_space))
    return float(np.clip(0.5 * c[0] + 0.5 * max(c), 0.0, 1.0))


def sensor_image(linear: np.ndarray, exposure: float = 0.0, vignetting: float = 0.0, blur: float = 0.0) -> np.ndarray:
    """(H, W) uint8: optics (blur, vignetting), exposure in stops, sRGB-like encoding."""
    v = gaussian_blur(np.asarray(linear, dtype=np.float64), blur) * 2.0**exposure
    if vignetting:
        v = v * vignetting_gain(v.shape[0], v.shape[1], vignetting)
    return np.round(srgb_encode(np.clip(v, 0.0, 1.0)) * 255.0).astype(np.uint8)
