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
- visibility: 0 outside the image (or behind the camera's near plane), 1 inside the image
  but hidden (the depth pass at its pixel is nearer than the keypoint by more than the
  tolerance: another object or the object itself is in front), 2 visible.
  Tolerance: max(depth_tolerance, depth_tolerance_relative * depth), since a keypoint on a
  surface (a cube's corner) lies up to the surface's depth change across a pixel from the
  one sample of its pixel.
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


def visibility(camera, depth_pass: np.ndarray, xy: np.ndarray, depth: np.ndarray, tol_abs: float, tol_rel: float):
    """COCO visibility flags (0 / 1 / 2) of projected points (see module doc)."""
    h, w = depth_pass.shape
    x, y = xy[:, 0], xy[:, 1]
    with np.errstate(invalid="ignore"):
        inside = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (x < w) & (y >= 0) & (y < h)
        inside &= (depth >= camera.clip_start) & (depth <= camera.clip_end)
    flags = np.zeros(len(xy), dtype=np.uint8)
    if inside.any():
        j = np.floor(x[inside]).astype(np.intp)
        i = np.floor(y[inside]).astype(np.intp)
        surface = depth_pass[i, j]
        tol = np.maximum(tol_abs, tol_rel * depth[inside])
        flags[inside] = np.where(surface < depth[inside] - tol, OCCLUDED, VISIBLE)
    return flags


@register_annotator
class Keypoints(Annotator):
    """{"data": KEYPOINT_DTYPE rows, "info": {"names", "skeletons", "primPaths", "idToLabels"}}."""

    name = "keypoints"
    summary = "declared 3D keypoints of labelled objects, projected to pixels, with visibility (COCO style)"
    passes = ("depth",)
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
