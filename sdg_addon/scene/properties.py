"""The `property` randomizer in Blender: follow a parsed data path, check it, set it.

The path's steps (sampling.properties.parse_path) are followed through RNA properties
(`bl_rna.properties`: never a Python attribute or method), collection items and custom
properties. Before a run writes anything, `check_properties` resolves the path on every target and
compares what the property takes (type, array length, enum items, Blender's hard limits)
with every value the randomizer can draw, so a typo or a value Blender would clamp
silently stops the run with the object, the path and what was expected.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import bpy
import numpy as np

from ..config.problems import did_you_mean
from ..sampling.distributions import Constant, listed_values
from .base import PROJECTIONS
from .build import BuiltScene
from .randomize import animated_paths, applier, file_check


class PropertyPathError(ValueError):
    pass


@dataclass
class Slot:
    """What the last step of a path sets: `owner` and `key` for setattr / item assignment."""

    owner: object
    key: object
    how: str  # "attr" (setattr) or "item" (owner[key] = value)
    kind: str  # "float", "int", "bool", "string", "enum"
    length: int = 0  # an array's length (0: a single value)
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    create: bool = False  # a custom property that does not exist yet (made on the first set)


def target_object(built: BuiltScene, name: str, spec=None):
    """The data-block a path starts from: the target object, or the scene's world."""
    if spec is not None and spec.target_kind is None:
        if built.scene.world is None:
            raise PropertyPathError("the scene has no world")
        return built.scene.world
    if name in built.entities:
        return built.entities[name].root
    return built.lights.get(name) or built.cameras.get(name) or built.scene.objects[name]


def _step_text(kind: str, key) -> str:
    return f".{key}" if kind == "attr" else f"[{key!r}]".replace("'", '"') if kind == "key" else f"[{key}]"


def _hint(key, names) -> str:
    names = [str(n) for n in names]
    close = did_you_mean(str(key), names)
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return (f"; did you mean {close!r}?" if close else "") + (f" (it has: {shown})" if names else "")


def _rna_names(struct) -> list[str]:
    return [p.identifier for p in struct.bl_rna.properties if p.identifier != "rna_type"]


def _follow(owner, kind: str, key, where: str):
    if kind == "attr":
        rna = getattr(owner, "bl_rna", None)
        if rna is None or key not in rna.properties:
            names = _rna_names(owner) if rna is not None else []
            raise PropertyPathError(f"{where} has no property {key!r}{_hint(key, names)}")
        return getattr(owner, key)
    try:
        return owner[key]
    except (KeyError, IndexError, TypeError):
        if isinstance(owner, bpy.types.bpy_prop_collection):
            names = owner.keys() if kind == "key" else []
            count = f" ({len(owner)} items)" if kind == "index" else ""
            raise PropertyPathError(f"{where} has no item {key!r}{count}{_hint(key, names)}") from None
        names = list(owner.keys()) if hasattr(owner, "keys") else []
        raise PropertyPathError(f"{where} has no custom property {key!r}{_hint(key, names)}") from None


_RNA_KINDS = {"FLOAT": "float", "INT": "int", "BOOLEAN": "bool", "STRING": "string", "ENUM": "enum"}
# Settings that make Blender read or write files where it likes (a point cache on disk is
# written next to the .blend): a randomizer never sets them, nor any file or folder path.
_FILE_SUBTYPES = ("FILE_PATH", "DIR_PATH", "FILE_NAME")
_WRITES_FILES = ("use_disk_cache", "use_external")
# Settings whose change frees a simulation cache, which deletes its files on disk (a fluid
# domain's cache folder, even when baked; a point cache's files, or renames them).
_FREES_CACHE_FILES = (
    "FluidModifier",
    "FluidDomainSettings",
    "FluidFlowSettings",
    "FluidEffectorSettings",
    "PointCache",
)


def _refuse_cache_settings(owner, where: str) -> None:
    rna = getattr(owner, "bl_rna", None)
    if rna is not None and rna.identifier in _FREES_CACHE_FILES:
        raise PropertyPathError(
            f"{where}: a {rna.identifier}'s settings are not set by a randomizer: changing one frees the "
            "simulation's cache, and Blender deletes the cache's files on disk"
        )


_RUN_OWNED = {  # set by the run itself: property -> (the type whose property it is, what for)
    "pass_index": ("Object", "the instance id of the object's masks"),
    "name": ("ID", "targets, prim paths and labels find data-blocks by name"),
}


def _rna_slot(owner, name: str, where: str) -> Slot:
    prop = owner.bl_rna.properties[name]
    if name in _RUN_OWNED and isinstance(owner, getattr(bpy.types, _RUN_OWNED[name][0])):
        raise PropertyPathError(f"{where} is not set by a randomizer: the run uses it ({_RUN_OWNED[name][1]})")
    if prop.type not in _RNA_KINDS or (prop.type == "ENUM" and prop.is_enum_flag):
        raise PropertyPathError(f"{where} is a {prop.type.lower()} property, not a value to set")
    if prop.is_readonly:
        raise PropertyPathError(f"{where} is read-only")
    if getattr(prop, "subtype", "") in _FILE_SUBTYPES or name in _WRITES_FILES:
        raise PropertyPathError(
            f"{where} is not set by a randomizer: files are read and written only where the run says "
            "(a file path, or a cache on disk that Blender writes next to the .blend)"
        )
    slot = Slot(owner, name, "attr", _RNA_KINDS[prop.type])
    if prop.type in ("FLOAT", "INT"):
        slot.low, slot.high = prop.hard_min, prop.hard_max
        slot.length = prop.array_length if getattr(prop, "is_array", prop.array_length > 0) else 0
    elif prop.type == "BOOLEAN":
        slot.length = prop.array_length if getattr(prop, "is_array", prop.array_length > 0) else 0
    elif prop.type == "ENUM":
        slot.choices = tuple(item.identifier for item in prop.enum_items)
        if owner.bl_rna.identifier == "Camera" and name == "type":
            slot.choices = PROJECTIONS  # a panoramic camera's labels would not match its image
    return slot


def _value_kind(value) -> tuple[str, int]:
    """(kind, array length or 0) of a value: a custom property's, or one a randomizer draws."""
    if isinstance(value, bool):
        return "bool", 0
    if isinstance(value, int):
        return "int", 0
    if isinstance(value, float):
        return "float", 0
    if isinstance(value, str):
        return "string", 0
    try:
        items = list(value)
    except TypeError:
        return "", 0
    if items and all(isinstance(x, bool) for x in items):
        return "bool", len(items)
    if items and all(isinstance(x, int) for x in items):
        return "int", len(items)
    if items and all(isinstance(x, (int, float)) for x in items):
        return "float", len(items)
    return "", 0


# Drivers hold Python expressions that Blender runs: a parameter file runs no code.
_RUNS_CODE = ("drivers", "driver", "expression")


def resolve(obj, steps: list[tuple[str, object]]) -> Slot:
    """The slot the path's last step sets on `obj` (PropertyPathError if there is none)."""
    code = [key for kind, key in steps if kind == "attr" and key in _RUNS_CODE]
    if code:
        raise PropertyPathError(
            f"{code[0]!r}: drivers and their Python expressions are not set (a parameter file runs no code)"
        )
    where, owner, parent = obj.name, obj, None  # parent: (struct, attr name) of an RNA array
    for kind, key in steps[:-1]:
        nxt = _follow(owner, kind, key, where)
        parent = (owner, key) if kind == "attr" else None
        owner, where = nxt, where + _step_text(kind, key)
        _refuse_cache_settings(owner, where)
    kind, key = steps[-1]
    here = where + _step_text(kind, key)
    if kind == "attr":
        if getattr(owner, "bl_rna", None) is None or key not in owner.bl_rna.properties:
            _follow(owner, kind, key, where)  # raises with the known names
        return _rna_slot(owner, key, here)
    if isinstance(owner, bpy.types.bpy_prop_collection):
        raise PropertyPathError(f"{here} is an item of a collection, not a value to set")
    if kind == "index" and parent is not None and parent[0].bl_rna.properties[parent[1]].array_length > 0:
        # An element of an RNA array (bpy_prop_array, or a mathutils Vector / Color / Euler
        # that writes through to its owner): the array property says its type and limits.
        slot = _rna_slot(*parent, where)
        if not (0 <= key < slot.length):
            raise PropertyPathError(f"{where} has {slot.length} elements: no index {key}")
        return Slot(owner, key, "item", slot.kind, 0, slot.low, slot.high)
    if kind == "index":  # an element of a custom property's array
        k, n = _value_kind(owner)
        if not k or not (0 <= key < n):
            raise PropertyPathError(f"{where} is not an array with an element {key}")
        return Slot(owner, key, "item", k)
    if not hasattr(owner, "keys"):
        raise PropertyPathError(f"{where} holds no custom properties")
    if key not in owner.keys():
        if isinstance(owner, bpy.types.ID):
            return Slot(owner, key, "item", "", create=True)  # made by the first frame
        _follow(owner, kind, key, where)  # raises with the known names
    k, n = _value_kind(owner[key])
    if not k:
        raise PropertyPathError(f"{here} is a custom property of another kind (a group or a pointer)")
    return Slot(owner, key, "item", k, n)


def drawable(d) -> list:
    """Values that tell what a distribution can draw: every one where it lists them (a
    constant, choice, sequence; a mixture's components each), else one draw (its kind; the
    range comes from its bounds)."""
    if isinstance(d, Constant):
        return [d.params["value"]]
    if d.name in ("choice", "sequence"):
        return list(d.params["values"])
    if d.name == "mixture":
        return [v for c in d.components for v in drawable(c)]
    return [d.sample(np.random.default_rng(0), 0)]


def check_values(slot: Slot, d) -> str | None:
    """What is wrong with the values `d` can draw for `slot`, or None."""
    values = drawable(d)
    kinds = {_value_kind(v) for v in values}
    if d.name == "uniform_int":
        kinds = {("int", n) for _k, n in kinds}
    if slot.create:
        return None if len({k for k, _n in kinds}) == 1 else "takes values of one kind (a new custom property)"
    want = (slot.kind, slot.length)
    if slot.kind == "float":
        ok = all(k in ("float", "int") and n == slot.length for k, n in kinds)
        expected = f"{slot.length} numbers" if slot.length else "a number"
    elif slot.kind == "int":
        ok = kinds <= {("int", slot.length)}
        expected = (f"{slot.length} whole numbers" if slot.length else "a whole number") + (
            " (an int property: uniform_int, or choice / sequence of whole numbers)"
        )
    elif slot.kind == "enum":
        ok = kinds == {("string", 0)} and all(v in slot.choices for v in values)
        expected = f"one of {', '.join(slot.choices)}"
    else:
        ok = kinds == {want}
        expected = {"bool": "true or false", "string": "a string"}[slot.kind]
        if slot.length:
            expected = f"{slot.length} x {expected}"
    if not ok:
        return f"takes {expected}; the value draws {values[0]!r}" + (" ..." if len(values) > 1 else "")
    if slot.kind in ("float", "int") and (slot.low is not None or slot.high is not None):
        b = d.bounds()
        lo, hi = (np.min(b[0]), np.max(b[1])) if b is not None else (-np.inf, np.inf)
        if (slot.low is not None and lo < slot.low) or (slot.high is not None and hi > slot.high):
            limits = f"[{'-inf' if slot.low is None else f'{slot.low:g}'}, {'inf' if slot.high is None else f'{slot.high:g}'}]"
            return f"takes values in {limits} (Blender's limits); the value can draw [{lo:g}, {hi:g}]"
    return None


def slot_animated(slot: Slot) -> bool:
    """Whether the .blend keys or drives what `slot` sets (an F-curve or driver of its data-
    block on that very path): the animation sets it back when the frame renders, so a value
    set there shows in no frame. Elements of RNA arrays are not looked up (their array is)."""
    owner = slot.owner
    id_data = getattr(owner, "id_data", None)
    if getattr(id_data, "animation_data", None) is None:
        return False
    try:
        prefix = "" if owner == id_data else owner.path_from_id()
    except (ValueError, TypeError, AttributeError):
        return False
    if slot.how == "attr":
        tail = slot.key
    elif isinstance(slot.key, str):
        tail = '["' + slot.key.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    else:
        return False
    full = tail if not prefix else prefix + ("" if tail.startswith("[") else ".") + tail
    return full in animated_paths(id_data)


def linked_input(obj, steps: list[tuple[str, object]]):
    """The node input socket whose `default_value` the path sets (the value or an element of
    it), where a link feeds that input, or None: a linked input renders what the link brings,
    never its own value (the add-on's materials link Base Color, Roughness and Metallic to
    each object's own look)."""
    if ("attr", "default_value") not in steps[-2:]:
        return None
    owner = obj
    for n, (kind, key) in enumerate(steps):
        if kind == "attr" and key == "default_value" and n >= len(steps) - 2:
            if isinstance(owner, bpy.types.NodeSocket) and not owner.is_output:
                if any(not link.is_muted for link in owner.links):
                    return owner
            return None
        owner = getattr(owner, key) if kind == "attr" else owner[key]
    return None


def _light_types(built: BuiltScene, specs: list, targets: list[list[str]], at: int, name: str) -> list[str]:
    """The types light `name` can have when entry `at` sets it. A `light` entry's `light_type`
    (or a property entry's `data.type`) changes it in place, and it stays so until changed:
    the last entry before `at` that sets it does so on every frame and decides; without one,
    its type as built (frame 0) or one an entry after `at` gave it in the frame before."""

    def types(spec, names) -> list[str]:
        if name not in names:
            return []
        if spec.name == "light" and "light_type" in spec.params:
            d = spec.params["light_type"]
        elif spec.name == "property" and spec.options.get("path") == "data.type" and "value" in spec.params:
            d = spec.params["value"]
        else:
            return []
        return [str(v).upper() for v in listed_values(d)]

    for j in range(at - 1, -1, -1):
        if types(specs[j], targets[j]):
            return sorted(set(types(specs[j], targets[j])))
    later = {t for j in range(at + 1, len(specs)) for t in types(specs[j], targets[j])}
    built_type = built.lights[name].data.type
    return [built_type] + sorted(later - {built_type})


def _property_problem(built: BuiltScene, spec, name: str, light_type: str | None):
    """(key, value, expected) of what is wrong with entry `spec` on target `name`, or None;
    with `light_type`, on the light made that type (its type as built is given back)."""
    d = spec.params.get("value")
    path = spec.options["path"]
    as_type = f" (as a {light_type} light, which a light_type of the file makes it)" if light_type else ""
    try:
        obj = target_object(built, name, spec)
    except PropertyPathError as e:  # (a base scene without a world)
        return "path", path, f"a property path that resolves on {name}{as_type}: {e}"
    built_type = obj.data.type if light_type else None
    try:
        if light_type:
            obj.data.type = light_type  # the same light datablock, seen as that type
        try:
            slot = resolve(obj, spec.steps)
        except PropertyPathError as e:
            return "path", path, f"a property path that resolves on {name}{as_type}: {e}"
        socket = linked_input(obj, spec.steps)
        if socket is not None:
            feeds = socket.links[0].from_node
            return (
                "path",
                path,
                f"an input whose value is used: on {name} the input {socket.name!r} of node {socket.node.name!r} "
                f"is linked (from {feeds.name!r}), so the node renders what the link brings and the value would "
                "show in no frame; set what feeds it instead (or remove the link in the .blend)"
                + (
                    " (the colour, roughness and metallic of the add-on's materials: a `material` randomizer)"
                    if socket.node.type == "BSDF_PRINCIPLED" and socket.name in ("Base Color", "Roughness", "Metallic")
                    else ""
                ),
            )
        if slot_animated(slot):
            return (
                "path",
                path,
                f"a property the .blend does not key or drive: on {name} it is animated, and the animation "
                "sets it back when the frame renders (the value would show in no frame); remove its keys or "
                f"driver in the .blend, or leave {name} out of targets",
            )
        problem = check_values(slot, d) if d is not None else None
        if problem:
            return "value", d.to_dict(), f"values that fit {path!r} on {name}{as_type}, which {problem}"
        return None
    finally:
        if light_type:
            obj.data.type = built_type


@file_check
def check_properties(built: BuiltScene, specs: list, targets: list[list[str]]) -> list[tuple[int, tuple]]:
    """Each property / world_property entry's path and values on each of its targets; on a
    light, for each type it can have when the entry sets it (a light entry's `light_type`
    changes it: `data.spot_size` is a spot's alone, and a run refusing it on a light a spot in
    every frame, or finding a point light without it in the middle, would be wrong)."""
    out = []
    for i, (spec, names) in enumerate(zip(specs, targets)):
        if spec.name not in ("property", "world_property"):
            continue
        for name in names:
            kinds = [None]
            if spec.target_kind is not None and name in built.lights and name not in built.entities:
                kinds = _light_types(built, specs, targets, i, name)
                kinds = [None if k == built.lights[name].data.type else k for k in kinds]
            problem = next((p for k in kinds if (p := _property_problem(built, spec, name, k))), None)
            if problem:
                out.append((i, problem))
                break
    return out


@applier("property", with_spec=True)
@applier("world_property", with_spec=True)
def apply_property(built: BuiltScene, target: str, v: dict, spec) -> None:
    if "value" not in v:
        return
    obj = target_object(built, target, spec)
    slot = resolve(obj, spec.steps)
    value = v["value"]
    if slot.kind == "int":
        value = [int(x) for x in value] if isinstance(value, list) else int(value)
    elif slot.kind == "float":
        value = [float(x) for x in value] if isinstance(value, list) else float(value)
    if slot.how == "attr":
        setattr(slot.owner, slot.key, value)  # RNA tags what depends on it
        return
    slot.owner[slot.key] = value
    # A custom property (a Geometry Nodes input among them) tags nothing: without this the
    # render would show the geometry evaluated with the old value.
    obj.update_tag()
    if isinstance(slot.owner, bpy.types.ID) and slot.owner != obj:
        slot.owner.update_tag()


def check_case_values(built: BuiltScene, specs: list, targets: list[list[str]], cases: list) -> list[tuple]:
    """(field, value, expected) of the values a corner case sets on property entries (its `set`
    names the entry's path), checked as the entries' own values are: before anything is written."""
    out = []
    for ci, case in enumerate(cases):
        for si, entry in enumerate(case.set):
            if entry.get("type") not in ("property", "world_property") or "value" not in entry:
                continue
            for spec, names in zip(specs, targets):
                if spec.name != entry["type"] or spec.options["path"] != entry.get("path"):
                    continue
                for name in names:
                    if not fnmatch.fnmatchcase(name, entry.get("target", "*")):
                        continue
                    try:
                        slot = resolve(target_object(built, name, spec), spec.steps)
                    except PropertyPathError:
                        continue  # said for the entry itself
                    problem = check_values(slot, Constant(entry["value"]))
                    if problem:
                        path = spec.options["path"]
                        out.append(
                            (
                                f"cases[{ci}].set[{si}].value",
                                entry["value"],
                                f"a value that fits {path!r} on {name}, which {problem}",
                            )
                        )
    return out


def world_set_twice(built: BuiltScene, specs: list) -> list[str]:
    """A warning for each world entry (`color`, `strength`) and world_property entry whose
    path is that input's default_value of the Background node the world entry sets: the later
    entry sets it over the earlier one each frame, so the earlier's value shows in no frame."""
    from .build import world_background

    bg = world_background(built.scene.world)
    if bg is None:
        return []
    sockets = {"color": bg.inputs["Color"], "strength": bg.inputs["Strength"]}
    out = []
    for i, first in enumerate(specs):
        for j in range(i + 1, len(specs)):
            pair = (first, specs[j])
            entry = next((s for s in pair if s.name == "world"), None)
            prop = next((s for s in pair if s.name == "world_property"), None)
            if entry is None or prop is None:
                continue
            try:
                slot = resolve(built.scene.world, prop.steps)
            except PropertyPathError:  # refused by the entry's own check, which says why
                continue
            params = [
                p
                for p, socket in sockets.items()
                if p in entry.params and slot.key == "default_value" and slot.owner == socket
            ]
            if not params:
                continue
            said = {id(entry): " and ".join(f"`{p}`" for p in params), id(prop): f"path {prop.options.get('path')}"}
            out.append(
                f"randomizers[{i}] ({first.name}, {said[id(first)]}) and randomizers[{j}] ({specs[j].name}, "
                f"{said[id(specs[j])]}) both set the {' and '.join(params)} of the world's Background node "
                f"{bg.name!r}: the later entry wins each frame, so randomizers[{i}]'s value shows in no frame; "
                "set it in one entry"
            )
    return out
