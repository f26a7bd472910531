"""The thermal radiance model and sensor effects (sensors/, no bpy), checked exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdg_addon.sensors import nir, thermal
from sdg_addon.sensors.thermal import K_B, SIGMA, C, H


def series_band_radiance(t: float, lo_um: float, hi_um: float) -> float:
    """Exact band radiance from the series of the Planck integral (independent of the
    quadrature): int_x^inf u^3/(e^u - 1) du = sum_n e^(-n x) (x^3/n + 3x^2/n^2 + 6x/n^3 + 6/n^4)."""

    def tail(x: float) -> float:
        if x == 0:
            return math.pi**4 / 15
        return sum(math.exp(-n * x) * (x**3 / n + 3 * x**2 / n**2 + 6 * x / n**3 + 6 / n**4) for n in range(1, 400))

    x_lo, x_hi = H * C / (hi_um * 1e-6 * K_B * t), H * C / (lo_um * 1e-6 * K_B * t)  # hi_um = inf: x_lo = 0
    return 2 * K_B**4 * t**4 / (H**3 * C**2) * (tail(x_lo) - tail(x_hi))


def test_series_reference_is_stefan_boltzmann_over_all_wavelengths():
    assert series_band_radiance(300.0, 1e-9, math.inf) == pytest.approx(SIGMA * 300.0**4 / math.pi, rel=1e-12)


@pytest.mark.parametrize("t", [100.0, 250.0, 300.0, 373.15, 1000.0, 2000.0])
def test_band_radiance_equals_the_exact_series(t):
    assert thermal.band_radiance(t) == pytest.approx(series_band_radiance(t, 8.0, 14.0), rel=1e-10)


def test_band_radiance_known_value_and_shape():
    # 8-14 um at 300 K: about 37.6 % of sigma T^4 / pi (a textbook figure for this band).
    share = thermal.band_radiance(300.0) / (SIGMA * 300.0**4 / math.pi)
    assert 0.37 < share < 0.38
    out = thermal.band_radiance(np.full((3, 4), 300.0))
    assert out.shape == (3, 4)


def test_derivative_is_the_slope():
    for t in (200.0, 300.0, 900.0):
        slope = (thermal.band_radiance(t + 1e-3) - thermal.band_radiance(t - 1e-3)) / 2e-3
        assert thermal.band_radiance_derivative(t) == pytest.approx(slope, rel=1e-6)


def test_brightness_temperature_inverts_band_radiance():
    t = np.linspace(thermal.T_MIN, thermal.T_MAX, 20001)
    radiance = thermal.band_radiance(t)
    assert np.abs(thermal.brightness_temperature(radiance) - t).max() < 1e-4
    assert np.abs(thermal.brightness_temperature(radiance, newton_steps=1) - t).max() < 1e-8


def test_brightness_temperature_clips_outside_its_range():
    edge = thermal.band_radiance(np.array([thermal.T_MIN, thermal.T_MAX]))
    assert thermal.brightness_temperature(edge).tolist() == pytest.approx([thermal.T_MIN, thermal.T_MAX])
    beyond = thermal.brightness_temperature(np.array([0.0, edge[0] * 0.5, edge[1] * 1.01]))
    assert beyond.tolist() == [thermal.T_MIN, thermal.T_MIN, thermal.T_MAX]


def test_apparent_temperature_mixes_radiances_not_temperatures():
    assert thermal.apparent_temperature(320.0, 1.0, 200.0) == pytest.approx(320.0, abs=1e-4)
    assert thermal.apparent_temperature(320.0, 0.0, 200.0) == pytest.approx(200.0, abs=1e-4)
    half = float(thermal.apparent_temperature(300.0, 0.5, 400.0))
    expected = thermal.brightness_temperature(0.5 * thermal.band_radiance(300.0) + 0.5 * thermal.band_radiance(400.0))
    assert half == pytest.approx(float(expected), abs=1e-6)
    # Radiance grows faster than linearly with T, so the mix reads above the mean temperature.
    assert 350.0 < half < 400.0


def test_units():
    assert thermal.to_kelvin(20.0, "C") == pytest.approx(293.15)
    assert thermal.to_kelvin(293.15, "K") == 293.15


def test_sensor_without_effects_is_the_exact_inverse():
    t = np.random.default_rng(0).uniform(250, 400, (12, 16))
    out = thermal.sensor_temperature(thermal.band_radiance(t))
    assert out.dtype == np.float32 and np.abs(out - t).max() < 1e-3


def test_netd_is_the_noise_standard_deviation_and_seeded():
    radiance = np.full((200, 200), thermal.band_radiance(300.0))
    seed = thermal.noise_seed(3, 7, "ir")
    a = thermal.sensor_temperature(radiance, netd=0.05, rng=np.random.default_rng(seed))
    b = thermal.sensor_temperature(radiance, netd=0.05, rng=np.random.default_rng(thermal.noise_seed(3, 7, "ir")))
    c = thermal.sensor_temperature(radiance, netd=0.05, rng=np.random.default_rng(thermal.noise_seed(3, 8, "ir")))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.std() == pytest.approx(0.05, rel=0.03)
    assert a.mean() == pytest.approx(300.0, abs=0.002)


def test_vignetting_darkens_corners_only():
    radiance = np.full((20, 30), thermal.band_radiance(300.0))
    out = thermal.sensor_temperature(radiance, vignetting=0.2)
    assert out[10, 15] == pytest.approx(300.0, abs=0.05)
    gain = thermal.vignetting_gain(20, 30, 0.2)
    corner_gain = 1 - 0.2 * ((29 / 30) ** 2 + (19 / 20) ** 2) / 2  # centre of the corner pixel
    assert gain.max() <= 1.0 and gain[0, 0] == gain.min() == pytest.approx(corner_gain)
    corner = thermal.brightness_temperature(corner_gain * thermal.band_radiance(300.0))
    assert out[0, 0] == pytest.approx(float(corner), abs=1e-3) and out[0, 0] < out[10, 15] - 5


def test_blur_spreads_an_edge_and_keeps_flat_regions():
    t = np.full((20, 20), 300.0)
    t[:, 10:] = 350.0
    out = thermal.sensor_temperature(thermal.band_radiance(t), blur=1.5)
    assert out[5, 0] == pytest.approx(300.0, abs=1e-3) and out[5, 19] == pytest.approx(350.0, abs=1e-3)
    assert 300.5 < out[5, 9] < out[5, 10] < 349.5
    assert np.array_equal(thermal.gaussian_blur(t, 0.0), t)


def test_palettes():
    k = np.array([[280.0, 290.0, 300.0]])
    white = thermal.palette_image(k, "white_hot", 280.0, 300.0)
    assert white.dtype == np.uint8 and white.shape == (1, 3, 4)
    assert white[0, :, 0].tolist() == [0, 128, 255] and (white[..., 3] == 255).all()
    black = thermal.palette_image(k, "black_hot", 280.0, 300.0)
    assert black[0, :, 0].tolist() == [255, 128, 0]
    iron = thermal.palette_image(np.array([[0.0, 1000.0]]), "iron", 280.0, 300.0)  # clipped to the ends
    assert iron[0, 0, :3].tolist() == [0, 0, 0] and iron[0, 1, :3].tolist() == [255, 255, 224]
    assert thermal.preview_range(np.full((4, 4), 300.0)) == (300.0, 301.0)  # a flat frame


def test_nir_default_reflectance_and_image():
    assert nir.default_reflectance([0.0, 0.0, 0.0]) == 0.0
    assert nir.default_reflectance([1.0, 1.0, 1.0]) == 1.0
    assert nir.default_reflectance([0.8, 0.1, 0.1]) == pytest.approx(0.8)
    assert nir.default_reflectance([0.1, 0.6, 0.1]) == pytest.approx(0.35)
    img = nir.sensor_image(np.array([[0.0, 0.25, 1.0, 4.0]]), exposure=1.0)
    assert img.dtype == np.uint8 and img[0].tolist()[0] == 0 and img[0, 2] == 255 and img[0, 3] == 255
    assert img[0, 1] == round(255 * (1.055 * 0.5 ** (1 / 2.4) - 0.055))


def test_basic_writer_stores_kelvin_as_float_and_centikelvin_tiff(tmp_path):
    from PIL import Image

    from sdg_addon.frame import AnnotatedFrame, LabelTable
    from sdg_addon.writers import create_writer

    kelvin = np.random.default_rng(1).uniform(250.0, 400.0, (6, 8)).astype(np.float32)
    for encoding in ("float32", "centikelvin"):
        out = tmp_path / encoding
        writer = create_writer("basic", out)
        value = {"data": kelvin, "info": {"unit": "K", "encoding": encoding}}
        writer.write(AnnotatedFrame(3, "ir", {"thermal": value, "nir": None}, LabelTable(), None))
        tiff = np.asarray(Image.open(out / "thermal_0003.tiff"))
        assert np.array_equal(np.load(out / "thermal_0003.npy"), kelvin)
        if encoding == "float32":
            assert tiff.dtype == np.float32 and np.array_equal(tiff, kelvin)
        else:
            assert tiff.dtype == np.uint16 and np.abs(tiff / 100.0 - kelvin).max() <= 0.005 + 1e-6
        assert not list(out.glob("nir_*"))  # None: nothing written


def test_vignetting_is_r_squared_in_half_widths_and_half_heights_as_sensors_md_says():
    """docs/sensors.md: gain 1 - v * ((dx / (W/2))^2 + (dy / (H/2))^2) / 2 at pixel centres:
    the middle of the left side loses what the middle of the top does, half the corners'."""
    from sdg_addon.sensors.thermal import vignetting_gain

    gain = vignetting_gain(24, 32, 0.5)
    y, x = np.mgrid[0:24, 0:32] + 0.5
    assert np.allclose(gain, 1 - 0.5 * (((x - 16) / 16) ** 2 + ((y - 12) / 12) ** 2) / 2)
    side = 1 - 0.5 * ((15.5 / 16) ** 2 + (0.5 / 12) ** 2) / 2
    assert np.isclose(gain[12, 0], side) and np.isclose(gain[0, 16], 1 - 0.5 * ((11.5 / 12) ** 2 + (0.5 / 16) ** 2) / 2)


def test_nir_default_reflectance_is_of_the_colours_rec709_numbers_in_another_working_space():
    """Blender 5.0 keeps a .blend's working colour space (ACEScg): the red channel of ACEScg
    numbers is another red, so the default came out otherwise for the same colour (Rec.709
    (0.8, 0.1, 0.1), in ACEScg numbers about (0.55, 0.14, 0.11), gave 0.55, not 0.8)."""
    from sdg_addon.colour import XYZ_TO_REC709, XYZ_TO_WORKING, luminance_weights

    for space, to_space in XYZ_TO_WORKING.items():
        for rec709 in ([0.8, 0.1, 0.1], [0.1, 0.6, 0.1], [1.0, 1.0, 1.0]):
            numbers = to_space @ np.linalg.solve(XYZ_TO_REC709, rec709)
            expected = nir.default_reflectance(rec709)
            assert nir.default_reflectance(numbers, space) == pytest.approx(expected, abs=1e-6), (space, rec709)
            assert numbers @ luminance_weights(space) == pytest.approx(np.dot(rec709, luminance_weights()), abs=1e-4)
