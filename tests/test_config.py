"""Parameter files: loading, one schema for TOML and JSON, every problem at once (no bpy)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from pages import anchors, section

from sdg_addon.config import Config, ConfigError, Problem, load_config
from sdg_addon.config.problems import MISSING
from sdg_addon.config.schema import (
    ASSET_EXTENSIONS,
    DEFAULT_ANNOTATORS,
    PRIMITIVES,
    TOP_LEVEL_KEYS,
    AssetSpec,
    CameraSpec,
    GroundSpec,
    LightSpec,
    RenderSettings,
    WorldSpec,
)
from sdg_addon.sampling import DISTRIBUTIONS, RANDOMIZERS

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "presets" / "default.toml"
EXAMPLES = ROOT / "presets" / "examples"
REFERENCE = ROOT / "docs" / "parameters.md"

CAMERA = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def by_field(problems: list[Problem]) -> dict[tuple[str, str], Problem]:
    found = {(p.file, p.field): p for p in problems}
    assert len(found) == len(problems), f"two problems share a file and field: {problems}"
    return found


# ------------------------------------------------------------------------- good files


def test_default_preset_loads():
    cfg = load_config(PRESET)
    assert isinstance(cfg, Config)
    assert cfg.files == [PRESET.resolve()]
    assert (cfg.seed, cfg.frames, cfg.output) == (7, 8, "out/default")
    assert (cfg.render.width, cfg.render.height, cfg.render.samples) == (640, 480, 32)
    assert [c.name for c in cfg.cameras] == ["camera"]
    assert [light.type for light in cfg.lights] == ["AREA", "SUN"]  # any case in the file
    assert all(a.primitive in PRIMITIVES and a.file is None for a in cfg.assets)
    assert [r.name for r in cfg.randomizers] == [
        "camera",
        "scatter",
        "camera_relative",
        "material",
        "material",
        "light",
        "procedural_texture",
        "procedural_texture",
        "augment",
    ]
    assert cfg.randomizer_targets[5] == ["key"]  # one pattern as a string -> a list
    assert cfg.randomizers[1].options["surface"] == "table"
    assert [a.name for a in cfg.assets if a.distractor] == ["table", "clutter_cube", "clutter_ring", "clutter_cone"]
    assert "rgb" in cfg.annotators and cfg.writers == {"basic": {}}
    assert cfg.label_order()["class"][:6] == ["mug", "ball", "box", "cone", "donut", "monkey"]
    json.dumps(cfg.resolved())  # the audit copy is plain JSON


@pytest.mark.parametrize("name", ["minimal.toml", "minimal.json"])
def test_example_presets_load(name):
    cfg = load_config(EXAMPLES / name)
    assert [a.name for a in cfg.assets] == ["ball"] and cfg.assets[0].count == 3


def test_example_json_and_toml_are_the_same_file():
    toml, js = (load_config(EXAMPLES / n).resolved() for n in ("minimal.toml", "minimal.json"))
    assert toml.pop("files") != js.pop("files")
    assert toml == js


def test_defaults_of_a_file_with_only_a_camera(tmp_path):
    cfg = load_config(write(tmp_path / "scene.toml", CAMERA))
    assert (cfg.seed, cfg.frames, cfg.output) == (0, 10, "out/scene")
    assert cfg.render == RenderSettings()
    assert cfg.ground == GroundSpec() and cfg.world == WorldSpec()
    assert cfg.cameras[0].look_at == [0.0, 0.0, 0.0]  # neither look_at nor rotation: the origin
    assert list(cfg.annotators) == list(DEFAULT_ANNOTATORS)
    assert cfg.writers == {"basic": {}}
    assert cfg.lights == [] and cfg.assets == [] and cfg.randomizers == []


SMALL_TOML = """
asset_list = "assets.json"

[run]
seed = 3
frames = 2
output = "out/small"

[render]
width = 320
height = 200
device = "CPU"

[labels]
class = ["mug", "ball"]

[scene]
ground = { size = 2.0, labels = { class = "floor" } }
world = { strength = 0.5 }

[[cameras]]
name = "cam"
location = [0, -2, 1]
rotation = [60, 0, 0]

[[lights]]
name = "lamp"
type = "point"
energy = 50

[[assets]]
name = "mug"
file = "models/mug.obj"
objects = "Mug*"
labels = { class = "mug" }

[[randomizers]]
type = "pose"
targets = ["mug", "ball_*"]
location = { distribution = "uniform", low = [-1, -1, 0], high = [1, 1, 0] }
scale = { distribution = "normal", mean = 1.0, std = 0.1, low = 0.5, high = 1.5 }
min_distance = 0.3

[[randomizers]]
type = "world"
strength = { distribution = "sequence", values = [0.5, 1.0] }

[annotators]
rgb = {}
bounding_box_2d_tight = { semantic_type = "class" }

[writers]
basic = { frame_padding = 6 }
"""

SMALL_JSON = {
    "asset_list": "assets.json",
    "run": {"seed": 3, "frames": 2, "output": "out/small"},
    "render": {"width": 320, "height": 200, "device": "CPU"},
    "labels": {"class": ["mug", "ball"]},
    "scene": {"ground": {"size": 2.0, "labels": {"class": "floor"}}, "world": {"strength": 0.5}},
    "cameras": [{"name": "cam", "location": [0, -2, 1], "rotation": [60, 0, 0]}],
    "lights": [{"name": "lamp", "type": "point", "energy": 50}],
    "assets": [{"name": "mug", "file": "models/mug.obj", "objects": "Mug*", "labels": {"class": "mug"}}],
    "randomizers": [
        {
            "type": "pose",
            "targets": ["mug", "ball_*"],
            "location": {"distribution": "uniform", "low": [-1, -1, 0], "high": [1, 1, 0]},
            "scale": {"distribution": "normal", "mean": 1.0, "std": 0.1, "low": 0.5, "high": 1.5},
            "min_distance": 0.3,
        },
        {"type": "world", "strength": {"distribution": "sequence", "values": [0.5, 1.0]}},
    ],
    "annotators": {"rgb": {}, "bounding_box_2d_tight": {"semantic_type": "class"}},
    "writers": {"basic": {"frame_padding": 6}},
}

ASSET_LIST = {"assets": [{"name": "ball", "primitive": "sphere", "count": 2, "labels": {"class": "ball"}}]}


def test_json_equivalent_of_a_toml_file_gives_the_same_resolved_config(tmp_path):
    write(tmp_path / "models" / "mug.obj", "")
    write(tmp_path / "assets.json", json.dumps(ASSET_LIST))
    a = load_config(write(tmp_path / "small.toml", SMALL_TOML))
    b = load_config(write(tmp_path / "small.json", json.dumps(SMALL_JSON, indent=2)))
    ra, rb = a.resolved(), b.resolved()
    assert ra.pop("files")[1:] == rb.pop("files")[1:] == [(tmp_path / "assets.json").as_posix()]
    assert ra == rb
    # and what it resolved to
    assert (a.render.width, a.render.height, a.render.device) == (320, 200, "cpu")
    assert a.cameras[0].look_at is None and a.cameras[0].rotation == [60.0, 0.0, 0.0]
    assert a.lights[0].type == "POINT"
    assert a.assets[0].file == (tmp_path / "models" / "mug.obj").as_posix()
    assert [x.name for x in a.assets] == ["mug", "ball"]
    assert a.randomizer_targets == [["mug", "ball_*"], []]
    assert ra["randomizers"][1] == {
        "type": "world",
        "targets": [],
        "strength": SMALL_JSON["randomizers"][1]["strength"],
        "trigger": "frame",
        "interval": 1,
    }
    assert a.label_order()["class"] == ["mug", "ball", "floor"]


def test_relative_paths_resolve_against_the_file_that_names_them(tmp_path, monkeypatch):
    write(tmp_path / "models" / "cup.glb", "")
    write(tmp_path / "params" / "lists" / "models" / "cup.glb", "")  # a decoy next to the list
    write(tmp_path / "params" / "lists" / "assets.toml", '[[assets]]\nname = "cup"\nfile = "../../models/cup.glb"\n')
    main = write(tmp_path / "params" / "main.toml", 'asset_list = "lists/assets.toml"\n' + CAMERA)
    monkeypatch.chdir(tmp_path / "models")  # the working folder plays no part
    cfg = load_config(Path("..") / "params" / "main.toml")
    assert cfg.files == [main, tmp_path / "params" / "lists" / "assets.toml"]
    assert cfg.assets[0].file == (tmp_path / "models" / "cup.glb").as_posix()


def test_every_accepted_asset_file_type_and_primitive(tmp_path):
    lines = [CAMERA]
    for i, ext in enumerate(ASSET_EXTENSIONS):
        write(tmp_path / f"m{i}{ext.upper()}", "")  # the extension is matched in any case
        lines.append(f'[[assets]]\nname = "f{i}"\nfile = "m{i}{ext.upper()}"\n')
    for p in PRIMITIVES:
        lines.append(f'[[assets]]\nname = "p_{p}"\nprimitive = "{p.upper()}"\n')
    cfg = load_config(write(tmp_path / "all.toml", "\n".join(lines)))
    assert len(cfg.assets) == len(ASSET_EXTENSIONS) + len(PRIMITIVES)
    assert [a.primitive for a in cfg.assets if a.primitive] == list(PRIMITIVES)


def test_registries_accept_a_list_of_names(tmp_path):
    cfg = load_config(
        write(tmp_path / "p.toml", 'annotators = ["rgb", "camera_params"]\nwriters = ["basic"]\n' + CAMERA)
    )
    assert cfg.annotators == {"rgb": {}, "camera_params": {}} and cfg.writers == {"basic": {}}


def test_ground_can_be_switched_off(tmp_path):
    assert load_config(write(tmp_path / "a.toml", "[scene]\nground = false\n" + CAMERA)).ground.enabled is False
    cfg = load_config(write(tmp_path / "b.toml", "[scene]\nground = { enabled = false, size = 9 }\n" + CAMERA))
    assert cfg.ground.enabled is False and cfg.ground.size == 9.0


# --------------------------------------------------------------------- many mistakes

MANY_MISTAKES = """
asset_list = "lists/assets.toml"

[run]
seed = "7"
frames = 0

[render]
resolution = [640, 480]
sampels = 4

[[cameras]]
name = "cam"
location = [0, -2, 1]
focal_length = -35

[[lights]]
name = "key"
type = "area"

[[assets]]
name = "mug"
primitive = "cylinder"
file = "models/mug.obj"

[[assets]]
name = "box"
file = "models/box.glb"

[[assets]]
name = "mug"
primitive = "cube"

[[randomizers]]
type = "pose"
targets = "*"
location = { distribution = "uniform", low = [0, 0, 0], high = [1, 1, 1] }

[[randomizers]]
type = "pose"
targets = "*"
location = { distribution = "uniform", low = [1, 0, 0], high = [0, 1, 0] }

[[randomizers]]
type = "material"
targets = "*"
color = { distribution = "uniform", low = [0, 0, 0], high = [1, 1] }

[[randomizers]]
type = "jiggle"
targets = "*"

[annotators]
rgb = {}
semantic_segmentaton = {}
"""

ASSET_LIST_MISTAKES = """
[[assets]]
name = "ball"
primitive = "sphere"
size = -1

[[assets]]
name = "cup"
file = "../models/cup.obj"

[[assets]]
name = "box"
primitive = "cube"
colour = [1, 0, 0]
"""


def test_a_file_with_many_mistakes_lists_every_one(tmp_path):
    write(tmp_path / "models" / "mug.obj", "")
    lst = write(tmp_path / "lists" / "assets.toml", ASSET_LIST_MISTAKES)
    main = write(tmp_path / "main.toml", MANY_MISTAKES)
    m, a = main.as_posix(), lst.as_posix()
    found = by_field(problems_of(main))
    # (file, field) -> (value, words the expectation must contain)
    expected = {
        (m, "run.seed"): ("7", ["whole number", ">= 0"]),
        (m, "run.frames"): (0, ["whole number", ">= 1"]),
        (m, "render.sampels"): (4, ["did you mean 'samples'?"]),
        (m, "cameras[0].focal_length"): (-35, ["number", ">= 1"]),
        (m, "assets[0].file"): ("models/mug.obj", ["either primitive or file, not both"]),
        (m, "assets[1].file"): ("models/box.glb", [f"looked for {(tmp_path / 'models' / 'box.glb').as_posix()}"]),
        (m, "assets[2].name"): ("mug", ["not used already", "assets[0]"]),
        (m, "randomizers[1].location.high"): ([0, 1, 0], ["values >= low", "[1, 0, 0]"]),
        (m, "randomizers[2].color.high"): ([1, 1], ["same length as low"]),
        (m, "randomizers[3].type"): ("jiggle", ["known randomizer type", "'pose'"]),
        (m, "annotators.semantic_segmentaton"): ("semantic_segmentaton", ["did you mean 'semantic_segmentation'?"]),
        # inside the asset list: that file, its own indices, paths relative to it
        (a, "assets[0].size"): (-1, ["number", "> 0"]),
        (a, "assets[1].file"): ("../models/cup.obj", [f"looked for {(tmp_path / 'models' / 'cup.obj').as_posix()}"]),
        (a, "assets[2].colour"): ([1, 0, 0], ["did you mean 'color'?"]),
        (a, "assets[2].name"): ("box", ["not used already", "assets[1]"]),
    }
    assert sorted(found) == sorted(expected)
    for key, (value, words) in expected.items():
        p = found[key]
        assert p.value == value, (key, p)
        for w in words:
            assert w in p.expected, (key, w, p.expected)


def test_problems_read_as_one_line_each(tmp_path):
    main = write(tmp_path / "p.toml", '[run]\nframes = "ten"\n' + CAMERA)
    with pytest.raises(ConfigError) as info:
        load_config(main)
    (p,) = info.value.problems
    assert (
        str(p)
        == f'{main.as_posix()}: run.frames: got "ten"; expected a whole number >= 1 and <= 10000000 (number of frames; frame indices are 0 .. frames-1)'
    )
    assert str(info.value) == str(p)
    assert isinstance(info.value, ValueError)


def test_a_missing_value_reads_as_missing(tmp_path):
    text = '[[cameras]]\nname = "c"\n\n[[randomizers]]\ntype = "pose"\nlocation = { distribution = "uniform", low = [0, 0, 0] }\n'
    found = by_field(problems_of(write(tmp_path / "p.toml", text)))
    f = tmp_path.joinpath("p.toml").as_posix()
    assert set(found) == {
        (f, "cameras[0].location"),
        (f, "randomizers[0].targets"),
        (f, "randomizers[0].location.high"),
    }
    for p in found.values():
        assert "nothing (the field is missing)" in str(p)
    assert "required by uniform" in found[(f, "randomizers[0].location.high")].expected


@pytest.mark.parametrize(
    "line, field, words",
    [
        ('asset_list = "nowhere/assets.toml"', "asset_list", ["an existing file", "looked for", "nowhere/assets.toml"]),
        ("asset_list = 3", "asset_list", ["a path (string)"]),
        ('asset_list = ""', "asset_list", ["a path (string)"]),
        ('asset_list = "assets.yaml"', "asset_list", [".toml or .json"]),
        ('asset_list = "p.toml"', "asset_list", ["another file"]),
    ],
)
def test_bad_asset_list_paths(tmp_path, line, field, words):
    main = write(tmp_path / "p.toml", f"{line}\n{CAMERA}")
    (p,) = problems_of(main)
    assert (p.file, p.field) == (main.as_posix(), field)
    for w in words:
        assert w in p.expected
    if "looked for" in words:
        assert (tmp_path / "nowhere" / "assets.toml").as_posix() in p.expected


def test_asset_list_syntax_error_names_the_list(tmp_path):
    lst = write(tmp_path / "assets.json", '{"assets": [\n  {"name": "a",}\n]}')
    (p,) = problems_of(write(tmp_path / "p.toml", 'asset_list = "assets.json"\n' + CAMERA))
    assert p.file == lst.as_posix() and p.field.startswith("line 2,")


def test_asset_list_takes_only_assets(tmp_path):
    write(tmp_path / "a.toml", '[run]\nseed = 1\n[[assets]]\nname = "x"\nprimitive = "cube"\n')
    (p,) = problems_of(write(tmp_path / "p.toml", 'asset_list = "a.toml"\n' + CAMERA))
    assert (p.file, p.field) == ((tmp_path / "a.toml").as_posix(), "run")


@pytest.mark.skipif(os.name == "nt", reason="Windows paths name files there")
def test_a_path_written_with_backslashes_is_pointed_to_slashes(tmp_path):
    """A parameter file written on Windows ('models\\tri.obj') and read on Linux or macOS,
    where a backslash is part of a name, was told only 'an existing file (looked for
    DIR/models\\tri.obj)'; each path of the file now says to write it with slashes."""
    for sub in ("models", "tex", "bg"):
        (tmp_path / sub).mkdir()
    write(tmp_path / "models" / "a.toml", '[[assets]]\nname = "x"\nprimitive = "cube"\n')
    text = (
        "asset_list = 'models\\a.toml'\n[scene]\nblend = 'models\\s.blend'\n" + CAMERA + "[[assets]]\n"
        "name = 'a'\nfile = 'models\\a.obj'\n[[assets]]\nname = 'b'\nfiles = 'models\\*.obj'\n"
        "[[randomizers]]\ntype = 'texture'\ntargets = 'a'\nfolder = 'tex\\wood'\n"
        "[[randomizers]]\ntype = 'background'\nfiles = 'bg\\*.jpg'\n"
    )
    found = {p.field: p for p in problems_of(write(tmp_path / "p.toml", text))}
    for field, slashed in (
        ("asset_list", "models/a.toml"),
        ("scene.blend", "models/s.blend"),
        ("assets[0].file", "models/a.obj"),
        ("assets[1].files", "models/*.obj"),
        ("randomizers[0].folder", "tex/wood"),
        ("randomizers[1].files", "bg/*.jpg"),
    ):
        assert f"a backslash is no folder separator on Linux and macOS: write {slashed!r}" in found[field].expected
    # a drive of Windows: a folder 'C:' beside the file here
    text = CAMERA + "[[assets]]\nname = 'a'\nfile = 'C:/Users/me/a.obj'\n"
    (p,) = problems_of(write(tmp_path / "d.toml", text))
    assert p.expected.endswith(
        "; a Windows path (drive C:) names no file on Linux and macOS: give it relative to the file naming it, "
        "with /, which works on Windows too"
    ), p
    # names differing in case from those on disk (a project made on Windows or macOS, moved to Linux)
    (tmp_path / "models" / "Mug.OBJ").write_text("v 0 0 0\n")
    (tmp_path / "tex" / "Wood").mkdir()
    text = (
        "asset_list = 'Models/A.toml'\n" + CAMERA + "[[assets]]\nname = 'a'\nfile = 'MODELS/mug.obj'\n"
        "[[randomizers]]\ntype = 'texture'\ntargets = 'a'\nfolder = 'tex/wood'\n"
    )
    found = {p.field: p for p in problems_of(write(tmp_path / "c.toml", text))}
    for field, there in (
        ("asset_list", "models/a.toml"),
        ("assets[0].file", "models/Mug.OBJ"),
        ("randomizers[0].folder", "tex/Wood"),
    ):
        if (tmp_path / "MODELS").exists():  # a file system that takes either case (macOS): found
            break
        assert found[field].expected.endswith(
            f"; {(tmp_path / there).as_posix()} is there, its name differing in case: Windows and macOS take either, "
            "Linux only the name as it is on disk: write it so"
        ), found[field]
    # a glob matching files but for case: *.obj and MUG.OBJ, a background's *.jpg and Photo.JPG
    (tmp_path / "bg" / "Photo.JPG").write_bytes(b"")
    text = (
        CAMERA + "[[assets]]\nname = 'a'\nfiles = 'models/*.obj'\n"
        "[[randomizers]]\ntype = 'background'\nfiles = 'bg/*.jpg'\n"
    )
    found = {p.field: p for p in problems_of(write(tmp_path / "g.toml", text))}
    for field, there in (("assets[0].files", "models/Mug.OBJ"), ("randomizers[0].files", "bg/Photo.JPG")):
        if (tmp_path / "MODELS").exists():  # a file system that takes either case (macOS): found
            break
        assert found[field].expected.endswith(
            f"; it matches 1 file(s) but for case (e.g. {(tmp_path / there).as_posix()}): Windows and macOS "
            "compare names without case, Linux with it: write the glob as the names are on disk"
        ), found[field]
    # a URL, on every system
    text = CAMERA + "[[assets]]\nname = 'a'\nfile = 'https://example.com/a.obj'\n"
    (p,) = problems_of(write(tmp_path / "u.toml", text))
    assert p.expected.endswith(
        "; a URL (https://) names no file here: the run reads files of this system (download it first)"
    )
    # a path without a backslash is told as before
    (p,) = problems_of(write(tmp_path / "q.toml", CAMERA + "[[assets]]\nname = 'a'\nfile = 'models/none.obj'\n"))
    assert p.expected == f"an existing file (looked for {(tmp_path / 'models' / 'none.obj').as_posix()})"


def test_a_path_whose_names_are_spelt_in_the_other_unicode_form_is_said_so(tmp_path):
    """A folder made on macOS (its file names decomposed: 'café' as 'cafe' + U+0301) copied
    to Linux, and a parameter file typing the names composed, or the other way round: the
    path was told only 'an existing file (looked for DIR/café/mug.obj)', which prints as the
    name on disk. It now says the name is there in the other Unicode form and what to do:
    a file, a folder, a glob."""
    import unicodedata

    nfc, nfd = "café", unicodedata.normalize("NFD", "café")
    (tmp_path / nfd).mkdir()
    (tmp_path / nfd / "mug.obj").write_text("v 0 0 0\n")
    (tmp_path / nfd / "a.jpg").write_bytes(b"")
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / nfc).mkdir()
    text = (
        CAMERA + f"[[assets]]\nname = 'a'\nfile = '{nfc}/mug.obj'\n[[assets]]\nname = 'b'\nfiles = '{nfc}/*.obj'\n"
        f"[[randomizers]]\ntype = 'texture'\ntargets = 'a'\nfolder = 'tex/{nfd}'\n"
        f"[[randomizers]]\ntype = 'background'\nfiles = '{nfc}/*.jpg'\n"
    )
    if (tmp_path / nfc).exists():  # a file system that takes either form (macOS): found
        return
    found = {p.field: p for p in problems_of(write(tmp_path / "p.toml", text))}
    on_disk = (
        "decomposed (e + U+0301, as macOS writes file names) on disk, composed (é one character) in the parameter file"
    )
    assert found["assets[0].file"].expected.endswith(
        f"; {(tmp_path / nfd / 'mug.obj').as_posix()} is there, spelt in another Unicode form: {on_disk}; they print "
        "alike, but Linux takes only the name as it is on disk: rename it composed (convmv -r -f utf8 -t utf8 --nfc "
        "--notest PATH)"
    ), found["assets[0].file"]
    for field, there in (("assets[1].files", "mug.obj"), ("randomizers[1].files", "a.jpg")):
        assert f"it matches 1 file(s) spelt otherwise: e.g. {(tmp_path / nfd / there).as_posix()} is there" in (
            found[field].expected
        ), found[field]
        assert on_disk in found[field].expected
    assert found["randomizers[0].folder"].expected.endswith(
        "composed (é one character) on disk, decomposed (e + U+0301, as macOS writes file names) in the parameter "
        "file; they print alike, but Linux takes only the name as it is on disk: type the name again in the "
        "parameter file, composed"
    ), found["randomizers[0].folder"]


def test_a_name_whose_copies_blender_would_cut_is_refused(tmp_path):
    """An asset of 62 bytes with count = 3 passed validate, its copies NAME_000 .. NAME_002
    66 bytes: Blender 4.2 cut them at 63 and made them unique its own way ('bbb..._' and
    'bbb...b.001', in prim paths and for targets), Blender 5.0 kept them, so the two versions
    wrote other datasets. Such a name is refused, saying the room its copies leave."""
    cube = '\nprimitive = "cube"\ncount = 3\n'
    (p,) = problems_of(write(tmp_path / "p.toml", CAMERA + '[[assets]]\nname = "' + "b" * 62 + '"' + cube))
    assert p.field == "assets[0].name" and p.expected.startswith("a name of at most 59 bytes for its 3 objects"), p
    assert f"'{'b' * 62}_000' .. '{'b' * 62}_002'" in p.expected and "63 bytes" in p.expected
    (p,) = problems_of(write(tmp_path / "p.toml", CAMERA + '[[assets]]\nname = "' + "é" * 30 + '"' + cube))
    assert p.expected.startswith("a name of at most 59 bytes"), p  # bytes of UTF-8, not characters
    light = '[[lights]]\nname = "' + "l" * 61 + '"\ntype = "point"\ncount = 2\n'
    (p,) = problems_of(write(tmp_path / "p.toml", CAMERA + light))
    assert p.field == "lights[0].name" and p.expected.startswith("a name of at most 59 bytes for its 2 objects"), p
    # at the bound: 59 bytes and NAME_002 of 63, or one object of 63 bytes, are taken
    load_config(write(tmp_path / "p.toml", CAMERA + '[[assets]]\nname = "' + "b" * 59 + '"' + cube))
    load_config(write(tmp_path / "p.toml", CAMERA + '[[assets]]\nname = "' + "b" * 63 + '"\nprimitive = "cube"\n'))


def test_names_refused_are_not_said_to_clash(tmp_path):
    """A camera's and a light's names both refused (64 bytes, a number) were each read as
    "", so the second got a third problem, 'got ""; expected a name not used already
    (cameras[0] has it)', a clash of names the file never gave."""
    long = '[[cameras]]\nname = "' + "c" * 64 + '"\nlocation = [0, -2, 1]\n'
    for light in ('"' + "l" * 64 + '"', "5"):
        problems = problems_of(write(tmp_path / "p.toml", long + f'[[lights]]\nname = {light}\ntype = "sun"\n'))
        assert [p.field for p in problems] == ["cameras[0].name", "lights[0].name"], problems
        assert not any("not used already" in p.expected for p in problems)


def test_a_name_taken_in_another_file_is_said_with_that_file(tmp_path):
    """A name clash between the asset list and the parameter file is reported in the list,
    naming the entry that took the name: it said '(assets[0] has it)' for the parameter
    file's assets[0], which read as the list's own (the very entry refused), and named the
    list for a clash inside the list itself."""
    main = tmp_path / "p.toml"
    write(
        tmp_path / "a.toml", '[[assets]]\nname = "x"\nprimitive = "cube"\n[[assets]]\nname = "x"\nprimitive = "cube"\n'
    )
    write(tmp_path / "b.toml", '[[assets]]\nname = "ball"\nprimitive = "cube"\n')
    (p,) = problems_of(write(main, 'asset_list = "a.toml"\n' + CAMERA))
    assert (p.file, p.field) == ((tmp_path / "a.toml").as_posix(), "assets[1].name")
    assert p.expected == "a name not used already (assets[0] has it)"
    (p,) = problems_of(write(main, 'asset_list = "b.toml"\n[[assets]]\nname = "ball"\nprimitive = "cube"\n' + CAMERA))
    assert (p.file, p.field) == ((tmp_path / "b.toml").as_posix(), "assets[0].name")
    assert p.expected == f"a name not used already (assets[0] in {main.as_posix()} has it)"
    # so for a class's keypoints, two lists of names for one COCO category
    write(
        tmp_path / "c.toml",
        '[[assets]]\nname = "b"\nprimitive = "cube"\nlabels = { class = "ball" }\nkeypoints = { a = [0, 0, 0] }\n',
    )
    text = (
        'asset_list = "c.toml"\n[[assets]]\nname = "ball"\nprimitive = "cube"\nlabels = { class = "ball" }\n'
        "keypoints = { tip = [0, 0, 0.1] }\n[annotators]\nkeypoints = {}\n[writers]\ncoco = {}\n"
    )
    (p,) = problems_of(write(main, text + CAMERA))
    assert (p.file, p.field) == ((tmp_path / "c.toml").as_posix(), "assets[0].keypoints")
    assert f"the keypoint names and skeleton of assets[0] in {main.as_posix()}, of class 'ball' too" in p.expected
    # YOLO-pose's classes too (one list of keypoint slots each); its box lines have none
    (p,) = problems_of(write(main, text.replace("coco = {}", "yolo = { keypoints = true }") + CAMERA))
    assert p.field == "assets[0].keypoints" and "a COCO category (a YOLO-pose class) has one list" in p.expected
    load_config(write(main, text.replace("coco = {}", "yolo = {}") + CAMERA))
    # the same names with other skeletons: one COCO category's two skeletons; YOLO has none
    write(
        tmp_path / "c.toml",
        (tmp_path / "c.toml").read_text().replace("a = [0, 0, 0]", "tip = [0, 0, 0], b = [0, 0, 0]"),
    )
    skeleton = text.replace(
        "keypoints = { tip = [0, 0, 0.1] }\n",
        'keypoints = { tip = [0, 0, 0.1], b = [0, 0, 0] }\nskeleton = [["tip", "b"]]\n',
    )
    assert "skeleton" in skeleton and len(problems_of(write(main, skeleton + CAMERA))) == 1
    load_config(write(main, skeleton.replace("coco = {}", "yolo = { keypoints = true }") + CAMERA))


# ------------------------------------------------------------------------ syntax


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.toml", "[run]\nseed = 1\nframes = = 3\n[render]\nsamples = 4\n")
    (p,) = problems_of(path)
    assert p.file == path.as_posix()
    assert p.field == "line 3, column 10"
    assert p.value == "frames = = 3"
    assert "valid TOML syntax" in p.expected
    assert str(p).startswith(f"{path.as_posix()}: line 3, column 10: ")


def test_a_windows_path_in_a_double_quoted_string_is_said_as_escapes(tmp_path):
    r"""output = "C:\Users\me\out" (a Windows path pasted into a TOML "..." string) was refused
    as 'valid TOML syntax (Invalid hex value)', "D:\data" as "(Unescaped '\' in a string)",
    and "D:\temp\run", read as D:<tab>emp<CR>un, as a string 'without control characters'
    whose shown value looks as typed; each now says what a backslash does there and how to
    write the path, also in a JSON file and a randomizer's option."""
    escapes = (
        'in a "..." string a backslash starts an escape (\\t a tab, \\n a newline, \\U a character): '
        "write a Windows path with /, or in TOML in '...', where a backslash is itself"
    )
    for line, said in (
        ('output = "C:\\Users\\me\\out"', "Invalid hex value"),
        ('output = "D:\\data\\run"', "Unescaped '\\' in a string"),
    ):
        (p,) = problems_of(write(tmp_path / "p.toml", f"[run]\n{line}\n" + CAMERA))
        assert p.field.startswith("line 2, ") and p.expected == f"valid TOML syntax ({said}: {escapes})", p
    text = '[run]\noutput = "D:\\temp\\run"\n' + CAMERA + '[[randomizers]]\ntype = "texture"\ntargets = "cam"\n'
    found = by_field(problems_of(write(tmp_path / "p.toml", text + 'folder = "tex\\new"\n')))
    for field in ("run.output", "randomizers[0].folder"):
        assert found[(str(tmp_path / "p.toml"), field)].expected.endswith(f"; {escapes}"), found
    (p,) = problems_of(write(tmp_path / "p.json", '{"run": {"output": "D:\\temp\\run"}, ' + CAMERA_JSON + "}"))
    assert p.field == "run.output" and p.value == "D:\temp\run" and p.expected.endswith(f"; {escapes}"), p
    # a string with no such character is told as before
    (p,) = problems_of(write(tmp_path / "p.toml", '[run]\noutput = "a\\u0000b"\n' + CAMERA))
    assert escapes not in p.expected


def test_a_toml_key_or_table_given_twice_is_said_so(tmp_path):
    """tomllib refuses a repeated key or table in words that name neither ('Cannot overwrite
    a value', "Cannot declare ('scene', 'world') twice"); JSON's repeated key is said as one
    (test_a_json_key_given_twice_is_refused_naming_where): TOML's now are too, at their line."""
    key = "a key given a second time in its table (as a key or a [table]): TOML takes each key once"
    for text, line, shown, said in (
        ("[run]\nseed = 1\nseed = 2\n", 3, "seed = 2", key),
        ('[[cameras]]\nname = "a"\nname = "b"\n', 3, 'name = "b"', key),
        ("[run]\nseed = 1\n[run.seed]\nx = 1\n", 3, "[run.seed]", key),
        ("[run]\nseed = 1\n[run]\nframes = 2\n", 3, "[run]", "the table [run] declared twice"),
        ("[scene.world]\nstrength = 1\n[scene.world]\n", 3, "[scene.world]", "the table [scene.world] declared"),
    ):
        (p,) = problems_of(write(tmp_path / "p.toml", text))
        assert p.field.startswith(f"line {line}, ") and p.value == shown, p
        assert p.expected.startswith(f"valid TOML syntax ({said}"), p


def test_toml_error_at_end_of_file_names_the_last_line(tmp_path):
    (p,) = problems_of(write(tmp_path / "bad.toml", '[run]\nseed = 1\noutput = "out'))
    assert p.field.startswith("line 3,") and "TOML" in p.expected


def test_json_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path / "bad.json", '{\n  "run": {\n    "seed": 1,\n  }\n}\n')
    (p,) = problems_of(path)
    assert p.file == path.as_posix()
    assert p.field == "line 4, column 3"
    assert p.value == "}"
    assert "valid JSON syntax" in p.expected and "double quotes" in p.expected


def test_a_json_key_given_twice_is_refused_naming_where(tmp_path):
    """json.loads keeps the last of a repeated key silently; TOML refuses one. Each is named
    by its field path (its parent's path and the key), with the values given."""
    text = (
        '{"run": {"frames": 3, "frames": 5},\n "cameras": [{"name": "cam", "location": [0, -2, 1], "name": "b"}],\n'
        ' "asset_list": "a.json", "asset_list": "a.json"}'
    )
    path = write(tmp_path / "p.json", text)
    found = by_field(problems_of(path))
    here = path.as_posix()
    assert set(found) == {(here, "run.frames"), (here, "cameras[0].name"), (here, "asset_list")}
    assert str(found[(here, "run.frames")]) == (
        f"{here}: run.frames: got 3 and 5; expected the key once in its table (JSON readers differ on which value counts)"
    )
    assert 'got "cam" and "b"' in str(found[(here, "cameras[0].name")])
    # in an asset list: named against the list's file
    lst = write(tmp_path / "a.json", '{"assets": [{"name": "x", "primitive": "cube", "primitive": "sphere"}]}')
    (p,) = problems_of(write(tmp_path / "q.toml", 'asset_list = "a.json"\n' + CAMERA))
    assert (p.file, p.field) == (lst.as_posix(), "assets[0].primitive")
    # a key repeated in two different tables is no repetition
    two = '"cameras": [{"name": "a", "location": [0, -2, 1]}, {"name": "b", "location": [0, -2, 1]}]'
    load_config(write(tmp_path / "ok.json", "{" + two + "}"))


CAMERA_JSON = '"cameras": [{"name": "cam", "location": [0, -2, 1]}]'


@pytest.mark.parametrize("name", ["p.toml", "p.json"])
def test_a_byte_order_mark_is_read_past_and_the_file_left_as_it_is(tmp_path, name):
    """Windows Notepad starts a UTF-8 file with a byte-order mark: the file just works (it was
    a syntax error at line 1, column 1) and is not modified."""
    text = CAMERA if name.endswith(".toml") else "{" + CAMERA_JSON + "}"
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    before = path.read_bytes()
    plain = load_config(write(tmp_path / "plain" / name, text))
    assert load_config(path).cameras == plain.cameras
    assert path.read_bytes() == before
    # a bad byte after the mark is still counted from the file's first byte
    path.write_bytes(b"\xef\xbb\xbf" + b"\n\xff")
    (p,) = problems_of(path)
    assert p.value.startswith("byte 4:") and "UTF-8" in p.expected


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_file_is_said_to_be_utf16(tmp_path, encoding):
    """Windows PowerShell 5's > and Out-File write UTF-16: with its byte-order mark the file
    was 'byte 0: invalid start byte', without one a TOML syntax error at a NUL byte whose
    line showed every other character as \\u0000; either is now said as UTF-16 text."""
    for name, text in (("p.toml", CAMERA), ("p.json", "{" + CAMERA_JSON + "}")):
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        (p,) = problems_of(path)
        assert p.field == "" and "UTF-16" in p.value and "save the file as UTF-8" in p.value, p
        assert p.expected == "a text file in UTF-8"
        start = 1 if encoding == "utf-16-le" else 0  # its first NUL, else the mark
        assert p.value.startswith(f"byte {start}:"), p


def test_unreadable_files(tmp_path):
    (p,) = problems_of(tmp_path / "none.toml")
    assert p.file == (tmp_path / "none.toml").as_posix() and "an existing file" in p.expected
    (p,) = problems_of(write(tmp_path / "p.yaml", "run: {}\n"))
    assert ".toml or .json" in p.expected
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe[run]")
    (p,) = problems_of(binary)
    assert "UTF-8" in p.expected
    (p,) = problems_of(write(tmp_path / "list.json", "[1, 2]"))
    assert "table" in p.expected and p.value == [1, 2]


def test_a_symbolic_link_loop_is_a_problem_not_a_traceback(tmp_path):
    """A parameter file, asset, asset list, .blend or texture folder that is a link loop
    (a.glb -> b.glb -> a.glb): the usual problem naming the field (before: RuntimeError
    'Symlink loop' from Path.resolve, a traceback from validate and render)."""
    for name in ("loop.toml", "loop.glb", "list.toml", "loop.blend", "textures"):
        (tmp_path / f"{name}.other").symlink_to(tmp_path / name)
        (tmp_path / name).symlink_to(tmp_path / f"{name}.other")
    (p,) = problems_of(tmp_path / "loop.toml")
    assert "symbolic links" in p.expected and p.file == (tmp_path / "loop.toml").as_posix()
    texture = '[[randomizers]]\ntype = "texture"\ntargets = "a*"\nfolder = "textures"\n'
    for text, field in (
        ('[[assets]]\nname = "a"\nfile = "loop.glb"\n', "assets[0].file"),
        ('asset_list = "list.toml"\n', "asset_list"),
        ('[scene]\nblend = "loop.blend"\n', "scene.blend"),
        ('[[assets]]\nname = "a"\nprimitive = "cube"\n' + texture, "randomizers[0].folder"),
    ):
        p = one_problem(tmp_path, text + CAMERA)
        assert p.field == field and "existing" in p.expected, p


# ------------------------------------------------------------------ single fields


def one_problem(tmp_path, text: str) -> Problem:
    problems = problems_of(write(tmp_path / "p.toml", text))
    assert len(problems) == 1, problems
    return problems[0]


@pytest.mark.parametrize(
    "key, words",
    [
        ("project_uvw = true", "projected in the object's own space"),
        ("per_sub_mesh = true", "per_sub_mesh has no counterpart"),
        # was "the name for what is 'scale' here", whose value is one number, per metre
        ("texture_scale = [2, 2]", "texture_scale (a (u, v) factor of the UVs) is `scale` here, one number"),
    ],
)
def test_replicators_texture_options_are_answered(tmp_path, key, words):
    """Replicator's texture(project_uvw=True, per_sub_mesh=True) were met with a bare 'a known key'."""
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "wood.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    text = f'[[randomizers]]\ntype = "texture"\ntargets = "*"\nfolder = "tex"\n{key}\n'
    p = one_problem(tmp_path, text + CAMERA)
    assert p.field == f"randomizers[0].{key.split()[0]}" and words in p.expected, p.expected


def test_resolution_or_width_and_height(tmp_path):
    cfg = load_config(write(tmp_path / "a.toml", "[render]\nwidth = 800\n" + CAMERA))
    assert (cfg.render.width, cfg.render.height) == (800, 480)
    p = one_problem(tmp_path, "[render]\nresolution = [800, 600]\nheight = 600\n" + CAMERA)
    assert p.field == "render.height" and "not both" in p.expected
    p = one_problem(tmp_path, "[render]\nresolution = [800.5, 600]\n" + CAMERA)
    assert p.field == "render.resolution" and p.value == [800.5, 600] and "whole numbers >= 4" in p.expected
    p = one_problem(tmp_path, "[render]\nresolution = [800]\n" + CAMERA)
    assert p.field == "render.resolution" and "a list of 2" in p.expected
    p = one_problem(tmp_path, "[render]\nheight = 0\n" + CAMERA)
    assert p.field == "render.height" and p.value == 0


def test_cameras_are_required(tmp_path):
    p = one_problem(tmp_path, "[run]\nseed = 1\n")
    assert p.field == "cameras" and "at least one" in p.expected
    p = one_problem(tmp_path, "cameras = []\n")
    assert p.field == "cameras" and p.value == []


def test_camera_look_at_or_rotation(tmp_path):
    p = one_problem(tmp_path, CAMERA + "look_at = [0, 0, 0]\nrotation = [0, 0, 0]\n")
    assert p.field == "cameras[0].rotation" and "not both" in p.expected
    p = one_problem(tmp_path, CAMERA + "clip_start = 1\nclip_end = 0.5\n")
    assert p.field == "cameras[0].clip_end"


@pytest.mark.parametrize(
    "text, field, value, words",
    [
        ('[render]\ndevice = "gpu"\n', "render.device", "gpu", ["'cuda'", "any case"]),
        ('[render]\nview_transform = "filmic"\n', "render.view_transform", "filmic", ["did you mean 'Filmic'?"]),
        ("[render]\ndenoise = 1\n", "render.denoise", 1, ["true or false"]),
        ("[scene]\nground = 3\n", "scene.ground", 3, ["true, false or a table"]),
        ("[scene.world]\ncolor = [1, 2, 0]\n", "scene.world.color", [1, 2, 0], ["[0, 1]", "linear"]),
        ('[labels]\nclass = ["a", "a"]\n', "labels.class[1]", "a", ["distinct", "labels.class[0]"]),
        ('[[lights]]\nname = "l"\ntype = "spotlight"\n', "lights[0].type", "spotlight", ["'SPOT'"]),
        ('[[lights]]\nname = "l"\nenergy = -1\n', "lights[0].energy", -1, [">= 0"]),
        ('[[assets]]\nname = "a"\n', "assets[0].primitive", None, ["a primitive or a file"]),
        ('[[assets]]\nname = "a"\nfile = "a.txt"\n', "assets[0].file", "a.txt", [".blend", ".glb", ".obj"]),
        ('[[assets]]\nname = "a"\nprimitive = "cube"\nlabels = { class = 3 }\n', "assets[0].labels.class", 3, []),
        ('[[assets]]\nname = "a"\nprimitive = "cube"\nroughness = 2\n', "assets[0].roughness", 2, ["<= 1"]),
        (
            '[[assets]]\nname = "x"\nprimitive = "cube"\ncount = 2\n[[assets]]\nname = "x_001"\nprimitive = "cube"\n',
            "assets[1].name",
            "x_001",
            ["not used already", "assets[0]"],
        ),
        ('[[assets]]\nname = "ground"\nprimitive = "cube"\n', "assets[0].name", "ground", ["ground"]),
        ('[[lights]]\nname = "cam"\n', "lights[0].name", "cam", ["cameras[0]"]),
        ('[[assets]]\nname = "' + "n" * 64 + '"\nprimitive = "cube"\n', "assets[0].name", "n" * 64, ["63 bytes"]),
        ('[[randomizers]]\ntype = "pose"\ntargets = []\n', "randomizers[0].targets", [], ["name pattern"]),
        ('[[randomizers]]\ntype = "world"\ntargets = "x"\n', "randomizers[0].targets", "x", ["no targets"]),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nmin_distance = "far"\n',
            "randomizers[0].min_distance",
            "far",
            ["a number >= 0"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nlocation = [0, 0]\n',
            "randomizers[0].location",
            [0, 0],
            ["3 numbers", "distribution"],
        ),
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\nroughness = { distribution = "uniform", low = [0, 0, 0], high = [1, 1, 1] }\n',
            "randomizers[0].roughness.low",
            [0, 0, 0],
            ["a number", "roughness"],
        ),
        (
            '[[randomizers]]\ntype = "visibility"\ntargets = "*"\nvisible = { distribution = "choice", values = [true, 0] }\n',
            "randomizers[0].visible.values[1]",
            0,
            ["true or false"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nlocaton = [0, 0, 0]\n',
            "randomizers[0].locaton",
            [0, 0, 0],
            ["did you mean 'location'?"],
        ),
        # k more than the values on a parameter that takes one value: "no k", not "at most 2"
        # (which, once followed, was refused as "no k")
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\n'
            'roughness = { distribution = "choice", values = [0.1, 0.2], k = 3 }\n',
            "randomizers[0].roughness.k",
            3,
            ["no k: roughness takes one value"],
        ),
        # A table without its `distribution` key (a typo, `type = "uniform"`) was said only as
        # "expected a list of 3 numbers ..., or a {distribution = ...} table": the key is named
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
            'location = { distrib = "uniform", low = [0, 0, 0], high = [1, 1, 1] }\n',
            "randomizers[0].location",
            {"distrib": "uniform", "low": [0, 0, 0], "high": [1, 1, 1]},
            ["did you mean 'distribution' for 'distrib'?"],
        ),
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\nroughness = { type = "uniform", low = 0, high = 1 }\n',
            "randomizers[0].roughness",
            {"type": "uniform", "low": 0, "high": 1},
            ['did you mean distribution = "uniform" for type = "uniform"?'],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nlocation = { low = [0, 0, 0], high = [1, 1, 1] }\n',
            "randomizers[0].location",
            {"low": [0, 0, 0], "high": [1, 1, 1]},
            ["the table has no 'distribution' key (its keys: 'low', 'high')"],
        ),
        # Replicator's / numpy's names for a distribution or its parameters: said what they
        # are here (a close spelling pointed numpy's `loc` to `low`, `combine` to `choice`).
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
            'location = { distribution = "normal", mean = [0, 0, 0], std = [1, 1, 1], loc = 1 }\n',
            "randomizers[0].location.loc",
            1,
            ["'loc' is numpy's name for what is 'mean' here"],
        ),
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\n'
            'roughness = { distribution = "combine", components = [0.1, 0.2] }\n',
            "randomizers[0].roughness.distribution",
            "combine",
            ["'combine' is Replicator's name for what is 'mixture' here"],
        ),
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\n'
            'roughness = { distribution = "choice", values = [0.1, 0.2], choices = [0.3] }\n',
            "randomizers[0].roughness.choices",
            [0.3],
            ["'choices' is Replicator's name for what is 'values' here"],
        ),
        # BlenderProc's samplers with no distribution of that name (upper_region, sphere,
        # part_sphere) were met with the bare list of distributions
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
            'location = { distribution = "upper_region", min_height = 1, max_height = 4 }\n',
            "randomizers[0].location.distribution",
            "upper_region",
            ["sampler.upper_region", '`volume = "box"`'],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
            'location = { distribution = "sphere", center = [0, 0, 0], radius = 2 }\n',
            "randomizers[0].location.distribution",
            "sphere",
            ["sampler.sphere is a `shell`"],
        ),
        # BlenderProc's uniformSO3(around_x=False, ...) limited to some axes
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
            'rotation = { distribution = "uniform_rotation", around_x = false }\n',
            "randomizers[0].rotation.around_x",
            False,
            ["around_z alone is `[0, 0, {"],
        ),
        # Replicator's rep.randomizer.rotation: a bare list of types
        (
            '[[randomizers]]\ntype = "rotation"\ntargets = "*"\n',
            "randomizers[0].type",
            "rotation",
            ["rep.randomizer.rotation(min_angle, max_angle)", "is 'pose' here"],
        ),
        # Replicator's randomizer names: `materials` is a swap, not our `material` (colours)
        (
            '[[randomizers]]\ntype = "materials"\ntargets = "*"\n',
            "randomizers[0].type",
            "materials",
            ["rep.randomizer.materials is 'material_swap' here"],
        ),
        # rep.modify.material binds a material (a swap): it was said to be 'material' (colours)
        (
            '[[randomizers]]\ntype = "rep.modify.material"\ntargets = "*"\n',
            "randomizers[0].type",
            "rep.modify.material",
            ["rep.modify.material (a material bound to the prims) is 'material_swap' here"],
        ),
        (
            '[[randomizers]]\ntype = "rep.modify.pose_camera_relative"\ntargets = "*"\n',
            "randomizers[0].type",
            "rep.modify.pose_camera_relative",
            ["rep.modify.pose_camera_relative is 'camera_relative' here"],
        ),
        (
            '[[randomizers]]\ntype = "camera_relative"\ntargets = "*"\ndepth = 2\nhorizontal_location = 0.5\n',
            "randomizers[0].horizontal_location",
            0.5,
            ["are `x` and `y` here: 0 .. 1 from the image's left and top edges"],
        ),
        (
            '[[randomizers]]\ntype = "camera_relative"\ntargets = "*"\ndepth = 2\ndistance = 3\n',
            "randomizers[0].distance",
            3,
            ["distance (from the camera) is `depth` here"],
        ),
        (
            '[[randomizers]]\ntype = "color"\ntargets = "*"\n',
            "randomizers[0].type",
            "color",
            ["is 'material' here"],
        ),
        # Replicator's names for a randomizer's keys: rep.modify.pose's `position` was pointed
        # to `rotation` (did you mean), scatter_2d's `surface_prims` to nothing
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nposition = [0, 0, 1]\n',
            "randomizers[0].position",
            [0, 0, 1],
            ["'position' is Replicator's name for what is 'location' here"],
        ),
        (
            '[[randomizers]]\ntype = "scatter"\ntargets = "*"\nsurface_prims = "table"\n',
            "randomizers[0].surface_prims",
            "table",
            ["'surface_prims' is Replicator's scatter_2d's name for what is 'surface' here"],
        ),
        # scatter_2d's min_samp / max_samp and a randomizer's input_prims: a bare 'a known key'
        (
            '[[randomizers]]\ntype = "scatter"\ntargets = "*"\nsurface = "table"\nmin_samp = [-1, -1, 0]\n',
            "randomizers[0].min_samp",
            [-1, -1, 0],
            ["scatter_2d(min_samp=..., max_samp=...)", "`center` = (min_samp + max_samp) / 2"],
        ),
        (  # was 'did you mean rotation?'
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nrotation_order = "ZYX"\n',
            "randomizers[0].rotation_order",
            "ZYX",
            ["rotation_order=...) has no counterpart: `rotation` is XYZ Euler in degrees"],
        ),
        (
            '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nrotation_order = "XYZ"\n',
            "randomizers[0].rotation_order",
            "XYZ",
            ["Replicator's default order (USD's rotateXYZ"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\ninput_prims = "cube*"\n',
            "randomizers[0].input_prims",
            "cube*",
            ["'input_prims' is Replicator's (the prims a randomizer changes) name for what is 'targets' here"],
        ),
        (
            '[[lights]]\nname = "l"\n[[randomizers]]\ntype = "light"\ntargets = "l"\nintensity = 3000\n',
            "randomizers[0].intensity",
            3000,
            ["what is 'energy' here (in watts"],
        ),
        # Replicator's triggers (rep.trigger.on_time / on_frame) as a randomizer's keys or its
        # trigger: on_time, num_frames and rt_subframes were met with a bare 'a known key',
        # trigger = "time" with 'one of frame, once'; each now says what it is here
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\ntrigger = "on_time"\n',
            "randomizers[0].trigger",
            "on_time",
            ["on_time(interval=s) draws every s seconds", "`sequence.clip_length` = s x `sequence.fps`"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\non_time = 2\n',
            "randomizers[0].on_time",
            2,
            ["here triggers count frames: `interval = N`"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nnum_frames = 10\n',
            "randomizers[0].num_frames",
            10,
            ["`run.frames = N * k` with `interval = k`"],
        ),
        # Replicator's on_custom_event and rep.modify.semantics, which have no counterpart,
        # were met with 'one of frame, once', 'a known key' and a list of types alone
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\ntrigger = "on_custom_event"\n',
            "randomizers[0].trigger",
            "on_custom_event",
            ["on_custom_event(event_name) fires when its script sends the event", "`interval = N`"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\non_custom_event = "go"\n',
            "randomizers[0].on_custom_event",
            "go",
            ["a parameter file runs no script to send one"],
        ),
        (
            '[[randomizers]]\ntype = "rep.modify.semantics"\ntargets = "*"\n',
            "randomizers[0].type",
            "rep.modify.semantics",
            ["rep.modify.semantics (labels changing per frame) has no counterpart", "with a `pool`"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nrt_subframes = 16\n',
            "randomizers[0].rt_subframes",
            16,
            ["rt_subframes has no counterpart"],
        ),
        # A problem inside a required parameter's distribution (a pool's k, a property's
        # value, camera_relative's depth) was said twice: at the sub-field, then the
        # parameter again as missing ('k: expected how many targets to show ...')
        (
            '[[randomizers]]\ntype = "pool"\ntargets = "*"\nk = { distribution = "uniform_int", low = 3, high = 1 }\n',
            "randomizers[0].k.high",
            1,
            ["values >= low (3)"],
        ),
        (
            '[[randomizers]]\ntype = "camera_relative"\ntargets = "*"\n'
            'depth = { distribution = "uniform", low = 3, high = 1 }\n',
            "randomizers[0].depth.high",
            1,
            ["values >= low (3)"],
        ),
        # a pool cycling 0 targets a frame never shows any, while the docs promise each within
        # ceil(n / k) frames: validate said OK
        (
            '[[randomizers]]\ntype = "pool"\ntargets = "*"\norder = "cycle"\nk = 0.4\n',
            "randomizers[0].k",
            0.4,
            ['at least 1, rounded, with order = "cycle"'],
        ),
        # pose's min_distance keeps the locations it draws apart: without a location it was
        # taken and never applied
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nrotation = [0, 0, 45]\nmin_distance = 1\n',
            "randomizers[0].min_distance",
            1,
            ["0 without a `location`"],
        ),
        # Replicator's keys of scatter_2d / scatter_3d, instantiate, texture, choice and
        # modify.pose met with a bare 'a known key' (or 'did you mean volume' for volume_prims)
        (
            '[[randomizers]]\ntype = "scatter"\ntargets = "*"\nsurface = "t"\noffset = 0.1\n',
            "randomizers[0].offset",
            0.1,
            ["scatter_2d offset", "rests on the surface by its lowest point"],
        ),
        (
            '[[randomizers]]\ntype = "scatter"\ntargets = "*"\nsurface = "t"\ncheck_for_collisions = true\n',
            "randomizers[0].check_for_collisions",
            True,
            ["always on here"],
        ),
        (
            '[[randomizers]]\ntype = "scatter"\ntargets = "*"\nmode_on_failure = "last_pose"\n',
            "randomizers[0].mode_on_failure",
            "last_pose",
            ["is hidden for the frame", "neither left intersecting (last_pose)"],
        ),
        (
            '[[randomizers]]\ntype = "scatter"\ntargets = "*"\nobjects_to_check_collisions = ["table"]\n',
            "randomizers[0].objects_to_check_collisions",
            ["table"],
            ["name for what is 'avoid' here"],
        ),
        (
            '[[randomizers]]\ntype = "scatter"\ntargets = "*"\nvolume_prims = "box"\n',
            "randomizers[0].volume_prims",
            "box",
            ["a box or a sphere"],
        ),
        (
            '[[randomizers]]\ntype = "pool"\ntargets = "*"\nk = 2\nsize = 2\n',
            "randomizers[0].size",
            2,
            ["'size' is Replicator's instantiate's name for what is 'k' here"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nlocation = { distribution = "choice", '
            "values = [[0, 0, 0], [1, 1, 1]], num_samples = 2 }\n",
            "randomizers[0].location.num_samples",
            2,
            ["'num_samples' is Replicator's name for what is 'k' here"],
        ),
        # Replicator's with_replacements was said to be `replace`, which a choice takes with k
        # alone (a list per target): replace = false then met 'only together with k'
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\ncolor = { distribution = "choice", '
            "values = [[1, 0, 0], [0, 1, 0]], with_replacements = false }\n",
            "randomizers[0].color.with_replacements",
            False,
            ["so no two prims share one; that has no counterpart here", "distinct unless `replace = true`"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nsize = 2\n',
            "randomizers[0].size",
            2,
            ["rep.modify.pose(size=...)", "an asset's `size`"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nlook_at = [0, 0, 0]\n',
            "randomizers[0].look_at",
            [0, 0, 0],
            ["objects take a `rotation`"],
        ),
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\ndiffuse = [1, 0, 0]\n',
            "randomizers[0].diffuse",
            [1, 0, 0],
            ["what is 'color' here"],
        ),
        # BlenderProc's simulate_physics_and_fix_final_poses and its options: each was answered
        # with a did-you-mean ('physics_settle' nowhere; max_simulation_time: 'max_steps'
        # unsaid, in steps, not seconds)
        (
            '[[randomizers]]\ntype = "simulate_physics_and_fix_final_poses"\ntargets = "*"\n',
            "randomizers[0].type",
            "simulate_physics_and_fix_final_poses",
            ["simulate_physics_and_fix_final_poses (the objects it drops: `targets`", "is 'physics_settle' here"],
        ),
        (
            '[[randomizers]]\ntype = "physics_settle"\ntargets = "*"\nmax_simulation_time = 40\n',
            "randomizers[0].max_simulation_time",
            40,
            ["name for what is 'max_steps' here, in steps of a scene frame, not seconds", "max_steps = 960"],
        ),
        (
            '[[randomizers]]\ntype = "physics_settle"\ntargets = "*"\nobject_stopped_location_threshold = 0.01\n',
            "randomizers[0].object_stopped_location_threshold",
            0.01,
            ["name for what is 'rest_speed' here (metres per second"],
        ),
        (
            '[[randomizers]]\ntype = "physics_settle"\ntargets = "*"\nmin_simulation_time = 4\n',
            "randomizers[0].min_simulation_time",
            4,
            ["there is no minimum time here"],
        ),
        (
            '[[randomizers]]\ntype = "physics_settle"\ntargets = "*"\ncheck_object_interval = 2\n',
            "randomizers[0].check_object_interval",
            2,
            ["the rest check runs at every step"],
        ),
        # Replicator's per-node seeds: one seed drives the run here
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nseed = 3\n',
            "randomizers[0].seed",
            3,
            ["`run.seed`"],
        ),
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\n'
            'roughness = { distribution = "uniform", low = 0, high = 1, seed = 3 }\n',
            "randomizers[0].roughness.seed",
            3,
            ["`run.seed`"],
        ),
        # Replicator's light types: what each is here
        ('[[lights]]\nname = "l"\ntype = "Sphere"\n', "lights[0].type", "Sphere", ["Sphere is POINT"]),
        (
            '[[lights]]\nname = "l"\n[[randomizers]]\ntype = "light"\ntargets = "l"\nlight_type = "Rect"\n',
            "randomizers[0].light_type",
            "Rect",
            ["Rect and Disk AREA"],
        ),
        # Replicator's names for the keys of rep.create.camera / light / from_usd and its render
        # settings: a camera's and an asset's `position` was pointed to 'projection' / 'rotation',
        # light_type, intensity, semantics, clipping_range... met with a bare 'a known key'
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nposition = [0, -5, 1]\n',
            "cameras[0].position",
            [0, -5, 1],
            ["'position' is Replicator's name for what is 'location' here"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nclipping_range = [0.1, 100]\n',
            "cameras[0].clipping_range",
            [0.1, 100],
            ["`clip_start` and `clip_end`"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nhorizontal_aperture = 20.955\n',
            "cameras[0].horizontal_aperture",
            20.955,
            ["is `sensor_width` here"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nprojection_type = "pinhole"\n',
            "cameras[0].projection_type",
            "pinhole",
            ["is `projection` here"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nf_stop = 0\n',
            "cameras[0].f_stop",
            0,
            ["a `sensor` randomizer's `f_stop`"],
        ),
        ('[[lights]]\nname = "l"\nlight_type = "Sphere"\n', "lights[0].light_type", "Sphere", ['Sphere is "point"']),
        ('[[lights]]\nname = "l"\nintensity = 3000\n', "lights[0].intensity", 3000, ["is `energy` here, in watts"]),
        ('[[lights]]\nname = "l"\nposition = [0, 0, 3]\n', "lights[0].position", [0, 0, 3], ["what is 'location'"]),
        (
            '[[lights]]\nname = "l"\ntemperature = 6500\n',
            "lights[0].temperature",
            6500,
            ["a `light` randomizer's `temperature`"],
        ),
        (
            '[[assets]]\nname = "a"\nprimitive = "cube"\nposition = [0, 0, 1]\n',
            "assets[0].position",
            [0, 0, 1],
            ["what is 'location'"],
        ),
        (
            '[[assets]]\nname = "a"\nprimitive = "cube"\nsemantics = [["class", "a"]]\n',
            "assets[0].semantics",
            [["class", "a"]],
            ['`labels = { class = "mug" }`'],
        ),
        ("[render]\nsamples_per_pixel = 4\n", "render.samples_per_pixel", 4, ["is `samples` here"]),
        # Replicator's randomizer.color(colors=...): 'did you mean color'
        (
            '[[randomizers]]\ntype = "material"\ntargets = "*"\ncolors = [1, 0, 0]\n',
            "randomizers[0].colors",
            [1, 0, 0],
            ["randomizer.color's name for what is 'color' here"],
        ),
        # BlenderProc's renderer.set_* and camera.set_intrinsics_* arguments: a bare 'a known key', or
        # light_bounces 'did you mean volume_bounces?'.
        # BlenderProc's pose names, in radians or as a matrix: 'did you mean rotation?' without
        # the unit, or a bare 'a known key'.
        (
            '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ninplane_rot = 0.5\n',
            "randomizers[0].inplane_rot",
            0.5,
            ["what is 'roll' here", "radians x 57.2958"],
        ),
        (
            '[[randomizers]]\ntype = "camera"\ntargets = "cam"\npoi = [0, 0, 0]\n',
            "randomizers[0].poi",
            [0, 0, 0],
            ["what is 'look_at' here", "`look_at_objects`"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nrotation_euler = [1.3, 0, 0]\n',
            "randomizers[0].rotation_euler",
            [1.3, 0, 0],
            ["what is 'rotation' here", "degrees", "radians x 57.2958"],
        ),
        (
            '[[assets]]\nname = "a"\nprimitive = "cube"\nrotation_euler = [1.3, 0, 0]\n',
            "assets[0].rotation_euler",
            [1.3, 0, 0],
            ["`rotation` here", "radians x 57.2958"],
        ),
        (
            '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ncam2world_matrix = [[1, 0], [0, 1]]\n',
            "randomizers[0].cam2world_matrix",
            [[1, 0], [0, 1]],
            ["4 x 4 matrix", "`location` and `rotation`", "`sequence`"],
        ),
        # BlenderProc's category_id on an object, its load_obj path, its light radius: a bare
        # 'a known key' or 'did you mean objects?'.
        (
            '[[assets]]\nname = "a"\nprimitive = "cube"\ncategory_id = 3\n',
            "assets[0].category_id",
            3,
            ['labels = { class = "3" }', '[labels] class = ["1", "2", "3"]'],
        ),
        (
            '[[assets]]\nname = "a"\nprimitive = "cube"\nobj = "scene.obj"\n',
            "assets[0].obj",
            "scene.obj",
            ["load_obj(path) is `file` here"],
        ),
        ('[[lights]]\nname = "l"\nradius = 0.1\n', "lights[0].radius", 0.1, ["light radius is `size` here"]),
        # Blender's own names and a lens asked of the camera entry: a bare 'a known key'.
        ('[[lights]]\nname = "l"\ntype = "sun"\nangle = 2\n', "lights[0].angle", 2, ["randomizer's `size`"]),
        (
            '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nfov = 60\n',
            "randomizers[0].fov",
            60,
            ["a `sensor` randomizer's `fov`"],
        ),
        (
            '[[randomizers]]\ntype = "sensor"\ntargets = "cam"\nfocus_object = "a"\n',
            "randomizers[0].focus_object",
            "a",
            ["is `focus_target` here"],
        ),
        (
            '[[lights]]\nname = "l"\n[[randomizers]]\ntype = "light"\ntargets = "l"\nangle = 2\n',
            "randomizers[0].angle",
            2,
            ["angular diameter in degrees"],
        ),
        # A spot's cone: 'did you mean size?', the spot's radius (a size = 30 is a 30 m light).
        ('[[lights]]\nname = "l"\nspot_size = 30\n', "lights[0].spot_size", 30, ["path = 'data.spot_size'"]),
        (
            '[[lights]]\nname = "l"\n[[randomizers]]\ntype = "light"\ntargets = "l"\nspot_blend = 0.5\n',
            "randomizers[0].spot_blend",
            0.5,
            ["`size` is a spot's radius", "'data.spot_blend' (0 .. 1)"],
        ),
        # BlenderProc's texture and HDRI calls as randomizer types: 'did you mean material?' or
        # the bare list.
        (
            '[[randomizers]]\ntype = "load_ccmaterials"\ntargets = "*"\n',
            "randomizers[0].type",
            "load_ccmaterials",
            ["is 'texture' here", '`normal_suffix = "_NormalGL"`'],
        ),
        (
            '[[randomizers]]\ntype = "set_world_background_hdr_img"\n',
            "randomizers[0].type",
            "set_world_background_hdr_img",
            ["is 'world_hdri' here"],
        ),
        ("[render]\nmax_amount_of_samples = 50\n", "render.max_amount_of_samples", 50, ["is `samples` here"]),
        # BlenderProc's enable_motion_blur / add_depth_of_field and Blender's render settings as keys:
        # a bare 'a known key' (or 'did you mean resolution?' for a percentage).
        (
            "[render]\nmotion_blur_length = 0.5\n",
            "render.motion_blur_length",
            0.5,
            ["a `sensor` randomizer's `shutter`", "masks, depth and normals are of the frame's instant"],
        ),
        ("[render]\nuse_motion_blur = true\n", "render.use_motion_blur", True, ["`shutter`"]),
        ("[render]\nfilter_width = 1.0\n", "render.filter_width", 1.0, ["Film > Pixel Filter", "pixel's centre"]),
        (
            "[render]\nresolution_percentage = 50\n",
            "render.resolution_percentage",
            50,
            ["in those pixels", "resolution = [960, 540]"],
        ),
        ("[render]\npixel_aspect_x = 2\n", "render.pixel_aspect_x", 2, ["`fy` other than its `fx`"]),
        ("[render]\nuse_adaptive_sampling = true\n", "render.use_adaptive_sampling", True, ["`noise_threshold`"]),
        ("[render]\ntime_limit = 3\n", "render.time_limit", 3, ["every frame takes `samples`"]),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -2, 1]\nfstop_value = 2.8\n',
            "cameras[0].fstop_value",
            2.8,
            ["`f_stop` (its fstop_value)", "`focus_target`"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -2, 1]\naperture_blades = 6\n',
            "cameras[0].aperture_blades",
            6,
            ["no key here"],
        ),
        ("[render]\nlight_bounces = 3\n", "render.light_bounces", 3, ["`max_bounces`", "`diffuse_bounces`"]),
        (
            "[render]\nenable_transparency = true\n",
            "render.enable_transparency",
            True,
            ["`film_transparent = true`"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -2, 1]\nfov = 1\n',
            "cameras[0].fov",
            1,
            ["radians", "focal_length = sensor_width / 2 / tan(fov / 2)"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -2, 1]\nK = [[50, 0, 32], [0, 50, 24], [0, 0, 1]]\n',
            "cameras[0].K",
            [[50, 0, 32], [0, 50, 24], [0, 0, 1]],
            ["`fx`, `fy`, `cx`, `cy`", "add 0.5"],
        ),
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -2, 1]\nresolution = [64, 48]\n',
            "cameras[0].resolution",
            [64, 48],
            ["`width` and `height`", "`render.resolution`"],
        ),
        # rep.create.light(scale=..., rotation=..., texture=...) as a light randomizer's keys: 'a known key',
        # 'did you mean location / temperature?'
        (
            '[[lights]]\nname = "l"\n[[randomizers]]\ntype = "light"\ntargets = "l"\nscale = 2\n',
            "randomizers[0].scale",
            2,
            ["a light's extent is `size` here"],
        ),
        (
            '[[lights]]\nname = "l"\n[[randomizers]]\ntype = "light"\ntargets = "l"\nrotation = [0, 0, 0]\n',
            "randomizers[0].rotation",
            [0, 0, 0],
            ["aimed by `look_at`"],
        ),
        (
            '[[lights]]\nname = "l"\n[[randomizers]]\ntype = "light"\ntargets = "l"\ntexture = "sky.hdr"\n',
            "randomizers[0].texture",
            "sky.hdr",
            ["a `world_hdri` randomizer"],
        ),
        # rep.randomizer.materials(materials=[...]): 'str: a glob', the names' way (material, a choice) unsaid
        (
            '[[randomizers]]\ntype = "material_swap"\ntargets = "*"\nmaterials = ["Wood", "Steel"]\n',
            "randomizers[0].materials",
            ["Wood", "Steel"],
            ['`material = { distribution = "choice", values = ["Wood", "Steel"] }`'],
        ),
        # Replicator's num_samples on a uniform and sequence(ordered=...): a bare 'a known parameter'
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
            'scale = { distribution = "uniform", low = 1, high = 2, num_samples = 3 }\n',
            "randomizers[0].scale.num_samples",
            3,
            ["each target draws its own value"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\n'
            'scale = { distribution = "sequence", values = [1, 2], ordered = true }\n',
            "randomizers[0].scale.ordered",
            True,
            ["always in order"],
        ),
        # Replicator's writers by their registry names: 'did you mean kitti?' at best, nothing for
        # CocoWriter and the pose writers
        ("[writers.CocoWriter]\n", "writers.CocoWriter", "CocoWriter", ["CocoWriter is the `coco` writer"]),
        ("[writers.DOPEWriter]\n", "writers.DOPEWriter", "DOPEWriter", ["the `object_pose` and `bounding_box_3d`"]),
        # rep.get.prims(semantics=[("class", "cube")]) as targets: its pairs, not what it is here
        (
            '[[randomizers]]\ntype = "pose"\ntargets = { semantics = [["class", "cube"]] }\n',
            "randomizers[0].targets.semantics",
            [["class", "cube"]],
            ['is targets = { class = "cube" } here'],
        ),
        # a LiDAR's position: 'did you mean rotation?'
        (
            '[[lidars]]\nname = "l"\nposition = [0, 0, 2]\n',
            "lidars[0].position",
            [0, 0, 2],
            ["'position' is Replicator's name for what is 'location' here"],
        ),
        # rep.create.cube(visible=..., material=...): a bare 'a known key'
        (
            '[[assets]]\nname = "a"\nprimitive = "cube"\nvisible = false\n',
            "assets[0].visible",
            False,
            ["a `visibility` randomizer's `visible`"],
        ),
        (
            '[[assets]]\nname = "a"\nprimitive = "cube"\nmaterial = "Wood"\n',
            "assets[0].material",
            "Wood",
            ["a `material_swap` randomizer's `material`"],
        ),
        # rep.create.camera(parent=...): 'did you mean palette?'
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nparent = "rigbase"\n',
            "cameras[0].parent",
            "rigbase",
            ["is `rig` here"],
        ),
        # Replicator's projection "pinhole": 'one of perspective, orthographic', which is it unsaid
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nprojection = "pinhole"\n',
            "cameras[0].projection",
            "pinhole",
            ["Replicator's pinhole is perspective"],
        ),
        # rep.create.camera(look_at=prim): 'a list of 3 numbers', look_at_objects unsaid
        (
            '[[cameras]]\nname = "c"\nlocation = [0, -5, 1]\nlook_at = "cube"\n',
            "cameras[0].look_at",
            "cube",
            ["a `camera` randomizer's `look_at_objects`"],
        ),
        # Replicator's rt_subframes and render_mode in [render], on_frame's num_frames in [run]: a bare
        # 'a known key', 'did you mean frames' (which counts frames, not triggers)
        ("[render]\nrt_subframes = 4\n", "render.rt_subframes", 4, ["rt_subframes has no counterpart"]),
        ('[render]\nrender_mode = "PathTracing"\n', "render.render_mode", "PathTracing", ["path-traced by Cycles"]),
        ("[run]\nnum_frames = 3\n", "run.num_frames", 3, ["`run.frames = N * k` with `interval = k`"]),
        ("[run]\nmax_execs = 3\n", "run.max_execs", 3, ["on_frame(max_execs=N, interval=k)"]),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\nmax_execs = 10\n',
            "randomizers[0].max_execs",
            10,
            ["`run.frames = N * k` with `interval = k`"],
        ),
        # Replicator's rep.create.plane(scale=...) as the ground's scale, and a per-axis scale of an
        # asset (scale=(4, 4, 1)): 'a known key' / 'a number', the per-axis way unsaid
        ("[scene]\nground = { scale = 10 }\n", "scene.ground.scale", 10, ["the ground's extent is `size`"]),
        (
            '[[assets]]\nname = "a"\nprimitive = "plane"\nscale = [4, 4, 1]\n',
            "assets[0].scale",
            [4, 4, 1],
            ["a `pose` randomizer's `scale = [x, y, z]`"],
        ),
        # Replicator's randomizers written as its calls (rep.modify.pose, randomizer.scatter_2d) and
        # rep.modify.attribute: a bare 'a known randomizer type'
        (
            '[[randomizers]]\ntype = "rep.modify.pose"\ntargets = "*"\n',
            "randomizers[0].type",
            "rep.modify.pose",
            ["Replicator's rep.modify.pose is 'pose' here"],
        ),
        (
            '[[randomizers]]\ntype = "randomizer.scatter_2d"\ntargets = "*"\n',
            "randomizers[0].type",
            "randomizer.scatter_2d",
            ["is 'scatter' here"],
        ),
        (
            '[[randomizers]]\ntype = "modify.attribute"\ntargets = "*"\n',
            "randomizers[0].type",
            "modify.attribute",
            ["rep.modify.attribute (a data path, `path`) is 'property' here"],
        ),
        # Replicator's instantiate(mode=...) was told 'did you mean order?'; use_cache and pose's pivot a
        # bare 'a known key'
        (
            '[[randomizers]]\ntype = "pool"\ntargets = "*"\nk = 1\nmode = "scene_instance"\n',
            "randomizers[0].mode",
            "scene_instance",
            ["instantiate(mode=...)", "has no counterpart"],
        ),
        (
            '[[randomizers]]\ntype = "pool"\ntargets = "*"\nk = 1\nuse_cache = true\n',
            "randomizers[0].use_cache",
            True,
            ["instantiate(use_cache=...)"],
        ),
        (
            '[[randomizers]]\ntype = "pose"\ntargets = "*"\npivot = [0, 0, 0]\n',
            "randomizers[0].pivot",
            [0, 0, 0],
            ["about the object's origin"],
        ),
        # rep.modify.pose(look_at=prim): a camera randomizer's look_at an object's name was told
        # only 'a list of 3 numbers', look_at_objects unsaid
        (
            '[[randomizers]]\ntype = "camera"\ntargets = "*"\nlook_at = "cube"\n',
            "randomizers[0].look_at",
            "cube",
            ['`look_at_objects = "cube"`'],
        ),
        # Replicator's annotator init_params (colorize, semantic_types, semantic_filter_predicate) and
        # its skeleton_data: 'a known key' / 'did you mean semantic_type' / a bare unknown annotator
        (
            "[annotators]\nsemantic_segmentation = { colorize = false }\n",
            "annotators.semantic_segmentation.colorize",
            False,
            ["[writers.basic] colorize_semantic_segmentation = true (or false)"],
        ),
        (
            "[annotators]\ndistance_to_camera = { colorize = true }\n",
            "annotators.distance_to_camera.colorize",
            True,
            ["no key here: ", "colorize_depth"],
        ),
        (
            '[annotators]\nsemantic_segmentation = { semantic_types = ["class"] }\n',
            "annotators.semantic_segmentation.semantic_types",
            ["class"],
            ["semantic_types is `semantic_type` here"],
        ),
        (
            '[annotators]\nbounding_box_2d_tight = { semantic_filter_predicate = "class:cube" }\n',
            "annotators.bounding_box_2d_tight.semantic_filter_predicate",
            "class:cube",
            ['`semantic_filter = ["cube", "sphere"]`'],
        ),
        ("[annotators]\nskeleton_data = {}\n", "annotators.skeleton_data", "skeleton_data", ["`keypoints` projects"]),
        # BlenderProc's render_optical_flow and the plain name: a bare unknown annotator before
        (
            "[annotators]\noptical_flow = {}\n",
            "annotators.optical_flow",
            "optical_flow",
            ["`forward_flow` and `backward_flow` here", "`motion_vectors` ([..., 2:4] its forward_flow"],
        ),
        (
            "[annotators]\nrender_optical_flow = {}\n",
            "annotators.render_optical_flow",
            "render_optical_flow",
            ["render_optical_flow"],
        ),
        # BlenderProc's hdf5 keys nocs (render_nocs) and diffuse: a bare unknown annotator before
        ("[annotators]\nnocs = {}\n", "annotators.nocs", "nocs", ["render_nocs", "`object_coordinates`"]),
        ("[annotators]\nrender_nocs = {}\n", "annotators.render_nocs", "render_nocs", ["`object_coordinates`"]),
        ("[annotators]\ndiffuse = {}\n", "annotators.diffuse", "diffuse", ["albedo", "no annotator here"]),
        ("[annotators]\nrgb = { foo = 1 }\n", "annotators.rgb.foo", 1, ["takes no keys"]),
        ('[writers]\nbasic = { frame_padding = "4" }\n', "writers.basic.frame_padding", "4", ["whole number"]),
        ("[writers]\nbasik = {}\n", "writers.basik", "basik", ["did you mean 'basic'?"]),
        # Replicator's BasicWriter(rgb=True, output_dir=..., semantic_types=...) written as
        # writer options: the error says where each belongs here, not only "a known key".
        ("[writers.basic]\nrgb = true\n", "writers.basic.rgb", True, ["annotator", "[annotators] (rgb = {})"]),
        ('[writers.basic]\noutput_dir = "out"\n', "writers.basic.output_dir", "out", ["`run.output`", "`--out`"]),
        (
            '[writers.basic]\nsemantic_types = ["class"]\n',
            "writers.basic.semantic_types",
            ["class"],
            ["annotator's `semantic_type`"],
        ),
        (
            "[writers.basic]\npointcloud_include_unlabelled = true\n",
            "writers.basic.pointcloud_include_unlabelled",
            True,
            ["pointcloud = { include_unlabelled = true }"],
        ),
        ('[writers.basic]\nimage_output_format = "jpeg"\n', "writers.basic.image_output_format", "jpeg", ["PNG only"]),
        (
            "[writers.basic]\nskeleton_data = true\n",
            "writers.basic.skeleton_data",
            True,
            ["keypoints annotator", "[annotators] keypoints = {}"],
        ),
        ('[writers.basic]\ns3_bucket = "data"\n', "writers.basic.s3_bucket", "data", ["output folder only"]),
        # BlenderProc's and Kubric's output names written as annotators: `depth` got a bare
        # list (BlenderProc's is the Z pass, Kubric's the distance along the ray).
        (
            "[annotators]\ndepth = {}\n",
            "annotators.depth",
            "depth",
            ["`distance_to_image_plane` here", "Kubric's depth", "`distance_to_camera`"],
        ),
        ("[annotators]\ncolors = {}\n", "annotators.colors", "colors", ["BlenderProc's colors are `rgb` here"]),
        (
            "[annotators]\ncategory_id_segmaps = {}\n",
            "annotators.category_id_segmaps",
            "category_id_segmaps",
            ["`semantic_segmentation` here"],
        ),
        # BlenderProc's write_coco_annotations / write_bop arguments: where each is here.
        (
            '[writers.coco]\nmask_encoding_format = "polygon"\n',
            "writers.coco.mask_encoding_format",
            "polygon",
            ["`polygons` here"],
        ),
        (
            '[writers.coco]\ncolor_file_format = "JPEG"\n',
            "writers.coco.color_file_format",
            "JPEG",
            ["`image_format` here"],
        ),
        ("[writers.bop]\njpg_quality = 90\n", "writers.bop.jpg_quality", 90, ["`jpeg_quality` here"]),
        ("[writers.bop]\nframes_per_chunk = 100\n", "writers.bop.frames_per_chunk", 100, ["`frames_per_scene`"]),
        ("[writers.bop]\nm2mm = true\n", "writers.bop.m2mm", True, ["millimetres"]),
        # BlenderProc's enable_segmentation_output / enable_depth_output arguments as annotator
        # options: a bare 'a known key' ('did you mean ...?' at best).
        (
            '[annotators]\nsemantic_segmentation = { map_by = "category_id" }\n',
            "annotators.semantic_segmentation.map_by",
            "category_id",
            ["map_by is `semantic_type` here"],
        ),
        (
            "[annotators]\ndistance_to_image_plane = { activate_antialiasing = false }\n",
            "annotators.distance_to_image_plane.activate_antialiasing",
            False,
            ["never anti-aliased here", "activate_antialiasing = False"],
        ),
        # BlenderProc's set_denoiser("INTEL"): the choices without saying which is its INTEL.
        ('[render]\ndenoiser = "INTEL"\n', "render.denoiser", "INTEL", ["BlenderProc's INTEL", "`denoise = true`"]),
        ("[writers.bop]\nsave_world2cam = false\n", "writers.bop.save_world2cam", False, ["always writes"]),
        ("[writers]\nwrite_hdf5 = {}\n", "writers.write_hdf5", "write_hdf5", ["the `hdf5` writer here"]),
        ("[writers]\ncoco_annotations = {}\n", "writers.coco_annotations", "coco_annotations", ["`coco` writer"]),
        ('[writers.coco]\ndataset = "lm"\n', "writers.coco.dataset", "lm", ["bop writer's `dataset`", "[labels]"]),
        ('[writers.coco]\nlabel_mapping = "m.csv"\n', "writers.coco.label_mapping", "m.csv", ["[labels]"]),
        ("[writers.hdf5]\nstereo_separate_keys = true\n", "writers.hdf5.stereo_separate_keys", True, ["a folder each"]),
        (
            "[writers.hdf5]\nappend_to_existing_output = true\n",
            "writers.hdf5.append_to_existing_output",
            True,
            ["--resume"],
        ),
        (
            '[writers.coco]\nsemantic_types = ["class"]\n',
            "writers.coco.semantic_types",
            ["class"],
            ["'semantic_type'?"],
        ),
        # A writer's semantic_type other than that of the boxes it reads: every row lacked
        # its label type and the run stopped at frame 0, after writing it (now before).
        (
            '[annotators]\nbounding_box_2d_tight = {}\n[writers.coco]\nsemantic_type = "category"\n',
            "writers.coco.semantic_type",
            "category",
            ["bounding_box_2d_tight annotator it reads ('class', its default)", "leave bounding_box_2d_tight out"],
        ),
        # Two writers reading one box annotator the file leaves out, with other label types:
        # the first one's type reached it, the other's rows lacked its own and the run
        # stopped at frame 0 (validate said OK).
        (
            '[annotators]\nrgb = {}\n[writers]\ncoco = { semantic_type = "kind" }\nyolo = {}\n',
            "writers.yolo.semantic_type",
            "class",
            ["semantic_type of writers.coco ('kind'), which reads the same bounding_box_2d_tight", "give both"],
        ),
        (
            '[writers]\nmot = { boxes = "visible" }\nkitti = { semantic_type = "kind" }\n',
            "writers.kitti.semantic_type",
            "kind",
            ["semantic_type of writers.mot ('class'), which reads the same bounding_box_2d_tight"],
        ),
        # COCO's semantic_type other than its keypoints': categories of the COCO type got no
        # keypoint names (they were keyed by the keypoints' labels), the annotations had them.
        (
            '[annotators]\nkeypoints = {}\nbounding_box_2d_tight = { semantic_type = "color" }\n'
            '[writers.coco]\nsemantic_type = "color"\n',
            "writers.coco.semantic_type",
            "color",
            ["keypoints annotator it reads ('class', its default)", 'keypoints = { semantic_type = "color" }'],
        ),
        # YOLO-pose likewise: its classes' keypoints are the keypoints annotator's by label.
        (
            '[annotators]\nkeypoints = {}\nbounding_box_2d_tight = { semantic_type = "color" }\n'
            '[writers.yolo]\nsemantic_type = "color"\nkeypoints = true\n',
            "writers.yolo.semantic_type",
            "color",
            ["keypoints annotator it reads ('class', its default)", 'keypoints = { semantic_type = "color" }'],
        ),
        # A line is a box with keypoints or a polygon: both are refused, at the option.
        (
            "[writers.yolo]\nsegmentation = true\nkeypoints = true\n",
            "writers.yolo.keypoints",
            True,
            ["false with segmentation = true: a YOLO line is a box with keypoints (pose) or a polygon"],
        ),
        # category_id of another label type: validate said OK and the maps gave the monkey
        # category_id 1 (UNLABELLED) while its pixels in category_id_segmaps were 2.
        (
            "[annotators]\nsemantic_segmentation = {}\ninstance_segmentation = {}\n"
            '[writers.hdf5]\nsemantic_type = "category_id"\n',
            "writers.hdf5.semantic_type",
            "category_id",
            ["semantic_segmentation annotator it reads ('class', its default)", 'semantic_type = "category_id"'],
        ),
        # hdf5's instance_attribute_maps list instance_segmentation's objects: of another label
        # type, a cone and a box without it were UNLABELLED there (id 1, absent from the maps)
        # while category_id_segmaps gave their pixels their class ids 3 and 4.
        (
            '[annotators]\nsemantic_segmentation = {}\ninstance_segmentation = { semantic_type = "shape" }\n'
            "[writers.hdf5]\n",
            "writers.hdf5.semantic_type",
            "class",
            [
                "instance_segmentation annotator it reads ('shape')",
                'instance_segmentation = { semantic_type = "class" }',
            ],
        ),
        # COCO (and YOLO-seg) cut each boxed object's mask from the instance ids, where an
        # object of another label type or outside its semantic_filter is UNLABELLED: validate
        # said OK and the json had no annotation of them (none at all for another type),
        # while KITTI and YOLO's box lines of the same run had every one.
        (
            '[annotators]\ninstance_segmentation = { semantic_filter = ["cube"] }\n[writers.coco]\n',
            "annotators.instance_segmentation.semantic_filter",
            ["cube"],
            ["[] (every object)", "bounding_box_2d_tight annotator (no semantic_filter: every object)", "writers.coco"],
        ),
        (
            '[annotators]\ninstance_segmentation = { semantic_filter = ["cube"] }\n'
            'bounding_box_2d_tight = { semantic_filter = ["cube", "ball"] }\n[writers.yolo]\nsegmentation = true\n',
            "annotators.instance_segmentation.semantic_filter",
            ["cube"],
            ['its semantic_filter ["cube", "ball"]', "the writer had the object but not its pixels"],
        ),
        # BOP's objects are object_pose's rows: one the instance ids leave out was written as
        # wholly hidden (mask_visib empty, visib_fract 0) while in view; one the amodal ids
        # leave out stopped the run at frame 0, after its first files were written.
        (
            '[annotators]\ninstance_segmentation = { semantic_filter = ["cube"] }\n[writers.bop]\n',
            "annotators.instance_segmentation.semantic_filter",
            ["cube"],
            ["writers.bop takes its objects from the object_pose annotator (no semantic_filter: every object)"],
        ),
        (
            '[annotators]\ninstance_segmentation_amodal = { semantic_filter = ["cube"] }\n[writers.bop]\n',
            "annotators.instance_segmentation_amodal.semantic_filter",
            ["cube"],
            ["reads their pixels in the instance_segmentation_amodal ids"],
        ),
        # hdf5: instance_attribute_maps gave a ball category_id 3 while its pixels in
        # category_id_segmaps were 1 (UNLABELLED), semantic_segmentation filtered to cubes.
        (
            '[annotators]\ninstance_segmentation = {}\nsemantic_segmentation = { semantic_filter = ["cube"] }\n'
            "[writers.hdf5]\n",
            "annotators.semantic_segmentation.semantic_filter",
            ["cube"],
            ["writers.hdf5 takes its objects from the instance_segmentation annotator", "semantic_segmentation ids"],
        ),
        # KITTI pairs each tight box with the object's bounding_box_3d row: one of another label
        # type, or filtered narrower, left objects without a row, and their lines got KITTI's
        # unknown 3D values (-1 -1 -1 -1000 -1000 -1000 -10; every line for another type)
        # while the scene has their boxes (validate said OK).
        (
            '[annotators]\nbounding_box_3d = { semantic_filter = ["ball"] }\n[writers.kitti]\n',
            "annotators.bounding_box_3d.semantic_filter",
            ["ball"],
            [
                "writers.kitti takes its objects from the bounding_box_2d_tight annotator (no semantic_filter",
                "pairs each with its bounding_box_3d row",
                "unknown values",
            ],
        ),
        (
            '[annotators]\nbounding_box_3d = { semantic_type = "shape" }\n[writers.kitti]\n',
            "writers.kitti.semantic_type",
            "class",
            ["bounding_box_3d annotator it reads ('shape')", 'bounding_box_3d = { semantic_type = "class" }'],
        ),
        (
            '[annotators]\ninstance_segmentation = { semantic_type = "kind" }\n[writers.coco]\n',
            "writers.coco.semantic_type",
            "class",
            [
                "instance_segmentation annotator it reads ('kind')",
                'instance_segmentation = { semantic_type = "class" }',
            ],
        ),
        (
            '[annotators]\nbounding_box_2d_loose = { semantic_type = "shape" }\n[writers.mot]\n',
            "writers.mot.semantic_type",
            "class",
            ["bounding_box_2d_loose annotator it reads ('shape')"],
        ),
        # Replicator's KittiWriter options were met with a bare 'a known key': the kitti writer
        # writes every tight box (Replicator's skips those under 25 px tall) and sets occluded
        # from the hidden share of the pixels (Replicator's from the tight / loose box areas).
        (
            "[writers.kitti]\nbbox_height_threshold = 25\n",
            "writers.kitti.bbox_height_threshold",
            25,
            ["Replicator's KittiWriter skips boxes under", "the kitti writer writes every tight box"],
        ),
        (
            "[writers.kitti]\nfully_visible_threshold = 0.95\n",
            "writers.kitti.fully_visible_threshold",
            0.95,
            ["tight / loose box areas", "occlusionRatio: 0 under 0.1, 1 under 0.5, 2 from 0.5"],
        ),
        ("[writers.kitti]\nuse_kitti_dir_names = true\n", "writers.kitti.use_kitti_dir_names", True, ["image_2"]),
        # A regular expression Python cannot compile for its size raised OverflowError (a
        # traceback; the Labels panel failed to draw the rule): said as any invalid one.
        (
            '[[label_rules]]\nsuffix = "a{99999999999}"\n',
            "label_rules[0]",
            {"suffix": "a{99999999999}"},
            ["not a valid regular expression: the repetition number is too large"],
        ),
        # A run with no writer, or with no annotator for writers that bring none, writes no
        # data while it renders every frame and says "done" (the Recorder panel refuses both).
        ("[writers]\n", "writers", {}, ["at least one writer"]),
        ("writers = []\n", "writers", [], ["at least one writer"]),
        ("[annotators]\n", "annotators", {}, ["at least one annotator", "(basic)"]),
        ('[run]\noutput = ""\n', "run.output", "", ["not empty"]),
        ("sede = 3\n", "sede", 3, ["a known key"]),
    ],
)
def test_single_mistakes(tmp_path, text, field, value, words):
    p = one_problem(tmp_path, text + CAMERA)
    assert p.field == field
    assert p.value == value or (value is None and repr(p.value).startswith("nothing"))
    for w in words:
        assert w in p.expected, p.expected


@pytest.mark.parametrize(
    "annotators, writers",
    [
        ('instance_segmentation = { semantic_filter = ["cube"] }', "[writers.yolo]\n"),  # box lines: no masks
        ('instance_segmentation = { semantic_filter = ["cube"] }', "[writers.kitti]\n"),
        (
            'instance_segmentation = { semantic_filter = ["cube", "ball"] }\n'
            'bounding_box_2d_tight = { semantic_filter = ["cube"] }',
            "[writers.coco]\n[writers.yolo]\nsegmentation = true\n",
        ),
        (
            'instance_segmentation = { semantic_filter = [] }\nbounding_box_2d_tight = { semantic_filter = ["cube"] }',
            "[writers.coco]\n",
        ),
        (
            'instance_segmentation_amodal = { semantic_filter = ["cube"] }\nobject_pose = { semantic_filter = ["cube"] }',
            "[writers.bop]\n",
        ),
        (
            'bounding_box_3d = { semantic_filter = ["cube", "ball"] }\nbounding_box_2d_tight = { semantic_filter = ["cube"] }',
            "[writers.kitti]\n",
        ),
        ('bounding_box_3d = { semantic_filter = ["cube"] }', "[writers.coco]\n"),  # no 3D boxes read
        ('semantic_segmentation = { semantic_filter = ["cube"] }', "[writers.hdf5]\n"),  # no instance maps
        (
            'semantic_segmentation = { semantic_filter = ["cube"] }\ninstance_segmentation = { semantic_filter = ["cube"] }',
            "[writers.hdf5]\n",
        ),
    ],
)
def test_instance_ids_that_keep_every_boxed_object_are_taken(tmp_path, annotators, writers):
    """The instance ids may keep more objects than the boxes (or the writer cuts no masks
    from them): every object of the writer's has its mask."""
    load_config(write(tmp_path / "p.toml", f"[annotators]\nrgb = {{}}\n{annotators}\n{writers}{CAMERA}"))


def test_a_mask_filter_several_writers_refuse_is_said_once_naming_each(tmp_path):
    """coco and yolo-seg both cut masks from instance_segmentation: its semantic_filter
    leaving out objects of their boxes was listed twice, once per writer, in the same
    words; it is one problem now, naming both writers (bop, whose objects are another
    annotator's, keeps its own)."""
    text = '[annotators]\nrgb = {}\ninstance_segmentation = { semantic_filter = ["cube"] }\n'
    p = one_problem(tmp_path, text + "[writers]\ncoco = {}\nyolo = { segmentation = true }\n" + CAMERA)
    assert p.field == "annotators.instance_segmentation.semantic_filter" and p.value == ["cube"]
    assert "writers.coco and writers.yolo take their objects from the bounding_box_2d_tight annotator" in p.expected
    assert p.expected.endswith("UNLABELLED: the writers had the object but not its pixels"), p.expected
    (p,) = [
        q
        for q in problems_of(
            write(tmp_path / "b.toml", text + "[writers]\nyolo = { segmentation = true }\nbop = {}\n" + CAMERA)
        )
        if "yolo" in q.expected
    ]
    assert "writers.yolo takes its objects" in p.expected and "bop" not in p.expected


@pytest.mark.parametrize("annotators", ["lidar = {}", "thermal = {}", "nir = {}\nthermal = {}"])
def test_annotators_the_files_cameras_make_nothing_of_are_refused_by_validate(tmp_path, annotators):
    """Only lidar without a LiDAR (thermal without a thermal camera, nir without a NIR one):
    refused when the file is read, as render refuses it once the scene is built, so that
    validate accepting a file still means render accepts it."""
    p = one_problem(tmp_path, f"[annotators]\n{annotators}\n" + CAMERA)
    assert p.field == "annotators" and "at least one annotator the run's cameras and LiDARs" in p.expected


@pytest.mark.parametrize(
    "annotators, sensors, idle",
    [
        ("rgb = {}\nlidar = {}", "", "lidar"),
        ("rgb = {}\nthermal = {}", "", "thermal"),
        ("rgb = {}\nnir = {}\nthermal = {}", 'sensor = "thermal"\n', "nir"),
        ("rgb = {}\nlidar = {}", '[[lidars]]\nname = "l"\nmount = "cam"\n', None),
        ("rgb = {}\nthermal = {}", 'sensor = "thermal"\n', None),
    ],
)
def test_an_annotator_no_sensor_of_the_run_makes_is_refused_by_name(tmp_path, annotators, sensors, idle):
    """lidar beside rgb without a LiDAR (thermal / nir without such a camera): the other
    annotators were written and the named one's files were missing without a word; refused
    now, naming it, as render refuses it once the scene is built. With the sensor, fine."""
    text = f"[annotators]\n{annotators}\n" + CAMERA + sensors
    if idle is None:
        load_config(write(tmp_path / "ok.toml", text))
    else:
        p = one_problem(tmp_path, text)
        assert p.field == f"annotators.{idle}" and "a sensor that makes it" in p.expected and "(remove it" in p.expected


def test_no_annotators_are_fine_for_writers_that_bring_their_own(tmp_path):
    """coco / yolo / kitti... add the annotators they need; LiDARs bring theirs."""
    cfg = load_config(write(tmp_path / "p.toml", "[annotators]\n[writers]\ncoco = {}\n" + CAMERA))
    assert cfg.annotators == {} and list(cfg.writers) == ["coco"]


# ------------------------------------------------------------------ the reference page


def test_reference_links_lead_to_its_headings():
    """The contents line's links (and every other #link on the page) name a heading's anchor."""
    text = REFERENCE.read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert "scene-the-base-scene-ground-and-world" in anchors(text)  # as GitHub spells it
    assert not links - anchors(text), f"links to no heading: {sorted(links - anchors(text))}"


def test_reference_names_every_top_level_key():
    """The file format section's list of top-level keys is the schema's, in its order."""
    text = REFERENCE.read_text(encoding="utf-8")
    sentence = re.search(r"The top-level keys are (.*?)\. Only", text, re.S).group(1)
    assert re.findall(r"`(\w+)`", sentence) == list(TOP_LEVEL_KEYS)


def test_reference_names_the_randomizers_without_targets(tmp_path):
    """The randomizers section says which types take no `targets` (those of the world): the
    types the schema refuses `targets` for, no fewer (a `sky` given targets is refused)."""
    text = section(REFERENCE.read_text(encoding="utf-8"), "randomizers")
    untargeted = {name for name, cls in RANDOMIZERS.items() if cls.target_kind is None}
    sentence = re.search(r"`targets` \(except the world's: (.*?) take none\)", text, re.S).group(1)
    row = re.search(r"^\| `targets` \| [^|]* \| required, but refused by (.*?) \(", text, re.M).group(1)
    assert set(re.findall(r"`(\w+)`", sentence)) == untargeted
    assert set(re.findall(r"`(\w+)`", row)) == untargeted
    (p,) = problems_of(write(tmp_path / "p.toml", CAMERA + '[[randomizers]]\ntype = "sky"\ntargets = "*"\n'))
    assert p.field == "randomizers[0].targets"


def test_reference_quotes_the_range_problems_as_validate_reports_them(tmp_path):
    """docs/parameters.md's quoted range problem is the tool's text, and the sub-fields it
    and docs/reliability.md name are the fields the tool names (a range problem names the
    parameter, a problem inside the distribution its sub-field)."""
    kinds = REFERENCE.read_text(encoding="utf-8").split("### Kinds of parameter values")[1].split("\n## ")[0]
    reliability = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    asset = '[[assets]]\nname = "a"\nprimitive = "cube"\n[[randomizers]]\ntype = "material"\ntargets = "a"\n'

    def only_problem(value: str) -> Problem:
        (p,) = problems_of(write(tmp_path / "p.toml", CAMERA + asset + value + "\n"))
        return p

    p = only_problem('roughness = { distribution = "uniform", low = 0.2, high = 2 }')
    assert str(p).split(": ", 1)[1] in kinds  # the whole message, as printed
    for value, field, page in [
        ('roughness = { distribution = "uniform", low = 1, high = 0.5 }', "randomizers[0].roughness.high", kinds),
        ('metallic = { distribution = "choice", values = [0.5, "x"] }', "randomizers[0].metallic.values[1]", kinds),
        ('roughness = { distribution = "uniform", low = 0, high = 1e30 }', "randomizers[i].roughness`", reliability),
        ('metallic = { distribution = "choice", values = [1, 2, 3, 4, 5] }', "randomizers[i].metallic`", reliability),
    ]:
        p = only_problem(value)
        assert p.field == field.replace("[i]", "[0]").rstrip("`") and field in page, (p.field, field)
    p = only_problem('roughness = { distribution = "uniform", low = 0, high = 1e30 }')
    assert "uniform can draw values in [0, 1e+30]" in p.expected and "[0, 1e+30]" in reliability


def test_reference_lists_every_field():
    text = REFERENCE.read_text(encoding="utf-8")
    missing = []

    def need(where: str, names) -> None:
        body = section(text, where)
        missing.extend(f"{where}: {n}" for n in names if f"`{n}`" not in body)

    for key in TOP_LEVEL_KEYS:
        section(text, key)
    need("run", ["seed", "frames", "output"])
    need("render", [*(f.name for f in dataclasses.fields(RenderSettings)), "resolution"])
    need("cameras", [f.name for f in dataclasses.fields(CameraSpec)])
    need("lights", [f.name for f in dataclasses.fields(LightSpec)])
    need("assets", [f.name for f in dataclasses.fields(AssetSpec)])
    need("assets", [*ASSET_EXTENSIONS, *PRIMITIVES])
    need("scene.ground", [f.name for f in dataclasses.fields(GroundSpec)])
    need("scene.world", [f.name for f in dataclasses.fields(WorldSpec)])
    randomizers = section(text, "randomizers")
    for name, cls in RANDOMIZERS.items():
        if f"`{name}`" not in randomizers:
            missing.append(f"randomizers: {name}")
            continue
        body = section(randomizers, name)
        missing.extend(f"randomizer {name}: {k}" for k in [*cls.PARAMS, *cls.OPTIONS] if f"`{k}`" not in body)
    distributions = section(text, "distributions")
    for name, cls in DISTRIBUTIONS.items():
        if f"`{name}`" not in distributions:
            missing.append(f"distributions: {name}")
            continue
        body = section(distributions, name)
        missing.extend(f"distribution {name}: {k}" for k in cls.PARAMS if f"`{k}`" not in body)
    assert not missing, "docs/parameters.md lacks: " + ", ".join(missing)


def test_randomizer_option_bounds(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
        '[[assets]]\nname = "a"\nprimitive = "cube"\n'
        '[[randomizers]]\ntype = "pose"\ntargets = "a"\nmin_distance = -0.5\nmax_tries = 0\n'
    )
    with pytest.raises(ConfigError) as e:
        load_config(path)
    fields = {(p.field, p.value) for p in e.value.problems}
    assert fields == {("randomizers[0].min_distance", -0.5), ("randomizers[0].max_tries", 0)}


# ------------------------------------------------- distribution support vs parameter range

ASSET = '[[assets]]\nname = "a"\nprimitive = "cube"\n'


def material(value: str, param: str = "roughness") -> str:
    return CAMERA + ASSET + f'[[randomizers]]\ntype = "material"\ntargets = "a"\n{param} = {value}\n'


@pytest.mark.parametrize(
    "value",
    [
        '{ distribution = "normal", mean = 0.5, std = 0.2 }',  # unbounded support
        '{ distribution = "normal", mean = 0.5, std = 0.2, low = 0 }',  # one side open
        '{ distribution = "uniform", low = 0, high = 1.01 }',  # one step past the edge
        '{ distribution = "uniform", low = -0.01, high = 1 }',
        '{ distribution = "truncated_normal", mean = 0.5, std = 1, low = 0, high = 2 }',
        '{ distribution = "choice", values = [0.2, 1.5] }',
        '{ distribution = "log_uniform", low = 0.1, high = 3 }',
        "1.5",  # a constant outside
    ],
)
def test_support_outside_the_parameters_range_is_refused(tmp_path, value):
    p = one_problem(tmp_path, material(value))
    assert p.field == "randomizers[0].roughness"
    assert "[0, 1]" in p.expected


@pytest.mark.parametrize(
    "value",
    [
        '{ distribution = "normal", mean = 0.5, std = 0.2, low = 0, high = 1 }',
        '{ distribution = "uniform", low = 0, high = 1 }',  # the edges themselves
        '{ distribution = "truncated_normal", mean = 2, std = 1, low = 0, high = 1 }',
        '{ distribution = "normal", mean = 0.3, std = 0 }',  # a constant in disguise
        '{ distribution = "choice", values = [0, 1] }',
        "1.0",
    ],
)
def test_support_inside_the_parameters_range_is_accepted(tmp_path, value):
    cfg = load_config(write(tmp_path / "p.toml", material(value)))
    assert "roughness" in cfg.randomizers[0].params  # kept, not dropped as a problem


@pytest.mark.parametrize(
    "rtype,param,edge,past",
    [
        # Ranges that were missing (validation let them through, Blender clamped or broke them):
        ("scatter", "scale", "0", "-0.001"),
        ("camera_relative", "depth", "0", "-0.01"),
        ("camera_relative", "scale", "1000000", "1000000.5"),
        # 0 bounds a distribution (a constant 0 has no direction to aim along: refused apart)
        ("camera_look_at", "distance", '{ distribution = "uniform", low = 0, high = 1 }', "-0.5"),
        ("camera_look_at", "focal_length", "1", "0.99"),  # Blender's lens is at least 1 mm
        ("camera_look_at", "path_position", "1", "1.01"),
        ("camera_look_at", "roll", "-1000000", "-1000001"),
        ("trajectory", "velocity", "[1000000, 0, 0]", "[0, 0, 1e300]"),
        ("trajectory", "angular_velocity", "[0, -1000000, 0]", "[0, -1000000.5, 0]"),
    ],
)
def test_placement_and_motion_parameters_have_ranges(tmp_path, rtype, param, edge, past):
    target = "cam" if rtype == "camera_look_at" else "a"
    extra = 'shell = "path"\npath = [[0, -2, 1], [1, -2, 1]]\n' if param == "path_position" else ""
    extra += "distance = 2\n" if rtype == "camera_look_at" and param != "distance" and not extra else ""
    extra += "depth = 2\n" if rtype == "camera_relative" and param != "depth" else ""

    def text(value):
        return CAMERA + ASSET + f'[[randomizers]]\ntype = "{rtype}"\ntargets = "{target}"\n{extra}{param} = {value}\n'

    cfg = load_config(write(tmp_path / "edge.toml", text(edge)))
    assert param in cfg.randomizers[0].params
    p = one_problem(tmp_path, text(past))
    assert p.field == f"randomizers[0].{param}" and "values in [" in p.expected


def test_a_required_option_is_asked_for_by_name(tmp_path):
    for rtype, target in (("texture", 'targets = "a"\n'), ("world_hdri", "")):
        p = one_problem(tmp_path, CAMERA + ASSET + f'[[randomizers]]\ntype = "{rtype}"\n{target}')
        assert (p.field, p.value) == ("randomizers[0].folder", MISSING) and "required" in p.expected


def test_a_support_just_past_a_bound_is_stated_in_full(tmp_path):
    """A shell centred at z = 0.5 with a radius of 1e6 reaches 1000000.5: the problem said it
    could draw '[-1000000, 1e+06]', as if within the range it was refused for."""
    light = '[[lights]]\nname = "key"\n'
    shell = '{ distribution = "shell", center = [0, 0, 0.5], radius_min = 1, radius_max = 1e6 }'
    p = one_problem(
        tmp_path, CAMERA + light + f'[[randomizers]]\ntype = "light"\ntargets = "key"\nlocation = {shell}\n'
    )
    assert p.field == "randomizers[0].location" and "can draw values in [-1000000, 1000000.5]" in p.expected, p
    roughness = '{ distribution = "uniform", low = 0.25, high = 1.5 }'  # tidy numbers stay tidy
    p = one_problem(
        tmp_path, CAMERA + ASSET + f'[[randomizers]]\ntype = "material"\ntargets = "a"\nroughness = {roughness}\n'
    )
    assert "can draw values in [0.25, 1.5]" in p.expected, p


@pytest.mark.parametrize(
    "entry, field",
    [
        ('type = "camera"\ntargets = "cam"\ndistance = 0', "distance"),
        ('type = "camera"\ntargets = "cam"\ndistance = { distribution = "choice", values = [2, 0] }', "distance"),
        ('type = "camera"\ntargets = "cam"\nlocation = [0, 0, 1]\nlook_at = [0, 0, 1]', "look_at"),
        (
            'type = "light"\ntargets = "key"\nlocation = [1, 1, 1]\nlook_at = { distribution = "sequence", values = [[0, 0, 0], [1, 1, 1]] }',
            "look_at",
        ),
        ('type = "camera_look_at"\ntargets = "cam"\ndistance = 0', "distance"),
        # A distribution drawing 0 as surely as a constant (its bounds one point), or often:
        ('type = "camera"\ntargets = "cam"\ndistance = { distribution = "uniform", low = 0, high = 0 }', "distance"),
        (
            'type = "camera_look_at"\ntargets = "cam"\ndistance = { distribution = "normal", mean = 0, std = 0, low = 0 }',
            "distance",
        ),
        (
            'type = "camera"\ntargets = "cam"\ndistance = { distribution = "uniform_int", low = 0, high = 3 }',
            "distance",
        ),
        (
            'type = "camera"\ntargets = "cam"\nlook_at = [0, 0, 1]\n'
            'location = { distribution = "shell", center = [0, 0, 1], radius_min = 0, radius_max = 0 }',
            "look_at",
        ),
        (
            'type = "light"\ntargets = "key"\nlook_at = [1, 1, 1]\n'
            'location = { distribution = "uniform_int", low = [0, 0, 0], high = [2, 2, 2] }',
            "look_at",
        ),
        (  # a per_axis whose components each draw the look_at's: one draw in three
            'type = "camera"\ntargets = "cam"\nlook_at = [0, -8, 6]\n'
            'location = [{ distribution = "uniform_int", low = -1, high = 1 }, -8, 6]',
            "look_at",
        ),
        (
            'type = "camera"\ntargets = "cam"\nlocation = [0, -8, 6]\n'
            'look_at = [0, { distribution = "choice", values = [-8, 0] }, 6]',
            "look_at",
        ),
        (
            'type = "camera"\ntargets = "cam"\nlook_at = [0, -8, 6]\n'
            'location = [{ distribution = "uniform_int", low = 1, high = 2 }, -8, 6]',
            None,
        ),
        ('type = "camera"\ntargets = "cam"\ndistance = { distribution = "uniform_int", low = 1, high = 3 }', None),
        ('type = "camera"\ntargets = "cam"\ndistance = { distribution = "uniform", low = 0, high = 2 }', None),
        ('type = "camera"\ntargets = "cam"\nlocation = [0, 0, 1]\nlook_at = [0, 0, 0]', None),
    ],
)
def test_a_randomizer_aiming_from_the_point_it_aims_at_is_refused(tmp_path, entry, field):
    """A camera entry's distance 0, or a location listed equal to its look_at (a light's too),
    left no direction to aim along: Blender's look-at turned it down -Z without a word; so
    did a distribution drawing it as surely (a uniform 0 .. 0, a shell of radius 0 about the
    look_at) or often (a uniform_int from 0), which passed."""
    text = CAMERA + ASSET + '[[lights]]\nname = "key"\n' + f"[[randomizers]]\n{entry}\n"
    if field is None:
        load_config(write(tmp_path / "ok.toml", text))
    else:
        p = one_problem(tmp_path, text)
        assert p.field == f"randomizers[0].{field}" and "no direction to aim along" in p.expected, p


def test_case_values_are_checked_against_the_parameters_range(tmp_path):
    def case(value):
        return (
            CAMERA
            + ASSET
            + "[run]\nframes = 4\n"
            + '[[randomizers]]\ntype = "material"\ntargets = "a"\nmetallic = 0.5\n'
            + '[[cases]]\nname = "shiny"\nframes = 1\n'
            + f'set = [{{ type = "material", target = "a", roughness = {value} }}]\n'
        )

    load_config(write(tmp_path / "edge.toml", case("1.0")))
    p = one_problem(tmp_path, case("1.5"))
    assert p.field == "cases[0].set[0].roughness" and "[0, 1]" in p.expected


def test_case_names_are_checked_as_the_entries_take_them(tmp_path):
    """A case's light_type, pattern or file name is one its entries take: 'laser', 'marble'
    or a file the folder lacks passed validate and ended render with a traceback (exit 1)
    after frames were written. A name is checked against the entries its target may reach:
    here the second texture folder is another entry's, on another object."""
    for folder, name in (("wood", "oak.png"), ("stone", "slate.png")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    entries = (
        '[[randomizers]]\ntype = "light"\ntargets = "key"\nenergy = 100\n'
        '[[randomizers]]\ntype = "procedural_texture"\ntargets = "a"\n'
        '[[randomizers]]\ntype = "texture"\ntargets = "a"\nfolder = "wood"\n'
        '[[randomizers]]\ntype = "texture"\ntargets = "b*"\nfolder = "stone"\n'
    )

    def text(**values):
        sets = ", ".join(f'{{ type = "{t}", target = "{target}", {k} = "{v}" }}' for t, target, k, v in values.values())
        return CAMERA + ASSET + "[run]\nframes = 4\n" + entries + f'[[cases]]\nname = "c"\nframes = 1\nset = [{sets}]\n'

    ok = text(
        light=("light", "key", "light_type", "Sun"),
        pattern=("procedural_texture", "a", "pattern", "voronoi"),
        image=("texture", "a", "image", "oak.png"),  # wood's; stone's entry does not reach a
    )
    load_config(write(tmp_path / "ok.toml", ok))
    found = {
        p.field: p
        for p in problems_of(
            write(
                tmp_path / "bad.toml",
                text(
                    light=("light", "key", "light_type", "laser"),
                    pattern=("procedural_texture", "a", "pattern", "marble"),
                    image=("texture", "*", "image", "oak.png"),  # stone's entry (b*) lacks it
                ),
            )
        )
    }
    assert set(found) == {"cases[0].set[0].light_type", "cases[0].set[1].pattern", "cases[0].set[2].image"}
    assert (
        found["cases[0].set[0].light_type"].value == "laser" and "POINT" in found["cases[0].set[0].light_type"].expected
    )
    assert "noise" in found["cases[0].set[1].pattern"].expected
    assert "slate.png" in found["cases[0].set[2].image"].expected


@pytest.mark.parametrize(
    "condition, field",
    [
        ('measure = "occlusion"\nmin = 1', None),  # the edges
        ('measure = "occlusion"\nmin = 0.5\nmax = 0.5', None),
        ('measure = "pixels"\nmax = 0', None),
        ('measure = "occlusion"\nmin = 1.01', "min"),  # a ratio is at most 1
        ('measure = "truncation"\nmin = 1.5', "min"),
        ('measure = "occlusion"\nmin = 0.5\nmax = 0.49', "max"),
        ('measure = "pixels"\nmax = -1', "max"),
    ],
)
def test_a_quota_no_frame_could_meet_is_refused(tmp_path, condition, field):
    text = CAMERA + ASSET + "[run]\nframes = 4\n" + f'[[cases]]\nname = "c"\nframes = 1\n{condition}\n'
    if field is None:
        load_config(write(tmp_path / "ok.toml", text))
    else:
        assert one_problem(tmp_path, text).field == f"cases[0].{field}"


def test_a_pixel_count_larger_than_every_image_is_refused(tmp_path):
    """640 x 480 (the default) holds 307200 pixels: one more can never be seen, and every
    frame was rendered max_tries times in vain."""

    def text(pixels) -> str:
        look = f'[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\ndistance = 2\nmin_pixels = {pixels}\n'
        case = f'[[cases]]\nname = "c"\nframes = 1\nmeasure = "pixels"\nmin = {pixels}\n'
        return CAMERA + ASSET + "[run]\nframes = 4\n" + look + case

    load_config(write(tmp_path / "edge.toml", text(307200)))
    found = {p.field: p for p in problems_of(write(tmp_path / "past.toml", text(307201)))}
    assert set(found) == {"randomizers[0].min_pixels", "cases[0].min"}
    assert "at most 307200" in found["cases[0].min"].expected


def test_a_case_sets_values_of_an_entry_the_file_has(tmp_path):
    """A case's `set` replaces values entries of its type draw: with no entry of that type it
    set nothing, yet its frames counted as made (the docs' own example did so)."""
    text = (
        CAMERA
        + ASSET
        + "[run]\nframes = 4\n"
        + '[[cases]]\nname = "backlit"\nframes = 1\n'
        + 'set = [{ type = "light", target = "key", location = [0, 3, 1.5] }]\n'
    )
    p = one_problem(tmp_path, text)
    assert p.field == "cases[0].set[0].type" and "there is no light entry" in p.expected
    entry = '[[randomizers]]\ntype = "light"\ntargets = "key"\nenergy = 100\n'
    load_config(write(tmp_path / "ok.toml", text + entry))


@pytest.mark.parametrize(
    "entry, field",
    [
        (
            '[[cases]]\nname = "c"\nframes = 1\nset = [{ type = "light", target = "key", location = [0, 3, 1.5] }]',
            "cases[0].name",
        ),
        ('[[cases]]\nname = "c"\nframes = 1\nmeasure = "truncation"\nmin = 0.3', "cases[0].name"),
        (
            '[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\ndistance = 3\nmin_pixels = 10',
            "randomizers[1].min_pixels",
        ),
    ],
)
def test_a_sequence_takes_no_case_and_no_pixel_guarantee(tmp_path, entry, field):
    """A clip's frames share its first frame's draws and are rendered once each: a fixed case
    lit frames 3 and 5 of a clip from behind and frame 4 from the front, a quota case and
    camera_look_at's min_pixels were never redrawn (min_pixels not even logged). Refused in a
    sequence; stills take them as before."""
    text = (
        CAMERA
        + ASSET
        + '[[lights]]\nname = "key"\n'
        + "[run]\nframes = 6\n"
        + '[[randomizers]]\ntype = "light"\ntargets = "key"\nlocation = [1, -1, 2]\n'
        + f"{entry}\n"
    )
    load_config(write(tmp_path / "stills.toml", text))
    p = one_problem(tmp_path, text + "[sequence]\nclip_length = 3\n")
    assert p.field == field and "in a sequence (clip_length 3)" in p.expected, p
    assert "rendered once each" in p.expected


@pytest.mark.parametrize("quota", ["min = 0.5", 'measure = "pixels"', 'label = "a"', "max_tries = 3"])
def test_a_fixed_case_takes_no_quota_field(tmp_path, quota):
    """A case with `set` and a quota field (min, measure, label, ...) was taken as fixed and
    the quota ignored: its frames counted as made without being measured."""
    text = (
        CAMERA
        + ASSET
        + "[run]\nframes = 4\n"
        + '[[randomizers]]\ntype = "material"\ntargets = "a"\nroughness = 0.5\n'
        + '[[cases]]\nname = "c"\nframes = 1\n'
        + 'set = [{ type = "material", target = "a", roughness = 0 }]\n'
    )
    load_config(write(tmp_path / "ok.toml", text))
    p = one_problem(tmp_path, text + quota + "\n")
    assert p.field == f"cases[0].{quota.split()[0]}" and "not both" in p.expected


@pytest.mark.parametrize("label_type", [" class", "class ", "cl:ass", ""])
def test_a_label_rules_type_is_a_label_type(tmp_path, label_type):
    """Label types have no spaces at either end (docs, `labels`): a rule's type " class" was
    taken, and its labels went to a type no writer filtering `class` reads."""
    text = CAMERA + ASSET + f'[[label_rules]]\ntype = "{label_type}"\n'
    p = one_problem(tmp_path, text)
    assert p.field == "label_rules[0]" and "label type" in p.expected


@pytest.mark.parametrize(
    "entry, setting",
    [
        ('type = "scatter"\ntargets = "a"\nsurface = "b"\nyaw = 0', "yaw = 45"),
        ('type = "scatter"\ntargets = "a"\nsurface = "b"\nscale = 1', "scale = 2"),
        ('type = "pool"\ntargets = "a"\nk = 1', "k = 0"),
        ('type = "physics_settle"\ntargets = "a"\npassive = "b"\ndrop = 0', "drop = 1"),
        ('type = "trajectory"\ntargets = "a"\nvelocity = [0, 0, 0]', "velocity = [1, 0, 0]"),
        (
            'type = "camera_look_at"\ntargets = "cam"\nshell = "path"\npath = [[0, -2, 1], [1, -2, 1]]',
            "path_position = 1",
        ),
    ],
)
def test_a_case_cannot_set_what_an_entry_derives_its_values_from(tmp_path, entry, setting):
    """scatter places from its yaw / rotation / scale, pool picks the members shown from k,
    physics_settle lifts the start by drop, a trajectory integrates its velocities, a path
    camera is placed from path_position, all when they draw: a case's value, set after
    that, was logged but not rendered (or broke the placement) while its frames counted as
    made. Refused, naming what the case can set."""
    text = (
        CAMERA
        + ASSET
        + '[[assets]]\nname = "b"\nprimitive = "plane"\nsize = 2\n'
        + "[run]\nframes = 4\n"
        + f"[[randomizers]]\n{entry}\n"
        + f'[[cases]]\nname = "c"\nframes = 1\nset = [{{ type = "{entry.split(chr(34))[1]}", {setting} }}]\n'
    )
    p = one_problem(tmp_path, text)
    assert p.field == f"cases[0].set[0].{setting.split()[0]}" and "a case can set" in p.expected


def test_a_case_sets_a_look_at_cameras_distance(tmp_path):
    text = (
        CAMERA
        + ASSET
        + "[run]\nframes = 4\n"
        + '[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\ndistance = 2\n'
        + '[[cases]]\nname = "c"\nframes = 1\nset = [{ type = "camera_look_at", distance = 3 }]\n'
    )
    load_config(write(tmp_path / "ok.toml", text))


def test_colour_support_is_checked_per_component(tmp_path):
    bad = '{ distribution = "normal", mean = [0.5, 0.5, 0.5], std = [0.1, 0.1, 0.1] }'
    p = one_problem(tmp_path, material(bad, "color"))
    assert p.field == "randomizers[0].color" and "support" in p.expected
    ok = '{ distribution = "per_axis", axes = [1, { distribution = "uniform", low = 0, high = 1 }, 0] }'
    load_config(write(tmp_path / "ok.toml", material(ok, "color")))
    past = '{ distribution = "per_axis", axes = [1, { distribution = "uniform", low = 0, high = 1.5 }, 0] }'
    assert one_problem(tmp_path, material(past, "color")).field == "randomizers[0].color"


def test_a_per_axis_normal_component_passes_the_coordinates_sanity_limit_as_a_vector_normal_does(tmp_path):
    """docs: 'a location with a normal x, a uniform y and a fixed z' is what per_axis is for;
    an open normal passes the ±1e6 limit when mean ± 12 std lies inside, per component too."""

    def pose(location: str) -> str:
        return CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nlocation = {location}\n'

    normal_x = '{ distribution = "normal", mean = MEAN, std = 1 }'
    for shape in (
        '{ distribution = "per_axis", axes = [NX, { distribution = "uniform", low = -1, high = 1 }, 0.5] }',
        '[NX, { distribution = "uniform", low = -1, high = 1 }, 0.5]',  # the shorthand
    ):
        edge = shape.replace("NX", normal_x.replace("MEAN", "999988"))  # + 12 std = the limit
        cfg = load_config(write(tmp_path / "p.toml", pose(edge)))
        assert "location" in cfg.randomizers[0].params
        past = shape.replace("NX", normal_x.replace("MEAN", "999988.5"))
        p = one_problem(tmp_path, pose(past))
        assert p.field == "randomizers[0].location" and "[-1000000, 1000000]" in p.expected


def test_per_axis_length_and_choice_k_need_the_right_parameter(tmp_path):
    two = '{ distribution = "per_axis", axes = [0, 1] }'
    text = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nlocation = {two}\n'
    assert one_problem(tmp_path, text).field == "randomizers[0].location.axes"
    k = '{ distribution = "choice", values = [0.1, 0.2, 0.3], k = 2 }'
    assert one_problem(tmp_path, material(k)).field == "randomizers[0].roughness.k"


# --------------------------------------------------------------------------- triggers


def test_trigger_and_interval_are_read_and_checked(tmp_path):
    base = CAMERA + '[[randomizers]]\ntype = "world"\nstrength = 1.0\n'
    cfg = load_config(write(tmp_path / "a.toml", base + "interval = 10\n"))
    assert (cfg.randomizers[0].trigger, cfg.randomizers[0].interval) == ("frame", 10)
    assert cfg.resolved()["randomizers"][0]["interval"] == 10
    cfg = load_config(write(tmp_path / "b.toml", base + 'trigger = "once"\n'))
    assert cfg.randomizers[0].trigger_frame(57) == 0
    assert cfg.randomizers[0].trigger == "once"
    cfg = load_config(write(tmp_path / "c.toml", base + "interval = 1\n"))  # the edge
    assert cfg.randomizers[0].trigger_frame(5) == 5
    assert one_problem(tmp_path, base + "interval = 0\n").field == "randomizers[0].interval"
    assert one_problem(tmp_path, base + 'trigger = "sometimes"\n').field == "randomizers[0].trigger"
    assert one_problem(tmp_path, base + 'trigger = "once"\ninterval = 3\n').field == "randomizers[0].interval"


def test_asset_keypoints_and_skeleton_are_read_and_checked(tmp_path):
    good = CAMERA + (
        '[[assets]]\nname = "mug"\nprimitive = "cylinder"\n'
        'keypoints = { rim = [0, 0, 0.1], base = [0, 0, 0] }\nskeleton = [["rim", "base"]]\n'
    )
    config = load_config(write(tmp_path / "ok.toml", good))
    assert config.assets[0].keypoints == {"rim": [0.0, 0.0, 0.1], "base": [0.0, 0.0, 0.0]}
    assert list(config.assets[0].keypoints) == ["rim", "base"]  # declared order is kept
    assert config.assets[0].skeleton == [["rim", "base"]]
    bad = CAMERA + (
        '[[assets]]\nname = "mug"\nprimitive = "cylinder"\n'
        'keypoints = { rim = [0, 0], base = [0, 0, 0] }\nskeleton = [["rim", "lid"]]\n'
        '[[assets]]\nname = "cup"\nprimitive = "cylinder"\nskeleton = [["a", "a"]]\n'
    )
    path = write(tmp_path / "bad.toml", bad)
    found = {p.field: p for p in problems_of(path)}
    assert "assets[0].keypoints" in found and "[x, y, z]" in found["assets[0].keypoints"].expected
    assert "assets[0].skeleton[0]" in found and "keypoints" in found["assets[0].skeleton[0]"].expected
    assert "assets[1].skeleton" in found


def test_a_writers_or_annotators_default_written_out_is_the_same_run():
    """--resume after `coco = {}` became `coco = { split = "train" }` (the default, written
    out) was refused: 'writers.coco.split: not set before, "train" now', though the frames
    are the same (render settings' defaults were filled in, writer and annotator options
    were not). Both count with their defaults; another value still differs, and is named."""
    from sdg_addon.audit import changed_parameters, config_fingerprint

    a = {"seed": 1, "writers": {"coco": {}}, "annotators": {"rgb": {}, "semantic_segmentation": {}}}
    spelt = {
        **a,
        "writers": {"coco": {"split": "train", "val_every": 0}},
        "annotators": {"rgb": {}, "semantic_segmentation": {"semantic_type": "class"}},
    }
    assert config_fingerprint(a) == config_fingerprint(spelt) and changed_parameters(a, spelt) == []
    other = {**a, "writers": {"coco": {"split": "val"}}}
    assert config_fingerprint(a) != config_fingerprint(other)
    assert changed_parameters(a, other) == ['writers.coco.split: "train" before, "val" now']
    gone = {**a, "writers": {"no_such_plugin": {"x": 1}}}  # kept as given
    assert config_fingerprint(gone) != config_fingerprint({**a, "writers": {"no_such_plugin": {}}})


def test_a_resume_names_a_changed_table_of_labels_as_the_file_writes_it():
    """--resume after targets = "ball*" became targets = { class = "ball" } was refused
    quoting the table as read, in JSON: 'randomizers[0].targets: ["ball*"] before,
    {"class": ["ball"]} now'; a table of labels is now quoted as written (one value of a
    type a string), in the parameter file's syntax (TOML inline, or JSON), and a changed
    value names its type, not its place in a list the file did not write."""
    from sdg_addon.audit import changed_parameters

    def run(targets, labels):
        return {
            "seed": 1,
            "assets": [{"name": "ball", "labels": labels}],
            "randomizers": [{"type": "scatter", "targets": targets, "avoid": {"class": ["box"]}}],
        }

    names, ball, box = ["ball*"], {"class": ["ball"]}, {"class": ["box"]}
    assert changed_parameters(run(names, ball), run(ball, ball), toml=True) == [
        'randomizers[0].targets: ["ball*"] before, { class = "ball" } now'
    ]
    assert changed_parameters(run(names, ball), run(ball, ball)) == [
        'randomizers[0].targets: ["ball*"] before, {"class": "ball"} now'
    ]
    assert changed_parameters(run(ball, ball), run(box, {"class": ["ball", "red"]}), toml=True) == [
        'assets[0].labels.class: "ball" before, ["ball", "red"] now',
        'randomizers[0].targets.class: "ball" before, "box" now',
    ]
    added = run({"class": ["ball"], "color": ["red"]}, ball)
    assert changed_parameters(run(ball, ball), added, toml=True) == [
        'randomizers[0].targets.color: not set before, "red" now'
    ]
    moved = run(ball, ball)
    moved["randomizers"][0]["avoid"] = ["box_*"]
    assert changed_parameters(run(ball, ball), moved, toml=True) == [
        'randomizers[0].avoid: { class = "box" } before, ["box_*"] now'
    ]


def test_fingerprint_counts_a_base_blend_by_content_not_path():
    from sdg_addon.audit import config_fingerprint

    a = {"seed": 1, "base": {"blend": "/data/x/shop.blend", "blend_sha256": "aa", "scene": ""}}
    moved = {**a, "base": {**a["base"], "blend": "/elsewhere/shop.blend"}}
    changed = {**a, "base": {**a["base"], "blend_sha256": "bb"}}
    assert config_fingerprint(a) == config_fingerprint(moved)
    assert config_fingerprint(a) != config_fingerprint(changed)


def test_motion_blur_and_motion_vectors_exclude_each_other(tmp_path):
    text = CAMERA + '[[randomizers]]\ntype = "sensor"\ntargets = "cam"\nshutter = 0.5\n'
    load_config(write(tmp_path / "ok.toml", text))
    p = one_problem(tmp_path, text + "[annotators]\nrgb = {}\nmotion_vectors = {}\n")
    assert p.field == "randomizers[0].shutter" and "vector pass" in p.expected
    # Named by its place in the file, after an entry refused for a problem of its own.
    bad_first = CAMERA + '[[randomizers]]\ntype = "no_such_type"\n'
    bad_first += text[len(CAMERA) :] + "[annotators]\nrgb = {}\nmotion_vectors = {}\n"
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path / "two.toml", bad_first))
    assert {q.field for q in e.value.problems} == {"randomizers[0].type", "randomizers[1].shutter"}


def test_a_shutter_that_stays_closed_is_taken_beside_motion_vectors(tmp_path):
    """shutter = 0 is motion blur off (the sensor randomizer's docs), what the vector pass
    needs, yet beside motion_vectors it was refused as 'no shutter (motion blur)', so a run
    could not keep a .blend's blur off, nor give a case the parameter to set; now only a
    shutter that may open is refused, and a case setting one above 0 (a still's frames)."""
    vectors = "[annotators]\nrgb = {}\nmotion_vectors = {}\n"
    entry = '[[randomizers]]\ntype = "sensor"\ntargets = "cam"\nshutter = {}\n'
    for closed in ("0", "0.0", '{ distribution = "choice", values = [0, 0] }'):
        load_config(write(tmp_path / "closed.toml", CAMERA + entry.format(closed) + vectors))
    p = one_problem(tmp_path, CAMERA + entry.format('{ distribution = "uniform", low = 0, high = 0.5 }') + vectors)
    assert p.field == "randomizers[0].shutter" and "vector pass" in p.expected
    case = '[[cases]]\nname = "blur"\nset = [{{ type = "sensor", target = "cam", shutter = {} }}]\n'
    load_config(write(tmp_path / "case0.toml", CAMERA + entry.format("0") + case.format("0.0") + vectors))
    p = one_problem(tmp_path, CAMERA + entry.format("0") + case.format("1.0") + vectors)
    assert p.field == "cases[0].set[0].shutter" and p.value == 1.0 and "vector pass" in p.expected


def test_per_axis_shorthand_a_list_with_distributions(tmp_path):
    yaw = '[0, 0, { distribution = "uniform", low = 0, high = 360 }]'
    text = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nrotation = {yaw}\n'
    cfg = load_config(write(tmp_path / "ok.toml", text))
    d = cfg.randomizers[0].params["rotation"]
    assert d.name == "per_axis" and d.bounds()[1].tolist() == [0, 0, 360]
    bad = '[0, 0, { distribution = "uniform", low = 0 }]'
    text = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nrotation = {bad}\n'
    assert one_problem(tmp_path, text).field == "randomizers[0].rotation[2].high"
    two = '[0, { distribution = "uniform", low = 0, high = 1 }]'
    text = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nrotation = {two}\n'
    assert one_problem(tmp_path, text).field == "randomizers[0].rotation"
    colour = '[1, { distribution = "uniform", low = 0, high = 2 }, 0]'  # past 1: the support check
    assert one_problem(tmp_path, material(colour, "color")).field == "randomizers[0].color"


# ---------------------------------------------------------------- thermal and NIR cameras


def test_thermal_example_is_a_rigged_rgb_thermal_pair():
    cfg = load_config(EXAMPLES / "thermal.toml")
    rgb, ir = cfg.cameras
    assert (rgb.sensor, ir.sensor, ir.rig) == ("visible", "thermal", "rgb")
    assert ir.look_at is None and ir.rotation == [0.0, 0.0, 0.0]
    assert cfg.thermal.unit == "C" and cfg.kelvin(cfg.world.temperature) == pytest.approx(248.15)
    assert cfg.ambient_kelvin() == pytest.approx(285.15)
    assert [r.name for r in cfg.randomizers].count("thermal") == 3
    json.dumps(cfg.resolved())


def test_default_preset_stays_visible_only():
    cfg = load_config(PRESET)
    assert {c.sensor for c in cfg.cameras} == {"visible"} and "thermal" not in cfg.annotators
    assert cfg.ambient_kelvin() == 293.15 and cfg.thermal.emissivity == 0.95


def test_sensor_fields_are_validated(tmp_path):
    f = write(
        tmp_path / "p.toml",
        CAMERA
        + '[[cameras]]\nname = "ir"\nlocation = [0, 0, 1]\nsensor = "lwir"\nnetd = -1\npalette = "jet"\n'
        + '[[cameras]]\nname = "ir2"\nlocation = [0, 0, 0]\nrig = "nope"\n'
        + '[[cameras]]\nname = "ir3"\nlocation = [0, 0, 0]\nrig = "cam"\nlook_at = [0, 0, 0]\n'
        + '[[cameras]]\nname = "ir4"\nlocation = [0, 0, 0]\nrig = "ir3"\n'
        + '[[assets]]\nname = "a"\nprimitive = "cube"\nemissivity = 1.01\nnir_reflectance = -0.01\n',
    )
    found = {p.field: p for p in problems_of(f)}
    assert set(found) == {
        "cameras[1].sensor",
        "cameras[1].netd",
        "cameras[1].palette",
        "cameras[2].rig",
        "cameras[3].look_at",
        "cameras[4].rig",
        "assets[0].emissivity",
        "assets[0].nir_reflectance",
    }
    assert "visible" in found["cameras[1].sensor"].expected and "cam" in found["cameras[2].rig"].expected
    assert "rigged" in found["cameras[4].rig"].expected


def test_a_camera_cannot_be_rigged_to_itself(tmp_path):
    f = write(tmp_path / "p.toml", '[[cameras]]\nname = "cam"\nlocation = [0, 0, 0]\nrig = "cam"\n')
    assert [p.field for p in problems_of(f)] == ["cameras[0].rig"]


@pytest.mark.parametrize(
    ("unit", "value", "ok"),
    [
        ("K", 100.0, True),
        ("K", 99.99, False),
        ("K", 2000.0, True),
        ("K", 2000.01, False),
        ("C", -173.15, True),
        ("C", -173.16, False),
        ("c", 1726.85, True),
        ("C", 1726.86, False),
    ],
)
def test_temperatures_must_lie_in_the_radiometric_range(tmp_path, unit, value, ok):
    text = f'[thermal]\nunit = "{unit}"\n[scene]\nworld = {{ temperature = {value} }}\n' + CAMERA
    f = write(tmp_path / "p.toml", text)
    if ok:
        cfg = load_config(f)
        assert cfg.kelvin(cfg.world.temperature) == pytest.approx(value + (273.15 if unit in "Cc" else 0))
    else:
        [problem] = problems_of(f)
        assert problem.field == "scene.world.temperature" and "K" in problem.expected


@pytest.mark.parametrize(
    "entry, field",
    [
        ("[scene]\nworld = {{ temperature = {t} }}\n" + CAMERA, "scene.world.temperature"),
        ("[scene]\nground = {{ temperature = {t} }}\n" + CAMERA, "scene.ground.temperature"),
        ("[thermal]\nambient = {t}\n" + CAMERA, "thermal.ambient"),
        (CAMERA + "preview_min = {t}\n", "cameras[0].preview_min"),
        (CAMERA + "preview_max = {t}\n", "cameras[0].preview_max"),
        (CAMERA + '[[assets]]\nname = "a"\nprimitive = "cube"\ntemperature = {t}\n', "assets[0].temperature"),
        (
            CAMERA + '[[randomizers]]\ntype = "world"\ntemperature = {t}\n',
            "randomizers[0].temperature",
        ),
        (
            CAMERA + '[[assets]]\nname = "a"\nprimitive = "cube"\n'
            '[[randomizers]]\ntype = "thermal"\ntargets = "a"\ntemperature = {t}\n',
            "randomizers[0].temperature",
        ),
    ],
)
def test_the_documented_temperature_bounds_are_the_radiometric_range(tmp_path, entry, field):
    """The bounds docs/parameters.md gives every temperature (its declaration) are those
    validation keeps: the low one in degrees Celsius (-173.15 = 100 K), the high one in
    kelvin (2000); one step past is refused in either unit."""
    from sdg_addon.config.schema import DECLARED_SECTIONS

    declared = {f.name: f for f in DECLARED_SECTIONS["scene.world"]}["temperature"]
    assert (declared.low, declared.high) == (-173.15, 2000)
    for unit, t, ok in [("C", "-173.15", True), ("K", "2000", True), ("C", "-173.16", False), ("K", "2000.01", False)]:
        text = f'[thermal]\nunit = "{unit}"\n' + entry.format(t=t)
        if "[thermal]\nambient" in entry:
            text = text.replace('"\n[thermal]\n', '"\n')
        f = write(tmp_path / "p.toml", text)
        if ok:
            load_config(f)
        else:
            assert [p.field for p in problems_of(f)] == [field], (unit, t)


@pytest.mark.parametrize(
    "unit, low, high, ok",
    [
        ("K", 100.0, 2000.0, True),  # the edges
        ("K", 99.99, 300.0, False),
        ("K", 300.0, 2000.01, False),
        ("K", -50.0, 300.0, False),  # no temperature at all
        ("C", -173.15, 1726.85, True),
        ("C", 20.0, 1726.86, False),
    ],
)
def test_drawn_temperatures_must_lie_in_the_radiometric_range(tmp_path, unit, low, high, ok):
    """A thermal or world entry's draws, and a case's value, are held to the range a fixed
    temperature is: beyond it the thermal image clipped them without a word."""
    drawn = f'{{ distribution = "uniform", low = {low}, high = {high} }}'
    text = f'[thermal]\nunit = "{unit}"\n[run]\nframes = 2\n' + CAMERA + '[[assets]]\nname = "a"\nprimitive = "cube"\n'
    text += f'[[randomizers]]\ntype = "thermal"\ntargets = "a"\ntemperature = {drawn}\n'
    text += f'[[randomizers]]\ntype = "world"\ntemperature = {drawn}\n'
    text += f'[[cases]]\nname = "hot"\nset = [{{ type = "thermal", target = "a", temperature = {high} }}]\n'
    f = write(tmp_path / "p.toml", text)
    if ok:
        load_config(f)
        return
    found = {p.field: p for p in problems_of(f)}
    assert set(found) >= {"randomizers[0].temperature", "randomizers[1].temperature"}
    assert f"draw [{low:g}, {high:g}]" in found["randomizers[0].temperature"].expected.replace("values in ", "")
    assert ("cases[0].set[0].temperature" in found) == (high > (1726.85 if unit == "C" else 2000))


def test_thermal_randomizer_parameters(tmp_path):
    text = CAMERA + '[[assets]]\nname = "a"\nprimitive = "cube"\n'
    text += '[[randomizers]]\ntype = "thermal"\ntargets = "a"\ntemperature = 300\nemissivity = 1.5\n'
    [problem] = problems_of(write(tmp_path / "p.toml", text))
    assert problem.field == "randomizers[0].emissivity"


@pytest.mark.parametrize(
    ("size", "fields"),
    [
        ("width = 640\nheight = 512\n", set()),
        ("width = 640\n", {"cameras[0].height"}),
        ("height = 512\n", {"cameras[0].width"}),
        ("width = 0\nheight = 512\n", {"cameras[0].width"}),
        ("width = 65536\nheight = 4\n", set()),
        ("width = 65537\nheight = 4\n", {"cameras[0].width"}),
        ("width = 640\nheight = 3\n", {"cameras[0].height"}),  # Blender's least: 4 pixels
        ("width = 8193\nheight = 8192\n", {"cameras[0].width"}),  # too many pixels
    ],
)
def test_a_camera_may_have_its_own_image_size(tmp_path, size, fields):
    """One problem per bad size: a height of 3 is out of range, not missing as well (was a
    second problem, 'got nothing (the field is missing)', for the height given)."""
    f = write(tmp_path / "p.toml", CAMERA + size)
    if not fields:
        cam = load_config(f).cameras[0]
        assert [cam.width, cam.height] == [int(x.split("=")[1]) for x in size.splitlines()]
    else:
        found = problems_of(f)
        assert [p.field for p in found] == sorted(fields), [str(p) for p in found]
        given = {line.split(" = ")[0] for line in size.splitlines()}
        for p in found:
            assert (p.field.split(".")[-1] in given) != ("together" in p.expected), str(p)


def test_preview_span_and_sensor_specs_in_kelvin(tmp_path):
    from sdg_addon.recorder import annotator_plan, sensor_specs

    text = '[thermal]\nunit = "C"\n' + CAMERA
    text += '[[cameras]]\nname = "ir"\nsensor = "thermal"\nlocation = [0, 0, 1]\npreview_min = 10\npreview_max = 40\n'
    text += 'netd = 0.1\nblur = 1.5\nvignetting = 0.2\npalette = "white_hot"\n'
    cfg = load_config(write(tmp_path / "p.toml", text))
    spec = sensor_specs(cfg)
    assert list(spec) == ["ir"]  # the visible camera needs none
    ir = spec["ir"]
    assert (ir.kind, ir.netd, ir.blur, ir.vignetting, ir.palette) == ("thermal", 0.1, 1.5, 0.2, "white_hot")
    assert ir.preview_min == pytest.approx(283.15) and ir.preview_max == pytest.approx(313.15)
    assert "thermal" in annotator_plan(cfg) and "nir" not in annotator_plan(cfg)
    bad = text.replace("preview_max = 40", "preview_max = 10")
    [problem] = problems_of(write(tmp_path / "q.toml", bad))
    assert problem.field == "cameras[1].preview_max"


def test_a_base_scene_camera_is_thermal_by_its_custom_property(tmp_path):
    """Cameras the file does not declare (a base .blend's) carry `sdg_sensor` and `sdg_<field>`."""
    from sdg_addon.recorder import annotator_plan, sensor_specs

    cfg = load_config(write(tmp_path / "p.toml", CAMERA))
    cameras = {
        "cam": {"sdg_sensor": "thermal"},  # declared in the file: the file wins (visible)
        "flir": {"sdg_sensor": "thermal", "sdg_netd": 0.03, "sdg_palette": "white_hot", "sdg_preview_min": 280},
        "night": {"sdg_sensor": "nir", "sdg_exposure": 1},
        "plain": {},
    }
    specs = sensor_specs(cfg, cameras)
    assert sorted(specs) == ["flir", "night"]
    flir = specs["flir"]
    assert (flir.kind, flir.netd, flir.palette, flir.preview_min, flir.blur) == (
        "thermal",
        0.03,
        "white_hot",
        280.0,
        0.0,
    )
    assert (specs["night"].kind, specs["night"].exposure) == ("nir", 1.0)
    plan = annotator_plan(cfg, specs)
    assert "thermal" in plan and "nir" in plan and "thermal" not in annotator_plan(cfg)


def test_thermal_annotator_encoding_is_checked_when_the_file_is_read(tmp_path):
    thermal = CAMERA + 'sensor = "thermal"\n'  # (a thermal annotator alone needs a thermal camera)
    ok = load_config(write(tmp_path / "ok.toml", thermal + '[annotators]\nthermal = { encoding = "centikelvin" }\n'))
    assert ok.annotators["thermal"] == {"encoding": "centikelvin"}
    [problem] = problems_of(write(tmp_path / "p.toml", thermal + '[annotators]\nthermal = { encoding = "uint8" }\n'))
    assert problem.field == "annotators.thermal.encoding" and "centikelvin" in problem.expected


def test_an_open_side_of_a_range_is_stated_as_infinite():
    from sdg_addon.config.schema import _interval_text

    assert _interval_text(None, 5) == "[-inf, 5]" and _interval_text(0, None) == "[0, inf]"
    assert _interval_text(0.5, 1e6) == "[0.5, 1000000]"


def test_a_shell_is_a_point_for_point_parameters_only(tmp_path):
    shell = '{ distribution = "shell", center = [0, 0, 0], radius_min = 2, radius_max = 4, elevation_min = 15 }'
    light = '[[lights]]\nname = "key"\ntype = "point"\n'
    ok = CAMERA + light + f'[[randomizers]]\ntype = "light"\ntargets = "key"\nlocation = {shell}\n'
    cfg = load_config(write(tmp_path / "ok.toml", ok))
    assert cfg.randomizers[0].params["location"].name == "shell"
    p = one_problem(tmp_path, material(shell))
    assert p.field == "randomizers[0].roughness" and "draws a list of 3 numbers" in p.expected
    # pose.scale takes 3 numbers, but a shell's can be negative: refused by its range
    scale = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nscale = {shell}\n'
    p = one_problem(tmp_path, scale)
    assert p.field == "randomizers[0].scale" and "support lies in [0, 1000000]" in p.expected
    grey = '{ distribution = "shell", center = [0.5, 0.5, 0.5], radius_min = 0, radius_max = 0.1 }'
    assert one_problem(tmp_path, material(grey, "color")).field == "randomizers[0].color"  # a point, not a colour
    axis = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nlocation = [0, 0, {shell}]\n'
    assert one_problem(tmp_path, axis).field == "randomizers[0].location[2]"
    # Its support against a range (locations within 1e6 m): one step past it is refused.
    far = '{ distribution = "shell", center = [999999, 0, 0], radius_min = 0, radius_max = R }'
    pose = CAMERA + ASSET + '[[randomizers]]\ntype = "pose"\ntargets = "a"\nlocation = '
    assert one_problem(tmp_path, pose + far.replace("R", "1.5") + "\n").field == "randomizers[0].location"
    load_config(write(tmp_path / "far.toml", pose + far.replace("R", "1") + "\n"))


def test_uniform_rotation_is_for_rotations(tmp_path):
    spec = '{ distribution = "uniform_rotation" }'
    ok = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nrotation = {spec}\n'
    assert load_config(write(tmp_path / "ok.toml", ok)).randomizers[0].params["rotation"].name == "uniform_rotation"
    p = one_problem(tmp_path, material(spec))
    assert p.field == "randomizers[0].roughness" and "uniform_rotation distribution draws" in p.expected
    # A vec3 that is not a rotation (metres, a camera's look_at) takes no Euler angles, alone or
    # in a mixture; the same mixture is a rotation's.
    mix = '{ distribution = "mixture", components = [[0, 0, 0], { distribution = "uniform_rotation" }] }'
    for param, value in (("location", spec), ("location", mix)):
        text = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\n{param} = {value}\n'
        p = one_problem(tmp_path, text)
        assert p.field == f"randomizers[0].{param}" and "only for a `rotation` parameter" in p.expected
    look = (
        CAMERA
        + f'[[randomizers]]\ntype = "camera"\ntargets = "cam"\ndistance = 2\nelevation = 30\nazimuth = 0\nlook_at = {spec}\n'
    )
    assert one_problem(tmp_path, look).field == "randomizers[0].look_at"
    rotation_mix = CAMERA + ASSET + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nrotation = {mix}\n'
    assert load_config(write(tmp_path / "mix.toml", rotation_mix)).randomizers[0].params["rotation"].name == "mixture"


def test_a_mixtures_components_have_the_parameters_kind_and_range(tmp_path):
    dark = '{ distribution = "mixture", components = [0.2, { distribution = "uniform", low = 0.5, high = HIGH }], weights = [1, 4] }'
    load_config(write(tmp_path / "ok.toml", material(dark.replace("HIGH", "1"))))
    p = one_problem(tmp_path, material(dark.replace("HIGH", "1.5")))
    assert p.field == "randomizers[0].roughness" and "[0, 1]" in p.expected
    kind = '{ distribution = "mixture", components = [0.2, [0, 0, 0]] }'
    assert one_problem(tmp_path, material(kind)).field == "randomizers[0].roughness.components[1]"


def test_a_light_entry_with_count_makes_named_copies(tmp_path):
    """Replicator's `rep.create.light(count=N)`: one entry, N lights NAME_000 .. NAME_N-1,
    which share the object namespace (a clash is named) and 1 .. 1000 of them."""
    from sdg_addon.config.schema import light_names

    light = '[[lights]]\nname = "lamp"\ntype = "point"\ncount = 3\n'
    cfg = load_config(write(tmp_path / "ok.toml", CAMERA + light))
    assert light_names(cfg.lights[0]) == ["lamp_000", "lamp_001", "lamp_002"]
    assert light_names(
        load_config(write(tmp_path / "one.toml", CAMERA + light.replace("count = 3\n", ""))).lights[0]
    ) == ["lamp"]
    p = one_problem(tmp_path, CAMERA + light + '[[assets]]\nname = "lamp_001"\nprimitive = "cube"\n')
    assert p.field == "assets[0].name" and "lamp_001" in p.value
    for count, ok in [(1000, True), (1001, False), (0, False)]:
        text = CAMERA + light.replace("count = 3", f"count = {count}")
        if ok:
            load_config(write(tmp_path / "edge.toml", text))
        else:
            assert one_problem(tmp_path, text).field == "lights[0].count"


def test_camera_intrinsics_from_a_k_matrix(tmp_path):
    """fx (pixels) becomes focal_length (mm) on the larger image side; cx, cy lie in the
    camera's image (its own size, else the render's), the edges included."""
    render = "[render]\nresolution = [640, 480]\n"

    def cam(fields: str) -> str:
        return render + '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n' + fields

    cfg = load_config(write(tmp_path / "k.toml", cam("fx = 572.4\ncx = 640\ncy = 0\n")))
    c = cfg.cameras[0]
    assert c.focal_length == pytest.approx(572.4 * 36 / 640) and (c.cx, c.cy) == (640, 0)
    own = cam("width = 320\nheight = 400\nfx = 400\n")
    assert load_config(write(tmp_path / "own.toml", own)).cameras[0].focal_length == pytest.approx(36.0)
    for fields, field, words in [
        ("fx = 500\nfocal_length = 35\n", "cameras[0].fx", "not both"),
        ('fx = 500\nprojection = "orthographic"\n', "cameras[0].fx", "perspective"),
        ("cx = 640.5\n", "cameras[0].cx", "0 .. 640"),
        ("cy = 480.01\n", "cameras[0].cy", "0 .. 480"),
        ("cx = -0.5\n", "cameras[0].cx", ""),
        ("width = 100\nheight = 80\ncx = 101\n", "cameras[0].cx", "0 .. 100"),
        ("fy = 500\n", "cameras[0].fy", "with fx"),
        ("fx = 500\nfy = 100000.001\n", "cameras[0].fy", "2.5 .. 100000"),
        ("fx = 500\nfy = 2.49999\n", "cameras[0].fy", "Blender's pixel aspect"),
    ]:
        p = one_problem(tmp_path, cam(fields))
        assert p.field == field and words in p.expected, (fields, p)
    # fy at Blender's pixel-aspect limits (fx / 200, fx x 200): accepted; fy > fx keeps the
    # focal length of fx on the larger side, fy < fx makes pixels taller, so a 640 x 480
    # image fits its sensor to the height once 480 x fx / fy > 640 (fy < 375). A sensor of
    # 200 mm keeps fy = 2.5's lens above Blender's least (1 mm).
    for fy, focal in [
        (2.5, 2.5 * 200 / 480),
        (100000, 500 * 200 / 640),
        (375.1, 500 * 200 / 640),
        (374.9, 374.9 * 200 / 480),
    ]:
        c = load_config(write(tmp_path / "fy.toml", cam(f"fx = 500\nfy = {fy}\nsensor_width = 200\n"))).cameras[0]
        assert (c.fy, c.focal_length) == (fy, pytest.approx(focal)), fy
    # A lens under 1 mm would be set to 1 mm by Blender (another K): refused, the sensor it needs said.
    p = one_problem(tmp_path, cam("fx = 500\nfy = 2.5\n"))
    assert p.field == "cameras[0].fx" and "sensor_width of at least 192 mm" in p.expected, p
    p = one_problem(tmp_path, cam("fx = 17.7\n"))  # 17.7 x 36 / 640 = 0.996 mm
    assert p.field == "cameras[0].fx" and "1 mm" in p.expected, p
    load_config(write(tmp_path / "fx.toml", cam("fx = 17.8\n")))  # 1.001 mm


@pytest.mark.parametrize(
    "fields, ok, field",
    [
        ("focal_length = 1", True, ""),
        ("focal_length = 0.999", False, "cameras[0].focal_length"),
        ("sensor_width = 1", True, ""),
        ("sensor_width = 0.999", False, "cameras[0].sensor_width"),
        ("clip_start = 1e-6", True, ""),
        ("clip_start = 0.9e-6", False, "cameras[0].clip_start"),
    ],
)
def test_camera_lens_and_clip_within_blenders_limits(tmp_path, fields, ok, field):
    """Blender's lens and sensor are at least 1 mm, its near clip at least 1e-6 m: a smaller
    value would be set to that without a word (another field of view than asked for)."""
    text = CAMERA + fields + "\n"
    if ok:
        load_config(write(tmp_path / "p.toml", text))
    else:
        assert one_problem(tmp_path, text).field == field


@pytest.mark.parametrize("name", ["audit", "coco", "YOLO", "kitti_velodyne", "preview", "clip_0003", "frames_0001000"])
def test_a_sensor_may_not_take_a_folder_the_tool_makes_in_the_output_folder(tmp_path, name):
    """A camera's (LiDAR's) name is its output sub-folder: `audit` would put its frames into
    the audit trail, `coco` into the COCO writer's folder, `frames_0001000` would read as a
    frames_per_folder folder (readers skip it). Refused, as every other bad value (case too:
    `YOLO` is `yolo` on Windows' and macOS' file systems)."""
    text = CAMERA + f'[[cameras]]\nname = "{name}"\nlocation = [0, 2, 1]\n'
    text += f'[[lidars]]\nname = "{name}_l"\nmount = "cam"\n' + '[[lidars]]\nname = "kitti"\nmount = "cam"\n'
    found = by_field(problems_of(write(tmp_path / "p.toml", text)))
    assert set(found) == {(str(tmp_path / "p.toml"), "cameras[1].name"), (str(tmp_path / "p.toml"), "lidars[1].name")}
    p = found[(str(tmp_path / "p.toml"), "cameras[1].name")]
    assert p.value == name and "output folder" in p.expected and "audit" in p.expected


def test_sensor_names_beside_the_tool_folders_are_fine(tmp_path):
    text = CAMERA + '[[cameras]]\nname = "audit_cam"\nlocation = [0, 2, 1]\n'
    text += '[[cameras]]\nname = "frames_left"\nlocation = [0, 3, 1]\n[[lidars]]\nname = "cocoon"\nmount = "cam"\n'
    cfg = load_config(write(tmp_path / "p.toml", text))
    assert [c.name for c in cfg.cameras] == ["cam", "audit_cam", "frames_left"]


def test_several_cameras_in_one_folder_are_refused(tmp_path):
    """writers.basic camera_subfolders = "never" puts every camera's files in one folder
    under the same names: with two cameras the second overwrote the first's (rgb_0000.png
    and every annotation) without a word. Refused; one camera (and a LiDAR beside it, whose
    files have names of their own) is fine."""
    two = CAMERA + '[[cameras]]\nname = "cam2"\nlocation = [0, 2, 1]\n'
    never = '[writers.basic]\ncamera_subfolders = "never"\n'
    found = by_field(problems_of(write(tmp_path / "p.toml", two + never)))
    p = found[(str(tmp_path / "p.toml"), "writers.basic.camera_subfolders")]
    assert p.value == "never" and "2 cameras" in p.expected
    lidar = '[[lidars]]\nname = "lidar"\nmount = "cam"\n'
    assert load_config(write(tmp_path / "q.toml", CAMERA + lidar + never)).writers["basic"]
    lidars = lidar + '[[lidars]]\nname = "lidar2"\nmount = "cam"\n'  # named as LiDARs, not as cameras
    p = by_field(problems_of(write(tmp_path / "s.toml", CAMERA + lidars + never)))[
        (str(tmp_path / "s.toml"), "writers.basic.camera_subfolders")
    ]
    assert "2 LiDARs" in p.expected and "lidar_0000.npy" in p.expected and "each LiDAR's" in p.expected, p.expected
    assert load_config(write(tmp_path / "r.toml", two + '[writers.basic]\ncamera_subfolders = "auto"\n'))


def test_sensor_folders_differing_only_in_case_are_refused(tmp_path):
    """Cameras "Left" and "left" are two Blender objects but one folder on Windows' and
    macOS' file systems (a dataset copied there, or written there), where one camera's
    files would overwrite the other's. Refused, naming the first."""
    text = (
        CAMERA + '[[cameras]]\nname = "Left"\nlocation = [0, 2, 1]\n[[cameras]]\nname = "left"\nlocation = [0, 3, 1]\n'
    )
    text += '[[lidars]]\nname = "CAM"\nmount = "cam"\n'
    found = by_field(problems_of(write(tmp_path / "p.toml", text)))
    here = str(tmp_path / "p.toml")
    assert set(found) == {(here, "cameras[2].name"), (here, "lidars[0].name")}
    assert "cameras[1]" in found[(here, "cameras[2].name")].expected
    assert "cameras[0]" in found[(here, "lidars[0].name")].expected


def test_a_trajectory_with_rigid_body_clips_is_refused(tmp_path):
    """With sequence.rigid_body the simulation moves every asset object: a trajectory of one
    would be logged but ignored, so it is refused, naming the entry."""
    text = (
        "[run]\nframes = 3\n"
        + CAMERA
        + '[sequence]\nclip_length = 3\nrigid_body = true\n[[assets]]\nname = "box"\nprimitive = "cube"\n'
        + '[[randomizers]]\ntype = "camera_trajectory"\ntargets = "cam"\nvelocity = [1, 0, 0]\n'
        + '[[randomizers]]\ntype = "trajectory"\ntargets = "box"\nvelocity = [1, 0, 0]\n'
    )
    found = by_field(problems_of(write(tmp_path / "p.toml", text)))
    assert list(found) == [(str(tmp_path / "p.toml"), "randomizers[1].type")]
    expected = found[(str(tmp_path / "p.toml"), "randomizers[1].type")].expected
    assert "sequence.rigid_body" in expected and "`initial_velocity` randomizer throws them" in expected
    # without rigid_body the same file loads (camera_trajectory is allowed with it: above)
    load_config(write(tmp_path / "q.toml", text.replace("rigid_body = true", "rigid_body = false")))


THROWN = (
    "[run]\nframes = 3\n"
    + CAMERA
    + '[sequence]\nclip_length = 3\nfps = 12\nstart_frame = 2\nrigid_body = true\n[[assets]]\nname = "box"\nprimitive = "cube"\n'
    + '[[randomizers]]\ntype = "initial_velocity"\ntargets = "box"\nvelocity = [1, 0, 2]\n'
    + 'angular_velocity = { distribution = "uniform", low = [0, 0, -90], high = [0, 0, 90] }\n'
)


def test_initial_velocity_needs_rigid_body_clips_from_frame_2_and_spins_below_half_a_turn_per_frame(tmp_path):
    """initial_velocity is the velocity of the clip's rigid bodies: without sequence.rigid_body
    it is refused, naming the field and what it needs; its pre-roll needs the two scene
    frames before each clip (Blender's rigid-body cache reads frame 0 or earlier back wrong,
    also without initial velocities: rigid_body needs start_frame >= 0); an angular velocity
    that may turn half a turn per frame would spin the other way round."""
    here = str(tmp_path / "p.toml")
    cfg = load_config(write(tmp_path / "p.toml", THROWN))
    assert cfg.randomizers[0].name == "initial_velocity"
    found = by_field(problems_of(write(tmp_path / "p.toml", THROWN.replace("rigid_body = true", ""))))
    assert list(found) == [(here, "sequence.rigid_body")]
    assert found[(here, "sequence.rigid_body")].expected.startswith("true with an initial_velocity randomizer")
    found = by_field(problems_of(write(tmp_path / "p.toml", THROWN.replace("start_frame = 2", "start_frame = 1"))))
    assert list(found) == [(here, "sequence.start_frame")]
    assert found[(here, "sequence.start_frame")].expected.startswith("2 or more with an initial_velocity")
    rest = THROWN.split("[[randomizers]]")[0]
    load_config(write(tmp_path / "p.toml", rest.replace("start_frame = 2", "start_frame = 0")))
    found = by_field(problems_of(write(tmp_path / "p.toml", rest.replace("start_frame = 2", "start_frame = -1"))))
    assert list(found) == [(here, "sequence.start_frame")]
    # 180 degrees per frame at 12 fps: 2160 degrees per second, the box's corner counts
    for spin in ("[0, 0, 2160]", '{ distribution = "uniform", low = [0, 0, 0], high = [1600, 1600, 0] }'):
        text = THROWN.replace(THROWN.split("angular_velocity = ")[1].rstrip(), spin)
        found = by_field(problems_of(write(tmp_path / "p.toml", text)))
        assert list(found) == [(here, "randomizers[0].angular_velocity")], spin
        assert (
            "below 180 x sequence.fps = 2160 degrees per second"
            in found[(here, "randomizers[0].angular_velocity")].expected
        )
    load_config(write(tmp_path / "p.toml", THROWN.replace("high = [0, 0, 90]", "high = [0, 0, 2150]")))


def test_a_refused_sequence_field_is_not_checked_again_at_its_default(tmp_path):
    """A sequence field refused for its type holds its default in the later checks: start_frame
    = 2.5 was refused, then said again as 'sequence.start_frame: got 1; expected 2 or more with
    an initial_velocity randomizer', a 1 the file does not hold (rigid_body = "yes" as 'got
    false', fps = "30" turned a spin of 5000 degrees per second, below its 5400, into one above
    the default's 4320); each is now one problem, the file's value."""
    here = str(tmp_path / "p.toml")
    spun = THROWN.replace("fps = 12", "fps = 30").replace("high = [0, 0, 90]", "high = [0, 0, 5000]")
    load_config(write(tmp_path / "p.toml", spun))
    for old, new in (
        ("start_frame = 2", "start_frame = 2.5"),
        ("start_frame = 2", 'start_frame = "2"'),
        ("rigid_body = true", 'rigid_body = "yes"'),
        ("fps = 30", 'fps = "30"'),
        ("clip_length = 3", "clip_length = 3.0"),
    ):
        found = by_field(problems_of(write(tmp_path / "p.toml", spun.replace(old, new))))
        field = "sequence." + old.split(" =")[0]
        assert list(found) == [(here, field)], (new, [str(p) for p in found.values()])
        assert found[(here, field)].value == tomllib.loads(new)[old.split(" =")[0]]


def test_resolved_records_which_look_a_model_files_entry_gives(tmp_path):
    """A model file keeps its materials' inputs that its entry leaves out: `look` in
    resolved.json says which it gives; a primitive (whose material is the add-on's) has none,
    so a primitives-only run resolves as it did before `look` existed (its --resume goes on)."""
    (tmp_path / "m.glb").write_bytes(b"")
    text = CAMERA + ASSET + '[[assets]]\nname = "m"\nfile = "m.glb"\nroughness = 0.2\n'
    assets = load_config(write(tmp_path / "p.toml", text)).resolved()["assets"]
    assert "look" not in assets[0] and assets[1]["look"] == ["roughness"]


def test_a_quota_cases_max_tries_is_bounded(tmp_path):
    """Each try renders the frame again: 1000 is taken, 1001 refused with the range (was:
    any number, so a typo of 10000000 rendered a frame for days)."""
    text = CAMERA + ASSET + '[run]\nframes = 4\n[[cases]]\nname = "c"\nmeasure = "pixels"\nmin = 1\nmax_tries = '
    assert load_config(write(tmp_path / "ok.toml", text + "1000\n")).cases[0].max_tries == 1000
    p = one_problem(tmp_path, text + "1001\n")
    assert p.field == "cases[0].max_tries" and p.value == 1001 and "1000" in p.expected


def test_a_toml_date_is_shown_as_the_date_it_is(tmp_path):
    """TOML has dates and times, JSON has none: a problem shows one as `<date 1979-05-27>`
    (was: Python's repr, and "a list nested too deep" for a date in a list)."""
    text = "[run]\nseed = 1979-05-27\n" + CAMERA
    text += '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nlook_at_objects = [1979-05-27T07:32:00]\n'
    shown = [str(p).split(": got ")[1].split("; expected")[0] for p in problems_of(write(tmp_path / "p.toml", text))]
    assert shown == ["<date 1979-05-27>", "[<datetime 1979-05-27T07:32:00>]"]


@pytest.mark.parametrize(
    "entry, field",
    [
        ('[[cameras]]\nname = "cam"\nlocation = [0, 0, 0]\n', "cameras[0].look_at"),  # the default look_at
        ('[[cameras]]\nname = "cam"\nlocation = [1, 2, 3]\nlook_at = [1, 2, 3]\n', "cameras[0].look_at"),
        (
            CAMERA + '[[lights]]\nname = "k"\ntype = "spot"\nlocation = [1, 1, 1]\nlook_at = [1, 1, 1]\n',
            "lights[0].look_at",
        ),
    ],
)
def test_a_look_at_at_the_location_is_refused(tmp_path, entry, field):
    """A camera or light aimed at its own location has no direction (it was built looking
    down −Z without a word); a rotation, a rig or another point is fine."""
    p = one_problem(tmp_path, entry)
    assert p.field == field and "a point other than the location" in p.expected, p
    if field.startswith("cameras"):
        load_config(
            write(tmp_path / "r.toml", '[[cameras]]\nname = "cam"\nlocation = [0, 0, 0]\nrotation = [0, 0, 0]\n')
        )
        assert "default look_at" in p.expected or "look_at = " in entry


def test_a_case_of_a_refused_entry_is_not_told_there_is_no_entry(tmp_path):
    """A pose entry with a problem of its own (max_tries = 0) is left out of the
    randomizers; a case setting pose values was then told "there is no pose entry", which
    the file plainly has. Only the entry's own problem is said."""
    text = CAMERA + '[[assets]]\nname = "a"\nprimitive = "cube"\n'
    text += '[[randomizers]]\ntype = "pose"\ntargets = "a"\nlocation = [0, 0, 0]\nmax_tries = 0\n'
    text += '[[cases]]\nname = "c"\nset = [{ type = "pose", target = "a", location = [0, 0, 1] }]\n'
    found = [p.field for p in problems_of(write(tmp_path / "p.toml", text))]
    assert found == ["randomizers[0].max_tries"], found
    # Without any pose entry it is still said.
    text = CAMERA + '[[assets]]\nname = "a"\nprimitive = "cube"\n'
    text += '[[cases]]\nname = "c"\nset = [{ type = "pose", target = "a", location = [0, 0, 1] }]\n'
    assert [p.field for p in problems_of(write(tmp_path / "p.toml", text))] == ["cases[0].set[0].type"]


def test_a_json_null_reads_as_the_key_left_out(tmp_path):
    """TOML has no null; in JSON a null for a field that may be absent (look_at, rig,
    file, a camera's width...) is read as leaving the key out, by every check: it was told
    "either look_at or rotation, not both" or "either primitive or file" for a null."""
    nulls = {
        "cameras": [
            {"name": "cam", "location": [0, -3, 2], "look_at": None, "rotation": [60, 0, 0], "width": None},
            {"name": "ir", "location": [0, 0, 0], "rig": "cam", "look_at": None, "height": None},
        ],
        "assets": [{"name": "a", "primitive": "cube", "file": None, "files": None, "labels": {"class": "a"}}],
        "randomizers": [{"type": "pose", "targets": "a", "location": [0, 0, 0]}],
        "cases": [{"name": "c", "min": None, "set": [{"type": "pose", "target": "a", "location": [0, 0, 1]}]}],
    }
    plain = json.loads(json.dumps(nulls))
    for table in [*plain["cameras"], *plain["assets"], *plain["cases"]]:
        for key in [k for k, x in table.items() if x is None]:
            del table[key]
    a = load_config(write(tmp_path / "nulls.json", json.dumps(nulls))).resolved()
    b = load_config(write(tmp_path / "plain.json", json.dumps(plain))).resolved()
    assert {k: x for k, x in a.items() if k not in ("files", "output")} == {
        k: x for k, x in b.items() if k not in ("files", "output")
    }


@pytest.mark.parametrize("value", ['"ab\\u0000cd"', '"a\\nb"', "5"])
def test_a_string_field_given_a_wrong_value_is_one_problem_naming_it(tmp_path, value):
    """run.output with a control character (or not a string): one problem, the value given
    and what a string field takes (before: "expected a string" for a string, then a second
    problem 'got ""; expected a folder path (not empty)', a value the file does not hold)."""
    p = write(tmp_path / "p.toml", f"[run]\nframes = 1\noutput = {value}\n" + CAMERA)
    problems = problems_of(p)
    assert [pr.field for pr in problems] == ["run.output"], problems
    assert problems[0].value != "" and "without control characters" in problems[0].expected


def test_an_asset_file_with_a_control_character_is_one_problem(tmp_path):
    asset = '[[assets]]\nname = "a"\nfile = "m\\u0000.glb"\n'
    problems = problems_of(write(tmp_path / "p.toml", "[run]\nframes = 1\n" + CAMERA + asset))
    assert [pr.field for pr in problems] == ["assets[0].file"], problems
    assert "without control characters" in problems[0].expected


def test_an_empty_output_is_refused_once(tmp_path):
    p = write(tmp_path / "p.toml", '[run]\nframes = 1\noutput = " "\n' + CAMERA)
    problems = problems_of(p)
    assert [(pr.field, pr.value) for pr in problems] == [("run.output", " ")]
    assert "not empty" in problems[0].expected


@pytest.mark.parametrize("name", ["BACKGROUND", "UNLABELLED"])
def test_the_masks_reserved_names_are_no_label_values(tmp_path, name):
    """semantic_segmentation_labels_N.json names the masks' id 0 BACKGROUND and id 1
    UNLABELLED (Replicator's): a class of either name was a second colour of that name, one
    class no reader can tell from no class, and the preview's legend hid it. Refused where a
    label value is given (an asset's labels, [labels] class, a .blend's labels, the Labels
    panel), naming the value; 'background' and 'Unlabelled' stay ordinary labels."""
    from sdg_addon.labels.parse import parse_labels
    from sdg_addon.ui.labels import check_label_text

    asset = f'[[assets]]\nname = "a"\nprimitive = "cube"\nlabels = {{ class = "{name}" }}\n'
    problems = problems_of(write(tmp_path / "a.toml", "[run]\nframes = 1\n" + CAMERA + asset))
    assert [pr.field for pr in problems] == ["assets[0].labels.class"], problems
    assert "not BACKGROUND or UNLABELLED" in problems[0].expected
    listed = f'[labels]\nclass = ["mug", "{name}"]\n'
    problems = problems_of(write(tmp_path / "b.toml", "[run]\nframes = 1\n" + CAMERA + listed))
    assert [pr.field for pr in problems] == ["labels.class[1]"], problems
    with pytest.raises(ValueError, match=f"label value '{name}'"):
        parse_labels(f"class:{name}")
    assert name in check_label_text("class", name)
    ordinary = '[[assets]]\nname = "a"\nprimitive = "cube"\nlabels = { class = ["background", "Unlabelled"] }\n'
    load_config(write(tmp_path / "c.toml", "[run]\nframes = 1\n" + CAMERA + ordinary))  # no ConfigError
    assert parse_labels("class:background") == {"class": ["background"]}


@pytest.mark.parametrize("label_type", ["t" * 64, "é" * 32])
def test_a_label_type_blender_cannot_store_is_refused_where_it_is_given(tmp_path, label_type):
    """A label type is a key of an object's 'semantics' property, and Blender limits such
    names to 63 bytes: a type of 64 .. 128 characters passed validation and stopped render
    and validate with a KeyError traceback where the labels were stored (an asset's labels,
    a [[label_rules]] type), and the Labels panel's Add Label alike. Refused now at every place
    a type is given, naming it; 63 bytes pass."""
    from sdg_addon.labels.parse import parse_labels
    from sdg_addon.labels.rules import NameRule
    from sdg_addon.ui.labels import check_label_text

    asset = f'[[assets]]\nname = "a"\nprimitive = "cube"\nlabels = {{ "{label_type}" = "mug" }}\n'
    problems = problems_of(write(tmp_path / "a.toml", "[run]\nframes = 1\n" + CAMERA + asset))
    assert len(problems) == 1 and problems[0].field.startswith("assets[0].labels.") and problems[0].value == label_type
    assert "at most 63 bytes in UTF-8" in problems[0].expected
    listed = f'[labels]\n"{label_type}" = ["mug"]\n'
    problems = problems_of(write(tmp_path / "b.toml", "[run]\nframes = 1\n" + CAMERA + listed))
    assert len(problems) == 1 and problems[0].field.startswith("labels.") and "63 bytes" in problems[0].expected
    rule = f'[[label_rules]]\ntype = "{label_type}"\n'
    problems = problems_of(write(tmp_path / "c.toml", "[run]\nframes = 1\n" + CAMERA + ASSET + rule))
    assert [pr.field for pr in problems] == ["label_rules[0]"] and "63 bytes" in problems[0].expected
    with pytest.raises(ValueError, match="63 bytes"):
        parse_labels(f"{label_type}:mug")
    assert "63 bytes" in check_label_text(label_type, "mug")
    fits = label_type[:-1] if label_type.isascii() else "é" * 31 + "a"  # 63 bytes
    assert check_label_text(fits, "mug") is None and NameRule(type=fits).check() is None
    asset = f'[[assets]]\nname = "a"\nprimitive = "cube"\nlabels = {{ "{fits}" = "mug" }}\n'
    load_config(write(tmp_path / "d.toml", "[run]\nframes = 1\n" + CAMERA + asset))  # no ConfigError


def test_assets_of_one_class_with_other_keypoints_are_refused_with_the_coco_writer(tmp_path):
    """Two assets of class 'box' with keypoints [top, base] and [a, b, c]: category 'box' got one
    asset's names and the other's annotations another count of keypoints, validate saying OK.
    With the COCO writer the later entry is refused naming the first; without it, or of
    another class, or with the same names and skeleton, they pass."""
    box = '[[assets]]\nname = "box"\nprimitive = "cube"\nlabels = {{ class = "{c}" }}\nkeypoints = {k}\n'
    one = box.format(c="box", k="{ top = [0, 0, 1], base = [0, 0, 0] }")
    other = box.format(c="box", k="{ a = [0, 0, 1], b = [0, 0, 0], c = [1, 0, 0] }").replace(
        '"box"\nprim', '"crate"\nprim'
    )
    coco = "[writers]\ncoco = {}\n"
    p = one_problem(tmp_path, CAMERA + one + other + coco)
    assert p.field == "assets[1].keypoints"
    assert "assets[0], of class 'box' too (['top', 'base']" in p.expected, p.expected
    load_config(write(tmp_path / "basic.toml", CAMERA + one + other))
    apart = other.replace('class = "box"', 'class = "crate"')
    load_config(write(tmp_path / "apart.toml", CAMERA + one + apart + coco))
    same = one.replace('"box"\nprim', '"crate"\nprim')
    load_config(write(tmp_path / "same.toml", CAMERA + one + same + coco))


@pytest.mark.parametrize("field", ["substeps_per_frame", "solver_iterations"])
@pytest.mark.parametrize("value, ok", [(1, True), (1000, True), (0, False), (1001, False)])
def test_the_rigid_body_worlds_steps_are_bounded(tmp_path, field, value, ok):
    text = f"[run]\nframes = 2\n[sequence]\nclip_length = 2\nrigid_body = true\n{field} = {value}\n" + CAMERA
    if ok:
        assert getattr(load_config(write(tmp_path / "c.toml", text)).sequence, field) == value
    else:
        assert one_problem(tmp_path, text).field == f"sequence.{field}"


def test_material_swaps_glob_is_taken_and_only_a_list_of_names_is_pointed_to_material(tmp_path):
    # 882d729's hint for Replicator's materials=[...] refused every glob too ("Metal*" is a name).
    swap = '[[randomizers]]\ntype = "material_swap"\ntargets = "*"\nmaterials = {}\n'
    cfg = load_config(write(tmp_path / "glob.toml", CAMERA + swap.format('"Metal*"')))
    assert cfg.randomizers[0].options["materials"] == "Metal*"
    p = one_problem(tmp_path, CAMERA + swap.format('["Wood", "Steel"]'))
    assert p.field == "randomizers[0].materials" and 'values = ["Wood", "Steel"]' in p.expected


def test_replicators_disk_and_rect_lights_are_said_to_be_area_lights_of_a_shape(tmp_path):
    """[[lights]] type = "disk" (Replicator's DiskLight) was answered 'Rect and Disk AREA',
    and an area light takes a shape now: the answer says which (a light randomizer's
    light_type the same)."""
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    text = '[[cameras]]\nname = "c"\nlocation = [0, -4, 2]\n[[lights]]\nname = "l"\ntype = "disk"\n'
    (p,) = problems_of(write(tmp_path / "p.toml", text))
    assert p.field == "lights[0].type" and "Rect and Disk AREA (`shape` RECTANGLE or DISK)" in p.expected
    light = RANDOMIZERS["light"]
    assert "with `shape` RECTANGLE or DISK" in light.name_problem(light, "light_type", ["disk"])[1]


def test_a_run_an_earlier_version_made_resumes_though_a_section_gained_a_field(tmp_path):
    """A field a later version adds (a light's shape and size_y) is absent from the
    resolved.json of a run an earlier one made: --resume after the upgrade was refused,
    'lights[0].shape: not set before, "SQUARE" now', though a file not giving it renders
    alike. Each entry's missing fields count at their defaults; one given otherwise still
    differs, and is named."""
    import json as _json

    from sdg_addon.audit import changed_parameters, config_fingerprint

    text = '[[cameras]]\nname = "c"\nlocation = [0, -4, 2]\n[[lights]]\nname = "l"\ntype = "area"\n'
    now = load_config(write(tmp_path / "p.toml", text)).resolved()
    now = _json.loads(_json.dumps(now, default=str))
    before = _json.loads(_json.dumps(now))
    for key in ("shape", "size_y"):
        del before["lights"][0][key]
    assert config_fingerprint(before) == config_fingerprint(now) and changed_parameters(before, now) == []
    disk = load_config(write(tmp_path / "p.toml", text + 'shape = "disk"\n')).resolved()
    assert changed_parameters(before, _json.loads(_json.dumps(disk, default=str))) == [
        'lights[0].shape: "SQUARE" before, "DISK" now'
    ]


def test_a_bop_dataset_named_as_a_sensors_folder_is_refused(tmp_path):
    """[writers.bop] dataset = "Cam" beside a camera `cam`: the BOP files were written into
    the camera's output sub-folder among the basic writer's (camera_params/, rgb/ ... beside
    train_pbr_cam/), without a word; refused, naming the camera. Another name is taken."""
    second = '[[cameras]]\nname = "side"\nlocation = [1, -2, 1]\n'
    path = write(tmp_path / "p.toml", CAMERA + second + '[writers.bop]\ndataset = "Cam"\n')
    (problem,) = problems_of(path)
    assert problem.field == "writers.bop.dataset" and problem.value == "Cam"
    assert "a name other than that of camera 'cam' (any case)" in problem.expected, problem.expected
    assert load_config(write(tmp_path / "q.toml", CAMERA + second + '[writers.bop]\ndataset = "ycbv"\n'))
