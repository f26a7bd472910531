"""Procedural meshes for the built-in assets (no external files needed).

Every primitive rests on z = 0 (its origin is the centre of its base) and its largest
extent equals `size`, so a pose with location z = 0 puts it on the ground.
"""

from __future__ import annotations

import math

import bmesh
import bpy
from mathutils import Matrix


def _cube(bm):
    bmesh.ops.create_cube(bm, size=1.0)


def _sphere(bm, radius=0.5, segments=32, rings=16):
    """A UV sphere, poles on z, built vertex by vertex: bmesh.ops.create_uvsphere orders its
    faces and corners differently in every process, so Blender's smooth-shading normals (a
    sum over each vertex's faces) differed by an ulp between a run and its shards, and with
    them the normals pass and, now and then, an RGB pixel."""
    top = bm.verts.new((0.0, 0.0, radius))
    ring = []
    for i in range(1, rings):
        phi = math.pi * i / rings
        z, r = radius * math.cos(phi), radius * math.sin(phi)
        angles = (2 * math.pi * j / segments for j in range(segments))
        ring.append([bm.verts.new((r * math.cos(a), r * math.sin(a), z)) for a in angles])
    bottom = bm.verts.new((0.0, 0.0, -radius))
    for j in range(segments):  # counter-clockwise seen from outside: normals point out
        k = (j + 1) % segments
        bm.faces.new((top, ring[0][j], ring[0][k]))
        for upper, lower in zip(ring, ring[1:]):
            bm.faces.new((upper[j], lower[j], lower[k], upper[k]))
        bm.faces.new((bottom, ring[-1][k], ring[-1][j]))


def _cylinder(bm):
    bmesh.ops.create_cone(bm, cap_ends=True, segments=32, radius1=0.35, radius2=0.35, depth=1.0)


def _cone(bm):
    bmesh.ops.create_cone(bm, cap_ends=True, segments=32, radius1=0.5, radius2=0.0, depth=1.0)


def _monkey(bm):
    bmesh.ops.create_monkey(bm)


def _plane(bm):
    bmesh.ops.create_grid(bm, x_segments=1, y_segments=1, size=0.5)


def _torus(bm, major=0.35, minor=0.15, n_major=32, n_minor=12):
    verts = []
    for i in range(n_major):
        a = 2 * math.pi * i / n_major
        for j in range(n_minor):
            b = 2 * math.pi * j / n_minor
            r = major + minor * math.cos(b)
            verts.append(bm.verts.new((r * math.cos(a), r * math.sin(a), minor * math.sin(b))))
    for i in range(n_major):
        for j in range(n_minor):
            a, b = i * n_minor + j, ((i + 1) % n_major) * n_minor + j
            c, d = ((i + 1) % n_major) * n_minor + (j + 1) % n_minor, i * n_minor + (j + 1) % n_minor
            bm.faces.new((verts[a], verts[b], verts[c], verts[d]))


def _table(bm):
    """A table 1.5 x 1 x 0.9 (before scaling to `size`): a top on four legs."""
    parts = [((0, 0, 0.875), (1.5, 1.0, 0.05))]
    parts += [((x * 0.68, y * 0.43, 0.425), (0.08, 0.08, 0.85)) for x in (-1, 1) for y in (-1, 1)]
    for centre, dims in parts:
        made = bmesh.ops.create_cube(bm, size=1.0)
        bmesh.ops.transform(bm, matrix=Matrix.Translation(centre) @ Matrix.Diagonal((*dims, 1.0)), verts=made["verts"])


BUILDERS = {
    "cube": _cube,
    "sphere": _sphere,
    "cylinder": _cylinder,
    "cone": _cone,
    "torus": _torus,
    "monkey": _monkey,
    "plane": _plane,
    "table": _table,
}


def primitive_mesh(kind: str, name: str, size: float, smooth: bool = True) -> bpy.types.Mesh:
    """A new mesh of `kind`, largest extent `size` metres, base centred on the origin."""
    bm = bmesh.new()
    try:
        BUILDERS[kind](bm)
        bm.verts.ensure_lookup_table()
        xs, ys, zs = zip(*(v.co[:] for v in bm.verts))
        extent = max(max(xs) - min(xs), max(ys) - min(ys), max(zs) - min(zs)) or 1.0
        s = size / extent
        shift = Matrix.Translation((-(max(xs) + min(xs)) / 2, -(max(ys) + min(ys)) / 2, -min(zs)))
        bmesh.ops.transform(bm, matrix=Matrix.Scale(s, 4) @ shift, verts=bm.verts)
        if smooth and kind in ("sphere", "cylinder", "cone", "torus", "monkey"):
            for f in bm.faces:
                f.smooth = True
        mesh = bpy.data.meshes.new(name)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    return mesh
