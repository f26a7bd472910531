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
    """Separable Gaussian blur of (H, W, C) data (3 sigma kernel, edges repeated), float32."""
    if sigma <= 0:
        return img
    r = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    out = np.asarray(img, np.float32)
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        for i, w in enumerate(k):
            acc += w * (padded[i : i + n] if axis == 0 else padded[:, i : i + n])
        out = acc
    return out


def hue_matrix(degrees: float) -> np.ndarray:
    """A rotation of RGB about the grey axis by `degrees` (a hue shift that keeps greys and
    the mean of the channels; one 3x3 product per pixel instead of an HSV round trip)."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    k = 1.0 / 3.0
    t = np.sqrt(k)
    return np.array(
        [
            [c + (1 - c) * k, k * (1 - c) - t * s, k * (1 - c) + t * s],
            [k * (1 - c) + t * s, c + k * (1 - c), k * (1 - c) - t * s],
            [k * (1 - c) - t * s, k * (1 - c) + t * s, c + k * (1 - c)],
        ],
        np.float32,
    )


LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec.709


def apply_display(rgba8: np.ndarray, ops: dict) -> np.ndarray:
    """Augmentations on (H, W, 4) uint8 display RGBA; alpha untouched. Returns uint8."""
    if not any(k in ops for k in DISPLAY_KEYS):
        return rgba8
    rgb = rgba8[..., :3].astype(np.float32) * np.float32(1 / 255)
    rng = np.random.Generator(np.random.PCG64(int(ops.get(NOISE_SEED, 0))))
    if "blur" in ops:
        rgb = gaussian_blur(rgb, float(ops["blur"]))
    if "poisson_noise" in ops:
        photons = float(ops["poisson_noise"])
        rgb = (rng.poisson(np.clip(rgb, 0, 1) * photons) / photons).astype(np.float32)
    if "gaussian_noise" in ops:
        rgb += np.float32(ops["gaussian_noise"]) * rng.standard_normal(rgb.shape, dtype=np.float32)
    if "brightness" in ops:
        rgb *= np.float32(ops["brightness"])
    if "contrast" in ops:
        grey = np.float32(np.mean(rgb @ LUMA))
        rgb = grey + (rgb - grey) * np.float32(ops["contrast"])
    if "saturation" in ops:
        luma = (rgb @ LUMA)[..., None]
        rgb = luma + (rgb - luma) * np.float32(ops["saturation"])
    if "hue" in ops and float(ops["hue"]) % 360 != 0:
        rgb = rgb @ hue_matrix(float(ops["hue"])).T
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
