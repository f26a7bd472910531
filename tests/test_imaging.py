"""The image pipeline after the render (sensor response, augmentations) and the appearance /
sensor randomizers' sampling: no bpy."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from sdg_addon import imaging
from sdg_addon.frame import Camera, FrameData, LabelTable
from sdg_addon.imaging import (
    SHOT_NOISE_TABLE_PHOTONS,
    _shot_noise_table,
    apply_display,
    apply_linear,
    camera_image_ops,
    gaussian_blur,
    white_balance_gains,
)
from sdg_addon.sampling import RANDOMIZERS, make_distribution, sample_frame
from sdg_addon.sampling.appearance import IMAGE_SIGNATURES, blackbody_rgb

ROOT = Path(__file__).resolve().parent.parent


def grey(level: int, h: int = 40, w: int = 50) -> np.ndarray:
    img = np.full((h, w, 4), level, np.uint8)
    img[..., 3] = 255
    return img


def spec(kind: str, options: dict | None = None, **params):
    return RANDOMIZERS[kind]({k: make_distribution(v) for k, v in params.items()}, options or {})


# ------------------------------------------------------------------ colour temperature


def test_blackbody_colours_run_from_red_to_blue():
    warm, d65, cool = blackbody_rgb(2000), blackbody_rgb(6504), blackbody_rgb(12000)
    assert warm[0] == 1.0 and warm[0] > warm[1] > warm[2]
    assert max(d65) - min(d65) < 0.06  # a 6504 K black body is nearly white in Rec.709
    assert cool[2] == 1.0 and cool[2] > cool[1] > cool[0]


@pytest.mark.parametrize(
    "kelvin, want",
    [
        (1000, [1.0, 0.0087, 0.0]),
        (1200, [1.0, 0.0576, 0.0]),
        (1500, [1.0, 0.133, 0.0]),
        (2700, [1.0, 0.4153, 0.0991]),
        (6500, [1.0, 0.943, 0.9919]),
        (20000, [0.4057, 0.5368, 1.0]),
    ],
)
def test_blackbody_is_the_cie_1931_observers_colour_of_plancks_law(kelvin, want):
    """An analytic fit of the CIE 1931 colour matching functions put a 1000 K light's green
    at 0.029 (the observer's: 0.0087) and 1200 K's 21 % high, a tint Blender's own black body
    has not; the reference is Planck's law summed against CIE 1931's table at 1 nm."""
    assert blackbody_rgb(kelvin) == pytest.approx(want, abs=0.001)


@pytest.mark.parametrize("space", ["ACEScg", "Linear Rec.2020"])
def test_white_balance_makes_the_balanced_temperature_neutral_in_another_working_space(space):
    """Blender 5.0 renders a .blend in its own working colour space: its pixels (and a black
    body light's colour there) are not Rec.709; gains worked out in Rec.709 left a 3000 K light
    blue in ACEScg (0.73, 1, 1.26). The gains are the working space's own."""
    from sdg_addon.colour import XYZ_TO_WORKING
    from sdg_addon.sampling.appearance import blackbody_xyz

    for k in (2700, 3000, 5000, 9000):
        light = XYZ_TO_WORKING[space] @ np.asarray(blackbody_xyz(k))
        rgba = np.array([[[*light, 1.0]]], np.float32)
        balanced = apply_linear(rgba, {"white_balance": k}, space)[0, 0, :3]
        assert np.allclose(balanced, balanced[1], rtol=1e-5), (space, k, balanced)


def test_white_balance_makes_the_balanced_temperature_neutral():
    for k in (2700, 5000, 9000):
        balanced = np.asarray(blackbody_rgb(k)) * white_balance_gains(k)
        assert np.allclose(balanced, balanced[1], rtol=1e-6)
    # balanced for tungsten, a daylight scene turns blue
    daylight = np.asarray(blackbody_rgb(6504)) * white_balance_gains(3000)
    assert daylight[2] > 1.5 * daylight[0]


def test_a_sensors_focal_length_has_the_cameras_bounds():
    """sensor focal_length stopped at 5000 mm (Blender's soft limit) where [[cameras]] and the
    camera randomizer take up to 1e6, and the sensor's own fov down to 0.1 degrees means a lens
    of 20626 mm: a telephoto given as a lens was refused, the same given as a fov taken."""
    import tomllib

    from sdg_addon.config import ConfigError
    from sdg_addon.config.schema import config_from_dict

    assert RANDOMIZERS["sensor"].PARAM_RANGES["focal_length"] == RANDOMIZERS["camera"].PARAM_RANGES["focal_length"]
    head = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\nfocal_length = 20000\n'
    head += '[[randomizers]]\ntype = "sensor"\ntargets = "cam"\n'
    for good in ("20000", "1e6", '{ distribution = "uniform", low = 4000, high = 8000 }'):
        config_from_dict(tomllib.loads(head + f"focal_length = {good}\n"), Path("p.toml"))
    with pytest.raises(ConfigError) as e:
        config_from_dict(tomllib.loads(head + "focal_length = 1000001\n"), Path("p.toml"))
    assert [p.field for p in e.value.problems] == ["randomizers[0].focal_length"]


def test_white_balance_is_refused_where_the_black_body_has_no_blue():
    """A black body below 1901 K has no blue in Rec.709 (and none but red below 1000 K): a
    sensor white_balance of 900 made every gain 0 (a black image), 1500 a blue gain of
    130000 (blown blue); the range starts at 2000 K, where the gains are finite and the
    balanced black body neutral."""
    assert RANDOMIZERS["sensor"].PARAM_RANGES["white_balance"] == (2000.0, 40000.0)
    for k in (2000, 2700, 40000):
        gains = white_balance_gains(k)
        assert np.all(np.isfinite(gains)) and gains.max() < 40, (k, gains)
        balanced = np.asarray(blackbody_rgb(k)) * gains
        assert np.allclose(balanced, balanced[1], rtol=1e-6), k
    import tomllib

    from sdg_addon.config import ConfigError
    from sdg_addon.config.schema import config_from_dict

    head = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n[[randomizers]]\ntype = "sensor"\ntargets = "cam"\n'
    config_from_dict(tomllib.loads(head + "white_balance = 2000\n"), Path("p.toml"))
    for bad in ("1999.9", '{ distribution = "uniform", low = 800, high = 6500 }'):
        with pytest.raises(ConfigError) as e:
            config_from_dict(tomllib.loads(head + f"white_balance = {bad}\n"), Path("p.toml"))
        assert [p.field for p in e.value.problems] == ["randomizers[0].white_balance"]
        assert "[2000, 40000]" in e.value.problems[0].expected, e.value.problems[0].expected


def test_exposure_scales_linear_values_and_keeps_alpha():
    rgba = np.full((2, 3, 4), 0.25, np.float32)
    out = apply_linear(rgba, {"exposure": 1.0})
    assert np.allclose(out[..., :3], 0.5) and np.allclose(out[..., 3], 0.25)
    assert np.allclose(apply_linear(rgba, {"exposure": -2.0})[..., :3], 0.0625)
    assert apply_linear(rgba, {}) is rgba  # nothing asked: untouched, not copied


# ---------------------------------------------------------------------- augmentations


def test_gaussian_noise_has_the_asked_spread_and_depends_only_on_the_seed():
    img = grey(128, 200, 200)
    a = apply_display(img, {"gaussian_noise": 0.02, "noise_seed": 5})
    b = apply_display(img, {"gaussian_noise": 0.02, "noise_seed": 5})
    c = apply_display(img, {"gaussian_noise": 0.02, "noise_seed": 6})
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    diff = a[..., :3].astype(float) - 128
    assert abs(diff.std() - 0.02 * 255) < 0.2 and abs(diff.mean()) < 0.1
    assert np.all(a[..., 3] == 255)  # alpha untouched


def test_poisson_noise_variance_follows_the_photon_count():
    img = grey(128, 200, 200)
    photons = 400.0
    out = apply_display(img, {"poisson_noise": photons, "noise_seed": 1})[..., :3].astype(float) / 255
    level = 128 / 255
    assert abs(out.mean() - level) < 0.003
    assert abs(out.var() - level / photons) < 0.15 * level / photons  # Var = mean / photons


def _shot_noise_reference(photons: float) -> np.ndarray:
    """(256, 256): P(output level j | input level k) of the float path, written out here:
    Poisson probabilities of every count that matters (math.lgamma, +-40 sigma), each count
    taken to its level by the float path's own steps."""
    levels = np.arange(256, dtype=np.uint8).astype(np.float32) * np.float32(1 / 255)
    lam = (np.clip(levels, 0, 1) * photons).astype(np.float64)
    table = np.zeros((256, 256))
    table[0, 0] = 1.0  # no light, no photon
    lgamma = np.frompyfunc(math.lgamma, 1, 1)
    for k in range(1, 256):
        sigma = math.sqrt(lam[k])
        counts = np.arange(max(0, int(lam[k] - 40 * sigma - 50)), int(lam[k] + 40 * sigma + 50))
        p = np.exp(counts * math.log(lam[k]) - lam[k] - lgamma(counts + 1).astype(np.float64))
        out = np.round(np.clip((counts / photons).astype(np.float32), 0, 1) * 255.0).astype(np.uint8)
        table[k] = np.bincount(out, weights=p, minlength=256)
    return table


@pytest.mark.parametrize("photons", [1.0, 2.5, 37.0, 300.0, 5000.0, SHOT_NOISE_TABLE_PHOTONS])
def test_shot_noise_table_is_the_float_paths_distribution(photons):
    cdf, _guide = _shot_noise_table(photons)
    cdf = cdf.reshape(512, 256)
    assert np.array_equal(cdf[256:], np.triu(np.ones((256, 256))))  # alpha's rows: level k stays k
    table = np.diff(cdf[:256], axis=1, prepend=0.0)
    reference = _shot_noise_reference(photons)
    # The reference's own rounding: lgamma and N log(lambda) are ~1e6 at 65536 photons.
    assert np.abs(reference.sum(axis=1) - 1).max() < 1e-9
    assert np.abs(table - reference).max() < 1e-9
    # The levels the table never gives carry no more than float64 cumulative sums resolve
    # (~1e-15 here; a window of 7 sigma would leave ~1e-12 out).
    assert reference[table == 0].max(initial=0.0) < 1e-14
    assert np.all(cdf[:, -1] == 1.0)


def _levels_image(levels, per_level: int) -> np.ndarray:
    img = np.zeros((len(levels), per_level, 4), np.uint8)
    img[..., :3] = np.asarray(levels, np.uint8)[:, None, None]
    img[..., 3] = np.arange(per_level) % 256  # every alpha, which must come back unchanged
    return img


@pytest.mark.parametrize("photons", [3.0, 300.0, 5000.0])
def test_shot_noise_by_table_draws_each_levels_distribution(photons):
    # Levels with narrow and wide spreads (at 3 photons a level jumps to 0, 85, 170 or 255;
    # at 5000 it moves by a few levels), 60,000 draws each: the counts of every output
    # level within 5 standard deviations of the table's expectation, none where it has 0.
    levels = [0, 1, 2, 40, 128, 200, 254, 255]
    img = _levels_image(levels, 20_000)
    out = apply_display(img, {"poisson_noise": photons, "noise_seed": 7})
    assert np.array_equal(out[..., 3], img[..., 3])
    probability = _shot_noise_reference(photons)
    for row, k in enumerate(levels):
        seen = np.bincount(out[row, :, :3].reshape(-1), minlength=256)
        expected = seen.sum() * probability[k]
        assert np.all(seen[expected == 0] == 0), k
        assert np.all(np.abs(seen - expected) <= 5 * np.sqrt(expected) + 1), k


def test_shot_noise_by_table_matches_numpy_poisson_and_depends_only_on_the_seed():
    img = _levels_image([17, 128, 250], 40_000)
    fast = apply_display(img, {"poisson_noise": 60.0, "noise_seed": 3})
    # brightness 1.0 changes no value but takes the float path (numpy's Poisson sampler)
    slow = apply_display(img, {"poisson_noise": 60.0, "noise_seed": 3, "brightness": 1.0})
    for row in range(3):
        a = np.bincount(fast[row, :, :3].reshape(-1), minlength=256).astype(float)
        b = np.bincount(slow[row, :, :3].reshape(-1), minlength=256).astype(float)
        both = (a + b) > 0
        chi2 = (((a - b) ** 2)[both] / (a + b)[both]).sum()  # two samples of equal size
        assert chi2 < both.sum() + 6 * math.sqrt(2 * both.sum()), row
    assert np.array_equal(fast, apply_display(img, {"poisson_noise": 60.0, "noise_seed": 3}))
    assert not np.array_equal(fast, apply_display(img, {"poisson_noise": 60.0, "noise_seed": 4}))


def test_shot_noise_by_table_on_images_smaller_than_a_block():
    for shape in ((0, 5, 4), (1, 1, 4), (3, 7, 4)):
        img = np.full(shape, 200, np.uint8)
        out = apply_display(img, {"poisson_noise": 100.0, "noise_seed": 2})
        assert out.shape == shape and out.dtype == np.uint8
        assert np.array_equal(out[..., 3], img[..., 3])


def test_shot_noise_takes_the_table_only_where_it_gives_the_same_distribution(monkeypatch):
    calls = []
    monkeypatch.setattr(imaging, "shot_noise_rgba", lambda *a: calls.append(a[1]) or a[0])
    img = grey(100, 4, 4)
    limit = SHOT_NOISE_TABLE_PHOTONS
    apply_display(img, {"poisson_noise": limit, "jpeg_quality": 90})  # JPEG comes after the levels
    assert calls == [limit]
    for ops in (
        {"poisson_noise": float(np.nextafter(limit, np.inf))},  # the table's cost grows with photons
        {"poisson_noise": 100.0, "blur": 1.0},  # values between levels
        {"poisson_noise": 100.0, "gaussian_noise": 0.01},
        {"poisson_noise": 100.0, "hue": 10.0},
    ):
        apply_display(img, ops)
    assert calls == [limit]


def test_blur_keeps_the_mean_and_spreads_an_edge():
    img = grey(0, 20, 40)
    img[:, 20:, :3] = 255
    out = apply_display(img, {"blur": 2.0})
    assert abs(out[..., :3].mean() - img[..., :3].mean()) < 1.0
    row = out[10, :, 0].astype(int)
    assert row[0] == 0 and row[-1] == 255 and 0 < row[19] < 128 < row[20] < 255
    k = gaussian_blur(np.pad(np.ones((1, 1, 1)), ((5, 5), (5, 5), (0, 0))), 1.0)
    assert abs(k.sum() - 1.0) < 1e-6  # an impulse blurs to a kernel of unit sum (float32)


def test_colour_jitter():
    rng = np.random.default_rng(0)
    img = grey(0, 30, 30)
    img[..., :3] = rng.integers(30, 220, (30, 30, 3))
    assert np.array_equal(apply_display(img, {"hue": 360.0}), img)
    flat = apply_display(img, {"saturation": 0.0})
    assert np.all(np.ptp(flat[..., :3].astype(int), axis=-1) <= 1)  # grey
    brighter = apply_display(img, {"brightness": 1.2})
    assert brighter[..., :3].astype(int).sum() > img[..., :3].astype(int).sum()
    low = apply_display(img, {"contrast": 0.5})
    assert low[..., :3].std() < 0.6 * img[..., :3].std()
    shifted = apply_display(img, {"hue": 120.0})
    assert not np.array_equal(shifted, img)
    back = apply_display(shifted, {"hue": 240.0})  # a full turn in two steps
    assert np.abs(back[..., :3].astype(int) - img[..., :3]).max() <= 3


def test_jpeg_adds_artefacts_but_keeps_the_picture():
    yy, xx = np.mgrid[0:64, 0:64]
    img = grey(0, 64, 64)
    img[..., 0] = (xx * 4) % 256
    img[..., 1] = ((xx // 8 + yy // 8) % 2) * 255
    low = apply_display(img, {"jpeg_quality": 10})
    high = apply_display(img, {"jpeg_quality": 95})
    err = lambda a: np.abs(a[..., :3].astype(int) - img[..., :3]).mean()  # noqa: E731
    assert err(low) > err(high) > 0
    assert err(low) < 40


def test_frame_rgb_applies_the_ops_and_leaves_other_passes():
    h, w = 6, 8
    cam = Camera("cam", w, h, "perspective", np.eye(4), 10, 10, w / 2, h / 2, 0.1, 10)
    combined = np.full((h, w, 4), 0.2, np.float32)
    combined[..., 3] = 1
    instance = np.arange(h * w, dtype=np.uint32).reshape(h, w)
    plain = FrameData(0, cam, {"combined": combined.copy(), "instance": instance.copy()}, {}, LabelTable())
    ops = {"exposure": 1.0, "gaussian_noise": 0.05, "noise_seed": 3}
    noisy = FrameData(
        0, cam, {"combined": combined.copy(), "instance": instance.copy()}, {}, LabelTable(), image_ops=ops
    )
    assert not np.array_equal(plain.rgb(), noisy.rgb())
    assert noisy.rgb()[..., :3].mean() > plain.rgb()[..., :3].mean()  # one stop brighter
    assert np.array_equal(noisy.passes["instance"], instance)
    assert np.array_equal(noisy.passes["combined"], combined)  # the render itself is kept


def test_imaging_and_sampling_need_no_bpy():
    for path in [ROOT / "sdg_addon" / "imaging.py", *(ROOT / "sdg_addon" / "sampling").glob("*.py")]:
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(x.split(".")[0] in ("bpy", "mathutils") for x in names), path


# ------------------------------------------------------------ sampled image operations


def test_ops_per_camera_from_the_sampling_log_and_logged_seed():
    sensor = spec("sensor", exposure={"distribution": "uniform", "low": -1, "high": 1}, white_balance=5000)
    aug = spec("augment", gaussian_noise={"distribution": "uniform", "low": 0, "high": 0.1}, jpeg_quality=50)
    sampled = sample_frame(4, 2, [sensor, aug], [["a", "b"], ["a", "b"]])
    a, b = camera_image_ops(sampled, "a"), camera_image_ops(sampled, "b")
    assert set(a) == {"exposure", "white_balance", "gaussian_noise", "jpeg_quality", "noise_seed"}
    assert a["noise_seed"] != b["noise_seed"] and a["exposure"] != b["exposure"]
    assert camera_image_ops(sampled, "c") == {}
    assert sample_frame(4, 2, [sensor, aug], [["a", "b"], ["a", "b"]]) == sampled
    # no noise asked: no seed drawn
    quiet = sample_frame(4, 2, [spec("augment", blur=1.0)], [["a"]])
    assert quiet[0]["values"]["a"] == {"blur": 1.0}


# -------------------------------------------------------------- appearance sampling


def fake_image(path: Path) -> None:
    """A file that starts as its kind of image does (what validation reads of it)."""
    path.write_bytes(IMAGE_SIGNATURES.get(path.suffix.lower(), (b"",))[0] + b"x")


def test_texture_sets_pair_maps_by_suffix_and_pick_uniformly(tmp_path):
    for name in ("wood.png", "wood_normal.png", "wood_roughness.jpg", "tiles.jpg", "notes.txt", "metal.exr"):
        fake_image(tmp_path / name)
    r = spec("texture", {"folder": "."}, scale=2.0)
    assert r.prepare(tmp_path) == []
    assert r.names == ["metal.exr", "tiles.jpg", "wood.png"]  # maps and non-images left out
    assert r.maps("wood.png") == {
        "color": tmp_path / "wood.png",
        "normal": tmp_path / "wood_normal.png",
        "roughness": tmp_path / "wood_roughness.jpg",
    }
    assert r.maps("tiles.jpg") == {"color": tmp_path / "tiles.jpg"}
    picks = [sample_frame(1, f, [r], [["box"]])[0]["values"]["box"]["image"] for f in range(600)]
    counts = {n: picks.count(n) / 600 for n in r.names}
    assert all(abs(c - 1 / 3) < 0.06 for c in counts.values())


def test_texture_maps_are_found_without_reading_the_whole_listing_each_time(tmp_path):
    """maps() made a dict of the folder's whole listing on every call: 0.3 s a target a frame
    in a library of 10,000 files, 15 s a frame for 50 targets. The listing is indexed once;
    the maps found are the same."""
    for i in range(50):
        for end in ("", "_normal", "_roughness"):
            fake_image(tmp_path / f"t{i:02d}{end}.png")
    r = spec("texture", {"folder": "."})
    assert r.prepare(tmp_path) == []

    class Counted(list):
        reads = 0

        def __iter__(self):
            Counted.reads += 1
            return super().__iter__()

    r.listing = Counted(r.listing)
    found = [r.maps(f"t{i:02d}.png") for i in range(50) for _ in range(4)]
    assert Counted.reads <= 1
    assert found[-1] == {
        "color": tmp_path / "t49.png",
        "normal": tmp_path / "t49_normal.png",
        "roughness": tmp_path / "t49_roughness.png",
    }


def test_texture_suffix_conventions_of_texture_sites(tmp_path):
    for name in ("Wood049_Color.jpg", "Wood049_NormalGL.jpg", "Wood049_Roughness.jpg", "Rock_Color.png"):
        fake_image(tmp_path / name)
    opts = {"folder": ".", "color_suffix": "_Color", "normal_suffix": "_NormalGL", "roughness_suffix": "_Roughness"}
    r = spec("texture", opts)
    assert r.prepare(tmp_path) == [] and r.names == ["Rock_Color.png", "Wood049_Color.jpg"]
    assert set(r.maps("Wood049_Color.jpg")) == {"color", "normal", "roughness"}


def test_a_library_of_one_folder_per_material_with_recursive(tmp_path):
    """ambientCG and Poly Haven ship one folder per material: `folder` read only the files
    directly in it, so a library of 100 materials had to be flattened first. With
    `recursive = true` its sub-folders are read too, each set named by its path below the
    folder and its maps found in its own folder (not another set's of the same name)."""
    for rel in (
        "Wood049/Wood049_Color.jpg",
        "Wood049/Wood049_NormalGL.jpg",
        "Metal/v2/Metal_Color.png",
        "Metal/v2/Metal_Roughness.png",
        "Metal/Metal_Color.png",  # another set of that name, without maps
        "loose_Color.png",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        fake_image(tmp_path / rel)
    opts = {"folder": ".", "color_suffix": "_Color", "normal_suffix": "_NormalGL", "roughness_suffix": "_Roughness"}
    flat = spec("texture", opts)
    assert flat.prepare(tmp_path) == [] and flat.names == ["loose_Color.png"]  # as before: directly in it
    r = spec("texture", {**opts, "recursive": True})
    assert r.prepare(tmp_path) == []
    assert r.names == [
        "Metal/Metal_Color.png",
        "Metal/v2/Metal_Color.png",
        "Wood049/Wood049_Color.jpg",
        "loose_Color.png",
    ]
    assert r.resolved_extra() == {"folder_files": r.names}
    assert r.maps("Metal/v2/Metal_Color.png") == {
        "color": tmp_path / "Metal/v2/Metal_Color.png",
        "roughness": tmp_path / "Metal/v2/Metal_Roughness.png",
    }
    assert r.maps("Metal/Metal_Color.png") == {"color": tmp_path / "Metal/Metal_Color.png"}
    assert set(r.maps("Wood049/Wood049_Color.jpg")) == {"color", "normal"}
    (tmp_path / "Sky").mkdir()
    fake_image(tmp_path / "Sky" / "noon.hdr")
    h = spec("world_hdri", {"folder": ".", "recursive": True}, image="Sky/noon.hdr")
    assert h.prepare(tmp_path) == [] and h.names == ["Sky/noon.hdr"]


def test_folder_problems_are_named(tmp_path):
    assert spec("texture", {}).prepare(tmp_path)[0][0] == "folder"  # required
    assert "existing folder" in spec("texture", {"folder": "nope"}).prepare(tmp_path)[0][2]
    (tmp_path / "empty").mkdir()
    assert "found none" in spec("world_hdri", {"folder": "empty"}).prepare(tmp_path)[0][2]
    (tmp_path / "h").mkdir()
    fake_image(tmp_path / "h" / "sky.hdr")
    fake_image(tmp_path / "h" / "photo.png")  # not an HDRI
    r = spec("world_hdri", {"folder": "h"}, image={"distribution": "choice", "values": ["sky.hdr", "photo.png"]})
    ((key, value, expected),) = r.prepare(tmp_path)
    assert (key, value) == ("image", "photo.png") and "sky.hdr" in expected


def test_a_texture_folder_of_images_none_of_them_base_colours_says_why(tmp_path):
    """Images that are all maps, or none ending in color_suffix, gave 'a folder holding .png /
    ... files (found none)' of a folder full of PNGs; the problem now says what a base colour
    image is here and names the files found."""
    for name in ("Wood_Color.png", "Wood_normal.png"):
        fake_image(tmp_path / name)
    ((key, _value, expected),) = spec("texture", {"folder": ".", "color_suffix": "_Colour"}).prepare(tmp_path)
    assert key == "folder" and "found none" not in expected
    assert "color_suffix '_Colour'" in expected and "'Wood_Color.png'" in expected and "2 image files" in expected
    (tmp_path / "maps").mkdir()
    fake_image(tmp_path / "maps" / "Wood_normal.png")
    ((_key, _value, expected),) = spec("texture", {"folder": "maps"}).prepare(tmp_path)
    assert "not maps (ending in '_normal' or '_roughness')" in expected and "'Wood_normal.png'" in expected


def test_procedural_patterns_and_light_types_are_checked():
    bad = spec("procedural_texture", pattern={"distribution": "choice", "values": ["noise", "marble"]})
    assert bad.prepare(Path("."))[0][:2] == ("pattern", "marble")
    r = spec("procedural_texture")
    got = {sample_frame(0, f, [r], [["o"]])[0]["values"]["o"]["pattern"] for f in range(60)}
    assert got == {"noise", "voronoi", "checker"}  # default: any pattern
    assert spec("light", light_type="Spot").prepare(Path(".")) == []
    assert spec("light", light_type="laser").prepare(Path("."))[0][0] == "light_type"


def test_names_drawn_through_a_mixture_are_checked(tmp_path):
    """A mixture of light types, patterns or file names: each component's names are checked
    (a valid light_type mixture was refused as 'the field is missing'; a bad pattern or file
    passed validation and ended the render with a traceback)."""

    def mix(*components):
        return {"distribution": "mixture", "components": list(components)}

    good = mix("area", {"distribution": "choice", "values": ["spot", "point"]})
    assert spec("light", light_type=good).prepare(Path(".")) == []
    bad = mix("area", {"distribution": "sequence", "values": ["spot", "laser"]})
    assert spec("light", light_type=bad).prepare(Path("."))[0][:2] == ("light_type", "laser")
    assert spec("procedural_texture", pattern=mix("noise", "marble")).prepare(Path("."))[0][:2] == ("pattern", "marble")
    fake_image(tmp_path / "wood.png")
    r = spec("texture", {"folder": "."}, image=mix("wood.png", {"distribution": "choice", "values": ["tile.png"]}))
    assert r.prepare(tmp_path)[0][:2] == ("image", "tile.png")
    assert spec("texture", {"folder": "."}, image=mix("wood.png", "wood.png")).prepare(tmp_path) == []


def test_sensor_refuses_two_ways_of_one_thing():
    assert spec("sensor", focal_length=35, fov=50).prepare(Path("."))[0][0] == "fov"
    assert spec("sensor", {"focus_target": "mug"}, focus_distance=2.0).prepare(Path("."))[0][0] == "focus_distance"


@pytest.mark.parametrize("k", [2000, 6504, 15000])
def test_blackbody_is_normalised(k):
    rgb = blackbody_rgb(k)
    assert max(rgb) == 1.0 and min(rgb) >= 0


def test_material_swap_picks_from_the_scenes_materials_by_glob():
    r = spec("material_swap", {"materials": "Metal*"})
    assert r.prepare(Path(".")) == []
    assert r.bind({"materials": ["Wood", "Metal_B", "Metal_A", "Plastic"]}) is None
    assert r.pool == ["Metal_A", "Metal_B"]
    picks = [sample_frame(0, f, [r], [["a", "b"]])[0]["values"] for f in range(200)]
    names = [v["material"] for p in picks for v in p.values()]
    assert set(names) == {"Metal_A", "Metal_B"} and 0.4 < names.count("Metal_A") / len(names) < 0.6
    key, value, expected = spec("material_swap", {"materials": "Gold*"}).bind({"materials": ["Wood"]})
    assert (key, value) == ("materials", "Gold*") and "matching a material of the scene" in expected
    # one of the two ways, not both, not none
    assert spec("material_swap").prepare(Path("."))[0][0] == "material"
    # both: the glob given is named, not 'material: got nothing (the field is missing)'
    key, value, expected = spec("material_swap", {"materials": "*"}, material="Wood").prepare(Path("."))[0]
    assert (key, value) == ("materials", "*") and "not together with material" in expected


def _rgb_of(frame: FrameData) -> np.ndarray:
    return frame.rgb()


def test_a_clips_later_frames_draw_new_noise_from_the_clips_seed():
    """Frame i > 0 of a clip seeds its noise with (noise_seed, i): new noise every frame,
    reproducible; a still and a clip's first frame keep noise_seed itself."""
    sampled = [{"type": "augment", "values": {"cam": {"gaussian_noise": 0.02, "noise_seed": 5}}}]
    seeds = [camera_image_ops(sampled, "cam", i)["noise_seed"] for i in range(4)]
    assert seeds[0] == 5 == camera_image_ops(sampled, "cam")["noise_seed"] and len(set(seeds)) == 4
    assert seeds == [camera_image_ops(sampled, "cam", i)["noise_seed"] for i in range(4)]
    img = np.full((8, 8, 4), 128, np.uint8)
    a, b = (apply_display(img, camera_image_ops(sampled, "cam", i)) for i in (1, 2))
    assert not np.array_equal(a, b)


def test_a_spawned_worker_makes_the_same_augmented_image():
    """Frames travel to worker processes (no bpy there) with their image operations."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    h, w = 12, 16
    cam = Camera("cam", w, h, "perspective", np.eye(4), 10, 10, w / 2, h / 2, 0.1, 10)
    combined = np.random.default_rng(0).random((h, w, 4)).astype(np.float32)
    ops = {"exposure": 0.5, "white_balance": 4000, "blur": 0.8, "gaussian_noise": 0.03, "noise_seed": 11}
    ops |= {"jpeg_quality": 40, "hue": 15}

    def frame():
        return FrameData(3, cam, {"combined": combined.copy()}, {}, LabelTable(), image_ops=dict(ops))

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(_rgb_of, frame()).result()
    assert np.array_equal(there, frame().rgb())


def test_the_appearance_example_preset_is_valid_and_needs_no_files():
    from sdg_addon.config import load_config

    cfg = load_config(ROOT / "presets" / "examples" / "appearance.toml")
    names = [r.name for r in cfg.randomizers]
    assert names == ["procedural_texture", "procedural_texture", "sky", "light", "light", "sensor", "augment"]
    assert cfg.randomizers[1].interval == 4
    assert all(a.file is None for a in cfg.assets)


@pytest.mark.parametrize("kind, name", [("texture", "wood.png"), ("texture", "tiles.jpg"), ("world_hdri", "sky.hdr")])
def test_a_folder_file_that_is_no_image_of_its_kind_is_named(tmp_path, kind, name):
    """A texture or HDRI that does not start as its kind does (empty, damaged, renamed):
    the problem names the file (before: accepted; Blender rendered it magenta, exit 0)."""
    for good in ("wood.png", "tiles.jpg", "sky.hdr", "studio.exr"):
        fake_image(tmp_path / good)
    (tmp_path / name).write_bytes(b"<html>")
    ((key, value, expected),) = spec(kind, {"folder": "."}).prepare(tmp_path)
    assert key == "folder" and value == (tmp_path / name).as_posix() and "does not start as one does" in expected


def test_the_folder_listing_is_part_of_the_resolved_parameters(tmp_path):
    from sdg_addon.config import load_config

    (tmp_path / "tex").mkdir()
    for name in ("b.png", "a.jpg"):
        fake_image(tmp_path / "tex" / name)
    param = tmp_path / "p.toml"
    param.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'
        '[[randomizers]]\ntype = "texture"\ntargets = "ground"\nfolder = "tex"\n'
    )
    resolved = load_config(param).resolved()["randomizers"][0]
    assert resolved["folder_files"] == ["a.jpg", "b.png"] and resolved["folder"] == "tex"
    fake_image(tmp_path / "tex" / "c.png")  # a new file changes what frames pick
    assert load_config(param).resolved()["randomizers"][0]["folder_files"] == ["a.jpg", "b.png", "c.png"]


def test_recursive_folders_and_globs_do_not_enter_linked_folders_as_the_docs_say(tmp_path):
    """recursive = true (texture, world_hdri) and a glob's `**` (pools, background) leave out
    a sub-folder that is a symbolic link, a loop back up too (no endless walk), and read a
    link to a file: parameters.md says so (it said 'at any depth' only)."""
    from sdg_addon.sampling.appearance import glob_files, list_images

    png = IMAGE_SIGNATURES[".png"][0]
    (tmp_path / "store" / "Wood").mkdir(parents=True)
    (tmp_path / "store" / "Wood" / "Wood_Color.png").write_bytes(png)
    (tmp_path / "lib" / "Metal").mkdir(parents=True)
    (tmp_path / "lib" / "Metal" / "Metal_Color.png").write_bytes(png)
    (tmp_path / "lib" / "Wood").symlink_to(tmp_path / "store" / "Wood")
    (tmp_path / "lib" / "Metal" / "up").symlink_to(tmp_path / "lib")  # a loop
    (tmp_path / "lib" / "Metal" / "Stone_Color.png").symlink_to(tmp_path / "store" / "Wood" / "Wood_Color.png")
    found = [p.relative_to(tmp_path / "lib").as_posix() for p in list_images(tmp_path / "lib", recursive=True)]
    assert found == ["Metal/Metal_Color.png", "Metal/Stone_Color.png"]
    _, files = glob_files("lib/**/*.png", tmp_path, {".png"})
    assert [p.relative_to(tmp_path / "lib").as_posix() for p in files] == found
    _, files = glob_files("lib/*/*.png", tmp_path, {".png"})  # a `*` enters the link
    assert "Wood/Wood_Color.png" in [p.relative_to(tmp_path / "lib").as_posix() for p in files]
    page = (Path(__file__).parent.parent / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert page.count("a sub-folder that is a symbolic link is not entered") == 2
    assert "`**` does not enter a sub-folder that is a" in page
