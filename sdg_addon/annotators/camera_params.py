"""camera_params: intrinsics, extrinsics, projection, clipping and resolution.

Keeps Replicator's keys (so their readers work) and adds explicit matrices:
- cameraViewTransform / cameraProjection: 16 floats, USD row-vector layout as Replicator
  writes them (reshape(4, 4).T gives the column-vector matrix).
- intrinsics: K (3x3) in pixels, principal point with the top-left-corner origin.
- world_to_camera / camera_to_world: 4x4 column-vector matrices, Blender camera axes
  (looks down -Z, +Y up). world_to_camera_opencv: x right, y down, z forward, so that
  pixel ~ K @ (world_to_camera_opencv @ X)[:3] for perspective cameras.
"""

from __future__ import annotations

from .base import Annotator, register_annotator


@register_annotator
class CameraParams(Annotator):
    name = "camera_params"

    def annotate(self, frame):
        c = frame.camera
        return {
            "cameraAperture": [c.sensor_width_mm, c.sensor_height_mm],
            "cameraApertureOffset": [0.0, 0.0],
            "cameraFocalLength": c.focal_length_mm,
            "cameraModel": "pinhole" if c.projection == "perspective" else "orthographic",
            "cameraNearFar": [c.clip_start, c.clip_end],
            "cameraProjection": c.projection_matrix.T.ravel().tolist(),
            "cameraViewTransform": c.world_to_camera.T.ravel().tolist(),
            "metersPerSceneUnit": 1.0,
            "renderProductResolution": [c.width, c.height],
            "camera_name": c.name,
            "projection": c.projection,
            "intrinsics": c.intrinsics.tolist(),
            "fx": c.fx,
            "fy": c.fy,
            "cx": c.cx,
            "cy": c.cy,
            "ortho_scale": c.ortho_scale,
            "world_to_camera": c.world_to_camera.tolist(),
            "camera_to_world": c.camera_to_world.tolist(),
            "world_to_camera_opencv": c.world_to_camera_opencv.tolist(),
            "pixel_convention": "x right, y down, origin at the top-left corner of the top-left pixel",
        }
