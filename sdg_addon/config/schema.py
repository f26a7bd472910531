"""The parameter file: typed settings, validated all at once (docs/parameters.md).

One schema for TOML and JSON. `load_config(path)` returns a `Config` or raises
`ConfigError` listing every problem with file, field, value and what was expected.
Config is data: nothing in a parameter file is evaluated or imported.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import os
import re
import stat
import tomllib
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..annotators import ANNOTATORS
from ..annotators.lidar import PRESETS as LIDAR_PRESETS
from ..home import expand_home
from ..labels.rules import DEFAULT_SUFFIX, SCOPES, NameRule
from ..pinhole import MAX_PIXEL_ASPECT, blender_lens_for
from ..sampling.appearance import glob_files, glob_hint, named_path, real_path, separator_hint
from ..sampling.cases import CASE_FIELDS, CaseSpec
from ..sampling.distributions import (
    Constant,
    Distribution,
    as_spec,
    check_distribution_spec,
    is_distribution_spec,
    is_per_axis_shorthand,
    make_distribution,
    missing_distribution_hint,
)
from ..sampling.physics import InitialVelocity
from ..sampling.randomizers import (
    ANY,
    BOOL,
    COLOR,
    NUMBER,
    NUMBER_OR_VEC3,
    RANDOMIZERS,
    STRING,
    STRINGS,
    VEC3,
    Light,
    RandomizerSpec,
)
from ..sensors import SENSOR_KINDS
from ..sensors.thermal import FILE_TEMPERATURES, FILE_TEMPERATURES_TEXT, T_MAX, T_MIN, ZERO_CELSIUS, to_kelvin
from ..writers.basic import one_folder_problem
from ..writers.common import SPLIT_CAMERA_NAMED, split_camera_clash
from ..writers.paths import safe_name, sensor_folder_problem
from ..writers.plugins import writer_registry
from ..writers.yolo import decimals_problem as yolo_decimals_problem
from .fields import (
    BACKSLASH_ESCAPES,
    LABEL_TEXT,
    LABEL_TYPE_TEXT,
    MAX_NAME_BYTES,
    MAX_STRING_CHARS,
    Field,
    check_value,
    composed,
    escape_hint,
    is_glob_text,
    is_label_text,
    is_label_type,
    is_string_text,
    option_default,
    read_section,
    section_class,
)
from .problems import (
    MISSING,
    ConfigError,
    FieldError,
    OptionError,
    Problem,
    Problems,
    Repeated,
    did_you_mean,
    join,
    one_of,
)
from .toml_out import key as toml_key

DEVICES = ("auto", "cpu", "cuda", "optix", "hip", "metal", "oneapi")
# Blender's views for an sRGB display (5.0; 4.2 has all but the ACES ones, checked when the run starts).
VIEW_TRANSFORMS = (
    "Standard",
    "AgX",
    "Filmic",
    "Raw",
    "Khronos PBR Neutral",
    "ACES 1.3",
    "ACES 2.0",
    "Filmic Log",
    "False Color",
)
CYCLES_MAX = 1024  # Cycles' (and Blender's threads') own limit: a larger value would be set to it silently
PRIMITIVES = ("cube", "sphere", "cylinder", "cone", "torus", "monkey", "plane", "table")
ASSET_EXTENSIONS = (".blend", ".glb", ".gltf", ".obj", ".fbx", ".ply", ".stl", ".usd", ".usda", ".usdc", ".usdz")
LIGHT_TYPES, AREA_SHAPES = Light.TYPES, Light.SHAPES  # [[lights]] take the light randomizer's
DEFAULT_ANNOTATORS = (
    "rgb",
    "distance_to_image_plane",
    "instance_segmentation",
    "semantic_segmentation",
    "bounding_box_2d_tight",
    "camera_params",
)


MAX_FRAMES = 10_000_000  # per parameter file (split bigger datasets into several runs / seeds)
MIN_RESOLUTION = 4  # Blender's limit per side: a smaller size is rendered at 4 pixels without a word
MAX_RESOLUTION = 65536  # Blender's limit per side
MAX_PIXELS = 8192 * 8192  # per image: the passes of a larger one do not fit in memory
MAX_SAMPLES = 2**24  # Cycles' limit
MAX_PIXEL_SAMPLES = 2**36  # width x height x samples: about an hour per camera per frame on a GPU
MAX_NESTING = 32  # tables and arrays inside each other; a real file needs 5

RUN_FIELDS = (
    Field("seed", "int", 0, "seed of every sampled value (see determinism)", low=0, high=2**63 - 1),
    Field("frames", "int", 10, "number of frames; frame indices are 0 .. frames-1", low=1, high=MAX_FRAMES),
    Field(
        "output",
        "str",
        "",
        "output folder, relative to the working folder; `render --out` overrides it",
        default_text='`"out/<file name without extension>"` (a name every system takes: `aux.toml`\'s `out/_aux-HASH`)',
    ),
)

RENDER_FIELDS = (
    Field(
        "width", "int", 640, "image width in pixels (or `resolution = [w, h]`)", low=MIN_RESOLUTION, high=MAX_RESOLUTION
    ),
    Field(
        "height",
        "int",
        480,
        "image height in pixels (or `resolution = [w, h]`)",
        low=MIN_RESOLUTION,
        high=MAX_RESOLUTION,
    ),
    Field("samples", "int", 64, "Cycles samples per pixel (Cycles' own limit)", low=1, high=MAX_SAMPLES),
    Field(
        "noise_threshold",
        "float",
        0.0,
        "Cycles adaptive sampling (BlenderProc's `set_noise_threshold`): a pixel stops once its noise is below this, `samples` being the most it takes; e.g. `0.01`. `0`: off, every pixel takes `samples`",
        low=0,
        high=1,
    ),
    Field(
        "device",
        "choice",
        "auto",
        "`auto` takes a GPU backend if Cycles finds one, else the CPU; `render --device` overrides it",
        choices=DEVICES,
        fold_case=True,
    ),
    Field("denoise", "bool", False, "Cycles denoising of the RGB image"),
    Field(
        "view_transform",
        "choice",
        "Standard",
        "colour management of the RGB image, as Blender's View Transform (`Standard`: sRGB); one this Blender has (4.2: no ACES)",
        choices=VIEW_TRANSFORMS,
    ),
    Field(
        "look",
        "str",
        "None",
        "Blender's look (a contrast curve before the view transform) of the view's family, e.g. "
        '`"AgX - Punchy"`, `"Medium High Contrast"` (checked when the run starts); `"None"` or `""`: none',
    ),
    Field(
        "exposure",
        "float",
        0.0,
        "stops: the render's linear RGB is scaled by 2^exposure before the view transform (Blender's Exposure)",
        low=-32.0,
        high=32.0,
    ),
    Field(
        "gamma",
        "float",
        1.0,
        "applied after the view transform: each display value v becomes v^(1/gamma) (Blender's Gamma)",
        low=0.01,
        high=5.0,
    ),
    Field(
        "film_transparent",
        "bool",
        False,
        "transparent background in RGB (alpha 0 where the world shows; colour stored straight, as Blender's PNG); the `background` randomizer needs it",
    ),
    Field(
        "max_bounces", "int", 8, "Cycles light path bounces in total (caps the per-type limits)", low=0, high=CYCLES_MAX
    ),
    Field(
        "diffuse_bounces",
        "int",
        3,
        "bounces off diffuse surfaces (indirect light, colour bleeding)",
        low=0,
        high=CYCLES_MAX,
    ),
    Field(
        "glossy_bounces",
        "int",
        4,
        "bounces off glossy surfaces (metal, reflections of reflections)",
        low=0,
        high=CYCLES_MAX,
    ),
    Field(
        "transmission_bounces",
        "int",
        8,
        "bounces through glass and other transmissive surfaces",
        low=0,
        high=CYCLES_MAX,
    ),
    Field("volume_bounces", "int", 0, "scattering events in volumes (smoke, fog)", low=0, high=CYCLES_MAX),
    Field(
        "transparent_bounces",
        "int",
        8,
        "transparent (alpha) surfaces a ray passes; the next one it meets renders opaque black and owns the pixel in the masks",
        low=0,
        high=CYCLES_MAX,
    ),
    Field("light_tree", "bool", True, "Cycles light tree: sample the lights that matter at each point"),
    Field("caustics", "bool", False, "reflective and refractive caustics (light focused by glass or mirrors)"),
    Field(
        "denoiser",
        "choice",
        "oidn",
        "denoiser when `denoise = true`: `oidn` (Open Image Denoise, any device; BlenderProc's INTEL) or `optix` "
        "(NVIDIA GPUs); alone it denoises nothing (BlenderProc's set_denoiser turns denoising on: here "
        "`denoise = true` does)",
        choices=("oidn", "optix"),
        fold_case=True,
    ),
    Field("persistent_data", "bool", True, "keep render data between frames (faster; leave on)"),
    Field(
        "threads",
        "int",
        0,
        "CPU threads, `0` = all; on a GPU Blender's own threads, where `2` frees cores for annotation at the same frames/s",
        low=0,
        high=CYCLES_MAX,
    ),
    Field(
        "alpha_threshold",
        "float",
        0.5,
        "masks and depth: a surface owns a pixel when its alpha is at least this (glass is not alpha)",
        low=0,
        high=1,
    ),
)
RenderSettings = section_class("RenderSettings", RENDER_FIELDS)

BASE_SCENE_FIELDS = (
    Field(
        "blend",
        "str",
        "",
        "base scene: a .blend file (relative to this file) whose objects, cameras, lights, world and materials "
        "are used as they are; opened read-only and copied into audit/inputs",
    ),
    Field(
        "scene",
        "str",
        "",
        "scene of the .blend to use (default: its only scene, else the one named `Scene`, which the run names "
        "with the others in a warning: Blender opens the file on the scene it was saved with; else name one; a "
        "name typed composed (NFC) names the scene spelt decomposed (NFD) that prints alike); audit/resolved.json "
        "names the one recorded",
    ),
    Field(
        "cameras",
        "strings",
        [],
        "name globs of the .blend's cameras to render (default: every camera of the scene not disabled for rendering "
        "and not in a collection excluded from the view layer or disabled for rendering); `[[cameras]]` add to them; "
        "globs and names are compared composed (NFC), as the scene's name",
    ),
    Field(
        "lights",
        "strings",
        ["*"],
        "name globs of the .blend's lights to keep (compared composed, NFC); the others are switched off for the run; "
        "a glob matching none of its lights is refused (`[]`: none kept)",
    ),
)
# `[[label_rules]]` entries (labels.rules.NameRule); the Labels panel offers the same settings.
LABEL_RULE_FIELDS = (
    Field("type", "str", "class", "label type the rule sets, e.g. `class`"),
    Field(
        "pattern",
        "str",
        "",
        "regular expression searched in the stripped name; its group `value` (or first group) is the value; empty: the stripped name",
    ),
    Field("prefixes", "strings", [], 'literal prefixes removed first (the first that matches), e.g. `["SM_", "GEO_"]`'),
    Field(
        "suffix",
        "str",
        DEFAULT_SUFFIX,
        "regular expression removed from the end of the name (default: counters like `_003`, `.001`)",
    ),
    Field("lowercase", "bool", True, "lower-case the value"),
    Field(
        "scope",
        "choice",
        "meshes",
        "what is labelled: mesh objects, all objects, or collections",
        choices=SCOPES,
        fold_case=True,
    ),
    Field(
        "names",
        "strings",
        ["*"],
        "only objects / collections whose name, or its part after the last `/` (an imported part's name in its file), matches one of these globs",
    ),
    Field(
        "overwrite",
        "bool",
        False,
        "replace a label of this type the object already has, its own or inherited (from its asset's `labels`, collections, parents); else it is kept",
    ),
)


BaseSceneSpec = section_class("BaseSceneSpec", BASE_SCENE_FIELDS, extra=(("blend_sha256", str, field(default="")),))

TEMPERATURE_UNITS = ("K", "C")
PALETTES = ("iron", "white_hot", "black_hot", "rainbow")

THERMAL_FIELDS = (
    Field(
        "unit",
        "choice",
        "K",
        "unit of every temperature in the file (`temperature`, `preview_min/max`, `ambient`, the `thermal` "
        "randomizer): kelvin or degrees Celsius; thermal images are always written in kelvin",
        choices=TEMPERATURE_UNITS,
        fold_case=True,
    ),
    Field(
        "ambient",
        "float",
        None,
        f"temperature of surfaces (and of the world) that set none; {FILE_TEMPERATURES_TEXT}",
        low=FILE_TEMPERATURES[0],
        high=FILE_TEMPERATURES[1],
        nullable=True,
        default_text="293.15 K (20 °C)",
    ),
    Field("emissivity", "float", 0.95, "LWIR emissivity of surfaces that set none", low=0, high=1),
)
ThermalSettings = section_class("ThermalSettings", THERMAL_FIELDS)
DEFAULT_AMBIENT_K = 293.15


def _temperature_field(what: str) -> Field:
    return Field(
        "temperature",
        "float",
        None,
        f"thermal cameras: {what}, in `thermal.unit` ({FILE_TEMPERATURES_TEXT}); also the custom property "
        "`sdg_temperature` (kelvin)",
        low=FILE_TEMPERATURES[0],
        high=FILE_TEMPERATURES[1],
        nullable=True,
        default_text="`thermal.ambient`",
    )


def _emissivity_field() -> Field:
    return Field(
        "emissivity",
        "float",
        None,
        "LWIR emissivity 0 .. 1; reflects its surroundings by 1 − emissivity (property `sdg_emissivity`)",
        low=0,
        high=1,
        nullable=True,
        default_text="`thermal.emissivity`",
    )


def _nir_field() -> Field:
    return Field(
        "nir_reflectance",
        "float",
        None,
        "NIR cameras: reflectance 0 .. 1 (property `sdg_nir_reflectance`, also on a material)",
        low=0,
        high=1,
        nullable=True,
        default_text="from `color` (docs/sensors.md)",
    )


WORLD_FIELDS = (
    Field("color", "color", [0.05, 0.05, 0.05], "linear RGB of the working colour space"),
    Field("strength", "float", 1.0, "emission strength (multiplies `color`)", low=0),
    _temperature_field("temperature of the sky / surroundings, a black body"),
)
WorldSpec = section_class("WorldSpec", WORLD_FIELDS)

# Keys every [[randomizers]] entry takes, whatever its type: when it draws new values.
TRIGGER_FIELDS = (
    Field(
        "trigger",
        "choice",
        "frame",
        "`frame`: draw new values every `interval` frames (Replicator's `on_frame(interval)`); "
        "`once`: draw once per run (at frame 0) and keep them for every frame",
        choices=("frame", "once"),
    ),
    Field(
        "interval",
        "int",
        1,
        'with `trigger = "frame"`: draw at frames 0, N, 2N, ...; the frames between repeat '
        "the values of the last draw (frame f shows the draw of frame f - f % N)",
        low=1,
    ),
)

MAX_COORD = 1e6  # metres: beyond this Blender's single-precision geometry breaks down
SANITY_LIMIT = 1e6  # parameter ranges this wide are sanity limits, not meanings (see _support_within)
MAX_SIZE = 1e6  # metres or a scale factor
MAX_COUNT = 10000  # copies of one asset, and objects of all assets together
MIN_LENS_MM = 1.0  # Blender's least lens and sensor width: a smaller one is set to 1 mm without a word

CAMERA_FIELDS = (
    Field(
        "name",
        "name",
        "",
        "unique among cameras, lights and assets (object names); not a folder the tool makes in the "
        "output folder (`audit`, a writer's, `preview`, `report`, `clip_N`, `frames_N`): it names the "
        "camera's sub-folder there",
        required=True,
    ),
    Field("location", "vec3", [0.0, 0.0, 0.0], "metres", low=-MAX_COORD, high=MAX_COORD, required=True),
    Field(
        "look_at",
        "vec3",
        None,
        "point the camera aims at (its up is +Z); not its `location`. To aim at an object (Replicator's "
        "`look_at` a prim): a `camera` randomizer's `look_at_objects`",
        low=-MAX_COORD,
        high=MAX_COORD,
        nullable=True,
        default_text="`[0, 0, 0]` if no `rotation`",
    ),
    Field(
        "rotation",
        "vec3",
        None,
        "XYZ Euler degrees, used instead of `look_at` (give one of the two); `[0, 0, 0]` looks down −Z",
        low=-MAX_COORD,
        high=MAX_COORD,
        nullable=True,
        default_text="–",
    ),
    Field(
        "projection",
        "choice",
        "perspective",
        "camera model (orthographic: see `ortho_scale`); Replicator's pinhole is perspective, its fisheye models have "
        "no counterpart",
        choices=("perspective", "orthographic"),
    ),
    Field(
        "focal_length",
        "float",
        35.0,
        "millimetres (perspective; Blender's lens is at least 1 mm)",
        low=MIN_LENS_MM,
        high=MAX_SIZE,
    ),
    Field(
        "sensor_width",
        "float",
        36.0,
        "millimetres; the sensor fits the larger image side (Blender's sensor is at least 1 mm)",
        low=MIN_LENS_MM,
        high=MAX_SIZE,
    ),
    Field(
        "fx",
        "float",
        None,
        "focal length in pixels (a K matrix's fx), instead of `focal_length`: focal_length = fx × sensor_width / the larger image side (perspective; counted in pixel widths when `fy` ≠ `fx`)",
        low=0,
        strict_low=True,
        high=MAX_SIZE,
        nullable=True,
        default_text="from `focal_length`",
    ),
    Field(
        "fy",
        "float",
        None,
        "focal length in pixels along y (a K matrix's fy), with `fx`: fy ≠ fx renders non-square pixels (Blender's pixel aspect), fx / 200 .. fx × 200",
        low=0,
        strict_low=True,
        high=MAX_SIZE,
        nullable=True,
        default_text="`fx` (square pixels)",
    ),
    Field(
        "cx",
        "float",
        None,
        "principal point x in pixels from the image's left edge (a K matrix's cx, in camera_params' convention: add 0.5 to OpenCV's or BlenderProc's), 0 .. width; Blender's lens shift",
        low=0,
        high=MAX_RESOLUTION,
        nullable=True,
        default_text="width / 2",
    ),
    Field(
        "cy",
        "float",
        None,
        "principal point y in pixels from the image's top edge (a K matrix's cy, same convention), 0 .. height",
        low=0,
        high=MAX_RESOLUTION,
        nullable=True,
        default_text="height / 2",
    ),
    Field(
        "ortho_scale",
        "float",
        2.0,
        "metres seen across the larger image side (orthographic)",
        low=0,
        strict_low=True,
        high=MAX_SIZE,
    ),
    Field("clip_start", "float", 0.01, "near clip, metres (Blender's least: 1e-6)", low=1e-6, high=MAX_SIZE),
    Field(
        "clip_end", "float", 100.0, "far clip, metres; more than `clip_start`", low=0, strict_low=True, high=MAX_SIZE
    ),
    Field(
        "sensor",
        "choice",
        "visible",
        "`thermal`: LWIR 8-14 µm, radiometric kelvin image; `nir`: near-infrared grey image (docs/sensors.md)",
        choices=SENSOR_KINDS,
    ),
    Field(
        "width",
        "int",
        None,
        "image width of this camera in pixels (with `height`; e.g. a 640 x 512 thermal camera beside a larger RGB one)",
        low=MIN_RESOLUTION,
        high=MAX_RESOLUTION,
        nullable=True,
        default_text="`render.width`",
    ),
    Field(
        "height",
        "int",
        None,
        "image height of this camera in pixels (with `width`)",
        low=MIN_RESOLUTION,
        high=MAX_RESOLUTION,
        nullable=True,
        default_text="`render.height`",
    ),
    Field(
        "rig",
        "str",
        None,
        "name of another camera this one is mounted on (shared pose, e.g. RGB-thermal pair), of the parameter file "
        "or of the base .blend: `location` and "
        "`rotation` are then relative to it, in its axes (x right, y up, looking down −Z); no `look_at`",
        nullable=True,
        default_text="–",
    ),
    Field("netd", "float", 0.05, "thermal: noise (NETD), kelvin standard deviation per pixel", low=0, high=10),
    Field("vignetting", "float", 0.0, "thermal, nir: fraction of the signal lost in the image corners", low=0, high=1),
    Field("blur", "float", 0.0, "thermal, nir: Gaussian optical blur, sigma in pixels", low=0, high=100),
    Field("palette", "choice", "iron", "thermal: colours of the 8-bit preview (its `rgb` image)", choices=PALETTES),
    Field(
        "preview_min",
        "float",
        None,
        f"thermal: temperature at the cold end of the palette (`thermal.unit`; {FILE_TEMPERATURES_TEXT})",
        low=FILE_TEMPERATURES[0],
        high=FILE_TEMPERATURES[1],
        nullable=True,
        default_text="1st percentile of the frame",
    ),
    Field(
        "preview_max",
        "float",
        None,
        f"thermal: temperature at the hot end of the palette (`thermal.unit`; {FILE_TEMPERATURES_TEXT})",
        low=FILE_TEMPERATURES[0],
        high=FILE_TEMPERATURES[1],
        nullable=True,
        default_text="99th percentile of the frame",
    ),
    Field(
        "illuminator_power",
        "float",
        20.0,
        "nir: active illuminator (a spot light at the camera), watts",
        low=0,
        high=1e6,
    ),
    Field("illuminator_angle", "float", 60.0, "nir: illuminator cone, degrees", low=1, high=180),
    Field(
        "projector",
        "choice",
        "none",
        "nir: `dots` makes the illuminator project a dot pattern",
        choices=("none", "dots"),
    ),
    Field("projector_dots", "float", 40.0, "nir: dots across the illuminator's cone", low=1, high=10000),
    Field("exposure", "float", 0.0, "nir: exposure in stops before the 8-bit image", low=-20, high=20),
)
CameraSpec = section_class("CameraSpec", CAMERA_FIELDS)

MAX_LIGHTS = 1000  # lights from one entry (each is sampled in every frame)
LIGHT_FIELDS = (
    Field("name", "name", "", "unique among cameras, lights and assets", required=True),
    Field(
        "type",
        "choice",
        "AREA",
        "Replicator's (USD's) light types: Sphere is POINT, Distant SUN, Rect and Disk AREA (`shape` RECTANGLE or "
        "DISK); a Dome is the world "
        "(`scene.world`, `world_hdri`)",
        choices=LIGHT_TYPES,
        fold_case=True,
    ),
    Field(
        "location",
        "vec3",
        [0.0, 0.0, 3.0],
        "metres (a sun's location does not matter, only its direction)",
        low=-MAX_COORD,
        high=MAX_COORD,
    ),
    Field(
        "look_at",
        "vec3",
        None,
        "aim sun, spot and area lights at this point (not their `location`); without it they point down −Z",
        low=-MAX_COORD,
        high=MAX_COORD,
        nullable=True,
        default_text="–",
    ),
    Field("energy", "float", 500.0, "watts (point, spot, area); W/m² (sun)", low=0, high=1e9),
    Field("color", "color", [1.0, 1.0, 1.0], "linear RGB of the working colour space"),
    Field(
        "size",
        "float",
        1.0,
        "metres: side of an area light (a disk's diameter, a rectangle's or ellipse's width, X), radius of a point or spot light (soft shadows); unused for a sun; a light made another type by a `light` entry's `light_type` keeps it as that type's size",
        low=0,
        high=MAX_SIZE,
    ),
    Field(
        "shape",
        "choice",
        "SQUARE",
        "an area light's shape, as Blender's Shape (Replicator's Rect and Disk lights; any case): the same power "
        'whatever the shape; only on `type = "area"`',
        choices=AREA_SHAPES,
        fold_case=True,
    ),
    Field(
        "size_y",
        "float",
        None,
        "metres: height (Y) of a RECTANGLE or ELLIPSE area light, whose width is `size` (default: `size`)",
        low=0,
        high=MAX_SIZE,
        nullable=True,
        default_text="`size`",
    ),
    Field(
        "count",
        "int",
        1,
        'number of such lights (Replicator\'s `count`): `NAME_000`, `NAME_001`, ... (each at most 63 bytes) each as given here until a `light` randomizer (`targets = "NAME_*"`) sets it',
        low=1,
        high=MAX_LIGHTS,
    ),
)
LightSpec = section_class("LightSpec", LIGHT_FIELDS)


def light_names(light) -> list[str]:
    """The lights an entry makes: NAME, or NAME_000 .. for count > 1 (as assets' copies)."""
    return [light.name] if light.count == 1 else [f"{light.name}_{k:03d}" for k in range(light.count)]


ASSET_FIELDS = (
    Field("name", "name", "", "unique; names the object(s) randomizer `targets` match", required=True),
    Field(
        "primitive",
        "choice",
        None,
        "a procedural mesh (see below)",
        choices=PRIMITIVES,
        fold_case=True,
        nullable=True,
        default_text="–",
    ),
    Field(
        "file",
        "str",
        None,
        "a model file, relative to the file naming it; must exist (stored resolved to an absolute path)",
        nullable=True,
        default_text="–",
    ),
    Field(
        "files",
        "str",
        None,
        "an asset pool: a glob of model files (`assets/mugs/*.glb`, `**` for sub-folders), relative to the "
        "file naming it; each file is loaded once and is its own object `NAME_000`, `NAME_001`, ... (sorted by path)",
        nullable=True,
        default_text="–",
    ),
    Field(
        "blend_assets",
        "str",
        None,
        "asset pools of `.blend` files (an Asset Browser library): a glob of asset names; each object or "
        'collection marked as an asset whose name matches (`"*"`: every one) is its own member, instead of '
        "each file (see above)",
        nullable=True,
        default_text="–",
    ),
    Field(
        "label_from",
        "choice",
        "labels",
        "asset pools: each member's `class` label from `labels` (all alike), its `folder` name, its "
        "`top_folder` (the first folder below the glob's fixed part: `gso/*/meshes/model.obj` -> each object's "
        "folder, `models/**/*.glb` -> `mug` for `models/mug/v2/a.glb`), its `file` name (without extension) or, "
        "with `blend_assets`, its `asset` name",
        choices=("labels", "folder", "top_folder", "file", "asset"),
    ),
    Field("objects", "str", "*", "glob: which mesh objects of the file to take (by object name)"),
    Field("labels", "labels", {}, 'semantic labels of every copy, e.g. `{ class = "mug" }`', default_text="`{}`"),
    Field(
        "count",
        "int",
        1,
        "number of copies (of each file, in a pool; all assets together at most 10000 objects), named "
        "`NAME_000`, `NAME_001`, ...: each at most 63 bytes, so a name of at most 59 bytes",
        low=1,
        high=MAX_COUNT,
    ),
    Field(
        "location",
        "vec3",
        [0.0, 0.0, 0.0],
        "metres, until a `pose` randomizer moves it",
        low=-MAX_COORD,
        high=MAX_COORD,
    ),
    Field("rotation", "vec3", [0.0, 0.0, 0.0], "XYZ Euler degrees", low=-MAX_COORD, high=MAX_COORD),
    Field(
        "scale",
        "float",
        1.0,
        "uniform scale factor; per axis (Replicator's `scale=(x, y, z)`): a `pose` randomizer's `scale = [x, y, z]`",
        low=0,
        strict_low=True,
        high=MAX_SIZE,
    ),
    Field(
        "size",
        "float",
        0.2,
        "primitives: largest extent in metres (files keep their own size; use `scale`)",
        low=0,
        strict_low=True,
        high=MAX_SIZE,
    ),
    Field(
        "color",
        "color",
        [0.8, 0.8, 0.8],
        "base colour, linear RGB of the working colour space, until a `material` randomizer changes it; a model file keeps its own (textures too) unless given",
    ),
    Field("roughness", "float", 0.5, "0 mirror .. 1 matte; a model file keeps its own unless given", low=0, high=1),
    Field("metallic", "float", 0.0, "0 dielectric .. 1 metal; a model file keeps its own unless given", low=0, high=1),
    _temperature_field("surface temperature of every copy"),
    _emissivity_field(),
    _nir_field(),
    Field(
        "distractor",
        "bool",
        False,
        "unlabelled on purpose (clutter, furniture, a backdrop): never annotated as an object "
        "(UNLABELLED in masks, no boxes), no 'without labels' warning; takes no `labels`",
    ),
    Field(
        "keypoints",
        "points",
        {},
        "named 3D keypoints in the object's own axes (metres of the built mesh; `scale` and poses apply), "
        "in this order; e.g. `{ tip = [0, 0, 0.1] }` (docs/annotators.md, `keypoints`)",
        low=-MAX_COORD,
        high=MAX_COORD,
    ),
    Field(
        "skeleton",
        "pairs",
        [],
        'keypoint pairs joined by a line (COCO `skeleton`), e.g. `[["tip", "base"]]`',
        default_text="`[]`",
    ),
)
AssetSpec = section_class(
    "AssetSpec",
    ASSET_FIELDS,
    extra=(
        ("pool_files", list, field(default_factory=list)),  # asset pools: the files, resolved and sorted
        ("pool_labels", list, field(default_factory=list)),  # ... and each one's labels
        ("look", list, field(default_factory=list)),  # which of color, roughness, metallic the entry gives
    ),
)
MAX_POOL_FILES = 10000


def object_names(a, members: int | None = None) -> list[str]:
    """The objects an asset entry makes: NAME, or NAME_000 .. for copies and pool members.
    A `blend_assets` pool's members are known once its files are read (`members`, at the
    build); without it only NAME."""
    if a.blend_assets and members is None:
        return [a.name]
    n = a.count * max(1, len(a.pool_files) if members is None else members)
    return [a.name] if n == 1 and not a.pool_files else [f"{a.name}_{k:03d}" for k in range(n)]


LIDAR_MODELS = ("spinning", "solid_state")
LIDAR_FIELDS = (
    Field(
        "name",
        "name",
        "",
        "unique among cameras, lights, assets and LiDARs; its output sub-folder, so not a folder the "
        "tool makes there (`audit`, a writer's, `preview`, `report`, `clip_N`, `frames_N`)",
        required=True,
    ),
    Field(
        "preset",
        "choice",
        "spinning_64",
        "starting values of the fields below (each can still be given): 16/32/64/128-channel spinning "
        "sensors or a 120° solid-state one (docs/annotators.md lists them)",
        choices=tuple(LIDAR_PRESETS),
    ),
    Field(
        "model",
        "choice",
        None,
        "`spinning` (a sweep of columns) or `solid_state` (a fixed grid): the same rays for the same fields",
        choices=LIDAR_MODELS,
        nullable=True,
        default_text="from the preset",
    ),
    Field(
        "channels",
        "int",
        None,
        "rows of rays (rings), top first; more than 1 needs fov_down below fov_up (a planar scanner: 1)",
        low=1,
        high=1024,
        nullable=True,
        default_text="from the preset",
    ),
    Field(
        "fov_up",
        "float",
        None,
        "elevation of the top channel, degrees",
        low=-90,
        high=90,
        nullable=True,
        default_text="from the preset",
    ),
    Field(
        "fov_down",
        "float",
        None,
        "elevation of the bottom channel, degrees",
        low=-90,
        high=90,
        nullable=True,
        default_text="from the preset",
    ),
    Field(
        "horizontal_fov",
        "float",
        None,
        "degrees swept (spinning) or spanned (solid state), centred on forward: 360 a full turn, less a sector (a spinning sensor too)",
        low=0,
        strict_low=True,
        high=360,
        nullable=True,
        default_text="from the preset: 360 (`solid_state`: 120), whatever `model` says",
    ),
    Field(
        "columns",
        "int",
        None,
        "rays per channel over the horizontal field of view (azimuth steps); channels x columns at most "
        "4,194,304 (2^22) rays a scan",
        low=1,
        high=65536,
        nullable=True,
        default_text="from the preset",
    ),
    Field("min_range", "float", 0.5, "returns nearer than this are dropped, metres", low=0),
    Field(
        "max_range",
        "float",
        None,
        "returns farther than this are dropped, metres",
        low=0,
        strict_low=True,
        high=MAX_COORD,
        nullable=True,
        default_text="from the preset",
    ),
    Field("range_noise", "float", 0.0, "standard deviation of Gaussian range noise, metres (0: exact)", low=0),
    Field("dropout", "float", 0.0, "probability that a return is lost", low=0, high=1),
    Field(
        "mount",
        "str",
        "",
        'name of a camera or object the sensor rides on (`""`: the world), of the parameter file (an entry of '
        "count 2 or more: NAME_000 ...; a pool's member, NAME_003; a model file's mesh, NAME/mesh) or of "
        "the base .blend. On a camera, the sensor "
        "looks where the camera looks (x forward = camera −Z, z up = camera +Y)",
    ),
    Field(
        "location",
        "vec3",
        [0.0, 0.0, 0.0],
        "offset in the mount's frame (or world position), metres, along the sensor's axes: an object's own x, y, "
        "z; on a camera x forward (camera −Z), y left (camera −X), z up (camera +Y): [0, 0, 0.2] is 20 cm above it",
        low=-MAX_COORD,
        high=MAX_COORD,
    ),
    Field(
        "rotation",
        "vec3",
        [0.0, 0.0, 0.0],
        "XYZ Euler degrees in the mount's frame (sensor x forward, z up)",
        low=-360,
        high=360,
    ),
)
LidarSpec = section_class("LidarSpec", LIDAR_FIELDS)

GROUND_FIELDS = (
    Field("enabled", "bool", True, "whether the ground plane exists (also `ground = true` / `false`)"),
    Field(
        "size", "float", 4.0, "side of the square, metres, centred on the origin", low=0, strict_low=True, high=MAX_SIZE
    ),
    Field("color", "color", [0.4, 0.4, 0.4], "linear RGB of the working colour space"),
    Field(
        "labels",
        "labels",
        {},
        'e.g. `{ class = "floor" }`; unlabelled, the ground is UNLABELLED (1) in the masks, as any surface '
        "without a label (BACKGROUND, 0, is where nothing is hit), and has no box",
        default_text="`{}`",
    ),
    _temperature_field("surface temperature"),
    _emissivity_field(),
    _nir_field(),
)
GroundSpec = section_class("GroundSpec", GROUND_FIELDS)

MIN_FPS, MAX_FPS = (
    1e-6,
    3.2767e9,
)  # Blender's fps / fps_base (1 .. 32767 / 1e-5 .. 1e6): a rate beyond is set to the nearest without a word
MAX_SCENE_FRAME = 1048574  # Blender's last frame (minus it, its first): a later one is set to it without a word


def _scene_frame_problems(cfg, problems) -> None:
    """Every scene frame a clip evaluates is one of Blender's: frame i of a clip shows scene
    frame start_frame + i, and a clip that plays (clip_length > 1, a rigid-body simulation or a
    trajectory) is evaluated one frame either side too, which Cycles' vector pass reads (was:
    at start_frame = 1048573 with clip_length 2, the last frame's forward motion vectors were
    0, the frame after it being set to 1048574 without a word; so the backward ones of the
    first frame at -1048574)."""
    k, start = cfg.sequence.clip_length, cfg.sequence.start_frame
    plays = k > 1 or cfg.sequence.rigid_body or any(getattr(r, "motion", False) for r in cfg.randomizers)
    after = 1 if plays else 0
    either_side = ", and a clip is evaluated one frame either side (Cycles' vector pass reads them)" if plays else ""
    if start + k - 1 + after > MAX_SCENE_FRAME:
        problems.add(
            "sequence.start_frame",
            start,
            f"at most {MAX_SCENE_FRAME - k + 1 - after} with clip_length {k}: frame i of a clip shows scene frame "
            f"start_frame + i{either_side}, and Blender has no frame after {MAX_SCENE_FRAME}",
        )
    if plays and start - 1 < -MAX_SCENE_FRAME:
        problems.add(
            "sequence.start_frame",
            start,
            f"at least {-MAX_SCENE_FRAME + 1}: frame i of a clip shows scene frame start_frame + i{either_side}, "
            f"and Blender has no frame before {-MAX_SCENE_FRAME}",
        )


SEQUENCE_FIELDS = (
    Field(
        "clip_length",
        "int",
        1,
        "frames per clip; `1` = stills. Frame f is frame `f % clip_length` of clip `f // clip_length`; "
        "`run.frames` must be a multiple of it",
        low=1,
    ),
    Field(
        "fps",
        "float",
        24.0,
        "frames per second: frame i of a clip is at time i / fps (velocities are per second); "
        "the rates Blender's frame rate takes (fps 1 .. 32767 over a base of 1e-5 .. 1e6)",
        low=MIN_FPS,
        high=MAX_FPS,
    ),
    Field(
        "start_frame",
        "int",
        1,
        "scene frame shown by the first frame of every clip: frame i of a clip shows scene frame "
        "`start_frame + i`, so the scene's own animation (keyframes, drivers, armatures of the base `.blend`) plays; "
        "`start_frame + clip_length - 1` is at most Blender's last frame (1048574; a clip that plays, over several "
        "frames, with `rigid_body` or a trajectory, is evaluated one frame either side too: `start_frame + "
        "clip_length` at most 1048574, `start_frame` at least -1048573); with `rigid_body` at least 0, with an "
        "`initial_velocity` randomizer at least 2 (Blender's rigid-body cache simulates no frame 0 or earlier)",
        low=-MAX_SCENE_FRAME,
        high=MAX_SCENE_FRAME,
    ),
    Field(
        "rigid_body",
        "bool",
        False,
        "simulate rigid bodies over each clip (Blender's solver): single-mesh asset objects fall and "
        "collide from the poses of the clip's first frame; the ground and other meshes are passive",
    ),
    Field(
        "substeps_per_frame",
        "int",
        10,
        "rigid-body simulation steps per frame with `rigid_body` (Blender's Substeps Per Frame; 10 is its "
        "default and BlenderProc's): shorter steps let fast bodies sink less into what they hit and cost "
        "time; Kubric steps 240 times a second, `ceil(240 / fps)` here",
        low=1,
        high=1000,
    ),
    Field(
        "solver_iterations",
        "int",
        10,
        "constraint solver iterations per step with `rigid_body` (Blender's Solver Iterations; 10 is its "
        "default and BlenderProc's `solver_iters`)",
        low=1,
        high=1000,
    ),
    Field(
        "folders",
        "choice",
        "clip",
        '`"clip"`: `clip_0003/rgb_0007.png` (frame within the clip); `"flat"`: `rgb_0031.png` (frame of the run), '
        "and no writer sorts by clip (`kitti_velodyne`: every frame in sequence `00`, `pcd`: no clip folders, `mot`: one `stills` sequence per camera)",
        choices=("clip", "flat"),
    ),
)
SequenceSettings = section_class("SequenceSettings", SEQUENCE_FIELDS)

# Every section declared with config.fields, by its name in the file (docs and UI read this).
DECLARED_SECTIONS = {
    "run": RUN_FIELDS,
    "render": RENDER_FIELDS,
    "scene": BASE_SCENE_FIELDS,
    "scene.ground": GROUND_FIELDS,
    "scene.world": WORLD_FIELDS,
    "cameras": CAMERA_FIELDS,
    "lights": LIGHT_FIELDS,
    "lidars": LIDAR_FIELDS,
    "assets": ASSET_FIELDS,
    "label_rules": LABEL_RULE_FIELDS,
    "sequence": SEQUENCE_FIELDS,
    "randomizers.trigger": TRIGGER_FIELDS,
    "thermal": THERMAL_FIELDS,
    "cases": CASE_FIELDS,
}


@dataclass
class Config:
    files: list[Path]  # the parameter file, then the asset list if any
    seed: int = 0
    frames: int = 10
    output: str = "out"
    render: RenderSettings = field(default_factory=RenderSettings)
    labels: dict[str, list[str]] = field(default_factory=dict)  # stable label order per type
    base: BaseSceneSpec = field(default_factory=BaseSceneSpec)  # [scene] blend: the user's .blend
    ground: GroundSpec = field(default_factory=GroundSpec)
    world: WorldSpec | None = field(default_factory=WorldSpec)  # None: the .blend's world as it is
    thermal: ThermalSettings = field(default_factory=ThermalSettings)
    sequence: SequenceSettings = field(default_factory=SequenceSettings)
    cameras: list[CameraSpec] = field(default_factory=list)
    lights: list[LightSpec] = field(default_factory=list)
    lidars: list[LidarSpec] = field(default_factory=list)
    assets: list[AssetSpec] = field(default_factory=list)
    randomizers: list[RandomizerSpec] = field(default_factory=list)
    # Per randomizer: name globs, or {label type: [globs]} (label targets), resolved to names at build.
    randomizer_targets: list[list[str] | dict[str, list[str]]] = field(default_factory=list)
    label_rules: list[NameRule] = field(default_factory=list)
    annotators: dict[str, dict] = field(default_factory=dict)
    # The annotators the file names ([annotators]); not the defaults taken without it.
    annotators_named: list[str] = field(default_factory=list)
    writers: dict[str, dict] = field(default_factory=dict)
    cases: list = field(default_factory=list)  # CaseSpec (sampling.cases)
    asset_origins: list[tuple[str, str]] = field(default_factory=list)  # per asset: (its file, its field)

    def asset_origin(self, index: int) -> tuple[str, str]:
        """(file, field path) of asset entry `index`: an asset list's entries are its own."""
        if index < len(self.asset_origins):
            return self.asset_origins[index]
        return self.files[0].as_posix(), join("assets", index)

    def named(self, problems: list[FieldError | Problem]) -> ConfigError:
        """Problems found in the built scene as validation reports them: each naming its file
        (the parameter file unless the entry came from another one)."""
        out = []
        for p in problems:
            p = p.problem if isinstance(p, FieldError) else p
            out.append(Problem(p.file or self.files[0].as_posix(), p.field, p.value, p.expected))
        return ConfigError(out)

    def resolved(self) -> dict:
        """The effective parameters as plain JSON data (written to audit/)."""
        out = asdict(self)
        out["files"] = [p.as_posix() for p in self.files]
        out["randomizers"] = [
            {
                "type": r.name,
                "targets": t,
                **{k: d.to_dict() for k, d in r.params.items()},
                **r.options,
                "trigger": r.trigger,
                "interval": r.interval,
                **r.resolved_extra(),
            }
            for r, t in zip(self.randomizers, self.randomizer_targets)
        ]
        out.pop("randomizer_targets")
        out.pop("asset_origins")  # where entries were written, not what they are
        out.pop("annotators_named")  # the annotators are
        for a in out["assets"]:  # a model file's materials keep what `look` leaves out; a primitive has its own
            if a.get("primitive"):
                a.pop("look", None)
        return out

    def label_order(self) -> dict[str, list[str]]:
        """Declared label values per type: [labels] first, then assets in file order."""
        order = {t: list(v) for t, v in self.labels.items()}
        for spec in [*self.assets, self.ground]:
            for labels in getattr(spec, "pool_labels", None) or [spec.labels]:
                for t, values in labels.items():
                    key = ",".join(values)
                    if key not in order.setdefault(t, []):
                        order[t].append(key)
        return order

    def kelvin(self, value: float | None) -> float | None:
        """A temperature of the file (in `thermal.unit`) in kelvin."""
        return None if value is None else to_kelvin(value, self.thermal.unit)

    def ambient_kelvin(self) -> float:
        return DEFAULT_AMBIENT_K if self.thermal.ambient is None else self.kelvin(self.thermal.ambient)


# ---------------------------------------------------------------------------- reading


FILE_TYPES = (".toml", ".json")


def read_table(path: Path, problems: Problems) -> dict | None:
    """The top-level table of a TOML or JSON file, or None after recording why not."""
    if path.suffix.lower() not in FILE_TYPES:
        hint = ""
        if path.suffix.lower() == ".blend":  # a newcomer's first try: render my_scene.blend
            hint = f' (a .blend is the base scene a parameter file names: [scene] blend = "{path.name}")'
        problems.add("", path.name, "a parameter file ending in .toml or .json" + hint)
        return None
    try:
        text = _read_text(path)
    except FileNotFoundError:
        problems.add("", path.as_posix(), "an existing file")
        return None
    except UnicodeDecodeError as e:
        problems.add("", f"byte {e.start}: {e.reason}", "a text file in UTF-8")
        return None
    except OSError as e:
        problems.add("", path.as_posix(), f"a readable file ({e.strerror or e})")
        return None
    is_json = path.suffix.lower() == ".json"
    repeated: dict[int, dict[str, list]] = {}  # id of a JSON object -> its keys given twice, their values
    try:
        data = json.loads(text, object_pairs_hook=_keys_once(repeated)) if is_json else tomllib.loads(text)
    except json.JSONDecodeError as e:
        _syntax_problem(problems, text, e.msg, e.lineno, e.colno, "JSON")
        return None
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$", str(e))
        if found:
            _syntax_problem(problems, text, _toml_said(found[1]), int(found[2]), int(found[3]), "TOML")
        else:  # "(at end of document)" and the like
            lines = text.splitlines() or [""]
            message = re.sub(r"\s*\(at end of document\)$", "", str(e))
            _syntax_problem(problems, text, f"{message} at the end of the file", len(lines), len(lines[-1]) + 1, "TOML")
        return None
    except RecursionError:
        problems.add("", "tables or arrays nested thousands deep", f"at most {MAX_NESTING} levels of nesting")
        return None
    except ValueError as e:  # e.g. an integer of more than 4300 digits
        problems.add("", str(e)[:120], f"valid {'JSON' if is_json else 'TOML'} numbers")
        return None
    if not isinstance(data, dict):
        problems.add("", data, "a table (JSON object) at the top level")
        return None
    deep = _too_deep(data)
    if deep is not None:
        problems.add(deep, "a value nested more deeply", f"at most {MAX_NESTING} levels of tables and arrays")
        return None
    if repeated:
        for where, values in _repeated_keys(data, repeated):
            problems.add(
                where, Repeated(values), "the key once in its table (JSON readers differ on which value counts)"
            )
        return None
    return data


def _toml_said(message: str) -> str:
    """tomllib's words for a key or table given twice, which name neither ('Cannot overwrite
    a value'), said as what they are; a backslash escape it refuses (a Windows path in "...":
    "C:\\Users\\me" is 'Invalid hex value') with the way to write one; others as they are."""
    if message in ("Invalid hex value", "Unescaped '\\' in a string"):
        return f"{message}: {BACKSLASH_ESCAPES}"
    if message == "Cannot overwrite a value":
        return "a key given a second time in its table (as a key or a [table]): TOML takes each key once"
    twice = re.fullmatch(r"Cannot declare \((.*)\) twice", message)
    if twice:
        header = ".".join(re.findall(r"'([^']*)'", twice[1])) or twice[1]
        return f"the table [{header}] declared twice: TOML takes each table's keys under one [{header}]"
    return message


def _keys_once(repeated: dict[int, dict[str, list]]):
    """json's object_pairs_hook: the object as a dict, noting in `repeated` every key given
    more than once (json.loads alone keeps the last silently; TOML refuses a repeated key)."""

    def hook(pairs: list) -> dict:
        table: dict = {}
        for key, value in pairs:
            if key in table:
                repeated.setdefault(id(table), {}).setdefault(key, [table[key]]).append(value)
            table[key] = value
        return table

    return hook


def _repeated_keys(data: dict, repeated: dict[int, dict[str, list]]) -> list[tuple[str, list]]:
    """(field path, values) of each repeated key, in file order (iterative, as _too_deep)."""
    found, stack = [], [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            found += [(join(where, k), v) for k, v in repeated.get(id(value), {}).items()]
            items = value.items()
        else:
            items = enumerate(value) if isinstance(value, list) else ()
        stack.extend(reversed([(x, join(where, k if isinstance(k, int) else str(k))) for k, x in items]))
    return found


def _too_deep(data) -> str | None:
    """The field path where nesting passes MAX_NESTING, or None (iterative: no recursion limit)."""
    stack = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_NESTING:
            return where
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        stack.extend((x, join(where, k if isinstance(k, int) else str(k)), depth + 1) for k, x in items)
    return None


MAX_FILE_BYTES = 16 * 2**20


def _read_text(path: Path) -> str:
    """A parameter file's text; anything but a regular file of sane size is refused (a FIFO would hang)."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise OSError(0, "not a regular file (a FIFO, device or folder)")
    with path.open("rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(0, f"larger than {MAX_FILE_BYTES // 2**20} MiB")
    # UTF-16 text (Windows PowerShell 5's > and Out-File, Notepad's "Unicode") is said as
    # such: its mark is no UTF-8, and without one its ASCII reads as text with NUL bytes.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnicodeDecodeError("utf-8", data, 0, 2, f"a UTF-16 byte-order mark ({_UTF16_IS})")
    if b"\x00" in data:
        start = data.index(b"\x00")
        raise UnicodeDecodeError("utf-8", data, start, start + 1, f"a NUL byte, as in UTF-16 text ({_UTF16_IS})")
    # A byte-order mark (Windows Notepad writes one) is dropped, not a syntax error; dropped
    # after decoding, so a bad byte's offset still counts from the file's start.
    return data.decode("utf-8").removeprefix("\ufeff")


_UTF16_IS = "Windows PowerShell 5's > and Out-File write it: save the file as UTF-8"


def _syntax_problem(problems: Problems, text: str, message: str, line: int, column: int, language: str) -> None:
    """A syntax error as a problem at `line N, column C`, showing the text of that line."""
    lines = text.splitlines()
    source = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    problems.add(f"line {line}, column {column}", source, f"valid {language} syntax ({message})")


SENSOR_ANNOTATORS = {"thermal": "thermal", "nir": "nir"}  # annotator -> the camera sensor it needs


def _makes_something(name: str, kinds: set[str], lidars: bool, cameras: bool) -> bool:
    """Whether a sensor of the run makes anything of annotator `name`."""
    if name in SENSOR_ANNOTATORS:
        return SENSOR_ANNOTATORS[name] in kinds
    takes = ANNOTATORS[name].sensors
    return ("lidar" in takes and lidars) or ("camera" in takes and cameras)


def unused_annotators(given, plan, kinds: set[str], lidars: bool, cameras: bool) -> tuple | None:
    """(field, value, expected) when none of the run's annotators (`plan`: the given ones and
    what writers, LiDARs and thermal / NIR cameras bring) makes anything of its sensors: only
    lidar without a LiDAR, thermal without a thermal camera, nir without a NIR camera. The
    run would write no data and say it was done. Likewise for one annotator asked for by
    name that no sensor of the run makes (lidar beside rgb without a LiDAR): its files would
    be missing without a word."""
    if any(_makes_something(name, kinds, lidars, cameras) for name in plan):
        for name in sorted(given):
            if name in ANNOTATORS and not _makes_something(name, kinds, lidars, cameras):
                needs = {"lidar": "a LiDAR ([[lidars]])", "thermal": "a thermal camera", "nir": "a NIR camera"}
                return (
                    f"annotators.{name}",
                    given[name] if isinstance(given, dict) else {},
                    f"a sensor that makes it: {name} needs {needs.get(name, 'a camera')}, and the run's cameras are "
                    f"{', '.join(sorted(kinds)) or 'none'}{' with LiDARs' if lidars else ''} (remove it, or add one)",
                )
        return None
    return (
        "annotators",
        sorted(given),
        "at least one annotator the run's cameras and LiDARs make something of: lidar needs a LiDAR "
        "([[lidars]]), thermal a thermal camera, nir a NIR camera (a camera's sensor); the run's cameras are "
        f"{', '.join(sorted(kinds)) or 'none'}",
    )


def load_config(path: str | Path) -> Config:
    """Read and validate a parameter file (and the asset list it names)."""
    path = real_path(path)
    problems = Problems(path.as_posix())
    data = read_table(path, problems)
    problems.raise_if_any()
    return config_from_dict(data, path, problems)


def config_from_dict(data: dict, path: Path, problems: Problems | None = None, open_scene: bool = False) -> Config:
    """`open_scene`: the base scene is the one open in Blender (the UI), which has cameras."""
    problems = problems or Problems(path.as_posix())
    v = _Reader(problems)
    problems.unknown_keys(data, TOP_LEVEL_KEYS, "")
    cfg = Config(files=[path])

    run = v.table(data, "run")
    read_section(
        problems, run, "run", RUN_FIELDS, cfg, hints={k: PEER_TRIGGER_KEYS[k] for k in ("num_frames", "max_execs")}
    )
    if "output" not in run:
        cfg.output = default_output(path)
    if not cfg.output.strip() and run.get("output") == cfg.output:  # (a value refused above is said there)
        problems.add("run.output", cfg.output, "a folder path (not empty)")

    cfg.render = _render(v, v.table(data, "render"))
    read_section(problems, v.table(data, "sequence"), "sequence", SEQUENCE_FIELDS, cfg.sequence)
    k = cfg.sequence.clip_length
    if isinstance(cfg.frames, int) and k > 1 and cfg.frames % k:
        problems.add("run.frames", cfg.frames, f"a multiple of sequence.clip_length ({k}): clips are never cut short")
    cfg.labels = v.label_table(data, "labels", "")
    scene = v.table(data, "scene")
    cfg.base = _base_scene(v, scene, path)
    cfg.ground, cfg.world = _ground(v, scene), _world(v, scene)
    if cfg.base.blend or open_scene:
        # A .blend brings its own floor and world: ours only when asked for.
        cfg.ground.enabled = cfg.ground.enabled and "ground" in scene
        cfg.world = cfg.world if "world" in scene else None
    if cfg.base.blend:
        cfg.files.append(Path(cfg.base.blend))
    read_section(problems, v.table(data, "thermal"), "thermal", THERMAL_FIELDS, cfg.thermal)

    cfg.cameras = [_camera(v, c, join("cameras", i), cfg.render) for i, c in enumerate(v.array(data, "cameras"))]
    if not cfg.cameras and not cfg.base.blend and not open_scene and isinstance(data.get("cameras", []), list):
        problems.add("cameras", data.get("cameras", MISSING), "at least one [[cameras]] entry (or a [scene] blend)")
    cfg.lights = [_light(v, t, join("lights", i)) for i, t in enumerate(v.array(data, "lights"))]
    cfg.lidars = [_lidar(v, t, join("lidars", i)) for i, t in enumerate(v.array(data, "lidars"))]

    assets = [(a, join("assets", i), path) for i, a in enumerate(v.array(data, "assets"))]
    if "asset_list" in data:
        assets += _asset_list(v, data["asset_list"], path, problems)
    cfg.assets = [_asset(v, a, where, base) for a, where, base in assets]
    cfg.asset_origins = [(base.as_posix(), where) for _a, where, base in assets]
    # A pool's count copies each of its files (was: counted once, so a pool of 3 files at
    # count = 3000 beside 6000 cubes, 15000 objects, passed as 9000).
    total = sum(a.count * max(1, len(a.pool_files)) for a in cfg.assets)
    if total > MAX_COUNT:
        problems.add(
            "assets",
            f"{total} objects",
            f"at most {MAX_COUNT} objects from all assets together (sum of count; a pool's count for each of its files)",
        )
    _unique_names(cfg, [(where, base) for _a, where, base in assets], path, problems)
    _check_sensors(cfg, problems)
    if isinstance(data.get("asset_list"), str):
        cfg.files.append(_asset_list_path(path, data["asset_list"]))

    placed_in_view: list[int] = []  # camera_relative entries so far (file indices)
    in_file: list[int] = []  # each of cfg.randomizers' index in the file (entries with problems are left out)
    photos: list[int] = []  # background entries (file indices), those with problems of their own too
    for i, r in enumerate(v.array(data, "randomizers")):
        if isinstance(r, dict) and r.get("type") == "background":
            photos.append(i)
        spec, targets = _randomizer(v, r, join("randomizers", i), path.parent)
        if spec is not None:
            cfg.randomizers.append(spec)
            cfg.randomizer_targets.append(targets)
            in_file.append(i)
            if spec.name == "camera_relative":
                placed_in_view.append(i)
            elif spec.name in CAMERA_MOVERS and placed_in_view:
                # Applied in file order: the placement would use the camera of the frame before.
                problems.add(
                    join("randomizers", placed_in_view[0]),
                    "camera_relative",
                    f"an entry after randomizers[{i}] ({spec.name}), which moves cameras: camera_relative "
                    "places in view of the camera as this frame has it",
                )
                placed_in_view = []

    cfg.label_rules = [_label_rule(v, t, join("label_rules", i)) for i, t in enumerate(v.array(data, "label_rules"))]
    entries = v.array(data, "randomizers")
    kinds = [r.get("type") if isinstance(r, dict) else None for r in entries]
    refused = {kind for i, kind in enumerate(kinds) if i not in in_file and isinstance(kind, str)}
    cfg.cases = [
        _case(v, c, join("cases", i), cfg.randomizers, cfg.randomizer_targets, refused)
        for i, c in enumerate(v.array(data, "cases"))
    ]
    _check_cases(cfg, problems)
    _check_label_targets(cfg, in_file, problems)
    _check_drawn_temperatures(cfg, in_file, problems)
    _check_pixel_guarantees(cfg, in_file, problems)

    cfg.annotators = v.registry_table(data, "annotators", ANNOTATORS, "annotator")
    if "annotators" not in data:
        cfg.annotators = {name: {} for name in DEFAULT_ANNOTATORS}
    if photos and not cfg.render.film_transparent:
        problems.add(
            "render.film_transparent",
            cfg.render.film_transparent,
            f"true with a background randomizer (randomizers[{photos[0]}]): the photo goes where the render is "
            "transparent, so set `film_transparent = true` in [render] (the world still lights the scene)",
        )
    # A shutter open for a time (above 0; 0 is motion blur off) beside motion_vectors: Cycles
    # makes no vector pass with motion blur. A case's set value reaches its frames too.
    no_blur = "no shutter (motion blur) with the motion_vectors annotator: Cycles has no vector pass with motion blur"
    if "motion_vectors" in cfg.annotators:
        for i, r in zip(in_file, cfg.randomizers):
            if r.name == "sensor" and "shutter" in r.params and _may_open(r.params["shutter"]):
                problems.add(join(join("randomizers", i), "shutter"), r.params["shutter"].to_dict(), no_blur)
        for ci, case in enumerate(cfg.cases):
            for si, entry in enumerate(case.set):
                shutter = entry.get("shutter")
                if entry.get("type") == "sensor" and isinstance(shutter, (int, float)) and shutter > 0:
                    problems.add(f"cases[{ci}].set[{si}].shutter", shutter, no_blur + " (0 leaves it off)")
    # Writers not built in are looked up among installed packages' entry points (by name only).
    writers = writer_registry(data.get("writers"), problems.add)
    cfg.writers = v.registry_table(data, "writers", writers, "writer")
    if "writers" not in data:
        cfg.writers = {"basic": {}}
    # COCO categories and YOLO-pose classes have one list of keypoint names each.
    # YOLO-pose has no skeleton: only its classes' names must agree.
    keypoint_types: dict[str, bool] = {}  # semantic_type -> whether skeletons must agree too
    for name in ("coco", "yolo"):
        options = cfg.writers.get(name)
        if isinstance(options, dict) and (name == "coco" or options.get("keypoints") is True):
            stype = options.get("semantic_type", "class")
            stype = stype if isinstance(stype, str) else "class"
            keypoint_types[stype] = keypoint_types.get(stype, False) or name == "coco"
    for stype, skeletons in keypoint_types.items():
        origins = [(where, base) for _a, where, base in assets]
        _keypoint_classes(cfg, stype, origins, path, problems, skeletons)
    if "annotators" not in data:
        # The defaults are not the file's: one that a writer giving its semantic_type reads
        # is left to that writer, which adds it with its type (annotator_plan).
        taken = {
            r
            for name, options in cfg.writers.items()
            if name in writers and isinstance((options or {}).get("semantic_type"), str)
            for r in writers[name].required_for(options or {})
            if r in ANNOTATORS and "semantic_type" in ANNOTATORS[r].OPTIONS
        }
        cfg.annotators = {name: {} for name in DEFAULT_ANNOTATORS if name not in taken}
    else:
        cfg.annotators_named = [name for name in cfg.annotators if name in ANNOTATORS]
    given_writers, given_annotators = data.get("writers"), data.get("annotators")
    if isinstance(given_writers, (dict, list)) and not given_writers:  # `[writers]` with nothing under it
        problems.add(
            "writers", given_writers, "at least one writer (e.g. basic = {}): with none the run writes no data"
        )
    elif (
        isinstance(given_annotators, (dict, list))
        and not given_annotators
        and not cfg.lidars
        and not (cfg.base.blend or open_scene)  # its cameras may be thermal / NIR, which bring their image
        and not any(c.sensor in ("thermal", "nir") for c in cfg.cameras)
        and not any(writers[name].required_for(cfg.writers[name]) for name in cfg.writers if name in writers)
    ):
        problems.add(
            "annotators",
            given_annotators,
            f"at least one annotator (e.g. rgb = {{}}): with none, the writers ({', '.join(cfg.writers)}) "
            "have nothing to write",
        )
    named = given_annotators if isinstance(given_annotators, (dict, list)) else ()
    if named and set(cfg.annotators) == set(named) and not (cfg.base.blend or open_scene):
        # Every camera is known (no base scene): what render would refuse once it is built
        # (annotators this tool lacks are said above, once).
        plan = set(cfg.annotators) | {
            r for name in cfg.writers if name in writers for r in writers[name].required_for(cfg.writers[name])
        }
        kinds = {c.sensor for c in cfg.cameras}
        problem = unused_annotators(cfg.annotators, plan, kinds, bool(cfg.lidars), bool(cfg.cameras))
        if problem:
            problems.add(*problem)
    found, sharing = [], {}  # a mask annotator's filter that several writers refuse: one problem, naming each
    for name, options in cfg.writers.items():
        problem = _box_labels_problem(name, options or {}, writers, cfg.annotators, cfg.writers)
        if problem and len(problem) == 4:  # (masks, objects) of a mask filter problem
            if problem[3] not in sharing:
                found.append(problem[3])
            sharing.setdefault(problem[3], []).append(name)
        elif problem:
            found.append(problem)
    for problem in found:
        if len(problem) == 2:
            problem = _mask_filter_problem(sharing[problem], *problem, cfg.annotators)
        problems.add(*problem)
    if "basic" in cfg.writers:
        problem = one_folder_problem(cfg.writers["basic"] or {}, len(cfg.cameras), len(cfg.lidars))
        if problem:
            problems.add(*problem)
    for name in SPLIT_CAMERA_NAMED:
        options = cfg.writers.get(name)
        if isinstance(options, dict) and isinstance(options.get("split", "train"), str):
            clash = split_camera_clash(options, [c.name for c in cfg.cameras], name)
            if clash:
                problems.add(f"writers.{name}.split", options.get("split", "train"), clash)
    if isinstance(cfg.writers.get("yolo"), dict):
        sizes = {(c.width or cfg.render.width, c.height or cfg.render.height) for c in cfg.cameras}
        for width, height in sorted(sizes or {(cfg.render.width, cfg.render.height)}, key=max, reverse=True)[:1]:
            problem = yolo_decimals_problem(cfg.writers["yolo"], width, height)
            if problem:
                problems.add("writers.yolo.decimals", cfg.writers["yolo"].get("decimals", 6), problem)
    if "bop" in cfg.writers:
        for i, c in enumerate(cfg.cameras):
            if c.projection != "perspective":
                problems.add(
                    join(join("cameras", i), "projection"),
                    c.projection,
                    '"perspective" with the bop writer (BOP\'s cam_K is a pinhole camera)',
                )
        dataset = cfg.writers["bop"].get("dataset", "bop")
        sensors = [("camera", c.name) for c in cfg.cameras] + [("LiDAR", lidar.name) for lidar in cfg.lidars]
        if isinstance(dataset, str) and dataset.strip():
            folder = safe_name(dataset).lower()
            for kind, name in sensors:
                if safe_name(name).lower() == folder:
                    problems.add(
                        "writers.bop.dataset",
                        dataset,
                        f"a name other than that of {kind} {name!r} (any case): it names the bop writer's folder, "
                        f"and {safe_name(name)}/ is that {kind}'s output sub-folder, where the two writers' "
                        "files would mix",
                    )
                    break
    space = (cfg.annotators.get("normals") or {}).get("space", "world")
    if "hdf5" in cfg.writers and "normals" in cfg.annotators and space != "world":
        problems.add(
            "annotators.normals.space",
            space,
            '"world" with the hdf5 writer (it turns world normals into BlenderProc\'s camera-space encoding)',
        )
    # a sequence field refused above holds its default here: not checked again as if the file said it (was:
    # start_frame = 2.5 refused, then 'sequence.start_frame: got 1; expected 2 or more with an initial_velocity')
    refused = {q.field for q in problems.items}
    if not refused & {"sequence.start_frame", "sequence.clip_length"}:
        _scene_frame_problems(cfg, problems)
    if not refused & {"sequence.clip_length", "sequence.fps"}:
        _travel_problems(cfg, problems)
    rigid = None if "sequence.rigid_body" in refused else cfg.sequence.rigid_body
    if rigid and any(r.name == "physics_settle" for r in cfg.randomizers):
        problems.add(
            "sequence.rigid_body", True, "false with a physics_settle randomizer (one rigid-body simulation at a time)"
        )
    if rigid:
        for i, r in enumerate(cfg.randomizers):
            if r.name == "trajectory":  # every asset object is a body: the simulation moves it
                problems.add(
                    join(join("randomizers", i), "type"),
                    r.name,
                    "no trajectory with sequence.rigid_body = true (the simulation moves the asset "
                    "objects; a trajectory would be ignored): an `initial_velocity` randomizer throws them, "
                    "a velocity and spin at each clip's first frame (Kubric's obj.velocity); "
                    "camera_trajectory moves cameras",
                )
        if "sequence.fps" not in refused:
            _spin_problems(cfg, problems)
        first = InitialVelocity.PREROLL if any(r.name == "initial_velocity" for r in cfg.randomizers) else 0
        if cfg.sequence.start_frame < first and "sequence.start_frame" not in refused:
            because = (
                f"{first} or more with an initial_velocity randomizer: the {first} scene frames before each clip's "
                "first one give the bodies their velocity, and"
                if first
                else "0 or more with sequence.rigid_body = true (the clip's first frame starts the simulation):"
            )
            problems.add(
                "sequence.start_frame",
                cfg.sequence.start_frame,
                because + " Blender's rigid-body cache reads a simulated frame 0 or earlier back wrong",
            )
    elif rigid is not None:
        for i, r in enumerate(cfg.randomizers):
            if r.name == "initial_velocity":
                problems.add(
                    "sequence.rigid_body",
                    False,
                    f"true with an initial_velocity randomizer (randomizers[{i}]: it gives the rigid bodies "
                    "Blender simulates over each clip their velocity at the clip's first frame); without a "
                    "simulation a `trajectory` moves objects",
                )
    problems.raise_if_any()
    return cfg


def _may_open(shutter) -> bool:
    """Whether a shutter distribution may draw a value above 0 (motion blur on)."""
    bounds = shutter.bounds()
    return bounds is None or float(np.max(bounds[1])) > 0


def _spin_problems(cfg, problems: Problems) -> None:
    """An initial angular velocity that may turn a body half a turn or more in one frame:
    the kinematic pre-roll that gives it (scene.clip_physics) moves the body between frames
    by the shorter way round, which would then be a spin the other way (or none)."""
    limit = 180.0 * float(cfg.sequence.fps)
    expected = (
        f"an angular velocity of length below 180 x sequence.fps = {limit:g} degrees per second "
        "(half a turn per frame: Blender turns a body between frames the shorter way round)"
    )
    for i, r in enumerate(cfg.randomizers):
        d = r.params.get("angular_velocity") if r.name == "initial_velocity" else None
        reach = (d.reach() if hasattr(d, "reach") else d.bounds()) if d is not None else None
        if reach is not None and _largest_norm(*reach) >= limit:
            problems.add(f"randomizers[{i}].angular_velocity", d.to_dict(), expected)
    for ci, case in enumerate(cfg.cases):
        for si, entry in enumerate(case.set):
            value = entry.get("angular_velocity")
            if entry.get("type") == "initial_velocity" and isinstance(value, list):
                if _largest_norm(np.asarray(value, float), np.asarray(value, float)) >= limit:
                    problems.add(f"cases[{ci}].set[{si}].angular_velocity", value, expected)


def _travel_problems(cfg, problems: Problems) -> None:
    """A trajectory's velocity that may carry its targets past MAX_COORD within a clip (each
    coordinate of the file stops there: Blender's single precision breaks down beyond): its
    offset reaches |velocity| x clip_length / fps (the clip's last frame and the one after,
    which motion vectors evaluate), for either path (a spline's velocity stays between its
    knots')."""
    seconds = cfg.sequence.clip_length / float(cfg.sequence.fps)
    limit = MAX_COORD / seconds
    expected = (
        f"a velocity whose every component stays within +-{_num_text(limit)} metres per second: times a "
        f"clip's {_num_text(seconds)} s (sequence.clip_length / sequence.fps) it moves its targets at most "
        f"{_num_text(MAX_COORD)} m, as far as any coordinate of the file goes (Blender's precision breaks down beyond)"
    )
    for i, r in enumerate(cfg.randomizers):
        d = r.params.get("velocity") if r.name in ("trajectory", "camera_trajectory") else None
        reach = (d.reach() if hasattr(d, "reach") else d.bounds()) if d is not None else None
        if reach is not None and float(np.max(np.abs(np.asarray(reach, float)))) > limit:
            problems.add(f"randomizers[{i}].velocity", d.to_dict(), expected)


def _largest_norm(low, high) -> float:
    """The longest vector with components between `low` and `high` (numbers or 3 each)."""
    largest = np.maximum(np.abs(np.broadcast_to(low, 3)), np.abs(np.broadcast_to(high, 3)))
    return float(np.sqrt((largest * largest).sum()))


CAMERA_MOVERS = ("camera", "camera_look_at", "sensor")  # randomizers that change a camera's view

TOP_LEVEL_KEYS = (
    "run",
    "render",
    "thermal",
    "sequence",
    "labels",
    "label_rules",
    "scene",
    "cameras",
    "lights",
    "lidars",
    "assets",
    "asset_list",
    "randomizers",
    "cases",
    "annotators",
    "writers",
)


def _render(v: _Reader, t: dict) -> RenderSettings:
    """`resolution = [w, h]`, or `width` and `height` (either form, not both)."""
    p = "render"
    r = read_section(
        v.problems, t, p, RENDER_FIELDS, RenderSettings(), known_extra=("resolution",), hints=PEER_RENDER_KEYS
    )
    if "resolution" in t:
        res = v.numbers(
            t,
            "resolution",
            p,
            None,
            n=2,
            low=MIN_RESOLUTION,
            high=MAX_RESOLUTION,
            whole=True,
            what="[width, height] in pixels",
        )
        if res is not None:
            r.width, r.height = res
        for key in ("width", "height"):
            if key in t:
                v.problems.add(
                    join(p, key), t[key], "either resolution = [width, height] or width and height, not both"
                )
    where = join(p, "resolution" if "resolution" in t else "width")
    if r.width * r.height > MAX_PIXELS:
        v.problems.add(where, [r.width, r.height], f"at most {MAX_PIXELS} pixels (8192 x 8192): memory for the passes")
    elif r.width * r.height * r.samples > MAX_PIXEL_SAMPLES:
        v.problems.add(
            join(p, "samples"),
            r.samples,
            f"width x height x samples at most {MAX_PIXEL_SAMPLES} ({r.width} x {r.height} x {r.samples} would take"
            " hours per frame); lower samples or resolution",
        )
    return r


def _ground(v: _Reader, scene: dict) -> GroundSpec:
    value = scene.get("ground", True)
    if isinstance(value, bool):
        return GroundSpec(enabled=value)
    if not isinstance(value, dict):
        v.problems.add("scene.ground", value, "true, false or a table {enabled, size, color, labels}")
        return GroundSpec()
    hints = {"scale": "the ground's extent is `size` here (the side of the square, metres)"}
    return read_section(v.problems, value, "scene.ground", GROUND_FIELDS, GroundSpec(), hints=hints)


BOX_ANNOTATORS = ("bounding_box_2d_tight", "bounding_box_2d_loose")  # writers' objects: rows of these


def _box_labels_problem(name: str, options: dict, writers: dict, annotators: dict, run_writers: dict) -> tuple | None:
    """(field, value, expected) when a writer's `semantic_type` is not that of a box
    annotator it reads which the file configures, or which an earlier writer of the run
    adds with its own type (annotator_plan: the first writer reading one the file leaves
    out gives it its semantic_type): every box row then lacks the writer's label type,
    and the run stopped at its first frame. A mask annotator's semantic_filter that leaves
    out the writer's objects gives (None, None, None, (masks, objects)): the caller says it
    once for every writer of the run it applies to (_mask_filter_problem)."""
    cls = writers.get(name)
    if cls is None or "semantic_type" not in cls.OPTIONS:
        return None
    stype = options.get("semantic_type", option_default(cls.OPTIONS["semantic_type"]))
    for box in cls.required_for(options):
        if box not in BOX_ANNOTATORS:
            continue
        if box not in annotators:
            first = next(n for n, o in run_writers.items() if n in writers and box in writers[n].required_for(o or {}))
            given = (run_writers[first] or {}).get("semantic_type")
            theirs = given if isinstance(given, str) else option_default(ANNOTATORS[box].OPTIONS["semantic_type"])
            if first != name and isinstance(stype, str) and stype != theirs:
                return (
                    join(join("writers", name), "semantic_type"),
                    stype,
                    f"the semantic_type of writers.{first} ({theirs!r}), which reads the same {box} annotator: "
                    f"the run has one {box}, whose rows carry one label type; give both writers the same "
                    "semantic_type (or record the other type in another run)",
                )
            continue
        problem = _annotator_type_problem(
            name,
            stype,
            box,
            annotators,
            "",
            f", or leave {box} out of the annotators (the writer then gives it its own)",
        )
        if problem:
            return problem
    labelled = cls.labelled_for(options) if hasattr(cls, "labelled_for") else getattr(cls, "labelled_extras", ())
    for extra in labelled:
        if extra in annotators:
            problem = _annotator_type_problem(
                name, stype, extra, annotators, ", whose labels the writer pairs with its own categories", ""
            )
            if problem:
                return problem
    for masks, objects in cls.mask_sources(options).items():
        if masks not in annotators or (objects not in annotators and objects not in cls.required_for(options)):
            continue
        # An object the masks leave UNLABELLED has none of its own there: the writer left it
        # out (COCO, YOLO-seg, where KITTI and YOLO's box lines had it), wrote it as wholly
        # hidden (BOP's mask_visib, visib_fract 0), stopped at the first frame (BOP's mask) or
        # gave it a category its pixels lack (hdf5's category_id_segmaps: 1, UNLABELLED).
        why = ", whose ids the writer reads its objects' pixels in (an object without that label is UNLABELLED there)"
        problem = _annotator_type_problem(name, stype, masks, annotators, why, "")
        if problem:
            return problem
        if _mask_filter_problem([name], masks, objects, annotators):
            return (None, None, None, (masks, objects))  # said once for the writers it applies to
    for rows, objects in cls.row_sources(options).items():
        if rows not in annotators:
            continue
        # An object without a row there got the format's unknown values (KITTI's line:
        # -1 -1 -1 -1000 -1000 -1000 -10) though the scene has it, without a word.
        why = f", whose rows the writer pairs with the {objects} rows by object (an object without that label has none)"
        problem = _annotator_type_problem(name, stype, rows, annotators, why, "")
        if problem:
            return problem
        left_out = _filter_leaves_out(rows, objects, annotators)
        if left_out:
            kept, said = left_out
            return (
                join(join("annotators", rows), "semantic_filter"),
                kept,
                f"[] (every object){', or every value of that filter' if said.startswith('its') else ''}: "
                f"writers.{name} takes its objects from the {objects} annotator ({said}) and pairs each with its "
                f"{rows} row, which an object this filter leaves out has not: the writer had the object but not "
                "its row, and would write the format's unknown values for it",
            )
    return None


def _filter_leaves_out(annotator: str, objects: str, annotators: dict) -> tuple[list, str] | None:
    """(its semantic_filter, the objects annotator's said in words) when the file's
    `annotator` keeps fewer objects (its semantic_filter) than the annotator `objects`
    whose rows are a writer's objects, else None."""
    kept = (annotators[annotator] or {}).get("semantic_filter") or []
    if not isinstance(kept, list) or not kept:
        return None
    theirs = (annotators.get(objects) or {}).get("semantic_filter") or []
    if not isinstance(theirs, list) or (theirs and {str(p) for p in theirs} <= {str(p) for p in kept}):
        return None
    return kept, (f"its semantic_filter {json.dumps(theirs)}" if theirs else "no semantic_filter: every object")


def _mask_filter_problem(named: list[str], masks: str, objects: str, annotators: dict) -> tuple | None:
    """(field, value, expected) when the file's `masks` annotator keeps fewer objects (its
    semantic_filter) than the annotator `objects` whose rows are the objects of the writers
    `named`: those it leaves out are UNLABELLED in the masks, so the writers had them but
    not their pixels."""
    left_out = _filter_leaves_out(masks, objects, annotators)
    if left_out is None:
        return None
    kept, said = left_out
    return (
        join(join("annotators", masks), "semantic_filter"),
        kept,
        f"[] (every object){', or every value of that filter' if said.startswith('its') else ''}: "
        + (
            f"writers.{named[0]} takes its objects from the {objects} annotator ({said}) and reads their pixels"
            if len(named) == 1
            else f"{', '.join(f'writers.{n}' for n in named[:-1])} and writers.{named[-1]} take their objects from "
            f"the {objects} annotator ({said}) and read their pixels"
        )
        + f" in the {masks} ids, where an object this filter leaves out is UNLABELLED: the "
        + ("writer had" if len(named) == 1 else "writers had")
        + " the object but not its pixels",
    )


def _annotator_type_problem(writer: str, stype, annotator: str, annotators: dict, why: str, way_out: str):
    """(field, value, expected) when the file's `annotator` (configured) labels by another
    semantic_type than the writer's `stype` (its own, or its default), else None."""
    given = (annotators[annotator] or {}).get("semantic_type")
    theirs = option_default(ANNOTATORS[annotator].OPTIONS["semantic_type"]) if given is None else given
    if not (isinstance(stype, str) and isinstance(theirs, str) and stype != theirs):
        return None
    return (
        join(join("writers", writer), "semantic_type"),
        stype,
        f"the semantic_type of the {annotator} annotator it reads ({theirs!r}"
        f"{', its default' if given is None else ''}){why}: give the annotator the same "
        f"({annotator} = {{ semantic_type = {json.dumps(stype)} }}){way_out}",
    )


def _base_scene(v: _Reader, scene: dict, path: Path) -> BaseSceneSpec:
    """[scene] blend / scene / cameras / lights; the .blend resolved against this file."""
    base = read_section(v.problems, scene, "scene", BASE_SCENE_FIELDS, BaseSceneSpec(), known_extra=("ground", "world"))
    if base.blend:
        f = named_path(path.parent / expand_home(base.blend))
        if f.suffix.lower() != ".blend":
            v.problems.add("scene.blend", base.blend, "a Blender file ending in .blend")
        elif not f.is_file():
            v.problems.add(
                "scene.blend",
                base.blend,
                f"an existing file (looked for {f.as_posix()}){separator_hint(base.blend, f)}",
            )
        elif not looks_like_blend(f):
            v.problems.add("scene.blend", base.blend, "a Blender file (this one does not start as a .blend does)")
        else:
            base.blend_sha256 = file_sha256(f)
        base.blend = f.as_posix()
    else:
        for key in ("scene", "cameras", "lights"):
            if key in scene:
                v.problems.add(join("scene", key), scene[key], "a [scene] blend file to take it from (none is given)")
    return base


# How a .blend starts: its own header, or the gzip / zstd stream Blender compresses it into.
_BLEND_STARTS = (b"BLENDER", b"\x1f\x8b", b"\x28\xb5\x2f\xfd")


def looks_like_blend(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(7).startswith(_BLEND_STARTS)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _label_rule(v: _Reader, t, p: str) -> NameRule:
    if not v.is_table(t, p):
        return NameRule()
    section = read_section(v.problems, t, p, LABEL_RULE_FIELDS, LabelRuleSpec())
    rule = NameRule.from_section(section)
    problem = rule.check()
    if problem:
        v.problems.add(p, t, f"a usable rule: {problem}")
    return rule


LabelRuleSpec = section_class("LabelRuleSpec", LABEL_RULE_FIELDS)


def _world(v: _Reader, scene: dict) -> WorldSpec:
    return read_section(v.problems, v.table(scene, "world", "scene"), "scene.world", WORLD_FIELDS, WorldSpec())


def _camera(v: _Reader, t, p: str, render) -> CameraSpec:
    if not v.is_table(t, p):
        return CameraSpec(name=p)
    c = read_section(v.problems, t, p, CAMERA_FIELDS, CameraSpec(name=p), hints=PEER_CAMERA_KEYS)
    _intrinsics(v, t, p, c, render)
    if c.look_at is None and c.rotation is None:
        c.look_at = [0.0, 0.0, 0.0]
    said = {q.field for q in v.problems.items}  # a location or look_at refused already: not twice
    aimed = c.rig is None and c.look_at is not None and c.look_at == c.location
    if aimed and not {join(p, "location"), join(p, "look_at")} & said:
        default = "" if _given(t, "look_at") else " (the default look_at, [0, 0, 0]: give look_at or rotation)"
        _aim_problem(v, join(p, "look_at"), c.look_at, "the camera" + default)
    if _given(t, "look_at") and _given(t, "rotation"):
        v.problems.add(join(p, "rotation"), t["rotation"], "either look_at or rotation, not both")
    if c.rig is not None:
        if _given(t, "look_at"):
            v.problems.add(
                join(p, "look_at"), t["look_at"], "no look_at on a rigged camera: `rotation` relative to its rig"
            )
        c.look_at, c.rotation = None, c.rotation if c.rotation is not None else [0.0, 0.0, 0.0]
    if c.clip_end <= c.clip_start:
        v.problems.add(join(p, "clip_end"), c.clip_end, f"a value > clip_start ({c.clip_start})")
    if _given(t, "width") != _given(t, "height"):  # given, not valid: a height of 1 is out of range, not missing
        missing = "width" if _given(t, "height") else "height"
        v.problems.add(join(p, missing), MISSING, "width and height together (this camera's image size), or neither")
    elif c.width is not None and c.height is not None and c.width * c.height > MAX_PIXELS:
        v.problems.add(join(p, "width"), [c.width, c.height], f"at most {MAX_PIXELS} pixels (8192 x 8192)")
    return c


def _given(t: dict, key: str) -> bool:
    """Whether the table gives `key` a value: JSON's null for a field that may be absent
    (nullable) is read as leaving it out, by every check as by the field's own."""
    return t.get(key) is not None


def _intrinsics(v: _Reader, t, p: str, c, render) -> None:
    """A K matrix's fx, fy, cx, cy: fx (and fy) become focal_length (mm) and the pixel aspect
    (pinhole.blender_lens_for); cx, cy must lie in the image."""
    width, height = c.width or render.width, c.height or render.height
    if c.fy is not None:
        if c.fx is None:
            v.problems.add(join(p, "fy"), c.fy, "fy with fx (a K matrix's two focal lengths in pixels)")
        elif not c.fx / MAX_PIXEL_ASPECT <= c.fy <= c.fx * MAX_PIXEL_ASPECT:
            low, high = c.fx / MAX_PIXEL_ASPECT, c.fx * MAX_PIXEL_ASPECT
            v.problems.add(
                join(p, "fy"),
                c.fy,
                f"{low:g} .. {high:g} (fx / {MAX_PIXEL_ASPECT:g} .. fx × {MAX_PIXEL_ASPECT:g}: Blender's pixel aspect)",
            )
    if c.fx is not None:
        if "focal_length" in t:
            v.problems.add(join(p, "fx"), c.fx, "either focal_length (mm) or fx (pixels), not both")
        elif c.projection != "perspective":
            v.problems.add(join(p, "fx"), c.fx, "fx on a perspective camera only (orthographic: ortho_scale)")
        else:
            fy = c.fx if c.fy is None else c.fy
            c.focal_length = blender_lens_for(c.fx, fy, None, None, width, height, c.sensor_width).lens
            fy_refused = any(q.field == join(p, "fy") for q in v.problems.items)
            if c.focal_length < MIN_LENS_MM and not fy_refused:  # Blender would set the lens to 1 mm: another K
                v.problems.add(
                    join(p, "fx"),
                    c.fx,
                    f"a focal length of at least {MIN_LENS_MM:g} mm (Blender's least lens; this K matrix gives "
                    f"{c.focal_length:.4g} mm on a {c.sensor_width:g} mm sensor): a sensor_width of at least "
                    f"{c.sensor_width * MIN_LENS_MM / c.focal_length:.4g} mm, or a larger fx",
                )
    for key, size, side in (("cx", width, "width"), ("cy", height, "height")):
        value = getattr(c, key)
        if value is not None and value > size:
            v.problems.add(join(p, key), value, f"0 .. {size} (the image {side}, pixels)")


# Rays of one scan (channels x columns): each takes ~0.65 KB while the scan is cast (2M rays:
# 1.3 GB, 25 s on the 2-core development machine). 2^22 is 8x the largest real sensor
# (128 x 4096); the fields' own bounds alone allowed 1024 x 65536, ~40 GB.
MAX_LIDAR_RAYS = 1 << 22


def _lidar(v: _Reader, t, p: str) -> LidarSpec:
    """A LiDAR: the preset's values for every field the table leaves out."""
    if not v.is_table(t, p):
        return LidarSpec(name=p)
    s = read_section(v.problems, t, p, LIDAR_FIELDS, LidarSpec(name=p), hints={"position": _POSITION})
    preset = {"horizontal_fov": 360.0, **LIDAR_PRESETS[s.preset]}
    for key in ("model", "channels", "horizontal_fov", "columns", "max_range"):
        if getattr(s, key) is None:
            setattr(s, key, preset[key])
    if s.fov_down is None:
        s.fov_down = preset["vertical_fov"][0]
    if s.fov_up is None:
        s.fov_up = preset["vertical_fov"][1]
    if s.fov_down > s.fov_up:
        v.problems.add(join(p, "fov_down"), s.fov_down, f"at most fov_up ({s.fov_up})")
    elif s.fov_down == s.fov_up and s.channels > 1:  # every ring at one elevation: each ray cast channels times
        v.problems.add(
            join(p, "channels"),
            s.channels,
            f"1 where fov_down equals fov_up ({s.fov_up:g} degrees): {s.channels} channels at one elevation cast "
            f"the same rays {s.channels} times, every point {s.channels} times in each scan (a planar scanner is "
            "channels = 1); or fov_down below fov_up",
        )
    if s.min_range >= s.max_range:
        v.problems.add(join(p, "min_range"), s.min_range, f"less than max_range ({s.max_range})")
    if s.channels * s.columns > MAX_LIDAR_RAYS:
        v.problems.add(
            join(p, "columns"),
            s.columns,
            f"at most {MAX_LIDAR_RAYS // s.channels:,} with {s.channels} channels: a scan of at most "
            f"{MAX_LIDAR_RAYS:,} rays (channels x columns; ~0.65 KB of memory each while it is cast)",
        )
    return s


def _check_sensors(cfg: Config, problems: Problems) -> None:
    """Rigs name another, unrigged camera; temperatures lie in the radiometric range."""
    names = {c.name: c for c in cfg.cameras}
    for i, c in enumerate(cfg.cameras):
        if c.rig is None:
            continue
        target = names.get(c.rig)
        if target is None and cfg.base.blend:
            continue  # a camera of the base .blend: checked once its scene is built, before anything is written
        if target is None or target is c:
            others = sorted(n for n in names if n != c.name)
            problems.add(join(join("cameras", i), "rig"), c.rig, one_of(c.rig, others, "camera (another one)"))
        elif target.rig is not None:
            problems.add(
                join(join("cameras", i), "rig"),
                c.rig,
                f"a camera that is not itself rigged ({c.rig} is rigged to {target.rig})",
            )
    unit = cfg.thermal.unit
    lo, hi = T_MIN, T_MAX
    span = (
        f"{lo:g} .. {hi:g} K"
        if unit == "K"
        else f"{lo - ZERO_CELSIUS:g} .. {hi - ZERO_CELSIUS:g} °C ({lo:g} .. {hi:g} K)"
    )
    checks = [("thermal.ambient", cfg.thermal.ambient)]
    if cfg.world is not None:
        checks.append(("scene.world.temperature", cfg.world.temperature))
    checks.append(("scene.ground.temperature", cfg.ground.temperature))
    checks += [(f"assets[{i}].temperature", a.temperature) for i, a in enumerate(cfg.assets)]
    for i, c in enumerate(cfg.cameras):
        checks += [(f"cameras[{i}].preview_min", c.preview_min), (f"cameras[{i}].preview_max", c.preview_max)]
    for where, value in checks:
        if value is not None and not lo - 1e-9 <= to_kelvin(value, unit) <= hi + 1e-9:
            problems.add(where, value, f"a temperature in {span} (thermal.unit = {unit!r}; the radiometric range)")
    for i, c in enumerate(cfg.cameras):
        if c.preview_min is not None and c.preview_max is not None and c.preview_max <= c.preview_min:
            problems.add(f"cameras[{i}].preview_max", c.preview_max, f"more than preview_min ({c.preview_min})")


# Why a clip takes no corner case and no min_pixels guarantee (recorder.FrameSteering renders a
# clip's frames once each): both pick or redraw single frames.
CLIP_ONCE = (
    "a clip's frames share the values drawn for its first frame and are rendered once each: no frame is "
    "redrawn until a quota case or min_pixels holds, and a case's set values would change the scene in "
    "the middle of a clip"
)


def _check_pixel_guarantees(cfg: Config, in_file: list[int], problems: Problems) -> None:
    """A pixel count no camera's image holds can never be met: every frame (every assigned
    frame of a case) would be rendered max_tries times in vain."""
    sizes = [(c.width or cfg.render.width) * (c.height or cfg.render.height) for c in cfg.cameras]
    most = max([cfg.render.width * cfg.render.height, *sizes])
    expected = f"at most {most} (the pixels of the largest camera image): no frame could meet more"
    k = cfg.sequence.clip_length
    for i, r in zip(in_file, cfg.randomizers):
        if r.name == "camera_look_at" and k > 1 and int(r.options.get("min_pixels", 0)) > 0:
            problems.add(
                f"randomizers[{i}].min_pixels",
                r.options["min_pixels"],
                f"0 in a sequence (clip_length {k}): {CLIP_ONCE}",
            )
        elif r.name == "camera_look_at" and int(r.options.get("min_pixels", 0)) > most:
            problems.add(f"randomizers[{i}].min_pixels", r.options["min_pixels"], expected)
    for i, c in enumerate(cfg.cases):
        if c.measure == "pixels" and c.min is not None and c.min > most:
            problems.add(f"cases[{i}].min", c.min, expected)


def _check_drawn_temperatures(cfg: Config, in_file: list[int], problems: Problems) -> None:
    """What `thermal` and `world` entries (and fixed cases) can set as a temperature lies in
    the radiometric range, as a fixed temperature must: a draw beyond it was clipped by the
    thermal image's inverse without a word (and one below 0 K is no temperature)."""
    unit = cfg.thermal.unit
    span = f"{T_MIN:g} .. {T_MAX:g} K" if unit == "K" else f"{T_MIN - ZERO_CELSIUS:g} .. {T_MAX - ZERO_CELSIUS:g} °C"

    def outside(low: float, high: float) -> bool:
        return not (T_MIN - 1e-9 <= to_kelvin(low, unit) and to_kelvin(high, unit) <= T_MAX + 1e-9)

    for i, r in zip(in_file, cfg.randomizers):
        d = r.params.get("temperature") if r.name in ("thermal", "world") else None
        bounds = d.bounds() if d is not None else None
        if bounds is None or not outside(float(np.min(bounds[0])), float(np.max(bounds[1]))):
            continue
        drawn = f"[{float(np.min(bounds[0])):g}, {float(np.max(bounds[1])):g}]"
        problems.add(
            f"randomizers[{i}].temperature",
            d.to_dict(),
            f"values in {span} (thermal.unit = {unit!r}; the radiometric range); it can draw {drawn}",
        )
    for ci, case in enumerate(cfg.cases):
        for si, entry in enumerate(case.set):
            value = entry.get("temperature")
            if entry.get("type") in ("thermal", "world") and isinstance(value, (int, float)) and outside(value, value):
                problems.add(
                    f"cases[{ci}].set[{si}].temperature",
                    value,
                    f"a temperature in {span} (thermal.unit = {unit!r}; the radiometric range)",
                )


def _light(v: _Reader, t, p: str) -> LightSpec:
    if not v.is_table(t, p):
        return LightSpec(name=p)
    light = read_section(v.problems, t, p, LIGHT_FIELDS, LightSpec(name=p), hints=PEER_LIGHT_KEYS)
    for key in ("shape", "size_y"):  # an area light's: another type's would never show them
        if _given(t, key) and light.type != "AREA":
            v.problems.add(
                join(p, key), t[key], f'an area light\'s {key}: give type = "area" (this light is {light.type})'
            )
    if _given(t, "size_y") and light.type == "AREA" and light.shape not in ("RECTANGLE", "ELLIPSE"):
        v.problems.add(
            join(p, "size_y"),
            t["size_y"],
            f'a rectangle\'s or ellipse\'s height: give shape = "rectangle" or "ellipse" (a {light.shape.lower()}\'s '
            "size is `size` alone)",
        )
    if light.look_at is not None and light.look_at == light.location:
        _aim_problem(v, join(p, "look_at"), light.look_at, "the light")
    return light


def _aim_problem(v: _Reader, where: str, value, what: str) -> None:
    """A look_at at the location of what it aims: no direction (it would look down −Z)."""
    v.problems.add(where, value, f"a point other than the location of {what}: from there no direction is defined")


def _asset_list_path(path: Path, value: str) -> Path:
    """An asset list path, relative to the parameter file that names it (`~` expanded)."""
    return named_path(path.parent / expand_home(value))


def _asset_list(v: _Reader, value, path: Path, problems: Problems) -> list:
    """[(asset table, field path, file it came from)] of the asset list the file names."""
    if not isinstance(value, str) or not value.strip():
        problems.add("asset_list", value, "a path (string) to a TOML or JSON file with [[assets]]")
        return []
    list_path = _asset_list_path(path, value)
    if list_path == path:
        problems.add("asset_list", value, "another file than the parameter file itself")
        return []
    if list_path.suffix.lower() not in FILE_TYPES:
        problems.add("asset_list", value, "a file ending in .toml or .json")
        return []
    if not list_path.is_file():
        problems.add(
            "asset_list",
            value,
            f"an existing file (looked for {list_path.as_posix()}){separator_hint(value, list_path)}",
        )
        return []
    # Problems inside the list name the list's file.
    sub = _Redirect(problems, list_path.as_posix())
    data = read_table(list_path, sub)
    if data is None:
        return []
    sub.unknown_keys(data, ("assets",), "")
    items = data.get("assets", [])
    if not isinstance(items, list):
        sub.add("assets", items, "an array of tables ([[assets]])")
        return []
    return [(a, join("assets", i), list_path) for i, a in enumerate(items)]


def _asset(v: _Reader, t, p: str, base: Path) -> AssetSpec:
    problems = v.problems
    if base.as_posix() != problems.file:
        # Fields of an asset list are reported against that file.
        v = _Reader(_Redirect(problems, base.as_posix()))
    if not v.is_table(t, p):
        return AssetSpec(name=p)
    a = read_section(v.problems, t, p, ASSET_FIELDS, AssetSpec(name=p), hints=PEER_ASSET_KEYS)
    a.look = [k for k in ("color", "roughness", "metallic") if k in t]  # a file's materials keep the others
    has_prim, has_file, has_files = _given(t, "primitive"), _given(t, "file"), _given(t, "files")
    if has_prim + has_file + has_files > 1:
        given = [k for k in ("primitive", "file", "files") if _given(t, k)]
        v.problems.add(join(p, given[-1]), t[given[-1]], f"either {' or '.join(given)}, not both")
    elif not (has_prim or has_file or has_files):
        v.problems.add(join(p, "primitive"), MISSING, "a primitive or a file (or files, an asset pool): one of them")
    if has_files and isinstance(a.files, str):
        _pool(v, a, t, p, base)
    if "label_from" in t and not has_files:
        v.problems.add(join(p, "label_from"), t["label_from"], "no label_from without files (asset pools only)")
    if "blend_assets" in t and not has_files:
        v.problems.add(join(p, "blend_assets"), t["blend_assets"], "no blend_assets without files (asset pools only)")
    elif has_files and a.label_from == "asset" and not a.blend_assets:
        v.problems.add(join(p, "label_from"), t["label_from"], "label_from = 'asset' with blend_assets only")
    if has_file and a.file:
        raw = a.file
        f = named_path(base.parent / expand_home(raw))
        if f.suffix.lower() not in ASSET_EXTENSIONS:
            v.problems.add(join(p, "file"), raw, f"a file ending in one of {', '.join(ASSET_EXTENSIONS)}")
        elif not f.is_file():
            v.problems.add(
                join(p, "file"), raw, f"an existing file (looked for {f.as_posix()}){separator_hint(raw, f)}"
            )
        a.file = f.as_posix()
    elif has_file and t["file"] == a.file:  # (a value refused above is said there)
        v.problems.add(join(p, "file"), t["file"], "a path (not empty)")
        a.file = None
    if a.distractor and a.labels:
        v.problems.add(join(p, "labels"), t["labels"], "no labels on a distractor (distractor = true)")
    for k, pair in enumerate(a.skeleton):
        unknown = [n for n in pair if n not in a.keypoints]
        if unknown:
            v.problems.add(join(p, f"skeleton[{k}]"), pair, f"names of this asset's keypoints {list(a.keypoints)}")
    return a


def _pool(v: _Reader, a, t: dict, p: str, base: Path) -> None:
    """An asset pool: the files its glob matches (model files only), and their labels."""
    pattern = a.files.strip()
    if not pattern:
        v.problems.add(join(p, "files"), t["files"], "a glob of model files, e.g. assets/mugs/*.glb")
        return
    root, found = glob_files(pattern, base.parent, ASSET_EXTENSIONS)
    if not found:
        v.problems.add(
            join(p, "files"),
            t["files"],
            f"a glob matching model files ({', '.join(ASSET_EXTENSIONS)}) under {root.resolve().as_posix()}"
            + glob_hint(pattern, base.parent, ASSET_EXTENSIONS),
        )
        return
    if len(found) * a.count > MAX_POOL_FILES:
        v.problems.add(join(p, "files"), t["files"], f"at most {MAX_POOL_FILES} objects (matched {len(found)} files)")
        return
    if a.blend_assets is not None:
        others = [f.name for f in found if f.suffix.lower() != ".blend"]
        if not a.blend_assets.strip():
            v.problems.add(join(p, "blend_assets"), t["blend_assets"], 'a glob of asset names, e.g. "*"')
        elif others:
            v.problems.add(join(p, "files"), t["files"], f"only .blend files with blend_assets (matched {others[0]!r})")
    a.pool_files = [f.as_posix() for f in found]
    if a.distractor and "label_from" in t:
        v.problems.add(join(p, "label_from"), t["label_from"], "no label_from on a distractor pool (never labelled)")
    fixed = _fixed_part(pattern, base.parent)
    not_labels: dict[str, Path] = {}  # a name that is no label value -> its first file
    for f in found:
        labels = {k: list(x) for k, x in a.labels.items()}
        if a.distractor:
            a.pool_labels.append(labels)
            continue
        name = None
        if a.label_from == "folder":
            name = f.parent.name
        elif a.label_from == "top_folder":
            below = f.relative_to(fixed).parts if f.is_relative_to(fixed) else ()
            if len(below) < 2:  # directly in the fixed folder: no folder below it
                where = f"files in sub-folders of {fixed.as_posix()} (the glob's part without wildcards)"
                v.problems.add(join(p, "label_from"), t["label_from"], f"{where}; {f.as_posix()} is in none")
                return
            name = below[0]
        elif a.label_from == "file":
            name = f.stem
        if name is not None:
            # As one text, whichever way the file system spells it: macOS's (and zip files
            # made there) give 'café' decomposed (NFD), a parameter file composed (NFC).
            name = unicodedata.normalize("NFC", name)
            if not is_label_text(name):
                not_labels.setdefault(name, f)
            labels["class"] = [name]
        a.pool_labels.append(labels)
    if not_labels:  # they end up in label files as the parameter file's labels do
        names = ", ".join(f"{n!r} ({f.as_posix()!r})" for n, f in list(not_labels.items())[:5])
        more = f" and {len(not_labels) - 5} more" if len(not_labels) > 5 else ""
        v.problems.add(
            join(p, "label_from"),
            t["label_from"],
            f"{a.label_from} names that are label values ({LABEL_TEXT}, no spaces at the ends); "
            f"these are not: {names}{more}",
        )


def _fixed_part(pattern: str, folder: Path) -> Path:
    """The folder a glob's leading components without wildcards name (absolute, normalized):
    `models/**/*.glb` -> FOLDER/models."""
    path = expand_home(pattern)
    fixed = Path(path.anchor) if path.is_absolute() else folder
    for part in (path.parts[1:] if path.is_absolute() else path.parts)[:-1]:
        if any(c in part for c in "*?["):
            break
        fixed = fixed / part
    return Path(os.path.normpath(fixed.absolute()))


def _names(value) -> bool:
    """A name or a list of names (not numbers, not a distribution)."""
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(x, str) for x in value)
    )


def _randomizer(v: _Reader, t, p: str, base: Path) -> tuple[RandomizerSpec | None, list[str]]:
    if not v.is_table(t, p):
        return None, []
    kind = t.get("type", MISSING)
    cls = RANDOMIZERS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        v.problems.add(join(p, "type"), kind, randomizer_type_expected(kind))
        return None, []
    known = ("type", "targets", *cls.PARAMS, *cls.OPTIONS, *(f.name for f in TRIGGER_FIELDS))
    v.problems.unknown_keys(t, known, p, {"seed": SEED_HINT} | PEER_TRIGGER_KEYS | peer_key_hints(known))
    targets: list[str] | dict[str, list[str]] = []
    if cls.target_kind is not None and isinstance(t.get("targets"), dict):
        targets = _label_targets(v, t["targets"], join(p, "targets"), cls)
    elif cls.target_kind is not None:
        targets = v.strings(t, "targets", p, None)
    elif "targets" in t:
        # A table of labels: the world carries none either (Replicator's prims by semantics).
        why = " (it changes the world, which carries no labels)" if isinstance(t["targets"], dict) else ""
        v.problems.add(join(p, "targets"), t["targets"], f"no targets: a {kind} randomizer has none{why}")
    params: dict[str, Distribution] = {}
    first = len(v.problems.items)
    for name, (value_kind, desc) in cls.PARAMS.items():
        if name in t:
            if name == "look_at" and "look_at_objects" in cls.OPTIONS and _names(t[name]):
                # Replicator's rep.modify.pose(look_at=prim): an object, not a point
                v.problems.add(
                    join(p, name),
                    t[name],
                    f"{_KIND_TEXT[value_kind]} ({desc}): objects to look at (Replicator's look_at of a prim) "
                    f"are `look_at_objects = {json.dumps(t[name])}`, the mean of their bounding-box centres",
                )
                continue
            d = v.sampled(t, name, p, value_kind, desc, cls.value_range(name))
            if d is not None:
                params[name] = d
    options = {}
    before = len(v.problems.items)  # a problem from here on: not prepared (its folders not read)
    for name, spec in cls.OPTIONS.items():
        if name in cls.REQUIRED_OPTIONS and name not in t:
            desc = spec.doc if isinstance(spec, Field) else spec[2]
            v.problems.add(join(p, name), MISSING, f"{desc} (required)")
        if isinstance(spec, Field):
            options[name] = check_value(v.problems, spec, t[name], join(p, name)) if name in t else spec.default
            continue
        if (kind, name) == ("material_swap", "materials") and isinstance(t.get(name), list) and _names(t[name]):
            # Replicator's rep.randomizer.materials(materials=[...]): names, drawn uniformly
            listed = json.dumps(t[name])
            v.problems.add(
                join(p, name),
                t[name],
                f"str: {spec[2]}. A list of names (Replicator's materials=[...]) is "
                f'`material = {{ distribution = "choice", values = {listed} }}`',
            )
            options[name] = spec[0]
            continue
        if name in cls.OBJECT_OPTIONS and isinstance(t.get(name), dict):  # by labels, as targets may be
            options[name] = _label_table(v, t[name], join(p, name))
            continue
        options[name] = v.typed(t, name, p, *spec)
    given = {f.name: t[f.name] for f in TRIGGER_FIELDS if f.name in t}
    if isinstance(given.get("trigger"), str) and given["trigger"] in PEER_TRIGGERS:
        listed = ", ".join(repr(c) for c in TRIGGER_FIELDS[0].choices)
        v.problems.add(join(p, "trigger"), given.pop("trigger"), f"one of {listed}: {PEER_TRIGGERS[t['trigger']]}")
    trigger = read_section(v.problems, given, p, TRIGGER_FIELDS, _Trigger())
    if trigger.trigger == "once" and "interval" in t:
        v.problems.add(
            join(p, "interval"), t["interval"], 'no interval with trigger = "once" (it draws at frame 0 only)'
        )
    reported = {problem.field for problem in v.problems.items[first:]}
    for key, bad, expected in cls.check(params, options):
        field = join(p, key)
        if any(r == field or r.startswith((f"{field}.", f"{field}[")) for r in reported):
            continue  # a value refused above, or a part of it (then missing from params): said once
        v.problems.add(join(p, key), t.get(key, MISSING) if bad is None else bad, expected)
    reported = {problem.field for problem in v.problems.items[first:]}
    for key, expected in cls.unused_options(options, set(t)):
        if join(p, key) not in reported:  # a value refused above: said once
            v.problems.add(join(p, key), t[key], expected)
    if len(v.problems.items) > before:
        return None, []
    spec = cls(params, options, trigger.trigger, trigger.interval)
    for key, bad, expected in spec.prepare(base):  # folders it names, names it picks
        v.problems.add(join(p, key), bad if bad is not None else MISSING, expected)
    return spec, targets


LABEL_TARGETS_TEXT = (
    "a table of label type -> a label glob or a list of them, e.g. "
    '{ class = "cube" } or { class = ["cube", "sphere*"], color = "red" }: the objects whose labels match '
    "every type (one of a list)"
)


def _label_targets(v: _Reader, value: dict, p: str, cls) -> dict[str, list[str]]:
    """`targets` as a table of labels (Replicator's rep.get.prims(semantics=...)): {type:
    [globs]}, each value composed as labels are. Whether each type is one the file declares
    is checked once the whole file is read (_check_label_targets)."""
    if cls.target_kind in ("lights", "cameras"):
        what = cls.target_kind
        example = json.dumps("key*" if what == "lights" else "cam*")
        v.problems.add(
            p,
            value,
            f"a name pattern or a list of name patterns (globs): a {cls.name} randomizer's targets are {what}, "
            f"which carry no labels, so a table of labels (which chooses labelled objects) selects none of them; "
            f"name the {what}, e.g. targets = {example}",
        )
        return {}
    return _label_table(v, value, p)


def _label_table(v: _Reader, value: dict, p: str) -> dict[str, list[str]]:
    """A table of labels ({type: a glob or a list of globs}) choosing objects: a randomizer's
    `targets`, or an option naming other objects (OBJECT_OPTIONS: scatter's surface and
    avoid, physics_settle's passive, the objects cameras look at); one reading for all."""
    if not value:
        v.problems.add(p, value, LABEL_TARGETS_TEXT)
        return {}
    out: dict[str, list[str]] = {}
    for kind, x in value.items():
        where = join(p, kind)
        globs = [x] if isinstance(x, str) else x
        if not is_label_type(kind):
            v.problems.add(where, kind, f"a label type: {LABEL_TYPE_TEXT}, no spaces at the ends")
        elif isinstance(globs, list) and globs and all(map(is_glob_text, globs)):
            out.setdefault(composed(kind), []).extend(composed(g) for g in globs)  # the type as the objects
        else:
            hint = f": {peer_target_hint(kind, p)}" if kind in PEER_TARGET_KEYS else ""  # rep.get.prims' keys
            v.problems.add(
                where, x, f"a label glob or a non-empty list of label globs (strings without control characters){hint}"
            )
    return out


def label_types_declared(cfg: Config) -> list[str]:
    """The label types a parameter file gives objects or declares, which label targets may
    name: [labels]' types, the assets' and the ground's labels (a pool's too), the types of
    [[label_rules]], and `class` (the type writers and annotators read by default; a .blend's
    `semantics` of another type alone: declare it in [labels], e.g. `shape = []`)."""
    return sorted({"class", *cfg.label_order(), *(rule.type for rule in cfg.label_rules)})


def _check_label_targets(cfg: Config, in_file: list[int], problems: Problems) -> None:
    """Label targets name label types the file knows (label_types_declared): a misspelt type
    (`clas`) would otherwise match nothing, said only once the scene is built."""
    declared = label_types_declared(cfg)
    for i, spec, targets in zip(in_file, cfg.randomizers, cfg.randomizer_targets):
        tables = {"targets": targets, **{k: spec.options[k] for k in spec.OBJECT_OPTIONS}}
        for key, kind in [(k, kind) for k, t in tables.items() if isinstance(t, dict) for kind in t]:
            if kind not in declared:
                where = join(join(join("randomizers", i), key), kind)
                close = did_you_mean(kind, declared)
                hint = (
                    peer_target_hint(kind, where.rsplit(".", 1)[0])
                    if kind in PEER_TARGET_KEYS
                    else f"a type only a .blend's semantics give: declare it in [labels], e.g. {toml_key(kind)} = []"
                )
                problems.add(
                    where,
                    kind,
                    "a label type the file declares ([labels], assets' labels, scene.ground.labels, a "
                    f"[[label_rules]] type, or class){f': did you mean {close!r}?' if close else ''} "
                    f"(declared: {', '.join(map(repr, declared))}); {hint}",
                )


# rep.get.prims' other keys, written as label types in a table of targets: what they are here.
PEER_TARGET_KEYS = {
    "semantics": 'Replicator\'s rep.get.prims(semantics=[("class", "cube")]) is targets = { class = "cube" } here',
    "path_pattern": "Replicator's rep.get.prims(path_pattern=...) (a regular expression over prim paths) is a "
    'name glob here, targets = "cube_*" (an asset\'s copies are NAME_000, NAME_001, ...)',
    "prim_types": "Replicator's rep.get.prims(prim_types=...) has no counterpart: each randomizer takes the kind "
    "of object it changes (a light randomizer lights, a camera randomizer cameras)",
}


def peer_target_hint(kind: str, p: str) -> str:
    """PEER_TARGET_KEYS' answer for the field at `p` (its key: targets, surface, avoid, ...)."""
    return PEER_TARGET_KEYS[kind].replace("targets = ", f"{p.rsplit('.', 1)[-1]} = ")


_Trigger = section_class("_Trigger", TRIGGER_FIELDS)


def _case(v: _Reader, t, p: str, randomizers: list, targets: list[list[str]], refused: set = frozenset()) -> CaseSpec:
    """`refused`: types of [[randomizers]] entries refused for problems of their own (said
    there): a case of such a type is not also told there is no entry of it."""
    c = CaseSpec()
    if not v.is_table(t, p):
        return c
    read_section(v.problems, t, p, CASE_FIELDS, c, known_extra=("set",))
    c.label, c.semantic_type = composed(c.label), composed(c.semantic_type)  # as the objects' labels are
    entries = t.get("set", [])
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        v.problems.add(join(p, "set"), entries, "a list of tables {type, target, <parameter> = value}")
        entries = []
    for i, e in enumerate(entries):
        where = join(join(p, "set"), i)
        if not v.is_table(e, where):
            continue
        cls = RANDOMIZERS.get(e.get("type")) if isinstance(e.get("type"), str) else None
        if cls is None:
            v.problems.add(join(where, "type"), e.get("type", MISSING), one_of(e.get("type"), sorted(RANDOMIZERS)))
            continue
        v.problems.unknown_keys(e, ("type", "target", *cls.PARAMS, *cls.LOGGED_OPTIONS), where)
        # An entry of the type refused for problems of its own (said there): not "no entry" too.
        said = cls.name in refused
        if not said and not any(r.name == cls.name for r in randomizers):  # it would set nothing, and count as made
            v.problems.add(
                join(where, "type"),
                cls.name,
                f"the type of a [[randomizers]] entry of this file: a case replaces the values its entries "
                f"draw, and there is no {cls.name} entry",
            )
        if not isinstance(e.get("target", "*"), str):
            v.problems.add(join(where, "target"), e["target"], "a target name pattern (glob)")
        for key in () if said else cls.LOGGED_OPTIONS:  # several entries of the type (property paths): say which
            given = [r.options[key] for r in randomizers if r.name == cls.name]
            if e.get(key, MISSING) not in given:
                v.problems.add(
                    join(where, key), e.get(key, MISSING), one_of(e.get(key), given, f"{key} of a {cls.name} entry")
                )
        for k, (kind, desc) in cls.PARAMS.items():
            if k not in e:
                continue
            if not _fits(e[k], kind):
                v.problems.add(join(where, k), e[k], f"{_KIND_TEXT[kind]} ({desc})")
            elif cls.CASE_PARAMS is not None and k not in cls.CASE_PARAMS:
                can = ", ".join(cls.CASE_PARAMS) or "none"
                v.problems.add(
                    join(where, k),
                    e[k],
                    f"a parameter a case can set on {cls.name} ({can}): {cls.name} computes what it applies "
                    f"from {k} when it draws, so the case's value would be logged but not rendered",
                )
            elif (valid := cls.value_range(k)) is not None:  # as a randomizer's constant is checked
                v._support_within(Constant(e[k]), valid, join(where, k), e[k], k)
            else:  # a name (light type, pattern, file): as each entry it may go to takes them
                problem = next(
                    filter(None, (r.name_problem(k, [e[k]]) for r in _case_entries(e, randomizers, targets))), None
                )
                if problem:
                    v.problems.add(join(where, k), *problem)
        c.set.append(dict(e))
    if not c.set and c.min is None and c.max is None:
        v.problems.add(p, t, "a fixed case (set = [...]) or a quota condition (min and/or max of measure)")
    elif c.set:  # a quota field with `set` was ignored: its frames counted as made, unmeasured
        for key in QUOTA_FIELDS:
            if _given(t, key):
                v.problems.add(
                    join(p, key),
                    t[key],
                    "a fixed case (set = [...]) or a quota condition (min and/or max of measure), not both: "
                    "a fixed case's frames are not measured",
                )
    return c


def _case_entries(e: dict, randomizers: list, targets: list[list[str]]) -> list:
    """The randomizer entries a case's `set` entry may replace values of: of its type, its
    logged options (a property's path), and targets its `target` may name (a glob may name
    any; a name, those of the entry's globs matching it; label targets may hold any name)."""
    pattern = e.get("target", "*")
    wild = not isinstance(pattern, str) or any(ch in pattern for ch in "*?[")
    return [
        r
        for r, globs in zip(randomizers, targets)
        if r.name == e.get("type")
        and all(r.options.get(k) == e[k] for k in r.LOGGED_OPTIONS if k in e)
        and (wild or not globs or isinstance(globs, dict) or any(fnmatch.fnmatchcase(pattern, g) for g in globs))
    ]


QUOTA_FIELDS = ("measure", "label", "semantic_type", "min", "max", "camera", "max_tries")


def _check_cases(cfg: Config, problems: Problems) -> None:
    names = [c.name for c in cfg.cases]
    for i, c in enumerate(cfg.cases):
        if c.name in names[:i]:
            problems.add(join(join("cases", i), "name"), c.name, "a name not used by another case")
        if c.camera and c.camera not in [cam.name for cam in cfg.cameras]:
            problems.add(join(join("cases", i), "camera"), c.camera, one_of(c.camera, [x.name for x in cfg.cameras]))
        # A condition no frame can meet: every assigned frame would be rendered max_tries times in vain.
        where = join("cases", i)
        if c.min is not None and c.max is not None and c.max < c.min:
            problems.add(join(where, "max"), c.max, f"a number >= min ({c.min:g}): no frame could meet both")
        elif c.measure in ("occlusion", "truncation") and c.min is not None and c.min > 1:
            problems.add(join(where, "min"), c.min, f"at most 1: {c.measure} is a ratio in [0, 1]")
        elif c.max is not None and c.max < 0:
            problems.add(join(where, "max"), c.max, f"at least 0: {c.measure} is never negative")
    k = cfg.sequence.clip_length
    for i, c in enumerate(cfg.cases if k > 1 else []):
        problems.add(
            join(join("cases", i), "name"), c.name, f"no [[cases]] in a sequence (clip_length {k}): {CLIP_ONCE}"
        )
    total = sum(c.frames for c in cfg.cases)
    if total > cfg.frames:
        problems.add("cases", total, f"at most run.frames ({cfg.frames}) frames requested by all cases together")


def _keypoint_classes(
    cfg: Config, stype: str, asset_origins: list[tuple[str, Path]], path: Path, problems: Problems, skeletons=True
) -> None:
    """With the COCO writer (or YOLO's with keypoints = true), assets of one class (its
    semantic_type) that declare keypoints declare the same names, in one order, and (with
    `skeletons`: COCO's; YOLO-pose has none) one skeleton: a COCO category, a YOLO-pose
    class's keypoint slots, has one list of keypoint names (two assets of class 'box' with
    keypoints [top, base, ...] and [a, b, c] gave category 'box' one asset's names, the
    other's annotations another count of keypoints). Reported at the later entry."""
    here = path.as_posix()
    seen: dict[str, tuple[str, list, list, str]] = {}  # class -> (entry, names, skeleton, its file)
    for a, (where, base) in zip(cfg.assets, asset_origins):
        values = a.labels.get(stype)
        if not a.keypoints or not values:
            continue
        names, skeleton = list(a.keypoints), [list(pair) for pair in a.skeleton] if skeletons else []
        label = ",".join(values)
        # the first entry as said in a problem of the file of the later one
        first = seen.setdefault(label, (where, names, skeleton, base.as_posix()))
        if (first[1], first[2]) != (names, skeleton):
            sink = problems if base.as_posix() == here else _Redirect(problems, base.as_posix())
            entry = first[0] if first[3] == base.as_posix() else f"{first[0]} in {first[3]}"
            sink.add(
                join(where, "keypoints"),
                a.keypoints,
                f"the keypoint names and skeleton of {entry}, of {stype} {label!r} too ({first[1]}, skeleton "
                f"{first[2]}): a COCO category (a YOLO-pose class) has one list of keypoint names; or another {stype}",
            )


def _unique_names(cfg: Config, asset_origins: list[tuple[str, Path]], path: Path, problems: Problems) -> None:
    """Cameras, lights and assets share one namespace: Blender object names are unique.

    An asset with count > 1 also makes objects NAME_000, NAME_001, ...; an enabled ground
    is the object `ground`. A clash is reported at the later entry, in the file declaring it.
    """
    here = path.as_posix()
    seen: dict[str, tuple[str, str | None]] = {}  # name -> the entry that took it first, its file
    if cfg.ground.enabled:
        seen["ground"] = ("the ground object (scene.ground)", None)

    def holder(name: str, file: str) -> str:
        """The entry that took `name`, as said in a problem of `file`: with its own file where
        that is another (an asset list's problem naming the parameter file's entry)."""
        where, its_file = seen[name]
        return where if its_file in (None, file) else f"{where} in {its_file}"

    refused = {(p.file, p.field) for p in problems.items}  # a name refused already: no clash to say

    def claim(name: str, made: list[str], where: str, file: str) -> None:
        if (file, join(where, "name")) in refused:
            return
        sink = problems if file == here else _Redirect(problems, file)
        longest = max(made, key=lambda n: len(n.encode()), default="")
        if len(longest.encode()) > MAX_NAME_BYTES:  # Blender would cut it: copies named otherwise
            room = MAX_NAME_BYTES - (len(longest.encode()) - len(name.encode()))
            sink.add(
                join(where, "name"),
                name,
                f"a name of at most {room} bytes for its {len(made)} objects {made[0]!r} .. {made[-1]!r}: "
                f"Blender 4.2 cuts an object's name at {MAX_NAME_BYTES} bytes, the limit of names here (its "
                "copies would be named otherwise, and targets written for NAME_* would miss them)",
            )
            return
        clash = next((n for n in [name, *made] if n in seen), None)
        if clash is not None:
            if clash == name:
                expected = f"a name not used already ({holder(clash, file)} has it)"
            else:
                expected = f"a name whose objects are free (its object {clash!r} is taken by {holder(clash, file)})"
            sink.add(join(where, "name"), name, expected)
            return
        for n in [name, *made]:
            seen[n] = (where, file)

    for i, c in enumerate(cfg.cameras):
        claim(c.name, [], join("cameras", i), here)
    for i, light in enumerate(cfg.lights):
        claim(light.name, [n for n in light_names(light) if n != light.name], join("lights", i), here)
    for a, (where, base) in zip(cfg.assets, asset_origins):
        made = [n for n in object_names(a) if n != a.name]
        claim(a.name, made, where, base.as_posix())
    for i, lidar in enumerate(cfg.lidars):  # not objects, but output sub-folders beside cameras
        claim(lidar.name, [], join("lidars", i), here)
    for a, (where, base) in zip(cfg.assets, asset_origins):  # members counted at the build: any NAME_NNN
        member = re.compile(re.escape(a.name) + r"_[0-9]{3,}")
        clash = next((n for n in seen if member.fullmatch(n)), None) if a.blend_assets else None
        if clash is not None:
            sink = problems if base.as_posix() == here else _Redirect(problems, base.as_posix())
            taken_by = holder(clash, base.as_posix())
            expected = f"a name whose members' objects are free (a member {clash!r} is taken by {taken_by})"
            sink.add(join(where, "name"), a.name, expected)
    # A sensor's name is its output sub-folder: not one the tool makes there itself.
    sensors = [(join("cameras", i), c.name) for i, c in enumerate(cfg.cameras)]
    sensors += [(join("lidars", i), lidar.name) for i, lidar in enumerate(cfg.lidars)]
    taken = {p.field for p in problems.items}  # a name already refused above: one problem
    folders: dict[str, str] = {}  # folder name, case aside -> the entry that took it
    for where, name in sensors:
        field = join(where, "name")
        if field not in taken:
            problem = sensor_folder_problem(name, folders, where)
            if problem:
                problems.add(field, name, problem)
    # A LiDAR rides on a camera or an object of the parameter file (checked before a run),
    # or of the base .blend (checked once its scene is built, before anything is written).
    # An entry of several objects (count > 1) is no object itself: its objects are NAME_000 ...;
    # a pool's members (NAME_000 ..., a pool no object either) and a model file's meshes
    # (NAME/mesh) are named once the scene is built, so a name of theirs is checked then.
    mounts = {c.name for c in cfg.cameras} | ({"ground"} if cfg.ground.enabled else set())
    named_when_built = []
    for a in cfg.assets:
        if a.files:
            named_when_built.append(a.name)
            continue
        mounts |= {f"{a.name}_{k:03d}" for k in range(a.count)} if a.count > 1 else {a.name}
        if a.file:
            named_when_built.append(f"{a.name}/" if a.count == 1 else f"{a.name}_")
    for i, lidar in enumerate(cfg.lidars):
        later = any(lidar.mount.startswith(prefix) for prefix in named_when_built)
        if lidar.mount and lidar.mount not in mounts and not cfg.base.blend and not later:
            problems.add(
                join(join("lidars", i), "mount"), lidar.mount, one_of(lidar.mount, sorted(mounts), "camera or object")
            )


class _Redirect(Problems):
    """A Problems that records into another collector under a different file name."""

    def __init__(self, target: Problems, file: str):
        super().__init__(file)
        self.items = target.items


def _draws_rotations(d: Distribution) -> bool:
    """Whether `d` is uniform_rotation or a mixture with one among its components."""
    return d.name == "uniform_rotation" or any(_draws_rotations(c) for c in getattr(d, "components", ()))


class _Reader:
    """Typed getters that record a problem and return the default when a value is wrong."""

    def __init__(self, problems: Problems):
        self.problems = problems

    def is_table(self, t, p: str) -> bool:
        if isinstance(t, dict):
            return True
        self.problems.add(p, t, "a table")
        return False

    def table(self, t: dict, key: str, p: str = "") -> dict:
        value = t.get(key, {})
        if isinstance(value, dict):
            return value
        self.problems.add(join(p, key), value, "a table")
        return {}

    def array(self, t: dict, key: str) -> list:
        value = t.get(key, [])
        if isinstance(value, list):
            return value
        self.problems.add(key, value, f"an array of tables ([[{key}]])")
        return []

    def strings(self, t: dict, key: str, p: str, default) -> list[str]:
        value = t.get(key, MISSING if default is None else default)
        if isinstance(value, str) and is_glob_text(value):
            return [value]
        if isinstance(value, list) and value and all(map(is_glob_text, value)):
            return list(value)
        hint = ""
        if key == "targets":  # a table of labels is _label_targets' (rep.get.prims(semantics=...))
            hint = f", or {LABEL_TARGETS_TEXT}"
        self.problems.add(
            join(p, key),
            value,
            f"a name pattern or a list of name patterns (globs; non-empty strings without control characters){hint}",
        )
        return []

    def numbers(self, t: dict, key: str, p: str, default, n: int, low=None, high=None, whole=False, what=""):
        """A list of n numbers (whole numbers if `whole`) within [low, high], else default."""
        value = t.get(key, default)
        ok = isinstance(value, list) and len(value) == n
        ok = ok and all((isinstance(x, int) and not isinstance(x, bool)) if whole else _number(x) for x in value)
        ok = ok and all((low is None or x >= low) and (high is None or x <= high) for x in value)
        if ok:
            return [int(x) if whole else float(x) for x in value]
        rng = f" >= {low}" if low is not None else ""
        rng += f" and <= {high}" if high is not None else ""
        kind = "whole numbers" if whole else "numbers"
        self.problems.add(join(p, key), value, f"{what + ': ' if what else ''}a list of {n} {kind}{rng}")
        return default

    def label_table(self, t: dict, key: str, p: str) -> dict[str, list[str]]:
        value = t.get(key, {})
        out = {}
        if not isinstance(value, dict):
            self.problems.add(join(p, key), value, 'a table of label type -> list of values, e.g. class = ["mug"]')
            return out
        for k, x in value.items():
            x = [composed(s) for s in x] if isinstance(x, list) else x  # 'café' two ways: one value
            if not is_label_type(k):
                self.problems.add(join(join(p, key), k), k, f"a label type: {LABEL_TYPE_TEXT}, no spaces at the ends")
            elif composed(k) in out:
                self.problems.add(
                    join(join(p, key), k),
                    k,
                    f"distinct label types ({composed(k)!r} is given twice, in two Unicode forms)",
                )
            elif isinstance(x, list) and all(is_label_text(s) for s in x) and len(set(x)) == len(x):
                out[composed(k)] = list(x)
            elif isinstance(x, list):
                # Name each value at fault: a long list's value is cut short in the message.
                first: dict[str, int] = {}
                for i, s in enumerate(x):
                    where = join(join(join(p, key), k), i)
                    if not is_label_text(s):
                        self.problems.add(where, s, f"a label value: {LABEL_TEXT}, no spaces at the ends")
                    elif s in first:
                        self.problems.add(
                            where, s, f"distinct values (this one is {join(join(join(p, key), k), first[s])} too)"
                        )
                    else:
                        first[s] = i
            else:
                self.problems.add(
                    join(join(p, key), k),
                    x,
                    f"a list of distinct label values, each {LABEL_TEXT}, no spaces at the ends",
                )
        return out

    def typed(self, t: dict, key: str, p: str, default, typ, desc: str):
        value = t.get(key, default)
        types = typ if isinstance(typ, tuple) else (typ,)
        if isinstance(value, bool) and bool not in types:
            ok = False
        elif float in types and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        else:
            ok = isinstance(value, types)
        if ok and isinstance(value, str) and not is_string_text(value):
            self.problems.add(
                join(p, key),
                value,
                f"a string without control characters (newline, tab, NUL...): {desc}{escape_hint(value)}",
            )
            return default
        if ok and set(types) == {str, list} and isinstance(value, list) and not all(map(is_glob_text, value)):
            # "glob or list of globs", as docs/parameters.md states the type: not a list of anything
            self.problems.add(
                join(p, key), value, f"a glob or a list of globs (non-empty strings, no control characters): {desc}"
            )
            return default
        if ok:
            return value
        names = " or ".join(x.__name__ for x in types)
        self.problems.add(join(p, key), value, f"{names}: {desc}")
        return default

    def sampled(self, t: dict, key: str, p: str, kind: str, desc: str, valid=None) -> Distribution | None:
        """A constant or distribution of the parameter's kind whose every possible value
        lies in `valid` ((low, high), None for unbounded), else None after a problem."""
        value = t[key]
        where = join(p, key)
        shorthand = is_per_axis_shorthand(value)
        value = as_spec(value)
        if is_distribution_spec(value):
            if value.get("k") is not None and kind not in _ELEMENT_KIND:  # before k's own checks
                self.problems.add(join(where, "k"), value["k"], f"no k: {key} takes one value ({desc})")
                return None
            found = check_distribution_spec(value)
            for sub, bad, expected in found:
                if sub not in value and "." not in sub and "[" not in sub:  # a required parameter is missing
                    bad = MISSING
                if shorthand and sub.startswith("axes"):  # as the user wrote it: rotation[2].high
                    self.problems.add(where + sub[len("axes") :], bad, expected)
                else:
                    self.problems.add(join(where, sub), bad, expected)
            if found:
                return None
            d = make_distribution(value)
            if d.VALUE_KIND is not None and d.VALUE_KIND != kind and (kind, d.VALUE_KIND) != (NUMBER_OR_VEC3, VEC3):
                drawn = f"the {d.name} distribution draws {_KIND_TEXT[d.VALUE_KIND]}"
                self.problems.add(where, value, f"{_KIND_TEXT[kind]}, as {key} takes ({desc}): {drawn}")
                return None
            if key != "rotation" and _draws_rotations(d):  # Euler degrees: nonsense as metres or m/s
                self.problems.add(
                    where,
                    value,
                    f"{_KIND_TEXT[kind]}, as {key} takes ({desc}): uniform_rotation draws rotations (XYZ Euler degrees), only for a `rotation` parameter",
                )
                return None
            many = d.params.get("k") is not None
            if many and kind not in _ELEMENT_KIND:
                self.problems.add(join(where, "k"), d.params["k"], f"no k: {key} takes one value ({desc})")
                return None
            element = _ELEMENT_KIND[kind] if many else kind
            for sub, bad in _distribution_values(d):
                if not _fits(bad, element):
                    self.problems.add(join(where, sub), bad, f"{_KIND_TEXT[element]}, as {key} takes ({desc})")
                    return None
            if d.name == "per_axis" and not _per_axis_fits(len(d.axes), kind):
                field = where if shorthand else join(where, "axes")
                self.problems.add(field, value["axes"], f"{_KIND_TEXT[kind]}, as {key} takes ({desc})")
                return None
            if valid is not None and not self._support_within(d, valid, where, value, key):
                return None
            return d
        if not _fits(value, kind):
            hint = missing_distribution_hint(value)
            self.problems.add(where, value, f"{_KIND_TEXT[kind]} ({desc}), or a {{distribution = ...}} table{hint}")
            return None
        d = make_distribution(value)
        if valid is not None and not self._support_within(d, valid, where, value, key):
            return None
        return d

    def _support_within(self, d: Distribution, valid, where: str, value, key: str) -> bool:
        """Whether every value `d` can draw lies in [low, high] (a problem if not)."""
        bounds = d.bounds()
        if bounds is None:
            return True
        lo, hi = valid
        # A sanity limit (|limit| >= SANITY_LIMIT, e.g. coordinates within 1e6 m) is not a
        # meaning of the parameter: an open normal passes it if mean -/+ 12 std does.
        practical = d.reach() if hasattr(d, "reach") else bounds
        lows = practical[0] if lo is not None and abs(lo) >= SANITY_LIMIT else bounds[0]
        highs = practical[1] if hi is not None and abs(hi) >= SANITY_LIMIT else bounds[1]
        below = lo is not None and bool(np.any(lows < lo))
        above = hi is not None and bool(np.any(highs > hi))
        if not (below or above):
            return True
        allowed = _interval_text(lo, hi)
        if isinstance(d, Constant):
            self.problems.add(where, value, f"values in {allowed} ({key})")
        else:
            drawn = f"[{_num_text(float(np.min(bounds[0])))}, {_num_text(float(np.max(bounds[1])))}]"
            self.problems.add(
                where,
                value,
                f"a distribution whose support lies in {allowed}, the valid range of {key}; "
                f"{d.name} can draw values in {drawn} ({d.SUPPORT.replace('`', '')})"
                + ("; give it low and high (a truncated normal)" if d.name == "normal" else ""),
            )
        return False

    def registry_table(self, data: dict, key: str, registry: dict, kind: str) -> dict[str, dict]:
        value = data.get(key, {})
        out: dict[str, dict] = {}
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            value = {x: {} for x in value}
        if not isinstance(value, dict):
            self.problems.add(key, value, f"a table of {kind} name -> options, or a list of {kind} names")
            return out
        for name, options in value.items():
            where = join(key, name)
            cls = registry.get(name)
            if cls is None:
                if not any(p.field == where for p in self.problems.items):  # not an installed plugin that failed
                    peer = PEER_REGISTRY_NAMES.get(kind, {}).get(name) if isinstance(name, str) else None
                    if peer:
                        listed = ", ".join(repr(c) for c in sorted(registry))
                        expected = f"a known {kind}: {peer} (known: {listed})"
                    else:
                        expected = one_of(name, sorted(registry), kind)
                    self.problems.add(where, name, expected)
                continue
            if not isinstance(options, dict):
                self.problems.add(where, options, "a table of options ({} for none)")
                continue
            before = len(self.problems.items)
            if kind == "writer":
                hints = writer_option_hints(options, cls.OPTIONS)
            else:
                hints = annotator_option_hints(name, cls.OPTIONS)
            self.problems.unknown_keys(options, cls.OPTIONS, where, hints)
            checked = {}
            for opt, spec in cls.OPTIONS.items():
                if opt not in options:
                    continue
                if isinstance(spec, Field):  # type, bounds and choices by value
                    checked[opt] = check_value(self.problems, spec, options[opt], join(where, opt))
                else:
                    checked[opt] = self.typed(options, opt, where, *spec)
            # Label types and values (globs of them) composed, as the objects' (config.fields.composed).
            for opt in {"semantic_type", "semantic_types", "semantic_filter"} & set(checked):
                given = checked[opt]
                checked[opt] = [composed(x) for x in given] if isinstance(given, list) else composed(given)
            out[name] = checked
            if len(self.problems.items) == before:
                # The class's own checks (e.g. a split that must be a plain name), now, not
                # when the render starts: validate accepting a file means render accepts it.
                try:
                    cls(**checked) if kind == "annotator" else cls(Path("unused"), **checked)
                except OptionError as e:  # one option's: said at its field
                    self.problems.add(f"{where}.{e.option}", e.value, e.expected)
                except (ValueError, TypeError) as e:
                    self.problems.add(where, options, f"options the {kind} accepts: {e}")
        return out


def annotator_option_hints(name: str, known) -> dict[str, str]:
    """Where Replicator's annotator init_params (`colorize`, `semantic_types`,
    `semantic_filter_predicate`) are here."""
    hints = {}
    colorize = {"distance_to_camera": "colorize_depth", "distance_to_image_plane": "colorize_depth"}.get(
        name, f"colorize_{name}" if name in BASIC_COLORIZED else None
    )
    if colorize:
        hints["colorize"] = (
            f"a colorized image is the basic writer's option here: [writers.basic] {colorize} = true (or false)"
        )
    if "semantic_type" in known:
        hints["semantic_types"] = (
            'Replicator\'s semantic_types is `semantic_type` here: one label type, a string ("class")'
        )
        hints["semantic_filter_predicate"] = (
            'Replicator\'s semantic_filter_predicate ("class:cube|sphere") is `semantic_type = "class"` with '
            '`semantic_filter = ["cube", "sphere"]` here'
        )
        # BlenderProc's enable_segmentation_output(map_by=..., default_values=...)
        hints["map_by"] = (
            "BlenderProc's map_by is `semantic_type` here: the label type whose values give the ids (instance ids "
            "are instance_segmentation's)"
        )
        hints["default_values"] = (
            "BlenderProc's default_values has no counterpart: an object without a label of the type is "
            "UNLABELLED (id 1)"
        )
    if name in ("distance_to_camera", "distance_to_image_plane"):
        for key in ("activate_antialiasing", "antialiasing_distance_max"):
            hints[key] = (
                f"BlenderProc's {key} has no counterpart: depth is never anti-aliased here, each pixel's the "
                "surface its centre sees (BlenderProc's activate_antialiasing = False), no surface inf"
            )
    return hints


BASIC_COLORIZED = ("semantic_segmentation", "instance_segmentation", "instance_id_segmentation")


_POSE_WRITERS = (
    "Replicator's pose writers (PoseWriter, DOPEWriter, YCBVideoWriter) have no writer of that name here: the "
    "`object_pose` and `bounding_box_3d` annotators (with the `basic` writer) give each object's pose and box, "
    "the `bop` writer a BOP dataset"
)


# BlenderProc's render_optical_flow (its forward_flow = -(B, A) of Cycles' vector pass with y
# flipped: next - now, backward_flow = previous - now, pixels, y down) and the plain names a
# user tries first: said with what gives each here.
_OPTICAL_FLOW = (
    "optical flow is `forward_flow` and `backward_flow` here (Kubric's names: exact, from geometry, with "
    "valid and status masks); BlenderProc's render_optical_flow (Cycles' vector pass, no occlusion test) is "
    "`motion_vectors` ([..., 2:4] its forward_flow, [..., 0:2] its backward_flow: pixels, y down; the hdf5 writer "
    "stores either as its forward_flow and backward_flow); flow needs "
    "[sequence] clips (clip_length 2 or more) with something moving"
)


# BlenderProc's and Kubric's names for an annotator (their output keys, renderer.enable_*_output)
# written as one here: what each is (a did-you-mean said nothing of `depth`, and would point
# BlenderProc's depth, the Z pass, to the distance along the ray).
PEER_REGISTRY_NAMES = {
    "annotator": {
        "depth": "BlenderProc's depth (enable_depth_output, the Z pass: distance to the image plane) is "
        "`distance_to_image_plane` here; Kubric's depth (along the ray from the camera centre) is "
        "`distance_to_camera`",
        "distance": "BlenderProc's distance (enable_distance_output, along the ray) is `distance_to_camera` here",
        "colors": "BlenderProc's colors are `rgb` here",
        "rgba": "Kubric's rgba is `rgb` here",
        "segmentation": "Kubric's segmentation (an id per object) is `instance_segmentation` here; a mask of "
        "class ids is `semantic_segmentation`",
        "segmap": "BlenderProc's enable_segmentation_output gives `instance_segmentation` (instance_segmaps) and "
        "`semantic_segmentation` (category_id_segmaps / class_segmaps) here",
        "instance_segmaps": "BlenderProc's instance_segmaps are `instance_segmentation` here (the hdf5 writer "
        "writes them as instance_segmaps)",
        "category_id_segmaps": "BlenderProc's category_id_segmaps are `semantic_segmentation` here (the hdf5 "
        "writer writes them as category_id_segmaps)",
        "class_segmaps": "BlenderProc's class_segmaps are `semantic_segmentation` here",
        "normal": "Kubric's normal is `normals` here",
        "optical_flow": _OPTICAL_FLOW,
        "render_optical_flow": _OPTICAL_FLOW,
        "flow": _OPTICAL_FLOW,
        # BlenderProc's render_nocs (Blender's Object texture coordinates * 0.5 + 0.5, the object's
        # own units) and enable_diffuse_color_output (the albedo pass): keys of its hdf5 files.
        "nocs": "BlenderProc's nocs (render_nocs: each pixel's point in its object's own coordinates, "
        "* 0.5 + 0.5) has no annotator here: `object_coordinates` gives the point as a fraction of the object's "
        "bounding box per local axis, 0 .. 1 (Kubric's; not written by the hdf5 writer: basic or webdataset)",
        "render_nocs": "BlenderProc's render_nocs has no annotator here: `object_coordinates` gives each pixel's "
        "point as a fraction of its object's bounding box per local axis, 0 .. 1 (Kubric's)",
        "diffuse": "BlenderProc's diffuse (enable_diffuse_color_output: the albedo, Blender's diffuse colour "
        "pass) has no annotator here",
        "skeleton_data": "Replicator's skeleton_data has no annotator of that name here: `keypoints` projects "
        "named keypoints of each object, with their skeleton (COCO style): an asset's `keypoints` / `skeleton` "
        "(docs/annotators.md)",
    },
    "writer": {
        "write_hdf5": "BlenderProc's write_hdf5 is the `hdf5` writer here",
        "write_coco_annotations": "BlenderProc's write_coco_annotations is the `coco` writer here",
        "coco_annotations": "BlenderProc's write_coco_annotations is the `coco` writer here",
        "write_bop": "BlenderProc's write_bop is the `bop` writer here",
        "BasicWriter": "Replicator's BasicWriter is the `basic` writer here",
        "KittiWriter": "Replicator's KittiWriter is the `kitti` writer here",
        "CocoWriter": "Replicator's CocoWriter is the `coco` writer here",
        "PoseWriter": _POSE_WRITERS,
        "DOPEWriter": _POSE_WRITERS,
        "YCBVideoWriter": _POSE_WRITERS,
    },
}


# Replicator's (rep.randomizer.*) and BlenderProc's names for what a randomizer type does
# here: a close spelling pointed `materials` (a material swap) to `material` (colours).
PEER_RANDOMIZER_TYPES = {
    "color": ("material", "Replicator's rep.randomizer.color (its `color`)"),
    "colors": ("material", "Replicator's rep.randomizer.color (its `color`)"),
    "materials": ("material_swap", "Replicator's rep.randomizer.materials"),
    # rep.modify.material binds a material, as material_swap shows one: not `material` (colours) here
    "rep.modify.material": ("material_swap", "Replicator's rep.modify.material (a material bound to the prims)"),
    "modify.material": ("material_swap", "Replicator's rep.modify.material (a material bound to the prims)"),
    "pose_camera_relative": ("camera_relative", "Replicator's rep.modify.pose_camera_relative"),
    "scatter_2d": ("scatter", "Replicator's scatter_2d (with `surface`)"),
    "scatter_3d": ("scatter", "Replicator's scatter_3d (with `volume`)"),
    "instantiate": ("pool", "Replicator's rep.randomizer.instantiate (an asset pool, `files`, shown by a `pool`)"),
    "modify_pose": ("pose", "Replicator's rep.modify.pose"),
    "attribute": ("property", "Replicator's rep.modify.attribute (a data path, `path`)"),
    "modify_attribute": ("property", "Replicator's rep.modify.attribute (a data path, `path`)"),
    "rotation": (
        "pose",
        "Replicator's rep.randomizer.rotation(min_angle, max_angle) (a `pose` entry's `rotation`, "
        '`{ distribution = "uniform", low = min_angle, high = max_angle }`)',
    ),
    "sample_poses": ("scatter", "BlenderProc's object.sample_poses (with `volume`)"),
    "sample_poses_on_surface": ("scatter", "BlenderProc's object.sample_poses_on_surface (with `surface`)"),
    "simulate_physics_and_fix_final_poses": (
        "physics_settle",
        "BlenderProc's object.simulate_physics_and_fix_final_poses (the objects it drops: `targets`; those "
        "enable_rigidbody(False) makes passive: `passive`)",
    ),
    "load_ccmaterials": (
        "texture",
        "BlenderProc's loader.load_ccmaterials with a random one assigned (ambientCG sets: `folder`, "
        '`color_suffix = "_Color"`, `normal_suffix = "_NormalGL"`, `roughness_suffix = "_Roughness"`, '
        "`recursive = true`)",
    ),
    "set_world_background_hdr_img": (
        "world_hdri",
        "BlenderProc's world.set_world_background_hdr_img (a `folder` of HDRIs, one drawn per frame; `strength`, "
        "`rotation` in degrees)",
    ),
    "hdri": ("world_hdri", "an HDRI background (a `folder` of .hdr / .exr files)"),
    "rigid_body": (
        "physics_settle",
        "a rigid-body drop (or `sequence.rigid_body = true` for motion in a clip, and `initial_velocity` "
        "for Replicator's rigid_body(velocity=..., angular_velocity=...))",
    ),
}


# Replicator's randomizers and distributions take a `seed` each: here one seed drives the run.
SEED_HINT = (
    "the seed is the run's (`run.seed`): every entry draws from it and the frame index, so a frame is the same "
    "alone, in shards and resumed (Replicator's per-node `seed`)"
)


# Replicator's triggers (rep.trigger.on_frame / on_time) written into a randomizer entry, as
# keys or as its `trigger`: what they are here (triggers count frames).
ON_TIME_HINT = (
    "Replicator's on_time(interval=s) draws every s seconds of simulation time; here triggers count frames: "
    "`interval = N` draws every N frames, and in a `[sequence]` each clip draws once, at its first frame, so "
    "on_time(interval=s) over a simulation is clips of s seconds: `sequence.clip_length` = s x `sequence.fps` "
    "(each clip a new simulation)"
)
PEER_TRIGGER_KEYS = {
    "on_time": ON_TIME_HINT,
    "on_frame": 'Replicator\'s on_frame(interval=k) is `interval = k` here (`trigger = "frame"`, the default)',
    "num_frames": (
        "the number of frames is the run's: `run.frames` (Replicator's on_frame(num_frames=N, interval=k) "
        "counts triggers: `run.frames = N * k` with `interval = k`)"
    ),
    "max_execs": (
        "the number of frames is the run's: `run.frames` (Replicator's on_frame(max_execs=N, interval=k) "
        "counts triggers: `run.frames = N * k` with `interval = k`)"
    ),
    "rt_subframes": (
        "Replicator's rt_subframes has no counterpart: every frame is its own path-traced Cycles render, "
        "converged by `render.samples`"
    ),
}
ON_CUSTOM_EVENT_HINT = (
    "Replicator's on_custom_event(event_name) fires when its script sends the event; a parameter file runs no "
    'script to send one: `interval = N` draws every N frames, `trigger = "once"` once for the run, and '
    "[[cases]] set values on frames of their own"
)
PEER_TRIGGER_KEYS["on_custom_event"] = ON_CUSTOM_EVENT_HINT
PEER_TRIGGERS = {
    "on_time": ON_TIME_HINT,
    "time": ON_TIME_HINT,
    "on_custom_event": ON_CUSTOM_EVENT_HINT,
    "custom_event": ON_CUSTOM_EVENT_HINT,
}


# Replicator's names for a randomizer entry's keys here (a close spelling pointed
# rep.modify.pose's `position` to `rotation`): key -> (ours, whose, a note).
PEER_RANDOMIZER_KEYS = {
    "position": ("location", "Replicator's", ""),
    "surface_prims": ("surface", "Replicator's scatter_2d's", ""),
    "no_coll_prims": ("avoid", "Replicator's scatter_2d's", ""),
    "input_prims": ("targets", "Replicator's (the prims a randomizer changes)", ""),
    "objects_to_check_collisions": (
        "avoid",
        "BlenderProc's sample_poses'",
        " (the other objects the targets must not intersect; the targets never intersect one another)",
    ),
    "intensity": ("energy", "Replicator's light", " (in watts, or W/m² for a sun: not Replicator's units)"),
    "max_simulation_time": (
        "max_steps",
        "BlenderProc's simulate_physics_and_fix_final_poses'",
        ", in steps of a scene frame, not seconds: seconds x the scene's frame rate (24 fps unless a base "
        ".blend or `sequence.fps` gives another), e.g. BlenderProc's default 40 s is max_steps = 960",
    ),
    "rotation_euler": (
        "rotation",
        "BlenderProc's (Blender's)",
        " (XYZ Euler in degrees here: BlenderProc's radians x 57.2958)",
    ),
    "inplane_rot": (
        "roll",
        "BlenderProc's rotation_from_forward_vec's",
        " (degrees here: its radians x 57.2958)",
    ),
    "poi": (
        "look_at",
        "BlenderProc's",
        " (a point; compute_poi(objects), the mean of their centres, is `look_at_objects`)",
    ),
    "object_stopped_location_threshold": (
        "rest_speed",
        "BlenderProc's simulate_physics_and_fix_final_poses'",
        " (metres per second, checked at every step: at rest after 10 steps in a row slower)",
    ),
}


_ROTATION_EULER = "BlenderProc's rotation_euler is `rotation` here: XYZ Euler in degrees (its radians x 57.2958)"
# BlenderProc's camera pose as a 4x4 matrix (add_camera_pose(cam2world_matrix)).
_POSE_MATRIX = (
    "BlenderProc's camera pose as a 4 x 4 matrix (add_camera_pose(cam2world_matrix)) has no counterpart: a pose "
    "is `location` and `rotation` (XYZ Euler, degrees), one per frame from a `sequence` distribution "
    "(docs/porting.md: Camera poses from a file)"
)


# Replicator's names (rep.create.camera / light / from_usd, rep.settings) for the keys of
# [[cameras]], [[lights]], [[assets]] and [render] (a close spelling pointed `position` to
# `projection` or `rotation`): key -> where it is here.
_POSITION = "'position' is Replicator's name for what is 'location' here (metres, Z up)"
_DEPTH_OF_FIELD = (
    "depth of field is a `sensor` randomizer's here (BlenderProc's add_depth_of_field): `f_stop` (its fstop_value) "
    "with `focus_distance` (metres) or `focus_target` (an object's name: its focal_point_obj), constants too; "
    "the image only: masks, depth and normals stay sharp"
)
_APERTURE_SHAPE = (
    "the aperture's blades, rotation and ratio have no key here (a round aperture); a base .blend camera's own "
    "Depth of Field > Aperture settings are kept, with a `sensor` randomizer's `f_stop`"
)
_MOTION_BLUR = (
    "motion blur is a `sensor` randomizer's `shutter` here (BlenderProc's enable_motion_blur(motion_blur_length): "
    "frames the shutter is open, a constant too) for the cameras it targets; a base .blend's Render > Motion Blur "
    "(its rolling shutter too) is kept; the image only: masks, depth and normals are of the frame's instant"
)
_PIXEL_FILTER = (
    "the pixel filter is no [render] key: Cycles' Film > Pixel Filter renders as the scene has it "
    "(Blackman-Harris 1.5 px, Blender's default; a base .blend's own); it blurs the image only: masks and depth "
    "are those of each pixel's centre"
)
_PIXEL_ASPECT = (
    "non-square pixels are a [[cameras]] entry's `fy` other than its `fx` here (Blender's pixel aspect fy / fx), "
    "or a base .blend's Output > Format > Aspect X / Y"
)
PEER_CAMERA_KEYS = {
    "position": _POSITION,
    "parent": (
        "Replicator's parent of a camera is `rig` here: the name of another camera it is mounted on (its "
        "`location` and `rotation` then relative to it)"
    ),
    "count": "Replicator's count of cameras has no counterpart: give one [[cameras]] entry per camera",
    # BlenderProc's camera.set_intrinsics_from_* and set_resolution, and its poses
    "rotation_euler": _ROTATION_EULER,
    "matrix_world": _POSE_MATRIX,
    "cam2world_matrix": _POSE_MATRIX,
    "fov": 'BlenderProc\'s field of view (set_intrinsics_from_blender_params(fov, lens_unit="FOV"), radians) is '
    "`focal_length` with `sensor_width` here (focal_length = sensor_width / 2 / tan(fov / 2)), or a `sensor` "
    "randomizer's constant `fov` (degrees)",
    "lens": "BlenderProc's lens (millimetres) is `focal_length` here",
    "K": "BlenderProc's set_intrinsics_from_K_matrix(K, width, height) is `fx`, `fy`, `cx`, `cy` (pixels; add 0.5 "
    "to its cx, cy) with `width` and `height` here",
    "resolution": "a camera's own size is `width` and `height` here; `render.resolution` sets every camera's "
    "(BlenderProc's set_resolution)",
    "horizontal_aperture": "Replicator's horizontal_aperture (mm) is `sensor_width` here",
    "horizontal_aperture_offset": "Replicator's aperture offsets are the principal point here: `cx`, `cy` (pixels)",
    "vertical_aperture_offset": "Replicator's aperture offsets are the principal point here: `cx`, `cy` (pixels)",
    "clipping_range": "Replicator's clipping_range (near, far) is `clip_start` and `clip_end` here (metres)",
    "projection_type": (
        'Replicator\'s projection_type is `projection` here: "perspective" (its pinhole) or '
        '"orthographic"; fisheye models have no counterpart'
    ),
    "f_stop": (
        "depth of field is a `sensor` randomizer's `f_stop` and `focus_distance` here (constants too); "
        "Replicator's f_stop = 0 (no depth of field) is leaving them out"
    ),
    "focus_distance": (
        "depth of field is a `sensor` randomizer's `f_stop` and `focus_distance` here (constants too); "
        "Replicator's f_stop = 0 (no depth of field) is leaving them out"
    ),
    # BlenderProc's camera.add_depth_of_field(focal_point_obj, fstop_value, aperture_blades, ...)
    "fstop_value": _DEPTH_OF_FIELD,
    "focal_point_obj": _DEPTH_OF_FIELD,
    "focal_distance": _DEPTH_OF_FIELD,
    "aperture_blades": _APERTURE_SHAPE,
    "aperture_rotation": _APERTURE_SHAPE,
    "aperture_ratio": _APERTURE_SHAPE,
    "dof": _DEPTH_OF_FIELD,
    "use_dof": _DEPTH_OF_FIELD,
}
_SPOT_CONE = (
    "a spot's cone is not a light's parameter here (`size` is a spot's radius, for soft shadows, not its "
    "angle): a `property` randomizer sets it, path = 'data.spot_size' (radians: 1° .. 180° is 0.01746 .. "
    "3.14159; a constant too) or 'data.spot_blend' (0 .. 1), on a spot light"
)
_RECT_SIDES = (
    "a Rect light's width is `size` here and its height `size_y`, on an area light with shape = "
    '"rectangle" (metres; a Disk light\'s diameter is `size`, with shape = "disk")'
)
PEER_LIGHT_KEYS = {
    "position": _POSITION,
    "light_type": (
        'Replicator\'s light_type is `type` here: Sphere is "point", Distant "sun", Rect and Disk '
        '"area" (with shape = "rectangle" or "disk"); a Dome is the world (`scene.world`)'
    ),
    "width": _RECT_SIDES,
    "height": _RECT_SIDES,
    "intensity": "Replicator's intensity is `energy` here, in watts (W/m² for a sun): not Replicator's units",
    "exposure": "a USD light's exposure (intensity x 2^exposure) has no counterpart: `energy` is in watts",
    "temperature": "a light's colour temperature (kelvin) is a `light` randomizer's `temperature` (a constant too)",
    "rotation": "a light is aimed by `look_at` (a point) here",
    "scale": "a light's extent is `size` here (metres: side of an area light, radius of a point or spot)",
    "radius": "BlenderProc's light radius is `size` here (metres: the radius of a point or spot light)",
    "spot_size": _SPOT_CONE,
    "spot_blend": _SPOT_CONE,
    "angle": (
        "a sun's angle (its angular diameter, degrees) is a `light` randomizer's `size` (a constant too): "
        "a light's `size` here is unused for a sun"
    ),
}
PEER_ASSET_KEYS = {
    "position": _POSITION,
    "visible": "Replicator's visible of a prim is a `visibility` randomizer's `visible` here (a constant too)",
    "material": (
        "an asset's look is its `color`, `roughness` and `metallic` here; a material of the scene by name is a "
        "`material_swap` randomizer's `material` (a constant too)"
    ),
    "semantics": 'Replicator\'s semantics=[("class", "mug")] is `labels = { class = "mug" }` here',
    "usd": "Replicator's from_usd(usd) is `file` here (a model file: .usd among others)",
    "rotation_euler": _ROTATION_EULER,
    "category_id": 'BlenderProc\'s category_id custom property is a label here: labels = { class = "3" } (or a '
    "name); COCO's category id and BOP's obj_id are 1 + the class's place in the label table, so keep the number "
    'by declaring every id from 1: [labels] class = ["1", "2", "3"]',
    "obj": "BlenderProc's load_obj(path) is `file` here (.obj, .ply, .fbx, .glb, .usd, .blend ...)",
}
PEER_RENDER_KEYS = {
    "samples_per_pixel": "Replicator's samples_per_pixel is `samples` here",
    "spp": "Replicator's spp is `samples` here",
    "rt_subframes": PEER_TRIGGER_KEYS["rt_subframes"],
    "render_mode": (
        "Replicator's render_mode has no counterpart: every frame is path-traced by Cycles (as its PathTracing), "
        "converged by `samples`"
    ),
    # BlenderProc's renderer.set_* calls
    "max_amount_of_samples": "BlenderProc's set_max_amount_of_samples is `samples` here",
    "light_bounces": "BlenderProc's set_light_bounces(...) arguments are keys of [render] here: `max_bounces`, "
    "`diffuse_bounces`, `glossy_bounces`, `transmission_bounces`, `transparent_bounces` (its "
    "transparent_max_bounces), `volume_bounces`",
    "transparent_max_bounces": "BlenderProc's transparent_max_bounces is `transparent_bounces` here",
    "enable_transparency": "BlenderProc's set_output_format(enable_transparency=True) is `film_transparent = true` "
    "here",
    "cpu_threads": "BlenderProc's set_cpu_threads is `threads` here",
    "motion_blur": _MOTION_BLUR,
    "use_motion_blur": _MOTION_BLUR,
    "motion_blur_length": _MOTION_BLUR,
    "motion_blur_shutter": _MOTION_BLUR,
    "rolling_shutter_type": _MOTION_BLUR,
    "rolling_shutter_length": _MOTION_BLUR,
    "filter_width": _PIXEL_FILTER,
    "pixel_filter": _PIXEL_FILTER,
    "pixel_filter_type": _PIXEL_FILTER,
    "pixel_aspect": _PIXEL_ASPECT,
    "pixel_aspect_x": _PIXEL_ASPECT,
    "pixel_aspect_y": _PIXEL_ASPECT,
    "resolution_percentage": (
        "a resolution percentage has no counterpart: `resolution` (or `width` and `height`) is the images' size "
        "in pixels, and every box, mask and keypoint is in those pixels (50 % of 1920 x 1080 is resolution = "
        "[960, 540])"
    ),
    "use_adaptive_sampling": "Cycles' adaptive sampling is `noise_threshold` here (above 0: on; 0: off)",
    "adaptive_threshold": "Cycles' adaptive threshold is `noise_threshold` here (above 0: on; 0: off)",
    "time_limit": (
        "a render time limit has no counterpart: every frame takes `samples` (`noise_threshold` lets a pixel stop "
        "sooner), the same image on every run"
    ),
}


# BlenderProc's simulate_physics_and_fix_final_poses' options with no key of their own here:
# key -> (a key only physics_settle takes, what is done instead).
BLENDERPROC_SIMULATE = "BlenderProc's simulate_physics_and_fix_final_poses"
PEER_RANDOMIZER_KEYS_WITHOUT = {
    "min_simulation_time": (
        "max_steps",
        "there is no minimum time here: the simulation stops when every target has moved slower than "
        "`rest_speed` for 10 steps in a row (or after `max_steps`)",
    ),
    "check_object_interval": (
        "max_steps",
        "the rest check runs at every step (a scene frame) here, over the last 10 steps (`rest_speed`)",
    ),
    "object_stopped_rotation_threshold": (
        "max_steps",
        "rest is judged by how fast each corner of a target's bounding box moves here (`rest_speed`), so a "
        "turn counts by how far it moves a corner; there is no threshold of its own for rotation",
    ),
    "substeps_per_frame": (
        "max_steps",
        "physics_settle runs Blender's defaults: 10 substeps a frame, as BlenderProc's (clips take "
        "`[sequence] substeps_per_frame`)",
    ),
    "solver_iters": (
        "max_steps",
        "physics_settle runs Blender's defaults: 10 solver iterations, as BlenderProc's (clips take "
        "`[sequence] solver_iterations`)",
    ),
}


# Replicator's keys of a randomizer that have no key of their own here, or another name in
# one type alone: key -> (a key only that type takes, what to say).
_ROTATION_ORDER = (
    "rep.modify.pose(rotation_order=...) has no counterpart: `rotation` is XYZ Euler in degrees, Replicator's "
    "default order (USD's rotateXYZ: about X, then Y, then Z, world axes); angles of another order are one "
    "rotation written another way: give its XYZ angles"
)
_CAMERA_RELATIVE_XY = (
    "rep.modify.pose_camera_relative's horizontal_location and vertical_location (-1 .. 1 across the camera's "
    "frame) are `x` and `y` here: 0 .. 1 from the image's left and top edges (0.5 the centre)"
)
_SAMP = (
    "Replicator's scatter_2d(min_samp=..., max_samp=...) (a box the points are drawn in) has no counterpart on a "
    '`surface`, whose faces are all drawn on; a flat region is a volume here: `volume = "box"`, `center` = '
    "(min_samp + max_samp) / 2 and `size` = max_samp - min_samp (0 along the up axis: their origins at that "
    "height)"
)
PEER_RANDOMIZER_KEYS_NOTED = {
    "offset": (
        "min_normal_z",
        "Replicator's scatter_2d offset (the origin that far along the normal) has no counterpart: each target "
        "rests on the surface by its lowest point (0.1 mm above it)",
    ),
    "check_for_collisions": (
        "min_normal_z",
        "Replicator's check_for_collisions is always on here: targets never intersect one another (nor the "
        "`avoid` objects); one that finds no free place in `max_tries` draws is hidden for the frame",
    ),
    "mode_on_failure": (
        "min_normal_z",
        "BlenderProc's sample_poses mode_on_failure has no counterpart: a target that finds no free place in "
        "`max_tries` draws (default 100, BlenderProc's 1000) is hidden for the frame and named in the log, "
        "neither left intersecting (last_pose) nor put back (initial_pose)",
    ),
    "volume_prims": (
        "min_normal_z",
        "Replicator's scatter_3d volume_prims (a mesh to fill) has no counterpart: the volume is a box or a "
        'sphere, `volume = "box"` or `"sphere"` with `center` and `size` or `radius`',
    ),
    "size": ("k", "'size' is Replicator's instantiate's name for what is 'k' here (how many targets are shown)"),
    "with_replacements": (
        "k",
        "Replicator's instantiate(with_replacements=...) has no counterpart: a pool shows each target at most "
        "once a frame (give an asset `count` copies to show several of it)",
    ),
    "mode": (
        "order",
        "Replicator's instantiate(mode=...) (scene_instance, point_instance, reference) has no counterpart: a pool "
        "shows k of its targets a frame and hides the others, each target an object of its own (an asset's "
        "`count` copies)",
    ),
    "use_cache": (
        "order",
        "Replicator's instantiate(use_cache=...) has no counterpart: each model file is read once, when the scene "
        "is built",
    ),
    "rotation_order": ("min_distance", _ROTATION_ORDER),
    "pivot": (
        "min_distance",
        "rep.modify.pose(pivot=...) has no counterpart: a `rotation` and a `scale` are about the object's origin",
    ),
    "textures": (
        "color_suffix",
        "Replicator's texture(textures=[...]) is `folder` here: a folder of images, drawn uniformly (or by "
        "`image`, a choice of their names)",
    ),
    "horizontal_location": ("fully_inside", _CAMERA_RELATIVE_XY),
    "vertical_location": ("fully_inside", _CAMERA_RELATIVE_XY),
    "distance": (
        "fully_inside",
        "rep.modify.pose_camera_relative's distance (from the camera) is `depth` here: the distance to the "
        "camera's image plane, metres",
    ),
    "render_product": (
        "fully_inside",
        "Replicator's render_product is the camera here: `camera`, the name of the camera whose view the targets "
        "are placed in (default: the first camera); the image size is the run's",
    ),
    "min_samp": ("min_normal_z", _SAMP),
    "max_samp": ("min_normal_z", _SAMP),
    "texture_scale": (
        "color_suffix",
        "Replicator's texture_scale (a (u, v) factor of the UVs) is `scale` here, one number: repeats per metre of "
        "the object's local space, where the texture is projected (its UVs not used); larger repeats it more, as "
        "there",
    ),
    "project_uvw": (
        "color_suffix",
        "Replicator's texture(project_uvw=True) is how textures are always put on here: projected in the "
        "object's own space (box mapping), its UVs not used",
    ),
    "per_sub_mesh": (
        "color_suffix",
        "Replicator's per_sub_mesh has no counterpart: each target takes one texture (one material) a frame",
    ),
    "texture_rotate": ("color_suffix", "'texture_rotate' is Replicator's texture's name for what is 'rotation' here"),
    "diffuse": ("metallic", "'diffuse' is Replicator's (OmniPBR's) name for what is 'color' here"),
    "colors": ("metallic", "'colors' is Replicator's randomizer.color's name for what is 'color' here"),
    "scale": (
        "light_type",
        "a light's extent is `size` here (metres: side of an area light, radius of a point or spot)",
    ),
    "rotation": ("light_type", "a light is aimed by `look_at` (a point) here"),
    "spot_size": ("light_type", _SPOT_CONE),
    "spot_blend": ("light_type", _SPOT_CONE),
    # Blender's own names (and a field of view or depth of field asked of the camera entry):
    "angle": (
        "light_type",
        "a sun's angle is `size` here: its angular diameter in degrees (Blender's radians x 57.2958)",
    ),
    "radius": (
        "light_type",
        "a point or spot light's radius is `size` here (metres); a disk area light's `size` is its diameter",
    ),
    "width": ("light_type", _RECT_SIDES),
    "height": ("light_type", _RECT_SIDES),
    "shadow_soft_size": ("light_type", "Blender's shadow_soft_size (a point or spot light's radius) is `size` here"),
    "power": ("light_type", "a light's power is `energy` here (watts; W/m² for a sun)"),
    "strength": ("light_type", "a light's power is `energy` here (watts; W/m² for a sun)"),
    "lens": ("look_at_objects", "Blender's lens is `focal_length` here (millimetres)"),
    "fov": ("look_at_objects", "a field of view is a `sensor` randomizer's `fov` (degrees; a constant too)"),
    "f_stop": (
        "look_at_objects",
        "depth of field is a `sensor` randomizer's `f_stop` and `focus_distance` (constants too)",
    ),
    "focus_distance": (
        "look_at_objects",
        "depth of field is a `sensor` randomizer's `f_stop` and `focus_distance` (constants too)",
    ),
    "texture": (
        "light_type",
        "a Dome light's texture is the world's here: a `world_hdri` randomizer (a `folder` of .hdr / .exr files) or `scene.world`",
    ),
    "exposure": (
        "light_type",
        "a USD light's exposure (intensity x 2^exposure) has no counterpart: `energy` is in watts (W/m² for a sun)",
    ),
    "look_at": (
        "min_distance",
        "rep.modify.pose(look_at=...) of an object has no counterpart: objects take a `rotation`; a `camera` "
        "randomizer's `look_at` aims a camera, a `light` randomizer's a light",
    ),
    "cam2world_matrix": ("look_at_objects", _POSE_MATRIX),
    "matrix_world": ("look_at_objects", _POSE_MATRIX),
    "look_at_up_axis": (
        "look_at_objects",
        "the up axis is world Z here: a camera aimed at a point is level (`roll` 0), `roll` turns it about its "
        "viewing axis",
    ),
}


# Keys PEER_RANDOMIZER_KEYS_NOTED has for another type: (key, a key only this type takes, note).
PEER_RANDOMIZER_KEYS_NOTED_MORE = (
    ("rotation_order", "look_at_objects", _ROTATION_ORDER),
    ("lens", "white_balance", "Blender's lens is `focal_length` here (millimetres)"),
    ("aperture_fstop", "white_balance", "Blender's aperture_fstop is `f_stop` here (an f-number)"),
    ("focus_object", "white_balance", "Blender's focus_object is `focus_target` here (an object's name)"),
    (
        "size",
        "min_distance",
        "rep.modify.pose(size=...) (the bounding box's size) has no counterpart: a pose's `scale` is a factor "
        "of the object as built, whose size an asset's `size` sets",
    ),
)


def peer_key_hints(known) -> dict[str, str]:
    """The unknown-key hints of PEER_RANDOMIZER_KEYS whose key here an entry takes."""
    hints = {
        key: f"{key!r} is {whose} name for what is {ours!r} here{note}"
        for key, (ours, whose, note) in PEER_RANDOMIZER_KEYS.items()
        if ours in known
    }
    hints.update(
        {
            key: f"{key!r} is an option of {BLENDERPROC_SIMULATE}: {note}"
            for key, (marker, note) in PEER_RANDOMIZER_KEYS_WITHOUT.items()
            if marker in known
        }
    )
    hints.update({key: note for key, (marker, note) in PEER_RANDOMIZER_KEYS_NOTED.items() if marker in known})
    hints.update({key: note for key, marker, note in PEER_RANDOMIZER_KEYS_NOTED_MORE if marker in known})
    return hints


def _peer_last_part(kind: str) -> str:
    """A peer's randomizer name without Replicator's call prefixes (`rep.modify.pose`: pose)."""
    short = kind.removeprefix("rep.")
    for prefix in ("randomizer.", "modify.", "physics."):
        short = short.removeprefix(prefix)
    return short


def _peer_randomizer_type(kind: str) -> tuple[str, str] | None:
    """(ours, whose) for a peer's randomizer name, also written as Replicator's call
    (`rep.modify.pose`, `randomizer.scatter_2d`): its last part names it."""
    if kind in PEER_RANDOMIZER_TYPES:
        return PEER_RANDOMIZER_TYPES[kind]
    short = _peer_last_part(kind)
    if short == kind or "." in short:
        return None
    if short in PEER_RANDOMIZER_TYPES:
        return PEER_RANDOMIZER_TYPES[short]
    return (short, f"Replicator's {kind}") if short in RANDOMIZERS else None


# Replicator's randomizers that have no counterpart here: name (its last part) -> what to do.
PEER_RANDOMIZER_TYPES_WITHOUT = {
    "semantics": (
        "Replicator's rep.modify.semantics (labels changing per frame) has no counterpart: an object's labels "
        "are given when the scene is built (an asset's `labels`, [[label_rules]], a .blend's `semantics`) and "
        "kept for the run; for an object whose class varies, make one asset per class and show one a frame "
        "with a `pool`"
    ),
}


def randomizer_type_expected(kind: object) -> str:
    """What a problem says of an unknown randomizer type: a peer's name for one of ours
    says which, one without a counterpart what to do, else the did-you-mean."""
    short = _peer_last_part(kind) if isinstance(kind, str) else None
    if short in PEER_RANDOMIZER_TYPES_WITHOUT:
        listed = ", ".join(repr(c) for c in sorted(RANDOMIZERS))
        return f"a known randomizer type: {PEER_RANDOMIZER_TYPES_WITHOUT[short]} (known: {listed})"
    peer = _peer_randomizer_type(kind) if isinstance(kind, str) else None
    if peer:
        ours, what = peer
        listed = ", ".join(repr(c) for c in sorted(RANDOMIZERS))
        return f"a known randomizer type: {what} is {ours!r} here (known: {listed})"
    return one_of(kind, sorted(RANDOMIZERS), "randomizer type")


def writer_option_hints(options: dict, known) -> dict[str, str]:
    """Where the keys a Replicator user gives a writer (BasicWriter's `rgb=True`,
    `output_dir`, `semantic_types`) belong here: the annotators are a table of their own,
    which every writer reads; the output folder is the run's."""
    hints = {}
    for key in options:
        if key in known:
            continue
        if key in ANNOTATORS:
            hints[key] = (
                f"{key!r} is an annotator, not a writer option: list it under [annotators] "
                f"({key} = {{}}), whose output every writer writes (Replicator's BasicWriter({key}=True))"
            )
        elif key == "output_dir":
            hints[key] = "the output folder is the run's: `run.output` in the file or `--out` on the command line"
        elif key in ("semantic_types", "semantic_filter_predicate") and "semantic_type" not in known:
            hints[key] = (
                "the label type is each annotator's `semantic_type` option and the values kept its "
                '`semantic_filter`, e.g. [annotators] semantic_segmentation = { semantic_type = "class" }'
            )
        elif key == "pointcloud_include_unlabelled":
            hints[key] = (
                "it is the pointcloud annotator's option: [annotators] pointcloud = { include_unlabelled = true }"
            )
        elif key == "image_output_format":
            hints[key] = (
                'the coco, yolo, kitti, mot, bop and webdataset writers take image_format = "jpg" (and jpeg_quality) for '
                "JPEG images; the basic writer writes rgb as PNG only (lossless; preview and report read it)"
            )
        elif key == "use_common_output_dir":
            hints[key] = "several cameras' files are placed by `camera_subfolders` and `annotator_subfolders`"
        elif key == "skeleton_data":
            hints[key] = (
                "Replicator's skeleton_data has no annotator of that name here: the keypoints annotator "
                "projects named keypoints of each object, with their skeleton (COCO style): "
                "[annotators] keypoints = {} and an asset's `keypoints` / `skeleton` (docs/annotators.md)"
            )
        elif key in ("s3_bucket", "s3_region", "s3_endpoint", "backend"):
            hints[key] = (
                "writers write into the run's output folder only (`run.output` or `--out`); copy it to "
                "object storage afterwards"
            )
        elif key in BLENDERPROC_WRITER_ARGS:
            hints[key] = BLENDERPROC_WRITER_ARGS[key]
        elif key in REPLICATOR_KITTI_ARGS:
            hints[key] = REPLICATOR_KITTI_ARGS[key]
    return hints


# Replicator's KittiWriter arguments a porting user gives a writer: what the kitti writer does.
_KITTI_OCCLUDED = (
    "Replicator's KittiWriter estimates `occluded` from the tight / loose box areas (0 from "
    "fully_visible_threshold, 0.95; 1 from partly_occluded_threshold, 0.5); the kitti writer's levels "
    "come from the share of the object's pixels other objects hide (occlusionRatio: 0 under 0.1, 1 under "
    "0.5, 2 from 0.5), fixed; the occlusion annotator gives each ratio"
)
REPLICATOR_KITTI_ARGS = {
    "bbox_height_threshold": "Replicator's KittiWriter skips boxes under bbox_height_threshold pixels tall "
    "(25); the kitti writer writes every tight box, as KITTI's labels have them (its evaluation applies its "
    "own least heights, 40, 25 and 25 px by difficulty): drop short boxes when reading (bottom - top)",
    "partly_occluded_threshold": _KITTI_OCCLUDED,
    "fully_visible_threshold": _KITTI_OCCLUDED,
    "omit_semantic_type": "a KITTI type is the label's value alone, of the writer's `semantic_type` "
    "(Replicator's omit_semantic_type = true)",
    "mapping_path": "Replicator's KittiWriter's mapping (label -> id or colour of its segmentation images) has "
    "no counterpart: the kitti writer writes no segmentation; semantic ids follow the label table ([labels]), "
    "and the basic writer's semantic_segmentation_labels json gives each id's colour",
    "use_kitti_dir_names": "the kitti writer always writes KITTI's own folders (training/image_2, label_2, calib)",
}
REPLICATOR_KITTI_ARGS["mapping_dict"] = REPLICATOR_KITTI_ARGS["mapping_path"]


# BlenderProc's write_coco_annotations / write_bop / write_hdf5 arguments a porting user
# gives a writer (docs/porting.md): where each is here.
BLENDERPROC_WRITER_ARGS = {
    "mask_encoding_format": "BlenderProc's mask_encoding_format is `polygons` here: false (RLE, the default) or "
    "true (polygons, see `polygon_convention`)",
    "color_file_format": 'BlenderProc\'s color_file_format is `image_format` here: "png" (the default) or "jpg"',
    "jpg_quality": 'BlenderProc\'s jpg_quality is `jpeg_quality` here (with image_format = "jpg")',
    "append_to_existing_output": "files are named by the run's frame index: render more frames of a dataset "
    "with a larger run.frames and --resume, or --frames START:STOP into the same folder",
    "frames_per_chunk": "BlenderProc's frames_per_chunk is the bop writer's `frames_per_scene`",
    "supercategory": "a category's supercategory is the writer's `semantic_type` (the label type)",
    "m2mm": "the bop writer writes millimetres whatever the scene's unit scale",
    "annotation_unit": "the bop writer writes millimetres whatever the scene's unit scale",
    "calc_mask_info_coco": "the bop writer always writes mask/, mask_visib/ and scene_gt_info.json, and "
    "scene_gt_coco.json unless its `coco` = false",
    "dataset": "BlenderProc's write_bop dataset (its folder bop_data/<dataset>/) is the bop writer's `dataset` "
    "(its folder <dataset>/ and scene_gt_coco.json's supercategory); "
    "obj_id is 1 + the position of the object's class in the label table (fix it with [labels])",
    "target_objects": "the objects written are those with a label of the writer's `semantic_type`",
    "ignore_dist_thres": "BlenderProc's ignore_dist_thres has no counterpart: every labelled object in view "
    "is written, whatever its distance",
    "delta": "BlenderProc's delta (a tolerance for visibility from depth) has no counterpart: visibility comes "
    "from the rendered masks",
    "num_worker": "the run's processes are render's --procs (and --workers for annotating and writing)",
    "label_mapping": "a category is a label value of the writer's `semantic_type` (its name), its id 1 + its "
    "position in the label table: fix the order with [labels]",
    "file_prefix": "images are named by the frame index, no prefix",
    "indent": "the JSON files' layout is fixed",
    "save_world2cam": "the bop writer always writes each image's cam_R_w2c and cam_t_w2c in scene_camera.json "
    "(BlenderProc's write_bop save_world2cam = true); the hdf5 writer takes save_world2cam",
    "stereo_separate_keys": "several cameras write a folder each (hdf5/<camera>/), no stereo keys",
}


_KIND_TEXT = {
    NUMBER: "a number",
    VEC3: "a list of 3 numbers",
    NUMBER_OR_VEC3: "a number or a list of 3 numbers",
    COLOR: "a colour: 3 or 4 numbers in [0, 1]",
    BOOL: "true or false",
    STRING: "a string",
    STRINGS: "a list of strings",
    ANY: "a number, a list of numbers, true / false or a string",
}
MAX_ANY_LENGTH = 32  # numbers in a list value of kind ANY (a property's array)
# A `choice` with `k` draws a list: allowed for parameters taking a list of elements.
_ELEMENT_KIND = {STRINGS: STRING}


def _interval_text(lo, hi) -> str:
    """[lo, hi] as a problem states it; an open side is -inf or inf."""
    return f"[{'-inf' if lo is None else _num_text(lo)}, {_num_text(hi)}]"


def _num_text(x) -> str:
    if x is None:
        return "inf"
    # Whole numbers in full up to 1e15 (1000000, not 1e+06); beyond, 1e+30, not its 31 digits.
    # Others as %g where that is the number itself, else in full: 1000000.5 past a bound of
    # 1e6 read '1e+06', as if within it.
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    short = f"{x:g}"
    return short if float(short) == float(x) else repr(float(x))


def _per_axis_fits(n: int, kind: str) -> bool:
    # ANY (a property's value): a list of numbers of the property's length, checked on the scene.
    return (
        (kind in (VEC3, NUMBER_OR_VEC3) and n == 3)
        or (kind == COLOR and n in (3, 4))
        or (kind == ANY and 0 < n <= MAX_ANY_LENGTH)
    )


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _fits(value, kind: str) -> bool:
    if kind == NUMBER:
        return _number(value)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == VEC3:
        return isinstance(value, list) and len(value) == 3 and all(_number(x) for x in value)
    if kind == NUMBER_OR_VEC3:
        return _fits(value, NUMBER) or _fits(value, VEC3)
    if kind == COLOR:
        return isinstance(value, list) and len(value) in (3, 4) and all(_number(x) and 0 <= x <= 1 for x in value)
    if kind == STRING:
        return isinstance(value, str) and bool(value)
    if kind == STRINGS:
        return isinstance(value, list) and bool(value) and all(isinstance(x, str) and x for x in value)
    if kind == ANY:
        return (
            _number(value)
            or isinstance(value, bool)
            or (isinstance(value, str) and len(value) <= MAX_STRING_CHARS)
            or (isinstance(value, list) and 0 < len(value) <= MAX_ANY_LENGTH and all(_number(x) for x in value))
        )
    return False


def _distribution_values(d: Distribution):
    """(param, value) pairs whose values must have the randomized parameter's kind."""
    if d.name in ("choice", "sequence"):
        return [(f"values[{i}]", x) for i, x in enumerate(d.params["values"])]
    if d.name == "per_axis":
        return []  # its length is checked by _per_axis_fits, its values by the support check
    if d.name == "mixture":  # each component's values, named as the user wrote them
        out = []
        for i, c in enumerate(d.components):
            if isinstance(c, Constant):
                out.append((f"components[{i}]", c.params["value"]))
            else:
                out += [(f"components[{i}].{sub}", v) for sub, v in _distribution_values(c)]
        return out
    return [(k, x) for k, x in d.params.items() if k in ("low", "high", "mean")]


# What a run writes into its output folder (frames, joined files, models, reports, the
# audit trail and its copies of the inputs), by extension.
WRITTEN_SUFFIXES = {
    *("png", "npy", "npz", "json", "jsonl", "txt", "tar", "hdf5", "ply", "pcd", "bin", "label", "tiff"),
    *("ini", "yaml", "html", "blend", "toml", "lock", "tmp"),
}


def default_output(path: Path) -> str:
    """The output folder of a parameter file that names none: out/<its name without the
    extension>, made a folder name every system takes (writers.paths.safe_name, as a
    camera's folder): `aux.toml`'s is out/_aux-HASH (AUX is a device on Windows),
    `my scene.toml`'s out/my_scene-HASH."""
    return f"out/{safe_name(path.stem)}"


def default_output_note(cfg: Config) -> str | None:
    """What the run says where it names its output when that is default_output and not the
    file's name as it is (None otherwise)."""
    path = cfg.files[0]
    if safe_name(path.stem) == path.stem or cfg.output != default_output(path):
        return None
    return (
        f"output folder {cfg.output}: run.output is not given and the file's name {path.stem!r} is made a "
        "folder name every system takes (letters, digits, . _ -; not a Windows device name such as AUX, "
        "CON, NUL, COM1, LPT1), as a camera's folder is; set run.output or --out to choose it"
    )


def output_read_back(cfg: Config, out: Path) -> list[Problem]:
    """The image folders and globs of the run's randomizers (`texture`, `world_hdri`,
    `background`) and its asset pools' globs that would read the output folder `out`: a
    file of theirs inside it, a recursive folder that holds it, a glob that can match a file
    inside it (`photos/*/*.png` with `photos/out`, `**` below it). The run would
    take its own files for inputs (a resumed run's list of files differs from the first's;
    `--overwrite` deletes files the list names)."""
    real_out = Path(os.path.realpath(out))

    def inside_out(f: Path) -> bool:
        real = Path(os.path.realpath(f))
        return real == real_out or real_out in real.parents

    def holds_out(folder: Path) -> bool:
        real = Path(os.path.realpath(folder))
        return real == real_out or real in real_out.parents

    def glob_reaches_out(pattern: str, base: Path) -> bool:
        """Whether the glob can match a file inside `out`: its components match the output
        folder's path below the glob's root and go on below it (`**` matches any depth)."""
        path = expand_home(pattern)
        root = Path(path.anchor) if path.is_absolute() else base
        parts = path.parts[1:] if path.is_absolute() else path.parts
        suffix = parts[-1].rpartition(".")[2].lower() if "." in parts[-1] else "*"
        if not any(c in suffix for c in "*?[") and suffix not in WRITTEN_SUFFIXES:
            return False  # (`*.jpg`: the tool writes none)
        below = Path(os.path.relpath(real_out, os.path.realpath(root))).parts
        if below[:1] == ("..",):
            return False
        for i, part in enumerate(parts):
            if "**" in part or i >= len(below):
                return True
            if not fnmatch.fnmatchcase(below[i], part):
                return False
        return False

    expected = (
        f"a folder (or glob) that does not hold the output folder {out.as_posix()}: the run would read its "
        "own files back as inputs; give the dataset a folder outside it"
    )
    here = cfg.files[0].as_posix()
    problems = []
    for i, spec in enumerate(cfg.randomizers):
        folder, names = getattr(spec, "folder", None), getattr(spec, "names", None)
        if isinstance(folder, Path) and isinstance(names, list) and "folder" in spec.options:
            if any(inside_out(folder / n) for n in names) or (spec.options.get("recursive") and holds_out(folder)):
                problems.append(Problem(here, f"randomizers[{i}].folder", spec.options["folder"], expected))
        paths = getattr(spec, "paths", None)
        if isinstance(paths, dict) and "files" in spec.options:
            given = spec.options["files"]
            patterns = [given] if isinstance(given, str) else list(given)
            deep = any(glob_reaches_out(p, cfg.files[0].parent) for p in patterns)
            if deep or any(inside_out(f) for f in paths.values()):
                problems.append(Problem(here, f"randomizers[{i}].files", given, expected))
    for i, a in enumerate(cfg.assets):
        if a.files and a.pool_files:
            file, where = cfg.asset_origin(i)
            deep = glob_reaches_out(a.files.strip(), Path(file).parent)
            if deep or any(inside_out(Path(f)) for f in a.pool_files):
                problems.append(Problem(file, f"{where}.files", a.files, expected))
    return problems
