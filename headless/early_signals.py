"""Ctrl-C or SIGTERM while a process still loads Python modules, numpy and Blender (its
first second or so): noted here, and honoured once the run can stop cleanly. Python's
default, a KeyboardInterrupt raised in the middle of an import, left numpy or bpy half
loaded: a traceback, a crash (exit 139), or a render that went on to its end as if
nothing had been pressed."""

from __future__ import annotations

import contextlib
import signal
import threading

received: list[int] = []  # the signals noted, in order


def _note(signum, _frame) -> None:
    received.append(signum)


def keep() -> None:
    """From now on SIGINT and SIGTERM are only noted (unless whoever started this process
    made it ignore them: then they stay ignored)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _note)


def release() -> None:
    """Python's own handling of both again (where no handler of the run replaced ours)."""
    for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
        if signal.getsignal(signum) is _note:
            signal.signal(signum, default)


def replay(on_sigint, on_sigterm) -> None:
    """Hand the signals noted so far to the run's handlers, now installed."""
    while received:
        signum = received.pop(0)
        (on_sigterm if signum == signal.SIGTERM else on_sigint)(signum, None)


@contextlib.contextmanager
def sigterm_as_ctrl_c():
    """While the block runs, SIGTERM (a scheduler's stop) raises KeyboardInterrupt in the main
    thread, as Ctrl-C does, so the command stops the same clean way; yields the list the
    SIGTERMs received are added to (exit code 128 + it). The handler before is given back."""
    received_here: list[int] = []

    def on_sigterm(signum, _frame):
        received_here.append(signum)
        raise KeyboardInterrupt

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield received_here
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
