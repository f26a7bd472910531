"""Atomic file writing: write to a temporary name, then rename.

A crash or Ctrl-C never leaves a half-written file under the final name. Inside a run's
output folder the temporary file is made in the process's own folder (output.TEMP_DIR):
processes creating files in one shared folder contend for it in the file system.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .. import output

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_temp_count = itertools.count()

# The longest token of a temporary name: a process id (up to 10 digits) and the counter.
_LONGEST_TOKEN = "9" * 10 + "-" + "9" * 12


def _path_limit() -> int | None:
    """The longest path the system takes, when short enough to matter: Windows without long
    paths enabled (a registry setting) refuses 260 characters or more."""
    return 259 if os.name == "nt" else None


def _temp_folder_fits(folder: str, path: Path) -> bool:
    """Whether a temporary name for `path` fits in `folder` (this process's folder, ~35
    characters deeper than the output folder). Near Windows' limit it does not while the
    file itself still would: its temporary file is then made beside it (as before there
    was a temporary folder)."""
    limit = _path_limit()
    if limit is None:
        return True
    name = output.temporary_name(os.path.basename(path), _LONGEST_TOKEN)
    return len(os.path.join(os.path.abspath(folder), name)) <= limit


def _open_temp(path: Path, folder: str | None, names: list[str] | None = None) -> tuple[int, str]:
    """A new file for `path`'s content, in `folder` (this process's temporary folder inside
    the output folder) or, when None, beside `path`, under a name no one else uses (process
    id and a counter; O_EXCL refuses a name that exists anyway), with the mode a plainly
    created file gets (0666 less the umask, which the kernel applies): no random names, no
    chmod. `names` gets the name before the file is made: a stop (a worker's SIGTERM raises
    SystemExit) right after os.open made it, before this returns, leaves the caller its name."""
    where = os.path.dirname(path) if folder is None else folder
    while True:
        name = output.temporary_name(os.path.basename(path), f"{os.getpid()}-{next(_temp_count)}")
        tmp = os.path.join(where, name)
        if names is not None:
            names.append(tmp)
        try:
            return os.open(tmp, _TEMP_FLAGS, 0o666), tmp
        except FileExistsError:  # left by an earlier process with this pid: take the next
            if names is not None:
                names.pop()
            continue


@contextlib.contextmanager
def _atomic_fd(path: Path):
    """An open temporary file (descriptor) for `path`, which the caller writes and closes;
    renamed into place when the block ends, removed if it fails. Like every write here, it
    is checked and recorded by the output folder's owner first, which names the folder of
    the temporary file."""
    folder = output.before_write(path)
    if folder is not None and not _temp_folder_fits(folder, path):
        folder = None
    # The temporary name is known before the file exists, and its removal covers its making:
    # a worker stopped at once (SIGTERM -> SystemExit) just after os.open made the file left
    # it behind, named in no one's variable.
    names: list[str] = []
    try:
        try:
            fd, _tmp = _open_temp(path, folder, names)
        except FileNotFoundError:  # folders are made on first need, not checked on every file
            Path(folder if folder is not None else path.parent).mkdir(parents=True, exist_ok=True)
            fd, _tmp = _open_temp(path, folder, names)
        yield fd
        _into_place(names[-1], path)
    except BaseException as e:
        if names and os.path.exists(names[-1]):
            os.unlink(names[-1])
        if isinstance(e, OSError) and e.filename is None:  # a write to the descriptor: name its file
            if e.strerror is None:  # numpy's OSError("Not enough free space to write N bytes"): no errno,
                e.strerror = str(e)  # its message is its cause (str() says only the file once named)
            e.filename = str(path)
        raise


def _into_place(tmp: str, path: Path, folder_made: bool = False) -> None:
    """Rename the finished temporary file to `path` (atomic: the name only ever holds a whole
    file), making `path`'s folder on first need."""
    try:
        os.replace(tmp, path)
    except FileNotFoundError:
        if folder_made or not os.path.exists(tmp):
            raise
        path.parent.mkdir(parents=True, exist_ok=True)
        _into_place(tmp, path, folder_made=True)
    except NotADirectoryError as e:
        blocked = _file_in_the_way(path)
        if blocked is None:
            raise
        raise blocked from e
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        _copy_into_place(tmp, path)


def _file_in_the_way(path: Path) -> output.ForeignFileError | None:
    """The refusal to write `path` where a file stands in place of one of its folders (a
    user's `coco/train` file in a dataset, where the run makes a folder): never replaced,
    and named (the system's error names the temporary file, "Not a directory"); None where
    no file is in the way."""
    for parent in reversed(Path(path).parents):
        if os.path.lexists(parent) and not os.path.isdir(parent):
            return output.ForeignFileError(
                f"refusing to write {path}: {parent} is a file where the run makes a folder; move it out "
                "of the dataset folder, then run again (a render's finished frames are kept: --resume)"
            )
    return None


def _copy_into_place(tmp: str, path: Path) -> None:
    """`path` is on another file system than the output folder (a mount inside it): the
    temporary file is copied to a temporary file beside `path` and renamed from there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, beside = _open_temp(path, None)
    try:
        with os.fdopen(fd, "wb") as dst, open(tmp, "rb") as src:
            shutil.copyfileobj(src, dst)
        os.replace(beside, path)
    except BaseException:
        if os.path.exists(beside):
            os.unlink(beside)
        raise
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_stream(path: Path | str, binary: bool = True):
    """A file streamed to a temporary name, renamed to `path` at the end (for files too large
    to build in memory)."""
    path = Path(path)
    with _atomic_fd(path) as fd:
        # The buffer size given: no isatty() probe of a file that is never a terminal.
        if binary:
            f = os.fdopen(fd, "wb", buffering=io.DEFAULT_BUFFER_SIZE)
        else:
            f = os.fdopen(fd, "w", buffering=io.DEFAULT_BUFFER_SIZE, encoding="utf-8", newline="\n")
        with f:
            yield f


def write_bytes(path: Path | str, data: bytes) -> Path:
    """A whole file written atomically, with plain os.write calls (no file object)."""
    path = Path(path)
    with _atomic_fd(path) as fd:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    return path


def write_text(path: Path | str, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path | str, obj, indent: int | None = None) -> Path:
    return write_text(path, json.dumps(obj, indent=indent, default=_json_default))


def write_npy(path: Path | str, array: np.ndarray) -> Path:
    # Saved straight into the temporary file (no in-memory copy of a multi-MB array first).
    with atomic_stream(path) as f:
        try:
            np.save(f, array, allow_pickle=False)
        except OSError as e:
            if e.errno is not None:
                raise
            # numpy's own short write says no cause ("3072 requested and 3040 written"): one
            # more byte asks the system, whose refusal says it (No space left on device, a
            # file size limit, a quota); the temporary file goes either way.
            try:
                f.flush()
                os.write(f.fileno(), b"\0")
            except OSError as why:
                raise why from e
            raise
    return Path(path)


def write_npz(path: Path | str, **arrays: np.ndarray) -> Path:
    """Several arrays in one zip-compressed .npz (np.load(path)[name])."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return write_bytes(path, buf.getvalue())


def write_png(path: Path | str, array: np.ndarray, compress_level: int = 1) -> Path:
    """uint8 (H, W), (H, W, 3) or (H, W, 4); uint16 (H, W). Level 1: fast, still lossless."""
    from .png import encode_png

    return write_bytes(path, encode_png(array, compress_level))


def write_tiff(path: Path | str, kelvin: np.ndarray, encoding: str = "float32") -> Path:
    """A single-channel TIFF: float32 as is, or "centikelvin": uint16 of value * 100."""
    from .tiff import encode_tiff

    if encoding == "centikelvin":
        image = np.clip(np.rint(kelvin * 100.0), 0, 65535).astype(np.uint16)
    else:
        image = np.asarray(kelvin, dtype=np.float32)
    return write_bytes(path, encode_tiff(image))


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if isinstance(o, Path):
        return o.as_posix()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
