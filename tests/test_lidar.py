"""LiDAR without Blender: ray patterns, presets, the annotator's noise / dropout /
intensity, the KITTI velodyne and PCD writers read back by real readers, config rules."""

from __future__ import annotations

import numpy as np
import pytest

from sdg_addon.annotators.lidar import PRESETS, Lidar, LidarPattern
from sdg_addon.config import ConfigError, load_config
from sdg_addon.frame import AnnotatedFrame, Camera, FrameData, LabelTable, SceneObject
from sdg_addon.writers import create_writer

CAMERA = '[[cameras]]\nname = "cam"\nlocation = [0, -2, 1]\n'


@pytest.mark.parametrize(
    "name, channels", [("spinning_16", 16), ("spinning_32", 32), ("spinning_64", 64), ("spinning_128", 128)]
)
def test_spinning_presets(name, channels):
    p = PRESETS[name]
    pattern = LidarPattern(p["model"], p["channels"], tuple(p["vertical_fov"]), 360.0, p["columns"])
    d = pattern.directions()
    assert d.shape == (channels, p["columns"], 3)
    assert np.allclose(np.linalg.norm(d, axis=-1), 1.0)
    el = np.degrees(np.arcsin(d[:, 0, 2]))
    assert np.isclose(el[0], p["vertical_fov"][1]) and np.isclose(el[-1], p["vertical_fov"][0])
    az = np.degrees(np.arctan2(d[0, :, 1], d[0, :, 0]))
    step = 360.0 / p["columns"]
    assert np.isclose(az[0], 180 - step / 2) and np.allclose(np.diff(az)[1:-1][np.abs(np.diff(az)[1:-1]) < 180], -step)


def test_a_spinning_sensor_below_360_degrees_sweeps_a_sector_centred_on_forward():
    """annotators.md said a spinning LiDAR is 'a full sweep of 360 degrees'; with a
    horizontal_fov below 360 it sweeps that sector, centred on forward, as the docs now say."""
    az = LidarPattern("spinning", 1, (0.0, 0.0), 90.0, 4).azimuths()
    assert np.allclose(az, [33.75, 11.25, -11.25, -33.75])  # within +-45 degrees: nothing behind


def test_solid_state_grid_is_centred_on_forward():
    pattern = LidarPattern("solid_state", 3, (-10.0, 10.0), 120.0, 4)
    d = pattern.directions()
    assert np.allclose(pattern.azimuths(), [45, 15, -15, -45])
    assert np.allclose(d[1, :, 2], 0.0)  # the middle channel is level
    assert (d[..., 0] > 0).all()  # all forward


def _lidar_frame(distance, reflectance=0.5, cos=1.0, noise=0.0, dropout=0.0, seed=1, frame=0, min_range=0.0):
    shape = distance.shape
    dirs = np.zeros(shape + (3,), np.float32)
    dirs[..., 0] = 1.0
    hits = {
        "distance": distance,
        "instance": np.where(np.isfinite(distance), 2, 0).astype(np.uint32),
        "cos_incidence": np.full(shape, cos, np.float32),
        "reflectance": np.full(shape, reflectance, np.float32),
        "directions": dirs,
        "seed": seed,
        "index": 0,
        "spec": {"range_noise": noise, "dropout": dropout, "min_range": min_range, "max_range": 100.0},
    }
    cam = Camera("top", shape[1], shape[0], "lidar", np.eye(4), 0, 0, 0, 0, min_range, 100.0)
    objs = {2: SceneObject(2, "wall", "/wall", {"class": ["wall"]}, np.eye(4), np.zeros(3), np.ones(3))}
    return FrameData(frame, cam, {"lidar": hits}, objs, LabelTable({"class": ["wall"]}), sensor="lidar")


def test_annotator_exact_noise_dropout_intensity():
    distance = np.full((8, 500), 10.0)
    distance[0, :10] = np.inf  # misses
    distance[1, :10] = 0.2  # nearer than min_range
    exact = Lidar().annotate(_lidar_frame(distance, reflectance=0.5, cos=0.6, min_range=0.5))
    assert len(exact["data"]) == 8 * 500 - 20
    assert (exact["info"]["range"] == 10.0).all() and np.allclose(exact["data"][:, 0], 10.0)
    assert np.allclose(exact["data"][:, 3], 0.3)  # reflectance x cos(incidence)
    assert (exact["info"]["semantic"] == 2).all() and (exact["info"]["instance"] == 2).all()
    assert exact["info"]["ring"][0] == 0 and exact["info"]["column"][0] == 10
    noisy = Lidar().annotate(_lidar_frame(distance, noise=0.05, min_range=0.5))
    err = noisy["info"]["range"] - 10.0
    assert np.abs(err).max() < 5 * 0.05 and 0.045 < err.std() < 0.055 and abs(err.mean()) < 0.005
    again = Lidar().annotate(_lidar_frame(distance, noise=0.05, min_range=0.5))
    assert np.array_equal(noisy["data"], again["data"])  # seeded by (seed, frame, lidar)
    other = Lidar().annotate(_lidar_frame(distance, noise=0.05, min_range=0.5, frame=1))
    assert not np.array_equal(noisy["data"], other["data"])
    dropped = Lidar().annotate(_lidar_frame(np.full((10, 1000), 5.0), dropout=0.3))
    assert 0.67 < len(dropped["data"]) / 10000 < 0.73
    assert len(Lidar().annotate(_lidar_frame(np.full((2, 3), 5.0), dropout=1.0))["data"]) == 0


def test_unlabelled_objects_keep_their_own_instance_id():
    """docs/annotators.md: a return's instance is the hit object's own id, labelled or not
    (instance_segmentation gives an unlabelled object 1); its semantic id is UNLABELLED (1)."""
    f = _lidar_frame(np.full((2, 4), 5.0))
    f.passes["lidar"]["instance"][:, 2:] = 3
    f.objects[3] = SceneObject(3, "ground", "/ground", {}, np.eye(4), np.zeros(3), np.ones(3))
    info = Lidar().annotate(f)["info"]
    assert info["instance"].tolist() == [2, 2, 3, 3] * 2 and info["semantic"].tolist() == [2, 2, 1, 1] * 2


def _annotated(clip=None, clip_frame=None, frame=3, fps=None):
    f = _lidar_frame(np.full((4, 6), 7.0), reflectance=0.25)
    value = Lidar().annotate(f)
    value["info"]["semantic"][:3] = 1  # a few unlabelled returns
    return AnnotatedFrame(
        frame,
        "top",
        {"lidar": value},
        f.label_table,
        f.camera,
        clip=clip,
        clip_frame=clip_frame,
        fps=fps,
        sensor="lidar",
    ), value


def test_kitti_velodyne_files_read_like_semantickitti(tmp_path):
    w = create_writer("kitti_velodyne", tmp_path)
    w.set_run(LabelTable(), False)
    frame, value = _annotated()
    w.write(frame)
    seq = tmp_path / "kitti_velodyne" / "top" / "sequences" / "00"
    scan = np.fromfile(seq / "velodyne" / "000003.bin", dtype=np.float32).reshape(-1, 4)  # SemanticKITTI's reader
    assert np.array_equal(scan, value["data"])
    label = np.fromfile(seq / "labels" / "000003.label", dtype=np.uint32)
    assert np.array_equal(label & 0xFFFF, value["info"]["semantic"]) and (label >> 16 == 2).all()
    frame, _ = _annotated(clip=4, clip_frame=1, frame=9)
    w.write(frame)
    w.finalize()
    assert (tmp_path / "kitti_velodyne" / "top" / "sequences" / "04" / "velodyne" / "000001.bin").is_file()
    poses = (seq / "poses.txt").read_text().split()
    assert [float(x) for x in poses] == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    # semantic-kitti-api's generate_sequential (parse_calibration, parse_poses): every
    # sequence has a calib.txt whose Tr turns poses.txt into the scan's pose unchanged.
    for folder in (seq, seq.parent / "04"):
        calib = {}
        for line in (folder / "calib.txt").read_text().splitlines():
            key, content = line.strip().split(":")
            calib[key] = np.vstack([np.array([float(v) for v in content.split()]).reshape(3, 4), [0, 0, 0, 1]])
        tr = calib["Tr"]
        pose = np.vstack([np.loadtxt(folder / "poses.txt").reshape(3, 4), [0, 0, 0, 1]])
        assert np.array_equal(np.linalg.inv(tr) @ pose @ tr, pose)


def test_kitti_velodyne_sequences_have_times_at_the_runs_frame_rate(tmp_path):
    """KITTI odometry / SemanticKITTI sequences hold times.txt, each scan's time in seconds;
    4D readers (4D-PLS-style SemanticKITTISequence.parse_times) take the frame rate from it
    and without it assume KITTI's 10 Hz: a 12 fps clip read as 10 Hz. One line per scan, as
    poses.txt, frame / sequence.fps from 0 at the clip's first frame (written last first:
    the parts join in frame order)."""
    w = create_writer("kitti_velodyne", tmp_path)
    w.set_run(LabelTable(), False)
    for i in (2, 0, 1):
        w.write(_annotated(clip=5, clip_frame=i, frame=15 + i, fps=12.0)[0])
    w.write(_annotated(frame=7, fps=12.0)[0])  # a still: sequence 00, by run frame
    w.finalize()
    seqs = tmp_path / "kitti_velodyne" / "top" / "sequences"
    times = np.loadtxt(seqs / "05" / "times.txt")
    assert np.allclose(times, [0, 1 / 12, 2 / 12], rtol=1e-9, atol=0)
    assert len(times) == len(np.loadtxt(seqs / "05" / "poses.txt").reshape(-1, 12)) == 3
    assert np.allclose(np.loadtxt(seqs / "00" / "times.txt", ndmin=1), [7 / 12])
    bare = tmp_path / "bare"  # frames that do not say their rate (made by hand): no times
    w = create_writer("kitti_velodyne", bare)
    w.set_run(LabelTable(), False)
    w.write(_annotated()[0])
    w.finalize()
    assert not (bare / "kitti_velodyne" / "top" / "sequences" / "00" / "times.txt").exists()


def test_kitti_velodyne_poses_and_times_are_in_frame_order_whatever_the_padding(tmp_path):
    """poses.txt and times.txt are one line per frame in frame order; finalize() sorted the
    per-frame files by name, so with frame_padding = 1 and 12 frames line 2 was scan 10's
    pose and time (0, 0.1, 1.0, 1.1, 0.2, ...)."""
    w = create_writer("kitti_velodyne", tmp_path, frame_padding=1)
    w.set_run(LabelTable(), False)
    for i in range(12):
        frame, value = _annotated(clip=0, clip_frame=i, frame=i, fps=10.0)
        value["info"]["sensor_to_world"] = [[1, 0, 0, float(i)], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
        w.write(frame)
    w.finalize()
    seq = tmp_path / "kitti_velodyne" / "top" / "sequences" / "00"
    assert np.loadtxt(seq / "poses.txt")[:, 3].tolist() == list(range(12))
    assert np.allclose(np.loadtxt(seq / "times.txt"), np.arange(12) / 10.0, rtol=1e-9, atol=0)


def test_pcd_file_reads_with_pypcd4(tmp_path):
    pypcd4 = pytest.importorskip("pypcd4")
    w = create_writer("pcd", tmp_path)
    w.set_run(LabelTable(), False)
    frame, value = _annotated(clip=2, clip_frame=5)
    w.write(frame)
    pc = pypcd4.PointCloud.from_path(tmp_path / "pcd" / "top" / "clip_0002" / "000005.pcd")
    assert pc.fields == ("x", "y", "z", "intensity", "semantic", "instance", "ring")
    arr = pc.numpy()
    assert np.allclose(arr[:, :4], value["data"])
    assert np.array_equal(arr[:, 4].astype(np.uint32), value["info"]["semantic"])
    assert np.array_equal(arr[:, 6].astype(np.uint16), value["info"]["ring"])


def test_lidar_section(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(CAMERA + '[[lidars]]\nname = "top"\npreset = "spinning_32"\ncolumns = 1024\nrange_noise = 0.02\n')
    s = load_config(p).lidars[0]
    assert (s.model, s.channels, s.fov_down, s.fov_up, s.columns, s.horizontal_fov) == (
        "spinning",
        32,
        -30.67,
        10.67,
        1024,
        360.0,
    )
    p.write_text(CAMERA + '[[lidars]]\nname = "s"\npreset = "solid_state"\n')
    assert load_config(p).lidars[0].horizontal_fov == 120.0
    p.write_text(CAMERA + '[[lidars]]\nname = "top"\n')
    assert load_config(p).lidars[0].channels == 64  # default preset
    bad = (
        CAMERA
        + '[[lidars]]\nname = "cam"\nfov_down = 5.0\nfov_up = 2.0\ndropout = 1.5\nchannels = 0\npreset = "hdl64"\n'
        + "min_range = 200.0\n"
    )
    p.write_text(bad)
    with pytest.raises(ConfigError) as info:
        load_config(p)
    fields = {x.field for x in info.value.problems}
    assert {
        "lidars[0].name",
        "lidars[0].fov_down",
        "lidars[0].dropout",
        "lidars[0].channels",
        "lidars[0].preset",
    } <= fields
    p.write_text(CAMERA + '[[lidars]]\nname = "top"\nmount = "camm"\n')
    with pytest.raises(ConfigError) as info:
        load_config(p)
    assert "'cam'" in info.value.problems[0].expected and info.value.problems[0].field == "lidars[0].mount"
    p.write_text(CAMERA + '[[lidars]]\nname = "top"\ndropout = 1.0\nchannels = 1024\nmount = "cam"\n')  # the limits
    assert load_config(p).lidars[0].dropout == 1.0


@pytest.mark.parametrize("limit, past", [((1024, 4096), (1024, 4097)), ((64, 65536), (65, 65536))])
def test_a_scan_of_at_most_2_to_the_22_rays(tmp_path, limit, past):
    """channels x columns is bounded (the fields' own bounds allowed 1024 x 65536 rays, ~40 GB
    while cast): 2^22 rays are accepted, a column or a channel more is refused, naming the
    columns the channels allow."""
    p = tmp_path / "p.toml"
    for (channels, columns), ok in ((limit, True), (past, False)):
        p.write_text(CAMERA + f'[[lidars]]\nname = "top"\nchannels = {channels}\ncolumns = {columns}\n')
        if ok:
            assert load_config(p).lidars[0].columns == columns
            continue
        with pytest.raises(ConfigError) as info:
            load_config(p)
        (problem,) = info.value.problems
        assert problem.field == "lidars[0].columns"
        assert f"at most {(1 << 22) // channels:,} with {channels} channels" in problem.expected


@pytest.mark.parametrize("writer", ["kitti_velodyne", "pcd", "basic"])
def test_lidar_names_never_lead_outside_the_folder(tmp_path, writer):
    out = tmp_path / "a" / "out"
    w = create_writer(writer, out)
    w.set_run(LabelTable(), True)
    for i, name in enumerate(["../../escape", "/etc/passwd", "a/b", "..", "C:\\x"]):
        frame, _ = _annotated(frame=i)
        frame.camera_name = name
        w.write(frame)
    w.finalize()
    inside = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert inside and all(out in p.parents for p in inside)


def test_the_unit_scale_warning_gives_the_lidars_ranges_in_metres(tmp_path):
    """In a base .blend in centimetres a LiDAR's ranges are Blender units, also its preset's
    max_range (a real sensor's metres): a spinning_16 reached 1 m and its scans were empty,
    the warning saying only that the file's lengths are Blender units. It now names each
    LiDAR's range in metres and the value for a range in metres."""
    from sdg_addon.annotators.lidar import ranges_note

    p = tmp_path / "p.toml"
    p.write_text(
        '[[cameras]]\nname = "cam"\nlocation = [0, -4, 1]\n[[lidars]]\nname = "roof"\npreset = "spinning_16"\n'
    )
    lidars = load_config(p).lidars
    note = ranges_note(lidars, 0.01)
    assert "'roof' 0.5 .. 100 (0.005 .. 1 m)" in note, note
    assert "max_range = 10000 for 100 m" in note, note
    assert ranges_note(lidars, 1.0) == "" and ranges_note([], 0.01) == ""


def test_channels_at_one_elevation_are_refused(tmp_path):
    """fov_up = fov_down = 0 (a planar scanner, a 2D laser) kept the preset's 64 channels:
    64 rings at one elevation cast every ray 64 times, each point 64 times in every scan and
    .bin, validate saying OK. More than one channel there is refused naming channels; one
    channel, or fov_down just below fov_up, is taken."""
    p = tmp_path / "p.toml"
    for extra, ok in (
        ("fov_up = 0\nfov_down = 0\n", False),
        ("fov_up = 0\nfov_down = 0\nchannels = 1\n", True),
        ("fov_up = 0\nfov_down = -0.001\n", True),
        ("fov_up = 5\nfov_down = 5\nchannels = 2\n", False),
    ):
        p.write_text(CAMERA + f'[[lidars]]\nname = "top"\n{extra}')
        if ok:
            assert load_config(p).lidars[0].fov_up == 0
            continue
        with pytest.raises(ConfigError) as info:
            load_config(p)
        (problem,) = info.value.problems
        assert problem.field == "lidars[0].channels" and "a planar scanner is channels = 1" in problem.expected


def test_a_scan_whose_every_hit_is_nearer_than_min_range_is_warned():
    """A LiDAR mounted at a box's origin (inside it) had every ray end on the box's own faces,
    nearer than min_range: every scan empty, in every frame, without a word. Such a frame is
    now warned, naming the LiDAR and min_range; a scan with one return, or whose rays met
    nothing (an empty sky), is not."""
    from sdg_addon.sink import lidar_warnings

    inside = np.full((4, 6), 0.2)
    inside[0, :3] = np.inf  # rays that met nothing
    (text,) = lidar_warnings(_lidar_frame(inside, min_range=0.5, frame=7))
    assert text.startswith("frame 7, LiDAR top: no return: each of its 21 rays that met a surface met it nearer than")
    assert "min_range (0.5)" in text and "lidars[].location" in text
    one = inside.copy()
    one[3, 5] = 10.0  # one return in range
    assert lidar_warnings(_lidar_frame(one, min_range=0.5)) == []
    assert lidar_warnings(_lidar_frame(np.full((4, 6), np.inf), min_range=0.5)) == []


def test_a_lidar_may_ride_on_a_pool_member_or_a_model_files_mesh(tmp_path):
    """mount = "prop_000" (a pool's member) was refused before the scene was built, 'did you
    mean prop?', and prop, no object, then refused once built: no pool member could carry a
    LiDAR. A model file's mesh (car/Body) likewise. Their names are known once the scene is
    built, and checked then; an entry of count 2 offers NAME_000, NAME_001, not NAME."""
    (tmp_path / "pool").mkdir()
    for name in ("a.glb", "b.glb"):
        (tmp_path / "pool" / name).write_bytes(b"glTF")
    (tmp_path / "car.glb").write_bytes(b"glTF")
    p = tmp_path / "p.toml"
    assets = (
        '[[assets]]\nname = "prop"\nfiles = "pool/*.glb"\n'
        '[[assets]]\nname = "car"\nfile = "car.glb"\n'
        '[[assets]]\nname = "box"\nprimitive = "cube"\ncount = 2\n'
    )
    for mount in ("prop_000", "prop_001/Cube", "car", "car/Body", "box_001"):
        p.write_text(CAMERA + assets + f'[[lidars]]\nname = "top"\nmount = "{mount}"\n')
        assert load_config(p).lidars[0].mount == mount
    p.write_text(CAMERA + assets + '[[lidars]]\nname = "top"\nmount = "box"\n')
    with pytest.raises(ConfigError) as info:
        load_config(p)
    (problem,) = info.value.problems
    assert problem.field == "lidars[0].mount" and "'box_000', 'box_001'" in problem.expected
    assert "'box'," not in problem.expected, problem.expected
