"""Visualizer: any BasicWriter output frame as a picture a person reads at a glance.

Pure numpy + Pillow (no bpy): it reads the files on disk, so it works on any dataset in
Replicator's BasicWriter layout, ours or not. One camera: files at the root of the folder;
several cameras: one sub-folder per camera (both at once are fine). Frames are found by
globbing ``rgb_*.png``; every other annotator is optional and skipped when missing.

Frame panel (``frame_panel``), per camera, size ``(2 * W, H)`` for a W x H camera:

    +----------------------------+-------------+-------------+
    |  RGB + mask overlay        |  depth      |  3D boxes   |
    |  + keypoints               +-------------+-------------+
    |  + tight 2D boxes + names  |  normals    |  info       |
    +----------------------------+-------------+-------------+

The left half is the RGB at full resolution with the instance mask (else the semantic mask)
blended at 45 % (BACKGROUND and UNLABELLED pixels are left untouched), instance outlines at
85 %, and every row of ``bounding_box_2d_tight`` drawn as an outline whose outer pixels are
exactly the box's inclusive ``x_min..x_max, y_min..y_max``, with the class name (and the
occluded share when it is at least 5 %) on a tag of the box colour. The box colour is the
colour of the same object in the overlaid mask (matched by prim path through the instance
mapping), else the semantic colour of its ``semanticId``; all colours come from
``writers.palette.id_colors``, so they match the segmentation PNGs. The right half holds
W/2 x H/2 tiles in this order, the first three present: colourised depth
(``distance_to_image_plane``, else ``distance_to_camera``), the 3D boxes (each box's 12 edges
on the RGB, projected with the frame's camera_params), the LiDAR points the camera sees (every
sensor's scan of the frame, projected likewise), normals, forward flow, the semantic map; and
an info tile (frame, camera, size, counts, class legend, a warning when nothing labelled is
in view). Several cameras: one such row per camera, stacked top to bottom.

Contact sheet (``contact_sheet``): overlays of N frames (of a sequence: over its clips) as thumbnails ``thumb_width`` wide
(height keeps the aspect ratio) with the frame number, ``columns`` per row, ``GAP`` pixels
between and around them: size ``(cols * tw + (cols + 1) * GAP, rows * th + (rows + 1) * GAP)``.

Colour keys:
- depth: robust range = 2nd..98th percentile of the finite, positive values; near (<= 2nd)
  -> (253, 231, 37) yellow, far (>= 98th) -> (68, 1, 84) dark purple, a viridis ramp in
  between; inf / nan / <= 0 (background) -> black.
- normals: ``(n + 1) / 2`` as RGB; all-zero or non-finite (background) -> black.
- semantic map: class colours; BACKGROUND black, UNLABELLED dark grey (48, 48, 48).
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .colormaps import _squeeze, colorize_depth, colorize_flow, colorize_normals, depth_range
from .fonts import font as _font  # names in any script: Blender's fonts draw the letters the first lacks
from .writers import io
from .writers.basic import CLIP_FOLDER, FRAME_FOLDER, is_rgb_annotator_folder
from .writers.palette import id_colors
from .writers.png import encode_png

MASK_ALPHA = 0.45  # mask overlay opacity
OUTLINE_ALPHA = 0.85  # instance outline opacity
OCCLUSION_SHOWN = 0.05  # occlusionRatio from which the tag shows the occluded share
GAP = 4  # contact sheet: pixels between and around thumbnails
MAX_SHEET_PIXELS = 8192 * 8192  # as a render's image (render.resolution)
BACKDROP = (24, 24, 24)
UNLABELLED_GREY = (48, 48, 48)
HALO = (0, 0, 0)  # under keypoints' lines and rings, so they show over any colour
NEAR_COLOR = (253, 231, 37)
FAR_COLOR = (68, 1, 84)

# viridis, sampled every 1/8 (0 = dark purple, 1 = yellow)
_RGB_RE = re.compile(r"^rgb_(\d+)\.png$")
_KEY_RE = re.compile(r"^\(\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\s*\)$")


# --- colourisation (public) ------------------------------------------------------------------


# --- finding frames --------------------------------------------------------------------------


def read_image(path: Path) -> Image.Image:
    """The image file at `path`, decoded; a file that cannot be (cut short, damaged, not an
    image: a dataset copied in part) is a ValueError naming it, not a traceback."""
    try:
        with Image.open(path) as im:
            im.load()
            return im
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ValueError(f"cannot read {path}: {e}") from e


def load_npy(path: Path) -> np.ndarray:
    """The .npy file at `path`; one that cannot be read is a ValueError naming it."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"cannot read {path}: {e}") from e


@dataclass
class FrameFiles:
    """One frame of one camera: where its files are. ``path`` returns None when missing."""

    folder: Path
    camera: str  # "" for files at the root of the output folder
    frame: int
    suffix: str  # the frame number as written in the file names ("0007")

    def path(self, name: str, ext: str) -> Path | None:
        """The file `<name>_<frame>.<ext>`, beside rgb or in its annotator's folder
        (Replicator's <camera>/<annotator>/ layout: `bounding_box_2d_tight_labels` lives in
        `bounding_box_2d_tight/`; our `sdg_` files in their annotator's: `sdg_occlusion_info`
        in `occlusion/`)."""
        file = f"{name}_{self.suffix}.{ext}"
        p = self.folder / file
        if p.is_file():
            return p
        parts = name.removeprefix("sdg_").split("_")
        for k in range(len(parts), 0, -1):
            p = self.folder / "_".join(parts[:k]) / file
            if p.is_file():
                return p
        return None

    def json(self, name: str):
        """The file's data; None where there is no such file. One that cannot be read (cut
        short or damaged: every file of a run is renamed into place whole) is a ValueError
        naming it, not taken for a missing file (a frame's boxes then drawn as 'id 2')."""
        p = self.path(name, "json")
        if p is None:
            return None
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read {p}: {e}") from e


def _frames_in(folder: Path) -> dict[int, str]:
    """frame -> its number as written, in a camera folder (and its frames_* sub-folders)."""
    return {f: suffix for f, (suffix, _where) in _frame_places(folder).items()}


def _frame_places(folder: Path) -> dict[int, tuple[str, Path]]:
    """frame -> (number as written, the folder holding its files). BasicWriter's
    `frames_per_folder` puts frames in `frames_<first>` sub-folders: they are followed."""
    out: dict[int, tuple[str, Path]] = {}
    groups = [folder]
    if folder.is_dir():
        groups += sorted(p for p in folder.iterdir() if p.is_dir() and FRAME_FOLDER.match(p.name))
    for group in groups:
        annotator = group / "rgb"  # Replicator's <camera>/rgb/, not a camera named rgb beside others
        for p in [
            *group.glob("rgb_*.png"),
            *(annotator.glob("rgb_*.png") if is_rgb_annotator_folder(annotator) else ()),
        ]:
            m = _RGB_RE.match(p.name)
            if m:
                out.setdefault(int(m.group(1)), (m.group(1), group))
    return out


def cameras(folder: Path | str) -> dict[str, Path]:
    """Camera name -> folder: "" for frames at the root, then sub-folders with rgb_*.png;
    a sequence's clip folder holding camera folders (several cameras) gives one camera per
    clip and camera, "clip_0003/left"."""
    from .output import is_dataset

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    out = {}
    if _frames_in(folder):
        out[""] = folder
    others = []  # datasets of their own in it (out/ holding out/v1, out/v2): no camera of this one
    for sub in _sub_folders(folder):
        if is_dataset(sub):
            others.append(sub.name)
        elif is_rgb_annotator_folder(sub):  # the folder's own rgb files (a camera's folder given)
            continue
        elif _frames_in(sub):
            out[sub.name] = sub
        elif CLIP_FOLDER.match(sub.name):
            for cam in _sub_folders(sub):
                if _frames_in(cam):
                    out[f"{sub.name}/{cam.name}"] = cam
    if not out and others:
        raise FileNotFoundError(
            f"{folder} holds datasets ({', '.join(others)}), not the frames of one: give one of them, "
            f"e.g. {folder / others[0]} (report A B compares two)"
        )
    if not out:
        raise FileNotFoundError(_no_frames(folder))
    return out


def _no_frames(folder: Path) -> str:
    """Why a folder has no rgb_*.png, from its run's audit/resolved.json where there is one:
    a run without the basic writer or the rgb annotator, or one that finished no frame yet."""
    from .output import dataset_root

    said = f"no rgb_*.png frames in {folder} or its sub-folders: preview and report read the files of the basic writer"
    root = dataset_root(folder)
    if root is None and not any(folder.iterdir()):  # a wrong path, one made by hand: no run's advice applies
        return f"{folder} is empty: give the output folder of a run (render's --out, or run.output of its file)"
    try:
        resolved = json.loads((root / "audit" / "resolved.json").read_text(encoding="utf-8")) if root else None
    except (OSError, ValueError):
        resolved = None
    if not isinstance(resolved, dict) or "basic" not in (resolved.get("writers") or {}):
        return f"{said} (a run with only bop, webdataset, hdf5... writes none): render with [writers.basic] beside the others"
    if "rgb" not in (resolved.get("annotators") or {}):
        return (
            f"{said}, and its run has no rgb annotator (audit/resolved.json): render with rgb = {{}} under [annotators]"
        )
    from .audit import finished_frames

    try:
        done = finished_frames(root / "audit")
    except (OSError, ValueError):
        done = {}
    if not done:
        return f"{said}, and its run has finished no frame yet (audit/): continue it with render --resume"
    return f"{said}: this folder is not where its dataset's frames are; give the dataset's folder, {root}"


def _sub_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not FRAME_FOLDER.match(p.name))


def frames(folder: Path | str, camera: str | None = None) -> list[int]:
    """Sorted frame numbers of one camera, or of all cameras together."""
    cams = cameras(folder)
    chosen = [_camera(cams, camera, folder)] if camera is not None else list(cams.values())
    return sorted(set().union(*(_frames_in(c) for c in chosen)))


def frame_files(folder: Path | str, frame: int, camera: str | None = None) -> list[FrameFiles]:
    """The frame's files, one entry per camera that has it (only ``camera`` if given)."""
    cams = cameras(folder)
    names = [camera] if camera is not None else list(cams)
    out = []
    for name in names:
        sub = _camera(cams, name, folder)
        found = _frame_places(sub)
        if frame in found:
            suffix, where = found[frame]
            out.append(FrameFiles(where, name, frame, suffix))
    if not out:
        have = frames(folder, camera)
        where = f" for camera {camera!r}" if camera else ""
        clips = [name for name in names if CLIP_FOLDER.match(name.partition("/")[0])]
        how = (
            f"; a sequence's files count frames within each clip: give a clip's camera, e.g. --camera {clips[0]}, "
            "or preview a clip's folder"
            if clips
            else ""
        )
        raise KeyError(f"no frame {frame}{where} in {folder} (frames {_ranges(have)}){how}")
    return out


def camera_frame_files(folder: Path | str, camera: str) -> dict[int, FrameFiles]:
    """Every frame of one camera: frame -> its files (frame_files of each, from one look at
    the folder: a caller going through many frames reads the folder once, not per frame)."""
    places = _frame_places(_camera(cameras(folder), camera, folder))
    return {f: FrameFiles(where, camera, f, suffix) for f, (suffix, where) in places.items()}


def camera_folder(folder: Path | str, name: str) -> str:
    """The camera key (its folder, "clip_0003/left" in a sequence) of ``name``, given as the
    folder or as the camera's name in the parameter file: a name that is not a plain file
    name (`linke Kamera`, `über`) has a folder of its own (writers.paths.safe_name:
    `linke_Kamera-c1f716f2`). The folder may end in a slash, as a shell completes it
    (`thermal/`). A sequence's camera given without its clip gives its folder name ("th",
    which sheet_frames takes as that camera of every clip). A name that is neither is
    returned as it is."""
    cams = cameras(folder)
    if name in cams:
        return name
    from .writers.paths import safe_name

    trimmed = name.rstrip("/" + os.sep)
    if trimmed in cams:
        return trimmed
    for spelt in _spellings(name):
        key = "/".join(safe_name(part) for part in spelt.split("/"))
        if key in cams:
            return key
    return _clip_camera(cams, name) or name  # a sequence's camera without its clip: its folder name


def _camera(cams: dict[str, Path], name: str, folder: Path | str | None = None) -> Path:
    if name not in cams and folder is not None and name:
        name = camera_folder(folder, name)
    if name not in cams:
        shown = [repr(c) for c in cams if c]
        if "" in cams:  # one camera's files at the folder's root: no name to give
            shown.insert(0, "one camera's files at the folder's root (leave out --camera)")
        # A LiDAR's folder: OUT/top, or in each clip of a sequence (OUT/clip_0000/top)
        places = (
            [Path(folder, name), *Path(folder).glob(f"clip_*/{glob.escape(name)}")]
            if folder is not None and name
            else []
        )
        what = ""
        if any(p.is_dir() and any(p.glob("**/lidar_*.npy")) for p in places):
            what = f" ({name!r} is a LiDAR's folder: point clouds, lidar_NNNN.npy, which preview draws onto the cameras' frames, not as a camera of its own)"
        own = _clip_camera(cams, name)
        if own is not None:
            first = next(c for c in cams if c.partition("/")[2] == own)
            what = (
                f" (a sequence's camera has a folder in each clip: give one, e.g. --camera {first}; "
                f"--sheet --camera {own} shows its frames of every clip)"
            )
        raise KeyError(f"no camera {name!r}{what}: found {', '.join(shown)}")
    return cams[name]


def _clip_camera(cams: dict[str, Path], name: str) -> str | None:
    """The folder name of a sequence's camera that `name` gives without its clip ("th" or
    "th/" for clip_0000/th, clip_0001/th, ...; its name in the parameter file too), or None."""
    from .writers.paths import safe_name

    own = {c.partition("/")[2] for c in cams if CLIP_FOLDER.match(c.partition("/")[0])} - {""}
    trimmed = name.rstrip("/" + os.sep)
    for candidate in (trimmed, *(safe_name(spelt) for spelt in _spellings(trimmed) if trimmed)):
        if candidate in own:
            return candidate
    return None


def _spellings(name: str) -> list[str]:
    """`name` as given, then composed (NFC) and decomposed (NFD): a camera's name typed 'café'
    composed names the folder of a camera spelt decomposed (a name taken from a macOS file
    name), which prints alike, and the other way round. Its folder (safe_name) differs."""
    return list(dict.fromkeys([name, unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name)]))


def camera_label(ff: FrameFiles) -> str:
    """The frame's camera as its run names it (audit/cameras.json of its dataset): a camera
    whose name is no plain file name has a folder of its own ("Kamera über" in
    Kamera_ber-230e6b7e/), and a thumbnail or info tile says the name; "clip_0003/über" in a
    sequence; the folder's name where the dataset records none (one made elsewhere)."""
    if not ff.camera:
        return ""
    from .output import dataset_root
    from .writers.paths import safe_name

    clip, _, folder = ff.camera.rpartition("/")
    root = dataset_root(ff.folder)
    try:
        names = json.loads((root / "audit" / "cameras.json").read_text(encoding="utf-8")) if root else []
    except (OSError, ValueError):
        names = []
    by_folder = {safe_name(n): n for n in names if isinstance(n, str)} if isinstance(names, list) else {}
    name = by_folder.get(folder, folder)
    return f"{clip}/{name}" if clip else name


def _ranges(values: list[int]) -> str:
    if not values:
        return "none"
    parts, start, prev = [], values[0], values[0]
    for v in values[1:] + [None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(parts)


# --- loading ----------------------------------------------------------------------------------


@dataclass
class Box:
    semantic_id: int
    x_min: int
    y_min: int
    x_max: int
    y_max: int
    occlusion: float
    label: str
    prim_path: str | None = None


@dataclass
class Mask:
    """An id map as colours: ``colors`` RGBA uint8, ``keys`` one integer per distinct colour."""

    colors: np.ndarray
    keys: np.ndarray
    path_colors: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    # A semantic map's class -> colour, from its labels file: a dataset made elsewhere
    # (Replicator's) colours classes its own way, not as writers.palette.id_colors does.
    label_colors: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def labelled(self) -> np.ndarray:
        """True where the pixel is neither BACKGROUND (alpha 0) nor UNLABELLED (opaque black)."""
        c = self.colors
        return (c[..., 3] > 0) & (c[..., :3].max(axis=-1) > 0)


def load_rgb(ff: FrameFiles) -> np.ndarray:
    """uint8 (H, W, 3); a transparent background is shown over ``BACKDROP``."""
    im = read_image(ff.path("rgb", "png"))
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, BACKDROP + (255,))
        return np.asarray(Image.alpha_composite(base, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def load_mask(ff: FrameFiles, name: str) -> Mask | None:
    """A segmentation (colourised RGBA png, uint16 id png or uint32 id npy) as a Mask."""
    png = ff.path(name, "png")
    if png is not None:
        im = read_image(png)
        if im.mode in ("RGBA", "RGB"):
            colors = np.asarray(im.convert("RGBA"))
            ids = None
        else:
            ids = np.asarray(im).astype(np.uint32)
    else:
        npy = ff.path(name, "npy")
        if npy is None:
            return None
        ids = load_npy(npy).astype(np.uint32)
        ids = ids[..., 0] if ids.ndim == 3 else ids
    if ids is not None:
        colors = id_colors(ids)
        keys = ids.astype(np.int64)
    else:
        c = colors.astype(np.int64)
        keys = (c[..., 0] << 24) | (c[..., 1] << 16) | (c[..., 2] << 8) | c[..., 3]
    mask = Mask(colors, keys)
    mapping = ff.json(f"{name}_mapping")
    if isinstance(mapping, dict):
        for key, path in mapping.items():
            color = _key_color(key)
            if color is not None and isinstance(path, str):
                mask.path_colors[path] = color[:3]
    labels = ff.json(f"{name}_labels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            color = _key_color(key)
            if color is not None:
                mask.label_colors.setdefault(label_text(value), color[:3])
    return mask


def _key_color(key: str) -> tuple[int, ...] | None:
    """A label-file key ("(r, g, b, a)" or an id) -> its RGBA colour."""
    m = _KEY_RE.match(key.strip())
    if m:
        return tuple(int(x) for x in m.groups())
    try:
        return tuple(int(x) for x in id_colors(np.array(int(key))))
    except ValueError:
        return None


def label_text(value) -> str:
    """A labels-file entry ({"class": "mug"}, or a plain string) -> the text to show."""
    if isinstance(value, dict):
        if "class" in value:
            return str(value["class"])
        return ", ".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


def _rows(ff: FrameFiles, name: str, needed: tuple[str, ...]) -> np.ndarray | None:
    """The frame's structured array `<name>_N.npy`, or None where it is missing or lacks a field."""
    p = ff.path(name, "npy")
    if p is None:
        return None
    data = load_npy(p)
    if data.dtype.names is None or not all(k in data.dtype.names for k in needed):
        return None
    return data


def load_boxes(ff: FrameFiles, name: str = "bounding_box_2d_tight") -> list[Box] | None:
    data = _rows(ff, name, ("semanticId", "x_min", "y_min", "x_max", "y_max"))
    if data is None:
        return None
    labels = ff.json(f"{name}_labels") or {}
    paths = ff.json(f"{name}_prim_paths")
    paths = paths if isinstance(paths, list) and len(paths) == len(data) else [None] * len(data)
    has_occ = "occlusionRatio" in data.dtype.names
    out = []
    for row, path in zip(data, paths):
        sid = int(row["semanticId"])
        entry = labels.get(str(sid)) if isinstance(labels, dict) else None
        occ = float(row["occlusionRatio"]) if has_occ else 0.0
        out.append(
            Box(
                sid,
                int(row["x_min"]),
                int(row["y_min"]),
                int(row["x_max"]),
                int(row["y_max"]),
                occ if math.isfinite(occ) else 0.0,
                label_text(entry) if entry is not None else f"id {sid}",
                path if isinstance(path, str) else None,
            )
        )
    return out


# A box's 12 edges between its corners (corner k: x_max if bit 0, y_max if bit 1, z_max if bit 2).
BOX_EDGES = tuple((a, a | bit) for a in range(8) for bit in (1, 2, 4) if not a & bit)


def project_to_pixels(params: dict, world) -> np.ndarray | None:
    """World points (N, 3) -> pixel coordinates (N, 2) with a camera_params file's
    `world_to_camera` (Blender camera space) and intrinsics, as the annotators project
    (frame.Camera.project_camera): NaN at or behind a perspective camera's image plane.
    A file without those (Replicator's own, made elsewhere) is projected with its
    cameraViewTransform and cameraProjection. None where the file cannot say (a fisheye
    lens, fields missing)."""
    try:
        m = np.asarray(params["world_to_camera"], dtype=np.float64)
        fx, fy, cx, cy = (float(params[k]) for k in ("fx", "fy", "cx", "cy"))
    except (KeyError, TypeError, ValueError):
        return _project_with_view(params, world)
    projection = params.get("projection")
    if m.shape != (4, 4) or projection not in ("perspective", "orthographic"):
        return None
    p = np.asarray(world, dtype=np.float64).reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]
    if projection == "perspective":
        depth = -p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = np.where(depth > 0, depth, np.nan)
            u, v = cx + fx * p[:, 0] / safe, cy - fy * p[:, 1] / safe
    else:
        u, v = cx + fx * p[:, 0], cy - fy * p[:, 1]
    return np.stack([u, v], axis=1)


def _project_with_view(params: dict, world) -> np.ndarray | None:
    """World points (N, 3) -> pixel coordinates (N, 2) with Replicator's own camera_params
    keys, as its readers project: NDC = `[p, 1] @ cameraViewTransform @ cameraProjection`
    (row vectors) divided by w, then x right, y down over renderProductResolution; NaN where w
    <= 0 (at or behind a perspective camera). None for a fisheye lens or keys missing."""
    try:
        view = np.asarray(params["cameraViewTransform"], dtype=np.float64).reshape(4, 4)
        proj = np.asarray(params["cameraProjection"], dtype=np.float64).reshape(4, 4)
        w, h = (float(x) for x in params["renderProductResolution"])
    except (KeyError, TypeError, ValueError):
        return None
    if params.get("cameraModel", "pinhole") not in ("pinhole", "orthographic") or not np.isfinite([view, proj]).all():
        return None
    p = np.asarray(world, dtype=np.float64).reshape(-1, 3)
    clip = np.concatenate([p, np.ones((len(p), 1))], axis=1) @ view @ proj
    with np.errstate(divide="ignore", invalid="ignore"):
        cw = np.where(clip[:, 3] > 0, clip[:, 3], np.nan)
        u, v = (clip[:, 0] / cw + 1) / 2 * w, (1 - clip[:, 1] / cw) / 2 * h
    return np.stack([u, v], axis=1)


def depth_in_front(params: dict, world) -> np.ndarray | None:
    """World points (N, 3) -> their distance in front of the camera's plane (N,), negative
    behind it, as project_to_pixels reads the file (our world_to_camera, else Replicator's
    cameraViewTransform); None where the file cannot say. A camera sees nothing at or behind
    its plane, an orthographic one neither (project_to_pixels puts such a point in its image)."""
    p = np.asarray(world, dtype=np.float64).reshape(-1, 3)
    try:
        m = np.asarray(params["world_to_camera"], dtype=np.float64)
        for k in ("fx", "fy", "cx", "cy"):
            float(params[k])
    except (KeyError, TypeError, ValueError):
        m = None  # not ours: Replicator's keys, as project_to_pixels reads them
    if m is not None:
        return -(p @ m[2, :3] + m[2, 3]) if m.shape == (4, 4) else None
    try:
        view = np.asarray(params["cameraViewTransform"], dtype=np.float64).reshape(4, 4)
    except (KeyError, TypeError, ValueError):
        return None
    return -(p @ view[:3, 2] + view[3, 2])  # [p, 1] @ view: camera space (looking down -Z)


@dataclass
class Box3D:
    semantic_id: int
    label: str
    corners: np.ndarray  # (8, 2) pixel coordinates, NaN for a corner behind the camera
    # The 12 edges as pixel segments ((x0, y0), (x1, y1)): one running behind a perspective
    # camera cut where it passes the camera's plane (its far end outside the image), one
    # wholly behind it None.
    edges: list = field(default_factory=list)


def load_boxes_3d(ff: FrameFiles) -> tuple[list[Box3D] | None, str]:
    """The frame's 3D boxes projected with its camera_params, and what to say of them: None
    (and why) where there are none or they cannot be projected."""
    needed = ("semanticId", "x_min", "y_min", "z_min", "x_max", "y_max", "z_max", "transform")
    data = _rows(ff, "bounding_box_3d", needed)
    if data is None:
        return None, ""
    params = ff.json("camera_params")
    if not isinstance(params, dict):
        return None, "3D boxes: no camera_params file to project them with"
    labels = ff.json("bounding_box_3d_labels") or {}
    lo = np.stack([data[k] for k in ("x_min", "y_min", "z_min")], axis=-1).astype(np.float64)
    hi = np.stack([data[k] for k in ("x_max", "y_max", "z_max")], axis=-1).astype(np.float64)
    bits = np.array([[(k >> a) & 1 for a in range(3)] for k in range(8)], dtype=bool)
    corners = np.where(bits[None], hi[:, None], lo[:, None])  # (N, 8, 3), the box's own space
    # transform is object-to-world in USD's row-vector layout: [p, 1] @ transform
    transform = np.asarray(data["transform"], dtype=np.float64).reshape(-1, 4, 4)
    world = np.einsum("nkj,nji->nki", corners, transform[:, :3, :3]) + transform[:, None, 3, :3]
    px = project_to_pixels(params, world.reshape(-1, 3))
    if px is None:
        model = params.get("cameraModel", "pinhole")
        if model in ("pinhole", "orthographic"):
            return None, "3D boxes: a camera_params file without the camera's pose and projection"
        return None, f"3D boxes: a {model} lens the preview cannot project"
    depth = depth_in_front(params, world.reshape(-1, 3))
    depth = depth.reshape(-1, 8) if depth is not None else None
    out = []
    for i, (row, c) in enumerate(zip(data, px.reshape(-1, 8, 2))):
        sid = int(row["semanticId"])
        entry = labels.get(str(sid)) if isinstance(labels, dict) else None
        edges = [_edge_in_front(params, world[i], c, None if depth is None else depth[i], a, b) for a, b in BOX_EDGES]
        out.append(Box3D(sid, label_text(entry) if entry is not None else f"id {sid}", c, edges))
    return out, f"3D boxes: {len(out)}"


def _edge_in_front(params, world, px, depth, a: int, b: int):
    """Box edge a-b as a pixel segment: whole where both corners are in front of the camera,
    cut where it passes the camera's plane (at a depth of a millionth of the edge's depth span:
    a perspective camera projects it far outside the image, so the drawing runs to the image's
    edge, as the edge does; an orthographic one where the edge meets the plane), None where it
    is behind the camera all along."""
    if depth is None or (depth[a] > 0 and depth[b] > 0):
        return (tuple(px[a]), tuple(px[b])) if np.isfinite(px[[a, b]]).all() else None
    if depth[a] <= 0 and depth[b] <= 0:
        return None
    front, back = (a, b) if depth[a] > 0 else (b, a)
    near = 1e-6 * (depth[front] - depth[back])  # in front of the plane, by a sliver of the edge
    t = (depth[front] - near) / (depth[front] - depth[back])
    cut = project_to_pixels(params, world[front] + t * (world[back] - world[front]))[0]
    return (tuple(px[front]), tuple(cut)) if np.isfinite(cut).all() and np.isfinite(px[front]).all() else None


@dataclass
class LidarScan:
    sensor: str  # the [[lidars]] name (its folder)
    world: np.ndarray  # (N, 3) points in world space
    ranges: np.ndarray  # (N,) distance from the sensor, scene units


def load_lidar_scans(ff: FrameFiles) -> list[LidarScan]:
    """The frame's LiDAR scans (`lidar_N.npy`, points in the sensor frame, and
    `lidar_info_N.json`'s sensor_to_world) wherever the basic writer puts them: each sensor's
    folder beside the camera's (`top/lidar/`, `top/` with annotator_subfolders = false, in
    the frame's `frames_N/` with frames_per_folder), or beside the camera's own files where
    one camera and one LiDAR share a folder (camera_subfolders = "never")."""
    scans = []
    for sensor, points_path in _lidar_files(ff):
        info_path = points_path.with_name(f"lidar_info_{ff.suffix}.json")
        if not info_path.is_file():
            continue  # no pose to place the points with (a scan copied without it)
        try:
            pose = np.asarray(json.loads(info_path.read_text(encoding="utf-8"))["sensor_to_world"], np.float64)
        except (OSError, ValueError, KeyError, TypeError) as e:  # damaged: said, not taken for missing
            raise ValueError(f"cannot read {info_path}: {e}") from e
        if pose.shape != (4, 4) or not np.isfinite(pose).all():
            raise ValueError(f"{info_path}: sensor_to_world {pose.shape}: expected a 4 x 4 matrix of numbers")
        data = load_npy(points_path)
        if data.ndim != 2 or data.shape[1] < 3:
            raise ValueError(f"{points_path}: points {data.shape}: expected (N, 4), x y z intensity")
        xyz = data[:, :3].astype(np.float64)
        scans.append(LidarScan(sensor, xyz @ pose[:3, :3].T + pose[:3, 3], np.linalg.norm(xyz, axis=1)))
    return scans


def _lidar_files(ff: FrameFiles) -> list[tuple[str, Path]]:
    """(sensor name, its lidar_N.npy) of every scan of the frame: in each sensor folder beside
    the camera's (the camera's folder's parent, also where that folder was given itself; at
    the root: in its sub-folders), in the same
    frames_N sub-folder as the camera's files, in the sensor's lidar/ annotator folder or not;
    beside the camera's own files (one camera and one LiDAR in one folder)."""
    name = f"lidar_{ff.suffix}.npy"
    group = ff.folder  # the camera's files (or its annotator folders) are here
    per_folder = group.name if FRAME_FOLDER.match(group.name) else None
    own = group.parent if per_folder else group  # the camera's folder (the root for ""), above frames_N
    found = []
    names = _lidar_names(group)
    if (group / name).is_file():  # one camera and one LiDAR sharing the folder
        found.append((next(iter(names.values())) if len(names) == 1 else "", group / name))
    base = own.parent if ff.camera or _camera_folder_given(own) else own
    for sensor in sorted(p for p in base.iterdir() if p.is_dir() and p != own) if base.is_dir() else ():
        where = sensor / per_folder if per_folder else sensor
        for points in (where / "lidar" / name, where / name):
            if points.is_file():
                found.append((names.get(sensor.name, sensor.name), points))
                break
    return found


def _camera_folder_given(own: Path) -> bool:
    """Whether `own`, a folder of frames at the top of what preview was given, is one camera's
    folder in a dataset of this tool (`preview OUT/left`, `OUT/clip_0003/left`): its LiDARs'
    folders are beside it, in its parent."""
    from .output import dataset_root

    if CLIP_FOLDER.match(own.name):  # a clip's own frames: the other clips are no LiDARs
        return False
    root = dataset_root(own)
    parent = Path(os.path.realpath(own)).parent
    return root is not None and (parent == root or (CLIP_FOLDER.match(parent.name) and parent.parent == root))


def _lidar_names(folder: Path) -> dict[str, str]:
    """The run's LiDARs (audit/resolved.json of the dataset `folder` lies in) by their folder:
    a name that is no plain file name has a folder of its own ("Dach über" in
    Dach_ber-7dc7603f/), and the caption says the name; {} where the dataset records none."""
    from .output import dataset_root
    from .writers.paths import safe_name

    root = dataset_root(folder)
    try:
        lidars = json.loads((root / "audit" / "resolved.json").read_text(encoding="utf-8"))["lidars"] if root else []
    except (OSError, ValueError, KeyError, TypeError):
        lidars = []
    names = [x.get("name") for x in lidars if isinstance(x, dict)] if isinstance(lidars, list) else []
    return {safe_name(n): n for n in names if isinstance(n, str)}


def lidar_image(ff: FrameFiles, scans: list[LidarScan]) -> tuple[Image.Image, str] | None:
    """The RGB with every LiDAR point the camera sees projected onto it (a 3 x 3 dot per point
    at full size, near yellow to far purple over the scan's range), and its caption; None
    where the frame has no camera_params to project with (or a lens it cannot project)."""
    params = ff.json("camera_params")
    if not isinstance(params, dict):
        return None
    image = np.array(load_rgb(ff), dtype=np.uint8)
    h, w = image.shape[:2]
    image //= 2  # dimmed: the points are what the tile shows
    world = np.concatenate([s.world for s in scans]) if scans else np.zeros((0, 3))
    ranges = np.concatenate([s.ranges for s in scans]) if scans else np.zeros(0)
    px = project_to_pixels(params, world)
    if px is None:
        return None
    inside = np.isfinite(px).all(axis=1)
    inside[inside] &= (px[inside] >= 0).all(axis=1) & (px[inside, 0] < w) & (px[inside, 1] < h)
    depth = depth_in_front(params, world)
    if depth is not None:  # behind an orthographic camera: in its image's rectangle, not in view
        near, far = _clip_range(params)
        # outside the camera's clip range: in no image (as a keypoint there has visibility 0)
        inside &= (depth > 0) & (depth >= near) & (depth <= far)
    colors = colorize_depth(ranges[None, :])[0] if ranges.size else np.zeros((0, 3), np.uint8)
    far_first = np.argsort(-ranges[inside], kind="stable")  # near points drawn last, on top
    cols, rows = np.floor(px[inside][far_first]).astype(np.int64).T
    dots = colors[inside][far_first]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            image[np.clip(rows + dy, 0, h - 1), np.clip(cols + dx, 0, w - 1)] = dots
    names = ", ".join(s.sensor for s in scans if s.sensor)
    caption = f"LiDAR{' ' if names else ''}{names}: {int(inside.sum())} of {len(ranges)} points in view"
    return Image.fromarray(image), caption


def _clip_range(params: dict) -> tuple[float, float]:
    """The camera's clip_start and clip_end (camera_params' cameraNearFar, scene units; none
    given: 0 .. inf), distances to its image plane outside which it renders nothing."""
    try:
        near, far = (float(x) for x in params["cameraNearFar"])
    except (KeyError, TypeError, ValueError):
        return 0.0, math.inf
    return (near if math.isfinite(near) else 0.0), (far if far > near else math.inf)


@dataclass
class Keypoints:
    instance_id: int
    points: np.ndarray  # (K, 3): x, y (pixel coordinates), visibility 0 / 1 / 2
    edges: list[tuple[int, int]]  # skeleton, indices into points
    prim_path: str | None = None
    semantic_id: int | None = None  # its class, as its 2D box's semanticId
    label: str | None = None  # the class's name (keypoints_info's idToLabels)


def load_keypoints(ff: FrameFiles) -> list[Keypoints] | None:
    """The frame's keypoints by object (keypoints_N.npy + keypoints_info_N.json), or None."""
    data = _rows(ff, "keypoints", ("instanceId", "index", "x", "y", "visibility"))
    if data is None:
        return None
    info = ff.json("keypoints_info") or {}
    skeletons = info.get("skeletons") if isinstance(info, dict) else None
    paths = info.get("primPaths") if isinstance(info, dict) else None
    labels = info.get("idToLabels") if isinstance(info, dict) else None
    out = []
    for iid in dict.fromkeys(int(i) for i in data["instanceId"]):
        rows = data[data["instanceId"] == iid]
        n = int(rows["index"].max()) + 1
        points = np.zeros((n, 3), dtype=np.float64)  # a keypoint without a row: visibility 0
        points[rows["index"].astype(np.int64)] = np.stack(
            [rows["x"].astype(np.float64), rows["y"].astype(np.float64), rows["visibility"].astype(np.float64)], axis=-1
        )
        edges = skeletons.get(str(iid), []) if isinstance(skeletons, dict) else []
        edges = [(int(a), int(b)) for a, b in edges if 0 <= int(a) < n and 0 <= int(b) < n]
        path = paths.get(str(iid)) if isinstance(paths, dict) else None
        sid = int(rows["semanticId"][0]) if "semanticId" in data.dtype.names else None
        entry = labels.get(str(sid)) if isinstance(labels, dict) and sid is not None else None
        label = label_text(entry) if entry is not None else None
        out.append(Keypoints(iid, points, edges, path if isinstance(path, str) else None, sid, label))
    return out


# --- drawing ----------------------------------------------------------------------------------


def _font_size(width: int, height: int) -> int:
    return int(min(40, max(10, round(min(width, height) / 36))))


def _line_height(font) -> int:
    left, top, right, bottom = font.getbbox("Ag|")
    return bottom - min(top, 0)


def _text_color(color) -> tuple[int, int, int]:
    r, g, b = color[:3]
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def _tag(draw: ImageDraw.ImageDraw, xy, text: str, font, fill, pad: int = 2) -> tuple[int, int]:
    """Text on a filled rectangle with its top-left at xy; returns the tag's (width, height)."""
    left, _, right, _ = font.getbbox(text)
    w, h = right - min(left, 0) + 2 * pad, _line_height(font) + 2 * pad
    x, y = xy
    draw.rectangle((x, y, x + w - 1, y + h - 1), fill=fill)
    draw.text((x + pad - min(left, 0), y + pad), text, font=font, fill=_text_color(fill))
    return w, h


def _tag_size(text: str, font, pad: int = 2) -> tuple[int, int]:
    left, _, right, _ = font.getbbox(text)
    return right - min(left, 0) + 2 * pad, _line_height(font) + 2 * pad


def _blend(base: np.ndarray, colors: np.ndarray, where: np.ndarray, alpha: float) -> None:
    px = base[where].astype(np.float32)
    base[where] = np.rint(px * (1 - alpha) + colors[where][:, :3].astype(np.float32) * alpha).astype(np.uint8)


def _edges(keys: np.ndarray) -> np.ndarray:
    e = np.zeros(keys.shape, dtype=bool)
    dx = keys[:, 1:] != keys[:, :-1]
    dy = keys[1:, :] != keys[:-1, :]
    e[:, 1:] |= dx
    e[:, :-1] |= dx
    e[1:, :] |= dy
    e[:-1, :] |= dy
    return e


def _resize_nearest(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = a.shape[:2]
    tw, th = size
    if (tw, th) == (w, h):
        return a
    ys = np.minimum((np.arange(th) + 0.5) * h / th, h - 1).astype(np.int64)
    xs = np.minimum((np.arange(tw) + 0.5) * w / tw, w - 1).astype(np.int64)
    return a[ys[:, None], xs[None, :]]


def _box_color(box: Box, mask: Mask | None, mask_kind: str) -> tuple[int, int, int]:
    color = None
    if mask is not None and mask_kind != "semantic" and box.prim_path is not None:
        color = mask.path_colors.get(box.prim_path)
    if mask is not None and mask_kind == "semantic":  # the class's colour in the map drawn
        color = mask.label_colors.get(box.label)
    if color is None:
        color = tuple(int(x) for x in id_colors(np.array(box.semantic_id))[:3])
    return color if max(color) > 0 else (255, 255, 255)


def _overlay_mask(ff: FrameFiles, mask: str) -> tuple[Mask | None, str]:
    names = {
        "instance": ("instance_segmentation", "instance_id_segmentation", "semantic_segmentation"),
        "semantic": ("semantic_segmentation",),
        "none": (),
    }
    if mask not in names:
        raise ValueError(f"mask {mask!r}: expected one of {list(names)}")
    for name in names[mask]:
        m = load_mask(ff, name)
        if m is not None:
            return m, "semantic" if name == "semantic_segmentation" else "instance"
    return None, "none"


def overlay(
    ff: FrameFiles,
    size: tuple[int, int] | None = None,
    mask: str = "instance",
    boxes: bool = True,
    labels: bool = True,
    occlusion: bool = True,
    line_width: int | None = None,
    keep_clear: tuple[tuple[int, int, int, int], ...] = (),
    keypoints: bool = True,
) -> Image.Image:
    """RGB with the mask blended in, tight 2D boxes + class names and keypoints, drawn at ``size``.

    ``mask``: "instance" (falls back to the semantic mask), "semantic" or "none".
    ``labels``: class-name tags (above the box, else below, else inside its top edge, where
    they don't cover an earlier tag or a ``keep_clear`` rectangle, inclusive (x0, y0, x1, y1):
    what the caller draws over the image afterwards, a contact sheet's frame number);
    ``occlusion``: add the occluded share to them. At size
    (W, H) (the default) a box's outline covers exactly its inclusive pixel extent; at other
    sizes the extent is scaled first. ``line_width`` defaults to min(W, H) / 240 (>= 1).
    ``keypoints``: each object's keypoints (keypoints_N.npy) in its colour, a filled dot where
    visible (2), a ring where hidden (1), none outside the image (0); its skeleton as lines
    between the keypoints drawn.
    """
    rgb = load_rgb(ff)
    h, w = rgb.shape[:2]
    tw, th = size or (w, h)
    if (tw, th) != (w, h):
        rgb = np.asarray(Image.fromarray(rgb).resize((tw, th), Image.LANCZOS))
    base = np.array(rgb, dtype=np.uint8)
    m, kind = _overlay_mask(ff, mask)
    if m is not None and m.colors.shape[:2] == (h, w):
        colors = _resize_nearest(m.colors, (tw, th))
        keys = _resize_nearest(m.keys, (tw, th))
        lab = (colors[..., 3] > 0) & (colors[..., :3].max(axis=-1) > 0)
        _blend(base, colors, lab, MASK_ALPHA)
        _blend(base, colors, lab & _edges(keys), OUTLINE_ALPHA)
    image = Image.fromarray(base)
    points = load_keypoints(ff) if keypoints else None
    if points:  # under the boxes' tags: a tag may cover a dot, never the reverse
        _draw_keypoints(image, points, m, kind, (w, h), line_width)
    rows = load_boxes(ff) if boxes else None
    if rows:
        _draw_boxes(image, rows, m, kind, (w, h), labels, occlusion, line_width, keep_clear)
    return image


def _instance_color(m: Mask | None, path: str | None, instance_id: int) -> tuple[int, int, int]:
    """An object's colour in the overlaid mask (by prim path), else its id's palette colour."""
    if m is not None and path and path in m.path_colors:
        return tuple(m.path_colors[path])
    return tuple(int(x) for x in id_colors(np.array(instance_id))[:3])


def _keypoints_color(kp: Keypoints, m: Mask | None, kind: str) -> tuple[int, int, int]:
    """An object's keypoints' colour: its colour in the overlaid instance mask; over a
    semantic mask (or none) its class's, as its 2D box is drawn (an instance's palette colour
    there is another class's, or no colour of the picture)."""
    if kind == "instance" or kp.semantic_id is None:
        return _instance_color(m, kp.prim_path, kp.instance_id)
    box = Box(kp.semantic_id, 0, 0, 0, 0, 0.0, kp.label or f"id {kp.semantic_id}", kp.prim_path)
    return _box_color(box, m, kind)


def _draw_keypoints(image, objects: list[Keypoints], m, kind, source_size, line_width) -> None:
    tw, th = image.size
    w, h = source_size
    sx, sy = tw / w, th / h
    lw = line_width or max(1, round(min(tw, th) / 240))
    r = max(3, 2 * lw + 1)
    draw = ImageDraw.Draw(image)
    edges, hidden, visible = [], [], []  # of every object: each kind drawn over the one before
    for kp in objects:
        color = _keypoints_color(kp, m, kind)
        # pixel coordinates (centre of pixel i at i + 0.5) -> Pillow's (pixel i at i)
        xy = kp.points[:, :2] * (sx, sy) - 0.5
        shown = (kp.points[:, 2] > 0) & np.isfinite(xy).all(axis=1)
        edges += [((tuple(xy[a]), tuple(xy[b])), color) for a, b in kp.edges if shown[a] and shown[b]]
        hidden += [((x, y), color) for (x, y), v, ok in zip(xy, kp.points[:, 2], shown) if ok and v < 2]
        visible += [((x, y), color) for (x, y), v, ok in zip(xy, kp.points[:, 2], shown) if ok and v >= 2]
    # Lines and rings over a dark halo (in the object's colour over its own mask's colour they
    # would not show); dots last, over every object's lines and rings (a visible keypoint is
    # never covered by another object's skeleton or hidden keypoint).
    for line, _color in edges:
        draw.line(line, fill=HALO, width=lw + 2)
    for (x, y), _color in hidden:
        draw.ellipse((x - r - 1, y - r - 1, x + r + 1, y + r + 1), outline=HALO, width=1)
    for line, color in edges:
        draw.line(line, fill=color, width=lw)
    for (x, y), color in hidden:  # a ring: the image under it seen
        draw.ellipse((x - r, y - r, x + r, y + r), outline=color, width=lw)
    for (x, y), color in visible:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=color, outline=HALO)


def _clip_segment(p, q, w: int, h: int):
    """The part of segment p-q inside [-1, w] x [-1, h] (Liang-Barsky), or None: a corner
    far outside the image (near a perspective camera's plane) is not drawn to its end."""
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for d, e in ((-dx, x0 + 1), (dx, w - x0), (-dy, y0 + 1), (dy, h - y0)):
        if d == 0:
            if e < 0:
                return None
            continue
        t = e / d
        if d < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
    if t0 > t1:
        return None
    return (x0 + t0 * dx, y0 + t0 * dy), (x0 + t1 * dx, y0 + t1 * dy)


def boxes_3d_image(ff: FrameFiles, boxes: list[Box3D]) -> Image.Image:
    """The RGB with each 3D box's 12 edges in its class colour (an edge running behind the
    camera cut at its plane), lines twice the overlay's width: the tile shows it at half size."""
    image = Image.fromarray(load_rgb(ff))
    w, h = image.size
    lw = 2 * max(1, round(min(w, h) / 240))
    colors = {}
    labels = ff.json("semantic_segmentation_labels")
    for key, value in labels.items() if isinstance(labels, dict) else ():
        color = _key_color(key)
        if color is not None:
            colors.setdefault(label_text(value), color[:3])
    draw = ImageDraw.Draw(image)
    segments = []
    for box in boxes:
        color = colors.get(box.label) or tuple(int(x) for x in id_colors(np.array(box.semantic_id))[:3])
        for edge in box.edges:
            if edge is None:  # behind the camera all along
                continue
            p, q = np.asarray(edge, dtype=np.float64) - 0.5  # pixel coordinates -> Pillow's
            seg = _clip_segment(p, q, w, h)
            if seg is not None:
                segments.append(((tuple(seg[0]), tuple(seg[1])), color))
    for line, _color in segments:
        draw.line(line, fill=HALO, width=lw + 2)
    for line, color in segments:
        draw.line(line, fill=color, width=lw)
    return image


def _draw_boxes(image, rows, m, kind, source_size, labels, occlusion, line_width, keep_clear=()) -> None:
    tw, th = image.size
    w, h = source_size
    sx, sy = tw / w, th / h
    lw = line_width or max(1, round(min(tw, th) / 240))
    font = _font(_font_size(tw, th))
    draw = ImageDraw.Draw(image)
    placed = []
    for box in sorted(rows, key=lambda b: -(b.x_max - b.x_min + 1) * (b.y_max - b.y_min + 1)):
        if box.x_max < box.x_min or box.y_max < box.y_min:
            continue
        x0, y0 = math.floor(box.x_min * sx), math.floor(box.y_min * sy)
        x1, y1 = max(x0, math.ceil((box.x_max + 1) * sx) - 1), max(y0, math.ceil((box.y_max + 1) * sy) - 1)
        if x1 < 0 or y1 < 0 or x0 > tw - 1 or y0 > th - 1:
            continue  # entirely outside the image
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(tw - 1, x1), min(th - 1, y1)
        color = _box_color(box, m, kind)
        draw.rectangle((x0, y0, x1, y1), outline=color, width=min(lw, x1 - x0 + 1, y1 - y0 + 1))
        placed.append((box, color, x0, y0, y1))
    if not labels:
        return
    taken: list[tuple[int, int, int, int]] = list(keep_clear)
    for box, color, x0, y0, y1 in sorted(placed, key=lambda p: (p[0].x_max - p[0].x_min) * (p[0].y_max - p[0].y_min)):
        text = box.label
        if occlusion and box.occlusion >= OCCLUSION_SHOWN:
            text += f" ({hidden_percent(box.occlusion)}% hidden)"
        tag_w, tag_h = _tag_size(text, font)
        # at the box's left edge, else ending at its right edge
        xs = list(dict.fromkeys(max(0, min(x, tw - tag_w)) for x in (x0, x1 - tag_w + 1)))
        # above the box, else below it, else inside its top edge: the first free spot
        spots = [(x, y) for y in (y0 - tag_h, y1 + 1, y0) if 0 <= y <= th - tag_h for x in xs]
        spots = spots or [(xs[0], max(0, min(y0, th - tag_h)))]
        rects = [(a, b, a + tag_w - 1, b + tag_h - 1) for a, b in spots]
        # none free: the spot covering the least of the earlier tags (not the first, whatever it hides)
        rect = min(rects, key=lambda r: sum(_overlap_area(r, t) for t in taken))
        taken.append(rect)
        _tag(draw, rect[:2], text, font, color)


def hidden_percent(occlusion: float) -> int:
    """The occluded share in whole percent, as a tag says it: a box's object is seen, so
    never 100 (0.996 is 99, not rounded up to all of it)."""
    percent = round(100 * occlusion)
    return min(percent, 99) if occlusion < 1 else percent


def _overlaps(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _overlap_area(a, b) -> int:
    """Pixels two inclusive rectangles (x0, y0, x1, y1) share."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1) * max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)


def _caption(image: Image.Image, text: str, font) -> None:
    """A translucent dark band with text across the top of a tile."""
    band_h = _line_height(font) + 4
    rgba = image.convert("RGBA")
    band = Image.new("RGBA", (image.width, min(band_h, image.height)), (0, 0, 0, 150))
    rgba.alpha_composite(band)
    ImageDraw.Draw(rgba).text((3, 2), text, font=font, fill=(255, 255, 255))
    image.paste(rgba.convert("RGB"))


def meters_per_unit(ff: FrameFiles) -> float:
    """Metres in one of the frame's scene units (its camera_params' metersPerSceneUnit: a base
    .blend in centimetres gives 0.01); 1.0 where the frame has no camera_params."""
    params = ff.json("camera_params")
    value = params.get("metersPerSceneUnit") if isinstance(params, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    return 1.0


def _tiles(ff: FrameFiles) -> list[tuple[Image.Image, str]]:
    """The auxiliary views present, full size, each with its caption."""
    out = []
    for name in ("distance_to_image_plane", "distance_to_camera"):
        p = ff.path(name, "npy")
        if p is not None:
            d = _squeeze(load_npy(p))
            r = depth_range(d)
            m = meters_per_unit(ff)  # depth files are in scene units; the caption says metres
            span = f"{r[0] * m:.2f}-{r[1] * m:.2f} m, near bright" if r else "no surface"
            out.append((Image.fromarray(colorize_depth(d)), f"{name.replace('_', ' ')}: {span}"))
            break
    boxes_3d, note = load_boxes_3d(ff)
    if boxes_3d is not None:
        out.append((boxes_3d_image(ff, boxes_3d), note))
    scans = load_lidar_scans(ff)
    if scans and (tile := lidar_image(ff, scans)) is not None:
        out.append(tile)
    p = ff.path("normals", "npy")
    if p is not None:
        out.append((Image.fromarray(colorize_normals(load_npy(p))), "normals (n+1)/2"))
    elif (p := ff.path("normals", "png")) is not None:
        out.append((read_image(p).convert("RGB"), "normals"))
    p = ff.path("forward_flow", "npy")
    if p is not None:
        flow = load_npy(p)
        vp = ff.path("forward_flow_valid", "npy")
        valid = load_npy(vp) if vp is not None else None
        longest = float(np.hypot(flow[..., 0], flow[..., 1])[valid if valid is not None else ...].max(initial=0.0))
        sp = ff.path("forward_flow_status", "npy")
        # 4: the clip has no next frame (its surfaces' pixels; the background's are 1, no surface)
        last = sp is not None and bool((load_npy(sp) == 4).any())
        caption = (
            "forward flow: none, the clip's last frame"
            if last
            else f"forward flow: up to {longest:.1f} px, hue = direction"
        )
        out.append((Image.fromarray(colorize_flow(flow, valid)), caption))
    sem = load_mask(ff, "semantic_segmentation")
    if sem is not None:
        c = sem.colors
        rgb = np.zeros(c.shape[:2] + (3,), dtype=np.uint8)
        rgb[(c[..., 3] > 0) & (c[..., :3].max(axis=-1) == 0)] = UNLABELLED_GREY
        lab = sem.labelled
        rgb[lab] = c[lab][:, :3]
        out.append((Image.fromarray(rgb), "semantic segmentation"))
    return out


def _legend(ff: FrameFiles, boxes: list[Box] | None) -> list[tuple[str, tuple[int, int, int], int]]:
    """(class, semantic colour, boxes) for the classes in view, from the boxes, else the labels."""
    counts: dict[str, list] = {}
    labels = ff.json("semantic_segmentation_labels")
    if boxes:
        in_map = {}  # the semantic map's own colours (a dataset made elsewhere colours its own way)
        for key, value in labels.items() if isinstance(labels, dict) else ():
            color = _key_color(key)
            if color is not None:
                in_map.setdefault(label_text(value), color[:3])
        for b in boxes:
            color = in_map.get(b.label) or tuple(int(x) for x in id_colors(np.array(b.semantic_id))[:3])
            counts.setdefault(b.label, [color, 0])[1] += 1
    else:
        if isinstance(labels, dict):
            for key, value in labels.items():
                color = _key_color(key)
                name = label_text(value)
                if color is None or name in ("BACKGROUND", "UNLABELLED"):
                    continue
                counts.setdefault(name, [color[:3], 0])
    return [(name, tuple(c), n) for name, (c, n) in counts.items()]


def _info_tile(ff, size, boxes, mask, overlay_kind, font) -> Image.Image:
    w, h = size
    image = Image.new("RGB", (max(1, w), max(1, h)), (16, 16, 16))
    draw = ImageDraw.Draw(image)
    lh = _line_height(font) + 3
    y = 3
    head = f"frame {ff.suffix}" + (f"   camera {camera_label(ff)}" if ff.camera else "")
    lines = [head]
    cam = ff.json("camera_params")
    if isinstance(cam, dict) and cam.get("renderProductResolution"):
        lines.append("resolution {} x {}".format(*cam["renderProductResolution"]))
    if boxes is not None:
        lines.append(f"{len(boxes)} tight 2D boxes")
    if overlay_kind != "none":
        lines.append(f"overlay: {overlay_kind} mask")
    empty = mask is not None and not mask.labelled.any()
    for i, text in enumerate(lines):
        draw.text((4, y), text, font=font, fill=(235, 235, 235))
        y += lh
        if i == 0 and empty:  # second: the tile of a small frame (96 x 64: 2 lines) shows it too
            draw.text((4, y), "NO LABELLED OBJECTS IN VIEW", font=font, fill=(255, 80, 80))
            y += lh
    legend = _legend(ff, boxes)
    if legend:
        draw.text((4, y), "classes (semantic map colours):", font=font, fill=(180, 180, 180))
        y += lh
        sw = lh - 5
        room = max(0, (h - y) // lh)  # whole lines left in the tile
        shown = legend if len(legend) <= room else legend[: max(0, room - 1)]
        for name, color, n in shown:
            draw.rectangle((6, y + 1, 6 + sw, y + 1 + sw), fill=color, outline=(200, 200, 200))
            draw.text((12 + sw, y), f"{name}" + (f"  x{n}" if n else ""), font=font, fill=(235, 235, 235))
            y += lh
        if len(shown) < len(legend):  # cut off by the tile's edge: say so, not silently
            draw.text((4, y), f"+ {len(legend) - len(shown)} more classes", font=font, fill=(180, 180, 180))
    return image


def camera_panel(ff: FrameFiles, mask: str = "instance") -> Image.Image:
    """One camera's panel for one frame: (2 * W, H); see the module docstring."""
    over = overlay(ff, mask=mask)
    w, h = over.size
    font = _font(_font_size(w, h))
    boxes = load_boxes(ff)
    view_mask, kind = _overlay_mask(ff, mask if mask != "none" else "instance")
    panel = Image.new("RGB", (2 * w, h), BACKDROP)
    panel.paste(over, (0, 0))
    tw, th = max(1, w // 2), max(1, h // 2)
    tiles = []
    for image, caption in _tiles(ff)[:3]:
        resample = Image.NEAREST if caption.startswith("semantic") else Image.BILINEAR
        tile = image.resize((tw, th), resample)
        _caption(tile, caption, font)
        tiles.append(tile)
    tiles.append(_info_tile(ff, (tw, th), boxes, view_mask, kind if mask != "none" else "none", font))
    for i, tile in enumerate(tiles):
        panel.paste(tile, (w + (i % 2) * tw, (i // 2) * th))
    draw = ImageDraw.Draw(panel)  # thin separators, all in the right half
    draw.line((w, 0, w, h - 1), fill=BACKDROP, width=2)
    draw.line((w + tw, 0, w + tw, h - 1), fill=BACKDROP, width=2)
    draw.line((w, th, 2 * w - 1, th), fill=BACKDROP, width=2)
    return panel


def frame_panel(
    folder: Path | str, frame: int | None = None, camera: str | None = None, mask: str = "instance"
) -> Image.Image:
    """The panel of one frame (default: the first); several cameras: one row each, stacked."""
    if frame is None:
        have = frames(folder, camera)
        if not have:
            raise FileNotFoundError(f"no frames in {folder}")
        frame = have[0]
    files = frame_files(folder, frame, camera)
    if len(files) > 1:  # before anything is drawn: a sequence of many clips, one row each
        sizes = []
        for ff in files:
            sizes.append(read_image(ff.path("rgb", "png")).size)
        width, height = 2 * max(w for w, _h in sizes), sum(h for _w, h in sizes)
        if width * height > MAX_SHEET_PIXELS:
            raise ValueError(
                f"a frame panel of {width} x {height} pixels ({len(files)} rows, one a camera; a sequence: one a camera of each clip); "
                f"expected at most {MAX_SHEET_PIXELS} pixels (8192 x 8192, as a render): pick one with --camera "
                f"(e.g. --camera {files[0].camera}) or preview a clip's folder"
            )
    rows = [camera_panel(ff, mask) for ff in files]
    if len(rows) == 1:
        return rows[0]
    out = Image.new("RGB", (max(r.width for r in rows), sum(r.height for r in rows)), BACKDROP)
    y = 0
    for r in rows:
        out.paste(r, (0, y))
        y += r.height
    return out


def pick_frames(available: list[int], n: int) -> list[int]:
    """n frames spread evenly over the available ones, first and last included."""
    if n <= 0:
        return []
    if len(available) <= n:
        return list(available)
    idx = np.unique(np.rint(np.linspace(0, len(available) - 1, n)).astype(int))
    return [available[i] for i in idx]


def sheet_frames(
    folder: Path | str, n: int = 16, camera: str | None = None, frames: list[int] | None = None
) -> list[tuple[str, int]]:
    """The (camera, frame) pairs a contact sheet shows: `frames` (in this order), else `n`
    spread evenly over the camera's frames. `camera` None: the first camera; where that is a
    clip's (a sequence's output folder: "clip_0000" or "clip_0000/left"), the frames of that
    camera in every clip, in clip order, so the sheet spreads over the whole sequence; so
    too for a sequence's camera given without its clip ("left")."""
    cams = cameras(folder)
    # A sequence's camera named without its clip ("th"): its frames of every clip, as the
    # first camera's are by default.
    own = _clip_camera(cams, camera) if camera is not None and frames is None and camera not in cams else None
    if own is None and (camera is not None or frames is not None):
        camera = next(iter(cams)) if camera is None else camera
        available = sorted(_frames_in(_camera(cams, camera, folder)))
        return [(camera, f) for f in (pick_frames(available, n) if frames is None else frames)]
    if own is None:
        first = next(iter(cams))
        clip, _, own = first.partition("/")
        if not CLIP_FOLDER.match(clip):
            return [(first, f) for f in pick_frames(sorted(_frames_in(cams[first])), n)]
    pool = [
        (name, f)
        for name, where in cams.items()
        if CLIP_FOLDER.match(name.partition("/")[0]) and name.partition("/")[2] == own
        for f in sorted(_frames_in(where))
    ]
    pool.sort(key=lambda pair: (int(pair[0].partition("/")[0][5:]), pair[1]))  # clip_10000 after clip_9999
    return [pool[i] for i in pick_frames(list(range(len(pool))), n)]


def contact_sheet(
    folder: Path | str,
    frames: list[int] | None = None,
    n: int = 16,
    columns: int = 4,
    thumb_width: int = 320,
    camera: str | None = None,
    mask: str = "instance",
) -> Image.Image:
    """A grid of frame overlays (thumbnails with the frame number); see the module docstring.

    ``frames``: these frames (in this order); default ``n`` frames spread over the dataset.
    ``camera``: default the first (the root, else the first sub-folder by name); see
    sheet_frames (a sequence's output folder: every clip's).
    """
    chosen = sheet_frames(folder, n, camera, frames)
    if not chosen:
        raise ValueError(f"no frames to show from {folder}")
    by_camera: dict[str, dict[int, FrameFiles]] = {}
    files = []
    for cam, f in chosen:
        if cam not in by_camera:
            by_camera[cam] = camera_frame_files(folder, cam)
        files.append(by_camera[cam][f] if f in by_camera[cam] else frame_files(folder, f, cam)[0])
    w, h = read_image(files[0].path("rgb", "png")).size
    tw = max(1, int(thumb_width))
    th = max(1, round(h * tw / w))
    cols = max(1, min(int(columns), len(files)))
    rows = math.ceil(len(files) / cols)
    size = (cols * tw + (cols + 1) * GAP, rows * th + (rows + 1) * GAP)
    if size[0] * size[1] > MAX_SHEET_PIXELS:  # before anything is drawn: a huge width ran out of memory
        raise ValueError(
            f"a contact sheet of {size[0]} x {size[1]} pixels; expected at most {MAX_SHEET_PIXELS} pixels "
            "(8192 x 8192, as a render): lower --thumb-width, --columns or -n"
        )
    sheet = Image.new("RGB", size, BACKDROP)
    font = _font(_font_size(tw, th))
    for i, ff in enumerate(files):
        text = f"{ff.suffix}" + (f" {camera_label(ff)}" if ff.camera else "")
        tag_w, tag_h = _tag_size(text, font)
        # the frame number goes over the thumbnail's bottom-left corner: class tags keep clear of it
        caption = (0, th - tag_h, tag_w - 1, th - 1)
        thumb = overlay(ff, size=(tw, th), mask=mask, occlusion=False, keep_clear=(caption,))
        _tag(ImageDraw.Draw(thumb), caption[:2], text, font, (0, 0, 0))
        r, c = divmod(i, cols)
        sheet.paste(thumb, (GAP + c * (tw + GAP), GAP + r * (th + GAP)))
    return sheet


PREVIEW_SOFTWARE = "sdg preview"  # the PNG text chunk that marks a preview as this tool's


def save_png(image: Image.Image, path: Path | str, software: str = PREVIEW_SOFTWARE) -> Path:
    """Write atomically (temporary name, then rename), marked as this tool's preview (or, by
    `software`, as another of its pictures: the report's plots, which no preview replaces)."""
    data = encode_png(np.asarray(image.convert("RGB")), 6, text={"Software": software})
    return io.write_bytes(path, data)


def is_preview(path: Path | str) -> bool:
    """Whether `path` is a PNG preview this tool wrote (save_png's mark), so writing it again
    replaces nothing of a user's."""
    try:
        with Image.open(path) as im:
            return im.format == "PNG" and im.info.get("Software") == PREVIEW_SOFTWARE
    except (OSError, ValueError):
        return False


def default_output(
    folder: Path | str, frame: int | None = None, sheet: bool = False, camera: str | None = None
) -> Path:
    """Where ``python -m headless preview`` writes by default: DIR/preview/..."""
    tail = f"_{camera.replace('/', '_')}" if camera else ""  # "clip_0003/left": one file name
    if sheet:
        return Path(folder) / "preview" / f"sheet{tail}.png"
    return Path(folder) / "preview" / f"frame_{frame:04d}{tail}.png"
