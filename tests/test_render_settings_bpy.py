"""[render] light-path and denoiser fields reach Cycles (the bare render in the benchmark
and every render process read them through configure_cycles)."""

from __future__ import annotations

import pytest

bpy = pytest.importorskip("bpy")

from sdg_addon.capture.render import configure_cycles  # noqa: E402
from sdg_addon.config import ConfigError, load_config  # noqa: E402

CAMERA = '\n[[cameras]]\nname = "cam"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n'


def config(tmp_path, render: str):
    path = tmp_path / "p.toml"
    path.write_text('[render]\ndevice = "cpu"\n' + render + CAMERA)
    return load_config(path)


def test_light_path_fields_set_cycles(clean_bpy, tmp_path):
    cfg = config(
        tmp_path,
        "max_bounces = 6\ndiffuse_bounces = 1\nglossy_bounces = 0\ntransmission_bounces = 5\n"
        "volume_bounces = 2\ntransparent_bounces = 3\nlight_tree = false\ncaustics = true\n"
        'denoise = true\ndenoiser = "OIDN"\n',
    )
    c = bpy.context.scene.cycles
    configure_cycles(bpy.context.scene, cfg.render, set())
    got = (c.max_bounces, c.diffuse_bounces, c.glossy_bounces, c.transmission_bounces, c.volume_bounces)
    assert got == (6, 1, 0, 5, 2)
    assert (c.transparent_max_bounces, c.use_light_tree, c.caustics_reflective, c.caustics_refractive) == (
        3,
        False,
        True,
        True,
    )
    assert c.use_denoising and c.denoiser == "OPENIMAGEDENOISE"


def test_defaults_for_synthetic_data(clean_bpy, tmp_path):
    c = bpy.context.scene.cycles
    configure_cycles(bpy.context.scene, config(tmp_path, "").render, set())
    assert (c.max_bounces, c.diffuse_bounces, c.glossy_bounces, c.transmission_bounces) == (8, 3, 4, 8)
    assert c.use_light_tree and not c.caustics_reflective and not c.caustics_refractive and not c.use_denoising


def test_bounds_and_choices_are_checked(tmp_path):
    assert config(tmp_path, "diffuse_bounces = 0\n").render.diffuse_bounces == 0  # the limit itself
    for bad, where in (("diffuse_bounces = -1", "render.diffuse_bounces"), ('denoiser = "nlm"', "render.denoiser")):
        with pytest.raises(ConfigError) as e:
            config(tmp_path, bad + "\n")
        assert where in str(e.value)


BOUNCES = ("max_bounces", "diffuse_bounces", "glossy_bounces", "transmission_bounces", "volume_bounces")


@pytest.mark.parametrize("field", [*BOUNCES, "transparent_bounces", "threads"])
def test_values_past_cycles_limit_are_refused_not_clamped(clean_bpy, tmp_path, field):
    """Cycles keeps at most 1024 bounces of each kind and 1024 threads: a larger value was
    accepted and silently set to 1024 (resolved.json saying what Blender did not use)."""
    cfg = config(tmp_path, f"{field} = 1024\n")  # the limit itself
    configure_cycles(bpy.context.scene, cfg.render, set())
    name = {"transparent_bounces": "transparent_max_bounces"}.get(field, field)
    target = bpy.context.scene.render if field == "threads" else bpy.context.scene.cycles
    assert getattr(target, name) == 1024
    with pytest.raises(ConfigError) as e:
        config(tmp_path, f"{field} = 1025\n")
    assert f"render.{field}" in str(e.value) and "1025" in str(e.value) and "1024" in str(e.value)


def test_optix_denoiser_without_an_nvidia_gpu_is_a_clear_error(clean_bpy, tmp_path):
    cfg = config(tmp_path, 'denoise = true\ndenoiser = "optix"\n')
    try:
        configure_cycles(bpy.context.scene, cfg.render, set())
    except ValueError as e:
        assert "render.denoiser" in str(e) and "oidn" in str(e)
    else:  # a machine with OptiX
        assert bpy.context.scene.cycles.denoiser == "OPTIX"


def test_noise_threshold_turns_adaptive_sampling_on(clean_bpy, tmp_path):
    """BlenderProc's set_noise_threshold(0.01): Cycles adaptive sampling with `samples` as
    the most a pixel takes; 0 (the default) keeps every pixel at `samples`."""
    c = bpy.context.scene.cycles
    configure_cycles(bpy.context.scene, config(tmp_path, "samples = 256\nnoise_threshold = 0.01\n").render, set())
    assert c.use_adaptive_sampling and c.adaptive_threshold == pytest.approx(0.01) and c.samples == 256
    configure_cycles(bpy.context.scene, config(tmp_path, "").render, set())
    assert not c.use_adaptive_sampling
    assert config(tmp_path, "noise_threshold = 1\n").render.noise_threshold == 1  # the limit itself
    for bad in ("noise_threshold = 1.01", "noise_threshold = -0.001"):
        with pytest.raises(ConfigError) as e:
            config(tmp_path, bad + "\n")
        assert "render.noise_threshold" in str(e.value)


def test_every_frame_has_a_noise_pattern_of_its_own(clean_bpy, tmp_path):
    """Cycles' seed stayed the scene's (0) for every frame, so a still scene's frames were one
    frozen noise pattern (byte-identical at 2 spp), and every frame of a dataset shared its
    pixels' sampling: noise a model can learn. Each frame's seed is now drawn from (run.seed,
    frame): the noise differs between frames, the masks do not, and frame 1 rendered alone
    is frame 1 of the whole run."""
    import numpy as np
    from PIL import Image
    from scenes import asset, camera, ground, header, render, sun, write_param

    from sdg_addon.sampling.sampler import render_noise_seed

    text = (
        header((64, 48), samples=2, frames=2)
        + ground(6)
        + camera((0, -3, 1.5), (0, 0, 0.3))
        + sun()
        + asset("box", "cube", 0.6, label="box")
        + "\n[annotators]\nrgb = {}\ninstance_segmentation = {}\n"
    )
    param = write_param(tmp_path, text)
    assert render(param, tmp_path / "all") == 0
    rgb = [np.asarray(Image.open(tmp_path / "all" / f"rgb_000{f}.png")) for f in (0, 1)]
    masks = [np.asarray(Image.open(tmp_path / "all" / f"instance_segmentation_000{f}.png")) for f in (0, 1)]
    assert not np.array_equal(rgb[0], rgb[1])  # the same scene, another noise pattern
    assert np.array_equal(masks[0], masks[1])
    assert bpy.context.scene.cycles.seed == render_noise_seed(1, 1)  # the last frame's
    assert render_noise_seed(1, 0) != render_noise_seed(1, 1) and render_noise_seed(1, 1) == render_noise_seed(1, 1)
    assert render(param, tmp_path / "one", "--frames", "1:2") == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "one" / "rgb_0001.png")), rgb[1])


def test_the_blends_clamping_filter_glossy_and_fast_gi_are_kept(clean_bpy, tmp_path):
    """What parameters.md lists as the .blend's own Light Paths and Film (its look): Clamping
    (direct, indirect), Filter Glossy, Fast GI, Film > Exposure and Pixel Filter stay as the
    file sets them."""
    c = bpy.context.scene.cycles
    c.sample_clamp_direct, c.sample_clamp_indirect, c.blur_glossy, c.use_fast_gi = 0.5, 2.0, 1.5, True
    c.film_exposure, c.pixel_filter_type, c.filter_width = 2.0, "BOX", 1.0
    configure_cycles(bpy.context.scene, config(tmp_path, "").render, set())
    assert (c.sample_clamp_direct, c.sample_clamp_indirect, c.blur_glossy, c.use_fast_gi) == (0.5, 2.0, 1.5, True)
    assert (c.film_exposure, c.pixel_filter_type, c.filter_width) == (2.0, "BOX", 1.0)
