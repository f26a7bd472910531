"""The numpy EXR reader against OpenImageIO, on what Cycles writes (Blender 5 multi-part)
and on a single-part multilayer file (as Blender 4.x writes), in float and half."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
from sdg_addon.capture.exr import _oiio, read_multilayer_exr_oiio  # noqa: E402
from sdg_addon.capture.exr_reader import UnsupportedExr, group_passes, read_exr  # noqa: E402
from sdg_addon.compat import set_multilayer_exr  # noqa: E402


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
    assert set(ours) == set(ref) >= {"Combined", "Depth", "Object Index", "Normal"}
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
