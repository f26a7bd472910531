"""instance_segmentation_amodal: each labelled object's full mask, as if nothing hid it.

One boolean mask per labelled object in view (the rows of bounding_box_2d_loose and
occlusion, sorted by instance id). The mask is silhouettes.amodal_mask: the object's
silhouette rasterized from its geometry at pixel centres, occluders ignored, united with
its visible pixels. So, exactly and for every row:

- the visible mask (instance pass == id) is a subset of the amodal mask,
- the loose 2D box is the amodal mask's extent,
- occlusionRatio = 1 - visiblePixels / amodalPixels.

Only the part inside the image is a mask; the part outside is truncation (truncationRatio).
"""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, object_labels
from .silhouettes import (
    amodal_extent,
    amodal_mask,
    amodal_pixels,
    full_extent,
    in_view,
    occlusion_ratio,
    truncation_ratio,
    visible_counts,
)


@register_annotator
class InstanceSegmentationAmodal(Annotator):
    """{"data": (N, H, W) bool, "info": {per-row lists, see docs/annotators.md}}."""

    name = "instance_segmentation_amodal"
    summary = "each labelled object's whole mask, the parts hidden by others included"
    passes = ("instance",)
    needs_geometry = True
    OPTIONS = dict(SEMANTIC_OPTIONS)

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        labelled = object_labels(frame, stype, self.options["semantic_filter"])
        visible = visible_counts(frame)
        rows = [iid for iid in sorted(labelled) if in_view(frame, iid)]
        masks = np.zeros((len(rows), frame.height, frame.width), dtype=bool)
        info = {
            "instanceIds": [],
            "semanticIds": [],
            "primPaths": [],
            "idToLabels": {},
            "visiblePixels": [],
            "amodalPixels": [],
            "occlusionRatio": [],
            "truncationRatio": [],
            "bboxes": [],  # inclusive x_min, y_min, x_max, y_max of each mask (the loose box)
            "bboxesFull": [],  # the same, not clipped to the image (silhouettes.full_extent)
        }
        for k, iid in enumerate(rows):
            masks[k] = amodal_mask(frame, iid)
            sid = frame.label_table.semantic_id(stype, labelled[iid])
            info["instanceIds"].append(iid)
            info["semanticIds"].append(sid)
            info["primPaths"].append(frame.objects[iid].path)
            info["idToLabels"][sid] = {stype: labelled[iid]}
            info["visiblePixels"].append(visible.get(iid, 0))
            info["amodalPixels"].append(amodal_pixels(frame, iid))
            info["occlusionRatio"].append(occlusion_ratio(frame, iid))
            info["truncationRatio"].append(truncation_ratio(frame, iid))
            info["bboxes"].append(list(amodal_extent(frame, iid)))
            info["bboxesFull"].append(list(full_extent(frame, iid)))
        return {"data": masks, "info": info}
