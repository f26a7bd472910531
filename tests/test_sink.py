"""The hand-off of frames to worker processes (no bpy): arrays travel out of band through
a file in tmpfs, or through the pipe where that file cannot be written; either way the
worker gets equal, writable arrays and the file is gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sdg_addon.sink import package, picklable, unpackage

ROOT = Path(__file__).resolve().parents[1]


def task():
    rng = np.random.default_rng(0)
    frame = {
        "combined": rng.random((48, 64, 4), dtype=np.float32),
        "instance": rng.integers(0, 9, (48, 64)).astype(np.uint32),
        "strided": rng.random((48, 64))[:, ::2],  # not contiguous: pickled in band
        "empty": np.zeros((0, 3)),
    }
    return [frame], {"frame": 7, "seconds": {}}


def check_round_trip(packed) -> None:
    (frame,), record = unpackage(*packed)
    (expected,), expected_record = task()
    assert record == expected_record
    for name, array in expected.items():
        assert frame[name].dtype == array.dtype and np.array_equal(frame[name], array), name
        assert frame[name].flags.writeable, name
    frame["combined"][0, 0, 0] = 5.0  # annotators may work in place


def test_arrays_go_through_a_handoff_file_that_the_worker_removes(tmp_path):
    packed = package(task(), str(tmp_path / "frame_1.bin"))
    meta, path, sizes = packed
    assert path == str(tmp_path / "frame_1.bin") and sum(sizes) == (tmp_path / "frame_1.bin").stat().st_size
    assert sum(sizes) >= 48 * 64 * 4 * 4 + 48 * 64 * 4  # the big arrays are out of band
    assert len(meta) < 4096 + 48 * 32 * 8  # ... and not in the pickle (the strided one is)
    check_round_trip(packed)
    assert list(tmp_path.iterdir()) == []


def test_arrays_go_through_the_pipe_where_no_file_can_be_written(tmp_path):
    meta, path, buffers = package(task(), str(tmp_path / "missing" / "frame_1.bin"))
    assert path is None and all(isinstance(b, bytearray) for b in buffers)
    check_round_trip((meta, path, buffers))
    check_round_trip(package(task(), None))


def test_a_short_handoff_file_is_an_error_not_garbage(tmp_path):
    meta, path, sizes = package(task(), str(tmp_path / "frame_1.bin"))
    with open(path, "r+b") as f:
        f.truncate(sizes[0] - 1)
    with pytest.raises(OSError, match="short"):
        unpackage(meta, path, sizes)


def test_errors_that_do_not_pickle_arrive_as_their_text():
    class Local(Exception):  # defined in a function: cannot be pickled by reference
        pass

    error = picklable(Local("bad writer option"))
    assert isinstance(error, RuntimeError) and "Local: bad writer option" in str(error)
    disk = OSError(28, "No space left on device", "/out/x.png")
    assert picklable(disk) is disk


def test_worker_processes_get_single_threaded_blas_unless_the_user_chose(monkeypatch):
    """Spawned workers (and render processes) get OPENBLAS/OMP/MKL_NUM_THREADS=1: many of
    them share the machine, and idle BLAS thread pools spin on the renders' cores. A value
    the user set is kept; this process's environment is left as it was."""
    import os

    from sdg_addon.sink import SINGLE_THREAD_BLAS, single_thread_blas_for_children

    for name in SINGLE_THREAD_BLAS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    before = dict(os.environ)
    with single_thread_blas_for_children():
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "1"
        assert os.environ["OMP_NUM_THREADS"] == "3"
    assert dict(os.environ) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_worker_memory_settings_keep_freed_blocks_for_the_next_frame():
    """keep_freed_memory (run by every worker): a freed 48 MiB block stays with the process
    for the next frame's temporaries. Without it, glibc unmaps blocks above 32 MiB (a
    frame's temporaries at 1080p and more) and the kernel zero-fills new pages each time."""
    code = (
        "import os, sys, numpy as np\n"
        "from sdg_addon.sink import keep_freed_memory\n"
        "if sys.argv[1] == 'keep':\n"
        "    assert keep_freed_memory()\n"
        "def rss():\n"
        "    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') >> 20\n"
        "before = rss()\n"
        "np.ones(48 << 20, np.uint8)\n"  # made, touched, freed
        "print(rss() - before)\n"
    )
    kept = {}
    for mode in ("plain", "keep"):
        run = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, cwd=ROOT, check=True)
        kept[mode] = int(run.stdout.split()[-1])  # MiB still resident after the free
    assert kept["plain"] < 8 and kept["keep"] >= 40, kept
