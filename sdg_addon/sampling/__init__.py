"""Seeded sampling of randomizer values (no bpy)."""

from . import appearance, camera, motion, physics, placement, properties, sensor, thermal  # noqa: F401  (register them)
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
