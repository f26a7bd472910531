"""Plain data handed from capture (bpy) to annotators and writers (no bpy).

This module is the contract between the Blender edge and the core. Everything here is
numpy arrays, numbers and strings, so annotators and writers are tested without Blender.

Conventions (see docs/annotators.md):
- Image arrays are row-major, row 0 at the top, shape (H, W, ...).
- Pixel coordinates: x to the right, y down, origin at the top-left corner of the
  top-left pixel; the centre of pixel (row i, column j) is (j + 0.5, i + 0.5).
- World space is Blender's (metres, Z up). Camera space is Blender's: the camera looks
  down -Z, +Y is up, +X is right. "OpenCV" camera space is x right, y down, z forward.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .idruns import IdRuns, IdStats, id_runs, id_stats
from .sensors import SensorSpec

if TYPE_CHECKING:
    from .backgrounds import PhotoDraw

BACKGROUND_ID = 0
UNLABELLED_ID = 1
FIRST_INSTANCE_ID = 2  # instance and semantic ids start here; 0 and 1 are reserved

# Blender camera axes -> OpenCV camera axes (flip y and z).
BLENDER_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass
class Camera:
    """A camera as it was when a frame was rendered."""

    name: str
    width: int
    height: int
    projection: str  # "perspective" | "orthographic"
    camera_to_world: np.ndarray  # 4x4, Blender camera axes
    fx: float  # focal lengths in pixels (perspective); pixels per metre (orthographic)
    fy: float
    cx: float  # principal point in pixels (top-left origin)
    cy: float
    clip_start: float
    clip_end: float
    focal_length_mm: float = 0.0
    sensor_width_mm: float = 0.0
    sensor_height_mm: float = 0.0
    ortho_scale: float = 0.0
    f_stop: float = 0.0  # aperture f-number with depth of field on, else 0 (no depth of field)
    focus_distance: float = 0.0  # scene units along the viewing axis, with depth of field on
    sensor: str = "visible"  # "visible" | "thermal" | "nir" (sensors.SENSOR_KINDS)
    rig: str = ""  # the camera this one is rigged to (shared pose), "" if none
    camera_to_rig: np.ndarray | None = None  # 4x4 pose in the rig camera's space (Blender axes)
    meters_per_unit: float = 1.0  # metres in one Blender unit (a base .blend's unit scale)

    @property
    def world_to_camera(self) -> np.ndarray:
        # camera_to_world is rigid (rotation + translation): invert in closed form.
        r, t = self.camera_to_world[:3, :3], self.camera_to_world[:3, 3]
        m = np.eye(4)
        m[:3, :3] = r.T
        m[:3, 3] = -r.T @ t
        return m

    @property
    def world_to_camera_opencv(self) -> np.ndarray:
        return BLENDER_TO_OPENCV @ self.world_to_camera

    @property
    def intrinsics(self) -> np.ndarray:
        """K for perspective cameras: pixel = K @ (x, y, z) / z in OpenCV camera space."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def projection_matrix(self) -> np.ndarray:
        """OpenGL-style clip matrix (Blender camera space -> NDC, y up, depth in [-1, 1])."""
        w, h, n, f = self.width, self.height, self.clip_start, self.clip_end
        # NDC x = 2 * u / w - 1, NDC y = 1 - 2 * v / h, with (u, v) the pixel coordinates.
        if self.projection == "perspective":
            return np.array(
                [
                    [2 * self.fx / w, 0.0, 1 - 2 * self.cx / w, 0.0],
                    [0.0, 2 * self.fy / h, 2 * self.cy / h - 1, 0.0],
                    [0.0, 0.0, -(f + n) / (f - n), -2 * f * n / (f - n)],
                    [0.0, 0.0, -1.0, 0.0],
                ]
            )
        return np.array(
            [
                [2 * self.fx / w, 0.0, 0.0, 2 * self.cx / w - 1],
                [0.0, 2 * self.fy / h, 0.0, 1 - 2 * self.cy / h],
                [0.0, 0.0, -2 / (f - n), -(f + n) / (f - n)],
                [0.0, 0.0, 0.0, 1.0],
            ]
        )

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """World points (N, 3) -> Blender camera space (N, 3)."""
        p = np.asarray(points_world, dtype=np.float64).reshape(-1, 3)
        m = self.world_to_camera
        return p @ m[:3, :3].T + m[:3, 3]

    def project_camera(self, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blender camera-space points (N, 3) -> pixel coordinates (N, 2), depth (N,).

        Depth is the distance to the image plane (positive in front of the camera). Points
        at or behind the camera plane of a perspective camera get NaN pixel coordinates.
        """
        p = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
        depth = -p[:, 2]
        if self.projection == "perspective":
            with np.errstate(divide="ignore", invalid="ignore"):
                safe = np.where(depth > 0, depth, np.nan)
                u = self.cx + self.fx * p[:, 0] / safe
                v = self.cy - self.fy * p[:, 1] / safe
        else:
            u = self.cx + self.fx * p[:, 0]
            v = self.cy - self.fy * p[:, 1]
        return np.stack([u, v], axis=1), depth

    def project(self, points_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixel coordinates (N, 2), depth to the image plane (N,)."""
        return self.project_camera(self.to_camera(points_world))

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel ray (origin, direction) in Blender camera space through pixel centres.

        For perspective cameras the direction has z = -1, so origin + depth * direction is
        the point at that distance to the image plane. Shapes (H, W, 3), read-only: they
        depend only on the intrinsics and are shared between frames (computed once).
        """
        return _pixel_rays(*self._intrinsics())

    def pixel_ray_lengths(self) -> np.ndarray:
        """(H, W) float64 lengths of pixel_rays' directions (read-only, shared like them): a
        perspective camera's distance to the camera centre per unit of depth."""
        return _pixel_ray_lengths(*self._intrinsics())

    def _intrinsics(self) -> tuple:
        return (self.width, self.height, self.projection, self.fx, self.fy, self.cx, self.cy)


@functools.lru_cache(maxsize=8)
def _pixel_rays(width, height, projection, fx, fy, cx, cy) -> tuple[np.ndarray, np.ndarray]:
    u = np.arange(width) + 0.5
    v = np.arange(height) + 0.5
    uu, vv = np.meshgrid(u, v)
    if projection == "perspective":
        d = np.stack([(uu - cx) / fx, -(vv - cy) / fy, -np.ones_like(uu)], -1)
        o = np.zeros_like(d)
    else:
        o = np.stack([(uu - cx) / fx, -(vv - cy) / fy, np.zeros_like(uu)], -1)
        d = np.zeros_like(o)
        d[..., 2] = -1.0
    o.flags.writeable = d.flags.writeable = False
    return o, d


@functools.lru_cache(maxsize=8)
def _pixel_ray_lengths(*intrinsics) -> np.ndarray:
    # Per process, not per annotator: a worker's sinks (and the benchmark's passes) share it.
    lengths = np.linalg.norm(_pixel_rays(*intrinsics)[1], axis=-1)
    lengths.flags.writeable = False
    return lengths


@dataclass
class SceneObject:
    """One renderable object (every instance is its own SceneObject)."""

    instance_id: int  # value of this object in the instance pass; >= FIRST_INSTANCE_ID
    name: str
    path: str  # "/<collection>/.../<name>", the analogue of a USD prim path
    labels: dict[str, list[str]]  # resolved semantic labels, e.g. {"class": ["mug"]}
    object_to_world: np.ndarray  # 4x4
    bbox_min: np.ndarray  # (3,) local-space extents of the evaluated geometry
    bbox_max: np.ndarray
    # Geometry, only if an annotator needs it: a world-space triangle soup (N, 3, 3), or (as
    # the capture sends it) vertices + faces + half-edge twins below; world_triangles() and
    # mesh() give either form.
    triangles: np.ndarray | None = None
    # Every mesh of it is a closed surface, each edge shared by two triangles of opposite
    # winding: then the triangles of one winding cover its whole projection (silhouettes.py).
    closed: bool = False
    keypoints: dict[str, list[float]] = field(default_factory=dict)  # name -> world [x, y, z], in order
    skeleton: list[list[str]] = field(default_factory=list)  # [name, name] pairs
    # The transform that moves its surface (flow): its one rendered mesh's matrix when it has
    # exactly one (that mesh may be animated below its root), else None (the root's).
    mesh_to_world: np.ndarray | None = None
    vertices: np.ndarray | None = None  # (V, 3) world space
    faces: np.ndarray | None = None  # (F, 3) int indices into vertices
    # (3 F,) raster.half_edge_twins(faces); None where the capture left them to the worker
    # (modified meshes, which may change every frame: not worked out in the render loop).
    twins: np.ndarray | None = None

    @property
    def has_geometry(self) -> bool:
        return self.triangles is not None or self.faces is not None

    def world_triangles(self) -> np.ndarray:
        """(N, 3, 3) world-space triangles, whichever form the geometry came in."""
        if self.triangles is None and self.faces is not None:
            self.triangles = self.vertices[self.faces]
        return self.triangles

    def mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(vertices (V, 3), faces (F, 3), twins or None); a soup is its own mesh (no
        shared vertices, so nothing cancels in a silhouette's edge chain)."""
        if self.faces is not None:
            return self.vertices, self.faces, self.twins
        tri = self.triangles
        return tri.reshape(-1, 3), np.arange(tri.shape[0] * 3).reshape(-1, 3), None

    @property
    def motion_matrix(self) -> np.ndarray:
        return self.object_to_world if self.mesh_to_world is None else self.mesh_to_world

    def label(self, semantic_type: str) -> str | None:
        """The object's label of one type as one string ("mug" or "mug,cup"), or None."""
        values = self.labels.get(semantic_type)
        return ",".join(values) if values else None


@dataclass
class LabelTable:
    """Stable semantic ids per label type: id = FIRST_INSTANCE_ID + position in the list.

    The lists come from the parameter file (declared order), then any other label found in
    the scene in sorted order, so ids never depend on which frame or shard saw what first.
    """

    values: dict[str, list[str]] = field(default_factory=dict)

    def semantic_id(self, semantic_type: str, value: str | None) -> int:
        if value is None:
            return UNLABELLED_ID
        try:
            return FIRST_INSTANCE_ID + self.values.get(semantic_type, []).index(value)
        except ValueError:
            return UNLABELLED_ID

    def id_to_label(self, semantic_type: str) -> dict[int, str]:
        return {FIRST_INSTANCE_ID + i: v for i, v in enumerate(self.values.get(semantic_type, []))}


@dataclass
class FrameData:
    """Everything one render of one camera produced, as plain arrays.

    passes:
      "combined": (H, W, 4) float32, linear scene-referred RGBA (Cycles Combined)
      "rgb":      (H, W, 4) uint8, display-referred RGBA (view transform applied)
      "depth":    (H, W) float32, distance to the image plane in metres, inf = no surface
      "instance": (H, W) uint32, SceneObject.instance_id per pixel, 0 = background
      "normal":   (H, W, 3) float32, world-space unit normals, 0 = background
      "thermal_radiance": (H, W) float32, LWIR band radiance at the lens, W m^-2 sr^-1
                  (thermal cameras, instead of "combined")
      "nir_radiance": (H, W) float32, linear near-infrared signal (NIR cameras, instead
                  of "combined")
    All id/depth/normal passes are taken from one sample per pixel (not anti-aliased).
    """

    frame: int
    camera: Camera
    passes: dict[str, np.ndarray]
    objects: dict[int, SceneObject]
    label_table: LabelTable
    # Results shared between annotators of this frame (e.g. rasterized silhouettes).
    cache: dict = field(default_factory=dict)
    view_transform: str = "Standard"  # how "rgb" is made from "combined" ([render] colour settings)
    look: str = "None"
    exposure: float = 0.0
    gamma: float = 1.0
    working_space: str = "Linear Rec.709"  # the colour space of "combined" (Blender 5.0: per .blend)
    sensor_spec: SensorSpec | None = None  # thermal / NIR cameras: how their image is made
    clip: int | None = None  # sequences: clip index and frame within the clip (else None)
    clip_frame: int | None = None
    fps: float | None = None  # sequence.fps: frames per second of the run's clips (MOT's frameRate)
    sensor: str = "camera"  # "camera" or "lidar": which annotators and writers apply
    # Sequences: the same camera at the previous / next frame of the clip ("prev", "next"),
    # for optical flow; absent at a clip's ends.
    neighbours: dict[str, FrameView] = field(default_factory=dict)
    # The camera's sampled image pipeline (exposure, white balance, augmentations): see
    # sdg_addon.imaging; applied to "rgb" only, so every other pass stays exact.
    image_ops: dict = field(default_factory=dict)
    # The photo behind this camera's image (the `background` randomizer): what was drawn
    # (backgrounds.PhotoDraw, decoded where "rgb" is made), or the (H, W, 3) uint8 photo
    # already cut out; composited into "rgb" before the augmentations.
    background: np.ndarray | PhotoDraw | None = None

    def rgb(self) -> np.ndarray:
        """(H, W, 4) uint8 display-referred RGBA; made from "combined" on first use (in a
        worker thread, not in the render loop) unless the capture supplied "rgb".

        A thermal camera's is its 8-bit palette preview, a NIR camera's its grey image, so
        every writer that stores images (COCO, YOLO, KITTI...) works with them unchanged."""
        if "rgb" not in self.passes:
            kind = self.sensor_spec.kind if self.sensor_spec else "visible"
            if kind == "thermal":
                from .sensors.thermal import palette_image

                s = self.sensor_spec
                self.passes["rgb"] = palette_image(self.sensor_image(), s.palette, s.preview_min, s.preview_max)
            elif kind == "nir":
                grey = self.sensor_image()
                self.passes["rgb"] = np.concatenate(
                    [np.repeat(grey[..., None], 3, -1), np.full_like(grey[..., None], 255)], -1
                )
            else:
                from .colour import display_transform, straight_alpha
                from .imaging import apply_display, apply_linear

                # Cycles' colour is premultiplied by alpha (film_transparent): straight, as
                # Blender's own PNG stores it and as the photo behind is pasted under it.
                linear = straight_alpha(apply_linear(self.passes["combined"], self.image_ops, self.working_space))
                shown = display_transform(
                    linear, self.view_transform, self.look, self.exposure, self.gamma, self.working_space
                )
                if self.background is not None:
                    from .backgrounds import composite, photo_behind

                    shown = composite(shown, photo_behind(self.background))
                self.passes["rgb"] = apply_display(shown, self.image_ops)
        return self.passes["rgb"]

    def sensor_image(self) -> np.ndarray | None:
        """A thermal camera's (H, W) float32 kelvin, a NIR camera's (H, W) uint8 image, made
        once from the linear render with the sensor's optics and noise; None otherwise."""
        kind = self.sensor_spec.kind if self.sensor_spec else "visible"
        if kind == "visible":
            return None
        if "sensor_image" not in self.cache:
            from .sensors import nir, thermal

            s = self.sensor_spec
            rng = np.random.default_rng(thermal.noise_seed(s.seed, self.frame, self.camera.name))
            if kind == "thermal":
                image = thermal.sensor_temperature(
                    self.passes["thermal_radiance"], netd=s.netd, vignetting=s.vignetting, blur=s.blur, rng=rng
                )
            else:
                image = nir.sensor_image(self.passes["nir_radiance"], s.exposure, s.vignetting, s.blur)
            self.cache["sensor_image"] = image
        return self.cache["sensor_image"]

    def instance_runs(self) -> IdRuns:
        """The instance pass as row-wise runs of equal ids, found once per frame."""
        runs = self.cache.get("instance_runs")
        if runs is None:
            runs = self.cache["instance_runs"] = id_runs(self.passes["instance"])
        return runs

    def instance_stats(self) -> IdStats:
        """Pixel count and extent of every instance id present (background 0 too), once per frame."""
        stats = self.cache.get("instance_stats")
        if stats is None:
            stats = self.cache["instance_stats"] = id_stats(self.instance_runs())
        return stats

    def instance_pixel_counts(self) -> np.ndarray:
        """Pixels per instance id (index = id), as np.bincount of the instance pass."""
        counts = self.cache.get("instance_pixel_counts")
        if counts is None:
            counts = self.cache["instance_pixel_counts"] = self.instance_stats().dense_counts()
        return counts

    def visible_ids(self) -> list[int]:
        """Instance ids with at least one visible pixel (background 0 excluded), sorted."""
        return [i for i in np.flatnonzero(self.instance_pixel_counts()).tolist() if i != BACKGROUND_ID]

    @property
    def height(self) -> int:
        return self.camera.height

    @property
    def width(self) -> int:
        return self.camera.width


@dataclass
class FrameView:
    """What flow needs of a neighbouring frame: its camera, object poses and id/depth."""

    frame: int
    camera: Camera
    object_to_world: dict[int, np.ndarray]  # instance id -> 4x4 (objects rendered then)
    depth: np.ndarray  # (H, W) distance to the image plane, inf = no surface
    instance: np.ndarray  # (H, W) uint32
    # instance id -> (V, 3) world vertices then (objects with geometry): surfaces that do
    # not move rigidly are followed vertex by vertex
    vertices: dict[int, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, frame: FrameData) -> FrameView:
        poses = {i: o.motion_matrix for i, o in frame.objects.items()}
        verts = {i: o.vertices for i, o in frame.objects.items() if o.vertices is not None}
        return cls(frame.frame, frame.camera, poses, frame.passes["depth"], frame.passes["instance"], verts)


@dataclass
class AnnotatedFrame:
    """What writers receive: one frame of one camera with every annotator's output."""

    frame: int
    camera_name: str
    annotations: dict[str, object]
    label_table: LabelTable
    camera: Camera
    # Shared by the writers of this frame (e.g. one PNG encoding written by several).
    cache: dict = field(default_factory=dict)
    clip: int | None = None  # sequences: clip index and frame within the clip (else None)
    clip_frame: int | None = None
    fps: float | None = None  # sequence.fps (None: not known, e.g. a frame made by hand)
    sensor: str = "camera"
