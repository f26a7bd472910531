"""Reading Blender's multilayer EXR (multi-part in Blender 5: one part per pass).

The capture writes uncompressed files that exr_reader reads with numpy alone; other
files go through OpenImageIO, which ships inside Blender (and inside the bpy wheel, off
sys.path in module mode).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import MutableMapping

import numpy as np

from .exr_reader import UnsupportedExr, group_passes, read_exr, view_layer_of


def _oiio():
    from ..blender_paths import import_bundled  # no bpy: workers use this too

    return import_bundled("OpenImageIO")


def read_multilayer_exr(path: str) -> dict[str, np.ndarray]:
    """{pass name: (H, W, C) float32} for every pass in the file, row 0 at the top.

    Our own uncompressed files are read with numpy (exr_reader); anything else through
    OpenImageIO."""
    from ..compat import canonical_passes  # imports bpy: not at module level (colour uses _oiio)

    try:
        return canonical_passes(group_passes(read_exr(path)))
    except UnsupportedExr:
        return canonical_passes(read_multilayer_exr_oiio(path))


def read_view_layers(path: str, pass_names: dict[str, str] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{view layer name: {pass name: (H, W, C) float32}} for every view layer in the file.

    pass_names: Blender 4.x's short pass names -> the 5.x ones (compat.LEGACY_PASS_NAMES,
    which a process without bpy gets handed instead of importing)."""
    if pass_names is None:
        from ..compat import LEGACY_PASS_NAMES as pass_names

    def canonical(passes: dict) -> dict:
        return {pass_names.get(name, name): value for name, value in passes.items()}

    try:
        channels = read_exr(path)
    except UnsupportedExr:
        layers = read_multilayer_exr_oiio(path, by_layer=True)
        return {name: canonical(passes) for name, passes in layers.items()}
    names = sorted({view_layer_of(c) for c in channels})
    return {name: canonical(group_passes(channels, name)) for name in names}


NO_HIT_DEPTH = 1e9  # Cycles writes 1e10 where a ray hits nothing


def capture_passes(
    path: str, main_layer: str, data_layer: str, sensor: str = "visible", pass_names: dict | None = None
) -> dict[str, np.ndarray]:
    """The passes of one capture's EXR as the annotators take them: "combined" (or a
    sensor's radiance), "depth" (inf where nothing was hit), "instance" (uint32 ids),
    "normal", "vector"; ids, depth, normals and vectors from `data_layer` when the file
    has it (the 1-sample layer), else from `main_layer`. No bpy: worker processes call it."""
    layers = read_view_layers(path, pass_names)
    out: dict[str, np.ndarray] = {}
    main = layers[main_layer]
    raw = layers.get(data_layer, main)
    combined = main["Combined"]
    if sensor == "thermal":  # grey emission: every channel holds the band radiance
        out["thermal_radiance"] = np.ascontiguousarray(combined[..., 0], dtype=np.float32)
    elif sensor == "nir":
        out["nir_radiance"] = combined[..., :3].mean(axis=-1, dtype=np.float32)
    else:
        out["combined"] = combined
    if "Depth" in raw:
        depth = raw["Depth"][..., 0]
        out["depth"] = np.where(depth >= NO_HIT_DEPTH, np.inf, depth).astype(np.float32, copy=False)
    if "Object Index" in raw:
        out["instance"] = np.rint(raw["Object Index"][..., 0]).astype(np.uint32)
    # group_passes made these arrays for this call: no second copy of them (copy=False).
    if "Normal" in raw:
        out["normal"] = raw["Normal"][..., :3].astype(np.float32, copy=False)
    if "Vector" in raw:
        out["vector"] = raw["Vector"][..., :4].astype(np.float32, copy=False)
    return out


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


class CapturedPasses(MutableMapping):
    """A capture's passes (capture_passes), read from its EXR file on first use by the
    process that uses them first: the render loop when it needs them itself (a pixel
    guarantee, a case, a clip's neighbours), else the worker that annotates the frame. So
    the render loop, in the usual case, neither parses the file nor writes the arrays out
    again for the worker; the file moves by name.

    Loading removes the file (whatever happens to the load). Pickled before loading, the
    object carries only the file's name; after, its arrays, as a plain dict."""

    def __init__(self, path: str, main_layer: str, data_layer: str, sensor: str, pass_names: dict):
        self.source = (path, main_layer, data_layer, sensor, pass_names)
        self._passes: dict | None = None

    @property
    def loaded(self) -> bool:
        return self._passes is not None

    def load(self) -> dict:
        if self._passes is None:
            path = self.source[0]
            try:
                self._passes = capture_passes(*self.source)
            except FileNotFoundError:
                raise FileNotFoundError(f"the render's pass file {path} is gone (read once, by one process)") from None
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        return self._passes

    def __getitem__(self, name):
        return self.load()[name]

    def __setitem__(self, name, value):
        self.load()[name] = value

    def __delitem__(self, name):
        del self.load()[name]

    def __iter__(self):
        return iter(self.load())

    def __len__(self):
        return len(self.load())

    def __contains__(self, name):
        return name in self.load()

    def __reduce__(self):
        if self._passes is not None:
            return (dict, (self._passes,))
        return (CapturedPasses, self.source)
