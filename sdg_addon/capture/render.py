"""One Cycles render per camera per frame, every pass at once, read back as numpy (bpy).

Cycles writes a multilayer EXR (Combined, Depth, Object Index, Normal) to a temporary
folder (RAM-backed where the OS has one); it is read back and deleted at once. The
object-index and depth passes are taken from one sample per pixel, the first, whose ray
Cycles sends through the pixel centre (not anti-aliased): that is what makes masks exact.

Cycles' Normal pass, however, is averaged over all samples (edge pixels blend two faces,
background pixels next to an object get a fraction of its normal, and the float sums
depend on thread scheduling). When normals are asked for with samples > 1, the render
holds a second view layer, DATA_LAYER, rendered with 1 sample (Cycles' per-layer sample
override): the depth, object-index and normal passes come from it, so all three are the
same first sample through the pixel centre, and the main layer keeps only Combined (on
Blender 4.2 a vector pass too, unread: compat.VECTOR_PASS_ON_EVERY_LAYER).
It is one render call (one scene sync, one file); the 1-sample layer costs about one
sample's path tracing.

Depth of field and motion blur move even the first sample: its ray leaves from a random
point of the aperture at a random time of the shutter, so ids and depth would be those of a
blurred image. With either on, the render holds the data layer too (also at 1 sample), and
for that layer only they are off: motion blur by the layer's own switch, depth of field by
a driver reading the layer's custom property (Cycles evaluates the scene once per view
layer; sharp_data_layer). The image keeps both.

A volume in the world (fog) stops some first samples before any surface: those pixels would
be background with no depth. While the world has one, the data layer is there too and
renders with a plain world instead (a per-layer world override): the image keeps the fog.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager

import bpy
import numpy as np
from mathutils import Matrix

from ..annotators.raster import half_edge_twins, is_closed_surface, join_meshes
from ..blender_paths import remember_resources
from ..colour import has_look
from ..compat import (
    LEGACY_PASS_NAMES,
    VECTOR_PASS_ON_EVERY_LAYER,
    disable_white_balance,
    render_multilayer_exr,
    set_multilayer_exr,
    uses_nodes,
    working_space,
)
from ..config.schema import RenderSettings
from ..frame import Camera, FrameData, SceneObject
from ..output import machine_place, process_alive
from ..pinhole import intrinsics_of
from ..sampling.sampler import render_noise_seed
from ..scene.base import (
    CAMERA_TRANSFORM_FIX,
    camera_transform_problem,
    evaluated_depsgraph,
    meters_per_unit,
    render_view_layer,
)
from ..scene.build import PIXEL_ASPECT_PROP, RESOLUTION_PROP, BuiltScene
from ..scene.instancing import reads_active_camera, renders
from ..scene.keypoints import children_map, entity_keypoints
from ..sensors import SensorSpec
from .device import RenderError, render_error, select_device
from .exr import CapturedPasses
from .exr_reader import whole_file_problem
from .exr_threads import set_openexr_threads
from .sensors import SensorRender

DATA_LAYER = "SDG Data"  # the 1-sample view layer of the id, depth and normal passes


TEMP_PREFIX = "sdg_render_"


def _temp_base() -> str:
    """The folder of the renders' hand-off files: the memory file system where Linux has one,
    else the system's temporary folder (TMPDIR, /tmp, ...); RenderError when none of them
    can be written (Python's own FileNotFoundError named the output folder as the cause)."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    try:
        return tempfile.gettempdir()
    except FileNotFoundError as e:
        tmpdir = os.environ.get("TMPDIR")
        raise RenderError(
            "no folder for the renders' passes files: /dev/shm is "
            + ("not writable" if os.path.isdir("/dev/shm") else "missing")
            + f", TMPDIR is {'unset' if tmpdir is None else repr(tmpdir)}, and {e.strerror or e}: set TMPDIR "
            "to a folder this user can write (e.g. TMPDIR=$HOME/tmp)"
        ) from None


def temp_render_dir() -> str:
    """A private folder for the render's EXR, named with our pid and place (its machine and
    PID namespace: output.machine_place) so a later run can tell whether its owner is still
    alive (see remove_stale_render_dirs)."""
    return tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-{machine_place()}_", dir=_temp_base())


def remove_stale_render_dirs() -> list[str]:
    """Delete render folders of processes that are gone (killed runs cannot clean up)."""
    return remove_stale_dirs(TEMP_PREFIX, _temp_base())


def remove_stale_dirs(prefix: str, base: str) -> list[str]:
    """Delete the folders `<prefix><pid>_*` and `<prefix><pid>-<place>_*` in `base` whose
    process is gone, this user's only. A folder of another place (output.machine_place: a
    container sharing /dev/shm with this one, as a Kubernetes pod's containers do, each
    numbering its processes in its own PID namespace) is left: its pid means nothing here."""
    removed, here = [], machine_place()  # read once: it reads the system's ids
    for name in os.listdir(base):
        if not name.startswith(prefix):
            continue
        pid_text, dash, place = name[len(prefix) :].split("_", 1)[0].partition("-")
        if dash and place != here:
            continue
        if not pid_text.isdigit() or process_alive(int(pid_text)):
            continue
        path = os.path.join(base, name)
        if not os.path.isdir(path) or os.path.islink(path):
            continue
        if hasattr(os, "getuid") and os.stat(path).st_uid != os.getuid():
            continue  # another user's (Windows has no uids: its temporary folder is the user's own)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def configure_cycles(scene, render: RenderSettings, passes: set[str]) -> dict:
    """Set engine, sampling, output format and passes; return the device chosen."""
    scene.render.engine = "CYCLES"
    remember_resources()  # worker processes find Blender's colour config without bpy
    device = select_device(scene, render.device)
    c = scene.cycles
    c.samples = render.samples
    # Every sample of the pixel from the first: a .blend's Sample Subset (Sampling > Advanced,
    # for splitting a render between machines; 4.2: an offset alone) skips sample 0, the one
    # Cycles writes the id and depth passes from (masks all background, no depth).
    c.sample_offset = 0
    if hasattr(c, "use_sample_subset"):
        c.use_sample_subset = False
    # Nor a .blend's Time Limit (Sampling > Render): it stops a frame after as many samples as
    # the machine's speed allows, another image on every run, fewer samples than `samples`.
    c.time_limit = 0.0
    c.use_adaptive_sampling = render.noise_threshold > 0  # off: every pixel takes `samples`
    if c.use_adaptive_sampling:
        c.adaptive_threshold = render.noise_threshold
    c.use_denoising = render.denoise
    if render.denoise:
        set_denoiser(c, render.denoiser, device)
    c.max_bounces = render.max_bounces
    c.diffuse_bounces = render.diffuse_bounces
    c.glossy_bounces = render.glossy_bounces
    c.transmission_bounces = render.transmission_bounces
    c.volume_bounces = render.volume_bounces
    c.transparent_max_bounces = render.transparent_bounces
    c.use_light_tree = render.light_tree
    c.caustics_reflective = c.caustics_refractive = render.caustics
    scene.render.resolution_x, scene.render.resolution_y = render.width, render.height
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.render.film_transparent = render.film_transparent
    scene.render.use_persistent_data = render.persistent_data
    scene.render.threads_mode = "FIXED" if render.threads else "AUTO"
    if render.threads:
        scene.render.threads = render.threads
    scene.view_settings.view_transform = render.view_transform
    # The rest of the colour management as [render] says (colour.display_transform makes the
    # RGB from the linear pass the same way); curves and white balance off: not reproduced.
    scene.view_settings.look = render.look if has_look(render.look) else "None"  # "" names none too
    scene.view_settings.exposure, scene.view_settings.gamma = render.exposure, render.gamma
    scene.view_settings.use_curve_mapping = False
    disable_white_balance(scene.view_settings)
    configure_layers(scene, render, passes)
    if "vector" in passes:
        scene.render.use_motion_blur = False  # Cycles has no vector pass with motion blur
    s = scene.render.image_settings
    set_multilayer_exr(s)
    s.color_depth = "32"
    s.exr_codec = "NONE"  # fastest; the file lives for milliseconds
    scene.render.use_file_extension = False
    # A .blend's compositor and sequencer stay out of the run: a File Output node writes
    # wherever it points (next to the user's .blend, over their own renders), and the
    # compositor's and sequencer's image is not the one the passes label (a blur, a lens
    # distortion, a strip). The frames are made from the render passes alone.
    scene.render.use_compositing = False
    scene.render.use_sequencer = False
    # Each camera renders its own view: Blender's render takes the camera of a timeline
    # marker bound to one (camera switching) whatever scene.camera says (scene.base names them).
    for marker in scene.timeline_markers:
        if marker.camera is not None:
            marker.camera = None
    # One view per camera: a .blend's stereoscopy would render each view to a file of its
    # own, not the one read back (a stereo pair is two cameras, `rig` in [[cameras]]).
    scene.render.use_multiview = False
    # Every view layer the run renders: a .blend's Render Single Layer (View Layer panel) renders
    # the active one alone, without the 1-sample data layer the masks and depth are read from
    # ('Error writing render result' at the first camera with depth of field, normals, ...).
    scene.render.use_single_layer = False
    # The whole frame: a .blend's render region (often left on while working) would render,
    # or crop the image to, a part of it that the labels do not describe.
    scene.render.use_border = False
    scene.render.use_crop_to_border = False
    # No metadata burnt into the image (Output > Metadata > Burn Into Image): its text (file,
    # date and time, render time) would cover what the labels describe, and differ run to run.
    scene.render.use_stamp = False
    return device


def configure_layers(scene, render: RenderSettings, passes: set[str], sharp: bool = False) -> None:
    """The main view layer and, where needed (data_layer), the data layer, with their passes."""
    vl = render_view_layer(scene)
    vl.use_pass_combined = True
    if hasattr(vl, "cycles"):  # a .blend's View Layer > Denoising off kept `denoise = true` from denoising
        vl.cycles.use_denoising = True  # the scene's switch, render.denoise, decides
    data = data_layer(scene, render, passes, sharp)
    for layer in (vl, data) if data != vl else (vl,):
        is_data = layer == data  # bpy gives a new Python object per access: compare, not `is`
        layer.use_pass_z = "depth" in passes and is_data
        layer.use_pass_object_index = "instance" in passes and is_data
        layer.use_pass_normal = "normal" in passes and is_data
        layer.use_pass_vector = "vector" in passes and (is_data or VECTOR_PASS_ON_EVERY_LAYER)
        # Masks and depth: a surface owns a pixel when its alpha >= this (docs/exactness.md).
        layer.pass_alpha_threshold = render.alpha_threshold


def set_denoiser(cycles, denoiser: str, device: dict) -> None:
    """OIDN (on the GPU where Cycles can) or OptiX; OptiX without an NVIDIA GPU is an error."""
    name = {"oidn": "OPENIMAGEDENOISE", "optix": "OPTIX"}[denoiser.lower()]
    try:
        cycles.denoiser = name
    except TypeError:
        raise ValueError(
            f"render.denoiser = {denoiser!r}: this Cycles has no {name} denoiser here "
            f"(device {device.get('type')}); use 'oidn'"
        ) from None
    if name == "OPENIMAGEDENOISE" and hasattr(cycles, "denoising_use_gpu"):
        cycles.denoising_use_gpu = device.get("type") != "CPU"


def data_layer(scene, render: RenderSettings, passes: set[str], sharp: bool = False):
    """The view layer that carries the id, depth and normal passes: the main one, or a
    1-sample DATA_LAYER when the normals would otherwise be averaged or `sharp` (depth of
    field, motion blur or a world volume would disturb them: lens_effects, world_volume;
    module docstring)."""
    main = render_view_layer(scene)
    main.samples = 0  # the scene's sample count
    existing = scene.view_layers.get(DATA_LAYER)
    averaged = bool({"normal", "vector"} & passes) and render.samples > 1
    if not (averaged or sharp):
        if existing is not None:
            scene.view_layers.remove(existing)
        return main
    layer = existing or scene.view_layers.new(DATA_LAYER)
    _mirror_collections(main.layer_collection, layer.layer_collection)
    # What the main layer renders, the data layer renders: a .blend's material override (a
    # clay render makes alpha-cut and transparent surfaces opaque in the image) and filters
    # (surfaces, hair, volumes switched off in the image are off in the ids too).
    layer.material_override = main.material_override
    for name in ("use_solid", "use_strand", "use_volumes"):
        setattr(layer, name, getattr(main, name))
    layer.use = True
    layer.samples = 1
    layer.use_motion_blur = False  # the frame's instant (Cycles honours this per layer)
    layer.world_override = _plain_world()  # no world volume (fog) in ids and depth
    layer.use_pass_combined = True  # Blender always writes it; the 1-sample image is ignored
    if hasattr(layer, "cycles"):
        layer.cycles.use_denoising = False
    scene.cycles.use_layer_samples = "USE"
    return layer


PLAIN_WORLD = "SDG Data world"


def _plain_world():
    """A world without a volume for the data layer (its surface never shows in the passes
    read from it: background is id 0 and no depth there)."""
    return bpy.data.worlds.get(PLAIN_WORLD) or bpy.data.worlds.new(PLAIN_WORLD)


def world_volume(scene) -> bool:
    """Whether the world the rendered view layer renders has a volume shader (its active
    output's Volume linked): the layer's World Override where it has one, else the scene's."""
    world = render_view_layer(scene).world_override or scene.world
    if world is None or not uses_nodes(world):
        return False
    outputs = [n for n in world.node_tree.nodes if n.type == "OUTPUT_WORLD" and n.is_active_output]
    return any(n.inputs["Volume"].is_linked for n in outputs)


def lens_effects(scene, cam_obj) -> bool:
    """Whether Cycles samples the camera's aperture or shutter in this render: depth of
    field (the camera's) or motion blur (the scene's, with a shutter open for a time)."""
    blur = scene.render.use_motion_blur and scene.render.motion_blur_shutter > 0
    return bool(cam_obj.data.dof.use_dof) or bool(blur)


LENS_PROP = "sdg_lens"  # view layer custom property the lens drivers read: 1 main, 0 data


@contextmanager
def sharp_data_layer(scene, cam_obj, volumes=()):
    """For one render, what has no per-layer switch on in the main layer and off in the data
    layer (motion blur and world fog have theirs, data_layer): the camera's depth of field
    (dof.use_dof) and the camera visibility of `volumes` (volume_objects). A driver on
    each reads the view layer Cycles is rendering (a Context Property variable) and takes its
    LENS_PROP, 1 on the main layer and 0 on the data layer. Afterwards the drivers are gone
    and the switches as they were. One that cannot take a driver keeps its effect in the
    data layer too: on an ID linked from a library, or a switch the .blend drives itself."""
    data = scene.view_layers.get(DATA_LAYER)
    driven = []  # (ID, path): each was True before
    bare = []  # IDs without animation data before: cleared again after
    if data is not None:
        if cam_obj.data.dof.use_dof:
            driven.append((cam_obj.data, "dof.use_dof"))
        driven += [(o, "visible_camera") for o in volumes if o.visible_camera]
        driven = [(owner, path) for owner, path in driven if _drivable(owner, path)]
    if driven:
        render_view_layer(scene)[LENS_PROP], data[LENS_PROP] = 1.0, 0.0
        bare = [owner for owner, _ in driven if owner.animation_data is None]
        for owner, path in driven:
            _layer_driver(owner, path, LENS_PROP)
    try:
        yield
    finally:
        for owner, path in driven:
            owner.driver_remove(path)
            holder, _, name = path.rpartition(".")
            setattr(owner.path_resolve(holder) if holder else owner, name, True)
        for owner in bare:
            owner.animation_data_clear()


def volume_objects(scene) -> list:
    """Rendered objects that are volumes only: Volume objects, and objects every material of
    which has a Volume output and no Surface (smoke, fog boxes). A camera ray's sample may
    stop in them before the surface behind: they are left out of the data layer. Not fluid
    domains (smoke simulations): they stay as they render. Under the view layer's Material
    Override (a clay render) every mesh renders with that material: none is a volume unless
    it is one."""

    def is_volume(mat) -> bool:
        nodes = mat.node_tree.nodes if uses_nodes(mat) else ()
        outputs = [n for n in nodes if n.type == "OUTPUT_MATERIAL" and n.is_active_output]
        return any(n.inputs["Volume"].is_linked and not n.inputs["Surface"].is_linked for n in outputs)

    override = render_view_layer(scene).material_override
    if override is not None:
        if not is_volume(override):
            return [o for o in scene.objects if o.type == "VOLUME" and not o.hide_render]
        return [o for o in scene.objects if o.type in ("MESH", "VOLUME") and not o.hide_render]
    volume_only = {m.name_full for m in bpy.data.materials if is_volume(m)}
    if not volume_only and not len(bpy.data.volumes):  # the usual case: no object to look at
        return []
    found = []
    for o in scene.objects:
        if o.hide_render or any(m.type == "FLUID" for m in getattr(o, "modifiers", ())):
            continue  # a driver on a fluid domain crashed Mantaflow (tests/test_caches_bpy.py)
        if o.type == "VOLUME":
            found.append(o)
            continue
        mats = [slot.material for slot in getattr(o, "material_slots", ())]
        if mats and all(m is not None and m.name_full in volume_only for m in mats):
            found.append(o)
    return found


def _drivable(owner, path: str) -> bool:
    """Whether owner.<path> can take a driver of ours: owner is local, path not driven yet."""
    anim = owner.animation_data
    return owner.library is None and (anim is None or anim.drivers.find(path) is None)


def _layer_driver(owner, path: str, prop: str) -> None:
    """Drive owner.<path> by the custom property `prop` of the view layer being evaluated."""
    driver = owner.driver_add(path).driver
    driver.type = "SUM"  # no expression: nothing for Python to run
    var = driver.variables.new()
    var.type = "CONTEXT_PROP"
    var.targets[0].context_property = "ACTIVE_VIEW_LAYER"
    var.targets[0].data_path = f'["{prop}"]'


def _mirror_collections(src, dst) -> None:
    """Give the data layer the main layer's collection switches (a user's .blend may
    exclude collections or make them holdouts), so both layers see the same scene."""
    for name in ("exclude", "holdout", "indirect_only"):
        if getattr(dst, name) != getattr(src, name):
            setattr(dst, name, getattr(src, name))
    for child in src.children:
        other = dst.children.get(child.name)
        if other is not None:
            _mirror_collections(child, other)


def camera_resolution(scene, cam_obj) -> tuple[int, int]:
    """A camera's own image size (custom property, from `width`/`height` of [[cameras]]),
    else the render's."""
    own = cam_obj.get(RESOLUTION_PROP)
    if own is not None:
        return int(own[0]), int(own[1])
    return scene.render.resolution_x, scene.render.resolution_y


def camera_pixel_aspect(cam_obj) -> tuple[float, float]:
    """A camera's pixel aspect: from `fy` of [[cameras]], or its base .blend's (Output >
    Format > Aspect X / Y, stamped by the scene build); else square pixels."""
    own = cam_obj.get(PIXEL_ASPECT_PROP)
    return (float(own[0]), float(own[1])) if own is not None else (1.0, 1.0)


def camera_info(scene, cam_obj, sensor_kind: str = "visible") -> Camera:
    """A Camera (intrinsics and pose) from a Blender camera object, as Cycles renders it.

    A camera parented to another camera is rigged to it: its pose relative to that camera
    (the rig's extrinsics) is reported too."""
    w, h = camera_resolution(scene, cam_obj)
    data = cam_obj.data
    problem = camera_transform_problem(cam_obj)
    if problem:  # turned or scaled so by its animation or a randomizer (the scene as built was checked)
        raise ValueError(
            f"camera {cam_obj.name!r} at scene frame {scene.frame_current}: its world transform {problem}; Cycles "
            f"renders it so, and the labels describe an unmirrored, unskewed camera. {CAMERA_TRANSFORM_FIX}"
        )
    # Blender keeps the pixel aspect in float32: read back what the render uses.
    aspect = np.array(camera_pixel_aspect(cam_obj), dtype=np.float32).astype(np.float64)
    k = intrinsics_of(
        orthographic=data.type == "ORTHO",
        lens=data.lens,
        ortho_scale=data.ortho_scale,
        sensor_fit=data.sensor_fit,
        sensor_width=data.sensor_width,
        sensor_height=data.sensor_height,
        shift_x=data.shift_x,
        shift_y=data.shift_y,
        width=w,
        height=h,
        aspect_x=float(aspect[0]),
        aspect_y=float(aspect[1]),
    )
    loc, rot, _scale = cam_obj.matrix_world.decompose()
    cam_to_world = np.array(Matrix.LocRotScale(loc, rot, None), dtype=np.float64)
    rig, camera_to_rig = "", None
    if cam_obj.parent is not None and cam_obj.parent.type == "CAMERA":
        rig = cam_obj.parent.name
        ploc, prot, _ = cam_obj.parent.matrix_world.decompose()
        parent_to_world = np.array(Matrix.LocRotScale(ploc, prot, None), dtype=np.float64)
        camera_to_rig = np.linalg.inv(parent_to_world) @ cam_to_world
    f_stop = focus_distance = 0.0
    if data.dof.use_dof:  # as Cycles focuses: on an object, along the viewing axis
        f_stop = float(data.dof.aperture_fstop)
        focus_distance = float(data.dof.focus_distance)
        focus = data.dof.focus_object
        if focus is not None:
            at = focus.matrix_world
            bone = focus.pose.bones.get(data.dof.focus_subtarget) if focus.pose and data.dof.focus_subtarget else None
            if bone is not None:  # focused on a bone of an armature: on its head, as Cycles
                at = at @ bone.matrix
            to_focus = np.array(at.translation) - cam_to_world[:3, 3]
            focus_distance = float(abs(to_focus @ -cam_to_world[:3, 2]))
    return Camera(
        name=cam_obj.name,
        width=w,
        height=h,
        projection="orthographic" if data.type == "ORTHO" else "perspective",
        camera_to_world=cam_to_world,
        fx=k.fx,
        fy=k.fy,
        cx=k.cx,
        cy=k.cy,
        clip_start=data.clip_start,
        clip_end=data.clip_end,
        focal_length_mm=data.lens,
        sensor_width_mm=k.sensor_width_mm,
        sensor_height_mm=k.sensor_height_mm,
        ortho_scale=data.ortho_scale,
        f_stop=f_stop,
        focus_distance=focus_distance,
        sensor=sensor_kind,
        rig=rig,
        camera_to_rig=camera_to_rig,
        meters_per_unit=meters_per_unit(scene),
    )


def _single_mesh_matrix(entity) -> np.ndarray | None:
    """The world matrix of an entity's one rendered mesh (None for several: the root's
    transform then moves them all, for flow)."""
    meshes = [m for m in entity.meshes if renders(m)]
    if len(meshes) != 1 or meshes[0] == entity.root:
        return None
    return np.array(meshes[0].matrix_world, dtype=np.float64)


def _may_deform(obj) -> bool:
    """Whether an object's evaluated mesh can differ from its data's: modifiers, shape keys,
    or an armature / lattice parent deforming it without a modifier (Blender's virtual
    modifiers)."""
    if getattr(obj, "modifiers", None):
        return True
    if getattr(obj.data, "shape_keys", None) is not None:
        return True
    return obj.parent is not None and obj.parent_type in ("ARMATURE", "LATTICE")


def _bound_corners(obj, scene) -> np.ndarray:
    """Corners (or points) bounding what Cycles renders of `obj`, in its own space:
    Blender's bound_box, except where a Subdivision Surface or Multiresolution modifier
    subdivides it: bound_box is then its cage's (Blender subdivides lazily), wider than the
    rounded surface, so the evaluated vertices' extent is taken; so it is for curves, text
    and surfaces (converted geometry): Blender 4.2's bound_box of a curve of an appended
    scene was not its geometry's (a bevelled curve 1.5 x 0.7 x 0.3 m had a 3D box of
    3.2 x 2.6 x 2 m, 5.0's the curve's)."""
    if obj.type in ("CURVE", "FONT", "SURFACE") or any(
        m.type in ("SUBSURF", "MULTIRES") and m.show_render for m in getattr(obj, "modifiers", ())
    ):
        evaluated = obj.evaluated_get(evaluated_depsgraph(scene))
        try:
            mesh = evaluated.to_mesh()
        except RuntimeError:
            mesh = None
        try:
            if mesh is not None and len(mesh.vertices):
                co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
                mesh.vertices.foreach_get("co", co)
                co = co.reshape(-1, 3)
                return np.array([co.min(axis=0), co.max(axis=0)])
        finally:
            if mesh is not None:
                evaluated.to_mesh_clear()
    return np.array([c[:] for c in obj.bound_box], dtype=np.float64)


class Capturer:
    """Renders cameras of a built scene and returns FrameData."""

    def __init__(
        self,
        built: BuiltScene,
        render: RenderSettings,
        passes: set[str],
        need_geometry: bool,
        sensors: dict[str, SensorSpec] | None = None,
        thermal_defaults: tuple[float, float] = (293.15, 0.95),
        noise_seed: int | None = None,
    ):
        """`sensors`: thermal / NIR cameras by name (others are visible cameras);
        `thermal_defaults`: (kelvin, emissivity) of surfaces and world that set none;
        `noise_seed`: the run's seed, from which each frame's Cycles seed is drawn (None:
        the scene's seed is left as it is)."""
        self.built = built
        self.noise_seed = noise_seed
        self.sensors = sensors or {}
        self.sensor_render = SensorRender(built.scene, *thermal_defaults)
        self.render_settings = render
        self.passes = set(passes) | {"instance"}  # objects present are read from it
        self.need_geometry = need_geometry
        self.device = configure_cycles(built.scene, render, self.passes)
        self._sharp = False  # the view layers are set up for renders without lens_effects / world_volume
        self.tmp_dir = temp_render_dir()
        # Hand-off EXRs are written in the render's own thread (exr_threads says why); the
        # count Blender had comes back at close (a run inside Blender's UI leaves it as found).
        self._openexr_threads = set_openexr_threads(0)
        self._local_meshes: dict[tuple, tuple] = {}  # see _local_mesh
        # Geometry turned to the camera (a node tree reading the Active Camera: billboards) is
        # another for each camera of a frame: read after each camera's render, not once a frame.
        self._geometry_per_camera = any(reads_active_camera(m) for e in built.entities.values() for m in e.meshes)
        self._renders = 0  # captures so far (names their EXR files)
        # False: passes are read right after the render (in the render stage), as a dict;
        # True: handed on unread (CapturedPasses), for a worker process to read.
        self.read_passes_later = False

    def close(self) -> None:
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        if self._openexr_threads is not None:
            set_openexr_threads(self._openexr_threads)
            self._openexr_threads = None

    def render_passes(self, cam_obj, sensor: str = "visible") -> dict | CapturedPasses:
        """Render the camera; its passes, or (read_passes_later) the EXR they are read from
        when first used (CapturedPasses)."""
        scene = self.built.scene
        scene.camera = cam_obj
        path = os.path.join(self.tmp_dir, "render.exr")
        r = scene.render
        default = r.resolution_x, r.resolution_y, r.pixel_aspect_x, r.pixel_aspect_y
        r.resolution_x, r.resolution_y = camera_resolution(scene, cam_obj)
        r.pixel_aspect_x, r.pixel_aspect_y = camera_pixel_aspect(cam_obj)
        # Motion blur is the scene's: a sensor entry's shutter holds for the cameras it targets
        # only, the others render with the scene's own.
        blur = r.use_motion_blur, r.motion_blur_shutter
        shutter = self.built.shutters.get(cam_obj.name)
        if shutter is not None:
            r.use_motion_blur, r.motion_blur_shutter = shutter > 0, max(shutter, 0.01)
        volumes = volume_objects(scene)
        sharp = lens_effects(scene, cam_obj) or world_volume(scene) or bool(volumes)
        if sharp != self._sharp:  # the data layer is needed while either is on
            configure_layers(scene, self.render_settings, self.passes, sharp)
            self._sharp = sharp
        try:
            if sensor != "visible":
                self.sensor_render.begin(sensor, cam_obj.name)
            with sharp_data_layer(scene, cam_obj, volumes):
                render_multilayer_exr(scene, path)
        except RuntimeError as e:  # Blender's render operator failed (its message says why)
            raise render_error(cam_obj.name, str(e)) from None
        finally:
            self.sensor_render.end()
            # Outside a render the scene keeps the run's size (cameras without their own).
            r.resolution_x, r.resolution_y, r.pixel_aspect_x, r.pixel_aspect_y = default
            r.use_motion_blur, r.motion_blur_shutter = blur
        problem = whole_file_problem(path)  # Blender says nothing when its write fails
        if problem:
            raise render_error(
                cam_obj.name,
                f"its passes file {problem}; is {os.path.dirname(self.tmp_dir)} full, or a file size limit set? "
                "(a container's /dev/shm is 64 MB unless given more: docker run --shm-size)",
            )
        # A name of its own: the file may wait for a worker while the next frame renders.
        self._renders += 1
        own = os.path.join(self.tmp_dir, f"capture_{self._renders}.exr")
        os.replace(path, own)
        main = render_view_layer(scene).name
        data = DATA_LAYER if scene.view_layers.get(DATA_LAYER) is not None else main
        passes = CapturedPasses(own, main, data, sensor, dict(LEGACY_PASS_NAMES))
        return passes if self.read_passes_later else passes.load()

    def scene_objects(self) -> dict[int, SceneObject]:
        depsgraph = evaluated_depsgraph(self.built.scene) if self.need_geometry else None
        objects = {}
        children = children_map()  # once: Object.children walks every object each time
        roots = {e.root for e in self.built.entities.values()}
        for e in self.built.entities.values():
            if not any(renders(m) for m in e.meshes):
                continue
            root_mw = np.array(e.root.matrix_world, dtype=np.float64)
            mesh = self._mesh(e, depsgraph) if self.need_geometry else {}
            lo, hi = self._local_bounds(e, root_mw)
            keypoints, skeleton = entity_keypoints(e.root, children, roots)
            objects[e.instance_id] = SceneObject(
                instance_id=e.instance_id,
                name=e.name,
                path=e.path,
                labels=e.labels,
                object_to_world=root_mw,
                bbox_min=lo,
                bbox_max=hi,
                closed=mesh.get("closed", False),
                vertices=mesh.get("vertices"),
                faces=mesh.get("faces"),
                twins=mesh.get("twins"),
                keypoints=keypoints,
                skeleton=skeleton,
                mesh_to_world=_single_mesh_matrix(e),
            )
        return objects

    def _local_bounds(self, entity, root_mw) -> tuple[np.ndarray, np.ndarray]:
        """Extents of the entity's meshes in the root's local space (from bound boxes)."""
        to_root = None
        pts = []
        for m in entity.meshes:
            if not renders(m):
                continue
            corners = _bound_corners(m, self.built.scene)
            if m == entity.root:  # the usual case: its own space, no inverse needed
                pts.append(corners)
                continue
            if to_root is None:
                to_root = np.linalg.inv(root_mw)
            mw = to_root @ np.array(m.matrix_world, dtype=np.float64)
            pts.append(corners @ mw[:3, :3].T + mw[:3, 3])
        p = np.concatenate(pts)
        return p.min(axis=0), p.max(axis=0)

    def _mesh(self, entity, depsgraph) -> dict:
        """The entity's meshes as one world-space mesh: vertices, faces, half-edge twins,
        and whether every mesh is closed (SceneObject geometry). Faces wind as the surface
        renders: a mesh whose matrix mirrors (negative determinant: a negative scale) would
        wind inwards once its vertices are moved to world space, while Blender renders it
        facing out, so its faces are turned round (their twins found again by the worker)."""
        verts, parts, closed = [], [], True
        for m in entity.meshes:
            if not renders(m):
                continue
            co, f, tw, mesh_closed = self._local_mesh(m, depsgraph)
            mw = np.array(m.matrix_world, dtype=np.float64)
            if np.linalg.det(mw[:3, :3]) < 0:
                f, tw = f[:, ::-1], None
            verts.append(co @ mw[:3, :3].T + mw[:3, 3])
            parts.append((len(co), f, tw))
            closed &= mesh_closed
        faces, twins = join_meshes(parts)
        return {
            "vertices": np.concatenate(verts) if verts else np.zeros((0, 3)),
            "faces": faces,
            # A modified mesh among them: the worker finds the twins of all (SceneObject.twins).
            "twins": None if any(tw is None for _n, _f, tw in parts) or not parts else twins,
            "closed": closed and bool(parts),
        }

    def _local_mesh(self, obj, depsgraph) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(vertices (V, 3) in the object's space, faces (F, 3), half-edge twins (3 F,),
        closed: whether they form a closed, consistently wound surface); cached per mesh
        when nothing deforms it (_may_deform). A deformed mesh may change every frame: its twins are None (the
        worker finds them if it needs them) and it counts as open."""
        key = None if _may_deform(obj) else (obj.type, obj.data.name_full)
        if key is not None and key in self._local_meshes:
            return self._local_meshes[key]
        empty = (np.zeros((0, 3)), np.zeros((0, 3), np.int32), np.zeros(0, np.int32), False)
        evaluated = obj.evaluated_get(depsgraph)
        try:
            mesh = evaluated.to_mesh()
        except RuntimeError:  # hair curves, point clouds, volumes: no triangles to export
            mesh = None
        if mesh is None:
            if key is not None:
                self._local_meshes[key] = empty
            return empty
        try:
            mesh.calc_loop_triangles()
            co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
            mesh.vertices.foreach_get("co", co)
            idx = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int64)
            mesh.loop_triangles.foreach_get("vertices", idx)
        finally:
            evaluated.to_mesh_clear()
        faces = idx.reshape(-1, 3)
        if key is None:  # may change every frame: not worked out here (the render loop)
            return co.reshape(-1, 3), faces.astype(np.int32), None, False
        result = (co.reshape(-1, 3), faces.astype(np.int32), half_edge_twins(faces), is_closed_surface(faces))
        self._local_meshes[key] = result
        return result

    def capture(self, frame: int, camera_name: str, objects: dict[int, SceneObject] | None = None) -> FrameData:
        """Render one camera. `objects` (scene_objects() of this frame) may be shared by
        the cameras of a frame: the scene does not change between their renders, unless a
        node tree reads the Active Camera (None: read after this camera's render)."""
        cam_obj = self.built.cameras[camera_name]
        sensor = self.sensors.get(camera_name)
        kind = sensor.kind if sensor else "visible"
        passes = self.render_passes(cam_obj, kind)
        return FrameData(
            frame=frame,
            camera=camera_info(self.built.scene, cam_obj, kind),
            passes=passes,
            objects=self.scene_objects() if objects is None else objects,
            label_table=self.built.label_table,
            view_transform=self.render_settings.view_transform,
            look=self.render_settings.look,
            exposure=self.render_settings.exposure,
            gamma=self.render_settings.gamma,
            working_space=working_space(),
            sensor_spec=sensor if kind != "visible" else None,
        )

    def capture_frame(self, frame: int, camera_names: list[str]) -> list[FrameData]:
        """Every camera of one frame; the objects (and their geometry) are read once."""
        if self.noise_seed is not None:  # a new noise pattern each frame (not the .blend's Seed)
            self.built.scene.cycles.seed = render_noise_seed(self.noise_seed, frame)
        objects = None if self._geometry_per_camera else self.scene_objects()
        return [self.capture(frame, name, objects) for name in camera_names]
