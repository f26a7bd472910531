"""Photos behind the render (the `background` randomizer): fit, crop and composite (no bpy).

The render process decodes a frame's photo (capture.photos, through Blender: its Python
has no Pillow) and fits it to the camera here, once per photo and camera size, keeping a
few fitted photos (PhotoCache, bounded: a folder of thousands is never held at once). The
frame's crop goes with the frame (FrameData.background) to where its RGB image is made
(FrameData.rgb, in the writers' worker), which pastes it behind the render with the render's
alpha (composite): on the 8-bit display image, before the augmentations. Masks, depth and
boxes come from the same render untouched.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

# Fitted photos kept per render process (each the size of a camera's image, or a little
# larger with `cover`): a folder larger than this is decoded again when a photo returns.
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
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    out = image  # uint8 until the first pass (a large photo is not copied as float first)
    if height != h:
        idx, wt = _axis_weights(h, height)
        acc = np.zeros((height, *out.shape[1:]), np.float32)
        for t in range(idx.shape[1]):
            acc += wt[:, t, None, None].astype(np.float32) * out[idx[:, t]]
        out = acc
    if width != w:
        idx, wt = _axis_weights(w, width)
        acc = np.zeros((out.shape[0], width, *out.shape[2:]), np.float32)
        for t in range(idx.shape[1]):
            acc += wt[None, :, t, None].astype(np.float32) * out[:, idx[:, t]]
        out = acc
    out = np.asarray(out, np.float32)
    return np.floor(np.clip(out, 0.0, 255.0) + np.float32(0.5)).astype(np.uint8)


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


class PhotoCache:
    """Fitted photos by (file, camera size, fit), the last `size` used kept (least recently
    used goes first). `decode(path)` -> (h, w, 3) uint8 top row first (capture.photos)."""

    def __init__(self, decode, size: int = PHOTO_CACHE_SIZE):
        self.decode = decode
        self.size = max(1, size)
        self.fitted: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def background(self, path, width: int, height: int, fit: str, offset=None) -> np.ndarray:
        """The (height, width, 3) uint8 photo behind a frame."""
        key = (str(path), width, height, fit)
        fitted = self.fitted.pop(key, None)
        if fitted is None:
            fitted = fit_photo(self.decode(path), width, height, fit)
            while len(self.fitted) >= self.size:
                self.fitted.popitem(last=False)
        self.fitted[key] = fitted
        return cut_out(fitted, width, height, fit, offset)
