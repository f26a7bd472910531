"""The hand-off EXR is written without OpenEXR's thread pool (capture/exr_threads.py): the
same bytes, Blender's own count back when the run ends."""

from __future__ import annotations

import os
import sys

import pytest

bpy = pytest.importorskip("bpy")

from sdg_addon.capture import exr_threads  # noqa: E402
from sdg_addon.capture.render import Capturer  # noqa: E402
from sdg_addon.config.schema import RenderSettings  # noqa: E402
from sdg_addon.scene.build import BuiltScene, discover_entities, label_table  # noqa: E402

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="found through /proc/self/maps")


def small_scene():
    bpy.ops.mesh.primitive_cube_add(size=2)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    bpy.context.scene.collection.objects.link(cam)
    cam.location = (0, 0, 8)
    entities = discover_entities(bpy.context.scene, realize=True)
    built = BuiltScene(
        bpy.context.scene, entities, cameras={"cam": cam}, label_table=label_table({}, entities.values())
    )
    return built


def test_blender_loaded_an_openexr_whose_thread_count_can_be_set(clean_bpy):
    # Found and callable on the bpy wheels CI runs (5.0.1, 4.2.x): a renamed library or
    # namespace would quietly bring the slow writes back.
    assert exr_threads._loaded_openexr() is not None
    before = exr_threads.openexr_threads()
    assert before >= 1
    try:
        assert exr_threads.set_openexr_threads(0) == before
        assert exr_threads.openexr_threads() == 0
        assert exr_threads.set_openexr_threads(before + 1) == 0
        assert exr_threads.openexr_threads() == before + 1
    finally:
        exr_threads.set_openexr_threads(before)


def test_the_capturer_writes_in_its_own_thread_and_gives_the_count_back(clean_bpy):
    before = exr_threads.openexr_threads()
    settings = RenderSettings(width=64, height=48, samples=2, device="cpu")
    capturer = Capturer(small_scene(), settings, {"instance", "depth"}, need_geometry=False)
    try:
        assert exr_threads.openexr_threads() == 0
        frame = capturer.capture(0, "cam")
        assert exr_threads.openexr_threads() == 0 and frame.passes["instance"].max() > 0
    finally:
        capturer.close()
    assert exr_threads.openexr_threads() == before
    capturer.close()  # twice (every exit path closes): still Blender's count
    assert exr_threads.openexr_threads() == before


def test_the_file_is_the_same_bytes_with_and_without_the_pool(clean_bpy, tmp_path):
    settings = RenderSettings(width=64, height=48, samples=2, device="cpu")
    capturer = Capturer(small_scene(), settings, {"instance", "depth"}, need_geometry=False)
    try:
        capturer.capture(0, "cam")
        result, scene = bpy.data.images["Render Result"], bpy.context.scene
        files = {}
        for count in (0, 3):
            exr_threads.set_openexr_threads(count)
            files[count] = str(tmp_path / f"threads_{count}.exr")
            result.save_render(files[count], scene=scene)
        exr_threads.set_openexr_threads(0)
    finally:
        capturer.close()
    data = {count: open(path, "rb").read() for count, path in files.items()}
    assert len(data[0]) > 64 * 48 * 6 * 4 and data[0] == data[3]
    assert os.path.getsize(files[0]) == len(data[0])
