"""rgb: the rendered image as the user sees it (view transform applied), uint8 RGBA."""

from __future__ import annotations

from .base import Annotator, register_annotator


@register_annotator
class Rgb(Annotator):
    """(H, W, 4) uint8 RGBA, display-referred (sRGB); alpha 255 unless film_transparent
    or a holdout cuts a hole (alpha 0 there, as in Blender's own image)."""

    name = "rgb"
    summary = "the rendered image, RGBA, display-referred (sRGB)"
    passes = ("rgb",)

    def annotate(self, frame):
        return frame.rgb()
