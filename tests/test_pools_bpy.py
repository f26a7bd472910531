"""Asset pools: a glob of model files, each loaded once, labels from the folder name, k
members shown per frame (without replacement), scattered without intersecting."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from scenes import camera, header, render, sun, write_param  # noqa: E402

from sdg_addon.config.schema import config_from_dict  # noqa: E402
from sdg_addon.sampling import sample_frame  # noqa: E402
from sdg_addon.scene.build import build_scene  # noqa: E402
from sdg_addon.scene.facts import extract_facts  # noqa: E402
from sdg_addon.scene.randomize import apply_frame  # noqa: E402

MODELS = {"mugs/tall.glb": "cylinder", "mugs/short.glb": "cube", "cans/red.glb": "cylinder", "cans/blue.glb": "cone"}


@pytest.fixture(scope="module")
def pool_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("pool")
    for rel, kind in MODELS.items():
        bpy.ops.wm.read_factory_settings(use_empty=True)
        getattr(bpy.ops.mesh, f"primitive_{kind}_add")(location=(0, 0, 0))
        bpy.context.object.scale = (0.05, 0.05, 0.05)
        (d / rel).parent.mkdir(exist_ok=True)
        bpy.ops.export_scene.gltf(filepath=str(d / rel), export_format="GLB")
    (d / "mugs" / "notes.txt").write_text("not a model")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return d


def scene(k: int = 2) -> str:
    return (
        header((64, 48), samples=1, seed=2, frames=4)
        + camera((0, -1.2, 1.0), (0, 0, 0))
        + sun(location=None)
        + f"""
[[assets]]
name = "thing"
files = "*/*.glb"
label_from = "folder"
[[randomizers]]
type = "pool"
targets = "thing_*"
k = {k}
[[randomizers]]
type = "scatter"
targets = "thing_*"
surface = "ground"
[annotators]
instance_segmentation = {{}}
"""
    )


def test_pool_members_load_once_and_k_show_per_frame(pool_dir):
    cfg = config_from_dict(tomllib.loads(scene()), pool_dir / "p.toml")
    a = cfg.assets[0]
    assert [Path(f).relative_to(pool_dir).as_posix() for f in a.pool_files] == sorted(MODELS)
    assert [x["class"] for x in a.pool_labels] == [["cans"], ["cans"], ["mugs"], ["mugs"]]
    assert cfg.label_order()["class"] == ["cans", "mugs"]
    meshes_before = len(bpy.data.meshes)
    built = build_scene(cfg)
    assert sorted(built.match("objects", ["thing_*"])) == ["thing_000", "thing_001", "thing_002", "thing_003"]
    assert built.entities["thing_002"].labels == {"class": ["mugs"]}
    # One mesh per file (+ the ground): the pool is loaded once, not per frame.
    assert len(bpy.data.meshes) - meshes_before <= len(MODELS) + 1
    facts = extract_facts(built)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    seen = set()
    for f in range(4):
        sampled = sample_frame(cfg.seed, f, cfg.randomizers, targets, facts=facts)
        shown = sorted(n for n, v in sampled[0]["values"].items() if v["shown"])
        assert len(shown) == 2
        seen.update(shown)
        scatter = sampled[1]["values"]
        assert sorted(n for n, v in scatter.items() if v["placed"]) == shown  # hidden ones take no room
        apply_frame(built, sampled)
        rendered = sorted(n for n, e in built.entities.items() if n.startswith("thing") and not e.meshes[0].hide_render)
        assert rendered == shown
    assert len(seen) > 2


def test_pool_renders_with_folder_labels(pool_dir, tmp_path):
    param = write_param(pool_dir, scene(k=3))
    out = tmp_path / "out"
    assert render(param, out) == 0
    log = [json.loads(line) for line in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    for record in log:
        shown = {n for n, v in record["samples"][0]["values"].items() if v["shown"]}
        scatter = record["samples"][1]["values"]
        failed = sorted(n for n, v in scatter.items() if n in shown and not v["placed"])
        # A member the pool hid was not to be placed: not "could not scatter".
        assert record.get("unplaced", []) == failed
    for f in range(4):
        sem = json.loads((out / f"instance_segmentation_semantics_mapping_{f:04d}.json").read_text())
        classes = sorted(v["class"] for v in sem.values() if v["class"] in ("mugs", "cans"))
        assert len(classes) <= 3 and set(classes) <= {"mugs", "cans"}


def test_a_pools_files_are_read_before_its_members_join_the_scene(pool_dir, objects_at_each_import):
    """Each importer call updates the view layer, at a cost that grows with the objects in
    it: a pool whose members joined the scene file by file loaded in quadratic time (200
    files: 10 s, 1,000: minutes). Every file is now read with none of the pool's members in
    the scene; they join after the last one, each file's member as before."""

    cfg = config_from_dict(tomllib.loads(scene()), pool_dir / "p.toml")
    built = build_scene(cfg)
    assert len(objects_at_each_import) == len(MODELS)
    assert len(set(objects_at_each_import)) == 1  # the scene did not grow between the imports
    members = sorted(built.match("objects", ["thing_*"]))
    assert members == ["thing_000", "thing_001", "thing_002", "thing_003"]
    for name in members:
        root = bpy.data.objects[name]
        assert root.name in built.scene.objects
        assert [c.name for c in root.children] == [f"{name}/{c.name.split('/', 1)[1]}" for c in root.children]
        assert all(c.name in built.scene.objects for c in root.children)


def test_a_pool_member_named_as_a_base_scene_object_is_refused(pool_dir, tmp_path, capsys):
    """A base .blend object named like a pool's member (`thing_001`): Blender renamed the
    member `thing_001.001` silently and the pool showed and hid the .blend's own object as
    one of its members. The members' names are now checked as copies' are: exit 2, naming
    the entry and the object, nothing written."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    shelf = bpy.data.objects.new("thing_001", bpy.data.meshes.new("shelf"))
    bpy.context.scene.collection.objects.link(shelf)
    base = pool_dir / "base_with_thing_001.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(base), copy=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    param = write_param(pool_dir, f'[scene]\nblend = "{base.name}"\n' + scene())
    out = tmp_path / "out"
    assert render(param, out) == 2
    err = capsys.readouterr().err
    assert "assets[0].name: got \"thing\"; expected a name the base scene does not use (its object 'thing_001')" in err
    assert not out.exists()
