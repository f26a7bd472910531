"""OpenImageIO's Python module ships with Blender and the bpy 5.x wheels, not with the bpy
4.2 wheel on PyPI: tests that need it (other view transforms than Standard and Raw, EXR
files read as a reference) skip there; the tool refuses such a view with a sentence."""

from __future__ import annotations

import pytest


def has_oiio() -> bool:
    from sdg_addon.capture.exr import _oiio

    try:
        _oiio()
    except ImportError:
        return False
    return True


requires_oiio = pytest.mark.skipif(not has_oiio(), reason="OpenImageIO's Python module is not in this Blender")
