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
    # Which file each member is, by name (the frame log names the members shown).
    members = json.loads((out / "audit" / "pool_members.json").read_text(encoding="utf-8"))
    assert {n: Path(m["file"]).relative_to(pool_dir.resolve()).as_posix() for n, m in members.items()} == {
        f"thing_{i:03d}": rel for i, rel in enumerate(sorted(MODELS))
    }
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


def _cube(name: str, size: float, location) -> object:
    import bmesh

    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=size)
    bm.to_mesh(mesh)
    bm.free()
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    return obj


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """An Asset Browser library: three marked objects away from the origin, an unmarked
    helper, a marked collection of two cubes with its instance offset, a marked light."""
    d = tmp_path_factory.mktemp("library")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scn = bpy.context.scene
    for i, name in enumerate(["Mug A", "Can", "Bottle é"]):
        obj = _cube(name, 0.1, (1.0 + i, 2.0, 0.0))
        scn.collection.objects.link(obj)
        obj.asset_mark()
    scn.collection.objects.link(_cube("helper", 0.1, (0, 5, 0)))
    chairs = bpy.data.collections.new("Chair set")
    scn.collection.children.link(chairs)
    for k in range(2):
        chairs.objects.link(_cube(f"chair part {k}", 0.1, (3.0, 0.0, 0.2 * k)))
    chairs.instance_offset = (3.0, 0.0, 0.0)
    chairs.asset_mark()
    lamp = bpy.data.objects.new("Lamp", bpy.data.lights.new("Lamp", "POINT"))
    scn.collection.objects.link(lamp)
    lamp.asset_mark()
    bpy.ops.wm.save_as_mainfile(filepath=str(d / "props.blend"), copy=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return d


def library_scene(blend_assets: str = "*", files: str = "props.blend", label_from: str = "asset") -> str:
    return (
        header((64, 48), samples=1, seed=2, frames=3)
        + camera((0, -1.2, 1.0), (0, 0, 0))
        + sun(location=None)
        + f"""
[[assets]]
name = "prop"
files = "{files}"
blend_assets = "{blend_assets}"
label_from = "{label_from}"
[[randomizers]]
type = "pool"
targets = "prop_*"
k = 2
[annotators]
bounding_box_2d_tight = {{}}
"""
    )


def test_every_marked_asset_of_a_blend_library_is_a_pool_member(library, tmp_path):
    """`blend_assets`: each object or collection marked as an asset in the .blend is its own
    member (objects by name, then collections), labelled by its asset name, its origin at the
    member's (an object's location, a collection's instance offset, as Blender places them);
    unmarked objects and assets without a mesh are left out; audit/pool_members.json names
    each member's asset."""
    cfg = config_from_dict(tomllib.loads(library_scene()), library / "p.toml")
    built = build_scene(cfg)
    members = sorted(built.match("objects", ["prop_*"]))
    assert members == ["prop_000", "prop_001", "prop_002", "prop_003"]
    assets = {n: built.pool_members[n]["asset"] for n in members}
    assert assets == {"prop_000": "Bottle é", "prop_001": "Can", "prop_002": "Mug A", "prop_003": "Chair set"}
    for name, asset in assets.items():
        assert built.entities[name].labels == {"class": [asset]}
    parts = {n: sorted(c.name for c in bpy.data.objects[n].children) for n in members}
    assert parts["prop_002"] == ["prop_002/Mug A"]
    assert parts["prop_003"] == ["prop_003/chair part 0", "prop_003/chair part 1"]
    assert not any("helper" in o.name or "Lamp" in o.name for o in built.scene.objects)
    for name in members:  # each where the pool puts it: its origin at the member's
        for child in bpy.data.objects[name].children:
            x, y, _z = child.matrix_world.translation
            assert abs(x) < 1e-6 and abs(y) < 1e-6, (child.name, tuple(child.matrix_world.translation))
    param = write_param(library, library_scene())
    out = tmp_path / "out"
    assert render(param, out) == 0
    recorded = json.loads((out / "audit" / "pool_members.json").read_text(encoding="utf-8"))
    assert {n: m["asset"] for n, m in recorded.items()} == assets
    assert json.loads((out / "audit" / "label_table.json").read_text(encoding="utf-8"))["class"] == sorted(
        assets.values()
    )


def test_blend_assets_problems_name_the_field(library, tmp_path, capsys):
    from sdg_addon.config import ConfigError

    (library / "model.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(ConfigError) as e:
        config_from_dict(tomllib.loads(library_scene(files="*")), library / "p.toml")
    assert [(p.field, p.expected) for p in e.value.problems] == [
        ("assets[0].files", "only .blend files with blend_assets (matched 'model.obj')")
    ]
    table = tomllib.loads(library_scene())
    del table["assets"][0]["blend_assets"]
    with pytest.raises(ConfigError) as e:
        config_from_dict(table, library / "p.toml")
    assert [p.field for p in e.value.problems] == ["assets[0].label_from"]
    param = write_param(library, library_scene(blend_assets="Chair*x"))
    out = tmp_path / "out"
    assert render(param, out) == 2
    err = capsys.readouterr().err
    assert 'assets[0].blend_assets: got "Chair*x"; expected asset names matching it' in err
    assert "'Bottle é', 'Can', 'Lamp', 'Mug A', 'Chair set'" in err
    assert not out.exists()


def test_blend_assets_member_names_are_checked(library, tmp_path, capsys):
    """A blend_assets pool's members are counted when the scene is built: another entry
    named like a member is refused at validation, a base scene's object when it is built."""
    from sdg_addon.config import ConfigError

    table = tomllib.loads(library_scene())
    table["assets"].append({"name": "prop_002", "primitive": "cube"})
    with pytest.raises(ConfigError) as e:
        config_from_dict(table, library / "p.toml")
    assert [(p.field, p.value) for p in e.value.problems] == [("assets[0].name", "prop")]
    assert "a member 'prop_002' is taken by assets[1]" in e.value.problems[0].expected
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.collection.objects.link(bpy.data.objects.new("prop_003", bpy.data.meshes.new("shelf")))
    bpy.ops.wm.save_as_mainfile(filepath=str(library / "base.blend"), copy=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    param = write_param(library, '[scene]\nblend = "base.blend"\n' + library_scene())
    assert render(param, tmp_path / "out") == 2
    assert "assets[0].name: got \"prop\"; expected a name the base scene does not use (its object 'prop_003')" in (
        capsys.readouterr().err
    )


def test_blend_assets_member_names_blender_would_cut_are_refused(library, tmp_path, capsys):
    """A blend_assets pool's members are NAME_000 ..: with a name of 62 bytes they were 66,
    cut by Blender 4.2 at 63 (and made unique its own way), kept by 5.0, as validation now
    refuses for other entries' copies; refused when the members are counted, nothing written."""
    param = write_param(library, library_scene().replace('name = "prop"', f'name = "{"p" * 62}"'))
    out = tmp_path / "out"
    assert render(param, out) == 2
    err = capsys.readouterr().err
    assert f'assets[0].name: got "{"p" * 62}"; expected a name of at most 59 bytes for its ' in err, err
    assert not out.exists()


def test_every_broken_file_of_a_pool_is_named_at_once(pool_dir, tmp_path, capsys):
    """Files of a pool that cannot be imported: the run named the first and stopped, so a
    folder with several cost a run (all imports up to it) for each. Each is named now, in
    one exit 2, before anything is written."""
    import shutil

    folder = tmp_path / "models"
    shutil.copytree(pool_dir / "mugs", folder / "mugs")
    (folder / "cans").mkdir()
    (folder / "cans" / "empty.glb").write_bytes(b"")
    (folder / "mugs" / "cut.glb").write_bytes((pool_dir / "cans" / "red.glb").read_bytes()[:40])
    param = write_param(tmp_path, scene().replace('files = "*/*.glb"', 'files = "models/*/*.glb"'))
    out = tmp_path / "out"
    assert render(param, out) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    for name in ("cans/empty.glb", "mugs/cut.glb"):
        path = (folder.resolve() / name).as_posix()
        assert f'assets[0].files: got "{path}"; expected a model Blender can import' in err
    assert not out.exists()


def test_members_whose_visibility_does_not_change_are_not_touched(pool_dir):
    """Each frame set hide_render on every member, even to the value it had: Blender then
    rebuilds the relations of every object at the next evaluation (200 members shown again:
    ~0.1 s a frame). A frame that shows the members it showed now changes nothing."""
    text = (
        header((64, 48), samples=1, seed=2, frames=4)
        + camera((0, -1.2, 1.0), (0, 0, 0))
        + '[[assets]]\nname = "thing"\nfiles = "*/*.glb"\n[[randomizers]]\ntype = "pool"\ntargets = "thing_*"\nk = 4\n'
    )
    cfg = config_from_dict(tomllib.loads(text), pool_dir / "p.toml")
    built = build_scene(cfg)
    targets = [built.match(r.target_kind, p) for r, p in zip(cfg.randomizers, cfg.randomizer_targets)]
    apply_frame(built, sample_frame(cfg.seed, 0, cfg.randomizers, targets))
    bpy.context.evaluated_depsgraph_get()
    updated = []

    def seen(_scene, depsgraph):
        updated.extend(u.id.name for u in depsgraph.updates)

    bpy.app.handlers.depsgraph_update_post.append(seen)
    try:
        apply_frame(built, sample_frame(cfg.seed, 1, cfg.randomizers, targets))  # all four shown again
        bpy.context.evaluated_depsgraph_get()
    finally:
        bpy.app.handlers.depsgraph_update_post.remove(seen)
    assert not [n for n in updated if n.startswith("thing")], updated
