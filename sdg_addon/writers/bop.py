"""BOP writer: the BOP scenewise format (bop.felk.cvut.cz, bop_toolkit's docs/bop_datasets_format.md)
that pose-estimation code (bop_toolkit, BlenderProc's readers, GDRNPP, MegaPose...) loads.

    bop/camera.json                        intrinsics + depth_scale of the first frame of the split
                                           folder first by name (several cameras: the camera first by name)
    bop/models/obj_OOOOOO.ply              one model per object id, millimetres
    bop/models/models_info.json            diameter, min_x/y/z, size_x/y/z per object id (mm)
    bop/<D>/<SSSSSS>/scene_camera.json     per image: cam_K, depth_scale, cam_R_w2c, cam_t_w2c
    bop/<D>/<SSSSSS>/scene_gt.json         per image: [{obj_id, cam_R_m2c, cam_t_m2c}]
    bop/<D>/<SSSSSS>/scene_gt_info.json    per image: [{bbox_obj, bbox_visib, px_count_all,
                                           px_count_valid, px_count_visib, visib_fract}]
    bop/<D>/<SSSSSS>/scene_gt_coco.json    COCO instances of the scene's images (coco = true)
    bop/<D>/<SSSSSS>/rgb/<IIIIII>.png
    bop/<D>/<SSSSSS>/depth/<IIIIII>.png    uint16; depth in mm = value * depth_scale
    bop/<D>/<SSSSSS>/mask/<IIIIII>_<GGGGGG>.png        full silhouette (amodal), 0 / 255
    bop/<D>/<SSSSSS>/mask_visib/<IIIIII>_<GGGGGG>.png  visible part, 0 / 255
    bop/parts/<D>/<frame>.json             one part per finished frame, merged by finalize()
    bop/parts/obj_OOOOOO.<frame>[.<camera>].ply   a model as a frame had it (finalize: the first to models/)

D is the split (`split`, default "train_pbr"; with val_every, val_<type> of a split
<train|test>_<type>, so val_pbr beside train_pbr, else "val"), or <split>_<camera> when the
run has several cameras. Scene S = frame // frames_per_scene; image id I = the frame index. GT
index G: the labelled objects in view (occluded ones too, visib_fract 0), by instance id.

- obj_id = 1 + the position of the object's label in the run's label table (as the COCO
  category id). BOP has one model per obj_id: objects of one label must share mesh and
  scale (one that does not, by its extent or diameter, is refused: the run stops, its finished frames
  kept); the model is that of the first frame (then camera, by name) that shows one. Each
  writer keeps the model of the first frame it wrote that shows one in parts/, and
  finalize() copies the first finished frame's to models/: a model is the geometry of one
  frame, whose pose rounds its vertices a little differently than another's, so a run
  split into processes or shards (each writing other frames first) writes the same bytes.
- Poses: model-to-camera, OpenCV camera axes, millimetres (annotators/pose.py: the model
  frame is the object's root frame without its scale; scale is in the model's vertices).
- Units: BOP's millimetres whatever the scene's: Blender units (the annotations') times the
  frame's Camera.meters_per_unit (a base .blend's unit scale) times 1000, in models, poses
  and depth alike, so a scene modelled in centimetres gives the files of the same scene in
  metres.
- px_count_visib: visible pixels; px_count_all: pixels of the full silhouette, past the
  image border too (in the image: the amodal mask; outside: from truncationRatio, so
  exact for objects inside the image); px_count_valid: amodal pixels with a valid depth;
  visib_fract = px_count_visib / px_count_all (BOP's definition: truncation counts as not
  visible). bbox_obj: the full silhouette's box, not clipped; bbox_visib: the visible
  pixels' box; both [-1, -1, -1, -1] when no pixel is visible (as bop_toolkit's
  calc_gt_info); boxes are [x, y, width, height] with width = x_max - x_min (bop_toolkit's
  misc.calc_2d_bbox: a box one pixel wide has width 0).
- Cameras: perspective only (cam_K is a pinhole model): an orthographic camera is refused
  (validate names it, a .blend's once the scene is built; one a randomizer makes stops the
  run at that frame, before any file of it).
- scene_gt_coco.json (option coco, default on, as BlenderProc's write_bop with its default
  calc_mask_info_coco = True and bop_toolkit's scripts/calc_gt_coco.py): categories = every
  obj_id of the label table (name str(obj_id), supercategory "bop", the dataset's folder);
  images = the scene's images (id = im_id, file_name rgb/<IIIIII>.png relative to the scene
  folder); one annotation per object with a visible pixel, ids 1, 2, ... in the scene by
  (im_id, GT index): segmentation = the mask_visib pixels as uncompressed RLE, area = their
  count, bbox = [x, y, w, h] of the mask/ pixels (BlenderProc's amodal default; w = x_max -
  x_min + 1, bop_toolkit's pycoco_utils.bbox_from_binary_mask; coco_bbox = "modal": of the
  mask_visib pixels, in scene_gt_coco_modal.json, as bop_toolkit's --bbox_type modal),
  ignore = visib_fract < 0.1.
  No dates (BlenderProc's date_created, date_captured, year): the file is the same bytes
  whichever day, shard or process wrote each frame.
- Depth: distance to the image plane, value = round(mm / depth_scale); 0 where nothing
  was hit or beyond 65535 * depth_scale mm (65.5 m at the default depth_scale 1.0); an
  object seen beyond it is warned of (once a run).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import numpy as np

from .. import output
from ..config.fields import Field
from ..config.problems import OptionError
from ..frame import AnnotatedFrame
from . import io
from .base import Writer, part_files, register_writer
from .common import (
    IMAGE_FORMAT,
    JPEG_QUALITY,
    PNG_COMPRESS_LEVEL,
    check_options,
    class_names,
    safe_name,
    split_of,
    val_split,
    write_image,
)
from .masks import rle_counts
from .paths import TOOL_FOLDERS, is_tool_folder

PART_FORMAT = 1
MM = 1000.0
BOP_MODEL_NAME = re.compile(r"obj_(\d{6})")  # a BOP dataset's model file, models/obj_000005.ply


def bop_ids_note(names: list[str], semantic_type: str) -> str | None:
    """The warning for classes named as a BOP dataset's models (an asset pool of its
    models/obj_*.ply with label_from = "file", BlenderProc's load_bop_objs) whose obj_id
    here, 1 + the class's place in the label table, is not the number of their name (a
    subset such as LM-O's 1, 5, 6, ... written as 1, 2, 3): None where every such id holds."""
    numbered = [
        (i + 1, n, int(m.group(1))) for i, n in enumerate(names) if (m := BOP_MODEL_NAME.fullmatch(n)) and int(m[1])
    ]  # BOP's ids start at 1: obj_000000 names no model of a BOP dataset
    moved = [(i, n) for i, n, number in numbered if number != i]
    if not moved:
        return None
    top = max(number for _, _, number in numbered)
    ids = [f'"obj_{i:06d}"' for i in (range(1, top + 1) if top <= 3 else (1, top))]
    declared = ", ".join(ids) if top <= 3 else f"{ids[0]}, ..., {ids[1]}"
    listed = ", ".join(f"{n} as {i}" for i, n in moved[:4]) + (", ..." if len(moved) > 4 else "")
    return (
        f"bop: classes named as a BOP dataset's models are written with other obj_ids ({listed}): obj_id is 1 + "
        "the class's place in the label table; to keep the dataset's ids (as BlenderProc's write_bop keeps "
        f"load_bop_objs' category_id), declare every id up to the largest first: [labels] {semantic_type} = "
        f"[{declared}]"
    )


def box_xywh(extent) -> list[int]:
    """Inclusive (x0, y0, x1, y1) -> BOP's [x, y, width, height]; None -> [-1, -1, -1, -1].

    width = x1 - x0 (likewise height), as bop_toolkit's misc.calc_2d_bbox makes every BOP
    dataset's scene_gt_info.json (and BlenderProc's write_bop): one less than the pixels the
    box covers, so that our files and the toolkit's agree to the pixel."""
    if extent is None:
        return [-1, -1, -1, -1]
    x0, y0, x1, y1 = (int(v) for v in extent)
    return [x0, y0, x1 - x0, y1 - y0]


def mask_extent(mask: np.ndarray):
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return cols[0], rows[0], cols[-1], rows[-1]


def coco_box(mask: np.ndarray) -> list[int]:
    """[x, y, width, height] of a mask's pixels with width = x_max - x_min + 1 (the pixels
    it spans, COCO's box), as bop_toolkit's pycoco_utils.bbox_from_binary_mask."""
    x0, y0, x1, y1 = (int(v) for v in mask_extent(mask))
    return [x0, y0, x1 - x0 + 1, y1 - y0 + 1]


def coco_object(visib: np.ndarray, full: np.ndarray) -> dict | None:
    """One object's scene_gt_coco.json values (visible mask, full mask) as bop_toolkit's
    calc_gt_coco makes them: None for an object without a visible pixel (no annotation),
    else area, bbox (of the full mask, BlenderProc's amodal default), bbox_modal (of the
    visible mask) and the visible mask's RLE counts (column-major, first run zeros)."""
    visib, full = np.asarray(visib, dtype=bool), np.asarray(full, dtype=bool)
    if not visib.any() or not full.any():
        return None
    return {
        "area": int(np.count_nonzero(visib)),
        "bbox": coco_box(full),
        "bbox_modal": coco_box(visib),
        "counts": rle_counts(visib),
    }


def ply_bytes(vertices_mm: np.ndarray, faces: np.ndarray) -> bytes:
    """Binary little-endian PLY with float x, y, z and uchar-counted int vertex_indices."""
    v = np.asarray(vertices_mm, dtype="<f4").reshape(-1, 3)
    f = np.asarray(faces, dtype="<i4").reshape(-1, 3)
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment sdg bop writer, units: mm\n"
        f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    rows = np.zeros(len(f), dtype=[("n", "u1"), ("idx", "<i4", (3,))])
    rows["n"], rows["idx"] = 3, f
    return header.encode("ascii") + v.tobytes() + rows.tobytes()


def read_ply_vertices(path: Path) -> np.ndarray:
    """Vertices (V, 3) of a PLY written by ply_bytes."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    n = next(
        int(line.split()[2]) for line in data[:end].decode("ascii").splitlines() if line.startswith("element vertex")
    )
    return np.frombuffer(data, dtype="<f4", count=3 * n, offset=end).reshape(n, 3)


def model_info(vertices_mm: np.ndarray) -> dict:
    from ..annotators.pose import diameter

    lo, hi = vertices_mm.min(axis=0), vertices_mm.max(axis=0)
    size = hi - lo
    return {
        "diameter": diameter(vertices_mm),
        "min_x": float(lo[0]),
        "min_y": float(lo[1]),
        "min_z": float(lo[2]),
        "size_x": float(size[0]),
        "size_y": float(size[1]),
        "size_z": float(size[2]),
    }


def check_dataset(dataset: str) -> None:
    """Refuse a dataset name whose folder is another one the tool makes in the output folder
    (coco/, audit/, ...): the BOP files would land among that writer's or the audit's."""
    if not dataset.strip():
        expected = 'a name (e.g. "ycbv"): it names the bop writer\'s folder; "bop" unless given'
        raise OptionError(f"writer 'bop': dataset {dataset!r} must be {expected}", "dataset", dataset, expected)
    folder = safe_name(dataset)
    if folder.lower() != "bop" and is_tool_folder(folder):
        others = ", ".join(f for f in TOOL_FOLDERS if f != "bop")
        expected = (
            f"a name that is not a folder the tool makes in the output folder ({others}, clip_N, frames_N; "
            "any case): it names the bop writer's folder"
        )
        raise OptionError(
            f"writer 'bop': dataset {dataset!r} is the name of another folder the tool makes in the output "
            f"folder ({folder}/): the BOP files would land among its files; name the dataset otherwise",
            "dataset",
            dataset,
            expected,
        )


@register_writer
class BopWriter(Writer):
    name = "bop"
    summary = "BOP scenewise format (scene_gt, scene_camera, masks, depth, scene_gt_coco) with models, for 6D pose"
    length_unit = "millimetres"
    required_annotators = (
        "rgb",
        "distance_to_image_plane",
        "instance_segmentation",
        "instance_segmentation_amodal",
        "object_pose",
    )

    @classmethod
    def mask_sources(cls, options: dict | None) -> dict[str, str]:
        return {"instance_segmentation": "object_pose", "instance_segmentation_amodal": "object_pose"}

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """rgb, depth, mask, mask_visib and scene_gt*: what it needs, nothing else."""
        return cls.required_annotators

    OPTIONS = {
        "dataset": (
            "bop",
            str,
            "the dataset's name, as BlenderProc's write_bop(dataset=...): the writer's folder <dataset>/ in the "
            "output folder and scene_gt_coco.json's supercategory (made a plain path name: letters, digits, ._-, "
            "a hash of the original added where it had others; not empty, nor another folder the tool makes there)",
        ),
        "semantic_type": ("class", str, "label type whose values are the objects (obj_id = 1 + position)"),
        "split": ("train_pbr", str, "split folder (BOP: train_pbr, val, test...)"),
        "val_every": Field(
            "val_every",
            "int",
            0,
            "if N > 0, frames with frame % N == 0 go to the val split instead: val_<type> for a split "
            "<train|test>_<type> (train_pbr -> val_pbr, bop_toolkit's split 'val' of split_type 'pbr'), else 'val'",
            low=0,
        ),
        "frames_per_scene": Field(
            "frames_per_scene", "int", 1000, "images per scene folder (scene id = frame // this)", low=1
        ),
        "depth_scale": Field(
            "depth_scale",
            "float",
            1.0,
            "depth PNG unit in millimetres: depth_mm = value * depth_scale",
            low=0,
            strict_low=True,
            high=1e6,
        ),
        "png_compress_level": PNG_COMPRESS_LEVEL,
        "image_format": IMAGE_FORMAT,
        "jpeg_quality": JPEG_QUALITY,
        "coco": (
            True,
            bool,
            "scene_gt_coco.json in each scene folder: COCO instances of its images (RLE of mask_visib, bbox of "
            "mask, ignore = visib_fract < 0.1), as BlenderProc's write_bop (calc_mask_info_coco) and bop_toolkit's "
            "calc_gt_coco.py write it",
        ),
        "coco_bbox": Field(
            "coco_bbox",
            "choice",
            "amodal",
            "scene_gt_coco.json's boxes: \"amodal\", of mask/ (the object's silhouette inside the image, "
            "BlenderProc's and bop_toolkit's default), or \"modal\", of mask_visib/ (bop_toolkit's calc_gt_coco.py "
            "--bbox_type modal, whose file it is: scene_gt_coco_modal.json)",
            choices=("amodal", "modal"),
        ),
    }

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        check_options(self.name, self.options, folders=("parts", "models"))
        check_dataset(self.options["dataset"])
        self._model_bounds: dict[int, np.ndarray] = {}  # obj_id -> its model's (min, max), mm
        self._model_diameter: dict[int, float] = {}  # obj_id -> its model's diameter, mm
        self._model_first: dict[int, tuple[int, str]] = {}  # obj_id -> its first model's (frame, camera) in parts/

    def _model_path(self, obj_id: int, frame: int, camera: str) -> Path:
        """bop/parts/obj_OOOOOO.FFFFFF[.camera].ply: obj_id's model as frame F (seen by that
        camera, where the run has several) had it."""
        name = f"obj_{obj_id:06d}.{frame:06d}" + (f".{safe_name(camera)}" if self.several_cameras else "")
        return self.root / "parts" / f"{name}.ply"

    def _models_kept(self, obj_id: int) -> dict[tuple[int, str], Path]:
        """(frame, camera) -> the models of obj_id in parts/ (each writer keeps the model of
        the first frame it wrote that shows one)."""
        found = {}
        for path in (self.root / "parts").glob(f"obj_{obj_id:06d}.*.ply"):
            frame, _, camera = path.name[len("obj_000000.") : -len(".ply")].partition(".")
            if frame.isdigit():
                found[int(frame), camera] = path
        return found

    def _check_model(
        self, obj_id: int, label: str, row_bounds_mm: np.ndarray, row_diameter_mm: float, path: str, model, frame, mm
    ) -> None:
        """Refuse an object whose model differs from its obj_id's (BOP has one model per
        obj_id): another mesh, or another scale, under the same label. Compared by the
        model's extent in its own frame and its diameter, within 0.1 % of its size (float
        noise of the pose is far smaller; a scale drawn 1 % apart is not; a sphere has a
        cube's extent, not its diameter)."""
        from ..annotators.pose import diameter

        ref = self._model_bounds.get(obj_id)
        if ref is None:
            written = self.root / "models" / f"obj_{obj_id:06d}.ply"
            kept = self._models_kept(obj_id)
            if not written.exists() and kept:  # not joined yet: an earlier frame's, in parts/
                written = kept[min(kept)]
            if written.exists():  # an earlier frame's (this run, another process, a resumed run)
                v = read_ply_vertices(written).astype(np.float64)
            else:  # the model this frame writes
                v = np.asarray(model["vertices"], dtype=np.float64) * mm
            ref = self._model_bounds[obj_id] = np.array([v.min(axis=0), v.max(axis=0)]) if len(v) else np.zeros((2, 3))
            self._model_diameter[obj_id] = diameter(v)
        tolerance = 1e-3 * float(np.max(ref[1] - ref[0])) + 0.01
        if np.max(np.abs(row_bounds_mm - ref)) > tolerance:
            size = np.round(row_bounds_mm[1] - row_bounds_mm[0], 1).tolist()
            ref_size = np.round(ref[1] - ref[0], 1).tolist()
            raise ValueError(
                f"writer 'bop': {path} (frame {frame}) is labelled {label!r} like an object whose model "
                f"is {ref_size} mm across, but is {size} mm across: BOP has one model per obj_id, so the "
                f"objects of one {self.options['semantic_type']!r} label must share their mesh and scale. "
                f'Give each distinct model a label of its own (e.g. labels = {{ model = "..." }} and '
                f'bop = {{ semantic_type = "model" }}) and do not randomize their scale'
            )
        ref_diameter = self._model_diameter[obj_id]
        if abs(row_diameter_mm - ref_diameter) > tolerance:
            raise ValueError(
                f"writer 'bop': {path} (frame {frame}) is labelled {label!r} like an object whose model "
                f"has the same extent but another shape (diameter {ref_diameter:.1f} mm, this one "
                f"{row_diameter_mm:.1f} mm): BOP has one model per obj_id, so the objects of one "
                f"{self.options['semantic_type']!r} label must share their mesh. Give each distinct model a "
                f'label of its own (e.g. labels = {{ model = "..." }} and bop = {{ semantic_type = "model" }})'
            )

    @property
    def root(self) -> Path:
        return self.output_dir / safe_name(self.options["dataset"])

    def dataset_name(self, frame_index: int, camera_name: str) -> str:
        split = split_of(frame_index, self.options, val_split(self.name, self.options))
        return f"{split}_{safe_name(camera_name)}" if self.several_cameras else split

    # ------------------------------------------------------------------ per frame
    def write(self, frame: AnnotatedFrame) -> None:
        opts = self.options
        ann = frame.annotations
        for needed in self.required_annotators:
            if needed not in ann:
                raise ValueError(f"writer 'bop' needs the {needed} annotation (frame {frame.frame})")
        if frame.camera.projection != "perspective":
            # cam_K is a pinhole camera: an orthographic camera's affine K would be read as one.
            raise ValueError(
                f"writer 'bop': camera {frame.camera_name!r} is {frame.camera.projection}: BOP's cam_K "
                "describes a perspective (pinhole) camera only; render BOP data with perspective cameras"
            )
        ds = self.dataset_name(frame.frame, frame.camera_name)
        scene_id = frame.frame // opts["frames_per_scene"]
        im = f"{frame.frame:06d}"
        folder = self.root / ds / f"{scene_id:06d}"
        names = class_names(frame.label_table, opts["semantic_type"])
        if note := bop_ids_note(names, opts["semantic_type"]):
            self.warn(note)
        mm = MM * frame.camera.meters_per_unit  # millimetres in one Blender unit
        pose = ann["object_pose"]
        for k, label in enumerate(pose["info"]["labels"]):  # checked before any file of the frame
            if label not in names:
                raise ValueError(f"writer 'bop': label {label!r} is not in the run's label table {names}")
            bounds_mm = np.asarray(pose["info"]["modelBounds"][k], dtype=np.float64) * mm
            model = pose["info"]["models"][label]
            self._check_model(
                names.index(label) + 1,
                label,
                bounds_mm,
                float(pose["info"]["diameter"][k]) * mm,
                pose["info"]["primPaths"][k],
                model,
                frame.frame,
                mm,
            )

        image_name = write_image(folder / "rgb" / im, frame, opts)
        depth_mm = np.asarray(ann["distance_to_image_plane"], dtype=np.float64) * mm
        with np.errstate(invalid="ignore", over="ignore"):
            depth = np.rint(depth_mm / opts["depth_scale"])
        beyond = np.isfinite(depth) & (depth > 65535)  # surfaces past the PNG's range: 0 below
        depth = np.where(np.isfinite(depth) & (depth <= 65535) & (depth > 0), depth, 0).astype(np.uint16)
        io.write_png(folder / "depth" / f"{im}.png", depth, opts["png_compress_level"])

        cam = frame.camera
        w2c = cam.world_to_camera_opencv
        camera = {
            "cam_K": cam.intrinsics.reshape(-1).tolist(),
            "depth_scale": float(opts["depth_scale"]),
            "cam_R_w2c": w2c[:3, :3].reshape(-1).tolist(),
            "cam_t_w2c": (w2c[:3, 3] * mm).tolist(),
            "width": int(cam.width),
            "height": int(cam.height),
        }

        instance = np.asarray(ann["instance_segmentation"]["data"])
        amodal = ann["instance_segmentation_amodal"]
        amodal_row = {iid: k for k, iid in enumerate(amodal["info"]["instanceIds"])}
        gts, infos, cocos, models = [], [], [], {}
        for k, iid in enumerate(pose["info"]["instanceIds"]):
            label = pose["info"]["labels"][k]
            if iid not in amodal_row:
                raise ValueError(
                    f"writer 'bop': instance {iid} has a pose but no amodal mask (frame {frame.frame}): "
                    "give object_pose and instance_segmentation_amodal the same semantic options"
                )
            obj_id = names.index(label) + 1
            a = amodal_row[iid]
            full = np.asarray(amodal["data"][a], dtype=bool)
            visib = instance == iid
            g = f"{len(gts):06d}"
            io.write_png(folder / "mask" / f"{im}_{g}.png", full.astype(np.uint8) * 255, opts["png_compress_level"])
            io.write_png(
                folder / "mask_visib" / f"{im}_{g}.png", visib.astype(np.uint8) * 255, opts["png_compress_level"]
            )
            m2c = pose["data"][k]
            gts.append(
                {
                    "cam_R_m2c": m2c[:3, :3].reshape(-1).tolist(),
                    "cam_t_m2c": (m2c[:3, 3] * mm).tolist(),
                    "obj_id": obj_id,
                }
            )
            n_visib = int(np.count_nonzero(visib))
            if n_visib and beyond.any() and np.any(visib & beyond):
                reach = 65535 * opts["depth_scale"]
                self.warn(
                    f"bop: objects are seen farther than depth_scale x 65535 = {reach:g} mm, the farthest "
                    f"a depth PNG holds at depth_scale = {opts['depth_scale']:g}: their depth pixels are 0 there "
                    "(BOP's 'no depth', left out of px_count_valid); a larger depth_scale keeps them"
                )
            n_in_image = int(np.count_nonzero(full))
            truncation = float(amodal["info"]["truncationRatio"][a])
            n_all = n_in_image if truncation <= 0 else int(round(n_in_image / max(1.0 - truncation, 1e-12)))
            n_all = max(n_all, n_in_image)
            infos.append(
                {
                    # bop_toolkit's calc_gt_info leaves a fully occluded object's box -1s too.
                    "bbox_obj": box_xywh(amodal["info"]["bboxesFull"][a] if n_visib else None),
                    "bbox_visib": box_xywh(mask_extent(visib)),
                    "px_count_all": n_all,
                    "px_count_valid": int(np.count_nonzero(full & (depth > 0))),
                    "px_count_visib": n_visib,
                    "visib_fract": n_visib / n_all if n_all else 0.0,
                }
            )
            if opts["coco"]:
                cocos.append(coco_object(visib, full))
            if obj_id not in models:
                models[obj_id] = pose["info"]["models"][label]
        for obj_id, mesh in models.items():
            # The model as this frame has it, kept where no earlier frame's is (finalize copies
            # the first finished frame's to models/, whichever process wrote which frame first).
            key = (int(frame.frame), safe_name(frame.camera_name) if self.several_cameras else "")
            if obj_id not in self._model_first:
                self._model_first[obj_id] = min(self._models_kept(obj_id), default=None)
            first = self._model_first[obj_id]
            if first is None or key < first:
                path = self._model_path(obj_id, frame.frame, frame.camera_name)
                io.write_bytes(path, ply_bytes(np.asarray(mesh["vertices"]) * mm, mesh["faces"]))
                self._model_first[obj_id] = key
        part = {
            "format": PART_FORMAT,
            "dataset": ds,
            "scene_id": scene_id,
            "im_id": int(frame.frame),
            "camera": camera,
            "gt": gts,
            "gt_info": infos,
        }
        if opts["coco"]:
            part["coco"] = {"image": f"rgb/{image_name}", "categories": len(names), "objects": cocos}
        # Last file of the frame: its presence means every file above is complete.
        io.write_json(self.root / "parts" / ds / f"{im}.json", part)

    def _scene_coco(self, folder: Path, parts: dict[int, Path]) -> dict:
        """scene_gt_coco.json of one scene folder from its images' parts (read again, one
        scene at a time), laid out as bop_toolkit's calc_gt_coco.py and BlenderProc's
        write_bop write it (their keys, in their order; no dates, see the module's doc)."""
        images, annotations, categories = [], [], 0
        modal = "bbox_modal" if self.options["coco_bbox"] == "modal" else None
        for im_id in sorted(parts):
            part = json.loads(parts[im_id].read_text(encoding="utf-8"))
            coco = part.get("coco") or self._coco_from_masks(folder, part)
            categories = max(categories, int(coco["categories"]))
            width, height = int(part["camera"]["width"]), int(part["camera"]["height"])
            images.append(
                {
                    "id": im_id,
                    "file_name": coco["image"],
                    "width": width,
                    "height": height,
                    "license": 1,
                    "coco_url": "",
                    "flickr_url": "",
                }
            )
            for gt, info, obj in zip(part["gt"], part["gt_info"], coco["objects"], strict=True):
                if obj is None:  # no visible pixel: no annotation, as bop_toolkit's
                    continue
                annotations.append(
                    {
                        "id": len(annotations) + 1,
                        "image_id": im_id,
                        "category_id": gt["obj_id"],
                        "iscrowd": 0,
                        "area": obj["area"],
                        "bbox": obj["bbox" if modal is None else modal],
                        "segmentation": {"counts": obj["counts"], "size": [height, width]},
                        "width": width,
                        "height": height,
                        "ignore": info["visib_fract"] < 0.1,  # bop_toolkit: less than 10 % visible
                    }
                )
        name = self.root.name
        return {
            "info": {
                "description": f"{name}_{folder.parent.name}",
                "url": "https://github.com/thodan/bop_toolkit",
                "version": "0.1.0",
                "contributor": "",
            },
            "licenses": [],
            "categories": [{"id": i, "name": str(i), "supercategory": name} for i in range(1, categories + 1)],
            "images": images,
            "annotations": annotations,
        }

    @staticmethod
    def _coco_from_masks(folder: Path, part: dict) -> dict:
        """A part written without scene_gt_coco.json's values (by a version of this writer
        before it, or with coco = false): them from the frame's mask PNGs on disk."""
        from .png import decode_png_gray8

        im = f"{int(part['im_id']):06d}"
        objects = []
        for g in range(len(part["gt"])):
            masks = [
                decode_png_gray8((folder / kind / f"{im}_{g:06d}.png").read_bytes()) > 0
                for kind in ("mask_visib", "mask")
            ]
            objects.append(coco_object(*masks))
        image = next((p.name for p in sorted((folder / "rgb").glob(f"{im}.*"))), f"{im}.png")
        return {
            "image": f"rgb/{image}",
            "categories": max((gt["obj_id"] for gt in part["gt"]), default=0),
            "objects": objects,
        }

    def _join_models(self, parts_root: Path) -> None:
        """models/obj_OOOOOO.ply: each object's model as the first finished frame that shows
        one had it (a frame is finished for this writer once its part json is there)."""
        finished = {int(p.stem) for p in parts_root.glob("*/*.json") if p.stem.isdigit()}
        ids = {p.name[4:10] for p in parts_root.glob("obj_*.*.ply")}
        for obj_id in sorted(int(i) for i in ids if i.isdigit()):
            kept = self._models_kept(obj_id)
            done = [key for key in kept if key[0] in finished]
            first = min(done or kept)
            data = kept[first].read_bytes()
            target = self.root / "models" / f"obj_{obj_id:06d}.ply"
            if not target.is_file() or target.read_bytes() != data:
                io.write_bytes(target, data)
            for key in done:  # later frames' models are never needed again: parts/ as one process leaves it
                if key > first:
                    with contextlib.suppress(OSError):
                        output.remove_written_file(kept[key])  # never a file the tool did not write

    def joined_files(self) -> dict[str, Path]:
        """D -> bop/D/, whose scene_*.json finalize() rebuilds."""
        if not self.root.is_dir():
            return {}
        return {p.name: p for p in sorted(self.root.iterdir()) if p.is_dir() and p.name not in ("parts", "models")}

    # ------------------------------------------------------------------ merge
    def finalize(self) -> None:
        """Join every part on disk (all shards, resumed runs) into the scene json files."""
        parts_root = self.root / "parts"
        if not parts_root.is_dir():
            return
        first_camera = None
        for folder in sorted(p for p in parts_root.iterdir() if p.is_dir()):
            scenes: dict[int, dict[str, dict]] = {}
            for f in self.joining(part_files(folder, ".json"), f"reading the parts of {folder.name}"):
                part = json.loads(f.read_text(encoding="utf-8"))
                key = str(part["im_id"])
                scene = scenes.setdefault(int(part["scene_id"]), {"camera": {}, "gt": {}, "gt_info": {}, "parts": {}})
                scene["parts"][int(part["im_id"])] = f
                camera = {k: part["camera"][k] for k in ("cam_K", "depth_scale", "cam_R_w2c", "cam_t_w2c")}
                scene["camera"][key], scene["gt"][key], scene["gt_info"][key] = camera, part["gt"], part["gt_info"]
                if first_camera is None:
                    first_camera = part["camera"]
            for scene_id, scene in scenes.items():
                out = self.root / folder.name / f"{scene_id:06d}"
                for name in ("camera", "gt", "gt_info"):
                    entries = dict(sorted(scene[name].items(), key=lambda kv: int(kv[0])))
                    io.write_json(out / f"scene_{name}.json", entries, indent=1)
                if self.options["coco"]:
                    name = "scene_gt_coco.json" if self.options["coco_bbox"] == "amodal" else "scene_gt_coco_modal.json"
                    io.write_json(out / name, self._scene_coco(out, scene["parts"]))
        if first_camera is not None:
            k = first_camera["cam_K"]
            io.write_json(
                self.root / "camera.json",
                {
                    "cx": k[2],
                    "cy": k[5],
                    "depth_scale": first_camera["depth_scale"],
                    "fx": k[0],
                    "fy": k[4],
                    "height": first_camera["height"],
                    "width": first_camera["width"],
                },
                indent=1,
            )
        self._join_models(parts_root)
        models = sorted((self.root / "models").glob("obj_*.ply")) if (self.root / "models").is_dir() else []
        if models:
            info = {str(int(p.stem[4:])): model_info(read_ply_vertices(p)) for p in models}
            io.write_json(
                self.root / "models" / "models_info.json",
                dict(sorted(info.items(), key=lambda kv: int(kv[0]))),
                indent=1,
            )
