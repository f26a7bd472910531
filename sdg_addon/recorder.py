"""The recorder: parameter file -> scene -> per frame (sample, apply, render, annotate,
write) -> dataset + audit trail. Used by the headless driver and the UI alike.

Annotation and writing run in worker processes overlapped with the next render (or in
the main thread: see sink.py for why never in threads), bounded so memory stays flat. A
frame counts as finished when its line is in audit/frames*.jsonl, which is appended only
after every file of the frame is on disk; resume skips exactly those.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import json
import logging
import os
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import audit, output
from .annotators import ANNOTATORS
from .backgrounds import PhotoCache, PhotoDraw, camera_background, pillow_decodes
from .config import Config, FieldError
from .config.problems import join
from .config.schema import unused_annotators
from .frame import FrameData, FrameView
from .imaging import camera_image_ops
from .labels.parse import label_targets_given, scene_labels_text
from .progress import Progress
from .sampling import clip_of, sample_frame
from .sampling.cases import (
    apply_overrides,
    assign_frames,
    case_report,
    case_values_that_would_stay,
    case_warnings,
    holds,
    is_quota,
    unknown_case_labels,
    unmatched_case_targets,
)
from .sampling.placement import copies_on_one_spot, moved_after_settling, moved_static_objects, shown_after_placing
from .sampling.randomizers import Pose, target_words
from .sensors import SENSOR_PROP, SensorSpec
from .sensors.thermal import PALETTES
from .sink import FrameSink, SinkSpec, open_sink, reads_labels
from .writers import WRITERS, create_writer
from .writers.base import converted_units_note, removed_parts, unwritten_annotators
from .writers.basic import one_folder_problem
from .writers.coco import channel_not_computed
from .writers.common import SPLIT_CAMERA_NAMED, split_camera_clash, writer_splits
from .writers.yolo import KEYPOINT_CLASSES_FILE

log = logging.getLogger("sdg")


def _other_kind_hint(built, spec, patterns) -> str:
    """What an entry taking objects given a light's or a camera's name is told (Replicator's
    rep.modify.pose and rep.modify.visibility take any prim): the entry that does it here."""
    if spec.target_kind != "objects":
        return ""
    lights, cameras = built.match("lights", patterns), built.match("cameras", patterns)
    if lights and spec.name in ("visibility", "pool"):
        return (
            f" ({', '.join(lights[:3])}: a light; a `light` entry switches one off with `energy = 0`, "
            'e.g. energy = { distribution = "choice", values = [0, 800] })'
        )
    if lights:
        return f" ({', '.join(lights[:3])}: a light; a `light` entry changes one: `location`, `look_at`, `energy`, ...)"
    if cameras:
        return (
            f" ({', '.join(cameras[:3])}: a camera; a `camera` entry places and turns one: `location`, `look_at` "
            "or `rotation`, ...)"
        )
    return ""


class RecorderError(RuntimeError):
    """A problem the user must fix (shown without a traceback)."""


def lights_note(lights, meters_per_unit: float) -> str:
    """For the unit-scale warning: Cycles' fall-off takes a Blender unit for a metre, so in a
    scene in centimetres a point, spot or area light of the file lights 1e4 times less than
    the same light in the scene in metres (its energy is Blender's watts, not a length)."""
    dimmed = [light for light in lights if light.type != "SUN"] if meters_per_unit != 1.0 else []
    if not dimmed:
        return ""
    said = ", ".join(f"{s.name!r} {s.energy:g} W ({s.energy * meters_per_unit**2:g} W)" for s in dimmed)
    first = dimmed[0]
    return (
        "; the point, spot and area lights fall off per Blender unit as Cycles' do per metre, so each lights as "
        f"the energy in brackets would in the scene in metres: {said}; for the light of a scene in metres, give "
        f"energy = {first.energy / meters_per_unit**2:g} for {first.energy:g} W (a NIR camera's illuminator_power is "
        "watts whatever the unit scale)"
    )


def unicode_form_hint(patterns: list[str], names: list[str]) -> str:
    """A hint, where a pattern matches a name only once both are in one Unicode form: 'café'
    typed composed (NFC), a name spelt decomposed (NFD, as macOS's file names give it), print
    alike and differ in their characters. "" where none does."""
    nfc = functools.partial(unicodedata.normalize, "NFC")
    for p in patterns:
        for n in names:
            if not fnmatch.fnmatchcase(n, p) and fnmatch.fnmatchcase(nfc(n), nfc(p)):
                form = "decomposed (NFD)" if n != nfc(n) else "composed (NFC)"
                return (
                    f" (the name {n!r} is spelt {form}, {p!r} otherwise: they print alike but differ in "
                    "their characters; type the name as the scene spells it)"
                )
    return ""


@dataclass
class RunOptions:
    output: Path
    frames: range
    resume: bool = False
    overwrite: bool = False
    device: str | None = None  # overrides render.device
    shard: tuple[int, int] | None = None  # (index, count): frames with f % count == index
    device_from: str = "render.device"  # where `device` came from, as a refusal names it ("--device")
    # Annotation and writing run in these processes, overlapped with the next render; on a
    # GPU they, not the render, bound throughput, so use the cores there are (up to 8).
    write_workers: int = field(default_factory=lambda: max(2, min(8, (os.cpu_count() or 2) - 1)))
    max_pending_frames: int = 0  # frames in flight at most; 0 = 2 * write_workers
    # Annotate and write in worker processes, overlapped with the renders; False: in the
    # main thread after each render (small machines; Blender's UI, which spawns nothing).
    worker_processes: bool | None = None  # None: processes on > 4 cores or with a GPU, else inline
    worker_mode_used: str = ""  # what the run chose, for reports
    time_parts: bool = False  # each annotator's and writer's CPU seconds in the frame log
    quiet: bool = False  # importers' console output kept back (shown if an import fails)
    # Long-lived render processes (headless.parallel): frames arrive lazily from a source
    # (chunks handed out by the parent), each process logs to its own audit file, and
    # the parent, not each process, merges the writers' outputs at the end.
    frame_source: Iterable[int | None] | None = None  # None: finish the frames in flight first
    log_tag: str = ""  # audit/frames<tag>.jsonl; default: the shard's tag
    finalize: bool = True
    on_frame_done: Callable[[int], None] | None = None  # called once a frame is logged
    lock_slot: tuple[int, int] | None = None  # (process, processes): its own folder lock
    run_holder: str | None = None  # "HOST:PID" of the parallel run's parent, whose lock lets it in
    pinned_gpu: int | None = None  # the GPU `--gpus` pinned this render process to: it must find one
    # The UI's recordings and checks: built in the open session, which undo takes back
    # afterwards, so a base .blend is appended into it, never read whole (scene.base).
    in_open_session: bool = False


@dataclass
class RunResult:
    output: Path
    frames_written: list[int] = field(default_factory=list)
    frames_skipped: list[int] = field(default_factory=list)
    device: dict = field(default_factory=dict)
    seconds: float = 0.0
    stage_seconds: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def parse_frames(text: str, total: int) -> range:
    """'17' -> 17..17, '17:20' -> 17..19, ':5' -> 0..4, '5:' -> 5..total-1."""
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            start = int(a) if a.strip() else 0
            stop = int(b) if b.strip() else total
        else:
            start = int(text)
            stop = start + 1
    except ValueError:
        raise ValueError(f"--frames {text!r}: expected N, START:STOP, :STOP or START:") from None
    if start < 0 or stop <= start:
        raise ValueError(f"--frames {text!r}: expected 0 <= START < STOP")
    if stop > total:
        raise ValueError(f"--frames {text!r}: the parameter file has {total} frame(s), 0 .. {total - 1} (run.frames)")
    return range(start, stop)


def link_neighbours(earlier: list[FrameData], later: list[FrameData]) -> None:
    """Consecutive frames of a clip see each other's camera, poses and depth (flow)."""
    for a, b in zip(earlier, later):
        if a.sensor == "camera" and b.sensor == "camera":
            a.neighbours["next"] = FrameView.of(b)
            b.neighbours["prev"] = FrameView.of(a)


def keypoint_writers(config: Config) -> list[str]:
    """The run's writers that give each class one list of keypoint names: coco (a category's
    keypoints), yolo with keypoints = true (a YOLO-pose class's slots)."""
    yolo = config.writers.get("yolo")
    pose = isinstance(yolo, dict) and yolo.get("keypoints") is True
    return [n for n in ("coco", "yolo") if n in config.writers and (n == "coco" or pose)]


def scene_keypoint_classes(config: Config, plan: dict[str, dict], built):
    """With the keypoints annotator and a writer of keypoint_writers: (problem, classes).
    problem: a (field, value, expected) naming two objects of one class (a .blend's,
    beside the assets validation checks) with other keypoint names or skeletons
    (writers.coco.keypoint_class_conflict), or YOLO-pose without any class with keypoints;
    else None. classes: {"semantic_type", "classes": {label: names}} of the labelled
    objects with keypoints, labels in the label table's order (the yolo writer's K and
    slots: audit/keypoint_classes.json); None without such a writer or annotator."""
    writers = keypoint_writers(config)
    if not writers or "keypoints" not in plan:
        return None, None
    from .scene.instancing import renders
    from .scene.keypoints import children_map, entity_keypoints
    from .writers.coco import keypoint_class_conflict

    options = ANNOTATORS["keypoints"](**plan["keypoints"]).options
    stype, semantic_filter = options["semantic_type"], options["semantic_filter"]
    children = children_map()
    roots = {e.root for e in built.entities.values()}
    objects = []
    for e in sorted(built.entities.values(), key=lambda e: e.instance_id):
        if any(renders(m) for m in e.meshes):
            points, skeleton = entity_keypoints(e.root, children, roots)
            # YOLO-pose has no skeleton: with yolo alone only the names must agree.
            objects.append((e.name, e.labels, list(points), skeleton if "coco" in writers else []))
    field = "scene.blend" if config.base.blend else "assets"
    conflict = keypoint_class_conflict(objects, stype, semantic_filter)
    if conflict is not None:
        return (field, config.base.blend or "", conflict), None
    from .annotators.semantics import passes_filter

    found = {}
    for _name, labels, names, _skeleton in objects:
        values = labels.get(stype)
        if names and values and passes_filter(values, semantic_filter):
            found.setdefault(",".join(values), names)
    order = built.label_table.values.get(stype, [])  # every label of the scene is in it
    classes = {label: found[label] for label in order if label in found}
    if "yolo" in writers and not classes:
        expected = (
            f"labelled objects with keypoints ({stype} labels, as the keypoints annotator takes them): no object of "
            "the scene has any (an asset's `keypoints`, a .blend's kp_<name> empties), so YOLO-pose lines would "
            "have none (kpt_shape [0, 3]); declare keypoints, or leave keypoints = true out"
        )
        return ("writers.yolo.keypoints", True, expected), None
    return None, {"semantic_type": stype, "classes": classes}


def annotator_plan(config: Config, sensors: dict[str, SensorSpec] | None = None) -> dict[str, dict]:
    """Annotators of the run: the configured ones, what the writers require (with the
    writer's semantic_type when it gives one), and the image of each thermal / NIR camera
    (of the file, or `sensors`: sensor_specs of the scene)."""
    plan = dict(config.annotators)
    if config.lidars:
        plan.setdefault("lidar", {})
    for name, given in config.writers.items():
        for required in WRITERS[name].required_for(given):
            # One the file does not configure takes the writer's label type: its boxes and
            # masks then carry the labels whose values the writer's classes are.
            stype = (given or {}).get("semantic_type")
            takes = isinstance(stype, str) and "semantic_type" in ANNOTATORS[required].OPTIONS
            plan.setdefault(required, {"semantic_type": stype} if takes else {})
    kinds = {c.sensor for c in config.cameras} | {s.kind for s in (sensors or {}).values()}
    for kind in ("thermal", "nir"):
        if kind in kinds:
            plan.setdefault(kind, {})
    return plan


def nothing_annotated(config: Config, plan: dict, cameras: list[str], sensors: dict) -> tuple | None:
    """(field, value, expected) when none of the run's annotators makes anything of its
    sensors (the scene built: a base .blend's cameras known), else None."""
    kinds = {sensors[c].kind if c in sensors else "visible" for c in cameras}
    kinds |= {c.sensor for c in config.cameras}
    return unused_annotators(config.annotators, plan, kinds, bool(config.lidars), bool(cameras))


def file_notes(plan: dict[str, dict], config, open_scene: bool = False) -> list[str]:
    """The warnings the parameter file alone tells (its writers, annotators, sequence and
    image size), said by render and by validate (with --no-scene too) alike."""
    notes = (
        every_frame_in_val(config),
        clips_split_by_frame(config),
        flow_without_clips(plan, config),
        motion_of_nothing(plan, config, open_scene),
        rigid_body_without_clips(config),
        mot_boxes_filtered_otherwise(plan, config),
        yolo_images_too_small(config),
    )
    return [note for note in notes if note]


def clips_split_by_frame(config) -> str | None:
    """The warning for a run of clips whose writers split frames by `val_every` frame by
    frame (all but mot, and mot too with folders = "flat"): every clip then has frames, near
    copies of one another, in both train and val. None when no writer does."""
    length = config.sequence.clip_length
    if length <= 1:
        return None
    flat = config.sequence.folders == "flat"
    cut = [
        f"{name} (val_every = {options['val_every']})"
        for name, options in config.writers.items()
        if (options or {}).get("val_every", 0) > 1  # 1: every frame in val, no clip cut (every_frame_in_val)
        and (name != "mot" or flat)
        and len(set(writer_splits(name, options))) == 2  # split = "val": one split, no clip cut either
    ]
    if not cut:
        return None
    return (
        f"{', '.join(cut)} split by run frame, also inside the run's clips of {length} frames: every clip has "
        "frames in both train and val, near copies of one another, so a validation score overrates the model"
        + ("" if flat or "mot" not in config.writers else " (mot splits by clip)")
        + '; for a val split of its own, render it apart (another folder, seed and split = "val")'
    )


def every_frame_in_val(config) -> str | None:
    """The warning for writers whose val_every sends every frame of the run to the val
    split, its split left empty: val_every = 1 (frame % 1 == 0 for every frame), or a run of
    one frame (frame 0 is always val's); mot picks clips (clip % N), so one clip alike. None
    when no writer does."""
    named = []
    for name, options in config.writers.items():
        every = (options or {}).get("val_every", 0)
        if every <= 0 or name not in WRITERS:
            continue
        by_clip = name == "mot" and config.sequence.clip_length > 1 and config.sequence.folders != "flat"
        count = -(-config.frames // config.sequence.clip_length) if by_clip else config.frames
        split, val = writer_splits(name, options)
        if split != val and (every == 1 or count == 1):
            why = f"val_every = {every}" + ("" if every == 1 else f", {count} {'clip' if by_clip else 'frame'}")
            named.append(f"{name} ({why}: all in {val}, none in {split})")
    if not named:
        return None
    return (
        f"writers send every frame to the val split: {', '.join(named)}; val_every = N > 1 over several frames "
        "sends one in N to val (mot: one clip in N), or leave val_every out and render a val split apart "
        "(another folder, seed and split)"
    )


def mot_boxes_filtered_otherwise(plan: dict[str, dict], config) -> str | None:
    """The warning for a mot writer with full boxes (bounding_box_2d_loose) beside a
    bounding_box_2d_tight of another semantic_filter: gt.txt then tracks other objects than
    the tight boxes hold (coco, yolo, kitti, the BasicWriter's files). None otherwise."""
    if "mot" not in config.writers or (config.writers["mot"] or {}).get("boxes", "full") != "full":
        return None
    tight, loose = plan.get("bounding_box_2d_tight"), plan.get("bounding_box_2d_loose")
    if tight is None or loose is None:
        return None
    kept = [list((options or {}).get("semantic_filter") or []) for options in (tight, loose)]
    if sorted(kept[0]) == sorted(kept[1]):
        return None
    readers = [name for name in config.writers if name in ("basic", "coco", "yolo", "kitti")]
    said = [f"semantic_filter {k}" if k else "no semantic_filter (every labelled object)" for k in kept]
    return (
        f"mot: its full boxes come from bounding_box_2d_loose, with {said[1]}, and bounding_box_2d_tight"
        + (f" ({', '.join(readers)} read it)" if readers else "")
        + f" has {said[0]}: gt.txt tracks other objects than the tight boxes hold; give "
        'bounding_box_2d_loose the same semantic_filter, or mot boxes = "visible"'
    )


ULTRALYTICS_MIN_SIDE = 10  # ultralytics.data.utils.verify_image_label: "image size ... <10 pixels"


def yolo_images_too_small(config) -> str | None:
    """The warning for a yolo writer whose images have a side under 10 pixels: Ultralytics,
    the trainer its layout is for, skips each such image as corrupt ("image size (9, 12) <10
    pixels"), so it finds no image to train on. None when every camera's image is larger."""
    if "yolo" not in config.writers:
        return None
    render = config.render
    sizes = {(c.width or render.width, c.height or render.height) for c in config.cameras} or {
        (render.width, render.height)
    }
    small = sorted(size for size in sizes if min(size) < ULTRALYTICS_MIN_SIDE)
    if not small:
        return None
    return (
        f"yolo: images of {', '.join(f'{w} x {h}' for w, h in small)} pixels: Ultralytics skips every image with a "
        f"side under {ULTRALYTICS_MIN_SIDE} pixels as corrupt ('image size ... <10 pixels') and finds none to "
        "train on; render at 10 x 10 or more for it"
    )


def flow_without_clips(plan: dict[str, dict], config) -> str | None:
    """The warning for forward_flow / backward_flow in a run of stills (clip_length 1): a
    still has no next or previous frame, so every frame's flow is 0, status 4 wherever a
    surface is seen. None in a run of clips or without those annotators."""
    if config.sequence.clip_length > 1:
        return None
    flows = [name for name in ("forward_flow", "backward_flow") if name in plan]
    if not flows:
        return None
    return (
        f"{' and '.join(flows)} in a run of stills: a still has no next or previous frame, so every frame's "
        "flow is 0 and invalid (status 4, no such frame, wherever a surface is seen); for flow, render clips ([sequence] "
        "clip_length = 2 or more, with a trajectory or camera_trajectory randomizer or the scene's animation)"
    )


MOVERS_IN_A_FRAME = ("trajectory", "camera_trajectory", "initial_velocity")  # motion within a clip's time


def motion_of_nothing(plan: dict[str, dict], config, open_scene: bool = False) -> str | None:
    """The warning for motion_vectors (and, in clips, forward_flow / backward_flow) where
    nothing can move within a frame's time: no base .blend or model file (whose animation
    plays), no trajectory, camera_trajectory or initial_velocity randomizer, no rigid bodies
    falling in clips. Randomizers place things anew each frame (each clip), which is no motion, so
    every vector and flow is 0 (Replicator's motion vectors of consecutive frames see those
    jumps). None otherwise, and for flows in stills (flow_without_clips says those)."""
    clips = config.sequence.clip_length > 1
    asked = [n for n in (("forward_flow", "backward_flow") if clips else ()) + ("motion_vectors",) if n in plan]
    # A base .blend, the scene open in Blender (the add-on's recording) or a model file: their own keys play.
    animated = open_scene or config.base.blend or any(a.file or a.files for a in config.assets)
    if not asked or animated or (clips and config.sequence.rigid_body):
        return None
    if any(spec.name in MOVERS_IN_A_FRAME for spec in config.randomizers):
        return None
    named = ", ".join(asked[:-1]) + " and " + asked[-1] if len(asked) > 1 else asked[0]
    return (
        f"{named} where nothing moves: no trajectory, camera_trajectory or initial_velocity "
        "randomizer, no base .blend or model file to animate"
        + (", no rigid bodies" if clips else "")
        + ", so every vector"
        + (" and flow" if clips else "")
        + " is 0; randomizers place objects and cameras anew each "
        + ("clip" if clips else "frame")
        + ", which is no motion: for motion, move them with a trajectory or camera_trajectory randomizer"
    )


def moving_orthographic_cameras(built, config, targets: list[list[str]]) -> list[str]:
    """The rendered orthographic cameras that move within a clip: a camera_trajectory's
    target, a camera rigged to one, or one whose own (or a parent's) keys or drivers move
    it; none in a run of stills (a camera entry acts once per clip)."""
    from .scene.randomize import scale_animated, transform_animated

    if config.sequence.clip_length <= 1:
        return []
    moved = {n for spec, names in zip(config.randomizers, targets) if spec.name == "camera_trajectory" for n in names}
    out = []
    for name in built.render_cameras:
        camera = built.cameras[name]
        if camera.data.type != "ORTHO":
            continue
        chain, parent = [camera], camera.parent
        while parent is not None:
            chain.append(parent)
            parent = parent.parent
        animated = any(transform_animated(o) or scale_animated(o) for o in chain)  # NLA strips too
        if animated or any(o.name in moved for o in chain):
            out.append(name)
    return out


def ortho_motion_vectors(plan: dict[str, dict], moving: list[str]) -> str | None:
    """The warning for motion_vectors of orthographic cameras that move within a clip
    (moving_orthographic_cameras): Cycles' vector pass is wrong there, also in a plain
    Blender render (a uniform motion gives vectors that vary over the image, 9 px off an
    exact 0.7 px in a 64 x 48 test), without a word; the geometric flows are exact."""
    if "motion_vectors" not in plan or not moving:
        return None
    return (
        f"motion_vectors of the orthographic camera(s) {', '.join(moving)}, which move within a clip: Cycles' vector "
        "pass is wrong for a moving orthographic camera (pixels off the exact motion, varying over the image; "
        "docs/annotators.md, motion_vectors); forward_flow and backward_flow are exact for every camera: use them"
    )


def rigid_body_without_clips(config) -> str | None:
    """The warning for sequence.rigid_body in a run of stills (clip_length 1): each frame is
    a clip's first frame, where the simulation starts, so every body is shown where the
    randomizers put it, in mid-air too (a Kubric port's quick check with clip_length 1 showed
    its shapes hanging above the floor without a word). None in a run of clips or without it."""
    if config.sequence.clip_length > 1 or not config.sequence.rigid_body:
        return None
    return (
        "sequence.rigid_body in a run of stills (clip_length 1): each frame is a clip's first frame, where the "
        "simulation starts, so no body falls, collides or flies (an initial_velocity randomizer's throw is not "
        "seen either); for a simulation over a clip, clip_length = 2 or more; for objects dropped to rest in each "
        "still, a physics_settle randomizer without rigid_body"
    )


def annotators_left_empty(plan: dict[str, dict], objects_labels: list[dict[str, list[str]]]) -> list[str]:
    """Why a label-aware annotator of `plan` would find no labelled object whatever the frame,
    given each labelled object's labels: a `semantic_type` none of them carries, or a
    `semantic_filter` that keeps none of their values (masks all UNLABELLED, no boxes, in
    every frame: said once at the start; a scene without labels at all is said apart)."""
    from .annotators.semantics import passes_filter
    from .config.fields import registry_options

    found = []
    types = sorted({t for labels in objects_labels for t in labels})
    for name, given in plan.items():
        declared = ANNOTATORS[name].OPTIONS
        if not objects_labels or "semantic_type" not in declared or "semantic_filter" not in declared:
            continue
        options = registry_options(f"annotator {name!r}", declared, given or {})
        stype, kept = options["semantic_type"], options["semantic_filter"]
        values = [labels[stype] for labels in objects_labels if labels.get(stype)]
        if not values:
            found.append(
                f"annotator {name}: no object has a {stype!r} label (its semantic_type), so it takes every "
                f"object for UNLABELLED in every frame; the objects' label types: {', '.join(types)}"
            )
        elif not any(passes_filter(v, kept) for v in values):
            seen = sorted({x for v in values for x in v})
            found.append(
                f"annotator {name}: its semantic_filter {kept} keeps none of the objects' {stype!r} labels "
                f"({', '.join(seen)}), so it takes every object for UNLABELLED in every frame"
            )
    return found


def sensor_specs(config: Config, cameras: dict | None = None) -> dict[str, SensorSpec]:
    """What the workers need to make the image of each thermal / NIR camera.

    `cameras` (the built scene's camera objects): a camera that the parameter file does not
    declare (one of a base .blend) is a thermal / NIR camera when its custom property
    `sdg_sensor` says so; `sdg_netd`, `sdg_palette`, ... (the [[cameras]] field names with
    `sdg_`, temperatures in kelvin) replace the defaults."""
    specs = {
        c.name: SensorSpec(
            kind=c.sensor,
            seed=config.seed,
            netd=c.netd,
            vignetting=c.vignetting,
            blur=c.blur,
            palette=c.palette,
            preview_min=config.kelvin(c.preview_min),
            preview_max=config.kelvin(c.preview_max),
            exposure=c.exposure,
        )
        for c in config.cameras
        if c.sensor != "visible"
    }
    declared = {c.name for c in config.cameras}
    for name, obj in (cameras or {}).items():
        kind = obj.get(SENSOR_PROP) if name not in declared else None
        if kind in ("thermal", "nir"):
            specs[name] = _spec_from_properties(obj, kind, config.seed)
    return specs


def _spec_from_properties(obj, kind: str, seed: int) -> SensorSpec:
    """A SensorSpec from a camera's custom properties, else the [[cameras]] defaults."""
    from .config.schema import CAMERA_FIELDS

    defaults = {f.name: f.default for f in CAMERA_FIELDS}
    values = {}
    for name in ("netd", "vignetting", "blur", "palette", "preview_min", "preview_max", "exposure"):
        value = obj.get(f"sdg_{name}", defaults[name])
        values[name] = str(value) if name == "palette" else (None if value is None else float(value))
    if values["palette"] not in PALETTES:
        values["palette"] = defaults["palette"]
    return SensorSpec(kind=kind, seed=seed, **values)


class Recorder:
    def __init__(
        self, config: Config, options: RunOptions, on_progress=None, on_warning=None, open_scene=None, on_message=None
    ):
        self.config = config
        if options.device:  # --device: the run's device from the start (an earlier run's check compares it)
            config.render.device = options.device
        # The scene open in Blender as the base scene (the UI; the caller restores it after).
        self.open_scene = open_scene
        # The .blend's scene the run records, named in resolved.json (and in a warning where
        # the file holds others).
        self.scene_note = ""
        self._facts = None  # the built scene's geometry facts (scene_facts), where a randomizer needs them
        if open_scene is None:
            from .scene.base import fill_scene_name

            self.scene_note = fill_scene_name(config)
        self.options = options
        self.on_progress = on_progress or (lambda progress: None)
        self.on_warning = on_warning or (lambda text: log.warning(text))
        # How far the writers' joins are after the last frame (coco: joining ... 12,000/100,000).
        self.on_message = on_message or (lambda text: log.info(text))
        self.result = RunResult(output=options.output)
        # result.warnings as a set: a long run may warn of thousands of frames (no labelled
        # object in view), and a list lookup per warning would make that quadratic.
        self._said: set[str] = set()
        self.cancelled = False  # set when cancel() ended the run early
        self._capturer = None
        self._scene_files: list[dict] = []  # scene.base.scene_files of the built scene
        self.keypoint_classes = None  # scene_keypoint_classes of the built scene (audit/keypoint_classes.json)
        self.complete = False  # set when --resume found every frame finished (nothing written)
        self._cancel = threading.Event()
        self._stop_now = threading.Event()

    def cancel(self, now: bool = False) -> None:
        """End the run after the frames in flight; `now`: without waiting for them (their
        frames stay unfinished). Signal-safe: a KeyboardInterrupt raised in a signal
        handler can be swallowed by Blender (inside Cycles' Python callbacks), so the run
        checks these flags itself."""
        if now:
            self._stop_now.set()
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def warn(self, text: str) -> None:
        """Record a warning and show it, once (always in the main thread: workers' warnings
        come back with their frames, so the UI's callback may touch bpy). A text said again
        (a writer's, by each worker process) is neither recorded nor shown again."""
        if text in self._said:
            return
        self._said.add(text)
        self.result.warnings.append(text)
        self.on_warning(text)

    # ------------------------------------------------------------------ set-up
    @property
    def clip_length(self) -> int:
        return self.config.sequence.clip_length

    def check_clip_range(self) -> None:
        """A clip is rendered whole: the frame range must start and stop at clip boundaries."""
        k, frames = self.clip_length, self.options.frames
        if k > 1 and (frames.start % k or frames.stop % k):
            whole = f"{frames.start // k * k}:{-(-frames.stop // k) * k}"  # the clips it touches
            raise RecorderError(
                f"--frames {frames.start}:{frames.stop} cuts clips of {k} frames (sequence.clip_length): "
                f"use a range from a multiple of {k} to a multiple of {k} (its clips whole: --frames {whole})"
            )

    def my_frames(self) -> list[int]:
        """The frames this process is asked for (its shard of the range). Shards take whole
        clips (clip c goes to shard c % N), so a clip is never split across shards."""
        frames = list(self.options.frames)
        if self.options.shard:
            index, count = self.options.shard
            frames = [f for f in frames if (f // self.clip_length) % count == index]
        return frames

    def frames_to_render(self, done: dict[int, dict]) -> list[int] | Iterable[int]:
        """Frames not finished yet; a clip with any unfinished frame is re-rendered whole
        (motion, simulation and flow are continuous over a clip). With a frame source
        (headless.parallel) the parent decides, in whole clips, and every frame given is
        rendered."""
        if self.options.frame_source is not None:
            return iter(self.options.frame_source)
        frames = self.my_frames()
        k = self.clip_length
        unfinished_clips = {f // k for f in frames if f not in done}
        self.result.frames_skipped = [f for f in frames if f // k not in unfinished_clips]
        return [f for f in frames if f // k in unfinished_clips]

    def check_previous(self) -> dict[int, dict]:
        """Finished frames of an earlier run in the folder, after checking that this run may
        continue it (or, with --overwrite, replace it). Reads only."""
        out = self.options.output
        audit_dir = out / audit.AUDIT_DIR
        done = audit.finished_frames(audit_dir) if audit_dir.is_dir() else {}
        if self.options.overwrite:
            return {}
        if set(done) & set(self.my_frames()) and not self.options.resume:
            # A run writing there now (its frames are those found): that is what to say, not
            # to pass --resume, which its lock refuses as well.
            opts = self.options
            busy = output.Lock(out, opts.lock_slot or opts.shard, opts.run_holder).held_by_another()
            if busy is not None:
                raise RecorderError(busy)
            # Frames of other shards are no conflict: shards share one output folder. --overwrite
            # deletes theirs too (every run's files in the folder): said where there are any.
            others = len(set(done) - set(self.my_frames()))
            raise RecorderError(
                f"{out.as_posix()} already holds {len(set(done) & set(self.my_frames()))} finished frame(s) "
                "of this run: pass --resume to continue that run or --overwrite to start anew"
                + (f" (which deletes the folder's {others} other finished frame(s) too)" if others else "")
            )
        if done:
            # Written before any frame: what tells that these are the run's parameters.
            try:
                old = json.loads((audit_dir / "resolved.json").read_text(encoding="utf-8"))
            except FileNotFoundError:
                old, why = None, "it is missing"
            except (OSError, ValueError) as e:
                old, why = None, f"it cannot be read ({e})"
            else:
                why = "it is not a JSON object"
            if not isinstance(old, dict):
                raise RecorderError(
                    f"cannot tell whether the parameters are those of the run in {out.as_posix()}: "
                    f"audit/resolved.json, written before its first frame, holds them, and {why}: "
                    "use a new output folder or --overwrite"
                )
            resolved = self.config.resolved()
            # Also as runs before named_path recorded paths, links followed: theirs resume too.
            if audit.config_fingerprint(old) not in {
                audit.config_fingerprint(resolved),
                audit.config_fingerprint(audit.links_followed(resolved)),
            }:
                changed = "; ".join(audit.changed_parameters(old, resolved, toml=not self._json_file()))
                before = (old.get("render") or {}).get("device") if isinstance(old.get("render"), dict) else None
                device = (
                    f"; or, to continue it, render with --device {before} as it did (--device is recorded "
                    "as render.device)"
                    if isinstance(before, str) and before != self.config.render.device
                    else ""
                )
                raise RecorderError(
                    f"the parameters differ from those of the run in {out.as_posix()} ({changed}; "
                    f"compare audit/resolved.json): use a new output folder or --overwrite{device}"
                )
            if not self.is_complete(done):  # a complete dataset is not finalized again: nothing to lose
                lost = removed_parts(self.config, out, done, audit.run_cameras(audit_dir, self.config))
                if lost:
                    raise RecorderError("\n".join(lost))
                link = output.recorded_link_out(out)
                if link:
                    raise RecorderError(link)
        return done

    def warn_scene_notes(self, built) -> None:
        """What the built scene holds that the run does not reproduce as Blender would show
        it (scene.base): missing files, drivers not evaluated, unit scale, colour management."""
        if self.scene_note:
            self.warn(self.scene_note)
        if built.missing:
            self.warn(
                "files the scene uses are missing (Blender renders a missing image magenta, a text whose font "
                f"is missing in its built-in font, and leaves out missing linked data): {_listed(built.missing)}"
            )
        if built.newer_note:
            self.warn(built.newer_note)
        if built.failed_drivers:
            self.warn(
                f"drivers Blender could not evaluate (it then sets 0): {_listed(built.failed_drivers)}. Blender runs "
                "a Python expression only in a file it trusts (Preferences > Save & Load > Auto Run Python Scripts)"
            )
        if built.unit_note:
            from .annotators.lidar import ranges_note
            from .scene.base import meters_per_unit

            metres = meters_per_unit(built.scene)
            ranges = ranges_note(self.config.lidars, metres) + lights_note(self.config.lights, metres)
            self.warn(built.unit_note + converted_units_note(self.config.writers) + ranges)
        for note in (  # what the base scene holds that the labels or the run cannot follow
            built.engine_note,
            built.blur_note,
            built.fps_note,
            built.range_note,
            built.step_note,
            built.layers_note,
            built.override_note,
            built.set_note,
            built.markers_note,
            built.instancing_note,
            built.cameras_note,
            built.metaball_note,
            built.object_index_note,
            built.displacement_note,
            built.adaptive_note,
            built.no_triangles_note,
            built.hair_note,
            built.viewport_branch_note,
            built.lens_note,
            built.volume_note,
            built.grease_pencil_note,
            built.freestyle_note,
            built.seen_lights_note,
        ):
            if note:
                self.warn(note)
        if built.unshown_looks:
            self.warn(
                "materials (of model files or the base scene) that show no colour, roughness or metallic the parameter file sets (no "
                "Principled BSDF feeds the surface Cycles renders: the file's look is kept): "
                + "; ".join(built.unshown_looks)
            )
        for what, notes, values in (
            ("colour management", built.colour_notes, built.colour_match),
            ("image", built.image_notes, built.image_match),
        ):
            if notes:
                match = ", ".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
                if "width" in values and "height" in values:  # as presets and Export write it
                    size = f"resolution = [{values['width']}, {values['height']}]"
                    rest = ", ".join(
                        f"{k} = {json.dumps(v)}" for k, v in values.items() if k not in ("width", "height")
                    )
                    match = f"{size} (or width = {values['width']}, height = {values['height']})" + (
                        f", {rest}" if rest else ""
                    )
                self.warn(
                    f"the base scene's {what} is not the run's: {'; '.join(notes)}"
                    + (f". To match it, set in [render]: {match}" if match else "")
                )

    def check_scene_files(self) -> list[dict]:
        """The files the built scene read (scene.base.scene_files); a run continuing an earlier
        one (not --overwrite) must read the same ones, unchanged, as it must the same .blend."""
        from .scene.base import model_files, randomizer_files, scene_files

        # The .blend itself is an input (audit/inputs/, resolved.json), not a file it reads,
        # though the overrides in it are linked from it when its scene is appended.
        base = os.path.realpath(self.config.base.blend) if self.config.base.blend else None
        now = [e for e in scene_files() if os.path.realpath(e["path"]) != base]
        now += model_files(self.config) + randomizer_files(self.config)
        if self.options.overwrite:
            return now
        audit_dir = self.options.output / audit.AUDIT_DIR
        try:
            before = json.loads((audit_dir / "scene_files.json").read_text())
            old = {e["path"]: e["sha256"] for e in before}
        except (OSError, ValueError, TypeError, KeyError):
            return now  # no earlier run, or one that did not list them
        # Listed as a library by earlier versions; checked by its own hash.
        old = {p: h for p, h in old.items() if os.path.realpath(p) != base}
        # A file inside the parameter file's folder counts by its path below it (each run's
        # own folder), so a project moved or copied whole reads the same files.
        try:
            old_folder = audit.parameter_folder(json.loads((audit_dir / "resolved.json").read_text()))
        except (OSError, ValueError):
            old_folder = None
        new_folder = audit.parameter_folder({"files": [Path(f).absolute().as_posix() for f in self.config.files]})
        shown = {audit.below_parameter_folder(p, old_folder): p for p in old}  # named as this run has them
        shown |= {audit.below_parameter_folder(e["path"], new_folder): e["path"] for e in now}
        old = {audit.below_parameter_folder(p, old_folder): h for p, h in old.items()}
        new = {audit.below_parameter_folder(e["path"], new_folder): e["sha256"] for e in now}
        changed = sorted(shown[p] for p in old.keys() | new.keys() if old.get(p) != new.get(p))
        if changed:  # a run whose paths were recorded with links followed (before named_path)
            real = {audit.below_parameter_folder(os.path.realpath(e["path"]), new_folder): e["sha256"] for e in now}
            if real == old:
                changed = []
        if changed:
            raise RecorderError(
                f"the files the scene reads differ from those of the run in {self.options.output.as_posix()} "
                f"({_listed(changed, 5, ', ')}; compare audit/scene_files.json): use a new output folder or --overwrite"
            )
        return now

    def is_complete(self, done: dict[int, dict]) -> bool:
        """--resume of a run whose frames are all finished and whose manifest, written after
        the last of them (and its writers' joined files), counts them all: nothing to do,
        and nothing is written (the dataset may be on read-only storage). An earlier run's
        manifest does not count them all when the last run was killed while it joined its
        files: it is then not complete (the files are joined again)."""
        audit_dir = self.options.output / audit.AUDIT_DIR
        if self.options.frame_source is not None:  # frames arrive later: never complete up front
            return False
        mine = set(self.my_frames())
        if not (self.options.resume and mine <= set(done)):
            return False
        try:
            manifest = json.loads((audit_dir / f"manifest{self.shard_tag}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(manifest, dict) or manifest.get("failed"):
            return False
        counted = set()
        for key in ("frames_written_this_run", "frames_skipped_as_done"):
            if isinstance(manifest.get(key), list):
                counted.update(f for f in manifest[key] if isinstance(f, int))
        return mine <= counted

    @property
    def shard_tag(self) -> str:
        if self.options.log_tag:  # a render process of a parallel run: its own audit files
            return self.options.log_tag
        shard = self.options.shard
        return f".shard{shard[0]:03d}of{shard[1]:03d}" if shard else ""

    # ------------------------------------------------------------------ the run
    def run(self) -> RunResult:
        for _progress in self.iter_run():
            pass
        return self.result

    def iter_run(self):
        """The run, one step at a time (for the UI's modal operator; run() consumes it).

        Yields the run's Progress once the scene is built and again after each frame is
        handed to the writers; cancel() between steps ends it cleanly (manifest written).
        """
        from .capture.render import remove_stale_render_dirs

        t_start = time.perf_counter()
        cfg, opts = self.config, self.options
        self.check_clip_range()
        # Everything is checked before anything is written: options, the folder, the earlier
        # run, the scene (assets import), the randomizer targets.
        for name, w_opts in cfg.writers.items():
            create_writer(name, opts.output, **w_opts)
        try:
            output.check_folder(opts.output)
        except output.OutputError as e:
            raise RecorderError(str(e)) from None
        if self._frames_left(t_start) is None:
            return
        remove_stale_render_dirs()
        built, targets, plan = self.build_and_check_scene()
        self._scene_files = self.check_scene_files()

        folder = output.OutputFolder(opts.output, opts.lock_slot or opts.shard, opts.run_holder, opts.overwrite)
        try:
            folder.open()
        except output.OutputError as e:
            raise RecorderError(str(e)) from None
        except OSError as e:  # its lock or marker refused (a full disk): one line, as for any file
            raise disk_error(e, opts.output) from None
        try:
            # Looked at again now that the lock is ours: a run that ended while this one
            # built its scene may have finished frames since (nothing written yet either way).
            frames = self._frames_left(t_start)
            if frames is None:
                return
            yield from self._record(cfg, opts, folder, built, targets, plan, frames, t_start)
        except OSError as e:
            raise disk_error(e, opts.output) from None
        finally:
            if self._capturer is not None:
                self._capturer.close()  # its temp render folder goes on every exit path
            folder.close()

    def build_and_check_scene(self):
        """The render device, then the scene built and checked as the run renders it: model
        files, the base .blend (its scene, cameras and labels), every randomizer's targets,
        the annotators the cameras make something of. Returns (built, targets, plan); a
        problem raises ConfigError (named as validation names it), DeviceError or
        RecorderError. Writes nothing: `headless validate` runs it alone, so that it says
        OK only to a file render starts with (the output folder and an earlier run in it,
        which depend on --resume and --overwrite, are checked by the run itself)."""
        from .capture.device import check_denoiser, check_device
        from .capture.render import _temp_base
        from .scene.build import build_scene

        cfg, opts = self.config, self.options
        _temp_base()  # a folder for the renders' passes files (RenderError: none can be written)
        check_device(cfg.render.device, opts.pinned_gpu, opts.device_from if opts.device else "render.device")
        check_denoiser(cfg.render)
        try:
            built = build_scene(cfg, self.open_scene, quiet=opts.quiet, in_open_session=opts.in_open_session)
            if cfg.lidars:
                from .capture.lidar import check_mounts

                check_mounts(built, cfg.lidars)
        except FieldError as e:  # a value of the file the built scene refuses: named as validation names it
            raise cfg.named([e, *e.more]) from None
        targets = self.prepare_scene(built)
        if "basic" in cfg.writers:  # a base scene's cameras are known now
            problem = one_folder_problem(cfg.writers["basic"] or {}, len(built.render_cameras), len(cfg.lidars))
            if problem:
                raise cfg.named([FieldError(*problem)])
        for name in SPLIT_CAMERA_NAMED:  # validation saw [[cameras]] only: a base scene's count too
            options = cfg.writers.get(name)
            if isinstance(options, dict) and isinstance(options.get("split", "train"), str):
                clash = split_camera_clash(options, list(built.render_cameras), name)
                if clash:
                    raise cfg.named([FieldError(f"writers.{name}.split", options.get("split", "train"), clash)])
        sensors = sensor_specs(cfg, built.cameras)
        plan = annotator_plan(cfg, sensors)
        problem = nothing_annotated(cfg, plan, built.render_cameras, sensors)
        if problem:
            raise cfg.named([FieldError(*problem)])
        problem, self.keypoint_classes = scene_keypoint_classes(cfg, plan, built)
        if problem:
            raise cfg.named([FieldError(*problem)])
        if self.keypoint_classes is not None and "yolo" in keypoint_writers(cfg):
            from .writers.yolo import pose_flip_warning

            note = pose_flip_warning(self.keypoint_classes["classes"])
            if note:
                self.warn(note)
        problem = channel_not_computed(cfg.writers.get("coco"), plan) if "coco" in cfg.writers else None
        if problem:
            raise cfg.named([FieldError(join(join("writers", "coco"), problem[0]), *problem[1:])])
        for text in unwritten_annotators(cfg.annotators_named, cfg.writers, bool(cfg.lidars)):
            self.warn(text)
        # What the file asks for that will not come out as the user may expect: said once each,
        # here, so that validate (which builds the scene as the run does) says them before a run.
        from .scene.properties import world_set_twice
        from .scene.randomize import data_set_twice

        for note in data_set_twice(cfg.randomizers, targets) + world_set_twice(built, cfg.randomizers):
            self.warn(note)
        moving = moving_orthographic_cameras(built, cfg, targets)
        for note in [*file_notes(plan, cfg, self.open_scene is not None), ortho_motion_vectors(plan, moving)]:
            if note:
                self.warn(note)
        self._facts = self.scene_facts(built)  # the scene's geometry facts, read once built (the run's too)
        self.warn_built_scene_notes(built, targets, plan, self._facts)
        return built, targets, plan

    def warn_built_scene_notes(self, built, targets, plan, facts) -> None:
        """What the built scene tells that the run will not show as the user may expect (labels
        missing, the base scene's notes, placers' notes): said by validate and render alike."""
        from .labels.blender import category_id_note, unlabelled_objects

        cfg = self.config
        unlabelled = unlabelled_objects(built.scene)
        labelled = [e for e in built.entities.values() if e.labels]
        if not any(reads_labels(ANNOTATORS[name]) for name in plan):
            pass  # no annotator of the run reads labels (rgb, depth...): nothing is left empty without them
        elif not labelled:
            self.warn(
                "no object in the scene has a semantic label: segmentation and boxes will be empty. "
                f"Objects without labels: {', '.join(unlabelled) or '(none)'}"
                + category_id_note(built.scene, unlabelled)
            )
        else:  # of the label types the run's annotators take ("class" when none takes one)
            types = {
                (given or {}).get("semantic_type", "class")
                for name, given in plan.items()
                if "semantic_type" in ANNOTATORS[name].OPTIONS
            }
            for stype in sorted(types) or ["class"]:
                missing = unlabelled if stype == "class" else unlabelled_objects(built.scene, stype)
                if missing:
                    self.warn(
                        f"objects without a '{stype}' label (annotated as UNLABELLED): {', '.join(missing)}"
                        + category_id_note(built.scene, missing)
                    )
        for text in annotators_left_empty(plan, [e.labels for e in labelled]):
            self.warn(text)
        self.warn_scene_notes(built)
        for i, (entry, own) in enumerate(zip(cfg.randomizers, targets)):
            note = entry.hanging_note(facts, own) if facts is not None and hasattr(entry, "hanging_note") else None
            if note:
                self.warn(f"randomizers[{i}] (scatter): {note}")
        for note in moved_after_settling(cfg.randomizers, targets) + shown_after_placing(cfg.randomizers, targets):
            self.warn(note)
        for note in copies_on_one_spot(cfg.assets, cfg.randomizers, targets):
            self.warn(note)
        if "bop" in cfg.writers:  # its obj_ids come from the label table, whole once the scene is built
            from .writers.bop import bop_ids_note
            from .writers.common import class_names

            stype = (cfg.writers["bop"] or {}).get("semantic_type", WRITERS["bop"].OPTIONS["semantic_type"][0])
            note = bop_ids_note(class_names(built.label_table, stype), stype)
            if note:  # the writer says it again at its first frame: one warning (warn)
                self.warn(note)
        if "kitti" in cfg.writers:  # a stereo rig's cameras are known once the scene is built
            from .capture.render import camera_info
            from .writers.kitti import unpaired_stereo_notes

            sensors = sensor_specs(cfg, built.cameras)
            cameras = [
                camera_info(
                    built.scene, built.cameras[name], sensors[name].kind if name in sensors else "visible"
                )  # as captured
                for name in built.render_cameras
            ]
            for note in unpaired_stereo_notes(cameras):  # the writer's own is the same text: one warning
                self.warn(note)

    def _frames_left(self, t_start: float):
        """The frames to render, after what the folder holds (check_previous: may this run
        continue it?); None when the run is complete already (nothing to do)."""
        done = self.check_previous()
        frames = self.frames_to_render(done)
        if self.is_complete(done):
            self.result.seconds = time.perf_counter() - t_start
            self.complete = True
            return None
        return frames

    def _record(self, cfg, opts, folder, built, targets, plan, frames, t_start):
        from .capture.device import RenderError
        from .capture.render import Capturer
        from .scene.motion import SequencePlayer

        audit_dir = opts.output / audit.AUDIT_DIR
        if opts.overwrite:
            try:
                output.remove_written(opts.output, self.config.files)
            except output.OutputError as e:
                raise RecorderError(str(e)) from None
        output.remove_ended_processes_temporaries(opts.output)  # a killed earlier run's
        audit.copy_inputs(audit_dir, self.config.files)
        resolved_path = audit_dir / "resolved.json"
        resolved = self.config.resolved()
        if not (resolved_path.is_file() and _json_equal(resolved_path, resolved)):
            audit.write_json(resolved_path, resolved)
        # What to render is a property of the annotator classes; instances live in the sink.
        passes = {p for name in plan for p in ANNOTATORS[name].passes}
        need_geometry = any(ANNOTATORS[name].needs_geometry for name in plan)
        clip_len = self.clip_length
        # Flow pairs each frame with the next one of its clip before handing it on.
        pair_frames = clip_len > 1 and any(ANNOTATORS[name].needs_neighbours for name in plan)
        player = SequencePlayer(built, cfg.sequence, cfg.randomizers)
        audit.write_json(audit_dir / "label_table.json", built.label_table.values)
        if self.keypoint_classes is not None and "yolo" in keypoint_writers(cfg):  # YOLO-pose's K and slots
            audit.write_json(audit_dir / KEYPOINT_CLASSES_FILE, self.keypoint_classes)
        if self._scene_files:  # what the scene read besides the inputs copied above
            audit.write_json(audit_dir / "scene_files.json", self._scene_files)
        if built.pool_members:  # which file (and marked asset of a .blend) each pool member is
            audit.write_json(audit_dir / "pool_members.json", built.pool_members)
        cameras = built.render_cameras
        audit.write_json(audit_dir / "cameras.json", cameras)
        sensors = (len(cameras), len(cfg.lidars))  # each writer counts those it writes
        spec = SinkSpec(opts.output, plan, dict(cfg.writers), built.label_table, sensors, opts.time_parts)

        facts = self._facts  # read by build_and_check_scene
        need_geometry = need_geometry or any(is_quota(c) for c in cfg.cases)  # in view: silhouettes
        capturer = self._capturer = Capturer(
            built,
            cfg.render,
            passes,
            need_geometry,
            sensors=sensor_specs(cfg, built.cameras),
            thermal_defaults=(cfg.ambient_kelvin(), cfg.thermal.emissivity),
            noise_seed=cfg.seed,
        )
        steering = FrameSteering(cfg, built, targets, facts, capturer)
        self.result.device = capturer.device
        caster = None
        if cfg.lidars:
            from .capture.lidar import LidarCaster

            caster = LidarCaster(capturer, cfg.lidars, cfg.seed)
        shard_tag = self.shard_tag
        env_path = audit_dir / f"environment{shard_tag}.json"
        env, before = audit.with_earlier_runs(
            env_path,
            audit.environment(
                capturer.device,
                {
                    "shard": opts.shard,
                    "frames": [opts.frames.start, opts.frames.stop],
                    # resolved.json is one file for all shards: what this shard ran, for merge.
                    "parameters": audit.parameter_sections(resolved),
                },
            ),
        )
        if before is not None and before.get("blender") != env.get("blender"):
            self.warn(
                f"the frames of {opts.output} so far were rendered with Blender {before.get('blender')}, this run's with "
                f"{env.get('blender')}: their images can differ (audit/{env_path.name} keeps both, in earlier_runs)"
            )
        if before is not None and before.get("draws_version") != env["draws_version"]:
            drawn = before.get("draws_version")
            known = drawn is not None  # a run before versions were recorded: the draws may be the same
            self.warn(
                f"the frames of {opts.output} so far were drawn by "
                + (f"sampling version {drawn}" if known else "a version of this tool that recorded none")
                + f", this run's by version {env['draws_version']}: from here on the same seed "
                + (
                    "draws other scenes, so a fresh run would not"
                    if known
                    else "may draw other scenes, so a fresh run may not"
                )
                + " make the earlier frames again (render anew with --overwrite for one version throughout; "
                f"audit/{env_path.name} keeps both, in earlier_runs)"
            )
        audit.write_json(env_path, env)
        if isinstance(frames, list):  # a parallel run's parent forgets for its processes
            # Finished frames of a clip rendered again (whole) are logged once: by the new rendering.
            audit.forget_frames(audit_dir, set(frames) & set(audit.finished_frames(audit_dir)))
        frame_log = audit.FrameLog(audit_dir / f"frames{shard_tag}.jsonl")
        progress = Progress(len(frames) if isinstance(frames, list) else 0)
        written: list[int] = []
        stages = {"sample": 0.0, "apply": 0.0, "render": 0.0, "read": 0.0, "annotate": 0.0, "write": 0.0}
        errors: list[BaseException] = []
        use_processes = opts.worker_processes
        if use_processes is None:
            # A GPU renders while the CPU is free: overlap pays even on few cores. A CPU
            # render takes every core anyway, so on a small machine inline costs nothing.
            use_processes = (os.cpu_count() or 1) > 4 or capturer.device.get("type", "CPU") != "CPU"
        opts.worker_mode_used = "processes" if use_processes else "inline"
        # Worker processes read each capture's EXR themselves; inline, the render stage does.
        capturer.read_passes_later = use_processes
        sink = open_sink(spec, use_processes, opts.write_workers, capturer.tmp_dir)
        max_pending = opts.max_pending_frames or 2 * opts.write_workers

        def wait_for_frames() -> list:
            """Results of at least one frame in flight (none if none is): in short waits, so
            that a stop-now request is seen (a Ctrl-C may reach one of Blender's threads,
            and Python runs its handler only when the main thread wakes up)."""
            while sink.pending:
                if self._stop_now.is_set():
                    raise KeyboardInterrupt
                done = sink.collect(timeout=0.1)
                if done:
                    return done
            return sink.collect()

        def hand_on(captured, record) -> None:
            while sink.pending >= max_pending:  # at most max_pending frames in memory
                finish(wait_for_frames())
            if errors:
                return  # the run stops; this frame stays unfinished
            sink.submit(captured, record)
            finish(sink.collect())

        def finish(results) -> None:
            """Log frames whose files are all written (in the main thread, between renders)."""
            for result in results:
                if isinstance(result, BaseException):
                    errors.append(result)
                    continue
                record, warnings = result
                for k in ("read", "annotate", "write"):  # read: by a worker process (if any)
                    stages[k] += record["seconds"].get(k, 0.0)
                record["finished_unix"] = time.time()
                frame_log.append(record)
                written.append(record["frame"])
                if opts.on_frame_done is not None:
                    opts.on_frame_done(record["frame"])
                for text in warnings:
                    self.warn(text)
                self._advance(progress)

        interrupted = stop_now = False
        handed_all = False  # every frame handed on: a stop asked for after it cut nothing
        waiting = None  # (captured, record) of the previous frame, until its next is rendered
        try:
            yield progress
            for f in frames:
                finish(sink.collect())
                if self._stop_now.is_set():
                    raise KeyboardInterrupt
                if self._cancel.is_set() or errors:
                    break
                if f is None:  # the frame source waits for the frames in flight (a Ray actor's chunk)
                    while sink.pending:
                        finish(wait_for_frames())
                    continue
                record = {"frame": f, "seed": cfg.seed, "seconds": {}, "cpu_seconds": {}, "started_unix": time.time()}
                clip, i = clip_of(f, clip_len)
                if clip_len > 1:
                    record.update(clip=clip, clip_frame=i)
                captured = steering.make_frame(f, record, player, clip_len)
                for i in record.get("too_close", {}):
                    self.warn(too_close_warning(cfg.randomizers[int(i)], int(i)))
                if caster is not None:
                    t_scan = time.perf_counter()
                    captured += caster.scan(f, captured[0].objects)
                    record["seconds"]["render"] += time.perf_counter() - t_scan  # LiDAR rays: the render stage
                record["rss_mb"] = audit.current_rss_mb()
                if self._cancel.is_set():
                    # Cancelled while rendering (Ctrl-C also makes Cycles stop early): the
                    # frame may be cut short, so it is not written and stays unfinished.
                    break
                for k in ("sample", "apply", "render"):
                    stages[k] += record["seconds"][k]
                for frame_data in captured:
                    frame_data.fps = cfg.sequence.fps
                    if clip_len > 1 and cfg.sequence.folders == "clip":
                        frame_data.clip, frame_data.clip_frame = clip, i
                if not pair_frames:
                    hand_on(captured, record)
                else:
                    if waiting is not None:
                        if waiting[1]["frame"] == f - 1 and f % clip_len:  # same clip, next frame
                            link_neighbours(waiting[0], captured)
                        hand_on(*waiting)
                    waiting = (captured, record)
                    if (f + 1) % clip_len == 0:
                        # A clip's last frame has no next frame to wait for: handed on now, not
                        # once the next frame comes (a render process would hold it until the
                        # parent hands out more, and a Ray actor waits for it before it does).
                        hand_on(*waiting)
                        waiting = None
                yield progress
            else:  # the loop went through: no break of a cancel or an error (a frame source,
                # a parallel run's chunks, ends early on a cancel itself: its parent judges)
                handed_all = opts.frame_source is None
            # Cancelled mid-clip, the waiting frame is dropped: resume re-renders its clip.
            if waiting is not None and not (self._cancel.is_set() or errors):
                hand_on(*waiting)
            elif waiting is not None:
                handed_all = False
        except RenderError as e:  # Cycles refused a frame: those in flight are finished and logged
            errors.append(e)
        except KeyboardInterrupt:
            interrupted = True
            # A stop was already asked for (the command line's first Ctrl-C cancels, the
            # second raises): stop now, without waiting for the frames in flight.
            stop_now = self._cancel.is_set()
        finally:
            try:
                while sink.pending and not stop_now:  # every started frame is finished and logged
                    finish(wait_for_frames())
            except KeyboardInterrupt:  # a second Ctrl-C while waiting: stop at once
                stop_now = True
                raise
            finally:
                sink.close(now=stop_now)
                capturer.close()
                with contextlib.suppress(OSError):  # the records already reached the OS
                    frame_log.close()
        if errors:
            self._write_manifest_after_error(audit_dir, shard_tag, frames, errors[0])
            raise errors[0]
        # A Ctrl-C (or SIGTERM) once every frame was handed on, while the last ones were
        # written or the writers' joined files made (finalize), cut nothing: the run is whole.
        cut = interrupted or (self._cancel.is_set() and not handed_all)
        if opts.finalize:
            FrameSink(spec).finalize(progress=self.on_message)
        self.result.frames_written = sorted(written)
        self.result.seconds = time.perf_counter() - t_start
        self.result.stage_seconds = {k: v for k, v in stages.items() if v or k != "read"}  # read: processes only
        audit.write_json(
            audit_dir / f"manifest{shard_tag}.json",
            {
                "frames_requested": [opts.frames.start, opts.frames.stop] if opts.frame_source is None else "chunks",
                "frames_written_this_run": self.result.frames_written,
                "frames_skipped_as_done": self.result.frames_skipped,
                "frames_finished_total": len(audit.finished_frames(audit_dir)),
                "cameras": cameras,
                "annotators": sorted(plan),
                "writers": list(cfg.writers),
                "seconds_total": self.result.seconds,
                "seconds_per_stage": stages,
                "peak_memory_mb": audit.peak_memory_mb(),
                "interrupted": cut,
                "warnings": self.result.warnings,
                **self._cases_report(audit_dir),
                # A parallel run's render process: its parent's lock, which picks this run's
                # processes' manifests out of those earlier runs left (parallel.finish).
                **({"run_holder": opts.run_holder} if opts.run_holder else {}),
            },
        )
        self.cancelled = cut
        if interrupted:
            raise KeyboardInterrupt
        return self.result

    def _cases_report(self, audit_dir: Path) -> dict:
        """Per corner case: requested / made / which frames, over every shard's frame log."""
        cfg = self.config
        if not cfg.cases:
            return {}
        assigned = assign_frames(cfg.seed, cfg.frames, cfg.cases)
        report = case_report(cfg.cases, assigned, audit.finished_frames(audit_dir))
        if self.options.frame_source is None:  # a parallel run's render process: its parent counts the whole run
            for text in case_warnings(report):
                self.warn(text)
        return {"cases": report}

    def _write_manifest_after_error(self, audit_dir: Path, shard_tag: str, frames: list[int], error) -> None:
        """A failed run still says what it finished, where the disk allows (full disk: maybe not)."""
        finished = audit.finished_frames(audit_dir)
        try:
            audit.write_json(
                audit_dir / f"manifest{shard_tag}.json",
                {
                    "frames_requested": [self.options.frames.start, self.options.frames.stop],
                    "frames_written_this_run": sorted(set(finished) & set(frames)),
                    "frames_finished_total": len(finished),
                    "failed": f"{type(error).__name__}: {error}",
                    "warnings": self.result.warnings,
                },
            )
        except OSError:
            pass

    def _advance(self, progress: Progress) -> None:
        progress.advance()
        self.on_progress(progress)

    def bind_scene_facts(self, built) -> None:
        """Hand randomizers what they pick from in the built scene (read once per run, so
        a frame stays a pure function of seed, frame and scene)."""
        from .scene.appearance import scene_facts

        facts = scene_facts(built)
        problems = []
        for i, spec in enumerate(self.config.randomizers):
            problem = spec.bind(facts)
            if problem:
                problems.append(FieldError(join(f"randomizers[{i}]", problem[0]), *problem[1:]))
        for i, case in enumerate(self.config.cases):  # a case's material_swap name, as the entry's
            for j, e in enumerate(case.set):
                if e.get("type") == "material_swap" and "material" in e and e["material"] not in facts["materials"]:
                    expected = f"the name of a material of the scene (its materials: {facts['materials']})"
                    problems.append(FieldError(f"cases[{i}].set[{j}].material", e["material"], expected))
        if problems:
            raise self.config.named(problems)

    def prepare_scene(self, built) -> list[list[str]]:
        """What frames are sampled against in the built scene, as a run and Preview Frame
        both need it: each entry's targets, checked, and the scene's facts bound to the
        randomizers that pick from them. Problems raise ConfigError (nothing written), each
        naming its file and field as validation does."""
        targets = self.resolve_targets(built)
        self.check_object_options(built, targets)
        self.check_targets(built, targets)
        self.bind_scene_facts(built)
        cfg = self.config
        staying = case_values_that_would_stay(cfg.cases, cfg.randomizers, targets, cfg.seed)
        if staying:
            raise cfg.named([FieldError(*p) for p in staying])
        return targets

    def check_object_options(self, built, targets: list[list[str]]) -> None:
        """Options naming the scene's objects (scatter's surface and avoid, physics_settle's
        passive, the objects cameras look at) match one, other than the entry's targets:
        else a misspelt surface scattered in the volume, colliders matching nothing let the
        objects fall through the ground, and a camera's stopped the run after audit/."""
        problems = []
        known = built.names("objects")
        for i, (spec, names) in enumerate(zip(self.config.randomizers, targets)):
            chosen = set(names)
            others = [n for n in known if n not in chosen]
            for key in spec.OBJECT_OPTIONS:
                value = spec.options[key]
                if isinstance(value, dict):  # a table of labels: what it chose (resolve_targets)
                    if not spec.objects(key, others):
                        own = spec.chosen.get(key, [])
                        labels = scene_labels_text(built.entities[n].labels for n in others if n in built.entities)
                        expected = (
                            "labels matching objects of the scene other than the entry's targets: an object matches "
                            "when, for every type, one of its values matches (one of) the globs (their labels: "
                            f"{labels}){f'; it chose only targets of the entry: {own}' if own else ''}"
                        )
                        problems.append(FieldError(f"randomizers[{i}].{key}", label_targets_given(value), expected))
                    continue
                given = [p for p in ([value] if isinstance(value, str) else value) if p]
                # none given: scatter in a volume, no objects to avoid
                matched = sorted(set(built.match("objects", given)) - set(names)) if given else []
                if given and not matched:
                    problems.append(
                        FieldError(
                            f"randomizers[{i}].{key}",
                            spec.options[key],
                            f"globs matching objects of the scene other than the entry's targets (its objects: {others})",
                        )
                    )
                # A name of the list that is no object, where others are, was left out in
                # silence (passive = ["floor", "shelf"] with no floor: the boxes fell through
                # where the floor was meant to be, exit 0): said, as for targets.
                gone = _named_absent(given, known)
                if gone and matched:
                    self.warn(
                        f"randomizers[{i}] ({spec.name}): {key}: no objects named {_listed([repr(g) for g in gone], 5, ', ')} "
                        f"(deleted or renamed?); it uses {_listed(matched, 5, ', ')}"
                    )
        if problems:
            raise self.config.named(problems)

    def scene_facts(self, built):
        """The scene's geometry facts (scene.facts), read once, where a randomizer needs them."""
        from .scene.facts import extract_facts

        return extract_facts(built) if any(r.needs_facts for r in self.config.randomizers) else None

    def check_targets(self, built, targets: list[list[str]]) -> None:
        """Every entry's targets can take its values (property paths resolve, kinds and
        Blender's limits fit): checked in the built scene, before anything is written."""
        from .scene.properties import check_case_values
        from .scene.randomize import check_targets

        problems = [
            FieldError(join(f"randomizers[{i}]", key), *rest)
            for i, (key, *rest) in check_targets(built, self.config.randomizers, targets)
        ]
        problems += [
            FieldError(*p) for p in check_case_values(built, self.config.randomizers, targets, self.config.cases)
        ]
        problems += [
            FieldError(*p) for p in unmatched_case_targets(self.config.cases, self.config.randomizers, targets)
        ]
        problems += [FieldError(*p) for p in moved_static_objects(self.config.randomizers, targets, built.entities)]
        from .scene.randomize import keyed_clip_targets

        in_clips = self.config.sequence.clip_length > 1 or self.config.sequence.rigid_body
        problems += [
            FieldError(*p)
            for p in keyed_clip_targets(
                self.config.randomizers, targets, built.entities, built.cameras, in_clips, built.lights
            )
        ]
        scene_labels: dict[str, set[str]] = {}
        for entity in built.entities.values():
            for kind, values in entity.labels.items():
                scene_labels.setdefault(kind, set()).update(values)
        problems += [FieldError(*p) for p in unknown_case_labels(self.config.cases, scene_labels)]
        infrared = sensor_specs(self.config, built.cameras)
        for i, (spec, names) in enumerate(zip(self.config.randomizers, targets)):
            others = [n for n in names if n in infrared]
            if spec.name == "background" and others:
                problems.append(
                    FieldError(
                        join(f"randomizers[{i}]", "targets"),
                        others,
                        "visible cameras: a thermal or NIR camera's image is made from its own radiance, not a photo",
                    )
                )
            # What acts on the RGB image only (was: drawn, logged and without effect on these cameras).
            on_rgb = [k for k in ("exposure", "white_balance") if k in spec.params] if spec.name == "sensor" else []
            if others and (spec.name == "augment" or on_rgb):
                what = "augment" if spec.name == "augment" else " and ".join(on_rgb)
                problems.append(
                    FieldError(
                        join(f"randomizers[{i}]", "targets"),
                        others,
                        f"visible cameras: {what} {'changes' if len(on_rgb) < 2 else 'change'} the RGB image only; "
                        "a thermal or NIR camera's image "
                        "is made from its own radiance (its fields netd, blur, vignetting and a NIR camera's exposure "
                        "set its noise, optics and gain; lens settings may target it in an entry of their own)",
                    )
                )
        if problems:
            raise self.config.named(problems)

    def _json_file(self) -> bool:
        """Whether the parameter file is JSON (what the run says of it is then in JSON's syntax)."""
        return bool(self.config.files) and self.config.files[0].suffix.lower() == ".json"

    def label_targets_chosen(self, targets: list[list[str]]) -> list[str]:
        """What each entry's label targets (`targets = { class = "cube" }`) chose in the built
        scene, a line each, as `validate` shows them (the first 20 names, then how many more),
        in the parameter file's syntax (`"targets": {"class": "cube"}` in a JSON file's)."""
        from .config.toml_out import inline

        json_file = self._json_file()

        def said(key, table):
            table = label_targets_given(table)
            return (
                f"{json.dumps(key)}: {json.dumps(table, ensure_ascii=False)}"
                if json_file
                else f"{key} = {inline(table)}"
            )

        def listed(names):
            return ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")

        lines = []
        for i, (spec, given, names) in enumerate(zip(self.config.randomizers, self.config.randomizer_targets, targets)):
            if isinstance(given, dict):
                lines.append(
                    f"randomizers[{i}] ({spec.name}): {said('targets', given)}: {len(names)} object(s), {listed(names)}"
                )
            for key, value in spec.options.items():  # surface, avoid, passive, look_at_objects by labels
                if key in spec.OBJECT_OPTIONS and isinstance(value, dict):
                    mine = set(names)
                    chosen = spec.objects(key, [n for n in spec.chosen.get(key, []) if n not in mine])
                    lines.append(
                        f"randomizers[{i}] ({spec.name}): {said(key, value)}: {len(chosen)} object(s), {listed(chosen)}"
                    )
        return lines

    def resolve_targets(self, built) -> list[list[str]]:
        out, problems = [], []
        for i, (spec, patterns) in enumerate(zip(self.config.randomizers, self.config.randomizer_targets)):
            if spec.target_kind is None:
                out.append(["world"])
                continue
            # Options naming other objects by their labels, chosen where targets are.
            spec.choose_objects(lambda table: built.match("objects", table))
            names = built.match(spec.target_kind, patterns, moves=spec.moves_targets)
            if isinstance(patterns, dict):  # label targets: the objects whose labels match
                if not names:
                    its = scene_labels_text(e.labels for e in built.entities.values())
                    expected = (
                        "labels matching objects of the scene: an object matches when, for every type, one of its "
                        f"values matches (one of) the globs (the scene's labels: {its})"
                    )
                    problems.append(FieldError(f"randomizers[{i}].targets", label_targets_given(patterns), expected))
                out.append(names)
                continue
            if not names:
                rigged = sorted(set(built.match(spec.target_kind, patterns)) & built.rigged)
                hint = f" ({', '.join(rigged)}: rigged, they follow their rig camera)" if rigged else ""
                hint += unicode_form_hint(patterns, built.names(spec.target_kind))
                hint += _other_kind_hint(built, spec, patterns)
                what, its = target_words(spec.target_kind)
                expected = f"patterns matching {what} of the scene{hint} (its {its}: "
                problems.append(
                    FieldError(f"randomizers[{i}].targets", patterns, f"{expected}{built.names(spec.target_kind)})")
                )
            # A name without wildcards that matches nothing is most likely an object
            # deleted or renamed since the entry was written: say so rather than skip it.
            gone = _named_absent(patterns, built.names(spec.target_kind))
            if gone and names:  # none at all: the problem above says it
                self.warn(
                    f"randomizers[{i}] ({spec.name}): no {target_words(spec.target_kind)[0]} "
                    f"named {', '.join(map(repr, gone))} "
                    f"(deleted or renamed?); it randomizes {', '.join(names)}"
                )
            out.append(names)
        if problems:
            raise self.config.named(problems)
        return out


def too_close_warning(spec, index: int) -> str:
    """The run's warning for a pose entry whose min_distance max_tries redraws could not
    meet (the frames' too_close)."""
    return (
        f"randomizers[{index}] (pose): min_distance = {spec.options['min_distance']:g} m was not met in some frames "
        f"within max_tries = {spec.options['max_tries']} redraws (the last draw kept; each such frame's line in "
        "audit/frames*.jsonl lists them under too_close): the locations it draws from may hold fewer targets that "
        "far apart"
    )


class FrameSteering:
    """Sample, apply and render one frame; redraw it with derived seeds while a guarantee
    (camera_look_at min_pixels) or an assigned quota case does not hold (bounded).

    Attempt 0 uses the frame's own seeds; attempt k the seeds (seed, frame, stream, k), so
    the frame that is kept is still a pure function of (seed, frame, scene facts).
    """

    def __init__(self, cfg: Config, built, targets, facts, capturer):
        self.cfg, self.built, self.targets, self.facts, self.capturer = cfg, built, targets, facts, capturer
        self.assigned = assign_frames(cfg.seed, cfg.frames, cfg.cases)
        self.cameras = built.render_cameras  # a base .blend's cameras, then [[cameras]]
        self.backgrounds = any(r.name == "background" for r in cfg.randomizers)
        # Frames carry what was drawn; the process that makes their RGB images decodes it
        # with Pillow (backgrounds.photo_behind), off the render loop. Without Pillow
        # (Blender's own Python) only Blender decodes, and only on this thread: here.
        self.photos = None
        if self.backgrounds and not pillow_decodes():
            from .capture.photos import decode_photo

            self.photos = PhotoCache(decode_photo)

    def make_frame(self, f: int, record: dict, player, clip_len: int = 1):
        cfg = self.cfg
        mine = [c for c in cfg.cases if f in self.assigned[c.name]]
        tries = max([c.max_tries for c in mine if is_quota(c)] + [1])
        tries = max([tries] + [int(r.options.get("max_tries", 1)) for r in cfg.randomizers if _guarantees(r)])
        if clip_len > 1:
            tries = 1  # a clip's frames share their draws: one frame of it is not redrawn alone
        _clip, i = clip_of(f, clip_len)
        seconds = {"sample": 0.0, "apply": 0.0, "render": 0.0}
        cpu = dict(seconds)  # CPU of this (the render loop's) thread; Cycles' threads not counted
        for attempt in range(tries):
            t, c0 = time.perf_counter(), time.thread_time()
            sampled = sample_frame(
                cfg.seed, f, cfg.randomizers, self.targets, clip_len, cfg.sequence.fps, self.facts, attempt
            )
            for c in mine:
                if not is_quota(c):
                    apply_overrides(sampled, c)
            t1, c1 = time.perf_counter(), time.thread_time()
            player.apply(i, sampled)
            t2, c2 = time.perf_counter(), time.thread_time()
            captured = self.capturer.capture_frame(f, self.cameras)
            for frame_data in captured:  # applied to RGB in the writers' workers
                frame_data.image_ops = camera_image_ops(sampled, frame_data.camera.name, i)
                if self.backgrounds:
                    frame_data.background = self._background(sampled, frame_data.camera)
            seconds["sample"] += t1 - t
            seconds["apply"] += t2 - t1
            seconds["render"] += time.perf_counter() - t2
            cpu["sample"] += c1 - c0
            cpu["apply"] += c2 - c1
            cpu["render"] += time.thread_time() - c2
            by_camera = {c.camera.name: c for c in captured}
            misses = self._unmet_pixels(sampled, by_camera)
            cases = {
                c.name: (True if not is_quota(c) else holds(c, by_camera[c.camera or self.cameras[0]])) for c in mine
            }
            for c in cfg.cases:  # frames that meet a quota by chance count too
                if is_quota(c) and c.name not in cases:
                    cases[c.name] = holds(c, by_camera[c.camera or self.cameras[0]])
            met = not misses and all(cases[c.name] for c in mine)
            if met or attempt == tries - 1:
                break
        record["samples"] = sampled
        record["seconds"].update(seconds)
        record.setdefault("cpu_seconds", {}).update(cpu)
        if tries > 1:
            record["attempt"] = attempt
            record["guarantees_met"] = met
            if misses:
                record["unmet"] = misses
        if cfg.cases:
            record["cases"] = {c.name: cases[c.name] for c in cfg.cases if c.name in cases}
            if mine:
                record["assigned_cases"] = [c.name for c in mine]
        # Objects an earlier entry hid (a pool's members not shown) were not to be placed.
        unplaced = sorted(
            t
            for s in sampled
            if s["type"] == "scatter"
            for t, v in s["values"].items()
            if not v["placed"] and not v.get("hidden_before")
        )
        if unplaced:
            log.info("frame %d: could not scatter %s (hidden)", f, ", ".join(unplaced))
            record["unplaced"] = unplaced
        # Bodies that did not come to rest: fallen off the passive objects, or through them
        # (planes dropped 5 cm onto the ground passed it between two steps and ended 200 m
        # below, out of the picture, with nothing but 'at_rest: false' in the log). Ten named
        # (400 balls rolling off a ground made a line of 200 names); the log lists them all.
        restless = {
            t: round(float(v["settled_location"][2]), 3)
            for s in sampled
            if s["type"] == "physics_settle"
            for t, v in s["values"].items()
            if v.get("at_rest") is False and "settled_location" in v
        }
        if restless:
            log.info(
                "frame %d: physics_settle: not at rest after max_steps (still moving or rolling, or fallen off "
                "the passive objects or through them: a thin object can pass between two steps a collider that "
                "collides as its triangles, one neither flat nor convex): %s",
                f,
                _listed([f"{t} at z {z:g}" for t, z in sorted(restless.items())], 10, ", "),
            )
            record["not_at_rest"] = sorted(restless)
        too_close = {}
        for i, (spec, entry) in enumerate(zip(cfg.randomizers, sampled)):
            near = spec.too_close(entry["values"]) if isinstance(spec, Pose) else []
            if near:
                too_close[str(i)] = near
        if too_close:
            log.info("frame %d: min_distance not met for %s", f, too_close)
            record["too_close"] = too_close
        return captured

    def _background(self, sampled, camera):
        """The photo behind this camera this frame: what was drawn, or (without Pillow)
        the photo fitted and cut out; None without one."""
        chosen = camera_background(self.cfg.randomizers, sampled, camera.name)
        if chosen is None:  # (thermal and NIR cameras are refused as targets: check_targets)
            return None
        path, fit, offset = chosen
        draw = PhotoDraw(str(path), camera.width, camera.height, fit, offset)
        return draw if self.photos is None else self.photos.background(*draw)

    def _unmet_pixels(self, sampled, by_camera) -> list[str]:
        out = []
        for spec, entry in zip(self.cfg.randomizers, sampled):
            if not _guarantees(spec):
                continue
            for cam, target, need in spec.pixel_requirements(entry["values"]):
                frame = by_camera[cam]
                iid = self.built.entities[target].instance_id
                counts = frame.instance_pixel_counts()
                have = int(counts[iid]) if iid < len(counts) else 0
                if have < need:
                    out.append(f"{cam}: {target} covers {have} < {need} pixels")
        return out


def _guarantees(spec) -> bool:
    return hasattr(spec, "pixel_requirements") and int(spec.options.get("min_pixels", 0)) > 0


class DiskError(RuntimeError):
    """The output folder cannot be written (full, read-only, no permission): one line, exit 1."""


def disk_error(e: OSError, folder: Path) -> DiskError:
    where = e.filename if isinstance(e.filename, str) else folder
    cause = e.strerror or str(e)
    if isinstance(e, output.DeleteRefused):
        return DiskError(
            f"--overwrite: cannot delete {Path(where).as_posix()}, a file of the run in {Path(folder).as_posix()}: "
            f"{cause}; the files before it are deleted, the others kept: once it can be deleted (its "
            "permissions, chattr -i), run --overwrite again"
        )
    return DiskError(f"cannot write to {Path(folder).as_posix()}: {cause} ({Path(where).as_posix()})")


def _json_equal(path: Path, obj) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(obj, default=str))
    except (OSError, ValueError):
        return False


def _named_absent(patterns: list[str], known: Iterable[str]) -> list[str]:
    """The patterns without wildcards that name none of `known`: most likely deleted or
    renamed since the file was written (a glob matching nothing may be meant)."""
    known = set(known)
    return [p for p in patterns if not any(c in p for c in "*?[") and p not in known]


def _listed(items: list[str], at_most: int = 10, sep: str = "; ") -> str:
    """The first `at_most` items, and how many more there are."""
    more = f"{sep}and {len(items) - at_most} more" if len(items) > at_most else ""
    return sep.join(items[:at_most]) + more


__all__ = ["ANNOTATORS", "DiskError", "Recorder", "RecorderError", "RunOptions", "RunResult", "parse_frames"]
