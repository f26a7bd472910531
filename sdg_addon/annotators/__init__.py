"""Annotators: FrameData (arrays from one render) -> annotations. No bpy.

Importing this package registers every built-in annotator; docs/annotators.md is the
catalogue of names, shapes, dtypes, units and conventions.
"""

from . import (  # noqa: F401  (registration)
    amodal,
    bbox2d,
    bbox3d,
    camera_params,
    coordinates,
    depth,
    flow,
    keypoints,
    lidar,
    normals,
    occlusion,
    pointcloud,
    pose,
    rgb,
    segmentation,
    sensors,
)
from .base import ANNOTATORS, Annotator, create_annotator, register_annotator

__all__ = ["ANNOTATORS", "Annotator", "create_annotator", "register_annotator"]
