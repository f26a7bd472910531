"""Seeded sampling of randomizer values (no bpy)."""

from . import appearance, camera, motion, physics, placement, properties, sensor, thermal  # noqa: F401  (register them)
from .distributions import DISTRIBUTIONS, Distribution, make_distribution
from .randomizers import RANDOMIZERS, RandomizerSpec
from .sampler import clip_of, frame_rng, sample_frame

# Which sampling code drew a run's values: one more with every change that makes a parameter
# file draw other values for the same seed and frame (a randomizer's algorithm, a stream, the
# order of draws). Recorded in audit/environment.json; a --resume under another version says
# so (the frames from then on are not those a fresh run of the earlier code would make).
# tests/test_draws_version.py holds the draws' fingerprint for each version: a change to the
# draws fails it until this number is raised and its fingerprint added.
DRAWS_VERSION = 4

__all__ = [
    "DRAWS_VERSION",
    "DISTRIBUTIONS",
    "Distribution",
    "make_distribution",
    "RANDOMIZERS",
    "RandomizerSpec",
    "clip_of",
    "frame_rng",
    "sample_frame",
]
