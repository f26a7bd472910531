"""The camera's image pipeline after the render: sensor response and augmentations (no bpy).

Runs where the RGB image is made (FrameData.rgb, in the writer's worker thread or
process), on the RGB image only: depth, masks and boxes come from the same render and
stay exact. Everything here is numpy (and Pillow for JPEG), deterministic for the values
sampled for the frame (the noise generator is seeded with the sampled `noise_seed`).

Order: exposure and white balance on the scene-linear image (as a camera does before its
tone curve), the view transform, then on the 8-bit display image: blur, Poisson noise,
Gaussian noise, colour jitter, JPEG.
"""

from __future__ import annotations

import io

import numpy as np

from .sampling.appearance import blackbody_rgb
from .sampling.sensor import NOISE_SEED

LINEAR_KEYS = ("exposure", "white_balance")
DISPLAY_KEYS = (
    "blur",
    "poisson_noise",
    "gaussian_noise",
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "jpeg_quality",
)


def camera_image_ops(sampled: list[dict], camera: str) -> dict:
    """The image operations of one camera in one frame, from sample_frame's output.

    Later randomizer entries win on the same key, as they do for scene parameters.
    """
    ops: dict = {}
    for entry in sampled:
        if entry["type"] == "sensor":
            values = entry["values"].get(camera, {})
            ops.update({k: values[k] for k in LINEAR_KEYS if k in values})
        elif entry["type"] == "augment":
            values = entry["values"].get(camera, {})
            ops.update({k: v for k, v in values.items() if k in DISPLAY_KEYS or k == NOISE_SEED})
    return ops


def white_balance_gains(kelvin: float) -> np.ndarray:
    """Per-channel gains that make a black body at `kelvin` neutral (green gain 1)."""
    rgb = np.asarray(blackbody_rgb(kelvin))
    return rgb[1] / np.maximum(rgb, 1e-6)


def apply_linear(rgba: np.ndarray, ops: dict) -> np.ndarray:
    """Exposure (2^EV) and white balance on scene-linear RGBA (alpha untouched)."""
    if not any(k in ops for k in LINEAR_KEYS):
        return rgba
    gain = np.ones(3, np.float32)
    if "exposure" in ops:
        gain *= np.float32(2.0 ** float(ops["exposure"]))
    if "white_balance" in ops:
        gain *= white_balance_gains(ops["white_balance"]).astype(np.float32)
    out = rgba.astype(np.float32, copy=True)
    out[..., :3] *= gain
    return out


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (H, W, C) data (3 sigma kernel, edges repeated)."""
    if sigma <= 0:
        return img
    r = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    out = img.astype(np.float64)
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="edge")
        out = sum(w * np.take(padded, np.arange(i, i + n), axis=axis) for i, w in enumerate(k))
    return out


def _rgb_to_hsv(rgb):
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx, mn = rgb.max(-1), rgb.min(-1)
    d = mx - mn
    h = np.zeros_like(mx)
    safe = np.where(d > 0, d, 1.0)
    h = np.where(mx == r, ((g - b) / safe) % 6, h)
    h = np.where(mx == g, (b - r) / safe + 2, h)
    h = np.where(mx == b, (r - g) / safe + 4, h)
    h = np.where(d > 0, h / 6.0, 0.0)
    s = np.where(mx > 0, d / np.where(mx > 0, mx, 1.0), 0.0)
    return np.stack([h % 1.0, s, mx], -1)


def _hsv_to_rgb(hsv):
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(np.int64) % 6
    choices = [np.stack(c, -1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))]
    out = np.zeros_like(hsv)
    for k, c in enumerate(choices):
        out = np.where((i == k)[..., None], c, out)
    return out


def apply_display(rgba8: np.ndarray, ops: dict) -> np.ndarray:
    """Augmentations on (H, W, 4) uint8 display RGBA; alpha untouched. Returns uint8."""
    if not any(k in ops for k in DISPLAY_KEYS):
        return rgba8
    rgb = rgba8[..., :3].astype(np.float64) / 255.0
    rng = np.random.Generator(np.random.PCG64(int(ops.get(NOISE_SEED, 0))))
    if "blur" in ops:
        rgb = gaussian_blur(rgb, float(ops["blur"]))
    if "poisson_noise" in ops:
        photons = float(ops["poisson_noise"])
        rgb = rng.poisson(np.clip(rgb, 0, 1) * photons) / photons
    if "gaussian_noise" in ops:
        rgb = rgb + rng.normal(0.0, float(ops["gaussian_noise"]), rgb.shape)
    if "brightness" in ops:
        rgb = rgb * float(ops["brightness"])
    if "contrast" in ops:
        grey = float(np.mean(rgb @ np.array([0.2126, 0.7152, 0.0722])))
        rgb = grey + (rgb - grey) * float(ops["contrast"])
    if "saturation" in ops:
        luma = (rgb @ np.array([0.2126, 0.7152, 0.0722]))[..., None]
        rgb = luma + (rgb - luma) * float(ops["saturation"])
    if "hue" in ops and float(ops["hue"]) % 360 != 0:
        hsv = _rgb_to_hsv(np.clip(rgb, 0, 1))
        hsv[..., 0] = (hsv[..., 0] + float(ops["hue"]) / 360.0) % 1.0
        rgb = _hsv_to_rgb(hsv)
    out = rgba8.copy()
    out[..., :3] = np.round(np.clip(rgb, 0, 1) * 255.0).astype(np.uint8)
    if "jpeg_quality" in ops:
        out[..., :3] = jpeg_roundtrip(out[..., :3], int(round(float(ops["jpeg_quality"]))))
    return out


def jpeg_roundtrip(rgb8: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` (1 .. 100) and decode: compression artefacts."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb8), "RGB").save(buf, format="JPEG", quality=max(1, min(100, quality)))
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))
