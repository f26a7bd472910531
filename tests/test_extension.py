"""The Blender extension: manifest, Blender's own validate/build, install into the running
bpy session, operators, panel drawing and the step-wise (modal) recorder.

The extension is installed into a temporary extensions repository (added through the
preferences API and removed afterwards), never into the user's profile.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from fake_layout import draw_panel, texts
from PIL import Image
from scenes import NO_GROUND, camera, header, render, sun, write_param

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
EXT_ID = MANIFEST["id"]
REPO = "sdg_pytest"
MODULE = f"bl_ext.{REPO}.{EXT_ID}"
OPERATORS = (
    "add_label",
    "remove_label",
    "rename_label_value",
    "label_by_rule",
    "validate_parameters",
    "start_recording",
    "cancel_recording",
    "dismiss_messages",
)
PANELS = ("SDG_PT_labels", "SDG_PT_recorder", "SDG_PT_randomizers")

TINY = (
    header((64, 48), samples=1, seed=3, frames=2)
    + NO_GROUND
    + camera((0.0, -3.0, 0.5), (0.0, 0.0, 0.5))
    + sun()
    + """
[[assets]]
name = "box"
primitive = "cube"
size = 0.8
labels = { class = "box" }

[annotators]
rgb = {}
instance_segmentation = {}
bounding_box_2d_tight = {}

[writers]
basic = {}
"""
)


# ---------------------------------------------------------------------------- no Blender needed
def test_manifest_fields():
    m = MANIFEST
    assert m["schema_version"] == "1.0.0"
    assert re.fullmatch(r"[a-z][a-z0-9_]*[a-z0-9]", m["id"]) and "__" not in m["id"]
    assert m["type"] == "add-on"
    assert m["license"] == ["SPDX:GPL-3.0-or-later"]
    assert tuple(int(x) for x in m["blender_version_min"].split(".")) >= (4, 2, 0)
    assert len(m["tagline"]) <= 64 and m["tagline"][-1].isalnum()
    assert m["permissions"]["files"] == "Read parameter files and write datasets"
    build = m["build"]
    assert not ("paths" in build and "paths_exclude_pattern" in build)


def test_core_imports_without_bpy():
    """sdg_addon (and labels.rules) import in plain Python, without bpy, Pillow or pycocotools."""
    code = (
        "import sys, sdg_addon, sdg_addon.recorder, sdg_addon.config, sdg_addon.ui, sdg_addon.labels.rules\n"
        "bad = [m for m in ('bpy', 'PIL', 'pycocotools') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


# Installed for the tests and the headless tool, absent from Blender's own Python.
NOT_IN_BLENDER = ("PIL", "isal", "pycocotools", "cv2", "webdataset", "yaml", "pypcd4")
RECORD_WITHOUT = """
import json, sys
from argparse import Namespace
from pathlib import Path
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now fails, as inside Blender
from headless.bench import bench_config
from headless.cli import main
preset, out = Path(sys.argv[1]), sys.argv[2]
data = bench_config(Namespace(file=preset, frames=2, resolution="64x48", samples=1, device="cpu",
                              writers=sys.argv[3], annotators=sys.argv[4] or None))
Path(out + ".json").write_text(json.dumps(data))
sys.exit(main(["render", out + ".json", "--out", out, "--worker-mode", "inline", "--quiet"]))
"""


ALL_IMAGE_WRITERS = "basic,coco,yolo,kitti,mot,webdataset,bop,pcd"


@pytest.mark.parametrize(
    "preset, annotators, writers",
    [
        ("default.toml", "all", ALL_IMAGE_WRITERS),  # augmentations with JPEG
        ("examples/thermal.toml", "", ALL_IMAGE_WRITERS),  # thermal TIFFs
        ("examples/lidar_30_objects.toml", "", "basic,kitti_velodyne,pcd"),
        ("examples/appearance.toml", "", "basic,coco"),  # procedural textures, sensor ops
    ],
)
def test_recording_needs_nothing_blenders_python_lacks(tmp_path, preset, annotators, writers):
    """Every annotator and writer, with Pillow, isal, pycocotools, OpenCV and the rest made
    unimportable: what a recording inside Blender has (its Python ships numpy, not these)."""
    out = tmp_path / "out"
    code = RECORD_WITHOUT.format(blocked=NOT_IN_BLENDER)
    args = [sys.executable, "-c", code, str(ROOT / "presets" / preset), str(out), writers, annotators]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(out.rglob("rgb_0001.png"))) + len(list(out.rglob("*0001.pcd"))) >= 1
    if "thermal" in preset:
        assert len(list(out.rglob("thermal_0001.tiff"))) == 1


def test_the_default_preset_makes_the_same_images_without_pillow(tmp_path):
    """Shot noise by table and JPEG through jpeg.py inside Blender, through Pillow outside
    it: the same seed gives the same images, to the bit."""
    code = RECORD_WITHOUT.format(blocked=NOT_IN_BLENDER)
    with_all = RECORD_WITHOUT.format(blocked=())
    preset = str(ROOT / "presets" / "default.toml")
    for name, source in (("without", code), ("with", with_all)):
        args = [sys.executable, "-c", source, preset, str(tmp_path / name), "basic", ""]
        proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
    from PIL import Image

    for frame in ("rgb_0000.png", "rgb_0001.png"):
        a, b = (np.asarray(Image.open(tmp_path / name / frame)) for name in ("without", "with"))
        assert np.array_equal(a, b), frame


@pytest.mark.parametrize(
    "name, expected",
    [
        ("mug_003", "mug"),
        ("mug.001", "mug"),
        ("mug_003.001", "mug"),
        ("SM_Chair_02", "chair"),
        ("Box", "box"),
        ("42", None),
    ],
)
def test_name_rule_defaults(name, expected):
    from sdg_addon.labels.rules import NameRule

    assert NameRule.from_text("", "SM_, GEO_", NameRule().suffix, True).value(name) == expected


def test_name_rule_pattern_groups():
    from sdg_addon.labels.rules import NameRule

    assert NameRule(pattern=r"^prop_(?P<value>[a-z]+)").value("prop_lamp_12") == "lamp"
    assert NameRule(pattern=r"^(\w+?)_").value("car_red_1") == "car"
    assert NameRule(pattern=r"^car").value("car_red_1") == "car_red"  # no group: the stripped name
    assert NameRule(pattern=r"^car").value("truck_1") is None
    assert NameRule(lowercase=False, suffix="").value("Mug_3") == "Mug_3"
    assert NameRule(pattern="(").check() is not None


# ---------------------------------------------------------------------------- Blender's extension tool
@pytest.fixture(scope="module")
def bpy_module():
    return pytest.importorskip("bpy")


@pytest.fixture(scope="module")
def ext_tool(bpy_module) -> Path:
    tool = (
        Path(bpy_module.utils.resource_path("LOCAL")) / "scripts" / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    )
    assert tool.is_file(), tool
    return tool


def run_tool(tool: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(tool), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def built_zip(ext_tool, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = run_tool(ext_tool, "build", "--source-dir", str(ROOT), "--output-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    zips = list(out.glob("*.zip"))
    assert [z.name for z in zips] == [f"{EXT_ID}-{MANIFEST['version']}.zip"]
    return zips[0]


def test_validate_passes(ext_tool):
    proc = run_tool(ext_tool, "validate", str(ROOT))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "FATAL" not in proc.stdout + proc.stderr


def test_validate_rejects_a_bad_manifest(ext_tool, tmp_path):
    """The check above can fail: the same tool rejects a tagline ending in a full stop."""
    (tmp_path / "__init__.py").write_text("")
    text = (ROOT / "blender_manifest.toml").read_text(encoding="utf-8")
    bad = re.sub(r'^tagline = "(.*)"$', r'tagline = "\1."', text, flags=re.M)
    assert bad != text
    (tmp_path / "blender_manifest.toml").write_text(bad, encoding="utf-8")
    proc = run_tool(ext_tool, "validate", str(tmp_path))
    assert proc.returncode != 0 or "FATAL" in proc.stdout + proc.stderr


def test_build_contents(built_zip, ext_tool):
    names = zipfile.ZipFile(built_zip).namelist()
    for required in (
        "blender_manifest.toml",
        "__init__.py",
        "LICENSE",
        "sdg_addon/__init__.py",
        "sdg_addon/recorder.py",
        "sdg_addon/ui/__init__.py",
        "sdg_addon/ui/labels.py",
        "sdg_addon/ui/recording.py",
        "presets/default.toml",
    ):
        assert required in names, required
    # docs/extension.md's allow-list of top-level entries is the zip's
    page = (ROOT / "docs" / "extension.md").read_text(encoding="utf-8")
    allowed = page.split("top level is left out except ")[1].split(";")[0]
    assert {n.split("/")[0] for n in names} == {n.rstrip("/") for n in re.findall(r"`([^`]+)`", allowed)}
    for name in names:
        assert not name.startswith(("tests/", "headless/", "docs/", ".venv/", "dist/", ".")), name
        assert "__pycache__" not in name and not name.endswith((".pyc", ".zip")), name
    proc = run_tool(ext_tool, "validate", str(built_zip))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_wheels_listed_in_the_manifest_are_bundled_despite_the_allow_list(ext_tool, tmp_path):
    """docs/extension.md says how to bundle pycocotools: wheels listed in the manifest go
    into the zip although the allow-list leaves `wheels/` out (the sentence said 'the same
    way', a way the page never described)."""
    import shutil

    page = (ROOT / "docs" / "extension.md").read_text(encoding="utf-8")
    assert "although the allow-list leaves `wheels/` out" in page and "wheels the same way" not in page
    src = tmp_path / "src"
    src.mkdir()
    for name in ("__init__.py", "LICENSE", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("sdg_addon", "presets"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheel = "sdgdummy-1.0-py3-none-any.whl"
    (src / "wheels").mkdir()
    with zipfile.ZipFile(src / "wheels" / wheel, "w") as z:
        z.writestr("sdgdummy/__init__.py", "")
    text = (ROOT / "blender_manifest.toml").read_text(encoding="utf-8")
    (src / "blender_manifest.toml").write_text(
        text.replace("[permissions]", f'wheels = ["./wheels/{wheel}"]\n\n[permissions]'), encoding="utf-8"
    )
    out = tmp_path / "dist"
    out.mkdir()
    proc = run_tool(ext_tool, "build", "--source-dir", str(src), "--output-dir", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("*.zip")
    assert f"wheels/{wheel}" in zipfile.ZipFile(built).namelist()


# ---------------------------------------------------------------------------- installed in bpy
@pytest.fixture(scope="module")
def addon(bpy_module, built_zip, tmp_path_factory):
    """The built zip installed into a temporary repository and enabled; removed afterwards."""
    import addon_utils

    bpy = bpy_module
    prefs = bpy.context.preferences
    saved = prefs.use_preferences_save
    prefs.use_preferences_save = False  # never write the user's preferences
    # Enabling an extension refreshes Blender's compatibility cache in the user's extensions
    # folder: put it back as it was afterwards.
    compat = Path(bpy.utils.user_resource("EXTENSIONS")) / ".cache" / "compat.dat"
    compat_before = compat.read_bytes() if compat.is_file() else None
    # An empty file that keeps preferences and add-ons (read_factory_settings would not).
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    directory = tmp_path_factory.mktemp("extensions")
    repo = prefs.extensions.repos.new(name=REPO, module=REPO, custom_directory=str(directory), source="USER")
    try:
        result = bpy.ops.extensions.package_install_files(filepath=str(built_zip), repo=REPO, enable_on_install=True)
        assert result == {"FINISHED"}
        assert (directory / EXT_ID / "blender_manifest.toml").is_file()
        assert MODULE in prefs.addons, [a.module for a in prefs.addons]
        yield SimpleNamespace(
            bpy=bpy,
            module=sys.modules[MODULE],
            job=sys.modules[f"{MODULE}.sdg_addon.ui.job"],
            recording=sys.modules[f"{MODULE}.sdg_addon.ui.recording"],
        )
    finally:
        if MODULE in prefs.addons:
            addon_utils.disable(MODULE, default_set=True)
        prefs.extensions.repos.remove(repo)
        for name in [m for m in sys.modules if m == MODULE or m.startswith(MODULE + ".")]:
            del sys.modules[name]
        prefs.use_preferences_save = saved
        bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
        if compat_before is not None:
            compat.write_bytes(compat_before)
        elif compat.is_file():
            compat.unlink()


@pytest.fixture
def scene(addon):
    """An empty scene with the add-on still enabled."""
    bpy = addon.bpy
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    assert MODULE in bpy.context.preferences.addons
    return bpy.context.scene


def add_mesh(bpy, name: str, collection=None):
    obj = bpy.data.objects.new(name, bpy.data.meshes.new(name))
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def select(bpy, objects, active=None):
    for o in bpy.context.scene.objects:
        o.select_set(o in objects)
    bpy.context.view_layer.objects.active = active or (objects[0] if objects else None)


def stored(obj) -> dict:
    value = obj.get("semantics")
    return value.to_dict() if hasattr(value, "to_dict") else value


def test_registered(addon):
    bpy = addon.bpy
    for op in OPERATORS:
        assert hasattr(bpy.ops.sdg, op), op
    for panel in PANELS:
        cls = getattr(bpy.types, panel)
        assert (cls.bl_space_type, cls.bl_region_type, cls.bl_category) == ("VIEW_3D", "UI", "SDG")
    assert hasattr(bpy.context.window_manager, "sdg")
    default = Path(bpy.context.window_manager.sdg.parameter_file)
    assert default.is_file() and default.name == "default.toml"  # the bundled preset, in the install


def test_add_and_remove_label(addon, scene):
    bpy = addon.bpy
    a, b, other = add_mesh(bpy, "a"), add_mesh(bpy, "b"), add_mesh(bpy, "other")
    select(bpy, [a, b])
    assert bpy.ops.sdg.add_label(label_type="class", value="mug") == {"FINISHED"}
    assert stored(a) == {"class": ["mug"]} and stored(b) == {"class": ["mug"]}
    assert "semantics" not in other
    bpy.ops.sdg.add_label(label_type="color", value="red")
    bpy.ops.sdg.add_label(label_type="color", value="glossy")
    assert stored(a) == {"class": ["mug"], "color": ["red", "glossy"]}
    bpy.ops.sdg.remove_label(label_type="color", value="red")
    assert stored(b) == {"class": ["mug"], "color": ["glossy"]}
    bpy.ops.sdg.remove_label(label_type="color", value="")  # the whole type
    assert stored(a) == {"class": ["mug"]}
    select(bpy, [a, b], active=b)
    bpy.ops.sdg.remove_label(label_type="class", value="mug", target="ACTIVE")
    assert "semantics" not in b and stored(a) == {"class": ["mug"]}
    with pytest.raises(RuntimeError, match="must not contain"):
        bpy.ops.sdg.add_label(label_type="class", value="a,b")
    with pytest.raises(RuntimeError, match="the value 'class:mug' repeats the type: type 'mug' alone"):
        bpy.ops.sdg.add_label(label_type="class", value="class:mug")  # was stored as class:class:mug
    with pytest.raises(RuntimeError, match="label value 'm\\\\tug' is not a non-empty string of at most 128"):
        bpy.ops.sdg.add_label(label_type="class", value="m\tug")  # a run of the .blend refuses it
    with pytest.raises(RuntimeError, match="at most 128 characters"):
        bpy.ops.sdg.add_label(label_type="class", value="m" * 129)
    # A type is a key of the 'semantics' property: Blender's 63 bytes (was a KeyError traceback).
    with pytest.raises(RuntimeError, match="label type 't{64}' is not a non-empty string of at most 63 bytes"):
        bpy.ops.sdg.add_label(label_type="t" * 64, value="mug")
    with pytest.raises(RuntimeError, match="at most 63 bytes"):
        bpy.ops.sdg.label_by_rule(label_type="t" * 64, scope="MESHES")
    # Nothing to label: a sentence saying what to click (was 'nothing to label (collection)').
    bpy.context.view_layer.active_layer_collection = bpy.context.view_layer.layer_collection
    with pytest.raises(RuntimeError, match="the active collection is the Scene Collection, which holds no labels"):
        bpy.ops.sdg.add_label(label_type="class", value="mug", target="COLLECTION")
    select(bpy, [], active=a)
    with pytest.raises(RuntimeError, match="no object is selected: select the objects to label"):
        bpy.ops.sdg.add_label(label_type="class", value="mug")


def test_labels_typed_in_the_other_unicode_form_are_the_stored_ones(addon, scene):
    """A label typed in the Labels panel decomposed (NFD: 'catégorie', 'café' pasted from
    a macOS file name) and the stored one composed print alike: Add Label stored a second
    type and value, Remove Label and Rename Label Value found nothing ('has no
    catégorie:café'). What is typed is composed, as a run reads every label."""
    import unicodedata

    bpy = addon.bpy
    nfc = {w: unicodedata.normalize("NFC", w) for w in ("catégorie", "café", "thé")}
    nfd = {w: unicodedata.normalize("NFD", w) for w in nfc}
    a = add_mesh(bpy, "a")
    select(bpy, [a])
    assert bpy.ops.sdg.add_label(label_type=nfc["catégorie"], value=nfc["café"]) == {"FINISHED"}
    bpy.ops.sdg.add_label(label_type=nfd["catégorie"], value=nfd["café"])  # it has it already
    assert stored(a) == {nfc["catégorie"]: [nfc["café"]]}
    assert bpy.ops.sdg.rename_label_value(label_type=nfd["catégorie"], old_value=nfd["café"], new_value=nfd["thé"]) == {
        "FINISHED"
    }
    assert stored(a) == {nfc["catégorie"]: [nfc["thé"]]}
    assert bpy.ops.sdg.remove_label(label_type=nfd["catégorie"], value=nfd["thé"]) == {"FINISHED"}
    assert "semantics" not in a


def test_add_label_to_collection_is_inherited(addon, scene):
    bpy = addon.bpy
    from sdg_addon.labels.blender import collection_parents, resolved_labels

    coll = bpy.data.collections.new("mugs")
    scene.collection.children.link(coll)
    obj = add_mesh(bpy, "thing", coll)
    bpy.context.view_layer.active_layer_collection = bpy.context.view_layer.layer_collection.children["mugs"]
    select(bpy, [obj])
    assert bpy.ops.sdg.add_label(label_type="class", value="mug", target="COLLECTION") == {"FINISHED"}
    assert stored(coll) == {"class": ["mug"]} and "semantics" not in obj
    assert resolved_labels(obj, collection_parents(scene)) == {"class": ["mug"]}


def test_label_by_rule(addon, scene, capfd):
    """(and says what it labelled: was 'Labelled 3', and 'Labelled 0' with nothing selected)"""
    bpy = addon.bpy
    objs = {n: add_mesh(bpy, n) for n in ("mug_003", "mug_004.001", "SM_Chair_02", "cube", "99")}
    objs["cube"]["semantics"] = {"class": ["box"]}
    select(bpy, [])
    capfd.readouterr()
    assert bpy.ops.sdg.label_by_rule(label_type="class", prefixes="SM_", scope="MESHES") == {"FINISHED"}
    assert "Labelled 3 object(s) (SM_Chair_02->chair, mug_003->mug," in capfd.readouterr().out
    assert stored(objs["mug_003"]) == {"class": ["mug"]}
    assert stored(objs["mug_004.001"]) == {"class": ["mug"]}
    assert stored(objs["SM_Chair_02"]) == {"class": ["chair"]}
    assert stored(objs["cube"]) == {"class": ["box"]}  # kept: overwrite is off
    assert "semantics" not in objs["99"]  # nothing left after stripping
    bpy.ops.sdg.label_by_rule(label_type="class", scope="SELECTED", overwrite=True)  # nothing selected
    assert stored(objs["cube"]) == {"class": ["box"]}
    assert "Label by Rule: no object is selected: select the objects to label" in capfd.readouterr().out
    select(bpy, [objs["cube"]])
    bpy.ops.sdg.label_by_rule(label_type="class", scope="SELECTED", overwrite=True)
    assert stored(objs["cube"]) == {"class": ["cube"]}
    with pytest.raises(RuntimeError, match="regular expression"):
        bpy.ops.sdg.label_by_rule(pattern="(")
    # Lowercase off makes 'BACKGROUND' of BACKGROUND_1, a value every run refuses (the masks'
    # id 0): it was written, and Start then failed; now refused, nothing labelled.
    back, plate = add_mesh(bpy, "BACKGROUND_1"), add_mesh(bpy, "plate_1")
    with pytest.raises(RuntimeError, match="the rule makes 'BACKGROUND' of object 'BACKGROUND_1'"):
        bpy.ops.sdg.label_by_rule(label_type="class", lowercase=False, scope="MESHES")
    assert "semantics" not in back and "semantics" not in plate


# ---------------------------------------------------------------------------- panels
def test_labels_panel_draws(addon, scene):
    bpy = addon.bpy
    coll = bpy.data.collections.new("kitchen")
    scene.collection.children.link(coll)
    coll["semantics"] = {"room": ["kitchen"]}
    mug = add_mesh(bpy, "mug_001", coll)
    mug["semantics"] = {"class": ["mug"]}
    for name in ("stray_a", "stray_b"):
        add_mesh(bpy, name)
    select(bpy, [mug])
    log = draw_panel(bpy, "SDG_PT_labels")
    text = texts(log)
    assert "mug_001" in text and "class:mug" in text
    assert "Inherited: room:kitchen" in text
    assert "2 mesh object(s) without a 'class' label" in text and "stray_a, stray_b" in text
    assert ("operator", "sdg.label_by_rule") in log and ("operator", "sdg.add_label") in log
    # No active object, a broken rule: still draws, and says what is wrong.
    bpy.context.window_manager.sdg.rule_pattern = "("
    try:
        text = texts(draw_panel(bpy, "SDG_PT_labels", active_object=None))
    finally:
        bpy.context.window_manager.sdg.rule_pattern = ""
    assert "No active object" in text and "not a valid regular expression" in text


def test_recorder_panel_draws_and_validates(addon, scene, tmp_path):
    bpy = addon.bpy
    settings = bpy.context.window_manager.sdg
    log = draw_panel(bpy, "SDG_PT_recorder")
    assert ("operator", "sdg.start_recording") in log and "Choose an output folder" in texts(log)
    settings.source = "FILE"
    bad = write_param(tmp_path, '[render]\nresolution = [64]\nsamples = "many"\n', "bad.toml")
    settings.parameter_file = str(bad)
    try:
        assert bpy.ops.sdg.validate_parameters() == {"FINISHED"}
        assert not addon.job.last_validation.ok
        text = texts(draw_panel(bpy, "SDG_PT_recorder"))
        assert "problem(s)" in text and "render.samples" in text
        settings.parameter_file = settings.bl_rna.properties["parameter_file"].default
        bpy.ops.sdg.validate_parameters()
        assert addon.job.last_validation.ok, addon.job.last_validation.problems
        assert "OK:" in texts(draw_panel(bpy, "SDG_PT_recorder"))
        # A problem only the built scene shows (a .blend's label that does not parse): headless
        # validate says it (exit 2); the panel's Validate said 'OK' and Start then failed. It
        # builds the scene as headless validate does, says the same, and the open scene stays.
        thing, cam = add_mesh(bpy, "thing"), bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
        bpy.context.scene.collection.objects.link(cam)  # (the fixture's scene went with the undo)
        thing["semantics"] = "oops"
        bpy.data.libraries.write(str(tmp_path / "b.blend"), {bpy.context.scene})
        del thing["semantics"]
        param = write_param(tmp_path, header((32, 24), samples=1) + '[scene]\nblend = "b.blend"\n', "b.toml")
        settings.parameter_file = str(param)
        bpy.ops.ed.undo_push(message="settings")
        assert bpy.ops.sdg.validate_parameters() == {"FINISHED"}
        problems = addon.job.last_validation.problems
        headless = subprocess.run(
            [sys.executable, "-m", "headless", "validate", str(param)], capture_output=True, text=True, cwd=ROOT
        )
        assert headless.returncode == 2 and problems and problems[0] in headless.stdout + headless.stderr, problems
        assert "labels that parse, in the 'semantics' custom property of object 'thing'" in problems[0]
        assert sorted(bpy.context.scene.objects.keys()) == ["cam", "thing"] and not list(bpy.data.libraries)
        assert "semantics" not in bpy.data.objects["thing"]
    finally:
        settings.property_unset("parameter_file")
        settings.property_unset("source")
        addon.job.last_validation = None


def test_validate_lists_the_warnings_render_would_give(addon, scene, tmp_path, capfd):
    """headless validate prints render's warnings of the file (recorder.file_notes) and of the
    built scene; the panel's Validate showed problems only, its warnings went nowhere an
    artist looks. It lists them as headless validate prints them (a box the user opens when
    many) and reports their count; a clean file shows none."""
    bpy = addon.bpy
    scene_part = header((64, 48), samples=1, seed=3, frames=2) + NO_GROUND + camera((0.0, -3.0, 0.5), (0.0, 0.0, 0.5))
    unlabelled = scene_part + sun() + '[[assets]]\nname = "box"\nprimitive = "cube"\nsize = 0.8\n'
    few = write_param(
        tmp_path,
        unlabelled + "[annotators]\nrgb = {}\ninstance_segmentation = {}\n[writers]\nbasic = {}\n"
        "coco = { val_every = 1 }\n",
        "few.toml",
    )
    many = write_param(  # no basic writer: motion_vectors is written by none, and nothing moves
        tmp_path,
        unlabelled + "[annotators]\nrgb = {}\ninstance_segmentation = {}\nmotion_vectors = {}\n"
        "[writers]\ncoco = { val_every = 1 }\n",
        "many.toml",
    )
    clean = write_param(tmp_path, TINY, "clean.toml")

    def validate(param):
        settings = bpy.context.window_manager.sdg
        settings.source, settings.parameter_file = "FILE", str(param)
        capfd.readouterr()
        assert bpy.ops.sdg.validate_parameters() == {"FINISHED"}
        reported = capfd.readouterr().out
        # The undo that restored the session leaves the window manager's settings as new:
        # the panel is drawn for the file validated.
        settings = bpy.context.window_manager.sdg
        settings.source, settings.parameter_file = "FILE", str(param)
        result = addon.job.last_validation
        assert result.ok, result.problems
        headless = subprocess.run(
            [sys.executable, "-m", "headless", "validate", str(param)], capture_output=True, text=True, cwd=ROOT
        )
        assert headless.returncode == 0, headless.stderr
        said = [line.removeprefix("WARNING: ") for line in headless.stderr.splitlines() if line.startswith("WARNING: ")]
        assert result.warnings == said  # the same warnings, in the same order
        return result.warnings, reported

    try:
        warnings, reported = validate(few)
        assert len(warnings) == 2, warnings
        assert warnings[0].startswith("writers send every frame to the val split: coco (val_every = 1: all in val")
        assert warnings[1] == (
            "no object in the scene has a semantic label: segmentation and boxes will be empty. "
            "Objects without labels: box"
        )
        assert "OK (2 frames, 64x48" in reported and f"; 2 warning(s); first: {warnings[0]}" in reported, reported
        log = draw_panel(bpy, "SDG_PT_recorder")
        text = texts(log)
        assert "OK: 2 frames" in text and "2 warning(s)" in text and all(w in text for w in warnings), text
        assert ("prop", "show_validation_warnings") not in log  # few: listed, no box to open
        assert addon.job.validate(str(few)).warnings == warnings[:1]  # unbuilt: the file's own, as --no-scene

        warnings, reported = validate(many)
        assert len(warnings) == 4 and warnings[0].startswith("annotators.motion_vectors: no writer of the run")
        assert "motion_vectors where nothing moves" in warnings[2], warnings
        assert "; 4 warning(s); first: annotators.motion_vectors" in reported, reported
        log = draw_panel(bpy, "SDG_PT_recorder")
        assert ("prop_text", "4 warning(s)", False) in log  # many: a box, closed
        assert not any(w in texts(log) for w in warnings)
        bpy.context.window_manager.sdg.show_validation_warnings = True
        text = texts(draw_panel(bpy, "SDG_PT_recorder"))
        assert all(w in text for w in warnings), text

        warnings, reported = validate(clean)
        assert warnings == [] and "warning(s)" not in reported and "OK (2 frames" in reported, reported
        log = draw_panel(bpy, "SDG_PT_recorder")
        assert "OK: 2 frames" in texts(log) and "warning" not in texts(log)
        assert ("prop", "show_validation_warnings") not in log
    finally:
        settings = bpy.context.window_manager.sdg
        for name in ("source", "parameter_file", "show_validation_warnings"):
            settings.property_unset(name)
        addon.job.last_validation = None


# ---------------------------------------------------------------------------- the modal recorder
@pytest.fixture
def tiny_settings(addon, scene, tmp_path):
    settings = addon.bpy.context.window_manager.sdg
    param = write_param(tmp_path, TINY, "tiny.toml")
    settings.source = "FILE"
    settings.parameter_file = str(param)
    settings.output_dir = str(tmp_path / "out")
    settings.existing = "STOP"
    yield settings
    for name in ("source", "parameter_file", "output_dir", "existing", "use_file_frames", "frame_count"):
        settings.property_unset(name)
    addon.job.current = None


def test_modal_recording_steps(addon, tiny_settings, tmp_path):
    bpy, jobs, recording = addon.bpy, addon.job, addon.recording
    scene_before = bpy.context.scene.name
    # The operator's own execute(): it creates the job, a timer and the modal handler. In
    # background mode no event loop drives the modal, so the test delivers its events.
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    assert job is not None and job.total == 2 and not bpy.ops.sdg.start_recording.poll()
    assert recording.handle_event(job, "MOUSEMOVE", "NOTHING") == "pass"  # the UI stays usable
    steps = 0
    while recording.handle_event(job, "TIMER", "NOTHING") == "wait":
        steps += 1
        assert steps <= 5
        log = draw_panel(bpy, "SDG_PT_recorder")  # draws mid-run: progress bar and Cancel
        assert ("operator", "sdg.cancel_recording") in log and any(e[0] == "progress" for e in log)
        assert "undone with the recording" in texts(log)
        # Ctrl+S would write the recording's scene into the user's file: kept from Blender.
        assert recording.handle_event(job, "S", "PRESS", ctrl=True) == "wait"
        assert recording.handle_event(job, "S", "PRESS") == "pass"  # plain S is the user's
        assert recording.handle_event(job, "Z", "PRESS", ctrl=True) == "wait"  # undo would pull the scene away
        assert "Save (Ctrl+S) is blocked while recording" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert job.state == "done", job.message
    assert steps == 3  # scene built, frame 0, frame 1
    out = tmp_path / "out"
    for f in (0, 1):
        assert (out / f"rgb_{f:04d}.png").is_file()
        assert (out / f"bounding_box_2d_tight_{f:04d}.npy").is_file()
    assert (out / "audit" / "manifest.json").is_file()
    assert sorted(job.recorder.result.frames_written) == [0, 1] and job.done == 2
    # The scene was built in place, then the open scene restored: the add-on (and its
    # operators) survived it, and the parameter file's objects are gone again.
    assert MODULE in bpy.context.preferences.addons and hasattr(bpy.types, "SDG_PT_recorder")
    assert "box" not in bpy.data.objects and bpy.context.scene.name == scene_before
    text = texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert "Done: 2 frame(s) written" in text
    # Recording again into the same folder stops with a clear message (no scene is touched).
    again = jobs.RecordingJob.from_settings(tiny_settings)
    assert again.step() is False and again.state == "failed" and "already holds 2" in again.message
    assert "choose Existing Frames: Resume" in again.message and "--" not in again.message  # the panel's words


def test_modal_recording_cancel_with_esc(addon, tiny_settings, tmp_path):
    bpy, jobs, recording = addon.bpy, addon.job, addon.recording
    tiny_settings.use_file_frames = False
    tiny_settings.frame_count = 4  # beyond the file's 2 frames: refused, as the headless --frames 0:4
    with pytest.raises(
        ValueError, match=r"Start 0 and Count 4 go past the file's frames: it has 2 frame\(s\), 0 \.\. 1"
    ):
        jobs.RecordingJob.from_settings(tiny_settings)
    assert not (tmp_path / "out").exists()
    tiny_settings.frame_count = 2
    job = jobs.RecordingJob.from_settings(tiny_settings)
    jobs.current = job
    assert job.total == 2
    assert recording.handle_event(job, "TIMER", "NOTHING") == "wait"  # builds the scene
    assert recording.handle_event(job, "TIMER", "NOTHING") == "wait"  # frame 0
    assert bpy.ops.sdg.cancel_recording.poll()
    assert recording.handle_event(job, "ESC", "PRESS") == "wait"
    assert job.state == "cancelling" and not bpy.ops.sdg.cancel_recording.poll()
    assert ("operator", "sdg.cancel_recording") in draw_panel(bpy, "SDG_PT_recorder")  # greyed out, saying why
    with pytest.raises(RuntimeError, match=r"cancel_recording.poll\(\) Already cancelling: the frames in flight"):
        bpy.ops.sdg.cancel_recording()
    assert recording.handle_event(job, "TIMER", "NOTHING") == "end"
    assert job.state == "cancelled", job.message
    assert sorted(job.recorder.result.frames_written) == [0]
    manifest = (tmp_path / "out" / "audit" / "manifest.json").read_text()
    assert '"interrupted": true' in manifest
    assert recording.handle_event(job, "TIMER", "NOTHING") == "end"  # over for good


# ---------------------------------------------------------------------------- the open scene, recorded
RECORDED = ("instance_segmentation", "semantic_segmentation", "bounding_box_2d_tight", "bounding_box_3d")


def hand_written(blend: Path, frames: int = 2) -> str:
    """The parameter file a user would write for the shop scene and the panel settings below."""
    return (
        header((64, 48), samples=2, seed=5, frames=frames)
        + f"""
[scene]
blend = "{blend.as_posix()}"
[annotators]
{chr(10).join(f"{a} = {{}}" for a in ("rgb", "distance_to_image_plane", *RECORDED))}
[writers]
basic = {{}}
[[randomizers]]
type = "pose"
targets = "can_*"
location = {{ distribution = "uniform", low = [-0.8, -0.4, 0.2], high = [0.8, 0.0, 0.2] }}
[[randomizers]]
type = "light"
targets = "Key"
energy = {{ distribution = "choice", values = [200, 600] }}
"""
    )


def panel_settings(bpy, scene, out: Path) -> None:
    """The recorder and randomizer panels set as a user would, for hand_written()."""
    s = scene.sdg
    s.run.seed, s.run.frames, s.run.samples, s.run.device = 5, 2, 2, "cpu"
    s.run.width, s.run.height = 64, 48
    s.run.output = str(out)
    for name in s.annotators.bl_rna.properties.keys():
        if name not in ("rna_type", "name"):
            setattr(s.annotators, name, name in ("rgb", "distance_to_image_plane", *RECORDED))
    for cam in ("CamA", "CamB"):
        select(bpy, [bpy.data.objects[cam]])
    select(bpy, [bpy.data.objects["can_a"], bpy.data.objects["can_b"]])
    assert bpy.ops.sdg.randomizer_add(type="pose") == {"FINISHED"}
    pose = s.randomizers[-1]
    assert pose.targets == "can_a, can_b" and [p.name for p in pose.params] == ["location", "rotation", "scale"]
    pose.targets = "can_*"
    row = pose.params["location"]
    row.use, row.distribution, row.low, row.high = True, "uniform", "[-0.8, -0.4, 0.2]", "[0.8, 0.0, 0.2]"
    select(bpy, [bpy.data.objects["Key"]])
    bpy.ops.sdg.randomizer_add(type="light")
    energy = s.randomizers[-1].params["energy"]
    energy.use, energy.distribution, energy.values = True, "choice", "[200, 600]"
    assert s.randomizers[-1].targets == "Key"


def dataset_files(out: Path) -> dict[str, bytes]:
    """Every file of a dataset but the audit trail, by relative path."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and "audit" not in p.relative_to(out).parts
    }


def test_open_scene_recorded_from_panel_equals_headless_runs(addon, tmp_path):
    """The acceptance test of recording the scene you have: the panel's operator (a), the
    exported parameter file headless (b) and a hand-written file naming the .blend (c) make
    identical datasets; objects keep their world transforms; inherited labels reach masks
    and boxes; the user's .blend is byte-identical afterwards and the open scene restored."""
    import hashlib

    import numpy as np
    from blend_scene import make_shop_blend

    bpy, recording, jobs = addon.bpy, addon.recording, addon.job
    blend = tmp_path / "shop.blend"
    matrices = make_shop_blend(blend)
    assert bpy.ops.wm.open_mainfile(filepath=str(blend)) == {"FINISHED"}
    assert MODULE in bpy.context.preferences.addons
    scene = bpy.context.scene
    panel_settings(bpy, scene, tmp_path / "a")
    # A working file's light viewport and a render region: the run changes both, in memory.
    sub = bpy.data.objects["crate_body"].modifiers.new("Subdivision", "SUBSURF")
    sub.levels, sub.render_levels = 0, 2
    scene.render.use_border = True
    # Camera switching: a marker binding CamB (the recording unbinds it for its renders only).
    scene.timeline_markers.new("cut", frame=scene.frame_current).camera = bpy.data.objects["CamB"]
    bpy.ops.wm.save_mainfile()  # the user saves the panel settings with the scene
    digest = hashlib.sha256(blend.read_bytes()).hexdigest()
    names_before = sorted(bpy.data.objects.keys())

    # The panel draws every part against Blender's own definitions.
    log = draw_panel(bpy, "SDG_PT_recorder")
    assert {
        ("prop", "sdg_record"),
        ("prop", "frames"),
        ("prop", "output"),
        ("prop", "view_transform"),
        ("prop", "look"),
        ("prop", "exposure"),
        ("prop", "gamma"),
        ("operator", "sdg.export_parameters"),
    } <= set(log)
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert ("operator", "sdg.preview_frame") in log and ("prop", "distribution") in log

    # (a) the panel's operator, stepped as its modal timer would
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    while recording.handle_event(job, "TIMER", "NOTHING") == "wait":
        pass
    assert job.state == "done", job.message
    # The open scene is as it was: randomized poses undone, nothing added or left behind.
    assert sorted(bpy.data.objects.keys()) == names_before
    for name, m in matrices.items():
        assert np.allclose(np.array(bpy.data.objects[name].matrix_world), m, atol=1e-5), name
    assert [vl.name for vl in bpy.context.scene.view_layers] == ["ViewLayer"]
    assert bpy.data.objects["crate_body"].modifiers["Subdivision"].levels == 0
    assert bpy.context.scene.render.use_border
    assert bpy.context.scene.timeline_markers["cut"].camera.name == "CamB"
    inputs = tmp_path / "a" / "audit" / "inputs"
    assert sorted(p.name for p in inputs.iterdir()) == ["SHA256SUMS", "shop.blend", "shop.toml"]
    assert bpy.ops.sdg.show_frame() == {"FINISHED"}
    image = bpy.data.images["SDG Last Frame"]
    assert tuple(image.size) == (4 * 64 + 3 * 2, 2 * 48 + 2)  # 4 tiles per camera, 2 cameras

    # (b) headless from the exported parameter file
    exported = tmp_path / "params" / "shop.toml"
    exported.parent.mkdir()
    assert bpy.ops.sdg.export_parameters(filepath=str(exported)) == {"FINISHED"}
    assert 'blend = "../shop.blend"' in exported.read_text()
    assert render(exported, tmp_path / "b") == 0
    # (c) headless from a hand-written file naming the .blend
    hand = write_param(tmp_path, hand_written(blend), "hand.toml")
    assert render(hand, tmp_path / "c") == 0

    a, b, c = (dataset_files(tmp_path / x) for x in "abc")
    assert a.keys() == b.keys() == c.keys() and len(a) > 20, sorted(a)
    for name in a:
        assert a[name] == b[name] == c[name], name
    assert hashlib.sha256(blend.read_bytes()).hexdigest() == digest  # the user's file, untouched
    # Each camera's own view, not the marker's camera's in both folders.
    shots = [(tmp_path / "a" / cam / "rgb" / "rgb_0000.png").read_bytes() for cam in ("CamA", "CamB")]
    assert shots[0] != shots[1]

    for cam in ("CamA", "CamB"):
        d = tmp_path / "a" / cam  # Replicator's <camera>/<annotator>/ layout
        for f in range(2):
            labels = json.loads(
                (d / "bounding_box_2d_tight" / f"bounding_box_2d_tight_labels_{f:04d}.json").read_text()
            )
            assert {"can", "crate"} <= {v["class"] for v in labels.values()}  # from collections, parents
            semantic = json.loads(
                (d / "semantic_segmentation" / f"semantic_segmentation_labels_{f:04d}.json").read_text()
            )
            assert {"can", "crate"} <= {v.get("class") for v in semantic.values()}
            paths = json.loads((d / "bounding_box_3d" / f"bounding_box_3d_prim_paths_{f:04d}.json").read_text())
            boxes = np.load(d / "bounding_box_3d" / f"bounding_box_3d_{f:04d}.npy")
            transforms = dict(zip(paths, boxes["transform"]))
            for path, name in (("/shop/crate", "crate"), ("/floor", "floor")):  # not randomized
                assert np.allclose(transforms[path].T, matrices[name], atol=1e-5), path


def test_label_rules_give_the_same_labels_in_the_panel_and_headless(addon, tmp_path):
    from blend_scene import make_shop_blend

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene.build import build_scene

    bpy = addon.bpy
    blend = tmp_path / "shop.blend"
    make_shop_blend(blend)
    rule = {"type": "part", "pattern": "^crate_(?P<value>[a-z]+)", "prefixes": "SM_"}
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    select(bpy, [])
    assert bpy.ops.sdg.label_by_rule(label_type="part", pattern=rule["pattern"], prefixes="SM_", scope="MESHES") == {
        "FINISHED"
    }
    by_panel = {o.name: stored(o) for o in bpy.context.scene.objects if "semantics" in o}
    table = {"scene": {"blend": blend.as_posix()}, "label_rules": [{**rule, "prefixes": ["SM_"]}]}
    build_scene(config_from_dict(table, tmp_path / "p.toml"))
    headless = {o.name: stored(o) for o in bpy.context.scene.objects if "semantics" in o}
    assert by_panel == headless and headless["crate_lid"] == {"part": ["lid"]}


def test_recording_refuses_with_sentences(addon, scene, tmp_path):
    bpy, jobs = addon.bpy, addon.job
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    scene.sdg.run.output = "//out"  # relative to a .blend that was never saved
    with pytest.raises(RuntimeError, match="never been saved: save the .blend first"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert "never been saved" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    (tmp_path / "notes.txt").write_text("mine")
    scene.sdg.run.output = str(tmp_path / "notes.txt")  # a file: refused at once, said in the panel
    with pytest.raises(RuntimeError, match="'.*notes.txt' is a file, not a folder: choose a folder"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert "is a file, not a folder" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    (tmp_path / "notes.txt").unlink()
    # A relative folder without '//' went to Blender's working folder (/, its install folder...).
    scene.sdg.run.output = "dataset"
    with pytest.raises(
        RuntimeError, match="relative to Blender's working folder .*: write '//dataset' for a folder next"
    ):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert "write '//dataset'" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    scene.sdg.run.output = str(tmp_path / "o")
    cam.sdg_record = False
    with pytest.raises(RuntimeError, match="No camera is ticked"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    cam.sdg_record = True
    select(bpy, [])
    bpy.ops.sdg.randomizer_add(type="pose")  # no targets: nothing selected
    with pytest.raises(RuntimeError, match="Randomizer 1 \\(pose\\): no targets"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert "no targets" in texts(draw_panel(bpy, "SDG_PT_recorder"))  # also said in the panel
    assert "or type names, or their labels in Target Labels" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    bpy.ops.sdg.randomizer_remove(index=0)
    a = scene.sdg.annotators
    ticked = [n for n in a.bl_rna.properties.keys() if n not in ("rna_type", "name") and getattr(a, n)]
    for name in ticked:
        setattr(a, name, False)
    with pytest.raises(RuntimeError, match="No annotator is ticked"):  # was: 'Done', no frame file written
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    for name in ticked:
        setattr(a, name, True)
    # Greyed out, its tooltip saying why, before a file browser is opened for nothing.
    with pytest.raises(RuntimeError, match=r"export_parameters.poll\(\) Save the .blend first \(File > Save\)"):
        bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "p.toml"))
    assert not list(tmp_path.iterdir())  # nothing written anywhere
    jobs.last_error = None


def test_randomizers_panel_add_reorder_edit_remove_preview(addon, scene, tmp_path):
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    bpy = addon.bpy
    cube = add_mesh(bpy, "cube")
    cube["semantics"] = {"class": ["box"]}
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    s = scene.sdg
    # Every registered type can be added, with its parameters and options as declared.
    for name, cls in RANDOMIZERS.items():
        select(bpy, [cube])
        assert bpy.ops.sdg.randomizer_add(type=name) == {"FINISHED"}
        item = s.randomizers[-1]
        assert [p.name for p in item.params] == list(cls.PARAMS) and [o.name for o in item.options] == list(cls.OPTIONS)
    assert [r.type for r in s.randomizers] == list(RANDOMIZERS)
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert sum(1 for e in log if e == ("operator", "sdg.randomizer_remove")) == len(RANDOMIZERS)
    # A required option (a texture's folder) is named so, and shown red until it is given.
    assert ("prop_text", "folder (required)", True) in log and ("prop_text", "surface", False) in log
    s.randomizers[list(RANDOMIZERS).index("texture")].options["folder"].value = '"textures"'  # JSON, as rows once were
    s.randomizers[list(RANDOMIZERS).index("world_hdri")].options["folder"].path = "hdris"
    assert ("prop_text", "folder (required)", False) in draw_panel(bpy, "SDG_PT_randomizers")
    assert ("prop_text", "folder (required)", True) not in draw_panel(bpy, "SDG_PT_randomizers")
    bpy.ops.sdg.randomizer_move(index=1, direction="UP")
    assert [r.type for r in s.randomizers][:2] == [list(RANDOMIZERS)[1], list(RANDOMIZERS)[0]]
    while len(s.randomizers) > 1:
        bpy.ops.sdg.randomizer_remove(index=len(s.randomizers) - 1)
    s.randomizers[0].type = "pose"  # changing the type gives the new type's parameter rows
    item = s.randomizers[0]
    assert [p.name for p in item.params] == list(RANDOMIZERS["pose"].PARAMS)
    item.targets = "cube"
    row = item.params["location"]
    row.use, row.distribution, row.value = True, "constant", "[0.5, 0.25, 1]"
    scale = item.params["scale"]  # a number or, per axis, a list of 3
    scale.use, scale.distribution, scale.value = True, "constant", "[1, 2, 0.5]"
    drawn = draw_panel(bpy, "SDG_PT_randomizers")
    assert any(e[:2] == ("prop_text", "value (e.g. 1.5 or [1, 2, 0.5])") for e in drawn)
    s.preview_frame = 3
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert tuple(bpy.data.objects["cube"].location) == (0.5, 0.25, 1.0)
    assert tuple(bpy.data.objects["cube"].scale) == (1.0, 2.0, 0.5)
    scale.use = False
    # Render Preview records frame f alone (into a temporary folder) and shows it.
    scene.sdg.run.width, scene.sdg.run.height, scene.sdg.run.samples, scene.sdg.run.device = 32, 24, 1, "cpu"
    assert bpy.ops.sdg.preview_render("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    assert list(job.options.frames) == [3]
    while addon.recording.handle_event(job, "TIMER", "NOTHING") == "wait":
        pass
    assert job.state == "done", job.message
    assert bpy.ops.sdg.show_frame() == {"FINISHED"} and "SDG Last Frame" in bpy.data.images
    row = bpy.context.scene.sdg.randomizers[0].params["location"]
    row.value = "[0.5, 0.25"
    with pytest.raises(RuntimeError, match="is not a value"):
        bpy.ops.sdg.preview_frame()


def test_the_last_render_previews_folder_goes_when_blender_quits(tmp_path):
    """Render Preview records into a temporary folder, removed at the next preview; the last
    one is removed when Blender (its Python) quits, so previews do not pile up in the temp folder."""
    folder = tmp_path / "sdg_preview_last"
    code = (
        "import sys, tempfile\n"
        "from sdg_addon.ui import randomizers\n"
        "randomizers._last_preview = tempfile.mkdtemp(prefix='sdg_preview_', dir=sys.argv[1])\n"
        "open(randomizers._last_preview + '/rgb_0003.png', 'wb').close()\n"
        "print(randomizers._last_preview)\n"
    )
    folder.mkdir()
    proc = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = Path(proc.stdout.strip().splitlines()[-1])
    assert made.parent == folder and not made.exists()


def test_import_fills_the_panels_and_export_writes_them_back(addon, tmp_path):
    import tomllib

    from blend_scene import make_shop_blend

    bpy = addon.bpy
    blend = tmp_path / "shop.blend"
    make_shop_blend(blend)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    param = tmp_path / "in.toml"
    param.write_text(
        # basic: a file written before colorize_instance_id_segmentation existed.
        hand_written(blend).replace("basic = {}", "basic = { colorize_instance_segmentation = false }")
        + '[[assets]]\nname = "ball"\nprimitive = "sphere"\nlabels = { class = "ball" }\n'
        + "[writers.coco]\npolygons = true\n"
        + '[[randomizers]]\ntype = "light"\ntargets = "Key"\nlocation = { distribution = "shell", '
        + "center = [0, 0, 1], radius_min = 2, radius_max = 3, elevation_min = 20, uniform_volume = true }\n"
        + 'energy = { distribution = "mixture", components = [5, { distribution = "uniform", low = 200, high = 800 }] }\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = "can_*"\nrotation = { distribution = "uniform_rotation" }\n'
    )
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    s = bpy.context.scene.sdg
    assert (s.run.seed, s.run.frames, s.run.width, s.run.samples) == (5, 2, 64, 2)
    assert [r.type for r in s.randomizers] == ["pose", "light", "light", "pose"]
    assert s.randomizers[0].targets == "can_*"
    assert s.randomizers[2].params["location"].distribution == "shell"  # every distribution has its rows
    assert s.randomizers[3].params["rotation"].distribution == "uniform_rotation"  # one without parameters
    assert s.writers.coco.enabled and s.writers.coco.polygons
    assert not s.writers.basic.colorize_instance_id_segmentation  # follows the older option
    assert "assets" in texts(draw_panel(bpy, "SDG_PT_recorder"))  # kept, and said so
    bpy.ops.wm.save_mainfile()
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    written, given = tomllib.loads(out.read_text()), tomllib.loads(param.read_text())
    for r in given["randomizers"]:
        r["targets"] = [r["targets"]]  # a single glob is written as a list
    assert written["randomizers"] == given["randomizers"] and written["assets"] == given["assets"]
    assert written["writers"]["coco"] == {"polygons": True} and written["scene"]["blend"] == "shop.blend"
    assert written["writers"]["basic"] == {"colorize_instance_segmentation": False}  # as given
    s.writers.basic.colorize_instance_id_segmentation = True  # now differs from the option it follows
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    basic = tomllib.loads(out.read_text())["writers"]["basic"]
    assert basic == {"colorize_instance_segmentation": False, "colorize_instance_id_segmentation": True}


def test_a_picked_folder_whose_name_holds_glob_characters_means_its_photos(addon, scene, tmp_path):
    """A background's folder picked in the panel ('//photos [2024]/', as Blender's file
    browser gives it) means every photo in it; it became the glob 'photos [2024]/*', whose
    [2024] a glob reads as one character of 2, 0 or 4: nothing matched, and Export (and Start)
    refused the settings ('a glob matching image files'). The folder's name is now escaped."""
    from PIL import Image

    bpy = addon.bpy
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    for folder in ("bg", "photos [2024]"):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.zeros((24, 32, 3), dtype=np.uint8)).save(tmp_path / folder / "a.png")
    param = tmp_path / "in.toml"
    param.write_text(
        header((32, 24), samples=1).replace("[render]\n", "[render]\nfilm_transparent = true\n")
        + '[scene]\nblend = "s.blend"\n'
        + '[[randomizers]]\ntype = "background"\ntargets = "cam"\nfiles = ["bg/*.png"]\n'
    )
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    bpy.context.scene.sdg.randomizers[0].options["files"].path = "//photos [2024]/"
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert tomllib.loads(out.read_text())["randomizers"][0]["files"] == "photos [[]2024]/*"


def test_background_files_show_in_the_panel_round_trip_and_record(addon, scene, tmp_path):
    from PIL import Image

    bpy = addon.bpy
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.location = (0, -4, 0)
    cam.rotation_euler = (1.5708, 0, 0)
    scene.collection.objects.link(cam)
    blend = tmp_path / "s.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    (tmp_path / "bg").mkdir()
    photo = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "bg" / "a.png")
    param = tmp_path / "in.toml"
    param.write_text(
        header((32, 24), samples=1).replace("[render]\n", "[render]\nfilm_transparent = true\n")
        + '[scene]\nblend = "s.blend"\n'
        + '[[randomizers]]\ntype = "background"\ntargets = "cam"\nfiles = ["bg/*.png"]\nfit = "stretch"\n'
    )
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    s = bpy.context.scene.sdg
    item = s.randomizers[0]
    assert item.type == "background" and s.run.film_transparent
    # Imported relative to the file it came from, the glob is held absolute (the panel's runs
    # write their parameter file elsewhere); exported, it is relative to the new file again.
    glob = (tmp_path / "bg" / "*.png").as_posix()
    assert (item.options["files"].value, item.options["fit"].value) == (json.dumps([glob]), '"stretch"')
    assert item.options["files"].path == json.dumps([glob])  # a list of globs: as in the file
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert ("prop_text", "files (required)", False) in log and ("prop_text", "fit", False) in log
    # files is a path field (Blender's browse button), fit a value
    assert log[log.index(("prop_text", "files (required)", False)) - 1] == ("prop", "path")
    assert log[log.index(("prop_text", "fit", False)) - 1] == ("prop", "value")
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    written = tomllib.loads(out.read_text())["randomizers"]
    assert written == [{"type": "background", "targets": ["cam"], "files": ["bg/*.png"], "fit": "stretch"}]
    (tmp_path / "sub").mkdir()
    assert bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "sub" / "out.toml")) == {"FINISHED"}
    assert tomllib.loads((tmp_path / "sub" / "out.toml").read_text())["randomizers"][0]["files"] == ["../bg/*.png"]
    # A folder picked with Blender's file browser (relative to the .blend, '//'): its photos.
    item.options["files"].path = "//bg/"
    assert item.options["files"].value == "//bg/"  # no JSON quotes
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert tomllib.loads(out.read_text())["randomizers"][0]["files"] == "bg/*"
    s.preview_frame = 0
    scene.sdg.run.device = "cpu"
    assert bpy.ops.sdg.preview_render("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    while addon.recording.handle_event(job, "TIMER", "NOTHING") == "wait":
        pass
    assert job.state == "done", job.message
    folder = Path(job.options.output)
    rgb = np.array(Image.open(folder / "rgb_0000.png"))
    assert (rgb[..., 3] == 255).all() and np.array_equal(rgb[..., :3], photo)  # nothing in view: the photo
    (rec,) = [json.loads(line) for line in (folder / "audit" / "frames.jsonl").read_text().splitlines()]
    assert rec["samples"][0]["values"]["cam"]["file"] == (tmp_path / "bg" / "a.png").resolve().as_posix()


def test_export_writes_imported_asset_files_relative_to_the_new_file(addon, scene, tmp_path):
    """Import holds an asset's file and an asset pool's glob absolute (as it does a
    randomizer's folder); Export writes them relative to the file it writes, as it does the
    randomizer's (was: absolute, a path of this machine in the exported file)."""
    from PIL import Image

    bpy = addon.bpy
    scene.collection.objects.link(bpy.data.objects.new("cam", bpy.data.cameras.new("cam")))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (tmp_path / "textures").mkdir()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(tmp_path / "textures" / "red.png")
    param = tmp_path / "in.toml"
    param.write_text(
        header((32, 24), samples=1)
        + '[scene]\nblend = "s.blend"\n'
        + '[[assets]]\nname = "tri"\nfile = "models/tri.obj"\n'
        + '[[assets]]\nname = "pool"\nfiles = "models/*.obj"\n'
        + '[[randomizers]]\ntype = "texture"\ntargets = "tri"\nfolder = "textures"\n'
    )
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    held = json.loads(bpy.context.scene.sdg.extra_json)["assets"]
    assert [a.get("file") or a.get("files") for a in held] == [
        (tmp_path / "models" / "tri.obj").as_posix(),
        (tmp_path / "models" / "*.obj").as_posix(),
    ]
    (tmp_path / "sub").mkdir()
    out = tmp_path / "sub" / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    written = tomllib.loads(out.read_text())
    assert [a.get("file") or a.get("files") for a in written["assets"]] == ["../models/tri.obj", "../models/*.obj"]
    assert written["randomizers"][0]["folder"] == "../textures"


def test_a_folder_typed_in_the_panel_is_relative_to_the_blend(addon, scene, tmp_path):
    """A texture folder picked with Blender's file browser reads `//textures/` (relative to
    the .blend): the recording finds it there, not next to its own parameter file (written
    elsewhere); an unsaved .blend has nothing to be relative to, which is said."""
    from PIL import Image

    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.sdg.randomizer_add(type="texture")
    folder = scene.sdg.randomizers[-1].options["folder"]
    assert folder.bl_rna.properties["path"].subtype == "DIR_PATH"  # Blender's folder browser
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert log[log.index(("prop_text", "folder (required)", True)) - 1] == ("prop", "path")
    folder.path = "//textures/"  # as the file browser sets it
    assert (folder.value, folder.path) == ("//textures/", "//textures/")  # no JSON quotes
    with pytest.raises(
        RuntimeError,
        match=r"\(texture\), folder: '//textures/' is relative to the .blend, but this file has never been",
    ):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    (tmp_path / "project" / "textures").mkdir(parents=True)
    Image.new("RGB", (4, 4), (200, 30, 30)).save(tmp_path / "project" / "textures" / "red.png")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "project" / "mine.blend"))
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    assert addon.job.current.state == "done", addon.job.current.message
    (rec, *_) = [json.loads(line) for line in (tmp_path / "out" / "audit" / "frames.jsonl").read_text().splitlines()]
    assert rec["samples"][-1]["values"]["crate"]["image"] == "red.png"


def test_infrared_panel_sets_what_thermal_and_nir_cameras_read(addon, scene):
    bpy = addon.bpy
    plate = add_mesh(bpy, "plate")
    select(bpy, [plate])
    log = draw_panel(bpy, "SDG_PT_infrared")
    assert log.count(("operator", "sdg.infrared_property")) == 3  # "Set ..." x 3 (no world: no sky row)
    assert bpy.ops.sdg.infrared_property(prop="sdg_temperature") == {"FINISHED"}
    assert plate["sdg_temperature"] == 293.15
    assert ("prop", '["sdg_temperature"]') in draw_panel(bpy, "SDG_PT_infrared")  # now edited in place
    bpy.ops.sdg.infrared_property(prop="sdg_emissivity")
    bpy.ops.sdg.infrared_property(prop="sdg_emissivity", remove=True)
    assert "sdg_emissivity" not in plate
    cam = bpy.data.objects.new("ir", bpy.data.cameras.new("ir"))
    scene.collection.objects.link(cam)
    select(bpy, [cam])
    assert bpy.ops.sdg.camera_sensor(sensor="thermal") == {"FINISHED"} and cam["sdg_sensor"] == "thermal"
    assert "ir: thermal camera" in texts(draw_panel(bpy, "SDG_PT_infrared"))
    bpy.ops.sdg.camera_sensor(sensor="visible")
    assert "sdg_sensor" not in cam
    scene.world = bpy.data.worlds.new("sky")
    bpy.ops.sdg.infrared_property(prop="sdg_temperature", owner="WORLD")
    assert scene.world["sdg_temperature"] == 293.15
    with pytest.raises(RuntimeError, match="'colour' is not a thermal / NIR property; one of 'sdg_temperature'"):
        bpy.ops.sdg.infrared_property(prop="colour")
    # Nothing to set it on: said as what to click (was "nothing to set 'sdg_temperature' on").
    select(bpy, [])
    with pytest.raises(RuntimeError, match="there is no active object: click the object to set it on"):
        bpy.ops.sdg.infrared_property(prop="sdg_temperature")
    scene.world = None
    with pytest.raises(RuntimeError, match="the scene has no world: add one in the World properties"):
        bpy.ops.sdg.infrared_property(prop="sdg_temperature", owner="WORLD")


def test_unregister_removes_everything(addon, bpy_module):
    """Last in this module: disable and enable again; nothing is left behind in between."""
    import addon_utils

    bpy = bpy_module
    addon_utils.disable(MODULE, default_set=True)
    try:
        assert not hasattr(bpy.ops.sdg, "add_label") or not _op_registered(bpy, "sdg.add_label")
        for panel in PANELS:
            assert not hasattr(bpy.types, panel)
        assert not hasattr(bpy.types.WindowManager, "sdg")
        for handlers in (bpy.app.handlers.load_pre, bpy.app.handlers.save_post):
            assert not any(getattr(h, "__module__", "").startswith(MODULE) for h in handlers)
    finally:
        addon_utils.enable(MODULE, default_set=True)
    assert hasattr(bpy.types, "SDG_PT_labels") and _op_registered(bpy, "sdg.add_label")


def _op_registered(bpy, idname: str) -> bool:
    module, name = idname.split(".")
    try:
        getattr(getattr(bpy.ops, module), name).get_rna_type()
    except (KeyError, AttributeError):
        return False
    return True


def test_preview_frame_runs_randomizers_that_need_scene_facts_or_their_entry(addon, scene):
    """Preview Frame applies a frame as a run does: scatter reads the scene's facts, the
    property randomizer its entry (path), checked first (it crashed on both before)."""
    bpy = addon.bpy
    cube = add_mesh(bpy, "cube")
    corners = [(x, y, z) for x in (-0.2, 0.2) for y in (-0.2, 0.2) for z in (0.0, 0.4)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    cube.data.from_pydata(corners, [], faces)
    cube["semantics"] = {"class": ["box"]}
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    s = scene.sdg
    select(bpy, [cube])
    assert bpy.ops.sdg.randomizer_add(type="scatter") == {"FINISHED"}
    s.randomizers[-1].options["center"].value = "[0, 0, 5]"
    assert bpy.ops.sdg.randomizer_add(type="property") == {"FINISHED"}
    item = s.randomizers[-1]
    item.options["path"].value = "hide_render"
    row = item.params["value"]
    row.use, row.distribution, row.value = True, "constant", "true"
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert 4.4 <= cube.location.z <= 5.6 and cube.hide_render is True
    item.options["path"].value = "hide_rendr"
    with pytest.raises(RuntimeError, match="did you mean 'hide_render'"):
        bpy.ops.sdg.preview_frame()


# ---------------------------------------------------------------------------- an artist's first session
def artist_scene(bpy, scene, out: Path):
    """A labelled cube in front of a camera, a pose randomizer lifting it, tiny settings."""
    cube = add_mesh(bpy, "crate")
    corners = [(x, y, z) for x in (-0.3, 0.3) for y in (-0.3, 0.3) for z in (0.0, 0.6)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    cube.data.from_pydata(corners, [], faces)
    cube["semantics"] = {"class": ["crate"]}
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.location, cam.rotation_euler = (0.0, -4.0, 0.5), (1.5708, 0.0, 0.0)
    scene.collection.objects.link(cam)
    s = scene.sdg
    s.run.frames, s.run.samples, s.run.width, s.run.height, s.run.device, s.run.seed = 3, 1, 64, 48, "cpu", 1
    s.run.output = str(out)
    select(bpy, [cube])
    bpy.ops.sdg.randomizer_add(type="pose")
    row = s.randomizers[-1].params["location"]
    row.use, row.distribution, row.value = True, "constant", "[0, 0, 0.25]"
    return cube


def run_to_end(addon, job) -> None:
    while addon.recording.handle_event(job, "TIMER", "NOTHING") == "wait":
        pass


def test_redo_after_a_recording_does_not_bring_back_the_recorded_scene(addon, scene, tmp_path):
    """The recording is undone at its end; Edit > Redo (Ctrl+Shift+Z) must not re-apply it
    (a save after that would write the randomized scene into the user's file)."""
    bpy = addon.bpy
    cube = artist_scene(bpy, scene, tmp_path / "out")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    assert addon.job.current.state == "done", addon.job.current.message
    cube = bpy.data.objects["crate"]
    assert tuple(cube.location) == (0.0, 0.0, 0.0)
    if bpy.ops.ed.redo.poll():
        bpy.ops.ed.redo()
    assert tuple(bpy.data.objects["crate"].location) == (0.0, 0.0, 0.0)


def test_resume_from_the_panel_continues_a_cancelled_recording(addon, scene, tmp_path):
    """Cancel, then Existing Frames: Resume with the same settings finishes the dataset
    (it failed with 'the parameters differ': a new copy of the open scene never has the
    same bytes); frames equal to an uninterrupted recording's; changed settings are refused
    by name."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "whole")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, jobs.current)
    s = bpy.context.scene.sdg
    s.run.output = str(tmp_path / "out")
    s.run.frames = 2  # grown to 3 when resumed, as the headless --resume allows
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    for _ in range(2):  # the scene built, frame 0
        addon.recording.handle_event(job, "TIMER", "NOTHING")
    addon.recording.handle_event(job, "ESC", "PRESS")
    run_to_end(addon, job)
    assert job.state == "cancelled" and sorted(job.recorder.result.frames_written) == [0]
    s = bpy.context.scene.sdg
    s.run.existing = "RESUME"
    s.run.samples = 2  # a setting that changes the frames: refused, named
    with pytest.raises(RuntimeError, match=r"settings differ .*\(render\)"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    s.run.samples = 1
    s.run.frames = 3
    bpy.data.objects["crate"].location.x = 5.0  # an edit after the start: not in this dataset
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    # Blender's progress bar (progress_begin(0, 3)) ends full: a resume stopped at 2 of 3.
    shown = []
    wm = SimpleNamespace(windows=[], progress_update=shown.append, progress_end=lambda: None)
    event = SimpleNamespace(type="TIMER", value="NOTHING", ctrl=False, oskey=False)

    class Modal(addon.recording.JobModal):
        def report(self, level, text):
            pass

    while Modal().modal(SimpleNamespace(window_manager=wm), event) == {"RUNNING_MODAL"}:
        pass
    assert job.state == "done", job.message
    assert job.total == 3 and shown[-1] == 3, shown
    assert sorted(job.recorder.result.frames_written) == [1, 2] and job.recorder.result.frames_skipped == [0]
    assert any("own copy of the scene" in w for w in job.warnings)
    assert bpy.data.objects["crate"].location.x == 5.0  # the open scene as the user left it
    whole, resumed = dataset_files(tmp_path / "whole"), dataset_files(tmp_path / "out")
    assert whole.keys() == resumed.keys() and len(whole) > 10
    for name in whole:
        assert whole[name] == resumed[name], name


def test_a_target_deleted_or_renamed_after_it_was_picked_is_named(addon, scene, tmp_path):
    """Use Selected wrote 'ball, crate'; the ball is deleted: Preview Frame and the recording
    say so (it was skipped silently), and a recording with only missing names is refused."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    item = scene.sdg.randomizers[-1]
    item.targets = "ball, crate"
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert "no objects named 'ball' (deleted or renamed?)" in jobs.last_error
    assert "deleted or renamed" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    run_to_end(addon, job)
    assert job.state == "done", job.message
    assert any("no objects named 'ball'" in w for w in job.warnings)
    bpy.context.scene.sdg.randomizers[-1].targets = "ball"
    bpy.context.scene.sdg.run.existing = "OVERWRITE"
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    run_to_end(addon, job)
    assert (
        job.state == "failed"
        and "Randomizer 1 (pose), targets: got ['ball']; expected patterns matching objects" in job.message
    ), job.message


def test_export_to_a_folder_or_a_missing_folder_is_refused_with_a_sentence(addon, scene, tmp_path):
    """Was a Python traceback, and '.NAME.tmp' left in the user's folder."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "mine.blend"))
    (tmp_path / "params.toml").mkdir()
    with pytest.raises(RuntimeError, match="params.toml is a folder: choose a file name"):
        bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "params.toml"))
    with pytest.raises(RuntimeError, match="the folder .*nope does not exist"):
        bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "nope" / "p.toml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.blend", "params.toml"]
    assert bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "p.json")) == {"FINISHED"}
    assert json.loads((tmp_path / "p.json").read_text())["scene"]["blend"] == "mine.blend"


def test_recorder_panel_says_what_differs_before_start(addon, scene, tmp_path):
    """A new scene's Color Management (AgX) is not the recording's default (Standard): the
    panel says so and one button takes the scene's values (was: only a warning after the
    recording, in parameter-file words). No ticked camera is said before Start too."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    scene.view_settings.view_transform, scene.view_settings.exposure = "AgX", 0.5
    log = draw_panel(bpy, "SDG_PT_recorder")
    text = texts(log)
    assert "not the recording's: view transform 'AgX' (the run's: 'Standard'); exposure 0.5" in text, text
    assert ("operator", "sdg.match_scene_colour") in log
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}  # the warning says the same
    run_to_end(addon, addon.job.current)
    (warning,) = [w for w in addon.job.current.warnings if "colour management" in w]
    assert "click Use the Scene's Color Management in the recorder panel" in warning and "[render]" not in warning
    assert bpy.ops.sdg.match_scene_colour() == {"FINISHED"}
    run = bpy.context.scene.sdg.run
    assert (run.view_transform, run.exposure) == ("AgX", 0.5)
    log = draw_panel(bpy, "SDG_PT_recorder")
    # The notice before Start is gone (the finished run's warning above still says it, as it was).
    assert ("operator", "sdg.match_scene_colour") not in log and "not the recording's: view transform" not in texts(log)
    assert "No camera is ticked" not in texts(log)
    bpy.data.objects["cam"].sdg_record = False
    assert "No camera is ticked: tick at least one" in texts(draw_panel(bpy, "SDG_PT_recorder"))


def test_recorder_panel_offers_the_scenes_image_size_and_film(addon, scene, tmp_path):
    """A scene framed at 128 x 96 at 50 % with a transparent film, recorded at 64 x 48 opaque:
    the panel says so before Start, the run's warning names the button, and the button takes
    the scene's size (at its percentage) and film, after which the recording's RGB is the
    scene's: 64 x 48 with the film's alpha (was: recorded opaque without a word)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage, r.film_transparent = 128, 96, 50, True
    scene.sdg.run.width, scene.sdg.run.height, scene.sdg.run.frames = 32, 24, 1
    log = draw_panel(bpy, "SDG_PT_recorder")
    assert (
        "The scene's image is not the recording's: size 64 x 48 (128 x 96 at 50%) (the run's: 32 x 24); "
        "film transparent (the run's: opaque)" in texts(log)
    ), texts(log)
    assert ("operator", "sdg.match_scene_image") in log
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    (warning,) = [w for w in addon.job.current.warnings if "image is not" in w]
    assert "click Use the Scene's Image Size and Film in the recorder panel: resolution = [64, 48]" in warning, warning
    assert bpy.ops.sdg.match_scene_image() == {"FINISHED"}
    run = bpy.context.scene.sdg.run
    assert (run.width, run.height, run.film_transparent) == (64, 48, True)
    log = draw_panel(bpy, "SDG_PT_recorder")
    assert ("operator", "sdg.match_scene_image") not in log and "image is not the recording's" not in texts(log)
    run.output = str(tmp_path / "matched")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    rgb = np.asarray(Image.open(tmp_path / "matched" / "rgb_0000.png"))
    assert rgb.shape == (48, 64, 4) and rgb[..., 3].min() == 0


def test_undo_from_the_menu_during_a_recording_stops_it_with_a_sentence(addon, scene, tmp_path):
    """Edit > Undo (not a key the modal can keep) replaces the scene being rendered: the
    recording stops saying why (was 'an unexpected error ... ReferenceError'), frames kept."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.ed.undo_push(message="the artist's last edit")  # a session's undo history
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    for _ in range(2):  # the scene built, frame 0
        addon.recording.handle_event(job, "TIMER", "NOTHING")
    bpy.ops.ed.undo()
    run_to_end(addon, job)
    assert job.state == "failed" and "the scene was replaced under the recording (Edit > Undo" in job.message
    assert (tmp_path / "out" / "rgb_0000.png").is_file()
    assert tuple(bpy.data.objects["crate"].location) == (0.0, 0.0, 0.0)  # the scene as before the recording


def test_a_save_from_the_menu_during_a_recording_is_said_at_its_end(addon, scene, tmp_path):
    """File > Save mid-run (not a key the modal can keep) writes the randomized scene: at
    the end the recording says so and to save again (was silent); its own copy is not counted."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    blend = tmp_path / "mine.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    run_to_end(addon, job)
    assert job.state == "done" and not any("saved while recording" in w for w in job.warnings)
    bpy.context.scene.sdg.run.existing = "OVERWRITE"
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    for _ in range(2):  # the scene built, frame 0
        addon.recording.handle_event(job, "TIMER", "NOTHING")
    bpy.ops.wm.save_mainfile()
    run_to_end(addon, job)
    assert job.state == "done", job.message
    assert "The .blend was saved while recording" in job.warnings[-1]
    assert "saved while recording" in texts(draw_panel(bpy, "SDG_PT_recorder"))


def test_start_recording_is_no_save_to_blender_and_its_scene_copy_finds_the_textures(addon, scene, tmp_path, capfd):
    """The scene copy for audit/inputs was save_as_mainfile(copy=True): Blender said "Saved
    copy as ..." (read as the user's file being saved) and ran every add-on's save handlers;
    its paths, relative to the temporary folder, pointed nowhere once in audit/inputs (a
    texture next to the .blend came out missing in the copy Resume and headless read)."""
    from sdg_addon.compat import enable_nodes

    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    project = tmp_path / "project"
    project.mkdir()
    image = bpy.data.images.new("wood", 4, 4)
    image.filepath_raw, image.file_format = str(project / "wood.png"), "PNG"
    image.save()
    material = bpy.data.materials.new("wood")
    enable_nodes(material)  # 4.2: a new material has no node tree until asked
    bpy.data.objects["crate"].data.materials.append(material)
    material.node_tree.nodes.new("ShaderNodeTexImage").image = image
    kept = bpy.data.materials.new("spare_paint")  # on no object: a material pool's, kept by its fake user
    kept.use_fake_user = True
    bpy.ops.wm.save_as_mainfile(filepath=str(project / "mine.blend"))
    image.filepath = "//wood.png"
    saves = []
    bpy.app.handlers.save_pre.append(saves.append)
    try:
        capfd.readouterr()
        assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
        run_to_end(addon, addon.job.current)
    finally:
        bpy.app.handlers.save_pre.remove(saves.append)
    assert addon.job.current.state == "done", addon.job.current.message
    assert "Saved copy as" not in capfd.readouterr().out and saves == []
    assert bpy.data.filepath == str(project / "mine.blend")
    (copy,) = (tmp_path / "out" / "audit" / "inputs").glob("*.blend")
    with bpy.data.libraries.load(str(copy)) as (src, dst):
        dst.images = ["wood"]
        assert "spare_paint" in src.materials  # the copy holds what the session holds, not only the scenes' use
    assert Path(bpy.path.abspath(dst.images[0].filepath)) == project / "wood.png"


def test_after_a_recording_the_panel_says_a_saved_file_lost_nothing(addon, scene, tmp_path, monkeypatch):
    """The restore's undo steps set Blender's unsaved-changes mark, which Python cannot clear
    (BlendData.is_dirty is read-only in 4.2 and 5.x): a file that had no unsaved changes at
    Start is said to have lost nothing; one with the user's own edits is not."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    # Background Blender never clears the mark (it is cleared by the save's notifier): stand in.
    monkeypatch.setattr(jobs, "file_has_unsaved_changes", lambda: False)
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, jobs.current)
    assert jobs.current.state == "done" and jobs.current.notes == [jobs.FILE_STILL_SAVED]
    assert "closing without saving loses nothing" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    monkeypatch.setattr(jobs, "file_has_unsaved_changes", lambda: True)  # edits made before Start
    bpy.context.scene.sdg.run.existing = "OVERWRITE"
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, jobs.current)
    assert jobs.current.state == "done" and jobs.current.notes == []
    assert "loses nothing" not in texts(draw_panel(bpy, "SDG_PT_recorder"))


def test_panel_messages_show_their_age_and_go_with_the_file_or_dismiss(addon, scene, tmp_path):
    """A refused Start and a finished recording stayed on the panel, undated, until the
    next Start, even after another file was opened: now they say when, Dismiss clears them
    and opening a file forgets them."""
    bpy, jobs = addon.bpy, addon.job
    assert jobs.ago(1000.0, now=1010.0) == "just now" and jobs.ago(1000.0, now=1300.0) == "5 min ago"
    assert jobs.ago(0.0, now=7300.0) == "2 h ago"
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.run.output = "dataset"  # relative to Blender's working folder: refused
    with pytest.raises(RuntimeError, match="write '//dataset'"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert "(just now)" in texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert bpy.ops.sdg.dismiss_messages() == {"FINISHED"}
    assert jobs.last_error is None and "just now" not in texts(draw_panel(bpy, "SDG_PT_recorder"))
    scene.sdg.run.output = str(tmp_path / "out")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    for _ in range(2):  # the scene built, frame 0
        addon.recording.handle_event(jobs.current, "TIMER", "NOTHING")
    # The progress line once (it was also repeated below the bar, with another rate and ETA).
    assert texts(draw_panel(bpy, "SDG_PT_recorder")).count("frames/s") == 1
    assert not bpy.ops.sdg.rename_label_value.poll()  # the open scene is the randomized one until the end
    run_to_end(addon, jobs.current)
    text = texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert re.search(r"Last recording: \d\d:\d\d \(just now\)", text) and "Done: 3 frame(s)" in text, text
    jobs.current.warnings[:] = [f"warning {i}" for i in range(5)]  # only the latest 3 shown: the rest said
    text = texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert "2 earlier warning(s) not shown" in text and "warning 1" not in text and "warning 4" in text
    bpy.ops.wm.read_homefile(use_empty=True)  # another file opened
    assert jobs.current is None and "Done:" not in texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert not bpy.ops.sdg.dismiss_messages.poll()


def test_rename_label_value_on_every_object_and_collection(addon, scene, capfd):
    """`class = "mugg"` typed on many objects was fixed one object at a time."""
    bpy = addon.bpy
    a, b, c, other = (add_mesh(bpy, n) for n in ("a", "b", "c", "other"))
    a["semantics"], b["semantics"] = {"class": ["mugg"]}, {"class": ["mugg"], "colour": ["red"]}
    c["semantics"] = {"class": ["mugg", "mug"]}  # the new value is not doubled
    other["semantics"] = {"kind": ["mugg"]}  # another type: kept
    shelf = bpy.data.collections.new("shelf")
    scene.collection.children.link(shelf)
    shelf["semantics"] = {"class": "mugg"}
    unlinked = bpy.data.objects.new("spare", None)  # in no scene: still the file's object
    unlinked["semantics"] = {"class": ["mugg"]}
    scene.sdg.extra_json = json.dumps({"assets": [{"name": "cup", "labels": {"class": "mugg"}}]})
    settings = bpy.context.window_manager.sdg
    settings.label_type, settings.rename_from, settings.rename_to = "class", "mugg", "mug"
    log = draw_panel(bpy, "SDG_PT_labels")
    assert ("operator", "sdg.rename_label_value") in log and ("prop", "rename_from") in log
    for bad, said in (("mu,g", "must not contain ','"), ("", "the label value is empty"), ("mugg", "is the old one")):
        with pytest.raises(RuntimeError, match=said):
            bpy.ops.sdg.rename_label_value(label_type="class", old_value="mugg", new_value=bad)
    assert stored(a) == {"class": ["mugg"]}
    bpy.ops.ed.undo_push(message="before the rename")
    capfd.readouterr()
    result = bpy.ops.sdg.rename_label_value("EXEC_DEFAULT", True, label_type="class", old_value="mugg", new_value="mug")
    assert result == {"FINISHED"}
    out = capfd.readouterr().out
    assert "Renamed class:mugg to class:mug on 4 object(s) and 1 collection(s)" in out, out
    assert "imported parameter sections still name class:mugg (assets[0].labels)" in out, out
    assert stored(a) == {"class": ["mug"]} and stored(b) == {"class": ["mug"], "colour": ["red"]}
    assert stored(c) == {"class": ["mug"]} and stored(other) == {"kind": ["mugg"]}
    assert stored(shelf) == {"class": ["mug"]} and stored(unlinked) == {"class": ["mug"]}
    with pytest.raises(RuntimeError, match="no object or collection has the label class:mugg"):
        bpy.ops.sdg.rename_label_value(label_type="class", old_value="mugg", new_value="mug")
    bpy.ops.ed.undo()
    assert stored(bpy.data.objects["a"]) == {"class": ["mugg"]}


def test_recorder_panel_draws_every_setting_of_the_recording(addon, scene, tmp_path):
    """Every setting of scene.sdg.run (made from the run and render declarations) is drawn:
    Denoise and Film Transparent were not, so a background randomizer (which needs a
    transparent film) was refused at Start with no box in the panel to tick."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    run = scene.sdg.run
    drawn = {entry[1] for entry in draw_panel(bpy, "SDG_PT_recorder") if entry[0] == "prop"}
    settings = set(run.bl_rna.properties.keys()) - {"rna_type", "name"}
    assert settings <= drawn, sorted(settings - drawn)
    Image.new("RGB", (4, 4), (200, 30, 30)).save(tmp_path / "photo.png")
    bpy.ops.sdg.randomizer_add(type="background")
    scene.sdg.randomizers[-1].targets = "cam"
    scene.sdg.randomizers[-1].options["files"].path = str(tmp_path / "*.png")
    with pytest.raises(RuntimeError, match="film_transparent"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert "Film Transparent" in texts(draw_panel(bpy, "SDG_PT_recorder"))  # the message names the box


def test_randomizer_triggers_are_imported_shown_and_exported(addon, scene, tmp_path):
    """A randomizer's trigger and interval (when it draws: every N frames, or once) are in
    the panel and go through Import and Export (they were dropped on Import: the panel's
    recording drew every frame what the file drew every 5 frames, and Export lost them)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "base.blend"), copy=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    param = tmp_path / "in.toml"
    param.write_text(
        header((64, 48), samples=1)
        + '[scene]\nblend = "s.blend"\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = ["crate"]\ntrigger = "frame"\ninterval = 5\n'
        + 'location = { distribution = "uniform", low = [0, 0, 0], high = [1, 1, 1] }\n'
        + '[[randomizers]]\ntype = "world"\ntrigger = "once"\nstrength = { distribution = "uniform", low = 1, high = 2 }\n'
    )
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    s = bpy.context.scene.sdg
    assert [(r.trigger, r.interval) for r in s.randomizers] == [("frame", 5), ("once", 1)]
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert log.count(("prop", "trigger")) == 2 and log.count(("prop", "interval")) == 2
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    written = tomllib.loads(out.read_text())["randomizers"]
    assert [(r.get("trigger"), r.get("interval")) for r in written] == [(None, 5), ("once", None)]  # defaults left out
    s.randomizers[0].trigger, s.randomizers[1].trigger = "frame", "frame"
    s.randomizers[0].interval = 1  # the defaults: nothing written
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert all("trigger" not in r and "interval" not in r for r in tomllib.loads(out.read_text())["randomizers"])


def test_label_targets_are_imported_shown_edited_exported_and_previewed(addon, scene, tmp_path):
    """A file whose randomizers target by label (`targets = { class = "crate" }`) comes
    into the panel as its Target Labels (the names left empty), is drawn, and Export writes
    the same tables back; a table typed in the panel (braces optional) is exported as the
    file writes it, one that is not TOML is refused naming the randomizer, Preview Frame
    moves the labelled object, and Use Selected makes the names choose again."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    add_mesh(bpy, "bin")["semantics"] = {"class": ["bin"], "color": ["red"]}
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "base.blend"), copy=True)  # the file's, not the one open
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    param = tmp_path / "in.toml"
    given = [
        {"class": "crate"},
        {"class": ["crate", "bi*"], "color": "red"},
    ]
    param.write_text(
        header((64, 48), samples=1)
        + '[scene]\nblend = "base.blend"\n[labels]\ncolor = []\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = { class = "crate" }\nlocation = [0, 0, 2]\n'
        + '[[randomizers]]\ntype = "visibility"\ntargets = { class = ["crate", "bi*"], color = "red" }\nvisible = true\n'
        + '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nlocation = [0, -4, 0.5]\nlook_at = [0, 0, 0.3]\n'
    )
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    s = bpy.context.scene.sdg
    assert [(r.targets, r.target_labels) for r in s.randomizers] == [
        ("", '{ class = "crate" }'),
        ("", '{ class = ["crate", "bi*"], color = "red" }'),
        ("cam", ""),
    ]
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert log.count(("prop", "target_labels")) == 2  # not for the camera: cameras carry no labels
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    written = tomllib.loads(out.read_text())["randomizers"]
    assert [r["targets"] for r in written] == [*given, ["cam"]]
    s.randomizers[1].target_labels = 'color = ["red", "blue"], class = "bin"'  # typed without braces
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert tomllib.loads(out.read_text())["randomizers"][1]["targets"] == {"color": ["red", "blue"], "class": "bin"}
    s.randomizers[1].target_labels = "class = crate"  # a bare word is no TOML string
    with pytest.raises(
        RuntimeError, match=r"Randomizer 2 \(visibility\), Target Labels: 'class = crate' is not a table"
    ):
        bpy.ops.sdg.export_parameters(filepath=str(out))
    s.randomizers[1].target_labels = 'class = "bin"'
    crate = bpy.data.objects["crate"]
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert tuple(crate.location) == (0.0, 0.0, 2.0) and bpy.data.objects["bin"].location.z == 0.0
    select(bpy, [bpy.data.objects["bin"]])
    assert bpy.ops.sdg.randomizer_use_selected(index=0) == {"FINISHED"}
    assert (s.randomizers[0].targets, s.randomizers[0].target_labels) == ("bin", "")
    settings = bpy.context.window_manager.sdg
    settings.parameter_file = str(param)
    try:  # Validate lists what the labels chose, as headless validate prints it
        assert bpy.ops.sdg.validate_parameters() == {"FINISHED"}
        chosen = [
            'randomizers[0] (pose): targets = { class = "crate" }: 1 object(s), crate',
            'randomizers[1] (visibility): targets = { class = ["crate", "bi*"], color = "red" }: 1 object(s), bin',
        ]
        assert addon.job.last_validation.chosen == chosen, addon.job.last_validation.problems
        # The undo that restored the session leaves the window manager's settings as new (in
        # the bpy module, no window): the panel is drawn for the file validated.
        settings = bpy.context.window_manager.sdg
        settings.source, settings.parameter_file = "FILE", str(param)
        shown = texts(draw_panel(bpy, "SDG_PT_recorder"))
        assert all(line in shown for line in chosen), shown
    finally:
        settings = bpy.context.window_manager.sdg  # (a pointer from before the undo is stale)
        settings.property_unset("source")
        settings.property_unset("parameter_file")
        addon.job.last_validation = None


def test_target_labels_of_a_type_the_open_scene_carries_record_without_a_labels_table(addon, scene, tmp_path):
    """The panels have no [labels]: Target Labels `color = "red"` on a scene labelled in the
    Labels panel (semantics color:red) was refused as a type the file does not declare. A
    type the open scene carries is declared for it (`[labels] color = []`, Export too); one
    it lacks is still refused, naming those declared."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    add_mesh(bpy, "bin")["semantics"] = {"class": ["bin"], "color": ["red"]}
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    item = scene.sdg.randomizers[0]
    item.target_labels = 'color = "red"'
    item.params["location"].value = "[0, 0, 2]"
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert bpy.data.objects["bin"].location.z == 2.0 and bpy.data.objects["crate"].location.z == 0.0
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    written = tomllib.loads(out.read_text())
    assert written["labels"] == {"color": []} and written["randomizers"][0]["targets"] == {"color": "red"}
    item.target_labels = 'class = "crate"'  # class is always declared: no [labels] written
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert "labels" not in tomllib.loads(out.read_text())
    item.target_labels = 'colour = "red"'
    with pytest.raises(RuntimeError, match=r"colour.*declared: 'class'"):
        bpy.ops.sdg.preview_frame()
    # a type typed decomposed (NFD, pasted from a macOS name) is the scene's composed one
    import unicodedata

    nfc, nfd = (unicodedata.normalize(f, "catégorie") for f in ("NFC", "NFD"))
    bpy.data.objects["bin"]["semantics"] = {"class": ["bin"], nfc: ["rouge"]}
    item.target_labels = f'"{nfd}" = "rouge"'
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert tomllib.loads(out.read_text(encoding="utf-8"))["labels"] == {nfc: []}


def test_target_labels_of_a_type_only_instanced_objects_carry_record(addon, scene, tmp_path):
    """A label type carried only by the objects of a collection an empty instances (an asset
    library's props, in no scene) was left undeclared, so Target Labels `color = "red"` was
    refused as 'a label type the file declares ... declare it in [labels]', which the panels
    have no field for; it is declared as for the scene's own objects."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    lib = bpy.data.collections.new("lib")  # linked to no scene
    jar = add_mesh(bpy, "jar", lib)
    jar.data.from_pydata([(x, y, z) for x in (-0.2, 0.2) for y in (-0.2, 0.2) for z in (0.0, 0.4)], [], [])
    jar["semantics"] = {"class": ["jar"], "color": ["red"]}
    holder = bpy.data.objects.new("jars", None)
    holder.instance_type, holder.instance_collection, holder.location = "COLLECTION", lib, (1.0, 0.0, 0.0)
    scene.collection.objects.link(holder)
    bpy.ops.sdg.randomizer_remove(index=0)
    bpy.ops.sdg.randomizer_add(type="visibility")
    item = scene.sdg.randomizers[0]
    item.target_labels, item.params["visible"].use, item.params["visible"].value = 'color = "red"', True, "false"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    out = tmp_path / "p.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert tomllib.loads(out.read_text())["labels"] == {"color": []}


def test_a_refused_target_labels_is_named_as_the_panels_field(addon, scene, tmp_path):
    """A problem of a randomizer's targets by label is in its Target Labels field, not in
    Targets (its names, greyed out then): was 'Randomizer 1 (pose), targets.class: got []' and
    'targets: got {'class': 'nothing'}' at Preview, Start and Export; the table is quoted as the
    field writes it (TOML), not as Python's repr."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "base.blend"), copy=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    item = scene.sdg.randomizers[0]
    item.target_labels = "class = []"
    for call in (
        bpy.ops.sdg.preview_frame,
        lambda: bpy.ops.sdg.start_recording("EXEC_DEFAULT"),
        lambda: bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "p.toml")),
    ):
        with pytest.raises(
            RuntimeError, match=r"first: Randomizer 1 \(pose\), Target Labels, class: got \[\]; expected"
        ):
            call()
    item.target_labels = 'class = "nothing"'  # no object has it: found when the scene is built
    with pytest.raises(RuntimeError, match=r'first: Randomizer 1 \(pose\), Target Labels: got \{ class = "nothing" \}'):
        bpy.ops.sdg.preview_frame()
    item.target_labels = ""
    item.targets = "crate"
    select(bpy, [])
    bpy.ops.sdg.randomizer_add(type="visibility")  # no targets: names, as before
    with pytest.raises(RuntimeError, match=r"Randomizer 2 \(visibility\): no targets"):
        bpy.ops.sdg.preview_frame()


def test_a_refused_writer_option_is_named_as_the_writers_panel_shows_it(addon, scene, tmp_path):
    """A writer's option is named as the Writers list shows it, under its writer's tick, as
    the run's settings are (was the bare 'writers.yolo.keypoints: got True; ...')."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    yolo = scene.sdg.writers.yolo
    yolo.enabled, yolo.keypoints, yolo.segmentation = True, True, True
    with pytest.raises(RuntimeError, match=r"first: yolo writer, Keypoints \(writers\.yolo\.keypoints\): got True"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert not (tmp_path / "out").exists()


def test_import_gives_the_panels_what_the_file_means(addon, scene, tmp_path):
    """Import: render settings the panel does not show (max_bounces, noise_threshold, ...)
    and annotators' options are kept, recorded and exported again (they were dropped); what
    the file leaves out takes its default, as headless (the panel's earlier values stayed:
    samples 7 and seed 99 from before, where the file meant 64 and 0)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "base.blend"), copy=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    s = bpy.context.scene.sdg
    s.run.samples, s.run.seed, s.run.width, s.run.denoise = 7, 99, 320, True
    s.annotators.normals, s.writers.coco.enabled = True, True
    param = tmp_path / "in.toml"
    param.write_text(
        '[scene]\nblend = "s.blend"\n[run]\nframes = 2\n'
        + "[render]\nmax_bounces = 3\nnoise_threshold = 0.05\n"
        + '[annotators]\nrgb = {}\nsemantic_segmentation = { semantic_type = "part" }\n'
    )
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    assert (s.run.samples, s.run.seed, s.run.width, s.run.height, s.run.denoise) == (64, 0, 640, 480, False)
    assert not s.annotators.normals and s.annotators.rgb and s.annotators.semantic_segmentation
    assert s.writers.basic.enabled and not s.writers.coco.enabled  # no [writers]: basic, as headless
    text = texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert "render.max_bounces" in text and "annotators.semantic_segmentation" in text  # said as kept
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    written = tomllib.loads(out.read_text())
    assert (written["render"]["max_bounces"], written["render"]["noise_threshold"]) == (3, 0.05)
    assert written["annotators"] == {"rgb": {}, "semantic_segmentation": {"semantic_type": "part"}}
    assert bpy.ops.sdg.import_parameters(filepath=str(out)) == {"FINISHED"}
    again = tmp_path / "again.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(again)) == {"FINISHED"}
    assert again.read_text() == out.read_text()
    s.run.width = 96  # a shown setting set in the panel wins over nothing kept
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert tomllib.loads(out.read_text())["render"]["resolution"][0] == 96


def test_export_writes_only_a_file_headless_accepts(addon, scene, tmp_path, capfd):
    """Export checks what it writes as Start does (was: a `property` randomizer without a
    value, or no output folder yet, gave a file that `headless render` and Import refused,
    reported as written). No output folder chosen: the file names none (headless: its
    default or --out)."""
    from sdg_addon.config import load_config

    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.run.output = ""
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "mine.blend"))
    out = tmp_path / "p.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    assert "output" not in tomllib.loads(out.read_text())["run"]
    load_config(out)  # headless accepts it
    out.unlink()
    # The report says where headless writes then: aux.toml's is no folder out/aux (AUX is a
    # Windows device), so out/<file name> did not say it.
    aux = tmp_path / "aux.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(aux)) == {"FINISHED"}
    assert f"no Output chosen: it writes into {load_config(aux).output} of the working folder" in capfd.readouterr().out
    assert load_config(aux).output.startswith("out/_aux-")
    aux.unlink()
    bpy.ops.sdg.randomizer_add(type="property")  # the selected crate, no path, no value
    scene.sdg.randomizers[-1].options["path"].value = "hide_render"
    with pytest.raises(RuntimeError, match=r"Export Parameter File: 1 problem\(s\) in the settings; first: .*value"):
        bpy.ops.sdg.export_parameters(filepath=str(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.blend"]  # nothing written


def test_an_output_next_to_the_blend_is_exported_as_that_folder(addon, scene, tmp_path, monkeypatch):
    """An Output of //ds (next to the .blend) was exported relative to the parameter file
    ('../ds' from params/p.toml), while headless takes run.output relative to the working
    folder of the command: rendered from elsewhere, the dataset went to a folder beside that
    one. It is now written as the folder itself, which headless finds from any folder."""
    from sdg_addon.config import load_config

    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.run.output = "//ds"
    (tmp_path / "project" / "params").mkdir(parents=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "project" / "mine.blend"))
    out = tmp_path / "project" / "params" / "p.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert Path(load_config(out).output).resolve() == (tmp_path / "project" / "ds").resolve()
    assert tomllib.loads(out.read_text())["scene"]["blend"] == "../mine.blend"  # the file, still relative


def test_a_float_set_in_the_panel_is_the_number_typed(addon, scene, tmp_path):
    """Blender keeps a float in 32 bits: Gamma at the least its field takes, 0.01, read back
    as 0.009999999776482582, which Start and Export refused (expected >= 0.01), and Export
    wrote an exposure of 0.3 as 0.30000001192092896. The typed numbers are written now."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    run = scene.sdg.run
    run.gamma = run.bl_rna.properties["gamma"].hard_min
    run.exposure = 0.3
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "mine.blend"))
    out = tmp_path / "p.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    render = tomllib.loads(out.read_text())["render"]
    assert (render["gamma"], render["exposure"]) == (0.01, 0.3)


def test_the_output_fields_tooltip_says_what_the_panel_takes(addon, scene):
    """The Output field's tooltip was the parameter file's doc, 'relative to the working
    folder; render --out overrides it': the panel refuses such a folder and has no --out."""
    prop = scene.sdg.run.bl_rna.properties["output"]
    assert "//" in prop.description and "working folder" not in prop.description, prop.description
    assert "--out" not in prop.description
    assert "working folder" in addon.job.output_problem("out")  # what the panel says of one
    # Record: Parameter File's Output is checked alike (it said only 'Folder the dataset is
    # written to'), and is used in place of the file's run.output.
    prop = addon.bpy.context.window_manager.sdg.bl_rna.properties["output_dir"]
    assert "//" in prop.description and "in place of the file's run.output" in prop.description, prop.description
    # Nor do the other settings' tooltips speak of the command line or the file's keys.
    for name, prop in scene.sdg.run.bl_rna.properties.items():
        assert "--" not in prop.description and " = " not in prop.description, (name, prop.description)


def test_strip_prefixes_tooltip_shows_what_the_field_takes(addon, scene):
    """Strip Prefixes' tooltip was [[label_rules]]' doc, 'e.g. ["SM_", "GEO_"]': typed so,
    the field's comma-separated reading took '["SM_"' as a prefix and stripped nothing (the
    operator's own field, in its Adjust Last Operation panel, kept that tooltip)."""
    bpy = addon.bpy
    # the panel's field, and the operator's own (its Adjust Last Operation panel, scripts' help)
    for prop in (
        bpy.context.window_manager.sdg.bl_rna.properties["rule_prefixes"],
        bpy.ops.sdg.label_by_rule.get_rna_type().properties["prefixes"],
    ):
        assert "comma-separated, e.g. SM_, GEO_" in prop.description and "[" not in prop.description, prop.description
    add_mesh(bpy, "SM_Chair_02")
    bpy.context.window_manager.sdg.rule_prefixes = "SM_, GEO_"  # as the tooltip says
    assert bpy.ops.sdg.label_by_rule(label_type="class", prefixes="SM_, GEO_", scope="MESHES") == {"FINISHED"}
    assert stored(bpy.data.objects["SM_Chair_02"]) == {"class": ["chair"]}


def test_use_selected_names_objects_whose_names_read_as_globs(addon, scene):
    """Use Selected wrote names as they are into the comma-separated globs of Targets:
    'box[1]' (a [set]) matched nothing and was refused although it is in the scene, 'jar*'
    took 'jar_big' too, 'crate, big' became 'crate' and 'big'. Each now names its object
    alone, and a file's glob with a comma comes back from Import as it was."""
    bpy = addon.bpy
    scene.collection.objects.link(bpy.data.objects.new("cam", bpy.data.cameras.new("cam")))
    for name in ("box[1]", "crate, big", "jar*", "jar_big"):
        add_mesh(bpy, name)
    for name in ("box[1]", "crate, big", "jar*"):
        bpy.context.scene.sdg.randomizers.clear()
        select(bpy, [bpy.data.objects[name]])
        assert bpy.ops.sdg.randomizer_add(type="pose") == {"FINISHED"}
        row = bpy.context.scene.sdg.randomizers[0].params["location"]
        row.use, row.value = True, "[0, 0, 3]"
        assert bpy.ops.sdg.preview_frame() == {"FINISHED"}, name
        moved = sorted(o.name for o in bpy.data.objects if o.location.z == 3.0)
        assert moved == [name], (name, bpy.context.scene.sdg.randomizers[0].targets)
        for o in bpy.data.objects:
            o.location.z = 0.0
    settings = sys.modules[f"{MODULE}.sdg_addon.ui.settings"]
    item = settings.add_randomizer(bpy.context.scene.sdg, {"type": "pose", "targets": ["a,b*", "jar*"]})
    assert settings.split_targets(item.targets) == ["a[,]b*", "jar*"]  # the same globs


def test_the_cameras_ticked_are_those_recorded_whatever_their_names(addon, scene, tmp_path):
    """The ticked cameras went into [scene] cameras, a list of globs, as they are: 'Cam*'
    ticked recorded 'Cam_B' too, unticked; 'cam[1]' alone was refused as matching no
    camera. Each is written to name its camera alone (Export too)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    for name in ("Cam*", "Cam_B", "cam[1]"):
        cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
        cam.location, cam.rotation_euler = (0.0, -4.0, 0.5), (1.5708, 0.0, 0.0)
        scene.collection.objects.link(cam)
    for name in ("cam", "Cam_B"):
        bpy.data.objects[name].sdg_record = False
    scene.sdg.run.frames = 1
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    assert addon.job.current.state == "done", addon.job.current.message
    cameras = json.loads((tmp_path / "out" / "audit" / "cameras.json").read_text())
    assert sorted(cameras) == ["Cam*", "cam[1]"], cameras
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "mine.blend"))
    assert bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "p.toml")) == {"FINISHED"}
    assert tomllib.loads((tmp_path / "p.toml").read_text())["scene"]["cameras"] == ["Cam[*]", "cam[[]1]"]


def test_targets_of_many_selected_objects_are_matched_in_linear_time(addon, scene, monkeypatch):
    """Use Selected on a crowd writes one name per object, and each name was matched as a
    glob against every object (twice): 3,000 selected objects took 41 s to Preview Frame and
    57 s to record one frame. A name without a wildcard is looked up now (4 s and 12 s)."""
    import fnmatch

    bpy = addon.bpy
    scene.collection.objects.link(bpy.data.objects.new("cam", bpy.data.cameras.new("cam")))
    crowd = [add_mesh(bpy, f"o{i}") for i in range(300)]
    select(bpy, crowd)
    assert bpy.ops.sdg.randomizer_add(type="pose") == {"FINISHED"}
    row = scene.sdg.randomizers[-1].params["location"]
    row.use, row.value = True, "[0, 0, 3]"
    calls = []
    fnmatchcase = fnmatch.fnmatchcase
    monkeypatch.setattr(fnmatch, "fnmatchcase", lambda n, p: calls.append(p) or fnmatchcase(n, p))
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert all(o.location.z == 3.0 for o in bpy.data.objects if o.type == "MESH")
    assert len(calls) < 3000, len(calls)  # was 2 x 300 x 300


def test_a_refused_randomizer_is_named_as_the_panel_numbers_it(addon, scene, tmp_path):
    """The settings' problems name randomizers as the panel does, 'Randomizer 3 (pool)'
    (was the parameter file's 'randomizers[1]': counted from 0 and without the disabled
    ones, so it pointed at another randomizer of the panel)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")  # Randomizer 1: pose
    bpy.ops.sdg.randomizer_add(type="world")
    scene.sdg.randomizers[-1].enabled = False  # Randomizer 2, not recorded
    bpy.ops.sdg.randomizer_add(type="pool")  # Randomizer 3: no k
    with pytest.raises(RuntimeError, match=r"first: Randomizer 3 \(pool\), k: not given"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    with pytest.raises(
        RuntimeError, match=r"Preview Frame: 1 problem\(s\) in the settings; first: Randomizer 3 \(pool\), k: not given"
    ):
        bpy.ops.sdg.preview_frame()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "mine.blend"))
    with pytest.raises(RuntimeError, match=r"first: Randomizer 3 \(pool\), k: not given"):
        bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "p.toml"))


def test_use_selected_takes_lights_for_a_randomizer_that_places_lights(addon, scene):
    """camera_relative places objects and lights ("placeables"): Add and Use Selected take a
    selected light (they took objects only: 'none of the selected objects is one of the
    placeables'); a camera alone is refused in words."""
    bpy = addon.bpy
    crate = add_mesh(bpy, "crate")
    lamp = bpy.data.objects.new("lamp", bpy.data.lights.new("lamp", "POINT"))
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    for obj in (lamp, cam):
        scene.collection.objects.link(obj)
    select(bpy, [crate, lamp, cam])
    assert bpy.ops.sdg.randomizer_add(type="camera_relative") == {"FINISHED"}
    assert scene.sdg.randomizers[-1].targets == "crate, lamp"
    select(bpy, [cam])
    assert bpy.ops.sdg.randomizer_use_selected(index=0) == {"CANCELLED"}
    assert scene.sdg.randomizers[-1].targets == "crate, lamp"
    select(bpy, [lamp])
    assert bpy.ops.sdg.randomizer_use_selected(index=0) == {"FINISHED"}
    assert scene.sdg.randomizers[-1].targets == "lamp"


def test_disabling_the_add_on_or_loading_a_file_mid_recording_leaves_nothing(addon, scene, tmp_path):
    """Disabling the add-on during a recording stops it and restores the open scene (was:
    left randomized, which a save then wrote into the user's file); disabling it, or opening
    another file, removes the recording's temporary scene copy (was left in the temp folder).

    A file is loaded between the add-on enabled again and the next recording: bpy 4.2 as a
    module crashed (segfault in modal_handler_add) starting one right away. Unregistering an
    operator leaves its running modal handler to Blender's event loop to free, which the
    module never runs (a bare operator does the same; 5.0.1 does not crash); loading a file
    frees it."""
    import addon_utils

    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")  # the pose randomizer lifts the crate to z = 0.25
    bpy.ops.ed.undo_push(message="the artist's last edit")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    for _ in range(2):  # the scene built, frame 0
        addon.recording.handle_event(job, "TIMER", "NOTHING")
    assert bpy.data.objects["crate"].location.z == pytest.approx(0.25)
    temp = job.temp_dir
    assert temp.is_dir()
    addon_utils.disable(MODULE, default_set=True)
    try:
        assert job.state == "cancelled" and not temp.exists()
        assert tuple(bpy.data.objects["crate"].location) == (0.0, 0.0, 0.0)
    finally:
        addon_utils.enable(MODULE, default_set=True)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    artist_scene(bpy, bpy.context.scene, tmp_path / "again")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    addon.recording.handle_event(job, "TIMER", "NOTHING")
    temp = job.temp_dir
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)  # another file
    assert job.state == "cancelled" and not temp.exists()


def test_start_after_a_preview_that_added_objects_says_to_undo_it(addon, scene, tmp_path):
    """Preview Frame of an imported file's cameras, lights and assets adds them to the open
    scene; Start Recording, Render Preview or another Preview Frame then would add them
    again: refused with a sentence saying to undo the preview (was: 'Failed:
    <temp>/sdg_scene_.../x.toml: cameras[0].name: got "camera"; expected a name the base scene
    does not use ...', a temporary file and parameter-file advice). Undone, Start works."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "base.blend"), copy=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    assert bpy.ops.sdg.import_parameters(filepath=str(ROOT / "presets" / "examples" / "minimal.toml")) == {"FINISHED"}
    s = bpy.context.scene.sdg
    s.run.samples, s.run.width, s.run.height, s.run.device, s.run.frames = 1, 32, 24, "cpu", 1
    s.run.output = str(tmp_path / "out")
    bpy.ops.ed.undo_push(message="settings")
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Preview Frame")  # what the click pushes
    assert "ball_000" in bpy.data.objects and "camera" in bpy.data.objects
    expected = r"Frame 0 is previewed in the open scene with objects it added \(ball_000, .*\): Undo Preview"
    for operator in (bpy.ops.sdg.start_recording, bpy.ops.sdg.preview_frame, bpy.ops.sdg.preview_render):
        with pytest.raises(RuntimeError, match=expected):
            operator("EXEC_DEFAULT")
    assert bpy.ops.sdg.undo_preview() == {"FINISHED"}
    assert "ball_000" not in bpy.data.objects
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    assert addon.job.current.state == "done", addon.job.current.message


def test_a_problem_found_when_the_scene_is_built_is_said_without_a_temporary_file(addon, scene, tmp_path):
    """An imported [[lights]] entry named like an object of the open scene is refused when
    the recording builds the scene: said as the panel's other problems are (was: 'Failed:
    <temp>/sdg_scene_.../x.toml: lights[0].name: ...', a temporary file already deleted)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    assert bpy.ops.sdg.import_parameters(filepath=str(ROOT / "presets" / "examples" / "minimal.toml")) == {"FINISHED"}
    s = bpy.context.scene.sdg
    s.run.samples, s.run.width, s.run.height, s.run.device, s.run.frames = 1, 32, 24, "cpu", 1
    s.run.output = str(tmp_path / "out")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    assert job.state == "failed"
    assert job.message.startswith("Failed: 1 problem(s) in the settings; first: lights[0].name: got 'sun'"), job.message
    assert "sdg_scene_" not in job.message and ".toml" not in job.message


def test_undo_preview_takes_back_a_preview_and_nothing_else(addon, scene, tmp_path):
    """Undo Preview is offered while a preview is applied: without one it undid the user's
    last edit (a moved object) with no word."""
    bpy = addon.bpy
    crate = artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.ed.undo_push(message="settings")
    crate.location.x = 1.0  # the artist's last edit
    bpy.ops.ed.undo_push(message="Move")
    assert not bpy.ops.sdg.undo_preview.poll()
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Preview Frame")  # what the click pushes
    assert bpy.data.objects["crate"].location.z == pytest.approx(0.25)
    assert bpy.ops.sdg.undo_preview.poll()
    assert bpy.ops.sdg.undo_preview() == {"FINISHED"}
    assert tuple(bpy.data.objects["crate"].location) == (1.0, 0.0, 0.0)  # the edit kept, the preview gone
    assert not bpy.ops.sdg.undo_preview.poll()


def test_preview_frame_says_a_problem_of_the_built_scene_in_the_panels_words(addon, scene, tmp_path):
    """Targets that match no object are found when the scene is built: Preview Frame says so
    as Start does, naming the randomizer as the panel numbers it (was: '<temp>/preview.toml:
    randomizers[0].targets: ...', a file that does not exist, one line per problem)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.randomizers[-1].targets = "ball"
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.sdg.preview_frame()
    message = str(raised.value)
    assert "Preview Frame: 1 problem(s) in the settings; first: Randomizer 1 (pose), targets: got ['ball']" in message
    assert "preview.toml" not in message


def test_preview_frame_says_a_problem_of_the_open_scene_as_start_does(addon, scene, tmp_path):
    """A label the run refuses (a 'semantics' property typed by hand) is found when the scene
    is built: Start and Render Preview say 'the open scene: expected labels that parse, ...';
    Preview Frame said 'scene.blend: got ""; expected ...' (a field and an empty value of a
    file the panel never showed)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.data.objects["crate"]["semantics"] = "oops"
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.sdg.preview_frame()
    message = str(raised.value)
    assert "Preview Frame: 1 problem(s) in the settings; first: the open scene: expected labels that parse" in message
    assert "object 'crate'" in message and "scene.blend" not in message and 'got ""' not in message
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    assert job.state == "failed" and message.split("first: ")[1].strip() in job.message, job.message


def test_import_of_a_seed_beyond_32_bits_is_refused_with_a_sentence(addon, scene, tmp_path):
    """run.seed may be up to 2**63 - 1 in a parameter file; the panel's seed is one of
    Blender's 32-bit whole numbers: Import says so, changing nothing (was a Python
    traceback, with the panels half filled)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "base.blend"), copy=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    param = tmp_path / "in.toml"
    param.write_text('[scene]\nblend = "s.blend"\n[run]\nseed = 1099511627776\nframes = 1\n[render]\nsamples = 5\n')
    with pytest.raises(
        RuntimeError, match=r"Import: run.seed = 1099511627776: the panels hold .* Record: Parameter File"
    ):
        bpy.ops.sdg.import_parameters(filepath=str(param))
    s = bpy.context.scene.sdg
    assert (s.run.seed, s.run.frames, s.run.samples) == (1, 3, 1)  # as they were
    param.write_text(
        '[scene]\nblend = "s.blend"\n[[randomizers]]\ntype = "pose"\ntargets = "crate"\n'
        + "interval = 1099511627776\nlocation = [0, 0, 1]\n"
    )
    with pytest.raises(RuntimeError, match=r"Import: randomizers\[0\].interval = 1099511627776: the panels hold"):
        bpy.ops.sdg.import_parameters(filepath=str(param))


def test_infrared_properties_set_in_the_panel_keep_to_their_ranges(addon, scene):
    """Temperature, emissivity and NIR reflectance added by the Thermal / NIR panel carry
    their ranges (kelvin >= 0, 0 .. 1) and a tooltip, so the panel's fields keep to them
    (were bare numbers: -10 K or an emissivity of 3 could be typed, recorded without a word)."""
    bpy = addon.bpy
    plate = add_mesh(bpy, "plate")
    select(bpy, [plate])
    for prop, low, high in (
        ("sdg_temperature", 0.0, None),
        ("sdg_emissivity", 0.0, 1.0),
        ("sdg_nir_reflectance", 0.0, 1.0),
    ):
        assert bpy.ops.sdg.infrared_property(prop=prop) == {"FINISHED"}
        ui = plate.id_properties_ui(prop).as_dict()
        assert ui["min"] == low and (high is None or ui["max"] == high) and ui["description"], (prop, ui)
    scene.world = bpy.data.worlds.new("sky")
    bpy.ops.sdg.infrared_property(prop="sdg_temperature", owner="WORLD")
    assert scene.world.id_properties_ui("sdg_temperature").as_dict()["min"] == 0.0


def test_objects_linked_from_a_library_are_not_labelled_where_it_would_not_be_saved(addon, scene, tmp_path, capfd):
    """Add Label, Remove Label, Label by Name Rule and the Thermal / NIR panel leave objects
    linked from a library as they are and say so, as Rename Label Value does: Blender does
    not save a change to linked data, so the label was in the recording but gone after a
    save and in the exported file's headless run (was: 'Added class:mug to 1 of 1')."""
    bpy = addon.bpy
    add_mesh(bpy, "shelf_part")
    lib_cam = bpy.data.objects.new("lib_cam", bpy.data.cameras.new("lib_cam"))
    scene.collection.objects.link(lib_cam)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "lib.blend"))
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    with bpy.data.libraries.load(str(tmp_path / "lib.blend"), link=True) as (_src, dst):
        dst.objects = ["shelf_part", "lib_cam"]
    for obj in dst.objects:
        bpy.context.scene.collection.objects.link(obj)
    linked, cam = bpy.data.objects["shelf_part"], bpy.data.objects["lib_cam"]
    local = add_mesh(bpy, "mug_001")
    select(bpy, [linked, local], active=linked)
    capfd.readouterr()
    assert bpy.ops.sdg.add_label(label_type="class", value="mug") == {"FINISHED"}
    assert stored(local) == {"class": ["mug"]} and "semantics" not in linked
    assert "1 linked from a library left as it is (shelf_part): label it in its own .blend" in capfd.readouterr().out
    assert bpy.ops.sdg.label_by_rule(label_type="part", scope="SELECTED") == {"FINISHED"}
    assert "semantics" not in linked and stored(local) == {"class": ["mug"], "part": ["mug"]}
    with pytest.raises(RuntimeError, match="linked from a library"):
        bpy.ops.sdg.infrared_property(prop="sdg_temperature")  # the active object is the linked one
    assert "sdg_temperature" not in linked
    select(bpy, [cam], active=cam)
    with pytest.raises(RuntimeError, match="linked from a library"):
        bpy.ops.sdg.camera_sensor(sensor="thermal")
    assert "sdg_sensor" not in cam


def test_a_saved_randomizer_keeps_its_type_when_the_registry_grows(addon, scene, tmp_path):
    """Blender saves an enum as its item's number: the randomizer types' and distributions'
    numbers were their places in the registries, so a type registered before 'material' (a
    later version, a plugin) made a saved material randomizer load as another type with
    material's rows. Each item keeps its number now."""
    bpy = addon.bpy
    registry = sys.modules[f"{MODULE}.sdg_addon.sampling.randomizers"].RANDOMIZERS
    distributions = sys.modules[f"{MODULE}.sdg_addon.sampling.distributions"].DISTRIBUTIONS
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.sdg.randomizer_add(type="material")
    row = scene.sdg.randomizers[-1].params["color"]
    row.use, row.distribution = True, "normal"
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    saved = (dict(registry), dict(distributions))
    try:
        for table, name in ((registry, "aaa_new"), (distributions, "aaa_new")):
            entries = dict(table)
            table.clear()
            table[name] = next(iter(entries.values()))  # a new type first
            table.update(entries)
        bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "s.blend"))
        items = bpy.context.scene.sdg.randomizers
        assert [r.type for r in items] == ["pose", "material"]
        assert items[1].params["color"].distribution == "normal"
    finally:
        for table, entries in zip((registry, distributions), saved):
            table.clear()
            table.update(entries)


def test_a_device_this_machine_lacks_is_said_as_a_users_choice_not_an_unexpected_error(addon, scene, tmp_path, capfd):
    """Device OptiX on a machine without one: the recording says so and what to choose (was
    'an unexpected error stopped the recording (DeviceError: ...)', a traceback in the
    console and 'the details are in the system console')."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.run.device = "optix"
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    if job.state == "done":
        pytest.skip("this machine has an OptiX device")
    assert job.state == "failed" and "Cycles found no OPTIX device here" in job.message, job.message
    assert "unexpected" not in job.message and "Traceback" not in capfd.readouterr().err
    # Validate (Record: Parameter File) checks the device Start records with: the panel's Device
    # where one is chosen, as the headless --device (it took the file's render.device alone).
    param = write_param(tmp_path, TINY.replace('device = "cpu"', 'device = "optix"'), "optix.toml")
    assert 'device = "optix"' in param.read_text()
    settings = bpy.context.window_manager.sdg
    settings.parameter_file = str(param)
    try:
        assert addon.job.validate(str(param), build=True).problems[0].startswith("render.device = 'optix'")
        settings.device = "CPU"
        assert bpy.ops.sdg.validate_parameters() == {"FINISHED"}
        assert addon.job.last_validation.ok, addon.job.last_validation.problems
    finally:
        settings.property_unset("parameter_file")
        settings.property_unset("device")
        addon.job.last_validation = None


def test_an_output_folder_that_cannot_be_made_is_said_in_a_sentence(addon, scene, tmp_path):
    """An output folder Blender may not create (a system folder, no permission): said as the
    headless run says it (was 'an unexpected error stopped the recording (PermissionError:
    [Errno 1] ...)', or a bare '[Errno 2] No such file or directory: ...')."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    for folder in ("/proc/sdg_out", "/sys/sdg_out"):
        if not Path(folder).parent.is_dir():
            continue
        bpy.context.scene.sdg.run.output = folder  # (a recording's end replaces the scene's data)
        assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
        job = addon.job.current
        run_to_end(addon, job)
        assert job.state == "failed" and job.message.startswith(f"Failed: cannot write to {folder}: "), job.message
        assert "Errno" not in job.message and "unexpected" not in job.message


def test_a_saved_randomizer_of_a_type_this_version_lacks_is_named(addon, scene, tmp_path):
    """A .blend saved with a randomizer type this add-on does not have (a newer version's, a
    plugin's not installed): Start, Export and Preview Frame name it and say what to do (was
    a KeyError traceback); the panel draws it."""
    bpy = addon.bpy
    registry = sys.modules[f"{MODULE}.sdg_addon.sampling.randomizers"].RANDOMIZERS
    artist_scene(bpy, scene, tmp_path / "out")
    registry["future_type"] = registry["pose"]
    try:
        bpy.ops.sdg.randomizer_add(type="future_type")
        bpy.context.scene.sdg.randomizers[-1].targets = "crate"
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    finally:
        del registry["future_type"]
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "s.blend"))
    draw_panel(bpy, "SDG_PT_randomizers")
    said = r"Randomizer 2 is of a type this version of the add-on does not have.*remove it"
    with pytest.raises(RuntimeError, match=said):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    with pytest.raises(RuntimeError, match=said):
        bpy.ops.sdg.export_parameters(filepath=str(tmp_path / "p.toml"))
    with pytest.raises(RuntimeError, match=said):
        bpy.ops.sdg.preview_frame()


def test_a_saved_distribution_this_version_lacks_is_named(addon, scene, tmp_path):
    """The same for a parameter's distribution: the panel drew nothing past it (a KeyError
    at every redraw) and Start failed with a traceback."""
    bpy = addon.bpy
    distributions = sys.modules[f"{MODULE}.sdg_addon.sampling.distributions"].DISTRIBUTIONS
    artist_scene(bpy, scene, tmp_path / "out")
    distributions["future_dist"] = distributions["uniform"]
    try:
        row = bpy.context.scene.sdg.randomizers[-1].params["location"]
        row.use, row.distribution = True, "future_dist"
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    finally:
        del distributions["future_dist"]
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "s.blend"))
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert ("operator", "sdg.preview_frame") in log  # the panel draws to its end
    with pytest.raises(RuntimeError, match=r"Randomizer 1 \(pose\), location: a distribution this version of"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")


def test_render_preview_without_rgb_ends_with_a_sentence_not_a_traceback(addon, scene, tmp_path):
    """Render Preview opens the frame when it is done; with the rgb annotator unticked there
    is no image to show: the modal's end says so (the Show Last Frame error was raised out
    of the modal operator: a Python traceback in Blender's report)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.annotators.rgb = False
    assert bpy.ops.sdg.preview_render("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    assert job.state == "done", job.message
    reports = []
    op = SimpleNamespace(_timer=None, report=lambda level, text: reports.append((level, text)))
    assert addon.recording.JobModal._end(op, bpy.context, job) == {"FINISHED"}
    assert any("needs the rgb annotator" in text for _level, text in reports), reports


def test_render_preview_removes_the_folders_killed_blenders_left(addon, scene, tmp_path, monkeypatch):
    """Render Preview's folder (removed at the next preview and when Blender quits) stayed in
    the temporary folder when Blender was killed: 14 piled up on one machine. It is named with
    Blender's pid now, and a preview removes those of processes that are gone, this user's."""
    import tempfile

    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, alive, other = (
        temp / f"sdg_preview_{dead.pid}_x",
        temp / f"sdg_preview_{os.getppid()}_y",
        temp / "sdg_previewer",
    )
    for folder in (stale, alive, other):
        folder.mkdir()
        (folder / "rgb_0000.png").write_bytes(b"")
    assert bpy.ops.sdg.preview_render("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    assert not stale.exists() and alive.exists() and other.exists()
    made = [p.name for p in temp.iterdir() if p.name.startswith(f"sdg_preview_{os.getpid()}_")]
    assert len(made) == 1, sorted(p.name for p in temp.iterdir())


def test_preview_frame_plays_a_trajectory_as_the_recording_does(addon, scene, tmp_path):
    """Preview Frame of a trajectory randomizer (objects moving through a clip) applies frame
    f as the recording does: the object where the clip has it at that frame (was a KeyError
    traceback: 'trajectory' has no per-frame applier, the recording plays it)."""
    bpy = addon.bpy
    crate = artist_scene(bpy, scene, tmp_path / "out")
    s = scene.sdg
    s.randomizers.clear()
    select(bpy, [crate])
    bpy.ops.sdg.randomizer_add(type="trajectory")
    row = s.randomizers[-1].params["velocity"]
    row.use, row.distribution, row.value = True, "constant", "[1, 0, 0]"
    s.extra_json = json.dumps({"sequence": {"clip_length": 3, "fps": 10}})
    s.preview_frame = 2  # the clip's third frame: 0.2 s at 1 m/s
    s.annotators.bounding_box_3d = True
    bpy.ops.ed.undo_push(message="settings")
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Preview Frame")  # what the click pushes
    x_preview = bpy.data.objects["crate"].matrix_world.translation.x
    assert x_preview == pytest.approx(0.2, abs=1e-4)
    assert bpy.ops.sdg.undo_preview() == {"FINISHED"}
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, addon.job.current)
    assert addon.job.current.state == "done", addon.job.current.message
    (box,) = np.load(next((tmp_path / "out").rglob("bounding_box_3d_0002.npy")))
    assert box["transform"][3][0] == pytest.approx(x_preview, abs=1e-4)  # the recording's frame 2


def test_preview_frame_shows_a_fixed_corner_case_on_its_frames(addon, scene, tmp_path):
    """A [[cases]] entry with fixed values ('backlit': the key light at 400 W) is applied by
    the recording on the frames assigned to it: Preview Frame of such a frame shows it too
    (it showed the randomizer's own draw, not what that frame of the recording has)."""
    bpy = addon.bpy
    cases = sys.modules[f"{MODULE}.sdg_addon.sampling.cases"]
    artist_scene(bpy, scene, tmp_path / "out")
    key = bpy.data.objects.new("key", bpy.data.lights.new("key", "POINT"))
    scene.collection.objects.link(key)
    select(bpy, [key])
    bpy.ops.sdg.randomizer_add(type="light")
    row = scene.sdg.randomizers[-1].params["energy"]
    row.use, row.distribution, row.value = True, "constant", "100"
    case = {"name": "backlit", "frames": 1, "set": [{"type": "light", "target": "key", "energy": 400}]}
    scene.sdg.extra_json = json.dumps({"cases": [case]})
    (frame,) = cases.assign_frames(1, 3, [SimpleNamespace(name="backlit", frames=1)])["backlit"]
    for f, energy in ((frame, 400.0), ((frame + 1) % 3, 100.0)):
        scene.sdg.preview_frame = f
        assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
        assert bpy.data.lights["key"].energy == pytest.approx(energy), f


def test_render_preview_of_a_frame_in_a_clip_renders_its_clip_and_shows_that_frame(addon, scene, tmp_path):
    """With an imported [sequence] of 3-frame clips, Render Preview of frame 4 renders its
    clip (frames 3-5: a clip is rendered whole) and shows frame 4 (was: 'Failed: --frames
    4:5 cuts clips of 3 frames (sequence.clip_length): use a range ...', a headless option
    and nothing the panel can change)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    s = scene.sdg
    s.run.frames = 6
    s.extra_json = json.dumps({"sequence": {"clip_length": 3}})
    s.preview_frame = 4
    assert bpy.ops.sdg.preview_render("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    assert job.state == "done", job.message
    assert sorted(job.recorder.result.frames_written) == [3, 4, 5]
    capture = []
    visualizer = sys.modules[f"{MODULE}.sdg_addon.ui.visualizer"]
    real = visualizer.camera_row
    visualizer.camera_row = lambda folder, suffix: capture.append((folder.name, suffix)) or real(folder, suffix)
    try:
        assert bpy.ops.sdg.show_frame() == {"FINISHED"}
    finally:
        visualizer.camera_row = real
    assert capture == [("clip_0001", "0001")]  # frame 4: the second clip's frame 1


def test_a_refused_output_folder_is_said_in_the_panels_words(addon, scene, tmp_path):
    """The home folder (or Blender's working folder) as Output: refused, with a folder next
    to the .blend as the example (was 'e.g. --out out/my_dataset', a headless option)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.run.output = str(Path.home())
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    assert job.state == "failed" and "is your home folder" in job.message, job.message
    assert "--out" not in job.message and "e.g. //my_dataset" in job.message


@pytest.mark.parametrize("annotator", ["lidar", "thermal", "nir"])
def test_annotators_that_the_scenes_sensors_make_nothing_of_are_refused(addon, scene, tmp_path, annotator):
    """Only lidar ticked with no LiDAR (or thermal with no thermal camera, nir with no NIR
    camera): the recording said 'Done: 3 frame(s) written' and wrote no file but its audit
    trail. Refused now, saying what each needs, nothing written."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    a = scene.sdg.annotators
    for name in a.bl_rna.properties.keys():
        if name not in ("rna_type", "name"):
            setattr(a, name, name == annotator)
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    assert job.state == "failed", job.message
    assert "annotators: got ['" + annotator + "']; expected at least one annotator the run's" in job.message
    assert "lidar needs a LiDAR" in job.message and not (tmp_path / "out").exists()


def test_a_camera_the_recording_refuses_is_said_with_the_cameras_list(addon, scene, tmp_path):
    """A camera of the open scene named like a folder the tool makes ('Audit'): refused with
    the panel's way to leave it out, its tick in the Cameras list (was 'leave it out with
    [scene] cameras', a parameter-file key the panel does not show)."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.data.objects["cam"].name = "Audit"
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = addon.job.current
    run_to_end(addon, job)
    assert job.state == "failed" and "camera 'Audit'" in job.message, job.message
    assert "untick it in the Cameras list" in job.message and "[scene] cameras" not in job.message


def test_import_of_a_file_without_scene_cameras_ticks_every_camera(addon, scene, tmp_path, capfd):
    """A parameter file without [scene] cameras records every camera of the scene but those
    left out of renders: Import ticks those (an earlier untick stayed, so the panel recorded
    fewer cameras than the file says), as it sets every other setting the file leaves out to
    its default; those left out of renders it unticks, as headless leaves them out."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    other = bpy.data.objects.new("side", bpy.data.cameras.new("side"))
    scene.collection.objects.link(other)
    other.sdg_record = False
    # Those headless leaves out by default (left out of renders) are left unticked.
    off = bpy.data.objects.new("off", bpy.data.cameras.new("off"))
    scene.collection.objects.link(off)
    off.hide_render = True
    shelved = bpy.data.collections.new("shelved")
    scene.collection.children.link(shelved)
    shelved.objects.link(bpy.data.objects.new("shelved_cam", bpy.data.cameras.new("shelved_cam")))
    bpy.context.view_layer.layer_collection.children["shelved"].exclude = True
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    param = tmp_path / "in.toml"
    param.write_text('[scene]\nblend = "s.blend"\n[run]\nframes = 1\n')
    capfd.readouterr()
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    assert bpy.data.objects["side"].sdg_record and bpy.data.objects["cam"].sdg_record
    assert not bpy.data.objects["off"].sdg_record and not bpy.data.objects["shelved_cam"].sdg_record
    # Its notes read as sentences (was 'Imported in.toml; The file names ...').
    out = capfd.readouterr().out
    assert "Imported in.toml. The file names the base scene s.blend; the open scene is recorded instead." in out, out


def test_the_panels_field_names_read_as_words(addon, scene):
    """Distribution parameters are named as words ('Radius Min', was 'Radius_Min'), and so are
    the writers' options ('Channels', was 'channels')."""
    bpy = addon.bpy
    bpy.ops.sdg.randomizer_add(type="pose")
    row = scene.sdg.randomizers[-1].params[0]
    names = {p.identifier: p.name for p in row.bl_rna.properties}
    assert names["radius_min"] == "Radius Min" and all("_" not in n for n in names.values() if n), names
    # and the writers' options in the recorder panel (coco's channels read 'channels')
    for writer in scene.sdg.writers.bl_rna.properties.keys():
        if writer in ("rna_type", "name"):
            continue
        props = getattr(scene.sdg.writers, writer).bl_rna.properties
        named = {p.identifier: p.name for p in props if p.identifier not in ("rna_type", "name", "enabled")}
        assert all(n[:1].isupper() and "_" not in n for n in named.values()), (writer, named)


def test_a_parameter_the_type_needs_is_marked_in_the_panel_and_said_as_not_given(addon, scene, tmp_path):
    """A pool's k, a camera_relative's depth: the panel showed them unticked like any optional
    parameter, and Start said 'k: got nothing (the field is missing)', a parameter-file phrase;
    a texture's folder was 'relative to the parameter file' where the panel's are relative to
    the .blend. Now the row is labelled 'k (required)' and red until ticked, and the sentence
    says it is not given."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")  # Randomizer 1: pose
    bpy.ops.sdg.randomizer_add(type="pool")  # Randomizer 2: no k
    log = draw_panel(bpy, "SDG_PT_randomizers")
    assert ("prop_text", "k (required)", True) in log
    assert ("prop_text", "location", False) in log  # the pose's own are optional
    with pytest.raises(RuntimeError, match=r"first: Randomizer 2 \(pool\), k: not given; expected how many") as e:
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    assert "field is missing" not in str(e.value)
    row = scene.sdg.randomizers[-1].params["k"]
    row.use, row.distribution, row.value = True, "constant", "1"
    assert ("prop_text", "k (required)", False) in draw_panel(bpy, "SDG_PT_randomizers")
    # A camera_look_at on a path needs no distance; on a shell it does.
    bpy.ops.sdg.randomizer_add(type="camera_look_at")
    item = scene.sdg.randomizers[-1]
    assert ("prop_text", "distance (required)", True) in draw_panel(bpy, "SDG_PT_randomizers")
    item.options["shell"].value = '"path"'
    assert ("prop_text", "distance", False) in draw_panel(bpy, "SDG_PT_randomizers")
    scene.sdg.randomizers.remove(len(scene.sdg.randomizers) - 1)
    bpy.ops.sdg.randomizer_add(type="texture")
    with pytest.raises(RuntimeError, match=r"Randomizer 3 \(texture\), folder: not given; expected") as e:
        bpy.ops.sdg.preview_frame()
    assert "relative to the .blend" in str(e.value) and "parameter file" not in str(e.value)


def test_start_and_render_preview_are_off_without_a_camera_to_record(addon, scene, tmp_path):
    """Start Recording and Render Preview were offered in a scene without a camera (or with
    none ticked) and refused only when clicked; now they are greyed out, Blender's tooltip
    says why (the panel's Cameras list says it too), and a parameter file's run is not
    concerned."""
    bpy = addon.bpy
    settings = bpy.context.window_manager.sdg
    for op in (bpy.ops.sdg.start_recording, bpy.ops.sdg.preview_render):
        assert not op.poll()
        with pytest.raises(RuntimeError, match="The scene has no camera: add one"):
            op("EXEC_DEFAULT")
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    # No Output yet: Start is greyed out, as for a parameter file (it was offered, then refused
    # when clicked); Render Preview records into a folder of its own.
    assert not bpy.ops.sdg.start_recording.poll() and bpy.ops.sdg.preview_render.poll()
    with pytest.raises(RuntimeError, match=r"start_recording.poll\(\) Choose an output folder \(Output\) before"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")
    scene.sdg.run.output = str(tmp_path / "out")
    assert bpy.ops.sdg.start_recording.poll()
    cam.sdg_record = False
    assert not bpy.ops.sdg.start_recording.poll()
    with pytest.raises(RuntimeError, match="No camera is ticked: tick at least one"):
        bpy.ops.sdg.preview_render("EXEC_DEFAULT")
    settings.source = "FILE"
    try:
        with pytest.raises(RuntimeError, match=r"Choose an output folder \(Output\) before recording"):
            bpy.ops.sdg.start_recording("EXEC_DEFAULT")  # was greyed out without a word
        settings.output_dir = "/nowhere"
        assert bpy.ops.sdg.start_recording.poll()  # the file names its own cameras
    finally:
        settings.property_unset("source")
        settings.property_unset("output_dir")


def test_add_and_remove_label_say_what_they_labelled(addon, scene, capfd):
    """'Added class:mug to 1 of 2' and 'Removed class:mug from 0' (nothing selected, or none
    had it) did not say of what, nor why nothing changed; Remove Label with nothing selected
    said 'Removed ... from 0' where Add Label says what to select."""
    bpy = addon.bpy
    a, b = add_mesh(bpy, "a"), add_mesh(bpy, "b")
    a["semantics"] = {"class": ["mug"]}
    select(bpy, [a, b])
    capfd.readouterr()
    assert bpy.ops.sdg.add_label(label_type="class", value="mug") == {"FINISHED"}
    assert "Added class:mug to object 'b'; object 'a' already had it" in capfd.readouterr().out
    c = add_mesh(bpy, "c")
    select(bpy, [a, b, c])
    bpy.ops.sdg.add_label(label_type="class", value="mug")
    assert "Added class:mug to object 'c'; 2 of the 3 selected objects already had it" in capfd.readouterr().out
    bpy.data.objects.remove(c)
    select(bpy, [a, b])
    bpy.ops.sdg.add_label(label_type="class", value="mug")
    assert "Add Label: the 2 selected objects already have class:mug" in capfd.readouterr().out
    coll = bpy.data.collections.new("props")
    scene.collection.children.link(coll)
    bpy.context.view_layer.active_layer_collection = bpy.context.view_layer.layer_collection.children["props"]
    bpy.ops.sdg.add_label(label_type="class", value="prop", target="COLLECTION")
    assert "Added class:prop to collection 'props' (its objects inherit it)" in capfd.readouterr().out
    assert bpy.ops.sdg.remove_label(label_type="class", value="cup") == {"CANCELLED"}
    assert "Remove Label: the 2 selected objects have no class:cup" in capfd.readouterr().out
    assert bpy.ops.sdg.remove_label(label_type="class", value="mug") == {"FINISHED"}
    assert "Removed class:mug from the 2 selected objects" in capfd.readouterr().out
    select(bpy, [])
    with pytest.raises(RuntimeError, match="Remove Label: no object is selected: select the objects"):
        bpy.ops.sdg.remove_label(label_type="class", value="mug")


def test_values_are_typed_in_the_panel_as_in_the_parameter_file(addon, scene):
    """The panel said values are typed as in the parameter file, but took JSON only: a TOML
    inline table (`{ distribution = "uniform", low = 0, high = 1 }` in a per_axis entry)
    was 'not a value', a light type had the hint 'e.g. 0' and was refused typed as SUN, the
    way the panel shows other names (and the sentence named no way to write text)."""
    bpy = addon.bpy
    light = bpy.data.objects.new("key", bpy.data.lights.new("key", "POINT"))
    scene.collection.objects.link(light)
    scene.collection.objects.link(bpy.data.objects.new("cam", bpy.data.cameras.new("cam")))
    cube = add_mesh(bpy, "cube")
    select(bpy, [light])
    bpy.ops.sdg.randomizer_add(type="light")
    row = scene.sdg.randomizers[-1].params["light_type"]
    row.use = True
    assert ("prop_text", "value (e.g. Metal)", False) in draw_panel(bpy, "SDG_PT_randomizers")
    row.value = "SUN"  # a word, as typed: the text itself
    select(bpy, [cube])
    bpy.ops.sdg.randomizer_add(type="pose")
    row = scene.sdg.randomizers[-1].params["location"]
    row.use, row.distribution = True, "per_axis"
    row.axes = '[0, { distribution = "uniform", low = 2, high = 3 }, 0]'
    bpy.ops.ed.undo_push(message="settings")
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert bpy.data.objects["key"].data.type == "SUN" and 2 <= bpy.data.objects["cube"].location.y <= 3
    bpy.ops.ed.undo_push(message="Preview Frame")
    bpy.ops.sdg.undo_preview()
    row = bpy.context.scene.sdg.randomizers[0].params["light_type"]
    row.distribution, row.values = "choice", "[SUN, SPOT]"
    with pytest.raises(RuntimeError, match=r"light_type values: '\[SUN, SPOT\]' is not a value; .*text in quotes"):
        bpy.ops.sdg.preview_frame()


@pytest.mark.parametrize("typed", ["nan", "[0, 0, inf]", "[0, 0, 1e999]", "-Infinity"])
def test_nan_or_inf_typed_in_the_panel_is_refused_naming_the_field(addon, scene, tmp_path, typed):
    """A parameter typed as nan or inf (a number to JSON and TOML) stopped Start with 'nan has
    no TOML form in a parameter file', no field named; a parameter file's nan is refused
    with its field. The panel names its field too, as for any value it cannot take."""
    bpy = addon.bpy
    scene.collection.objects.link(bpy.data.objects.new("cam", bpy.data.cameras.new("cam")))
    select(bpy, [add_mesh(bpy, "cube")])
    bpy.ops.sdg.randomizer_add(type="pose")
    row = scene.sdg.randomizers[-1].params["location"]
    row.use, row.value = True, typed
    scene.sdg.run.output = str(tmp_path / "out")
    for start in (bpy.ops.sdg.start_recording, bpy.ops.sdg.preview_frame):
        with pytest.raises(RuntimeError, match=r"Randomizer 1 \(pose\), location: .* is not a value; .*not nan or inf"):
            start("EXEC_DEFAULT")
    assert not (tmp_path / "out").exists()


def test_cancelling_before_the_first_frame_is_said_once(addon, scene, tmp_path):
    """Esc before the scene was built: 'Cancelling: finishing the frames in flight...' was
    shown twice, on the progress bar and below it (the bar shows the message until a frame
    is done); the run then ends cancelled with no frame, and the scene is as before."""
    bpy, jobs, recording = addon.bpy, addon.job, addon.recording
    artist_scene(bpy, scene, tmp_path / "out")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    text = texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert text.count("Building the scene") == 1, text
    assert recording.handle_event(job, "ESC", "PRESS") == "wait"
    text = texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert text.count("Cancelling: finishing the frames in flight") == 1, text
    run_to_end(addon, job)
    assert job.state == "cancelled" and job.message.startswith("Cancelled: 0 frame(s) written")
    assert tuple(bpy.data.objects["crate"].location) == (0.0, 0.0, 0.0)


def test_show_last_frame_is_offered_when_the_output_holds_the_runs_frames(addon, scene, tmp_path):
    """Show Last Frame ran after a recording cancelled before its first frame and said the
    output 'needs the rgb annotator and the basic writer', which the run had; it is off then,
    Blender's tooltip saying why. A Resume of a finished dataset (0 written, all already
    done) did not offer it; it does, and shows the last frame."""
    bpy, jobs, recording = addon.bpy, addon.job, addon.recording
    artist_scene(bpy, scene, tmp_path / "out")
    scene.sdg.run.frames = 1
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    recording.handle_event(jobs.current, "ESC", "PRESS")
    run_to_end(addon, jobs.current)
    assert not bpy.ops.sdg.show_frame.poll()
    assert ("operator", "sdg.show_frame") not in draw_panel(bpy, "SDG_PT_recorder")
    bpy.context.scene.sdg.run.existing = "RESUME"
    for written in ([0], []):  # the frame; then nothing left to write
        assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
        run_to_end(addon, jobs.current)
        assert jobs.current.state == "done" and jobs.current.recorder.result.frames_written == written
        assert ("operator", "sdg.show_frame") in draw_panel(bpy, "SDG_PT_recorder")
        assert bpy.ops.sdg.show_frame() == {"FINISHED"}


def test_a_parameter_files_recording_says_to_set_its_file_not_the_panels_button(addon, scene, tmp_path):
    """Record: Parameter File of a file naming a .blend in AgX: the warning said 'click Use
    the Scene's Color Management in the recorder panel', a button that sets the open scene's
    settings, which that recording does not use; it says what to set in the file's
    [render] now, as headless does (the open scene's recording keeps naming the button)."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shop.blend"))
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    param = write_param(
        tmp_path,
        header((64, 48), samples=1, seed=1, frames=1)
        + '[scene]\nblend = "shop.blend"\n[annotators]\nrgb = {}\n[writers]\nbasic = {}\n',
        "shop.toml",
    )
    settings = bpy.context.window_manager.sdg
    settings.source, settings.parameter_file, settings.output_dir = "FILE", str(param), str(tmp_path / "file")
    try:
        assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
        job = jobs.current
        run_to_end(addon, job)
    finally:
        for name in ("source", "parameter_file", "output_dir"):
            settings.property_unset(name)
    assert job.state == "done", job.message
    (warning,) = [w for w in job.warnings if "colour management" in w]
    assert 'set in [render]: view_transform = "AgX"' in warning and "recorder panel" not in warning, warning
    # The size as the file writes it: width and height next to its resolution are refused.
    (warning,) = [w for w in job.warnings if "image is not" in w]
    assert "set in [render]: resolution = [1920, 1080] (or width = 1920, height = 1080)" in warning, warning


def test_the_add_ons_editing_operators_are_off_while_recording(addon, scene, tmp_path):
    """Labels, randomizers, Import, the Thermal / NIR properties and Undo Preview could be
    used during a recording (from F3 search or a shortcut): their changes were undone with
    the recording at its end without a word, and Undo Preview undid the scene being
    rendered, which stops the recording. Now they are off while one runs (Blender's tooltip
    says why; Rename Label Value already was), and on again after it; so are the fields of
    the Randomizers and Thermal / NIR panels."""
    bpy, jobs = addon.bpy, addon.job
    cube = artist_scene(bpy, scene, tmp_path / "out")
    cube["sdg_temperature"] = 300.0  # a field of the Thermal / NIR panel
    bpy.ops.ed.undo_push(message="settings")
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}  # a preview that adds nothing: Start is allowed
    bpy.ops.ed.undo_push(message="Preview Frame")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "mine.blend"))
    select(bpy, [bpy.data.objects["crate"]])
    ops = (
        bpy.ops.sdg.add_label,
        bpy.ops.sdg.remove_label,
        bpy.ops.sdg.label_by_rule,
        bpy.ops.sdg.randomizer_add,
        bpy.ops.sdg.randomizer_remove,
        bpy.ops.sdg.randomizer_use_selected,
        bpy.ops.sdg.import_parameters,
        bpy.ops.sdg.export_parameters,
        bpy.ops.sdg.infrared_property,
        bpy.ops.sdg.undo_preview,
        bpy.ops.sdg.preview_frame,
        bpy.ops.sdg.preview_render,
        bpy.ops.sdg.match_scene_colour,
    )
    assert all(op.poll() for op in ops)
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    addon.recording.handle_event(jobs.current, "TIMER", "NOTHING")
    assert [op for op in ops if op.poll()] == []
    with pytest.raises(RuntimeError, match="Not while recording: the recording undoes"):
        bpy.ops.sdg.add_label(label_type="class", value="box")
    # The fields of the panels that edit the scene are greyed out too, saying why: an edit of
    # a randomizer's value was taken back at the recording's end without a word.
    for panel in ("SDG_PT_randomizers", "SDG_PT_infrared"):
        log = draw_panel(bpy, panel)
        drawn = [e[1] for e in log if e[0] == "prop"]
        assert drawn and [e[1] for e in log if e[0] == "prop_off"] == drawn, panel
        assert "Not while recording: the recording undoes" in texts(log), panel
    run_to_end(addon, jobs.current)
    assert jobs.current.state == "done", jobs.current.message
    select(bpy, [bpy.data.objects["crate"]])
    assert all(op.poll() for op in ops)
    assert not any(e[0] == "prop_off" for e in draw_panel(bpy, "SDG_PT_randomizers"))
    del cube


def test_unlabelled_objects_are_those_that_render(addon, scene, tmp_path):
    """The Labels panel's warning and the recording's listed meshes that never render (in a
    collection excluded from the view layer or disabled for renders) as 'UNLABELLED in
    masks'; they are left out now. A mesh hidden in the viewport only (H) still renders,
    so it is still named."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    for name, how in (("excluded", "exclude"), ("norender", "hide_render")):
        coll = bpy.data.collections.new(name)
        scene.collection.children.link(coll)
        add_mesh(bpy, f"{name}_mesh", coll)
        if how == "exclude":
            bpy.context.view_layer.layer_collection.children[name].exclude = True
        else:
            coll.hide_render = True
    add_mesh(bpy, "hidden_mesh").hide_set(True)
    select(bpy, [bpy.data.objects["crate"]])
    text = texts(draw_panel(bpy, "SDG_PT_labels"))
    assert "1 mesh object(s) without a 'class' label" in text and "hidden_mesh" in text, text
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, jobs.current)
    assert jobs.current.state == "done", jobs.current.message
    (warning,) = [w for w in jobs.current.warnings if "without a 'class' label" in w]
    assert warning.endswith("(annotated as UNLABELLED): hidden_mesh"), warning


def test_the_labels_panels_warning_takes_a_time_linear_in_the_objects(addon, scene, count_users_collection):
    """The unlabelled-mesh warning asked each mesh for Object.users_collection, which scans
    every collection: 5,000 meshes took 24 s per draw of the Labels panel (Blender redraws
    it as the mouse moves); the scene's collections are now walked once (0.8 s)."""
    bpy = addon.bpy
    coll = bpy.data.collections.new("many")
    scene.collection.children.link(coll)
    for i in range(40):
        add_mesh(bpy, f"m{i}", coll)
    asked = count_users_collection()
    select(bpy, [])
    text = texts(draw_panel(bpy, "SDG_PT_labels"))
    assert "40 mesh object(s) without a 'class' label" in text, text
    assert len(asked) <= 1, f"users_collection asked {len(asked)} times"


def test_the_labels_panel_names_the_collection_it_labels_and_shows_its_labels(addon, scene):
    """Add Label's Collection button said 'Collection' whatever the active collection was
    (the Scene Collection too, where it is refused) and the panel showed no collection's
    labels: the button names the active collection, is off for the Scene Collection, and
    the collection's own labels are listed."""
    bpy = addon.bpy
    coll = bpy.data.collections.new("props")
    scene.collection.children.link(coll)
    layers = bpy.context.view_layer.layer_collection
    bpy.context.view_layer.active_layer_collection = layers
    log = draw_panel(bpy, "SDG_PT_labels")
    assert ("operator_text", "Collection", False) in log
    bpy.context.view_layer.active_layer_collection = layers.children["props"]
    assert ("operator_text", "Collection 'props'", True) in draw_panel(bpy, "SDG_PT_labels")
    assert bpy.ops.sdg.add_label(label_type="class", value="prop", target="COLLECTION") == {"FINISHED"}
    assert "Collection 'props': class:prop" in texts(draw_panel(bpy, "SDG_PT_labels"))


def test_a_preview_saved_with_the_file_is_not_offered_for_undo_after_reopening(addon, scene, tmp_path):
    """Preview Frame, then File > Save: opened again, the file still offered Undo Preview,
    which failed (a file opened has no undo step for the preview: 'use Edit > Undo', which
    cannot either), and a preview that added objects kept Start saying 'Undo Preview
    (Ctrl+Z) first'. Now Undo Preview is off for it, saying why, and Start says to delete
    the objects."""
    bpy = addon.bpy
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.ed.undo_push(message="settings")
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    bpy.ops.ed.undo_push(message="Preview Frame")
    assert bpy.ops.sdg.undo_preview.poll()
    bpy.context.scene["sdg_previewed"]["objects"] = ["crate"]  # as if the preview had added it
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "m.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "m.blend"))
    assert not bpy.ops.sdg.undo_preview.poll()
    with pytest.raises(RuntimeError, match="saved with the file: Blender keeps no undo step"):
        bpy.ops.sdg.undo_preview()
    with pytest.raises(RuntimeError, match=r"was saved with frame 0 previewed .*\(crate\): delete them"):
        bpy.ops.sdg.start_recording("EXEC_DEFAULT")


def test_greyed_out_buttons_say_why(addon, scene):
    """Use Selected with nothing selected, Validate without a parameter file and Undo Preview
    without a preview were greyed out without a word (scripts got 'context is incorrect');
    their tooltips say what to do."""
    bpy = addon.bpy
    bpy.ops.sdg.randomizer_add(type="pose")
    select(bpy, [])
    with pytest.raises(RuntimeError, match="Select the objects, lights or cameras to use"):
        bpy.ops.sdg.randomizer_use_selected(index=0)
    settings = bpy.context.window_manager.sdg
    settings.parameter_file = ""
    try:
        with pytest.raises(RuntimeError, match="Choose a parameter file to validate"):
            bpy.ops.sdg.validate_parameters()
    finally:
        settings.property_unset("parameter_file")
    # Undo Preview, drawn under Preview Frame, was greyed out without a word until a preview
    assert "sdg.undo_preview" in [e[1] for e in draw_panel(bpy, "SDG_PT_randomizers") if e[0] == "operator"]
    with pytest.raises(RuntimeError, match="No preview is applied: Preview Frame applies frame f's values"):
        bpy.ops.sdg.undo_preview()


def test_a_parameter_files_recording_leaves_no_library_in_the_session(addon, scene, tmp_path, capfd):
    """Record: Parameter File of a file naming a .blend: the restore by undo kept the
    Library datablock the run appended from (bpy.data.libraries), so the user's session
    held it afterwards, and the next recording of the file made Blender report 'Critical
    blend-file corruption: Conflicts and/or otherwise invalid data-blocks names'. The
    session's libraries are as before now."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shop.blend"))
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    param = write_param(
        tmp_path,
        header((64, 48), samples=1, seed=1, frames=1)
        + '[scene]\nblend = "shop.blend"\n[annotators]\nrgb = {}\n[writers]\nbasic = {}\n',
        "shop.toml",
    )
    settings = bpy.context.window_manager.sdg
    settings.source, settings.parameter_file, settings.output_dir = "FILE", str(param), str(tmp_path / "file")
    settings.existing = "OVERWRITE"
    capfd.readouterr()
    try:
        for _ in range(2):
            assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
            run_to_end(addon, jobs.current)
            assert jobs.current.state == "done", jobs.current.message
            assert list(bpy.data.libraries) == []
    finally:
        for name in ("source", "parameter_file", "output_dir", "existing"):
            settings.property_unset(name)
    err = capfd.readouterr()
    assert "corruption" not in err.out + err.err


def test_validate_names_the_cameras_of_the_blend_a_file_records(addon, scene, tmp_path):
    """Validate said '0 camera(s)' of a parameter file recording a .blend's cameras ([scene]
    blend and cameras): it names them now."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shop.blend"), copy=True)  # (Validate builds it)
    param = write_param(
        tmp_path, header((64, 48), samples=1, seed=1, frames=1) + '[scene]\nblend = "shop.blend"\ncameras = ["cam"]\n'
    )
    settings = bpy.context.window_manager.sdg
    settings.parameter_file = str(param)
    try:
        assert bpy.ops.sdg.validate_parameters() == {"FINISHED"}
    finally:
        settings.property_unset("parameter_file")
    assert jobs.last_validation.ok, jobs.last_validation.problems
    assert "cameras of shop.blend: cam" in jobs.last_validation.summary, jobs.last_validation.summary
    assert "0 camera(s)" not in jobs.last_validation.summary
    # The file open in Blender is refused as Start refuses it (the session left as it is).
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shop.blend"))
    result = jobs.validate(str(param), build=True)
    assert (
        result.problems
        and "shop.blend is the file open in Blender: record it with Record: Open Scene" in (result.problems[0])
    ), result.problems
    assert bpy.data.filepath and "crate" in bpy.context.scene.objects
    jobs.last_validation = None


def test_validate_of_a_file_without_a_blend_names_no_blend(addon, scene):
    """Validate said 'cameras of : all' of every file without `[scene] blend` (the bundled
    preset): the base scene's section is always there, empty when no .blend is named."""
    jobs = addon.job
    result = jobs.validate(addon.bpy.context.window_manager.sdg.parameter_file)  # the bundled preset
    assert result.ok, result.problems
    assert "1 camera(s)," in result.summary and "cameras of" not in result.summary, result.summary


def test_a_physics_preview_leaves_no_helpers_and_does_not_block_start(addon, scene, tmp_path):
    """Preview Frame of a physics_settle randomizer left its simulation helpers in the open
    scene (a mesh 'sdg_physics_proxies/crate' over the crate, two collections, a rigid body
    world), and Start then refused: 'previewed with objects it added
    (sdg_physics_proxies/crate): Undo Preview first'. The preview shows the settled poses
    and removes its helpers; Start records."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    floor = add_mesh(bpy, "floor")
    floor.data.from_pydata([(-3, -3, 0), (3, -3, 0), (3, 3, 0), (-3, 3, 0)], [], [(0, 1, 2, 3)])
    select(bpy, [bpy.data.objects["crate"]])
    bpy.ops.sdg.randomizer_add(type="physics_settle")
    row = scene.sdg.randomizers[-1].params["drop"]
    row.use, row.distribution, row.value = True, "constant", "0.5"
    scene.sdg.randomizers[-1].options["passive"].value = '["floor"]'
    bpy.ops.ed.undo_push(message="settings")
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert [o.name for o in bpy.data.objects if o.name.startswith("sdg_")] == []
    assert [c.name for c in bpy.data.collections if c.name.startswith("sdg_")] == []
    assert bpy.context.scene.rigidbody_world is None
    assert list(bpy.context.scene["sdg_previewed"]["objects"]) == []
    assert abs(bpy.data.objects["crate"].matrix_world.translation.z) < 0.02  # settled on the floor
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    run_to_end(addon, jobs.current)
    assert jobs.current.state == "done", jobs.current.message


def test_adding_a_randomizer_without_a_target_selected_says_what_it_takes(addon, scene, capfd):
    """A light randomizer added with a mesh selected got no targets without a word (Start
    then refused it); Add says what the type takes and how to give it."""
    bpy = addon.bpy
    select(bpy, [add_mesh(bpy, "crate")])
    capfd.readouterr()
    assert bpy.ops.sdg.randomizer_add(type="light") == {"FINISHED"}
    out = capfd.readouterr().out
    assert "Randomizer 1 (light) has no targets: it takes lights; select them and click Use Selected" in out, out
    bpy.ops.sdg.randomizer_add(type="pose")
    assert "no targets" not in capfd.readouterr().out and scene.sdg.randomizers[-1].targets == "crate"


def test_preview_of_a_frame_the_recording_does_not_make_says_so(addon, scene, tmp_path):
    """Preview Frame 5 of a 3-frame recording showed values the recording never uses, without
    a word; it says so now (the preview is still applied)."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")  # 3 frames
    scene.sdg.preview_frame = 5
    assert bpy.ops.sdg.preview_frame() == {"FINISHED"}
    assert "frame 5 is beyond the recording's 3 frame(s) (0 to 2)" in (jobs.last_error or ""), jobs.last_error
    jobs.set_error(None)
    # Render Preview of that frame said nothing of it either ('Done: 1 frame(s) written').
    assert bpy.ops.sdg.preview_render("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    run_to_end(addon, job)
    assert job.state == "done", job.message
    said = texts(draw_panel(bpy, "SDG_PT_recorder"))
    assert "frame 5 is beyond the recording's 3 frame(s) (0 to 2): the recording does not make it" in said, said


@pytest.mark.parametrize(
    "setting, value, said",
    [
        ("use_global_undo", False, "Turn on Global Undo in Preferences > System > Memory & Limits"),
        ("undo_steps", 0, "Set Undo Steps in Preferences > System > Memory & Limits to 1 or more"),
        ("undo_memory_limit", 1, "Set Undo Memory Limit in Preferences > System > Memory & Limits to 0"),
    ],
)
def test_start_is_refused_where_undo_could_not_restore_the_scene(addon, scene, tmp_path, setting, value, said):
    """With Undo Steps 0 or an Undo Memory Limit the recording ran and its restore failed:
    the randomized scene stayed open ('Could not restore ...: use Edit > Undo', which had no
    step either). And Global Undo was said to be in 'Preferences > Editing > Undo', where
    neither 4.2 nor 5.x has it. Each is refused before anything runs, naming where to set it."""
    bpy = addon.bpy
    cube = artist_scene(bpy, scene, tmp_path / "out")
    edit = bpy.context.preferences.edit
    before = getattr(edit, setting)
    setattr(edit, setting, value)
    try:
        for op in (bpy.ops.sdg.start_recording, bpy.ops.sdg.preview_render):
            with pytest.raises(RuntimeError, match=re.escape(said)):
                op("EXEC_DEFAULT")
        settings = bpy.context.window_manager.sdg
        settings.parameter_file, settings.output_dir = (
            str(write_param(tmp_path, TINY, "tiny.toml")),
            str(tmp_path / "file_out"),
        )
        with pytest.raises(ValueError, match=re.escape(said)):
            addon.job.RecordingJob.from_settings(settings)
    finally:
        setattr(edit, setting, before)
        bpy.context.window_manager.sdg.property_unset("parameter_file")
        bpy.context.window_manager.sdg.property_unset("output_dir")
        addon.job.set_error(None)
    assert tuple(cube.location) == (0.0, 0.0, 0.0) and addon.job.running_job() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]  # nothing written


def test_existing_frames_overwrite_says_it_deletes_the_earlier_runs_files(addon, scene):
    """Existing Frames: Overwrite's tooltip said 'Discard the finished-frame log of the output
    folder and start anew', but it deletes the earlier runs' files (images, labels: what
    audit/written records), as the headless --overwrite does; it now says so."""
    bpy = addon.bpy
    for prop in (
        bpy.context.window_manager.sdg.bl_rna.properties["existing"],
        bpy.context.scene.sdg.run.bl_rna.properties["existing"],
    ):
        text = prop.enum_items["OVERWRITE"].description
        assert text.startswith("Delete the files the earlier runs wrote") and "nothing else" in text, text


def test_a_distribution_parameters_tooltip_is_what_the_distribution_says_of_it(addon, scene):
    """Every distribution parameter field had the tooltip '<name>: a number, a list like
    [0, 0, 1], true/false': untrue for choice's values and weights, shell's center, per_axis'
    axes, mixture's components (lists or tables, never a number). Each now gives the doc of
    the distributions that take it (the parameter file's), and a constant's value field says
    how it is typed, a word included."""
    from sdg_addon.sampling.distributions import DISTRIBUTIONS

    bpy = addon.bpy
    bpy.ops.sdg.randomizer_add(type="pose")
    fields = scene.sdg.randomizers[0].params["location"].bl_rna.properties
    for name, cls in DISTRIBUTIONS.items():
        for param, (_required, doc) in cls.PARAMS.items():
            text = fields[param].description
            assert doc.replace("`", "") in text and "true/false" not in text, (name, param, text)
    assert "or a word" in fields["value"].description


def test_quit_new_and_open_keys_are_kept_from_blender_while_recording(addon, scene, tmp_path):
    """Ctrl+Q, Ctrl+N and Ctrl+O passed to Blender mid-run, which asks "Save changes?" of
    the file the recording made changed: a Save there wrote the randomized scene into the
    user's file and Blender quit or loaded another file, with no word. They are kept from
    Blender as Ctrl+S is, with a warning; plain Q, N and O stay the user's."""
    bpy, jobs, recording = addon.bpy, addon.job, addon.recording
    artist_scene(bpy, scene, tmp_path / "out")
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    recording.handle_event(job, "TIMER", "NOTHING")  # the scene built
    for key in ("Q", "N", "O"):
        assert recording.handle_event(job, key, "PRESS", ctrl=True) == "wait", key
        assert recording.handle_event(job, key, "PRESS") == "pass", key
    assert "Quit, New and Open (Ctrl+Q, Ctrl+N, Ctrl+O) are blocked while recording" in texts(
        draw_panel(bpy, "SDG_PT_recorder")
    )
    run_to_end(addon, job)
    assert job.state == "done", job.message


def test_a_ticked_camera_left_out_of_renders_is_said_in_the_list_and_at_start(addon, scene, tmp_path):
    """Cameras disabled for rendering or in an excluded collection are ticked by default
    and were recorded without a word, where headless leaves them out (e821114) and Import
    unticks them (a38a62f). The Cameras list now says why beside each, in red while it is
    ticked, and Start warns naming them; unticked, they are neither said red nor recorded."""
    bpy, jobs = addon.bpy, addon.job
    artist_scene(bpy, scene, tmp_path / "out")
    archive = bpy.data.collections.new("old_cams")
    scene.collection.children.link(archive)
    for name, where in (("off_cam", scene.collection), ("old_cam", archive)):
        cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
        cam.location, cam.rotation_euler = (0.0, -4.0, 0.5), (1.5708, 0.0, 0.0)
        where.objects.link(cam)
    bpy.data.objects["off_cam"].hide_render = True
    bpy.context.view_layer.layer_collection.children["old_cams"].exclude = True

    def said():
        log = draw_panel(bpy, "SDG_PT_recorder")
        return {e[1]: e[2] for e in log if e[0] == "prop_text" and e[1].startswith(("cam", "off_cam", "old_cam"))}

    rows = said()
    assert rows["cam"] is False, rows
    assert rows["off_cam (disabled for rendering: recorded while ticked)"] is True, rows
    assert rows[
        "old_cam (its collection is excluded from the view layer or disabled for rendering: recorded while ticked)"
    ]
    job = jobs.RecordingJob.from_scene(bpy.context)
    try:
        (warning,) = [w for w in job.warnings if "left out of renders" in w]
        assert "'off_cam' (disabled for rendering)" in warning and "'old_cam'" in warning and "'cam'" not in warning
        assert job.config.base.cameras == ["cam", "off_cam", "old_cam"]  # recorded, as ticked
    finally:
        job.close()
    for name in ("off_cam", "old_cam"):
        bpy.data.objects[name].sdg_record = False
    rows = said()
    assert rows["off_cam (disabled for rendering)"] is False, rows
    job = jobs.RecordingJob.from_scene(bpy.context)
    try:
        assert not any("left out of renders" in w for w in job.warnings) and job.config.base.cameras == ["cam"]
    finally:
        job.close()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "mode, said", [("EDIT", "Leave Edit Mode first"), ("WEIGHT_PAINT", "Leave Weight Paint first")]
)
def test_start_outside_object_mode_names_the_mode_as_blender_does(addon, scene, tmp_path, mode, said):
    """Start in Edit Mode said 'Leave Edit Mesh mode first', in Weight Paint 'Leave Paint
    Weight mode first' (context.mode's identifiers): the 3D View's mode menu says 'Edit Mode'
    and 'Weight Paint'."""
    bpy = addon.bpy
    crate = artist_scene(bpy, scene, tmp_path / "out")
    bpy.context.view_layer.objects.active = crate
    bpy.ops.object.mode_set(mode=mode)
    try:
        for op in (bpy.ops.sdg.start_recording, bpy.ops.sdg.preview_render):
            with pytest.raises(RuntimeError, match=f"{said}: recording works in Object Mode"):
                op("EXEC_DEFAULT")
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        addon.job.set_error(None)
    assert not (tmp_path / "out").exists()


def test_options_naming_objects_by_labels_are_imported_and_exported_as_written(addon, scene, tmp_path):
    """scatter's surface and avoid and a camera's look_at_objects given as tables of labels
    come into the panel's option rows (edited as JSON) and Export writes the same tables."""
    bpy = addon.bpy
    param = tmp_path / "in.toml"
    surface, avoid, look = {"class": "table"}, {"class": ["crate", "bin*"]}, {"class": "table", "color": "red"}
    param.write_text(
        header((64, 48), samples=1)
        + '[scene]\nblend = "base.blend"\n[labels]\ncolor = []\n'
        + '[[randomizers]]\ntype = "scatter"\ntargets = "mug*"\nsurface = { class = "table" }\n'
        + 'avoid = { class = ["crate", "bin*"] }\n'
        + '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ndistance = 3\n'
        + 'look_at_objects = { class = "table", color = "red" }\n'
    )
    artist_scene(bpy, scene, tmp_path / "out")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "base.blend"), copy=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "s.blend"))
    assert bpy.ops.sdg.import_parameters(filepath=str(param)) == {"FINISHED"}
    out = tmp_path / "out.toml"
    assert bpy.ops.sdg.export_parameters(filepath=str(out)) == {"FINISHED"}
    scatter, cam = tomllib.loads(out.read_text())["randomizers"]
    assert (scatter["surface"], scatter["avoid"], cam["look_at_objects"]) == (surface, avoid, look)
