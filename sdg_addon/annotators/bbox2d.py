"""2D bounding boxes in Replicator's structured layout.

Rows: one per labelled object (semantic_type present, filter passed). Coordinates are
inclusive pixel indices of the outermost covered pixels (x right, y down, origin top-left):
width = x_max - x_min + 1. Boxes are clipped to the image.
"""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, object_labels
from .silhouettes import full_silhouette, occlusion_ratio

BBOX_2D_DTYPE = np.dtype(
    [
        ("semanticId", "<u4"),
        ("x_min", "<i4"),
        ("y_min", "<i4"),
        ("x_max", "<i4"),
        ("y_max", "<i4"),
        ("occlusionRatio", "<f4"),
    ]
)


def mask_extent(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Inclusive (x_min, y_min, x_max, y_max) of the True pixels, or None if there are none."""
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def instance_extents(instance: np.ndarray) -> dict[int, tuple[int, int, int, int]]:
    """Extents of every id in an instance map in one pass (sorting, not a mask per id)."""
    h, w = instance.shape
    flat = instance.ravel()
    order = np.argsort(flat, kind="stable")
    ids = flat[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ys, xs = np.divmod(order, w)
    out = {}
    for k, s in enumerate(starts):
        e = starts[k + 1] if k + 1 < len(starts) else len(ids)
        iid = int(ids[s])
        if iid == 0:
            continue
        x, y = xs[s:e], ys[s:e]
        out[iid] = (int(x.min()), int(y.min()), int(x.max()), int(y.max()))
    return out


class _BBox2D(Annotator):
    passes = ("instance",)
    needs_geometry = True
    OPTIONS = dict(SEMANTIC_OPTIONS)

    def extents(self, frame, labelled) -> dict[int, tuple[int, int, int, int]]:
        raise NotImplementedError

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        labelled = object_labels(frame, stype, self.options["semantic_filter"])
        extents = self.extents(frame, labelled)
        rows, paths, ids, id_to_labels = [], [], [], {}
        for iid in sorted(extents):
            sid = frame.label_table.semantic_id(stype, labelled[iid])
            rows.append((sid, *extents[iid], occlusion_ratio(frame, iid)))
            paths.append(frame.objects[iid].path)
            ids.append(iid)
            id_to_labels[sid] = {stype: labelled[iid]}
        data = np.array(rows, dtype=BBOX_2D_DTYPE)
        info = {"bboxIds": ids, "idToLabels": id_to_labels, "primPaths": paths}
        return {"data": data, "info": info}


@register_annotator
class BoundingBox2DTight(_BBox2D):
    """Box of the visible pixels of each labelled object (from the instance pass)."""

    name = "bounding_box_2d_tight"

    def extents(self, frame, labelled):
        found = instance_extents(frame.passes["instance"])
        return {i: e for i, e in found.items() if i in labelled}


@register_annotator
class BoundingBox2DLoose(_BBox2D):
    """Box of the full projected object, occluded parts included (clipped to the image)."""

    name = "bounding_box_2d_loose"

    def extents(self, frame, labelled):
        from .raster import silhouette_extent

        out = {}
        for iid in labelled:
            ext = silhouette_extent(full_silhouette(frame, iid))
            if ext is not None:
                out[iid] = ext
        return out
