"""Semantic labels as data: {type: [values]}, stored on Blender IDs as a custom property.

The property `semantics` on an object or a collection holds a table such as
{"class": "mug", "color": ["red", "glossy"]}, or a string "class:mug,color:red".
Resolution (labels.blender) merges them: collections (outermost first), then parent
objects (root first), then the object itself; for each label type the nearest wins.
Types and values follow the parameter file's rule (config.fields.is_label_text): they end
up in label files (KITTI lines, COCO names, YOLO yaml), so a newline or a space at an end
in a .blend's label is refused as it is in the parameter file.
"""

from __future__ import annotations

import fnmatch

from ..config.fields import LABEL_TEXT, LABEL_TYPE_TEXT, composed, is_label_text, is_label_type

LABEL_PROPERTY = "semantics"


def parse_labels(value) -> dict[str, list[str]]:
    """A stored label value -> {type: [values]}; raises ValueError on a malformed one."""
    if value is None:
        return {}
    if isinstance(value, str):
        out: dict[str, list[str]] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            if ":" not in part:
                raise ValueError(f"label {part!r} is not of the form type:value (e.g. class:mug)")
            t, v = (s.strip() for s in part.split(":", 1))
            if not t or not v:
                raise ValueError(f"label {part!r} has an empty type or value")
            _check_text(t, v)
            out.setdefault(composed(t), []).append(composed(v))
        return out
    if hasattr(value, "to_dict"):  # a Blender IDPropertyGroup
        value = value.to_dict()
    if isinstance(value, dict):
        out = {}
        for t, v in value.items():
            # A number or a table typed by hand in Custom Properties is no label value (list()
            # of a number raised TypeError; of a table it took the table's keys).
            values = [v] if isinstance(v, str) else list(v) if isinstance(v, (list, tuple)) else []
            if not values or not all(isinstance(x, str) and x for x in values):
                raise ValueError(f"label type {t!r} needs a non-empty string or list of strings")
            for x in values:
                _check_text(t, x)
            # A type typed twice in two Unicode forms (a key pasted from a macOS name): one type.
            kept = out.setdefault(composed(str(t)), [])
            kept.extend(x for x in map(composed, values) if x not in kept)
        return out
    raise ValueError(f"labels must be a table or a 'type:value,...' string, got {value!r}")


def _check_text(label_type, value: str) -> None:
    """A ValueError naming the type or value that is not a label text."""
    if not is_label_type(label_type):
        raise ValueError(f"label type {label_type!r} is not {LABEL_TYPE_TEXT}, no spaces at the ends")
    if not is_label_text(value):
        raise ValueError(f"label value {value!r} (type {label_type!r}) is not {LABEL_TEXT}, no spaces at the ends")


def merge_labels(chain: list[dict[str, list[str]]]) -> dict[str, list[str]]:
    """Farthest first; later (nearer) entries replace a whole label type."""
    out: dict[str, list[str]] = {}
    for labels in chain:
        out.update(labels)
    return out


def labels_match(labels: dict[str, list[str]], wanted: dict[str, list[str]]) -> bool:
    """Whether an object's resolved labels meet a randomizer's label targets (`targets = {
    class = ["cube", "sphere*"], color = "red" }`, Replicator's rep.get.prims(semantics=...)):
    for every type of `wanted`, one of the object's values of that type matches one of its
    globs (case-sensitive, as name targets match). An object without that type: no match."""
    return all(
        any(fnmatch.fnmatchcase(value, glob) for value in labels.get(kind, ()) for glob in globs)
        for kind, globs in wanted.items()
    )


def label_targets_given(wanted: dict[str, list[str]]) -> dict:
    """Label targets as a parameter file writes them: one glob of a type as a string."""
    return {kind: globs[0] if len(globs) == 1 else list(globs) for kind, globs in wanted.items()}


def scene_labels_text(labelled) -> str:
    """The labels objects have, for a message: 'class: cube, sphere; color: red' (types and
    values sorted), or 'none (no object is labelled)'. `labelled`: their label tables."""
    found: dict[str, set[str]] = {}
    for labels in labelled:
        for kind, values in labels.items():
            found.setdefault(kind, set()).update(values)
    if not found:
        return "none (no object is labelled)"
    return "; ".join(f"{kind}: {', '.join(sorted(found[kind]))}" for kind in sorted(found))
