"""Semantic labels as data: {type: [values]}, stored on Blender IDs as a custom property.

The property `semantics` on an object or a collection holds a table such as
{"class": "mug", "color": ["red", "glossy"]}, or a string "class:mug,color:red".
Resolution (labels.blender) merges them: collections (outermost first), then parent
objects (root first), then the object itself; for each label type the nearest wins.
"""

from __future__ import annotations

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
            out.setdefault(t, []).append(v)
        return out
    if hasattr(value, "to_dict"):  # a Blender IDPropertyGroup
        value = value.to_dict()
    if isinstance(value, dict):
        out = {}
        for t, v in value.items():
            values = [v] if isinstance(v, str) else list(v)
            if not values or not all(isinstance(x, str) and x for x in values):
                raise ValueError(f"label type {t!r} needs a non-empty string or list of strings")
            out[str(t)] = values
        return out
    raise ValueError(f"labels must be a table or a 'type:value,...' string, got {value!r}")


def merge_labels(chain: list[dict[str, list[str]]]) -> dict[str, list[str]]:
    """Farthest first; later (nearer) entries replace a whole label type."""
    out: dict[str, list[str]] = {}
    for labels in chain:
        out.update(labels)
    return out
