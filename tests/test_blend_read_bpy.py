"""The base .blend read whole (scene.base.read_blend_scene), not its scene appended: Blender's
append makes each object local in a time growing with the objects already read (10,000
objects: 87 s), the whole file reads in a time growing with it. What the append gave must
hold: the same data in the session (the scene and what it uses, nothing else of the file),
paths relative to the .blend made absolute, no file path in the session, the .blend left
untouched, and outputs byte for byte those of the append."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")
from blend_scene import make_shop_blend  # noqa: E402

from headless.cli import main  # noqa: E402
from sdg_addon.compat import enable_nodes, rewrites_file_paths  # noqa: E402
from sdg_addon.scene import base  # noqa: E402

# Not base.reads_whole_file(): a change that took the append back would only skip these.
needs_whole_read = pytest.mark.skipif(
    not rewrites_file_paths(), reason="Blender 4.2 (no bpy.data.file_path_foreach) appends the scene"
)


def files_under(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file's content and modification time."""
    return {
        p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def rich(tmp_path_factory) -> Path:
    """rich/scene.blend beside tex/ and libs/: scene 'Scene' with a floor (its material reads
    //../tex/checker.png and a packed image), an instance of a collection linked from
    //libs/props.blend (whose image is relative to that library), and the camera of
    another scene as its camera; not used by it: scene 'Other' with its own object, a material
    and a node group kept by fake users, a registered text block."""
    root = tmp_path_factory.mktemp("read")
    (root / "tex").mkdir()
    (root / "rich" / "libs").mkdir(parents=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    png = bpy.data.images.new("checker", 4, 4)
    png.filepath_raw = str(root / "tex" / "checker.png")
    png.file_format = "PNG"
    png.save()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    cube = bpy.data.objects.new("libcube", bpy.data.meshes.new("libcube"))
    coll = bpy.data.collections.new("libcoll")
    bpy.context.scene.collection.children.link(coll)
    coll.objects.link(cube)
    material = bpy.data.materials.new("libmat")
    enable_nodes(material)
    node = material.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = bpy.data.images.load(str(root / "tex" / "checker.png"))
    node.image.name = "libimg"
    node.image.filepath = "//../../tex/checker.png"
    cube.data.materials.append(material)
    bpy.ops.wm.save_as_mainfile(filepath=str(root / "rich" / "libs" / "props.blend"))

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.name = "Scene"
    blend = root / "rich" / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))  # so that paths are stored relative to it
    with bpy.data.libraries.load("//libs/props.blend", link=True, relative=True) as (_src, dst):
        dst.collections = ["libcoll"]
    instance = bpy.data.objects.new("props_inst", None)
    instance.instance_type = "COLLECTION"
    instance.instance_collection = dst.collections[0]
    scene.collection.objects.link(instance)
    floor = bpy.data.objects.new("floor", bpy.data.meshes.new("floor"))
    floor["semantics"] = "class:floor"
    scene.collection.objects.link(floor)
    material = bpy.data.materials.new("floormat")
    enable_nodes(material)
    image = bpy.data.images.load(str(root / "tex" / "checker.png"))
    image.name = "relimg"
    image.filepath = "//../tex/checker.png"
    packed = bpy.data.images.new("packedimg", 2, 2)
    packed.pack()
    for used in (image, packed):
        material.node_tree.nodes.new("ShaderNodeTexImage").image = used
    floor.data.materials.append(material)
    fake = bpy.data.materials.new("fakemat")
    fake.use_fake_user = True
    enable_nodes(fake)
    fake_image = bpy.data.images.load(str(root / "tex" / "checker.png"))
    fake_image.name = "fakeimg"
    fake.node_tree.nodes.new("ShaderNodeTexImage").image = fake_image
    bpy.data.node_groups.new("fakegroup", "ShaderNodeTree").use_fake_user = True
    text = bpy.data.texts.new("register.py")  # a registered text block: run when a trusted file is read
    text.write("import bpy\nbpy.app.driver_namespace['sdg_text_ran'] = True\n")
    text.use_module = True
    other = bpy.data.scenes.new("Other")
    camera = bpy.data.objects.new("CamOther", bpy.data.cameras.new("CamOther"))
    other.collection.objects.link(camera)
    other.collection.objects.link(bpy.data.objects.new("only_other", bpy.data.meshes.new("only_other")))
    scene.camera = camera
    cam_a = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    cam_a.location = (0.0, -6.0, 4.0)
    cam_a.rotation_euler = (1.0, 0.0, 0.0)
    scene.collection.objects.link(cam_a)
    scene.collection.objects.link(bpy.data.objects.new("Lamp", bpy.data.lights.new("Lamp", "SUN")))
    bpy.ops.wm.save_mainfile()
    assert image.filepath == "//../tex/checker.png" and bpy.data.libraries[0].filepath == "//libs/props.blend"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return blend


def session() -> dict:
    """The session's data-blocks (those of the session itself left out), each with its
    library and file path, and what the run's notes and audit say of the files it reads."""
    found = {}
    for attr in dir(bpy.data):
        blocks = getattr(bpy.data, attr, None)
        if attr in ("window_managers", "workspaces", "screens") or not isinstance(
            blocks, bpy.types.bpy_prop_collection
        ):
            continue
        found[attr] = sorted(
            (b.name, b.library.filepath if b.library else None, getattr(b, "filepath", None), b.users) for b in blocks
        )
    found["session file"] = bpy.data.filepath
    found["scene files"] = base.scene_files()
    found["newer"] = base.newer_files_note()
    return found


def load(blend: Path, whole: bool, monkeypatch) -> dict:
    with monkeypatch.context() as m:
        m.setattr(base, "reads_whole_file", lambda: whole)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = base.load_blend_scene(blend, "Scene")
        assert bpy.context.scene == scene and scene.name == "Scene"
        return session()


@needs_whole_read
def test_read_whole_the_session_holds_what_an_append_of_the_scene_gives(rich, monkeypatch):
    before = files_under(rich.parents[1])
    read = load(rich, True, monkeypatch)
    appended = load(rich, False, monkeypatch)
    # The append keeps a Library of the file it read, from which nothing is linked.
    libraries = appended.pop("libraries")
    assert [lib[:3] for lib in libraries] == [
        ("props.blend", None, str(rich.parent / "libs" / "props.blend")),
        ("scene.blend", None, str(rich)),
    ]
    assert read.pop("libraries") == [lib for lib in libraries if lib[0] != "scene.blend"]
    assert read == appended
    # What that is, by hand: the scene and what it uses (the other scene's camera, the linked
    # collection and its library's data), no other scene, no fake-user data, no text.
    assert [o[0] for o in read["objects"]] == ["CamA", "CamOther", "Lamp", "floor", "libcube", "props_inst"]
    assert [s[0] for s in read["scenes"]] == ["Scene"]
    assert [m[0] for m in read["materials"]] == ["floormat", "libmat"]
    assert read["node_groups"] == [] and read["texts"] == []
    # Paths relative to the .blend are absolute; the linked image's stays relative to its library.
    assert ("relimg", None, os.path.normpath(str(rich.parents[1] / "tex" / "checker.png")), 1) in read["images"]
    assert ("libimg", str(rich.parent / "libs" / "props.blend"), "//../../tex/checker.png", 1) in read["images"]
    assert read["session file"] == ""
    assert [f["kind"] for f in read["scene files"]] == ["image", "image", "library"]
    assert all(os.path.exists(f["path"]) for f in read["scene files"])
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert files_under(rich.parents[1]) == before


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.blend"
    make_shop_blend(path)
    return path


def shop_param(blend: Path, folder: Path) -> Path:
    param = folder / "shop.toml"
    param.write_text(
        '[run]\nframes = 2\nseed = 3\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
        "[annotators]\nsemantic_segmentation = {}\ninstance_segmentation = {}\nbounding_box_2d_tight = {}\n"
        "bounding_box_3d = {}\ndistance_to_camera = {}\nnormals = {}\ncamera_params = {}\n"
        "[writers]\nbasic = {}\ncoco = {}\n"
    )
    return param


# What differs between two runs of one parameter file: timings, memory, the process, the output path.
RUN_RECORDS = {"audit/environment.json", "audit/frames.jsonl", "audit/manifest.json"}


@needs_whole_read
def test_the_base_blend_is_read_whole_never_appended_and_its_outputs_are_the_appends(
    shop, tmp_path, monkeypatch, capsys
):
    """A render and a validate take the whole-file read: the append (_append_scene, the
    slow path) is never called, no Library of the .blend is left (an append leaves one).
    The frames, labels and notes are byte for byte those of a run that appends the scene,
    and the .blend and its folder are untouched."""
    before = files_under(shop.parent)
    param = shop_param(shop, tmp_path)
    with monkeypatch.context() as m:
        m.setattr(base, "reads_whole_file", lambda: False)
        assert main(["render", str(param), "--out", str(tmp_path / "appended"), "--quiet"]) == 0
    said_appended = capsys.readouterr().err

    def never(*_args):
        raise AssertionError("the base scene was appended")

    monkeypatch.setattr(base, "_append_scene", never)
    assert main(["validate", str(param)]) == 0
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "read"), "--quiet"]) == 0
    assert capsys.readouterr().err == said_appended  # the same notes on the base scene
    assert "EEVEE" in said_appended
    assert [lib.name for lib in bpy.data.libraries] == []
    appended, read = (files_under(tmp_path / name) for name in ("appended", "read"))
    assert sorted(read) == sorted(appended)
    assert len([f for f in read if f.startswith("rgb_")]) == 2
    differ = [f for f in read if read[f][0] != appended[f][0] and f not in RUN_RECORDS and "/written/" not in f]
    assert differ == []
    assert read["audit/inputs/shop.blend"][0] == before["shop.blend"][0]
    assert files_under(shop.parent) == before


@needs_whole_read
def test_with_auto_run_scripts_on_the_scene_is_appended_running_none_of_its_python(rich, monkeypatch):
    """Reading a file runs its registered text blocks where Blender trusts files (Auto Run
    Python Scripts on), which an append never does (and a scene evaluated with it turned off
    would keep its Python drivers off): there the scene is appended, as before."""
    prefs = bpy.context.preferences.filepaths
    monkeypatch.setattr(prefs, "use_scripts_auto_execute", True)
    assert not base.reads_whole_file()
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.app.driver_namespace.pop("sdg_text_ran", None)
    base.load_blend_scene(rich, "Scene")
    assert "sdg_text_ran" not in bpy.app.driver_namespace
    assert [lib.name for lib in bpy.data.libraries] == ["props.blend", "scene.blend"]  # appended
    monkeypatch.setattr(prefs, "use_scripts_auto_execute", False)
    assert base.reads_whole_file()


@needs_whole_read
def test_the_uis_recordings_append_the_scene_into_the_open_session(rich, monkeypatch):
    """The UI records and checks a parameter file's .blend in the open session, which undo
    takes back afterwards: reading a file would replace the session (and end the running
    operator), so its jobs append the scene, as before, also where Blender runs in the
    background (the tests)."""
    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.recorder import RunOptions
    from sdg_addon.ui.job import RecordingJob

    config = config_from_dict({"scene": {"blend": str(rich), "scene": "Scene"}}, rich.parent / "p.toml")
    job = RecordingJob(config, RunOptions(rich.parent / "out", range(1)))
    assert job.options.in_open_session and not RunOptions(rich.parent, range(1)).in_open_session
    bpy.ops.wm.read_homefile(use_empty=True)
    base.load_blend_scene(rich, "Scene", in_open_session=True)
    assert [lib.name for lib in bpy.data.libraries] == ["props.blend", "scene.blend"]  # appended


@needs_whole_read
def test_the_driver_namespace_and_handlers_a_script_set_survive_the_read(tmp_path, monkeypatch):
    """Reading a file resets the session's Python state, which the append kept: a Python
    driver calling a function a script put in bpy.app.driver_namespace (`blender -b -P
    setup.py -P headless/run.py`) evaluated to 0 with a warning about Auto Run, and the
    script's handlers not marked persistent were gone. Both are as before the read, the
    driver evaluated with the function."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.name = "Scene"
    obj = bpy.data.objects.new("driven", None)
    bpy.context.scene.collection.objects.link(obj)
    curve = obj.driver_add("location", 0)
    curve.driver.type = "SCRIPTED"
    curve.driver.expression = "sdg_test_offset(2)"
    blend = tmp_path / "driven.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)

    def on_frame(*_args):
        pass

    bpy.app.driver_namespace["sdg_test_offset"] = lambda v: v * 1.5
    bpy.app.handlers.frame_change_pre.append(on_frame)
    try:
        monkeypatch.setattr(base, "reads_whole_file", lambda: True)
        scene = base.load_blend_scene(blend, "Scene")
        assert "sdg_test_offset" in bpy.app.driver_namespace
        assert on_frame in bpy.app.handlers.frame_change_pre
        bpy.context.view_layer.update()
        assert scene.objects["driven"].evaluated_get(bpy.context.evaluated_depsgraph_get()).location.x == 3.0
    finally:
        bpy.app.driver_namespace.pop("sdg_test_offset", None)
        if on_frame in bpy.app.handlers.frame_change_pre:
            bpy.app.handlers.frame_change_pre.remove(on_frame)
        bpy.ops.wm.read_factory_settings(use_empty=True)


def test_a_run_without_a_blend_is_in_linear_rec709_after_an_acescg_run(tmp_path):
    """Blender 5.0 keeps the working colour space of the last file read: a run without a
    `blend` after a run of an ACEScg .blend in the same process (a wrapper calling
    headless.cli.main twice) stayed in ACEScg, its colours ACEScg numbers and its image not
    that of the same file run alone. Headless, it starts in Linear Rec.709 every time."""
    from scenes import asset, camera, header, sun, write_param

    if not hasattr(bpy.data, "colorspace"):
        pytest.skip("Blender 4.2 renders in Linear Rec.709 only")
    blend = tmp_path / "acescg.blend"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.set_working_color_space(working_space="ACEScg", convert_colors=False)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    shot = (
        header((64, 48), samples=1)
        + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1))
        + sun()
        + asset("ball", "sphere", 0.3, label="ball", color=[0.8, 0.1, 0.05])
    )
    plain = write_param(tmp_path, shot, "plain.toml")
    acescg = write_param(tmp_path, shot + f'\n[scene]\nblend = "{blend.as_posix()}"\n', "acescg.toml")
    assert main(["render", str(plain), "--out", str(tmp_path / "alone"), "--quiet"]) == 0
    assert main(["render", str(acescg), "--out", str(tmp_path / "acescg"), "--quiet"]) == 0
    assert main(["render", str(plain), "--out", str(tmp_path / "after"), "--quiet"]) == 0
    assert bpy.data.colorspace.working_space == "Linear Rec.709"
    alone = sorted((tmp_path / "alone").rglob("*.png"))
    assert alone
    for path in alone:
        after = tmp_path / "after" / path.relative_to(tmp_path / "alone")
        assert after.read_bytes() == path.read_bytes(), path.name
