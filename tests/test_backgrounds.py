"""The background randomizer without Blender: compositing, fit and crop, resampling, the
photo cache, sampling (per frame, logged) and validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sdg_addon.backgrounds import (
    PhotoCache,
    PhotoDraw,
    _axis_weights,
    camera_background,
    composite,
    crop_origin,
    cut_out,
    decode_with_pillow,
    fit_photo,
    fitted_size,
    resample,
)
from sdg_addon.colour import straight_alpha
from sdg_addon.config import ConfigError, load_config
from sdg_addon.frame import Camera, FrameData, LabelTable
from sdg_addon.sampling import sample_frame

# ------------------------------------------------------------------ compositing


def test_composite_is_straight_alpha_over_the_photo_rounded_to_nearest():
    fg = np.array([[[200, 10, 255, 0], [200, 10, 255, 255], [200, 10, 255, 128], [10, 255, 255, 100]]], np.uint8)
    bg = np.array([[[100, 250, 0], [100, 250, 0], [100, 250, 0], [250, 0, 0]]], np.uint8)
    out = composite(fg, bg)
    assert out.dtype == np.uint8 and out.shape == (1, 4, 4)
    assert out[0, 0].tolist() == [100, 250, 0, 255]  # alpha 0: the photo
    assert out[0, 1].tolist() == [200, 10, 255, 255]  # alpha 255: the render
    # alpha 128: (128 * fg + 127 * bg) / 255 = 150.196, 129.569, 128.0 (to nearest)
    assert out[0, 2].tolist() == [150, 130, 128, 255]
    # alpha 100: (100 * 10 + 155 * 250) / 255 = 155.88 -> 156 (not floored); 100 -> 100
    assert out[0, 3].tolist() == [156, 100, 100, 255]


def test_composite_every_alpha_and_level_against_the_formula():
    a = np.arange(256, dtype=np.uint8)
    fg = np.zeros((256, 256, 4), np.uint8)
    fg[..., 3] = a[:, None]
    fg[..., 0] = a[None, :]  # every level over every alpha
    fg[..., 1] = 255
    bg = np.zeros((256, 256, 3), np.uint8)
    bg[..., 0] = 255 - a[None, :]
    bg[..., 2] = 255
    out = composite(fg, bg).astype(np.float64)
    alpha = a[:, None] / 255.0
    want_r = np.round(alpha * a[None, :] + (1 - alpha) * (255 - a[None, :]))
    assert np.array_equal(out[..., 0], want_r)
    assert np.array_equal(out[..., 1], np.round(alpha * 255).repeat(256, 1))
    assert np.array_equal(out[..., 2], np.round((1 - alpha) * 255).repeat(256, 1))
    assert (out[..., 3] == 255).all()


def test_straight_alpha_divides_partly_covered_pixels_as_blender_does():
    """Blender's predivide: colour / alpha where 0 < alpha < 1; alpha 0 and 1 keep theirs; an
    opaque image is the pass itself (no copy)."""
    rgba = np.array([[[0.25, 0.1, 0.0, 0.5], [0.3, 0.3, 0.3, 0.0], [0.7, 0.2, 0.1, 1.0]]], np.float32)
    out = straight_alpha(rgba)
    assert out[0, 0].tolist() == pytest.approx([0.5, 0.2, 0.0, 0.5])
    assert np.array_equal(out[0, 1:], rgba[0, 1:])  # alpha 0 and opaque: as rendered
    assert rgba[0, 0, 0] == np.float32(0.25)  # the pass itself is untouched
    opaque = np.ones((2, 2, 4), np.float32)
    assert straight_alpha(opaque) is opaque


# ------------------------------------------------------------------ fit and crop


@pytest.mark.parametrize(
    "photo, fit, size",
    [
        ((128, 96), "cover", (64, 48)),  # same aspect: halved
        ((200, 48), "cover", (200, 48)),  # wider, same height: kept
        ((32, 48), "cover", (64, 96)),  # narrower: doubled to cover the width
        ((100, 100), "cover", (64, 64)),
        ((100, 100), "center", (64, 64)),
        ((100, 100), "stretch", (64, 48)),
        ((13, 7), "stretch", (64, 48)),
    ],
)
def test_fitted_size(photo, fit, size):
    assert fitted_size(*photo, 64, 48, fit) == size


def test_crop_origin_cover_offsets_and_center():
    assert crop_origin(200, 48, 64, 48, "cover", [0.0, 0.7]) == (0, 0)
    assert crop_origin(200, 48, 64, 48, "cover", [0.5, 0.7]) == (68, 0)  # floor(0.5 * 137)
    assert crop_origin(200, 48, 64, 48, "cover", [0.999999, 0.0]) == (136, 0)  # the last position
    assert crop_origin(64, 53, 64, 48, "cover", [0.3, 0.5]) == (0, 3)  # floor(0.5 * 6)
    assert crop_origin(200, 48, 64, 48, "center") == (68, 0)
    assert crop_origin(64, 53, 64, 48, "center") == (0, 2)  # odd slack: the extra row below
    assert crop_origin(64, 48, 64, 48, "stretch") == (0, 0)


def test_cut_out_is_the_photos_pixels_at_the_offset():
    photo = np.arange(48 * 200 * 3, dtype=np.uint32).reshape(48, 200, 3).astype(np.uint8)
    photo[..., 0] = np.arange(200)[None, :]  # column index: where the cut starts
    fitted = fit_photo(photo, 64, 48, "cover")
    assert fitted is photo  # already covers the frame at its size: not resampled
    out = cut_out(fitted, 64, 48, "cover", [0.5, 0.2])
    assert out.shape == (48, 64, 3) and out.flags.c_contiguous
    assert np.array_equal(out, photo[:, 68:132])


def test_resample_averages_whole_blocks_when_shrinking_by_an_integer_factor():
    blocks = np.array([[10, 200], [90, 31]], np.uint8)
    photo = np.repeat(np.repeat(blocks, 3, 0), 3, 1)[..., None].repeat(3, -1)  # 6 x 6, blocks of 3
    assert np.array_equal(resample(photo, 2, 2)[..., 0], blocks)
    # A 2 x 2 block of 10, 20, 30, 41 averages 25.25 -> 25; of 10, 20, 30, 42: 25.5 -> 26 (halves up).
    quad = np.array([[10, 20, 10, 20], [30, 41, 30, 42]], np.uint8)[..., None].repeat(3, -1)
    assert resample(quad, 2, 1)[..., 0].tolist() == [[25, 26]]


def test_resample_interpolates_linearly_when_enlarging():
    row = np.array([[0, 100]], np.uint8)[..., None].repeat(3, -1)
    # output centres at input positions -0.25 (edge), 0.25, 0.75, 1.25 (edge)
    assert resample(row, 4, 1)[0, :, 0].tolist() == [0, 25, 75, 100]
    col = np.array([[0], [200]], np.uint8)[..., None].repeat(3, -1)
    assert resample(col, 1, 4)[:, 0, 0].tolist() == [0, 50, 150, 200]


def per_tap_resample(image, width, height):
    """resample as first written (a float32 sum over the taps of whole pixels, rows first):
    the faster one must give its bytes."""
    h, w = image.shape[:2]
    out = image
    if height != h:
        idx, wt = _axis_weights(h, height)
        acc = np.zeros((height, *out.shape[1:]), np.float32)
        for t in range(idx.shape[1]):
            acc += wt[:, t, None, None].astype(np.float32) * out[idx[:, t]]
        out = acc
    if width != w:
        idx, wt = _axis_weights(w, width)
        acc = np.zeros((out.shape[0], width, *out.shape[2:]), np.float32)
        for t in range(idx.shape[1]):
            acc += wt[None, :, t, None].astype(np.float32) * out[:, idx[:, t]]
        out = acc
    return np.floor(np.clip(np.asarray(out, np.float32), 0.0, 255.0) + np.float32(0.5)).astype(np.uint8)


def test_resample_gives_the_per_tap_sums_bytes_shrinking_enlarging_and_mixed():
    rng = np.random.default_rng(9)
    sizes = [((108, 192), (48, 85)), ((108, 192), (48, 64)), ((30, 40), (77, 13)), ((1, 5), (3, 1))]
    sizes += [(tuple(rng.integers(1, 50, 2)), tuple(rng.integers(1, 50, 2))) for _ in range(60)]
    for (h, w), (height, width) in sizes:
        photo = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        assert np.array_equal(resample(photo, width, height), per_tap_resample(photo, width, height)), (h, w)


def test_photo_cache_keeps_a_bounded_number_and_decodes_each_photo_once_while_kept(tmp_path):
    decoded = []

    def decode(path):
        decoded.append(path.name)
        return np.full((96, 128, 3), len(decoded), np.uint8)

    for name in "abc":
        (tmp_path / name).touch()
    cache = PhotoCache(decode, size=2)
    for name in ["a", "b", "a", "c", "b", "a"]:
        out = cache.background(tmp_path / name, 64, 48, "cover", [0.0, 0.0])
        assert out.shape == (48, 64, 3)
        assert len(cache.fitted) <= 2
    # a, b decoded; a kept (used again); c pushes b out (a was used last); b pushes a out.
    assert decoded == ["a", "b", "c", "b", "a"]
    assert cache.background(tmp_path / "a", 64, 48, "cover")[0, 0, 0] == 5  # the last decode of a, kept
    cache.background(tmp_path / "a", 32, 24, "cover")  # another camera size: another fit
    assert decoded[-1] == "a" and len(decoded) == 6


# ------------------------------------------------------------------ the frame's image


def _frame(combined, background=None, ops=None) -> FrameData:
    h, w = combined.shape[:2]
    cam = Camera("cam", w, h, "perspective", np.eye(4), 50.0, 50.0, w / 2, h / 2, 0.1, 100.0)
    return FrameData(0, cam, {"combined": combined}, {}, LabelTable(), image_ops=ops or {}, background=background)


def test_frame_rgb_is_the_render_over_the_photo_before_the_augmentations():
    combined = np.zeros((2, 3, 4), np.float32)
    combined[0, 0] = [1.0, 0.0, 0.0, 1.0]  # opaque red
    combined[0, 1] = [0.5, 0.0, 0.0, 0.5]  # half-covered red edge (premultiplied)
    photo = np.full((2, 3, 3), [0, 0, 255], np.uint8)
    rgb = _frame(combined.copy(), photo).rgb()
    assert rgb[0, 0].tolist() == [255, 0, 0, 255]
    # straight red (255) at alpha 128 over blue: (128 * 255 + 0) / 255 -> 128, blue 127
    assert rgb[0, 1].tolist() == [128, 0, 127, 255]
    assert (rgb[1] == [0, 0, 255, 255]).all()  # nothing rendered: the photo
    without = _frame(combined.copy()).rgb()
    assert without[0, 0].tolist() == [255, 0, 0, 255] and without[1, 0, 3] == 0
    # brightness acts on the composited picture (the photo too), as a camera's would
    darker = _frame(combined.copy(), photo, {"brightness": 0.5}).rgb()
    assert darker[1, 0].tolist() == [0, 0, 128, 255] and darker[0, 0].tolist() == [128, 0, 0, 255]


def test_a_frame_that_carries_its_draw_gets_the_photo_where_its_image_is_made(tmp_path):
    """Worker processes get what was drawn (pickled with the frame), decode it with Pillow,
    fit and cut it out: the image of a frame that came with the photo cut out already."""
    import pickle

    photo = np.random.default_rng(2).integers(0, 256, (20, 40, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "wide.png")
    combined = np.zeros((6, 8, 4), np.float32)
    combined[2:4, 2:6] = [0.2, 0.6, 0.1, 1.0]
    draw = PhotoDraw(str(tmp_path / "wide.png"), 8, 6, "cover", [0.7, 0.0])
    carried = pickle.loads(pickle.dumps(_frame(combined.copy(), draw)))
    cut = PhotoCache(decode_with_pillow).background(*draw)
    assert np.array_equal(cut, cut_out(fit_photo(photo, 8, 6, "cover"), 8, 6, "cover", [0.7, 0.0]))
    assert np.array_equal(carried.rgb(), _frame(combined.copy(), cut).rgb())
    assert np.array_equal(carried.rgb()[0, :, :3], cut[0])  # the photo where nothing is rendered


def test_a_photo_changed_since_it_was_fitted_is_read_again(tmp_path):
    """The fitted photos a process keeps outlive a run (the main thread's, inline: a script
    or the panel recording again): a file changed since is decoded again, not its old
    pixels pasted into the new dataset."""
    import os

    from sdg_addon.backgrounds import photo_behind

    rng = np.random.default_rng(6)
    before, after = (rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for _ in range(2))
    path = tmp_path / "p.png"
    Image.fromarray(before).save(path)
    draw = PhotoDraw(str(path), 8, 6, "stretch")
    assert np.array_equal(photo_behind(draw), before)
    written = path.stat().st_mtime_ns
    Image.fromarray(after).save(path)
    os.utime(path, ns=(written + 10**9, written + 10**9))  # a coarse clock could keep the time
    assert np.array_equal(photo_behind(draw), after)
    path.unlink()
    with pytest.raises(ValueError, match="background: cannot read .*p.png"):
        photo_behind(draw)


def test_pillow_names_the_file_it_cannot_read(tmp_path):
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    with pytest.raises(ValueError, match="background: cannot read .*cut.jpg"):
        decode_with_pillow(tmp_path / "cut.jpg")
    Image.fromarray(np.zeros((6, 8), np.uint16)).save(tmp_path / "deep.png")
    with pytest.raises(ValueError, match="deep.png is a float or 16-bit image"):
        decode_with_pillow(tmp_path / "deep.png")


def test_pillow_reads_a_photo_of_any_size_as_blender_does(tmp_path, monkeypatch):
    """Pillow's decompression-bomb limit (about 179 megapixels refused, 89 warned about) is
    no limit of Blender's decoder: a panorama Blender pastes is pasted in every mode."""
    import warnings

    photo = np.random.default_rng(5).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "wide.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 600 pixels: over twice the limit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(decode_with_pillow(tmp_path / "wide.png"), photo)


# ------------------------------------------------------------------ sampling and validation

HEADER = """
[run]
seed = 3
frames = 4

[render]
resolution = [64, 48]
film_transparent = {transparent}

[[cameras]]
name = "cam"
location = [0, -5, 0]

[[cameras]]
name = "side"
location = [5, 0, 0]

[[randomizers]]
type = "background"
targets = "*"
"""


def write_photos(folder, names, size=(8, 6), mode="RGB"):
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new(mode, size).save(path)


def param(tmp_path, body: str, transparent: bool = True):
    path = tmp_path / "p.toml"
    path.write_text(HEADER.format(transparent=str(transparent).lower()) + body, encoding="utf-8")
    return path


def problems_of(path):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def test_sampling_picks_a_photo_per_frame_and_camera_reproducibly_and_logs_its_name(tmp_path):
    write_photos(tmp_path, ["bg/b.png", "bg/a.jpg", "bg/sub/c.png", "more/d.png"])
    (tmp_path / "bg" / "notes.txt").write_text("not a photo")
    cfg = load_config(param(tmp_path, 'files = ["bg/**/*", "more/*.png"]\n'))
    spec = cfg.randomizers[0]
    assert spec.names == ["bg/a.jpg", "bg/b.png", "bg/sub/c.png", "more/d.png"]  # sorted, images only
    assert cfg.resolved()["randomizers"][0]["background_files"] == spec.names
    targets = [["cam", "side"]]
    frames = [sample_frame(cfg.seed, f, cfg.randomizers, targets) for f in range(40)]
    again = sample_frame(cfg.seed, 17, cfg.randomizers, targets)
    assert json.dumps(again) == json.dumps(frames[17])  # frame f alone: the same draw
    for entry in (s[0] for s in frames):
        assert entry["type"] == "background" and set(entry["values"]) == {"cam", "side"}
        for v in entry["values"].values():
            assert v["file"] in spec.names and len(v["offset"]) == 2 and all(0 <= u < 1 for u in v["offset"])
    picked = {s[0]["values"]["cam"]["file"] for s in frames}
    assert picked == set(spec.names)  # every photo turns up in 40 frames
    assert any(s[0]["values"]["cam"] != s[0]["values"]["side"] for s in frames)  # each camera its own
    path, fit, offset = camera_background(cfg.randomizers, frames[5], "side")
    v = frames[5][0]["values"]["side"]
    assert path == (tmp_path / v["file"]).resolve() and fit == "cover" and offset == v["offset"]
    assert camera_background(cfg.randomizers, frames[5], "nope") is None


def test_stretch_and_center_draw_no_offset(tmp_path):
    write_photos(tmp_path, ["bg/a.png"])
    for fit in ("stretch", "center"):
        cfg = load_config(param(tmp_path, f'files = "bg/*.png"\nfit = "{fit}"\n'))
        (entry,) = sample_frame(cfg.seed, 0, cfg.randomizers, [["cam"]])
        assert entry["values"] == {"cam": {"file": "bg/a.png"}}


def test_validation_names_the_file_field_and_what_to_set(tmp_path):
    write_photos(tmp_path, ["bg/a.png"])
    (p,) = problems_of(param(tmp_path, 'files = "photos/*.jpg"\n'))
    assert p.file.endswith("p.toml") and p.field == "randomizers[0].files" and p.value == "photos/*.jpg"
    assert "a glob matching image files" in p.expected and tmp_path.resolve().as_posix() in p.expected
    (p,) = problems_of(param(tmp_path, 'files = ["bg/*.png", "bg/*.jpg"]\n'))  # each glob must match
    assert p.field == "randomizers[0].files" and p.value == "bg/*.jpg"

    (p,) = problems_of(param(tmp_path, 'files = "bg/*.png"\n', transparent=False))
    assert p.field == "render.film_transparent" and p.value is False
    assert "true with a background randomizer (randomizers[0])" in p.expected
    assert "film_transparent = true" in p.expected

    (p,) = problems_of(param(tmp_path, 'files = "bg/*.png"\nfit = "fill"\n'))
    assert p.field == "randomizers[0].fit" and p.value == "fill"
    assert "cover" in p.expected and "stretch" in p.expected and "center" in p.expected
    # Every problem at once, the entry's index as in the file (an earlier entry refused too).
    text = '[[randomizers]]\ntype = "pose"\ntargets = "x"\nscale = -1\n[[randomizers]]\ntype = "background"\n'
    path = param(tmp_path, 'files = "bg/*.png"\n' + text + 'targets = "*"\nfiles = "bg/*.png"\nfit = "fill"\n', False)
    found = {p.field: p for p in problems_of(path)}
    assert set(found) == {"randomizers[1].scale", "randomizers[2].fit", "render.film_transparent"}
    assert "(randomizers[0])" in found["render.film_transparent"].expected

    (p,) = problems_of(param(tmp_path, ""))
    assert p.field == "randomizers[0].files" and "required" in p.expected
    for files in ("[1]", "[]"):
        (p,) = problems_of(param(tmp_path, f"files = {files}\n"))
        assert p.field == "randomizers[0].files" and "glob" in p.expected and "image" in p.expected, files


def test_a_file_that_is_no_image_of_its_kind_is_refused_at_validation(tmp_path):
    """Empty, damaged or renamed photos are found from their first bytes, before anything is
    written (before: at the first frame drawing one, exit 2 after `--overwrite` had deleted
    the earlier dataset); every kind of each signature passes, TGA (no signature) is not read."""
    write_photos(tmp_path, ["bg/a.png", "bg/b.jpg", "bg/c.bmp", "bg/d.tif", "bg/e.webp", "bg/f.tga"])
    cfg = load_config(param(tmp_path, 'files = "bg/*"\n'))
    assert cfg.randomizers[0].names == [f"bg/{n}" for n in ("a.png", "b.jpg", "c.bmp", "d.tif", "e.webp", "f.tga")]
    for name, content in (("x.png", b""), ("x.jpg", b"<html>"), ("x.webp", b"RIFF1234WAVE"), ("x.tiff", b"\x89PNG")):
        (tmp_path / "bad").mkdir(exist_ok=True)
        (tmp_path / "bad" / name).write_bytes(content)
        (p,) = problems_of(param(tmp_path, f'files = ["bg/*", "bad/{name}"]\n'))
        assert p.field == "randomizers[0].files" and p.value.endswith(f"bad/{name}")
        assert "does not start as one does" in p.expected, p
        (tmp_path / "bad" / name).unlink()


def test_float_and_16_bit_photos_are_refused_at_validation(tmp_path):
    (tmp_path / "hdr").mkdir()
    (tmp_path / "hdr" / "sky.exr").write_bytes(b"v/1\x01")
    (p,) = problems_of(param(tmp_path, 'files = "hdr/*"\n'))
    assert p.field == "randomizers[0].files" and p.value.endswith("hdr/sky.exr")
    assert "an 8-bit image: EXR / HDR hold linear light" in p.expected
    Image.fromarray(np.zeros((6, 8), np.uint16)).save(tmp_path / "deep.png")
    (p,) = problems_of(param(tmp_path, 'files = "deep.png"\n'))
    assert p.value.endswith("deep.png") and "16 bits a channel" in p.expected
    Image.fromarray(np.zeros((6, 8), np.uint16)).save(tmp_path / "deep.tif")
    Image.new("I;16B", (8, 6)).save(tmp_path / "deep_be.tiff")
    assert (tmp_path / "deep_be.tiff").read_bytes()[:2] == b"MM"  # either byte order is read
    (p,) = problems_of(param(tmp_path, 'files = "deep*.tif*"\n'))
    assert p.value.endswith("deep.tif") and "16 bits a channel" in p.expected
    (p,) = problems_of(param(tmp_path, 'files = "deep_be.tiff"\n'))
    assert "16 bits a channel" in p.expected
    write_photos(tmp_path, ["ok.png", "ok.tif"])  # 8 bits: fine
    write_photos(tmp_path, ["rgb.tiff"], mode="RGB")
    cfg = load_config(param(tmp_path, 'files = ["ok.*", "rgb.tiff"]\n'))
    assert cfg.randomizers[0].names == ["ok.png", "ok.tif", "rgb.tiff"]
