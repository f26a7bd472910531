"""Mask encodings of the dataset writers: RLE identical to pycocotools, exact polygons."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from sdg_addon.writers.masks import (
    encode_rle,
    encode_rle_ids,
    encode_rle_numpy,
    mask_polygon,
    mask_polygons,
    signed_area,
    trace_loops,
)

mask_api = pytest.importorskip("pycocotools.mask")


def random_masks(n=200, seed=0):
    rng = np.random.default_rng(seed)
    for t in range(n):
        h, w = (int(x) for x in rng.integers(1, 30, 2))
        if t % 4 == 0:  # a blob with a hole and an island inside the hole
            m = np.zeros((h, w), bool)
            m[h // 5 : h - h // 5, w // 5 : w - w // 5] = True
            m[h // 3 : h - h // 3, w // 3 : w - w // 3] = False
            m[h // 2, w // 2] = True
        else:  # noise: many parts, holes, pixels touching only at corners
            m = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        yield m


def test_numpy_rle_equals_pycocotools():
    for m in random_masks():
        ours = encode_rle_numpy(m)
        theirs = mask_api.encode(np.asfortranarray(m.astype(np.uint8)))
        assert ours["size"] == list(theirs["size"])
        assert ours["counts"] == theirs["counts"].decode("ascii")
        assert encode_rle(m) == ours
    for m in (np.zeros((3, 4), bool), np.ones((3, 4), bool), np.ones((1, 1), bool)):
        assert (
            encode_rle_numpy(m)["counts"] == mask_api.encode(np.asfortranarray(m.astype(np.uint8)))["counts"].decode()
        )


def test_rle_of_every_id_in_one_pass_equals_pycocotools_per_mask():
    # COCO's writer encodes all objects of a frame from the id map at once; each string
    # must be exactly pycocotools' for that object's mask (ids touching the first and last
    # pixel, absent ids, single-pixel images included).
    rng = np.random.default_rng(1)
    maps = [rng.integers(0, 5, size=(int(h), int(w))) for h, w in rng.integers(1, 25, size=(150, 2))]
    maps += [np.full((3, 4), 2), np.array([[3]])]
    for ids in maps:
        got = encode_rle_ids(ids, [0, 1, 2, 3, 4, 9])
        for i, rle in got.items():
            theirs = mask_api.encode(np.asfortranarray((ids == i).astype(np.uint8)))
            assert rle == {"size": list(theirs["size"]), "counts": theirs["counts"].decode("ascii")}
    assert encode_rle_ids(maps[0], []) == {}


def test_polygons_rasterize_back_to_the_mask_exactly():
    for m in random_masks():
        if not m.any():
            continue
        h, w = m.shape
        polys = mask_polygons(m)
        assert all(len(p) >= 8 and len(p) % 2 == 0 for p in polys)
        decoded = mask_api.decode(mask_api.merge(mask_api.frPyObjects(polys, h, w))).astype(bool)
        assert np.array_equal(decoded, m)
        single = mask_polygon(m)
        decoded = mask_api.decode(mask_api.frPyObjects([single], h, w)[0]).astype(bool)
        assert np.array_equal(decoded, m)


def test_loops_orientation_and_area():
    m = np.zeros((6, 7), bool)
    m[1:5, 1:6] = True
    m[2:4, 2:4] = False  # a 2x2 hole
    loops = trace_loops(m)
    areas = sorted(signed_area(lp) for lp in loops)
    assert areas == [-4.0, 20.0]  # holes negative, outer boundary positive
    outer = next(lp for lp in loops if signed_area(lp) > 0)
    assert sorted(map(tuple, outer.tolist())) == [(1, 1), (1, 5), (6, 1), (6, 5)]  # corners only
    # Pixels touching at a corner are two loops (4-connectivity).
    d = np.array([[1, 0], [0, 1]], bool)
    assert len(trace_loops(d)) == 2 and len(mask_polygons(d)) == 2
    assert mask_polygons(np.zeros((3, 3), bool)) == [] and mask_polygon(np.zeros((3, 3), bool)) == []
    # Offsets place a cropped mask's polygons in the full image.
    assert mask_polygons(np.ones((1, 1), bool), offset=(5, 7)) == [[5.0, 7.0, 6.0, 7.0, 6.0, 8.0, 5.0, 8.0]]


def test_writers_do_not_import_bpy():
    code = (
        "import sys; import sdg_addon.writers, sdg_addon.writers.plugins, sdg_addon.writers.masks; "
        "assert 'bpy' not in sys.modules, 'bpy imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
