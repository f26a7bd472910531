"""Every value that would hang, crash or be silently wrong is refused by validation (no bpy).

Bounds are tested at the limit and one step past it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from scenes import write_param

from sdg_addon.config import ConfigError, load_config

CAMERA = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
CUBE = '[[assets]]\nname = "a"\nprimitive = "cube"\n'


def problems(tmp_path, text: str, name="p.toml"):
    path = write_param(tmp_path, text, name)
    try:
        load_config(path)
    except ConfigError as e:
        return [(p.field, p.expected) for p in e.problems]
    return []


def fields(tmp_path, text: str) -> list[str]:
    return [f for f, _ in problems(tmp_path, text)]


@pytest.mark.parametrize(
    "good, bad, field",
    [
        ("count = 10000", "count = 10001", "assets[0].count"),
        ("count = 1", "count = 1000000000000000000000000000000", "assets[0].count"),
        ("location = [1e6, 0, 0]", "location = [1.5e6, 0, 0]", "assets[0].location"),
        ("scale = 1e6", "scale = 1.1e6", "assets[0].scale"),
    ],
)
def test_asset_bounds(tmp_path, good, bad, field):
    assert fields(tmp_path, CAMERA + CUBE + good + "\n") == []
    assert fields(tmp_path, CAMERA + CUBE + bad + "\n") == [field]


def test_objects_of_all_assets_together_are_bounded(tmp_path):
    two = CUBE + "count = 5000\n" + '[[assets]]\nname = "b"\nprimitive = "cube"\ncount = 5000\n'
    assert fields(tmp_path, CAMERA + two) == []
    assert fields(tmp_path, CAMERA + two + '[[assets]]\nname = "c"\nprimitive = "cube"\n') == ["assets"]


def test_a_pools_members_count_among_the_objects_of_all_assets(tmp_path):
    """A pool's count copies each of its files, but the total counted the entry once: 3
    files at count = 3000 beside 6000 cubes (15000 objects) passed as 9000, and the
    scene was built with them all. At the limit and one past it."""
    (tmp_path / "m").mkdir()
    for name in "abc":
        (tmp_path / "m" / f"{name}.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    pool = '[[assets]]\nname = "p"\nfiles = "m/*.obj"\ncount = 3000\n'
    assert fields(tmp_path, CAMERA + CUBE + "count = 1000\n" + pool) == []
    assert fields(tmp_path, CAMERA + CUBE + "count = 1001\n" + pool) == ["assets"]


def test_huge_count_is_refused_quickly(tmp_path):
    start = time.monotonic()
    assert fields(tmp_path, CAMERA + CUBE + f"count = {10**18}\n") == ["assets[0].count"]
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    "good, bad, field",
    [
        ("resolution = [4, 4]\nsamples = 16777216", "resolution = [4, 4]\nsamples = 16777217", "render.samples"),
        # Blender renders a side under 4 pixels at 4 without a word
        ("resolution = [4, 4]", "resolution = [3, 4]", "render.resolution"),
        ("width = 64\nheight = 4", "width = 64\nheight = 3", "render.height"),
        ("resolution = [8192, 8192]\nsamples = 1", "resolution = [8193, 8192]\nsamples = 1", "render.resolution"),
        ("width = 8192\nheight = 8192\nsamples = 1", "width = 65536\nheight = 65536", "render.width"),
        ("resolution = [8192, 8192]\nsamples = 1024", "resolution = [8192, 8192]\nsamples = 1025", "render.samples"),
        # Blender's own limits of its colour management
        ("exposure = 32.0", "exposure = 32.001", "render.exposure"),
        ("exposure = -32.0", "exposure = -32.001", "render.exposure"),
        ("gamma = 0.01", "gamma = 0.0099", "render.gamma"),
        ("gamma = 5.0", "gamma = 5.001", "render.gamma"),
        ('look = "AgX - Punchy"', "look = 3", "render.look"),
    ],
)
def test_render_work_is_bounded(tmp_path, good, bad, field):
    assert fields(tmp_path, CAMERA + "[render]\n" + good + "\n") == []
    assert fields(tmp_path, CAMERA + "[render]\n" + bad + "\n") == [field]


@pytest.mark.parametrize(
    "value, ok",
    [
        ('"' + "x" * 128 + '"', True),
        ('"' + "x" * 129 + '"', False),
        ('"a\\nb"', False),
        ('"a\\u0000b"', False),
        ('"a\\tb"', False),
        ('" mug"', False),
        ('""', False),
        ('"tasse à café"', True),
    ],
)
def test_label_values(tmp_path, value, ok):
    found = fields(tmp_path, CAMERA + CUBE + f"labels = {{ class = {value} }}\n")
    assert found == ([] if ok else ["assets[0].labels.class"])
    found = fields(tmp_path, CAMERA + f"[labels]\nclass = [{value}]\n")
    assert found == ([] if ok else ["labels.class[0]"])


def test_labels_names_the_value_at_fault_in_a_long_list(tmp_path):
    """A [labels] list with one bad value among 30 was refused as a whole ('labels.class: got
    ["a0", "a1", ...'), the value shown cut short before the one at fault; each value at
    fault is now named by its index, a repeated one with the index it repeats."""
    values = [f"class number {i}" for i in range(30)]
    values[24] = "\u00a0nbsp"  # a no-break space at an end
    values[27] = "class number 3"
    text = CAMERA + "[labels]\nclass = [" + ", ".join(f'"{v}"' for v in values) + "]\n"
    (bad, expected_bad), (repeated, expected_repeated) = problems(tmp_path, text)
    assert bad == "labels.class[24]" and expected_bad.endswith("no spaces at the ends")
    assert repeated == "labels.class[27]" and "labels.class[3]" in expected_repeated


def test_a_label_with_spaces_at_its_ends_is_told_so_in_labels_as_in_assets(tmp_path):
    """`[labels] class = [" x"]` was refused with "... without control characters" only, which
    " x" has none of: the problem now says what is wrong, as an asset's label's does."""
    for text, field in [
        (CAMERA + CUBE + 'labels = { class = " x" }\n', "assets[0].labels.class"),
        (CAMERA + '[labels]\nclass = [" x", "y"]\n', "labels.class[0]"),
        (CAMERA + '[labels]\n" class" = ["x"]\n', "labels. class"),
    ]:
        ((got, expected),) = problems(tmp_path, text)
        assert got == field and expected.endswith("no spaces at the ends"), (got, expected)


def test_label_type_with_a_newline(tmp_path):
    found = problems(tmp_path, CAMERA + CUBE + 'labels = { "cl\\nass" = "mug" }\n')
    assert len(found) == 1 and found[0][0].startswith("assets[0].labels") and "label type" in found[0][1]


@pytest.mark.parametrize("name", ['"cam\\u0000"', '"a\\nb"', '"' + "é" * 32 + '"', '"  "'])
def test_bad_object_names(tmp_path, name):
    assert fields(tmp_path, f"[[cameras]]\nname = {name}\nlocation = [0, -2, 1]\n") == ["cameras[0].name"]


def test_a_problems_value_is_shown_as_typed_and_on_one_line(tmp_path):
    """A camera name 'カメラ' given twice was shown as got "\u30ab\u30e1\u30e9", a name
    'é' * 32 (64 bytes) as "\u00e9\u00e9...": unreadable in the language it was typed in.
    Values are shown as typed; what does not print (a newline, NUL, U+2028) stays escaped,
    so each problem is one line."""
    text = '[[cameras]]\nname = "カメラ"\nlocation = [0, -2, 1]\n[[cameras]]\nname = "カメラ"\nlocation = [0, -3, 1]\n'
    write_param(tmp_path, text, "p.toml")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "p.toml")
    assert 'got "カメラ"' in str(e.value), str(e.value)
    write_param(tmp_path, '[[cameras]]\nname = "a\u2028b\\u0000"\nlocation = [0, -2, 1]\n', "q.toml")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "q.toml")
    [line] = str(e.value).splitlines()
    assert 'got "a\\u2028b\\u0000"' in line, line


def test_nesting_thousands_deep_is_a_problem_not_a_crash(tmp_path):
    deep = {"run": {"seed": 1}, "cameras": [{"name": "c", "location": [0, 0, 1]}]}
    (tmp_path / "deep.json").write_text(json.dumps(deep)[:-1] + ', "x": ' + "[" * 100000 + "]" * 100000 + "}")
    found = problems(tmp_path, (tmp_path / "deep.json").read_text(), name="deep.json")
    assert len(found) == 1 and "nesting" in found[0][1]
    text = (
        CAMERA
        + "[[assets]]\nname = 'a'\nprimitive = 'cube'\nlabels = { class = "
        + "[" * 100000
        + "]" * 100000
        + " }\n"
    )
    found = problems(tmp_path, text)
    assert len(found) == 1 and "nesting" in found[0][1]


def test_nesting_past_the_limit_names_the_field(tmp_path):
    text = CAMERA + CUBE + "labels = { class = " + "[" * 40 + '"x"' + "]" * 40 + " }\n"
    ((field, expected),) = problems(tmp_path, text)
    assert field.startswith("assets[0].labels.class[0]") and "32 levels" in expected


def test_a_huge_json_integer_is_a_problem(tmp_path):
    text = '{"cameras": [{"name": "c", "location": [0, 0, 1]}], "run": {"seed": ' + "9" * 5000 + "}}"
    found = problems(tmp_path, text, name="p.json")
    assert len(found) == 1 and "numbers" in found[0][1]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_reading_it(tmp_path):
    os.mkfifo(tmp_path / "p.toml")
    start = time.monotonic()
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "p.toml")
    assert "regular file" in str(e.value) and time.monotonic() - start < 2


@pytest.mark.parametrize(
    "param, ok",
    [
        ('roughness = { distribution = "uniform", low = 0, high = 1 }', True),
        ('roughness = { distribution = "uniform", low = 0, high = 1e30 }', False),
        ('roughness = { distribution = "uniform", low = -0.01, high = 1 }', False),
        ('metallic = { distribution = "choice", values = [0, 1] }', True),
        ('metallic = { distribution = "choice", values = [1, 2, 3, 4, 5] }', False),
        ('metallic = { distribution = "sequence", values = [0.5, 1.5] }', False),
        ("metallic = 1.0", True),
        ("metallic = 1.01", False),
        # a normal can draw any number: a bounded parameter needs low / high (truncation)
        ('roughness = { distribution = "normal", mean = 0.5, std = 0.08 }', False),
        ('roughness = { distribution = "normal", mean = 0.5, std = 0.08, low = 0, high = 1 }', True),
        ('roughness = { distribution = "normal", mean = 0.5, std = 0.1 }', False),
        ('roughness = { distribution = "normal", mean = 0.5, std = 0.3, low = 0, high = 1 }', True),
        ('roughness = { distribution = "normal", mean = 0.5, std = 0.3, low = 0, high = 2 }', False),
        ('color = { distribution = "normal", mean = [0.5, 0.5, 0.5], std = [0.2, 0.2, 0.2] }', False),
    ],
)
def test_distribution_support_within_the_parameter_range(tmp_path, param, ok):
    text = CAMERA + CUBE + f'[[randomizers]]\ntype = "material"\ntargets = "a"\n{param}\n'
    found = fields(tmp_path, text)
    assert (found == []) == ok, found
    if not ok:
        assert len(found) == 1 and found[0].startswith("randomizers[0].")


@pytest.mark.parametrize("option, ok", [("max_tries = 1000", True), ("max_tries = 1001", False)])
def test_pose_tries_are_bounded(tmp_path, option, ok):
    text = (
        CAMERA
        + CUBE
        + f'[[randomizers]]\ntype = "pose"\ntargets = "a"\nlocation = [0, 0, 0]\nmin_distance = 100.0\n{option}\n'
    )
    assert fields(tmp_path, text) == ([] if ok else ["randomizers[0].max_tries"])


@pytest.mark.parametrize(
    "writers, ok, field",
    [
        ("basic = { png_compress_level = 9 }", True, ""),
        ("basic = { png_compress_level = 10 }", False, "writers.basic.png_compress_level"),
        ("coco = { png_compress_level = -1 }", False, "writers.coco.png_compress_level"),
        ("basic = { frame_padding = 12 }", True, ""),
        ("basic = { frame_padding = 13 }", False, "writers.basic.frame_padding"),
        ("yolo = { frame_padding = -3 }", False, "writers.yolo.frame_padding"),
        ("basic = { frame_padding = 100000 }", False, "writers.basic.frame_padding"),
        ('basic = { camera_subfolders = "sometimes" }', False, "writers.basic.camera_subfolders"),
        ('basic = { camera_subfolders = "always" }', True, ""),
        # The writer's own checks, at validation, at the option's field (before: "writers.coco",
        # the whole table as the value).
        ('coco = { split = "../../x" }', False, "writers.coco.split"),
        ('yolo = { split = "" }', False, "writers.yolo.split"),
        ('coco = { split = "Annotations" }', False, "writers.coco.split"),
        ('bop = { split = "VAL", val_every = 2 }', False, "writers.bop.split"),
        ('kitti = { image_format = "jpg", keep_alpha = true }', False, "writers.kitti.keep_alpha"),
        ("kitti = { val_every = -1 }", False, "writers.kitti.val_every"),
        ("yolo = { decimals = 17 }", True, ""),
        ("yolo = { decimals = 18 }", False, "writers.yolo.decimals"),
        ("yolo = { decimals = -1 }", False, "writers.yolo.decimals"),
        # enough for the image (640 x 480 by default): boxes 3 * 640 < 2 * 10^3, polygons 2 * 640 < 10^4
        ("yolo = { decimals = 3 }", True, ""),
        ("yolo = { decimals = 2 }", False, "writers.yolo.decimals"),
        ("yolo = { decimals = 0 }", False, "writers.yolo.decimals"),
        ("yolo = { decimals = 4, segmentation = true }", True, ""),
        ("yolo = { decimals = 3, segmentation = true }", False, "writers.yolo.decimals"),
        ("bop = { depth_scale = 0.1 }", True, ""),
        ("bop = { depth_scale = 0 }", False, "writers.bop.depth_scale"),
        ("webdataset = { frames_per_shard = 1 }", True, ""),
        ("webdataset = { frames_per_shard = 0 }", False, "writers.webdataset.frames_per_shard"),
        ("bop = { frames_per_scene = 1 }", True, ""),
        ("bop = { frames_per_scene = 0 }", False, "writers.bop.frames_per_scene"),
        ("bop = { val_every = -1 }", False, "writers.bop.val_every"),
        ("webdataset = { val_every = -1 }", False, "writers.webdataset.val_every"),
        ('coco = { polygon_convention = "opencv" }', True, ""),
        ('coco = { polygon_convention = "cv2" }', False, "writers.coco.polygon_convention"),
        ('coco = { channels = ["distance_to_camera"] }', True, ""),
        ('coco = { channels = ["rgb", "distance_to_camra"] }', False, "writers.coco.channels[1]"),  # saves nothing
        ('coco = { channels = ["camera_params"] }', False, "writers.coco.channels[0]"),  # no array: saved nothing
        ('coco = { channels = ["normals", "lidar"] }', False, "writers.coco.channels[1]"),  # no camera's
    ],
)
def test_writer_options_by_value(tmp_path, writers, ok, field):
    found = fields(tmp_path, CAMERA + f"[writers]\n{writers}\n")
    assert found == ([] if ok else [field])


@pytest.mark.parametrize(
    "side, decimals, segmentation, ok",
    [
        (666, 3, False, True),
        (667, 3, False, False),
        (66, 2, False, True),
        (67, 2, False, False),
        (499, 3, True, True),
        (500, 3, True, False),
        (65536, 6, True, True),
    ],
)
def test_yolo_decimals_must_keep_labels_on_their_pixels(side, decimals, segmentation, ok):
    from sdg_addon.writers.yolo import decimals_problem

    problem = decimals_problem({"decimals": decimals, "segmentation": segmentation}, side, 4)
    assert (problem is None) == ok, problem
    if not ok:
        assert problem.startswith(f"at least {decimals + 1} for a {side} x 4 image")


def test_yolo_decimals_are_checked_against_each_cameras_size(tmp_path):
    text = CAMERA + 'width = 700\nheight = 40\n[[cameras]]\nname = "b"\nlocation = [0, 2, 1]\n'
    assert fields(tmp_path, text + "[writers]\nyolo = { decimals = 3 }\n") == ["writers.yolo.decimals"]
    assert fields(tmp_path, text + "[writers]\nyolo = { decimals = 4 }\n") == []
    small = "[render]\nresolution = [64, 48]\n" + CAMERA
    assert fields(tmp_path, small + "[writers]\nyolo = { decimals = 2 }\n") == []
    assert fields(tmp_path, small + "[writers]\nyolo = { decimals = 1 }\n") == ["writers.yolo.decimals"]


def test_frames_bound(tmp_path):
    assert fields(tmp_path, CAMERA + "[run]\nframes = 10000000\n") == []
    assert fields(tmp_path, CAMERA + "[run]\nframes = 10000001\n") == ["run.frames"]


@pytest.mark.parametrize(
    "annotators, ok, field",
    [
        ("normals = { channels = 4 }", True, ""),
        ("normals = { channels = 5 }", False, "annotators.normals.channels"),
        ("normals = { channels = 2 }", False, "annotators.normals.channels"),
        ('normals = { space = "camera_opencv" }', True, ""),
        ('pointcloud = { space = "camera_cv" }', False, "annotators.pointcloud.space"),
        ("keypoints = { depth_tolerance = 0.0 }", True, ""),
        ("keypoints = { depth_tolerance_relative = -0.001 }", False, "annotators.keypoints.depth_tolerance_relative"),
        # 0 made every pixel occluded (status 3): the float32 depth's rounding; 1e-6 is the least
        ("forward_flow = { depth_tolerance = 1e-6 }", True, ""),
        ("forward_flow = { depth_tolerance = 0 }", False, "annotators.forward_flow.depth_tolerance"),
        ("backward_flow = { depth_tolerance = 1e-7 }", False, "annotators.backward_flow.depth_tolerance"),
        ("forward_flow = { depth_tolerance = -0.5 }", False, "annotators.forward_flow.depth_tolerance"),
        ('thermal = { encoding = "centikelvin" }', True, ""),
        ('thermal = { encoding = "uint16" }', False, "annotators.thermal.encoding"),
    ],
)
def test_annotator_options_by_value(tmp_path, annotators, ok, field):
    camera = CAMERA + ('sensor = "thermal"\n' if annotators.startswith("thermal") else "")  # what makes it
    assert fields(tmp_path, camera + f"[annotators]\nrgb = {{}}\n{annotators}\n") == ([] if ok else [field])


def test_options_given_through_the_python_api_are_checked_by_their_declaration(tmp_path):
    from sdg_addon.annotators import create_annotator
    from sdg_addon.writers import create_writer

    with pytest.raises(ValueError, match="writer 'bop': frames_per_scene 0: expected a whole number >= 1"):
        create_writer("bop", tmp_path, frames_per_scene=0)
    with pytest.raises(ValueError, match="annotator 'normals': space 'x': expected one of"):
        create_annotator("normals", space="x")
    assert create_writer("bop", tmp_path, depth_scale=2).options["depth_scale"] == 2.0  # converted
    with pytest.raises(ValueError, match="has no option"):
        create_annotator("normals", spaces="world")


@pytest.mark.parametrize(
    "entry, option",
    [
        ('type = "pose"\ntargets = "a"', "min_distance"),
        ('type = "scatter"\ntargets = "a"', "radius"),
        ('type = "scatter"\ntargets = "a"\nsurface = "a"', "min_normal_z"),
        ('type = "physics_settle"\ntargets = "a"', "rest_speed"),
        ('type = "physics_settle"\ntargets = "a"', "friction"),
        ('type = "physics_settle"\ntargets = "a"', "damping"),
    ],
)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_randomizer_number_options_are_finite(tmp_path, entry, option, value):
    """A randomizer's numeric option is checked by its declaration (config.fields.Field):
    nan and inf (TOML has both) are no numbers, whatever the bounds."""
    text = CAMERA + CUBE + f"[[randomizers]]\n{entry}\n{option} = {value}\n"
    assert fields(tmp_path, text) == [f"randomizers[0].{option}"]


@pytest.mark.parametrize(
    "option, good, bad",
    [
        ("min_distance", "1e6", "1000000.001"),
        ("max_tries", "1000", "1001"),
    ],
)
def test_randomizer_option_bounds_at_the_limit(tmp_path, option, good, bad):
    text = CAMERA + CUBE + '[[randomizers]]\ntype = "pose"\ntargets = "a"\nlocation = [0, 0, 0]\n'
    assert fields(tmp_path, text + f"{option} = {good}\n") == []
    assert fields(tmp_path, text + f"{option} = {bad}\n") == [f"randomizers[0].{option}"]


def test_physics_settle_rest_speed_is_above_zero(tmp_path):
    """rest_speed = 0 was taken, and no target ever came to rest (Bullet's resting bodies
    still move by float noise): a box lying still on the ground was said 'not at rest ...
    fallen off the passive objects or through them'; 0 is refused, 1e-9 taken."""
    text = CAMERA + CUBE + '[[randomizers]]\ntype = "physics_settle"\ntargets = "a"\n'
    assert fields(tmp_path, text + "rest_speed = 1e-9\n") == []
    assert fields(tmp_path, text + "rest_speed = 0\n") == ["randomizers[0].rest_speed"]


@pytest.mark.parametrize(
    "entry, option, value",
    [
        ('type = "scatter"\ntargets = "a"', "center", "[0, 0, nan]"),
        ('type = "scatter"\ntargets = "a"', "center", "[0, 0, 1.1e6]"),
        ('type = "scatter"\ntargets = "a"', "size", "[1, inf, 1]"),
        ('type = "scatter"\ntargets = "a"', "size", "[1, -0.1, 1]"),
        ('type = "camera_look_at"\ntargets = "cam"\nshell = "path"', "path", "[[0, 0, 1], [1, 1, nan]]"),
        ('type = "camera_look_at"\ntargets = "cam"\nshell = "path"', "path", "[[0, 0, 1], [1, -inf, 1]]"),
        ('type = "camera_look_at"\ntargets = "cam"\nshell = "path"', "path", "[[0, 0, 1], [1, 1.1e6, 1]]"),
    ],
)
def test_randomizer_point_options_are_finite_coordinates(tmp_path, entry, option, value):
    """A point or size an option gives (scatter's volume, a camera path) is refused when a
    coordinate is nan, inf or past the coordinates' sanity limit, as a field's would be."""
    text = CAMERA + CUBE + f"[[randomizers]]\n{entry}\n{option} = {value}\n"
    assert fields(tmp_path, text) == [f"randomizers[0].{option}"]
    good = {"center": "[0, 0, -1e6]", "size": "[0, 1e6, 1]", "path": "[[0, 0, 1], [1e6, -1e6, 1]]"}[option]
    assert fields(tmp_path, text.replace(f"{option} = {value}", f"{option} = {good}")) == []


@pytest.mark.parametrize(
    "entry, option",
    [
        ('type = "scatter"\ntargets = "a"', "surface"),
        ('type = "scatter"\ntargets = "a"', "avoid"),
        ('type = "physics_settle"\ntargets = "a"', "passive"),
        ('type = "camera_look_at"\ntargets = "cam"\ndistance = 2', "look_at"),
        ('type = "camera"\ntargets = "cam"', "look_at_objects"),
    ],
)
@pytest.mark.parametrize("value", ["[1, 2]", '[["a"]]', '[""]', '["a\\nb"]', "[1979-05-27]"])
def test_a_glob_list_option_holds_globs(tmp_path, entry, option, value):
    """An option documented as "glob or list of globs" refuses a list of anything else
    (was: accepted, then the render stopped with a TypeError in fnmatch)."""
    text = CAMERA + CUBE + f"[[randomizers]]\n{entry}\n{option} = {value}\n"
    assert fields(tmp_path, text) == [f"randomizers[0].{option}"]
    assert fields(tmp_path, text.replace(f"{option} = {value}", f'{option} = ["a", "b*"]')) == []


@pytest.mark.parametrize(
    "entry, option",
    [
        ('type = "pose"', "targets"),
        ('type = "scatter"\ntargets = "a"', "surface"),
        ('type = "scatter"\ntargets = "a"', "avoid"),
        ('type = "physics_settle"\ntargets = "a"', "passive"),
        ('type = "camera"\ntargets = "cam"', "look_at_objects"),
        ('type = "sensor"\ntargets = "cam"', "focus_target"),
        ('type = "material_swap"\ntargets = "a"', "materials"),
    ],
)
@pytest.mark.parametrize("value", ['"a\\tb"', '"a\\nb"', '["a", "b\\u0000"]'])
def test_strings_of_options_hold_no_control_characters(tmp_path, entry, option, value):
    """docs/parameters.md: "Strings hold no control characters (newline, tab, NUL)"; a
    randomizer's targets and string options too (were accepted, then matched nothing)."""
    if option == "focus_target" and value.startswith("["):
        return  # a plain string option: a list is refused as any wrong type
    text = CAMERA + CUBE + f"[[randomizers]]\n{entry}\n{option} = {value}\n"
    assert fields(tmp_path, text) == [f"randomizers[0].{option}"]


@pytest.mark.parametrize(
    "sequence, ok",
    [
        ("start_frame = 1048574", True),  # stills: the one scene frame is Blender's last
        ("start_frame = 1048575", False),
        ("clip_length = 10\nstart_frame = 1048564", True),  # scene frames 1048564 .. 1048574 (one after)
        ("clip_length = 10\nstart_frame = 1048565", False),  # the frame after its last would be 1048575
        ("clip_length = 10\nstart_frame = 1048566", False),  # its last frame would be 1048575
        ("clip_length = 10\nstart_frame = -1048573", True),  # the frame before its first is -1048574
        ("clip_length = 10\nstart_frame = -1048574", False),
        ("start_frame = -1048574", True),  # stills: no frame either side
    ],
)
def test_a_clip_ends_by_blenders_last_frame(tmp_path, sequence, ok):
    """Frame i of a clip shows scene frame start_frame + i; Blender sets a frame past
    1048574 to 1048574 without a word, so the clip's last frames would all show that one.
    A clip is evaluated one frame either side too, which Cycles' vector pass reads: at
    start_frame = 1048573 with clip_length 2 the last frame's forward motion vectors were 0."""
    text = CAMERA + "[run]\nframes = 10\n[sequence]\n" + sequence + "\n"
    assert fields(tmp_path, text) == ([] if ok else ["sequence.start_frame"])


@pytest.mark.parametrize(
    "param, ok",
    [
        ('roughness = { distribution = "normal", mean = 0.5, std = 0.08 }', False),  # ± 6 std inside [0, 1]
        ('roughness = { distribution = "normal", mean = 0.5, std = 0.08, low = 0, high = 1 }', True),
        ('location = { distribution = "normal", mean = [0, 0, 0], std = [1000, 1000, 1000] }', True),
        ('location = { distribution = "normal", mean = [0, 0, 0], std = [90000, 1, 1] }', False),  # 12 std > 1e6
    ],
)
def test_an_open_normal_against_a_range_as_the_docs_say(tmp_path, param, ok):
    """docs/parameters.md: a range such as 0 .. 1 takes a normal only with a clip, whatever
    its std (the page said one within mean ± 6 std needed none); the ±1e6 sanity limits take
    an open normal whose mean ± 12 std lies inside."""
    kind = "material" if param.startswith("roughness") else "pose"
    text = CAMERA + CUBE + f'[[randomizers]]\ntype = "{kind}"\ntargets = "a"\n{param}\n'
    assert (fields(tmp_path, text) == []) == ok
    for page in ("parameters.md", "reliability.md"):
        text = (Path(__file__).resolve().parents[1] / "docs" / page).read_text(encoding="utf-8")
        assert "± 6 std" not in text and "± 6 standard" not in text, page


@pytest.mark.parametrize(
    "fps, ok", [("1e-6", True), ("0.99e-6", False), ("3.2767e9", True), ("3.28e9", False), ("24", True)]
)
def test_sequence_fps_is_a_rate_blender_takes(tmp_path, fps, ok):
    """sequence.fps becomes Blender's fps / fps_base (1 .. 32767 over 1e-5 .. 1e6), which
    sets a rate beyond 1e-6 .. 3.2767e9 to the nearest without a word (a rigid body clip
    then simulated another time step than the file says)."""
    assert fields(tmp_path, CAMERA + f"[sequence]\nfps = {fps}\n") == ([] if ok else ["sequence.fps"])
    bpy = pytest.importorskip("bpy")
    render = bpy.data.scenes.new("fps").render
    try:
        wanted = float(fps)
        render.fps = min(32767, max(1, round(wanted)))  # as scene.motion sets it
        render.fps_base = render.fps / wanted
        assert (abs(render.fps / render.fps_base - wanted) <= 1e-6 * wanted) == ok
    finally:
        bpy.data.scenes.remove(render.id_data)


@pytest.mark.parametrize(
    "entry, key",
    [
        ('type = "scatter"\ntargets = "a"\nvolume = "sphere"', "radius"),
        ('type = "physics_settle"\ntargets = "a"', "drop"),
    ],
)
def test_scatter_radius_and_drop_are_bounded_as_coordinates(tmp_path, entry, key):
    """A scatter sphere's radius and physics_settle's drop were only >= 0: radius = 1e300
    placed objects 1e299 m out ("placed": true), drop = 1e300 dropped them from there, where
    every other length stops at 1e6 m (Blender's single-precision geometry)."""
    text = CAMERA + CUBE + f"[[randomizers]]\n{entry}\n"
    assert fields(tmp_path, text + f"{key} = 1e6\n") == []
    assert fields(tmp_path, text + f"{key} = 1000000.001\n") == [f"randomizers[0].{key}"]
