"""Sensors beyond the visible camera, as plain numpy (no bpy): the thermal (LWIR) radiance
model and sensor effects (thermal.py), near-infrared images (nir.py). See docs/sensors.md.

A camera's `sensor` is "visible" (the default: an RGB render), "thermal" or "nir". The
capture renders a thermal or NIR camera separately with a material override and hands the
linear result over in FrameData.passes; the image the sensor outputs is made from it in the
worker (FrameData.sensor_image), with the sensor's settings below.
"""

from __future__ import annotations

from dataclasses import dataclass

SENSOR_KINDS = ("visible", "thermal", "nir")

# Custom properties (on objects, their parents, materials or the world) the capture reads;
# the parameter file and the thermal/nir randomizers set the same properties.
TEMPERATURE_PROP = "sdg_temperature"  # kelvin
EMISSIVITY_PROP = "sdg_emissivity"  # 0 .. 1, LWIR
NIR_REFLECTANCE_PROP = "sdg_nir_reflectance"  # 0 .. 1
REFLECTANCE_PROP = "sdg_reflectance"  # 0 .. 1, LiDAR intensity (capture.lidar)
SENSOR_PROP = "sdg_sensor"  # on a camera of a base .blend: "thermal" or "nir"
ILLUMINATOR_PROP = "sdg_illuminator_of"  # on a spot light: the NIR camera it belongs to


@dataclass
class SensorSpec:
    """What the worker needs to turn a thermal or NIR render into the sensor's image."""

    kind: str = "visible"
    seed: int = 0  # run seed: sensor noise depends on (seed, frame, camera) only
    netd: float = 0.0  # thermal noise, kelvin (standard deviation per pixel)
    vignetting: float = 0.0  # fraction of radiance lost in the image corners
    blur: float = 0.0  # Gaussian point spread, sigma in pixels
    palette: str = "iron"  # thermal preview
    preview_min: float | None = None  # kelvin; None: 1st percentile of the frame
    preview_max: float | None = None  # kelvin; None: 99th percentile of the frame
    exposure: float = 0.0  # NIR: stops applied before the 8-bit image
