"""Reading and writing semantic labels on Blender objects and collections (bpy).

Resolution (docs/exactness.md, "Labels"): the object hierarchy is walked from the root
object down to the object itself. Each object contributes, in this order,
  1. the collections it is in that none of its parent objects is in (outermost first),
  2. its own labels,
  3. for a collection instance, the labels of the collection it instances (the instanced
     content is nearer to the geometry than the object that places it, as a USD
     prototype's prims are below the instance prim).
Later (nearer) entries replace a whole label type. So a parent object's labels beat a
collection the parent and child share, while a collection only the child is in (a cup
parented to a table but kept in the "cups" collection) beats the parent object.

Copies of instanced geometry made real by scene.instancing carry two properties: the
object that instanced them (INSTANCER) and the labels their prototype had in its own source
(INSTANCE_LABELS: for a collection instance, resolved inside the instanced collection).
Their labels are the instancer's resolved labels overridden by INSTANCE_LABELS.
"""

from __future__ import annotations

import contextlib
import fnmatch

from .parse import LABEL_PROPERTY, merge_labels, parse_labels
from .rules import NameRule, RuleValueError, apply_rule, composed, rule_value_problem

INSTANCER = "sdg_instancer"  # realized copy -> the object whose instancing made it (ID pointer)
INSTANCE_LABELS = "sdg_instance_labels"  # realized copy -> its prototype's labels in its source
REALIZED_INSTANCER = "sdg_instancer_state"  # instancer whose instances were made real (saved state)
NAMED_PART = "sdg_named_part"  # a model file's part the run named ROOT/NAME: its path is .../ROOT/NAME


def set_labels(idblock, labels: dict[str, list[str] | str]) -> None:
    """Store labels ({type: value or [values]}) on an object or collection."""
    idblock[LABEL_PROPERTY] = {t: [v] if isinstance(v, str) else list(v) for t, v in labels.items()}


def own_labels(idblock) -> dict[str, list[str]]:
    try:
        return parse_labels(idblock.get(LABEL_PROPERTY))
    except ValueError as e:
        raise ValueError(f"{type(idblock).__name__} {idblock.name!r}: {e}") from None


def collection_parents(scene) -> dict[str, object]:
    """Collection name -> parent collection, for the scene's collection tree. A collection
    linked under several parents takes one through which it renders (the rendered view
    layer: not excluded, not disabled for rendering, nor any collection above), the last
    such; one linked only where it does not render, the last."""
    from ..scene.base import render_view_layer

    parents: dict[str, object] = {}
    renders: dict[str, bool] = {}

    def walk(layer, shown):
        for child in layer.children:
            coll = child.collection
            ok = shown and not child.exclude and not coll.hide_render
            if coll.name not in parents or ok or not renders[coll.name]:
                parents[coll.name], renders[coll.name] = layer.collection, ok
            walk(child, ok)

    walk(render_view_layer(scene).layer_collection, True)
    return parents


def object_collections(scene) -> dict[str, list]:
    """Object name -> the scene collections it is in (sorted by name), for every object of
    the scene: one walk instead of Object.users_collection, which scans every collection."""
    out: dict[str, list] = {}
    seen: set[int] = set()

    def walk(coll):
        if coll.as_pointer() in seen:
            return
        seen.add(coll.as_pointer())
        for obj in coll.objects:
            out.setdefault(obj.name, []).append(coll)
        for child in coll.children:
            walk(child)

    walk(scene.collection)
    for colls in out.values():
        colls.sort(key=lambda c: c.name)
    return out


def users_of(obj, users: dict | None) -> list:
    """The collections `obj` is in: from an object_collections map when it knows `obj`."""
    if users is not None and obj.name in users:
        return users[obj.name]
    return sorted(obj.users_collection, key=lambda c: c.name)


def collection_chain(coll, parents) -> list:
    """Outermost first, the scene's master collection excluded.

    A collection mapped to None in `parents` is a root that counts (used for an instanced
    collection, resolved on its own); one missing from `parents` contributes nothing.
    """
    chain = []
    while coll is not None and coll.name in parents:
        chain.append(coll)
        coll = parents.get(coll.name)
    return chain[::-1]


def instanced_collection(obj):
    """The collection `obj` instances (also after its instances were made real), or None."""
    coll = getattr(obj, "instance_collection", None)
    if coll is None:
        return None
    if obj.instance_type == "COLLECTION" or obj.get(REALIZED_INSTANCER) is not None:
        return coll
    return None


def label_chain(obj, parents, users: dict | None = None) -> list[dict[str, list[str]]]:
    """The labels that apply to `obj`, farthest first (see the module docstring)."""
    chain: list[dict] = []
    seen: set[str] = set()
    for node in _ancestors(obj):
        for coll in users_of(node, users):
            for c in collection_chain(coll, parents):
                if c.name not in seen:
                    seen.add(c.name)
                    chain.append(own_labels(c))
        chain.append(own_labels(node))
        inst = instanced_collection(node)
        if inst is not None:
            chain.append(own_labels(inst))
    return chain


def resolved_labels(obj, parents, users: dict | None = None) -> dict[str, list[str]]:
    """Labels of `obj` with inheritance; nearest wins per label type.

    `users` (object_collections(scene)) only makes it faster for many objects.
    """
    instancer = obj.get(INSTANCER)
    # An Object (the ID pointer may be None): asked of its type, as hasattr on the object
    # would evaluate Object.users_collection, which scans every collection of the file
    # (once per copy: quadratic in the copies of a scene's instances).
    if instancer is not None and hasattr(type(instancer), "users_collection"):
        return merge_labels([resolved_labels(instancer, parents, users), parse_labels(obj.get(INSTANCE_LABELS))])
    return merge_labels(label_chain(obj, parents, users))


def object_path(obj, parents, users: dict | None = None, rendered: set[int] | None = None) -> str:
    """A stable, readable path like /tabletop/mug/mug_001 (collections, parents, name).

    A name the run gave as PARENT/NAME (a realized copy "chair_012/seat" below its instancer
    "chair_012", a model file's part "mug_003/handle" below its root "mug_003") is shortened
    to the rest ("seat"), so paths do not repeat themselves. What a name holds that a path
    would read as structure is escaped as in a URL: "/" as "%2F" and "%" as "%25", so an
    object named "shelf/box" (/shelf%2Fbox) and the child "box" of "shelf" (/shelf/box) have
    paths of their own. The collections are those of the first (by name) of the outermost
    object's collections that renders, given `rendered` (instancing.render_collections).
    """
    chain = _ancestors(obj)
    parts = []
    for i, o in enumerate(chain):
        name = o.name
        if o.get(INSTANCER) is not None or o.get(NAMED_PART):
            prefixes = [a.name + "/" for a in chain[:i] if name.startswith(a.name + "/")]
            if prefixes:
                name = name[len(max(prefixes, key=len)) :]
        parts.append(path_name(name))
    root_colls = users_of(chain[0], users)
    if rendered is not None:  # an object in an excluded collection too: the path it renders by
        root_colls = [c for c in root_colls if c.as_pointer() in rendered] or root_colls
    colls = collection_chain(root_colls[0], parents) if root_colls else []
    return "/" + "/".join([path_name(c.name) for c in colls] + parts)


def path_name(name: str) -> str:
    """A collection's or object's name as one element of a prim path: "%" and "/" escaped."""
    return name.replace("%", "%25").replace("/", "%2F")


def _ancestors(obj) -> list:
    out = []
    while obj is not None:
        out.append(obj)
        obj = obj.parent
    return out[::-1]


BACKGROUND_PROPERTY = "sdg_background"  # True: unlabelled on purpose (a ground, a backdrop)


def unlabelled_objects(scene, semantic_type: str = "class") -> list[str]:
    """Names of the mesh objects that render with no label of `semantic_type` (for
    warnings): not those of a collection excluded from the rendered view layer or disabled
    for renders; objects marked as background (BACKGROUND_PROPERTY) are unlabelled on purpose."""
    from ..scene.instancing import in_render_collections, render_collections, renders

    parents, users = collection_parents(scene), object_collections(scene)
    rendered = render_collections(scene)
    return sorted(
        o.name
        for o in scene.objects
        if o.type == "MESH"
        and renders(o)
        and in_render_collections(o, rendered, users)
        and not o.get(BACKGROUND_PROPERTY)
        and semantic_type not in resolved_labels(o, parents, users)
    )


def category_id_note(scene, names: list[str]) -> str:
    """Of the objects `names` (unlabelled), those carrying BlenderProc's label, the custom
    property category_id (a .blend prepared for BlenderProc's segmentation): the run reads
    labels from `semantics` only, so a BlenderProc user saw every object UNLABELLED with no
    hint why. A clause saying so and what to set, or ''."""
    carrying = [n for n in names if n in scene.objects and "category_id" in scene.objects[n].keys()]
    if not carrying:
        return ""
    shown = ", ".join(carrying[:10]) + (f" and {len(carrying) - 10} more" if len(carrying) > 10 else "")
    ids = []
    for n in carrying:
        with contextlib.suppress(TypeError, ValueError):
            ids.append(int(scene.objects[n]["category_id"]))
    top = max([i for i in ids if i >= 1], default=3)
    return (
        f"; {len(carrying)} of them ({shown}) carry BlenderProc's category_id custom property, which is no label "
        f"here: give each a '{LABEL_PROPERTY}' custom property instead (e.g. class:chair, or class:{top} for "
        f'category_id {top}, with [labels] class = ["1", ..., "{top}"], every id from 1 in order, so that COCO\'s '
        "category_id and BOP's obj_id are that number as in BlenderProc's files; docs/porting.md)"
    )


def rule_targets(scene, rule: NameRule, selected=None) -> list:
    """What a name rule labels: the `selected` objects when given (the panel's "Selected"),
    else the scene's mesh objects, objects or collections (rule.scope), in name order,
    filtered by rule.names. Objects and collections unlabelled on purpose (BACKGROUND_PROPERTY:
    the ground, distractors) are never labelled by a rule."""
    if selected is not None:
        found = list(selected)
    elif rule.scope == "collections":
        found = list(scene.collection.children_recursive)
    elif rule.scope == "objects":
        found = list(scene.objects)
    else:
        found = [o for o in scene.objects if o.type == "MESH"]
    # A glob matches the whole name or, as the rule reads it, the part after the last "/"
    # (an imported part ASSET/SOURCE_NAME: names = ["SM_*"] selects a pack's SM_ meshes).
    # Both composed (NFC): a glob typed 'café*' selects an object spelt decomposed (NFD).
    globs = [composed(p) for p in rule.names]
    found = [x for x in found if any(fnmatch.fnmatchcase(composed(n), p) for n in _rule_names(x.name) for p in globs)]
    found = [x for x in found if not x.get(BACKGROUND_PROPERTY)]
    return sorted(found, key=lambda x: x.name)


def _rule_names(name: str) -> tuple[str, ...]:
    own = name.rsplit("/", 1)[-1]
    return (name,) if own == name else (name, own)


def apply_label_rule(rule: NameRule, idblocks, scene=None) -> tuple[list[tuple[str, str]], int, list[str]]:
    """Label `idblocks` by `rule` (own labels): ([(name, value) labelled], kept, [unmatched]).

    With `scene`, a label of the rule's type an ID inherits (from its collections and parent
    objects, as the Labels panel shows it) counts as existing too: kept unless rule.overwrite.
    Raises ValueError naming an ID whose stored labels are malformed, RuleValueError naming
    one the rule would give a value no label may have (rule_value_problem); nothing is
    labelled then."""
    labelled, kept, unmatched = [], 0, []
    changes = []
    parents = collection_parents(scene) if scene is not None else None
    users = object_collections(scene) if scene is not None else None
    for idblock in idblocks:
        labels = own_labels(idblock)
        if parents is not None and rule.type not in labels and rule.value(idblock.name) is not None:
            if rule.type in _inherited(idblock, parents, users) and not rule.overwrite:
                kept += 1
                continue
        outcome, value = apply_rule(rule, labels, idblock.name)
        if outcome == "labelled":
            problem = rule_value_problem(rule, idblock)
            if problem:  # a value no label may have (BACKGROUND): every run would refuse it
                raise RuleValueError(value, problem)
            changes.append((idblock, labels))
            labelled.append((idblock.name, value))
        elif outcome == "kept":
            kept += 1
        else:
            unmatched.append(idblock.name)
    for idblock, labels in changes:  # none before every value is known to be a label value
        set_labels(idblock, labels)
    return labelled, kept, unmatched


def _inherited(idblock, parents, users) -> dict[str, list[str]]:
    """The labels an object or collection has with inheritance (its own included)."""
    if getattr(idblock, "id_type", "") == "COLLECTION":
        return merge_labels([own_labels(c) for c in collection_chain(idblock, parents)])
    return resolved_labels(idblock, parents, users)


def rename_label_value(idblocks, label_type: str, old: str, new: str) -> tuple[list, list[str]]:
    """Replace the value `old` of `label_type` by `new` in the own labels of `idblocks` (a
    value already there is not doubled): ([idblocks changed], [problems of malformed ones]).
    Type and values are compared composed, as labels are read (labels.parse)."""
    label_type, old, new = composed(label_type), composed(old), composed(new)
    changed, problems = [], []
    for idblock in idblocks:
        try:
            labels = own_labels(idblock)
        except ValueError as e:
            problems.append(str(e))
            continue
        values = labels.get(label_type, [])
        if old not in values:
            continue
        labels[label_type] = list(dict.fromkeys(new if v == old else v for v in values))
        set_labels(idblock, labels)
        changed.append(idblock)
    return changed, problems


def apply_label_rules(scene, rules) -> list[str]:
    """`[[label_rules]]` of a parameter file, in order; returns one line per rule (for logs)."""
    from ..config.problems import FieldError

    lines = []
    for i, rule in enumerate(rules):
        try:
            labelled, kept, unmatched = apply_label_rule(rule, rule_targets(scene, rule), scene)
        except RuleValueError as e:
            raise FieldError(f"label_rules[{i}]", e.value, f"a rule whose values are label values: {e}") from None
        lines.append(f"label_rules[{i}]: labelled {len(labelled)}, kept {kept}, unmatched {len(unmatched)}")
    return lines


__all__ = [
    "rule_targets",
    "apply_label_rule",
    "apply_label_rules",
    "rename_label_value",
    "set_labels",
    "own_labels",
    "resolved_labels",
    "label_chain",
    "object_path",
    "path_name",
    "NAMED_PART",
    "collection_parents",
    "collection_chain",
    "object_collections",
    "instanced_collection",
]
