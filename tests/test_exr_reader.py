"""The numpy EXR reader against OpenImageIO, on what Cycles writes (Blender 5 multi-part)
and on a single-part multilayer file (as Blender 4.x writes), in float and half."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from oiio_check import requires_oiio  # noqa: E402

from sdg_addon.capture.exr import _oiio, read_multilayer_exr_oiio  # noqa: E402
from sdg_addon.capture.exr_reader import UnsupportedExr, group_passes, read_exr  # noqa: E402
from sdg_addon.compat import canonical_passes, set_multilayer_exr  # noqa: E402

pytestmark = requires_oiio


@pytest.mark.parametrize("depth", ["32", "16"])
def test_cycles_multipart_file_reads_like_openimageio(clean_bpy, tmp_path, depth):
    bpy.ops.mesh.primitive_cube_add()
    bpy.context.object.pass_index = 7
    bpy.ops.object.camera_add(location=(0, -5, 0), rotation=(1.5708, 0, 0))
    sc = bpy.context.scene
    sc.camera = bpy.context.object
    sc.render.engine = "CYCLES"
    sc.cycles.samples = 1
    sc.render.resolution_x, sc.render.resolution_y = 40, 30
    vl = sc.view_layers[0]
    vl.use_pass_z = vl.use_pass_object_index = vl.use_pass_normal = True
    s = sc.render.image_settings
    set_multilayer_exr(s)
    s.color_depth, s.exr_codec = depth, "NONE"
    sc.render.use_file_extension = False
    sc.render.filepath = str(tmp_path / "r.exr")
    bpy.ops.render.render(write_still=True)
    ours, ref = group_passes(read_exr(sc.render.filepath)), read_multilayer_exr_oiio(sc.render.filepath)
    assert set(ours) == set(ref)
    ours, ref = canonical_passes(ours), canonical_passes(ref)  # 4.x writes IndexOB
    assert set(ours) >= {"Combined", "Depth", "Object Index", "Normal"}
    for name in ref:
        assert np.array_equal(ours[name], ref[name]), name
    assert 7 in ours["Object Index"]


def test_single_part_file_and_compressed_fallback(tmp_path):
    oiio = _oiio()
    h, w = 5, 7
    rng = np.random.default_rng(0)
    names = ["ViewLayer.Combined.R", "ViewLayer.Combined.G", "ViewLayer.Combined.B", "ViewLayer.Combined.A"]
    names += ["ViewLayer.Depth.Z"]
    pixels = rng.random((h, w, len(names)), dtype=np.float32)
    for codec in ("none", "zip"):
        path = str(tmp_path / f"{codec}.exr")
        spec = oiio.ImageSpec(w, h, len(names), oiio.FLOAT)
        spec.channelnames = tuple(names)
        spec.attribute("compression", codec)
        out = oiio.ImageOutput.create(path)
        assert out.open(path, spec) and out.write_image(pixels) and out.close()
        if codec == "none":
            passes = group_passes(read_exr(path))
            assert np.array_equal(passes["Combined"], pixels[..., :4])  # R, G, B, A order kept
            assert np.array_equal(passes["Depth"][..., 0], pixels[..., 4])
        else:
            with pytest.raises(UnsupportedExr):
                read_exr(path)


def _capture_like_exr(path, h=6, w=8):
    """An EXR laid out as the capture writes one (single part, as Blender 4.x): the main
    layer's image and the 1-sample data layer's image, depth (1e10 = no hit), ids under
    4.x's short name and normals."""
    oiio = _oiio()
    rng = np.random.default_rng(3)
    channels = {f"ViewLayer.Combined.{c}": rng.random((h, w)) for c in "RGBA"}
    channels.update({f"SDG Data.Combined.{c}": rng.random((h, w)) for c in "RGBA"})
    depth = rng.uniform(1, 5, (h, w))
    depth[0, :3] = 1e10
    channels["SDG Data.Depth.Z"] = depth
    channels["SDG Data.IndexOB.X"] = rng.integers(0, 9, (h, w)) + rng.uniform(-1e-4, 1e-4, (h, w))
    channels.update({f"SDG Data.Normal.{c}": rng.uniform(-1, 1, (h, w)) for c in "XYZ"})
    pixels = np.stack(list(channels.values()), axis=-1).astype(np.float32)
    spec = oiio.ImageSpec(w, h, len(channels), oiio.FLOAT)
    spec.channelnames = tuple(channels)
    spec.attribute("compression", "none")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(pixels) and out.close()
    return {name: pixels[..., k] for k, name in enumerate(channels)}


def test_capture_passes_take_ids_depth_normals_from_the_data_layer(tmp_path):
    from sdg_addon.capture.exr import capture_passes
    from sdg_addon.compat import LEGACY_PASS_NAMES

    ch = _capture_like_exr(tmp_path / "c.exr")
    p = capture_passes(str(tmp_path / "c.exr"), "ViewLayer", "SDG Data", "visible", LEGACY_PASS_NAMES)
    assert np.array_equal(p["combined"], np.stack([ch[f"ViewLayer.Combined.{c}"] for c in "RGBA"], -1))
    depth = ch["SDG Data.Depth.Z"]
    assert np.array_equal(p["depth"], np.where(depth >= 1e9, np.inf, depth)) and np.isinf(p["depth"][0, :3]).all()
    assert p["instance"].dtype == np.uint32 and np.array_equal(p["instance"], np.rint(ch["SDG Data.IndexOB.X"]))
    assert np.array_equal(p["normal"], np.stack([ch[f"SDG Data.Normal.{c}"] for c in "XYZ"], -1))
    # No data layer in the file: everything from the main layer; a NIR camera's radiance.
    nir = capture_passes(str(tmp_path / "c.exr"), "ViewLayer", "missing", "nir", LEGACY_PASS_NAMES)
    rgb = np.stack([ch[f"ViewLayer.Combined.{c}"] for c in "RGB"], -1)
    assert set(nir) == {"nir_radiance"} and np.array_equal(nir["nir_radiance"], rgb.mean(axis=-1, dtype=np.float32))


def test_captured_passes_move_by_name_and_are_read_once_without_bpy(tmp_path):
    """The render loop hands a worker the file's name (a tiny pickle); the worker, which has
    no bpy, reads the passes and removes the file; a second reader gets a clear error; once
    read, the object pickles as its arrays."""
    import pickle
    import shutil
    import subprocess
    import sys

    from sdg_addon.capture.exr import CapturedPasses, capture_passes
    from sdg_addon.compat import LEGACY_PASS_NAMES

    _capture_like_exr(tmp_path / "c.exr")
    shutil.copy(tmp_path / "c.exr", tmp_path / "ref.exr")
    expected = capture_passes(str(tmp_path / "ref.exr"), "ViewLayer", "SDG Data", "visible", LEGACY_PASS_NAMES)
    source = (str(tmp_path / "c.exr"), "ViewLayer", "SDG Data", "visible", dict(LEGACY_PASS_NAMES))
    blob = pickle.dumps(CapturedPasses(*source), protocol=5)
    assert len(blob) < 2000 and (tmp_path / "c.exr").exists()
    code = (
        "import pickle, sys, numpy as np\n"
        "sys.modules['bpy'] = None  # as in a worker: no Blender\n"
        f"passes = pickle.load(open({str(tmp_path / 'blob')!r}, 'rb'))\n"
        f"np.savez({str(tmp_path / 'got.npz')!r}, **passes.load())\n"
    )
    (tmp_path / "blob").write_bytes(blob)
    root = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
    got = np.load(tmp_path / "got.npz")
    assert sorted(got) == sorted(expected) and all(np.array_equal(got[k], expected[k]) for k in expected)
    assert not (tmp_path / "c.exr").exists()
    with pytest.raises(FileNotFoundError, match="read once"):
        pickle.loads(blob).load()
    loaded = CapturedPasses(str(tmp_path / "ref.exr"), *source[1:])
    assert loaded["depth"].shape == (6, 8) and not (tmp_path / "ref.exr").exists()
    again = pickle.loads(pickle.dumps(loaded))
    assert type(again) is dict and np.array_equal(again["instance"], expected["instance"])


def test_the_file_is_mapped_and_nothing_of_the_mapping_outlives_capture_passes(tmp_path, monkeypatch):
    """The reader views the file's pages (no copy of ~11 MB a frame); the passes it hands on
    are copies, so the mapping ends when capture_passes returns and the file can be deleted
    (Windows refuses to delete a mapped file). A file that cannot be mapped (an empty one,
    a file system without mmap) is read instead, with the same result."""
    import mmap
    import weakref

    from sdg_addon.capture import exr_reader
    from sdg_addon.capture.exr import capture_passes
    from sdg_addon.compat import LEGACY_PASS_NAMES

    maps = []

    class TrackedMap(mmap.mmap):
        def __new__(cls, *args, **kwargs):
            m = super().__new__(cls, *args, **kwargs)
            maps.append(weakref.ref(m))
            return m

    monkeypatch.setattr(exr_reader.mmap, "mmap", TrackedMap)
    _capture_like_exr(tmp_path / "c.exr")
    mapped = capture_passes(str(tmp_path / "c.exr"), "ViewLayer", "SDG Data", "visible", LEGACY_PASS_NAMES)
    assert len(maps) == 1 and maps[0]() is None  # mapped once; released by the time it returned
    assert all(a.flags.writeable for a in mapped.values())  # copies, not views of the file

    class NoMap:
        def __init__(self, *args, **kwargs):
            raise OSError("no mmap on this file system")

    monkeypatch.setattr(exr_reader.mmap, "mmap", NoMap)
    read = capture_passes(str(tmp_path / "c.exr"), "ViewLayer", "SDG Data", "visible", LEGACY_PASS_NAMES)
    assert read.keys() == mapped.keys() and all(np.array_equal(read[k], mapped[k]) for k in read)
    (tmp_path / "empty.exr").write_bytes(b"")
    monkeypatch.undo()
    with pytest.raises(ValueError, match="not an OpenEXR file"):  # read, not mapped; then refused
        read_exr(str(tmp_path / "empty.exr"))
