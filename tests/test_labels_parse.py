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
