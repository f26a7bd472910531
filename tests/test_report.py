"""Dataset report: generated for the (tiny) default preset, its numbers checked against
the files; the comparison of two datasets names what changed; the randomizer check flags
values outside the declared support; and the HTML, opened in headless Chromium, shows
every plot (skipped, with the reason, where no Chromium is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sdg_addon.report.stats import randomizer_ranges

ROOT = Path(__file__).resolve().parent.parent


def test_randomizer_ranges_flag_values_outside_the_declared_support():
    spec = [
        {"type": "light", "energy": {"distribution": "uniform", "low": 1.0, "high": 2.0}, "targets": ["a"]},
        {"type": "material", "metallic": {"distribution": "choice", "values": ["gold", "steel"]}},
    ]
    records = [
        {
            "samples": [
                {"type": "light", "values": {"a": {"energy": 1.5}}},
                {"type": "material", "values": {"m": {"metallic": "gold"}}},
            ]
        },
        {
            "samples": [
                {"type": "light", "values": {"a": {"energy": 2.5}}},
                {"type": "material", "values": {"m": {"metallic": "tin"}}},
            ]
        },
    ]
    energy, metallic = randomizer_ranges(spec, records)
    assert (energy.low, energy.high, energy.sampled_min, energy.sampled_max) == (1.0, 2.0, 1.5, 2.5)
    assert energy.outside == 1 and not energy.ok and energy.count == 2
    assert metallic.outside == 1 and metallic.distinct == ['"gold"', '"tin"']
    records[1]["samples"][0]["values"]["a"]["energy"] = 2.0  # the edge itself is inside
    assert randomizer_ranges(spec, records)[0].ok


def test_a_choice_of_names_shows_its_declared_values_beside_those_seen():
    """docs/report.md: non-numeric parameters list the values seen against the declared
    `values`; the 'declared support' cell said only "values", the declared ones nowhere."""
    from sdg_addon.report.page import _range_rows

    spec = [{"type": "light", "light_type": {"distribution": "choice", "values": ["sun", "point", "area"]}}]
    records = [
        {"frame": f, "samples": [{"type": "light", "values": {"key": {"light_type": t}}}]}
        for f, t in enumerate(["sun", "point", "spot"])
    ]
    ranges = randomizer_ranges(spec, records)
    stats = type("S", (), {"ranges": ranges})()
    [row] = _range_rows(stats)
    assert row[2] == "&quot;sun&quot;, &quot;point&quot;, &quot;area&quot;"
    assert row[3] == "&quot;point&quot;, &quot;spot&quot;, &quot;sun&quot;"
    assert row[5] == '<span class="bad">1 outside</span>'


def test_a_draw_shown_by_several_frames_counts_once():
    """Every frame of a clip logs its clip's draw (the later ones with "trigger_frame"), as
    every frame of an `interval` does: the report counted 30 values for 10 draws of a
    6-frame run of 3-frame clips, and a value outside the support 3 times. Each draw now
    counts once."""
    spec = [{"type": "light", "energy": {"distribution": "uniform", "low": 1.0, "high": 2.0}, "targets": ["a"]}]

    def record(frame, energy, trigger_frame=None):
        entry = {"type": "light", "values": {"a": {"energy": energy}}}
        if trigger_frame is not None:
            entry["trigger_frame"] = trigger_frame
        return {"frame": frame, "samples": [entry]}

    clip_0 = [record(0, 1.5), record(1, 1.5, 0), record(2, 1.5, 0)]
    clip_1 = [record(3, 2.5), record(4, 2.5, 3), record(5, 2.5, 3)]
    [energy] = randomizer_ranges(spec, clip_0 + clip_1)
    assert (energy.count, energy.outside, energy.sampled_min, energy.sampled_max) == (2, 1, 1.5, 2.5)
    stills = [record(0, 1.5), record(1, 1.5)]  # two stills that drew the same value: two draws
    assert randomizer_ranges(spec, stills)[0].count == 2


def test_a_trajectorys_velocities_are_ranges_per_component_against_their_support():
    """A trajectory logs each velocity as a list of vectors (one per knot): the report listed
    them as text, said "inside" without checking, and left them out of the plot. Now each
    knot's vector is a draw, checked component by component."""
    uniform = {"distribution": "uniform", "low": [-1.0, 0.0, 0.0], "high": [1.0, 0.0, 0.0]}
    spec = [{"type": "trajectory", "targets": "cube_*", "path": "spline", "knots": 2, "velocity": uniform}]
    records = [
        {"samples": [{"type": "trajectory", "values": {"cube_000": {"velocity": [[0.5, 0, 0], [-0.25, 0, 0]]}}}]},
        {"samples": [{"type": "trajectory", "values": {"cube_001": {"velocity": [[0.75, 0, 0], [1.5, 0, 0]]}}}]},
    ]
    x, y, z = randomizer_ranges(spec, records)
    assert (x.param, x.low, x.high, x.sampled_min, x.sampled_max, x.count) == ("velocity[0]", -1.0, 1.0, -0.25, 1.5, 4)
    assert x.outside == 1 and not x.ok and y.ok and z.ok and (y.sampled_min, y.sampled_max) == (0.0, 0.0)


def test_the_classes_chart_of_many_classes_gives_each_name_its_own_place():
    """60 classes: the vertical bars' names (14 characters each, 11 px apart) were drawn over
    one another into an unreadable smear, and the top bar's value over the title. Now one
    row per class: every name is ink in its own row band, with white between the rows."""
    from sdg_addon.report.plots import INK, bar_chart

    labels = [f"class_{i:02d}_with_a_long_name" for i in range(60)]
    image = np.asarray(bar_chart("t", labels, {"instances": [2] * 60}).convert("RGB")).astype(int)
    names = image[:, 10:230]  # the name column
    dark = (np.abs(names - np.array(INK)).sum(-1) < 200).any(axis=1)
    # Rows where a run of ink starts below the title (rows 0 .. 33, whose glyphs a font may draw
    # in two runs: a condensed 't' has a faint stem): each class's own.
    bands = np.flatnonzero(np.diff(dark[30:].astype(int)) == 1)
    assert len(bands) == 60, len(bands)
    title = np.flatnonzero(dark)[0]
    assert title < 30  # the title is drawn, above the rows
    assert not (np.abs(image[title, 230:] - np.array(INK)).sum(-1) < 200).any()  # no value beside the title


def test_the_heat_maps_caption_names_the_fullest_cell_by_its_colour(drawn_text):
    """The caption said "darkest cell 4" of the cell drawn brightest (yellow: the ramp's
    top; one centre is dark purple), and "darkest cell 1" with no centre at all."""

    from sdg_addon.report.plots import heatmap

    said = drawn_text()
    centres = np.array([[0.5, 0.5]] * 4 + [[0.1, 0.1]])
    image = np.asarray(heatmap("t", centres, 4 / 3).convert("RGB"))
    assert said[-1] == "5 box centres; most in one cell: 4 (yellow)"
    assert (image == (253, 231, 37)).all(-1).any()  # that cell is yellow
    heatmap("t", np.zeros((0, 2)), 4 / 3)
    assert said[-1] == "0 box centres"


def test_the_class_charts_of_a_run_without_classes_say_so(drawn_text):
    """A run without classes (a contact sheet the page's only image): the occlusion and box
    size charts were a title over a blank image and the classes chart an empty axis, with no
    word of why; each now says there is no class, as the depth chart says no depth."""

    from sdg_addon.report.plots import NO_CLASS, bar_chart, histogram_grid

    said = drawn_text()
    histogram_grid("t", {}, 0, 1)
    assert said == ["t", NO_CLASS], said
    said.clear()
    bar_chart("t", [], {"instances": []})
    assert NO_CLASS in said
    said.clear()
    histogram_grid("t", {"mug": []}, 0, 1)
    assert NO_CLASS not in said


def test_an_overlaid_histogram_counts_each_dataset_apart(drawn_text):
    """The comparison's occlusion histograms titled each class with A's and B's instances
    added up ("mug (n=28)" for 16 in A and 12 in B), a count of neither dataset. Each is now
    given apart; a single dataset's title is as before."""

    from sdg_addon.report.plots import histogram_grid

    said = drawn_text()
    histogram_grid("t", {"mug": {"A": [0.1] * 16, "B": [0.2] * 12}}, 0, 1)
    histogram_grid("t", {"mug": [0.1] * 16}, 0, 1)
    assert "mug (A 16, B 12)" in said and "mug (n=16)" in said and "mug (n=28)" not in said


def test_a_long_class_name_stays_in_its_histograms_cell():
    """A 49-character class name ("mug_with_a_rather_long_descriptive_class_name_v2") was
    drawn whole as its histogram's title, over the next cell's title ("ball (n=24)"), both
    unreadable; it is now cut with an ellipsis to its cell, its count kept."""
    from sdg_addon.report.plots import histogram_grid

    long_name = "mug_with_a_rather_long_descriptive_class_name_v2"
    short = np.asarray(histogram_grid("t", {"mug": [0.1], "ball": [0.2]}, 0, 1).convert("RGB"))
    cut = np.asarray(histogram_grid("t", {long_name: [0.1], "ball": [0.2]}, 0, 1).convert("RGB"))
    cell_w = (720 - 20) // 3
    second = slice(10 + cell_w, 10 + 2 * cell_w)  # the second cell: its title as with a short first name
    assert (short[34:52, second] == cut[34:52, second]).all()
    assert (cut[34:52, 10 : 10 + cell_w] != 255).any()  # the first title is drawn (cut, with its count)


def test_every_charts_text_ends_inside_its_image(monkeypatch):
    """With a wider font (DejaVu Sans, drawn where the system has it) the depth chart's
    'per frame, one bar per camera: nearest .. farthest surface' ran past the image's right
    edge ('... farthest surfac'), as a randomizer's long name could run into its bars; every
    text of every chart now ends inside its image."""
    from PIL import ImageDraw

    from sdg_addon.report import plots
    from sdg_addon.report.stats import ParamRange

    drawn = []
    original = ImageDraw.ImageDraw.text

    def text(self, xy, text, *a, **k):
        drawn.append((self._image.size[0], xy[0], k["font"].getlength(text), text))
        return original(self, xy, text, *a, **k)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    per_frame = [(f, 1.0 + f, 2.0 + f) for f in range(4) for _camera in range(2)]
    plots.depth_chart("Depth (distance to the image plane)", per_frame, np.linspace(1, 5, 100))
    long = ParamRange("12: procedural_texture", "angular_velocity_of_the_target[2]", -1e6, 1e6, -5, 5, 3, 0)
    plots.range_chart("Randomizers: sampled range (blue) in declared support (grey)", [long])
    plots.histogram_grid("t", {"mug_with_a_rather_long_descriptive_class_name_v2": [0.5]}, 0, 55.4, unit=" px")
    plots.bar_chart("t", ["a_class_name_far_longer_than_its_column_is_wide_at_all"], {"instances": [6000]})
    plots.heatmap("Object centres in the image", np.random.default_rng(0).random((6000, 2)), 4 / 3)
    for width, x, length, said in drawn:
        assert 0 <= x and x + length <= width, (said, x, length, width)


def test_an_unbounded_supports_sampled_range_is_drawn_inside_it():
    """A normal distribution's support is unbounded: its sampled range filled the whole row
    in blue, as if every value had been drawn. Now the blue bar stops short of the row's ends
    (the grey one runs on to them); a bounded support sampled end to end still fills it."""
    from sdg_addon.report.plots import SERIES, range_chart
    from sdg_addon.report.stats import ParamRange

    rows = [
        ParamRange("0: camera", "look_at[0]", -np.inf, np.inf, -0.1, 0.1, 8, 0),
        ParamRange("1: light", "energy", 0.0, 1.0, 0.0, 1.0, 8, 0),
    ]
    image = np.asarray(range_chart("t", rows).convert("RGB")).astype(int)
    x0, x1 = 260, image.shape[1] - 120
    for k, inside in enumerate((True, False)):
        row = image[40 + k * 20 + 10, x0 : x1 + 1]
        blue = np.flatnonzero((row == SERIES[0]).all(-1))
        assert len(blue) > 0
        if inside:
            assert blue.min() > 0.1 * (x1 - x0) and blue.max() < 0.9 * (x1 - x0), (blue.min(), blue.max())
        else:
            assert blue.min() <= 1 and blue.max() >= x1 - x0 - 1


def tiny_default(tmp_path: Path, seed: int, name: str) -> Path:
    text = (ROOT / "presets" / "default.toml").read_text()
    text = text.replace("resolution = [640, 480]", "resolution = [64, 48]").replace("samples = 32", "samples = 1")
    text = text.replace("frames = 8", "frames = 3").replace('device = "auto"', 'device = "cpu"')
    text = text.replace("seed = 7", f"seed = {seed}").replace(
        "camera_params = {}", "camera_params = {}\nocclusion = {}"
    )
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory):
    pytest.importorskip("bpy")
    from headless.cli import main

    tmp = tmp_path_factory.mktemp("report")
    outs = []
    for seed, name in ((7, "v1"), (8, "v2")):
        out = tmp / name
        assert main(["render", str(tiny_default(tmp, seed, name)), "--out", str(out), "--quiet"]) == 0
        outs.append(out)
    return outs


def test_report_of_the_default_preset_matches_its_files(two_datasets):
    from headless.cli import main

    out = two_datasets[0]
    assert main(["report", str(out)]) == 0
    page = (out / "report" / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    for name in ("classes.png", "box_size.png", "occlusion.png", "truncation.png", "depth.png", "centres.png"):
        assert name in images
    assert "randomizers.png" in images and "contact_sheet.png" in images
    for name in images:
        assert (out / "report" / name).stat().st_size > 1000
    # Instance counts per class, counted here from the box files.
    counts: dict[str, int] = {}
    for f in range(3):
        rows = np.load(out / f"bounding_box_2d_tight_{f:04d}.npy")
        labels = json.loads((out / f"bounding_box_2d_tight_labels_{f:04d}.json").read_text())
        for r in rows:
            c = labels[str(int(r["semanticId"]))]["class"]
            counts[c] = counts.get(c, 0) + 1
    for c, n in counts.items():
        assert re.search(rf"<tr><td>{c}</td><td>{n}</td>", page), c
    # Every randomizer parameter of the preset is checked against its support, all inside.
    for param in ("color[0]", "roughness", "energy", "distance", "azimuth", "look_at[1]"):
        assert f"<td>{param}</td>" in page
    assert "outside</span>" not in page and page.count("inside</span>") >= 15
    assert "declared no cases or quotas" in page


def test_report_compares_two_datasets(two_datasets):
    from headless.cli import main

    a, b = two_datasets
    assert main(["report", str(a), str(b)]) == 0
    page = (a / "report" / "compare_v2" / "index.html").read_text()
    assert "<td>seed</td><td>7</td><td>8</td>" in page
    assert "classes_ab.png" in page and "a_depth.png" in page and "b_depth.png" in page
    assert main(["report", str(a / "nothing")]) == 2


def test_the_comparison_gives_each_datasets_notes(two_datasets, tmp_path):
    """Each dataset's own page notes what it leaves out (box rows not counted, frames without
    depth, a contact sheet not drawn); the comparison of the same datasets said none of it,
    its plots the same. It now lists them, each with its dataset."""
    from sdg_addon.report.page import write_comparison

    a = two_datasets[0]
    b = tmp_path / "b"
    shutil.copytree(two_datasets[1], b, ignore=shutil.ignore_patterns("report", ".lock*", "*.lock"))
    (b / "distance_to_image_plane_0001.npy").unlink()  # a frame still being written
    rgb = b / "rgb_0002.png"
    rgb.write_bytes(rgb.read_bytes()[:200])  # cut short: the contact sheet cannot be drawn
    page = write_comparison(a, b, tmp_path / "out").read_text()
    assert "B: 1 frame(s) without distance_to_image_plane: left out of the depth charts" in page, page
    assert "B: contact sheet not drawn: cannot read " in page and "rgb_0002.png" in page
    assert "A: " not in page


def test_a_run_without_boxes_is_not_said_to_see_no_object(two_datasets, tmp_path):
    """A run without the bounding_box_2d_tight annotator records no boxes: its report said
    'visible instances 0', every class in red as never seen (its objects in every mask), and
    that each frame was 'without bounding_box_2d_tight'; it now says no boxes are recorded
    and why, the class counts '–', none in red."""
    from sdg_addon.report.page import _class_rows, _summary_rows
    from sdg_addon.report.stats import collect

    copy = tmp_path / "copy"
    shutil.copytree(two_datasets[0], copy, ignore=shutil.ignore_patterns("report", ".lock*", "*.lock"))
    for p in copy.glob("bounding_box_2d_tight*"):
        p.unlink()
    resolved = json.loads((copy / "audit" / "resolved.json").read_text())
    del resolved["annotators"]["bounding_box_2d_tight"]
    (copy / "audit" / "resolved.json").write_text(json.dumps(resolved))
    stats = collect(copy)
    assert dict(_summary_rows(stats))["visible instances"] == "– (no boxes recorded)"
    assert any(n.startswith("the run has no bounding_box_2d_tight annotator") for n in stats.notes), stats.notes
    rows = _class_rows(stats)
    assert rows and all(r[1] == "–" and "bad" not in r[0] for r in rows), rows
    # Compared with a run that has boxes: B's counts are not known, not 'B 0, change -24'.
    from sdg_addon.report.page import write_comparison

    page = write_comparison(two_datasets[0], copy, tmp_path / "cmp").read_text()
    rows = re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert rows and all(b == "–" and change == "–" for _c, _a, b, change in rows), rows


def test_report_writes_only_where_it_may(two_datasets, tmp_path):
    """Inside the dataset its files are recorded as the tool's (so --overwrite removes
    them); a foreign folder holding a user's file is refused and left as it was."""
    from headless.cli import main
    from sdg_addon import output

    out = two_datasets[0]
    assert main(["report", str(out)]) == 0
    assert {"report/index.html", "report/classes.png"} <= set(output.written_files(out))
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert main(["report", str(out), "--out", str(foreign)]) == 2
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    fresh = tmp_path / "fresh"
    assert main(["report", str(out), "--out", str(fresh)]) == 0
    assert main(["report", str(out), "--out", str(fresh)]) == 0  # its own earlier report: fine


def test_the_report_of_a_clips_folder_is_recorded_as_its_datasets_file(tmp_path):
    """`report out/seq/clip_0000` writes clip_0000/report/ inside the dataset, but recorded
    it as a foreign folder's (clip_0000/report/audit/written/ of its own): the dataset's
    record did not list it, so `render --overwrite` left it behind. Now the dataset the
    folder lies in records it, as for a preview of a clip's folder."""
    from test_writers_formats import make_frame

    from headless.cli import main
    from sdg_addon import output
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "dataset.json").write_text(json.dumps({"tool": output.TOOL, "format": 1}))
    (out / "audit" / "resolved.json").write_text(json.dumps({"sequence": {"clip_length": 2}}))
    w = create_writer("basic", out)
    for run_frame in range(4):
        frame = make_frame(run_frame)
        frame.clip, frame.clip_frame = divmod(run_frame, 2)
        w.write(frame)
    assert main(["report", str(out / "clip_0000")]) == 0
    assert not (out / "clip_0000" / "report" / "audit").exists()
    assert {"clip_0000/report/index.html", "clip_0000/report/classes.png"} <= set(output.written_files(out))


def test_report_and_preview_do_not_write_into_the_datasets_audit_folder(tmp_path, capsys):
    """`report DS --out DS/audit/frames.x.jsonl` wrote its page into the run's own records:
    the folder passed for a frame log and `render --resume` stopped with "Is a directory".
    report and preview now refuse a place in audit/ (exit 2, nothing written), from a clip's
    folder too; elsewhere in the dataset as before."""
    from test_writers_formats import make_frame

    from headless.cli import main
    from sdg_addon import output
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "dataset.json").write_text(json.dumps({"tool": output.TOOL, "format": 1}))
    (out / "audit" / "resolved.json").write_text(json.dumps({"sequence": {"clip_length": 2}}))
    w = create_writer("basic", out)
    for run_frame in range(2):
        frame = make_frame(run_frame)
        frame.clip, frame.clip_frame = divmod(run_frame, 2)
        w.write(frame)
    before = sorted(p.relative_to(out) for p in (out / "audit").rglob("*"))
    for folder in (out, out / "clip_0000"):
        assert main(["report", str(folder), "--out", str(out / "audit" / "frames.x.jsonl")]) == 2
        assert "inside the dataset's audit/ folder" in capsys.readouterr().err
        assert main(["preview", str(folder), "--out", str(out / "audit" / "x.png")]) == 2
        assert "inside the dataset's audit/ folder" in capsys.readouterr().err
    assert sorted(p.relative_to(out) for p in (out / "audit").rglob("*")) == before
    assert main(["report", str(out), "--out", str(out / "pages")]) == 0
    assert main(["preview", str(out / "clip_0000"), "--out", str(out / "pages" / "x.png")]) == 0


def test_report_and_preview_do_not_write_beside_a_cameras_rgb_frames(tmp_path, capsys):
    """A camera's rgb annotator folder (Replicator's <camera>/rgb/) is known by holding
    rgb_NNNN.png alone: `report DS --out DS/left/rgb` wrote its page there, and from then on
    the folder passed for a camera of its own: the report of DS said 'cameras right',
    half the instances, and preview showed one camera. Such a place is refused (exit 2,
    nothing written), as a preview named as a frame's image is; a sub-folder of it (the
    default of `report DS/left/rgb`) is fine."""
    from test_writers_formats import make_frame

    from headless.cli import main
    from sdg_addon import output, visualize
    from sdg_addon.writers import create_writer

    out = tmp_path / "ds"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "dataset.json").write_text(json.dumps({"tool": output.TOOL, "format": 1}))
    w = create_writer("basic", out, camera_subfolders="always")
    for cam in ("left", "right"):
        w.write(make_frame(0, camera_name=cam))
    rgb = out / "left" / "rgb"
    before = sorted(p.name for p in rgb.iterdir())
    assert main(["report", str(out), "--out", str(rgb)]) == 2
    assert "a camera's rgb annotator folder" in capsys.readouterr().err
    assert main(["preview", str(out), "--out", str(rgb / "x.png")]) == 2
    assert "a camera's rgb annotator folder" in capsys.readouterr().err
    assert main(["preview", str(out), "--out", str(out / "left" / "rgb_0099.png")]) == 2
    assert "named as a frame's image" in capsys.readouterr().err
    assert sorted(p.name for p in rgb.iterdir()) == before and not (out / "left" / "rgb_0099.png").exists()
    assert set(visualize.cameras(out)) == {"left", "right"}
    assert main(["report", str(rgb)]) == 0 and (rgb / "report" / "index.html").is_file()
    assert set(visualize.cameras(out)) == {"left", "right"}


def test_the_report_of_a_clips_folder_does_not_say_its_datasets_audit_is_missing(tmp_path):
    """The report of a clip's folder read the audit/ of that folder, which has none: it said
    "audit/label_table.json lists no 'class' labels", "audit/frames*.jsonl missing or empty"
    and "warnings: none", though the dataset one folder up has them all. Now it says the
    folder lies inside the dataset, whose report reads them, and no warnings are claimed."""
    from test_writers_formats import make_frame

    from sdg_addon import output
    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "dataset.json").write_text(json.dumps({"tool": output.TOOL, "format": 1}))
    (out / "audit" / "resolved.json").write_text(json.dumps({"sequence": {"clip_length": 2}}))
    (out / "audit" / "manifest.json").write_text(json.dumps({"warnings": ["frame 1: something"]}))
    w = create_writer("basic", out)
    for run_frame in range(4):
        frame = make_frame(run_frame)
        frame.clip, frame.clip_frame = divmod(run_frame, 2)
        w.write(frame)
    stats = collect(out / "clip_0001")
    assert not any("label_table.json lists no" in n or "missing or empty" in n for n in stats.notes)
    assert any(n.startswith("clip_0001 is a folder inside the dataset ") for n in stats.notes)
    assert dict(_summary_rows(stats))["warnings"] == "–"
    whole = collect(out)
    assert not any("is a folder inside the dataset" in n for n in whole.notes)
    assert dict(_summary_rows(whole))["warnings"] == "frame 1: something"


def test_an_empty_box_row_is_skipped_not_a_math_domain_error(tmp_path):
    """A tight box row with x_max < x_min (a dataset made elsewhere listing an object not
    in view) stopped the report with "error: math domain error" (the square root of a
    negative area); preview skips such rows, and so does the report now."""
    from test_writers_formats import make_frame

    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "elsewhere"
    create_writer("basic", out).write(make_frame(0))
    path = out / "bounding_box_2d_tight_0000.npy"
    boxes = np.load(path)
    n = len(boxes)
    boxes[0]["x_min"], boxes[0]["x_max"] = 20, 10
    np.save(path, boxes)
    stats = collect(out)
    assert sum(stats.instances.values()) == n - 1 and len(stats.centres) == n - 1


def test_the_classes_are_the_label_type_the_boxes_are_labelled_by(tmp_path):
    """A run with bounding_box_2d_tight = { semantic_type = "kind" } labels its boxes by
    "kind": the report looked up "class" in them, found none, and said 0 visible instances,
    every class in red as never seen, beside 10 boxes. It now takes the classes from the
    label type the run's boxes are labelled by, and says which."""
    from test_writers_formats import make_frame

    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "kind"
    (out / "audit").mkdir(parents=True)
    resolved = {"annotators": {"bounding_box_2d_tight": {"semantic_type": "kind"}}}
    (out / "audit" / "resolved.json").write_text(json.dumps(resolved))
    create_writer("basic", out).write(make_frame(0))
    path = out / "bounding_box_2d_tight_labels_0000.json"
    labels = json.loads(path.read_text())
    path.write_text(json.dumps({i: {"kind": f"k_{v['class']}"} for i, v in labels.items()}))
    (out / "audit" / "label_table.json").write_text(
        json.dumps({"kind": sorted({f"k_{v['class']}" for v in labels.values()})})
    )
    stats = collect(out)
    boxes = len(np.load(out / "bounding_box_2d_tight_0000.npy"))
    assert sum(stats.instances.values()) == boxes > 0
    assert set(stats.classes) == {f"k_{v['class']}" for v in labels.values()}
    assert any("'kind' labels" in n for n in stats.notes)
    by_class = collect(out, "class")  # asked for: as asked, and the rows it could not name said
    assert sum(by_class.instances.values()) == 0
    assert (
        f"{boxes} box row(s) whose semanticId their frame's bounding_box_2d_tight_labels gives no 'class'"
        in " ".join(by_class.notes)
    )


def test_classes_a_box_filter_leaves_out_are_not_shown_as_never_seen(tmp_path):
    """bounding_box_2d_tight = { semantic_filter = ["ball"] } boxes the balls only: the report
    listed the label table's other classes (cube, in every frame) in red with 0 instances, as
    never seen. The classes are now those the filter keeps (its values or patterns, as the
    annotator reads them), and a note says why."""
    from test_writers_formats import make_frame

    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "filtered"
    (out / "audit").mkdir(parents=True)
    resolved = {"annotators": {"bounding_box_2d_tight": {"semantic_filter": ["m?g", "unseen"]}}}
    (out / "audit" / "resolved.json").write_text(json.dumps(resolved))
    (out / "audit" / "label_table.json").write_text(json.dumps({"class": ["mug", "ball", "box", "unseen"]}))
    frame = make_frame(0)
    tight = frame.annotations["bounding_box_2d_tight"]
    mug = [
        i for i, r in enumerate(tight["data"]) if tight["info"]["idToLabels"][int(r["semanticId"])]["class"] == "mug"
    ]
    assert mug and len(mug) < len(tight["data"])
    tight["data"] = tight["data"][mug]  # what the filter leaves
    create_writer("basic", out).write(frame)
    stats = collect(out)
    assert stats.classes == ["mug", "unseen"]
    assert stats.instances == {"mug": len(mug), "unseen": 0}
    assert any("keeps only m?g, unseen (its semantic_filter)" in n for n in stats.notes)


def test_the_summary_says_when_the_dataset_holds_fewer_frames_than_its_run_makes(tmp_path):
    """A report of a run under way, or of one stopped by Ctrl-C (37 of 40 frames), said
    "frames 37" like a finished dataset's. The summary now gives the run's count and says
    how many are not finished; a complete dataset's row is the count alone."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "run"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "resolved.json").write_text(json.dumps({"frames": 3, "seed": 1}))
    w = create_writer("basic", out)
    for f in (0, 1):
        w.write(make_frame(f))
    frames = dict(_summary_rows(collect(out)))["frames"]
    assert frames.startswith("2 of 3: 1 not finished (") and "render --resume" in frames and "--frames" in frames
    w.write(make_frame(2))
    assert dict(_summary_rows(collect(out)))["frames"] == "3"


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _dump_dom(browser: str, page: Path) -> str:
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--allow-file-access-from-files",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def test_report_opens_in_headless_chromium_and_shows_its_plots(two_datasets, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium): the HTML check needs a browser")
    out = two_datasets[0]
    from sdg_addon.report import write_report

    page = write_report(out, tmp_path / "report")
    n = len(re.findall(r"<img ", page.read_text()))
    dom = _dump_dom(browser, page)
    assert f'data-plots="loaded {n} of {n}"' in dom, dom[:500]
    assert f"All {n} plots shown." in dom
    # The check can fail: a missing plot is reported.
    (tmp_path / "report" / "depth.png").unlink()
    dom = _dump_dom(browser, page)
    assert f'data-plots="loaded {n - 1} of {n}"' in dom and "1 plot(s) failed to load." in dom


def test_report_shows_cases_and_quotas_of_the_manifest(two_datasets, tmp_path):
    """Cases from audit/manifest.json: requested against made, unmet ones flagged."""
    src = two_datasets[1]
    copy = tmp_path / "copy"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("report", ".lock*", "*.lock"))
    manifest = json.loads((copy / "audit" / "manifest.json").read_text())
    manifest["cases"] = {
        "dark": {"kind": "fixed", "requested": 2, "made": 2, "met": True, "frames": [0, 1]},
        "crowded": {"kind": "quota", "requested": 3, "made": 1, "met": False, "frames": [2]},
    }
    (copy / "audit" / "manifest.json").write_text(json.dumps(manifest))
    from sdg_addon.report import write_report

    page = write_report(copy, tmp_path / "out").read_text()
    assert '<td>dark</td><td>fixed</td><td>2</td><td>2</td><td><span class="ok">met</span>' in page
    assert '<td>crowded</td><td>quota</td><td>3</td><td>1</td><td><span class="bad">not met</span>' in page


def test_a_run_under_way_is_not_said_to_have_declared_no_cases(two_datasets, tmp_path):
    """A run with [[cases]] has no audit/manifest.json until it ends: its report during the
    run said 'The run declared no cases or quotas.'; it now names the declared cases and why
    they are not counted yet; a dataset without audit/ is not said to have declared none."""
    src = two_datasets[1]
    copy = tmp_path / "copy"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("report", ".lock*", "*.lock"))
    (copy / "audit" / "manifest.json").unlink()  # the run still under way
    resolved = json.loads((copy / "audit" / "resolved.json").read_text())
    resolved["cases"] = [{"name": "occluded_mug", "frames": 20, "measure": "occlusion", "label": "mug", "min": 0.3}]
    (copy / "audit" / "resolved.json").write_text(json.dumps(resolved))
    from sdg_addon.report import write_report

    page = write_report(copy, tmp_path / "out").read_text()
    assert "declared no cases" not in page
    assert "The run declares 1 case(s) (occluded_mug); no manifest counts them yet" in page
    shutil.rmtree(copy / "audit")  # a dataset made elsewhere: nothing known of its cases
    page = write_report(copy, tmp_path / "out2").read_text()
    assert "declared no cases" not in page and "Not known: no audit/manifest.json" in page


def test_report_of_shards_reads_every_process_log_and_manifest(tmp_path):
    """Shards (and parallel or Ray runs) log to audit/frames.<tag>.jsonl and write their own
    manifest.<tag>.json: the page shows the sampled values of all their frames and every
    shard's warnings (was: only audit/frames.jsonl and manifest.json, so a sharded or
    multi-process dataset showed no sampled values and no warnings)."""
    pytest.importorskip("bpy")
    from headless.cli import main
    from sdg_addon.report import write_report

    param = tiny_default(tmp_path, 7, "shards")
    out = tmp_path / "out"
    for shard in ("0/2", "1/2"):
        assert main(["render", str(param), "--out", str(out), "--quiet", "--shard", shard]) == 0
    audit = out / "audit"
    assert not (audit / "frames.jsonl").exists() and len(list(audit.glob("frames*.jsonl"))) == 2
    # Each shard's own warning, and one both say: the page shows every shard's (not only
    # the last manifest's), the shared one once.
    for path, own in zip(sorted(audit.glob("manifest*.json")), ("first", "second")):
        manifest = json.loads(path.read_text())
        manifest["warnings"] = [f"a warning of the {own} shard", "a warning of both shards"]
        path.write_text(json.dumps(manifest))
    page = write_report(out, tmp_path / "report").read_text()
    assert "sampled values not shown" not in page and "<td>energy</td>" in page
    assert page.count("inside</span>") >= 15
    assert "a warning of the first shard" in page and "a warning of the second shard" in page
    assert page.count("a warning of both shards") == 1
    energy = re.search(r"<td>energy</td>.*?</tr>", page, re.S).group(0)
    assert "<td>3</td><td><span" in energy  # 3 values (one light, 3 frames): both shards' logs


def test_the_seconds_of_shards_say_whose_they_are(tmp_path):
    """'seconds (last run)' of shards not merged yet was one shard's (0.77 s for a dataset two
    shards made), and of a merge the shards' last runs added (3.06 s, runs that may have
    gone at once on three machines), both said as one run's; each now says whose they are."""
    from sdg_addon.report.page import _seconds
    from sdg_addon.report.stats import _manifest

    audit = tmp_path / "audit"
    audit.mkdir()
    for k, seconds in enumerate((0.95, 0.77)):
        (audit / f"manifest.shard00{k}of003.json").write_text(json.dumps({"seconds_total": seconds}))
    assert _seconds(_manifest(audit)) == "0.77 (shard001of003's last run alone, until merge adds every part's)"
    parts = {f"manifest.shard00{k}of003.json": {"seconds_total": 1.0} for k in range(3)}
    (audit / "manifest.json").write_text(json.dumps({"mode": "merge", "parts": parts, "seconds_total": 3.061}))
    assert _seconds(_manifest(audit)) == "3.06 (3 shards' last runs, added)"
    (audit / "manifest.json").write_text(json.dumps({"seconds_total": 0.394}))  # one run
    assert _seconds(_manifest(audit)) == "0.39"
    assert _seconds({}) == "–"


def test_an_unreadable_frame_log_is_one_note_and_the_page_goes_on(tmp_path):
    from PIL import Image

    from sdg_addon.report.stats import collect

    Image.fromarray(np.zeros((4, 6, 4), np.uint8)).save(tmp_path / "rgb_0000.png")
    (tmp_path / "audit" / "frames.jsonl").mkdir(parents=True)  # read_text: IsADirectoryError
    notes = [n for n in collect(tmp_path).notes if "sampled values" in n]
    assert len(notes) == 1 and notes[0].startswith("cannot read the frame logs (") and "frames.jsonl" in notes[0]


def test_dataset_and_report_modules_import_without_blender_or_torch():
    code = "import sys, sdg_addon.dataset, sdg_addon.report; print('bpy' in sys.modules, 'torch' in sys.modules)"
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_report_finds_truncation_in_the_several_camera_layout(tmp_path):
    """With several cameras the BasicWriter puts an annotator's files in its own folder,
    `<camera>/occlusion/`, our sdg_occlusion files too: the report reads truncation there
    as beside rgb (before: "truncation not recorded" for a run that had the annotator)."""
    from test_writers_formats import make_frame

    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    occ = np.zeros(
        2,
        dtype=[
            ("instanceId", "<u4"),
            ("semanticId", "<u4"),
            ("occlusionRatio", "<f4"),
            ("visiblePixels", "<u4"),
            ("unoccludedPixels", "<u4"),
        ],
    )
    occ["instanceId"], occ["semanticId"] = [2, 3], [2, 3]
    occ["visiblePixels"] = occ["unoccludedPixels"] = [5, 7]
    info = {"primPaths": ["/a", "/b"], "idToLabels": {2: {"class": "cup"}, 3: {"class": "mug"}}}
    for layout in ("always", "never"):
        out = tmp_path / layout
        w = create_writer("basic", out, camera_subfolders=layout)
        frame = make_frame(0)
        frame.annotations["occlusion"] = {"data": occ, "info": {**info, "truncationRatio": [0.25, 0.5]}}
        w.write(frame)
        stats = collect(out)
        assert stats.truncation == {"cup": [0.25], "mug": [0.5]}, layout
        assert not any("truncation not recorded" in n for n in stats.notes), layout


def test_truncation_counts_the_visible_instances_as_the_classes_table_does(tmp_path):
    """The occlusion annotator lists an object hidden whole (occlusionRatio 1, no visible
    pixel), which has no tight box: the truncation histogram and the table's mean truncation
    counted it (ball n=36 beside 34 visible instances in a run with a ball inside a cube),
    though docs/report.md says the histograms count the visible instances as the table does;
    such rows are now left out."""
    from test_writers_formats import make_frame

    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    occ = np.zeros(
        3,
        dtype=[
            ("instanceId", "<u4"),
            ("semanticId", "<u4"),
            ("occlusionRatio", "<f4"),
            ("visiblePixels", "<u4"),
            ("unoccludedPixels", "<u4"),
        ],
    )
    occ["instanceId"], occ["semanticId"] = [2, 3, 4], [2, 2, 3]
    occ["occlusionRatio"] = [0.0, 1.0, 0.5]
    occ["visiblePixels"], occ["unoccludedPixels"] = [10, 0, 4], [10, 94, 8]
    info = {
        "primPaths": ["/a", "/b", "/c"],
        "idToLabels": {2: {"class": "cup"}, 3: {"class": "mug"}},
        "truncationRatio": [0.25, 0.0, 0.5],
    }
    out = tmp_path / "ds"
    w = create_writer("basic", out)
    frame = make_frame(0)
    frame.annotations["occlusion"] = {"data": occ, "info": info}
    w.write(frame)
    assert collect(out).truncation == {"cup": [0.25], "mug": [0.5]}


def test_depth_is_in_metres_whatever_the_unit_scale(tmp_path):
    """Depth files are in scene units (a base .blend in centimetres: a box 3.35 m away reads
    335); the report said 'depth range 237.951 .. 772.291 m' for such a scene. Its depth
    charts and summary now take each frame's camera_params metersPerSceneUnit."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "cm"
    frame = make_frame(0)  # depth 2.5 everywhere
    frame.annotations["camera_params"]["metersPerSceneUnit"] = 0.01
    create_writer("basic", out).write(frame)
    stats = collect(out)
    assert [(f, round(lo, 6), round(hi, 6)) for f, lo, hi in stats.depth_per_frame] == [(0, 0.025, 0.025)]
    np.testing.assert_allclose(stats.depth_sample, 0.025, rtol=1e-6)
    assert dict(_summary_rows(stats))["depth range"] == "0.025 .. 0.025 m"


def test_a_dataset_given_as_dot_is_named_by_its_folder(tmp_path, monkeypatch):
    """`report .` inside a dataset titled its page "Dataset report: " (no name), and
    `report ../v1 .` wrote ../v1/report/compare__-e3b0c442 (the hash of an empty name);
    the folder's own name is used: "Dataset report: v2", compare_v2."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import write_comparison, write_report
    from sdg_addon.writers import create_writer

    for name in ("v1", "v2"):
        create_writer("basic", tmp_path / name).write(make_frame(0))
    monkeypatch.chdir(tmp_path / "v2")
    assert "<title>Dataset report: v2</title>" in write_report(".").read_text()
    page = write_comparison("../v1", ".")
    assert page.resolve() == tmp_path / "v1" / "report" / "compare_v2" / "index.html"
    assert "<title>Dataset comparison: v1 vs v2</title>" in page.read_text()


def test_two_datasets_of_one_folder_name_are_told_apart(tmp_path):
    """`report runs/v1/out runs/v2/out` (or one run's folder fetched from two machines)
    titled the page 'Dataset comparison: out vs out' and said 'A = out, B = out': which was
    which was not told. Names alike are now given with the folders above them that differ."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import write_comparison
    from sdg_addon.writers import create_writer

    for name in ("v1", "v2"):
        create_writer("basic", tmp_path / "runs" / name / "données é").write(make_frame(0))
    a, b = (tmp_path / "runs" / n / "données é" for n in ("v1", "v2"))
    page = write_comparison(a, b, tmp_path / "cmp").read_text()
    assert "<title>Dataset comparison: v1/données é vs v2/données é</title>" in page
    assert "A = v1/données é, B = v2/données é" in page
    (tmp_path / "x").mkdir()
    create_writer("basic", tmp_path / "x" / "v2").write(make_frame(0))
    page = write_comparison(a, tmp_path / "x" / "v2", tmp_path / "cmp2").read_text()
    assert "<title>Dataset comparison: données é vs v2</title>" in page  # names that differ: as they were


def test_a_clips_folder_given_as_dot_is_named_in_the_note(tmp_path, monkeypatch):
    """`report .` in a clip's folder said " is a folder inside the dataset ..." (no name)."""
    from test_writers_formats import make_frame

    from sdg_addon import output
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "dataset.json").write_text(json.dumps({"tool": output.TOOL, "format": 1}))
    (out / "audit" / "resolved.json").write_text(json.dumps({"sequence": {"clip_length": 2}}))
    frame = make_frame(0)
    frame.clip, frame.clip_frame = 0, 0
    create_writer("basic", out).write(frame)
    monkeypatch.chdir(out / "clip_0000")
    assert any(n.startswith("clip_0000 is a folder inside the dataset") for n in collect(".").notes)


def test_report_counts_a_sequences_frames_by_run_frame_not_by_frame_in_clip(tmp_path):
    """A sequence run numbers files by the frame within the clip (clip_0001/rgb_0000.png is
    run frame 2 with clip_length 2): the report's frame count, frames per class and depth
    chart use the run's frames (before: 2 frames for a 4-frame run, clips on top of each
    other in the depth chart)."""
    from test_writers_formats import make_frame

    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "resolved.json").write_text(json.dumps({"sequence": {"clip_length": 2, "folders": "clip"}}))
    w = create_writer("basic", out)
    for run_frame in range(4):
        frame = make_frame(run_frame)
        frame.clip, frame.clip_frame = divmod(run_frame, 2)
        w.write(frame)
    stats = collect(out)
    assert stats.frame_count == 4
    assert sorted(f for f, _lo, _hi in stats.depth_per_frame) == [0, 1, 2, 3]
    assert max(stats.frames_with.values()) == 4


def test_report_of_cameras_of_different_sizes_uses_each_cameras_size(tmp_path):
    """Cameras may have their own width and height: the summary names each size and box
    centres are normalized by their own camera's size (before: "image size" was the first
    camera's and the other camera's centres were scaled by it, off the heat map's place)."""
    from PIL import Image
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "two"
    w = create_writer("basic", out, camera_subfolders="always")
    for cam in ("big", "small"):
        w.write(make_frame(0, camera_name=cam))
    big = Image.open(out / "big" / "rgb" / "rgb_0000.png")
    width, height = big.size
    big.resize((width // 2, height // 2)).save(out / "small" / "rgb" / "rgb_0000.png")
    stats = collect(out)
    assert stats.image_sizes == {"big": (width, height), "small": (width // 2, height // 2)}
    assert stats.image_size == (width, height)
    n = len(stats.centres) // 2
    np.testing.assert_allclose(stats.centres[n:], stats.centres[:n] * 2)
    rows = dict(_summary_rows(stats))
    assert rows["image size"] == f"{width} x {height} (big), {width // 2} x {height // 2} (small)"


def test_the_box_size_axis_holds_a_box_as_large_as_the_image(tmp_path, monkeypatch):
    """The box size histograms ran from 0 to half the image's diagonal (57.7 px for 96 x 64),
    but a box's sqrt(width x height) reaches sqrt(W x H) (78.4 px): a road filling the image
    (67.9 px) was drawn in the last bin, at "57.7 px". The axis now ends at sqrt(W x H)."""
    from test_writers_formats import H, W, make_frame

    from sdg_addon.report import page, plots
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "big_box"
    w = create_writer("basic", out)
    w.write(make_frame(0, inst=np.full((H, W), 3, np.uint32)))  # the box fills the image
    stats = collect(out)
    assert stats.box_size == {"box": [pytest.approx((W * H) ** 0.5)]}
    axes = {}
    real = plots.histogram_grid

    def recording(title, values, low, high, **kw):
        axes[title] = high
        return real(title, values, low, high, **kw)

    monkeypatch.setattr(plots, "histogram_grid", recording)
    page._plots(stats, tmp_path / "plots")
    [high] = [v for k, v in axes.items() if k.startswith("Box size")]
    assert high == pytest.approx((W * H) ** 0.5)


def test_frames_with_no_surface_in_view_are_not_said_to_have_no_depth_files(tmp_path, drawn_text):
    """A camera that sees only sky writes distance_to_image_plane files of inf: the report
    said "no distance_to_image_plane files" and drew "no depth recorded", untrue, and a
    frame of only sky was left out of the depth charts without a word. Now the note counts
    the frames with no surface in view and the chart says so."""
    from test_writers_formats import make_frame

    from sdg_addon.report import page
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "sky"
    w = create_writer("basic", out)
    for f in (0, 1):
        frame = make_frame(f)
        frame.annotations["distance_to_image_plane"][:] = np.inf
        w.write(frame)
    said = drawn_text()
    stats = collect(out)
    assert not any("no distance_to_image_plane files" in n for n in stats.notes)
    assert "2 of 2 frame(s) with no surface in view" in " ".join(stats.notes)
    page._plots(stats, tmp_path / "plots")
    assert "no surface in view in any frame (every depth infinite)" in said and "no depth recorded" not in said
    frame = make_frame(2)  # one frame with a surface: charted, the sky-only frames counted apart
    w.write(frame)
    stats = collect(out)
    assert [f for f, _lo, _hi in stats.depth_per_frame] == [2]
    assert "2 of 3 frame(s) with no surface in view" in " ".join(stats.notes)
    assert "left out of the depth charts" in " ".join(stats.notes)
    (out / "distance_to_image_plane_0000.npy").unlink()  # a frame without the file: said too
    assert "1 frame(s) without distance_to_image_plane: left out of the depth charts" in collect(out).notes


def test_the_depth_per_frame_of_several_cameras_is_in_frame_order(tmp_path, drawn_text):
    """Several cameras: the per-frame depth bars went camera by camera (frames 0, 1 of one,
    then 0, 1 of the other) under an axis "frame 0 .. frame 1"; now in frame order, each
    frame's cameras side by side, and the caption says so."""
    from test_writers_formats import make_frame

    from sdg_addon.report.plots import depth_chart
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "two"
    w = create_writer("basic", out, camera_subfolders="always")
    for cam in ("left", "right"):
        for f in (0, 1):
            w.write(make_frame(f, camera_name=cam))
    stats = collect(out)
    assert [f for f, _a, _b in stats.depth_per_frame] == [0, 0, 1, 1]
    said = drawn_text()
    depth_chart("t", stats.depth_per_frame, stats.depth_sample)
    assert "per frame, one bar per camera: nearest .. farthest surface" in said


def test_the_summary_of_a_sequence_names_its_cameras_and_clips_once(tmp_path):
    """A sequence of several cameras: the summary's "cameras" row listed every clip's camera
    ("clip_0000/left, clip_0000/right, clip_0001/left, ...": two names a clip, thousands for
    a long run) and sizes likewise; it now names each camera once and counts the clips."""
    from PIL import Image
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "resolved.json").write_text(json.dumps({"sequence": {"clip_length": 2, "folders": "clip"}}))
    w = create_writer("basic", out, camera_subfolders="always")
    for run_frame in range(6):
        for cam in ("left", "right"):
            frame = make_frame(run_frame, camera_name=cam)
            frame.clip, frame.clip_frame = divmod(run_frame, 2)
            w.write(frame)
    stats = collect(out)
    assert len(stats.frames) == 6  # 3 clips x 2 cameras
    rows = dict(_summary_rows(stats))
    assert rows["cameras"] == "left, right (in 3 clips)", rows["cameras"]
    width, height = Image.open(next(out.glob("clip_0000/left/rgb/rgb_0000.png"))).size
    assert rows["image size"] == f"{width} x {height}"


def test_the_summary_names_the_only_camera_of_a_sequence(tmp_path):
    """One camera: its files are at each clip folder's root, and the summary's "cameras" row
    said "(root) (in 3 clips)". Now it names the camera, from audit/cameras.json."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "resolved.json").write_text(json.dumps({"sequence": {"clip_length": 2, "folders": "clip"}}))
    w = create_writer("basic", out)
    for run_frame in range(6):
        frame = make_frame(run_frame, camera_name="front")
        frame.clip, frame.clip_frame = divmod(run_frame, 2)
        w.write(frame)
    assert dict(_summary_rows(collect(out)))["cameras"] == "(root) (in 3 clips)"  # no audit/cameras.json
    (out / "audit" / "cameras.json").write_text(json.dumps(["front"]))
    assert dict(_summary_rows(collect(out)))["cameras"] == "front (in 3 clips)"


def test_the_summary_names_cameras_as_the_run_does_not_by_folder(tmp_path):
    """A camera whose name is no portable folder name ("über") has the folder
    _ber-b51c8541: the summary named it so, and the report of a camera's folder (OUT/right)
    named its camera "(root)"; both now say the run's names (audit/cameras.json)."""
    from test_writers_formats import make_frame

    from sdg_addon import output
    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer
    from sdg_addon.writers.common import safe_name

    out = tmp_path / "out"
    (out / "audit").mkdir(parents=True)
    (out / output.MARKER).write_text(json.dumps({"tool": output.TOOL}))
    (out / "audit" / "cameras.json").write_text(json.dumps(["über", "right"]))
    w = create_writer("basic", out, camera_subfolders="always")
    for cam in ("über", "right"):
        w.write(make_frame(0, camera_name=cam))
    assert (out / safe_name("über")).is_dir() and safe_name("über") != "über"
    assert dict(_summary_rows(collect(out)))["cameras"] == "über, right"
    assert dict(_summary_rows(collect(out / "right")))["cameras"] == "right"
    assert dict(_summary_rows(collect(out / safe_name("über"))))["cameras"] == "über"


def test_the_summary_names_the_runs_lidars_and_their_scans(tmp_path):
    """A run with a LiDAR: the report said nothing of it (its point clouds in OUT/top/lidar/),
    as if none was recorded; the summary now names each LiDAR and its scans."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "out"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "resolved.json").write_text(json.dumps({"lidars": [{"name": "top"}, {"name": "über"}]}))
    create_writer("basic", out).write(make_frame(0))
    for k in range(3):
        (out / "top" / "lidar").mkdir(parents=True, exist_ok=True)
        np.save(out / "top" / "lidar" / f"lidar_{k:04d}.npy", np.zeros((2, 4), np.float32))
        np.save(out / "top" / "lidar" / f"lidar_range_{k:04d}.npy", np.zeros(2, np.float32))
    said = dict(_summary_rows(collect(out)))["LiDARs"]
    assert said.startswith("top: 3 scans in top/lidar/, über: 0 scans in _ber-b51c8541/lidar/"), said
    out_b = tmp_path / "b"
    (out_b / "audit").mkdir(parents=True)
    (out_b / "audit" / "resolved.json").write_text(json.dumps({"lidars": [{"name": "top"}]}))
    create_writer("basic", out_b).write(make_frame(0))
    (out_b / "top" / "lidar").mkdir(parents=True)
    np.save(out_b / "top" / "lidar" / "lidar_0000.npy", np.zeros((2, 4), np.float32))
    (out / "audit" / "resolved.json").write_text(json.dumps({"lidars": []}))
    assert "LiDARs" not in dict(_summary_rows(collect(out)))
    # A comparison of a dataset without LiDARs (A) and one with (B) showed A's rows only.
    from sdg_addon.report.page import _summary_pairs

    rows = {k: (a, b) for k, a, b in _summary_pairs(collect(out), collect(out_b))}
    assert rows["LiDARs"][0] == "–" and rows["LiDARs"][1].startswith("top: 1 scan in top/lidar/"), rows
    assert list(rows)[-1] == "warnings"


def test_a_sequences_lidar_scans_are_said_to_be_in_its_clips_folders(tmp_path):
    """A sequence's LiDAR scans are in each clip's folder (clip_0000/top/lidar/); the summary
    said 'top: 6 scans in top/lidar/', a folder the dataset does not have."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "seq"
    (out / "audit").mkdir(parents=True)
    resolved = {"sequence": {"clip_length": 3, "folders": "clip"}, "lidars": [{"name": "top"}]}
    (out / "audit" / "resolved.json").write_text(json.dumps(resolved))
    w = create_writer("basic", out, camera_subfolders="always")
    for run_frame in range(6):
        frame = make_frame(run_frame, camera_name="left")
        frame.clip, frame.clip_frame = divmod(run_frame, 3)
        w.write(frame)
    for clip in range(2):
        (out / f"clip_{clip:04d}" / "top" / "lidar").mkdir(parents=True)
        for k in range(3):
            np.save(out / f"clip_{clip:04d}" / "top" / "lidar" / f"lidar_{k:04d}.npy", np.zeros((2, 4), np.float32))
    said = dict(_summary_rows(collect(out)))["LiDARs"]
    assert said.startswith("top: 6 scans in clip_*/top/lidar/ of 2 clips"), said
    assert dict(_summary_rows(collect(out / "clip_0001"))).get("LiDARs") is None  # a clip's folder: no audit


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_a_report_out_that_is_a_file_is_refused_as_invalid_input(tmp_path, capsys, where):
    """`report --out notes.txt` (an existing file) or `--out notes.txt/page` ended as a failure
    of the disk, exit 1 ("cannot write ...: Not a directory"); it is the user's input that
    cannot be: exit 2 naming the file, the file untouched."""
    from test_writers_formats import make_frame

    from headless.cli import main
    from sdg_addon.writers import create_writer

    out = tmp_path / "ds"
    create_writer("basic", out).write(make_frame(0))
    notes = tmp_path / "notes.txt"
    notes.write_text("keep")
    target = notes if where == "a file" else notes / "page"
    assert main(["report", str(out), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{notes} is a file, not a folder" in err and "--out" in err, err
    assert notes.read_text() == "keep"


def test_a_report_out_whose_path_leaves_no_room_is_refused_before_any_folder_is_made(tmp_path, capsys):
    """`report --out` of 4075 bytes (Linux takes paths of fewer than 4096) made the folders,
    then ended with exit 1, 'cannot write to OUT: File name too long'; it is refused as
    render's --out is (output.unusable_location), exit 2, nothing made."""
    import os

    from test_writers_formats import make_frame

    from headless.cli import main
    from sdg_addon import output
    from sdg_addon.writers import create_writer

    out = tmp_path / "ds"
    create_writer("basic", out).write(make_frame(0))
    limit = os.pathconf(tmp_path, "PC_PATH_MAX")
    target = tmp_path.resolve() / "deep"
    while len(os.fsencode(str(target))) < limit - output.WRITTEN_BELOW + 20:
        target = target / ("d" * 200)
    assert main(["report", str(out), "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert "bytes long" in err and "give another --out" in err, err
    assert not (tmp_path / "deep").exists()


def test_report_and_contact_sheet_read_the_folder_once_per_camera_not_per_frame(tmp_path, monkeypatch):
    """The report looked up each frame's files by listing the whole output folder again
    (every file of every frame): quadratic in frames, 1,000 frames took 9 minutes. It now
    lists each camera's folder a fixed number of times, however many frames; the contact
    sheet too. Same figures."""
    from test_writers_formats import make_frame

    from sdg_addon import visualize
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "many"
    w = create_writer("basic", out)
    listings = []
    real = visualize._frame_places
    monkeypatch.setattr(visualize, "_frame_places", lambda folder: listings.append(folder) or real(folder))
    counts = []
    for first in (0, 6):
        for f in range(first, first + 6):
            w.write(make_frame(f))
        listings.clear()
        assert collect(out).frame_count == first + 6
        report = len(listings)
        listings.clear()
        visualize.contact_sheet(out, n=first + 6, thumb_width=32)
        counts.append((report, len(listings)))
    assert counts[0] == counts[1]  # 6 frames or 12: the same listings


@pytest.mark.parametrize("command", ["report", "preview"])
def test_without_pillow_report_and_preview_say_to_install_it(tmp_path, command):
    """Blender's own Python (and .venv42) has no Pillow: report and preview ended in a
    traceback (ModuleNotFoundError: PIL, exit 1); they say what to install, exit 2, write nothing."""
    code = "import sys; sys.modules['PIL'] = None\nfrom headless.cli import main\nsys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, command, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"error: {command} draws its images with Pillow" in proc.stderr and "pip install pillow" in proc.stderr
    assert "Traceback" not in proc.stderr and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "places, where",
    [
        (["top"], "top/"),  # annotator_subfolders = false
        (["top/frames_0000000/lidar", "top/frames_0000002/lidar"], "top/frames_*/lidar/"),  # frames_per_folder
        (["top/frames_0000000", "top/frames_0000002"], "top/frames_*/"),  # both
        (["."], "the output folder, beside the images"),  # camera_subfolders = "never": beside rgb_0000.png
    ],
)
def test_lidar_scans_are_counted_in_every_layout_the_basic_writer_writes(tmp_path, places, where):
    """The basic writer's options put a LiDAR's scans elsewhere than top/lidar/; the summary
    said 'top: 0 scans in top/lidar/' of each of these, the scans there."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "out"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "resolved.json").write_text(json.dumps({"lidars": [{"name": "top"}]}))
    create_writer("basic", out).write(make_frame(0))
    for k, place in enumerate(places * 2):
        (out / place).mkdir(parents=True, exist_ok=True)
        np.save(out / place / f"lidar_{k:04d}.npy", np.zeros((2, 4), np.float32))
        np.save(out / place / f"lidar_range_{k:04d}.npy", np.zeros(2, np.float32))
    said = dict(_summary_rows(collect(out)))["LiDARs"]
    assert said.startswith(f"top: {2 * len(places)} scans in {where} ("), said


def test_a_lidar_named_lidar_counts_its_own_scans_not_anothers(tmp_path):
    """A LiDAR named "lidar" beside one named "top": lidar/lidar/ and top/lidar/ both end in a
    folder named lidar; each LiDAR's scans are its own (not 'lidar: 4 scans in lidar/lidar/, top/lidar/')."""
    from test_writers_formats import make_frame

    from sdg_addon.report.page import _summary_rows
    from sdg_addon.report.stats import collect
    from sdg_addon.writers import create_writer

    out = tmp_path / "out"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "resolved.json").write_text(json.dumps({"lidars": [{"name": "lidar"}, {"name": "top"}]}))
    create_writer("basic", out).write(make_frame(0))
    for place, frames in (("lidar/lidar", 2), ("top/lidar", 3)):
        (out / place).mkdir(parents=True)
        for k in range(frames):
            np.save(out / place / f"lidar_{k:04d}.npy", np.zeros((2, 4), np.float32))
    said = dict(_summary_rows(collect(out)))["LiDARs"]
    assert said.startswith("lidar: 2 scans in lidar/lidar/, top: 3 scans in top/lidar/ ("), said
