"""Per-frame sampling: frame f's values depend only on (seed, f).

Each randomizer gets its own generator seeded with (seed, frame, randomizer index), so a
frame can be reproduced alone (`--frames 17:18`), in any shard, after any resume.

Sequences (`sequence.clip_length` K > 1): randomizers act once per clip. The generator of
frame f is the one of its clip's first frame (f - f % K), and `sequence` distributions see
the index of the draw (RandomizerSpec.draw_index: one step per clip that draws), so
every frame of a clip has the same values; with K = 1 this is exactly the stills rule.
Motion randomizers (sampling.motion) add, per frame, the offset of the clip's trajectory
at the frame's time.
"""

from __future__ import annotations

import numpy as np

from .randomizers import RandomizerSpec


def frame_rng(seed: int, frame: int, stream: int, attempt: int = 0) -> np.random.Generator:
    """Attempt k > 0 (a frame redrawn to meet a guarantee or a case) has its own derived seed."""
    key = [seed, frame, stream] if attempt == 0 else [seed, frame, stream, attempt]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


# Stream of Cycles' sampling seed (render_noise_seed), apart from the randomizers' (0..) and
# the LiDARs' (1 << 20 + index).
NOISE_STREAM = 1 << 21


def render_noise_seed(seed: int, frame: int) -> int:
    """Cycles' seed (0 .. 2^31 - 1) for frame `frame` of a run: a new noise pattern every
    frame, as a camera's noise is (Blender's manual advises an animated seed for the same
    reason), and a pure function of (seed, frame), so a frame is the same alone, in shards and
    resumed."""
    return int(frame_rng(seed, frame, NOISE_STREAM).integers(0, 2**31 - 1))


def clip_of(frame: int, clip_length: int = 1) -> tuple[int, int]:
    """(clip index, frame index within the clip) of a frame of the run."""
    return frame // clip_length, frame % clip_length


def sample_frame(
    seed: int,
    frame: int,
    randomizers: list[RandomizerSpec],
    targets: list[list[str]],
    clip_length: int = 1,
    fps: float = 24.0,
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
    motion randomizers' values also hold "time" (seconds since the clip's first frame) and
    the offsets at that time ("location_offset", "rotation_offset").
    """
    clip, i = clip_of(frame, clip_length)
    first = frame - i
    t, duration = i / fps, (clip_length - 1) / fps
    out = []
    for index, (spec, names) in enumerate(zip(randomizers, targets)):
        # Sequences: triggers count frames but fire at clip starts (values act once per clip);
        # `sequence` distributions step once per draw. With clip_length 1: the stills rule.
        # A redraw (attempt > 0) changes only the entries that fire on this very frame.
        drawn_at = spec.trigger_frame(first)
        rng = frame_rng(seed, drawn_at, index, attempt if drawn_at == frame else 0)
        extra = {"facts": facts, "earlier": out} if spec.needs_facts else {}
        fired = -(-drawn_at // clip_length) * clip_length  # the clip start it fired at (>= drawn_at)
        if spec.keeps_trigger_places and fired != first:  # (at this clip's start: as this frame)
            extra["at_trigger"] = _values_at_trigger(
                seed, drawn_at, fired, index, randomizers, targets, clip_length, fps, facts, names
            )
        values = spec.sample(rng, spec.draw_index(frame, clip_length), sorted(names), **extra)
        if spec.motion:
            for v in values.values():
                v.update(time=t, duration=duration, **spec.offsets(v, t, duration))
        entry = {"type": spec.name, "values": values}
        for key in spec.LOGGED_OPTIONS:  # which property the values went to (the log; a case's set)
            entry[key] = spec.options[key]
        if drawn_at != frame:
            entry["trigger_frame"] = drawn_at
        out.append(entry)
    return out


def _values_at_trigger(seed, drawn_at, fired, index, randomizers, targets, clip_length, fps, facts, names) -> dict:
    """What entry `index` drew with the draw of frame `drawn_at` where it fired: at frame
    `fired`, the first clip start from `drawn_at` on (a still: that very frame), after the
    entries before it as they were there (which objects were shown, their scale and rotation)."""
    spec = randomizers[index]
    earlier = sample_frame(seed, fired, randomizers[:index], targets[:index], clip_length, fps, facts)
    rng = frame_rng(seed, drawn_at, index)
    return spec.sample(rng, spec.draw_index(fired, clip_length), sorted(names), facts=facts, earlier=earlier)
