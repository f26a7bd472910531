"""Id maps as row-wise runs: counts, extents, lookups and colours equal the per-pixel ones."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_addon.annotators import silhouettes as sil
from sdg_addon.annotators.semantics import instance_lookup_present, lookup_ids
from sdg_addon.frame import Camera, FrameData, LabelTable
from sdg_addon.idruns import id_runs, id_stats
from sdg_addon.writers.palette import colorize, id_colors


def id_maps(seed=0):
    """Random maps of blobs and noise, large ids, one row, one column, empty shapes."""
    rng = np.random.default_rng(seed)
    for t in range(60):
        h, w = (int(x) for x in rng.integers(1, 40, 2))
        if t % 3 == 0:  # noise: runs of one pixel everywhere
            ids = rng.integers(0, 6, size=(h, w))
        else:  # rectangles over background, some touching the borders
            ids = np.zeros((h, w), dtype=np.int64)
            for k in range(int(rng.integers(1, 12))):
                y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
                ids[y : y + int(rng.integers(1, 9)), x : x + int(rng.integers(1, 9))] = k + 2
        offset = (0, 1000, 5000, 70_000, 1 << 24)[t % 5]  # past the old 1024 bincount limit too
        yield np.where(ids > 1, ids + offset, ids).astype(np.uint32)
    yield np.zeros((1, 17), np.uint32)
    yield np.arange(13, dtype=np.uint32).reshape(13, 1) % 3
    yield np.array([[7]], np.uint32)
    yield np.full((4, 5), 9, np.uint32)
    for shape in ((0, 0), (0, 5), (5, 0)):
        yield np.zeros(shape, np.uint32)


def bincount_stats(instance):
    """The per-pixel statistics the runs replace (the former silhouettes._visible_stats,
    which failed on an empty map)."""
    h, w = instance.shape
    if instance.size == 0:
        return {}, {}
    ids, inverse = np.unique(instance, return_inverse=True)
    compact = inverse.reshape(h, w).astype(np.intp)
    n = len(ids)
    per_row = np.bincount((compact * h + np.arange(h)[:, None]).ravel(), minlength=n * h).reshape(n, h)
    per_col = np.bincount((compact * w + np.arange(w)[None, :]).ravel(), minlength=n * w).reshape(n, w) > 0
    counts, rows = per_row.sum(axis=1), per_row > 0
    x0, x1 = per_col.argmax(axis=1), w - 1 - per_col[:, ::-1].argmax(axis=1)
    y0, y1 = rows.argmax(axis=1), h - 1 - rows[:, ::-1].argmax(axis=1)
    count_of, extent_of = {}, {}
    for k in np.flatnonzero(counts).tolist():
        iid = int(ids[k])
        if iid:
            count_of[iid] = int(counts[k])
            extent_of[iid] = (int(x0[k]), int(y0[k]), int(x1[k]), int(y1[k]))
    return count_of, extent_of


def frame_of(instance):
    h, w = instance.shape
    cam = Camera("cam", w, h, "perspective", np.eye(4), 50.0, 50.0, w / 2, h / 2, 0.1, 100.0)
    return FrameData(0, cam, {"instance": instance}, {}, LabelTable())


def test_runs_cover_the_map_and_break_at_every_row():
    for ids in id_maps():
        runs = id_runs(ids)
        assert np.array_equal(runs.expand(runs.values), ids)
        h, w = ids.shape
        assert runs.lengths.sum() == ids.size
        if ids.size:
            # runs never cross a row end, neighbours on one row differ
            assert np.all((runs.starts % w) + runs.lengths <= w)
            same_row = (runs.starts[1:] % w) != 0
            assert np.all(runs.values[1:][same_row] != runs.values[:-1][same_row])


def test_stats_equal_bincount_and_brute_force():
    for ids in id_maps():
        stats = id_stats(id_runs(ids))
        present = np.unique(ids)
        assert np.array_equal(stats.ids, present)
        for k, iid in enumerate(present.tolist()):
            ys, xs = np.nonzero(ids == iid)
            assert stats.counts[k] == len(xs)
            assert (stats.x0[k], stats.y0[k], stats.x1[k], stats.y1[k]) == (xs.min(), ys.min(), xs.max(), ys.max())
        if ids.size and ids.max() < 1 << 20:
            dense = stats.dense_counts()
            assert dense.dtype == np.intp and np.array_equal(dense, np.bincount(ids.ravel()))


def test_visible_stats_equal_the_bincount_version():
    for ids in id_maps(1):
        frame = frame_of(ids)
        assert sil._visible_stats(frame) == bincount_stats(ids)
        if ids.size and ids.max() < 1 << 20:
            assert np.array_equal(frame.instance_pixel_counts(), np.bincount(ids.ravel()))


@pytest.mark.parametrize("offset", [0, 3000])
def test_instance_lookup_present_equals_a_table_lookup(offset):
    rng = np.random.default_rng(5)
    for ids in id_maps(2):
        present_ids = np.unique(ids)
        # some present ids mapped, some absent ids mapped, the rest to the default
        mapping = {int(i): int(rng.integers(2, 9)) + offset for i in present_ids[::2] if i}
        mapping[int(ids.max(initial=0)) + 3] = 4
        data, present = instance_lookup_present(frame_of(ids), mapping, 1)
        expected = lookup_ids(mapping, ids, 1)
        assert data.dtype == expected.dtype == np.uint32
        assert np.array_equal(data, expected)
        assert present == np.unique(expected).tolist()


def test_colorize_equals_a_per_pixel_colour_lookup():
    maps = list(id_maps(3))
    maps += [np.array([5, 5, 1, 0, 1 << 30], np.uint32), np.arange(24, dtype=np.uint32).reshape(2, 3, 4) % 5]
    for ids in maps:
        image, colors = colorize(ids)
        assert image.dtype == np.uint8 and image.shape == (*ids.shape, 4)
        assert np.array_equal(image, id_colors(ids))
        assert list(colors) == np.unique(ids).tolist()  # the ids present, in id order
        for i, c in colors.items():
            assert c == tuple(id_colors(np.array([i]))[0].tolist())
