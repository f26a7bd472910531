"""The CPU benchmark of annotation + writing (headless.bench_sink) runs and reports both stages."""

import json

import pytest

pytest.importorskip("bpy")


def test_bench_sink_reports_cpu_ms_per_stage(tmp_path, capsys):
    """... on stdout as JSON alone (before: the capture's "done: ..." line came first, so
    `bench_sink | jq` failed), and in --json."""
    from headless.bench_sink import main as bench

    out = tmp_path / "sink.json"
    args = ["--resolution", "32x24", "--frames", "2", "--loops", "1", "--writers", "basic,coco", "--json", str(out)]
    assert bench(args) == 0
    figures = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == figures
    assert figures["frames"] == 2 and figures["writers"] == ["basic", "coco"]
    assert "bounding_box_2d_tight" in figures["annotators"]
    for key in ("cpu_ms_per_frame_mean", "cpu_ms_per_frame_best_pass"):
        stages = figures[key]
        assert stages["annotate"] > 0 and stages["write"] > 0
        assert stages["total"] == pytest.approx(stages["annotate"] + stages["write"], abs=0.11)
    assert "cpu_ms_per_frame_by_part" not in figures


def test_bench_sink_by_part_names_every_annotator_and_writer(tmp_path):
    """--by-part: each annotator's and writer's CPU ms per frame; together they are the
    stages' own figures (the wrappers measure the same calls), to rounding."""
    from headless.bench_sink import main as bench

    out = tmp_path / "sink.json"
    args = ["--resolution", "32x24", "--frames", "2", "--loops", "2", "--writers", "basic,coco"]
    assert (
        bench(
            [*args, "--annotators", "rgb,instance_segmentation,bounding_box_2d_tight", "--by-part", "--json", str(out)]
        )
        == 0
    )
    figures = json.loads(out.read_text())
    parts = figures["cpu_ms_per_frame_by_part"]
    assert set(parts["annotate"]) == {"rgb", "instance_segmentation", "bounding_box_2d_tight"}
    assert set(parts["write"]) == {"basic", "coco"}
    assert all(v > 0 for stage in parts.values() for v in stage.values())
    for stage in ("annotate", "write"):
        assert sum(parts[stage].values()) == pytest.approx(figures["cpu_ms_per_frame_mean"][stage], rel=0.1, abs=0.3)


def test_every_timed_pass_starts_from_the_frame_as_captured():
    """The sink adds the display-referred "rgb" pass to a frame and caches in it; a timed
    pass that kept them would skip the view transform (it once hid ~8 ms a frame)."""
    import numpy as np

    from headless.bench_sink import as_captured
    from sdg_addon.frame import Camera, FrameData, LabelTable, SceneObject

    cam = Camera("c", 4, 3, "perspective", np.eye(4), 5.0, 5.0, 2.0, 1.5, 0.1, 10.0)
    obj = SceneObject(2, "o", "/o", {}, np.eye(4), np.zeros(3), np.ones(3))
    obj.vertices, obj.faces = np.zeros((3, 3)), np.array([[0, 1, 2]])
    frame = FrameData(0, cam, {"combined": np.zeros((3, 4, 4), np.float32)}, {2: obj}, LabelTable())
    captured = dict(frame.passes)
    frame.rgb()
    obj.world_triangles()
    frame.cache["x"] = 1
    assert "rgb" in frame.passes and obj.triangles is not None
    as_captured(frame, captured)
    assert set(frame.passes) == {"combined"} and not frame.cache and obj.triangles is None


def test_bench_rounds_alternate_pipeline_and_bare(tmp_path):
    """--rounds 2: two pipeline runs and two bare runs, every round's ratio kept, the row's
    ratio their median; --rounds 0 is refused."""
    import statistics

    from headless.bench import main as bench

    out = tmp_path / "bench.json"
    args = ["--resolution", "32x24", "--frames", "3", "--samples", "1", "--device", "cpu", "--rounds", "2"]
    assert bench([*args, "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    (row,) = figures["pipeline"]
    assert len(row["rounds"]) == 2
    assert all(r["bare_steady_frames_per_s"] > 0 and r["ratio_to_bare"] > 0 for r in row["rounds"])
    expected = statistics.median(r["ratio_to_bare"] for r in row["rounds"])
    assert row["ratio_to_bare"] == pytest.approx(expected, abs=1e-4)
    assert figures["bare"]["steady_frames_per_s"] == row["rounds"][0]["bare_steady_frames_per_s"]
    with pytest.raises(SystemExit):
        bench([*args[:-1], "0"])


def test_bench_by_part_inside_runs_of_one_and_of_two_render_processes(tmp_path):
    """--by-part: the run logs each annotator's and writer's CPU seconds (`render
    --time-parts`, forwarded to the render processes of --procs 2): every one named, and
    together they are the stages' own figures, to rounding; without it the log has none."""
    from headless.bench import main as bench

    out = tmp_path / "bench.json"
    args = ["--resolution", "32x24", "--frames", "4", "--chunk", "1", "--samples", "1", "--device", "cpu", "--no-bare"]
    args += ["--annotators", "rgb,instance_segmentation,bounding_box_2d_tight", "--writers", "basic,coco"]
    assert bench([*args, "--procs", "1,2", "--by-part", "--keep", str(tmp_path / "kept"), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["pipeline"]
    assert len(rows) == 2
    for row in rows:
        parts, stages = row["cpu_seconds_per_frame_by_part"], row["cpu_seconds_per_frame"]
        assert set(parts["annotate"]) == {"rgb", "instance_segmentation", "bounding_box_2d_tight"}
        assert set(parts["write"]) == {"basic", "coco"}
        assert all(v > 0 for stage in parts.values() for v in stage.values())
        for stage in ("annotate", "write"):
            assert sum(parts[stage].values()) == pytest.approx(stages[stage], rel=0.1, abs=2e-4)
    # --procs 2: frames rendered by `headless.worker` processes (a log each), which log the parts too.
    logs = sorted((tmp_path / "kept" / "procs2" / "audit").glob("frames.w*.jsonl"))
    assert logs
    assert all("cpu_seconds_by_part" in json.loads(line) for log in logs for line in log.read_text().splitlines())

    assert bench([*args, "--procs", "1", "--keep", str(tmp_path / "plain"), "--json", str(out)]) == 0
    assert "cpu_seconds_per_frame_by_part" not in json.loads(out.read_text())["pipeline"][0]
    log = (tmp_path / "plain" / "procs1" / "audit" / "frames.jsonl").read_text()
    assert log and "cpu_seconds_by_part" not in log
    # Timing the parts changes nothing they write.
    timed, plain = tmp_path / "kept" / "procs1", tmp_path / "plain" / "procs1"
    files = sorted(
        p.relative_to(plain) for p in plain.rglob("*") if p.is_file() and p.parts[len(plain.parts)] != "audit"
    )
    assert len(files) > 10
    assert all((timed / f).read_bytes() == (plain / f).read_bytes() for f in files)
