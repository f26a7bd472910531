"""Camera sensor and image randomizers (what they sample).

`sensor` changes the camera (lens, depth of field, motion blur; scene.sensor applies it)
and the sensor's response (exposure, white balance), which like `augment` (noise, blur,
JPEG, colour jitter) is applied to the RGB image only, after the render, by
sdg_addon.imaging in the worker that writes the frame: masks, depth and boxes come from
the same render untouched. Each camera target draws its own values, including the seed
of its noise, so a frame's image is a pure function of (seed, frame).
"""

from __future__ import annotations

from pathlib import Path

from ..config.fields import Field
from .appearance import glob_files, glob_hint, not_an_image_reason
from .randomizers import NUMBER, RandomizerSpec, register_randomizer

NOISE_SEED = "noise_seed"  # drawn per camera and frame when an augmentation is random


@register_randomizer
class Sensor(RandomizerSpec):
    """Lens, depth of field, motion blur, exposure and white balance of cameras."""

    name = "sensor"
    target_kind = "cameras"
    PARAMS = {
        "focal_length": (
            NUMBER,
            "mm, with the camera's `sensor_width`; perspective cameras (an orthographic target is refused: its `ortho_scale` sets its view)",
        ),
        "fov": (
            NUMBER,
            "field of view across the side the camera fits its sensor to, as Blender's camera angle: the larger image side for Sensor Fit Auto, as every `[[cameras]]` entry (pixels that are not square: the larger counted in pixel widths), the width for a .blend camera's Horizontal, the height for its Vertical; degrees (instead of `focal_length`, not both); perspective cameras, as `focal_length`; at most 2 atan(sensor / 2 mm), the sensor's width (its height for Vertical), Blender's lens being at least 1 mm (173.6° on a 36 mm sensor)",
        ),
        "f_stop": (
            NUMBER,
            "aperture f-number; depth of field is on while given (smaller: shallower); the image only: masks, depth and normals stay sharp",
        ),
        "focus_distance": (
            NUMBER,
            "distance in focus, metres (or `focus_target`); needs depth of field on: an `f_stop` (this entry's or another sensor entry's) or a .blend camera's own, else refused (every image would be sharp)",
        ),
        "shutter": (
            NUMBER,
            "Cycles motion blur: shutter time in frames (0 = off), of the cameras targeted only (the others render with the scene's own); blurs what moves within the shutter (trajectories, animation, physics), not the per-frame jumps of randomizers; the image only: masks, depth and normals are of the frame's instant; above 0 not together with the `motion_vectors` annotator (Cycles has no vector pass with motion blur; 0 keeps a base .blend's motion blur off)",
        ),
        "exposure": (
            NUMBER,
            "exposure compensation in stops: the linear image is scaled by 2^`exposure` before the view transform; visible cameras only (a thermal or NIR target is refused: a NIR camera has its own `exposure`)",
        ),
        "white_balance": (
            NUMBER,
            "colour temperature the camera is balanced for, Kelvin: a black body (light) of that temperature comes out neutral; a daylight scene balanced for 3000 K turns blue; from 2000 K (Blender's own white balance starts there too): a black body below 1901 K has no blue in Rec.709, so no gains make it neutral; visible cameras only (a thermal or NIR target is refused)",
        ),
    }
    OPTIONS = {
        "focus_target": (
            "",
            str,
            "name of an object to keep in focus (its origin), instead of `focus_distance`; needs depth of field on, as `focus_distance`",
        ),
    }
    PARAM_RANGES = {
        "focal_length": (1.0, 1e6),  # as the camera randomizer's and [[cameras]]' (Blender's hard limit is far above)
        "fov": (0.1, 179.0),
        "f_stop": (0.1, 1000.0),
        "focus_distance": (0.0, 1e6),
        "shutter": (0.0, 2.0),
        "exposure": (-20.0, 20.0),
        "white_balance": (2000.0, 40000.0),  # below 1901 K the black body has no blue: gain g / 0
    }

    def prepare(self, base):
        if "focal_length" in self.params and "fov" in self.params:
            return [("fov", self.params["fov"].to_dict(), "either focal_length or fov, not both")]
        if self.options["focus_target"] and "focus_distance" in self.params:
            return [
                ("focus_distance", self.params["focus_distance"].to_dict(), "either focus_distance or focus_target")
            ]
        return []


@register_randomizer
class Augment(RandomizerSpec):
    """Image augmentations of the RGB image, after the render (masks stay exact).

    Applied in this order: blur, Poisson (shot) noise, Gaussian noise, colour jitter
    (brightness, contrast, saturation, hue), JPEG compression. A parameter left out is
    not applied.
    """

    name = "augment"
    target_kind = "cameras"
    PARAMS = {
        "blur": (NUMBER, "Gaussian blur, standard deviation in pixels"),
        "poisson_noise": (
            NUMBER,
            "shot noise: photons a full-white pixel collects (fewer: noisier; variance = value / photons)",
        ),
        "gaussian_noise": (
            NUMBER,
            "additive noise, standard deviation in units of full scale (0.02 ≈ 5 levels of 255)",
        ),
        "brightness": (NUMBER, "multiplies the values (1 = unchanged)"),
        "contrast": (NUMBER, "scales values about the image's mean grey (1 = unchanged)"),
        "saturation": (NUMBER, "scales colour away from grey (0 = grey, 1 = unchanged)"),
        "hue": (NUMBER, "rotates the hue, degrees"),
        "jpeg_quality": (
            NUMBER,
            'JPEG compression artefacts at this quality (the file written is still PNG); e.g. `{ distribution = "uniform_int", low = 30, high = 95 }`',
        ),
    }
    PARAM_RANGES = {
        "blur": (0.0, 100.0),
        "poisson_noise": (1.0, 1e9),
        "gaussian_noise": (0.0, 1.0),
        "brightness": (0.0, 100.0),
        "contrast": (0.0, 100.0),
        "saturation": (0.0, 100.0),
        "hue": (-360.0, 360.0),
        "jpeg_quality": (1.0, 100.0),
    }

    def sample(self, rng, frame, targets):
        out = super().sample(rng, frame, targets)
        if any(k in self.params for k in ("poisson_noise", "gaussian_noise")):
            for t in targets:  # drawn after the parameters: adding noise keeps their values
                out[t][NOISE_SEED] = int(rng.integers(2**63 - 1))
        return out


# Photos Blender decodes to their stored 8-bit values; float images (linear light, no
# display values to paste) are refused, and so are 16-bit PNGs (Blender reads them as float).
PHOTO_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".tga")
FLOAT_EXTENSIONS = (".exr", ".hdr")
FITS = ("cover", "center", "stretch")


@register_randomizer
class Background(RandomizerSpec):
    """Photos behind what the cameras render (BlenderProc's random backgrounds).

    Each frame, each target camera draws one photo from the files `files` matches
    (uniformly; with `fit = "cover"` also where the frame is cut out of it). The photo
    replaces what the camera sees of the world, through the render's alpha (needs
    `[render] film_transparent = true`), on the 8-bit display image before `augment`.
    """

    name = "background"
    target_kind = "cameras"
    PARAMS: dict = {}
    OPTIONS = {
        "files": (
            "",
            (str, list),
            f"a glob or a list of globs of 8-bit images ({', '.join(f'`{e}`' for e in PHOTO_EXTENSIONS)}), relative to the parameter file (`**` for sub-folders); matched once when the file is validated, sorted by path; each glob must match a file",
        ),
        "fit": Field(
            "fit",
            "choice",
            "cover",
            "how a photo fills the frame: `cover` scales it (aspect kept) to cover the frame and cuts the frame out at a random place (drawn per frame and camera), `center` likewise from its middle, `stretch` scales each side to the frame's",
            choices=FITS,
        ),
    }
    REQUIRED_OPTIONS = ("files",)
    PATH_OPTIONS = ("files",)

    def __init__(self, params, options, trigger="frame", interval=1):
        super().__init__(params, options, trigger, interval)
        self.names: list[str] = []  # what can be drawn, sorted by path (a frame draws an index)
        self.paths: dict[str, Path] = {}  # name -> file

    @classmethod
    def check(cls, params, options):
        files = options.get("files")
        patterns = [files] if isinstance(files, str) else files
        if not (isinstance(patterns, list) and patterns and all(isinstance(x, str) and x.strip() for x in patterns)):
            return [("files", files, 'a glob of image files, or a list of them, e.g. `"backgrounds/*.jpg"`')]
        return []

    def prepare(self, base: Path):  # (after check: one glob or a non-empty list of them)
        files = self.options["files"]
        patterns = [files] if isinstance(files, str) else files
        found: dict[str, Path] = {}
        for pattern in patterns:
            root, matched = glob_files(pattern, base, PHOTO_EXTENSIONS + FLOAT_EXTENSIONS)
            if not matched:
                kinds = " / ".join(PHOTO_EXTENSIONS)
                under = (
                    f"under {root.resolve().as_posix()}{glob_hint(pattern, base, PHOTO_EXTENSIONS + FLOAT_EXTENSIONS)}"
                )
                return [("files", pattern, f"a glob matching image files ({kinds}) {under}")]
            for f in matched:
                problem = not_an_image_reason(f) or not_8_bit_reason(f)
                if problem:
                    return [("files", f.as_posix(), problem)]
                found[_photo_name(f, base)] = f
        self.names = sorted(found)
        self.paths = found
        return []

    def resolved_extra(self):
        # A frame's photo is a position in this list: other files, other frames.
        return {"background_files": self.names}

    def sample(self, rng, frame, targets):
        out = {}
        for t in targets:
            values = {"file": self.names[int(rng.integers(len(self.names)))]}
            if self.options["fit"] == "cover":
                values["offset"] = [float(u) for u in rng.random(2)]  # fractions of the slack, x then y
            out[t] = values
        return out


def _photo_name(path: Path, base: Path) -> str:
    """How the log names a photo: relative to the parameter file's folder where it lies
    below it (the same on every machine), else its full path."""
    try:
        return path.relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def not_8_bit_reason(path: Path) -> str | None:
    """Why the photo cannot be pasted as it is stored (float, 16 bits), or None. Read from
    the file's header (PNG, TIFF); the other formats Blender reads hold 8-bit values."""
    suffix = path.suffix.lower()
    if suffix in FLOAT_EXTENSIONS:
        return "an 8-bit image: EXR / HDR hold linear light (no display values to paste); save it as 8-bit PNG or JPEG through a view transform"
    if suffix not in (".png", ".tif", ".tiff"):
        return None
    try:
        with open(path, "rb") as f:
            bits = _png_bits(f) if suffix == ".png" else _tiff_bits(f)
    except OSError as e:
        return f"a readable image ({e.strerror})"
    if bits is not None and bits > 8:
        return f"an 8-bit image (this one has {bits} bits a channel, which Blender reads as float); save it with 8 bits"
    return None


def _png_bits(f) -> int | None:
    header = f.read(26)  # 8-byte signature, IHDR's length and name, width, height, bit depth
    return header[24] if len(header) >= 25 and header[12:16] == b"IHDR" else None


def _tiff_bits(f) -> int | None:
    """The first image's BitsPerSample (tag 258): the first value, where the tag is there."""
    head = f.read(8)
    if len(head) < 8 or head[:2] not in (b"II", b"MM"):
        return None
    order = "little" if head[:2] == b"II" else "big"
    f.seek(int.from_bytes(head[4:8], order))
    count = int.from_bytes(f.read(2), order)
    for _ in range(min(count, 4096)):
        entry = f.read(12)
        if len(entry) < 12:
            return None
        if int.from_bytes(entry[0:2], order) != 258:
            continue
        n = int.from_bytes(entry[4:8], order)
        if n > 2:  # SHORT values beyond 4 bytes sit at an offset
            f.seek(int.from_bytes(entry[8:12], order))
            return int.from_bytes(f.read(2), order)
        return int.from_bytes(entry[8:10], order)
    return 1 if count else None  # no tag: 1 bit (bilevel), per the TIFF spec
