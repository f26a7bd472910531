"""normals.vector_length is bitwise np.linalg.norm over the last axis (it replaced it)."""

import numpy as np

from sdg_addon.annotators.normals import vector_length


def test_vector_length_is_bitwise_linalg_norm():
    # Sums where the association matters: (1e16 + 1) + 1 != 1e16 + (1 + 1) in float64.
    v = np.array([[1e8, 1.0, 1.0], [1.0, 1.0, 1e8], [0.0, -0.0, 0.0], [np.nan, 1.0, 0.0], [np.inf, 0.0, 1.0]])
    rng = np.random.default_rng(3)
    v = np.concatenate([v, rng.normal(size=(5000, 3)) * rng.uniform(0, 1e6, (5000, 1))])
    assert np.array_equal(vector_length(v), np.linalg.norm(v, axis=-1), equal_nan=True)
    image = rng.normal(size=(7, 9, 3)).astype(np.float32).astype(np.float64)
    assert np.array_equal(vector_length(image), np.linalg.norm(image, axis=-1))
