"""HDF5 writer: BlenderProc's default output (`bproc.writer.write_hdf5`), one container per
frame, so scripts and tools written for BlenderProc's files (h5py readers,
`blenderproc vis hdf5`, `blenderproc extract hdf5`) read ours unchanged.

    hdf5/<frame>.hdf5               one camera: 0.hdf5, 1.hdf5, ... (no padding, as BlenderProc)
    hdf5/<camera>/<frame>.hdf5      several cameras: one folder each

Datasets, named as BlenderProc names them, with the dtypes its renderer loads (checked against
BlenderProc 2.8.0's code: docs/writers.md), each only when its annotator is on:

    colors                   rgb, (H, W, 3) uint8; (H, W, 4) with keep_alpha, as BlenderProc's
                             colors of a film_transparent render
    depth                    distance_to_image_plane, (H, W) float32 metres (BlenderProc's
                             depth: the Z pass, distance to the image plane); inf = no surface
    distance                 distance_to_camera, (H, W) float32 metres
    forward_flow             forward_flow, else motion_vectors[..., 2:4]: (H, W, 2) float32,
                             pixels, x right, y down, next frame's position - this one's
    backward_flow            backward_flow, else motion_vectors[..., 0:2]: the same towards the
                             previous frame (BlenderProc's render_optical_flow: Cycles' vector
                             pass, y flipped, its forward half negated: our motion_vectors)
    normals                  normals, (H, W, 3) float32 in BlenderProc's encoding: camera space
                             (x right, y up, z towards the viewer) mapped by n * 0.5 + 0.5, so
                             the background (no normal) is 0.5; needs the normals annotator's
                             default space "world" (validate refuses another)
    instance_segmaps         instance_segmentation ids, (H, W) int64 (0 background)
    category_id_segmaps      semantic_segmentation ids, (H, W) int64 (0 background,
                             1 unlabelled, label k of the label table: k + 2)
    instance_attribute_maps  with instance_segmentation: a JSON string, one entry per id
                             present, {"idx", "name", "category_id", <label type>: <value>}
                             (BlenderProc's segmentation output's list of dicts)
    camera_pose              ours (write_hdf5 has no camera dataset), with save_world2cam
                             (default true): a JSON string {"cam_K": 9 numbers, "cam_R_w2c": 9,
                             "cam_t_w2c": 3}, row-major, OpenCV camera axes, metres (the keys
                             of BlenderProc's BOP writer's scene_camera.json)

Lengths are metres, as BlenderProc's (whose scene is always in metres): Blender units times
the frame's Camera.meters_per_unit (a base .blend's unit scale), so a scene modelled in
centimetres gives the files of the same scene in metres.

Arrays are gzip-compressed (h5py's chunking) and strings stored as fixed-length bytes
without compression, as BlenderProc's `write_to_hdf_file` does. The container is built in
memory (h5py's core driver, no backing file) and written through writers.io, so it lands
atomically under its final name like every other file.

h5py is optional (`pip install h5py`; inside Blender, into Blender's Python): without it
the writer is refused when the parameter file is validated.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config.fields import Field
from ..frame import AnnotatedFrame
from . import io
from .base import Writer, register_writer
from .common import rgb_image, safe_name

H5PY_MISSING = "writer 'hdf5' needs the h5py package: pip install h5py (inside Blender: into Blender's Python)"

# Our annotator -> BlenderProc's dataset name and the dtype its renderer gives it: float32
# from its 32-bit EXR passes; int64 for the segmaps (segmentation_mapping casts the index
# pass to int64 and the category map to the type of the objects' int category_id).
ARRAYS = {
    "distance_to_image_plane": ("depth", np.float32),
    "distance_to_camera": ("distance", np.float32),
    "instance_segmentation": ("instance_segmaps", np.int64),
    "semantic_segmentation": ("category_id_segmaps", np.int64),
}
LENGTHS = ("distance_to_image_plane", "distance_to_camera")  # in metres, by the scene's unit scale
# BlenderProc's render_optical_flow keys: the exact flow annotator's array, or else the half
# of motion_vectors (the same vector pass BlenderProc reads, in its convention) it stores.
FLOWS = {"forward_flow": slice(2, 4), "backward_flow": slice(0, 2)}


def import_h5py():
    """h5py, or a ValueError saying how to install it (the validator reports it, exit 2)."""
    try:
        import h5py
    except ImportError:
        raise ValueError(H5PY_MISSING) from None
    return h5py


def _array(value) -> np.ndarray:
    return np.asarray(value["data"] if isinstance(value, dict) else value)


def blenderproc_normals(normals: np.ndarray, world_to_camera: np.ndarray) -> np.ndarray:
    """World-space unit normals (H, W, 3 or 4; 0 where no surface) -> BlenderProc's encoding:
    Blender camera axes, n * 0.5 + 0.5, float32 (background 0.5)."""
    n = np.asarray(normals, dtype=np.float64)[..., :3]
    r = np.asarray(world_to_camera, dtype=np.float64)[:3, :3]
    return (n @ r.T * 0.5 + 0.5).astype(np.float32)


def attribute_maps(frame: AnnotatedFrame, semantic_type: str) -> list[dict]:
    """BlenderProc's instance_attribute_maps for the ids present in the instance map."""
    info = frame.annotations["instance_segmentation"]["info"]
    paths, semantics = info.get("idToLabels", {}), info.get("idToSemantics", {})
    out = []
    for idx in sorted(int(i) for i in paths):
        path = str(paths.get(idx, paths.get(str(idx), "")))
        labels = semantics.get(idx, semantics.get(str(idx), {}))
        value = labels.get(semantic_type)
        if path in ("BACKGROUND", "UNLABELLED"):
            category = idx  # the semantic map's own ids for these two
        else:
            category = frame.label_table.semantic_id(semantic_type, value)
        # The object's name is the path's last element, its "/" and "%" unescaped (prim paths
        # write them %2F and %25: docs/annotators.md, Ids).
        name = path.rsplit("/", 1)[-1].replace("%2F", "/").replace("%25", "%")
        entry = {"idx": idx, "name": name, "path": path, "category_id": category}
        entry.update({k: v for k, v in labels.items() if k not in entry})
        out.append(entry)
    return out


def camera_pose(frame: AnnotatedFrame) -> dict:
    """Our camera_pose (save_world2cam), with the keys of BlenderProc's BOP scene_camera.json:
    K and world -> OpenCV camera, row-major, metres. An orthographic camera's K is affine (u =
    fx x + cx, no division by depth, fx in pixels per metre), which a pinhole reader would
    misuse: said in the entry."""
    cam = frame.camera
    w2c = np.asarray(cam.world_to_camera_opencv, dtype=np.float64)
    k = np.asarray(cam.intrinsics, dtype=np.float64)
    if cam.projection != "perspective":  # pixels per Blender unit -> per metre
        k[:2, :2] /= cam.meters_per_unit
    pose = {
        "cam_K": k.ravel().tolist(),
        "cam_R_w2c": w2c[:3, :3].ravel().tolist(),
        "cam_t_w2c": (w2c[:3, 3] * cam.meters_per_unit).tolist(),
    }
    if cam.projection != "perspective":
        pose["projection"] = cam.projection
    return pose


@register_writer
class Hdf5Writer(Writer):
    name = "hdf5"
    summary = "BlenderProc's .hdf5 containers, one per frame (needs h5py)"
    length_unit = "metres"
    required_annotators = ("rgb",)
    # category_id_segmaps is semantic_segmentation's ids, paired with instance_attribute_maps'
    # category_id of the writer's semantic_type: one label type for both; and the maps list
    # instance_segmentation's objects, where one without its label type is UNLABELLED.
    labelled_extras = ("semantic_segmentation", "instance_segmentation")

    @classmethod
    def mask_sources(cls, options: dict | None) -> dict[str, str]:
        return {"semantic_segmentation": "instance_segmentation"}

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """colors and BlenderProc's arrays of the annotators it has (datasets())."""
        return (*cls.required_annotators, *ARRAYS, "normals", *FLOWS, "motion_vectors")

    @classmethod
    def dropped(cls, annotator: str, named) -> str | None:
        """motion_vectors beside both exact flows: each flow dataset holds the exact one."""
        if annotator == "motion_vectors" and all(flow in named for flow in FLOWS):
            return (
                "hdf5 stores the exact forward_flow and backward_flow in its forward_flow and backward_flow "
                "datasets, and motion_vectors' halves only in place of a flow the run does not compute"
            )
        return None

    OPTIONS = {
        "semantic_type": ("class", str, "label type whose values give instance_attribute_maps' category_id"),
        "save_world2cam": (True, bool, "write a camera_pose dataset: cam_K, cam_R_w2c, cam_t_w2c (not in write_hdf5)"),
        "keep_alpha": (False, bool, "colors as RGBA, as BlenderProc's of a film_transparent render"),
        "compression_level": Field(
            "compression_level", "int", 4, "gzip level of the arrays, 0 (fastest) .. 9 (smallest)", low=0, high=9
        ),
    }

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        import_h5py()

    @property
    def root(self) -> Path:
        return self.output_dir / "hdf5"

    def path_of(self, frame: AnnotatedFrame) -> Path:
        folder = self.root / safe_name(frame.camera_name) if self.several_cameras else self.root
        return folder / f"{frame.frame}.hdf5"

    def datasets(self, frame: AnnotatedFrame) -> dict[str, np.ndarray | np.bytes_]:
        ann = frame.annotations
        colors = rgb_image(frame, keep_alpha=self.options["keep_alpha"])
        out: dict[str, np.ndarray | np.bytes_] = {"colors": np.ascontiguousarray(colors)}
        metres = frame.camera.meters_per_unit  # in one Blender unit
        for name, (key, dtype) in ARRAYS.items():
            if name in ann:
                a = _array(ann[name])
                if name in LENGTHS and metres != 1.0:
                    a = a * np.float64(metres)
                out[key] = a.astype(dtype)
        for key, half in FLOWS.items():
            if key in ann:
                out[key] = _array(ann[key]).astype(np.float32)
            elif "motion_vectors" in ann:
                out[key] = np.ascontiguousarray(_array(ann["motion_vectors"])[..., half], dtype=np.float32)
        if "normals" in ann:
            out["normals"] = blenderproc_normals(_array(ann["normals"]), frame.camera.world_to_camera)
        if "instance_segmentation" in ann:
            maps = attribute_maps(frame, self.options["semantic_type"])
            out["instance_attribute_maps"] = np.bytes_(json.dumps(maps))
        if self.options["save_world2cam"]:
            out["camera_pose"] = np.bytes_(json.dumps(camera_pose(frame)))
        return out

    def encode(self, frame: AnnotatedFrame) -> bytes:
        """The frame's whole .hdf5 file, built in memory."""
        h5py = import_h5py()
        level = self.options["compression_level"]
        with h5py.File(f"frame-{frame.frame}.hdf5", "w", driver="core", backing_store=False) as f:
            for key, data in self.datasets(frame).items():
                if isinstance(data, np.bytes_):  # strings: as is, uncompressed (as BlenderProc)
                    f.create_dataset(key, data=data, dtype=np.asarray(data).dtype)
                else:
                    f.create_dataset(key, data=data, compression="gzip", compression_opts=level)
            f.flush()
            return f.id.get_file_image()

    def write(self, frame: AnnotatedFrame) -> None:
        io.write_bytes(self.path_of(frame), self.encode(frame))
