"""Reading Blender's multilayer EXR (multi-part in Blender 5: one part per pass).

OpenImageIO ships inside Blender (and inside the bpy wheel, off sys.path in module mode).
"""

from __future__ import annotations

import os
import sys

import numpy as np


def _oiio():
    try:
        import OpenImageIO
    except ImportError:
        import bpy

        site = os.path.join(bpy.utils.resource_path("LOCAL"), "python", "lib", "python3.11", "site-packages")
        if site not in sys.path:
            sys.path.append(site)
        import OpenImageIO
    return OpenImageIO


def read_multilayer_exr(path: str) -> dict[str, np.ndarray]:
    """{pass name: (H, W, C) float32} for every pass in the file, row 0 at the top.

    Channel names look like 'ViewLayer.Depth.Z'; the pass name is the middle part. Both
    Blender 5 (a part per pass) and older single-part files (all channels in one part)
    are handled.
    """
    oiio = _oiio()
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise OSError(f"cannot open {path}: {oiio.geterror()}")
    passes: dict[str, np.ndarray] = {}
    try:
        sub = 0
        while inp.seek_subimage(sub, 0):
            spec = inp.spec()
            pixels = inp.read_image(sub, 0, 0, spec.nchannels, oiio.FLOAT)
            pixels = np.asarray(pixels).reshape(spec.height, spec.width, spec.nchannels)
            groups: dict[str, list[int]] = {}
            for c, name in enumerate(spec.channelnames):
                parts = name.split(".")
                pass_name = parts[-2] if len(parts) >= 2 else name
                groups.setdefault(pass_name, []).append(c)
            for pass_name, chans in groups.items():
                passes[pass_name] = pixels[:, :, chans]
            sub += 1
    finally:
        inp.close()
    return passes


def display_transform(linear_rgba: np.ndarray, view: str) -> np.ndarray:
    """Scene-linear RGBA float -> display-referred uint8 RGBA (sRGB display).

    "Standard" is the sRGB transfer function (exact, in numpy); "Raw" clips; other views
    (AgX, Filmic) go through OpenColorIO with Blender's own configuration.
    """
    rgb = np.clip(linear_rgba[..., :3], 0.0, None)
    alpha = np.clip(linear_rgba[..., 3:4], 0.0, 1.0)
    if view == "Standard":
        out = np.where(rgb <= 0.0031308, rgb * 12.92, 1.055 * np.power(rgb, 1 / 2.4) - 0.055)
    elif view == "Raw":
        out = rgb
    else:
        import bpy

        oiio = _oiio()
        config = os.path.join(bpy.utils.resource_path("LOCAL"), "datafiles", "colormanagement", "config.ocio")
        buf = oiio.ImageBuf(np.ascontiguousarray(rgb, dtype=np.float32))
        res = oiio.ImageBufAlgo.ociodisplay(buf, "sRGB", view, "Linear Rec.709", colorconfig=config)
        if res.has_error:
            raise RuntimeError(f"view transform {view!r} failed: {res.geterror()}")
        out = np.asarray(res.get_pixels(oiio.FLOAT)).reshape(rgb.shape)
    rgba = np.concatenate([np.clip(out, 0.0, 1.0), alpha], axis=-1)
    return np.round(rgba * 255.0).astype(np.uint8)
