"""Validation of placement randomizers and corner cases (no bpy), and their pure parts."""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sdg_addon.config.problems import ConfigError
from sdg_addon.config.schema import config_from_dict
from sdg_addon.sampling.camera import point_on_path
from sdg_addon.sampling.cases import assign_frames
from sdg_addon.sampling.rotations import euler_matrix, matrix_euler, random_rotation

HEAD = """
[run]
frames = 10
[[cameras]]
name = "cam"
location = [0, -2, 1]
[[assets]]
name = "mug"
primitive = "cylinder"
labels = { class = "mug" }
"""


def problems(text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as e:
        config_from_dict(tomllib.loads(HEAD + text), Path("p.toml"))
    return {p.field: p.expected for p in e.value.problems}


def test_bad_scatter_options_are_named():
    found = problems(
        '[[randomizers]]\ntype = "scatter"\ntargets = "mug"\norientation = "sideways"\nsize = [1, -1, 1]\n'
        "min_normal_z = 1.5\n"
    )
    assert "upright" in found["randomizers[0].orientation"]
    assert ">= 0" in found["randomizers[0].size"]
    assert ">= -1 and <= 1" in found["randomizers[0].min_normal_z"]


SCATTER = '[[randomizers]]\ntype = "scatter"\ntargets = "mug"\n'


@pytest.mark.parametrize(
    "extra, field, said",
    [
        ('surface = "table"\nrotation = [90, 0, 0]\n', "rotation", 'only with orientation = "random"'),
        ('surface = "table"\norientation = "normal"\nrotation = [90, 0, 0]\n', "rotation", "by `yaw`"),
        ('surface = "table"\norientation = "random"\nyaw = 30\n', "yaw", "give `rotation`"),
        ("yaw = 30\nrotation = [90, 0, 0]\n", "yaw", "not together with `rotation`"),
        ('orientation = "random"\nyaw = 30\n', "yaw", 'only with orientation = "upright"'),
    ],
)
def test_a_scatter_yaw_or_rotation_its_orientation_would_not_apply_is_refused(extra, field, said):
    """An upright object scattered on a surface with rotation = [90, 0, 0] was placed with a
    uniform yaw, the rotation drawn and never applied; now refused, as the other pairs where
    the orientation uses one of them and not the other."""
    found = problems(SCATTER + extra)
    assert list(found) == [f"randomizers[0].{field}"] and said in found[f"randomizers[0].{field}"], found


@pytest.mark.parametrize(
    "extra",
    [
        'surface = "table"\nyaw = 30\n',
        'surface = "table"\norientation = "normal"\nyaw = 30\n',
        'surface = "table"\norientation = "random"\nrotation = [90, 0, 0]\n',
        "yaw = 30\n",
        "rotation = [90, 0, 0]\n",
        'orientation = "random"\nrotation = [90, 0, 0]\n',
    ],
)
def test_a_scatter_yaw_or_rotation_its_orientation_applies_is_taken(extra):
    config_from_dict(tomllib.loads(HEAD + SCATTER + extra), Path("p.toml"))


@pytest.mark.parametrize(
    "extra, field, said",
    [
        ("radius = 2\n", "radius", 'only with volume = "sphere"'),
        ('volume = "box"\nradius = 2\n', "radius", 'only with volume = "sphere"'),
        ('volume = "sphere"\nsize = [2, 2, 2]\n', "size", 'only with volume = "box"'),
        ('surface = "table"\ncenter = [0, 0, 1]\n', "center", "only in volume mode"),
        ('surface = "table"\nvolume = "sphere"\n', "volume", "only in volume mode"),
        ("min_normal_z = 0.9\n", "min_normal_z", "only with `surface`"),
    ],
)
def test_a_scatter_option_its_region_does_not_use_is_refused(extra, field, said):
    """`radius = 2` without `volume = "sphere"` scattered in the default 1 m box, the radius
    read and never used, validate saying OK; likewise a sphere's `size`, a surface's
    `center` or `volume`, a volume's `min_normal_z`. Each is now refused, naming the option
    that would use it."""
    found = problems(SCATTER + extra)
    assert list(found) == [f"randomizers[0].{field}"] and said in found[f"randomizers[0].{field}"], found


@pytest.mark.parametrize(
    "extra",
    [
        'volume = "sphere"\nradius = 2\ncenter = [0, 0, 1]\n',
        'volume = "box"\nsize = [2, 2, 1]\ncenter = [0, 0, 1]\n',
        'surface = "table"\nmin_normal_z = 0.9\n',
        'surface = ""\nsize = [2, 2, 1]\n',
    ],
)
def test_a_scatter_option_its_region_uses_is_taken(extra):
    config_from_dict(tomllib.loads(HEAD + SCATTER + extra), Path("p.toml"))


class _EmptyRoom:
    """Scene facts of a scene where anything fits (a volume scatter reads no geometry)."""

    def names(self):
        return ["mug"]

    def layout(self, names):
        return SimpleNamespace(fits=lambda name, matrix: True, add=lambda name, matrix: None)


def test_a_scatter_in_a_volume_turns_about_z_by_default_as_its_fields_say():
    """In a volume the default orientation (upright) turns the object about world Z only; the
    docs said the volume mode drew a rotation uniform over all orientations by default."""
    from sdg_addon.sampling import sample_frame
    from sdg_addon.sampling.placement import Scatter

    def tilts(extra: str) -> np.ndarray:
        cfg = config_from_dict(tomllib.loads(HEAD + SCATTER + "scale = 1\n" + extra), Path("p.toml"))
        drawn = [sample_frame(1, f, cfg.randomizers, [["mug"]], facts=_EmptyRoom()) for f in range(400)]
        return np.array([euler_matrix(d[0]["values"]["mug"]["rotation"])[2, 2] for d in drawn])  # z of +Z

    assert np.allclose(tilts(""), 1.0)  # upright: +Z stays up
    tilted = tilts('orientation = "random"\n')
    assert abs(tilted.mean()) < 0.1 and tilted.min() < -0.9  # uniform: z of +Z uniform in [-1, 1]
    assert "in a volume" in Scatter.OPTIONS["orientation"].doc
    assert not Scatter.OPTIONS["orientation"].doc.startswith("surface mode")
    assert "`upright`: a uniform yaw only" in Scatter.PARAMS["rotation"][1]


def test_camera_relative_needs_a_depth_and_look_at_a_distance_or_path():
    found = problems('[[randomizers]]\ntype = "camera_relative"\ntargets = "mug"\n')
    assert "depth" in found["randomizers[0].depth"]
    found = problems('[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\nshell = "path"\npath = [[0, 0, 1]]\n')
    assert "at least 2 points" in found["randomizers[0].path"]
    found = problems('[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\n')
    assert "distance" in found["randomizers[0].distance"]


def test_camera_look_at_refuses_what_its_shell_does_not_use():
    """On a path, distance / elevation / azimuth were drawn and never applied (the path places
    the camera), as path_position and a path on a sphere or hemisphere; now each is refused."""
    on_path = (
        '[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\nshell = "path"\npath = [[0, -2, 1], [1, -2, 1]]\n'
    )
    found = problems(on_path + "distance = 5\nelevation = 80\nazimuth = 3\n")
    assert set(found) == {f"randomizers[0].{k}" for k in ("distance", "elevation", "azimuth")}
    assert all("path places the camera" in e for e in found.values())
    found = problems('[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\ndistance = 2\npath_position = 0.5\n')
    assert (
        list(found) == ["randomizers[0].path_position"]
        and 'only with shell = "path"' in found["randomizers[0].path_position"]
    )
    config_from_dict(tomllib.loads(HEAD + on_path + "path_position = 0.5\nroll = 3\n"), Path("p.toml"))
    # a path without shell = "path": the camera orbited the hemisphere, the path never used
    for shell in ("", 'shell = "sphere"\n'):
        found = problems(
            f'[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\ndistance = 2\n{shell}path = [[0, -2, 1], [1, -2, 1]]\n'
        )
        assert list(found) == ["randomizers[0].path"] and 'only with shell = "path"' in found["randomizers[0].path"]


def test_camera_relative_rotation_is_not_given_with_random_rotation():
    """Both drawn, one applied (random_rotation's): the given rotation was never used."""
    found = problems(
        '[[randomizers]]\ntype = "camera_relative"\ntargets = "mug"\ndepth = 1\nrotation = [0, 0, 45]\nrandom_rotation = true\n'
    )
    assert (
        list(found) == ["randomizers[0].rotation"]
        and "not together with random_rotation" in found["randomizers[0].rotation"]
    )


def test_cases_are_validated():
    found = problems(
        '[[cases]]\nname = "a"\nframes = 6\nmin = 0.5\n'
        '[[cases]]\nname = "a"\nframes = 5\nset = [{ type = "light", target = "k", watts = 3 }]\n'
        '[[cases]]\nname = "c"\nframes = 1\nmeasure = "blur"\n'
    )
    assert "not used by another case" in found["cases[1].name"]
    assert "'energy'" in found["cases[1].set[0].watts"]
    assert "occlusion" in found["cases[2].measure"]
    assert "a fixed case" in found["cases[2]"]  # neither set nor min/max
    assert "at most run.frames (10)" in found["cases"]


def test_case_frames_disjoint_and_a_function_of_seed_and_frames_only():
    cfg = config_from_dict(
        tomllib.loads(
            HEAD + '[[cases]]\nname = "a"\nframes = 4\nmin = 0.5\n[[cases]]\nname = "b"\nframes = 6\nmin = 0\n'
        ),
        Path("p.toml"),
    )
    a = assign_frames(3, 10, cfg.cases)
    assert sorted(a["a"] + a["b"]) == list(range(10))  # every frame used once (4 + 6 = 10)
    assert a == assign_frames(3, 10, cfg.cases)
    assert a != assign_frames(4, 10, cfg.cases)


def test_rotations_round_trip_and_uniform():
    rng = np.random.default_rng(0)
    for _ in range(50):
        r = random_rotation(rng)
        assert np.allclose(r @ r.T, np.eye(3)) and np.isclose(np.linalg.det(r), 1)
        assert np.allclose(euler_matrix(matrix_euler(r)), r, atol=1e-9)
    # Uniform over SO(3): the rotated +Z axis is uniform on the sphere (mean ~0, z uniform).
    z = np.array([random_rotation(rng)[:, 2] for _ in range(4000)])
    assert np.all(np.abs(z.mean(axis=0)) < 0.05)
    assert abs(np.mean(z[:, 2] ** 2) - 1 / 3) < 0.02


def test_point_on_path_by_length():
    path = [[0, 0, 0], [1, 0, 0], [1, 3, 0]]  # lengths 1 and 3
    assert point_on_path(path, 0.0) == [0, 0, 0]
    assert point_on_path(path, 0.25) == pytest.approx([1, 0, 0])
    assert point_on_path(path, 0.5) == pytest.approx([1, 1, 0])
    assert point_on_path(path, 1.0) == pytest.approx([1, 3, 0])


def test_asset_pool_glob_is_validated(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.glb").write_bytes(b"")
    (tmp_path / "models" / "b.txt").write_text("")
    base = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'

    def load(text):
        return config_from_dict(tomllib.loads(base + text), tmp_path / "p.toml")

    cfg = load('[[assets]]\nname = "m"\nfiles = "models/*"\nlabel_from = "file"\n')
    assert [Path(f).name for f in cfg.assets[0].pool_files] == ["a.glb"]  # not the .txt
    assert cfg.assets[0].pool_labels == [{"class": ["a"]}]
    with pytest.raises(ConfigError) as e:
        load(
            '[[assets]]\nname = "m"\nfiles = "nothing/*.glb"\n'
            '[[assets]]\nname = "n"\nprimitive = "cube"\nfiles = "models/*"\n'
            '[[assets]]\nname = "o"\nprimitive = "cube"\nlabel_from = "folder"\n'
            '[[assets]]\nname = "p"\nfiles = "models/*.glb"\n'
            '[[assets]]\nname = "p_000"\nprimitive = "cube"\n'
        )
    found = {p.field: p.expected for p in e.value.problems}
    assert "a glob matching model files" in found["assets[0].files"]
    assert "either primitive or files, not both" in found["assets[1].files"]
    assert "asset pools only" in found["assets[2].label_from"]
    assert "assets[3] has it" in found["assets[4].name"]  # the pool's first object is p_000


def test_pool_randomizer_needs_k():
    found = problems('[[randomizers]]\ntype = "pool"\ntargets = "mug"\n')
    assert "how many" in found["randomizers[0].k"]


def test_camera_relative_must_come_after_what_moves_the_camera():
    found = problems(
        '[[randomizers]]\ntype = "camera_relative"\ntargets = "mug"\ndepth = 1\n'
        '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ndistance = 2\n'
    )
    assert "after randomizers[1] (camera)" in found["randomizers[0]"]
    ok = HEAD + (
        '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ndistance = 2\n'
        '[[randomizers]]\ntype = "camera_relative"\ntargets = "mug"\ndepth = 1\n'
    )
    assert len(config_from_dict(tomllib.loads(ok), Path("p.toml")).randomizers) == 2


def test_a_distractor_pool_takes_no_labels(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.glb").write_bytes(b"")
    base = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n[[assets]]\nname = "j"\nfiles = "junk/*.glb"\n'
    cfg = config_from_dict(tomllib.loads(base + "distractor = true\n"), tmp_path / "p.toml")
    assert cfg.assets[0].pool_labels == [{}] and cfg.label_order() == {}
    with pytest.raises(ConfigError) as e:
        config_from_dict(tomllib.loads(base + 'distractor = true\nlabel_from = "folder"\n'), tmp_path / "p.toml")
    assert "distractor" in str(e.value)


def test_camera_location_is_not_given_with_the_orbit():
    """A camera's `location` or its orbit (`distance`, `elevation`, `azimuth`), not both:
    one would silently override the other."""
    found = problems(
        '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nlocation = [0, -2, 1]\ndistance = 2\nazimuth = 10\n'
    )
    assert "not together with" in found["randomizers[0].location"]
    ok = HEAD + '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nlocation = [0, -2, 1]\nroll = 10\n'
    assert len(config_from_dict(tomllib.loads(ok), Path("p.toml")).randomizers) == 1


def test_camera_looks_at_a_point_or_at_objects():
    found = problems(
        '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nlook_at = [0, 0, 0]\nlook_at_objects = "mug"\n'
    )
    assert "not together with" in found["randomizers[0].look_at_objects"]


@pytest.mark.parametrize("aim", ["look_at = [0, 0, 0]", "roll = 10", "distance = 2", 'look_at_objects = "mug"'])
def test_camera_rotation_is_not_given_with_an_aim(aim):
    """`rotation` turns the camera itself (a pose as location and angles): an aim beside it
    would be ignored without a word, so the two are refused together; with `location`, fine."""
    cam = '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nrotation = [74, 0, 0]\n'
    found = problems(cam + aim + "\n")
    assert "not together with" in found["randomizers[0].rotation"], found
    ok = HEAD + cam + "location = [0, -2, 1]\n"
    assert len(config_from_dict(tomllib.loads(ok), Path("p.toml")).randomizers) == 1


def test_look_at_count_draws_from_look_at_objects():
    """`look_at_count`: how many of `look_at_objects` to aim at (0: all); nothing to draw
    from without them; a count below 0 refused at the edge."""
    cam = '[[randomizers]]\ntype = "camera"\ntargets = "cam"\nlocation = [0, -2, 1]\n'
    found = problems(cam + "look_at_count = 2\n")
    assert "with `look_at_objects`" in found["randomizers[0].look_at_count"]
    assert "randomizers[0].look_at_count" in problems(cam + 'look_at_objects = "mug*"\nlook_at_count = -1\n')
    for ok in (0, 1):
        text = HEAD + cam + f'look_at_objects = "mug*"\nlook_at_count = {ok}\n'
        assert len(config_from_dict(tomllib.loads(text), Path("p.toml")).randomizers) == 1


def test_physics_friction_takes_blenderprocs_values():
    """BlenderProc's BOP scripts settle objects with friction 100 (nothing slides); Bullet
    takes any coefficient >= 0. Bounded at 1000, the edge included."""
    settle = '[[randomizers]]\ntype = "physics_settle"\ntargets = "mug"\ndamping = 0.99\nfriction = {}\n'
    for ok in (100, 1000):
        cfg = config_from_dict(tomllib.loads(HEAD + settle.format(ok)), Path("p.toml"))
        assert cfg.randomizers[0].options["friction"] == ok
    assert "randomizers[0].friction" in problems(settle.format(1000.5))
    assert "randomizers[0].friction" in problems(settle.format(-0.1))


def test_a_pool_of_symbolic_links_is_labelled_by_the_links(tmp_path):
    """A class folder of links into a raw model store (mug/a.glb -> ../raw/123.glb): each
    member was the link's target, labelled by the target's folder and name ("raw", "123"),
    and two links to one model (in two classes) made one member. The links are the pool's
    files now, as globbed: their folders and names label them."""
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "123.glb").write_bytes(b"")
    for cls, name in (("mug", "a"), ("cup", "b")):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / f"{name}.glb").symlink_to(Path("..") / "raw" / "123.glb")
    text = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n[[assets]]\nname = "m"\nfiles = "*u*/*.glb"\n'
    for label_from, classes in (("folder", [["cup"], ["mug"]]), ("file", [["b"], ["a"]])):
        table = tomllib.loads(text + f'label_from = "{label_from}"\n')  # mug/, cup/: not raw/
        cfg = config_from_dict(table, tmp_path / "p.toml")
        a = cfg.assets[0]
        assert [Path(f).relative_to(tmp_path.resolve()).as_posix() for f in a.pool_files] == ["cup/b.glb", "mug/a.glb"]
        assert [x["class"] for x in a.pool_labels] == classes


def test_a_pools_class_from_its_top_folder(tmp_path):
    """Model stores nest each model's files (Google Scanned Objects: NAME/meshes/model.obj,
    a class folder with versions below it): `folder` gave every member 'meshes' (or the
    version), `file` 'model'. `top_folder` takes the first folder below the glob's part
    without wildcards."""
    for rel in ("gso/Mug_1/meshes/model.obj", "gso/Can_2/meshes/model.obj", "lib/mug/v2/a.glb", "lib/can/b.glb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    head = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'

    def classes(files: str) -> list[str]:
        text = head + f'[[assets]]\nname = "m"\nfiles = "{files}"\nlabel_from = "top_folder"\n'
        return [x["class"][0] for x in config_from_dict(tomllib.loads(text), tmp_path / "p.toml").assets[0].pool_labels]

    assert classes("gso/*/meshes/model.obj") == ["Can_2", "Mug_1"]
    assert classes("lib/**/*.glb") == ["can", "mug"]
    assert classes((tmp_path / "gso").as_posix() + "/*/*/*.obj") == ["Can_2", "Mug_1"]  # an absolute glob
    with pytest.raises(ConfigError) as e:
        classes("lib/can/*.glb")  # b.glb lies in the glob's fixed folder: no folder below it
    assert [p.field for p in e.value.problems] == ["assets[0].label_from"]
    assert "files in sub-folders of" in e.value.problems[0].expected


def test_a_pool_in_turn_shows_every_member_within_n_over_k_frames():
    """Drawn at random, a pool of 200 with k = 3 shows each member only in expectation
    (about 650 frames for all, 99 % odds). `order = "cycle"` shows them in turn."""
    from sdg_addon.sampling import sample_frame

    text = HEAD + '[[randomizers]]\ntype = "pool"\ntargets = "m_*"\nk = 3\norder = "cycle"\n'
    cfg = config_from_dict(tomllib.loads(text), Path("p.toml"))
    names = [f"m_{i:03d}" for i in range(200)]
    shown = []
    for f in range(67):
        values = sample_frame(cfg.seed, f, cfg.randomizers, [names])[0]["values"]
        shown.append(sorted(n for n, v in values.items() if v["shown"]))
    assert shown[0] == ["m_000", "m_001", "m_002"] and shown[1] == ["m_003", "m_004", "m_005"]
    assert all(len(s) == 3 for s in shown) and {n for s in shown for n in s} == set(names)
    assert shown[66] == ["m_000", "m_198", "m_199"]  # wraps round
    found = problems(
        '[[randomizers]]\ntype = "pool"\ntargets = "m_*"\norder = "cycle"\n'
        'k = { distribution = "uniform_int", low = 1, high = 3 }\n'
    )
    assert "a whole number" in found["randomizers[0].k"]


def test_a_pools_class_from_a_name_that_is_no_label_value_is_refused(tmp_path):
    """label_from took folder and file names as they were: a folder 'mug ' (a space at its
    end), one with a newline or over 128 characters passed `validate --no-scene`, and the
    built scene stopped on "Object 'm_000': label value ..." naming neither the file nor
    the field. Such a name is refused as the parameter file's labels are, naming
    assets[i].label_from, the name and its file."""
    for rel in ("models/mug /a.obj", "models/new\nline/b.obj", f"models/{'x' * 129}/c.obj", "models/ok/d.obj"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    text = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n[[assets]]\nname = "m"\nfiles = "models/*/*.obj"\n'
    with pytest.raises(ConfigError) as e:
        config_from_dict(tomllib.loads(text + 'label_from = "folder"\n'), tmp_path / "p.toml")
    [problem] = e.value.problems
    assert problem.field == "assets[0].label_from"
    assert "'mug '" in problem.expected and "'new\\nline'" in problem.expected and "'x" in problem.expected
    assert "'ok'" not in problem.expected and "mug /a.obj" in problem.expected
    (tmp_path / "models" / "ok" / " e.obj").write_bytes(b"")
    with pytest.raises(ConfigError) as e:
        config_from_dict(
            tomllib.loads(text.replace("*/*.obj", "ok/*.obj") + 'label_from = "file"\n'), tmp_path / "p.toml"
        )
    assert "' e'" in e.value.problems[0].expected
    cfg = config_from_dict(
        tomllib.loads(text.replace("*/*.obj", "ok/d.obj") + 'label_from = "file"\n'), tmp_path / "p.toml"
    )
    assert cfg.assets[0].pool_labels == [{"class": ["d"]}]


def test_a_pools_class_from_a_decomposed_name_is_the_composed_label(tmp_path):
    """A folder 'café' made on macOS (or unpacked from a zip made there) is spelt decomposed
    (NFD: 'e' + U+0301), a parameter file's [labels] class = ["café"] composed (NFC): the
    pool's members got a class of their own, after the declared one, and COCO listed two
    categories 'café' that print alike (the declared one with no objects). The names
    label_from takes are composed (NFC): one class."""
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    (tmp_path / "models" / nfd).mkdir(parents=True)
    (tmp_path / "models" / nfd / f"{nfd}.obj").write_bytes(b"")
    head = f'[labels]\nclass = ["{nfc}"]\n[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
    for label_from in ("folder", "top_folder", "file"):
        text = head + f'[[assets]]\nname = "m"\nfiles = "models/*/*.obj"\nlabel_from = "{label_from}"\n'
        cfg = config_from_dict(tomllib.loads(text), tmp_path / "p.toml")
        assert cfg.assets[0].pool_labels == [{"class": [nfc]}], label_from


def test_an_entry_showing_what_placers_left_is_warned_once():
    """A visibility entry after a scatter and a physics_settle of the same objects was warned
    twice, once after each; it is named once, after the first; one drawing only false, none."""
    from sdg_addon.sampling.placement import shown_after_placing

    entries = (
        '[[randomizers]]\ntype = "scatter"\ntargets = "mug"\nvolume = "box"\n'
        '[[randomizers]]\ntype = "physics_settle"\ntargets = "mug"\n'
        '[[randomizers]]\ntype = "visibility"\ntargets = "mug"\nvisible = {}\n'
    )
    for visible, said in (("true", 1), ('{ distribution = "choice", values = [true, false] }', 1), ("false", 0)):
        cfg = config_from_dict(tomllib.loads(HEAD + entries.format(visible)), Path("p.toml"))
        warnings = shown_after_placing(cfg.randomizers, [["mug"]] * 3)
        assert len(warnings) == said, warnings
        if said:
            assert warnings[0].startswith("randomizers[2] (visibility) can show mug after randomizers[0] (scatter)")


def test_copies_no_entry_places_are_warned():
    """rep.create.cube(count=3) without a position: three copies built at one place, no entry
    placing them, rendered inside one another without a word (which one a pixel shows was
    Cycles' tie, differing between two processes of one run). Warned; placed copies, a pool's
    or one copy are not."""
    from sdg_addon.sampling.placement import copies_on_one_spot

    head = HEAD.replace('name = "mug"', 'name = "mug"\ncount = 3')
    mugs = [["mug_000", "mug_001", "mug_002"]]
    for entry, said in (
        ('type = "material"\ntargets = "mug*"\nroughness = 0.5', True),
        ('type = "pose"\ntargets = "mug*"\nrotation = [0, 0, 30]', True),
        (
            'type = "pose"\ntargets = "mug*"\nlocation = { distribution = "uniform", low = [-1, -1, 0], high = [1, 1, 0] }',
            False,
        ),
        ('type = "scatter"\ntargets = "mug*"\nvolume = "box"', False),
        ('type = "pool"\ntargets = "mug*"\nk = 1', False),
    ):
        cfg = config_from_dict(tomllib.loads(head + f"[[randomizers]]\n{entry}\n"), Path("p.toml"))
        warnings = copies_on_one_spot(cfg.assets, cfg.randomizers, mugs)
        assert bool(warnings) == said, (entry, warnings)
        if said:
            assert warnings[0].startswith("assets[0] (mug): mug_000, mug_001, mug_002 are built at one place")
    cfg = config_from_dict(tomllib.loads(HEAD), Path("p.toml"))
    assert copies_on_one_spot(cfg.assets, [], []) == []
