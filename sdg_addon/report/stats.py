"""What a dataset holds, read from an output folder (BasicWriter files + audit/), no bpy.

`collect(folder)` returns a Stats: frames per camera, instances per class, per-class box
sizes, occlusion and truncation, depth ranges, box-centre positions, every randomizer's
sampled values against its declared support, and the manifest's cases / quotas. Missing
inputs are reported as notes ("no occlusion annotator: truncation not recorded"), never
guessed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import visualize
from ..audit import finished_frames
from ..sampling.cases import case_warnings
from ..writers.basic import CLIP_FOLDER

HEAT_BINS = (32, 24)  # columns, rows of the box-centre heat map (image normalized to 1 x 1)
DEPTH_SAMPLE = 4096  # pixels per frame kept for the depth histogram (evenly strided)


@dataclass
class ParamRange:
    """One randomizer parameter component: what was sampled against what is declared."""

    randomizer: str  # "0: pose"
    param: str  # "location[0]"
    low: float | None  # declared support (None: not numeric; inf: unbounded)
    high: float | None
    sampled_min: float | None
    sampled_max: float | None
    count: int
    outside: int  # sampled values outside the declared support
    distinct: list = field(default_factory=list)  # non-numeric values seen (choices of names)
    declared: list | None = None  # non-numeric: the values the distribution declares (JSON), if it lists them

    @property
    def ok(self) -> bool:
        return self.outside == 0


@dataclass
class Stats:
    folder: Path
    frames: dict[str, list[int]]  # camera ("" for the root) -> frame numbers
    image_size: tuple[int, int] | None  # the largest camera's (width, height)
    image_sizes: dict[str, tuple[int, int]]  # camera -> (width, height) of its frames
    classes: list[str]
    instances: dict[str, int]  # class -> tight boxes (visible instances) over the dataset
    frames_with: dict[str, int]  # class -> frames (of any camera) where it is visible
    box_size: dict[str, list[float]]  # class -> sqrt(box area) in pixels
    occlusion: dict[str, list[float]]  # class -> occlusionRatio of its tight boxes
    truncation: dict[str, list[float]] | None  # class -> truncationRatio (occlusion annotator)
    centres: np.ndarray  # (N, 2) box centres, normalized to [0, 1] (x, y)
    depth_per_frame: list[tuple[int, float, float]]  # (frame, min, max) of finite depth
    depth_sample: np.ndarray  # depth values sampled over all frames, metres
    ranges: list[ParamRange]
    manifest: dict
    resolved: dict
    notes: list[str]
    depth_frames: int = 0  # frames (of any camera) with a distance_to_image_plane file, surface or none
    box_frames: int = -1  # frames (of any camera) with a bounding_box_2d_tight file; 0: no box recorded

    @property
    def frame_count(self) -> int:
        return len(set().union(*self.frames.values())) if self.frames else 0


def _read_json(path: Path, default=None):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def collect(folder: Path | str, semantic_type: str | None = None) -> Stats:
    """`semantic_type`: the label type whose values are the classes; default: the one the
    run's bounding_box_2d_tight annotator labels its rows by (audit/resolved.json), "class"."""
    folder = Path(folder)
    audit = folder / "audit"
    notes: list[str] = []
    cams = visualize.cameras(folder)
    resolved = _read_json(audit / "resolved.json", {}) or {}
    if semantic_type is None:
        boxes_options = (
            (resolved.get("annotators") or {}).get("bounding_box_2d_tight") if isinstance(resolved, dict) else None
        )
        chosen = boxes_options.get("semantic_type") if isinstance(boxes_options, dict) else None
        semantic_type = chosen if isinstance(chosen, str) and chosen else "class"
        if semantic_type != "class":
            notes.append(f"classes are the {semantic_type!r} labels, by which bounding_box_2d_tight labels its boxes")
    clip_length = int((resolved.get("sequence") or {}).get("clip_length") or 1)
    in_clip = {cam: visualize.frames(folder, cam) for cam in cams}  # numbers as in file names
    frames = {cam: [_run_frame(cam, f, clip_length) for f in numbers] for cam, numbers in in_clip.items()}
    table = _read_json(audit / "label_table.json", {}) or {}
    classes = list(table.get(semantic_type, []))
    kept = _box_filter(resolved)
    if kept:  # the boxes keep only these: the label table's other classes have none, seen or not
        from ..annotators.semantics import passes_filter  # values or patterns, as the annotator reads them

        classes = [c for c in classes if passes_filter(c.split(","), kept)]
        notes.append(f"bounding_box_2d_tight keeps only {', '.join(kept)} (its semantic_filter): the classes are those")
    from ..output import dataset_root

    root = None if audit.is_dir() else dataset_root(folder)
    if root is not None:  # a clip's or camera's folder: the audit is its dataset's, of every frame
        notes.append(
            f"{folder.name or folder.resolve().name} is a folder inside the dataset {root}: the dataset's audit/ "
            "(label table, seed, "
            f"sampled values, warnings) is read by the report of {root}; classes are taken as met here"
        )
    elif not classes:
        notes.append(f"audit/label_table.json lists no {semantic_type!r} labels: classes are taken as met")

    instances: dict[str, int] = {}
    frames_with: dict[str, set] = {}
    box_size: dict[str, list[float]] = {}
    occlusion: dict[str, list[float]] = {}
    truncation: dict[str, list[float]] = {}
    have_truncation = False
    centres = []
    depth_per_frame, depth_sample = [], []
    image_sizes: dict[str, tuple[int, int]] = {}  # cameras may differ (a camera's width, height)
    missing_boxes = unnamed = 0
    depth_frames = no_surface = 0
    for cam, numbers in in_clip.items():
        files = visualize.camera_frame_files(folder, cam)  # the folder read once, not per frame
        for n in numbers:
            ff = files[n]
            f = _run_frame(cam, n, clip_length)
            if cam not in image_sizes:
                image_sizes[cam] = visualize.read_image(ff.path("rgb", "png")).size
            w, h = image_sizes[cam]
            boxes = visualize.load_boxes(ff)
            if boxes is None:
                missing_boxes += 1
            box_labels = ff.json("bounding_box_2d_tight_labels") or {}
            for b in boxes or []:
                if b.x_max < b.x_min or b.y_max < b.y_min:
                    continue  # an empty box (a dataset made elsewhere: an object not in view), as preview skips it
                label = _label_of(box_labels, b.semantic_id, semantic_type)
                if label is None:
                    unnamed += 1
                    continue
                if label not in classes:
                    classes.append(label)
                instances[label] = instances.get(label, 0) + 1
                frames_with.setdefault(label, set()).add(f)
                bw, bh = b.x_max - b.x_min + 1, b.y_max - b.y_min + 1
                box_size.setdefault(label, []).append(math.sqrt(bw * bh))
                occlusion.setdefault(label, []).append(b.occlusion)
                centres.append(((b.x_min + b.x_max + 1) / 2 / w, (b.y_min + b.y_max + 1) / 2 / h))
            got = _truncation(ff, semantic_type)
            if got is not None:
                have_truncation = True
                for label, values in got.items():
                    truncation.setdefault(label, []).extend(values)
            dp = ff.path("distance_to_image_plane", "npy")
            if dp is not None:
                depth_frames += 1
                d = visualize.load_npy(dp)
                finite = d[np.isfinite(d)] * visualize.meters_per_unit(ff)  # scene units -> metres
                if not finite.size:
                    no_surface += 1
                else:
                    depth_per_frame.append((f, float(finite.min()), float(finite.max())))
                    step = max(1, finite.size // DEPTH_SAMPLE)
                    depth_sample.append(finite[::step])
    depth_per_frame.sort(key=lambda t: t[0])  # frame order (cameras / clips are read one after another)
    if unnamed:  # a frame still being written (its labels file not yet there), a row of another type
        notes.append(
            f"{unnamed} box row(s) whose semanticId their frame's bounding_box_2d_tight_labels gives no "
            f"{semantic_type!r} label: not counted"
        )
    read = sum(len(numbers) for numbers in in_clip.values())  # frames of every camera
    annotators = resolved.get("annotators") if isinstance(resolved, dict) else None
    if (
        missing_boxes
        and missing_boxes == read
        and isinstance(annotators, dict)
        and "bounding_box_2d_tight" not in annotators
    ):
        notes.append(
            "the run has no bounding_box_2d_tight annotator: objects seen, box sizes, centres and occlusion are "
            "not recorded (add bounding_box_2d_tight = {} under [annotators])"
        )
    elif missing_boxes:
        notes.append(f"{missing_boxes} frame(s) without bounding_box_2d_tight: no boxes, classes or occlusion there")
    if not have_truncation:
        notes.append("truncation not recorded: add the `occlusion` annotator to the run to see it")
    if not depth_frames:
        notes.append("no distance_to_image_plane files: depth range not shown")
    elif no_surface:  # every pixel infinite (sky only, the camera looking away): no range to draw
        notes.append(
            f"{no_surface} of {depth_frames} frame(s) with no surface in view (distance_to_image_plane "
            "infinite everywhere): "
            + ("depth range not shown" if not depth_per_frame else "left out of the depth charts")
        )
    if depth_frames and depth_frames < read:  # some frames without the file (one still being written)
        notes.append(f"{read - depth_frames} frame(s) without distance_to_image_plane: left out of the depth charts")

    # Every process's log: a run's frames.jsonl, a parallel run's frames.wNNN.jsonl, shards'
    # and Ray processes' own (a frame logged twice, by a resumed run: its last record).
    try:
        records = [rec for _frame, rec in sorted(finished_frames(audit).items())] if audit.is_dir() else []
        if not records and root is None:
            notes.append("audit/frames*.jsonl missing or empty: sampled values not shown")
    except OSError as e:  # an unreadable log: the rest of the page still says what it can
        records = []
        notes.append(f"cannot read the frame logs ({e}): sampled values not shown")
    ranges = randomizer_ranges(resolved.get("randomizers", []), records)
    return Stats(
        folder=folder,
        frames=frames,
        image_size=max(image_sizes.values(), key=lambda wh: wh[0] * wh[1]) if image_sizes else None,
        image_sizes=image_sizes,
        classes=classes,
        instances={c: instances.get(c, 0) for c in classes},
        frames_with={c: len(frames_with.get(c, ())) for c in classes},
        box_size=box_size,
        occlusion=occlusion,
        truncation=truncation if have_truncation else None,
        centres=np.array(centres, dtype=np.float64).reshape(-1, 2),
        depth_per_frame=depth_per_frame,
        depth_sample=np.concatenate(depth_sample) if depth_sample else np.zeros(0),
        ranges=ranges,
        manifest=_manifest(audit),
        resolved=resolved,
        notes=notes,
        depth_frames=depth_frames,
        box_frames=read - missing_boxes,
    )


def _box_filter(resolved) -> list[str]:
    """The run's bounding_box_2d_tight semantic_filter (audit/resolved.json); [] keeps all."""
    options = (resolved.get("annotators") or {}).get("bounding_box_2d_tight") if isinstance(resolved, dict) else None
    kept = options.get("semantic_filter") if isinstance(options, dict) else None
    return [str(v) for v in kept] if isinstance(kept, list) else []


def _run_frame(camera: str, frame: int, clip_length: int) -> int:
    """The run's frame of a file numbered `frame` in `camera` ("clip_0003" or
    "clip_0003/left" in a sequence run: numbered within the clip; else the run's frame)."""
    clip = camera.split("/")[0]
    if CLIP_FOLDER.match(clip):
        return int(clip.split("_")[1]) * clip_length + frame
    return frame


def _label_of(labels, semantic_id: int, semantic_type: str) -> str | None:
    entry = labels.get(str(semantic_id)) if isinstance(labels, dict) else None
    if isinstance(entry, dict):
        value = entry.get(semantic_type)
        return ",".join(value) if isinstance(value, list) else value
    return None


def _truncation(ff, semantic_type: str) -> dict[str, list[float]] | None:
    """class -> truncationRatio of the occlusion annotator's rows (sdg_occlusion files) of
    the objects seen in the frame: the visible instances, as the Classes table and the other
    histograms count them (an object hidden whole has a row there, and no tight box)."""
    info = ff.json("sdg_occlusion_info") or ff.json("occlusion_info")
    rows_path = ff.path("sdg_occlusion", "npy") or ff.path("occlusion", "npy")
    if not isinstance(info, dict) or "truncationRatio" not in info or rows_path is None:
        return None
    rows = visualize.load_npy(rows_path)
    names = rows.dtype.names or ()
    if "visiblePixels" in names:
        seen = rows["visiblePixels"] > 0
    elif "occlusionRatio" in names:  # Replicator's three fields only
        seen = rows["occlusionRatio"] < 1
    else:
        seen = np.ones(len(rows), dtype=bool)
    labels = info.get("idToLabels", {})
    out: dict[str, list[float]] = {}
    for row, t, visible in zip(rows, info["truncationRatio"], seen):
        if not visible:
            continue
        entry = labels.get(str(int(row["semanticId"])), {})
        value = entry.get(semantic_type) if isinstance(entry, dict) else None
        if isinstance(value, str) and value != "UNLABELLED" and t is not None:
            out.setdefault(value, []).append(float(t))
    return out


def _manifest(audit: Path) -> dict:
    """The run's manifest: audit/manifest.json (a run, a parallel run's parent, or `merge`
    of shards), else the last of the per-process ones shards and Ray processes write
    (manifest.<tag>.json); with the warnings of every one of them, each once."""
    paths = sorted(audit.glob("manifest*.json")) if audit.is_dir() else []
    found = {p.name: _read_json(p, {}) or {} for p in paths}
    if not found:
        return {}
    manifest = dict(found.get("manifest.json") or found[paths[-1].name])
    if "manifest.json" not in found:  # one process's of several (shards not merged yet): said as its
        manifest["_read_from"] = paths[-1].name
    warnings = []
    for name, m in found.items():
        said = m.get("warnings") or []
        if name != "manifest.json" and isinstance(m.get("cases"), dict) and "cases" in found.get("manifest.json", {}):
            # A part's case warnings counted only its part: the run's (or merge's) count is whole.
            partial = set(case_warnings(m["cases"]))
            said = [w for w in said if w not in partial]
        warnings += said
    if warnings:
        manifest["warnings"] = list(dict.fromkeys(warnings))
    return manifest


def _numbers(value) -> list[float] | None:
    """A sampled value as a list of components, or None when it is not numeric."""
    if isinstance(value, bool):
        return [float(value)]
    if isinstance(value, (int, float)):
        return [float(value)]
    if (
        isinstance(value, list)
        and value
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    ):
        return [float(x) for x in value]
    return None


def _draws(value) -> list:
    """The draws of one logged value: a trajectory's velocities are logged as a list of
    vectors, one per knot (one for a linear path), each a draw of the declared vec3."""
    if isinstance(value, list) and value and all(isinstance(v, list) and _numbers(v) is not None for v in value):
        return list(value)
    return [value]


def randomizer_ranges(randomizers: list[dict], records: list[dict]) -> list[ParamRange]:
    """Per randomizer parameter (and component): sampled min / max over all draws and
    targets against the declared distribution's support (Distribution.bounds). Each draw
    counts once: a frame that shows an earlier frame's draw (a clip's later frames, an
    `interval`'s, a `trigger = "once"` run's) logs it again with that frame as its
    "trigger_frame" (sampler.sample_frame)."""
    from ..sampling.distributions import is_distribution_spec, make_distribution

    out = []
    for i, spec in enumerate(randomizers):
        kind = spec.get("type", "?")
        for param, declared in spec.items():
            if not is_distribution_spec(declared):
                continue
            try:
                bounds = make_distribution(declared).bounds()
            except (TypeError, ValueError, KeyError):
                bounds = None
            values = []
            drawn_at = set()
            for rec in records:
                samples = rec.get("samples") or []
                if i >= len(samples) or samples[i].get("type") != kind:
                    continue
                frame = samples[i].get("trigger_frame", rec.get("frame"))
                if frame is not None:
                    if frame in drawn_at:
                        continue
                    drawn_at.add(frame)
                for target_values in (samples[i].get("values") or {}).values():
                    if isinstance(target_values, dict) and param in target_values:
                        values.extend(_draws(target_values[param]))
            numeric = [_numbers(v) for v in values]
            if values and all(n is not None for n in numeric) and len({len(n) for n in numeric}) == 1:
                arr = np.array(numeric)
                lo, hi = (
                    (None, None)
                    if bounds is None
                    else (np.broadcast_to(bounds[0], arr.shape[1:]), np.broadcast_to(bounds[1], arr.shape[1:]))
                )
                for c in range(arr.shape[1]):
                    name = param if arr.shape[1] == 1 else f"{param}[{c}]"
                    col = arr[:, c]
                    l_c = float(lo[c]) if lo is not None else None
                    h_c = float(hi[c]) if hi is not None else None
                    tol = 1e-9 * max(1.0, abs(l_c or 0), abs(h_c or 0))
                    outside = 0
                    if l_c is not None:
                        outside = int(np.count_nonzero((col < l_c - tol) | (col > h_c + tol)))
                    out.append(
                        ParamRange(
                            f"{i}: {kind}", name, l_c, h_c, float(col.min()), float(col.max()), len(col), outside
                        )
                    )
            else:
                distinct = sorted({json.dumps(v, sort_keys=True) for v in values})
                declared_values = declared.get("values")
                allowed = (
                    {json.dumps(v, sort_keys=True) for v in declared_values}
                    if isinstance(declared_values, list)
                    else None
                )
                outside = sum(1 for v in values if allowed is not None and json.dumps(v, sort_keys=True) not in allowed)
                out.append(
                    ParamRange(
                        f"{i}: {kind}",
                        param,
                        None,
                        None,
                        None,
                        None,
                        len(values),
                        outside,
                        distinct[:20],
                        [json.dumps(v, sort_keys=True) for v in declared_values] if allowed is not None else None,
                    )
                )
    return out
