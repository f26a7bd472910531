"""The base scene of a run: the user's .blend ([scene] blend) or the scene open in Blender.

Its objects, cameras, lights, world and materials are used as they are; labels resolve as
the Labels panel shows them (labels.blender). The .blend is only read, never saved:
headless (Blender 5.0; not 4.2) it is read as a start-up file, which leaves the session
without a file path, and everything but the chosen scene and what it uses is removed; in
the UI (and in Blender 4.2) its scene is appended into an emptied session, so a running
operator and the enabled add-ons survive. Either way nothing can be saved over the user's
file and the session holds the same data (read_blend_scene). Also here: what
the run tells about a base scene before it renders (missing files, colour management and
unit scale it does not reproduce) and the cameras it can label (no panoramic ones).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import os
import re
import sys
import unicodedata
from pathlib import Path

import bpy
import numpy as np

from ..compat import all_strips, compositor_tree, rewrites_file_paths, white_balance_on, world_nodes_as_in_5
from ..config.problems import MISSING, FieldError, one_of
from ..sensors import EMISSIVITY_PROP, NIR_REFLECTANCE_PROP, REFLECTANCE_PROP, SENSOR_PROP, TEMPERATURE_PROP
from ..writers.paths import safe_name, sensor_folder_problem


class BaseSceneError(ValueError):
    """The base scene cannot be used as asked (a sentence the user can act on)."""


# "BLENDER-v402" (4.2; "_" for 32-bit pointers, "V" big-endian), "BLENDER17-01v0500" (5.0).
_SAVED_BY = re.compile(rb"BLENDER(?:\d\d-\d\d[vV](\d\d)|[-_][vV](\d))(\d\d)")


def newer_blend_note(path: Path) -> str:
    """Where the .blend's header names a Blender newer than this one (5.x files do not open
    in 4.2): a sentence saying so, to add to the reason it cannot be read; else ''. The
    header is readable in uncompressed files and, as Blender writes them, zstd-compressed
    ones (their first bytes are stored as they are)."""
    try:
        with open(path, "rb") as f:
            found = _SAVED_BY.search(f.read(64))
    except OSError:
        return ""
    if found is None:
        return ""
    saved = (int(found[1] or found[2]), int(found[3]))
    if saved <= tuple(bpy.app.version[:2]):
        return ""
    this = bpy.app.version_string.split()[0]
    return (
        f": it was saved by Blender {saved[0]}.{saved[1]}, newer than this Blender {this}; "
        f"use Blender {saved[0]}.{saved[1]} or later"
    )


def scene_names(path: Path) -> list[str]:
    if bpy.data.filepath and os.path.realpath(bpy.data.filepath) == os.path.realpath(path):
        # The open file itself (a script that opened it, then records it): Blender refuses
        # to load from the current file ("Cannot load from the current blend file").
        return [s.name for s in bpy.data.scenes]
    try:
        with bpy.data.libraries.load(str(path), link=False) as (src, _dst):
            return list(src.scenes)
    except (OSError, RuntimeError) as e:  # a damaged or truncated file
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise FieldError(
            "scene.blend",
            path.as_posix(),
            f"a .blend file Blender can read; it cannot ({reason}){newer_blend_note(path)}",
        ) from None


def choose_scene(path: Path, names: list[str], wanted: str) -> str:
    if wanted:
        if wanted in names:
            return wanted
        # One Unicode form: 'Café' typed composed (NFC) names the scene spelt decomposed (NFD, as
        # macOS's file names give it); the two print alike.
        alike = [n for n in names if unicodedata.normalize("NFC", n) == unicodedata.normalize("NFC", wanted)]
        if len(alike) == 1:
            return alike[0]
        raise FieldError("scene.scene", wanted, f"a scene of {path.as_posix()}: " + one_of(wanted, names))
    if len(names) == 1:
        return names[0]
    if "Scene" in names:
        return "Scene"
    raise FieldError(
        "scene.scene", MISSING, f"the name of one of the {len(names)} scenes of {path.as_posix()}: {names}"
    )


def fill_scene_name(config) -> str:
    """`[scene] scene` filled in where it is left out: the scene of the .blend the run
    records (its only one, else "Scene"), so that audit/resolved.json, the parameters with
    their defaults filled in, names it. Left "" where the file does not tell (unreadable,
    several scenes and none "Scene"): building the scene then says why. Returns a note
    where the file holds other scenes too (Blender opens it on the scene it was saved with,
    which may be another), else ''."""
    base = config.base
    if not base.blend or base.scene or not base.blend_sha256:
        return ""
    try:
        names = scene_names(Path(base.blend))
        base.scene = choose_scene(Path(base.blend), names, "")
    except FieldError:
        return ""
    return several_scenes_note(base.scene, names)


def several_scenes_note(chosen: str, names: list[str]) -> str:
    """A .blend of several scenes recorded without [scene] scene: the run takes the one
    named "Scene", which need not be the one the artist works in (the file opens on, and
    F12 renders, the scene it was saved with); said, not silently."""
    others = [n for n in names if n != chosen]
    if not others:
        return ""
    return (
        f"the base .blend holds {len(names)} scenes; the run records {chosen!r} (the one named 'Scene', as "
        f"[scene] scene is not given), not {', '.join(repr(n) for n in others)}. Blender opens the file on the "
        "scene it was saved with, which may be another: to record another, name it in [scene] scene"
    )


# Objects in a .blend from which appending its scene takes long enough to be said.
MANY_OBJECTS = 2000


def many_objects_note(path: Path, scene: str, count: int) -> str:
    """What the run does while it appends a large .blend's scene, said before it: Blender's
    append makes each object local in a time growing with the objects already read (a
    scene of 10,000 objects took 87 s, 5,000 20 s, 2,500 5 s, where opening the file takes
    3 s), and nothing was said until the first frame. Only where the scene is appended (in
    the UI, and in Blender 4.2): read_blend_scene reads it in a time that grows with the file."""
    return (
        f"reading scene {scene!r} of {path.name} ({count} objects in the file): Blender appends a scene in a time "
        "that grows with the square of its objects (10,000: about a minute and a half)"
    )


def reads_whole_file() -> bool:
    """Whether the base .blend is read whole (read_blend_scene) rather than its scene appended:
    headless only (reading a file ends a running operator), where Blender can rewrite the
    file's relative paths (bpy.data.file_path_foreach: Blender 5.0, not 4.2), and where
    Blender runs no Python of the files it reads (Auto Run Python Scripts off, as it is by
    default): reading a file runs its registered text blocks, which an append never does,
    and the Python drivers of a scene evaluated with it off stay off."""
    if not (bpy.app.background and rewrites_file_paths()):
        return False
    trusted = bpy.context.preferences.filepaths.use_scripts_auto_execute
    return not trusted and not {"-y", "--enable-autoexec"} & set(sys.argv)


# (path, Blender version) of the .blend read_blend_scene read, which leaves no Library of it
# in the session (an append does: newer_files_note reads it there).
_read_base: tuple[str, tuple] | None = None

# Data-blocks of the session itself, not of a file read with load_ui off: they stay.
_SESSION_TYPES = ("WindowManager", "WorkSpace", "Screen")


def forget_read_base() -> None:
    global _read_base
    _read_base = None


def read_blend_scene(path: Path, name: str) -> bpy.types.Scene:
    """Read `path` into the session as a start-up file (its own UI left out), then keep only
    scene `name` and the data it uses: what an append of that scene gives, in a time that
    grows with the file (10,000 objects: a few seconds), where the append grows with the
    square of its objects. As after an append, the session has no file path (Blender's disk
    caches go to its temporary folder, nothing can be saved over the file), the paths
    relative to the .blend (//textures/...) are made absolute, names are as in the file, and
    nothing else of the file (its other scenes, data kept by a fake user) is in the session.

    Blender evaluates the file's scene at the end of the read: the relative paths and the
    simulation caches (caches.keep_caches_inside) are seen to just before, in a load_post
    handler, which Blender runs first."""
    from .caches import keep_caches_inside

    global _read_base
    folder = os.path.dirname(os.path.abspath(path))
    failed: list[BaseException] = []
    # Reading a file resets Python's state of the session, which an append keeps: the driver
    # namespace (functions a script gave the scene's Python drivers) and the handlers not
    # marked persistent. Both are given back: the namespace before Blender evaluates the scene.
    namespace = dict(bpy.app.driver_namespace)
    handlers = {
        kind: list(getattr(bpy.app.handlers, kind))
        for kind in dir(bpy.app.handlers)
        if isinstance(getattr(bpy.app.handlers, kind), list)
    }

    @bpy.app.handlers.persistent
    def before_evaluation(*_args):
        bpy.app.handlers.load_post.remove(before_evaluation)
        for key, value in namespace.items():
            bpy.app.driver_namespace.setdefault(key, value)
        try:
            bpy.data.file_path_foreach(lambda block, text, _meta: _absolute(block, text, folder))
            keep_caches_inside(bpy.data.objects)
        except Exception as e:  # noqa: BLE001 (a handler's exception is only printed: raised below)
            failed.append(e)

    bpy.app.handlers.load_post.append(before_evaluation)
    try:
        bpy.ops.wm.read_homefile(filepath=str(path), load_ui=False)
    except RuntimeError as e:  # changed or removed since scene_names read it
        raise BaseSceneError(f"could not read {path.as_posix()}: {str(e).strip().splitlines()[-1]}") from None
    finally:
        if before_evaluation in bpy.app.handlers.load_post:
            bpy.app.handlers.load_post.remove(before_evaluation)
        for kind, functions in handlers.items():
            now = getattr(bpy.app.handlers, kind)
            now.extend(f for f in functions if f not in now)
    if failed:
        raise failed[0]
    scene = bpy.data.scenes.get(name)
    if scene is None or bpy.data.filepath:
        raise BaseSceneError(f"could not read scene {name!r} of {path.as_posix()}")
    _read_base = (os.path.normpath(os.path.abspath(path)), tuple(bpy.data.version))
    _keep_only(scene)
    for wm in bpy.data.window_managers:
        for window in wm.windows:
            window.scene = scene
    return scene


def _absolute(block, text: str, folder: str) -> str | None:
    """`text`, a path of `block` relative to the .blend read (//...), made absolute, as an
    append makes it; None to leave it (absolute, or relative to the library it is linked from)."""
    if not text.startswith("//") or getattr(block, "library", None) is not None:
        return None
    folder_of = text.endswith(("/", "\\"))  # a folder's path keeps its closing separator, as Blender's does
    return os.path.normpath(os.path.join(folder, text[2:])) + (os.sep if folder_of else "")


def _keep_only(scene) -> None:
    """Remove every data-block `scene` does not use, directly or through others (what an
    append of it would not bring), and the libraries nothing is then linked from."""
    users = bpy.data.user_map()
    uses: dict = {}
    for block, its_users in users.items():
        for user in its_users:
            uses.setdefault(user, set()).add(block)
    kept, todo = {scene}, [scene]
    while todo:
        for block in uses.get(todo.pop(), ()):
            if block not in kept:
                kept.add(block)
                todo.append(block)
    dropped = [
        b
        for b in users
        if b not in kept and type(b).__name__ not in _SESSION_TYPES and not isinstance(b, bpy.types.Library)
    ]
    if dropped:
        bpy.data.batch_remove(dropped)
    linked = _linked_from()
    unused = [lib for lib in bpy.data.libraries if lib not in linked]
    if unused:
        bpy.data.batch_remove(unused)


def load_blend_scene(path: str | Path, wanted: str = "", in_open_session: bool = False) -> bpy.types.Scene:
    """Replace the session by the chosen scene of `path` with everything it uses: read
    whole then pruned (read_blend_scene, where reads_whole_file) or appended into an
    emptied session, as always `in_open_session` (the UI's recordings and checks, which
    undo takes back). Then prepare_base_scene.

    Names stay exactly as in the file (the session holds nothing they could clash with),
    so object names, paths and instance ids equal those of the file opened in Blender.
    """
    path = Path(path)
    if bpy.data.filepath and Path(bpy.data.filepath).resolve() == path.resolve():
        # The file open in this session (`blender -b shop.blend -P run.py`): Blender cannot
        # append from it. Headless, the session is emptied (new_scene would do it below, too
        # late for reading the scene names), then it is a file like any other.
        if not bpy.app.background:  # in the UI, emptying the session would end the running operator
            raise BaseSceneError(
                f"{path.as_posix()} is the file open in Blender: record it with Record: Open Scene in the recorder "
                "panel (or name another file in [scene] blend)"
            )
        bpy.ops.wm.read_homefile(use_empty=True)
    forget_read_base()  # an earlier run's: this run's base is read (or appended) below
    name = choose_scene(path, scene_names(path), wanted)
    if reads_whole_file() and not in_open_session:
        scene = read_blend_scene(path, name)
    else:
        scene = _append_scene(path, name)
    if bpy.context.scene != scene:
        # Background without windows: context.scene is the file's first scene.
        raise BaseSceneError(f"could not make scene {name!r} of {path.as_posix()} the current scene")
    scene.name = name
    world_nodes_as_in_5(scene.world)
    return scene


def _append_scene(path: Path, name: str) -> bpy.types.Scene:
    """Empty the session and append scene `name` of `path` with everything it uses."""
    from .build import new_scene
    from .caches import keep_caches_inside

    holder = new_scene()
    holder.name = "sdg_holder"
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        dst.scenes = [name]
        if len(src.objects) >= MANY_OBJECTS:  # said before the append, which is the long part
            logging.getLogger("sdg").info(many_objects_note(path, name, len(src.objects)))
    scene = dst.scenes[0]
    keep_caches_inside(scene.objects)  # before the scene is first evaluated
    for wm in bpy.data.window_managers:
        for window in wm.windows:
            window.scene = scene
    bpy.data.scenes.remove(holder)
    return scene


def prepare_base_scene(scene) -> str:
    """Evaluate transforms (an appended object's matrix_world is only valid once the depsgraph
    ran) and render one view layer: the first enabled for rendering. Returns a note naming
    the other enabled ones, left out ('' if none)."""
    layers = [vl for vl in scene.view_layers if vl.use] or list(scene.view_layers[:1])
    for vl in scene.view_layers:
        vl.use = vl == layers[0]
    layers[0].update()
    return view_layers_note([vl.name for vl in layers])


def view_layers_note(enabled: list[str]) -> str:
    """A scene with several view layers enabled for rendering: Blender renders each (its
    compositor may combine them); the run records the first alone, so what only the others
    show was left out of images and labels without a word."""
    if len(enabled) < 2:
        return ""
    others = ", ".join(repr(n) for n in enabled[1:])
    return (
        f"the base scene renders {len(enabled)} view layers; the run records the first, {enabled[0]!r}, alone "
        f"(its compositor, which may combine them, does not run): what only {others} "
        f"{'shows' if len(enabled) == 2 else 'show'} is in no image and no label. To record another, "
        "make it the only one with Use for Rendering on"
    )


def render_view_layer(scene):
    return next((vl for vl in scene.view_layers if vl.use), scene.view_layers[0])


def material_override_note(scene) -> str:
    """The rendered view layer's Material Override (a clay render): Cycles renders every
    object with that one material, so the objects' own materials and the colours, textures
    and materials the run sets (asset colours, material, texture, material_swap,
    procedural_texture randomizers) show in no image, though drawn and logged. A sentence
    saying so, or ''."""
    layer = render_view_layer(scene)
    override = layer.material_override
    if override is None:
        return ""
    return (
        f"the base scene's view layer {layer.name!r} renders every object with the material {override.name!r} "
        "(View Layer > Override > Material): the objects' own materials, and the colours, textures and materials "
        "the run sets ([[assets]] colours; material, texture, material_swap and procedural_texture randomizers), "
        "show in no image, though drawn and logged. To show them, clear the override in the .blend"
    )


def world_override_note(scene) -> str:
    """The rendered view layer's World Override: Cycles renders that world in place of the
    scene's, so the world the run sets or randomizes ([scene] world, the world, world_hdri,
    sky and world_property randomizers) shows in no image and lights nothing, though drawn
    and logged. A sentence saying so, or ''."""
    layer = render_view_layer(scene)
    override = layer.world_override
    if override is None:
        return ""
    return (
        f"the base scene's view layer {layer.name!r} renders the world {override.name!r} in place of the scene's "
        "(View Layer > Override > World): the world the run sets or randomizes ([scene] world; world, world_hdri, "
        "sky and world_property randomizers) shows in no image and lights nothing, though drawn and logged. To "
        "show it, clear the override in the .blend"
    )


def alpha_threshold_note(scene, render) -> str:
    """The rendered view layer's Alpha Threshold (View Layer > Passes), which decides where
    a half-transparent surface owns a pixel in the masks and depth, where it is not the run's
    `[render] alpha_threshold`, which replaces it. A sentence saying so, or ''."""
    layer = render_view_layer(scene)
    theirs = round(float(layer.pass_alpha_threshold), 6)
    if abs(theirs - render.alpha_threshold) <= 1e-6:
        return ""
    return (
        f"the base scene's view layer {layer.name!r} has Alpha Threshold {theirs:g} (View Layer > Passes): the "
        f"run's [render] alpha_threshold = {render.alpha_threshold:g} replaces it (masks and depth: a surface owns "
        f"a pixel when its alpha is at least this). To keep the file's, set in [render]: alpha_threshold = {theirs:g}"
    )


def environment_filter_note(scene) -> str:
    """The rendered view layer's Filter > Environment off: Cycles renders the background black
    though the world still lights the scene, so a world the run sets or randomizes
    shows in no image's background. Kept (the file's look), named. A sentence, or ''."""
    layer = render_view_layer(scene)
    if layer.use_sky:
        return ""
    return (
        f"the base scene's view layer {layer.name!r} renders no environment (View Layer > Filter > Environment "
        "off), which the run keeps: the background is black and the world the run sets or randomizes "
        "([scene] world; world, world_hdri, sky and world_property randomizers) lights the scene but shows in no "
        "image's background, though drawn and logged. To show it, turn Environment on in the .blend"
    )


def surfaces_filter_note(scene) -> str:
    """The rendered view layer's Filter > Surfaces off: Cycles renders no surface (meshes,
    curves, text: the objects the run adds too), so every image and mask is background, each
    frame warned of alone without the cause. Kept (the file's setting), named. A sentence, or ''."""
    layer = render_view_layer(scene)
    if layer.use_solid:
        return ""
    return (
        f"the base scene's view layer {layer.name!r} renders no surfaces (View Layer > Filter > Surfaces off), "
        "which the run keeps: no object's surface (meshes, curves, text; the objects the run adds too) shows "
        "in any image or mask, so the frames are background. To render them, turn Surfaces on in the .blend"
    )


def evaluated_depsgraph(scene):
    """The evaluated depsgraph of the view layer the run renders (render_view_layer), its
    changes written back to the objects (matrix_world). Not bpy.context's: without a window
    Blender's context takes the first view layer *not* used for rendering, so in a .blend with
    several layers the geometry was read from one the run does not render (an object only the
    rendered layer includes had its 3D box at its pose in the file and no modifiers)."""
    layer = render_view_layer(scene)
    layer.update()
    return layer.depsgraph


def cameras_left_out(scene) -> dict[str, str]:
    """The scene's cameras the artist left out of the renders, each with why: disabled for
    rendering, or in no collection the recorded view layer renders."""
    from .instancing import render_collections

    rendered = render_collections(scene)
    why = {}
    for o in scene.objects:
        if o.type != "CAMERA":
            continue
        if not any(c.as_pointer() in rendered for c in o.users_collection):
            why[o.name] = "its collection is excluded from the view layer or disabled for rendering"
        elif o.hide_render:
            why[o.name] = "disabled for rendering"
    return why


def name_matches(name: str, pattern: str) -> bool:
    """Whether a glob of [scene] cameras / lights matches an object's name, both in one
    Unicode form: 'Cäm*' typed composed (NFC) and a name spelt decomposed (NFD, as macOS's
    file names give it) print alike."""
    return fnmatch.fnmatchcase(unicodedata.normalize("NFC", name), unicodedata.normalize("NFC", pattern))


def scene_cameras(scene, patterns: list[str]) -> tuple[list[str], list[str]]:
    """(names, left out) of the scene's camera objects, sorted: those matching `patterns`;
    with none, those the artist left in the renders: not disabled for rendering and in a
    collection the recorded view layer renders (not excluded, not disabled for rendering);
    the others are left out, each named with why ("'CamB' (disabled for rendering)")."""
    cameras = sorted((o for o in scene.objects if o.type == "CAMERA"), key=lambda o: o.name)
    names = [o.name for o in cameras]
    if not patterns:
        why = cameras_left_out(scene)
        left_out = [f"{name!r} ({why[name]})" for name in names if name in why]
        return [name for name in names if name not in why], left_out
    chosen = sorted({n for n in names for p in patterns if name_matches(n, p)})
    if not chosen:
        # The scene named: a camera of another scene of the file was told only the recorded
        # scene's cameras, as if the file had no other.
        raise FieldError(
            "scene.cameras",
            patterns,
            f"patterns matching a camera of scene {scene.name!r}, the one the run records (its cameras: {names}; "
            "[scene] scene chooses the scene of the .blend)",
        )
    return chosen, []


def scene_lights(scene, patterns: list[str]) -> dict[str, bpy.types.Object]:
    """The scene's lights matching `patterns`; the others are switched off for the run. A
    pattern matching none (but "*", all of them if any) is refused: a misspelt name would
    switch off lights the user meant to keep."""
    names = sorted(o.name for o in scene.objects if o.type == "LIGHT")
    unmatched = [p for p in patterns if p != "*" and not any(name_matches(n, p) for n in names)]
    if unmatched:
        raise FieldError(
            "scene.lights",
            patterns,
            f"patterns matching a light of the scene ({', '.join(json.dumps(p) for p in unmatched)} "
            f"{'matches' if len(unmatched) == 1 else 'match'} none; "
            f"its lights: {names})",
        )
    kept = {}
    for o in scene.objects:
        if o.type != "LIGHT":
            continue
        if any(name_matches(o.name, p) for p in patterns):
            kept[o.name] = o
        else:
            o.hide_render = True
    return kept


def check_free_names(scene, names: list[tuple[str, str, str, str]]) -> None:
    """Parameter-file cameras, lights and assets must not take a name the base scene uses
    (Blender would rename the new object silently and targets would miss it). `names`:
    (file, field, value given, object name it makes)."""
    for file, where, given, name in names:
        if name in bpy.data.objects:
            made = "" if name == given else f" (its object {name!r})"
            raise FieldError(
                where,
                given,
                f"a name the base scene does not use{made}: it has an object of that name (to change that "
                "object, target it by name in [[randomizers]])",
                file,
            )


def _linked_from() -> set:
    """The libraries some data of the session is linked from. An append keeps a Library of
    the file it read (the base .blend, an asset's), from which nothing is linked."""
    found = set()
    for attr in dir(bpy.data):
        blocks = getattr(bpy.data, attr, None)
        if attr != "libraries" and isinstance(blocks, bpy.types.bpy_prop_collection):
            found.update(b.library for b in blocks if getattr(b, "library", None) is not None)
    return found


def _read_files():
    """(kind, data-block name, path as stored, absolute path) of every file the session's
    data reads: images (not packed; a UDIM image's tiles each), linked libraries, volumes,
    Alembic / USD caches, the fonts of text objects, IES light profiles."""
    sources = ("FILE", "SEQUENCE", "MOVIE", "TILED")
    blocks = [("image", i) for i in bpy.data.images if i.users and i.source in sources]
    linked = _linked_from()
    blocks += [("library", lib) for lib in bpy.data.libraries if lib in linked]
    blocks += [("volume", v) for v in bpy.data.volumes if v.users]
    blocks += [("cache file", c) for c in bpy.data.cache_files if c.users]
    fonts = {
        f.name_full: f
        for c in bpy.data.curves
        if c.users and isinstance(c, bpy.types.TextCurve)
        for f in (c.font, c.font_bold, c.font_italic, c.font_bold_italic)
        if f is not None and f.filepath != "<builtin>"
    }
    blocks += [("font", f) for _, f in sorted(fonts.items())]
    for kind, block in blocks:
        if (
            getattr(block, "packed_file", None) is not None
            or len(getattr(block, "packed_files", ()))
            or not block.filepath
        ):
            continue
        path = bpy.path.abspath(block.filepath, library=getattr(block, "library", None))
        if kind == "image" and block.source == "TILED":  # a file per UDIM tile
            for tile in block.tiles:
                yield (
                    kind,
                    block.name,
                    _tile_path(block.filepath, tile.number),
                    os.path.normpath(_tile_path(path, tile.number)),
                )
        else:
            yield kind, block.name, block.filepath, os.path.normpath(path)
    # IES light profiles read from a file (an IES Texture node set to External).
    owners = [b for c in (bpy.data.materials, bpy.data.lights, bpy.data.worlds) for b in c if b.users]
    trees = [(b.name, b.node_tree, b.library) for b in owners if getattr(b, "node_tree", None) is not None]
    trees += [(g.name, g, g.library) for g in bpy.data.node_groups if g.users and g.bl_idname == "ShaderNodeTree"]
    for name, tree, library in sorted(trees, key=lambda t: t[0]):
        for node in tree.nodes:
            if node.bl_idname == "ShaderNodeTexIES" and node.mode == "EXTERNAL" and node.filepath:
                path = bpy.path.abspath(node.filepath, library=library)
                yield "IES profile", name, node.filepath, os.path.normpath(path)


def _tile_path(path: str, number: int) -> str:
    """A UDIM image's path for its tile `number` (1001, ...): Blender's <UDIM> and <UVTILE>
    tokens replaced."""
    u, v = (number - 1001) % 10 + 1, (number - 1001) // 10 + 1
    return path.replace("<UDIM>", str(number)).replace("<UVTILE>", f"u{u}_v{v}")


def missing_files() -> list[str]:
    """Files the session's data reads that are not there (Blender renders a missing image
    magenta and leaves out missing linked data)."""
    return [f"{kind} {name!r}: {stored}" for kind, name, stored, path in _read_files() if not os.path.exists(path)]


def newer_files_note() -> str:
    """The .blend files the session read (the base scene, .blend assets, linked libraries)
    that a newer Blender saved: this one reads of them what it knows, and what it lacks is
    left out (Blender's 'File written by newer Blender binary ..., expect loss of data!',
    which an append does not say). A sentence naming them, or ''."""
    this = tuple(bpy.app.version_file)
    read = [(os.path.normpath(bpy.path.abspath(lib.filepath)), tuple(lib.version)) for lib in bpy.data.libraries]
    if _read_base is not None:  # the base .blend read whole, of which the session keeps no Library
        read.append(_read_base)
    newer = [f"{path} (Blender {version[0]}.{version[1]})" for path, version in read if version > this]
    if not newer:
        return ""
    return (
        f"files saved by a Blender newer than this one ({bpy.app.version_string.split()[0]}), which reads of them "
        f"only what it knows: what they use that it lacks is left out without a word (Blender: 'expect loss of "
        f"data'): {_listed_names(sorted(newer))}. Render with that Blender or a later one"
    )


def scene_files() -> list[dict]:
    """The files the session's data reads that are there, with their size and SHA-256 (for
    the audit: what a dataset was made from besides the .blend itself)."""
    from ..config.schema import file_sha256

    out = [
        {"kind": kind, "name": name, "path": path, "bytes": os.path.getsize(path), "sha256": file_sha256(Path(path))}
        for kind, name, _stored, path in _read_files()
        if os.path.isfile(path)
    ]
    return sorted(out, key=lambda e: (e["kind"], e["path"]))


def model_files(config) -> list[dict]:
    """The model files of the run's [[assets]] (`file`, an asset pool's `files`), with their
    size and SHA-256: imported, not read by the session's data, so scene_files has not them."""
    from ..config.schema import file_sha256

    paths = sorted({os.path.normpath(f) for a in config.assets for f in ([a.file] if a.file else a.pool_files)})
    return [
        {"kind": "model", "name": Path(p).name, "path": p, "bytes": os.path.getsize(p), "sha256": file_sha256(Path(p))}
        for p in paths
        if os.path.isfile(p)
    ]


def randomizer_files(config) -> list[dict]:
    """The images the run's randomizers read from disk (a texture's or HDRI's folder, its
    maps included; background photos), with their size and SHA-256: loaded as frames draw
    them, after scene_files has looked."""
    from ..config.schema import file_sha256
    from ..sampling.appearance import FolderRandomizer, list_images

    found: dict[str, str] = {}  # path -> the randomizer's type
    for spec in config.randomizers:
        if isinstance(spec, FolderRandomizer) and spec.folder is not None:
            files = list_images(spec.folder, spec.EXTENSIONS, spec.options.get("recursive", False))
        elif spec.name == "background":
            files = list(spec.paths.values())
        else:
            continue
        for f in files:
            found.setdefault(os.path.normpath(f), spec.name)
    return [
        {"kind": kind, "name": Path(p).name, "path": p, "bytes": os.path.getsize(p), "sha256": file_sha256(Path(p))}
        for p, kind in sorted(found.items())
        if os.path.isfile(p)
    ]


_ANIMATED = (
    "objects",
    "meshes",
    "shape_keys",
    "materials",
    "node_groups",
    "lights",
    "cameras",
    "worlds",
    "scenes",
    "curves",
    "armatures",
)


def failed_drivers() -> list[str]:
    """Drivers Blender could not evaluate, once the scene has been: most often a Python
    expression, which Blender does not run in a file it does not trust ("Auto Run Python
    Scripts"; a run never turns it on: a parameter file runs no code). The driven value is 0."""
    found = []
    for kind in _ANIMATED:
        for block in getattr(bpy.data, kind, ()):
            anim = getattr(block, "animation_data", None)
            for fc in anim.drivers if anim is not None else ():
                if not fc.driver.is_valid:
                    index = f"[{fc.array_index}]" if fc.array_index else ""
                    found.append(f"{block.name!r} {fc.data_path}{index} = {fc.driver.expression!r}")
    return found


COLOUR_SETTINGS = ("view_transform", "look", "exposure", "gamma")  # what [render] can match


def colour_differences(scene, render) -> tuple[list[str], dict]:
    """What of a base scene's colour management the run's RGB does not reproduce, and the
    [render] values that would reproduce it (for those it can)."""
    from ..config.schema import VIEW_TRANSFORMS

    v, notes, match = scene.view_settings, [], {}
    theirs = {"view_transform": v.view_transform, "look": v.look or "None", "exposure": v.exposure, "gamma": v.gamma}

    def text(value) -> str:
        return f"{value:g}" if isinstance(value, float) else repr(value)

    for name in COLOUR_SETTINGS:
        value, mine = theirs[name], getattr(render, name)
        same = abs(value - mine) <= 1e-6 if isinstance(mine, float) else value == mine
        if same:
            continue
        label = name.replace("_", " ")
        if name == "view_transform" and value not in VIEW_TRANSFORMS:
            notes.append(f"{label} {text(value)} (not one the run offers: {', '.join(VIEW_TRANSFORMS)})")
            continue
        notes.append(f"{label} {text(value)} (the run's: {text(mine)})")
        match[name] = round(value, 6) if isinstance(mine, float) else value
    if v.use_curve_mapping:
        notes.append("curves (not reproduced)")
    if white_balance_on(v):
        notes.append("white balance (not reproduced)")
    if scene.display_settings.display_device != "sRGB":
        notes.append(f"display {scene.display_settings.display_device!r} (the run's: 'sRGB')")
    return notes, match


def image_differences(scene, render) -> tuple[list[str], dict]:
    """What of a base scene's image (Output > Format: size at its percentage; Film >
    Transparent; a Render Region, named only) the run does not make, and the [render] values
    that make it: a scene
    graded for a transparent film or framed at its own size otherwise records differently
    from what the artist renders, without a word."""
    r = scene.render
    size = r.resolution_x * r.resolution_percentage // 100, r.resolution_y * r.resolution_percentage // 100
    notes, match = [], {}
    if size != (render.width, render.height):
        percent = f" ({r.resolution_x} x {r.resolution_y} at {r.resolution_percentage}%)" * (
            r.resolution_percentage != 100
        )
        from ..config.schema import MAX_PIXELS, MAX_RESOLUTION, MIN_RESOLUTION

        runs = f"the run's: {render.width} x {render.height}"
        if min(size) < 1:  # Blender's render refuses it ("Image too small"): no size to match
            notes.append(f"size {size[0]} x {size[1]}{percent}, too small for Blender to render ({runs})")
        elif min(size) < MIN_RESOLUTION or max(size) > MAX_RESOLUTION or size[0] * size[1] > MAX_PIXELS:
            notes.append(  # a size [render] refuses is no value to set
                f"size {size[0]} x {size[1]}{percent} ({runs}; it renders {MIN_RESOLUTION} .. {MAX_RESOLUTION} "
                "pixels a side, 8192 x 8192 in all)"
            )
        else:
            notes.append(f"size {size[0]} x {size[1]}{percent} ({runs})")
            match.update(width=size[0], height=size[1])
    if bool(r.film_transparent) != render.film_transparent:
        theirs, mine = ("transparent", "opaque") if r.film_transparent else ("opaque", "transparent")
        notes.append(f"film {theirs} (the run's: {mine})")
        match["film_transparent"] = bool(r.film_transparent)
    if r.use_border:  # the run renders the whole frame (capture.render turns the region off)
        cropped = ", cropped to it" if r.use_crop_to_border else ""
        notes.append(
            f"Render Region on (x {r.border_min_x:.3g} .. {r.border_max_x:.3g}, y {r.border_min_y:.3g} .. "
            f"{r.border_max_y:.3g}{cropped}; not reproduced: the run renders and labels the whole frame)"
        )
    if r.use_stamp:  # capture.render turns it off
        notes.append(
            "metadata burnt into the image (Output > Metadata > Burn Into Image; not reproduced: its text, with "
            "the date and render time, would cover what the labels describe and differ from run to run)"
        )
    # capture.render turns the compositor, the sequencer and stereoscopy off.
    nodes = compositor_nodes(scene)
    if nodes:
        notes.append(f"compositor nodes {_listed_names(nodes)} (not reproduced: the frames are the render passes)")
    strips = sequencer_strips(scene)
    if strips:
        notes.append(f"sequencer strips {_listed_names(strips)} (not reproduced: the frames are the render passes)")
    if r.use_multiview:
        notes.append("stereoscopy on (not reproduced: each camera renders one view; a stereo pair is two cameras)")
    return notes, match


# Compositor nodes that pass the render on as it is (to the output, a viewer, the layout).
COMPOSITOR_PLUMBING = {
    "CompositorNodeRLayers",
    "CompositorNodeComposite",
    "CompositorNodeViewer",
    "NodeGroupOutput",
    "NodeFrame",
    "NodeReroute",
}


def compositor_nodes(scene) -> list[str]:
    """The names of the nodes of a scene's compositor, where it runs in Blender's render,
    that change the image or write files (a Glare, a Lens Distortion, a File Output): the
    run's frames are the render passes, which Blender's render would not show as they are."""
    if not scene.render.use_compositing:
        return []
    tree = compositor_tree(scene)
    if tree is None:
        return []
    return sorted(repr(n.name) for n in tree.nodes if n.bl_idname not in COMPOSITOR_PLUMBING and not n.mute)


def sequencer_strips(scene) -> list[str]:
    """The names of the strips Blender's render lays over (or in place of) the scene's image."""
    editor = scene.sequence_editor
    if not scene.render.use_sequencer or editor is None:
        return []
    return sorted(repr(s.name) for s in all_strips(editor) if not s.mute)


def check_colour(scene, render) -> None:
    """[render]'s colour settings can make the RGB here: the view transform must be one this
    Blender has (4.2 has no ACES: said with the views it has, whatever else is missing) and a
    look one of its family (Blender's rule, its colour configuration's names); what needs
    OpenColorIO needs OpenImageIO, which some builds of bpy lack (the 4.2 wheel on PyPI)."""
    from ..colour import has_look, needs_ocio

    v = scene.view_settings
    before = v.view_transform, v.look
    try:
        v.view_transform = render.view_transform
    except TypeError as e:  # Blender's message lists its views
        raise FieldError(
            "render.view_transform", render.view_transform, f"a view transform this Blender offers ({e})"
        ) from None
    try:
        if has_look(render.look):
            v.look = render.look
    except TypeError:
        raise FieldError(
            "render.look",
            render.look,
            f"a look of the {render.view_transform!r} view transform (looks are named as in Blender's Color "
            'Management panel, e.g. "AgX - Punchy" for AgX, "Medium High Contrast" for Filmic and Standard)',
        ) from None
    finally:
        v.view_transform, v.look = before
    if needs_ocio(render.view_transform, render.look):
        from ..capture.exr import _oiio

        try:
            _oiio()
        except ImportError:
            field, value = (
                ("render.look", render.look)
                if has_look(render.look)
                else ("render.view_transform", render.view_transform)
            )
            raise FieldError(
                field,
                value,
                "a view transform and look this Blender can apply: this one needs OpenImageIO, which this "
                "Blender's Python does not have (the bpy 4.2 wheel on PyPI lacks it); use view_transform "
                "Standard or Raw without a look here",
            ) from None


def meters_per_unit(scene) -> float:
    """Metres in one Blender unit: the scene's unit scale (a base .blend's; 1.0 otherwise), as
    its shortest decimal (Blender keeps it in float32: 0.01, not 0.009999999776). The frames'
    Camera.meters_per_unit, by which writers whose format has a unit convert lengths."""
    return float(str(np.float32(scene.unit_settings.scale_length)))


def unit_note(scene) -> str:
    """A base scene's unit scale other than 1: its lengths are not metres."""
    scale = meters_per_unit(scene)
    if scale == 1.0:
        return ""
    return (
        f"the base scene's unit scale is {scale:g} (one Blender unit is {scale:g} m): lengths in the annotations "
        "(depth, distances, 3D boxes, point clouds, poses, camera parameters) and in the parameter file are "
        f"in Blender units; multiply by {scale:g} for metres (camera_params' metersPerSceneUnit)"
    )


ENGINE_NAMES = {"BLENDER_EEVEE": "EEVEE", "BLENDER_EEVEE_NEXT": "EEVEE", "BLENDER_WORKBENCH": "Workbench"}


def engine_note(scene) -> str:
    """A base scene set to render with another engine than Cycles (EEVEE, a new file's
    default; Workbench): the run renders with Cycles, whose passes make the labels, so its
    images are Cycles' of the scene, not what the artist's F12 gives; said, not silently."""
    engine = scene.render.engine
    if engine == "CYCLES":
        return ""
    name = ENGINE_NAMES.get(engine, engine)
    return (
        f"the base scene renders with {name} (Render Properties > Render Engine); the run renders with Cycles, "
        f"whose passes make the labels: its images are Cycles' render of the scene, not {name}'s (what only "
        f"{name} shows, such as Shader to RGB or its own light and shadow settings, is not reproduced)"
    )


def motion_blur_note(scene, annotators) -> str:
    """A base scene rendering with motion blur (Render > Motion Blur) in a run with the
    motion_vectors annotator: Cycles makes no vector pass with motion blur, so the run turns
    the blur off and its images are sharp where the artist's are blurred; said, not silently."""
    if not scene.render.use_motion_blur or "motion_vectors" not in annotators:
        return ""
    return (
        "the base scene renders with motion blur (Render Properties > Motion Blur), which this run's images "
        "leave out: the motion_vectors annotator needs Cycles' vector pass, which Cycles does not make with "
        "motion blur. To keep the blur, leave motion_vectors out (forward_flow and backward_flow give the "
        "motion in clips)"
    )


def frame_rate_note(scene, fps: float) -> str:
    """A base scene whose frame rate is not the clips' (`sequence.fps`, which the run sets):
    what follows time rather than frames in it (simulations, Scene Time, drivers on time)
    would play at another speed than in Blender, without a word."""
    theirs = scene.render.fps / scene.render.fps_base
    if abs(theirs - fps) <= 1e-9 * fps:
        return ""
    return (
        f"the base scene plays at {theirs:.10g} fps, the run's clips at {fps:.10g} ([sequence] fps): what in it "
        "follows time rather than frames (simulations, Scene Time, drivers on time) plays at the run's rate, "
        f"not as in Blender. To match it, set in [sequence]: fps = {theirs:.10g}"
    )


def frame_range_note(scene, start: int, length: int, least: int | None = None, why: str = "") -> str:
    """A base scene's clips showing scene frames outside its own frame range (Output >
    Frame Range, what the artist renders): its animation is not played there (before the
    range the first pose holds), which was recorded without a word. `least`: the first
    scene frame the run lets a clip start at (`why`: what sets it; an initial_velocity's 2),
    so the values said to match are ones the run takes (start_frame = 1 was said to a run
    that refuses it)."""
    first, last = scene.frame_start, scene.frame_end
    if first <= start and start + length - 1 <= last:
        return ""
    begin = first if least is None else max(first, least)
    said = (
        f"the clips show scene frames {start} .. {start + length - 1}, outside the base scene's frame range "
        f"{first} .. {last} (Output > Frame Range)."
    )
    if begin > last:
        return (
            f"{said} A clip starts at scene frame {least} or later ({why}): to match it, widen the frame range "
            f"in the .blend to end at {least + length - 1} or later"
        )
    match = f"start_frame = {begin}"
    if length > last - begin + 1:
        match += f", clip_length = {last - begin + 1} (or fewer)"
    if begin != first:
        match += f" ({why}: a clip starts at scene frame {least} or later)"
    return f"{said} To match it, set in [sequence]: {match}"


def frame_step_note(scene) -> str:
    """A base scene whose Frame Step (Output > Frame Range > Step) is not 1: Blender renders
    every n-th frame of it, the run's clips show every scene frame (start_frame + i), so
    the animation advanced n times less per frame than in the artist's render, without a
    word. A sentence saying so, or ''."""
    step = scene.frame_step
    if step == 1:
        return ""
    return (
        f"the base scene's Frame Step is {step} (Output > Frame Range: Blender renders every {step} frames); "
        "the clips show every scene frame (frame i of a clip is scene frame start_frame + i), so its animation "
        f"moves {step} times less from one frame to the next than in Blender's render (not reproduced: no "
        "[sequence] setting steps frames)"
    )


def background_set_note(scene) -> str:
    """A scene's background set (and the sets of that one): Blender renders its objects
    with the scene, but they are not the scene's objects, so none gets an instance id."""
    from ..labels.blender import own_labels
    from .instancing import GEOMETRY_TYPES

    sets, current = [], scene.background_set
    while current is not None and current not in sets and current != scene:
        sets.append(current)
        current = current.background_set
    if not sets:
        return ""
    shown = sorted(
        {o.name: o for s in sets for o in s.objects if o.type in GEOMETRY_TYPES and not o.hide_render}.values(),
        key=lambda o: o.name,
    )
    names = [o.name + (" (labelled)" if own_labels(o) else "") for o in shown]
    return (
        f"scene {scene.name!r} has a background set, {', '.join(repr(s.name) for s in sets)} (Properties > Scene > "
        f"Background Scene): Blender renders its {len(shown)} object(s) with it, in the images, but they are in no "
        f"mask and no box: {_listed_names(names)}. To label them, link their collections into scene {scene.name!r}"
    )


def camera_markers_note(scene) -> str:
    """Timeline markers bound to cameras (Ctrl+B in the timeline) switch the scene's camera
    as Blender renders a frame, not only as its frame changes: every camera the run records
    rendered the marker's camera's view into its own folder, labelled with its own pose. The
    run renders each of its cameras in turn (capture.render unbinds such markers for its
    renders, in the run's scene only). Returns a note naming them ('' if none)."""
    bound = sorted((m for m in scene.timeline_markers if m.camera is not None), key=lambda m: (m.frame, m.name))
    if not bound:
        return ""
    named = [f"frame {m.frame} ({m.name!r}): {m.camera.name!r}" for m in bound]
    return (
        f"the base scene's timeline markers bind cameras, {_listed_names(named)}, to which Blender's renders "
        "switch from those frames on: the run records each of its cameras in its own folder at every frame and "
        "switches none (the markers are unbound in the run's scene, not in the file). To record one camera, "
        "name it in [scene] cameras"
    )


def _listed_names(names: list[str], most: int = 10) -> str:
    more = len(names) - most
    return ", ".join(names[:most]) + (f" and {more} more" if more > 0 else "")


PROJECTIONS = ("PERSP", "ORTHO")  # what the labels' geometry (camera_info) describes


# What thermal and NIR cameras and LiDARs read from custom properties (a base scene's, a
# model file's): (lowest, highest or None, in words), as the parameter file's values are bounded.
INFRARED_RANGES = {
    TEMPERATURE_PROP: (0.0, None, "kelvin >= 0"),
    EMISSIVITY_PROP: (0.0, 1.0, "a number 0 .. 1"),
    NIR_REFLECTANCE_PROP: (0.0, 1.0, "a number 0 .. 1"),
}
SENSOR_PROPERTY_RANGES = {**INFRARED_RANGES, REFLECTANCE_PROP: (0.0, 1.0, "a number 0 .. 1")}
CAMERA_SENSORS = ("visible", "thermal", "nir")


def shown(value):
    """A custom property's value as Python writes it: an array or group of Blender's as
    the list or dict it holds (not `<bpy id property array [2]>`)."""
    for method in ("to_list", "to_dict"):
        if hasattr(value, method):
            return getattr(value, method)()
    return value


def sensor_property_problem(owners) -> str | None:
    """What is expected of the first (kind, owner) pair whose thermal / NIR / LiDAR custom
    property is not a number in its range (a bad one was clamped, rendered as given or
    failed with 'could not convert string to float'); None when all are."""
    for kind, owner, name in owners:
        for prop, (low, high, words) in SENSOR_PROPERTY_RANGES.items():
            if prop not in owner:
                continue
            value = owner[prop]
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not (number and value >= low and (high is None or value <= high)):
                panel = "; the Thermal / NIR panel sets it" if prop in INFRARED_RANGES else ""
                return (
                    f"sensor custom properties in their range: {kind} {name!r} has {prop} = {shown(value)!r} "
                    f"(expected {words}{panel})"
                )
    return None


def property_owners(objects) -> list[tuple]:
    """(kind, owner, name) of the objects and, after them, of their materials."""
    materials = {slot.material for o in objects for slot in o.material_slots if slot.material is not None}
    return [("object", o, o.name) for o in objects] + [
        ("material", m, m.name) for m in sorted(materials, key=lambda m: m.name)
    ]


def check_infrared_properties(scene, blend: str = "") -> None:
    """The thermal / NIR / LiDAR custom properties of a base scene's objects, their materials
    and its world are numbers in their range, and a camera's sdg_sensor is a sensor: else
    refused naming the owner."""
    owners = property_owners(scene.objects)
    if scene.world is not None:
        owners.append(("world", scene.world, scene.world.name))
    problem = sensor_property_problem(owners)
    if problem:
        raise FieldError("scene.blend", blend, problem)
    for owner in scene.objects:
        if owner.type == "CAMERA" and SENSOR_PROP in owner:
            value = owner[SENSOR_PROP]
            if value not in CAMERA_SENSORS:
                raise FieldError(
                    "scene.blend",
                    blend,
                    f"a camera sensor: camera {owner.name!r} has {SENSOR_PROP} = {shown(value)!r} (expected one of "
                    f"{', '.join(CAMERA_SENSORS)}; the Thermal / NIR panel sets it)",
                )
            if value != "visible":
                check_camera_sensor_settings(owner, blend)


def check_scene_labels(blend: str = "") -> None:
    """Every label of the base scene (the `semantics` custom property of its objects and
    collections, linked ones and instanced collections too: the session holds only the
    scene and what it uses) parses: else refused naming the owner, its value and the rule,
    before anything is written (it was an error naming neither the .blend nor the property,
    and a newline or a space at an end of a value went into the label files)."""
    from ..labels.blender import own_labels
    from ..labels.parse import LABEL_PROPERTY

    for kind, blocks in (("object", bpy.data.objects), ("collection", bpy.data.collections)):
        for block in sorted(blocks, key=lambda b: b.name):
            try:
                own_labels(block)
            except ValueError as e:
                raise FieldError(
                    "scene.blend",
                    blend,
                    f"labels that parse, in the {LABEL_PROPERTY!r} custom property of {kind} {block.name!r} "
                    f"(the Labels panel sets it): {str(e).split(': ', 1)[-1]}",
                ) from None


def check_unique_names(scene, blend: str = "") -> None:
    """No two objects, nor two collections, of the scene share a name: Blender allows it
    between the file's own data and data linked from a library (or from two libraries), but
    the run tells them apart by name (labels, instance ids, prim paths, targets), so a local
    'Cube' and a linked 'Cube' were one instance, with one's labels and a box around both,
    and a linked collection 'props' beside the file's own 'props' lost the labels and path
    of the collection it is in; refused naming them and where each comes from, before
    anything is written."""

    def origin(block) -> str:
        if block.library is None:
            return "this file's own"
        return f"linked from {block.library.filepath}"

    told = []
    for kind, blocks in (("object", scene.objects), ("collection", scene.collection.children_recursive)):
        seen: dict[str, list] = {}
        for block in blocks:
            seen.setdefault(block.name, []).append(block)
        for name, same in sorted(seen.items()):
            if len(same) > 1:
                told.append(f"{kind} {name!r}: " + ", ".join(origin(b) for b in same))
    if told:
        raise FieldError(
            "scene.blend",
            blend,
            f"objects and collections of distinct names; the scene holds some of one name from different files "
            f"({'; '.join(told)}), which the run, telling them apart by name (labels, instance ids, prim paths, "
            "targets), would take for one: rename the file's own (or the library's)",
        )


def check_scene_keypoint_names(blend: str = "") -> None:
    """No object of the base scene has two keypoint empties of one name among its children
    (kp_tip and its copy kp_tip.001, Blender's Shift+D): the copy's position was taken,
    unsaid; refused naming the parent and both empties, before anything is written."""
    from .keypoints import children_map, keypoint_name

    for parent, children in sorted(children_map().items(), key=lambda pc: pc[0].name):
        seen: dict[str, str] = {}
        for child in sorted(children, key=lambda o: o.name):
            name = keypoint_name(child)
            if name is None:
                continue
            if name in seen:
                raise FieldError(
                    "scene.blend",
                    blend,
                    f"one empty per keypoint name: object {parent.name!r} has the empties {seen[name]!r} and "
                    f"{child.name!r}, both keypoint {name!r} (a name's .001 suffix is not read); delete one or "
                    f"rename it kp_<another name>",
                )
            seen[name] = child.name


def check_scene_skeletons(blend: str = "") -> None:
    """Every keypoint skeleton of the base scene (an object's sdg_skeleton custom property)
    is a JSON list of [name, name] pairs naming keypoints of that object: else refused naming
    the object and its value, before anything is written (a pair of three names stopped the
    run with 'too many values to unpack', a misspelt name dropped its bone unsaid)."""
    from .keypoints import SKELETON_PROPERTY, children_map, entity_keypoints, parse_skeleton

    children = None
    for obj in sorted(bpy.data.objects, key=lambda o: o.name):
        if SKELETON_PROPERTY not in obj:
            continue
        raw = obj[SKELETON_PROPERTY]
        pairs = parse_skeleton(raw)
        if pairs is None:
            raise FieldError(
                "scene.blend",
                blend,
                f"a keypoint skeleton: object {obj.name!r} has {SKELETON_PROPERTY} = {shown(raw)!r} (expected a "
                f'JSON list of [name, name] pairs of its keypoints, e.g. \'[["tip", "base"]]\')',
            )
        if children is None:
            children = children_map()
        points, _ = entity_keypoints(obj, children)
        unknown = sorted({name for pair in pairs for name in pair} - set(points))
        if unknown:
            raise FieldError(
                "scene.blend",
                blend,
                f"a keypoint skeleton: object {obj.name!r} has {SKELETON_PROPERTY} = {shown(raw)!r}, naming "
                f"{', '.join(repr(n) for n in unknown)}, not keypoints of it (its keypoints: "
                f"{', '.join(repr(n) for n in points) or 'none'}; empties below it named kp_<name> or with "
                f"the custom property sdg_keypoint)",
            )


# A thermal / NIR camera of a base scene takes these [[cameras]] fields as sdg_<name> custom properties.
CAMERA_SENSOR_SETTINGS = ("netd", "vignetting", "blur", "palette", "preview_min", "preview_max", "exposure")


def check_camera_sensor_settings(camera, blend: str = "") -> None:
    """A thermal / NIR camera's sdg_ settings, checked as the [[cameras]] fields they stand
    for (an unknown palette fell back to iron without a word, a vignetting of 3 rendered)."""
    from ..config.fields import check_value
    from ..config.problems import Problems
    from ..config.schema import CAMERA_FIELDS

    fields = {f.name: f for f in CAMERA_FIELDS}
    for name in CAMERA_SENSOR_SETTINGS:
        prop = f"sdg_{name}"
        if prop not in camera:
            continue
        problems = Problems("")
        value = camera[prop]
        check_value(problems, fields[name], value if isinstance(value, (int, float, str)) else str(value), prop)
        if problems.items:
            raise FieldError(
                "scene.blend",
                blend,
                f"thermal / NIR camera settings as the [[cameras]] fields: camera {camera.name!r} has {prop} = "
                f"{value!r} (expected {problems.items[0].expected})",
            )


def check_camera_folders(names: list[str], blend: str = "", lidars: list[str] = ()) -> None:
    """The run's cameras (a base scene's among them) and LiDARs name their output
    sub-folders, held to the rule of [[cameras]] entries (writers.paths.sensor_folder_problem):
    not a folder the tool makes there, no two one folder on Windows' and macOS' file systems
    (a LiDAR named as a base scene's camera wrote into that camera's folder)."""
    seen: dict[str, str] = {}
    for name in names:
        problem = sensor_folder_problem(name, seen, f"camera {name!r}")
        if problem:
            raise FieldError(
                "scene.blend", blend, f"{problem}; camera {name!r}: rename it (or leave it out with [scene] cameras)"
            )
    for i, name in enumerate(lidars):
        problem = sensor_folder_problem(name, seen, f"LiDAR {name!r}")
        if problem:
            raise FieldError(f"lidars[{i}].name", name, problem)


def check_bop_dataset_folder(dataset: object, cameras: list[str], blend: str = "") -> None:
    """The bop writer's dataset folder is no recorded camera's output sub-folder (a base
    scene's camera named as the dataset: the BOP files among that camera's)."""
    if not isinstance(dataset, str) or not dataset.strip():
        return
    folder = safe_name(dataset).lower()
    for name in cameras:
        if safe_name(name).lower() == folder:
            raise FieldError(
                "writers.bop.dataset",
                dataset,
                f"a name other than that of the base scene's camera {name!r} (any case): it names the bop "
                f"writer's folder, and {safe_name(name)}/ is that camera's output sub-folder, where the two "
                "writers' files would mix",
            )


def check_projection(cam_obj, blend: str = "") -> None:
    """A panoramic camera (fisheye, equirectangular) or a custom one (Blender 5's OSL camera)
    is refused before anything is written:
    boxes, point clouds and camera parameters are computed for a pinhole or orthographic
    camera, and would not match its image. Only a base scene's camera can be one (`blend`,
    empty for the scene open in Blender)."""
    data = cam_obj.data
    if data.type not in PROJECTIONS:
        if data.type == "PANO":
            kind = f"panoramic ({data.panorama_type.lower().replace('_', ' ')})"
        else:  # Blender 5's CUSTOM: its rays come from an OSL script (its panorama_type is unused)
            kind = f"of type {data.type.capitalize()}"
        raise FieldError(
            "scene.blend",
            blend,
            f"cameras that are perspective or orthographic: camera {cam_obj.name!r} is {kind}, and the labels "
            "describe those two only; set its Type to Perspective or Orthographic (or leave it out with [scene] "
            "cameras)",
        )


# Largest |cos| between two of a camera's (normalized) axes taken as square: a rotation
# read from Blender's float32 matrix is orthogonal to about 1e-7.
SHEAR_TOLERANCE = 1e-5


def camera_transform_problem(cam_obj) -> str:
    """What keeps a camera's world transform from being a rotation and a position, as the
    labels describe it ("" when nothing): a mirror (a negative scale, its own or a
    parent's) or a shear (turned inside a parent scaled unevenly). Cycles renders through
    that transform with each axis scaled to length 1: a mirrored or skewed image. A scale
    alike on the axes, or uneven on the camera's own axes, only sizes the camera: Cycles
    ignores it, and so do the labels."""
    m = cam_obj.matrix_world
    axes = [m.col[k].to_3d() for k in range(3)]
    lengths = [a.length for a in axes]
    if not all(math.isfinite(n) and n > 0.0 for n in lengths):
        return "has a zero scale"
    x, y, z = (a / n for a, n in zip(axes, lengths))
    if x.cross(y).dot(z) < 0:
        return "mirrors the image (a negative scale, of the camera or a parent)"
    if max(abs(x.dot(y)), abs(y.dot(z)), abs(z.dot(x))) > SHEAR_TOLERANCE:
        return "shears the image (the camera is turned inside a parent scaled unevenly)"
    return ""


CAMERA_TRANSFORM_FIX = "Give the camera and its parents positive scales, the same on all three axes for a parent"


def check_camera_transform(cam_obj, blend: str = "") -> None:
    """A camera whose world transform mirrors or shears (camera_transform_problem) is
    refused before anything is written: the labels would not describe its image."""
    problem = camera_transform_problem(cam_obj)
    if problem:
        raise FieldError(
            "scene.blend",
            blend,
            f"cameras placed by a rotation and a position: the world transform of camera {cam_obj.name!r} "
            f"{problem}; Cycles renders it so, and the labels describe an unmirrored, unskewed camera. "
            f"{CAMERA_TRANSFORM_FIX} (or leave it out with [scene] cameras)",
        )
