"""Visualizer: panels, boxes, colour keys and the `preview` command on a hand-made BasicWriter folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from headless.cli import main
from sdg_addon import visualize as viz
from sdg_addon.annotators.bbox3d import BBOX_3D_DTYPE
from sdg_addon.annotators.keypoints import KEYPOINT_DTYPE
from sdg_addon.writers import io
from sdg_addon.writers.palette import color_key, colorize, id_colors

W, H = 40, 30
BOX = (10, 5, 25, 20)  # inclusive x_min, y_min, x_max, y_max
INSTANCE_ID, SEMANTIC_ID = 5, 2
PRIM = "/World/mug"
BBOX_DTYPE = np.dtype(
    [
        ("semanticId", "<u4"),
        ("x_min", "<i4"),
        ("y_min", "<i4"),
        ("x_max", "<i4"),
        ("y_max", "<i4"),
        ("occlusionRatio", "<f4"),
    ]
)


def rgb3(ids) -> tuple[int, int, int]:
    return tuple(int(x) for x in id_colors(np.array(ids))[:3])


def write_frame(folder: Path, frame: int = 0, colorized: bool = True, extras: bool = True) -> None:
    """One BasicWriter frame by hand: grey RGB, one object filling BOX, its tight box, depth."""
    n = f"{frame:04d}"
    io.write_png(folder / f"rgb_{n}.png", np.full((H, W, 4), (90, 90, 90, 255), dtype=np.uint8))
    if not extras:
        return
    x0, y0, x1, y1 = BOX
    instance = np.ones((H, W), dtype=np.uint32)  # UNLABELLED ground
    instance[: H // 4] = 0  # BACKGROUND sky
    instance[y0 + 2 : y1 - 1, x0 + 2 : x1 - 1] = INSTANCE_ID  # inside the box, not on its outline
    semantic = np.where(instance == INSTANCE_ID, SEMANTIC_ID, instance).astype(np.uint32)
    for name, ids, labels in (
        ("instance_segmentation", instance, {INSTANCE_ID: PRIM}),
        ("semantic_segmentation", semantic, {SEMANTIC_ID: {"class": "mug"}}),
    ):
        if colorized:
            image, colors = colorize(ids)
            io.write_png(folder / f"{name}_{n}.png", image)
            keys = {i: color_key(c) for i, c in colors.items()}
        else:
            io.write_png(folder / f"{name}_{n}.png", ids.astype(np.uint16))
            keys = {i: str(i) for i in np.unique(ids)}
        file = f"{name}_mapping_{n}.json" if name.startswith("instance") else f"{name}_labels_{n}.json"
        io.write_json(folder / file, {keys[i]: v for i, v in labels.items()})
    boxes = np.array([(SEMANTIC_ID, *BOX, 0.25)], dtype=BBOX_DTYPE)
    io.write_npy(folder / f"bounding_box_2d_tight_{n}.npy", boxes)
    io.write_json(folder / f"bounding_box_2d_tight_labels_{n}.json", {str(SEMANTIC_ID): {"class": "mug"}})
    io.write_json(folder / f"bounding_box_2d_tight_prim_paths_{n}.json", [PRIM])
    depth = np.full((H, W), 3.0, dtype=np.float32)
    depth[: H // 4] = np.inf
    io.write_npy(folder / f"distance_to_image_plane_{n}.npy", depth)


@pytest.fixture
def dataset(tmp_path) -> Path:
    write_frame(tmp_path)
    return tmp_path


def px(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return tuple(image.convert("RGB").getpixel((x, y)))


def assert_outline(image, box, color, scale=1) -> None:
    """The outline's outer pixels are the box's inclusive extent: on it = color, just outside != color."""
    x0, y0, x1, y1 = box
    for y in range(y0, y1 + 1):
        assert px(image, x0, y) == color, (x0, y)
        assert px(image, x1, y) == color, (x1, y)
    for x in range(x0, x1 + 1):
        assert px(image, x, y0) == color, (x, y0)
        assert px(image, x, y1) == color, (x, y1)
    ym, xm = (y0 + y1) // 2, (x0 + x1) // 2
    for x, y in ((x0 - 1, ym), (x1 + 1, ym), (xm, y0 - 1), (xm, y1 + 1), (x0 + scale, ym), (x1 - scale, ym)):
        assert px(image, x, y) != color, (x, y)


# --- finding frames ---------------------------------------------------------------------------


def test_frames_and_cameras_root_and_subfolders(tmp_path):
    for frame in (0, 1, 5):
        write_frame(tmp_path / "left", frame, extras=False)
    write_frame(tmp_path / "right", 1, extras=False)
    (tmp_path / "audit").mkdir()
    assert list(viz.cameras(tmp_path)) == ["left", "right"]
    assert viz.frames(tmp_path) == [0, 1, 5]
    assert viz.frames(tmp_path, "right") == [1]
    assert [f.camera for f in viz.frame_files(tmp_path, 1)] == ["left", "right"]
    with pytest.raises(KeyError, match=r"frames 0-1, 5"):
        viz.frame_files(tmp_path, 7)
    with pytest.raises(FileNotFoundError):
        viz.cameras(tmp_path / "audit")


def test_a_cameras_rgb_folder_is_no_camera_and_a_camera_named_rgb_is_one(tmp_path):
    """A camera's folder (Replicator's <camera>/rgb/rgb_0000.png, the default with several
    cameras) was read as two cameras, "(root)" and its rgb annotator's folder "rgb", by
    preview and report (docs: "a clip's or camera's folder: its frames"); and a camera named
    "rgb" in the flat layout (annotator_subfolders = false) was also read as the folder's own
    "(root)" camera, which BasicWriterDataset gave every rgb camera's frame as (camera "",
    no boxes). An rgb folder holding rgb files alone is the annotator's; one holding the
    camera's other files too is a camera's."""
    replicator = tmp_path / "replicator"  # cameras "rgb" and "side", annotator folders
    for cam in ("rgb", "side"):
        write_frame(replicator / cam / "rgb", 0, extras=False)
    assert list(viz.cameras(replicator)) == ["rgb", "side"]
    for cam in ("rgb", "side"):
        assert list(viz.cameras(replicator / cam)) == [""]
        assert viz.frame_panel(replicator / cam, 0).size == (2 * W, H)
    flat = tmp_path / "flat"  # cameras "rgb" and "side", each camera's files in its folder
    for cam in ("rgb", "side"):
        write_frame(flat / cam, 0)
    assert list(viz.cameras(flat)) == ["rgb", "side"]
    assert viz.frame_panel(flat, 0).size == (2 * W, 2 * H)
    from sdg_addon.dataset import BasicWriterDataset

    read = BasicWriterDataset(flat)
    assert [(s[1], s[2]) for s in read.samples] == [("rgb", 0), ("side", 0)]
    assert [len(read[i]["boxes"]) for i in range(2)] == [1, 1]
    only_rgb = tmp_path / "only_rgb" / "clip_0000"  # the rgb annotator alone: each folder holds rgb files only
    for cam in ("rgb", "side"):
        write_frame(only_rgb / cam, 0, extras=False)
    assert list(viz.cameras(only_rgb.parent)) == ["clip_0000/rgb", "clip_0000/side"]
    assert [s[1] for s in BasicWriterDataset(only_rgb.parent).samples] == ["rgb", "side"]  # of clip 0


def test_the_dataset_readers_camera_in_clips_is_the_cameras_name_and_its_clip_apart(tmp_path):
    """In a sequence's clip folders BasicWriterDataset gave an item's camera as its folder
    below the dataset: 'clip_0001/left' (each camera of each clip another 'camera'), and a
    run of one camera the clip's folder as its camera ('clip_0001'), where a run without
    clips, the report ('cameras left, top (in 2 clips)') and Replicator's BasicWriter (a
    folder per render product) name the camera. The camera is now the camera's folder below
    the clip's ('left', '' for one camera) and the clip its own key (1), in clip, camera,
    frame order; an item outside clip folders has no clip (DataLoader's collate refuses
    None)."""
    from sdg_addon.dataset import BasicWriterDataset

    two = tmp_path / "two"
    for clip in (1, 0):
        for cam in ("top", "left"):
            for frame in (0, 1):
                write_frame(two / f"clip_{clip:04d}" / cam / "rgb", frame, extras=False)
    read = BasicWriterDataset(two)
    items = [read[i] for i in range(len(read))]
    assert [(i["clip"], i["camera"], i["frame"]) for i in items] == [
        (clip, cam, frame) for clip in (0, 1) for cam in ("left", "top") for frame in (0, 1)
    ]
    one = tmp_path / "one"
    for clip in (0, 1):
        write_frame(one / f"clip_{clip:04d}", 0)
    read = BasicWriterDataset(one)
    assert [(read[i]["clip"], read[i]["camera"], len(read[i]["boxes"])) for i in (0, 1)] == [(0, "", 1), (1, "", 1)]
    flat = tmp_path / "flat"
    write_frame(flat, 0)
    assert "clip" not in BasicWriterDataset(flat)[0]


def test_a_file_that_cannot_be_read_is_named_not_a_traceback(tmp_path, capsys):
    """A dataset copied in part (an image or .npy cut short): preview ended in a traceback
    ('OSError: image file is truncated', exit 1), or said 'error: cannot reshape array of
    size 18 into shape (30,40)' naming no file, as did report; both now name the file (exit
    2), and the report's contact sheet, when only it meets one, says so on the page."""
    for frame in (0, 1):
        write_frame(tmp_path, frame)
    rgb = tmp_path / "rgb_0001.png"
    rgb.write_bytes(rgb.read_bytes()[:-30])  # its last chunks gone
    assert main(["preview", str(tmp_path), "--frame", "1"]) == 2
    assert f"error: cannot read {rgb}: " in capsys.readouterr().err
    assert main(["preview", str(tmp_path), "--sheet"]) == 2
    assert f"error: cannot read {rgb}: " in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / "report" / "index.html").read_text()
    assert f"not drawn: cannot read {rgb}: " in page
    depth = tmp_path / "distance_to_image_plane_0000.npy"
    depth.write_bytes(depth.read_bytes()[:-100])
    for command in (["preview", str(tmp_path), "--frame", "0"], ["report", str(tmp_path)]):
        assert main(command) == 2, command
        assert f"error: cannot read {depth}: " in capsys.readouterr().err
    # a damaged .json too (it was taken for a missing one: the box drawn as 'id 2', the class left out)
    write_frame(tmp_path, 0)
    labels = tmp_path / "bounding_box_2d_tight_labels_0000.json"
    labels.write_text(labels.read_text()[:-3])
    for command in (["preview", str(tmp_path), "--frame", "0"], ["report", str(tmp_path)]):
        assert main(command) == 2, command
        assert f"error: cannot read {labels}: " in capsys.readouterr().err


def test_the_dataset_reader_names_a_file_that_cannot_be_read(tmp_path):
    """BasicWriterDataset's item of a frame whose image was cut short raised PIL's 'OSError:
    image file is truncated' (a damaged .json, .npy: json's or numpy's error) naming no file,
    in the middle of a training loop; it now names the file."""
    from sdg_addon.dataset import BasicWriterDataset

    for frame in (0, 1):
        write_frame(tmp_path, frame)
    rgb = tmp_path / "rgb_0001.png"
    rgb.write_bytes(rgb.read_bytes()[:-30])
    labels = tmp_path / "bounding_box_2d_tight_labels_0000.json"
    labels.write_text(labels.read_text()[:-3])
    read = BasicWriterDataset(tmp_path)
    for index, broken in ((0, labels), (1, rgb)):
        with pytest.raises(ValueError, match=f"^cannot read {re.escape(str(broken))}: "):
            read[index]


def test_the_dataset_readers_classes_without_audit_are_the_same_in_any_order(tmp_path):
    """A BasicWriter folder copied without audit/ (no label table): classes were numbered as
    items met them, so reading the items in another order (shuffle, DataLoader workers, each
    with its own copy) gave a class another index, and the parent's ds.classes stayed empty.
    They are now the classes the box labels name, in semantic-id order (the run's), read when
    the dataset is made."""
    from sdg_addon.dataset import BasicWriterDataset

    for frame in (0, 1):
        write_frame(tmp_path, frame)
    cup = 3  # frame 0 shows a cup, the run's second class; frame 1 the mug, its first
    io.write_npy(tmp_path / "bounding_box_2d_tight_0000.npy", np.array([(cup, *BOX, 0.0)], dtype=BBOX_DTYPE))
    io.write_json(tmp_path / "bounding_box_2d_tight_labels_0000.json", {str(cup): {"class": "cup"}})
    forward, backward = BasicWriterDataset(tmp_path), BasicWriterDataset(tmp_path)
    assert forward.classes == backward.classes == ["mug", "cup"]
    labels = [forward[i]["labels"].tolist() for i in (0, 1)]
    assert [backward[i]["labels"].tolist() for i in (1, 0)][::-1] == labels == [[1], [0]]
    assert forward.classes == ["mug", "cup"]
    (tmp_path / "audit").mkdir()
    io.write_json(tmp_path / "audit" / "label_table.json", {"class": ["cup", "mug"]})
    assert [BasicWriterDataset(tmp_path)[i]["labels"].tolist() for i in (0, 1)] == [[0], [1]]  # the table's


def test_preview_out_does_not_replace_the_reports_plots(dataset, capsys):
    """The report's plots were marked as previews ('Software: sdg preview'), so 'preview
    --out DIR/report/classes.png' replaced the report's chart with a frame panel, though a
    preview replaces only an earlier preview (reliability.md); they are now the report's
    own, refused as --out (exit 2, the chart kept), and the report still replaces them."""
    assert main(["report", str(dataset)]) == 0
    chart = dataset / "report" / "classes.png"
    before = chart.read_bytes()
    capsys.readouterr()
    assert main(["preview", str(dataset), "--out", str(chart)]) == 2
    assert "is not a preview of this tool" in capsys.readouterr().err
    assert chart.read_bytes() == before
    assert main(["report", str(dataset)]) == 0
    assert main(["preview", str(dataset), "--out", str(dataset / "preview" / "frame_0000.png")]) == 0
    assert main(["preview", str(dataset)]) == 0  # an earlier preview is replaced, as before


def test_sequences_of_several_cameras_show_each_clips_cameras(tmp_path, capsys):
    """A sequence run writes clip_NNNN/<camera>/...: each clip's camera is a camera of the
    output folder ("clip_0001/right"), as each clip is with one camera (docs/visualize.md);
    before, the output folder had "no rgb_*.png frames" for preview, sheet and report."""
    for clip in (0, 1):
        for cam in ("left", "right"):
            for frame in (0, 1):
                write_frame(tmp_path / f"clip_{clip:04d}" / cam / "rgb", frame, extras=False)
    assert list(viz.cameras(tmp_path)) == ["clip_0000/left", "clip_0000/right", "clip_0001/left", "clip_0001/right"]
    assert viz.frames(tmp_path, "clip_0001/right") == [0, 1]
    assert viz.frame_panel(tmp_path, 1).size == (2 * W, 4 * H)
    assert main(["preview", str(tmp_path), "--camera", "clip_0001/right"]) == 0
    out = Path(capsys.readouterr().out.strip())
    assert out.parent == tmp_path / "preview" and out.is_file()
    assert main(["preview", str(tmp_path), "--sheet"]) == 0


@pytest.mark.parametrize("cams", [["left", "right"], [None]])
def test_the_contact_sheet_of_a_sequence_spans_its_clips(tmp_path, cams):
    """A sequence's output folder: the default sheet (and the report page's) showed the first
    clip only (2 of 8 frames here; of a thousand clips, one), though it is to spread over
    the dataset; it now picks from every clip, of the first camera."""
    for clip in range(4):
        for cam in cams:
            for frame in (0, 1):
                where = tmp_path / f"clip_{clip:04d}" / (cam or "")
                write_frame(where / "rgb", frame, extras=False)
    first = "/left" if cams[0] else ""
    assert viz.sheet_frames(tmp_path, n=4) == [
        (f"clip_0000{first}", 0),
        (f"clip_0001{first}", 0),
        (f"clip_0002{first}", 1),
        (f"clip_0003{first}", 1),
    ]
    assert len(viz.sheet_frames(tmp_path, n=16)) == 8
    g = viz.GAP
    assert viz.contact_sheet(tmp_path, n=16, columns=4, thumb_width=20).size == (4 * 20 + 5 * g, 2 * 15 + 3 * g)
    # A camera named: that camera's frames only, as before.
    assert viz.sheet_frames(tmp_path, n=16, camera=f"clip_0002{first}") == [
        (f"clip_0002{first}", 0),
        (f"clip_0002{first}", 1),
    ]


def test_an_output_without_the_basic_writer_says_preview_and_report_need_it(tmp_path, capsys):
    """A run with only bop / webdataset writes no rgb_*.png: preview and report exit 2 saying
    they read the basic writer's files (it said only "no rgb_*.png frames")."""
    (tmp_path / "bop" / "train_pbr" / "000000" / "rgb").mkdir(parents=True)
    (tmp_path / "webdataset").mkdir()
    for argv in (["preview", str(tmp_path)], ["report", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "read the files of the basic writer" in err and "[writers.basic]" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bop", "webdataset"]
    # an empty folder (a wrong path, one made by hand) was told to render with [writers.basic]
    (tmp_path / "empty").mkdir()
    for argv in (["preview", str(tmp_path / "empty")], ["report", str(tmp_path / "empty")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{tmp_path / 'empty'} is empty: give the output folder of a run" in err and "[writers" not in err
    assert not any((tmp_path / "empty").iterdir())


def test_a_dataset_without_frames_says_why_from_its_run(tmp_path, capsys):
    """A dataset of a run with [writers.basic] that has no rgb_*.png was told to "render with
    [writers.basic]": wrong advice. Now its run's audit/resolved.json says why: no frame
    finished yet (continue with --resume), no rgb annotator, or (a sub-folder of a dataset
    with frames) the frames are in the dataset's folder."""
    audit = tmp_path / "audit"
    audit.mkdir()
    (audit / "dataset.json").write_text(json.dumps({"tool": "sdg", "format": 1}))
    resolved = {"annotators": {"rgb": {}}, "writers": {"basic": {}}}
    (audit / "resolved.json").write_text(json.dumps(resolved))
    for argv in (["preview", str(tmp_path)], ["report", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "finished no frame yet" in err and "--resume" in err and "[writers.basic]" not in err
    resolved["annotators"] = {"semantic_segmentation": {}}
    (audit / "resolved.json").write_text(json.dumps(resolved))
    assert main(["preview", str(tmp_path)]) == 2
    assert "no rgb annotator" in capsys.readouterr().err
    resolved["annotators"] = {"rgb": {}}
    (audit / "resolved.json").write_text(json.dumps(resolved))
    write_frame(tmp_path)
    (audit / "frames.jsonl").write_text(json.dumps({"frame": 0}) + "\n")
    (tmp_path / "coco").mkdir()
    assert main(["preview", str(tmp_path / "coco")]) == 2
    assert f"give the dataset's folder, {tmp_path.resolve()}" in capsys.readouterr().err


def test_the_flow_tile_of_a_clips_last_frame_says_it_has_no_next_frame(tmp_path):
    """A clip's last frame has no forward flow (status 4 everywhere): its tile was black with
    "up to 0.0 px", as if nothing moved. Now the caption says why it is empty."""
    write_frame(tmp_path, 0)
    write_frame(tmp_path, 1)
    for f, status in ((0, 0), (1, 4)):
        flow = np.zeros((H, W, 2), np.float32)
        flow[..., 0] = 2.0 if status == 0 else 0.0
        io.write_npy(tmp_path / f"forward_flow_{f:04d}.npy", flow)
        io.write_npy(tmp_path / f"forward_flow_valid_{f:04d}.npy", np.full((H, W), status == 0))
        io.write_npy(tmp_path / f"forward_flow_status_{f:04d}.npy", np.full((H, W), status, np.uint8))
    captions = [[c for _im, c in viz._tiles(viz.frame_files(tmp_path, f)[0]) if "flow" in c] for f in (0, 1)]
    assert captions == [["forward flow: up to 2.0 px, hue = direction"], ["forward flow: none, the clip's last frame"]]


def test_the_flow_tile_of_a_clips_last_frame_with_sky_says_it_has_no_next_frame(tmp_path):
    """On a clip's last frame the surfaces' pixels have status 4 (no next frame) and the
    background's status 1 (no surface): the tile asked for 4 everywhere, so any frame with
    sky in view said "up to 0.0 px" as if nothing moved. One pixel of status 4 says it."""
    write_frame(tmp_path, 0)
    status = np.full((H, W), 4, np.uint8)
    status[: H // 4] = 1  # sky
    io.write_npy(tmp_path / "forward_flow_0000.npy", np.zeros((H, W, 2), np.float32))
    io.write_npy(tmp_path / "forward_flow_valid_0000.npy", np.zeros((H, W), bool))
    io.write_npy(tmp_path / "forward_flow_status_0000.npy", status)
    captions = [c for _im, c in viz._tiles(viz.frame_files(tmp_path, 0)[0]) if "flow" in c]
    assert captions == ["forward flow: none, the clip's last frame"]


def test_the_flow_tile_of_a_still_scene_is_black_not_its_float_noise_at_full_brightness(tmp_path):
    """A clip where nothing moves has forward flow of float noise (3e-6 px): the tile scaled
    it to the longest valid flow and showed the whole ground bright green under the caption
    "up to 0.0 px". Now full brightness is at least 1 px: the noise is black, a real 2 px
    flow still bright, a 0.5 px one half as bright."""
    write_frame(tmp_path, 0)
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 1] = -3e-6  # "up" by millionths of a pixel
    io.write_npy(tmp_path / "forward_flow_0000.npy", flow)
    io.write_npy(tmp_path / "forward_flow_valid_0000.npy", np.ones((H, W), bool))
    [(image, caption)] = [t for t in viz._tiles(viz.frame_files(tmp_path, 0)[0]) if "flow" in t[1]]
    assert caption == "forward flow: up to 0.0 px, hue = direction"
    assert np.asarray(image).max() == 0
    flow[..., 1] = 0.0
    flow[:, : W // 2, 0] = 2.0
    flow[:, W // 2 :, 0] = 1.0
    assert viz.colorize_flow(flow).max(axis=(0, 1)).tolist() == [255, 0, 0]  # red: right, full
    assert viz.colorize_flow(flow * 0.25)[0, 0].tolist() == [128, 0, 0]  # 0.5 px of at least 1


def test_a_small_frame_with_no_object_in_view_says_so_in_its_info_tile(tmp_path):
    """The info tile's "NO LABELLED OBJECTS IN VIEW" came after four lines (frame,
    resolution, box count, overlay): a 96 x 64 frame's tile (48 x 32) has room for two, so
    an empty frame looked like any other. It now comes second, in red, in the tile."""
    w, h = 96, 64
    io.write_png(tmp_path / "rgb_0000.png", np.full((h, w, 4), (90, 90, 90, 255), dtype=np.uint8))
    ids = np.ones((h, w), dtype=np.uint32)  # only UNLABELLED ground
    for name in ("instance_segmentation", "semantic_segmentation"):
        image, _colors = colorize(ids)
        io.write_png(tmp_path / f"{name}_0000.png", image)
    io.write_json(tmp_path / "instance_segmentation_mapping_0000.json", {})
    io.write_json(tmp_path / "semantic_segmentation_labels_0000.json", {})
    io.write_npy(tmp_path / "bounding_box_2d_tight_0000.npy", np.zeros(0, dtype=BBOX_DTYPE))
    io.write_json(tmp_path / "bounding_box_2d_tight_labels_0000.json", {})
    io.write_json(tmp_path / "camera_params_0000.json", {"renderProductResolution": [w, h]})
    panel = np.asarray(viz.frame_panel(tmp_path, 0).convert("RGB")).astype(int)
    tiles = panel[:, w:]  # semantic map (grey: only ground) and info tile
    red = (tiles[..., 0] > 200) & (tiles[..., 1] < 120) & (tiles[..., 2] < 120)
    assert red.any()


def test_the_info_tiles_legend_says_how_many_classes_did_not_fit(tmp_path, monkeypatch):
    """40 classes in view: the legend ran on past the tile's bottom edge and the classes
    there were lost without a word. Now those that fit are listed, then "+ N more classes"."""
    from PIL import ImageDraw

    io.write_png(tmp_path / "rgb_0000.png", np.full((240, 320, 4), 90, dtype=np.uint8))  # tile 160 x 120
    rows = np.array([(10 + k, 1 + 5 * k, 1, 3 + 5 * k, 3, 0.0) for k in range(40)], dtype=BBOX_DTYPE)
    io.write_npy(tmp_path / "bounding_box_2d_tight_0000.npy", rows)
    labels = {str(10 + k): {"class": f"class_{k:02d}"} for k in range(40)}
    io.write_json(tmp_path / "bounding_box_2d_tight_labels_0000.json", labels)
    io.write_json(tmp_path / "bounding_box_2d_tight_prim_paths_0000.json", [f"/p{k}" for k in range(40)])
    said = []
    original = ImageDraw.ImageDraw.text
    monkeypatch.setattr(
        ImageDraw.ImageDraw,
        "text",
        lambda self, xy, text, *a, **k: said.append((xy, text)) or original(self, xy, text, *a, **k),
    )
    viz.frame_panel(tmp_path, 0)
    listed = [(xy, t) for xy, t in said if t.endswith("  x1")]  # the legend's (box tags have no count)
    more = [(xy, t) for xy, t in said if t.endswith("more classes")]
    assert 0 < len(listed) < 40 and [t for _xy, t in more] == [f"+ {40 - len(listed)} more classes"]
    assert all(xy[1] + 10 <= 120 for xy, _t in listed + more)  # inside the tile


# --- panel ------------------------------------------------------------------------------------


def test_panel_size_is_twice_the_width(dataset):
    assert viz.frame_panel(dataset, 0).size == (2 * W, H)


def test_panel_with_rgb_only_has_the_same_size(tmp_path):
    write_frame(tmp_path, extras=False)
    assert viz.frame_panel(tmp_path).size == (2 * W, H)


def test_panel_of_several_cameras_stacks_rows(tmp_path):
    write_frame(tmp_path / "cam_a")
    write_frame(tmp_path / "cam_b")
    assert viz.frame_panel(tmp_path, 0).size == (2 * W, 2 * H)
    assert viz.frame_panel(tmp_path, 0, camera="cam_b").size == (2 * W, H)


def test_box_outline_on_exact_pixels_in_instance_colour(dataset):
    ff = viz.frame_files(dataset, 0)[0]
    assert_outline(viz.overlay(ff, labels=False), BOX, rgb3(INSTANCE_ID))


def test_box_outline_in_semantic_colour_with_semantic_mask(dataset):
    ff = viz.frame_files(dataset, 0)[0]
    assert_outline(viz.overlay(ff, mask="semantic", labels=False), BOX, rgb3(SEMANTIC_ID))
    assert_outline(viz.overlay(ff, mask="none", labels=False), BOX, rgb3(SEMANTIC_ID))


def test_box_colour_from_id_pngs_too(tmp_path):
    write_frame(tmp_path, colorized=False)
    ff = viz.frame_files(tmp_path, 0)[0]
    assert_outline(viz.overlay(ff, labels=False), BOX, rgb3(INSTANCE_ID))


def test_box_outline_scales_with_the_image(dataset):
    ff = viz.frame_files(dataset, 0)[0]
    image = viz.overlay(ff, size=(2 * W, 2 * H), labels=False, line_width=1)
    x0, y0, x1, y1 = BOX
    assert_outline(image, (2 * x0, 2 * y0, 2 * x1 + 1, 2 * y1 + 1), rgb3(INSTANCE_ID))


def test_panel_left_half_is_the_overlay_with_a_label(dataset):
    ff = viz.frame_files(dataset, 0)[0]
    plain = np.asarray(viz.overlay(ff, labels=False))
    labelled = np.asarray(viz.overlay(ff))
    panel = np.asarray(viz.frame_panel(dataset, 0))
    assert np.array_equal(panel[:, :W], labelled)
    changed = np.argwhere((plain != labelled).any(axis=-1))
    assert len(changed) > 10  # the tag "mug (25% hidden)" is drawn ...
    assert changed[:, 0].min() == BOX[1]  # ... from the box top down (no room above or below in 30 px)
    tag_w, tag_h = viz._tag_size("mug (25% hidden)", viz._font(viz._font_size(W, H)))
    assert changed[:, 0].max() < BOX[1] + tag_h


def test_mask_blended_where_labelled_only(dataset):
    ff = viz.frame_files(dataset, 0)[0]
    image = np.asarray(viz.overlay(ff, boxes=False)).astype(int)
    assert tuple(image[H - 1, 0]) == (90, 90, 90)  # UNLABELLED ground: untouched
    assert tuple(image[0, 0]) == (90, 90, 90)  # BACKGROUND: untouched
    inside = image[(BOX[1] + BOX[3]) // 2, (BOX[0] + BOX[2]) // 2]
    expected = np.rint(90 * (1 - viz.MASK_ALPHA) + np.array(rgb3(INSTANCE_ID)) * viz.MASK_ALPHA)
    assert np.array_equal(inside, expected)


# --- colour keys ------------------------------------------------------------------------------


def test_colorize_depth_near_far_background():
    depth = np.array([[1.0] * 10 + [5.0] * 10 + [np.inf, np.nan, 0.0, -1.0]], dtype=np.float32)
    out = viz.colorize_depth(depth)
    assert out.shape == depth.shape + (3,) and out.dtype == np.uint8
    assert tuple(out[0, 0]) == viz.NEAR_COLOR == (253, 231, 37)
    assert tuple(out[0, 10]) == viz.FAR_COLOR == (68, 1, 84)
    assert (out[0, 20:] == 0).all()


def test_colorize_depth_is_robust_to_outliers():
    depth = np.linspace(1.0, 2.0, 1000, dtype=np.float32).reshape(40, 25)
    depth[0, 0] = 1000.0  # one stray far pixel does not squash the ramp
    near, far = viz.depth_range(depth)
    assert 1.0 <= near < 1.05 and 1.95 < far <= 2.0
    out = viz.colorize_depth(depth)
    assert tuple(out[0, 0]) == viz.FAR_COLOR
    assert len({tuple(c) for c in out.reshape(-1, 3)}) > 100


def test_colorize_depth_explicit_range_and_edge_cases():
    assert tuple(viz.colorize_depth(np.array([[3.0]]), near=1.0, far=5.0)[0, 0]) == (33, 145, 140)  # mid-ramp
    assert (viz.colorize_depth(np.full((4, 5), np.inf)) == 0).all()
    assert viz.colorize_depth(np.ones((4, 5, 1), np.float32)).shape == (4, 5, 3)
    assert tuple(viz.colorize_depth(np.full((2, 2), 7.0))[0, 0]) == viz.NEAR_COLOR  # flat depth


def test_colorize_normals():
    n = np.array([[[0, 0, 1], [-1, 0, 0], [0, 0, 0], [np.nan, 0, 1]]], dtype=np.float32)
    out = viz.colorize_normals(n)
    assert [tuple(c) for c in out[0]] == [(128, 128, 255), (0, 128, 128), (0, 0, 0), (0, 0, 0)]


# --- contact sheet ----------------------------------------------------------------------------


@pytest.fixture
def five_frames(dataset) -> Path:
    for frame in range(1, 5):
        for p in dataset.glob("*_0000.*"):
            shutil.copy(p, dataset / p.name.replace("_0000.", f"_{frame:04d}."))
    return dataset


def test_contact_sheet_grid_size(five_frames):
    g = viz.GAP
    sheet = viz.contact_sheet(five_frames, n=16, columns=4, thumb_width=20)
    assert sheet.size == (4 * 20 + 5 * g, 2 * 15 + 3 * g)  # 5 frames: 4 + 1, thumbs 20 x 15
    sheet = viz.contact_sheet(five_frames, n=3, columns=4, thumb_width=20)
    assert sheet.size == (3 * 20 + 4 * g, 15 + 2 * g)
    sheet = viz.contact_sheet(five_frames, frames=[4, 0], columns=1, thumb_width=80)
    assert sheet.size == (80 + 2 * g, 2 * 60 + 3 * g)


def test_contact_sheet_too_large_is_refused_before_drawing(five_frames, capsys):
    """A sheet larger than a render may be (8192 x 8192 pixels) is refused with exit 2 and
    nothing written: --thumb-width 100000 was drawn until the process ran out of memory."""
    with pytest.raises(ValueError, match="at most 67108864 pixels"):
        viz.contact_sheet(five_frames, n=16, columns=4, thumb_width=100_000)
    out = five_frames / "sheet.png"
    assert main(["preview", str(five_frames), "--sheet", "--thumb-width", "100000", "--out", str(out)]) == 2
    assert "--thumb-width" in capsys.readouterr().err and not out.exists()
    assert viz.contact_sheet(five_frames, frames=[0], thumb_width=2048).width == 2048 + 2 * viz.GAP


def test_contact_sheet_thumbnails_hold_the_boxes(five_frames):
    g = viz.GAP
    sheet = viz.contact_sheet(five_frames, frames=[0], thumb_width=2 * W)
    thumb = sheet.crop((g, g, g + 2 * W, g + 2 * H))
    assert px(thumb, 2 * BOX[0], 2 * BOX[3] + 1) == rgb3(INSTANCE_ID)  # bottom-left corner, scaled


def test_a_contact_sheets_frame_number_does_not_hide_a_class_tag(dataset, monkeypatch):
    """A thumbnail's frame number is drawn over its bottom-left corner after the overlay: a
    class tag placed below its box there was hidden under it (a ball boxed with no name on
    the sheet, named on its frame panel); tags now keep clear of it (here: inside the box's
    top edge, as nothing fits above a box at the image's top)."""
    io.write_npy(
        dataset / "bounding_box_2d_tight_0000.npy", np.array([(SEMANTIC_ID, 2, 0, 20, 16, 0.0)], dtype=BBOX_DTYPE)
    )
    drawn = []
    tag = viz._tag

    def record(draw, xy, text, font, fill, pad=2):
        w, h = viz._tag_size(text, font, pad)
        drawn.append((text, (xy[0], xy[1], xy[0] + w - 1, xy[1] + h - 1)))
        return tag(draw, xy, text, font, fill, pad)

    monkeypatch.setattr(viz, "_tag", record)
    viz.contact_sheet(dataset, frames=[0], thumb_width=2 * W)
    (name, rect), (number, caption) = drawn
    assert (name, number) == ("mug", "0000")
    assert not viz._overlaps(rect, caption), (rect, caption)


def test_the_depth_tiles_caption_is_metres_whatever_the_unit_scale(dataset):
    """The depth tile's caption says metres, but the files are in scene units: a base .blend
    in centimetres read 300.00 m for 3 m. It now takes the frame's camera_params
    metersPerSceneUnit (a frame without camera_params: as the file is)."""
    ff = viz.frame_files(dataset, 0)[0]
    assert dict((c.split(":")[0], c) for _tile, c in viz._tiles(ff))["distance to image plane"].endswith(
        "3.00-3.00 m, near bright"
    )
    io.write_json(dataset / "camera_params_0000.json", {"metersPerSceneUnit": 0.01})
    captions = [c for _tile, c in viz._tiles(viz.frame_files(dataset, 0)[0])]
    assert "distance to image plane: 0.03-0.03 m, near bright" in captions, captions


def test_pick_frames_spreads_over_the_dataset():
    assert viz.pick_frames(list(range(10)), 4) == [0, 3, 6, 9]
    assert viz.pick_frames([2, 4], 16) == [2, 4]
    assert viz.pick_frames([1, 2], 0) == []


# --- command line -----------------------------------------------------------------------------


def test_cli_preview_frame_default_path(dataset, capsys):
    assert main(["preview", str(dataset)]) == 0
    out = dataset / "preview" / "frame_0000.png"
    assert capsys.readouterr().out.strip() == str(out)
    assert Image.open(out).size == (2 * W, H)
    assert not [p for p in (dataset / "preview").iterdir() if p.name.endswith(".tmp")]


def test_cli_preview_sheet_to_file(five_frames, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "sheet.png"
    assert main(["preview", str(five_frames), "--sheet", "-n", "4", "--columns", "2", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert Image.open(out).size == (2 * 320 + 3 * viz.GAP, 2 * 240 + 3 * viz.GAP)


def test_cli_preview_errors(dataset, tmp_path, capsys):
    assert main(["preview", str(dataset), "--frame", "9"]) == 2
    assert "no frame 9" in capsys.readouterr().err
    assert main(["preview", str(tmp_path / "missing")]) == 2
    assert main(["preview", str(dataset), "--camera", "nope"]) == 2


@pytest.mark.parametrize("option", ["-n", "--columns", "--thumb-width"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_cli_sheet_sizes_below_one_are_refused_naming_the_option(five_frames, capsys, option, value):
    """--thumb-width -5 drew 1-pixel thumbnails and --columns 0 one column without a word,
    -n 0 said only "no frames to show": now exit 2 naming the option, the value and what
    it takes, nothing written."""
    with pytest.raises(SystemExit) as e:
        main(["preview", str(five_frames), "--sheet", option, value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {value}: expected a whole number >= 1" in err, err
    assert not (five_frames / "preview").exists()


def test_labels_json_is_read(dataset):
    ff = viz.frame_files(dataset, 0)[0]
    (box,) = viz.load_boxes(ff)
    assert (box.label, box.prim_path, box.semantic_id) == ("mug", PRIM, SEMANTIC_ID)
    assert (box.x_min, box.y_min, box.x_max, box.y_max) == BOX
    assert json.loads((dataset / "bounding_box_2d_tight_prim_paths_0000.json").read_text()) == [PRIM]


def test_cli_preview_out_through_a_file_is_refused_as_invalid_input(dataset, tmp_path, capsys):
    """`preview --out notes.txt/x.png` ended as a disk failure, exit 1, naming a temporary
    file ("cannot write to ...: Not a directory (.../.x.png.123-0.tmp)"); it is the user's
    input: exit 2 naming the file in the way, nothing written."""
    notes = tmp_path / "notes.txt"
    notes.write_text("keep")
    assert main(["preview", str(dataset), "--out", str(notes / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"{notes} is a file, not a folder" in err and ".tmp" not in err, err
    assert notes.read_text() == "keep"


def test_a_frame_panel_of_too_many_rows_is_refused_before_drawing(tmp_path, capsys, monkeypatch):
    """A sequence's output folder shows each clip's cameras as rows of frame N's panel: a
    thousand clips of 640x480 made a 1280 x 960,000 panel (gigabytes, drawn until memory
    ran out). Several rows above a render's largest image are refused, exit 2, naming the
    way to one camera; one row is always drawn."""
    for clip in range(3):
        for cam in ("left", "right"):
            write_frame(tmp_path / f"clip_{clip:04d}" / cam / "rgb", 0, extras=False)
    monkeypatch.setattr(viz, "MAX_SHEET_PIXELS", 2 * W * H * 5)  # 5 rows fit, not 6
    with pytest.raises(ValueError, match=r"6 rows"):
        viz.frame_panel(tmp_path, 0)
    assert main(["preview", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--camera clip_0000/left" in err and not (tmp_path / "preview").exists(), err
    monkeypatch.setattr(viz, "MAX_SHEET_PIXELS", 1)
    assert viz.frame_panel(tmp_path, 0, camera="clip_0002/right").size == (2 * W, H)


def test_a_frame_a_sequence_does_not_number_says_how_its_files_count(tmp_path, capsys):
    """`preview OUT --frame 3` on a 2-clip sequence of 2 frames a clip said only "no frame 3
    ... (frames 0-1)", though the run has frames 0-3: a sequence's files count frames within
    each clip, and the message now says so, with the way to a clip."""
    for clip in (0, 1):
        write_frame(tmp_path / f"clip_{clip:04d}" / "rgb", clip, extras=False)  # clip 1's frame 1 only
        write_frame(tmp_path / f"clip_{clip:04d}" / "rgb", 0, extras=False)
    assert main(["preview", str(tmp_path), "--frame", "3"]) == 2
    err = capsys.readouterr().err
    assert "no frame 3" in err and "frames within each clip" in err and "--camera clip_0000" in err, err


@pytest.mark.parametrize(
    "extra, said",
    [
        (
            ["--sheet", "--frame", "3"],
            "--frame 3: the panel of one frame; --sheet draws -n frames: give one of the two",
        ),
        (["-n", "4"], "-n 4: an option of the contact sheet, which --sheet asks for and is not given"),
        (["--columns", "2"], "--columns 2: an option of the contact sheet"),
        (["--thumb-width", "100"], "--thumb-width 100: an option of the contact sheet"),
    ],
)
def test_cli_preview_options_that_do_not_apply_are_refused(five_frames, capsys, extra, said):
    """--frame with --sheet, and the sheet's -n / --columns / --thumb-width without it, were
    ignored without a word (as render's --chunk without several processes now is not)."""
    assert main(["preview", str(five_frames), *extra]) == 2
    assert said in capsys.readouterr().err
    assert not (five_frames / "preview").exists()


def test_a_camera_name_for_a_one_camera_folder_says_to_leave_out_camera(dataset, capsys):
    """A run of one camera writes its files at the folder's root: --camera with its name was
    refused as "found ['(root)']", and --camera '(root)' was refused the same way; the
    message now says how to preview those files (without --camera), exit 2."""
    for name in ("camera", "(root)"):
        assert main(["preview", str(dataset), "--camera", name]) == 2
        err = capsys.readouterr().err
        assert f"no camera {name!r}: found one camera's files at the folder's root (leave out --camera)" in err, err
    assert main(["preview", str(dataset)]) == 0


def test_a_lidars_name_given_as_the_camera_says_it_is_a_lidars_folder(tmp_path, capsys):
    """A run with a camera and a LiDAR writes <camera>/ and <lidar>/ folders: --camera roof
    was refused as "no camera 'roof': found 'camera'", as if the folder were not there; the
    message now says it holds a LiDAR's point clouds, which preview draws onto the cameras' frames (exit 2)."""
    write_frame(tmp_path / "camera")
    io.write_npy(tmp_path / "roof" / "lidar" / "lidar_0000.npy", np.zeros((4, 3), dtype=np.float32))
    for extra in ([], ["--sheet"]):
        assert main(["preview", str(tmp_path), "--camera", "roof", *extra]) == 2
        err = capsys.readouterr().err
        assert (
            "no camera 'roof' ('roof' is a LiDAR's folder: point clouds, lidar_NNNN.npy, which preview draws onto"
            in err
        )
        assert "found 'camera'" in err
    assert main(["preview", str(tmp_path), "--camera", "camera"]) == 0


def test_a_sequences_lidar_given_as_the_camera_says_it_is_a_lidars_folder(tmp_path, capsys):
    """A sequence writes a LiDAR's scans in each clip (clip_0000/roof/lidar/): --camera roof
    was refused as "no camera 'roof': found 'clip_0000/camera', ...", without the word a
    LiDAR's folder gets in stills; it now gets it too (exit 2)."""
    for clip in ("clip_0000", "clip_0001"):
        write_frame(tmp_path / clip / "camera")
        io.write_npy(tmp_path / clip / "roof" / "lidar" / "lidar_0000.npy", np.zeros((4, 3), dtype=np.float32))
    for extra in ([], ["--sheet"]):
        assert main(["preview", str(tmp_path), "--camera", "roof", *extra]) == 2
        err = capsys.readouterr().err
        assert (
            "no camera 'roof' ('roof' is a LiDAR's folder: point clouds, lidar_NNNN.npy, which preview draws onto"
            in err
        ), err
    assert main(["preview", str(tmp_path), "--camera", "clip_0000/camera"]) == 0


def test_a_seen_objects_tag_never_says_it_is_100_percent_hidden(dataset, monkeypatch):
    """A tight box's object has visible pixels, but an occlusionRatio of 0.996 (4 pixels of
    1000 seen) was tagged 'mug (100% hidden)'; the share is now at most 99 % below 1."""
    io.write_npy(dataset / "bounding_box_2d_tight_0000.npy", np.array([(SEMANTIC_ID, *BOX, 0.996)], dtype=BBOX_DTYPE))
    said = []
    monkeypatch.setattr(viz, "_tag", lambda draw, xy, text, *a, **k: said.append(text))
    viz.overlay(viz.frame_files(dataset, 0)[0])
    assert said == ["mug (99% hidden)"]
    assert [viz.hidden_percent(r) for r in (0.05, 0.294, 0.985, 0.995, 0.996, 1.0)] == [5, 29, 98, 99, 99, 100]


def test_a_camera_is_found_by_its_name_in_the_parameter_file_too(tmp_path, capsys):
    """A camera named "linke Kamera" or "über" writes into linke_Kamera-c1f716f2/ and
    _ber-b51c8541/ (a portable folder name): --camera with the camera's own name was refused
    as "no camera 'über': found '_ber-b51c8541', ..."; it now finds its folder."""
    from sdg_addon.writers.paths import safe_name

    for name in ("linke Kamera", "über"):
        write_frame(tmp_path / safe_name(name))
    assert safe_name("über") == "_ber-b51c8541"
    assert main(["preview", str(tmp_path), "--camera", "über"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "preview" / "frame_0000__ber-b51c8541.png")
    assert main(["preview", str(tmp_path), "--camera", "linke Kamera", "--sheet"]) == 0
    assert capsys.readouterr().out.strip().endswith("sheet_linke_Kamera-c1f716f2.png")
    assert viz.frames(tmp_path, "über") == [0]
    assert main(["preview", str(tmp_path), "--camera", "rechts"]) == 2
    assert "no camera 'rechts': found '_ber-b51c8541', 'linke_Kamera-c1f716f2'" in capsys.readouterr().err


def test_a_sequences_camera_given_without_its_clip(tmp_path, capsys):
    """A sequence's output folder of two cameras (clip_0000/th, clip_0001/th, ...):
    `--camera th` was refused as "no camera 'th': found 'clip_0000/rgb', 'clip_0000/th', ...",
    the sheet too, where the default sheet shows the first camera's frames of every clip. The
    sheet of `--camera th` (or `th/`) now shows th's frames of every clip, in clip order; a
    frame panel, whose frame numbers count within a clip, says which to give."""
    for clip in ("clip_0000", "clip_0001"):
        for cam in ("rgb", "th"):
            for f in (0, 1):
                write_frame(tmp_path / clip / cam, f)
    expected = [("clip_0000/th", 0), ("clip_0000/th", 1), ("clip_0001/th", 0), ("clip_0001/th", 1)]
    assert viz.sheet_frames(tmp_path, 4, "th") == expected
    for given in ("th", "th/"):
        assert main(["preview", str(tmp_path), "--camera", given, "--sheet"]) == 0
        assert capsys.readouterr().out.strip() == str(tmp_path / "preview" / "sheet_th.png")
    assert main(["preview", str(tmp_path), "--camera", "th"]) == 2
    err = capsys.readouterr().err
    assert "no camera 'th' (a sequence's camera has a folder in each clip: give one, e.g. --camera clip_0000/th;" in err
    assert main(["preview", str(tmp_path), "--camera", "clip_0001/th", "--sheet"]) == 0  # one clip's, as before
    assert viz.sheet_frames(tmp_path, 4, "clip_0001/th") == expected[2:]


def test_a_camera_folder_given_with_a_trailing_slash_is_found(tmp_path, capsys):
    """`--camera thermal/`, as a shell completes the folder, was refused as "no camera
    'thermal/': found 'rgb', 'thermal'"; the folder is found, a frame's and a sheet's."""
    for name in ("rgb", "thermal"):
        write_frame(tmp_path / name)
    assert main(["preview", str(tmp_path), "--camera", "thermal/"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "preview" / "frame_0000_thermal.png")
    assert main(["preview", str(tmp_path), "--camera", "thermal/", "--sheet"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "preview" / "sheet_thermal.png")
    assert viz.frames(tmp_path, "thermal/") == [0]


def test_a_camera_named_in_the_other_unicode_form_is_found(tmp_path, capsys):
    """A camera spelt decomposed ('cafe' + U+0301, a name taken from a macOS file name) has
    the folder safe_name gives that spelling; '--camera café' typed composed, printing alike,
    was refused as "no camera 'café': found 'cafe_-81ef060b', ...". Either form finds it, a
    frame's, a sheet's and a sequence's camera given without its clip."""
    import unicodedata

    from sdg_addon.writers.paths import safe_name

    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    for stored, typed in ((nfd, nfc), (nfc, nfd)):
        root = tmp_path / ("nfd" if stored == nfd else "nfc")
        for name in (safe_name(stored), "x"):
            write_frame(root / name)
        assert main(["preview", str(root), "--camera", typed]) == 0
        assert capsys.readouterr().out.strip() == str(root / "preview" / f"frame_0000_{safe_name(stored)}.png")
        assert main(["preview", str(root), "--camera", typed, "--sheet"]) == 0
        capsys.readouterr()
        assert viz.camera_folder(root, typed) == safe_name(stored)
    for clip in ("clip_0000", "clip_0001"):
        write_frame(tmp_path / "seq" / clip / safe_name(nfd))
    assert viz.camera_folder(tmp_path / "seq", nfc) == safe_name(nfd)  # its frames of every clip


def test_a_folder_of_datasets_is_not_taken_for_one_of_several_cameras(tmp_path, capsys):
    """`preview out` / `report out` with out/v1 and out/v2 two datasets took each for a
    camera of one dataset: a report of "cameras v1, v2" mixing unrelated runs (seed –,
    classes from both), exit 0. Now exit 2, naming them, nothing written."""
    from sdg_addon import output

    for name in ("v1", "v2"):
        write_frame(tmp_path / name)
        (tmp_path / name / "audit").mkdir()
        (tmp_path / name / "audit" / "dataset.json").write_text(json.dumps({"tool": output.TOOL, "format": 1}))
    for argv in (["preview", str(tmp_path)], ["preview", str(tmp_path), "--sheet"], ["report", str(tmp_path)]):
        assert main(argv) == 2, argv
        assert f"{tmp_path} holds datasets (v1, v2), not the frames of one" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1", "v2"]
    assert main(["preview", str(tmp_path / "v1")]) == 0
    assert list(viz.cameras(tmp_path / "v1")) == [""]


def test_names_beyond_ascii_are_drawn_in_letters_not_boxes():
    """Pillow's own font has ASCII only: a class 'Würfel' was tagged 'W□rfel' in every preview
    and report chart (ü, é, Я, κ each the same empty box). Text is now drawn in a font of the
    system that has them (fonts.WIDE_FONTS), Pillow's where none is found."""
    from PIL import ImageFont

    from sdg_addon.fonts import WIDE_FONTS as wide

    def found(name):
        try:
            return ImageFont.truetype(name, 12)
        except OSError:
            return None

    if not any(found(name) for name in wide):
        pytest.skip(f"none of {wide} on this system: Pillow's own font is used")
    font = viz._font(12)
    missing = bytes(font.getmask("\uffff"))  # a letter no font has: its box
    for letter in "üéЯκ":
        assert bytes(font.getmask(letter)) != missing, letter


def test_a_semantic_maps_own_class_colours_colour_its_boxes_and_legend(dataset, monkeypatch):
    """A dataset made elsewhere (Replicator's) colours its semantic map its own way: with
    --mask semantic the boxes and the info tile's 'classes (semantic map colours)' were drawn
    in this tool's palette (id_colors of the semanticId), not the map's red mug; they now
    take the class's colour from the map's labels file."""
    own = (200, 20, 20, 255)
    path = dataset / "semantic_segmentation_0000.png"
    image = np.asarray(Image.open(path).convert("RGBA")).copy()
    image[(image == id_colors(np.array(SEMANTIC_ID))).all(-1)] = own
    io.write_png(path, image)
    labels = {"(0, 0, 0, 0)": {"class": "BACKGROUND"}, "(0, 0, 0, 255)": {"class": "UNLABELLED"}}
    labels[color_key(np.array(own, dtype=np.uint8))] = {"class": "mug"}
    io.write_json(dataset / "semantic_segmentation_labels_0000.json", labels)
    [ff] = viz.frame_files(dataset, 0)
    assert_outline(viz.overlay(ff, mask="semantic", labels=False), BOX, own[:3])
    assert viz._legend(ff, viz.load_boxes(ff)) == [("mug", own[:3], 1)]


def test_thumbnails_and_info_tiles_name_a_camera_as_its_run_does(tmp_path, drawn_text):
    """A camera named "Kamera über" writes into Kamera_ber-230e6b7e/: its contact sheet's
    thumbnails said '0000 Kamera_ber-230e6b7e' and its info tile 'camera Kamera_ber-...',
    where the report names it 'Kamera über'; they now say the run's name (audit/cameras.json);
    a dataset made elsewhere keeps its folder names."""

    from sdg_addon import output
    from sdg_addon.writers.paths import safe_name

    name = "Kamera über"
    (tmp_path / "audit").mkdir()
    (tmp_path / output.MARKER).write_text(json.dumps({"tool": output.TOOL}))
    (tmp_path / "audit" / "cameras.json").write_text(json.dumps([name, "cam"]))
    for cam in (safe_name(name), "cam"):
        write_frame(tmp_path / cam)
    said = drawn_text()
    viz.contact_sheet(tmp_path, camera=name)
    viz.frame_panel(tmp_path, 0)
    assert "0000 Kamera über" in said and "frame 0000   camera Kamera über" in said, said
    assert not any(safe_name(name) in text for text in said)
    (tmp_path / "audit" / "cameras.json").unlink()  # nothing recorded: the folder's name
    [ff] = viz.frame_files(tmp_path, 0, safe_name(name))
    assert viz.camera_label(ff) == safe_name(name)


def test_a_tag_takes_a_free_spot_at_its_boxs_right_edge_before_covering_another(monkeypatch):
    """Five objects of a 192 x 144 frame: the box's tag 'box (16% hidden)' found its three
    spots at the box's left edge taken and was drawn over the mug's tag ('mug' read 'ug').
    Spots ending at the box's right edge are tried too, and where none is free the one
    covering least of the earlier tags is taken: here no tag hides another's letters."""
    from PIL import Image as PILImage

    rows = [
        viz.Box(3, 10, 51, 45, 84, 0.0, "ball"),
        viz.Box(3, 69, 36, 93, 64, 0.117, "ball"),
        viz.Box(4, 33, 33, 70, 72, 0.157, "box"),
        viz.Box(2, 114, 29, 136, 62, 0.0, "mug"),
        viz.Box(2, 61, 7, 76, 31, 0.0, "mug"),
    ]
    tags = []
    monkeypatch.setattr(viz, "_tag", lambda draw, xy, text, font, fill, pad=2: tags.append((xy, text)))
    image = PILImage.new("RGB", (192, 144))
    viz._draw_boxes(image, rows, None, "none", (192, 144), True, True, None)
    font = viz._font(viz._font_size(192, 144))
    rects = [(x, y, x + w - 1, y + h - 1) for (x, y), text in tags for w, h in [viz._tag_size(text, font)]]
    assert len(rects) == 5
    covered = sum(
        max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1) * max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
        for i, a in enumerate(rects)
        for b in rects[i + 1 :]
    )
    assert covered <= 32, (tags, covered)  # 170 before (the mug's letter m); now a pixel row of a tag's edge


def test_a_640_x_480_frames_depth_caption_fits_its_tile():
    """DejaVu Sans, drawn since names beyond ASCII are, is 12 % wider than Pillow's own font:
    the depth caption of a 640 x 480 frame (the default preset's), 'distance to image plane:
    1.35-4.70 m, near bright', no longer fit its 320 pixel tile ('... near brigh'). DejaVu
    Sans Condensed, as wide as Pillow's, comes first where the system has it."""
    from PIL import ImageFont

    try:
        ImageFont.truetype("DejaVuSansCondensed.ttf", 13)
    except OSError:
        pytest.skip("no DejaVu Sans Condensed on this system")
    font = viz._font(viz._font_size(640, 480))
    assert font.getlength("distance to image plane: 1.35-4.70 m, near bright") + 3 <= 320


@pytest.fixture
def fresh_fonts():
    """The font caches emptied before and after: a test that changes where fonts are found
    leaves no font of its own to the next."""
    from sdg_addon import fonts

    fonts.fallback_fonts.cache_clear()
    fonts.font.cache_clear()
    yield fonts
    fonts.fallback_fonts.cache_clear()
    fonts.font.cache_clear()


def name_class(folder: Path, name: str) -> None:
    """The frame's one object (write_frame's mug) named `name` in its box and mask labels."""
    io.write_json(folder / "bounding_box_2d_tight_labels_0000.json", {str(SEMANTIC_ID): {"class": name}})
    labels = json.loads((folder / "semantic_segmentation_labels_0000.json").read_text())
    io.write_json(
        folder / "semantic_segmentation_labels_0000.json",
        {k: v if v["class"] in ("BACKGROUND", "UNLABELLED") else {"class": name} for k, v in labels.items()},
    )


def drawn(folder: Path, name: str) -> tuple[bytes, bytes]:
    name_class(folder, name)
    return viz.contact_sheet(folder).tobytes(), viz.frame_panel(folder, 0).tobytes()


def test_cjk_names_are_drawn_in_letters_not_boxes(dataset, fresh_fonts, monkeypatch):
    """The fonts of the system have no CJK letters: a class '猫' and a class '箱' were tagged with
    the same box in contact sheets, previews and the report's charts (byte-identical pictures).
    A letter the first font lacks is now drawn with the first of Blender's own fonts
    (<version>/datafiles/fonts, in every install and the bpy wheel) that has it."""
    from sdg_addon.report.plots import bar_chart

    if not fresh_fonts.fallback_fonts():
        pytest.skip("no Blender fonts found (no bpy package)")
    used = []
    text = ImageDraw.ImageDraw.text
    monkeypatch.setattr(
        ImageDraw.ImageDraw,
        "text",
        lambda self, xy, s, *a, **k: used.append((s, k.get("font"))) or text(self, xy, s, *a, **k),
    )
    cat, box = drawn(dataset, "猫"), drawn(dataset, "箱")
    assert (cat[0] == box[0], cat[1] == box[1]) == (False, False)  # the contact sheet, the preview
    chart = [bar_chart("classes", [name], {"frames": [1.0]}).tobytes() for name in ("猫", "箱")]
    assert chart[0] != chart[1], "the report's chart"
    tofu = None
    for said, font in used:
        if "猫" in said:
            masks = [bytes(font.getmask(letter)) for letter in ("猫", "箱", fresh_fonts.NOT_A_CHARACTER)]
            assert len(set(masks)) == 3, said
            tofu = masks[2]
    assert tofu is not None, [s for s, _ in used]
    # A name of Latin and CJK letters reads whole, on one baseline, measured as it is drawn.
    font = viz._font(13)
    mixed = Image.new("L", (80, 20))
    ImageDraw.Draw(mixed).text((0, 0), "box 箱", font=font, fill=255)
    ink, box = mixed.getbbox(), font.getbbox("box 箱")
    assert box[0] <= ink[0] <= box[0] + 1 and ink[1:] == box[1:]  # Pillow's box starts at the pen, as for "box"
    latin = Image.new("L", (80, 20))
    ImageDraw.Draw(latin).text((0, 0), "box", font=font, fill=255)
    width = round(font.getlength("box "))
    assert np.array_equal(np.asarray(mixed)[:, :width], np.asarray(latin)[:, :width])


def test_latin_names_are_drawn_as_by_the_system_font_alone(tmp_path, fresh_fonts, monkeypatch):
    """Blender's fonts draw only the letters the first font lacks: a contact sheet, a preview and
    a chart of Latin, Greek and Cyrillic names are byte-identical to those drawn without them."""
    from sdg_addon.report.plots import bar_chart

    if not fresh_fonts.fallback_fonts():
        pytest.skip("no Blender fonts found (no bpy package)")
    names = ["mug", "Würfel (café)", "Ящик κύβος"]

    def pictures():
        out = []
        for i, name in enumerate(names):
            write_frame(tmp_path / str(i))
            out += drawn(tmp_path / str(i), name)
        return out + [bar_chart("classes", names, {"frames": [1.0, 2.0, 3.0]}).tobytes()]

    assert isinstance(viz._font(12), fresh_fonts.FallbackFont)
    with_fallbacks = pictures()
    monkeypatch.setattr(fresh_fonts, "fallback_fonts", lambda: ())
    fresh_fonts.font.cache_clear()
    assert not isinstance(viz._font(12), fresh_fonts.FallbackFont)
    assert pictures() == with_fallbacks


@pytest.mark.parametrize(
    "modules, fonts_folder",
    [("site-packages", "site-packages/bpy/5.0/datafiles/fonts"), ("5.0/scripts/modules", "5.0/datafiles/fonts")],
)
def test_blenders_fonts_are_found_in_the_bpy_wheel_and_in_a_blender_install(
    tmp_path, fresh_fonts, monkeypatch, modules, fonts_folder
):
    """Blender's fonts are in <version>/datafiles/fonts: inside the bpy package of the wheel
    (bpy/5.0/), and beside scripts/modules/bpy of an install; bpy is found on disk, not imported."""
    from sdg_addon import blender_paths

    if not fresh_fonts.fallback_fonts():
        pytest.skip("no Blender fonts found (no bpy package)")
    thai = next(Path(p) for p in fresh_fonts.fallback_fonts() if "Thai" in Path(p).name)
    (tmp_path / modules / "bpy").mkdir(parents=True)
    (tmp_path / modules / "bpy" / "__init__.py").write_text("raise ImportError('not to be imported')\n")
    (tmp_path / fonts_folder).mkdir(parents=True)
    shutil.copy(thai, tmp_path / fonts_folder / thai.name)
    monkeypatch.delitem(sys.modules, "bpy", raising=False)
    monkeypatch.delenv(blender_paths.ENV, raising=False)
    monkeypatch.setattr(sys, "path", [str(tmp_path / modules)])
    fresh_fonts.fallback_fonts.cache_clear()  # found once per process: as if it started here
    assert fresh_fonts.fallback_fonts() == (str(tmp_path / fonts_folder / thai.name),)
    font = viz._font(12)
    [(first, _), (second, thai_part)] = font.runs("box กล่อง")
    assert first is font.plain and second.getname()[0] == "Noto Sans Thai" and thai_part == "กล่อง"
    assert "bpy" not in sys.modules


def test_without_blender_text_is_drawn_in_the_system_font(dataset, fresh_fonts, monkeypatch, capsys):
    """No bpy package to be found (Pillow and numpy alone, or a Blender without datafiles/fonts):
    the system font draws everything, CJK letters as its boxes, as before; nothing fails."""
    from sdg_addon import blender_paths

    monkeypatch.delitem(sys.modules, "bpy", raising=False)
    monkeypatch.delenv(blender_paths.ENV, raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if not (Path(p or ".") / "bpy").exists()])
    assert fresh_fonts.fallback_fonts() == ()
    font = viz._font(12)
    assert not isinstance(font, fresh_fonts.FallbackFont)
    assert bytes(font.getmask("猫")) == bytes(font.getmask(fresh_fonts.NOT_A_CHARACTER))  # the box
    name_class(dataset, "猫")
    assert main(["preview", str(dataset), "--sheet"]) == 0
    assert main(["preview", str(dataset)]) == 0


@pytest.mark.parametrize(
    "given, said",
    [
        ("gs://bucket/p.png", "is a URL (gs://)"),
        ("~no_such_user_here_4711/p.png", "is no home folder"),
        ("D:/previews/p.png", "D:"),
    ],
)
def test_preview_out_of_another_system_is_refused_not_made_a_local_folder(
    dataset, tmp_path, monkeypatch, capsys, given, said
):
    """`preview --out gs://bucket/p.png` (or ~user of no user here, or D:/ on Linux and
    macOS) wrote p.png into a folder named 'gs:' (or '~no_such_user...', 'D:') in the
    working folder; `report --out` and `render --out` refuse such a place. So does preview
    now: exit 2, naming it, nothing made."""
    if given.startswith("D:") and os.name == "nt":
        pytest.skip("a drive is a folder of this system on Windows")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["preview", str(dataset), "--out", given]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out ") and said in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --- 3D boxes and keypoints ----------------------------------------------------------------

FX, CX, CY = 100.0, W / 2, H / 2  # camera at the origin looking down -Z (Blender camera space = world)


def camera_params(projection="perspective") -> dict:
    return {"world_to_camera": np.eye(4).tolist(), "fx": FX, "fy": FX, "cx": CX, "cy": CY, "projection": projection}


def test_points_project_as_the_annotators_do():
    got = viz.project_to_pixels(camera_params(), [[0.1, 0.2, -2.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    assert got[0] == pytest.approx([CX + FX * 0.1 / 2, CY - FX * 0.2 / 2])  # y up in the camera, down in the image
    assert np.isnan(got[1:]).all()  # behind the camera and on its plane
    ortho = viz.project_to_pixels(camera_params("orthographic"), [[0.1, 0.2, -2.0]])
    assert ortho[0] == pytest.approx([CX + FX * 0.1, CY - FX * 0.2])
    assert viz.project_to_pixels({**camera_params(), "projection": "fisheyePolynomial"}, [[0, 0, -1]]) is None
    assert viz.project_to_pixels({"fx": 1}, [[0, 0, -1]]) is None


def write_box_3d(folder: Path, n: str = "0000", params: dict | None = None) -> None:
    """A unit cube 5 m in front of the camera (its centre at z = -5), as bounding_box_3d
    writes it: local extents and the object-to-world transform in row-vector layout."""
    to_world = np.eye(4)
    to_world[:3, 3] = (0.0, 0.0, -5.0)
    row = (SEMANTIC_ID, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, to_world.T, 0.0)
    io.write_npy(folder / f"bounding_box_3d_{n}.npy", np.array([row], dtype=BBOX_3D_DTYPE))
    io.write_json(folder / f"bounding_box_3d_labels_{n}.json", {str(SEMANTIC_ID): {"class": "mug"}})
    io.write_json(folder / f"camera_params_{n}.json", params or camera_params())


def test_3d_box_corners_are_the_boxes_corners_projected(dataset):
    write_box_3d(dataset)
    ff = viz.frame_files(dataset, 0)[0]
    boxes, note = viz.load_boxes_3d(ff)
    assert note == "3D boxes: 1" and len(boxes) == 1 and boxes[0].label == "mug"
    for k, (u, v) in enumerate(boxes[0].corners):
        x, y, z = ((-0.5, 0.5)[k & 1], (-0.5, 0.5)[(k >> 1) & 1], (-0.5, 0.5)[k >> 2] - 5.0)
        assert (u, v) == pytest.approx((CX + FX * x / -z, CY - FX * y / -z)), k
    # The near face's top edge (z = -4.5, y = 0.5): v = 15 - 100 * 0.5 / 4.5 = 3.9, Pillow row 3.
    tile = viz.boxes_3d_image(ff, boxes)
    color = rgb3(SEMANTIC_ID)  # the semantic map's colour of "mug"
    assert px(tile, int(CX), 3) == color
    assert px(tile, int(CX), int(CY)) == (90, 90, 90)  # inside the box, on no edge: the image


def test_3d_boxes_without_camera_params_or_of_a_fisheye_are_said_not_drawn(dataset):
    write_box_3d(dataset)
    os.remove(dataset / "camera_params_0000.json")
    ff = viz.frame_files(dataset, 0)[0]
    assert viz.load_boxes_3d(ff) == (None, "3D boxes: no camera_params file to project them with")
    write_box_3d(dataset, params={**camera_params(), "projection": "fisheye", "cameraModel": "fisheyePolynomial"})
    boxes, note = viz.load_boxes_3d(viz.frame_files(dataset, 0)[0])
    assert boxes is None and "fisheyePolynomial" in note


def test_an_edge_from_a_corner_far_outside_is_drawn_to_the_images_edge():
    assert viz._clip_segment((10.0, 10.0), (1e12, 10.0), 40, 30) == ((10.0, 10.0), (40.0, 10.0))
    assert viz._clip_segment((-5.0, -5.0), (-1e9, 3.0), 40, 30) is None  # outside all along
    assert viz._clip_segment((1.0, 2.0), (3.0, 4.0), 40, 30) == ((1.0, 2.0), (3.0, 4.0))


def write_keypoints(folder: Path, n: str = "0000") -> None:
    """Three keypoints of the mug, on the unlabelled ground below it: visible, hidden, outside."""
    rows = [
        (INSTANCE_ID, SEMANTIC_ID, 0, 3.5, 26.5, 2.0, 2),
        (INSTANCE_ID, SEMANTIC_ID, 1, 36.5, 26.5, 2.0, 1),
        (INSTANCE_ID, SEMANTIC_ID, 2, np.nan, np.nan, -1.0, 0),
    ]
    io.write_npy(folder / f"keypoints_{n}.npy", np.array(rows, dtype=KEYPOINT_DTYPE))
    info = {
        "names": {str(INSTANCE_ID): ["handle", "rim", "base"]},
        "skeletons": {str(INSTANCE_ID): [[0, 1], [1, 2]]},
        "primPaths": {str(INSTANCE_ID): PRIM},
    }
    io.write_json(folder / f"keypoints_info_{n}.json", info)


def test_keypoints_are_drawn_where_the_file_puts_them(dataset):
    write_keypoints(dataset)
    ff = viz.frame_files(dataset, 0)[0]
    (kp,) = viz.load_keypoints(ff)
    assert kp.instance_id == INSTANCE_ID and kp.prim_path == PRIM and kp.edges == [(0, 1), (1, 2)]
    image = viz.overlay(ff, boxes=False)
    color = px(viz.overlay(ff, boxes=False, keypoints=False), 17, 12)  # the mug's colour in the mask
    mug = viz.load_mask(ff, "instance_segmentation").path_colors[PRIM]
    # visible: a filled dot centred on pixel (3, 26); hidden: a ring of radius 3 round (36, 26), its centre
    # the ground beside the skeleton line that ends there (the line to the third keypoint is not drawn)
    assert px(image, 3, 26) == mug and px(image, 36, 23) == mug
    assert px(image, 37, 24) not in (mug, viz.HALO)  # inside the ring: the image
    assert px(image, 20, 26) == mug  # the skeleton between them
    assert px(image, 20, 28) != mug and color != mug  # beside the line; the blended mask is not the pure colour
    without = viz.overlay(ff, boxes=False, keypoints=False)
    assert px(without, 3, 26) != mug


def test_the_panel_shows_the_3d_boxes_tile_after_depth(dataset, drawn_text):
    write_box_3d(dataset)
    said = drawn_text()
    viz.camera_panel(viz.frame_files(dataset, 0)[0])
    captions = [t for t in said if t.startswith(("distance", "3D boxes", "normals", "semantic"))]
    assert captions[:3] == ["distance to image plane: 3.00-3.00 m, near bright", "3D boxes: 1", "semantic segmentation"]


def test_lidar_points_are_dotted_where_the_camera_sees_them(dataset):
    """A scan at the dataset's root (<lidar>/lidar/), sensor frame = world here: one point in
    front of the camera, one behind it; colours near yellow .. far purple over the ranges."""
    write_box_3d(dataset)  # its camera_params
    folder = dataset / "roof" / "lidar"
    folder.mkdir(parents=True)
    io.write_npy(folder / "lidar_0000.npy", np.array([[0.1, 0.2, -2.0, 0.5], [0.0, 0.0, 3.0, 0.5]], np.float32))
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
    ff = viz.frame_files(dataset, 0)[0]
    (scan,) = viz.load_lidar_scans(ff)
    assert scan.sensor == "roof" and scan.ranges == pytest.approx([np.sqrt(0.05 + 4), 3.0])
    image, caption = viz.lidar_image(ff, [scan])
    assert caption == "LiDAR roof: 1 of 2 points in view"
    u, v = CX + FX * 0.1 / 2, CY - FX * 0.2 / 2  # (25, 5): pixel (25, 5) and its 8 neighbours
    near = tuple(int(x) for x in viz.colorize_depth(np.array([[scan.ranges[0], scan.ranges[1]]]))[0, 0])
    assert px(image, int(u), int(v)) == near == px(image, int(u) + 1, int(v) - 1)
    assert px(image, int(u) + 2, int(v)) == (45, 45, 45)  # the image, dimmed to half
    (folder / "lidar_info_0000.json").write_text('{"sensor_to_world": [[1, 0')  # cut short
    with pytest.raises(ValueError, match="cannot read .*lidar_info_0000.json"):
        viz.load_lidar_scans(ff)
    os.remove(folder / "lidar_info_0000.json")  # no pose: the scan cannot be placed, and is left out
    assert viz.load_lidar_scans(ff) == []
    os.remove(dataset / "camera_params_0000.json")
    assert viz.lidar_image(ff, [scan]) is None


@pytest.mark.parametrize(
    "camera, scan",
    [
        ("cam", "roof/lidar"),  # the basic writer's default: a folder per sensor, one per annotator
        ("cam", "roof"),  # annotator_subfolders = false
        ("cam/frames_0000000", "roof/frames_0000000/lidar"),  # frames_per_folder
        ("cam/frames_0000000", "roof/frames_0000000"),  # both
        ("clip_0001/cam", "clip_0001/roof/lidar"),  # a sequence's clip
        (".", "."),  # camera_subfolders = "never": one camera and one LiDAR share the folder
        ("frames_0000000", "frames_0000000"),  # the same with frames_per_folder
    ],
)
def test_lidar_scans_are_found_in_every_layout_the_basic_writer_writes(tmp_path, camera, scan):
    """Each layout of the basic writer's options puts a LiDAR's files somewhere else: the
    frame's scan is drawn in each (it was left out, without a word, but in the first)."""
    write_frame(tmp_path / camera)
    write_box_3d(tmp_path / camera)  # its camera_params
    folder = tmp_path / scan
    folder.mkdir(parents=True, exist_ok=True)
    io.write_npy(folder / "lidar_0000.npy", np.array([[0.1, 0.2, -2.0, 0.5], [0.0, 0.0, 3.0, 0.5]], np.float32))
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
    cams = viz.cameras(tmp_path)
    assert len(cams) == 1  # the LiDAR's folder is no camera
    ff = viz.frame_files(tmp_path, 0, next(iter(cams)))[0]
    (got,) = viz.load_lidar_scans(ff)
    assert got.sensor == ("" if scan == camera else "roof")  # no resolved.json to name it
    assert got.world == pytest.approx(np.array([[0.1, 0.2, -2.0], [0.0, 0.0, 3.0]]))
    assert viz.lidar_image(ff, [got])[1] == f"LiDAR{' roof' if got.sensor else ''}: 1 of 2 points in view"


@pytest.mark.parametrize("projection", ["perspective", "orthographic"])
def test_3d_boxes_of_replicators_camera_params_are_drawn_with_its_view_and_projection(dataset, projection):
    """Replicator's camera_params has no world_to_camera, fx .. cy (our additions): the tile
    was left out, said 'a pinhole lens the preview cannot project'; its cameraViewTransform and
    cameraProjection put the corners where ours do (a lens shifted off centre too)."""
    from sdg_addon.annotators.camera_params import replicator_projection
    from sdg_addon.frame import Camera

    fx = FX if projection == "perspective" else 10.0  # orthographic: pixels per unit
    to_world = np.eye(4)
    to_world[:3, 3] = (0.2, -0.1, 0.5)
    cam = Camera("cam", W, H, projection, to_world, fx, fx, CX + 3.0, CY - 2.0, 0.1, 100.0)
    ours = {
        "world_to_camera": cam.world_to_camera.tolist(),
        **{"fx": fx, "fy": fx, "cx": CX + 3.0, "cy": CY - 2.0, "projection": projection},
    }
    replicators = {
        "cameraModel": "pinhole" if projection == "perspective" else "orthographic",
        "cameraProjection": replicator_projection(cam).T.ravel().tolist(),
        "cameraViewTransform": cam.world_to_camera.T.ravel().tolist(),
        "renderProductResolution": [W, H],
    }
    write_box_3d(dataset, params=ours)
    expected = viz.load_boxes_3d(viz.frame_files(dataset, 0)[0])[0][0].corners
    write_box_3d(dataset, params=replicators)
    ff = viz.frame_files(dataset, 0)[0]
    boxes, note = viz.load_boxes_3d(ff)
    assert note == "3D boxes: 1"
    assert boxes[0].corners == pytest.approx(expected, abs=1e-9)
    assert [c for _, c in viz._tiles(ff)][1] == "3D boxes: 1"
    behind = viz.project_to_pixels(replicators, [[0.2, -0.1, 0.5], [0.2, -0.1, 3.0]])
    assert np.isnan(behind).all() == (projection == "perspective")  # on and behind the camera's plane
    del replicators["cameraProjection"]
    write_box_3d(dataset, params=replicators)
    assert viz.load_boxes_3d(viz.frame_files(dataset, 0)[0]) == (
        None,
        "3D boxes: a camera_params file without the camera's pose and projection",
    )


@pytest.mark.parametrize("keys", ["ours", "replicators"])
def test_3d_box_edges_running_behind_the_camera_are_cut_at_its_plane_not_left_out(dataset, keys):
    """A box from 6 units in front of the camera to 1 behind it (a wall beside a camera, a
    floor under it): its four long edges run from the far face out of the image. They were
    left out, the far face alone drawn; they are now cut where they pass the camera's plane
    and drawn to the image's edge, along the line their corners project on; the near face,
    behind the camera all along, is not drawn."""
    from sdg_addon.annotators.camera_params import replicator_projection
    from sdg_addon.frame import Camera

    cam = Camera("cam", W, H, "perspective", np.eye(4), FX, FX, CX, CY, 0.1, 100.0)
    params = (
        camera_params()
        if keys == "ours"
        else {
            "cameraModel": "pinhole",
            "cameraProjection": replicator_projection(cam).T.ravel().tolist(),
            "cameraViewTransform": cam.world_to_camera.T.ravel().tolist(),
            "renderProductResolution": [W, H],
        }
    )
    write_box_3d(dataset, params=params)
    row = (SEMANTIC_ID, -0.5, -0.5, -6.0, 0.5, 0.5, 1.0, np.eye(4), 0.0)
    io.write_npy(dataset / "bounding_box_3d_0000.npy", np.array([row], dtype=BBOX_3D_DTYPE))
    ff = viz.frame_files(dataset, 0)[0]
    (box,) = viz.load_boxes_3d(ff)[0]
    far = (0, 1, 2, 3)  # z_min: corners 0..3, 6 units in front
    drawn = [(a, b) for (a, b), edge in zip(viz.BOX_EDGES, box.edges) if edge is not None]
    assert len(drawn) == 8 and all(a in far or b in far for a, b in drawn)  # far face + 4 long edges
    # the long edge at x = y = -0.5: from its far corner (20 - 100 / 12, 15 + 100 / 12) out
    # along u - 20 = -(v - 15), to the image's bottom-left
    (p, q) = box.edges[viz.BOX_EDGES.index((0, 4))]
    assert p == pytest.approx((CX - FX * 0.5 / 6, CY + FX * 0.5 / 6))
    assert q[0] - CX == pytest.approx(-(q[1] - CY)) and q[0] < -1e3
    tile = viz.boxes_3d_image(ff, [box])
    assert px(tile, 6, 28) == rgb3(SEMANTIC_ID)  # on that line, near the image's corner
    assert px(tile, 6, 20) == (90, 90, 90)  # off it: the image


@pytest.mark.parametrize("mask", ["semantic", "none"])
def test_keypoints_over_a_semantic_mask_or_none_take_their_class_colour_as_their_box(dataset, mask):
    """Over the semantic mask (or none) the boxes take their class's colour, and keypoints
    took their instance's palette colour: one of another class (a box's keypoints in the
    cone's colour) or of nothing in the picture. They now take their class's, as their box."""
    write_keypoints(dataset)
    info = json.loads((dataset / "keypoints_info_0000.json").read_text())
    info["idToLabels"] = {str(SEMANTIC_ID): {"class": "mug"}}
    io.write_json(dataset / "keypoints_info_0000.json", info)
    ff = viz.frame_files(dataset, 0)[0]
    assert rgb3(INSTANCE_ID) != rgb3(SEMANTIC_ID)
    image = viz.overlay(ff, mask=mask, boxes=False)
    m, kind = viz._overlay_mask(ff, mask)
    (box,) = viz.load_boxes(ff)
    assert px(image, 3, 26) == viz._box_color(box, m, kind) == rgb3(SEMANTIC_ID)  # the dot
    assert px(viz.overlay(ff, mask=mask), BOX[0], BOX[1]) == rgb3(SEMANTIC_ID)  # its box's outline
    assert (
        px(viz.overlay(ff, mask="instance", boxes=False), 3, 26)
        == viz.load_mask(ff, "instance_segmentation").path_colors[PRIM]
    )  # over the instance mask: its instance's colour, as before


def test_a_visible_keypoint_is_not_covered_by_another_objects_skeleton(dataset):
    """Each object's lines, rings and dots were drawn in turn, so a later object's skeleton
    (and its dark halo) ran over an earlier object's visible dot; every dot is now drawn
    after every object's lines and rings."""
    rows = [
        (INSTANCE_ID, SEMANTIC_ID, 0, 20.5, 26.5, 2.0, 2),  # the mug's keypoint, visible
        (7, SEMANTIC_ID, 0, 5.5, 26.5, 2.0, 2),  # another object's two, joined by a line
        (7, SEMANTIC_ID, 1, 35.5, 26.5, 2.0, 2),  # through the mug's
    ]
    io.write_npy(dataset / "keypoints_0000.npy", np.array(rows, dtype=KEYPOINT_DTYPE))
    info = {"skeletons": {"7": [[0, 1]]}, "primPaths": {str(INSTANCE_ID): PRIM, "7": "/World/other"}}
    io.write_json(dataset / "keypoints_info_0000.json", info)
    ff = viz.frame_files(dataset, 0)[0]
    image = viz.overlay(ff, boxes=False)
    mug = viz.load_mask(ff, "instance_segmentation").path_colors[PRIM]
    assert px(image, 20, 26) == mug  # the dot, on top
    assert px(image, 12, 26) == rgb3(7)  # the other object's line, beside it


def test_nothing_behind_an_orthographic_cameras_plane_is_drawn_as_in_view(dataset):
    """An orthographic camera projects a point behind its plane into its image as it does one
    in front, but sees nothing there: the LiDAR tile counted and dotted the ground behind such a
    camera (1178 of 2381 points 'in view' of a level camera at 0.5 m), and 3D box edges ran on
    behind it. Such points are now out of view, and such an edge ends at the camera's plane."""
    params = {**camera_params("orthographic"), "fx": 10.0, "fy": 10.0}
    write_box_3d(dataset, params=params)
    folder = dataset / "roof" / "lidar"
    folder.mkdir(parents=True)
    points = np.array([[0.1, 0.2, -2.0, 0.5], [0.1, 0.2, 2.0, 0.5]], np.float32)  # in front, behind
    io.write_npy(folder / "lidar_0000.npy", points)
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
    ff = viz.frame_files(dataset, 0)[0]
    assert np.isfinite(viz.project_to_pixels(params, points[:, :3])).all()  # both in the image's rectangle
    assert viz.lidar_image(ff, viz.load_lidar_scans(ff))[1] == "LiDAR roof: 1 of 2 points in view"
    # a box turned 45 degrees about x, from 6 units in front to 1 behind (local z -6 .. 1): its
    # long edge at local x = y = -0.5 meets the camera's plane (world z = 0) at local z = 0.5
    c = np.cos(np.pi / 4)
    turn = np.array([[1, 0, 0, 0], [0, c, -c, 0], [0, c, c, 0], [0, 0, 0, 1]], dtype=np.float64)  # object-to-world
    row = (SEMANTIC_ID, -0.5, -0.5, -6.0, 0.5, 0.5, 1.0, turn.T, 0.0)
    io.write_npy(dataset / "bounding_box_3d_0000.npy", np.array([row], dtype=BBOX_3D_DTYPE))
    (box,) = viz.load_boxes_3d(ff)[0]
    p, q = box.edges[viz.BOX_EDGES.index((0, 4))]
    assert p == pytest.approx((CX - 5.0, CY - 10.0 * (-0.5 * c + 6.0 * c)))  # its corner 6 in front
    assert q == pytest.approx((CX - 5.0, CY - 10.0 * (-0.5 * c - 0.5 * c)), abs=1e-4)  # at the plane


def test_a_lidar_scans_wrong_pose_or_points_name_the_file_that_is_wrong(dataset):
    """A sensor_to_world that is no 4 x 4 matrix was said of the points file ('lidar_0000.npy:
    expected (N, 4) points and a 4 x 4 sensor_to_world'), the points file being right."""
    write_box_3d(dataset)
    folder = dataset / "roof" / "lidar"
    folder.mkdir(parents=True)
    io.write_npy(folder / "lidar_0000.npy", np.zeros((2, 4), np.float32))
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": [[1, 0, 0], [0, 1, 0]]})
    ff = viz.frame_files(dataset, 0)[0]
    with pytest.raises(ValueError, match=r"lidar_info_0000\.json: sensor_to_world \(2, 3\): expected a 4 x 4"):
        viz.load_lidar_scans(ff)
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
    io.write_npy(folder / "lidar_0000.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"lidar_0000\.npy: points \(2, 2\): expected \(N, 4\)"):
        viz.load_lidar_scans(ff)


def test_the_lidar_tile_names_a_lidar_as_its_run_does(tmp_path):
    """A LiDAR named "Dach über" writes into Dach_ber-7dc7603f/: the tile's caption said
    'LiDAR Dach_ber-7dc7603f: ...', where the report names it 'Dach über'; it now says the run's
    name (audit/resolved.json); a dataset made elsewhere keeps its folder's name."""
    from sdg_addon import output
    from sdg_addon.writers.paths import safe_name

    name = "Dach über"
    (tmp_path / "audit").mkdir()
    (tmp_path / output.MARKER).write_text(json.dumps({"tool": output.TOOL}))
    (tmp_path / "audit" / "resolved.json").write_text(json.dumps({"lidars": [{"name": name}]}))
    write_frame(tmp_path / "cam")
    write_box_3d(tmp_path / "cam")  # its camera_params
    folder = tmp_path / safe_name(name) / "lidar"
    folder.mkdir(parents=True)
    io.write_npy(folder / "lidar_0000.npy", np.array([[0.1, 0.2, -2.0, 0.5]], np.float32))
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
    ff = viz.frame_files(tmp_path, 0, "cam")[0]
    assert viz.lidar_image(ff, viz.load_lidar_scans(ff))[1] == "LiDAR Dach über: 1 of 1 points in view"
    (tmp_path / "audit" / "resolved.json").unlink()
    assert viz.lidar_image(ff, viz.load_lidar_scans(ff))[1] == f"LiDAR {safe_name(name)}: 1 of 1 points in view"


def test_lidar_points_outside_the_cameras_clip_range_are_not_in_view(dataset):
    """A LiDAR reaches farther than a camera's clip_end (a spinning_128's 200 m, a camera's
    100): the points beyond it were dotted over the sky the camera renders there and counted
    'in view'; as a keypoint there (visibility 0), they are not, nor those nearer than clip_start."""
    write_box_3d(dataset, params={**camera_params(), "cameraNearFar": [0.5, 100.0]})
    folder = dataset / "roof" / "lidar"
    folder.mkdir(parents=True)
    depths = [0.3, 2.0, 99.0, 150.0]  # straight ahead: the image's centre, each
    io.write_npy(folder / "lidar_0000.npy", np.array([[0, 0, -d, 0.5] for d in depths], np.float32))
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
    ff = viz.frame_files(dataset, 0)[0]
    assert viz.lidar_image(ff, viz.load_lidar_scans(ff))[1] == "LiDAR roof: 2 of 4 points in view"


@pytest.mark.parametrize("camera", ["cam", "clip_0002/cam"])
def test_a_cameras_folder_given_itself_draws_the_lidars_beside_it(tmp_path, camera):
    """`preview OUT/cam` (a camera's folder of a dataset with a LiDAR, OUT/roof/lidar/) left
    the LiDAR tile out, as if the run had none: its LiDARs' folders are beside it; a clip's
    folder given (its frames at its top) takes no other clip for a LiDAR."""
    from sdg_addon import output

    (tmp_path / "audit").mkdir()
    (tmp_path / output.MARKER).write_text(json.dumps({"tool": output.TOOL}))
    write_frame(tmp_path / camera)
    write_box_3d(tmp_path / camera)  # its camera_params
    folder = (tmp_path / camera).parent / "roof" / "lidar"
    folder.mkdir(parents=True)
    io.write_npy(folder / "lidar_0000.npy", np.array([[0.1, 0.2, -2.0, 0.5]], np.float32))
    io.write_json(folder / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
    (ff,) = viz.frame_files(tmp_path / camera, 0)
    assert ff.camera == ""
    (scan,) = viz.load_lidar_scans(ff)
    assert scan.sensor == "roof"
    if camera.startswith("clip"):  # the clip's folder given, its frames at its top: roof/ is a LiDAR
        write_frame(tmp_path / "clip_0003")
        io.write_npy(tmp_path / "clip_0003" / "lidar_0000.npy", np.zeros((1, 4), np.float32))
        io.write_json(tmp_path / "clip_0003" / "lidar_info_0000.json", {"sensor_to_world": np.eye(4).tolist()})
        write_box_3d(tmp_path / "clip_0002")
        (ff,) = viz.frame_files(tmp_path / "clip_0002", 0, "cam")
        assert [s.sensor for s in viz.load_lidar_scans(ff)] == ["roof"]
        write_frame(tmp_path / "clip_0002")
        (ff,) = viz.frame_files(tmp_path / "clip_0002", 0, "")
        assert [s.sensor for s in viz.load_lidar_scans(ff)] == ["roof"]  # not clip_0003's
    (tmp_path / output.MARKER).unlink()  # a dataset made elsewhere: only what lies in the folder given
    (ff,) = viz.frame_files(tmp_path / camera, 0)
    assert viz.load_lidar_scans(ff) == []
