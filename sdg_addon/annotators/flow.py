"""Optical flow from geometry, and Cycles' motion vectors (sequences).

forward_flow / backward_flow (exact, no estimation): a pixel's surface point (its pixel-
centre ray taken to the depth pass, as `pointcloud`) is moved by its object's transform
change between this frame and the next (previous) one, `M_other @ inv(M_this)`, and
projected with the other frame's camera. Flow = that position - the pixel centre, in
pixels, x right and y down (OpenCV / Sintel convention: pixel (x, y) of this frame shows
up at (x + u, y + v) in the other frame; Kubric's channels are the other way round, (v, u),
and its backward flow is the motion from the previous frame, -(v, u) of ours).

The validity mask says where the point is seen in the other frame; `status` says why not:
  0 valid        the point is in the image and is what the other frame shows there
  1 no surface   background (nothing hit): flow 0
  2 leaves       the point leaves the image (or goes behind the camera)
  3 occluded     in the image but hidden there (another surface, or its object hidden)
  4 no frame     the clip has no frame there (first frame: backward, last: forward): flow 0
"Is what the other frame shows" = the other frame's instance id at the pixel containing
the point is the same object and its depth agrees within `depth_tolerance` (relative) with
that pixel's, or with the surface's at the point's own position (interpolated over the
four pixel centres around it, when they all see the object: where depth changes fast
across pixels the centre's alone took visible points for hidden).
An object whose surface moves rigidly (its vertices in the other frame are its vertices
moved by one transform) moves by that transform: of its mesh when the object has one (also
when that mesh is animated below the object's root, as parts of `.blend` assets are), else
of its root. Any other surface (armatures, shape keys, deforming modifiers, parts of a
several-mesh object moving relative to each other) is followed point by point: the
triangle the pixel's point lies on, and the point's barycentric coordinates in it, are
found in this frame's evaluated mesh and taken to that triangle in the other frame's. A
mesh whose topology changes between the frames (vertex count) moves by its transform.
"""

from __future__ import annotations

import numpy as np

from ..config.fields import Field
from .base import Annotator, register_annotator
from .pointcloud import pixel_points

VALID, NO_SURFACE, LEAVES_IMAGE, OCCLUDED, NO_FRAME = 0, 1, 2, 3, 4

FLOW_OPTIONS = {
    # At least 1e-6: the depth pass is float32, whose own rounding (6e-8 of a depth) a smaller
    # tolerance takes for occlusion (0 made every pixel of a clip occluded, status 3).
    "depth_tolerance": Field(
        "depth_tolerance",
        "float",
        0.02,
        "relative depth difference still counted as the same surface; at least 1e-6, the float32 depth's own "
        "rounding being taken for occlusion below it",
        low=1e-6,
        high=1e6,
    ),
}


def geometric_flow(frame, key: str, depth_tolerance: float = 0.02) -> dict:
    """{"data": (H, W, 2) float32 flow to frame.neighbours[key], "info": {"valid": (H, W)
    bool, "status": (H, W) uint8 (codes above)}}."""
    depth = np.asarray(frame.passes["depth"])
    instance = np.asarray(frame.passes["instance"])
    h, w = depth.shape
    flow = np.zeros((h, w, 2), np.float32)
    status = np.full((h, w), NO_SURFACE, np.uint8)
    surface = np.isfinite(depth) & (depth > 0)
    other = frame.neighbours.get(key)
    if other is None:
        status[surface] = NO_FRAME
        return _result(flow, status)
    ys, xs = np.nonzero(surface)
    ids = instance[ys, xs]
    points = pixel_points(frame, ys, xs, "world")
    # One transform change per object present in the pixels (identity for id 0 / unknown).
    uniq, which = np.unique(ids, return_inverse=True)
    deltas = np.repeat(np.eye(4)[None], len(uniq), axis=0)
    gone = np.zeros(len(uniq), bool)
    for k, i in enumerate(uniq.tolist()):
        this = frame.objects.get(i)
        if this is None:
            continue
        there = other.object_to_world.get(i)
        if there is None:
            gone[k] = True  # hidden (or removed) in the other frame
            continue
        deltas[k] = there @ np.linalg.inv(this.motion_matrix)
    d = deltas[which]
    moved = np.einsum("nij,nj->ni", d[:, :3, :3], points) + d[:, :3, 3]
    for k, i in enumerate(uniq.tolist()):
        this, there = frame.objects.get(i), other.vertices.get(i)
        if this is None or gone[k] or there is None or this.faces is None or len(there) != len(this.vertices):
            continue
        if len(there) and not _moves_rigidly(this.vertices, there, deltas[k]):
            mine = np.flatnonzero(which == k)
            followed = follow_surface(points[mine], this.vertices, this.faces, there, frame.camera)
            found = np.isfinite(followed).all(axis=1)  # else (no triangle found) its transform's
            moved[mine[found]] = followed[found]
    uv, z = other.camera.project(moved)
    flow_px = uv - np.stack([xs + 0.5, ys + 0.5], axis=1)
    finite = np.all(np.isfinite(uv), axis=1) & (z > 0)
    inside = finite & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    st = np.full(len(ys), LEAVES_IMAGE, np.uint8)
    qx = np.clip(np.floor(np.where(inside, uv[:, 0], 0)).astype(np.int64), 0, w - 1)
    qy = np.clip(np.floor(np.where(inside, uv[:, 1], 0)).astype(np.int64), 0, h - 1)
    other_depth, other_ids = np.asarray(other.depth), np.asarray(other.instance)
    seen_depth = other_depth[qy, qx]
    agrees = np.abs(seen_depth - z) <= depth_tolerance * np.abs(z)
    # The pixel's centre sees the surface a fraction of a pixel from the point: where depth
    # changes fast across pixels (a floor towards the horizon, a face seen edge-on) the
    # point was taken for hidden on a surface nothing hides. So its depth is also compared
    # with the surface's at the point itself, interpolated over the four pixel centres
    # around it when they all see its object (1 / depth is linear across a plane's image;
    # depth itself in an orthographic one).
    near = _depth_at(other_depth, other_ids, ids, uv, inside, other.camera.projection == "perspective")
    agrees |= np.abs(near - z) <= depth_tolerance * np.abs(z)
    same = (other_ids[qy, qx] == ids) & agrees
    st[inside] = OCCLUDED
    st[inside & same & ~gone[which]] = VALID
    status[ys, xs] = st
    flow[ys, xs] = np.where(finite[:, None] & ~gone[which][:, None], flow_px, 0.0).astype(np.float32)
    return _result(flow, status)


def _depth_at(depth, instance, ids, uv, inside, perspective: bool) -> np.ndarray:
    """Depth of the other frame's surface at each point's own position `uv` (pixels):
    bilinear over the four pixel centres around it, of 1 / depth in a perspective image
    (linear across a plane's image) or of depth in an orthographic one; NaN where one of the
    four sees another object or nothing, or the point is not in the image."""
    h, w = depth.shape
    out = np.full(len(ids), np.nan)
    if not inside.any():
        return out
    # In pixel-centre coordinates; within half a pixel of the border, extrapolated from the
    # two centres nearest it (still exact on a plane).
    u, v, obj = uv[inside, 0] - 0.5, uv[inside, 1] - 0.5, ids[inside]
    x0 = np.clip(np.floor(u).astype(np.int64), 0, max(w - 2, 0))
    y0 = np.clip(np.floor(v).astype(np.int64), 0, max(h - 2, 0))
    ax, ay = u - x0, v - y0
    xs, ys = np.minimum([x0, x0 + 1], w - 1), np.minimum([y0, y0 + 1], h - 1)
    total = np.zeros(len(u))
    ok = np.ones(len(u), bool)
    for i, wx in ((0, 1 - ax), (1, ax)):
        for j, wy in ((0, 1 - ay), (1, ay)):
            d = depth[ys[j], xs[i]].astype(np.float64)
            ok &= (instance[ys[j], xs[i]] == obj) & np.isfinite(d) & (d > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                total += wx * wy * (1.0 / d if perspective else d)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[inside] = np.where(ok, 1.0 / total if perspective else total, np.nan)
    return out


def _moves_rigidly(verts: np.ndarray, verts_there: np.ndarray, delta: np.ndarray) -> bool:
    """Whether `delta` takes every vertex to its place in the other frame (float noise
    aside: 1e-6 of the object's size and distance from the origin)."""
    predicted = verts @ delta[:3, :3].T + delta[:3, 3]
    scale = max(1.0, float(np.abs(verts).max()), float(np.abs(verts_there).max()))
    return float(np.abs(predicted - verts_there).max()) <= 1e-6 * scale


def follow_surface(points, verts, faces, verts_there, camera, max_pairs: int = 2_000_000) -> np.ndarray:
    """Points (N, 3) on a mesh's surface (world, this frame) taken to the same place of
    the same triangles in the other frame: for each point, the triangle it lies on (of the
    triangles whose projection's bounding box holds the point's pixel, the nearest: the
    point's distance to its plane plus how far outside the triangle it is) and its
    barycentric coordinates there, applied to `verts_there` (the same mesh, other frame);
    NaN where no triangle holds the point."""
    points = np.asarray(points, np.float64)
    tri = verts[faces]  # (T, 3, 3)
    uv, z = camera.project(verts)
    uv_t, z_t = uv[faces], z[faces]
    w, h = camera.width, camera.height
    # Pixel index range whose centres the triangle's projection can hold (+1 px of slack);
    # a triangle reaching behind the camera may cover any pixel.
    whole = ~np.all(np.isfinite(uv_t).all(axis=2) & (z_t > 0), axis=1)
    lo = np.where(whole[:, None], 0, np.floor(np.nan_to_num(uv_t.min(axis=1)) - 1.0))
    hi = np.where(whole[:, None], [w - 1, h - 1], np.ceil(np.nan_to_num(uv_t.max(axis=1)) + 1.0))
    lo = np.clip(lo, 0, [w - 1, h - 1]).astype(np.int64)
    hi = np.clip(hi, 0, [w - 1, h - 1]).astype(np.int64)
    puv, _ = camera.project(points)
    px = np.clip(np.floor(np.nan_to_num(puv)).astype(np.int64), 0, [w - 1, h - 1])
    index = np.full((h, w), -1, np.int64)
    index[px[:, 1], px[:, 0]] = np.arange(len(points))  # one point per pixel (pixel centres)
    best = np.full(len(points), np.inf)
    best_bary = np.zeros((len(points), 3))
    best_tri = np.zeros(len(points), np.int64)
    spans = (hi - lo + 1).prod(axis=1)
    start = 0
    while start < len(faces):
        end = start + 1
        total = spans[start]
        while end < len(faces) and total + spans[end] <= max_pairs:
            total += spans[end]
            end += 1
        t = np.repeat(np.arange(start, end), spans[start:end])
        offset = np.arange(len(t)) - np.repeat(np.cumsum(spans[start:end]) - spans[start:end], spans[start:end])
        width = hi[t, 0] - lo[t, 0] + 1
        cx, cy = lo[t, 0] + offset % width, lo[t, 1] + offset // width
        n = index[cy, cx]
        keep = n >= 0
        t, n = t[keep], n[keep]
        score, bary = _on_triangle(points[n], tri[t])
        order = np.lexsort((score, n))  # per point, its best candidate first
        t, n, score, bary = t[order], n[order], score[order], bary[order]
        first = np.ones(len(n), bool)
        first[1:] = n[1:] != n[:-1]
        t, n, score, bary = t[first], n[first], score[first], bary[first]
        better = score < best[n]
        best[n[better]], best_bary[n[better]], best_tri[n[better]] = score[better], bary[better], t[better]
        start = end
    moved = np.einsum("nk,nkj->nj", best_bary, verts_there[faces[best_tri]])
    return np.where(np.isfinite(best)[:, None], moved, np.nan)


def _on_triangle(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(score, barycentric coordinates (N, 3)) of points on triangles: score = distance to
    the triangle's plane + how far outside it the point's projection lies (0 on it)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    e1, e2, d = b - a, c - a, p - a
    d11, d12, d22 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    d1, d2 = (d * e1).sum(1), (d * e2).sum(1)
    det = d11 * d22 - d12 * d12
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (d22 * d1 - d12 * d2) / det
        w = (d11 * d2 - d12 * d1) / det
    u = 1.0 - v - w
    bary = np.stack([u, v, w], axis=1)
    on_plane = a + v[:, None] * e1 + w[:, None] * e2
    size = np.sqrt(np.maximum(d11, d22))
    outside = np.clip(-bary, 0, None).sum(1) * size
    score = np.linalg.norm(p - on_plane, axis=1) + outside
    return np.where(np.isfinite(score), score, np.inf), bary


def _result(flow, status) -> dict:
    return {"data": flow, "info": {"valid": status == VALID, "status": status}}


class _Flow(Annotator):
    passes = ("depth", "instance")
    needs_geometry = True  # the meshes of both frames: surfaces that do not move rigidly are followed
    needs_neighbours = True
    OPTIONS = FLOW_OPTIONS
    neighbour = ""

    def annotate(self, frame):
        return geometric_flow(frame, self.neighbour, float(self.options["depth_tolerance"]))


@register_annotator
class ForwardFlow(_Flow):
    """Flow to the next frame of the clip (see the module doc)."""

    name = "forward_flow"
    summary = "optical flow to the next frame of a clip, pixels, exact from geometry, with validity mask"
    neighbour = "next"


@register_annotator
class BackwardFlow(_Flow):
    """Flow to the previous frame of the clip (see the module doc)."""

    name = "backward_flow"
    summary = "optical flow to the previous frame of a clip, pixels, exact from geometry, with validity mask"
    neighbour = "prev"


@register_annotator
class MotionVectors(Annotator):
    """Cycles' vector pass as (H, W, 4) float32, in pixels, x right and y down:
    [..., 0:2] = backward motion (where the surface was in the previous frame minus where
    it is now), [..., 2:4] = forward motion (next minus now): the same convention as
    backward_flow / forward_flow, so they can be compared directly. Cycles evaluates the
    scene one frame before and after (no occlusion test; background 0). Blender's raw pass
    holds (previous - now, now - next) with y up; converted here (docs/annotators.md)."""

    name = "motion_vectors"
    summary = "Cycles' vector pass (forward and backward motion, pixels)"
    passes = ("vector",)

    def annotate(self, frame):
        raw = np.asarray(frame.passes["vector"], dtype=np.float32)
        out = np.empty(raw.shape[:2] + (4,), np.float32)
        out[..., 0] = raw[..., 0]
        out[..., 1] = -raw[..., 1]
        out[..., 2] = -raw[..., 2]
        out[..., 3] = raw[..., 3]
        return out
