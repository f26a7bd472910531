"""Blender 4.2 LTS and 5.x: the extension built with each Blender's own tool installs,
enables, records 2 frames of a small .blend from the recorder panel and draws its panels
(tests/fake_layout.py checks every name against that Blender), and the annotations are
equal (mask pixels, boxes and labels exactly; depth to float precision). .venv42 has only what
Blender's own Python has, so the default preset (augmentations with JPEG) records there too.

The 4.2 run uses .venv42 (bpy 4.2, made by scripts/test.sh); each run is its own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PYTHON42 = ROOT / ".venv42" / "bin" / "python"
SCRIPT = ROOT / "tests" / "smoke_record.py"


def record(python: Path | str, out: Path) -> None:
    # Each Blender gets its own user folder (extension caches differ between versions).
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(out.parent / f"user_{out.name}")}
    proc = subprocess.run([str(python), str(SCRIPT), str(out)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "done: Done: 2 frame(s) written" in proc.stdout
    for panel in ("SDG_PT_labels", "SDG_PT_recorder", "SDG_PT_randomizers"):
        assert f"panel {panel}: " in proc.stdout, proc.stdout[-2000:]


def dataset(out: Path) -> dict[str, Path]:
    return {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*")) if p.is_file() and "audit" not in p.parts}


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_blender_42_records_what_50_records(tmp_path):
    pytest.importorskip("bpy")
    record(sys.executable, tmp_path / "v50")
    record(PYTHON42, tmp_path / "v42")
    new, old = dataset(tmp_path / "v50"), dataset(tmp_path / "v42")
    assert new.keys() == old.keys() and len(new) >= 30, sorted(new)
    for name, path in new.items():
        if name.endswith(".npy") and "distance_to" in name:
            a, b = np.load(path), np.load(old[name])
            assert np.array_equal(np.isfinite(a), np.isfinite(b)), name
            assert np.allclose(a[np.isfinite(a)], b[np.isfinite(b)], atol=1e-5), name
        elif name.endswith(".png"):  # the same pixels (the zlib stream may differ: isal or zlib)
            with Image.open(path) as a, Image.open(old[name]) as b:
                assert a.mode == b.mode and np.array_equal(np.asarray(a), np.asarray(b)), name
        else:
            assert path.read_bytes() == old[name].read_bytes(), name
    env = (tmp_path / "v42" / "audit" / "environment.json").read_text()
    assert '"4.2.' in env
    # Headless on 4.2 too: the run's own audit copy (scene copy + parameter file) reproduces it.
    param = tmp_path / "v42" / "audit" / "inputs" / "shop.toml"
    out = tmp_path / "v42_headless"
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "user_headless")}
    cmd = [str(PYTHON42), "-m", "headless", "render", str(param), "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = dataset(out)
    assert again.keys() == old.keys()
    for name, path in again.items():
        assert path.read_bytes() == old[name].read_bytes(), name


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_blender_42_python_records_the_default_preset(tmp_path):
    """.venv42 holds what Blender's own Python holds (numpy; no Pillow, isal or pycocotools):
    the default preset, with its JPEG augmentation and every annotator, records there."""
    import json
    from argparse import Namespace

    from headless.bench import bench_config

    for name in ("PIL", "isal", "pycocotools"):
        probe = subprocess.run([str(PYTHON42), "-c", f"import {name}"], capture_output=True)
        assert probe.returncode != 0, f"{name} is in .venv42: this test no longer stands for Blender's Python"
    preset = ROOT / "presets" / "default.toml"
    args = Namespace(file=preset, frames=2, resolution="64x48", samples=1, device="cpu", writers=None, annotators="all")
    param = tmp_path / "default.json"
    param.write_text(json.dumps(bench_config(args)))
    out = tmp_path / "out"
    cmd = [str(PYTHON42), "-m", "headless", "render", str(param), "--out", str(out), "--worker-mode", "inline"]
    proc = subprocess.run(cmd + ["--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in out.glob("rgb_*.png")) == ["rgb_0000.png", "rgb_0001.png"]


LIGHT_COLOUR = """
import json, sys
from types import SimpleNamespace
import bpy
from sdg_addon.scene.randomize import apply_light
light = bpy.data.lights.new("key", "AREA")
apply_light(SimpleNamespace(lights={"key": SimpleNamespace(data=light)}, light_colors={}, light_kelvin={}), "key",
            {"temperature": 3200.0, "color": [0.9, 1.0, 0.8]})
print(json.dumps([list(light.color), bool(getattr(light, "use_temperature", False))]))
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_a_light_temperature_gives_the_same_light_on_42_and_5x():
    """4.2 has no light temperature of its own, 5.x has: the add-on sets the colour on both."""
    import json

    pytest.importorskip("bpy")
    seen = []
    for python in (sys.executable, str(PYTHON42)):
        proc = subprocess.run([python, "-c", LIGHT_COLOUR], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        seen.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    (new, new_native), (old, old_native) = seen
    assert new == pytest.approx(old, abs=1e-6) and not new_native and not old_native
    assert np.dot(np.array(new) / [0.9, 1.0, 0.8], [0.2126, 0.7152, 0.0722]) == pytest.approx(1.0, abs=1e-5)


SHOT = """
import sys
from pathlib import Path
sys.path[:0] = ["tests", "."]
from blend_scene import add_compositor_and_sequencer, make_shop_blend
from headless.cli import main
d = Path(sys.argv[1]); (d / "elsewhere").mkdir()
make_shop_blend(d / "shop.blend")
add_compositor_and_sequencer(d / "shop.blend", d / "shot.blend", (d / "elsewhere").as_posix() + "/")
for name in ("shop.blend", "shot.blend"):
    (d / f"{name}.toml").write_text(f'[run]\\nframes = 1\\n[render]\\nresolution = [64, 48]\\nsamples = 2\\n'
        f'device = "cpu"\\n[scene]\\nblend = "{(d / name).as_posix()}"\\ncameras = ["CamA"]\\n')
    assert main(["render", str(d / f"{name}.toml"), "--out", str(d / name[:4]), "--quiet"]) == 0
assert list((d / "elsewhere").iterdir()) == [], "a File Output node wrote outside the output folder"
assert (d / "shop" / "rgb_0000.png").read_bytes() == (d / "shot" / "rgb_0000.png").read_bytes()
print("ok")
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_a_finished_shots_render_settings_change_nothing_on_42(tmp_path):
    """4.2 keeps its compositor in scene.node_tree (5.x: a node group): a File Output node,
    a sequencer strip, stereo and a render region leave the run's images as the plain
    .blend's, and nothing is written outside the output folder (test_blend_scene_bpy checks 5.x)."""
    proc = subprocess.run(
        [str(PYTHON42), "-c", SHOT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_a_view_transform_that_needs_openimageio_is_refused_up_front_where_it_is_missing(tmp_path):
    """The bpy 4.2 wheel has no OpenImageIO module, which AgX, Filmic and looks need: the
    run says so before anything is written (before: the first frame's RGB failed mid-run)."""
    param = tmp_path / "agx.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [16, 12]\nsamples = 1\ndevice = "cpu"\nview_transform = "AgX"\n'
        '[[cameras]]\nname = "c"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n'
        '[[assets]]\nname = "b"\nprimitive = "sphere"\nlabels = { class = "b" }\n'
    )
    out = tmp_path / "out"
    cmd = [str(PYTHON42), "-m", "headless", "render", str(param), "--out", str(out), "--quiet"]
    pytest.importorskip("bpy")
    from sdg_addon.blender_paths import resources

    # Also with a bpy 5.0 folder in the environment (a 5.0 process of this session passes its
    # own on): the 4.2 process must look at its own Blender, not at that one's OpenImageIO.
    env = {**os.environ, "SDG_BLENDER_RESOURCES": str(resources())}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'render.view_transform: got "AgX"' in proc.stderr  # the field and value named, as validate does
    assert "needs OpenImageIO" in proc.stderr and not out.exists()


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_a_view_transform_42_lacks_is_refused_with_the_views_it_has(tmp_path):
    """ACES 2.0 on 4.2 (a view 5.x has, 4.2 has not): refused with the views 4.2 has, as
    docs/parameters.md says. Was: 'needs OpenImageIO ... use Standard or Raw', the wheel's
    other lack, which hid that no 4.2 has the view (with OpenImageIO it fails the same)."""
    param = tmp_path / "aces.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [16, 12]\nsamples = 1\ndevice = "cpu"\n'
        'view_transform = "ACES 2.0"\n[[cameras]]\nname = "c"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n'
    )
    out = tmp_path / "out"
    cmd = [str(PYTHON42), "-m", "headless", "render", str(param), "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'render.view_transform: got "ACES 2.0"; expected a view transform this Blender offers' in proc.stderr
    assert "'Khronos PBR Neutral'" in proc.stderr and "OpenImageIO" not in proc.stderr, proc.stderr
    assert not out.exists()


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_what_validate_passes_and_render_refuses_on_42_is_listed_in_the_docs(tmp_path):
    """`validate --no-scene` (no Blender) passes a view transform 4.2 lacks, which `render`
    refuses, and `validate` (the scene built) refuses as render does: the docs' list of what
    needs the scene said nothing of it (nor of files a Blender cannot read)."""
    param = tmp_path / "aces.toml"
    param.write_text('[render]\nview_transform = "ACES 1.3"\n[[cameras]]\nname = "c"\nlocation = [0, -3, 1]\n')

    def validate(*more: str) -> subprocess.CompletedProcess:
        command = [str(PYTHON42), "-m", "headless", "validate", str(param), *more]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)

    proc = validate("--no-scene")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("--no-scene)"), proc.stderr
    proc = validate()
    assert proc.returncode == 2 and 'render.view_transform: got "ACES 1.3"' in proc.stderr, proc.stderr
    page = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    only_render = page.split("A few things can only be checked once the scene exists")[1].split("\n\n")[0]
    assert "`view_transform` or `look` it lacks" in only_render and "newer Blender" in only_render


MOVING_BOX = """
[run]
frames = 3
[render]
resolution = [32, 24]
samples = 2
device = "cpu"
[sequence]
clip_length = 3
fps = 2
[[cameras]]
name = "cam"
location = [0, -4, 1]
look_at = [0, 0, 0]
[[assets]]
name = "box"
primitive = "cube"
size = 0.5
labels = { class = "box" }
[[randomizers]]
type = "trajectory"
targets = "box"
velocity = [0.4, 0.0, 0.0]
[annotators]
distance_to_image_plane = {}
forward_flow = {}
backward_flow = {}
motion_vectors = {}
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_motion_vectors_on_42_with_more_than_one_sample(tmp_path):
    """With samples > 1 the vector pass comes from the 1-sample data layer; Cycles 4.2 with
    persistent data gave it wrong motion (each pixel moving towards the image's corner, the
    static ground too) unless the main layer has one as well (compat.VECTOR_PASS_ON_EVERY_LAYER).
    Cycles' vectors agree with the exact flow on every surface pixel: the box and the ground."""
    param = tmp_path / "moving.toml"
    param.write_text(MOVING_BOX)
    out = tmp_path / "out"
    cmd = [str(PYTHON42), "-m", "headless", "render", str(param), "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    clip = out / "clip_0000"
    vectors = np.load(clip / "motion_vectors_0001.npy")
    surface = np.isfinite(np.load(clip / "distance_to_image_plane_0001.npy"))
    assert surface.mean() > 0.3  # the box and the ground under it
    assert np.abs(vectors[..., 2:][surface] - np.load(clip / "forward_flow_0001.npy")[surface]).max() < 0.01
    assert np.abs(vectors[..., :2][surface] - np.load(clip / "backward_flow_0001.npy")[surface]).max() < 0.01
    assert np.abs(vectors[..., 2:][surface]).max() > 1  # the box moves


@pytest.mark.parametrize("python", [sys.executable, PYTHON42], ids=["this", "4.2"])
def test_bench_sink_stdout_is_the_figures_alone(tmp_path, python):
    """`bench_sink > figures.json` with stdout a pipe: the capture render's "done:" line and
    Blender's own log (4.2 prints a "Fra:1 Mem:..." line per object synchronized) go to
    stderr or nowhere (before: both came before the JSON)."""
    import json

    if not Path(python).is_file():
        pytest.skip("no .venv42 (bpy 4.2): scripts/test.sh makes it")
    pytest.importorskip("bpy")
    cmd = [str(python), "-m", "headless.bench_sink", "--frames", "1", "--loops", "1", "--resolution", "32x24"]
    proc = subprocess.run(cmd + ["--writers", "basic"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["frames"] == 1, proc.stdout[:500]
    assert "done: 1 frame(s) written" in proc.stderr


PLAIN_MATERIAL_MODEL = """
import sys, bpy, bmesh
bpy.ops.wm.read_factory_settings(use_empty=True)
me = bpy.data.meshes.new("crate")
bm = bmesh.new(); bmesh.ops.create_cube(bm, size=1.0); bm.to_mesh(me); bm.free()
bpy.context.scene.collection.objects.link(bpy.data.objects.new("crate", me))
mat = bpy.data.materials.new("plain")  # 4.2: use_nodes off, Blender renders its diffuse_color
assert not mat.use_nodes
me.materials.append(mat)
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[1])
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_a_42_material_without_nodes_says_it_keeps_its_look(tmp_path):
    """4.2's bpy.data.materials.new() makes a material without nodes: a model file's `color`
    left it as it was, without a word; the run names it (compat.uses_nodes)."""
    blend = tmp_path / "crate.blend"
    proc = subprocess.run([str(PYTHON42), "-c", PLAIN_MATERIAL_MODEL, str(blend)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    param = tmp_path / "crate.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [16, 12]\nsamples = 1\ndevice = "cpu"\n'
        '[[cameras]]\nname = "c"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n'
        '[[assets]]\nname = "crate"\nfile = "crate.blend"\ncolor = [0, 1, 0]\nlabels = { class = "crate" }\n'
    )
    cmd = [str(PYTHON42), "-m", "headless", "render", str(param), "--out", str(tmp_path / "out"), "--quiet"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "that show no colour, roughness or metallic" in proc.stderr and "crate: 'plain'" in proc.stderr


WHITE_BALANCE = """
import json
import bpy
from sdg_addon.capture.render import configure_cycles
from sdg_addon.config.schema import RenderSettings
from sdg_addon.scene.base import colour_differences
scene = bpy.context.scene
view = scene.view_settings
view.view_transform, view.look, view.exposure, view.gamma = "Standard", "None", 0.0, 1.0
has = hasattr(view, "use_white_balance")
if has:
    view.use_white_balance = True
render = RenderSettings()
notes, _ = colour_differences(scene, render)
configure_cycles(scene, render, {"rgb"})
print(json.dumps([has, notes, bool(getattr(view, "use_white_balance", False))]))
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_a_scenes_white_balance_is_named_and_left_out_where_blender_has_one():
    """Blender 4.3+ has a view white balance, 4.2 none (compat.white_balance_on): a base
    scene's is named as not reproduced and switched off for the run; on 4.2 nothing is said."""
    import json

    pytest.importorskip("bpy")
    for python, has in ((sys.executable, True), (str(PYTHON42), False)):
        proc = subprocess.run([python, "-c", WHITE_BALANCE], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        found, notes, still_on = json.loads(proc.stdout.strip().splitlines()[-1])
        assert found == has and notes == (["white balance (not reproduced)"] if has else []), notes
        assert not still_on


NIR = """
[run]
frames = 1
[render]
resolution = [32, 24]
samples = 1
device = "cpu"
[[cameras]]
name = "nir"
sensor = "nir"
location = [0.0, -1.5, 1.0]
look_at = [0.0, 0.0, 0.1]
illuminator_power = 200
{projector}
[[assets]]
name = "ball"
primitive = "sphere"
size = 0.4
labels = {{ class = "ball" }}
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_the_nir_projectors_dots_are_where_each_blenders_voronoi_puts_them(tmp_path):
    """docs/sensors.md: the dot pattern (a Voronoi texture) differs between 4.2 and 5.x,
    the NIR image without it does not."""
    pytest.importorskip("bpy")
    from PIL import Image

    assert "Blender 4.2 and 5.x\ncompute differently" in (ROOT / "docs" / "sensors.md").read_text(encoding="utf-8")
    images = {}
    for projector in ("", 'projector = "dots"'):
        param = tmp_path / f"nir{len(projector)}.toml"
        param.write_text(NIR.format(projector=projector))
        for python in (sys.executable, str(PYTHON42)):
            out = tmp_path / f"out{len(projector)}_{python == sys.executable}"
            cmd = [python, "-m", "headless", "render", str(param), "--out", str(out), "--quiet"]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr[-2000:]
            with Image.open(out / "nir_0000.png") as im:
                images[projector, python] = np.asarray(im).astype(int)
    plain = [v for (p, _), v in images.items() if not p]
    dots = [v for (p, _), v in images.items() if p]
    assert np.array_equal(*plain)
    assert np.abs(dots[0] - dots[1]).max() > 100


CURVE_SCENE = """
import json
import sys
import bpy
bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
scene = bpy.context.scene
cu = bpy.data.curves.new("rail", "CURVE")
cu.dimensions, cu.bevel_depth = "3D", 0.15
spline = cu.splines.new("BEZIER")
spline.bezier_points.add(1)
for p, co, left, right in zip(
    spline.bezier_points, ((-0.6, -0.3, 0), (0.6, 0.3, 0)), ((-0.8, -0.6, 0), (0.4, -0.2, 0)), ((-0.4, 0.2, 0), (0.8, 0.6, 0))
):
    p.co, p.handle_left, p.handle_right = co, left, right
rail = bpy.data.objects.new("rail", cu)
scene.collection.objects.link(rail)
rail["semantics"] = {"class": ["rail"]}
cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
scene.collection.objects.link(cam)
cam.location = (0, 0, 5)
scene.camera = cam
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[1])
mesh = rail.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
print(json.dumps([min(v.co[i] for v in mesh.vertices) for i in range(3)] + [max(v.co[i] for v in mesh.vertices) for i in range(3)]))
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_the_3d_box_of_a_curve_is_its_geometrys_on_42_and_5x(tmp_path):
    """A bevelled curve of a base .blend: its 3D box bounds the surface Cycles renders on
    both Blenders (4.2's bound_box of a curve of an appended scene was not its geometry's:
    a curve 1.5 x 0.7 x 0.3 m had a box of 3.2 x 2.6 x 2 m)."""
    blend = tmp_path / "rail.blend"
    proc = subprocess.run([str(PYTHON42), "-c", CURVE_SCENE, str(blend)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    extent = np.array(json.loads(proc.stdout.strip().splitlines()[-1]))
    param = tmp_path / "rail.toml"
    param.write_text(
        '[run]\nframes = 1\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        '[scene]\nblend = "rail.blend"\n[annotators]\nbounding_box_3d = {}\n[writers]\nbasic = {}\n'
    )
    for python in (PYTHON42, sys.executable):
        out = tmp_path / f"out_{Path(python).parent.parent.name}"
        cmd = [str(python), "-m", "headless", "render", str(param), "--out", str(out), "--quiet"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        (row,) = np.load(out / "bounding_box_3d_0000.npy")
        box = [row[f] for f in ("x_min", "y_min", "z_min", "x_max", "y_max", "z_max")]
        assert np.allclose(box, extent, atol=1e-5), (python, box, extent)


WORLD_BLEND = """
import sys
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
scene.collection.objects.link(cam)
scene.camera = cam
world = bpy.data.worlds.new("Flat")  # a script's world: no node tree, nodes off (4.2)
world.color = (0.2, 0.4, 0.1)
if sys.argv[-1] == "tree":  # a tree the user switched off: it renders the flat colour
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (1, 0, 1, 1)
    world.use_nodes = False
scene.world = world
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-2])
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
@pytest.mark.parametrize("kind", ["none", "tree"])
def test_a_world_with_nodes_off_takes_world_randomizers_on_42_as_on_5x(tmp_path, kind):
    """A .blend's world with nodes off (made by a script in 4.2: no node tree) is given a
    Background node of its colour by 5.x when it reads the file; 4.2 refused world_property
    ('World.node_tree has no property nodes') and the world randomizer on the same file.
    Both now run it and render the same world."""
    pytest.importorskip("bpy")
    blend = tmp_path / "flat.blend"
    proc = subprocess.run(
        [str(PYTHON42), "-c", WORLD_BLEND, str(blend), kind], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    head = f'[run]\nframes = 1\n[render]\nresolution = [16, 12]\nsamples = 1\ndevice = "cpu"\n[scene]\nblend = "{blend.as_posix()}"\n'
    node = "Background.001" if kind == "tree" else "Background"  # 5.x leaves the old nodes, unused
    files = {
        "plain": head,
        "strength": head + '[[randomizers]]\ntype = "world_property"\n'
        f'path = \'node_tree.nodes["{node}"].inputs["Strength"].default_value\'\nvalue = 0.5\n',
        "colour": head + '[[randomizers]]\ntype = "world"\ncolor = [0.9, 0.1, 0.1]\n',
    }
    pixels = {}
    for name, text in files.items():
        (tmp_path / f"{name}.toml").write_text(text + "[annotators]\nrgb = {}\n")
        for python in (sys.executable, str(PYTHON42)):
            out = tmp_path / f"{name}_{Path(python).parent.parent.name}"
            cmd = [python, "-m", "headless", "render", str(tmp_path / f"{name}.toml"), "--out", str(out), "--quiet"]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, (name, python, proc.stderr[-2000:])
            pixels.setdefault(name, []).append(np.asarray(Image.open(out / "rgb_0000.png"))[..., :3].astype(int))
    for name, (new, old) in pixels.items():
        assert np.abs(new - old).max() <= 1, name
    plain, strength, colour = (pixels[n][0].mean(axis=(0, 1)) for n in ("plain", "strength", "colour"))
    assert plain[1] > plain[0] > plain[2]  # the world's own colour (0.2, 0.4, 0.1), not the tree's magenta
    assert (strength < plain - 10).all() and colour[0] > 200 > colour[1] + 100


OPEN_SCENE_WORLD = """
import sys
from pathlib import Path
import bpy
from sdg_addon.config.schema import config_from_dict
from sdg_addon.recorder import Recorder, RunOptions
blend, out = sys.argv[-2:]
bpy.ops.wm.open_mainfile(filepath=blend)
param = Path(out).parent / (Path(out).name + ".toml")
param.write_text("")
data = {"run": {"frames": 1}, "render": {"resolution": [16, 12], "samples": 1, "device": "cpu"},
        "randomizers": [{"type": "world", "color": [0.9, 0.1, 0.1]}], "annotators": {"rgb": {}}}
config = config_from_dict(data, param, open_scene=True)
Path(out).mkdir()
Recorder(config, RunOptions(Path(out), range(1), worker_processes=False), open_scene=bpy.context.scene).run()
"""


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
@pytest.mark.parametrize("kind", ["none", "tree"])
def test_the_open_scenes_world_with_nodes_off_takes_world_randomizers_on_42_as_on_5x(tmp_path, kind):
    """Recording the scene open in Blender (the extension's Start Recording) with a world
    randomizer, its world's nodes off: 4.2 refused it ('the scene's world has no Background
    node', naming the Background of a tree switched off), where 5.x and a headless run of the
    same file as [scene] blend record it. The open scene's world is made as 5.x makes it too."""
    pytest.importorskip("bpy")
    blend = tmp_path / "flat.blend"
    proc = subprocess.run(
        [str(PYTHON42), "-c", WORLD_BLEND, str(blend), kind], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    pixels = []
    for python in (sys.executable, str(PYTHON42)):
        out = tmp_path / f"out_{Path(python).parent.parent.name}"
        cmd = [python, "-c", OPEN_SCENE_WORLD, str(blend), str(out)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (python, proc.stderr[-2000:])
        pixels.append(np.asarray(Image.open(out / "rgb_0000.png"))[..., :3].astype(int))
    new, old = pixels
    assert np.abs(new - old).max() <= 1
    assert old.mean(axis=(0, 1))[0] > 200 > old.mean(axis=(0, 1))[1] + 100  # the randomizer's red


@pytest.mark.skipif(not PYTHON42.is_file(), reason="no .venv42 (bpy 4.2): scripts/test.sh makes it")
def test_material_swap_draws_from_the_same_materials_on_42_and_5x(tmp_path):
    """4.2's session holds its startup file's grease pencil material 'Dots Stroke': it was
    among the scene's materials there (materials = "*" drew it, so the picks differed from
    5.x's, and the refusal of an unknown name listed it). Grease pencil materials, which
    shade no surface, are left out on both."""
    head = (
        '[run]\nseed = 1\nframes = 4\n[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        '[[cameras]]\nname = "c"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n'
        '[[assets]]\nname = "b"\nprimitive = "sphere"\nlabels = { class = "b" }\n'
        '[[randomizers]]\ntype = "material_swap"\ntargets = "b"\n'
    )
    (tmp_path / "glob.toml").write_text(head + 'materials = "*"\n[annotators]\nrgb = {}\n')
    (tmp_path / "nope.toml").write_text(head + 'material = "Nope"\n[annotators]\nrgb = {}\n')
    picks, refusals = [], []
    for python in (sys.executable, str(PYTHON42)):
        out = tmp_path / f"out_{Path(python).parent.parent.name}"
        cmd = [python, "-m", "headless", "render", str(tmp_path / "glob.toml"), "--out", str(out), "--quiet"]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        lines = (out / "audit" / "frames.jsonl").read_text().splitlines()
        picks.append([json.dumps(json.loads(line)["samples"], sort_keys=True) for line in lines])
        cmd = [python, "-m", "headless", "validate", str(tmp_path / "nope.toml")]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2
        refusals.append(proc.stderr)
    assert picks[0] == picks[1]
    assert refusals[0] == refusals[1] and "(its materials: ['sdg_b', 'sdg_ground'])" in refusals[0], refusals


# Blender API names that one of 4.2 and 5.x lacks (or where they differ): the add-on reads them
# in sdg_addon/compat.py alone, so every version difference is in one place.
VERSIONED_NAMES = (
    "bpy.app.version >",
    "bpy.app.version <",
    "compositing_node_group",
    "strips_all",
    "sequences_all",
    "channelbags",
    "media_type",
    "use_white_balance",
    "use_temperature",
    "dust_density",
    "aerosol_density",
    "PATH_SUPPORTS_BLEND_RELATIVE",
    "IndexOB",
    "GPENCIL",
    "use_grease_pencil",
    "use_adaptive_subdivision",
)


def test_the_blender_version_differences_live_in_compat():
    found = {}
    for path in sorted([*(ROOT / "sdg_addon").rglob("*.py"), *(ROOT / "headless").rglob("*.py")]):
        if path.name != "compat.py":
            text = path.read_text(encoding="utf-8")
            if names := [name for name in VERSIONED_NAMES if name in text]:
                found[path.relative_to(ROOT).as_posix()] = names
    assert not found, found
