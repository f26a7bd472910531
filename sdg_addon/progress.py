"""Progress of a run: frames done, rate, ETA (shared by the terminal and the UI)."""

from __future__ import annotations

import time


def format_seconds(s: float) -> str:
    if s != s or s == float("inf"):  # NaN or inf
        return "?"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class Progress:
    def __init__(self, total: int, clock=time.monotonic):
        self.total = total
        self.done = 0
        self.clock = clock
        self.start = clock()

    def advance(self, n: int = 1) -> None:
        self.done += n

    @property
    def rate(self) -> float:
        elapsed = self.clock() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float:
        r = self.rate
        return (self.total - self.done) / r if r > 0 else float("inf")

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def line(self) -> str:
        return (
            f"frames {self.done}/{self.total} ({100 * self.fraction:.0f}%) | "
            f"{self.rate:.2f} frames/s | ETA {format_seconds(self.eta)}"
        )
