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
    rle_string,
    rle_strings,
    rles_and_areas,
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
    # Blobs whose runs continue from the bottom of one column to the top of the next, large
    # uint32 ids, a transposed (not contiguous) view, one row, one column.
    blobs = np.zeros((20, 30), np.uint32)
    blobs[:, 3:9], blobs[5:, 12:20], blobs[:7, 25:] = 2, 3, 70_000
    maps += [blobs, blobs.T, blobs[:1], blobs[:, 13:14]]
    for ids in maps:
        got = encode_rle_ids(ids, [0, 1, 2, 3, 4, 9, 70_000])
        for i, rle in got.items():
            theirs = mask_api.encode(np.asfortranarray((ids == i).astype(np.uint8)))
            assert rle == {"size": list(theirs["size"]), "counts": theirs["counts"].decode("ascii")}
    assert encode_rle_ids(maps[0], []) == {}


def test_rle_and_area_of_every_id_of_a_large_map_equal_pycocotools():
    """A 480 x 640 map as a frame has it: runs longer than 2^15 (counts of 4 and 5 chunks),
    large negative deltas, an id filling whole columns, one touching the last pixel, one
    single pixel, absent ids; each string is pycocotools' and each area the mask's pixels."""
    rng = np.random.default_rng(3)
    ids = np.zeros((480, 640), np.uint32)
    ids[:, 100:300] = 7  # 96,000 pixels in one column-major run
    ids[200:480, 500:] = 70_000  # reaches the last pixel
    for k in range(40):  # blobs of many runs over the others
        y, x = (int(v) for v in rng.integers(0, 470, 2))
        ids[y : y + int(rng.integers(1, 60)), x : x + int(rng.integers(1, 90))] = 10 + k % 9
    ids[17, 3] = 99  # one pixel
    wanted = [0, 7, *range(10, 19), 99, 70_000, 5, 123_456]
    rles, areas = rles_and_areas(ids, wanted)
    assert list(rles) == wanted == list(areas)
    for i in wanted:
        theirs = mask_api.encode(np.asfortranarray((ids == i).astype(np.uint8)))
        assert rles[i] == {"size": [480, 640], "counts": theirs["counts"].decode("ascii")}, i
        assert areas[i] == int(np.count_nonzero(ids == i)) == int(mask_api.area(theirs)), i
    assert areas[5] == 0 and rles[5]["counts"] == rle_string([480 * 640])


def test_many_counts_strings_at_once_equal_one_by_one():
    """rle_strings of count lists end to end (lengths 1 to 40, values up to 2^40, deltas of
    either sign) equals rle_string of each list."""
    rng = np.random.default_rng(4)
    lists = [rng.integers(0, 2 ** int(rng.integers(1, 41)), int(rng.integers(1, 41))).tolist() for _ in range(300)]
    lists += [[0], [5], [0, 1], [1 << 40, 0, 1 << 40, 0]]
    flat = np.array([x for c in lists for x in c], dtype=np.int64)
    assert rle_strings(flat, [len(c) for c in lists]) == [rle_string(c) for c in lists]


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


def test_pixel_centre_polygons_fill_back_under_opencv_for_random_masks():
    """Random blobs with holes, islands in holes, one-pixel lines and diagonal touches:
    cv2.fillPoly of the per-part polygons is the mask; of the single joined polygon it is the
    mask when there is one part, else the mask plus only the joining cuts' pixels."""
    import cv2

    from sdg_addon.writers.masks import (
        mask_polygon_pixel_centres,
        mask_polygons_pixel_centres,
        signed_area,
        trace_loops,
    )

    rng = np.random.default_rng(7)
    singles = 0
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 16, 2))
        if rng.random() < 0.5:
            m = rng.random((h, w)) < rng.uniform(0.3, 0.95)
        else:
            yy, xx = np.mgrid[:h, :w]
            m = np.zeros((h, w), bool)
            for _ in range(int(rng.integers(1, 4))):
                y0, x0, r = rng.integers(0, h), rng.integers(0, w), rng.integers(1, 7)
                d2 = (yy - y0) ** 2 + (xx - x0) ** 2
                m |= d2 <= r * r
                m &= ~(d2 <= (r // 2) ** 2) if rng.random() < 0.5 else m
        if not m.any():
            continue
        filled = np.zeros((h, w), np.uint8)
        polys = [np.array(p).reshape(-1, 2).astype(np.int32) for p in mask_polygons_pixel_centres(m)]
        cv2.fillPoly(filled, polys, 1)
        assert np.array_equal(filled.astype(bool), m)
        one = np.array(mask_polygon_pixel_centres(m)).reshape(-1, 2).astype(np.int32)
        filled = np.zeros((h, w), np.uint8)
        cv2.fillPoly(filled, [one], 1)
        filled = filled.astype(bool)
        if sum(signed_area(loop) > 0 for loop in trace_loops(m)) == 1:
            singles += 1
            assert np.array_equal(filled, m)
        else:
            assert np.all(filled[m])
    assert singles > 50


def thin_masks() -> dict[str, np.ndarray]:
    """Masks one pixel wide: their pixel-centre outlines have fewer than 3 distinct vertices."""
    big_and_dot = np.zeros((8, 8), bool)
    big_and_dot[1:5, 1:6] = True
    big_and_dot[7, 7] = True
    return {
        "1x1": np.ones((1, 1), bool),
        "1x2 horizontal": np.ones((1, 2), bool),
        "3x1 vertical": np.ones((3, 1), bool),
        "diagonal line": np.eye(4, dtype=bool),  # 4 parts of one pixel (4-connectivity)
        "block and a dot": big_and_dot,
    }


@pytest.mark.parametrize("name", list(thin_masks()))
def test_pixel_centre_polygons_of_thin_masks_have_three_vertices_and_fill_back(name):
    """Every polygon has at least 3 vertices: with fewer, pycocotools reads 4 numbers as a
    box, Ultralytics reads a 5-field line as a detection and drops a 3-field one, detectron2
    drops the polygon. The padding must not change what cv2.fillPoly fills."""
    import cv2

    from sdg_addon.writers.masks import mask_polygon_pixel_centres, mask_polygons_pixel_centres

    m = thin_masks()[name]
    h, w = m.shape
    parts = mask_polygons_pixel_centres(m, offset=(2, 3))
    one = mask_polygon_pixel_centres(m, offset=(2, 3))
    assert parts and all(len(p) >= 6 for p in parts) and len(one) >= 6
    for polys in (parts, [one]):
        filled = np.zeros((h + 3, w + 2), np.uint8)
        for p in polys:
            cv2.fillPoly(filled, [np.array(p).reshape(-1, 2).astype(np.int32)], 1)
        if len(polys) == len(parts):  # per part: exact
            assert np.array_equal(filled[3:, 2:].astype(bool), m) and not filled[:3].any() and not filled[:, :2].any()
        else:  # joined: every pixel, plus the cuts between parts when there are several
            assert np.all(filled[3:, 2:][m])
            if len(parts) == 1:
                assert np.array_equal(filled[3:, 2:].astype(bool), m)
    # pycocotools takes them as polygons, not boxes (it shrinks opencv-convention polygons,
    # so only decoding is checked here); corner-convention polygons are never that short.
    for p in parts:
        decoded = mask_api.decode(mask_api.frPyObjects([p], h + 3, w + 2))
        assert decoded.shape == (h + 3, w + 2, 1)
    assert all(len(p) >= 8 for p in mask_polygons(m)) and len(mask_polygon(m)) >= 8
