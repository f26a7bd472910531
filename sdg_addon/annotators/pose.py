"""object_pose: 6D poses of the labelled objects in view, and their models (for BOP).

Rows: the labelled objects in view (as bounding_box_2d_loose / occlusion), sorted by
instance id. Each object's *model frame* is its root's frame without scale: the rotation
nearest to the root's object_to_world (polar decomposition) and its translation. Scale
stays in the model: the model's vertices are the object's evaluated geometry in that
frame, in metres. So `object_to_camera @ [v, 1]` puts a model vertex v where the render
shows it.

- data: (N, 4, 4) float64, model-to-camera in OpenCV camera axes (x right, y down,
  z forward), metres: BOP's [cam_R_m2c | cam_t_m2c] (there in millimetres).
- info: instanceIds, semanticIds, primPaths, idToLabels, labels (the label of each row),
  objectToWorld ((N, 4, 4) rigid model-to-world), modelBounds ((N, 2, 3) min and max
  of the model's vertices), diameter ((N,) metres: the largest distance between two
  vertices, from the extreme vertices along 240 directions, within 0.1 % of the exact
  value), and models: {label: {"vertices": (V, 3) float32, "faces": (F, 3) int32}}, one
  per label of the frame, from its row with the lowest instance id (BOP has one model per
  object id: objects of one label are expected to share their mesh and scale).
"""

from __future__ import annotations

import numpy as np

from .base import Annotator, register_annotator
from .semantics import SEMANTIC_OPTIONS, object_labels
from .silhouettes import in_view

# Directions for the diameter: a Fibonacci sphere (only half is needed: +-d give one pair).
_N_DIRS = 240
_k = np.arange(_N_DIRS) + 0.5
_phi = np.arccos(1 - _k / _N_DIRS)  # polar angle in [0, pi/2): one hemisphere
_theta = np.pi * (1 + 5**0.5) * _k
DIRECTIONS = np.stack([np.cos(_theta) * np.sin(_phi), np.sin(_theta) * np.sin(_phi), np.cos(_phi)], axis=1)


def rigid_part(object_to_world: np.ndarray) -> np.ndarray:
    """The rotation nearest to the 3x3 part (polar decomposition) and the translation."""
    u, _s, vt = np.linalg.svd(object_to_world[:3, :3])
    r = u @ vt
    if np.linalg.det(r) < 0:  # a mirrored object: keep a proper rotation, the mirror stays in the model
        u[:, -1] *= -1
        r = u @ vt
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = r, object_to_world[:3, 3]
    return m


def model_mesh(obj, model_to_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An object's geometry in its model frame: (vertices (V, 3) float32, faces (F, 3) int32).

    A mesh the capture sent as vertices + faces keeps its vertices (those the faces use, in
    their order); a triangle soup is welded (equal float32 positions become one vertex)."""
    r, t = model_to_world[:3, :3], model_to_world[:3, 3]
    if obj.faces is not None:
        faces = np.asarray(obj.faces).reshape(-1, 3)
        used, inverse = np.unique(faces, return_inverse=True)  # drops loose vertices
        local = (np.asarray(obj.vertices, dtype=np.float64)[used] - t) @ r
        return local.astype(np.float32), inverse.reshape(-1, 3).astype(np.int32)
    local = (np.asarray(obj.world_triangles(), dtype=np.float64).reshape(-1, 3) - t) @ r
    vertices, inverse = np.unique(local.astype(np.float32), axis=0, return_inverse=True)
    return vertices, inverse.reshape(-1, 3).astype(np.int32)


def diameter(vertices: np.ndarray) -> float:
    """Largest distance between two vertices: exact among the extreme vertices along
    DIRECTIONS (the true pair is extreme along its own direction; 240 directions leave
    at most ~0.1 % error)."""
    v = np.asarray(vertices, dtype=np.float64)
    if len(v) < 2:
        return 0.0
    if len(v) > 600:
        proj = v @ DIRECTIONS.T
        v = v[np.unique(np.concatenate([proj.argmin(axis=0), proj.argmax(axis=0)]))]
    # Squared distances from the Gram matrix (one small matrix product, no (V, V, 3)
    # array); the farthest pair's distance is then taken exactly from its two vertices.
    v = v - v.mean(axis=0)  # centred: the products stay of the size of the distances
    sq = (v * v).sum(axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (v @ v.T)
    i, j = np.unravel_index(int(np.argmax(d2)), d2.shape)
    return float(np.sqrt(((v[i] - v[j]) ** 2).sum()))


@register_annotator
class ObjectPose(Annotator):
    """{"data": (N, 4, 4) model-to-camera (OpenCV axes, metres), "info": see module doc}."""

    name = "object_pose"
    summary = "6D poses (model to camera) of the labelled objects, with their models (BOP)"
    passes = ("instance",)
    needs_geometry = True
    OPTIONS = dict(SEMANTIC_OPTIONS)

    def annotate(self, frame):
        stype = self.options["semantic_type"]
        labelled = object_labels(frame, stype, self.options["semantic_filter"])
        rows = [iid for iid in sorted(labelled) if in_view(frame, iid)]
        world_to_cv = frame.camera.world_to_camera_opencv
        poses, to_world, bounds, diameters, models = [], [], [], [], {}
        info = {"instanceIds": rows, "semanticIds": [], "primPaths": [], "labels": [], "idToLabels": {}}
        for iid in rows:
            obj = frame.objects[iid]
            label = labelled[iid]
            sid = frame.label_table.semantic_id(stype, label)
            m2w = rigid_part(obj.object_to_world)
            vertices, faces = model_mesh(obj, m2w)
            if label not in models:
                models[label] = {"vertices": vertices, "faces": faces}
            info["semanticIds"].append(sid)
            info["primPaths"].append(obj.path)
            info["labels"].append(label)
            info["idToLabels"][sid] = {stype: label}
            poses.append(world_to_cv @ m2w)
            to_world.append(m2w)
            lo = vertices.min(axis=0) if len(vertices) else np.zeros(3)
            hi = vertices.max(axis=0) if len(vertices) else np.zeros(3)
            bounds.append([lo, hi])
            diameters.append(diameter(vertices))
        info["objectToWorld"] = np.array(to_world, dtype=np.float64).reshape(-1, 4, 4)
        info["modelBounds"] = np.array(bounds, dtype=np.float64).reshape(-1, 2, 3)
        info["diameter"] = np.array(diameters, dtype=np.float64)
        info["models"] = models
        return {"data": np.array(poses, dtype=np.float64).reshape(-1, 4, 4), "info": info}
