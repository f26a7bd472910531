"""The CPU benchmark of annotation + writing (headless.bench_sink) runs and reports both stages."""

import json

import pytest

pytest.importorskip("bpy")


def test_bench_sink_reports_cpu_ms_per_stage(tmp_path):
    from headless.bench_sink import main as bench

    out = tmp_path / "sink.json"
    args = ["--resolution", "32x24", "--frames", "2", "--loops", "1", "--writers", "basic,coco", "--json", str(out)]
    assert bench(args) == 0
    figures = json.loads(out.read_text())
    assert figures["frames"] == 2 and figures["writers"] == ["basic", "coco"]
    assert "bounding_box_2d_tight" in figures["annotators"]
    for key in ("cpu_ms_per_frame_mean", "cpu_ms_per_frame_best_pass"):
        stages = figures[key]
        assert stages["annotate"] > 0 and stages["write"] > 0
        assert stages["total"] == pytest.approx(stages["annotate"] + stages["write"], abs=0.11)
