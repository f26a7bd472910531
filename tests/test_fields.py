"""Schema declarations (config.fields): validation at the bounds, docs made from them."""

from pathlib import Path

import pytest
from pages import section

from sdg_addon.config.docs import (
    built_in,
    catalogue_markdown,
    marked_distributions,
    marked_randomizers,
    marked_sections,
    randomizer_markdown,
    render_page,
)
from sdg_addon.config.fields import Field, read_section, section_class
from sdg_addon.config.problems import Problems, first_names
from sdg_addon.config.schema import DECLARED_SECTIONS

PAGE = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"

FIELDS = (
    Field("count", "int", 1, "how many", low=1, high=10),
    Field("size", "float", 0.2, "metres", low=0, strict_low=True),
    Field("mode", "choice", "a", "the mode", choices=("a", "B"), fold_case=True),
    Field("where", "vec3", [0.0, 0.0, 0.0], "a point"),
    Field("tint", "color", [1.0, 1.0, 1.0], "linear RGB"),
    Field("on", "bool", True, "switch"),
)
Section = section_class("Section", FIELDS)


def read(table):
    problems = Problems("f.toml")
    out = read_section(problems, table, "s", FIELDS, Section())
    return out, problems.items


@pytest.mark.parametrize(
    "key,good,bad",
    [
        ("count", [1, 10], [0, 11, 1.5, True, "3"]),
        ("size", [1e-9, 3.0], [0, -1, float("nan"), float("inf")]),
        ("mode", ["a", "b", "A"], ["c", 1]),
        ("where", [[1, 2, 3]], [[1, 2], [1, 2, "x"]]),
        ("tint", [[0, 0.5, 1], [0, 0, 0, 1]], [[0, 0, 1.01], [1, 1]]),
        ("on", [False], [0, "yes"]),
    ],
)
def test_bounds_at_the_edges(key, good, bad):
    for value in good:
        out, problems = read({key: value})
        assert not problems, (key, value, problems)
    for value in bad:
        out, problems = read({key: value})
        assert [p.field for p in problems] == [f"s.{key}"], (key, value)
        assert getattr(out, key) == next(f.default for f in FIELDS if f.name == key)


def test_choice_folds_case_to_the_declared_spelling():
    out, _ = read({"mode": "b"})
    assert out.mode == "B"


def test_unknown_key_is_a_problem_with_a_hint():
    _, problems = read({"cuont": 2})
    assert problems[0].field == "s.cuont" and "count" in problems[0].expected


def test_defaults_are_copies():
    a, b = Section(), Section()
    a.where.append(9)
    assert b.where == [0.0, 0.0, 0.0]


def test_reference_page_is_made_from_the_declarations():
    text = PAGE.read_text(encoding="utf-8")
    assert marked_sections(text) == set(DECLARED_SECTIONS), "a declared section has no table in docs"
    assert render_page(text) == text, "docs/parameters.md is stale: run python -m sdg_addon.config.docs"


def test_every_randomizer_type_has_a_table_made_from_its_declaration():
    """Each registered type's table (kinds, ranges, defaults, meanings) comes from PARAMS /
    OPTIONS; a type may share the table of the type it extends when it declares nothing else
    (camera_trajectory is trajectory for cameras)."""
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    marked = marked_randomizers(PAGE.read_text(encoding="utf-8"))
    assert len(marked) == len(set(marked)), "a randomizer table appears twice"
    for name, cls in RANDOMIZERS.items():
        if name in marked:
            continue
        shared = [
            m
            for m in marked
            if issubclass(cls, RANDOMIZERS[m]) and randomizer_markdown(cls) == randomizer_markdown(RANDOMIZERS[m])
        ]
        assert shared, f"docs/parameters.md has no table for randomizer {name}"


def test_a_randomizer_table_states_the_declared_bounds_and_defaults():
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    pose = randomizer_markdown(RANDOMIZERS["pose"]).splitlines()
    assert pose[0] == "| parameter / option | kind | meaning |"
    assert "| `location` | vec3 ±1000000 | world location" in pose[2]
    assert "| `scale` | number or vec3 0 .. 1000000 |" in pose[4]
    assert "| `max_tries` (option) | int 1 .. 1000, default `100` |" in pose[6]
    scatter = randomizer_markdown(RANDOMIZERS["scatter"])
    assert '| `orientation` (option) | `"upright"`, `"normal"`, `"random"`, default `"upright"` |' in scatter
    assert "| `center` (option) | vec3 ±1000000, default `[0, 0, 0.5]` |" in scatter
    assert "| `size` (option) | vec3 0 .. 1000000, default `[1, 1, 1]` |" in scatter
    assert '| `surface` (option) | glob or list of globs, or a table of labels, default `""` |' in scatter
    texture = randomizer_markdown(RANDOMIZERS["texture"])
    assert "| `folder` (option) | string, required |" in texture
    light = randomizer_markdown(RANDOMIZERS["light"])
    assert "| `energy` | number 0 .. 1e9 |" in light and "| `color` | colour |" in light
    assert randomizer_markdown(RANDOMIZERS["material"]).startswith("| parameter | kind | meaning |")


def test_every_distribution_has_a_table_made_from_its_declaration():
    from sdg_addon.sampling import DISTRIBUTIONS

    marked = marked_distributions(PAGE.read_text(encoding="utf-8"))
    assert sorted(marked) == sorted(DISTRIBUTIONS)


def test_the_annotator_and_writer_catalogues_list_every_built_in_one(monkeypatch):
    """Each built-in annotator and writer declares what it gives in one line (`summary`: the
    page's catalogue and the UI's tooltip); a writer registered by a plugin is not listed
    as built in."""
    from sdg_addon.annotators import ANNOTATORS
    from sdg_addon.writers import WRITERS
    from sdg_addon.writers.base import Writer

    text = PAGE.read_text(encoding="utf-8")
    for name, registry in (("annotators", ANNOTATORS), ("writers", WRITERS)):
        assert f"<!-- catalogue: {name} -->" in text
        for key, cls in built_in(registry).items():
            assert cls.summary.strip(), f"{key} has no summary"
    assert len(built_in(ANNOTATORS)) >= 22 and len(built_in(WRITERS)) >= 8
    plugin = type("PluginWriter", (Writer,), {"name": "from_a_plugin", "summary": "x", "__module__": "someones_pkg"})
    monkeypatch.setitem(WRITERS, "from_a_plugin", plugin)
    assert "from_a_plugin" not in catalogue_markdown("writers")


def test_the_annotator_and_writer_pages_name_every_declared_option():
    """docs/annotators.md and docs/writers.md describe each option in prose: every option a
    built-in declares is named in its section (shared writer options in the shared rules),
    and a section says "Options: none" only when there are none."""
    from sdg_addon.annotators import ANNOTATORS
    from sdg_addon.writers import WRITERS
    from sdg_addon.writers.common import COMMON_OPTIONS

    docs = PAGE.parent
    missing = []
    annotators = (docs / "annotators.md").read_text(encoding="utf-8")
    for name, cls in built_in(ANNOTATORS).items():
        body = section(annotators, name)
        missing += [f"annotator {name}: {o}" for o in cls.OPTIONS if f"`{o}`" not in body]
        if "Options: none" in body and cls.OPTIONS:
            missing.append(f"annotator {name}: says none")
    writers = (docs / "writers.md").read_text(encoding="utf-8")
    shared = writers.split("## Shared rules", 1)[1].split("\n## ", 1)[0]  # a heading without backticks
    for name, cls in built_in(WRITERS).items():
        body = section(writers, name)
        for o in cls.OPTIONS:
            if f"`{o}`" not in body and not (o in COMMON_OPTIONS and f"`{o}`" in shared):
                missing.append(f"writer {name}: {o}")
    assert not missing, "undocumented options: " + ", ".join(missing)


def test_the_relative_paths_table_names_every_path_of_the_file():
    """docs/parameters.md's Relative paths table: every field that names a file or folder
    (a randomizer's PATH_OPTIONS too), so none is left to guess (scene.blend, a pool's
    files and the texture / world_hdri folders were missing)."""
    from sdg_addon.sampling.randomizers import RANDOMIZERS

    text = PAGE.read_text(encoding="utf-8")
    table = text.split("### Relative paths", 1)[1].split("\n## ", 1)[0]
    wanted = {"`asset_list`", "`scene.blend`", "`assets[].file`", "`assets[].files`", "`run.output`"}
    wanted |= {f"`randomizers[].{o}`" for cls in RANDOMIZERS.values() for o in cls.PATH_OPTIONS}
    assert not {w for w in wanted if w not in table}
    for name, cls in RANDOMIZERS.items():
        for o in cls.PATH_OPTIONS:
            assert f"`{name}`" in table.split(f"`randomizers[].{o}`", 1)[1].split("\n", 1)[0], (name, o)


def test_the_removed_parts_row_names_every_writer_that_joins_parts():
    """docs/reliability.md's row on removed parts names each writer whose finalize() rebuilds
    a file from per-frame pieces and so refuses to continue without them (mot's was left out)."""
    from sdg_addon.writers import WRITERS, Writer

    page = (Path(__file__).resolve().parent.parent / "docs" / "reliability.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| `coco/parts/`"))
    named = row.split(" removed (or some of their files)")[0]
    joins = [
        n
        for n, c in WRITERS.items()
        if c.removed_parts is not Writer.removed_parts or c.joined_files is not Writer.joined_files
    ]
    assert joins and not [n for n in joins if f"`{n}/parts/`" not in named and f"`{n}`'s" not in named]


def test_first_names_lists_five_and_counts_the_rest():
    """The checks naming the objects at fault say the first five and how many more."""
    assert first_names([]) == ""
    assert first_names(["a", "b"]) == "a, b"
    assert first_names([f"o{k}" for k in range(5)]) == "o0, o1, o2, o3, o4"
    assert first_names(f"o{k}" for k in range(8)) == "o0, o1, o2, o3, o4 and 3 more"
    assert first_names(["a", "b", "c"], at_most=1) == "a and 2 more"
