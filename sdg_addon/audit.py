"""The audit trail in <out>/audit/: inputs, resolved parameters, versions, per-frame log.

- inputs/            the parameter file, asset list and base .blend, byte for byte as
                     given, with their SHA-256 in inputs/SHA256SUMS
- resolved.json      effective parameters (defaults filled in), seed included
- environment.json   Blender, add-on, Python, OS, numpy versions; render device; argv
- frames*.jsonl      one line per finished frame: every sampled value and stage timings.
                     The line is appended after all of the frame's files are written, so
                     it is the frame's completion record: resume skips exactly these.
- manifest.json      summary written at the end of each run (frames, totals, peak memory)
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

from . import output
from .writers import io
from .writers.paths import safe_file_name

AUDIT_DIR = "audit"


def addon_version() -> str:
    manifest = Path(__file__).resolve().parent.parent / "blender_manifest.toml"
    try:
        import tomllib

        return tomllib.loads(manifest.read_text())["version"]
    except (OSError, KeyError, ValueError):
        return "unknown"


def draws_version() -> int:
    """The sampling code's version (sampling.DRAWS_VERSION): which code drew the values."""
    from .sampling import DRAWS_VERSION

    return DRAWS_VERSION


def _content_parameters(resolved: dict) -> dict:
    """The resolved parameters that determine frame content (not where it goes or which frames)."""
    keep = {k: v for k, v in resolved.items() if k not in ("output", "frames", "files")}
    if isinstance(keep.get("base"), dict):  # a base .blend counts by its content, not its path
        keep["base"] = {k: v for k, v in keep["base"].items() if k != "blend"}
    return keep


def parameter_folder(resolved: dict) -> str | None:
    """The folder of the parameter file a run's resolved parameters came from (its `files`
    list starts with it), or None where they do not say."""
    files = resolved.get("files") if isinstance(resolved, dict) else None
    if isinstance(files, list) and files and isinstance(files[0], str) and os.path.isabs(files[0]):
        return os.path.dirname(os.path.normpath(files[0]))
    return None


def below_parameter_folder(path: str, folder: str | None) -> str:
    """`path` as `./REL` when it lies inside `folder` (the parameter file's), else as it is:
    a project moved as a whole (parameter file, assets, dataset) names the same files."""
    if not folder or not os.path.isabs(path):
        return path
    try:
        rel = os.path.relpath(os.path.normpath(path), folder)
    except ValueError:  # another drive (Windows)
        return path
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return path
    return "./" + rel.replace(os.sep, "/")


def _options_filled(resolved: dict) -> dict:
    """`resolved` with each writer's and annotator's options given their declared defaults
    (resolved.json keeps them as the file gave them): `coco = { split = "train" }`, the
    default written out, is `coco = {}`. Options a registry does not take (a writer whose
    plugin is gone) are kept as given."""
    from .annotators import ANNOTATORS
    from .config.fields import registry_options
    from .writers import WRITERS

    out = dict(resolved)
    for key, registry in (("writers", WRITERS), ("annotators", ANNOTATORS)):
        section = out.get(key)
        if not isinstance(section, dict):
            continue
        filled = {}
        for name, given in section.items():
            cls = registry.get(name)
            try:
                filled[name] = registry_options(name, cls.OPTIONS, given) if cls and isinstance(given, dict) else given
            except (ValueError, TypeError):
                filled[name] = given
        out[key] = filled
    return out


# Sections of resolved.json read with declared fields (config.schema), named there as in the file.
_FIELD_SECTIONS = ("render", "sequence", "thermal", "cameras", "lights", "lidars", "assets", "label_rules", "cases")


def _fields_filled(resolved: dict) -> dict:
    """`resolved` with each entry's declared fields it lacks given their defaults: a field a
    later version added (a light's `shape`, SQUARE, and `size_y`) is absent from the
    resolved.json of a run an earlier one made, which a file not giving it renders alike,
    so --resume after the upgrade continues it (was refused: 'lights[0].shape: not set
    before, "SQUARE" now')."""
    from .config.schema import DECLARED_SECTIONS

    def filled(entry, fields):
        if not isinstance(entry, dict):
            return entry
        return {**{f.name: f.default for f in fields if f.name not in entry}, **entry}

    out = dict(resolved)
    for key in _FIELD_SECTIONS:
        fields, value = DECLARED_SECTIONS.get(key), out.get(key)
        if fields is None:
            continue
        if isinstance(value, list):
            out[key] = [filled(e, fields) for e in value]
        elif isinstance(value, dict):
            out[key] = filled(value, fields)
    return out


def _resume_parameters(resolved: dict) -> dict:
    """_content_parameters with the paths inside the parameter file's folder relative to it:
    --resume of a project moved or copied whole (another disk, machine or home folder) is
    the same run; each file's content is checked by its hash (scene_files.json)."""
    folder = parameter_folder(resolved)
    resolved = _fields_filled(_options_filled(resolved))

    def relative(value):
        if isinstance(value, dict):
            return {k: relative(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [relative(v) for v in value]
        return below_parameter_folder(value, folder) if isinstance(value, str) else value

    return relative(_content_parameters(resolved))


def links_followed(value):
    """`value` (resolved parameters) with each absolute path of an existing file or folder
    given as the system reads it, links followed: paths as runs before named_path recorded
    them (an `assets` link's target), so a run they made still resumes on its machine."""
    if isinstance(value, dict):
        return {k: links_followed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [links_followed(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
        return Path(os.path.realpath(value)).as_posix()
    return value


def config_fingerprint(resolved: dict) -> str:
    """Hash of what determines frame content (not where it goes or which frames, nor where
    the project lies: paths inside the parameter file's folder count relative to it)."""
    return hashlib.sha256(json.dumps(_resume_parameters(resolved), sort_keys=True, default=str).encode()).hexdigest()


def changed_parameters(old: dict, new: dict, limit: int = 5, toml: bool = False) -> list[str]:
    """What differs between two runs' resolved parameters, of what config_fingerprint
    hashes: one line per field, `render.samples: 1 before, 2 now`; at most `limit`. Values
    in the parameter file's syntax (TOML inline with `toml`, else JSON), a table of labels
    as the file writes it (`{ class = "ball" }`, one value of a type a string)."""
    old, new = (json.loads(json.dumps(_resume_parameters(r), default=str)) for r in (old, new))
    lines = _changed(old, new, "", toml, _label_table_paths(old) | _label_table_paths(new))
    return lines[:limit] + ([f"and {len(lines) - limit} more"] if len(lines) > limit else [])


def _label_table_paths(resolved: dict) -> set[str]:
    """The paths of resolved parameters that hold tables of labels ({type: [values]}): the
    [labels] table, the assets' and the ground's labels, a randomizer's targets and options
    naming objects by their labels (scatter's surface, ...)."""
    from .sampling import RANDOMIZERS

    paths = {"labels", "ground.labels"}
    paths |= {f"assets[{i}].labels" for i in range(len(resolved.get("assets") or []))}
    for i, r in enumerate(resolved.get("randomizers") or []):
        cls = RANDOMIZERS.get(r.get("type")) if isinstance(r, dict) and isinstance(r.get("type"), str) else None
        keys = ("targets", *(cls.OBJECT_OPTIONS if cls else ()))
        paths |= {f"randomizers[{i}].{k}" for k in keys if isinstance(r.get(k), dict)}
    return paths


def _changed(old, new, path: str, toml: bool, tables: set[str]) -> list[str]:
    if path in tables and isinstance(old, dict) and isinstance(new, dict):
        return _changed(*map(_as_written, (old, new)), path, toml, set())  # a type's values as one
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for key in sorted(old.keys() | new.keys()):
            where = f"{path}.{key}" if path else key
            if key not in old:
                lines.append(f"{where}: not set before, {_short(new[key], toml, where in tables)} now")
            elif key not in new:
                lines.append(f"{where}: {_short(old[key], toml, where in tables)} before, not set now")
            else:
                lines += _changed(old[key], new[key], where, toml, tables)
        return lines
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [line for i, (a, b) in enumerate(zip(old, new)) for line in _changed(a, b, f"{path}[{i}]", toml, tables)]
    if old == new:
        return []
    table = path in tables
    return [f"{path}: {_short(old, toml, table)} before, {_short(new, toml, table)} now"]


def _as_written(labels: dict) -> dict:
    """A table of labels as a parameter file writes it: a type's one value as a string."""
    return {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in labels.items()}


def _short(value, toml: bool = False, label_table: bool = False) -> str:
    from .config.problems import quoted

    if label_table and isinstance(value, dict):
        value = _as_written(value)
    text = quoted(value, toml)
    return text if len(text) <= 60 else text[:57] + "..."


def parameter_sections(resolved: dict) -> dict[str, str]:
    """Per top-level section of the resolved parameters, a short hash of what determines frame
    content (as config_fingerprint); recorded per shard, so `merge` can name what differs
    between shards. A file counts by its name, not its folder: shards on machines that keep
    the assets in other places are still one run."""
    keep = _content_parameters(resolved)
    return {
        k: hashlib.sha256(json.dumps(_file_names(v), sort_keys=True).encode()).hexdigest()[:16] for k, v in keep.items()
    }


def differing_sections(mine: dict[str, str], theirs: dict[str, str]) -> list[str]:
    """The sections (of parameter_sections) whose hashes differ, or that one side lacks."""
    return sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))


def _file_names(value):
    """`value` with every absolute path reduced to its file's name."""
    if isinstance(value, dict):
        return {k: _file_names(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_file_names(v) for v in value]
    if isinstance(value, str) and len(value) > 1 and (value.startswith("/") or value[1:3] in (":/", ":\\")):
        return value.replace("\\", "/").rsplit("/", 1)[-1]
    return value


def copy_inputs(audit: Path, files: list[Path]) -> None:
    """Copy the input files byte for byte; a copy that is already there and equal is left
    alone (a resumed run on read-only storage writes nothing)."""
    inputs = audit / "inputs"
    used: set[str] = set()  # names taken, case aside: Windows' and macOS' file systems make
    sums = []  # Shop.toml and shop.toml one file
    for i, f in enumerate(files):
        name = safe_file_name(f.name)
        if name.lower() in used:  # the same name (or the same once made safe, or but for case), other folder
            name = safe_file_name(f"{i}_{f.name}")
        used.add(name.lower())
        data = f.read_bytes()
        sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
        target = inputs / name
        try:
            if target.read_bytes() == data:
                continue
        except OSError:
            pass
        io.write_bytes(target, data)
    # `sha256sum -c SHA256SUMS` in inputs/ checks the copies; a base .blend's hash is also
    # in resolved.json, so a resumed run notices a changed scene.
    text = "".join(sums)
    target = inputs / "SHA256SUMS"
    try:
        if target.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    io.write_text(target, text)


def environment(device: dict | None = None, extra: dict | None = None) -> dict:
    import numpy

    env = {
        "addon_version": addon_version(),
        "draws_version": draws_version(),
        "python": sys.version,
        "platform": platform.platform(),
        "numpy": numpy.__version__,
        "argv": sys.argv,
    }
    try:
        import bpy

        env["blender"] = bpy.app.version_string
        env["blender_build_hash"] = (
            bpy.app.build_hash.decode() if isinstance(bpy.app.build_hash, bytes) else str(bpy.app.build_hash)
        )
    except ImportError:
        env["blender"] = None
    if device is not None:
        env["render_device"] = device
    env.update(extra or {})
    return env


def with_earlier_runs(path: Path, env: dict) -> tuple[dict, dict | None]:
    """`env` (this run's environment) with the runs the file at `path` recorded before it
    (a resumed output: their frames were rendered there) under "earlier_runs", oldest first,
    so the file tells every Blender and device that made frames of the dataset; and the last
    of them (None for a new output)."""
    try:
        before = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return env, None
    if not isinstance(before, dict):
        return env, None
    earlier = before.pop("earlier_runs", [])
    return {**env, "earlier_runs": [*(earlier if isinstance(earlier, list) else []), before]}, before


class FrameLog:
    """Append-only JSON-lines log of finished frames (appended by the main thread only).

    Each record reaches the operating system when it is appended (a crash or kill of the
    process loses nothing); it is synced to the disk at most once per SYNC_SECONDS and at
    close(), not per frame: an fsync per frame held up the render loop (~6 ms a frame on
    this project's CI disk), and an OS crash forgetting the last second of records only
    means `--resume` renders those frames again.
    """

    SYNC_SECONDS = 1.0

    def __init__(self, path: Path):
        self.path = path
        self._file = None
        self._synced = time.monotonic()
        output.before_write(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A torn last line (a disk that filled mid-write) is no record: it is cut off, so the
        # log stays valid JSON lines for every reader (ended with a newline, it stayed inside).
        if path.exists() and path.stat().st_size:
            with open(path, "rb+") as f:
                end = f.seek(0, os.SEEK_END)
                f.seek(end - 1)
                if f.read(1) != b"\n":
                    f.truncate(_after_last_newline(f, end))

    def append(self, record: dict) -> None:
        line = json.dumps(record, default=io._json_default, separators=(",", ":")) + "\n"
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        else:
            self._check_still_there()
        self._file.write(line)
        self._file.flush()
        if time.monotonic() - self._synced >= self.SYNC_SECONDS:
            os.fsync(self._file.fileno())
            self._synced = time.monotonic()

    def _check_still_there(self) -> None:
        """The open log is still the file at its path. Deleted (the output folder deleted or
        moved during the run), it took the records into a file no one can read, and the run
        went on writing its frames into a new folder of that name: a dataset without its
        first frames, its log or its inputs, said to be 'Done'. One stat a frame."""
        try:
            same = os.path.samestat(os.fstat(self._file.fileno()), os.stat(self.path))
        except FileNotFoundError:
            same = False
        if not same:
            raise FileNotFoundError(
                errno.ENOENT,
                "the output folder was deleted, moved or replaced during the run (its frame log is gone): "
                "the frames written before are not in it; render again",
                str(self.path),
            )

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            finally:
                self._file.close()
                self._file = None


def _after_last_newline(f, end: int) -> int:
    """The offset just past the last newline before `end` of binary file `f` (0: none)."""
    pos = end
    while pos > 0:
        start = max(0, pos - 65536)
        f.seek(start)
        i = f.read(pos - start).rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0


def _logged_frame(line: str) -> int | None:
    """The frame a log line records; None for a torn or foreign line."""
    try:
        rec = json.loads(line)
    except json.JSONDecodeError:
        return None
    return rec["frame"] if isinstance(rec, dict) and isinstance(rec.get("frame"), int) else None


def finished_frames(audit: Path) -> dict[int, dict]:
    """frame -> its log record, from every frames*.jsonl (all shards); a torn last line
    (the process died mid-write) is ignored, so that frame counts as not finished. A frame
    logged more than once (a log from before forget_frames) counts by its last rendering."""
    done: dict[int, dict] = {}
    for log in sorted(audit.glob("frames*.jsonl")):
        for line in log.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("frame"), int):
                earlier = done.get(rec["frame"])
                if earlier is None or _finished_at(rec) >= _finished_at(earlier):
                    done[rec["frame"]] = rec
    return done


def _finished_at(rec: dict) -> float:
    t = rec.get("finished_unix")
    return t if isinstance(t, (int, float)) else 0.0


def run_cameras(audit: Path, config) -> list[str]:
    """The names of the cameras the run in this audit folder rendered (audit/cameras.json:
    a base .blend's cameras are known once it is built); else the parameter file's."""
    try:
        cameras = json.loads((audit / "cameras.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cameras = None
    if isinstance(cameras, list) and all(isinstance(c, str) for c in cameras):
        return cameras
    return [c.name for c in config.cameras]


def forget_frames(audit: Path, frames, logs: list[Path] | None = None) -> None:
    """Drop the records of `frames` from the frame logs (`logs`, or every frames*.jsonl):
    frames about to be rendered again (a clip with an unfinished frame is re-rendered whole)
    are then logged once, by their new rendering. Until then they count as unfinished,
    which they are about to be anyway. A log that changes is written anew (synced, then
    renamed over the old one); the caller makes sure no process appends to it meanwhile."""
    frames = set(frames)
    if not frames:
        return
    for log in sorted(audit.glob("frames*.jsonl")) if logs is None else logs:
        try:
            lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
        except FileNotFoundError:
            continue
        kept = [line for line in lines if _logged_frame(line) not in frames]
        if len(kept) != len(lines):
            with io.atomic_stream(log) as f:
                f.write("".join(kept).encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())


def peak_memory_mb() -> float | None:
    """Peak resident memory of this process in MB; None where Python cannot tell (Windows:
    no `resource` module). None, not NaN: the manifest and the frame log stay valid JSON."""
    try:
        import resource
    except ImportError:
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 1024.0 / 1024.0


def current_rss_mb() -> float | None:
    """Resident memory of this process now (Linux /proc; elsewhere the peak so far; None
    where neither is known)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError, AttributeError):  # AttributeError: no os.sysconf
        peak = peak_memory_mb()
        return None if peak is None else round(peak, 1)


def combined(parts: list[dict]) -> dict:
    """The keys of a single run's manifest that several render processes' manifests add up
    to (a parallel run's processes, or the parts `merge` joins): `seconds_per_stage` summed
    per stage (process-seconds: processes that ran at once add up to more than the run's
    wall-clock `seconds_total`), `peak_memory_mb` the largest one process's peak (as a
    single run's, what one render process needed) and `peak_memory_mb_sum` the sum of the
    processes' peaks (at most what they held at once, where they ran at once), `cameras` and
    `annotators` as the processes had them (the first that names them), `interrupted` when
    any process was. A part's key that is missing or not a number is left out of the count."""
    stages: dict[str, float] = {}
    peaks = []
    out: dict = {}
    for part in parts:
        for k, v in (part.get("seconds_per_stage") or {}).items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                stages[k] = stages.get(k, 0.0) + v
        peak = part.get("peak_memory_mb")
        if isinstance(peak, (int, float)) and not isinstance(peak, bool):
            peaks.append(peak)
        for key in ("cameras", "annotators"):
            if key not in out and isinstance(part.get(key), list):
                out[key] = part[key]
    out["seconds_per_stage"] = {k: round(v, 6) for k, v in stages.items()}
    out["peak_memory_mb"] = max(peaks) if peaks else None  # None, as a single run where unknown
    out["peak_memory_mb_sum"] = round(sum(peaks), 3) if peaks else None
    out["interrupted"] = any(part.get("interrupted") is True for part in parts)
    return out


def write_json(path: Path, obj) -> None:
    io.write_json(path, obj, indent=1)
