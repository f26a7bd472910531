"""Corner-case conditions measured on synthetic frames (no bpy): occlusion, truncation and
pixels of the objects with the case's label, at the bounds of min / max."""

from __future__ import annotations

import pytest

from sdg_addon.sampling.cases import CaseSpec, holds, measure
from tests.test_annotators import make_frame, perspective, screen_box

CAM = perspective()  # 128 x 96, f = 100 px


def case(**kw):
    c = CaseSpec()
    for k, v in kw.items():
        setattr(c, k, v)
    return c


@pytest.fixture(scope="module")
def frame():
    # A mug half hidden behind a box, and a mug cut by the left border (a third outside).
    # mug_a: 20 x 20 px around (60, 48); the box in front covers its left half.
    front = screen_box(2, "box", CAM, 50, 48, 0.4, 2.0, {"class": ["box"]})
    behind = screen_box(3, "mug_a", CAM, 60, 48, 0.8, 4.0, {"class": ["mug"]})
    # mug_b: about 30 px wide around column 5, a third of it left of the image.
    cut = screen_box(4, "mug_b", CAM, 5, 30, 0.6, 2.0, {"class": ["mug"]})
    return make_frame(CAM, [front, behind, cut])


def test_measures_are_the_annotators_values(frame):
    occ = dict(measure(case(label="mug", measure="occlusion"), frame))
    trunc = dict(measure(case(label="mug", measure="truncation"), frame))
    px = dict(measure(case(label="mug", measure="pixels"), frame))
    assert len(occ) == len(trunc) == len(px) == 2  # the two mugs, not the box
    a, b = sorted(occ)
    assert 0.4 <= occ[a] <= 0.65 and occ[b] == 0.0  # mug_a: the box covers about its left half
    assert trunc[a] == 0.0 and 0.25 <= trunc[b] <= 0.55  # mug_b: a third to a half outside (its near face is larger)
    assert 120 <= px[a] <= 260


def test_holds_at_the_bounds(frame):
    occ = max(v for _p, v in measure(case(label="mug", measure="occlusion"), frame))
    assert holds(case(label="mug", measure="occlusion", min=occ), frame)
    assert not holds(case(label="mug", measure="occlusion", min=occ + 1e-6), frame)
    assert not holds(case(label="box", measure="occlusion", min=0.1), frame)  # the box is in front
    cut = max(v for _p, v in measure(case(measure="truncation"), frame))
    assert holds(case(label="", measure="truncation", min=cut - 0.01, max=cut), frame)  # any labelled object
    assert not holds(case(label="mug", measure="truncation", min=cut + 0.01), frame)
    assert not holds(case(label="mug", measure="truncation", min=0.01, max=cut - 0.01), frame)


def test_a_parallel_runs_case_warnings_come_from_the_whole_runs_count(tmp_path, capsys):
    """Each render process of a --procs / Ray run counted the cases over the frames logged
    when it ended and warned "case 'x': 1 of 2 frames made so far" where the other process
    made the second: the run's manifest and stderr said a case was unmet that the manifest's
    own `cases` said was met (and whether it was said depended on which process ended
    last). Now a render process says nothing of cases; the parent says what the whole run's
    count leaves unmet."""
    import json

    from headless import parallel
    from sdg_addon.config import load_config
    from sdg_addon.recorder import Recorder, RunOptions
    from sdg_addon.sampling.cases import assign_frames

    toml = tmp_path / "p.toml"
    toml.write_text(
        '[run]\nseed = 7\nframes = 4\n[[cameras]]\nname = "camera"\nlocation = [0, -2, 1]\n[annotators]\nrgb = {}\n'
        '[[cases]]\nname = "both"\nframes = 2\nmeasure = "pixels"\nmin = 1\n'
        '[[cases]]\nname = "never"\nframes = 1\nmeasure = "pixels"\nmin = 2\n'
    )
    config = load_config(toml)
    both = sorted(assign_frames(config.seed, config.frames, config.cases)["both"])
    out = tmp_path / "out"
    audit_dir = out / "audit"
    audit_dir.mkdir(parents=True)
    # Process w000 made one frame of "both", w001 the other; "never" nowhere.
    for tag, f in ((".w000", both[0]), (".w001", both[1])):
        (audit_dir / f"frames{tag}.jsonl").write_text(json.dumps({"frame": f, "cases": {"both": True}}) + "\n")
    said = []
    options = RunOptions(out, range(4), resume=True)
    options.frame_source, options.log_tag = iter(()), ".w000"
    process = Recorder(config, options, on_warning=said.append)
    (audit_dir / "frames.w001.jsonl").rename(tmp_path / "later")  # w000 ends before w001 logged its frame
    assert process._cases_report(audit_dir)["cases"]["both"]["made"] == 1
    assert said == []  # partial: not said by the process
    (tmp_path / "later").rename(audit_dir / "frames.w001.jsonl")
    summary = {"warnings": []}
    parallel.finish(config, out, summary)
    assert summary["cases"]["both"]["met"] and not summary["cases"]["never"]["met"]
    assert summary["warnings"] == ["case 'never': 0 of 1 frames made so far"]
    assert capsys.readouterr().err.count("WARNING: case ") == 1


def test_a_pixels_quota_measures_objects_in_view_only():
    """A `pixels` quota measured every labelled object of the frame, those wholly outside
    the image too, at 0 pixels: a case for a tiny ball (max = 3) was met by every frame with
    a ball out of the picture (30 of 30 frames, where one showed a ball of 3 pixels). Objects
    in view count, as for occlusion and truncation; one in view but wholly hidden is 0."""
    seen = screen_box(3, "mug_a", CAM, 60, 48, 0.8, 4.0, {"class": ["mug"]})
    away = screen_box(4, "mug_far", CAM, 400, 48, 0.5, 2.0, {"class": ["mug"]})  # right of the image
    frame = make_frame(CAM, [seen, away])
    px = dict(measure(case(label="mug", measure="pixels"), frame))
    (path,) = px
    assert path.endswith("/mug_a") and px[path] > 3, px
    assert not holds(case(label="mug", measure="pixels", max=3), frame)
    assert holds(case(label="mug", measure="pixels", min=px[path]), frame)
    hidden = make_frame(CAM, [screen_box(2, "box", CAM, 60, 48, 1.6, 2.0, {"class": ["box"]}), seen, away])
    assert dict(measure(case(label="mug", measure="pixels"), hidden)) == {path: 0.0}  # in view, hidden
    assert holds(case(label="mug", measure="pixels", max=0), hidden)
