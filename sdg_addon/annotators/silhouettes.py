"""Full (unoccluded) silhouettes of objects, rasterized from their geometry, per frame.

Shared by the loose box, occlusion and occlusion-ratio annotators through frame.cache,
so each object is rasterized at most once per frame.
"""

from __future__ import annotations

import numpy as np

from ..frame import FrameData
from .raster import silhouette


def full_silhouette(frame: FrameData, instance_id: int) -> np.ndarray:
    """(H, W) bool: pixels whose centre the object covers, ignoring everything in front."""
    cache = frame.cache.setdefault("silhouettes", {})
    mask = cache.get(instance_id)
    if mask is None:
        tris = frame.objects[instance_id].triangles
        if tris is None:
            raise ValueError(
                f"object {frame.objects[instance_id].path} has no triangles: the capture did not "
                "export geometry (an annotator that needs it must set needs_geometry = True)"
            )
        mask = silhouette(frame.camera, tris) if len(tris) else np.zeros((frame.height, frame.width), bool)
        cache[instance_id] = mask
    return mask


def visible_counts(frame: FrameData) -> dict[int, int]:
    """instance id -> number of pixels where the object is the visible surface."""
    cached = frame.cache.get("visible_counts")
    if cached is None:
        ids, counts = np.unique(frame.passes["instance"], return_counts=True)
        cached = {int(i): int(c) for i, c in zip(ids, counts) if i != 0}
        frame.cache["visible_counts"] = cached
    return cached


def occlusion_ratio(frame: FrameData, instance_id: int) -> float:
    """1 - visible / unoccluded pixels inside the image, in [0, 1]; 0 if it covers none."""
    total = int(full_silhouette(frame, instance_id).sum())
    if total == 0:
        return 0.0
    visible = visible_counts(frame).get(instance_id, 0)
    return float(min(1.0, max(0.0, 1.0 - visible / total)))
