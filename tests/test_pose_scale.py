"""pose.scale: a number (uniform, as before: same draws) or a list of 3 (per axis), from
every distribution form a vec3 takes; bad values named by file, field and value (no bpy)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sdg_addon.config.problems import ConfigError
from sdg_addon.config.schema import config_from_dict
from sdg_addon.sampling import sample_frame
from sdg_addon.sampling.randomizers import as_vec3

HEAD = """
[run]
frames = 4
seed = 11
[[cameras]]
name = "cam"
location = [0, -2, 1]
[[assets]]
name = "a"
primitive = "cube"
labels = { class = "box" }
[[assets]]
name = "b"
primitive = "sphere"
labels = { class = "ball" }
"""


def config(text: str):
    return config_from_dict(tomllib.loads(HEAD + text), Path("scene.toml"))


def problems(text: str) -> list[tuple[str, object, str]]:
    with pytest.raises(ConfigError) as e:
        config(text)
    return [(p.field, p.value, p.expected) for p in e.value.problems]


def pose(scale: str) -> str:
    return f'[[randomizers]]\ntype = "pose"\ntargets = ["a"]\nscale = {scale}\n'


def scales(scale: str, frames: int = 40) -> list:
    cfg = config(pose(scale))
    return [
        sample_frame(cfg.seed, f, cfg.randomizers, cfg.randomizer_targets)[0]["values"]["a"]["scale"]
        for f in range(frames)
    ]


# Recorded at the commit before vec3 scales (f26506b) with this very file: numeric scales
# must keep drawing exactly these values (a run's determinism across versions).
NUMERIC = """
[[randomizers]]
type = "pose"
targets = ["a", "b"]
location = { distribution = "uniform", low = [-1, -1, 0], high = [1, 1, 0] }
scale = { distribution = "uniform", low = 0.5, high = 2 }
[[randomizers]]
type = "pose"
targets = ["a"]
scale = { distribution = "normal", mean = 1, std = 0.1, low = 0.5, high = 1.5 }
[[randomizers]]
type = "pose"
targets = ["b"]
scale = { distribution = "choice", values = [0.5, 1, 3] }
[[randomizers]]
type = "pose"
targets = ["a"]
scale = 1.25
"""
RECORDED = [
    [
        {
            "a": {"location": [-0.7428595944616008, -0.0014442751197700776, 0.0], "scale": 0.5430335125579169},
            "b": {"location": [-0.7041478308450881, 0.856422045920739, 0.0], "scale": 0.694660924098947},
        },
        {"a": {"scale": 0.972214721823834}},
        {"b": {"scale": 0.5}},
        {"a": {"scale": 1.25}},
    ],
    [
        {
            "a": {"location": [-0.5952185162702923, 0.8443951267903003, 0.0], "scale": 1.4290408143741318},
            "b": {"location": [0.5326927424418622, 0.9364813393888758, 0.0], "scale": 1.9831564848728584},
        },
        {"a": {"scale": 1.0856010274330115}},
        {"b": {"scale": 3}},
        {"a": {"scale": 1.25}},
    ],
    [
        {
            "a": {"location": [0.7946567410292105, -0.20768783162873228, 0.0], "scale": 0.9220839183637735},
            "b": {"location": [0.9825668223149342, -0.6625371740081856, 0.0], "scale": 1.7593417800147546},
        },
        {"a": {"scale": 1.055498912246672}},
        {"b": {"scale": 0.5}},
        {"a": {"scale": 1.25}},
    ],
]


def test_a_numeric_scale_draws_what_it_drew_before_vec3_scales():
    cfg = config(NUMERIC)
    for f, recorded in enumerate(RECORDED):
        values = [e["values"] for e in sample_frame(cfg.seed, f, cfg.randomizers, cfg.randomizer_targets)]
        assert values == recorded  # exact floats, and still numbers (not lists)
        assert all(isinstance(v["scale"], (int, float)) for e in values for v in e.values())


def test_vector_scale_constant_and_uniform_with_vector_bounds():
    assert scales("[1, 2, 0.5]", 2) == [[1, 2, 0.5]] * 2
    drawn = scales('{ distribution = "uniform", low = [0.5, 0.5, 1], high = [2, 2, 1] }')
    assert all(len(v) == 3 and 0.5 <= v[0] <= 2 and 0.5 <= v[1] <= 2 and v[2] == 1 for v in drawn)
    assert len({v[0] for v in drawn}) == len(drawn) and any(abs(v[0] - v[1]) > 0.1 for v in drawn)  # axes independent


def test_vector_scale_from_every_form_a_vec3_takes():
    normal = scales(
        '{ distribution = "normal", mean = [1, 2, 3], std = [0.1, 0, 0.1], low = [0.5, 0, 2], high = [1.5, 9, 4] }'
    )
    assert all(0.5 <= v[0] <= 1.5 and v[1] == 2 and 2 <= v[2] <= 4 for v in normal)
    assert {tuple(v) for v in scales('{ distribution = "choice", values = [[1, 2, 0.5], [2, 1, 1]] }')} == {
        (1, 2, 0.5),
        (2, 1, 1),
    }
    assert scales('{ distribution = "sequence", values = [[1, 1, 2], [3, 1, 1]] }', 3) == [
        [1, 1, 2],
        [3, 1, 1],
        [1, 1, 2],
    ]
    per_axis = scales('[1, { distribution = "uniform", low = 2, high = 3 }, 0.5]')
    assert all(v[0] == 1 and 2 <= v[1] <= 3 and v[2] == 0.5 for v in per_axis)
    mixed = scales('{ distribution = "choice", values = [2, [1, 2, 0.5]] }')
    assert {as_vec3(v)[1] for v in mixed} == {2.0}  # a number is every axis; a list each
    assert {type(v) for v in mixed} == {int, list}  # drawn as written: the log shows which
    mixture = scales(
        '{ distribution = "mixture", components = [1, { distribution = "uniform", low = [1, 1, 1], high = [2, 2, 2] }] }'
    )
    assert 1 in mixture and any(isinstance(v, list) for v in mixture)


def test_scale_bounds_per_component_at_the_edges():
    assert scales("[0, 1, 1]", 1) == [[0, 1, 1]]  # 0 is the lower bound (as for a number)
    assert scales("0", 1) == [0]
    assert scales("[1, 1000000, 1]", 1) == [[1, 1000000, 1]]
    assert problems(pose("[1, -0.001, 1]")) == [
        ("randomizers[0].scale", [1, -0.001, 1], "values in [0, 1000000] (scale)")
    ]
    assert problems(pose("-0.001")) == [("randomizers[0].scale", -0.001, "values in [0, 1000000] (scale)")]
    assert problems(pose("[1, 1000001, 1]"))[0][0] == "randomizers[0].scale"
    ((field, value, expected),) = problems(pose('{ distribution = "uniform", low = [0.5, -1, 0.5], high = [2, 2, 2] }'))
    assert field == "randomizers[0].scale" and "support lies in [0, 1000000]" in expected
    # an open normal can draw a negative component
    assert (
        "give it low and high"
        in problems(pose('{ distribution = "normal", mean = [1, 1, 1], std = [0.1, 0.1, 0.1] }'))[0][2]
    )


def test_a_wrong_length_or_kind_is_named_with_file_field_and_value():
    with pytest.raises(ConfigError) as e:
        config(pose("[1, 2]"))
    text = str(e.value)
    assert "scene.toml" in text and "randomizers[0].scale" in text and "[1, 2]" in text
    assert problems(pose("[1, 2]"))[0][2].startswith("a number or a list of 3 numbers (scale factor")
    assert problems(pose("[1, 2, 3, 4]"))[0][:2] == ("randomizers[0].scale", [1, 2, 3, 4])
    assert problems(pose('"big"'))[0][:2] == ("randomizers[0].scale", "big")
    bad_choice = problems(pose('{ distribution = "choice", values = [1, [1, 2]] }'))
    assert bad_choice[0][:2] == ("randomizers[0].scale.values[1]", [1, 2])
    bad_axes = problems(pose('[1, { distribution = "uniform", low = 1, high = 2 }]'))
    assert bad_axes[0][0] == "randomizers[0].scale"
    mismatch = problems(pose('{ distribution = "uniform", low = [1, 1, 1], high = 2 }'))
    assert mismatch[0][0] == "randomizers[0].scale.high"
    # a vec3-only distribution draws 3 numbers, but here they can be negative: refused by range
    assert problems(pose('{ distribution = "uniform_rotation" }'))[0][0] == "randomizers[0].scale"


def test_a_case_sets_a_vector_scale_and_refuses_a_bad_one():
    case = '[[cases]]\nname = "tall"\nframes = 1\nset = [{ type = "pose", target = "a", scale = [1, 1, 3] }]\n'
    assert config(pose("1") + case).cases[0].set[0]["scale"] == [1, 1, 3]
    bad = case.replace("[1, 1, 3]", "[1, 1]")
    assert problems(pose("1") + bad)[0][:2] == ("cases[0].set[0].scale", [1, 1])


def test_as_vec3():
    assert as_vec3(2) == [2.0, 2.0, 2.0] and as_vec3([1, 2, 0.5]) == [1.0, 2.0, 0.5]
