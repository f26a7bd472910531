"""The background randomizer rendered (tiny, CPU): the photo where the world shows, the render
where an object covers it, every label byte for byte as without the photo, the log naming it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from scenes import NO_GROUND, asset, camera, header, records, render, sun, write_param  # noqa: E402

W, H = 64, 48
SCENE = (
    header((W, H), samples=2, frames=3).replace("[render]\n", "[render]\nfilm_transparent = true\n")
    + NO_GROUND
    + camera((0.0, -4.0, 0.0), (0, 0, 0))
    + sun()
    + asset("box", "cube", 1.2, label="box")
)
BACKGROUND = '\n[[randomizers]]\ntype = "background"\ntargets = "cam"\nfiles = "photos/*.png"\n'


def pattern(seed: int) -> np.ndarray:
    """A frame-sized (H, W, 3) picture with no two neighbours alike."""
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def test_photo_behind_the_render_labels_unchanged(tmp_path):
    photos = {"photos/a.png": pattern(1), "photos/b.png": pattern(2)}
    (tmp_path / "photos").mkdir()
    for name, picture in photos.items():
        # Twice the frame's size in 2 x 2 blocks: `cover` halves it back to the picture exactly.
        Image.fromarray(picture.repeat(2, 0).repeat(2, 1)).save(tmp_path / name)
    plain = write_param(tmp_path, SCENE, "plain.toml")
    pasted = write_param(tmp_path, SCENE + BACKGROUND, "pasted.toml")
    assert render(plain, tmp_path / "plain") == 0
    assert render(pasted, tmp_path / "pasted") == 0
    logs = records(tmp_path / "pasted")
    seen = set()
    for f in range(3):
        name = f"rgb_{f:04d}.png"
        before = np.array(Image.open(tmp_path / "plain" / name))
        after = np.array(Image.open(tmp_path / "pasted" / name))
        alpha = before[..., 3]
        assert (alpha == 0).sum() > 1000 and (alpha == 255).sum() > 300  # the world and the box both seen
        chosen = logs[f]["samples"][0]["values"]["cam"]["file"]  # the log names the photo
        seen.add(chosen)
        assert np.array_equal(after[alpha == 0, :3], photos[chosen][alpha == 0])  # the photo, exactly
        assert np.array_equal(after[alpha == 255, :3], before[alpha == 255, :3])  # the render, exactly
        assert (after[..., 3] == 255).all()  # opaque
        edge = (alpha > 0) & (alpha < 255)
        assert edge.any() and not np.array_equal(after[edge, :3], before[edge, :3])
    assert seen == set(photos)  # both turn up in 3 frames (seed 1)
    # Everything else the run wrote is the same file, byte for byte.
    others = sorted(p.name for p in (tmp_path / "plain").iterdir() if p.is_file() and not p.name.startswith("rgb_"))
    assert any(n.startswith("instance_segmentation_") for n in others)
    assert any(n.startswith("bounding_box_2d_tight_") for n in others)
    for n in others:
        assert (tmp_path / "plain" / n).read_bytes() == (tmp_path / "pasted" / n).read_bytes(), n


def test_the_workers_decode_what_the_frame_drew_as_the_render_loop_would(tmp_path, monkeypatch):
    """With Pillow, frames carry only the draw and the process that writes a frame's image
    decodes, fits and cuts out the photo (a worker process, or the main thread inline);
    without it (Blender's own Python) the render loop decodes with Blender: the same bytes."""
    import sdg_addon.capture.photos as photos
    import sdg_addon.recorder as recorder

    (tmp_path / "photos").mkdir()
    rng = np.random.default_rng(4)
    for i in range(3):  # larger than the frame, another aspect: `cover` resamples and crops
        Image.fromarray(rng.integers(0, 256, (77, 131, 3), dtype=np.uint8)).save(tmp_path / f"photos/{i}.jpg")
    param = write_param(tmp_path, SCENE + BACKGROUND.replace("*.png", "*.jpg"))

    def not_in_the_render_loop(path):
        raise AssertionError(f"the render loop decoded {path}")

    monkeypatch.setattr(photos, "decode_photo", not_in_the_render_loop)
    assert render(param, tmp_path / "inline", "--worker-mode", "inline") == 0
    assert render(param, tmp_path / "processes", "--worker-mode", "processes", "--workers", "1") == 0
    monkeypatch.undo()
    monkeypatch.setattr(recorder, "pillow_decodes", lambda: False)  # as in Blender's own Python
    assert render(param, tmp_path / "blender", "--worker-mode", "inline") == 0
    for f in range(3):
        name = f"rgb_{f:04d}.png"
        pasted = (tmp_path / "blender" / name).read_bytes()
        assert (tmp_path / "inline" / name).read_bytes() == pasted
        assert (tmp_path / "processes" / name).read_bytes() == pasted
    draws = [records(tmp_path / "blender")[f]["samples"][0]["values"]["cam"] for f in range(3)]
    assert len({json.dumps(d) for d in draws}) == 3  # each frame its own part of a photo


def test_a_thermal_camera_is_refused_before_anything_is_written(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    Image.fromarray(pattern(1)).save(tmp_path / "photos" / "a.png")
    thermal = camera((4.0, 0.0, 0.0), (0, 0, 0), name="ir", sensor="thermal")
    param = write_param(tmp_path, SCENE + thermal + BACKGROUND.replace('targets = "cam"', 'targets = "*"'))
    assert render(param, tmp_path / "out", quiet=False) == 2
    err = capsys.readouterr().err
    assert 'randomizers[0].targets: got ["ir"]; expected visible cameras' in err
    assert not (tmp_path / "out" / "rgb_0000.png").exists()


def test_blender_decodes_the_stored_8_bit_values_and_leaves_no_image_behind(tmp_path):
    from sdg_addon.backgrounds import decode_with_pillow
    from sdg_addon.capture.photos import decode_photo

    rgba = np.random.default_rng(3).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgba[..., 0]).save(tmp_path / "grey.png")
    Image.fromarray(rgba[..., :3]).save(tmp_path / "q.jpg", quality=80)
    images = len(bpy.data.images)
    assert np.array_equal(decode_photo(tmp_path / "rgba.png"), rgba[..., :3])  # alpha dropped, colour as stored
    assert np.array_equal(decode_photo(tmp_path / "grey.png"), rgba[..., :1].repeat(3, -1))
    assert np.array_equal(decode_photo(tmp_path / "q.jpg"), np.array(Image.open(tmp_path / "q.jpg")))
    assert len(bpy.data.images) == images
    # Pillow (the workers' decoder) gives the same bytes, whatever the file holds.
    photo = np.random.default_rng(4).integers(0, 256, (29, 41, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "q444.jpg", quality=95, subsampling=0)
    Image.fromarray(photo).save(tmp_path / "progressive.jpg", quality=70, progressive=True)
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray(photo).convert("L").save(tmp_path / "grey.jpg")
    Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "palette.png")
    Image.fromarray(rgba[..., :2], "LA").save(tmp_path / "la.png")
    Image.fromarray(photo).save(tmp_path / "p.webp", quality=80)
    Image.fromarray(photo).save(tmp_path / "p.bmp")
    Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(tmp_path / "palette.bmp")
    Image.fromarray(photo).save(tmp_path / "rle.tga", compression="tga_rle")
    Image.fromarray(rgba).save(tmp_path / "rgba.tga")
    Image.fromarray(photo).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    Image.fromarray(rgba).save(tmp_path / "rgba.tif")
    Image.fromarray(photo).save(tmp_path / "jpeg.tif", compression="jpeg")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: neither decoder turns the photo
    Image.fromarray(photo).save(tmp_path / "turned.jpg", exif=exif.tobytes())
    others = ["p.bmp", "palette.bmp", "rle.tga", "rgba.tga", "lzw.tif", "rgba.tif", "jpeg.tif"]
    for name in ["rgba.png", "grey.png", "palette.png", "la.png", "p.webp", *others] + [
        f"{n}.jpg" for n in ("q", "q444", "progressive", "cmyk", "grey", "turned")
    ]:
        assert np.array_equal(decode_with_pillow(tmp_path / name), decode_photo(tmp_path / name)), name
    (tmp_path / "broken.png").write_bytes(b"not a png")
    Image.fromarray(np.zeros((4, 4), np.uint16)).save(tmp_path / "deep.tif")
    Image.fromarray(np.zeros((4, 4), np.uint16)).save(tmp_path / "deep.png")
    for decode in (decode_photo, decode_with_pillow):
        with pytest.raises(ValueError, match="background: cannot read .*broken.png"):
            decode(tmp_path / "broken.png")
        for name in ("deep.tif", "deep.png"):
            with pytest.raises(ValueError, match=f"{name} is a float or 16-bit image"):
                decode(tmp_path / name)
    assert len(bpy.data.images) == images
