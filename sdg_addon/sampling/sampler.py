"""Per-frame sampling: frame f's values depend only on (seed, f).

Each randomizer gets its own generator seeded with (seed, frame, randomizer index), so a
frame can be reproduced alone (`--frames 17:18`), in any shard, after any resume.
"""

from __future__ import annotations

import numpy as np

from .randomizers import RandomizerSpec


def frame_rng(seed: int, frame: int, stream: int, attempt: int = 0) -> np.random.Generator:
    """Attempt k > 0 (a frame redrawn to meet a guarantee or a case) has its own derived seed."""
    key = [seed, frame, stream] if attempt == 0 else [seed, frame, stream, attempt]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


def sample_frame(
    seed: int,
    frame: int,
    randomizers: list[RandomizerSpec],
    targets: list[list[str]],
    facts=None,
    attempt: int = 0,
) -> list[dict]:
    """Values of every randomizer for one frame, as logged in the audit trail.

    targets[i] are the resolved target names of randomizers[i] (any order: sorted here).
    `facts` (scene facts, read once per run) goes to the randomizers that need it;
    `attempt` > 0 redraws the frame with derived seeds (guarantees and corner cases); an
    entry that does not fire on this frame keeps its trigger frame's first draw.
    Returns [{"type": name, "values": {target: {param: value}}}, ...] in randomizer order;
    an entry that did not fire on this frame (trigger interval, once per run) also has
    "trigger_frame": the frame it drew its values at, and repeats exactly those values.
    """
    out = []
    for index, (spec, names) in enumerate(zip(randomizers, targets)):
        drawn_at = spec.trigger_frame(frame)
        rng = frame_rng(seed, drawn_at, index, attempt if drawn_at == frame else 0)
        extra = {"facts": facts} if spec.needs_facts else {}
        entry = {"type": spec.name, "values": spec.sample(rng, drawn_at, sorted(names), **extra)}
        if drawn_at != frame:
            entry["trigger_frame"] = drawn_at
        out.append(entry)
    return out
