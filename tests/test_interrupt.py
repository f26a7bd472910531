"""Ctrl-C in the middle of a headless run: finished frames stay intact and logged, the
frame being rendered is not written, exit code 130, and --resume completes the dataset
with the same annotations as an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bpy")

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 10


def preset(tmp_path: Path) -> Path:
    text = (ROOT / "presets" / "default.toml").read_text()
    text = text.replace("resolution = [640, 480]", "resolution = [160, 120]").replace("samples = 32", "samples = 32")
    text = text.replace("frames = 8", f"frames = {FRAMES}").replace('device = "auto"', 'device = "cpu"')
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def render(param: Path, out: Path, *extra: str, mode: str = "inline") -> subprocess.Popen:
    cmd = [sys.executable, "-m", "headless", "render", str(param), "--out", str(out), "--worker-mode", mode, *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("mode", ["inline", "processes"])
def test_ctrl_c_keeps_finished_frames_and_resume_completes(tmp_path, mode):
    """In both worker modes (worker processes ignore Ctrl-C: the render process finishes
    the frames they hold, logs them and stops them)."""
    param = preset(tmp_path)
    out = tmp_path / "out"
    log = out / "audit" / "frames.jsonl"
    proc = render(param, out, mode=mode)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and len(log.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err

    logged = sorted(json.loads(line)["frame"] for line in log.read_text().splitlines())
    assert 2 <= len(logged) < FRAMES  # stopped early, nothing lost
    # Every logged frame is complete on disk; nothing else of the run is (no torn frame).
    assert sorted(int(p.stem[-4:]) for p in out.glob("camera_params_*.json")) == logged
    assert not list(out.rglob(".*.tmp"))
    manifest = json.loads((out / "audit" / "manifest.json").read_text())
    assert manifest["interrupted"] is True

    resumed = render(param, out, "--resume", "--quiet", mode=mode)
    _o, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert len(log.read_text().splitlines()) == FRAMES

    clean = tmp_path / "clean"
    ref = render(param, clean, "--quiet", "--frames", f"{logged[-1] + 1}:{FRAMES}")
    assert ref.communicate(timeout=300) and ref.returncode == 0
    for f in range(logged[-1] + 1, FRAMES):  # frames redone after the interruption
        name = f"bounding_box_2d_tight_{f:04d}.npy"
        assert np.array_equal(np.load(out / name), np.load(clean / name))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("split", [[], ["--procs", "2"]])
def test_a_signal_while_the_process_loads_stops_it_before_anything_is_written(tmp_path, signum, split):
    """Ctrl-C or SIGTERM in the first moments, while Python loads numpy and Blender: exit
    130 / 143, no traceback, nothing written (before: a KeyboardInterrupt traceback from
    numpy's import, then the render ran on to its end with exit 0, or crashed, exit 139)."""
    out = tmp_path / "out"
    proc = render(preset(tmp_path), out, *split)
    wait_until_loading_numpy(proc)  # our first line has run; the modules it renders with are loading
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and "interrupted before the run started: nothing written" in err
    assert not out.exists()


def wait_until_loading_numpy(proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until numpy's compiled core is mapped into the process: its Python code runs, past
    the first line of headless/__main__ (a fixed sleep was not enough on a busy machine: the
    signal came before the interpreter had started, and killed it as it does any program)."""
    maps = Path(f"/proc/{proc.pid}/maps")
    if not maps.parent.exists():
        time.sleep(0.5)  # no /proc: the best guess
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if "_multiarray_umath" in maps.read_text():
                return
        except OSError:
            pass
        time.sleep(0.005)
    raise AssertionError("the process did not load numpy")


def read_until(stream, text: str, timeout: float) -> str:
    """What a pipe delivers until it holds text (all of it, on timeout or end of file)."""
    import os
    import select

    seen, deadline = b"", time.monotonic() + timeout
    while text.encode() not in seen and time.monotonic() < deadline:
        if select.select([stream.fileno()], [], [], 0.1)[0]:
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
    return seen.decode()


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment holds marker (the run and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the worker processes")
def test_second_ctrl_c_stops_the_worker_processes_at_once(tmp_path):
    """Worker processes busy with slow frames: the first Ctrl-C waits for them, a second one
    stops them at once (exit 130, no process of the run left); --resume then completes the
    dataset, with no temporary file left behind."""
    import os
    import uuid

    from scenes import write_writer_plugin

    site = write_writer_plugin(
        tmp_path / "site",
        "slow_test",
        "io.write_text(self.output_dir / 'started' / f'{frame.frame}.txt', 'ok')\n"
        "time.sleep(float(os.environ.get('SDG_TEST_SLOW', 0)))\n"
        "io.write_text(self.output_dir / 'slow' / f'{frame.frame}.txt', 'ok')",
    )
    param = preset(tmp_path)
    param.write_text(param.read_text().replace("basic = {}", "basic = {}\nslow_test = {}"))
    out = tmp_path / "out"
    marker = f"SDG_TEST_RUN={uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}", marker.split("=")[0]: marker.split("=")[1]}
    cmd = [sys.executable, "-m", "headless", "render", str(param), "--out", str(out), "--worker-mode", "processes"]
    proc = subprocess.Popen(
        [*cmd, "--workers", "1"],
        cwd=ROOT,
        env={**env, "SDG_TEST_SLOW": "10"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "started").is_dir():  # the worker sleeps on a frame
        time.sleep(0.05)
    time.sleep(1.0)  # the next frame rendered and handed on: the render loop waits for a slot
    proc.send_signal(signal.SIGINT)
    # Signals that arrive before Python's handler runs count once (e.g. two during one
    # render call): the second Ctrl-C is sent once the first has been taken.
    first = read_until(proc.stderr, "finishing the frames in flight", timeout=60)
    proc.send_signal(signal.SIGINT)
    t = time.monotonic()
    _out, err = proc.communicate(timeout=60)
    err = first + err
    assert proc.returncode == 130, err
    assert time.monotonic() - t < 7, err  # not the 10 s per held frame of a patient stop
    time.sleep(0.5)
    assert processes_with(marker) == []

    resumed = subprocess.run(
        [*cmd, "--resume", "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    frames = sorted(json.loads(line)["frame"] for line in (out / "audit" / "frames.jsonl").read_text().splitlines())
    assert frames == list(range(FRAMES))
    assert sorted(int(p.stem) for p in (out / "slow").iterdir()) == list(range(FRAMES))
    assert not list(out.rglob(".*.tmp"))


def test_ctrl_c_while_the_writers_join_their_files_cuts_nothing(tmp_path, monkeypatch, capfd):
    """Ctrl-C after the last frame was written, while the writers joined their files
    (finalize: coco's json): every frame and the joined files were there, yet the run said
    'interrupted ... continue with --resume' (exit 130) and its manifest 'interrupted: true',
    which --resume ('complete: ... nothing to do') left as it was. A stop that cut nothing
    is no interruption: exit 0, 'done', interrupted false."""
    import os

    from headless.cli import main
    from sdg_addon.sink import FrameSink

    text = preset(tmp_path).read_text().replace("resolution = [160, 120]", "resolution = [64, 48]")
    text = text.replace("samples = 32", "samples = 1").replace(f"frames = {FRAMES}", "frames = 2")
    param = tmp_path / "p.toml"
    param.write_text(text.replace("basic = {}", "basic = {}\ncoco = {}"))
    finalize = FrameSink.finalize

    def ctrl_c_then_finalize(self, progress=None):
        os.kill(os.getpid(), signal.SIGINT)  # the handler of the run (ctrl_c_cancels) takes it
        return finalize(self, progress)

    monkeypatch.setattr(FrameSink, "finalize", ctrl_c_then_finalize)
    out = tmp_path / "out"
    code = main(["render", str(param), "--out", str(out), "--worker-mode", "inline", "--workers", "1"])
    captured = capfd.readouterr()
    assert "Ctrl-C: finishing the frames in flight" in captured.err  # the signal was taken during finalize
    assert code == 0, captured.err
    assert "interrupted" not in captured.err and "done: 2 frame(s) written" in captured.out
    assert json.loads((out / "audit" / "manifest.json").read_text())["interrupted"] is False
    coco = json.loads(next((out / "coco").rglob("*.json")).read_text())
    assert len(coco["images"]) == 2


def test_a_second_ctrl_c_stops_a_parallel_runs_join_of_the_writers_files(tmp_path):
    """--procs: Ctrl-C while the parent joined the writers' files (finalize) was only noted:
    pressed three times, the join ran on to its end and the run said 'done', exit 0. Now, as
    in one process, the first is said and the join goes on, the second stops it: exit 130,
    every frame kept; --resume joins the files again."""
    import os

    site = tmp_path / "site"
    package = site / "slow_join_writer"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import os, time\nfrom sdg_addon.writers import Writer, io\n\n"
        "class Plugin(Writer):\n    name = 'slow_join'\n\n    def write(self, frame):\n        pass\n\n"
        "    def finalize(self):\n"
        "        io.write_text(self.output_dir / 'join_started.txt', 'ok')\n"
        "        time.sleep(float(os.environ.get('SDG_TEST_SLOW', 0)))\n"
        "        io.write_text(self.output_dir / 'join_done.txt', 'ok')\n"
    )
    dist = site / "slow_join_writer-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-join-writer\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[sdg.writers]\nslow_join = slow_join_writer:Plugin\n")
    text = preset(tmp_path).read_text().replace("resolution = [160, 120]", "resolution = [64, 48]")
    param = tmp_path / "p.toml"
    param.write_text(text.replace("samples = 32", "samples = 1").replace("basic = {}", "basic = {}\nslow_join = {}"))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    cmd = [sys.executable, "-m", "headless", "render", str(param), "--out", str(out), "--procs", "1", "--quiet"]
    cmd += ["--frames", "0:2"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**env, "SDG_TEST_SLOW": "60"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "join_started.txt").exists():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    first = read_until(proc.stderr, "Ctrl-C again to stop at once", timeout=30)
    assert "Ctrl-C: the writers are joining their files" in first, first
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)  # not the 60 s of the join
    assert proc.returncode == 130, first + err
    assert "interrupted while the writers joined their files" in err and "--resume" in err, err
    assert not (out / "join_done.txt").exists()
    resumed = subprocess.run([*cmd, "--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "join_done.txt").exists()
