"""Single-channel TIFF files in numpy (no Pillow: Blender's Python has none).

Baseline TIFF 6.0, little-endian, uncompressed, one strip: float32 (SampleFormat 3, what
Pillow calls mode "F") or uint16 (mode "I;16"), as radiometric thermal images are stored.
"""

from __future__ import annotations

import struct

import numpy as np

# dtype -> (BitsPerSample, SampleFormat: 1 unsigned integer, 3 IEEE float)
_SAMPLES = {np.dtype("float32"): (32, 3), np.dtype("uint16"): (16, 1)}
_SHORT, _LONG, _RATIONAL = 3, 4, 5


def encode_tiff(image: np.ndarray) -> bytes:
    """(H, W) float32 or uint16 -> the bytes of a TIFF file holding it."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype not in _SAMPLES or 0 in image.shape:
        raise ValueError(f"a TIFF needs an (H, W) float32 or uint16 image, not {image.dtype} {image.shape}")
    bits, sample_format = _SAMPLES[image.dtype]
    h, w = image.shape
    pixels = np.ascontiguousarray(image, dtype=image.dtype.newbyteorder("<")).tobytes()
    count = 14
    ifd_at = 8
    resolution_at = ifd_at + 2 + 12 * count + 4  # two RATIONALs (8 bytes each) after the IFD
    pixels_at = resolution_at + 16
    entries = [  # sorted by tag, as TIFF requires
        (256, _LONG, w),  # ImageWidth
        (257, _LONG, h),  # ImageLength
        (258, _SHORT, bits),  # BitsPerSample
        (259, _SHORT, 1),  # Compression: none
        (262, _SHORT, 1),  # PhotometricInterpretation: black is zero
        (273, _LONG, pixels_at),  # StripOffsets
        (277, _SHORT, 1),  # SamplesPerPixel
        (278, _LONG, h),  # RowsPerStrip: one strip
        (279, _LONG, len(pixels)),  # StripByteCounts
        (282, _RATIONAL, resolution_at),  # XResolution (offset of 72 / 1)
        (283, _RATIONAL, resolution_at + 8),  # YResolution
        (284, _SHORT, 1),  # PlanarConfiguration: contiguous
        (296, _SHORT, 1),  # ResolutionUnit: none
        (339, _SHORT, sample_format),  # SampleFormat
    ]
    assert len(entries) == count
    out = [b"II", struct.pack("<HI", 42, ifd_at), struct.pack("<H", count)]
    for tag, kind, value in entries:
        packed = struct.pack("<HH", value, 0) if kind == _SHORT else struct.pack("<I", value)
        out.append(struct.pack("<HHI", tag, kind, 1) + packed)
    out += [struct.pack("<I", 0), struct.pack("<IIII", 72, 1, 72, 1), pixels]
    return b"".join(out)
