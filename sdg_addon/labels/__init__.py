"""Semantic labels: the pure format (parse) here; bpy access in labels.blender."""

from .parse import LABEL_PROPERTY, merge_labels, parse_labels

__all__ = ["LABEL_PROPERTY", "merge_labels", "parse_labels"]
