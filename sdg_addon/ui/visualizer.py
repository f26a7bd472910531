"""The last recorded frame in Blender's Image Editor: RGB with its 2D boxes and keypoints,
instance and semantic masks, and depth (colourised), one row per camera; 3D boxes and LiDAR
points are said to be in the headless preview.

Made with numpy and Blender's own image loading (Blender's Python has no Pillow); the
image lives in the session only (bpy.data.images "SDG Last Frame"), nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..colormaps import colorize_depth
from ..writers.basic import CLIP_FOLDER, FRAME_FOLDER, is_rgb_annotator_folder
from ..writers.palette import id_colors
from ..writers.paths import TOOL_FOLDERS

IMAGE_NAME = "SDG Last Frame"
GAP = 2  # pixels between tiles
BOX_COLOR = np.array([1.0, 0.85, 0.1, 1.0])
KEYPOINT_COLOR = np.array([0.1, 0.95, 1.0, 1.0])
HALO_COLOR = np.array([0.0, 0.0, 0.0, 1.0])  # under keypoints, so they show over any colour


def find(folder: Path, name: str, suffix: str, ext: str) -> Path | None:
    """An annotator's file of a frame: in the camera folder, or in its annotator folder
    inside it (Replicator's <camera>/<annotator>/ layout)."""
    for candidate in (folder / f"{name}_{suffix}.{ext}", folder / name / f"{name}_{suffix}.{ext}"):
        if candidate.is_file():
            return candidate
    return None


def rgb_files(folder: Path) -> list[Path]:
    """The folder's rgb frames: its own, or its rgb annotator folder's (Replicator's
    <camera>/rgb/), not those of a camera named "rgb" beside others in the flat layout
    (annotator_subfolders = false), which is a camera of its own."""
    annotator = folder / "rgb"
    return [*folder.glob("rgb_*.png"), *(annotator.glob("rgb_*.png") if is_rgb_annotator_folder(annotator) else ())]


def _sub_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


def frame_places(output: Path) -> list[tuple[tuple[int, int], str, Path]]:
    """Every frame the BasicWriter wrote in `output`: ((clip, frame number), the number as
    written, the folder holding its files), in camera order. Camera folders may sit in clip
    folders (sequences: clip_N/<camera>/, numbered within the clip; clip -1 otherwise) and
    hold frames_N folders (frames_per_folder)."""
    clips = [(-1, output)]
    clips += [(int(d.name.split("_")[1]), d) for d in _sub_folders(output) if CLIP_FOLDER.match(d.name)]
    out = []
    for clip, base in clips:
        cams = [base] + [
            d
            for d in _sub_folders(base)
            if not (CLIP_FOLDER.match(d.name) or FRAME_FOLDER.match(d.name) or d.name in TOOL_FOLDERS)
        ]
        for cam in cams:
            for group in [cam] + [d for d in _sub_folders(cam) if FRAME_FOLDER.match(d.name)]:
                for p in rgb_files(group):
                    suffix = p.stem[len("rgb_") :]
                    if suffix.isdigit():
                        out.append(((clip, int(suffix)), suffix, group))
    return out


def last_frame_folders(output: Path, wanted: tuple[int, int] | None = None) -> tuple[list[Path], str]:
    """The folders holding the run's last frame (one per camera), or the frame `wanted`
    ((clip, frame) as frame_places numbers it) where it was written, and its number as written."""
    places = frame_places(output)
    if not places:
        raise FileNotFoundError(
            f"{output} holds no rgb_*.png of the basic writer: Show Last Frame needs the rgb annotator and "
            "the basic writer"
        )
    keys = {key for key, _suffix, _folder in places}
    last = tuple(wanted) if wanted is not None and tuple(wanted) in keys else max(keys)
    found = [(suffix, folder) for key, suffix, folder in places if key == last]
    return [folder for _suffix, folder in found], found[0][0]


def load_png(path: Path | None) -> np.ndarray | None:
    """(H, W, 4) float RGBA, row 0 at the top, read by Blender; None if absent."""
    if path is None or not path.is_file():
        return None
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        w, h = image.size
        pixels = np.empty(w * h * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return pixels.reshape(h, w, 4)[::-1]


def png_is_grey(path: Path) -> bool:
    """Whether a PNG is a grey one (colour type 0 in its IHDR): a raw id map."""
    with open(path, "rb") as f:
        head = f.read(26)
    return len(head) == 26 and head[25] == 0


def load_ids(path: Path) -> np.ndarray:
    """A raw id map (colorize_* = false): a 16-bit grey PNG, read by Blender as Non-Color
    data (id / 65535, exactly), or a .npy (ids above 65535)."""
    if path.suffix == ".npy":
        ids = np.load(path, allow_pickle=False)
        return ids[..., 0] if ids.ndim == 3 else ids
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        image.colorspace_settings.name = "Non-Color"
        w, h = image.size
        pixels = np.empty(w * h * 4, dtype=np.float32)
        image.pixels.foreach_get(pixels)
    finally:
        bpy.data.images.remove(image)
    return np.rint(pixels.reshape(h, w, 4)[::-1, :, 0] * 65535).astype(np.uint32)


def load_mask(folder: Path, name: str, suffix: str) -> np.ndarray | None:
    """(H, W, 4) float RGBA of a segmentation: a colourised map as it is, a raw id map in
    the colours the writer gives those ids when it colourises (writers.palette)."""
    png = find(folder, name, suffix, "png")
    if png is not None and not png_is_grey(png):
        return load_png(png)
    raw = png if png is not None else find(folder, name, suffix, "npy")
    if raw is None:
        return None
    return id_colors(load_ids(raw)).astype(np.float32) / 255.0


def draw_boxes(rgb: np.ndarray, boxes: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    for b in boxes:
        x0, x1 = int(np.clip(b["x_min"], 0, w - 1)), int(np.clip(b["x_max"], 0, w - 1))
        y0, y1 = int(np.clip(b["y_min"], 0, h - 1)), int(np.clip(b["y_max"], 0, h - 1))
        rgb[y0, x0 : x1 + 1] = rgb[y1, x0 : x1 + 1] = BOX_COLOR
        rgb[y0 : y1 + 1, x0] = rgb[y0 : y1 + 1, x1] = BOX_COLOR


def draw_keypoints(rgb: np.ndarray, rows: np.ndarray) -> None:
    """Each keypoint in the image (visibility 2: seen, 1: hidden, 0: outside, not drawn) as a
    3 x 3 dot over a dark 5 x 5 halo at its pixel (pixel i spans i..i+1), a hidden one as a
    ring (its centre dark)."""
    h, w = rgb.shape[:2]
    if rows.dtype.names is None or not {"x", "y", "visibility"} <= set(rows.dtype.names):
        return  # not the keypoints annotator's rows (a dataset made elsewhere)
    for r in rows:
        x, y, v = float(r["x"]), float(r["y"]), int(r["visibility"])
        if v == 0 or not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < w and 0 <= y < h):
            continue
        i, j = int(y), int(x)
        rgb[max(i - 2, 0) : i + 3, max(j - 2, 0) : j + 3] = HALO_COLOR
        rgb[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2] = KEYPOINT_COLOR
        if v == 1:
            rgb[i, j] = HALO_COLOR


def not_drawn(folder: Path, suffix: str, output: Path) -> list[str]:
    """What the frame has that the picture leaves out (the headless preview draws them): 3D
    boxes, and LiDAR scans (<lidar>/lidar/ beside the camera's files or its folder)."""
    out = []
    if find(folder, "bounding_box_3d", suffix, "npy") is not None:
        out.append("3D boxes")
    roots = [folder] + ([folder.parent] if folder != output else [])
    if any(any(root.glob(f"*/lidar/lidar_{suffix}.npy")) for root in roots):
        out.append("LiDAR points")
    return out


def camera_row(folder: Path, suffix: str) -> np.ndarray:
    """RGB + boxes + keypoints | instance | semantic | depth, side by side (missing ones stay dark)."""
    rgb = load_png(find(folder, "rgb", suffix, "png"))
    h, w = rgb.shape[:2]
    rgb[..., 3] = 1.0
    boxes_file = find(folder, "bounding_box_2d_tight", suffix, "npy")
    if boxes_file is not None:
        draw_boxes(rgb, np.load(boxes_file, allow_pickle=False))
    keypoints_file = find(folder, "keypoints", suffix, "npy")
    if keypoints_file is not None:
        draw_keypoints(rgb, np.load(keypoints_file, allow_pickle=False))
    tiles = [rgb]
    for name in ("instance_segmentation", "semantic_segmentation"):
        mask = load_mask(folder, name, suffix)
        tiles.append(mask if mask is not None and mask.shape[:2] == (h, w) else np.zeros((h, w, 4), np.float32))
        tiles[-1][..., 3] = 1.0
    depth_file = find(folder, "distance_to_image_plane", suffix, "npy")
    depth = np.zeros((h, w, 4), np.float32)
    if depth_file is not None:
        # The panel is a byte (sRGB) image: levels / 255 are stored and shown as they are.
        depth[..., :3] = colorize_depth(np.load(depth_file, allow_pickle=False)) / 255.0
    depth[..., 3] = 1.0
    tiles.append(depth)
    row = np.zeros((h, len(tiles) * w + (len(tiles) - 1) * GAP, 4), np.float32)
    for i, tile in enumerate(tiles):
        row[:, i * (w + GAP) : i * (w + GAP) + w] = tile
    return row


def frame_image(output: Path, wanted: tuple[int, int] | None = None) -> tuple[bpy.types.Image, str]:
    """The last frame of `output` (or the frame `wanted`, see last_frame_folders) as one
    Blender image; returns (image, frame suffix)."""
    image, suffix, _left_out = frame_picture(output, wanted)
    return image, suffix


def frame_picture(output: Path, wanted: tuple[int, int] | None = None) -> tuple[bpy.types.Image, str, list[str]]:
    """frame_image, and what the frame has that it does not draw (3D boxes, LiDAR points)."""
    folders, suffix = last_frame_folders(output, wanted)
    left_out = list(dict.fromkeys(what for f in folders for what in not_drawn(f, suffix, output)))
    rows = [camera_row(f, suffix) for f in folders]
    width = max(r.shape[1] for r in rows)
    panel = np.zeros((sum(r.shape[0] for r in rows) + GAP * (len(rows) - 1), width, 4), np.float32)
    y = 0
    for r in rows:
        panel[y : y + r.shape[0], : r.shape[1]] = r
        y += r.shape[0] + GAP
    image = bpy.data.images.get(IMAGE_NAME)
    if image is not None:
        bpy.data.images.remove(image)
    h, w = panel.shape[:2]
    image = bpy.data.images.new(IMAGE_NAME, w, h, alpha=True)
    image.pixels.foreach_set(np.ascontiguousarray(panel[::-1]).ravel())
    return image, suffix, left_out


def show_in_image_editor(context, image) -> bool:
    """Show `image` in an Image Editor of the window (a new window when there is none)."""
    screen = getattr(context, "screen", None)
    if screen is None or getattr(context, "window", None) is None:  # background: no UI
        return False
    area = next((a for a in screen.areas if a.type == "IMAGE_EDITOR"), None)
    if area is None:
        try:
            bpy.ops.wm.window_new()
        except RuntimeError:
            return False
        area = context.window_manager.windows[-1].screen.areas[0]
        area.type = "IMAGE_EDITOR"
    area.spaces.active.image = image
    return True


def has_frames(job) -> bool:
    """The job's output holds frames of its run: written now, or finished before (Resume)."""
    result = job.recorder.result
    return bool(result.frames_written or result.frames_skipped)


class SDG_OT_show_frame(bpy.types.Operator):
    """Open the last recorded frame (RGB with boxes and keypoints, instance and semantic masks, depth) in an Image Editor"""

    bl_idname = "sdg.show_frame"
    bl_label = "Show Last Frame"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        from . import job as jobs

        job = jobs.current
        if job is None or job.running:
            return False
        if not has_frames(job):
            cls.poll_message_set("The last recording has no frame (it ended before its first)")
            return False
        return True

    def execute(self, context):
        from . import job as jobs

        output = jobs.current.options.output
        try:
            image, suffix, left_out = frame_picture(output, jobs.current.shown_frame)
        except (FileNotFoundError, OSError, ValueError) as e:
            self.report({"ERROR"}, f"Show Last Frame: {e}")
            return {"CANCELLED"}
        shown = show_in_image_editor(context, image)
        where = "in the Image Editor" if shown else f"as the image {IMAGE_NAME!r}"
        text = f"Frame {suffix} of {output} {where}: RGB + boxes + keypoints | instances | semantics | depth"
        if left_out:  # the headless preview has tiles for them (docs/visualize.md)
            text += f"; not drawn here: {' and '.join(left_out)} (python -m headless preview {output} draws them)"
        self.report({"INFO"}, text)
        return {"FINISHED"}


CLASSES = (SDG_OT_show_frame,)
