"""The output folder belongs to the run: refusals, marker, lock, record of written files,
--overwrite deleting only what the tool wrote (no bpy)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sdg_addon import output
from sdg_addon.output import Lock, OutputError, OutputFolder, check_folder, remove_written, written_files
from sdg_addon.writers import io
from sdg_addon.writers.paths import safe_name


@pytest.mark.parametrize("where", ["/", "home", "cwd", "cwd_parent", "home_parent"])
def test_protected_folders_are_refused(where, monkeypatch, tmp_path):
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    home = Path.home()
    folder = {"/": Path("/"), "home": home, "cwd": Path("."), "cwd_parent": Path(".."), "home_parent": home.parent}
    with pytest.raises(OutputError) as e:
        check_folder(folder[where])
    assert "own folder" in str(e.value)
    with pytest.raises(OutputError):
        check_folder(Path("~").expanduser() if where == "home" else folder[where])


def test_a_file_and_an_empty_name_are_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_folder(tmp_path / "f")
    with pytest.raises(OutputError, match="not empty"):
        check_folder("")
    with pytest.raises(OutputError, match="working folder"):
        check_folder(Path(""))  # what a Path-typed `--out ""` gives


def test_a_url_is_refused_as_an_output_folder(tmp_path, monkeypatch):
    """--out gs://bucket/ds (Kubric's job dir, BlenderProc users' s3://) passed validate and
    render wrote into a folder named 'gs:' in the working folder (a Path keeps gs:/bucket/ds);
    a URL is now refused, saying how to write there, nothing made."""
    monkeypatch.chdir(tmp_path)
    for text in ("gs://bucket/ds", "s3://b/ds", "file:///data/ds", "https://host/ds", str(Path("gs://bucket/ds"))):
        with pytest.raises(OutputError) as e:
            check_folder(Path(text))
        scheme = text.split(":")[0]
        assert f"is a URL ({scheme}://): the run writes to a folder of this system's file systems" in str(e.value)
        assert "where the storage is mounted" in str(e.value)
        assert output.unusable_location(text) == str(e.value).replace(str(Path(text)), text)
    assert list(tmp_path.iterdir()) == []
    check_folder(Path("runs:2026"))  # a colon without a slash after it is a name


@pytest.mark.skipif(os.name == "nt", reason="a Windows path is a folder of Windows there")
def test_a_windows_path_is_refused_on_linux_and_macos(tmp_path, monkeypatch):
    """run.output = "D:/datasets/run1" of a parameter file made on Windows passed validate
    and render wrote into a folder named 'D:' in the working folder (and 'out\\run1' into a
    folder of that name); both are now refused, saying why, nothing made."""
    monkeypatch.chdir(tmp_path)
    for text, words in (
        ("D:/datasets/run1", "is a Windows path (drive D:): on this system it would be a folder named 'D:'"),
        ("c:", "is a Windows path (drive c:)"),
        ("D:\\datasets\\run1", "is a Windows path (drive D:)"),
        ("out\\run1", "holds a backslash, no folder separator on Linux and macOS"),
    ):
        with pytest.raises(OutputError) as e:
            check_folder(Path(text))
        assert words in str(e.value), str(e.value)
        assert output.unusable_location(text) == str(e.value)  # validate's words too
    assert "write 'out/run1', which works on Windows too" in output.unusable_location("out\\run1")
    assert list(tmp_path.iterdir()) == []
    for fine in ("D:x", "data:2026/run1", "run:1"):  # a colon that names no drive is a name here
        check_folder(Path(fine))


def test_a_system_that_knows_no_home_folder_refuses_no_other(tmp_path, monkeypatch):
    """Where the system knows no home folder (HOME unset, a user without an entry: a
    container's arbitrary user id), Path.home() raised RuntimeError in every check of an
    output folder; '~' is then no folder, and others are checked as ever."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(output, "expand_home", lambda path: Path(os.fspath(path)))  # as when none is known
    assert output.refused_location("data") is None
    check_folder(Path("data"))
    with pytest.raises(OutputError, match="'~' is no home folder on this system"):
        check_folder(Path("~/ds"))
    assert list(tmp_path.iterdir()) == []


def test_new_empty_and_own_folders_are_accepted_others_refused(tmp_path):
    check_folder(tmp_path / "new" / "deeper")
    (tmp_path / "empty").mkdir()
    check_folder(tmp_path / "empty")
    user = tmp_path / "photos"
    user.mkdir()
    (user / "IMG_0001.png").write_bytes(b"mine")
    with pytest.raises(OutputError) as e:
        check_folder(user)
    assert "IMG_0001.png" in str(e.value) and "did not write" in str(e.value)
    assert (user / "IMG_0001.png").read_bytes() == b"mine"
    # The tool's own dataset is recognised by its marker.
    ds = tmp_path / "ds"
    folder = OutputFolder(ds)
    folder.open()
    io.write_text(ds / "rgb_0000.png", "x")
    folder.close()
    assert output.is_dataset(ds)
    check_folder(ds)
    assert not (ds / ".sdg.lock").exists()


def test_a_folder_another_run_is_just_setting_up_is_not_taken_for_a_users(tmp_path, monkeypatch):
    """Between taking the lock and writing audit/dataset.json a starting run's folder holds
    only its lock (then the marker's temporary file): a second run's check must not call
    that a user's folder (it goes on to the lock, which says another run is writing). A
    look-alike the tool would not write there is still refused."""
    out = tmp_path / "out"
    seen = []
    real_write_json = io.write_json

    def check_while_the_marker_is_written(path, obj, indent=None):
        seen.append(sorted(p.relative_to(out).as_posix() for p in out.rglob("*")))
        check_folder(out)  # only the lock so far
        return real_write_json(path, obj, indent)

    monkeypatch.setattr(io, "write_json", check_while_the_marker_is_written)
    first = OutputFolder(out)
    first.open()
    monkeypatch.undo()
    assert seen == [[".sdg.lock"]]
    with pytest.raises(OutputError, match="another run"):
        OutputFolder(out).open()
    first.close()
    # The marker's temporary file, before its rename: still the tool's.
    (out / ".sdg.lock").write_text("{}")
    (out / "audit" / "dataset.json").rename(out / "audit" / ".dataset.json.123-4.tmp")
    check_folder(out)
    for name in (".sdg.lock.bak", "audit/notes.txt", ".sdg.shardxof2.lock"):
        (out / name).write_text("mine")
        with pytest.raises(OutputError, match="did not write"):
            check_folder(out)
        (out / name).unlink()


def test_a_starting_run_that_renames_its_marker_during_the_look_is_not_taken_for_a_user(tmp_path, monkeypatch):
    """The race CI met: a second run lists audit/ while the first still has the marker's
    temporary file, and the first renames it (then writes its record) before the second looks
    at the entry. Neither the vanished temporary file nor the files of a folder that has become
    a dataset meanwhile are a user's; a user's file in a folder with no marker still is."""
    out = tmp_path / "out"
    (out / "audit").mkdir(parents=True)
    (out / ".sdg.lock").write_text("{}")
    tmp = out / "audit" / ".dataset.json.5590-1.tmp"
    tmp.write_text('{"tool": "sdg"}')
    real_iterdir = Path.iterdir

    def listing_then_rename(self):
        names = list(real_iterdir(self))
        if self.name == "audit" and tmp.exists():
            tmp.rename(out / "audit" / "dataset.json")  # the first run's rename, just after the listing
            (out / "audit" / "written").mkdir()
        return iter(names)

    # The first look (is_dataset) sees no marker; the listing still shows the temporary file.
    monkeypatch.setattr(Path, "iterdir", listing_then_rename)
    assert check_folder(out) == out.resolve()
    monkeypatch.undo()
    # Marker made between the first look and the listing: the record folder beside it is the run's.
    (out / "audit" / "dataset.json").rename(tmp)
    looks = iter([False, True])
    monkeypatch.setattr(output, "is_dataset", lambda folder: next(looks))
    check_folder(out)
    monkeypatch.undo()
    # Without a marker at either look, the same folder is refused (audit/written is no run's setup).
    (out / "audit" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="did not write"):
        check_folder(out)


@contextlib.contextmanager
def recording(folder: Path):
    """The folder active (writes recorded, writes elsewhere refused) inside the block."""
    output.activate(folder)
    try:
        yield
    finally:
        output.deactivate(folder)


def run_of(folder: Path, files: list[str]) -> None:
    f = OutputFolder(folder)
    f.open()
    try:
        for rel in files:
            io.write_text(folder / rel, rel)
    finally:
        f.close()


def test_overwrite_deletes_what_resume_trusts_first(tmp_path, monkeypatch):
    """--overwrite killed while it deleted (SIGKILL, a crash) in a two-camera dataset: the
    cameras' folders (Left/, Right/) sort before audit/, so their files went first and the
    frame log and manifest stayed; --resume then said 'complete: all 6 frame(s) are
    finished', files missing. The frame logs go first now, then the manifests."""
    out = tmp_path / "out"
    files = ["Left/rgb_0000.png", "0cam/rgb_0000.png", "audit/frames.jsonl", "audit/frames.shard000of002.jsonl"]
    run_of(out, [*files, "audit/manifest.json", "rgb_0000.png"])
    order = []
    real_unlink = Path.unlink

    def unlink(self, *args, **kwargs):
        order.append(self.relative_to(out).as_posix())
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    remove_written(out)
    assert sorted(order[:2]) == ["audit/frames.jsonl", "audit/frames.shard000of002.jsonl"], order
    assert order[2] == "audit/manifest.json", order


def test_overwrite_says_a_file_the_system_refuses_to_delete_as_such(tmp_path, monkeypatch):
    """--overwrite of a run whose file the system refuses to delete (chattr +i: EPERM) said
    'cannot write to OUT: Operation not permitted (OUT/rgb_0000.png)', a write that never
    was; it now says it cannot delete that file, what became of the others and the way on."""
    import errno

    from sdg_addon.recorder import disk_error

    out = tmp_path / "out"
    run_of(out, ["audit/frames.jsonl", "rgb_0000.png", "rgb_0001.png"])
    real_unlink = Path.unlink

    def unlink(self, *args, **kwargs):
        if self.name == "rgb_0000.png":
            raise PermissionError(errno.EPERM, "Operation not permitted", str(self))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(OSError) as refused:
        remove_written(out)
    said = str(disk_error(refused.value, out))
    assert said.startswith(f"--overwrite: cannot delete {(out / 'rgb_0000.png').as_posix()}, a file of the run in "), (
        said
    )
    assert "Operation not permitted" in said and "run --overwrite again" in said and "cannot write" not in said
    assert (out / "rgb_0000.png").exists() and written_files(out)  # the records stay for the next --overwrite


def test_overwrite_removes_only_what_the_tool_recorded(tmp_path):
    out = tmp_path / "out"
    run_of(out, ["rgb_0000.png", "cam/rgb_0000.png", "yolo/images/train/000000.png", "audit/resolved.json"])
    mine = ["IMG_0001.png", "data_2024.json", "cam/notes_1.json", "yolo/README.txt"]
    for rel in mine:
        (out / rel).write_text("user")
    (out / "cam" / ".rgb_0000.png.4242-7.tmp").write_text("torn")  # a killed run's temp file
    assert sorted(written_files(out)) == sorted(
        ["rgb_0000.png", "cam/rgb_0000.png", "yolo/images/train/000000.png", "audit/resolved.json"]
    )
    assert remove_written(out) == 4
    for rel in mine:
        assert (out / rel).read_text() == "user"
    assert not (out / "yolo" / "images").exists()  # emptied folders go, non-empty ones stay
    assert not (out / "cam" / ".rgb_0000.png.4242-7.tmp").exists()
    assert output.is_dataset(out) and written_files(out) == []


def test_a_tampered_record_is_not_followed_outside(tmp_path):
    out = tmp_path / "out"
    run_of(out, ["a.txt"])
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (out / "audit" / "written" / "evil.txt").write_text(json.dumps("../victim.txt") + "\n")
    remove_written(out)
    assert victim.read_text() == "keep"


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(folder: Path, pid: int, host: str | None = None, name=".sdg.lock") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "started": "x"}))


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path):
    first = Lock(tmp_path)
    first.acquire()
    with pytest.raises(OutputError) as e:
        Lock(tmp_path).acquire()
    assert f"pid {os.getpid()}" in str(e.value) and socket.gethostname() in str(e.value)
    first.release()
    Lock(tmp_path).acquire()


def test_a_locks_start_time_says_its_time_zone(tmp_path, monkeypatch):
    """Shards share a folder from machines that may keep other time zones (a laptop in
    Tokyo, a cluster on UTC): 'another run is writing to OUT (pid N on HOST, started
    2026-12-02 12:00:00 ...)' gave the holder's local time without its zone, 9 hours off
    read from UTC. The time now carries its offset from UTC."""
    if not hasattr(time, "tzset"):
        pytest.skip("time zones set through TZ on POSIX only")
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    try:
        first = Lock(tmp_path)
        first.acquire()
        with pytest.raises(OutputError, match=r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0900"):
            Lock(tmp_path).acquire()
        first.release()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    write_lock(tmp_path, dead_pid())
    lock = Lock(tmp_path)
    lock.acquire()
    assert json.loads((tmp_path / ".sdg.lock").read_text())["pid"] == os.getpid()


def test_an_ended_render_processes_lock_is_removed_and_no_other(tmp_path):
    """What a Ray actor does after its render process died: that process's lock goes; a
    lock of a live process, of another process or of another host stays."""
    name, gone = ".sdg.shard3of1000000.lock", dead_pid()
    lock = tmp_path / name
    for pid, host, holder in [
        (os.getpid(), None, os.getpid()),
        (gone, "another-host", gone),
        (os.getpid(), None, gone),
    ]:
        write_lock(tmp_path, pid, host, name)
        output.remove_ended_holders_lock(lock, holder)
        assert lock.exists(), (pid, host, holder)
    write_lock(tmp_path, gone, None, name)
    output.remove_ended_holders_lock(lock, gone)
    assert not lock.exists()
    # Its pid taken by a new process since (the start time differs): it has ended all the same.
    info = {"pid": os.getpid(), "pid_start": "1", "host": socket.gethostname(), "started": "x"}
    lock.write_text(json.dumps(info))
    output.remove_ended_holders_lock(lock, os.getpid())
    assert not lock.exists()


def test_a_lock_of_another_pid_namespace_of_this_host_name_is_respected(tmp_path):
    """Two containers sharing the machine's host name (docker run --network host) number
    their processes each in its own PID namespace: a run in one took the live lock of a run
    in the other ('pid 2 on vm': no process 2 here, or another one) as stale, and both wrote
    the folder (the first then ended 'the output folder was deleted, moved or replaced').
    The lock names its PID namespace; another's is respected, as another host's is."""
    if output._pid_namespace() is None:
        pytest.skip("no PID namespaces here")
    gone = dead_pid()
    for pid in (gone, os.getpid()):  # no such process here; this very pid, another process there
        write_lock(tmp_path, pid)
        info = json.loads((tmp_path / ".sdg.lock").read_text())
        (tmp_path / ".sdg.lock").write_text(json.dumps({**info, "pid_ns": "pid:[1]"}))
        with pytest.raises(OutputError, match=f"pid {pid} on .* in another PID namespace"):
            Lock(tmp_path).acquire()
        output.remove_ended_holders_lock(tmp_path / ".sdg.lock", pid)
        assert (tmp_path / ".sdg.lock").exists()
    # one of this namespace whose process has ended: taken over, as before
    write_lock(tmp_path, gone)
    info = json.loads((tmp_path / ".sdg.lock").read_text())
    (tmp_path / ".sdg.lock").write_text(json.dumps({**info, "pid_ns": output._pid_namespace()}))
    lock = Lock(tmp_path)
    lock.acquire()
    assert json.loads((tmp_path / ".sdg.lock").read_text())["pid_ns"] == output._pid_namespace()
    lock.release()


def test_processes_of_one_host_name_and_pid_on_other_machines_or_containers_keep_their_own_files(tmp_path, monkeypatch):
    """Containers of one host name (pid 1 in each, or any pid) on one machine or on several
    sharing a network file system: their processes named their temporary folders and
    records alike, HOST-PID, appending to one record file and each taking the other's live
    temporary folder for an ended process of its own (its pid is none of this namespace's)
    and deleting the files in it. The names now carry the machine and PID namespace
    (HOST-PID-PLACE): another's are left, this one's ended processes' removed, and folders
    named as before (HOST-PID) still are; a lock of another machine of this host name and
    PID namespace (two machines both 'localhost', both in their machine's own namespace) is
    respected, one of this machine's ended process taken over."""
    out = tmp_path / "out"
    run_of(out, ["a.json"])
    gone = dead_pid()
    host, place = safe_name(socket.gethostname()), output.machine_place()
    temp = out / output.TEMP_DIR
    mine, before, theirs = (temp / f"{host}-{gone}{tail}" for tail in (f"-{place}", "", "-0badf00d"))
    for folder in (mine, before, theirs):
        folder.mkdir(parents=True)
        (folder / ".rgb_0001.png.5-1.tmp").write_text("torn")
    assert output.remove_ended_processes_temporaries(out) == 2
    assert not mine.exists() and not before.exists()
    assert [p.name for p in theirs.iterdir()] == [".rgb_0001.png.5-1.tmp"]
    # another machine or namespace: another place, whatever the pid
    monkeypatch.setattr(output, "_machine", lambda: "another machine")
    assert output.machine_place() != place and output._process_name().endswith(
        f"-{os.getpid()}-{output.machine_place()}"
    )
    monkeypatch.undo()
    # a lock of another machine of this host name: respected, dead pid or not
    write_lock(tmp_path, gone)
    info = json.loads((tmp_path / ".sdg.lock").read_text())
    (tmp_path / ".sdg.lock").write_text(json.dumps({**info, "machine": "another machine"}))
    with pytest.raises(OutputError, match=f"pid {gone} on .* on another machine of this host name"):
        Lock(tmp_path).acquire()
    output.remove_ended_holders_lock(tmp_path / ".sdg.lock", gone)
    assert (tmp_path / ".sdg.lock").exists()
    # a container on this machine: its machine is its boot id, and its PID namespace says it
    (tmp_path / ".sdg.lock").write_text(json.dumps({**info, "machine": "boot id", "pid_ns": "pid:[1]"}))
    with pytest.raises(OutputError, match=f"pid {gone} on .* in another PID namespace"):
        Lock(tmp_path).acquire()
    (tmp_path / ".sdg.lock").write_text(json.dumps({**info, "machine": output._machine()}))
    lock = Lock(tmp_path)
    lock.acquire()  # this machine's, ended: taken over
    assert json.loads((tmp_path / ".sdg.lock").read_text()).get("machine") == output._machine()
    lock.release()


def test_a_lock_of_another_host_is_respected(tmp_path):
    write_lock(tmp_path, 1, host="some-other-machine")
    with pytest.raises(OutputError, match="some-other-machine"):
        Lock(tmp_path).acquire()


def test_shards_lock_separately_but_not_beside_a_whole_run(tmp_path):
    a, b = Lock(tmp_path, (0, 2)), Lock(tmp_path, (1, 2))
    a.acquire()
    b.acquire()
    with pytest.raises(OutputError):
        Lock(tmp_path, (0, 2)).acquire()
    with pytest.raises(OutputError):
        Lock(tmp_path).acquire()
    a.release()
    b.release()
    whole = Lock(tmp_path)
    whole.acquire()
    with pytest.raises(OutputError):
        Lock(tmp_path, (1, 2)).acquire()


def test_an_overwriting_shard_and_other_shards_exclude_each_other(tmp_path):
    """--overwrite deletes what every run recorded in the folder, other shards' files too:
    a shard that overwrites does not start while another shard writes there, and no shard
    starts beside it (before: shard 1's --overwrite deleted the frames and the frame log of
    a running shard 0). Shards without it still lock side by side; a dead one's lock goes."""
    running = Lock(tmp_path, (0, 3))
    running.acquire()
    with pytest.raises(OutputError, match="shard0of3.*other shards' too"):
        Lock(tmp_path, (1, 3), exclusive=True).acquire()
    running.release()
    write_lock(tmp_path, dead_pid(), name=".sdg.shard2of3.lock")
    overwriting = Lock(tmp_path, (1, 3), exclusive=True)
    overwriting.acquire()
    assert not (tmp_path / ".sdg.shard2of3.lock").exists()
    for shard in ((0, 3), (2, 3)):
        with pytest.raises(OutputError, match="shard1of3"):
            Lock(tmp_path, shard).acquire()
    overwriting.release()
    beside = [Lock(tmp_path, (i, 3)) for i in range(3)]
    for lock in beside:
        lock.acquire()


def test_written_files_get_the_usual_mode_not_mkstemps_0600(tmp_path):
    path = io.write_text(tmp_path / "a.json", "{}")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_writes_make_missing_folders_and_leave_no_temp_file_on_failure(tmp_path):
    big = bytes(range(256)) * 40_000  # several MB: more than one os.write may take
    assert io.write_bytes(tmp_path / "a" / "b" / "c.bin", big).read_bytes() == big
    assert io.write_text(tmp_path / "a" / "b" / "d.txt", "é\n").read_bytes() == "é\n".encode()
    with pytest.raises(TypeError):
        io.write_bytes(tmp_path / "a" / "e.bin", 12)  # not a buffer: fails after the temp file exists
    with pytest.raises(RuntimeError), io.atomic_stream(tmp_path / "a" / "f.bin") as f:
        f.write(b"half")
        raise RuntimeError("stopped mid-file")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["c.bin", "d.txt"]


def test_a_stop_just_after_the_temporary_file_is_made_leaves_no_temp_file(tmp_path, monkeypatch):
    """A worker stopped at once (close(now=True): SIGTERM -> SystemExit) right after os.open
    made the temporary file, before its name reached the code that removes it, left it behind
    (test_cancel_now_stops_worker_processes_without_waiting failed now and then)."""
    opened = os.open

    def open_then_stopped(path, *args):
        opened(path, *args)
        raise SystemExit(143)  # the SIGTERM handler, run at the next bytecode

    monkeypatch.setattr(io.os, "open", open_then_stopped)
    for write in (lambda p: io.write_text(p, "{}"), lambda p: io.atomic_stream(p).__enter__()):
        with pytest.raises(SystemExit):
            write(tmp_path / "a" / "b.json")
        assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_parallel_runs_lock_lets_in_its_own_render_processes_only(tmp_path):
    """The parent holds the whole folder; a render process given the parent's HOST:PID takes
    its own lock beside it, one given another holder (or none) is refused; the holder never
    lets in another whole run."""
    parent = Lock(tmp_path)
    parent.acquire()
    assert parent.holder == f"{socket.gethostname()}:{os.getpid()}"
    mine = Lock(tmp_path, (0, 2), run_holder=parent.holder)
    mine.acquire()
    for holder in (None, f"{socket.gethostname()}:{os.getpid() + 1}", f"other-host:{os.getpid()}"):
        with pytest.raises(OutputError, match="another run"):
            Lock(tmp_path, (1, 2), run_holder=holder).acquire()
    with pytest.raises(OutputError):
        Lock(tmp_path, (0, 2), run_holder=parent.holder).acquire()  # the slot is held
    mine.release()
    with pytest.raises(OutputError):
        Lock(tmp_path, run_holder=parent.holder).acquire()  # a whole run: the name is taken
    parent.release()


def test_a_torn_lock_is_respected_while_fresh_and_taken_over_when_old(tmp_path):
    lock = tmp_path / ".sdg.lock"
    lock.write_text("")  # a run killed while writing its lock
    with pytest.raises(OutputError) as e:
        Lock(tmp_path).acquire()
    # Said as what it is (before: "pid -1 on ?, started ?"), and when it is taken over.
    assert re.search(r"its lock cannot be read: written \d+ s ago", str(e.value)) and "pid -1" not in str(e.value)
    assert "taken over once it is 60 s old" in str(e.value)
    old = os.stat(lock).st_mtime - 120
    os.utime(lock, (old, old))
    Lock(tmp_path).acquire()
    assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_a_lock_the_disk_cannot_take_is_not_left_behind(tmp_path, monkeypatch):
    """A full disk refused the lock's contents: the empty lock stayed, so the run after the
    disk was freed was told 'another run is writing to OUT (its lock cannot be read ...;
    taken over once it is 60 s old)' for a minute, and the failing run's line named the
    folder, not the file. The lock is now removed and named."""
    import errno

    def full(obj, f):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.json, "dump", full)
    with pytest.raises(OSError) as e:
        Lock(tmp_path).acquire()
    assert e.value.filename == str(tmp_path / ".sdg.lock")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    Lock(tmp_path).acquire()  # at once, once the disk has room
    assert json.loads((tmp_path / ".sdg.lock").read_text())["pid"] == os.getpid()


def test_a_folder_whose_marker_the_disk_refuses_is_not_left_locked(tmp_path, monkeypatch):
    """A full disk refusing audit/dataset.json, the first file a run writes once its lock is
    taken: the run ended (exit 1) with its lock left in the folder, a lock another host
    sharing the folder respects until someone deletes it; it is released now."""
    import errno

    def full(path, obj, indent=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(io, "write_json", full)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        OutputFolder(out).open()
    assert not (out / ".sdg.lock").exists()
    assert os.path.realpath(out) not in output._active  # writes there are no longer recorded


def test_a_record_the_disk_refuses_names_its_file(tmp_path, monkeypatch):
    """A full disk refusing the line that records a file about to be written (audit/written/
    HOST-PID.txt) was said as 'cannot write to OUT: No space left on device (OUT)', the
    folder alone; the record's file is named, as any other file the disk refuses."""
    import errno

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with recording(tmp_path):
        monkeypatch.setattr(output.os, "write", full)
        with pytest.raises(OSError) as e:
            output.before_write(tmp_path / "rgb_0000.png")
        monkeypatch.undo()
    name = f"{safe_name(socket.gethostname())}-{os.getpid()}-{output.machine_place()}.txt"
    assert e.value.filename == str(tmp_path / "audit" / "written" / name), e.value


def test_a_record_the_disk_takes_in_part_is_written_whole(tmp_path, monkeypatch):
    """os.write on a nearly full disk may take part of what it is given and say how much (a
    short write, no error): the record's line was cut off there, silently, and the file it
    names was written, so a later --resume or --overwrite took it for a user's file."""
    real = os.write

    def part(fd, data):
        return real(fd, bytes(data[:3]))

    with recording(tmp_path):
        monkeypatch.setattr(output.os, "write", part)
        output.before_write(tmp_path / "rgb_0000.png")
        output.before_write(tmp_path / "rgb_0001.png")
        monkeypatch.undo()
    assert set(written_files(tmp_path)) >= {"rgb_0000.png", "rgb_0001.png"}


def test_the_frame_log_hands_each_record_on_at_once_and_syncs_at_most_once_a_second(tmp_path, monkeypatch):
    """A record is in the file as soon as it is appended (another reader, e.g. --resume
    after a kill, sees it without close()); fsync runs at most once per SYNC_SECONDS while
    frames come in, and once at close()."""
    from sdg_addon import audit

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(audit.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    clock = [100.0]
    monkeypatch.setattr(audit.time, "monotonic", lambda: clock[0])
    log = audit.FrameLog(tmp_path / "audit" / "frames.jsonl")
    for frame in range(50):
        log.append({"frame": frame})
        assert sorted(audit.finished_frames(tmp_path / "audit")) == list(range(frame + 1))
        clock[0] += 0.1  # 10 frames a second
    assert len(synced) == 4  # at 1.0, 2.0, 3.0 and 4.0 s (not 50)
    clock[0] += 0.05
    log.append({"frame": 50})
    assert len(synced) == 4  # 0.95 s after the last one: not yet
    log.close()
    assert len(synced) == 5 and 50 in audit.finished_frames(tmp_path / "audit")


@pytest.mark.parametrize("torn", [b'{"frame":2,"samp', b'{"frame":2,"s' + b"x" * 200_000])
def test_a_torn_last_line_of_the_frame_log_is_cut_off_before_the_next_record(tmp_path, torn):
    """A disk that filled while a frame's record was written leaves half a line; the resumed
    run appends after it. The half line is cut off (before: ended with a newline, it stayed
    in the middle of the log, which no JSON-lines reader then reads), also when it is longer
    than one read back from the end."""
    from sdg_addon import audit

    path = tmp_path / "audit" / "frames.jsonl"
    path.parent.mkdir()
    path.write_bytes(b'{"frame":0}\n{"frame":1}\n' + torn)
    log = audit.FrameLog(path)
    log.append({"frame": 2})
    log.close()
    assert [json.loads(line)["frame"] for line in path.read_text().splitlines()] == [0, 1, 2]
    path.write_bytes(torn)  # nothing whole before it
    audit.FrameLog(path).close()
    assert path.read_bytes() == b""


def test_the_record_of_written_files_keeps_few_names_in_memory(tmp_path):
    """Every name reaches the record file, but the in-memory set of names already noted
    stays bounded (per-frame names are new every time: a long run grew ~3 KB a frame)."""
    from sdg_addon import output

    folder = tmp_path / "out"
    folder.mkdir()
    with recording(folder):
        names = [f"f/{i:06d}.png" for i in range(3 * output.NOTED_NAMES + 5)]
        for name in names:
            output.before_write(folder / name)
        output.before_write(folder / names[-1])  # noted again: no second line
        record = next(iter(r for k, r in output._active.items() if k == os.path.realpath(folder)))
        assert len(record.noted) <= output.NOTED_NAMES
    lines = "".join(p.read_text() for p in (folder / output.RECORD_DIR).glob("*.txt")).splitlines()
    assert len(lines) == len(names) and output.written_files(folder) == sorted(names)


def test_writes_follow_where_the_folder_really_is_and_refuse_a_linked_file_out(tmp_path):
    """The write check resolves each folder once (cached) and the file itself every time:
    a symlink in place of a file that points outside is refused; a folder linked from
    inside is recorded under its real name; the cache starts empty for each activation."""
    from sdg_addon.writers.paths import UnsafePathError

    folder, outside = tmp_path / "out", tmp_path / "elsewhere"
    (folder / "cam").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside / "user.png", folder / "cam" / "rgb_0001.png")
    os.symlink(folder / "cam", folder / "alias")
    with recording(folder):
        io.write_text(folder / "cam" / "rgb_0000.png", "x")  # the folder's real path is now cached
        with pytest.raises(UnsafePathError):
            io.write_text(folder / "cam" / "rgb_0001.png", "x")
        io.write_text(folder / "alias" / "rgb_0002.png", "y")
    assert not (outside / "user.png").exists()
    assert output.written_files(folder) == ["cam/rgb_0000.png", "cam/rgb_0002.png"]
    # A later activation resolves folders again: `cam` is now a link to the outside.
    (folder / "cam" / "rgb_0001.png").unlink()
    (folder / "cam").rename(tmp_path / "old_cam")
    os.symlink(outside, folder / "cam")
    with recording(folder):
        with pytest.raises(UnsafePathError):
            io.write_text(folder / "cam" / "rgb_0003.png", "x")
    assert list(outside.iterdir()) == []


def test_temporary_names_skip_a_leftover_and_get_the_umask_mode(tmp_path):
    """A temp file left by a killed process with this pid is not reused (O_EXCL): the next
    name is taken and the leftover stays for the stale-file cleanup; the written file gets
    0666 less the umask, whatever the umask."""
    import itertools

    from sdg_addon.writers import io as wio

    wio._temp_count = itertools.count(7)
    leftover = tmp_path / f".a.json.{os.getpid()}-7.tmp"
    leftover.write_text("torn")
    old = os.umask(0o027)
    try:
        path = io.write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert path.read_text() == "{}" and leftover.read_text() == "torn"
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.json", leftover.name])


def test_stale_temporaries_of_either_naming_are_removed_and_nothing_else(tmp_path):
    """Only temporaries of files the tool recorded, in either naming: a user's file shaped
    like ours but beside no recorded file stays, and so do look-alikes."""
    (tmp_path / "cam").mkdir()
    with recording(tmp_path):
        for rel in ("rgb_0000.png", "rgb_0001.png", "cam/x.npy"):
            output.before_write(tmp_path / rel)  # recorded (as before a write), not written
    ours = [f".rgb_0000.png.{os.getpid()}-3.tmp", ".rgb_0001.png.a1B2_c3D.tmp", "cam/.x.npy.12-0.tmp"]
    users = [".notes.tmp", ".rgb.png.1-2-3.tmp", ".a.png.abc.tmp", "rgb_0000.png.12-0.tmp", "cam/.x.12-.tmp"]
    users += [".notes.txt.12-3.tmp", "cam/.rgb_0000.png.5-6.tmp"]  # our shape, no recorded file there
    for name in ours + users:
        (tmp_path / name).write_text("x")
    # Our name beside a recorded file, but a link (to a user's file elsewhere): not ours.
    (tmp_path.parent / "users_file.txt").write_text("keep")
    os.symlink(tmp_path.parent / "users_file.txt", tmp_path / ".rgb_0000.png.77-1.tmp")
    users.append(".rgb_0000.png.77-1.tmp")
    assert output.remove_stale_temporaries(tmp_path) == len(ours)
    assert (tmp_path / ".rgb_0000.png.77-1.tmp").is_symlink()
    assert (tmp_path.parent / "users_file.txt").read_text() == "keep"
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and "audit" not in p.parts)
    assert left == sorted(users)


def test_overwrite_removes_only_our_temporaries_of_recorded_files(tmp_path):
    folder = tmp_path / "out"
    run_of(folder, ["a.json"])
    (folder / f".a.json.{os.getpid()}-9.tmp").write_text("torn")  # ours, left by a kill
    (folder / ".a.json.mine.tmp").write_text("user")  # a user's, beside it
    assert output.remove_written(folder) == 1
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [".a.json.mine.tmp"]


# ----------------------------------------------------------- the process's temporary folder


def own_temp_folder(folder: Path) -> Path:
    return folder / output.TEMP_DIR / f"{safe_name(socket.gethostname())}-{os.getpid()}-{output.machine_place()}"


def test_files_are_made_in_the_process_temporary_folder_and_renamed_into_place(tmp_path):
    """Inside an active folder a file is made in audit/tmp/HOST-PID (not beside itself: many
    processes creating files in one folder contend for it), its folder made on first need,
    and the temporary folder is gone when the folder is closed. The marker is made beside
    itself, so a second run's look at a starting run sees no audit/tmp."""
    out = tmp_path / "out"
    folder = OutputFolder(out)
    folder.open()
    try:
        assert not (out / output.TEMP_DIR).exists()  # the marker is written; no temporary folder
        with io.atomic_stream(out / "new" / "deep" / "a.txt") as f:
            f.write(b"half")
            temporaries = list(out.rglob("*.tmp"))
            assert not (out / "new").exists()  # made at the rename
        assert [p.parent for p in temporaries] == [own_temp_folder(out)]
        assert (out / "new" / "deep" / "a.txt").read_bytes() == b"half"
        assert list(own_temp_folder(out).iterdir()) == []
        with pytest.raises(RuntimeError), io.atomic_stream(out / "b.txt") as f:
            f.write(b"torn")
            raise RuntimeError("a writer fails halfway")
        assert not (out / "b.txt").exists() and list(own_temp_folder(out).iterdir()) == []
    finally:
        folder.close()
    assert not (out / output.TEMP_DIR).exists()
    assert output.written_files(out) == ["b.txt", "new/deep/a.txt"]  # recorded before writing


@pytest.mark.parametrize("over", [0, 1])
def test_near_the_windows_path_limit_the_temporary_file_is_made_beside_the_file(tmp_path, monkeypatch, over):
    """Windows without long paths refuses paths of 260 characters or more, and a temporary
    name in audit/tmp/HOST-PID-PLACE is ~35 characters longer than one beside the file: at the
    limit the process's folder is used, one character past it the file's own folder."""
    out = tmp_path / "out"
    target = out / "rgb_0000.png"
    longest = output.temporary_name(target.name, "9" * 10 + "-" + "9" * 12)
    in_own_folder = len(os.path.join(os.path.abspath(own_temp_folder(out)), longest))
    monkeypatch.setattr(io, "_path_limit", lambda: in_own_folder - over)
    folder = OutputFolder(out)
    folder.open()
    try:
        with io.atomic_stream(target) as f:
            f.write(b"png")
            temporaries = list(out.rglob("*.tmp"))
        assert [p.parent for p in temporaries] == [own_temp_folder(out) if over == 0 else out]
        assert target.read_bytes() == b"png" and not list(out.rglob("*.tmp"))
    finally:
        folder.close()
    assert output.written_files(out) == ["rgb_0000.png"]


def test_the_path_limit_is_windows_max_path_less_its_terminator(monkeypatch):
    monkeypatch.setattr(io.os, "name", "nt")
    assert io._path_limit() == 259  # MAX_PATH = 260 counts the terminating NUL
    monkeypatch.setattr(io.os, "name", "posix")
    assert io._path_limit() is None


def test_a_target_on_another_file_system_is_copied_beside_it_then_renamed(tmp_path, monkeypatch):
    """A folder inside the output folder that is another file system (a mount) cannot take
    a rename from audit/tmp (EXDEV): the file is copied beside itself and renamed there."""
    import errno

    from sdg_addon.writers import io as wio

    real_replace = os.replace
    mount = tmp_path / "out" / "mounted"

    def replace(src, dst):  # as Linux checks: the target's folder first, then the mount
        if str(dst).startswith(str(mount)) and output.TEMP_DIR in str(src):
            if not os.path.isdir(os.path.dirname(dst)):
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(dst))
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_replace(src, dst)

    monkeypatch.setattr(wio.os, "replace", replace)
    mount.mkdir(parents=True)
    with recording(tmp_path / "out"):
        io.write_bytes(mount / "a.bin", b"x" * 100_000)
        io.write_bytes(mount / "new" / "b.bin", b"y")  # its folder made first, then the copy
        leftovers = [p for p in (tmp_path / "out").rglob("*.tmp")]
    assert (mount / "a.bin").read_bytes() == b"x" * 100_000 and (mount / "new" / "b.bin").read_bytes() == b"y"
    assert leftovers == [] and sorted(p.name for p in mount.iterdir()) == ["a.bin", "new"]


def test_only_ended_processes_temporaries_of_this_host_are_removed(tmp_path):
    """A killed process's temporary folder goes with its temporary files; a user's file in
    it keeps it; a live process's folder, another host's and a link are left alone."""
    out = tmp_path / "out"
    run_of(out, ["a.json"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = safe_name(socket.gethostname())  # as the folder names spell it
    temp = out / output.TEMP_DIR
    killed, killed_with_users = temp / f"{host}-{dead_pid}", temp / f"{host}-{dead_pid + 1_000_000}"
    live, other_host = temp / f"{host}-{os.getpid()}", temp / f"not-{host}-{dead_pid}"
    for folder in (killed, killed_with_users, live, other_host):
        folder.mkdir(parents=True)
        (folder / ".rgb_0001.png.5-1.tmp").write_text("torn")
    (killed_with_users / "notes.txt").write_text("a user's")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / ".x.png.1-1.tmp").write_text("keep")
    os.symlink(tmp_path / "elsewhere", temp / f"{host}-{dead_pid + 2_000_000}")
    assert output.remove_ended_processes_temporaries(out) == 2
    assert not killed.exists()
    assert [p.name for p in killed_with_users.iterdir()] == ["notes.txt"]
    for folder in (live, other_host):
        assert [p.name for p in folder.iterdir()] == [".rgb_0001.png.5-1.tmp"]
    assert (tmp_path / "elsewhere" / ".x.png.1-1.tmp").read_text() == "keep"
    # --overwrite clears the ended processes' temporaries too, and keeps the rest.
    (killed / ".a.json.9-9.tmp").parent.mkdir()
    (killed / ".a.json.9-9.tmp").write_text("torn")
    output.remove_written(out)
    assert not killed.exists() and live.exists() and other_host.exists()
    # After a whole run, empty folders go whoever made them (a Ray worker on another host
    # ends without its exit handlers); anything with a file in it stays.
    other_empty = temp / f"not-{host}-1"
    other_empty.mkdir()
    output.remove_stale_temporaries(out)
    assert not other_empty.exists() and other_host.exists() and killed_with_users.exists()


def test_a_host_name_that_is_no_plain_name_becomes_one_path_component(tmp_path, monkeypatch):
    """The system's host name is any text (a "/" or ":" in it would nest folders or be
    refused on Windows): the temporary folder and the record file take it through the one
    sanitizer, and an ended process's folder of this host is still found by that name."""
    monkeypatch.setattr(output.socket, "gethostname", lambda: "rack/7:node")
    host = safe_name("rack/7:node")
    assert host != "rack/7:node" and "/" not in host and ":" not in host
    out = tmp_path / "out"
    folder = OutputFolder(out)
    folder.open()
    try:
        with io.atomic_stream(out / "a.txt") as f:
            f.write(b"a")
            assert [p.parent.name for p in out.rglob("*.tmp")] == [f"{host}-{os.getpid()}-{output.machine_place()}"]
    finally:
        folder.close()
    assert [p.name for p in (out / output.RECORD_DIR).iterdir()] == [
        f"{host}-{os.getpid()}-{output.machine_place()}.txt"
    ]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = out / output.TEMP_DIR / f"{host}-{int(dead.stdout)}"
    killed.mkdir(parents=True)
    (killed / ".a.txt.5-1.tmp").write_text("torn")
    assert output.remove_ended_processes_temporaries(out) == 1 and not killed.exists()


def test_on_windows_a_process_is_probed_through_the_kernel_not_os_kill(monkeypatch):
    """os.kill(pid, 0) is no probe on Windows (signal 0 is CTRL_C_EVENT there: sent to a
    console process group, an OSError for any other id): the lock's and the temporary
    folders' checks ask OpenProcess / GetExitCodeProcess instead, and close the handle."""
    import ctypes

    class Kernel32:
        last = None
        handles = {10: 1, 11: 2}  # 10 runs, 11 has exited; 12 does not exist; 13 is another user's
        closed = []

        def OpenProcess(self, access, inherit, pid):
            assert access == 0x1000 and not inherit
            Kernel32.last = pid
            return self.handles.get(pid, 0)

        def GetExitCodeProcess(self, handle, code):
            code._obj.value = 259 if handle == 1 else 0  # STILL_ACTIVE, or an exit code
            return 1

        def CloseHandle(self, handle):
            Kernel32.closed.append(handle)
            return 1

    def no_kill(pid, sig):
        raise AssertionError("os.kill called on Windows")

    monkeypatch.setattr(output.os, "name", "nt")
    monkeypatch.setattr(output.os, "kill", no_kill)
    monkeypatch.setattr(ctypes, "WinDLL", lambda name, use_last_error: Kernel32(), raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", lambda: {12: 87, 13: 5}[Kernel32.last], raising=False)
    assert [output.process_alive(pid) for pid in (10, 11, 12, 13)] == [True, False, False, True]
    assert Kernel32.closed == [1, 2]


def test_a_link_planted_at_the_temporary_folder_is_never_followed_out(tmp_path):
    """audit/tmp made a link to a folder outside: writes are refused (nothing made there),
    and the clean-up of ended processes' temporary files does not reach through it."""
    from sdg_addon.writers.paths import UnsafePathError

    out, outside = tmp_path / "out", tmp_path / "outside"
    run_of(out, ["a.json"])
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    users = outside / f"{safe_name(socket.gethostname())}-{int(ended.stdout)}"
    users.mkdir(parents=True)
    (users / ".photo.png.1-1.tmp").write_text("a user's")
    os.symlink(outside, out / output.TEMP_DIR)
    with recording(out):
        with pytest.raises(UnsafePathError):
            io.write_text(out / "b.json", "{}")
    assert sorted(p.name for p in outside.iterdir()) == [users.name] and not (out / "b.json").exists()
    assert output.remove_ended_processes_temporaries(out) == 0
    assert (users / ".photo.png.1-1.tmp").read_text() == "a user's"


def test_a_link_planted_at_the_record_folder_is_never_followed_out(tmp_path):
    """audit/written made a link to a folder outside, holding a user's .txt file: --overwrite
    refuses before deleting anything (before: it deleted every *.txt there, the user's file
    too), its records are not taken for this folder's, and no record is written out there
    (before: the run noted its files through the link)."""
    from sdg_addon.writers.paths import UnsafePathError

    out, outside = tmp_path / "out", tmp_path / "outside"
    run_of(out, ["a.json"])
    outside.mkdir()
    (outside / "notes.txt").write_text("a user's")
    for record in (out / output.RECORD_DIR).iterdir():
        record.rename(outside / record.name)
    (out / output.RECORD_DIR).rmdir()
    os.symlink(outside, out / output.RECORD_DIR)
    before = sorted(p.name for p in outside.iterdir())
    with pytest.raises(OutputError, match="outside the output folder.*Nothing was deleted"):
        remove_written(out)
    assert written_files(out) == []
    with recording(out):
        with pytest.raises(UnsafePathError):
            io.write_text(out / "b.json", "{}")
    assert sorted(p.name for p in outside.iterdir()) == before
    assert (outside / "notes.txt").read_text() == "a user's" and (out / "a.json").is_file()


def test_memory_figures_are_none_not_nan_where_python_cannot_tell(monkeypatch):
    """On Windows there is no `resource` module and no /proc: the frame log's rss_mb and the
    manifest's peak_memory_mb are then null, so both stay valid JSON (NaN is not)."""
    import builtins

    from sdg_addon import audit

    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    assert audit.current_rss_mb() > 0 and audit.peak_memory_mb() > 0  # here: known
    monkeypatch.setitem(sys.modules, "resource", None)  # import resource -> ImportError
    monkeypatch.setattr(builtins, "open", no_proc)
    assert audit.peak_memory_mb() is None and audit.current_rss_mb() is None
    json.dumps({"rss_mb": audit.current_rss_mb(), "peak_memory_mb": audit.peak_memory_mb()}, allow_nan=False)


def test_folders_that_could_not_be_made_are_refused_up_front(tmp_path):
    """Exit 2 before anything, not a failure at the first write: a link to nothing, a file
    where a folder above should be, a name one byte longer than the file system takes (the
    longest it takes is accepted)."""
    (tmp_path / "gone").symlink_to(tmp_path / "nothing")
    with pytest.raises(OutputError, match="does not exist"):
        check_folder(tmp_path / "gone")
    (tmp_path / "file.txt").write_text("mine")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_folder(tmp_path / "file.txt" / "sub")
    # A link that leads nowhere on the way (before: exit 1 at the first write, "File exists").
    with pytest.raises(OutputError, match="gone is a link to .*nothing, which leads nowhere"):
        check_folder(tmp_path / "gone" / "sub")
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    with pytest.raises(OutputError, match="loop1 is a link to .*loop2, which leads nowhere"):
        check_folder(tmp_path / "loop1" / "a" / "b")
    longest = os.pathconf(tmp_path, "PC_NAME_MAX")
    check_folder(tmp_path / ("a" * longest) / "b")
    with pytest.raises(OutputError, match="longer than its file system takes"):
        check_folder(tmp_path / ("a" * (longest + 1)) / "b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt", "gone", "loop1", "loop2"]  # nothing made


def test_a_new_folder_in_one_this_user_cannot_write_is_refused_up_front(tmp_path, monkeypatch):
    """--out new/ds in a folder the user cannot write (a read-only share, another user's
    project): validate said OK and render built the whole scene, then ended 'cannot write
    to new/ds: Permission denied' (exit 1). It is now refused before anything (validate
    too); an existing dataset there is not (its --resume, complete, writes nothing)."""
    shared = tmp_path / "shared"
    (shared / "ds").mkdir(parents=True)
    shared.chmod(0o555)
    real_access = os.access
    # root writes anywhere: the test looks at the folder as another user would
    monkeypatch.setattr(output.os, "access", lambda p, m: Path(p) != shared and real_access(p, m))
    try:
        for new in (shared / "new", shared / "new" / "ds"):
            with pytest.raises(OutputError, match=f"cannot be made: {shared.as_posix()} is not writable by this user"):
                check_folder(new)
            assert "is not writable by this user" in output.unusable_location(str(new), writable=True)
        check_folder(shared / "ds")  # there already
        assert sorted(p.name for p in shared.iterdir()) == ["ds"]  # nothing made
    finally:
        shared.chmod(0o755)


def test_a_folder_whose_path_leaves_no_room_below_it_is_refused_up_front(tmp_path):
    """An output folder of 4075 bytes (Linux takes paths of fewer than 4096) was made, its
    audit/dataset.json written, and the run ended with exit 1, 'cannot write to OUT: File
    name too long' at the next file. A path leaving less than WRITTEN_BELOW bytes below the
    system's limit is refused before anything is made (exit 2; validate says it too); one
    byte shorter is taken."""
    limit = os.pathconf(tmp_path, "PC_PATH_MAX")
    room = limit - output.WRITTEN_BELOW - 1  # the longest path taken

    def folder(length: int) -> Path:
        path = tmp_path.resolve()
        while length - len(os.fsencode(str(path))) - 1 > 200:  # names of 200 bytes, then the rest
            path = path / ("d" * 200)
        path = path / ("e" * (length - len(os.fsencode(str(path))) - 1))
        assert len(os.fsencode(str(path))) == length
        return path

    check_folder(folder(room))
    with pytest.raises(OutputError, match=r"its path is \d+ bytes long.*fewer than \d+ bytes"):
        check_folder(folder(room + 1))
    assert output.unusable_location(str(folder(room + 1))) is not None
    assert list(tmp_path.iterdir()) == []  # nothing made


def test_a_file_there_already_is_replaced_only_when_the_tool_wrote_it(tmp_path):
    """Written before by this process, or recorded by another (an earlier run's, or a
    process that recorded it after this one first read the records): replaced. Not
    recorded: refused by name, left as it was."""
    ds = tmp_path / "ds"
    folder = OutputFolder(ds)
    folder.open()
    try:
        io.write_text(ds / "a.txt", "1")
        io.write_text(ds / "a.txt", "2")  # this process's own
        (ds / "user.txt").write_text("mine")
        with pytest.raises(output.ForeignFileError, match="user.txt"):
            io.write_text(ds / "user.txt", "x")
        assert (ds / "user.txt").read_text() == "mine"
        (ds / "other.txt").write_text("by another process")
        with open(ds / output.RECORD_DIR / "otherhost-1.txt", "a") as f:  # recorded after the first read
            f.write(json.dumps("other.txt") + "\n")
        io.write_text(ds / "other.txt", "3")
        assert (ds / "other.txt").read_text() == "3"
    finally:
        folder.close()


def test_previews_replace_only_previews_and_are_recorded_from_a_clips_folder(tmp_path):
    """`preview --out`: a .png only; an existing file only when it is an earlier preview
    (its PNG text says so), never a user's picture or a parameter file; a preview of a clip's
    folder (inside a dataset) is recorded in the dataset, so --overwrite removes it."""
    from PIL import Image

    from headless.cli import _recorded_if_inside
    from sdg_addon import visualize

    image = Image.new("RGB", (4, 3), (10, 20, 30))
    with pytest.raises(ValueError, match=r"\.png"):
        with _recorded_if_inside(tmp_path, tmp_path / "p.toml"):
            pass
    mine = tmp_path / "mine.png"
    Image.new("RGB", (2, 2)).save(mine)
    with pytest.raises(ValueError, match="not a preview"):
        with _recorded_if_inside(tmp_path, mine):
            pass
    ours = tmp_path / "ours.png"
    with _recorded_if_inside(tmp_path, ours):
        visualize.save_png(image, ours)
    assert visualize.is_preview(ours) and not visualize.is_preview(mine)
    with _recorded_if_inside(tmp_path, ours):  # again: it is ours
        visualize.save_png(image, ours)
    assert np.asarray(Image.open(ours)).tolist() == np.asarray(image).tolist()

    ds = tmp_path / "ds"
    folder = OutputFolder(ds)
    folder.open()
    folder.close()
    clip = ds / "clip_0001"
    clip.mkdir()
    sheet = clip / "preview" / "sheet.png"
    with _recorded_if_inside(clip, sheet):
        visualize.save_png(image, sheet)
    assert "clip_0001/preview/sheet.png" in written_files(ds)
    with _recorded_if_inside(clip, sheet):  # an earlier preview inside the dataset: replaced
        visualize.save_png(image, sheet)

    # A frame's own image, recorded as the tool's file, is no preview: never replaced (before:
    # `preview DIR --out DIR/rgb_0000.png` wrote the panel over the frame, exit 0).
    frame = clip / "rgb_0000.png"
    output.activate(ds)
    try:
        io.write_bytes(frame, b"the frame")
    finally:
        output.deactivate(ds)
    assert "clip_0001/rgb_0000.png" in written_files(ds)
    with pytest.raises(ValueError, match="not a preview"):
        with _recorded_if_inside(clip, frame):
            visualize.save_png(image, frame)
    assert frame.read_bytes() == b"the frame"


def test_two_processes_removing_ended_processes_temporaries_at_once_both_succeed(tmp_path, monkeypatch):
    """The render processes of a resumed parallel or Ray run start together, and each removes
    the temporaries a killed earlier run left: the one that lists a dead process's folder
    after the other removed it went on (before: FileNotFoundError, reported as "cannot write
    to OUT: No such file or directory", and the render process exited 1)."""
    out = tmp_path / "out"
    run_of(out, ["a.json"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    host = safe_name(socket.gethostname())
    gone, left = (out / output.TEMP_DIR / f"{host}-{int(dead.stdout) + k}" for k in (0, 1_000_000))
    for folder in (gone, left):
        folder.mkdir(parents=True)
        (folder / ".rgb_0001.png.5-1.tmp").write_text("torn")
    listed = output._dead_processes_folders

    def the_other_process_was_quicker(folder):
        found = listed(folder)
        (gone / ".rgb_0001.png.5-1.tmp").unlink()  # the other process's removal, between list and look
        gone.rmdir()
        return found

    monkeypatch.setattr(output, "_dead_processes_folders", the_other_process_was_quicker)
    assert output.remove_ended_processes_temporaries(out) == 1
    assert not gone.exists() and not left.exists()


def test_a_write_the_disk_refuses_names_the_file(tmp_path, monkeypatch):
    """A full disk refuses os.write on the temporary file's descriptor, an OSError without a
    file name: the error names the file being written, so the run's one line says which
    (before: "cannot write to OUT: No space left on device (OUT)", the folder alone)."""
    import errno

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.os, "write", full)  # write_bytes' own writes
    monkeypatch.setattr(io.np, "save", lambda f, *a, **k: full(f, None))  # a stream's (file object's)
    for write, path in ((io.write_bytes, tmp_path / "a.bin"), (io.write_npy, tmp_path / "b.npy")):
        with pytest.raises(OSError) as e:
            write(path, b"x" * 10 if write is io.write_bytes else np.zeros(3))
        assert e.value.errno == errno.ENOSPC and e.value.filename == str(path), e.value
        assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


@pytest.mark.parametrize("how", ["deleted", "moved", "log deleted"])
def test_a_frame_log_gone_during_the_run_stops_it(tmp_path, how):
    """The output folder deleted (or moved) while a run wrote into it: the open frame log took
    the next records into a deleted file, the writers made the folder again, and the run
    ended 'Done: 4 frame(s) written' with frame 0 gone, no frames.jsonl, no inputs (seen from
    the recorder panel). The next record now stops the run with an OSError saying so, which
    the run reports as it reports a full disk."""
    import shutil

    from sdg_addon import audit

    out = tmp_path / "out"
    log = audit.FrameLog(out / "audit" / "frames.jsonl")
    log.append({"frame": 0})
    if how == "deleted":
        shutil.rmtree(out)
    elif how == "moved":
        out.rename(tmp_path / "elsewhere")
    else:
        (out / "audit" / "frames.jsonl").unlink()
    (out / "audit").mkdir(parents=True, exist_ok=True)  # as the run's writers would make it again
    with pytest.raises(FileNotFoundError, match="the output folder was deleted, moved or replaced during the run"):
        log.append({"frame": 1})
    log.close()


def test_a_write_numpy_says_the_disk_refused_keeps_its_cause(tmp_path, monkeypatch):
    """numpy's own writes to a stream (np.save of a .npy into a full disk) raise an OSError
    without an errno, its cause in the message alone ("Not enough free space to write N
    bytes"): the file's name added to it made it '[Errno None] None: PATH', so the run's one
    line said 'cannot write to OUT: [Errno None] None: ...' (seen on a 200 kB file system);
    the cause is kept beside the file's name."""
    from sdg_addon.recorder import disk_error

    def full(f, *a, **k):
        raise OSError("Not enough free space to write 96 bytes")

    monkeypatch.setattr(io.np, "save", full)
    path = tmp_path / "depth_0001.npy"
    with pytest.raises(OSError) as e:
        io.write_npy(path, np.zeros(3))
    assert e.value.filename == str(path) and e.value.strerror == "Not enough free space to write 96 bytes"
    line = str(disk_error(e.value, tmp_path))
    assert line == f"cannot write to {tmp_path.as_posix()}: Not enough free space to write 96 bytes ({path.as_posix()})"
    assert list(tmp_path.iterdir()) == []
    # A disk that refuses a byte more too: its reason is the one said (numpy's text said none:
    # 'cannot write to OUT: 3072 requested and 3040 written (...)' on a full file system)
    import errno

    def refused(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.os, "write", refused)
    with pytest.raises(OSError) as e:
        io.write_npy(path, np.zeros(3))
    monkeypatch.undo()
    assert str(disk_error(e.value, tmp_path)).endswith(f": No space left on device ({path.as_posix()})")
    assert list(tmp_path.iterdir()) == []
