"""The `property` randomizer: any Blender property of the targets, by its data path
(Replicator's `rep.modify.attribute`, BlenderProc's entity manipulator).

The path is what Blender's *Copy Data Path* gives, relative to the target object:
`modifiers["Bevel"].width`, `data.energy`, `["my_prop"]`, `modifiers["GeometryNodes"]["Socket_2"]`,
`active_material.node_tree.nodes["Principled BSDF"].inputs["Roughness"].default_value`.
It is parsed here into steps (attribute, key, index) and never evaluated: scene.properties
follows the steps through Blender's RNA properties only, and checks before anything is
written that every target has the property, writable, of the value's kind and range.
"""

from __future__ import annotations

import re

from .randomizers import ANY, RandomizerSpec, register_randomizer

MAX_PATH_CHARS = 1024
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_INDEX = re.compile(r"-?[0-9]+")


class PathError(ValueError):
    """A data path that is not one (the message says where)."""


def parse_path(path: str) -> list[tuple[str, object]]:
    """`modifiers["Bevel"].width` -> [("attr", "modifiers"), ("key", "Bevel"), ("attr", "width")].

    Steps: `name` or `.name` (an RNA property; names starting with "__" are refused),
    `["text"]` (a collection item or custom property, by name; \\" and \\\\ escape) and
    `[n]` (an item or array element by index).
    """
    if not isinstance(path, str) or not path.strip():
        raise PathError("an empty path")
    if len(path) > MAX_PATH_CHARS:
        raise PathError(f"a path of at most {MAX_PATH_CHARS} characters")
    steps: list[tuple[str, object]] = []
    i = 0
    while i < len(path):
        if path[i] == "[":
            m = _STRING.match(path, i + 1) or _INDEX.match(path, i + 1)
            end = m.end() if m else -1
            if m is None or end >= len(path) or path[end] != "]":
                raise PathError(f'a ["name"] or [index] at character {i + 1}')
            if m.re is _STRING:
                steps.append(("key", re.sub(r"\\(.)", r"\1", m.group(1))))
            else:
                steps.append(("index", int(m.group(0))))
            i = end + 1
            continue
        if path[i] == ".":
            if not steps:
                raise PathError("a path that starts with a name, not '.'")
            i += 1
        elif steps:
            raise PathError(f"'.' or '[' at character {i + 1}")
        m = _IDENTIFIER.match(path, i)
        if m is None:
            raise PathError(f"a property name at character {i + 1}")
        if m.group(0).startswith("__"):
            raise PathError(f"a property name, not {m.group(0)!r}")
        steps.append(("attr", m.group(0)))
        i = m.end()
    return steps


@register_randomizer
class Property(RandomizerSpec):
    """Any property of objects, lights or cameras, by its data path (modifiers, custom properties, materials)."""

    name = "property"
    target_kind = "any"
    PARAMS = {
        "value": (
            ANY,
            "the value: a number, a list of numbers, `true` / `false` or a string, as the property takes; "
            'e.g. `{ distribution = "uniform", low = 0.01, high = 0.05 }`',
        ),
    }
    OPTIONS = {
        "path": (
            "",
            str,
            'data path from the target object, as Blender\'s "Copy Data Path" gives it, e.g. '
            '`modifiers["Bevel"].width`, `data.energy`, `["my_prop"]`',
        ),
    }
    REQUIRED_OPTIONS = ("path",)
    LOGGED_OPTIONS = ("path",)

    @classmethod
    def check(cls, params, options):
        out = []
        try:
            parse_path(options["path"])
        except PathError as e:
            out.append(("path", options["path"], f'a data path such as modifiers["Bevel"].width: {e}'))
        if "value" not in params:
            out.append(("value", None, "the value to set (a constant or a distribution)"))
        return out

    def __init__(self, params, options, trigger="frame", interval=1):
        super().__init__(params, options, trigger, interval)
        self.steps = parse_path(self.options["path"]) if self.options["path"] else []


@register_randomizer
class WorldProperty(Property):
    """Any property of the scene's world, by its data path (its own node setup's inputs)."""

    name = "world_property"
    target_kind = None
    OPTIONS = {
        "path": (
            "",
            str,
            "data path from the scene's world, e.g. "
            '`node_tree.nodes["Background"].inputs["Strength"].default_value` (Copy Data Path on a world node\'s '
            "field gives the part after `node_tree.`)",
        ),
    }
