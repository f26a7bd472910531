"""Where Blender's own files are (colour configuration, bundled Python modules), without
importing bpy: worker processes spawned from a bpy process cannot import it.

Order: bpy if it is already imported (this process's own Blender), the
SDG_BLENDER_RESOURCES variable (the render process sets it from
bpy.utils.resource_path("LOCAL") and spawned workers inherit it), else the installed bpy
package found on disk (pip wheel: bpy/<version>/; Blender app: <version>/scripts/modules/bpy).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV = "SDG_BLENDER_RESOURCES"


def remember_resources() -> None:
    """Called where bpy is imported: pass Blender's resource folder on to child processes."""
    import bpy

    # Always this process's own: a value inherited from another Blender (a parent of another
    # version) would give its workers that Blender's colour configuration.
    os.environ[ENV] = bpy.utils.resource_path("LOCAL")


def resources() -> Path:
    """Blender's LOCAL resource folder (holds datafiles/ and python/)."""
    bpy = sys.modules.get("bpy")
    if bpy is not None and hasattr(bpy, "utils"):  # this process's own Blender comes first
        return Path(bpy.utils.resource_path("LOCAL"))
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    # The bpy package on sys.path, looked at as files (importing it is what fails).
    for entry in sys.path:
        pkg = Path(entry or ".") / "bpy"
        if not pkg.is_dir():
            continue
        for candidate in [*sorted(pkg.glob("[0-9]*.[0-9]*"), reverse=True), pkg.parents[2]]:
            if (candidate / "datafiles").is_dir():
                return candidate
    raise FileNotFoundError(
        "Blender's resource folder was not found (no bpy package, and SDG_BLENDER_RESOURCES is not set)"
    )


def ocio_config() -> Path:
    return resources() / "datafiles" / "colormanagement" / "config.ocio"


def bundled_site_packages() -> Path:
    """Blender's bundled site-packages (OpenImageIO, PyOpenColorIO)."""
    return resources() / "python" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def import_bundled(name: str):
    """A module Blender bundles (OpenImageIO, PyOpenColorIO), imported without bpy: from
    sys.path when it is there, else from Blender's bundled site-packages."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        site = str(bundled_site_packages())
        if site not in sys.path:
            sys.path.append(site)
        return importlib.import_module(name)
