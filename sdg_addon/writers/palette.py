"""Distinct, stable colours for ids (colourised segmentation, visualizer).

id 0 (BACKGROUND) -> (0, 0, 0, 0) and id 1 (UNLABELLED) -> (0, 0, 0, 255), as Replicator.
Other ids go through a bijection of 24-bit integers, so two ids below 2**24 never share
a colour and a colour maps back to exactly one id.
"""

from __future__ import annotations

import numpy as np

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
    if data.size and int(data.max()) < (1 << 20):  # a colour table indexed by id: linear time
        table = id_colors(np.arange(int(data.max()) + 1))
        ids = np.flatnonzero(np.bincount(data.ravel()))
        # One 4-byte gather per pixel (RGBA as one uint32) instead of a 4-channel one.
        image = table.view(np.uint32)[:, 0].take(data).view(np.uint8).reshape(*data.shape, 4)
        colors = table[ids]
    else:
        ids, inverse = np.unique(data, return_inverse=True)
        colors = id_colors(ids)
        image = colors[inverse.reshape(data.shape)]
    return image, {int(i): tuple(int(x) for x in c) for i, c in zip(ids, colors)}


def color_key(color) -> str:
    """Replicator's key for a colour in label json files: "(r, g, b, a)"."""
    return "(" + ", ".join(str(int(x)) for x in color) + ")"
