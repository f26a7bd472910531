"""Blender's camera model <-> a pinhole K matrix (no bpy).

Blender and Cycles fit the sensor to one image side (`sensor_fit`), shift the image in
units of that side (lens shift) and make pixels non-square through the render's pixel
aspect (one of the two is 1, the other 1 .. 200). These are the one place that converts
between that model and (fx, fy, cx, cy): the scene build makes a camera from a K matrix,
the capture reads back the K that Cycles renders with (Blender's
BKE_camera_params_compute_viewplane, and Cycles' viewplane, follow the same rule).
Principal points count from the top-left corner of the image, y down.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PIXEL_ASPECT = 200.0  # Blender's limit on render.pixel_aspect_x / _y


@dataclass
class BlenderLens:
    """What a Blender camera and the render need to render a K matrix."""

    lens: float  # focal length, mm (sensor_fit "AUTO", the given sensor width)
    shift_x: float
    shift_y: float
    pixel_aspect_x: float = 1.0
    pixel_aspect_y: float = 1.0


def _view_factor(sensor_fit: str, width: int, height: int, aspect_x: float, aspect_y: float) -> tuple[bool, float]:
    """(horizontal fit?, pixels across the fitted side in units of a pixel's width)."""
    if sensor_fit == "AUTO":
        horizontal = aspect_x * width >= aspect_y * height
    else:
        horizontal = sensor_fit == "HORIZONTAL"
    y_correction = aspect_y / aspect_x  # a pixel's height in units of its width
    return horizontal, (width if horizontal else y_correction * height)


def pixel_aspect_for(fx: float, fy: float) -> tuple[float, float]:
    """Blender's pixel aspect (x, y) that gives fy from fx: fy = fx * aspect_x / aspect_y."""
    if fy > fx:
        return fy / fx, 1.0
    if fx > fy:
        return 1.0, fx / fy
    return 1.0, 1.0


def blender_lens_for(
    fx: float,
    fy: float,
    cx: float | None,
    cy: float | None,
    width: int,
    height: int,
    sensor_width: float,
) -> BlenderLens:
    """The lens, shift and pixel aspect that render the pinhole K = [[fx, 0, cx], [0, fy, cy],
    [0, 0, 1]] at width x height (sensor_fit AUTO); cx, cy None: the image centre."""
    aspect_x, aspect_y = pixel_aspect_for(fx, fy)
    _horizontal, view = _view_factor("AUTO", width, height, aspect_x, aspect_y)
    y_correction = aspect_y / aspect_x
    return BlenderLens(
        lens=fx * sensor_width / view,
        shift_x=0.0 if cx is None else (width / 2 - cx) / view,
        shift_y=0.0 if cy is None else (cy - height / 2) * y_correction / view,
        pixel_aspect_x=aspect_x,
        pixel_aspect_y=aspect_y,
    )


@dataclass
class PinholeIntrinsics:
    fx: float  # pixels (perspective); pixels per metre (orthographic)
    fy: float
    cx: float
    cy: float
    sensor_width_mm: float  # the sensor's extent over the image's width and height
    sensor_height_mm: float


def intrinsics_of(
    *,
    orthographic: bool,
    lens: float,
    ortho_scale: float,
    sensor_fit: str,
    sensor_width: float,
    sensor_height: float,
    shift_x: float,
    shift_y: float,
    width: int,
    height: int,
    aspect_x: float = 1.0,
    aspect_y: float = 1.0,
) -> PinholeIntrinsics:
    """The K a Blender camera renders with at width x height and this pixel aspect."""
    horizontal, view = _view_factor(sensor_fit, width, height, aspect_x, aspect_y)
    sensor = sensor_width if sensor_fit == "AUTO" or horizontal else sensor_height
    y_correction = aspect_y / aspect_x
    f = view / ortho_scale if orthographic else lens * view / sensor
    return PinholeIntrinsics(
        fx=f,
        fy=f / y_correction,
        cx=width / 2 - shift_x * view,
        cy=height / 2 + shift_y * view / y_correction,
        sensor_width_mm=sensor * width / view,
        sensor_height_mm=sensor * y_correction * height / view,
    )
