"""Randomizers of what thermal and NIR cameras see (pure Python; scene.randomize applies).

`thermal` varies objects' temperature (in the file's `thermal.unit`), LWIR emissivity and
NIR reflectance; the world's temperature is a parameter of the `world` randomizer.
"""

from __future__ import annotations

from .randomizers import NUMBER, RandomizerSpec, register_randomizer


@register_randomizer
class ThermalLook(RandomizerSpec):
    """Surface temperature, emissivity and NIR reflectance of objects (e.g. engines 320-360 K)."""

    name = "thermal"
    PARAMS = {
        "temperature": (NUMBER, "surface temperature in `thermal.unit` (K or C), e.g. engines 320-360 K"),
        "emissivity": (NUMBER, "LWIR emissivity"),
        "nir_reflectance": (NUMBER, "near-infrared reflectance"),
    }
    PARAM_RANGES = {"temperature": (-273.15, 5000.0), "emissivity": (0.0, 1.0), "nir_reflectance": (0.0, 1.0)}
