"""Blender's simulation caches, kept out of the user's folders during a run.

Two kinds of cache write files as frames are evaluated, whatever the run says:
- a fluid domain in Replay mode writes its cache into its cache directory (by default
  beside the .blend it came from) from the first frame on;
- a cloth, soft body, particle or dynamic paint cache with Disk Cache on writes into
  `blendcache_<file>/` beside the .blend open in the session, and deletes its files there
  when the object changes (a randomized pose resets it).

A Replay domain is given a cache folder of its own in Blender's session temporary folder
(removed when Blender exits), before anything evaluates it, and a new one at the start of
every clip (scene.motion; the earlier one is removed). Baked caches are only read. A
disk cache writes into Blender's temporary folder when the session has no file (the
headless runner reads the base .blend into a session without a file); with a file open (the UI)
it would write beside that file: the run is refused with the way out. Nothing here
changes a cache's "disk" setting: Blender deletes the cache's files when it is switched.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import bpy

from .base import BaseSceneError

FLUID_PREFIX = "sdg_fluid_"  # the temporary cache folders made here
_made: set[str] = set()  # ... exactly these paths: the only folders this module ever removes


def fluid_domains(objects):
    """(object, domain settings) of every fluid domain among `objects`."""
    for obj in objects:
        for mod in getattr(obj, "modifiers", ()):
            if mod.type == "FLUID" and mod.fluid_type == "DOMAIN" and mod.domain_settings is not None:
                yield obj, mod.domain_settings


def redirect_replay_fluid_caches(objects) -> list[str]:
    """Give every Replay fluid domain among `objects` a new, empty cache folder in Blender's
    session temporary folder (a fresh simulation, which the run's own changes need anyway);
    return the objects' names. Must run before the objects are first evaluated."""
    moved = []
    for obj, domain in fluid_domains(objects):
        if domain.cache_type == "REPLAY":
            before = domain.cache_directory
            folder = tempfile.mkdtemp(prefix=FLUID_PREFIX, dir=bpy.app.tempdir or None)
            _made.add(folder)
            # Setting the folder only stores the text (no cache is freed, no file touched).
            domain.cache_directory = folder
            moved.append(obj.name)
            if before in _made:  # an earlier clip's folder, made above: the run's own files
                _made.discard(before)
                shutil.rmtree(before, ignore_errors=True)
    return moved


def point_caches(obj):
    """(what, point cache) of every point cache of `obj`: cloth, soft body, particles,
    dynamic paint surfaces."""
    for mod in getattr(obj, "modifiers", ()):
        if mod.type in ("CLOTH", "SOFT_BODY"):
            yield f'modifiers["{mod.name}"]', mod.point_cache
        elif mod.type == "PARTICLE_SYSTEM":
            yield f'particle system "{mod.particle_system.name}"', mod.particle_system.point_cache
        elif mod.type == "DYNAMIC_PAINT" and mod.canvas_settings is not None:
            for surface in mod.canvas_settings.canvas_surfaces:
                yield f'dynamic paint surface "{surface.name}"', surface.point_cache


def check_disk_caches(objects) -> None:
    """Refuse (BaseSceneError, before anything is written) a cache on disk that is not baked
    while a file is open in the session: Blender would write and delete its files beside it."""
    if not bpy.data.filepath:
        return  # written into Blender's session temporary folder
    found = [
        f"{obj.name!r} ({what})"
        for obj in objects
        for what, cache in point_caches(obj)
        if cache.use_disk_cache and not cache.is_baked
    ]
    if found:
        folder = os.path.dirname(bpy.data.filepath)
        raise BaseSceneError(
            f"{', '.join(found)}: a simulation cache on disk, not baked: during the recording Blender "
            f"would write (and delete) its files in {folder}, beside the open .blend. Bake the cache, "
            "or turn its Disk Cache off, then record (or record the .blend headless, which keeps "
            "its caches in a temporary folder)"
        )


def keep_caches_inside(objects) -> None:
    """Both steps above, for objects just read or about to be recorded: before anything
    evaluates them (even removing a scene evaluates the one that becomes current)."""
    objects = list(objects)
    check_disk_caches(objects)
    redirect_replay_fluid_caches(objects)


def free_simulations_before_exit() -> None:
    """Empty the session if it holds a fluid simulation: freed during Python's own shutdown,
    Mantaflow's data aborts the process (a segmentation fault, exit 139, after a finished run)."""
    if any(m.type == "FLUID" for o in bpy.data.objects for m in o.modifiers):
        bpy.ops.wm.read_homefile(use_empty=True)
