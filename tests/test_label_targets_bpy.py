"""Randomizers targeting objects by their labels (`targets = { class = "cube" }`), as the
run resolves them in the built scene: whatever gave the labels (assets, [[label_rules]], a
.blend's `semantics`, inherited from collections), read back from what a run writes."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")

from blend_scene import make_shop_blend  # noqa: E402
from scenes import asset, camera, header, records, render, sun, table, write_param  # noqa: E402

from sdg_addon.config import ConfigError  # noqa: E402
from sdg_addon.config.schema import config_from_dict  # noqa: E402
from sdg_addon.recorder import Recorder, RunOptions  # noqa: E402
from sdg_addon.scene.build import build_scene  # noqa: E402

SCENE = (
    header((64, 48), samples=1, frames=2)
    + camera((0, -3, 2), (0, 0, 0.2))
    + sun()
    + table("assets", "cube", primitive="cube", size=0.3, count=2, labels={"class": "cube", "color": "red"})
    + table(
        "assets",
        "blue_cube",
        primitive="cube",
        size=0.3,
        location=[-0.8, 0, 0],
        labels={"class": "cube", "color": "blue"},
    )
    + asset("ball", "sphere", 0.3, location=[0.8, 0, 0], label="sphere")
)
POSE_RED_CUBES = """
[[randomizers]]
type = "pose"
targets = { class = "cube", color = "red" }
location = [0.5, 0.25, 0]
"""
RECOLOUR_SPHERES = """
[[randomizers]]
type = "material"
targets = { class = ["cyl*", "sph*"] }
color = [1, 0, 0]
"""


def resolved(text: str, folder: Path, blend: Path | None = None) -> list[list[str]]:
    cfg = config_from_dict(tomllib.loads(text), folder / "p.toml")
    recorder = Recorder(cfg, RunOptions(folder / "out", range(1)))
    return recorder.resolve_targets(build_scene(cfg))


def test_a_run_poses_and_recolours_only_the_objects_whose_labels_match(tmp_path):
    """Every type must match (the blue cube is a cube, not red), a list's any value (sph*):
    the frame log lists those alone, and the written 3D boxes have them where the pose
    put them, the others where their entries put them."""
    text = SCENE + POSE_RED_CUBES + RECOLOUR_SPHERES + "[annotators]\nbounding_box_3d = {}\n[writers.basic]\n"
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    for frame, record in records(out).items():
        pose, material = record["samples"]
        assert sorted(pose["values"]) == ["cube_000", "cube_001"]
        assert material["values"] == {"ball": {"color": [1, 0, 0]}}
        boxes = np.load(out / f"bounding_box_3d_{frame:04d}.npy")
        paths = json.loads((out / f"bounding_box_3d_prim_paths_{frame:04d}.json").read_text())
        where = {p.rsplit("/", 1)[1]: row["transform"][3, :3].tolist() for p, row in zip(paths, boxes)}
        expected = {
            "cube_000": [0.5, 0.25, 0],
            "cube_001": [0.5, 0.25, 0],
            "blue_cube": [-0.8, 0, 0],
            "ball": [0.8, 0, 0],
        }
        assert where == {name: np.float32(xyz).tolist() for name, xyz in expected.items()}  # as written: float32


def test_a_model_files_material_is_recoloured_for_the_labelled_copies_alone(tmp_path):
    """Two entries of one blue .glb, labelled mug and jar: a material randomizer targeting
    class mug makes the mug red in the image and leaves the jar blue (was possible by name
    only: a model file's material is wired to take an object's colour as it is read, by the
    names the entries target; by labels, once they are known)."""
    import bpy

    from sdg_addon.compat import enable_nodes

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_cube_add(size=0.5)
    mat = bpy.data.materials.new("blue")
    enable_nodes(mat)
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.0, 0.0, 1.0, 1.0)
    bpy.context.object.data.materials.append(mat)
    model = tmp_path / "box.glb"
    bpy.ops.export_scene.gltf(filepath=str(model), export_format="GLB")
    text = (
        header((64, 48), samples=1)
        + camera((0, -3, 0.25), (0, 0, 0.25))
        + f'[[assets]]\nname = "mug"\nfile = "{model.as_posix()}"\nlocation = [-0.5, 0, 0.25]\nlabels = {{ class = "mug" }}\n'
        + f'[[assets]]\nname = "jar"\nfile = "{model.as_posix()}"\nlocation = [0.5, 0, 0.25]\nlabels = {{ class = "jar" }}\n'
        + '[[randomizers]]\ntype = "material"\ntargets = { class = "mug" }\ncolor = [1, 0, 0]\n'
        + "[scene]\nground = false\nworld = { color = [1, 1, 1], strength = 1 }\n"
        + "[annotators]\nrgb = {}\n[writers.basic]\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text), out) == 0
    from PIL import Image

    rgb = np.asarray(Image.open(out / "rgb_0000.png").convert("RGB"), dtype=float)
    mug, jar = rgb[18:30, 14:22].mean(axis=(0, 1)), rgb[18:30, 42:50].mean(axis=(0, 1))
    assert mug[0] > mug[2] + 100 and jar[2] > jar[0] + 100, (mug, jar)  # 250 / 74 each way


def test_objects_labelled_by_label_rules_are_chosen(tmp_path):
    text = (
        header((64, 48), samples=1)
        + camera((0, -3, 2), (0, 0, 0.2))
        + asset("SM_Chair", "cube", 0.3, count=2)
        + asset("SM_Lamp", "sphere", 0.2)
        + '[[label_rules]]\nprefixes = ["SM_"]\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = { class = "chair" }\nscale = 2\n'
        + '[[randomizers]]\ntype = "visibility"\ntargets = { class = ["lamp", "chair"] }\nvisible = true\n'
    )
    assert resolved(text, tmp_path) == [["SM_Chair_000", "SM_Chair_001"], ["SM_Chair_000", "SM_Chair_001", "SM_Lamp"]]


def test_objects_of_a_blend_labelled_by_semantics_and_their_collections_are_chosen(tmp_path):
    """The shop .blend: cans inherit class can from their collection, every object in
    `shop` zone aisle, the crate empty's own class crate (its parts one object)."""
    blend = tmp_path / "shop.blend"
    make_shop_blend(blend)
    text = (
        header((64, 48), samples=1)
        + f'[scene]\nblend = "{blend.as_posix()}"\nground = false\n'
        + "[labels]\nzone = []\n"
        + '[[randomizers]]\ntype = "pose"\ntargets = { class = "can" }\nscale = 2\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = { zone = "aisle", class = "c*" }\nscale = 2\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = { class = "floor" }\nscale = 2\n'
    )
    assert resolved(text, tmp_path) == [["can_a", "can_b"], ["can_a", "can_b", "crate"], ["floor"]]


def test_label_targets_matching_nothing_stop_the_run_naming_the_scenes_labels(tmp_path):
    """As name targets matching nothing: exit 2 before anything is written, naming the
    entry, the table as written and the labels the scene has; validate says the same."""
    text = SCENE + POSE_RED_CUBES.replace('color = "red"', 'color = ["green", "teal"]')
    param = write_param(tmp_path, text)
    out = tmp_path / "out"
    from headless.cli import main

    assert main(["validate", str(param)]) == 2
    assert render(param, out) == 2
    assert not out.exists()
    cfg = config_from_dict(tomllib.loads(text), param)
    with pytest.raises(ConfigError) as raised:
        Recorder(cfg, RunOptions(out, range(1))).resolve_targets(build_scene(cfg))
    (problem,) = raised.value.problems
    assert (problem.file, problem.field) == (param.as_posix(), "randomizers[0].targets")
    assert problem.value == {"class": "cube", "color": ["green", "teal"]}
    assert "(the scene's labels: class: cube, sphere; color: blue, red)" in problem.expected
    # quoted in the file's own syntax: a TOML file's inline table, a JSON file's object
    assert 'targets: got { class = "cube", color = ["green", "teal"] }; expected' in str(problem)
    json_param = tmp_path / "p.json"
    json_param.write_text(json.dumps(tomllib.loads(text)), encoding="utf-8")
    cfg = config_from_dict(tomllib.loads(text), json_param)
    with pytest.raises(ConfigError) as raised:
        Recorder(cfg, RunOptions(out, range(1))).resolve_targets(build_scene(cfg))
    assert 'targets: got {"class": "cube", "color": ["green", "teal"]}; expected' in str(raised.value.problems[0])


def test_validate_shows_what_label_targets_chose(tmp_path, capsys):
    from headless.cli import main

    param = write_param(tmp_path, SCENE + POSE_RED_CUBES + RECOLOUR_SPHERES)
    assert main(["validate", str(param)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        'randomizers[0] (pose): targets = { class = "cube", color = "red" }: 2 object(s), cube_000, cube_001',
        'randomizers[1] (material): targets = { class = ["cyl*", "sph*"] }: 1 object(s), ball',
    ]
    assert lines[2].endswith("p.toml: OK")
    # a JSON file's lines in its own syntax
    json_param = tmp_path / "p.json"
    json_param.write_text(json.dumps(tomllib.loads(param.read_text(encoding="utf-8"))), encoding="utf-8")
    assert main(["validate", str(json_param)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        'randomizers[0] (pose): "targets": {"class": "cube", "color": "red"}: 2 object(s), cube_000, cube_001',
        'randomizers[1] (material): "targets": {"class": ["cyl*", "sph*"]}: 1 object(s), ball',
    ]
