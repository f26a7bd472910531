"""Instance and semantic segmentation from the (not anti-aliased) object-index pass.

Ids: 0 = BACKGROUND (no surface), 1 = UNLABELLED (a surface of an object without the
semantic type, or filtered out); others are SceneObject.instance_id (instance maps) or
stable semantic ids from the run's label table (semantic maps).
"""

from __future__ import annotations

import numpy as np

from ..frame import BACKGROUND_ID, UNLABELLED_ID
from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, instance_lookup_present, object_labels, semantic_ids


def _semantics(obj, types) -> dict[str, str]:
    return {t: ",".join(v) for t, v in obj.labels.items() if not types or t in types}


@register_annotator
class InstanceSegmentation(Annotator):
    """{"data": (H, W) uint32 ids, "info": {"idToLabels": {id: path}, "idToSemantics": ...}}.

    Only labelled objects keep their own id; unlabelled ones become UNLABELLED (1), as in
    Replicator. idToLabels maps every id present to its object path (or BACKGROUND /
    UNLABELLED); idToSemantics maps ids to {label type: value}.
    """

    name = "instance_segmentation"
    summary = "instance id mask + id → object / labels mapping"
    passes = ("instance",)
    OPTIONS = {
        **SEMANTIC_OPTIONS,
        "semantic_types": ([], list, "label types listed in idToSemantics; [] lists all"),
    }

    def annotate(self, frame):
        labelled = object_labels(frame, self.options["semantic_type"], self.options["semantic_filter"])
        data, present = instance_lookup_present(frame, {i: i for i in labelled}, UNLABELLED_ID)
        id_to_labels, id_to_semantics = {}, {}
        for i in present:
            if i == BACKGROUND_ID:
                id_to_labels[i], id_to_semantics[i] = "BACKGROUND", {"class": "BACKGROUND"}
            elif i == UNLABELLED_ID:
                id_to_labels[i], id_to_semantics[i] = "UNLABELLED", {"class": "UNLABELLED"}
            else:
                obj = frame.objects[i]
                id_to_labels[i] = obj.path
                id_to_semantics[i] = _semantics(obj, self.options["semantic_types"])
        return {"data": data, "info": {"idToLabels": id_to_labels, "idToSemantics": id_to_semantics}}


@register_annotator
class InstanceIdSegmentation(Annotator):
    """{"data": (H, W) uint32, "info": {"idToLabels": {id: path}}}: every object its own id,
    labelled or not (Replicator's instance_id_segmentation)."""

    name = "instance_id_segmentation"
    summary = "every object its own id, labelled or not"
    passes = ("instance",)

    def annotate(self, frame):
        data = frame.passes["instance"].astype(np.uint32, copy=True)
        id_to_labels = {}
        for i in np.flatnonzero(frame.instance_pixel_counts()).tolist():  # the ids of `data`
            obj = frame.objects.get(i)
            id_to_labels[i] = "BACKGROUND" if i == BACKGROUND_ID else (obj.path if obj else "UNKNOWN")
        return {"data": data, "info": {"idToLabels": id_to_labels}}


@register_annotator
class SemanticSegmentation(Annotator):
    """{"data": (H, W) uint32 semantic ids, "info": {"idToLabels": {id: {type: value}}}}.

    Ids are stable for the whole run (parameter-file order), so the same class has the
    same id in every frame, shard and resumed run. idToLabels lists the ids present.
    """

    name = "semantic_segmentation"
    summary = "semantic id mask + id → label mapping"
    passes = ("instance",)
    OPTIONS = dict(SEMANTIC_OPTIONS)

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        sem_of = semantic_ids(frame, stype, self.options["semantic_filter"])
        data, present = instance_lookup_present(frame, sem_of, UNLABELLED_ID)
        names = frame.label_table.id_to_label(stype)
        id_to_labels = {}
        for i in present:
            if i == BACKGROUND_ID:
                id_to_labels[i] = {stype: "BACKGROUND"}
            elif i == UNLABELLED_ID:
                id_to_labels[i] = {stype: "UNLABELLED"}
            else:
                id_to_labels[i] = {stype: names[i]}
        return {"data": data, "info": {"idToLabels": id_to_labels}}
