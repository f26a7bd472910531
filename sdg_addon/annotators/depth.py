"""Depth annotators: distances in metres from the (not anti-aliased) depth pass."""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator


@register_annotator
class DistanceToImagePlane(Annotator):
    """(H, W) float32 metres along the camera's viewing axis; inf where nothing was hit."""

    name = "distance_to_image_plane"
    passes = ("depth",)

    def annotate(self, frame):
        return frame.passes["depth"].astype(np.float32, copy=False)


@register_annotator
class DistanceToCamera(Annotator):
    """(H, W) float32 metres from the camera centre to the surface; inf where nothing was hit.

    Perspective: depth times the length of the pixel-centre ray whose z is -1.
    Orthographic: rays are parallel, so the distance to the camera plane is the depth.
    """

    name = "distance_to_camera"
    passes = ("depth",)

    def __init__(self, **options):
        super().__init__(**options)
        self._scales: dict[tuple, np.ndarray] = {}  # per camera intrinsics: rays change rarely

    def annotate(self, frame):
        depth = frame.passes["depth"]
        cam = frame.camera
        if cam.projection != "perspective":
            return depth.astype(np.float32, copy=True)
        key = (cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy)
        scale = self._scales.get(key)
        if scale is None:
            _origin, direction = cam.pixel_rays()
            scale = np.linalg.norm(direction, axis=-1)  # float64, as before: same values
            if len(self._scales) > 8:  # zooming cameras: keep a few, not one per frame
                self._scales.clear()
            self._scales[key] = scale
        return (depth * scale).astype(np.float32)
