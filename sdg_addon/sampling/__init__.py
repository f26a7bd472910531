"""Seeded sampling of randomizer values (no bpy)."""

from . import motion  # noqa: F401  (registers the trajectory randomizers)
from .distributions import DISTRIBUTIONS, Distribution, make_distribution
from .randomizers import RANDOMIZERS, RandomizerSpec
from .sampler import clip_of, frame_rng, sample_frame

__all__ = [
    "DISTRIBUTIONS",
    "Distribution",
    "make_distribution",
    "RANDOMIZERS",
    "RandomizerSpec",
    "clip_of",
    "frame_rng",
    "sample_frame",
]
