"""Colour maps for depth and normals (numpy only: used inside Blender, which has no Pillow,
by the BasicWriter's depth preview and the in-Blender visualizer, and by visualize)."""

from __future__ import annotations

import numpy as np

_RAMP = np.array(
    [
        (68, 1, 84),
        (72, 36, 117),
        (59, 82, 139),
        (44, 114, 142),
        (33, 145, 140),
        (40, 174, 128),
        (94, 201, 98),
        (173, 220, 48),
        (253, 231, 37),
    ],
    dtype=np.float64,
)


def depth_range(depth: np.ndarray) -> tuple[float, float] | None:
    """Robust (near, far) of a depth map: 2nd and 98th percentile of finite values > 0."""
    d = _squeeze(np.asarray(depth, dtype=np.float32))
    values = d[np.isfinite(d) & (d > 0)]
    if values.size == 0:
        return None
    near, far = np.percentile(values, [2.0, 98.0])
    return float(near), float(max(far, near))


def colorize_depth(depth: np.ndarray, near: float | None = None, far: float | None = None) -> np.ndarray:
    """float depth (H, W) in metres -> uint8 (H, W, 3); near yellow, far dark purple, inf black.

    near / far default to the robust range (``depth_range``); values outside are clamped.
    """
    d = _squeeze(np.asarray(depth, dtype=np.float32))
    out = np.zeros(d.shape + (3,), dtype=np.uint8)
    valid = np.isfinite(d) & (d > 0)
    if not valid.any():
        return out
    if near is None or far is None:
        lo, hi = depth_range(d)
        near = lo if near is None else near
        far = hi if far is None else far
    v = d[valid].astype(np.float64)
    t = np.clip((v - near) / (far - near), 0.0, 1.0) if far > near else np.zeros_like(v)
    out[valid] = _ramp(1.0 - t)
    return out


def replicator_distance_preview(distance: np.ndarray) -> np.ndarray:
    """Replicator's BasicWriter depth preview (`colorize_depth`): float distances (H, W) ->
    uint8 grey (H, W), as its ``colorize_distance(data, near=None, far=None)``.

    near / far are the smallest and largest finite distances of the frame; a distance d
    gives ``(1 - (log(clip(d, near, far) + 1e-5) - log(near)) / (log(far) - log(near))) *
    255``, truncated, in float32 as Replicator computes it: about 254 at the nearest, 0 at the
    farthest and where nothing was hit (inf). Where Replicator's formula has no value (no
    finite distance, all of them equal, a nearest one <= 0) finite distances are 255, the
    rest 0.
    """
    d = _squeeze(np.asarray(distance, dtype=np.float32))
    out = np.zeros(d.shape, dtype=np.uint8)
    finite = np.isfinite(d)
    if not finite.any():
        return out
    near, far = d[finite].min(), d[finite].max()
    if not (far > near > 0):
        out[finite] = 255
        return out
    with np.errstate(invalid="ignore"):
        clipped = np.clip(d, near, far) + np.float32(1e-5)
        scaled = (np.log(clipped) - np.log(near)) / (np.log(far) - np.log(near))
        levels = (np.float32(1) - scaled) * np.float32(255)
    keep = ~np.isnan(d)
    # Truncated, as Replicator's astype; its far end is a hair below 0 (the 1e-5): 0.
    out[keep] = np.clip(levels[keep], 0, 255).astype(np.uint8)
    return out


def colorize_normals(normals: np.ndarray) -> np.ndarray:
    """(H, W, 3) unit normals -> uint8 (H, W, 3) as (n + 1) / 2; zero / non-finite -> black."""
    n = np.asarray(normals, dtype=np.float32)[..., :3]
    valid = np.isfinite(n).all(axis=-1) & (np.abs(n).sum(axis=-1) > 0)
    out = np.zeros(n.shape, dtype=np.uint8)
    out[valid] = np.clip((n[valid] + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return out


def _ramp(t: np.ndarray) -> np.ndarray:
    x = np.clip(t, 0.0, 1.0) * (len(_RAMP) - 1)
    i = np.minimum(x.astype(np.int64), len(_RAMP) - 2)
    f = (x - i)[:, None]
    return np.rint(_RAMP[i] * (1 - f) + _RAMP[i + 1] * f).astype(np.uint8)


def _squeeze(a: np.ndarray) -> np.ndarray:
    return a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a


MIN_FLOW_SCALE = 1.0  # pixels: the flow drawn at full brightness is at least this long


def colorize_flow(flow: np.ndarray, valid: np.ndarray | None = None, scale: float | None = None) -> np.ndarray:
    """(H, W, 2) flow in pixels -> (H, W, 3) uint8: hue = direction (red = right, then
    counter-clockwise on screen), brightness = length / `scale` (default: the longest valid
    flow, at least MIN_FLOW_SCALE pixels, so a still scene's float noise, millionths of a
    pixel, stays black instead of filling the tile at full brightness); pixels not valid are black."""
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    mag = np.hypot(u, v)
    ok = np.ones(mag.shape, bool) if valid is None else valid.astype(bool)
    scale = scale or max(float(mag[ok].max()) if ok.any() else 0.0, MIN_FLOW_SCALE)
    hue = (np.arctan2(-v, u) / (2 * np.pi)) % 1.0  # y down: screen angle
    value = np.clip(mag / scale, 0, 1)
    h6 = hue * 6
    k = np.floor(h6).astype(int) % 6
    f = h6 - np.floor(h6)
    p, q, t = np.zeros_like(f), 1 - f, f
    one = np.ones_like(f)
    r = np.choose(k, [one, q, p, p, t, one])
    g = np.choose(k, [t, one, one, q, p, p])
    b = np.choose(k, [p, p, t, one, one, q])
    rgb = np.stack([r, g, b], axis=-1) * value[..., None]
    rgb[~ok] = 0
    return (rgb * 255).round().astype(np.uint8)
