"""bounding_box_3d: per labelled object in view, its local extents and object-to-world
transform in Replicator's structured layout, plus the box corners projected to the image.

Rows: the labelled objects (semantic filter passed) that cover at least one pixel of the
image, occluded or not (silhouettes.in_view), as the loose 2D box; sorted by instance id.
Replicator lists the prims "in the camera's field of view" likewise.

Extents are SceneObject.bbox_min / bbox_max: the object's evaluated geometry in its own
(root) space, metres. `transform` is object_to_world in USD's row-vector layout
(object_to_world.T): a local point p maps to world as [p, 1] @ transform, so corners in
world space are `corners_local_h @ transform`, as Replicator's readers compute them.

Corner order (info["corners_px"], info["corners_world"], same as Replicator's
get_bbox_3d_corners helper): corner k takes x_max if bit 0 of k is set, else x_min;
y_max if bit 1, z_max if bit 2. So 0 = (x_min, y_min, z_min), 1 = (x_max, y_min, z_min),
2 = (x_min, y_max, z_min), 3 = (x_max, y_max, z_min), 4..7 the same with z_max.
corners_px are (u, v) pixel coordinates (x right, y down, origin at the top-left corner of
the image), not clipped to the image; NaN for a corner at or behind the plane of a
perspective camera.
"""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, object_labels
from .silhouettes import in_view, occlusion_ratio, truncation_ratio

BBOX_3D_DTYPE = np.dtype(
    [
        ("semanticId", "<u4"),
        ("x_min", "<f4"),
        ("y_min", "<f4"),
        ("z_min", "<f4"),
        ("x_max", "<f4"),
        ("y_max", "<f4"),
        ("z_max", "<f4"),
        ("transform", "<f4", (4, 4)),
        ("occlusionRatio", "<f4"),
    ]
)

# Corner k -> which of (min, max) per axis: bit 0 x, bit 1 y, bit 2 z.
CORNER_BITS = np.array([[(k >> a) & 1 for a in range(3)] for k in range(8)], dtype=bool)


def box_corners(bbox_min, bbox_max) -> np.ndarray:
    """(8, 3) local corners of an axis-aligned box, in the documented corner order."""
    return np.where(CORNER_BITS, np.asarray(bbox_max, np.float64), np.asarray(bbox_min, np.float64))


@register_annotator
class BoundingBox3D(Annotator):
    """{"data": BBOX_3D_DTYPE rows, "info": {bboxIds, idToLabels, primPaths, truncationRatio,
    corners_px, corners_world}}."""

    name = "bounding_box_3d"
    summary = "3D boxes of the labelled objects"
    passes = ("instance",)
    needs_geometry = True  # rows are the objects in view (silhouettes), plus occlusion
    OPTIONS = dict(SEMANTIC_OPTIONS)

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        labelled = object_labels(frame, stype, self.options["semantic_filter"])
        rows, ids, paths, truncation, world, id_to_labels = [], [], [], [], [], {}
        for iid in sorted(labelled):
            if not in_view(frame, iid):
                continue
            obj = frame.objects[iid]
            sid = frame.label_table.semantic_id(stype, labelled[iid])
            to_world = np.asarray(obj.object_to_world, dtype=np.float64)
            lo, hi = np.asarray(obj.bbox_min, np.float64), np.asarray(obj.bbox_max, np.float64)
            rows.append((sid, *lo, *hi, to_world.T, occlusion_ratio(frame, iid)))
            world.append(box_corners(lo, hi) @ to_world[:3, :3].T + to_world[:3, 3])
            ids.append(iid)
            paths.append(obj.path)
            truncation.append(truncation_ratio(frame, iid))
            id_to_labels[sid] = {stype: labelled[iid]}
        # Every box's corners projected in one call (a point's projection is its own).
        world = np.concatenate(world) if world else np.zeros((0, 3))
        px = frame.camera.project(world)[0].reshape(-1, 8, 2)
        corners_px, corners_world = px.tolist(), world.reshape(-1, 8, 3).tolist()
        data = np.array(rows, dtype=BBOX_3D_DTYPE)
        info = {
            "bboxIds": ids,
            "idToLabels": id_to_labels,
            "primPaths": paths,
            "truncationRatio": truncation,
            "corners_px": corners_px,
            "corners_world": corners_world,
        }
        return {"data": data, "info": info}
