"""Shared label logic for annotators: which objects count as labelled, and their ids.

Semantic filters, as Replicator's: `semantic_type` picks the label type that defines classes
(default "class"; objects without a label of that type are UNLABELLED), `semantic_filter`
keeps only some of its values. Filter entries are exact values or shell-style patterns
(`*`, `?`, `[...]`, matched case-sensitively); an object with several values of the type
(e.g. class = ["mug", "cup"], semantic label "mug,cup") passes when the joined label or
any one of its values matches. Objects that do not pass are treated exactly like unlabelled
ones: UNLABELLED (1) in segmentations, no row in box / occlusion tables, no points in the
point cloud unless it includes unlabelled surfaces.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np

from ..frame import UNLABELLED_ID, FrameData

# Options every label-aware annotator accepts (as Replicator's semantic filters).
SEMANTIC_OPTIONS = {
    "semantic_type": ("class", str, "label type that defines classes and semantic ids"),
    "semantic_filter": ([], list, "keep only these values (or glob patterns) of semantic_type; [] keeps all"),
}


def passes_filter(values: list[str], semantic_filter) -> bool:
    """True if a label (its list of values) passes a filter ([] or None passes everything)."""
    if not semantic_filter:
        return True
    candidates = [",".join(values), *values]
    return any(fnmatchcase(c, str(p)) for p in semantic_filter for c in candidates)


def object_labels(frame: FrameData, semantic_type: str, semantic_filter) -> dict[int, str]:
    """instance id -> label value, for objects labelled with `semantic_type` (and the filter)."""
    out = {}
    for iid, obj in frame.objects.items():
        values = obj.labels.get(semantic_type)
        if values and passes_filter(values, semantic_filter):
            out[iid] = ",".join(values)
    return out


def instance_lookup_present(frame: FrameData, mapping: dict[int, int], default: int) -> tuple[np.ndarray, list[int]]:
    """The instance pass mapped through `mapping` (ids not in it get `default`, 0 stays 0),
    and the sorted ids present in the result, both from the frame's runs of instance ids
    (found once per frame): each run's id is mapped once and spread over its pixels, and
    the ids present are the present instance ids mapped the same way."""
    runs = frame.instance_runs()
    data = runs.expand(lookup_ids(mapping, runs.values, default))
    return data, np.unique(lookup_ids(mapping, frame.instance_stats().ids, default)).tolist()


def lookup_ids(mapping: dict[int, int], ids: np.ndarray, default: int) -> np.ndarray:
    """Map an array of instance ids through `mapping` with one table lookup (vectorized);
    ids not in `mapping` get `default`, id 0 (background) stays 0."""
    size = int(max([*mapping.keys(), int(ids.max(initial=0))])) + 1
    table = np.full(size, default, dtype=np.uint32)
    table[0] = 0
    for iid, value in mapping.items():
        table[iid] = value
    return table[ids]


def semantic_ids(frame: FrameData, semantic_type: str, semantic_filter) -> dict[int, int]:
    """instance id -> stable semantic id (UNLABELLED_ID for objects without that label)."""
    labels = object_labels(frame, semantic_type, semantic_filter)
    return {
        iid: frame.label_table.semantic_id(semantic_type, labels[iid]) if iid in labels else UNLABELLED_ID
        for iid in frame.objects
    }
