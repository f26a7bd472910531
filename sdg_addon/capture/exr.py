"""Reading Blender's multilayer EXR (multi-part in Blender 5: one part per pass).

The capture writes uncompressed files that exr_reader reads with numpy alone; other
files go through OpenImageIO, which ships inside Blender (and inside the bpy wheel, off
sys.path in module mode).
"""

from __future__ import annotations

import sys

import numpy as np

from .exr_reader import UnsupportedExr, group_passes, read_exr, view_layer_of


def _oiio():
    try:
        import OpenImageIO
    except ImportError:
        from ..blender_paths import bundled_site_packages  # no bpy: workers use this too

        site = str(bundled_site_packages())
        if site not in sys.path:
            sys.path.append(site)
        import OpenImageIO
    return OpenImageIO


def read_multilayer_exr(path: str) -> dict[str, np.ndarray]:
    """{pass name: (H, W, C) float32} for every pass in the file, row 0 at the top.

    Our own uncompressed files are read with numpy (exr_reader); anything else through
    OpenImageIO."""
    from ..compat import canonical_passes  # imports bpy: not at module level (colour uses _oiio)

    try:
        return canonical_passes(group_passes(read_exr(path)))
    except UnsupportedExr:
        return canonical_passes(read_multilayer_exr_oiio(path))


def read_view_layers(path: str) -> dict[str, dict[str, np.ndarray]]:
    """{view layer name: {pass name: (H, W, C) float32}} for every view layer in the file."""
    from ..compat import canonical_passes

    try:
        channels = read_exr(path)
    except UnsupportedExr:
        layers = read_multilayer_exr_oiio(path, by_layer=True)
        return {name: canonical_passes(passes) for name, passes in layers.items()}
    names = sorted({view_layer_of(c) for c in channels})
    return {name: canonical_passes(group_passes(channels, name)) for name in names}


def read_multilayer_exr_oiio(path: str, by_layer: bool = False) -> dict:
    """{pass name: (H, W, C) float32} for every pass in the file, row 0 at the top.

    Channel names look like 'ViewLayer.Depth.Z'; the pass name is the middle part. Both
    Blender 5 (a part per pass) and older single-part files (all channels in one part)
    are handled. With by_layer: {view layer: {pass name: array}}.
    """
    oiio = _oiio()
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise OSError(f"cannot open {path}: {oiio.geterror()}")
    passes: dict[str, np.ndarray] = {}
    layers: dict[str, dict[str, np.ndarray]] = {}
    try:
        sub = 0
        while inp.seek_subimage(sub, 0):
            spec = inp.spec()
            pixels = inp.read_image(sub, 0, 0, spec.nchannels, oiio.FLOAT)
            pixels = np.asarray(pixels).reshape(spec.height, spec.width, spec.nchannels)
            groups: dict[tuple[str, str], list[int]] = {}
            for c, name in enumerate(spec.channelnames):
                parts = name.split(".")
                pass_name = parts[-2] if len(parts) >= 2 else name
                groups.setdefault((view_layer_of(name), pass_name), []).append(c)
            for (layer, pass_name), chans in groups.items():
                passes[pass_name] = pixels[:, :, chans]
                layers.setdefault(layer, {})[pass_name] = pixels[:, :, chans]
            sub += 1
    finally:
        inp.close()
    return layers if by_layer else passes
