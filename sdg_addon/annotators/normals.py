"""normals: per-pixel unit surface normals from the (not anti-aliased) normal pass."""

from __future__ import annotations

import numpy as np

from ..config.fields import Field
from ..frame import BLENDER_TO_OPENCV, FrameData
from .base import Annotator, register_annotator

SPACES = ("world", "camera", "camera_opencv")


def rotate_normals(frame: FrameData, normals: np.ndarray, space: str) -> np.ndarray:
    """World-space normals (..., 3) -> `space` (see SPACES); rotation only, no renormalizing."""
    if space == "world":
        return normals
    if space not in SPACES:
        raise ValueError(f"normals space {space!r}: one of {SPACES}")
    m = frame.camera.world_to_camera[:3, :3]
    if space == "camera_opencv":
        m = BLENDER_TO_OPENCV[:3, :3] @ m
    # Normals transform with the inverse transpose; world_to_camera is a rotation here, but
    # the general form costs nothing and keeps a scaled camera matrix correct.
    m = np.linalg.inv(m).T
    return normals @ m.T


def vector_length(v: np.ndarray) -> np.ndarray:
    """Euclidean length over the last axis (3): bitwise np.linalg.norm(v, axis=-1), which
    sums a 3-element axis in this same order, in half its time (no strided reduction)."""
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.sqrt((x * x + y * y) + z * z)


def unit_normals(frame: FrameData) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) float32 world-space unit normals (0 where no surface) and the surface mask.

    In float32, as Cycles computes them (its pass is float32 and already unit length to a
    few ulp): float64 would change no more than the last bit, at twice the time."""
    cached = frame.cache.get("unit_normals")
    if cached is None:
        n = np.asarray(frame.passes["normal"])[..., :3]
        if n.dtype != np.float32:
            n = n.astype(np.float32)
        length = vector_length(n)
        finite = np.isfinite(length)
        surface = finite & (length > 1e-12)
        # Off the surface, dividing by inf gives 0 (no masked divide or assignment); one
        # channel at a time: a broadcast (H, W, 3) / (H, W, 1) divide is ~2x slower.
        length[~surface] = np.inf
        out = np.empty_like(n)
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(3):
                np.divide(n[..., k], length, out=out[..., k])
        if not finite.all():
            out[~finite] = 0.0  # a non-finite normal: inf / inf
        # Read-only: the normals annotator hands this very array to the writers, and the
        # point cloud gathers from it.
        out.flags.writeable = surface.flags.writeable = False
        cached = frame.cache["unit_normals"] = (out, surface)
    return cached


@register_annotator
class Normals(Annotator):
    """(H, W, 3) float32 unit normals, world space by default; 0 where nothing was hit.

    Options: space "world" (Blender world, Z up), "camera" (Blender camera axes: +X right,
    +Y up, +Z towards the viewer, so a surface facing the camera has z > 0) or
    "camera_opencv" (x right, y down, z forward: facing the camera means z < 0);
    channels 3, or 4 for Replicator's (H, W, 4) layout whose 4th channel is 1.0 on surfaces
    and 0.0 on background.
    """

    name = "normals"
    summary = "surface normals (world space by default)"
    passes = ("normal",)
    OPTIONS = {
        "space": Field("space", "choice", "world", "frame of the normals", choices=SPACES),
        "channels": Field(
            "channels", "int", 3, "3 (x, y, z) or 4 (Replicator's layout: x, y, z, surface mask)", low=3, high=4
        ),
    }

    def __init__(self, **options):
        super().__init__(**options)

    def annotate(self, frame):
        n, surface = unit_normals(frame)
        if self.options["space"] == "world" and self.options["channels"] == 3:
            return n  # the frame's cached normals as they are (read-only): no copy a frame
        n = rotate_normals(frame, n, self.options["space"])
        if self.options["space"] != "world":
            n[~surface] = 0.0  # rotation keeps zeros zero; be explicit anyway
        if self.options["channels"] == 4:
            n = np.concatenate([n, surface[..., None].astype(np.float64)], axis=-1)
        return n.astype(np.float32)
