"""occlusion: how much of each labelled object in view is hidden by what lies in front of it.

Rows: the labelled objects (semantic filter passed) that cover at least one pixel of the
image, occluded or not (silhouettes.in_view), sorted by instance id.

- visiblePixels: pixels where the object is the visible surface (instance pass).
- unoccludedPixels: pixels of its amodal mask inside the image (silhouettes.amodal_mask:
  the full silhouette at pixel centres, occluders ignored, united with the visible pixels).
- occlusionRatio = 1 - visiblePixels / unoccludedPixels, in [0, 1] (the visible pixels
  are a subset of the amodal mask); 0.0 when it covers no pixel. Behind a wall: 1.0;
  unobstructed: 0.0. Exact for what was rendered: the renderer's id sample and the
  rasterizer both sample the pixel centre.

Truncation (the part outside the image, not counted here) is info["truncationRatio"].
"""

from __future__ import annotations

import numpy as np

from ..frame import UNLABELLED_ID
from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, object_labels
from .silhouettes import amodal_pixels, in_view, occlusion_ratio, truncation_ratio, visible_counts

OCCLUSION_DTYPE = np.dtype(
    [
        ("instanceId", "<u4"),
        ("semanticId", "<u4"),
        ("occlusionRatio", "<f4"),
        ("visiblePixels", "<u4"),
        ("unoccludedPixels", "<u4"),
    ]
)


@register_annotator
class Occlusion(Annotator):
    """{"data": OCCLUSION_DTYPE rows, "info": {"primPaths", "idToLabels", "truncationRatio"}}."""

    name = "occlusion"
    summary = "occlusion (and truncation) ratio per object"
    passes = ("instance",)
    needs_geometry = True
    OPTIONS = {
        **SEMANTIC_OPTIONS,
        "include_unlabelled": (False, bool, "also list objects without the label (semanticId 1)"),
    }

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        labelled = object_labels(frame, stype, self.options["semantic_filter"])
        candidates = frame.objects if self.options["include_unlabelled"] else labelled
        visible = visible_counts(frame)
        rows, paths, truncation, id_to_labels = [], [], [], {}
        for iid in sorted(candidates):
            if not in_view(frame, iid):
                continue
            value = labelled.get(iid)
            sid = frame.label_table.semantic_id(stype, value)
            rows.append((iid, sid, occlusion_ratio(frame, iid), visible.get(iid, 0), amodal_pixels(frame, iid)))
            paths.append(frame.objects[iid].path)
            truncation.append(truncation_ratio(frame, iid))
            id_to_labels[sid] = {stype: value if sid != UNLABELLED_ID else "UNLABELLED"}
        data = np.array(rows, dtype=OCCLUSION_DTYPE)
        return {"data": data, "info": {"primPaths": paths, "idToLabels": id_to_labels, "truncationRatio": truncation}}
