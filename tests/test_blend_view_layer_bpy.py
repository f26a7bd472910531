"""A base .blend's view layer settings the run replaces or keeps, named in a warning: its
Alpha Threshold ([render] alpha_threshold replaces it) and Filter > Environment off (kept:
the background black, a world randomizer's colour never shown); and a bop dataset named as
the base scene's camera (its output folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")
from headless.cli import main  # noqa: E402

RED_WORLD = '[[randomizers]]\ntype = "world"\ncolor = [1.0, 0.0, 0.0]\n'


def tiny_blend(path: Path, **layer) -> Path:
    """A cube before camera CamA; the view layer's properties set from `layer`."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_cube_add(size=1)
    cam = bpy.data.objects.new("CamA", bpy.data.cameras.new("CamA"))
    scene.collection.objects.link(cam)
    cam.location, cam.rotation_euler = (0, -4, 0), (1.5708, 0, 0)
    scene.camera, scene.world = cam, bpy.data.worlds.new("W")
    scene.render.resolution_x, scene.render.resolution_y = 32, 24
    for name, value in layer.items():
        setattr(scene.view_layers[0], name, value)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    return path


def render(blend: Path, out: Path, capsys, render_extra: str = "", scene_extra: str = "") -> str:
    param = blend.with_suffix(".toml")
    param.write_text(
        f'[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n{render_extra}'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n{RED_WORLD}{scene_extra}'
    )
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    return capsys.readouterr().err


def test_a_view_layers_alpha_threshold_the_run_replaces_is_named(tmp_path, capsys):
    """A .blend whose view layer's Alpha Threshold is 0.8: [render] alpha_threshold (0.5)
    replaced it without a word; the run names both values and the one to set to keep the
    file's. Set to the file's, or at Blender's default 0.5, nothing is said."""
    blend = tiny_blend(tmp_path / "alpha.blend", pass_alpha_threshold=0.8)
    err = render(blend, tmp_path / "out", capsys)
    assert (
        "the base scene's view layer 'ViewLayer' has Alpha Threshold 0.8 (View Layer > Passes): the run's [render] "
        "alpha_threshold = 0.5 replaces it (masks and depth: a surface owns a pixel when its alpha is at least "
        "this). To keep the file's, set in [render]: alpha_threshold = 0.8" in err
    ), err
    kept = render(blend, tmp_path / "kept", capsys, "alpha_threshold = 0.8\n")
    assert "Alpha Threshold" not in kept, kept
    plain = render(tiny_blend(tmp_path / "plain.blend"), tmp_path / "plain", capsys)
    assert "Alpha Threshold" not in plain, plain


def test_a_view_layers_environment_filter_off_is_named(tmp_path, capsys):
    """A .blend whose view layer renders no environment (View Layer > Filter > Environment
    off): the background rendered black, a world randomizer's red drawn and logged and never
    shown, without a word; the run keeps the file's look and names it. On, the red shows and
    nothing is said."""
    said, corner = {}, {}
    for name, sky in (("off", False), ("on", True)):
        out = tmp_path / name
        said[name] = render(tiny_blend(tmp_path / f"{name}.blend", use_sky=sky), out, capsys)
        corner[name] = np.array(Image.open(out / "rgb_0000.png"))[0, 0, :3].tolist()
    assert corner == {"off": [0, 0, 0], "on": [255, 0, 0]}, corner
    assert (
        "the base scene's view layer 'ViewLayer' renders no environment (View Layer > Filter > Environment off), "
        "which the run keeps: the background is black and the world the run sets or randomizes ([scene] world; "
        "world, world_hdri, sky and world_property randomizers) lights the scene but shows in no image's "
        "background, though drawn and logged. To show it, turn Environment on in the .blend" in said["off"]
    ), said["off"]
    assert "Filter > Environment" not in said["on"], said["on"]


def test_a_view_layers_surfaces_filter_off_is_named(tmp_path, capsys):
    """A .blend whose view layer renders no surfaces (View Layer > Filter > Surfaces off): a
    labelled ball the parameter file adds rendered in no image or mask, each frame warned of
    as showing no labelled object, without the cause; the run names it."""
    ball = '[[assets]]\nname = "ball"\nprimitive = "sphere"\nlabels = { class = "ball" }\nlocation = [0, -1, 0]\n'
    said = {}
    for name, solid in (("off", False), ("on", True)):
        blend = tiny_blend(tmp_path / f"{name}.blend", use_solid=solid)
        said[name] = render(blend, tmp_path / name, capsys, scene_extra=ball)
    assert (
        "the base scene's view layer 'ViewLayer' renders no surfaces (View Layer > Filter > Surfaces off), which "
        "the run keeps: no object's surface (meshes, curves, text; the objects the run adds too) shows in any "
        "image or mask, so the frames are background. To render them, turn Surfaces on in the .blend" in said["off"]
    ), said["off"]
    assert "Filter > Surfaces" not in said["on"] and "no labelled object is visible" not in said["on"], said["on"]


def test_a_bop_dataset_named_as_a_base_scenes_camera_is_refused(tmp_path, capsys):
    """[writers.bop] dataset = "cama" with the base .blend's camera CamA: the BOP files went
    into the camera's output sub-folder; refused (exit 2), nothing written."""
    blend = tiny_blend(tmp_path / "cams.blend")
    param = blend.with_suffix(".toml")
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n[writers.bop]\ndataset = "cama"\n'
    )
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "writers.bop.dataset" in err and "the base scene's camera 'CamA' (any case)" in err, err
    assert not (tmp_path / "out").exists()
