"""The number of entities a scene may have: Blender's pass_index (the id of the Object
Index pass) is 0 .. 32767, ids 0 and 1 are reserved, so 32766 entities at most
(docs/exactness.md, Entities)."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

from sdg_addon.scene.build import MAX_ENTITIES, discover_entities  # noqa: E402


def _scene_of(n: int):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    me = bpy.data.meshes.new("tri")
    me.from_pydata([(0, 0, 0), (0.01, 0, 0), (0, 0.01, 0)], [], [(0, 1, 2)])
    for i in range(n):
        scene.collection.objects.link(bpy.data.objects.new(f"o{i:05d}", me))
    return scene


def test_the_entity_limit_and_one_past_it():
    assert MAX_ENTITIES == 32766
    scene = _scene_of(MAX_ENTITIES)
    entities = discover_entities(scene, realize=False)
    assert len(entities) == MAX_ENTITIES
    assert max(e.instance_id for e in entities.values()) == 32767  # pass_index's largest
    scene.collection.objects.link(bpy.data.objects.new("one_more", bpy.data.meshes["tri"]))
    with pytest.raises(ValueError) as err:
        discover_entities(scene, realize=False)
    said = str(err.value)
    assert "32767 entities" in said and "at most 32766" in said
    assert "make fewer instances" in said  # the way out, not a bare count
