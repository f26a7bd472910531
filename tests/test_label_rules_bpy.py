"""[[label_rules]] in a parameter file, as built: what the rules leave alone."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytest.importorskip("bpy")

from scenes import asset, camera, ground, header, sun  # noqa: E402

from sdg_addon.config.schema import config_from_dict  # noqa: E402
from sdg_addon.scene.build import build_scene  # noqa: E402

SCENE = (
    header((64, 48), samples=1)
    + ground(4.0)
    + camera((0, -2.5, 1.5), (0, 0, 0.2))
    + sun()
    + asset("SM_Chair", "cube", 0.3, count=2)
    + asset("SM_Ball", "sphere", 0.2, label="toy")
    + asset("backdrop", "plane", 1.0, distractor=True)
)


def built_labels(rules: str) -> dict[str, dict]:
    cfg = config_from_dict(tomllib.loads(SCENE + rules), Path("t.toml"))
    built = build_scene(cfg)
    return {name: e.labels for name, e in built.entities.items()}


def test_a_rule_keeps_the_labels_an_asset_entry_gave_unless_it_overwrites():
    """SM_Ball's asset entry says class = "toy": a rule with overwrite off keeps it (was:
    the rule's label on the object beat the asset's, inherited from its collection)."""
    labels = built_labels('[[label_rules]]\nprefixes = ["SM_"]\n')
    assert labels["SM_Chair_000"] == {"class": ["chair"]} and labels["SM_Ball"] == {"class": ["toy"]}
    labels = built_labels('[[label_rules]]\nprefixes = ["SM_"]\noverwrite = true\n')
    assert labels["SM_Ball"] == {"class": ["ball"]}


@pytest.mark.parametrize("scope", ["meshes", "objects", "collections"])
def test_a_rule_leaves_distractors_and_the_unlabelled_ground_unlabelled(scope):
    """A distractor is never annotated and the ground is unlabelled on purpose: a rule
    matching every name (names = "*") labels neither (was: class "backdrop" and "ground",
    boxes and masks of both)."""
    labels = built_labels(f'[[label_rules]]\nprefixes = ["SM_"]\nscope = "{scope}"\n')
    assert labels["backdrop"] == {} and labels["ground"] == {}
    assert labels["SM_Chair_001"] == {"class": ["chair"]}


def test_values_a_rule_gives_follow_the_assets_sorted_by_name():
    """docs (labels): declared values first, then the assets' in their order, then values
    found only in the built scene (here: a rule's), sorted, whatever the assets' order."""
    rules = '[labels]\nclass = ["zebra"]\n[[label_rules]]\nprefixes = ["SM_"]\nnames = ["SM_*"]\n'
    cfg = config_from_dict(tomllib.loads(SCENE + rules), Path("t.toml"))
    built = build_scene(cfg)
    assert built.label_table.values["class"] == ["zebra", "toy", "chair"]
    extra = asset("SM_Apple", "sphere", 0.1)
    cfg = config_from_dict(tomllib.loads(SCENE + extra + rules), Path("t.toml"))
    assert build_scene(cfg).label_table.values["class"] == ["zebra", "toy", "apple", "chair"]


def test_a_rules_names_globs_match_an_imported_parts_own_name(tmp_path):
    """A rule reads an imported part's name after the last '/' (pack/SM_Chair_02 ->
    SM_Chair_02): its `names` globs match that name too (was: only the full name, so
    names = ["SM_*"] labelled none of a downloaded pack's SM_ meshes)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    for name, x in (("SM_Chair_02", 0.0), ("GEO_Lamp_01", 0.5)):
        bpy.ops.mesh.primitive_cube_add(size=0.2, location=(x, 0, 0.1))
        bpy.context.object.name = name
    pack = tmp_path / "pack.glb"
    bpy.ops.export_scene.gltf(filepath=str(pack), export_format="GLB")
    text = (
        header((64, 48), samples=1)
        + camera((0, -2.5, 1.5), (0, 0, 0.2))
        + f'[[assets]]\nname = "pack"\nfile = "{pack.as_posix()}"\n'
    )
    for names in ('["SM_*"]', '["pack/SM_*"]'):
        rule = f'[[label_rules]]\nprefixes = ["SM_", "GEO_"]\nnames = {names}\n'
        built = build_scene(config_from_dict(tomllib.loads(text + rule), tmp_path / "p.toml"))
        labels = {n: e.labels for n, e in built.entities.items()}
        assert built.label_table.values == {"class": ["chair"]}, (names, labels)


def test_a_distractor_pool_is_not_labelled_by_a_collections_rule(tmp_path):
    """The members of a distractor pool stay unlabelled under a collections rule (was: the
    pool's collection was labelled, and every member inherited it)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_cube_add(size=0.2)
    bpy.ops.export_scene.gltf(filepath=str(tmp_path / "rock.glb"), export_format="GLB")
    text = (
        header((64, 48), samples=1)
        + camera((0, -2.5, 1.5), (0, 0, 0.2))
        + '[[assets]]\nname = "clutter"\nfiles = "*.glb"\ndistractor = true\n'
        + '[[label_rules]]\nscope = "collections"\n'
    )
    built = build_scene(config_from_dict(tomllib.loads(text), tmp_path / "p.toml"))
    assert built.entities["clutter_000"].labels == {} and built.label_table.values == {}


def test_a_rule_making_a_value_no_label_may_have_is_refused_naming_it():
    """An asset named BACKGROUND (its objects BACKGROUND_000, ...) under a rule with lowercase
    off gave the value 'BACKGROUND', the masks' id 0 name, which every run refuses: the run
    stopped with 'Object ...: label value ...' naming neither the rule nor the file; the
    rule's entry is refused now (validate's exit 2 names label_rules[0] and the value), and
    the Labels panel's Label by Name Rule labels nothing then. A label it would keep is no
    problem."""
    from sdg_addon.config.problems import FieldError

    scene = SCENE + asset("BACKGROUND", "cube", 0.2, count=2)
    cfg = config_from_dict(tomllib.loads(scene + "[[label_rules]]\nlowercase = false\n"), Path("t.toml"))
    with pytest.raises(FieldError) as raised:
        build_scene(cfg)
    problem = raised.value.problem
    assert (problem.field, problem.value) == ("label_rules[0]", "BACKGROUND")
    assert "the rule makes 'BACKGROUND' of object 'BACKGROUND_000'" in problem.expected
    kept = SCENE + asset("BACKGROUND", "cube", 0.2, count=2, label="backdrop")
    cfg = config_from_dict(tomllib.loads(kept + "[[label_rules]]\nlowercase = false\n"), Path("t.toml"))
    assert build_scene(cfg).entities["BACKGROUND_000"].labels == {"class": ["backdrop"]}


def test_a_rules_names_select_objects_spelt_in_another_unicode_form():
    """names = ["Café*"] typed composed (NFC) and assets named 'Café...' spelt decomposed
    (NFD, a macOS file name's spelling): the rule selected none of them, unlabelled without a
    word. The glob and the names are now compared composed."""
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Café")
    scene = SCENE + asset(f"{nfd}_Cup", "cylinder", 0.1)
    rule = '[[label_rules]]\nnames = ["Café*"]\nprefixes = ["Café_"]\n'
    cfg = config_from_dict(tomllib.loads(scene + rule), Path("t.toml"))
    labels = {name: e.labels for name, e in build_scene(cfg).entities.items()}
    assert labels[f"{nfd}_Cup"] == {"class": ["cup"]}, labels
