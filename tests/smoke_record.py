"""Smoke run of the extension on the bpy this script runs under (CI runs it on 4.2 LTS and
5.0.1, see test_blender_versions.py): build the zip with that Blender's own extension tool,
install it into a temporary repository, enable it, open a small .blend (made here by this
Blender) and record 2 frames with the recorder panel's operator.

    python tests/smoke_record.py OUT_DIR
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="sdg_smoke_user_"))

import tomllib  # noqa: E402

import bpy  # noqa: E402
from blend_scene import make_shop_blend  # noqa: E402

REPO = "sdg_smoke"
ANNOTATORS = ("distance_to_image_plane", "instance_segmentation", "semantic_segmentation", "bounding_box_2d_tight")


def main(out: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="sdg_smoke_"))
    tool = Path(bpy.utils.resource_path("LOCAL")) / "scripts" / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    dist = work / "dist"
    dist.mkdir()  # Blender 4.2's tool does not make it
    subprocess.run(
        [sys.executable, str(tool), "build", "--source-dir", str(ROOT), "--output-dir", str(dist)], check=True
    )
    (zip_path,) = dist.glob("*.zip")
    prefs = bpy.context.preferences
    prefs.use_preferences_save = False
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    repo = prefs.extensions.repos.new(name=REPO, module=REPO, custom_directory=str(work / "ext"), source="USER")
    assert bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=REPO, enable_on_install=True) == {
        "FINISHED"
    }
    ext_id = tomllib.loads((ROOT / "blender_manifest.toml").read_text())["id"]
    module = f"bl_ext.{REPO}.{ext_id}"
    assert module in prefs.addons, "the extension is not enabled"
    recording = sys.modules[f"{module}.sdg_addon.ui.recording"]
    jobs = sys.modules[f"{module}.sdg_addon.ui.job"]

    blend = work / "shop.blend"
    make_shop_blend(blend)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    s = bpy.context.scene.sdg
    s.run.frames, s.run.samples, s.run.width, s.run.height, s.run.device, s.run.seed = 2, 2, 64, 48, "cpu", 1
    s.run.output = str(out)
    for name in s.annotators.bl_rna.properties.keys():
        if name not in ("rna_type", "name"):
            setattr(s.annotators, name, name in ANNOTATORS)
    item = s.randomizers.add()
    item.type = "pose"
    item.targets = "can_*"
    row = item.params["location"]
    row.use, row.distribution, row.low, row.high = True, "uniform", "[-0.8, -0.4, 0.2]", "[0.8, 0.0, 0.2]"
    assert bpy.ops.sdg.start_recording("EXEC_DEFAULT") == {"RUNNING_MODAL"}
    job = jobs.current
    while recording.handle_event(job, "TIMER", "NOTHING") == "wait":
        pass
    print(f"blender {bpy.app.version_string}: {job.state}: {job.message}", flush=True)
    # The panels draw on this Blender: every property, operator and icon they name exists.
    from fake_layout import draw_panel

    # A path option (a texture's folder) is a folder field with Blender's browse button.
    texture = bpy.context.scene.sdg.randomizers.add()  # (the recording undid to a new scene)
    texture.type = "texture"
    folder = texture.options["folder"]
    folder.path = "//textures/"  # as the file browser sets it
    assert folder.value == "//textures/" and folder.bl_rna.properties["path"].subtype == "DIR_PATH"
    assert ("prop", "path") in draw_panel(bpy, "SDG_PT_randomizers")
    for panel in ("SDG_PT_labels", "SDG_PT_recorder", "SDG_PT_randomizers"):
        log = draw_panel(bpy, panel)
        print(f"panel {panel}: {len(log)} items drawn", flush=True)
    import addon_utils

    addon_utils.disable(module, default_set=True)
    prefs.extensions.repos.remove(repo)
    return 0 if job.state == "done" else 1


if __name__ == "__main__":
    code = main(Path(sys.argv[1]).resolve())
    sys.stdout.flush()
    sys.stderr.flush()
    # bpy 4.2 as a Python module can crash in its C exit handlers (a space type freeing a
    # Python class after the interpreter is gone) once an undo step was loaded; the Blender
    # app exits through its own shutdown instead. Everything is written by now.
    os._exit(code)
