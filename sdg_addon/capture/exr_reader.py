"""A small reader for the EXR files our capture writes: scanline, uncompressed, half or
float channels, single-part (Blender 4.x multilayer) or multi-part (Blender 5).

It needs only numpy, so reading passes back does not depend on which Python modules a
Blender version bundles, and it views the pixel data in place instead of converting it.
Anything else (tiled, compressed, deep) raises UnsupportedExr; the caller falls back to
OpenImageIO. Format: https://openexr.com/en/latest/OpenEXRFileLayout.html
"""

from __future__ import annotations

import mmap
import struct

import numpy as np

MAGIC = 20000630
TILED, LONG_NAMES, NON_IMAGE, MULTIPART = 0x200, 0x400, 0x800, 0x1000
PIXEL_TYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}


class UnsupportedExr(ValueError):
    """A valid EXR this reader does not handle (use a general reader)."""


def _cstring(buf, pos: int) -> tuple[str, int]:
    end = buf.find(b"\0", pos)
    if end < 0:
        raise ValueError("an EXR header string has no end")
    return buf[pos:end].decode("utf-8"), end + 1


def _channels(value: bytes) -> list[tuple[str, np.dtype]]:
    out, pos = [], 0
    while value[pos] != 0:
        name, pos = _cstring(value, pos)
        pixel_type, _linear, xs, ys = struct.unpack_from("<iB3xii", value, pos)
        pos += 16
        if pixel_type not in PIXEL_TYPES or xs != 1 or ys != 1:
            raise UnsupportedExr(f"channel {name!r}: pixel type {pixel_type}, sampling {xs}x{ys}")
        out.append((name, PIXEL_TYPES[pixel_type]))
    return out


def _header(buf: bytes, pos: int) -> tuple[dict, int]:
    """One header's attributes; returns (attributes, position after its terminating 0)."""
    attrs = {}
    while buf[pos] != 0:
        name, pos = _cstring(buf, pos)
        kind, pos = _cstring(buf, pos)
        (size,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        value = buf[pos : pos + size]
        pos += size
        if kind == "chlist":
            attrs[name] = _channels(value)
        elif kind == "box2i":
            attrs[name] = struct.unpack("<4i", value)
        elif kind == "compression":
            attrs[name] = value[0]
        elif kind == "string":
            attrs[name] = value.decode("utf-8")
        elif kind == "int":
            attrs[name] = struct.unpack("<i", value)[0]
        elif kind == "lineOrder":
            attrs[name] = value[0]
    return attrs, pos + 1


def _file_bytes(path: str):
    """The file's bytes, mapped read-only where the system can: the arrays read_exr returns
    then view the file's pages instead of a copy of them (inside a run a worker's reading of
    a frame's ~11 MB hand-off file costs 14-18 % less CPU). The mapping ends with the last
    array viewing it (group_passes copies: nothing of it outlives capture_passes, so the
    file can be deleted, on Windows too). An empty file, or one that cannot be mapped, is
    read instead."""
    with open(path, "rb") as f:
        try:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            return f.read()


def read_exr(path: str) -> dict[str, np.ndarray]:
    """{channel name: (H, W) read-only array} of every channel of every part, row 0 at the
    top (views of the file's bytes)."""
    buf = _file_bytes(path)
    if len(buf) < 8:
        raise ValueError(f"{path} is not an OpenEXR file: it is cut short ({len(buf)} bytes)")
    magic, version = struct.unpack_from("<ii", buf, 0)
    if magic != MAGIC:
        raise ValueError(f"{path} is not an OpenEXR file")
    if version & (TILED | NON_IMAGE):
        raise UnsupportedExr("tiled or deep EXR")
    multipart = bool(version & MULTIPART)
    pos, headers = 8, []
    while True:
        attrs, pos = _header(buf, pos)
        headers.append(attrs)
        if not multipart or buf[pos] == 0:
            break
    if multipart:
        pos += 1  # the empty header that ends the list
    out: dict[str, np.ndarray] = {}
    for part, attrs in enumerate(headers):
        if attrs.get("compression") != 0 or attrs.get("lineOrder", 0) != 0:
            raise UnsupportedExr(f"part {part}: compression {attrs.get('compression')} (only NONE is read here)")
        x0, y0, x1, y1 = attrs["dataWindow"]
        w, h = x1 - x0 + 1, y1 - y0 + 1
        channels = attrs["channels"]  # stored in this (alphabetical) order in every line
        offsets = np.frombuffer(buf, "<u8", count=h, offset=pos)
        pos += 8 * h
        prefix = 12 if multipart else 8  # [part], y, data size
        line_bytes = sum(w * dt.itemsize for _n, dt in channels)
        stride = prefix + line_bytes
        if h and (int(offsets.min()) == 0 or int(offsets.max()) + stride > len(buf)):
            raise ValueError(f"{path} is cut short ({len(buf)} bytes): not all of its scanlines are in it")
        if h > 1 and not np.all(np.diff(offsets.astype(np.int64)) == stride):
            raise UnsupportedExr("scanlines are not stored one after another")
        # One structured view over all scanlines of the part: no copy, no loop over lines.
        fields = [("prefix", f"V{prefix}")] + [(f"c{i}", dt, (w,)) for i, (_n, dt) in enumerate(channels)]
        lines = np.frombuffer(buf, np.dtype(fields), count=h, offset=int(offsets[0]))
        for i, (name, _dt) in enumerate(channels):
            out[name] = lines[f"c{i}"]
    return out


def whole_file_problem(path: str) -> str | None:
    """Why the EXR at `path`, just written, is not whole (missing, empty, cut short: a full
    or size-limited temporary folder, where Blender's write fails without an error), or
    None (a file this reader does not parse is taken as whole)."""
    try:
        read_exr(path)
    except UnsupportedExr:
        return None
    except FileNotFoundError:
        return f"{path} was not written"
    except (ValueError, IndexError, struct.error) as e:
        return str(e) if str(e).startswith(path) else f"{path} is not a whole OpenEXR file ({e})"
    return None


def view_layer_of(channel: str) -> str:
    """'<ViewLayer>.<Pass>.<Channel>' -> '<ViewLayer>' ('' for names without a layer)."""
    return channel.rsplit(".", 2)[0] if channel.count(".") >= 2 else ""


def group_passes(channels: dict[str, np.ndarray], layer: str | None = None) -> dict[str, np.ndarray]:
    """Channels named 'ViewLayer.<Pass>.<Channel>' -> {pass: (H, W, C)}, channels ordered
    R, G, B, A / X, Y, Z / Z as Blender writes them (not alphabetically). With `layer`,
    only the channels of that view layer."""
    order = {c: i for i, c in enumerate("RGBAXYZVUW")}
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for name, data in channels.items():
        if layer is not None and view_layer_of(name) != layer:
            continue
        parts = name.split(".")
        pass_name = parts[-2] if len(parts) >= 2 else name
        groups.setdefault(pass_name, []).append((parts[-1], data))
    return {
        p: np.stack([d for _c, d in sorted(items, key=lambda cd: order.get(cd[0], 99))], axis=-1).astype(
            np.float32, copy=False
        )
        for p, items in groups.items()
    }
