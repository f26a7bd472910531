"""camera_params: intrinsics, extrinsics, projection, lens, clipping and resolution.

Keeps Replicator's keys (so their readers work) and adds explicit matrices:
- cameraViewTransform / cameraProjection: 16 floats, USD row-vector layout as Replicator
  writes them (reshape(4, 4).T gives the column-vector matrix). A Replicator reader's
  `ndc = [X, 1] @ view @ proj; ndc /= ndc[3]` then gives pixel
  u = (ndc_x + 1) / 2 * width, v = (1 - ndc_y) / 2 * height, for both projections.
- sensor: "visible", "thermal" or "nir"; rig: for a camera rigged to another (a paired
  RGB-T rig), {camera, camera_to_rig (4x4, Blender axes), rig_to_camera_opencv (4x4:
  x_this = T @ x_rig in OpenCV camera coordinates)}, else null.
- intrinsics: K (3x3) in pixels, principal point with the top-left-corner origin.
  Perspective: pixel ~ K @ X_cv / z_cv. Orthographic: pixel = K @ (x_cv, y_cv, 1), with
  fx, fy in pixels per scene unit, as X_cv (no division by depth); lens.ortho_size_m and
  lens.pixels_per_meter are in metres whatever the unit scale.
- world_to_camera / camera_to_world: 4x4 column-vector matrices, Blender camera axes
  (looks down -Z, +Y up). world_to_camera_opencv: x right, y down, z forward.
"""

from __future__ import annotations

import math

import numpy as np

from ..frame import BLENDER_TO_OPENCV
from .base import Annotator, register_annotator

REVERSE_Z_EPSILON = 1e-8  # Replicator's infinite reverse-Z projection term

# USD expresses apertures (and orthographic view sizes) in tenths of a scene unit.
_USD_APERTURE_UNITS_PER_METRE = 10.0


@register_annotator
class CameraParams(Annotator):
    name = "camera_params"
    summary = "intrinsics, extrinsics, clipping, resolution, sensor, rig extrinsics"

    def annotate(self, frame):
        c = frame.camera
        ortho = c.projection != "perspective"
        view_w, view_h = (c.width / c.fx, c.height / c.fy) if ortho else (None, None)
        metres = c.meters_per_unit  # a base .blend in centimetres: 0.01
        if ortho:
            # USD orthographic cameras: the aperture is the view size in tenths of a scene
            # unit (metres here), and so is the offset (same rule as below).
            aperture = [view_w * _USD_APERTURE_UNITS_PER_METRE, view_h * _USD_APERTURE_UNITS_PER_METRE]
            offset = [
                (c.width / 2 - c.cx) / c.fx * _USD_APERTURE_UNITS_PER_METRE,
                (c.cy - c.height / 2) / c.fy * _USD_APERTURE_UNITS_PER_METRE,
            ]
        else:
            aperture = [c.sensor_width_mm, c.sensor_height_mm]
            # USD's horizontal/verticalApertureOffset (mm): the shift of the film window, +x
            # right, +y up, as Blender's lens shift: cx = W/2 - offset_x / aperture_x * W,
            # cy = H/2 + offset_y / aperture_y * H.
            offset = [
                (c.width / 2 - c.cx) / c.width * c.sensor_width_mm,
                (c.cy - c.height / 2) / c.height * c.sensor_height_mm,
            ]
        return {
            # --- Replicator's keys -------------------------------------------------------
            "cameraAperture": aperture,
            "cameraApertureOffset": offset,
            "cameraFisheyeLensP": [],
            "cameraFisheyeLensS": [],
            "cameraFisheyeMaxFOV": 0.0,
            "cameraFisheyeNominalHeight": 0,
            "cameraFisheyeNominalWidth": 0,
            "cameraFisheyeOpticalCentre": [0.0, 0.0],
            "cameraFisheyePolynomial": [0.0, 0.0, 0.0, 0.0, 0.0],
            "cameraFocalLength": c.focal_length_mm,
            "cameraFocusDistance": float(c.focus_distance),
            "cameraFStop": float(c.f_stop),
            "cameraModel": "pinhole" if not ortho else "orthographic",
            "cameraNearFar": [c.clip_start, c.clip_end],
            "cameraProjection": replicator_projection(c).T.ravel().tolist(),
            "cameraViewTransform": c.world_to_camera.T.ravel().tolist(),
            "metersPerSceneUnit": c.meters_per_unit,
            "renderProductResolution": [c.width, c.height],
            # --- explicit additions --------------------------------------------------------
            "camera_name": c.name,
            "projection": c.projection,
            "intrinsics": c.intrinsics.tolist(),
            "fx": c.fx,
            "fy": c.fy,
            "cx": c.cx,
            "cy": c.cy,
            "lens": {
                "focal_length_mm": c.focal_length_mm if not ortho else None,
                "sensor_mm": [c.sensor_width_mm, c.sensor_height_mm],
                "fov_deg": _fov(c) if not ortho else None,
                "ortho_scale": c.ortho_scale if ortho else None,
                # Named in metres: scene units converted (K and ortho_scale stay in scene units).
                "ortho_size_m": [view_w * metres, view_h * metres] if ortho else None,
                "pixels_per_meter": [c.fx / metres, c.fy / metres] if ortho else None,
            },
            "world_to_camera": c.world_to_camera.tolist(),
            "camera_to_world": c.camera_to_world.tolist(),
            "world_to_camera_opencv": c.world_to_camera_opencv.tolist(),
            "pixel_convention": "x right, y down, origin at the top-left corner of the top-left pixel",
            "sensor": c.sensor,
            "rig": _rig(c),
        }


def _rig(c) -> dict | None:
    """Extrinsics of a camera rigged to another: its pose in that camera's space, and the
    transform of OpenCV camera coordinates from that camera to this one (x_this = T @ x_rig)."""
    if not c.rig or c.camera_to_rig is None:
        return None
    this_to_rig_cv = BLENDER_TO_OPENCV @ c.camera_to_rig @ BLENDER_TO_OPENCV  # diag(1,-1,-1,1) is its own inverse
    return {
        "camera": c.rig,
        "camera_to_rig": c.camera_to_rig.tolist(),
        "rig_to_camera_opencv": np.linalg.inv(this_to_rig_cv).tolist(),
    }


def replicator_projection(c) -> np.ndarray:
    """Replicator's clip matrix (column-vector form): OpenGL x, y; perspective depth is
    reverse-Z with an infinite far plane (clip_z = 1e-8 z + near, clip_w = -z)."""
    m = np.array(c.projection_matrix, dtype=np.float64)
    if c.projection == "perspective":
        m[2] = [0.0, 0.0, REVERSE_Z_EPSILON, c.clip_start]
    return m


def _fov(c) -> list[float]:
    """Horizontal and vertical field of view of a perspective camera, degrees."""
    return [
        math.degrees(math.atan(c.cx / c.fx) + math.atan((c.width - c.cx) / c.fx)),
        math.degrees(math.atan(c.cy / c.fy) + math.atan((c.height - c.cy) / c.fy)),
    ]
