"""A small shop-like .blend made by the tests: labelled collections (nested), a labelled
parent empty with two child meshes, two cameras, an area light and an HDRI-less world."""

from __future__ import annotations

import math
from pathlib import Path


def make_shop_blend(path: Path) -> dict[str, list[list[float]]]:
    """Write the .blend to `path`; return each object's matrix_world as saved."""
    import bpy

    from sdg_addon.compat import enable_nodes

    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)  # keeps enabled add-ons
    scene = bpy.context.scene
    scene.name = "Shop"
    shop = bpy.data.collections.new("shop")
    scene.collection.children.link(shop)
    shop["semantics"] = {"zone": ["aisle"]}
    cans = bpy.data.collections.new("cans")
    shop.children.link(cans)
    cans["semantics"] = {"class": ["can"]}

    def mesh(name, op, coll, **kw):
        op(**kw)
        obj = bpy.context.active_object
        obj.name = name
        for c in list(obj.users_collection):
            c.objects.unlink(obj)
        coll.objects.link(obj)
        return obj

    cyl = bpy.ops.mesh.primitive_cylinder_add
    mesh("can_a", cyl, cans, radius=0.15, depth=0.4, location=(-0.7, 0.0, 0.2))
    b = mesh("can_b", cyl, cans, radius=0.15, depth=0.4, location=(0.7, -0.2, 0.3))
    b.rotation_euler = (0.0, math.radians(90), math.radians(20))
    b.scale = (1.2, 1.2, 0.8)
    crate = bpy.data.objects.new("crate", None)
    shop.objects.link(crate)
    crate["semantics"] = {"class": ["crate"]}
    crate.location = (0.0, 0.8, 0.0)
    crate.rotation_euler = (0.0, 0.0, math.radians(30))
    body = mesh("crate_body", bpy.ops.mesh.primitive_cube_add, shop, size=0.5)
    lid = mesh("crate_lid", bpy.ops.mesh.primitive_cube_add, shop, size=0.3)
    for part, z in ((body, 0.25), (lid, 0.65)):
        part.parent = crate
        part.location = (0.0, 0.0, z)
    floor = mesh("floor", bpy.ops.mesh.primitive_plane_add, scene.collection, size=6)
    floor["semantics"] = {"class": ["floor"]}
    for name, loc in (("CamA", (0.0, -4.0, 2.0)), ("CamB", (3.0, -3.0, 2.5))):
        cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
        scene.collection.objects.link(cam)
        cam.location = loc
        direction = -cam.location.copy() + type(cam.location)((0.0, 0.0, 0.3))
        cam.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
    scene.camera = bpy.data.objects["CamA"]
    light = bpy.data.objects.new("Key", bpy.data.lights.new("Key", "AREA"))
    light.data.energy = 400
    light.data.size = 2.0
    light.location = (1.0, -1.0, 3.0)
    scene.collection.objects.link(light)
    world = bpy.data.worlds.new("plain")
    scene.world = world
    enable_nodes(world)
    bg = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")
    bg.inputs["Color"].default_value = (0.2, 0.2, 0.25, 1.0)
    bpy.context.view_layer.update()
    matrices = {o.name: [list(r) for r in o.matrix_world] for o in scene.objects}
    bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=False)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)  # keeps enabled add-ons
    return matrices


def add_compositor_and_sequencer(blend: Path, saved_as: Path, output_dir: str) -> None:
    """Save `blend` as `saved_as` with what a finished shot often has: a compositor that
    inverts the image and writes it through a File Output node into `output_dir` (absolute, or
    "//..." next to the .blend), a sequencer strip (a plain red colour) over the render,
    stereoscopy on and a render region left on."""
    import bpy

    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.context.scene
    if hasattr(scene, "compositing_node_group"):  # Blender 5: the compositor is a node group
        tree = bpy.data.node_groups.new("shot", "CompositorNodeTree")
        scene.compositing_node_group = tree
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        composite = tree.nodes.new("NodeGroupOutput").inputs[0]
        files = tree.nodes.new("CompositorNodeOutputFile")
        files.directory = output_dir
        files.file_name = "shot_"
        files.file_output_items.new("RGBA", "Image")
    else:  # Blender 4.2: the scene's own tree, a Composite node
        scene.use_nodes = True
        tree = scene.node_tree
        composite = tree.nodes.new("CompositorNodeComposite").inputs["Image"]
        files = tree.nodes.new("CompositorNodeOutputFile")
        files.base_path = output_dir + "shot_"
    layers = tree.nodes.new("CompositorNodeRLayers")
    invert = tree.nodes.new("CompositorNodeInvert")
    tree.links.new(layers.outputs["Image"], invert.inputs["Color"])
    tree.links.new(invert.outputs[0], composite)
    tree.links.new(layers.outputs["Image"], files.inputs[0])
    scene.render.use_compositing = True
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    # 5.0 takes a length; 4.x (4.5 has `strips` too) a last frame.
    if "length" in strips.bl_rna.functions["new_effect"].parameters.keys():
        strip = strips.new_effect(name="red", type="COLOR", channel=1, frame_start=1, length=1000)
    else:
        strip = strips.new_effect(name="red", type="COLOR", channel=1, frame_start=1, frame_end=1000)
    strip.color = (1.0, 0.0, 0.0)
    scene.render.use_sequencer = True
    scene.render.use_multiview = True  # stereoscopy: a left and a right view
    scene.render.image_settings.views_format = "INDIVIDUAL"
    scene.render.use_border = scene.render.use_crop_to_border = True  # a render region, cropped
    scene.render.border_min_x, scene.render.border_max_x = 0.25, 0.6
    bpy.ops.wm.save_as_mainfile(filepath=str(saved_as), compress=False)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)


def make_simulation_blends(folder: Path) -> None:
    """Beside shop.blend (made here too): cloth.blend, a cloth sheet whose cache is on disk
    and not baked, and smoke.blend, a smoke domain (Replay cache, 16 voxels) with its emitter.
    Run it in a process of its own: a fluid simulation left in the session when Python shuts
    down aborts the process."""
    import bpy

    make_shop_blend(folder / "shop.blend")
    bpy.ops.wm.open_mainfile(filepath=str(folder / "shop.blend"), load_ui=False)
    bpy.ops.mesh.primitive_plane_add(size=1.0, location=(0.0, 0.0, 1.5))
    bpy.context.active_object.name = "sheet"
    bpy.ops.object.modifier_add(type="CLOTH")
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "cloth.blend"))  # a disk cache needs a saved file
    bpy.data.objects["sheet"].modifiers["Cloth"].point_cache.use_disk_cache = True
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "cloth.blend"))
    bpy.ops.wm.open_mainfile(filepath=str(folder / "shop.blend"), load_ui=False)
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "smoke.blend"))  # the cache folder: beside it
    bpy.ops.mesh.primitive_cube_add(size=0.3, location=(0.0, 0.0, 1.0))
    bpy.context.active_object.name = "emitter"
    bpy.ops.object.quick_smoke()
    domain = next(o for o in bpy.data.objects if o.name != "emitter" and "Fluid" in o.modifiers)
    domain.modifiers["Fluid"].domain_settings.resolution_max = 16
    assert domain.modifiers["Fluid"].domain_settings.cache_type == "REPLAY"
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "smoke.blend"))
    bpy.ops.wm.read_homefile(use_empty=True)
