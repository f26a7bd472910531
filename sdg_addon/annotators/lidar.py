"""LiDAR: the ray pattern of a sensor (pure), and the annotator turning exact hits into a
point cloud with range noise, dropout, intensity and ids (no bpy).

capture.lidar casts the rays against the frame's evaluated meshes (one BVH per frame) and
hands over, per ray, the exact distance, the hit object's instance id, the cosine of the
incidence angle and the surface's reflectance. Here, per frame:
- dropout: each return is lost with probability `dropout`;
- range noise: Gaussian, standard deviation `range_noise` (scene units), along the ray;
- intensity = reflectance x |cos(incidence angle)| (Lambertian return, in [0, 1]); the
  reflectance of a surface is its object's `sdg_reflectance` custom property if set, else
  the luminance of its base colour (docs/annotators.md);
- returns nearer than `min_range` or farther than `max_range` (after noise) are dropped.
Noise and dropout draw from a generator seeded with (seed, frame, lidar index): a frame's
point cloud is reproducible alone, in any shard.

Sensor frame (KITTI velodyne): x forward, y left, z up. Channel (ring) 0 is the top one.
Column j of a sweep looks at azimuth hfov/2 - (j + 0.5) * hfov / columns (degrees from
forward, positive to the left): columns run left to right, like image columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..frame import UNLABELLED_ID
from ..sampling.sampler import frame_rng
from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, lookup_ids, semantic_ids

# Spinning sensors like common 16/32/64/128-channel units (vertical field of view from
# their data sheets; 10 Hz, azimuth steps rounded to a power of two or the usual 1800).
PRESETS: dict[str, dict] = {
    "spinning_16": dict(model="spinning", channels=16, vertical_fov=[-15.0, 15.0], columns=1800, max_range=100.0),
    "spinning_32": dict(model="spinning", channels=32, vertical_fov=[-30.67, 10.67], columns=2048, max_range=100.0),
    "spinning_64": dict(model="spinning", channels=64, vertical_fov=[-24.9, 2.0], columns=2048, max_range=120.0),
    "spinning_128": dict(model="spinning", channels=128, vertical_fov=[-25.0, 15.0], columns=2048, max_range=200.0),
    "solid_state": dict(
        model="solid_state", channels=64, vertical_fov=[-12.5, 12.5], horizontal_fov=120.0, columns=512, max_range=150.0
    ),
}
LIDAR_STREAM = 1 << 20  # generator streams of LiDARs: LIDAR_STREAM + index (randomizers use 0..)


@dataclass
class LidarPattern:
    model: str  # "spinning" | "solid_state"
    channels: int
    vertical_fov: tuple[float, float]  # degrees, (lowest, highest) elevation
    horizontal_fov: float  # degrees (360 for a full sweep)
    columns: int

    def elevations(self) -> np.ndarray:
        """(channels,) degrees, top first, both ends of the field of view included."""
        low, high = self.vertical_fov
        return np.linspace(high, low, self.channels) if self.channels > 1 else np.array([(low + high) / 2])

    def azimuths(self) -> np.ndarray:
        """(columns,) degrees from forward, positive to the left, left to right."""
        h = self.horizontal_fov
        return h / 2 - (np.arange(self.columns) + 0.5) * h / self.columns

    def directions(self) -> np.ndarray:
        """(channels, columns, 3) unit rays in the sensor frame (x forward, y left, z up)."""
        el = np.radians(self.elevations())[:, None]
        az = np.radians(self.azimuths())[None, :]
        return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el) * np.ones_like(az)], axis=-1)


@register_annotator
class Lidar(Annotator):
    """{"data": (N, 4) float32 [x, y, z, intensity] in the sensor frame, "info": {"range":
    (N,) float32 scene units, "semantic": (N,) uint32, "instance": (N,) uint32, "ring": (N,)
    uint16 channel, "column": (N,) uint16, "sensor_to_world": 4x4}}, N = returns kept, in
    (ring, column) order."""

    name = "lidar"
    summary = "LiDAR point cloud per `[[lidars]]` sensor (added automatically when there are LiDARs)"
    sensors = ("lidar",)
    OPTIONS = {**SEMANTIC_OPTIONS}

    def annotate(self, frame):
        hits = frame.passes["lidar"]
        spec = hits["spec"]
        distance = np.asarray(hits["distance"], dtype=np.float64)
        rng = frame_rng(hits["seed"], frame.frame, LIDAR_STREAM + hits["index"])
        keep = np.isfinite(distance)
        noisy = distance.copy()
        if spec["range_noise"] > 0:
            noisy = noisy + rng.normal(0.0, spec["range_noise"], distance.shape)
        if spec["dropout"] > 0:
            keep &= rng.random(distance.shape) >= spec["dropout"]
        keep &= (noisy >= spec["min_range"]) & (noisy <= spec["max_range"])
        rows, cols = np.nonzero(keep)
        r = noisy[rows, cols]
        points = np.asarray(hits["directions"])[rows, cols] * r[:, None]
        intensity = np.clip(
            np.asarray(hits["reflectance"])[rows, cols] * np.abs(hits["cos_incidence"][rows, cols]), 0, 1
        )
        instance = np.asarray(hits["instance"])[rows, cols].astype(np.uint32)
        sem_of = semantic_ids(frame, self.options["semantic_type"], self.options["semantic_filter"])
        data = np.concatenate([points, intensity[:, None]], axis=1).astype(np.float32)
        info = {
            "range": r.astype(np.float32),
            "semantic": lookup_ids(sem_of, instance, UNLABELLED_ID),
            "instance": instance,
            "ring": rows.astype(np.uint16),
            "column": cols.astype(np.uint16),
            "sensor_to_world": frame.camera.camera_to_world.tolist(),
        }
        return {"data": data, "info": info}


def ranges_note(lidars, meters_per_unit: float) -> str:
    """For the unit-scale warning: a LiDAR's ranges are Blender units there too, also its
    preset's max_range (a real sensor's metres) and min_range's default, so in a scene in
    centimetres a spinning_16 (100) sees 1 m and its scans are empty without a word."""
    if meters_per_unit == 1.0 or not lidars:
        return ""
    said = ", ".join(
        f"{s.name!r} {s.min_range:g} .. {s.max_range:g} ({s.min_range * meters_per_unit:g} .. "
        f"{s.max_range * meters_per_unit:g} m)"
        for s in lidars
    )
    first = lidars[0]
    return (
        f"; so are the LiDARs' ranges (a preset's and min_range's default too): {said}; for a range in metres, "
        f"give it in Blender units (max_range = {first.max_range / meters_per_unit:g} for {first.max_range:g} m)"
    )
