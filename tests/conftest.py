"""Shared fixtures. bpy tests start from an empty file (MolecularNodes-style reset)."""

from __future__ import annotations

import os
import signal
import tempfile

import pytest

# bpy reads its user folders when first imported: keep every test out of the real profile
# (extensions installed by tests, preferences, caches).
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="sdg_test_blender_user_"))

# A test session started in the background of a script (`.ci/run &`, nohup) inherits SIGINT
# ignored, and the processes it starts too; Python and the tool keep an ignored SIGINT
# ignored (POSIX's rule for background jobs), so the Ctrl-C tests failed there (exit 0 for
# 130). They run as from a terminal: SIGINT is Python's KeyboardInterrupt again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def clean_bpy():
    """A fresh, empty Blender file before the test; bpy is imported only by tests that ask."""
    bpy = pytest.importorskip("bpy")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy
    bpy.ops.wm.read_factory_settings(use_empty=True)


@pytest.fixture
def objects_at_each_import(monkeypatch):
    """The number of objects in the scene when each model file is imported (scene.build's
    import_file), appended as the test builds scenes: what an importer's view-layer update
    pays for."""
    bpy = pytest.importorskip("bpy")
    from sdg_addon.scene import build

    counts: list[int] = []
    real = build.import_file

    def counting(*args, **kw):
        counts.append(len(bpy.context.scene.objects))
        return real(*args, **kw)

    monkeypatch.setattr(build, "import_file", counting)
    return counts


@pytest.fixture
def count_users_collection(monkeypatch):
    """Call it to start counting: it returns the list of the names of the objects whose
    Object.users_collection is read from then on. Blender scans every collection for each
    such read, so a loop over many objects that asks it of each one is quadratic."""
    bpy = pytest.importorskip("bpy")

    def start() -> list[str]:
        asked: list[str] = []
        real = bpy.types.Object.users_collection

        def counted(self):
            asked.append(self.name)
            return real.fget(self)

        monkeypatch.setattr(bpy.types.Object, "users_collection", property(counted))
        return asked

    return start


@pytest.fixture
def drawn_text(monkeypatch):
    """Call it to start recording: it returns the list of the texts Pillow's ImageDraw.text
    draws from then on (a chart's title, a tag, a caption), in order."""
    from PIL import ImageDraw

    def start() -> list[str]:
        said: list[str] = []
        original = ImageDraw.ImageDraw.text

        def recorded(self, xy, text, *a, **k):
            said.append(text)
            return original(self, xy, text, *a, **k)

        monkeypatch.setattr(ImageDraw.ImageDraw, "text", recorded)
        return said

    return start
