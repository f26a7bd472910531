"""Normals come from one sample per pixel, like ids and depth (issue: Cycles averages its
Normal pass over samples). A rotated cube rendered at 16 samples: every surface pixel holds
exactly one of the cube's face normals (no blend of two faces at its edges), background
pixels hold 0, and the files are byte-identical between a full run, a frame alone and
shards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("bpy")

from scenes import NO_GROUND, camera, header, render, sun, write_param  # noqa: E402

CUBE_FILE = (
    header((64, 48), samples=16, seed=3, frames=3)
    + NO_GROUND
    + camera((0.0, -3.0, 1.5), (0.0, 0.0, 0.0))
    + sun()
    + """
[[assets]]
name = "cube"
primitive = "cube"
size = 1.0
labels = { class = "cube" }

[[randomizers]]
type = "pose"
targets = "cube"
rotation = { distribution = "uniform", low = [0, 0, 0], high = [360, 360, 360] }

[annotators]
normals = {}
instance_segmentation = {}
camera_params = {}

[writers]
basic = { colorize_instance_segmentation = false }
"""
)


def test_normals_one_sample_per_pixel_and_byte_identical(tmp_path):
    param = write_param(tmp_path, CUBE_FILE, "cube.toml")
    full, alone, shards = tmp_path / "full", tmp_path / "alone", tmp_path / "shards"
    assert render(param, full) == 0
    assert render(param, alone, "--frames", "1") == 0
    assert render(param, shards, "--shard", "0/2") == 0
    assert render(param, shards, "--shard", "1/2") == 0

    for f in range(3):
        n = np.load(full / f"normals_{f:04d}.npy")
        ids = np.array(Image.open(full / f"instance_segmentation_{f:04d}.png"))
        assert n.shape == (48, 64, 3) and n.dtype == np.float32
        surface = ids != 0
        assert 200 < surface.sum() < surface.size  # the cube is in view, background too
        assert not n[~surface].any()  # exactly 0 on background
        # Every surface pixel is one face normal: at most 3 faces face the camera, and each
        # pixel's normal is within float precision of one of them (a blend of two faces
        # at an edge would be up to 45 degrees off).
        faces = np.unique(np.round(n[surface], 3), axis=0)
        faces /= np.linalg.norm(faces, axis=1, keepdims=True)
        assert 1 <= len(faces) <= 3, faces
        dots = n[surface] @ faces.T
        assert np.all(dots.max(axis=1) > 1 - 1e-5)
        assert np.allclose(np.linalg.norm(n[surface], axis=1), 1.0, atol=1e-6)
        # The faces of a cube are orthogonal: a blended normal would not be.
        gram = faces @ faces.T
        assert np.allclose(gram, np.eye(len(faces)), atol=2e-3)
        # Byte-identical across the three ways of making frame f.
        data = (full / f"normals_{f:04d}.npy").read_bytes()
        assert (shards / f"normals_{f:04d}.npy").read_bytes() == data
        if f == 1:
            assert (alone / f"normals_{f:04d}.npy").read_bytes() == data


MESHES_OF_A_PROCESS = """
import sys
import bpy  # bmesh is importable after bpy
import numpy as np
from sdg_addon.scene.primitives import BUILDERS, primitive_mesh
out = {}
for kind in sorted(BUILDERS):
    mesh = primitive_mesh(kind, kind, 1.0)
    for name, items, attr, width, dtype in (
        ("co", mesh.vertices, "co", 3, np.float32),
        ("vertex_normals", mesh.vertices, "normal", 3, np.float32),
        ("corners", mesh.loops, "vertex_index", 1, np.int32),
        ("face_starts", mesh.polygons, "loop_start", 1, np.int32),
        ("face_normals", mesh.polygons, "normal", 3, np.float32),
        ("face_centres", mesh.polygons, "center", 3, np.float32),
    ):
        values = np.empty(len(items) * width, dtype)
        items.foreach_get(attr, values)
        out[f"{kind}.{name}"] = values.reshape(len(items), width)
np.savez(sys.argv[1], **out)
"""


def test_built_in_primitives_are_the_same_mesh_in_every_process(tmp_path):
    """The procedural meshes (and so Blender's smooth-shading normals, which sum over each
    vertex's faces in their order) are identical in every process: a shard renders what the
    full run renders. bmesh.ops.create_uvsphere ordered the sphere's faces differently in
    every process, and its vertex normals then differed by an ulp. Convex ones face out."""
    root = Path(__file__).resolve().parent.parent
    for i in (1, 2):
        subprocess.run([sys.executable, "-c", MESHES_OF_A_PROCESS, str(tmp_path / f"{i}.npz")], cwd=root, check=True)
    first, second = np.load(tmp_path / "1.npz"), np.load(tmp_path / "2.npz")
    assert first.files == second.files and len(first.files) > 8
    for key in first.files:
        assert np.array_equal(first[key], second[key]), key
    for kind in ("sphere", "cube", "cylinder", "cone"):
        co, centres = first[f"{kind}.co"], first[f"{kind}.face_centres"]
        middle = (co.min(axis=0) + co.max(axis=0)) / 2
        assert (np.einsum("ij,ij->i", first[f"{kind}.face_normals"], centres - middle) > 0).all(), kind
    sphere = first["sphere.co"]  # a sphere of the asked size, resting on z = 0
    assert np.allclose(np.linalg.norm(sphere - [0, 0, 0.5], axis=1), 0.5, atol=1e-6)


def test_a_surface_seen_from_its_back_has_the_normal_of_the_side_facing_the_camera(tmp_path):
    """The plane primitive faces +Z (its winding); a camera below it sees its back. Cycles
    turns the normal of a surface hit on its back round: every plane pixel holds (0, 0, -1),
    the normal of the side the camera sees, not the winding's +Z (docs/annotators.md)."""
    text = (
        header((64, 48), samples=2)
        + NO_GROUND
        + camera((0.0, -3.0, -1.5), (0.0, 0.0, 0.0))
        + sun()
        + '[[assets]]\nname = "sheet"\nprimitive = "plane"\nsize = 2.0\nlabels = { class = "sheet" }\n'
        + "[annotators]\nnormals = {}\ninstance_segmentation = {}\n"
        + "[writers]\nbasic = { colorize_instance_segmentation = false }\n"
    )
    out = tmp_path / "out"
    assert render(write_param(tmp_path, text, "below.toml"), out) == 0
    n = np.load(out / "normals_0000.npy")
    sheet = np.array(Image.open(out / "instance_segmentation_0000.png")) > 1
    assert sheet.sum() > 200
    np.testing.assert_allclose(n[sheet], np.broadcast_to([0.0, 0.0, -1.0], (sheet.sum(), 3)), atol=1e-6)
