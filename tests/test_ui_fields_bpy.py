"""The panels' settings take their type, default and bounds from the declarations
(config.fields.Field): a value the panel accepts is one validation accepts."""

from __future__ import annotations

import pytest

pytest.importorskip("bpy")


def _declared_fields():
    from sdg_addon.annotators import ANNOTATORS
    from sdg_addon.config.fields import Field
    from sdg_addon.config.schema import DECLARED_SECTIONS
    from sdg_addon.sampling.randomizers import RANDOMIZERS
    from sdg_addon.writers import WRITERS

    out = [(f"{s}.{f.name}", f) for s, fields in DECLARED_SECTIONS.items() for f in fields]
    for registry in (RANDOMIZERS, WRITERS, ANNOTATORS):
        for name, cls in registry.items():
            out += [(f"{name}.{o}", f) for o, f in cls.OPTIONS.items() if isinstance(f, Field)]
    return [(where, f) for where, f in out if f.kind == "float" and f.default is not None]


def test_a_float_setting_has_the_bounds_of_its_declaration():
    """A `> low` field (bop's depth_scale, a ground's size...) let the panel hold low itself,
    which validation then refused; its least value is now the float just above low."""
    from sdg_addon.ui.settings import field_property

    fields = _declared_fields()
    assert any(where == "bop.depth_scale" for where, _f in fields)
    for where, f in fields:
        kw = field_property(f).keywords
        assert kw["default"] == f.default, where
        if f.low is not None:
            assert kw["min"] > f.low if f.strict_low else kw["min"] == f.low, (where, kw["min"])
            assert kw["min"] < f.low + 1e-30 + abs(f.low) * 1e-6, (where, kw["min"])
        if f.high is not None:
            assert kw["max"] == f.high, where
