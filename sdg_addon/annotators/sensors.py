"""thermal, nir: the images of thermal and near-infrared cameras (sensors/, docs/sensors.md).

thermal: (H, W) float32 kelvin, radiometric (the inverse of the 8-14 um band radiance the
sensor received, after its blur, vignetting and NETD noise). nir: (H, W) uint8 grey.
A camera of another kind gets None (nothing is written for it). The 8-bit palette preview
of a thermal camera is its `rgb` image.
"""

from __future__ import annotations

from ..config.fields import Field
from .base import Annotator, register_annotator


@register_annotator
class Thermal(Annotator):
    name = "thermal"
    summary = "thermal cameras: kelvin image (`thermal_NNNN.tiff` + `.npy`); added by a thermal camera"
    passes = ("thermal_radiance",)
    OPTIONS = {
        "encoding": Field(
            "encoding",
            "choice",
            "float32",
            '"float32": kelvin as 32-bit float TIFF; "centikelvin": 16-bit TIFF of kelvin * 100 (0.01 K steps, up to 655 K)',
            choices=("float32", "centikelvin"),
        )
    }

    def annotate(self, frame):
        if frame.sensor_spec is None or frame.sensor_spec.kind != "thermal":
            return None
        return {"data": frame.sensor_image(), "info": {"unit": "K", "encoding": self.options["encoding"]}}


@register_annotator
class Nir(Annotator):
    name = "nir"
    summary = "NIR cameras: 8-bit grey image (`nir_NNNN.png`); added by a NIR camera"
    passes = ("nir_radiance",)

    def annotate(self, frame):
        if frame.sensor_spec is None or frame.sensor_spec.kind != "nir":
            return None
        return frame.sensor_image()
