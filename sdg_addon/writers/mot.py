"""MOTChallenge writer: one tracking sequence per clip and camera, as MOT16/17 lay them out,
so TrackEval (MotChallenge2DBox), py-motmetrics and dataset tools (CVAT, Datumaro) read them.

    mot/<split>/<sequence>/seqinfo.ini         [Sequence] name, imDir, frameRate, seqLength,
                                               imWidth, imHeight, imExt (finalize())
    mot/<split>/<sequence>/img1/000001.png     the frames, numbered from 1
    mot/<split>/<sequence>/gt/gt.txt           the ground truth (finalize())
    mot/<split>/<sequence>/gt/labels.txt       class names, line k = class k (finalize())
    mot/seqmaps/<split>.txt                    "name", then the split's sequences (TrackEval)
    mot/parts/<split>/<sequence>/<frame>.json  one part per finished frame (by run frame)

seqinfo.ini's frameRate is sequence.fps rounded to a whole rate (at least 1), as MOT's readers
parse it with int().
<sequence>: clip_<clip:04d> for a clip (sequence.folders = "clip"), `stills` for stills
(and for "flat" clips: the whole run is one sequence), with _<camera> appended when the run
has several cameras. Frame n of a sequence (its image img1/<n>, 6 digits by default) is
frame n - 1 of the clip, or run frame n - 1 for stills. The split of a clip is its clip
index's (val_every: clip % N == 0 goes to `val`), so a clip is never cut between splits;
stills take their frame's split.
gt.txt lines, sorted by frame then id: `frame,id,bb_left,bb_top,bb_width,bb_height,conf,
class,visibility` (MOT16/17's 9 columns). Rows and boxes by the option `boxes`:
- "full" (the default, MOT16/17's ground truth): bounding_box_2d_loose's rows, every
  labelled object whose projection covers a pixel of the image, wholly hidden ones too
  (visibility 0), each with its info["bboxesFull"] box: the whole projection, occluded
  parts included, not clipped to the image (bb_left <= 0 for an object cut by the left
  border, its full width kept).
- "visible": bounding_box_2d_tight's rows and boxes, the visible pixels; only objects with
  visible pixels have a row (a hidden object's track resumes with the same id when it
  shows again).
Columns:
- id: the object's instance id, the same in every frame and camera of the run (ids start at
  2: 0 and 1 are reserved).
- bb_left, bb_top: the box's top-left pixel in MOT's 1-based pixel numbering (x_min + 1,
  y_min + 1 of the inclusive pixel box, negative ones too: py-motmetrics subtracts 1
  when loading, "matlab convention"); bb_width = x_max - x_min + 1, bb_height likewise
  (the COCO box's size).
- conf: 1 (a ground-truth row to evaluate; 0 would mark it ignored).
- class: k + 1, k the label's 0-based index in the run's label table for semantic_type (the
  COCO category id); labels.txt lists the names in that order.
- visibility: (1 - occlusionRatio) (1 - truncationRatio) of the row: visible pixels / the
  pixels of the object's whole projection (past the image border too), hidden by others or
  cut off by the image border as MOT counts it (-1 where unknown), with either boxes.
A part records its `boxes`; finalize() refuses to join parts of the other kind.
Each frame's part is written last: a frame whose part exists is complete; finalize() joins
every part on disk (shards, resumed runs) into gt.txt and seqinfo.ini.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..config.fields import Field
from ..frame import AnnotatedFrame
from . import io
from .base import Writer, lost_pieces_message, part_files, register_writer
from .basic import clip_folder
from .common import (
    COMMON_OPTIONS,
    check_options,
    class_names,
    image_suffix,
    labelled_objects,
    safe_name,
    split_of,
    write_image,
)

STILLS = "stills"  # the sequence of a run's stills
IMAGE_FOLDER = "img1"
DEFAULT_FPS = 24  # frameRate of frames that do not say theirs (sequence.fps's default)
# boxes = ... -> the annotator whose rows and boxes gt.txt holds.
BOX_ANNOTATORS = {"full": "bounding_box_2d_loose", "visible": "bounding_box_2d_tight"}
DEFAULT_BOXES = "full"
BOXES = Field(
    "boxes",
    "choice",
    DEFAULT_BOXES,
    '"full": the whole object, occluded parts and parts past the image border included, a row '
    'while hidden (MOT16/17); "visible": its visible pixels, a row only while some are seen',
    choices=tuple(BOX_ANNOTATORS),
)


def mot_frame_rate(fps: float) -> int:
    """seqinfo.ini's frameRate: an integer in MOT's files, and their readers parse it with
    int() (DeepSORT's deep_sort_app: 1000 / int(frameRate)), so a rate of 29.97 or 0.5 made
    them stop; the nearest whole rate, at least 1 (the exact one is sequence.fps)."""
    return max(1, round(float(fps)))


@register_writer
class MotWriter(Writer):
    name = "mot"
    summary = "MOTChallenge tracking ground truth per clip and camera: gt/gt.txt, seqinfo.ini, img1/"
    required_annotators = ("rgb", BOX_ANNOTATORS[DEFAULT_BOXES])
    OPTIONS = {**COMMON_OPTIONS, "boxes": BOXES}

    @classmethod
    def required_for(cls, options):
        """The image and the boxes `boxes` asks for: a run without boxes = "full" never
        computes the loose boxes for this writer."""
        boxes = (options or {}).get("boxes", DEFAULT_BOXES)
        annotator = BOX_ANNOTATORS.get(boxes) if isinstance(boxes, str) else None  # a wrong one: said apart
        return ("rgb", annotator or BOX_ANNOTATORS[DEFAULT_BOXES])

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """img1/ and gt.txt of the boxes `boxes` asks for."""
        return cls.required_for(options)

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        check_options(self.name, self.options, folders=("parts", "seqmaps"))

    @property
    def root(self) -> Path:
        return self.output_dir / "mot"

    def sequence(self, frame_index: int, clip: int | None, camera_name: str) -> tuple[str, str]:
        """(split, sequence name) of a run frame of a camera; `clip` None for stills."""
        if clip is None:
            split, name = split_of(frame_index, self.options), STILLS
        else:
            split, name = split_of(clip, self.options), clip_folder(clip)
        return split, f"{name}_{safe_name(camera_name)}" if self.several_cameras else name

    def write(self, frame: AnnotatedFrame) -> None:
        opts = self.options
        split, seq = self.sequence(frame.frame, frame.clip, frame.camera_name)
        number = (frame.frame if frame.clip is None else frame.clip_frame) + 1
        rows = []
        source = BOX_ANNOTATORS[opts["boxes"]]
        for obj in labelled_objects(frame, opts["semantic_type"], self.name, source):
            box = obj.box if opts["boxes"] == "visible" else obj.full_box
            if box is None:
                raise ValueError(
                    f"writer 'mot': boxes = \"full\" needs {source}'s info[\"bboxesFull\"] (each row's box not "
                    f"clipped to the image), which frame {frame.frame}'s lacks"
                )
            x0, y0, x1, y1 = box
            # MOT's visibility counts what other objects hide and what the image border cuts
            # off: visible / whole projected pixels = (1 - occlusion) (1 - truncation).
            visibility = 1.0 - obj.occlusion if math.isfinite(obj.occlusion) else -1.0
            if visibility >= 0 and obj.truncation is not None and math.isfinite(obj.truncation):
                visibility *= 1.0 - obj.truncation
            rows.append([obj.instance_id, x0 + 1, y0 + 1, x1 - x0 + 1, y1 - y0 + 1, obj.class_index + 1, visibility])
        write_image(self.root / split / seq / IMAGE_FOLDER / f"{number:0{opts['frame_padding']}d}", frame, opts)
        part = {
            "frame": int(frame.frame),
            "mot_frame": number,
            "camera": frame.camera_name,
            "width": int(frame.camera.width),
            "height": int(frame.camera.height),
            "fps": frame.fps,
            "semantic_type": opts["semantic_type"],
            "boxes": opts["boxes"],
            "categories": class_names(frame.label_table, opts["semantic_type"]),
            "rows": rows,
        }
        # Last file of the frame: its presence means the image above is complete.
        io.write_json(self.root / "parts" / split / seq / f"{frame.frame:0{opts['frame_padding']}d}.json", part)

    def other_boxes(self, path: Path, part: dict) -> str | None:
        """Why the part at `path` cannot join this writer's gt.txt: it holds the other boxes."""
        kind = part.get("boxes", "visible")  # parts written before the option had visible boxes
        if kind == self.options["boxes"]:
            return None
        before = "" if "boxes" in part else ' (written before the writer had the option, whose default is now "full")'
        return (
            f"writer 'mot': {path.as_posix()} was written with boxes = {kind!r}{before}, but the run has boxes = "
            f"{self.options['boxes']!r}: one gt.txt cannot hold both kinds of boxes"
        )

    def removed_parts(self, finished: dict[int, dict], sensors: list[str], clips: bool) -> str | None:
        """gt.txt is rebuilt from the sequence's parts alone (Writer.removed_parts): the parts
        of the finished frames of a sequence whose gt.txt exists must be there, and hold the
        boxes this run writes (one part per sequence is read: the first)."""
        for folder in sorted(p for p in (self.root / "parts").glob("*/*") if p.is_dir()):
            files = part_files(folder, ".json")
            try:
                part = json.loads(files[0].read_text(encoding="utf-8")) if files else None
            except (OSError, ValueError):
                part = None  # finalize() says what is wrong with it
            problem = self.other_boxes(files[0], part) if isinstance(part, dict) else None
            if problem:
                return f"{problem}; nothing was written (render anew with --overwrite, or into another folder)"
        for camera in sensors:
            expected: dict[tuple[str, str], list[int]] = {}
            for f, rec in sorted(finished.items()):
                clip = rec.get("clip") if clips else None
                expected.setdefault(self.sequence(f, clip, camera), []).append(f)
            for (split, seq), frames in sorted(expected.items()):
                gt = self.root / split / seq / "gt" / "gt.txt"
                if not gt.is_file():
                    continue
                folder = self.root / "parts" / split / seq
                have = {int(p.stem) for p in part_files(folder, ".json")}
                missing = [f for f in frames if f not in have]
                if missing:
                    of = f"{len(frames)} finished frame(s) of sequence {split}/{seq}"
                    return lost_pieces_message(self.name, folder, "parts", missing, of, gt, "parts")
        return None

    def finalize(self) -> None:
        """Join every part on disk into each sequence's gt.txt, labels.txt and seqinfo.ini,
        and list each split's sequences in seqmaps/<split>.txt."""
        parts_root = self.root / "parts"
        if not parts_root.is_dir():
            return
        for split in sorted(p for p in parts_root.iterdir() if p.is_dir()):
            sequences = []
            for folder in sorted(p for p in split.iterdir() if p.is_dir()):
                files = part_files(folder, ".json")
                if files:
                    self._join(split.name, folder.name, files)
                    sequences.append(folder.name)
            if sequences:
                io.write_text(
                    self.root / "seqmaps" / f"{split.name}.txt", "".join(f"{s}\n" for s in ["name", *sequences])
                )

    def _join(self, split: str, seq: str, files: list[Path]) -> None:
        categories = None if self.label_table is None else class_names(self.label_table, self.options["semantic_type"])
        source = "the run's label table"
        lines, numbers, sizes, fps = [], {}, set(), None
        for f in self.joining(files, f"joining the frames of {split}/{seq}"):
            part = json.loads(f.read_text(encoding="utf-8"))
            problem = self.other_boxes(f, part)
            if problem:
                raise ValueError(f"{problem} (render anew with --overwrite, or into another folder)")
            if categories is None:
                categories, source = part["categories"], f.as_posix()
            elif part["categories"] != categories:
                raise ValueError(
                    f"mot: {f.as_posix()} was written with classes {part['categories']}, but {source} has "
                    f"{categories}: the label set changed between runs into the same folder"
                )
            n = int(part["mot_frame"])
            if n in numbers:
                raise ValueError(f"mot: {f.as_posix()} and {numbers[n]} are both frame {n} of sequence {split}/{seq}")
            numbers[n] = f.as_posix()
            sizes.add((int(part["width"]), int(part["height"])))
            fps = part.get("fps") or fps
            for iid, left, top, w, h, cls, vis in part["rows"]:
                lines.append((n, iid, f"{n},{iid},{left},{top},{w},{h},1,{cls},{vis:.6g}\n"))
        if len(sizes) != 1:
            raise ValueError(f"mot: the frames of sequence {split}/{seq} have several image sizes {sorted(sizes)}")
        (width, height), rate = sizes.pop(), fps or DEFAULT_FPS
        folder = self.root / split / seq
        io.write_text(folder / "gt" / "labels.txt", "".join(f"{name}\n" for name in categories))
        io.write_text(folder / "gt" / "gt.txt", "".join(line for _n, _id, line in sorted(lines)))
        io.write_text(
            folder / "seqinfo.ini",
            "[Sequence]\n"
            f"name={seq}\n"
            f"imDir={IMAGE_FOLDER}\n"
            f"frameRate={mot_frame_rate(rate)}\n"
            f"seqLength={max(numbers)}\n"
            f"imWidth={width}\n"
            f"imHeight={height}\n"
            f"imExt={image_suffix(self.options)}\n",
        )
