"""Depth annotators: distances in scene units (metres unless a base .blend has another unit
scale: camera_params' metersPerSceneUnit) from the (not anti-aliased) depth pass."""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator


@register_annotator
class DistanceToImagePlane(Annotator):
    """(H, W) float32 scene units along the camera's viewing axis; inf where nothing was hit."""

    name = "distance_to_image_plane"
    summary = "depth along the camera axis, scene units (metres unless a base .blend has another unit scale)"
    passes = ("depth",)

    def annotate(self, frame):
        return frame.passes["depth"].astype(np.float32, copy=False)


@register_annotator
class DistanceToCamera(Annotator):
    """(H, W) float32 scene units from the camera centre to the surface; inf where nothing was hit.

    Perspective: depth times the length of the pixel-centre ray whose z is -1.
    Orthographic: rays are parallel, so the distance to the camera plane is the depth.
    """

    name = "distance_to_camera"
    summary = "distance from the camera centre, scene units (metres unless a base .blend has another unit scale)"
    passes = ("depth",)

    def annotate(self, frame):
        depth = frame.passes["depth"]
        cam = frame.camera
        if cam.projection != "perspective":
            return depth.astype(np.float32, copy=True)
        return (depth * cam.pixel_ray_lengths()).astype(np.float32)
