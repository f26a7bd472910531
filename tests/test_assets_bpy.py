"""Assets from files: every supported format imports, keeps its labels, and each copy is
one instance (a model of several meshes is one instance)."""

from __future__ import annotations

import json

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from headless.cli import main  # noqa: E402

EXPORTERS = {
    "glb": lambda p: bpy.ops.export_scene.gltf(filepath=p, export_format="GLB"),
    "fbx": lambda p: bpy.ops.export_scene.fbx(filepath=p),
    "obj": lambda p: bpy.ops.wm.obj_export(filepath=p),
    "ply": lambda p: bpy.ops.wm.ply_export(filepath=p),
    "stl": lambda p: bpy.ops.wm.stl_export(filepath=p),
    "usdc": lambda p: bpy.ops.wm.usd_export(filepath=p),
}


@pytest.fixture(scope="module")
def asset_dir(tmp_path_factory):
    """A two-mesh model (a cube with a cone on top) saved in every format."""
    d = tmp_path_factory.mktemp("assets")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_cube_add(size=0.3, location=(0, 0, 0.15))
    bpy.ops.mesh.primitive_cone_add(radius1=0.1, depth=0.2, location=(0, 0, 0.4))
    for ext, export in EXPORTERS.items():
        bpy.ops.object.select_all(action="SELECT")
        export(str(d / f"model.{ext}"))
    bpy.data.libraries.write(str(d / "model.blend"), set(bpy.data.objects), fake_user=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return d


def scene_file(asset_dir, assets: str) -> str:
    return f"""
[run]
frames = 1
[render]
resolution = [64, 48]
samples = 1
device = "cpu"
[scene]
ground = false
[[cameras]]
name = "cam"
location = [0, -4, 3]
look_at = [0, 0, 0.2]
[[lights]]
name = "sun"
type = "sun"
energy = 3
{assets}
[annotators]
instance_segmentation = {{}}
bounding_box_2d_tight = {{}}
"""


@pytest.mark.parametrize("ext", ["glb", "fbx", "obj", "ply", "stl", "usdc", "blend"])
def test_every_format_imports_as_labelled_instances(asset_dir, tmp_path, ext):
    assets = f"""
[[assets]]
name = "thing"
file = "{(asset_dir / f"model.{ext}").as_posix()}"
count = 2
labels = {{ class = "thing" }}
[[randomizers]]
type = "pose"
targets = "thing_*"
location = {{ distribution = "sequence", values = [[-0.6, 0, 0]] }}
[[randomizers]]
type = "pose"
targets = "thing_001"
location = [0.6, 0, 0]
"""
    param = tmp_path / "s.toml"
    param.write_text(scene_file(asset_dir, assets))
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    paths = json.loads((out / "bounding_box_2d_tight_prim_paths_0000.json").read_text())
    assert paths == ["/sdg_assets/thing/thing_000", "/sdg_assets/thing/thing_001"]
    boxes = np.load(out / "bounding_box_2d_tight_0000.npy")
    left, right = sorted(boxes, key=lambda b: b["x_min"])
    assert left["x_max"] < right["x_min"]  # two copies, placed apart, each one instance
    # Both meshes of the model (cube below, cone above) belong to the one instance: a box
    # taller than wide (ply/stl carry one merged mesh: the same holds).
    for b in boxes:
        assert (b["y_max"] - b["y_min"]) > (b["x_max"] - b["x_min"])


def test_missing_asset_file_names_the_path(tmp_path, capsys):
    param = tmp_path / "s.toml"
    param.write_text(scene_file(tmp_path, '[[assets]]\nname = "x"\nfile = "nowhere/model.glb"\n'))
    assert main(["render", str(param), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "assets[0].file" in err and (tmp_path / "nowhere" / "model.glb").as_posix() in err


# --------------------------------------------------------------------------- --quiet imports
IMPORTER_LINES = ("glTF", "OBJ import", "| INFO")  # what the glTF (Python) and OBJ (C) importers print


def importer_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if any(k in line for k in IMPORTER_LINES)]


@pytest.mark.parametrize("ext", ["glb", "obj"])
def test_quiet_import_keeps_the_importers_lines_off_the_terminal(asset_dir, capfd, ext):
    """The glTF importer logs through Python, the OBJ importer prints from C: --quiet
    keeps both off file descriptors 1 and 2 for the import; without it they show."""
    from sdg_addon.scene.build import import_file

    path = asset_dir / f"model.{ext}"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    capfd.readouterr()
    assert len(import_file(path)) >= 1
    loud = capfd.readouterr()
    assert importer_lines(loud.out + loud.err), "the importer printed nothing: the quiet check below proves nothing"
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assert len(import_file(path, quiet=True)) >= 1
    quiet = capfd.readouterr()
    assert quiet.out == "" and quiet.err == ""
    print("after the import")  # the terminal is given back
    assert capfd.readouterr().out == "after the import\n"


def test_quiet_failed_import_shows_what_the_importer_printed(tmp_path, capfd):
    from sdg_addon.scene.build import AssetError, import_file

    bad = tmp_path / "broken.glb"
    bad.write_bytes(b"not a glb file")
    capfd.readouterr()
    with pytest.raises(AssetError) as info:
        import_file(bad, quiet=True)
    message = str(info.value)
    assert message.startswith(f"{bad.as_posix()}: expected a model Blender can import; it cannot (Bad glTF")
    assert "the importer printed:" in message and "Bad glTF" in message.split("the importer printed:")[1]
    printed = capfd.readouterr()
    assert printed.out == "" and printed.err == ""  # said once, in the error


def test_quiet_render_prints_no_importer_lines(asset_dir, tmp_path, capfd):
    assets = (
        f'[[assets]]\nname = "thing"\nfile = "{(asset_dir / "model.glb").as_posix()}"\nlabels = {{ class = "thing" }}\n'
    )
    param = tmp_path / "s.toml"
    param.write_text(scene_file(asset_dir, assets))
    capfd.readouterr()
    assert main(["render", str(param), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    printed = capfd.readouterr()
    assert importer_lines(printed.out + printed.err) == []


# --------------------------------------------------------------------------- materials
@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """A 1 m card whose material's Base Color is an image texture: left half red, right blue."""
    from sdg_addon.compat import enable_nodes

    d = tmp_path_factory.mktemp("card")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_plane_add(size=1.0)
    obj = bpy.context.object
    img = bpy.data.images.new("halves", 8, 8)
    img.pixels = [c for _y in range(8) for x in range(8) for c in ((1, 0, 0, 1) if x < 4 else (0, 0, 1, 1))]
    mat = bpy.data.materials.new("Halves")
    enable_nodes(mat)
    tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
    tex.image, tex.interpolation = img, "Closest"
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    obj.data.materials.append(mat)
    img.pack()
    bpy.ops.export_scene.gltf(filepath=str(d / "card.glb"), export_format="GLB")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return d / "card.glb"


def card_pixels(card, tmp_path, extra: str = "", cols=(16, 48)) -> tuple[np.ndarray, ...]:
    """The rendered colour of the card's left and right halves (a top view, 64 px per 1.2 m;
    `cols`: the image columns read on the middle row)."""
    from PIL import Image

    param = tmp_path / "card.toml"
    param.write_text(
        f"""
[run]
frames = 1
[render]
resolution = [64, 48]
samples = 2
device = "cpu"
[scene]
ground = false
world = {{ color = [0, 0, 0], strength = 0 }}
[[cameras]]
name = "top"
location = [0, 0, 3]
rotation = [0, 0, 0]
projection = "orthographic"
ortho_scale = 1.2
[[lights]]
name = "sun"
type = "sun"
energy = 3
[[assets]]
name = "card"
file = "{card.as_posix()}"
labels = {{ class = "card" }}
{extra}
[annotators]
rgb = {{}}
"""
    )
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    rgb = np.asarray(Image.open(out / "rgb_0000.png"))[..., :3].astype(int)
    return tuple(rgb[24, c] for c in cols)


def test_a_models_own_materials_are_kept(card, tmp_path):
    """A textured .glb renders with its texture (was: every file's Base Color was replaced by
    the asset's `color`, 0.8 grey by default: a textured model came out flat grey)."""
    left, right = card_pixels(card, tmp_path)
    assert left[0] > 100 and left[0] > 1.5 * max(left[1], left[2]), left  # red
    assert right[2] > 100 and right[2] > 1.5 * max(right[0], right[1]), right  # blue


@pytest.mark.parametrize(
    "extra",
    ["color = [0, 1, 0]", '[[randomizers]]\ntype = "material"\ntargets = "card"\ncolor = [0, 1, 0]'],
)
def test_a_models_colour_is_replaced_when_the_file_asks(card, tmp_path, extra):
    """The asset's `color` or a `material` randomizer's replaces the file's Base Color."""
    for px in card_pixels(card, tmp_path, extra):
        assert px[1] > 100 and px[1] > 1.5 * max(px[0], px[2]), px  # green, both halves


def test_a_material_randomizer_on_some_copies_leaves_the_others_as_the_file_made_them(card, tmp_path):
    """Two copies of the textured card share the file's material; a `material` randomizer
    drawing the colour of card_000 only turns card_000 green, while card_001 keeps the file's
    red and blue halves (was: the shared material's Base Color was taken from every copy's
    own colour, so card_001 showed the asset's 0.8 grey); roughness set on card_000 alone
    likewise leaves card_001's."""
    extra = (
        "count = 2\n"
        '[[randomizers]]\ntype = "pose"\ntargets = "card_000"\nlocation = [-0.3, 0, 0]\nscale = 0.5\n'
        '[[randomizers]]\ntype = "pose"\ntargets = "card_001"\nlocation = [0.3, 0, 0]\nscale = 0.5\n'
        '[[randomizers]]\ntype = "material"\ntargets = "card_000"\ncolor = [0, 1, 0]\nroughness = 0.9\n'
    )
    # 64 px across 1.2 m: card_000 spans columns 5-26 (x -0.55 .. -0.05), card_001 37-58.
    g_left, g_right, left, right = card_pixels(card, tmp_path, extra, cols=(10, 21, 42, 53))
    for px in (g_left, g_right):
        assert px[1] > 100 and px[1] > 1.5 * max(px[0], px[2]), px  # green
    assert left[0] > 100 and left[0] > 1.5 * max(left[1], left[2]), left  # the file's red ...
    assert right[2] > 100 and right[2] > 1.5 * max(right[0], right[1]), right  # ... and blue


def test_a_resumed_run_refuses_a_model_file_changed_since(asset_dir, tmp_path, capsys):
    """Frame f is a function of the assets too: a model file changed between a run and its
    --resume is refused (exit 2, the file named, nothing written), as a changed texture of a
    .blend is; the audit lists each model file with its SHA-256 (was: the resumed frames
    showed the new model, the earlier ones the old, silently)."""
    import hashlib
    import shutil

    model = tmp_path / "model.obj"
    shutil.copy(asset_dir / "model.obj", model)
    text = scene_file(
        asset_dir, f'[[assets]]\nname = "thing"\nfile = "{model.as_posix()}"\nlabels = {{ class = "t" }}\n'
    )
    param, two = tmp_path / "s.toml", tmp_path / "two.toml"
    param.write_text(text)
    two.write_text(text.replace("frames = 1", "frames = 2"))
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    listed = json.loads((out / "audit" / "scene_files.json").read_text())
    assert [(e["kind"], e["path"], e["sha256"]) for e in listed] == [
        ("model", model.as_posix(), hashlib.sha256(model.read_bytes()).hexdigest())
    ]
    model.write_text(model.read_text() + "# changed\n")  # another model (here: the same plus a comment)
    before = sorted(p for p in out.rglob("*"))
    capsys.readouterr()
    assert main(["render", str(two), "--out", str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the files the scene reads differ" in err and model.as_posix() in err
    assert sorted(p for p in out.rglob("*")) == before


def test_a_blend_models_collection_instances_are_its_meshes_where_the_instances_are(tmp_path):
    """A .blend model made of collection instances (two empties instancing a "Proto"
    collection at x = -0.3 and 0.3) is imported as the file shows it: a copy of the
    prototype's cube at each instance, labelled as the prototype (was: the empties were
    dropped and the prototype imported once, where it stands in its own collection)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    proto = bpy.data.collections.new("Proto")
    proto["semantics"] = {"class": ["block"]}
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 0, 0.1))
    cube = bpy.context.object
    for c in list(cube.users_collection):
        c.objects.unlink(cube)
    proto.objects.link(cube)
    for i, x in enumerate((-0.3, 0.3)):
        holder = bpy.data.objects.new(f"Inst{i}", None)
        holder.instance_type, holder.instance_collection = "COLLECTION", proto
        holder.location = (x, 0, 0)
        bpy.context.scene.collection.objects.link(holder)
    blend = tmp_path / "blocks.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    param = tmp_path / "s.toml"
    text = scene_file(tmp_path, f'[[assets]]\nname = "m"\nfile = "{blend.as_posix()}"\n')
    param.write_text(text.replace("bounding_box_2d_tight = {}", "bounding_box_3d = {}"))
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    boxes = np.load(out / "bounding_box_3d_0000.npy")
    labels = json.loads((out / "bounding_box_3d_labels_0000.json").read_text())
    assert len(boxes) == 1 and labels[str(boxes[0]["semanticId"])] == {"class": "block"}  # one model, one instance
    b = boxes[0]
    corners = [
        [x, y, z, 1.0]
        for x in (b["x_min"], b["x_max"])
        for y in (b["y_min"], b["y_max"])
        for z in (b["z_min"], b["z_max"])
    ]
    world = (np.array(corners) @ b["transform"].astype(np.float64))[:, :3]
    assert np.allclose(world.min(axis=0), [-0.4, -0.1, 0], atol=1e-5) and np.allclose(
        world.max(axis=0), [0.4, 0.1, 0.2], atol=1e-5
    )


@pytest.mark.parametrize("ext", ["stl", "ply"])
@pytest.mark.parametrize(
    "extra",
    ["color = [0, 1, 0]", '[[randomizers]]\ntype = "material"\ntargets = "card"\ncolor = [0, 1, 0]'],
)
def test_a_model_without_materials_takes_the_colour_the_file_asks(asset_dir, tmp_path, ext, extra):
    """STL and PLY carry no material: the asset's `color` or a `material` randomizer's shows
    on them (was: nothing to drive, they stayed Blender's default grey, silently)."""
    (px,) = card_pixels(asset_dir / f"model.{ext}", tmp_path, extra, cols=(30,))
    assert px[1] > 100 and px[1] > 1.5 * max(px[0], px[2]), px  # green


def test_model_files_are_read_before_the_assets_join_the_scene(asset_dir, tmp_path, objects_at_each_import):
    """Each importer call updates the view layer, at a cost that grows with the objects in
    it: assets that joined the scene entry by entry made a file of many [[assets]] models
    load in quadratic time (200 files: 9 s of an 11 s run). Every file is now read with no
    asset in the scene; all of them are in it once built, each copy labelled as before."""
    import tomllib
    from pathlib import Path

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene import build

    assets = "".join(
        f'[[assets]]\nname = "{ext}"\nfile = "{(asset_dir / f"model.{ext}").as_posix()}"\ncount = 2\n'
        f'labels = {{ class = "{ext}" }}\n'
        for ext in ("glb", "obj", "ply", "blend")
    )
    cfg = config_from_dict(tomllib.loads(scene_file(asset_dir, assets)), Path(tmp_path / "s.toml"))
    built = build.build_scene(cfg)
    assert len(objects_at_each_import) == 4
    assert len(set(objects_at_each_import)) == 1  # the scene did not grow between the imports
    names = sorted(built.entities)
    assert names == [f"{ext}_{i:03d}" for ext in ("blend", "glb", "obj", "ply") for i in range(2)]
    for name, entity in built.entities.items():
        assert entity.labels == {"class": [name.split("_")[0]]}
        assert all(m.name in built.scene.objects for m in entity.meshes)


def test_an_asset_named_as_the_mesh_in_its_file_keeps_its_name(asset_dir, tmp_path):
    """model.obj holds meshes named Cube and Cone; an asset named "Cube" from it (as mug.glb
    holding "mug" named "mug") was built as object "Cube.001": the root took its name while
    the imported mesh still held it, and `targets = "Cube"` matched nothing (exit 2). Same
    in a pool whose file holds a mesh named as the member (p_000). The roots now have their
    names, the parts NAME/MESH."""
    import tomllib
    from pathlib import Path

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene import build

    (tmp_path / "pool").mkdir()
    (tmp_path / "pool" / "a.obj").write_text("o p_000\nv 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nf 1 2 3\n")
    assets = (
        f'[[assets]]\nname = "Cube"\nfile = "{(asset_dir / "model.obj").as_posix()}"\nlabels = {{ class = "a" }}\n'
        f'[[assets]]\nname = "p"\nfiles = "{(tmp_path / "pool").as_posix()}/*.obj"\nlabels = {{ class = "b" }}\n'
        '[[randomizers]]\ntype = "pose"\ntargets = ["Cube", "p_000"]\n'
        'location = { distribution = "uniform", low = [0, 0, 0], high = [0.1, 0.1, 0] }\n'
    )
    cfg = config_from_dict(tomllib.loads(scene_file(asset_dir, assets)), Path(tmp_path / "s.toml"))
    built = build.build_scene(cfg)
    assert sorted(built.entities) == ["Cube", "p_000"]
    assert sorted(m.name for m in built.entities["Cube"].meshes) == ["Cube/Cone", "Cube/Cube"]
    assert [m.name for m in built.entities["p_000"].meshes] == ["p_000/p_000"]
    assert built.match("objects", ["Cube", "p_000"]) == ["Cube", "p_000"]


def test_a_models_material_that_cannot_show_the_colour_asked_for_is_named(card, tmp_path):
    """A .blend model whose material renders a Diffuse BSDF (or, in 4.x, no nodes at all): the
    asset's `color` changed nothing, without a word. The run says which materials keep their
    look; a model whose Principled BSDF takes the colour (the card) is not named."""
    from sdg_addon.compat import enable_nodes

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_plane_add(size=1.0)
    mat = bpy.data.materials.new("Chalk")
    enable_nodes(mat)
    tree = mat.node_tree
    for node in [n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"]:
        tree.nodes.remove(node)
    diffuse = tree.nodes.new("ShaderNodeBsdfDiffuse")
    out = next(n for n in tree.nodes if n.type == "OUTPUT_MATERIAL")
    tree.links.new(diffuse.outputs["BSDF"], out.inputs["Surface"])
    bpy.context.object.data.materials.append(mat)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "chalk.blend"))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    warning = "materials (of model files or the base scene) that show no colour, roughness or metallic the parameter file sets"
    for model, named in ((tmp_path / "chalk.blend", True), (card, False)):
        run = tmp_path / model.stem
        run.mkdir()
        card_pixels(model, run, "color = [0, 1, 0]")
        warnings = json.loads((run / "out" / "audit" / "manifest.json").read_text())["warnings"]
        found = [w for w in warnings if w.startswith(warning)]
        assert found == (
            [f"{warning} (no Principled BSDF feeds the surface Cycles renders: the file's look is kept): card: 'Chalk'"]
            if named
            else []
        ), warnings


def test_a_models_meshes_shaped_by_objects_the_import_drops_keep_the_files_shape(tmp_path):
    """A .blend model's rig, lattice or helper empties are not imported (meshes only): a bar
    posed lying down by an armature modifier, one posed by its Armature parent, and a cube
    an Array modifier repeats along an empty's offset rendered upright and as one cube (the
    modifiers lost their objects, the rest shape shown). Each now keeps the shape the file
    shows (its evaluated mesh)."""
    import math
    import tomllib
    from pathlib import Path

    from mathutils import Vector

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene import build

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    rig = bpy.data.objects.new("rig", bpy.data.armatures.new("rig"))
    scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("bone")
    bone.head, bone.tail = (0, 0, 0), (0, 0, 2)
    bpy.ops.object.mode_set(mode="OBJECT")
    rig.pose.bones["bone"].rotation_mode = "XYZ"
    rig.pose.bones["bone"].rotation_euler = (math.radians(90), 0, 0)  # the bars lie along -y
    bars = []
    for i, how in enumerate(("modifier", "parent")):
        bpy.ops.mesh.primitive_cube_add(size=1, location=(i, 0, 1))
        bar = bpy.context.object
        bar.name = f"bar_{how}"
        bar.scale = (0.1, 0.1, 1)
        bpy.ops.object.transform_apply(scale=True)
        bar.vertex_groups.new(name="bone").add(list(range(len(bar.data.vertices))), 1.0, "REPLACE")
        if how == "modifier":
            bar.modifiers.new("rig", "ARMATURE").object = rig
        else:
            bar.parent, bar.parent_type = rig, "ARMATURE"
        bars.append(bar)
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(3, 0, 0.1))
    row = bpy.context.object
    row.name = "row"
    step = bpy.data.objects.new("step", None)
    step.location = (3.5, 0, 0.1)
    scene.collection.objects.link(step)
    array = row.modifiers.new("array", "ARRAY")
    array.count, array.use_relative_offset, array.use_object_offset = 3, False, True
    array.offset_object = step
    array.show_viewport = False  # rendered only: the shape kept is the rendered one
    blend = tmp_path / "shaped.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)

    assets = f'[[assets]]\nname = "m"\nfile = "{blend.as_posix()}"\nlabels = {{ class = "m" }}\n'
    cfg = config_from_dict(tomllib.loads(scene_file(tmp_path, assets)), Path(tmp_path / "s.toml"))
    built = build.build_scene(cfg)
    depsgraph = bpy.context.evaluated_depsgraph_get()

    def extent(name):
        obj = bpy.data.objects[name].evaluated_get(depsgraph)
        points = np.array([list(obj.matrix_world @ Vector(v.co)) for v in obj.data.vertices])
        return points.min(axis=0).round(4).tolist(), points.max(axis=0).round(4).tolist()

    assert sorted(m.name for m in built.entities["m"].meshes) == ["m/bar_modifier", "m/bar_parent", "m/row"]
    assert extent("m/bar_modifier") == ([-0.05, -1.5, -0.05], [0.05, -0.5, 0.05]), extent("m/bar_modifier")
    assert extent("m/bar_parent") == ([0.95, -1.5, -0.05], [1.05, -0.5, 0.05]), extent("m/bar_parent")
    assert extent("m/row") == ([2.9, -0.1, 0.0], [4.1, 0.1, 0.2]), extent("m/row")


@pytest.mark.parametrize("ext", ["glb", "obj"])
def test_a_models_mesh_named_as_a_base_scene_object_keeps_its_files_name(asset_dir, tmp_path, ext):
    """model.glb holds "Cube" and "Cone"; beside a base scene holding a "Cube" (Blender's
    default) the importer named the file's "Cube.001": `objects = "Cube"` matched nothing
    (exit 2: 'a pattern matching a mesh object ...; none does') and the part was "m/Cube.001"
    (a label rule for "Cube" missed it). The model's meshes now have their file's names and
    the base scene's object keeps its own."""
    import tomllib
    from pathlib import Path

    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene import build

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 1, 0.1))
    bpy.context.object.name = "Cube"
    base = tmp_path / "base.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(base))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    assets = (
        f'[[assets]]\nname = "m"\nfile = "{(asset_dir / f"model.{ext}").as_posix()}"\nobjects = "Cube"\n'
        'labels = { class = "m" }\n'
        f'[[assets]]\nname = "n"\nfile = "{(asset_dir / f"model.{ext}").as_posix()}"\nlabels = {{ class = "n" }}\n'
    )
    text = scene_file(asset_dir, assets).replace("[scene]\n", f'[scene]\nblend = "{base.as_posix()}"\n')
    cfg = config_from_dict(tomllib.loads(text), Path(tmp_path / "s.toml"))
    built = build.build_scene(cfg)
    assert [m.name for m in built.entities["m"].meshes] == ["m/Cube"]
    assert sorted(m.name for m in built.entities["n"].meshes) == ["n/Cone", "n/Cube"]
    assert tuple(built.scene.objects["Cube"].location) == pytest.approx((0, 1, 0.1))


@pytest.mark.parametrize("extra", ["", "color = [0, 1, 0]", "roughness = 1"])
def test_a_model_without_materials_shows_its_vertex_colours(tmp_path, extra):
    """A PLY whose vertices are red (a scan, BOP's models) and has no material rendered in
    Blender's default grey (58 of 255 at its centre). It now shows its vertex colours,
    replaced only by the colour the parameter file asks for."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_plane_add(size=1.0)
    colours = bpy.context.object.data.color_attributes.new("Col", "BYTE_COLOR", "POINT")
    for c in colours.data:
        c.color = (1, 0, 0, 1)
    model = tmp_path / "scan.ply"
    bpy.ops.wm.ply_export(filepath=str(model), export_colors="SRGB")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    (px,) = card_pixels(model, tmp_path, extra, cols=(32,))
    if extra.startswith("color"):
        assert px[1] > 100 and px[1] > 1.5 * max(px[0], px[2]), px  # green
    else:
        assert px[0] > 100 and px[0] > 1.5 * max(px[1], px[2]), px  # red


def test_a_blend_models_mesh_in_a_collection_disabled_in_renders_is_not_rendered(tmp_path):
    """A .blend model's helper (a sphere 2 m aside, in a collection set to Disable in Renders,
    or in a child of one) is not rendered by its file, but its collections went with the
    import and it rendered, widening the model's 3D box from 0.2 m to 2.2 m. It is now kept
    hidden from renders, as a mesh hidden itself is; a mesh also in a rendered collection
    still renders."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_cube_add(size=0.2, location=(0, 0, 0.1))
    off = bpy.data.collections.new("helpers")
    off.hide_render = True
    inner = bpy.data.collections.new("inner")
    shown = bpy.data.collections.new("shown")
    scene.collection.children.link(off)
    scene.collection.children.link(shown)
    off.children.link(inner)
    for name, colls, x in (("aside", [off], 2.0), ("deeper", [inner], -2.0), ("both", [off, shown], 0.0)):
        bpy.ops.mesh.primitive_uv_sphere_add(radius=0.1, location=(x, 0, 0.5))
        obj = bpy.context.object
        obj.name = name
        for c in list(obj.users_collection):
            c.objects.unlink(obj)
        for c in colls:
            c.objects.link(obj)
    blend = tmp_path / "helpers.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    param = tmp_path / "s.toml"
    text = scene_file(tmp_path, f'[[assets]]\nname = "m"\nfile = "{blend.as_posix()}"\nlabels = {{ class = "m" }}\n')
    param.write_text(text.replace("bounding_box_2d_tight = {}", "bounding_box_3d = {}"))
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    (b,) = np.load(out / "bounding_box_3d_0000.npy")
    extent = [round(float(b[k]), 4) for k in ("x_min", "y_min", "z_min", "x_max", "y_max", "z_max")]
    assert extent == [-0.1, -0.1, 0.0, 0.1, 0.1, 0.6], extent  # the cube and "both"


def test_a_skinned_gltf_models_bone_shapes_are_not_rendered(tmp_path):
    """Blender's glTF importer gives a skinned model's bones a display shape, a mesh
    "Icosphere" in its collection glTF_not_exported (disabled in renders): it was taken as a
    part of the model and rendered, a 2 m sphere at the rig's origin (the 3D box of a
    0.1 x 0.1 x 1 m bar: 2 x 2 x 2.5 m). It is now kept hidden from renders."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    rig = bpy.data.objects.new("rig", bpy.data.armatures.new("rig"))
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    bone = rig.data.edit_bones.new("bone")
    bone.head, bone.tail = (0, 0, 0), (0, 0, 2)
    bpy.ops.object.mode_set(mode="OBJECT")
    bpy.ops.mesh.primitive_cube_add(size=1, location=(0, 0, 1))
    bar = bpy.context.object
    bar.scale = (0.1, 0.1, 1)
    bpy.ops.object.transform_apply(scale=True)
    bar.vertex_groups.new(name="bone").add(list(range(len(bar.data.vertices))), 1.0, "REPLACE")
    bar.modifiers.new("rig", "ARMATURE").object = rig
    bar.parent = rig
    bpy.ops.object.select_all(action="SELECT")
    model = tmp_path / "skinned.glb"
    bpy.ops.export_scene.gltf(filepath=str(model), export_format="GLB")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    param = tmp_path / "s.toml"
    text = scene_file(tmp_path, f'[[assets]]\nname = "m"\nfile = "{model.as_posix()}"\nlabels = {{ class = "m" }}\n')
    param.write_text(text.replace("bounding_box_2d_tight = {}", "bounding_box_3d = {}"))
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    (b,) = np.load(out / "bounding_box_3d_0000.npy")
    extent = [round(float(b[k]), 4) for k in ("x_min", "y_min", "z_min", "x_max", "y_max", "z_max")]
    assert extent == [-0.05, -0.05, 0.5, 0.05, 0.05, 1.5], extent


INSTANCED_USDA = """#usda 1.0
(
    defaultPrim = "root"
    metersPerUnit = 1
    upAxis = "Z"
)
def Xform "root"
{
    def Xform "proto"
    {
        def Mesh "box"
        {
            int[] faceVertexCounts = [4, 4, 4, 4, 4, 4]
            int[] faceVertexIndices = [0, 1, 3, 2, 2, 3, 7, 6, 6, 7, 5, 4, 4, 5, 1, 0, 2, 6, 4, 0, 7, 3, 1, 5]
            point3f[] points = [(-0.1, -0.1, 0.2), (0.1, -0.1, 0.2), (-0.1, 0.1, 0.2), (0.1, 0.1, 0.2),
                (-0.1, -0.1, 0), (0.1, -0.1, 0), (-0.1, 0.1, 0), (0.1, 0.1, 0)]
        }
    }
    def Xform "a" (
        instanceable = true
        references = </root/proto>
    )
    {
        double3 xformOp:translate = (1, 0, 0)
        uniform token[] xformOpOrder = ["xformOp:translate"]
    }
    def Xform "b" (
        instanceable = true
        references = </root/proto>
    )
    {
        double3 xformOp:translate = (-1, 0, 0.5)
        uniform token[] xformOpOrder = ["xformOp:translate"]
    }
}
"""


def test_a_usd_models_instanceable_prims_are_its_meshes_where_they_show(tmp_path):
    """A USD model whose prims reference a prototype as instanceable (Replicator's and
    Omniverse's assets do) comes from Blender's importer as collection instances: the
    instancing empties were dropped and the instances lost (a model of three boxes, at
    x = -1, 0 and 1, rendered as the one at 0: its 3D box 0.2 m wide instead of 2.2 m).
    They are now meshes where the file shows them, as a .blend's collection instances are."""
    model = tmp_path / "instanced.usda"
    model.write_text(INSTANCED_USDA)
    param = tmp_path / "s.toml"
    text = scene_file(tmp_path, f'[[assets]]\nname = "m"\nfile = "{model.as_posix()}"\nlabels = {{ class = "m" }}\n')
    param.write_text(text.replace("bounding_box_2d_tight = {}", "bounding_box_3d = {}"))
    out = tmp_path / "out"
    assert main(["render", str(param), "--out", str(out), "--quiet"]) == 0
    (b,) = np.load(out / "bounding_box_3d_0000.npy")
    extent = [round(float(b[k]), 4) for k in ("x_min", "y_min", "z_min", "x_max", "y_max", "z_max")]
    assert extent == [-1.1, -0.1, 0.0, 1.1, 0.1, 0.7], extent
