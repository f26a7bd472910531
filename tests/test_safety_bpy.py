"""Safety of real runs (bpy): hostile names, folders that are not ours, locks, corrupt
assets, a full disk, read-only resume, temp render folders. Tiny renders (16 x 12, 1 sample)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")

from scenes import NO_GROUND, camera, files_under, header, render, sun, write_param  # noqa: E402

from headless.cli import main  # noqa: E402
from sdg_addon.capture import render as capture_render  # noqa: E402

TINY = (
    header((16, 12), samples=1, frames=2)
    + NO_GROUND
    + camera((0.0, -4.0, 0.5))
    + sun(location=None)
    + """
[[assets]]
name = "ball"
primitive = "sphere"
size = 1.5
labels = { class = "ball" }

[annotators]
rgb = {}
instance_segmentation = {}
bounding_box_2d_tight = {}
camera_params = {}
"""
)


def param(tmp_path: Path, text: str = TINY, name="p.toml") -> Path:
    return write_param(tmp_path, text, name)


def snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


def test_hostile_camera_names_write_nothing_outside(tmp_path, capsys):
    absolute = "/sdg_abs_cam"  # an absolute name (a camera name is at most 63 bytes)
    names = ["../../escape_cam", absolute, "..", "カメラ", "a/b"]
    cams = "".join(f'[[cameras]]\nname = "{n}"\nlocation = [0.0, -4.0, 0.5]\n' for n in names)
    text = TINY.replace("[[lights]]", cams + "\n[[lights]]", 1)
    text += '\n[writers]\nbasic = { camera_subfolders = "always" }\ncoco = {}\nkitti = {}\nyolo = {}\nbop = {}\n'
    work = tmp_path / "work"
    work.mkdir()
    p = param(work, text)
    out = work / "deep" / "out"
    assert render(p, out, "--worker-mode", "inline", "--frames", "0:1") == 0
    assert [f for f in files_under(tmp_path) if not f.startswith("work/deep/out/")] == ["work/p.toml"]
    assert not Path(absolute).exists() and not (tmp_path.parent / "escape_cam").exists()
    subfolders = {p.name for p in out.iterdir() if p.is_dir()} - {"audit", "coco", "kitti", "yolo", "bop"}
    assert len(subfolders) == 6 and "cam" in subfolders  # one per camera, none shared


def test_an_unrelated_folder_is_refused_before_anything_is_written(tmp_path, capsys):
    user = tmp_path / "photos"
    user.mkdir()
    (user / "rgb_0000.png").write_bytes(b"the user's photo")
    before = snapshot(user)
    for extra in ([], ["--overwrite"], ["--resume"]):
        assert render(param(tmp_path), user, *extra) == 2
        err = capsys.readouterr().err
        assert "did not write" in err and "rgb_0000.png" in err and "Traceback" not in err
    assert snapshot(user) == before


@pytest.mark.parametrize("out", ["/", "~", ".", ""])
def test_protected_output_folders(tmp_path, capsys, out, monkeypatch):
    monkeypatch.chdir(tmp_path)
    p = param(tmp_path)
    with pytest.raises(SystemExit) if out == "" else _nothing():
        assert render(p, os.path.expanduser(out)) == 2
    assert files_under(tmp_path) == ["p.toml"]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_overwrite_keeps_the_users_files(tmp_path):
    p = param(tmp_path, TINY + "\n[writers]\nbasic = {}\nyolo = {}\n")
    out = tmp_path / "out"
    assert render(p, out) == 0
    ours = files_under(out)
    mine = {"IMG_0001.png": b"photo", "data_2024.json": b"{}", "yolo/notes.txt": b"notes"}
    for rel, data in mine.items():
        (out / rel).write_bytes(data)
    assert render(p, out, "--overwrite", "--frames", "0:1") == 0
    for rel, data in mine.items():
        assert (out / rel).read_bytes() == data
    assert not (out / "rgb_0001.png").exists() and (out / "rgb_0000.png").exists()
    assert set(files_under(out)) - set(mine) <= set(ours) | {
        f for f in files_under(out) if f.startswith("audit/written/")
    }


def test_a_live_lock_refuses_and_a_stale_one_is_taken_over(tmp_path, capsys):
    p, out = param(tmp_path), tmp_path / "out"
    assert render(p, out, "--frames", "0:1") == 0
    import socket

    lock = out / ".sdg.lock"
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(json.dumps({"pid": helper.pid, "host": socket.gethostname(), "started": "now"}))
        assert render(p, out, "--resume") == 2
        err = capsys.readouterr().err
        assert f"pid {helper.pid}" in err and "another run" in err
    finally:
        helper.kill()
        helper.wait()
    assert render(p, out, "--resume") == 0  # the holder is dead
    assert not lock.exists()
    frames = [json.loads(x)["frame"] for x in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    assert sorted(frames) == [0, 1]  # each frame once: no interleaving of two runs


def test_a_second_run_without_resume_is_told_another_run_is_writing(tmp_path, capsys):
    """A second run started without --resume while the first one writes (two terminals,
    one parameter file) was told 'OUT already holds 1 finished frame(s) of this run: pass
    --resume to continue that run or --overwrite to start anew', the frames the first run
    was writing; following it met the lock. It is now told what its lock says, 'another run
    is writing to OUT (pid N ...)', exit 2, nothing written; the first run's stale lock
    still gives way to the usual answer."""
    import socket

    p, out = param(tmp_path), tmp_path / "out"
    assert render(p, out, "--frames", "0:1") == 0
    lock = out / ".sdg.lock"
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock.write_text(json.dumps({"pid": helper.pid, "host": socket.gethostname(), "started": "now"}))
        before = snapshot(out)
        capsys.readouterr()
        assert render(p, out) == 2
        err = capsys.readouterr().err
        assert f"another run is writing to {out.as_posix()} (pid {helper.pid}" in err and "--resume" not in err, err
        assert snapshot(out) == before
    finally:
        helper.kill()
        helper.wait()
    assert render(p, out) == 2
    assert "already holds 1 finished frame(s) of this run: pass --resume" in capsys.readouterr().err
    assert lock.exists()  # looked at, not removed, by a run that does not take it


def test_a_shard_that_overwrites_waits_for_the_other_shards(tmp_path, capsys):
    """`--shard 1/2 --overwrite` while shard 0/2 renders into the folder: exit 2, nothing
    deleted (before: shard 0's frames so far and its frame log were deleted under it)."""
    import socket

    p, out = param(tmp_path), tmp_path / "out"
    assert render(p, out, "--shard", "0/2") == 0
    before = snapshot(out)
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = out / ".sdg.shard0of2.lock"
        lock.write_text(json.dumps({"pid": helper.pid, "host": socket.gethostname(), "started": "now"}))
        before[lock] = (lock.stat().st_mtime_ns, lock.stat().st_size)
        capsys.readouterr()
        assert render(p, out, "--shard", "1/2", "--overwrite") == 2
        assert "another run is writing" in capsys.readouterr().err
        assert snapshot(out) == before
    finally:
        helper.kill()
        helper.wait()
    assert render(p, out, "--shard", "1/2", "--overwrite") == 0  # shard 0's holder has ended


@pytest.mark.parametrize("ext", [".glb", ".blend", ".ply", ".usdc", ".stl", ".fbx", ".obj"])
def test_a_corrupt_asset_is_named_with_the_reason_and_nothing_is_written(tmp_path, capsys, ext):
    # Fixed bytes: random ones now and then parse as a (nearly empty) valid OBJ.
    (tmp_path / f"bad{ext}").write_bytes(np.random.default_rng(7).bytes(2000))
    text = TINY.replace('primitive = "sphere"', f'file = "bad{ext}"')
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["validate", str(param(tmp_path, text))]) == 2  # validate builds the scene: Blender reads it
    said = capsys.readouterr().err
    assert render(param(tmp_path, text), out) == 2
    err = capsys.readouterr().err
    # In render's words (what the importer printed after them has its own times in it).
    assert err.split("the importer printed:")[0] == said.split("the importer printed:")[0]
    # Named as validation names a problem: the parameter file, the entry's field, the file.
    assert f'p.toml: assets[0].file: got "{(tmp_path / f"bad{ext}").as_posix()}"; expected a model' in err, err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("content", ["v 0 0 0\n", "v 0 0 0\nv 1 0 0\nl 1 2\n"])
def test_a_model_without_faces_is_refused(tmp_path, capsys, content):
    """A point or a line only (an .obj with no face): nothing would render or be labelled;
    exit 2 naming the file, nothing written (accepted before, with empty labels). A model
    with one face is taken."""
    (tmp_path / "m.obj").write_text(content)
    text = TINY.replace('primitive = "sphere"', 'file = "m.obj"')
    out = tmp_path / "out"
    assert render(param(tmp_path, text), out) == 2
    err = capsys.readouterr().err
    assert "m.obj" in err and "no faces" in err
    assert not out.exists()
    (tmp_path / "m.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 0 1\nf 1 2 3\n")
    assert render(param(tmp_path, text), out) == 0


def test_unmatched_targets_are_named_in_words(tmp_path, capsys):
    """A property randomizer takes objects, lights or cameras; camera_relative objects or
    lights: the problem says so, not 'any of the scene (its any: ...)'."""
    text = TINY + (
        '\n[[randomizers]]\ntype = "property"\ntargets = "nothing_*"\npath = "pass_index"\nvalue = 1'
        '\n\n[[randomizers]]\ntype = "camera_relative"\ntargets = "nothing_*"\ndepth = 1.0\n'
    )
    assert render(param(tmp_path, text), tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert (
        "expected patterns matching objects, lights or cameras of the scene (its objects, lights and cameras: [" in err
    )
    assert "expected patterns matching objects or lights of the scene (its objects and lights: [" in err
    assert "any" not in err and "placeables" not in err, err


def test_targets_spelt_in_another_unicode_form_are_said_so(tmp_path, capsys):
    """An asset named 'café' spelt decomposed (NFD, as a macOS file name gives it) and a
    randomizer's targets 'café*' typed composed (NFC): 'got ["café*"]; expected patterns
    matching objects of the scene (its objects: ['café'])', the two printing alike.
    The refusal (exit 2, as before) now says why they differ and what to do."""
    import unicodedata

    nfd = unicodedata.normalize("NFD", "café")
    text = TINY.replace('name = "ball"', f'name = "{nfd}"')
    text += '\n[[randomizers]]\ntype = "material"\ntargets = "café*"\nroughness = 0.5\n'
    assert unicodedata.normalize("NFC", "café") in text
    capsys.readouterr()
    assert main(["validate", str(param(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert "randomizers[0].targets" in err and "is spelt decomposed (NFD)" in err, err
    assert "type the name as the scene spells it" in err


def test_unmatched_targets_write_nothing(tmp_path, capsys):
    text = TINY + '\n[[randomizers]]\ntype = "pose"\ntargets = "nothing_*"\nscale = 1.0\n'
    out = tmp_path / "out"
    assert render(param(tmp_path, text), out) == 2
    err = capsys.readouterr().err
    assert 'p.toml: randomizers[0].targets: got ["nothing_*"]; expected patterns matching objects' in err, err
    assert not out.exists()


def test_problems_of_the_built_scene_name_the_file_and_field(tmp_path, capsys):
    """What only the built scene tells (an asset Blender cannot read, a name the scene lacks,
    a property path that does not resolve) is reported as validation reports a problem: the
    parameter file, or the asset list an entry came from, the field, the value and what was
    expected; every problem of the kind at once; exit 2, nothing written (before: one line
    naming neither the parameter file nor the field)."""
    (tmp_path / "bad.glb").write_bytes(b"not a glTF")
    (tmp_path / "assets.toml").write_text('[[assets]]\nname = "cup"\nfile = "bad.glb"\n')
    p = param(tmp_path, 'asset_list = "assets.toml"\n' + TINY)
    out = tmp_path / "out"
    assert render(p, out) == 2
    err = capsys.readouterr().err
    lst = (tmp_path / "assets.toml").as_posix()
    assert f"1 problem(s) in {p}:\n  {lst}: assets[0].file: got " in err, err
    assert not out.exists()
    entries = (
        '\n[[randomizers]]\ntype = "pose"\ntargets = ["bal"]\nscale = 1.0\n'
        '\n[[randomizers]]\ntype = "property"\ntargets = "ball"\npath = "data.nope"\nvalue = 1.0\n'
        '\n[[randomizers]]\ntype = "property"\ntargets = "ball"\npath = "pass_index"\nvalue = 1.0\n'
    )
    p = param(tmp_path, TINY + entries)
    assert render(p, out) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"1 problem(s) in {p}:"  # targets first: the entries' checks need them
    assert (
        lines[1]
        == f"  {p.as_posix()}: randomizers[0].targets: got [\"bal\"]; expected patterns matching objects of the scene (its objects: ['ball'])"
    )
    p = param(tmp_path, TINY + entries.replace('["bal"]', '["ball"]'))
    assert render(p, out) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"2 problem(s) in {p}:"
    assert lines[1].startswith(
        f'  {p.as_posix()}: randomizers[1].path: got "data.nope"; expected a property path that resolves on ball: '
    )
    assert lines[2].startswith(f"  {p.as_posix()}: randomizers[2].")
    assert not out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--frames", "1:100"],
        ["--frames", "2"],
        ["--workers", "0"],
        ["--workers", "-5"],
        ["--shard", "10/10"],  # shards count from 0: 9/10 is the last
        ["--shard", "11/10"],
        ["--shard=-1/10"],
        ["--shard", "3/0"],
        ["--shard", "a/b"],
    ],
)
def test_command_line_values_out_of_range(tmp_path, capsys, args):
    out = tmp_path / "out"
    assert render(param(tmp_path), out, *args) == 2
    err = capsys.readouterr().err
    assert args[0].split("=")[0] in err and not out.exists()
    expected = {
        "10/10": "0 <= I < N (shards count from 0: 0/10 .. 9/10)",
        "11/10": "0 <= I < N (shards count from 0: 0/10 .. 9/10)",
        "--shard=-1/10": "0 <= I < N (shards count from 0: 0/10 .. 9/10)",
        "3/0": "N >= 1 shards",
        "a/b": "expected I/N, e.g. 0/4",
    }.get(args[-1])
    assert expected is None or expected in err, err


def test_a_shard_with_no_frames_says_so_writes_nothing_and_merge_still_works(tmp_path, capsys):
    """More shards than frames is legitimate (shards spread over machines): a shard that gets
    none says so in one line, also with --quiet, exits 0 and writes nothing (before: "done: 0
    frame(s) written" and a manifest of the empty shard). The shards that had frames merge."""
    p = param(tmp_path, TINY.replace("frames = 2", "frames = 3") + "\n[writers]\nbasic = {}\ncoco = {}\n")
    out = tmp_path / "out"
    assert render(p, out, "--shard", "0/10") == 0  # the first shard: frame 0
    before = snapshot(out)
    capsys.readouterr()
    for shard in ("9/10", "5/10"):  # the last shard, and one past the frames
        assert render(p, out, "--shard", shard) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines == [
            f"shard {shard} gets none of the 3 frame(s) 0:3 (frame f goes to shard f % 10): "
            f"nothing to do, nothing written to {out}"
        ]
    assert snapshot(out) == before
    assert render(p, tmp_path / "elsewhere", "--shard", "7/10") == 0 and not (tmp_path / "elsewhere").exists()
    for shard in ("1/10", "2/10"):
        assert render(p, out, "--shard", shard) == 0
    assert main(["merge", str(p), "--out", str(out)]) == 0
    coco = json.loads(next((out / "coco" / "annotations").glob("instances_*.json")).read_text())
    assert [im["id"] for im in coco["images"]] == [0, 1, 2]
    assert sorted(f.name for f in (out / "audit").glob("manifest*.json")) == [  # merge's, the 3 shards'
        "manifest.json",
        *(f"manifest.shard{i:03d}of010.json" for i in range(3)),
    ]


def test_a_full_disk_is_one_line_exit_1_manifest_kept_and_resume_completes(tmp_path, capsys, monkeypatch):
    from sdg_addon.writers import io

    real = io.write_bytes
    calls = {"n": 0}

    def full(path, data):
        path = Path(path)
        if "audit" not in path.parts and path.name.startswith("rgb_0001"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        calls["n"] += 1
        return real(path, data)

    monkeypatch.setattr(io, "write_bytes", full)
    p, out = param(tmp_path), tmp_path / "out"
    assert render(p, out, "--worker-mode", "inline", "--workers", "1") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and str(out) in err[0]
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert "No space left" in manifest["failed"] and manifest["frames_written_this_run"] == [0]
    assert not list(out.rglob(".*.tmp"))
    monkeypatch.setattr(io, "write_bytes", real)
    assert render(p, out, "--resume") == 0
    assert (out / "rgb_0001.png").is_file()


FULL_DISK_HOOK = """
import errno
from pathlib import Path

from sdg_addon.writers import io

real = io.write_bytes


def full(path, data):
    if Path(path).name.startswith("rgb_0001"):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))
    return real(path, data)


io.write_bytes = full
"""


def test_a_full_disk_in_a_parallel_run_is_one_line_exit_1_and_resume_completes(tmp_path, capfd, monkeypatch):
    """--procs: a render process that cannot write the output folder (full, read-only) ends
    with its one line passed to the parent, which stops the others and says it once, exit
    1, finished frames kept (before: each process a DiskError traceback, every process
    restarted 3 times, then "every render process died"). The render processes' disk is
    made full by a sitecustomize on their PYTHONPATH."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FULL_DISK_HOOK)
    monkeypatch.setenv("PYTHONPATH", str(hook))
    p, out = param(tmp_path, TINY.replace("frames = 2", "frames = 3")), tmp_path / "out"
    assert main(["render", str(p), "--out", str(out), "--procs", "2", "--chunk", "1", "--quiet"]) == 1
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "No space left on device" in err[0] and "rgb_0001.png" in err[0], err
    assert any((out / f"rgb_000{f}.png").is_file() for f in (0, 2))  # the other frames' are kept
    monkeypatch.delenv("PYTHONPATH")
    assert main(["render", str(p), "--out", str(out), "--procs", "2", "--resume", "--quiet"]) == 0
    assert (out / "rgb_0001.png").is_file()


FULL_DISK_AT_LOCK_HOOK = """
import errno

from sdg_addon import output


def full(self):
    raise OSError(errno.ENOSPC, "No space left on device", str(self.path))


output.Lock.acquire = full
"""


def test_a_render_process_whose_lock_the_disk_refuses_is_one_line_exit_1(tmp_path, capfd, monkeypatch):
    """--procs with a disk too full for a render process's own lock (.sdg.shard0of1.lock, taken
    as its folder is opened, before any frame): each process ended in an OSError traceback,
    was restarted, and the run said 'every render process died'; the process now passes its
    one line to the parent, as for any file the disk refuses (the hook: the render processes'
    locks alone fail)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FULL_DISK_AT_LOCK_HOOK)
    monkeypatch.setenv("PYTHONPATH", str(hook))
    p, out = param(tmp_path), tmp_path / "out"
    assert main(["render", str(p), "--out", str(out), "--procs", "2", "--quiet"]) == 1
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "No space left on device" in err[0] and ".lock" in err[0], err
    monkeypatch.delenv("PYTHONPATH")
    assert main(["render", str(p), "--out", str(out), "--procs", "2", "--resume", "--quiet"]) == 0


def test_resume_of_a_complete_dataset_writes_nothing(tmp_path, capsys):
    p, out = param(tmp_path), tmp_path / "out"
    assert render(p, out) == 0
    before = snapshot(out)
    os.chmod(out, 0o555)  # read-only (root ignores it: the snapshot proves nothing changed)
    try:
        capsys.readouterr()
        assert render(p, out, "--resume", quiet=False) == 0
        assert "complete" in capsys.readouterr().out
    finally:
        os.chmod(out, 0o755)
    assert snapshot(out) == before


def test_temp_render_folders_are_removed_and_stale_ones_cleaned(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    base = capture_render._temp_base()
    stale = Path(base) / f"{capture_render.TEMP_PREFIX}{dead.pid}_xyz"
    stale.mkdir()
    (stale / "render.exr").write_bytes(b"left by a killed run")
    assert render(param(tmp_path), tmp_path / "out") == 0
    assert not stale.exists()
    assert not list(Path(base).glob(f"{capture_render.TEMP_PREFIX}{os.getpid()}[-_]*"))


def test_no_writable_temporary_folder_is_said_as_such_not_as_the_output_folder(tmp_path, capsys, monkeypatch):
    """/dev/shm not writable (or missing) and TMPDIR, /tmp, /var/tmp and the working folder
    read-only (a locked-down node): the run ended 'error: cannot write to OUT: No usable
    temporary directory found in [...] (OUT)', blaming the output folder, which was fine.
    It now says that no folder takes the renders' passes files and to set TMPDIR; nothing is
    written."""
    real_access = os.access
    monkeypatch.setattr(capture_render.os, "access", lambda p, m: p != "/dev/shm" and real_access(p, m))

    def no_temporary_folder():
        raise FileNotFoundError(errno.ENOENT, "No usable temporary directory found in ['/tmp', '/var/tmp']")

    monkeypatch.setattr(capture_render.tempfile, "gettempdir", no_temporary_folder)
    monkeypatch.delenv("TMPDIR", raising=False)
    out = tmp_path / "out"
    assert render(param(tmp_path), out) == 1
    err = capsys.readouterr().err
    assert "no folder for the renders' passes files: /dev/shm is" in err and "TMPDIR is unset" in err, err
    assert f"cannot write to {out.as_posix()}" not in err and not out.exists()
    # validate says it as render does (before: OK, or a FileNotFoundError traceback where a
    # model file's importer output is kept back in a temporary file)
    assert main(["validate", str(param(tmp_path)), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "error: no folder for the renders' passes files" in err and "Traceback" not in err, err
    from sdg_addon.console import console_captured

    with console_captured() as printed:  # nowhere to keep the output: shown, not an error
        print("importer line")
    assert printed.text == "" and "importer line" in capsys.readouterr().out


def test_a_render_process_says_a_render_error_to_its_parent_not_a_traceback(tmp_path, capsys, monkeypatch):
    """--procs N where no folder takes the renders' passes files (or Cycles refuses a frame):
    each render process ended in a Python traceback, exit 1, which the parent took for a
    crash, handing its frames to a new process that died the same way, four times, then
    'every render process died'. A render process now sends the reason to its parent, which
    says it in one line and stops (exit 1), as for a disk that cannot be written."""
    from headless import worker
    from headless.cli import EXIT_FAILED
    from sdg_addon.capture.device import RenderError

    def no_temporary_folder():
        raise RenderError("no folder for the renders' passes files: set TMPDIR")

    monkeypatch.setattr(capture_render, "remove_stale_render_dirs", no_temporary_folder)
    out = tmp_path / "out"
    argv = [str(param(tmp_path)), "--out", str(out), "--tag", ".w000", "--slot", "0/1", "--device", "cpu"]
    assert worker.main(argv) == EXIT_FAILED
    sent = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {"error": "no folder for the renders' passes files: set TMPDIR"} in sent, sent


def test_sigterm_releases_the_lock_and_the_temp_folder(tmp_path):
    import signal
    import time

    p, out = param(tmp_path, TINY.replace("frames = 2", "frames = 200")), tmp_path / "out"
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "headless", "render", str(p), "--out", str(out), "--quiet", "--worker-mode", "inline"]
    proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "audit" / "frames.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not (log.exists() and log.read_text()):
        time.sleep(0.05)
    assert (out / ".sdg.lock").exists()
    proc.send_signal(signal.SIGTERM)
    _o, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert not (out / ".sdg.lock").exists(), err
    assert not list(Path(capture_render._temp_base()).glob(f"{capture_render.TEMP_PREFIX}{proc.pid}[-_]*"))
    assert render(p, out, "--resume", "--frames", "0:3") == 0


@pytest.mark.parametrize("resume", [False, True])
def test_a_run_that_ends_while_another_prepares_is_not_redone(tmp_path, monkeypatch, capsys, resume):
    """Run B finds the folder empty, then builds its scene; meanwhile run A (another process)
    renders every frame and ends, releasing the lock before B asks for it. Holding the lock,
    B must see A's frames: without --resume it stops (exit 2), with --resume it has nothing
    left to do; either way none of A's files is written again and no frame is logged twice."""
    from sdg_addon.scene import build

    p, out = param(tmp_path), tmp_path / "out"
    root = Path(__file__).resolve().parent.parent
    after_a = {}
    real_build = build.build_scene

    def build_once_another_run_has_ended(*args, **kwargs):
        if not after_a:
            cmd = [sys.executable, "-m", "headless", "render", str(p), "--out", str(out), "--quiet"]
            done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
            after_a.update(snapshot(out))
        return real_build(*args, **kwargs)

    monkeypatch.setattr(build, "build_scene", build_once_another_run_has_ended)
    code = render(p, out, "--worker-mode", "inline", *(["--resume"] if resume else []))
    assert after_a, "run B did not get as far as building its scene"
    assert code == (0 if resume else 2)
    if not resume:
        assert "already holds 2 finished frame(s)" in capsys.readouterr().err
    assert snapshot(out) == after_a
    frames = [json.loads(x)["frame"] for x in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    assert frames == [0, 1]


def test_two_runs_into_one_folder_at_once(tmp_path):
    """One finishes, the other stops with exit 2 (locked, or finished frames it must not
    redo); the frame log never holds a frame twice."""
    p, out = param(tmp_path, TINY.replace("frames = 2", "frames = 6")), tmp_path / "out"
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "headless", "render", str(p), "--out", str(out), "--quiet", "--worker-mode", "inline"]
    procs = [
        subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    results = [(proc.wait(timeout=300), proc.communicate()[1]) for proc in procs]
    assert sorted(code for code, _err in results) == [0, 2], results
    err = next(e for code, e in results if code == 2)
    assert ("another run" in err or "already holds" in err) and "Traceback" not in err
    frames = [json.loads(x)["frame"] for x in (out / "audit" / "frames.jsonl").read_text().splitlines()]
    assert sorted(frames) == list(range(6))
    inputs = [f.name for f in (out / "audit" / "inputs").iterdir()]
    assert sorted(inputs) == ["SHA256SUMS", "p.toml"]  # the parameter file and its checksum


def test_previews_and_reports_in_a_dataset_are_the_tools_files(tmp_path, capsys):
    """`preview` and `report` write into the dataset by default: recorded there as the tool's
    files, so `--overwrite` removes them (before: the preview stayed, as if a user's file); a
    preview written elsewhere is not recorded in the dataset."""
    from sdg_addon import output

    p = param(tmp_path)
    out = tmp_path / "out"
    assert render(p, out) == 0
    assert main(["preview", str(out)]) == 0
    assert main(["preview", str(out), "--sheet", "-n", "2"]) == 0
    assert main(["report", str(out)]) == 0
    elsewhere = tmp_path / "elsewhere" / "frame.png"
    assert main(["preview", str(out), "--out", str(elsewhere)]) == 0
    recorded = set(output.written_files(out))
    assert {"preview/frame_0000.png", "preview/sheet.png", "report/index.html"} <= recorded, sorted(recorded)
    assert not any("elsewhere" in f for f in recorded)
    assert render(p, out, "--overwrite") == 0
    assert not (out / "preview").exists() and elsewhere.is_file()


def test_preview_report_and_merge_on_read_only_storage_say_it_in_one_line(tmp_path, capfd, monkeypatch):
    """A dataset on read-only storage (a mounted share): `preview` and `report` write into it
    by default, `merge` takes its lock. Each says so in one line naming the folder and the
    cause, exit 1, as `render` does (before: an OSError traceback). Root ignores file modes,
    so the file system's refusal is made by refusing every write under the dataset."""
    p = param(tmp_path)
    out = tmp_path / "out"
    assert render(p, out) == 0
    real_open, real_mkdir = os.open, os.mkdir
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def refused(path):
        return os.path.abspath(os.fspath(path)).startswith(str(out))

    def read_only_open(path, flags, *args, **kwargs):
        if flags & writes and refused(path):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def read_only_mkdir(path, *args, **kwargs):
        if refused(path):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    # an unfinished run to --resume with render processes (before: an OSError traceback at its lock)
    p.write_text(TINY.replace("frames = 2", "frames = 3"))
    monkeypatch.setattr(os, "open", read_only_open)
    monkeypatch.setattr(os, "mkdir", read_only_mkdir)
    resume = ["render", str(p), "--out", str(out), "--resume", "--procs", "2", "--quiet"]
    for args in (["preview", str(out)], ["report", str(out)], ["merge", str(p), "--out", str(out)], resume):
        capfd.readouterr()
        assert main(args) == 1, args
        err = capfd.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Read-only file system" in err[0] and str(out) in err[0], (args, err)


def test_stale_render_folders_of_ended_processes_only_are_removed(monkeypatch, tmp_path):
    """The EXR folders a killed run left (sdg_render_PID_*) go at the next run's start: only
    those whose process has ended; a live process's folder, a link and a file stay."""
    monkeypatch.setattr(capture_render, "_temp_base", lambda: str(tmp_path))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, live = tmp_path / f"sdg_render_{int(ended.stdout)}_ab", tmp_path / f"sdg_render_{os.getpid()}_cd"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "passes.exr").write_bytes(b"x")
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / f"sdg_render_{int(ended.stdout)}_link")
    (tmp_path / f"sdg_render_{int(ended.stdout)}_file").write_text("a file")
    assert capture_render.remove_stale_render_dirs() == [str(dead)]
    assert not dead.exists() and (live / "passes.exr").exists() and (tmp_path / "elsewhere").is_dir()
    assert (tmp_path / f"sdg_render_{int(ended.stdout)}_file").exists()


def test_a_render_folder_of_another_pid_namespace_is_left(monkeypatch, tmp_path):
    """Containers sharing /dev/shm (a Kubernetes pod's, or docker --ipc=host) number their
    processes each in its own PID namespace: a run in one took the live render folder of a
    run in the other (sdg_render_PID_*, a pid none of its processes has) for a killed run's
    and deleted it (shown with unshare --pid: the live run's folder was removed). A folder
    is named with its place too (sdg_render_PID-PLACE_*, output.machine_place); another
    place's is left, this place's and the former names (sdg_render_PID_*) of ended
    processes are removed as before."""
    from sdg_addon import output

    monkeypatch.setattr(capture_render, "_temp_base", lambda: str(tmp_path))
    ended = int(
        subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    )
    place = output.machine_place()
    made = Path(capture_render.temp_render_dir())
    assert made.name.startswith(f"sdg_render_{os.getpid()}-{place}_")
    mine, before, theirs = (tmp_path / f"sdg_render_{ended}{tail}_ab" for tail in (f"-{place}", "", "-0badf00d"))
    for folder in (mine, before, theirs):
        folder.mkdir()
    assert sorted(capture_render.remove_stale_render_dirs()) == sorted([str(mine), str(before)])
    assert theirs.is_dir() and made.is_dir()


def test_a_users_file_in_the_dataset_is_never_replaced(tmp_path, capsys):
    """--resume and --overwrite: a file of a frame's name that the tool did not write (not
    in audit/written/) stops the run with its name, exit 2, and stays as it was; the frames
    finished before are kept (fails on the code before: replaced, exit 0)."""
    p = param(tmp_path)
    for mode in ("--resume", "--overwrite"):
        out = tmp_path / mode.strip("-")
        assert render(p, out, "--frames", "0:1") == 0
        (out / "rgb_0001.png").write_bytes(b"mine")
        capsys.readouterr()
        assert render(p, out, mode) == 2
        err = capsys.readouterr().err
        assert "rgb_0001.png" in err and "did not write" in err
        assert (out / "rgb_0001.png").read_bytes() == b"mine"
        assert (out / "rgb_0000.png").is_file()
        (out / "rgb_0001.png").unlink()  # the user moved it away: the run completes
        assert render(p, out, "--resume") == 0 and (out / "rgb_0001.png").read_bytes() != b"mine"


@pytest.mark.parametrize("mode", ["inline", "processes"])
def test_a_users_file_where_the_run_makes_a_folder_is_named_and_kept(tmp_path, capsys, mode):
    """A user's file standing where a frame's folder goes (a `yolo` file in the dataset):
    exit 2 naming that file, kept, as a user's file of a frame's name is (before: exit 1,
    "cannot write to OUT: Not a directory" naming a temporary file that was gone); once it
    is moved away, --resume completes."""
    p = param(tmp_path, TINY + "\n[writers]\nbasic = {}\nyolo = {}\n")
    out = tmp_path / "out"
    assert render(p, out, "--frames", "0:1") == 0
    (out / "yolo").rename(tmp_path / "yolo_moved")
    (out / "yolo").write_bytes(b"mine")
    capsys.readouterr()
    assert render(p, out, "--resume", "--worker-mode", mode, "--workers", "1") == 2
    err = capsys.readouterr().err
    assert f"{out / 'yolo'} is a file where the run makes a folder" in err and ".tmp" not in err, err
    assert (out / "yolo").read_bytes() == b"mine"
    (out / "yolo").unlink()
    (tmp_path / "yolo_moved").rename(out / "yolo")
    assert render(p, out, "--resume") == 0 and (out / "yolo" / "labels" / "train" / "000001.txt").is_file()


def test_merge_never_replaces_a_users_file_and_says_it_in_one_line(tmp_path, capsys):
    """A user's file where merge writes (its manifest, audit/manifest.json) stays, and merge
    says so as a run does: exit 2, one line naming the file (before: a ForeignFileError
    traceback, exit 1). Once it is moved away, merge joins the shards."""
    p, out = param(tmp_path), tmp_path / "out"
    assert render(p, out, "--shard", "0/2") == 0 and render(p, out, "--shard", "1/2") == 0
    (out / "audit" / "manifest.json").write_bytes(b"mine")
    capsys.readouterr()
    assert main(["merge", str(p), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "manifest.json" in err and "did not write" in err
    assert (out / "audit" / "manifest.json").read_bytes() == b"mine"
    (out / "audit" / "manifest.json").unlink()
    assert main(["merge", str(p), "--out", str(out)]) == 0


def test_overwrite_refuses_before_deleting(tmp_path, capsys):
    """--overwrite deletes nothing when it would delete its own parameter file (an edited copy
    in audit/inputs/ run from there) or when a recorded folder is now a link out of the
    output folder (the run would stop at its first write, after deleting everything)."""
    p, out = param(tmp_path), tmp_path / "out"
    assert render(p, out) == 0
    copy = out / "audit" / "inputs" / p.name
    copy.write_text(copy.read_text().replace("frames = 2", "frames = 1"))
    before = snapshot(out)
    capsys.readouterr()
    assert render(copy, out, "--overwrite") == 2
    assert "an input of this run" in capsys.readouterr().err
    assert snapshot(out) == before

    # A recorded folder (yolo/) moved to another disk and linked back.
    q, out2, elsewhere = (
        param(tmp_path, TINY + "\n[writers]\nbasic = {}\nyolo = {}\n", "q.toml"),
        tmp_path / "o2",
        tmp_path / "far",
    )
    assert render(q, out2) == 0
    (out2 / "yolo").rename(elsewhere)
    (out2 / "yolo").symlink_to(elsewhere, target_is_directory=True)
    before, far_before = snapshot(out2), snapshot(elsewhere)
    capsys.readouterr()
    assert render(q, out2, "--overwrite") == 2
    err = capsys.readouterr().err
    assert "yolo" in err and "outside the output folder" in err and "Nothing was deleted" in err
    assert snapshot(out2) == before and snapshot(elsewhere) == far_before


def test_resume_refuses_a_recorded_folder_linked_out_before_rendering(tmp_path, capsys):
    """A writer's folder (coco/annotations: the big file) moved to another disk and linked
    back: --resume rendered the frames left, logged them, then stopped at the writer's last
    file ('refusing to write ...: it is outside the output folder', exit 2, as if nothing was
    written) and did so again at every --resume. It is now refused before anything is
    rendered, naming the link, as --overwrite refuses it."""
    q, out, elsewhere = (
        param(tmp_path, TINY + "\n[writers]\nbasic = {}\ncoco = {}\n", "q.toml"),
        tmp_path / "o",
        tmp_path / "far",
    )
    assert render(q, out, "--frames", "0:1") == 0
    (out / "coco" / "annotations").rename(elsewhere)
    (out / "coco" / "annotations").symlink_to(elsewhere, target_is_directory=True)
    before, far_before = snapshot(out), snapshot(elsewhere)
    capsys.readouterr()
    assert render(q, out, "--resume") == 2
    err = capsys.readouterr().err
    assert "coco/annotations in" in err and "is a link to" in err and "Nothing was written" in err, err
    assert snapshot(out) == before and snapshot(elsewhere) == far_before
    # merge likewise (before: 'refusing to write .../instances_train.json: it is outside ...')
    assert main(["merge", str(q), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"cannot merge {out}: coco/annotations in" in err and "Nothing was written" in err, err
    assert snapshot(out) == before and snapshot(elsewhere) == far_before


def test_resume_without_the_device_option_it_ran_with_is_told_to_give_it(tmp_path, capsys):
    """A run made with --device cpu (render.device "auto" in the file) and continued with the
    same command less --device, as a user retypes it, was refused 'the parameters differ
    (render.device: "cpu" before, "auto" now ...): use a new output folder or --overwrite',
    both of which start anew; it now also says to give --device cpu, which continues it."""
    p = param(tmp_path, TINY.replace('device = "cpu"', 'device = "auto"'))
    assert 'device = "auto"' in p.read_text()
    out = tmp_path / "out"
    assert render(p, out, "--device", "cpu", "--frames", "0:1") == 0
    capsys.readouterr()
    assert render(p, out, "--resume") == 2
    err = capsys.readouterr().err
    assert 'render.device: "cpu" before, "auto" now' in err and "render with --device cpu as it did" in err, err
    assert render(p, out, "--resume", "--device", "cpu") == 0


def _copy_without_replacing(src: Path, dst: Path) -> None:
    """A shard's folder copied into another, as `cp -rn`: files of the same name stay."""
    for f in src.rglob("*"):
        target = dst / f.relative_to(src)
        if f.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())


def test_merge_refuses_shards_of_other_parameters(tmp_path, capsys):
    """Shards rendered into separate folders and copied together share one resolved.json:
    each shard's environment file records its parameters, section by section, and merge
    refuses (exit 2, nothing written) a shard or a folder of other parameters, naming it
    and the sections (before: merged silently into one dataset). Shards of one parameter
    file still merge."""
    from sdg_addon.audit import parameter_sections

    text = TINY + "\n[writers]\nbasic = {}\ncoco = {}\n"
    p = param(tmp_path, text)
    q = param(tmp_path, text.replace("size = 1.5", "size = 0.5"), "q.toml")
    a, b = tmp_path / "a", tmp_path / "b"
    assert render(p, a, "--shard", "0/2") == 0 and render(q, b, "--shard", "1/2") == 0
    _copy_without_replacing(b, a)
    before = snapshot(a)
    capsys.readouterr()
    assert main(["merge", str(p), "--out", str(a)]) == 2
    err = capsys.readouterr().err
    assert f"cannot merge {a}" in err and str(p) in err
    assert "audit/environment.shard001of002.json: differs in assets" in err and "shard000" not in err
    assert main(["merge", str(q), "--out", str(a)]) == 2
    err = capsys.readouterr().err
    assert "audit/resolved.json: differs in assets" in err and "environment.shard000of002.json" in err
    assert snapshot(a) == before
    # two shards of one file, copied together: merged
    c, d = tmp_path / "c", tmp_path / "d"
    assert render(p, c, "--shard", "0/2") == 0 and render(p, d, "--shard", "1/2") == 0
    _copy_without_replacing(d, c)
    assert main(["merge", str(p), "--out", str(c)]) == 0
    coco = json.loads(next((c / "coco" / "annotations").glob("instances_*.json")).read_text())
    assert [im["id"] for im in coco["images"]] == [0, 1]
    # a file counts by its name, not its folder (shards on machines keeping assets elsewhere)
    one = {"assets": [{"file": "/home/a/models/mug.glb", "size": 1.0}], "render": {"samples": 4}}
    other = {"assets": [{"file": "C:/data/mug.glb", "size": 1.0}], "render": {"samples": 4}}
    assert parameter_sections(one) == parameter_sections(other)
    other["assets"][0]["file"] = "/home/a/models/cup.glb"
    assert [k for k, v in parameter_sections(one).items() if parameter_sections(other)[k] != v] == ["assets"]


@pytest.mark.parametrize("writer", ["coco", "bop", "webdataset", "mot"])
def test_resume_refuses_when_a_writers_parts_were_removed(tmp_path, capsys, writer):
    """coco, bop, webdataset and mot rebuild their joined files (the COCO json, BOP's
    scene_*.json, the shards, gt.txt) from parts/ alone: with parts/ removed after a run, a resumed
    run rebuilt them from its own frames only, the earlier frames silently gone (coco, bop;
    webdataset refused only at the end, after rendering). Now --resume refuses at once,
    naming the writer, the parts folder and the frames, and writes nothing."""
    import shutil

    text = (
        TINY.replace("frames = 2", "frames = 4")
        + f"object_pose = {{}}\ndistance_to_image_plane = {{}}\n\n[writers.{writer}]\n"
    )
    p = param(tmp_path, text)
    out = tmp_path / "out"
    assert render(p, out, "--frames", "0:2") == 0
    shutil.rmtree(out / writer / "parts")
    before = snapshot(out)
    capsys.readouterr()
    assert render(p, out, "--resume") == 2
    err = capsys.readouterr().err
    assert (
        f"writer '{writer}': " in err
        and "parts/train" in err
        and "lacks the parts of 2 of the 2 finished frame(s)" in err
    ), err
    assert "--overwrite" in err
    assert snapshot(out) == before
    assert main(["merge", str(p), "--out", str(out)]) == 2  # merge rebuilds them too
    assert "parts were removed" in capsys.readouterr().err
    assert snapshot(out) == before


def test_resume_with_other_parameters_names_what_changed(tmp_path, capsys):
    """--resume with an edited parameter file was refused with 'the parameters differ ...
    (compare audit/resolved.json)' and no word of what differs; it now names each changed
    field with both values, and writes nothing."""
    p = param(tmp_path)
    out = tmp_path / "out"
    assert render(p, out, "--frames", "0:1") == 0
    before = snapshot(out)
    p.write_text(TINY.replace("samples = 1", "samples = 2").replace('class = "ball"', 'class = "orb"'))
    capsys.readouterr()
    assert render(p, out, "--resume") == 2
    err = capsys.readouterr().err
    assert "render.samples: 1 before, 2 now" in err, err
    assert 'assets[0].labels.class: "ball" before, "orb" now' in err, err  # as the file writes it, not class[0]
    assert snapshot(out) == before


def test_resume_of_a_complete_dataset_whose_parts_were_removed_has_nothing_to_do(tmp_path, capsys):
    """parts/ removed once the dataset is complete (as docs/writers.md allows): --resume
    rebuilds nothing, so it says the dataset is complete (exit 0), not that frames would be lost."""
    import shutil

    p = param(tmp_path, TINY + "\n[writers.coco]\n")
    out = tmp_path / "out"
    assert render(p, out) == 0
    shutil.rmtree(out / "coco" / "parts")
    capsys.readouterr()
    assert render(p, out, "--resume", quiet=False) == 0
    assert "complete: all 2 frame(s) are finished" in capsys.readouterr().out


def test_ctrl_c_during_merge_is_one_line_and_merge_runs_again(tmp_path, capsys, monkeypatch):
    """Ctrl-C while merge joins the writers' files ended with a KeyboardInterrupt traceback;
    one while it loaded was dropped (merge went on). Now: exit 130, one line, its lock
    released (each file it wrote is whole), and merge runs again; a Ctrl-C noted while it
    loaded stops it before it writes anything."""
    import signal

    from headless import early_signals
    from sdg_addon.writers.coco import CocoWriter

    p = param(tmp_path, TINY + "\n[writers.coco]\n")
    out = tmp_path / "out"
    assert render(p, out) == 0
    before = snapshot(out)
    monkeypatch.setattr(early_signals, "received", [signal.SIGINT])
    capsys.readouterr()
    assert main(["merge", str(p), "--out", str(out)]) == 130
    assert "interrupted before merge started: nothing written" in capsys.readouterr().err
    assert snapshot(out) == before
    monkeypatch.setattr(early_signals, "received", [])

    def pressed(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(CocoWriter, "finalize", pressed)
    assert main(["merge", str(p), "--out", str(out)]) == 130
    assert "interrupted: merge stopped before it ended" in capsys.readouterr().err
    assert not (out / ".sdg.lock").exists()
    monkeypatch.undo()
    assert main(["merge", str(p), "--out", str(out)]) == 0


def test_sigterm_during_merge_is_one_line_and_releases_the_lock(tmp_path, capsys, monkeypatch):
    """SIGTERM (a job scheduler's stop) while merge joined the files killed the process
    without a word, its lock left for the next run to take over. Now it stops as Ctrl-C
    does: one line, exit 143, the lock released, and merge runs again."""
    import signal
    import time

    from sdg_addon.writers.coco import CocoWriter

    p = param(tmp_path, TINY + "\n[writers.coco]\n")
    out = tmp_path / "out"
    assert render(p, out) == 0

    def terminated(self):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this at once

    monkeypatch.setattr(CocoWriter, "finalize", terminated)
    capsys.readouterr()

    def caught(signum, frame):  # without merge's own handler the signal lands here, not on pytest
        caught.times += 1

    caught.times = 0
    before = signal.signal(signal.SIGTERM, caught)
    try:
        assert main(["merge", str(p), "--out", str(out)]) == 143
        assert signal.getsignal(signal.SIGTERM) is caught and caught.times == 0  # merge's own, given back
    finally:
        signal.signal(signal.SIGTERM, before)
    assert "interrupted: merge stopped before it ended" in capsys.readouterr().err
    assert not (out / ".sdg.lock").exists()
    monkeypatch.undo()
    assert main(["merge", str(p), "--out", str(out)]) == 0


TETRA = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n"
TETRA_PLY = (
    "ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
    "element face 4\nproperty list uchar int vertex_indices\nend_header\n"
    "0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 3\n3 0 2 3\n3 1 2 3\n"
)


@pytest.mark.parametrize("changed", ["m.obj", "tex/wood.png"])
def test_resume_refuses_when_an_asset_or_a_texture_changed(tmp_path, capsys, changed):
    """An asset's model file or a texture folder's image edited between a run and its
    --resume: the resumed frames were rendered from the new file, the earlier ones from the
    old, silently (only the files a base .blend reads were compared). Now refused, exit 2,
    naming the file, nothing written; the files are listed in audit/scene_files.json."""
    from sdg_addon.writers.png import encode_png

    (tmp_path / "m.obj").write_text(TETRA)
    (tmp_path / "tex").mkdir()
    (tmp_path / "tex" / "wood.png").write_bytes(encode_png(np.full((4, 4, 3), 90, np.uint8)))
    text = TINY.replace('primitive = "sphere"', 'file = "m.obj"')
    text += '\n[[randomizers]]\ntype = "texture"\ntargets = "ball"\nfolder = "tex"\n'
    p = param(tmp_path, text)
    out = tmp_path / "out"
    assert render(p, out, "--frames", "0:1") == 0
    kinds = {
        e["path"].rsplit("/", 1)[-1]: e["kind"] for e in json.loads((out / "audit" / "scene_files.json").read_text())
    }
    assert kinds == {"m.obj": "model", "wood.png": "texture"}
    if changed == "m.obj":
        (tmp_path / "m.obj").write_text(TETRA.replace("v 0 0 1", "v 0 0 2"))
    else:
        (tmp_path / "tex" / "wood.png").write_bytes(encode_png(np.full((4, 4, 3), 200, np.uint8)))
    before = snapshot(out)
    capsys.readouterr()
    assert render(p, out, "--resume") == 2
    err = capsys.readouterr().err
    assert "the files the scene reads differ" in err and changed in err, err
    assert snapshot(out) == before


def test_resume_of_a_project_moved_whole_continues_it(tmp_path, capsys):
    """A project (parameter file, model, texture folder, dataset) moved or copied whole to
    another folder (another disk, machine, home folder) and resumed there was refused:
    'the parameters differ (assets[0].file: "/old/m.obj" before, "/new/m.obj" now)', though
    nothing that makes the frames changed. Paths inside the parameter file's folder count
    relative to it; the resumed dataset is byte for byte a fresh run's. A file edited there,
    or another file named, is still refused."""
    import shutil

    from sdg_addon.writers.png import encode_png

    old = tmp_path / "old"
    (old / "tex").mkdir(parents=True)
    (old / "m.obj").write_text(TETRA)
    (old / "tex" / "wood.png").write_bytes(encode_png(np.full((4, 4, 3), 90, np.uint8)))
    text = TINY.replace('primitive = "sphere"', 'file = "m.obj"')
    text += '\n[[randomizers]]\ntype = "texture"\ntargets = "ball"\nfolder = "tex"\n'
    assert render(param(old, text), old / "out", "--frames", "0:1") == 0
    new = tmp_path / "new"
    shutil.copytree(old, new, symlinks=True)
    shutil.rmtree(old)
    p = new / "p.toml"
    assert render(p, new / "out", "--resume") == 0, capsys.readouterr().err
    assert render(p, tmp_path / "fresh") == 0
    ours = [f for f in files_under(new / "out") if not f.startswith("audit/")]
    assert ours and ours == [f for f in files_under(tmp_path / "fresh") if not f.startswith("audit/")]
    for f in ours:
        assert (new / "out" / f).read_bytes() == (tmp_path / "fresh" / f).read_bytes(), f
    (new / "tex" / "wood.png").write_bytes(encode_png(np.full((4, 4, 3), 200, np.uint8)))
    p.write_text(p.read_text().replace("frames = 2", "frames = 3"))
    capsys.readouterr()
    assert render(p, new / "out", "--resume") == 2
    assert "the files the scene reads differ" in capsys.readouterr().err


def test_resume_of_a_project_whose_linked_library_lies_elsewhere_continues_it(tmp_path, capsys):
    """A project whose model and texture folder are in a library linked into it (lib ->
    /mnt/a/lib), copied to another machine where the link leads to another copy of the
    library (/mnt/b/lib), was refused at --resume: the run recorded the link's target,
    'assets[0].file: "/mnt/a/lib/m.obj" before, "/mnt/b/lib/m.obj" now'. The run records
    the path as the parameter file names it (./lib/m.obj), each file checked by its hash:
    the copy continues, byte for byte a fresh run's; a file changed in the library is still
    refused; a run recorded with links followed (before) still resumes where it was made."""
    import json
    import shutil

    from sdg_addon.writers.png import encode_png

    a, b = tmp_path / "mnt_a" / "lib", tmp_path / "mnt_b" / "lib"
    (a / "tex").mkdir(parents=True)
    (a / "m.obj").write_text(TETRA)
    (a / "tex" / "wood.png").write_bytes(encode_png(np.full((4, 4, 3), 90, np.uint8)))
    shutil.copytree(a, b)
    old = tmp_path / "old"
    old.mkdir()
    (old / "lib").symlink_to(a, target_is_directory=True)
    text = TINY.replace('primitive = "sphere"', 'file = "lib/m.obj"')
    text += '\n[[randomizers]]\ntype = "texture"\ntargets = "ball"\nfolder = "lib/tex"\n'
    assert render(param(old, text), old / "out", "--frames", "0:1") == 0
    resolved = json.loads((old / "out" / "audit" / "resolved.json").read_text())
    assert resolved["assets"][0]["file"] == (old / "lib" / "m.obj").as_posix()
    new = tmp_path / "new"
    shutil.copytree(old, new, symlinks=True)
    (new / "lib").unlink()
    (new / "lib").symlink_to(b, target_is_directory=True)
    p = new / "p.toml"
    assert render(p, new / "out", "--resume") == 0, capsys.readouterr().err
    assert render(p, tmp_path / "fresh") == 0
    ours = [f for f in files_under(new / "out") if not f.startswith("audit/")]
    assert ours and ours == [f for f in files_under(tmp_path / "fresh") if not f.startswith("audit/")]
    for f in ours:
        assert (new / "out" / f).read_bytes() == (tmp_path / "fresh" / f).read_bytes(), f
    # A run that recorded the links' targets, as before, resumes where it was made.
    audit_dir = old / "out" / "audit"
    for name in ("resolved.json", "scene_files.json"):
        f = audit_dir / name
        f.write_text(f.read_text().replace((old / "lib").as_posix(), a.as_posix()))
    assert a.as_posix() in (audit_dir / "resolved.json").read_text()
    assert render(old / "p.toml", old / "out", "--resume") == 0, capsys.readouterr().err
    (b / "tex" / "wood.png").write_bytes(encode_png(np.full((4, 4, 3), 200, np.uint8)))
    p.write_text(p.read_text().replace("frames = 2", "frames = 3"))
    capsys.readouterr()
    assert render(p, new / "out", "--resume") == 2
    assert "the files the scene reads differ" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["missing", "torn"])
def test_resume_refuses_when_the_runs_parameters_cannot_be_read(tmp_path, capsys, damage):
    """audit/resolved.json removed or damaged: --resume continued with whatever parameters
    it was given (another seed rendered the rest, and resolved.json was rewritten to say
    so); it is what tells that the parameters are the run's, so it is now refused, exit 2,
    nothing written."""
    p = param(tmp_path)
    out = tmp_path / "out"
    assert render(p, out, "--frames", "0:1") == 0
    resolved = out / "audit" / "resolved.json"
    if damage == "missing":
        resolved.unlink()
    else:
        resolved.write_text(resolved.read_text()[:40])
    p.write_text(TINY.replace("seed = 1", "seed = 2"))
    before = snapshot(out)
    capsys.readouterr()
    assert render(p, out, "--resume") == 2
    err = capsys.readouterr().err
    assert "audit/resolved.json" in err and "cannot tell whether the parameters are those of the run" in err, err
    assert snapshot(out) == before


def test_resume_refuses_when_kitti_velodyne_pose_files_were_removed(tmp_path, capsys):
    """kitti_velodyne's poses.txt is rebuilt from the per-frame poses/*.txt alone: with them
    removed, a resumed run wrote poses.txt with its own frames' poses only (line i is scan
    i's pose: every earlier line gone, the rest shifted). Now refused at once, exit 2,
    nothing written, as coco / bop / webdataset without their parts."""
    import shutil

    lidar = '\n[[lidars]]\nname = "top"\npreset = "spinning_16"\ncolumns = 32\nlocation = [0, -3, 0.5]\n'
    text = TINY.replace("frames = 2", "frames = 4").replace("[annotators]", lidar + "\n[annotators]\nlidar = {}")
    p = param(tmp_path, text + "\n[writers.kitti_velodyne]\n")
    out = tmp_path / "out"
    assert render(p, out, "--frames", "0:2") == 0
    seq = out / "kitti_velodyne" / "top" / "sequences" / "00"
    assert len((seq / "poses.txt").read_text().splitlines()) == 2
    shutil.rmtree(seq / "poses")
    before = snapshot(out)
    capsys.readouterr()
    assert render(p, out, "--resume") == 2
    err = capsys.readouterr().err
    assert "writer 'kitti_velodyne': " in err and "lacks the pose files of 2 of the 2 finished scan(s)" in err, err
    assert snapshot(out) == before


def test_resume_after_a_kill_during_the_last_finalize_rebuilds_the_joined_files(tmp_path, capsys):
    """A resumed run killed after its last frame was logged, while its writers joined their
    files (before its manifest): the next --resume found every frame logged and the earlier
    run's manifest, said 'complete: nothing to do', and the COCO json kept the earlier run's
    frames only. The manifest must count every frame for the run to be complete; else the
    resume renders nothing and joins the files again."""
    p = param(tmp_path, TINY + "\n[writers.coco]\n")
    out = tmp_path / "out"
    assert render(p, out, "--frames", "0:1") == 0
    manifest, coco = out / "audit" / "manifest.json", out / "coco" / "annotations" / "instances_train.json"
    stale = manifest.read_bytes(), coco.read_bytes()
    assert render(p, out, "--resume") == 0
    manifest.write_bytes(stale[0])  # as a kill during its finalize leaves them
    coco.write_bytes(stale[1])
    capsys.readouterr()
    assert render(p, out, "--resume", quiet=False) == 0
    assert "complete" not in capsys.readouterr().out
    assert len(json.loads(coco.read_text())["images"]) == 2
    assert render(p, out, "--resume", quiet=False) == 0
    assert "complete: all 2 frame(s) are finished" in capsys.readouterr().out


def test_a_resume_keeps_the_earlier_runs_environment_and_says_when_blender_changed(tmp_path, capsys):
    """audit/environment.json was the last run's alone: a dataset begun with one Blender and
    resumed with another (or on another device) no longer told what rendered its first
    frames. Each resume now keeps the runs before it under earlier_runs (oldest first), and a
    resume with another Blender says so (its images can differ from the earlier frames')."""
    import bpy

    p, out = param(tmp_path, TINY.replace("frames = 2", "frames = 3")), tmp_path / "out"
    env_path = out / "audit" / "environment.json"
    assert render(p, out, "--frames", "0:1") == 0
    first = json.loads(env_path.read_text())
    assert "earlier_runs" not in first and first["frames"] == [0, 1]
    first["blender"] = "4.9.9"  # as an older Blender would have recorded it
    env_path.write_text(json.dumps(first))
    capsys.readouterr()
    assert render(p, out, "--frames", "0:2", "--resume") == 0
    err = capsys.readouterr().err
    assert "rendered with Blender 4.9.9" in err and bpy.app.version_string in err
    second = json.loads(env_path.read_text())
    assert second["blender"] == bpy.app.version_string and second["frames"] == [0, 2]
    assert second["earlier_runs"] == [first]
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert any("4.9.9" in w for w in manifest["warnings"])
    assert render(p, out, "--resume") == 0  # the same Blender: no word, one more record
    assert "rendered with Blender" not in capsys.readouterr().err
    third = json.loads(env_path.read_text())
    assert [r["frames"] for r in third["earlier_runs"]] == [[0, 1], [0, 2]] and third["frames"] == [0, 3]
    assert "earlier_runs" not in third["earlier_runs"][1]  # flat, oldest first


def test_a_resume_with_other_sampling_code_says_the_draws_changed(tmp_path, capsys, monkeypatch):
    """A dataset resumed after an upgrade whose sampling draws other values (a new
    sampling.DRAWS_VERSION), or begun by a version that recorded none, says so once: the
    frames from then on are not those a fresh run of the earlier code would make. The same
    version says nothing."""
    from sdg_addon import sampling

    p, out = param(tmp_path, TINY.replace("frames = 2", "frames = 4")), tmp_path / "out"
    env_path = out / "audit" / "environment.json"
    assert render(p, out, "--frames", "0:1") == 0
    assert json.loads(env_path.read_text())["draws_version"] == sampling.DRAWS_VERSION
    capsys.readouterr()
    monkeypatch.setattr(sampling, "DRAWS_VERSION", sampling.DRAWS_VERSION + 1)
    assert render(p, out, "--frames", "0:2", "--resume") == 0
    err = capsys.readouterr().err
    assert (
        f"drawn by sampling version {sampling.DRAWS_VERSION - 1}, this run's by version {sampling.DRAWS_VERSION}" in err
    )
    assert json.loads(env_path.read_text())["draws_version"] == sampling.DRAWS_VERSION
    assert render(p, out, "--frames", "0:3", "--resume") == 0  # the same version: no word
    assert "drawn by" not in capsys.readouterr().err
    record = json.loads(env_path.read_text())
    del record["draws_version"]  # as a run before versions were recorded left it
    env_path.write_text(json.dumps(record))
    assert render(p, out, "--resume") == 0
    err = capsys.readouterr().err
    assert "drawn by a version of this tool that recorded none" in err and "may draw other scenes" in err


def test_an_output_folder_the_run_reads_images_from_is_refused_before_anything_is_written(tmp_path, capsys):
    """An output folder inside a folder the run reads images from (a recursive texture
    folder, a `**` background glob), or whose images a glob matches once written: exit 2
    naming the field, nothing written, nothing deleted (before: the first run went, then
    --resume said "the parameters differ" (its own images listed as textures), and
    --overwrite deleted the dataset and ended with a traceback, exit 1: "Cannot read
    OUT/semantic_segmentation_0000.png")."""
    from sdg_addon.writers.png import encode_png

    for folder in ("tex/wood", "photos/set1"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "a.png").write_bytes(encode_png(np.full((4, 4, 3), 90, np.uint8)))
    texture = '\n[[randomizers]]\ntype = "texture"\ntargets = "ball"\nfolder = "tex"\nrecursive = true\n'
    p = param(tmp_path, TINY + texture)
    capsys.readouterr()
    assert render(p, tmp_path / "tex" / "out") == 2
    err = capsys.readouterr().err
    assert 'randomizers[0].folder: got "tex"; expected a folder (or glob) that does not hold the output' in err, err
    assert not (tmp_path / "tex" / "out").exists()
    assert main(["validate", str(p), "--out", str(tmp_path / "tex" / "out")]) == 2  # validate says it too
    # A glob of one level that matches the dataset's images (photos/*/*.png, --out photos/out):
    # refused at the first run, and at --overwrite of a dataset there (nothing deleted).
    photos = '\n[[randomizers]]\ntype = "background"\ntargets = "cam"\nfiles = "photos/*/*.png"\n'
    q = param(tmp_path, TINY.replace("[render]", "[render]\nfilm_transparent = true") + photos, "q.toml")
    out = tmp_path / "photos" / "out"
    capsys.readouterr()
    assert render(q, out) == 2 and not out.exists()
    assert 'randomizers[0].files: got "photos/*/*.png"' in capsys.readouterr().err
    assert render(param(tmp_path, TINY, "plain.toml"), out) == 0
    before = snapshot(out)
    assert render(q, out, "--overwrite") == 2 and snapshot(out) == before
    assert render(q, tmp_path / "elsewhere") == 0
    # A glob of files the tool never writes (*.jpg) may hold it.
    from PIL import Image

    Image.fromarray(np.full((4, 4, 3), 90, np.uint8)).save(tmp_path / "photos" / "set1" / "b.jpg")
    jpg = q.read_text().replace("photos/*/*.png", "photos/*/*.jpg")
    capsys.readouterr()
    assert main(["validate", str(param(tmp_path, jpg, "j.toml")), "--out", str(tmp_path / "photos" / "o2")]) == 0
    assert "does not hold the output folder" not in capsys.readouterr().err
    # An asset pool's ** glob holding the output folder (bop writes .ply models there).
    (tmp_path / "models" / "a").mkdir(parents=True)
    (tmp_path / "models" / "a" / "t.ply").write_text(TETRA_PLY)
    pool = TINY.replace('primitive = "sphere"', 'files = "models/**/*.ply"')
    r = param(tmp_path, pool, "r.toml")
    capsys.readouterr()
    assert render(r, tmp_path / "models" / "out") == 2
    assert 'assets[0].files: got "models/**/*.ply"; expected a folder (or glob)' in capsys.readouterr().err
    assert not (tmp_path / "models" / "out").exists()
