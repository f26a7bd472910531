"""WebDataset writer: tar shards of N frames, one sample per frame, that `webdataset`
(and any tar reader) streams as is, for training at scale.

    webdataset/<D>-000000.tar      the first N frames of dataset D (in frame order)
    webdataset/<D>-000001.tar      its next N frames ...
    webdataset/<D>.json            {"shards": [...], "frames": per shard, "url": brace pattern}
    webdataset/parts/<D>/<frame>.tar   one small tar per finished frame, joined by finalize()

D is the split ("train", or "val" with val_every), or <split>_<camera> with several
cameras. A sample's key is the frame number (6 digits); its files (webdataset groups
files by key, the part after the first dot is the field name):

    <key>.rgb.png              RGB image (<key>.rgb.jpg with image_format = "jpg")
    <key>.depth.npy            distance_to_image_plane, float32 scene units (inf = no surface):
                               metres unless a base .blend has another unit scale (every
                               length here is the annotations', in Blender units)
    <key>.instance.npy         instance ids, uint16 (uint32 above 65535): .npy, not PNG, since
                               webdataset's image decoders turn 16-bit PNGs into RGB
    <key>.semantic.npy         semantic ids, likewise
    <key>.<annotator>.npy      every other array annotation (normals, distance_to_camera...)
    <key>.<annotator>_<name>.npy  the image-sized arrays of its info (forward_flow_valid,
                               forward_flow_status) and a pointcloud's per-point arrays
                               (pointcloud_rgb, _normals, _semantic, _instance, _pixels),
                               named as the BasicWriter's files
    <key>.json                 frame, camera, the label table's classes and every other
                               annotation as JSON (boxes as lists of row dicts, id maps' labels;
                               NaN / infinite numbers as null; not object_pose's models)

Shards are rebuilt from the parts at the end of every run (also of each render shard and
resumed run), deterministically: members in frame order, mtime 0, owner 0, so the tar
bytes depend only on the frames. The parts stay (a later run's finalize needs them).
"""

from __future__ import annotations

import io as _io
import json
import math
import tarfile
from pathlib import Path

import numpy as np

from ..config.fields import Field
from ..frame import AnnotatedFrame
from . import io
from .base import Writer, part_files, register_writer
from .common import (
    IMAGE_FORMAT,
    JPEG_QUALITY,
    PNG_COMPRESS_LEVEL,
    VAL_EVERY,
    check_options,
    class_names,
    encoded_image,
    image_sized,
    image_suffix,
    safe_name,
    split_of,
)

RENAMED = {"distance_to_image_plane": "depth", "instance_segmentation": "instance", "semantic_segmentation": "semantic"}
# Info that is the same in every frame, not the frame's: object_pose's models (each label's
# mesh, megabytes of JSON a frame for a scanned asset) are left out, as the BasicWriter
# leaves them out; the bop writer writes each once as PLY.
PER_RUN_INFO = {"object_pose": ("models",)}


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _npy(array: np.ndarray) -> bytes:
    buf = _io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def to_json(value):
    """Annotation values as JSON data: structured arrays as lists of row dicts; NaN and
    infinities as null (JSON has no such numbers: strict parsers refuse Python's NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        if value.dtype.names:
            return [{k: to_json(row[k]) for k in value.dtype.names} for row in value]
        return to_json(value.tolist())
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.generic):
        return to_json(value.item())
    return value


def point_files() -> dict[str, str]:
    """A pointcloud's per-point info arrays -> the suffix of their .npy members (pointRgb ->
    pointcloud_rgb.npy ...): as JSON they were tens of bytes a point."""
    from ..annotators.pointcloud import POINT_FILES

    return POINT_FILES


@register_writer
class WebDatasetWriter(Writer):
    name = "webdataset"
    summary = "tar shards of N frames for WebDataset, one sample per frame"
    required_annotators = ("rgb",)
    OPTIONS = {
        "semantic_type": ("class", str, "label type whose values are the classes listed in each sample's json"),
        "split": ("train", str, "split name (shard file prefix)"),
        "val_every": VAL_EVERY,
        "frames_per_shard": Field(
            "frames_per_shard",
            "int",
            1000,
            "frames per tar shard: shard k holds the k-th N frames of its split and camera, in frame order",
            low=1,
        ),
        "png_compress_level": PNG_COMPRESS_LEVEL,
        "image_format": IMAGE_FORMAT,
        "jpeg_quality": JPEG_QUALITY,
    }

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        check_options(self.name, self.options)

    @property
    def root(self) -> Path:
        return self.output_dir / "webdataset"

    def dataset_name(self, frame_index: int, camera_name: str) -> str:
        split = split_of(frame_index, self.options)
        return f"{split}_{safe_name(camera_name)}" if self.several_cameras else split

    def sample_files(self, frame: AnnotatedFrame) -> dict[str, bytes]:
        """{field name: bytes} of one frame's sample (see the module doc)."""
        # webdataset decodes the image by the suffix of its name; the bytes are the other writers'.
        files = {f"rgb{image_suffix(self.options)}": encoded_image(frame, self.options)}
        meta = {
            "frame": int(frame.frame),
            "camera": frame.camera_name,
            "classes": class_names(frame.label_table, self.options["semantic_type"]),
        }
        for name, value in frame.annotations.items():
            if name == "rgb":
                continue
            field = RENAMED.get(name, name)
            data = value.get("data") if isinstance(value, dict) else value
            if isinstance(data, np.ndarray) and not data.dtype.names and data.ndim >= 2:
                if data.ndim == 2 and data.dtype.kind in "ui":
                    # Ids as .npy, not PNG: webdataset's image decoders turn a 16-bit PNG
                    # into RGB; .npy decodes exactly with any of them.
                    small = data.max(initial=0) <= 65535
                    files[f"{field}.npy"] = _npy(data.astype(np.uint16 if small else np.uint32))
                else:
                    files[f"{field}.npy"] = _npy(data)
                if isinstance(value, dict) and value.get("info"):
                    info = {k: v for k, v in value["info"].items() if k not in PER_RUN_INFO.get(name, ())}
                    points = point_files() if name == "pointcloud" else {}
                    for key, array in list(info.items()):
                        if image_sized(array, frame):  # a flow's valid / status masks
                            files[f"{field}_{key}.npy"] = _npy(array)
                            del info[key]
                        elif key in points and isinstance(array, np.ndarray):  # one row per point
                            files[f"{field}_{points[key]}.npy"] = _npy(array)
                            del info[key]
                    if info:
                        meta[field] = to_json(info)
            else:
                meta[field] = to_json(value)
        files["json"] = json.dumps(to_json(meta), default=to_json, allow_nan=False).encode("utf-8")
        return files

    def write(self, frame: AnnotatedFrame) -> None:
        ds = self.dataset_name(frame.frame, frame.camera_name)
        key = f"{frame.frame:06d}"
        buf = _io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for field, data in sorted(self.sample_files(frame).items()):
                tar.addfile(_tarinfo(f"{key}.{field}", len(data)), _io.BytesIO(data))
        io.write_bytes(self.root / "parts" / ds / f"{key}.tar", buf.getvalue())

    def joined_files(self) -> dict[str, Path]:
        """D -> its index D.json (the shards D-*.tar beside it)."""
        return {p.stem: p for p in sorted(self.root.glob("*.json"))} if self.root.is_dir() else {}

    def finalize(self) -> None:
        parts_root = self.root / "parts"
        if not parts_root.is_dir():
            return
        n = self.options["frames_per_shard"]
        for folder in sorted(p for p in parts_root.iterdir() if p.is_dir()):
            ds = folder.name
            frames = sorted(int(p.stem) for p in part_files(folder, ".tar"))
            index_path = self.root / f"{ds}.json"
            if index_path.is_file():
                # Shards are rebuilt from the parts alone: fewer parts than the shards hold
                # means parts were removed, and rebuilding would drop those frames.
                try:
                    before = sum(json.loads(index_path.read_text(encoding="utf-8"))["frames"])
                except (OSError, ValueError, KeyError, TypeError):
                    before = 0
                if before > len(frames):
                    raise ValueError(
                        f"webdataset: {index_path.as_posix()} lists {before} frames but "
                        f"{folder.as_posix()} holds {len(frames)} parts: parts were removed, and the "
                        "shards are rebuilt from the parts alone; the shards were left as they are "
                        "(keep parts/ until the dataset is complete, or render anew with --overwrite)"
                    )
            # Consecutive runs of N of this dataset's frames: shard names without gaps (the
            # brace url names every shard that exists) and N frames per shard whatever
            # val_every leaves to the dataset.
            shards = {k: frames[k * n : k * n + n] for k in range((len(frames) + n - 1) // n)}
            names = []
            for k, members in self.joining(sorted(shards.items()), f"writing the shards of {ds}"):
                name = f"{ds}-{k:06d}.tar"
                names.append(name)
                # Streamed to a temporary name, renamed when complete (memory stays flat).
                with io.atomic_stream(self.root / name) as fh:
                    with tarfile.open(fileobj=fh, mode="w", format=tarfile.USTAR_FORMAT) as out:
                        for f in members:
                            with tarfile.open(folder / f"{f:06d}.tar") as part:
                                for member in part.getmembers():
                                    data = part.extractfile(member).read()
                                    out.addfile(_tarinfo(member.name, len(data)), _io.BytesIO(data))
            first, last = min(shards), max(shards)
            index = {
                "shards": names,
                "frames": [len(shards[k]) for k in sorted(shards)],
                "url": f"{ds}-{{{first:06d}..{last:06d}}}.tar",
                "frames_per_shard": n,
            }
            io.write_json(self.root / f"{ds}.json", index, indent=1)
