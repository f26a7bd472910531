"""Scaffolding the bpy tests share: the parameter-file blocks every tiny scene repeats
([run]/[render] header, no ground, a camera, a sun) and the render call through the
headless CLI. A test composes its scene from these plus the blocks that make it its own:

    SCENE = header((64, 48), samples=2) + NO_GROUND + camera((0.0, -5.0, 0.0)) + sun() + BODY
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def toml_value(value) -> str:
    """A Python value as TOML: strings quoted, lists and tuples as arrays, dicts as inline
    tables, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


def header(resolution, samples: int, *, seed=1, frames=1) -> str:
    """[run] and [render] of a tiny CPU render. seed=None leaves the seed out; frames may be
    a "{frames}" placeholder for a template filled later with str.format."""
    seed_line = "" if seed is None else f"seed = {seed}\n"
    return f"""
[run]
{seed_line}frames = {frames}

[render]
resolution = [{resolution[0]}, {resolution[1]}]
samples = {samples}
device = "cpu"
"""


NO_GROUND = """
[scene]
ground = false
"""


def ground(size) -> str:
    """[scene] with a ground plane of the given size."""
    return f"""
[scene]
ground = {{ size = {toml_value(size)} }}
"""


def table(kind: str, name: str, **fields) -> str:
    """One [[kind]] entry: name first, then the fields not None, in the order given."""
    lines = [f"[[{kind}]]", f"name = {toml_value(name)}"]
    lines += [f"{key} = {toml_value(value)}" for key, value in fields.items() if value is not None]
    return "\n" + "\n".join(lines) + "\n"


def camera(location, look_at=None, *, name="cam", **fields) -> str:
    return table("cameras", name, location=location, look_at=look_at, **fields)


def sun(location=(0, 0, 5), energy=3, *, name="sun") -> str:
    """The sun most tiny scenes light themselves with (location=None: Blender's default)."""
    return table("lights", name, type="sun", location=location, energy=energy)


def asset(name: str, primitive: str, size, *, label: str | None = None, **fields) -> str:
    """One primitive [[assets]] entry; label sets labels = { class = label } (last)."""
    labels = None if label is None else {"class": label}
    return table("assets", name, primitive=primitive, size=size, **fields, labels=labels)


def write_param(folder: Path, text: str, name: str = "p.toml") -> Path:
    path = Path(folder) / name
    path.write_text(text, encoding="utf-8")
    return path


def render(param, out, *args: str, quiet: bool = True) -> int:
    """`sdg render PARAM --out OUT [ARGS] --quiet` in this process; its exit status."""
    from headless.cli import main

    return main(["render", str(param), "--out", str(out), *args, *(["--quiet"] if quiet else [])])


def sharded_and_resumed(param, folder: Path) -> tuple[Path, Path]:
    """Render `param` as two shards into folders of their own, copied together and merged,
    and as a run stopped after frame 0 then --resume'd; the two output folders (to compare
    with one run's)."""
    import shutil

    from headless.cli import main

    a, b = Path(folder) / "a", Path(folder) / "b"
    assert render(param, a, "--shard", "0/2") == 0 and render(param, b, "--shard", "1/2") == 0
    for f in b.rglob("*"):
        target = a / f.relative_to(b)
        if f.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)
    assert main(["merge", str(param), "--out", str(a)]) == 0
    resumed = Path(folder) / "resumed"
    assert render(param, resumed, "--frames", "0:1") == 0
    assert render(param, resumed, "--resume") == 0
    return a, resumed


def datablock_counts(param, output, frames, kinds) -> list[tuple[int, ...]]:
    """Record param over frames through the Recorder; len(bpy.data.<kind>) for each of
    kinds at every step of the run (after the build, then after each frame)."""
    import bpy

    from sdg_addon.config import load_config
    from sdg_addon.recorder import Recorder, RunOptions

    rec = Recorder(load_config(param), RunOptions(output=output, frames=frames))
    return [tuple(len(getattr(bpy.data, k)) for k in kinds) for _progress in rec.iter_run()]


def read_json(path):
    return json.loads(Path(path).read_text())


def files_under(folder: Path) -> list[str]:
    """Every file below folder, as sorted relative POSIX paths."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.is_file())


def write_writer_plugin(site: Path, name: str, body: str, required_annotators: tuple = ()) -> Path:
    """A writer `name` published by a package installed in folder `site` (a real dist-info
    with an entry point in group sdg.writers); `body` is its write() method's body (frame,
    self, io, os, time in scope). Put `site` on sys.path (spawned worker processes inherit
    it) or PYTHONPATH (a subprocess) to use it."""
    package = site / f"{name}_writer"
    package.mkdir(parents=True)
    method = "\n".join("        " + line for line in body.strip().splitlines())
    (package / "__init__.py").write_text(
        "import os, time\nfrom sdg_addon.writers import Writer, io\n\n"
        f"class Plugin(Writer):\n    name = {name!r}\n    required_annotators = {tuple(required_annotators)!r}\n\n"
        f"    def write(self, frame):\n{method}\n"
    )
    dist = site / f"{name}_writer-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-writer\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[sdg.writers]\n{name} = {name}_writer:Plugin\n")
    return site


def records(out: Path) -> dict[int, dict]:
    """A run's frame log (audit/frames.jsonl): frame index -> its record."""
    lines = (out / "audit" / "frames.jsonl").read_text().splitlines()
    return {r["frame"]: r for r in map(json.loads, lines)}


def camera_roll(camera_to_world) -> float:
    """Degrees a camera's x axis is turned from the horizontal "right" about the camera's
    own +Z axis (counter-clockwise seen from behind the camera); `camera_to_world` 4x4."""
    m = np.asarray(camera_to_world, dtype=np.float64)
    x_axis, z_axis = m[:3, 0], m[:3, 2]
    right = np.cross([0, 0, 1], z_axis)
    right /= np.linalg.norm(right)
    return float(np.degrees(np.arctan2(np.dot(np.cross(right, x_axis), z_axis), np.dot(right, x_axis))))
