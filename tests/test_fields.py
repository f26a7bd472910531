"""Schema declarations (config.fields): validation at the bounds, docs made from them."""

from pathlib import Path

import pytest

from sdg_addon.config.docs import marked_sections, render_page
from sdg_addon.config.fields import Field, read_section, section_class
from sdg_addon.config.problems import Problems
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
