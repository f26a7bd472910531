"""What JPEG compression does to an image, in numpy (no Pillow: Blender's Python has none).

A baseline JPEG encoder followed by a decoder, as libjpeg does them with the defaults that
Pillow's `save(format="JPEG", quality=q)` and `Image.open` use: full-range YCbCr in its
fixed point, chroma averaged over 2 x 2 pixels (4:2:0), its integer ("islow") 8 x 8 DCT,
the standard quantization tables scaled by quality as jpeg_set_quality scales them, and on
the way back the same tables, its integer inverse DCT and its "fancy" (triangle) chroma
upsampling. The entropy coding between encoder and decoder is lossless, so it is left out.
The result is the image libjpeg(-turbo) decodes, to the bit (tests compare with Pillow).
"""

from __future__ import annotations

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
    out = np.empty((*y.shape, 3), np.uint8)
    for k, channel in enumerate((r, g, b)):  # clamped in place, then one strided cast each
        out[..., k] = np.clip(channel, 0, 255, out=channel)
    return out


def quality_table(base: np.ndarray, quality: int) -> np.ndarray:
    """A standard table scaled to `quality` (1 .. 100) as libjpeg's jpeg_set_quality does,
    entries kept within 1 .. 255 (baseline JPEG)."""
    quality = min(100, max(1, int(quality)))
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


# libjpeg's jfdctint.c / jidctint.c ("islow"): 13-bit fixed-point constants, 2 extra bits
# between the passes; its forward DCT's output is 8x the orthonormal one.
_CONST_BITS, _PASS1_BITS = 13, 2
_C0298, _C0390, _C0541, _C0765, _C0899, _C1175 = 2446, 3196, 4433, 6270, 7373, 9633
_C1501, _C1847, _C1961, _C2053, _C2562, _C3072 = 12299, 15137, 16069, 16819, 20995, 25172


def _descale(x: np.ndarray, n: int) -> np.ndarray:
    return (x + (1 << (n - 1))) >> n


def _fdct_pass(d: list, first: bool) -> list:
    """One 1D pass of the forward DCT over 8 arrays (positions 0..7 along one axis)."""
    tmp0, tmp7 = d[0] + d[7], d[0] - d[7]
    tmp1, tmp6 = d[1] + d[6], d[1] - d[6]
    tmp2, tmp5 = d[2] + d[5], d[2] - d[5]
    tmp3, tmp4 = d[3] + d[4], d[3] - d[4]
    tmp10, tmp13 = tmp0 + tmp3, tmp0 - tmp3
    tmp11, tmp12 = tmp1 + tmp2, tmp1 - tmp2
    out = [None] * 8
    if first:
        out[0], out[4] = (tmp10 + tmp11) << _PASS1_BITS, (tmp10 - tmp11) << _PASS1_BITS
        n = _CONST_BITS - _PASS1_BITS
    else:
        out[0], out[4] = _descale(tmp10 + tmp11, _PASS1_BITS), _descale(tmp10 - tmp11, _PASS1_BITS)
        n = _CONST_BITS + _PASS1_BITS
    z1 = (tmp12 + tmp13) * _C0541
    out[2] = _descale(z1 + tmp13 * _C0765, n)
    out[6] = _descale(z1 - tmp12 * _C1847, n)
    z1, z2, z3, z4 = tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7
    z5 = (z3 + z4) * _C1175
    tmp4, tmp5, tmp6, tmp7 = tmp4 * _C0298, tmp5 * _C2053, tmp6 * _C3072, tmp7 * _C1501
    z1, z2, z3, z4 = z1 * -_C0899, z2 * -_C2562, z3 * -_C1961 + z5, z4 * -_C0390 + z5
    out[7] = _descale(tmp4 + z1 + z3, n)
    out[5] = _descale(tmp5 + z2 + z4, n)
    out[3] = _descale(tmp6 + z2 + z3, n)
    out[1] = _descale(tmp7 + z1 + z4, n)
    return out


def _idct_pass(d: list, first: bool) -> list:
    """One 1D pass of the inverse DCT over 8 arrays (positions 0..7 along one axis)."""
    z1 = (d[2] + d[6]) * _C0541
    tmp2, tmp3 = z1 - d[6] * _C1847, z1 + d[2] * _C0765
    tmp0, tmp1 = (d[0] + d[4]) << _CONST_BITS, (d[0] - d[4]) << _CONST_BITS
    tmp10, tmp13, tmp11, tmp12 = tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2
    tmp0, tmp1, tmp2, tmp3 = d[7], d[5], d[3], d[1]
    z1, z2, z3, z4 = tmp0 + tmp3, tmp1 + tmp2, tmp0 + tmp2, tmp1 + tmp3
    z5 = (z3 + z4) * _C1175
    z1, z2, z3, z4 = z1 * -_C0899, z2 * -_C2562, z3 * -_C1961 + z5, z4 * -_C0390 + z5
    tmp0 = tmp0 * _C0298 + z1 + z3
    tmp1 = tmp1 * _C2053 + z2 + z4
    tmp2 = tmp2 * _C3072 + z2 + z3
    tmp3 = tmp3 * _C1501 + z1 + z4
    n = _CONST_BITS - _PASS1_BITS if first else _CONST_BITS + _PASS1_BITS + 3
    return [
        _descale(tmp10 + tmp3, n),
        _descale(tmp11 + tmp2, n),
        _descale(tmp12 + tmp1, n),
        _descale(tmp13 + tmp0, n),
        _descale(tmp13 - tmp0, n),
        _descale(tmp12 - tmp1, n),
        _descale(tmp11 - tmp2, n),
        _descale(tmp10 - tmp3, n),
    ]


# libjpeg's range limit after the inverse DCT (jdmaster.c), indexed by the centred value
# & 1023: the value + 128 clamped to 0 .. 255 within -512 .. 511, and what its table gives
# beyond (it wraps there; 8-bit images stay within: a search over q = 1 blocks reached 496).
_POST_IDCT = np.concatenate([128 + np.arange(128), np.full(384, 255), np.zeros(384, int), np.arange(128)])


def _lossy_blocks(plane: np.ndarray, table: np.ndarray) -> np.ndarray:
    """An integer plane (sides multiples of 8, values 0 .. 255) through libjpeg's forward
    DCT, quantization, dequantization and inverse DCT.

    int32 where libjpeg's sums stay below 2^31 for any 8-bit input (the forward passes and
    the first inverse pass: at most ~6e8), int64 in the last pass (its shifted even part
    could pass 2^31 for extreme coefficients)."""
    h, w = plane.shape
    # (8 rows, 8 columns, blocks): each position's values contiguous over all blocks
    blocks = (plane.astype(np.int32) - 128).reshape(h // 8, 8, w // 8, 8).transpose(1, 3, 0, 2).reshape(8, 8, -1)
    rows = np.stack(_fdct_pass([blocks[:, x] for x in range(8)], True), axis=1)
    coef = np.stack(_fdct_pass([rows[y] for y in range(8)], False))
    # Quantized as libjpeg does (coefficients 8x, halves away from zero), then dequantized.
    step = table.astype(np.int32)[:, :, None]
    levels = (np.abs(coef) + 4 * step) // (8 * step)
    levels *= np.sign(coef) * step
    cols = np.stack(_idct_pass([levels[y] for y in range(8)], True)).astype(np.int64)
    out = np.stack(_idct_pass([cols[:, x] for x in range(8)], False), axis=1)
    out = _POST_IDCT[out & 1023]
    return out.reshape(8, 8, h // 8, w // 8).transpose(2, 0, 3, 1).reshape(h, w)


def _downsample(plane: np.ndarray) -> np.ndarray:
    """2 x 2 averages with libjpeg's alternating rounding bias (1, 2, 1, 2 ... by column)."""
    sums = plane[0::2, 0::2] + plane[0::2, 1::2]
    sums += plane[1::2, 0::2]
    sums += plane[1::2, 1::2]
    sums += (np.arange(plane.shape[1] // 2) & 1) + 1
    return sums >> 2


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
    # chroma), the image's last column and row repeated to fill them (jcprepct.c,
    # jcsample.c). Chroma is averaged over the real rows (an odd last one paired with
    # itself), and its own last row repeated below them: not averages of repeated rows.
    ph, pw = h + (-h % 16), w + (-w % 16)
    padded = np.pad(rgb8, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    ycc = _to_ycc(np.ascontiguousarray(padded.reshape(-1, 3).T, dtype=np.int32)).reshape(3, ph, pw)
    luma = _lossy_blocks(ycc[0], quality_table(LUMA_TABLE, quality))[:h, :w]
    chroma = []
    ch, cw = (h + 1) // 2, (w + 1) // 2  # the chroma planes' own size (rounded up)
    for k in (1, 2):
        averaged = _downsample(ycc[k][: 2 * ch])
        averaged = np.pad(averaged, ((0, ph // 2 - ch), (0, 0)), mode="edge")
        small = _lossy_blocks(averaged, quality_table(CHROMA_TABLE, quality))[:ch, :cw].astype(np.int32)
        # libjpeg's fancy upsampling needs more than two chroma columns; below, it repeats
        up = _fancy_upsample(small) if cw > 2 else small.repeat(2, axis=0).repeat(2, axis=1)
        chroma.append(up[:h, :w])
    return _from_ycc(luma, *chroma)
