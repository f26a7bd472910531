"""Per-object pixel statistics shared by annotators of one frame, cached in frame.cache.

- full (unoccluded) silhouettes rasterized from geometry at pixel centres (raster.py),
- visible pixel counts and extents from the instance pass (one vectorized pass per frame),
- occlusion ratio: 1 - visible / unoccluded pixels inside the image,
- truncation ratio: the fraction of the object's full projected area outside the image.

Each object is rasterized at most once per frame for the image, and at most once more on an
extended canvas when (and only when) its projection crosses the image border.
"""

from __future__ import annotations

import math

import numpy as np

from ..frame import FrameData
from . import raster
from .raster import near_plane, project_camera_triangles, rasterize

# Extended-canvas budget for truncation, in pixels: max(_CANVAS_FACTOR * W * H, _CANVAS_MIN).
# Projections that need more are rasterized at a reduced scale (see truncation_ratio).
_CANVAS_FACTOR = 4
_CANVAS_MIN = 1 << 20


def _require_geometry(frame: FrameData, instance_id: int) -> None:
    obj = frame.objects[instance_id]
    if not obj.has_geometry:
        raise ValueError(
            f"object {obj.path} has no triangles: the capture did not export geometry "
            "(an annotator that needs it must set needs_geometry = True)"
        )


def _triangles(frame: FrameData, instance_id: int) -> np.ndarray:
    _require_geometry(frame, instance_id)
    return frame.objects[instance_id].world_triangles()


def _vertex_pixels(frame: FrameData, instance_id: int) -> tuple[np.ndarray, bool]:
    """(V, 2) pixel coordinates of the object's mesh vertices, and whether the near or the
    far plane cuts it (a vertex nearer than clip_start or farther than clip_end: then only
    clipped triangles are meaningful, as Cycles renders nothing outside that range). The
    first call of a frame projects every object with geometry at once."""
    cache = frame.cache.setdefault("vertex_pixels", {})
    if instance_id not in cache:
        _require_geometry(frame, instance_id)
        todo = [i for i, o in frame.objects.items() if o.has_geometry and i not in cache]
        todo = todo if instance_id in todo else [instance_id, *todo]
        verts = [frame.objects[i].mesh()[0] for i in todo]
        cam = frame.camera.to_camera(np.concatenate(verts)) if verts else np.zeros((0, 3))
        near = near_plane(frame.camera)
        px, _depth = frame.camera.project_camera(cam)
        px = raster.sample_frame(px)  # as projected_triangles': where Cycles samples
        bounds = np.cumsum([0, *(len(v) for v in verts)])
        # Far beyond any image (or not finite): the clipped-triangle path, which drops what
        # overflows, stands in as for a near-plane cut. Counted per object in one pass.
        # (Both coordinates' tests joined by one & : numpy's all(axis=1) over rows of two is
        # a slow reduction.)
        small = np.abs(px) < 1e100
        odd = ~(small[:, 0] & small[:, 1]) | (-cam[:, 2] < near) | (-cam[:, 2] > frame.camera.clip_end)
        odd_before = np.concatenate([[0], np.cumsum(odd)])
        cut = (odd_before[bounds[1:]] - odd_before[bounds[:-1]]) > 0
        # Each object's pixel bounds too (truncation's quick test), for all in one pass.
        extents = frame.cache.setdefault("vertex_extents", {})
        filled = [k for k in range(len(todo)) if bounds[k + 1] > bounds[k]]
        if filled:
            lo = np.minimum.reduceat(px, bounds[filled], axis=0)
            hi = np.maximum.reduceat(px, bounds[filled], axis=0)
            extents.update(zip((todo[k] for k in filled), zip(lo, hi)))
        b, cut = bounds.tolist(), cut.tolist()  # Python ints and bools: no numpy scalars
        for k, i in enumerate(todo):
            cache[i] = (px[b[k] : b[k + 1]], cut[k])
    return cache[instance_id]


def _coverage(frame: FrameData, instance_id: int) -> raster.Coverage:
    """The object's silhouette: pixel centres it covers, ignoring everything in front.

    The first call of a frame rasterizes every labelled object with geometry at once
    (raster.rasterize_chains: one running sum for all of them). A mesh wholly beyond the
    near plane and within the far one is rasterized from its boundary chain (front-facing
    triangles only for a closed surface, shared edges cancelled: mostly its contour), one
    cut by either plane by rasterizing its clipped triangles: the same pixels either way."""
    cache = frame.cache.setdefault("coverage", {})
    cov = cache.get(instance_id)
    if cov is None:
        _require_geometry(frame, instance_id)
        # Labelled objects are the ones boxes and occlusion ask about; an unlabelled one
        # (a ground plane filling the image) is rasterized only when asked for.
        todo = [i for i, o in frame.objects.items() if o.has_geometry and o.labels and i not in cache]
        todo = todo if instance_id in todo else [instance_id, *todo]
        whole = [i for i in todo if not _vertex_pixels(frame, i)[1]]
        chains = _mesh_chains(frame, whole)
        frame.cache.setdefault("chains", {}).update(zip(whole, chains))  # truncation reuses them
        cache.update(zip(whole, raster.rasterize_chains(chains, frame.width, frame.height)))
        for i in todo:
            if i not in cache:  # cut by the near or far plane: its clipped triangles (rare)
                cache[i] = raster.Coverage(0, 0, rasterize(projected_triangles(frame, i), frame.width, frame.height))
        cov = cache[instance_id]
    return cov


def _mesh_chains(frame: FrameData, ids: list[int]) -> list[tuple]:
    """raster.mesh_chain of each object (wholly between the near and far planes), in one call."""
    if not ids:
        return []
    px, parts, winding = [], [], []
    for i in ids:
        obj = frame.objects[i]
        if obj.faces is not None and obj.twins is None:  # a modified mesh: found here, once
            obj.twins = raster.half_edge_twins(obj.faces)
        _verts, f, tw = obj.mesh()
        px.append(_vertex_pixels(frame, i)[0])
        parts.append((len(px[-1]), f, tw))
        winding.append(np.full(len(f), obj.closed))
    faces, twins = raster.join_meshes(parts)
    p, q, w, face = raster.mesh_chain(np.concatenate(px), faces, twins, np.concatenate(winding))
    face_start = np.cumsum([0, *(len(f) for _n, f, _t in parts)])
    cuts = np.searchsorted(face, face_start)
    return [(p[a:b], q[a:b], w[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]


def full_silhouette(frame: FrameData, instance_id: int) -> np.ndarray:
    """(H, W) bool: pixels whose centre the object covers, ignoring everything in front."""
    cache = frame.cache.setdefault("silhouettes", {})
    mask = cache.get(instance_id)
    if mask is None:
        mask = cache[instance_id] = _coverage(frame, instance_id).full(frame.width, frame.height)
    return mask


def silhouette_pixels(frame: FrameData, instance_id: int) -> int:
    """Number of image pixels the object's full silhouette covers (its unoccluded area)."""
    cache = frame.cache.setdefault("silhouette_pixels", {})
    n = cache.get(instance_id)
    if n is None:
        n = cache[instance_id] = _coverage(frame, instance_id).count()
    return n


def _visible_stats(frame: FrameData) -> tuple[dict[int, int], dict[int, tuple[int, int, int, int]]]:
    """Per instance id of the instance pass: pixel count and inclusive (x0, y0, x1, y1)."""
    cached = frame.cache.get("visible_stats")
    if cached is not None:
        return cached
    # From the frame's row-wise runs of ids (shared with the segmentations): a few thousand
    # runs instead of one bincount entry per pixel.
    stats = frame.instance_stats()
    count_of, extent_of = {}, {}
    columns = (stats.ids, stats.counts, stats.x0, stats.y0, stats.x1, stats.y1)
    for iid, n, x0, y0, x1, y1 in zip(*(c.tolist() for c in columns)):
        if iid == 0:
            continue
        count_of[iid] = n
        extent_of[iid] = (x0, y0, x1, y1)
    frame.cache["visible_stats"] = (count_of, extent_of)
    return count_of, extent_of


def visible_counts(frame: FrameData) -> dict[int, int]:
    """instance id -> number of pixels where the object is the visible surface."""
    return _visible_stats(frame)[0]


def visible_extents(frame: FrameData) -> dict[int, tuple[int, int, int, int]]:
    """instance id -> inclusive (x_min, y_min, x_max, y_max) of its visible pixels."""
    return _visible_stats(frame)[1]


def in_view(frame: FrameData, instance_id: int) -> bool:
    """True if the object covers at least one pixel, occluded or not: its amodal mask
    (full silhouette united with its visible pixels) is not empty."""
    return visible_counts(frame).get(instance_id, 0) > 0 or silhouette_pixels(frame, instance_id) > 0


def amodal_mask(frame: FrameData, instance_id: int) -> np.ndarray:
    """(H, W) bool: the object's full extent in the image as if nothing occluded it.

    Its full silhouette (pixel centres, raster.py) united with the pixels where it is the
    visible surface. Cycles' id sample goes through the pixel centre too, so the union adds
    nothing but pixels where the renderer and the rasterizer part ways (a centre exactly
    on an edge, float rounding): visible pixels are always a subset of the amodal mask, the
    loose box is its extent and occlusionRatio = 1 - visible / amodal pixels, exactly.
    """
    cache = frame.cache.setdefault("amodal", {})
    mask = cache.get(instance_id)
    if mask is None:
        mask = full_silhouette(frame, instance_id)
        extra = _visible_outside_silhouette(frame, instance_id)
        if extra is not None:
            x0, y0, crop = extra
            mask = mask.copy()
            mask[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] |= crop
        cache[instance_id] = mask
    return mask


def amodal_extent(frame: FrameData, instance_id: int) -> tuple[int, int, int, int] | None:
    """Inclusive (x_min, y_min, x_max, y_max) of amodal_mask(frame, instance_id), or None
    when it is empty: from the silhouette's local mask and the visible pixels it misses,
    without building the image-sized mask (the loose box of every object, every frame)."""
    cov = _coverage(frame, instance_id)
    parts = [(cov.x0, cov.y0, cov.mask)]
    extra = _visible_outside_silhouette(frame, instance_id)
    if extra is not None:
        parts.append(extra)
    boxes = []
    for x0, y0, mask in parts:
        ext = raster.silhouette_extent(mask)
        if ext is not None:
            boxes.append((ext[0] + x0, ext[1] + y0, ext[2] + x0, ext[3] + y0))
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def full_extent(frame: FrameData, instance_id: int) -> tuple[int, int, int, int] | None:
    """Inclusive (x_min, y_min, x_max, y_max) of the object's whole projection, occluders
    ignored and not clipped to the image (x_min, y_min < 0 and x_max >= W, y_max >= H where
    it runs past the border), or None when it covers no pixel of the image (no row).

    amodal_extent when nothing lies outside the image (truncation 0); else the pixel
    centres it covers on truncation_ratio's canvas past the border, united with
    amodal_extent (exact); where that canvas was reduced (a projection reaching far past
    the border), the pixel centres inside the bounds of its projected (near- and
    far-clipped) triangles, united with amodal_extent (up to a pixel wide). Only a truncated object costs more than its loose box: the bounds
    of its vertices projected already (those of its faces: a loose vertex renders nothing),
    or of its clipped triangles when the near or far plane cuts it."""
    clipped = amodal_extent(frame, instance_id)
    if clipped is None or truncation_ratio(frame, instance_id) <= 0.0 or not frame.objects[instance_id].has_geometry:
        return clipped
    drawn = frame.cache.get("drawn_past_border", {})
    if instance_id in drawn:  # rasterized past the border at scale 1: exact
        ext = drawn[instance_id]
        if ext is None:
            return clipped
        return (min(ext[0], clipped[0]), min(ext[1], clipped[1]), max(ext[2], clipped[2]), max(ext[3], clipped[3]))
    vertex_px, cut = _vertex_pixels(frame, instance_id)
    px = None
    if len(vertex_px) == 0:
        return clipped
    if cut:
        px = projected_triangles(frame, instance_id).reshape(-1, 2)
    else:  # the vertices its faces use: projected_triangles' points, without building them
        used = np.zeros(len(vertex_px), dtype=bool)
        used[frame.objects[instance_id].mesh()[1]] = True
        if not used.all():
            px = vertex_px[used]
    if px is None:  # every vertex: their bounds, found for every object at once
        lo, hi = frame.cache["vertex_extents"][instance_id]
    elif len(px) == 0:
        return clipped
    else:  # per column: a reduction over rows of two is slow
        lo = np.array([px[:, 0].min(), px[:, 1].min()])
        hi = np.array([px[:, 0].max(), px[:, 1].max()])
    x0, y0 = (int(v) for v in np.ceil(lo - 0.5))
    x1, y1 = (int(v) for v in np.floor(hi - 0.5))
    return (min(x0, clipped[0]), min(y0, clipped[1]), max(x1, clipped[2]), max(y1, clipped[3]))


def _visible_outside_silhouette(frame: FrameData, instance_id: int):
    """(x0, y0, crop) of the object's visible pixels its silhouette misses (over the box
    of its visible pixels), or None when there are none (the usual case)."""
    cache = frame.cache.setdefault("visible_outside_silhouette", {})
    if instance_id in cache:
        return cache[instance_id]
    extent = visible_extents(frame).get(instance_id)
    extra = None
    if extent is not None:
        x0, y0, x1, y1 = extent  # only the visible pixels' box is read, not the whole image
        crop = np.asarray(frame.passes["instance"])[y0 : y1 + 1, x0 : x1 + 1] == instance_id
        crop &= ~_coverage(frame, instance_id).window(x0, y0, x1, y1)
        extra = (x0, y0, crop) if crop.any() else None
    cache[instance_id] = extra
    return extra


def amodal_pixels(frame: FrameData, instance_id: int) -> int:
    """Pixels of the object's amodal mask (its unoccluded area inside the image)."""
    cache = frame.cache.setdefault("amodal_pixels", {})
    n = cache.get(instance_id)
    if n is None:
        extra = _visible_outside_silhouette(frame, instance_id)
        n = silhouette_pixels(frame, instance_id) + (0 if extra is None else int(np.count_nonzero(extra[2])))
        cache[instance_id] = n
    return n


def occlusion_ratio(frame: FrameData, instance_id: int) -> float:
    """1 - visible / amodal pixels inside the image; 0 if the object covers no pixel.

    Visible pixels (instance pass) are a subset of the amodal mask, so the ratio lies in
    [0, 1] and is exact for what was rendered.
    """
    total = amodal_pixels(frame, instance_id)
    if total == 0:
        return 0.0
    visible = visible_counts(frame).get(instance_id, 0)
    return float(1.0 - visible / total)


def projected_triangles(frame: FrameData, instance_id: int) -> np.ndarray:
    """(N, 3, 2) pixel coordinates of the object's triangles after clipping to the camera's
    near and far planes (clip_start, clip_end: what Cycles' camera rays reach).

    The projection raster.silhouette rasterizes; not limited to the image.
    """
    cache = frame.cache.setdefault("projected_triangles", {})
    px = cache.get(instance_id)
    if px is None:
        vertex_px, cut = _vertex_pixels(frame, instance_id)
        if cut:
            tri = _triangles(frame, instance_id)
            cam = frame.camera.to_camera(tri.reshape(-1, 3)).reshape(-1, 3, 3)
            px = project_camera_triangles(frame.camera, cam, clip_far=True) if tri.shape[0] else np.zeros((0, 3, 2))
        else:
            px = vertex_px[frame.objects[instance_id].mesh()[1]].reshape(-1, 3, 2)
        px = px[np.isfinite(px).all(axis=(1, 2))]
        cache[instance_id] = px
    return px


def silhouette_triangles(frame: FrameData, instance_id: int) -> np.ndarray:
    """The projected triangles whose union is the object's silhouette: those of one winding
    when the object is a closed surface wholly between the near and far planes (raster.
    is_closed_surface; about half the work, the same pixels: the tie rule decides a centre
    as if it were moved an infinitesimal step right and down, so only the union's point
    set matters), else all of them."""
    cache = frame.cache.setdefault("silhouette_triangles", {})
    px = cache.get(instance_id)
    if px is None:
        px = projected_triangles(frame, instance_id)
        if frame.objects[instance_id].closed and not _vertex_pixels(frame, instance_id)[1]:
            e1, e2 = px[:, 1] - px[:, 0], px[:, 2] - px[:, 0]
            px = px[e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] > 0]
        cache[instance_id] = px
    return px


def truncation_ratio(frame: FrameData, instance_id: int) -> float:
    """Fraction of the object's full projected area (occlusion ignored) outside the image.

    0.0 when the projection lies inside the image, 1.0 when none of it covers a pixel of the
    image (or nothing of it is in front of the camera). An object without triangles (hair
    curves, point clouds, volumes) has its visible pixels as its projection (its amodal
    mask): 0.0 when it is visible, 1.0 when not. Otherwise the projection is
    rasterized (pixel centres, as the silhouette) on a canvas extended past the image border
    by the projection's extent: truncation = outside / (inside + outside) pixels. Canvases
    larger than max(4 W H, 2^20) pixels (objects reaching far outside the image, e.g. close
    to the camera plane) are rasterized at a reduced scale s, the outside count scaled by
    1 / s^2: the ratio is then an estimate, good to about the outline length at that scale.
    A mesh wholly between the near and far planes is rasterized from the edge chain its
    silhouette came from, one cut by either from its clipped triangles.
    """
    cache = frame.cache.setdefault("truncation", {})
    if instance_id in cache:
        return cache[instance_id]
    w, h = frame.width, frame.height
    inside = silhouette_pixels(frame, instance_id)  # also finds the chain, when there is one
    vertex_px, cut = _vertex_pixels(frame, instance_id)
    if inside and not cut and len(vertex_px):
        lo, hi = frame.cache["vertex_extents"][instance_id]
        if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= w and hi[1] <= h:  # the usual case, cheaply
            cache[instance_id] = 0.0
            return 0.0
    chain = frame.cache.get("chains", {}).get(instance_id)
    if chain is not None:
        points = np.concatenate(chain[:2])
    else:
        px = silhouette_triangles(frame, instance_id)  # their union is the whole projection
        points = px.reshape(-1, 2)
    if points.shape[0] == 0:  # no triangles in front of the camera; visible: none either
        ratio = 0.0 if visible_counts(frame).get(instance_id, 0) else 1.0
    else:
        lo, hi = points.min(axis=0), points.max(axis=0)
        if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= w and hi[1] <= h:
            ratio = 0.0  # no pixel centre outside the image can be covered
        elif inside == 0:
            ratio = 1.0
        else:
            canvas = _Canvas(lo, hi, w, h)
            outside = canvas.outside_of_chain(chain) if chain is not None else canvas.outside_of_triangles(px)
            if canvas.scale == 1.0:  # full_extent's exact box
                frame.cache.setdefault("drawn_past_border", {})[instance_id] = canvas.extent
            ratio = float(min(1.0, max(0.0, outside / (inside + outside))))
    cache[instance_id] = ratio
    return ratio


class _Canvas:
    """The image extended past its border to hold a projection with bounds lo..hi, at
    scale 1, or less when that exceeds the budget (see truncation_ratio)."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, w: int, h: int):
        self.w, self.h = w, h
        self.left = int(math.ceil(max(0.0, -lo[0])))
        self.top = int(math.ceil(max(0.0, -lo[1])))
        right = int(math.ceil(max(0.0, hi[0] - w)))
        bottom = int(math.ceil(max(0.0, hi[1] - h)))
        cw, ch = w + self.left + right, h + self.top + bottom
        budget = max(_CANVAS_FACTOR * w * h, _CANVAS_MIN)
        self.scale = s = min(1.0, math.sqrt(budget / (float(cw) * float(ch))))
        self.size = max(1, int(math.ceil(cw * s))), max(1, int(math.ceil(ch * s)))
        # Canvas pixels whose centre (j + 0.5, i + 0.5) / scale falls inside the image region.
        self.image = (
            max(int(math.ceil(self.left * s - 0.5)), 0),
            max(int(math.ceil(self.top * s - 0.5)), 0),
            max(int(math.ceil((self.left + w) * s - 0.5)), 0),
            max(int(math.ceil((self.top + h) * s - 0.5)), 0),
        )

    def _record_extent(self, x0: int, y0: int, mask: np.ndarray) -> None:
        """self.extent: the inclusive image-pixel extent of what the canvas drew (mask's
        top-left canvas pixel (x0, y0)), at scale 1 only (None at a reduced scale)."""
        ext = raster.silhouette_extent(mask) if self.scale == 1.0 else None
        self.extent = (
            None
            if ext is None
            else (ext[0] + x0 - self.left, ext[1] + y0 - self.top, ext[2] + x0 - self.left, ext[3] + y0 - self.top)
        )

    def to_canvas(self, points: np.ndarray) -> np.ndarray:
        return (points + np.array([self.left, self.top], dtype=np.float64)) * self.scale

    def _outside(self, total: int, inner: int) -> float:
        return (total - inner) / (self.scale * self.scale)

    def outside_of_chain(self, chain) -> float:
        """Covered pixel centres outside the image, from the silhouette's edge chain."""
        p, q, weight = chain
        cov = raster.rasterize_chains([(self.to_canvas(p), self.to_canvas(q), weight)], *self.size)[0]
        self._record_extent(cov.x0, cov.y0, cov.mask)
        j0, i0, j1, i1 = self.image
        # The image's part of the canvas, counted where the mask is (no canvas-sized window).
        inner = cov.count_in(j0, i0, j1 - 1, i1 - 1) if j0 < j1 and i0 < i1 else 0
        return self._outside(cov.count(), inner)

    def outside_of_triangles(self, px: np.ndarray) -> float:
        """Covered pixel centres outside the image, from projected triangles."""
        w, h = self.w, self.h
        # Only triangles reaching past the border can cover a centre outside the image (one
        # inside it covers centres inside only, the argument of the ratio-0 case above): the
        # others would only add to `inner` below, so they are not rasterized at all.
        t_lo, t_hi = px.min(axis=1), px.max(axis=1)
        px = px[(t_lo[:, 0] < 0) | (t_lo[:, 1] < 0) | (t_hi[:, 0] > w) | (t_hi[:, 1] > h)]
        drawn = self.to_canvas(px)
        canvas = rasterize(drawn, *self.size)
        if self.scale == 1.0 and len(drawn):  # the part past the border (with the amodal mask, the whole),
            # read over the drawn triangles' bounds only, not the whole canvas
            lo = np.clip(np.floor(drawn.reshape(-1, 2).min(axis=0)).astype(int), 0, None)
            hi = np.ceil(drawn.reshape(-1, 2).max(axis=0)).astype(int) + 1
            self._record_extent(int(lo[0]), int(lo[1]), canvas[lo[1] : hi[1], lo[0] : hi[0]])
        else:
            self.extent = None
        j0, i0, j1, i1 = self.image
        return self._outside(int(np.count_nonzero(canvas)), int(np.count_nonzero(canvas[i0:i1, j0:j1])))
