"""The property randomizer's data paths (pure Python): parsed into steps, never evaluated."""

import pytest

from sdg_addon.config import ConfigError, load_config
from sdg_addon.sampling.properties import PathError, parse_path


@pytest.mark.parametrize(
    "path, steps",
    [
        ("hide_render", [("attr", "hide_render")]),
        ('modifiers["Bevel"].width', [("attr", "modifiers"), ("key", "Bevel"), ("attr", "width")]),
        ('["my prop"]', [("key", "my prop")]),
        (
            'modifiers["GeometryNodes"]["Socket_2"]',
            [("attr", "modifiers"), ("key", "GeometryNodes"), ("key", "Socket_2")],
        ),
        ("location[2]", [("attr", "location"), ("index", 2)]),
        (
            'data.materials[0].node_tree.nodes["A \\"q\\" \\\\ b"]',
            [
                ("attr", "data"),
                ("attr", "materials"),
                ("index", 0),
                ("attr", "node_tree"),
                ("attr", "nodes"),
                ("key", 'A "q" \\ b'),
            ],
        ),
    ],
)
def test_paths_parse_into_steps(path, steps):
    assert parse_path(path) == steps


@pytest.mark.parametrize(
    "path",
    [
        "",
        "  ",
        ".location",
        "location.",
        "location..x",
        "modifiers[Bevel]",  # a name needs quotes
        'modifiers["Bevel"',
        "location[1.5]",
        "__class__",
        "data.__dict__",
        "location()",
        "eval('1')",
        "a b",
        'modifiers["x"]width',
        "x" * 1025,
    ],
)
def test_what_is_not_a_data_path_is_refused(path):
    with pytest.raises(PathError):
        parse_path(path)


def test_the_longest_path_is_accepted():
    assert parse_path("x" * 1024) == [("attr", "x" * 1024)]


def write(tmp_path, randomizer: str):
    p = tmp_path / "p.toml"
    p.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n[[assets]]\nname = "a"\nprimitive = "cube"\n'
        + '[[randomizers]]\ntype = "property"\ntargets = "a"\n'
        + randomizer
    )
    return p


def problems(tmp_path, randomizer: str):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, randomizer))
    return {(p.field, str(p.expected)) for p in e.value.problems}


def test_the_property_randomizer_is_validated_with_the_file(tmp_path):
    cfg = load_config(
        write(
            tmp_path,
            'path = \'modifiers["Bevel"].width\'\nvalue = { distribution = "uniform", low = 0.01, high = 0.05 }\n',
        )
    )
    spec = cfg.randomizers[0]
    assert spec.steps == [("attr", "modifiers"), ("key", "Bevel"), ("attr", "width")]
    assert any(f == "randomizers[0].path" and "required" in e for f, e in problems(tmp_path, "value = 1\n"))
    assert any(f == "randomizers[0].path" for f, _ in problems(tmp_path, 'path = "__class__"\nvalue = 1\n'))
    assert any(f == "randomizers[0].value" for f, _ in problems(tmp_path, 'path = "hide_render"\n'))
    assert any(f == "randomizers[0].value" for f, _ in problems(tmp_path, 'path = "x"\nvalue = { a = 1 }\n'))
    for value in ("true", '"ABC"', "[1, 2, 3]", "2.5", '{ distribution = "choice", values = ["A", "B"] }'):
        load_config(write(tmp_path, f'path = "x"\nvalue = {value}\n'))


def test_any_text_is_a_path_of_safe_steps_or_a_clear_refusal():
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from(
        ["modifiers", '["Bevel"]', ".", "[", "]", "[0]", "__class__", '"', "\\", "(", "x", " ", "-1", "é"]
    )

    @settings(max_examples=400, deadline=None, database=None, derandomize=True)
    @given(st.one_of(st.text(max_size=40), st.lists(pieces, max_size=8).map("".join)))
    def check(text):
        try:
            steps = parse_path(text)
        except PathError:
            return
        assert steps and all(kind in ("attr", "key", "index") for kind, _ in steps)
        assert not any(kind == "attr" and (key.startswith("__") or not key.isidentifier()) for kind, key in steps)

    assert hypothesis
    check()


def test_a_case_sets_one_property_entry_named_by_its_path(tmp_path):
    """Two property entries: a corner case's value goes to the one whose path it names, and
    a property case without a path (or with one no entry has) is refused."""
    from sdg_addon.sampling import sample_frame
    from sdg_addon.sampling.cases import apply_overrides

    two = (
        "path = 'modifiers[\"Bevel\"].width'\nvalue = 0.01\n"
        + '[[randomizers]]\ntype = "property"\ntargets = "a"\npath = \'modifiers["Bevel"].segments\'\nvalue = 2\n'
        + '[run]\nframes = 4\n[[cases]]\nname = "round"\nframes = 1\n'
    )
    cfg = load_config(
        write(tmp_path, two + 'set = [{ type = "property", path = \'modifiers["Bevel"].segments\', value = 8 }]\n')
    )
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers, [["a"], ["a"]])
    assert [e["path"] for e in sampled] == ['modifiers["Bevel"].width', 'modifiers["Bevel"].segments']  # in the log
    apply_overrides(sampled, cfg.cases[0])
    assert sampled[0]["values"]["a"]["value"] == 0.01 and sampled[1]["values"]["a"]["value"] == 8
    assert any(
        f == "cases[0].set[0].path" for f, _ in problems(tmp_path, two + 'set = [{ type = "property", value = 8 }]\n')
    )
    wrong = two + 'set = [{ type = "property", path = "modifiers[\\"Bevl\\"].segments", value = 8 }]\n'
    assert any(f == "cases[0].set[0].path" and "Bevel" in e for f, e in problems(tmp_path, wrong))


PER_AXIS_SPELLINGS = [
    '{ distribution = "per_axis", axes = [0, 0, { distribution = "uniform", low = 0, high = 6.2832 }] }',
    '[0, 0, { distribution = "uniform", low = 0, high = 6.2832 }]',  # the shorthand
]


def world_rotation_file(tmp_path, value: str):
    p = tmp_path / "w.toml"
    p.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
        '[[randomizers]]\ntype = "world_property"\n'
        'path = \'node_tree.nodes["Mapping"].inputs["Rotation"].default_value\'\n'
        f"value = {value}\n"
    )
    return p


@pytest.mark.parametrize("value", PER_AXIS_SPELLINGS)
def test_a_property_value_takes_a_per_axis_vector_drawn_per_component(tmp_path, value):
    """docs/parameters.md's world_property example (and the shorthand it says is the same):
    accepted, drawn as a 3-vector with the constants kept and the third component in its
    bounds, the same for the same seed and frame."""
    from sdg_addon.sampling import sample_frame

    cfg = load_config(world_rotation_file(tmp_path, value))
    load_config(write(tmp_path, f'path = "rotation_euler"\nvalue = {value}\n'))  # property too
    drawn = [sample_frame(cfg.seed, f, cfg.randomizers, [["world"]])[0]["values"]["world"]["value"] for f in range(8)]
    for v in drawn:
        assert len(v) == 3 and v[:2] == [0, 0] and 0 <= v[2] <= 6.2832
    assert len({v[2] for v in drawn}) == 8  # drawn anew each frame, not a constant
    again = load_config(world_rotation_file(tmp_path, value))
    assert sample_frame(again.seed, 3, again.randomizers, [["world"]])[0]["values"]["world"]["value"] == drawn[3]


def test_a_per_axis_property_value_has_at_most_32_components(tmp_path):
    axes = ", ".join(["0"] * 31)
    load_config(write(tmp_path, f'path = "x"\nvalue = [{axes}, {{ distribution = "uniform", low = 0, high = 1 }}]\n'))
    found = problems(tmp_path, f'path = "x"\nvalue = [{axes}, 0, {{ distribution = "uniform", low = 0, high = 1 }}]\n')
    assert any(f == "randomizers[0].value" and "a list of numbers, true / false" in e for f, e in found)
    found = problems(tmp_path, 'path = "x"\nvalue = [0, { distribution = "choice", values = ["A", "B"] }]\n')
    assert any(f.startswith("randomizers[0].value[1]") for f, _ in found)  # a number per component
