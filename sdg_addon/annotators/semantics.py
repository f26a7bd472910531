"""Shared label logic for annotators: which objects count as labelled, and their ids."""

from __future__ import annotations

import numpy as np

from ..frame import UNLABELLED_ID, FrameData

# Options every label-aware annotator accepts (as Replicator's semantic filters).
SEMANTIC_OPTIONS = {
    "semantic_type": ("class", str, "label type that defines classes and semantic ids"),
    "semantic_filter": ([], list, "keep only these values of semantic_type; [] keeps all"),
}


def object_labels(frame: FrameData, semantic_type: str, semantic_filter) -> dict[int, str]:
    """instance id -> label value, for objects labelled with `semantic_type` (and the filter)."""
    keep = set(semantic_filter or ())
    out = {}
    for iid, obj in frame.objects.items():
        value = obj.label(semantic_type)
        if value is not None and (not keep or value in keep):
            out[iid] = value
    return out


def instance_lookup(frame: FrameData, mapping: dict[int, int], default: int) -> np.ndarray:
    """Apply an instance-id -> value mapping to the instance pass (vectorized)."""
    instance = frame.passes["instance"]
    size = int(max([*mapping.keys(), int(instance.max(initial=0))])) + 1
    table = np.full(size, default, dtype=np.uint32)
    table[0] = 0
    for iid, value in mapping.items():
        table[iid] = value
    return table[instance]


def semantic_ids(frame: FrameData, semantic_type: str, semantic_filter) -> dict[int, int]:
    """instance id -> stable semantic id (UNLABELLED_ID for objects without that label)."""
    labels = object_labels(frame, semantic_type, semantic_filter)
    return {
        iid: frame.label_table.semantic_id(semantic_type, labels.get(iid)) if iid in labels else UNLABELLED_ID
        for iid in frame.objects
    }
