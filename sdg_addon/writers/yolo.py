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

With keypoints = true a line is YOLO-pose's "class cx cy w h x1 y1 v1 ... xK yK vK": the box
line, then K keypoints, x / W and y / H of the keypoints annotator's coordinates (pixel-edge
coordinates, as the boxes': the centre of the top-left pixel is 0.5 / W; Ultralytics flips
them as w - x), v 2 visible, 1 hidden (labelled, as COCO's v 1), and "0 0 0" for a keypoint
outside the image (or behind the camera) and for a slot the object's class does not have.
K is one for the dataset (kpt_shape [K, 3]): the most keypoints of any class of the run;
a class with fewer fills its first slots in its declared order and pads the rest, objects
of classes without keypoints are all padding (every boxed object keeps its line, where
Ultralytics' convert_coco drops those without a labelled keypoint). The run's classes and keypoint names come
from audit/keypoint_classes.json (the recorder writes it from the built scene), so every
frame, worker, shard and resumed run has the same K. dataset.yaml gets kpt_shape, kpt_names
(per class) and flip_idx: each keypoint's mirror by name (left <-> right as a word, l / r as
a first or last part: left_eye, eyeLeft, eye.L, l_hand), itself where the name has no side
or its mirror is not a keypoint; when two classes give one slot different mirrors no flip
serves both: no flip_idx, and Ultralytics then trains without flips (it sets fliplr and
flipud to 0 itself), which the run warns of.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .. import output
from ..config.fields import Field
from ..config.problems import OptionError
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
KEYPOINT_CLASSES_FILE = "keypoint_classes.json"  # in OUT/audit: {"semantic_type", "classes": {label: names}}
_SIDE_WORDS = re.compile(r"left|right", re.IGNORECASE)
_SIDE_LETTER_FIRST = re.compile(r"^([lLrR])([._\- :])")
_SIDE_LETTER_LAST = re.compile(r"([._\- :])([lLrR])$")


def _other_side(word: str) -> str:
    """left <-> right, l <-> r, in the word's case (Left -> Right, LEFT -> RIGHT, L -> R)."""
    other = {"left": "right", "right": "left", "l": "r", "r": "l"}[word.lower()]
    if word.isupper():
        return other.upper()
    return other.capitalize() if word[0].isupper() else other


def mirrored_name(name: str) -> str:
    """The name of the keypoint on the other side: each side word swapped, where it stands
    as a word (left_eye, eyeLeft, LeftHand, upper-right; not leftover, bright), and a single
    l / r as the name's first or last part (l_eye, eye_l, eye.L, hand-R). A name without a
    side is its own mirror. An involution: mirrored_name(mirrored_name(n)) == n."""
    out, last = [], 0
    for m in _SIDE_WORDS.finditer(name):
        word, a, b = m.group(), m.start(), m.end()
        before = name[a - 1] if a else ""
        after = name[b] if b < len(name) else ""
        starts = not before.isalpha() or (before.islower() and word[0].isupper())
        ends = not after.isalpha() or (after.isupper() and word[-1].islower())
        if starts and ends:
            out += [name[last:a], _other_side(word)]
            last = b
    name = "".join(out) + name[last:]
    name = _SIDE_LETTER_FIRST.sub(lambda m: _other_side(m.group(1)) + m.group(2), name)
    return _SIDE_LETTER_LAST.sub(lambda m: m.group(1) + _other_side(m.group(2)), name)


def flip_index(names: list[str]) -> list[int]:
    """Ultralytics' flip_idx of one list of keypoint names: position i holds the position
    of name i's mirror (mirrored_name), i where it has none among `names`."""
    where = {n: i for i, n in enumerate(names)}
    return [where.get(mirrored_name(n), i) for i, n in enumerate(names)]


def pose_layout(classes: dict[str, list[str]]) -> tuple[int, list[int] | None, str | None]:
    """(K, flip_idx, why there is none) of a dataset whose classes have these keypoint names
    (class -> names; each class in slots 0 .. len - 1): K the most keypoints of a class;
    flip_idx the classes' flip_index, each slot's mirror as every class having it says, or
    None with the reason when two classes give one slot different mirrors."""
    k = max((len(n) for n in classes.values()), default=0)
    flip: list[int | None] = [None] * k
    said: list[str | None] = [None] * k
    for label, names in classes.items():
        for i, j in enumerate(flip_index(names)):
            if flip[i] is None:
                flip[i], said[i] = j, label
            elif flip[i] != j:
                first = classes[said[i]]
                return (
                    k,
                    None,
                    (
                        f"keypoint slot {i} is {first[i]!r} of class {said[i]!r}, mirrored by slot {flip[i]} "
                        f"({first[flip[i]]!r}), and {names[i]!r} of class {label!r}, mirrored by slot {j} ({names[j]!r})"
                    ),
                )
    return k, [int(i) for i in flip], None


def pose_flip_warning(classes: dict[str, list[str]]) -> str | None:
    """The run's warning when no flip_idx serves every class (pose_layout), else None."""
    _k, _flip, why = pose_layout(classes)
    if why is None:
        return None
    return (
        f"yolo (keypoints = true): no flip_idx serves every class: {why}; dataset.yaml has none, so Ultralytics "
        "trains without horizontal and vertical flips (it sets fliplr and flipud to 0); give classes whose "
        "keypoints mirror alike the same slots, or record them in separate runs"
    )


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
    summary = "YOLO labels (boxes, segmentation polygons or pose keypoints), images and dataset yaml"
    required_annotators = ("rgb", "instance_segmentation", "bounding_box_2d_tight")
    OPTIONS = {
        **COMMON_OPTIONS,
        "segmentation": (False, bool, "write YOLO-seg polygons instead of boxes"),
        "keypoints": (
            False,
            bool,
            "write YOLO-pose lines (the box, then x y v of each keypoint; kpt_shape and flip_idx in dataset.yaml) "
            "from the keypoints annotator, which the run then has",
        ),
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
    def required_for(cls, options: dict | None) -> tuple[str, ...]:
        """Its image, boxes and masks, and with keypoints = true the keypoints annotator."""
        pose = (options or {}).get("keypoints") is True
        return (*cls.required_annotators, "keypoints") if pose else cls.required_annotators

    @classmethod
    def labelled_for(cls, options: dict | None) -> tuple[str, ...]:
        """The keypoints annotator's labels name its classes with keypoints = true."""
        return ("keypoints",) if (options or {}).get("keypoints") is True else ()

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """Its image, boxes and masks (polygons), keypoints with keypoints = true; no depth."""
        return cls.required_for(options)

    @classmethod
    def would_write(cls, annotator: str) -> str | None:
        return "yolo (keypoints = true)" if annotator == "keypoints" else super().would_write(annotator)

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        check_options(self.name, self.options)
        self.keypoint_classes: dict[str, list[str]] | None = None  # run_keypoint_classes()
        if self.options["keypoints"] and self.options["segmentation"]:
            expected = (
                "false with segmentation = true: a YOLO line is a box with keypoints (pose) or a polygon (segment), "
                "not both; write one in another run (or the keypoints with coco)"
            )
            raise OptionError(f"writer 'yolo': keypoints = true: expected {expected}", "keypoints", True, expected)
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
        pose = self.pose_keypoints(frame) if opts["keypoints"] else None
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
                line = f"{obj.class_index} {cx:.{d}f} {cy:.{d}f} {w / width:.{d}f} {h / height:.{d}f}"
                if pose is not None:
                    line += " " + pose(obj)
                lines.append(line)
        return lines

    def run_keypoint_classes(self) -> dict[str, list[str]]:
        """The run's classes with keypoints and their names (class -> names, label-table
        order): keypoint_classes where given, else OUT/audit/keypoint_classes.json, which
        the recorder writes from the built scene before the first frame."""
        if self.keypoint_classes is not None:
            return self.keypoint_classes
        path, data = self._run_record(
            KEYPOINT_CLASSES_FILE,
            "writer 'yolo' (keypoints = true): the run's keypoint names per class give every line its K "
            "keypoints, and neither keypoint_classes nor {path} (which a run writes) holds them",
        )
        stype = self.options["semantic_type"]
        if data.get("semantic_type") != stype:
            raise ValueError(
                f"writer 'yolo' (keypoints = true): {path.as_posix()} holds the keypoints of "
                f"{data.get('semantic_type')!r} classes, the writer's semantic_type is {stype!r}"
            )
        self.keypoint_classes = {label: list(names) for label, names in data["classes"].items()}
        return self.keypoint_classes

    def pose_keypoints(self, frame: AnnotatedFrame):
        """A function giving a LabelledObject's K keypoint triples as label text (see the
        module doc), from the frame's keypoints annotation."""
        classes = self.run_keypoint_classes()
        k, _flip, _why = pose_layout(classes)
        if k == 0:
            raise ValueError(
                f"writer 'yolo' (keypoints = true): no {self.options['semantic_type']} class of the run has "
                "keypoints, so YOLO-pose lines would have none (kpt_shape [0, 3])"
            )
        d = self.options["decimals"]
        width, height = frame.camera.width, frame.camera.height
        value = frame.annotations.get("keypoints")
        if value is None:
            raise ValueError(f"writer 'yolo' (keypoints = true) needs the keypoints annotation (frame {frame.frame})")
        data, names_of = value["data"], {int(i): list(n) for i, n in value["info"].get("names", {}).items()}
        padding = " ".join(["0 0 0"] * k)
        # Every keypoint's triple, formatted once a frame: the rows sorted by object, then by
        # index (stable), each object's a slice of them (looked up per object, each row read
        # through numpy: 0.4 ms an object of 17 keypoints, 0.02 ms so).
        data = data[np.lexsort((data["index"], data["instanceId"]))]
        ids, first = np.unique(data["instanceId"], return_index=True)
        bounds = dict(zip(ids.tolist(), zip(first.tolist(), [*first[1:].tolist(), len(data)])))
        triple = f"{{:.{d}f}} {{:.{d}f}} {{}}".format
        xs = (data["x"].astype(np.float64) / width).tolist()
        ys = (data["y"].astype(np.float64) / height).tolist()
        triples = [triple(x, y, v) if v else "0 0 0" for x, y, v in zip(xs, ys, data["visibility"].tolist())]

        def text(obj) -> str:
            names = names_of.get(obj.instance_id)
            if not names:
                return padding
            if classes.get(obj.label) != names:
                raise ValueError(
                    f"writer 'yolo' (keypoints = true): frame {frame.frame}: {obj.path or obj.instance_id} "
                    f"({self.options['semantic_type']} {obj.label!r}) has the keypoints {names}, the run's "
                    f"keypoint classes give {obj.label!r} {classes.get(obj.label)}: objects of one class need "
                    "the same keypoint names"
                )
            lo, hi = bounds.get(obj.instance_id, (0, 0))
            out = triples[lo:hi]
            return " ".join(out + ["0 0 0"] * (k - len(out)))

        return text

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
        table, values = self._run_record(
            "label_table.json",
            f"yolo: cannot write {(self.root / 'dataset.yaml').as_posix()}: its class names are the run's, "
            "and neither set_run() gave them nor {path} (which a run writes) holds them",
        )
        stype = self.options["semantic_type"]
        # A writer made with another semantic_type than the run's; a run without any label of
        # its type (background images only, or labels of other types) wrote no class.
        if values and stype not in values and stype != self.run_semantic_type():
            raise ValueError(
                f"yolo: cannot write {(self.root / 'dataset.yaml').as_posix()}: {table.as_posix()} has no "
                f"{stype!r} labels (it has {sorted(values)}): give the writer the run's semantic_type"
            )
        return list(values.get(stype, []))

    def _run_record(self, name: str, missing: str):
        """(path, data) of the run's record OUT/audit/<name>, for a writer used on its own
        (`missing`, its {path} filled in, where the run wrote none)."""
        path = self.output_dir / output.AUDIT_DIR / name
        if not path.is_file():
            raise ValueError(missing.replace("{path}", path.as_posix()))  # not format(): a folder may hold braces
        return path, json.loads(path.read_text(encoding="utf-8"))

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
        if self.options["keypoints"]:
            classes = self.run_keypoint_classes()
            k, flip, _why = pose_layout(classes)
            lines.append(f"kpt_shape: [{k}, 3]")
            if flip is None:
                # pose_flip_warning says which classes, in the run's warnings
                lines.append(
                    "# No flip_idx: no one keypoint order mirrors every class; Ultralytics trains without flips."
                )
            else:
                lines.append(f"flip_idx: [{', '.join(map(str, flip))}]")
            lines.append("kpt_names:" if classes else "kpt_names: {}")
            for i, n in enumerate(names):
                if n in classes:
                    lines.append(f"  {i}: [{', '.join(yaml_quoted(x) for x in classes[n])}]")
        io.write_text(self.root / "dataset.yaml", "\n".join(lines) + "\n")
