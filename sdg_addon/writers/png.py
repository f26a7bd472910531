"""A small PNG encoder (numpy + zlib), so writing needs no Pillow: Blender's own Python
has no Pillow, and `blender -b -P headless/run.py` must write the same files.

Supports uint8 gray / RGB / RGBA and uint16 gray, no interlacing, filter type 0 (none):
lossless, fast at low zlib levels, and zlib releases the GIL for the writer threads.

Levels 1-3 deflate with ISA-L (the `isal` package, same zlib stream format, 3-10x faster
than zlib's level 1 on rendered images) when it is installed; other levels, and Python
without isal (Blender's own), use zlib. Decoded pixels are identical either way.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

try:  # ISA-L's deflate: what makes PNG writing cheap next to a GPU render
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - Blender's own Python
    _fast_zlib = None

_COLOR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (gray, RGB, RGBA)


# The same checksum either way; ISA-L's is about 15x faster on a compressed image.
_crc32 = _fast_zlib.crc32 if _fast_zlib is not None else zlib.crc32


def _chunk(kind: bytes, data: bytes) -> list[bytes]:
    """A PNG chunk as its parts (joined once by the caller: no copies of `data`)."""
    crc = _crc32(data, _crc32(kind)) & 0xFFFFFFFF
    return [struct.pack(">I", len(data)), kind, data, struct.pack(">I", crc)]


def encode_png(array: np.ndarray, compress_level: int = 1, text: dict[str, str] | None = None) -> bytes:
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in _COLOR_TYPES:
        raise ValueError(f"PNG needs (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if a.dtype == np.uint8:
        depth = 8
    elif a.dtype == np.uint16 and a.shape[2] == 1:
        depth = 16
        a = a.astype(">u2")  # PNG is big-endian
    else:
        raise ValueError(f"PNG needs uint8 (or uint16 gray), got {a.dtype} with {a.shape[2]} channel(s)")
    h, w, c = a.shape
    raw = np.empty((h, w * c * (depth // 8) + 1), dtype=np.uint8)
    raw[:, 0] = 0  # filter type 0 (none) on every row
    if a.dtype == np.uint8 and not a.flags.c_contiguous:
        # E.g. the RGB of an RGBA image: one strided copy per channel is several times
        # faster than numpy's copy of 3-byte pixels (and no contiguous copy first).
        rows = raw[:, 1:].reshape(h, w, c)  # a view: each row's pixels after its filter byte
        for k in range(c):
            rows[:, :, k] = a[:, :, k]
    else:
        raw[:, 1:] = np.ascontiguousarray(a).view(np.uint8).reshape(h, -1)
    header = struct.pack(">IIBBBBB", w, h, depth, _COLOR_TYPES[c], 0, 0, 0)
    idat = deflate(memoryview(raw).cast("B"), compress_level)
    # tEXt chunks (keyword, NUL, Latin-1 text): e.g. what made the image.
    texts = [
        c for k, v in (text or {}).items() for c in _chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1"))
    ]
    return b"".join(
        [b"\x89PNG\r\n\x1a\n", *_chunk(b"IHDR", header), *texts, *_chunk(b"IDAT", idat), *_chunk(b"IEND", b"")]
    )


def deflate(data, level: int) -> bytes:
    """A zlib stream of `data`: ISA-L for levels 1-3 when installed, else zlib."""
    if _fast_zlib is not None and 1 <= level <= 3:
        return _fast_zlib.compress(data, level)
    return zlib.compress(data, level)


def decode_png_gray8(data: bytes) -> np.ndarray:
    """(H, W) uint8 of an 8-bit grey PNG as encode_png writes it (no interlacing, every
    row filter 0): the writers' own masks read back. Any other PNG raises ValueError."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, header, idat = 8, None, []
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    if header is None or header[2:] != (8, 0, 0, 0, 0):
        raise ValueError("not an 8-bit grey PNG without interlacing")
    w, h = header[0], header[1]
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(h, w + 1)
    if raw[:, 0].any():
        raise ValueError("a PNG row uses a filter: not a PNG this tool wrote")
    return raw[:, 1:].copy()
