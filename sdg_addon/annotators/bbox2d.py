"""2D bounding boxes in Replicator's structured layout.

Rows: one per labelled object (semantic_type present, semantic_filter passed), sorted by
instance id. Coordinates are inclusive pixel indices of the outermost covered pixels (x right,
y down, origin top-left): width = x_max - x_min + 1. Boxes are clipped to the image; how
much of the object lies outside it is info["truncationRatio"] (silhouettes.truncation_ratio).

- bounding_box_2d_tight: the visible pixels (instance pass); objects with none have no row.
- bounding_box_2d_loose: the full projection, occluded parts included: the extent of the
  object's amodal mask (silhouettes.amodal_mask: the pixel-centre silhouette from the
  geometry united with the visible pixels, so it always encloses the tight box); every
  labelled object covering a pixel of the image has a row, fully occluded ones too
  (occlusionRatio 1.0). info["bboxesFull"]: per row the same extent not clipped to the
  image (silhouettes.full_extent; the mot writer's boxes = "full").
"""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, object_labels
from .silhouettes import amodal_extent, full_extent, in_view, occlusion_ratio, truncation_ratio, visible_extents

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


class _BBox2D(Annotator):
    passes = ("instance",)
    needs_geometry = True  # occlusionRatio and truncationRatio need the full silhouettes
    OPTIONS = dict(SEMANTIC_OPTIONS)

    def extents(self, frame, labelled) -> dict[int, tuple[int, int, int, int]]:
        raise NotImplementedError

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        labelled = object_labels(frame, stype, self.options["semantic_filter"])
        extents = self.extents(frame, labelled)
        rows, paths, ids, truncation, id_to_labels = [], [], [], [], {}
        for iid in sorted(extents):
            sid = frame.label_table.semantic_id(stype, labelled[iid])
            rows.append((sid, *extents[iid], occlusion_ratio(frame, iid)))
            paths.append(frame.objects[iid].path)
            ids.append(iid)
            truncation.append(truncation_ratio(frame, iid))
            id_to_labels[sid] = {stype: labelled[iid]}
        data = np.array(rows, dtype=BBOX_2D_DTYPE)
        info = {"bboxIds": ids, "idToLabels": id_to_labels, "primPaths": paths, "truncationRatio": truncation}
        return {"data": data, "info": info}


@register_annotator
class BoundingBox2DTight(_BBox2D):
    """Box of the visible pixels of each labelled object (from the instance pass)."""

    name = "bounding_box_2d_tight"
    summary = "2D boxes of the visible pixels"

    def extents(self, frame, labelled):
        found = visible_extents(frame)
        return {i: e for i, e in found.items() if i in labelled}


@register_annotator
class BoundingBox2DLoose(_BBox2D):
    """Box of the full projected object, occluded parts included (clipped to the image)."""

    name = "bounding_box_2d_loose"
    summary = "2D boxes of the whole (also occluded) object"

    def extents(self, frame, labelled):
        out = {}
        for iid in labelled:
            if not in_view(frame, iid):
                continue
            ext = amodal_extent(frame, iid)
            if ext is not None:
                out[iid] = ext
        return out

    def annotate(self, frame):
        result = super().annotate(frame)
        # Not clipped to the image: differs from the row's box only for truncated objects.
        result["info"]["bboxesFull"] = [list(full_extent(frame, iid)) for iid in result["info"]["bboxIds"]]
        return result
