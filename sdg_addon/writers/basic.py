"""BasicWriter: Replicator's file layout, so its users and readers find what they expect.

<out>/[<camera>/]<annotator>_<frame:04d>.<ext>; one sub-folder per camera when a run has
several. Annotators without a dedicated format are written generically: arrays as .npy,
{"data", "info"} as .npy + _info json, anything else as .json.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..frame import AnnotatedFrame
from . import io
from .base import Writer, register_writer
from .palette import color_key, colorize


@register_writer
class BasicWriter(Writer):
    name = "basic"
    OPTIONS = {
        "colorize_semantic_segmentation": (True, bool, "RGBA png + labels keyed by colour"),
        "colorize_instance_segmentation": (True, bool, "RGBA png + mapping keyed by colour"),
        "colorize_depth": (False, bool, "also write a colourised depth .png preview"),
        "frame_padding": (4, int, "digits of the frame number in file names"),
        "camera_subfolders": ("auto", str, '"auto" (only with several cameras), "always", "never"'),
        "png_compress_level": (1, int, "0 (fastest) .. 9 (smallest)"),
    }

    def folder(self, frame: AnnotatedFrame) -> Path:
        mode = self.options["camera_subfolders"]
        if mode == "always" or (mode == "auto" and self.several_cameras):
            return self.output_dir / frame.camera_name
        return self.output_dir

    def discard(self) -> None:
        """Remove frame files of earlier runs: <name>_<digits>.<png|npy|npz|json> only."""
        pattern = re.compile(r"^[A-Za-z0-9_]+_\d+\.(png|npy|npz|json)$")
        folders = (
            [self.output_dir] + [p for p in self.output_dir.iterdir() if p.is_dir()] if self.output_dir.is_dir() else []
        )
        for folder in folders:
            for f in folder.iterdir():
                if f.is_file() and pattern.match(f.name):
                    f.unlink()

    def write(self, frame: AnnotatedFrame) -> None:
        folder = self.folder(frame)
        n = f"{frame.frame:0{self.options['frame_padding']}d}"
        for name, value in frame.annotations.items():
            method = getattr(self, f"_write_{name}", None)
            if method is not None:
                method(folder, n, value)
            else:
                self._write_generic(folder, name, n, value)

    # --- dedicated formats --------------------------------------------------------------

    def _png(self, path, array):
        io.write_png(path, array, compress_level=self.options["png_compress_level"])

    def _write_rgb(self, folder, n, value):
        self._png(folder / f"rgb_{n}.png", value)

    def _depth(self, folder, name, n, value):
        io.write_npy(folder / f"{name}_{n}.npy", value)
        if self.options["colorize_depth"]:
            from ..colormaps import colorize_depth

            self._png(folder / f"{name}_{n}.png", colorize_depth(value))

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
        io.write_json(folder / f"{name}_mapping_{n}.json", {key(i): p for i, p in info["idToLabels"].items()})
        semantics = {key(i): s for i, s in info["idToSemantics"].items()}
        io.write_json(folder / f"{name}_semantics_mapping_{n}.json", semantics)

    def _write_instance_id_segmentation(self, folder, n, value):
        name = "instance_id_segmentation"
        key = self._ids_png(folder, name, n, value["data"], self.options["colorize_instance_segmentation"])
        io.write_json(folder / f"{name}_mapping_{n}.json", {key(i): p for i, p in value["info"]["idToLabels"].items()})

    def _write_semantic_segmentation(self, folder, n, value):
        name = "semantic_segmentation"
        key = self._ids_png(folder, name, n, value["data"], self.options["colorize_semantic_segmentation"])
        io.write_json(folder / f"{name}_labels_{n}.json", {key(i): v for i, v in value["info"]["idToLabels"].items()})

    def _bbox(self, folder, name, n, value):
        io.write_npy(folder / f"{name}_{n}.npy", value["data"])
        info = value["info"]
        io.write_json(folder / f"{name}_labels_{n}.json", {str(k): v for k, v in info["idToLabels"].items()})
        io.write_json(folder / f"{name}_prim_paths_{n}.json", info["primPaths"])

    def _write_bounding_box_2d_tight(self, folder, n, value):
        self._bbox(folder, "bounding_box_2d_tight", n, value)

    def _write_bounding_box_2d_loose(self, folder, n, value):
        self._bbox(folder, "bounding_box_2d_loose", n, value)

    def _write_bounding_box_3d(self, folder, n, value):
        self._bbox(folder, "bounding_box_3d", n, value)

    def _write_camera_params(self, folder, n, value):
        io.write_json(folder / f"camera_params_{n}.json", value, indent=1)

    def _write_instance_segmentation_amodal(self, folder, n, value):
        """One compressed .npz (masks (N, H, W) bool, instance_ids (N,)) + the info json."""
        name = "instance_segmentation_amodal"
        ids = np.asarray(value["info"]["instanceIds"], dtype=np.uint32)
        io.write_npz(folder / f"{name}_{n}.npz", masks=value["data"], instance_ids=ids)
        io.write_json(folder / f"{name}_info_{n}.json", value["info"])

    def _write_pointcloud(self, folder, n, value):
        """Replicator's layout: pointcloud_N.npy (points) + one .npy per point attribute."""
        io.write_npy(folder / f"pointcloud_{n}.npy", value["data"])
        names = {
            "pointRgb": "rgb",
            "pointNormals": "normals",
            "pointSemantic": "semantic",
            "pointInstance": "instance",
            "pointPixels": "pixels",
        }
        for key, suffix in names.items():
            if key in value["info"]:
                io.write_npy(folder / f"pointcloud_{suffix}_{n}.npy", value["info"][key])

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
