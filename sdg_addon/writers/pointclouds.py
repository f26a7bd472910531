"""LiDAR point-cloud writers: KITTI / SemanticKITTI velodyne files and PCD (no bpy).

kitti_velodyne (the layout of SemanticKITTI, read by its API, OpenPCDet, mmdetection3d):
    kitti_velodyne/<lidar>/sequences/<clip:02d>/velodyne/<frame:06d>.bin
    kitti_velodyne/<lidar>/sequences/<clip:02d>/labels/<frame:06d>.label
    kitti_velodyne/<lidar>/sequences/<clip:02d>/poses.txt   (finalize(): one line per frame)
    kitti_velodyne/<lidar>/sequences/<clip:02d>/calib.txt   (finalize(): Tr = identity)
    kitti_velodyne/<lidar>/sequences/<clip:02d>/times.txt   (finalize(): one line per frame)
  .bin: float32 records (x, y, z, intensity), sensor frame (x forward, y left, z up).
  .label: uint32 per point, semantic id in the low 16 bits, instance id in the high 16
  (SemanticKITTI's encoding; semantic ids as the annotators': 1 unlabelled, 2+ classes;
  instance ids the hit object's own, an unlabelled object's too).
  Stills are sequence 00 numbered by run frame; clips are sequences numbered by clip, frames
  by the frame within the clip. poses.txt: the sensor's pose (12 numbers, row-major 3x4
  sensor -> world) per frame, as KITTI odometry's; calib.txt: `Tr` (velodyne -> the poses'
  frame) = identity, which SemanticKITTI's readers apply to poses.txt; times.txt: each scan's
  time in seconds, its frame number / sequence.fps (KITTI odometry's timestamps, from 0 at a
  clip's first frame), which 4D readers take the frame rate from (without it some assume
  KITTI's 10 Hz).
pcd (PCL's format, read by Open3D, PCL, CloudCompare):
    pcd/<lidar>/[clip_<clip:04d>/]<frame:06d>.pcd
  binary PCD v0.7, fields x y z intensity (float32), semantic instance (uint32), ring (uint16).
One sub-folder per LiDAR (by its name), always.
Both formats are in metres (KITTI's, PCL's and ROS's unit): x, y, z and the poses'
translations are Blender units times the frame's Camera.meters_per_unit (a base .blend's
unit scale), so a scene modelled in centimetres gives the files of the same scene in metres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..frame import AnnotatedFrame
from . import io
from .base import Writer, lost_pieces_message, register_writer
from .common import frame_padding, safe_name


class _LidarWriter(Writer):
    required_annotators = ("lidar",)
    sensors = ("lidar",)
    length_unit = "metres"
    folder_name = ""
    OPTIONS = {"frame_padding": frame_padding(6)}

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """The LiDAR's points."""
        return cls.required_annotators

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        self.root = Path(output_dir) / self.folder_name

    def sensor_root(self, frame: AnnotatedFrame) -> Path:
        return self.root / safe_name(frame.camera_name)

    def number(self, frame: AnnotatedFrame) -> str:
        index = frame.frame if frame.clip is None else frame.clip_frame
        return f"{index:0{self.options['frame_padding']}d}"


def points_in_metres(frame: AnnotatedFrame) -> np.ndarray:
    """The lidar annotation's (N, 4) x, y, z (Blender units), intensity as float32, x y z in
    metres by the frame's metres per Blender unit."""
    data = np.asarray(frame.annotations["lidar"]["data"], dtype="<f4")
    metres = frame.camera.meters_per_unit
    if metres == 1.0:
        return data
    data = data.copy()
    data[:, :3] = data[:, :3].astype(np.float64) * metres
    return data


# SemanticKITTI's poses.txt holds camera-0 poses, and its readers (semantic-kitti-api's
# generate_sequential, multi-scan loaders) take a scan's pose as Tr^-1 . pose . Tr with the
# `Tr` (velodyne -> camera 0) of the sequence's calib.txt: ours are the sensor's own poses,
# so Tr is the identity.
CALIB_TXT = "Tr: " + " ".join(f"{x:.12e}" for x in np.eye(4)[:3].ravel()) + "\n"


@register_writer
class KittiVelodyneWriter(_LidarWriter):
    name = "kitti_velodyne"
    summary = "LiDAR scans as KITTI / SemanticKITTI `velodyne/*.bin` + `labels/*.label` + `poses.txt`"
    folder_name = "kitti_velodyne"

    def sequence(self, frame: AnnotatedFrame) -> Path:
        return self.sensor_root(frame) / "sequences" / f"{frame.clip or 0:02d}"

    def write(self, frame: AnnotatedFrame) -> None:
        value = frame.annotations["lidar"]
        info, seq, n = value["info"], self.sequence(frame), self.number(frame)
        io.write_bytes(seq / "velodyne" / f"{n}.bin", np.ascontiguousarray(points_in_metres(frame)).tobytes())
        label = (info["semantic"].astype(np.uint32) & 0xFFFF) | (info["instance"].astype(np.uint32) << 16)
        io.write_bytes(seq / "labels" / f"{n}.label", label.astype("<u4").tobytes())
        pose = np.asarray(info["sensor_to_world"], dtype=np.float64)[:3].copy()
        pose[:, 3] *= frame.camera.meters_per_unit
        pose = pose.ravel()
        io.write_text(seq / "poses" / f"{n}.txt", " ".join(f"{x:.9e}" for x in pose) + "\n")
        if frame.fps:  # the scan's time: its number in the sequence / frames per second
            index = frame.frame if frame.clip is None else frame.clip_frame
            io.write_text(seq / "times" / f"{n}.txt", f"{index / frame.fps:.9e}\n")

    def removed_parts(self, finished: dict[int, dict], sensors: list[str], clips: bool) -> str | None:
        """poses.txt is rebuilt from the sequence's poses/*.txt alone (Writer.removed_parts):
        the pose files of finished frames of a sequence whose poses.txt exists must be there."""
        pad = self.options["frame_padding"]
        for lidar in sensors:
            expected: dict[Path, list[int]] = {}
            for f, rec in sorted(finished.items()):
                clip = rec.get("clip") if clips else None
                seq = self.root / safe_name(lidar) / "sequences" / f"{clip or 0:02d}"
                expected.setdefault(seq, []).append(rec.get("clip_frame", f) if clip is not None else f)
            for seq, numbers in expected.items():
                if not (seq / "poses.txt").is_file():
                    continue
                have = {p.name for p in (seq / "poses").glob("*.txt")} if (seq / "poses").is_dir() else set()
                missing = [n for n in numbers if f"{n:0{pad}d}.txt" not in have]
                if missing:
                    of = f"{len(numbers)} finished scan(s) of the sequence"
                    return lost_pieces_message(
                        self.name, seq / "poses", "pose files", missing, of, seq / "poses.txt", "poses"
                    )
        return None

    def finalize(self) -> None:
        """poses.txt per sequence from the per-frame pose files (frame order), calib.txt, and
        times.txt from the per-frame time files when every scan has one (parts written before
        there were times have none: no times.txt then, as before)."""
        if not self.root.is_dir():
            return
        for poses in sorted(self.root.rglob("poses")):
            if poses.is_dir():
                # In frame order: by number, not by name (with a frame_padding shorter than the
                # numbers, "10.txt" sorts before "2.txt" and line 2 was scan 10's).
                files = sorted(poses.glob("*.txt"), key=lambda p: (int(p.stem) if p.stem.isdigit() else -1, p.name))
                io.write_text(poses.parent / "poses.txt", "".join(p.read_text() for p in files))
                io.write_text(poses.parent / "calib.txt", CALIB_TXT)
                times = poses.parent / "times"
                if files and times.is_dir() and {p.name for p in times.glob("*.txt")} == {p.name for p in files}:
                    io.write_text(poses.parent / "times.txt", "".join((times / p.name).read_text() for p in files))


PCD_FIELDS = (("x", "F", 4), ("y", "F", 4), ("z", "F", 4), ("intensity", "F", 4), ("semantic", "U", 4),
              ("instance", "U", 4), ("ring", "U", 2))  # fmt: skip


def pcd_bytes(value: dict, data: np.ndarray | None = None) -> bytes:
    """A binary PCD v0.7 file of one lidar annotation (its points `data`, x y z intensity,
    when given: in metres)."""
    data, info = value["data"] if data is None else data, value["info"]
    n = len(data)
    records = np.zeros(n, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f4"),
                                 ("semantic", "<u4"), ("instance", "<u4"), ("ring", "<u2")])  # fmt: skip
    for k, name in enumerate(("x", "y", "z", "intensity")):
        records[name] = data[:, k]
    for name in ("semantic", "instance", "ring"):
        records[name] = info[name]
    header = "\n".join(
        [
            "# .PCD v0.7 - Point Cloud Data file format",
            "VERSION 0.7",
            "FIELDS " + " ".join(f[0] for f in PCD_FIELDS),
            "SIZE " + " ".join(str(f[2]) for f in PCD_FIELDS),
            "TYPE " + " ".join(f[1] for f in PCD_FIELDS),
            "COUNT " + " ".join("1" for _ in PCD_FIELDS),
            f"WIDTH {n}",
            "HEIGHT 1",
            "VIEWPOINT 0 0 0 1 0 0 0",
            f"POINTS {n}",
            "DATA binary",
        ]
    )
    return (header + "\n").encode("ascii") + records.tobytes()


@register_writer
class PcdWriter(_LidarWriter):
    name = "pcd"
    summary = "LiDAR scans as binary PCD (PCL, Open3D)"
    folder_name = "pcd"

    def write(self, frame: AnnotatedFrame) -> None:
        folder = self.sensor_root(frame)
        if frame.clip is not None:
            folder = folder / f"clip_{frame.clip:04d}"
        io.write_bytes(
            folder / f"{self.number(frame)}.pcd", pcd_bytes(frame.annotations["lidar"], points_in_metres(frame))
        )
