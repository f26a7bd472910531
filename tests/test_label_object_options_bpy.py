"""Options naming other objects by their labels (scatter's `surface = { class = "table" }`
and `avoid`, physics_settle's `passive`, camera's `look_at_objects`, camera_look_at's
`look_at`; Replicator's surface_prims=rep.get.prims(semantics=...)), resolved in the built
scene as label targets are: read back from what a run writes."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

pytest.importorskip("bpy")

from scenes import camera, header, records, render, sun, table, write_param  # noqa: E402

from sdg_addon.config import ConfigError  # noqa: E402
from sdg_addon.config.schema import config_from_dict  # noqa: E402
from sdg_addon.recorder import Recorder, RunOptions  # noqa: E402
from sdg_addon.scene.build import build_scene  # noqa: E402

MUG = 0.1  # cube edge, metres; a primitive's origin is its base's centre
DESK = (-0.6, 0.0)  # a 0.4 m box: its top face is x -0.8 .. -0.4, y -0.2 .. 0.2, z 0.4
SCENE = (
    header((64, 48), samples=1, frames=2)
    + camera((0, -3, 2), (0, 0, 0.2))
    + sun()
    + table("assets", "desk", primitive="cube", size=0.4, location=[*DESK, 0], labels={"class": "table"})
    + table("assets", "crate", primitive="cube", size=0.4, location=[0.6, 0, 0], labels={"class": "crate"})
    + table("assets", "mug", primitive="cube", size=MUG, count=3, labels={"class": "mug"})
)
ON_THE_TABLE = """
[[randomizers]]
type = "scatter"
targets = { class = "mug" }
surface = { class = "table" }
min_normal_z = 0.9
"""
AIM = """
[[randomizers]]
type = "camera"
targets = "cam"
look_at_objects = { class = ["table", "crate"] }
distance = 3
elevation = 30
"""
BOXES = "[annotators]\nbounding_box_3d = {}\n[writers.basic]\n"


def boxes_where(out, frame) -> dict[str, list[float]]:
    """Each object's location as its written 3D box gives it (the box's transform)."""
    boxes = np.load(out / f"bounding_box_3d_{frame:04d}.npy")
    paths = json.loads((out / f"bounding_box_3d_prim_paths_{frame:04d}.json").read_text())
    return {p.rsplit("/", 1)[1]: row["transform"][3, :3].tolist() for p, row in zip(paths, boxes)}


def test_scatter_on_the_labelled_table_only_and_aim_at_labelled_objects(tmp_path):
    """Every mug lands on the desk's top face (its written 3D box: over the top, resting on
    it), never on the crate; the frame log names the surface each was put on and the
    objects the camera aimed at, as for names."""
    out = tmp_path / "out"
    assert render(write_param(tmp_path, SCENE + ON_THE_TABLE + AIM + BOXES), out) == 0
    for frame, record in records(out).items():
        scatter, aim = record["samples"]
        assert sorted(scatter["values"]) == ["mug_000", "mug_001", "mug_002"]
        assert all(v["placed"] and v["surface"] == "desk" for v in scatter["values"].values()), scatter
        assert aim["values"]["cam"]["look_at_objects"] == ["crate", "desk"]
        where = boxes_where(out, frame)
        assert where["desk"] == [-0.6000000238418579, 0.0, 0.0] and where["crate"] == [0.6000000238418579, 0, 0]
        for name in ("mug_000", "mug_001", "mug_002"):
            x, y, z = where[name]
            # upright, its base on the top face (REST_GAP above it), its centre within the top
            assert z == pytest.approx(0.4 + 1e-4, abs=1e-6), (name, z)
            assert -0.8 < x < -0.4 and -0.2 < y < 0.2, (name, x, y)
    resolved = json.loads((out / "audit" / "resolved.json").read_text())["randomizers"]
    assert resolved[0]["surface"] == {"class": ["table"]}  # recorded as written, not as names
    assert resolved[1]["look_at_objects"] == {"class": ["table", "crate"]}


def test_scatter_keeps_clear_of_the_labelled_objects_to_avoid(tmp_path):
    """In a volume mostly filled by a labelled pillar: no mug's centre is within half a mug
    of the pillar (a turned mug holds the disc of that radius: it would intersect it), and
    the frame log lists the objects kept clear of."""
    pillar = table("assets", "pillar", primitive="cube", size=0.4, location=[0, 0, 0.3], labels={"class": "pillar"})
    text = (
        header((64, 48), samples=1, frames=3)
        + camera((0, -3, 2), (0, 0, 0.2))
        + sun()
        + pillar
        + table("assets", "mug", primitive="cube", size=MUG, count=4, labels={"class": "mug"})
        + '\n[[randomizers]]\ntype = "scatter"\ntargets = { class = "mug" }\navoid = { class = "pillar" }\n'
        + "center = [0, 0, 0.5]\nsize = [0.6, 0.6, 0.2]\nmax_tries = 1000\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    for record in records(out).values():
        (scatter,) = record["samples"]
        for name, v in scatter["values"].items():
            assert v["placed"] and v["avoided"] == ["pillar"], (name, v)
            x, y, z = v["location"]  # the mug's base centre: its centre is MUG / 2 higher
            off = np.hypot(max(abs(x) - 0.2, 0.0), max(abs(y) - 0.2, 0.0))  # from the pillar, across
            assert off >= MUG / 2 or not 0.3 - MUG < z < 0.7, (name, v["location"])


def chosen_problem(text: str, folder):
    cfg = config_from_dict(tomllib.loads(text), folder / "p.toml")
    recorder = Recorder(cfg, RunOptions(folder / "out", range(1)))
    with pytest.raises(ConfigError) as raised:
        recorder.prepare_scene(build_scene(cfg))
    (problem,) = raised.value.problems
    return problem


def test_labels_matching_no_other_object_stop_the_run_before_it_writes(tmp_path):
    """Labels no object has, or only the entry's own targets (a mug is no surface for the
    mugs): exit 2, nothing written, naming the option, its table as written and the labels
    the other objects have."""
    from headless.cli import main

    for table_text, only in [('{ class = "bench" }', ""), ('{ class = "mug*" }', "mug_000")]:
        text = SCENE + ON_THE_TABLE.replace('{ class = "table" }', table_text)
        param = write_param(tmp_path, text)
        assert main(["validate", str(param)]) == 2
        assert render(param, tmp_path / "out") == 2
        assert not (tmp_path / "out").exists()
        problem = chosen_problem(text, tmp_path)
        assert problem.field == "randomizers[0].surface" and problem.value == tomllib.loads(f"t = {table_text}")["t"]
        assert "(their labels: class: crate, table)" in problem.expected
        assert ("it chose only targets of the entry: ['mug_000', 'mug_001', 'mug_002']" in problem.expected) == bool(
            only
        )
    problem = chosen_problem(SCENE + AIM.replace('["table", "crate"]', '"shelf"'), tmp_path)
    assert problem.field == "randomizers[0].look_at_objects" and problem.value == {"class": "shelf"}
    assert "(their labels: class: crate, mug, table)" in problem.expected


def test_validate_shows_what_each_options_labels_chose(tmp_path, capsys):
    """A line for every option given by labels (what a physics_settle collides with and a
    camera_look_at aims at too), the objects it chose other than the entry's targets."""
    from headless.cli import main

    settle = '\n[[randomizers]]\ntype = "physics_settle"\ntargets = "mug_*"\npassive = { class = ["t*", "c*"] }\n'
    look = '\n[[randomizers]]\ntype = "camera_look_at"\ntargets = "cam"\ndistance = 3\nlook_at = { class = "crate" }\n'
    avoid = 'avoid = { class = "crate" }\n'
    param = write_param(tmp_path, SCENE + ON_THE_TABLE + avoid + settle + look)
    assert main(["validate", str(param)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == [
        'randomizers[0] (scatter): targets = { class = "mug" }: 3 object(s), mug_000, mug_001, mug_002',
        'randomizers[0] (scatter): surface = { class = "table" }: 1 object(s), desk',
        'randomizers[0] (scatter): avoid = { class = "crate" }: 1 object(s), crate',
        'randomizers[1] (physics_settle): passive = { class = ["t*", "c*"] }: 2 object(s), crate, desk',
        'randomizers[2] (camera_look_at): look_at = { class = "crate" }: 1 object(s), crate',
    ]
    assert lines[5].endswith("p.toml: OK")


def test_a_resumed_run_compares_the_table_as_written(tmp_path):
    """--resume continues a run whose file gives the same table (recorded as written), and
    refuses one whose table changed, naming it, though the names it chooses are alike."""
    out = tmp_path / "out"
    text = SCENE + ON_THE_TABLE
    assert render(write_param(tmp_path, text), out, "--frames", "0") == 0
    assert render(write_param(tmp_path, text), out, "--resume") == 0
    assert sorted(records(out)) == [0, 1]
    changed = text.replace('{ class = "table" }', '{ class = "t*" }')  # the desk alone, as before
    assert render(write_param(tmp_path, changed), out, "--resume") == 2


def test_a_labelled_surface_another_entry_moves_is_refused_naming_the_table_as_written(tmp_path):
    moved = '\n[[randomizers]]\ntype = "pose"\ntargets = "desk"\nlocation = [0, 1, 0]\n'
    problem = chosen_problem(SCENE + ON_THE_TABLE + moved, tmp_path)
    assert (problem.field, problem.value) == ("randomizers[0].surface", {"class": "table"})
    assert problem.expected == "objects no randomizer moves (read once, as built); randomizers[1] (pose) moves desk"
