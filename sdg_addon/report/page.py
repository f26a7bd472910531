"""The dataset report: one HTML page + PNG plots, for one dataset or two side by side.

    write_report(folder)          -> folder/report/index.html (+ PNGs beside it)
    write_comparison(a, b)        -> a/report/compare_<b>/index.html

The page is static (no network, no external files): open it in any browser. A small
inline script checks that every plot loaded and says so at the top of the page (and in
`<body data-plots="loaded N of M">`), so a broken report is seen, not guessed.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
from pathlib import Path

import numpy as np

from .. import output, visualize
from ..writers import io
from ..writers.basic import CLIP_FOLDER, FRAME_FOLDER
from ..writers.common import safe_name
from . import plots
from .stats import Stats, collect

CHECK_SCRIPT = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.dataset.plots = "loaded " + ok + " of " + imgs.length;
  var s = document.getElementById("plot-status");
  s.textContent = ok === imgs.length ? "All " + ok + " plots shown." : (imgs.length - ok) + " plot(s) failed to load.";
  s.className = ok === imgs.length ? "ok" : "bad";
});
</script>"""

STYLE = """<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1500px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.bad { color: #c00; font-weight: bold; } .ok { color: #2a7; }
.note { color: #865; } img { max-width: 100%; border: 1px solid #eee; margin: 4px 0; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
</style>"""


GENERATOR = "<meta name='generator' content='sdg report'>"
REPORT_SOFTWARE = "sdg report"  # the PNG text chunk of the report's plots


@contextlib.contextmanager
def _owned(out: Path, dataset: Path):
    """Write the report only where it may go: inside the dataset (recorded as the tool's
    files, so `--overwrite` removes them), or into a folder that is new, empty or holds an
    earlier report. Writes anywhere else are refused while the report is written. `dataset`
    may be a folder inside one (a clip's, a camera's): its dataset records the files."""
    existing = next((p for p in (out, *out.parents) if os.path.lexists(p)), None)
    if existing is not None and not existing.is_dir():  # the user's input, not a failure of the disk
        raise ValueError(f"report folder {out}: {existing} is a file, not a folder; give a new or empty --out")
    dataset = output.dataset_root(dataset) or dataset
    in_dataset = output.inside_dataset(dataset, out)
    refused = (
        output.audit_refusal(dataset, out, "report folder") or output.frames_refusal(out, out, "report folder")
        if in_dataset
        else None
    )
    if refused:
        raise ValueError(refused)
    unusable = None if in_dataset else output.unusable_location(str(out))
    if unusable is not None:  # a name or path too long, a link leading nowhere: before any folder is made
        raise ValueError(f"report {unusable}; give another --out")
    if not in_dataset and out.exists():
        page = out / "index.html"
        ours = page.is_file() and GENERATOR in page.read_text(encoding="utf-8", errors="replace")
        if any(out.iterdir()) and not ours:
            raise ValueError(f"report folder {out} holds files this tool did not write; give a new or empty --out")
    root = dataset if in_dataset else out
    out.mkdir(parents=True, exist_ok=True)
    output.activate(root)
    try:
        yield
    finally:
        output.deactivate(root)


def _e(x) -> str:
    return html.escape(str(x))


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _mean(values) -> str:
    return f"{float(np.mean(values)):.3f}" if values else "–"


def _save(image, folder: Path, name: str) -> str:
    visualize.save_png(image, folder / name, software=REPORT_SOFTWARE)  # not a preview: preview --out keeps off it
    return name


def _plots(stats: Stats, folder: Path, prefix: str = "") -> dict[str, str]:
    """Draw every chart of one dataset into `folder`; {chart: file name}."""
    out = {}
    classes = stats.classes
    out["classes"] = _save(
        plots.bar_chart("Visible instances per class", classes, {"instances": [stats.instances[c] for c in classes]}),
        folder,
        f"{prefix}classes.png",
    )
    w, h = stats.image_size or (1, 1)
    largest = math.sqrt(w * h)  # a box filling the image: the axis holds every box, none piled at its end
    sizes = {c: stats.box_size.get(c, []) for c in classes}
    out["box_size"] = _save(
        plots.histogram_grid("Box size per class: sqrt(width x height), pixels", sizes, 0, largest, unit=" px"),
        folder,
        f"{prefix}box_size.png",
    )
    occ = {c: stats.occlusion.get(c, []) for c in classes}
    out["occlusion"] = _save(
        plots.histogram_grid("Occlusion ratio per class (0 visible .. 1 hidden)", occ, 0, 1),
        folder,
        f"{prefix}occlusion.png",
    )
    if stats.truncation is not None:
        tr = {c: stats.truncation.get(c, []) for c in classes}
        out["truncation"] = _save(
            plots.histogram_grid("Truncation ratio per class (part outside the image)", tr, 0, 1),
            folder,
            f"{prefix}truncation.png",
        )
    out["depth"] = _save(
        plots.depth_chart(
            "Depth (distance to the image plane)",
            stats.depth_per_frame,
            stats.depth_sample,
            recorded=stats.depth_frames > 0,
        ),
        folder,
        f"{prefix}depth.png",
    )
    out["heatmap"] = _save(
        plots.heatmap("Object centres in the image", stats.centres, w / h), folder, f"{prefix}centres.png"
    )
    out["ranges"] = _save(
        plots.range_chart("Randomizers: sampled range (blue) in declared support (grey)", stats.ranges),
        folder,
        f"{prefix}randomizers.png",
    )
    try:
        sheet = visualize.contact_sheet(stats.folder, n=16, columns=4, thumb_width=240)
        out["sheet"] = _save(sheet, folder, f"{prefix}contact_sheet.png")
    except (FileNotFoundError, KeyError, ValueError, OSError) as e:  # said on the page (a file that cannot be read)
        out["sheet_note"] = f"not drawn: {e.args[0] if isinstance(e, KeyError) else e}"
    return out


def _camera_of(name: str) -> tuple[str | None, str]:
    """(clip folder or None, camera) of a camera name of the visualizer: "clip_0003/left" ->
    ("clip_0003", "left"), "clip_0003" (one camera) -> ("clip_0003", ""), "left" -> (None, "left")."""
    first, _, rest = name.partition("/")
    return (first, rest) if CLIP_FOLDER.match(first) else (None, name)


def _run_cameras(stats: Stats) -> list[str]:
    """The run's camera names (audit/cameras.json of the folder, else of the dataset it lies
    in: a camera's or a clip's folder), [] where none is recorded."""
    root = stats.folder if (stats.folder / "audit").is_dir() else output.dataset_root(stats.folder)
    try:
        names = json.loads((Path(root) / "audit" / "cameras.json").read_text(encoding="utf-8")) if root else None
    except (OSError, ValueError):
        names = None
    return names if isinstance(names, list) and all(isinstance(n, str) for n in names) else []


def _root_camera(stats: Stats) -> str:
    """The name of a camera whose files are at the root (of the folder or of each clip's):
    the run's only camera (audit/cameras.json), the camera whose folder this is (OUT/left,
    OUT/clip_0003/left), else "(root)"."""
    names = _run_cameras(stats)
    if len(names) == 1:
        return names[0]
    if (stats.folder / "audit").is_dir():
        return "(root)"
    return {safe_name(n): n for n in names}.get(Path(os.path.realpath(stats.folder)).name, "(root)")


def _summary_rows(stats: Stats) -> list[tuple[str, str]]:
    m = stats.manifest
    root = _root_camera(stats) if "" in {_camera_of(c)[1] for c in stats.frames} else "(root)"
    # A camera's folder is its name made portable ("über" -> _ber-b51c8541): named as the run names it.
    by_folder = {safe_name(n): n for n in _run_cameras(stats)}

    def camera(folder: str) -> str:
        return by_folder.get(folder, folder) if folder else root

    # A sequence's clips hold the cameras (clip_0003/left): each camera is named once.
    sizes = {_camera_of(cam)[1]: f"{w} x {h}" for cam, (w, h) in stats.image_sizes.items()}
    if len(set(sizes.values())) > 1:  # cameras of their own sizes: each named
        size = _e(", ".join(f"{wh} ({camera(cam)})" for cam, wh in sizes.items()))
    else:
        size = next(iter(sizes.values()), "0 x 0")
    cameras = list(dict.fromkeys(_camera_of(c)[1] for c in stats.frames))
    clips = {_camera_of(c)[0] for c in stats.frames} - {None}
    named = ", ".join(camera(c) for c in cameras) or "–"
    frames = str(stats.frame_count)
    planned = stats.resolved.get("frames")  # the run's frames (audit/resolved.json)
    if isinstance(planned, int) and not isinstance(planned, bool) and 0 <= stats.frame_count < planned:
        frames = (
            f"{stats.frame_count} of {planned}: {planned - stats.frame_count} not finished (a run under way, "
            "one stopped, which render --resume continues, or one of some frames: --frames, --shard)"
        )
    rows = [
        ("frames", _e(frames)),
        ("cameras", _e(named + (f" (in {len(clips)} clips)" if clips else ""))),
        ("image size", size),
        ("classes", str(len(stats.classes))),
        ("visible instances", str(sum(stats.instances.values())) if stats.box_frames != 0 else "– (no boxes recorded)"),
        ("seed", _e(stats.resolved.get("seed", "–"))),
        ("render samples", _e((stats.resolved.get("render") or {}).get("samples", "–"))),
        ("seconds (last run)", _e(_seconds(m))),
    ]
    if stats.depth_per_frame:
        lo = min(p[1] for p in stats.depth_per_frame)
        hi = max(p[2] for p in stats.depth_per_frame)
        rows.append(("depth range", f"{lo:.3f} .. {hi:.3f} m"))
    lidars = _lidar_text(stats)
    if lidars:
        rows.append(("LiDARs", _e(lidars)))
    warnings = m.get("warnings") or []
    said = "none" if m else "–"  # no manifest read (a run under way, a folder inside a dataset): not known
    rows.append(("warnings", "<br>".join(_e(x) for x in warnings) if warnings else said))
    return rows


def _seconds(m: dict) -> str:
    """The run's seconds, and whose they are where not one run's: a merge adds its shards'
    last runs (which may have run at once, on several machines); before the merge the
    manifest read is one shard's."""
    seconds = m.get("seconds_total")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return "–"
    said = f"{round(seconds, 2)}"
    parts = m.get("parts")
    if m.get("mode") == "merge" and isinstance(parts, dict) and len(parts) > 1:
        return f"{said} ({len(parts)} shards' last runs, added)"
    if m.get("_read_from"):
        tag = str(m["_read_from"]).removeprefix("manifest.").removesuffix(".json")
        return f"{said} ({tag}'s last run alone, until merge adds every part's)"
    return said


def _lidar_text(stats: Stats) -> str:
    """The run's LiDARs (resolved.json) and their scans in the folder, "" for none: the page's
    charts are of the cameras' images, and the point clouds are named so a reader knows them."""
    lidars = stats.resolved.get("lidars")
    names = (
        [x["name"] for x in lidars if isinstance(x, dict) and isinstance(x.get("name"), str)]
        if isinstance(lidars, list)
        else []
    )
    scans = [
        f
        for f in stats.folder.rglob("lidar_[0-9]*.npy")
        if f.stem[6:].isdigit() and f.relative_to(stats.folder).parts[0] not in ("audit", "preview", "report")
    ]
    said = []
    for name in names:
        folder = safe_name(name)
        found = [f for f in scans if _scan_of(f.parent, folder, stats.folder)]
        if not found and len(names) == 1:  # camera_subfolders = "never": beside the camera's files
            found = [f for f in scans if _beside_camera(f.parent, stats.folder)]
        # Where they are: a sequence's in each clip's folder (clip_0003/top/lidar/), not top/lidar/;
        # frames_per_folder's in frames_N/ folders (top/frames_0000000/lidar/).
        places = sorted({f.parent.relative_to(stats.folder).as_posix() for f in found}) or [f"{folder}/lidar"]
        where = "/, ".join(places) + "/"
        if len(places) > 1:
            shapes = dict.fromkeys(
                "/".join(
                    "clip_*" if CLIP_FOLDER.match(part) else "frames_*" if FRAME_FOLDER.match(part) else part
                    for part in place.split("/")
                )
                for place in places
            )
            clips = {place.split("/")[0] for place in places if CLIP_FOLDER.match(place.split("/")[0])}
            where = "/, ".join(shapes) + "/" + (f" of {len(clips)} clips" if clips else "")
        where = where.replace("./", "the output folder, beside the images")
        n = len(found)
        said.append(f"{name}: {n} scan{'s' if n != 1 else ''} in {where}")
    return ", ".join(said) + " (the charts below are of the cameras' images)" if said else ""


def _scan_of(parent: Path, folder: str, root: Path) -> bool:
    """Whether a lidar_N.npy in `parent` is a scan of the LiDAR whose folder is `folder`: its
    folder in the dataset's (or a clip's), in its lidar/ annotator folder or not
    (annotator_subfolders = false), in a frames_N folder or not (frames_per_folder). A LiDAR
    named lidar is not another's annotator folder (top/lidar/)."""
    rel = parent.relative_to(root).parts
    if rel and CLIP_FOLDER.match(rel[0]):
        rel = rel[1:]
    if rel[-1:] == ("lidar",) and len(rel) > 1:
        rel = rel[:-1]
    if len(rel) == 2 and FRAME_FOLDER.match(rel[1]):
        rel = rel[:1]
    return rel == (folder,)


def _beside_camera(parent: Path, root: Path) -> bool:
    """Whether `parent` holds a camera's own files: the dataset's folder, a clip's or a
    frames_N folder of either (one camera and one LiDAR, camera_subfolders = "never")."""
    rel = parent.relative_to(root).parts
    return all(CLIP_FOLDER.match(part) or FRAME_FOLDER.match(part) for part in rel) and len(rel) <= 2


def _class_rows(stats: Stats) -> list[list]:
    rows = []
    recorded = stats.box_frames != 0  # no frame with boxes: nothing is known to be unseen
    for c in stats.classes:
        trunc = _mean(stats.truncation.get(c, [])) if stats.truncation is not None else "–"
        missing = stats.instances[c] == 0 and recorded
        rows.append(
            [
                (f'<span class="bad">{_e(c)}</span>' if missing else _e(c)),
                stats.instances[c] if recorded else "–",
                stats.frames_with[c] if recorded else "–",
                _mean(stats.box_size.get(c, [])),
                _mean(stats.occlusion.get(c, [])),
                trunc,
            ]
        )
    return rows


def _range_rows(stats: Stats) -> list[list]:
    rows = []
    for r in stats.ranges:
        if r.sampled_min is not None:
            support = f"[{r.low:.4g}, {r.high:.4g}]" if r.low is not None else "not numeric"
            sampled = f"{r.sampled_min:.4g} .. {r.sampled_max:.4g}"
        else:
            listed = r.declared
            support = (
                _e(", ".join(listed[:8]) + (f", ... ({len(listed)} in all)" if len(listed) > 8 else ""))
                if listed
                else "values"
            )
            sampled = _e(", ".join(r.distinct[:8]))
        flag = '<span class="ok">inside</span>' if r.ok else f'<span class="bad">{r.outside} outside</span>'
        rows.append([_e(r.randomizer), _e(r.param), support, sampled, r.count, flag])
    return rows


def _short(value) -> str:
    if isinstance(value, list) and len(value) > 12:
        return _e(json.dumps(value[:12])[:-1] + f", ... ({len(value)} in all)]")
    return _e(json.dumps(value))


def _cases_table(cases: dict) -> str:
    """The manifest's corner cases: requested against made, unmet ones in red."""
    rows = []
    for name, c in cases.items():
        met = c.get("met")
        flag = '<span class="ok">met</span>' if met else '<span class="bad">not met</span>'
        rows.append(
            [
                _e(name),
                _e(c.get("kind", "")),
                _e(c.get("requested", "")),
                _e(c.get("made", "")),
                flag,
                _short(c.get("frames", [])),
            ]
        )
    return "<h2>Cases and quotas</h2>" + _table(["case", "kind", "requested", "made", "", "frames"], rows)


def _json_section(title: str, value) -> str:
    """Cases, quotas or any other manifest entry, shown as a table when it is one."""
    if title == "cases" and isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
        return _cases_table(value)
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        keys = sorted({k for v in value.values() for k in v})
        rows = [[_e(name)] + [_short(v.get(k)) for k in keys] for name, v in value.items()]
        return f"<h2>{_e(title)}</h2>" + _table([title, *keys], rows)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keys = sorted({k for v in value for k in v})
        rows = [[_short(v.get(k)) for k in keys] for v in value]
        return f"<h2>{_e(title)}</h2>" + _table(keys, rows)
    return f"<h2>{_e(title)}</h2><pre>{_e(json.dumps(value, indent=1))}</pre>"


def _manifest_extras(stats: Stats) -> str:
    found = [k for k in stats.manifest if any(w in k.lower() for w in ("case", "quota")) and stats.manifest[k]]
    if not found:
        declared = stats.resolved.get("cases") if isinstance(stats.resolved, dict) else None
        names = [c.get("name") for c in declared if isinstance(c, dict)] if isinstance(declared, list) else []
        if names:  # counted in the manifest, which the run writes as it ends (a run under way has none yet)
            said = (
                f"The run declares {len(names)} case(s) ({', '.join(map(str, names))}); no manifest counts them yet: "
                "audit/manifest.json is written as the run ends (a run under way, or one killed, has none)."
            )
        elif not stats.manifest and not stats.resolved:  # no audit read (a dataset made elsewhere, a clip's folder)
            said = "Not known: no audit/manifest.json or audit/resolved.json read."
        else:
            said = "The run declared no cases or quotas."
        return f"<h2>Cases and quotas</h2><p class='note'>{_e(said)}</p>"
    return "".join(_json_section(k, stats.manifest[k]) for k in found)


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{GENERATOR}<title>{_e(title)}</title>{STYLE}</head>"
        f"<body><h1>{_e(title)}</h1><p id='plot-status' class='note'>Checking plots...</p>{body}"
        f"{CHECK_SCRIPT}</body></html>\n"
    )


def _img(name: str | None, alt: str) -> str:
    return f"<img src='{_e(name)}' alt='{_e(alt)}'>" if name else ""


def dataset_name(folder: Path) -> str:
    """The name a page gives a dataset: its folder's, also where it is given as `.` or `..`
    (the report run inside the dataset: "Dataset report: mc", not "Dataset report: ")."""
    return folder.name or folder.resolve().name or str(folder)


def compared_names(a: Path, b: Path) -> tuple[str, str]:
    """The names a comparison gives its datasets: their folders' (dataset_name), and where
    those are alike (runs/v1/out and runs/v2/out, one run's folder on two machines) as many
    folders above as tell them apart (v1/out, v2/out)."""
    na, nb = dataset_name(a), dataset_name(b)
    if na != nb:
        return na, nb
    pa, pb = Path(os.path.realpath(a)).parts, Path(os.path.realpath(b)).parts
    for k in range(2, max(len(pa), len(pb)) + 1):
        sa, sb = "/".join(pa[-k:]).replace("//", "/"), "/".join(pb[-k:]).replace("//", "/")
        if sa != sb:
            return sa, sb
    return na, nb


def write_report(folder: Path | str, out: Path | str | None = None) -> Path:
    """Write the report of one dataset; return the HTML file."""
    folder = Path(folder)
    stats = collect(folder)
    out = Path(out) if out is not None else folder / "report"
    with _owned(out, folder):
        return _write_report(stats, folder, out)


def _write_report(stats: Stats, folder: Path, out: Path) -> Path:
    p = _plots(stats, out)
    notes = "".join(f"<li class='note'>{_e(n)}</li>" for n in stats.notes)
    body = (
        "<h2>Summary</h2>"
        + _table(["", "value"], [[k, v] for k, v in _summary_rows(stats)])
        + (f"<ul>{notes}</ul>" if notes else "")
        + "<h2>Classes</h2>"
        + _table(
            ["class", "instances", "frames", "mean box size (px)", "mean occlusion", "mean truncation"],
            _class_rows(stats),
        )
        + _img(p["classes"], "instances per class")
        + "<h2>Box sizes</h2>"
        + _img(p["box_size"], "box size histograms")
        + "<h2>Occlusion</h2>"
        + _img(p["occlusion"], "occlusion histograms")
        + "<h2>Truncation</h2>"
        + (_img(p["truncation"], "truncation histograms") if "truncation" in p else "<p class='note'>not recorded</p>")
        + "<h2>Depth</h2>"
        + _img(p["depth"], "depth range")
        + "<h2>Where objects are</h2>"
        + _img(p["heatmap"], "heat map of object centres")
        + "<h2>Randomizers: sampled values against declared support</h2>"
        + _img(p["ranges"], "randomizer ranges")
        + _table(["randomizer", "parameter", "declared support", "sampled", "values", "check"], _range_rows(stats))
        + _manifest_extras(stats)
        + "<h2>Contact sheet</h2>"
        + (_img(p["sheet"], "contact sheet") if "sheet" in p else f"<p class='note'>{_e(p.get('sheet_note', ''))}</p>")
    )
    path = out / "index.html"
    io.write_text(path, _page(f"Dataset report: {dataset_name(folder)}", body))
    return path


def _flat(value, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out
    return {prefix: json.dumps(value, sort_keys=True)}


def write_comparison(a: Path | str, b: Path | str, out: Path | str | None = None) -> Path:
    """Two datasets side by side (e.g. two versions): what changed. Return the HTML file."""
    a, b = Path(a), Path(b)
    sa, sb = collect(a), collect(b)
    out = Path(out) if out is not None else a / "report" / f"compare_{safe_name(dataset_name(b))}"
    with _owned(out, a):
        return _write_comparison(sa, sb, a, b, out)


def _summary_pairs(sa: Stats, sb: Stats) -> list[list[str]]:
    """[row, A, B] of both summaries: a row only one has (B's LiDARs, its depth range) too,
    before the warnings, "–" for the other."""
    summary_a, summary_b = dict(_summary_rows(sa)), dict(_summary_rows(sb))
    keys = [k for k in summary_a if k != "warnings"]
    keys += [k for k in summary_b if k not in summary_a and k != "warnings"] + ["warnings"]
    return [[k, summary_a.get(k, "–"), summary_b.get(k, "–")] for k in keys]


def _write_comparison(sa: Stats, sb: Stats, a: Path, b: Path, out: Path) -> Path:
    pa, pb = _plots(sa, out, "a_"), _plots(sb, out, "b_")
    classes = list(dict.fromkeys([*sa.classes, *sb.classes]))
    both = {"A": [sa.instances.get(c, 0) for c in classes], "B": [sb.instances.get(c, 0) for c in classes]}
    bars = _save(plots.bar_chart("Visible instances per class: A and B", classes, both), out, "classes_ab.png")

    def per_class(x, y):
        return {c: {"A": x.get(c, []), "B": y.get(c, [])} for c in classes}

    occ = _save(
        plots.histogram_grid(
            "Occlusion per class: A (blue) and B (orange)", per_class(sa.occlusion, sb.occlusion), 0, 1
        ),
        out,
        "occlusion_ab.png",
    )
    summary = _summary_pairs(sa, sb)
    class_rows = []
    for c in classes:
        # A dataset without boxes (no bounding_box_2d_tight annotator) counts none: "–", no change
        ia = sa.instances.get(c, 0) if sa.box_frames != 0 else None
        ib = sb.instances.get(c, 0) if sb.box_frames != 0 else None
        delta = ib - ia if ia is not None and ib is not None else None
        class_rows.append(
            [
                _e(c),
                "–" if ia is None else ia,
                "–" if ib is None else ib,
                "–" if delta is None else f"{delta:+d}" if delta else "0",
                _mean(sa.occlusion.get(c, [])),
                _mean(sb.occlusion.get(c, [])),
                _mean(sa.box_size.get(c, [])),
                _mean(sb.box_size.get(c, [])),
            ]
        )
    fa, fb = _flat(sa.resolved), _flat(sb.resolved)
    changed = [
        [_e(k), _e(fa.get(k, "–")), _e(fb.get(k, "–"))]
        for k in sorted(set(fa) | set(fb))
        if fa.get(k) != fb.get(k) and not k.startswith("files")
    ]
    pair = "".join
    # Each dataset's notes, as its own page gives them (rows not counted, frames left out of the
    # depth charts, a contact sheet not drawn): the comparison's plots are the same.
    said = [
        f"{which}: {n}"
        for which, stats, drawn in (("A", sa, pa), ("B", sb, pb))
        for n in [*stats.notes, *(["contact sheet " + drawn["sheet_note"]] if "sheet_note" in drawn else [])]
    ]
    notes = "".join(f"<li class='note'>{_e(n)}</li>" for n in said)
    name_a, name_b = compared_names(Path(a), Path(b))
    body = (
        f"<p>A = {_e(name_a)}, B = {_e(name_b)}</p>"
        + "<h2>Summary</h2>"
        + _table(["", "A", "B"], summary)
        + (f"<ul>{notes}</ul>" if notes else "")
        + "<h2>Parameters that differ</h2>"
        + (_table(["parameter", "A", "B"], changed) if changed else "<p>none: same resolved parameters</p>")
        + "<h2>Classes</h2>"
        + _table(
            ["class", "A instances", "B instances", "change", "A occlusion", "B occlusion", "A box px", "B box px"],
            class_rows,
        )
        + _img(bars, "instances per class, A and B")
        + _img(occ, "occlusion, A and B")
        + "".join(
            f"<h2>{_e(title)}</h2><div class='pair'><div>A{_img(pa.get(key), title + ' A')}</div>"
            f"<div>B{_img(pb.get(key), title + ' B')}</div></div>"
            for key, title in (
                ("box_size", "Box sizes"),
                ("truncation", "Truncation"),
                ("depth", "Depth"),
                ("heatmap", "Where objects are"),
                ("ranges", "Randomizers"),
                ("sheet", "Contact sheets"),
            )
            if key in pa or key in pb
        )
        + pair(
            [
                "<h2>Randomizers (A)</h2>",
                _table(["randomizer", "parameter", "declared support", "sampled", "values", "check"], _range_rows(sa)),
                "<h2>Randomizers (B)</h2>",
                _table(["randomizer", "parameter", "declared support", "sampled", "values", "check"], _range_rows(sb)),
            ]
        )
    )
    path = out / "index.html"
    io.write_text(path, _page(f"Dataset comparison: {name_a} vs {name_b}", body))
    return path
