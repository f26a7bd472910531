"""Third-party writers through entry points (a fake installed distribution), and the
documented base-class contract a custom writer follows."""

from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from sdg_addon.config.problems import ConfigError
from sdg_addon.config.schema import config_from_dict
from sdg_addon.writers import WRITERS, Writer, create_writer, io, plugins

IMPORTS: list[str] = []


class FakeWriter(Writer):
    """A custom writer as a third-party package would ship it."""

    name = "fake_format"
    required_annotators = ("rgb",)
    OPTIONS = {"suffix": (".txt", str, "file suffix")}

    def write(self, frame):
        io.write_text(self.output_dir / "fake" / f"{frame.frame:04d}{self.options['suffix']}", "ok\n")

    def finalize(self):
        io.write_text(self.output_dir / "fake" / "done", "done\n")


class Misnamed(FakeWriter):
    name = "other_name"


@pytest.fixture
def fake_distribution(monkeypatch):
    """An installed package offering writers in the "sdg.writers" entry point group."""
    module = types.ModuleType("fake_sdg_plugin")
    module.FakeWriter = FakeWriter
    module.Misnamed = Misnamed
    module.NotAWriter = dict
    monkeypatch.setitem(sys.modules, "fake_sdg_plugin", module)

    broken = types.ModuleType("broken_sdg_plugin")

    def fail(name):  # importing this module's attribute fails, as a broken package would
        IMPORTS.append("broken")
        raise ImportError("no module named 'missing_dependency'")

    broken.__getattr__ = fail
    monkeypatch.setitem(sys.modules, "broken_sdg_plugin", broken)

    eps = [
        metadata.EntryPoint("fake_format", "fake_sdg_plugin:FakeWriter", plugins.GROUP),
        metadata.EntryPoint("misnamed", "fake_sdg_plugin:Misnamed", plugins.GROUP),
        metadata.EntryPoint("not_a_writer", "fake_sdg_plugin:NotAWriter", plugins.GROUP),
        metadata.EntryPoint("broken", "broken_sdg_plugin:Writer", plugins.GROUP),
        metadata.EntryPoint("unrelated", "fake_sdg_plugin:FakeWriter", "other.group"),
    ]

    def entry_points(**kw):
        group = kw.get("group")
        return metadata.EntryPoints(ep for ep in eps if group is None or ep.group == group)

    monkeypatch.setattr(plugins.metadata, "entry_points", entry_points)
    IMPORTS.clear()
    yield
    for name in ("fake_format", "misnamed", "not_a_writer", "broken"):
        WRITERS.pop(name, None)


def config(writers) -> dict:
    return {"cameras": [{"name": "cam", "location": [0, -2, 1]}], "writers": writers}


def test_available_names_import_nothing(fake_distribution):
    assert plugins.available_plugin_writers() == ["broken", "fake_format", "misnamed", "not_a_writer"]
    assert "fake_format" not in WRITERS and IMPORTS == []


def test_named_plugin_is_loaded_registered_and_usable(fake_distribution, tmp_path):
    loaded = plugins.load_plugin_writers(["fake_format", "coco"])
    assert loaded == {"fake_format": FakeWriter, "coco": WRITERS["coco"]}
    assert WRITERS["fake_format"] is FakeWriter
    assert IMPORTS == []  # the broken plugin was not asked for, so never imported
    w = create_writer("fake_format", tmp_path, suffix=".log")
    w.write(types.SimpleNamespace(frame=3))
    w.finalize()
    assert (tmp_path / "fake" / "0003.log").read_text() == "ok\n"
    assert (tmp_path / "fake" / "done").is_file()


def test_unknown_and_bad_plugins_are_explained(fake_distribution):
    with pytest.raises(plugins.PluginError, match=r"unknown writer 'nope'.*built in: .*coco.*fake_format"):
        plugins.load_plugin_writer("nope")
    with pytest.raises(plugins.PluginError, match="has name 'other_name'"):
        plugins.load_plugin_writer("misnamed")
    with pytest.raises(plugins.PluginError, match="not a subclass"):
        plugins.load_plugin_writer("not_a_writer")
    with pytest.raises(plugins.PluginError, match="failed to load: ImportError"):
        plugins.load_plugin_writer("broken")
    assert not {"misnamed", "not_a_writer", "broken"} & set(WRITERS)


def test_parameter_file_enables_a_plugin_by_name(fake_distribution):
    cfg = config_from_dict(config({"basic": {}, "fake_format": {"suffix": ".dat"}}), Path("params.toml"))
    assert cfg.writers == {"basic": {}, "fake_format": {"suffix": ".dat"}}
    assert WRITERS["fake_format"] is FakeWriter
    # Options of plugin writers are validated like built-in ones.
    with pytest.raises(ConfigError, match="suffix"):
        config_from_dict(config({"fake_format": {"suffix": 3}}), Path("params.toml"))


def test_parameter_file_problems_name_the_writer(fake_distribution):
    with pytest.raises(ConfigError) as e:
        config_from_dict(config(["broken", "nope"]), Path("params.toml"))
    text = str(e.value)
    assert "writers.broken" in text and "ImportError" in text
    assert "writers.nope" in text and "a known writer" in text
    # An installed plugin that fails to load is said once, as such: not also 'a known writer'.
    problems = [p for p in e.value.problems if p.field == "writers.broken"]
    assert len(problems) == 1 and "a writer plugin that loads" in problems[0].expected, problems


def test_a_module_path_in_the_parameter_file_is_never_imported(fake_distribution):
    with pytest.raises(ConfigError, match="a known writer"):
        config_from_dict(config({"fake_sdg_plugin:FakeWriter": {}}), Path("params.toml"))
    with pytest.raises(ConfigError, match="a known writer"):
        config_from_dict(config({"os.path": {}}), Path("params.toml"))
    assert "fake_sdg_plugin:FakeWriter" not in WRITERS


def test_an_annotator_no_writer_of_the_run_writes_is_warned(tmp_path, monkeypatch):
    """keypoints with the yolo writer alone, normals with coco alone: computed every frame
    and written nowhere, which the run (and validate) now says once, naming the annotator,
    the run's writers and those that would write it (Writer.written of each)."""
    from sdg_addon.writers.base import unwritten_annotators

    camera = {"name": "cam", "location": [0, -3, 1], "look_at": [0, 0, 0]}

    def warned(annotators, writers):
        data = {"cameras": [camera], "writers": writers}
        if annotators is not None:
            data["annotators"] = annotators
        cfg = config_from_dict(data, tmp_path / "params.toml")
        return unwritten_annotators(cfg.annotators_named, cfg.writers)

    (text,) = warned({"rgb": {}, "keypoints": {}}, {"yolo": {}})
    assert text.startswith("annotators.keypoints: no writer of the run writes it (writers: yolo)"), text
    # The writers that would write it: the built-in ones, and any plugin writer registered
    # in this process (other tests register some), which writes everything as basic does.
    would = text.split("; ", 1)[1].split(" would write it")[0].split(", ")
    assert {"basic", "coco", "webdataset", "yolo (keypoints = true)"} <= set(would), text
    assert not {"yolo", "kitti", "mot", "bop"} & set(would), text
    assert warned({"rgb": {}, "keypoints": {}}, {"yolo": {"keypoints": True}}) == []  # YOLO-pose writes them
    (text,) = warned({"normals": {}}, {"coco": {}, "kitti": {}})
    would = text.split("; ", 1)[1].split(" would write it")[0].split(", ")
    assert "(writers: coco, kitti)" in text, text
    assert {"basic", 'coco (channels = ["normals"])', "hdf5", "webdataset"} <= set(would) and "kitti" not in would, text
    assert warned({"normals": {}}, {"coco": {"channels": ["normals"]}}) == []
    assert warned({"keypoints": {}, "distance_to_image_plane": {}}, {"coco": {}}) == []  # channels' default
    assert len(warned({"distance_to_image_plane": {}}, {"coco": {"channels": []}})) == 1
    # What a writer needs counts as written: yolo's masks, kitti's camera_params, mot's boxes.
    assert warned({"rgb": {}, "instance_segmentation": {}, "bounding_box_2d_tight": {}}, {"yolo": {}}) == []
    assert warned({"camera_params": {}, "bounding_box_3d": {}}, {"kitti": {}}) == []
    assert warned({"bounding_box_2d_loose": {}}, {"mot": {}}) == []
    assert len(warned({"bounding_box_2d_loose": {}}, {"mot": {"boxes": "visible"}})) == 1
    assert warned({"normals": {}, "semantic_segmentation": {}}, {"hdf5": {}}) == []
    assert len(warned({"normals": {}, "occlusion": {}}, {"bop": {}})) == 2
    # basic, webdataset and a custom writer write every annotator; the defaults are not the file's.
    assert warned({"normals": {}, "keypoints": {}}, {"yolo": {}, "basic": {}}) == []
    assert warned({"normals": {}}, {"webdataset": {}}) == []
    monkeypatch.setitem(WRITERS, FakeWriter.name, FakeWriter)
    assert warned({"normals": {}}, {FakeWriter.name: {}}) == []
    assert warned(None, {"yolo": {}}) == []  # depth, semantic_segmentation... of the defaults
    # A LiDAR's scans (the lidar annotator it brings) with camera writers only.
    for writers, said in (({"coco": {}}, 1), ({"coco": {}, "pcd": {}}, 0), ({"basic": {}}, 0)):
        data = {"cameras": [camera], "lidars": [{"name": "l", "mount": "cam"}], "writers": writers}
        cfg = config_from_dict(data, tmp_path / "params.toml")
        texts = unwritten_annotators(cfg.annotators_named, cfg.writers, bool(cfg.lidars))
        assert len(texts) == said, texts
    data["writers"], data["annotators"] = {"coco": {}}, {"rgb": {}}
    cfg = config_from_dict(data, tmp_path / "params.toml")
    (text,) = unwritten_annotators(cfg.annotators_named, cfg.writers, bool(cfg.lidars))
    assert text.startswith("lidars: no writer of the run writes their scans (the lidar annotator; writers: coco)")
    assert text.endswith("basic, kitti_velodyne, pcd would write them: use one, or remove the [[lidars]]"), text
    from sdg_addon.config import load_config

    presets = Path(__file__).resolve().parent.parent / "presets"
    for path in sorted(presets.rglob("*.toml")) + sorted(presets.rglob("*.json")):
        cfg = load_config(path)
        assert unwritten_annotators(cfg.annotators_named, cfg.writers, bool(cfg.lidars)) == [], path.name


def test_motion_vectors_hdf5_leaves_out_beside_both_exact_flows_is_warned(tmp_path):
    """hdf5 stores a flow's exact annotator, else that half of motion_vectors: with both
    forward_flow and backward_flow, motion_vectors was computed every frame and written
    nowhere, without a word (Writer.written could not see the run's other annotators); the
    run (and validate) now say so, naming hdf5's exact flows and the writers that would write it."""
    from sdg_addon.writers.base import unwritten_annotators

    camera = {"name": "cam", "location": [0, -3, 1], "look_at": [0, 0, 0]}

    def warned(annotators, writers):
        cfg = config_from_dict({"cameras": [camera], "annotators": annotators, "writers": writers}, tmp_path / "p.toml")
        return unwritten_annotators(cfg.annotators_named, cfg.writers)

    both = {"rgb": {}, "forward_flow": {}, "backward_flow": {}, "motion_vectors": {}}
    (text,) = warned(both, {"hdf5": {}})
    assert text.startswith(
        "annotators.motion_vectors: no writer of the run writes it (writers: hdf5; hdf5 stores the exact "
        "forward_flow and backward_flow"
    ), text
    # (plugin writers other tests of this process register write it too, as basic does)
    would = set(text.split("), so it is computed every frame and dropped; ")[1].split(" would write it")[0].split(", "))
    assert {"basic", 'coco (channels = ["motion_vectors"])', "webdataset"} <= would and "hdf5" not in would, text
    assert warned(both, {"hdf5": {}, "basic": {}}) == []  # basic writes it
    for flow in ("forward_flow", "backward_flow"):  # its other half is the flow hdf5 stores of it
        assert warned({k: v for k, v in both.items() if k != flow}, {"hdf5": {}}) == []
