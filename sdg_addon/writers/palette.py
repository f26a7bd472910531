"""Distinct, stable colours for ids (colourised segmentation, visualizer).

id 0 (BACKGROUND) -> (0, 0, 0, 0) and id 1 (UNLABELLED) -> (0, 0, 0, 255), as Replicator.
Other ids go through a bijection of 24-bit integers, so two ids below 2**24 never share
a colour and a colour maps back to exactly one id.
"""

from __future__ import annotations

import numpy as np

from ..idruns import id_runs

_MUL = 0x9E3779  # odd, so multiplication modulo 2**24 is a bijection
_MASK = (1 << 24) - 1


def id_colors(ids: np.ndarray) -> np.ndarray:
    """uint32 ids (any shape) -> uint8 RGBA (shape + (4,))."""
    ids = np.asarray(ids, dtype=np.uint64)
    mixed = ((ids * np.uint64(_MUL)) ^ np.uint64(0x5A5A5A)) & np.uint64(_MASK)
    out = np.empty(ids.shape + (4,), dtype=np.uint8)
    out[..., 0] = (mixed >> np.uint64(16)) & np.uint64(255)
    out[..., 1] = (mixed >> np.uint64(8)) & np.uint64(255)
    out[..., 2] = mixed & np.uint64(255)
    out[..., 3] = 255
    out[ids == 0] = (0, 0, 0, 0)
    out[ids == 1] = (0, 0, 0, 255)
    return out


def colorize(data: np.ndarray) -> tuple[np.ndarray, dict[int, tuple[int, int, int, int]]]:
    """An id map -> (RGBA image, {id: colour}) for the ids present."""
    data = np.asarray(data)
    # The map's runs of equal ids (as one row): each run's colour is looked up once and
    # spread over its pixels as one uint32 (RGBA), no per-pixel index or max / bincount pass.
    runs = id_runs(data.reshape(1, -1))
    ids, which = np.unique(runs.values, return_inverse=True)
    colors = id_colors(ids)
    image = runs.expand(colors.view(np.uint32)[:, 0][which]).view(np.uint8).reshape(*data.shape, 4)
    return image, {int(i): tuple(int(x) for x in c) for i, c in zip(ids, colors)}


def color_key(color) -> str:
    """Replicator's key for a colour in label json files: "(r, g, b, a)"."""
    return "(" + ", ".join(str(int(x)) for x in color) + ")"
