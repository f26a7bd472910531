"""`~` in the paths a user gives (no bpy, no other module of the tool: any may import it)."""

from __future__ import annotations

import os
from pathlib import Path


def expand_home(path: object) -> Path:
    """`path` with a leading `~` or `~user` made that home folder, as a shell does. A `~name`
    naming no user of this system (a parameter file from another machine, a folder named
    `~old`) is left as written, where Path.expanduser raised RuntimeError ('Could not
    determine home directory.'), a traceback in every command."""
    return Path(os.path.expanduser(os.fspath(path)))
