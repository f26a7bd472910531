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
from .raster import near_plane, project_camera_triangles, rasterize, rasterize_many

# Extended-canvas budget for truncation, in pixels: max(_CANVAS_FACTOR * W * H, _CANVAS_MIN).
# Projections that need more are rasterized at a reduced scale (see truncation_ratio).
_CANVAS_FACTOR = 4
_CANVAS_MIN = 1 << 20
# Instance ids up to this value are counted with direct bincounts; larger ones are compacted.
_DIRECT_IDS = 1 << 10
# Silhouettes are rasterized in batches of at most this many mask bytes.
_BATCH_BYTES = 64 << 20


def _triangles(frame: FrameData, instance_id: int) -> np.ndarray:
    obj = frame.objects[instance_id]
    if obj.triangles is None:
        raise ValueError(
            f"object {obj.path} has no triangles: the capture did not export geometry "
            "(an annotator that needs it must set needs_geometry = True)"
        )
    return obj.triangles


def full_silhouette(frame: FrameData, instance_id: int) -> np.ndarray:
    """(H, W) bool: pixels whose centre the object covers, ignoring everything in front.

    The first call of a frame rasterizes every object with geometry in one batched pass
    (rasterize_many: bitwise the per-object masks, without 30 separate passes)."""
    cache = frame.cache.setdefault("silhouettes", {})
    mask = cache.get(instance_id)
    if mask is None:
        _triangles(frame, instance_id)  # a clear error if the capture exported no geometry
        # Labelled objects are the ones boxes and occlusion ask about; an unlabelled one
        # (a ground plane filling the image) is rasterized only when asked for.
        todo = [i for i, o in frame.objects.items() if o.triangles is not None and o.labels and i not in cache]
        todo = todo if instance_id in todo else [instance_id, *todo]
        group = max(1, _BATCH_BYTES // max(1, frame.height * frame.width))
        for k in range(0, len(todo), group):
            ids = todo[k : k + group]
            masks = rasterize_many([silhouette_triangles(frame, i) for i in ids], frame.width, frame.height)
            cache.update(zip(ids, masks))
        mask = cache[instance_id]
    return mask


def silhouette_pixels(frame: FrameData, instance_id: int) -> int:
    """Number of image pixels the object's full silhouette covers (its unoccluded area)."""
    cache = frame.cache.setdefault("silhouette_pixels", {})
    n = cache.get(instance_id)
    if n is None:
        n = cache[instance_id] = int(np.count_nonzero(full_silhouette(frame, instance_id)))
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
        extent = visible_extents(frame).get(instance_id)
        if extent is not None:  # only the visible pixels' box is read, not the whole image
            x0, y0, x1, y1 = extent
            crop = np.asarray(frame.passes["instance"])[y0 : y1 + 1, x0 : x1 + 1] == instance_id
            if not mask[y0 : y1 + 1, x0 : x1 + 1][crop].all():
                mask = mask.copy()
                mask[y0 : y1 + 1, x0 : x1 + 1] |= crop
        cache[instance_id] = mask
    return mask


def amodal_pixels(frame: FrameData, instance_id: int) -> int:
    """Pixels of the object's amodal mask (its unoccluded area inside the image)."""
    cache = frame.cache.setdefault("amodal_pixels", {})
    n = cache.get(instance_id)
    if n is None:
        mask = amodal_mask(frame, instance_id)
        same = mask is full_silhouette(frame, instance_id)
        n = cache[instance_id] = silhouette_pixels(frame, instance_id) if same else int(np.count_nonzero(mask))
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
    """(N, 3, 2) pixel coordinates of the object's triangles after near-plane clipping.

    The projection raster.silhouette rasterizes; not limited to the image.
    """
    cache = frame.cache.setdefault("projected_triangles", {})
    px = cache.get(instance_id)
    if px is None:
        tri = _triangles(frame, instance_id)
        cam = frame.camera.to_camera(tri.reshape(-1, 3)).reshape(-1, 3, 3)
        # Whether the near plane cuts it open (silhouette_triangles needs it whole).
        frame.cache.setdefault("cut_by_near_plane", {})[instance_id] = bool(
            (-cam[:, :, 2] < near_plane(frame.camera)).any()
        )
        px = project_camera_triangles(frame.camera, cam) if tri.shape[0] else np.zeros((0, 3, 2))
        px = px[np.isfinite(px).all(axis=(1, 2))]
        cache[instance_id] = px
    return px


def silhouette_triangles(frame: FrameData, instance_id: int) -> np.ndarray:
    """The projected triangles whose union is the object's silhouette: those of one winding
    when the object is a closed surface wholly beyond the near plane (raster.
    is_closed_surface; about half the work, the same pixels: the tie rule decides a centre
    as if it were moved an infinitesimal step right and down, so only the union's point
    set matters), else all of them."""
    cache = frame.cache.setdefault("silhouette_triangles", {})
    px = cache.get(instance_id)
    if px is None:
        px = projected_triangles(frame, instance_id)
        if frame.objects[instance_id].closed and not frame.cache["cut_by_near_plane"][instance_id]:
            e1, e2 = px[:, 1] - px[:, 0], px[:, 2] - px[:, 0]
            px = px[e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] > 0]
        cache[instance_id] = px
    return px


def truncation_ratio(frame: FrameData, instance_id: int) -> float:
    """Fraction of the object's full projected area (occlusion ignored) outside the image.

    0.0 when the projection lies inside the image, 1.0 when none of it covers a pixel of the
    image (or nothing of it is in front of the camera). Otherwise the projection is
    rasterized (pixel centres, as the silhouette) on a canvas extended past the image border
    by the projection's extent: truncation = outside / (inside + outside) pixels. Canvases
    larger than max(4 W H, 2^20) pixels (objects reaching far outside the image, e.g. close
    to the camera plane) are rasterized at a reduced scale s, the outside count scaled by
    1 / s^2: the ratio is then an estimate, good to about the outline length at that scale.
    """
    cache = frame.cache.setdefault("truncation", {})
    if instance_id in cache:
        return cache[instance_id]
    w, h = frame.width, frame.height
    px = silhouette_triangles(frame, instance_id)  # their union is the whole projection
    inside = silhouette_pixels(frame, instance_id)
    if px.shape[0] == 0:
        ratio = 1.0
    else:
        lo = px.reshape(-1, 2).min(axis=0)
        hi = px.reshape(-1, 2).max(axis=0)
        if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= w and hi[1] <= h:
            ratio = 0.0  # no pixel centre outside the image can be covered
        elif inside == 0:
            ratio = 1.0
        else:
            outside = _outside_pixels(px, lo, hi, w, h)
            ratio = float(min(1.0, max(0.0, outside / (inside + outside))))
    cache[instance_id] = ratio
    return ratio


def _outside_pixels(px: np.ndarray, lo: np.ndarray, hi: np.ndarray, w: int, h: int) -> float:
    """Pixel centres covered by projected triangles outside the (w, h) image (an estimate
    when the extended canvas exceeds the budget)."""
    left = int(math.ceil(max(0.0, -lo[0])))
    top = int(math.ceil(max(0.0, -lo[1])))
    right = int(math.ceil(max(0.0, hi[0] - w)))
    bottom = int(math.ceil(max(0.0, hi[1] - h)))
    cw, ch = w + left + right, h + top + bottom
    budget = max(_CANVAS_FACTOR * w * h, _CANVAS_MIN)
    scale = min(1.0, math.sqrt(budget / (float(cw) * float(ch))))
    sw, sh = max(1, int(math.ceil(cw * scale))), max(1, int(math.ceil(ch * scale)))
    # Only triangles reaching past the border can cover a centre outside the image (one
    # inside it covers centres inside only, the argument of the ratio-0 case above): the
    # others would only add to `inner` below, so they are not rasterized at all.
    t_lo, t_hi = px.min(axis=1), px.max(axis=1)
    px = px[(t_lo[:, 0] < 0) | (t_lo[:, 1] < 0) | (t_hi[:, 0] > w) | (t_hi[:, 1] > h)]
    shifted = (px + np.array([left, top], dtype=np.float64)) * scale
    canvas = rasterize(shifted, sw, sh)
    # Canvas pixels whose centre (j + 0.5, i + 0.5) / scale falls inside the image region.
    j0 = int(math.ceil(left * scale - 0.5))
    j1 = int(math.ceil((left + w) * scale - 0.5))
    i0 = int(math.ceil(top * scale - 0.5))
    i1 = int(math.ceil((top + h) * scale - 0.5))
    total = int(np.count_nonzero(canvas))
    inner = int(np.count_nonzero(canvas[max(i0, 0) : max(i1, 0), max(j0, 0) : max(j1, 0)]))
    return (total - inner) / (scale * scale)
