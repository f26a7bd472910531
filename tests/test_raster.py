"""Tests of sdg_addon.annotators.raster against brute-force references (pure numpy)."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

from sdg_addon.annotators import raster
from sdg_addon.annotators.raster import (
    Coverage,
    clip_triangles,
    half_edge_twins,
    is_closed_surface,
    rasterize,
    rasterize_chains,
    silhouette,
    silhouette_extent,
    triangle_chain,
)
from sdg_addon.frame import Camera

# ---------------------------------------------------------------------------------------
# References


def _ref_inside(tri, px, py):
    """Point-in-triangle test with the tie rule (left and bottom edges own their centres:
    a centre nudged right, then up), written independently of the implementation.

    Works on Python numbers (Fractions give exact answers) or numpy arrays of centres.
    """
    (x0, y0), (x1, y1), (x2, y2) = tri
    area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    if area == 0:
        return np.zeros(np.shape(px), dtype=bool) if isinstance(px, np.ndarray) else False
    verts = [(x0, y0), (x1, y1), (x2, y2)] if area > 0 else [(x0, y0), (x2, y2), (x1, y1)]
    inside = True
    for k in range(3):
        (ax, ay), (bx, by) = verts[k], verts[(k + 1) % 3]
        dx, dy = bx - ax, by - ay
        e = dx * (py - ay) - dy * (px - ax)  # > 0 inside (y down, positive area)
        owns = dy < 0 or (dy == 0 and dx < 0)  # a left edge, or a bottom edge
        inside = inside & ((e > 0) | ((e == 0) & owns))
    return inside


def ref_rasterize_exact(tris, width, height):
    """Loop over every pixel centre of every triangle in exact rational arithmetic."""
    mask = np.zeros((height, width), dtype=bool)
    for tri in np.asarray(tris, dtype=np.float64).reshape(-1, 3, 2):
        if not np.isfinite(tri).all():
            continue
        q = [(Fraction(float(x)), Fraction(float(y))) for x, y in tri]
        for i in range(height):
            for j in range(width):
                if _ref_inside(q, Fraction(2 * j + 1, 2), Fraction(2 * i + 1, 2)):
                    mask[i, j] = True
    return mask


def ref_rasterize(tris, width, height):
    """Every pixel centre against every triangle, in float64 (numpy over the pixels)."""
    py, px = np.mgrid[0:height, 0:width] + 0.5
    mask = np.zeros((height, width), dtype=bool)
    for tri in np.asarray(tris, dtype=np.float64).reshape(-1, 3, 2):
        if np.isfinite(tri).all():
            mask |= _ref_inside([tuple(v) for v in tri], px, py)
    return mask


def min_edge_distance(tris, width, height):
    """Smallest distance from any pixel centre to any triangle edge's line."""
    py, px = np.mgrid[0:height, 0:width] + 0.5
    best = np.inf
    for tri in np.asarray(tris, dtype=np.float64).reshape(-1, 3, 2):
        for k in range(3):
            (ax, ay), (bx, by) = tri[k], tri[(k + 1) % 3]
            cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
            best = min(best, np.abs(cross).min() / np.hypot(bx - ax, by - ay))
    return best


def rect_mask(width, height, x0, x1, y0, y1):
    """Centres with x0 <= x < x1 and y0 < y <= y1 (the tie rule for a rectangle, y down)."""
    py, px = np.mgrid[0:height, 0:width] + 0.5
    return (px >= x0) & (px < x1) & (py > y0) & (py <= y1)


def square(x0, x1, y0, y1, diagonal=0, flip=False):
    """Two triangles of a rectangle, split along either diagonal, in either winding."""
    a, b, c, d = (x0, y0), (x1, y0), (x1, y1), (x0, y1)
    tris = [(a, b, c), (a, c, d)] if diagonal == 0 else [(a, b, d), (b, c, d)]
    tris = np.array(tris, dtype=np.float64)
    return tris[:, ::-1] if flip else tris


def coverage_count(tris, width, height):
    """How many triangles cover each pixel centre (one rasterize call per triangle)."""
    return sum(rasterize(t[None], width, height).astype(int) for t in tris)


def make_camera(width=64, height=48, projection="perspective", camera_to_world=None, f=50.0):
    return Camera(
        name="cam",
        width=width,
        height=height,
        projection=projection,
        camera_to_world=np.eye(4) if camera_to_world is None else camera_to_world,
        fx=f,
        fy=f,
        cx=width / 2,
        cy=height / 2,
        clip_start=0.1,
        clip_end=100.0,
    )


def rot_x(deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    m = np.eye(4)
    m[1:3, 1:3] = [[c, -s], [s, c]]
    return m


def ray_reference(camera, p0, e1, e2):
    """Pixel centres whose camera ray hits the parallelogram p0 + a e1 + b e2 (camera space)
    at a depth >= clip_start. Also returns the smallest margin to any boundary, so that a
    test can make sure no centre is so close to a boundary that rounding decides it."""
    origin, direction = camera.pixel_rays()
    h, w = origin.shape[:2]
    m = np.zeros((h, w, 3, 3))
    m[..., :, 0], m[..., :, 1], m[..., :, 2] = e1, e2, -direction
    rhs = origin - np.asarray(p0, dtype=np.float64)
    with np.errstate(all="ignore"):
        sol = np.linalg.solve(m.reshape(-1, 3, 3), rhs.reshape(-1, 3, 1)).reshape(h, w, 3)
    a, b, t = sol[..., 0], sol[..., 1], sol[..., 2]
    depth = -(origin[..., 2] + t * direction[..., 2])
    hit = (a >= 0) & (a <= 1) & (b >= 0) & (b <= 1) & (depth >= camera.clip_start) & (t > 0)
    margin = np.min(np.abs(np.stack([a, a - 1, b, b - 1, (depth - camera.clip_start) / camera.clip_start])))
    return hit, margin


def parallelogram_triangles(p0, e1, e2):
    p0, e1, e2 = (np.asarray(v, dtype=np.float64) for v in (p0, e1, e2))
    a, b, c, d = p0, p0 + e1, p0 + e1 + e2, p0 + e2
    return np.array([[a, b, c], [a, c, d]])


def to_world(camera, tris_cam):
    m = camera.camera_to_world
    return tris_cam @ m[:3, :3].T + m[:3, 3]


# ---------------------------------------------------------------------------------------
# rasterize: hand-made cases


def test_right_triangle_with_edges_through_centres():
    # Legs on the centre lines x = 0.5 (left edge: included) and y = 0.5 (top edge:
    # excluded). Hypotenuse x + y = 5 through centres (a bottom-right edge): excluded.
    tri = np.array([[[0.5, 0.5], [4.5, 0.5], [0.5, 4.5]]])
    expected = np.zeros((6, 6), dtype=bool)
    for i in range(6):
        for j in range(6):
            expected[i, j] = 1 <= i and i + j <= 3
    assert expected.sum() == 6
    for t in (tri, tri[:, ::-1], np.roll(tri, 1, axis=1)):
        np.testing.assert_array_equal(rasterize(t, 6, 6), expected)
    np.testing.assert_array_equal(ref_rasterize_exact(tri, 6, 6), expected)


def test_square_with_edges_between_centres():
    expected = np.zeros((5, 7), dtype=bool)
    expected[1:3, 1:5] = True  # centres x in {1.5 .. 4.5}, y in {1.5, 2.5}
    for diagonal in (0, 1):
        for flip in (False, True):
            tris = square(1.2, 4.7, 0.9, 3.1, diagonal, flip)
            np.testing.assert_array_equal(rasterize(tris, 7, 5), expected)
            np.testing.assert_array_equal(coverage_count(tris, 7, 5), expected.astype(int))


def test_square_with_edges_through_centres_left_and_bottom_win():
    # [1.5, 4.5] x [0.5, 3.5]: centres on the left (x = 1.5) and bottom (y = 3.5) sides are
    # in, those on the right (x = 4.5) and top (y = 0.5) sides are out, as Cycles samples
    # them (a hair right of and above the centre). The diagonal passes through centres
    # too; each of them is covered by exactly one of the two triangles.
    expected = np.zeros((5, 7), dtype=bool)
    expected[1:4, 1:4] = True
    np.testing.assert_array_equal(expected, rect_mask(7, 5, 1.5, 4.5, 0.5, 3.5))
    for diagonal in (0, 1):
        for flip in (False, True):
            tris = square(1.5, 4.5, 0.5, 3.5, diagonal, flip)
            np.testing.assert_array_equal(rasterize(tris, 7, 5), expected)
            np.testing.assert_array_equal(coverage_count(tris, 7, 5), expected.astype(int))
            np.testing.assert_array_equal(ref_rasterize_exact(tris, 7, 5), expected)


def test_shared_diagonal_goes_to_the_triangle_on_its_right():
    # Diagonal from (1.5, 0.5) to (4.5, 3.5) through centres (2.5, 1.5) and (3.5, 2.5).
    lower_left = np.array([[[1.5, 0.5], [4.5, 3.5], [1.5, 3.5]]])
    upper_right = np.array([[[1.5, 0.5], [4.5, 0.5], [4.5, 3.5]]])
    assert rasterize(upper_right, 7, 5)[1, 2] and rasterize(upper_right, 7, 5)[2, 3]
    assert not rasterize(lower_left, 7, 5)[1, 2] and not rasterize(lower_left, 7, 5)[2, 3]


def test_horizontal_shared_edge_goes_to_the_triangle_above():
    above = np.array([[[0.0, 0.0], [6.0, 0.0], [6.0, 2.5]], [[0.0, 0.0], [6.0, 2.5], [0.0, 2.5]]])
    below = np.array([[[0.0, 2.5], [6.0, 2.5], [3.0, 5.0]]])
    np.testing.assert_array_equal(rasterize(above, 6, 5)[2], [True] * 6)  # the row of centres y = 2.5
    assert not rasterize(below, 6, 5)[2].any()


def test_fan_around_a_vertex_on_a_pixel_centre_covers_it_once():
    centre = np.array([5.5, 5.5])
    ang = np.radians(np.arange(0, 360, 45) + 10)
    ring = np.round((centre + 4 * np.stack([np.cos(ang), np.sin(ang)], -1)) * 4) / 4
    fan = np.stack([np.broadcast_to(centre, (8, 2)), ring, np.roll(ring, -1, axis=0)], axis=1)
    count = coverage_count(fan, 11, 11)
    assert count[5, 5] == 1
    assert count.max() == 1
    np.testing.assert_array_equal(rasterize(fan, 11, 11), ref_rasterize_exact(fan, 11, 11))


def test_jittered_mesh_has_no_gaps_and_no_double_coverage():
    # A grid of quads over [2.5, 34.5] x [1.5, 27.5] (sides through centres), interior vertices
    # jittered on a quarter-pixel lattice so that many edges and vertices hit centres exactly.
    rng = np.random.default_rng(1)
    nx, ny = 8, 6
    gx, gy = np.meshgrid(np.linspace(2.5, 34.5, nx + 1), np.linspace(1.5, 27.5, ny + 1))
    verts = np.stack([gx, gy], -1)
    verts[1:-1, 1:-1] += rng.integers(-4, 5, size=(ny - 1, nx - 1, 2)) / 4
    tris = []
    for i in range(ny):
        for j in range(nx):
            a, b, c, d = verts[i, j], verts[i, j + 1], verts[i + 1, j + 1], verts[i + 1, j]
            quad = [(a, b, c), (a, c, d)] if (i + j) % 2 else [(a, b, d), (b, c, d)]
            tris += quad if rng.random() < 0.5 else [t[::-1] for t in quad]
    tris = np.array(tris)
    expected = rect_mask(40, 30, 2.5, 34.5, 1.5, 27.5)
    np.testing.assert_array_equal(coverage_count(tris, 40, 30), expected.astype(int))
    np.testing.assert_array_equal(rasterize(tris, 40, 30), expected)


# ---------------------------------------------------------------------------------------
# rasterize: random soups against the brute-force references


def random_soup(rng, n, width, height, lattice=None, max_size=12.0):
    centres = rng.uniform([-8, -8], [width + 8, height + 8], size=(n, 1, 2))
    sizes = np.exp(rng.uniform(np.log(0.3), np.log(max_size), size=(n, 1, 1)))
    tris = centres + sizes * rng.uniform(-1, 1, size=(n, 3, 2))
    if lattice:
        tris = np.round(tris * lattice) / lattice
    tris[:10, 2] = tris[:10, 0]  # a few degenerate triangles (repeated vertex)
    tris[10:20, 2] = (tris[10:20, 0] + tris[10:20, 1]) / 2  # and collinear ones
    return tris


def test_random_soup_matches_brute_force():
    rng = np.random.default_rng(2)
    tris = random_soup(rng, 500, 40, 30)
    got = rasterize(tris, 40, 30)
    np.testing.assert_array_equal(got, ref_rasterize(tris, 40, 30))
    assert 0.2 < got.mean() < 0.95  # the test is not vacuous
    for t in tris[:100]:
        np.testing.assert_array_equal(rasterize(t[None], 40, 30), ref_rasterize(t[None], 40, 30))


def test_random_soup_on_a_quarter_pixel_lattice_matches_brute_force():
    # Every coordinate is a multiple of 1/4, so many edges and vertices fall exactly on
    # pixel centres and float arithmetic is exact: the tie rule is compared exactly.
    rng = np.random.default_rng(3)
    tris = random_soup(rng, 500, 40, 30, lattice=4)
    got = rasterize(tris, 40, 30)
    np.testing.assert_array_equal(got, ref_rasterize(tris, 40, 30))
    assert 0.2 < got.mean() < 0.95
    for t in tris[:100]:  # one at a time, where ties decide single pixels
        np.testing.assert_array_equal(rasterize(t[None], 40, 30), ref_rasterize(t[None], 40, 30))


def test_large_triangles_match_brute_force():
    # Bounding boxes above 4 x 4 pixels take the span-by-span path.
    rng = np.random.default_rng(4)
    tris = rng.uniform([-60, -60], [260, 210], size=(12, 3, 2))
    tris = np.concatenate([tris, random_soup(rng, 200, 200, 150, lattice=2, max_size=40.0)])
    for i in range(12):
        t = tris[i : i + 1]
        np.testing.assert_array_equal(rasterize(t, 200, 150), ref_rasterize(t, 200, 150))
    np.testing.assert_array_equal(rasterize(tris, 200, 150), ref_rasterize(tris, 200, 150))


@pytest.mark.parametrize("lattice", [None, 2, 4])
def test_spans_in_small_groups_and_passes_give_the_same_masks(monkeypatch, lattice):
    """The span path cut into groups of a few (triangle, row) pairs and a few pixels per
    marking pass (the bounds on its temporaries) gives the masks of one pass, and both
    match brute force, with vertices on a lattice (ties) or not."""
    from sdg_addon.annotators import raster

    rng = np.random.default_rng(11)
    sets = [random_soup(rng, 60, 90, 70, lattice=lattice, max_size=35.0) for _ in range(3)]
    whole = [rasterize(tris, 90, 70) for tris in sets]
    monkeypatch.setattr(raster, "_SPAN_ROWS", 7)
    monkeypatch.setattr(raster, "_CHUNK", 50)
    for mask, tris in zip(whole, sets):
        assert np.array_equal(rasterize(tris, 90, 70), mask)
        np.testing.assert_array_equal(mask, ref_rasterize(tris, 90, 70))


def test_triangle_covering_the_whole_image():
    tri = np.array([[[-1000.0, -1000.0], [5000.0, -10.0], [-10.0, 5000.0]]])
    assert rasterize(tri, 37, 23).all()


def test_off_screen_and_empty_inputs():
    w, h = 20, 10
    off = np.array(
        [
            [[-5, 2], [-1, 3], [-3, 8]],  # left
            [[21, 2], [30, 3], [25, 8]],  # right
            [[2, -9], [12, -1], [5, -4]],  # above
            [[2, 10.5], [12, 11], [5, 40]],  # below (the last row's centres are at y = 9.5)
            [[-10, 9.5], [30, 9.5], [10, 15]],  # top edge on the last row of centres: excluded
            [[3.6, 1], [4.4, 1], [4, 9]],  # overlaps the image but holds no centre
        ],
        dtype=np.float64,
    )
    for t in off:
        assert not rasterize(t[None], w, h).any()
    assert not rasterize(off, w, h).any()
    assert rasterize(np.zeros((0, 3, 2)), w, h).shape == (h, w)
    assert not rasterize(np.zeros((0, 3, 2)), w, h).any()


def test_degenerate_and_non_finite_triangles_cover_nothing():
    w, h = 12, 8
    tris = np.array(
        [
            [[0.5, 0.5], [10.5, 5.5], [4.5, 2.5]],  # collinear, through centres
            [[2.5, 2.5], [2.5, 2.5], [8.0, 6.0]],  # repeated vertex
            [[3.5, 3.5], [3.5, 3.5], [3.5, 3.5]],  # a point on a centre
            [[1.5, 0.0], [1.5, 8.0], [1.5, 4.0]],  # vertical segment through centres
            [[np.nan, 1], [5, 5], [1, 5]],
            [[np.inf, 1], [5, 5], [1, 5]],
            [[np.inf, 1], [-np.inf, 5], [1, 5]],
            [[1e300, 1], [-1e300, 5], [1, 1e300]],  # overflows the edge functions: dropped
        ]
    )
    assert not rasterize(tris, w, h).any()
    good = np.array([[[1, 1], [5, 1], [1, 5]]], dtype=np.float64)
    np.testing.assert_array_equal(rasterize(np.concatenate([tris, good]), w, h), ref_rasterize(good, w, h))


# ---------------------------------------------------------------------------------------
# silhouette


def test_perspective_quad_facing_the_camera():
    cam = make_camera()
    # At depth 5 with f = 50: x in [-1, 1] -> u in [22, 42], y in [-0.5, 0.5] -> v in [19, 29].
    quad = parallelogram_triangles([-1, -0.5, -5], [2, 0, 0], [0, 1, 0])
    expected = rect_mask(64, 48, 22, 42, 19, 29)
    np.testing.assert_array_equal(silhouette(cam, quad), expected)
    assert silhouette_extent(expected) == (22, 19, 41, 28)


def test_perspective_with_a_rotated_and_moved_camera():
    c2w = rot_x(90.0)  # looks along world +Y, up is world +Z
    c2w[:3, 3] = [1.0, -3.0, 2.0]
    cam = make_camera(camera_to_world=c2w)
    quad_cam = parallelogram_triangles([-1.3, -0.45, -5.2], [2.1, 0.3, 0.1], [0.2, 1.1, -0.4])
    hit, margin = ray_reference(cam, [-1.3, -0.45, -5.2], [2.1, 0.3, 0.1], [0.2, 1.1, -0.4])
    assert margin > 1e-6 and hit.sum() > 100
    np.testing.assert_array_equal(silhouette(cam, to_world(cam, quad_cam)), hit)


def test_near_plane_clipping_of_a_floor_crossing_the_camera_plane():
    # A floor at y = -0.3 from 8 m in front of the camera to 3 m behind it. With clip_start
    # = 1 the near plane cuts it at depth 1, i.e. at v = 24 + 50 * 0.3 / 1 = 39 (a row
    # boundary); the far side ends at v = 24 + 15 / 8. Both triangles cross the plane, one
    # with one vertex in front, the other with two.
    c2w = np.eye(4)
    c2w[:3, 3] = [0.5, 1.0, -2.0]
    cam = make_camera(camera_to_world=c2w)
    cam.clip_start = 1.0
    p0, e1, e2 = [-2.0, -0.3, 3.0], [4.0, 0.0, 0.0], [0.0, 0.0, -11.0]
    floor = parallelogram_triangles(p0, e1, e2)
    hit, margin = ray_reference(cam, p0, e1, e2)
    assert margin > 1e-6
    rows = np.flatnonzero(hit.any(axis=1))
    assert rows.min() == 26 and rows.max() == 38  # the near plane really cuts it
    np.testing.assert_array_equal(silhouette(cam, to_world(cam, floor)), hit)
    # Either vertex order, and split along the other diagonal.
    p = floor[0, 0], floor[0, 1], floor[0, 2], floor[1, 2]
    other = np.array([[p[0], p[1], p[3]], [p[1], p[2], p[3]]])[:, ::-1]
    np.testing.assert_array_equal(silhouette(cam, to_world(cam, other)), hit)


def test_triangles_behind_the_camera_or_before_the_near_plane_are_dropped():
    cam = make_camera()
    behind = np.array([[[-1, -1, 2], [1, -1, 2], [0, 1, 2]]], dtype=np.float64)
    too_near = np.array([[[-1, -1, -0.05], [1, -1, -0.05], [0, 1, -0.09]]])
    for tris in (behind, too_near):
        assert not silhouette(cam, tris).any()
        assert not silhouette(make_camera(projection="orthographic"), tris).any()
    assert not silhouette(cam, np.zeros((0, 3, 3))).any()


def test_orthographic_camera():
    c2w = rot_x(90.0)
    c2w[:3, 3] = [0.0, -10.0, 0.0]
    cam = make_camera(width=40, height=30, projection="orthographic", camera_to_world=c2w, f=4.0)
    # Camera space x -> u = 20 + 4 x, y -> v = 15 - 4 y, whatever the depth (no division).
    tri_cam = np.array([[[-3.1, -2.2, -4.0], [2.63, -1.3, -30.0], [0.4, 3.05, -7.5]]])
    tri_px = np.stack([20 + 4 * tri_cam[..., 0], 15 - 4 * tri_cam[..., 1]], -1)
    assert min_edge_distance(tri_px, 40, 30) > 1e-6  # no centre is left to rounding
    expected = ref_rasterize(tri_px, 40, 30)
    assert expected.sum() > 50
    np.testing.assert_array_equal(silhouette(cam, to_world(cam, tri_cam)), expected)
    # Moving the triangle along the view axis does not change an orthographic silhouette.
    shifted = tri_cam + [0.0, 0.0, -20.0]
    np.testing.assert_array_equal(silhouette(cam, to_world(cam, shifted)), expected)


def test_orthographic_near_plane_clipping():
    # A plane rising with depth, y = 0.2 depth - 1, from 2 m behind the camera to 8 m in
    # front: rays start at the near plane, so only depths in [clip_start, 8] are seen.
    cam = make_camera(width=40, height=30, projection="orthographic", f=4.0)
    cam.clip_start = 0.5
    p0, e1, e2 = [-2.0, -1.4, 2.0], [4.0, 0.0, 0.0], [0.0, 2.0, -10.0]
    hit, margin = ray_reference(cam, p0, e1, e2)
    assert margin > 1e-6
    assert hit.any() and not hit[int(15 - 4 * (0.2 * 0.5 - 1)) + 1 :].any()
    np.testing.assert_array_equal(silhouette(cam, parallelogram_triangles(p0, e1, e2)), hit)


def test_far_plane_clipping_is_optional():
    cam = make_camera()
    cam.clip_end = 5.0
    p0, e1, e2 = [-1.0, -0.3, -2.0], [2.0, 0.0, 0.0], [0.0, 0.0, -10.0]
    floor = parallelogram_triangles(p0, e1, e2)
    full = silhouette(cam, floor)
    clipped = silhouette(cam, floor, clip_far=True)
    # The floor's far end is at depth 12 (v = 24 + 15 / 12 = 25.25); clip_end = 5 moves it
    # to v = 24 + 15 / 5 = 27, a row boundary.
    assert np.flatnonzero(full.any(axis=1)).min() == 25
    assert np.flatnonzero(clipped.any(axis=1)).min() == 27
    assert not (clipped & ~full).any()


def test_clip_triangles_cases_preserve_area():
    tri = np.array([[[0.0, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0]]])

    def area(t):
        return 0.5 * np.abs(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])[:, 2]).sum()

    # Keep x <= 1 (two vertices out), keep x >= 1 (one vertex out), all in, all out.
    assert area(clip_triangles(tri, 1 - tri[..., 0])) == pytest.approx(8 - 0.5 * 3 * 3)
    assert area(clip_triangles(tri, tri[..., 0] - 1)) == pytest.approx(0.5 * 3 * 3)
    assert clip_triangles(tri, 1 - tri[..., 0]).shape == (2, 3, 3)
    assert clip_triangles(tri, tri[..., 0] - 1).shape == (1, 3, 3)
    assert clip_triangles(tri, 10 - tri[..., 0]).shape == (1, 3, 3)
    assert clip_triangles(tri, tri[..., 0] - 10).shape == (0, 3, 3)


def test_silhouette_extent():
    mask = np.zeros((10, 12), dtype=bool)
    assert silhouette_extent(mask) is None
    mask[3, 7] = True
    assert silhouette_extent(mask) == (7, 3, 7, 3)
    mask[8, 2] = True
    assert silhouette_extent(mask) == (2, 3, 7, 8)


# ---------------------------------------------------------------------------------------
# closed surfaces: one winding's triangles give the same silhouette


def cube_faces():
    """(12, 3) vertex indices of a unit cube, outward winding, and its (8, 3) vertices."""
    verts = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=np.float64)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return np.array(faces), verts


def uv_sphere(rings=9, segments=14):
    """A closed UV sphere (poles shared), consistent winding: (F, 3) faces, (V, 3) vertices."""
    verts = [[0.0, 0.0, 1.0]]
    for i in range(1, rings):
        th = np.pi * i / rings
        verts += [
            [np.sin(th) * np.cos(p), np.sin(th) * np.sin(p), np.cos(th)]
            for p in np.arange(segments) * 2 * np.pi / segments
        ]
    verts.append([0.0, 0.0, -1.0])
    south = len(verts) - 1

    def ring(i, j):
        return 1 + (i - 1) * segments + j % segments

    faces = [(0, ring(1, j), ring(1, j + 1)) for j in range(segments)]
    for i in range(1, rings - 1):
        for j in range(segments):
            a, b, c, d = ring(i, j), ring(i + 1, j), ring(i + 1, j + 1), ring(i, j + 1)
            faces += [(a, b, c), (a, c, d)]
    faces += [(south, ring(rings - 1, j + 1), ring(rings - 1, j)) for j in range(segments)]
    return np.array(faces), np.array(verts)


def test_closed_surfaces_are_told_from_open_ones():
    faces, _ = cube_faces()
    assert is_closed_surface(faces)
    assert is_closed_surface(uv_sphere()[0])
    assert is_closed_surface(np.concatenate([faces, faces + 8]))  # two cubes
    assert not is_closed_surface(faces[:-2])  # a face missing: open box
    flipped = faces.copy()
    flipped[0] = flipped[0, ::-1]  # one triangle wound the other way
    assert not is_closed_surface(flipped)
    assert not is_closed_surface(np.concatenate([faces, faces[:2]]))  # a face twice
    assert not is_closed_surface(np.array([[0, 1, 2], [0, 2, 3]]))  # a plane
    assert not is_closed_surface(np.zeros((0, 3)))
    assert not is_closed_surface(np.concatenate([faces, [[0, 0, 1]]]))  # degenerate index triangle


def one_object_frame(camera, triangles, closed):
    from sdg_addon.frame import FrameData, LabelTable, SceneObject

    obj = SceneObject(1, "o", "/o", {"class": ["o"]}, np.eye(4), np.zeros(3), np.ones(3), triangles, closed=closed)
    return FrameData(0, camera, {}, {1: obj}, LabelTable({}))


def silhouettes_both_ways(camera, triangles):
    """Silhouette as a closed surface and as an open one; whether the first used fewer triangles."""
    from sdg_addon.annotators.silhouettes import full_silhouette, projected_triangles, silhouette_triangles

    culled = one_object_frame(camera, triangles, closed=True)
    every = one_object_frame(camera, triangles, closed=False)
    fewer = len(silhouette_triangles(culled, 1)) < len(projected_triangles(every, 1))
    return full_silhouette(culled, 1), full_silhouette(every, 1), fewer


@pytest.mark.parametrize("shape", ["cube", "sphere"])
def test_one_winding_of_a_closed_surface_gives_the_same_silhouette(shape):
    """Random poses of a closed cube / sphere in front of perspective and orthographic
    cameras: the silhouette from one winding's triangles is bitwise the one from all."""
    faces, verts = cube_faces() if shape == "cube" else uv_sphere()
    rng = np.random.default_rng(7)
    fewer = 0
    for k in range(40):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        for flip in (False, True):  # a mirrored object winds the other way
            m = q * (-1 if flip else 1)
            world = verts @ m.T * rng.uniform(0.3, 1.5) + [
                rng.uniform(-0.6, 0.6),
                rng.uniform(-0.5, 0.5),
                -rng.uniform(3, 6),  # wholly beyond the near plane
            ]
            projection = "orthographic" if k % 4 == 0 else "perspective"
            camera = make_camera(projection=projection, f=50.0 if projection == "perspective" else 20.0)
            culled, every, used_fewer = silhouettes_both_ways(camera, world[faces])
            assert culled.any() and np.array_equal(culled, every), (shape, k, flip)
            fewer += used_fewer
    assert fewer == 80  # the fast path was taken every time


def test_cube_with_edges_and_corners_on_pixel_centres_keeps_its_ties():
    """Orthographic, axis-aligned: the front face's edges and corners fall exactly on pixel
    centres, where only the tie rule decides; one winding still gives the same pixels."""
    faces, verts = cube_faces()
    camera = make_camera(projection="orthographic", f=1.0)  # 1 pixel per metre
    for offset in ([-10.5, -8.5, -5.0], [-10.0, -8.0, -5.0], [-3.5, 2.5, -9.0]):
        world = verts * [7.0, 5.0, 3.0] + offset
        culled, every, used_fewer = silhouettes_both_ways(camera, world[faces])
        assert culled.sum() > 0 and np.array_equal(culled, every) and used_fewer, offset


def test_a_closed_surface_cut_by_the_near_plane_uses_every_triangle():
    """A cube around the camera (it is inside): every triangle is needed; culling would
    keep only the faces wound towards the camera and lose the rest."""
    faces, verts = cube_faces()
    camera = make_camera()
    world = (verts - 0.5) * 4.0
    culled, every, used_fewer = silhouettes_both_ways(camera, world[faces])
    assert np.array_equal(culled, every) and every.all() and not used_fewer


def test_truncation_of_a_closed_surface_from_one_winding_is_the_same():
    """Cubes and spheres crossing the image border (some far outside it, so the extended
    canvas is rasterized at a reduced scale): the truncation ratio from one winding's
    triangles equals the one from all of them, exactly."""
    from sdg_addon.annotators.silhouettes import truncation_ratio

    rng = np.random.default_rng(3)
    partial = 0
    for faces, verts in (cube_faces(), uv_sphere()):
        for k in range(12):
            q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            x = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 4.0)  # across the left or right border
            world = verts @ q.T * rng.uniform(0.5, 2.0) + [x, rng.uniform(-0.5, 0.5), -4.0]
            camera = make_camera()
            ratios = [truncation_ratio(one_object_frame(camera, world[faces], closed), 1) for closed in (True, False)]
            assert ratios[0] == ratios[1], (k, ratios)
            partial += 0.0 < ratios[1] < 1.0
    assert partial >= 16  # most cases really cross the border


@pytest.mark.parametrize("budget", [None, 900])
def test_truncation_from_the_edge_chain_counts_what_the_triangles_cover(monkeypatch, budget):
    """Cubes and spheres across the border: the outside count from the silhouette's edge
    chain on the extended canvas is exactly the one from rasterizing the triangles there,
    at scale 1 and on canvases reduced to a 900-pixel budget."""
    from sdg_addon.annotators import silhouettes as sil

    if budget is not None:
        monkeypatch.setattr(sil, "_CANVAS_FACTOR", 0)
        monkeypatch.setattr(sil, "_CANVAS_MIN", budget)
    rng = np.random.default_rng(11)
    partial = scaled = 0
    for faces, verts in (cube_faces(), uv_sphere()):
        for k in range(10):
            q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            x = rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 4.0)
            world = verts @ q.T * rng.uniform(0.5, 2.0) + [x, rng.uniform(-1.5, 1.5), -4.0]
            for closed in (True, False):
                frame = one_object_frame(make_camera(), world[faces], closed)
                ratio = sil.truncation_ratio(frame, 1)
                assert "chains" in frame.cache and 1 in frame.cache["chains"]  # the chain path was taken
                px = sil.silhouette_triangles(frame, 1)
                lo, hi = px.reshape(-1, 2).min(axis=0), px.reshape(-1, 2).max(axis=0)
                if not 0.0 < ratio < 1.0:
                    continue
                canvas = sil._Canvas(lo, hi, 64, 48)
                outside = canvas.outside_of_triangles(px)
                inside = sil.silhouette_pixels(frame, 1)
                assert ratio == float(min(1.0, max(0.0, outside / (inside + outside)))), (k, closed)
                partial += 1
                scaled += canvas.scale < 1.0
    assert partial >= 24 and (budget is None) == (scaled == 0)


# ---------------------------------------------------------------------------------------
# edge chains: silhouettes from a mesh's boundary, the same pixels as its triangles


def chain_mask(chain, w=64, h=48):
    return rasterize_chains([chain], w, h)[0].full(w, h)


def chain_soup(rng, kind, n):
    if kind == "float":
        return rng.uniform(-10.0, 74.0, size=(n, 3, 2))
    if kind == "centres":  # vertices on pixel centres: edges through centres, ties everywhere
        return rng.integers(-5, 70, size=(n, 3, 2)) + 0.5
    return rng.integers(-10, 140, size=(n, 3, 2)) / 2.0  # corners and centres alike


@pytest.mark.parametrize("kind", ["float", "centres", "lattice"])
def test_the_edge_chain_of_a_triangle_soup_covers_what_its_triangles_cover(kind):
    """Random soups (both windings, overlaps, slivers, repeated vertices, reaching past the
    border): the running sum over edge crossings gives bitwise rasterize()'s pixels."""
    rng = np.random.default_rng({"float": 1, "centres": 2, "lattice": 3}[kind])
    for trial in range(100):
        tri = chain_soup(rng, kind, int(rng.integers(1, 30)))
        tri[:3, 2] = tri[:3, 0]  # a few without area
        assert np.array_equal(chain_mask(triangle_chain(tri)), rasterize(tri, 64, 48)), (kind, trial)


def test_half_edge_twins_pair_each_edge_with_its_reverse_only():
    faces, _ = cube_faces()
    twins = half_edge_twins(faces)
    assert (twins >= 0).all() and np.array_equal(twins[twins], np.arange(36))
    a, b = faces.ravel(), faces[:, [1, 2, 0]].ravel()
    assert np.array_equal(a[twins], b) and np.array_equal(b[twins], a)
    # An open box: the half-edges around the hole have no twin, every other one has.
    open_box = half_edge_twins(faces[:-2])
    border = {(x, y) for x, y in zip(a[:30], b[:30]) if (y, x) not in set(zip(a[:30], b[:30]))}
    assert {(a[h], b[h]) for h in np.flatnonzero(open_box < 0)} == border and len(border) == 4
    # A face twice: its edges are used twice in one direction, never cancelled.
    doubled = half_edge_twins(np.concatenate([faces, faces[:1]]))
    assert (doubled[[0, 1, 2, 36, 37, 38]] == -1).all()
    assert half_edge_twins(np.zeros((0, 3))).size == 0


def mesh_object_frame(camera, verts, faces, closed, twins=True):
    from sdg_addon.frame import FrameData, LabelTable, SceneObject

    obj = SceneObject(1, "o", "/o", {"class": ["o"]}, np.eye(4), np.zeros(3), np.ones(3), closed=closed)
    obj.vertices, obj.faces = verts, faces
    obj.twins = half_edge_twins(faces) if twins else None
    return FrameData(0, camera, {}, {1: obj}, LabelTable({}))


@pytest.mark.parametrize("shape", ["cube", "sphere", "grid"])
def test_mesh_silhouettes_from_their_boundary_are_their_triangles_pixels(shape):
    """Meshes with shared vertices, random poses, perspective and orthographic, mirrored:
    the silhouette from the boundary chain (closed: front faces, shared edges cancelled;
    the open grid: both windings) is bitwise the rasterized triangles', and the chain is
    much shorter than the triangles' edges."""
    from sdg_addon.annotators.silhouettes import _mesh_chains, full_silhouette

    if shape == "grid":  # an open, wavy 8 x 8 quad sheet
        g = np.linspace(-1, 1, 9)
        gx, gy = np.meshgrid(g, g)
        verts = np.stack([gx.ravel(), gy.ravel(), 0.3 * np.sin(3 * gx.ravel()) * gy.ravel()], -1)
        q = (np.arange(8)[:, None] * 9 + np.arange(8)).ravel()
        faces = np.concatenate([np.stack([q, q + 1, q + 10], 1), np.stack([q, q + 10, q + 9], 1)])
    else:
        faces, verts = cube_faces() if shape == "cube" else uv_sphere()
    closed = shape != "grid"
    rng = np.random.default_rng(11)
    for k in range(30):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        world = verts @ (q * (-1 if k % 2 else 1)).T * rng.uniform(0.3, 1.5)
        world += [rng.uniform(-0.6, 0.6), rng.uniform(-0.5, 0.5), -rng.uniform(3, 6)]
        projection = "orthographic" if k % 4 == 0 else "perspective"
        camera = make_camera(projection=projection, f=50.0 if projection == "perspective" else 20.0)
        frame = mesh_object_frame(camera, world, faces, closed)
        expected = silhouette(camera, world[faces])
        assert expected.any() and np.array_equal(full_silhouette(frame, 1), expected), (shape, k)
        edges = len(_mesh_chains(frame, [1])[0][2])
        assert edges < (0.6 if shape == "grid" else 0.45) * 3 * len(faces), (shape, k, edges)
        # Twins left to the worker (a modified mesh): found there, the same pixels.
        bare = mesh_object_frame(camera, world, faces, closed, twins=False)
        assert np.array_equal(full_silhouette(bare, 1), expected)
        assert np.array_equal(bare.objects[1].twins, half_edge_twins(faces))


def test_a_mesh_cut_by_the_near_plane_or_far_off_uses_its_clipped_triangles():
    """A cube around the camera, and one with a vertex at 1e120 pixels: the clipped-triangle
    path, the same pixels as silhouette()."""
    from sdg_addon.annotators.silhouettes import _vertex_pixels, full_silhouette

    faces, verts = cube_faces()
    camera = make_camera()
    around = (verts - 0.5) * 4.0
    frame = mesh_object_frame(camera, around, faces, True)
    assert _vertex_pixels(frame, 1)[1] and full_silhouette(frame, 1).all()
    far = verts + [0.0, 0.0, -5.0]
    far[7] = [1e120, 0.0, -5.0]
    frame = mesh_object_frame(camera, far, faces, True)
    assert _vertex_pixels(frame, 1)[1]
    assert np.array_equal(full_silhouette(frame, 1), silhouette(camera, far[faces]))


def test_chain_groups_and_row_chunks_give_the_same_masks(monkeypatch):
    """Many chains in one call, the shared canvas split into groups of a few cells (large
    canvases into bands of rows) and the (edge, row) pairs into chunks of 7: the same masks
    as one chain per call. (Bands bound the memory of an object filling an 8K image.)"""
    rng = np.random.default_rng(5)
    chains = [triangle_chain(chain_soup(rng, "lattice", int(rng.integers(1, 12)))) for _ in range(25)]
    chains.append(triangle_chain(np.zeros((0, 3, 2))))
    expected = [chain_mask(c) for c in chains]
    monkeypatch.setattr(raster, "_CHAIN_CELLS", 200)  # also bands of 3 rows for the widest
    monkeypatch.setattr(raster, "_SPAN_ROWS", 7)
    groups = []
    real_group = raster._chain_group
    monkeypatch.setattr(raster, "_chain_group", lambda c, boxes, b: groups.append(boxes) or real_group(c, boxes, b))
    got = rasterize_chains(chains, 64, 48)
    banded = [k for k in range(len(chains)) if sum(box[0] == k for g in groups for box in g) > 1]
    assert len(groups) > 10 and banded
    assert all(np.array_equal(c.full(64, 48), e) for c, e in zip(got, expected))
    assert not got[-1].full(64, 48).any() and got[-1].count() == 0


def test_chains_far_off_empty_and_non_finite_in_one_call():
    """Chains boxed all at once: empty ones, ones far off every side (1e91 pixels: no int64
    overflow), one across the border and one inside, in any order, give each its own
    triangles' mask; a non-finite coordinate is an error."""
    tri = np.array([[[-5.0, -3.0], [30.0, 10.0], [8.0, 60.0]], [[10.0, 10.0], [40.0, 12.0], [20.0, 30.0]]])
    far = [tri * 1e88 + off for off in ([1e91, 0], [-1e91, 0], [0, 1e91], [0, -1e91], [1e91, 1e91])]
    soups = [tri[:1], np.zeros((0, 3, 2)), *far, tri[1:], tri, np.zeros((0, 3, 2))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. numpy's "invalid value encountered in cast"
        got = rasterize_chains([triangle_chain(t) for t in soups], 64, 48)
    for k, t in enumerate(soups):
        assert np.array_equal(got[k].full(64, 48), rasterize(t, 64, 48)), k
    assert got[0].count() > 0 and got[7].count() > 0 and sum(c.count() for c in got[2:7]) == 0
    bad = triangle_chain(tri.copy())
    bad[0][0, 0] = np.nan
    with pytest.raises(ValueError):
        rasterize_chains([triangle_chain(tri), bad], 64, 48)


def test_coverage_windows_clip_to_the_mask_box():
    mask = np.array([[1, 0, 1], [0, 1, 1]], dtype=bool)
    cov = Coverage(5, 2, mask)
    assert cov.count() == 4
    full = cov.full(10, 6)
    assert full.sum() == 4 and np.array_equal(full[2:4, 5:8], mask)
    assert np.array_equal(cov.window(4, 1, 6, 2), [[0, 0, 0], [0, 1, 0]])  # partly outside
    assert not cov.window(0, 0, 3, 5).any()  # wholly outside


def test_a_coverages_window_and_count_in_agree_for_boxes_across_its_edges():
    """Coverage.window and Coverage.count_in share one overlap rule: for boxes inside, across
    each edge of, around and apart from the mask, count_in equals window(...).sum(), and the
    window holds the mask's pixels where they are (False elsewhere)."""
    from sdg_addon.annotators.raster import Coverage

    rng = np.random.default_rng(2)
    cov = Coverage(5, 3, rng.random((4, 6)) < 0.6)  # pixels x 5..10, y 3..6
    image = np.zeros((12, 16), dtype=bool)
    image[3:7, 5:11] = cov.mask
    for box in [
        (5, 3, 10, 6),
        (0, 0, 15, 11),
        (7, 4, 8, 5),
        (0, 0, 5, 3),
        (10, 6, 15, 11),
        (11, 0, 15, 11),
        (0, 7, 15, 9),
    ]:
        x0, y0, x1, y1 = box
        window = cov.window(*box)
        assert np.array_equal(window, image[y0 : y1 + 1, x0 : x1 + 1]), box
        assert cov.count_in(*box) == int(window.sum()), box
