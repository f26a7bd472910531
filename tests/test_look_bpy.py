"""Appearance and sensor randomizers in Blender: tiny renders (64x48, 2 samples).

One run with every randomizer of the appearance and sensor families on (procedural and
image textures, HDRI world, light type / size / temperature, lens, depth of field,
exposure, white balance, augmentations, an interval trigger), then: the sampling log is
the pure function of (seed, frame); frame f alone equals frame f of the run; the
augmentations change RGB only; datablocks are made once and reused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from scenes import asset, camera, header, render, table, write_param  # noqa: E402

from sdg_addon.config import load_config  # noqa: E402
from sdg_addon.recorder import Recorder, RunOptions  # noqa: E402
from sdg_addon.sampling import sample_frame  # noqa: E402

FRAMES = 3

LOOK = (
    header((64, 48), samples=2, seed=3, frames=3)
    + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1))
    + table("lights", "key", type="area", location=(1.0, -1.0, 2.0), look_at=(0.0, 0.0, 0.0), energy=150)
    + asset("ball", "sphere", 0.3, label="ball")
    + asset("box", "cube", 0.3, location=(0.4, 0.2, 0), label="box")
    + """
[[randomizers]]
type = "procedural_texture"
targets = ["ball", "ground"]
scale = { distribution = "log_uniform", low = 2, high = 20 }
color = { distribution = "uniform", low = [0, 0, 0], high = [1, 1, 1] }
color2 = { distribution = "uniform", low = [0, 0, 0], high = [1, 1, 1] }

[[randomizers]]
type = "texture"
targets = "box"
folder = "tex"
interval = 2
scale = { distribution = "uniform", low = 1, high = 5 }
rotation = { distribution = "uniform", low = 0, high = 90 }

[[randomizers]]
type = "world_hdri"
folder = "hdri"
strength = { distribution = "uniform", low = 0.3, high = 0.8 }
rotation = { distribution = "uniform", low = 0, high = 360 }

[[randomizers]]
type = "light"
targets = "key"
location = { distribution = "shell", center = [0, 0, 0.3], radius_min = 2, radius_max = 3, elevation_min = 30, elevation_max = 80 }
light_type = { distribution = "choice", values = ["area", "point", "spot"] }
size = { distribution = "uniform", low = 0.1, high = 1 }
temperature = { distribution = "uniform", low = 2500, high = 9000 }

[[randomizers]]
type = "sensor"
targets = "cam"
fov = { distribution = "uniform", low = 40, high = 60 }
f_stop = { distribution = "log_uniform", low = 1.4, high = 16 }
focus_target = "ball"
exposure = { distribution = "uniform", low = -1, high = 0.5 }
white_balance = { distribution = "uniform", low = 4000, high = 8000 }
"""
)

AUGMENT = """
[[randomizers]]
type = "augment"
targets = "cam"
gaussian_noise = { distribution = "uniform", low = 0.01, high = 0.03 }
blur = { distribution = "uniform", low = 0.3, high = 1 }
jpeg_quality = { distribution = "uniform_int", low = 30, high = 90 }
hue = { distribution = "uniform", low = -10, high = 10 }
"""

COUNTED = ("materials", "images", "node_groups", "meshes", "objects", "lights", "worlds", "textures")


def write_hdr(path: Path, rgb: np.ndarray) -> None:
    """A flat (uncompressed) Radiance .hdr file."""
    h, w, _ = rgb.shape
    m = rgb.max(-1)
    e = np.where(m > 1e-32, np.ceil(np.log2(np.maximum(m, 1e-32))), -128)
    scale = np.where(m > 1e-32, 256.0 / 2.0**e, 0)
    rgbe = np.concatenate([np.clip(rgb * scale[..., None], 0, 255), (e + 128)[..., None]], -1).astype(np.uint8)
    path.write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {h} +X {w}\n".encode() + rgbe.tobytes())


def make_inputs(d: Path, augment: bool = True) -> Path:
    tex = d / "tex"
    tex.mkdir(exist_ok=True)
    yy, xx = np.mgrid[0:32, 0:32]
    bricks = np.stack([(xx * 8) % 256, (yy * 8) % 256, np.full_like(xx, 60)], -1).astype(np.uint8)
    Image.fromarray(bricks).save(tex / "bricks.png")
    Image.fromarray(np.full((8, 8, 3), (128, 128, 255), np.uint8)).save(tex / "bricks_normal.png")
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tex / "plain.jpg")
    hdri = d / "hdri"
    hdri.mkdir(exist_ok=True)
    sky = np.zeros((4, 4, 3))
    sky[:2], sky[2:] = (0.4, 0.6, 1.0), (0.3, 0.2, 0.1)
    write_hdr(hdri / "outdoor.hdr", sky)
    write_hdr(hdri / "warm.hdr", np.full((4, 4, 3), (1.0, 0.6, 0.3)))
    return write_param(d, LOOK + (AUGMENT if augment else ""), "look.toml" if augment else "plain.toml")


def record(param: Path, out: Path, frames: range) -> tuple[list[dict], list[dict]]:
    """Run the recorder; return the frame log and the datablock counts after each frame."""
    cfg = load_config(param)
    recorder = Recorder(cfg, RunOptions(out, frames, overwrite=True, worker_processes=False))
    counts = []
    for i, _progress in enumerate(recorder.iter_run()):
        if i:  # the first yield is before any frame
            counts.append({k: len(getattr(bpy.data, k)) for k in COUNTED})
    log = [json.loads(x) for x in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    return sorted(log, key=lambda r: r["frame"]), counts


@pytest.fixture(scope="module")
def look_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("look")
    param = make_inputs(d)
    log, counts = record(param, d / "full", range(FRAMES))
    return d, param, log, counts


def test_the_log_is_the_pure_sampling_of_seed_and_frame(look_run):
    d, param, log, _ = look_run
    cfg = load_config(param)
    targets = [["ball", "ground"], ["box"], ["world"], ["key"], ["cam"], ["cam"]]
    for record_ in log:
        f = record_["frame"]
        assert record_["samples"] == json.loads(json.dumps(sample_frame(cfg.seed, f, cfg.randomizers, targets)))
        key = np.subtract(record_["samples"][3]["values"]["key"]["location"], [0, 0, 0.3])  # a shell
        r = float(np.linalg.norm(key))
        assert 2 <= r <= 3 and 30 <= np.degrees(np.arcsin(key[2] / r)) <= 80
    # the texture randomizer (interval 2) repeats its draw on odd frames
    tex = [r["samples"][1] for r in log]
    assert tex[1]["values"] == tex[0]["values"] and tex[1]["trigger_frame"] == 0
    assert "trigger_frame" not in tex[2] and "trigger_frame" not in tex[0]


def test_a_frame_alone_equals_that_frame_of_the_run(look_run):
    d, param, log, _ = look_run
    alone_log, _ = record(param, d / "alone", range(1, 2))  # a frame between two triggers
    assert alone_log[0]["samples"] == log[1]["samples"]
    for name in ("rgb_0001.png", "instance_segmentation_0001.png"):
        a = np.asarray(Image.open(d / "full" / name))
        b = np.asarray(Image.open(d / "alone" / name))
        assert np.array_equal(a, b), name


def test_augmentations_change_rgb_only(look_run):
    d, _param, log, _ = look_run
    plain = make_inputs(d, augment=False)
    record(plain, d / "plain", range(2, 3))
    for name in ("instance_segmentation_0002.png", "semantic_segmentation_0002.png"):
        assert np.array_equal(np.asarray(Image.open(d / "full" / name)), np.asarray(Image.open(d / "plain" / name)))
    assert np.array_equal(
        np.load(d / "full" / "bounding_box_2d_tight_0002.npy"), np.load(d / "plain" / "bounding_box_2d_tight_0002.npy")
    )
    a = np.asarray(Image.open(d / "full" / "rgb_0002.png")).astype(int)
    b = np.asarray(Image.open(d / "plain" / "rgb_0002.png")).astype(int)
    assert np.abs(a - b).mean() > 2  # noise, blur, JPEG, hue shift
    assert np.abs(a.mean() - b.mean()) < 20  # ... of the same picture
    assert "noise_seed" in log[2]["samples"][-1]["values"]["cam"]


def test_camera_params_report_the_depth_of_field_used(look_run):
    """cameraFStop is the f-number the sensor entry drew (0 only without depth of field) and
    cameraFocusDistance the distance to focus_target along the viewing axis, as Cycles
    focuses: they were 0 in every frame."""
    d, _param, log, _ = look_run
    for f in range(FRAMES):
        params = json.loads((d / "full" / f"camera_params_000{f}.json").read_text())
        drawn = log[f]["samples"][4]["values"]["cam"]["f_stop"]
        assert params["cameraFStop"] == pytest.approx(drawn, rel=1e-6)
        to_world = np.asarray(params["camera_to_world"])
        ball = np.zeros(3)  # the focus target's origin (the asset is not moved)
        along_view = float((ball - to_world[:3, 3]) @ -to_world[:3, 2])
        assert along_view > 0.5 and params["cameraFocusDistance"] == pytest.approx(along_view, rel=1e-5)


def test_the_randomizers_change_the_picture(look_run):
    d, *_ = look_run
    images = [np.asarray(Image.open(d / "full" / f"rgb_000{f}.png")).astype(int) for f in range(FRAMES)]
    for a, b in zip(images, images[1:]):
        assert np.abs(a - b).mean() > 5


def test_datablocks_are_made_once_and_reused(look_run):
    _d, _param, log, counts = look_run
    patterns = {v["pattern"] for r in log for v in r["samples"][0]["values"].values()}
    textures = {r["samples"][1]["values"]["box"]["image"] for r in log}
    hdris = {r["samples"][2]["values"]["world"]["image"] for r in log}
    assert len(counts) == FRAMES
    # one material per pattern and texture set, one image per file, whatever the frame count
    maps = len(textures) + ("bricks.png" in textures)  # bricks has a normal map
    first = counts[0]
    last = counts[-1]
    assert last["materials"] - first["materials"] <= len(patterns | textures)
    assert last["images"] - first["images"] <= maps + len(hdris)
    for key in ("meshes", "objects", "lights", "worlds", "node_groups", "textures"):
        assert len({c[key] for c in counts}) == 1, (key, counts)
    # a later frame that uses nothing new adds nothing
    seen_p, seen_t, seen_h = set(), set(), set()
    for i, r in enumerate(log):
        new = (
            {v["pattern"] for v in r["samples"][0]["values"].values()} - seen_p
            or {r["samples"][1]["values"]["box"]["image"]} - seen_t
            or {r["samples"][2]["values"]["world"]["image"]} - seen_h
        )
        seen_p |= {v["pattern"] for v in r["samples"][0]["values"].values()}
        seen_t.add(r["samples"][1]["values"]["box"]["image"])
        seen_h.add(r["samples"][2]["values"]["world"]["image"])
        if i and not new:
            assert counts[i] == counts[i - 1], (i, counts)


# ------------------------------------------------------------ appliers without a render


def built_scene(tmp_path: Path, randomizers: str):
    from sdg_addon.recorder import Recorder
    from sdg_addon.scene.build import build_scene

    param = write_param(tmp_path, LOOK.split("[[randomizers]]")[0] + randomizers, "p.toml")
    cfg = load_config(param)
    built = build_scene(cfg)
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).resolve_targets(built)
    return cfg, built, targets


def test_a_light_made_another_type_keeps_its_declared_size(tmp_path):
    """A light's `size` is an area's side and a point's or spot's radius: a light_type
    randomizer changing its type kept Blender's default of the other type (a point of size
    3 made an area rendered byte for byte as an area of 0.25 m)."""
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    text = (
        LOOK.split("[[lights]]")[0]
        + table("lights", "bulb", type="point", location=(0, 0, 2), size=0.7)
        + table("lights", "panel", type="area", location=(0, 0, 2), size=2.5)
        + '[[randomizers]]\ntype = "light"\ntargets = "bulb"\nlight_type = "area"\n'
        + '[[randomizers]]\ntype = "light"\ntargets = "panel"\nlight_type = "spot"\n'
    )
    cfg = load_config(write_param(tmp_path, text, "p.toml"))
    built = build_scene(cfg)
    assert built.lights["bulb"].data.type == "POINT" and built.lights["panel"].data.type == "AREA"
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).resolve_targets(built)
    apply_frame(built, sample_frame(cfg.seed, 0, cfg.randomizers, targets), cfg.randomizers)
    bulb, panel = built.lights["bulb"].data, built.lights["panel"].data
    assert bulb.type == "AREA" and bulb.size == pytest.approx(0.7)
    assert panel.type == "SPOT" and panel.shadow_soft_size == pytest.approx(2.5)


def test_a_light_size_is_a_rectangles_width_its_height_kept(tmp_path):
    """`size` sets an area light's side: on a .blend's rectangle (or ellipse) light, its
    width alone, as the parameter's text says (it said only 'side of an area light')."""
    from sdg_addon.sampling.randomizers import RANDOMIZERS
    from sdg_addon.scene.randomize import apply_light

    assert "a rectangle's or ellipse's width, X, its height `size_y`" in RANDOMIZERS["light"].PARAMS["size"][1]
    cfg, built, targets = built_scene(tmp_path, "")
    data = built.lights["key"].data
    data.shape, data.size_y = "RECTANGLE", 0.3
    apply_light(built, "key", {"size": 2.0})
    assert (data.size, data.size_y) == (2.0, pytest.approx(0.3))


def test_area_lights_take_a_shape_and_a_height_as_blender_draws_them(tmp_path):
    """Replicator's Rect and Disk lights: an area light had no `shape` here ([[lights]] and
    the light randomizer made squares; a .blend's disk stayed a disk, its size its diameter).
    [[lights]] and the light randomizer take `shape` (SQUARE, RECTANGLE, DISK, ELLIPSE, any
    case) and `size_y` (a rectangle's or ellipse's height) into the light's own Shape and
    Size Y, which Cycles draws with the same power whatever the shape (checked: a .blend's
    disk light rendered by a run and by Blender, mean 223.2 and 222.7 of 255 at 16 samples);
    a light randomizer's shape on a light that is no area light is kept for when a
    light_type makes it one; what never shows is refused."""
    from sdg_addon.config import ConfigError
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame, apply_light

    lights = (
        table("lights", "disk", type="area", shape="Disk", size=1.2, location=(0, 0, 2))
        + table("lights", "strip", type="area", shape="rectangle", size=2.0, size_y=0.2, location=(1, 0, 2))
        + table("lights", "oval", type="area", shape="ellipse", size=0.5, location=(-1, 0, 2))
        + table("lights", "bulb", type="point", location=(0, 1, 2))
    )
    base = LOOK.split("[[lights]]")[0] + lights
    entry = '[[randomizers]]\ntype = "light"\ntargets = ["disk", "strip"]\nshape = { distribution = "choice", values = ["ellipse", "rectangle"] }\nsize_y = 0.3\n'
    cfg = load_config(write_param(tmp_path, base + entry, "p.toml"))
    built = build_scene(cfg)
    data = {n: built.lights[n].data for n in ("disk", "strip", "oval")}
    assert [(d.shape, d.size, round(d.size_y, 6)) for d in data.values()] == [
        ("DISK", pytest.approx(1.2), 1.2),
        ("RECTANGLE", 2.0, 0.2),
        ("ELLIPSE", 0.5, 0.5),  # size_y defaults to size
    ]
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).resolve_targets(built)
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers, targets)
    apply_frame(built, sampled, cfg.randomizers)
    drawn = sampled[0]["values"]
    for name in ("disk", "strip"):
        assert (data[name].shape, round(data[name].size_y, 6)) == (drawn[name]["shape"].upper(), 0.3)
    bulb = built.lights["bulb"]
    apply_light(built, "bulb", {"shape": "disk", "size_y": 0.7})  # kept for when it is an area light
    assert bulb.data.type == "POINT"
    bulb.data.type = "AREA"
    assert (bulb.data.shape, round(bulb.data.size_y, 6)) == ("DISK", 0.7)
    refused = {
        'targets = "bulb"\nshape = "disk"': ("randomizers[0].shape", 'add light_type = "area"'),
        'targets = "disk"\nsize_y = 0.3': ("randomizers[0].size_y", 'add shape = "rectangle"'),
        'targets = "disk"\nshape = "hexagon"': ("randomizers[0].shape", "one of SQUARE, RECTANGLE, DISK, ELLIPSE"),
    }
    for text, (field, expected) in refused.items():
        with pytest.raises(ConfigError) as e:
            cfg = load_config(write_param(tmp_path, base + f'[[randomizers]]\ntype = "light"\n{text}\n', "p.toml"))
            Recorder(cfg, RunOptions(tmp_path / "out", range(1))).prepare_scene(build_scene(cfg))
        assert [(p.field, expected in p.expected) for p in e.value.problems] == [(field, True)], e.value
    # without a light_type making it one, a point light's entry shape is refused; with one, taken
    cfg = load_config(
        write_param(
            tmp_path,
            base + '[[randomizers]]\ntype = "light"\ntargets = "bulb"\nlight_type = "area"\nshape = "ellipse"\n',
            "p.toml",
        )
    )
    Recorder(cfg, RunOptions(tmp_path / "out", range(1))).prepare_scene(build_scene(cfg))
    bad = LOOK.split("[[lights]]")[0] + table("lights", "b", type="point", shape="disk", location=(0, 1, 2))
    bad += table("lights", "d", type="area", shape="disk", size_y=0.4, location=(0, 1, 2))
    with pytest.raises(ConfigError) as e:
        load_config(write_param(tmp_path, bad, "p.toml"))
    assert [p.field for p in e.value.problems] == ["lights[0].shape", "lights[1].size_y"]


@pytest.mark.parametrize(
    "entry, refused",
    [
        ("look_at = [0, -1.5, 0.8]", True),  # aimed from where it stands, at that very point
        ("look_at = [0, -1.5, 0.8]\nelevation = 30", True),  # its distance as built from there: 0
        ('look_at = { distribution = "choice", values = [[0, 0, 0], [0, -1.5, 0.8]] }', True),
        ('look_at = [{ distribution = "uniform_int", low = -1, high = 1 }, -1.5, 0.8]', True),  # one in three
        ('look_at = [{ distribution = "uniform_int", low = 1, high = 2 }, -1.5, 0.8]', False),
        ("look_at = [0, -1.5, 0.8]\ndistance = 2", False),
        ("look_at = [0, 0, 0]", False),
    ],
)
def test_a_camera_entry_looking_at_the_cameras_own_location_is_refused(tmp_path, entry, refused):
    """A camera entry with neither location nor distance keeps the camera's distance as
    built from the point it looks at: a look_at at the camera's own location (its
    [[cameras]] location [0, -1.5, 0.8]) left no direction to aim along, and it rendered
    looking down -Z without a word (its view transform the identity)."""
    from sdg_addon.config import ConfigError

    cfg, built, targets = built_scene(tmp_path, f'[[randomizers]]\ntype = "camera"\ntargets = "cam"\n{entry}\n')
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    if not refused:
        recorder.check_targets(built, targets)
        return
    with pytest.raises(ConfigError, match=r"randomizers\[0\]\.look_at: got "):
        recorder.check_targets(built, targets)


@pytest.mark.parametrize(
    "entry, refused",
    [
        ("look_at = [1, -1, 2]", True),  # the key light's own location
        ('look_at = { distribution = "sequence", values = [[0, 0, 0], [1, -1, 2]] }', True),
        ('look_at = { distribution = "uniform_int", low = [0, -2, 2], high = [2, 0, 2] }', True),  # one in nine
        ('look_at = [1, -1, { distribution = "choice", values = [2, 3] }]', True),
        ("location = [0, 0, 3]\nlook_at = [1, -1, 2]", False),
        ("look_at = [0, 0, 0]", False),
    ],
)
def test_a_light_entry_looking_at_the_lights_own_location_is_refused(tmp_path, entry, refused):
    """A light entry's look_at without a location turns the light from where it stands: at
    its own location ([1, -1, 2]) the light was left shining down -Z without a word."""
    from sdg_addon.config import ConfigError

    cfg, built, targets = built_scene(tmp_path, f'[[randomizers]]\ntype = "light"\ntargets = "key"\n{entry}\n')
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    if not refused:
        recorder.check_targets(built, targets)
        return
    with pytest.raises(ConfigError, match=r"randomizers\[0\]\.look_at: got .*location of light 'key'"):
        recorder.check_targets(built, targets)


@pytest.mark.parametrize(
    "entries, refused",
    [
        (("look_at = [0, 0, 0]", "location = [2, -1, 3]"), True),  # turned, then moved: from the frame before
        (("location = [2, -1, 3]", "look_at = [0, 0, 0]"), False),  # moved, then turned from there
        (("look_at = [0, 0, 0]\nlocation = [1, 1, 3]", "location = [2, -1, 3]"), False),  # placed by itself first
        (("look_at = [0, 0, 0]", "energy = 50"), False),  # a later entry that does not move it
    ],
)
def test_a_light_turned_before_an_entry_moves_it_is_refused(tmp_path, entries, refused):
    """A light entry's look_at without a location turns the light from where it stands; a
    later entry moving it (keeping its direction) left it turned from where the frame
    rendered before had put it: frame 2 alone differed from frame 2 after frames 0 and 1."""
    from sdg_addon.config import ConfigError

    text = "".join(f'[[randomizers]]\ntype = "light"\ntargets = "key"\n{e}\n' for e in entries)
    cfg, built, targets = built_scene(tmp_path, text)
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    if not refused:
        recorder.check_targets(built, targets)
        return
    with pytest.raises(ConfigError, match=r"randomizers\[0\]\.look_at: got .*after randomizers\[1\] \(light\)"):
        recorder.check_targets(built, targets)


@pytest.mark.parametrize(
    "entry, words",
    [
        ('type = "visibility"\ntargets = "key"\nvisible = false', "key: a light; a `light` entry switches one off"),
        ('type = "pose"\ntargets = "key"\nlocation = [0, 0, 3]', "key: a light; a `light` entry changes one"),
        ('type = "pose"\ntargets = "cam"\nlocation = [0, -2, 1]', "cam: a camera; a `camera` entry places and turns"),
    ],
)
def test_a_light_or_camera_given_to_an_object_entry_is_pointed_to_its_own(tmp_path, entry, words):
    """Replicator's rep.modify.visibility and rep.modify.pose take any prim; here they take
    objects, and a light or camera given to them was met with the list of objects alone: the
    problem now says what it is and which entry does it (a light switched off by energy = 0)."""
    from sdg_addon.config import ConfigError

    with pytest.raises(ConfigError, match=r"randomizers\[0\]\.targets: .*" + re.escape(words)):
        built_scene(tmp_path, f"[[randomizers]]\n{entry}\n")


def test_sky_material_swap_sensor_and_light_appliers(tmp_path):
    from sdg_addon import compat
    from sdg_addon.scene.randomize import apply_frame

    cfg, built, targets = built_scene(
        tmp_path,
        """
[[randomizers]]
type = "sky"
sun_elevation = 30
sun_rotation = 90
strength = 0.05
aerosol = 2.0

[[randomizers]]
type = "material_swap"
targets = "ball"
material = "sdg_box"

[[randomizers]]
type = "sensor"
targets = "cam"
focal_length = 70
f_stop = 2.8
focus_target = "box"
shutter = 0.5

[[randomizers]]
type = "light"
targets = "key"
light_type = "sun"
size = 2.0
temperature = 3000
location = [2.0, -1.0, 1.5]
look_at = [0.0, 0.5, 0.25]
""",
    )
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers, targets)
    apply_frame(built, sampled, cfg.randomizers)
    world = built.scene.world.node_tree
    sky = world.nodes["sdg_sky"]
    assert sky.sky_type == compat.sky_model()
    assert abs(sky.sun_elevation - np.radians(30)) < 1e-6
    assert getattr(sky, compat.sky_aerosol_property()) == pytest.approx(2.0)
    bg = next(n for n in world.nodes if n.type == "BACKGROUND")
    assert bg.inputs["Color"].links[0].from_node == sky
    ball = built.entities["ball"].meshes[0]
    assert ball.material_slots[0].link == "OBJECT" and ball.material_slots[0].material.name == "sdg_box"
    assert built.entities["ball"].meshes[0].data.materials[0].name == "sdg_ball"  # the mesh is untouched
    cam = built.cameras["cam"].data
    assert cam.lens == 70 and cam.dof.use_dof and cam.dof.aperture_fstop == pytest.approx(2.8)
    assert cam.dof.focus_object == built.entities["box"].root
    assert built.shutters == {"cam": pytest.approx(0.5)}  # set on the scene as cam renders (capture)
    light = built.lights["key"].data
    assert light.type == "SUN" and light.angle == pytest.approx(np.radians(2.0))
    # The colour from the temperature, set by the add-on on every version (Blender's own
    # temperature, 4.4+, off: it would multiply it in a second time)
    assert light.color[0] > light.color[1] > light.color[2]
    assert np.dot(light.color, [0.2126, 0.7152, 0.0722]) == pytest.approx(1.0, abs=1e-6)
    assert not getattr(light, "use_temperature", False)
    # Moved, then turned to face its look_at: its -Z axis points there.
    from mathutils import Vector

    key = built.lights["key"]
    built.scene.view_layers[0].update()
    shines = np.array(key.matrix_world.to_3x3() @ Vector((0.0, 0.0, -1.0)))
    towards = np.subtract([0.0, 0.5, 0.25], [2.0, -1.0, 1.5])
    assert np.allclose(shines, towards / np.linalg.norm(towards), atol=1e-6)
    assert tuple(key.location) == pytest.approx((2.0, -1.0, 1.5))
    # applied again (the next frame), nothing new is made
    before = {k: len(getattr(bpy.data, k)) for k in COUNTED}
    apply_frame(built, sample_frame(cfg.seed, 1, cfg.randomizers, targets), cfg.randomizers)
    assert {k: len(getattr(bpy.data, k)) for k in COUNTED} == before
    assert len([n for n in world.nodes if n.name.startswith("sdg_sky")]) == 1


def test_a_pattern_is_taken_in_any_case_as_a_light_type_is(tmp_path):
    """procedural_texture's pattern "Checker" was refused at validate ('one of noise, voronoi,
    checker') where light_type "Spot" is taken: it is taken in any case, the material the
    lower-case name's."""
    from sdg_addon.scene.randomize import apply_frame

    cfg, built, targets = built_scene(
        tmp_path,
        '[[randomizers]]\ntype = "procedural_texture"\ntargets = "ball"\n'
        'pattern = { distribution = "choice", values = ["Checker", "VORONOI"] }\n',
    )
    assert cfg.randomizers[0].prepare(tmp_path) == []
    for frame in range(4):
        sampled = sample_frame(cfg.seed, frame, cfg.randomizers, targets)
        apply_frame(built, sampled, cfg.randomizers)
        drawn = sampled[0]["values"]["ball"]["pattern"].lower()
        slot = built.entities["ball"].meshes[0].material_slots[0]
        assert slot.material.name == f"sdg_procedural_{drawn}"


def test_material_swap_to_a_missing_material_names_the_known_ones(tmp_path):
    from sdg_addon.scene.randomize import apply_frame

    cfg, built, targets = built_scene(
        tmp_path, '[[randomizers]]\ntype = "material_swap"\ntargets = "ball"\nmaterial = "Gold"\n'
    )
    with pytest.raises(ValueError, match="sdg_box"):
        apply_frame(built, sample_frame(0, 0, cfg.randomizers, targets), cfg.randomizers)


@pytest.mark.parametrize(
    "entry, field, words",
    [
        (
            'type = "sensor"\ntargets = "cam"\nf_stop = 2\nfocus_target = "bal"',
            "randomizers[0].focus_target",
            "got \"bal\"; expected a known object of the scene: did you mean 'ball'?",
        ),
        (
            'type = "camera_relative"\ntargets = "box"\ndepth = 1\ncamera = "camera"',
            "randomizers[0].camera",
            'got "camera"; expected a known camera of the scene',
        ),
        (  # Replicator's rep.randomizer.materials(materials=[...]): validate said OK
            'type = "material_swap"\ntargets = "box"\nmaterial = { distribution = "choice", values = ["sdg_ball", "Gold"] }',
            "randomizers[0].material",
            "got \"Gold\"; expected the name of a material of the scene (its materials: ['sdg_ball', 'sdg_box'",
        ),
        (  # a corner case's material: validate said OK, render stopped at that case's frame
            'type = "material_swap"\ntargets = "box"\nmaterial = "sdg_ball"\n[[cases]]\nname = "gold"\n'
            'set = [{ type = "material_swap", target = "box", material = "Gold" }]',
            "cases[0].set[0].material",
            'got "Gold"; expected the name of a material of the scene',
        ),
    ],
)
def test_a_name_the_scene_lacks_is_refused_before_anything_is_written(tmp_path, capsys, entry, field, words):
    """A focus target, a camera_relative camera or a material_swap material the scene lacks:
    exit 2 naming the field, nothing written (was an error at frame 0 after the audit folder
    was written, and a KeyError traceback for the camera)."""
    text = header((64, 48), samples=1, frames=1) + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1))
    text += asset("ball", "sphere", 0.3, label="ball") + asset("box", "cube", 0.3, label="box")
    param = write_param(tmp_path, text + "[[randomizers]]\n" + entry + "\n")
    out = tmp_path / "out"
    assert render(param, out) == 2
    err = capsys.readouterr().err
    assert f"p.toml: {field}: {words}" in err
    assert not out.exists()


@pytest.mark.parametrize(
    "kind, lens",
    [
        ("sensor", "focal_length = 50"),
        ("sensor", 'fov = { distribution = "uniform", low = 30, high = 60 }'),
        ("camera", 'focal_length = { distribution = "uniform", low = 20, high = 80 }'),
        ("camera_look_at", 'look_at = "ball"\ndistance = 2\nfocal_length = 50'),
    ],
)
def test_a_lens_for_an_orthographic_camera_is_refused_before_anything_is_written(tmp_path, capsys, kind, lens):
    """A sensor, camera or camera_look_at entry's focal_length (or a sensor's fov) with an
    orthographic camera among its targets: exit 2 naming the entry, the camera and what sets
    its view (was: drawn, logged in frames.jsonl and rendered without any effect; the camera
    and camera_look_at entries' were still). A perspective target takes it."""
    text = header((64, 48), samples=1, frames=1) + asset("ball", "sphere", 0.3, label="ball")
    text += camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1), name="top", projection="orthographic", ortho_scale=2.0)
    text += camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1), name="side")
    entry = f'[[randomizers]]\ntype = "{kind}"\ntargets = "TARGETS"\n' + lens + "\n"
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text + entry.replace("TARGETS", "*")), out) == 2
    key = lens.split("\n")[-1].split(" ")[0]
    said = f"p.toml: randomizers[0].{key}: got "
    assert said in (err := capsys.readouterr().err) and "'top' is orthographic, it has no" in err, err
    assert not out.exists()
    assert render(write_param(tmp_path, text + entry.replace("TARGETS", "side")), out) == 0


@pytest.mark.parametrize("sensor", ["thermal", "nir"])
@pytest.mark.parametrize(
    "entry, what",
    [
        ('type = "augment"\ngaussian_noise = 0.05', "augment changes"),
        ('type = "sensor"\nexposure = 2', "exposure changes"),
        ('type = "sensor"\nf_stop = 2\nexposure = 1\nwhite_balance = 3000', "exposure and white_balance change"),
    ],
)
def test_rgb_image_randomizers_on_a_thermal_or_nir_camera_are_refused(tmp_path, capsys, sensor, entry, what):
    """augment, and a sensor entry's exposure or white_balance, change the RGB image only: a
    thermal or NIR camera among the targets is refused before anything is written, as for
    `background` (was: drawn, logged in frames.jsonl, and its images unchanged). The lens
    (f_stop) alone may target it."""
    text = header((32, 24), samples=1, frames=1) + asset("ball", "sphere", 0.3, label="ball")
    text += camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1), name="rgb")
    text += camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1), name="ir", sensor=sensor)
    out = tmp_path / "out"
    param = write_param(tmp_path, text + '[[randomizers]]\ntargets = "*"\n' + entry + "\n")
    assert render(param, out) == 2
    assert f'randomizers[0].targets: got ["ir"]; expected visible cameras: {what} the RGB image only' in (
        capsys.readouterr().err
    )
    assert not out.exists()
    lens = '[[randomizers]]\ntargets = "*"\ntype = "sensor"\nf_stop = 2\n'
    assert render(write_param(tmp_path, text + lens), out) == 0


def test_datablock_counts_stay_flat_over_many_applied_frames(tmp_path):
    """30 frames applied (not rendered): once every texture, pattern and HDRI has been
    used, nothing more is made: counts after frame 10 equal counts after frame 30."""
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    param = make_inputs(tmp_path)
    cfg = load_config(param)
    built = build_scene(cfg)
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).resolve_targets(built)
    before = {k: len(getattr(bpy.data, k)) for k in COUNTED}
    counts = []
    for f in range(30):
        apply_frame(built, sample_frame(cfg.seed, f, cfg.randomizers, targets), cfg.randomizers)
        counts.append({k: len(getattr(bpy.data, k)) for k in COUNTED})
    assert counts[10] == counts[-1], (counts[10], counts[-1])
    assert counts[-1]["materials"] - before["materials"] == 5  # 3 patterns + 2 texture sets
    assert counts[-1]["images"] - before["images"] == 5  # bricks (+ normal map), plain, 2 HDRIs


def test_material_swap_from_a_glob_over_the_scene(tmp_path):
    from sdg_addon.scene.randomize import apply_frame

    cfg, built, targets = built_scene(
        tmp_path, '[[randomizers]]\ntype = "material_swap"\ntargets = "ball"\nmaterials = "sdg_b*"\n'
    )
    Recorder(cfg, RunOptions(tmp_path / "out", range(1))).bind_scene_facts(built)
    assert cfg.randomizers[0].pool == ["sdg_ball", "sdg_box"]
    seen = set()
    for f in range(12):
        sampled = sample_frame(cfg.seed, f, cfg.randomizers, targets)
        apply_frame(built, sampled, cfg.randomizers)
        name = sampled[0]["values"]["ball"]["material"]
        assert built.entities["ball"].meshes[0].material_slots[0].material.name == name
        seen.add(name)
    assert seen == {"sdg_ball", "sdg_box"}


def test_a_later_world_entry_replaces_an_earlier_one(tmp_path):
    from sdg_addon.scene.randomize import apply_frame

    cfg, built, targets = built_scene(
        tmp_path,
        '[[randomizers]]\ntype = "sky"\nsun_elevation = 20\n[[randomizers]]\ntype = "world"\ncolor = [0.2, 0.3, 0.4]\n',
    )
    apply_frame(built, sample_frame(0, 0, cfg.randomizers, targets), cfg.randomizers)
    bg = next(n for n in built.scene.world.node_tree.nodes if n.type == "BACKGROUND")
    assert not bg.inputs["Color"].links and list(bg.inputs["Color"].default_value)[:3] == pytest.approx([0.2, 0.3, 0.4])
    swapped = [cfg.randomizers[1], cfg.randomizers[0]]
    apply_frame(built, sample_frame(0, 0, swapped, targets[::-1]), swapped)
    assert bg.inputs["Color"].links[0].from_node.name == "sdg_sky"


def _lit_plane_mean(light_setup, path: Path, working_space: str | None = None) -> np.ndarray:
    """Mean linear RGB of a white diffuse plane under one sun (16 x 16 px, 16 spp, CPU)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    if working_space is not None:  # Blender 5.0: a file's own (a base .blend's)
        bpy.ops.wm.set_working_color_space(working_space=working_space, convert_colors=False)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples, scene.cycles.device = 16, "CPU"
    scene.render.resolution_x = scene.render.resolution_y = 16
    scene.render.image_settings.file_format = "OPEN_EXR"
    scene.render.filepath = str(path)
    bpy.ops.mesh.primitive_plane_add(size=10)
    from sdg_addon.compat import enable_nodes

    mat = bpy.data.materials.new("white")
    enable_nodes(mat)
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (1, 1, 1, 1)
    bsdf.inputs["Roughness"].default_value = 1.0
    bpy.context.object.data.materials.append(mat)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    cam.location, scene.camera = (0, 0, 5), cam
    light = bpy.data.lights.new("sun", "SUN")
    scene.collection.objects.link(bpy.data.objects.new("sun", light))
    scene.world = bpy.data.worlds.new("dark")  # black: only the sun lights the plane
    light_setup(light)
    bpy.ops.render.render(write_still=True)
    pixels = np.array(bpy.data.images.load(str(path)).pixels[:], np.float32)
    return pixels.reshape(-1, 4)[:, :3].mean(axis=0)


def test_a_light_temperature_keeps_the_lights_brightness_and_is_blenders_colour(tmp_path):
    """The light randomizer's temperature: luminance as with a white light of the same
    energy (as Blender's own temperature keeps it, 4.4+), its colour within 2 % of Blender's
    black body where Blender has one; set by the add-on, so the same on every version."""
    import bpy

    from sdg_addon.scene.randomize import apply_light

    luma = np.array([0.2126, 0.7152, 0.0722])
    white = _lit_plane_mean(lambda light: setattr(light, "color", (1, 1, 1)), tmp_path / "white.exr")
    for kelvin in (1500, 3000, 6500, 9500):

        def ours(light, kelvin=kelvin):
            built = SimpleNamespace(lights={"key": SimpleNamespace(data=light)}, light_colors={}, light_kelvin={})
            apply_light(built, "key", {"temperature": kelvin})

        mine = _lit_plane_mean(ours, tmp_path / f"ours{kelvin}.exr")
        assert mine @ luma == pytest.approx(white @ luma, rel=0.01), kelvin
        assert {
            1500: mine[0] > 3 * mine[1] > 30 * mine[2],
            3000: mine[0] > 1.5 * mine[2],
            6500: abs(mine[0] - mine[2]) < 0.02 * mine.max(),
            9500: mine[2] > mine[0],
        }[kelvin]
        if hasattr(bpy.types.Light, "use_temperature"):

            def native(light, kelvin=kelvin):
                light.use_temperature, light.temperature = True, kelvin

            blender = _lit_plane_mean(native, tmp_path / f"blender{kelvin}.exr")
            assert np.allclose(mine / (mine @ luma), blender / (blender @ luma), rtol=0.02), kelvin


def test_a_light_temperature_is_blenders_colour_in_another_working_space(tmp_path, request):
    """Blender 5.0 renders a .blend in its own working colour space (ACEScg, Linear Rec.2020):
    the black body's colour, worked out in Linear Rec.709, is converted into it, as Blender's
    own temperature is (set as Rec.709 numbers, a 1500 K light was redder than Blender's)."""
    import bpy

    from sdg_addon.scene.randomize import apply_light

    if not hasattr(bpy.data, "colorspace"):
        pytest.skip("Blender 4.2 renders in Linear Rec.709 only")
    luma = np.array([0.2126, 0.7152, 0.0722])
    request.addfinalizer(lambda: bpy.ops.wm.read_factory_settings(use_empty=True))  # Linear Rec.709 again
    for space in ("ACEScg", "Linear Rec.2020"):
        for kelvin in (1500, 3000):

            def ours(light, kelvin=kelvin):
                built = SimpleNamespace(lights={"key": SimpleNamespace(data=light)}, light_colors={}, light_kelvin={})
                apply_light(built, "key", {"temperature": kelvin})

            def native(light, kelvin=kelvin):
                light.use_temperature, light.temperature = True, kelvin

            mine = _lit_plane_mean(ours, tmp_path / f"ours{kelvin}.exr", space)
            blender = _lit_plane_mean(native, tmp_path / f"blender{kelvin}.exr", space)
            assert np.allclose(mine / (mine @ luma), blender / (blender @ luma), rtol=0.02), (
                space,
                kelvin,
                mine,
                blender,
            )


def test_a_fov_wider_than_the_sensor_allows_is_refused_before_anything_is_written(tmp_path, capsys):
    """Blender's lens is at least 1 mm: on a 36 mm sensor no view is wider than
    2 atan(18) = 173.6°, and a wider fov was rendered at that without a word (the log and
    the docs' 0.1 .. 179 said otherwise). Refused naming the camera; a wider sensor takes it."""
    text = header((64, 48), samples=1, frames=1) + asset("ball", "sphere", 0.3, label="ball")
    entry = (
        '[[randomizers]]\ntype = "sensor"\ntargets = "cam"\nfov = { distribution = "uniform", low = 90, high = 175 }\n'
    )
    out = tmp_path / "out"
    narrow = camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1))
    assert render(write_param(tmp_path, text + narrow + entry), out) == 2
    err = capsys.readouterr().err
    assert "p.toml: randomizers[0].fov: got " in err and "at most 173.6° on 'cam'" in err, err
    assert not out.exists()
    wide = camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1), sensor_width=72.0)  # 2 atan(36) = 178.4°
    assert render(write_param(tmp_path, text + wide + entry), out) == 0


def test_sky_sun_rotation_turns_the_sun_as_documented(tmp_path):
    """sun_rotation 90 puts the sun in +X: clockwise from +Y seen from above, as Blender's
    Sky Texture turns it (the docs said counter-clockwise, i.e. -X)."""
    from sdg_addon.sampling import RANDOMIZERS

    assert "clockwise from +Y" in RANDOMIZERS["sky"].PARAMS["sun_rotation"][1]
    assert "counter-clockwise" not in RANDOMIZERS["sky"].PARAMS["sun_rotation"][1]
    text = (
        header((16, 12), samples=1, frames=2)
        + "\n[scene]\nground = false\n"
        + camera((0.0, 0.0, 0.5), (1.0, 0.0, 0.6))
        + asset("ball", "sphere", 0.01, location=(0, 0, -5), label="ball")
        + """
[[randomizers]]
type = "sky"
sun_elevation = 5
sun_rotation = 90
strength = 0.05

[[randomizers]]
type = "camera"
targets = "cam"
location = [0, 0, 0.5]
look_at = { distribution = "sequence", values = [[1, 0, 0.6], [-1, 0, 0.6]] }
"""
    )
    record(write_param(tmp_path, text), tmp_path / "out", range(2))
    east, west = (np.asarray(Image.open(tmp_path / "out" / f"rgb_000{f}.png"))[..., :3].mean() for f in (0, 1))
    assert east > 1.3 * west, (east, west)


def test_world_hdri_rotation_turns_the_environment_clockwise_seen_from_above(tmp_path):
    """rotation 90 shows, at azimuth 45° (counter-clockwise from +X), what showed at 135°:
    the environment turns clockwise seen from above, as the description says (it said only
    'turns the environment about world Z'); Blender's Mapping node, BlenderProc's
    rotation_euler. The HDRI's quadrants of longitude are red, green, blue, white."""
    from sdg_addon.sampling import RANDOMIZERS

    assert "clockwise seen from above" in RANDOMIZERS["world_hdri"].PARAMS["rotation"][1]
    (tmp_path / "hdri").mkdir()
    quadrants = np.zeros((4, 16, 3))
    for i, rgb in enumerate([(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 1)]):
        quadrants[:, 4 * i : 4 * i + 4] = rgb
    write_hdr(tmp_path / "hdri" / "quadrants.hdr", quadrants)
    text = (
        header((16, 12), samples=1, frames=2)
        + "\n[scene]\nground = false\n"
        + camera((0.0, 0.0, 0.0), (1.0, 1.0, 0.0), focal_length=200)
        + asset("ball", "sphere", 0.01, location=(0, 0, -5), label="ball")
        + """
[[randomizers]]
type = "world_hdri"
folder = "hdri"
rotation = { distribution = "sequence", values = [0, 90] }
"""
    )
    record(write_param(tmp_path, text), tmp_path / "out", range(2))
    seen = [np.asarray(Image.open(tmp_path / "out" / f"rgb_000{f}.png"))[..., :3].mean((0, 1)) for f in (0, 1)]
    assert seen[0][1] > 200 and seen[0][0] < 50 and seen[0][2] < 50, seen  # green: u 0.25 .. 0.5 at 45°
    assert seen[1][0] > 200 and seen[1][1] < 50 and seen[1][2] < 50, seen  # red, from 135°: clockwise


def test_a_light_temperature_multiplies_the_lights_own_colour(tmp_path):
    """A temperature drawn for a light declared red came out white: the light's colour was
    replaced by the black body's. It multiplies the light's colour as built (as Blender's and
    USD's light temperature do), or the colour a light entry drew this frame; frame 1 is the
    same after frame 0 as alone (no compounding)."""
    from sdg_addon.recorder import Recorder
    from sdg_addon.sampling.appearance import blackbody_light_rgb
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    text = (
        header((16, 12), samples=1, frames=2)
        + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1))
        + table("lights", "red", type="area", energy=100, color=(1.0, 0.25, 0.25))
        + table("lights", "tinted", type="point", energy=100)
        + """
[[randomizers]]
type = "light"
targets = ["red", "tinted"]
temperature = { distribution = "sequence", values = [3000, 9000] }

[[randomizers]]
type = "light"
targets = "tinted"
color = [0.5, 1.0, 0.5]

[[randomizers]]
type = "light"
targets = "tinted"
temperature = 5000
"""
    )
    cfg = load_config(write_param(tmp_path, text))
    built = build_scene(cfg)
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).resolve_targets(built)
    for f in (0, 1, 1):
        apply_frame(built, sample_frame(cfg.seed, f, cfg.randomizers, targets), cfg.randomizers)
        kelvin = (3000, 9000)[f]
        red = blackbody_light_rgb(kelvin, (1.0, 0.25, 0.25))
        assert np.allclose(list(built.lights["red"].data.color), red, rtol=1e-5), (
            f,
            list(built.lights["red"].data.color),
        )
        tinted = blackbody_light_rgb(5000, (0.5, 1.0, 0.5))  # the colour drawn before it this frame
        assert np.allclose(list(built.lights["tinted"].data.color), tinted, rtol=1e-5), f


def test_a_light_colour_drawn_after_its_temperature_is_multiplied_by_it(tmp_path):
    """A light entry's `temperature` followed by another entry's `color`: the colour replaced
    the black body's, so a 2000 K light rendered white while the log said 2000 K; the colour
    is now multiplied by the temperature set before it this frame (as in one entry), and a
    frame without a temperature keeps no earlier frame's."""
    from sdg_addon.recorder import Recorder
    from sdg_addon.sampling.appearance import blackbody_light_rgb
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    text = (
        header((16, 12), samples=1, frames=2)
        + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1))
        + table("lights", "key", type="point", energy=100)
        + """
[[randomizers]]
type = "light"
targets = "key"
temperature = 2000

[[randomizers]]
type = "light"
targets = "key"
color = [0.5, 1.0, 0.5]
"""
    )
    cfg = load_config(write_param(tmp_path, text))
    built = build_scene(cfg)
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).resolve_targets(built)
    for f in (0, 1):
        apply_frame(built, sample_frame(cfg.seed, f, cfg.randomizers, targets), cfg.randomizers)
        want = blackbody_light_rgb(2000, (0.5, 1.0, 0.5))
        assert np.allclose(list(built.lights["key"].data.color), want, rtol=1e-5), list(built.lights["key"].data.color)
    apply_frame(built, sample_frame(cfg.seed, 0, cfg.randomizers[1:], targets[1:]), cfg.randomizers[1:])
    assert np.allclose(list(built.lights["key"].data.color), [0.5, 1.0, 0.5])  # no temperature this frame


def test_world_randomizers_on_a_world_without_a_background_node_or_no_world(tmp_path, capsys):
    """A base scene's world without a Background node (an Emission world) ended the run with
    'generator raised StopIteration' after audit/ was written, and a scene without a world
    with an AttributeError: the first is refused before anything is written (exit 2, naming
    the world and its nodes), the second gets a world, as the `world` entry's strength did."""
    from sdg_addon import compat
    from sdg_addon.config import ConfigError
    from sdg_addon.recorder import Recorder
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    (tmp_path / "hdri").mkdir()
    write_hdr(tmp_path / "hdri" / "grey.hdr", np.full((4, 8, 3), 0.5))
    entries = {
        "world": 'type = "world"\ncolor = [0.2, 0.3, 0.4]',
        "world_hdri": 'type = "world_hdri"\nfolder = "hdri"',
        "sky": 'type = "sky"\nsun_elevation = 20',
    }
    for kind, entry in entries.items():
        text = header((16, 12), samples=1) + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1)) + f"[[randomizers]]\n{entry}\n"
        cfg = load_config(write_param(tmp_path, text))
        built = build_scene(cfg)
        emission = bpy.data.worlds.new("Glow")
        compat.enable_nodes(emission)
        for node in list(emission.node_tree.nodes):
            emission.node_tree.nodes.remove(node)
        glow = emission.node_tree.nodes.new("ShaderNodeEmission")
        output = emission.node_tree.nodes.new("ShaderNodeOutputWorld")
        emission.node_tree.links.new(glow.outputs[0], output.inputs["Surface"])
        built.scene.world = emission
        recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
        with pytest.raises(ConfigError) as info:
            recorder.prepare_scene(built)
        (problem,) = info.value.problems
        assert problem.field == "randomizers[0].type" and "'Glow' has none" in problem.expected, problem
        built.scene.world = None  # no world: one is made
        targets = recorder.prepare_scene(built)
        apply_frame(built, sample_frame(cfg.seed, 0, cfg.randomizers, targets), cfg.randomizers)
        assert built.scene.world is not None, kind
        bg = next(n for n in built.scene.world.node_tree.nodes if n.type == "BACKGROUND")
        assert bg.inputs["Color"].is_linked == (kind != "world"), kind


def test_an_empty_look_is_no_look(tmp_path):
    """`look = ""` names no look, as `"None"` does (colour.has_look): it passed validation,
    then the run stopped with a TypeError from Blender's look enum. The image is the same."""
    text = header((32, 24), samples=1, frames=1) + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1))
    text += asset("ball", "sphere", 0.3, label="ball")
    images = []
    for look in ('""', '"None"'):
        body = text.replace("[render]\n", f"[render]\nlook = {look}\n", 1)
        assert f"look = {look}" in body
        out = tmp_path / f"out{len(images)}"
        assert render(write_param(tmp_path, body), out) == 0
        images.append(np.asarray(Image.open(out / "rgb_0000.png")))
    assert np.array_equal(*images)


@pytest.mark.parametrize(
    "lights, entry, refused",
    [
        ("sun", "size = 180", False),  # the limit
        ("sun", "size = 181", True),  # one past: Blender rendered 180
        ("sun", 'size = { distribution = "uniform", low = 1, high = 200 }', True),
        ("point", 'light_type = { distribution = "choice", values = ["area", "Sun"] }\nsize = 200', True),
        ("sun", 'light_type = { distribution = "choice", values = ["area", "point"] }\nsize = 200', False),
        # another entry makes it a sun: before it this frame, or after it the frame before
        ("point", 'light_type = "sun"\n[[randomizers]]\ntype = "light"\ntargets = "key"\nsize = 190', True),
        ("point", 'size = 190\n[[randomizers]]\ntype = "light"\ntargets = "key"\nlight_type = "SUN"', True),
        ("point", 'light_type = "sun"\n[[randomizers]]\ntype = "light"\ntargets = "key"\nsize = 180', False),
    ],
)
def test_a_suns_size_past_180_degrees_is_refused(tmp_path, capsys, lights, entry, refused):
    """A sun's size is its angular diameter in degrees, which Blender keeps within 180: 181
    was rendered as 180 and logged as 181, and 190 too where another light entry made the
    light a sun (only the entry's own light_type was read)."""
    text = header((16, 12), samples=1) + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1)) + asset("ball", "sphere", 0.3)
    text += table("lights", "key", type=lights) + f'[[randomizers]]\ntype = "light"\ntargets = "key"\n{entry}\n'
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == (2 if refused else 0)
    if refused:
        err = capsys.readouterr().err
        assert "p.toml: randomizers[" in err and "].size: got " in err
        assert "at most 180 where the light is a sun ('key')" in err
        assert not out.exists()


@pytest.mark.parametrize(
    "entries, refused",
    [
        ("focus_distance = 0.5", "focus_distance"),
        ('focus_target = "ball"', "focus_target"),
        ("focus_distance = 0.5\nf_stop = 2", None),
        # another entry's f_stop turns the depth of field on
        ('focus_target = "ball"\n[[randomizers]]\ntype = "sensor"\ntargets = "cam"\nf_stop = 2', None),
    ],
)
def test_a_focus_without_depth_of_field_is_refused(tmp_path, capsys, entries, refused):
    """A sensor entry's focus_distance or focus_target without an f_stop: the cameras the
    add-on makes have depth of field off, so the focus was drawn, logged and never seen (every
    image sharp), validate saying OK. Refused now, unless an f_stop (this entry's or
    another's) turns depth of field on."""
    text = header((16, 12), samples=1) + camera((0.0, -1.5, 0.8), (0.0, 0.0, 0.1)) + asset("ball", "sphere", 0.3)
    text += f'[[randomizers]]\ntype = "sensor"\ntargets = "cam"\n{entries}\n'
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == (2 if refused else 0)
    if refused:
        err = capsys.readouterr().err
        assert f"p.toml: randomizers[0].{refused}: got " in err and "an f_stop for 'cam'" in err, err
        assert not out.exists()


def test_a_texture_on_a_blend_object_keeps_its_own_roughness_and_metallic(tmp_path):
    """A .blend's objects carry no roughness / metallic of the add-on's: the texture's and
    the pattern's materials read them from the object, and a missing one reads 0, so every
    textured .blend object rendered as a mirror, whatever its material. They now read what
    its own material showed when built (Blender's default surface without one)."""
    from sdg_addon import compat
    from sdg_addon.recorder import Recorder
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.materials import METALLIC_PROP, ROUGHNESS_PROP
    from sdg_addon.scene.randomize import apply_frame

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    for name, x in (("shiny", -0.5), ("bare", 0.5)):
        bpy.ops.mesh.primitive_cube_add(size=0.4, location=(x, 0.0, 0.2))
        bpy.context.active_object.name = name
        bpy.context.active_object["semantics"] = {"class": [name]}
    steel = bpy.data.materials.new("steel")
    compat.enable_nodes(steel)
    bsdf = next(n for n in steel.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Roughness"].default_value, bsdf.inputs["Metallic"].default_value = 0.2, 0.7
    bpy.data.objects["shiny"].data.materials.append(steel)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, -3.0, 1.0)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shop.blend"))
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    (tmp_path / "tex").mkdir()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / "tex" / "plain.png")
    text = '[scene]\nblend = "shop.blend"\n'
    text += '[[randomizers]]\ntype = "texture"\ntargets = "shiny"\nfolder = "tex"\n'
    text += '[[randomizers]]\ntype = "procedural_texture"\ntargets = "bare"\n'
    cfg = load_config(write_param(tmp_path, text))
    built = build_scene(cfg)
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).prepare_scene(built)
    apply_frame(built, sample_frame(cfg.seed, 0, cfg.randomizers, targets), cfg.randomizers)
    shiny, bare = bpy.data.objects["shiny"], bpy.data.objects["bare"]
    assert shiny.active_material.name.startswith("sdg_texture_") and bare.active_material.name.startswith("sdg_proc")
    assert (shiny[ROUGHNESS_PROP], shiny[METALLIC_PROP]) == pytest.approx((0.2, 0.7))
    assert (bare[ROUGHNESS_PROP], bare[METALLIC_PROP]) == pytest.approx((0.5, 0.0))


def test_memory_stays_flat_over_a_texture_library(tmp_path, monkeypatch):
    """Cycles' persistent data (on by default) kept every image a render had read: a run
    drawing from a texture library grew by each new texture's decoded size (4 MB for
    1024 x 1024), up to the whole library. It is freed once more than FLUSH_AFTER images
    were shown since (2 here): memory stays flat, the images the same."""
    from sdg_addon.scene import appearance

    monkeypatch.setattr(appearance, "FLUSH_AFTER", 2, raising=False)
    lib = tmp_path / "lib"
    lib.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (1024, 1024, 3), dtype=np.uint8)).save(
            lib / f"t{i:02d}.png", compress_level=0
        )
    names = [f"t{i:02d}.png" for i in range(12)]
    text = (
        header((32, 24), 1, frames=12)
        + camera((0, -1.5, 1.0), (0, 0, 0))
        + f"""
[scene.ground]
enabled = true
[[randomizers]]
type = "texture"
targets = "ground"
folder = "lib"
image = {{ distribution = "sequence", values = {json.dumps(names)} }}
[annotators]
rgb = {{}}
"""
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out, "--worker-mode", "inline") == 0
    rss = [json.loads(line)["rss_mb"] for line in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    assert rss[-1] - rss[1] < 16, rss  # was 4 MB more each frame: 40 MB over these ten


def test_a_material_randomizer_drives_a_blend_objects_own_material(tmp_path):
    """A material entry's color, roughness and metallic drawn for a .blend's objects were
    logged and never shown (their materials are their own, not the add-on's). They are now
    driven per object, as a model file's: an object it does not target, sharing the material,
    keeps its look; one without a material gets the add-on's."""
    from sdg_addon import compat
    from sdg_addon.recorder import Recorder
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.materials import base_colour, base_roughness
    from sdg_addon.scene.randomize import apply_frame

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    steel = bpy.data.materials.new("steel")
    compat.enable_nodes(steel)
    bsdf = next(n for n in steel.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = (0.8, 0.8, 0.8, 1.0)
    bsdf.inputs["Roughness"].default_value = 0.6
    for name, x in (("a", -0.6), ("b", 0.0), ("c", 0.6)):
        bpy.ops.mesh.primitive_cube_add(size=0.4, location=(x, 0.0, 0.2))
        bpy.context.active_object.name = name
        bpy.context.active_object["semantics"] = {"class": ["cube"]}
        if name != "c":
            bpy.context.active_object.data.materials.append(steel)
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.location = (0.0, -3.0, 1.0)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shop.blend"))
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    text = '[scene]\nblend = "shop.blend"\n'
    text += '[[randomizers]]\ntype = "material"\ntargets = ["a", "c"]\ncolor = [1, 0, 0]\nroughness = 0.3\n'
    cfg = load_config(write_param(tmp_path, text))
    built = build_scene(cfg)
    targets = Recorder(cfg, RunOptions(tmp_path / "out", range(1))).prepare_scene(built)
    apply_frame(built, sample_frame(cfg.seed, 0, cfg.randomizers, targets), cfg.randomizers)
    a, b, c = (bpy.data.objects[n] for n in "abc")
    for obj in (a, c):
        assert base_colour(obj) == pytest.approx((1.0, 0.0, 0.0)) and base_roughness(obj) == pytest.approx(0.3)
    assert base_colour(b) == pytest.approx((0.8, 0.8, 0.8)) and base_roughness(b) == pytest.approx(0.6)


def test_a_colours_alpha_is_accepted_and_not_used(tmp_path):
    """parameters.md said a colour's 4th value (alpha) is accepted, no more: a material
    colour [1, 0, 0, 0.2] renders the same image as [1, 0, 0, 1] (Replicator's colours are
    RGB; transparency is a material's). The page now says it is not used."""
    text = header((32, 24), samples=2) + camera((0.0, -2.0, 1.0), (0.0, 0.0, 0.2))
    text += asset("box", "cube", 0.5, label="box") + '[[lights]]\nname = "sun"\ntype = "sun"\nenergy = 3\n'
    images = []
    for alpha in (0.2, 1):
        entry = f'[[randomizers]]\ntype = "material"\ntargets = "box"\ncolor = [1, 0, 0, {alpha}]\n'
        out = tmp_path / f"out{alpha}"
        assert render(write_param(tmp_path, text + entry, f"a{alpha}.toml"), out) == 0
        images.append(np.array(Image.open(out / "rgb_0000.png")))
    assert np.array_equal(images[0], images[1])
    units = (Path(__file__).resolve().parent.parent / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert "a 4th value (alpha) is accepted and not used" in units


@pytest.mark.parametrize(
    "kind, cut, head",
    [("texture", "cut.png", b"\x89PNG\r\n\x1a\n"), ("world_hdri", "cut.hdr", b"#?RADIANCE\nFORMAT=32-bit")],
)
def test_an_image_cut_short_stops_the_run_naming_it_not_rendered_magenta(tmp_path, capsys, kind, cut, head):
    """validate reads only the first bytes of a folder's images; one cut short past them
    passed, and Blender rendered it magenta (a textured cube: mean (109, 18, 109) of 255)
    without a word, exit 0. The run now stops at the frame that draws it, exit 2, naming the
    file and the randomizer; the frames before it are kept."""
    lib = tmp_path / "lib"
    lib.mkdir()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(lib / "good.png")
    (lib / cut).write_bytes(head + b"\x00" * 16)
    target = 'targets = "ground"\n' if kind == "texture" else ""
    text = (
        header((32, 24), 1, frames=2)
        + camera((0, -1.5, 1.0), (0, 0, 0))
        + f"""
[scene.ground]
enabled = true
[[randomizers]]
type = "{kind}"
{target}folder = "lib"
image = {{ distribution = "sequence", values = ["{"good.png" if kind == "texture" else cut}", "{cut}"] }}
[annotators]
rgb = {{}}
"""
    )
    if kind == "world_hdri":
        (lib / "good.png").unlink()
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out, "--worker-mode", "inline") == 2
    err = capsys.readouterr().err
    assert f"{kind}: cannot read {(lib / cut).as_posix()}: Blender cannot decode it" in err, err
    assert sorted(p.name for p in out.glob("rgb_*.png")) == (["rgb_0000.png"] if kind == "texture" else [])
