"""Per-frame sampling: frame f's values depend only on (seed, f).

Each randomizer gets its own generator seeded with (seed, frame, randomizer index), so a
frame can be reproduced alone (`--frames 17:18`), in any shard, after any resume.
"""

from __future__ import annotations

import numpy as np

from .randomizers import RandomizerSpec


def frame_rng(seed: int, frame: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, frame, stream])))


def sample_frame(
    seed: int,
    frame: int,
    randomizers: list[RandomizerSpec],
    targets: list[list[str]],
) -> list[dict]:
    """Values of every randomizer for one frame, as logged in the audit trail.

    targets[i] are the resolved target names of randomizers[i] (any order: sorted here).
    Returns [{"type": name, "values": {target: {param: value}}}, ...] in randomizer order;
    an entry that did not fire on this frame (trigger interval, once per run) also has
    "trigger_frame": the frame it drew its values at, and repeats exactly those values.
    """
    out = []
    for index, (spec, names) in enumerate(zip(randomizers, targets)):
        drawn_at = spec.trigger_frame(frame)
        rng = frame_rng(seed, drawn_at, index)
        entry = {"type": spec.name, "values": spec.sample(rng, drawn_at, sorted(names))}
        if drawn_at != frame:
            entry["trigger_frame"] = drawn_at
        out.append(entry)
    return out
