"""The `semantics` custom property as stored on objects and collections (labels.parse):
what a hand-edited property can hold is read or refused with a sentence, never a
TypeError (the Labels panel, Add Label and a recording all read it)."""

from __future__ import annotations

import pytest

from sdg_addon.labels.parse import parse_labels


def test_stored_labels_parse():
    assert parse_labels({"class": "mug", "color": ["red", "blue"]}) == {"class": ["mug"], "color": ["red", "blue"]}
    assert parse_labels("class:mug, color:red") == {"class": ["mug"], "color": ["red"]}
    assert parse_labels(None) == {}


@pytest.mark.parametrize("value", [{"class": 5}, {"class": 0.5}, {"class": {"mug": 1}}, {"class": None}, {"class": []}])
def test_a_value_that_is_no_label_is_refused_with_a_sentence(value):
    """{"class": 5} raised TypeError ('int' object is not iterable): the Labels panel failed
    to draw and a recording stopped with 'an unexpected error'; {"class": {"mug": 1}} was
    read as the label mug."""
    with pytest.raises(ValueError, match="label type 'class' needs a non-empty string or list of strings"):
        parse_labels(value)


def test_a_label_spelt_decomposed_is_the_composed_one(tmp_path):
    """[labels] class = ["café"] typed composed (NFC) and an asset's (or a .blend object's, or
    a label rule's from a name) 'café' spelt decomposed (NFD, pasted from a macOS file name)
    were two classes that print alike: COCO listed 'café' twice (id 1 with no objects, id 3
    the cup's), checked with a rendered run. Every label value is now composed: one class;
    [labels] listing both spellings is a value given twice."""
    import unicodedata

    from sdg_addon.config import ConfigError, load_config
    from sdg_addon.labels.rules import NameRule

    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    camera = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
    asset = f'[[assets]]\nname = "cup"\nprimitive = "cube"\nlabels = {{ class = "{nfd}" }}\n'
    param = tmp_path / "p.toml"
    param.write_text(f'[labels]\nclass = ["{nfc}", "ball"]\n' + camera + asset, encoding="utf-8")
    cfg = load_config(param)
    assert cfg.labels == {"class": [nfc, "ball"]} and cfg.assets[0].labels == {"class": [nfc]}
    assert cfg.label_order() == {"class": [nfc, "ball"]}
    param.write_text(f'[labels]\nclass = ["{nfc}", "{nfd}"]\n' + camera, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(param)
    assert [(p.field, p.expected) for p in e.value.problems] == [
        ("labels.class[1]", "distinct values (this one is labels.class[0] too)")
    ]
    # a quota case's label, compared with the objects' values
    case = '[run]\nframes = 2\n[[cases]]\nname = "c"\nframes = 1\nmeasure = "pixels"\nmin = 1\n'
    param.write_text(camera + asset + case + f'label = "{nfd}"\n', encoding="utf-8")
    assert load_config(param).cases[0].label == nfc
    assert parse_labels({"class": nfd}) == {"class": [nfc]}
    assert parse_labels(f"class:{nfd}") == {"class": [nfc]}
    assert NameRule(prefixes=("SM_",)).value(f"SM_{nfd}") == nfc


def test_a_label_type_spelt_decomposed_is_the_composed_one(tmp_path):
    """[labels] "catégorie" typed composed (NFC) and an asset's (or a .blend's, a rule's, a
    target's, a writer's semantic_type) 'catégorie' spelt decomposed (NFD, pasted from a
    macOS file name) were two label types that print alike: COCO's writer with
    semantic_type "catégorie" found no object of its type ('objects without a 'catégorie'
    label ... the objects' label types: catégorie, class'), checked with a rendered run. Every
    label type is now composed where label values are: one type; a table giving both
    spellings gives a type twice."""
    import unicodedata

    from sdg_addon.config import ConfigError, load_config
    from sdg_addon.labels.rules import NameRule

    nfc, nfd = unicodedata.normalize("NFC", "catégorie"), unicodedata.normalize("NFD", "catégorie")
    camera = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
    asset = f'[[assets]]\nname = "cup"\nprimitive = "cube"\nlabels = {{ class = "cup", "{nfd}" = "rouge" }}\n'
    rest = (
        f'[[randomizers]]\ntype = "pose"\ntargets = {{ "{nfd}" = "rouge" }}\n'
        f'[[label_rules]]\ntype = "{nfd}"\nnames = ["nothing*"]\n'
        f'[writers.coco]\nsemantic_type = "{nfd}"\n[annotators.bounding_box_2d_tight]\nsemantic_type = "{nfd}"\n'
        f'[run]\nframes = 2\n[[cases]]\nname = "c"\nframes = 1\nmeasure = "pixels"\nmin = 1\nlabel = "rouge"\n'
        f'semantic_type = "{nfd}"\n'
    )
    param = tmp_path / "p.toml"
    param.write_text(f'[labels]\n"{nfc}" = ["rouge"]\n' + camera + asset + rest, encoding="utf-8")
    cfg = load_config(param)
    assert cfg.labels == {nfc: ["rouge"]} and cfg.assets[0].labels == {"class": ["cup"], nfc: ["rouge"]}
    assert cfg.label_order() == {nfc: ["rouge"], "class": ["cup"]}
    assert cfg.randomizer_targets[0] == {nfc: ["rouge"]} and cfg.label_rules[0].type == nfc
    assert cfg.writers["coco"]["semantic_type"] == nfc == cfg.annotators["bounding_box_2d_tight"]["semantic_type"]
    assert cfg.cases[0].semantic_type == nfc
    param.write_text(f'[labels]\n"{nfc}" = ["rouge"]\n"{nfd}" = ["bleu"]\n' + camera, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(param)
    assert [p.field for p in e.value.problems] == [f"labels.{nfd}"]
    assert "given twice, in two Unicode forms" in e.value.problems[0].expected
    assert parse_labels({nfd: "rouge"}) == {nfc: ["rouge"]}
    assert parse_labels({nfd: "rouge", nfc: ["rouge", "bleu"]}) == {nfc: ["rouge", "bleu"]}
    assert parse_labels(f"{nfd}:rouge") == {nfc: ["rouge"]}
    assert NameRule(type=nfd).type == nfc


def test_an_annotators_filter_and_types_spelt_decomposed_are_the_composed_ones(tmp_path):
    """An annotator's semantic_filter = ["café"] spelt decomposed (NFD) kept none of the
    objects' 'café' (composed, as every label value is): 'its semantic_filter ['café'] keeps
    none of the objects' 'class' labels (café)', no box in a rendered run; instance
    segmentation's semantic_types likewise. Both are composed as the labels they name."""
    import unicodedata

    from sdg_addon.annotators.semantics import passes_filter
    from sdg_addon.config import load_config

    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    tnfc, tnfd = unicodedata.normalize("NFC", "catégorie"), unicodedata.normalize("NFD", "catégorie")
    param = tmp_path / "p.toml"
    param.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
        f'[[assets]]\nname = "cup"\nprimitive = "cube"\nlabels = {{ class = "{nfc}", "{tnfc}" = "x" }}\n'
        f'[annotators]\nbounding_box_2d_tight = {{ semantic_filter = ["{nfd}", "b*"] }}\n'
        f'instance_segmentation = {{ semantic_types = ["class", "{tnfd}"] }}\n',
        encoding="utf-8",
    )
    cfg = load_config(param)
    assert cfg.annotators["bounding_box_2d_tight"]["semantic_filter"] == [nfc, "b*"]
    assert cfg.annotators["instance_segmentation"]["semantic_types"] == ["class", tnfc]
    assert passes_filter([nfc], cfg.annotators["bounding_box_2d_tight"]["semantic_filter"])


def test_a_rule_reads_names_prefixes_and_patterns_in_one_unicode_form():
    """A rule typed composed (NFC, 'Café_' or 'café') and an object whose name is spelt
    decomposed (NFD, as macOS's file names give it): the two print alike, but the prefix was
    not stripped and the pattern did not match, so the object went unlabelled without a
    word. Either form now matches the other."""
    import unicodedata

    from sdg_addon.labels.rules import NameRule

    nfc, nfd = (unicodedata.normalize(f, "café") for f in ("NFC", "NFD"))
    assert NameRule(pattern=f"^({nfc})").value(f"{nfd}_012") == nfc
    assert NameRule(pattern=f"^({nfd})").value(f"{nfc}_012") == nfc
    assert NameRule(prefixes=(f"{nfc}_",)).value(f"{nfd}_mug_3") == "mug"
    assert NameRule(pattern="^(tea)").value(f"{nfd}_012") is None  # no match stays none


def test_an_undeclared_type_that_is_no_bare_key_is_hinted_as_toml_writes_it(tmp_path):
    """targets = { "catégorie" = "rouge" } of a type only a .blend gives was told to declare
    it as 'catégorie = []', which TOML refuses (a bare key is ASCII letters, digits, - and
    _): the hint quotes such a key ("catégorie" = []), a plain one as before (color = [])."""
    from sdg_addon.config import ConfigError, load_config

    param = tmp_path / "p.toml"
    for kind, hint in (("catégorie", '"catégorie" = []'), ("color", "color = []")):
        param.write_text(
            f'[[cameras]]\nname = "c"\nlocation = [0, -4, 2]\n[[randomizers]]\ntype = "pose"\n'
            f'targets = {{ "{kind}" = "rouge" }}\nscale = 2\n',
            encoding="utf-8",
        )
        with pytest.raises(ConfigError) as e:
            load_config(param)
        assert f"declare it in [labels], e.g. {hint}" in e.value.problems[0].expected
