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


def test_standard_view_levels_are_correctly_rounded_at_every_step():
    """Each of the 255 level steps sits where the formula says: the smallest float32 at or
    above t_k = srgb_inverse((k - 0.5) / 255) gives level k, the float32 just below it
    k - 1 (the lookup by the float's high bits must split a bin exactly there)."""
    from sdg_addon.colour import srgb_inverse, srgb_levels

    t = srgb_inverse((np.arange(1, 256) - 0.5) / 255.0)
    at = t.astype(np.float32)
    at = np.where(at.astype(np.float64) < t, np.nextafter(at, np.float32(2)), at)
    below = np.nextafter(at, np.float32(0))
    assert np.all(below.astype(np.float64) < t) and np.all(at.astype(np.float64) >= t)
    levels = np.arange(1, 256)
    assert srgb_levels(at).tolist() == levels.tolist()
    assert srgb_levels(below).tolist() == (levels - 1).tolist()


def test_standard_view_of_special_and_random_values_matches_the_formula():
    from sdg_addon.colour import srgb_encode, srgb_levels

    special = np.array(
        [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1.0, np.nextafter(1, 2), 1e30, -1.0],
        dtype=np.float32,
    )
    nan_bits = np.array([0x7F800001, 0x7FFFFFFF, 0xFF800001, 0x7FC00000], dtype=np.uint32).view(np.float32)
    assert srgb_levels(special).tolist() == [0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 255, 0]
    assert srgb_levels(nan_bits).tolist() == [0, 0, 0, 0]
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-0.1, 1.2, 200_000), 10.0 ** rng.uniform(-8, 0, 200_000)]).astype(np.float32)
    expected = np.floor(255 * srgb_encode(np.clip(x.astype(np.float64), 0, 1)) + 0.5)
    assert np.array_equal(srgb_levels(x), expected.astype(np.uint8))
    # Any shape, any memory layout: (H, W, 4) and a strided view give the same levels.
    image = x[: 240 * 4].reshape(6, 10, 4, 4)
    assert np.array_equal(srgb_levels(image[:, ::2, :, 1:]).ravel(), srgb_levels(image[:, ::2, :, 1:].copy()).ravel())


def test_standard_view_in_blocks_equals_the_whole_image_lookup():
    """The Standard view goes through the image in blocks of rows (cache-sized): every row
    of every block, the last partial one too, equals the lookup of the whole image, and
    alpha is round(255 * clip(alpha, 0, 1)); for images of one block, of many, and wider
    than a block (one row a block), and of no rows."""
    from sdg_addon import colour

    rng = np.random.default_rng(11)
    for h, w in ((61, 700), (3, 20000), (40, 1), (0, 640)):
        linear = rng.uniform(-0.2, 1.3, (h, w, 4)).astype(np.float32)
        if h:
            linear[h // 2, w // 2] = [np.nan, np.inf, -np.inf, 0.5]
        rows = max(1, colour.BLOCK_VALUES // max(1, w * 4))
        assert h == 0 or (h > rows) == ((h, w) != (40, 1)), "the shapes cover one and many blocks"
        out = display_transform(linear, "Standard")
        assert out.shape == (h, w, 4) and out.dtype == np.uint8
        expected = colour.srgb_levels(linear.copy())
        expected[..., 3] = np.round(np.clip(linear[..., 3], 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)
        assert np.array_equal(out, expected), (h, w)


def test_standard_view_alpha_of_opaque_blocks_beside_transparent_ones():
    """Blocks whose alpha is all >= 1 take level 255 without the float passes; a block
    holding one transparent pixel (or NaN) among opaque ones still gets each pixel's own
    level: the result equals round(255 * clip(alpha, 0, 1)) everywhere."""
    from sdg_addon import colour

    rng = np.random.default_rng(5)
    w = 700
    rows = max(1, colour.BLOCK_VALUES // (w * 4))
    h = 4 * rows + 3
    linear = rng.uniform(0.0, 1.0, (h, w, 4)).astype(np.float32)
    linear[..., 3] = 1.0
    linear[: rows // 2, :, 3] = 1.5  # above 1 in the first block: 255 as well
    linear[rows + 3, 17, 3] = 0.25  # one transparent pixel in the second block
    linear[2 * rows, 5, 3] = np.float32(np.nextafter(np.float32(1.0), np.float32(0.0)))  # just below 1
    linear[3 * rows + 1, 9, 3] = np.nan  # NaN in the fourth
    linear[-1, -1, 3] = 0.0  # the last, partial block
    out = display_transform(linear, "Standard")
    expected = np.round(np.clip(linear[..., 3], 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)
    assert np.array_equal(out[..., 3], expected)
    assert out[rows + 3, 17, 3] == 64 and out[-1, -1, 3] == 0 and (out[: rows // 2, :, 3] == 255).all()
    assert np.array_equal(out[..., :3], colour.srgb_levels(linear.copy())[..., :3])
