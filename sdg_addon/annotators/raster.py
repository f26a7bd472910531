"""Triangle rasterization at pixel centres (pure numpy): object silhouettes without occlusion.

Pixel conventions are those of frame.py: x to the right, y down, origin at the top-left
corner of the top-left pixel; pixel (row i, column j) is sampled at its centre (j + 0.5,
i + 0.5). A pixel is covered when its centre lies inside a triangle, either winding.

Tie rule (Cycles' own: its id sample lies a hair right of and above the pixel centre,
docs/exactness.md): a centre exactly on an edge is covered only if that edge is a *left*
edge (the triangle's interior lies to its right: the edge is not horizontal) or a *bottom*
edge (horizontal with the interior above it), i.e. the centre counts as nudged right, then
up. It is the "top-left" rule of Direct3D and most GPU rasterizers with y up, as the image
plane of a camera has it. So two triangles sharing an edge cover every pixel centre on it
exactly once, meshes have no gaps and no double counting, and an axis-aligned rectangle
[x0, x1] x [y0, y1] (y down) covers exactly the centres with x0 <= x < x1 and y0 < y <= y1
(left and bottom sides win, right and top sides lose). On a shared non-horizontal edge the
triangle to the right of it wins; on a shared horizontal edge, the triangle above it wins.

Ties are decided exactly, not "up to epsilon": every edge function is evaluated from the
edge's two endpoints taken in a canonical (lexicographic) order and only then negated as
the triangle's winding requires, so the two triangles sharing an edge compute bitwise
opposite values at every pixel centre, whatever the rounding.

Zero-area triangles, triangles with non-finite vertices and triangles with coordinates so
large that the edge functions overflow (beyond ~1e150 pixels) cover nothing.
"""

from __future__ import annotations

import numpy as np

from ..frame import Camera

# Candidate pixel centres evaluated per kernel call (and pixels marked per pass of the span
# path): one float64 temporary is 16 MB, and the kernel keeps one such float array and two
# bool arrays alive (~ 20 MB peak, plus indices).
_CHUNK = 1 << 21
# Triangles whose (bucketed) bbox holds more pixels than this are rasterized span by span,
# at most _SPAN_ROWS (triangle, row) pairs at a time.
_SPAN_MIN_PIXELS = 16  # measured: 4 x 4 blocks are cheaper tested whole, larger ones by spans
_SPAN_ROWS = 1 << 17
# The smallest positive double: for a float e, "e >= _TINY" is "e > 0" (-0.0 included).
_TINY = float(np.nextafter(0.0, 1.0))
# Bucket sizes (pixels along one axis): 1, 2, 4, 8, 16, ... Powers of two waste up to half a
# side, but give fewer groups: most triangles cover a few pixels, and there the kernel's
# per-call cost outweighs the extra candidates (measured ~10% faster than 1, 2, 3, 4, 6, ...).
_BUCKETS = 2 ** np.arange(31)
# Perspective projection needs a positive near plane; Blender's minimum clip_start is 1e-6.
MIN_PERSPECTIVE_NEAR = 1e-6
# Cycles' id sample lies about 0.0005 px right of and above the pixel centre (0.001 px with a
# 3 px filter: docs/exactness.md). Silhouettes are sampled a quarter of a thousandth of a
# pixel that way (sample_frame), so that an edge a float32 rounding off a centre (a few
# ten-millionths of a pixel: vertices on a grid of 0.1 m pixels) goes where Cycles puts it,
# as an exact tie does.
SAMPLE_NUDGE = 2.5e-4


def sample_frame(px: np.ndarray) -> np.ndarray:
    """Projected pixel coordinates (..., 2) moved so that rasterizing them at pixel centres
    samples SAMPLE_NUDGE right of and above each centre (x right, y down), nearer where
    Cycles' id sample lies."""
    return px + np.array([-SAMPLE_NUDGE, SAMPLE_NUDGE])


def rasterize(tri_px: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel-centre coverage of triangles in pixel coordinates.

    tri_px: (N, 3, 2) float pixel coordinates (x right, y down), either winding.
    Returns a bool (height, width) mask, True where a pixel centre lies inside any triangle
    (the tie rule of the module docstring).
    """
    tri = np.asarray(tri_px, dtype=np.float64).reshape(-1, 3, 2)
    w, h = int(width), int(height)
    mask = np.zeros((h, w), dtype=bool)
    if tri.shape[0] == 0 or w <= 0 or h <= 0:
        return mask
    # Coordinates as contiguous (3, N) arrays: x[k], y[k] are vertex k of every triangle.
    x = np.ascontiguousarray(tri[:, :, 0].T)
    y = np.ascontiguousarray(tri[:, :, 1].T)

    # Range of pixel centres inside each triangle's bbox: j + 0.5 in [xmin, xmax]. Rounding
    # is monotonic, so these ranges never miss a centre that lies in the bbox. Non-finite
    # triangles fail the comparisons (NaN) or are caught by the isfinite test below.
    j_lo = np.maximum(np.ceil(np.minimum(np.minimum(x[0], x[1]), x[2]) - 0.5), 0.0)
    j_hi = np.minimum(np.floor(np.maximum(np.maximum(x[0], x[1]), x[2]) - 0.5), w - 1.0)
    i_lo = np.maximum(np.ceil(np.minimum(np.minimum(y[0], y[1]), y[2]) - 0.5), 0.0)
    i_hi = np.minimum(np.floor(np.maximum(np.maximum(y[0], y[1]), y[2]) - 0.5), h - 1.0)
    keep = (j_lo <= j_hi) & (i_lo <= i_hi)
    keep &= np.isfinite(x).all(axis=0) & np.isfinite(y).all(axis=0)
    if not keep.any():
        return mask
    x, y = x[:, keep], y[:, keep]
    j_lo, j_hi = j_lo[keep].astype(np.int64), j_hi[keep].astype(np.int64)
    i_lo, i_hi = i_lo[keep].astype(np.int64), i_hi[keep].astype(np.int64)

    with np.errstate(over="ignore", invalid="ignore"):
        coef, ok = _edge_functions(x, y)
    if not ok.all():
        coef = coef[:, :, ok]
        j_lo, j_hi, i_lo, i_hi = j_lo[ok], j_hi[ok], i_lo[ok], i_hi[ok]
    if coef.shape[2] == 0:
        return mask

    flat = mask.reshape(-1)
    nw = j_hi - j_lo + 1
    nh = i_hi - i_lo + 1
    bw = np.minimum(_BUCKETS[np.searchsorted(_BUCKETS, nw)], w)
    bh = np.minimum(_BUCKETS[np.searchsorted(_BUCKETS, nh)], h)
    big = bw * bh > _SPAN_MIN_PIXELS

    # Larger triangles: row by row, each row's covered span found exactly (few tests per
    # row instead of one per pixel of a padded bounding box).
    big_ids = np.flatnonzero(big)
    if big_ids.size:
        # In groups of at most _SPAN_ROWS (triangle, row) pairs: bounded temporaries.
        rows_so_far = np.cumsum(nh[big_ids])
        start = 0
        while start < big_ids.size:
            before = int(rows_so_far[start - 1]) if start else 0
            stop = max(start + 1, int(np.searchsorted(rows_so_far, before + _SPAN_ROWS, side="right")))
            t = big_ids[start:stop]
            _cover_spans(flat, w, coef[:, :, t], j_lo[t], j_hi[t], i_lo[t], i_hi[t])
            start = stop

    # Small triangles: batched by bucketed bbox size. The candidate block is shifted left/up
    # where needed so that it stays inside the image (it still contains the whole bbox).
    small = np.flatnonzero(~big)
    if small.size:
        key = bw[small] * (h + 1) + bh[small]
        order = np.argsort(key, kind="stable")
        small, key = small[order], key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], key.size]
        for s0, s1 in zip(starts, ends):
            idx = small[s0:s1]
            gw, gh = int(bw[idx[0]]), int(bh[idx[0]])
            j0 = np.minimum(j_lo[idx], w - gw)
            i0 = np.minimum(i_lo[idx], h - gh)
            step = max(1, _CHUNK // (gw * gh))
            for c0 in range(0, idx.size, step):
                c = slice(c0, c0 + step)
                _cover(flat, w, coef[:, :, idx[c]], j0[c], i0[c], gw, gh)
    return mask


def _cover_spans(flat, w, coef, j_lo, j_hi, i_lo, i_hi) -> None:
    """Mark the pixel centres inside each of T triangles, row by row, as _cover does.

    For a row, edge k's value at column j, (B py) + (A (j + 0.5) + C), is computed exactly
    as _cover computes it and is monotonic in j (each rounding step is), so the columns
    passing its test are a prefix or a suffix of the row: its boundary is estimated by
    division and then settled by evaluating the test itself on both sides of it. The
    three edges' intervals, cut to the bounding box, give the row's span; the same pixels
    as testing every pixel of the box.
    """
    rows = i_hi - i_lo + 1
    tri = np.repeat(np.arange(rows.size), rows)  # one entry per (triangle, row)
    first = np.cumsum(rows) - rows
    row = i_lo[tri] + (np.arange(tri.size) - first[tri])
    py = row + 0.5
    lo, hi = j_lo[tri].copy(), j_hi[tri].copy()
    for k in range(3):
        a, b, c, thr = coef[0, k, tri], coef[1, k, tri], coef[2, k, tri], coef[3, k, tri]
        ey = b * py
        # a == 0: the edge's test is the same for every column of the row.
        flat_edge = ~((a > 0) | (a < 0))
        with np.errstate(over="ignore", invalid="ignore"):
            hi = np.where(flat_edge & ~(ey + (a * (lo + 0.5) + c) >= thr), lo - 1, hi)
        if not flat_edge.all():
            j = _span_boundary(a, c, ey, thr, lo, hi)
            lo = np.where(a > 0, np.maximum(lo, j), lo)
            hi = np.where(a < 0, np.minimum(hi, j - 1), hi)
    n = np.maximum(hi - lo + 1, 0)
    keep = n > 0
    start, n = (row * w + lo)[keep], n[keep]
    # Mark the spans' pixels, at most about _CHUNK of them per pass.
    total = np.cumsum(n)
    k0 = 0
    while k0 < n.size:
        k1 = max(k0 + 1, int(np.searchsorted(total, total[k0] - n[k0] + _CHUNK, side="right")))
        part_start, part_n = start[k0:k1], n[k0:k1]
        offsets = np.arange(int(part_n.sum())) - np.repeat(np.cumsum(part_n) - part_n, part_n)
        flat[np.repeat(part_start, part_n) + offsets] = True
        k0 = k1


def _span_boundary(a, c, ey, thr, lo, hi) -> np.ndarray:
    """Per (edge, row) entry: where the edge's test E(j) = ey + (a (j + 0.5) + c) >= thr
    changes along the row, within columns lo .. hi + 1: for a > 0 (E rises with j) the
    first passing column, for a < 0 one past the last passing column (lo - 1 < result <=
    hi + 1 either way, clamped); entries with a == 0 are returned as lo.

    E(j) is monotonic in j (each rounding step is), so the boundary is estimated by
    division and then settled by evaluating the test itself on both sides of it: exactly
    the columns that testing every pixel would find.
    """
    rising, falling = a > 0, a < 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):

        def passes(j):
            return ey + (a * (j + 0.5) + c) >= thr

        guess = np.ceil((thr - c - ey) / np.where(rising | falling, a, 1.0) - 0.5)
        guess = np.where(np.isfinite(guess), guess, lo)
        j = np.clip(guess, lo, hi + 1).astype(np.int64)
        for _ in range(64):
            ok_here = passes(j)
            ok_left = passes(j - 1)
            move_left = np.where(rising, ok_left & (j > lo), falling & ~ok_left & (j > lo))
            move_right = np.where(rising, ~ok_here & (j <= hi), falling & ok_here & (j <= hi))
            if not (move_left.any() or move_right.any()):
                return np.where(rising | falling, j, lo)
            j = j - move_left + move_right
    raise RuntimeError("raster: a span boundary did not settle")  # pragma: no cover - non-monotonic rounding


def _edge_functions(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge functions E(px, py) = (A px + C) + B py of triangles given as (3, T) x, y arrays.

    Returns coef (4, 3, T): A, B, C and thr per edge (edge k from vertex k to k+1), signed
    so that a centre is inside when E >= thr on all three edges (thr = 0 on top/left edges,
    the smallest positive double elsewhere, i.e. E > 0); and ok (T,), False for triangles
    without area or whose coordinates overflow the arithmetic (beyond ~1e150 pixels).
    """
    nxt = [1, 2, 0]
    xb, yb = x[nxt], y[nxt]
    # Canonical endpoint order per edge (lexicographic in x, then y): a shared edge gets
    # bitwise identical coefficients in both triangles, up to an exact sign flip.
    swap = (xb < x) | ((xb == x) & (yb < y))
    lx, ly = np.where(swap, xb, x), np.where(swap, yb, y)
    a_coef = ly - np.where(swap, y, yb)
    b_coef = np.where(swap, x, xb) - lx
    c_coef = -(a_coef * lx + b_coef * ly)
    sign = np.where(swap, -1.0, 1.0)
    # Edge k evaluated at the opposite vertex k+2 (same arithmetic as the kernel): all three
    # must agree in sign, which is the triangle's orientation; otherwise it has no area.
    opp = [2, 0, 1]
    e_opp = sign * ((a_coef * x[opp] + c_coef) + b_coef * y[opp])
    pos = (e_opp[0] > 0) & (e_opp[1] > 0) & (e_opp[2] > 0)
    neg = (e_opp[0] < 0) & (e_opp[1] < 0) & (e_opp[2] < 0)
    sign *= np.where(neg, -1.0, 1.0)  # make the interior positive (exact sign flips)
    a_coef *= sign
    b_coef *= sign
    c_coef *= sign
    # With the interior on the positive side, A = -dy and B = dx of the directed edge:
    # left edges (dy < 0) and bottom edges (dy == 0, dx < 0) own the centres lying on them.
    owns = (a_coef > 0) | ((a_coef == 0) & (b_coef < 0))
    thr = np.where(owns, 0.0, _TINY)
    # pos and neg are both False where e_opp is NaN; inf means the arithmetic overflowed.
    ok = (pos | neg) & np.isfinite(c_coef).all(axis=0) & np.isfinite(e_opp).all(axis=0)
    return np.stack([a_coef, b_coef, c_coef, thr]), ok


def _cover(flat, w, coef, j0, i0, bw, bh):
    """Mark pixel centres inside each of T triangles, testing a bh x bw block per triangle.

    coef: (4, 3, T) from _edge_functions. The blocks (rows i0 .. i0 + bh - 1, columns
    j0 .. j0 + bw - 1) must lie inside the image.
    """
    t = coef.shape[2]
    px = j0[:, None] + (np.arange(bw) + 0.5)  # (T, bw), exact
    py = i0[:, None] + (np.arange(bh) + 0.5)  # (T, bh), exact
    e = np.empty((t, bh, bw))
    ok = np.empty((t, bh, bw), dtype=bool)
    inside = None
    for k in range(3):
        a_k, b_k, c_k, thr_k = coef[:, k, :, None]
        ex = a_k * px + c_k
        ey = b_k * py
        np.add(ey[:, :, None], ex[:, None, :], out=e)
        if inside is None:
            inside = np.greater_equal(e, thr_k[:, :, None])
        else:
            np.greater_equal(e, thr_k[:, :, None], out=ok)
            inside &= ok
    # Flat index of every block pixel, kept where inside: one gather instead of nonzero()'s
    # three index arrays and the arithmetic on them.
    offset = (i0 * w + j0)[:, None, None] + (np.arange(bh)[:, None] * w + np.arange(bw))
    flat[offset[inside]] = True


# --------------------------------------------------------------------------- edge chains
#
# The silhouette of a mesh from its boundary instead of its triangles. Give every triangle
# a weight w (its orientation sign, or 1 for the front-facing triangles of a closed
# surface, 0 for the rest) and take the chain sum of w times its three directed edges:
# where two triangles of equal weight share an edge in opposite directions, the two
# copies cancel, so a closed surface leaves only its contour edges and an open mesh its
# border and folds. The winding number of that chain around a point is the number of
# weighted triangles covering it, so "covered" = winding number > 0: found row by row as
# the sum of the edges crossing the row to the left of the pixel, i.e. a running sum
# (cumsum) of +-w placed at each crossing. Each crossing column is where one edge test of
# the triangle rasterizer above changes along the row (_span_boundary, the same
# arithmetic and tie rule: canonical endpoint order, left and bottom ties), and a row is
# crossed by an edge when its centre's y lies in (y_min, y_max] of the edge: the
# rasterizer's tie rule is a symbolic nudge of each centre right then up, and for such
# a point both views agree. So the masks are those of rasterize() on the same triangles
# (bitwise wherever the arithmetic is exact, e.g. vertices on a pixel lattice), at a cost
# that follows the outline, not the area or the triangle count.

# Running-sum canvases are built in groups of at most this many cells (8 bytes each, and
# as much again for the sum); a larger canvas is split into bands of rows.
_CHAIN_CELLS = 1 << 23


def half_edge_twins(faces: np.ndarray) -> np.ndarray:
    """(3F,) for triangles (F, 3) of vertex indices: for half-edge h = 3 f + k (corner k
    to corner k + 1 of face f), the index of the one half-edge going the other way along
    the same edge, or -1 where there is none or the edge is used more than once in a
    direction (borders, non-manifold or inconsistently wound parts: never cancelled)."""
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if faces.size == 0:
        return np.zeros(0, dtype=np.int32)
    a = faces.ravel()
    b = faces[:, [1, 2, 0]].ravel()
    n = int(max(a.max(), b.max())) + 1
    key, rev = a * n + b, b * n + a
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    unique = np.ones(key.size, dtype=bool)  # is the half-edge's key used only once
    dup = sorted_key[1:] == sorted_key[:-1]
    unique[order[1:][dup]] = False
    unique[order[:-1][dup]] = False
    pos = np.minimum(np.searchsorted(sorted_key, rev), key.size - 1)
    twin = np.where(sorted_key[pos] == rev, order[pos], -1)
    ok = (twin >= 0) & unique
    ok[ok] &= unique[twin[ok]]
    return np.where(ok, twin, -1).astype(np.int32)


def join_meshes(parts) -> tuple[np.ndarray, np.ndarray]:
    """One mesh from several: parts [(vertex count, faces (F, 3), twins (3 F,) or None)] ->
    (faces, twins), each part's indices offset past those before it; a part without twins
    gets -1 (its edges pair with nothing). One part comes back as it is."""
    if len(parts) == 1 and parts[0][2] is not None:
        return parts[0][1], parts[0][2]
    if not parts:
        return np.zeros((0, 3), np.int32), np.zeros(0, np.int32)
    # All parts at once (a few whole-array passes, not two small ones per part): each
    # index's offset spread by np.repeat, added to the flat arrays (no broadcast over rows).
    n_faces = np.array([len(f) for _n, f, _t in parts], dtype=np.int64)
    n_vertices = np.array([n for n, _f, _t in parts], dtype=np.int64)
    faces = np.concatenate([f for _n, f, _t in parts])  # the parts' own dtype (a copy)
    if n_vertices.sum() > np.iinfo(faces.dtype).max:  # as `f + offset` would have widened
        faces = faces.astype(np.int64)
    flat = faces.reshape(-1)
    np.add(flat, np.repeat((np.cumsum(n_vertices) - n_vertices).astype(faces.dtype), 3 * n_faces), out=flat)
    twins = np.concatenate([np.full(3 * len(f), -1, np.int32) if tw is None else tw for _n, f, tw in parts])
    twins = twins.astype(np.int32, copy=False)  # a new array either way: changed in place
    shift = np.repeat((3 * (np.cumsum(n_faces) - n_faces)).astype(np.int32), 3 * n_faces)
    np.add(twins, shift, out=twins, where=twins >= 0)
    return faces, twins


def mesh_chain(px: np.ndarray, faces: np.ndarray, twins: np.ndarray | None, one_winding) -> tuple:
    """The weighted boundary chain of a projected mesh: (start (E, 2), end (E, 2), weight
    (E,), face (E,): the face each edge comes from, in increasing order).

    px: (V, 2) pixel coordinates of the vertices; faces: (F, 3); twins: half_edge_twins
    (None: nothing cancels). one_winding (bool, or (F,) bool per face): only front-facing
    triangles count (closed surfaces), else every triangle with its orientation sign
    (zero-area ones drop out). Several meshes can go in one call (faces and twins offset).
    """
    faces = np.asarray(faces).reshape(-1, 3)
    # x and y of the corners as two (F, 3) arrays: numpy's arithmetic on (F, 2) rows of a
    # (F, 3, 2) gather runs a loop of two per row, twice as slow as these (same bits).
    x, y = px[faces, 0], px[faces, 1]
    e1x, e1y = x[:, 1] - x[:, 0], y[:, 1] - y[:, 0]
    e2x, e2y = x[:, 2] - x[:, 0], y[:, 2] - y[:, 0]
    cross = e1x * e2y - e1y * e2x
    w = np.where(one_winding, cross > 0, np.sign(cross)).astype(np.int64)
    wh = np.repeat(w, 3)
    keep = wh != 0
    if twins is not None and twins.size:
        # A half-edge cancels against a twin of the same weight: one gather over every
        # half-edge (a -1 reads some weight, masked out after), no index list of the paired.
        same = wh[twins] == wh
        same &= twins >= 0
        keep &= ~same
    h = np.flatnonzero(keep)  # half-edge h: corner h % 3 of face h // 3 to the next corner
    corners = faces.ravel()
    following = h + 1 - 3 * (h % 3 == 2)
    return px[corners[h]], px[corners[following]], wh[h], h // 3


def triangle_chain(tri_px: np.ndarray):
    """The chain of a triangle soup (N, 3, 2), every triangle with its orientation sign:
    rasterize_chains of it is rasterize() of the triangles."""
    tri = np.asarray(tri_px, dtype=np.float64).reshape(-1, 3, 2)
    return mesh_chain(tri.reshape(-1, 2), np.arange(tri.shape[0] * 3).reshape(-1, 3), None, False)[:3]


class Coverage:
    """A mask over part of the image: mask (rows, cols) bool whose top-left pixel is
    (x0, y0); a (0, 0) mask when nothing is covered."""

    __slots__ = ("x0", "y0", "mask")

    def __init__(self, x0: int, y0: int, mask: np.ndarray):
        self.x0, self.y0, self.mask = x0, y0, mask

    def count(self) -> int:
        return int(np.count_nonzero(self.mask))

    def _overlap(self, x0: int, y0: int, x1: int, y1: int):
        """(the mask's part inside the inclusive pixel box (x0, y0)-(x1, y1), its top-left
        pixel), or None when the two do not meet."""
        h, w = self.mask.shape
        ax0, ay0 = max(x0, self.x0), max(y0, self.y0)
        ax1, ay1 = min(x1, self.x0 + w - 1), min(y1, self.y0 + h - 1)
        if ax0 > ax1 or ay0 > ay1:
            return None
        return self.mask[ay0 - self.y0 : ay1 - self.y0 + 1, ax0 - self.x0 : ax1 - self.x0 + 1], ax0, ay0

    def window(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """The mask over the inclusive pixel box (x0, y0)-(x1, y1), False outside it."""
        out = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=bool)
        overlap = self._overlap(x0, y0, x1, y1)
        if overlap is not None:
            part, ax0, ay0 = overlap
            out[ay0 - y0 : ay0 - y0 + part.shape[0], ax0 - x0 : ax0 - x0 + part.shape[1]] = part
        return out

    def full(self, width: int, height: int) -> np.ndarray:
        return self.window(0, 0, width - 1, height - 1)

    def count_in(self, x0: int, y0: int, x1: int, y1: int) -> int:
        """Covered pixels inside the inclusive pixel box (x0, y0)-(x1, y1): window(...).sum()
        without making the window (only the mask's own part of it is counted)."""
        overlap = self._overlap(x0, y0, x1, y1)
        return 0 if overlap is None else int(np.count_nonzero(overlap[0]))


def rasterize_chains(chains: list, width: int, height: int) -> list[Coverage]:
    """Pixel-centre coverage of weighted edge chains (mesh_chain / triangle_chain), one
    Coverage per chain, limited to the (width, height) image; see the section comment."""
    w, h = int(width), int(height)
    out = [Coverage(0, 0, np.zeros((0, 0), dtype=bool)) for _ in chains]
    boxes = []
    used = [k for k, c in enumerate(chains) if len(c[2])]
    if not used:
        return out
    # Every used chain's edges joined once (the groups below gather theirs from these), and
    # every chain's pixel box at once: per-chain min / max of both ends of its edges.
    joined = _JoinedChains(chains, used)
    ends_p, ends_q, starts = joined.p, joined.q, joined.starts
    if not (np.isfinite(ends_p).all() and np.isfinite(ends_q).all()):
        raise ValueError("raster: an edge chain with non-finite coordinates")
    lo = np.minimum.reduceat(np.minimum(ends_p, ends_q), starts)
    hi = np.maximum.reduceat(np.maximum(ends_p, ends_q), starts)
    # Clipped in float first (a far-off chain must not overflow int64): a box left empty
    # (x0 > x1 or y0 > y1) is skipped.
    x0s = np.clip(np.ceil(lo[:, 0] - 0.5), 0, w).astype(np.int64).tolist()
    y0s = np.clip(np.ceil(lo[:, 1] - 0.5), 0, h).astype(np.int64).tolist()
    x1s = np.clip(np.floor(hi[:, 0] - 0.5), -1, w - 1).astype(np.int64).tolist()
    y1s = np.clip(np.floor(hi[:, 1] - 0.5), -1, h - 1).astype(np.int64).tolist()
    for k, x0, y0, x1, y1 in zip(used, x0s, y0s, x1s, y1s):
        if x0 <= x1 and y0 <= y1:
            # In bands of rows of at most _CHAIN_CELLS cells (each row's sum is its own).
            band = max(1, _CHAIN_CELLS // (x1 - x0 + 2))
            boxes += [(k, x0, b0, x1, min(y1, b0 + band - 1)) for b0 in range(y0, y1 + 1, band)]
    bands: dict[int, list] = {}  # chain -> its bands' masks, top to bottom
    group, cells = [], 0
    for box in boxes:
        size = (box[3] - box[1] + 2) * (box[4] - box[2] + 1)
        if group and cells + size > _CHAIN_CELLS:
            _chain_group(joined, group, bands)
            group, cells = [], 0
        group.append(box)
        cells += size
    if group:
        _chain_group(joined, group, bands)
    corner = {}  # chain -> its canvas's top-left pixel (its first band's)
    for k, x0, y0, _x1, _y1 in boxes:
        corner.setdefault(k, (x0, y0))
    for k, masks in bands.items():
        out[k] = Coverage(*corner[k], masks[0] if len(masks) == 1 else np.concatenate(masks))
    return out


class _JoinedChains:
    """The edges of the chains `used` (indices into chains) as three joined arrays, chain
    k's at rows starts[at[k]] .. + counts[at[k]]."""

    def __init__(self, chains: list, used: list[int]):
        self.p = np.concatenate([chains[k][0] for k in used])
        self.q = np.concatenate([chains[k][1] for k in used])
        self.weight = np.concatenate([chains[k][2] for k in used])
        self.counts = np.array([len(chains[k][2]) for k in used], dtype=np.int64)
        self.starts = np.cumsum(self.counts) - self.counts
        self.at = {k: i for i, k in enumerate(used)}

    def edges(self, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """p, q, weight of the chains ids (in that order, repeats allowed) and each edge's
        position in ids: one gather, whatever the number of chains."""
        pos = np.array([self.at[k] for k in ids], dtype=np.int64)
        n = self.counts[pos]
        rows = np.arange(int(n.sum())) + np.repeat(self.starts[pos] - (np.cumsum(n) - n), n)
        return self.p[rows], self.q[rows], self.weight[rows], np.repeat(np.arange(len(ids)), n)


def _chain_group(joined: _JoinedChains, boxes, bands: dict) -> None:
    """rasterize_chains for canvases (boxes: chain, x0, y0, x1, y1) that share one
    running-sum array; each box's mask is appended to bands[chain]."""
    ids = [b[0] for b in boxes]
    x0, y0, x1, y1 = (np.array([b[i] for b in boxes], dtype=np.int64) for i in range(1, 5))
    cw, ch = x1 - x0 + 2, y1 - y0 + 1  # one extra column: each row's sum returns to 0 there
    offset = np.cumsum(cw * ch) - cw * ch
    p, q, weight, owner = joined.edges(ids)
    p, q = p.astype(np.float64, copy=False), q.astype(np.float64, copy=False)
    # Canonical (lexicographic) endpoint order, as _edge_functions: L -> R.
    swap = (q[:, 0] < p[:, 0]) | ((q[:, 0] == p[:, 0]) & (q[:, 1] < p[:, 1]))
    lx, ly = np.where(swap, q[:, 0], p[:, 0]), np.where(swap, q[:, 1], p[:, 1])
    rx, ry = np.where(swap, p[:, 0], q[:, 0]), np.where(swap, p[:, 1], q[:, 1])
    a = ly - ry
    b = rx - lx
    c = -(a * lx + b * ly)
    thr = np.where((a > 0) | ((a == 0) & (b < 0)), 0.0, _TINY)
    # The running sum steps by +-w where the canonical test turns on (a > 0) or off (a < 0);
    # reversed edges count negatively. Horizontal edges (a == 0) cross no row.
    step = (weight * np.where(swap, -1, 1) * np.sign(a)).astype(np.float64)
    ymin, ymax = np.minimum(ly, ry), np.maximum(ly, ry)
    r0 = np.maximum(np.ceil(ymin - 0.5), y0[owner])
    r1 = np.minimum(np.ceil(ymax - 0.5), y1[owner])
    keep = (a != 0) & (r0 <= r1)
    e = np.flatnonzero(keep)
    r0, nrows = r0[e].astype(np.int64), (r1[e] - r0[e]).astype(np.int64) + 1
    size, acc = int((cw * ch).sum()), None
    rows_so_far = np.cumsum(nrows)
    start = 0
    while start < e.size:  # at most about _SPAN_ROWS (edge, row) pairs at a time
        before = int(rows_so_far[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(rows_so_far, before + _SPAN_ROWS, side="right")))
        sel, n = e[start:stop], nrows[start:stop]
        first = np.cumsum(n) - n
        idx = np.repeat(np.arange(sel.size), n)
        edge = sel[idx]
        row = r0[start:stop][idx] + (np.arange(idx.size) - first[idx])
        py = row + 0.5
        crosses = (py > ymin[edge]) & (py <= ymax[edge])  # exact: which rows the edge spans
        edge, row, py = edge[crosses], row[crosses], py[crosses]
        o = owner[edge]
        col = _span_boundary(a[edge], c[edge], b[edge] * py, thr[edge], x0[o], x1[o])
        steps = np.bincount(offset[o] + (row - y0[o]) * cw[o] + (col - x0[o]), step[edge], size)
        if acc is None:  # the usual single chunk: its counts are the sum (no zeros + add)
            acc = steps
        else:
            acc += steps
        start = stop
    if acc is None:
        acc = np.zeros(size, dtype=np.float64)
    covered = np.cumsum(acc, out=acc) > 0.5
    for k, i in enumerate(ids):
        cells = covered[offset[k] : offset[k] + cw[k] * ch[k]].reshape(int(ch[k]), int(cw[k]))
        bands.setdefault(i, []).append(cells[:, :-1])


def is_closed_surface(faces: np.ndarray) -> bool:
    """True when triangles (F, 3) of vertex indices form closed, consistently wound
    surfaces: every directed edge a->b occurs exactly once, and so does b->a.

    Then, seen from any point outside, the triangles of either winding cover the surface's
    whole projection (each sight line through it enters and leaves the solid), so a
    silhouette needs only one winding's triangles (see silhouettes.full_silhouette).
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if faces.shape[0] == 0 or (faces[:, 0] == faces[:, 1]).any() or (faces[:, 1] == faces[:, 2]).any():
        return False
    if (faces[:, 2] == faces[:, 0]).any():
        return False
    a = faces.ravel()
    b = faces[:, [1, 2, 0]].ravel()
    n = int(a.max()) + 1
    forward = np.sort(a * n + b)
    if (forward[1:] == forward[:-1]).any():
        return False  # an edge used twice in one direction: not an oriented manifold
    return bool(np.array_equal(forward, np.sort(b * n + a)))


def clip_triangles(tri: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Clip triangles (N, 3, D) to the half-space dist >= 0, dist (N, 3) per vertex.

    Sutherland-Hodgman against one plane, fan-triangulated and vectorized: triangles fully
    inside are kept, fully outside are dropped, one vertex inside gives one triangle, two
    inside give a quad split into two triangles. Winding is preserved. Vertices are
    interpolated linearly, so dist must be affine in the vertex coordinates.
    """
    tri = np.asarray(tri, dtype=np.float64)
    dist = np.asarray(dist, dtype=np.float64)
    inside = dist >= 0
    n_in = inside.sum(axis=1)
    out = [tri[n_in == 3]]
    for n, first in ((1, np.argmax), (2, np.argmin)):
        sel = np.flatnonzero(n_in == n)
        if sel.size == 0:
            continue
        # Rotate so the odd vertex (the lone inside one, or the lone outside one) is first.
        order = (first(inside[sel], axis=1)[:, None] + np.arange(3)) % 3
        v = np.take_along_axis(tri[sel], order[:, :, None], axis=1)
        d = np.take_along_axis(dist[sel], order, axis=1)
        v0, v1, v2 = v[:, 0], v[:, 1], v[:, 2]
        d0, d1, d2 = d[:, 0, None], d[:, 1, None], d[:, 2, None]
        # Interpolate from the inside vertex: t in [0, 1), denominators > 0.
        if n == 1:
            p01 = v0 + (v1 - v0) * (d0 / (d0 - d1))
            p02 = v0 + (v2 - v0) * (d0 / (d0 - d2))
            out.append(np.stack([v0, p01, p02], axis=1))
        else:
            p01 = v1 + (v0 - v1) * (d1 / (d1 - d0))
            p20 = v2 + (v0 - v2) * (d2 / (d2 - d0))
            out.append(np.stack([p01, v1, v2], axis=1))
            out.append(np.stack([p01, v2, p20], axis=1))
    return np.concatenate(out, axis=0)


def project_triangles(camera: Camera, triangles_world: np.ndarray, clip_far: bool = False) -> np.ndarray:
    """(N, 3, 2) pixel coordinates of triangles, after clipping them as Cycles does.

    Triangles are clipped to the near plane (camera-space z = -clip_start, i.e. depth >=
    clip_start) for both projections, as Cycles starts camera rays there; with clip_far
    also to the far plane (depth <= clip_end). Perspective cameras then divide by depth,
    orthographic ones do not (Camera.project_camera), and the points are moved by
    sample_frame (rasterized at centres, they are sampled where Cycles samples). Not
    limited to the image.
    """
    tri = np.asarray(triangles_world, dtype=np.float64).reshape(-1, 3, 3)
    if tri.shape[0] == 0:
        return np.zeros((0, 3, 2))
    return project_camera_triangles(camera, camera.to_camera(tri.reshape(-1, 3)).reshape(-1, 3, 3), clip_far)


def near_plane(camera: Camera) -> float:
    """Depth where Cycles' camera rays start (perspective: at least MIN_PERSPECTIVE_NEAR)."""
    near = float(camera.clip_start)
    return max(near, MIN_PERSPECTIVE_NEAR) if camera.projection == "perspective" else near


def project_camera_triangles(camera: Camera, cam: np.ndarray, clip_far: bool = False) -> np.ndarray:
    """project_triangles for triangles (N, 3, 3) already in Blender camera space."""
    near = near_plane(camera)
    depth = -cam[:, :, 2]
    if (depth < near).any():
        cam = clip_triangles(cam, depth - near)
    if clip_far:
        depth = -cam[:, :, 2]
        if (depth > camera.clip_end).any():
            cam = clip_triangles(cam, camera.clip_end - depth)
    if cam.shape[0] == 0:
        return np.zeros((0, 3, 2))
    px, _depth = camera.project_camera(cam.reshape(-1, 3))
    return sample_frame(px).reshape(-1, 3, 2)


def silhouette(camera: Camera, triangles_world: np.ndarray, clip_far: bool = False) -> np.ndarray:
    """Bool (H, W) mask of an object's full projected area (no occlusion), sampled at
    pixel centres as the renderer samples its id passes (see project_triangles)."""
    px = project_triangles(camera, triangles_world, clip_far)
    return rasterize(px, camera.width, camera.height)


def silhouette_extent(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x_min, y_min, x_max, y_max) inclusive pixel indices of a mask's True pixels, or None."""
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def _bench() -> None:
    """Time a 100k-triangle grid mesh covering ~1/4 of a 640x480 image (one core)."""
    import time

    w, h = 640, 480
    n = 224  # 224 x 224 quads = 100,352 triangles
    rng = np.random.default_rng(0)
    gx, gy = np.meshgrid(np.linspace(160.0, 480.0, n + 1), np.linspace(120.0, 360.0, n + 1))
    verts = np.stack([gx, gy], axis=-1)
    verts[1:-1, 1:-1] += rng.uniform(-0.3, 0.3, size=(n - 1, n - 1, 2))
    v00, v10 = verts[:-1, :-1].reshape(-1, 2), verts[:-1, 1:].reshape(-1, 2)
    v01, v11 = verts[1:, :-1].reshape(-1, 2), verts[1:, 1:].reshape(-1, 2)
    tri_px = np.concatenate([np.stack([v00, v10, v11], 1), np.stack([v00, v11, v01], 1)])
    rng.shuffle(tri_px)

    def timeit(fn, reps=5):
        fn()
        best = np.inf
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return best

    t = timeit(lambda: rasterize(tri_px, w, h))
    cover = rasterize(tri_px, w, h).mean()
    print(f"rasterize: {len(tri_px)} triangles, {w}x{h}, coverage {cover:.3f}: {t * 1e3:.1f} ms")

    # The same mesh in front of a perspective camera, through silhouette().
    cam = Camera("bench", w, h, "perspective", np.eye(4), 500.0, 500.0, w / 2, h / 2, 0.1, 100)
    depth = 5.0
    xy = (tri_px - [w / 2, h / 2]) * [depth / 500.0, -depth / 500.0]
    world = np.concatenate([xy, np.full((*xy.shape[:2], 1), -depth)], axis=-1)
    t = timeit(lambda: silhouette(cam, world))
    print(f"silhouette (perspective, same mesh): {t * 1e3:.1f} ms")

    # A big triangle fan (a disc filling most of the frame) and random large triangles.
    ang = np.linspace(0, 2 * np.pi, 65)
    ring = np.stack([320 + 300 * np.cos(ang), 240 + 230 * np.sin(ang)], -1)
    fan = np.stack([np.broadcast_to([320.0, 240.0], (64, 2)), ring[:-1], ring[1:]], 1)
    t = timeit(lambda: rasterize(fan, w, h))
    print(f"rasterize: 64-triangle disc fan filling the frame: {t * 1e3:.1f} ms")


if __name__ == "__main__":
    _bench()
