"""The parameter-file writer of Export: TOML that reads back to the same data."""

import tomllib

import pytest

from sdg_addon.config.toml_out import dumps


def test_round_trip():
    data = {
        "run": {"seed": 7, "frames": 2, "output": "out/a b"},
        "render": {"resolution": [64, 48], "samples": 1, "device": "cpu", "denoise": False},
        "scene": {"blend": 'C:\\shop "1".blend', "cameras": ["CamA"], "world": {"strength": 0.5}},
        "annotators": {"rgb": {}, "bounding_box_2d_tight": {}},
        "writers": {"basic": {"colorize_depth": True}, "coco": {"channels": ["distance_to_image_plane"]}},
        "randomizers": [
            {
                "type": "pose",
                "targets": ["can_*"],
                "location": {"distribution": "uniform", "low": [0, 0, 0], "high": [1, 1.5, 0]},
            },
            {"type": "world", "strength": 1e-3},
        ],
        "label_rules": [{"prefixes": ["SM_"], "pattern": "^(?P<value>[a-z]+)_\\d"}],
        "strange key": {"x.y": 1},
    }
    text = dumps(data)
    assert tomllib.loads(text) == data


def test_values_without_a_toml_form_are_refused():
    with pytest.raises(ValueError):
        dumps({"a": float("nan")})
    with pytest.raises(ValueError):
        dumps({"a": None})
