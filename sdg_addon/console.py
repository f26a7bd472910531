"""What Blender prints to the terminal, at the file-descriptor level: its C code writes to
file descriptors 1 and 2 directly, so replacing sys.stdout alone does not quieten it.

`blender_console_silenced`: a run's render lines ("Saved: ...") go to /dev/null while
Python's own output (progress) stays on the terminal. `console_captured`: everything printed
for a while (an importer's log lines), C and Python, stdout and stderr, kept in a file and
handed back, so it can be shown if the step fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import tempfile


def _flush_c_streams() -> None:
    """C's stdio buffers (a pipe or file stdout is fully buffered): flushed to where they
    point now, so text printed before a redirection does not land after it, and back."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _fd_pointed_at(fd: int, target: int):
    """File descriptor `fd` writes to `target` for the duration; yields a copy of the old one."""
    _flush_c_streams()
    saved = os.dup(fd)
    os.dup2(target, fd)
    try:
        yield saved
    finally:
        _flush_c_streams()
        os.dup2(saved, fd)
        os.close(saved)


def _is_fd(stream, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def blender_console_silenced():
    """Send what Blender's C code prints to stdout (a "Saved: ..." line per render, device
    probing) to /dev/null, keeping Python's own output (progress) on the terminal.

    Only when sys.stdout is the process's real stdout (not under a test's capture)."""
    if not _is_fd(sys.stdout, 1):
        yield
        return
    sys.stdout.flush()
    old_stdout = sys.stdout
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        with _fd_pointed_at(1, devnull) as saved, os.fdopen(os.dup(saved), "w", buffering=1) as python_out:
            sys.stdout = python_out
            try:
                yield
            finally:
                sys.stdout = old_stdout
    finally:
        os.close(devnull)


@contextlib.contextmanager
def stdout_to_stderr():
    """Everything printed to stdout goes to stderr for the duration, Python's and Blender's
    C output alike (for a tool whose stdout carries data, e.g. JSON figures);
    `blender_console_silenced` inside still sends Blender's own lines to /dev/null."""
    sys.stdout.flush()
    if _is_fd(sys.stdout, 1):
        with _fd_pointed_at(1, 2):
            yield
    else:  # sys.stdout replaced (a test's capture): Python's output follows the replacement
        with contextlib.redirect_stdout(sys.stderr):
            yield


class Captured:
    """The text printed inside `console_captured` (complete once it has ended)."""

    text: str = ""


@contextlib.contextmanager
def console_captured(enabled: bool = True):
    """Everything printed to stdout and stderr inside the block, by Python (sys.stdout,
    sys.stderr, loggers made meanwhile) and by C code (file descriptors 1 and 2), goes to a
    temporary file, not the terminal; its text is `Captured.text` afterwards. `enabled`
    false, or no temporary folder to write it in: nothing is captured (text stays empty)."""
    captured = Captured()
    if not enabled:
        yield captured
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    old = sys.stdout, sys.stderr
    try:
        sink = tempfile.TemporaryFile()
    except OSError:  # no temporary folder this user can write (TMPDIR, /tmp): shown, not kept
        yield captured
        return
    with sink:
        # One file behind both descriptors and Python's streams: one shared offset, so lines
        # keep the order in which they were printed.
        python_side = io.TextIOWrapper(os.fdopen(os.dup(sink.fileno()), "wb"), errors="replace", write_through=True)
        try:
            with _fd_pointed_at(1, sink.fileno()), _fd_pointed_at(2, sink.fileno()):
                sys.stdout = sys.stderr = python_side
                try:
                    yield captured
                finally:
                    sys.stdout, sys.stderr = old
        finally:
            python_side.close()
            sink.seek(0)
            captured.text = sink.read().decode("utf-8", "replace")
