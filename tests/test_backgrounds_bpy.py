"""The background randomizer rendered (tiny, CPU): the photo where the world shows, the render
where an object covers it, every label byte for byte as without the photo, the log naming it."""

from __future__ import annotations

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
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="background: cannot read .*broken.png"):
        decode_photo(tmp_path / "broken.png")
    Image.fromarray(np.zeros((4, 4), np.uint16)).save(tmp_path / "deep.tif")
    with pytest.raises(ValueError, match="deep.tif is a float or 16-bit image"):
        decode_photo(tmp_path / "deep.tif")
    assert len(bpy.data.images) == images
