"""Reading and writing semantic labels on Blender objects and collections (bpy)."""

from __future__ import annotations

from .parse import LABEL_PROPERTY, merge_labels, parse_labels


def set_labels(idblock, labels: dict[str, list[str]]) -> None:
    idblock[LABEL_PROPERTY] = {t: list(v) for t, v in labels.items()}


def own_labels(idblock) -> dict[str, list[str]]:
    try:
        return parse_labels(idblock.get(LABEL_PROPERTY))
    except ValueError as e:
        raise ValueError(f"{type(idblock).__name__} {idblock.name!r}: {e}") from None


def collection_parents(scene) -> dict[str, object]:
    """Collection name -> parent collection, for the scene's collection tree."""
    parents: dict[str, object] = {}

    def walk(coll):
        for child in coll.children:
            parents[child.name] = coll
            walk(child)

    walk(scene.collection)
    return parents


def collection_chain(coll, parents) -> list:
    """Outermost first, the scene's master collection excluded."""
    chain = []
    while coll is not None and coll.name in parents:
        chain.append(coll)
        coll = parents.get(coll.name)
    return chain[::-1]


def resolved_labels(obj, parents) -> dict[str, list[str]]:
    """Labels of `obj` with inheritance: collections, then parent objects, then itself."""
    chain: list[dict] = []
    ancestors = []
    p = obj
    while p is not None:
        ancestors.append(p)
        p = p.parent
    ancestors.reverse()  # root first
    for node in ancestors:
        for coll in node.users_collection:
            for c in collection_chain(coll, parents):
                chain.append(own_labels(c))
    for node in ancestors:
        chain.append(own_labels(node))
    return merge_labels(chain)


def object_path(obj, parents) -> str:
    """A stable, readable path like /tabletop/mug/mug_001 (collections, parents, name)."""
    parts = [o.name for o in _ancestors(obj)]
    root = _ancestors(obj)[0]
    colls = collection_chain(root.users_collection[0], parents) if root.users_collection else []
    return "/" + "/".join([c.name for c in colls] + parts)


def _ancestors(obj) -> list:
    out = []
    while obj is not None:
        out.append(obj)
        obj = obj.parent
    return out[::-1]


def unlabelled_objects(scene, semantic_type: str = "class") -> list[str]:
    """Names of visible mesh objects with no label of `semantic_type` (for warnings)."""
    parents = collection_parents(scene)
    return sorted(
        o.name
        for o in scene.objects
        if o.type == "MESH" and not o.hide_render and semantic_type not in resolved_labels(o, parents)
    )


__all__ = ["set_labels", "own_labels", "resolved_labels", "object_path", "collection_parents"]
