"""Shared fixtures. bpy tests start from an empty file (MolecularNodes-style reset)."""

from __future__ import annotations

import pytest


@pytest.fixture
def clean_bpy():
    """A fresh, empty Blender file before the test; bpy is imported only by tests that ask."""
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)
