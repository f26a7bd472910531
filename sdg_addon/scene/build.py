"""Build the Blender scene a parameter file describes (once per run), and find its entities.

An entity is what gets one instance id: a top-level object together with every mesh
below it in the parent hierarchy (an imported model made of several meshes is one
instance, as a labelled prim with child meshes is in Replicator), except for the parts
that are entities of their own: copies of instanced geometry and objects whose labels
differ from their parent's (see discover_entities and docs/exactness.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import io
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import bpy
from mathutils import Euler, Matrix, Vector

from ..compat import (
    GREASE_PENCIL_TYPES,
    adaptive_subdivision_on,
    default_working_space,
    draws_grease_pencil,
    enable_nodes,
    uses_nodes,
    world_nodes_as_in_5,
)
from ..config.fields import MAX_NAME_BYTES
from ..config.problems import MISSING, FieldError, join, one_of
from ..config.schema import MAX_POOL_FILES, AssetSpec, CameraSpec, Config, LightSpec, light_names, object_names
from ..console import console_captured
from ..frame import FIRST_INSTANCE_ID, LabelTable
from ..labels.blender import (
    BACKGROUND_PROPERTY,
    NAMED_PART,
    apply_label_rules,
    collection_parents,
    object_collections,
    object_path,
    own_labels,
    resolved_labels,
    set_labels,
)
from ..labels.parse import LABEL_PROPERTY, labels_match, merge_labels
from ..pinhole import blender_lens_for
from ..sensors import EMISSIVITY_PROP, ILLUMINATOR_PROP, NIR_REFLECTANCE_PROP, TEMPERATURE_PROP
from .base import (
    INFRARED_RANGES,
    alpha_threshold_note,
    background_set_note,
    camera_markers_note,
    check_bop_dataset_folder,
    check_camera_folders,
    check_camera_transform,
    check_colour,
    check_free_names,
    check_infrared_properties,
    check_projection,
    check_scene_keypoint_names,
    check_scene_labels,
    check_scene_skeletons,
    check_unique_names,
    colour_differences,
    engine_note,
    environment_filter_note,
    failed_drivers,
    forget_read_base,
    frame_range_note,
    frame_rate_note,
    frame_step_note,
    image_differences,
    load_blend_scene,
    material_override_note,
    meters_per_unit,
    missing_files,
    motion_blur_note,
    newer_blend_note,
    newer_files_note,
    prepare_base_scene,
    property_owners,
    render_view_layer,
    scene_cameras,
    scene_lights,
    sensor_property_problem,
    surfaces_filter_note,
    unit_note,
    world_override_note,
)
from .caches import fluid_domains, keep_caches_inside
from .instancing import (
    GEOMETRY_TYPES,
    camera_turned_instances_note,
    in_render_collections,
    is_instance_copy,
    linked_node_instancers_note,
    realize_instances,
    relative_collection_note,
    render_collections,
)
from .keypoints import add_keypoints, file_world, stash_keypoints, stashed_keypoints
from .materials import LOOK_INPUTS, own_surface, per_object_material, set_object_look, wire_file_materials
from .primitives import primitive_mesh
from .render_settings import match_viewport_to_render

ASSET_ROOT = "sdg_assets"
RESOLUTION_PROP = "sdg_resolution"  # on a camera: its own [width, height] (else the render's)
PIXEL_ASPECT_PROP = "sdg_pixel_aspect"  # on a camera: its render's pixel aspect [x, y] (else [1, 1])


@dataclass
class Entity:
    name: str
    root: bpy.types.Object
    meshes: list
    instance_id: int
    path: str
    labels: dict[str, list[str]]


@dataclass
class BuiltScene:
    scene: bpy.types.Scene
    entities: dict[str, Entity] = field(default_factory=dict)
    cameras: dict[str, bpy.types.Object] = field(default_factory=dict)
    lights: dict[str, bpy.types.Object] = field(default_factory=dict)
    camera_targets: dict[str, tuple] = field(default_factory=dict)  # look-at point per camera
    camera_starts: dict[str, tuple] = field(default_factory=dict)  # location as built
    # A light's colour, which a drawn temperature multiplies: as built, then as a light
    # randomizer's `color` last set it (not the product of the previous frame's temperature).
    light_colors: dict[str, tuple] = field(default_factory=dict)
    # The temperature a light entry set this frame (cleared by apply_frame): a `color` a later
    # entry sets is multiplied by it, as one drawn with it in one entry.
    light_kelvin: dict[str, float] = field(default_factory=dict)
    # Each mesh's (roughness, metallic) as its own material shows them when built: a texture
    # or pattern material reads them from the object, where nothing set them (materials.own_surface).
    own_surfaces: dict[str, tuple[float, float]] = field(default_factory=dict)
    rigged: set[str] = field(default_factory=set)  # cameras mounted on another camera (they follow it)
    # The own transform (location, rotation mode and values, scale) as built of each target of
    # an entry that may leave it unplaced in a frame (scatter, physics_settle): put back at each
    # frame's start (scene.randomize.apply_frame), so one not placed is where it was built.
    built_poses: dict[str, tuple] = field(default_factory=dict)
    # A sensor entry's shutter per camera it targets: motion blur is the scene's setting, so the
    # capture sets it for that camera's render only (others keep the scene's own).
    shutters: dict[str, float] = field(default_factory=dict)
    # The base scene's own objects (a .blend's or the open scene's), any type: the property
    # randomizer takes them all, a controller empty or a rig without meshes too.
    own_objects: set[str] = field(default_factory=set)
    temperature_unit: str = "K"  # of temperatures the thermal randomizer samples
    label_table: LabelTable = field(default_factory=LabelTable)
    render_cameras: list[str] = field(default_factory=list)  # rendered each frame, in this order
    facts: object = None  # scene.facts.SceneFacts, once read (extract_facts)
    colour_notes: list[str] = field(default_factory=list)  # a base scene's colour management the run does not use
    colour_match: dict = field(default_factory=dict)  # ... the [render] values that would reproduce it
    image_notes: list[str] = field(default_factory=list)  # its image size and film the run does not make
    image_match: dict = field(default_factory=dict)  # ... the [render] values that would make them
    unit_note: str = ""  # a base scene's unit scale other than 1
    engine_note: str = ""  # a base scene set to render with another engine than Cycles
    blur_note: str = ""  # a base scene's motion blur, which motion_vectors turns off
    fps_note: str = ""  # a base scene's frame rate other than the clips'
    range_note: str = ""  # clips showing scene frames outside a base scene's frame range
    step_note: str = ""  # clips of a base scene whose Frame Step is not 1
    layers_note: str = ""  # a base scene's view layers enabled for rendering besides the one recorded
    override_note: str = ""  # the rendered view layer's Material Override (every object one material)
    set_note: str = ""  # a base scene's background set: objects rendered, not labelled
    markers_note: str = ""  # a base scene's timeline markers bound to cameras (unbound for the run)
    instancing_note: str = ""  # collection instances whose copies cannot match Blender's
    cameras_note: str = ""  # a base scene's cameras left out by default (excluded, disabled for rendering)
    metaball_note: str = ""  # metaballs rendered as part of another of their family: own labels unused
    object_index_note: str = ""  # materials shading by Object Index, which the run sets to instance ids
    displacement_note: str = ""  # materials whose true displacement moves surfaces the geometry lacks
    adaptive_note: str = ""  # objects Cycles subdivides adaptively, whose subdivided surface the geometry lacks
    no_triangles_note: str = ""  # labelled point clouds and hair curves: silhouettes are their visible pixels
    hair_note: str = ""  # labelled meshes with particle hair: the silhouettes lack its hidden strands
    viewport_branch_note: str = ""  # node trees branching on Is Viewport: the labels read the viewport's branch
    lens_note: str = ""  # cameras whose depth of field the labels cannot leave out (a driven or linked switch)
    volume_note: str = ""  # volumes the data layer cannot leave out (driven or linked visibility, smoke domains)
    grease_pencil_note: str = ""  # Grease Pencil objects drawn over the image, in no pass the labels read
    freestyle_note: str = ""  # Freestyle lines drawn over the image, in no pass the labels read
    seen_lights_note: str = ""  # lights visible to the camera: drawn in the image, in no mask
    missing: list[str] = field(default_factory=list)  # files the scene's data reads that are not there
    failed_drivers: list[str] = field(default_factory=list)  # drivers Blender did not evaluate (Python)
    newer_note: str = ""  # .blend files read that a newer Blender saved
    # Model files' materials that show none of the colour / roughness / metallic the file sets
    # (no Principled BSDF renders): "asset: 'material', ..." per asset entry.
    unshown_looks: list[str] = field(default_factory=list)
    # Members of asset pools: object name -> {"file": its model file, "asset": (blend_assets) asset name}.
    pool_members: dict[str, dict] = field(default_factory=dict)

    def names(self, kind: str) -> list[str]:
        if kind == "placeables":
            return sorted({*self.entities, *self.lights})
        if kind == "any":
            own = (n for n in self.own_objects if n in self.scene.objects)
            return sorted({*self.entities, *self.lights, *self.cameras, *own})
        return sorted({"objects": self.entities, "lights": self.lights, "cameras": self.cameras}[kind])

    def match(self, kind: str, patterns: list[str] | dict[str, list[str]], moves: bool = False) -> list[str]:
        """Names of `kind` matching any glob pattern (sorted). `moves`: for a randomizer
        that places cameras, whose rigged cameras move with their rig, never on their own.
        Label targets ({type: [globs]}, labels_match): the labelled objects whose resolved
        labels match (lights and cameras carry none)."""
        if isinstance(patterns, dict):
            if kind not in ("objects", "placeables", "any"):
                return []
            return sorted(n for n, e in self.entities.items() if labels_match(e.labels, patterns))
        names = self.names(kind)
        if moves:
            names = [n for n in names if n not in self.rigged]
        return sorted(match_names(names, patterns))


GLOB_CHARS = "*?["


def match_names(names, patterns) -> set[str]:
    """The names matching any of the glob patterns. A pattern without a wildcard is the
    name itself, looked up, so a list of thousands of names (Use Selected on a crowd, a
    generated file) is matched in a time linear in them, not names x patterns."""
    literal = {p for p in patterns if not any(c in p for c in GLOB_CHARS)}
    globs = [p for p in patterns if p not in literal]
    found = {n for n in names if n in literal}
    return found | {n for n in names for p in globs if fnmatch.fnmatchcase(n, p)}


def look_at_rotation(location, target, azimuth: float | None = None) -> Euler:
    """Looking from `location` at `target`, level (+Z up, the image's right side
    horizontal). Near straight down or up Blender's to_track_quat loses the level (above
    89.95 degrees it turns the view by up to 180 degrees): there the level view is made by
    hand, in double precision. Straight down or up, the `azimuth` (radians) the camera was
    placed at gives the view the orbit reaches there (its right side a quarter turn
    counter-clockwise from that azimuth), so that the azimuth still turns it; without one,
    Blender's (+Y up)."""
    direction = Vector(target) - Vector(location)
    if direction.length == 0:
        return Euler((0.0, 0.0, 0.0))
    d = [float(x) for x in direction]
    length = math.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2)
    horizontal = math.hypot(d[0], d[1])
    f = [x / length for x in d]
    if horizontal > 1e-2 * length:  # of unit length: to_track_quat takes one shorter than 1e-4 for none (+Y)
        return Vector(f).to_track_quat("-Z", "Y").to_euler()
    if horizontal > 1e-12 * length:  # the level right side: forward x Z
        right = [f[1] / (horizontal / length), -f[0] / (horizontal / length), 0.0]
    elif azimuth is not None:  # straight down or up: the limit of the orbit at this azimuth
        right = [-math.sin(azimuth), math.cos(azimuth), 0.0]
    else:
        return direction.to_track_quat("-Z", "Y").to_euler()
    up = [right[1] * f[2] - right[2] * f[1], right[2] * f[0] - right[0] * f[2], right[0] * f[1] - right[1] * f[0]]
    return Matrix((right, up, [-x for x in f])).transposed().to_euler()


def turn(obj, rotation) -> None:
    """Set `obj`'s rotation as XYZ Euler angles (radians). An object in quaternion or
    axis-angle mode (a glTF import) is switched to XYZ first: Blender would ignore the
    Euler angles of an object in another mode."""
    obj.rotation_mode = "XYZ"
    obj.rotation_euler = rotation


def aim(obj, target, roll: float | None = None, azimuth: float | None = None) -> None:
    """Turn a camera or light (it looks along its -Z) towards `target`, +Y up; `roll`:
    then that many degrees about its viewing axis, counter-clockwise seen from behind;
    `azimuth` (radians): where it was placed around `target` (look_at_rotation)."""
    rotation = look_at_rotation(obj.location, target, azimuth)
    if roll is not None:
        rotation = (rotation.to_matrix() @ Matrix.Rotation(math.radians(roll), 3, "Z")).to_euler("XYZ")
    turn(obj, rotation)


def new_scene() -> bpy.types.Scene:
    """Empty the open file in place and return its one fresh scene.

    Every scene is replaced and the data it used is purged, but preferences, enabled
    add-ons, windows and running operators are kept: loading factory settings instead
    would, inside the Blender UI, disable this very add-on in the middle of its operator.
    """
    if bpy.app.background and bpy.data.filepath:
        # A file opened with `blender -b FILE -P`: an empty session instead, without a path,
        # so that Blender writes nothing beside that file (disk caches: scene.caches).
        bpy.ops.wm.read_homefile(use_empty=True)
    old = list(bpy.data.scenes)
    scene = bpy.data.scenes.new("sdg_scene")
    for wm in bpy.data.window_managers:
        for window in wm.windows:
            window.scene = scene
    for s in old:
        bpy.data.scenes.remove(s)
    bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=True, do_recursive=True)
    # An append keeps its file's Library: an earlier run's in this session (its .blend, an
    # asset's) would be listed as a file this run reads (audit/scene_files.json).
    for library in list(bpy.data.libraries):
        bpy.data.libraries.remove(library)
    forget_read_base()  # an earlier run's base .blend, read whole
    if bpy.app.background:
        # Headless, every run starts in Blender's default working colour space, whatever an
        # earlier run in this process read (the UI keeps the open file's: docs/parameters.md).
        default_working_space()
    scene.name = "Scene"
    return scene


def build_scene(config: Config, open_scene=None, quiet: bool = False, in_open_session: bool = False) -> BuiltScene:
    """The run's scene: a fresh one, the .blend of [scene] blend, or `open_scene` (the
    scene open in Blender, recorded in place: the caller restores it afterwards), with the
    parameter file's ground, assets, lights and cameras added to it. `quiet`: importers'
    console output is kept back (shown only in the error of an import that fails).
    `in_open_session` (the UI, which undo takes back afterwards): a .blend is appended,
    never read whole (load_blend_scene)."""
    base = config.base
    if open_scene is not None:
        scene = open_scene
        keep_caches_inside(scene.objects)
        world_nodes_as_in_5(scene.world)  # as a base .blend's (load_blend_scene): undone with the recording
    elif base.blend:
        scene = load_blend_scene(base.blend, base.scene, in_open_session=in_open_session)
    else:
        scene = new_scene()
    built = BuiltScene(scene, temperature_unit=config.thermal.unit)
    if open_scene is not None or base.blend:
        built.own_objects = {o.name for o in scene.objects}
        built.layers_note = prepare_base_scene(scene)
        built.override_note = " ".join(
            n
            for n in (
                material_override_note(scene),
                world_override_note(scene),
                environment_filter_note(scene),
                surfaces_filter_note(scene),
                alpha_threshold_note(scene, config.render),
            )
            if n
        )
    if open_scene is not None or base.blend:
        built.colour_notes, built.colour_match = colour_differences(scene, config.render)
        built.image_notes, built.image_match = image_differences(scene, config.render)
        built.unit_note = unit_note(scene)
        built.engine_note = engine_note(scene)
        built.blur_note = motion_blur_note(scene, config.annotators)
        if clip_scene_frames(config.sequence, config.randomizers):  # the run sets the scene's frame rate
            built.fps_note = frame_rate_note(scene, config.sequence.fps)
        if config.sequence.clip_length > 1:
            least, why = None, ""  # the first scene frame the run lets a clip start at
            if config.sequence.rigid_body:
                from ..sampling.physics import InitialVelocity

                least, why = 0, "sequence.rigid_body"
                if any(r.name == "initial_velocity" for r in config.randomizers):
                    least, why = InitialVelocity.PREROLL, "an initial_velocity randomizer"
            built.range_note = frame_range_note(
                scene, config.sequence.start_frame, config.sequence.clip_length, least, why
            )
            built.step_note = frame_step_note(scene)
        built.set_note = background_set_note(scene)
        built.markers_note = camera_markers_note(scene)
        base_cams, left_out = scene_cameras(scene, base.cameras)
        if left_out:
            built.cameras_note = (
                f"cameras of the base scene left out, as the artist left them out of renders: {', '.join(left_out)}; "
                f"recorded: {', '.join(repr(n) for n in base_cams) or 'none'}. To record one, name it in "
                "[scene] cameras"
            )
        # The scene's pixels as it renders them (Output > Format > Aspect X / Y): kept per
        # camera, since the capture sets each camera's own (square for [[cameras]] without fy).
        aspect = [scene.render.pixel_aspect_x, scene.render.pixel_aspect_y]
        for name in base_cams:
            built.cameras[name] = scene.objects[name]
            # The scene's size and pixels, whatever a camera of the file carries: the props are
            # the run's own, and a camera saved with them (the open scene saved after Preview
            # Frame stamped it) rendered at that stale aspect or size, not the scene's.
            for prop in (PIXEL_ASPECT_PROP, RESOLUTION_PROP):
                if prop in scene.objects[name]:
                    del scene.objects[name][prop]
            if aspect != [1.0, 1.0]:
                scene.objects[name][PIXEL_ASPECT_PROP] = aspect
            built.camera_starts[name] = tuple(scene.objects[name].matrix_world.translation)
            parent = scene.objects[name].parent
            if parent is not None and parent.type == "CAMERA":  # rigged: it follows its parent
                built.rigged.add(name)
        built.lights.update(scene_lights(scene, base.lights))
        check_free_names(scene, _added_names(config))
        check_infrared_properties(scene, base.blend)
        check_unique_names(scene, base.blend)
        check_scene_labels(base.blend)
        check_scene_skeletons(base.blend)
        check_scene_keypoint_names(base.blend)
    if config.world is not None:
        _world(scene, config.world.color, config.world.strength)
        set_thermal(scene.world, config.kelvin(config.world.temperature))
    if config.ground.enabled:
        _ground(scene, config)
    if config.assets:
        root = bpy.data.collections.new(ASSET_ROOT)
        root[BACKGROUND_PROPERTY] = True  # the tool's container: a label rule on it would label every asset
        files = any(spec.file or spec.pool_files for spec in config.assets)  # primitives take no names
        with object_names_set_aside() if files else contextlib.nullcontext(frozenset()) as taken:
            for i, spec in enumerate(config.assets):
                try:
                    unshown = _asset(root, spec, config, quiet, built.pool_members, taken)
                except AssetError as e:  # named by its entry in the file that declares it (a pool: each file)
                    file, where = config.asset_origin(i)
                    error = FieldError(join(where, e.key), e.value, e.expected, file)
                    error.more = [FieldError(join(where, m.key), m.value, m.expected, file) for m in e.more]
                    raise error from None
                if unshown:
                    built.unshown_looks.append(f"{spec.name}: {', '.join(repr(m) for m in unshown)}")
        # Into the scene once built: every importer call updates the view layer at a cost
        # growing with the objects in it, so assets in the scene as they came made reading
        # many model files quadratic (200 [[assets]] files: 9 s instead of 0.5).
        scene.collection.children.link(root)
    for spec in config.lights:
        for name in light_names(spec):  # count > 1: NAME_000, NAME_001, ...
            built.lights[name] = _light(scene, dataclasses.replace(spec, name=name))
    for spec in config.cameras:
        built.cameras[spec.name] = _camera(scene, spec, config.render)
        built.camera_starts[spec.name] = tuple(spec.location)
        if spec.look_at is not None:
            built.camera_targets[spec.name] = tuple(spec.look_at)
    for i, spec in enumerate(config.cameras):
        obj = built.cameras[spec.name]
        if spec.rig is not None:  # location and rotation are relative to the rig camera
            _check_rig(built, i, spec)
            obj.parent = built.cameras[spec.rig]
            built.rigged.add(spec.name)
        if spec.sensor == "nir" and spec.illuminator_power > 0:
            _illuminator(scene, obj, spec)
    built.light_colors = {name: tuple(obj.data.color) for name, obj in built.lights.items()}
    built.render_cameras = [n for n in built.cameras if n not in {c.name for c in config.cameras}]
    built.render_cameras += [c.name for c in config.cameras]
    if not built.render_cameras:
        why = "the base scene has no camera"
        if built.cameras_note:
            why = built.cameras_note
        elif scene.camera is not None and scene.camera.name not in scene.objects:
            # Blender renders from Scene > Camera wherever it is; the run records the scene's own.
            why = (
                f"the base scene has no camera of its own: its Scene > Camera, {scene.camera.name!r}, is an object of "
                "another scene (Blender renders from it; link it into this scene's collection, or add [[cameras]])"
            )
        raise FieldError("cameras", MISSING, f"at least one [[cameras]] entry: {why}")
    for name in built.render_cameras:
        check_projection(built.cameras[name], base.blend)
        check_camera_transform(built.cameras[name], base.blend)
        if "bop" in config.writers and built.cameras[name].data.type != "PERSP":  # the file's: refused by validation
            raise FieldError(
                "scene.blend",
                base.blend,
                "perspective cameras with the bop writer (BOP's cam_K is a pinhole camera): camera "
                f"{name!r} is orthographic; set its Type to Perspective (or leave it out with [scene] cameras)",
            )
    check_camera_folders(built.render_cameras, base.blend, [lidar.name for lidar in config.lidars])
    if "bop" in config.writers and base.blend:  # the parameter file's cameras are checked at validation
        check_bop_dataset_folder(config.writers["bop"].get("dataset", "bop"), built.render_cameras, base.blend)
    check_colour(scene, config.render)
    scene.camera = built.cameras[built.render_cameras[0]]
    if config.label_rules:
        apply_label_rules(scene, config.label_rules)
    changed = match_viewport_to_render(scene)  # the geometry read is the geometry rendered
    if changed:
        logging.getLogger("sdg").debug("viewport settings given their render values: %s", "; ".join(changed))
    render_view_layer(scene).update()
    built.missing = missing_files()
    built.newer_note = newer_files_note()
    built.failed_drivers = failed_drivers()  # known once evaluated (the update above)
    frames = clip_scene_frames(config.sequence, config.randomizers)
    # Before instances are made real.
    notes = (
        relative_collection_note(scene, clip=bool(frames)),
        linked_node_instancers_note(scene),
        camera_turned_instances_note(scene),
    )
    built.instancing_note = " ".join(n for n in notes if n)
    built.entities = discover_entities(scene, frames=frames)
    built.viewport_branch_note = viewport_branch_note(scene)  # the copies of instances made real too
    built.metaball_note = metaball_note(scene, built.entities)
    override = render_view_layer(scene).material_override
    built.object_index_note = object_index_note(built.entities, override)
    built.displacement_note = displacement_note(built.entities, override)
    built.adaptive_note = adaptive_note(scene, built.entities)
    built.no_triangles_note = no_triangles_note(scene, built.entities)
    built.hair_note = hair_note(scene, built.entities)
    built.lens_note = lens_note({n: built.cameras[n] for n in built.render_cameras})
    built.volume_note = volume_note(scene)
    built.grease_pencil_note = grease_pencil_note(scene)
    built.freestyle_note = freestyle_note(scene)
    built.seen_lights_note = seen_lights_note(scene)
    built.label_table = label_table(config.label_order(), built.entities.values())
    built.own_surfaces = {m.name: own_surface(m) for e in built.entities.values() for m in e.meshes}
    _drive_scene_materials(built, config)
    return built


def metaball_note(scene, entities: dict[str, Entity]) -> str:
    """Metaballs whose labels are lost: Blender renders the metaballs of one family (one
    name but for a `.NNN` number: blob, blob.001) as one surface, that of the family's first
    (blob), so another's own labels are in no mask and no box. A sentence naming them, or ''."""
    of = {m.name: e for e in entities.values() for m in e.meshes if m.type == "META"}
    if len(of) < 2:
        return ""
    render_view_layer(scene).update()  # instances were made real since
    depsgraph = render_view_layer(scene).depsgraph

    def shows(name) -> bool:
        evaluated = scene.objects[name].evaluated_get(depsgraph)
        try:
            return len(evaluated.to_mesh().vertices) > 0
        except RuntimeError:
            return False
        finally:
            evaluated.to_mesh_clear()

    families: dict[str, list[str]] = {}
    for name in sorted(of):
        families.setdefault(re.sub(r"\.[0-9]+$", "", name), []).append(name)
    lost = []
    for names in families.values():
        shown = [n for n in names if len(names) > 1 and shows(n)]
        for name in names:
            if shown and name not in shown and of[name].labels != of[shown[0]].labels:
                lost.append(f"{name!r} as part of {shown[0]!r}")
    if not lost:
        return ""
    return (
        f"metaballs whose labels are in no mask and no box: {', '.join(lost)}. Blender renders a family of "
        "metaballs (one name but for a .NNN number) as one surface, its first one's, with that one's labels and "
        "instance id; to label a metaball apart, give it a name of its own (blob_b rather than blob.001)"
    )


def branches_on_viewport(tree, seen=None) -> bool:
    """Whether a Geometry Nodes tree (or a node group in it) has an Is Viewport node."""
    seen = set() if seen is None else seen
    if tree is None or tree.as_pointer() in seen:
        return False
    seen.add(tree.as_pointer())
    for node in tree.nodes:
        if node.bl_idname == "GeometryNodeIsViewport":
            return True
        if getattr(node, "node_tree", None) is not None and branches_on_viewport(node.node_tree, seen):
            return True
    return False


def viewport_branch_note(scene) -> str:
    """Objects that render with a Geometry Nodes modifier whose tree reads Is Viewport: the
    run reads the scene's geometry from the view layer's depsgraph, where Is Viewport is
    true, while Cycles renders the tree's other branch. A sentence naming them, or ''."""
    colls, users = render_collections(scene), object_collections(scene)
    named = []
    for obj in sorted(scene.objects, key=lambda o: o.name):
        if obj.hide_render or not in_render_collections(obj, colls, users):
            continue
        trees = sorted(
            {
                m.node_group.name
                for m in getattr(obj, "modifiers", ())
                if m.type == "NODES" and m.show_render and branches_on_viewport(m.node_group)
            }
        )
        if trees:
            named.append(f"{obj.name!r} ({', '.join(map(repr, trees))})")
    if not named:
        return ""
    more = f", and {len(named) - 10} more" if len(named) > 10 else ""
    return (
        f"objects whose Geometry Nodes branch on Is Viewport: {', '.join(named[:10])}{more}. The run reads the scene's geometry "
        "as the viewport evaluates it (Is Viewport true), while Cycles renders the other branch: their loose and 3D "
        "boxes, amodal masks, occlusion and truncation ratios and object_pose's models follow the viewport's branch, "
        "and instances made real are the viewport's (which the images then show). For exact labels make both "
        "branches the same for the run (e.g. a boolean input in place of Is Viewport)"
    )


def reads_object_index(tree, seen=None) -> bool:
    """Whether a shader node tree (or a node group in it) uses an Object Info node's Object
    Index, the object's pass_index."""
    seen = set() if seen is None else seen
    if tree is None or tree.as_pointer() in seen:
        return False
    seen.add(tree.as_pointer())
    for node in tree.nodes:
        if node.bl_idname == "ShaderNodeObjectInfo" and node.outputs["Object Index"].is_linked:
            return True
        if getattr(node, "node_tree", None) is not None and reads_object_index(node.node_tree, seen):
            return True
    return False


def rendered_materials_where(entities: dict[str, Entity], test, override=None) -> str:
    """The materials the meshes render with (`override`: the rendered view layer's Material
    Override, which every mesh renders with instead of its own) for which test(material) is
    true, each with the objects using it: "'mat' (obj_a, obj_b), ..." sorted, or ''."""
    users: dict[str, list[str]] = {}
    found: dict[int, bool] = {}
    for e in entities.values():
        for m in e.meshes:
            for mat in [slot.material for slot in m.material_slots] if override is None else [override]:
                if mat is None:
                    continue
                if mat.as_pointer() not in found:
                    found[mat.as_pointer()] = test(mat)
                if found[mat.as_pointer()] and m.name not in users.setdefault(mat.name, []):
                    users[mat.name].append(m.name)
    return ", ".join(f"{name!r} ({', '.join(sorted(objs))})" for name, objs in sorted(users.items()) if objs)


def object_index_note(entities: dict[str, Entity], override=None) -> str:
    """Materials that shade by Object Index (an Object Info node: a colour per pass index):
    the run sets every rendered object's pass_index to its instance id (Cycles' Object
    Index pass, which the masks are made from), so these render with the ids, not the
    pass indices of the file, without a word. A sentence naming them and their objects, or ''."""
    named = rendered_materials_where(
        entities, lambda mat: uses_nodes(mat) and reads_object_index(mat.node_tree), override
    )
    if not named:
        return ""
    return (
        f"materials that shade by Object Index (Object Info node): {named}. The run sets each object's "
        "pass index to its instance id (the masks are made from Cycles' Object Index pass), so these render with "
        "those ids, not the pass indices in the file: their look differs from Blender's render (not reproduced)"
    )


def displaces(mat) -> bool:
    """Whether Cycles moves a material's surface at render time: its Displacement method is
    Displacement Only or Displacement and Bump (not Bump Only, Blender's default) and its
    Cycles material output's Displacement input is linked."""
    method = getattr(mat, "displacement_method", None) or getattr(
        getattr(mat, "cycles", None), "displacement_method", ""
    )
    if method not in ("DISPLACEMENT", "BOTH") or not uses_nodes(mat):
        return False
    out = mat.node_tree.get_output_node("CYCLES")
    return out is not None and out.inputs["Displacement"].is_linked


def displacement_note(entities: dict[str, Entity], override=None) -> str:
    """Materials with true displacement (Cycles moves the surface as it renders): the masks
    and depth show the displaced surface, while the labels computed from the geometry
    (silhouettes, loose and 3D boxes, occlusion, truncation, object_pose's model) read the
    evaluated mesh, which holds no shader displacement. `override`: the rendered view
    layer's Material Override. A sentence naming them and their objects, or ''."""
    named = rendered_materials_where(entities, displaces, override)
    if not named:
        return ""
    return (
        f"materials with true displacement (Settings > Displacement: Displacement Only or Displacement and Bump): "
        f"{named}. Cycles moves their surfaces as it renders, which the scene's geometry does not hold: "
        "masks, depth and normals show the displaced surface, while loose and 3D boxes, amodal masks, occlusion and "
        "truncation ratios and object_pose's models come from the undisplaced mesh (a surface "
        "displaced inwards reads as occluded with nothing in front of it). For exact labels use Bump Only, or a "
        "Displace modifier (geometry the labels read)"
    )


def subdivided_adaptively(obj, scene) -> bool:
    """Whether Cycles subdivides `obj` itself as it renders (Adaptive Subdivision): its last
    modifier is a Subdivision Surface enabled for renders with Adaptive Subdivision on (5.x:
    the modifier's switch; 4.x: the object's, with the Experimental feature set). Blender then
    leaves that modifier out of the evaluated mesh (a modifier after it, even one disabled in
    renders, turns adaptive subdivision off)."""
    mods = getattr(obj, "modifiers", ())
    if not mods or mods[-1].type != "SUBSURF" or not mods[-1].show_render:
        return False
    return adaptive_subdivision_on(obj, mods[-1], scene)


def adaptive_note(scene, entities: dict[str, Entity]) -> str:
    """Objects Cycles subdivides adaptively as it renders: the masks and depth show the
    subdivided surface, while the labels computed from the geometry read the evaluated mesh,
    the unsubdivided cage. A sentence naming them, or ''."""
    named = sorted({m.name for e in entities.values() for m in e.meshes if subdivided_adaptively(m, scene)})
    if not named:
        return ""
    return (
        f"objects Cycles subdivides adaptively (Subdivision Surface > Adaptive Subdivision): "
        f"{', '.join(map(repr, named))}. Cycles subdivides them as it renders, which the scene's geometry does not "
        "hold: masks, depth and normals show the subdivided surface, while loose and 3D boxes, amodal masks, occlusion "
        "and truncation ratios and object_pose's models come from the unsubdivided cage (a subdivided cube reads as "
        "occluded with nothing in front of it). For exact labels turn Adaptive Subdivision off (the modifier's Render "
        "levels are then used)"
    )


def hair_note(scene, entities: dict[str, Entity]) -> str:
    """Labelled objects whose mesh renders particle hair (a Hair particle system rendered as
    Path: fur, grass): Cycles renders the strands, which own pixels of the object's mask, but
    they have no triangles, so the silhouettes (amodal mask, loose box, occlusion, truncation)
    know the mesh and the visible strands alone, and the 3D box is the mesh's. A sentence
    naming them, or ''."""

    def renders_hair(m) -> bool:
        return any(
            mod.type == "PARTICLE_SYSTEM"
            and mod.show_render
            and mod.particle_system.settings.type == "HAIR"
            and mod.particle_system.settings.render_type == "PATH"
            and mod.particle_system.settings.count > 0
            for mod in getattr(m, "modifiers", ())
        )

    if not render_view_layer(scene).use_strand:  # View Layer > Filter > Hair off: no strand renders
        return ""
    named = sorted(n for n, e in entities.items() if e.labels and any(renders_hair(m) for m in e.meshes))
    if not named:
        return ""
    return (
        f"labelled objects with particle hair: {', '.join(map(repr, named))}. Their strands are in their masks and "
        "tight boxes (exact), but have no triangles: what of them is hidden or cut off by the image border is "
        "unknown, so their amodal masks, loose boxes and occlusion and truncation ratios count the mesh and the "
        "visible strands alone (a furball half behind a wall: occlusion 0.37 where its hairless mesh has 0.5, its "
        "loose box 24 px wide where unoccluded it is 32), and their 3D boxes are the meshes' without the hair"
    )


def no_triangles_note(scene, entities: dict[str, Entity]) -> str:
    """Labelled objects whose rendered geometry is point clouds or hair curves alone (a Point
    Cloud or Curves object, or a Geometry Nodes mesh object making points): they have no
    triangles to rasterize, so what of them is hidden or cut off by the image border is
    unknown (their amodal mask is their visible pixels). A sentence naming them, or ''."""

    def may_lack(m) -> bool:  # only these are evaluated: a plain mesh has its faces
        return m.type in ("POINTCLOUD", "CURVES") or (
            m.type == "MESH" and any(mod.type == "NODES" and mod.show_render for mod in m.modifiers)
        )

    todo = {n: e for n, e in entities.items() if e.labels and e.meshes and all(may_lack(m) for m in e.meshes)}
    if not todo:
        return ""
    render_view_layer(scene).update()  # instances were made real since
    depsgraph = render_view_layer(scene).depsgraph

    def faceless(m) -> bool:
        evaluated = m.evaluated_get(depsgraph)
        try:
            mesh = evaluated.to_mesh()
            return mesh is None or len(mesh.polygons) == 0
        except RuntimeError:
            return True
        finally:
            evaluated.to_mesh_clear()

    owners = set()  # objects rendering points or curves (their own data, or a Geometry Nodes component)
    for inst in depsgraph.object_instances:
        if inst.object.type in ("POINTCLOUD", "CURVES"):
            owner = inst.parent if inst.is_instance and inst.parent is not None else inst.object
            owners.add(owner.original.name)
    named = sorted(
        n for n, e in todo.items() if any(m.name in owners for m in e.meshes) and all(faceless(m) for m in e.meshes)
    )
    if not named:
        return ""
    return (
        f"labelled objects without triangles (point clouds, hair curves): {', '.join(map(repr, named))}. What of "
        "them is hidden or cut off by the image border is unknown, so their amodal masks are their visible pixels, "
        "their loose boxes their tight boxes and their occlusion and truncation ratios 0.0 (a point cloud half behind "
        "a wall reads as unoccluded, its loose box half as wide); their masks and tight boxes are exact. For exact "
        "labels give them surfaces (Geometry Nodes: Instance on Points of a sphere, then Realize Instances)"
    )


def lens_note(cameras: dict) -> str:
    """Cameras whose depth of field stays in the ids, depth and normals: the capture turns it
    off for the 1-sample data layer by a driver of its own on dof.use_dof, which a switch the
    .blend drives itself, or a camera linked from a library, cannot take (capture.render.
    sharp_data_layer). Named where the switch is on, or driven (it may turn on). A sentence, or ''."""
    from ..capture.render import _drivable  # capture.render imports this module

    named = []
    for name, cam in sorted(cameras.items()):
        data = cam.data
        if getattr(data, "dof", None) is None or _drivable(data, "dof.use_dof"):
            continue
        anim = data.animation_data
        driven = anim is not None and anim.drivers.find("dof.use_dof") is not None
        if driven or data.dof.use_dof:
            named.append(f"{name!r} ({'its switch is driven by the .blend' if driven else 'linked from a library'})")
    if not named:
        return ""
    return (
        f"cameras whose depth of field stays in the labels: {', '.join(named)}. The run leaves a camera's depth "
        "of field out of ids, depth and normals by a driver of its own on Depth of Field, which such a switch cannot "
        "take: with depth of field on, masks, boxes, depth and normals are those of the blurred image (pixels near "
        "out-of-focus edges change owner, depth mixes surfaces). For exact labels remove the .blend's driver (or "
        "make the camera local), or turn Depth of Field off"
    )


def volume_note(scene) -> str:
    """Volumes that stay in the ids and depth: the capture hides volume objects from the
    camera in the 1-sample data layer by a driver of its own on visible_camera (capture.render.
    sharp_data_layer), which an object linked from a library or whose visibility the .blend
    drives cannot take, and smoke simulations' domains are left out of it (a driver crashed
    the fluid solver). A pixel's one sample can stop in them. A sentence naming them, or ''."""
    from ..capture.render import _drivable, volume_objects  # capture.render imports this module

    named = []
    for obj in volume_objects(scene):
        if obj.visible_camera and not _drivable(obj, "visible_camera"):
            why = (
                "linked from a library" if obj.library is not None else "its camera visibility is driven by the .blend"
            )
            named.append((obj.name, why))
    for obj, domain in fluid_domains(scene.objects):
        if domain.domain_type == "GAS" and obj.visible_camera and not obj.hide_render:
            named.append((obj.name, "a smoke simulation's domain"))
    if not named:
        return ""
    return (
        f"volumes that stay in the labels: {', '.join(f'{n!r} ({why})' for n, why in sorted(named))}. The run hides "
        "volumes from the camera where ids, depth and normals are rendered by a driver on their Visibility > Camera, "
        "but not these (a driven or linked switch cannot take it; on a smoke domain it crashed Blender's fluid "
        "solver): a pixel's one sample may stop in them, leaving what is behind them BACKGROUND there at random, "
        "with no depth (docs/exactness.md, Volumes). For exact labels remove the .blend's driver (or make the "
        "object local)"
    )


def grease_pencil_note(scene) -> str:
    """Grease Pencil objects the render draws: Blender draws their strokes over Cycles' image
    with its own engine (whatever their Visibility > Camera), after the Object Index and Depth
    passes the labels are made from, so they own no pixel of any mask, box or depth, and what
    they cover is labelled as seen. A sentence naming them, or '' (none renders, or the view
    layer's Filter > Grease Pencil is off)."""
    layer = render_view_layer(scene)
    if not draws_grease_pencil(layer):
        return ""
    colls, users = render_collections(scene), object_collections(scene)
    named = sorted(
        o.name
        for o in scene.objects
        if o.type in GREASE_PENCIL_TYPES and not o.hide_render and in_render_collections(o, colls, users)
    )
    if not named:
        return ""
    return (
        f"Grease Pencil objects drawn over the image: {', '.join(map(repr, named))}. Blender draws their strokes "
        "over Cycles' render with its Grease Pencil engine, outside the Object Index and Depth passes the labels are "
        "made from: they are in no mask, box or depth (their labels in no file), and what their strokes cover is "
        "labelled as seen. For exact labels disable them in renders (or View Layer > Filter > Grease Pencil)"
    )


def freestyle_note(scene) -> str:
    """Freestyle line rendering (Render > Freestyle, on for the rendered view layer): Blender
    draws its lines over Cycles' image after the Object Index and Depth passes the labels are
    made from, so a line owns no pixel of any mask, box or depth, and what it covers (an
    object's outline, the floor beside it) is labelled as seen. A sentence saying so, or ''."""
    layer = render_view_layer(scene)
    if not (scene.render.use_freestyle and layer.use_freestyle):
        return ""
    settings = layer.freestyle_settings
    if settings.mode == "SCRIPT":
        drawn = [m.script.name for m in settings.modules if m.use and m.script is not None]
    else:  # the Parameter Editor's line sets
        drawn = [ls.name for ls in settings.linesets if ls.show_render]
    if not drawn:
        return ""
    return (
        f"Freestyle lines drawn over the image (Render > Freestyle, view layer {layer.name!r}: "
        f"{', '.join(map(repr, drawn))}). Blender draws them over Cycles' render, outside the Object Index and "
        "Depth passes the labels are made from: they are in no mask, box or depth, and what they cover is labelled "
        "as seen. For exact labels turn Freestyle off (Render Properties > Freestyle)"
    )


def seen_lights_note(scene) -> str:
    """Lights the camera sees (Object > Visibility > Camera on an area light, or a point or
    spot light with a radius): Cycles draws their shape in the image, but a light has no
    Object Index and is no surface of the Depth pass, so its pixels are labelled as what is
    behind it (a softbox in front of a box: 192 white pixels in the box's mask). A sentence
    naming them, or ''. A sun's disc is drawn in the sky, over nothing labelled."""
    colls, users = render_collections(scene), object_collections(scene)
    layer = render_view_layer(scene)
    named = sorted(
        o.name
        for o in scene.objects
        if o.type == "LIGHT"
        and o.visible_camera
        and not o.indirect_only_get(view_layer=layer)  # an Indirect Only collection's: not drawn
        and (o.data.type == "AREA" or (o.data.type in ("POINT", "SPOT") and o.data.shadow_soft_size > 0))
        and not o.hide_render
        and in_render_collections(o, colls, users)
    )
    if not named:
        return ""
    return (
        f"lights visible to the camera: {', '.join(map(repr, named))} (Object > Visibility > Camera). Cycles draws "
        "their shape in the image, but a light is in no mask, box or depth: what it covers is labelled as seen. "
        "For exact labels turn their Visibility > Camera off (it does not change how they light the scene)"
    )


def _drive_scene_materials(built: BuiltScene, config: Config) -> None:
    """A base scene's objects (a .blend's, the open scene's) that a `material` randomizer
    targets: their materials' inputs it draws are driven per object, as a model file's are
    (wire_file_materials; objects it does not target, sharing a material, keep its look).
    Was: the colour, roughness and metallic drawn for them were logged and never shown."""
    own = {n for a in config.assets for n in _object_names(a)} | {"ground"}
    # A primitive's (and the ground's) own material is driven whole; a model file's, by the
    # objects' names, as it was read (driven_inputs): by their labels, known only now.
    whole = {n for a in config.assets if a.primitive for n in _object_names(a)} | {"ground"}
    for name, entity in sorted(built.entities.items()):
        if name in whole:
            continue
        driven = set()
        for r, patterns in zip(config.randomizers, config.randomizer_targets):
            if r.name != "material":
                continue
            if isinstance(patterns, dict):
                chosen = labels_match(entity.labels, patterns)
            else:
                chosen = name not in own and any(fnmatch.fnmatchcase(name, p) for p in patterns)
            if chosen:
                driven |= set(r.params)
        inputs = [k for k in LOOK_INPUTS if k in driven]
        if inputs:
            unshown = wire_file_materials(entity.meshes, inputs, name)
            if unshown:
                built.unshown_looks.append(f"{name}: {', '.join(repr(m) for m in unshown)}")


def _added_names(config: Config) -> list[tuple[str, str, str, str]]:
    """(file, field, value given, object name) of every object the parameter file adds."""
    here = config.files[0].as_posix()
    names = [(here, f"cameras[{i}].name", c.name, c.name) for i, c in enumerate(config.cameras)]
    names += [(here, f"lights[{i}].name", x.name, n) for i, x in enumerate(config.lights) for n in light_names(x)]
    for i, a in enumerate(config.assets):
        file, where = config.asset_origin(i)
        try:
            made = [n for n in _object_names(a) if n != a.name]  # copies, and a pool's members
        except AssetError as e:
            raise FieldError(join(where, e.key), e.value, e.expected, file) from None
        names += [(file, join(where, "name"), a.name, n) for n in [a.name, *made]]
    if config.ground.enabled:
        names.append((here, "scene.ground", True, "ground"))
    return names


def label_table(declared: dict[str, list[str]], entities) -> LabelTable:
    """Declared order first, then labels found only in the scene, sorted."""
    values = {t: list(v) for t, v in declared.items()}
    found: dict[str, set[str]] = {}
    for e in entities:
        for t, v in e.labels.items():
            found.setdefault(t, set()).add(",".join(v))
    for t, vs in found.items():
        values.setdefault(t, []).extend(sorted(vs - set(values.get(t, []))))
    return LabelTable(values)


def clip_scene_frames(sequence, randomizers) -> range:
    """The scene frames a run sets (sequences: each clip's, and one on either side for
    Cycles' vector pass), or none: stills stay at the scene's current frame."""
    plays = sequence.clip_length > 1 or getattr(sequence, "rigid_body", False) or any(r.motion for r in randomizers)
    first = sequence.start_frame
    return range(first - 1, first + sequence.clip_length + 1) if plays else range(0)


MAX_ENTITIES = 32767 - FIRST_INSTANCE_ID + 1  # ids FIRST_INSTANCE_ID .. 32767, Blender's pass_index range


def discover_entities(scene, realize: bool = True, frames=()) -> dict[str, Entity]:
    """Find the scene's entities and give each an instance id (the pass_index of its parts).

    First every copy of instanced geometry is made a real object (scene.instancing:
    collection instances, Geometry Nodes, particles, vertex/face instancing), unless
    `realize` is False; with `frames` (clip_scene_frames), also those Blender renders at
    one of those scene frames only. Then an entity root is
      - a top-level object,
      - a copy of instanced geometry (a collection-instance object, or a realized instance),
      - an object whose resolved labels differ from its parent's (a labelled part is its
        own instance, as Replicator maps each mesh to its nearest labelled prim).
    Every object that renders geometry (mesh, curve, text, ...; in a collection enabled
    for rendering) belongs to the nearest root at or above it. A top-level object with
    geometry anywhere below it stays an entity even if all of it went to nearer roots
    (randomizers address it by name). Ids are assigned in sorted root-name order, so they
    are the same in every process. Calling this again re-realizes instances (replacing the
    copies made before): earlier Entity objects are then stale.
    """
    if realize:
        realize_instances(scene, frames)
    parents, users = collection_parents(scene), object_collections(scene)
    colls = render_collections(scene)
    labels: dict[str, dict] = {}

    def labels_of(obj) -> dict:
        if obj.name not in labels:
            labels[obj.name] = resolved_labels(obj, parents, users)
        return labels[obj.name]

    def is_root(obj) -> bool:
        return obj.parent is None or is_instance_copy(obj) or labels_of(obj) != labels_of(obj.parent)

    members: dict[str, list] = {}
    roots: dict[str, object] = {}
    for obj in sorted(scene.objects, key=lambda o: o.name):
        if obj.type not in GEOMETRY_TYPES or not in_render_collections(obj, colls, users):
            continue
        root = obj
        while not is_root(root):
            root = root.parent
        roots[root.name] = root
        members.setdefault(root.name, []).append(obj)
        top = root
        while top.parent is not None:
            top = top.parent
        roots.setdefault(top.name, top)
    if len(roots) > MAX_ENTITIES:
        raise ValueError(
            f"the scene has {len(roots)} entities (objects and copies of instanced geometry, each an "
            "instance id of its own: docs/exactness.md, Entities), and Blender's Object Index pass "
            f"(pass_index, at most 32767; ids 0 and 1 are the background and unlabelled) tells at most "
            f"{MAX_ENTITIES} apart: make fewer instances (Geometry Nodes, particles, collection instances), "
            "or parent parts that need no id of their own to one object"
        )
    entities: dict[str, Entity] = {}
    for next_id, name in enumerate(sorted(roots), start=FIRST_INSTANCE_ID):
        root, meshes = roots[name], members.get(name, [])
        for m in meshes:
            m.pass_index = next_id
        entities[name] = Entity(name, root, meshes, next_id, object_path(root, parents, users, colls), labels_of(root))
    return entities


def _world(scene, color, strength) -> None:
    world = bpy.data.worlds.new("sdg_world")
    scene.world = world
    enable_nodes(world)
    bg = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")
    bg.inputs["Color"].default_value = (*color[:3], 1.0)
    bg.inputs["Strength"].default_value = strength


def world_background(world):
    """The Background node of `world` the world randomizers set (the one its active World
    Output shows, else its first), or None: a
    world without one (an Emission or a node group's shader; 4.x nodes off)."""
    if world is None or not uses_nodes(world):
        return None
    nodes = world.node_tree.nodes
    for out in nodes:  # the one the world shows first: a tree's first may feed no output
        if out.type == "OUTPUT_WORLD" and out.is_active_output and out.target in ("ALL", "CYCLES"):
            shown = [link.from_node for link in out.inputs["Surface"].links if link.from_node.type == "BACKGROUND"]
            if shown:
                return shown[0]
    return next((n for n in nodes if n.type == "BACKGROUND"), None)


def scene_background(scene):
    """(the world's node tree, its Background node), a world made first for a base scene
    that has none; a world without a Background node is refused before a run
    (scene.appearance's target check), so one is there."""
    if scene.world is None:  # a base scene without a world: the randomizer makes one
        _world(scene, (0.05, 0.05, 0.05), 1.0)
    return scene.world.node_tree, world_background(scene.world)


def set_world(scene, color=None, strength=None) -> None:
    _tree, bg = scene_background(scene)  # (none only where neither is set: a temperature alone)
    if color is not None:
        bg.inputs["Color"].default_value = (*list(color)[:3], 1.0)
    if strength is not None:
        bg.inputs["Strength"].default_value = float(strength)


def _ground(scene, config: Config) -> None:
    g = config.ground
    mesh = primitive_mesh("plane", "ground", g.size, smooth=False)
    obj = bpy.data.objects.new("ground", mesh)
    obj[BACKGROUND_PROPERTY] = True  # unlabelled on purpose: no "without labels" warning
    scene.collection.objects.link(obj)
    mat = per_object_material("sdg_ground")
    mesh.materials.append(mat)
    set_object_look(obj, g.color, 0.8, 0.0)
    set_thermal(obj, config.kelvin(g.temperature), g.emissivity, g.nir_reflectance)
    if g.labels:
        set_labels(obj, g.labels)


@contextlib.contextmanager
def object_names_set_aside():
    """The scene's objects (the base scene's, the ground) under other names while the model
    files are read, given back after; yields the names set aside. An importer's object
    whose name was taken got another (a glb's "Cube" beside a base scene's "Cube" was
    "Cube.001"), so `objects = "Cube"` matched nothing and the part was not named as in
    its file (label rules by part name missed it)."""
    aside = [(o, o.name) for o in bpy.data.objects if o.library is None]
    for i, (o, _) in enumerate(aside):
        o.name = f"sdg_set_aside_{i:06d}"
    try:
        yield frozenset(name for _, name in aside)
    finally:
        for o, name in aside:
            o.name = name


def _asset(
    root_collection, spec: AssetSpec, config: Config, quiet: bool = False, members=None, taken=frozenset()
) -> list[str]:
    """Build an asset entry; returns its file's materials that show none of the inputs the
    parameter file drives (wire_file_materials). `members`: a pool's members are recorded
    there (BuiltScene.pool_members); `taken`: the scene's object names (set aside while the
    files are read: object_names_set_aside)."""
    coll = bpy.data.collections.new(spec.name)
    root_collection.children.link(coll)
    if spec.distractor:
        coll[BACKGROUND_PROPERTY] = True  # unlabelled on purpose: no label rule labels it
    if spec.pool_files:
        return _pool(coll, spec, driven_inputs(spec, config), quiet, config.kelvin(spec.temperature), members, taken)
    if spec.labels:
        set_labels(coll, spec.labels)  # every copy inherits them
    file_points = ({}, [])  # keypoint empties of an asset file (scene/keypoints.py)
    unshown: list[str] = []
    if spec.primitive:
        mesh = primitive_mesh(spec.primitive, spec.name, spec.size)
        mesh.materials.append(per_object_material(f"sdg_{spec.name}"))
        sources = [bpy.data.objects.new(f"{spec.name}_src", mesh)]
    else:
        imported = import_file(Path(spec.file), spec.objects, quiet)
        sources, base_names = [o for o, _ in imported], [n for _, n in imported]
        # Labels every part had in its file belong to the model as a whole (one instance).
        shared = _shared_labels(sources)
        file_points = stashed_keypoints(sources)
        unshown = wire_file_materials(sources, driven_inputs(spec, config), spec.name)
    for i in range(spec.count):
        name = spec.name if spec.count == 1 else f"{spec.name}_{i:03d}"
        if spec.primitive:
            root = sources[0].copy() if i else sources[0]
            root.name = name
            coll.objects.link(root)
            parts = [root]
        else:
            parts = []
            for src, base in zip(sources, base_names):
                part = src.copy() if i else src  # copies share mesh data (linked duplicates)
                part.name = f"{name}/{base}"
                part[NAMED_PART] = True  # its prim path: .../NAME/BASE
                parts.append(part)
            # The root after its parts took their names: a mesh named as the asset in its
            # file (mug.glb holding "mug") no longer holds the name the root is given.
            root = bpy.data.objects.new(name, None)
            coll.objects.link(root)
            if shared:
                set_labels(root, shared)
            for part in parts:
                coll.objects.link(part)
                part.parent = root
        if spec.distractor:
            for o in {root, *parts}:
                o[BACKGROUND_PROPERTY] = True
        root.location = spec.location
        root.rotation_euler = [math.radians(a) for a in spec.rotation]
        root.scale = (spec.scale,) * 3
        for o in (root, *parts):  # on the parts too: the file's own sdg_ properties there give way
            set_thermal(o, config.kelvin(spec.temperature), spec.emissivity, spec.nir_reflectance)
        points, skeleton = file_points
        points = {**points, **spec.keypoints}  # the parameter file's win over the file's
        if points:
            pairs = spec.skeleton or [p for p in skeleton if p[0] in points and p[1] in points]
            add_keypoints(root, points, pairs, collections=[coll])  # the one root is in
        drive = () if spec.primitive else spec.look  # a primitive's own material is driven whole
        for part in parts:
            set_object_look(part, spec.color, spec.roughness, spec.metallic, drive=drive)
    return unshown


def driven_inputs(spec: AssetSpec, config: Config) -> list[str]:
    """The inputs of a model file's materials the parameter file sets: the entry's own
    `color` / `roughness` / `metallic`, and those a `material` randomizer draws for one of its
    objects. The others keep what the file has (values, textures)."""
    names = _object_names(spec)
    driven = set(spec.look)
    for r, patterns in zip(config.randomizers, config.randomizer_targets):
        if isinstance(patterns, dict):  # label targets: once the labels are known (_drive_scene_materials)
            continue
        if r.name == "material" and any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns):
            driven |= set(r.params)
    return [k for k in LOOK_INPUTS if k in driven]


def _shared_labels(parts) -> dict:
    """Labels all parts carry alike, moved from the parts to the model's root (else kept)."""
    own = [own_labels(p) for p in parts]
    if not own[0] or any(o != own[0] for o in own):
        return {}
    for p in parts:
        del p[LABEL_PROPERTY]
    return own[0]


_MARKED: dict[tuple, list[tuple[str, str]]] = {}  # (path, size, mtime, glob) -> marked_assets()


def marked_assets(path: Path, pattern: str) -> list[tuple[str, str]]:
    """The objects and collections of a .blend marked as assets (Asset Browser) whose names
    match `pattern`: [("objects", name), ...] sorted by name, then [("collections", name), ...].
    Read from the file's index (nothing is loaded); cached while the file is unchanged."""
    try:
        st = path.stat()
    except OSError:
        raise AssetError(path, "an existing file (not found, or not a regular file)") from None
    key = (path.as_posix(), st.st_size, st.st_mtime_ns, pattern)
    if key not in _MARKED:
        try:
            with bpy.data.libraries.load(str(path), assets_only=True) as (src, _dst):
                found = {kind: sorted(getattr(src, kind)) for kind in ("objects", "collections")}
        except (OSError, RuntimeError, ValueError) as e:
            reason = " ".join(str(e).split()) or type(e).__name__
            raise AssetError(path, f"a .blend Blender can read; it cannot ({reason}){newer_blend_note(path)}") from None
        _MARKED[key] = [(k, n) for k in ("objects", "collections") for n in found[k] if fnmatch.fnmatchcase(n, pattern)]
        if not _MARKED[key]:
            every = [n for k in ("objects", "collections") for n in found[k]]
            listed = (
                f"its marked objects and collections: {', '.join(map(repr, every[:20]))}" if every else "it marks none"
            )
            raise AssetError(
                path,
                f"asset names matching it: objects or collections of {path.as_posix()} marked as assets "
                f"(Asset Browser); none matches ({listed})",
                "blend_assets",
                pattern,
            )
    return _MARKED[key]


def _object_names(spec: AssetSpec) -> list[str]:
    """object_names of an entry, a `blend_assets` pool's members counted in its files (their
    names held to Blender's limit, as validation holds other entries' copies)."""
    if not spec.blend_assets:
        return object_names(spec)
    names = object_names(spec, sum(len(marked_assets(Path(f), spec.blend_assets)) for f in spec.pool_files))
    longest = max(names, key=lambda n: len(n.encode()))
    if len(longest.encode()) > MAX_NAME_BYTES:
        room = MAX_NAME_BYTES - (len(longest.encode()) - len(spec.name.encode()))
        raise AssetError(
            Path(spec.pool_files[0]),
            f"a name of at most {room} bytes for its {len(names)} members {names[0]!r} .. {names[-1]!r}: Blender "
            f"4.2 cuts an object's name at {MAX_NAME_BYTES} bytes, the limit of names here",
            key="name",
            value=spec.name,
        )
    return names


def _asset_groups(path: Path, imported: list, marked: list, membership: dict) -> list[tuple]:
    """A .blend's imported meshes as its marked assets: [(asset name, [(object, name in
    file)], its origin in the file)]. An object asset is that object (or the meshes its
    collection instance made), placed with its origin at the member's; a collection asset is
    its objects, its instance offset at the member's origin (as Blender instances it).
    Assets without a mesh (a light, a camera) are left out; meshes of no asset are removed."""
    groups, used = [], set()
    for kind, asset in marked:
        if kind == "objects":
            parts = [(o, n) for o, n in imported if n == asset or n.startswith(asset + "/")]
            origin = membership["objects"].get(asset)
        else:
            inside, origin = membership["collections"].get(asset, (set(), None))
            parts = [(o, n) for o, n in imported if n.split("/")[0] in inside]
        if not parts:
            continue
        own = []
        for o, n in parts:
            copy = o.copy() if o in used else o  # in two assets: the second has its own (same mesh data)
            used.add(o)
            if origin is not None:
                copy.matrix_world = Matrix.Translation(-origin) @ copy.matrix_world
            own.append((copy, n))
        groups.append((asset, own))
    for o, _n in imported:
        if o not in used:
            bpy.data.objects.remove(o)
    if not groups:
        raise AssetError(path, "marked assets with a mesh; those blend_assets matches hold none (lights, cameras?)")
    return groups


def _pool(
    coll,
    spec: AssetSpec,
    driven: list[str],
    quiet: bool = False,
    kelvin: float | None = None,
    record=None,
    taken=frozenset(),
) -> list[str]:
    """An asset pool: every file loaded once (in path order), each its own object; copies
    (count > 1) are linked duplicates. Which members show in a frame is the `pool`
    randomizer's choice (k of them, without replacement).

    The members join `coll` once all files are read: each importer call updates the view
    layer, which costs as much as the objects in it, so linking each member as it came made
    a pool's loading quadratic in its files (200 files: 10 s instead of 0.3). `kelvin`: the
    entry's temperature in kelvin (its emissivity and NIR reflectance are the spec's).

    `blend_assets`: each marked asset of a .blend matching it is a member (in the file's
    order, marked_assets), recorded in `record` (object name -> file and asset)."""
    record = {} if record is None else record
    index = 0
    members = []  # linked into coll after the last import, in this order
    unshown: list[str] = []  # materials that show none of `driven`
    failed: list[AssetError] = []  # every file that cannot be imported, reported together
    for file, file_labels in zip(spec.pool_files, spec.pool_labels):
        try:
            if spec.blend_assets:
                marked, membership = marked_assets(Path(file), spec.blend_assets), {}
                imported = import_file(Path(file), spec.objects, quiet, membership)
                groups = _asset_groups(Path(file), imported, marked, membership)
            else:
                groups = [(None, import_file(Path(file), spec.objects, quiet))]
        except AssetError as e:  # the pool's member is named by its path (the entry names a folder)
            e.key = "files" if e.key == "file" else e.key
            failed.append(e)
            continue
        for asset, imported in groups:
            labels = {k: list(v) for k, v in file_labels.items()}
            if spec.label_from == "asset" and not spec.distractor:
                labels["class"] = [asset]
            index = _members(
                members, spec, index, imported, labels, driven, unshown, kelvin, file, asset, record, taken
            )
        if index > MAX_POOL_FILES:  # what validation checks of files, for a library's assets
            expected = f"at most {MAX_POOL_FILES} members in all (count copies of each asset); {index} by {file}"
            raise AssetError(Path(file), expected, "blend_assets", spec.blend_assets)
    if failed:
        failed[0].more = failed[1:]
        raise failed[0]
    for obj in members:
        coll.objects.link(obj)
    return unshown


def _members(members, spec, index, imported, labels, driven, unshown, kelvin, file, asset, record, taken) -> int:
    """One model of a pool (a file, or a marked asset of a .blend): its `count` members
    appended to `members` (roots and parts), NAME_{index:03d} on; returns the next index."""
    sources, base_names = [o for o, _ in imported], [n for _, n in imported]
    labels = {**labels, **_shared_labels(sources)}  # what the file's own labels say wins
    unshown += [m for m in wire_file_materials(sources, driven, f"{spec.name}_{index:03d}") if m not in unshown]
    for copy in range(spec.count):
        name = f"{spec.name}_{index:03d}"
        index += 1
        parts = []
        for src, base in zip(sources, base_names):
            part = src.copy() if copy else src  # copies share mesh data (linked duplicates)
            part.name = f"{name}/{base}"
            part[NAMED_PART] = True
            parts.append(part)
        root = bpy.data.objects.new(name, None)  # after its parts took their names (_asset)
        members.append(root)
        if spec.blend_assets and (
            root.name != name or name in taken
        ):  # taken: renamed (members counted only now, not validated)
            raise AssetError(Path(file), f"a pool whose member names are free: {name!r} is taken", "name", spec.name)
        root["sdg_pool_file"] = Path(file).name
        record[name] = {"file": Path(file).as_posix()}
        if asset is not None:
            root["sdg_pool_asset"] = asset
            record[name]["asset"] = asset
        if labels:
            set_labels(root, labels)
        for part in parts:
            members.append(part)
            part.parent = root
            if spec.distractor:
                part[BACKGROUND_PROPERTY] = True
            set_object_look(part, spec.color, spec.roughness, spec.metallic, drive=spec.look)
        if spec.distractor:
            root[BACKGROUND_PROPERTY] = True
        root.location = spec.location
        root.rotation_euler = [math.radians(a) for a in spec.rotation]
        root.scale = (spec.scale,) * 3
        # What thermal / NIR cameras read, as for a file entry (was: left out, ambient read).
        for o in (root, *parts):  # on the parts too: the file's own sdg_ properties there give way
            set_thermal(o, kelvin, spec.emissivity, spec.nir_reflectance)
    return index


class AssetError(ValueError):
    """An asset file that cannot be imported: its path and the importer's reason; `key`,
    `value` and `expected` say it as a problem of the asset's entry (FieldError)."""

    def __init__(self, path: Path, expected: str, key: str = "file", value: object = None):
        self.key, self.expected = key, expected
        self.more: list[AssetError] = []  # a pool's other files that cannot be imported
        self.value = path.as_posix() if value is None else value
        super().__init__(f"{path.as_posix()}: expected {expected}")


def import_file(path: Path, pattern: str = "*", quiet: bool = False, membership: dict | None = None) -> list[tuple]:
    """Import a model file; return its mesh objects matching `pattern`, parented to nothing,
    each with the name it has in the file (Blender renames one whose name is taken).

    The objects are moved into no collection (callers link them); non-mesh objects of the
    file (cameras, lights, empties) are removed, mesh world transforms kept. From a .blend,
    each mesh keeps the labels it had there, inherited from its collections and parent
    objects included (stored as its own labels, since those collections and parents go).
    `quiet`: what the importer prints (its log lines, C and Python) is captured for the
    import's duration and shown only if the import fails, in the AssetError.
    `membership` (a .blend): filled with where its objects were and what its collections
    held, by their names in the file (see _import), for _asset_groups.
    """
    if not path.is_file():
        raise AssetError(path, "an existing file (not found, or not a regular file)")
    before = set(bpy.data.objects)
    ext = path.suffix.lower()
    with console_captured(quiet) as printed:
        try:
            # Some importers print their own traceback before failing: the reason is reported below.
            with contextlib.redirect_stderr(io.StringIO()):
                new, names, source_labels = _import(path, ext, pattern, before, membership)
        except (RuntimeError, OSError, ValueError) as e:  # what Blender's importers raise
            failure = e
        else:
            failure = None
    if failure is not None:
        reason = " ".join(line.removeprefix("Error: ").strip() for line in str(failure).splitlines() if line.strip())
        expected = f"a model Blender can import; it cannot ({reason or type(failure).__name__})"
        if ext == ".blend":
            expected += newer_blend_note(path)
        raise AssetError(path, expected + _importer_output(printed.text)) from None
    found = [o for o in new if o.type == "MESH" and fnmatch.fnmatchcase(names.get(o.name, ""), pattern)]
    meshes = [o for o in found if len(o.data.vertices) > 0]
    if not any(len(o.data.polygons) for o in meshes):  # points or lines only: nothing renders
        meshes = []
    if not meshes:
        for o in new:
            bpy.data.objects.remove(o)
        if found:
            raise AssetError(
                path,
                "a model with faces; its meshes are empty (no faces, so nothing to render): a damaged or empty file?",
            )
        if pattern == "*":
            raise AssetError(path, "a model holding a mesh object; it holds none (a damaged file, or not a model?)")
        raise AssetError(path, f"a pattern matching a mesh object of {path.as_posix()}; none does", "objects", pattern)
    # Custom properties the sensors read (sdg_temperature, sdg_reflectance...), named as in the
    # file, on the meshes and the parents they lose here (whose thermal / NIR ones pass to them).
    ancestors = []
    for o in meshes:
        parent = o.parent
        while parent is not None:
            if parent not in meshes and parent not in ancestors:
                ancestors.append(parent)
            parent = parent.parent
    problem = sensor_property_problem(
        [
            (kind, owner, names.get(owner.name, owner.name) if kind == "object" else owner.name)
            for kind, owner, _ in property_owners([*meshes, *ancestors])
        ]  # fmt: skip
    )
    if problem:
        raise AssetError(path, problem)
    inherit_infrared_properties(meshes)
    keep_shapes_of_removed_objects(meshes, new)
    worlds = [file_world(o) for o in meshes]  # before any parent is cleared
    for o, world in zip(meshes, worlds):
        o.parent = None
        o.matrix_world = world
        for c in list(o.users_collection):
            c.objects.unlink(o)
        if o.name in source_labels:
            labels = source_labels[o.name]
            if labels:
                set_labels(o, labels)
            elif LABEL_PROPERTY in o:
                del o[LABEL_PROPERTY]
    problem = stash_keypoints(meshes, new)  # keypoint empties of the file survive as data on its meshes
    if problem:
        raise AssetError(path, problem)
    result = [(o, names[o.name]) for o in meshes]
    for o in new:
        if o not in meshes:
            bpy.data.objects.remove(o)
    return result


def _shaped_by(obj, removed: set) -> bool:
    """Whether `obj`'s shape reads one of the `removed` objects: a modifier's object (an
    Armature's rig, a Lattice, an Array's offset or a Mirror's empty, a Hook, a Boolean's
    cutter, a Geometry Nodes object input) or a deforming parent (parent type Armature,
    Lattice)."""
    if obj.parent in removed and obj.parent_type in ("ARMATURE", "LATTICE"):
        return True
    for mod in obj.modifiers:
        for prop in mod.bl_rna.properties:
            if prop.type == "POINTER" and getattr(mod, prop.identifier, None) in removed:
                return True
        if mod.type == "NODES" and any(
            mod[key] in removed for key in mod.keys() if isinstance(mod[key], bpy.types.Object)
        ):
            return True
    return False


def keep_shapes_of_removed_objects(meshes, imported) -> None:
    """A kept mesh shaped by an object of its file the import removes (an armature posing
    it, a lattice, an Array's offset empty, ...) keeps the shape the file shows: its
    evaluated mesh (modifiers applied) becomes its own data. Without this the modifier lost
    its object and the mesh rendered in its rest shape (a posed figure upright, an array's
    copies on one spot)."""
    kept = set(meshes)
    removed = {o for o in imported if o not in kept}
    shaped = [o for o in meshes if removed and _shaped_by(o, removed)]
    if not shaped:
        return
    temp = bpy.data.scenes.new("sdg_import")
    try:
        for o in imported:
            temp.collection.objects.link(o)
        for o in shaped:  # the shape kept is the one rendered (modifiers shown, their levels)
            for mod in o.modifiers:
                mod.show_viewport = mod.show_render
                if hasattr(mod, "render_levels"):
                    mod.levels = mod.render_levels
        temp.view_layers[0].update()
        depsgraph = temp.view_layers[0].depsgraph
        baked = [bpy.data.meshes.new_from_object(o.evaluated_get(depsgraph), depsgraph=depsgraph) for o in shaped]
    finally:
        bpy.data.scenes.remove(temp)
    for o, mesh in zip(shaped, baked):
        o.modifiers.clear()
        o.data = mesh


def inherit_infrared_properties(meshes) -> None:
    """Give each mesh the thermal / NIR custom properties (sdg_temperature, sdg_emissivity,
    sdg_nir_reflectance) it reads through its parents in a model file, before the import
    takes those parents away (the capture looks on the object, then its parents); its own
    win, then the nearest parent's."""
    for o in meshes:
        for prop in INFRARED_RANGES:
            parent = o.parent
            while parent is not None and prop not in parent:
                parent = parent.parent
            if prop not in o and parent is not None:
                o[prop] = parent[prop]


def _import(path: Path, ext: str, pattern: str, before: set, membership: dict | None = None) -> tuple[list, dict, dict]:
    """Run the importer for `ext`: (the objects it added, {name now: name in the file},
    {name now: labels resolved in the file}, for a .blend). `membership` (a .blend): filled
    with "objects": {name in file: world location} and "collections": {name in file: (names
    in file of all its objects, its instance offset)}."""
    if ext == ".blend":
        colls_before = set(bpy.data.collections)
        with bpy.data.libraries.load(str(path), link=False) as (src, dst):
            dst.objects = [n for n in src.objects if fnmatch.fnmatchcase(n, pattern)]
            dst.collections = list(src.collections)  # for the labels objects inherit from them
            requested, requested_colls = list(dst.objects), list(dst.collections)
        names = {o.name: n for o, n in zip(dst.objects, requested) if o is not None}
        new = [o for o in bpy.data.objects if o not in before]
        new_colls = [c for c in bpy.data.collections if c not in colls_before]
        labels = _source_labels(new, new_colls)
        keep_caches_inside(new)  # before anything evaluates them
        _evaluate_transforms(new)
        if membership is not None:
            membership["objects"] = {names.get(o.name, o.name): o.matrix_world.translation.copy() for o in new}
            membership["collections"] = {
                n: ({names.get(o.name, o.name) for o in c.all_objects}, c.instance_offset.copy())
                for c, n in zip(dst.collections, requested_colls)
                if c is not None
            }
        hidden = set() if membership is not None else _disabled_in_renders(new, new_colls)
        new = _realize_collection_instances(new, names, labels)
        for o in new:
            if o.name in hidden:  # kept (a boolean's cutter, a modifier's input), not rendered
                o.hide_render = True
        for c in new_colls:
            bpy.data.collections.remove(c)
        return new, names, labels
    importers = {
        ".glb": lambda: bpy.ops.import_scene.gltf(filepath=str(path)),
        ".gltf": lambda: bpy.ops.import_scene.gltf(filepath=str(path)),
        ".obj": lambda: bpy.ops.wm.obj_import(filepath=str(path)),
        ".fbx": lambda: bpy.ops.import_scene.fbx(filepath=str(path)),
        ".ply": lambda: bpy.ops.wm.ply_import(filepath=str(path)),
        ".stl": lambda: bpy.ops.wm.stl_import(filepath=str(path)),
        **dict.fromkeys((".usd", ".usda", ".usdc", ".usdz"), lambda: bpy.ops.wm.usd_import(filepath=str(path))),
    }
    colls_before = set(bpy.data.collections)
    importers[ext]()
    new = [o for o in bpy.data.objects if o not in before]
    names = {o.name: o.name for o in new}
    # USD's instanceable prims come as collection instances: their meshes where they show.
    new = _realize_collection_instances(new, names, {})
    # What the importer made but the file does not render (glTF's bone shapes, in its
    # collection glTF_not_exported, disabled in renders) stays hidden from renders.
    hidden = _disabled_in_renders(new, [c for c in bpy.data.collections if c not in colls_before])
    for o in new:
        if o.name in hidden:
            o.hide_render = True
    return new, names, {}


def _disabled_in_renders(objects, collections) -> set[str]:
    """Names of the `objects` a .blend does not render because every collection of the file
    holding them is disabled in renders (its own Disable in Renders, or a parent's): the
    collections go with the import, the objects stay, so they would render."""
    parents: dict[str, list] = {}
    for c in collections:
        for child in c.children:
            parents.setdefault(child.name, []).append(c)
    shown: dict[str, bool] = {}

    def is_shown(c) -> bool:
        if c.name not in shown:
            shown[c.name] = False  # a loop of collections counts as hidden
            shown[c.name] = not c.hide_render and (c.name not in parents or any(is_shown(p) for p in parents[c.name]))
        return shown[c.name]

    holders: dict[str, list] = {}
    for c in collections:
        for o in c.objects:
            holders.setdefault(o.name, []).append(c)
    return {o.name for o in objects if o.name in holders and not any(is_shown(c) for c in holders[o.name])}


IMPORTER_LINES_SHOWN = 40  # the end of what a failed importer printed (its last words)


def _importer_output(text: str) -> str:
    """What a quietened importer printed, for the error of its failed import ("" if nothing)."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    cut = len(lines) - IMPORTER_LINES_SHOWN
    shown = ([f"... ({cut} earlier lines)"] if cut > 0 else []) + lines[-IMPORTER_LINES_SHOWN:]
    return "\nthe importer printed:\n" + "\n".join(f"  {line}" for line in shown)


MAX_INSTANCE_NESTING = 8


def _realize_collection_instances(objects: list, names: dict, labels: dict) -> list:
    """A .blend model's collection instances (an empty instancing a collection) as real
    meshes: a copy of each mesh of the collection (linked data) where the instance shows it,
    named INSTANCER/PROTOTYPE and labelled as the prototype is in the file over the
    instancer's labels. The objects of the instanced collections are the prototypes: shown
    through their instances only, they are removed. Returns the objects now imported."""

    def instanced(o):
        return o.instance_collection if o.instance_type == "COLLECTION" and not o.hide_render else None

    protos = {p for o in objects if instanced(o) is not None for p in instanced(o).all_objects}
    made = []

    def realize(instancer, world, name, inherited, depth):
        coll = instanced(instancer)
        for proto in sorted(coll.all_objects, key=lambda o: o.name):
            at = world @ Matrix.Translation(-coll.instance_offset) @ proto.matrix_world
            path = f"{name}/{names.get(proto.name, proto.name)}"
            own = merge_labels([inherited, labels.get(proto.name, {})])
            if instanced(proto) is not None and depth < MAX_INSTANCE_NESTING:
                realize(proto, at, path, own, depth + 1)
            elif proto.type == "MESH" and not proto.hide_render:
                copy = proto.copy()
                copy.parent = None
                copy.matrix_world = at
                names[copy.name], labels[copy.name] = path, own
                made.append(copy)

    for o in sorted(objects, key=lambda o: o.name):
        if o not in protos and instanced(o) is not None:
            realize(o, o.matrix_world.copy(), names.get(o.name, o.name), labels.get(o.name, {}), 0)
    kept = [o for o in objects if o not in protos]
    for p in protos:
        bpy.data.objects.remove(p)
    return kept + made


def _source_labels(objects, collections) -> dict[str, dict]:
    """Object name -> its labels resolved in its source file (collections of that file,
    outermost first, then parent objects, then itself), before the hierarchy is dropped."""
    parents: dict[str, object] = {c.name: None for c in collections}  # a root that counts
    for c in collections:
        for child in c.children:
            parents[child.name] = c
    users: dict[str, list] = {}
    for c in sorted(collections, key=lambda c: c.name):
        for o in c.objects:
            users.setdefault(o.name, []).append(c)
    for o in objects:
        users.setdefault(o.name, [])
    return {o.name: resolved_labels(o, parents, users) for o in objects}


def _evaluate_transforms(objects) -> None:
    """Appended objects' matrix_world is not stored in the file: it is valid only after the
    depsgraph evaluated them (parents, constraints). Evaluate them in a throwaway scene."""
    temp = bpy.data.scenes.new("sdg_import")
    try:
        for o in objects:
            temp.collection.objects.link(o)
        temp.view_layers[0].update()
        for o in objects:
            o.matrix_world = o.matrix_world.copy()  # keep the evaluated value on the object
    finally:
        bpy.data.scenes.remove(temp)


def _light(scene, spec: LightSpec) -> bpy.types.Object:
    data = bpy.data.lights.new(spec.name, spec.type)
    data.energy = spec.energy
    data.color = spec.color[:3]
    obj = bpy.data.objects.new(spec.name, data)
    # `size` as a point's or spot's radius and an area's side, and the area's shape and
    # height, whatever the type: a light entry's light_type changes the type in place, and
    # the light keeps its declared size (not Blender's default 0.25 m area, a point of radius 0)
    obj.data.type = "POINT"
    obj.data.shadow_soft_size = spec.size
    obj.data.type = "AREA"
    obj.data.size, obj.data.shape = spec.size, spec.shape
    obj.data.size_y = spec.size if spec.size_y is None else spec.size_y
    obj.data.type = spec.type
    scene.collection.objects.link(obj)
    obj.location = spec.location
    if spec.look_at is not None:
        obj.rotation_euler = look_at_rotation(spec.location, spec.look_at)
    return obj


def set_hidden(obj, hidden: bool) -> None:
    """Hide an object from the render, or show it: set only when it changes. Each set of
    hide_render, even to the value it has, makes Blender rebuild the relations of every
    object at the next evaluation (a pool or scatter re-showing 200 members each frame:
    ~0.1 s a frame; 800: ~0.3 s)."""
    if obj.hide_render != hidden:
        obj.hide_render = hidden


def set_thermal(id_block, kelvin=None, emissivity=None, nir_reflectance=None) -> None:
    """Store what thermal / NIR cameras read (custom properties, as a user's .blend may)."""
    for prop, value in (
        (TEMPERATURE_PROP, kelvin),
        (EMISSIVITY_PROP, emissivity),
        (NIR_REFLECTANCE_PROP, nir_reflectance),
    ):
        if value is not None:
            id_block[prop] = float(value)


def _illuminator(scene, cam_obj, spec: CameraSpec) -> bpy.types.Object:
    """A NIR camera's active illuminator: a spot light at the camera, looking where it looks;
    on only while that camera renders. `projector = "dots"` masks it with a dot pattern.
    Its power is watts whatever the scene's unit scale: Cycles' fall-off takes a Blender unit
    for a metre, so in a scene in centimetres the spot gets 1 / 0.01² times the watts."""
    data = bpy.data.lights.new(f"{spec.name}.illuminator", "SPOT")
    data.energy = spec.illuminator_power / meters_per_unit(scene) ** 2
    data.spot_size = math.radians(spec.illuminator_angle)
    data.spot_blend = 0.1
    data.shadow_soft_size = 0.0
    if spec.projector == "dots":
        _dot_pattern(data, spec.projector_dots / (2 * math.tan(math.radians(min(spec.illuminator_angle, 170)) / 2)))
    obj = bpy.data.objects.new(f"{spec.name}.illuminator", data)
    scene.collection.objects.link(obj)
    obj.parent = cam_obj  # a spot light shines down its -Z, as a camera looks
    obj.hide_render = True
    obj[ILLUMINATOR_PROP] = spec.name
    return obj


def _dot_pattern(light, cells_per_unit: float) -> None:
    """Emission masked by pseudo-random dots fixed to the light's directions (structured light):
    the ray direction (x/z, y/z) in the light's space drives a Voronoi texture."""
    light.use_nodes = True
    tree = light.node_tree
    emission = next(n for n in tree.nodes if n.type == "EMISSION")
    coords = tree.nodes.new("ShaderNodeTexCoord")
    split = tree.nodes.new("ShaderNodeSeparateXYZ")
    tree.links.new(coords.outputs["Normal"], split.inputs[0])
    plane = tree.nodes.new("ShaderNodeCombineXYZ")
    for i in (0, 1):
        div = tree.nodes.new("ShaderNodeMath")
        div.operation = "DIVIDE"
        tree.links.new(split.outputs[i], div.inputs[0])
        tree.links.new(split.outputs[2], div.inputs[1])
        tree.links.new(div.outputs[0], plane.inputs[i])
    voronoi = tree.nodes.new("ShaderNodeTexVoronoi")
    voronoi.inputs["Scale"].default_value = cells_per_unit
    tree.links.new(plane.outputs[0], voronoi.inputs["Vector"])
    dots = tree.nodes.new("ShaderNodeMath")
    dots.operation = "LESS_THAN"
    dots.inputs[1].default_value = 0.2  # dot radius, in cells
    tree.links.new(voronoi.outputs["Distance"], dots.inputs[0])
    tree.links.new(dots.outputs[0], emission.inputs["Strength"])


def _check_rig(built: BuiltScene, index: int, spec) -> None:
    """A rig the parameter file's validation could not check: a camera of the base .blend
    (one the run records, not itself rigged to another)."""
    field = f"cameras[{index}].rig"
    if spec.rig not in built.cameras or spec.rig == spec.name:
        others = sorted(n for n in built.cameras if n != spec.name)
        raise FieldError(field, spec.rig, one_of(spec.rig, others, "camera (another one)"))
    if spec.rig in built.rigged:
        parent = built.cameras[spec.rig].parent
        raise FieldError(field, spec.rig, f"a camera that is not itself rigged ({spec.rig} is rigged to {parent.name})")


def _camera(scene, spec: CameraSpec, render) -> bpy.types.Object:
    data = bpy.data.cameras.new(spec.name)
    data.type = "PERSP" if spec.projection == "perspective" else "ORTHO"
    data.lens = spec.focal_length
    data.sensor_width = spec.sensor_width
    data.sensor_fit = "AUTO"
    # A principal point off the centre is Blender's lens shift, fy != fx its pixel aspect.
    width, height = spec.width or render.width, spec.height or render.height
    fx = spec.fx if spec.fx is not None else 1.0  # without fx, only the shift is used
    fy = spec.fy if spec.fy is not None else fx
    k = blender_lens_for(fx, fy, spec.cx, spec.cy, width, height, spec.sensor_width)
    data.shift_x, data.shift_y = k.shift_x, k.shift_y
    data.ortho_scale = spec.ortho_scale
    data.clip_start, data.clip_end = spec.clip_start, spec.clip_end
    obj = bpy.data.objects.new(spec.name, data)
    scene.collection.objects.link(obj)
    obj.location = spec.location
    if spec.look_at is not None:
        obj.rotation_euler = look_at_rotation(spec.location, spec.look_at)
    else:
        obj.rotation_euler = [math.radians(a) for a in spec.rotation]
    if spec.width is not None:
        obj[RESOLUTION_PROP] = [spec.width, spec.height]
    if (k.pixel_aspect_x, k.pixel_aspect_y) != (1.0, 1.0):
        obj[PIXEL_ASPECT_PROP] = [k.pixel_aspect_x, k.pixel_aspect_y]
    return obj
