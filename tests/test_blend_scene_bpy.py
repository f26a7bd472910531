"""A .blend as the base scene, and .blend files as assets: transforms and inherited labels
are those of the file; [[label_rules]] label by names; the file is never modified."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")
from blend_scene import make_shop_blend  # noqa: E402
from oiio_check import requires_oiio  # noqa: E402

from headless.cli import main  # noqa: E402
from sdg_addon.config import ConfigError  # noqa: E402
from sdg_addon.config.schema import config_from_dict  # noqa: E402


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    d = tmp_path_factory.mktemp("shop")
    path = d / "shop.blend"
    matrices = make_shop_blend(path)
    return SimpleNamespace(dir=d, path=path, matrices=matrices, sha=sha256(path))


def build(shop, table: dict):
    from sdg_addon.scene.build import build_scene

    return build_scene(config_from_dict(table, shop.dir / "p.toml"))


CAMERA = [{"name": "cam", "location": [0, -4, 2]}]


def saved_variant(path: Path) -> Path:
    """Save the open session (a variant of a test .blend) as a copy at `path`, then empty it."""
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    return path


def blend_param(blend: Path, extra: str = "") -> Path:
    """A one-frame, 32 x 24 parameter file recording `blend`'s CamA, beside it."""
    param = blend.with_suffix(".toml")
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n{extra}'
    )
    return param


def test_blend_asset_keeps_world_transforms(shop, clean_bpy):
    """Appended objects' matrix_world is not in the file: parts used to land at the origin."""
    build(shop, {"cameras": CAMERA, "assets": [{"name": "stock", "file": "shop.blend"}]})
    for name in ("can_a", "can_b", "crate_body", "crate_lid"):  # parented, rotated, scaled
        got = np.array(bpy.data.objects[f"stock/{name}"].matrix_world)
        assert np.allclose(got, shop.matrices[name], atol=1e-5), name


def test_blend_asset_keeps_labels_inherited_from_collections_and_parents(shop, clean_bpy):
    built = build(
        shop,
        {
            "cameras": CAMERA,
            "assets": [
                {"name": "crate", "file": "shop.blend", "objects": "crate_*", "location": [2, 0, 0]},
                {"name": "cans", "file": "shop.blend", "objects": "can_*", "labels": {"shelf": "top"}},
            ],
        },
    )
    crate = built.entities["crate"]
    # Both meshes of the crate inherit class:crate from their parent empty in the file and
    # zone:aisle from its collection: one instance with those labels.
    assert crate.labels == {"zone": ["aisle"], "class": ["crate"]}
    assert sorted(m.name for m in crate.meshes) == ["crate/crate_body", "crate/crate_lid"]
    # The asset's own labels still add to what the file gave (nearer labels win per type).
    assert built.entities["cans"].labels == {"shelf": ["top"], "zone": ["aisle"], "class": ["can"]}
    moved = np.array(bpy.data.objects["crate/crate_lid"].matrix_world)
    assert np.allclose(moved[:3, 3], np.array(shop.matrices["crate_lid"])[:3, 3] + [2, 0, 0], atol=1e-5)


def test_base_scene_labels_cameras_lights_and_additions(shop, clean_bpy):
    built = build(
        shop,
        {
            "scene": {"blend": "shop.blend", "cameras": "CamB"},
            "lights": [{"name": "fill", "type": "point", "location": [0, 0, 3]}],
            "assets": [{"name": "ball", "primitive": "sphere", "labels": {"class": "ball"}}],
            "label_rules": [{"type": "part", "pattern": "^crate_(?P<value>[a-z]+)", "scope": "meshes"}],
        },
    )
    assert built.scene.name == "Shop"
    assert built.render_cameras == ["CamB"] and set(built.lights) == {"Key", "fill"}
    labels = {n: e.labels for n, e in built.entities.items()}
    assert labels["can_a"] == {"zone": ["aisle"], "class": ["can"]}
    assert labels["floor"] == {"class": ["floor"]} and labels["ball"] == {"class": ["ball"]}
    # The rule labelled the crate's parts differently: each part is now its own instance.
    assert labels["crate_body"] == {"zone": ["aisle"], "class": ["crate"], "part": ["body"]}
    assert labels["crate_lid"]["part"] == ["lid"]
    for name in ("can_b", "crate", "crate_lid", "CamA", "Key"):
        assert np.allclose(np.array(bpy.data.objects[name].matrix_world), shop.matrices[name], atol=1e-5), name


def test_base_scene_problems_are_sentences(shop, clean_bpy):
    """Each names its field, the value and what was expected (the run adds the file)."""
    from sdg_addon.config import FieldError

    with pytest.raises(FieldError, match="scene.scene: got \"Nope\"; expected a scene of .*shop.blend: one of 'Shop'"):
        build(shop, {"scene": {"blend": "shop.blend", "scene": "Nope"}})
    # The scene named: a camera of another scene of the file was told the recorded one's cameras only.
    with pytest.raises(
        FieldError,
        match="scene.cameras: got \\[\"Side\\*\"\\]; expected .* of scene 'Shop', the one the run records "
        "\\(its cameras: .*CamA.*; \\[scene\\] scene chooses the scene of the .blend\\)",
    ):
        build(shop, {"scene": {"blend": "shop.blend", "cameras": ["Side*"]}})
    # A light pattern matching no light switched every light of the .blend off, silently.
    with pytest.raises(
        FieldError, match='scene.lights: got \\["Key", "Fil\\*"\\]; expected .*"Fil\\*" matches none.*Key'
    ):
        build(shop, {"scene": {"blend": "shop.blend", "lights": ["Key", "Fil*"]}})
    with pytest.raises(
        FieldError, match='assets\\[0\\].name: got "floor"; expected a name the base scene does not use'
    ):
        build(shop, {"scene": {"blend": "shop.blend"}, "assets": [{"name": "floor", "primitive": "cube"}]})


def test_base_scene_config_problems(shop):
    with pytest.raises(ConfigError) as e:
        config_from_dict(
            {"scene": {"blend": "missing.blend", "cameras": 3}, "label_rules": [{"pattern": "(", "scope": "all"}]},
            shop.dir / "p.toml",
        )
    fields = {p.field for p in e.value.problems}
    assert fields == {"scene.blend", "scene.cameras", "label_rules[0].scope", "label_rules[0]"}
    with pytest.raises(ConfigError) as e:
        config_from_dict({"scene": {"scene": "Shop"}, "cameras": CAMERA}, shop.dir / "p.toml")
    assert [p.field for p in e.value.problems] == ["scene.scene"]
    cfg = config_from_dict({"scene": {"blend": "shop.blend"}}, shop.dir / "p.toml")  # no [[cameras]] needed
    assert cfg.base.blend_sha256 == shop.sha and cfg.world is None and not cfg.ground.enabled


def test_headless_render_of_a_base_scene(shop, tmp_path):
    param = tmp_path / "shop.toml"
    param.write_text(
        f"""
[run]
frames = 1
[render]
resolution = [64, 48]
samples = 1
device = "cpu"
[scene]
blend = "{shop.path.as_posix()}"
[annotators]
instance_segmentation = {{}}
semantic_segmentation = {{}}
bounding_box_2d_tight = {{}}
bounding_box_3d = {{}}
"""
    )
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    assert sha256(shop.path) == shop.sha  # the user's file is untouched
    inputs = out / "audit" / "inputs"
    assert sha256(inputs / "shop.blend") == shop.sha
    assert f"{shop.sha}  shop.blend" in (inputs / "SHA256SUMS").read_text()
    assert json.loads((out / "audit" / "resolved.json").read_text())["base"]["blend_sha256"] == shop.sha
    for cam in ("CamA", "CamB"):  # every camera of the .blend, one sub-folder each
        d = out / cam  # Replicator's <camera>/<annotator>/ layout
        labels = json.loads((d / "bounding_box_2d_tight" / "bounding_box_2d_tight_labels_0000.json").read_text())
        found = {v["class"] for v in labels.values()}
        assert {"can", "crate", "floor"} <= found, found
        semantic = json.loads((d / "semantic_segmentation" / "semantic_segmentation_labels_0000.json").read_text())
        assert {"can", "crate"} <= {v.get("class") for v in semantic.values()}
        paths = json.loads((d / "bounding_box_3d" / "bounding_box_3d_prim_paths_0000.json").read_text())
        boxes = np.load(d / "bounding_box_3d" / "bounding_box_3d_0000.npy")
        transforms = dict(zip(paths, boxes["transform"]))
        # Every object where the .blend has it (the 3D box transform is object_to_world.T).
        for path, name in (("/shop/crate", "crate"), ("/shop/cans/can_b", "can_b"), ("/floor", "floor")):
            assert np.allclose(transforms[path].T, shop.matrices[name], atol=1e-5), path


def files_under(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha256(p) for p in folder.rglob("*") if p.is_file()}


def test_a_finished_shots_render_settings_write_nothing_and_change_no_pixel(shop, tmp_path):
    """A shot's .blend inverts its image in the compositor, writes it through File Output
    nodes (next to the .blend, where the user's own render lies, and into another folder),
    lays a sequencer strip over it, renders in stereo and has a render region left on. A run
    renders each camera's whole frame, passes alone: the same pixels as the plain .blend, and
    nothing written outside the output folder (before: the strip, and stereo, ended the run;
    the region cropped the images to 11 x 12 pixels)."""
    from blend_scene import add_compositor_and_sequencer

    user = tmp_path / "user"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    user.mkdir()
    (user / "shot_0001.png").write_bytes(b"the user's own render")
    add_compositor_and_sequencer(shop.path, user / "shot.blend", "//")
    add_compositor_and_sequencer(shop.path, user / "shot_abs.blend", elsewhere.as_posix() + "/")
    before = files_under(user)

    def record(blend: Path, out: Path):
        param = tmp_path / f"{out.name}.toml"
        param.write_text(
            f'[run]\nframes = 1\n[render]\nresolution = [64, 48]\nsamples = 2\ndevice = "cpu"\n'
            f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
        )
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
        return out

    plain = record(shop.path, tmp_path / "plain")
    for name in ("shot.blend", "shot_abs.blend"):
        out = record(user / name, tmp_path / f"out_{name}")
        assert files_under(user) == before, name  # nothing new next to the .blend, nothing changed
        assert list(elsewhere.iterdir()) == [], name
        a = (plain / "rgb_0000.png").read_bytes()
        b = (out / "rgb_0000.png").read_bytes()
        assert a == b, f"{name}: the shot's render settings changed the image"


def test_a_finished_shots_compositor_sequencer_and_stereo_are_named(shop, tmp_path, capsys):
    """The run's frames are the render passes, which the shot's compositor (an Invert, a File
    Output), sequencer strip and stereoscopy would change in Blender's render: the Render
    Region was named, these three were left out without a word; each is named now. The
    plain .blend names none."""
    from blend_scene import add_compositor_and_sequencer

    add_compositor_and_sequencer(shop.path, tmp_path / "shot.blend", "//")
    said = {}
    for blend in (shop.path, tmp_path / "shot.blend"):
        param = blend_param(blend).rename(tmp_path / f"{blend.stem}.toml")
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / f"out_{blend.stem}"), "--quiet"]) == 0
        said[blend.stem] = capsys.readouterr().err
    notes = (
        "compositor nodes 'File Output', 'Invert Color' (not reproduced: the frames are the render passes)",
        "sequencer strips 'red' (not reproduced: the frames are the render passes)",
        "stereoscopy on (not reproduced: each camera renders one view; a stereo pair is two cameras)",
    )
    for note in notes:
        assert note in said["shot"], said["shot"]
        assert note.split(" (")[0] not in said["shop"], said["shop"]


def test_a_panoramic_camera_is_refused_before_anything_is_written(shop, tmp_path):
    """Boxes, point clouds and camera parameters describe pinhole and orthographic cameras: a
    .blend's fisheye camera would get labels that do not match its image (before: rendered,
    labelled as a 50 mm pinhole camera)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.cameras["CamB"].type = "PANO"
    fisheye = tmp_path / "fisheye.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(fisheye), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    def record(cameras: str, out: Path) -> int:
        param = tmp_path / f"{out.name}.toml"
        param.write_text(
            f'[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
            f'[scene]\nblend = "{fisheye.as_posix()}"\ncameras = {cameras}\n'
        )
        return main(["render", str(param), "--out", str(out), "--quiet"])

    assert record('["*"]', tmp_path / "all") == 2
    assert not (tmp_path / "all").exists()
    assert record('["CamA"]', tmp_path / "front") == 0  # left out by [scene] cameras: fine
    # Nor does a randomizer make one.
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.scene.build import build_scene

    cfg = config_from_dict(
        {
            "scene": {"blend": fisheye.as_posix(), "cameras": ["CamA"]},
            "randomizers": [{"type": "property", "targets": "CamA", "path": "data.type", "value": "PANO"}],
        },
        tmp_path / "p.toml",
    )
    built = build_scene(cfg)
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    with pytest.raises(ConfigError, match='randomizers\\[0\\].value: got "PANO"; .*one of PERSP, ORTHO'):
        recorder.check_targets(built, recorder.resolve_targets(built))


@pytest.mark.parametrize(
    "entry",
    [
        {"type": "sensor", "targets": "CamA", "focal_length": {"distribution": "uniform", "low": 20, "high": 80}},
        {"type": "sensor", "targets": "Cam*", "f_stop": 2.8},
        {"type": "camera", "targets": "CamA", "location": [0, -4, 2], "focal_length": 35},
    ],
)
def test_a_lens_drawn_for_a_camera_sharing_its_data_with_another_is_refused(shop, tmp_path, entry):
    """Two .blend cameras of one Camera data-block (a linked duplicate, Alt+D): a lens drawn
    for one was the other's too (CamB rendered, and its camera_params said, the focal length
    drawn for CamA; targeting both left both with the later draw, the log saying each its own).
    Refused before anything is written; a camera left out of the run may share it."""
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.scene.build import build_scene

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.objects["CamB"].data = bpy.data.objects["CamA"].data
    blend = saved_variant(tmp_path / "linked.blend")

    def problems(cameras):
        cfg = config_from_dict(
            {"scene": {"blend": blend.as_posix(), "cameras": cameras}, "randomizers": [entry]}, tmp_path / "p.toml"
        )
        built = build_scene(cfg)
        recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
        try:
            recorder.check_targets(built, recorder.resolve_targets(built))
        except ConfigError as e:
            return str(e)
        return ""

    said = problems(["CamA", "CamB"])
    assert "expected targets with camera data of their own: 'CamA' shares its camera data 'CamA' with 'CamB'" in said
    assert problems(["CamA"]) == ""


@pytest.mark.parametrize(
    "entry, refused",
    [
        ({"type": "light", "targets": "K*", "energy": {"distribution": "uniform", "low": 10, "high": 1000}}, True),
        ({"type": "light", "targets": "Key", "temperature": 3000}, True),  # Fill shines with it unsaid
        ({"type": "light", "targets": "K*", "size": 0.5}, False),  # a constant for both: alike
        ({"type": "light", "targets": "Key", "location": [0, -2, 3]}, False),  # the object's own
    ],
)
def test_a_light_sharing_its_data_with_another_is_refused_what_it_draws_of_it(shop, tmp_path, entry, refused):
    """Two .blend lights of one Light data-block (a linked duplicate, Alt+D: a row of
    lamps): an energy drawn for each rendered both with the later draw (left and right of
    the floor alike, 195.1 and 194.8, where the log said 517 and 951 W). Refused before
    anything is written, as a camera sharing its lens is; constants for all of them and
    what the object holds (location, look_at) are fine."""
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.scene.build import build_scene

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    fill = bpy.data.objects.new("Kfill", bpy.data.objects["Key"].data)
    fill.location = (-1.0, -1.0, 3.0)
    bpy.context.scene.collection.objects.link(fill)
    blend = saved_variant(tmp_path / "lamps.blend")
    cfg = config_from_dict({"scene": {"blend": blend.as_posix()}, "randomizers": [entry]}, tmp_path / "p.toml")
    built = build_scene(cfg)
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    if not refused:
        recorder.check_targets(built, recorder.resolve_targets(built))
        return
    with pytest.raises(ConfigError, match=r"randomizers\[0\]\.(energy|temperature): got ") as e:
        recorder.check_targets(built, recorder.resolve_targets(built))
    assert "targets with light data of their own:" in str(e.value) and "shares its light data 'Key'" in str(e.value)


@pytest.mark.parametrize("how", ["keyed", "linked"])
@pytest.mark.parametrize(
    "entry, field",
    [
        ({"type": "world", "strength": {"distribution": "uniform", "low": 0.5, "high": 2}}, "strength"),
        ({"type": "sky", "strength": 0.1}, "strength"),
        ({"type": "world_hdri", "folder": "hdri"}, "type"),  # its strength: 1 by default
        ({"type": "world", "color": [1, 0, 0]}, None),  # a colour link is replaced by the entry's own
    ],
)
def test_a_world_strength_the_blend_keys_or_links_is_refused(shop, tmp_path, how, entry, field):
    """A .blend world whose Background Strength is keyed (a sunrise) or fed by a link (a
    Value node): a world, sky or world_hdri entry's strength showed in no frame (strength
    1.0 and 0.1 rendered the same image, the log saying each). Refused before anything is
    written, naming the world, its node and the way out."""
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.scene.build import build_scene

    (tmp_path / "hdri").mkdir()  # a flat 2 x 1 Radiance file
    (tmp_path / "hdri" / "grey.hdr").write_bytes(
        b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 2\n" + bytes([128, 128, 128, 129] * 2)
    )
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    world = bpy.context.scene.world
    strength = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND").inputs["Strength"]
    if how == "keyed":
        strength.keyframe_insert("default_value", frame=1)
    else:
        world.node_tree.links.new(world.node_tree.nodes.new("ShaderNodeValue").outputs[0], strength)
    blend = saved_variant(tmp_path / "world.blend")
    cfg = config_from_dict({"scene": {"blend": blend.as_posix()}, "randomizers": [entry]}, tmp_path / "p.toml")
    built = build_scene(cfg)
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    if field is None:
        recorder.check_targets(built, recorder.resolve_targets(built))
        return
    with pytest.raises(ConfigError, match=rf"randomizers\[0\]\.{field}: got ") as e:
        recorder.check_targets(built, recorder.resolve_targets(built))
    said = "keys or drives Strength" if how == "keyed" else "feeds by a link (from 'Value') the Strength"
    assert said in str(e.value) and "would show in no frame" in str(e.value), str(e.value)


def test_camera_params_focus_on_a_bone_as_cycles_does(shop, tmp_path):
    """A .blend camera focused on a bone of an armature (Depth of Field > Focus on Object, and
    its bone): Cycles focuses on the bone's head, camera_params said the distance to the
    armature's origin (5.58 m where the image is sharp at 2.62 m)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("Head")
    bone.head, bone.tail = (0.0, -2.0, 0.5), (0.0, -2.0, 1.0)
    bpy.ops.object.mode_set(mode="OBJECT")
    dof = bpy.data.cameras["CamA"].dof
    dof.use_dof, dof.aperture_fstop, dof.focus_object, dof.focus_subtarget = True, 2.0, rig, "Head"
    cam = bpy.data.objects["CamA"].matrix_world
    view = cam.col[2].to_3d().normalized()
    on_bone = abs(view.dot(cam.translation - type(view)((0.0, -2.0, 0.5))))
    on_origin = abs(view.dot(cam.translation))
    blend = saved_variant(tmp_path / "bone_focus.blend")
    param = blend_param(blend).read_text()
    param = param.replace("[run]", 'annotators = ["rgb", "camera_params"]\n[run]')
    (tmp_path / "p.toml").write_text(param)
    assert main(["render", str(tmp_path / "p.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    said = json.loads((tmp_path / "out" / "camera_params_0000.json").read_text())["cameraFocusDistance"]
    assert abs(on_bone - on_origin) > 1.0
    assert said == pytest.approx(on_bone, abs=1e-5), (said, on_bone, on_origin)


def test_a_focus_target_is_focused_at_its_origin_not_at_a_bone_the_blend_named(shop, tmp_path):
    """A sensor entry's focus_target keeps the object's origin in focus (parameters.md): a
    .blend camera focused on a bone 'Head' kept that bone name, so a focus_target that is an
    armature with a bone 'Head' (a second character) was focused on its head, not its origin."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    rig = bpy.data.objects.new("char", bpy.data.armatures.new("char"))
    bpy.context.scene.collection.objects.link(rig)
    rig["semantics"] = {"class": ["person"]}
    bpy.data.objects["can_a"].parent = rig
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("Head")
    bone.head, bone.tail = (0.0, -2.0, 0.5), (0.0, -2.0, 1.0)
    bpy.ops.object.mode_set(mode="OBJECT")
    dof = bpy.data.cameras["CamA"].dof
    dof.use_dof, dof.focus_object, dof.focus_subtarget = True, bpy.data.objects["floor"], "Head"
    cam = bpy.data.objects["CamA"].matrix_world
    on_origin = abs(cam.col[2].to_3d().normalized().dot(cam.translation))
    blend = saved_variant(tmp_path / "focus_target.blend")
    entry = '[[randomizers]]\ntype = "sensor"\ntargets = "CamA"\nf_stop = 2\nfocus_target = "char"\n'
    param = blend_param(blend).read_text().replace("[run]", 'annotators = ["rgb", "camera_params"]\n[run]')
    (tmp_path / "p.toml").write_text(param + entry)
    assert main(["render", str(tmp_path / "p.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    said = json.loads((tmp_path / "out" / "camera_params_0000.json").read_text())["cameraFocusDistance"]
    assert said == pytest.approx(on_origin, abs=1e-5), (said, on_origin)


def test_a_blend_camera_renders_at_the_scenes_size_and_pixels_whatever_it_carries(shop, tmp_path):
    """The run's own per-camera props (pixel aspect, size) on a .blend camera, as the open
    scene keeps them once Preview Frame built it (a pixel aspect of 2 then) and is saved: the
    camera rendered at that stale aspect and size where the scene's pixels are square (fy
    twice fx, the image squashed), Blender's own render not. The scene's are used."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    cam = bpy.data.objects["CamA"]
    cam["sdg_pixel_aspect"], cam["sdg_resolution"] = [2.0, 1.0], [16, 16]
    blend = saved_variant(tmp_path / "stale.blend")
    param = blend_param(blend).read_text().replace("[run]", 'annotators = ["rgb", "camera_params"]\n[run]')
    (tmp_path / "p.toml").write_text(param)
    assert main(["render", str(tmp_path / "p.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    params = json.loads((tmp_path / "out" / "camera_params_0000.json").read_text())
    projection = params["cameraProjection"]
    assert params["renderProductResolution"] == [32, 24]
    assert projection[0] * 32 == pytest.approx(projection[5] * 24)  # fx == fy: square pixels
    assert np.asarray(Image.open(tmp_path / "out" / "rgb_0000.png")).shape[:2] == (24, 32)


@pytest.mark.skipif(bpy.app.version < (5, 0, 0), reason="Blender 5 added the Custom camera type")
def test_a_custom_camera_is_refused_as_custom_not_as_a_fisheye(shop, tmp_path, capsys):
    """Blender 5's Custom camera (rays from an OSL script) is refused as the panoramic ones are,
    named by its type: it was said to be 'panoramic (fisheye equisolid)', the unused
    panorama_type it keeps."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.cameras["CamA"].type = "CUSTOM"
    blend = saved_variant(tmp_path / "custom.blend")
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "camera 'CamA' is of type Custom, and the labels describe those two only" in err, err
    assert "fisheye" not in err and "panoramic" not in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "case, refused",
    [
        ("sheared", "shears the image"),  # turned inside a parent scaled (1, 2, 0.5)
        ("mirrored", "mirrors the image"),  # its own scale (-1, 1, 1)
        ("mirrored_parent", "mirrors the image"),  # a parent scaled (-1, -1, -1)
        ("scaled", ""),  # a parent scaled (2, 2, 2), its own (2, 0.5, 1.5): only sizes it
    ],
)
def test_a_mirrored_or_sheared_camera_is_refused_before_anything_is_written(shop, tmp_path, capsys, case, refused):
    """Cycles renders through a camera's world transform with each axis made unit length:
    a negative scale mirrors the image, a camera turned inside an unevenly scaled parent
    gets a skewed one. The labels describe a camera of that position and a rotation (before:
    rendered, a mirrored camera's point cloud metres off, a sheared one's loose boxes,
    occlusion and camera_params wrong). A scale alike on all axes, or the camera's own
    uneven one, changes nothing Cycles renders: recorded as before."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    cam = bpy.data.objects["CamA"]
    if case == "mirrored":
        cam.scale = (-1, 1, 1)
    else:  # parented to an empty at the origin (its pose unchanged), which is then turned and scaled
        parent = bpy.data.objects.new("Rig", None)
        bpy.context.scene.collection.objects.link(parent)
        cam.parent = parent
        parent.rotation_euler = (0.0, 0.0, math.radians(30))
        parent.scale = {"sheared": (1, 2, 0.5), "mirrored_parent": (-1, -1, -1), "scaled": (2, 2, 2)}[case]
        if case == "scaled":
            cam.scale = (2, 0.5, 1.5)
    bpy.context.view_layer.update()
    world = np.array(cam.matrix_world, dtype=np.float64)
    world[:3, :3] /= np.linalg.norm(world[:3, :3], axis=0)  # as Cycles renders it
    blend = saved_variant(tmp_path / f"{case}.blend")
    out = tmp_path / "out"
    capsys.readouterr()
    code = main(["render", str(blend_param(blend)), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    if refused:
        assert code == 2 and not out.exists()
        assert "camera 'CamA'" in err and refused in err, err
        return
    assert code == 0, err
    params = json.loads((out / "camera_params_0000.json").read_text())
    assert np.allclose(params["camera_to_world"], world, atol=1e-5)


def test_a_camera_its_animation_shears_stops_the_run_at_that_frame(shop, tmp_path, capsys):
    """A camera inside an unevenly scaled parent, keyed to turn in it: square at scene frame
    1 (the scene as built passes), sheared at frame 2. The run stops there with the camera,
    the frame and what to change (before: rendered skewed, labelled as a rotated camera)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    scene = bpy.context.scene
    scene.frame_set(1)
    cam = bpy.data.objects["CamA"]
    rig = bpy.data.objects.new("Rig", None)
    scene.collection.objects.link(rig)
    cam.parent = rig
    rig.scale = (1, 2, 0.5)
    cam.rotation_euler = (0, 0, 0)
    cam.keyframe_insert("rotation_euler", frame=1)
    cam.rotation_euler = (math.radians(70), 0, math.radians(20))
    cam.keyframe_insert("rotation_euler", frame=2)
    blend = saved_variant(tmp_path / "keyed.blend")
    out = tmp_path / "out"
    param = blend_param(blend, "[sequence]\nclip_length = 2\n")
    param.write_text(param.read_text().replace("frames = 1", "frames = 2"))
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "error: camera 'CamA' at scene frame 2: its world transform shears the image" in err, err
    assert (out / "clip_0000" / "rgb_0000.png").exists() and not (out / "clip_0000" / "rgb_0001.png").exists()


def test_a_fov_spans_the_side_a_blend_camera_fits_its_sensor_to(shop, tmp_path, capsys):
    """A sensor randomizer's fov is Blender's camera angle: across the side the camera fits
    its sensor to. A .blend camera fitted Vertical on a landscape image gets it across its
    height (the docs said the larger side), and its widest view is set by the sensor's
    height (before: checked against its width, so 170° on a 20 mm-high sensor passed and
    rendered 168.6°)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    data = bpy.data.objects["CamA"].data
    data.type, data.sensor_fit, data.sensor_width, data.sensor_height = "PERSP", "VERTICAL", 36.0, 20.0
    blend = saved_variant(tmp_path / "vertical.blend")

    def record(fov: float, out: Path) -> int:
        entry = f'[[randomizers]]\ntype = "sensor"\ntargets = "CamA"\nfov = {fov}\n'
        param = blend_param(blend, entry)
        capsys.readouterr()
        return main(["render", str(param), "--out", str(out), "--quiet"])

    assert record(60, tmp_path / "sixty") == 0
    params = json.loads((tmp_path / "sixty" / "camera_params_0000.json").read_text())
    w, h = params["renderProductResolution"]
    assert w > h and math.degrees(2 * math.atan(h / 2 / params["fy"])) == pytest.approx(60, abs=1e-4)
    assert record(170, tmp_path / "wide") == 2
    err = capsys.readouterr().err
    assert "at most 168.6° on 'CamA': its sensor is 20 mm high (Sensor Fit Vertical)" in err, err
    assert not (tmp_path / "wide").exists()


def test_randomizers_do_not_place_a_camera_a_parent_or_a_constraint_moves(shop, tmp_path):
    """A camera of a .blend parented to an empty moved after parenting: its own location and
    rotation are in the empty's axes, and the camera randomizers give world ones; one with a
    Track To constraint turns to its target whatever aim they give (before: set as its own,
    the camera stood metres away or looked elsewhere). Refused before anything is written,
    naming the camera and why; a lens alone is fine. A parent kept only to organise the
    scene (parented keeping its transform, not moved since) places the camera as asked.
    A light randomizer's location and look_at likewise."""
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.scene.build import build_scene

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    rig = bpy.data.objects.new("Dolly", None)
    bpy.context.scene.collection.objects.link(rig)
    bpy.data.objects["CamA"].parent = rig
    rig.location, rig.rotation_euler, rig.scale = (0.5, -1.0, 0.2), (0.0, 0.0, math.radians(20)), (2, 2, 2)
    tracked = bpy.data.objects["CamB"].constraints.new("TRACK_TO")
    tracked.target = rig
    dolly = saved_variant(tmp_path / "dolly.blend")
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    tidy = bpy.data.objects.new("Cameras", None)
    bpy.context.scene.collection.objects.link(tidy)
    tidy.location, tidy.rotation_euler, tidy.scale = (0.5, -1.0, 0.2), (0.0, 0.0, math.radians(20)), (2, 2, 2)
    bpy.context.view_layer.update()
    bpy.data.objects["CamA"].parent = tidy
    bpy.data.objects["CamA"].matrix_parent_inverse = tidy.matrix_world.inverted()  # Set Parent's default
    tidy_blend = saved_variant(tmp_path / "tidy.blend")
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.objects["Key"].constraints.new("TRACK_TO").target = bpy.data.objects["CamA"]
    lit = saved_variant(tmp_path / "lit.blend")

    def problems(blend: Path, *entries: dict) -> str:
        cfg = config_from_dict(
            {"scene": {"blend": blend.as_posix(), "cameras": ["CamA", "CamB"]}, "randomizers": list(entries)},
            tmp_path / "p.toml",
        )
        built = build_scene(cfg)
        recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
        try:
            recorder.check_targets(built, recorder.resolve_targets(built))
        except ConfigError as e:
            return str(e)
        return ""

    placing = [
        {"type": "camera", "targets": "Cam*", "location": [0, -3, 1], "look_at": [0, 0, 0]},
        {"type": "camera", "targets": "Cam*", "rotation": [80, 0, 0]},
        {"type": "camera_look_at", "targets": "Cam*", "look_at": "*", "distance": 3},
        {"type": "camera_trajectory", "targets": "Cam*", "velocity": [0.1, 0, 0]},
    ]
    for entry in placing:
        err = problems(dolly, entry)
        assert 'randomizers[0].targets: got ["CamA", "CamB"]' in err, (entry, err)
        assert "camera 'CamA' is parented to 'Dolly', which moves, turns or scales it" in err, err
        assert problems(dolly, {**entry, "targets": "CamB"}).count("camera 'CamB' has constraints ('Track To')") == 1
        assert problems(tidy_blend, entry) == "", entry
    assert problems(dolly, {"type": "camera", "targets": "Cam*", "focal_length": 50}) == ""
    # So are lights a light randomizer moves or aims (the area light turned to the dolly).
    light = {"type": "light", "targets": "Key", "location": [1, -1, 3], "look_at": [0, 0, 0]}
    assert problems(tidy_blend, light) == ""
    assert "light 'Key' has constraints ('Track To')" in problems(lit, light)
    assert problems(lit, {"type": "light", "targets": "Key", "energy": 100}) == ""
    assert not (tmp_path / "out").exists()
    # The tidy parent's camera stands and looks where the randomizer says.
    param = blend_param(tidy_blend, '[[randomizers]]\ntype = "camera"\ntargets = "CamA"\nlocation = [0.3, -3, 0.5]\n')
    assert main(["render", str(param), "--out", str(tmp_path / "tidy"), "--quiet"]) == 0
    pose = np.array(json.loads((tmp_path / "tidy" / "camera_params_0000.json").read_text())["camera_to_world"])
    forward = -np.array([0.3, -3, 0.5]) / np.linalg.norm([0.3, -3, 0.5])  # it looks at the origin
    assert np.allclose(pose[:3, 3], [0.3, -3, 0.5], atol=1e-5) and np.allclose(-pose[:3, 2], forward, atol=1e-5)


@pytest.mark.parametrize(
    "delta, entry, said",
    [
        (
            ("CamA", "delta_location", (0.0, 0.0, 1.0)),
            {"type": "camera", "targets": "CamA", "location": [0, -6, 2], "look_at": [0, 0, 0]},
            "camera 'CamA' has a Delta Transform",
        ),
        (
            ("CamA", "delta_rotation_euler", (0.0, 0.0, 0.4)),
            {"type": "camera_look_at", "targets": "CamA", "look_at": "can_a", "distance": 3},
            "camera 'CamA' has a Delta Transform",
        ),
        (
            ("can_a", "delta_location", (0.5, 0.0, 0.0)),
            {"type": "pose", "targets": "can_a", "location": [0.0, 0.0, 0.2]},
            "'can_a' has a Delta Transform",
        ),
        (
            ("Key", "delta_rotation_euler", (0.3, 0.0, 0.0)),
            {"type": "light", "targets": "Key", "location": [1, -1, 3], "look_at": [0, 0, 0]},
            "light 'Key' has a Delta Transform",
        ),
    ],
)
def test_randomizers_do_not_place_what_a_delta_transform_moves(shop, tmp_path, delta, entry, said):
    """A .blend object, camera or light with a Delta Transform (Object Properties > Transform >
    Delta Transform): Blender adds it to the location and rotation a randomizer sets, so a
    camera placed at [0, -6, 2] looking at the origin rendered at [0, -6, 3] looking 23
    degrees aside, the log saying [0, -6, 2] (its labels followed it). Refused before anything
    is written, naming it and the way out; a lens or energy alone is fine."""
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.scene.build import build_scene

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    name, attr, value = delta
    setattr(bpy.data.objects[name], attr, value)
    blend = saved_variant(tmp_path / "delta.blend")

    def problems(entry: dict) -> str:
        cfg = config_from_dict(
            {"scene": {"blend": blend.as_posix(), "cameras": ["CamA"]}, "randomizers": [entry]}, tmp_path / "p.toml"
        )
        built = build_scene(cfg)
        recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
        try:
            recorder.check_targets(built, recorder.resolve_targets(built))
        except ConfigError as e:
            return str(e)
        return ""

    err = problems(entry)
    assert said in err and "set its Delta Transform's location and rotation to 0, or leave it out" in err, err
    assert "remove its constraints" not in err, err
    alone = {"camera": {"focal_length": 50}, "pose": {"scale": 1.5}, "light": {"energy": 100}}  # placing nothing
    if entry["type"] in alone:
        assert problems({"type": entry["type"], "targets": entry["targets"], **alone[entry["type"]]}) == ""
    assert not (tmp_path / "out").exists()


def test_randomizers_do_not_place_an_object_its_parent_moves(shop, tmp_path):
    """An object of a .blend parented to an empty moved after parenting: a `pose` location
    is a world one, set as the object's own (before: the object stood where the empty's
    transform took it, e.g. [0.16, 0.21, 0.2] for [-0.3, 0, 0]). Refused for the entries
    that place objects, naming the object and its parent; scaling alone and an unparented
    object are fine."""
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.scene.build import build_scene

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    shelf = bpy.data.objects.new("shelf", None)
    bpy.context.scene.collection.objects.link(shelf)
    bpy.data.objects["can_a"].parent = shelf
    shelf.location, shelf.rotation_euler = (0.5, 0.5, 0.2), (0.0, 0.0, math.radians(40))
    blend = saved_variant(tmp_path / "shelf.blend")
    cfg_base = {"scene": {"blend": blend.as_posix(), "cameras": ["CamA"]}}

    def problems(*entries: dict) -> str:
        cfg = config_from_dict({**cfg_base, "randomizers": list(entries)}, tmp_path / "p.toml")
        built = build_scene(cfg)
        recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
        try:
            recorder.check_targets(built, recorder.resolve_targets(built))
        except ConfigError as e:
            return str(e)
        return ""

    for entry in (
        {"type": "pose", "targets": "can_*", "location": [-0.3, 0, 0]},
        {"type": "pose", "targets": "can_*", "rotation": [0, 0, 90]},
        {"type": "scatter", "targets": "can_*", "size": [2, 2, 0.2]},
        {"type": "trajectory", "targets": "can_*", "velocity": [0.1, 0, 0]},
    ):
        err = problems(entry)
        assert 'randomizers[0].targets: got ["can_a"]' in err, (entry, err)
        assert "'can_a' is parented to 'shelf', which moves, turns or scales it" in err, err
    assert problems({"type": "pose", "targets": "can_*", "scale": 1.5}) == ""
    assert problems({"type": "pose", "targets": "can_b", "location": [-0.3, 0, 0]}) == ""


def test_a_base_scenes_image_size_and_film_are_named_with_the_values_that_make_them(shop, tmp_path, capsys):
    """A .blend framed at 80 x 60 at 50 % with a transparent film, recorded with [render]'s
    defaults: the run names both differences and the values that make its image (the size at
    the scene's percentage); with them it names none, and its RGB has the film's alpha."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    r = bpy.context.scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = 80, 60, 50
    r.film_transparent = True
    framed = tmp_path / "framed.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(framed), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    def record(name: str, render_lines: str) -> str:
        param = tmp_path / f"{name}.toml"
        param.write_text(
            f'[run]\nframes = 1\n[render]\nsamples = 1\ndevice = "cpu"\n{render_lines}\n'
            f'[scene]\nblend = "{framed.as_posix()}"\ncameras = ["CamA"]\n'
        )
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / name), "--quiet"]) == 0
        return capsys.readouterr().err

    err = record("default", "resolution = [32, 24]")
    assert (
        "the base scene's image is not the run's: size 40 x 30 (80 x 60 at 50%) (the run's: 32 x 24); film "
        "transparent (the run's: opaque). To match it, set in [render]: resolution = [40, 30] (or width = 40, "
        "height = 30), film_transparent = true" in err  # the file's resolution replaced (was: width and height)
    ), err
    err = record("matched", "resolution = [40, 30]\nfilm_transparent = true")
    assert "the base scene's image" not in err, err
    rgb = np.asarray(Image.open(tmp_path / "matched" / "rgb_0000.png"))
    assert rgb.shape == (30, 40, 4) and rgb[..., 3].min() < 255


@pytest.mark.parametrize(
    "size, percentage, said, matched",
    [
        ((40, 30), 1, "size 0 x 0 (40 x 30 at 1%), too small for Blender to render (the run's: 32 x 24)", False),
        ((40, 30), 10, "size 4 x 3 (40 x 30 at 10%) (the run's: 32 x 24; it renders 4 .. 65536 pixels", False),
        ((40, 40), 10, "size 4 x 4 (40 x 40 at 10%) (the run's: 32 x 24)", True),
        ((8192, 8192), 100, "size 8192 x 8192 (the run's: 32 x 24)", True),
        ((7680, 4320), 200, "size 15360 x 8640 (7680 x 4320 at 200%) (the run's: 32 x 24; it renders", False),
    ],
)
def test_a_base_scenes_size_the_run_cannot_take_is_named_without_a_value_to_set(
    tmp_path, size, percentage, said, matched
):
    """The size a .blend renders at its percentage is matched by [render] values only where
    the run takes them: 40 x 30 at 1 % (0 x 0, which Blender refuses: 'Image too small') was
    answered 'set resolution = [0, 0]', 4 x 3 and 15360 x 8640 values that validation refuses
    (4 .. 65536 a side, 8192 x 8192 in all)."""
    from sdg_addon.scene.base import image_differences

    bpy.ops.wm.read_homefile(use_empty=True)
    r = bpy.context.scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = *size, percentage
    r.film_transparent = False
    render = config_from_dict({"render": {"resolution": [32, 24]}, "cameras": CAMERA}, tmp_path / "p.toml").render
    notes, match = image_differences(bpy.context.scene, render)
    assert len(notes) == 1 and notes[0].startswith(said), notes
    assert match == (
        {"width": r.resolution_x * percentage // 100, "height": r.resolution_y * percentage // 100} if matched else {}
    )


def test_a_base_scenes_render_region_is_named_and_the_whole_frame_recorded(shop, tmp_path, capsys):
    """A .blend with a Render Region (Crop to Render Region too) left on: the run renders and
    labels the whole frame, and says so (before: the region was dropped without a word)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    r = bpy.context.scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = 32, 24, 100
    r.use_border = r.use_crop_to_border = True
    r.border_min_x, r.border_max_x, r.border_min_y, r.border_max_y = 0.25, 0.75, 0.1, 0.6
    blend = saved_variant(tmp_path / "region.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "the base scene's image is not the run's: Render Region on (x 0.25 .. 0.75, y 0.1 .. 0.6, cropped to it; "
        "not reproduced: the run renders and labels the whole frame)\n" in err  # no [render] value makes it
    ), err
    assert np.asarray(Image.open(tmp_path / "out" / "rgb_0000.png")).shape == (24, 32, 4)


def test_metadata_a_blend_burns_into_its_image_is_named_and_left_out(shop, tmp_path, capsys):
    """A .blend with Output > Metadata > Burn Into Image on: Blender's render drew its text (the
    file, the date and time, the render time) over the image, so the run's rgb had it over
    the objects its masks describe, and two runs of one frame made other images (115 pixels
    apart at 320 x 240), without a word. It is now off for the run and named; the image is the
    one of the same .blend without it."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.render.resolution_x, bpy.context.scene.render.resolution_y = 32, 24
    plain = saved_variant(tmp_path / "plain.blend")
    bpy.ops.wm.open_mainfile(filepath=str(plain), load_ui=False)
    bpy.context.scene.render.use_stamp = True
    bpy.context.scene.render.stamp_font_size = 12
    stamped = saved_variant(tmp_path / "stamped.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(stamped)), "--out", str(tmp_path / "stamped"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "the base scene's image is not the run's: metadata burnt into the image (Output > Metadata > Burn Into "
        "Image; not reproduced: its text, with the date and render time, would cover what the labels describe and "
        "differ from run to run)\n" in err
    ), err
    assert main(["render", str(blend_param(plain)), "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert "metadata" not in capsys.readouterr().err
    images = [np.asarray(Image.open(tmp_path / name / "rgb_0000.png")) for name in ("stamped", "plain")]
    np.testing.assert_array_equal(*images)


@requires_oiio
def test_a_base_scenes_colour_management_is_matched_by_the_values_the_run_names(shop, tmp_path, capsys):
    """A graded .blend (Filmic, a look, exposure, gamma, curves) in centimetres: a run with the
    default colour settings names each difference and the [render] values that match it; a
    run with those values names only what no setting reproduces (curves) and makes another
    image. A look of another view's family is refused before anything is written."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    view = bpy.context.scene.view_settings
    view.view_transform, view.look, view.exposure, view.gamma = "Filmic", "Medium High Contrast", 1.5, 1.2
    view.use_curve_mapping = True
    bpy.context.scene.unit_settings.scale_length = 0.01  # a scene modelled in centimetres
    graded = tmp_path / "graded.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(graded), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    suggestion = 'view_transform = "Filmic", look = "Medium High Contrast", exposure = 1.5, gamma = 1.2'

    def record(name: str, render_lines: str) -> tuple[int, str]:
        param = tmp_path / f"{name}.toml"
        param.write_text(
            f'[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n{render_lines}\n'
            f'[scene]\nblend = "{graded.as_posix()}"\ncameras = ["CamA"]\n'
        )
        capsys.readouterr()
        code = main(["render", str(param), "--out", str(tmp_path / name), "--quiet"])
        return code, capsys.readouterr().err

    code, err = record("default", "")
    assert code == 0
    assert (
        "the base scene's colour management is not the run's: view transform 'Filmic' (the run's: 'Standard'); "
        "look 'Medium High Contrast' (the run's: 'None'); exposure 1.5 (the run's: 0); gamma 1.2 (the run's: 1); "
        f"curves (not reproduced). To match it, set in [render]: {suggestion}" in err
    ), err
    assert "unit scale is 0.01 (one Blender unit is 0.01 m)" in err, err
    code, err = record("matched", suggestion.replace(", ", "\n"))
    assert code == 0
    assert "the base scene's colour management is not the run's: curves (not reproduced)\n" in err + "\n", err
    assert (tmp_path / "default" / "rgb_0000.png").read_bytes() != (tmp_path / "matched" / "rgb_0000.png").read_bytes()
    code, err = record("wrong_look", 'view_transform = "Filmic"\nlook = "AgX - Punchy"')
    assert (
        code == 2 and "wrong_look.toml: render.look: got \"AgX - Punchy\"; expected a look of the 'Filmic' view" in err
    ), err
    assert not (tmp_path / "wrong_look").exists()


def test_the_geometry_read_is_the_geometry_rendered(shop, tmp_path, clean_bpy):
    """A working .blend keeps its viewport light: a Subdivision Surface at level 0 in the
    viewport (3 in renders), an object hidden in the viewport that renders, a particle system
    displayed at 10 %. The run reads what Cycles renders: occlusion ratios 0 for objects
    nothing covers (before: 0.44 for the subdivided crate, its level-0 cube's outline taken
    for its unoccluded silhouette, and for the can hidden in the viewport) and all 20
    particles made objects of their own (before: none, the viewport showed none of them)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    for name in ("crate_body", "can_a"):
        sub = bpy.data.objects[name].modifiers.new("Subdivision", "SUBSURF")
        sub.levels, sub.render_levels = 0, 3
    bpy.data.objects["can_b"].hide_viewport = True
    bpy.ops.mesh.primitive_plane_add(size=1.0, location=(3.0, 3.0, 0.0))
    field = bpy.context.active_object
    field.name = "field"
    bpy.ops.mesh.primitive_cube_add(size=0.05, location=(0.0, 0.0, -5.0))
    pebble = bpy.context.active_object
    pebble.name = "pebble"  # the prototype, under the floor
    field.modifiers.new("particles", "PARTICLE_SYSTEM")
    settings = field.particle_systems[0].settings
    settings.count, settings.frame_start, settings.frame_end, settings.lifetime = 20, 1, 1, 1000
    settings.render_type, settings.instance_object = "OBJECT", pebble
    settings.effector_weights.gravity = 0.0
    settings.display_percentage = 10
    light = tmp_path / "light.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(light), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    built = build(shop, {"scene": {"blend": light.as_posix(), "cameras": ["CamA"]}})
    copies = [n for n in built.entities if n.startswith("field/instance_")]
    assert len(copies) == 20, sorted(built.entities)

    param = tmp_path / "light.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [128, 96]\nsamples = 2\ndevice = "cpu"\n'
        f'[scene]\nblend = "{light.as_posix()}"\ncameras = ["CamA"]\n'
        "[annotators]\nbounding_box_2d_tight = {}\n"
    )
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    boxes = np.load(out / "bounding_box_2d_tight_0000.npy")
    paths = json.loads((out / "bounding_box_2d_tight_prim_paths_0000.json").read_text())
    occlusion = {p: float(b["occlusionRatio"]) for p, b in zip(paths, boxes)}
    for path in ("/shop/crate", "/shop/cans/can_a", "/shop/cans/can_b"):
        assert occlusion[path] < 0.02, occlusion


@pytest.mark.parametrize("method", ["DOT", "NONE"])
def test_particles_displayed_as_dots_are_each_an_instance(shop, tmp_path, clean_bpy, method):
    """A scatter of objects by particles displayed as dots (or not at all) in the viewport, as
    heavy scatters are, has no instances in the viewport's depsgraph the run reads: its 12
    rendered pebbles were not made objects of their own but pixels of the prototype, one
    instance '/pebble' with one box around all of them, without a word. Displayed as
    rendered for the run, each particle is an instance of its own."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.ops.mesh.primitive_plane_add(size=1.0, location=(3.0, 3.0, 0.0))
    field = bpy.context.active_object
    field.name = "field"
    bpy.ops.mesh.primitive_cube_add(size=0.05, location=(0.0, 0.0, -5.0))
    bpy.context.active_object.name = "pebble"
    field.modifiers.new("particles", "PARTICLE_SYSTEM")
    settings = field.particle_systems[0].settings
    settings.count, settings.frame_start, settings.frame_end, settings.lifetime = 12, 1, 1, 1000
    settings.render_type, settings.instance_object = "OBJECT", bpy.data.objects["pebble"]
    settings.effector_weights.gravity = 0.0
    settings.display_method = method
    blend = tmp_path / "dots.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    built = build(shop, {"scene": {"blend": blend.as_posix(), "cameras": ["CamA"]}})
    copies = [n for n in built.entities if n.startswith("field/instance_")]
    assert len(copies) == 12, sorted(built.entities)


def test_screw_steps_and_ocean_resolution_are_read_at_their_render_values(shop, tmp_path, clean_bpy):
    """A Screw modifier's steps and an Ocean modifier's resolution have a viewport and a render
    value; the run read the viewport's: a vase spun in 3 steps in the viewport (32 in renders)
    had a triangular prism's 3D box (x -0.5 .. 1, y +-0.87 where it renders +-1), and an ocean
    at viewport resolution 2 (8 in renders) had 214 silhouette pixels Cycles rendered as
    background (occlusion 0.03, nothing in front). Both are now read at their render values."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    profile = bpy.data.meshes.new("profile")
    profile.from_pydata([(1.0, 0.0, -0.5), (1.0, 0.0, 0.5)], [(0, 1)], [])
    vase = bpy.data.objects.new("vase", profile)
    bpy.context.scene.collection.objects.link(vase)
    screw = vase.modifiers.new("screw", "SCREW")
    screw.axis, screw.steps, screw.render_steps = "Z", 3, 32
    bpy.ops.mesh.primitive_plane_add(size=1.0, location=(3.0, 3.0, 0.0))
    sea = bpy.context.active_object
    sea.name = "sea"
    ocean = sea.modifiers.new("ocean", "OCEAN")
    ocean.geometry_mode, ocean.viewport_resolution, ocean.resolution = "GENERATE", 2, 4
    depsgraph = bpy.context.evaluated_depsgraph_get()
    viewport_sea = len(sea.evaluated_get(depsgraph).to_mesh().vertices)
    light = tmp_path / "screw.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(light), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)

    built = build(shop, {"scene": {"blend": light.as_posix(), "cameras": ["CamA"]}})
    depsgraph = built.scene.view_layers[0].depsgraph
    co = [v.co.copy() for v in built.scene.objects["vase"].evaluated_get(depsgraph).to_mesh().vertices]
    assert len(co) == 2 * 32
    assert min(v.x for v in co) == pytest.approx(-1.0, abs=1e-5) and max(v.y for v in co) == pytest.approx(
        1.0, abs=0.01
    )
    rendered = len(built.scene.objects["sea"].evaluated_get(depsgraph).to_mesh().vertices)
    assert rendered > viewport_sea, (rendered, viewport_sea)
    bpy.data.objects["sea"].modifiers["ocean"].viewport_resolution = 4  # the render's, read in the viewport
    assert (
        len(bpy.data.objects["sea"].evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh().vertices) == rendered
    )


def test_files_a_blend_reads_are_in_the_audit_and_missing_ones_named(shop, tmp_path, capsys):
    """A .blend moved without its textures or linked libraries still renders (magenta, or
    without the linked data, as Blender does): the run names what is missing. With them
    there, the audit lists them with their SHA-256 (audit/scene_files.json)."""
    import shutil

    textures, library = tmp_path / "textures", tmp_path / "props.blend"
    textures.mkdir()
    shutil.copy(shop.path, library)
    image = bpy.data.images.new("wood", 4, 4)
    image.filepath_raw = str(textures / "wood.png")
    image.file_format = "PNG"
    image.save()
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    material = bpy.data.materials.new("wood")
    material.use_fake_user = True
    from sdg_addon.compat import enable_nodes

    enable_nodes(material)
    material.node_tree.nodes.new("ShaderNodeTexImage").image = bpy.data.images.load(str(textures / "wood.png"))
    bpy.data.objects["floor"].data.materials.append(material)
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.collections = ["cans"]
    holder = bpy.data.objects.new("linked_cans", None)
    holder.instance_type, holder.instance_collection = "COLLECTION", dst.collections[0]
    bpy.context.scene.collection.objects.link(holder)
    param = blend_param(saved_variant(tmp_path / "moved.blend"))
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert "files the scene uses are missing" not in capsys.readouterr().err
    read = json.loads((tmp_path / "whole" / "audit" / "scene_files.json").read_text())
    wood = next(e for e in read if e["kind"] == "image")
    assert wood["path"] == str(textures / "wood.png") and wood["sha256"] == sha256(textures / "wood.png")
    assert any(e["kind"] == "library" and e["path"] == str(library) and e["sha256"] == sha256(library) for e in read)
    # A run continuing that one must read the same files: a texture changed since is refused.
    assert main(["render", str(param), "--out", str(tmp_path / "part"), "--frames", "0:1", "--quiet"]) == 0
    image = bpy.data.images.new("wood2", 4, 4)
    image.pixels[:] = [1.0, 0.0, 0.0, 1.0] * 16
    image.filepath_raw, image.file_format = str(textures / "wood.png"), "PNG"
    image.save()
    two = tmp_path / "two.toml"
    two.write_text(param.read_text().replace("frames = 1", "frames = 2"))
    before = files_under(tmp_path / "part")
    capsys.readouterr()
    assert main(["render", str(two), "--out", str(tmp_path / "part"), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"the files the scene reads differ from those of the run in {(tmp_path / 'part').as_posix()}" in err
    assert str(textures / "wood.png") in err and files_under(tmp_path / "part") == before
    shutil.rmtree(textures)
    library.unlink()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "files the scene uses are missing" in err, err
    assert f"image 'wood.png': {textures / 'wood.png'}" in err and f"library 'props.blend': {library}" in err, err


def test_a_text_objects_font_file_is_in_the_audit_and_named_when_missing(shop, tmp_path, capsys):
    """A text object set in a font file (Blender's fonts are files beside the .blend, as its
    textures are) rendered in Blender's built-in font when the file was not there, its glyphs
    and boxes another shape (a 'Wg' 49 px wide became 41), without a word, and the audit did
    not list the font, so --resume did not see it change. The font is now listed with its
    SHA-256 (audit/scene_files.json) and named when missing."""
    import shutil

    fonts = sorted(Path("/usr/share/fonts").rglob("*.ttf")) if Path("/usr/share/fonts").is_dir() else []
    if not fonts:
        pytest.skip("no TrueType font on this machine")
    font = tmp_path / "label.ttf"
    shutil.copy(fonts[0], font)
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    text = bpy.data.curves.new("label", "FONT")
    text.body, text.font = "Wg", bpy.data.fonts.load(str(font))
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("label", text))
    param = blend_param(saved_variant(tmp_path / "text.blend"))
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert "files the scene uses are missing" not in capsys.readouterr().err
    read = json.loads((tmp_path / "whole" / "audit" / "scene_files.json").read_text())
    assert [(e["kind"], e["path"], e["sha256"]) for e in read] == [("font", str(font), sha256(font))]
    font.unlink()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "a text whose font is missing in its built-in font" in err and f": {font}" in err, err


def test_a_udim_textures_tiles_are_in_the_audit_and_named_when_missing(shop, tmp_path, capsys):
    """A UDIM texture (an image of source Tiled, one file per tile: wood.<UDIM>.png) was
    neither listed in audit/scene_files.json nor named when a tile was missing (Blender
    renders that tile magenta); each tile's file now is."""
    from sdg_addon.compat import enable_nodes

    for number in (1001, 1002):
        tile = bpy.data.images.new(f"tile{number}", 4, 4)
        tile.filepath_raw, tile.file_format = str(tmp_path / f"wood.{number}.png"), "PNG"
        tile.save()
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    image = bpy.data.images.load(str(tmp_path / "wood.1001.png"))
    image.source, image.filepath = "TILED", str(tmp_path / "wood.<UDIM>.png")
    if len(image.tiles) < 2:
        image.tiles.new(1002)
    material = bpy.data.materials.new("wood")
    enable_nodes(material)
    material.node_tree.nodes.new("ShaderNodeTexImage").image = image
    bpy.data.objects["floor"].data.materials.append(material)
    param = blend_param(saved_variant(tmp_path / "udim.blend"))
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert "files the scene uses are missing" not in capsys.readouterr().err
    read = json.loads((tmp_path / "whole" / "audit" / "scene_files.json").read_text())
    tiles = [tmp_path / f"wood.{n}.png" for n in (1001, 1002)]
    assert [(e["kind"], e["path"], e["sha256"]) for e in read] == [("image", str(t), sha256(t)) for t in tiles]
    tiles[1].unlink()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "files the scene uses are missing" in err and f": {tiles[1]}" in err, err
    assert f": {tiles[0]}" not in err


def test_an_ies_profile_a_light_reads_is_in_the_audit_and_named_when_missing(shop, tmp_path, capsys):
    """A light shaped by an IES profile from a file (IES Texture node, External) rendered
    without it when the file was not there (a floor lit to a mean of 255 instead of 238),
    without a word, and the audit did not list it; it now lists it with its SHA-256 and names
    it when missing."""
    ies = tmp_path / "spot.ies"
    ies.write_text("IESNA:LM-63-2002\nTILT=NONE\n1 1000 1 3 1 1 2 0 0 0\n1 1 100\n0 45 90\n0\n1000 500 0\n")
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    light = bpy.data.lights["Key"]
    light.use_nodes = True
    tree = light.node_tree
    node = tree.nodes.new("ShaderNodeTexIES")
    node.mode, node.filepath = "EXTERNAL", str(ies)
    tree.links.new(node.outputs[0], tree.nodes["Emission"].inputs["Strength"])
    param = blend_param(saved_variant(tmp_path / "ies.blend"))
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "whole"), "--quiet"]) == 0
    assert "files the scene uses are missing" not in capsys.readouterr().err
    read = json.loads((tmp_path / "whole" / "audit" / "scene_files.json").read_text())
    assert [(e["kind"], e["name"], e["path"], e["sha256"]) for e in read] == [
        ("IES profile", "Key", str(ies), sha256(ies))
    ]
    ies.unlink()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"IES profile 'Key': {ies}" in err, err


def test_a_damaged_blend_is_refused_before_anything_is_written(tmp_path, capsys):
    """Garbage named .blend: `validate` says so; a file with a .blend's header but nothing
    after it: `render` says so; both exit 2 with the output folder never made (before: exit 1,
    "cannot write to OUT: load: ... failed to open blend file")."""
    import gzip

    garbage, truncated, packed = tmp_path / "garbage.blend", tmp_path / "truncated.blend", tmp_path / "packed.blend"
    garbage.write_bytes(bytes(range(256)) * 8)
    truncated.write_bytes(b"BLENDER-v500")
    packed.write_bytes(gzip.compress(b"BLENDER-v500"))  # compressed: its header is gzip's
    for blend, message in (
        (garbage, 'scene.blend: got "garbage.blend"; expected a Blender file'),
        (
            truncated,
            f'truncated.toml: scene.blend: got "{truncated.as_posix()}"; expected a .blend file Blender can read',
        ),
        (packed, f'packed.toml: scene.blend: got "{packed.as_posix()}"; expected a .blend file Blender can read'),
    ):
        param = tmp_path / f"{blend.stem}.toml"
        param.write_text(f'[run]\nframes = 1\n[render]\nresolution = [32, 24]\n[scene]\nblend = "{blend.name}"\n')
        out = tmp_path / f"out_{blend.stem}"
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()


def test_a_blend_of_a_newer_blender_is_refused_saying_so(tmp_path, capsys):
    """A .blend saved by a newer Blender (a 5.x file in Blender 4.2) does not open: Blender
    says only "not a blend file". The run names the version that saved it (from the
    header), this Blender's, and what to use, for [scene] blend and an [[assets]] file."""
    future = tmp_path / "future.blend"
    future.write_bytes(b"BLENDER17-01v0900REND" + bytes(200))  # as Blender 9.0 would write it
    this = bpy.app.version_string.split()[0]
    note = f"it was saved by Blender 9.0, newer than this Blender {this}; use Blender 9.0 or later"
    base = tmp_path / "base.toml"
    base.write_text('[run]\nframes = 1\n[render]\nresolution = [32, 24]\n[scene]\nblend = "future.blend"\n')
    asset = tmp_path / "asset.toml"
    asset.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\n[[cameras]]\nname = "cam"\nlocation = [0, -4, 1]\n'
        '[[assets]]\nname = "thing"\nfile = "future.blend"\n'
    )
    for param in (base, asset):
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert note in err, err
        assert not (tmp_path / "out").exists()


def test_drivers_blender_does_not_evaluate_are_named_and_run_no_code(shop, tmp_path, capsys):
    """A rig's Python driver (not a simple expression) is not run in a file Blender does not
    trust: Blender sets the driven value to 0, and the run names the driver; the expression's
    code never runs. A simple expression is evaluated and not named."""
    touched = tmp_path / "ran.txt"
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    can = bpy.data.objects["can_a"]
    python = can.driver_add("location", 2).driver
    python.type, python.expression = "SCRIPTED", f"__import__('pathlib').Path({str(touched)!r}).write_text('x') and 1.0"
    simple = can.driver_add("location", 0).driver
    simple.type, simple.expression = "SCRIPTED", "-0.5 * 2"  # a simple expression: always evaluated
    param = blend_param(saved_variant(tmp_path / "rigged.blend"), "[annotators]\nbounding_box_3d = {}\n")
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "drivers Blender could not evaluate (it then sets 0): 'can_a' location[2]" in err, err
    assert "location[0]" not in err.split("drivers Blender could not evaluate")[1].split("\n")[0]
    assert not touched.exists()
    paths = json.loads((tmp_path / "out" / "bounding_box_3d_prim_paths_0000.json").read_text())
    boxes = np.load(tmp_path / "out" / "bounding_box_3d_0000.npy")
    x, y, z = dict(zip(paths, boxes["transform"]))["/shop/cans/can_a"].T[:3, 3]
    assert x == pytest.approx(-1.0) and z == 0.0


@pytest.mark.parametrize("aspect", [(1.4, 1.0), (1.0, 1.3)])
def test_a_base_scenes_pixel_aspect_is_rendered_and_labelled_as_blender_renders_it(shop, tmp_path, aspect):
    """A .blend rendered with non-square pixels (Output > Format > Aspect X / Y) keeps them
    (was: reset to square, so the images were not the .blend's); its K has fy = fx * X / Y,
    and the loose boxes (our silhouettes, with that K) are the tight boxes of Cycles' masks
    for every object seen whole."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.render.pixel_aspect_x, bpy.context.scene.render.pixel_aspect_y = aspect
    blend = saved_variant(tmp_path / "anamorphic.blend")
    param = blend_param(
        blend, "[annotators]\nbounding_box_2d_tight = {}\nbounding_box_2d_loose = {}\ncamera_params = {}\n"
    )
    param.write_text(param.read_text().replace("resolution = [32, 24]", "resolution = [160, 120]"))
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    params = json.loads((out / "camera_params_0000.json").read_text())
    assert params["fy"] / params["fx"] == pytest.approx(aspect[0] / aspect[1], rel=1e-6)
    tight = np.load(out / "bounding_box_2d_tight_0000.npy")
    loose = np.load(out / "bounding_box_2d_loose_0000.npy")
    corners = ("x_min", "y_min", "x_max", "y_max")
    whole = {int(r["semanticId"]): [int(r[c]) for c in corners] for r in loose if r["occlusionRatio"] == 0}
    seen = {int(r["semanticId"]): [int(r[c]) for c in corners] for r in tight}
    inside = {k: v for k, v in whole.items() if v[0] > 0 and v[1] > 0 and v[2] < 159 and v[3] < 119}
    assert len(inside) >= 2 and all(seen[k] == v for k, v in inside.items()), (inside, seen)


def test_camera_params_give_a_base_scenes_unit_scale_as_meters_per_scene_unit(shop, tmp_path, capsys):
    """A .blend modelled in centimetres (unit scale 0.01) keeps Blender units in its labels:
    camera_params' metersPerSceneUnit, Replicator's key for it, is 0.01 there (was 1.0, so a
    reader took centimetres for metres) and 1.0 for the shop in metres."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.unit_settings.scale_length = 0.01
    blend = saved_variant(tmp_path / "centimetres.blend")
    for name, path, scale in (("cm", blend, 0.01), ("m", shop.path, 1.0)):
        param = blend_param(path, "[annotators]\ncamera_params = {}\n")
        out = tmp_path / name
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
        err = capsys.readouterr().err
        params = json.loads((out / "camera_params_0000.json").read_text())
        assert params["metersPerSceneUnit"] == scale, params["metersPerSceneUnit"]
        assert ("(camera_params' metersPerSceneUnit)" in err) == (scale != 1.0), err


def test_a_run_after_a_blend_run_in_one_session_reads_no_file_of_it(shop, tmp_path):
    """Runs in one Python session (tests, a script calling the CLI twice) each start from an
    emptied session: the .blend an earlier run appended is not a file the next one reads
    (its Library was kept: audit/scene_files.json of a primitives-only run named it)."""
    first = tmp_path / "blend_run"
    assert main(["render", str(blend_param(shop.path)), "--out", str(first), "--quiet"]) == 0
    assert shop.sha in (first / "audit" / "resolved.json").read_text()
    param = tmp_path / "primitives.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        '[[cameras]]\nname = "cam"\nlocation = [0, -4, 1]\n'
        '[[assets]]\nname = "ball"\nprimitive = "sphere"\nlabels = { class = "ball" }\n'
    )
    second = tmp_path / "primitives_run"
    assert main(["render", str(param), "--out", str(second), "--quiet"]) == 0
    assert not (second / "audit" / "scene_files.json").exists()


def test_the_base_blend_is_not_listed_as_a_library_it_reads(shop, tmp_path, capsys):
    """The .blend a run records is in resolved.json with its SHA-256 and copied to
    audit/inputs/; audit/scene_files.json listed it again as a "library" the scene reads
    (the Library Blender keeps of a file appended from, nothing linked from it). It lists
    only the files the .blend reads; a run resumed from an output that listed it goes on."""
    out = tmp_path / "out"
    param = blend_param(shop.path)
    assert main(["render", str(param), "--out", str(out), "--frames", "0:1", "--quiet"]) == 0
    assert not (out / "audit" / "scene_files.json").exists()
    # An output of an earlier version, which listed the .blend itself: --resume continues it.
    listed = [{"kind": "library", "name": "shop.blend", "path": str(shop.path), "bytes": 1, "sha256": shop.sha}]
    (out / "audit" / "scene_files.json").write_text(json.dumps(listed))
    two = tmp_path / "two.toml"
    two.write_text(param.read_text().replace("frames = 1", "frames = 2"))
    capsys.readouterr()
    assert main(["render", str(two), "--out", str(out), "--resume", "--quiet"]) == 0, capsys.readouterr().err


def test_a_blend_with_library_overrides_lists_its_library_not_itself(shop, tmp_path):
    """Appending a scene that holds library overrides links those overrides from the .blend
    itself: audit/scene_files.json listed the .blend as a library it reads (it is in
    resolved.json and audit/inputs/ already). It lists the overridden library only."""
    import shutil

    library = tmp_path / "props.blend"
    shutil.copy(shop.path, library)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.collections = ["cans"]
    scene.collection.children.link(dst.collections[0])
    dst.collections[0].override_hierarchy_create(scene, bpy.context.view_layer, do_fully_editable=True)
    scene.collection.children.unlink(dst.collections[0])
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "shot.blend")
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    listed = json.loads((tmp_path / "out" / "audit" / "scene_files.json").read_text())
    assert [(e["kind"], e["path"]) for e in listed] == [("library", str(library))]


def test_objects_of_one_name_from_a_library_and_the_file_are_refused(shop, tmp_path, capsys):
    """Blender lets a .blend's own object share its name with one linked from a library
    (the shop's can_a linked beside the file's own can_a, an asset library's 'Cube' beside
    the file's): the run, which tells objects apart by name, made them one instance, with
    the linked one's labels (class can) and one box around both, the file's own labels lost.
    Such a scene is now refused before anything is written (exit 2: scene.blend, the name,
    where each comes from); the library and the .blend unchanged."""
    import shutil

    library = tmp_path / "props.blend"
    shutil.copy(shop.path, library)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.collections = ["cans"]
    scene.collection.children.link(dst.collections[0])
    bpy.ops.mesh.primitive_cube_add(size=0.3, location=(0.0, 0.5, 0.15))
    own = bpy.context.active_object
    own.name = "can_a"
    assert own.name == "can_a" and own.library is None
    own["semantics"] = {"class": ["box"]}
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "shot.blend")
    sums = {p: sha256(p) for p in (library, blend)}
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "scene.blend" in err and "objects and collections of distinct names" in err, err
    assert f"object 'can_a': this file's own, linked from {library}" in err, err
    assert not (tmp_path / "out").exists()
    assert {p: sha256(p) for p in sums} == sums
    # Collections likewise: the linked 'cans' inside the file's 'aisle' (zone = aisle) beside
    # the file's own 'cans' lost zone = aisle and its path /aisle/cans/can_a.
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.collections = ["cans"]
    aisle = bpy.data.collections.new("aisle")
    aisle["semantics"] = {"zone": ["aisle"]}
    scene.collection.children.link(aisle)
    aisle.children.link(dst.collections[0])
    own = bpy.data.collections.new("cans")
    assert own.name == "cans" and own.library is None
    scene.collection.children.link(own)
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "aisle.blend")
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "collection 'cans': " in err and "this file's own" in err and f"linked from {library}" in err, err
    assert "object '" not in err and not (tmp_path / "out").exists()


def _garden_library(folder: Path, hidden_stone: bool, labelled: bool = False) -> Path:
    """A library .blend: collection 'garden' holding a stone (the particles' and the node
    instances' source, labelled), a bed emitting 6 stones as particles and a row placing
    stones with Geometry Nodes (Instance on Points, Object Info as instance); bed and row
    labelled too when `labelled`. Saved as folder/garden.blend, which stays open."""
    bpy.ops.wm.read_homefile(use_empty=True)
    garden = bpy.data.collections.new("garden")
    bpy.context.scene.collection.children.link(garden)
    bpy.ops.mesh.primitive_ico_sphere_add(radius=0.08, location=(0, 0, -5))
    stone = bpy.context.active_object
    stone.name, stone.hide_render = "stone", hidden_stone
    stone["semantics"] = {"class": ["stone"]}
    bpy.ops.mesh.primitive_plane_add(size=1.2, location=(0, 0, 0.01))
    bed = bpy.context.active_object
    bed.name = "bed"
    if labelled:
        bed["semantics"] = {"class": ["bed"]}
    settings = bed.modifiers.new("P", "PARTICLE_SYSTEM").particle_system.settings
    settings.count, settings.frame_start, settings.frame_end, settings.physics_type = 6, 1, 1, "NO"
    settings.render_type, settings.instance_object, settings.particle_size = "OBJECT", stone, 1.0
    bpy.ops.mesh.primitive_plane_add(size=0.4, location=(1.0, 0, 0.2))
    row = bpy.context.active_object
    row.name = "row"
    if labelled:
        row["semantics"] = {"class": ["row"]}
    group = bpy.data.node_groups.new("row", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    points = group.nodes.new("GeometryNodeInstanceOnPoints")
    info = group.nodes.new("GeometryNodeObjectInfo")
    info.inputs[0].default_value = stone
    info.inputs["As Instance"].default_value = True
    group.links.new(group.nodes.new("NodeGroupInput").outputs[0], points.inputs["Points"])
    group.links.new(info.outputs["Geometry"], points.inputs["Instance"])
    group.links.new(points.outputs[0], group.nodes.new("NodeGroupOutput").inputs[0])
    row.modifiers.new("GN", "NODES").node_group = group
    for obj in (stone, bed, row):
        for c in list(obj.users_collection):
            c.objects.unlink(obj)
        garden.objects.link(obj)
    return saved_variant(folder / "garden.blend")


def test_particles_of_an_emitter_linked_from_a_library_are_labelled(tmp_path, capsys):
    """A collection linked from a library holding a particle emitter (stones scattered on a
    bed, the usual hidden source): its particles were no copies of their own, their pixels
    UNLABELLED without a word (the source, linked, could not be disabled in viewports), and
    with a source that renders the run stopped with a traceback ('Could not (un)link the
    object bed/instance_000 because the collection garden is linked'). Each particle is now
    an instance with the source's labels, linked directly or through a collection instance;
    a linked object's Geometry Nodes instances, which the run cannot take apart, are named
    in a warning. The library and the .blend are unchanged."""
    for hidden in (True, False):
        folder = tmp_path / ("hidden" if hidden else "shown")
        folder.mkdir()
        library = _garden_library(folder, hidden_stone=hidden)
        scene = bpy.context.scene
        with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
            dst.collections = ["garden"]
        scene.collection.children.link(dst.collections[0])
        holder = bpy.data.objects.new("garden_inst", None)
        holder.instance_type, holder.instance_collection = "COLLECTION", dst.collections[0]
        holder.location = (0.0, 1.5, 0.0)
        scene.collection.objects.link(holder)
        cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
        scene.collection.objects.link(cam)
        cam.location, cam.rotation_euler = (0.5, -3.0, 3.0), (math.radians(45), 0.0, 0.0)
        blend = saved_variant(folder / "shot.blend")
        sums = {p: sha256(p) for p in (library, blend)}
        capsys.readouterr()
        out = folder / "out"
        assert main(["render", str(blend_param(blend)), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
        err = capsys.readouterr().err
        assert "Geometry Nodes instances of objects linked from a library are not told apart: 'row'" in err, err
        paths = json.loads((out / "instance_segmentation_mapping_0000.json").read_text()).values()
        labels = json.loads((out / "instance_segmentation_semantics_mapping_0000.json").read_text())
        for root in ("/garden/bed", "/garden_inst/bed"):
            assert sum(p.startswith(root + "/instance_") for p in paths) >= 3, (root, sorted(paths))
        assert {v["class"] for k, v in labels.items()} >= {"stone"}
        assert {p: sha256(p) for p in sums} == sums


def test_collection_instances_inside_a_collection_linked_from_a_library_are_made_real(tmp_path, capsys):
    """A library's collection holding collection instances (a set of instanced props, linked
    into the shot as it is) stopped the run with a traceback: 'Could not (un)link the object
    cone_inst0/cone because the collection outer is linked' (exit 1). Each instance is now made
    real as a local one is: one instance each, with the instanced collection's labels."""
    bpy.ops.wm.read_homefile(use_empty=True)
    inner = bpy.data.collections.new("inner")
    inner["semantics"] = {"class": ["cone"]}
    bpy.ops.mesh.primitive_cone_add(radius1=0.15, depth=0.3, location=(0, 0, 0.15))
    cone = bpy.context.active_object
    cone.name = "cone"
    for c in list(cone.users_collection):
        c.objects.unlink(cone)
    inner.objects.link(cone)
    outer = bpy.data.collections.new("outer")
    bpy.context.scene.collection.children.link(outer)
    for i, x in enumerate((-0.4, 0.4)):
        holder = bpy.data.objects.new(f"cone_inst{i}", None)
        holder.instance_type, holder.instance_collection, holder.location = "COLLECTION", inner, (x, 0, 0)
        outer.objects.link(holder)
    library = saved_variant(tmp_path / "set.blend")
    scene = bpy.context.scene
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.collections = ["outer"]
    scene.collection.children.link(dst.collections[0])
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.0, -3.0, 1.5), (math.radians(65), 0.0, 0.0)
    blend = saved_variant(tmp_path / "shot.blend")
    sums = {p: sha256(p) for p in (library, blend)}
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    mapping = json.loads((out / "instance_segmentation_mapping_0000.json").read_text())
    labels = json.loads((out / "instance_segmentation_semantics_mapping_0000.json").read_text())
    assert sorted(p for p in mapping.values() if p.startswith("/")) == ["/outer/cone_inst0", "/outer/cone_inst1"]
    assert [labels[k]["class"] for k, p in mapping.items() if p.startswith("/")] == ["cone", "cone"]
    assert {p: sha256(p) for p in sums} == sums


def test_particles_and_node_instances_of_a_library_override_are_labelled(tmp_path, capsys):
    """The usual way to edit a linked asset, a library override (Make Library Override) of a
    collection with a particle emitter and a Geometry Nodes scatter, stopped the run with a
    traceback: 'Could not (un)link the object bed/instance_000 because the collection garden
    is overridden' (exit 1), the copies going into the overridden collection, which takes no
    objects. They go into the scene's own collection now: each particle and each node
    instance is an instance of its own, with the source's labels."""
    library = _garden_library(tmp_path, hidden_stone=True, labelled=True)
    scene = bpy.context.scene
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.collections = ["garden"]
    scene.collection.children.link(dst.collections[0])
    dst.collections[0].override_hierarchy_create(scene, bpy.context.view_layer, do_fully_editable=True)
    scene.collection.children.unlink(dst.collections[0])
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.5, -3.0, 3.0), (math.radians(45), 0.0, 0.0)
    blend = saved_variant(tmp_path / "shot.blend")
    sums = {p: sha256(p) for p in (library, blend)}
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    paths = json.loads((out / "instance_segmentation_mapping_0000.json").read_text()).values()
    for root in ("/garden/bed", "/garden/row"):
        assert sum(p.startswith(root + "/instance_") for p in paths) >= 3, (root, sorted(paths))
    assert "UNLABELLED" not in paths
    assert {p: sha256(p) for p in sums} == sums


def test_a_material_on_an_object_linked_from_a_library_is_refused_before_anything_is_written(shop, tmp_path, capsys):
    """texture, procedural_texture and material_swap on an object linked from a library (the
    shop's cans linked into the shot) stopped the run at its first frame, after audit/ was
    written, with a traceback: "attribute 'material' from 'MaterialSlot' is read-only" (a
    linked mesh's slots cannot change). Such a target is refused before anything is
    written (exit 2: randomizers[i].targets, the object, its library, the way out)."""
    import shutil

    library = tmp_path / "props.blend"
    shutil.copy(shop.path, library)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    with bpy.data.libraries.load(str(library), link=True) as (_src, dst):
        dst.collections = ["cans"]
    scene.collection.children.link(dst.collections[0])
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "shot.blend")
    for kind in ("procedural_texture", "material_swap"):
        extra = f'[[randomizers]]\ntype = "{kind}"\ntargets = "can_*"\n'
        if kind == "material_swap":
            extra += 'material = "x"\n'
        param = blend_param(blend, extra)
        out = tmp_path / f"out_{kind}"
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "randomizers[0].targets" in err and f"linked from {library}" in err, err
        assert f"no {kind} randomizer can change" in err and not out.exists(), err


def test_a_base_scene_camera_named_like_a_tool_folder_is_refused_before_anything_is_written(shop, tmp_path):
    """A .blend camera's name is its output sub-folder, as a [[cameras]] entry's: one named
    `audit` would write its frames into the audit trail. Refused (exit 2) with the rename to
    make; nothing is written. Left out by [scene] cameras it is no problem."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.objects["CamB"].name = "Audit"
    blend = saved_variant(tmp_path / "audit_cam.blend")
    param = tmp_path / "p.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["*"]\n'
    )
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out").exists()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "a"), "--quiet"]) == 0


def test_a_base_scenes_cameras_in_one_folder_are_refused_before_anything_is_written(shop, tmp_path):
    """camera_subfolders = "never" with the .blend's two cameras: each would overwrite the
    other's files; refused once the scene is built (its cameras known), nothing written."""
    param = blend_param(shop.path, '[writers.basic]\ncamera_subfolders = "never"\n')
    param.write_text(param.read_text().replace('cameras = ["CamA"]', 'cameras = ["*"]'))
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out").exists()


def test_a_split_named_as_the_val_split_of_a_base_scenes_camera_is_refused_before_anything_is_written(
    shop, tmp_path, capsys
):
    """split = "val_x" with val_every and cameras CamA (the .blend's) and x_CamA: both
    val_x_CamA, one coco json of two cameras' frames of two splits. Validation checks
    [[cameras]] only (x_CamA alone: no clash), so the run wrote it; refused once the scene is
    built, nothing written."""
    extra = '[[cameras]]\nname = "x_CamA"\nlocation = [0, -3, 1]\n[writers.coco]\nsplit = "val_x"\nval_every = 2\n'
    param = blend_param(shop.path, extra)
    param.write_text(param.read_text().replace('cameras = ["CamA"]', 'cameras = ["*"]'))
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "writers.coco.split" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cameras_whose_folders_differ_only_in_case_are_refused_before_anything_is_written(shop, tmp_path):
    """A [[cameras]] entry "camb" beside the .blend's "CamB": one folder on Windows' and
    macOS' file systems, where one camera's files would overwrite the other's."""
    param = blend_param(shop.path, '[[cameras]]\nname = "camb"\nlocation = [0, -3, 1]\n')
    param.write_text(param.read_text().replace('cameras = ["CamA"]', 'cameras = ["*"]'))
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["CamA", "cama", "CamB"])
def test_a_lidar_named_as_a_base_scene_camera_is_refused_before_anything_is_written(shop, tmp_path, capsys, name):
    """A LiDAR's name is its output sub-folder, as a camera's: named as a .blend camera that
    renders (or so but for case: one folder on Windows' and macOS' file systems), it wrote
    into that camera's folder. Refused, naming the LiDAR entry; a camera left out by [scene]
    cameras (CamB) is no problem."""
    lidar = f'[[lidars]]\nname = "{name}"\npreset = "spinning_16"\ncolumns = 36\n'
    param = blend_param(shop.path, lidar)
    out = tmp_path / "out"
    if name == "CamB":
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
        return
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 2
    assert (
        f"lidars[0].name: got \"{name}\"; expected a name that differs from camera 'CamA''s" in capsys.readouterr().err
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "owner, prop, value, said",
    [
        ("can_a", "sdg_emissivity", 3.0, "object 'can_a' has sdg_emissivity = 3.0 (expected a number 0 .. 1;"),
        ("can_a", "sdg_temperature", -10.0, "object 'can_a' has sdg_temperature = -10.0 (expected kelvin >= 0;"),
        ("can_a", "sdg_temperature", "hot", "object 'can_a' has sdg_temperature = 'hot' (expected kelvin >= 0;"),
        ("world", "sdg_temperature", -5.0, "world 'plain' has sdg_temperature = -5.0"),
        ("CamB", "sdg_sensor", "Thermal", "camera 'CamB' has sdg_sensor = 'Thermal' (expected one of visible, thermal"),
    ],
)
def test_infrared_properties_of_a_base_scene_out_of_range_are_refused(shop, tmp_path, capsys, owner, prop, value, said):
    """A .blend's thermal / NIR custom properties are read as the parameter file's values
    are checked: out of their range, not a number, or a sensor that is none, the run is
    refused naming the object (was: an emissivity of 3 clamped to 1 and -10 K rendered
    without a word, 'Thermal' rendered as a visible camera, 'hot' failed with 'could not
    convert string to float')."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    target = bpy.context.scene.world if owner == "world" else bpy.data.objects[owner]
    target[prop] = value
    bpy.data.objects["CamA"]["sdg_sensor"] = "thermal"
    blend = saved_variant(tmp_path / "ir.blend")
    param = blend_param(blend)
    param.write_text(param.read_text().replace('cameras = ["CamA"]', 'cameras = ["*"]'))
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "owner, value, said",
    [
        ("can_a", {"class": ["can\n"]}, "label value 'can\\n' (type 'class') is not a non-empty string"),
        ("can_a", {"class": [" can"]}, "label value ' can' (type 'class') is not"),
        ("can_a", {"class": ["c" * 129]}, "of at most 128 characters"),
        ("can_a", {"": ["can"]}, "label type '' is not"),
        ("can_a", "class:can\tmug", "label value 'can\\tmug' (type 'class') is not"),
        ("can_a", 5, "labels must be a table or a 'type:value,...' string, got 5"),
        ("cans", {"class": ["can\n"]}, "custom property of collection 'cans'"),
    ],
)
def test_labels_of_a_base_scene_that_break_label_files_are_refused(shop, tmp_path, capsys, owner, value, said):
    """A .blend's labels follow the parameter file's rule for label types and values (they end
    up in KITTI lines, COCO names, YOLO yaml): one with a newline, a tab, a space at an end,
    more than 128 characters or an empty type is refused naming the .blend, the property and
    its owner, nothing written (was: recorded as it was, 'can\n' a class of its own, an
    empty type taken, and a malformed one an error naming neither the .blend nor the property)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    target = bpy.data.collections[owner] if owner == "cans" else bpy.data.objects[owner]
    target["semantics"] = value
    blend = saved_variant(tmp_path / "labels.blend")
    sha = sha256(blend)
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "scene.blend" in err and "labels.blend" in err and "'semantics' custom property" in err
    assert f"{'collection' if owner == 'cans' else 'object'} {owner!r}" in err
    assert said in err
    assert not (tmp_path / "out").exists()
    assert sha256(blend) == sha


@pytest.mark.parametrize(
    "prop, value, said",
    [
        ("sdg_palette", "rainbowz", "camera 'CamA' has sdg_palette = 'rainbowz'"),
        ("sdg_netd", "low", "camera 'CamA' has sdg_netd = 'low'"),
        ("sdg_vignetting", 3.0, "camera 'CamA' has sdg_vignetting = 3.0"),
    ],
)
def test_a_thermal_cameras_settings_out_of_range_are_refused(shop, tmp_path, capsys, prop, value, said):
    """A .blend thermal camera's sdg_ settings are checked as the [[cameras]] fields are (was:
    an unknown palette rendered as iron without a word, 'low' failed with 'could not convert
    string to float', a vignetting of 3 rendered)."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    cam = bpy.data.objects["CamA"]
    cam["sdg_sensor"] = "thermal"
    cam[prop] = value
    blend = saved_variant(tmp_path / "cam.blend")
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_3d_box_of_a_subdivided_mesh_bounds_the_rendered_surface(tmp_path, clean_bpy):
    """A cube with a Subdivision Surface (level 0 in the viewport, 2 in renders): its 3D box
    is the extent of the surface Blender renders. (It was the cage's, Blender's bound_box
    of a mesh it subdivides lazily: 19 % wider on every side than the rounded cube.)"""
    bpy.ops.mesh.primitive_cube_add(size=0.6, location=(0.0, 0.0, 0.5))
    cube = bpy.context.object
    cube.name, cube["semantics"] = "pillow", {"class": ["pillow"]}
    sub = cube.modifiers.new("Subdivision", "SUBSURF")
    sub.levels, sub.render_levels = 0, 2
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    bpy.context.scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.0, -4.0, 0.5), (math.pi / 2, 0.0, 0.0)
    blend = saved_variant(tmp_path / "pillow.blend")
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    cube = bpy.data.objects["pillow"]
    cube.modifiers["Subdivision"].levels = 2
    mesh = cube.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
    co = np.array([v.co[:] for v in mesh.vertices])
    lo, hi = co.min(axis=0), co.max(axis=0)
    assert hi[0] < 0.29  # rounded: well inside the cage's 0.3
    bpy.ops.wm.read_homefile(use_empty=True)
    param = blend_param(blend, "[annotators]\nbounding_box_3d = {}\n")
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    (box,) = np.load(tmp_path / "out" / "bounding_box_3d_0000.npy")
    got = [float(box[k]) for k in ("x_min", "y_min", "z_min", "x_max", "y_max", "z_max")]
    assert np.allclose(got, [*lo, *hi], atol=1e-5), (got, lo, hi)


def test_objects_the_camera_does_not_see_get_no_3d_box(tmp_path, clean_bpy):
    """An object of an Indirect Only collection lights and reflects but is not seen by the
    camera, as one with Visibility > Camera off: neither is in the masks, so neither gets a
    3D box (the indirect-only one had one)."""
    scene = bpy.context.scene
    indirect = bpy.data.collections.new("bounce_cards")
    scene.collection.children.link(indirect)
    for name, x in (("plain", -1.0), ("unseen", 0.0), ("card", 1.0)):
        bpy.ops.mesh.primitive_cube_add(size=0.5, location=(x, 0.0, 0.5))
        obj = bpy.context.object
        obj.name, obj["semantics"] = name, {"class": [name]}
    bpy.data.objects["unseen"].visible_camera = False
    card = bpy.data.objects["card"]
    for c in list(card.users_collection):
        c.objects.unlink(card)
    indirect.objects.link(card)
    bpy.context.view_layer.layer_collection.children["bounce_cards"].indirect_only = True
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.0, -5.0, 0.5), (math.pi / 2, 0.0, 0.0)
    blend = saved_variant(tmp_path / "cards.blend")
    param = blend_param(blend, "[annotators]\nbounding_box_3d = {}\ninstance_segmentation = {}\n")
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    masked = json.loads((tmp_path / "out" / "instance_segmentation_mapping_0000.json").read_text())
    assert set(masked.values()) == {"BACKGROUND", "/plain"}
    boxed = json.loads((tmp_path / "out" / "bounding_box_3d_prim_paths_0000.json").read_text())
    assert boxed == ["/plain"]


def test_a_background_set_is_named_with_the_objects_it_renders_unlabelled(tmp_path, clean_bpy, capsys):
    """A scene with a background set (Properties > Scene > Background Scene): Blender renders
    the set's objects with it, the run's images too, but they are not objects of the scene:
    in no mask and no box, labelled or not. The run says so (it said nothing: a labelled
    cube of the set was in the images and in none of the labels)."""
    scene = bpy.context.scene
    scene.name = "Shot"
    backdrop = bpy.data.scenes.new("Backdrop")
    cube = bpy.data.objects.new("set_cube", bpy.data.meshes.new("set_cube"))
    backdrop.collection.objects.link(cube)
    cube["semantics"] = {"class": ["wall"]}
    scene.background_set = backdrop
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "shot.blend")
    param = blend_param(blend, 'scene = "Shot"\n')
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "scene 'Shot' has a background set, 'Backdrop' (Properties > Scene > Background Scene): Blender renders "
        "its 1 object(s) with it, in the images, but they are in no mask and no box: set_cube (labelled)"
    ) in err, err


def test_what_depends_on_where_an_object_stands_inside_a_collection_instance_is_named(tmp_path, clean_bpy, capsys):
    """A Geometry Nodes Collection Info set to Relative reads its collection relative to the
    object it modifies (Self Object reads the object itself); a particle system simulates
    in world space: Blender evaluates that object where it stands, the copy the run makes
    real of each collection instance stands elsewhere, so its result differs. The run
    cannot move a collection, the copy itself or the camera along, nor, in a clip, a
    simulation (a still copies Blender's particles), and says so (it was silent)."""
    scene = bpy.context.scene
    parts = bpy.data.collections.new("parts")
    scene.collection.children.link(parts)
    rocks = bpy.data.collections.new("rocks")
    scene.collection.children.link(rocks)
    rocks.objects.link(bpy.data.objects.new("rock", bpy.data.meshes.new("rock")))
    host = bpy.data.objects.new("host", bpy.data.meshes.new("host"))
    parts.objects.link(host)
    group = bpy.data.node_groups.new("scatter", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    info = group.nodes.new("GeometryNodeCollectionInfo")
    info.transform_space = "RELATIVE"
    info.inputs["Collection"].default_value = rocks
    group.links.new(info.outputs[0], group.nodes.new("NodeGroupOutput").inputs[0])
    group.nodes.new("GeometryNodeSelfObject")  # e.g. its location seeding a variation
    host.modifiers.new("scatter", "NODES").node_group = group
    # Particles are simulated in world space: the copy's, where it stands, from when it is made.
    spout = bpy.data.objects.new("spout", bpy.data.meshes.new("spout"))
    parts.objects.link(spout)
    spout.modifiers.new("sparks", "PARTICLE_SYSTEM").particle_system.name = "sparks"
    sparks = spout.particle_systems["sparks"].settings
    sparks.render_type, sparks.instance_object, sparks.count = "OBJECT", host, 5
    bpy.context.view_layer.layer_collection.children["parts"].exclude = True
    holder = bpy.data.objects.new("pile", None)
    holder.instance_type, holder.instance_collection, holder.location = "COLLECTION", parts, (2.0, 0.0, 0.0)
    scene.collection.objects.link(holder)
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "pile.blend")
    said = (
        "collection instances made real can differ from Blender's: what depends on where an object stands "
        "is evaluated on the copy, which stands where the instance is, not where Blender evaluates the "
        "object: 'host' (node tree 'scatter' reads where it stands: Collection Info set to Relative, Self "
        "Object) in collection 'parts', instanced by 'pile'"
    )
    for name, extra, simulation in (
        ("still", "", ""),
        (
            "clip",
            "[sequence]\nclip_length = 2\n",
            "; 'spout' (particle system 'sparks' is simulated (newton)) in collection 'parts', instanced by 'pile'",
        ),
    ):
        param = tmp_path / f"{name}.toml"
        text = blend_param(blend).read_text()
        param.write_text((text.replace("frames = 1", "frames = 2") if extra else text) + extra)
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / name), "--quiet"]) == 0
        err = capsys.readouterr().err
        assert said + simulation + "\n" in err, err


def test_a_base_scenes_frame_rate_other_than_the_clips_is_named_with_the_value_that_matches(shop, tmp_path, capsys):
    """Clips play at [sequence] fps, which the run sets on the scene: a .blend made at 29.97
    fps had its simulations and what follows Scene Time played at 24 without a word. The run
    names the .blend's rate (fps_base is a float32: 30 / 1.001 reads 29.97002857) and the fps
    that matches it; with that value, or in stills (the frame rate is left as it is), nothing
    is said."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.render.fps, bpy.context.scene.render.fps_base = 30, 1.001
    blend = saved_variant(tmp_path / "ntsc.blend")

    def warned(extra: str) -> str:
        param = blend_param(blend, extra)
        param.write_text(param.read_text().replace("frames = 1", "frames = 2"))
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
        return capsys.readouterr().err

    said = warned("[sequence]\nclip_length = 2\n")
    assert "the base scene plays at 29.97002857 fps, the run's clips at 24 ([sequence] fps)" in said
    assert "To match it, set in [sequence]: fps = 29.97002857" in said
    assert "fps" not in warned("[sequence]\nclip_length = 2\nfps = 29.97002857\n")
    assert "fps" not in warned("")  # stills: the scene keeps its frame rate


def test_a_base_scenes_other_view_layers_enabled_for_rendering_are_named(shop, tmp_path, capsys):
    """Blender renders every view layer with Use for Rendering on (a compositor may combine
    them); the run records the first alone. What only another shows (here the cans, which
    'front' excludes) was left out of the images and labels without a word; the run names
    the layers left out, and records the first as before."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    scene = bpy.context.scene
    scene.view_layers[0].name = "front"
    back = scene.view_layers.new("back")
    scene.view_layers["front"].layer_collection.children["shop"].children["cans"].exclude = True
    back.layer_collection.children["shop"].exclude = True
    blend = saved_variant(tmp_path / "layers.blend")
    param = blend_param(blend, "[annotators]\ninstance_segmentation = {}\n[writers]\nbasic = {}\n")
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "the base scene renders 2 view layers; the run records the first, 'front', alone" in err
    assert "what only 'back' shows is in no image and no label" in err
    paths = json.loads((out / "instance_segmentation_mapping_0000.json").read_text()).values()
    assert "/shop/crate" in paths and not any("can_" in p for p in paths)


def test_timeline_markers_bound_to_cameras_do_not_switch_the_recorded_camera(shop, tmp_path, capsys):
    """A .blend whose timeline marker binds CamB at its current frame (camera switching, Ctrl+B):
    Blender's render takes the marker's camera whatever scene.camera is, so CamA's folder held
    CamB's image (and its masks) beside CamA's camera parameters, without a word. The markers
    are unbound in the run's scene: CamA's image is that of the file without markers, the run
    names them, and the file is unchanged."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    scene = bpy.context.scene
    scene.timeline_markers.new("cut", frame=scene.frame_current).camera = scene.objects["CamB"]
    scene.timeline_markers.new("plain", frame=scene.frame_current + 5)  # bound to no camera: not named
    blend = saved_variant(tmp_path / "markers.blend")
    before = sha256(blend)
    # Building the scene (as the panel's Preview Frame does on the open scene) keeps the
    # markers: only the renders unbind them.
    from sdg_addon.scene.build import build_scene

    built = build_scene(config_from_dict({"scene": {"blend": blend.name}}, tmp_path / "p.toml"))
    assert built.markers_note and built.scene.timeline_markers["cut"].camera.name == "CamB"
    outs = {}
    for name, file in (("plain", shop.path), ("markers", blend)):
        param = blend_param(file)
        param = param.rename(tmp_path / f"{name}.toml")
        outs[name] = tmp_path / f"out_{name}"
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(outs[name]), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "the base scene's timeline markers bind cameras, frame 1 ('cut'): 'CamB', to which Blender's renders switch "
        "from those frames on: the run records each of its cameras in its own folder at every frame" in err
    ), err
    assert "'plain'" not in err
    for file in ("rgb_0000.png", "semantic_segmentation_0000.png"):
        assert (outs["markers"] / file).read_bytes() == (outs["plain"] / file).read_bytes(), file
    assert sha256(blend) == before


def test_materials_shading_by_object_index_are_named(shop, tmp_path, capsys):
    """A .blend material colouring by Object Index (Object Info, here inside a node group):
    the run sets every object's pass index to its instance id, so the material rendered with
    another colour than in Blender, without a word; the run names such materials and their
    objects. One reading only the Object Info's Color is not named."""
    from sdg_addon.compat import enable_nodes

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    group = bpy.data.node_groups.new("by_index", "ShaderNodeTree")
    group.interface.new_socket("Value", in_out="OUTPUT", socket_type="NodeSocketFloat")
    out = group.nodes.new("NodeGroupOutput")
    group.links.new(group.nodes.new("ShaderNodeObjectInfo").outputs["Object Index"], out.inputs[0])
    for name, obj, output in (("keyed", "can_a", None), ("tinted", "can_b", "Color")):
        mat = bpy.data.materials.new(name)
        enable_nodes(mat)
        tree = mat.node_tree
        bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
        if output is None:
            node = tree.nodes.new("ShaderNodeGroup")
            node.node_tree = group
            tree.links.new(node.outputs[0], bsdf.inputs["Roughness"])
        else:
            tree.links.new(tree.nodes.new("ShaderNodeObjectInfo").outputs[output], bsdf.inputs["Base Color"])
        bpy.data.objects[obj].data.materials.append(mat)
    bpy.data.objects["can_a"].pass_index = 7
    blend = saved_variant(tmp_path / "by_index.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "materials that shade by Object Index (Object Info node): 'keyed' (can_a). The run sets each object's pass "
        "index to its instance id" in err
    ), err
    assert "'tinted'" not in err


def test_the_object_index_note_reads_the_material_override(clean_bpy):
    """Under a view layer's Material Override every mesh renders with the override, not its
    own materials: the Object Index note names the override when it reads Object Index, and
    a mesh's own material that does (not rendered then) is not named."""
    import types

    from sdg_addon.compat import enable_nodes
    from sdg_addon.scene.build import object_index_note

    def material(name, by_index):
        mat = bpy.data.materials.new(name)
        enable_nodes(mat)
        if by_index:
            tree = mat.node_tree
            bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
            tree.links.new(tree.nodes.new("ShaderNodeObjectInfo").outputs["Object Index"], bsdf.inputs["Roughness"])
        return mat

    bpy.ops.mesh.primitive_cube_add()
    cube = bpy.context.object
    cube.data.materials.append(material("own_by_index", True))
    entities = {"cube": types.SimpleNamespace(meshes=[cube])}
    assert "'own_by_index' (" in object_index_note(entities)
    assert object_index_note(entities, material("clay", False)) == ""
    assert f"'clay_by_index' ({cube.name})" in object_index_note(entities, material("clay_by_index", True))


def test_a_blend_saved_by_a_newer_blender_is_named(shop, tmp_path, capsys):
    """A .blend whose header says a newer Blender (one minor version on) saved it: Blender
    reads it ('expect loss of data' when opened; an append says nothing) and the run
    recorded it without a word; it now names the file and the Blender that saved it. The
    file of this Blender is not named."""
    major, minor = bpy.app.version_file[:2]
    data = shop.path.read_bytes()  # saved uncompressed: the header is the file's first bytes
    this, later = f"{major}{minor:02d}".encode(), f"{major}{minor + 1:02d}".encode()
    at = data.index(this, 0, 17)
    newer = tmp_path / "newer.blend"
    newer.write_bytes(data[:at] + later + data[at + len(this) :])
    for blend, named in ((shop.path, False), (newer, True)):
        param = blend_param(blend).rename(tmp_path / f"{blend.stem}.toml")
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / blend.stem), "--quiet"]) == 0
        err = capsys.readouterr().err
        said = f"files saved by a Blender newer than this one ({bpy.app.version_string.split()[0]})"
        assert (said in err) == named, err
    assert f"{newer.as_posix()} (Blender {major}.{minor + 1}). Render with that Blender or a later one" in err, err


def test_a_base_scene_set_to_render_with_eevee_is_named(shop, tmp_path, capsys):
    """A .blend set to EEVEE (a new file's engine) was rendered with Cycles without a word:
    the run names the engine; one set to Cycles is not named."""
    for engine in ("CYCLES", "EEVEE"):
        bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
        render = bpy.context.scene.render
        try:
            render.engine = "CYCLES" if engine == "CYCLES" else "BLENDER_EEVEE"
        except TypeError:  # Blender 4.2's EEVEE
            render.engine = "BLENDER_EEVEE_NEXT"
        blend = saved_variant(tmp_path / f"{engine}.blend")
        capsys.readouterr()
        assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / engine), "--quiet"]) == 0
        err = capsys.readouterr().err
        said = "the base scene renders with EEVEE (Render Properties > Render Engine); the run renders with Cycles"
        assert (said in err) == (engine == "EEVEE"), err


def test_materials_with_true_displacement_are_named(shop, tmp_path, capsys):
    """A .blend material displacing its surface as Cycles renders (Displacement Only): masks
    and depth showed the moved surface while loose and 3D boxes, occlusion and truncation
    came from the undisplaced mesh (a tile displaced 1 m away: occlusion 0.31 with nothing in
    front), without a word; the run names such materials and their objects. One displacing
    with Bump Only (Blender's default: shading only, exact) is not named."""
    from sdg_addon.compat import enable_nodes

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    for name, obj, method in (("moved", "can_a", "DISPLACEMENT"), ("bumped", "can_b", "BUMP")):
        mat = bpy.data.materials.new(name)
        enable_nodes(mat)
        tree = mat.node_tree
        out = next(n for n in tree.nodes if n.type == "OUTPUT_MATERIAL")
        tree.links.new(tree.nodes.new("ShaderNodeDisplacement").outputs[0], out.inputs["Displacement"])
        mat.displacement_method = method
        bpy.data.objects[obj].data.materials.append(mat)
    blend = saved_variant(tmp_path / "displaced.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "materials with true displacement (Settings > Displacement: Displacement Only or Displacement and Bump): "
        in err
    )
    assert "'moved' (can_a). Cycles moves their surfaces as it renders" in err, err
    assert "'bumped'" not in err
    # Under the view layer's Material Override (a clay render) no mesh renders its own
    # material, displacement included: nothing to name (it was named, though exact).
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    bpy.context.scene.view_layers[0].material_override = bpy.data.materials.new("clay")
    clay = saved_variant(tmp_path / "clay.blend")
    assert main(["render", str(blend_param(clay)), "--out", str(tmp_path / "clay"), "--quiet"]) == 0
    assert "true displacement" not in capsys.readouterr().err


def test_objects_cycles_subdivides_adaptively_are_named(shop, tmp_path, capsys):
    """A .blend mesh whose last modifier is a Subdivision Surface with Adaptive Subdivision
    on is subdivided by Cycles as it renders, while Blender leaves the modifier out of the
    evaluated mesh the geometry-based labels read: a 2 m cube rendered as a rounded blob had
    occlusion 0.61 with nothing in front of it and the cage's loose box, without a word; the
    run names it. Render levels (can_b) and a modifier after the subdivision (crate_body,
    which turns adaptive subdivision off) are exact and not named."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    for name, adaptive in (("can_a", True), ("can_b", False), ("crate_body", True)):
        mod = bpy.data.objects[name].modifiers.new("sub", "SUBSURF")
        mod.levels, mod.render_levels = 0, 2
        if not hasattr(mod, "use_adaptive_subdivision"):
            pytest.skip("Blender 4.x: adaptive subdivision is the object's, with the Experimental feature set")
        mod.use_adaptive_subdivision = adaptive
    bpy.data.objects["crate_body"].modifiers.new("weld", "WELD").show_render = False
    blend = saved_variant(tmp_path / "adaptive.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    said = "objects Cycles subdivides adaptively (Subdivision Surface > Adaptive Subdivision): 'can_a'. Cycles"
    assert said in err, err


def test_labelled_objects_with_particle_hair_are_named(shop, tmp_path, capsys):
    """A labelled mesh rendering particle hair (a Hair system rendered as Path): its strands
    are in its mask but have no triangles, so half behind a wall its occlusion read 0.37 where
    its hairless mesh has 0.5 and its loose box 24 px wide where unoccluded it is 32, without
    a word; the run names it. Hair switched off for renders, or filtered out by the view
    layer, is not named."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    can = bpy.data.objects["can_a"]
    hair = can.modifiers.new("fur", "PARTICLE_SYSTEM").particle_system.settings
    hair.type, hair.count, hair.hair_length = "HAIR", 50, 0.3
    blend = saved_variant(tmp_path / "furry.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "labelled objects with particle hair: 'can_a'. Their strands are in their masks" in err, err
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    bpy.data.objects["can_a"].modifiers["fur"].show_render = False
    bald = saved_variant(tmp_path / "bald.blend")
    assert main(["render", str(blend_param(bald)), "--out", str(tmp_path / "bald"), "--quiet"]) == 0
    assert "particle hair" not in capsys.readouterr().err
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    bpy.context.scene.view_layers[0].use_strand = False  # View Layer > Filter > Hair: no strand renders
    filtered = saved_variant(tmp_path / "filtered.blend")
    assert main(["render", str(blend_param(filtered)), "--out", str(tmp_path / "filtered"), "--quiet"]) == 0
    assert "particle hair" not in capsys.readouterr().err


def test_labelled_point_clouds_whose_hidden_part_is_unknown_are_named(shop, tmp_path, capsys):
    """A labelled Point Cloud object (its points made by Geometry Nodes) has no triangles:
    half of it behind a wall read as unoccluded (occlusion 0.0, amodal 113 px where it covers
    195 unhidden, its loose box half as wide) without a word; the run names it, and a mesh
    object whose Geometry Nodes make points alone. A mesh object whose nodes put realized
    spheres on the points (triangles) is exact and not named."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    for name, spheres, data in (
        ("dots", False, bpy.data.pointclouds),
        ("grains", False, bpy.data.meshes),
        ("beads", True, bpy.data.meshes),
    ):
        tree = bpy.data.node_groups.new(name, "GeometryNodeTree")
        tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        points = tree.nodes.new("GeometryNodePoints")
        points.inputs["Count"].default_value, points.inputs["Radius"].default_value = 5, 0.05
        last = points.outputs[0]
        if spheres:
            on = tree.nodes.new("GeometryNodeInstanceOnPoints")
            tree.links.new(last, on.inputs["Points"])
            sphere = tree.nodes.new("GeometryNodeMeshIcoSphere")
            sphere.inputs["Radius"].default_value = 0.1
            tree.links.new(sphere.outputs["Mesh"], on.inputs["Instance"])
            realize = tree.nodes.new("GeometryNodeRealizeInstances")
            tree.links.new(on.outputs[0], realize.inputs[0])
            last = realize.outputs[0]
        tree.links.new(last, tree.nodes.new("NodeGroupOutput").inputs[0])
        obj = bpy.data.objects.new(name, data.new(name))
        obj.modifiers.new("points", "NODES").node_group = tree
        obj["semantics"] = {"class": ["beads"]}
        obj.location = (0.0, 0.0, 0.5)
        bpy.context.scene.collection.objects.link(obj)
    blend = saved_variant(tmp_path / "points.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    said = "labelled objects without triangles (point clouds, hair curves): 'dots', 'grains'. What of them is hidden"
    assert said in err, err


def test_objects_whose_geometry_nodes_branch_on_is_viewport_are_named(shop, tmp_path, capsys):
    """A .blend's level-of-detail node tree (Is Viewport: a 1 m cube in the viewport, a 2 m
    sphere in renders) was read as the viewport evaluates it: its 3D box was the cube's
    (+-0.5 m) around a rendered 2 m sphere, and instances it makes were made real as the
    viewport's (2 of 6 rendered), without a word; the run names such objects and their
    trees, also where Is Viewport sits in a nested group, and copies of a collection instance
    made real. A tree without it is not named."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)

    def tree(name, viewport):
        group = bpy.data.node_groups.new(name, "GeometryNodeTree")
        group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
        switch = group.nodes.new("GeometryNodeSwitch")
        switch.input_type = "GEOMETRY"
        group.links.new(group.nodes.new("GeometryNodeMeshCube").outputs["Mesh"], switch.inputs["True"])
        group.links.new(group.nodes.new("GeometryNodeMeshUVSphere").outputs["Mesh"], switch.inputs["False"])
        if viewport:
            group.links.new(group.nodes.new("GeometryNodeIsViewport").outputs[0], switch.inputs["Switch"])
        group.links.new(switch.outputs[0], group.nodes.new("NodeGroupOutput").inputs[0])
        return group

    inner = tree("lod_inner", True)
    outer = bpy.data.node_groups.new("lod_outer", "GeometryNodeTree")
    outer.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nested = outer.nodes.new("GeometryNodeGroup")
    nested.node_tree = inner
    outer.links.new(nested.outputs[0], outer.nodes.new("NodeGroupOutput").inputs[0])
    for name, group in (("rock", tree("lod", True)), ("pebble", outer), ("stone", tree("plain", False))):
        obj = bpy.data.objects.new(name, bpy.data.meshes.new(name))
        obj.modifiers.new("lod", "NODES").node_group = group
        obj["semantics"] = {"class": ["rock"]}
        bpy.context.scene.collection.objects.link(obj)
    # One in an asset collection the scene leaves out, instanced: its copy made real is named.
    assets = bpy.data.collections.new("assets")
    bpy.context.scene.collection.children.link(assets)
    boulder = bpy.data.objects.new("boulder", bpy.data.meshes.new("boulder"))
    boulder.modifiers.new("lod", "NODES").node_group = bpy.data.node_groups["lod"]
    assets.objects.link(boulder)
    bpy.context.view_layer.layer_collection.children["assets"].exclude = True
    shelf = bpy.data.objects.new("shelf", None)
    shelf.instance_type, shelf.instance_collection = "COLLECTION", assets
    bpy.context.scene.collection.objects.link(shelf)
    blend = saved_variant(tmp_path / "lod.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    said = (
        "objects whose Geometry Nodes branch on Is Viewport: 'pebble' ('lod_outer'), 'rock' ('lod'), "
        "'shelf/boulder' ('lod'). The run reads"
    )
    assert said in err, err


def test_cameras_whose_depth_of_field_stays_in_the_labels_are_named(shop, tmp_path, capsys):
    """A .blend camera whose Depth of Field switch the file drives itself (a rig's toggle)
    cannot take the run's driver that leaves depth of field out of the labels: its masks and
    depth were those of the blurred image (1453 of 3072 pixels off at f/0.05) without a word;
    the run names it. The same camera without the driver (exact labels) is not named."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    cam = bpy.data.objects["CamA"].data
    cam.dof.use_dof, cam.dof.aperture_fstop = True, 0.05
    plain = saved_variant(tmp_path / "dof.blend")
    bpy.ops.wm.open_mainfile(filepath=str(plain), load_ui=False)
    cam = bpy.data.objects["CamA"].data
    cam["dof_on"] = 1.0
    driver = cam.driver_add("dof.use_dof").driver
    driver.type = "SUM"
    var = driver.variables.new()
    var.targets[0].id_type, var.targets[0].id, var.targets[0].data_path = "CAMERA", cam, '["dof_on"]'
    driven = saved_variant(tmp_path / "dof_driven.blend")
    for blend, named in ((plain, False), (driven, True)):
        capsys.readouterr()
        assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / blend.stem), "--quiet"]) == 0
        err = capsys.readouterr().err
        said = "cameras whose depth of field stays in the labels: 'CamA' (its switch is driven by the .blend)"
        assert (said in err) == named, err


def test_volumes_that_stay_in_the_labels_are_named(shop, tmp_path, capsys):
    """A fog box (a volume-only material) whose camera visibility the .blend drives cannot
    take the run's driver that hides volumes where ids and depth are rendered: the box behind
    it lost 248 of 400 pixels at random without a word; the run names it. A plain fog box
    (hidden there, exact) is not named. (Smoke domains are named too; a domain in this
    process made Mantaflow abort it at exit.)"""
    from sdg_addon.compat import enable_nodes

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    mat = bpy.data.materials.new("fog")
    enable_nodes(mat)
    tree = mat.node_tree
    for node in [n for n in tree.nodes if n.type != "OUTPUT_MATERIAL"]:
        tree.nodes.remove(node)
    out = next(n for n in tree.nodes if n.type == "OUTPUT_MATERIAL")
    tree.links.new(tree.nodes.new("ShaderNodeVolumePrincipled").outputs[0], out.inputs["Volume"])
    for name in ("fog_plain", "fog_driven"):
        bpy.ops.mesh.primitive_cube_add(size=0.5, location=(0.0, 0.0, 3.0))
        bpy.context.active_object.name = name
    bpy.data.objects["fog_plain"].data.materials.append(mat)
    driven = bpy.data.objects["fog_driven"]
    driven.data.materials.append(mat)
    driven["seen"] = 1.0
    driver = driven.driver_add("visible_camera").driver
    driver.type = "SUM"
    var = driver.variables.new()
    var.targets[0].id_type, var.targets[0].id, var.targets[0].data_path = "OBJECT", driven, '["seen"]'
    blend = saved_variant(tmp_path / "volumes.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "volumes that stay in the labels: 'fog_driven' (its camera visibility is driven by the .blend). The run "
        "hides volumes" in err
    ), err
    assert "'fog_plain'" not in err


def test_grease_pencil_objects_drawn_over_the_image_are_named(shop, tmp_path, capsys):
    """A .blend's Grease Pencil strokes (labelled or not) are drawn over Cycles' image by
    Blender's Grease Pencil engine, outside the Object Index and Depth passes: a labelled
    stroke was in no mask, box or file and the objects it covered were labelled as seen,
    without a word; the run names it. One disabled in renders is not named, nor any with the
    view layer's Filter > Grease Pencil off."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    for name in ("sketch", "sketch_off"):
        gp = bpy.data.grease_pencils.new(name)
        frame = gp.layers.new("L").frames.new(1)
        if hasattr(frame, "drawing"):  # Blender 5's Grease Pencil
            frame.drawing.add_strokes([8])
            for i, point in enumerate(frame.drawing.strokes[0].points):
                point.position, point.radius = (-0.8 + 0.2 * i, 0.0, 0.3), 0.05
        else:  # 4.2's (legacy) Grease Pencil
            stroke = frame.strokes.new()
            stroke.points.add(8)
            for i, point in enumerate(stroke.points):
                point.co, point.pressure = (-0.8 + 0.2 * i, 0.0, 0.3), 1.0
        obj = bpy.data.objects.new(name, gp)
        obj["semantics"] = {"class": ["sketch"]}
        bpy.context.scene.collection.objects.link(obj)
    bpy.data.objects["sketch_off"].hide_render = True
    blend = saved_variant(tmp_path / "sketch.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "Grease Pencil objects drawn over the image: 'sketch'. Blender draws their strokes" in err, err
    if not hasattr(bpy.context.scene.view_layers[0], "use_grease_pencil"):
        return  # 4.2's view layers have no Grease Pencil filter
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    bpy.context.scene.view_layers[0].use_grease_pencil = False
    filtered = saved_variant(tmp_path / "filtered.blend")
    assert main(["render", str(blend_param(filtered)), "--out", str(tmp_path / "filtered"), "--quiet"]) == 0
    assert "Grease Pencil" not in capsys.readouterr().err


def test_freestyle_lines_drawn_over_the_image_are_named(shop, tmp_path, capsys):
    """A .blend rendering Freestyle lines (Render > Freestyle, a line set of the rendered view
    layer): Blender draws them over Cycles' image outside the Object Index and Depth passes,
    as Grease Pencil strokes, so what they cover was labelled as seen without a word (1225 of
    3072 pixels changed at 64 x 48); the run names them. Freestyle off, or the view layer's
    Freestyle off, is not named."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    scene = bpy.context.scene
    scene.render.use_freestyle = True
    lines = scene.view_layers[0].freestyle_settings.linesets
    outline = lines[0] if len(lines) else lines.new("outline")
    outline.linestyle = outline.linestyle or bpy.data.linestyles.new("ink")
    name = outline.name
    blend = saved_variant(tmp_path / "inked.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"Freestyle lines drawn over the image (Render > Freestyle, view layer 'ViewLayer': '{name}')" in err, err
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    bpy.context.scene.view_layers[0].use_freestyle = False
    layer_off = saved_variant(tmp_path / "layer_off.blend")
    assert main(["render", str(blend_param(layer_off)), "--out", str(tmp_path / "layer_off"), "--quiet"]) == 0
    assert "Freestyle" not in capsys.readouterr().err


def test_lights_visible_to_the_camera_are_named(shop, tmp_path, capsys):
    """A .blend's area light with Visibility > Camera on (a softbox in the shot) is drawn by
    Cycles in the image, but has no Object Index and no depth: its pixels were labelled as
    what is behind it (192 white pixels in a box's mask at 64 x 48), without a word; the run
    names it. Lights the camera does not see (the default, or in an Indirect Only collection)
    are not named."""
    capsys.readouterr()
    assert main(["render", str(blend_param(shop.path)), "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    assert "lights visible" not in capsys.readouterr().err
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.objects["Key"].visible_camera = True
    blend = saved_variant(tmp_path / "softbox.blend")
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "lights visible to the camera: 'Key' (Object > Visibility > Camera). Cycles draws their shape" in err, err
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    lamps = bpy.data.collections.new("lamps")  # Indirect Only: the camera does not see the light
    bpy.context.scene.collection.children.link(lamps)
    bpy.context.scene.collection.objects.unlink(bpy.data.objects["Key"])
    lamps.objects.link(bpy.data.objects["Key"])
    bpy.context.view_layer.layer_collection.children["lamps"].indirect_only = True
    indirect = saved_variant(tmp_path / "indirect.blend")
    assert main(["render", str(blend_param(indirect)), "--out", str(tmp_path / "indirect"), "--quiet"]) == 0
    assert "lights visible" not in capsys.readouterr().err


def test_instances_render_with_their_instancers_visibility_as_in_blender(shop, tmp_path):
    """Cycles renders an instance with the ray visibility its object and its instancer both
    allow and the instancer's holdout (not its object's): the copies the run makes of
    instances kept their object's alone, so the instances of an empty hidden from the camera
    or set to Holdout rendered (320 pixels of seats at 64 x 48 where Blender's image has
    none; the particles of a hidden emitter likewise), and the instances of a holdout seat
    were holes where Blender draws them. Each now renders as in Blender."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    scene = bpy.context.scene
    source = bpy.data.collections.new("stool_src")
    scene.collection.children.link(source)
    seat = bpy.data.objects.new("seat", bpy.data.objects["crate_lid"].data.copy())  # a 0.3 m cube
    source.objects.link(seat)
    seat["semantics"] = {"class": ["stool"]}
    seat.is_holdout = True  # not used by Cycles for the seat's instances
    bpy.context.view_layer.layer_collection.children["stool_src"].exclude = True
    for name, x in (("shown", -0.9), ("unseen", 0.0), ("hole", 0.9)):
        empty = bpy.data.objects.new(name, None)
        empty.instance_type, empty.instance_collection = "COLLECTION", source
        empty.location = (x, -1.5, 0.3)
        scene.collection.objects.link(empty)
    bpy.data.objects["unseen"].visible_camera = False
    bpy.data.objects["hole"].is_holdout = True
    # Nested: an instancer between the outermost one and the seat is not read by Cycles.
    outer = bpy.data.collections.new("outer_src")
    scene.collection.children.link(outer)
    mid = bpy.data.objects.new("mid", None)
    mid.instance_type, mid.instance_collection, mid.visible_camera = "COLLECTION", source, False
    outer.objects.link(mid)
    bpy.context.view_layer.layer_collection.children["outer_src"].exclude = True
    nest = bpy.data.objects.new("nest", None)
    nest.instance_type, nest.instance_collection, nest.location = "COLLECTION", outer, (0.0, -2.0, 0.8)
    scene.collection.objects.link(nest)
    blend = saved_variant(tmp_path / "stools.blend")
    param = blend_param(blend, "[annotators]\ninstance_segmentation = {}\n[writers]\nbasic = {}\n")
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    seen = set(json.loads((tmp_path / "out" / "instance_segmentation_mapping_0000.json").read_text()).values())
    assert "/shown/seat" in seen, seen  # drawn (its object's holdout is not the instance's)
    assert "/nest/mid/seat" in seen, seen  # drawn: 'mid' hides from the camera, 'nest' does not
    assert "/unseen/seat" not in seen and "/hole/seat" not in seen, seen


def test_appending_a_large_blends_scene_is_said_before_it(shop, tmp_path, monkeypatch, caplog):
    """Blender appends a .blend's scene in a time growing with the square of its objects
    (10,000: 87 s, 5,000: 20 s), and a run said nothing until its first frame; where the
    scene is appended (Blender 4.2; the UI) from MANY_OBJECTS objects in the file it says
    what it reads before it (here from 3). Read whole (base.read_blend_scene), the file
    takes a time that grows with it, and nothing is said."""
    from sdg_addon.scene import base

    caplog.set_level(logging.INFO, logger="sdg")
    assert main(["validate", str(blend_param(shop.path))]) == 0
    assert "reading scene" not in caplog.text
    monkeypatch.setattr(base, "MANY_OBJECTS", 3)
    if base.reads_whole_file():
        assert main(["validate", str(blend_param(shop.path))]) == 0
        assert "reading scene" not in caplog.text
        monkeypatch.setattr(base, "reads_whole_file", lambda: False)  # as in Blender 4.2
    assert main(["validate", str(blend_param(shop.path))]) == 0
    assert f"reading scene 'Shop' of {shop.path.name} (" in caplog.text, caplog.text
    assert "objects in the file): Blender appends a scene in a time that grows with the square" in caplog.text


def test_a_scene_whose_camera_is_another_scenes_object_is_told_so(shop, tmp_path, capsys):
    """A scene whose Scene > Camera is an object of another scene of the .blend (not linked
    into its own collections): Blender renders it from that camera, and the run said only
    'the base scene has no camera'; it now names the camera and where it is."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    outside = bpy.data.scenes.new("Outside")
    outside.collection.objects.link(bpy.data.objects["can_a"])
    outside.camera = bpy.data.objects["CamA"]
    blend = saved_variant(tmp_path / "outside.blend")
    param = tmp_path / "outside.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\nscene = "Outside"\n'
    )
    capsys.readouterr()
    assert main(["validate", str(param)]) == 2
    err = capsys.readouterr().err
    assert (
        "the base scene has no camera of its own: its Scene > Camera, 'CamA', is an object of another scene "
        "(Blender renders from it; link it into this scene's collection, or add [[cameras]])" in err
    ), err


def test_a_base_scene_rendering_its_second_view_layer_is_labelled_as_its_first(shop, tmp_path):
    """A .blend whose first view layer ('clay', leaving the cans out) is off for rendering
    and whose second ('beauty') renders everything: Blender's context without a window takes
    the first layer not used for rendering, so the run read geometry from 'clay': can_a,
    moved by a pose randomizer, kept its 3D box at its pose in the file, its array copy out
    of the silhouettes (occlusion, boxes). The labels now equal those of the same scene
    with one view layer, byte for byte."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    can = bpy.data.objects["can_a"]
    can.modifiers.new("row", "ARRAY").relative_offset_displace = (0.0, 1.5, 0.0)
    one = saved_variant(tmp_path / "one.blend")
    bpy.ops.wm.open_mainfile(filepath=str(one), load_ui=False)
    scene = bpy.context.scene
    clay = scene.view_layers[0]
    clay.name, clay.use = "clay", False
    scene.view_layers.new("beauty")
    clay.layer_collection.children["shop"].children["cans"].exclude = True
    two = saved_variant(tmp_path / "two.blend")
    extra = (
        "[annotators]\nbounding_box_3d = {}\nbounding_box_2d_tight = {}\ninstance_segmentation = {}\n"
        "[writers]\nbasic = {}\n"
        '[[randomizers]]\ntype = "pose"\ntargets = "can_a"\n'
        'location = { distribution = "uniform", low = [-0.5, -0.5, 0.2], high = [0.5, 0.5, 0.2] }\n'
    )
    outs = []
    for blend in (one, two):
        param = blend_param(blend, extra)
        outs.append(tmp_path / f"out_{blend.stem}")
        assert main(["render", str(param), "--out", str(outs[-1]), "--quiet"]) == 0
    files = sorted(p.name for p in outs[0].iterdir() if p.is_file())
    assert "bounding_box_3d_0000.npy" in files
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_an_object_labelled_for_blenderproc_is_named_with_what_to_set(shop, tmp_path, capsys):
    """A .blend prepared for BlenderProc labels objects with a category_id custom property,
    which is no label here: the warning listed the floor as unlabelled without saying why;
    it now says the property is BlenderProc's and what to set instead."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    floor = bpy.data.objects["floor"]
    del floor["semantics"]
    floor["category_id"] = 4
    blend = saved_variant(tmp_path / "bproc.blend")
    capsys.readouterr()
    assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert (
        "objects without a 'class' label (annotated as UNLABELLED): floor; 1 of them (floor) carry BlenderProc's "
        "category_id custom property, which is no label here: give each a 'semantics' custom property" in err
    ), err
    # Its number kept as COCO's category_id (1 + the class's place in the label table) needs
    # every id from 1 declared: 'class:3' alone was COCO's category 1.
    assert 'or class:4 for category_id 4, with [labels] class = ["1", ..., "4"], every id from 1 in order' in err, err


def test_a_view_layers_material_override_is_named(shop, tmp_path, capsys):
    """A .blend whose rendered view layer overrides every material (a clay render): a material
    randomizer's red for can_a was drawn and logged and never shown, without a word; the run
    names the override. The file without one names none."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.view_layers[0].material_override = bpy.data.materials.new("clay")
    blend = saved_variant(tmp_path / "clay.blend")
    red = '[[randomizers]]\ntype = "material"\ntargets = "can_a"\ncolor = [1.0, 0.0, 0.0]\n'
    said = {}
    for file in (shop.path, blend):
        param = blend_param(file, red).rename(tmp_path / f"{file.stem}.toml")
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / f"out_{file.stem}"), "--quiet"]) == 0
        said[file.stem] = capsys.readouterr().err
    assert (
        "the base scene's view layer 'ViewLayer' renders every object with the material 'clay' (View Layer > "
        "Override > Material): the objects' own materials, and the colours, textures and materials the run sets"
        in said["clay"]
    ), said["clay"]
    assert "Override > Material" not in said["shop"]


def test_clips_outside_a_base_scenes_frame_range_are_named_with_the_values_that_match(shop, tmp_path, capsys):
    """A .blend animated over frames 101 .. 120 (its Frame Range) recorded with the default
    start_frame = 1 showed frames 1 .. K, before its animation starts, without a word; the run
    names the range and the [sequence] values that show it. Clips inside it, and stills, say
    nothing."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = 101, 120
    blend = saved_variant(tmp_path / "late.blend")

    def warned(extra: str) -> str:
        param = blend_param(blend, extra)
        param.write_text(param.read_text().replace("frames = 1", "frames = 30" if "30" in extra else "frames = 2"))
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
        return capsys.readouterr().err

    said = warned("[sequence]\nclip_length = 2\n")
    assert "the clips show scene frames 1 .. 2, outside the base scene's frame range 101 .. 120" in said
    assert "To match it, set in [sequence]: start_frame = 101\n" in said
    said = warned("[sequence]\nclip_length = 30\nstart_frame = 101\n")
    assert "set in [sequence]: start_frame = 101, clip_length = 20 (or fewer)" in said
    assert "frame range" not in warned("[sequence]\nclip_length = 2\nstart_frame = 119\n")
    assert "frame range" not in warned("")


def test_the_frame_range_values_said_are_ones_a_thrown_clip_takes(shop, tmp_path, capsys):
    """A .blend whose Frame Range is 1 .. 24 recorded with clips of 24 that throw bodies
    (initial_velocity: start_frame 2 or more): the note said 'set start_frame = 1', which
    the run then refuses; it now says start_frame = 2 with clip_length 23 and why, and, where
    no clip of the run fits the range, to widen it."""
    from sdg_addon.scene.base import frame_range_note

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.frame_start, bpy.context.scene.frame_end = 1, 24
    blend = saved_variant(tmp_path / "short.blend")
    thrown = (
        "[sequence]\nclip_length = 24\nstart_frame = 2\nrigid_body = true\n"
        '[[assets]]\nname = "ball"\nprimitive = "sphere"\nsize = 0.1\nlocation = [0, 0, 1]\n'
        '[[randomizers]]\ntype = "initial_velocity"\ntargets = "ball"\nvelocity = [0.5, 0, 0]\n'
    )
    param = blend_param(blend, thrown)
    param.write_text(param.read_text().replace("frames = 1", "frames = 24"))
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    said = capsys.readouterr().err
    assert "the clips show scene frames 2 .. 25, outside the base scene's frame range 1 .. 24" in said, said
    assert (
        "set in [sequence]: start_frame = 2, clip_length = 23 (or fewer) (an initial_velocity randomizer: "
        "a clip starts at scene frame 2 or later)" in said
    ), said
    scene = SimpleNamespace(frame_start=1, frame_end=1)
    note = frame_range_note(scene, 2, 4, 2, "an initial_velocity randomizer")
    assert note.endswith("widen the frame range in the .blend to end at 5 or later"), note


def test_clips_of_a_base_scene_with_a_frame_step_are_named(shop, tmp_path, capsys):
    """A .blend rendering every 2nd frame (Output > Frame Range > Step 2): its clips show every
    scene frame, so its animation moved half as far a frame as in Blender's render, without a
    word; the run names the step in clips. Stills, which show one frame, do not."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.frame_step = 2
    blend = saved_variant(tmp_path / "stepped.blend")
    said = {}
    for clip in (1, 2):
        param = blend_param(blend, f"[sequence]\nclip_length = {clip}\n")
        param.write_text(param.read_text().replace("frames = 1", f"frames = {clip}"))
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / f"out{clip}"), "--quiet"]) == 0
        said[clip] = capsys.readouterr().err
    assert (
        "the base scene's Frame Step is 2 (Output > Frame Range: Blender renders every 2 frames); the clips show "
        "every scene frame (frame i of a clip is scene frame start_frame + i), so its animation moves 2 times less"
        in said[2]
    ), said[2]
    assert "Frame Step" not in said[1]


def test_a_metaball_rendered_as_part_of_its_family_is_named_when_its_labels_are_lost(tmp_path, clean_bpy, capsys):
    """Blender renders a family of metaballs (blob, blob.001) as one surface, blob's: the
    labels set on blob.001 were dropped without a word. The run names it; a family whose
    members share their labels loses nothing and is not named."""
    scene = bpy.context.scene
    for name, x, label in (
        ("blob", -0.3, "blob"),
        ("blob.001", 0.0, "drop"),
        ("gel", 1.5, "gel"),
        ("gel.001", 1.8, "gel"),
    ):
        data = bpy.data.metaballs.new(name)
        data.elements.new().radius = 0.6
        obj = bpy.data.objects.new(name, data)
        scene.collection.objects.link(obj)
        obj.location = (x, 0.0, 0.0)
        obj["semantics"] = {"class": [label]}
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0.5, -6.0, 0.0), (math.pi / 2, 0.0, 0.0)
    blend = saved_variant(tmp_path / "blobs.blend")
    param = blend_param(blend, "[annotators]\ninstance_segmentation = {}\n")
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "metaballs whose labels are in no mask and no box: 'blob.001' as part of 'blob'." in err, err
    assert "gel" not in err
    masked = json.loads((tmp_path / "out" / "instance_segmentation_mapping_0000.json").read_text())
    assert set(masked.values()) == {"BACKGROUND", "/blob", "/gel"}


def test_cameras_left_out_of_renders_are_not_recorded_by_default(tmp_path, clean_bpy, capsys):
    """By default every camera of the .blend was recorded, those in a collection excluded
    from the view layer and those disabled for rendering too, without a word: the artist's
    left-out cameras rendered and labelled. Now the default takes the others and the run
    names what it leaves out and what it records; `cameras` records any camera it names."""
    scene = bpy.context.scene
    shelved = bpy.data.collections.new("shelved")
    scene.collection.children.link(shelved)
    for name, coll, off in (("CamA", scene.collection, False), ("CamEx", shelved, False), ("CamOff", None, True)):
        cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
        (coll or scene.collection).objects.link(cam)
        cam.hide_render = off
    bpy.context.view_layer.layer_collection.children["shelved"].exclude = True
    blend = saved_variant(tmp_path / "cams.blend")
    param = blend_param(blend)
    text = param.read_text()

    def record(cameras: str, out: Path) -> tuple[int, str]:
        param.write_text(text.replace('cameras = ["CamA"]', cameras))
        capsys.readouterr()
        code = main(["render", str(param), "--out", str(out), "--quiet"])
        return code, capsys.readouterr().err

    code, err = record("", tmp_path / "default")
    assert code == 0, err
    assert json.loads((tmp_path / "default" / "audit" / "cameras.json").read_text()) == ["CamA"]
    assert (
        "cameras of the base scene left out, as the artist left them out of renders: 'CamEx' (its collection is "
        "excluded from the view layer or disabled for rendering), 'CamOff' (disabled for rendering); recorded: 'CamA'"
    ) in err, err
    code, err = record('cameras = ["CamA", "CamEx", "CamOff"]', tmp_path / "named")
    assert code == 0, err
    assert json.loads((tmp_path / "named" / "audit" / "cameras.json").read_text()) == ["CamA", "CamEx", "CamOff"]
    assert "left out" not in err


def test_resolved_json_names_the_scene_recorded(tmp_path, clean_bpy, capsys):
    """`[scene] scene` left out records the .blend's only scene, else "Scene": resolved.json,
    the parameters with their defaults filled in, kept scene = "" and named none. It names
    it now, and a resumed run, a render process and merge take the same name."""
    scene = bpy.context.scene
    scene.name = "Scene"
    bpy.data.scenes.new("Other")
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "two.blend")
    param = blend_param(blend)
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "audit" / "resolved.json").read_text())["base"]["scene"] == "Scene"
    param.write_text(param.read_text().replace("frames = 1", "frames = 2"))
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out), "--resume", "--procs", "1", "--quiet"]) == 0
    assert main(["merge", str(param), "--out", str(out)]) == 0, capsys.readouterr().err


def test_a_scene_named_in_another_unicode_form_is_the_files(shop, tmp_path, capsys):
    """[scene] scene = "Café" typed composed (NFC) and the .blend's scene spelt decomposed
    (NFD, named from a macOS file name) print alike: the run refused it ('one of 'Shop',
    'Café'; did you mean 'Café'?'); it now records that scene. So do [scene] cameras and
    lights globs name a camera and a light spelt decomposed."""
    import unicodedata

    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    other = bpy.data.scenes.new(unicodedata.normalize("NFD", "Café"))
    other.collection.objects.link(bpy.data.objects["CamA"])
    other.collection.objects.link(bpy.data.objects["can_a"])
    bpy.data.objects["can_a"]["semantics"] = {"class": ["can"]}  # its collection is not in that scene
    other.camera = bpy.data.objects["CamA"]
    blend = saved_variant(tmp_path / "cafe.blend")
    param = blend_param(blend, f'scene = "{unicodedata.normalize("NFC", "Café")}"\n')
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "bounding_box_2d_tight_prim_paths_0000.json").read_text()) == ["/can_a"]
    # [scene] cameras and lights globs likewise: a camera and a light spelt decomposed.
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.objects["CamB"].name = unicodedata.normalize("NFD", "Cäm")
    bpy.data.objects["Key"].name = unicodedata.normalize("NFD", "Lämp")
    named = saved_variant(tmp_path / "named.blend")
    param = tmp_path / "named.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{named.as_posix()}"\ncameras = ["{unicodedata.normalize("NFC", "Cäm")}"]\n'
        f'lights = ["{unicodedata.normalize("NFC", "Lä*")}"]\n'
    )
    assert main(["render", str(param), "--out", str(tmp_path / "named"), "--quiet"]) == 0, capsys.readouterr().err
    assert (tmp_path / "named" / "rgb_0000.png").exists()


def test_a_blend_of_several_scenes_names_the_scene_it_records(tmp_path, clean_bpy, capsys):
    """A .blend of several scenes without [scene] scene records the one named "Scene",
    though Blender opens the file on (and F12 renders) the scene it was saved with: a file
    saved on 'Studio' was recorded from 'Scene' with no word but resolved.json's. The run
    now names the scene it records and the others; naming one in [scene] scene says
    nothing, nor does a file of one scene."""
    scene = bpy.context.scene
    scene.name = "Scene"
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    studio = bpy.data.scenes.new("Studio")
    studio.collection.objects.link(cam)
    blend = saved_variant(tmp_path / "two.blend")
    param = blend_param(blend)
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "holds 2 scenes; the run records 'Scene'" in err and "not 'Studio'" in err, err
    warnings = json.loads((tmp_path / "out" / "audit" / "manifest.json").read_text())["warnings"]
    assert any("not 'Studio'" in w for w in warnings)
    param.write_text(param.read_text().replace("[scene]\n", '[scene]\nscene = "Scene"\n'))
    assert main(["render", str(param), "--out", str(tmp_path / "named"), "--quiet"]) == 0
    assert "scenes" not in capsys.readouterr().err


def test_validate_says_what_render_refuses_in_the_built_scene_and_writes_nothing(shop, tmp_path, capsys):
    """`validate` checked the file alone and said OK to what only the built scene tells,
    which `render` then refused (exit 2, before anything is written): a .blend's mirrored or
    panoramic camera, a missing [scene] scene, labels the label files cannot take, an object a
    pose randomizer places under a moved parent, a camera a constraint aims, targets that
    match nothing. It now builds the scene as render does and says each in render's words,
    exit 2, writing nothing; a good file is OK and nothing is written either (the .blend's
    folder, the output's parent); --no-scene checks the file alone."""

    def variant(name: str, edit) -> Path:
        bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
        edit(bpy.data)
        return saved_variant(tmp_path / f"{name}.blend")

    def shelve(data):
        shelf = data.objects.new("shelf", None)
        bpy.context.scene.collection.objects.link(shelf)
        data.objects["can_a"].parent = shelf
        shelf.location, shelf.rotation_euler = (0.5, 0.5, 0.2), (0.0, 0.0, math.radians(40))

    pose = '[[randomizers]]\ntype = "pose"\ntargets = "{}"\nlocation = [-0.3, 0, 0]\n'
    aim = '[[randomizers]]\ntype = "camera"\ntargets = "CamA"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n'
    cases = {
        "mirrored": (variant("mirrored", lambda d: setattr(d.objects["CamA"], "scale", (-1, 1, 1))), ""),
        "panoramic": (variant("panoramic", lambda d: setattr(d.cameras["CamA"], "type", "PANO")), ""),
        "label": (variant("label", lambda d: d.objects["can_a"].__setitem__("semantics", {"class": ["can\n"]})), ""),
        "parented": (variant("parented", shelve), pose.format("can_a")),
        "aimed": (
            variant(
                "aimed", lambda d: setattr(d.objects["CamA"].constraints.new("TRACK_TO"), "target", d.objects["can_a"])
            ),
            aim,
        ),
        "no_scene": (shop.path, 'scene = "Nope"\n'),
        "no_target": (shop.path, pose.format("nope*")),
    }
    parent = tmp_path / "outs"
    parent.mkdir()

    def state() -> dict:
        return {p.name: sha256(p) for folder in (tmp_path, shop.dir, parent) for p in folder.iterdir() if p.is_file()}

    def param_of(name: str, blend: Path, extra: str = "") -> Path:
        param = tmp_path / f"{name}.toml"
        param.write_text(
            '[run]\nframes = 1\n[render]\nresolution = [64, 48]\nsamples = 1\ndevice = "cpu"\n'
            f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n{extra}'
        )
        return param

    for name, (blend, extra) in cases.items():
        param = param_of(name, blend, extra)
        out = parent / name
        before = state()
        capsys.readouterr()
        assert main(["validate", str(param), "--out", str(out)]) == 2, name
        said = capsys.readouterr()
        assert state() == before and not out.exists() and said.out == "", name
        assert main(["render", str(param), "--out", str(out), "--quiet"]) == 2, name
        assert capsys.readouterr().err == said.err, name
        assert not out.exists() and said.err.startswith(f"1 problem(s) in {param}:"), (name, said.err)
        assert main(["validate", str(param), "--out", str(out), "--no-scene"]) == 0
        assert "OK (the scene was not built: --no-scene)" in capsys.readouterr().out
    good = param_of("good", shop.path)
    before = state()
    assert main(["validate", str(good), "--out", str(parent / "good")]) == 0
    said = capsys.readouterr()
    assert said.out.strip() == f"{good}: OK"
    assert state() == before and not (parent / "good").exists() and sha256(shop.path) == shop.sha
    assert main(["render", str(good), "--out", str(parent / "good"), "--quiet"]) == 0
    # validate's warnings (the base scene's notes, said with the built scene) are render's.
    rendered = capsys.readouterr().err.splitlines()
    assert said.err and all(line.startswith("WARNING: ") and line in rendered for line in said.err.splitlines())


def test_an_orthographic_camera_of_a_blend_with_the_bop_writer_is_refused_before_anything_is_written(
    shop, tmp_path, capsys
):
    """BOP's cam_K is a pinhole camera: a .blend's orthographic camera with the bop writer
    was refused at the first frame, after audit/ was written (after --overwrite had deleted
    the dataset there), and validate said OK. It is refused when the scene is built: render
    and validate say it alike, exit 2, nothing written; leaving it out is fine."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.data.cameras["CamA"].type = "ORTHO"
    blend = saved_variant(tmp_path / "ortho.blend")
    param = blend_param(blend, "[writers]\nbop = {}\n").rename(tmp_path / "bop.toml")
    capsys.readouterr()
    assert main(["validate", str(param)]) == 2
    said = capsys.readouterr().err
    assert "scene.blend: got" in said and "camera 'CamA' is orthographic; set its Type to Perspective" in said, said
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == said and not out.exists()
    param.write_text(param.read_text().replace('cameras = ["CamA"]', 'cameras = ["CamB"]'))
    assert main(["validate", str(param)]) == 0


def test_a_base_scenes_sample_subset_is_off_so_masks_and_depth_are_written(shop, tmp_path):
    """A .blend rendering a Sample Subset (Sampling > Advanced: an offset of 3, as one
    machine's share of a split render; 4.2 has the offset alone) skipped sample 0, the one
    Cycles writes the Object Index and Depth passes from: every mask was background, the
    boxes empty and the depth all inf ('no labelled object is visible'). The run's samples
    are [render]'s from the first: masks and depth are those of the plain .blend."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    cycles = bpy.context.scene.cycles
    if hasattr(cycles, "use_sample_subset"):
        cycles.use_sample_subset = True
    cycles.sample_offset = 3
    blend = saved_variant(tmp_path / "subset.blend")
    extra = "[annotators]\ninstance_segmentation = {}\ndistance_to_image_plane = {}\n"
    for name, path in (("plain", shop.path), ("subset", blend)):
        param = blend_param(path, extra)
        param = param.rename(tmp_path / f"{name}.toml")
        param.write_text(param.read_text().replace("samples = 1", "samples = 2"))
        assert main(["render", str(param), "--out", str(tmp_path / name), "--quiet"]) == 0
    for stem in ("instance_segmentation_0000.png", "distance_to_image_plane_0000.npy"):
        read = np.load if stem.endswith(".npy") else (lambda p: np.asarray(Image.open(p)))
        plain, subset = read(tmp_path / "plain" / stem), read(tmp_path / "subset" / stem)
        assert np.array_equal(plain, subset), stem
    assert np.isfinite(np.load(tmp_path / "subset" / "distance_to_image_plane_0000.npy")).sum() > 300


def test_a_base_scenes_time_limit_leaves_the_run_its_samples(shop, tmp_path):
    """A .blend with a render Time Limit (Sampling > Render) stopped each frame after as many
    samples as the machine managed in it: fewer than [render]'s samples (1024 at 64 x 48 took
    0.3 s, not 32 s) and another image on every run of the same file (1.8 levels apart on
    average). The run's frames take [render]'s samples: the plain .blend's image, byte for byte."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.cycles.time_limit = 1e-4  # seconds: a sample or so
    blend = saved_variant(tmp_path / "limited.blend")
    for name, path in (("plain", shop.path), ("limited", blend)):
        param = blend_param(path).rename(tmp_path / f"{name}.toml")
        param.write_text(param.read_text().replace("samples = 1", "samples = 16"))
        assert main(["render", str(param), "--out", str(tmp_path / name), "--quiet"]) == 0
    plain, limited = ((tmp_path / name / "rgb_0000.png").read_bytes() for name in ("plain", "limited"))
    assert plain == limited


def test_denoise_denoises_a_base_scene_whose_view_layer_turns_denoising_off(shop, tmp_path):
    """A .blend whose rendered view layer has its own Denoising switch off (View Layer >
    Denoising) kept `denoise = true` from denoising anything: its images were the undenoised
    ones byte for byte, resolved.json saying denoise = true. [render]'s switch decides: the
    image is the plain .blend's denoised one."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.view_layers[0].cycles.use_denoising = False
    blend = saved_variant(tmp_path / "layer_off.blend")
    images = {}
    for name, path, denoise in (("plain", shop.path, "true"), ("off", blend, "true"), ("raw", shop.path, "false")):
        param = blend_param(path).rename(tmp_path / f"{name}.toml")
        param.write_text(param.read_text().replace("samples = 1", f"samples = 4\ndenoise = {denoise}"))
        assert main(["render", str(param), "--out", str(tmp_path / name), "--quiet"]) == 0
        images[name] = (tmp_path / name / "rgb_0000.png").read_bytes()
    assert images["off"] == images["plain"] != images["raw"]


def test_a_base_scene_rendering_a_single_layer_is_recorded(shop, tmp_path):
    """A .blend with Render Single Layer on (View Layer panel) rendered its active view layer
    alone, not the 1-sample data layer the masks, depth and normals are read from at samples
    > 1 (or with depth of field, motion blur, volumes): the run stopped at its second camera
    with 'Error writing render result, Success'. Its frames are the plain .blend's."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.render.use_single_layer = True
    blend = saved_variant(tmp_path / "single.blend")
    extra = "[annotators]\nrgb = {}\ninstance_segmentation = {}\nnormals = {}\n"
    for name, path in (("plain", shop.path), ("single", blend)):
        param = blend_param(path, extra).rename(tmp_path / f"{name}.toml")
        text = param.read_text().replace("samples = 1", "samples = 2")
        param.write_text(text.replace('cameras = ["CamA"]\n', ""))  # both: the second failed
        assert main(["render", str(param), "--out", str(tmp_path / name), "--quiet"]) == 0
    for stem in (
        "rgb/rgb_0000.png",
        "instance_segmentation/instance_segmentation_0000.png",
        "normals/normals_0000.npy",
    ):
        for cam in ("CamA", "CamB"):
            plain, single = (tmp_path / name / cam / stem for name in ("plain", "single"))
            assert plain.read_bytes() == single.read_bytes(), (cam, stem)


def test_geometry_turned_to_the_active_camera_is_read_for_each_camera(shop, tmp_path):
    """A card whose node tree turns it to the Active Camera (a billboard, as leaf cards and
    impostors are made) renders turned to each camera, but its geometry was read once a frame,
    turned to whichever camera rendered last: from the second camera on it had an occlusion
    ratio above 0 with nothing in front of it (0.018 here; elsewhere 0.038, its loose box
    four rows taller than its mask). It is read after each camera's render: loose and tight
    boxes agree for every camera and frame, occlusion 0."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.ops.mesh.primitive_plane_add(size=0.6, location=(0.0, -1.2, 1.0))
    card = bpy.context.active_object
    card.name = "card"
    card["semantics"] = {"class": ["card"]}
    tree = bpy.data.node_groups.new("billboard", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = tree.nodes, tree.links
    given, made = nodes.new("NodeGroupInput"), nodes.new("NodeGroupOutput")
    info = nodes.new("GeometryNodeObjectInfo")
    info.transform_space = "RELATIVE"
    align = nodes.new("FunctionNodeAlignRotationToVector")  # the card's +Z to the camera
    turn = nodes.new("GeometryNodeTransform")
    links.new(nodes.new("GeometryNodeInputActiveCamera").outputs[0], info.inputs["Object"])
    links.new(info.outputs["Location"], align.inputs["Vector"])
    links.new(given.outputs[0], turn.inputs["Geometry"])
    links.new(align.outputs[0], turn.inputs["Rotation"])
    links.new(turn.outputs[0], made.inputs[0])
    card.modifiers.new("billboard", "NODES").node_group = tree
    blend = saved_variant(tmp_path / "billboard.blend")
    param = blend_param(blend, "[annotators]\nbounding_box_2d_tight = {}\nbounding_box_2d_loose = {}\n")
    text = (
        param.read_text().replace("frames = 1", "frames = 2").replace("resolution = [32, 24]", "resolution = [64, 48]")
    )
    param.write_text(text.replace('cameras = ["CamA"]\n', ""))
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    corners = ("x_min", "y_min", "x_max", "y_max")
    for frame in ("0000", "0001"):
        for cam in ("CamA", "CamB"):
            boxes = {}
            for kind in ("tight", "loose"):
                folder = tmp_path / "out" / cam / f"bounding_box_2d_{kind}"
                paths = json.loads((folder / f"bounding_box_2d_{kind}_prim_paths_{frame}.json").read_text())
                rows = np.load(folder / f"bounding_box_2d_{kind}_{frame}.npy")
                boxes[kind] = dict(zip(paths, rows))["/card"]
            tight, loose = boxes["tight"], boxes["loose"]
            assert 0 < tight["x_min"] and tight["x_max"] < 63 and 0 < tight["y_min"] and tight["y_max"] < 47
            assert [int(loose[c]) for c in corners] == [int(tight[c]) for c in corners], (frame, cam)
            assert loose["occlusionRatio"] == 0.0, (frame, cam)


def test_node_instances_turned_to_the_active_camera_are_named(shop, tmp_path, capsys):
    """Cards a node tree instances on points and turns to the Active Camera, left as
    instances, are made real once, facing the camera the scene is built with: in a run of
    CamA and CamB, CamB's image showed them edge-on (22, 19 and 22 pixels, one not at all)
    where Blender's render from CamB, as a run of CamB alone makes it, shows them turned to
    it (6, 51, 29, 35 pixels). The run names such objects; a tree ending in Realize
    Instances (one mesh, read for each camera) is not named."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.ops.mesh.primitive_plane_add(size=0.25, location=(5.0, 5.0, -5.0))
    leaf = bpy.context.active_object
    leaf.name, leaf.hide_render = "leaf", True
    bpy.ops.mesh.primitive_plane_add(size=0.8, location=(0.0, -1.2, 1.0))
    tree = bpy.context.active_object
    tree.name = "tree"
    tree["semantics"] = {"class": ["tree"]}
    group = bpy.data.node_groups.new("cards", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    nodes, links = group.nodes, group.links
    points, cards = nodes.new("GeometryNodeMeshToPoints"), nodes.new("GeometryNodeInstanceOnPoints")
    card = nodes.new("GeometryNodeObjectInfo")
    card.inputs["As Instance"].default_value = True
    card.inputs["Object"].default_value = leaf
    camera = nodes.new("GeometryNodeObjectInfo")
    camera.transform_space = "RELATIVE"
    to_camera = nodes.new("ShaderNodeVectorMath")
    to_camera.operation = "SUBTRACT"
    align = nodes.new("FunctionNodeAlignRotationToVector")
    links.new(nodes.new("NodeGroupInput").outputs[0], points.inputs["Mesh"])
    links.new(nodes.new("GeometryNodeInputActiveCamera").outputs[0], camera.inputs["Object"])
    links.new(camera.outputs["Location"], to_camera.inputs[0])
    links.new(nodes.new("GeometryNodeInputPosition").outputs[0], to_camera.inputs[1])
    links.new(to_camera.outputs[0], align.inputs["Vector"])
    links.new(points.outputs[0], cards.inputs["Points"])
    links.new(card.outputs["Geometry"], cards.inputs["Instance"])
    links.new(align.outputs[0], cards.inputs["Rotation"])
    output = nodes.new("NodeGroupOutput")
    links.new(cards.outputs[0], output.inputs[0])
    tree.modifiers.new("cards", "NODES").node_group = group
    instances = saved_variant(tmp_path / "instances.blend")
    bpy.ops.wm.open_mainfile(filepath=str(instances), load_ui=False)
    group = bpy.data.node_groups["cards"]
    realize = group.nodes.new("GeometryNodeRealizeInstances")
    group.links.new(group.nodes["Instance on Points"].outputs[0], realize.inputs[0])
    group.links.new(realize.outputs[0], group.nodes["Group Output"].inputs[0])
    realized = saved_variant(tmp_path / "realized.blend")
    said = (
        "Geometry Nodes instances that read the Active Camera: 'tree'. The run makes each instance a real object once"
    )
    for blend, named in ((instances, True), (realized, False)):
        capsys.readouterr()
        assert main(["render", str(blend_param(blend)), "--out", str(tmp_path / blend.stem), "--quiet"]) == 0
        err = capsys.readouterr().err
        assert (said in err) == named, err
        if named:
            assert "placed for the camera the scene is built with ('CamA')" in err


def test_a_view_layers_world_override_is_named(shop, tmp_path, capsys):
    """A .blend whose rendered view layer renders another world (View Layer > Override >
    World, a studio backdrop): a world randomizer's red was drawn and logged and never shown,
    the background staying the override's blue, without a word; the run names the override.
    The file without one names none."""
    bpy.ops.wm.open_mainfile(filepath=str(shop.path), load_ui=False)
    bpy.context.scene.view_layers[0].world_override = bpy.data.worlds.new("studio")
    blend = saved_variant(tmp_path / "studio.blend")
    red = '[[randomizers]]\ntype = "world"\ncolor = [1.0, 0.0, 0.0]\n'
    said = {}
    for file in (shop.path, blend):
        param = blend_param(file, red).rename(tmp_path / f"{file.stem}.toml")
        capsys.readouterr()
        assert main(["render", str(param), "--out", str(tmp_path / f"out_{file.stem}"), "--quiet"]) == 0
        said[file.stem] = capsys.readouterr().err
    assert (
        "the base scene's view layer 'ViewLayer' renders the world 'studio' in place of the scene's (View Layer > "
        "Override > World): the world the run sets or randomizes ([scene] world; world, world_hdri, sky and "
        "world_property randomizers) shows in no image" in said["studio"]
    ), said["studio"]
    assert "Override > World" not in said["shop"]
