"""LiDAR ray casts against the frame's evaluated meshes (bpy, mathutils).

Exact geometry from Blender, not from the image: per frame, every rendered mesh of every
entity (modifiers applied, as Cycles renders it) goes into one BVH in world space; each
ray of each sensor is cast against it (mathutils' BVHTree, the only per-ray Python step).
Everything else (ray directions, normals, incidence, ids, reflectance) is numpy.
annotators.lidar turns the exact hits into the point cloud (noise, dropout, intensity).
"""

from __future__ import annotations

import math

import bpy  # noqa: F401  (makes mathutils importable in module mode)
import numpy as np
from mathutils import Euler, Vector
from mathutils.bvhtree import BVHTree

from ..annotators.lidar import LidarPattern
from ..colour import LINEAR_REC709, luminance_weights
from ..compat import working_space
from ..frame import Camera, FrameData
from ..scene.base import evaluated_depsgraph, meters_per_unit
from ..scene.instancing import renders
from ..scene.materials import base_colour
from ..sensors import REFLECTANCE_PROP  # object (or material) custom property, 0 .. 1
from .render import _may_deform, volume_objects

DEFAULT_REFLECTANCE = 0.5  # a base colour driven by a texture or other nodes
# Sensor axes (x forward, y left, z up) in a Blender camera's frame (looks down -Z, +Y up).
CAMERA_TO_SENSOR_AXES = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0]])


def luminance(rgb, space: str = LINEAR_REC709) -> float:
    """Y of a scene-linear colour of working space `space` (Blender 5.0: a .blend's own, e.g.
    ACEScg, whose primaries weigh otherwise than Rec.709's 0.2126, 0.7152, 0.0722)."""
    r, g, b = (float(x) for x in list(rgb)[:3])
    wr, wg, wb = (float(w) for w in luminance_weights(space))
    return wr * r + wg * g + wb * b


def reflectance(obj, mat=None) -> float:
    """`sdg_reflectance` of the object, else of the material (`mat`, default the object's
    active one), else the luminance of the base colour that material shows on the object
    (scene.materials.base_colour), DEFAULT_REFLECTANCE when a texture makes it."""
    if REFLECTANCE_PROP in obj.keys():
        return float(obj[REFLECTANCE_PROP])
    mat = obj.active_material if mat is None else mat
    if mat is not None and REFLECTANCE_PROP in mat.keys():
        return float(mat[REFLECTANCE_PROP])
    colour = base_colour(obj, mat)
    return DEFAULT_REFLECTANCE if colour is None else luminance(colour, working_space())


def material_indices(obj, depsgraph) -> np.ndarray:
    """(F,) material slot index of each loop triangle of `obj`'s evaluated mesh, in the
    order of the capture's faces (capture.render's _local_mesh)."""
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        mesh.calc_loop_triangles()
        index = np.empty(len(mesh.loop_triangles), np.int64)
        mesh.loop_triangles.foreach_get("material_index", index)
    finally:
        evaluated.to_mesh_clear()
    return index


def triangle_reflectances(obj, index, count: int) -> np.ndarray:
    """(count,) reflectance of each triangle: each its own material slot's (`index`, from
    material_indices; a car's paint and its tyres), one value when the object has at most
    one material or sets sdg_reflectance itself."""
    slots = [slot.material for slot in getattr(obj, "material_slots", ())]
    if len(slots) <= 1 or REFLECTANCE_PROP in obj.keys() or index is None or len(index) != count:
        return np.full(count, reflectance(obj), np.float32)
    per_slot = np.array([reflectance(obj, m) if m is not None else reflectance(obj) for m in slots], np.float32)
    return per_slot[np.clip(index, 0, len(slots) - 1)]  # an index past the slots draws with the last


def _rigid(matrix) -> np.ndarray:
    """A 4x4 world matrix without its scale (a sensor's frame is metric)."""
    loc, rot, _scale = matrix.decompose()
    m = np.eye(4)
    m[:3, :3] = np.array(rot.to_matrix())
    m[:3, 3] = loc
    return m


def rays_meet_box(origin, dirs: np.ndarray, lo, hi, reach: float) -> np.ndarray:
    """(N,) bool: rays from `origin` along unit `dirs` that pass through the box [lo, hi]
    within `reach` (slab test; a ray starting inside always does)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dirs
        t1, t2 = (lo - origin) * inv, (hi - origin) * inv
    t1, t2 = np.nan_to_num(t1, nan=-np.inf), np.nan_to_num(t2, nan=np.inf)
    near = np.minimum(t1, t2).max(axis=1)
    far = np.maximum(t1, t2).min(axis=1)
    return (far >= np.maximum(near, 0.0)) & (near <= reach)


def check_mounts(built, lidars) -> None:
    """Every LiDAR's mount is a camera or object of the built scene (a base .blend's
    names are known only now): a FieldError naming the entry, else nothing."""
    from ..config.problems import FieldError, one_of

    for i, s in enumerate(lidars):
        if s.mount and s.mount not in built.cameras and s.mount not in built.scene.objects:
            known = sorted(set(built.cameras) | {o.name for o in built.scene.objects if o.type != "LIGHT"})
            raise FieldError(f"lidars[{i}].mount", s.mount, one_of(s.mount, known, "camera or object"))


class LidarCaster:
    """Casts the rays of the run's LiDARs; one BVH per frame, shared by every sensor."""

    def __init__(self, capturer, lidars, seed: int):
        self.capturer = capturer
        self.built = capturer.built
        self.lidars = list(lidars)
        self.seed = seed
        self.patterns = [
            LidarPattern(s.model, s.channels, (s.fov_down, s.fov_up), s.horizontal_fov, s.columns) for s in lidars
        ]
        self.directions = [p.directions() for p in self.patterns]
        self._indices: dict[tuple, np.ndarray] = {}  # material_indices per undeformed mesh
        check_mounts(self.built, self.lidars)

    def sensor_to_world(self, spec) -> np.ndarray:
        offset = np.eye(4)
        offset[:3, :3] = np.array(Euler([math.radians(a) for a in spec.rotation], "XYZ").to_matrix())
        offset[:3, 3] = spec.location
        if not spec.mount:
            return offset
        if spec.mount in self.built.cameras:
            mount = _rigid(self.built.cameras[spec.mount].matrix_world)
            axes = np.eye(4)
            axes[:3, :3] = CAMERA_TO_SENSOR_AXES
            return mount @ axes @ offset
        return _rigid(self.built.scene.objects[spec.mount].matrix_world) @ offset

    def _material_indices(self, obj, depsgraph) -> np.ndarray | None:
        """material_indices of an object with several material slots (None otherwise),
        cached per mesh that nothing deforms (as the capture caches its faces)."""
        if len(getattr(obj, "material_slots", ())) <= 1 or REFLECTANCE_PROP in obj.keys():
            return None
        key = None if _may_deform(obj) else (obj.type, obj.data.name_full)
        if key is not None and key in self._indices:
            return self._indices[key]
        index = material_indices(obj, depsgraph)
        if key is not None:
            self._indices[key] = index
        return index

    def scene_geometry(self):
        """World triangles (N, 3, 3), their instance ids (N,) and reflectances (N,). Volumes
        (smoke, a fog box: a mesh whose materials are volume-only) are no surface: left out,
        as they own no pixel of the masks (capture.render.volume_objects)."""
        depsgraph = evaluated_depsgraph(self.built.scene)
        volumes = {o.name_full for o in volume_objects(self.built.scene)}
        tris, ids, refl = [], [], []
        for e in self.built.entities.values():
            for m in e.meshes:
                if not renders(m) or m.name_full in volumes:
                    continue
                co, faces, _twins, _closed = self.capturer._local_mesh(m, depsgraph)  # cached per unmodified mesh
                local = co[faces]
                if not len(local):
                    continue
                mw = np.array(m.matrix_world, dtype=np.float64)
                tris.append(local @ mw[:3, :3].T + mw[:3, 3])
                ids.append(np.full(len(local), e.instance_id, np.uint32))
                refl.append(triangle_reflectances(m, self._material_indices(m, depsgraph), len(local)))
        if not tris:
            return np.zeros((0, 3, 3)), np.zeros(0, np.uint32), np.zeros(0, np.float32)
        return np.concatenate(tris), np.concatenate(ids), np.concatenate(refl)

    def scan(self, frame: int, objects: dict) -> list[FrameData]:
        """One FrameData (sensor "lidar") per LiDAR: exact hits of every ray."""
        tris, ids, refl = self.scene_geometry()
        n = len(tris)
        bvh = None
        # mathutils' BVH is float32: world coordinates 1e5 m from the origin keep only 8 mm
        # (ranges were 5 cm off there, 4 mm at 1e4 m). So it holds the triangles relative to
        # the sensors' mean position, subtracted in float64, and each ray starts there too.
        poses = [self.sensor_to_world(spec) for spec in self.lidars]
        centre = np.mean([pose[:3, 3] for pose in poses], axis=0) if n else 0.0
        if n:
            verts = tris.reshape(-1, 3) - centre
            bvh = BVHTree.FromPolygons(verts.tolist(), np.arange(3 * n).reshape(n, 3).tolist(), all_triangles=True)
            normals = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
            length = np.linalg.norm(normals, axis=1, keepdims=True)
            normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)
            lo, hi = verts.min(axis=0), verts.max(axis=0)
        out = []
        metres = meters_per_unit(self.built.scene)
        for index, (spec, dirs, pose) in enumerate(zip(self.lidars, self.directions, poses)):
            shape = dirs.shape[:2]
            world_dirs = dirs.reshape(-1, 3) @ pose[:3, :3].T
            distance = np.full(len(world_dirs), np.inf)
            face = np.full(len(world_dirs), -1, np.int64)
            if bvh is not None:
                reach = float(spec.max_range) * 1.5  # noise may bring a farther return in range
                # Only rays that enter the scene's bounding box can hit (a vectorized slab test).
                start = pose[:3, 3] - centre
                todo = np.flatnonzero(rays_meet_box(start, world_dirs, lo, hi, reach))
                cast, origin = bvh.ray_cast, Vector(start)
                for k, hit in zip(todo.tolist(), [cast(origin, d, reach) for d in world_dirs[todo].tolist()]):
                    if hit[2] is not None:
                        face[k], distance[k] = hit[2], hit[3]
            hit = face >= 0
            cos_inc = np.zeros(len(world_dirs), np.float32)
            instance = np.zeros(len(world_dirs), np.uint32)
            refl_px = np.zeros(len(world_dirs), np.float32)
            if hit.any():
                cos_inc[hit] = np.abs(np.einsum("ij,ij->i", normals[face[hit]], world_dirs[hit]))
                instance[hit] = ids[face[hit]]
                refl_px[hit] = refl[face[hit]]
            camera = Camera(
                name=spec.name,
                width=shape[1],
                height=shape[0],
                projection="lidar",
                camera_to_world=pose,
                fx=0.0,
                fy=0.0,
                cx=0.0,
                cy=0.0,
                clip_start=spec.min_range,
                clip_end=spec.max_range,
                meters_per_unit=metres,
            )
            hits = {
                "distance": distance.reshape(shape),  # float64: exact ranges
                "instance": instance.reshape(shape),
                "cos_incidence": cos_inc.reshape(shape),
                "reflectance": refl_px.reshape(shape),
                "directions": dirs.astype(np.float32),
                "seed": self.seed,
                "index": index,
                "spec": {
                    "range_noise": spec.range_noise,
                    "dropout": spec.dropout,
                    "min_range": spec.min_range,
                    "max_range": spec.max_range,
                },
            }
            out.append(
                FrameData(
                    frame=frame,
                    camera=camera,
                    passes={"lidar": hits},
                    objects=objects,
                    label_table=self.built.label_table,
                    sensor="lidar",
                )
            )
        return out
