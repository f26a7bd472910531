"""Scene-linear render -> display-referred 8-bit image (the view transform), as Blender does.

"Standard" is the sRGB transfer function, exact, in numpy (no Blender needed); "Raw"
clips; other views (AgX, Filmic) go through OpenColorIO with Blender's own configuration
(OpenImageIO and the configuration ship with Blender and the bpy module). The render's
scene-linear values are in the session's working colour space (Blender 5.0: per file, a base
.blend's own, e.g. ACEScg or Linear Rec.2020; 4.2: Linear Rec.709): from any but Linear
Rec.709 every view but Raw goes through OpenColorIO, as Blender converts them.
"""

from __future__ import annotations

import functools

import numpy as np

# Blender's scene-linear working space before 5.0, and 5.0's default (bpy.data.colorspace).
LINEAR_REC709 = "Linear Rec.709"

# CIE XYZ (D65) -> Blender 5.0's other working spaces, as its OpenColorIO configuration
# converts (mathutils.Color.from_xyz_d65_to_scene_linear there: tests/test_colour_bpy.py).
XYZ_TO_WORKING = {
    "ACEScg": np.array(
        [[1.6605855, -0.3152965, -0.2415099], [-0.6599261, 1.6083912, 0.0172982], [0.0090024, -0.0035665, 0.9136429]]
    ),
    "Linear Rec.2020": np.array(
        [[1.7166514, -0.3556717, -0.2533669], [-0.6666843, 1.6164807, 0.0157681], [0.0176397, -0.0427702, 0.9421027]]
    ),
}


# CIE XYZ (D65) -> Linear Rec.709, as Blender converts (mathutils in a Linear Rec.709 session).
XYZ_TO_REC709 = np.array(
    [[3.24097037, -1.53738463, -0.49861145], [-0.96924353, 1.87596703, 0.0415547], [0.05562988, -0.2039765, 1.05697119]]
)
REC709_LUMA = np.array([0.2126, 0.7152, 0.0722])


def luminance_weights(working_space: str = LINEAR_REC709) -> np.ndarray:
    """The luminance (Y) of each primary of `working_space`: Rec.709's 0.2126, 0.7152, 0.0722,
    or the Y row of another's scene-linear -> XYZ matrix (ACEScg: 0.268, 0.674, 0.058)."""
    if working_space in XYZ_TO_WORKING:
        return np.linalg.inv(XYZ_TO_WORKING[working_space])[1]
    return REC709_LUMA


def as_rec709(rgb, working_space: str = LINEAR_REC709) -> np.ndarray:
    """Scene-linear `rgb` of `working_space` as Linear Rec.709 numbers (the same colour; one
    outside Rec.709's gamut has a negative component)."""
    c = np.asarray(list(rgb)[:3], dtype=np.float64)
    if working_space in XYZ_TO_WORKING:
        return XYZ_TO_REC709 @ np.linalg.solve(XYZ_TO_WORKING[working_space], c)
    return c


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function on values in [0, 1]."""
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def srgb_inverse(encoded: np.ndarray) -> np.ndarray:
    """Inverse of srgb_encode (float64)."""
    v = np.asarray(encoded, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_tables() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables for round(255 * srgb_encode(clip(x, 0, 1))) of any float32 x, indexed by
    the high 16 bits of x (a "bin": sign, exponent, 7 mantissa bits), correctly rounded.

    Level k starts at the linear value t_k = srgb_inverse((k - 0.5) / 255). Consecutive t_k
    are at least 0.9 % apart (the flattest part of the curve, near 1.0), wider than any bin
    (at most 2^-7 = 0.78 % of its values), so a bin holds at most one t_k: within it the
    level steps once, where the low 16 bits reach t_k's. Each bin stores the level below its
    step and where the step is; a bin without a step has it at 0, with the level below it
    one less (mod 256: the uint8 sum wraps back). Every bit pattern has a bin: negative
    values and NaN give 0, values above 1 (and +inf) 255, as clip-then-formula does.
    """
    t = srgb_inverse((np.arange(1, 256) - 0.5) / 255.0)
    t32 = t.astype(np.float32)
    # The smallest float32 >= t_k: for float32 x, x >= t32 exactly when x >= t_k.
    t32 = np.where(t32.astype(np.float64) < t, np.nextafter(t32, np.float32(2)), t32)
    bits = t32.view(np.uint32)
    high, low = bits >> 16, (bits & 0xFFFF).astype(np.uint16)
    if len(np.unique(high)) != len(high):  # the premise above; holds for sRGB's t_k
        raise AssertionError("two sRGB levels start in one bin")
    bins = np.arange(1 << 16, dtype=np.uint32)
    first = (bins << 16).view(np.float32)  # each bin's first value (low bits 0)
    with np.errstate(invalid="ignore"):
        level = np.searchsorted(t32, first, side="right")  # t_k <= first: negatives 0, +inf 255
    level[(bins & 0x7FFF) > 0x7F80] = 0  # NaN of either sign (+inf's bin is fixed below)
    step = np.zeros(1 << 16, dtype=np.uint16)
    inside = low > 0  # a t_k at low bits 0 is its bin's first value: counted in `level`
    step[high[inside]] = low[inside]
    # +inf (0x7F800000) is 255; the NaNs after it in its bin (low bits > 0) are 0 = 255 + 1.
    step[0x7F80] = 1
    below = np.where(step > 0, level, level - 1) % 256
    return below.astype(np.uint8), step


@functools.lru_cache(maxsize=1)
def _srgb_sum_table() -> np.ndarray:
    """_srgb_tables() as one uint32 per bin b (built once): below * 2^16 + 2^16 - step -
    b * 2^16, modulo 2^32. Added to a float32's bits (b * 2^16 + low), it gives below * 2^16
    + 2^16 + (low - step): bits 16 and up hold below + 1 where low >= step, else below (at
    most 256; its low byte is the level, the uint8 wrap of a bin without a step). One gather,
    an add and a shift a value, on whole uint32s: no strided uint16 halves to compare."""
    below, step = _srgb_tables()
    bins = np.arange(1 << 16, dtype=np.int64)
    table = (below.astype(np.int64) << 16) + (1 << 16) - step.astype(np.int64) - (bins << 16)
    return (table % (1 << 32)).astype(np.uint32)


def srgb_levels(linear: np.ndarray, out: np.ndarray | None = None, work=None) -> np.ndarray:
    """uint8 round(255 * srgb_encode(clip(linear, 0, 1))), correctly rounded, by lookup
    (NaN -> 0), into `out` when given. One gather, an add and a shift per value: no clip,
    power or float->int pass. `work`: (intp, uint32) arrays of linear's size to use as
    scratch (none are allocated then)."""
    bits = np.ascontiguousarray(linear, dtype=np.float32).view(np.uint32)
    if work is None:
        work = np.empty(bits.shape, np.intp), np.empty(bits.shape, np.uint32)
    index, sums = work
    np.right_shift(bits, 16, out=index)  # the bin: numpy gathers by intp indices anyway
    np.take(_srgb_sum_table(), index, out=sums, mode="clip")  # every index is in range
    np.add(sums, bits, out=sums)
    np.right_shift(sums, 16, out=sums)
    if out is None:
        return sums.astype(np.uint8)
    np.copyto(out, sums, casting="unsafe")  # the low byte: the level
    return out


# Values per block of a per-value lookup over a whole image (the Standard transform here, shot
# noise in imaging): its index and gather arrays (~1 MB) then stay
# in a core's cache instead of going to memory and back, which on a busy or shared machine
# costs more than the work (26-46 % less time on a busy lent H200 at 640x480; 39 % less at
# 1920x1080 on a quiet machine, where the whole image's arrays are ~100 MB).
BLOCK_VALUES = 1 << 16


def _standard_view(linear_rgba: np.ndarray) -> np.ndarray:
    linear = np.ascontiguousarray(linear_rgba, dtype=np.float32)
    out = np.empty(linear.shape, dtype=np.uint8)
    rows = max(1, BLOCK_VALUES // max(1, linear[:1].size))
    shape = (min(rows, linear.shape[0]), *linear.shape[1:])
    work = np.empty(shape, np.intp), np.empty(shape, np.uint32)  # one scratch for every block
    for r in range(0, linear.shape[0], rows):
        block, levels = linear[r : r + rows], out[r : r + rows]
        # All four channels in one pass (strided views of three channels cost more than the
        # extra channel), then alpha overwritten.
        n = block.shape[0]
        srgb_levels(block, out=levels, work=(work[0][:n], work[1][:n]))
        alpha = block[..., 3]
        if alpha.min() >= 1.0:  # opaque (no film_transparent): every level 255, no float passes
            levels[..., 3] = 255
            continue
        alpha = np.minimum(np.maximum(alpha, np.float32(0.0)), np.float32(1.0))
        levels[..., 3] = np.round(alpha * np.float32(255.0)).astype(np.uint8)  # cast, then the strided copy
    return out


def has_look(look: str) -> bool:
    """Whether `look` names a look ("None", Blender's own word, and "" name none)."""
    return look not in ("None", "")


def needs_ocio(view: str, look: str = "None") -> bool:
    """Whether the display transform goes through OpenColorIO (OpenImageIO): every view but
    Standard and Raw, and any look."""
    return has_look(look) or view not in ("Standard", "Raw")


def straight_alpha(linear_rgba: np.ndarray) -> np.ndarray:
    """Cycles' premultiplied RGBA -> straight colour (colour / alpha where 0 < alpha < 1), as
    Blender divides it before the view transform when it writes an 8-bit image (its
    "predivide": a PNG stores straight colour). Pixels of alpha 0 or 1 keep their colour, as
    Blender's do; an opaque image (no film_transparent) is returned as it is, not copied."""
    alpha = linear_rgba[..., 3]
    if alpha.min() >= 1.0:
        return linear_rgba
    out = np.array(linear_rgba, dtype=np.float32)
    a = out[..., 3:4]
    np.divide(out[..., :3], a, out=out[..., :3], where=(a > 0) & (a < 1))
    return out


def display_transform(
    linear_rgba: np.ndarray,
    view: str,
    look: str = "None",
    exposure: float = 0.0,
    gamma: float = 1.0,
    working_space: str = LINEAR_REC709,
) -> np.ndarray:
    """(H, W, 4) scene-linear float RGBA in `working_space` (the session's: Blender 5.0's
    bpy.data.colorspace.working_space) -> (H, W, 4) uint8 RGBA for an sRGB display, as
    Blender's colour management makes it: exposure (a gain of 2^exposure on RGB), the look,
    the view transform, then gamma (v^(1/gamma) on the display values)."""
    if exposure:
        linear_rgba = np.array(linear_rgba, dtype=np.float32)  # a copy: the pass stays as rendered
        linear_rgba[..., :3] *= np.float32(2.0**exposure)
    rec709 = working_space == LINEAR_REC709
    if view == "Standard" and not has_look(look) and gamma == 1.0 and rec709:
        return _standard_view(linear_rgba)
    alpha = np.clip(linear_rgba[..., 3:4], 0.0, 1.0)
    rgb = np.clip(linear_rgba[..., :3], 0.0, None)
    if needs_ocio(view, look) or (view != "Raw" and not rec709):
        out = _ocio_display(rgb, view, look, working_space)
    elif view == "Raw":
        out = rgb
    else:  # Standard, with a gamma
        out = srgb_encode(np.minimum(rgb, 1.0))
    out = np.clip(out, 0.0, 1.0)
    if gamma != 1.0:
        out = out ** (1.0 / gamma)
    rgba = np.concatenate([out, alpha], axis=-1)
    return np.round(rgba * 255.0).astype(np.uint8)


def _ocio_display(rgb: np.ndarray, view: str, look: str = "None", src: str = LINEAR_REC709) -> np.ndarray:
    # No bpy here: this runs in worker processes, which cannot import it.
    from .blender_paths import ocio_config

    config = str(ocio_config())
    processors = _ocio_processors(config, view, look, src)
    if processors is None:  # no PyOpenColorIO beside Blender's OpenImageIO
        return _oiio_display(rgb, view, look, config, src)
    out = np.array(rgb, dtype=np.float32, order="C")  # a copy: OCIO works in place
    for processor in processors:
        processor.applyRGB(out)
    return out


@functools.lru_cache(maxsize=16)
def _ocio_processors(config: str, view: str, look: str, src: str = LINEAR_REC709):
    """OpenColorIO's CPU processors for the look (scene-linear to scene-linear, before the
    view, as Blender applies it) and the view to the sRGB display, made once per process and
    (view, look): OpenImageIO's ociodisplay reads and parses the configuration file on every
    call (~30 of the ~50 ms an AgX frame at 640x480 cost). The same OCIO transforms as
    OpenImageIO builds, so the same pixels, bit for bit. None where PyOpenColorIO is not
    beside Blender's modules (Blender 5 bundles it)."""
    from .blender_paths import import_bundled

    try:
        OCIO = import_bundled("PyOpenColorIO")
    except ImportError:
        return None
    cfg = OCIO.Config.CreateFromFile(config)
    transforms = []
    if has_look(look):
        transforms.append((f"look {look!r}", OCIO.LookTransform(src=src, dst=src, looks=look)))
    transforms.append((f"view transform {view!r}", OCIO.DisplayViewTransform(src=src, display="sRGB", view=view)))
    processors = []
    for what, transform in transforms:
        try:
            processors.append(cfg.getProcessor(transform).getDefaultCPUProcessor())
        except Exception as e:  # OCIO's own exception type: an unknown look or view
            raise RuntimeError(f"{what} failed: {e}") from None
    return tuple(processors)


def _oiio_display(rgb: np.ndarray, view: str, look: str, config: str, src: str = LINEAR_REC709) -> np.ndarray:
    from .capture.exr import _oiio  # OpenImageIO ships with Blender

    oiio = _oiio()
    buf = oiio.ImageBuf(np.ascontiguousarray(rgb, dtype=np.float32))
    if has_look(look):  # in scene-linear space, before the view (as Blender does)
        buf = oiio.ImageBufAlgo.ociolook(buf, look, src, src, colorconfig=config)
        if buf.has_error:
            raise RuntimeError(f"look {look!r} failed: {buf.geterror()}")
    res = oiio.ImageBufAlgo.ociodisplay(buf, "sRGB", view, src, colorconfig=config)
    if res.has_error:
        raise RuntimeError(f"view transform {view!r} failed: {res.geterror()}")
    return np.asarray(res.get_pixels(oiio.FLOAT)).reshape(rgb.shape)
