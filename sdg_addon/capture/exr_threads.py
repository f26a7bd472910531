"""OpenEXR's thread pool, off while the hand-off EXR is written.

Each render writes its passes to an uncompressed multilayer EXR (the hand-off file). Blender
gives OpenEXR a pool of as many threads as the machine has cores, and OpenEXR hands every
scanline block to it: uncompressed, a block is one row, so a 640x480 frame is 480 tasks,
each a semaphore post and a thread wake-up that cost more than copying the row. Measured on
a 2-core machine (bpy 5.0.1, Render Result of a 640x480 frame with RGBA, depth and object
index): 31-62 ms a save with the pool, 14 ms with none; inside a 320x240 render call the
save fell from 32 to 5 ms. The render process is blocked while it saves, so this is time
per frame of every render process, and on a GPU the GPU waits.

There is no Python setting for the pool: the library Blender loaded is found among the
process's mapped files and `Imf::setGlobalThreadCount` called through ctypes. Where that
fails (another platform, a library built differently) nothing changes: the files are the
same either way, only slower to write.
"""

from __future__ import annotations

import ctypes
import os
import re

_LIBRARY = re.compile(r"^(lib)?OpenEXR(-\d+_\d+)?\.(so|dylib)")
_NAMESPACES = [f"Imf_{major}_{minor}" for major in (3, 4) for minor in range(10)]


def _loaded_openexr() -> str | None:
    """Path of the OpenEXR library this process has loaded (Linux: /proc/self/maps)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                path = line.split(maxsplit=5)[-1].strip()
                if path.startswith("/") and _LIBRARY.match(os.path.basename(path)):
                    return path
    except OSError:
        pass
    return None


def _functions():
    """(get, set) of OpenEXR's global thread count, or None where they cannot be found."""
    path = _loaded_openexr()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for ns in _NAMESPACES:  # the namespace names the library's version (Imf_3_3 in Blender 5.0)
        try:
            get = getattr(lib, f"_ZN{len(ns)}{ns}17globalThreadCountEv")
            put = getattr(lib, f"_ZN{len(ns)}{ns}20setGlobalThreadCountEi")
        except AttributeError:
            continue
        get.restype, get.argtypes = ctypes.c_int, []
        put.restype, put.argtypes = None, [ctypes.c_int]
        return get, put
    return None


def openexr_threads() -> int | None:
    """The thread count of the OpenEXR library Blender uses, or None where it cannot be read."""
    functions = _functions()
    return None if functions is None else functions[0]()


def set_openexr_threads(count: int) -> int | None:
    """Set the thread count of the OpenEXR library Blender uses (0: files are written in the
    calling thread); return the count it had, or None where it cannot be set here."""
    functions = _functions()
    if functions is None:
        return None
    get, put = functions
    before = get()
    put(count)
    return before
