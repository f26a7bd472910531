"""Writer base class and registry: writers are picked by name from a parameter file."""

from __future__ import annotations

import time
from pathlib import Path

from ..config.fields import registry_options
from ..frame import AnnotatedFrame

WRITERS: dict[str, type[Writer]] = {}


def register_writer(cls: type[Writer]) -> type[Writer]:
    if cls.name in WRITERS:
        raise ValueError(f"writer {cls.name!r} is registered twice")
    WRITERS[cls.name] = cls
    return cls


class Writer:
    """Writes annotated frames to files under `output_dir`.

    `write(frame)` runs in a worker thread, possibly concurrently for different frames:
    it must only touch files of that frame and write each one atomically (see writers.io).
    `finalize()` runs once in the main thread after the last frame of a run (also of a
    resumed or sharded run): writers that produce one file per dataset (COCO json, YOLO
    yaml) build it there from per-frame parts, so the result never depends on frame order.
    `required_annotators` are added to the run's annotator list when this writer is used
    (`required_for(options)`: those its options need, when they depend on them).
    `warn(text)` in write() adds a warning to the run's (see there).
    """

    name: str = ""
    summary: str = ""  # its layout, one line: docs/parameters.md's catalogue and the UI's tooltip
    required_annotators: tuple[str, ...] = ()
    # Which sensors' frames it writes ("camera", "lidar"); others are not passed to it.
    sensors: tuple[str, ...] = ("camera",)
    # The unit its format gives lengths ("millimetres", "metres"): it converts Blender units
    # by the frame's Camera.meters_per_unit (a base .blend's unit scale). "": lengths it
    # writes are the annotations', in Blender units (as Replicator's stage units).
    length_unit: str = ""
    OPTIONS: dict[str, tuple[object, type | tuple[type, ...], str]] = {}
    # Annotators not required that the writer reads by label when the run has them (COCO's
    # keypoints, by category): their semantic_type must be the writer's (config checks it).
    labelled_extras: tuple[str, ...] = ()
    # option -> the option whose value it takes when it is not given (a newer, finer option
    # that keeps the output of parameter files written before it existed).
    FOLLOWS: dict[str, str] = {}
    # Where finalize() says how far it is while joining parts (callable(text), set by whoever
    # calls finalize: the command line prints it), at most every PROGRESS_INTERVAL_S: a
    # dataset of 100,000 frames takes a minute or more there, which was silent.
    progress = None
    PROGRESS_INTERVAL_S = 2.0

    @classmethod
    def mask_sources(cls, options: dict | None) -> dict[str, str]:
        """With `options`: {mask annotator: the annotator whose rows are the objects} for each
        id map the writer reads its objects' pixels in (COCO, YOLO-seg: the tight boxes'
        objects in instance_segmentation; BOP: object_pose's in it and its amodal one; hdf5:
        instance_segmentation's in semantic_segmentation). An object the map leaves
        UNLABELLED (another semantic_type, a narrower semantic_filter) has no pixels of its
        own there, so config refuses such annotator options."""
        return {}

    @classmethod
    def row_sources(cls, options: dict | None) -> dict[str, str]:
        """With `options`: {annotator: the annotator whose rows are the objects} for each
        annotator whose rows the writer pairs with its objects by instance id (KITTI: each
        tight box's 3D box). An object that annotator leaves out (another semantic_type, a
        narrower semantic_filter) has no row there, so config refuses such annotator options."""
        return {}

    @classmethod
    def labelled_for(cls, options: dict | None) -> tuple[str, ...]:
        """The annotators whose labels the writer pairs with its classes with `options`
        (config refuses them with another semantic_type than the writer's): its
        labelled_extras; YOLO's keypoints with keypoints = true."""
        return cls.labelled_extras

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...] | None:
        """The annotators whose output the writer writes with `options` (files of their own,
        or read into its labels: the ones it needs count); None: every annotator of its
        sensors the run has (basic, webdataset, a plugin's). A run warns of an annotator the
        file names that no writer of the run writes (unwritten_annotators)."""
        return None

    @classmethod
    def dropped(cls, annotator: str, named) -> str | None:
        """Why the writer does not write `annotator`, which written() holds, beside the run's
        other annotators (`named`): one it stores in its place (hdf5: the exact flows for
        motion_vectors' halves); None when it writes it."""
        return None

    @classmethod
    def would_write(cls, annotator: str) -> str | None:
        """How this writer would write `annotator` ("yolo", or with the option that names it:
        'coco (channels = ["normals"])'), None when it cannot."""
        if ("lidar" if annotator == "lidar" else "camera") not in cls.sensors:
            return None
        written = cls.written({})
        return cls.name if written is None or annotator in written else None

    @classmethod
    def required_for(cls, options: dict | None) -> tuple[str, ...]:
        """The annotators a run needs for this writer with `options` (as given in the
        parameter file, not yet checked): required_annotators unless a writer's options
        change what it reads."""
        return cls.required_annotators

    def __init__(self, output_dir: Path | str, **options):
        self.output_dir = Path(output_dir)
        options = followed_options(self.FOLLOWS, options)
        self.options = registry_options(f"writer {self.name!r}", self.OPTIONS, options)
        self.several_cameras = False
        self.label_table = None
        self.warnings: list[str] = []  # said by warn(), not yet handed to the run
        self._said: set[str] = set()

    def set_run(self, label_table, several_cameras: bool) -> None:
        """Called once before the first frame (and before finalize() of a merge): the run's
        stable label table and whether it has several cameras (one sub-folder each): of the
        sensors whose frames it writes (several_sensors)."""
        self.label_table = label_table
        self.several_cameras = several_cameras

    def several_sensors(self, cameras: int, lidars: int) -> bool:
        """Whether a run with that many cameras and LiDARs gives this writer frames of
        several sensors (each then gets its own sub-folder or name): a LiDAR counts only for
        a writer that writes LiDAR frames (basic), so a camera-only writer (COCO, KITTI,
        ...) of a run with one camera and a LiDAR keeps its one-camera layout."""
        return (cameras if "camera" in self.sensors else 0) + (lidars if "lidar" in self.sensors else 0) > 1

    def begin_frame(self, frames: list[AnnotatedFrame]) -> None:
        """Called with every camera's frame of one frame, before write() of each (the sink's
        frames; a writer fed frame by frame without it writes each on its own); default:
        nothing."""

    def write(self, frame: AnnotatedFrame) -> None:
        raise NotImplementedError

    def warn(self, text: str) -> None:
        """Add `text` to the run's warnings, from write() in whatever process writes: printed
        on stderr with the run's other warnings, kept in audit/manifest.json and shown on the
        report page. Each distinct text is said once per run, however many frames (or
        processes) say it: word it without the frame's details."""
        if text not in self._said:
            self._said.add(text)
            self.warnings.append(text)  # the frame sink hands them on with the frame's record

    def finalize(self) -> None:
        """Called after the last frame; default: nothing to join."""

    def joining(self, items: list, what: str):
        """Yield `items`, saying "<writer>: <what> k/N" through self.progress at most every
        PROGRESS_INTERVAL_S seconds (nothing when the whole loop is quicker than that)."""
        last = time.monotonic()
        for k, item in enumerate(items):
            if self.progress is not None and time.monotonic() - last >= self.PROGRESS_INTERVAL_S:
                self.progress(f"{self.name}: {what} {k:,}/{len(items):,}")
                last = time.monotonic()
            yield item

    def joined_files(self) -> dict[str, Path]:
        """Writers whose finalize() rebuilds a file per dataset D from the parts in
        root/parts/D/ alone (one per frame, named by its frame number): D -> that file (or
        folder), for each D an earlier finalize() or run wrote. Default: none."""
        return {}

    def removed_parts(self, finished: dict[int, dict], sensors: list[str], clips: bool) -> str | None:
        """Why continuing this folder would lose finished frames (None: it would not): the
        parts of finished frames of a dataset whose joined file exists are gone (a user
        removed parts/), and finalize() would rebuild that file without them. `finished`:
        the frame log's records by frame; `sensors`: the names of the run's cameras
        (audit/cameras.json), or of its LiDARs for a writer of theirs; `clips`: frames are
        written in their clip's folder (sequence.folders = "clip")."""
        joined = self.joined_files()
        if not joined:
            return None
        expected: dict[str, list[int]] = {}
        for f in sorted(finished):
            for camera in sensors:
                ds = self.dataset_name(f, camera)
                if ds in joined:
                    expected.setdefault(ds, []).append(f)
        for ds, frames in sorted(expected.items()):
            folder = self.root / "parts" / ds
            have = {int(p.stem) for p in part_files(folder)}
            missing = [f for f in frames if f not in have]
            if missing:
                return lost_pieces_message(
                    self.name,
                    folder,
                    "parts",
                    missing,
                    f"{len(frames)} finished frame(s) of dataset {ds!r}",
                    joined[ds],
                    "parts",
                )
        return None


def lost_pieces_message(
    writer: str, folder: Path, pieces: str, missing: list[int], of: str, joined: Path, keep: str
) -> str:
    """Why a writer refuses to go on: `folder` lacks the per-frame `pieces` ("parts", "pose
    files") of the frames `missing` out of `of`, and `joined` is rebuilt from them alone
    (`keep`: the folder to keep until the dataset is complete)."""
    few = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
    return (
        f"writer '{writer}': {folder.as_posix()} lacks the {pieces} of {len(missing)} of the {of} ({few}): "
        f"{pieces} were removed, and {joined.as_posix()} is rebuilt from them alone, so those frames would be "
        f"lost; nothing was written (keep {keep}/ until the dataset is complete: put them back, or render "
        "anew with --overwrite)"
    )


def followed_options(follows: dict[str, str], given: dict) -> dict:
    """`given` with each option of `follows` that is not given set to its leader's given value."""
    out = dict(given)
    for name, leader in follows.items():
        if name not in out and leader in out:
            out[name] = out[leader]
    return out


def unwritten_annotators(named, writers: dict[str, dict], lidars: bool = False) -> list[str]:
    """The warnings for annotators the file names (`named`) that no writer of the run
    (`writers`: name -> options) writes: each is computed every frame and dropped. One
    per such annotator, naming the run's writers and those that would write it. With
    `lidars` (the file's [[lidars]]) their scans, the lidar annotator, count as named."""
    out = []
    scans = lidars and "lidar" not in named
    for annotator in [*named, "lidar"] if scans else named:
        sensor = "lidar" if annotator == "lidar" else "camera"
        written = False
        dropped: dict[str, str] = {}  # writer of the run -> why it leaves the annotator out beside the others
        for name, options in writers.items():
            cls = WRITERS.get(name)
            if cls is None:  # not a writer this tool knows: said apart
                written = True
                break
            theirs = cls.written(options if isinstance(options, dict) else {})
            if sensor in cls.sensors and (theirs is None or annotator in theirs):
                why = cls.dropped(annotator, named)
                if why is None:
                    written = True
                    break
                dropped[name] = why
        if written:
            continue
        others = [
            way for way in (WRITERS[n].would_write(annotator) for n in sorted(WRITERS) if n not in dropped) if way
        ]
        run = ", ".join(writers)
        if scans and annotator == "lidar":
            what = f"lidars: no writer of the run writes their scans (the lidar annotator; writers: {run}), so they are"
            it, fix = "them", "the [[lidars]]"
        else:
            why = "".join(f"; {reason}" for reason in dropped.values())
            what = f"annotators.{annotator}: no writer of the run writes it (writers: {run}{why}), so it is"
            it, fix = "it", "the annotator"
        out.append(
            f"{what} computed every frame and dropped; "
            + (f"{', '.join(others)} would write {it}: use one, or remove {fix}" if others else f"remove {fix}")
        )
    return out


def create_writer(name: str, output_dir: Path | str, **options) -> Writer:
    try:
        cls = WRITERS[name]
    except KeyError:
        raise ValueError(f"unknown writer {name!r}; known: {sorted(WRITERS)}") from None
    return cls(output_dir, **options)


def converted_units_note(writer_names) -> str:
    """For the unit-scale warning: which of a run's writers convert Blender units to their
    format's unit (Writer.length_unit), and that the others' lengths stay in Blender units."""
    converted = [f"{n} ({WRITERS[n].length_unit})" for n in writer_names if n in WRITERS and WRITERS[n].length_unit]
    if not converted:
        those = ", ".join(sorted(n for n, cls in WRITERS.items() if cls.length_unit))
        return f"; so are this run's files (the writers {those} would convert to their format's unit)"
    return (
        f"; the files of {', '.join(converted)} are converted to their format's unit, every other "
        "writer's lengths stay in Blender units"
    )


def part_files(folder: Path, suffix: str = "") -> list[Path]:
    """The parts a writer wrote in `folder` (each named by its frame number: 000042.json),
    sorted by name: another file there (a user's notes.json) is not one."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{suffix}") if p.is_file() and p.stem.isascii() and p.stem.isdigit())


def removed_parts(config, output_dir: Path, finished: dict[int, dict], cameras: list[str]) -> list[str]:
    """Writer.removed_parts of each writer of a run (its parsed parameters) in `output_dir`:
    one line per writer that would lose finished frames when the folder is continued."""
    lidars = [lidar.name for lidar in config.lidars]
    clips = config.sequence.clip_length > 1 and config.sequence.folders == "clip"
    problems = []
    for name, options in config.writers.items():
        writer = create_writer(name, output_dir, **(options or {}))
        writer.set_run(None, writer.several_sensors(len(cameras), len(lidars)))
        problem = writer.removed_parts(finished, cameras if "camera" in writer.sensors else lidars, clips)
        if problem:
            problems.append(problem)
    return problems
