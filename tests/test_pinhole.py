"""pinhole: a K matrix -> Blender's lens, shift and pixel aspect -> the same K back, with
the sensor fitted to either side; square pixels give Blender's familiar formulas."""

from __future__ import annotations

import pytest

from sdg_addon.pinhole import blender_lens_for, intrinsics_of, pixel_aspect_for


def back(lens, width, height, sensor_width=36.0, sensor_fit="AUTO", sensor_height=24.0):
    return intrinsics_of(
        orthographic=False,
        lens=lens.lens,
        ortho_scale=1.0,
        sensor_fit=sensor_fit,
        sensor_width=sensor_width,
        sensor_height=sensor_height,
        shift_x=lens.shift_x,
        shift_y=lens.shift_y,
        width=width,
        height=height,
        aspect_x=lens.pixel_aspect_x,
        aspect_y=lens.pixel_aspect_y,
    )


@pytest.mark.parametrize(
    "fx, fy, cx, cy, width, height",
    [
        (572.4114, 573.57043, 325.2611, 242.04899, 640, 480),  # LM's cam_K (BOP)
        (1066.778, 1067.487, 312.9869, 241.3109, 640, 480),  # YCB-V's
        (500.0, 374.9, 100.0, 400.0, 640, 480),  # tall pixels: the sensor fits the height
        (500.0, 900.0, 320.0, 240.0, 480, 640),  # portrait, wide pixels
        (100.0, 20000.0, 0.0, 48.0, 64, 48),  # pixel aspect 200, the principal point at the edges
    ],
)
def test_a_k_matrix_comes_back_from_the_blender_camera_made_for_it(fx, fy, cx, cy, width, height):
    k = back(blender_lens_for(fx, fy, cx, cy, width, height, 36.0), width, height)
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((fx, fy, cx, cy), rel=1e-12, abs=1e-9)
    # USD's apertures: fx = focal * width / aperture_x, fy = focal * height / aperture_y.
    lens = blender_lens_for(fx, fy, cx, cy, width, height, 36.0).lens
    assert lens * width / k.sensor_width_mm == pytest.approx(fx)
    assert lens * height / k.sensor_height_mm == pytest.approx(fy)


def test_square_pixels_are_blenders_formulas():
    """fx = lens x (larger side) / sensor width, the shift in units of the larger side."""
    lens = blender_lens_for(700.0, 700.0, 300.0, 200.0, 640, 480, 36.0)
    assert (lens.pixel_aspect_x, lens.pixel_aspect_y) == (1.0, 1.0)
    assert lens.lens == 700.0 * 36.0 / 640
    assert (lens.shift_x, lens.shift_y) == ((320 - 300.0) / 640, (200.0 - 240) / 640)
    k = back(lens, 640, 480)
    assert (k.sensor_width_mm, k.sensor_height_mm) == (36.0, 36.0 * 480 / 640)


def test_the_pixel_aspect_makes_one_side_1():
    assert pixel_aspect_for(100.0, 150.0) == (1.5, 1.0)
    assert pixel_aspect_for(150.0, 100.0) == (1.0, 1.5)
    assert pixel_aspect_for(100.0, 100.0) == (1.0, 1.0)


@pytest.mark.parametrize("fit, sensor", [("HORIZONTAL", 36.0), ("VERTICAL", 24.0)])
def test_a_fixed_sensor_fit_uses_its_own_side(fit, sensor):
    """A .blend camera fitted to one side: that side's pixels over that sensor dimension."""
    lens = blender_lens_for(100.0, 100.0, None, None, 64, 48, 36.0)
    k = back(lens, 64, 48, sensor_fit=fit)
    side = 64 if fit == "HORIZONTAL" else 48
    assert k.fx == k.fy == pytest.approx(lens.lens * side / sensor)
    assert (k.cx, k.cy) == (32.0, 24.0)


def test_non_square_pixels_are_blenders_viewplane_by_hand():
    """fy = 1.5 fx: pixel aspect (1.5, 1), so a pixel's height is 1/1.5 of its width
    (BKE_camera_params_compute_viewplane's ycor); the shift counts in units of the fitted
    side (here the width, 1.5 x 640 >= 480), y in those units times ycor. A round trip alone
    would pass with the same mistake made both ways."""
    lens = blender_lens_for(500.0, 750.0, 300.0, 200.0, 640, 480, 36.0)
    assert (lens.pixel_aspect_x, lens.pixel_aspect_y) == (1.5, 1.0)
    assert lens.lens == pytest.approx(500.0 * 36.0 / 640)
    assert lens.shift_x == pytest.approx((320 - 300.0) / 640)
    assert lens.shift_y == pytest.approx((200.0 - 240) / 1.5 / 640)
