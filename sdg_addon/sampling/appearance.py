"""Appearance randomizers (what they sample; scene.appearance applies them in Blender).

Image textures and HDRIs come from folders: the folder is listed once, when the
parameter file is read (sorted names), so a frame's pick is a pure function of
(seed, frame, folder contents) and the same in every process. Procedural textures,
material swaps and a generated sky need no files.
"""

from __future__ import annotations

import fnmatch
import os
import re
import unicodedata
from pathlib import Path

import numpy as np

from ..colour import REC709_LUMA
from ..home import expand_home
from .distributions import listed_values
from .randomizers import COLOR, NUMBER, STRING, RandomizerSpec, register_randomizer

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".hdr", ".bmp", ".webp", ".tga")
HDRI_EXTENSIONS = (".hdr", ".exr")
PATTERNS = ("noise", "voronoi", "checker")


def real_path(path: Path | str) -> Path:
    """The absolute path with symbolic links followed, as Path.resolve() gives it, except that
    a link loop is no exception (Path.resolve raises RuntimeError before Python 3.13): the
    path stays as far as it resolves, and the caller's check for an existing file names it."""
    return Path(os.path.realpath(path))


def named_path(path: Path | str) -> Path:
    """The absolute path as the parameter file names it, symbolic links kept (not followed,
    unlike real_path): a run records `assets/mug.glb` below its parameter file's folder
    whatever an `assets` link leads to on this machine, so the project copied to another
    (its library mounted elsewhere, linked alike) is the same run, each file checked by its
    hash. `..` is folded only where that names the same file as the system's reading
    (`lib/../x` with `lib` a link is kept as written); a link loop is no exception (the
    caller's check for an existing file names it)."""
    path = Path(path).absolute()
    tidy = os.path.normpath(path)
    return Path(tidy) if os.path.realpath(tidy) == os.path.realpath(path) else path


def file_names_not_utf8() -> str | None:
    """Where this Python reads file names in another encoding than UTF-8 (a POSIX locale of
    ISO-8859-1 and the like: LC_ALL=de_DE.ISO-8859-1), what that is and the way out: a
    parameter file's names beyond ASCII (read as UTF-8) then name other bytes on disk than
    the UTF-8 names there, or none at all. None with UTF-8 file names (and on Windows)."""
    import codecs
    import sys

    encoding = sys.getfilesystemencoding()
    if os.name == "nt" or codecs.lookup(encoding).name == "utf-8":
        return None
    locale = next((f"{k}={os.environ[k]}" for k in ("LC_ALL", "LC_CTYPE", "LANG") if os.environ.get(k)), "")
    return (
        f"this system's file names are read as {encoding} (the locale's{': ' + locale if locale else ''}), "
        "parameter files as UTF-8: run with a UTF-8 locale (LC_ALL=C.UTF-8) or PYTHONUTF8=1"
    )


def separator_hint(raw: str, looked: Path | None = None) -> str:
    """Why a path `raw` that names nothing may be of another system, and what to write: a URL
    or a `~user` of no user here; on Linux and macOS, a path of a file made on Windows, with a
    drive (C:/models/mug.obj, read there as a folder 'C:' beside the file) or a backslash
    (part of a name there); one whose names differ in case from a file there (`looked`, the
    path looked for: a project made on Windows or macOS, which take either, moved to Linux).
    '' otherwise."""
    url = re.match(r"([A-Za-z][A-Za-z0-9+.-]+)://", raw)  # on Windows too (a drive is one letter)
    if url:
        return f"; a URL ({url[1]}://) names no file here: the run reads files of this system (download it first)"
    if raw.startswith("~") and str(expand_home(raw)) == raw:  # on Windows too
        return f"; {raw.split('/')[0]!r} is no home folder on this system (a path of another machine?)"
    if os.name == "nt":
        return ""
    drive = re.match(r"[A-Za-z]:(?=[\\/])", raw)
    if drive:
        return (
            f"; a Windows path (drive {drive[0]}) names no file on Linux and macOS: give it relative to the "
            "file naming it, with /, which works on Windows too"
        )
    if "\\" in raw:
        slashed = raw.replace("\\", "/")
        return f"; a backslash is no folder separator on Linux and macOS: write {slashed!r}, which works on Windows too"
    not_utf8 = file_names_not_utf8() if not raw.isascii() else None
    if not_utf8:
        return f"; {not_utf8}"
    other = _in_other_case(looked) if looked is not None else None
    if other is not None and _composed(str(other)) == _composed(str(looked)):
        return "; " + _other_form(other.as_posix(), str(looked))
    if other is not None:
        return (
            f"; {other.as_posix()} is there, its name differing in case: Windows and macOS take either, Linux "
            "only the name as it is on disk: write it so"
        )
    return ""


def _other_form(found: str, given: str) -> str:
    """What to say of `found`, a name on disk that is `given` (a parameter file's) spelt in
    the other Unicode form (a folder made on macOS, whose file names are decomposed, copied
    to Linux): both print alike."""
    composed = "composed (é one character)"
    decomposed = "decomposed (e + U+0301, as macOS writes file names)"
    given_composed = _composed(given) == given
    advice = (
        "rename it composed (convmv -r -f utf8 -t utf8 --nfc --notest PATH)"
        if given_composed
        else "type the name again in the parameter file, composed"
    )
    return (
        f"{found} is there, spelt in another Unicode form: {decomposed if given_composed else composed} on disk, "
        f"{composed if given_composed else decomposed} in the parameter file; they print alike, but Linux takes "
        f"only the name as it is on disk: {advice}"
    )


def _composed(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def glob_hint(pattern: str, base: Path, extensions) -> str:
    """separator_hint for a glob (glob_files' `pattern` in `base`) that matches no file, or
    that it matches files but for case (`*.glb` and MUG.GLB: Windows and macOS match them,
    Linux does not)."""
    hint = separator_hint(pattern)
    if hint or "[" in pattern:
        return hint
    either = "".join(f"[{c.lower()}{c.upper()}]" if c.lower() != c.upper() else c for c in pattern)
    for form in ("NFD", "NFC"):  # the names on disk decomposed (made on macOS), or composed
        spelt = unicodedata.normalize(form, pattern)
        if spelt != pattern and "[" not in spelt:
            matched = glob_files(spelt, base, extensions)[1]
            if matched:
                return f"; it matches {len(matched)} file(s) spelt otherwise: " + _other_form(
                    f"e.g. {matched[0].as_posix()}", pattern
                )
    matched = glob_files(either, base, extensions)[1]
    if not matched:
        return ""
    return (
        f"; it matches {len(matched)} file(s) but for case (e.g. {matched[0].as_posix()}): Windows and macOS "
        "compare names without case, Linux with it: write the glob as the names are on disk"
    )


def _in_other_case(looked: Path) -> Path | None:
    """The file or folder `looked` names but for the case of its names or their Unicode form
    (composed or decomposed), where one exists."""
    found, missing = looked, []
    while not os.path.lexists(found):
        if found.parent == found:
            return None
        missing.append(found.name)
        found = found.parent
    for name in reversed(missing):
        try:
            found = next(
                p for p in sorted(found.iterdir()) if _composed(p.name).casefold() == _composed(name).casefold()
            )
        except (OSError, StopIteration):  # none, or not a folder that can be read
            return None
    return found if missing else None


# How each format's files start (TGA has no such mark): a file that does not is no image.
IMAGE_SIGNATURES = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".bmp": (b"BM",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".exr": (b"v/1\x01",),
    ".hdr": (b"#?",),  # #?RADIANCE or #?RGBE
}


def not_an_image_reason(path: Path) -> str | None:
    """Why the file is no image of its kind (empty, damaged or renamed), or None: read from
    its first bytes, so a folder or pool of thousands is checked before anything is written
    (a background photo is decoded when a frame draws it: a damaged one ended the run after
    --overwrite had deleted the earlier dataset; Blender renders a texture it cannot read
    magenta, without a word). An image cut short after its first bytes is not found here."""
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SIGNATURES and suffix != ".webp":
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError as e:
        return f"a readable image ({e.strerror})"
    if suffix == ".webp":
        ok = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    else:
        ok = head.startswith(IMAGE_SIGNATURES[suffix])
    if ok:
        return None
    return f"a {suffix[1:].upper()} image (this file does not start as one does: empty, damaged or renamed)"


def list_images(folder: Path, extensions=IMAGE_EXTENSIONS, recursive: bool = False) -> list[Path]:
    """Image files directly in `folder` (`recursive`: and in its sub-folders), sorted by
    their path below it: the order picks use."""
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = (p for p in found if p.is_file() and p.suffix.lower() in extensions)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def glob_files(pattern: str, base: Path, extensions) -> tuple[Path, list[Path]]:
    """(the folder the glob is read in, the files it matches with one of `extensions`),
    absolute and sorted by path: a relative glob is read in `base` (the folder of the file
    naming it), an absolute one from its drive's root; `**` reaches into sub-folders.
    A symbolic link keeps its own path (its folder and name: a pool's labels, a photo's
    name in the log), not its target's: two links to one file are two files."""
    root, path = base, expand_home(pattern)
    if path.is_absolute():
        root, pattern = Path(path.anchor), path.relative_to(path.anchor).as_posix()
    found = {
        Path(os.path.normpath(f.absolute()))
        for f in root.glob(pattern)
        if f.is_file() and f.suffix.lower() in extensions
    }
    return root, sorted(found, key=lambda f: f.as_posix())


class FolderRandomizer(RandomizerSpec):
    """A randomizer that picks files from a folder (`folder` option) by name.

    `prepare` lists the folder (config calls it with the parameter file's folder); the
    `image` parameter, when given, must name files of that folder, and without it each
    draw picks uniformly among them.
    """

    EXTENSIONS = IMAGE_EXTENSIONS
    PICK = "image"  # the parameter naming the picked file (set)
    REQUIRED_OPTIONS = ("folder",)
    PATH_OPTIONS = ("folder",)

    def __init__(self, params, options, trigger="frame", interval=1):
        super().__init__(params, options, trigger, interval)
        self.names: list[str] = []  # what can be picked, sorted
        self.folder: Path | None = None

    def candidates(self, files: list[Path]) -> list[str]:
        return [p.relative_to(self.folder).as_posix() for p in files]

    def none_picked(self, files: list[Path]) -> str:
        """What was expected of a folder whose image `files` give nothing to pick."""
        return f"a folder holding {' / '.join(self.EXTENSIONS)} files"

    def prepare(self, base: Path) -> list[tuple[str, object, str]]:
        raw = self.options.get("folder", "")
        if not raw:
            return [("folder", raw, f"a folder of {' / '.join(self.EXTENSIONS)} files, relative to the parameter file")]
        folder = named_path(base / expand_home(raw))
        if not folder.is_dir():
            hint = separator_hint(raw, folder)
            return [("folder", raw, f"an existing folder (looked for {folder.as_posix()}){hint}")]
        self.folder = folder  # (before candidates: names are paths below it)
        files = list_images(folder, self.EXTENSIONS, self.options.get("recursive", False))
        for f in files:
            problem = not_an_image_reason(f)
            if problem:
                return [("folder", f.as_posix(), problem)]
        self.names = self.candidates(files)
        if not self.names:
            if files:  # images, none of which can be picked (maps, another suffix)
                return [("folder", raw, self.none_picked(files))]
            return [("folder", raw, f"a folder holding {' / '.join(self.EXTENSIONS)} files (found none)")]
        d = self.params.get(self.PICK)
        problem = self.name_problem(self.PICK, listed_values(d)) if d is not None else None
        return [(self.PICK, *problem)] if problem else []

    def name_problem(self, param, values):
        missing = [v for v in values if v not in self.names]
        if param != self.PICK or not missing or not self.names:  # (no names: the folder's problem is said)
            return None
        shown = ", ".join(repr(n) for n in self.names[:8]) + (" ..." if len(self.names) > 8 else "")
        return missing[0], f"a name found in {self.folder.as_posix()} (found: {shown})"

    def resolved_extra(self):
        # the picks are positions in this list: other files, other frames (names only, no
        # machine path: shards on other machines resolve the same)
        return {"folder_files": self.names}

    def pick(self, rng: np.random.Generator, frame: int) -> str:
        d = self.params.get(self.PICK)
        if d is not None:
            return d.sample(rng, frame)
        return self.names[int(rng.integers(len(self.names)))]

    def sample(self, rng, frame, targets):
        out = {}
        for t in targets:
            values = {self.PICK: self.pick(rng, frame)}
            values.update({k: d.sample(rng, frame) for k, d in self.params.items() if k != self.PICK})
            out[t] = values
        return out


@register_randomizer
class Texture(FolderRandomizer):
    """Image textures from a folder on objects (or the ground): base colour, with optional
    normal and roughness maps found by name. Projected in object space (box mapping), so
    meshes need no UVs."""

    name = "texture"
    PARAMS = {
        "image": (
            STRING,
            'the base colour file (name with extension); default: any of the folder\'s sets, uniformly; e.g. `{ distribution = "choice", values = ["wood.png", "tiles.jpg"], weights = [3, 1] }`',
        ),
        "scale": (NUMBER, "repeats per metre of the object's local space (default 4)"),
        "rotation": (NUMBER, "rotation of the texture about the object's local Z, degrees (default 0)"),
    }
    OPTIONS = {
        "folder": (
            "",
            str,
            "folder of image files (`.png`, `.jpg`, `.jpeg`, `.tif`, `.tiff`, `.exr`, `.hdr`, `.bmp`, `.webp`, `.tga`), relative to the parameter file; read once when the file is validated, files directly in it (and below, with `recursive`), sorted by name (path below it)",
        ),
        "color_suffix": (
            "",
            str,
            'how base colour file names end before the extension, e.g. `"_Color"` (ambientCG) or `"_diff_1k"` (Poly Haven); '
            "their maps need their suffixes too (matched exactly, case included): ambientCG's "
            '`normal_suffix = "_NormalGL"`, `roughness_suffix = "_Roughness"`; Poly Haven\'s `"_nor_gl_1k"`, `"_rough_1k"`',
        ),
        "recursive": (
            False,
            bool,
            'also the files in its sub-folders, at any depth (a library of one folder per material, as ambientCG and Poly Haven ship them): each named by its path below the folder, e.g. `"Wood001/Wood001_Color.jpg"`, its maps found in its own folder; '
            "a sub-folder that is a symbolic link is not entered (as `find` and `**` do not; a link to a file is read)",
        ),
        "normal_suffix": (
            "_normal",
            str,
            "`NAME{color_suffix}.ext` has the normal map `NAME{normal_suffix}.*` (OpenGL convention, as Blender's Normal Map node; ambientCG's `\"_NormalGL\"`); a set without it has none, without a word",
        ),
        "roughness_suffix": (
            "_roughness",
            str,
            "... and the roughness map `NAME{roughness_suffix}.*`; without one, the object's roughness (asset `roughness`, `material` randomizer; a .blend object's own material's as built) applies",
        ),
    }
    PARAM_RANGES = {"scale": (0.0, 1e6), "rotation": (-1e6, 1e6)}

    def candidates(self, files):
        self.listing = files  # listed once (prepare): maps() never reads the folder again
        self._maps_by_folder = None  # {folder: {stem: path}} of the listing, made by maps()
        color, normal, rough = (self.options[k] for k in ("color_suffix", "normal_suffix", "roughness_suffix"))
        maps = [s for s in (normal, rough) if s]
        out = []
        for p in files:
            stem = p.stem
            if any(stem.endswith(s) for s in maps) and not (color and stem.endswith(color)):
                continue
            if color and not stem.endswith(color):
                continue
            out.append(p.relative_to(self.folder).as_posix())
        return out

    def none_picked(self, files):
        shown = ", ".join(repr(p.name) for p in files[:4]) + (" ..." if len(files) > 4 else "")
        color, normal, rough = (self.options[k] for k in ("color_suffix", "normal_suffix", "roughness_suffix"))
        why = [f"end in color_suffix {color!r} before the extension"] if color else []
        why += (
            [f"are not maps (ending in {' or '.join(repr(s) for s in (normal, rough) if s)})"]
            if normal or rough
            else []
        )
        return (
            f"a folder holding base colour images, files that {' and '.join(why) or 'are images'}: "
            f"none of its {len(files)} image files does ({shown})"
        )

    def maps(self, image: str) -> dict[str, Path]:
        """The files of one texture set: base colour, and normal / roughness if present."""
        base = self.folder / image
        if getattr(self, "_maps_by_folder", None) is None:
            # Indexed once: a dict of the whole listing per call took 0.3 s a target a frame
            # in a library of 10,000 files (ambientCG's maps), 15 s a frame for 50 targets.
            self._maps_by_folder = {}
            for p in self.listing:  # (a later file of one stem wins, as sorted)
                self._maps_by_folder.setdefault(p.parent, {})[p.stem] = p
        files = self._maps_by_folder.get(base.parent, {})  # its own folder's
        stem = (
            base.stem[: len(base.stem) - len(self.options["color_suffix"])]
            if self.options["color_suffix"]
            else base.stem
        )
        out = {"color": base}
        for key, option in (("normal", "normal_suffix"), ("roughness", "roughness_suffix")):
            suffix = self.options[option]
            if suffix and stem + suffix in files:
                out[key] = files[stem + suffix]
        return out


@register_randomizer
class WorldHdri(FolderRandomizer):
    """The world (background and lighting) from an HDRI of a folder."""

    name = "world_hdri"
    target_kind = None
    EXTENSIONS = HDRI_EXTENSIONS
    PARAMS = {
        "image": (STRING, "the HDRI file (name with extension); default: any of the folder's, uniformly"),
        "strength": (NUMBER, "multiplies the HDRI's radiance (default 1)"),
        "rotation": (
            NUMBER,
            "turns the environment about world Z, degrees (default 0): clockwise seen from above (what showed at"
            " azimuth a, counter-clockwise from +X, shows at a − rotation), as Blender's Mapping node and"
            " BlenderProc's `rotation_euler` (radians there) turn it",
        ),
    }
    OPTIONS = {
        "folder": (
            "",
            str,
            "folder of `.hdr` / `.exr` files, relative to the parameter file (files directly in it, and below with `recursive`; sorted by name, path below it)",
        ),
        "recursive": (
            False,
            bool,
            'also the files in its sub-folders, at any depth: each named by its path below the folder, e.g. `"outdoor/sky_2k.hdr"`; '
            "a sub-folder that is a symbolic link is not entered (as `find` and `**` do not; a link to a file is read)",
        ),
    }
    PARAM_RANGES = {"strength": (0.0, 1e9), "rotation": (-1e6, 1e6)}

    def sample(self, rng, frame, targets):
        return {"world": super().sample(rng, frame, ["world"])["world"]}


@register_randomizer
class ProceduralTexture(RandomizerSpec):
    """Procedural textures (noise, voronoi, checker) with two colours: needs no files."""

    name = "procedural_texture"
    PARAMS = {
        "pattern": (STRING, '`"noise"`, `"voronoi"` or `"checker"` (any case); default: any of them, uniformly'),
        "scale": (NUMBER, "pattern frequency per metre of the object's local space (default 4)"),
        "color": (COLOR, "first colour, linear RGB of the working colour space (default: the object's colour)"),
        "color2": (COLOR, "second colour, linear RGB of the working colour space (default `[0.05, 0.05, 0.05]`)"),
        "roughness": (
            NUMBER,
            "0 (mirror) .. 1 (matte) (default: the object's roughness; a .blend object's own material's as built)",
        ),
    }
    PARAM_RANGES = {"scale": (0.0, 1e6), "roughness": (0.0, 1.0)}

    def name_problem(self, param, values):
        bad = [v for v in values if not isinstance(v, str) or v.lower() not in PATTERNS]
        return (bad[0], f"one of {', '.join(PATTERNS)}") if param == "pattern" and bad else None

    def prepare(self, base):
        d = self.params.get("pattern")
        problem = self.name_problem("pattern", listed_values(d)) if d is not None else None
        return [("pattern", *problem)] if problem else []

    def sample(self, rng, frame, targets):
        out = {}
        for t in targets:
            d = self.params.get("pattern")
            values = {"pattern": d.sample(rng, frame) if d is not None else PATTERNS[int(rng.integers(len(PATTERNS)))]}
            values.update({k: d.sample(rng, frame) for k, d in self.params.items() if k != "pattern"})
            out[t] = values
        return out


@register_randomizer
class MaterialSwap(RandomizerSpec):
    """Give objects one of the scene's materials, per object, meshes untouched."""

    name = "material_swap"
    PARAMS = {
        "material": (
            STRING,
            'material name; usually `{ distribution = "choice", values = ["Wood", "Steel", "Rubber"] }`. A name the scene lacks is refused when the scene is built (validate and render, exit 2, nothing written), with the list of its materials',
        )
    }
    OPTIONS = {
        "materials": (
            "",
            str,
            'a glob: instead of `material`, pick uniformly among the scene\'s materials whose names match, e.g. `"*"` or `"Metal*"` (listed once when the scene is built, sorted; the picked name is logged). Give `material` or `materials`, not both',
        ),
    }

    def __init__(self, params, options, trigger="frame", interval=1):
        super().__init__(params, options, trigger, interval)
        self.pool: list[str] = []

    def prepare(self, base):
        pattern = self.options["materials"]
        if "material" in self.params and pattern:
            return [("materials", pattern, "not together with material: give material (names) or materials (a glob)")]
        if "material" not in self.params and not pattern:
            return [("material", None, "either material (names) or the materials option (a glob), one of the two")]
        return []

    def bind(self, facts):
        pattern = self.options["materials"]
        names = facts.get("materials", [])
        if not pattern:  # the names given: each one the scene has, before anything is written
            d = self.params.get("material")
            missing = [v for v in (listed_values(d) if d is not None else []) if v not in names]
            if missing:
                return "material", missing[0], f"the name of a material of the scene (its materials: {names})"
            return None
        self.pool = sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))
        if not self.pool:
            return "materials", pattern, f"a glob matching a material of the scene (its materials: {names})"
        return None

    def sample(self, rng, frame, targets):
        if "material" in self.params:
            return super().sample(rng, frame, targets)
        return {t: {"material": self.pool[int(rng.integers(len(self.pool)))]} for t in targets}


@register_randomizer
class Sky(RandomizerSpec):
    """A generated, physically based sky (Blender's Nishita / multiple-scattering model)."""

    name = "sky"
    target_kind = None
    PARAMS = {
        "sun_elevation": (NUMBER, "sun angle above the horizon, degrees"),
        "sun_rotation": (
            NUMBER,
            "sun direction about world Z, degrees clockwise from +Y seen from above (90: the sun in +X), as Blender's Sky Texture turns it",
        ),
        "altitude": (NUMBER, "viewer altitude, metres"),
        "air": (NUMBER, "air density (1 = Earth's): more air, more blue and redder sunsets"),
        "aerosol": (NUMBER, "dust / aerosol density (1 = Earth's): haze"),
        "ozone": (NUMBER, "ozone density (1 = Earth's)"),
        "strength": (NUMBER, "multiplies the sky's radiance"),
    }
    PARAM_RANGES = {
        "sun_elevation": (-90.0, 90.0),
        "sun_rotation": (-1e6, 1e6),
        "altitude": (0.0, 60000.0),
        "air": (0.0, 10.0),
        "aerosol": (0.0, 10.0),
        "ozone": (0.0, 10.0),
        "strength": (0.0, 1e9),
    }

    def sample(self, rng, frame, targets):
        return {"world": {k: d.sample(rng, frame) for k, d in self.params.items()}}


# --------------------------------------------------------------- colour temperature
# CIE 1931 2-degree standard observer (CIE 015:2018's table) at 10 nm from 380 to 780 nm:
# x-bar, y-bar, z-bar. Summed against Planck's law at these wavelengths, a black body's
# colour is within 0.1 % of the 1 nm integral from 800 to 40000 K.
_CIE1931_10NM = np.array(
    [
        [0.001368, 0.000039, 0.006450],
        [0.004243, 0.000120, 0.020050],
        [0.014310, 0.000396, 0.067850],
        [0.043510, 0.001210, 0.207400],
        [0.134380, 0.004000, 0.645600],
        [0.283900, 0.011600, 1.385600],
        [0.348280, 0.023000, 1.747060],
        [0.336200, 0.038000, 1.772110],
        [0.290800, 0.060000, 1.669200],
        [0.195360, 0.090980, 1.287640],
        [0.095640, 0.139020, 0.812950],
        [0.032010, 0.208020, 0.465180],
        [0.004900, 0.323000, 0.272000],
        [0.009300, 0.503000, 0.158200],
        [0.063270, 0.710000, 0.078250],
        [0.165500, 0.862000, 0.042160],
        [0.290400, 0.954000, 0.020300],
        [0.433450, 0.994950, 0.008750],
        [0.594500, 0.995000, 0.003900],
        [0.762100, 0.952000, 0.002100],
        [0.916300, 0.870000, 0.001650],
        [1.026300, 0.757000, 0.001100],
        [1.062200, 0.631000, 0.000800],
        [1.002600, 0.503000, 0.000340],
        [0.854450, 0.381000, 0.000190],
        [0.642400, 0.265000, 0.000050],
        [0.447900, 0.175000, 0.000020],
        [0.283500, 0.107000, 0.000000],
        [0.164900, 0.061000, 0.000000],
        [0.087400, 0.032000, 0.000000],
        [0.046770, 0.017000, 0.000000],
        [0.022700, 0.008210, 0.000000],
        [0.011359, 0.004102, 0.000000],
        [0.005790, 0.002091, 0.000000],
        [0.002899, 0.001047, 0.000000],
        [0.001440, 0.000520, 0.000000],
        [0.000690, 0.000249, 0.000000],
        [0.000332, 0.000120, 0.000000],
        [0.000166, 0.000060, 0.000000],
        [0.000083, 0.000030, 0.000000],
        [0.000042, 0.000015, 0.000000],
    ]
).T
_CIE1931_NM = np.arange(380.0, 781.0, 10.0)
# XYZ -> linear Rec.709 (sRGB primaries, D65).
_XYZ_TO_REC709 = np.array(
    [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]]
)


def blackbody_xyz(kelvin: float) -> list[float]:
    """CIE XYZ of a black body at `kelvin`, scaled to Y (luminance) 1: Planck's law
    integrated against the CIE 1931 observer (380-780 nm)."""
    lam = _CIE1931_NM * 1e-9
    c1, c2 = 3.741771852e-16, 1.438776877e-2
    radiance = c1 / (lam**5 * np.expm1(c2 / (lam * float(kelvin))))
    xyz = _CIE1931_10NM @ radiance
    return [float(v) for v in xyz / xyz[1]]


def blackbody_rgb(kelvin: float) -> list[float]:
    """Linear Rec.709 colour of a black body at `kelvin`, scaled so its largest component is 1.

    Planck's law integrated against the CIE 1931 observer (380-780 nm). 6504 K is close to
    white (D65); lower is warmer (orange), higher cooler (blue). Components may be clipped
    at 0 for very low temperatures (outside the sRGB gamut).
    """
    rgb = np.clip(_XYZ_TO_REC709 @ np.asarray(blackbody_xyz(kelvin)), 0.0, None)
    return [float(v) for v in rgb / rgb.max()]


def blackbody_light_rgb(kelvin: float, tint=(1.0, 1.0, 1.0)) -> list[float]:
    """A light's colour at `kelvin`, times `tint`: the black body's linear Rec.709 colour
    scaled to luminance 1, as Blender's own light temperature (4.4+) scales it, so that a
    light's energy gives the same brightness at every temperature (components may pass 1)."""
    rgb = np.asarray(blackbody_rgb(kelvin))
    rgb = rgb / float(rgb @ REC709_LUMA)
    return [float(c) * float(t) for c, t in zip(rgb, tint)]
