"""BasicWriter's colorize_* options on annotator output of a traced scene (no bpy), read
back with Pillow: colourised maps decode through their json to the annotator's ids, raw maps
are the ids themselves. colorize_instance_id_segmentation defaults as Replicator's (true);
not given, it follows colorize_instance_segmentation (which set both before it existed)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from test_annotators import make_frame, perspective, screen_box, screen_quad

from sdg_addon.annotators import create_annotator
from sdg_addon.config.schema import load_config
from sdg_addon.frame import AnnotatedFrame
from sdg_addon.writers import create_writer

MAPS = {  # annotator -> its json file: id -> labels / path
    "instance_segmentation": "instance_segmentation_mapping",
    "instance_id_segmentation": "instance_id_segmentation_mapping",
    "semantic_segmentation": "semantic_segmentation_labels",
}


@pytest.fixture(scope="module")
def frame() -> AnnotatedFrame:
    cam = perspective(64, 48, f=50.0)
    objects = [
        screen_quad(2, "card", cam, 4.0, 30.0, 6.0, 40.0, 4.0),
        screen_box(3, "box", cam, 44.0, 20.0, 0.6, 6.0),
        screen_quad(7, "wall", cam, 34.0, 60.0, 30.0, 46.0, 5.0, labels={}),  # unlabelled
    ]
    data = make_frame(cam, objects)
    anns = {name: create_annotator(name).annotate(data) for name in MAPS}
    # The unlabelled wall keeps its own id in instance_id_segmentation only: the two
    # instance maps differ, so a writer that mixed them up would fail below.
    assert 7 in anns["instance_id_segmentation"]["info"]["idToLabels"]
    assert 7 not in anns["instance_segmentation"]["info"]["idToLabels"]
    return AnnotatedFrame(0, "cam", anns, data.label_table, data.camera)


def written(out, frame, **options) -> dict[str, bool]:
    """Write the frame; for each map, check it against the annotator; True if colourised."""
    create_writer("basic", out, **options).write(frame)
    colourised = {}
    for name, json_name in MAPS.items():
        value = frame.annotations[name]
        ids, id_to_labels = value["data"], value["info"]["idToLabels"]
        mapping = json.loads((out / f"{json_name}_0000.json").read_text())
        with Image.open(out / f"{name}_0000.png") as im:
            mode, pixels = im.mode, np.asarray(im)
        if mode == "RGBA":
            # Every pixel's colour keys, through the json, the labels of its id.
            keys = {
                "(" + ", ".join(str(int(c)) for c in rgba) + ")" for rgba in np.unique(pixels.reshape(-1, 4), axis=0)
            }
            assert keys == set(mapping), name
            for i in np.unique(ids).tolist():
                rgba = pixels[ids == i]
                assert (rgba == rgba[0]).all(), f"{name}: id {i} has several colours"
                key = "(" + ", ".join(str(int(c)) for c in rgba[0]) + ")"
                assert mapping[key] == id_to_labels[i], name
            colourised[name] = True
        else:
            assert mode.startswith("I"), f"{name}: {mode}"  # 16-bit grey, as Replicator's writer makes uint32
            assert np.array_equal(pixels.astype(np.uint32), ids), name
            assert mapping == {str(i): v for i, v in sorted(id_to_labels.items())}, name
            colourised[name] = False
    return colourised


def test_defaults_colourise_every_map_as_replicator(tmp_path, frame):
    assert written(tmp_path, frame) == dict.fromkeys(MAPS, True)


def test_instance_id_map_off_alone_writes_its_uint32_ids(tmp_path, frame):
    got = written(tmp_path, frame, colorize_instance_id_segmentation=False)
    assert got == {"instance_segmentation": True, "instance_id_segmentation": False, "semantic_segmentation": True}


def test_instance_id_map_on_while_instance_map_is_off(tmp_path, frame):
    got = written(tmp_path, frame, colorize_instance_segmentation=False, colorize_instance_id_segmentation=True)
    assert got == {"instance_segmentation": False, "instance_id_segmentation": True, "semantic_segmentation": True}


def test_every_map_raw(tmp_path, frame):
    off = dict.fromkeys(
        ("colorize_semantic_segmentation", "colorize_instance_segmentation", "colorize_instance_id_segmentation"),
        False,
    )
    assert written(tmp_path, frame, **off) == dict.fromkeys(MAPS, False)


@pytest.mark.parametrize("given, id_map_colourised", [("", False), ("colorize_instance_id_segmentation = true", True)])
def test_parameter_file_with_only_the_older_option_keeps_its_output(tmp_path, frame, given, id_map_colourised):
    """A file written before the option existed, with colorize_instance_segmentation = false,
    got both instance maps as ids: it still does. Given, the new option wins."""
    param = tmp_path / "p.toml"
    param.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
        f"[writers.basic]\ncolorize_instance_segmentation = false\n{given}\n",
        encoding="utf-8",
    )
    cfg = load_config(param)
    out = tmp_path / "out"
    got = written(out, frame, **cfg.writers["basic"])
    assert got == {
        "instance_segmentation": False,
        "instance_id_segmentation": id_map_colourised,
        "semantic_segmentation": True,
    }


def test_the_option_is_checked_as_declared(tmp_path):
    with pytest.raises(ValueError, match="colorize_instance_id_segmentation"):
        create_writer("basic", tmp_path, colorize_instance_id_segmentation="no")
