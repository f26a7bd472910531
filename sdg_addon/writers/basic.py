"""BasicWriter: Replicator's file layout, so its users and readers find what they expect.

One camera: <out>/<annotator>_<frame:04d>.<ext>. Several cameras (render products):
<out>/<camera>/<annotator>/<annotator>_<frame:04d>.<ext>, Replicator's default layout
(annotator_subfolders = false gives <out>/<camera>/<annotator>_<frame>.<ext>). File
contents follow Replicator's BasicWriter: colourised normals png (H x W x 4 data), occlusion
rows (instanceId, semanticId, occlusionRatio), pointcloud_normals N x 4, json keys of label
files in id order. A LiDAR is a sensor like a camera (its own sub-folder). Sequences: the
same inside <out>/clip_<clip:04d>/, numbered by the frame within the clip (sequence.folders =
"clip"; "flat" keeps the run's frame numbers, no clip folders). Our additions never take a Replicator name: they are extra files
(normals_N.npy with the float normals, sdg_occlusion_N.npy + sdg_occlusion_info_N.json with
pixel counts, truncation and prim paths) or extra json keys.
Annotators without a dedicated format are written generically: arrays as .npy,
{"data", "info"} as .npy + _info json, anything else as .json.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..config.fields import Field
from ..frame import AnnotatedFrame
from . import io
from .base import Writer, register_writer
from .common import PNG_COMPRESS_LEVEL, frame_padding
from .palette import color_key, colorize
from .paths import inside

CLIP_FOLDER = re.compile(r"^clip_\d+$")


def clip_folder(clip: int) -> str:
    return f"clip_{clip:04d}"


FRAME_FOLDER = re.compile(r"^frames_\d+$")


def frame_folder(frame: int, per_folder: int) -> str:
    """`frames_<first frame of the folder>`: frames_0000000, frames_0001000, ..."""
    return f"frames_{frame // per_folder * per_folder:07d}"


RGB_FILE = re.compile(r"^rgb_(\d+)\.png$")


def is_rgb_annotator_folder(folder: Path) -> bool:
    """Whether `folder`, an `rgb` folder holding rgb_<frame>.png, is the rgb annotator's folder
    of the camera folder above it (Replicator's `<camera>/rgb/rgb_0000.png`) rather than the
    folder of a camera named "rgb" in the flat layout (`annotator_subfolders = false`:
    `<out>/rgb/rgb_0000.png` beside that camera's other files). The annotator's folder holds
    rgb files alone, and no folder beside it (another annotator's) holds its frames' rgb
    files, as other cameras' folders do (a run of the rgb annotator only)."""
    if folder.name != "rgb":
        return False
    try:
        names = [e.name for e in os.scandir(folder) if e.is_file()]
    except OSError:
        return False
    frame = next((name for name in names if RGB_FILE.match(name)), None)
    if frame is None or not all(name.startswith("rgb_") for name in names):
        return False
    return not any((p / frame).is_file() for p in folder.parent.iterdir() if p.is_dir() and p.name != "rgb")


REPLICATOR_OCCLUSION_FIELDS = ("instanceId", "semanticId", "occlusionRatio")


def _by_id(mapping: dict) -> list:
    """A {id: value} mapping's items in numeric id order (Replicator's label files)."""
    return sorted(mapping.items(), key=lambda kv: int(kv[0]))


def _fields(data: np.ndarray, names) -> np.ndarray:
    """A structured array with only `names`, packed (a plain, not a view, dtype)."""
    out = np.zeros(len(data), dtype=[(k, data.dtype[k]) for k in names])
    for k in names:
        out[k] = data[k]
    return out


def one_folder_problem(options: dict, cameras: int, lidars: int) -> tuple[str, object, str] | None:
    """(field, value, expected) when `camera_subfolders = "never"` would put several
    cameras' (or LiDARs') files into one folder under the same names: each would overwrite
    the other's. None when the run's sensors have a folder each or names of their own."""
    mode = options.get("camera_subfolders", "auto")
    if mode == "never" and (cameras > 1 or lidars > 1):
        if cameras > 1:
            what, names, each = f"{cameras} cameras", "rgb_0000.png, ...", "camera"
        else:
            what, names, each = f"{lidars} LiDARs", "lidar_0000.npy, ...", "LiDAR"
        return (
            "writers.basic.camera_subfolders",
            mode,
            f'"auto" or "always" with {what}: in one folder their files have the same names '
            f"({names}) and each {each}'s would overwrite the other's",
        )
    return None


@register_writer
class BasicWriter(Writer):
    name = "basic"
    summary = "Replicator BasicWriter file names (`rgb_0000.png`, `semantic_segmentation_0000.png`, ...), one file per annotator and frame"
    sensors = ("camera", "lidar")
    OPTIONS = {
        "colorize_semantic_segmentation": (True, bool, "RGBA png + labels keyed by colour"),
        "colorize_instance_segmentation": (True, bool, "RGBA png + mapping keyed by colour"),
        "colorize_instance_id_segmentation": Field(
            "colorize_instance_id_segmentation",
            "bool",
            True,
            "instance_id_segmentation as RGBA png + mapping keyed by colour (false: 16-bit id png, "
            "mapping keyed by id); not given: the value of colorize_instance_segmentation",
            default_text="`colorize_instance_segmentation` (`true`)",
        ),
        "colorize_depth": (False, bool, "also write Replicator's depth .png preview (grey, log scale, near bright)"),
        "frame_padding": frame_padding(4),
        "camera_subfolders": Field(
            "camera_subfolders",
            "choice",
            "auto",
            '"auto" (only with several sensors: cameras, or a camera and a LiDAR), "always", "never" '
            "(one camera only: several would overwrite each other's files)",
            choices=("auto", "always", "never"),
        ),
        "annotator_subfolders": (True, bool, "in a camera sub-folder, one folder per annotator (Replicator)"),
        "png_compress_level": PNG_COMPRESS_LEVEL,
        "frames_per_folder": Field(
            "frames_per_folder",
            "int",
            0,
            "split the frames into sub-folders `frames_<first frame>` of this many frames (inside a "
            "camera folder), so no folder holds millions of files; 0: no split; a sequence's clip folders split "
            'it instead (it applies with sequence.folders = "flat")',
            low=0,
        ),
    }
    # Before colorize_instance_id_segmentation existed, colorize_instance_segmentation set
    # both: a parameter file that gives only the older option keeps its output.
    FOLLOWS = {"colorize_instance_id_segmentation": "colorize_instance_segmentation"}

    def base(self, frame: AnnotatedFrame) -> Path:
        """The output folder, or the clip's folder in a sequence."""
        return self.output_dir if frame.clip is None else self.output_dir / clip_folder(frame.clip)

    def camera_folders(self) -> bool:
        mode = self.options["camera_subfolders"]
        return mode == "always" or (mode == "auto" and self.several_cameras)

    def folder(self, frame: AnnotatedFrame) -> Path:
        folder = inside(self.base(frame), frame.camera_name) if self.camera_folders() else self.base(frame)
        per_folder = self.options["frames_per_folder"]
        if per_folder and frame.clip is None:
            folder = folder / frame_folder(frame.frame, per_folder)
        return folder

    def place(self, folder: Path, annotator: str, frame: AnnotatedFrame) -> Path:
        """Where an annotator's files go: its own folder inside a camera folder (Replicator)."""
        if self.camera_folders() and self.options["annotator_subfolders"]:
            return folder / annotator
        return folder

    def write(self, frame: AnnotatedFrame) -> None:
        folder = self.folder(frame)
        index = frame.frame if frame.clip is None else frame.clip_frame
        n = f"{index:0{self.options['frame_padding']}d}"
        for name, value in frame.annotations.items():
            if value is None:  # e.g. thermal of a visible camera
                continue
            method = getattr(self, f"_write_{name}", None)
            where = self.place(folder, name, frame)
            if method is not None:
                method(where, n, value)
            else:
                self._write_generic(where, name, n, value)

    # --- dedicated formats --------------------------------------------------------------

    def _png(self, path, array):
        io.write_png(path, array, compress_level=self.options["png_compress_level"])

    def _write_rgb(self, folder, n, value):
        self._png(folder / f"rgb_{n}.png", value)

    def _depth(self, folder, name, n, value):
        io.write_npy(folder / f"{name}_{n}.npy", value)
        if self.options["colorize_depth"]:
            from ..colormaps import replicator_distance_preview

            self._png(folder / f"{name}_{n}.png", replicator_distance_preview(value))

    def _write_distance_to_image_plane(self, folder, n, value):
        self._depth(folder, "distance_to_image_plane", n, value)

    def _write_distance_to_camera(self, folder, n, value):
        self._depth(folder, "distance_to_camera", n, value)

    def _ids_png(self, folder, name, n, data, colorize_it):
        """Write an id map; return a function turning an id into its key in json files."""
        if colorize_it:
            image, colors = colorize(data)
            self._png(folder / f"{name}_{n}.png", image)
            return lambda i: color_key(colors[int(i)])
        if data.max(initial=0) > 65535:
            io.write_npy(folder / f"{name}_{n}.npy", data)
        else:
            self._png(folder / f"{name}_{n}.png", data.astype(np.uint16))
        return lambda i: str(int(i))

    def _write_instance_segmentation(self, folder, n, value):
        name = "instance_segmentation"
        key = self._ids_png(folder, name, n, value["data"], self.options["colorize_instance_segmentation"])
        info = value["info"]
        io.write_json(folder / f"{name}_mapping_{n}.json", {key(i): p for i, p in _by_id(info["idToLabels"])})
        semantics = {key(i): s for i, s in _by_id(info["idToSemantics"])}
        io.write_json(folder / f"{name}_semantics_mapping_{n}.json", semantics)

    def _write_instance_id_segmentation(self, folder, n, value):
        name = "instance_id_segmentation"
        key = self._ids_png(folder, name, n, value["data"], self.options["colorize_instance_id_segmentation"])
        io.write_json(folder / f"{name}_mapping_{n}.json", {key(i): p for i, p in _by_id(value["info"]["idToLabels"])})

    def _write_semantic_segmentation(self, folder, n, value):
        name = "semantic_segmentation"
        key = self._ids_png(folder, name, n, value["data"], self.options["colorize_semantic_segmentation"])
        io.write_json(folder / f"{name}_labels_{n}.json", {key(i): v for i, v in _by_id(value["info"]["idToLabels"])})

    def _bbox(self, folder, name, n, value):
        io.write_npy(folder / f"{name}_{n}.npy", value["data"])
        info = value["info"]
        io.write_json(folder / f"{name}_labels_{n}.json", {str(k): v for k, v in _by_id(info["idToLabels"])})
        io.write_json(folder / f"{name}_prim_paths_{n}.json", info["primPaths"])

    def _write_bounding_box_2d_tight(self, folder, n, value):
        self._bbox(folder, "bounding_box_2d_tight", n, value)

    def _write_bounding_box_2d_loose(self, folder, n, value):
        self._bbox(folder, "bounding_box_2d_loose", n, value)

    def _write_bounding_box_3d(self, folder, n, value):
        self._bbox(folder, "bounding_box_3d", n, value)

    def _write_thermal(self, folder, n, value):
        """Radiometric kelvin: thermal_N.tiff (float32, or uint16 centikelvin) + thermal_N.npy (float32)."""
        kelvin = value["data"]
        io.write_tiff(folder / f"thermal_{n}.tiff", kelvin, value["info"]["encoding"])
        io.write_npy(folder / f"thermal_{n}.npy", kelvin)

    def _write_nir(self, folder, n, value):
        self._png(folder / f"nir_{n}.png", value)

    def _write_normals(self, folder, n, value):
        """Replicator: normals_N.png, ((data * 0.5 + 0.5) * 255) of its (H, W, 4) data (4th
        channel 1 on surfaces, 0 on background); ours: normals_N.npy, the float normals."""
        data = np.asarray(value, dtype=np.float32)
        if data.shape[-1] == 3:
            # The 4th channel's (1 * 0.5 + 0.5) * 255 = 255 on surfaces, 127 (127.5 cut) off
            # them, written directly: no (H, W, 4) float copy of the data.
            image = np.empty(data.shape[:-1] + (4,), dtype=np.uint8)
            scaled = data * np.float32(0.5)  # the same float32 steps, in place
            scaled += np.float32(0.5)
            scaled *= np.float32(255)
            with np.errstate(invalid="ignore"):  # a NaN component has no level to give
                levels = scaled.astype(np.uint8)  # cast contiguous, then copied per channel: a
            for k in range(3):  # float -> uint8 cast into a strided view is ~10x slower
                image[..., k] = levels[..., k]
            # Surface: any channel != 0 (one contiguous compare, then bytes ORed); as a
            # level 0 / 1 shifted to 128 and lifted by 127: 255 on surfaces, 127 off them.
            nonzero = (data != 0).view(np.uint8)
            alpha = nonzero[..., 0] | nonzero[..., 1]
            alpha |= nonzero[..., 2]
            alpha <<= 7
            alpha += np.uint8(127)
            image[..., 3] = alpha
        else:
            image = ((data * 0.5 + 0.5) * 255).astype(np.uint8)
        self._png(folder / f"normals_{n}.png", image)
        io.write_npy(folder / f"normals_{n}.npy", data)

    def _write_occlusion(self, folder, n, value):
        """Replicator: occlusion_N.npy rows (instanceId, semanticId, occlusionRatio); ours, in
        files of their own: every field (pixel counts too) and primPaths / truncation."""
        data = value["data"]
        io.write_npy(folder / f"occlusion_{n}.npy", _fields(data, REPLICATOR_OCCLUSION_FIELDS))
        io.write_npy(folder / f"sdg_occlusion_{n}.npy", data)
        info = {k: v for k, v in value.get("info", {}).items() if not isinstance(v, np.ndarray)}
        if "idToLabels" in info:
            info["idToLabels"] = {str(k): v for k, v in _by_id(info["idToLabels"])}
        io.write_json(folder / f"sdg_occlusion_info_{n}.json", info)

    def _write_camera_params(self, folder, n, value):
        io.write_json(folder / f"camera_params_{n}.json", value, indent=1)

    def _write_instance_segmentation_amodal(self, folder, n, value):
        """One compressed .npz (masks (N, H, W) bool, instance_ids (N,)) + the info json."""
        name = "instance_segmentation_amodal"
        ids = np.asarray(value["info"]["instanceIds"], dtype=np.uint32)
        io.write_npz(folder / f"{name}_{n}.npz", masks=value["data"], instance_ids=ids)
        io.write_json(folder / f"{name}_info_{n}.json", value["info"])

    def _write_object_pose(self, folder, n, value):
        """object_pose_N.npy (model-to-camera poses) + object_pose_info_N.json; the models
        (meshes) are the BOP writer's business, not written here."""
        info = {k: v for k, v in value["info"].items() if k != "models"}
        self._write_generic(folder, "object_pose", n, {"data": value["data"], "info": info})

    def _write_pointcloud(self, folder, n, value):
        """Replicator's layout: pointcloud_N.npy (points) + one .npy per point attribute."""
        io.write_npy(folder / f"pointcloud_{n}.npy", value["data"])
        info = dict(value["info"])
        normals = info.get("pointNormals")
        if isinstance(normals, np.ndarray) and normals.ndim == 2 and normals.shape[1] == 3:
            # Replicator's pointcloud_normals are N x 4 (x, y, z, 1) like its normals image.
            info["pointNormals"] = np.concatenate([normals, np.ones((len(normals), 1), normals.dtype)], axis=1)
        from ..annotators.pointcloud import POINT_FILES

        for key, suffix in POINT_FILES.items():
            if key in info:
                io.write_npy(folder / f"pointcloud_{suffix}_{n}.npy", info[key])

    # --- anything else -------------------------------------------------------------------

    def _write_generic(self, folder, name, n, value):
        if isinstance(value, np.ndarray):
            io.write_npy(folder / f"{name}_{n}.npy", value)
        elif isinstance(value, dict) and isinstance(value.get("data"), np.ndarray):
            io.write_npy(folder / f"{name}_{n}.npy", value["data"])
            info = value.get("info") or {}
            arrays = {k: v for k, v in info.items() if isinstance(v, np.ndarray)}
            for key, array in arrays.items():  # large per-element arrays: .npy, not json
                io.write_npy(folder / f"{name}_{key}_{n}.npy", array)
            rest = {k: v for k, v in info.items() if k not in arrays}
            if rest:
                io.write_json(folder / f"{name}_info_{n}.json", rest)
        else:
            io.write_json(folder / f"{name}_{n}.json", value)
