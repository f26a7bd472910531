"""BOP writer on a real render, read back with a reader written from the BOP format's
documentation (bop_toolkit's docs/bop_datasets_format.md and bop_toolkit_lib/inout.py:
bop_toolkit_lib is not on PyPI). The reader's masks equal our masks, its depth our depth,
and each model placed by its pose and projected with cam_K rasterizes to its mask/."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy")

from scenes import NO_GROUND, camera, header, render, sharded_and_resumed, sun, write_param  # noqa: E402

from sdg_addon.annotators.raster import rasterize  # noqa: E402

W, H = 64, 48
SCENE = (
    header((W, H), samples=2, seed=2, frames=2)
    + """
[labels]
class = ["card", "box"]
"""
    + NO_GROUND
    + camera((0.3, -5.0, 1.0), (0.0, 0.0, 0.0))
    + sun((0, -5, 5))
    + """
[[assets]]
name = "box"
primitive = "cube"
size = 1.0
rotation = [20, 30, 40]
labels = { class = "box" }

[[assets]]
name = "card"
primitive = "plane"
size = 1.0
location = [0.6, -1.5, 0.0]
rotation = [90, 0, 0]
labels = { class = "card" }

[[randomizers]]
type = "pose"
targets = "box"
rotation = { distribution = "uniform", low = [0, 0, 0], high = [90, 90, 90] }

[annotators]
instance_segmentation = {}
instance_segmentation_amodal = {}
distance_to_image_plane = {}

[writers]
basic = { colorize_instance_segmentation = false }
bop = { depth_scale = 0.1 }
"""
)


# --- a reader from the BOP format's documentation (as bop_toolkit_lib.inout) ------------
def load_json(path, keys_to_int=False):
    with open(path, encoding="utf-8") as f:
        content = json.load(f)
    return {int(k): v for k, v in content.items()} if keys_to_int else content


def load_scene_camera(path):
    scene_camera = load_json(path, keys_to_int=True)
    for im_id in scene_camera:
        c = scene_camera[im_id]
        c["cam_K"] = np.array(c["cam_K"], np.float64).reshape((3, 3))
        c["cam_R_w2c"] = np.array(c["cam_R_w2c"], np.float64).reshape((3, 3))
        c["cam_t_w2c"] = np.array(c["cam_t_w2c"], np.float64).reshape((3, 1))
    return scene_camera


def load_scene_gt(path):
    scene_gt = load_json(path, keys_to_int=True)
    for im_gt in scene_gt.values():
        for gt in im_gt:
            gt["cam_R_m2c"] = np.array(gt["cam_R_m2c"], np.float64).reshape((3, 3))
            gt["cam_t_m2c"] = np.array(gt["cam_t_m2c"], np.float64).reshape((3, 1))
    return scene_gt


def load_depth(path):
    return np.array(Image.open(path)).astype(np.float32)  # times depth_scale -> mm


def load_ply(path):
    """Binary little-endian PLY: vertex x, y, z floats; faces as uchar-counted int lists."""
    data = Path(path).read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    assert header[1] == "format binary_little_endian 1.0"
    n_v = int(next(x for x in header if x.startswith("element vertex")).split()[2])
    n_f = int(next(x for x in header if x.startswith("element face")).split()[2])
    pts = np.frombuffer(data, "<f4", 3 * n_v, end).reshape(n_v, 3)
    faces = np.frombuffer(data, [("n", "u1"), ("i", "<i4", (3,))], n_f, end + 12 * n_v)
    assert (faces["n"] == 3).all()
    return {"pts": pts.astype(np.float64), "faces": faces["i"].astype(np.int64)}


# -----------------------------------------------------------------------------------------
def test_bop_scenewise_read_back_equals_our_annotations(tmp_path):
    out = tmp_path / "out"
    assert render(write_param(tmp_path, SCENE, "bop.toml"), out) == 0
    bop = out / "bop"
    scene = bop / "train_pbr" / "000000"
    cams = load_scene_camera(scene / "scene_camera.json")
    gts = load_scene_gt(scene / "scene_gt.json")
    infos = load_json(scene / "scene_gt_info.json", keys_to_int=True)
    camera = load_json(bop / "camera.json")
    models_info = load_json(bop / "models" / "models_info.json", keys_to_int=True)
    assert sorted(cams) == sorted(gts) == sorted(infos) == [0, 1]
    assert camera["width"] == W and camera["height"] == H and camera["depth_scale"] == 0.1
    # The cube's model: 1 m -> 1000 mm, diameter the space diagonal.
    box_id, card_id = 2, 1
    assert models_info[box_id]["diameter"] == pytest.approx(1000 * 3**0.5, rel=1e-4)
    assert models_info[box_id]["size_x"] == pytest.approx(1000, rel=1e-5)
    assert models_info[card_id]["diameter"] == pytest.approx(1000 * 2**0.5, rel=1e-4)

    for im_id in (0, 1):
        ids = np.array(Image.open(out / f"instance_segmentation_{im_id:04d}.png"))
        amodal = np.load(out / f"instance_segmentation_amodal_{im_id:04d}.npz")
        ours_depth = np.load(out / f"distance_to_image_plane_{im_id:04d}.npy")
        depth_mm = load_depth(scene / "depth" / f"{im_id:06d}.png") * cams[im_id]["depth_scale"]
        hit = np.isfinite(ours_depth)
        assert np.all(np.abs(depth_mm[hit] - ours_depth[hit] * 1000) <= 0.05 + 1e-3)
        assert not depth_mm[~hit].any()
        assert [g["obj_id"] for g in gts[im_id]] == [box_id, card_id]  # by instance id
        assert len(amodal["masks"]) == 2
        for g, (gt, info) in enumerate(zip(gts[im_id], infos[im_id])):
            iid = int(amodal["instance_ids"][g])
            mask = np.array(Image.open(scene / "mask" / f"{im_id:06d}_{g:06d}.png")) > 0
            visib = np.array(Image.open(scene / "mask_visib" / f"{im_id:06d}_{g:06d}.png")) > 0
            assert np.array_equal(visib, ids == iid)
            assert np.array_equal(mask, amodal["masks"][g])
            assert info["px_count_visib"] == visib.sum() and info["px_count_all"] == mask.sum()
            assert info["visib_fract"] == pytest.approx(visib.sum() / mask.sum())
            ys, xs = np.nonzero(visib)
            # bop_toolkit's misc.calc_2d_bbox: width = x_max - x_min.
            assert info["bbox_visib"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
            # The model, placed by its pose (mm) and projected by cam_K, covers its mask.
            model = load_ply(bop / "models" / f"obj_{gt['obj_id']:06d}.ply")
            p = model["pts"] @ gt["cam_R_m2c"].T + gt["cam_t_m2c"].T
            uv = p @ cams[im_id]["cam_K"].T
            uv = uv[:, :2] / uv[:, 2:]
            drawn = rasterize(uv[model["faces"]], W, H)
            assert (drawn != mask).sum() <= 2, (drawn != mask).sum()
            # World pose consistency: cam_R_w2c / cam_t_w2c place the camera.
        r, t = cams[im_id]["cam_R_w2c"], cams[im_id]["cam_t_w2c"]
        cam_centre = -r.T @ t
        assert np.allclose(cam_centre.ravel(), [300, -5000, 1000], atol=1e-2)
    # The card hides part of the cube in at least one frame: visib_fract < 1.
    assert min(i[0]["visib_fract"] for i in infos.values()) < 0.95


def coco_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("bop/*/*/scene_gt_coco.json"))}


def test_scene_gt_coco_of_a_render_is_read_by_pycocotools_and_the_same_split_or_resumed(tmp_path):
    """scene_gt_coco.json of a real render (BlenderProc's write_bop default): pycocotools'
    annToMask of every annotation is its mask_visib/ PNG; --procs 2, two shards merged, and a
    run stopped after frame 0 then --resume'd give the same bytes as one run."""
    coco_api = pytest.importorskip("pycocotools.coco")

    text = SCENE.replace("frames = 2", "frames = 3").replace(
        "bop = { depth_scale = 0.1 }", "bop = { depth_scale = 0.1, frames_per_scene = 2 }"
    )
    p = write_param(tmp_path, text, "bop.toml")
    one = tmp_path / "one"
    assert render(p, one) == 0
    reference = coco_files(one)
    assert sorted(reference) == ["bop/train_pbr/000000/scene_gt_coco.json", "bop/train_pbr/000001/scene_gt_coco.json"]
    n = 0
    for rel in reference:
        scene = (one / rel).parent
        coco = coco_api.COCO(str(one / rel))
        gts = load_scene_gt(scene / "scene_gt.json")
        assert sorted(coco.getImgIds()) == sorted(gts)
        for ann in coco.loadAnns(coco.getAnnIds()):
            im_id = ann["image_id"]
            g = next(
                g
                for g in range(len(gts[im_id]))
                if np.array_equal(
                    coco.annToMask(ann).astype(bool),
                    np.array(Image.open(scene / "mask_visib" / f"{im_id:06d}_{g:06d}.png")) > 0,
                )
            )
            assert ann["category_id"] == gts[im_id][g]["obj_id"] and ann["area"] > 0
            assert (scene / coco.loadImgs(im_id)[0]["file_name"]).is_file()
            n += 1
    assert n >= 3  # the box in each of the 3 frames at least
    procs = tmp_path / "procs"
    assert render(p, procs, "--procs", "2", "--chunk", "1") == 0
    assert coco_files(procs) == reference
    merged, resumed = sharded_and_resumed(p, tmp_path)
    assert coco_files(merged) == reference
    assert coco_files(resumed) == reference
