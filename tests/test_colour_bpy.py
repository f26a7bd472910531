"""Our view transform against Blender's own: the PNG Blender writes for a render equals
display_transform() of the same render's linear Combined pass (within one level)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")
from oiio_check import has_oiio, requires_oiio  # noqa: E402

from sdg_addon.capture.exr import read_multilayer_exr  # noqa: E402
from sdg_addon.colour import display_transform, needs_ocio  # noqa: E402
from sdg_addon.compat import set_multilayer_exr  # noqa: E402
from sdg_addon.frame import FrameData  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


COLOUR = [  # view, look, exposure, gamma ([render]'s colour settings), film_transparent
    ("Standard", "None", 0.0, 1.0, False),
    ("AgX", "None", 0.0, 1.0, False),
    ("Filmic", "None", 0.0, 1.0, False),
    ("Standard", "None", 0.7, 1.6, False),
    ("Standard", "Medium High Contrast", -0.4, 1.0, False),
    ("AgX", "AgX - Punchy", 0.3, 0.8, False),
    ("Filmic", "Medium High Contrast", 0.0, 1.3, False),
    ("Raw", "None", -1.0, 2.2, False),
    # Transparent film: the sphere's edge pixels are partly covered; Blender's PNG stores
    # their colour straight (divided by alpha), which FrameData.rgb() does too.
    ("Standard", "None", 0.0, 1.0, True),
    ("AgX", "None", 0.0, 1.0, True),
    # Blender's other views (Blender 5.0's; 4.2 has no ACES): OpenColorIO as AgX and Filmic.
    ("Khronos PBR Neutral", "None", 0.0, 1.0, False),
    ("ACES 1.3", "ACES 1.3 - Reference Gamut Compression", 0.5, 1.0, False),
    ("ACES 2.0", "None", -0.5, 1.2, False),
    ("Filmic Log", "None", 0.0, 1.0, False),
    ("False Color", "None", 0.0, 1.0, False),
    ("Khronos PBR Neutral", "None", 0.0, 1.0, True),
]


def _offered_here(view: str) -> bool:
    """Whether this Blender has the view transform (4.2 has no ACES)."""
    v = bpy.context.scene.view_settings
    before = v.view_transform
    try:
        v.view_transform = view
    except TypeError:
        return False
    v.view_transform = before
    return True


@pytest.mark.parametrize("view, look, exposure, gamma, transparent", COLOUR)
def test_matches_blenders_colour_management(clean_bpy, tmp_path, view, look, exposure, gamma, transparent):
    _compare_with_blender(tmp_path, view, look, exposure, gamma, transparent)


# Blender 5.0's working colour space is a file's own (a base .blend saved in ACEScg renders
# in ACEScg): the Combined pass is in it, and every view but Raw converts from it.
WORKING_SPACES = [
    ("Standard", "None", 0.0, 1.0, "ACEScg"),
    ("Standard", "None", 0.4, 1.3, "Linear Rec.2020"),
    ("AgX", "None", 0.0, 1.0, "ACEScg"),
    ("AgX", "AgX - Punchy", 0.0, 1.0, "Linear Rec.2020"),
    ("Raw", "None", 0.0, 1.0, "ACEScg"),
]


@pytest.mark.parametrize("view, look, exposure, gamma, space", WORKING_SPACES)
def test_matches_blenders_colour_management_in_another_working_space(
    clean_bpy, tmp_path, view, look, exposure, gamma, space
):
    if not hasattr(bpy.data, "colorspace"):
        pytest.skip("Blender 4.2 renders in Linear Rec.709 only")
    if not has_oiio():
        pytest.skip("OpenImageIO's Python module is not in this Blender")
    bpy.ops.wm.set_working_color_space(working_space=space, convert_colors=False)
    _compare_with_blender(tmp_path, view, look, exposure, gamma, False, colour=(1.0, 0.15, 0.02))


def test_the_working_spaces_xyz_matrices_are_blenders(clean_bpy):
    """colour.XYZ_TO_WORKING (used where bpy is not: the white balance in the workers) is
    what Blender's own conversion gives in each working space."""
    import mathutils

    from sdg_addon.colour import XYZ_TO_REC709, XYZ_TO_WORKING

    if not hasattr(bpy.data, "colorspace"):
        pytest.skip("Blender 4.2 renders in Linear Rec.709 only")
    for space, matrix in [*XYZ_TO_WORKING.items(), ("Linear Rec.709", XYZ_TO_REC709)]:
        bpy.ops.wm.set_working_color_space(working_space=space, convert_colors=False)
        theirs = np.array([list(mathutils.Color(e).from_xyz_d65_to_scene_linear()) for e in np.eye(3)]).T
        assert np.allclose(matrix, theirs, atol=1e-6), space


def _compare_with_blender(tmp_path, view, look, exposure, gamma, transparent, colour=None):
    """Blender's PNG of a sphere against FrameData.rgb() of the same render's Combined pass;
    `colour`: the light's (saturated colours differ most between working spaces)."""
    from sdg_addon.compat import working_space

    if needs_ocio(view, look) and not has_oiio():
        pytest.skip("OpenImageIO's Python module is not in this Blender")
    from sdg_addon.config.schema import VIEW_TRANSFORMS

    assert view in VIEW_TRANSFORMS  # [render] offers every view the test ties to Blender's
    if not _offered_here(view):
        pytest.skip(f"this Blender has no {view!r} view transform")
    bpy.ops.mesh.primitive_uv_sphere_add(location=(0, 0, 0))
    bpy.ops.object.light_add(type="POINT", location=(2, -2, 2))
    bpy.context.object.data.energy = 800  # bright enough to reach the curve's shoulder
    if colour is not None:
        bpy.context.object.data.color = colour
    bpy.ops.object.camera_add(location=(0, -4, 0), rotation=(1.5708, 0, 0))
    sc = bpy.context.scene
    sc.camera = bpy.context.object
    sc.render.engine = "CYCLES"
    sc.cycles.samples = 4
    sc.cycles.use_denoising = False
    sc.render.resolution_x, sc.render.resolution_y = 48, 36
    sc.render.dither_intensity = 0.0
    sc.render.film_transparent = transparent
    sc.view_settings.view_transform = view
    sc.view_settings.look = look
    sc.view_settings.exposure, sc.view_settings.gamma = exposure, gamma
    sc.render.use_file_extension = False
    s = sc.render.image_settings
    s.file_format, s.color_mode, s.color_depth = "PNG", "RGBA", "8"
    sc.render.filepath = str(tmp_path / "blender.png")
    bpy.ops.render.render(write_still=True)
    set_multilayer_exr(s)
    s.color_depth, s.exr_codec = "32", "NONE"
    sc.render.filepath = str(tmp_path / "linear.exr")
    bpy.ops.render.render(write_still=True)

    theirs = np.array(Image.open(tmp_path / "blender.png")).astype(int)
    linear = read_multilayer_exr(sc.render.filepath)["Combined"]
    frame = FrameData(0, None, {"combined": linear}, {}, None, view_transform=view, look=look)
    frame.exposure, frame.gamma, frame.working_space = exposure, gamma, working_space()
    ours = frame.rgb().astype(int)  # what the rgb annotator and the writers store
    shown = display_transform(linear, view, look, exposure, gamma, frame.working_space)
    assert np.array_equal(shown, ours) != transparent
    assert theirs.shape == ours.shape
    assert np.abs(theirs - ours).max() <= 1
    edge = (theirs[..., 3] > 0) & (theirs[..., 3] < 255)
    assert edge.any() == transparent  # transparent: the edges are compared
    assert theirs[..., :3].max() > 200  # the test covers bright values, not only darks
    if (look, exposure, gamma) != ("None", 0.0, 1.0):  # the settings change the image
        assert not np.array_equal(ours, display_transform(linear, view).astype(int))


def _transform_in_a_fresh_process(linear: np.ndarray, view: str, env: dict) -> np.ndarray:
    """display_transform in a spawned interpreter that cannot import bpy (as the recorder's
    worker processes): `bpy` is made unimportable there."""
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        np.save(f"{d}/in.npy", linear)
        code = (
            "import sys, numpy as np\n"
            "class NoBpy:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'bpy' or name.startswith('bpy.'):\n"
            "            raise ModuleNotFoundError(\"No module named '_bpy'\")\n"
            "sys.meta_path.insert(0, NoBpy())\n"
            "from sdg_addon.colour import display_transform\n"
            f"np.save('{d}/out.npy', display_transform(np.load('{d}/in.npy'), *{view!r}))\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **env}, cwd=ROOT)
        return np.load(f"{d}/out.npy")


@pytest.mark.parametrize(
    "view", [("AgX",), ("Filmic",), ("AgX", "AgX - Punchy", 0.3, 0.8), ("Khronos PBR Neutral",), ("ACES 2.0",)]
)
@requires_oiio
def test_view_transforms_work_where_bpy_cannot_be_imported(clean_bpy, view):
    """The recorder's workers are spawned processes without bpy: AgX and Filmic must work
    there (they crashed with "No module named '_bpy'") and give what the main process gives,
    which test_matches_blenders_colour_management ties to Blender's own PNG."""
    from sdg_addon.blender_paths import ENV

    if not _offered_here(view[0]):
        pytest.skip(f"this Blender has no {view[0]!r} view transform")
    rng = np.random.default_rng(0)
    linear = np.concatenate([rng.uniform(0, 4, (6, 8, 3)), np.ones((6, 8, 1))], axis=-1).astype(np.float32)
    here = display_transform(linear, *view)
    resources = bpy.utils.resource_path("LOCAL")
    # As spawned by a render process (it passes Blender's folder on), and found on disk alone.
    for env in ({ENV: resources}, {ENV: ""}):
        assert np.array_equal(_transform_in_a_fresh_process(linear, view, env), here)


@requires_oiio
def test_a_view_this_blender_lacks_is_named_with_blenders_own_list(clean_bpy):
    """A view [render] offers but this Blender lacks (ACES in 4.2): the run stops naming the
    field and the views there are (before it is built into a scene that cannot show it)."""
    from types import SimpleNamespace

    from sdg_addon.config.problems import FieldError
    from sdg_addon.scene.base import check_colour

    class OldViews:  # a Blender without the ACES views
        view_transform, look = "Standard", "None"

        def __setattr__(self, name, value):
            if name == "view_transform" and value.startswith("ACES"):
                raise TypeError(f"enum \"{value}\" not found in ('Standard', 'AgX', 'Raw')")
            object.__setattr__(self, name, value)

    scene = SimpleNamespace(view_settings=OldViews())
    render = SimpleNamespace(view_transform="ACES 2.0", look="None", exposure=0.0, gamma=1.0)
    with pytest.raises(FieldError) as e:
        check_colour(scene, render)
    assert e.value.problem.field == "render.view_transform" and "'AgX'" in str(e.value)
    assert scene.view_settings.view_transform == "Standard"
    check_colour(scene, SimpleNamespace(view_transform="AgX", look="None"))  # one it has


@requires_oiio
def test_opencolorio_processors_are_made_once_and_equal_openimageios(clean_bpy):
    """Views other than Standard and Raw go through OpenColorIO processors made once per
    process and (view, look) (OpenImageIO's ociodisplay read the configuration file again on
    every call: half an AgX frame's CPU); bit for bit what OpenImageIO's own ociodisplay
    and ociolook give, special values included."""
    from sdg_addon import colour
    from sdg_addon.blender_paths import ocio_config

    if not _offered_here("AgX"):
        pytest.skip("this Blender has no 'AgX' view transform")
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0, 8, (16, 24, 3)).astype(np.float32)
    rgb[0, :4] = [[0, 0, 0], [np.inf, 0, 0], [1e30, 1, 1], [np.nan, 0, 0]]
    config = str(ocio_config())
    colour._ocio_processors.cache_clear()
    for view, look in (("AgX", "None"), ("AgX", "AgX - Punchy"), ("Filmic", "Medium High Contrast")):
        for _ in range(2):
            got = colour._ocio_display(rgb, view, look)
        assert np.array_equal(got, colour._oiio_display(rgb, view, look, config), equal_nan=True), (view, look)
    info = colour._ocio_processors.cache_info()
    if colour._ocio_processors(config, "AgX", "None") is None:
        pytest.skip("no PyOpenColorIO beside this Blender's modules: OpenImageIO does it")
    assert info.misses == 3 and info.hits == 3
    with pytest.raises(RuntimeError, match="look 'Nope' failed"):
        colour._ocio_display(rgb, "AgX", "Nope")
