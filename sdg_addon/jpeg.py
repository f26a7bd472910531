"""What JPEG compression does to an image, in numpy (no Pillow: Blender's Python has none).

A baseline JPEG encoder followed by a decoder, with libjpeg's defaults (what Pillow's
`save(format="JPEG", quality=q)` and `Image.open` use): full-range YCbCr in libjpeg's fixed
point, chroma averaged over 2 x 2 pixels (4:2:0), 8 x 8 DCT, the standard quantization
tables scaled by quality as libjpeg scales them, and on the way back the same tables, the
inverse DCT and libjpeg's "fancy" (triangle) chroma upsampling. The entropy coding between
encoder and decoder is lossless, so it is left out. Flat colours come back exactly as
libjpeg returns them; elsewhere on average within a level of it: libjpeg's integer DCT
rounds a coefficient the other way now and then (which at low quality moves a block by more).
"""

from __future__ import annotations

import functools

import numpy as np

# ITU-T T.81 Annex K.1 and K.2, in row order.
LUMA_TABLE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ]
)
CHROMA_TABLE = np.full((8, 8), 99)
CHROMA_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]

# JFIF's full-range colour conversions in libjpeg's 16-bit fixed point (jccolor.c, jdcolor.c),
# so that flat colours come back exactly as libjpeg returns them.
_SCALE, _HALF = 16, 1 << 15


def _fix(x: float) -> int:
    return int(x * (1 << _SCALE) + 0.5)


def _to_ycc(rgb: np.ndarray) -> np.ndarray:
    """(3, N) int32 R, G, B -> (3, N) Y, Cb, Cr as libjpeg's encoder rounds them."""
    r, g, b = rgb
    offset = (128 << _SCALE) + _HALF - 1
    y = (_fix(0.299) * r + _fix(0.587) * g + _fix(0.114) * b + _HALF) >> _SCALE
    cb = (-_fix(0.16874) * r - _fix(0.33126) * g + _fix(0.5) * b + offset) >> _SCALE
    cr = (_fix(0.5) * r - _fix(0.41869) * g - _fix(0.08131) * b + offset) >> _SCALE
    return np.stack([y, cb, cr])


def _from_ycc(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """int32 Y, Cb, Cr (0 .. 255) -> (..., 3) uint8 R, G, B as libjpeg's decoder rounds them."""
    cb, cr = cb - 128, cr - 128
    r = y + ((_fix(1.402) * cr + _HALF) >> _SCALE)
    g = y + ((-_fix(0.34414) * cb - _fix(0.71414) * cr + _HALF) >> _SCALE)
    b = y + ((_fix(1.772) * cb + _HALF) >> _SCALE)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def quality_table(base: np.ndarray, quality: int) -> np.ndarray:
    """A standard table scaled to `quality` (1 .. 100) as libjpeg's jpeg_set_quality does,
    entries kept within 1 .. 255 (baseline JPEG)."""
    quality = min(100, max(1, int(quality)))
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


@functools.lru_cache(maxsize=1)
def _block_dct() -> np.ndarray:
    """(64, 64): the orthonormal 2D DCT-II of an 8 x 8 block, as one matrix on its 64 values."""
    x = np.arange(8)
    d = np.cos((2 * x[None, :] + 1) * x[:, None] * np.pi / 16) * np.sqrt(2 / 8)
    d[0] /= np.sqrt(2)
    return np.kron(d, d).astype(np.float32)


def _lossy_blocks(plane: np.ndarray, table: np.ndarray) -> np.ndarray:
    """A plane (sides multiples of 8, values 0 .. 255) through DCT, quantization and back:
    each block's 64 values times one matrix (the DCT with the quantization steps folded in),
    rounded, times the inverse."""
    h, w = plane.shape
    blocks = (plane - np.float32(128)).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 64)
    forward, inverse = _quantizing_dct(tuple(table.reshape(64).tolist()))
    coef = blocks @ forward
    # Rounded half away from zero, as libjpeg does: flat blocks of whole values put DC
    # coefficients on exact halves, which rounding to even would move by a step.
    back = np.trunc(coef + np.copysign(np.float32(0.5), coef), out=coef) @ inverse
    back += np.float32(128.5)  # libjpeg's inverse DCT rounds halves up
    back = np.clip(np.floor(back, out=back), 0, 255, out=back)
    return back.reshape(h // 8, w // 8, 8, 8).transpose(0, 2, 1, 3).reshape(h, w)


@functools.lru_cache(maxsize=8)
def _quantizing_dct(steps: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(forward, inverse): block values @ forward = DCT coefficients / steps;
    quantized levels @ inverse = the block the decoder makes of them."""
    dct = _block_dct()
    step = np.asarray(steps, np.float32)
    return np.ascontiguousarray(dct.T / step[None, :]), np.ascontiguousarray(step[:, None] * dct)


def _downsample(plane: np.ndarray) -> np.ndarray:
    """2 x 2 averages with libjpeg's alternating rounding bias (1, 2, 1, 2 ... by column)."""
    sums = plane[0::2, 0::2] + plane[0::2, 1::2]
    sums += plane[1::2, 0::2]
    sums += plane[1::2, 1::2]
    sums += ((np.arange(plane.shape[1] // 2) & 1) + 1).astype(np.float32)
    return np.floor(sums * np.float32(0.25), out=sums)


def _fancy_upsample(plane: np.ndarray) -> np.ndarray:
    """libjpeg's h2v2 "fancy" upsampling: a triangle filter (3/4 the nearer sample, 1/4 the
    next), edges repeated, its rounding biases (8 on even columns, 7 on odd ones)."""
    c = plane.astype(np.int32)
    above = np.concatenate([c[:1], c[:-1]])
    below = np.concatenate([c[1:], c[-1:]])
    h, w = c.shape
    out = np.empty((h, 2, w, 2), np.int32)
    for r, neighbour in enumerate((above, below)):
        s = 3 * c + neighbour
        left = np.concatenate([s[:, :1], s[:, :-1]], axis=1)
        right = np.concatenate([s[:, 1:], s[:, -1:]], axis=1)
        out[:, r, :, 0] = (3 * s + left + 8) >> 4
        out[:, r, :, 1] = (3 * s + right + 7) >> 4
    return out.reshape(2 * h, 2 * w)


def jpeg_roundtrip(rgb8: np.ndarray, quality: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (H, W, 3) uint8: the image a JPEG file at `quality` decodes to."""
    h, w = rgb8.shape[:2]
    if h == 0 or w == 0:
        return rgb8.copy()
    # The encoder works on whole 16 x 16 units (a 2 x 2 block of luma and one of each
    # chroma), the image's last row and column repeated to fill them.
    ph, pw = h + (-h % 16), w + (-w % 16)
    padded = np.pad(rgb8, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    ycc = _to_ycc(padded.reshape(-1, 3).T.astype(np.int32)).astype(np.float32).reshape(3, ph, pw)
    luma = _lossy_blocks(ycc[0], quality_table(LUMA_TABLE, quality))[:h, :w].astype(np.int32)
    chroma = []
    ch, cw = (h + 1) // 2, (w + 1) // 2  # the chroma planes' own size (rounded up)
    for k in (1, 2):
        small = _lossy_blocks(_downsample(ycc[k]), quality_table(CHROMA_TABLE, quality))
        chroma.append(_fancy_upsample(small[:ch, :cw])[:h, :w])
    return _from_ycc(luma, *chroma)
