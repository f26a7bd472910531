"""Randomizers of what thermal and NIR cameras see (pure Python; scene.randomize applies).

`thermal` varies objects' temperature (in the file's `thermal.unit`), LWIR emissivity and
NIR reflectance; the world's temperature is a parameter of the `world` randomizer.
"""

from __future__ import annotations

from ..sensors.thermal import FILE_TEMPERATURES, FILE_TEMPERATURES_TEXT
from .randomizers import NUMBER, RandomizerSpec, register_randomizer


@register_randomizer
class ThermalLook(RandomizerSpec):
    """Surface temperature, emissivity and NIR reflectance of objects (e.g. engines 320-360 K)."""

    name = "thermal"
    PARAMS = {
        "temperature": (
            NUMBER,
            f"surface temperature in `thermal.unit` (K or C; {FILE_TEMPERATURES_TEXT}), e.g. engines 320-360 K",
        ),
        "emissivity": (NUMBER, "LWIR emissivity"),
        "nir_reflectance": (NUMBER, "near-infrared reflectance"),
    }
    PARAM_RANGES = {"temperature": FILE_TEMPERATURES, "emissivity": (0.0, 1.0), "nir_reflectance": (0.0, 1.0)}
