"""The font of the text drawn on previews, contact sheets and the report's charts (no bpy).

The first of WIDE_FONTS the system has draws the text (Latin, Greek, Cyrillic, ...), else
Pillow's own font. A letter it lacks (CJK, Thai, Devanagari, Arabic, ...) is drawn with the
first of Blender's own fonts that has it: every Blender install and the bpy wheel ship them in
<version>/datafiles/fonts (found on disk, bpy is not imported). Text the first font has every
letter of is measured and drawn exactly as by that font alone.
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .blender_paths import resources

# Fonts with the letters of names beyond ASCII (Würfel, café, Ящик, κύβος), tried in this order
# where the system has them (Pillow looks in its font folders): Pillow's own font has ASCII only.
# DejaVu Sans Condensed first: as wide as Pillow's own (the plain one is 12 % wider: a
# 640 x 480 frame's depth caption no longer fit its tile).
WIDE_FONTS = (
    "DejaVuSansCondensed.ttf",
    "DejaVuSans.ttf",
    "NotoSans-Regular.ttf",
    "LiberationSans-Regular.ttf",
    "arial.ttf",
    "Arial.ttf",
)

# Blender's fonts are tried in this order for a letter the first font lacks: a Latin sans (for
# Pillow's own font, ASCII only), CJK, the one font of each other script, symbols last.
FIRST = ("Inter", "Noto Sans CJK")
LAST = ("NotoSansSymbols", "NotoSansMath", "NotoEmoji", "DejaVuSansMono")
FONT_FILES = (".ttf", ".otf", ".ttc", ".woff", ".woff2")

# Permanently no character: every font draws its .notdef glyph (the box) for it.
NOT_A_CHARACTER = "\U0010ffff"
# Marks, spaces and format characters stay in the font of the letter before them: a Thai or
# Devanagari vowel sign is shaped with its consonant, and a space of any font is no box.
JOINS_PREVIOUS = {"Mn", "Mc", "Me", "Zs", "Zl", "Zp", "Cc", "Cf"}


@lru_cache(maxsize=16)
def font(size: int):
    """The font of text `size` pixels high, with Blender's fonts for the letters it lacks."""
    for name in WIDE_FONTS:
        try:
            plain = ImageFont.truetype(name, size)
            break
        except (OSError, ValueError, ImportError):  # not on this system (or Pillow without FreeType)
            continue
    else:
        try:
            plain = ImageFont.load_default(size=size)
        except (TypeError, ValueError, OSError):  # Pillow without FreeType: fixed bitmap font
            return ImageFont.load_default()
    return FallbackFont(plain, fallback_fonts()) if fallback_fonts() else plain


@lru_cache(maxsize=1)
def fallback_fonts() -> tuple[str, ...]:
    """Blender's font files, in the order they are tried; none where no Blender is found."""
    try:
        folder = resources() / "datafiles" / "fonts"
    except (FileNotFoundError, OSError):
        return ()
    if not folder.is_dir():
        return ()

    def rank(path: Path) -> tuple[int, str]:
        for i, start in enumerate(FIRST):
            if path.name.startswith(start):
                return i, path.name
        for i, start in enumerate(LAST):
            if path.name.startswith(start):
                return len(FIRST) + 1 + i, path.name
        return len(FIRST), path.name

    files = [p for p in folder.iterdir() if p.suffix.lower() in FONT_FILES and p.is_file()]
    return tuple(str(p) for p in sorted(files, key=rank))


@lru_cache(maxsize=256)
def _load(path: str, size: float):
    try:
        return ImageFont.truetype(path, size)
    except (OSError, ValueError):  # a format this Pillow / FreeType cannot read (.woff2 without brotli)
        return None


def _glyph(face: ImageFont.FreeTypeFont, ch: str):
    # Called on the plain class: a FallbackFont's own would look in the fallbacks.
    mask, offset = ImageFont.FreeTypeFont.getmask2(face, ch, "L")
    return mask.size, offset, bytes(mask), ImageFont.FreeTypeFont.getlength(face, ch)


@lru_cache(maxsize=64)
def _notdef(face: ImageFont.FreeTypeFont):
    return _glyph(face, NOT_A_CHARACTER)


@lru_cache(maxsize=65536)
def has_letter(face: ImageFont.FreeTypeFont, ch: str) -> bool:
    """Whether `face` has a glyph of its own for `ch`: Pillow does not tell a font's character
    map, so a glyph drawn and measured as that of no character is the font's box."""
    return _glyph(face, ch) != _notdef(face)


class FallbackFont(ImageFont.FreeTypeFont):
    """A font that draws the letters it lacks with the first of `fallbacks` (font files) that
    has them, on its baseline. Text it has every letter of takes the plain font's own path."""

    def __init__(self, plain: ImageFont.FreeTypeFont, fallbacks: tuple[str, ...]):
        source = BytesIO(plain.font_bytes) if hasattr(plain, "font_bytes") else plain.path
        super().__init__(source, plain.size, plain.index, plain.encoding, plain.layout_engine)
        self.plain = plain
        self.fallbacks = fallbacks

    def _face(self, ch: str) -> ImageFont.FreeTypeFont:
        if has_letter(self.plain, ch):
            return self.plain
        for path in self.fallbacks:
            face = _load(path, self.size)
            if face is not None and has_letter(face, ch):
                return face
        return self.plain  # no font has it: the plain font's box

    def runs(self, text) -> list[tuple[ImageFont.FreeTypeFont, str]]:
        """`text` cut into (font, part): each letter in the first font that has it."""
        runs: list[list] = []
        for ch in text:
            kind = unicodedata.category(ch)
            if kind in JOINS_PREVIOUS:
                face = runs[-1][0] if runs else self.plain
            elif kind == "Cn":  # no character (yet): no font has it
                face = self.plain
            else:
                face = self._face(ch)
            if runs and runs[-1][0] is face:
                runs[-1][1] += ch
            else:
                runs.append([face, ch])
        return [(face, part) for face, part in runs]

    def _layout(self, text, mode, direction, features, language, stroke_width, anchor):
        """Where each run goes, its pen's x on a common baseline; the ink box of them all
        (baseline coordinates, x_0 y_0 x_1 y_1) moved to `anchor`'s point: None where the plain
        font draws the whole text, or where only it can (vertical text, a colour font)."""
        if not isinstance(text, str) or direction == "ttb" or mode == "RGBA":
            return None
        runs = self.runs(text)
        if all(face is self.plain for face, _ in runs):
            return None
        placed, pen, box = [], 0.0, None
        for face, part in runs:
            x = round(pen)
            left, top, right, bottom = face.getbbox(part, mode, None, features, language, stroke_width, "ls")
            if right > left:
                part_box = (x + left, top, x + right, bottom)
                box = part_box if box is None else (*map(min, box[:2], part_box[:2]), *map(max, box[2:], part_box[2:]))
            placed.append((face, part, x))
            pen += face.getlength(part, mode, None, features, language)
        box = box or (0, 0, 0, 0)
        anchor = anchor or "la"
        ascent, descent = self.plain.getmetrics()  # the plain font's lines: text sits as its own does
        dx = {"l": 0, "m": -pen / 2, "r": -pen}[anchor[0]]
        dy = {"a": ascent, "s": 0, "d": -descent, "m": (ascent - descent) / 2, "t": -box[1], "b": -box[3]}[anchor[1]]
        dx, dy = math.floor(dx + 0.5), math.floor(dy + 0.5)  # halves up, as Pillow's own anchors
        return placed, pen, box, (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)

    def getlength(self, text, mode="", direction=None, features=None, language=None):
        layout = self._layout(text, mode, direction, features, language, 0, None)
        if layout is None:
            return super().getlength(text, mode, direction, features, language)
        return layout[1]

    def getbbox(self, text, mode="", direction=None, features=None, language=None, stroke_width=0, anchor=None):
        layout = self._layout(text, mode, direction, features, language, stroke_width, anchor)
        if layout is None:
            return super().getbbox(text, mode, direction, features, language, stroke_width, anchor)
        return layout[3]

    def getmask2(
        self,
        text,
        mode="",
        direction=None,
        features=None,
        language=None,
        stroke_width=0,
        anchor=None,
        ink=0,
        start=None,
        *args,
        **kwargs,
    ):
        layout = self._layout(text, mode, direction, features, language, stroke_width, anchor)
        if layout is None:
            return super().getmask2(
                text, mode, direction, features, language, stroke_width, anchor, ink, start, *args, **kwargs
            )
        placed, _, box, moved = layout
        # Each run drawn as ImageDraw draws text, onto a mask of the ink box of them all.
        canvas = Image.new("L", (max(box[2] - box[0], 1), max(box[3] - box[1], 1)))
        draw = ImageDraw.Draw(canvas)
        draw.fontmode = "1" if mode == "1" else "L"
        for face, part, x in placed:
            draw.text(
                (x - box[0], -box[1]),
                part,
                fill=255,
                font=face,
                anchor="ls",
                features=features,
                language=language,
                stroke_width=stroke_width,
            )
        return canvas.im, moved[:2]
