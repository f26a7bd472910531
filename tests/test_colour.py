"""The Standard view transform: linear -> sRGB 8-bit, by the sRGB formula."""

import numpy as np

from sdg_addon.colour import display_transform


def test_standard_view_matches_the_srgb_formula():
    linear = np.array([[[0.0, 0.5, 1.0, 1.0], [0.002, 0.2, 4.0, 0.25]]], dtype=np.float32)
    out = display_transform(linear, "Standard")
    # 0.5 -> 1.055 * 0.5 ** (1 / 2.4) - 0.055 = 0.7354 -> 188; 0.002 is on the linear part.
    assert out.dtype == np.uint8 and out.shape == (1, 2, 4)
    assert out[0, 0].tolist() == [0, 188, 255, 255]
    assert out[0, 1].tolist() == [round(0.002 * 12.92 * 255), round((1.055 * 0.2 ** (1 / 2.4) - 0.055) * 255), 255, 64]


def test_raw_view_clips_without_curve():
    out = display_transform(np.array([[[0.5, 2.0, -1.0, 1.0]]]), "Raw")
    assert out[0, 0].tolist() == [128, 255, 0, 255]
