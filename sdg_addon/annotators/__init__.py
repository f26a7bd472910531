"""Annotators: FrameData (arrays from one render) -> annotations. No bpy.

Importing this package registers every built-in annotator; docs/annotators.md is the
catalogue of names, shapes, dtypes, units and conventions.
"""

from . import bbox2d, camera_params, depth, rgb, segmentation  # noqa: F401  (registration)
from .base import ANNOTATORS, Annotator, create_annotator, register_annotator

__all__ = ["ANNOTATORS", "Annotator", "create_annotator", "register_annotator"]
