"""Annotator base class and registry: annotators are picked by name from a parameter file."""

from __future__ import annotations

from ..config.fields import registry_options
from ..frame import FrameData

ANNOTATORS: dict[str, type[Annotator]] = {}


def register_annotator(cls: type[Annotator]) -> type[Annotator]:
    if cls.name in ANNOTATORS:
        raise ValueError(f"annotator {cls.name!r} is registered twice")
    ANNOTATORS[cls.name] = cls
    return cls


class Annotator:
    """Turns one FrameData into one annotation (arrays and plain Python values).

    name: the registry key, as written in parameter files and output file names.
    passes: render passes it reads (frame.passes keys); capture enables only what is needed.
    needs_geometry: True if it reads SceneObject geometry (world_triangles(), mesh()).
    options: keyword options from the parameter file, validated by `OPTIONS`.
    """

    name: str = ""
    summary: str = ""  # what it gives, one line: docs/parameters.md's catalogue and the UI's tooltip
    passes: tuple[str, ...] = ()
    needs_geometry: bool = False
    # Sequences: reads FrameData.neighbours (the previous / next frame of the clip).
    needs_neighbours: bool = False
    # Which sensors' frames it annotates ("camera", "lidar").
    sensors: tuple[str, ...] = ("camera",)
    # option name -> (default, type, description); validated by config before a run.
    OPTIONS: dict[str, tuple[object, type | tuple[type, ...], str]] = {}

    def __init__(self, **options):
        self.options = registry_options(f"annotator {self.name!r}", self.OPTIONS, options)

    def annotate(self, frame: FrameData) -> object:
        raise NotImplementedError


def create_annotator(name: str, **options) -> Annotator:
    try:
        cls = ANNOTATORS[name]
    except KeyError:
        raise ValueError(f"unknown annotator {name!r}; known: {sorted(ANNOTATORS)}") from None
    return cls(**options)
