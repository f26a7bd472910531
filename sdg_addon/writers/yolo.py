"""YOLO writer: the layout Ultralytics (and YOLOv5-style) trainers read, plus dataset.yaml.

    yolo/images/<split>/<name>.png
    yolo/labels/<split>/<name>.txt    one line per object: "class cx cy w h", normalised
    yolo/dataset.yaml                 path, train, val, nc, names (written by finalize())

<name> is the frame number, or <camera>_<frame> when the run has several cameras (all
cameras share the splits). class = 0-based position of the label in the run's label table.
Boxes are the tight boxes in pixel-edge coordinates divided by the image size:
cx = (x_min + w / 2) / W with w = x_max - x_min + 1. With segmentation = true a line is
"class x1 y1 x2 y2 ..." (YOLO-seg) in OpenCV's convention, as Ultralytics and supervision
read it (cv2.fillPoly of the polygon scaled by the image size): one polygon through the
centres of the object's boundary pixels, holes hung in by cuts through object pixels, so
the fill gives back the mask exactly (separate parts of one object are joined by the
shortest cut, whose pixels are filled too). Each vertex is the pixel centre plus a quarter
pixel, (column + 0.25) / W, so readers that truncate (astype(int)) and readers that round
both land on the centre. The image is written last: trainers list images, so a frame
interrupted before its image never enters a dataset (a label file alone is ignored).
dataset.yaml has no `path` key: Ultralytics then takes the yaml's own folder as the dataset
root (a relative `path` would be resolved against the working folder or its datasets_dir),
so the dataset can be moved or copied and still loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import output
from ..config.fields import Field
from ..frame import AnnotatedFrame
from . import io
from .base import Writer, register_writer
from .common import (
    COMMON_OPTIONS,
    check_options,
    class_names,
    instance_mask,
    labelled_objects,
    safe_name,
    split_of,
    write_image,
)
from .masks import mask_polygon_pixel_centres

CENTRE_NUDGE = 0.25  # pixels added to each pixel-centre vertex (see the module doc)


def decimals_problem(options: dict, width: int, height: int) -> str | None:
    """What is wrong when `decimals` cannot place this image's labels on their pixels, else None.

    A coordinate rounded to d decimals moves by up to 0.5 * 10^-d of the image side. A box
    line's edge, cx -+ w / 2, moves by up to 0.75 * 10^-d sides, which must stay under half a
    pixel (3 * side < 2 * 10^d) for the edge to be the pixel edge it was; a polygon vertex
    (a pixel centre plus CENTRE_NUDGE) under that quarter pixel (2 * side < 10^d). With
    fewer decimals the labels are not the objects' (decimals = 0 writes every coordinate as
    0 or 1)."""
    d = options.get("decimals", 6)
    if not isinstance(d, int) or isinstance(d, bool):
        return None  # its declaration says what is wrong
    side = max(width, height)
    if options.get("segmentation", False):
        if 2 * side < 10**d:
            return None
        least = next(n for n in range(d, 18) if 2 * side < 10**n)
        what, moves, bound = "a polygon vertex", 0.5 * side / 10**d, "a quarter pixel"
    else:
        if 3 * side < 2 * 10**d:
            return None
        least = next(n for n in range(d, 18) if 3 * side < 2 * 10**n)
        what, moves, bound = "a box edge", 0.75 * side / 10**d, "half a pixel"
    return (
        f"at least {least} for a {width} x {height} image: rounding to {d} decimals moves {what} by up to "
        f"{moves:.4g} pixels, and less than {bound} keeps it on the object's pixels"
    )


def yaml_quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar in ASCII: printable ASCII as is, `"` and `\\`
    escaped, every other character as `\\uXXXX` or, beyond the BMP (emoji...), `\\UXXXXXXXX`.
    (json.dumps writes those as a UTF-16 surrogate pair, `\\ud83d\\ude00`, which YAML
    readers refuse: PyYAML, so Ultralytics' check_det_dataset, fails on the whole file.)"""
    out = []
    for c in text:
        code = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= code < 0x7F:
            out.append(c)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


@register_writer
class YoloWriter(Writer):
    name = "yolo"
    summary = "YOLO labels (boxes or segmentation polygons), images and dataset yaml"
    required_annotators = ("rgb", "instance_segmentation", "bounding_box_2d_tight")
    OPTIONS = {
        **COMMON_OPTIONS,
        "segmentation": (False, bool, "write YOLO-seg polygons instead of boxes"),
        "decimals": Field(
            "decimals",
            "int",
            6,
            "decimals of the normalised coordinates; enough for the image size: 3 max(W, H) < 2 * 10^decimals "
            "(a box edge stays within half a pixel), with segmentation 2 max(W, H) < 10^decimals (a vertex "
            "within a quarter pixel)",
            low=0,
            high=17,
        ),
    }

    @classmethod
    def mask_sources(cls, options: dict | None) -> dict[str, str]:
        return {"instance_segmentation": "bounding_box_2d_tight"} if (options or {}).get("segmentation") is True else {}

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """Its image, boxes and masks (polygons): no keypoints (pose labels), no depth."""
        return cls.required_annotators

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        check_options(self.name, self.options)
        if self.options["split"] == "images":
            # Ultralytics finds an image's labels by replacing the last /images/ of its path
            # with /labels/: yolo/images/images/000042.png -> yolo/images/labels/000042.txt.
            raise ValueError(
                "writer 'yolo': split 'images' is not a split Ultralytics can read: it finds an image's labels "
                "by replacing the last '/images/' of its path with '/labels/', so images/images/000000.png "
                "is looked for as images/labels/000000.txt and every image is taken as a background; name the "
                "split otherwise (train, val, test)"
            )

    @property
    def root(self) -> Path:
        return self.output_dir / "yolo"

    @property
    def names(self) -> list[str] | None:
        """Class names in the run's stable order (from set_run's label table)."""
        return None if self.label_table is None else class_names(self.label_table, self.options["semantic_type"])

    def file_stem(self, frame: AnnotatedFrame) -> str:
        n = f"{frame.frame:0{self.options['frame_padding']}d}"
        return f"{safe_name(frame.camera_name)}_{n}" if self.several_cameras else n

    def label_lines(self, frame: AnnotatedFrame) -> list[str]:
        opts = self.options
        width, height = frame.camera.width, frame.camera.height
        d = opts["decimals"]
        problem = decimals_problem(opts, width, height)
        if problem:
            raise ValueError(f"writer 'yolo': decimals {d}: expected {problem}")
        lines = []
        for obj in labelled_objects(frame, opts["semantic_type"], self.name):
            if opts["segmentation"]:
                mask = instance_mask(frame, obj.instance_id)
                if not mask.any():
                    continue
                cols = np.flatnonzero(mask.any(axis=0))
                rows = np.flatnonzero(mask.any(axis=1))
                crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
                centres = mask_polygon_pixel_centres(crop, offset=(int(cols[0]), int(rows[0])))
                poly = (np.array(centres).reshape(-1, 2) + CENTRE_NUDGE) / (width, height)
                coords = " ".join(f"{v:.{d}f}" for v in poly.ravel())
                lines.append(f"{obj.class_index} {coords}")
            else:
                x0, y0, x1, y1 = obj.box
                w, h = x1 - x0 + 1, y1 - y0 + 1
                cx, cy = (x0 + w / 2) / width, (y0 + h / 2) / height
                lines.append(f"{obj.class_index} {cx:.{d}f} {cy:.{d}f} {w / width:.{d}f} {h / height:.{d}f}")
        return lines

    def write(self, frame: AnnotatedFrame) -> None:
        split = split_of(frame.frame, self.options)
        stem = self.file_stem(frame)
        if self.label_table is None:  # written without set_run (a writer used on its own)
            self.label_table = frame.label_table
        lines = self.label_lines(frame)
        io.write_text(self.root / "labels" / split / f"{stem}.txt", "".join(f"{x}\n" for x in lines))
        # Last: the image makes the frame part of the dataset.
        write_image(self.root / "images" / split / stem, frame, self.options)

    def run_names(self) -> list[str]:
        """The class names: the run's (set_run), else those the run recorded in
        OUT/audit/label_table.json (a writer used on its own: `create_writer("yolo",
        out).finalize()` rebuilds dataset.yaml as the run wrote it)."""
        if self.names is not None:
            return self.names
        table = self.output_dir / output.AUDIT_DIR / "label_table.json"
        if not table.is_file():
            raise ValueError(
                f"yolo: cannot write {(self.root / 'dataset.yaml').as_posix()}: its class names are the run's, "
                f"and neither set_run() gave them nor {table.as_posix()} (which a run writes) holds them"
            )
        values = json.loads(table.read_text(encoding="utf-8"))
        stype = self.options["semantic_type"]
        # A writer made with another semantic_type than the run's; a run without any label of
        # its type (background images only, or labels of other types) wrote no class.
        if values and stype not in values and stype != self.run_semantic_type():
            raise ValueError(
                f"yolo: cannot write {(self.root / 'dataset.yaml').as_posix()}: {table.as_posix()} has no "
                f"{stype!r} labels (it has {sorted(values)}): give the writer the run's semantic_type"
            )
        return list(values.get(stype, []))

    def run_semantic_type(self) -> str | None:
        """The yolo writer's semantic_type of the run (OUT/audit/resolved.json, which keeps the
        options as the file gave them: its default where left out), None if not recorded."""
        try:
            resolved = json.loads((self.output_dir / output.AUDIT_DIR / "resolved.json").read_text(encoding="utf-8"))
            options = resolved["writers"][self.name]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return options.get("semantic_type", COMMON_OPTIONS["semantic_type"][0]) if isinstance(options, dict) else None

    def finalize(self) -> None:
        images = self.root / "images"
        splits = sorted(p.name for p in images.iterdir() if p.is_dir()) if images.is_dir() else []
        if not splits:
            return
        names = self.run_names()
        train = "train" if "train" in splits else splits[0]
        val = "val" if "val" in splits else train
        lines = [
            "# Written by the sdg yolo writer. No 'path' key: Ultralytics takes this file's folder",
            "# as the dataset root, so the dataset loads wherever it is moved.",
            f"train: images/{train}",
            f"val: images/{val}",
        ]
        if "test" in splits:
            lines.append("test: images/test")
        lines.append(f"nc: {len(names)}")
        # No class (a run of background images only): an empty mapping, which YAML reads as
        # {}, where a bare `names:` is null (supervision's from_yolo refuses it).
        lines.append("names:" if names else "names: {}")
        lines += [f"  {i}: {yaml_quoted(n)}" for i, n in enumerate(names)]
        io.write_text(self.root / "dataset.yaml", "\n".join(lines) + "\n")
