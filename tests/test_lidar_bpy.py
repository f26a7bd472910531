"""LiDAR end to end: exact ranges of a wall at a known distance, noise within bounds, every
point's instance id is the object it hit, mounting on a camera (tiny CPU runs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy")

from scenes import NO_GROUND, camera, header, render, sun, write_param  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

WALL_X = 10.0
SCENE = (  # a template: str.format fills frames, wall and noise
    header((24, 18), samples=1, seed=4, frames="{frames}")
    + """
[sequence]
clip_length = {frames}
"""
    + NO_GROUND
    + camera((0.0, -4.0, 0.5), (0.0, 0.0, 0.5))
    + sun()
    + """
[[assets]]
name = "wall"
primitive = "plane"
size = 40
location = [{wall}, 0.0, 0.0]
rotation = [0, 90, 0]
labels = {{ class = "wall" }}

[[assets]]
name = "box"
primitive = "cube"
size = 1.0
labels = {{ class = "box" }}

[[lidars]]
name = "top"
preset = "spinning_16"
columns = 720
location = [0.0, -4.0, 0.0]
range_noise = {noise}

[[lidars]]
name = "front"
preset = "solid_state"
channels = 9
columns = 15
horizontal_fov = 12
fov_down = -5
fov_up = 5
mount = "cam"

[[lidars]]
name = "onbox"
preset = "spinning_16"
columns = 90
mount = "box"
location = [0.0, 0.0, 1.5]
rotation = [0.0, 0.0, 90.0]

[annotators]
instance_segmentation = {{}}
camera_params = {{}}
rgb = {{}}

[writers]
basic = {{ colorize_instance_segmentation = false }}
kitti_velodyne = {{}}
pcd = {{}}
"""
)


def run(tmp_path: Path, name: str, noise=0.0, frames=1) -> Path:
    param = write_param(tmp_path, SCENE.format(wall=WALL_X, noise=noise, frames=frames), f"{name}.toml")
    out = tmp_path / name
    assert render(param, out) == 0
    return out


def lidar(out: Path, sensor: str, key: str = "", frame: int = 0, clip: bool = False):
    base = out / "clip_0000" if clip else out
    suffix = f"_{key}" if key else ""
    return np.load(base / sensor / "lidar" / f"lidar{suffix}_{frame:04d}.npy")


def ids_by_name(out: Path) -> dict[str, int]:
    for mapping in sorted(out.rglob("instance_segmentation_mapping_*.json")):
        return {path.rsplit("/", 1)[-1]: int(i) for i, path in json.loads(mapping.read_text()).items() if i != "0"}
    raise AssertionError("no instance mapping")


def on_box_surface(w: np.ndarray, eps=1e-4) -> np.ndarray:
    """Points on the surface of the box (a primitive stands on its origin: z 0 .. 1)."""
    c = w - np.array([0.0, 0.0, 0.5])
    m = np.abs(c).max(axis=1)
    return np.abs(m - 0.5) < eps


def world(out: Path, sensor: str, points: np.ndarray, clip=False) -> np.ndarray:
    base = out / "clip_0000" if clip else out
    pose = np.array(json.loads((base / sensor / "lidar" / "lidar_info_0000.json").read_text())["sensor_to_world"])
    return points @ pose[:3, :3].T + pose[:3, 3]


@pytest.fixture(scope="module")
def exact(tmp_path_factory):
    return run(tmp_path_factory.mktemp("lidar"), "exact", frames=2)


def test_wall_returns_have_exact_range_and_hit_ids(exact):
    ids = ids_by_name(exact)
    pts = lidar(exact, "top", clip=True)
    rng, inst = lidar(exact, "top", "range", clip=True), lidar(exact, "top", "instance", clip=True)
    assert np.allclose(np.linalg.norm(pts[:, :3], axis=1), rng, atol=1e-4)
    w = world(exact, "top", pts[:, :3], clip=True)
    on_wall = np.abs(w[:, 0] - WALL_X) < 1e-4
    on_box = on_box_surface(w)
    assert on_wall.sum() > 300 and on_box.sum() > 5
    assert (on_wall | on_box).all()  # nothing else is there
    assert (inst[on_wall] == ids["wall"]).all() and (inst[on_box] == ids["box"]).all()
    # range of a wall return = distance along its ray to the plane x = 10 (sensor at x = 0)
    d = pts[on_wall, :3] / rng[on_wall, None]
    assert np.allclose(rng[on_wall], WALL_X / d[:, 0], atol=1e-4)
    # intensity: reflectance (default grey 0.8 luminance) x |cos| of the incidence angle
    assert np.allclose(pts[on_wall, 3], 0.8 * d[:, 0], atol=1e-3)
    sem = lidar(exact, "top", "semantic", clip=True)
    labels = json.loads((exact / "audit" / "label_table.json").read_text())["class"]
    assert (sem[on_wall] == 2 + labels.index("wall")).all() and (sem[on_box] == 2 + labels.index("box")).all()
    # the same object has the same id in every frame of the clip
    assert np.array_equal(lidar(exact, "top", "instance", frame=1, clip=True), inst)


def test_lidar_on_a_camera_looks_where_the_camera_looks(exact):
    ids = ids_by_name(exact)
    pts = lidar(exact, "front", clip=True)
    inst = lidar(exact, "front", "instance", clip=True)
    assert len(pts) == 9 * 15 and (inst == ids["box"]).all()  # straight ahead, 3.5 m away
    w = world(exact, "front", pts[:, :3], clip=True)
    assert np.allclose(w[:, 1], -0.5, atol=1e-4) and on_box_surface(w).all()  # its face towards the camera
    assert (pts[:, 0] > 3.4).all() and np.allclose(pts[:, 0], 3.5, atol=1e-4)  # x forward in the sensor frame


def test_preview_puts_the_camera_mounted_lidars_points_on_the_box_they_hit(exact):
    """preview's LiDAR tile: every point of the camera-mounted sensor (all on the box's face
    towards the camera) projects with camera_params onto a pixel the instance mask gives the box."""
    from PIL import Image

    from sdg_addon import visualize as viz

    ff = viz.frame_files(exact / "clip_0000", 0)[0]
    scans = {s.sensor: s for s in viz.load_lidar_scans(ff)}
    assert sorted(scans) == ["front", "onbox", "top"]
    front = scans["front"]
    assert np.allclose(front.world, world(exact, "front", lidar(exact, "front", clip=True)[:, :3], clip=True))
    px = viz.project_to_pixels(ff.json("camera_params"), front.world)
    ids = np.asarray(Image.open(ff.path("instance_segmentation", "png")))
    cols, rows = np.floor(px).astype(int).T
    assert (ids[rows, cols] == ids_by_name(exact)["box"]).all()
    image, caption = viz.lidar_image(ff, list(scans.values()))
    assert image.size == (ids.shape[1], ids.shape[0])
    total = sum(len(s.world) for s in scans.values())
    assert caption.startswith("LiDAR top, front, onbox: ") or caption.startswith("LiDAR front, onbox, top: ")
    assert caption.endswith(f" of {total} points in view")
    assert int(caption.split(": ")[1].split(" of ")[0]) >= len(front.world)


def test_lidar_on_an_object_rides_with_it(exact):
    base = exact / "clip_0000" / "onbox" / "lidar"
    pose = np.array(json.loads((base / "lidar_info_0000.json").read_text())["sensor_to_world"])
    expected = np.eye(4)
    expected[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]  # turned 90 degrees about z
    expected[:3, 3] = [0.0, 0.0, 1.5]  # the box stands at the origin
    assert np.allclose(pose, expected, atol=1e-6)
    pts = lidar(exact, "onbox", clip=True)
    w = pts[:, :3] @ pose[:3, :3].T + pose[:3, 3]
    assert len(w) > 20 and np.allclose(w[:, 0], WALL_X, atol=1e-4)  # only the wall is in reach
    assert (pts[:, 1] < 0).all()  # the wall (world +x) is on the sensor's right (-y) after the turn


def test_writers_of_a_clip(exact):
    bins = sorted((exact / "kitti_velodyne" / "top" / "sequences" / "00" / "velodyne").glob("*.bin"))
    assert [b.name for b in bins] == ["000000.bin", "000001.bin"]
    scan = np.fromfile(bins[0], dtype=np.float32).reshape(-1, 4)
    assert np.array_equal(scan, lidar(exact, "top", clip=True))
    assert (exact / "pcd" / "front" / "clip_0000" / "000001.pcd").is_file()


def test_range_noise_stays_within_its_bounds(tmp_path):
    out = run(tmp_path, "noisy", noise=0.03)
    pts = lidar(out, "top")
    rng = lidar(out, "top", "range")
    d = pts[:, :3] / rng[:, None]
    inst = lidar(out, "top", "instance")
    wall = inst == ids_by_name(out)["wall"]
    err = rng[wall] - WALL_X / d[wall, 0]
    assert np.abs(err).max() < 5 * 0.03 and 0.02 < err.std() < 0.04


def test_benchmark_command_prints_both_times(tmp_path):
    from headless.bench_lidar import main as bench

    out = tmp_path / "bench.json"
    assert (
        bench(["--resolution", "32x24", "--samples", "1", "--channels", "8", "--columns", "64", "--json", str(out)])
        == 0
    )
    # stdout is the figures' JSON alone (Blender's render lines, "Saved: ...", were on it
    # too); a process of its own: a test's capture of stdout turns the silencing off.
    cmd = [sys.executable, "-m", "headless.bench_lidar", "--resolution", "32x24", "--samples", "1"]
    done = subprocess.run([*cmd, "--channels", "4", "--columns", "8"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout)["rays"] == 32, done.stdout[-2000:] + done.stderr[-2000:]
    # A device in another case is the same device (as render --device takes it); an unknown one exits 2.
    assert (
        bench(["--device", "CPU", "--resolution", "32x24", "--samples", "1", "--channels", "4", "--columns", "8"]) == 0
    )
    for bad in (["--device", "gpux"], ["--resolution", "64by48"]):  # (the latter: a traceback before)
        with pytest.raises(SystemExit) as e:
            bench(bad)
        assert e.value.code == 2
    figures = json.loads(out.read_text())
    assert figures["objects"] == 31 and figures["rays"] == 8 * 64  # 30 objects and the ground
    assert figures["lidar_scan_s"] > 0 and figures["render_s"] > 0 and figures["returns"] > 0


def test_lidar_rides_on_the_base_blends_camera_and_objects(tmp_path):
    """[scene] blend: a LiDAR mounts on the .blend's own camera or object (their names are
    known once its scene is built); a mount it lacks is refused before anything is written."""
    from blend_scene import make_shop_blend

    blend = tmp_path / "shop.blend"
    matrices = make_shop_blend(blend)
    text = (
        header((24, 18), samples=1, seed=4, frames=1)
        + f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
        + '[[lidars]]\nname = "front"\npreset = "solid_state"\nchannels = 5\ncolumns = 7\nmount = "CamA"\n'
        + '[[lidars]]\nname = "roof"\npreset = "spinning_16"\ncolumns = 90\nmount = "crate"\nlocation = [0, 0, 2]\nfov_down = -60\n'
        + "[annotators]\ninstance_segmentation = {}\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text, "shop.toml"), out) == 0
    axes = np.eye(4)
    axes[:3, :3] = [[0, -1, 0], [0, 0, 1], [-1, 0, 0]]  # columns: sensor x = camera -Z, y = -X, z = +Y
    for name, mount, offset in (("front", "CamA", axes), ("roof", "crate", np.eye(4))):
        pose = np.array(json.loads((out / name / "lidar" / "lidar_info_0000.json").read_text())["sensor_to_world"])
        if name == "roof":
            offset = np.eye(4)
            offset[2, 3] = 2.0
        assert np.allclose(pose, np.array(matrices[mount]) @ offset, atol=1e-5), name
        assert len(lidar(out, name)) > 0
    bad = write_param(tmp_path, text.replace('mount = "crate"', 'mount = "crates"'), "bad.toml")
    assert render(bad, tmp_path / "bad") == 2
    assert not (tmp_path / "bad").exists()


def _wall_blend(clean_bpy, path: Path, owner: str, value) -> Path:
    """A .blend holding one 2 m cube `wall` with `sdg_reflectance = value` on the object or
    on its material `paint`."""
    clean_bpy.ops.mesh.primitive_cube_add(size=2.0, location=(WALL_X, 0.0, 1.0))
    wall = clean_bpy.context.object
    wall.name = "wall"
    paint = clean_bpy.data.materials.new("paint")
    wall.data.materials.append(paint)
    (wall if owner == "object" else paint)["sdg_reflectance"] = value
    clean_bpy.ops.wm.save_as_mainfile(filepath=str(path))
    return path


@pytest.mark.parametrize("owner", ["object", "material"])
@pytest.mark.parametrize("value", ["shiny", 2.0, -0.5])
@pytest.mark.parametrize("how", ["asset", "base"])
def test_a_reflectance_property_out_of_its_range_is_refused(clean_bpy, tmp_path, capsys, owner, value, how):
    """sdg_reflectance (a LiDAR's intensity) on an object or material of a model file or a
    base scene is a number 0 .. 1, checked as sdg_emissivity is: else exit 2 naming the
    file, the object or material and the value, nothing written (was: 'shiny' failed with
    'could not convert string to float' after the audit folder was written, 2.0 and -0.5
    gave intensities clipped without a word)."""
    blend = _wall_blend(clean_bpy, tmp_path / "wall.blend", owner, value)
    where = f'[scene]\nblend = "{blend.as_posix()}"\n' if how == "base" else ""
    model = (
        "" if how == "base" else f'[[assets]]\nname = "w"\nfile = "{blend.as_posix()}"\nlabels = {{ class = "w" }}\n'
    )
    text = (
        header((16, 12), samples=1)
        + where
        + camera((0.0, -4.0, 0.5), (0.0, 0.0, 0.5))
        + model
        + '[[lidars]]\nname = "top"\npreset = "spinning_16"\ncolumns = 90\n'
        + "[annotators]\nlidar = {}\n[writers]\nbasic = {}\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 2
    said = capsys.readouterr().err
    name = "wall" if owner == "object" else "paint"
    assert f"{'assets[0].file' if how == 'asset' else 'scene.blend'}: got " in said
    assert f"{owner} {name!r} has sdg_reflectance = {value!r} (expected a number 0 .. 1)" in said
    assert not out.exists()


def test_a_reflectance_property_in_range_sets_the_intensity(clean_bpy, tmp_path):
    """sdg_reflectance = 0.25 on the material of a model file's wall: intensity 0.25 x cos."""
    blend = _wall_blend(clean_bpy, tmp_path / "wall.blend", "material", 0.25)
    text = (
        header((16, 12), samples=1)
        + NO_GROUND
        + camera((0.0, -4.0, 0.5), (0.0, 0.0, 0.5))
        + f'[[assets]]\nname = "w"\nfile = "{blend.as_posix()}"\nlabels = {{ class = "w" }}\n'
        + '[[lidars]]\nname = "top"\npreset = "spinning_16"\ncolumns = 90\nlocation = [0, 0, 1]\n'
        + "[annotators]\nlidar = {}\n[writers]\nbasic = {}\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    pts = lidar(out, "top")
    assert len(pts) > 10 and np.allclose(pts[:, 0], WALL_X - 1.0, atol=1e-4)  # the wall's near face
    d = pts[:, :3] / np.linalg.norm(pts[:, :3], axis=1, keepdims=True)
    assert np.allclose(pts[:, 3], 0.25 * d[:, 0], atol=1e-4)


def test_rays_pass_through_a_volume_as_the_masks_do(clean_bpy, tmp_path):
    """A fog box (a cube whose only material is a Principled Volume, density 5) between the
    sensor and a wall: no return on the box, the wall behind it returns, as the camera's
    mask shows the wall there (was: every ray stopped on the box's faces 4 m away, a solid
    wall of points labelled smoke)."""
    from sdg_addon.compat import enable_nodes

    bpy = clean_bpy
    bpy.ops.mesh.primitive_cube_add(size=2.0, location=(WALL_X, 0.0, 1.0))
    bpy.context.object.name = "wall"
    bpy.ops.mesh.primitive_cube_add(size=2.0, location=(5.0, 0.0, 1.0))
    smoke = bpy.context.object
    smoke.name = "smoke"
    fog = bpy.data.materials.new("fog")
    enable_nodes(fog)
    nodes = fog.node_tree.nodes
    nodes.clear()
    volume = nodes.new("ShaderNodeVolumePrincipled")
    volume.inputs["Density"].default_value = 5.0
    fog.node_tree.links.new(volume.outputs[0], nodes.new("ShaderNodeOutputMaterial").inputs["Volume"])
    smoke.data.materials.append(fog)
    for o in (bpy.data.objects["wall"], smoke):
        o["semantics"] = f"class:{o.name}"
    blend = tmp_path / "fog.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    text = (
        header((16, 12), samples=1)
        + f'[scene]\nblend = "{blend.as_posix()}"\n'
        + camera((0.0, 0.0, 1.0), (WALL_X, 0.0, 1.0), focal_length=200)  # the wall fills the image
        + '[[lidars]]\nname = "front"\npreset = "solid_state"\nchannels = 5\ncolumns = 7\n'
        + "horizontal_fov = 8\nfov_down = -4\nfov_up = 4\nlocation = [0, 0, 1]\n"
        + "[annotators]\nlidar = {}\ninstance_segmentation = {}\n"
        + "[writers]\nbasic = { colorize_instance_segmentation = false }\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    wall = ids_by_name(out)["wall"]
    mask = np.asarray(Image.open(out / "cam" / "instance_segmentation" / "instance_segmentation_0000.png"))
    assert (mask == wall).all()  # the camera sees the wall through the fog
    pts, inst = lidar(out, "front"), lidar(out, "front", "instance")
    assert len(pts) == 5 * 7 and (inst == wall).all()
    assert np.allclose(pts[:, 0], WALL_X - 1.0, atol=1e-4)  # the wall's near face, not the fog box's at 4 m


def test_each_material_of_an_object_has_its_own_reflectance(clean_bpy, tmp_path):
    """A wall with two material slots, sdg_reflectance 0.1 on its -y half and 0.9 on its +y
    half (the active slot is the 0.1 one): each return's intensity is its own half's
    reflectance x cos (was: 0.1 everywhere, the active material's)."""
    bpy = clean_bpy
    bpy.ops.mesh.primitive_plane_add(size=4.0, location=(WALL_X, 0.0, 1.0), rotation=(0.0, np.pi / 2, 0.0))
    wall = bpy.context.object
    wall.name = "wall"
    wall["semantics"] = "class:wall"
    bpy.ops.object.mode_set(mode="EDIT")
    bpy.ops.mesh.subdivide(number_cuts=1)
    bpy.ops.object.mode_set(mode="OBJECT")
    for name, value in (("dark", 0.1), ("bright", 0.9)):
        mat = bpy.data.materials.new(name)
        mat["sdg_reflectance"] = value
        wall.data.materials.append(mat)
    for face in wall.data.polygons:
        face.material_index = 1 if face.center.y > 0 else 0
    wall.active_material_index = 0
    blend = tmp_path / "wall.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    text = (
        header((16, 12), samples=1)
        + f'[scene]\nblend = "{blend.as_posix()}"\n'
        + camera((0.0, 0.0, 1.0), (WALL_X, 0.0, 1.0))
        + '[[lidars]]\nname = "front"\npreset = "solid_state"\nchannels = 3\ncolumns = 8\n'
        + "horizontal_fov = 16\nfov_down = -2\nfov_up = 2\nlocation = [0, 0, 1]\n"
        + "[annotators]\nlidar = {}\n[writers]\nbasic = {}\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    pts = lidar(out, "front")
    assert len(pts) == 3 * 8 and np.allclose(pts[:, 0], WALL_X, atol=1e-4)
    cos = pts[:, 0] / np.linalg.norm(pts[:, :3], axis=1)
    expected = np.where(pts[:, 1] > 0, 0.9, 0.1) * cos  # world +y = sensor +y (left)
    assert np.allclose(pts[:, 3], expected, atol=1e-5)


def test_a_model_files_colour_drawn_per_object_sets_its_reflectance(clean_bpy, tmp_path):
    """Two copies of a model file's wall (grey 0.2 in the file): the material randomizer
    draws red for wall_000, wall_001 keeps the file's grey. Their reflectances are the
    luminance of the colour each shows: 0.2126 and 0.2 (was: 0.5 for both, as for a texture,
    since the file's Base Color is driven through a mix node)."""
    from sdg_addon.compat import enable_nodes

    bpy = clean_bpy
    bpy.ops.mesh.primitive_cube_add(size=2.0, location=(0.0, 0.0, 1.0))
    paint = bpy.data.materials.new("paint")
    enable_nodes(paint)
    principled = next(n for n in paint.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    principled.inputs["Base Color"].default_value = (0.2, 0.2, 0.2, 1.0)
    bpy.context.object.data.materials.append(paint)
    blend = tmp_path / "wall.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    text = (
        header((16, 12), samples=1)
        + NO_GROUND
        + camera((0.0, 0.0, 1.0), (WALL_X, 0.0, 1.0))
        + f'[[assets]]\nname = "wall"\nfile = "{blend.as_posix()}"\ncount = 2\nlabels = {{ class = "wall" }}\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = "wall_000"\nlocation = [10, 1.5, 0]\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = "wall_001"\nlocation = [10, -1.5, 0]\n'
        + '[[randomizers]]\ntype = "material"\ntargets = "wall_000"\ncolor = [1.0, 0.0, 0.0]\n'
        + '[[lidars]]\nname = "front"\npreset = "solid_state"\nchannels = 3\ncolumns = 12\n'
        + "horizontal_fov = 30\nfov_down = -2\nfov_up = 2\nlocation = [0, 0, 1]\n"
        + "[annotators]\nlidar = {}\ninstance_segmentation = {}\n[writers]\nbasic = {}\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    pts = lidar(out, "front")
    assert np.allclose(pts[:, 0], WALL_X - 1.0, atol=1e-4)  # the walls' near faces
    cos = pts[:, 0] / np.linalg.norm(pts[:, :3], axis=1)
    left, right = pts[:, 1] > 0.5, pts[:, 1] < -0.5  # wall_000 at +y (left), wall_001 at -y
    assert left.sum() >= 6 and right.sum() >= 6 and (left | right).all()
    assert np.allclose(pts[left, 3], 0.2126 * cos[left], atol=1e-5)
    assert np.allclose(pts[right, 3], 0.2 * cos[right], atol=1e-5)


def test_a_camera_only_writer_of_one_camera_and_a_lidar_keeps_its_one_camera_layout(tmp_path):
    """A LiDAR is a sensor of its own for the writers that write LiDAR frames (basic: a
    folder per sensor), not for the camera-only ones: with one camera and one LiDAR, COCO
    and YOLO keep the layout of a one-camera run (was: named after the camera,
    instances_train_cam.json and cam_000000.png, as with several cameras)."""
    text = (
        header((16, 12), samples=1)
        + NO_GROUND
        + camera((0.0, -4.0, 0.5), (0.0, 0.0, 0.5))
        + sun()
        + '[[assets]]\nname = "box"\nprimitive = "cube"\nsize = 1.0\nlabels = { class = "box" }\n'
        + '[[lidars]]\nname = "top"\npreset = "spinning_16"\ncolumns = 90\nlocation = [0.0, -4.0, 0.0]\n'
        + "[annotators]\nlidar = {}\n[writers.basic]\n[writers.coco]\n[writers.yolo]\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    assert (out / "cam" / "rgb" / "rgb_0000.png").is_file()  # basic: a folder per sensor
    assert (out / "top" / "lidar" / "lidar_0000.npy").is_file()
    assert sorted(p.name for p in (out / "coco" / "annotations").iterdir()) == ["instances_train.json"]
    assert (out / "coco" / "train" / "000000.png").is_file()
    assert [p.name for p in (out / "yolo" / "images" / "train").iterdir()] == ["000000.png"]


def test_a_location_on_a_camera_mount_is_along_the_sensors_axes():
    """A LiDAR's location on a camera offsets it along the sensor's axes (x forward = camera
    -Z, y left = camera -X, z up = camera +Y), not the camera's own (x right, y up, z back,
    which a rigged camera's location uses): the field said only 'the mount's frame', so
    [0, 0, 0.2] read as 20 cm behind the camera. The field's doc now says which axes, and
    this is what the sensor's pose does."""
    from mathutils import Matrix

    from sdg_addon.capture.lidar import LidarCaster
    from sdg_addon.config.schema import LIDAR_FIELDS

    class Spec:
        mount, location, rotation = "cam", [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]

    class Camera:
        matrix_world = Matrix.Identity(4)  # looks down -Z, +Y up, +X right

    caster = LidarCaster.__new__(LidarCaster)
    caster.built = type("Built", (), {"cameras": {"cam": Camera()}})()
    pose = caster.sensor_to_world(Spec())
    assert np.allclose(pose[:3, 3], [-2.0, 3.0, -1.0])  # 1 forward, 2 left, 3 up in the camera's axes
    (field,) = [f for f in LIDAR_FIELDS if f.name == "location"]
    assert "on a camera x forward (camera −Z), y left (camera −X), z up (camera +Y)" in field.doc, field.doc
    assert "[0, 0, 0.2] is 20 cm above it" in field.doc


def test_a_base_colours_reflectance_is_its_luminance_in_the_working_space(clean_bpy):
    """Blender 5.0 keeps a .blend's working colour space (ACEScg, Linear Rec.2020): the
    intensity's reflectance from a base colour is its luminance there (Blender's Y of the
    colour), not Rec.709's weights on its numbers (ACEScg blue (0, 0, 1): 0.058, was 0.0722)."""
    import mathutils

    from sdg_addon.capture.lidar import reflectance

    bpy = clean_bpy
    if not hasattr(bpy.data, "colorspace"):
        pytest.skip("Blender 4.2 renders in Linear Rec.709 only")
    bpy.ops.mesh.primitive_plane_add()
    plane = bpy.context.object
    mat = bpy.data.materials.new("paint")
    mat.diffuse_color = (0.1, 0.2, 0.9, 1.0)  # without nodes, base_colour is the diffuse colour
    for node in mat.node_tree.nodes if mat.node_tree else ():
        if node.type == "BSDF_PRINCIPLED":
            node.inputs["Base Color"].default_value = (0.1, 0.2, 0.9, 1.0)
    plane.data.materials.append(mat)
    for space in ("Linear Rec.709", "ACEScg", "Linear Rec.2020"):
        bpy.ops.wm.set_working_color_space(working_space=space, convert_colors=False)
        theirs = mathutils.Color((0.1, 0.2, 0.9)).from_scene_linear_to_xyz_d65()[1]
        assert reflectance(plane) == pytest.approx(theirs, abs=1e-4), space
