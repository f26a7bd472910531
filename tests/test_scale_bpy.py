"""Scale-out: several render processes (--procs, the CPU stand-in for --gpus), Ray, and
shards + merge each make the dataset one process makes, file for file; a render process
killed mid-chunk has its frames rendered by another, and the result is still the same."""

from __future__ import annotations

import contextlib
import filecmp
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")

from headless import parallel, ray_backend  # noqa: E402
from headless.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 6
COMMON = ["--quiet", "--workers", "1", "--worker-mode", "inline"]


def tiny(tmp: Path) -> Path:
    """The default preset, tiny, with what a render process must carry over to its parent:
    photos behind the render (decoded where the RGB image is made), non-square pixels (fy),
    a leaning crate (the KITTI writer's warning), writers whose outputs are merged."""
    from PIL import Image

    text = (ROOT / "presets" / "default.toml").read_text()
    crate = (
        '[[assets]]\nname = "crate"\nprimitive = "cube"\nsize = 0.12\n'
        'location = [0.3, 0.2, 0.85]\nrotation = [0, 30, 0]\nlabels = { class = "crate" }\n'
    )
    photos = f"{(tmp / 'photos').as_posix()}/*.png"  # absolute: tests copy the file elsewhere
    background = f'[[randomizers]]\ntype = "background"\ntargets = "camera"\nfiles = "{photos}"\n\n'
    for a, b in (
        ("resolution = [640, 480]", "resolution = [64, 48]\nfilm_transparent = true"),
        ("samples = 32", "samples = 1"),
        ("frames = 8", f"frames = {FRAMES}"),
        ('device = "auto"', 'device = "cpu"'),
        ("focal_length = 35", "fx = 60\nfy = 75"),
        ('class = ["mug"', 'class = ["crate", "mug"'),
        ("# Distractors:", crate + "\n# Distractors:"),
        ("[annotators]", background + "[annotators]\nbounding_box_3d = {}"),
        ("basic = {}", "basic = {}\ncoco = {}\nyolo = {}\nkitti = {}"),
    ):
        assert a in text, a
        text = text.replace(a, b, 1)
    (tmp / "photos").mkdir()
    for i in range(2):
        photo = np.random.default_rng(i).integers(0, 256, (40 + 20 * i, 90, 3), dtype=np.uint8)
        Image.fromarray(photo).save(tmp / "photos" / f"p{i}.png")
    path = tmp / "tiny.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    param = tiny(tmp)
    assert main(["render", str(param), "--out", str(tmp / "one"), *COMMON]) == 0
    return param, tmp / "one"


def dataset_files(root: Path) -> list[str]:
    """Every file of the dataset (the audit trail differs by design: per-process logs)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "audit" not in p.parts)


def assert_same_dataset(a: Path, b: Path) -> None:
    files = dataset_files(a)
    assert files == dataset_files(b)
    assert sum(name.startswith("rgb_") for name in files) == FRAMES
    _match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)


def assert_same_warnings(one: Path, out: Path) -> None:
    """The run's manifest has the warnings one process gives, each once (the processes' own
    manifests each have theirs)."""
    single = json.loads((one / "audit" / "manifest.json").read_text())["warnings"]
    assert any(w.startswith("kitti: objects labelled class:crate lean more than") for w in single)
    assert sorted(json.loads((out / "audit" / "manifest.json").read_text())["warnings"]) == sorted(single)


def assert_manifest_keys_of_one_run(one: Path, out: Path, parts: list[str]) -> dict:
    """The manifest of a parallel run or a merge has every key a single run's has (before:
    no seconds per stage, no peak memory, no cameras, annotators or writers), the stage
    seconds the processes' (`parts`) added up, and the largest one process's peak."""
    single = json.loads((one / "audit" / "manifest.json").read_text())
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert set(single) <= set(manifest), set(single) - set(manifest)
    own = [json.loads((out / "audit" / name).read_text()) for name in parts]
    for stage, seconds in manifest["seconds_per_stage"].items():
        assert seconds == pytest.approx(sum(p["seconds_per_stage"][stage] for p in own), abs=1e-5)
    assert set(manifest["seconds_per_stage"]) == set(single["seconds_per_stage"])
    assert manifest["peak_memory_mb"] == max(p["peak_memory_mb"] for p in own)
    assert manifest["peak_memory_mb_sum"] == pytest.approx(sum(p["peak_memory_mb"] for p in own))
    for key in ("cameras", "annotators", "writers"):
        assert manifest[key] == single[key], key
    assert manifest["interrupted"] is False
    return manifest


def test_two_processes_make_the_single_process_dataset(reference, tmp_path, capsys):
    param, one = reference
    out = tmp_path / "two"
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out), "--procs", "2", "--chunk", "2", *COMMON]) == 0
    # --quiet drops progress lines, not the summary a single process prints too (it did).
    last = capsys.readouterr().out.strip().splitlines()[-1]
    # With the time and stage seconds a single process gives (before: neither).
    assert last.startswith("done: 6 frame(s) written, 0 already done, in 0:") and "with 2 render processes" in last, (
        last
    )
    assert "(process-seconds: sample " in last and " render " in last, last
    assert_same_dataset(one, out)
    assert_same_warnings(one, out)
    assert_manifest_keys_of_one_run(one, out, ["manifest.w000.json", "manifest.w001.json"])
    assert not (out / "audit" / "tmp").exists()  # every process removed its temporary folder
    # Two render processes ran (each logs its device); frames went to whichever asked first.
    started = sorted(p.name for p in (out / "audit").glob("environment.w*.json"))
    assert started == ["environment.w000.json", "environment.w001.json"]
    logs = sorted(p.name for p in (out / "audit").glob("frames*.jsonl"))
    assert logs and set(logs) <= {"frames.w000.jsonl", "frames.w001.jsonl"}
    # Resume across modes: everything is done, a rerun renders nothing and writes nothing
    # (not even a lock or the manifest: the dataset may be on read-only storage).
    before = _snapshot(out)
    assert main(["render", str(param), "--out", str(out), "--procs", "2", "--resume", *COMMON]) == 0
    assert _snapshot(out) == before
    assert_same_dataset(one, out)
    # `merge` of a whole run (no shards to join) keeps the run's manifest (before: replaced
    # by a merge's, losing the mode, the retried frames, the run's seconds).
    manifest = (out / "audit" / "manifest.json").read_text()
    assert main(["merge", str(param), "--out", str(out)]) == 0
    assert (out / "audit" / "manifest.json").read_text() == manifest
    assert_same_dataset(one, out)


def test_no_more_render_processes_start_than_there_are_chunks_of_frames(reference, tmp_path, capsys):
    """--procs 4 for 6 frames in chunks of 3 started 4 render processes, each loading Blender
    and building the scene, of which 2 got no frame ("with 4 render processes"); now only
    as many start as there are chunks, taken in turn from each GPU of --gpus, and as many
    Ray actors."""
    param, one = reference
    out = tmp_path / "fewer"
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out), "--procs", "4", "--chunk", "3", *COMMON]) == 0
    assert " with 2 render processes -> " in capsys.readouterr().out
    assert sorted(p.name for p in (out / "audit").glob("environment.w*.json")) == [
        "environment.w000.json",
        "environment.w001.json",
    ]
    assert json.loads((out / "audit" / "manifest.json").read_text())["gpus"] == [None, None]
    assert_same_dataset(one, out)
    # A parent killed after the last frame leaves no manifest.json: --resume starts no process
    # (it said 'done: 0 frame(s) written, 6 already done, in 0:00 with 4 render processes').
    (out / "audit" / "manifest.json").unlink()
    assert main(["render", str(param), "--out", str(out), "--procs", "4", "--resume", *COMMON]) == 0
    said = capsys.readouterr().out
    assert "done: 0 frame(s) written, 6 already done, in " in said and "render process" not in said, said
    assert not list((out / "audit").glob("environment.w002.json"))
    assert parallel.spread([0, 0, 0, 1, 1, 1], 3) == [0, 1, 0]  # --gpus 2 --procs-per-gpu 3, 3 chunks
    assert parallel.spread([0, 0, 1, 1], 9) == [0, 0, 1, 1]
    code, summary = ray_backend._drive(StandInRay(4), ray_args(tmp_path, 4), list(range(3)), tmp_path / "ray", 1)
    assert code == 0 and summary["actors"] == 2  # chunks of 2: [0, 1], [2]


def test_a_killed_render_process_has_its_chunk_retried(reference, tmp_path, monkeypatch, capsys):
    """SIGKILL of a render process right after the first frame of its chunk is logged: its
    other frames go to a replacement, and the dataset is still the single-process one."""
    param, one = reference
    out = tmp_path / "killed"
    killed = []
    real_run = parallel.ParallelRun.run

    def run_and_kill(self):
        def killer():
            log = out / "audit" / "frames.w000.jsonl"
            while not killed:
                if log.is_file() and log.read_text().count("\n") >= 1:
                    slot = self.slots[0]
                    os.kill(slot.proc.pid, signal.SIGKILL)
                    killed.append(slot.proc.pid)
                time.sleep(0.01)

        threading.Thread(target=killer, daemon=True).start()
        code = real_run(self)
        run_and_kill.retried = list(self.retried_frames)
        return code

    monkeypatch.setattr(parallel.ParallelRun, "run", run_and_kill)
    args = ["render", str(param), "--out", str(out), "--procs", "1", "--chunk", str(FRAMES), *COMMON]
    capsys.readouterr()
    assert main(args) == 0
    assert " with 1 render process -> " in capsys.readouterr().out  # (was "1 render processes")
    assert killed and run_and_kill.retried  # it died holding frames, and they were retried
    assert_same_dataset(one, out)
    assert not list(out.rglob(".*.tmp"))  # a half-written file of the killed process is gone
    assert not (out / "audit" / "tmp").exists()  # with the killed process's temporary folder


def test_three_shards_and_merge_make_the_single_process_dataset(reference, tmp_path):
    from sdg_addon.writers.paths import safe_name

    param, one = reference
    out = tmp_path / "shards"
    for i in (2, 0, 1):
        assert main(["render", str(param), "--out", str(out), "--shard", f"{i}/3", *COMMON]) == 0
    # What a shard killed mid-write leaves: its temporary folder with a temporary file.
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = out / "audit" / "tmp" / f"{safe_name(socket.gethostname())}-{int(ended.stdout)}"
    killed.mkdir(parents=True)
    (killed / ".rgb_0001.png.1-1.tmp").write_bytes(b"torn")
    assert main(["merge", str(param), "--out", str(out)]) == 0
    assert_same_dataset(one, out)
    assert not (out / "audit" / "tmp").exists()  # merge, after every shard, removed it
    shards = [f"manifest.shard00{i}of003.json" for i in range(3)]
    merged = assert_manifest_keys_of_one_run(one, out, shards)
    assert merged["frames_written_this_run"] == list(range(FRAMES)) and merged["frames_requested"] == [0, FRAMES]


def test_invalid_process_options_are_refused_before_writing(reference, tmp_path, capsys):
    param, _one = reference
    for extra, text in (
        (["--procs", "0"], "--procs 0: expected 1 .. 64"),
        # Before: no upper bound; 99999999999 a MemoryError traceback.
        (["--procs", "65"], "--procs 65: expected 1 .. 64"),
        (["--procs", "99999999999"], "--procs 99999999999: expected 1 .. 64"),
        (["--gpus", "0", "--procs-per-gpu", "65"], "--procs-per-gpu '65': expected auto or a whole number 1 .. 64"),
        (["--gpus", "0,0"], "GPU 0 named twice"),
        (["--procs", "2", "--shard", "0/2"], "pick one"),
        # Before: ignored without a word (2 actors), a traceback after writing (-1), --gpus/--procs ignored.
        (["--ray-workers", "3"], "--ray-workers 3: Ray actors of --ray, which is not given"),
        (["--ray", "--ray-workers", "0"], "--ray-workers 0: expected >= 1"),
        (["--ray", "--ray-workers", "-1"], "--ray-workers -1: expected >= 1"),
        (["--ray", "--procs", "2"], "--ray and --gpus/--procs are separate ways to split a run; pick one"),
        (["--ray", "--gpus", "all"], "--ray and --gpus/--procs are separate ways to split a run; pick one"),
    ):
        out = tmp_path / "bad"
        assert main(["render", str(param), "--out", str(out), *extra, *COMMON]) == 2
        assert text in capsys.readouterr().err
        assert not out.exists()


@pytest.mark.parametrize("extra", [["--procs-per-gpu", "2"], ["--procs", "2", "--procs-per-gpu", "3"]])
def test_procs_per_gpu_without_gpus_is_refused(tmp_path, capsys, extra):
    """--procs-per-gpu counts processes per GPU of --gpus: without --gpus it was ignored
    without a word (one process, or --procs N, ran)."""
    param = tiny(tmp_path)
    out = tmp_path / "bad"
    assert main(["render", str(param), "--out", str(out), *extra, *COMMON]) == 2
    err = capsys.readouterr().err
    assert f"--procs-per-gpu {extra[-1]}" in err and "--gpus" in err and "Traceback" not in err, err
    assert not out.exists()


def test_chunk_without_several_processes_is_refused(tmp_path, capsys):
    """--chunk hands frames to the render processes of --gpus / --procs / --ray: without
    them it was ignored without a word (as --procs-per-gpu and --ray-workers are refused)."""
    param = tiny(tmp_path)
    out = tmp_path / "bad"
    assert main(["render", str(param), "--out", str(out), "--chunk", "4", *COMMON]) == 2
    err = capsys.readouterr().err
    assert "--chunk 4: frames handed to each render process of --gpus, --procs or --ray" in err, err
    assert not out.exists()


def test_gpus_naming_gpus_that_are_not_here_is_refused(tmp_path, capfd):
    """--gpus 0,1 on a machine without those GPUs: exit 2, nothing written (before: `--gpus 1`
    said "no GPU found" but `--gpus 0,1` ran, every process on the CPU without a word, as
    `render.device = "auto"` falls back to it)."""
    from sdg_addon.capture.device import AUTO_ORDER, gpu_devices

    if parallel.visible_gpus() or any(gpu_devices(b) for b in AUTO_ORDER):
        pytest.skip("this machine has a GPU")
    param = tiny(tmp_path)
    param.write_text(param.read_text().replace('device = "cpu"', 'device = "auto"', 1))
    out = tmp_path / "bad"
    assert main(["render", str(param), "--out", str(out), "--gpus", "0,1", "--procs-per-gpu", "1", *COMMON]) == 2
    err = capfd.readouterr().err
    assert "--gpus" in err and "GPU 0" in err and "--procs N" in err and "Traceback" not in err, err
    assert not out.exists()


def test_gpus_with_the_cpu_device_are_refused(reference, tmp_path, capsys, monkeypatch):
    """--gpus 0,1 with render.device = "cpu" (or --device cpu) started two processes "pinned"
    to GPUs that rendered on the CPU, exit 0, not a word. Now: exit 2, why and what to use,
    nothing written."""
    param, _one = reference  # render.device = "cpu"
    monkeypatch.setattr(parallel, "visible_gpus", lambda: [0, 1])  # GPUs there or not: the CPU is asked for
    for extra in (["--gpus", "0,1"], ["--gpus", "all", "--device", "cpu"]):
        out = tmp_path / "bad"
        assert main(["render", str(param), "--out", str(out), *extra, *COMMON]) == 2
        err = capsys.readouterr().err
        assert "pins each render process to a GPU, but the render device is cpu" in err and "--procs N" in err, err
        assert not out.exists()


def test_gpu_lists_parse():
    assert parallel.parse_gpus("all", [0, 1, 2]) == [0, 1, 2]
    assert parallel.parse_gpus("2", [0, 1, 2]) == [0, 1]
    assert parallel.parse_gpus("1,3", [0, 1, 2, 3]) == [1, 3]
    assert parallel.parse_gpus("1,3", []) == [1, 3]  # nvidia-smi lists none (an AMD GPU): the processes check
    with pytest.raises(parallel.ParallelError, match="no GPU 3 here"):
        parallel.parse_gpus("1,3", [0, 1, 2])  # named, but nvidia-smi does not list it
    with pytest.raises(parallel.ParallelError):
        parallel.parse_gpus("4", [0, 1, 2])  # one past the GPUs there are
    with pytest.raises(parallel.ParallelError):
        parallel.parse_gpus("all", [])
    # "0" is a count; whoever meant GPU 0 is told how to name it.
    with pytest.raises(parallel.ParallelError, match="the GPU of index 0 alone is --gpus 0,"):
        parallel.parse_gpus("0", [0, 1])
    assert parallel.parse_gpus("0,", [0, 1]) == [0]
    # A negative index was told 'expected distinct indices', as a GPU named twice was.
    with pytest.raises(parallel.ParallelError, match="a GPU index is 0 or more"):
        parallel.parse_gpus("-1", [0, 1])
    with pytest.raises(parallel.ParallelError, match="GPU 0 named twice; each GPU once"):
        parallel.parse_gpus("0,0", [0, 1])


needs_ray = pytest.mark.skipif(
    not ray_backend.ray_installed(), reason="ray is not installed (optional extra: requirements-ray.txt)"
)


@needs_ray
def test_ray_local_two_workers_make_the_single_process_dataset(reference, tmp_path, capsys):
    param, one = reference
    out = tmp_path / "ray"
    capsys.readouterr()
    assert main(["render", str(param), "--out", str(out), "--ray", "--ray-workers", "2", "--chunk", "2", *COMMON]) == 0
    assert_same_dataset(one, out)
    assert_same_warnings(one, out)
    # The render processes' stderr goes to Ray's log files: the driver says each warning, once.
    assert capsys.readouterr().err.count("WARNING: kitti: objects labelled class:crate lean more than") == 1


@needs_ray
def test_a_killed_render_process_of_a_ray_actor_has_only_its_unlogged_frames_retried(reference, tmp_path):
    """SIGKILL of the one actor's render process right after it logged a frame of its chunk:
    the frames it logged stay done (its log says so), the others go to a new actor; the
    dataset is still the single-process one. (Before: the whole chunk was rendered again.)"""
    if not Path("/proc/self/cmdline").is_file():
        pytest.skip("finds the render process through /proc")
    param, one = reference
    out = tmp_path / "raykilled"
    log = out / "audit" / "frames.r000.jsonl"

    def kill_when_a_frame_is_logged():
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not (log.is_file() and log.read_text().count("\n") >= 1):
            time.sleep(0.01)
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                args = cmdline.read_bytes().split(b"\0")
                if b"headless.worker" in args and str(out.resolve()).encode() in args and b".r000" in args:
                    os.kill(int(cmdline.parent.name), signal.SIGKILL)
                    return

    killer = threading.Thread(target=kill_when_a_frame_is_logged, daemon=True)
    killer.start()
    cmd = ["render", str(param), "--out", str(out), "--ray", "--ray-workers", "1", "--chunk", str(FRAMES), *COMMON]
    assert main(cmd) == 0
    killer.join()
    logged_by_killed = {json.loads(x)["frame"] for x in log.read_text().splitlines()}
    retried = json.loads((out / "audit" / "manifest.json").read_text())["retried_frames"]
    assert retried and logged_by_killed and sorted(set(range(FRAMES)) - logged_by_killed) == sorted(retried)
    assert_same_dataset(one, out)
    assert not (out / "audit" / "tmp").exists()


@needs_ray
def test_a_ray_cluster_that_cannot_be_reached_is_refused_before_writing(reference, tmp_path, monkeypatch, capsys):
    """Joining the cluster comes before the folder is made: a wrong address is one error
    line and exit 2, nothing written (before: a Ray traceback, the folder made and marked)."""
    import ray

    def unreachable(address=None, **kwargs):
        raise ConnectionError(f"Failed to connect to Ray cluster at {address}")

    monkeypatch.setattr(ray, "init", unreachable)
    param, _one = reference
    out = tmp_path / "nocluster"
    assert main(["render", str(param), "--out", str(out), "--ray", "head:6379", *COMMON]) == 2
    err = capsys.readouterr().err
    assert "error: --ray: cannot start or reach the Ray cluster at head:6379: Failed to connect" in err
    assert "Traceback" not in err and not out.exists()


def test_an_address_ray_refuses_is_one_sentence_saying_what_ray_takes(reference, tmp_path, monkeypatch, capsys):
    """--ray http://head:8265 (the dashboard's address): the error line was the first line of
    Ray's text, "... It looks like you set RAY_ADDRESS to an HTTP address (...). To fix this,
    either:", about a variable the user did not set, cut off. Now: Ray's first sentence and
    what --ray takes; exit 2, nothing written. (No Ray needed: Ray's refusal stood in.)"""
    from types import SimpleNamespace

    def refuse(address=None, **kwargs):
        raise ValueError(
            f"Invalid Ray address: '{address}'. It looks like you set RAY_ADDRESS to an HTTP address (e.g. "
            "the API server address). To fix this, either:\n  - unset RAY_ADDRESS\n  - or set it to ..."
        )

    fake = SimpleNamespace(is_initialized=lambda: False, init=refuse)
    monkeypatch.setattr(ray_backend, "import_ray", lambda: fake)
    param, _one = reference
    out = tmp_path / "badaddress"
    assert main(["render", str(param), "--out", str(out), "--ray", "http://head:8265", *COMMON]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: --ray http://head:8265: not an address Ray takes (Invalid Ray address: 'http://head:8265'); "
        "expected HOST:PORT (the port of `ray start --head`) or ray://HOST:PORT (Ray Client)\n"
    )
    assert not out.exists()


def test_a_cluster_refusing_the_driver_hints_at_rays_token_authentication(reference, tmp_path, monkeypatch, capsys):
    """Ray 2.60 sends its token to an address given only when RAY_AUTH_MODE=token; `ray start
    --head` turns token authentication on where ~/.ray/auth_token exists (a local --ray run
    makes it), so `--ray HOST:PORT` to a running cluster said only "Failed to connect to Ray
    cluster at ...". Now the line says what to set; not where RAY_AUTH_MODE is set already, nor
    for Ray Client or a local Ray. (No Ray needed: Ray's refusal stood in.)"""
    from types import SimpleNamespace

    def refuse(address=None, **kwargs):
        raise ConnectionError(f"Failed to connect to Ray cluster at {address}")

    monkeypatch.setattr(ray_backend, "import_ray", lambda: SimpleNamespace(is_initialized=lambda: False, init=refuse))
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    param, _one = reference
    out = tmp_path / "refused"
    for address, env, hinted in (
        ("head:6379", None, True),
        ("head:6379", "token", False),
        ("ray://head:10001", None, False),
    ):
        if env:
            monkeypatch.setenv("RAY_AUTH_MODE", env)
        assert main(["render", str(param), "--out", str(out), "--ray", address, *COMMON]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: --ray: cannot start or reach the Ray cluster at {address}: Failed to connect")
        assert ("set RAY_AUTH_MODE=token here" in err) == hinted, err
        assert err.count("\n") == 1 and not out.exists()
    # No address: Ray joins the cluster of an earlier `ray start --head` here, ended or not
    # (before: "cannot start or reach a local Ray: Failed to connect to Ray cluster at ...").
    assert main(["render", str(param), "--out", str(out), "--ray", *COMMON]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --ray: cannot start or reach a local Ray: Failed to connect to Ray cluster at None")
    assert "`ray stop` clears the record (then --ray starts a Ray of its own)" in err and not out.exists()


def test_chunks_keep_clips_whole():
    assert parallel.chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    # Clips of 4 frames: a chunk of "3" still holds a whole clip.
    assert parallel.chunks(list(range(12)), 3, clip=4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert parallel.chunks([], 3) == []


def test_ray_without_ray_installed_says_how_to_get_it(reference, tmp_path, capsys):
    if ray_backend.ray_installed():
        pytest.skip("ray is installed here")
    param, _one = reference
    out = tmp_path / "noray"
    assert main(["render", str(param), "--out", str(out), "--ray", *COMMON]) == 2
    assert "requirements-ray.txt" in capsys.readouterr().err
    assert not out.exists()


def test_auto_processes_per_gpu_follow_the_measurements():
    # docs/benchmarks.md, an H200 with 16 cores: 6 up to 4 spp, 2 above (the limit and one
    # step past it); never more than one per two cores.
    auto = parallel.auto_procs_per_gpu
    assert auto(1, 16) == auto(4, 16) == 6
    assert auto(5, 16) == auto(16, 16) == auto(64, 16) == 2
    assert auto(1, 12) == 6 and auto(1, 11) == 5 and auto(1, 3) == 1 and auto(64, 2) == 1 and auto(1, 0) == 1


def test_ctrl_c_stops_every_process_and_resume_finishes_the_same_dataset(reference, tmp_path):
    """SIGINT to the parent of two render processes: it forwards one to each, they finish
    the frames in flight, the command exits 130 and leaves no process behind; --resume then
    renders only what is missing and the dataset equals the single-process one."""
    import subprocess
    import sys

    param, one = reference
    out = tmp_path / "ctrl_c"
    cmd = [sys.executable, "-m", "headless", "render", str(param), "--out", str(out), "--procs", "2"]
    cmd += ["--chunk", "1", *COMMON]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        logs = list((out / "audit").glob("frames.w*.jsonl")) if (out / "audit").is_dir() else []
        if any(log.read_text().strip() for log in logs):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=300)
    if proc.returncode == 0:
        pytest.skip("the run finished before Ctrl-C arrived (a very fast machine)")
    assert proc.returncode == 130, err[-2000:]
    assert "--resume" in err
    logged = {json.loads(x)["frame"] for p in (out / "audit").glob("frames.w*.jsonl") for x in p.read_text().split()}
    assert 1 <= len(logged) < FRAMES
    assert main(["render", str(param), "--out", str(out), "--procs", "2", "--resume", *COMMON]) == 0
    assert_same_dataset(one, out)
    # The run's manifest lists frames as one process's does (before: a count of the skipped
    # ones, and no frames_written_this_run).
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert manifest["frames_skipped_as_done"] == sorted(logged)
    assert manifest["frames_written_this_run"] == sorted(set(range(FRAMES)) - logged)


def test_frames_split_into_sub_folders_and_our_readers_follow(reference, tmp_path):
    """BasicWriter frames_per_folder = 4: frames 0-3 in frames_0000000/, 4-5 in
    frames_0000004/, each file the one a flat run writes; preview, contact sheet and the
    Dataset reader find every frame (one limit: 0 is off, -1 is refused by validation)."""
    from sdg_addon import visualize
    from sdg_addon.dataset import BasicWriterDataset

    param, one = reference
    split = tmp_path / "split.toml"
    split.write_text(param.read_text().replace("basic = {}", "basic = { frames_per_folder = 4 }"))
    out = tmp_path / "split"
    assert main(["render", str(split), "--out", str(out), "--procs", "2", "--chunk", "2", *COMMON]) == 0
    flat = [f for f in dataset_files(one) if "/" not in f]
    for name in flat:
        frame = int(name.rsplit("_", 1)[1].split(".")[0])
        moved = out / f"frames_{frame // 4 * 4:07d}" / name
        assert moved.read_bytes() == (one / name).read_bytes(), name
    assert not [p for p in out.iterdir() if p.is_file()]  # nothing left at the top level
    assert visualize.frames(out) == list(range(FRAMES))
    assert visualize.frame_files(out, 5)[0].folder == out / "frames_0000004"
    visualize.contact_sheet(out, n=FRAMES)
    data = BasicWriterDataset(out)
    assert [(s[1], s[2]) for s in data.samples] == [("", f) for f in range(FRAMES)]
    assert data[5]["image"].shape[:2] == (48, 64)
    from sdg_addon.config import ConfigError, load_config

    bad = tmp_path / "bad.toml"
    bad.write_text(param.read_text().replace("basic = {}", "basic = { frames_per_folder = -1 }"))
    with pytest.raises(ConfigError, match="frames_per_folder"):
        load_config(bad)


def test_bench_procs_take_auto_only_with_gpus():
    """`headless.bench --procs 1,auto --gpus 1` measures what --procs-per-gpu auto picks;
    without --gpus, or with a value that is not a positive count, it stops with a message."""
    from types import SimpleNamespace

    from headless.bench import procs_list

    assert procs_list(SimpleNamespace(procs="1,2,Auto", gpus="1")) == [1, 2, "auto"]
    for bad in (SimpleNamespace(procs="auto", gpus=None), SimpleNamespace(procs="0", gpus="1")):
        with pytest.raises(SystemExit, match="positive integers, or auto with --gpus"):
            procs_list(bad)


def test_render_processes_get_one_blas_thread_their_gpu_and_this_checkout(monkeypatch):
    """The one environment of a render process (local slots and Ray actors alike)."""
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # the user's choice is kept
    env = parallel.render_process_env(3)
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "4"
    assert env["CUDA_VISIBLE_DEVICES"] == env["HIP_VISIBLE_DEVICES"] == "3"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(parallel.ROOT)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert "CUDA_VISIBLE_DEVICES" not in parallel.render_process_env()  # unpinned (Ray pins its actors)


def _snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


def test_a_parallel_run_keeps_other_runs_out_and_lets_its_processes_in(reference, tmp_path, capsys):
    """While the parent holds the folder's lock (the whole run), another run into the same
    folder stops with exit 2 and writes nothing; the parent's own render processes, each
    with its own lock beside it, are let in (the run completes)."""
    import socket
    import subprocess
    import sys

    param, one = reference
    out = tmp_path / "held"
    assert main(["render", str(param), "--out", str(out), "--frames", "0:3", *COMMON]) == 0
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lock = {"pid": holder.pid, "host": socket.gethostname(), "started": "now"}
        (out / ".sdg.lock").write_text(json.dumps(lock))
        before = _snapshot(out)
        capsys.readouterr()
        for flag in ("--resume", "--overwrite"):
            assert main(["render", str(param), "--out", str(out), "--procs", "2", flag, *COMMON]) == 2
            assert "another run is writing" in capsys.readouterr().err
            assert _snapshot(out) == before
    finally:
        holder.kill()
        holder.wait()
    # The holder is gone: its lock is stale, and the run goes ahead with its processes.
    assert main(["render", str(param), "--out", str(out), "--procs", "2", "--chunk", "2", "--resume", *COMMON]) == 0
    assert_same_dataset(one, out)
    assert not (out / ".sdg.lock").exists()


def test_a_run_that_ends_before_a_parallel_run_takes_the_lock_is_not_redone(reference, tmp_path, monkeypatch, capsys):
    """The parent's first look finds the folder empty; run A (another process) then renders
    every frame and ends before the parent takes the lock. The look under the lock sees A's
    frames: exit 2, nothing rewritten, no frame logged twice."""
    import subprocess
    import sys

    from sdg_addon.recorder import Recorder

    param, _one = reference
    out = tmp_path / "raced"
    after_a = {}
    real_check = Recorder.check_previous

    def check_then_another_run_ends(self):
        done = real_check(self)
        if not after_a:
            cmd = [sys.executable, "-m", "headless", "render", str(param), "--out", str(out), *COMMON]
            ran = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert ran.returncode == 0, ran.stderr
            after_a.update(_snapshot(out))
        return done

    monkeypatch.setattr(Recorder, "check_previous", check_then_another_run_ends)
    assert main(["render", str(param), "--out", str(out), "--procs", "2", *COMMON]) == 2
    assert f"already holds {FRAMES} finished frame(s)" in capsys.readouterr().err
    assert _snapshot(out) == after_a
    logged = [json.loads(x)["frame"] for f in (out / "audit").glob("frames*.jsonl") for x in f.read_text().splitlines()]
    assert sorted(logged) == list(range(FRAMES))


def test_sigterm_to_a_parallel_run_ends_it_as_ctrl_c_and_releases_the_lock(reference, tmp_path):
    """SIGTERM to the parent: its render processes finish their frames in flight, the run
    writes its manifest and releases the folder's lock (held for the whole run), exit 143;
    --resume then completes the single-process dataset."""
    import subprocess
    import sys

    param, one = reference
    out = tmp_path / "term"
    slow = tmp_path / "slow.toml"  # enough frames that the run is still going when signalled
    slow.write_text(param.read_text().replace(f"frames = {FRAMES}", "frames = 400"))
    cmd = [sys.executable, "-m", "headless", "render", str(slow), "--out", str(out), "--procs", "2"]
    proc = subprocess.Popen([*cmd, "--chunk", "2", *COMMON], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not list((out / "audit").glob("frames.w*.jsonl")):
        time.sleep(0.05)
    assert (out / ".sdg.lock").exists()
    proc.send_signal(signal.SIGTERM)
    _o, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "SIGTERM" in err
    assert not list(out.glob(".sdg*.lock"))
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert manifest["interrupted"] is True
    # Continue (the 6-frame file over the same folder would be a different run: the same
    # 400-frame file, only its first frames).
    assert (
        main(["render", str(slow), "--out", str(out), "--procs", "2", "--resume", "--frames", f"0:{FRAMES}", *COMMON])
        == 0
    )
    logged = {json.loads(x)["frame"] for f in (out / "audit").glob("frames*.jsonl") for x in f.read_text().splitlines()}
    assert set(range(FRAMES)) <= logged


def test_sigterm_to_a_ray_run_ends_it_as_ctrl_c(reference, tmp_path):
    """The Ray driver too: SIGTERM stops the actors after their frames in flight, exit 143,
    the folder's lock released; --resume completes."""
    import subprocess
    import sys

    if not ray_backend.ray_installed():
        pytest.skip("ray is not installed (optional extra: requirements-ray.txt)")
    param, _one = reference
    out = tmp_path / "rayterm"
    slow = tmp_path / "slow.toml"
    slow.write_text(param.read_text().replace(f"frames = {FRAMES}", "frames = 400"))
    cmd = [sys.executable, "-m", "headless", "render", str(slow), "--out", str(out), "--ray", "--ray-workers", "2"]
    proc = subprocess.Popen([*cmd, "--chunk", "2", *COMMON], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None and not list((out / "audit").glob("frames.r*.jsonl")):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _o, err = proc.communicate(timeout=240)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "SIGTERM" in err and not list(out.glob(".sdg*.lock"))
    assert main(["render", str(slow), "--out", str(out), "--ray", "--resume", "--frames", f"0:{FRAMES}", *COMMON]) == 0


def test_the_ctrl_c_handler_leaves_the_buffered_streams_to_the_main_loop(tmp_path, capfd):
    """CI met it: a Ctrl-C landing while the parent flushed a frame list to a child's stdin
    closed that same stream from the handler ("reentrant call inside BufferedWriter"), and the
    run ended with a traceback instead of 130. The handler now only signals and writes its
    note with one raw write; the main loop closes the children's stdin."""
    from types import SimpleNamespace

    from headless.parallel import ParallelOptions, ParallelRun

    calls = []

    class Stdin:
        def __getattr__(self, name):
            calls.append(name)
            return lambda *a, **k: None

    run = ParallelRun(ParallelOptions(tmp_path / "p.toml", tmp_path / "out", [0, 1], [None]))
    run.slots[0].proc = SimpleNamespace(stdin=Stdin(), poll=lambda: 0)  # already exited: no signal sent
    run._on_sigint(2, None)
    assert run.cancelled and calls == []  # nothing touched a stream in the handler
    assert "finish their frames in flight" in capfd.readouterr().err
    run._close_inputs_once_cancelled()
    run._close_inputs_once_cancelled()
    assert calls == ["close"]  # once, by the main loop


@pytest.mark.parametrize("split", [["--procs", "2"], pytest.param(["--ray", "--ray-workers", "2"], marks=needs_ray)])
def test_a_scene_the_render_processes_refuse_ends_the_parallel_run_with_exit_2(reference, tmp_path, capfd, split):
    """What only the built scene can tell (a randomizer target matching nothing, a file the
    scene reads changed since the run being resumed...) is checked in each render process:
    each says it in one line and exits 2, the parent stops them all and exits 2 with nothing
    rendered (before: tracebacks, restarts of every process, exit 1). Under Ray the render
    processes' stderr goes to Ray's logs: the driver says why (before: a Ray traceback
    three times, exit 1, the reason nowhere on the terminal). Nothing of the run stays: the
    folder the parent made for it goes again (before: left holding audit/dataset.json)."""
    param, _one = reference
    bad = tmp_path / "bad.toml"
    bad.write_text(
        param.read_text() + '\n[[randomizers]]\ntype = "pose"\ntargets = "no_such_object_*"\nlocation = [0, 0, 1]\n'
    )
    out = tmp_path / "out"
    capfd.readouterr()
    assert main(["render", str(bad), "--out", str(out), *split, *COMMON]) == 2
    err = capfd.readouterr().err
    assert "no_such_object_*" in err and "Traceback" not in err, err
    if split[0] == "--procs":
        assert "the parameter file, its scene or the options are invalid" in err
    else:
        assert "error: a Ray render process refused the run: " in err and "failed" not in err
    assert not out.exists()


def test_a_missing_render_device_ends_the_parallel_run_with_exit_2(reference, tmp_path, capfd):
    """--device optix where Cycles finds none: each render process says it in one line and
    exits 2, as one process does (before: a traceback per process, every process restarted
    three times, exit 1, the folder left with audit/dataset.json)."""
    param, _one = reference
    out = tmp_path / "new" / "out"
    capfd.readouterr()
    assert main(["render", str(param), "--out", str(out), "--procs", "2", "--device", "optix", *COMMON]) == 2
    err = capfd.readouterr().err
    assert "found no OPTIX device" in err and "Traceback" not in err, err
    assert not (tmp_path / "new").exists()


class StandInRay:
    """Ray as the driver uses it, in this process: actors whose calls answer at once (a
    chunk: all its frames done), except those of actors the cluster has no slot for (their
    calls never answer). `interrupt_wait` / `interrupt_get`: Ctrl-C lands in ray.wait (once
    the actors started) / in ray.get of an actor's close."""

    class Future:
        def __init__(self, value=None, pending=False, kind=""):
            self.value, self.pending, self.kind = value, pending, kind

    def __init__(self, slots: int, interrupt_wait=False, interrupt_get=False):
        from types import SimpleNamespace

        self.slots, self.started, self.killed = slots, 0, []
        self.interrupt_wait, self.interrupt_get = interrupt_wait, interrupt_get
        self.exceptions = SimpleNamespace(RayError=RuntimeError, GetTimeoutError=TimeoutError)

    def cluster_resources(self):
        return {"CPU": float(self.slots)}

    def remote(self, **options):
        from types import SimpleNamespace

        F = self.Future

        def make(cls):
            def new(*args):
                pending = self.started >= self.slots  # no CPU left for it: Ray keeps it waiting
                self.started += 0 if pending else 1
                actor = SimpleNamespace(pending=pending)
                actor.ready = SimpleNamespace(remote=lambda: F(True, pending, "ready"))
                actor.render_chunk = SimpleNamespace(remote=lambda chunk: F({"done": chunk}, pending, "chunk"))
                actor.close = SimpleNamespace(remote=lambda interrupt: F({}, pending, "close"))
                return actor

            return SimpleNamespace(remote=new)

        return make

    def wait(self, futures, num_returns=1):
        answered = sorted((f for f in futures if not f.pending), key=lambda f: f.kind != "ready")  # starts first
        if self.interrupt_wait and not any(f.kind == "ready" for f in answered):
            raise KeyboardInterrupt
        assert answered, "the driver waits for calls that never answer (actors with no slot)"
        return answered[:num_returns], []

    def get(self, future, timeout=None):
        if self.interrupt_get and future.kind == "close":
            raise KeyboardInterrupt
        if future.pending:
            raise TimeoutError
        return future.value

    def kill(self, actor):
        self.killed.append(actor)


def ray_args(tmp_path, workers: int):
    from types import SimpleNamespace

    args = SimpleNamespace(ray_workers=workers, workers=1, file=tmp_path / "p.toml", device=None, worker_mode="inline")
    args.time_parts, args.quiet, args.verbose, args.chunk = False, True, False, 2
    return args


def test_a_second_ctrl_c_while_ray_actors_stop_ends_them_at_once(tmp_path, capsys):
    """Ctrl-C, then Ctrl-C again while the driver waited for the actors to finish their
    frames in flight: a KeyboardInterrupt traceback out of ray.get, the run ended by the
    signal (no exit 130, no manifest, the render processes' locks and temporary folders
    left). Now the second one ends the actors at once and the run ends as interrupted. No
    Ray needed: a stand-in whose wait and get are interrupted as Ray's are."""
    ray = StandInRay(2, interrupt_wait=True, interrupt_get=True)
    try:
        code, summary = ray_backend._drive(ray, ray_args(tmp_path, 2), list(range(6)), tmp_path / "out", 1)
    except KeyboardInterrupt:
        pytest.fail("the second Ctrl-C came out of the driver as a KeyboardInterrupt")
    assert code == 130 and summary["mode"] == "ray" and len(ray.killed) == 2
    err = capsys.readouterr().err
    assert "(Ctrl-C again to stop at once)" in err and "Ctrl-C again: ending the Ray actors now" in err


def test_more_ray_actors_than_the_cluster_has_slots_for_finish_the_run(tmp_path):
    """--ray-workers 3 on a cluster of 2 CPUs (or the default 2 actors on a 1-CPU cluster):
    the actor Ray kept waiting for a CPU was handed a chunk like the others, which then
    finished theirs and sat idle holding both CPUs: the run waited forever. Now chunks go only
    to actors Ray has started; the one still waiting at the end is ended, not waited for."""
    ray = StandInRay(2)
    code, summary = ray_backend._drive(ray, ray_args(tmp_path, 3), list(range(6)), tmp_path / "out", 1)
    assert code == 0 and summary["actors"] == 3 and summary["retried_frames"] == []
    assert [a.pending for a in ray.killed] == [True]  # the waiting one; the others stopped


def test_ray_actors_that_do_not_stop_in_time_are_said(monkeypatch):
    """The driver waits CLOSE_TIMEOUT_S for each actor to stop; one still busy was passed
    over in silence (its late frames missing from the merged outputs without a word). Now a
    warning says so and what to do; a dead actor is nothing to wait for. No Ray needed: a
    stand-in with Ray's get(timeout) behaviour."""
    from types import SimpleNamespace

    class GetTimeoutError(Exception):
        pass

    class ActorDied(Exception):
        pass

    answers = {"stops": {"done": [1]}, "busy": GetTimeoutError(), "dead": ActorDied()}

    def get(future, timeout=None):
        assert timeout == ray_backend.CLOSE_TIMEOUT_S
        if isinstance(answers[future], Exception):
            raise answers[future]
        return answers[future]

    fake_ray = SimpleNamespace(get=get, exceptions=SimpleNamespace(GetTimeoutError=GetTimeoutError))
    actors = [SimpleNamespace(close=SimpleNamespace(remote=lambda interrupt, k=k: k)) for k in answers]
    results = ray_backend._close(fake_ray, actors)
    assert results[0] == {"done": [1]} and len(results) == 2
    (said,) = results[1]["warnings"]
    assert said.startswith("1 Ray render actor(s) had not stopped 120 s") and "--resume" in said
    answers["busy"] = {}
    assert ray_backend._close(fake_ray, actors) == [{"done": [1]}, {}]  # all stopped: nothing said


def test_resume_with_procs_takes_the_device_option(tmp_path):
    """`render --device D --procs N --resume` continues a run made with `--device D` (one
    process or several): the parent compares the earlier run's parameters with the device
    given, as a single process does (before: 'the parameters differ', exit 2)."""
    param = tiny(tmp_path)
    param.write_text(param.read_text().replace('device = "cpu"', 'device = "auto"'))
    out = tmp_path / "out"
    args = ["render", str(param), "--out", str(out), "--device", "cpu", *COMMON]
    assert main([*args, "--frames", "0:2"]) == 0
    assert main([*args, "--procs", "2", "--resume"]) == 0
    assert len(list(out.glob("rgb_*.png"))) == FRAMES


def test_a_render_process_dying_is_a_warning_on_stderr(tmp_path, capsys):
    """ "WARNING: process 0 exited with code -9 ..." went to stdout with the progress lines
    (every other warning of a run is on stderr): it is on stderr now, also with --quiet."""
    options = parallel.ParallelOptions(tmp_path / "p.toml", tmp_path / "out", [0, 1], [None], quiet=True)
    run = parallel.ParallelRun(options)
    slot = run.slots[0]
    slot.assigned, slot.restarts = [0, 1], parallel.MAX_RESTARTS_PER_SLOT  # no replacement started
    run._exited(slot, -9)
    captured = capsys.readouterr()
    assert captured.out == "" and "WARNING: process 0 exited with code -9" in captured.err, captured


def test_a_failed_parallel_run_writes_a_manifest_saying_so(reference, tmp_path, monkeypatch, capsys):
    """A parallel run that failed (a frame whose process died 3 times) exited 1 with no
    audit/manifest.json, or an earlier run's left as it was; a single process's failure
    writes one saying `failed`: so does the parallel run now."""
    param, _one = reference
    out = tmp_path / "failed"

    def fail(self):
        raise parallel.ParallelError("frames [0, 1] failed 3 times (last: process 0 exited with -9)")

    monkeypatch.setattr(parallel.ParallelRun, "run", fail)
    assert main(["render", str(param), "--out", str(out), "--procs", "2", *COMMON]) == 1
    assert "failed 3 times" in capsys.readouterr().err
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert manifest["failed"].startswith("ParallelError: frames [0, 1] failed 3 times"), manifest
    assert manifest["frames_written_this_run"] == [] and manifest["frames_finished_total"] == 0
    assert manifest["frames_requested"] == [0, FRAMES] and manifest["mode"] == "processes"


def test_a_render_process_dying_mid_clip_leaves_its_clip_logged_once(tmp_path, capsys):
    """A render process that dies in the middle of a clip: the clip goes whole to another
    process, which logs its frames again; the dead process's records of it stayed in its
    log, so audit/frames*.jsonl held them twice. They are forgotten when the clip is handed on."""
    audit_dir = tmp_path / "out" / "audit"
    audit_dir.mkdir(parents=True)
    (audit_dir / "frames.w000.jsonl").write_text("".join(f'{{"frame": {f}}}\n' for f in (0, 1, 2, 3)))
    (audit_dir / "frames.w001.jsonl").write_text("".join(f'{{"frame": {f}}}\n' for f in (8, 9, 10, 11, 4, 5)))
    options = parallel.ParallelOptions(tmp_path / "p.toml", tmp_path / "out", list(range(12)), [None, None], clip=4)
    options.quiet = True
    run = parallel.ParallelRun(options)
    slot = run.slots[1]
    run.todo.clear()  # the rest was handed out
    run.done.update({0, 1, 2, 3, 8, 9, 10, 11, 4, 5})
    slot.assigned, slot.restarts = [4, 5, 6, 7], parallel.MAX_RESTARTS_PER_SLOT  # no replacement started
    run._exited(slot, -9)
    assert list(run.todo) == [[4, 5, 6, 7]]
    logged = [json.loads(x)["frame"] for x in (audit_dir / "frames.w001.jsonl").read_text().splitlines()]
    assert logged == [8, 9, 10, 11]
    assert len((audit_dir / "frames.w000.jsonl").read_text().splitlines()) == 4
    capsys.readouterr()


def test_the_parallel_progress_rate_counts_from_the_first_render_process_ready(tmp_path, monkeypatch):
    """The parent's rate and ETA counted from its own start, so the render processes' start
    (Blender loading, the scene built: seconds) made the first lines' ETA many times too
    long (40 frames done in 2 s said ETA 2:06); as a single process's, the rate counts from
    the first process ready for frames."""
    now = [100.0]
    monkeypatch.setattr(parallel.time, "monotonic", lambda: now[0])
    lines = []
    options = parallel.ParallelOptions(tmp_path / "p.toml", tmp_path / "out", list(range(10)), [None])
    run = parallel.ParallelRun(options, on_line=lines.append)
    run.started = now[0]
    now[0] += 8.0  # the process loads Blender and builds the scene
    run._ready()
    now[0] += 1.0
    run.done = {0, 1}
    run._progress(10)
    assert "2.00 frames/s" in lines[-1] and "ETA 0:04" in lines[-1], lines


def test_the_parallel_progress_line_of_one_process_left_is_singular(tmp_path):
    """The last progress line said '1 render processes' once one process was left."""
    lines = []
    options = parallel.ParallelOptions(tmp_path / "p.toml", tmp_path / "out", [0], [None, None])
    run = parallel.ParallelRun(options, on_line=lines.append)
    run.started, run.done = parallel.time.monotonic() - 1.0, {0}
    run.slots[0].finished = True
    run._progress(1, force=True)
    assert lines[-1].endswith("| 1 render process"), lines


def test_the_ray_progress_line_has_an_eta_counted_from_the_first_actor_started(tmp_path, monkeypatch, capsys):
    """The Ray driver's progress line had no ETA (one process's and --procs's have one), said
    "1 Ray actors", and its rate counted from the driver's start, a local Ray's own start
    (~17 s here) included. Now it is --procs's line: rate and ETA from the first actor Ray
    started, then the actors. No Ray needed: a stand-in whose actors take 8 s to start and
    1 s a chunk."""
    now = [100.0]
    monkeypatch.setattr(ray_backend.time, "monotonic", lambda: now[0])

    class SlowToStart(StandInRay):
        def get(self, future, timeout=None):
            now[0] += {"ready": 8.0, "chunk": 1.0}.get(future.kind, 0.0)
            return super().get(future, timeout)

    args = ray_args(tmp_path, 1)
    args.quiet = False
    code, _summary = ray_backend._drive(SlowToStart(1), args, list(range(6)), tmp_path / "out", 1)
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == "frames 2/6 (33%) | 2.00 frames/s | ETA 0:02 | 1 Ray actor", lines
    assert lines[-1] == "frames 6/6 (100%) | 2.00 frames/s | ETA 0:00 | 1 Ray actor", lines
    assert ray_backend.progress_line(2, 6, 1.0, 2, 1).endswith("| 2 Ray actors (1 more waiting for a slot)")


def test_a_parallel_run_ending_with_no_frame_done_prints_no_progress_line(tmp_path):
    """Render processes that refused the run (--gpus 0, on a machine Cycles finds no GPU
    on) left "frames 0/2 (0%) | 0.00 frames/s | ETA ? | 0 render processes" between the
    process's error and the run's: the last line is for frames done, as one process's."""
    lines = []
    options = parallel.ParallelOptions(tmp_path / "p.toml", tmp_path / "out", [0, 1], [None])
    run = parallel.ParallelRun(options, on_line=lines.append)
    run.started = parallel.time.monotonic() - 1.0
    run.slots[0].finished = True
    run._progress(2, force=True)
    assert lines == []
    run.done = {0}
    run._progress(2, force=True)
    assert len(lines) == 1 and lines[0].startswith("frames 1/2 (50%) | "), lines


class ActorDyingMidClip(StandInRay):
    """The actor handed the first chunk (a whole clip) logs the clip's first two frames in
    its own frame log (frames.rNNN.jsonl, as a Ray render process does), then dies."""

    def __init__(self, slots: int, audit_dir):
        super().__init__(slots)
        self.audit_dir, self.died = audit_dir, False

    def remote(self, **options):
        from types import SimpleNamespace

        make = super().remote(**options)

        def wrap(cls):
            maker = make(cls)

            def new(*args):
                actor, slot = maker.remote(*args), args[2]

                def render_chunk(chunk):
                    if self.died:
                        return self.Future({"done": chunk}, actor.pending, "chunk")
                    self.died = True
                    with open(self.audit_dir / f"frames.r{slot:03d}.jsonl", "a") as log:
                        log.writelines(json.dumps({"frame": f}) + "\n" for f in chunk[:2])
                    return self.Future({"done": chunk[:2], "exit": 1}, actor.pending, "chunk")

                actor.render_chunk = SimpleNamespace(remote=render_chunk)
                return actor

            return SimpleNamespace(remote=new)

        return wrap


def test_a_ray_actor_dying_mid_clip_leaves_the_clip_logged_once(tmp_path, capsys):
    """A Ray actor dying in the middle of a sequence clip: the clip goes whole to another
    actor, which logs it again, while the dead actor's records of its first frames stayed in
    its log (frames 0 and 1 twice in the dataset's logs), as a render process's did before
    e5490cb. Now they are dropped when the clip is handed on. Finished frames of a clip a
    resume renders again (`forget`) are dropped when the first chunk goes out, as with
    render processes. No Ray needed: a stand-in whose first actor dies."""
    audit_dir = tmp_path / "out" / "audit"
    audit_dir.mkdir(parents=True)
    (audit_dir / "frames.jsonl").write_text(json.dumps({"frame": 7}) + "\n" + json.dumps({"frame": 8}) + "\n")
    ray = ActorDyingMidClip(2, audit_dir)
    code, summary = ray_backend._drive(ray, ray_args(tmp_path, 2), list(range(9)), tmp_path / "out", 3, forget={7})
    assert code == 0 and summary["retried_frames"] == [0, 1, 2]
    assert "frames [0, 1, 2] go to another" in capsys.readouterr().err
    assert [p.read_text() for p in sorted(audit_dir.glob("frames.r*.jsonl"))] == [""]  # the dead actor's, emptied
    assert (audit_dir / "frames.jsonl").read_text() == json.dumps({"frame": 8}) + "\n"


def test_a_render_process_whose_parent_is_killed_stops_quietly_with_its_frames_logged(reference, tmp_path):
    """The parent of --procs killed (SIGKILL: its end of the pipe closed): a render process's
    next message raised BrokenPipeError, which the run took for 'cannot write to OUT: Broken
    pipe' and which raised again while saying so: three tracebacks on the user's terminal.
    It now stops after the frames in flight, logged for --resume, and says nothing."""
    param, _one = reference
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "headless.worker", str(param), "--out", str(out), "--tag", ".w000"]
    cmd += ["--slot", "0/1", "--workers", "1", "--worker-mode", "inline"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert json.loads(proc.stdout.readline()) == {"need": 1}
        proc.stdout.close()  # the parent is gone: nobody reads what the process says
        proc.stdin.write(b'{"frames": [0, 1]}\n')
        proc.stdin.flush()
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"Traceback" not in err and b"Broken pipe" not in err, err.decode()
    assert proc.returncode == 130
    logged = [json.loads(x)["frame"] for x in (out / "audit" / "frames.w000.jsonl").read_text().splitlines()]
    assert logged and logged == [0, 1][: len(logged)]  # what it rendered is done


@pytest.mark.parametrize("case", ["writer processes", "clip with flow"])
def test_a_ray_actors_chunk_ends_when_its_frames_are_written(tmp_path, case):
    """A Ray actor returns its chunk once every frame of it is logged and its render process
    asks for more. That process asked while frames were still in flight and waited for more
    frames before it logged them: with writer processes (the default on a GPU machine or
    more than 4 cores), or a clip's last frame held for a next frame (flow, motion vectors),
    every actor waited for its process and its process for it: the run never ended. The
    actor now has the frames in flight finished first."""
    text = (ROOT / "presets" / "examples" / "minimal.toml").read_text()
    text = text.replace("[320, 240]", "[32, 24]").replace("samples = 16", 'samples = 1\ndevice = "cpu"')
    mode, chunk = "processes", [0, 1]
    if case == "clip with flow":
        text = text.replace("[render]", "[sequence]\nclip_length = 2\n\n[render]") + "\n[annotators.backward_flow]\n"
        mode = "inline"
    param = tmp_path / "p.toml"
    param.write_text(text)
    actor = ray_backend.RenderActor(str(param), str(tmp_path / "out"), 0, "cpu", 1, mode, quiet=True)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(actor.render_chunk(chunk)), daemon=True)
    thread.start()
    thread.join(timeout=120)
    try:
        assert result and result[0]["done"] == chunk and "exit" not in result[0], result
        assert actor.close()["exit"] == 0
    finally:
        if actor.proc.poll() is None:
            actor.proc.kill()
