"""COCO writer: one instances json per split (and camera), loadable by pycocotools' COCO().

Layout under the run's output folder (docs/writers.md):

    coco/annotations/instances_<D>.json   the dataset json, written by finalize()
    coco/<D>/<frame>.png                  images (RGB), the image root of the json
    coco/<D>/<frame>_<channel>.npy        other channels (depth...), referenced per image,
                                          and their image-sized info (<channel>_valid...)
    coco/parts/<D>/<frame>.json           one part per finished frame, merged by finalize()

D is the split ("train", or "val" for frames picked by val_every), or <split>_<camera> when
the run has several cameras. Conventions:
- image id = frame index (unique within one json: one json per camera).
- category id = 1 + position of the label in the run's label table (parameter-file
  order): the same in every frame, shard and resumed run; every category is listed, seen
  or not.
- annotation ids: 1, 2, ... in (frame, instance id) order, assigned when merging, so they
  do not depend on which process wrote which frame, or in what order.
- segmentation: RLE (pycocotools' compressed string) with iscrowd = 0, as BlenderProc
  writes it and pycocotools evaluates it; or, with polygons = true, polygons in the
  convention of the reader named by polygon_convention: "pycocotools" (default; vertices on
  pixel corners, holes joined in by zero-width cuts: pycocotools' annToMask, FiftyOne's
  importer give back the mask exactly) or "opencv" (one polygon per part through
  boundary pixel centres, holes hung in: cv2.fillPoly, as supervision reads COCO, gives
  back the mask exactly).
  area = mask pixel count, bbox = tight box [x, y, w, h] of the visible pixels
  (w = x_max - x_min + 1).
- extra per-annotation keys are prefixed `sdg_` (sdg_instance_id, sdg_prim_path) so that no
  reader's reserved names are taken (FiftyOne refuses `instance_id`, `index`, `tags`...).
- keypoints (when the run has the `keypoints` annotator): each annotation gets COCO's
  "keypoints" [x, y, v, ...] (pixel-index coordinates: our x - 0.5; v 0 / 1 / 2) and
  "num_keypoints"; each category with keypoints its "keypoints" (names) and "skeleton"
  (1-based index pairs); an object without keypoints of such a category 0, 0, 0 for each
  and num_keypoints 0 (pycocotools' keypoint evaluation reads it of every annotation).
Each frame's part is written last, atomically: a frame whose part exists is complete.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config.fields import Field
from ..frame import AnnotatedFrame
from . import io
from .base import Writer, part_files, register_writer
from .common import (
    COMMON_OPTIONS,
    atomic_text,
    check_options,
    class_names,
    image_sized,
    instance_mask,
    labelled_objects,
    safe_name,
    split_of,
    write_image,
)
from .masks import mask_polygons, mask_polygons_pixel_centres, rles_and_areas

PART_FORMAT = 2  # 2: extra keys prefixed sdg_
POLYGON_CONVENTIONS = ("pycocotools", "opencv")


def keypoint_class_conflict(objects, semantic_type: str, semantic_filter) -> str | None:
    """The first two `objects` ((name, labels, keypoint names, skeleton name pairs), in the
    order given) of one class, as the keypoints annotator labels them, whose keypoint names
    or skeleton differ, said in words; None when none do. A COCO category has one list of
    keypoint names and one skeleton (a YOLO-pose class one list of keypoint slots: its
    caller gives no skeletons): a run of such objects stopped at the first frame showing both, after its first files were written, where this is checked on the built
    scene before any."""
    from ..annotators.semantics import passes_filter

    seen: dict[str, tuple[str, list, list]] = {}
    for name, labels, names, skeleton in objects:
        values = labels.get(semantic_type)
        if not names or not values or not passes_filter(values, semantic_filter):
            continue
        names, skeleton = list(names), [list(pair) for pair in skeleton]
        label = ",".join(values)
        first = seen.setdefault(label, (name, names, skeleton))
        if (first[1], first[2]) != (names, skeleton):
            return (
                f"objects of one COCO category (YOLO-pose class) with the same keypoint names and skeleton: "
                f"{first[0]!r} and "
                f"{name!r} are both {semantic_type} {label!r}, with keypoints {first[1]} (skeleton {first[2]}) "
                f"and {names} (skeleton {skeleton}); give them the same keypoint empties (kp_<name>) and "
                f"sdg_skeleton, or other {semantic_type} labels"
            )
    return None


def coco_keypoints(frame: AnnotatedFrame) -> tuple[dict[int, dict], dict[str, dict]]:
    """From the `keypoints` annotation (if any): per instance id its COCO fields
    ("keypoints": [x, y, v, ...], "num_keypoints"), and per class its category fields
    ("keypoints": names, "skeleton": 1-based index pairs).

    COCO keypoint coordinates are pixel indices (the centre of the top-left pixel is
    (0, 0); detectron2 adds 0.5 when loading): x = our x - 0.5. Keypoints with
    visibility 0 are written as 0, 0, 0, as COCO does."""
    value = frame.annotations.get("keypoints")
    if value is None:
        return {}, {}
    data, info = value["data"], value["info"]
    per_object, schema = {}, {}
    for iid, names in info["names"].items():
        rows = data[data["instanceId"] == int(iid)]
        rows = rows[np.argsort(rows["index"])]
        flat = []
        for r in rows:
            v = int(r["visibility"])
            flat += [round(float(r["x"]) - 0.5, 3), round(float(r["y"]) - 0.5, 3), v] if v else [0, 0, 0]
        per_object[int(iid)] = {"keypoints": flat, "num_keypoints": int(np.count_nonzero(rows["visibility"]))}
        labels = info["idToLabels"].get(int(rows["semanticId"][0]) if len(rows) else None, {})
        for label in labels.values():
            skeleton = [[a + 1, b + 1] for a, b in info["skeletons"].get(iid, [])]
            if schema.setdefault(label, {"keypoints": list(names), "skeleton": skeleton}) != {
                "keypoints": list(names),
                "skeleton": skeleton,
            }:
                raise ValueError(
                    f"coco: frame {frame.frame} gives class {label!r} the keypoints {schema[label]} and "
                    f"{info['primPaths'].get(iid, iid)} {{'keypoints': {list(names)}, 'skeleton': {skeleton}}}: "
                    f"objects of one class need the same keypoint names and skeleton"
                )
    return per_object, schema


# Annotators whose output `channels` cannot save as an array beside each image: what each is.
NO_CHANNEL = {
    "camera_params": "a table of numbers, not an array: basic writes it (camera_params_NNNN.json), kitti its calib",
    "lidar": "a LiDAR's points, not a camera's: basic, pcd and kitti_velodyne write them",
}


def channel_not_computed(options: dict | None, plan) -> tuple[str, str, str] | None:
    """(option, value, expected) for the first annotator the file's `channels` names that
    the run does not compute (`plan`: its annotators), for which nothing was saved without
    a word; None when each is computed. The default is saved where the run has it."""
    given = (options or {}).get("channels")
    for i, name in enumerate(given if isinstance(given, list) else []):
        if isinstance(name, str) and name not in plan:
            return (
                f"channels[{i}]",
                name,
                f"an annotator the run computes: {name} is none of its annotators, so nothing would be saved for "
                f"it; add {name} = {{}} under [annotators] (or leave it out of channels)",
            )
    return None


@register_writer
class CocoWriter(Writer):
    name = "coco"
    summary = "COCO instances JSON (RLE or polygon masks, stable category ids) and the images"
    required_annotators = ("rgb", "instance_segmentation", "bounding_box_2d_tight")
    labelled_extras = ("keypoints",)
    OPTIONS = {
        **COMMON_OPTIONS,
        "polygons": (False, bool, "polygon masks (pixel-exact outlines) instead of RLE"),
        "polygon_convention": Field(
            "polygon_convention",
            "choice",
            "pycocotools",
            'polygons for "pycocotools" (corners) or "opencv" (pixel centres)',
            choices=POLYGON_CONVENTIONS,
        ),
        "channels": (
            ["distance_to_image_plane"],
            list,
            "annotators saved as .npy beside each image (arrays: not camera_params, lidar)",
        ),
        "keep_alpha": (False, bool, "write RGBA images instead of RGB"),
    }

    @classmethod
    def mask_sources(cls, options: dict | None) -> dict[str, str]:
        return {"instance_segmentation": "bounding_box_2d_tight"}

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """Its image, boxes and masks, keypoints, and the annotators `channels` names."""
        channels = (options or {}).get("channels", cls.OPTIONS["channels"][0])
        named = tuple(c for c in channels if isinstance(c, str)) if isinstance(channels, list) else ()
        return (*cls.required_annotators, *cls.labelled_extras, *(c for c in named if c not in NO_CHANNEL))

    @classmethod
    def would_write(cls, annotator: str) -> str | None:
        if annotator in NO_CHANNEL or annotator in cls.written({}):
            return super().would_write(annotator)
        return f"coco (channels = [{json.dumps(annotator)}])"  # as .npy beside each image

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        check_options(self.name, self.options, folders=("parts", "annotations"))
        from ..annotators import ANNOTATORS
        from ..config.problems import OptionError, one_of

        for i, name in enumerate(self.options["channels"]):
            if name not in ANNOTATORS:  # a typo would silently save nothing
                expected = one_of(name, sorted(ANNOTATORS), "annotator")
                raise OptionError(f"writer 'coco': channels: {expected}", f"channels[{i}]", name, expected)
            if name in NO_CHANNEL:  # nothing was saved for it, without a word
                expected = f"an annotator whose output is an array (saved as .npy): {name} is {NO_CHANNEL[name]}"
                raise OptionError(f"writer 'coco': channels: {expected}", f"channels[{i}]", name, expected)

    @property
    def root(self) -> Path:
        return self.output_dir / "coco"

    @property
    def categories(self) -> list[str] | None:
        """Class names in the run's stable order (from set_run's label table)."""
        return None if self.label_table is None else class_names(self.label_table, self.options["semantic_type"])

    def dataset_name(self, frame_index: int, camera_name: str) -> str:
        split = split_of(frame_index, self.options)
        return f"{split}_{safe_name(camera_name)}" if self.several_cameras else split

    # ------------------------------------------------------------------ per frame
    def write(self, frame: AnnotatedFrame) -> None:
        opts = self.options
        ds = self.dataset_name(frame.frame, frame.camera_name)
        stem = f"{frame.frame:0{opts['frame_padding']}d}"
        folder = self.root / ds
        image = write_image(folder / stem, frame, opts, keep_alpha=opts["keep_alpha"])
        image = {
            "file_name": image,
            "width": int(frame.camera.width),
            "height": int(frame.camera.height),
            "frame": int(frame.frame),
            "camera": frame.camera_name,
        }
        channels = {}
        for name in opts["channels"]:
            value = frame.annotations.get(name)
            array = value.get("data") if isinstance(value, dict) else value
            if isinstance(array, np.ndarray):
                channels[name] = f"{stem}_{safe_name(name)}.npy"
                io.write_npy(folder / channels[name], array)
                # Image-sized arrays of its info (a flow's valid and status masks: without
                # them a clip's last frame's zeros and occluded pixels read as flow) and a
                # point cloud's per-point ones (which pixel, colour, class each point is)
                # beside it, named as the BasicWriter's files.
                from ..annotators.pointcloud import POINT_FILES

                info = value.get("info") if isinstance(value, dict) else None
                for key, extra in (info or {}).items():
                    per_point = name == "pointcloud" and key in POINT_FILES and isinstance(extra, np.ndarray)
                    if image_sized(extra, frame) or per_point:
                        channel = f"{name}_{POINT_FILES[key] if per_point else key}"
                        channels[channel] = f"{stem}_{safe_name(channel)}.npy"
                        io.write_npy(folder / channels[channel], extra)
        if "distance_to_image_plane" in channels:
            image["depth_file"] = channels["distance_to_image_plane"]
        if channels:
            image["channels"] = channels

        annotations = []
        keypoints, schema = coco_keypoints(frame)
        objects = labelled_objects(frame, opts["semantic_type"], self.name)
        if not opts["polygons"] and objects:
            # Every object's RLE and area from one pass over the id map, not one mask each.
            rles, areas = rles_and_areas(instance_mask(frame, None), [o.instance_id for o in objects])
        for obj in objects:
            if not opts["polygons"]:
                area = areas.get(obj.instance_id, 0)
                segmentation = rles[obj.instance_id]
            else:
                mask = instance_mask(frame, obj.instance_id)
                area = int(np.count_nonzero(mask))
                if area:
                    cols = np.flatnonzero(mask.any(axis=0))
                    rows = np.flatnonzero(mask.any(axis=1))
                    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
                    offset = (int(cols[0]), int(rows[0]))
                    if opts["polygon_convention"] == "opencv":
                        segmentation = mask_polygons_pixel_centres(crop, offset=offset)
                    else:
                        segmentation = mask_polygons(crop, offset=offset)
            if area == 0:
                continue
            annotations.append({**self._annotation(obj, area, segmentation), **keypoints.get(obj.instance_id, {})})
        part = {
            "format": PART_FORMAT,
            "dataset": ds,
            "frame": int(frame.frame),
            "semantic_type": opts["semantic_type"],
            "categories": class_names(frame.label_table, opts["semantic_type"]),
            "image": image,
            "annotations": annotations,
        }
        if schema:
            part["keypoint_schema"] = schema
        # Last file of the frame: its presence means every file above is complete.
        io.write_json(self.root / "parts" / ds / f"{stem}.json", part)

    @staticmethod
    def _annotation(obj, area: int, segmentation) -> dict:
        x0, y0, x1, y1 = obj.box
        return {
            "category_id": obj.class_index + 1,
            "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1],
            "area": area,
            "iscrowd": 0,
            "segmentation": segmentation,
            "sdg_instance_id": obj.instance_id,
            "sdg_prim_path": obj.path,
        }

    def joined_files(self) -> dict[str, Path]:
        folder = self.root / "annotations"
        found = sorted(folder.glob("instances_*.json")) if folder.is_dir() else []
        return {p.name[len("instances_") : -len(".json")]: p for p in found}

    # ------------------------------------------------------------------ merge
    def finalize(self) -> None:
        """Merge every part on disk (all shards, all resumed runs) into the json files."""
        parts_root = self.root / "parts"
        if not parts_root.is_dir():
            return
        for folder in sorted(p for p in parts_root.iterdir() if p.is_dir()):
            files = part_files(folder, ".json")
            if files:
                self._merge(folder.name, files)

    def _merge(self, ds: str, files: list[Path]) -> Path:
        # Pass 1: images and categories (small); pass 2 streams the annotations, so memory
        # stays flat however many frames there are.
        entries = []
        categories = self.categories
        source = "the run's label table"
        schemas: dict[str, dict] = {}
        for f in self.joining(files, f"reading the parts of {ds}"):
            part = json.loads(f.read_text(encoding="utf-8"))
            for label, schema in part.get("keypoint_schema", {}).items():
                if schemas.setdefault(label, schema) != schema:
                    raise ValueError(
                        f"coco: {f.as_posix()} gives class {label!r} the keypoints {schema}, another frame "
                        f"{schemas[label]}: objects of one class need the same keypoint names and skeleton"
                    )
            if categories is None:
                categories, source = part["categories"], f.as_posix()
            elif part["categories"] != categories:
                raise ValueError(
                    f"coco: {f.as_posix()} was written with categories {part['categories']}, but {source} "
                    f"has {categories}: the label set changed between runs into the same folder"
                )
            entries.append((int(part["frame"]), f, part["image"]))
        entries.sort(key=lambda e: e[0])
        frames = [e[0] for e in entries]
        if len(set(frames)) != len(frames):
            raise ValueError(f"coco: several parts of dataset {ds!r} hold the same frame")
        out = self.root / "annotations" / f"instances_{ds}.json"
        stype = self.options["semantic_type"]
        header = {
            "info": {"description": f"synthetic dataset {ds!r} (sdg coco writer)", "version": "1.0"},
            "licenses": [],
            "categories": [
                {"id": i + 1, "name": n, "supercategory": stype, **schemas.get(n, {})} for i, n in enumerate(categories)
            ],
        }
        with atomic_text(out) as fh:
            fh.write(json.dumps(header)[:-1])
            fh.write(', "images": [')
            for k, (frame, _f, image) in enumerate(entries):
                fh.write((", " if k else "") + json.dumps({"id": frame, **image}))
            fh.write('], "annotations": [')
            # An object without keypoints of a class with keypoints gets every keypoint as
            # not labelled (0, 0, 0), as COCO's persons without any: COCOeval('keypoints')
            # reads num_keypoints of every annotation of its categories.
            unlabelled = {
                i + 1: {"keypoints": [0] * (3 * len(schemas[n]["keypoints"])), "num_keypoints": 0}
                for i, n in enumerate(categories)
                if n in schemas
            }
            ann_id = 0
            for frame, f, _image in self.joining(entries, f"joining the annotations of {ds}"):
                part = json.loads(f.read_text(encoding="utf-8"))
                for ann in sorted(map(_current_keys, part["annotations"]), key=lambda a: a["sdg_instance_id"]):
                    if "keypoints" not in ann and ann["category_id"] in unlabelled:
                        ann.update(unlabelled[ann["category_id"]])
                    ann_id += 1
                    fh.write((", " if ann_id > 1 else "") + json.dumps({"id": ann_id, "image_id": frame, **ann}))
            fh.write("]}\n")
        return out


def _current_keys(ann: dict) -> dict:
    """Parts written before PART_FORMAT 2 named the extra keys without the sdg_ prefix."""
    for old in ("instance_id", "prim_path"):
        if old in ann:
            ann[f"sdg_{old}"] = ann.pop(old)
    return ann
