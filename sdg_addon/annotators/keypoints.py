"""keypoints: named 3D keypoints of the labelled objects, projected to the image with a
visibility flag from a depth test (COCO's convention).

Keypoints come from the parameter file (an asset's `keypoints`, `skeleton`) or from
empties in a .blend (scene/keypoints.py); SceneObject.keypoints holds them in world space.

Rows: one per keypoint of every labelled object that has keypoints (semantic filter
passed), objects by instance id, keypoints in their declared order. Per keypoint:
- x, y: its projection in pixel coordinates (frame.py: x right, y down, origin at the
  top-left corner of the image; pixel (i, j) spans [j, j + 1) x [i, i + 1)); NaN behind
  the camera;
- depth: its distance to the image plane (metres);
- visibility: 0 outside the image (or the camera's clip range), 1 inside the image but
  hidden (the surface its pixel's sample hit is nearer than the keypoint by more than the
  tolerance: another object or the object itself is in front), 2 visible.
  The pixel's one sample (the ray through its centre) does not pass through the keypoint:
  on a surface seen at a grazing angle its depth differs from the keypoint's by up to half
  the surface's depth change across a pixel (metres in a 64 x 48 image). So that surface is
  continued from the sample to the keypoint's own ray along its slope between the sample
  and a neighbouring sample of the same object (surface_depth): exact for a plane.
  Tolerance: max(depth_tolerance, depth_tolerance_relative * depth), for curved surfaces and
  a keypoint on an edge (a cube's corner) between two faces.
"""

from __future__ import annotations

import numpy as np

from ..config.fields import Field
from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, object_labels

KEYPOINT_DTYPE = np.dtype(
    [
        ("instanceId", "<u4"),
        ("semanticId", "<u4"),
        ("index", "<u4"),  # position of the keypoint in its object's list
        ("x", "<f4"),
        ("y", "<f4"),
        ("depth", "<f4"),
        ("visibility", "u1"),
    ]
)

OUTSIDE, OCCLUDED, VISIBLE = 0, 1, 2


def surface_depth(camera, depth_pass: np.ndarray, ids: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth along the ray through each image point (x, y) (inside the image) of the surface
    its pixel's sample hit: the sample's depth continued from the pixel centre to the point,
    along each image axis with the slope between the sample and a neighbouring sample of
    the same object (the neighbour on the point's side, else the one on the other side,
    else no slope). On a plane 1 / depth (perspective) or depth (orthographic) is affine in
    pixel coordinates, so a plane is continued exactly. inf where the pixel has no surface
    or the continued surface turns away before the point's ray."""
    h, w = depth_pass.shape
    j = np.floor(x).astype(np.intp)
    i = np.floor(y).astype(np.intp)
    depth = depth_pass.astype(np.float64)
    perspective = camera.projection == "perspective"
    with np.errstate(divide="ignore"):
        q = 1.0 / depth if perspective else depth
    q_here, id_here = q[i, j], ids[i, j]
    estimate = q_here.copy()
    for axis, offset in ((1, x - (j + 0.5)), (0, y - (i + 0.5))):
        step = np.where(offset >= 0, 1, -1)
        slope = np.zeros(len(x))
        found = np.zeros(len(x), dtype=bool)
        for s in (step, -step):
            ni, nj = (i, j + s) if axis == 1 else (i + s, j)
            usable = ~found & (ni >= 0) & (ni < h) & (nj >= 0) & (nj < w)
            ni, nj = np.clip(ni, 0, h - 1), np.clip(nj, 0, w - 1)
            usable &= (ids[ni, nj] == id_here) & np.isfinite(depth[ni, nj])
            with np.errstate(invalid="ignore"):  # inf - inf beside background (orthographic): not used
                slope = np.where(usable, (q[ni, nj] - q_here) * s, slope)
            found |= usable
        estimate += slope * offset
    here = np.isfinite(depth[i, j])
    if perspective:
        with np.errstate(divide="ignore"):
            return np.where(here & (estimate > 0), 1.0 / estimate, np.inf)
    return np.where(here, estimate, np.inf)


def visibility(
    camera, depth_pass: np.ndarray, ids: np.ndarray, xy: np.ndarray, depth: np.ndarray, tol_abs: float, tol_rel: float
):
    """COCO visibility flags (0 / 1 / 2) of projected points (see module doc)."""
    h, w = depth_pass.shape
    x, y = xy[:, 0], xy[:, 1]
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x < w) & (y >= 0) & (y < h)
        inside &= (depth >= camera.clip_start) & (depth <= camera.clip_end)
    flags = np.zeros(len(xy), dtype=np.uint8)
    if inside.any():
        surface = surface_depth(camera, depth_pass, ids, x[inside], y[inside])
        tol = np.maximum(tol_abs, tol_rel * depth[inside])
        flags[inside] = np.where(surface < depth[inside] - tol, OCCLUDED, VISIBLE)
    return flags


@register_annotator
class Keypoints(Annotator):
    """{"data": KEYPOINT_DTYPE rows, "info": {"names", "skeletons", "primPaths", "idToLabels"}}."""

    name = "keypoints"
    summary = "declared 3D keypoints of labelled objects, projected to pixels, with visibility (COCO style)"
    passes = ("depth", "instance")
    OPTIONS = {
        **SEMANTIC_OPTIONS,
        "depth_tolerance": Field(
            "depth_tolerance",
            "float",
            0.005,
            "metres a keypoint may lie behind the surface at its pixel and be visible",
            low=0,
            high=1e6,
        ),
        "depth_tolerance_relative": Field(
            "depth_tolerance_relative",
            "float",
            0.01,
            "the same as a fraction of the keypoint's depth (the larger wins)",
            low=0,
            high=1e6,
        ),
    }

    def __init__(self, **options):
        super().__init__(**options)

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        labelled = object_labels(frame, stype, self.options["semantic_filter"])
        rows, names, skeletons, paths, id_to_labels = [], {}, {}, {}, {}
        depth_pass = np.asarray(frame.passes["depth"])
        ids = np.asarray(frame.passes["instance"])
        for iid in sorted(labelled):
            obj = frame.objects[iid]
            if not obj.keypoints:
                continue
            kp_names = list(obj.keypoints)
            world = np.array([obj.keypoints[n] for n in kp_names], dtype=np.float64)
            xy, depth = frame.camera.project(world)
            flags = visibility(
                frame.camera,
                depth_pass,
                ids,
                xy,
                depth,
                self.options["depth_tolerance"],
                self.options["depth_tolerance_relative"],
            )
            sid = frame.label_table.semantic_id(stype, labelled[iid])
            for k in range(len(kp_names)):
                rows.append((iid, sid, k, xy[k, 0], xy[k, 1], depth[k], flags[k]))
            names[iid] = kp_names
            skeletons[iid] = [[kp_names.index(a), kp_names.index(b)] for a, b in obj.skeleton]
            paths[iid] = obj.path
            id_to_labels[sid] = {stype: labelled[iid]}
        info = {"names": names, "skeletons": skeletons, "primPaths": paths, "idToLabels": id_to_labels}
        return {"data": np.array(rows, dtype=KEYPOINT_DTYPE), "info": info}
