"""The recorder's settings on the scene (`scene.sdg`), generated from the declarations.

Nothing here is written per field or per type by hand: run and render settings come from
config.schema's Field declarations, the annotator and writer checklists (with writer
options) from their registries, randomizer types, parameters and distributions from
sampling's registries. New registry entries appear in the panels on their own.

The settings live on the scene, so they are saved with the .blend. `to_table()` turns them
into a parameter-file table (what Export writes and what a recording runs) and
`from_table()` fills them from one (Import).
"""

from __future__ import annotations

import glob
import json
import math
import tomllib
import zlib
from pathlib import Path

import bpy
import numpy as np
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from ..annotators import ANNOTATORS
from ..compat import path_options
from ..config.fields import Field, composed
from ..config.schema import DEFAULT_ANNOTATORS, RENDER_FIELDS, RUN_FIELDS, TRIGGER_FIELDS
from ..config.toml_out import inline
from ..home import expand_home
from ..labels.blender import own_labels
from ..sampling.distributions import DISTRIBUTIONS
from ..sampling.randomizers import RANDOMIZERS, absolute_path, target_words
from ..writers import WRITERS
from ..writers.base import followed_options

INT_LIMIT = 2**31 - 1  # Blender's IntProperty is 32-bit
SIMPLE_KINDS = ("int", "float", "bool", "str", "name", "choice")  # Field kinds edited as themselves
# The run's `output` in the panel: the declaration's doc speaks of the command line (relative
# to the working folder, `render --out`), which the panel refuses (output_problem).
OUTPUT_PATH = {
    "subtype": "DIR_PATH",
    "options": path_options(),  # "//out" allowed
    "description": "Folder the dataset is written to: an absolute folder, or //name for one next to the .blend",
}
# Render settings whose declared doc speaks of the parameter file or the command line
# (`resolution = [w, h]`, `render --device`), which the panel has not: its own words.
PANEL_DOCS = {
    "width": "Image width in pixels",
    "height": "Image height in pixels",
    "device": "auto takes a GPU backend if Cycles finds one, else the CPU",
}
CONSTANT = "constant"
RECORD_PROPERTY = "sdg_record"  # Object.sdg_record: the camera is in the recording
# Fields of the run and render sections the panel offers (the rest keep their defaults).
RUN_NAMES = ("seed", "frames", "output")
RENDER_NAMES = (
    "width",
    "height",
    "samples",
    "device",
    "denoise",
    "view_transform",
    "look",
    "exposure",
    "gamma",
    "film_transparent",
)
EXISTING_ITEMS = (
    ("STOP", "Stop", "Refuse to start when the output folder already holds finished frames"),
    ("RESUME", "Resume", "Continue the run in the output folder, skipping finished frames"),
    (
        "OVERWRITE",
        "Overwrite",
        "Delete the files the earlier runs wrote in the output folder (those its audit/written records; "
        "nothing else) and start anew",
    ),
)


class SettingsError(ValueError):
    """A setting of the panels that cannot become a parameter file (a sentence)."""


# ---------------------------------------------------------------------------- declarations -> properties
def field_property(f, **extra):
    """A bpy property for a config Field: type, default, bounds and doc from the declaration."""
    kw = {"name": f.name.replace("_", " ").title(), "description": f.doc.replace("`", ""), **extra}
    if f.kind == "int":
        low = -INT_LIMIT if f.low is None else int(f.low) + (1 if f.strict_low else 0)
        high = INT_LIMIT if f.high is None else min(int(f.high), INT_LIMIT)
        return IntProperty(default=int(f.default), min=low, max=high, **kw)
    if f.kind == "float":
        bounds = {}
        if f.low is not None:
            # Blender's bounds include their ends: a `> low` field's least value is the float
            # (32-bit, as Blender stores it) just above low, so the panel refuses what validation does.
            low = np.nextafter(np.float32(f.low), np.float32(np.inf)) if f.strict_low else f.low
            bounds["min"] = float(low)
        if f.high is not None:
            bounds["max"] = float(f.high)
        return FloatProperty(default=float(f.default), **bounds, **kw)
    if f.kind == "bool":
        return BoolProperty(default=bool(f.default), **kw)
    if f.kind == "choice":
        items = [(str(c), str(c), "") for c in f.choices]
        return EnumProperty(items=items, default=str(f.default), **kw)
    if f.kind == "vec3":
        return FloatVectorProperty(size=3, default=tuple(f.default), **kw)
    if f.kind == "color":
        return FloatVectorProperty(size=3, subtype="COLOR", min=0.0, max=1.0, default=tuple(f.default[:3]), **kw)
    if f.kind == "strings":
        return StringProperty(default=", ".join(f.default), **kw)
    if f.kind in SIMPLE_KINDS:  # str, name
        return StringProperty(default=str(f.default or ""), **kw)
    return StringProperty(default=json.dumps(f.default), **kw)  # a value as in the parameter file


def stored(group, name: str):
    """A setting as the user typed it: Blender keeps a float in 32 bits (0.01 reads back as
    0.009999999776482582, below a `>= 0.01` bound), so a float is the shortest decimal that
    is the same 32-bit number (0.01), which the bounds and the parameter file are written in."""
    value = getattr(group, name)
    return float(str(np.float32(value))) if isinstance(value, float) else value


def _fields(fields, names):
    return [f for f in fields if f.name in names]


def option_info(spec) -> tuple[object, bool, str]:
    """(default, edited as a JSON value, description) of a registry OPTIONS entry: a Field,
    or the older (default, type, description) tuple."""
    if isinstance(spec, Field):
        return spec.default, spec.kind not in SIMPLE_KINDS or spec.default is None, spec.doc
    default, typ, desc = spec
    return default, is_json_option(typ, default), desc


def option_property(name: str, spec):
    """A bpy property for a registry OPTIONS entry."""
    if isinstance(spec, Field):
        if spec.kind in SIMPLE_KINDS and spec.default is not None:
            return field_property(spec)
        return StringProperty(
            name=name.replace("_", " ").title(), default=json.dumps(spec.default), description=spec.doc
        )
    default, typ, desc = spec
    kw = dict(name=name.replace("_", " ").title(), description=desc)
    types = typ if isinstance(typ, tuple) else (typ,)
    if bool in types and isinstance(default, bool):
        return BoolProperty(default=default, **kw)
    if int in types and float not in types and isinstance(default, int):
        return IntProperty(default=default, min=-INT_LIMIT, max=INT_LIMIT, **kw)
    if float in types and isinstance(default, (int, float)) and not isinstance(default, bool):
        return FloatProperty(default=float(default), **kw)
    if str in types and isinstance(default, str):
        return StringProperty(default=default, **kw)
    # Lists and anything else: a JSON value, as in the parameter file.
    return StringProperty(
        default=json.dumps(default), name=kw["name"], description=f"{desc} (a value as in the parameter file)"
    )


def is_json_option(typ, default) -> bool:
    types = typ if isinstance(typ, tuple) else (typ,)
    simple = (bool in types and isinstance(default, bool)) or (
        isinstance(default, (int, float, str)) and not isinstance(default, bool) and type(default) in types
    )
    return not (simple or (float in types and isinstance(default, int) and not isinstance(default, bool)))


def _group(name: str, annotations: dict):
    return type(name, (bpy.types.PropertyGroup,), {"__annotations__": annotations})


VALUE_DOC = (
    "The constant, typed as in the parameter file: a number, a list like [0, 0, 1], true/false, "
    "or a word (a light type, a material name)"
)


def _param_doc(name: str) -> str:
    """A distribution parameter's tooltip: what each distribution taking it says of it (one
    field serves every distribution that has a parameter of that name)."""
    if name == "value":
        return VALUE_DOC
    said: dict[str, list[str]] = {}
    for dist, cls in DISTRIBUTIONS.items():
        if name in cls.PARAMS:
            required, doc = cls.PARAMS[name]
            said.setdefault(doc.replace("`", "") + ("" if required else " (optional)"), []).append(dist)
    if len(said) == 1:
        return next(iter(said))
    return "; ".join(f"{', '.join(dists)}: {doc}" for doc, dists in said.items())


def _param_names() -> list[str]:
    """Every parameter any distribution takes, plus `value` for a constant."""
    names = ["value"]
    for cls in DISTRIBUTIONS.values():
        names += [k for k in cls.PARAMS if k not in names]
    return names


_ENUM_CACHE: dict[str, list] = {}  # Blender needs dynamic enum items kept alive


def _first_line(cls, fallback: str) -> str:
    return (cls.__doc__ or fallback).strip().split("\n")[0]


# Blender saves an enum as its item's number, so each randomizer type and distribution keeps
# one whatever is registered before it (a later version's type, a plugin's): these are the
# numbers the types and distributions of 0.1.0 were saved with (their places in the
# registries), so its .blend files load as saved; a name not here gets one from its name.
RANDOMIZER_NUMBERS = {
    name: i
    for i, name in enumerate(
        (
            "pose",
            "material",
            "visibility",
            "light",
            "camera",
            "world",
            "texture",
            "world_hdri",
            "procedural_texture",
            "material_swap",
            "sky",
            "pool",
            "scatter",
            "camera_relative",
            "camera_look_at",
            "trajectory",
            "camera_trajectory",
            "physics_settle",
            "property",
            "world_property",
            "sensor",
            "augment",
            "background",
            "thermal",
        )
    )
}
DISTRIBUTION_NUMBERS = {
    name: i
    for i, name in enumerate(
        (
            CONSTANT,
            "uniform",
            "log_uniform",
            "normal",
            "truncated_normal",
            "uniform_int",
            "choice",
            "sequence",
            "per_axis",
            "shell",
            "uniform_rotation",
            "mixture",
        )
    )
}


def _numbered(items: list[tuple[str, str, str]], known: dict[str, int]) -> list[tuple[str, str, str, int]]:
    """Enum items with their lasting numbers: `known`'s, else one made from the name."""
    out, used = [], set(known.values())
    for name, label, desc in items:
        number = known.get(name)
        if number is None:
            number = 1000 + zlib.crc32(name.encode()) % (INT_LIMIT - 2000)
            while number in used:  # two names on one number: the next free one
                number += 1
        used.add(number)
        out.append((name, label, desc, number))
    return out


def _cached(key: str, items: list) -> list:
    if _ENUM_CACHE.get(key) != items:  # the registry grew: new items (Blender needs them kept alive)
        _ENUM_CACHE[key] = items
    return _ENUM_CACHE[key]


def distribution_items(_self=None, _context=None):
    items = [(CONSTANT, "Constant", "The same value every frame")]
    items += [(n, n.replace("_", " ").title(), _first_line(c, n)) for n, c in DISTRIBUTIONS.items() if n != CONSTANT]
    return _cached("distributions", _numbered(items, DISTRIBUTION_NUMBERS))


def randomizer_items(_self=None, _context=None):
    items = [(n, n.replace("_", " ").title(), _first_line(c, n)) for n, c in RANDOMIZERS.items()]
    return _cached("randomizers", _numbered(items, RANDOMIZER_NUMBERS))


def _reset_parameters(item, _context=None) -> None:
    """A randomizer's parameter and option rows, from its type's PARAMS and OPTIONS."""
    cls = RANDOMIZERS.get(item.type)
    if cls is None:
        return
    item.params.clear()
    for name, (kind, desc) in cls.PARAMS.items():
        row = item.params.add()
        row.name, row.kind, row.doc = name, kind, desc
    item.options.clear()
    for name, spec in cls.OPTIONS.items():
        default, _json, desc = option_info(spec)
        row = item.options.add()
        row.name, row.doc = name, desc
        row.value = path_text(default) if name in cls.PATH_OPTIONS else json.dumps(default)


# ---------------------------------------------------------------------------- path options (PATH_OPTIONS)
# A path option's row holds its value as plain text (`//textures/`, `//bg/*.jpg`), what
# Blender's file browser gives; a list of globs (from Import) as a JSON list. Its `path`
# property shows the same text with Blender's browse button.
def path_text(value) -> str:
    """The row text of a path option's value: a path as it is, a list of them as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def path_value(text: str):
    """A path option's value from its row text: a JSON list or quoted string (older rows
    held every option as JSON), else the text as it is (a path, a glob)."""
    text = text.strip()
    if text.startswith(("[", '"')):
        try:
            value = json.loads(text)
        except ValueError:
            return text  # e.g. a glob starting with a [set]
        if isinstance(value, (str, list)):
            return value
    return text


def _get_path(row) -> str:
    return path_text(path_value(row.value))


def _set_path(row, text: str) -> None:
    row.value = text


def glob_path(text: str, where: str) -> str:
    """A glob option's path typed in the panel (the background's `files`), absolute; a folder
    (as the browser gives it, ending with a separator) means every file in it (the option
    keeps its own image kinds), its name escaped: a folder `photos [2024]` is no character set."""
    path = blend_path(text, where)
    if text.endswith(("/", "\\")) or Path(path).is_dir():
        return f"{glob.escape(path)}/*"
    return path


def make_classes() -> tuple:
    """The property-group classes, made from the registries as they are now."""
    run = _group(
        "SDG_PG_run",
        {
            **{
                f.name: field_property(f, **(OUTPUT_PATH if f.name == "output" else {}))
                for f in _fields(RUN_FIELDS, RUN_NAMES)
            },
            **{
                f.name: field_property(f, **({"description": PANEL_DOCS[f.name]} if f.name in PANEL_DOCS else {}))
                for f in _fields(RENDER_FIELDS, RENDER_NAMES)
            },
            "existing": EnumProperty(name="Existing Frames", items=EXISTING_ITEMS, default="STOP"),
        },
    )
    annotators = _group(
        "SDG_PG_annotators",
        {
            name: BoolProperty(
                name=name.replace("_", " ").title(),
                default=name in DEFAULT_ANNOTATORS,
                description=cls.summary or (cls.__doc__ or name).strip().split("\n")[0],
            )
            for name, cls in ANNOTATORS.items()
        },
    )
    writer_groups = {}
    for name, cls in WRITERS.items():
        fields = {
            "enabled": BoolProperty(
                name=name, default=name == "basic", description=cls.summary or f"write {name} files"
            )
        }
        for opt, spec in cls.OPTIONS.items():
            fields[opt] = option_property(opt, spec)
        writer_groups[name] = _group(f"SDG_PG_writer_{name}", fields)
    writers = _group("SDG_PG_writers", {name: PointerProperty(type=g) for name, g in writer_groups.items()})
    param = _group(
        "SDG_PG_randomizer_param",
        {
            "name": StringProperty(),
            "kind": StringProperty(),
            "doc": StringProperty(),
            "use": BoolProperty(name="Use", default=False, description="Randomize this parameter"),
            "distribution": EnumProperty(name="Distribution", items=distribution_items),
            **{p: StringProperty(name=p.replace("_", " ").title(), description=_param_doc(p)) for p in _param_names()},
        },
    )
    option = _group(
        "SDG_PG_randomizer_option",
        {
            "name": StringProperty(),
            "doc": StringProperty(),
            "value": StringProperty(name="Value"),
            # The value of a path option (PATH_OPTIONS) with Blender's browse button.
            "path": StringProperty(
                name="Path",
                subtype="DIR_PATH",
                options=path_options(),
                get=_get_path,
                set=_set_path,
                description="A folder (browse) or a path typed by hand (a glob for files); // is relative to the .blend",
            ),
        },
    )
    randomizer = _group(
        "SDG_PG_randomizer",
        {
            "type": EnumProperty(name="Type", items=randomizer_items, update=_reset_parameters),
            "targets": StringProperty(
                name="Targets",
                description="Object, light or camera names or globs, comma-separated (e.g. can_*, Key); "
                "a name's own [ * ? or comma is written [[] [*] [?] [,] (Use Selected does it)",
            ),
            # Targets by label (Replicator's rep.get.prims(semantics=...)): the parameter file's
            # table as it writes it; when given, it chooses the targets instead of the names.
            "target_labels": StringProperty(
                name="Target Labels",
                description="The objects chosen by their labels instead of names, as the parameter file writes them: "
                'class = "cube", or { class = ["cube", "sphere*"], color = "red" } (every type must match, a list '
                "any of its globs); empty: Targets names them",
            ),
            "enabled": BoolProperty(name="Enabled", default=True),
            # When it draws (every N frames, or once): the keys every entry takes.
            **{f.name: field_property(f) for f in TRIGGER_FIELDS},
            "show_expanded": BoolProperty(name="Show", default=True),
            "params": CollectionProperty(type=param),
            "options": CollectionProperty(type=option),
        },
    )
    scene = _group(
        "SDG_PG_scene",
        {
            "run": PointerProperty(type=run),
            "annotators": PointerProperty(type=annotators),
            "writers": PointerProperty(type=writers),
            "randomizers": CollectionProperty(type=randomizer),
            "randomizer_index": IntProperty(min=0),
            "preview_frame": IntProperty(name="Frame", min=0, description="Frame whose sampled values Preview applies"),
            # Sections of an imported parameter file the panels do not show (assets, lights,
            # label rules, ...): kept as they were and written back by Export.
            "extra_json": StringProperty(default="{}"),
            "imported_from": StringProperty(subtype="FILE_PATH"),
        },
    )
    return (run, annotators, *writer_groups.values(), writers, param, option, randomizer, scene)


# ---------------------------------------------------------------------------- settings -> parameter table
def recorded_cameras(scene) -> list[str]:
    """The scene's cameras ticked in the checklist (all by default), sorted."""
    return sorted(o.name for o in scene.objects if o.type == "CAMERA" and getattr(o, RECORD_PROPERTY, True))


def _finite(value) -> bool:
    """No nan or inf inside: a parameter file has no place for them (they have no TOML form)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, dict)):
        return all(_finite(v) for v in (value.values() if isinstance(value, dict) else value))
    return True


def _no_constant(name: str):
    raise ValueError(f"{name} is not a finite number")  # json's NaN, Infinity, -Infinity


def _text_value(text: str, where: str, kind: str = ""):
    """A value typed in the panel, as in the parameter file: JSON or TOML (an inline table
    `{ distribution = "uniform", low = 0, high = 1 }`); a text parameter's word as it is."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        pass
    else:
        if _finite(value):  # (1e999 reads as inf)
            return value
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, KeyError):
        pass
    else:
        if _finite(value):
            return value
    if kind == "string" and text.strip() and not text.strip().startswith(("[", "{", '"', "'")):
        return text.strip()  # SUN, Metal: a word needs no quotes
    raise SettingsError(
        f"{where}: {text!r} is not a value; write a number (0.5; not nan or inf), a list ([0, 0, 1]), true/false "
        'or text in quotes (["SUN", "SPOT"])'
    ) from None


def _option_value(text: str):
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return text  # a plain word, e.g. auto
    return value if _finite(value) else text  # nan, inf: the text, which the option's check names


def randomizer_names(scene) -> list[str]:
    """The panel's name of each randomizer to_table writes (the enabled ones), in order."""
    return [f"Randomizer {i + 1} ({item.type})" for i, item in enumerate(scene.sdg.randomizers) if item.enabled]


def required_params(item) -> set[str]:
    """The parameters the randomizer's type needs with its options as they are (its check()
    given none: a pool's k, a camera_look_at's distance unless it follows a path); the panel
    marks them until they are ticked."""
    cls = RANDOMIZERS.get(item.type)
    if cls is None:
        return set()
    options = {}
    for name, spec in cls.OPTIONS.items():
        row = item.options.get(name)
        if row is None:
            options[name] = option_info(spec)[0]
        else:
            options[name] = path_value(row.value) if name in cls.PATH_OPTIONS else _option_value(row.value)
    try:
        problems = cls.check({}, options)
    except Exception:  # an option typed wrong: said when the settings are checked
        return set()
    return {key for key, bad, _expected in problems if bad is None and key in cls.PARAMS}


# A randomizer's Targets field: globs, comma-separated. A comma inside a [set] does not
# separate (`crate[,] big`), so every name can be written: Use Selected writes names so.
GLOB_SPECIAL = "[*?,"


def _set_end(text: str, i: int) -> int:
    """Where the [set] opening at text[i] ends (the index of its `]`), as fnmatch reads
    it (`[]]` and `[!]]` hold a `]`), or -1 when it does not close."""
    j = i + 1
    if j < len(text) and text[j] == "!":
        j += 1
    if j < len(text) and text[j] == "]":
        j += 1
    return text.find("]", j)


def split_targets(text: str) -> list[str]:
    """The globs of a Targets field: split at the commas outside [sets], each stripped."""
    parts, current, i = [], "", 0
    while i < len(text):
        end = _set_end(text, i) if text[i] == "[" else -1
        if end != -1:
            current, i = current + text[i : end + 1], end + 1
            continue
        if text[i] == ",":
            parts.append(current)
            current = ""
        else:
            current += text[i]
        i += 1
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def name_glob(name: str) -> str:
    """A glob matching the name `name` alone (`box[1]` -> `box[[]1]`, `jar*` -> `jar[*]`,
    `crate, big` -> `crate[,] big`), spaces at its ends kept, for a Targets field."""
    text = "".join(f"[{c}]" if c in GLOB_SPECIAL else c for c in name)
    core = text.strip(" ")
    if not core:
        return "[ ]" * len(text)
    left, right = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
    return "[ ]" * left + core + "[ ]" * right


def targets_text(patterns: list[str]) -> str:
    """A Targets field holding `patterns` (globs, as a parameter file gives them): a comma
    outside a [set] is written [,], so split_targets gives them back as they were."""
    out = []
    for pattern in patterns:
        text, i = "", 0
        while i < len(pattern):
            end = _set_end(pattern, i) if pattern[i] == "[" else -1
            if end != -1:
                text, i = text + pattern[i : end + 1], end + 1
                continue
            text += "[,]" if pattern[i] == "," else pattern[i]
            i += 1
        out.append(text)
    return ", ".join(out)


# The randomizers' target kinds that take labelled objects (lights and cameras carry none).
LABEL_TARGET_KINDS = ("objects", "placeables", "any")


def label_targets_text(targets: dict) -> str:
    """A Target Labels field holding a parameter file's table of labels, as it writes it."""
    return inline(targets)


def label_targets_value(text: str, where: str) -> dict:
    """The table a Target Labels field holds (`class = "cube"`, braces optional); its types
    and globs are checked with the rest of the parameter file."""
    body = text.strip()
    if not body.startswith("{"):
        body = "{ " + body + " }"
    try:
        value = tomllib.loads(f"targets = {body}")["targets"]
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(
            f'{where}, Target Labels: {text.strip()!r} is not a table of labels as a parameter file writes it, e.g. class = "cube" '
            f'or {{ class = ["cube", "sphere*"], color = "red" }} ({e})'
        ) from None
    return value


def randomizer_table(item, index: int) -> dict:
    cls = RANDOMIZERS.get(item.type)
    if cls is None:  # saved by another version of the add-on, or a plugin not installed
        raise SettingsError(
            f"Randomizer {index + 1} is of a type this version of the add-on does not have (saved by another "
            "version or a plugin): untick it to record without it, or remove it"
        )
    table: dict = {"type": item.type}
    where = f"Randomizer {index + 1} ({item.type})"
    if cls.target_kind in LABEL_TARGET_KINDS and item.target_labels.strip():
        table["targets"] = label_targets_value(item.target_labels, where)
    elif cls.target_kind is not None:
        targets = split_targets(item.targets)
        if not targets:
            by_label = ", or their labels in Target Labels" if cls.target_kind in LABEL_TARGET_KINDS else ""
            raise SettingsError(
                f"{where}: no targets; pick {target_words(cls.target_kind)[0]} from the scene (Use Selected) or type "
                f"names{by_label}"
            )
        table["targets"] = targets
    for f in TRIGGER_FIELDS:
        value = stored(item, f.name)
        if value != f.default and not (f.name == "interval" and item.trigger == "once"):  # once: no interval
            table[f.name] = value
    for row in item.params:
        if not row.use:
            continue
        if row.distribution == CONSTANT:
            table[row.name] = _text_value(row.value, f"{where}, {row.name}", row.kind)
            continue
        if row.distribution not in DISTRIBUTIONS:  # saved by another version or a plugin
            raise SettingsError(
                f"{where}, {row.name}: a distribution this version of the add-on does not have (saved by another "
                "version or a plugin): choose one"
            )
        dist = {"distribution": row.distribution}
        for p, (required, _desc) in DISTRIBUTIONS[row.distribution].PARAMS.items():
            text = getattr(row, p, "").strip()
            if text:
                dist[p] = _text_value(text, f"{where}, {row.name} {p}")
            elif required:
                raise SettingsError(f"{where}, {row.name}: the {row.distribution} distribution needs {p}")
        table[row.name] = dist
    for row in item.options:
        if row.name in cls.OPTIONS:
            value = path_value(row.value) if row.name in cls.PATH_OPTIONS else _option_value(row.value)
            if value != option_info(cls.OPTIONS[row.name])[0]:
                table[row.name] = value
    where = f"{where}, {' / '.join(cls.PATH_OPTIONS)}"  # (one path option a randomizer)
    if "folder" in cls.PATH_OPTIONS:
        return cls.map_paths(table, lambda path: blend_path(path, where))
    return cls.map_paths(table, lambda path: glob_path(path, where))  # other path options are globs


def blend_path(text: str, where: str) -> str:
    """A file or folder typed in the panel, absolute: relative ones (`//photos/*.jpg`, as
    Blender's file browser gives them, or `photos/*.jpg`) are relative to the .blend, as
    Blender's own paths are (a recording's parameter file is written elsewhere)."""
    relative = text[2:] if text.startswith("//") else text
    if not bpy.data.filepath and not expand_home(relative).is_absolute():
        raise SettingsError(
            f"{where}: {text!r} is relative to the .blend, but this file has never been saved: "
            "save the .blend first or give an absolute path"
        )
    return absolute_path(relative, Path(bpy.path.abspath("//")))


def to_table(scene, blend: str | None) -> dict:
    """The parameter file the panels describe, with `blend` as [scene] blend."""
    s = scene.sdg
    extra = json.loads(s.extra_json or "{}")
    # Kept from an imported file: render settings the panel does not show, annotators' options.
    kept_render, kept_annotators = extra.pop("render", {}), extra.pop("annotators", {})
    run = {name: stored(s.run, name) for name in RUN_NAMES}
    render = {**kept_render, **{name: stored(s.run, name) for name in RENDER_NAMES}}
    render["resolution"] = [render.pop("width"), render.pop("height")]
    cameras = recorded_cameras(scene)
    if not cameras:
        raise SettingsError("No camera is ticked in the Cameras list: tick at least one (or add a camera to the scene)")
    annotators = {
        name: dict(kept_annotators.get(name, {})) for name in ANNOTATORS if getattr(s.annotators, name, False)
    }
    writers = {}
    for name, cls in WRITERS.items():
        group = getattr(s.writers, name, None)
        if group is None or not group.enabled:
            continue
        values = {}
        for opt, spec in cls.OPTIONS.items():
            value = stored(group, opt)
            values[opt] = _option_value(value) if option_info(spec)[1] else value
        options = {}
        for opt, spec in cls.OPTIONS.items():
            # An option that follows another is written when it differs from that one.
            default = values[cls.FOLLOWS[opt]] if opt in cls.FOLLOWS else option_info(spec)[0]
            if values[opt] != default:
                options[opt] = values[opt]
        writers[name] = options
    if not writers:
        raise SettingsError("No writer is ticked: tick at least one (basic writes Replicator's layout)")
    table: dict = {"run": run, "render": render}
    if not annotators and not extra.get("lidars"):  # a run would write no frame file at all
        raise SettingsError("No annotator is ticked: tick at least one in Annotators (rgb is the image)")
    scene_table = dict(extra.pop("scene", {}))
    scene_table.pop("blend", None)
    if blend is not None:
        scene_table["blend"] = blend
        scene_table["scene"] = scene.name
        scene_table["cameras"] = [name_glob(c) for c in cameras]  # globs: each names its camera alone
    table["scene"] = scene_table
    table.update(extra)
    table["annotators"] = annotators
    table["writers"] = writers
    randomizers = [randomizer_table(item, i) for i, item in enumerate(s.randomizers) if item.enabled]
    if randomizers:
        table["randomizers"] = randomizers
    _declare_scene_label_types(scene, table)
    return table


def _declare_scene_label_types(scene, table: dict) -> None:
    """The label types Target Labels name that the open file's objects or collections carry
    (the Labels panel's `semantics`; instanced ones too) go into [labels] (`color = []`), as a parameter file
    declares a type only a .blend's labels give: the panels have no [labels] to type it in.
    A type the scene lacks is left undeclared, for validation to refuse naming the declared."""
    # Composed, as the run reads types (config.fields.composed): 'catégorie' pasted decomposed is the scene's.
    used = {
        composed(k) for r in table.get("randomizers", []) if isinstance(r.get("targets"), dict) for k in r["targets"]
    }
    labels = table.setdefault("labels", {}) if used else None
    if not isinstance(labels, dict):
        return
    found: set[str] = set()
    # The file's objects and collections, not the scene's alone: a collection instanced by an
    # empty (an asset library's props), by particles or Geometry Nodes is in no scene.
    for idblock in [*bpy.data.objects, *bpy.data.collections]:
        try:
            found.update(own_labels(idblock))
        except ValueError:  # a malformed `semantics`: the recording names it
            continue
    for kind in sorted((used & found) - set(labels) - {"class"}):  # class: declared always
        labels[kind] = []
    if not labels:
        del table["labels"]


# ---------------------------------------------------------------------------- parameter table -> settings
SHOWN_KEYS = ("run", "render", "annotators", "writers", "randomizers")


def import_problem(scene, table: dict) -> str | None:
    """Why the panels cannot hold a (validated) parameter file: a whole number beyond the
    range of the Blender property that would hold it (they are 32-bit; a seed may be up to
    2**63 - 1). Checked before from_table changes anything."""
    s = scene.sdg
    checks = []  # (property, value, where)
    for section in ("run", "render"):
        for name, value in table.get(section, {}).items():
            if name in s.run.bl_rna.properties:
                checks.append((s.run.bl_rna.properties[name], value, f"{section}.{name}"))
    item = s.bl_rna.properties["randomizers"].fixed_type.properties
    for i, entry in enumerate(table.get("randomizers", [])):
        checks += [
            (item[f.name], entry[f.name], f"randomizers[{i}].{f.name}") for f in TRIGGER_FIELDS if f.name in entry
        ]
    writers = table.get("writers", {})
    for name, options in (writers if isinstance(writers, dict) else {}).items():
        group = getattr(s.writers, name, None)
        for opt, value in (options or {}).items():
            if group is not None and opt in group.bl_rna.properties:
                checks.append((group.bl_rna.properties[opt], value, f"writers.{name}.{opt}"))
    for prop, value, where in checks:
        whole = isinstance(value, int) and not isinstance(value, bool)
        if prop.type == "INT" and whole and not prop.hard_min <= value <= prop.hard_max:
            return (
                f"{where} = {value}: the panels hold {prop.hard_min} .. {prop.hard_max} there (Blender's whole "
                "numbers are 32-bit); record this file with Record: Parameter File, or headless"
            )
    return None


def from_table(scene, table: dict) -> list[str]:
    """Fill the panels from a (validated) parameter file; returns notes for the user. What
    the file leaves out takes its default (as headless), but for the output folder, which
    stays the panel's; what the panels do not show is kept (extra_json)."""
    s = scene.sdg
    notes = []
    run = table.get("run", {})
    for name in RUN_NAMES:
        if name in run:
            setattr(s.run, name, run[name])
        elif name != "output":
            s.run.property_unset(name)  # the declared default
    render = dict(table.get("render", {}))
    if "resolution" in render:
        render["width"], render["height"] = render.pop("resolution")
    for name in RENDER_NAMES:
        if name in render:
            value = render.pop(name)
            setattr(s.run, name, value.lower() if name == "device" else value)
        else:
            s.run.property_unset(name)
    chosen = table.get("annotators", {n: {} for n in DEFAULT_ANNOTATORS})
    chosen = chosen if isinstance(chosen, dict) else {n: {} for n in chosen}
    for name in ANNOTATORS:
        setattr(s.annotators, name, name in chosen)
    kept_annotators = {name: options for name, options in chosen.items() if options}
    chosen = table.get("writers", {"basic": {}})
    chosen = chosen if isinstance(chosen, dict) else {n: {} for n in chosen}
    for name, cls in WRITERS.items():
        group = getattr(s.writers, name)
        group.enabled = name in chosen
        given = followed_options(cls.FOLLOWS, chosen.get(name, {}))
        for opt, spec in cls.OPTIONS.items():
            default, as_json, _desc = option_info(spec)
            value = given.get(opt, default)
            setattr(group, opt, json.dumps(value) if as_json else value)
    s.randomizers.clear()
    for entry in table.get("randomizers", []):
        add_randomizer(s, entry)
    extra = {k: v for k, v in table.items() if k not in SHOWN_KEYS}
    if render:  # render settings the panel does not show
        extra["render"] = render
    if kept_annotators:
        extra["annotators"] = kept_annotators
    scene_table = dict(extra.get("scene", {}))
    wanted = scene_table.pop("cameras", None)
    blend = scene_table.pop("blend", None)
    scene_table.pop("scene", None)
    import fnmatch

    from ..scene.base import scene_cameras

    if wanted is None:  # none: the cameras headless records by default (not those left out of renders)
        wanted = scene_cameras(scene, [])[0]
    wanted = [wanted] if isinstance(wanted, str) else wanted
    for o in scene.objects:
        if o.type == "CAMERA" and o.library is None:  # (a linked camera's tick is not saved)
            setattr(o, RECORD_PROPERTY, any(fnmatch.fnmatchcase(o.name, p) for p in wanted))
    if scene_table:
        extra["scene"] = scene_table
    else:
        extra.pop("scene", None)
    s.extra_json = json.dumps(extra)
    if blend:
        notes.append(f"The file names the base scene {blend}; the open scene is recorded instead")
    if extra:
        notes.append(f"Kept from the file and recorded with the open scene: {', '.join(kept_names(extra))}")
    return notes


def kept_names(extra: dict) -> list[str]:
    """What an imported file gave that the panels do not show: its sections, and the render
    settings and annotators (with options) by name."""
    names = []
    for key in sorted(extra):
        if key in ("render", "annotators"):
            names += [f"{key}.{name}" for name in sorted(extra[key])]
        else:
            names.append(key)
    return names


def add_randomizer(s, entry: dict):
    item = s.randomizers.add()
    item.type = entry["type"]  # fills the parameter rows (update callback)
    targets = entry.get("targets", [])
    if isinstance(targets, dict):  # by label: shown as the file writes it, no names
        item.target_labels, item.targets = label_targets_text(targets), ""
    else:
        item.target_labels = ""
        item.targets = targets_text([targets] if isinstance(targets, str) else targets)
    for f in TRIGGER_FIELDS:
        setattr(item, f.name, entry.get(f.name, f.default))
    for row in item.params:
        if row.name not in entry:
            continue
        value = entry[row.name]
        row.use = True
        if isinstance(value, dict) and "distribution" in value:
            row.distribution = value["distribution"]
            for p, x in value.items():
                if p != "distribution":
                    setattr(row, p, json.dumps(x))
        else:
            row.distribution = CONSTANT
            row.value = json.dumps(value)
    cls = RANDOMIZERS[item.type]
    for row in item.options:
        if row.name in entry:
            value = entry[row.name]
            row.value = path_text(value) if row.name in cls.PATH_OPTIONS else json.dumps(value)
    return item


def register_properties(classes) -> None:
    bpy.types.Scene.sdg = PointerProperty(type=classes[-1])
    bpy.types.Object.sdg_record = BoolProperty(
        name="Record", default=True, description="Render this camera in the recording"
    )


def unregister_properties() -> None:
    del bpy.types.Object.sdg_record
    del bpy.types.Scene.sdg
