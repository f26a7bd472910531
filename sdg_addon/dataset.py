"""A PyTorch-style Dataset over a BasicWriter output folder, for users who do not want to
write a loader. Needs numpy and Pillow only: no Blender, and torch is not imported (the
class has `__len__` and `__getitem__`, which is all `torch.utils.data.DataLoader` asks of a
map-style dataset; pass `transform` to turn items into tensors).

    from sdg_addon.dataset import BasicWriterDataset
    ds = BasicWriterDataset("out/default")
    item = ds[0]
    item["image"]   # (H, W, 3) uint8 RGB
    item["boxes"]   # (N, 4) float32 [x1, y1, x2, y2], pixel edges (torchvision's convention)
    item["labels"]  # (N,) int64 class index into ds.classes (0-based)
    item["masks"]   # (N, H, W) bool, the visible pixels of each box's object
    item["depth"]   # (H, W) float32 scene units (distance_to_image_plane), if written: metres
                    # unless a base .blend has another unit scale (x camera_params' metersPerSceneUnit)
    ds.classes      # class names in the run's stable order (audit/label_table.json; a folder
                    # copied without audit/: those its box labels name, in semantic-id order)

Samples are the rgb_<frame>.png files of the folder, of every camera sub-folder (several
cameras: <camera>/rgb/rgb_<frame>.png or <camera>/rgb_<frame>.png) and clip folders,
sorted by (clip, camera, frame). Boxes come from bounding_box_2d_tight (inclusive pixel
indices x_min .. x_max, so x2 = x_max + 1); masks from instance_segmentation, matched to
the boxes by prim path (colourised or raw ids). Items also carry "frame" (the file's
number: in a clip folder the frame within the clip), "camera" (the camera's sub-folder, ""
for none, a sequence's clip folder aside: "left" in clip_0003/left/, as in a run without
clips and in the report), "clip" (3 for clip_0003/; only items of clip folders have it),
"prim_paths", "occlusion" ((N,) occlusionRatio) and "camera_params" (the json) when
written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .writers.basic import CLIP_FOLDER, FRAME_FOLDER, is_rgb_annotator_folder
from .writers.paths import TOOL_FOLDERS

# Folders other writers (and the audit trail) own inside an output folder: not BasicWriter
# samples. No camera takes one of these names (the parameter file is refused).
OTHER_WRITERS = TOOL_FOLDERS
_RGB = re.compile(r"^rgb_(\d+)\.png$")


def _color_key_to_rgba(key: str) -> tuple[int, ...]:
    return tuple(int(v) for v in key.strip("()").split(","))


class BasicWriterDataset:
    """Map-style dataset over a BasicWriter folder (see the module doc)."""

    def __init__(self, root, semantic_type: str = "class", transform=None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"not a folder: {self.root}")
        self.transform = transform
        self.semantic_type = semantic_type
        table = self.root / "audit" / "label_table.json"
        values = json.loads(table.read_text(encoding="utf-8")) if table.is_file() else {}  # {type: [values]}
        self.classes: list[str] = list(values.get(semantic_type, []))
        # (sample folder, camera, frame, digits, clip): camera is the camera's sub-folder ("" for
        # none) below a sequence's clip folder, whose index is clip (None outside clip folders).
        self.samples: list[tuple[Path, str, int, str, int | None]] = []
        for rgb in sorted(self.root.rglob("rgb_*.png")):
            rel = rgb.relative_to(self.root)
            if rel.parts[0] in OTHER_WRITERS:
                continue
            m = _RGB.match(rgb.name)
            if m is None:
                continue
            folder = rgb.parent.parent if is_rgb_annotator_folder(rgb.parent) else rgb.parent
            # BasicWriter's frames_per_folder groups (frames_<first>) are not cameras.
            parts = [q for q in folder.relative_to(self.root).parts if not FRAME_FOLDER.match(q)]
            clip = int(parts.pop(0)[len("clip_") :]) if parts and CLIP_FOLDER.match(parts[0]) else None
            camera = "/".join(parts) or "."
            self.samples.append((folder, "" if camera == "." else camera, int(m.group(1)), m.group(1), clip))
        self.samples.sort(key=lambda s: (-1 if s[4] is None else s[4], s[1], s[2]))
        if semantic_type not in values:  # no audit/ (a folder copied without it)
            self.classes = self._classes_of_labels()

    def _classes_of_labels(self) -> list[str]:
        """The values of `semantic_type` that the samples' box labels name, in semantic-id
        order (2 + the value's place in the run's label table: the run's order, values no box
        shows left out), where audit/label_table.json has none (a folder copied without
        audit/). Read once here, so every item, DataLoader worker and order gives a class one
        index (numbered as items met them, a class had several with workers or shuffling, and
        the parent's classes stayed empty). A labels file that cannot be read is left to its
        item, which names it."""
        first_id: dict[str, int] = {}
        for folder, _camera, _frame, n, _clip in self.samples:
            path = self._file(folder, "bounding_box_2d_tight_labels", n, "json")
            try:
                labels = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
            except (OSError, ValueError):
                continue
            for sid, types in labels.items() if isinstance(labels, dict) else ():
                value = types.get(self.semantic_type) if isinstance(types, dict) else None
                if isinstance(value, str) and str(sid).isdigit():
                    first_id[value] = min(int(sid), first_id.get(value, int(sid)))
        return sorted(first_id, key=lambda v: (first_id[v], v))

    def __len__(self) -> int:
        return len(self.samples)

    def _file(self, folder: Path, name: str, digits: str, ext: str) -> Path | None:
        """<folder>/<name>_<n>.<ext> or <folder>/<annotator>/<name>_<n>.<ext> (Replicator's
        annotator sub-folders), the annotator being the file name's stem prefix."""
        for base in (folder, *(folder / a for a in _annotator_folders(name))):
            path = base / f"{name}_{digits}.{ext}"
            if path.is_file():
                return path
        return None

    def __getitem__(self, index: int) -> dict:
        folder, camera, frame, n, clip = self.samples[index]
        image = _read(self._file(folder, "rgb", n, "png"), "rgb")
        item: dict = {"frame": frame, "camera": camera, "image": image}
        if clip is not None:  # (no None in an item: DataLoader's default collate refuses it)
            item["clip"] = clip
        depth = self._file(folder, "distance_to_image_plane", n, "npy")
        if depth is not None:
            item["depth"] = _read(depth, "npy")
        params = self._file(folder, "camera_params", n, "json")
        if params is not None:
            item["camera_params"] = _read(params, "json")
        item.update(self._boxes(folder, n, image.shape[:2]))
        return self.transform(item) if self.transform is not None else item

    def _boxes(self, folder: Path, n: str, shape) -> dict:
        h, w = shape
        empty = {
            "boxes": np.zeros((0, 4), np.float32),
            "labels": np.zeros(0, np.int64),
            "masks": np.zeros((0, h, w), bool),
            "prim_paths": [],
            "occlusion": np.zeros(0, np.float32),
        }
        boxes_file = self._file(folder, "bounding_box_2d_tight", n, "npy")
        if boxes_file is None:
            return empty
        rows = _read(boxes_file, "npy")
        labels_file = self._file(folder, "bounding_box_2d_tight_labels", n, "json")
        paths_file = self._file(folder, "bounding_box_2d_tight_prim_paths", n, "json")
        id_labels = _read(labels_file, "json") if labels_file else {}
        paths = _read(paths_file, "json") if paths_file else [""] * len(rows)
        labels = []
        for row in rows:
            value = id_labels.get(str(int(row["semanticId"])), {}).get(self.semantic_type)
            labels.append(self.classes.index(value) if value in self.classes else -1)
        boxes = np.stack([rows["x_min"], rows["y_min"], rows["x_max"] + 1, rows["y_max"] + 1], axis=1).astype(
            np.float32
        )
        return {
            "boxes": boxes.reshape(-1, 4),
            "labels": np.array(labels, np.int64),
            "masks": self._masks(folder, n, paths, (h, w)),
            "prim_paths": list(paths),
            "occlusion": np.asarray(rows["occlusionRatio"], np.float32),
        }

    def _masks(self, folder: Path, n: str, paths: list[str], shape) -> np.ndarray:
        masks = np.zeros((len(paths), *shape), bool)
        mapping_file = self._file(folder, "instance_segmentation_mapping", n, "json")
        png = self._file(folder, "instance_segmentation", n, "png")
        npy = self._file(folder, "instance_segmentation", n, "npy")
        if mapping_file is None or (png is None and npy is None):
            return masks
        mapping = _read(mapping_file, "json")
        ids = _read(npy, "npy") if npy is not None else _read(png, "image")
        for k, path in enumerate(paths):
            for key, value in mapping.items():
                if value != path:
                    continue
                if ids.ndim == 3:  # colourised: the key is the colour "(r, g, b, a)"
                    colour = np.array(_color_key_to_rgba(key), dtype=ids.dtype)[: ids.shape[2]]
                    masks[k] |= np.all(ids == colour, axis=-1)
                else:
                    masks[k] |= ids == int(key)
        return masks


def _read(path: Path, kind: str):
    """A frame's file: "rgb" (an RGB array), "image" (its array as stored), "npy" or "json";
    one that cannot be read (cut short or damaged: a dataset copied in part) is a ValueError
    naming it, where the reader's own error (PIL's 'image file is truncated') names none."""
    try:
        if kind == "npy":
            return np.load(path, allow_pickle=False)
        if kind == "json":
            return json.loads(path.read_text(encoding="utf-8"))
        from PIL import Image

        with Image.open(path) as im:
            return np.array(im.convert("RGB") if kind == "rgb" else im)
    except (OSError, ValueError, EOFError, SyntaxError) as e:
        raise ValueError(f"cannot read {path}: {e}") from e


def _annotator_folders(name: str) -> list[str]:
    """Candidate annotator sub-folders of a file name stem ("bounding_box_2d_tight_labels"
    lives in "bounding_box_2d_tight"): every prefix ending at an underscore, longest first."""
    parts = name.split("_")
    return ["_".join(parts[:i]) for i in range(len(parts), 0, -1)]
