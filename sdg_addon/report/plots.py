"""Small charts drawn with Pillow and numpy (no plotting library): bars, histograms per
class, a heat map, depth ranges and randomizer ranges. Each returns a PIL image.

Pillow is already a dependency; the charts a dataset report needs are simple enough that
matplotlib (tens of MB with its dependencies, inside Blender too) would not pay for itself.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ..colormaps import _ramp
from ..fonts import font as _font

BG = (255, 255, 255)
INK = (40, 40, 40)
GRID = (225, 225, 225)
SERIES = [(66, 114, 196), (237, 125, 49), (112, 173, 71), (165, 105, 189), (91, 155, 213), (255, 192, 0)]
BAD = (200, 40, 40)
TITLE, TEXT = 16, 12


def _canvas(width: int, height: int, title: str):
    image = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(image)
    draw.text((10, 6), title, fill=INK, font=_font(TITLE))
    return image, draw


def _fmt(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return str(x) if not math.isfinite(x) else "0"
    a = abs(x)
    if a >= 1000 or a < 0.01:
        return f"{x:.3g}"
    return f"{x:.3f}".rstrip("0").rstrip(".") if a < 10 else f"{x:.1f}".rstrip("0").rstrip(".")


def _nice_max(x: float) -> float:
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * e >= x:
            return m * e
    return 10 * e


def _fit(text: str, font, width: float) -> str:
    """text cut (with an ellipsis) to at most `width` pixels in `font`."""
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "\u2026") > width:
        text = text[:-1]
    return text + "\u2026"


NO_CLASS = "no class recorded"


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], width: int = 720) -> Image.Image:
    """Horizontal bars, one row per label (any number of labels stays readable: the chart
    grows downwards), one colour per series (several series: one bar each in the row), the
    value at the end of each bar."""
    font = _font(TEXT)
    n, k = max(1, len(labels)), max(1, len(series))
    bar_h = 12
    row_h = bar_h * k + 8
    top = 34 + (18 if len(series) > 1 else 0)
    bottom = top + row_h * n
    image, draw = _canvas(width, bottom + 24, title)
    left, right = 240, width - 60
    top_value = _nice_max(max([v for vals in series.values() for v in vals] + [0]))
    for q in range(5):
        x = left + (right - left) * q / 4
        draw.line([(x, top), (x, bottom)], fill=GRID)
        tick = _fmt(top_value * q / 4)
        draw.text((x - font.getlength(tick) / 2, bottom + 4), tick, fill=INK, font=font)
    if not labels:  # a run without classes: said, not an empty axis
        draw.text((10, top + row_h / 2 - 7), NO_CLASS, fill=INK, font=font)
    for i, label in enumerate(labels):
        draw.text((10, top + i * row_h + row_h / 2 - 7), _fit(label, font, left - 20), fill=INK, font=font)
    for s, values in enumerate(series.values()):
        color = SERIES[s % len(SERIES)]
        for i, v in enumerate(values):
            y0 = top + i * row_h + 4 + s * bar_h
            x1 = left + (right - left) * (v / top_value)
            draw.rectangle([left, y0, max(left + 1, x1), y0 + bar_h - 2], fill=color)
            draw.text((x1 + 4, y0 - 1), _fmt(v), fill=INK, font=font)
    if len(series) > 1:
        x = left
        for s, name in enumerate(series):
            draw.rectangle([x, 34, x + 10, 44], fill=SERIES[s % len(SERIES)])
            draw.text((x + 14, 32), name[:10], fill=INK, font=font)
            x += 90
    return image


def histogram_grid(
    title: str,
    per_class: dict[str, list[float]] | dict[str, dict[str, list[float]]],
    low: float,
    high: float,
    bins: int = 20,
    unit: str = "",
    width: int = 720,
) -> Image.Image:
    """Small multiples: one histogram per class over [low, high]. Values may be one list
    per class, or {series: list} per class (overlaid outlines for comparisons)."""
    font = _font(TEXT)
    classes = list(per_class)
    cols = 3
    rows = max(1, math.ceil(len(classes) / cols))
    cell_w, cell_h = (width - 20) // cols, 150
    image, draw = _canvas(width, 34 + rows * cell_h + 6, title)
    edges = np.linspace(low, high, bins + 1)
    if not classes:  # a run without classes: said, not a blank image
        draw.text((10, 40), NO_CLASS, fill=INK, font=font)
    for k, name in enumerate(classes):
        r, c = divmod(k, cols)
        x0, y0 = 10 + c * cell_w, 34 + r * cell_h
        px0, px1, py0, py1 = x0 + 6, x0 + cell_w - 10, y0 + 18, y0 + cell_h - 24
        value = per_class[name]
        series = value if isinstance(value, dict) else {"": value}
        counts = {s: np.histogram(np.clip(np.asarray(v, float), low, high), bins=edges)[0] for s, v in series.items()}
        top = max([int(h.max(initial=0)) for h in counts.values()] + [1])
        # One count per series (A and B of a comparison apart: their sum is neither's).
        n = ", ".join(f"{s} {len(v)}" if s else f"n={len(v)}" for s, v in series.items())
        # A long class name is cut to its cell (its count kept), not drawn over the next cell's title.
        count = f" ({n})"
        draw.text((x0 + 6, y0 + 2), _fit(name, font, cell_w - 12 - font.getlength(count)) + count, fill=INK, font=font)
        draw.line([(px0, py1), (px1, py1)], fill=INK)
        bw = (px1 - px0) / bins
        for s, h in enumerate(counts.values()):
            color = SERIES[s % len(SERIES)]
            for b, count in enumerate(h):
                if count == 0:
                    continue
                bx = px0 + b * bw
                by = py1 - (py1 - py0) * count / top
                if len(counts) == 1:
                    draw.rectangle([bx, by, bx + max(1, bw - 1), py1], fill=color)
                else:
                    draw.rectangle([bx + s, by, bx + max(1, bw - 1) - s, py1], outline=color, width=2)
        draw.text((px0, py1 + 3), _fmt(low), fill=INK, font=font)
        hi_text = _fmt(high) + unit
        draw.text((px1 - font.getlength(hi_text), py1 + 3), hi_text, fill=INK, font=font)
    return image


def heatmap(title: str, centres: np.ndarray, aspect: float, bins: tuple[int, int] = (32, 24), width: int = 360):
    """Density of points in [0, 1]^2 (x right, y down), drawn with the image's aspect."""
    font = _font(TEXT)
    map_w = width - 20
    map_h = max(1, round(map_w / max(aspect, 1e-6)))
    image, draw = _canvas(width, 34 + map_h + 22, title)
    grid, _, _ = np.histogram2d(
        np.clip(centres[:, 1], 0, 1 - 1e-9) if len(centres) else [],
        np.clip(centres[:, 0], 0, 1 - 1e-9) if len(centres) else [],
        bins=(bins[1], bins[0]),
        range=[[0, 1], [0, 1]],
    )
    top = grid.max() if grid.size and grid.max() > 0 else 1.0
    colours = _ramp((grid / top).ravel()).reshape(bins[1], bins[0], 3)
    colours[grid == 0] = (245, 245, 245)
    tile = Image.fromarray(colours.astype(np.uint8), "RGB").resize((map_w, map_h), Image.NEAREST)
    image.paste(tile, (10, 34))
    draw.rectangle([10, 34, 10 + map_w - 1, 34 + map_h - 1], outline=INK)
    fullest = int(grid.max()) if grid.size else 0  # drawn yellow (the ramp's bright end); 1 centre: dark purple
    caption = f"{len(centres)} box centres" + (f"; most in one cell: {fullest} (yellow)" if fullest else "")
    draw.text((10, 34 + map_h + 4), caption, fill=INK, font=font)
    return image


def depth_chart(
    title: str,
    per_frame: list[tuple[int, float, float]],
    sample: np.ndarray,
    width: int = 720,
    recorded: bool = False,
):
    """Left: histogram of depth values; right: each frame's nearest and farthest surface.
    `recorded`: depth files exist (with no `per_frame`, no frame has a surface in view)."""
    font = _font(TEXT)
    height = 260
    image, draw = _canvas(width, height, title)
    if not per_frame:
        said = "no surface in view in any frame (every depth infinite)" if recorded else "no depth recorded"
        draw.text((10, 40), said, fill=INK, font=font)
        return image
    lo = min(p[1] for p in per_frame)
    hi = max(p[2] for p in per_frame)
    hi = hi if hi > lo else lo + 1.0
    half = width // 2
    # histogram
    px0, px1, py0, py1 = 20, half - 20, 40, height - 30
    counts, _ = np.histogram(sample, bins=30, range=(lo, hi))
    top = max(int(counts.max(initial=0)), 1)
    bw = (px1 - px0) / 30
    for b, c in enumerate(counts):
        draw.rectangle([px0 + b * bw, py1 - (py1 - py0) * c / top, px0 + (b + 1) * bw - 1, py1], fill=SERIES[0])
    draw.line([(px0, py1), (px1, py1)], fill=INK)
    draw.text((px0, py1 + 4), f"{_fmt(lo)} m", fill=INK, font=font)
    draw.text((px1 - font.getlength(f"{_fmt(hi)} m"), py1 + 4), f"{_fmt(hi)} m", fill=INK, font=font)
    # per-frame ranges
    qx0, qx1 = half + 20, width - 20
    n = len(per_frame)
    several = len({f for f, _a, _b in per_frame}) < n  # several cameras: one bar each, side by side
    head = "per frame" + (", one bar per camera" if several else "") + ": nearest .. farthest surface"
    hx = max(half, min(qx0, width - 4 - font.getlength(head)))  # moved left where it would run past the edge
    draw.text((hx, 24), _fit(head, font, width - 4 - hx), fill=INK, font=font)
    for k, (_f, a, b) in enumerate(per_frame):
        x = qx0 + (qx1 - qx0) * (k + 0.5) / n
        ya = py1 - (py1 - py0) * (a - lo) / (hi - lo)
        yb = py1 - (py1 - py0) * (b - lo) / (hi - lo)
        draw.line([(x, ya), (x, yb)], fill=SERIES[1], width=max(1, min(6, int((qx1 - qx0) / n) - 1)))
    draw.line([(qx0, py1), (qx1, py1)], fill=INK)
    draw.text((qx0, py1 + 4), f"frame {per_frame[0][0]}", fill=INK, font=font)
    last = f"frame {per_frame[-1][0]}"
    draw.text((qx1 - font.getlength(last), py1 + 4), last, fill=INK, font=font)
    return image


def range_chart(title: str, ranges, width: int = 720) -> Image.Image:
    """One row per randomizer parameter: declared support (grey bar) and the sampled
    min .. max (blue; red where values fall outside the support)."""
    font = _font(TEXT)
    numeric = [r for r in ranges if r.sampled_min is not None]
    row_h = 20
    image, draw = _canvas(width, 40 + row_h * max(1, len(numeric)) + 10, title)
    x0, x1 = 260, width - 120
    if not numeric:
        draw.text((10, 40), "no numeric randomizer values recorded", fill=INK, font=font)
    for k, r in enumerate(numeric):
        y = 40 + k * row_h
        draw.text((10, y + 3), _fit(f"{r.randomizer} {r.param}", font, x0 - 16), fill=INK, font=font)
        finite = [v for v in (r.low, r.high) if v is not None and math.isfinite(v)]
        span_lo = min([r.sampled_min, *finite])
        span_hi = max([r.sampled_max, *finite])
        if span_hi <= span_lo:
            span_lo, span_hi = span_lo - 0.5, span_hi + 0.5
        # An unbounded side (a normal's) gets room past the sampled values: the grey bar runs
        # on to the edge, the blue one stops short of it (else both filled the row, as if the
        # whole support had been sampled).
        room = 0.25 * (span_hi - span_lo)
        if r.low is not None and not math.isfinite(r.low) and span_lo == r.sampled_min:
            span_lo -= room
        if r.high is not None and not math.isfinite(r.high) and span_hi == r.sampled_max:
            span_hi += room

        def px(v, lo=span_lo, hi=span_hi):
            return x0 + (x1 - x0) * (v - lo) / (hi - lo)

        if r.low is not None:
            a = px(r.low) if math.isfinite(r.low) else x0
            b = px(r.high) if math.isfinite(r.high) else x1
            draw.rectangle([a, y + 5, max(a + 1, b), y + 15], fill=(215, 215, 215))
        color = SERIES[0] if r.ok else BAD
        a, b = px(r.sampled_min), px(r.sampled_max)
        draw.rectangle([a, y + 8, max(a + 2, b), y + 12], fill=color)
        support = "any" if r.low is None else f"[{_fmt(r.low)}, {_fmt(r.high)}]"
        note = f"{support}" + ("" if r.ok else f" {r.outside} out")
        draw.text((x1 + 6, y + 3), note, fill=color if not r.ok else INK, font=font)
    return image
