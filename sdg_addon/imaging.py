"""The camera's image pipeline after the render: sensor response and augmentations (no bpy).

Runs where the RGB image is made (FrameData.rgb, in the writer's worker thread or
process), on the RGB image only: depth, masks and boxes come from the same render and
stay exact. Everything here is numpy (JPEG through Pillow where it is installed),
deterministic for the values sampled for the frame (the noise generator is seeded with the
sampled `noise_seed`).

Order: exposure and white balance on the scene-linear image (as a camera does before its
tone curve), the view transform, the background photo pasted behind the render
(sdg_addon.backgrounds), then on the 8-bit display image: blur, Poisson noise, Gaussian
noise, colour jitter, JPEG.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np

from .colour import BLOCK_VALUES, LINEAR_REC709, REC709_LUMA, XYZ_TO_WORKING
from .sampling.appearance import blackbody_rgb, blackbody_xyz
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


def camera_image_ops(sampled: list[dict], camera: str, clip_frame: int = 0) -> dict:
    """The image operations of one camera in one frame, from sample_frame's output.

    Later randomizer entries win on the same key, as they do for scene parameters. A clip's
    frames share the values drawn for its first frame, `noise_seed` too, which froze the
    noise of every frame of a clip into one pattern; frame i > 0 of a clip draws its noise
    from (noise_seed, i), as a sensor's noise is new in every frame (a still, and a clip's
    first frame, from noise_seed itself).
    """
    ops: dict = {}
    for entry in sampled:
        if entry["type"] == "sensor":
            values = entry["values"].get(camera, {})
            ops.update({k: values[k] for k in LINEAR_KEYS if k in values})
        elif entry["type"] == "augment":
            values = entry["values"].get(camera, {})
            ops.update({k: v for k, v in values.items() if k in DISPLAY_KEYS or k == NOISE_SEED})
    if clip_frame and NOISE_SEED in ops:
        ops[NOISE_SEED] = int(
            np.random.SeedSequence([int(ops[NOISE_SEED]), clip_frame]).generate_state(1, np.uint64)[0]
        )
    return ops


def white_balance_gains(kelvin: float, working_space: str = LINEAR_REC709) -> np.ndarray:
    """Per-channel gains that make a black body at `kelvin` neutral (green gain 1), on pixels
    of `working_space` (Blender 5.0 renders a .blend in its own: ACEScg, Linear Rec.2020)."""
    if working_space in XYZ_TO_WORKING:
        rgb = np.clip(XYZ_TO_WORKING[working_space] @ np.asarray(blackbody_xyz(kelvin)), 0.0, None)
    else:
        rgb = np.asarray(blackbody_rgb(kelvin))
    return rgb[1] / np.maximum(rgb, 1e-6)


def apply_linear(rgba: np.ndarray, ops: dict, working_space: str = LINEAR_REC709) -> np.ndarray:
    """Exposure (2^EV) and white balance on scene-linear RGBA of `working_space` (alpha untouched)."""
    if not any(k in ops for k in LINEAR_KEYS):
        return rgba
    gain = np.ones(3, np.float32)
    if "exposure" in ops:
        gain *= np.float32(2.0 ** float(ops["exposure"]))
    if "white_balance" in ops:
        gain *= white_balance_gains(ops["white_balance"], working_space).astype(np.float32)
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


LUMA = REC709_LUMA.astype(np.float32)  # for float32 images


# Operations on float values after the shot noise: with none of them (and no blur before it,
# which makes values between the levels), the noise goes level to level by table.
_FLOAT_AFTER_SHOT_NOISE = ("gaussian_noise", "brightness", "contrast", "saturation", "hue")


def apply_display(rgba8: np.ndarray, ops: dict) -> np.ndarray:
    """Augmentations on (H, W, 4) uint8 display RGBA; alpha untouched. Returns uint8."""
    if not any(k in ops for k in DISPLAY_KEYS):
        return rgba8
    rng = np.random.Generator(np.random.PCG64(int(ops.get(NOISE_SEED, 0))))
    photons = float(ops.get("poisson_noise", 0.0))
    floats = "blur" in ops or any(k in ops for k in _FLOAT_AFTER_SHOT_NOISE)
    if "poisson_noise" in ops and photons <= SHOT_NOISE_TABLE_PHOTONS and not floats:
        out = shot_noise_rgba(rgba8, photons, rng)
    elif floats or "poisson_noise" in ops:
        out = rgba8.copy()
        out[..., :3] = _to_levels(_float_ops(rgba8[..., :3].astype(np.float32) * np.float32(1 / 255), ops, rng))
    else:  # JPEG alone: the levels go to it as they are (a float round trip gives them back)
        out = rgba8
    if "jpeg_quality" in ops:
        out = _jpeg_rgba(out, int(round(float(ops["jpeg_quality"]))))
    return out


def _float_ops(rgb: np.ndarray, ops: dict, rng: np.random.Generator) -> np.ndarray:
    """Blur, shot noise, Gaussian noise and colour jitter on float RGB in [0, 1]."""
    if "blur" in ops:
        rgb = gaussian_blur(rgb, float(ops["blur"]))
    if "poisson_noise" in ops:
        photons = float(ops["poisson_noise"])
        rgb = _photon_fraction(rng.poisson(_photon_mean(rgb, photons)), photons)
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
    return rgb


def _photon_mean(rgb: np.ndarray, photons: float) -> np.ndarray:
    """The expected photon count of each value (float32, as the noise is drawn from)."""
    return np.clip(rgb, 0, 1) * photons


def _photon_fraction(counts: np.ndarray, photons: float) -> np.ndarray:
    """Photon counts back to values (1 = full white), float32."""
    return (counts / photons).astype(np.float32)


def _to_levels(rgb: np.ndarray) -> np.ndarray:
    return np.round(np.clip(rgb, 0, 1) * 255.0).astype(np.uint8)


# ---------------------------------------------------------------- shot noise by table
#
# On the 8-bit image, with nothing but the rounding after it, shot noise maps each input
# level k to an output level: round(255 * clip(N / photons, 0, 1)) with N ~ Poisson(lambda_k),
# lambda_k = photons * k / 255 (computed as the float path computes them). So it is drawn
# from the 256 x 256 table of P(output <= j | input k) by inversion: one uniform a value and
# a table lookup, 2.5-3.3x faster than numpy's Poisson sampler on every value up to 5,000
# photons with the table made for the frame's photon count (1.5-1.7x near the limit below,
# where the table's build dominates; 3.4-4.3x when the count is held), and the same
# distribution to float64's resolution (its cumulative sums resolve ~1e-15). The table is
# built from each lambda_k's probabilities over a window of +-9 sigma (the mass outside it
# is below 1e-17), so its cost grows with sqrt(photons): above this many photons the float
# path is used.
SHOT_NOISE_TABLE_PHOTONS = 65536.0
_GUIDE_BITS = 10
_GUIDE = 1 << _GUIDE_BITS  # guide-table buckets per input level (where to start looking for u)


def shot_noise_rgba(rgba8: np.ndarray, photons: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson (shot) noise on the colour of (H, W, 4) uint8 RGBA by table lookup, alpha kept:
    each colour level drawn from the distribution of
    _to_levels(_photon_fraction(Poisson(_photon_mean(level / 255, photons)), photons)).
    The four channels go through in one contiguous pass (alpha through rows of the table
    that return the level unchanged: cheaper than splitting the channels and joining them)."""
    cdf, guide = _shot_noise_table(float(photons))
    flat = np.ascontiguousarray(rgba8).reshape(-1)
    out = np.empty(flat.size, np.uint8)
    unsure, unsure_u = [], []  # where the guide's level may be too low, and their uniforms
    ub = np.empty(min(BLOCK_VALUES, flat.size))
    for a in range(0, flat.size, BLOCK_VALUES):  # BLOCK_VALUES is a multiple of 4: alpha stays at 3 mod 4
        k = flat[a : a + BLOCK_VALUES].astype(np.intp)
        k[3::4] += 256  # alpha's rows
        ub = ub[: k.size]
        rng.random(out=ub)
        # Level j is the first whose cumulative probability exceeds u. The guide table gives
        # the number of levels at or below the floor of u's bucket: j is at least that.
        at = np.multiply(ub, _GUIDE).astype(np.intp)
        at += k << _GUIDE_BITS
        j = guide[at]
        out[a : a + BLOCK_VALUES] = j
        first = j.astype(np.intp)
        first += k << 8  # its place in the table
        ahead = np.flatnonzero(ub >= cdf[first])
        unsure.append(ahead + a)
        unsure_u.append(ub[ahead])
    # The few beyond their bucket's first level (a step of the row inside the bucket, below
    # u; never alpha, whose rows step from 0 to 1): bisection between it and the next
    # bucket's first level, whose cumulative probability is above u.
    todo = np.concatenate(unsure) if unsure else np.zeros(0, np.intp)
    if todo.size:
        uu = np.concatenate(unsure_u)
        row = flat[todo].astype(np.intp) << 8
        lo = row + out[todo]
        after = np.multiply(uu, _GUIDE).astype(np.intp) + 1  # the next bucket (none after the last)
        hi = row + np.where(after < _GUIDE, guide[np.minimum(after, _GUIDE - 1) + (row << (_GUIDE_BITS - 8))], 255)
        while True:
            wide = np.flatnonzero(hi - lo > 1)
            if not wide.size:
                break
            mid = (lo[wide] + hi[wide]) >> 1
            up = uu[wide] >= cdf[mid]
            lo[wide] = np.where(up, mid, lo[wide])
            hi[wide] = np.where(up, hi[wide], mid)
        out[todo] = hi - row
    return out.reshape(rgba8.shape)


@functools.lru_cache(maxsize=2)  # a photon count held for the run, or the last two
def _shot_noise_table(photons: float) -> tuple[np.ndarray, np.ndarray]:
    """(cdf, guide): cdf[k * 256 + j] = P(output level <= j | input level k) (float64, the
    last of each row exactly 1), then 256 rows that keep the level (for alpha: row 256 + k
    steps from 0 to 1 at j = k); guide[k * _GUIDE + b] = the number of levels j with
    cdf <= b / _GUIDE (uint8)."""
    lam = _photon_mean(np.arange(256, dtype=np.uint8).astype(np.float32) * np.float32(1 / 255), photons)
    lam = lam.astype(np.float64)
    # The largest count N that still gives an output level <= j, for j = 0 .. 254: from
    # where the exact rounding would step (N = photons * (j + 1/2) / 255), moved until the
    # float32 steps agree (at most a count or two up to SHOT_NOISE_TABLE_PHOTONS; the
    # rounding is monotonic in N).
    want = np.arange(1, 256)
    first = np.ceil(photons * (want - 0.5) / 255).astype(np.int64)  # first N giving level j or more
    while np.any(low := _to_levels(_photon_fraction(first, photons)) < want):
        first += low
    while np.any(high := (first > 0) & (_to_levels(_photon_fraction(first - 1, photons)) >= want)):
        first -= high
    last = first - 1
    # Each lambda's Poisson probabilities over a window of +-9 sigma (+12 for small
    # lambdas), relative to the window's first count: products of p(n + 1) / p(n) =
    # lambda / (n + 1). A (256, width) array; the mass outside the windows is below 1e-17
    # (Chernoff's bound), a tenth of the smallest step of the uniform it is compared with.
    half = 9.0 * np.sqrt(lam) + 12.0
    start = np.maximum(0.0, np.floor(lam - half))
    width = int(math.ceil(2 * half.max())) + 2
    ratio = np.empty((256, width))
    ratio[:, 0] = 1.0
    np.add.outer(start, np.arange(1.0, width), out=ratio[:, 1:])
    np.divide(lam[:, None], ratio[:, 1:], out=ratio[:, 1:])
    mass = np.cumsum(np.cumprod(ratio, axis=1, out=ratio), axis=1, out=ratio)
    at = last[None, :] - start[:, None].astype(np.int64)  # each boundary's place in each window
    cdf = np.ones((256, 256))
    cdf[:, :255] = np.take_along_axis(mass, np.clip(at, 0, width - 1), axis=1) / mass[:, -1:]
    cdf[:, :255][at < 0] = 0.0
    # Bucket b of a row starts at the count of its levels with cdf <= b / _GUIDE, that is
    # with ceil(cdf * _GUIDE) <= b (exact: _GUIDE is a power of two).
    edge = np.ceil(cdf * _GUIDE).astype(np.intp) + (_GUIDE + 1) * np.arange(256)[:, None]
    below = np.bincount(edge.reshape(-1), minlength=256 * (_GUIDE + 1)).reshape(256, _GUIDE + 1)
    guide = np.cumsum(below, axis=1, dtype=np.int32)[:, :_GUIDE].astype(np.uint8)
    keep_cdf, keep_guide = _level_keeping_rows()
    return np.concatenate([cdf.reshape(-1), keep_cdf]), np.concatenate([guide.reshape(-1), keep_guide])


@functools.lru_cache(maxsize=1)
def _level_keeping_rows() -> tuple[np.ndarray, np.ndarray]:
    """The table's rows for alpha, the same for every photon count: row k steps from 0 to
    1 at level k, and every bucket of it starts at k."""
    levels = np.arange(256)
    cdf = (levels[None, :] >= levels[:, None]).astype(np.float64)
    return cdf.reshape(-1), np.repeat(levels.astype(np.uint8), _GUIDE)


def _jpeg_rgba(rgba8: np.ndarray, quality: int) -> np.ndarray:
    """Encode the colour of (H, W, 4) uint8 RGBA as JPEG at `quality` (1 .. 100) and decode
    it: compression artefacts, alpha kept. With Pillow (libjpeg-turbo, 6-8x faster; it splits
    and joins the channels in C) where it is installed; inside Blender, whose Python has no
    Pillow, the same steps in numpy (jpeg.py: the same image, to the bit)."""
    quality = max(1, min(100, quality))
    try:
        from PIL import Image
    except ImportError:
        from .jpeg import jpeg_roundtrip as numpy_roundtrip

        out = rgba8.copy()
        out[..., :3] = numpy_roundtrip(rgba8[..., :3], quality)
        return out
    image = Image.fromarray(np.ascontiguousarray(rgba8))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    decoded = Image.open(buf).convert("RGBA")
    decoded.putalpha(image.getchannel("A"))
    return np.array(decoded)
