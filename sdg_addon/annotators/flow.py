"""Optical flow from geometry, and Cycles' motion vectors (sequences).

forward_flow / backward_flow (exact, no estimation): a pixel's surface point (its pixel-
centre ray taken to the depth pass, as `pointcloud`) is moved by its object's transform
change between this frame and the next (previous) one, `M_other @ inv(M_this)`, and
projected with the other frame's camera. Flow = that position - the pixel centre, in
pixels, x right and y down (OpenCV / Kubric / Sintel convention: pixel (x, y) of this
frame shows up at (x + u, y + v) in the other frame).

The validity mask says where the point is seen in the other frame; `status` says why not:
  0 valid        the point is in the image and is what the other frame shows there
  1 no surface   background (nothing hit): flow 0
  2 leaves       the point leaves the image (or goes behind the camera)
  3 occluded     in the image but hidden there (another surface, or its object hidden)
  4 no frame     the clip has no frame there (first frame: backward, last: forward): flow 0
"Is what the other frame shows" = the other frame's instance id at the pixel containing
the point is the same object and its depth agrees within `depth_tolerance` (relative).
Flow is a rigid motion per object: of its mesh when the object has one (also when that
mesh is animated below the object's root, as parts of `.blend` assets are), else of its
root; parts of several-mesh objects moving relative to each other, armatures and shape
keys are not followed.
"""

from __future__ import annotations

import numpy as np

from ..config.fields import Field
from .base import Annotator, register_annotator
from .pointcloud import pixel_points

VALID, NO_SURFACE, LEAVES_IMAGE, OCCLUDED, NO_FRAME = 0, 1, 2, 3, 4

FLOW_OPTIONS = {
    "depth_tolerance": Field(
        "depth_tolerance", "float", 0.02, "relative depth difference still counted as the same surface", low=0, high=1e6
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
    uv, z = other.camera.project(moved)
    flow_px = uv - np.stack([xs + 0.5, ys + 0.5], axis=1)
    finite = np.all(np.isfinite(uv), axis=1) & (z > 0)
    inside = finite & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    st = np.full(len(ys), LEAVES_IMAGE, np.uint8)
    qx = np.clip(np.floor(np.where(inside, uv[:, 0], 0)).astype(np.int64), 0, w - 1)
    qy = np.clip(np.floor(np.where(inside, uv[:, 1], 0)).astype(np.int64), 0, h - 1)
    seen_depth = np.asarray(other.depth)[qy, qx]
    same = (np.asarray(other.instance)[qy, qx] == ids) & (np.abs(seen_depth - z) <= depth_tolerance * np.abs(z))
    st[inside] = OCCLUDED
    st[inside & same & ~gone[which]] = VALID
    status[ys, xs] = st
    flow[ys, xs] = np.where(finite[:, None] & ~gone[which][:, None], flow_px, 0.0).astype(np.float32)
    return _result(flow, status)


def _result(flow, status) -> dict:
    return {"data": flow, "info": {"valid": status == VALID, "status": status}}


class _Flow(Annotator):
    passes = ("depth", "instance")
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
