"""pointcloud: one 3D point per pixel with a surface, from one frame's depth pass.

Points are the pixel-centre rays of the camera (Camera.pixel_rays, perspective or
orthographic) taken to the depth pass's distance to the image plane, in world space (or
camera space). Each point carries the pixel's RGBA, normal, semantic id and instance id.
"""

from __future__ import annotations

import numpy as np

from ..config.fields import Field
from ..frame import UNLABELLED_ID
from .base import Annotator, register_annotator
from .normals import SPACES, rotate_normals, unit_normals
from .semantics import SEMANTIC_OPTIONS, lookup_ids, object_labels, semantic_ids


def _flat_index(frame, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Row-major pixel indices: one gather per array (take) instead of two-index ones."""
    return ys * frame.camera.width + xs


def _surface_pixels(frame, keep_ids) -> np.ndarray:
    """Row-major flat indices of the pixels whose instance id keep_ids accepts (a bool per
    id) and that have a surface (a finite, positive depth): found from the frame's runs of
    ids, so only the kept pixels are visited, not every pixel of the image."""
    runs = frame.instance_runs()
    keep = keep_ids(runs.values)
    starts, lengths = runs.starts[keep], runs.lengths[keep]
    # Each kept run's pixels: its start plus 0 .. length - 1.
    k = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    depth = np.asarray(frame.passes["depth"]).reshape(-1)[k]
    return k[np.isfinite(depth) & (depth > 0)]


def pixel_points(frame, ys: np.ndarray, xs: np.ndarray, space: str = "world") -> np.ndarray:
    """(N, 3) float64 points of pixels (ys, xs): their pixel-centre rays (Camera.pixel_rays)
    taken to the depth pass's distance to the image plane, in `space` (see SPACES)."""
    cam = frame.camera
    depth = np.asarray(frame.passes["depth"]).reshape(-1)[_flat_index(frame, ys, xs)].astype(np.float64)
    # The rays of these pixels alone, by Camera.pixel_rays' own arithmetic (not gathered
    # from its image-sized arrays): origin + depth * direction, with a perspective ray's
    # origin 0 and direction (u, v, -1), an orthographic one's origin (u, v, 0) and
    # direction (0, 0, -1).
    u = (xs + 0.5 - cam.cx) / cam.fx
    v = -(ys + 0.5 - cam.cy) / cam.fy
    p = np.empty((len(depth), 3))
    if cam.projection == "perspective":
        p[:, 0] = 0.0 + depth * u
        p[:, 1] = 0.0 + depth * v
        p[:, 2] = 0.0 + depth * -1.0
    else:
        p[:, 0] = u + depth * 0.0
        p[:, 1] = v + depth * 0.0
        p[:, 2] = 0.0 + depth * -1.0
    if space == "world":
        m = cam.camera_to_world
        p = p @ m[:3, :3].T + m[:3, 3]
    elif space == "camera_opencv":
        p = p * np.array([1.0, -1.0, -1.0])
    return p


# Each per-point array of the info and the suffix of its file (Replicator's BasicWriter
# layout: pointcloud_<suffix>_0000.npy; the webdataset writer's pointcloud_<suffix>.npy).
POINT_FILES = {
    "pointRgb": "rgb",
    "pointNormals": "normals",
    "pointSemantic": "semantic",
    "pointInstance": "instance",
    "pointPixels": "pixels",
}


@register_annotator
class PointCloud(Annotator):
    """{"data": (N, 3) float32 points, "info": {"pointRgb": (N, 4) uint8, "pointNormals":
    (N, 3) float32, "pointSemantic": (N,) uint32, "pointInstance": (N,) uint32,
    "pointPixels": (N, 2) int32 (x, y)}}, N = pixels kept, in row-major pixel order."""

    name = "pointcloud"
    summary = "3D points of the visible surfaces, with colour and normals"
    passes = ("depth", "instance", "normal", "rgb")
    OPTIONS = {
        **SEMANTIC_OPTIONS,
        "include_unlabelled": (False, bool, "also keep surfaces of unlabelled / filtered-out objects"),
        "include_background": (False, bool, "with include_unlabelled: also surfaces with instance id 0"),
        "space": Field("space", "choice", "world", "frame of points and normals", choices=SPACES),
    }

    def __init__(self, **options):
        super().__init__(**options)

    def annotate(self, frame):
        stype, sfilter, space = self.options["semantic_type"], self.options["semantic_filter"], self.options["space"]
        instance = np.asarray(frame.passes["instance"])
        labelled = object_labels(frame, stype, sfilter)
        if self.options["include_unlabelled"]:
            if self.options["include_background"]:
                k = _surface_pixels(frame, lambda ids: np.ones(ids.shape, dtype=bool))
            else:
                k = _surface_pixels(frame, lambda ids: ids != 0)
        else:
            runs = frame.instance_runs()
            is_labelled = np.zeros(max([*labelled, int(runs.values.max(initial=0))]) + 1, dtype=bool)
            is_labelled[list(labelled)] = True
            k = _surface_pixels(frame, lambda ids: is_labelled[ids])
        ys, xs = np.divmod(k, frame.camera.width)
        points = pixel_points(frame, ys, xs, space)
        sem_of = semantic_ids(frame, stype, sfilter)
        # The normals annotator's unit normals (computed once per frame for both).
        normals = rotate_normals(frame, unit_normals(frame)[0].reshape(-1, 3).take(k, axis=0), space)
        rgb = np.asarray(frame.rgb())
        rgb = rgb.reshape(-1, rgb.shape[-1]).take(k, axis=0).astype(np.uint8)
        if rgb.shape[-1] == 3:
            rgb = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], axis=1)
        ids = instance.reshape(-1).take(k)
        info = {
            "pointRgb": rgb,
            "pointNormals": np.asarray(normals, dtype=np.float32),
            "pointSemantic": lookup_ids(sem_of, ids, UNLABELLED_ID),
            "pointInstance": ids.astype(np.uint32),
            "pointPixels": np.stack([xs, ys], axis=1).astype(np.int32),
        }
        return {"data": points.astype(np.float32), "info": info}
