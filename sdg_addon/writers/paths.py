"""The one path sanitizer: every name that becomes part of a path goes through here.

Camera names, split names, label values, asset names and writer options are the user's
text; a writer must never let one of them reach outside the output folder (`..`, `/`, an
absolute path, NUL) or produce a name that some file system refuses (300 characters,
`CON` on Windows, control characters). `safe_name` turns any text into one plain path
component; `inside` joins components under a root and proves the result stays there.

A changed name gets a short hash of the original, so two different names never share a
folder (`cam/1` and `cam:1` both clean to `cam_1`, which would mix two cameras' frames).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

MAX_COMPONENT = 80  # characters of a name; writers add suffixes such as `_semantics_mapping_000000.json`
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


# Folders the tool makes in an output folder: the audit trail, each built-in writer's own
# folder, and `headless preview` / `report`'s default folders; and the BasicWriter's clip and
# frames_per_folder sub-folders (patterns). A camera's or LiDAR's output sub-folder (its
# name) must not be one of them: its frames would land in the audit trail or another
# writer's folder, or read as a clip / frames folder.
TOOL_FOLDERS = (
    "audit",
    "bop",
    "coco",
    "hdf5",
    "kitti",
    "kitti_velodyne",
    "mot",
    "pcd",
    "preview",
    "report",
    "webdataset",
    "yolo",
)
_TOOL_FOLDER_PATTERN = re.compile(r"^(clip|frames)_\d+$")


def is_tool_folder(name: object) -> bool:
    """Whether `name`, as a path component, is (case aside) a folder the tool makes in an
    output folder (TOOL_FOLDERS, clip_N, frames_N)."""
    folder = safe_name(name).lower()
    return folder in TOOL_FOLDERS or bool(_TOOL_FOLDER_PATTERN.match(folder))


def sensor_folder_problem(name: object, taken: dict[str, str], who: str) -> str | None:
    """What stops `name` from naming a sensor's (camera's, LiDAR's) output sub-folder, as the
    expectation of a problem: a folder the tool makes there itself, or one `taken` (folder,
    case aside -> who took it) already holds, which Windows' and macOS' file systems make
    one folder. None when it may: `who` then takes it."""
    if is_tool_folder(name):
        return (
            f"a name that is not a folder the tool makes in the output folder ({', '.join(TOOL_FOLDERS)}, "
            "clip_N, frames_N; any case): it names the sensor's output sub-folder"
        )
    folder = safe_name(name).lower()
    if folder in taken:
        return (
            f"a name that differs from {taken[folder]}'s in more than case: it names the sensor's output "
            "sub-folder, and on Windows' and macOS' file systems the two would be one folder"
        )
    taken[folder] = who
    return None


class UnsafePathError(ValueError):
    """A path that would leave the output folder."""


def safe_name(text: object) -> str:
    """One portable path component made from `text`: ASCII letters, digits, `.`, `_`, `-`.

    Unchanged when it already is one (and is not `.`, `..`, hidden or a reserved device
    name); otherwise unsafe runs become `_`, the result is cut to MAX_COMPONENT and a
    hash of the original text is appended, so distinct inputs stay distinct.
    """
    text = str(text)
    clean = _UNSAFE.sub("_", text).strip(".") or "_"
    if clean.startswith("-"):
        clean = "_" + clean[1:]
    if clean.split(".")[0].lower() in _RESERVED:
        clean = "_" + clean
    if clean == text and len(text) <= MAX_COMPONENT:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{clean[: MAX_COMPONENT - 9]}-{digest}"


def safe_file_name(text: object) -> str:
    """safe_name for a file's name that keeps its extension: `my scene.toml` becomes
    `my_scene-HASH.toml`, still a parameter file by its name (safe_name would give
    `my_scene.toml-HASH`). An extension that is not plain (`a.b c`) counts as name."""
    text = str(text)
    stem, dot, suffix = text.rpartition(".")
    if not dot or not stem.strip(".") or not re.fullmatch(r"[A-Za-z0-9]{1,16}", suffix):
        return safe_name(text)
    return f"{safe_name(stem)}.{suffix}"


def is_safe_name(text: object) -> bool:
    return isinstance(text, str) and safe_name(text) == text


def inside(root: Path | str, *names: object) -> Path:
    """root / safe_name(n1) / safe_name(n2) ...: a path that cannot leave `root`."""
    path = Path(root)
    for name in names:
        path = path / safe_name(name)
    check_inside(root, path)
    return path


def check_inside(root: Path | str, path: Path | str) -> Path:
    """`path`, after proving it lies under `root` (following `..` and symbolic links)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if "\0" in str(path) or os.path.commonpath([real_root, real]) != real_root:
        raise UnsafePathError(f"refusing to write {str(path)!r}: it is outside the output folder {str(root)!r}")
    return Path(path)
