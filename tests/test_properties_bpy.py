"""The property randomizer in Blender: paths resolved and checked on the built scene before
anything is written, values set where the path points."""

from __future__ import annotations

from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

from scenes import asset, camera, header, render, sun, write_param  # noqa: E402

from sdg_addon.config import ConfigError, load_config  # noqa: E402
from sdg_addon.recorder import Recorder, RunOptions  # noqa: E402
from sdg_addon.sampling import sample_frame  # noqa: E402

BASE = (
    header((32, 24), samples=1, frames=2)
    + camera((0, -3, 1.5), (0, 0, 0.3))
    + sun()
    + asset("box", "cube", 0.5, label="box")
)


def built(tmp_path: Path, randomizers: str):
    from sdg_addon.scene.build import build_scene

    cfg = load_config(write_param(tmp_path, BASE + randomizers, "p.toml"))
    scene = build_scene(cfg)
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    return cfg, scene, recorder, recorder.resolve_targets(scene)


def prop(path: str, value: str, targets: str = "box") -> str:
    return f'[[randomizers]]\ntype = "property"\ntargets = "{targets}"\npath = \'{path}\'\nvalue = {value}\n'


def test_values_are_set_where_the_paths_point(tmp_path):
    from sdg_addon.scene.randomize import apply_frame

    cfg, scene, recorder, targets = built(
        tmp_path,
        prop('modifiers["Bevel"].width', '{ distribution = "uniform", low = 0.01, high = 0.05 }')
        + prop('modifiers["Bevel"].segments', '{ distribution = "uniform_int", low = 1, high = 4 }')
        + prop("location[2]", "0.75")
        + prop("hide_render", "false")
        + prop('["score"]', '{ distribution = "choice", values = [0.5, 0.25] }')  # made on the first set
        + prop("color", "[1.0, 0.5, 0.25, 1.0]")
        + prop("data.lens", "35", "cam")
        + prop("data.type", '"SPOT"', "sun")
        + prop('active_material.node_tree.nodes["Principled BSDF"].inputs["Emission Strength"].default_value', "0.35"),
    )
    box = scene.entities["box"].root
    bevel = box.modifiers.new("Bevel", "BEVEL")  # the user's modifier, in their scene
    recorder.check_targets(scene, targets)
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers, targets)
    apply_frame(scene, sampled, cfg.randomizers)
    values = [entry["values"] for entry in sampled]
    assert bevel.width == pytest.approx(values[0]["box"]["value"]) and 0.01 <= bevel.width <= 0.05
    assert bevel.segments == values[1]["box"]["value"] and isinstance(bevel.segments, int)
    assert box.location.z == 0.75 and box.hide_render is False
    assert box["score"] in (0.5, 0.25)
    assert tuple(box.color) == (1.0, 0.5, 0.25, 1.0)
    assert scene.cameras["cam"].data.lens == 35.0 and scene.lights["sun"].data.type == "SPOT"
    bsdf = box.active_material.node_tree.nodes["Principled BSDF"]
    assert bsdf.inputs["Emission Strength"].default_value == pytest.approx(0.35)


@pytest.mark.parametrize(
    "randomizer, message",
    [
        (prop('modifiers["Bevl"].width', "0.02"), "has no item 'Bevl'; did you mean 'Bevel'?"),
        (prop("hide_rendr", "true"), "did you mean 'hide_render'?"),
        (prop('modifiers["Bevel"].segments', "2.5"), "a whole number"),
        (prop('modifiers["Bevel"].segments', '{ distribution = "uniform", low = 1, high = 3 }'), "uniform_int"),
        (prop('modifiers["Bevel"].width', "-0.5"), "Blender's limits"),  # Blender would clamp it to 0
        (prop('modifiers["Bevel"].limit_method', '"ANGEL"'), "one of NONE, ANGLE"),
        (prop("location", "[1, 2]"), "3 numbers"),
        (prop("location[3]", "1.0"), "no index 3"),
        (prop("type", '"EMPTY"'), "read-only"),
        (prop("modifiers", "1"), "not a value to set"),
        (prop("hide_render", "1"), "true or false"),
        # An input a link feeds renders what the link brings: the add-on's materials link
        # Base Color, Roughness and Metallic to each object's look (set as it was, unseen).
        (
            prop(
                'active_material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value', "[1, 0, 0, 1]"
            ),
            "'Base Color' of node 'Principled BSDF' is linked (from 'Object Info')",
        ),
        (
            prop('active_material.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value', "0.3"),
            "a `material` randomizer",
        ),
        (
            prop('active_material.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value[0]', "1.0"),
            "is linked",
        ),
        # Every component counts, however rarely drawn:
        (
            prop("location[2]", '{ distribution = "mixture", components = ["high", 0.5], weights = [1, 1000] }'),
            "a number",
        ),
        # Nothing that would make Blender write or read files where the run does not say:
        (prop('active_material.node_tree.nodes["Image Texture"].image.filepath', '"x.png"'), "not set by a randomizer"),
        (prop('modifiers["Cloth"].point_cache.use_disk_cache', "true"), "not set by a randomizer"),
        # ... nor what frees a simulation's cache, which deletes its files on disk:
        (prop('modifiers["Cloth"].point_cache.frame_end', "100"), "deletes the cache's files"),
        (prop('modifiers["Fluid"].domain_settings.vorticity', "0.5"), "deletes the cache's files"),
        (prop('modifiers["Fluid"].fluid_type', '"FLOW"'), "deletes the cache's files"),
        (prop("animation_data.drivers[0].driver.expression", '"__import__(1)"'), "runs no code"),
        # ... nor what the run itself sets: the instance id, names.
        (prop("pass_index", "3"), "the instance id of the object's masks"),
        (prop("name", '"other"'), "find data-blocks by name"),
        (prop("data.name", '"other"'), "find data-blocks by name"),
    ],
)
def test_a_path_that_cannot_take_the_value_stops_the_run_before_it_writes(tmp_path, randomizer, message):
    cfg, scene, recorder, targets = built(tmp_path, randomizer)
    scene.entities["box"].root.modifiers.new("Bevel", "BEVEL")
    scene.entities["box"].root.modifiers.new("Cloth", "CLOTH")
    fluid = scene.entities["box"].root.modifiers.new("Fluid", "FLUID")
    fluid.fluid_type = "DOMAIN"
    material = scene.entities["box"].root.active_material
    material.node_tree.nodes.new("ShaderNodeTexImage").image = bpy.data.images.new("img", 4, 4)
    try:
        # Named as validation names a problem: the file, the entry's field, its value.
        with pytest.raises(ConfigError, match=r"p\.toml: randomizers\[0\]\.(path|value): got ") as e:
            recorder.check_targets(scene, targets)
    finally:  # no fluid simulation left for Python's shutdown (scene.caches)
        scene.entities["box"].root.modifiers.remove(fluid)
    assert message in str(e.value), str(e.value)


def test_headless_run_with_a_bad_path_exits_2_and_writes_nothing(tmp_path):
    param = write_param(tmp_path, BASE + prop('modifiers["Bevel"].width', "0.02"), "p.toml")
    out = tmp_path / "out"
    assert render(param, out) == 2  # the primitive has no Bevel modifier
    assert not out.exists()
    good = write_param(tmp_path, BASE + prop('["seen"]', "true"), "good.toml")
    assert render(good, tmp_path / "good") == 0


def test_a_world_property_on_a_scene_without_a_world_is_named_as_a_field(tmp_path):
    """A base scene without a world: a world_property entry is refused naming its file, field
    and path (the check of bc146a3 ended it in 'error: the scene has no world' alone)."""
    text = (
        '[[randomizers]]\ntype = "world_property"\npath = \'node_tree.nodes["Background"].inputs[1].default_value\'\n'
    )
    cfg, scene, recorder, targets = built(tmp_path, text + "value = 0.5\n")
    scene.scene.world = None
    with pytest.raises(ConfigError, match=r"p\.toml: randomizers\[0\]\.path: got .*the scene has no world"):
        recorder.check_targets(scene, targets)


def light_type(values: str) -> str:
    return f'[[randomizers]]\ntype = "light"\ntargets = "sun"\nlight_type = {values}\n'


def test_a_lights_path_is_checked_for_every_type_a_light_type_gives_it(tmp_path):
    """data.spot_size is a spot's alone. A light entry before the property entry making the
    sun a spot on every frame: the path resolves (it was refused on the sun as built). One
    making it a point in some frames: refused before anything is written (validate said OK
    and the run stopped at the first point frame, exit 2, its folder written)."""
    from sdg_addon.scene.randomize import apply_frame

    size = prop("data.spot_size", '{ distribution = "uniform", low = 0.2, high = 1.2 }', "sun")
    cfg, scene, recorder, targets = built(tmp_path, light_type('"spot"') + size)
    recorder.check_targets(scene, targets)
    assert scene.lights["sun"].data.type == "SUN"  # the check gives the light its type back
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers, targets)
    apply_frame(scene, sampled, cfg.randomizers)
    assert scene.lights["sun"].data.spot_size == pytest.approx(sampled[1]["values"]["sun"]["value"])
    for text, said in (
        (light_type('{ distribution = "choice", values = ["point", "spot"] }') + size, "on sun (as a POINT light"),
        (size + light_type('"spot"'), "on sun: "),  # frame 0 finds the sun as built
    ):
        cfg, scene, recorder, targets = built(tmp_path, text)
        with pytest.raises(ConfigError, match=r"randomizers\[\d\]\.path: got ") as e:
            recorder.check_targets(scene, targets)
        assert "has no property 'spot_size'" in str(e.value) and said in str(e.value), str(e.value)
    param = write_param(tmp_path, BASE + light_type('{ distribution = "sequence", values = ["spot", "point"] }') + size)
    assert render(param, tmp_path / "out") == 2
    assert not (tmp_path / "out").exists()


def test_a_geometry_nodes_input_changes_the_rendered_geometry(tmp_path):
    """A Geometry Nodes input is a custom property of the modifier, which tags nothing when
    set: the applier tags the object, so the evaluated (rendered) mesh follows the value."""
    from sdg_addon.scene.randomize import apply_frame

    cfg, scene, recorder, targets = built(
        tmp_path, prop('modifiers["GeometryNodes"]["Socket_1"]', '{ distribution = "sequence", values = [5, 9] }')
    )
    box = scene.entities["box"].root
    group = bpy.data.node_groups.new("points", "GeometryNodeTree")
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    count = group.interface.new_socket("Count", in_out="INPUT", socket_type="NodeSocketInt")
    line = group.nodes.new("GeometryNodeMeshLine")
    group.links.new(group.nodes.new("NodeGroupInput").outputs[0], line.inputs["Count"])
    group.links.new(line.outputs[0], group.nodes.new("NodeGroupOutput").inputs[0])
    modifier = box.modifiers.new("GeometryNodes", "NODES")
    modifier.node_group = group
    assert count.identifier == "Socket_1"
    recorder.check_targets(scene, targets)
    for frame, expected in ((0, 5), (1, 9)):
        apply_frame(scene, sample_frame(cfg.seed, frame, cfg.randomizers, targets), cfg.randomizers)
        depsgraph = bpy.context.evaluated_depsgraph_get()
        depsgraph.update()
        assert len(box.evaluated_get(depsgraph).data.vertices) == expected


def test_a_case_value_the_property_cannot_take_stops_the_run_before_it_writes(tmp_path):
    case = (
        '[[cases]]\nname = "round"\nframes = 1\n'
        'set = [{ type = "property", path = \'modifiers["Bevel"].segments\', value = VALUE }]\n'
    )
    entry = prop('modifiers["Bevel"].segments', '{ distribution = "uniform_int", low = 1, high = 4 }')
    cfg, scene, recorder, targets = built(tmp_path, entry + case.replace("VALUE", "2.5"))
    scene.entities["box"].root.modifiers.new("Bevel", "BEVEL")
    with pytest.raises(
        ConfigError, match=r"cases\[0\]\.set\[0\]\.value: got 2\.5; .* on box, which takes a whole number"
    ):
        recorder.check_targets(scene, targets)
    cfg, scene, recorder, targets = built(tmp_path, entry + case.replace("VALUE", "6"))
    scene.entities["box"].root.modifiers.new("Bevel", "BEVEL")
    recorder.check_targets(scene, targets)  # a whole number: fine


def test_world_property_sets_the_scene_worlds_own_nodes(tmp_path):
    from sdg_addon.scene.randomize import apply_frame

    path = 'node_tree.nodes["Background"].inputs["Strength"].default_value'
    entry = f"[[randomizers]]\ntype = \"world_property\"\npath = '{path}'\nvalue = VALUE\n"
    cfg, scene, recorder, targets = built(
        tmp_path, entry.replace("VALUE", '{ distribution = "uniform", low = 0.2, high = 0.4 }')
    )
    assert targets == [["world"]]
    recorder.check_targets(scene, targets)
    sampled = sample_frame(cfg.seed, 0, cfg.randomizers, targets)
    assert sampled[0]["path"] == path  # the log says which property
    apply_frame(scene, sampled, cfg.randomizers)
    strength = scene.scene.world.node_tree.nodes["Background"].inputs["Strength"].default_value
    assert strength == pytest.approx(sampled[0]["values"]["world"]["value"]) and 0.2 <= strength <= 0.4
    cfg, scene, recorder, targets = built(tmp_path, entry.replace("Background", "Backgroud").replace("VALUE", "1.0"))
    with pytest.raises(ConfigError, match="did you mean 'Background'"):
        recorder.check_targets(scene, targets)


def test_a_per_axis_value_sets_a_world_nodes_vector(tmp_path):
    """docs/parameters.md's world_property example: the Mapping node's rotation gets the
    constants and the drawn component; a per_axis of the wrong length is refused first."""
    from sdg_addon.scene.randomize import apply_frame

    path = 'node_tree.nodes["Mapping"].inputs["Rotation"].default_value'
    entry = f"[[randomizers]]\ntype = \"world_property\"\npath = '{path}'\nvalue = VALUE\n"
    for value in (
        '{ distribution = "per_axis", axes = [0, 0, { distribution = "uniform", low = 0, high = 6.2832 }] }',
        '[0, 0, { distribution = "uniform", low = 0, high = 6.2832 }]',
    ):
        cfg, scene, recorder, targets = built(tmp_path, entry.replace("VALUE", value))
        mapping = scene.scene.world.node_tree.nodes.new("ShaderNodeMapping")
        assert mapping.name == "Mapping"
        mapping.inputs["Rotation"].default_value = (1.0, 2.0, 3.0)
        recorder.check_targets(scene, targets)
        sampled = sample_frame(cfg.seed, 0, cfg.randomizers, targets)
        apply_frame(scene, sampled, cfg.randomizers)
        drawn = sampled[0]["values"]["world"]["value"]
        assert list(mapping.inputs["Rotation"].default_value) == pytest.approx(drawn)
        assert drawn[:2] == [0, 0] and 0 <= drawn[2] <= 6.2832
    cfg, scene, recorder, targets = built(
        tmp_path, entry.replace("VALUE", '[0, { distribution = "uniform", low = 0, high = 1 }]')
    )
    scene.scene.world.node_tree.nodes.new("ShaderNodeMapping")
    with pytest.raises(ConfigError, match="takes 3 numbers"):
        recorder.check_targets(scene, targets)


@pytest.mark.parametrize(
    "path, value, key",
    [
        ('["k"]', "2.0", lambda box: box.keyframe_insert('["k"]', frame=1)),
        ('modifiers["Bevel"].width', "0.02", lambda box: box.modifiers["Bevel"].keyframe_insert("width", frame=1)),
    ],
)
def test_a_keyed_property_is_refused_before_the_run_writes(tmp_path, path, value, key):
    """A property the .blend keys (an object's custom property, a modifier's width; a
    light's data.energy): the animation set it back when the frame rendered, so the value
    drawn showed in no frame while the log said it was set (a lamp's keyed energy set to 0
    rendered lit as before). Refused before anything is written, naming the path and the
    object; the same path unkeyed is taken."""
    cfg, scene, recorder, targets = built(tmp_path, prop(path, value))
    box = scene.entities["box"].root
    box["k"] = 1.0
    box.modifiers.new("Bevel", "BEVEL")
    recorder.check_targets(scene, targets)  # not keyed: fine
    key(box)
    with pytest.raises(ConfigError, match=r"p\.toml: randomizers\[0\]\.path: got ") as e:
        recorder.check_targets(scene, targets)
    assert "on box it is animated, and the animation sets it back when the frame renders" in str(e.value)


def test_a_blends_controller_empty_is_a_property_target(tmp_path):
    """A .blend's objects without geometry (a controller empty whose custom property drives
    a modifier, a rig's armature alone) were no targets: targets = "ctrl" was refused with
    'its objects, lights and cameras' listing every object but the empty, though the
    Randomizers panel's Use Selected takes it. The base scene's own objects of any type are targets now,
    and the value drives what the .blend wires to it (an Array's count, a rendered row of 7)."""
    from sdg_addon.scene.build import build_scene
    from sdg_addon.scene.randomize import apply_frame

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    ctrl = bpy.data.objects.new("ctrl", None)
    scene.collection.objects.link(ctrl)
    ctrl["count"] = 1
    bpy.ops.mesh.primitive_cube_add(size=0.2)
    row = bpy.context.active_object
    row.name = "row"
    array = row.modifiers.new("Array", "ARRAY")
    driver = array.driver_add("count").driver
    driver.type = "SUM"
    var = driver.variables.new()
    var.type = "SINGLE_PROP"
    var.targets[0].id, var.targets[0].data_path = ctrl, '["count"]'
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    scene.collection.objects.link(cam)
    blend = tmp_path / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    text = header((32, 24), samples=1) + f'[scene]\nblend = "{blend.as_posix()}"\n' + prop('["count"]', "7", "ctrl")
    cfg = load_config(write_param(tmp_path, text, "p.toml"))
    built_scene = build_scene(cfg)
    recorder = Recorder(cfg, RunOptions(tmp_path / "out", range(1)))
    targets = recorder.resolve_targets(built_scene)
    assert targets == [["ctrl"]]
    recorder.check_targets(built_scene, targets)
    apply_frame(built_scene, sample_frame(cfg.seed, 0, cfg.randomizers, targets), cfg.randomizers)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    depsgraph.update()
    row = bpy.data.objects["row"]
    assert len(row.evaluated_get(depsgraph).data.vertices) == 8 * 7
