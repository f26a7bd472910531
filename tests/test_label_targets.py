"""Randomizer targets chosen by labels (`targets = { class = "cube" }`, Replicator's
rep.get.prims(semantics=[("class", "cube")])): what the parameter file may say, and the
match itself (no bpy; tests/test_label_targets_bpy.py builds and renders scenes)."""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path

import pytest

from sdg_addon.config import ConfigError, load_config, schema
from sdg_addon.config.schema import config_from_dict, label_types_declared
from sdg_addon.labels.parse import label_targets_given, labels_match, scene_labels_text

CAMERA = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
CUBES = '[[assets]]\nname = "cube"\nprimitive = "cube"\ncount = 2\nlabels = { class = "cube", color = "red" }\n'


def config(text: str):
    return config_from_dict(tomllib.loads(CAMERA + CUBES + text), Path("t.toml"))


def problems(text: str, tmp_path: Path) -> dict[str, tuple[object, str]]:
    path = tmp_path / "p.toml"
    path.write_text(CAMERA + CUBES + text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert all(p.file == path.as_posix() for p in info.value.problems)
    return {p.field: (p.value, p.expected) for p in info.value.problems}


def test_a_table_of_labels_is_read_as_types_to_lists_of_globs():
    cfg = config(
        '[[randomizers]]\ntype = "pose"\ntargets = { class = "cube" }\nscale = 2\n'
        '[[randomizers]]\ntype = "material"\ntargets = { class = ["cube", "sph*"], color = "red" }\ncolor = [1, 0, 0]\n'
        '[[randomizers]]\ntype = "pose"\ntargets = "cube_*"\nscale = 2\n'
    )
    assert cfg.randomizer_targets == [
        {"class": ["cube"]},
        {"class": ["cube", "sph*"], "color": ["red"]},
        ["cube_*"],
    ]
    # the audit's resolved parameters keep what was given (the table, not names)
    assert [r["targets"] for r in cfg.resolved()["randomizers"]] == cfg.randomizer_targets
    assert label_targets_given(cfg.randomizer_targets[1]) == {"class": ["cube", "sph*"], "color": "red"}


def test_a_label_glob_is_taken_composed_as_label_values_are():
    decomposed = unicodedata.normalize("NFD", "café")
    cfg = config(
        f'[labels]\nclass = ["café"]\n[[randomizers]]\ntype = "pose"\ntargets = {{ class = "{decomposed}" }}\n'
    )
    assert cfg.randomizer_targets[0] == {"class": ["café"]} and labels_match(
        {"class": ["café"]}, cfg.randomizer_targets[0]
    )


@pytest.mark.parametrize(
    ("labels", "wanted", "matches"),
    [
        ({"class": ["cube"]}, {"class": ["cube"]}, True),
        ({"class": ["cube"]}, {"class": ["Cube"]}, False),  # case-sensitive, as name globs
        ({"class": ["sphere"]}, {"class": ["cube", "sph*"]}, True),  # a list: any of them
        ({"class": ["cube"], "color": ["blue"]}, {"class": ["cube"], "color": ["red"]}, False),  # every type
        ({"class": ["cube"], "color": ["red", "glossy"]}, {"color": ["glossy"]}, True),  # one of the values
        ({"class": ["cube"]}, {"color": ["*"]}, False),  # no value of the type: no match, even for *
        ({}, {"class": ["*"]}, False),  # an unlabelled object
        ({"class": ["can"]}, {"class": ["c?n"]}, True),
    ],
)
def test_labels_match(labels, wanted, matches):
    assert labels_match(labels, wanted) is matches


def test_the_scene_labels_a_message_lists():
    text = scene_labels_text([{"class": ["sphere"]}, {"class": ["cube"], "color": ["red"]}, {}])
    assert text == "class: cube, sphere; color: red"
    assert scene_labels_text([{}, {}]) == "none (no object is labelled)"


def test_label_types_the_file_declares():
    """[labels], the assets' labels (a pool's class from its files too), the ground's,
    [[label_rules]]' types, and class always."""
    cfg = config(
        '[labels]\nshape = []\n[scene]\nground = { labels = { surface = "floor" } }\n[[label_rules]]\ntype = "brand"\n'
    )
    assert label_types_declared(cfg) == ["brand", "class", "color", "shape", "surface"]
    bare = config_from_dict(tomllib.loads(CAMERA), Path("t.toml"))
    assert label_types_declared(bare) == ["class"]


def test_a_type_the_file_does_not_declare_is_refused_naming_those_it_does(tmp_path):
    found = problems(
        '[[randomizers]]\ntype = "pose"\ntargets = { clas = "cube", colour = "red" }\nscale = 2\n', tmp_path
    )
    assert set(found) == {"randomizers[0].targets.clas", "randomizers[0].targets.colour"}
    value, expected = found["randomizers[0].targets.clas"]
    assert value == "clas"
    assert "did you mean 'class'?" in expected and "(declared: 'class', 'color')" in expected
    assert "declare it in [labels], e.g. clas = []" in expected
    assert "did you mean 'color'?" in found["randomizers[0].targets.colour"][1]
    # declared in [labels] (a type a .blend's semantics alone give): taken
    assert config('[labels]\ncolour = []\n[[randomizers]]\ntype = "pose"\ntargets = { colour = "red" }\n')


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("semantics", 'rep.get.prims(semantics=[("class", "cube")]) is targets = { class = "cube" } here'),
        ("path_pattern", 'is a name glob here, targets = "cube_*"'),
        ("prim_types", "has no counterpart"),
    ],
)
def test_rep_get_prims_keys_as_label_types_are_answered_with_what_they_are_here(tmp_path, key, words):
    found = problems(f'[[randomizers]]\ntype = "pose"\ntargets = {{ {key} = "x" }}\nscale = 2\n', tmp_path)
    value, expected = found[f"randomizers[0].targets.{key}"]
    assert value == key and words in expected and "declare it in [labels]" not in expected


def test_the_index_of_an_undeclared_type_is_the_entrys_in_the_file(tmp_path):
    """An entry refused for a problem of its own before it is not in cfg.randomizers: the
    undeclared type is still named by its own entry's index."""
    found = problems(
        '[[randomizers]]\ntype = "pose"\ntargets = "*"\nscale = -1\n'
        '[[randomizers]]\ntype = "pose"\ntargets = { kind = "cube" }\nscale = 2\n',
        tmp_path,
    )
    assert "randomizers[1].targets.kind" in found and "randomizers[0].targets.kind" not in found


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ('type = "light"\ntargets = { class = "lamp" }\nenergy = 10', "a light randomizer's targets are lights"),
        ('type = "camera"\ntargets = { class = "cam" }\nlocation = [0, -2, 1]', "targets are cameras"),
        ('type = "sensor"\ntargets = { class = "cam" }\nfov = 40', "targets are cameras, which carry no labels"),
    ],
)
def test_lights_and_cameras_refuse_a_table_of_labels(tmp_path, entry, words):
    found = problems(f'[[lights]]\nname = "key"\n[[randomizers]]\n{entry}\n', tmp_path)
    value, expected = found["randomizers[0].targets"]
    assert isinstance(value, dict) and words in expected and "name the" in expected


def test_the_world_refuses_a_table_of_labels(tmp_path):
    found = problems('[[randomizers]]\ntype = "world"\ntargets = { class = "sky" }\nstrength = 1\n', tmp_path)
    assert found["randomizers[0].targets"] == (
        {"class": "sky"},
        "no targets: a world randomizer has none (it changes the world, which carries no labels)",
    )


@pytest.mark.parametrize(
    ("targets", "field", "words"),
    [
        ("{}", "randomizers[0].targets", "a table of label type -> a label glob or a list of them"),
        ("{ class = [] }", "randomizers[0].targets.class", "a non-empty list of label globs"),
        ("{ class = 3 }", "randomizers[0].targets.class", "a label glob"),
        ('{ class = ["cube", ""] }', "randomizers[0].targets.class", "a label glob"),
        ('{ class = { a = "b" } }', "randomizers[0].targets.class", "a label glob"),
        ('{ "" = "cube" }', "randomizers[0].targets.", "a label type"),
        ('{ BACKGROUND = "cube" }', "randomizers[0].targets.BACKGROUND", "a label type"),
        # Replicator's pairs: answered with what they are here
        ('{ semantics = [["class", "cube"]] }', "randomizers[0].targets.semantics", 'is targets = { class = "cube" }'),
    ],
)
def test_a_malformed_table_is_refused_at_its_key(tmp_path, targets, field, words):
    found = problems(f'[[randomizers]]\ntype = "pose"\ntargets = {targets}\nscale = 2\n', tmp_path)
    assert field in found and words in found[field][1], found


def test_a_wrong_targets_value_names_both_forms(tmp_path):
    found = problems('[[randomizers]]\ntype = "pose"\ntargets = 3\nscale = 2\n', tmp_path)
    expected = found["randomizers[0].targets"][1]
    assert "a name pattern or a list of name patterns" in expected and '{ class = "cube" }' in expected


def test_a_cases_value_for_one_object_is_checked_as_the_label_targeted_entry_takes_it(tmp_path):
    """A [[cases]] set entry naming one object may go to an entry whose targets are labels
    (any object may be among them): its value is checked as that entry takes it (was: the
    table's types were read as name globs, no entry matched and a bad pattern passed)."""
    entry = '[[randomizers]]\ntype = "procedural_texture"\ntargets = { class = "cube" }\npattern = "noise"\n'
    case = '[run]\nframes = 4\n[[cases]]\nname = "c"\nframes = 1\nset = [{{ type = "procedural_texture", target = "cube_000", pattern = "{}" }}]\n'
    found = problems(entry + case.format("plaid"), tmp_path)
    assert found["cases[0].set[0].pattern"][0] == "plaid", found
    assert config(entry + case.format("checker")).cases[0].set[0]["pattern"] == "checker"


# Options naming other objects (OBJECT_OPTIONS) take the same table: scatter's surface and
# avoid, physics_settle's passive, camera's look_at_objects, camera_look_at's look_at.
OBJECT_OPTION_ENTRIES = {
    "surface": '[[randomizers]]\ntype = "scatter"\ntargets = "cube_000"\nsurface = {}\n',
    "avoid": '[[randomizers]]\ntype = "scatter"\ntargets = "cube_000"\navoid = {}\n',
    "passive": '[[randomizers]]\ntype = "physics_settle"\ntargets = "cube_000"\npassive = {}\n',
    "look_at_objects": '[[randomizers]]\ntype = "camera"\ntargets = "cam"\ndistance = 3\nlook_at_objects = {}\n',
    "look_at": '[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\ndistance = 3\nlook_at = {}\n',
}


@pytest.mark.parametrize("key", sorted(OBJECT_OPTION_ENTRIES))
def test_an_option_naming_objects_takes_a_table_of_labels_kept_as_written(key):
    """Read as targets are ({type: [globs]}, composed), and recorded so (audit/resolved.json,
    which --resume compares): the table, not the names it chooses in a scene."""
    entry = OBJECT_OPTION_ENTRIES[key].format('{ class = ["cube", "sph*"], color = "red" }')
    cfg = config(entry)
    wanted = {"class": ["cube", "sph*"], "color": ["red"]}
    assert cfg.randomizers[0].options[key] == wanted
    assert cfg.resolved()["randomizers"][0][key] == wanted
    assert cfg.randomizer_targets[0] == (["cam"] if key.startswith("look_at") else ["cube_000"])


@pytest.mark.parametrize("key", sorted(OBJECT_OPTION_ENTRIES))
def test_an_options_table_is_refused_as_targets_table_is(tmp_path, key):
    """Undeclared types (did you mean, the declared ones), an empty table, a bad value, and
    Replicator's semantics pairs: refused at the option's own field, in its own words."""
    entry = OBJECT_OPTION_ENTRIES[key]
    found = problems(entry.format('{ clas = "cube" }'), tmp_path)
    value, expected = found[f"randomizers[0].{key}.clas"]
    assert value == "clas" and "did you mean 'class'?" in expected and "(declared: 'class', 'color')" in expected
    found = problems(entry.format("{}"), tmp_path)
    assert found[f"randomizers[0].{key}"] == ({}, schema.LABEL_TARGETS_TEXT)
    found = problems(entry.format("{ class = [] }"), tmp_path)
    assert "a non-empty list of label globs" in found[f"randomizers[0].{key}.class"][1]
    found = problems(entry.format('{ semantics = [["class", "cube"]] }'), tmp_path)
    expected = found[f"randomizers[0].{key}.semantics"][1]
    assert f'is {key} = {{ class = "cube" }} here' in expected and "targets =" not in expected
    found = problems(entry.format("3"), tmp_path)
    assert "or a table of their labels" in found[f"randomizers[0].{key}"][1]


def test_what_an_options_table_chose_is_given_by_name():
    """spec.objects: a table answers with the objects chosen in the built scene (among the
    names asked about), globs with their matches; a table never resolved is an error."""
    spec = config(OBJECT_OPTION_ENTRIES["surface"].format('{ class = "table" }')).randomizers[0]
    with pytest.raises(RuntimeError, match="was not resolved in the built scene"):
        spec.objects("surface", ["desk"])
    spec.choose_objects(lambda table: ["desk", "desk[2]"] if table == {"class": ["table"]} else [])
    assert spec.chosen == {"surface": ["desk", "desk[2]"]}
    # names are not globs here: 'desk[2]' is that object, not 'desk2'
    assert spec.objects("surface", ["desk2", "desk[2]", "cube_000", "desk"]) == ["desk", "desk[2]"]
    assert spec.objects("avoid", ["desk", "cube_000"]) == []  # none given
    globs = config(OBJECT_OPTION_ENTRIES["surface"].format('["de*", "cube_00?"]')).randomizers[0]
    assert globs.objects("surface", ["desk", "cube_001", "ball"]) == ["cube_001", "desk"]


def test_parameters_md_gives_the_table_as_those_options_kind():
    from sdg_addon.config.docs import option_kind_text
    from sdg_addon.sampling import RANDOMIZERS

    for name, key in [
        ("scatter", "surface"),
        ("scatter", "avoid"),
        ("physics_settle", "passive"),
        ("camera", "look_at_objects"),
        ("camera_look_at", "look_at"),
    ]:
        assert option_kind_text(RANDOMIZERS[name], key).startswith("glob or list of globs, or a table of labels")
    assert option_kind_text(RANDOMIZERS["background"], "files") == "glob or list of globs, required"
