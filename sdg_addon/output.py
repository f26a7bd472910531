"""The output folder belongs to the run: what may be written there, and what may be deleted.

- A run writes only into a folder that is empty, new, or already a dataset of this tool
  (identified by its marker, audit/dataset.json). `/`, the home folder, the working
  folder and their ancestors are refused outright.
- Every file the tool writes is recorded first (audit/written/*.txt, one file per process,
  one JSON string per line, relative to the folder). `--overwrite` deletes exactly the
  recorded files (and temp files beside them), never anything else.
- One run at a time: a lock file holds the holder's pid, process start time and host. A
  lock whose process is dead (on this host, machine and PID namespace) is stale and taken
  over. Shards of one run share the folder, each with its own lock.
- While a folder is active in a process, writers.io refuses any write outside it
  (before_write), so a bug in a writer cannot put a file anywhere else.
- writers.io makes each file under a temporary name in the process's own folder,
  audit/tmp/HOST-PID-PLACE/ (PLACE: its machine and PID namespace), and renames it into
  place: many processes creating files in one folder contend for that folder's lock in
  the file system (on ext4, 8 writer processes spent 4-10x the CPU of one a file; measured
  in docs/benchmarks.md), a rename much less.
  A process removes its folder when done; a killed process's is removed with its files by
  the next run's clean-up (on this host, machine and PID namespace: another's processes
  cannot be checked).
"""

from __future__ import annotations

import atexit
import fnmatch
import json
import os
import re
import socket
import stat
import threading
import time
from pathlib import Path

from .home import expand_home
from .writers.paths import UnsafePathError, check_inside, safe_name

AUDIT_DIR = "audit"
MARKER = f"{AUDIT_DIR}/dataset.json"
RECORD_DIR = f"{AUDIT_DIR}/written"
TEMP_DIR = f"{AUDIT_DIR}/tmp"  # one folder a process for writers.io's temporary files
TOOL = "sdg"


class OutputError(RuntimeError):
    """The output folder cannot be used as asked (shown without a traceback, exit 2)."""


class DeleteRefused(OSError):
    """--overwrite could not delete a file the tool wrote: the system refused (an immutable
    file, chattr +i; a folder without write permission). Said as 'cannot delete', not as a
    write that failed (recorder.disk_error)."""


class ForeignFileError(UnsafePathError):
    """A file the run would write is there already and the tool did not write it (a user's
    file inside a dataset folder): it is never replaced."""


# ----------------------------------------------------------------------- refusals


def refused_location(text: str) -> str | None:
    """What makes `text` a place no dataset is ever written to, whatever is there: the file
    system root, the home folder, the working folder, or a folder above one of them (its
    words, with the resolved path); None for any other folder."""
    real = Path(os.path.realpath(expand_home(text)))
    protected = {Path("/"): "the file system root"}
    home = expand_home("~")  # (stays "~" where the system knows no home folder)
    if home.is_absolute():
        protected[Path(os.path.realpath(home))] = "your home folder"
    protected[Path(os.path.realpath(Path.cwd()))] = "the working folder itself"
    for folder, what in protected.items():
        if real == folder or real in folder.parents:
            return f"{what if real == folder else 'a folder above ' + what} ({real.as_posix()})"
    return None


def unusable_location(text: str, writable: bool = False) -> str | None:
    """Why `text` cannot be made or used as an output folder as the disk is now (a file
    there or above it, a link leading nowhere, a name too long; `writable`: a new folder in
    one this user cannot write, which render's check_folder refuses), in check_folder's
    words; None when render could make or use it. Whether it holds others' files is not
    asked: that depends on the run (a --resume)."""
    real = Path(os.path.realpath(expand_home(text)))
    try:
        _check_creatable(text, real, writable)
    except OutputError as e:
        return str(e)
    if real.exists() and not real.is_dir():
        return f"output folder {text!r} is a file, not a folder"
    return None


def check_folder(out: Path) -> Path:
    """The resolved folder, after refusing what must never be an output folder.

    Checks only (nothing is created): called before any input is loaded into Blender.
    """
    text = str(out)
    if not text.strip() or "\0" in text:
        raise OutputError(f"output folder {text!r}: expected a folder path (not empty)")
    real = Path(os.path.realpath(expand_home(text)))
    refused = refused_location(text)
    if refused is not None:
        raise OutputError(
            f"output folder {text!r} is {refused}: give a dataset its own folder, e.g. --out out/my_dataset"
        )
    unusable = unusable_location(text, writable=True)
    if unusable is not None:
        raise OutputError(unusable)
    if real.is_dir() and not is_dataset(real):
        try:
            first = _first_not_of_a_starting_run(real)
        except OSError as e:
            raise OutputError(f"output folder {text!r} cannot be read ({e.strerror or e})") from None
        # A run starting in the folder meanwhile may have made its marker since the look
        # above (its files then are a dataset's): the lock decides between the two runs.
        if first is not None and not is_dataset(real):
            raise OutputError(
                f"output folder {text!r} holds files this tool did not write (e.g. {first!r}); "
                "use an empty or new folder (a dataset of this tool has audit/dataset.json)"
            )
    return real


def _check_creatable(text: str, real: Path, writable: bool = False) -> None:
    """Refuse, before anything is written, an output folder that could not be made: a link
    to nothing, a file where a folder above it should be, a name too long for its file
    system; `writable`: a new folder in one this user cannot write (each would fail at the
    first write instead, once the scene was built)."""
    url = URL.match(text)
    if url:
        raise OutputError(
            f"output folder {text!r} is a URL ({url[1]}://): the run writes to a folder of this system's file "
            f"systems, so it would be a folder named {url[1] + ':'!r} in the working folder; render into a local "
            "folder and copy it, or into the folder where the storage is mounted (gcsfuse, s3fs, ...)"
        )
    windows = _windows_only(text)
    if windows is not None:
        raise OutputError(f"output folder {text!r} {windows}")
    if text.startswith("~") and str(expand_home(text)) == text:
        user = text.split("/")[0]
        whose = f"no user {user[1:]!r}" if user != "~" else "HOME is not set, and the user has no entry"
        raise OutputError(
            f"output folder {text!r}: {user!r} is no home folder on this system ({whose}): it would be a "
            f"folder named {user!r} in the working folder; give a folder of this system (./{user}/... for such "
            "a folder)"
        )
    given = expand_home(text)
    if os.path.islink(given) and not os.path.exists(real):
        raise OutputError(f"output folder {text!r} is a link to {real.as_posix()}, which does not exist")
    for above in given.parents:  # a link on the way that leads nowhere: to nothing, or round a loop
        if os.path.islink(above) and not os.path.exists(above):
            raise OutputError(
                f"output folder {text!r}: {above.as_posix()} is a link to {os.readlink(above)}, which leads nowhere "
                "(it does not exist, or the links go round in a loop)"
            )
    for above in [real, *real.parents]:
        if os.path.exists(above):  # (os.path's: False, not an error, for a name too long)
            if not os.path.isdir(above):
                raise OutputError(f"output folder {text!r}: {above.as_posix()} is a file, not a folder")
            try:
                longest = os.pathconf(above, "PC_NAME_MAX")
            except (OSError, ValueError, AttributeError):  # not asked on Windows: 255 there
                longest = 255
            too_long = [p.name for p in [real, *real.parents] if p != above and above in p.parents]
            too_long = [n for n in too_long if len(os.fsencode(n)) > longest]
            if too_long:
                raise OutputError(
                    f"output folder {text!r}: the name {too_long[0][:40]!r}... is longer than its "
                    f"file system takes ({len(os.fsencode(too_long[0]))} bytes, at most {longest})"
                )
            _check_path_length(text, given, real, above)
            if writable and above != real and not os.access(above, os.W_OK | os.X_OK):
                raise OutputError(
                    f"output folder {text!r} cannot be made: {above.as_posix()} is not writable by this user "
                    "(its permissions, or a read-only file system); give a folder where this user can write"
                )
            return


URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):/")  # gs://, s3://, file://, https:// (a drive is one letter;
# a Path made of --out keeps one slash of two: gs:/bucket)


def _windows_only(text: str) -> str | None:
    """What makes `text` a folder of Windows only, on Linux or macOS (a parameter file made on
    Windows): a drive (D:/data) or a backslash, which there are part of a name, so the run
    would write into a folder named 'D:' or 'out\\run1' in the working folder. None on Windows."""
    if os.name == "nt":
        return None
    drive = re.match(r"[A-Za-z]:(?=[\\/]|$)", text)
    if drive:
        return (
            f"is a Windows path (drive {drive[0]}): on this system it would be a folder named "
            f"{drive[0]!r} in the working folder; give a folder of this system"
        )
    if "\\" in text:
        slashed = text.replace("\\", "/")
        return (
            "holds a backslash, no folder separator on Linux and macOS (it would be part of a folder's "
            f"name): write {slashed!r}, which works on Windows too"
        )
    return None


# The longest path below the output folder that a run writes, with room to spare: a
# temporary file in audit/tmp/HOST-PID-PLACE/, a camera's (80 characters) clip and annotator
# folders and their files. A folder leaving less than this below the system's limit on a
# path would fail at a write, after the audit trail was begun.
WRITTEN_BELOW = 256


def _check_path_length(text: str, given: Path, real: Path, existing: Path) -> None:
    """Refuse an output folder whose path leaves less than WRITTEN_BELOW bytes below the
    system's limit on a path (PC_PATH_MAX: 4096 on Linux, 1024 on macOS; not asked on
    Windows, where writers.io keeps temporary files short)."""
    try:
        limit = os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        return
    if not limit or limit < 0:
        return
    length = max(len(os.fsencode(os.path.abspath(given))), len(os.fsencode(str(real))))
    if length + WRITTEN_BELOW >= limit:
        shown = text if len(text) <= 60 else f"{text[:60]}..."
        raise OutputError(
            f"output folder {shown!r}: its path is {length} bytes long, and the files a run writes below it "
            f"take up to {WRITTEN_BELOW} more: this system takes paths of fewer than {limit} bytes "
            f"(give a folder of at most {limit - WRITTEN_BELOW - 1} bytes)"
        )


_LOCK_NAME = re.compile(r"\.sdg(?:\.shard\d+of\d+)?\.lock")  # Lock.path's names


def _first_not_of_a_starting_run(folder: Path) -> str | None:
    """The first entry of a folder without the marker that a run of this tool starting in it
    would not have made: a run takes the lock, then writes audit/dataset.json through a
    temporary file, so its lock and that temporary file (a second run's look may fall in
    between) are the tool's, not a user's. None when there is no other entry."""
    for entry in sorted(folder.iterdir()):
        if not os.path.lexists(entry):
            continue  # gone since the listing: a starting run's temporary file, renamed
        plain_file = entry.is_file() and not entry.is_symlink()
        if plain_file and _LOCK_NAME.fullmatch(entry.name):
            continue
        if entry.name == AUDIT_DIR and entry.is_dir() and not entry.is_symlink():
            marker = os.path.basename(MARKER)
            others = [
                e
                for e in sorted(entry.iterdir())
                if os.path.lexists(e) and (temporary_target(e.name) != marker or not e.is_file())
            ]
            if not others:
                continue
            return f"{AUDIT_DIR}/{others[0].name}"
        return entry.name
    return None


def is_dataset(folder: Path) -> bool:
    try:
        marker = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("tool") == TOOL


# ----------------------------------------------------------------------- the lock


def _process_start(pid: int) -> str | None:
    """Start time of a process (Linux, clock ticks since boot); guards against pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (someone else's counts)."""
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


def _windows_process_alive(pid: int) -> bool:
    """os.kill(pid, 0) is no probe on Windows: signal 0 is CTRL_C_EVENT there (sent to a
    console process group, an error for any other id). The kernel is asked instead."""
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists; 87: no such process
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: never assumed dead
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def _pid_namespace() -> str | None:
    """This process's PID namespace (Linux: 'pid:[4026531836]'), None elsewhere. Containers
    sharing the machine's host name (docker run --network host) number their processes each
    in its own: a pid of another's means nothing here."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except (OSError, AttributeError):
        return None


INIT_PID_NAMESPACE = "pid:[4026531836]"  # Linux's first PID namespace: the machine's own, on every machine
BOOT_ID = "/proc/sys/kernel/random/boot_id"  # Linux: new at each boot, one for the machine and its containers


def _read_id(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read(100).strip() or None
    except (OSError, ValueError):
        return None


def _machine() -> str | None:
    """This machine, as far as the system says (None where it says nothing): in the
    machine's own PID namespace its machine-id (kept across reboots: a lock of a process a
    reboot ended is still this machine's, and taken over); in a container's, the kernel's
    boot id (a container's image may carry a machine-id every machine's copy shares, and a
    container started again is another PID namespace anyway). Two machines of one host name
    (both 'localhost', or containers of one name on two machines sharing a network file
    system) number their processes and their PID namespaces alike: this tells them apart."""
    if _pid_namespace() in (INIT_PID_NAMESPACE, None):
        found = _read_id("/etc/machine-id") or _read_id("/var/lib/dbus/machine-id")
        if found:
            return found
    return _read_id(BOOT_ID)


def _checkable_here(info: dict) -> bool:
    """Whether the process holding a lock (its content `info`) can be looked at from here:
    this host's, on this machine, in this PID namespace (a lock that does not name its
    machine or namespace: as before, this one)."""
    if info.get("host") != socket.gethostname():
        return False
    ns, machine = info.get("pid_ns"), info.get("machine")
    return (ns is None or ns == _pid_namespace()) and (machine is None or machine == _machine())


def _alive(pid: int, start: str | None) -> bool:
    if pid <= 0:
        return True  # unknown holder: never assumed dead
    if not process_alive(pid):
        return False
    now = _process_start(pid)
    return start is None or now is None or now == start


def holder_token(info: dict) -> str:
    """The holder of a lock as "HOST:PID" (from the lock file's content)."""
    return f"{info.get('host')}:{info.get('pid')}"


TORN_LOCK_SECONDS = 60  # a lock that cannot be read (empty, torn) is respected this long


class Lock:
    """`<folder>/.sdg.lock` (or `.sdg.shardIofN.lock`): created exclusively, removed at the end.

    A parallel run's parent holds the whole folder's lock for the run; its render processes
    (`run_holder`: the parent's "HOST:PID") take their own locks beside it, which that one
    lock, and no other, lets through. Shards lock side by side, except an `exclusive` one
    (--overwrite deletes what every run recorded in the folder, other shards' files too)."""

    def __init__(
        self,
        folder: Path,
        shard: tuple[int, int] | None = None,
        run_holder: str | None = None,
        exclusive: bool = False,
    ):
        self.folder = Path(folder)
        tag = f".shard{shard[0]}of{shard[1]}" if shard else ""
        self.path = self.folder / f".sdg{tag}.lock"
        self.shard = shard
        self.run_holder = run_holder
        self.exclusive = exclusive
        self.held = False
        self.holder = ""  # "HOST:PID" once held (what render processes are given as run_holder)

    def holder_text(self, info: dict) -> str:
        if "unreadable_for" in info:  # empty or torn, and young (_read)
            return (
                f"its lock cannot be read: written {info['unreadable_for']:.0f} s ago, by a run starting now or "
                f"one killed while it wrote it; taken over once it is {TORN_LOCK_SECONDS} s old"
            )
        where = ""
        if info.get("host") == socket.gethostname() and not _checkable_here(info):
            # A container's machine is its boot id, the machine's own its machine-id: another
            # PID namespace says more than the machine (one machine, a container and its host).
            ns = info.get("pid_ns")
            where = (
                " in another PID namespace (a container sharing this host's name)"
                if ns is not None and ns != _pid_namespace()
                else " on another machine of this host name"
            )
        return f"pid {info.get('pid')} on {info.get('host')}{where}, started {info.get('started', '?')}"

    def _others(self) -> list[Path]:
        """Locks that exclude this one: any lock for a whole run or an exclusive shard; for a
        shard, a whole run's lock, its own name's, and an exclusive shard's (see acquire)."""
        if self.shard is None or self.exclusive:
            return sorted(self.folder.glob(".sdg*.lock"))
        return sorted({self.folder / ".sdg.lock", self.path, *self.folder.glob(".sdg.shard*.lock")})

    def held_by_another(self, acquiring: bool = False) -> str | None:
        """Why this lock cannot be taken now: another run holds one that excludes it ("another
        run is writing to ..."); None when it can. A lock whose process is gone (this host)
        does not count: `acquiring` deletes it, a look leaves it as it is and does not count
        this process's own lock either (a run looks at its folder again once it holds it)."""
        for other in self._others():
            info = self._read(other)
            if info is None:
                continue
            if self.run_holder and other.name == ".sdg.lock" and holder_token(info) == self.run_holder:
                continue  # the parallel run this process renders for
            if not acquiring and _checkable_here(info) and info.get("pid") == os.getpid():
                continue  # this process's own
            side_by_side = self.shard is not None and other.name not in (".sdg.lock", self.path.name)
            if side_by_side and not self.exclusive and not info.get("exclusive"):
                continue  # another shard: shards render side by side
            if _checkable_here(info) and not _alive(int(info.get("pid", -1)), info.get("pid_start")):
                if acquiring:
                    other.unlink(missing_ok=True)  # stale: its process is gone
                continue
            why = ""
            if side_by_side:  # a shard beside an --overwrite shard
                why = (
                    " (--overwrite deletes every run's files in the folder, other shards' too: start anew "
                    "with one --overwrite, then the other shards without it)"
                )
            return (
                f"another run is writing to {self.folder.as_posix()} ({self.holder_text(info)}; lock "
                f"{other.name}){why}. Wait for it to end, or, if that process is gone, delete {other.as_posix()}"
            )
        return None

    def acquire(self) -> None:
        me = {
            "pid": os.getpid(),
            "pid_start": _process_start(os.getpid()),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),  # with its offset: read on hosts of other zones
        }
        if _pid_namespace() is not None:
            me["pid_ns"] = _pid_namespace()
        if _machine() is not None:
            me["machine"] = _machine()
        if self.exclusive:
            me["exclusive"] = True
        busy = self.held_by_another(acquiring=True)
        if busy is not None:
            raise OutputError(busy)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise OutputError(f"another run took the lock {self.path.as_posix()} just now") from None
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
        except BaseException as e:
            # Made just now and not written (a full disk, a quota): removed, so that the next
            # run is not told for a minute that another run is writing (an unreadable lock).
            self.path.unlink(missing_ok=True)
            if isinstance(e, OSError) and e.filename is None:
                e.filename = str(self.path)
            raise
        self.held = True
        self.holder = holder_token(me)

    @staticmethod
    def _read(path: Path) -> dict | None:
        try:
            info = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            info = {}  # unreadable or torn: treat as held by an unknown process
        if not isinstance(info, dict) or not isinstance(info.get("pid"), int):
            # A lock without a pid cannot be checked; it was cut short while being written.
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                return None
            if age > TORN_LOCK_SECONDS:
                path.unlink(missing_ok=True)  # stale and unreadable: taken over
                return None
            return {"pid": -1, "host": "?", "unreadable_for": max(age, 0.0)}
        return info

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def remove_ended_holders_lock(path: Path, pid: int) -> None:
    """Delete the lock at `path` if process `pid` of this host holds it and has ended (a
    killed render process of a Ray actor leaves its lock; its replacement has another).
    Ended as Lock.acquire judges it: a pid taken by a newer process counts as ended."""
    info = Lock._read(Path(path))
    ours = info and info.get("pid") == pid and _checkable_here(info)
    if ours and not _alive(pid, info.get("pid_start")):
        Path(path).unlink(missing_ok=True)


# ----------------------------------------------------------------------- the record

_active: dict[str, _Record] = {}  # real folder path -> its record in this process
_active_lock = threading.Lock()


NOTED_NAMES = 4096


_removed_at_exit: set[Path] = set()  # temporary folders this process removes when it ends


def _host_name() -> str:
    """This host's name as a path component (the system's name is any text)."""
    return safe_name(socket.gethostname())


def _process_name() -> str:
    """HOST-PID-PLACE: the name of this process's files in the record and its temporary
    folder. PLACE (machine_place) tells apart processes of one host name and pid on other machines
    or in other containers (pid 1 in each) writing one folder of a network file system."""
    return f"{_host_name()}-{os.getpid()}-{machine_place()}"


def machine_place() -> str:
    """This machine and PID namespace (_machine, _pid_namespace) in 8 characters: processes
    whose pids can be looked at from here share it."""
    import hashlib

    return hashlib.sha256(f"{_machine()}|{_pid_namespace()}".encode()).hexdigest()[:8]


class _Record:
    def __init__(self, root: Path):
        self.root = root
        self.fd: int | None = None
        self.lock = threading.Lock()
        self.noted: set[str] = set()
        self.temp: tuple[int, str] | None = None  # (pid, folder): this process's temporary folder
        self.on_record: set[str] | None = None  # every process's record, read at the first need

    def recorded(self, rel: str) -> bool:
        """Whether the tool wrote `rel` (this process now, or any process of this or an
        earlier run: audit/written/). The records are read when a file to be written is
        there already (a resumed frame, a file written again), then again only for a name
        they did not hold (another process may have written it since)."""
        with self.lock:
            if rel in self.noted or (self.on_record is not None and rel in self.on_record):
                return True
            self.on_record = set(written_files(self.root))
            return rel in self.on_record

    def temp_folder(self) -> str:
        """This process's folder for temporary files (audit/tmp/HOST-PID-PLACE): writers.io makes
        it at the first file that needs it; removed when the process ends, if empty."""
        with self.lock:
            if self.temp is None or self.temp[0] != os.getpid():
                folder = self.root / TEMP_DIR / _process_name()
                check_inside(self.root, folder)  # a link planted at audit/tmp never leads out
                self.temp = (os.getpid(), str(folder))
                if folder not in _removed_at_exit:  # workers end without deactivate()
                    _removed_at_exit.add(folder)
                    atexit.register(_remove_empty, folder)
            return self.temp[1]

    def remove_temp_folder(self) -> None:
        with self.lock:
            if self.temp is not None and self.temp[0] == os.getpid():
                _remove_empty(Path(self.temp[1]))
            self.temp = None

    def note(self, rel: str) -> None:
        with self.lock:
            if rel in self.noted:
                return
            if self.fd is None:
                folder = self.root / RECORD_DIR
                check_inside(self.root, folder)  # a link planted at audit/written never leads out
                folder.mkdir(parents=True, exist_ok=True)
                name = f"{_process_name()}.txt"
                self.fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                line = memoryview((json.dumps(rel) + "\n").encode())
                while line:  # a nearly full disk takes part of a line: the rest, or its refusal
                    line = line[os.write(self.fd, line) :]
            except OSError as e:  # a full disk: named, not the output folder alone
                if e.filename is None:
                    e.filename = str(self.root / RECORD_DIR / f"{_process_name()}.txt")
                raise
            # Names already noted, so a file written again (run-level files) adds no line;
            # kept small: per-frame names are new every time, and a long run's worth of
            # them grew the process by ~3 KB a frame (a name noted twice is harmless).
            if len(self.noted) >= NOTED_NAMES:
                self.noted.clear()
            self.noted.add(rel)
            if self.on_record is not None:  # once read, kept whole: no reading again for ours
                self.on_record.add(rel)

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None


def activate(folder: Path) -> None:
    """From now on, this process records what it writes under `folder` and writes nowhere else."""
    real = os.path.realpath(folder)
    _real_folders.clear()  # folders may have been made, moved or linked since
    with _active_lock:
        _active.setdefault(real, _Record(Path(real)))


def deactivate(folder: Path) -> None:
    real = os.path.realpath(folder)
    with _active_lock:
        record = _active.pop(real, None)
    if record is not None:
        record.close()
        record.remove_temp_folder()


def _remove_empty(folder: Path) -> None:
    """Remove a process's temporary folder, and audit/tmp with it, when empty (never a file)."""
    for f in (folder, folder.parent):
        try:
            f.rmdir()
        except OSError:
            return  # not empty (a file being written, another process's folder) or gone


_real_folders: dict[str, str] = {}  # folder as written -> its real path (bounded, see below)


def _real_path(path: Path) -> tuple[str, bool]:
    """os.path.realpath(path), with the folder's part resolved once per folder: a frame
    writes dozens of files into a few folders, and realpath costs a system call for every
    component of every path. The file itself is looked at each time (a symlink in its place
    is resolved in full); also whether something is there already."""
    folder, name = os.path.split(os.fspath(path))
    try:
        there = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        there = None
    if name in ("", ".", "..") or (there is not None and stat.S_ISLNK(there.st_mode)):
        return os.path.realpath(path), there is not None
    real = _real_folders.get(folder)
    if real is None:
        if len(_real_folders) >= 1024:
            _real_folders.clear()
        real = _real_folders[folder] = os.path.realpath(folder or ".")
    return os.path.join(real, name), there is not None


def before_write(path: Path) -> str | None:
    """Called by writers.io for every file before it is written: record it, or refuse it.
    Returns the folder to make its temporary file in (this process's own, inside the output
    folder), or None: beside the file.

    Without an active folder (a writer used on its own, the preview command) nothing is
    checked. With one, a path outside every active folder is an error, and so is a file
    there already that the tool did not write (a user's, never replaced).
    """
    if not _active:
        return None
    real, there = _real_path(path)
    for root, record in list(_active.items()):
        prefix = root.rstrip("/") + "/"
        if real == root or real.startswith(prefix):
            rel = real[len(prefix) :] or "."  # what os.path.relpath gives, without its work
            if rel.startswith(RECORD_DIR + "/") or rel == MARKER:
                # The marker beside itself: a second run's look at a starting run's folder
                # knows that temporary file (_first_not_of_a_starting_run), not audit/tmp.
                return None
            rel = rel.replace(os.sep, "/")
            if there and not record.recorded(rel):
                raise ForeignFileError(
                    f"refusing to replace {path}: the file is there and this tool did not write it "
                    f"(it is not in {RECORD_DIR}/); move it out of the dataset folder, then run again "
                    "(a render's finished frames are kept: --resume)"
                )
            record.note(rel)
            return record.temp_folder()
    raise UnsafePathError(f"refusing to write {path}: it is outside the output folder ({', '.join(_active)})")


def remove_written_file(path: Path) -> bool:
    """Delete `path` when the tool wrote it (recorded in an active output folder's
    audit/written/); a file it did not write, a link, or a path outside every active folder is
    left where it is. Returns whether it was removed."""
    real, there = _real_path(path)
    if not there or os.path.islink(path):
        return False
    for root, record in list(_active.items()):
        prefix = root.rstrip("/") + "/"
        if real.startswith(prefix) and record.recorded(real[len(prefix) :].replace(os.sep, "/")):
            Path(real).unlink(missing_ok=True)
            return True
    return False


def dataset_root(folder: Path) -> Path | None:
    """The dataset of this tool that `folder` is, or lies in (a camera's or a clip's
    sub-folder), or None."""
    real = Path(os.path.realpath(folder))
    return next((f for f in [real, *real.parents] if is_dataset(f)), None)


def inside_dataset(dataset: Path, path: Path) -> bool:
    """Whether `path` lies inside `dataset`, a dataset folder of this tool (where the tool's
    files are recorded as such)."""
    real_data = os.path.realpath(dataset).rstrip("/") + "/"
    return is_dataset(dataset) and (os.path.realpath(path) + "/").startswith(real_data)


def audit_refusal(dataset: Path, path: Path, option: str = "--out") -> str | None:
    """Why `path` may not take a report's or preview's files: it lies in the dataset's
    audit/ folder, the run's own records (frame logs, the record of its files, its inputs),
    where such a file could pass for one of them (a folder frames.x.jsonl/ stopped --resume
    with "Is a directory"). None where it may."""
    audit = os.path.realpath(Path(dataset) / "audit").rstrip("/") + "/"
    if (os.path.realpath(path) + "/").startswith(audit):
        return f"{option} {path}: inside the dataset's audit/ folder, the run's own records; give a place outside it"
    return None


def frames_refusal(path: Path, files_in: Path, option: str = "--out") -> str | None:
    """Why `path` (a report's folder, a preview's file) inside a dataset may not take its
    files: they would go into `files_in`, a camera's rgb annotator folder (Replicator's
    <camera>/rgb/), which is known by holding rgb_NNNN.png alone; a file beside them makes it
    pass for a camera of its own, and the camera's frames are no longer read (`report DS --out
    DS/cam/rgb` left the report of DS one camera short). Or a preview is named as a frame's
    image (rgb_0099.png), which would be read as one. None where it may (a sub-folder of the
    rgb folder takes no file beside its frames)."""
    from .writers.basic import RGB_FILE, is_rgb_annotator_folder

    if Path(files_in).is_dir() and is_rgb_annotator_folder(Path(os.path.realpath(files_in))):
        return (
            f"{option} {path}: its files would go into {files_in}, a camera's rgb annotator folder "
            "(rgb_NNNN.png alone), where another file makes the folder pass for a camera of its own and its "
            "frames go unread; give another place"
        )
    if Path(path) != Path(files_in) and RGB_FILE.match(Path(path).name) and not os.path.lexists(path):
        # (a frame's own image there is refused as no preview, replaced by none)
        return (
            f"{option} {path}: named as a frame's image (rgb_NNNN.png), which would be read as one; give another name"
        )
    return None


def written_files(folder: Path) -> list[str]:
    """Every path (relative) the tool recorded as written in `folder`, sorted, unique; none
    when audit/written is a link out of the folder: records there are not this folder's."""
    out: set[str] = set()
    if _record_dir_leads_out(Path(folder)):
        return []
    for f in sorted((Path(folder) / RECORD_DIR).glob("*.txt")):
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rel = json.loads(line)
            except ValueError:
                continue  # a torn last line
            if isinstance(rel, str):
                out.add(rel)
    return sorted(out)


def _record_dir_leads_out(folder: Path) -> bool:
    try:
        check_inside(folder, folder / RECORD_DIR)
    except UnsafePathError:
        return True
    return False


# writers.io writes NAME through a temporary ".NAME.PID-N.tmp" beside it (process id and a
# counter); versions before used tempfile.mkstemp's ".NAME.XXXXXXXX.tmp".
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?:\d+-\d+|[A-Za-z0-9_]{8})\.tmp")


def temporary_name(name: str, token: str) -> str:
    """The name writers.io gives the temporary file of `name` (token: "PID-N")."""
    return f".{name}.{token}.tmp"


def temporary_target(name: str) -> str | None:
    """NAME when `name` is a temporary file writers.io made for NAME, else None."""
    m = _TEMPORARY.fullmatch(name)
    return m.group("name") if m else None


def stale_temporaries(folder: Path, written: set[str] | None = None) -> list[Path]:
    """Temporary files a killed writer left in `folder`: ours by their name and by the file
    they were for, which the record (`written`, read when not given) says this tool wrote (a
    user's look-alike is not)."""
    folder = Path(folder)
    # Plain files only: a link with such a name is not one writers.io made (it makes none).
    found = (t for t in folder.rglob(".*.tmp") if t.is_file() and not t.is_symlink())
    candidates = [(t, temporary_target(t.name)) for t in found]
    candidates = [(t, target) for t, target in candidates if target is not None]
    if not candidates:  # the usual case: the record is not read
        return []
    if written is None:
        written = set(written_files(folder))
    return [t for t, target in candidates if (t.parent / target).relative_to(folder).as_posix() in written]


def _temp_folders(folder: Path) -> list[Path]:
    """The processes' temporary folders (audit/tmp/*) of an output folder: folders only, no
    links, and none at all when audit/tmp is a link (it is never followed out)."""
    temp = Path(folder) / TEMP_DIR
    try:
        check_inside(folder, temp)
        return sorted(e for e in temp.iterdir() if e.is_dir() and not e.is_symlink())
    except (OSError, UnsafePathError):
        return []  # none (the usual case)


def _dead_processes_folders(folder: Path) -> list[Path]:
    """The temporary folders (HOST-PID-PLACE) of processes of this host, machine and PID
    namespace that have ended (and HOST-PID, as runs before PLACE named them). Another
    host's, machine's or container's are left: whether its process still writes cannot be
    checked from here (its pid is not one of this namespace's)."""
    ours = re.compile(rf"{re.escape(_host_name())}-(\d+)(?:-{machine_place()})?")
    found = []
    for entry in _temp_folders(folder):
        m = ours.fullmatch(entry.name)
        if m and not process_alive(int(m.group(1))):
            found.append(entry)
    return found


def remove_ended_processes_temporaries(folder: Path) -> int:
    """Delete the temporary files (writers.io's names only: nothing else is touched) in the
    temporary folders of processes of this host that ended, then those folders when empty.
    Returns the number of files deleted. Several processes may do this at once (the render
    processes of a resumed parallel run start together): a folder another one removed
    meanwhile is skipped."""
    removed = 0
    for entry in _dead_processes_folders(folder):
        try:
            entries = list(entry.iterdir())
        except FileNotFoundError:
            continue  # removed by another process since it was listed
        for tmp in entries:
            if temporary_target(tmp.name) and tmp.is_file() and not tmp.is_symlink():
                tmp.unlink(missing_ok=True)
                removed += 1
        _remove_empty(entry)
    return removed


def remove_stale_temporaries(folder: Path, written: set[str] | None = None) -> int:
    """When no process of the run writes any more: delete our own temporary files a killed
    process left, beside the files the tool recorded (stale_temporaries) and in ended
    processes' temporary folders; then every empty temporary folder, another host's too
    (a Ray worker ended without its exit handlers; a process that still writes makes its
    folder again). Returns the number of files deleted."""
    stale = stale_temporaries(folder, written)
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    removed = len(stale) + remove_ended_processes_temporaries(folder)
    for entry in _temp_folders(folder):
        _remove_empty(entry)  # rmdir: never a folder with anything in it
    return removed


def link_out(folder: Path, rel: str) -> Path | None:
    """The link on the way to the recorded file `rel` (its folder) that leads out of the
    output folder `folder` (a writer's folder moved to another disk and linked back), or None.
    The run writes there, and never through a link out of it."""
    path = Path(folder) / rel
    try:
        check_inside(folder, path.parent)
    except UnsafePathError:
        return next((p for p in reversed(path.parents) if p.is_symlink() and folder in p.parents), path.parent)
    return None


def recorded_link_out(folder: Path) -> str | None:
    """What stops a run from continuing the one in `folder` (--resume): a folder of its
    recorded files that is a link out of the output folder, said (None when there is none).
    The run would render its frames, then stop at the writers' last files."""
    folder = Path(folder)
    by_folder = {rel.rpartition("/")[0]: rel for rel in written_files(folder)}  # one file of each folder
    for rel in by_folder.values():
        if rel.startswith("/") or ".." in rel.split("/"):
            continue  # a tampered record: never followed out of the folder
        link = link_out(folder, rel)
        if link is not None:
            return (
                f"{link.relative_to(folder).as_posix()} in {folder.as_posix()} is a link to {os.path.realpath(link)}, "
                "outside the output folder; the run writes there, and never through a link out of it: move "
                "that folder back in its place (or render to a new output folder). Nothing was written."
            )
    return None


def _to_remove(folder: Path, written: list[str], inputs) -> list[Path]:
    """The recorded files `--overwrite` deletes, after refusing (OutputError, nothing deleted
    yet) what would lose a user's data: an input of this run among them (a parameter file
    edited in audit/inputs/ and run from there), or a recorded folder that is now a link
    out of the output folder (the run could not write there: it would stop after deleting)."""
    keep = {os.path.realpath(f) for f in inputs}
    paths = []
    for rel in written:
        if rel.startswith("/") or ".." in rel.split("/"):
            continue  # a tampered record: never followed out of the folder
        path = folder / rel
        link = link_out(folder, rel)
        if link is not None:
            raise OutputError(
                f"--overwrite: {link.relative_to(folder).as_posix()} in {folder.as_posix()} is a link to "
                f"{os.path.realpath(link)}, outside the output folder; the run writes there, and "
                "never through a link out of it. Nothing was deleted."
            )
        if os.path.realpath(path) in keep:
            raise OutputError(
                f"--overwrite would delete {path.as_posix()}, an input of this run (the tool wrote it "
                "there as a copy); copy it out of the output folder and run that copy. Nothing was deleted."
            )
        paths.append(path)
    return paths


def _resume_trusts(rel: str) -> int:
    """0 for a frame log (audit/frames*.jsonl), 1 for a manifest, 2 for any other file."""
    if fnmatch.fnmatchcase(rel, f"{AUDIT_DIR}/frames*.jsonl"):
        return 0
    return 1 if fnmatch.fnmatchcase(rel, f"{AUDIT_DIR}/manifest*.json") else 2


def remove_written(folder: Path, inputs=()) -> int:
    """`--overwrite`: delete the files the tool recorded (and temp files beside them), then
    folders left empty by that; never anything else, and nothing at all when one of them is
    an input of the run (`inputs`) or sits behind a link out of the folder (_to_remove).
    Returns the number of files deleted."""
    folder = Path(folder)
    if _record_dir_leads_out(folder):  # its files are not this folder's records: none is deleted
        raise OutputError(
            f"--overwrite: {RECORD_DIR} in {folder.as_posix()} leads to {os.path.realpath(folder / RECORD_DIR)}, "
            "outside the output folder; the tool keeps its records inside it. Nothing was deleted."
        )
    removed = 0
    parents: set[Path] = set()
    written = written_files(folder)
    paths = _to_remove(folder, written, inputs)
    # What --resume trusts goes first (the frame logs, then the manifests): killed while
    # deleting, the folder never holds frames the log calls finished whose files are gone
    # (a camera's folder Left/ sorts before audit/: --resume then said "complete").
    paths.sort(key=lambda p: _resume_trusts(p.relative_to(folder).as_posix()))
    remove_stale_temporaries(folder, set(written))  # beside recorded files: their folders follow
    for path in paths:
        if path.is_symlink() or path.is_file():
            try:
                path.unlink()
            except OSError as e:
                raise DeleteRefused(e.errno, e.strerror, str(path)) from e
            removed += 1
        parents.update(p for p in path.parents if p != folder and folder in p.parents)
    for p in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        try:
            p.rmdir()  # only if empty: a user's file inside keeps it
        except OSError:
            pass
    for f in (folder / RECORD_DIR).glob("*.txt"):
        f.unlink()
    return removed


class OutputFolder:
    """The folder of one run: refused or accepted, locked, marked, recorded."""

    def __init__(
        self,
        folder: Path,
        shard: tuple[int, int] | None = None,
        run_holder: str | None = None,
        exclusive: bool = False,
    ):
        self.folder = Path(folder)
        self.lock = Lock(self.folder, shard, run_holder, exclusive)  # exclusive: for --overwrite
        self.fresh = False  # open() found no folder or an empty one
        self.made: list[Path] = []  # folders open() created, the output folder first

    def open(self) -> None:
        """Create (if new), lock, mark and activate the folder. Call after inputs are validated."""
        check_folder(self.folder)
        self.fresh = not self.folder.is_dir() or not any(self.folder.iterdir())
        missing = self.folder.absolute()
        while not missing.exists() and missing.parent != missing:
            self.made.append(missing)
            missing = missing.parent
        self.folder.mkdir(parents=True, exist_ok=True)  # two runs may race here; the lock decides
        self.lock.acquire()
        try:
            activate(self.folder)
            if not is_dataset(self.folder):
                from .writers import io

                io.write_json(self.folder / MARKER, {"tool": TOOL, "format": 1, "about": "written by the sdg add-on"})
        except BaseException:  # the marker refused (a full disk): the lock is not left behind
            self.close()
            raise

    def close(self) -> None:
        deactivate(self.folder)
        self.lock.release()

    def remove_if_unused(self) -> None:
        """After close(), for a run refused once its folder was open (a parallel run's render
        processes refusing the scene: exit 2): the folders open() created go again when they
        hold nothing but the marker, and a folder that was empty is emptied again: a refused
        run leaves nothing behind."""
        if not self.fresh:
            return
        files = [p for p in self.folder.rglob("*") if not p.is_dir()]
        if [p.relative_to(self.folder).as_posix() for p in files] not in ([], [MARKER]):
            return  # anything else (another run's lock, a file): the folder is kept as it is
        (self.folder / MARKER).unlink(missing_ok=True)
        inner = sorted((p for p in self.folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for folder in inner + self.made:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty: something was added meanwhile
