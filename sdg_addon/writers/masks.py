"""Mask encodings for writers (numpy only): COCO RLE and pixel-exact outline polygons.

RLE: COCO's compressed run-length encoding (column-major runs, first run = zeros), the
exact string `pycocotools.mask.encode` produces. pycocotools is used when it is importable;
otherwise an equivalent numpy/Python encoder runs (tests check both give the same bytes),
so writers never need a compiled dependency.

Polygons: outlines along pixel edges (vertices on the integer pixel grid, x right, y down,
origin at the top-left corner of the image), so pixel (row i, column j) is the square
[j, j + 1] x [i, i + 1]. pycocotools rasterizes such an outline back to exactly the same
pixels. Loops are traced with the inside on the right-hand side when walking the outline
(clockwise on screen), so outer boundaries have positive shoelace area and holes negative.
Pixels touching only at a corner are separate loops (4-connectivity).
"""

from __future__ import annotations

import numpy as np

# Walking directions: 0 east (+x), 1 south (+y), 2 west (-x), 3 north (-y).
_STEP = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])
# Centre of the inside pixel to the right of an edge starting at (x, y) in direction d.
_INSIDE = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])


# ---------------------------------------------------------------------------------- RLE


def rle_counts(mask: np.ndarray) -> list[int]:
    """Run lengths of a (H, W) mask in column-major order, starting with a run of zeros."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate(([0], change, [flat.size])))
    if flat[0]:
        runs = np.concatenate(([0], runs))
    return [int(x) for x in runs]


def rle_string(counts: list[int]) -> str:
    """COCO's compressed counts string (LEB128-like, 5 bits a char, deltas from i - 2)."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift, as the C code on a signed long
            more = (x != -1) if c & 0x10 else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def encode_rle_numpy(mask: np.ndarray) -> dict:
    h, w = np.asarray(mask).shape
    return {"size": [int(h), int(w)], "counts": rle_string(rle_counts(mask))}


def encode_rle(mask: np.ndarray) -> dict:
    """(H, W) bool/uint8 mask -> {"size": [H, W], "counts": str}, JSON-ready."""
    try:
        from pycocotools import mask as mask_utils
    except ImportError:  # pragma: no cover - exercised by the equality test instead
        return encode_rle_numpy(mask)
    m = np.asfortranarray(np.asarray(mask, dtype=bool).astype(np.uint8))
    rle = mask_utils.encode(m)
    counts = rle["counts"]
    return {
        "size": [int(x) for x in rle["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def encode_rle_ids(ids: np.ndarray, wanted) -> dict[int, dict]:
    """{id: encode_rle(ids == id)} for every id in `wanted`, from one pass over the id map."""
    return rles_and_areas(ids, wanted)[0]


def rles_and_areas(ids: np.ndarray, wanted) -> tuple[dict[int, dict], dict[int, int]]:
    """({id: encode_rle(ids == id)}, {id: its pixel count}) for every id in `wanted`, from
    one pass over the id map.

    The column-major runs of the whole map are found once; an id's mask runs are its
    runs, and the zero runs are the gaps between them. Every id's counts string is then
    made at once (rle_strings). Same strings as encode_rle (tests check it), without one
    full-image mask, transpose and encode per object.
    """
    ids = np.asarray(ids)
    h, w = ids.shape
    wanted = [int(i) for i in wanted]
    if ids.size == 0 or not wanted:
        return {i: encode_rle_numpy(np.zeros((h, w), bool)) for i in wanted}, {i: 0 for i in wanted}
    # A column-major run starts where a pixel differs from the one above it (for a top pixel:
    # from the bottom pixel of the column before). Found in row-major order, on the map as it
    # is, then the few thousand starts are sorted into column-major order: no transposed copy.
    new = np.empty((h, w), dtype=bool)
    new[0, 0] = True
    np.not_equal(ids[0, 1:], ids[-1, :-1], out=new[0, 1:])
    np.not_equal(ids[1:], ids[:-1], out=new[1:])
    rows, cols = np.divmod(np.flatnonzero(new), w)
    order = np.argsort(cols * h + rows)
    rows, cols = rows[order], cols[order]
    starts = cols * h + rows  # column-major index of each run's first pixel, increasing
    ends = np.append(starts[1:], ids.size)
    values = ids[rows, cols]
    order = np.argsort(values, kind="stable")  # each id's runs together, in image order
    values, starts, ends = values[order], starts[order], ends[order]
    lo = np.searchsorted(values, wanted, side="left")
    hi = np.searchsorted(values, wanted, side="right")
    # Each id's counts, all ids end to end: zeros before each of its runs, then the run,
    # [s0, e0 - s0, s1 - e0, e1 - s1, ..., N - e_last], without the trailing zero run when
    # the mask reaches the last pixel.
    n_runs = hi - lo
    runs = np.concatenate([np.arange(a, b) for a, b in zip(lo.tolist(), hi.tolist())]).astype(np.intp)
    first = np.repeat(np.cumsum(n_runs) - n_runs, n_runs)  # index of each run's id's first run
    bounds_len = 2 * n_runs + 2
    bounds_start = np.cumsum(bounds_len) - bounds_len
    bounds = np.empty(int(bounds_len.sum()), dtype=np.int64)
    bounds[bounds_start] = 0
    bounds[bounds_start + bounds_len - 1] = ids.size
    k = np.arange(len(runs)) - first  # run index within its id
    at = np.repeat(bounds_start, n_runs) + 1 + 2 * k
    bounds[at], bounds[at + 1] = starts[runs], ends[runs]
    counts = np.diff(bounds)
    # np.diff across two ids' bounds gives one value too many per id boundary: drop those
    # (the difference from one id's last bound to the next id's first).
    keep = np.ones(len(counts), dtype=bool)
    keep[(bounds_start + bounds_len - 1)[:-1]] = False
    counts_len = bounds_len - 1
    last = np.cumsum(counts_len) - 1  # each id's last count (in the kept array)
    counts = counts[keep]
    trailing = (counts_len > 1) & (counts[last] == 0)  # the mask reaches the last pixel
    keep = np.ones(len(counts), dtype=bool)
    keep[last[trailing]] = False
    counts, counts_len = counts[keep], counts_len - trailing
    strings = rle_strings(counts, counts_len)
    areas = np.zeros(len(wanted), dtype=np.int64)
    np.add.at(areas, np.repeat(np.arange(len(wanted)), n_runs), ends[runs] - starts[runs])
    rles = {i: {"size": [h, w], "counts": s} for i, s in zip(wanted, strings)}
    return rles, dict(zip(wanted, areas.tolist()))


def rle_strings(counts: np.ndarray, lengths: np.ndarray) -> list[str]:
    """rle_string of many count lists at once: `counts` holds them end to end, `lengths[k]`
    is list k's length (at least 1). Vectorized over every value: each delta is cut into
    5-bit chunks until what is left is its sign extension, as pycocotools' C code does."""
    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    begin = np.cumsum(lengths) - lengths
    pos = np.arange(len(counts)) - np.repeat(begin, lengths)  # index within its list
    x = counts.copy()
    later = np.flatnonzero(pos > 2)
    x[later] -= counts[later - 2]
    chunks = np.zeros((len(x), 13), dtype=np.uint8)  # 13 chunks of 5 bits hold any int64
    n_chunks = np.zeros(len(x), dtype=np.int64)
    going = np.ones(len(x), dtype=bool)
    for k in range(13):
        c = x & 0x1F
        x >>= 5  # arithmetic shift, as the C code on a signed long
        more = np.where(c & 0x10, x != -1, x != 0)
        chunks[:, k] = c + 48 + 32 * more
        n_chunks += going
        going &= more
        if not going.any():
            break
    text = chunks[np.arange(13) < n_chunks[:, None]].tobytes().decode("ascii")
    per_list = np.add.reduceat(n_chunks, begin) if len(begin) else np.zeros(0, np.int64)
    cut = np.concatenate(([0], np.cumsum(per_list))).tolist()
    return [text[a:b] for a, b in zip(cut[:-1], cut[1:])]


# ---------------------------------------------------------------------------- outlines


def trace_loops(mask: np.ndarray) -> list[np.ndarray]:
    """Every boundary loop of a (H, W) mask as an (N, 2) int array of corner vertices (x, y).

    Only vertices where the outline turns are kept; each loop is implicitly closed.
    """
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    inside = m[1:-1, 1:-1]
    h, w = inside.shape
    # Boundary edges of inside pixels, each starting at a grid vertex, with its direction.
    starts, dirs = [], []
    for d, outside, (dx, dy) in (
        (0, ~m[:-2, 1:-1], (0, 0)),  # top edge: (c, r) -> (c + 1, r)
        (1, ~m[1:-1, 2:], (1, 0)),  # right edge: (c + 1, r) -> (c + 1, r + 1)
        (2, ~m[2:, 1:-1], (1, 1)),  # bottom edge: (c + 1, r + 1) -> (c, r + 1)
        (3, ~m[1:-1, :-2], (0, 1)),  # left edge: (c, r + 1) -> (c, r)
    ):
        r, c = np.nonzero(inside & outside)
        starts.append(np.stack([c + dx, r + dy], axis=1))
        dirs.append(np.full(r.size, d))
    start = np.concatenate(starts)
    direction = np.concatenate(dirs)
    n = len(start)
    if n == 0:
        return []
    end = start + _STEP[direction]
    stride = w + 1
    start_key = start[:, 1] * stride + start[:, 0]
    end_key = end[:, 1] * stride + end[:, 0]
    # At most two edges leave a vertex (two pixels touching at a corner only).
    first = np.full((h + 1) * stride, -1)
    second = np.full((h + 1) * stride, -1)
    order = np.argsort(start_key, kind="stable")
    keys = start_key[order]
    is_first = np.r_[True, keys[1:] != keys[:-1]]
    first[keys[is_first]] = order[is_first]
    second[keys[~is_first]] = order[~is_first]
    # Next edge: the only one leaving the end vertex, or at a corner-touch, the right turn
    # (towards the inside), which keeps diagonal neighbours in separate loops.
    a, b = first[end_key], second[end_key]
    turn_right = (direction + 1) % 4
    nxt = np.where((b >= 0) & (direction[np.maximum(b, 0)] == turn_right), b, a)
    loops, seen = [], np.zeros(n, dtype=bool)
    for e0 in range(n):
        if seen[e0]:
            continue
        edges = []
        e = e0
        while not seen[e]:
            seen[e] = True
            edges.append(e)
            e = int(nxt[e])
        edges = np.array(edges)
        d = direction[edges]
        corner = d != np.roll(d, 1)  # keep vertices where the direction changes
        loops.append(start[edges[corner]].astype(np.int64))
    return loops


def signed_area(loop: np.ndarray) -> float:
    """Shoelace area: positive for outer boundaries, negative for holes (see module doc)."""
    x, y = loop[:, 0].astype(np.float64), loop[:, 1].astype(np.float64)
    return float(0.5 * (np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def _contains(loop: np.ndarray, point) -> bool:
    """Point in polygon (even-odd ray casting); the point never lies on the grid lines."""
    px, py = point
    x0, y0 = loop[:, 0], loop[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    return bool(np.count_nonzero(crosses & (x_at > px)) % 2)


def _bridge(loops: list[np.ndarray]) -> np.ndarray:
    """Chain loops into one vertex list: loop 0, then for each other loop a zero-width cut
    from loop 0's first vertex to its first vertex, around it and back. Under the even-odd
    fill rule (pycocotools, OpenCV's fillPoly) each cut is crossed twice and adds nothing,
    so the result fills exactly what the loops fill: holes stay holes."""
    head = loops[0]
    parts = [head]
    for loop in loops[1:]:
        parts += [head[:1], loop, loop[:1]]
    if len(loops) > 1:
        parts.append(head[:1])
    return np.concatenate(parts)


def mask_polygons(mask: np.ndarray, offset=(0, 0)) -> list[list[float]]:
    """COCO polygons: one per outer boundary, its holes joined in by zero-width cuts.

    Returns [[x0, y0, x1, y1, ...], ...] in pixel-edge coordinates (plus `offset` (x, y),
    for a mask cropped out of a larger image); pycocotools rasterizes them back to `mask`.
    """
    loops = trace_loops(mask)
    outers = [lp for lp in loops if signed_area(lp) > 0]
    holes = [lp for lp in loops if signed_area(lp) < 0]
    owned: list[list[np.ndarray]] = [[o] for o in outers]
    if holes:
        areas = [signed_area(o) for o in outers]
        for hole in holes:
            # The object pixel beside the hole's first edge lies inside its owner only (and
            # in owners' owners): the smallest outer loop containing it owns the hole.
            d = _hole_first_direction(hole)
            p = hole[0] + _INSIDE[d]
            candidates = [i for i, o in enumerate(outers) if _contains(o, p)]
            owner = min(candidates, key=lambda i: areas[i])
            owned[owner].append(hole)
    ox, oy = offset
    out = []
    for group in owned:
        poly = _bridge(group).astype(np.float64) + (ox, oy)
        out.append([float(v) for v in poly.ravel()])
    return out


def mask_polygon(mask: np.ndarray, offset=(0, 0)) -> list[float]:
    """All loops of a mask chained into ONE polygon (YOLO-seg allows one per object)."""
    loops = trace_loops(mask)
    if not loops:
        return []
    loops.sort(key=lambda lp: -signed_area(lp))  # the largest outer boundary first
    poly = _bridge(loops).astype(np.float64) + offset
    return [float(v) for v in poly.ravel()]


def _hole_first_direction(loop: np.ndarray) -> int:
    """Direction of a loop's first edge (from vertex 0 to vertex 1)."""
    dx, dy = np.sign(loop[1 % len(loop)] - loop[0])
    return {(1, 0): 0, (0, 1): 1, (-1, 0): 2, (0, -1): 3}[(int(dx), int(dy))]


# ------------------------------------------------------------ OpenCV (pixel-centre) polygons
#
# OpenCV's fillPoly (Ultralytics' YOLO-seg loader, supervision) treats a vertex (x, y) as the
# centre of pixel (column x, row y) and fills the polygon's outline pixels as well as its
# inside. A polygon meant for it therefore runs through the centres of the mask's boundary
# pixels (as cv2.findContours returns them): the outline above, moved half a pixel inwards.
# Holes hang off the loop above them by a vertical cut through object pixels only, so the
# one polygon fills exactly the mask; separate parts of one object can only be joined by a
# cut through background (the shortest one between their vertices), whose pixels are
# filled too.


def _inset_loop(loop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An outline loop (pixel-corner vertices, inside on the right) moved half a pixel
    inwards: (vertices at boundary pixel centres as integer (column, row), repeats removed;
    for each outline vertex k, the index of its inset vertex)."""
    nxt = np.roll(loop, -1, axis=0)
    prev = np.roll(loop, 1, axis=0)
    d_out = np.sign(nxt - loop)
    d_in = np.sign(loop - prev)
    # Inside normal of a direction (dx, dy) with y down and the inside on the right: (-dy, dx).
    n_out = np.stack([-d_out[:, 1], d_out[:, 0]], axis=1)
    n_in = np.stack([-d_in[:, 1], d_in[:, 0]], axis=1)
    full = (loop * 2 + n_in + n_out - 1) // 2  # twice the inset corner point -> pixel index
    new = np.r_[True, np.any(full[1:] != full[:-1], axis=1)]
    index = np.cumsum(new) - 1
    out = full[new]
    if len(out) > 1 and np.array_equal(out[0], out[-1]):
        out = out[:-1]
        index[index == len(out)] = 0
    return out.astype(np.int64), index


def _top_edges(loops: list[np.ndarray]) -> dict[int, list[tuple[int, int, int, int]]]:
    """Row -> [(x_start, x_end, loop, edge)] of the eastward (top-of-pixel) outline edges."""
    table: dict[int, list[tuple[int, int, int, int]]] = {}
    for li, loop in enumerate(loops):
        nxt = np.roll(loop, -1, axis=0)
        for k in np.flatnonzero((nxt[:, 1] == loop[:, 1]) & (nxt[:, 0] > loop[:, 0])):
            table.setdefault(int(loop[k, 1]), []).append((int(loop[k, 0]), int(nxt[k, 0]), li, int(k)))
    return table


def _pixel_centre_parts(mask: np.ndarray, offset) -> list[np.ndarray]:
    """Each 4-connected part's polygon through its boundary pixel centres, as an (N, 2)
    float array plus `offset`, largest first. A part one pixel wide has 1 or 2 vertices."""
    m = np.asarray(mask, dtype=bool)
    loops = trace_loops(m)
    if not loops:
        return []
    insets = [_inset_loop(lp) for lp in loops]
    is_outer = [signed_area(lp) > 0 for lp in loops]
    top = _top_edges(loops)
    hang: dict[int, dict[int, list[tuple[int, int, int]]]] = {}  # loop -> inset vertex -> holes
    entry: dict[int, int] = {}  # hole -> its inset vertex the cut reaches
    for li, (inset, _index) in enumerate(insets):
        if is_outer[li]:
            continue
        k = int(np.lexsort((inset[:, 0], inset[:, 1]))[0])  # topmost, then leftmost vertex
        x, y = (int(v) for v in inset[k])
        while y > 0 and m[y - 1, x]:  # up the column through object pixels
            y -= 1
        _x0, _x1, parent, edge = next(e for e in top[y] if e[0] <= x < e[1])
        after = int(insets[parent][1][edge])
        hang.setdefault(parent, {}).setdefault(after, []).append((x, y, li))
        entry[li] = k

    def walk(li: int, first: int) -> list[np.ndarray]:
        """Loop li's inset vertices from `first` round to just before `first`, holes spliced in."""
        inset = insets[li][0]
        out: list[np.ndarray] = []
        for i in range(len(inset)):
            v = (first + i) % len(inset)
            out.append(inset[v][None])
            for x, y, hole in sorted(hang.get(li, {}).get(v, [])):
                q = np.array([[x, y]])
                out += [q, *walk(hole, entry[hole]), insets[hole][0][entry[hole]][None], q]
        return out

    parts = sorted((np.concatenate(walk(li, 0)) for li in range(len(loops)) if is_outer[li]), key=len, reverse=True)
    return [part.astype(np.float64) + offset for part in parts]


def _at_least_three(poly: np.ndarray) -> np.ndarray:
    """The polygon with its last vertex repeated up to 3 vertices. Readers take fewer for
    something else: 4 numbers are a box to pycocotools' frPyObjects, a YOLO line of 5 fields
    a detection, and detectron2 drops polygons under 6 numbers. cv2.fillPoly fills the same
    pixels (a repeated vertex adds a zero-length edge)."""
    return np.concatenate([poly, np.repeat(poly[-1:], 3 - len(poly), axis=0)]) if len(poly) < 3 else poly


def mask_polygons_pixel_centres(mask: np.ndarray, offset=(0, 0)) -> list[list[float]]:
    """One polygon per 4-connected part of the mask, through its boundary pixel centres.

    Returns [[x0, y0, x1, y1, ...], ...] in pixel-centre coordinates (pixel (row i, column j)
    is the point (j, i)), plus `offset`, largest part first, each of at least 3 vertices (a
    part one pixel wide repeats its last one). cv2.fillPoly of the polygons (together or one
    by one) gives back `mask` exactly, holes included.
    """
    return [_at_least_three(part).ravel().tolist() for part in _pixel_centre_parts(mask, offset)]


def mask_polygon_pixel_centres(mask: np.ndarray, offset=(0, 0)) -> list[float]:
    """The mask as ONE polygon through boundary pixel centres (YOLO-seg: one per object),
    of at least 3 vertices.

    cv2.fillPoly of it gives back `mask` exactly when the mask is one 4-connected part
    (holes included); separate parts are joined, largest first, by the shortest straight
    cut between a vertex of each, whose pixels are filled too (as Ultralytics joins them).
    """
    # Joined unpadded: padding a part first would add vertices to the joined polygon.
    parts = _pixel_centre_parts(mask, offset)
    if not parts:
        return []
    poly = parts[0]
    for part in parts[1:]:
        d = ((poly[:, None, :] - part[None, :, :]) ** 2).sum(axis=2)
        a, b = np.unravel_index(int(np.argmin(d)), d.shape)
        loop = np.concatenate([part[b:], part[: b + 1]])
        poly = np.concatenate([poly[: a + 1], loop, poly[a:]])
    return [float(v) for v in _at_least_three(poly).ravel()]
