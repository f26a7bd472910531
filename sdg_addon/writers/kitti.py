"""KITTI object writer: image_2, label_2 and calib as the KITTI 3D object benchmark lays
them out, so KITTI readers (devkit, mmdetection3d, OpenPCDet...) load them.

    kitti/[<camera>/]training/image_2/<frame>.png
    kitti/[<camera>/]training/calib/<frame>.txt
    kitti/[<camera>/]training/label_2/<frame>.txt
    kitti/<camera>/training/image_3/<frame>.png  a stereo pair's left camera: the right one's image
    kitti/[<camera>/]ImageSets/<split>.txt      frame numbers per split (finalize())

One folder per camera when the run has several (KITTI's indices are plain numbers).
label_2 lines: type truncated occluded alpha left top right bottom h w l x y z rotation_y.
- type: the label value (whitespace -> "_"); labels that become one type this way
  ("box cut", "box_cut") are named in a warning of the run: KITTI's readers take them for
  one class.
- truncated: info truncationRatio (0 = fully inside the image .. 1 = fully outside).
- occluded: from occlusionRatio r: 0 if r < 0.1 (fully visible), 1 if r < 0.5 (partly
  occluded), 2 otherwise (largely occluded), 3 if unknown (NaN or negative).
- left top right bottom: the tight 2D box in pixel-edge coordinates (right = x_max + 1),
  so right - left is the COCO box width.
- Camera coordinates are OpenCV's (x right, y down, z forward), metres: Blender units (the
  annotations') times the frame's Camera.meters_per_unit (a base .blend's unit scale), so a
  scene modelled in centimetres gives the labels of the same scene in metres (and an
  orthographic camera's P its pixels per metre).
- Object axes, per object: h (height) along the local axis (+-X, +-Y or +-Z) closest to up
  (local Z for an upright Blender object), l (length) along the first other of X, Y, Z
  (X unless X is up), w (width) along the third; dimensions include the object's scale.
  An object upside down or on its side is thus an upright box, exactly.
- The label frame is KITTI's level camera: the camera's position, y straight down (world
  -Z), z the camera's viewing direction made horizontal, x = y cross z. KITTI boxes turn
  only about that y axis, so objects resting on a face are exact whatever the camera's
  pitch and roll. KITTI's label boxes are in rectified camera coordinates, which the devkit
  (computeBox3D with readCalibration's P2), kitti_util, OpenPCDet and mmdetection3d project
  with P2 alone; so P0..P3 carry the camera's tilt, P = [K | 0] @ [T | 0] with T the
  rotation level -> camera (x_camera = T @ x_level), and R0_rect = I: P2 @ [x, y, z, 1] of a
  box corner is exact for any camera pose. For a level camera T = I and P2 = [K | 0]; for a
  tilted one, P2's left 3x3 is K @ T, not K (K is camera_params' intrinsics, or the RQ
  decomposition of P2[:, :3], e.g. cv2.decomposeProjectionMatrix).
- location: the centre of the bottom face (the lower end of the height axis) of the 3D
  box, in the level frame. rotation_y: angle around its y axis of the length axis (KITTI's
  convention: 0 when it points along +x), from its projection onto the x-z plane; alpha =
  rotation_y - atan2(x, z), both wrapped to [-pi, pi). An object leaning away from every
  axis keeps the box of its nearest axes and its heading, not its tilt (bounding_box_3d in
  the BasicWriter keeps the full pose); a label whose objects lean more than
  TILT_WARNED_DEGREES in a frame is named in a warning of the run (Writer.warn: once per
  run and label).
- Objects with a 2D box but no 3D box get KITTI's "unknown" 3D values (-1 / -1000 / -10).
calib: P0..P3 = [K | 0] @ [T | 0] (one camera; orthographic cameras get their affine
projection instead of [K | 0]; a stereo pair's left camera, stereo_partners, has the right
one's P3 = K @ [T | -b e_x], P3[0, 3] = -fx * b as KITTI's, and its image as image_3),
R0_rect = I, Tr_velo_to_cam = VELO_TO_LEVEL: the "velodyne" frame is KITTI's lidar axes at
the camera, level (x forward: the viewing direction made horizontal, y left, z up), so the
rotation is exactly KITTI's axis swap and the camera -> lidar box conversion of OpenPCDet
and mmdetection3d (heading = -(rotation_y + pi/2)) is exact; Tr_imu_to_velo = [I | 0].
The label file is written last: a frame with a label file is complete.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..frame import AnnotatedFrame
from . import io
from .base import Writer, register_writer
from .common import COMMON_OPTIONS, check_options, class_names, labelled_objects, safe_name, split_of, write_image

# Labels of objects whose height axis leans more than this from vertical are named in a
# warning: their KITTI box (upright, turned about y only) misses their corners by about
# tilt x diagonal.
TILT_WARNED_DEGREES = 10.0
OCCLUSION_LEVELS = (0.1, 0.5)  # occlusionRatio thresholds between levels 0 | 1 | 2


def occlusion_level(ratio: float | None) -> int:
    if ratio is None or not math.isfinite(ratio) or ratio < 0:
        return 3
    return int(np.searchsorted(OCCLUSION_LEVELS, ratio, side="right"))


def kitti_type(label: str) -> str:
    """A label as a KITTI type: whitespace (which would split the line) -> "_"."""
    return re.sub(r"\s+", "_", label) or "_"


def same_types(labels: list[str]) -> list[list[str]]:
    """The groups of `labels` (2 or more each) that kitti_type() makes one type."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(kitti_type(label), []).append(label)
    return [g for g in groups.values() if len(g) > 1]


def wrap_angle(a: float) -> float:
    """To [-pi, pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi


def camera_matrices(frame: AnnotatedFrame) -> tuple[np.ndarray, np.ndarray]:
    """(P 3x4 of points in metres, world -> OpenCV camera 4x4 in Blender units) from
    camera_params, else from frame.camera."""
    params = frame.annotations.get("camera_params")
    cam = frame.camera
    if isinstance(params, dict) and "world_to_camera_opencv" in params:
        w2c = np.asarray(params["world_to_camera_opencv"], dtype=np.float64)
        fx, fy, cx, cy = (float(params[k]) for k in ("fx", "fy", "cx", "cy"))
        projection = params.get("projection", cam.projection)
    else:
        w2c = np.asarray(cam.world_to_camera_opencv, dtype=np.float64)
        fx, fy, cx, cy, projection = cam.fx, cam.fy, cam.cx, cam.cy, cam.projection
    if projection == "perspective":
        p = np.array([[fx, 0.0, cx, 0.0], [0.0, fy, cy, 0.0], [0.0, 0.0, 1.0, 0.0]])
    else:  # affine: (u, v, 1) = (fx x + cx, fy y + cy, 1), fx in pixels per metre (not per Blender unit)
        fx, fy = fx / cam.meters_per_unit, fy / cam.meters_per_unit
        p = np.array([[fx, 0.0, 0.0, cx], [0.0, fy, 0.0, cy], [0.0, 0.0, 0.0, 1.0]])
    return p, w2c


def level_rotation(w2c: np.ndarray) -> np.ndarray:
    """The camera's tilt T: x_camera = T @ x_level for the world -> OpenCV camera matrix `w2c`.

    The level frame has the camera's origin, y = world down, z = the viewing direction
    made horizontal (for a camera looking straight down or up: the image's up direction
    made horizontal), x = y cross z.
    """
    r = np.asarray(w2c, dtype=np.float64)[:3, :3]
    forward = r[2].copy()
    forward[2] = 0.0
    if np.linalg.norm(forward) < 1e-9:
        forward = -r[1].copy()
        forward[2] = 0.0
    z = forward / np.linalg.norm(forward)
    y = np.array([0.0, 0.0, -1.0])
    level = np.stack([np.cross(y, z), y, z])  # rows: the level axes in world coordinates
    return r @ level.T


def world_to_level(w2c: np.ndarray) -> np.ndarray:
    """World -> level frame (4x4): T.T @ world -> camera."""
    m = np.eye(4)
    m[:3, :3] = level_rotation(w2c).T
    return m @ np.asarray(w2c, dtype=np.float64)


# The "velodyne" frame (x forward, y left, z up) -> the level camera frame (x right, y
# down, z forward), at the camera: x_level = -y_velo, y_level = -z_velo, z_level = x_velo.
VELO_TO_LEVEL = np.array([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])


def calib_text(p: np.ndarray, w2c: np.ndarray, p3: np.ndarray | None = None) -> str:
    """The calib file of a camera of projection `p` and world -> camera `w2c`; P3 is `p3`
    (stereo_p3's: the right camera of a pair) where given, else P2."""

    def row(name, m):
        return f"{name}: " + " ".join(f"{v:.12e}" for v in np.asarray(m, dtype=np.float64).ravel()) + "\n"

    # The tilt goes into P, not R0_rect: readers project label boxes with P2 alone.
    tilt = np.eye(4)
    tilt[:3, :3] = level_rotation(w2c)
    out = "".join(row(f"P{i}", p3 if i == 3 and p3 is not None else p @ tilt) for i in range(4))
    out += row("R0_rect", np.eye(3))
    out += row("Tr_velo_to_cam", VELO_TO_LEVEL)
    out += row("Tr_imu_to_velo", np.eye(4)[:3, :4])
    return out


def stereo_offset(cam) -> float | None:
    """The x offset (Blender units, along the rig camera's x) of a visible camera rigged
    beside another one, looking the same way (a stereo pair: same rotation, offset along x
    alone); None for any other camera."""
    pose = None if cam.camera_to_rig is None else np.asarray(cam.camera_to_rig, dtype=np.float64)
    if not cam.rig or cam.sensor != "visible" or pose is None or pose.shape != (4, 4):  # RGB-thermal: no pair
        return None
    rotation, offset = pose[:3, :3], pose[:3, 3]
    if not np.allclose(rotation, np.eye(3), atol=1e-6) or abs(offset[0]) <= 1e-9:
        return None
    if not np.allclose(offset[1:], 0.0, atol=1e-6 * abs(offset[0])):
        return None
    return float(offset[0])


def same_pinhole(a, b) -> bool:
    """Whether two cameras take images of one size with one K (a rectified pair's)."""
    if a.projection != "perspective" or b.projection != "perspective" or (a.width, a.height) != (b.width, b.height):
        return False
    ka, kb = np.array([a.fx, a.fy, a.cx, a.cy]), np.array([b.fx, b.fy, b.cx, b.cy])
    return bool(np.allclose(ka, kb, rtol=1e-9, atol=1e-9))


def stereo_partners(frames: list[AnnotatedFrame]) -> dict[str, AnnotatedFrame]:
    """Left camera's name -> the right camera's frame, for each stereo pair among one
    frame's cameras: a visible camera rigged to another visible one of the frames beside it
    (stereo_offset), of the same image size and K; left is the one the other lies along +x
    of. A camera is the left one of one pair at most (the first)."""
    by_name = {f.camera_name: f for f in frames}
    partners: dict[str, AnnotatedFrame] = {}
    for f in frames:
        b = stereo_offset(f.camera)
        g = by_name.get(f.camera.rig)
        if b is None or g is None or g.camera.sensor != "visible" or not same_pinhole(f.camera, g.camera):
            continue
        left, right = (g, f) if b > 0 else (f, g)
        partners.setdefault(left.camera_name, right)
    return partners


def paired_names(partners: dict[str, AnnotatedFrame]) -> set[str]:
    """The names of the cameras of stereo_partners' pairs, left and right."""
    return set(partners) | {f.camera_name for f in partners.values()}


def stereo_note(cam) -> str:
    """The warning of a camera rigged beside another, looking the same way (stereo_offset),
    that is no stereo pair (stereo_partners)."""
    return (
        f"kitti: camera {cam.name!r} is rigged beside {cam.rig!r} looking the same way, but the two are no "
        f"rectified pair (another image size, focal length or principal point, or {cam.rig!r} no visible camera "
        "of the run): each is written as a KITTI folder of its own (P3 = P2, no image_3), which KITTI's stereo "
        "readers cannot take for a pair; give both cameras one resolution and lens"
    )


def unpaired_stereo_notes(cameras: list) -> list[str]:
    """stereo_note of each of a frame's cameras (Camera, as capture.render.camera_info gives
    them) rigged beside another looking the same way that stereo_partners pairs with none:
    known once the scene is built (said with its notes, Recorder.warn_built_scene_notes; the
    writer says the same text again, once a run, only of a frame whose cameras differ)."""
    frames = [SimpleNamespace(camera_name=c.name, camera=c) for c in cameras]
    paired = paired_names(stereo_partners(frames))
    return [stereo_note(c) for c in cameras if c.name not in paired and stereo_offset(c) is not None]


def stereo_p3(left: AnnotatedFrame, right: AnnotatedFrame) -> np.ndarray:
    """P3 of the left camera's calib: the right camera's projection of a point of the left
    camera's label frame (metres), [K | 0] @ (left -> right camera) @ tilt; for a rectified
    pair b metres apart K @ [T | -b e_x], P3[0, 3] = -fx * b as KITTI's."""
    p_right, w2c_right = camera_matrices(right)
    _p, w2c_left = camera_matrices(left)
    left_to_right = w2c_right @ np.linalg.inv(w2c_left)  # OpenCV axes, Blender units
    left_to_right[:3, 3] *= right.camera.meters_per_unit
    tilt = np.eye(4)
    tilt[:3, :3] = level_rotation(w2c_left)
    return p_right @ left_to_right @ tilt


def boxes_3d_camera(data, w2l: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """bounding_box_3d rows -> KITTI's terms, all rows at once: (N, 3) dimensions (h, w, l),
    (N, 3) locations (bottom centre, camera frame) and N rotation_y, given the world ->
    level frame matrix `w2l`.

    Height runs along the object's local axis (+-X, +-Y or +-Z) nearest to the level frame's
    up (-y), so an object lying on its side or upside down gets its exact box; length runs
    along the first of X, Y, Z that is not that axis (X unless X is up), width along the
    third, and rotation_y is the length axis's heading."""
    lo = np.stack([data["x_min"], data["y_min"], data["z_min"]], axis=-1).astype(np.float64)
    hi = np.stack([data["x_max"], data["y_max"], data["z_max"]], axis=-1).astype(np.float64)
    to_camera, scale, upness = _box_axes(data, w2l)
    axes = to_camera[:, :3, :3]  # columns: the box axes in the level frame
    rows = np.arange(len(lo))
    up = np.argmax(np.abs(upness), axis=1)
    length_axis = np.where(up == 0, 1, 0)
    width_axis = 3 - up - length_axis
    extent = (hi - lo) * scale
    dims = np.stack([extent[rows, up], extent[rows, width_axis], extent[rows, length_axis]], axis=-1)
    bottom_local = np.c_[(lo + hi) / 2, np.ones(len(lo))]
    pointing_down = upness[rows, up] < 0
    bottom_local[rows, up] = np.where(pointing_down, hi[rows, up], lo[rows, up])
    location = (to_camera @ bottom_local[:, :, None])[:, :3, 0]
    heading = axes[rows, :, length_axis].tolist()
    rotation_y = [wrap_angle(math.atan2(-d[2], d[0])) for d in heading]
    return dims, location, rotation_y


def _box_axes(data, w2l: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """bounding_box_3d rows: (N, 4, 4) box -> level frame, (N, 3) each box axis's length in
    the world (the scale), (N, 3) each axis's unit component along up (-y of the level frame)."""
    to_world = np.swapaxes(np.asarray(data["transform"], dtype=np.float64), 1, 2)  # row-vector layout -> column
    scale = np.linalg.norm(to_world[:, :3, :3], axis=1)
    to_camera = w2l @ to_world
    upness = -to_camera[:, 1, :3] / np.where(scale > 0, scale, 1.0)
    return to_camera, scale, upness


def tilt_degrees(data, w2l: np.ndarray) -> np.ndarray:
    """Each box's lean: the angle between up and its local axis nearest up (the KITTI height
    axis); 0 upright, upside down or lying on a face."""
    if not len(data):
        return np.zeros(0)
    nearest = np.abs(_box_axes(data, w2l)[2]).max(axis=1)
    return np.degrees(np.arccos(np.clip(nearest, 0.0, 1.0)))


@register_writer
class KittiWriter(Writer):
    name = "kitti"
    summary = "KITTI object labels, calibration, images and ImageSets"
    length_unit = "metres"
    required_annotators = ("rgb", "bounding_box_2d_tight", "bounding_box_3d", "camera_params")
    OPTIONS = dict(COMMON_OPTIONS)

    @classmethod
    def row_sources(cls, options: dict | None) -> dict[str, str]:
        """Each tight box's line takes its 3D box from the object's bounding_box_3d row."""
        return {"bounding_box_3d": "bounding_box_2d_tight"}

    @classmethod
    def written(cls, options: dict | None) -> tuple[str, ...]:
        """label_2 (2D and 3D boxes), calib and image_2: what it needs, nothing else."""
        return cls.required_annotators

    def __init__(self, output_dir, **options):
        super().__init__(output_dir, **options)
        check_options(self.name, self.options)
        # The stereo pairs of the frame begin_frame was last given (none for a writer fed
        # frame by frame without it).
        self._stereo: dict[str, AnnotatedFrame] = {}
        self._paired: set[str] = set()
        self._stereo_frame: int | None = None

    @property
    def root(self) -> Path:
        return self.output_dir / "kitti"

    def camera_root(self, camera_name: str) -> Path:
        return self.root / safe_name(camera_name) if self.several_cameras else self.root

    def label_lines(self, frame: AnnotatedFrame, w2c: np.ndarray) -> list[str]:
        w2l = world_to_level(w2c)
        box3d = frame.annotations.get("bounding_box_3d") or {"data": [], "info": {"bboxIds": []}}
        row_of = {int(iid): k for k, iid in enumerate(box3d["info"]["bboxIds"])}
        truncation_3d = box3d["info"].get("truncationRatio") or []
        if len(box3d["data"]):
            dims, locations, rotations = boxes_3d_camera(box3d["data"], w2l)
            metres = frame.camera.meters_per_unit  # in one Blender unit: KITTI's lengths are metres
            dims, locations = (dims * metres).tolist(), (locations * metres).tolist()
            occlusions = np.asarray(box3d["data"]["occlusionRatio"], dtype=np.float64).tolist()
        lines = []
        for obj in labelled_objects(frame, self.options["semantic_type"], self.name):
            x0, y0, x1, y1 = obj.box
            k = row_of.get(obj.instance_id)
            truncation = obj.truncation
            if k is not None:
                (h, w, length), (x, y, z), ry = dims[k], locations[k], rotations[k]
                alpha = wrap_angle(ry - math.atan2(x, z))
                occlusion = occlusions[k]
                if k < len(truncation_3d):
                    truncation = float(truncation_3d[k])
            else:
                h = w = length = -1.0
                x = y = z = -1000.0
                ry = alpha = -10.0
                occlusion = obj.occlusion
            truncation = min(1.0, max(0.0, truncation)) if truncation is not None else 0.0
            kind = kitti_type(obj.label)
            lines.append(
                f"{kind} {truncation:.2f} {occlusion_level(occlusion)} {alpha:.4f} "
                f"{x0:.2f} {y0:.2f} {x1 + 1:.2f} {y1 + 1:.2f} "
                f"{h:.4f} {w:.4f} {length:.4f} {x:.4f} {y:.4f} {z:.4f} {ry:.4f}"
            )
        return lines

    def begin_frame(self, frames: list[AnnotatedFrame]) -> None:
        """The frame's stereo pairs (stereo_partners), for the left cameras' image_3 and P3."""
        self._stereo = stereo_partners(frames)
        self._paired = paired_names(self._stereo)
        self._stereo_frame = frames[0].frame if frames else None

    def write(self, frame: AnnotatedFrame) -> None:
        base = self.camera_root(frame.camera_name) / "training"
        stem = f"{frame.frame:0{self.options['frame_padding']}d}"
        p, w2c = camera_matrices(frame)
        lines = self.label_lines(frame, w2c)
        self.warn_leaning(frame, w2c)
        self.warn_same_types(frame)
        in_frame = self._stereo_frame == frame.frame
        right = self._stereo.get(frame.camera_name) if in_frame else None
        if not in_frame or frame.camera_name not in self._paired:
            self.warn_stereo(frame)
        write_image(base / "image_2" / stem, frame, self.options)
        if right is not None:  # a stereo pair's left camera: the right one's image and P3
            write_image(base / "image_3" / stem, right, self.options)
        io.write_text(
            base / "calib" / f"{stem}.txt", calib_text(p, w2c, None if right is None else stereo_p3(frame, right))
        )
        # Last: a label file means the frame is complete.
        io.write_text(base / "label_2" / f"{stem}.txt", "".join(f"{x}\n" for x in lines))

    def warn_same_types(self, frame: AnnotatedFrame) -> None:
        """Warn of labels of the run that are written as one KITTI type ("box cut" and
        "box_cut"): a reader of the labels cannot tell them apart (said once per run)."""
        semantic_type = self.options["semantic_type"]
        labels = class_names(frame.label_table, semantic_type)
        if labels == getattr(self, "_types_checked", None):  # the run's table: once
            return
        self._types_checked = labels
        for group in same_types(labels):
            names = " and ".join(f"{semantic_type}:{label!r}" for label in group)
            self.warn(
                f"kitti: the labels {names} are written as one type, {kitti_type(group[0])!r} "
                "(whitespace becomes '_' in a KITTI line), which KITTI's readers take for one class; "
                "rename them so they differ by more than whitespace"
            )

    def warn_stereo(self, frame: AnnotatedFrame) -> None:
        """Warn of a camera rigged beside another, looking the same way, that is written as
        no stereo pair (stereo_partners: another image size or K, or the other no visible
        camera of the frame): each camera is then a folder of its own with P3 = P2 and no
        image_3, which KITTI's stereo readers need."""
        if stereo_offset(frame.camera) is not None:
            self.warn(stereo_note(frame.camera))

    def warn_leaning(self, frame: AnnotatedFrame, w2c: np.ndarray) -> None:
        """Warn of each label of this frame's objects that lean more than TILT_WARNED_DEGREES
        (their box is upright: see the module's doc); the run says each label once."""
        box3d = frame.annotations.get("bounding_box_3d")
        if not box3d or not len(box3d["data"]):
            return
        tilts = tilt_degrees(box3d["data"], world_to_level(w2c)).tolist()
        row_of = {int(iid): k for k, iid in enumerate(box3d["info"]["bboxIds"])}
        semantic_type = self.options["semantic_type"]
        for obj in labelled_objects(frame, semantic_type, self.name):
            k = row_of.get(obj.instance_id)
            if k is not None and tilts[k] > TILT_WARNED_DEGREES:
                self.warn(
                    f"kitti: objects labelled {semantic_type}:{obj.label} lean more than {TILT_WARNED_DEGREES:g}° "
                    "from upright in some frames. KITTI boxes turn about the vertical only: each gets the "
                    "upright box of its local axis nearest up, off its true corners by about the lean "
                    "(radians) x its size; bounding_box_3d (basic writer) keeps the full pose."
                )

    def finalize(self) -> None:
        """ImageSets/<split>.txt: the finished frames (those with a label file) per split."""
        roots = [self.root] + (sorted(p for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else [])
        for root in roots:
            labels = root / "training" / "label_2"
            if not labels.is_dir():
                continue
            stems = sorted((f.stem for f in labels.glob("*.txt") if f.stem.isdigit()), key=int)
            splits: dict[str, list[str]] = {}
            for stem in stems:
                splits.setdefault(split_of(int(stem), self.options), []).append(stem)
            for split, stems in splits.items():
                io.write_text(root / "ImageSets" / f"{split}.txt", "".join(f"{s}\n" for s in stems))
