"""BOP writer's scene_gt_coco.json (hand-built frames, no bpy), as BlenderProc's write_bop
(calc_mask_info_coco = True) and bop_toolkit's scripts/calc_gt_coco.py write it: read by
pycocotools, each annotation's mask equals its mask_visib PNG pixel for pixel, and bbox and
area are those of bop_toolkit's own functions (ported below as the reference) on our masks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from test_annotators import make_frame, perspective, screen_quad
from test_bop import annotated

from sdg_addon.writers import create_writer

coco_api = pytest.importorskip("pycocotools.coco")


# --- the reference: bop_toolkit_lib/pycoco_utils.py (thodan/bop_toolkit), verbatim logic --
def bop_toolkit_bbox_from_binary_mask(binary_mask):
    # bop_toolkit_lib.pycoco_utils.bbox_from_binary_mask
    rows = np.any(binary_mask, axis=1)
    cols = np.any(binary_mask, axis=0)
    rmin, rmax = np.where(rows)[0][[0, -1]]
    cmin, cmax = np.where(cols)[0][[0, -1]]
    h = rmax - rmin + 1
    w = cmax - cmin + 1
    return [int(cmin), int(rmin), int(w), int(h)]


def bop_toolkit_binary_mask_to_rle(binary_mask):
    # bop_toolkit_lib.pycoco_utils.binary_mask_to_rle
    rle = {"counts": [], "size": list(binary_mask.shape)}
    counts = rle.get("counts")
    mask = binary_mask.ravel(order="F")
    if len(mask) > 0 and mask[0] == 1:
        counts.append(0)
    if len(mask) > 0:
        mask_changes = mask[:-1] != mask[1:]
        changes_indx = np.where(np.concatenate(([True], mask_changes, [True]), 0))[0]
        rle2 = np.diff(changes_indx)
        counts.extend(rle2.tolist())
    return rle


# -----------------------------------------------------------------------------------------
def occluded_scene():
    """wall (id 2, class 'wall') in front; 'hidden' all behind it; 'peek' 5 % visible
    (ignored: visib_fract < 0.1); 'cut' half outside the left border; 'sliver' one column."""
    cam = perspective()  # 128 x 96
    wall = screen_quad(2, "wall", cam, 10.0, 110.0, 10.0, 70.0, 2.0)
    hidden = screen_quad(3, "hidden", cam, 40.0, 60.0, 30.0, 50.0, 5.0)
    # 20 x 20 = 400 pixels, rows 51..70: rows 51..69 behind the wall, row 70 visible (20 px)
    peek = screen_quad(4, "peek", cam, 80.0, 100.0, 51.0, 71.0, 4.0)
    cut = screen_quad(5, "cut", cam, -20.0, 4.0, 75.0, 90.0, 3.0)  # columns 0..3 visible
    sliver = screen_quad(6, "sliver", cam, 120.0, 121.0, 80.0, 83.0, 3.0)
    return cam, [wall, hidden, peek, cut, sliver]


def write(out, frames, **options):
    w = create_writer("bop", out, **options)
    w.set_run(frames[0].label_table, several_cameras=False)
    for f in frames:
        w.write(f)
    w.finalize()
    return out / "bop"


def test_scene_gt_coco_is_bop_toolkits_and_pycocotools_reads_our_masks(tmp_path):
    cam, objects = occluded_scene()
    frames = [annotated(make_frame(cam, objects), i) for i in (0, 1)]
    bop = write(tmp_path, frames)
    scene = bop / "train_pbr" / "000000"
    path = scene / "scene_gt_coco.json"
    doc = json.loads(path.read_text())
    assert list(doc) == ["info", "licenses", "categories", "images", "annotations"]
    # Classes sorted: cut 1, hidden 2, peek 3, sliver 4, wall 5; every obj_id of the table.
    assert doc["categories"] == [{"id": i, "name": str(i), "supercategory": "bop"} for i in range(1, 6)]
    assert doc["info"]["description"] == "bop_train_pbr" and doc["licenses"] == []
    assert doc["images"] == [
        {
            "id": i,
            "file_name": f"rgb/{i:06d}.png",
            "width": 128,
            "height": 96,
            "license": 1,
            "coco_url": "",
            "flickr_url": "",
        }
        for i in (0, 1)
    ]
    for image in doc["images"]:
        assert (scene / image["file_name"]).is_file()
    gts = json.loads((scene / "scene_gt.json").read_text())
    infos = json.loads((scene / "scene_gt_info.json").read_text())
    coco = coco_api.COCO(str(path))
    anns = coco.loadAnns(coco.getAnnIds())
    # The hidden object (no visible pixel) has no annotation; ids 1.. in (image, GT index) order.
    assert [a["id"] for a in anns] == list(range(1, 9))
    expected = []
    for im_id in (0, 1):
        for g, (gt, info) in enumerate(zip(gts[str(im_id)], infos[str(im_id)])):
            visib = np.array(Image.open(scene / "mask_visib" / f"{im_id:06d}_{g:06d}.png")) > 0
            full = np.array(Image.open(scene / "mask" / f"{im_id:06d}_{g:06d}.png")) > 0
            if visib.sum() < 1:  # bop_toolkit's calc_gt_coco: skipped
                continue
            expected.append((im_id, g, gt["obj_id"], visib, full, info["visib_fract"]))
    assert len(expected) == len(anns) == 8
    by_obj = {}
    for ann, (im_id, _g, obj_id, visib, full, visib_fract) in zip(anns, expected):
        assert ann["image_id"] == im_id and ann["category_id"] == obj_id and ann["iscrowd"] == 0
        assert np.array_equal(coco.annToMask(ann).astype(bool), visib)
        assert ann["segmentation"] == bop_toolkit_binary_mask_to_rle(visib)  # uncompressed counts
        assert ann["area"] == int(visib.sum())
        assert ann["bbox"] == bop_toolkit_bbox_from_binary_mask(full)  # amodal, BlenderProc's default
        assert (ann["width"], ann["height"]) == (128, 96)
        assert ann["ignore"] is (visib_fract < 0.1)
        by_obj[obj_id] = ann
    # Hand-computed: peek is rows 51..70, columns 80..99, 20 of 400 pixels visible.
    assert by_obj[3]["area"] == 20 and by_obj[3]["bbox"] == [80, 51, 20, 20] and by_obj[3]["ignore"] is True
    # cut: columns 0..3 inside the image, rows 75..89: the box is clipped to the image.
    assert by_obj[1]["area"] == 60 and by_obj[1]["bbox"] == [0, 75, 4, 15] and by_obj[1]["ignore"] is False
    assert by_obj[4]["bbox"] == [120, 80, 1, 3]  # one column: width 1 (COCO's), not calc_2d_bbox's 0
    assert 2 not in by_obj  # hidden
    assert by_obj[5]["area"] == 100 * 60 and by_obj[5]["bbox"] == [10, 10, 100, 60]  # the wall, in front


def test_scene_gt_coco_same_bytes_in_any_order_from_old_parts_and_off(tmp_path):
    cam, objects = occluded_scene()
    frames = [annotated(make_frame(cam, objects), i) for i in range(3)]
    one = write(tmp_path / "one", frames, frames_per_scene=2)
    rel = ["train_pbr/000000/scene_gt_coco.json", "train_pbr/000001/scene_gt_coco.json"]
    # Another order, as shards or --procs write the frames; finalize joins them all.
    other = write(tmp_path / "other", [frames[2], frames[0], frames[1]], frames_per_scene=2)
    for r in rel:
        assert (one / r).read_bytes() == (other / r).read_bytes()
    second = json.loads((one / rel[1]).read_text())
    assert [i["id"] for i in second["images"]] == [2] and second["annotations"][0]["id"] == 1
    # Parts of a version without scene_gt_coco.json: its values come from the mask PNGs.
    for part in (other / "parts" / "train_pbr").glob("*.json"):
        data = json.loads(part.read_text())
        del data["coco"]
        part.write_text(json.dumps(data))
        (other / "train_pbr" / f"{data['scene_id']:06d}" / "scene_gt_coco.json").unlink(missing_ok=True)
    create_writer("bop", tmp_path / "other", frames_per_scene=2).finalize()
    for r in rel:
        assert (one / r).read_bytes() == (other / r).read_bytes()
    # coco = false: no scene_gt_coco.json, the other files unchanged.
    off = write(tmp_path / "off", frames, frames_per_scene=2, coco=False)
    assert not list(off.rglob("scene_gt_coco.json"))
    assert (off / "train_pbr/000000/scene_gt.json").read_bytes() == (
        one / "train_pbr/000000/scene_gt.json"
    ).read_bytes()


def test_coco_bbox_modal_boxes_the_visible_pixels_in_bop_toolkits_modal_file(tmp_path):
    # bop_toolkit's calc_gt_coco.py --bbox_type modal: boxes of mask_visib, written as
    # scene_gt_coco_modal.json; everything else as the amodal file.
    cam, objects = occluded_scene()
    frames = [annotated(make_frame(cam, objects), 0)]
    amodal = json.loads((write(tmp_path / "a", frames) / "train_pbr/000000/scene_gt_coco.json").read_text())
    bop = write(tmp_path / "m", frames, coco_bbox="modal")
    scene = bop / "train_pbr" / "000000"
    assert not (scene / "scene_gt_coco.json").exists()
    modal = json.loads((scene / "scene_gt_coco_modal.json").read_text())
    for ann, ref in zip(modal["annotations"], amodal["annotations"], strict=True):
        g = {5: 0, 3: 2, 1: 3, 4: 4}[ann["category_id"]]  # GT index by instance id: wall, hidden, peek, cut, sliver
        visib = np.array(Image.open(scene / "mask_visib" / f"000000_{g:06d}.png")) > 0
        assert ann["bbox"] == bop_toolkit_bbox_from_binary_mask(visib)
        assert {k: v for k, v in ann.items() if k != "bbox"} == {k: v for k, v in ref.items() if k != "bbox"}
    by_obj = {a["category_id"]: a for a in modal["annotations"]}
    assert by_obj[3]["bbox"] == [80, 70, 20, 1]  # peek: its one visible row
    assert by_obj[1]["bbox"] == [0, 75, 4, 15]  # cut: not occluded, the same as amodal


def test_dataset_names_the_folder_and_the_supercategory(tmp_path):
    """BlenderProc's write_bop(dataset="ycbv"): the writer's folder and scene_gt_coco.json's
    supercategory and description; a name with a path in it is made one plain folder name
    inside the output folder; another folder the tool makes is refused."""
    from sdg_addon.config.problems import OptionError
    from sdg_addon.writers.paths import safe_name

    cam, objects = occluded_scene()
    frames = [annotated(make_frame(cam, objects), 0)]
    write(tmp_path / "named", frames, dataset="ycbv")
    root = tmp_path / "named" / "ycbv"
    assert sorted(p.name for p in (tmp_path / "named").iterdir()) == ["ycbv"]
    assert (root / "camera.json").is_file() and (root / "models" / "models_info.json").is_file()
    doc = json.loads((root / "train_pbr" / "000000" / "scene_gt_coco.json").read_text())
    assert {c["supercategory"] for c in doc["categories"]} == {"ycbv"}
    assert doc["info"]["description"] == "ycbv_train_pbr"
    odd = "../my set"
    write(tmp_path / "odd", frames, dataset=odd)
    assert [p.name for p in (tmp_path / "odd").iterdir()] == [safe_name(odd)]
    assert not (tmp_path / "my set").exists()
    for other in ("coco", "Audit", "", " "):
        with pytest.raises(OptionError, match="another folder the tool makes|must be a name") as caught:
            create_writer("bop", tmp_path / "refused", dataset=other)
        assert caught.value.option == "dataset"
    assert not (tmp_path / "refused").exists()
