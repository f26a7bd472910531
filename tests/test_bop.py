"""BOP writer on hand-built frames (no bpy): an object cut by the image border gets BOP's
px_count_all (its whole silhouette, the part outside the image too), an unclipped
bbox_obj and visib_fract = visible / all; shards written in any order give the same files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_annotators import make_frame, perspective, screen_box, screen_quad

from sdg_addon import output
from sdg_addon.annotators import create_annotator
from sdg_addon.frame import AnnotatedFrame
from sdg_addon.writers import create_writer

NEEDED = ("rgb", "distance_to_image_plane", "instance_segmentation", "instance_segmentation_amodal", "object_pose")


def annotated(frame_data, index: int) -> AnnotatedFrame:
    frame_data.frame = index
    frame_data.passes.setdefault("rgb", np.zeros((frame_data.height, frame_data.width, 4), np.uint8))
    anns = {name: create_annotator(name).annotate(frame_data) for name in NEEDED}
    return AnnotatedFrame(index, "cam", anns, frame_data.label_table, frame_data.camera)


def scene():
    cam = perspective()  # 128 x 96, f = 100
    # A quad 40 px wide centred on the left border (u in [-20, 20]): half outside.
    cut = screen_quad(2, "card", cam, -20.0, 20.0, 30.0, 60.0, 4.0)
    box = screen_box(3, "box", cam, 80.0, 48.0, 0.5, 6.0)
    return cam, [cut, box]


def test_truncated_object_counts_its_whole_silhouette(tmp_path):
    cam, objects = scene()
    frame = annotated(make_frame(cam, objects), 0)
    w = create_writer("bop", tmp_path)
    w.set_run(frame.label_table, several_cameras=False)
    w.write(frame)
    w.finalize()
    info = json.loads((tmp_path / "bop" / "train_pbr" / "000000" / "scene_gt_info.json").read_text())["0"]
    gt = json.loads((tmp_path / "bop" / "train_pbr" / "000000" / "scene_gt.json").read_text())["0"]
    assert [g["obj_id"] for g in gt] == [2, 1]  # classes sorted: box = 1, card = 2; rows by instance id
    card = info[0]
    # Inside the image: columns 0..19 (centres 0.5 .. 19.5), rows 30..59: 20 x 30 pixels.
    assert card["px_count_visib"] == 600
    # The whole card: 40 x 30 = 1200 pixels, half of it outside.
    assert card["px_count_all"] == 1200 and card["visib_fract"] == pytest.approx(0.5)
    # bop_toolkit's boxes (misc.calc_2d_bbox): width = x_max - x_min, height likewise.
    assert card["bbox_visib"] == [0, 30, 19, 29]
    assert card["bbox_obj"] == [-20, 30, 39, 29]  # not clipped to the image
    assert card["px_count_valid"] == 600  # depth exists inside the image only
    box = info[1]
    assert box["visib_fract"] == 1.0 and box["bbox_obj"] == box["bbox_visib"]


def test_a_fully_occluded_objects_boxes_are_minus_ones_as_bop_toolkits(tmp_path):
    # bop_toolkit's calc_gt_info (and BlenderProc's) gives bbox_obj [-1] * 4 too when no
    # pixel is visible; a box of one pixel column (u in [60, 61]: centre 60.5) has width 0.
    cam = perspective()
    wall = screen_quad(2, "wall", cam, 10.0, 110.0, 10.0, 90.0, 2.0)
    hidden = screen_quad(3, "hidden", cam, 40.0, 60.0, 40.0, 60.0, 5.0)
    sliver = screen_quad(4, "sliver", cam, 60.0, 61.0, 92.0, 95.0, 3.0)
    frame = annotated(make_frame(cam, [wall, hidden, sliver]), 0)
    w = create_writer("bop", tmp_path)
    w.set_run(frame.label_table, several_cameras=False)
    w.write(frame)
    w.finalize()
    info = json.loads((tmp_path / "bop" / "train_pbr" / "000000" / "scene_gt_info.json").read_text())["0"]
    by_count = {i["px_count_all"]: i for i in info}
    hidden_info = by_count[400]  # 20 x 20 pixels, all behind the wall
    assert hidden_info["px_count_visib"] == 0 and hidden_info["visib_fract"] == 0.0
    assert hidden_info["bbox_obj"] == [-1, -1, -1, -1] and hidden_info["bbox_visib"] == [-1, -1, -1, -1]
    sliver_info = by_count[3]  # column 60, rows 92..94
    assert sliver_info["bbox_visib"] == sliver_info["bbox_obj"] == [60, 92, 0, 2]


def test_objects_seen_beyond_the_depth_pngs_range_are_warned(tmp_path):
    # The box is 6 m away: 0.05 mm steps reach 3.28 m, so its depth pixels were 0 without a
    # word (px_count_valid 0); the run now warns once, and not where the range holds it.
    cam, objects = scene()
    for depth_scale, warned in ((0.05, True), (0.1, False), (1.0, False)):
        out = tmp_path / str(depth_scale)
        w = create_writer("bop", out, depth_scale=depth_scale)
        for i in range(2):
            frame = annotated(make_frame(cam, objects), i)
            w.set_run(frame.label_table, several_cameras=False)
            w.write(frame)
        assert len(w.warnings) == int(warned), w.warnings
        if warned:
            assert "depth_scale x 65535 = 3276.75 mm" in w.warnings[0]
            assert "depth_scale = 0.05" in w.warnings[0]
        w.finalize()
        info = json.loads((out / "bop" / "train_pbr" / "000000" / "scene_gt_info.json").read_text())["0"]
        assert (info[1]["px_count_valid"] == 0) == warned


def test_bop_models_classes_written_with_other_obj_ids_are_warned(tmp_path):
    # A BlenderProc port (load_bop_objs as a pool of models/obj_*.ply, label_from = "file")
    # of a subset such as LM-O's wrote obj_000002 and obj_000005 as obj_id 1 and 2 without a
    # word, where write_bop keeps the dataset's ids; the run now says so and how to keep
    # them, and says nothing once [labels] declares every id up to the largest.
    cam = perspective()
    objects = [
        screen_box(2, "a", cam, 40.0, 48.0, 0.5, 6.0, labels={"class": ["obj_000002"]}),
        screen_box(3, "b", cam, 90.0, 48.0, 0.5, 6.0, labels={"class": ["obj_000005"]}),
    ]
    declared = {"class": [f"obj_{i:06d}" for i in range(1, 6)]}
    for values, ids in ((None, [1, 2]), (declared, [2, 5])):
        out = tmp_path / str(len(ids) if values is None else "declared")
        frame = annotated(make_frame(cam, objects, values=values), 0)
        w = create_writer("bop", out)
        w.set_run(frame.label_table, several_cameras=False)
        w.write(frame)
        w.finalize()
        gt = json.loads((out / "bop" / "train_pbr" / "000000" / "scene_gt.json").read_text())["0"]
        assert [g["obj_id"] for g in gt] == ids
        if values is None:
            assert len(w.warnings) == 1, w.warnings
            assert "obj_000002 as 1, obj_000005 as 2" in w.warnings[0]
            assert '[labels] class = ["obj_000001", ..., "obj_000005"]' in w.warnings[0]
        else:
            assert w.warnings == []
    # At the bounds: BOP's ids start at 1 (obj_000000 is no model's name, not warned of, where
    # the advice read '["obj_000001", ..., "obj_000000"]'); one id is listed as itself.
    from sdg_addon.writers.bop import bop_ids_note

    assert bop_ids_note(["obj_000000"], "class") is None
    assert bop_ids_note(["obj_000001"], "class") is None
    assert bop_ids_note(["mug", "obj_000001"], "class").endswith('[labels] class = ["obj_000001"]')


def test_shards_in_any_order_give_the_same_files(tmp_path):
    cam, objects = scene()
    frames = [annotated(make_frame(cam, objects), i) for i in range(3)]
    outs = []
    for order, name in (([0, 1, 2], "a"), ([2, 0, 1], "b")):
        w = create_writer("bop", tmp_path / name, frames_per_scene=2)
        w.set_run(frames[0].label_table, several_cameras=False)
        for i in order:
            w.write(frames[i])
        w.finalize()
        outs.append(tmp_path / name / "bop")
    for rel in ("train_pbr/000000/scene_gt.json", "train_pbr/000001/scene_camera.json", "models/models_info.json"):
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes()
    assert sorted(json.loads((outs[0] / "train_pbr/000000/scene_gt.json").read_text())) == ["0", "1"]
    assert sorted(json.loads((outs[0] / "train_pbr/000001/scene_gt.json").read_text())) == ["2"]


def test_models_are_the_first_frames_whichever_process_wrote_which_frame_first(tmp_path):
    """A model is the geometry of the first frame that shows it, and each pose rounds its
    vertices a little differently: a process (or shard) that wrote frame 1 before another
    wrote frame 0 left frame 1's model in bop/models/, so --procs, shards and one process
    wrote other bytes. Each writer now keeps its first frame's model in parts/ and
    finalize() copies the first finished frame's: the same bytes however the frames went."""
    import shutil

    cam, objects = scene()
    frames = [annotated(make_frame(cam, objects), i) for i in range(2)]
    for model in frames[1].annotations["object_pose"]["info"]["models"].values():
        model["vertices"] = model["vertices"] + np.float32(1e-6)  # another pose's rounding

    def writer(out):
        w = create_writer("bop", out)
        w.set_run(frames[0].label_table, several_cameras=False)
        return w

    def run(out, *writers_frames):
        output.activate(out)  # as a run (and merge) records what it writes
        try:
            for order in writers_frames:  # one writer per process, its frames in its order
                w = writer(out)
                for i in order:
                    w.write(frames[i])
            writer(out).finalize()  # the end of the run, or merge
        finally:
            output.deactivate(out)
        models = {p.name: p.read_bytes() for p in sorted((out / "bop" / "models").iterdir())}
        return models, sorted(p.name for p in (out / "bop" / "parts").iterdir())

    one = run(tmp_path / "one", [0, 1])
    assert set(one[0]) == {"obj_000001.ply", "obj_000002.ply", "models_info.json"}
    assert one[1] == ["obj_000001.000000.ply", "obj_000002.000000.ply", "train_pbr"]  # the same files in parts/
    assert run(tmp_path / "procs", [1], [0]) == one  # the process of frame 1 wrote first
    run(tmp_path / "shard1", [1])
    run(tmp_path / "shard0", [0])
    for first, second in (("shard1", "shard0"), ("shard0", "shard1")):  # copied together, then merged
        joined = tmp_path / f"joined-{first}"
        shutil.copytree(tmp_path / first, joined)
        shutil.copytree(tmp_path / second, joined, dirs_exist_ok=True)
        # Two processes' records of what they wrote (one name here: one test process).
        record = next((tmp_path / first / "audit" / "written").iterdir())
        shutil.copy(record, joined / "audit" / "written" / f"other-{record.name}")
        assert run(joined) == one
    # A later frame's model the tool did not write (a user's file under its name) is never removed.
    mine = tmp_path / "mine"
    run(mine, [0, 1])
    theirs = mine / "bop" / "parts" / "obj_000001.000001.ply"  # frame 1 is finished: a tool's would go
    theirs.write_bytes(b"a user's file")
    run(mine)
    assert theirs.read_bytes() == b"a user's file"


def boxes(second_size: float):
    """Two cubes labelled 'box', the second of edge `second_size` (the first 0.5 m)."""
    cam = perspective()
    return cam, [
        screen_box(2, "box_a", cam, 40.0, 48.0, 0.5, 6.0, labels={"class": ["box"]}),
        screen_box(3, "box_b", cam, 90.0, 48.0, second_size, 6.0, labels={"class": ["box"]}),
    ]


def test_objects_of_one_label_with_another_scale_are_refused_before_any_file(tmp_path):
    """BOP has one model per obj_id: a second 'box' 1 % larger would be written with the
    first one's model and poses that no longer place it; refused, naming both sizes, and
    nothing of the frame written. The same cube again (float noise only) is accepted."""
    cam, objects = boxes(0.505)
    frame = annotated(make_frame(cam, objects), 0)
    w = create_writer("bop", tmp_path / "scaled")
    w.set_run(frame.label_table, several_cameras=False)
    with pytest.raises(ValueError, match=r"box_b.*'box'.*\[500\.0, 500\.0, 500\.0\] mm.*\[505\.0, 505\.0, 505\.0\] mm"):
        w.write(frame)
    assert not (tmp_path / "scaled" / "bop").exists()

    cam, objects = boxes(0.5)
    same = annotated(make_frame(cam, objects), 0)
    w = create_writer("bop", tmp_path / "same")
    w.set_run(same.label_table, several_cameras=False)
    w.write(same)
    w.finalize()
    gt = json.loads((tmp_path / "same" / "bop" / "train_pbr" / "000000" / "scene_gt.json").read_text())["0"]
    assert [g["obj_id"] for g in gt] == [1, 1]


def test_objects_of_one_label_with_the_same_extent_but_another_mesh_are_refused(tmp_path):
    """A cube and an octahedron of one extent (0.5 m) labelled 'box': the octahedron's
    poses were written against the cube's model (its mask 30 % smaller than the model
    drawn there) without a word, as the extents agreed; refused now by the diameter,
    naming both, and nothing of the frame written."""
    from test_annotators import make_object, translate, x_at, y_at

    cam = perspective()
    centre = np.array([x_at(cam, 90.0, 6.0), y_at(cam, 48.0, 6.0), -6.0])
    tips = [centre + sign * 0.25 * axis for axis in np.eye(3) for sign in (1, -1)]  # +x -x +y -y +z -z
    tris = [(tips[a], tips[b], tips[c]) for a in (0, 1) for b in (2, 3) for c in (4, 5)]
    octahedron = make_object(
        3, "octa", tris, {"class": ["box"]}, translate(*centre), np.full(3, -0.25), np.full(3, 0.25)
    )
    cube = screen_box(2, "cube", cam, 40.0, 48.0, 0.5, 6.0, labels={"class": ["box"]})
    frame = annotated(make_frame(cam, [cube, octahedron]), 0)
    w = create_writer("bop", tmp_path)
    w.set_run(frame.label_table, several_cameras=False)
    with pytest.raises(ValueError, match=r"octa.*'box'.*same extent.*diameter 866\.0 mm.*500\.0 mm"):
        w.write(frame)
    assert not (tmp_path / "bop").exists()


def test_a_later_frame_or_a_resumed_run_is_checked_against_the_model_written(tmp_path):
    """Scale randomized per frame: frame 1's box differs from the model frame 0 wrote, in
    the same writer and in a new one (a resumed run, another process) that reads it back."""
    cam, objects = boxes(0.5)
    first = annotated(make_frame(cam, objects[:1]), 0)
    w = create_writer("bop", tmp_path)
    w.set_run(first.label_table, several_cameras=False)
    w.write(first)
    cam, objects = boxes(0.6)
    later = annotated(make_frame(cam, objects[1:]), 1)
    with pytest.raises(ValueError, match=r"600\.0, 600\.0, 600\.0\] mm"):
        w.write(later)
    resumed = create_writer("bop", tmp_path)
    resumed.set_run(later.label_table, several_cameras=False)
    with pytest.raises(ValueError, match=r"model is \[500\.0, 500\.0, 500\.0\] mm across"):
        resumed.write(later)


def test_an_orthographic_camera_is_refused_before_any_file(tmp_path):
    """BOP's cam_K is a pinhole camera: an orthographic camera's affine K (pixels per metre)
    written as cam_K puts every model that bop_toolkit renders from its pose in the wrong
    place. The writer refuses the frame (a .blend's camera) and validate the parameter file."""
    from test_annotators import orthographic

    _cam, objects = boxes(0.5)
    frame = annotated(make_frame(orthographic(), objects), 0)
    w = create_writer("bop", tmp_path / "ortho")
    w.set_run(frame.label_table, several_cameras=False)
    with pytest.raises(ValueError, match=r"camera 'cam' is orthographic: BOP's cam_K describes a perspective"):
        w.write(frame)
    assert not (tmp_path / "ortho" / "bop").exists()


def test_validate_refuses_an_orthographic_camera_with_the_bop_writer(tmp_path, capsys):
    from pathlib import Path

    from headless.cli import EXIT_INVALID, EXIT_OK, main

    text = (Path(__file__).resolve().parent.parent / "presets" / "default.toml").read_text()
    text = text.replace("basic = {}", "basic = {}\nbop = {}")
    perspective_file = tmp_path / "perspective.toml"
    perspective_file.write_text(text)
    assert main(["validate", str(perspective_file)]) == EXIT_OK
    camera = 'name = "camera"\n'
    assert camera in text
    ortho_file = tmp_path / "ortho.toml"
    ortho_file.write_text(text.replace(camera, camera + 'projection = "orthographic"\n', 1))
    assert main(["validate", str(ortho_file)]) == EXIT_INVALID
    assert 'cameras[0].projection: got "orthographic"; expected "perspective" with the bop writer' in "".join(
        capsys.readouterr()
    )


def test_bop_rgb_as_jpeg_as_bop_toolkit_reads_pbr_splits(tmp_path):
    # bop_toolkit's dataset_params gives *_pbr splits rgb_ext ".jpg" (BlenderProc's JPEGs).
    cam, objects = scene()
    frame = annotated(make_frame(cam, objects), 0)
    w = create_writer("bop", tmp_path, image_format="jpg")
    w.set_run(frame.label_table, several_cameras=False)
    w.write(frame)
    w.finalize()
    rgb = tmp_path / "bop" / "train_pbr" / "000000" / "rgb"
    assert [p.name for p in rgb.iterdir()] == ["000000.jpg"]
    assert (rgb / "000000.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


def test_val_every_puts_frames_in_the_val_split_of_the_splits_type(tmp_path):
    """val_every beside the default train_pbr wrote val/, where bop_toolkit's
    get_split_params reads split "val" of split_type "pbr" from val_pbr/ (its folders are
    <split>_<type>): the val frames now go to val_pbr/; a split of no BOP type to val/."""
    from sdg_addon.config.problems import OptionError

    cam, objects = scene()
    frames = [annotated(make_frame(cam, objects), i) for i in range(4)]
    for split, folders in (
        ({}, ["models", "parts", "train_pbr", "val_pbr"]),
        ({"split": "train"}, ["models", "parts", "train", "val"]),
        ({"split": "test_primesense"}, ["models", "parts", "test_primesense", "val_primesense"]),
    ):
        out = tmp_path / (split.get("split") or "default")
        w = create_writer("bop", out, val_every=2, **split)
        w.set_run(frames[0].label_table, several_cameras=False)
        for f in frames:
            w.write(f)
        w.finalize()
        assert sorted(p.name for p in (out / "bop").iterdir() if p.is_dir()) == folders
        val = out / "bop" / folders[-1] / "000000"
        assert sorted(json.loads((val / "scene_gt.json").read_text())) == ["0", "2"]
        assert sorted(p.name for p in (val / "rgb").iterdir()) == ["000000.png", "000002.png"]
    with pytest.raises(OptionError, match="'val' split only in case"):
        create_writer("bop", tmp_path / "case", split="Val", val_every=2)
    create_writer("bop", tmp_path / "case", split="val_pbr", val_every=2)  # every frame in val_pbr
