"""Benchmark: reading a large base .blend, whole (scene.base.read_blend_scene) against
appending its scene (what the run did before, and still does in the UI and in Blender 4.2).

  python -m headless.bench_blend FOLDER [N ...] [--append-up-to N]

Writes FOLDER/objects_N.blend for each N (default 1000 3000 10000; kept when already
there): N mesh objects sharing 20 meshes and 20 materials (one of which reads an image by a
path relative to the .blend, tex/checker.png), in 40 collections nested in 10, a collection
instanced N/100 times, a camera and a sun; and a second scene of 50 objects that the run
does not use. Each file is then read in a fresh process both ways (Blender 4.2: appended only; the append only up to
--append-up-to objects, default 3000: 10,000 objects take minutes), and the one-line
figures printed: wall-clock and CPU seconds of scene.base.load_blend_scene alone, and
whether the two sessions hold the same data (names, libraries, file paths, users).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAKE = """
import sys, bpy, bmesh
from pathlib import Path
n, out = int(sys.argv[1]), sys.argv[2]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.name = "Scene"
png = bpy.data.images.new("checker", 8, 8)
(Path(out).parent / "tex").mkdir(exist_ok=True)
png.filepath_raw = str(Path(out).parent / "tex" / "checker.png")
png.file_format = "PNG"
if not Path(png.filepath_raw).exists():  # a texture already there (an earlier file's, the user's) is kept
    png.save()
meshes, materials = [], []
for k in range(20):
    me = bpy.data.meshes.new(f"mesh{k:02d}")
    bm = bmesh.new()
    bmesh.ops.create_cube(bm, size=0.2 + 0.01 * k)
    bm.to_mesh(me)
    bm.free()
    m = bpy.data.materials.new(f"mat{k:02d}")
    m.diffuse_color = (k / 20, 0.5, 1 - k / 20, 1)
    me.materials.append(m)
    meshes.append(me)
    materials.append(m)
from sdg_addon.compat import enable_nodes
enable_nodes(materials[0])
nodes = materials[0].node_tree.nodes
texture = nodes.new("ShaderNodeTexImage")
texture.image = png
png.filepath = "//tex/checker.png"
shelves = []
for g in range(10):
    group = bpy.data.collections.new(f"group{g:02d}")
    scene.collection.children.link(group)
    for c in range(4):
        shelf = bpy.data.collections.new(f"shelf{g * 4 + c:02d}")
        shelf["semantics"] = f"class:k{c}"
        group.children.link(shelf)
        shelves.append(shelf)
for i in range(n):
    o = bpy.data.objects.new(f"item{i:05d}", meshes[i % 20])
    o.location = ((i % 100) * 0.4 - 20, (i // 100) * 0.4 - 20, 0)
    shelves[i % 40].objects.link(o)
proto = bpy.data.collections.new("proto")
scene.collection.children.link(proto)
for k in range(3):
    part = bpy.data.objects.new(f"proto_part{k}", meshes[k])
    part.location = (k * 0.3, 0, 0)
    proto.objects.link(part)
scene.view_layers[0].layer_collection.children["proto"].exclude = True
for k in range(max(1, n // 100)):
    e = bpy.data.objects.new(f"inst{k:04d}", None)
    e.instance_type, e.instance_collection = "COLLECTION", proto
    e.location = (k * 0.5 - 10, 25, 0)
    scene.collection.objects.link(e)
cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
cam.location, cam.rotation_euler = (0, -60, 45), (0.9, 0, 0)
scene.collection.objects.link(cam)
scene.camera = cam
scene.collection.objects.link(bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN")))
other = bpy.data.scenes.new("Other")
for k in range(50):
    other.collection.objects.link(bpy.data.objects.new(f"other{k:03d}", meshes[0]))
bpy.ops.wm.save_as_mainfile(filepath=out)
"""

LOAD = """
import json, sys, time, bpy
from sdg_addon.scene import base
whole, path = sys.argv[1] == "whole", sys.argv[2]
base.reads_whole_file = lambda: whole
bpy.ops.wm.read_homefile(use_empty=True)
t, c = time.perf_counter(), time.process_time()
base.load_blend_scene(path, "Scene")
wall, cpu = time.perf_counter() - t, time.process_time() - c
held = {}
for attr in dir(bpy.data):
    blocks = getattr(bpy.data, attr, None)
    if attr in ("libraries", "window_managers", "workspaces", "screens"):
        continue
    if isinstance(blocks, bpy.types.bpy_prop_collection):
        held[attr] = sorted([b.name, b.library and b.library.filepath, getattr(b, "filepath", None), b.users]
                            for b in blocks)
held["session file"] = bpy.data.filepath
print("RESULT " + json.dumps({"wall": wall, "cpu": cpu, "objects": len(bpy.data.objects), "held": held}))
"""


def run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m headless.bench_blend", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="where the .blend files are written (kept for later runs)")
    parser.add_argument(
        "counts",
        type=int,
        nargs="*",
        default=[1000, 3000, 10000],
        help="objects of each file (default 1000 3000 10000)",
    )
    parser.add_argument(
        "--append-up-to",
        type=int,
        default=3000,
        metavar="N",
        help="also time the append for files of at most N objects (default 3000; 10,000 take minutes)",
    )
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    from sdg_addon.compat import rewrites_file_paths

    readable = rewrites_file_paths()  # what scene.base.reads_whole_file needs
    for n in args.counts:
        path = (args.folder / f"objects_{n}.blend").resolve()
        if not path.exists():
            run(MAKE, str(n), str(path))
        figures, held = {}, {}
        modes = ("whole",) * readable + ("append",) * (n <= args.append_up_to or not readable)
        for mode in modes:
            line = next(x for x in run(LOAD, mode, str(path)).splitlines() if x.startswith("RESULT "))
            result = json.loads(line[len("RESULT ") :])
            figures[mode], held[mode] = result, result.pop("held")
        row = {"file": path.name, "objects": next(iter(figures.values()))["objects"]}
        if not readable:
            row["whole"] = "not in this Blender (no bpy.data.file_path_foreach: Blender 4.2 appends)"
        for mode, result in figures.items():
            row[mode] = f"{result['wall']:.2f} s wall, {result['cpu']:.2f} s CPU"
        if len(held) == 2:
            row["same data"] = held["whole"] == held["append"]
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
