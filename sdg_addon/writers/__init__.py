"""Writers: annotated frames -> files (no bpy). Importing registers the built-in writers."""

from . import basic, bop, coco, hdf5, kitti, mot, pointclouds, webdataset, yolo  # noqa: F401  (registration)
from .base import WRITERS, Writer, create_writer, register_writer

__all__ = ["WRITERS", "Writer", "create_writer", "register_writer"]
