"""object_coordinates: each pixel's surface point within its object's bounding box (Kubric).

Kubric's `object_coordinates` (Blender's Generated texture coordinates where the object is
one mesh in its root's axes; docs/annotators.md): the point the
pixel-centre ray hits (pointcloud.pixel_points: the ray taken to the depth pass's
distance), in the object's own space (the inverse of its root's object_to_world), as a
fraction of its bounding box there (SceneObject.bbox_min .. bbox_max, the evaluated
geometry's local extents): 0 at the box's minimum, 1 at its maximum, per local axis. An
axis along which the box has no extent (a plane's thickness) reads 0.5, as Blender's
texture space does. Pixels of the background, of unlabelled or filtered-out objects and
without a surface are 0.
"""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator
from .pointcloud import _surface_pixels, pixel_points
from .semantics import SEMANTIC_OPTIONS, object_labels


@register_annotator
class ObjectCoordinates(Annotator):
    """(H, W, 3) float32 in [0, 1]: each labelled object's pixels' points in its bounding box."""

    name = "object_coordinates"
    summary = "each pixel's point within its object's bounding box, 0 .. 1 per local axis (Kubric's object_coordinates)"
    passes = ("depth", "instance")
    OPTIONS = dict(SEMANTIC_OPTIONS)

    def annotate(self, frame):
        cam = frame.camera
        out = np.zeros((cam.height * cam.width, 3), dtype=np.float32)
        labelled = object_labels(frame, self.options["semantic_type"], self.options["semantic_filter"])
        if labelled:
            runs = frame.instance_runs()
            keep = np.zeros(max([*labelled, int(runs.values.max(initial=0))]) + 1, dtype=bool)
            keep[list(labelled)] = True
            k = _surface_pixels(frame, lambda ids: keep[ids])
            ys, xs = np.divmod(k, cam.width)
            points = pixel_points(frame, ys, xs, "world")
            ids = np.asarray(frame.passes["instance"]).reshape(-1).take(k)
            for iid in np.unique(ids).tolist():
                obj = frame.objects[iid]
                rows = ids == iid
                to_local = np.linalg.inv(np.asarray(obj.object_to_world, dtype=np.float64))
                local = points[rows] @ to_local[:3, :3].T + to_local[:3, 3]
                lo, hi = np.asarray(obj.bbox_min, np.float64), np.asarray(obj.bbox_max, np.float64)
                size = hi - lo
                flat = size <= 0
                fraction = (local - lo) / np.where(flat, 1.0, size)
                fraction[:, flat] = 0.5
                out[k[rows]] = np.clip(fraction, 0.0, 1.0)
        return out.reshape(cam.height, cam.width, 3)
