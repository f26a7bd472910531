"""Id maps (instance pass, segmentations) as row-wise runs of equal ids.

A rendered id map is made of large flat regions: a 640 x 480 frame of 30 objects has a
few thousand runs for 307,200 pixels. One pass over the pixels finds the runs; per-id
pixel counts, extents, the ids present, id lookups and colours are then computed on the
runs, and a per-run result is spread back over the pixels with np.repeat (a block copy
per run, no (H, W) index array).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IdRuns:
    """Maximal runs of equal ids along the rows of an (H, W) id map (a run never crosses a
    row end), in row-major order."""

    shape: tuple[int, int]
    starts: np.ndarray  # flat row-major index of each run's first pixel, increasing
    values: np.ndarray  # each run's id (the map's dtype)
    lengths: np.ndarray  # each run's pixel count

    def expand(self, per_run: np.ndarray) -> np.ndarray:
        """The (H, W) map with per_run[k] on every pixel of run k."""
        return np.repeat(per_run, self.lengths).reshape(self.shape)


def id_runs(ids: np.ndarray) -> IdRuns:
    """The row-wise runs of a 2-D id map."""
    ids = np.asarray(ids)
    h, w = ids.shape
    flat = ids.ravel()
    if flat.size == 0:
        none = np.zeros(0, dtype=np.intp)
        return IdRuns((h, w), none, flat, none)
    new = np.empty(flat.size, dtype=bool)
    new[0] = True
    np.not_equal(flat[1:], flat[:-1], out=new[1:])
    new[::w] = True  # every row starts a run, so a run's row and columns are known
    starts = np.flatnonzero(new)
    return IdRuns((h, w), starts, flat[starts], np.diff(starts, append=flat.size))


@dataclass(frozen=True)
class IdStats:
    """Per id present in an id map (ids sorted): pixel count and inclusive extent."""

    ids: np.ndarray
    counts: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray

    def dense_counts(self) -> np.ndarray:
        """Pixel counts indexed by id, as np.bincount of the map gives them."""
        counts = np.zeros(int(self.ids[-1]) + 1 if self.ids.size else 0, dtype=np.intp)
        counts[self.ids] = self.counts
        return counts


def id_stats(runs: IdRuns) -> IdStats:
    """Counts and extents of every id from its runs (a sort of the runs, not of pixels)."""
    w = runs.shape[1]
    order = np.argsort(runs.values, kind="stable")  # each id's runs together, in image order
    values, starts, lengths = runs.values[order], runs.starts[order], runs.lengths[order]
    if values.size == 0:
        none = np.zeros(0, dtype=np.intp)
        return IdStats(values, none, none, none, none, none)
    first = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    last = np.append(first[1:], values.size) - 1
    rows, cols = np.divmod(starts, w)
    return IdStats(
        ids=values[first],
        counts=np.add.reduceat(lengths, first),
        x0=np.minimum.reduceat(cols, first),
        y0=rows[first],  # an id's runs are in row-major order: its first run is its top row
        x1=np.maximum.reduceat(cols + lengths - 1, first),
        y1=rows[last],
    )
