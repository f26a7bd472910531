"""What the dataset writers (COCO, KITTI, YOLO) share: the labelled objects of a frame with
their class index, splits, file names and the image they copy.

Class indices come from the run's LabelTable (parameter-file order, then other labels of
the scene sorted), never from the order in which frames saw them: index k (0-based) is the
label table's k-th value of the writer's semantic_type; COCO category id = k + 1, YOLO
class = k, and k = semantic id - 2 of the annotators (ids 0 and 1 are reserved).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config.fields import Field, option_default
from ..config.problems import OptionError
from ..frame import AnnotatedFrame, LabelTable
from . import io
from .base import WRITERS
from .paths import is_safe_name, safe_name  # noqa: F401  (writers import safe_name from here too)

# Options every dataset writer accepts.
# Options declared with bounds are checked by value when the parameter file is validated.
PNG_COMPRESS_LEVEL = Field("png_compress_level", "int", 1, "0 (fastest) .. 9 (smallest)", low=0, high=9)


def frame_padding(default: int) -> Field:
    return Field("frame_padding", "int", default, "digits of the frame number in file names", low=1, high=12)


VAL_EVERY = Field("val_every", "int", 0, "if N > 0, frames with frame % N == 0 go to the 'val' split instead", low=0)
IMAGE_FORMAT = Field(
    "image_format",
    "choice",
    "png",
    'the images\' format: "png" (lossless) or "jpg" (JPEG at `jpeg_quality`, 4:2:0 chroma, as '
    "BlenderProc's and BOP's `*_pbr` images; smaller, with JPEG's loss; needs Pillow)",
    choices=("png", "jpg"),
    fold_case=True,  # BlenderProc's color_file_format is "PNG" / "JPEG"
)
JPEG_QUALITY = Field(
    "jpeg_quality", "int", 95, 'JPEG quality of image_format = "jpg" (Pillow\'s scale)', low=1, high=100
)

COMMON_OPTIONS = {
    "semantic_type": ("class", str, "label type whose values are the classes (as the annotators')"),
    "split": ("train", str, "split name of the frames (folder / list name)"),
    "val_every": VAL_EVERY,
    "frame_padding": frame_padding(6),
    "png_compress_level": PNG_COMPRESS_LEVEL,
    "image_format": IMAGE_FORMAT,
    "jpeg_quality": JPEG_QUALITY,
}


@dataclass
class LabelledObject:
    instance_id: int
    class_index: int  # 0-based position in the label table's values of semantic_type
    label: str
    box: tuple[int, int, int, int]  # inclusive pixel indices x_min, y_min, x_max, y_max
    path: str
    row: int  # row in the bounding_box_2d_tight array
    occlusion: float
    truncation: float | None
    full_box: tuple[int, int, int, int] | None = None  # box not clipped to the image (info bboxesFull)


def class_names(label_table: LabelTable, semantic_type: str) -> list[str]:
    return list(label_table.values.get(semantic_type, []))


def labelled_objects(
    frame: AnnotatedFrame, semantic_type: str, writer: str, boxes: str = "bounding_box_2d_tight"
) -> list[LabelledObject]:
    """The objects with a row in this frame's 2D boxes (`boxes`: the tight ones, or
    bounding_box_2d_loose's), sorted by instance id (worked out once per frame, semantic
    type and box annotator for all writers; treat them as read-only)."""
    value = frame.annotations.get(boxes)
    if value is None:
        raise ValueError(f"writer {writer!r} needs the {boxes} annotation (frame {frame.frame})")
    key = ("labelled_objects", semantic_type, boxes)
    cached = frame.cache.get(key)
    if cached is not None:
        return list(cached)
    data, info = value["data"], value["info"]
    names = class_names(frame.label_table, semantic_type)
    id_to_labels = info.get("idToLabels", {})
    truncation = info.get("truncationRatio")
    paths = info.get("primPaths", [])
    full = info.get("bboxesFull")
    # Whole columns as Python lists: one conversion each instead of a field read per row.
    columns = {f: data[f].tolist() for f in ("semanticId", "x_min", "y_min", "x_max", "y_max", "occlusionRatio")}
    out = []
    for k, iid in enumerate(info["bboxIds"][: len(data)]):
        sid = int(columns["semanticId"][k])
        labels = id_to_labels.get(sid, id_to_labels.get(str(sid), {}))
        if semantic_type not in labels:
            raise ValueError(
                f"writer {writer!r}: {boxes} row of instance {iid} has labels {labels}, "
                f"not of type {semantic_type!r}: give the annotators and the writer the same semantic_type"
            )
        label = labels[semantic_type]
        if label not in names:
            raise ValueError(
                f"writer {writer!r}: label {semantic_type}:{label!r} is not in the run's label table {names}"
            )
        out.append(
            LabelledObject(
                instance_id=int(iid),
                class_index=names.index(label),
                label=label,
                box=tuple(int(columns[f][k]) for f in ("x_min", "y_min", "x_max", "y_max")),
                path=paths[k] if k < len(paths) else "",
                row=k,
                occlusion=float(columns["occlusionRatio"][k]),
                truncation=float(truncation[k]) if truncation is not None and k < len(truncation) else None,
                full_box=tuple(int(v) for v in full[k]) if full is not None and k < len(full) else None,
            )
        )
    out.sort(key=lambda o: o.instance_id)
    frame.cache[key] = tuple(out)
    return out


def instance_mask(frame: AnnotatedFrame, instance_id: int | None) -> np.ndarray:
    """The object's (H, W) bool mask; with instance_id None the instance id map itself."""
    value = frame.annotations.get("instance_segmentation")
    if value is None:
        raise ValueError(f"frame {frame.frame}: the instance_segmentation annotation is missing")
    data = value["data"] if isinstance(value, dict) else value
    return data if instance_id is None else data == instance_id


def image_sized(value, frame: AnnotatedFrame) -> bool:
    """An (H, W, ...) array of the frame's image size (a flow's valid and status masks in
    its info): an array of its own beside the annotation's, never JSON (a flow's H x W
    valid mask as JSON was over 5 bytes a pixel, megabytes a frame to parse)."""
    image = (int(frame.camera.height), int(frame.camera.width))
    return isinstance(value, np.ndarray) and not value.dtype.names and value.shape[:2] == image


# BOP's split folders are `<split>_<type>` (bop_toolkit's get_split_params: split "train",
# split_type "pbr" -> train_pbr, as BlenderProc writes; val_pbr for a synthetic val split).
BOP_TYPED_SPLIT = re.compile(r"(?:train|val|test)_(.+)")


def val_split(writer: str, options: dict) -> str:
    """The split val_every's frames go to: "val"; for bop, a split named as BOP's typed
    folders ("train_pbr") gives the val split of that type ("val_pbr"), as bop_toolkit reads
    split "val" of split_type "pbr"."""
    if writer == "bop" and (typed := BOP_TYPED_SPLIT.fullmatch(str(options.get("split", "")))):
        return f"val_{typed[1]}"
    return "val"


def split_of(frame_index: int, options: dict, val: str = "val") -> str:
    """The split of a frame: `val` (val_split's) for frames val_every picks, else `split`."""
    n = options.get("val_every", 0)
    return val if n and n > 0 and frame_index % n == 0 else options["split"]


def rgb_image(frame: AnnotatedFrame, keep_alpha: bool = False) -> np.ndarray:
    rgb = frame.annotations.get("rgb")
    if rgb is None:
        raise ValueError(f"frame {frame.frame}: the rgb annotation is missing")
    rgb = np.asarray(rgb)
    if rgb.ndim == 3 and rgb.shape[2] == 4 and not keep_alpha:
        rgb = rgb[..., :3]
    return rgb


def image_suffix(options: dict) -> str:
    """The suffix of the images a writer with these options writes: ".png" or ".jpg"."""
    return "." + options.get("image_format", "png")


def encoded_image(frame: AnnotatedFrame, options: dict, keep_alpha: bool = False) -> bytes:
    """The frame's RGB(A) as the file image_suffix(options) names (PNG, or JPEG where
    image_format is "jpg"), encoded once per frame for every writer asking."""
    if options.get("image_format", "png") == "jpg":
        key = ("jpg", options["jpeg_quality"])
        if key not in frame.cache:
            frame.cache[key] = encode_jpeg(rgb_image(frame), options["jpeg_quality"])
        return frame.cache[key]
    from .png import encode_png

    key = ("png", keep_alpha, options["png_compress_level"])
    if key not in frame.cache:
        frame.cache[key] = encode_png(rgb_image(frame, keep_alpha), options["png_compress_level"])
    return frame.cache[key]


def write_image(stem, frame: AnnotatedFrame, options: dict, keep_alpha: bool = False) -> str:
    """Write encoded_image at `stem` + image_suffix(options); returns the file's name."""
    path = Path(f"{stem}{image_suffix(options)}")
    io.write_bytes(path, encoded_image(frame, options, keep_alpha))
    return path.name


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """(H, W, 3) uint8 -> JPEG bytes (Pillow: baseline, its default 4:2:0 chroma, no
    optimisation: the same bytes for the same image, run after run)."""
    import io as bytes_io

    from PIL import Image

    buffer = bytes_io.BytesIO()
    mode = "L" if rgb.ndim == 2 else "RGB"
    Image.fromarray(np.ascontiguousarray(rgb), mode).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def has_pillow() -> bool:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def check_options(name: str, options: dict, folders: tuple[str, ...] = ()) -> None:
    """Refuse a split that is no plain name, or that names one of the writer's own `folders`
    beside its splits' (case aside, as Windows' and macOS' file systems compare names), and
    JPEG images where they cannot be written (no Pillow; an alpha channel)."""
    if options.get("image_format") == "jpg":
        if options.get("keep_alpha"):
            expected = 'false with image_format = "jpg": JPEG has no alpha channel; image_format = "png" keeps it'
            raise OptionError(
                f'writer {name!r}: keep_alpha = true with image_format = "jpg": JPEG has no alpha channel; '
                'image_format = "png" keeps it',
                "keep_alpha",
                True,
                expected,
            )
        if not has_pillow():
            expected = (
                'a format this Python can write: "jpg" encodes with Pillow, which this Python does not have '
                '(Blender\'s own Python lacks it): pip install pillow into it, or image_format = "png"'
            )
            raise OptionError(
                f'writer {name!r}: image_format = "jpg" encodes with Pillow, which this Python does not have '
                '(Blender\'s own Python lacks it): pip install pillow into it, or image_format = "png"',
                "image_format",
                "jpg",
                expected,
            )
    split = options["split"]
    if not is_safe_name(split):
        expected = (
            "a plain name (ASCII letters, digits, ._-; not starting with . or -, at most 80 characters, "
            "not a reserved device name such as CON, NUL or COM1)"
        )
        raise OptionError(f"writer {name!r}: split {split!r} must be {expected}", "split", split, expected)
    if split.lower() in folders:
        own = ", ".join(f"{f}/" for f in folders)
        raise OptionError(
            f"writer {name!r}: split {split!r} is the name of the writer's own folder "
            f"{name}/{split.lower()}/ ({own} are the writer's): the split's files "
            "would land in it, among the files kept there; name the split otherwise",
            "split",
            split,
            f"a name other than the writer's own folders ({own}, case aside): the split's files would land in "
            f"{name}/{split.lower()}/, among the files kept there",
        )
    val = val_split(name, options)
    if options.get("val_every", 0) > 0 and split != val and split.lower() == val.lower():
        raise OptionError(
            f"writer {name!r}: split {split!r} with val_every = {options['val_every']} differs from the {val!r} "
            "split only in case: on Windows' and macOS' file systems the two splits' folders and files are one (one "
            f"split's annotation file replacing the other's); name the split otherwise, or {val!r}",
            "split",
            split,
            f"a name that is not {val!r} in another case (val_every = {options['val_every']}): on Windows' and "
            f"macOS' file systems the two splits' folders and files are one; name the split otherwise, or {val!r}",
        )


def writer_splits(name: str, options: dict | None) -> tuple[str, str]:
    """(split, the split val_every's frames go to) of a writer's options as the file gives
    them (split at the writer's default where not given)."""
    options = options or {}
    spec = WRITERS[name].OPTIONS.get("split") if name in WRITERS else None
    split = options.get("split", option_default(spec) if spec is not None else "train")
    return split, val_split(name, {**options, "split": split})


# Writers whose files of several cameras are named `<split>_<camera>` (a json, a folder, shards).
SPLIT_CAMERA_NAMED = ("coco", "bop", "webdataset")


def split_camera_clash(options: dict, cameras: list[str], writer: str = "") -> str | None:
    """What is wrong when, with val_every, `<split>_<camera>` of one camera is `val_<camera>`
    of another (split "val_a", cameras "b" and "a_b": both val_a_b), so one json / folder /
    set of shards would hold two cameras' frames of two splits; case aside, as Windows' and
    macOS' file systems compare names. None otherwise."""
    if options.get("val_every", 0) <= 0 or len(cameras) < 2:
        return None
    split, val = writer_splits(writer, options)
    names = [safe_name(c) for c in cameras]
    for a, first in zip(cameras, names):
        for b, second in zip(cameras, names):
            if a != b and f"{split}_{first}".casefold() == f"{val}_{second}".casefold():
                return (
                    f"a split whose name with a camera's is not the val split's with another camera's: split "
                    f"{split!r} of camera {a!r} and {val} (val_every) of camera {b!r} are both named "
                    f"'{split}_{first}' (one file and folder holding both cameras' frames of both splits); "
                    "name the split or a camera otherwise"
                )
    return None


def atomic_text(path):
    """Stream a text file to a temporary name next to `path`, renamed into place at the end
    (as writers.io does for whole files): the final name only ever holds a complete file."""
    return io.atomic_stream(path, binary=False)
