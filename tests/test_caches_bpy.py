"""Blender's simulation caches during a run (scene.caches): a Replay fluid domain and a cloth
cache on disk write nothing beside the user's .blend, a fluid scene's run exits 0, and the
UI refuses to record an open file whose cache would be written beside it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

bpy = pytest.importorskip("bpy")

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}


def python(*args: str) -> subprocess.CompletedProcess:
    """A fresh Python: a fluid simulation must not meet pytest's own shutdown."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True)


def files_under(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file's content and modification time (a file written again with the same bytes
    was still written)."""
    return {
        p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def user(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("user")
    done = python(
        "-c", f"from pathlib import Path; import blend_scene; blend_scene.make_simulation_blends(Path({str(folder)!r}))"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def clip_file(folder: Path, blend: Path) -> Path:
    """Three frames of one clip: the scene's own simulation steps through frames 1-3."""
    path = folder / f"{blend.stem}.toml"
    path.write_text(
        "[run]\nframes = 3\n[sequence]\nclip_length = 3\n"
        '[render]\nresolution = [32, 24]\nsamples = 1\ndevice = "cpu"\n'
        f'[scene]\nblend = "{blend.as_posix()}"\ncameras = ["CamA"]\n'
    )
    return path


def test_a_replay_fluid_domain_writes_its_cache_outside_the_users_folder(user, tmp_path):
    before = files_under(user)
    out = tmp_path / "out"
    done = python(
        "-m", "headless", "render", str(clip_file(tmp_path, user / "smoke.blend")), "--out", str(out), "--quiet"
    )
    # Before: cache_fluid_*/config/config_0001.uni written beside smoke.blend, and exit 139
    # after a finished run (Mantaflow's data freed during Python's shutdown).
    assert done.returncode == 0, done.stderr[-3000:]
    assert files_under(user) == before
    assert len(list(out.glob("clip_0000/rgb_*.png"))) == 3


@pytest.mark.parametrize("opened", ["cloth.blend", "shop.blend"])
def test_the_open_file_recorded_headless_keeps_its_disk_cache_unwritten(user, tmp_path, opened):
    """`blender -b cloth.blend -P record.py` naming cloth.blend as the base scene (or with
    another file open): the run reads the file into an empty session, so the cloth cache goes
    to Blender's temporary folder, not into blendcache_<open file>/ beside it."""
    before = files_under(user)
    param = clip_file(tmp_path, user / "cloth.blend")
    out = tmp_path / "out"
    code = (
        "import bpy, sys\n"
        f"bpy.ops.wm.open_mainfile(filepath={str(user / opened)!r}, load_ui=False)\n"
        "from headless.cli import main\n"
        f"sys.exit(main(['render', {str(param)!r}, '--out', {str(out)!r}, '--quiet']))\n"
    )
    done = python("-c", code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert files_under(user) == before  # before: blendcache_cloth/*.bphys, one per frame
    assert len(list(out.glob("clip_0000/rgb_*.png"))) == 3


def test_the_ui_refuses_an_open_file_whose_disk_cache_would_be_written_beside_it(user, tmp_path, clean_bpy):
    from sdg_addon.config.schema import config_from_dict
    from sdg_addon.scene.base import BaseSceneError
    from sdg_addon.scene.build import build_scene

    before = files_under(user)
    bpy.ops.wm.open_mainfile(filepath=str(user / "cloth.blend"), load_ui=False)
    config = config_from_dict({"run": {"frames": 1}}, tmp_path / "p.toml", open_scene=True)
    with pytest.raises(
        BaseSceneError, match=r"'sheet' \(modifiers\[\"Cloth\"\]\): a simulation cache on disk, not baked"
    ):
        build_scene(config, bpy.context.scene)
    assert files_under(user) == before
    # Turned off (the way out the message names), the same scene records.
    bpy.data.objects["sheet"].modifiers["Cloth"].point_cache.use_disk_cache = False
    build_scene(config, bpy.context.scene)


CLIPS = """
import sys
from pathlib import Path
from sdg_addon.config.schema import config_from_dict
from sdg_addon.scene.build import build_scene
from sdg_addon.scene.caches import free_simulations_before_exit
from sdg_addon.scene.motion import SequencePlayer
user = Path(sys.argv[1])
config = config_from_dict({"run": {"frames": 4}, "sequence": {"clip_length": 2},
                           "scene": {"blend": str(user / "smoke.blend"), "cameras": ["CamA"]}}, user / "p.toml")
built = build_scene(config)
domain = next(o for o in built.scene.objects if "Fluid" in o.modifiers and o.modifiers["Fluid"].fluid_type == "DOMAIN")
settings = domain.modifiers["Fluid"].domain_settings
player = SequencePlayer(built, config.sequence, config.randomizers)
seen = []
for clip in range(2):
    for i in range(2):
        player.apply(i, [])
        if i == 0:
            seen.append(settings.cache_directory)
            Path(seen[-1], "written_by_the_clip").write_text("x")  # as Mantaflow would
print(repr(seen + [Path(seen[0]).exists(), Path(seen[1]).exists()]))
free_simulations_before_exit()
"""


def test_each_clip_simulates_a_replay_fluid_afresh(user, tmp_path):
    """A Replay domain reuses the frames in its cache folder: every clip starts with an
    empty folder of its own (in Blender's temporary folder), so a clip simulates as it would
    alone (a shard, --resume), not from an earlier clip's cache; the earlier clip's folder
    is removed (a long run would fill the disk)."""
    import ast

    done = python("-c", CLIPS, str(user))
    assert done.returncode == 0, done.stderr[-3000:]
    first, second, first_kept, second_kept = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert first != second
    assert not first_kept and second_kept  # an earlier clip's folder is removed, the current one kept
    for folder in (first, second):
        assert "sdg_fluid_" in folder and not folder.startswith(str(user))
