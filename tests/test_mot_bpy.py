"""The mot writer's full boxes on a real render (bpy), checked against boxes computed by hand.

96 x 64 pixels, 1 sample, CPU. The camera at (0, -4, 0) looks along +Y with fx = fy = 100 px
and the principal point at the image centre (48, 32): a point (X, Y, Z) is seen at
u = 48 + 100 X / (Y + 4), v = 32 - 100 Z / (Y + 4). A primitive cube's origin is the
centre of its base, so a cube of edge a at (X, 0, 0) spans Z in [0, a]. The box covers the
pixels whose centre (i + 0.5) the projection covers: x_min = ceil(u_min - 0.5), x_max =
floor(u_max - 0.5), and MOT's bb_left = x_min + 1, bb_width = x_max - x_min + 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("bpy")

from scenes import NO_GROUND, header, render, sharded_and_resumed, sun, write_param  # noqa: E402

SCENE = (
    header((96, 64), samples=1, frames=2)
    + NO_GROUND
    + """
[[cameras]]
name = "cam"
location = [0.0, -4.0, 0.0]
look_at = [0.0, 0.0, 0.0]
fx = 100
"""
    + sun()
    + """
[[assets]]
name = "left"
primitive = "cube"
size = 0.5
location = [-1.8, 0.0, 0.0]
labels = { class = "cube" }

[[assets]]
name = "front"
primitive = "cube"
size = 0.8
location = [0.0, 0.0, 0.0]
labels = { class = "cube" }

[[assets]]
name = "hidden"
primitive = "cube"
size = 0.3
location = [0.0, 1.5, 0.0]
labels = { class = "cube" }

[annotators]
rgb = {}

[writers]
mot = {}
"""
)

# Instance ids follow the object names' order: front 2, hidden 3, left 4.
# left, X in [-2.05, -1.55], Z in [0, 0.5]: leftmost its front face (depth 3.75),
# u = 48 - 205 / 3.75 = -6.67; rightmost its right face's back edge (depth 4.25),
# u = 48 - 155 / 4.25 = 11.53; v from 32 - 50 / 3.75 = 18.67 to 32: pixels x -7 .. 11, y 19 .. 31.
# Its projection covers 244 pixel centres (182 of the front face: columns -7 .. 6, rows
# 19 .. 31; 62 of the right face), 153 of them inside the image: visibility 153 / 244.
LEFT = [-6, 20, 19, 13]
LEFT_VISIBILITY = 153 / 244
# front, X in [-0.4, 0.4], Z in [0, 0.8], front face at depth 3.6: u = 48 -+ 11.11,
# v from 32 - 80 / 3.6 = 9.78 to 32: pixels x 37 .. 58, y 10 .. 31.
FRONT = [38, 11, 22, 22]
# hidden, X in [-0.15, 0.15], Z in [0, 0.3], front face at depth 5.35: u = 48 -+ 2.80,
# v from 32 - 30 / 5.35 = 26.39 to 32: pixels x 45 .. 50, y 26 .. 31, all behind `front`.
HIDDEN = [46, 27, 6, 6]


def gt_rows(out: Path) -> list[list[str]]:
    text = (out / "mot" / "train" / "stills" / "gt" / "gt.txt").read_text()
    return [line.split(",") for line in text.splitlines()]


def mot_files(out: Path) -> dict[str, bytes]:
    root = out / "mot"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_full_boxes_run_past_the_border_and_keep_hidden_objects(tmp_path):
    """mot's default boxes ("full", MOT16/17's): the cube half past the left border has
    bb_left <= 0 and its whole width, the cube wholly behind another keeps its row with its
    full box and visibility 0; visibility is the seen share of the whole projection. Shards
    merged, and a resumed run, give the same bytes as one run."""
    p = write_param(tmp_path, SCENE)
    one = tmp_path / "one"
    assert render(p, one) == 0
    rows = gt_rows(one)
    for frame in ("1", "2"):
        mine = {int(r[1]): r for r in rows if r[0] == frame}
        assert sorted(mine) == [2, 3, 4]
        assert [int(v) for v in mine[2][2:6]] == FRONT and float(mine[2][8]) == 1.0
        assert [int(v) for v in mine[3][2:6]] == HIDDEN and float(mine[3][8]) == 0.0
        assert [int(v) for v in mine[4][2:6]] == LEFT
        assert float(mine[4][8]) == pytest.approx(LEFT_VISIBILITY, abs=1e-6)
        assert all(r[6:8] == ["1", "1"] for r in mine.values())
    reference = mot_files(one)
    merged, resumed = sharded_and_resumed(p, tmp_path)
    assert mot_files(merged) == reference
    assert mot_files(resumed) == reference


def test_a_writers_label_type_reaches_its_boxes_and_the_warnings(tmp_path, capsys):
    """Objects labelled by `kind` only, mot = { semantic_type = "kind" } and no box
    annotator configured: the loose boxes the writer adds took "class", so gt.txt was empty
    (exit 0), and the run warned that every object lacked a 'class' label, which no
    annotator of the run reads. Now the boxes take the writer's label type (the rows are
    those of the class-labelled scene) and the warning names the label types the run's
    annotators read: here only `hidden`, labelled by class alone, lacks a 'kind' label."""
    text = (
        SCENE.replace('labels = { class = "cube" }', 'labels = { kind = "cube" }', 2)
        .replace("mot = {}", 'mot = { semantic_type = "kind" }')
        .replace("frames = 2", "frames = 1")
    )
    p = write_param(tmp_path, text)
    capsys.readouterr()
    assert render(p, tmp_path / "out") == 0
    err = capsys.readouterr().err
    assert "objects without a 'kind' label (annotated as UNLABELLED): hidden" in err, err
    assert "'class' label" not in err, err
    rows = {int(r[1]): [int(v) for v in r[2:6]] for r in gt_rows(tmp_path / "out")}
    assert rows == {2: FRONT, 4: LEFT}
