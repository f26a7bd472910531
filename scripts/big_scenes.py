"""Parameter files of large scenes, for the scale measurements of docs/benchmarks.md
("Large scenes"). Writes into FOLDER (tiny renders, 1 sample, CPU):

  objects_N.toml   N labelled primitives (5 kinds) re-posed and re-coloured every frame
  scatter_500.toml 500 cubes scattered on the ground every frame
  pool_200.toml    an asset pool of 200 small OBJ files (written to pool/), 5 shown a frame
  files_200.toml   200 [[assets]] entries, one OBJ file each
  cameras_8.toml   200 objects seen by 8 cameras
  hd.toml          200 objects at 1920x1080
  long.toml        30 objects, 1,000 frames at 32x24
and, run with Blender's Python (bpy), heavy.toml (a 1-million-triangle labelled monkey,
monkey.blend) and blend_N.toml (a base .blend of N labelled objects in 30 collections).

  python scripts/big_scenes.py FOLDER [N ...]        (N: object counts, default 200 1000 3000)
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

KINDS = ["cube", "sphere", "cylinder", "cone", "torus"]


def header(frames: int, resolution=(64, 48), classes=KINDS) -> str:
    return (
        f'[run]\nseed = 3\nframes = {frames}\noutput = "out"\n'
        f'[render]\nresolution = [{resolution[0]}, {resolution[1]}]\nsamples = 1\ndevice = "cpu"\n'
        f"[labels]\nclass = {list(classes)!r}\n".replace("'", '"')
    )


SUN = '[[lights]]\nname = "sun"\ntype = "sun"\nlocation = [0.0, 0.0, 10.0]\nenergy = 2.0\n'


def camera(name: str, location, focal: float = 30.0) -> str:
    x, y, z = location
    return f'[[cameras]]\nname = "{name}"\nlocation = [{x:.3f}, {y:.3f}, {z:.3f}]\nlook_at = [0.0, 0.0, 0.0]\nfocal_length = {focal}\n'


ANNOTATORS = (
    "[annotators]\nrgb = {}\ninstance_segmentation = {}\nsemantic_segmentation = {}\n"
    "bounding_box_2d_tight = {}\nbounding_box_3d = {}\nocclusion = {}\n[writers]\nbasic = {}\ncoco = {}\n"
)


def objects(n: int, frames: int = 3, resolution=(64, 48), cameras: int = 1) -> str:
    """n primitives on a 60 m ground, posed and coloured every frame."""
    text = header(frames, resolution) + "[scene]\nground = { size = 60.0, color = [0.4, 0.4, 0.4] }\n"
    if cameras == 1:
        text += camera("camera", (0.0, -40.0, 30.0))
    for i in range(cameras if cameras > 1 else 0):
        a = 2 * math.pi * i / cameras
        text += camera(f"cam{i}", (40 * math.cos(a), 40 * math.sin(a), 30.0))
    text += SUN
    for kind in KINDS:
        text += f'[[assets]]\nname = "{kind}"\nprimitive = "{kind}"\nsize = 0.5\ncount = {max(1, n // 5)}\n'
        text += f'labels = {{ class = "{kind}" }}\n'
    targets = '["cube*", "sphere*", "cylinder*", "cone*", "torus*"]'
    text += (
        f'[[randomizers]]\ntype = "pose"\ntargets = {targets}\n'
        'location = { distribution = "uniform", low = [-25.0, -25.0, 0.0], high = [25.0, 25.0, 0.0] }\n'
        'rotation = { distribution = "uniform", low = [0, 0, 0], high = [0, 0, 360] }\n'
        f'[[randomizers]]\ntype = "material"\ntargets = {targets}\n'
        'color = { distribution = "uniform", low = [0.05, 0.05, 0.05], high = [0.95, 0.95, 0.95] }\n'
    )
    return text + ANNOTATORS


def scatter() -> str:
    return (
        header(3, classes=["cube"])
        + "[scene]\nground = { size = 40.0, color = [0.4, 0.4, 0.4] }\n"
        + camera("camera", (0.0, -30.0, 25.0), 50.0)
        + SUN
        + '[[assets]]\nname = "cube"\nprimitive = "cube"\nsize = 0.4\ncount = 500\nlabels = { class = "cube" }\n'
        + '[[randomizers]]\ntype = "scatter"\ntargets = "cube*"\nsurface = "ground*"\n'
        + "[annotators]\nrgb = {}\ninstance_segmentation = {}\nbounding_box_2d_tight = {}\nocclusion = {}\n"
        + "[writers]\nbasic = {}\ncoco = {}\n"
    )


def obj_files(folder: Path, n: int = 200) -> list[str]:
    """n small boxes as OBJ files in pool/c0 .. pool/c3 (relative names)."""
    faces = [(1, 3, 4, 2), (5, 6, 8, 7), (1, 2, 6, 5), (3, 7, 8, 4), (1, 5, 7, 3), (2, 4, 8, 6)]
    names = []
    for i in range(n):
        s = 0.1 + 0.001 * i
        rel = f"pool/c{i % 4}/m{i:03d}.obj"
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        verts = [(x * s, y * s, z * s) for x in (0, 1) for y in (0, 1) for z in (0, 1)]
        (folder / rel).write_text(
            "".join(f"v {a} {b} {c}\n" for a, b, c in verts) + "".join(f"f {a} {b} {c} {d}\n" for a, b, c, d in faces)
        )
        names.append(rel)
    return names


def small_scene(classes) -> str:
    return header(3, classes=classes) + camera("camera", (0.0, -3.0, 2.0), 50.0) + SUN


def pool() -> str:
    return (
        small_scene(["c0", "c1", "c2", "c3"])
        + '[[assets]]\nname = "m"\nfiles = "pool/**/*.obj"\nlabel_from = "folder"\n'
        + '[[randomizers]]\ntype = "pool"\ntargets = "m_*"\nk = 5\n'
        + '[[randomizers]]\ntype = "scatter"\ntargets = "m_*"\nvolume = "box"\nsize = [2, 2, 1]\n'
        + "[annotators]\nrgb = {}\ninstance_segmentation = {}\nbounding_box_2d_tight = {}\n"
        + "[writers]\nbasic = {}\ncoco = {}\n"
    )


def files(names: list[str]) -> str:
    text = small_scene(["c0", "c1", "c2", "c3"])
    for i, rel in enumerate(names):
        text += f'[[assets]]\nname = "a{i:03d}"\nfile = "{rel}"\nlabels = {{ class = "c{i % 4}" }}\n'
    return (
        text
        + '[[randomizers]]\ntype = "pose"\ntargets = "a*"\n'
        + 'location = { distribution = "uniform", low = [-1.0, -1.0, 0.0], high = [1.0, 1.0, 0.0] }\n'
        + "[annotators]\nrgb = {}\nbounding_box_2d_tight = {}\n[writers]\nbasic = {}\n"
    )


def heavy() -> str:
    return (
        header(3, (160, 120), ["monkey"])
        + "[scene]\nground = { size = 10.0 }\n"
        + camera("camera", (0.0, -4.0, 1.0), 50.0)
        + SUN
        + '[[assets]]\nname = "suzanne"\nfile = "monkey.blend"\nlabels = { class = "monkey" }\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = "suzanne"\n'
        + 'rotation = { distribution = "uniform", low = [0, 0, 0], high = [0, 0, 360] }\n'
        + ANNOTATORS.replace("bounding_box_3d", "bounding_box_2d_loose = {}\nbounding_box_3d")
    )


def blend(n: int) -> str:
    return (
        header(2, classes=[f"k{i}" for i in range(5)])
        + f'[scene]\nblend = "shelves_{n}.blend"\ncameras = ["Cam"]\n'
        + '[[randomizers]]\ntype = "pose"\ntargets = "item*"\n'
        + 'rotation = { distribution = "uniform", low = [0, 0, 0], high = [0, 0, 360] }\n'
        + "[annotators]\nrgb = {}\ninstance_segmentation = {}\nbounding_box_2d_tight = {}\n"
        + "[writers]\nbasic = {}\ncoco = {}\n"
    )


def write_blends(folder: Path, counts: list[int]) -> None:
    """monkey.blend (a monkey subdivided 5 times: 1,007,616 triangles) and shelves_N.blend."""
    import bmesh
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.mesh.primitive_monkey_add()
    monkey = bpy.context.object
    monkey.name = "monkey"
    mod = monkey.modifiers.new("subdivide", "SUBSURF")
    mod.levels = mod.render_levels = 5
    bpy.ops.object.modifier_apply(modifier=mod.name)
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / "monkey.blend"))
    for n in counts:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        mesh = bpy.data.meshes.new("cube")
        bm = bmesh.new()
        bmesh.ops.create_cube(bm, size=0.3)
        bm.to_mesh(mesh)
        bm.free()
        shelves = []
        for c in range(30):
            coll = bpy.data.collections.new(f"shelf{c:02d}")
            coll["semantics"] = {"class": [f"k{c % 5}"]}
            scene.collection.children.link(coll)
            shelves.append(coll)
        for i in range(n):
            obj = bpy.data.objects.new(f"item{i:05d}", mesh)
            shelves[i % 30].objects.link(obj)
            obj.location = ((i % 60) * 0.5 - 15, (i // 60) * 0.5 - 15, 0)
        cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
        scene.collection.objects.link(cam)
        cam.location, cam.rotation_euler = (0, -40, 30), (0.9, 0, 0)
        bpy.ops.wm.save_as_mainfile(filepath=str(folder / f"shelves_{n}.blend"))


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    counts = [int(a) for a in argv[1:]] or [200, 1000, 3000]
    texts = {f"objects_{n}.toml": objects(n) for n in counts}
    names = obj_files(folder)
    texts.update(
        {
            "scatter_500.toml": scatter(),
            "pool_200.toml": pool(),
            "files_200.toml": files(names),
            "cameras_8.toml": objects(200, cameras=8),
            "hd.toml": objects(200, frames=2, resolution=(1920, 1080)),
            "long.toml": objects(30, frames=1000, resolution=(32, 24)),
        }
    )
    try:
        import bpy  # noqa: F401
    except ImportError:
        print("no bpy: heavy.toml and blend_N.toml left out (run with Blender's Python)", file=sys.stderr)
    else:
        write_blends(folder, counts)
        texts["heavy.toml"] = heavy()
        texts.update({f"blend_{n}.toml": blend(n) for n in counts})
    for name, text in texts.items():
        (folder / name).write_text(text)
    print("\n".join(sorted(texts)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
