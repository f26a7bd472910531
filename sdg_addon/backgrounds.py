"""Photos behind the render (the `background` randomizer): decode, fit, crop, composite (no bpy).

A frame carries what was drawn for each camera (PhotoDraw: file, size, fit, offset) to where
its RGB image is made (FrameData.rgb, in the writers' worker process), which decodes the
photo with Pillow, fits it to the camera once per photo and camera size, keeping a few
fitted photos per process (PhotoCache, bounded: a folder of thousands is never held at
once), cuts the frame's part out and pastes it behind the render with the render's alpha
(composite): on the 8-bit display image, before the augmentations. Masks, depth and boxes
come from the same render untouched. Where Pillow is missing (Blender's own Python: the
extension, `blender -b -P`), only Blender can decode, and bpy is only for the main thread:
there the render loop decodes (capture.photos) and the frame carries the cut-out photo.
Both decoders give the same bytes (tests/test_backgrounds_bpy.py).
"""

from __future__ import annotations

import importlib.util
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import numpy as np

# Fitted photos kept per process that decodes (each the size of a camera's image, or a
# little larger with `cover`): a folder larger than this is decoded again when a photo returns.
PHOTO_CACHE_SIZE = 8


def fitted_size(photo_w: int, photo_h: int, width: int, height: int, fit: str) -> tuple[int, int]:
    """(width, height) the photo is resampled to before the frame is cut out of it: the
    frame's own with `stretch`; with `cover` / `center` the photo's aspect scaled to cover
    the frame, so one side equals the frame's and the other is at least the frame's."""
    if fit == "stretch":
        return width, height
    scale = max(width / photo_w, height / photo_h)
    return max(width, round(photo_w * scale)), max(height, round(photo_h * scale))


def crop_origin(fitted_w: int, fitted_h: int, width: int, height: int, fit: str, offset=None) -> tuple[int, int]:
    """Top-left pixel (x, y) of the frame in the fitted photo. `cover` places it by the
    sampled `offset` (two fractions in [0, 1), x then y: floor(u * (slack + 1)), every
    position equally likely); `center` in the middle (the extra pixel of an odd slack on the
    right / bottom); `stretch` has no slack."""
    slack_x, slack_y = fitted_w - width, fitted_h - height
    if fit == "cover" and offset is not None:
        return (
            min(slack_x, math.floor(float(offset[0]) * (slack_x + 1))),
            min(slack_y, math.floor(float(offset[1]) * (slack_y + 1))),
        )
    return slack_x // 2, slack_y // 2


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Resampling taps of one axis: (indices (n_out, taps), weights (n_out, taps)).

    Shrinking averages the area each output pixel covers (input pixels weighted by their
    overlap: an integer factor averages whole blocks); enlarging interpolates linearly
    between the two nearest pixel centres (edges repeated)."""
    i = np.arange(n_out, dtype=np.float64)
    f = n_in / n_out
    if f > 1:
        start, end = i * f, (i + 1) * f
        taps = math.ceil(f) + 1
        j = np.floor(start).astype(np.intp)[:, None] + np.arange(taps)
        overlap = np.clip(np.minimum(j + 1, end[:, None]) - np.maximum(j, start[:, None]), 0.0, None)
        return np.minimum(j, n_in - 1), overlap / overlap.sum(axis=1, keepdims=True)
    centre = np.clip((i + 0.5) * f - 0.5, 0.0, n_in - 1)
    j0 = np.floor(centre).astype(np.intp)
    t = centre - j0
    j = np.stack([j0, np.minimum(j0 + 1, n_in - 1)], axis=1)
    return j, np.stack([1.0 - t, t], axis=1)


def resample(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """(h, w, C) uint8 -> (height, width, C) uint8 (_axis_weights on each axis, rows first;
    rounded half up). The same size comes back as it is."""
    h, w, c = image.shape
    if (w, h) == (width, height):
        return image
    # Each pass sums weight * value over the taps, in float32, tap by tap in order (the
    # rounding of every sum is part of the output bytes). Rows of (w * C) values: the
    # columns pass gathers flat indices along a row (2-3x faster than gathering pixels).
    out = image.reshape(h, w * c)  # uint8 until the first pass (a large photo is not copied as float first)
    if height != h:
        idx, wt = _axis_weights(h, height)
        rows = out
        out = _weighted_taps(lambda t: rows[idx[:, t]], wt.T[:, :, None])
    if width != w:
        idx, wt = _axis_weights(w, width)
        flat = (idx.T[:, :, None] * c + np.arange(c)).reshape(idx.shape[1], width * c)
        cols = out
        out = _weighted_taps(lambda t: np.take(cols, flat[t], axis=1), np.repeat(wt.T, c, axis=1))
    out = np.asarray(out, np.float32).reshape(height, width, c)
    return np.floor(np.clip(out, 0.0, 255.0) + np.float32(0.5)).astype(np.uint8)


def _weighted_taps(tap, weights: np.ndarray) -> np.ndarray:
    """sum over t of weights[t] * tap(t), in float32, added in order of t (in place)."""
    weights = weights.astype(np.float32)
    acc = np.multiply(tap(0), weights[0], dtype=np.float32)
    product = np.empty_like(acc)
    for t in range(1, len(weights)):
        np.multiply(tap(t), weights[t], out=product, dtype=np.float32)
        acc += product
    return acc


def fit_photo(photo: np.ndarray, width: int, height: int, fit: str) -> np.ndarray:
    """The photo (h, w, 3) uint8 resampled to fitted_size (before the frame is cut out)."""
    h, w = photo.shape[:2]
    return resample(photo, *fitted_size(w, h, width, height, fit))


def cut_out(fitted: np.ndarray, width: int, height: int, fit: str, offset=None) -> np.ndarray:
    """The frame's (height, width, 3) uint8 part of a fitted photo (a contiguous copy)."""
    x, y = crop_origin(fitted.shape[1], fitted.shape[0], width, height, fit, offset)
    return np.ascontiguousarray(fitted[y : y + height, x : x + width])


def composite(rgba8: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """The render (H, W, 4) uint8, straight alpha, over the photo (H, W, 3) uint8:
    out = (a * fg + (255 - a) * bg + 127) // 255 per channel (a * fg + (1 - a) * bg in
    integers, rounded to nearest, halves up); alpha 255 (the photo is opaque)."""
    a = rgba8[..., 3:4].astype(np.uint32)
    mixed = a * rgba8[..., :3] + (255 - a) * photo.astype(np.uint32) + 127
    out = np.empty(rgba8.shape, np.uint8)
    out[..., :3] = mixed // 255
    out[..., 3] = 255
    return out


def camera_background(specs: list, sampled: list[dict], camera: str) -> tuple | None:
    """(file path, fit, offset) of the photo behind `camera` in a frame, from sample_frame's
    output (specs: the randomizers it was sampled from, in order); a later entry wins, as for
    scene parameters; None without a background for this camera."""
    found = None
    for spec, entry in zip(specs, sampled):
        if entry["type"] != "background" or camera not in entry["values"]:
            continue
        v = entry["values"][camera]
        found = (spec.paths[v["file"]], spec.options["fit"], v.get("offset"))
    return found


class PhotoDraw(NamedTuple):
    """What a frame drew for a camera, all its worker needs to make the photo behind it."""

    path: str
    width: int  # the camera's image
    height: int
    fit: str
    offset: list | None = None


class PhotoCache:
    """Fitted photos by (file and its version, camera size, fit), the last `size` used kept
    (least recently used goes first). `decode(path)` -> (h, w, 3) uint8 top row first
    (decode_with_pillow, capture.photos). A process's cache outlives a run (photo_behind):
    a file changed since (its time or size) is decoded again."""

    def __init__(self, decode, size: int = PHOTO_CACHE_SIZE):
        self.decode = decode
        self.size = max(1, size)
        self.fitted: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def background(self, path, width: int, height: int, fit: str, offset=None) -> np.ndarray:
        """The (height, width, 3) uint8 photo behind a frame."""
        try:
            stat = os.stat(path)
        except OSError as e:
            raise cannot_read(path, f": {e.strerror}") from None
        key = (str(path), stat.st_mtime_ns, stat.st_size, width, height, fit)
        fitted = self.fitted.pop(key, None)
        if fitted is None:
            fitted = fit_photo(self.decode(path), width, height, fit)
            while len(self.fitted) >= self.size:
                self.fitted.popitem(last=False)
        self.fitted[key] = fitted
        return cut_out(fitted, width, height, fit, offset)


def pillow_decodes() -> bool:
    """Whether this Python has Pillow (the worker processes it spawns share its packages)."""
    return importlib.util.find_spec("PIL") is not None


def cannot_read(path, why: str = "") -> ValueError:
    return ValueError(f"background: cannot read {Path(path).as_posix()}{why}")


def not_8_bit(path) -> ValueError:
    return ValueError(
        f"background: {Path(path).as_posix()} is a float or 16-bit image; the background randomizer "
        "pastes 8-bit images (save it with 8 bits a channel)"
    )


# Pillow's modes of 8 bits a channel; the others (I;16, I, F) hold more, which Blender reads as float.
PILLOW_8_BIT_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr")


def decode_with_pillow(path) -> np.ndarray:
    """(h, w, 3) uint8, top row first, the photo's own alpha dropped, grey and palettes
    spread to RGB: the bytes Blender's decoder gives (capture.photos; compared in
    tests/test_backgrounds_bpy.py). ValueError naming the file, as Blender's."""
    from PIL import Image

    from .sampling.sensor import not_8_bit_reason

    # Pillow refuses photos over about 179 megapixels (a guard against untrusted uploads);
    # Blender's decoder has no such limit, and the photos are the user's own files.
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as image:
            if image.mode not in PILLOW_8_BIT_MODES or not_8_bit_reason(Path(path)):
                raise not_8_bit(path)
            return np.asarray(image.convert("RGB"))
    except OSError as e:
        raise cannot_read(path, f": {e}") from None


# The photos of the frames this process makes images of (a worker process's, or the main
# thread's where frames are written there); a lock for writers that run in threads.
_photos: PhotoCache | None = None
_photos_lock = threading.Lock()


def photo_behind(background) -> np.ndarray:
    """A frame's photo (height, width, 3) uint8 from FrameData.background: a PhotoDraw is
    decoded here (Pillow), fitted and cut out; an array is the cut-out photo already."""
    global _photos
    if isinstance(background, np.ndarray):
        return background
    with _photos_lock:
        if _photos is None:
            _photos = PhotoCache(decode_with_pillow)
        return _photos.background(*background)
