"""COCO, KITTI and YOLO writers on hand-built frames (no bpy): the checks of the issue.

pycocotools COCO() loads the json; COCOeval with the ground truth fed back as detections
gives AP 1.0 (bbox and segm); decoded RLE equals the instance mask; KITTI / YOLO boxes
agree with COCO's; category ids do not depend on frame order, shards or resumes.
"""

from __future__ import annotations

import contextlib
import io as _io
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from sdg_addon.annotators.keypoints import KEYPOINT_DTYPE
from sdg_addon.frame import AnnotatedFrame, Camera, LabelTable
from sdg_addon.writers import WRITERS, create_writer
from sdg_addon.writers.kitti import occlusion_level
from sdg_addon.writers.masks import signed_area, trace_loops
from sdg_addon.writers.paths import safe_name

coco_api = pytest.importorskip("pycocotools.coco")
cocoeval_api = pytest.importorskip("pycocotools.cocoeval")
mask_api = pytest.importorskip("pycocotools.mask")

WRITERS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "writers.md"
W, H = 40, 30
CLASSES = ["mug", "ball", "box", "unseen"]  # "unseen" never appears: still a category
BOX_DTYPE = np.dtype(
    [
        ("semanticId", "<u4"),
        ("x_min", "<i4"),
        ("y_min", "<i4"),
        ("x_max", "<i4"),
        ("y_max", "<i4"),
        ("occlusionRatio", "<f4"),
    ]
)
BOX3D_DTYPE = np.dtype(
    [
        ("semanticId", "<u4"),
        ("x_min", "<f4"),
        ("y_min", "<f4"),
        ("z_min", "<f4"),
        ("x_max", "<f4"),
        ("y_max", "<f4"),
        ("z_max", "<f4"),
        ("transform", "<f4", (4, 4)),
        ("occlusionRatio", "<f4"),
    ]
)
# A level camera at the origin looking along world +Y (Blender: camera -Z -> world +Y,
# camera +Y -> world +Z).
CAMERA_TO_WORLD = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
# instance id -> (label, local bbox min, max, yaw degrees about world Z, location, scale)
OBJECTS = {
    2: ("mug", (-0.1, -0.1, 0.0), (0.1, 0.1, 0.3), 0.0, (-1.0, 6.0, -0.8), (1.0, 1.0, 1.0)),
    3: ("box", (-0.5, -0.25, 0.0), (0.5, 0.25, 0.8), 30.0, (0.5, 5.0, -1.0), (2.0, 1.0, 1.0)),
    4: ("ball", (-0.2, -0.2, -0.2), (0.2, 0.2, 0.2), -120.0, (1.5, 8.0, 0.2), (1.0, 1.0, 1.0)),
    5: ("box", (-0.3, -0.3, 0.0), (0.3, 0.3, 0.6), 90.0, (-2.0, 7.0, -0.5), (1.0, 1.0, 1.0)),
}


def camera(name="cam", camera_to_world=None) -> Camera:
    return Camera(
        name=name,
        width=W,
        height=H,
        projection="perspective",
        camera_to_world=(CAMERA_TO_WORLD if camera_to_world is None else camera_to_world).copy(),
        fx=40.0,
        fy=40.0,
        cx=20.0,
        cy=15.0,
        clip_start=0.1,
        clip_end=100.0,
    )


def object_to_world(iid: int) -> np.ndarray:
    _label, _lo, _hi, yaw, loc, scale = OBJECTS[iid]
    c, s = math.cos(math.radians(yaw)), math.sin(math.radians(yaw))
    m = np.eye(4)
    m[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag(scale)
    m[:3, 3] = loc
    return m


def instance_map(f: int) -> np.ndarray:
    """Small masks that change per frame: rectangles, an L with a hole, overlaps, an
    object cut in two by another (several loops), object 5 only in some frames."""
    m = np.zeros((H, W), dtype=np.uint32)
    s = f % 3
    m[2 + s : 12 + s, 3:15] = 3  # box
    m[5 + s : 8 + s, 6:9] = 0  # a hole in the box
    m[20:28, 1 + s : 6 + s] = 3
    m[22:26, 1 + s : 12 + s] = 3  # the box continues under the mug: an L shape
    m[4:18, 18 + s : 26 + s] = 2  # mug, over the ball
    m[14:24, 22:34] = np.where(m[14:24, 22:34] == 2, 2, 4)  # ball, partly hidden
    m[0:30, 36:38] = 4  # ... and a separate sliver of the ball (two parts)
    m[10, 10] = 1  # an unlabelled pixel
    if f % 2 == 0:
        m[25:29, 20:23] = 5  # a second box in even frames
        m[27, 24] = 5  # touching only at a corner
        m[28, 23] = 5
    return m


def tight_boxes(inst: np.ndarray, table: LabelTable) -> dict:
    rows, ids, id_to_labels = [], [], {}
    for iid in sorted(OBJECTS):
        ys, xs = np.nonzero(inst == iid)
        if xs.size == 0:
            continue
        label = OBJECTS[iid][0]
        sid = table.semantic_id("class", label)
        rows.append((sid, xs.min(), ys.min(), xs.max(), ys.max(), 0.05 * iid))
        ids.append(iid)
        id_to_labels[sid] = {"class": label}
    data = np.array(rows, dtype=BOX_DTYPE)
    info = {
        "bboxIds": ids,
        "idToLabels": id_to_labels,
        "primPaths": [f"/objects/obj{i}" for i in ids],
        "truncationRatio": [0.0] * len(ids),
    }
    return {"data": data, "info": info}


def boxes_3d(ids: list[int], table: LabelTable, cam: Camera) -> dict:
    rows, id_to_labels, corners = [], {}, []
    for iid in ids:
        label, lo, hi, *_ = OBJECTS[iid]
        sid = table.semantic_id("class", label)
        m = object_to_world(iid)
        rows.append((sid, *lo, *hi, m.T, [0.0, 0.3, 0.7, float("nan")][iid % 4]))
        id_to_labels[sid] = {"class": label}
        local = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
        corners.append(cam.project(local @ m[:3, :3].T + m[:3, 3])[0].tolist())
    info = {
        "bboxIds": ids,
        "idToLabels": id_to_labels,
        "primPaths": [f"/objects/obj{i}" for i in ids],
        "truncationRatio": [0.1 * (i - 2) for i in ids],
        "corners_px": corners,
    }
    return {"data": np.array(rows, dtype=BOX3D_DTYPE), "info": info}


def make_frame(
    f: int, camera_name: str = "cam", with_3d: bool = True, camera_to_world=None, inst=None
) -> AnnotatedFrame:
    table = LabelTable({"class": list(CLASSES)})
    cam = camera(camera_name, camera_to_world)
    inst = instance_map(f) if inst is None else inst
    rgb = np.zeros((H, W, 4), dtype=np.uint8)
    rgb[..., 0] = (inst * 40 % 256).astype(np.uint8)
    rgb[..., 1] = f
    rgb[..., 3] = 255
    tight = tight_boxes(inst, table)
    annotations = {
        "rgb": rgb,
        "instance_segmentation": {"data": inst, "info": {"idToLabels": {}, "idToSemantics": {}}},
        "bounding_box_2d_tight": tight,
        "distance_to_image_plane": np.full((H, W), 2.5 + f, dtype=np.float32),
        "camera_params": {
            "fx": cam.fx,
            "fy": cam.fy,
            "cx": cam.cx,
            "cy": cam.cy,
            "projection": cam.projection,
            "world_to_camera_opencv": cam.world_to_camera_opencv.tolist(),
        },
    }
    if with_3d:
        # Object 5 has a 2D box but no 3D row: KITTI writes its unknown values.
        annotations["bounding_box_3d"] = boxes_3d([i for i in tight["info"]["bboxIds"] if i != 5], table, cam)
    return AnnotatedFrame(f, camera_name, annotations, table, cam)


def run_writer(name: str, out: Path, frames, **options):
    w = create_writer(name, out, **options)
    for f in frames:
        w.write(make_frame(f))
    w.finalize()
    return w


def load_coco(path: Path):
    with contextlib.redirect_stdout(_io.StringIO()):
        return coco_api.COCO(str(path))


def evaluate(gt, kind: str) -> float:
    dets = []
    for ann in gt.dataset["annotations"]:
        det = {"image_id": ann["image_id"], "category_id": ann["category_id"], "score": 1.0}
        if kind == "bbox":
            det["bbox"] = ann["bbox"]
        else:
            det["segmentation"] = gt.annToRLE(ann)
        dets.append(det)
    with contextlib.redirect_stdout(_io.StringIO()):
        dt = gt.loadRes(dets)
        ev = cocoeval_api.COCOeval(gt, dt, kind)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return float(ev.stats[0])


def no_tmp_files(out: Path) -> bool:
    return not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------- COCO


def test_all_writers_registered():
    assert {"basic", "coco", "kitti", "yolo"} <= set(WRITERS)
    assert set(WRITERS["kitti"].required_annotators) >= {"bounding_box_3d", "camera_params"}


@pytest.mark.parametrize("polygons", [False, True])
def test_coco_loads_evaluates_to_ap_1_and_masks_decode_exactly(tmp_path, polygons):
    run_writer("coco", tmp_path, range(4), polygons=polygons)
    path = tmp_path / "coco" / "annotations" / "instances_train.json"
    gt = load_coco(path)
    assert sorted(gt.getImgIds()) == [0, 1, 2, 3]
    assert [c["name"] for c in gt.loadCats(gt.getCatIds())] == CLASSES
    assert len(gt.getAnnIds()) == 3 * 4 + 2  # objects 2, 3, 4 each frame; 5 in frames 0, 2
    assert evaluate(gt, "bbox") == pytest.approx(1.0)
    assert evaluate(gt, "segm") == pytest.approx(1.0)
    gt = load_coco(path)  # COCOeval turned the ground truth's polygons into RLE in place
    for ann in gt.dataset["annotations"]:
        image = gt.imgs[ann["image_id"]]
        expected = instance_map(image["frame"]) == ann["sdg_instance_id"]
        decoded = gt.annToMask(ann).astype(bool)
        assert np.array_equal(decoded, expected), ann["id"]  # pixel for pixel
        assert ann["area"] == int(expected.sum())
        assert ann["iscrowd"] == 0
        ys, xs = np.nonzero(expected)
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        if polygons:
            assert isinstance(ann["segmentation"], list) and all(len(p) >= 6 for p in ann["segmentation"])
        else:
            assert isinstance(ann["segmentation"]["counts"], str)
        assert (tmp_path / "coco" / "train" / image["file_name"]).is_file()
    assert no_tmp_files(tmp_path)


def test_coco_ids_images_and_channels(tmp_path):
    run_writer("coco", tmp_path, [3, 1, 2])
    data = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())
    assert [im["id"] for im in data["images"]] == [1, 2, 3]  # image id = frame
    assert [a["id"] for a in data["annotations"]] == list(range(1, len(data["annotations"]) + 1))
    keys = [(a["image_id"], a["sdg_instance_id"]) for a in data["annotations"]]
    assert keys == sorted(keys)
    assert [c["id"] for c in data["categories"]] == [1, 2, 3, 4]
    by_name = {c["name"]: c["id"] for c in data["categories"]}
    for a in data["annotations"]:
        assert a["category_id"] == by_name[OBJECTS[a["sdg_instance_id"]][0]]
    image = data["images"][0]
    depth = np.load(tmp_path / "coco" / "train" / image["depth_file"])
    assert depth.shape == (H, W) and depth[0, 0] == pytest.approx(2.5 + image["frame"])
    from PIL import Image

    with Image.open(tmp_path / "coco" / "train" / image["file_name"]) as im:
        assert im.size == (W, H) and im.mode == "RGB"


def test_coco_channels_keep_a_flows_valid_and_status_masks(tmp_path):
    """channels = ["forward_flow"] saved the flow alone: its valid and status masks were
    dropped, so a clip's last frame (flow 0, status 4: no next frame) and occluded pixels
    read as flow. The image-sized arrays of a channel's info are saved beside it, named as
    the BasicWriter names them, and listed in the image's channels."""
    w = create_writer("coco", tmp_path, channels=["forward_flow"])
    frame = make_frame(0)
    status = np.full((H, W), 4, np.uint8)
    status[0, :3] = (0, 1, 3)
    flow = {"data": np.zeros((H, W, 2), np.float32), "info": {"valid": status == 0, "status": status}}
    frame.annotations["forward_flow"] = flow
    w.write(frame)
    w.finalize()
    image = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())["images"][0]
    assert image["channels"] == {
        "forward_flow": "000000_forward_flow.npy",
        "forward_flow_valid": "000000_forward_flow_valid.npy",
        "forward_flow_status": "000000_forward_flow_status.npy",
    }
    folder = tmp_path / "coco" / "train"
    assert np.array_equal(np.load(folder / image["channels"]["forward_flow_status"]), status)
    assert np.array_equal(np.load(folder / image["channels"]["forward_flow_valid"]), status == 0)
    assert np.array_equal(np.load(folder / image["channels"]["forward_flow"]), flow["data"])


def test_coco_channels_keep_a_point_clouds_per_point_arrays(tmp_path):
    """channels = ["pointcloud"] saved the points alone: which pixel, colour, normal, class
    and object each point is (its info) was dropped, so nothing tied a point to the image.
    They are saved beside it, named as the BasicWriter's files (pointcloud_pixels...)."""
    w = create_writer("coco", tmp_path, channels=["pointcloud"])
    frame = make_frame(0)
    n = 5
    info = {
        "pointRgb": np.full((n, 4), 7, np.uint8),
        "pointNormals": np.tile(np.float32([0, 0, 1]), (n, 1)),
        "pointSemantic": np.full(n, 2, np.uint32),
        "pointInstance": np.arange(n, dtype=np.uint32),
        "pointPixels": np.stack([np.arange(n), np.zeros(n)], axis=1).astype(np.int32),
    }
    frame.annotations["pointcloud"] = {"data": np.ones((n, 3), np.float32), "info": info}
    w.write(frame)
    w.finalize()
    image = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())["images"][0]
    names = {"rgb": "pointRgb", "normals": "pointNormals", "semantic": "pointSemantic"}
    names |= {"instance": "pointInstance", "pixels": "pointPixels"}
    assert set(image["channels"]) == {"pointcloud", *(f"pointcloud_{k}" for k in names)}
    for suffix, key in names.items():
        assert image["channels"][f"pointcloud_{suffix}"] == f"000000_pointcloud_{suffix}.npy"
        assert np.array_equal(np.load(tmp_path / "coco" / "train" / f"000000_pointcloud_{suffix}.npy"), info[key])


def test_coco_category_ids_stable_across_order_shards_and_resume(tmp_path):
    one = tmp_path / "one"
    run_writer("coco", one, range(6))
    reference = (one / "coco" / "annotations" / "instances_train.json").read_bytes()

    reordered = tmp_path / "reordered"
    run_writer("coco", reordered, [5, 3, 1, 0, 4, 2])
    assert (reordered / "coco" / "annotations" / "instances_train.json").read_bytes() == reference

    # Two shards writing into one folder (frames f % 2), each finalizing at its end.
    sharded = tmp_path / "sharded"
    a = create_writer("coco", sharded)
    b = create_writer("coco", sharded)
    for f in (1, 3, 5):
        b.write(make_frame(f))
    b.finalize()  # the first shard done: a partial json, ids of the classes it saw
    partial = json.loads((sharded / "coco" / "annotations" / "instances_train.json").read_text())
    assert [c["name"] for c in partial["categories"]] == CLASSES
    for f in (0, 2, 4):
        a.write(make_frame(f))
    a.finalize()
    assert (sharded / "coco" / "annotations" / "instances_train.json").read_bytes() == reference

    # Resume: a run that died after frame 2, then continued; finalize twice.
    resumed = tmp_path / "resumed"
    run_writer("coco", resumed, range(3))
    w = run_writer("coco", resumed, range(3, 6))
    w.finalize()
    assert (resumed / "coco" / "annotations" / "instances_train.json").read_bytes() == reference
    assert no_tmp_files(tmp_path)


def test_coco_categories_come_from_the_label_table_not_first_seen(tmp_path):
    w = create_writer("coco", tmp_path)

    class Config:
        cameras = [object()]

    w.set_run(LabelTable({"class": list(CLASSES)}), False)
    frame = make_frame(0)
    # A frame showing only the "box" (3rd class): it keeps category id 3.
    inst = np.where(frame.annotations["instance_segmentation"]["data"] == 3, 3, 0).astype(np.uint32)
    frame.annotations["instance_segmentation"]["data"] = inst
    frame.annotations["bounding_box_2d_tight"] = tight_boxes(inst, frame.label_table)
    w.write(frame)
    w.finalize()
    data = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())
    assert {a["category_id"] for a in data["annotations"]} == {3}
    assert [c["name"] for c in data["categories"]] == CLASSES


def test_coco_changed_label_set_is_an_error(tmp_path):
    run_writer("coco", tmp_path, [0])
    w = create_writer("coco", tmp_path)
    frame = make_frame(1)
    frame.label_table.values["class"] = ["ball", "mug", "box", "unseen"]
    w.write(frame)
    with pytest.raises(ValueError, match="label set changed"):
        w.finalize()


def test_coco_interrupted_frame_is_not_in_the_dataset(tmp_path, monkeypatch):
    import sdg_addon.writers.coco as coco

    run_writer("coco", tmp_path, [0, 1])
    real = coco.io.write_json

    def killed(path, obj, indent=None):
        if "parts" in Path(path).parts:
            raise KeyboardInterrupt  # killed before the frame's last file
        return real(path, obj, indent)

    monkeypatch.setattr(coco.io, "write_json", killed)
    w = create_writer("coco", tmp_path)
    with pytest.raises(KeyboardInterrupt):
        w.write(make_frame(2))
    monkeypatch.undo()
    assert (tmp_path / "coco" / "train" / "000002.png").is_file()  # written before the part
    w.finalize()
    gt = load_coco(tmp_path / "coco" / "annotations" / "instances_train.json")
    assert sorted(gt.getImgIds()) == [0, 1]
    # Every part is complete json (written under a temporary name, then renamed).
    for part in (tmp_path / "coco" / "parts").rglob("*.json"):
        json.loads(part.read_text())
    assert no_tmp_files(tmp_path)


def test_coco_several_cameras_one_json_each(tmp_path):
    w = create_writer("coco", tmp_path)
    w.several_cameras = True
    for f in range(2):
        for cam in ("left", "right"):
            w.write(make_frame(f, cam))
    w.finalize()
    for cam in ("left", "right"):
        gt = load_coco(tmp_path / "coco" / "annotations" / f"instances_train_{cam}.json")
        assert sorted(gt.getImgIds()) == [0, 1]
        assert {im["camera"] for im in gt.dataset["images"]} == {cam}
        assert (tmp_path / "coco" / f"train_{cam}" / "000000.png").is_file()


def test_coco_val_every_makes_a_val_split(tmp_path):
    run_writer("coco", tmp_path, range(6), val_every=3)
    ann = tmp_path / "coco" / "annotations"
    assert sorted(load_coco(ann / "instances_val.json").getImgIds()) == [0, 3]
    assert sorted(load_coco(ann / "instances_train.json").getImgIds()) == [1, 2, 4, 5]


def test_a_split_named_as_a_folder_of_the_writer_is_refused(tmp_path):
    # split = "parts" put coco's images, bop's scenes and mot's sequences inside the
    # writer's parts/ (bop's "models" among the .ply models, coco's "annotations" among the
    # json files): refused, case aside, naming the folder; other writers' splits unchanged.
    for writer, split in (
        ("coco", "parts"),
        ("coco", "Annotations"),
        ("bop", "models"),
        ("bop", "PARTS"),
        ("mot", "parts"),
        ("mot", "seqmaps"),
    ):
        with pytest.raises(ValueError, match="the name of the writer's own folder") as e:
            create_writer(writer, tmp_path, split=split)
        assert f"{writer}/{split.lower()}/" in str(e.value)
    for writer in ("yolo", "kitti", "webdataset"):
        create_writer(writer, tmp_path, split="parts")
    create_writer("bop", tmp_path, split="annotations")
    assert not any(tmp_path.iterdir())


def test_writer_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="no option"):
        create_writer("coco", tmp_path, polygon=True)
    with pytest.raises(ValueError, match="plain name"):
        create_writer("yolo", tmp_path, split="../x")
    for split in (
        "CON",
        "nul",
        ".hidden",
        "-x",
        "x" * 81,
        "val.",
    ):  # each refusal says why (before: 'letters, ...' for CON)
        with pytest.raises(ValueError, match="reserved device name such as CON") as e:
            create_writer("coco", tmp_path, split=split)
        assert repr(split) in str(e.value)


@pytest.mark.parametrize("writer", ["coco", "yolo", "kitti", "bop", "mot", "webdataset"])
def test_a_split_that_is_val_but_for_case_beside_val_every_is_refused(tmp_path, writer):
    """split = "Val" with val_every = 2 wrote coco/Val/ and coco/val/, instances_Val.json and
    instances_val.json (yolo/images/Val and val, ...): one folder and one file on Windows'
    and macOS' file systems, one split's annotations replacing the other's. Refused at
    validate; "Val" without val_every, and "val" with it, are taken."""
    with pytest.raises(ValueError, match="differs from the 'val' split only in case"):
        create_writer(writer, tmp_path, split="Val", val_every=2)
    create_writer(writer, tmp_path, split="Val")
    create_writer(writer, tmp_path, split="val", val_every=2)
    create_writer(writer, tmp_path, split="valid", val_every=2)


@pytest.mark.parametrize("writer", ["coco", "bop", "webdataset"])
def test_a_split_named_as_the_val_split_of_another_camera_is_refused(tmp_path, writer):
    """split = "val_a" with val_every = 2 and cameras "b" and "a_b": camera b's val_a frames
    and camera a_b's val frames were both named val_a_b (coco's instances_val_a_b.json held
    images of both cameras, ids 0 a_b, 1 b, 2 a_b, 3 b; webdataset's and bop's val_a_b
    alike), validate saying OK. Refused at validate, case aside; other names are taken."""
    from sdg_addon.config import ConfigError, load_config

    def problems(split: str, cameras=("b", "a_b"), val_every=2):
        text = "".join(f'[[cameras]]\nname = "{c}"\nlocation = [0, -4, {i}]\n' for i, c in enumerate(cameras))
        p = tmp_path / "p.toml"
        p.write_text(text + f'[writers]\n{writer} = {{ split = "{split}", val_every = {val_every} }}\n')
        try:
            load_config(p)
        except ConfigError as e:
            return [(x.field, x.expected) for x in e.problems]
        return []

    if writer == "bop":  # val_a is BOP's val split of type a, val_every's too: one folder a camera
        assert problems("val_a") == []
    else:
        found = problems("val_a")
        assert [f for f, _ in found] == [f"writers.{writer}.split"], found
        assert "are both named 'val_a_b'" in found[0][1]
    assert [f for f, _ in problems("VAL_A")] == [f"writers.{writer}.split"]  # one name on Windows, macOS
    assert problems("val_a", val_every=0) == []
    assert problems("val_x") == [] and problems("val_a", cameras=("b", "c")) == []


def test_yolo_split_images_is_refused(tmp_path):
    """split = "images" wrote yolo/images/images/ and yolo/labels/images/, where Ultralytics
    (which replaces an image path's last /images/ with /labels/) found no labels and took
    every image as a background; it is refused, the other writers and splits keep it."""
    with pytest.raises(ValueError, match="split 'images' is not a split Ultralytics can read"):
        create_writer("yolo", tmp_path, split="images")
    create_writer("yolo", tmp_path, split="labels")
    create_writer("coco", tmp_path, split="images")
    w = run_writer("yolo", tmp_path, [0], split="labels")
    image = next((tmp_path / "yolo" / "images").rglob("*.png")).as_posix()
    label = "/labels/".join(image.rsplit("/images/", 1)).rsplit(".", 1)[0] + ".txt"  # Ultralytics' img2label_paths
    assert Path(label).is_file() and w.options["split"] == "labels"


def test_mismatched_semantic_type_is_explained(tmp_path):
    w = create_writer("coco", tmp_path, semantic_type="shape")
    with pytest.raises(ValueError, match="same semantic_type"):
        w.write(make_frame(0))


# ---------------------------------------------------------------------------- KITTI


def read_kitti_labels(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()]


def kitti_corners(dims, loc, ry) -> np.ndarray:
    """KITTI devkit's box corners in camera coordinates (8, 3)."""
    h, w, l = dims  # noqa: E741
    x = [l / 2, l / 2, -l / 2, -l / 2, l / 2, l / 2, -l / 2, -l / 2]
    y = [0, 0, 0, 0, -h, -h, -h, -h]
    z = [w / 2, -w / 2, -w / 2, w / 2, w / 2, -w / 2, -w / 2, w / 2]
    r = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0], [-math.sin(ry), 0, math.cos(ry)]])
    return (r @ np.array([x, y, z])).T + np.asarray(loc)


def parse_calib(path: Path) -> dict[str, np.ndarray]:
    out = {}
    for line in path.read_text().splitlines():
        key, values = line.split(":", 1)
        out[key] = np.array([float(v) for v in values.split()])
    return out


def test_kitti_labels_calib_and_boxes_agree_with_coco(tmp_path):
    run_writer("coco", tmp_path, range(3))
    run_writer("kitti", tmp_path, range(3))
    gt = load_coco(tmp_path / "coco" / "annotations" / "instances_train.json")
    base = tmp_path / "kitti" / "training"
    for f in range(3):
        stem = f"{f:06d}"
        assert (base / "image_2" / f"{stem}.png").is_file()
        lines = read_kitti_labels(base / "label_2" / f"{stem}.txt")
        anns = sorted(gt.loadAnns(gt.getAnnIds(imgIds=[f])), key=lambda a: a["sdg_instance_id"])
        assert len(lines) == len(anns)
        calib = parse_calib(base / "calib" / f"{stem}.txt")
        p2 = calib["P2"].reshape(3, 4)
        assert np.allclose(p2[:, :3], camera().intrinsics) and np.allclose(p2[:, 3], 0)
        assert np.allclose(calib["R0_rect"].reshape(3, 3), np.eye(3))
        # KITTI's lidar axes at the (level) camera: exactly its axis swap, no translation.
        assert calib["Tr_velo_to_cam"].reshape(3, 4).tolist() == [[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0]]
        for fields, ann in zip(lines, anns):
            assert len(fields) == 15
            iid = ann["sdg_instance_id"]
            assert fields[0] == OBJECTS[iid][0]
            left, top, right, bottom = (float(v) for v in fields[4:8])
            assert [left, top, right - left, bottom - top] == ann["bbox"]
            if iid == 5:  # a 2D box but no 3D box: KITTI's unknown values
                assert [float(v) for v in fields[8:15]] == [-1, -1, -1, -1000, -1000, -1000, -10]
                continue
            dims = [float(v) for v in fields[8:11]]
            loc = [float(v) for v in fields[11:14]]
            ry, alpha = float(fields[14]), float(fields[3])
            _label, lo, hi, yaw, world_loc, scale = OBJECTS[iid]
            extent = (np.array(hi) - np.array(lo)) * scale
            assert dims == pytest.approx([extent[2], extent[1], extent[0]], abs=1e-4)  # h, w, l
            # Bottom centre: the world point below the object's origin, in OpenCV camera axes.
            bottom_world = object_to_world(iid) @ [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2], 1]
            x, y, z = (camera().world_to_camera_opencv @ bottom_world)[:3]
            assert loc == pytest.approx([x, y, z], abs=1e-4)
            expected_ry = (-math.radians(yaw) + math.pi) % (2 * math.pi) - math.pi
            assert ry == pytest.approx(expected_ry, abs=1e-4)
            assert alpha == pytest.approx((ry - math.atan2(x, z) + math.pi) % (2 * math.pi) - math.pi, abs=1e-4)
            # The KITTI box, rebuilt with the devkit's formula and projected with P2, has
            # the corners of the object's true 3D box.
            corners = kitti_corners(dims, loc, ry)
            uvw = np.c_[corners, np.ones(8)] @ p2.T
            uv = uvw[:, :2] / uvw[:, 2:]
            truth = np.array(make_frame(f).annotations["bounding_box_3d"]["info"]["corners_px"])
            k = make_frame(f).annotations["bounding_box_3d"]["info"]["bboxIds"].index(iid)
            distance = np.linalg.norm(uv[:, None, :] - truth[k][None, :, :], axis=-1)
            assert distance.min(axis=0).max() < 1e-2 and distance.min(axis=1).max() < 1e-2
            assert int(fields[2]) == occlusion_level([0.0, 0.3, 0.7, float("nan")][iid % 4])
            assert float(fields[1]) == pytest.approx(min(1.0, 0.1 * (iid - 2)), abs=0.005)
    assert (tmp_path / "kitti" / "ImageSets" / "train.txt").read_text() == "000000\n000001\n000002\n"
    assert no_tmp_files(tmp_path)


def rotation(axis: int, deg: float) -> np.ndarray:
    """3x3 rotation by `deg` about world X (0), Y (1) or Z (2), right-handed."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(3)
    m[i, i] = m[j, j] = c
    m[i, j], m[j, i] = -s, s
    return m


def tilted_camera_to_world(pitch_deg: float, roll_deg: float, yaw_deg: float) -> np.ndarray:
    """CAMERA_TO_WORLD looking down by `pitch`, rolled about its view axis, turned about Z."""

    def rot(axis, deg):
        m = np.eye(4)
        m[:3, :3] = rotation(axis, deg)
        return m

    # Blender camera axes: pitch about camera X, roll about camera Z (the view axis).
    m = rot(2, yaw_deg) @ CAMERA_TO_WORLD @ rot(0, -pitch_deg) @ rot(2, roll_deg)
    m[:3, 3] = [0.3, -0.5, 1.7]
    return m


@pytest.mark.parametrize("pitch,roll,yaw", [(0, 0, 0), (25, 0, 0), (30, 12, -20), (90, 0, 15), (-20, -8, 40)])
def test_kitti_devkit_projection_is_exact_for_any_camera_pose(tmp_path, pitch, roll, yaw):
    """The KITTI object devkit projects a label box with P2 alone (its computeBox3D(object,
    P) with P = readCalibration's P2; label boxes are in rectified camera coordinates, as
    kitti_util, OpenPCDet and mmdetection3d take them too) and a velodyne point as P2 @
    R0_rect @ Tr_velo_to_cam @ point: both land on the true projection for tilted and rolled
    cameras (upright objects). The tilt is in P0..P3, so R0_rect is I and P2 is [K | 0] for a
    level camera. And the label boxes taken into the velodyne frame as OpenPCDet's
    boxes3d_kitti_camera_to_lidar does (mmdetection3d's box_camera_to_lidar alike: centre
    through the calibration, heading -(ry + pi/2)) have the objects' true corners there
    (before, the velodyne frame was the world, whose axes the heading formula does not
    assume: boxes turned by the camera's yaw)."""
    from sdg_addon.writers.kitti import KittiWriter, world_to_level

    c2w = tilted_camera_to_world(pitch, roll, yaw)
    w = KittiWriter(tmp_path)
    frame = make_frame(0, camera_to_world=c2w)
    w.write(frame)
    calib = parse_calib(tmp_path / "kitti" / "training" / "calib" / "000000.txt")
    p2, r0 = calib["P2"].reshape(3, 4), calib["R0_rect"].reshape(3, 3)
    tr = np.vstack([calib["Tr_velo_to_cam"].reshape(3, 4), [0, 0, 0, 1]])
    assert np.allclose(r0, np.eye(3), atol=1e-12)
    if pitch == roll == 0:
        assert np.allclose(p2, np.c_[frame.camera.intrinsics, np.zeros(3)], atol=1e-9)
    r0_4 = np.eye(4)
    r0_4[:3, :3] = r0
    cam = frame.camera
    lines = read_kitti_labels(tmp_path / "kitti" / "training" / "label_2" / "000000.txt")
    box3d = frame.annotations["bounding_box_3d"]
    checked = 0
    true_velo = []  # each candidate object's true corners in the velodyne frame
    for fields in lines:
        dims = [float(v) for v in fields[8:11]]
        if dims[0] < 0:
            continue
        loc, ry = [float(v) for v in fields[11:14]], float(fields[14])
        corners = kitti_corners(dims, loc, ry)
        uvw = np.c_[corners, np.ones(8)] @ p2.T
        uv = uvw[:, :2] / uvw[:, 2:]
        candidates = [i for i in box3d["info"]["bboxIds"] if OBJECTS[i][0] == fields[0]]
        best = np.inf
        for i in candidates:
            m = object_to_world(i)
            _l, lo, hi, *_ = OBJECTS[i]
            local = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
            truth = cam.project(local @ m[:3, :3].T + m[:3, 3])[0]
            d = np.linalg.norm(uv[:, None, :] - truth[None, :, :], axis=-1)
            best = min(best, max(d.min(axis=0).max(), d.min(axis=1).max()))
            # Velodyne route: a point of the velodyne frame through Tr_velo_to_cam, R0_rect, P2.
            world = np.c_[local @ m[:3, :3].T + m[:3, 3], np.ones(8)]
            velo = world @ (np.linalg.inv(tr) @ world_to_level(cam.world_to_camera_opencv)).T
            uvw = velo @ (p2 @ r0_4 @ tr).T
            assert np.allclose(uvw[:, :2] / uvw[:, 2:], truth, atol=1e-6)
            true_velo.append(velo[:, :3])
        assert best < 1e-2, (pitch, roll, yaw, fields)
        # OpenPCDet: gt_boxes_lidar = [x, y, z + h / 2, l, w, h, -(ry + pi / 2)], the centre
        # through rect_to_lidar; corners by boxes_to_corners_3d (a turn about the lidar z).
        h, w_, l_ = dims
        centre = np.linalg.solve(r0_4 @ tr, [*loc, 1.0])[:3] + [0.0, 0.0, h / 2]
        heading = -(ry + math.pi / 2)
        c, s_ = math.cos(heading), math.sin(heading)
        template = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * [l_ / 2, w_ / 2, h / 2]
        lidar_corners = template @ np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]]).T + centre
        d = [np.linalg.norm(lidar_corners[:, None] - t[None], axis=-1) for t in true_velo[-len(candidates) :]]
        err = min(max(x.min(axis=0).max(), x.min(axis=1).max()) for x in d)
        assert err < 0.01, (pitch, roll, yaw, fields, err)  # labels hold 2 decimals (KITTI)
        checked += 1
    assert checked >= 2


# box_000 of presets/examples/corner_cases.toml's size class: 0.12 m tall, origin at its bottom.
DROPPED_BOX = ((-0.2, -0.1, 0.0), (0.2, 0.1, 0.12), (1.5, 1.0, 1.0), (0.4, 5.0, -0.7))


def dropped_box_row(tip: tuple[int, float] | None, yaw: float) -> np.ndarray:
    """A bounding_box_3d row of DROPPED_BOX tipped (axis, degrees) then turned about world Z."""
    lo, hi, scale, loc = DROPPED_BOX
    m = np.eye(4)
    m[:3, :3] = rotation(2, yaw) @ (rotation(*tip) if tip else np.eye(3)) @ np.diag(scale)
    m[:3, 3] = loc
    return np.array([(1, *lo, *hi, m.T, 0.0)], dtype=BOX3D_DTYPE)


def true_corners(row: np.ndarray, world_to_frame: np.ndarray) -> np.ndarray:
    """The row's 8 box corners (as stored, float32) in the frame of `world_to_frame`."""
    r = row[0]
    m = np.asarray(r["transform"], dtype=np.float64).T
    xs, ys, zs = ((float(r[f"{a}_min"]), float(r[f"{a}_max"])) for a in "xyz")
    local = np.array([[x, y, z, 1.0] for x in xs for y in ys for z in zs])
    return (local @ (world_to_frame @ m).T)[:, :3]


def same_corners(a: np.ndarray, b: np.ndarray) -> float:
    """The largest distance from a corner of either set to the nearest of the other."""
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    return max(d.min(axis=0).max(), d.min(axis=1).max())


@pytest.mark.parametrize("tip", [None, (0, 180), (0, 90), (0, -90), (1, 90), (1, -90), (1, 180)])
@pytest.mark.parametrize("yaw", [0, 35, -120, 180])
@pytest.mark.parametrize("camera_yaw", [0, 50])
def test_kitti_box_is_exact_for_objects_upside_down_or_on_their_side(tip, yaw, camera_yaw):
    """An object dropped upside down (180 deg about X or Y) or on its side (90 deg) is still an
    upright box: the devkit's corners (compute_box_3d from h, w, l, location, rotation_y)
    are its true corners in the level frame. rotation_y stays the heading of the object's X
    axis while X is horizontal. tip None: the upright object, as before."""
    from sdg_addon.writers.kitti import boxes_3d_camera

    # A level camera (turned about world Z only): its level frame is its OpenCV frame.
    w2l = camera(camera_to_world=tilted_camera_to_world(0, 0, camera_yaw)).world_to_camera_opencv
    row = dropped_box_row(tip, yaw)
    dims, loc, ry = boxes_3d_camera(row, w2l)
    devkit = kitti_corners(dims[0], loc[0], ry[0])
    assert same_corners(devkit, true_corners(row, w2l)) < 1e-6, (dims, loc, ry)
    x_axis = w2l[:3, :3] @ rotation(2, yaw) @ (rotation(*tip) if tip else np.eye(3)) @ [1.0, 0.0, 0.0]
    if abs(x_axis[1]) < 1e-9:  # X horizontal: the devkit box's x axis is the object's X
        box_x = np.array([math.cos(ry[0]), 0.0, -math.sin(ry[0])])
        assert np.allclose(box_x, x_axis, atol=1e-6)


@pytest.mark.parametrize("tip,up_axis,top", [((0, 170), 2, True), ((1, 95), 0, True), ((0, 100), 1, False)])
def test_kitti_tilted_object_box_comes_from_the_axis_nearest_up(tip, up_axis, top):
    """Tilted beyond upright, upside down or on its side (10 deg off): h is the extent along the
    local axis nearest to up, and location the centre of the box face at that axis's lower
    end (the top face, local max, when the axis points down)."""
    from sdg_addon.writers.kitti import boxes_3d_camera

    w2l = camera().world_to_camera_opencv
    row = dropped_box_row(tip, 30)
    dims, loc, _ry = boxes_3d_camera(row, w2l)
    lo, hi, scale, _loc = DROPPED_BOX
    extent = (np.array(hi) - np.array(lo)) * scale
    assert dims[0][0] == pytest.approx(extent[up_axis], abs=1e-6)
    face = (np.array(lo) + np.array(hi)) / 2
    face[up_axis] = hi[up_axis] if top else lo[up_axis]
    m = np.asarray(row[0]["transform"], dtype=np.float64).T
    assert loc[0] == pytest.approx((w2l @ m @ [*face, 1.0])[:3], abs=1e-6)


def test_kitti_label_file_of_an_upside_down_box_projects_onto_it(tmp_path):
    """The written label: object 3 upside down; its devkit box (P2 @ R0_rect @ corners, from
    the 4-decimal label) projects onto its true corners (was off by its height)."""
    frame = make_frame(0)
    box3d = frame.annotations["bounding_box_3d"]
    k = box3d["info"]["bboxIds"].index(3)
    m = object_to_world(3)
    m[:3, :3] = m[:3, :3] @ rotation(0, 180)
    box3d["data"]["transform"][k] = m.T
    create_writer("kitti", tmp_path).write(frame)
    base = tmp_path / "kitti" / "training"
    calib = parse_calib(base / "calib" / "000000.txt")
    p2, r0 = calib["P2"].reshape(3, 4), calib["R0_rect"].reshape(3, 3)
    fields = next(f for f in read_kitti_labels(base / "label_2" / "000000.txt") if f[0] == "box" and float(f[8]) > 0)
    corners = kitti_corners([float(v) for v in fields[8:11]], [float(v) for v in fields[11:14]], float(fields[14]))
    uvw = (corners @ r0.T) @ p2[:, :3].T + p2[:, 3]
    truth = frame.camera.project(true_corners(box3d["data"][k : k + 1], np.eye(4)))[0]
    assert same_corners(uvw[:, :2] / uvw[:, 2:], truth) < 0.05  # pixels; 4 decimals of metres


@pytest.mark.parametrize("tip,lean", [((0, 37), 37), ((1, 110), 20), ((0, 180), 0), ((1, -90), 0), (None, 0)])
@pytest.mark.parametrize("camera_pitch", [0, 40])
def test_kitti_tilt_is_the_lean_from_the_axis_nearest_up(tip, lean, camera_pitch):
    """Whatever the camera's pitch: 0 upright, upside down or on a side; else the angle."""
    from sdg_addon.writers.kitti import tilt_degrees, world_to_level

    w2c = camera(camera_to_world=tilted_camera_to_world(camera_pitch, 0, 30)).world_to_camera_opencv
    # The row is float32, as the annotator stores it: arccos near 1 amplifies its rounding.
    assert tilt_degrees(dropped_box_row(tip, 35), world_to_level(w2c))[0] == pytest.approx(lean, abs=0.05)


def leaning_frame(f: int, leans: dict[int, tuple[int, float]]) -> AnnotatedFrame:
    """make_frame(f) with objects (instance id -> (axis, degrees)) tipped before their yaw."""
    frame = make_frame(f)
    box3d = frame.annotations["bounding_box_3d"]
    for iid, (axis, deg) in leans.items():
        _label, _lo, _hi, yaw, loc, scale = OBJECTS[iid]
        m = np.eye(4)
        m[:3, :3] = rotation(2, yaw) @ rotation(axis, deg) @ np.diag(scale)
        m[:3, 3] = loc
        box3d["data"]["transform"][box3d["info"]["bboxIds"].index(iid)] = m.T
    return frame


def test_kitti_warns_once_per_label_of_objects_leaning_past_the_threshold(tmp_path):
    """10 degrees is the limit: 10.1 is named, 9.9 is not, nor an object upside down; each
    label is said once (Writer.warn), in words without the frame (the run says each text
    once, whichever process writes)."""
    from sdg_addon.writers.kitti import TILT_WARNED_DEGREES

    assert TILT_WARNED_DEGREES == 10
    w = create_writer("kitti", tmp_path)
    w.write(leaning_frame(0, {3: (0, 180), 4: (1, 9.9)}))  # upside down, and under the limit
    assert w.warnings == []
    w.write(leaning_frame(1, {2: (0, 10.1), 3: (1, 25), 4: (1, 9.9)}))
    w.write(leaning_frame(2, {2: (0, 40), 3: (0, 30)}))  # both again, other leans
    said = [text.split(" lean ")[0] for text in w.warnings]
    assert said == ["kitti: objects labelled class:mug", "kitti: objects labelled class:box"]
    assert all("more than 10° from upright in some frames" in text for text in w.warnings)


def test_kitti_occlusion_levels_and_splits(tmp_path):
    assert [occlusion_level(r) for r in (0.0, 0.09, 0.1, 0.49, 0.5, 1.0, float("nan"), -1.0, None)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        3,
    ]
    run_writer("kitti", tmp_path, range(5), val_every=2)
    sets = tmp_path / "kitti" / "ImageSets"
    assert (sets / "val.txt").read_text().split() == ["000000", "000002", "000004"]
    assert (sets / "train.txt").read_text().split() == ["000001", "000003"]
    # writers.md (Deterministic merges): a writer on its own takes the run's options; with
    # its defaults the ImageSets are another split's (every frame in train.txt).
    before = {p.name: p.read_bytes() for p in sets.iterdir()}
    create_writer("kitti", tmp_path, val_every=2).finalize()
    assert {p.name: p.read_bytes() for p in sets.iterdir()} == before
    create_writer("kitti", tmp_path).finalize()
    assert (sets / "train.txt").read_text().split() == [f"{f:06d}" for f in range(5)]
    text = (Path(__file__).parent.parent / "docs" / "writers.md").read_text(encoding="utf-8")
    assert 'create_writer("kitti", out, val_every=2)' in text


@pytest.mark.parametrize("pitch,roll,yaw", [(0, 0, 0), (30, 12, -20)])
def test_kitti_stereo_rig_writes_image_3_and_p3_of_the_right_camera(tmp_path, pitch, roll, yaw):
    """A stereo rig (right rigged to left, b metres along its x, same K) was two KITTI
    folders with P3 = P2 each, no image_3 and no baseline (a warning and a recipe in
    writers.md). The left folder now has image_3, the right camera's image, and P3 with
    P3[0, 3] = -fx * b (KITTI's): P3 projects a point of left's label frame onto its pixel
    in image_3, tilted cameras too, whichever camera is written first; a camera rigged at -x
    is the pair's left one; another lens is no pair, and said; a turned or thermal one is
    no pair either."""
    from sdg_addon.writers.kitti import KittiWriter, world_to_level

    b = 0.54
    left_c2w = tilted_camera_to_world(pitch, roll, yaw)
    right_c2w = left_c2w @ np.array([[1, 0, 0, b], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    left, right = make_frame(0, "left", camera_to_world=left_c2w), make_frame(0, "right", camera_to_world=right_c2w)
    right.annotations["rgb"][..., 2] = 99  # an image of its own
    right.camera.rig, right.camera.camera_to_rig = "left", np.linalg.inv(left_c2w) @ right_c2w
    world = np.array([[0.2, 1.5, 0.3, 1.0], [-0.4, 2.5, 0.9, 1.0], [0.0, 3.0, 0.0, 1.0]])
    level = world @ world_to_level(left.camera.world_to_camera_opencv).T
    truth = right.camera.project(world[:, :3])[0]
    written = []
    for name, order in (("a", [left, right]), ("b", [right, left])):
        w = KittiWriter(tmp_path / name)
        w.several_cameras = True
        w.begin_frame(order)
        for frame in order:
            w.write(frame)
        assert not w.warnings, w.warnings
        training = tmp_path / name / "kitti" / "left" / "training"
        calib = parse_calib(training / "calib" / "000000.txt")
        p2, p3 = calib["P2"].reshape(3, 4), calib["P3"].reshape(3, 4)
        assert np.allclose(p3[:, 3], [-left.camera.fx * b, 0, 0], atol=1e-9)
        assert np.allclose(p3[:, :3], p2[:, :3], atol=1e-9) and np.array_equal(p2[:, 3], [0, 0, 0])
        uvw = level @ p3.T
        assert np.allclose(uvw[:, :2] / uvw[:, 2:], truth, atol=1e-6)
        image_3 = (training / "image_3" / "000000.png").read_bytes()
        assert image_3 == (tmp_path / name / "kitti" / "right" / "training" / "image_2" / "000000.png").read_bytes()
        assert not (tmp_path / name / "kitti" / "right" / "training" / "image_3").exists()
        written.append({p.relative_to(tmp_path / name): p.read_bytes() for p in (tmp_path / name).rglob("*.*")})
    assert written[0] == written[1]
    # A scene in centimetres: b Blender units are b / 100 metres, the labels' unit.
    left.camera.meters_per_unit = right.camera.meters_per_unit = 0.01
    w = KittiWriter(tmp_path / "cm")
    w.several_cameras = True
    w.begin_frame([left, right])
    w.write(left)
    p3 = parse_calib(tmp_path / "cm" / "kitti" / "left" / "training" / "calib" / "000000.txt")["P3"].reshape(3, 4)
    assert np.isclose(p3[0, 3], -left.camera.fx * b / 100, rtol=1e-9)
    left.camera.meters_per_unit = right.camera.meters_per_unit = 1.0
    # Rigged at -x: "right" is the pair's left camera, its image_3 left's image.
    right.camera.camera_to_rig = np.eye(4)
    right.camera.camera_to_rig[0, 3] = -b
    w = KittiWriter(tmp_path / "neg")
    w.several_cameras = True
    w.begin_frame([left, right])
    w.write(left)
    w.write(right)
    assert (tmp_path / "neg" / "kitti" / "right" / "training" / "image_3" / "000000.png").is_file()
    assert not (tmp_path / "neg" / "kitti" / "left" / "training" / "image_3").exists()
    # Another focal length: no rectified pair, said once; a turned or thermal camera: no pair, nothing said.
    right.camera.camera_to_rig = np.linalg.inv(left_c2w) @ right_c2w
    right.camera.fx *= 1.1
    w2 = KittiWriter(tmp_path / "lens")
    w2.several_cameras = True
    w2.begin_frame([left, right])
    w2.write(left)
    w2.write(right)
    assert not (tmp_path / "lens" / "kitti" / "left" / "training" / "image_3").exists()
    assert len(w2.warnings) == 1 and "camera 'right' is rigged beside 'left'" in w2.warnings[0], w2.warnings
    assert "no rectified pair" in w2.warnings[0]
    right.camera.fx /= 1.1
    turned = np.eye(4)
    turned[:3, :3], turned[0, 3] = rotation(2, 10.0), b
    right.camera.camera_to_rig = turned
    w3 = KittiWriter(tmp_path / "c")
    w3.several_cameras = True
    w3.begin_frame([left, right])
    w3.write(right)
    right.camera.camera_to_rig, right.camera.sensor = np.linalg.inv(left_c2w) @ right_c2w, "thermal"
    w3.begin_frame([left, right])
    w3.write(left)
    w3.write(right)  # an RGB-thermal rig
    assert not w3.warnings
    assert not (tmp_path / "c" / "kitti" / "left" / "training" / "image_3").exists()


def test_kitti_several_cameras_and_orthographic(tmp_path):
    w = create_writer("kitti", tmp_path)
    w.several_cameras = True
    frame = make_frame(0, "top")
    frame.camera.projection = "orthographic"
    frame.annotations["camera_params"]["projection"] = "orthographic"
    w.write(frame)
    w.write(make_frame(0, "side"))
    w.finalize()
    p2 = parse_calib(tmp_path / "kitti" / "top" / "training" / "calib" / "000000.txt")["P2"].reshape(3, 4)
    assert np.allclose(p2, [[40, 0, 0, 20], [0, 40, 0, 15], [0, 0, 0, 1]])
    assert (tmp_path / "kitti" / "side" / "ImageSets" / "train.txt").read_text() == "000000\n"


def test_kitti_orthographic_calib_is_pixels_per_metre_in_a_centimetre_scene(tmp_path):
    """An orthographic camera's affine P maps metres (the labels' unit): 40 pixels per Blender
    unit of a scene in centimetres are 4000 pixels per metre."""
    frame = make_frame(0, "top")
    frame.camera.projection = "orthographic"
    frame.camera.meters_per_unit = 0.01
    frame.annotations["camera_params"]["projection"] = "orthographic"
    create_writer("kitti", tmp_path).write(frame)
    p2 = parse_calib(tmp_path / "kitti" / "training" / "calib" / "000000.txt")["P2"].reshape(3, 4)
    assert np.allclose(p2, [[4000, 0, 0, 20], [0, 4000, 0, 15], [0, 0, 0, 1]])


# ---------------------------------------------------------------------------- YOLO


def read_yaml_names(path: Path) -> tuple[dict, list[str]]:
    """Enough of YAML for the file the writer writes (flat keys + the names mapping)."""
    top, names = {}, []
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("  "):
            k, v = line.strip().split(":", 1)
            assert int(k) == len(names)
            names.append(json.loads(v.strip()))
        else:
            k, v = line.split(":", 1)
            top[k] = v.strip()
    return top, names


def test_yolo_boxes_agree_with_coco_and_dataset_yaml(tmp_path):
    run_writer("coco", tmp_path, range(3))
    run_writer("yolo", tmp_path, range(3))
    gt = load_coco(tmp_path / "coco" / "annotations" / "instances_train.json")
    for f in range(3):
        assert (tmp_path / "yolo" / "images" / "train" / f"{f:06d}.png").is_file()
        rows = [
            line.split() for line in (tmp_path / "yolo" / "labels" / "train" / f"{f:06d}.txt").read_text().splitlines()
        ]
        anns = sorted(gt.loadAnns(gt.getAnnIds(imgIds=[f])), key=lambda a: a["sdg_instance_id"])
        assert len(rows) == len(anns)
        for row, ann in zip(rows, anns):
            cls, cx, cy, w, h = int(row[0]), *(float(v) for v in row[1:])
            assert cls == ann["category_id"] - 1  # 0-based class = COCO id - 1
            box = [(cx - w / 2) * W, (cy - h / 2) * H, w * W, h * H]
            assert box == pytest.approx(ann["bbox"], abs=1e-3)
            assert all(0 <= v <= 1 for v in (cx, cy, w, h))
    top, names = read_yaml_names(tmp_path / "yolo" / "dataset.yaml")
    assert names == CLASSES and top["nc"] == str(len(CLASSES))
    # No 'path': Ultralytics' check_det_dataset then roots the dataset at the yaml's folder
    # (a relative 'path' such as "." would be taken against the working folder).
    assert "path" not in top
    assert top["train"] == "images/train" and top["val"] == "images/train"  # no val split: train
    # docs/writers.md's layout line names the keys written, no others.
    layout = next(
        line for line in WRITERS_PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("yolo/dataset.yaml")
    )
    assert layout.split(None, 1)[1].split(" (")[0].split(", ") == list(top)
    assert no_tmp_files(tmp_path)


def test_yolo_dataset_yaml_names_load_with_pyyaml(tmp_path):
    """Ultralytics reads dataset.yaml with PyYAML: every label value comes back as given,
    a character beyond the BMP (emoji) too (written as a JSON surrogate pair, "\\ud83d\\ude00",
    PyYAML refused the whole file), and words YAML would read as other types stay strings."""
    yaml = pytest.importorskip("yaml")
    names = ["red mug", "\U0001f600 ball", "\u7bb1\u5b50", "ball\u00e9", 'say "hi" \\ back', "yes", "null", "#1: a"]
    w = create_writer("yolo", tmp_path)
    w.set_run(LabelTable({"class": names}), False)
    (tmp_path / "yolo" / "images" / "train").mkdir(parents=True)  # finalize lists the splits present
    w.finalize()
    text = (tmp_path / "yolo" / "dataset.yaml").read_text(encoding="utf-8")
    assert text.isascii()
    data = yaml.safe_load(text)
    assert data["names"] == dict(enumerate(names)) and data["nc"] == len(names)


def test_yolo_segmentation_polygons_fill_back_under_opencv(tmp_path):
    """Ultralytics and supervision rasterize YOLO-seg polygons with cv2.fillPoly after
    scaling by the image size and casting to int (truncating) or rounding: both give back
    the instance mask exactly (objects in one part, with or without holes; the fixture has
    objects in two parts too, joined by one cut as Ultralytics joins segments)."""
    run_writer("yolo", tmp_path, range(2), segmentation=True, val_every=2)
    for f, split in ((0, "val"), (1, "train")):
        lines = (tmp_path / "yolo" / "labels" / split / f"{f:06d}.txt").read_text().splitlines()
        inst = instance_map(f)
        present = [i for i in sorted(OBJECTS) if (inst == i).any()]
        assert len(lines) == len(present)
        for line, iid in zip(lines, present):
            values = line.split()
            assert int(values[0]) == CLASSES.index(OBJECTS[iid][0])
            xy = np.array([float(v) for v in values[1:]]).reshape(-1, 2) * (W, H)
            truth = inst == iid
            parts = sum(signed_area(loop) > 0 for loop in trace_loops(truth))
            for points in (xy.astype(np.int32), np.round(xy).astype(np.int32)):
                filled = np.zeros((H, W), np.uint8)
                cv2.fillPoly(filled, [points], 1)
                filled = filled.astype(bool)
                if parts == 1:  # holes included: exact
                    assert np.array_equal(filled, truth), (f, iid)
                else:  # parts joined by a straight cut: every pixel, plus the cut's pixels
                    assert np.all(filled[truth]) and np.count_nonzero(filled & ~truth) <= 2 * max(W, H)
    top, _names = read_yaml_names(tmp_path / "yolo" / "dataset.yaml")
    assert top["train"] == "images/train" and top["val"] == "images/val"


def test_coco_polygons_in_each_readers_convention(tmp_path):
    """polygon_convention "pycocotools": pycocotools' rasterizer gives back the mask;
    "opencv": cv2.fillPoly does. Each is exact only under its own reader."""
    for convention in ("pycocotools", "opencv"):
        out = tmp_path / convention
        run_writer("coco", out, range(2), polygons=True, polygon_convention=convention)
        gt = load_coco(out / "coco" / "annotations" / "instances_train.json")
        for f in range(2):
            inst = instance_map(f)
            for ann in gt.loadAnns(gt.getAnnIds(imgIds=[f])):
                truth = inst == ann["sdg_instance_id"]
                if convention == "pycocotools":
                    assert np.array_equal(gt.annToMask(ann).astype(bool), truth)
                else:
                    filled = np.zeros((H, W), np.uint8)
                    for poly in ann["segmentation"]:
                        cv2.fillPoly(filled, [np.array(poly).reshape(-1, 2).astype(np.int32)], 1)
                    assert np.array_equal(filled.astype(bool), truth)  # one polygon per part


def thin_instance_map(f: int) -> np.ndarray:
    """Objects one pixel wide, whose pixel-centre outlines have under 3 distinct vertices:
    frame 0 a pixel, a 1x2 and a 3x1 run, a diagonal line (3 one-pixel parts); frame 1 a block
    with a one-pixel part, and a pixel in the image's last corner."""
    m = np.zeros((H, W), dtype=np.uint32)
    if f == 0:
        m[3, 4] = 2
        m[10, 10:12] = 3
        m[20:23, 30] = 4
        m[[25, 26, 27], [5, 6, 7]] = 5
    else:
        m[2:9, 3:12] = 2
        m[20, 25] = 2
        m[H - 1, W - 1] = 3
    return m


def write_thin(name: str, out: Path, **options):
    w = create_writer(name, out, **options)
    for f in range(2):
        w.write(make_frame(f, with_3d=False, inst=thin_instance_map(f)))
    w.finalize()


def test_coco_opencv_polygons_of_one_pixel_wide_objects_load_and_evaluate(tmp_path):
    """A 4-number polygon is a box to pycocotools' frPyObjects (annToMask and COCOeval segm
    then raise TypeError); detectron2 drops polygons under 6 numbers. Every part has 3
    vertices or more, fills back under cv2.fillPoly, decodes, and COCOeval segm runs."""
    write_thin("coco", tmp_path, polygons=True, polygon_convention="opencv")
    path = tmp_path / "coco" / "annotations" / "instances_train.json"
    gt = load_coco(path)
    anns = gt.dataset["annotations"]
    assert len(anns) == 6
    for ann in anns:
        assert all(len(p) >= 6 for p in ann["segmentation"]), ann["segmentation"]
        truth = thin_instance_map(ann["image_id"]) == ann["sdg_instance_id"]
        filled = np.zeros((H, W), np.uint8)
        for poly in ann["segmentation"]:
            cv2.fillPoly(filled, [np.array(poly).reshape(-1, 2).astype(np.int32)], 1)
        assert np.array_equal(filled.astype(bool), truth)
        assert gt.annToMask(ann).shape == (H, W)  # a polygon, not a box
    # Opencv-convention polygons shrink under pycocotools (thin ones to nothing): no AP to
    # expect, only that the evaluation of ground truth fed back as detections runs.
    assert math.isfinite(evaluate(gt, "segm"))


def test_yolo_segmentation_lines_of_one_pixel_wide_objects_are_segments(tmp_path):
    """Ultralytics reads a label file as segments only when a line has over 6 fields, and
    drops a 3-field line: a one-pixel-wide object must still give 3 vertices (7 fields),
    which fill back its pixels exactly when truncated or rounded."""
    write_thin("yolo", tmp_path, segmentation=True)
    for f in range(2):
        lines = (tmp_path / "yolo" / "labels" / "train" / f"{f:06d}.txt").read_text().splitlines()
        inst = thin_instance_map(f)
        present = [i for i in sorted(OBJECTS) if (inst == i).any()]
        assert len(lines) == len(present)
        for line, iid in zip(lines, present):
            values = line.split()
            assert len(values) >= 7, line
            xy = np.array([float(v) for v in values[1:]]).reshape(-1, 2) * (W, H)
            truth = inst == iid
            one_part = sum(signed_area(loop) > 0 for loop in trace_loops(truth)) == 1
            for points in (xy.astype(np.int32), np.round(xy).astype(np.int32)):
                filled = np.zeros((H, W), np.uint8)
                cv2.fillPoly(filled, [points], 1)
                filled = filled.astype(bool)
                assert np.array_equal(filled, truth) if one_part else np.all(filled[truth]), (f, iid)


def test_coco_extra_keys_are_not_reserved_by_fiftyone(tmp_path):
    """FiftyOne's COCO importer (extra_attrs=True by default) turns every extra annotation key
    into a Detection attribute and refuses the names of Detection's own attributes."""
    run_writer("coco", tmp_path, range(2))
    data = json.loads((tmp_path / "coco" / "annotations" / "instances_train.json").read_text())
    coco_keys = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd", "keypoints", "score"}
    extra = {k for a in data["annotations"] for k in a} - coco_keys
    assert extra and not extra & FIFTYONE_RESERVED, extra & FIFTYONE_RESERVED


# Public attributes of fiftyone.core.labels Detection, Polyline, Keypoint and Classification
# (fiftyone 1.x): FiftyOne refuses an extra COCO annotation key with one of these names.
FIFTYONE_RESERVED = set(
    "STRICT apply_confidence_threshold attributes bounding_box clean clear_field closed confidence copy "
    "delete_attribute export_mask fancy_repr field_names field_to_mongo field_to_python filled from_cuboid "
    "from_dict from_json from_mask from_rotated_box get_attribute_value get_field get_mask get_text_score "
    "has_attribute has_field has_mask id import_mask index instance_id iter_attributes iter_fields label logits "
    "mask mask_path merge my_metaclass points set_attribute_value set_field tags to_detection to_dict to_json "
    "to_mongo to_polyline to_segmentation to_shapely validate".split()
)


def test_yolo_image_is_written_last(tmp_path, monkeypatch):
    import sdg_addon.writers.png as png

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(png, "encode_png", killed)  # killed while writing the image
    w = create_writer("yolo", tmp_path)
    with pytest.raises(KeyboardInterrupt):
        w.write(make_frame(0))
    assert (tmp_path / "yolo" / "labels" / "train" / "000000.txt").is_file()
    assert not (tmp_path / "yolo" / "images" / "train" / "000000.png").exists()  # not in the dataset
    assert no_tmp_files(tmp_path)


def test_several_cameras_yolo_names(tmp_path):
    w = create_writer("yolo", tmp_path)
    w.several_cameras = True
    w.write(make_frame(4, "left cam"))
    # A name that had to change keeps a hash of the original: "left:cam" must not mix with it.
    assert safe_name("left cam").startswith("left_cam-")
    assert (tmp_path / "yolo" / "images" / "train" / f"{safe_name('left cam')}_000004.png").is_file()


def test_basic_writer_raw_ids_and_label_files_as_replicator(tmp_path):
    """colorize_* = false: Replicator's image writer turns its uint32 ids into a 16-bit grey
    PNG (PNG holds at most 16 bits); ours is that PNG, and the ids read back as uint32
    equal the annotation. Label and mapping json keys come in id order, not name order."""
    from PIL import Image

    from sdg_addon.writers.basic import BasicWriter

    frame = make_frame(0)
    inst = frame.annotations["instance_segmentation"]["data"]
    frame.annotations["instance_segmentation"]["info"] = {
        "idToLabels": {12: "/z", 3: "/b", 2: "/a"},
        "idToSemantics": {12: {"class": "z"}, 3: {"class": "b"}, 2: {"class": "a"}},
    }
    w = BasicWriter(tmp_path, colorize_instance_segmentation=False)
    w.write(frame)
    with Image.open(tmp_path / "instance_segmentation_0000.png") as im:
        assert im.mode.startswith("I")  # 16-bit grey
        ids = np.asarray(im).astype(np.uint32)
    assert np.array_equal(ids, inst)
    mapping = json.loads((tmp_path / "instance_segmentation_mapping_0000.json").read_text())
    assert list(mapping) == ["2", "3", "12"]
    labels = json.loads((tmp_path / "bounding_box_2d_tight_labels_0000.json").read_text())
    assert [int(k) for k in labels] == sorted(int(k) for k in labels)


def test_basic_writer_normals_png_marks_every_nonzero_normal_as_surface(tmp_path):
    """normals_N.png: ((n * 0.5 + 0.5) * 255) per channel, alpha 255 where any channel is not
    0 (a tiny or NaN component too) and 127 where all are 0 or -0.0 (background)."""
    from PIL import Image

    from sdg_addon.writers.basic import BasicWriter

    tiny = np.float32(1e-30)
    values = [(0, 0, 0), (-0.0, 0, -0.0), (tiny, 0, 0), (0, 0, -tiny), (0, 0, 1), (-1, 0, 0), (0.6, -0.8, 0)]
    data = np.zeros((2, 4, 3), np.float32)
    data.reshape(-1, 3)[: len(values)] = values
    data[1, 3] = (np.nan, 0, 0)
    frame = make_frame(0)
    frame.annotations = {"normals": data}
    BasicWriter(tmp_path).write(frame)
    with Image.open(tmp_path / "normals_0000.png") as im:
        png = np.asarray(im)
    alpha = png[..., 3].reshape(-1)
    assert alpha.tolist() == [127, 127, 255, 255, 255, 255, 255, 255]
    with np.errstate(invalid="ignore"):
        expected = ((data * np.float32(0.5) + np.float32(0.5)) * np.float32(255)).astype(np.uint8)
    finite = np.isfinite(data).all(axis=-1)
    assert np.array_equal(png[..., :3][finite], expected[finite])
    assert np.array_equal(np.load(tmp_path / "normals_0000.npy"), data, equal_nan=True)


def test_basic_writer_colorize_depth_is_replicators_grey_log_preview(tmp_path):
    """colorize_depth: Replicator's BasicWriter writes `colorize_distance(data, near=None,
    far=None)` (omni.replicator.core writers_default/tools.py): one grey uint8 channel, log
    scale between the nearest and farthest finite distance, bright near, 0 far and where
    nothing was hit (inf). Restated here from Replicator's formula, in float32 as its data."""
    from PIL import Image

    from sdg_addon.writers.basic import BasicWriter

    depth = np.linspace(0.5, 40.0, H * W, dtype=np.float32).reshape(H, W)
    depth[0, :3] = np.inf
    frame = make_frame(0)
    frame.annotations = {"distance_to_camera": depth, "distance_to_image_plane": np.full((H, W), np.inf, np.float32)}
    BasicWriter(tmp_path, colorize_depth=True).write(frame)
    near = np.float32(depth[np.isfinite(depth)].min())
    far = np.float32(depth[np.isfinite(depth)].max())
    scaled = (np.log(np.clip(depth, near, far) + np.float32(1e-5)) - np.log(near)) / (np.log(far) - np.log(near))
    expected = ((np.float32(1) - scaled) * np.float32(255)).astype(np.uint8)
    with Image.open(tmp_path / "distance_to_camera_0000.png") as im:
        assert im.mode == "L"
        png = np.asarray(im)
    assert png.shape == (H, W)
    assert np.array_equal(png, expected)
    assert png[0, 0] == 0 and png.max() == 254  # inf as the far end; the nearest 254 (the 1e-5)
    with Image.open(tmp_path / "distance_to_image_plane_0000.png") as im:  # nothing hit
        assert im.mode == "L" and not np.asarray(im).any()
    assert np.array_equal(np.load(tmp_path / "distance_to_camera_0000.npy"), depth)


def test_every_writer_folder_is_a_tool_folder_no_sensor_may_take(tmp_path):
    """A camera or LiDAR named like a writer's folder would mix its frames into it: the
    parameter file refuses the names in TOOL_FOLDERS, which must hold every built-in
    writer's folder."""
    from sdg_addon.writers.base import WRITERS
    from sdg_addon.writers.paths import is_tool_folder

    folders = {}
    for name in WRITERS:
        w = create_writer(name, tmp_path)
        root = getattr(w, "root", None)
        root = root() if callable(root) else root
        if root is not None and Path(root) != tmp_path:
            folders[name] = Path(root).relative_to(tmp_path).parts[0]
    assert {"coco", "yolo", "kitti", "bop"} <= set(folders)
    assert all(is_tool_folder(f) for f in folders.values()), folders
    assert is_tool_folder("audit")


def test_webdataset_shards_hold_n_frames_of_their_split_and_the_url_names_only_existing_shards(tmp_path):
    # val_every = 4 leaves frames 0, 4 to val and six frames to train: frames_per_shard = 2
    # gives one val shard of 2 and three train shards of 2 (shards grouped by frame number
    # had val shards 0 and 2, and a url naming a val-000001.tar that does not exist).
    wds = pytest.importorskip("webdataset")
    run_writer("webdataset", tmp_path, range(8), frames_per_shard=2, val_every=4)
    root = tmp_path / "webdataset"
    expected = {"train": [[1, 2], [3, 5], [6, 7]], "val": [[0, 4]]}
    for ds, groups in expected.items():
        index = json.loads((root / f"{ds}.json").read_text())
        assert index["shards"] == [f"{ds}-{k:06d}.tar" for k in range(len(groups))]
        assert index["frames"] == [len(g) for g in groups]
        assert index["url"] == f"{ds}-{{000000..{len(groups) - 1:06d}}}.tar"
        samples = list(wds.WebDataset(str(root / index["url"]), shardshuffle=False))
        assert [s["__key__"] for s in samples] == [f"{f:06d}" for g in groups for f in g]


def test_webdataset_jpeg_samples_decode_by_their_name(tmp_path):
    """image_format = "jpg": each sample's image is <key>.rgb.jpg, which webdataset's
    decode("rgb8") turns into the frame's pixels as Pillow decodes its JPEG."""
    from PIL import Image

    wds = pytest.importorskip("webdataset")
    run_writer("webdataset", tmp_path, range(2), image_format="jpg", jpeg_quality=90)
    samples = list(wds.WebDataset(str(tmp_path / "webdataset" / "train-000000.tar"), shardshuffle=False).decode("rgb8"))
    assert [sorted(k for k in s if k.startswith("rgb")) for s in samples] == [["rgb.jpg"], ["rgb.jpg"]]
    for f, sample in enumerate(samples):
        buffer = _io.BytesIO()
        Image.fromarray(make_frame(f).annotations["rgb"][..., :3]).save(buffer, format="JPEG", quality=90)
        assert np.array_equal(sample["rgb.jpg"], np.asarray(Image.open(buffer)))


def test_webdataset_json_is_strict_json_nan_as_null(tmp_path):
    """A keypoint behind the camera has x, y NaN: the sample's json wrote the token NaN,
    which JSON has not (strict parsers refuse it); NaN and infinities are now null."""
    import tarfile

    frame = make_frame(0)
    rows = np.array([(2, 3, 0, np.nan, np.nan, -0.5, 0), (2, 3, 1, 4.5, 3.5, 1.0, 2)], dtype=KEYPOINT_DTYPE)
    frame.annotations["keypoints"] = {"data": rows, "info": {"names": {2: ["far", "tip"]}, "range": [0.0, np.inf]}}
    w = create_writer("webdataset", tmp_path)
    w.write(frame)
    w.finalize()
    with tarfile.open(tmp_path / "webdataset" / "train-000000.tar") as tar:
        text = tar.extractfile("000000.json").read().decode()

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    meta = json.loads(text, parse_constant=refuse)
    assert [(r["x"], r["y"]) for r in meta["keypoints"]["data"]] == [(None, None), (4.5, 3.5)]
    assert meta["keypoints"]["info"]["range"] == [0.0, None]


def test_webdataset_image_arrays_of_an_info_are_npy_members(tmp_path):
    """A flow's H x W valid and status masks were lists of lists in the sample's json (over
    5 bytes a pixel); they are .npy members named as the BasicWriter's files, and webdataset
    decodes them exactly; so are a pointcloud's per-point arrays (tens of bytes a point in
    the json); what is left of the info stays in the json, but for object_pose's models (a
    mesh per label in every frame's json before)."""
    wds = pytest.importorskip("webdataset")
    frame = make_frame(0)
    status = (np.arange(H * W).reshape(H, W) % 3).astype(np.uint8)
    flow = {"data": np.ones((H, W, 2), np.float32), "info": {"valid": status == 0, "status": status}}
    frame.annotations["forward_flow"] = flow
    frame.annotations["thermal"] = {"data": np.full((H, W), 300.0, np.float32), "info": {"unit": "K"}}
    model = {"vertices": np.zeros((4, 3), np.float32), "faces": np.array([[0, 1, 2], [0, 2, 3]], np.int32)}
    pose_info = {"instanceIds": [2], "objectToWorld": np.eye(4)[None], "models": {"mug": model}}
    frame.annotations["object_pose"] = {"data": np.eye(4)[None], "info": pose_info}
    n = 5
    points = {
        "pointRgb": np.full((n, 4), 200, np.uint8),
        "pointNormals": np.tile(np.float32([0, 0, 1]), (n, 1)),
        "pointSemantic": np.full(n, 2, np.uint32),
        "pointInstance": np.arange(n, dtype=np.uint32),
        "pointPixels": np.stack([np.arange(n), np.zeros(n)], axis=1).astype(np.int32),
    }
    frame.annotations["pointcloud"] = {"data": np.ones((n, 3), np.float32), "info": points}
    w = create_writer("webdataset", tmp_path)
    w.write(frame)
    w.finalize()
    (sample,) = wds.WebDataset(str(tmp_path / "webdataset" / "train-000000.tar"), shardshuffle=False).decode()
    assert np.array_equal(sample["forward_flow_valid.npy"], status == 0)
    assert np.array_equal(sample["forward_flow_status.npy"], status)
    assert np.array_equal(sample["forward_flow.npy"], flow["data"])
    assert "forward_flow" not in sample["json"] and sample["json"]["thermal"] == {"unit": "K"}
    # object_pose's models (each label's mesh, the same in every frame) are left out, as
    # the BasicWriter leaves them out; the poses and the rest of the info stay.
    assert sample["json"]["object_pose"] == {"instanceIds": [2], "objectToWorld": [np.eye(4).tolist()]}
    assert np.array_equal(sample["object_pose.npy"], np.eye(4)[None])
    # A pointcloud's per-point arrays: .npy members named as the BasicWriter's files.
    for key, suffix in (("pointRgb", "rgb"), ("pointNormals", "normals"), ("pointSemantic", "semantic")):
        assert np.array_equal(sample[f"pointcloud_{suffix}.npy"], points[key])
    assert np.array_equal(sample["pointcloud_instance.npy"], points["pointInstance"])
    assert np.array_equal(sample["pointcloud_pixels.npy"], points["pointPixels"])
    assert "pointcloud" not in sample["json"]


def test_webdataset_refuses_to_rebuild_shards_from_removed_parts(tmp_path):
    """Shards are rebuilt from the parts alone: with parts/ removed after a run, a resumed
    run's finalize rewrote train-000000.tar and the index with its own frames only (the
    earlier frames silently gone); now it refuses, naming the index and the parts, and
    leaves the shards as they were."""
    import shutil

    run_writer("webdataset", tmp_path, range(4), frames_per_shard=2)
    root = tmp_path / "webdataset"
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    shutil.rmtree(root / "parts")
    with pytest.raises(
        ValueError, match=r"train\.json lists 4 frames but .*parts/train holds 1 parts: parts were removed"
    ):
        run_writer("webdataset", tmp_path, [4], frames_per_shard=2)
    assert {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()} == before


@pytest.mark.parametrize(
    "writer, part", [("coco", "coco/parts/train/notes.json"), ("webdataset", "webdataset/parts/train/mine.tar")]
)
def test_a_users_file_among_the_parts_is_not_taken_for_one(tmp_path, writer, part):
    """finalize joined every *.json (*.tar) of parts/D: a file of the user's there ended
    the run with a KeyError (ValueError) traceback after its frames were rendered; parts
    are the files named by their frame number, the user's file is left alone."""
    run_writer(writer, tmp_path / "plain", range(3))
    (tmp_path / "mixed" / part).parent.mkdir(parents=True)
    (tmp_path / "mixed" / part).write_text('{"my": "notes"}')
    run_writer(writer, tmp_path / "mixed", range(3))
    for p in (tmp_path / "plain" / writer).rglob("*"):
        if p.is_file() and "parts" not in p.parts:
            assert p.read_bytes() == (tmp_path / "mixed" / p.relative_to(tmp_path / "plain")).read_bytes(), p
    assert (tmp_path / "mixed" / part).read_text() == '{"my": "notes"}'


def test_finalize_says_how_far_its_joins_are(tmp_path, monkeypatch):
    """finalize() says through `progress` how far it is joining the parts (at most every
    PROGRESS_INTERVAL_S: 0 here, so every part; the default 2 s says nothing of a quick
    join), and the joined files are the same with or without it."""
    from sdg_addon.writers.base import Writer

    quiet = run_writer("coco", tmp_path / "quiet", [3, 1, 2])
    assert quiet.progress is None
    lines = []
    w = create_writer("coco", tmp_path / "told")
    w.progress = lines.append
    for f in [3, 1, 2]:
        w.write(make_frame(f))
    w.finalize()
    assert lines == [], "a join quicker than PROGRESS_INTERVAL_S says nothing"
    monkeypatch.setattr(Writer, "PROGRESS_INTERVAL_S", 0.0)
    w.finalize()
    assert lines == [f"coco: reading the parts of train {k}/3" for k in range(3)] + [
        f"coco: joining the annotations of train {k}/3" for k in range(3)
    ]
    joined = "coco/annotations/instances_train.json"
    assert (tmp_path / "told" / joined).read_bytes() == (tmp_path / "quiet" / joined).read_bytes()
    lines.clear()
    w = create_writer("webdataset", tmp_path / "wds", frames_per_shard=1)
    w.progress = lines.append
    for f in range(3):
        w.write(make_frame(f))
    w.finalize()
    assert lines == [f"webdataset: writing the shards of train {k}/3" for k in range(3)]


# ---------------------------------------------------------------------------- MOT


HIDDEN_BOX = (20, 25, 24, 28)  # object 5's full box in the frames where it is hidden (odd ones)
CUT_OFF = 6  # object 3's full box reaches this many pixels past the left border


def loose_boxes(frame: AnnotatedFrame) -> dict:
    """A bounding_box_2d_loose of make_frame's objects, as the annotator makes it: the tight
    rows (nothing else occluded), object 5 also where it is hidden (occlusionRatio 1.0, its
    box HIDDEN_BOX), object 3 running CUT_OFF pixels past the left border (truncation 0.4;
    info bboxesFull holds the unclipped boxes)."""
    tight = frame.annotations["bounding_box_2d_tight"]
    table = frame.label_table
    rows = {iid: tuple(r) for iid, r in zip(tight["info"]["bboxIds"], tight["data"].tolist())}
    if 5 not in rows:
        rows[5] = (table.semantic_id("class", "box"), *HIDDEN_BOX, 1.0)
    ids = sorted(rows)
    full = [list(rows[i][1:5]) for i in ids]
    truncation = [0.0] * len(ids)
    k = ids.index(3)
    full[k][0] -= CUT_OFF
    truncation[k] = 0.4
    return {
        "data": np.array([rows[i] for i in ids], dtype=BOX_DTYPE),
        "info": {
            "bboxIds": ids,
            "idToLabels": {table.semantic_id("class", OBJECTS[i][0]): {"class": OBJECTS[i][0]} for i in ids},
            "primPaths": [f"/objects/obj{i}" for i in ids],
            "truncationRatio": truncation,
            "bboxesFull": full,
        },
    }


def clip_frame(f: int, clip_length: int = 3, camera_name: str = "cam", fps: float | None = 12.0) -> AnnotatedFrame:
    """make_frame(f) as frame f % clip_length of clip f // clip_length (clip_length 1: a
    still), with loose_boxes."""
    frame = make_frame(f, camera_name, with_3d=False)
    frame.annotations["bounding_box_2d_loose"] = loose_boxes(frame)
    if clip_length > 1:
        frame.clip, frame.clip_frame = f // clip_length, f % clip_length
    frame.fps = fps
    return frame


def write_mot(out: Path, frames, clip_length: int = 3, cameras=("cam",), **options):
    w = create_writer("mot", out, **options)
    w.set_run(LabelTable({"class": list(CLASSES)}), len(cameras) > 1)
    for f in frames:
        for name in cameras:
            w.write(clip_frame(f, clip_length, name))
    w.finalize()
    return w


def read_mot_sequence(folder: Path) -> tuple[dict, dict[int, list[list[float]]]]:
    """A sequence as TrackEval's MotChallenge2DBox reads it: seqinfo.ini's [Sequence] with
    configparser, gt.txt with csv (rows keyed by frame); every frame key must be one of
    1 .. seqLength and ids unique within a frame (its checks)."""
    import configparser
    import csv

    ini = configparser.ConfigParser()
    ini.read(folder / "seqinfo.ini")
    info = dict(ini["Sequence"])
    rows: dict[int, list[list[float]]] = {}
    with open(folder / "gt" / "gt.txt", newline="") as fh:
        for row in csv.reader(fh):
            rows.setdefault(int(row[0]), []).append([float(v) for v in row])
    assert set(rows) <= set(range(1, int(info["seqlength"]) + 1))
    for frame_rows in rows.values():
        ids = [r[1] for r in frame_rows]
        assert len(ids) == len(set(ids))
    return info, rows


def test_mot_sequences_per_clip_with_coco_boxes_one_based_and_stable_ids(tmp_path):
    """One MOT sequence per clip: with boxes = "visible", gt.txt rows (frame 1-based within
    the clip) hold the COCO box of each object with left/top + 1 (MOT's 1-based pixels:
    py-motmetrics subtracts 1), its instance id as track id, conf 1, class = COCO category
    id, visibility = 1 - occlusionRatio (nothing truncated in the tight boxes here);
    seqinfo.ini, labels.txt, images and TrackEval's seqmap beside them."""
    write_mot(tmp_path, range(6), boxes="visible")
    run_writer("coco", tmp_path, range(6))
    gt = load_coco(tmp_path / "coco" / "annotations" / "instances_train.json")
    root = tmp_path / "mot"
    assert (root / "seqmaps" / "train.txt").read_text() == "name\nclip_0000\nclip_0001\n"
    for clip in range(2):
        seq = root / "train" / f"clip_{clip:04d}"
        info, rows = read_mot_sequence(seq)
        assert info == {
            "name": f"clip_{clip:04d}",
            "imdir": "img1",
            "framerate": "12",
            "seqlength": "3",
            "imwidth": str(W),
            "imheight": str(H),
            "imext": ".png",
        }
        assert (seq / "gt" / "labels.txt").read_text().splitlines() == CLASSES
        assert sorted(p.name for p in (seq / "img1").iterdir()) == ["000001.png", "000002.png", "000003.png"]
        for i in range(3):
            f = 3 * clip + i
            anns = sorted(gt.loadAnns(gt.getAnnIds(imgIds=[f])), key=lambda a: a["sdg_instance_id"])
            occlusion = {iid: 0.05 * iid for iid in OBJECTS}  # tight_boxes' occlusionRatio
            expected = [
                [i + 1, a["sdg_instance_id"], a["bbox"][0] + 1, a["bbox"][1] + 1, *a["bbox"][2:], 1, a["category_id"]]
                for a in anns
            ]
            assert [r[:8] for r in rows[i + 1]] == expected
            for r in rows[i + 1]:
                assert r[8] == pytest.approx(1 - occlusion[int(r[1])], abs=1e-6)
    assert no_tmp_files(tmp_path)


def test_mot_visibility_counts_the_image_border_as_well_as_occluders(tmp_path):
    """MOT's visibility is the share of the whole object that is seen: what other objects
    hide (occlusionRatio) and what lies outside the image (truncationRatio) both lower it:
    (1 - occlusion) (1 - truncation) (of the row's boxes: the tight ones here; the full
    ones in test_mot_full_boxes_are_whole_unclipped_and_kept_while_hidden)."""
    w = create_writer("mot", tmp_path, boxes="visible")
    w.set_run(LabelTable({"class": list(CLASSES)}), False)
    frame = clip_frame(0, 3, "cam")
    info = frame.annotations["bounding_box_2d_tight"]["info"]
    info["truncationRatio"] = [0.5 if i == info["bboxIds"][0] else 0.0 for i in info["bboxIds"]]
    w.write(frame)
    w.finalize()
    _info, rows = read_mot_sequence(tmp_path / "mot" / "train" / "clip_0000")
    got = {int(r[1]): r[8] for r in rows[1]}
    first = info["bboxIds"][0]
    assert got[first] == pytest.approx((1 - 0.05 * first) * 0.5, abs=1e-6)
    assert all(got[i] == pytest.approx(1 - 0.05 * i, abs=1e-6) for i in got if i != first)


def test_mot_stills_are_one_sequence_per_camera_numbered_by_run_frame(tmp_path):
    write_mot(tmp_path, range(4), clip_length=1, cameras=("left", "right"))
    root = tmp_path / "mot" / "train"
    assert sorted(p.name for p in root.iterdir()) == ["stills_left", "stills_right"]
    for name in ("stills_left", "stills_right"):
        info, rows = read_mot_sequence(root / name)
        assert info["name"] == name and info["seqlength"] == "4"
        assert sorted(rows) == [1, 2, 3, 4]
        assert sorted(p.name for p in (root / name / "img1").iterdir()) == [f"{n:06d}.png" for n in range(1, 5)]
    assert (tmp_path / "mot" / "seqmaps" / "train.txt").read_text() == "name\nstills_left\nstills_right\n"


def test_mot_val_every_takes_whole_clips_and_frame_rate_defaults(tmp_path):
    """val_every picks clips (clip % N == 0 goes to val), never cutting one; frames that do
    not say their fps (made by hand) get frameRate 24, sequence.fps's default."""
    w = create_writer("mot", tmp_path, val_every=2)
    for f in range(9):
        w.write(clip_frame(f, fps=None))
    w.finalize()
    root = tmp_path / "mot"
    assert sorted(p.name for p in (root / "val").iterdir()) == ["clip_0000", "clip_0002"]
    assert sorted(p.name for p in (root / "train").iterdir()) == ["clip_0001"]
    info, rows = read_mot_sequence(root / "train" / "clip_0001")
    assert sorted(rows) == [1, 2, 3] and info["framerate"] == "24"
    assert (root / "seqmaps" / "val.txt").read_text() == "name\nclip_0000\nclip_0002\n"


@pytest.mark.parametrize("fps, rate", [(29.97, "30"), (0.5, "1"), (12.5, "12"), (1e-6, "1"), (25, "25")])
def test_mot_frame_rate_is_a_whole_number(tmp_path, fps, rate):
    """MOT's seqinfo.ini frameRate is an integer, read with int() (DeepSORT's deep_sort_app:
    `1000 / int(info_dict["frameRate"])`): 'frameRate=29.97' stopped it with a ValueError.
    The nearest whole rate, at least 1 (0 would divide by zero there)."""
    w = create_writer("mot", tmp_path)
    for f in range(3):
        w.write(clip_frame(f, fps=fps))
    w.finalize()
    text = (tmp_path / "mot" / "train" / "clip_0000" / "seqinfo.ini").read_text()
    splits = [line.split("=") for line in text.splitlines()[1:]]
    info = dict(s for s in splits if len(s) == 2)  # deep_sort_app's own parsing
    assert info["frameRate"] == rate and 1000 / int(info["frameRate"]) > 0


@pytest.mark.parametrize("boxes", ["full", "visible"])
def test_mot_files_do_not_depend_on_order_shards_or_resume(tmp_path, boxes):
    def files(out: Path) -> dict[str, bytes]:
        root = out / "mot"
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    reference = files(write_mot(tmp_path / "one", range(6), boxes=boxes).output_dir)
    assert files(write_mot(tmp_path / "reordered", [5, 3, 1, 0, 4, 2], boxes=boxes).output_dir) == reference
    sharded = tmp_path / "sharded"
    write_mot(sharded, [3, 4, 5], boxes=boxes)  # two shards of whole clips, each finalizing at its end
    write_mot(sharded, [0, 1, 2], boxes=boxes)
    assert files(sharded) == reference
    resumed = tmp_path / "resumed"
    write_mot(resumed, [0, 1, 2, 3], boxes=boxes)  # stopped inside clip 1, which is then re-rendered whole
    write_mot(resumed, [3, 4, 5], boxes=boxes).finalize()
    assert files(resumed) == reference


def test_mot_full_boxes_are_whole_unclipped_and_kept_while_hidden(tmp_path):
    """boxes = "full" (MOT16/17's ground truth): each row is the object's whole box from
    bounding_box_2d_loose's bboxesFull, past the image border too (bb_left <= 0, the full
    width), in the same 1-based numbering as the visible boxes; a hidden object keeps its
    row, visibility 0; visibility stays (1 - occlusion) (1 - truncation)."""
    write_mot(tmp_path / "full", range(6), boxes="full")
    write_mot(tmp_path / "visible", range(6), boxes="visible")
    for clip in range(2):
        _info, full = read_mot_sequence(tmp_path / "full" / "mot" / "train" / f"clip_{clip:04d}")
        _info, visible = read_mot_sequence(tmp_path / "visible" / "mot" / "train" / f"clip_{clip:04d}")
        for i in range(3):
            f = 3 * clip + i
            loose = loose_boxes(make_frame(f, with_3d=False))
            rows = {int(r[1]): r for r in full[i + 1]}
            assert sorted(rows) == loose["info"]["bboxIds"]
            for iid, (x0, y0, x1, y1), t in zip(
                loose["info"]["bboxIds"], loose["info"]["bboxesFull"], loose["info"]["truncationRatio"]
            ):
                assert rows[iid][2:6] == [x0 + 1, y0 + 1, x1 - x0 + 1, y1 - y0 + 1], (f, iid)
                assert rows[iid][8] == pytest.approx((1 - (1.0 if iid == 5 and f % 2 else 0.05 * iid)) * (1 - t))
            seen = {int(r[1]): r for r in visible[i + 1]}
            assert rows[3][2] == seen[3][2] - CUT_OFF <= 0 and rows[3][4] == seen[3][4] + CUT_OFF
            if f % 2:  # object 5 hidden: a row with visibility 0 here, none with visible boxes
                assert 5 not in seen and rows[5][2:6] == [21, 26, 5, 4] and rows[5][8] == 0.0
            for iid in set(seen) - {3}:  # nothing else is cut off: the same box and visibility
                assert rows[iid][2:] == seen[iid][2:]


def test_mot_boxes_decide_the_annotators_a_run_adds(tmp_path):
    """The run adds the loose boxes only for boxes = "full", the tight ones only for
    "visible": a run that does not ask for full boxes computes nothing more."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import annotator_plan

    plans = {}
    for boxes in ("full", "visible"):
        p = tmp_path / f"{boxes}.toml"
        p.write_text(
            '[[cameras]]\nname = "cam"\nlocation = [0, -4, 0]\n'
            f'[annotators]\nrgb = {{}}\n[writers]\nmot = {{ boxes = "{boxes}" }}\n'
        )
        plans[boxes] = set(annotator_plan(load_config(p)))
    assert plans == {"full": {"rgb", "bounding_box_2d_loose"}, "visible": {"rgb", "bounding_box_2d_tight"}}


def test_annotators_a_writer_adds_take_its_semantic_type(tmp_path):
    """A writer's semantic_type reached none of the annotators it adds: with mot =
    { semantic_type = "kind" } and objects labelled by kind, the loose boxes it added kept
    "class", found no labelled object, and gt.txt was empty (exit 0, a warning). An
    annotator the writer adds takes the writer's semantic_type; one the file configures
    keeps its own options."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import annotator_plan

    p = tmp_path / "p.toml"
    p.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -4, 0]\n'
        '[annotators]\nrgb = {}\nbounding_box_2d_tight = { semantic_type = "kind", semantic_filter = ["a"] }\n'
        '[writers]\nmot = { semantic_type = "kind" }\ncoco = { semantic_type = "kind" }\n'
        'kitti = { semantic_type = "kind" }\n'  # (its boxes are the file's: their type)
    )
    plan = annotator_plan(load_config(p))
    assert plan["bounding_box_2d_loose"] == {"semantic_type": "kind"}  # mot's
    assert plan["instance_segmentation"] == {"semantic_type": "kind"}  # coco's
    assert plan["bounding_box_2d_tight"] == {"semantic_type": "kind", "semantic_filter": ["a"]}  # the file's
    assert plan["bounding_box_3d"] == {"semantic_type": "kind"}  # kitti's
    assert plan["camera_params"] == {} and plan["rgb"] == {}


def test_a_writers_semantic_type_reaches_the_default_annotators(tmp_path):
    """A file without [annotators] (the defaults: rgb, ..., bounding_box_2d_tight) and
    coco = { semantic_type = "kind" }: the default boxes were taken for the file's, at
    'class', and validate refused the writer's type, saying to leave bounding_box_2d_tight
    out of annotators the file does not have. The defaults a writer reads with its own
    semantic_type take it, as every annotator a writer adds; the others stay."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import annotator_plan

    p = tmp_path / "p.toml"
    p.write_text('[[cameras]]\nname = "cam"\nlocation = [0, -4, 0]\n[writers]\ncoco = { semantic_type = "kind" }\n')
    plan = annotator_plan(load_config(p))
    assert plan["bounding_box_2d_tight"] == {"semantic_type": "kind"}
    assert plan["instance_segmentation"] == {"semantic_type": "kind"}
    assert plan["semantic_segmentation"] == {} and plan["distance_to_image_plane"] == {}
    assert plan["camera_params"] == {} and plan["rgb"] == {}


def test_mot_refuses_to_join_full_and_visible_boxes(tmp_path):
    """A folder whose parts were written with the other boxes (the option changed between
    runs into one folder) would give a gt.txt of both kinds: finalize refuses it."""
    write_mot(tmp_path, range(3), boxes="visible")
    w = create_writer("mot", tmp_path, boxes="full")
    w.set_run(LabelTable({"class": list(CLASSES)}), False)
    w.write(clip_frame(3))
    w.write(clip_frame(0))
    with pytest.raises(ValueError, match="written with boxes = 'visible', but the run has boxes = 'full'"):
        w.finalize()


def test_mot_resume_refuses_other_boxes_before_rendering(tmp_path):
    """--resume and merge ask removed_parts() before any frame is rendered: parts of the
    other boxes (also those written before the option existed, whose boxes were the visible
    ones while the default is now "full") are refused there, not after the remaining
    frames were rendered, when finalize() found them."""
    write_mot(tmp_path, range(3), boxes="visible")
    finished = {f: {"frame": f, "clip": 0, "clip_frame": f} for f in range(3)}
    assert create_writer("mot", tmp_path, boxes="visible").removed_parts(finished, ["cam"], clips=True) is None
    problem = create_writer("mot", tmp_path).removed_parts(finished, ["cam"], clips=True)
    assert "000000.json was written with boxes = 'visible', but the run has boxes = 'full'" in problem
    assert "nothing was written" in problem and "before the writer had the option" not in problem
    part = tmp_path / "mot" / "parts" / "train" / "clip_0000" / "000000.json"
    old = json.loads(part.read_text())
    del old["boxes"]  # as a part of a run before the option
    part.write_text(json.dumps(old))
    problem = create_writer("mot", tmp_path).removed_parts(finished, ["cam"], clips=True)
    assert 'written before the writer had the option, whose default is now "full"' in problem
    assert create_writer("mot", tmp_path, boxes="visible").removed_parts(finished, ["cam"], clips=True) is None


def test_mot_refuses_to_rebuild_gt_from_removed_parts(tmp_path):
    """gt.txt is rebuilt from the parts alone: with a finished frame's part gone, continuing
    the folder would drop its rows, so removed_parts names the sequence and the frames."""
    w = write_mot(tmp_path, range(6))
    finished = {f: {"frame": f, "clip": f // 3, "clip_frame": f % 3} for f in range(6)}
    assert w.removed_parts(finished, ["cam"], clips=True) is None
    (tmp_path / "mot" / "parts" / "train" / "clip_0001" / "000004.json").unlink()
    problem = w.removed_parts(finished, ["cam"], clips=True)
    assert "lacks the parts of 1 of the 3 finished frame(s) of sequence train/clip_0001 (4)" in problem
    assert "mot/train/clip_0001/gt/gt.txt" in problem


def test_mot_changed_label_set_is_an_error(tmp_path):
    write_mot(tmp_path, range(3))
    w = create_writer("mot", tmp_path)
    w.set_run(LabelTable({"class": ["other", *CLASSES]}), False)
    with pytest.raises(ValueError, match="label set changed"):
        w.finalize()


def test_the_basic_writers_clip_layout_is_the_one_parameters_md_shows(tmp_path):
    """docs/parameters.md's sequence output: frame 7 of clip 3 of a camera among several is
    clip_0003/<camera>/rgb/rgb_0007.png (annotator folders, the default), or without them
    clip_0003/<camera>/rgb_0007.png (the page said the latter for the default)."""
    page = (WRITERS_PAGE.parent / "parameters.md").read_text(encoding="utf-8")
    for subfolders, shown in (
        (True, "clip_0003/<camera>/rgb/rgb_0007.png"),
        (False, "clip_0003/<camera>/rgb_0007.png"),
    ):
        out = tmp_path / str(subfolders)
        w = create_writer("basic", out, annotator_subfolders=subfolders)
        w.set_run(LabelTable({"class": list(CLASSES)}), True)
        frame = make_frame(3 * 10 + 7, "left")
        frame.clip, frame.clip_frame = 3, 7
        w.write(frame)
        assert (out / shown.replace("<camera>", "left")).is_file()
        setting = "" if subfolders else "`annotator_subfolders = false`: "
        assert f"{setting}`{shown}`" in page.replace("\n", " "), shown


def test_the_unit_scale_warning_names_the_writers_that_convert():
    """The run's unit-scale warning ends by saying which of its writers convert Blender units
    to their format's unit, or, when none does, which would."""
    from sdg_addon.writers.base import converted_units_note

    assert converted_units_note(["basic", "bop", "kitti"]) == (
        "; the files of bop (millimetres), kitti (metres) are converted to their format's unit, "
        "every other writer's lengths stay in Blender units"
    )
    assert converted_units_note(["basic", "coco"]) == (
        "; so are this run's files (the writers bop, hdf5, kitti, kitti_velodyne, pcd would convert to their "
        "format's unit)"
    )


def test_kitti_names_labels_written_as_one_type(tmp_path):
    """'box cut' and 'box_cut' were both written as the KITTI type box_cut without a word:
    KITTI's readers (FiftyOne, the devkit) took them for one class. The run now names them
    in a warning, once; labels that stay apart ('box' and 'box_cut') are not named."""
    from sdg_addon.writers.kitti import kitti_type, same_types

    assert kitti_type("box  cut\u00a0x") == "box_cut_x"
    assert same_types(["box cut", "mug", "box_cut", "box\tcut", "box"]) == [["box cut", "box_cut", "box\tcut"]]
    w = create_writer("kitti", tmp_path)
    frame = make_frame(0)
    w.write(frame)
    assert w.warnings == []  # mug, ball, box, unseen
    table = LabelTable({"class": [*CLASSES, "box cut", "box_cut"]})
    for f in range(2):
        frame = make_frame(f)
        w.write(AnnotatedFrame(f, frame.camera_name, frame.annotations, table, frame.camera))
    assert len(w.warnings) == 1 and "class:'box cut' and class:'box_cut'" in w.warnings[0], w.warnings
    assert "'box_cut'" in w.warnings[0] and "one class" in w.warnings[0]


def test_a_run_of_clips_split_frame_by_frame_is_warned(tmp_path):
    """In a [sequence] run with val_every, coco, yolo, kitti, bop and webdataset sent frames
    0 2 4 6 of clips of 4 to val and 1 3 5 7 to train, so every clip had near copies in both
    splits, without a word (mot splits by clip). The run now says which writers cut clips."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import clips_split_by_frame

    def note(sequence: str, writers: str):
        p = tmp_path / "p.toml"
        p.write_text('[[cameras]]\nname = "cam"\nlocation = [0, -4, 0]\n' + sequence + "[writers]\n" + writers)
        return clips_split_by_frame(load_config(p))

    clips = "[run]\nframes = 8\n[sequence]\nclip_length = 4\n"
    both = "coco = { val_every = 2 }\nyolo = {}\nmot = { val_every = 2 }\n"
    text = note(clips, both)
    assert text.startswith("coco (val_every = 2) split by run frame") and "clips of 4 frames" in text, text
    assert "yolo" not in text and "(mot splits by clip)" in text
    assert note("", both) is None  # stills: a frame is its own clip
    assert note(clips, "mot = { val_every = 2 }\ncoco = {}\n") is None
    flat = note(clips + 'folders = "flat"\n', both)
    assert flat.startswith("coco (val_every = 2), mot (val_every = 2) split by run frame"), flat
    # Every frame in val (val_every = 1, or split = "val"): no clip is cut, and none was said to be
    # (every_frame_in_val says the first).
    assert note(clips, 'coco = { val_every = 1 }\nbop = { split = "val_pbr", val_every = 2 }\n') is None
    assert note(clips, 'yolo = { split = "val", val_every = 3 }\nbop = { val_every = 2 }\n').startswith("bop (")


def test_val_every_1_sending_every_frame_to_val_is_warned(tmp_path):
    """val_every = 1 (frame % 1 == 0 for every frame) put the whole dataset in val
    (bop/val_pbr/, kitti's ImageSets/val.txt alone, yolo's train: images/val) without a word;
    the run now names each writer, its val split and the split left empty; so does a run of
    one frame (or mot's one clip), frame 0 being val's whatever val_every."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import every_frame_in_val

    def note(writers: str, before: str = ""):
        p = tmp_path / "p.toml"
        p.write_text(before + '[[cameras]]\nname = "cam"\nlocation = [0, -4, 0]\n[writers]\n' + writers)
        return every_frame_in_val(load_config(p))

    text = note('bop = { val_every = 1 }\ncoco = { val_every = 2 }\nmot = { val_every = 1, split = "s" }\n')
    assert text.startswith(
        "writers send every frame to the val split: bop (val_every = 1: all in val_pbr, none in train_pbr), "
        "mot (val_every = 1: all in val, none in s)"
    ), text
    assert "coco" not in text
    assert note("coco = { val_every = 2 }\nyolo = {}\n") is None
    assert note('coco = { val_every = 1, split = "val" }\n') is None  # a val-only dataset asked for
    # At the bound: a run of one frame (frame 0 is val's whatever N), or mot's one clip; one more is not.
    one = note("coco = { val_every = 5 }\n", "[run]\nframes = 1\n")
    assert one.startswith("writers send every frame to the val split: coco (val_every = 5, 1 frame: all in val, "), one
    assert note("coco = { val_every = 5 }\n", "[run]\nframes = 2\n") is None
    clip = "[run]\nframes = 4\n[sequence]\nclip_length = {}\n"
    text = note("mot = { val_every = 2 }\ncoco = { val_every = 2 }\n", clip.format(4))
    assert "mot (val_every = 2, 1 clip: all in val, none in train)" in text and "coco" not in text, text
    assert note("mot = { val_every = 2 }\n", clip.format(2)) is None


def test_mot_full_boxes_filtered_otherwise_than_the_tight_boxes_are_warned(tmp_path):
    """bounding_box_2d_tight = { semantic_filter = ["box"] } with mot = {}: COCO, YOLO and
    KITTI held boxes only, mot's gt.txt (full boxes: bounding_box_2d_loose, which the writer
    adds without the filter) balls and cones too (17 rows of class box, 5 cone, 1 ball),
    without a word; the run now says so."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import annotator_plan, mot_boxes_filtered_otherwise

    def note(annotators: str, writers: str):
        p = tmp_path / "p.toml"
        p.write_text(
            '[[cameras]]\nname = "cam"\nlocation = [0, -4, 0]\n[annotators]\nrgb = {}\n'
            + annotators
            + "[writers]\n"
            + writers
        )
        cfg = load_config(p)
        return mot_boxes_filtered_otherwise(annotator_plan(cfg), cfg)

    tight = 'bounding_box_2d_tight = { semantic_filter = ["box"] }\n'
    text = note(tight, "coco = {}\nmot = {}\n")
    assert text.startswith("mot: its full boxes come from bounding_box_2d_loose, with no semantic_filter"), text
    assert "(coco read it) has semantic_filter ['box']" in text
    assert note(tight + 'bounding_box_2d_loose = { semantic_filter = ["box"] }\n', "coco = {}\nmot = {}\n") is None
    assert note(tight, 'coco = {}\nmot = { boxes = "visible" }\n') is None
    assert note("", "coco = {}\nmot = {}\n") is None


def test_yolo_images_ultralytics_skips_as_too_small_are_warned(tmp_path):
    """At 9 x 12 pixels (render sizes go down to 4) every yolo image was skipped by
    Ultralytics' dataset check as corrupt ('image size (12, 9) <10 pixels'), the run saying
    nothing; the run now warns, naming the sizes, and not at 10 x 10."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import yolo_images_too_small

    def note(render: str, writers: str, camera: str = ""):
        p = tmp_path / "p.toml"
        p.write_text(render + '[[cameras]]\nname = "cam"\nlocation = [0, -4, 0]\n' + camera + "[writers]\n" + writers)
        return yolo_images_too_small(load_config(p))

    small = "[render]\nresolution = [9, 12]\n"
    text = note(small, "yolo = {}\n")
    assert text.startswith("yolo: images of 9 x 12 pixels: Ultralytics skips") and "<10 pixels" in text, text
    assert note(small, "coco = {}\n") is None
    assert note("[render]\nresolution = [10, 10]\n", "yolo = {}\n") is None
    assert note("", "yolo = {}\n", "width = 640\nheight = 8\n").startswith("yolo: images of 640 x 8 pixels")


def test_yolo_finalize_of_a_writer_on_its_own_rebuilds_dataset_yaml(tmp_path):
    """create_writer("yolo", out).finalize(), which writers.md says rebuilds a dataset's
    joined file at any time, wrote nothing and said nothing (its names came from set_run
    alone); it now takes the names the run recorded in audit/label_table.json, and says why
    it cannot where there are none."""
    run_writer("yolo", tmp_path, range(3), val_every=2)
    yaml_file = tmp_path / "yolo" / "dataset.yaml"
    written = yaml_file.read_text()
    yaml_file.unlink()
    with pytest.raises(ValueError, match="label_table.json"):
        create_writer("yolo", tmp_path).finalize()
    assert not yaml_file.exists()
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "label_table.json").write_text(json.dumps({"class": CLASSES, "kind": ["x"]}))
    with pytest.raises(ValueError, match="has no 'kind2' labels"):  # not an empty names list
        create_writer("yolo", tmp_path, val_every=2, semantic_type="kind2").finalize()
    create_writer("yolo", tmp_path, val_every=2).finalize()
    assert yaml_file.read_text() == written
    # A run without classes (background images only): names is an empty mapping, not null.
    (tmp_path / "audit" / "label_table.json").write_text(json.dumps({"class": []}))
    create_writer("yolo", tmp_path).finalize()
    data = pytest.importorskip("yaml").safe_load(yaml_file.read_text())
    assert data["nc"] == 0 and data["names"] == {}, data
    # A run without any label records an empty table ({}): the same file, not 'it has []'.
    (tmp_path / "audit" / "label_table.json").write_text("{}")
    yaml_file.unlink()
    create_writer("yolo", tmp_path).finalize()
    data = pytest.importorskip("yaml").safe_load(yaml_file.read_text())
    assert data["nc"] == 0 and data["names"] == {}, data
    # A run whose labels are of other types only (its yolo's semantic_type "class", the
    # default, in resolved.json): no class, as the run wrote, not 'give the run's semantic_type'.
    (tmp_path / "audit" / "label_table.json").write_text(json.dumps({"kind": ["x"]}))
    with pytest.raises(ValueError, match="has no 'class' labels"):  # nothing says what the run's was
        create_writer("yolo", tmp_path).finalize()
    (tmp_path / "audit" / "resolved.json").write_text(json.dumps({"writers": {"yolo": {}}}))
    yaml_file.unlink()
    create_writer("yolo", tmp_path).finalize()
    assert pytest.importorskip("yaml").safe_load(yaml_file.read_text())["names"] == {}
    with pytest.raises(ValueError, match="has no 'kind2' labels"):
        create_writer("yolo", tmp_path, semantic_type="kind2").finalize()


def test_coco_refuses_two_keypoint_lists_for_one_class_in_a_frame(tmp_path):
    """Two objects of one class with other keypoint names in one frame (a .blend's empties)
    gave the category one object's names, the other's annotation another count; the frame's
    write now stops naming the class and both lists (as parts of two frames were)."""
    frame = make_frame(0)
    rows = np.array(
        [(2, 2, 0, 4.5, 3.5, 1.0, 2), (2, 2, 1, 5.5, 3.5, 1.0, 2), (3, 2, 0, 6.5, 3.5, 1.0, 2)], dtype=KEYPOINT_DTYPE
    )
    info = {
        "names": {2: ["tip", "base"], 3: ["a"]},
        "skeletons": {2: [[0, 1]], 3: []},
        "primPaths": {2: "/a", 3: "/b"},
        "idToLabels": {2: {"class": "box"}},
    }
    frame.annotations["keypoints"] = {"data": rows, "info": info}
    from sdg_addon.writers.coco import coco_keypoints

    with pytest.raises(ValueError, match="objects of one class need the same keypoint names"):
        coco_keypoints(frame)
    info["names"][3], info["skeletons"][3] = ["tip", "base"], [[0, 1]]
    rows[2]["index"] = 0
    assert coco_keypoints(frame)[1] == {"box": {"keypoints": ["tip", "base"], "skeleton": [[1, 2]]}}


def test_coco_objects_without_keypoints_of_a_class_with_keypoints_have_them_unlabelled(tmp_path):
    """A box without keypoints beside boxes with them (another asset of class 'box', a later
    frame): its annotation had no num_keypoints, and COCOeval('keypoints') on the class
    stopped with KeyError 'num_keypoints'; it now has every keypoint 0, 0, 0 and
    num_keypoints 0 (as COCO's persons without any), and the evaluation runs (AP 1.0)."""
    w = create_writer("coco", tmp_path)
    for f in (0, 1):
        frame = make_frame(f)
        if f == 0:
            sid = frame.label_table.semantic_id("class", "box")
            rows = np.array([(3, sid, 0, 4.5, 3.5, 1.0, 2), (3, sid, 1, 9.5, 6.5, 1.0, 1)], dtype=KEYPOINT_DTYPE)
            info = {
                "names": {3: ["tip", "base"]},
                "skeletons": {3: [[0, 1]]},
                "primPaths": {3: "/box"},
                "idToLabels": {sid: {"class": "box"}},
            }
            frame.annotations["keypoints"] = {"data": rows, "info": info}
        w.write(frame)
    w.finalize()
    gt = load_coco(tmp_path / "coco" / "annotations" / "instances_train.json")
    box = next(c["id"] for c in gt.dataset["categories"] if c["name"] == "box")
    anns = [a for a in gt.dataset["annotations"] if a["category_id"] == box]
    assert {a["sdg_instance_id"] for a in anns} == {3, 5} and len({a["image_id"] for a in anns}) == 2
    for a in anns:
        with_points = a["sdg_instance_id"] == 3 and a["image_id"] == 0
        expected = [4.0, 3.0, 2, 9.0, 6.0, 1] if with_points else [0] * 6
        assert (a["keypoints"], a["num_keypoints"]) == (expected, 2 if with_points else 0)
    assert all("keypoints" not in a for a in gt.dataset["annotations"] if a["category_id"] != box)
    dets = [{**a, "score": 1.0} for a in anns]
    with contextlib.redirect_stdout(_io.StringIO()):
        ev = cocoeval_api.COCOeval(gt, gt.loadRes(dets), "keypoints")
        ev.params.catIds = [box]
        ev.params.kpt_oks_sigmas = np.full(2, 0.05)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


# ---------------------------------------------------------------------------- YOLO pose

# Keypoints of frame 0's objects (instance id -> rows (name, x, y, visibility)), in the
# keypoints annotator's coordinates (pixel edges: the top-left pixel's centre is 0.5, 0.5).
POSE_CLASSES = {"mug": ["handle"], "box": ["base", "top_left", "top_right"]}
POSE_POINTS = {
    2: [("handle", 20.3, 10.6, 2)],
    3: [("base", 4.5, 3.5, 2), ("top_left", 12.25, 3.75, 1), ("top_right", -2.0, 5.0, 0)],  # hidden; outside
    5: [("base", float("nan"), float("nan"), 0), ("top_left", 39.75, 29.5, 2), ("top_right", 21.2, 27.4, 2)],
}  # 4 (a ball) has none: its class has no keypoints


def pose_frame(f: int) -> AnnotatedFrame:
    """make_frame(f) with POSE_POINTS as the keypoints annotator gives them (objects in view)."""
    frame = make_frame(f)
    table, inst = frame.label_table, instance_map(f)
    rows, info = [], {"names": {}, "skeletons": {}, "primPaths": {}, "idToLabels": {}}
    for iid, points in POSE_POINTS.items():
        if not (inst == iid).any():
            continue
        sid = table.semantic_id("class", OBJECTS[iid][0])
        rows += [(iid, sid, k, x, y, 3.0, v) for k, (_n, x, y, v) in enumerate(points)]
        info["names"][iid] = [p[0] for p in points]
        info["skeletons"][iid] = []
        info["primPaths"][iid] = f"/objects/obj{iid}"
        info["idToLabels"][sid] = {"class": OBJECTS[iid][0]}
    frame.annotations["keypoints"] = {"data": np.array(rows, dtype=KEYPOINT_DTYPE), "info": info}
    return frame


def run_pose(out: Path, frames, **options):
    """The yolo writer with keypoints = true, the run's keypoint classes as a run records them."""
    (out / "audit").mkdir(parents=True, exist_ok=True)
    classes = {"semantic_type": "class", "classes": POSE_CLASSES}
    (out / "audit" / "keypoint_classes.json").write_text(json.dumps(classes))
    w = create_writer("yolo", out, keypoints=True, **options)
    for f in frames:
        w.write(pose_frame(f))
    w.finalize()
    return w


def test_yolo_pose_lines_are_the_box_then_each_keypoint_normalised(tmp_path):
    """keypoints = true: "class cx cy w h x1 y1 v1 ... xK yK vK", K = 3 (the most of any
    class), x / W and y / H of the annotator's coordinates; a hidden keypoint keeps its
    place with v 1, one outside the image (or behind the camera) and a slot the class
    lacks are 0 0 0; a class without keypoints (ball) is all padding. Hand-computed."""
    run_pose(tmp_path, [0])
    lines = (tmp_path / "yolo" / "labels" / "train" / "000000.txt").read_text().splitlines()
    boxes = {2: "0 0.550000 0.366667 0.200000 0.466667", 3: "2 0.200000 0.500000 0.350000 0.866667"}
    assert lines[0] == boxes[2] + " 0.507500 0.353333 2 0 0 0 0 0 0"  # mug: 20.3 / 40, 10.6 / 30; 2 slots padded
    assert lines[1] == boxes[3] + " 0.112500 0.116667 2 0.306250 0.125000 1 0 0 0"  # box: hidden, outside
    assert lines[2].split()[0] == "1" and lines[2].split()[5:] == ["0"] * 9  # ball: no keypoints
    assert lines[3].split()[5:] == "0 0 0 0.993750 0.983333 2 0.530000 0.913333 2".split()  # behind: 0 0 0
    assert all(len(line.split()) == 5 + 3 * 3 for line in lines)


def test_yolo_pose_object_cut_by_the_image_border(tmp_path):
    """A box cut by the left border (columns 0 .. 5): its keypoint on the image's left edge
    (x = 0, visible) is written 0.000000, those beyond the left and the bottom edge 0 0 0;
    every value stays in [0, 1], as Ultralytics' label check requires. Hand-computed."""
    inst = np.zeros((H, W), dtype=np.uint32)
    inst[5:15, 0:6] = 3
    frame = make_frame(0, inst=inst)
    sid = frame.label_table.semantic_id("class", "box")
    rows = [(3, sid, 0, 0.0, 7.25, 3.0, 2), (3, sid, 1, -1.5, 6.0, 3.0, 0), (3, sid, 2, 5.5, 31.0, 3.0, 0)]
    info = {"names": {3: POSE_CLASSES["box"]}, "skeletons": {3: []}, "primPaths": {3: "/box"}, "idToLabels": {}}
    frame.annotations["keypoints"] = {"data": np.array(rows, dtype=KEYPOINT_DTYPE), "info": info}
    w = create_writer("yolo", tmp_path, keypoints=True)
    w.keypoint_classes = dict(POSE_CLASSES)  # a writer used on its own: the run's classes given
    w.write(frame)
    (line,) = (tmp_path / "yolo" / "labels" / "train" / "000000.txt").read_text().splitlines()
    assert line == "2 0.075000 0.333333 0.150000 0.333333 0.000000 0.241667 2 0 0 0 0 0 0"
    xy = np.array(line.split()[5:], dtype=float).reshape(-1, 3)[:, :2]
    assert 0 <= xy.min() and xy.max() <= 1 and all(0 <= float(v) <= 1 for v in line.split()[1:5])


def test_yolo_pose_keypoints_are_cocos_half_a_pixel_on_and_the_box_lines_unchanged(tmp_path):
    """The same objects' keypoints in both writers: COCO's are pixel indices (annotator x -
    0.5), YOLO-pose's pixel edges as its boxes (Ultralytics flips them as w - x), so x * W
    of a YOLO keypoint is COCO's x + 0.5 (the same pixel: round(COCO x) = floor(YOLO x));
    v equal, 0 0 0 where COCO has 0, 0, 0. The box columns are the box writer's."""
    run_pose(tmp_path / "pose", range(3))
    run_writer("yolo", tmp_path / "box", range(3))
    w = create_writer("coco", tmp_path / "coco")
    for f in range(3):
        w.write(pose_frame(f))
    w.finalize()
    gt = load_coco(tmp_path / "coco" / "coco" / "annotations" / "instances_train.json")
    for f in range(3):
        name = f"labels/train/{f:06d}.txt"
        pose = (tmp_path / "pose" / "yolo" / name).read_text().splitlines()
        box = (tmp_path / "box" / "yolo" / name).read_text().splitlines()
        anns = sorted(gt.loadAnns(gt.getAnnIds(imgIds=[f])), key=lambda a: a["sdg_instance_id"])
        assert [line.split()[:5] for line in pose] == [line.split() for line in box]
        for line, ann in zip(pose, anns):
            ours = np.array(line.split()[5:], dtype=float).reshape(-1, 3)
            if "keypoints" not in ann:  # ball: no keypoints in COCO, padding in YOLO
                assert not ours.any()
                continue
            theirs = np.array(ann["keypoints"], dtype=float).reshape(-1, 3)
            assert len(theirs) <= 3 and not ours[len(theirs) :].any()
            for (x, y, v), (cx, cy, cv) in zip(ours, theirs):
                assert v == cv
                if v:
                    assert x * W == pytest.approx(cx + 0.5, abs=1e-4) and y * H == pytest.approx(cy + 0.5, abs=1e-4)
                    assert (math.floor(x * W + 1e-9), math.floor(y * H + 1e-9)) == (round(cx), round(cy))
                else:
                    assert (x, y, cx, cy) == (0, 0, 0, 0)


def test_yolo_pose_dataset_yaml_has_kpt_shape_flip_idx_and_kpt_names(tmp_path):
    """dataset.yaml as Ultralytics' coco8-pose.yaml: kpt_shape [K, 3], flip_idx (box's
    top_left <-> top_right, slots 1 and 2), kpt_names per class index; PyYAML reads it."""
    yaml = pytest.importorskip("yaml")
    run_pose(tmp_path, range(2))
    data = yaml.safe_load((tmp_path / "yolo" / "dataset.yaml").read_text(encoding="utf-8"))
    assert data["kpt_shape"] == [3, 3] and data["flip_idx"] == [0, 2, 1]
    assert data["kpt_names"] == {0: ["handle"], 2: ["base", "top_left", "top_right"]}
    assert data["names"] == dict(enumerate(CLASSES)) and data["train"] == "images/train"
    # Without keypoints = true: the box writer's yaml, no pose keys.
    run_writer("yolo", tmp_path / "box", range(1))
    assert not {"kpt_shape", "flip_idx", "kpt_names"} & set(
        yaml.safe_load((tmp_path / "box" / "yolo" / "dataset.yaml").read_text())
    )


@pytest.mark.parametrize(
    "name, mirror",
    [
        ("left_eye", "right_eye"),
        ("RIGHT_FOOT", "LEFT_FOOT"),
        ("eyeLeft", "eyeRight"),
        ("LeftHand", "RightHand"),
        ("mixamorig:LeftHand", "mixamorig:RightHand"),
        ("upper-left-corner", "upper-right-corner"),
        ("eye.L", "eye.R"),
        ("hand-r", "hand-l"),
        ("l_eye", "r_eye"),
        ("R ear", "L ear"),
        ("leftover", "leftover"),  # not a word: no side
        ("bright", "bright"),
        ("lower_lip", "lower_lip"),  # an l that is no part of its own
        ("nose", "nose"),
        ("L", "L"),
    ],
)
def test_keypoint_names_mirror_left_and_right(name, mirror):
    from sdg_addon.writers.yolo import mirrored_name

    assert mirrored_name(name) == mirror and mirrored_name(mirror) == name


def test_flip_idx_pairs_the_keypoints_that_names_mirror():
    """COCO's 17 person keypoints give Ultralytics' own coco8-pose flip_idx; names without
    a side, or whose mirror is not a keypoint, stay in place."""
    from sdg_addon.writers.yolo import flip_index

    coco = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow"]
    coco += ["right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee"]
    coco += ["left_ankle", "right_ankle"]
    assert flip_index(coco) == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert flip_index(["tip", "base"]) == [0, 1]
    assert flip_index(["wing.R", "tail", "wing.L", "left_only"]) == [2, 1, 0, 3]


def test_yolo_pose_classes_whose_slots_mirror_otherwise_get_no_flip_idx(tmp_path):
    """One flip_idx is the dataset's: where a class swaps slots 0 and 1 (top_left,
    top_right) and another keeps slot 0 (handle), none serves both, and a flip would give
    one of them the wrong keypoints: dataset.yaml has no flip_idx (Ultralytics then turns
    fliplr and flipud off itself) and the run warns, naming both classes."""
    yaml = pytest.importorskip("yaml")
    from sdg_addon.writers.yolo import pose_flip_warning, pose_layout

    classes = {"mug": ["handle"], "box": ["top_left", "top_right", "base"]}
    k, flip, why = pose_layout(classes)
    assert (k, flip) == (3, None)
    assert why == (
        "keypoint slot 0 is 'handle' of class 'mug', mirrored by slot 0 ('handle'), and 'top_left' of class 'box', "
        "mirrored by slot 1 ('top_right')"
    )
    note = pose_flip_warning(classes)
    assert note.startswith("yolo (keypoints = true): no flip_idx serves every class") and "fliplr" in note
    assert pose_flip_warning(POSE_CLASSES) is None
    out = tmp_path / "out"
    (out / "audit").mkdir(parents=True)
    (out / "audit" / "keypoint_classes.json").write_text(json.dumps({"semantic_type": "class", "classes": classes}))
    w = create_writer("yolo", out, keypoints=True)
    w.set_run(LabelTable({"class": list(CLASSES)}), False)
    (out / "yolo" / "images" / "train").mkdir(parents=True)  # finalize lists the splits present
    w.finalize()
    data = yaml.safe_load((out / "yolo" / "dataset.yaml").read_text(encoding="utf-8"))
    assert data["kpt_shape"] == [3, 3] and "flip_idx" not in data
    assert data["kpt_names"] == {0: ["handle"], 2: ["top_left", "top_right", "base"]}


def test_yolo_pose_options_and_what_it_reads(tmp_path):
    """keypoints = true adds the keypoints annotator to the run and writes it (no
    'written nowhere' warning); with segmentation = true too it is refused (a line is a box
    with keypoints or a polygon); without the run's keypoint classes the writer says where
    they come from."""
    from sdg_addon.config.problems import OptionError
    from sdg_addon.writers.yolo import YoloWriter

    assert "keypoints" in YoloWriter.required_for({"keypoints": True}) and "keypoints" in YoloWriter.written(
        {"keypoints": True}
    )
    assert (
        "keypoints" not in YoloWriter.written({}) and YoloWriter.would_write("keypoints") == "yolo (keypoints = true)"
    )
    with pytest.raises(OptionError, match="a YOLO line is a box with keypoints") as e:
        create_writer("yolo", tmp_path, keypoints=True, segmentation=True)
    assert (e.value.option, e.value.value) == ("keypoints", True)
    w = create_writer("yolo", tmp_path / "none", keypoints=True)
    with pytest.raises(ValueError, match="keypoint_classes.json"):
        w.write(pose_frame(0))
    assert not (tmp_path / "none" / "yolo").exists()


def _pose_text_before(data, width: int, height: int, d: int, k: int, iid: int) -> str:
    """An object's keypoints as the yolo writer formatted them before it formatted a frame's
    at once (row by row, the array filtered for each object): the reference bytes."""
    rows = data[data["instanceId"] == iid]
    rows = rows[np.argsort(rows["index"], kind="stable")]
    out = []
    for r in rows:
        v = int(r["visibility"])
        out.append(f"{float(r['x']) / width:.{d}f} {float(r['y']) / height:.{d}f} {v}" if v else "0 0 0")
    return " ".join(out + ["0 0 0"] * (k - len(out)))


@pytest.mark.parametrize("decimals", [6, 3, 9])
def test_yolo_pose_lines_of_many_objects_are_formatted_once_a_frame_byte_for_byte(decimals):
    """keypoints = true spent 0.4 ms an object a frame formatting its keypoints (the frame's
    keypoint array filtered for each object, each row read through numpy): a frame's are now
    formatted at once, the array read a fixed number of times whatever the objects, and the
    text is byte for byte as before on random values (0, 1.0, negatives, tiny floats, a
    NaN where hidden, rows out of order, an object without rows)."""
    import types

    names = [f"k{i}" for i in range(17)]
    rng = np.random.default_rng(7)
    special = [0.0, -0.0, 1.0, -1.5, 1e-12, -1e-12, 5e-7, 64.0, 48.0, 0.5, 2.5e-7, 123456.789]

    class Counted(np.ndarray):
        reads = 0

        def __getitem__(self, key):
            Counted.reads += 1
            return super().__getitem__(key)

    def frame_of(n):
        rows = []
        for iid in range(2, 2 + n):
            for i in range(len(names)):
                x, y = (rng.choice(special) if rng.random() < 0.3 else rng.uniform(-5, 70) for _ in range(2))
                v = int(rng.integers(0, 3))
                rows.append((iid, 3, i, np.nan if v == 0 and rng.random() < 0.2 else x, y, 3.0, v))
        data = np.array(rows, dtype=KEYPOINT_DTYPE)[rng.permutation(len(rows))].view(Counted)
        info = {"names": {i: names for i in range(2, 2 + n + 1)}}  # the last: named, no rows
        camera = types.SimpleNamespace(width=64, height=48)
        return types.SimpleNamespace(frame=0, camera=camera, annotations={"keypoints": {"data": data, "info": info}})

    w = create_writer("yolo", Path("unused"), keypoints=True, decimals=decimals)
    w.keypoint_classes = {"person": names}
    reads = []
    for n in (10, 200):
        frame = frame_of(n)
        objs = [types.SimpleNamespace(instance_id=i, label="person", path=f"/p{i}") for i in range(2, 2 + n + 1)]
        Counted.reads = 0
        text = w.pose_keypoints(frame)
        got = [text(o) for o in objs]
        reads.append(Counted.reads)
        data = frame.annotations["keypoints"]["data"].view(np.ndarray)
        assert got == [_pose_text_before(data, 64, 48, decimals, 17, o.instance_id) for o in objs]
    assert reads[0] == reads[1], f"the keypoint array read {reads} times for 10 and 200 objects"


# ---------------------------------------------------------------------------- JPEG images


def test_jpeg_images_of_coco_yolo_kitti_and_mot_decode_to_the_frame_and_are_named_so(tmp_path):
    """image_format = "jpg" (Replicator's image_output_format, BlenderProc's
    color_file_format = "JPEG"): each writer's images are JPEG files named .jpg, which its
    readers find (COCO file_name, YOLO's images/ -> labels/ rule, MOT's imExt), decode to the
    frame's RGB within JPEG's error, and are the same bytes run after run."""
    from PIL import Image

    frames = range(3)
    for name in ("coco", "yolo", "kitti"):
        run_writer(name, tmp_path / name, frames, image_format="jpg", jpeg_quality=95)
    write_mot(tmp_path / "mot", frames, image_format="jpg")
    coco = load_coco(tmp_path / "coco" / "coco" / "annotations" / "instances_train.json")
    images = {
        "coco": [tmp_path / "coco" / "coco" / "train" / im["file_name"] for im in coco.dataset["images"]],
        "yolo": sorted((tmp_path / "yolo" / "yolo" / "images" / "train").iterdir()),
        "kitti": sorted((tmp_path / "kitti" / "kitti" / "training" / "image_2").iterdir()),
        "mot": sorted((tmp_path / "mot" / "mot" / "train" / "clip_0000" / "img1").iterdir()),
    }
    for name, paths in images.items():
        assert [p.suffix for p in paths] == [".jpg"] * 3, (name, paths)
        for f, path in enumerate(paths):
            assert path.read_bytes()[:3] == b"\xff\xd8\xff", path  # a JPEG, whatever its name says
            if name == "mot":  # its frames are clip_frame's
                continue
            # The frame's RGB through Pillow's JPEG at quality 95: the same pixels, decoded.
            rgb = make_frame(f).annotations["rgb"][..., :3]
            buffer = _io.BytesIO()
            Image.fromarray(rgb).save(buffer, format="JPEG", quality=95)
            assert np.array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(buffer))), (name, f)
            assert cv2.imread(str(path)).shape == rgb.shape  # OpenCV (Ultralytics' reader) reads it
    yolo_labels = tmp_path / "yolo" / "yolo" / "labels" / "train"
    assert [p.stem for p in images["yolo"]] == [p.stem for p in sorted(yolo_labels.iterdir())]
    assert "imExt=.jpg\n" in (tmp_path / "mot" / "mot" / "train" / "clip_0000" / "seqinfo.ini").read_text()
    again = tmp_path / "again"
    run_writer("coco", again, frames, image_format="jpg", jpeg_quality=95)
    assert (again / "coco" / "train" / "000001.jpg").read_bytes() == images["coco"][1].read_bytes()
    # png stays the default: the same frame as a lossless .png.
    run_writer("coco", tmp_path / "png", frames)
    png = tmp_path / "png" / "coco" / "train" / "000001.png"
    assert np.array_equal(np.asarray(Image.open(png)), make_frame(1).annotations["rgb"][..., :3])


@pytest.mark.parametrize("quality, ok", [(1, True), (100, True), (0, False), (101, False)])
def test_jpeg_quality_is_bounded_at_1_and_100(tmp_path, quality, ok):
    from sdg_addon.config.fields import registry_options
    from sdg_addon.writers.coco import CocoWriter

    if ok:
        registry_options("writer 'coco'", CocoWriter.OPTIONS, {"image_format": "jpg", "jpeg_quality": quality})
    else:
        with pytest.raises(ValueError, match="jpeg_quality"):
            registry_options("writer 'coco'", CocoWriter.OPTIONS, {"image_format": "jpg", "jpeg_quality": quality})


def test_image_format_is_taken_in_any_case_and_jpeg_is_pointed_to_jpg():
    from sdg_addon.config.fields import registry_options
    from sdg_addon.writers.yolo import YoloWriter

    assert registry_options("writer 'yolo'", YoloWriter.OPTIONS, {"image_format": "JPG"})["image_format"] == "jpg"
    assert registry_options("writer 'yolo'", YoloWriter.OPTIONS, {"image_format": "PNG"})["image_format"] == "png"
    with pytest.raises(ValueError, match="jpg"):
        registry_options("writer 'yolo'", YoloWriter.OPTIONS, {"image_format": "jpeg"})


def test_jpeg_images_without_pillow_or_with_alpha_are_refused(tmp_path, monkeypatch):
    import sdg_addon.writers.common as common

    with pytest.raises(ValueError, match="JPEG has no alpha channel"):
        create_writer("coco", tmp_path, image_format="jpg", keep_alpha=True)
    monkeypatch.setattr(common, "has_pillow", lambda: False)
    for name in ("coco", "yolo", "kitti", "mot", "bop", "webdataset"):
        with pytest.raises(ValueError, match="encodes with Pillow"):
            create_writer(name, tmp_path, image_format="jpg")
        create_writer(name, tmp_path)  # PNG needs no Pillow
    assert not any(tmp_path.iterdir())


def test_one_encode_of_a_frames_image_serves_every_writer(tmp_path, monkeypatch):
    """coco, yolo and webdataset write the same JPEG (and PNG) bytes of a frame: encoded once
    (the webdataset writer encoded its own copy)."""
    import sdg_addon.writers.common as common
    import sdg_addon.writers.png as png

    calls = {"jpg": 0, "png": 0}
    jpeg, encode_png = common.encode_jpeg, png.encode_png

    def counted(kind, real):
        def call(*args, **kwargs):
            calls[kind] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(common, "encode_jpeg", counted("jpg", jpeg))
    monkeypatch.setattr(png, "encode_png", counted("png", encode_png))
    for fmt in ("jpg", "png"):
        frame = make_frame(0)
        for name in ("coco", "yolo", "webdataset"):
            create_writer(name, tmp_path / fmt, image_format=fmt).write(frame)
    assert calls == {"jpg": 1, "png": 1}


def test_a_coco_channel_the_run_does_not_compute_is_refused(tmp_path):
    """coco = { channels = ["normals"] } without the normals annotator passed validate and
    saved no normals, without a word; render (and validate, which builds the scene as it
    does) now refuse it at writers.coco.channels[i], saying how to add it. The default
    channel (distance_to_image_plane) is saved where the run has it, as before."""
    from sdg_addon.config import load_config
    from sdg_addon.recorder import annotator_plan
    from sdg_addon.writers.coco import channel_not_computed

    camera = '[[cameras]]\nname = "cam"\nlocation = [0, -3, 1]\nlook_at = [0, 0, 0]\n'

    def problem(text):
        path = tmp_path / "p.toml"
        path.write_text(camera + text, encoding="utf-8")
        cfg = load_config(path)
        return channel_not_computed(cfg.writers["coco"], annotator_plan(cfg))

    field, value, expected = problem('[annotators]\nrgb = {}\n[writers]\ncoco = { channels = ["rgb", "normals"] }\n')
    assert (field, value) == ("channels[1]", "normals")
    assert "normals is none of its annotators" in expected and "add normals = {} under [annotators]" in expected
    assert problem('[annotators]\nnormals = {}\n[writers]\ncoco = { channels = ["normals"] }\n') is None
    assert problem("[annotators]\nrgb = {}\n[writers]\ncoco = {}\n") is None  # the default, not computed: as before
    assert problem('[writers]\ncoco = { channels = ["distance_to_image_plane"] }\n') is None  # the default annotators


def test_a_yolo_writer_on_its_own_names_the_run_record_it_lacks(tmp_path):
    """finalize() and pose lines of a writer used on its own read the run's records in
    OUT/audit/; without them the error names the file, also in a folder whose name holds
    braces (the message is not a format string)."""
    out = tmp_path / "run {1}"
    w = create_writer("yolo", out)
    (w.root / "images" / "train").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"neither set_run\(\) gave them nor .*run \{1\}/audit/label_table.json"):
        w.finalize()
    pose = create_writer("yolo", out, keypoints=True)
    with pytest.raises(ValueError, match=r"neither keypoint_classes nor .*run \{1\}/audit/keypoint_classes.json"):
        pose.run_keypoint_classes()
