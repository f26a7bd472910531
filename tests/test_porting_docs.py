"""docs/porting.md: every port on the page is a complete parameter file that validates,
and the page's table lists each of them (tests/test_porting_bpy.py renders some and
checks the numbers the page states)."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

import numpy as np
from PIL import Image

from sdg_addon.config import load_config

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "porting.md"


def examples() -> dict[str, str]:
    """{heading: TOML text} of every port on the page (one TOML block under each ### heading)."""
    text = PAGE.read_text(encoding="utf-8").split("## The ports", 1)[1].split("\n## ", 1)[0]
    out = {}
    for part in re.split(r"^### ", text, flags=re.M)[1:]:
        heading = part.splitlines()[0]
        blocks = re.findall(r"^```toml\n(.*?)^```", part, re.S | re.M)
        assert len(blocks) == 1, f"{heading}: {len(blocks)} TOML blocks"
        out[heading] = blocks[0]
    return out


def add_photos(folder: Path, data: dict, size=(64, 48)) -> dict[str, np.ndarray]:
    """The photos a port's `background` entries name (their globs with `*` as `photo1`,
    `photo2`), random frame-sized pictures written into `folder`: {name: pixels as stored}."""
    out = {}
    for r in data.get("randomizers", []):
        if r["type"] != "background":
            continue
        for pattern in [r["files"]] if isinstance(r["files"], str) else r["files"]:
            for k in (1, 2):
                name = pattern.replace("*", f"photo{k}")
                path = folder / name
                path.parent.mkdir(parents=True, exist_ok=True)
                pixels = np.random.default_rng(k).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(pixels).save(path)
                out[name] = np.array(Image.open(path))  # a JPEG's decoded values
    return out


def test_every_port_on_the_page_validates(tmp_path):
    found = examples()
    assert len(found) >= 8
    for i, (heading, text) in enumerate(found.items()):
        path = tmp_path / f"port_{i}.toml"
        path.write_text(text, encoding="utf-8")
        add_photos(tmp_path, tomllib.loads(text))
        load_config(path)  # raises ConfigError naming every problem
        assert "[[cameras]]" in text, heading  # a whole file, not a fragment


def test_the_ports_table_has_a_row_per_port_and_a_result_each():
    text = PAGE.read_text(encoding="utf-8").split("## The ports", 1)[1].split("### ", 1)[0]
    rows = [r for r in text.splitlines() if r.startswith("| ") and not r.startswith("| original")]
    assert len(rows) == len(examples())
    for row in rows:
        result = row.strip("|").split("|")[-1].strip()
        assert result.split(" ")[0].rstrip(":") in ("works", "workaround", "impossible"), row


def test_the_kubric_flow_row_says_its_channels_are_the_other_way_round():
    """Kubric's forward_flow / backward_flow are (delta_row, delta_column) (its MOVi README
    and its EXR reader); ours are (dx, dy). The page said 'x right and y down, as Kubric's',
    and annotators.md 'the OpenCV / Sintel / Kubric convention': a port reading ours as
    Kubric's swaps the two."""
    text = PAGE.read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| `forward_flow`, `backward_flow` |")]
    assert "(delta_row, delta_column)" in row and "flow[..., ::-1]" in row, row
    assert "as Kubric's |" not in row
    annotators = (ROOT / "docs" / "annotators.md").read_text(encoding="utf-8")
    assert "Sintel / Kubric convention" not in annotators


def _points(dist: dict, n: int) -> np.ndarray:
    from sdg_addon.sampling import make_distribution

    d, rng = make_distribution(dist), np.random.default_rng(11)
    return np.array([d.sample(rng, 0) for _ in range(n)])


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap of the two empirical CDFs."""
    grid = np.sort(np.concatenate([a, b]))
    return float(
        np.max(
            np.abs(
                np.searchsorted(np.sort(a), grid, "right") / len(a)
                - np.searchsorted(np.sort(b), grid, "right") / len(b)
            )
        )
    )


def test_the_blenderproc_light_on_a_shell_draws_as_blenderprocs_shell():
    """BlenderProc's sampler.shell (uniform_volume=False, its default) draws the elevation
    uniform in degrees, the azimuth uniform, the radius uniform; the port (and the table)
    gave our shell, whose direction is uniform by area: over 15 .. 70 degrees the mean
    elevation was 38 degrees against BlenderProc's 42.5 (half its points above 42.5, 39 % of
    ours)."""
    (shell,) = [
        r["location"] for r in tomllib.loads(examples()["Light on a shell (BlenderProc light_sampling)"])["randomizers"]
    ]
    n, rng = 4000, np.random.default_rng(5)
    c = np.asarray(shell["center"])
    ours = _points(shell, n) - c
    # BlenderProc 2.x sampler.shell, uniform_volume=False
    el = np.radians(rng.uniform(shell["elevation_min"], shell["elevation_max"], n))
    az = np.radians(rng.uniform(-180, 180, n))
    r = rng.uniform(shell["radius_min"], shell["radius_max"], n)
    theirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], 1) * r[:, None]
    for f in (
        lambda p: np.degrees(np.arcsin(p[:, 2] / np.linalg.norm(p, axis=1))),
        lambda p: np.linalg.norm(p, axis=1),
    ):
        assert _ks(f(ours), f(theirs)) < 1.95 * math.sqrt(2 / n)  # the same at the 0.1 % level
    row = [
        line
        for line in PAGE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `bproc.sampler.shell(...)`")
    ]
    assert "uniform_elevation = true" in row[0]


def test_the_kubric_half_sphere_shell_row_draws_as_kubrics():
    """Kubric's sample_point_in_half_sphere_shell(inner, outer) is uniform in the half shell's
    volume (a normal 3-vector with z >= 0, normalised; the radius uniform(inner³, outer³)^(1/3));
    the row gave a shell whose radius is uniform, fewer points far out (radius mean 8.00
    against Kubric's 8.08 for 7 .. 9)."""
    (row,) = [
        line
        for line in PAGE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `kb.sample_point_in_half_sphere_shell(7, 9)`")
    ]
    shell = tomllib.loads(re.search(r"`location = (\{[^`]*\})`", row).group(0).strip("`"))["location"]
    n, rng = 4000, np.random.default_rng(5)
    ours = _points(shell, n)
    xyz = rng.normal(0, 1, (4 * n, 3))
    xyz = xyz[xyz[:, 2] >= 0][:n]
    xyz /= np.linalg.norm(xyz, axis=1)[:, None]
    theirs = xyz * (rng.uniform(7**3, 9**3, n) ** (1 / 3))[:, None]
    assert _ks(np.linalg.norm(ours, axis=1), np.linalg.norm(theirs, axis=1)) < 1.95 * math.sqrt(2 / n)
    assert _ks(ours[:, 2] / np.linalg.norm(ours, axis=1), xyz[:, 2]) < 1.95 * math.sqrt(2 / n)


def test_the_cc_textures_row_uses_ambientcgs_normal_and_roughness_maps(tmp_path):
    """BlenderProc's load_ccmaterials (ambientCG sets) takes each set's colour, NormalGL and
    Roughness maps; the row said `color_suffix = "_Color"` alone, which left both maps unused
    without a word (the default suffixes `_normal` and `_roughness` are not ambientCG's)."""
    (row,) = [line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("| `load_ccmaterials`")]
    options = tomllib.loads(re.search(r"`(color_suffix = [^`]*)`", row).group(1).replace(", ", "\n"))
    for name in ("Color", "NormalGL", "NormalDX", "Roughness", "Displacement"):
        path = tmp_path / "cc" / "Wood049" / f"Wood049_1K-JPG_{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 4)).save(path)
    entry = {"type": "texture", "targets": "ground", "folder": "cc", "recursive": True, **options}
    param = tmp_path / "p.toml"
    param.write_text('[[cameras]]\nname = "camera"\nlocation = [0, -6, 4]\n', encoding="utf-8")
    data = tomllib.loads(param.read_text(encoding="utf-8")) | {"randomizers": [entry]}
    from sdg_addon.config.schema import config_from_dict

    (spec,) = config_from_dict(data, param).randomizers
    maps = {k: p.name for k, p in spec.maps("Wood049/Wood049_1K-JPG_Color.png").items()}
    assert maps == {
        "color": "Wood049_1K-JPG_Color.png",
        "normal": "Wood049_1K-JPG_NormalGL.png",
        "roughness": "Wood049_1K-JPG_Roughness.png",
    }


def test_the_transparency_row_says_which_writers_keep_the_alpha():
    """BlenderProc's set_output_format(enable_transparency=True) gives RGBA colors in
    write_hdf5; the row mapped it to render.film_transparent alone, whose hdf5 colors are
    (H, W, 3) with a black background unless the writer's keep_alpha is set."""
    (row,) = [line for line in PAGE.read_text(encoding="utf-8").splitlines() if "enable_transparency=True" in line]
    assert "`render.film_transparent = true`" in row
    assert "`keep_alpha = true` for `hdf5`" in row
    from sdg_addon.writers import WRITERS

    assert "keep_alpha" in WRITERS["hdf5"].OPTIONS and "keep_alpha" in WRITERS["coco"].OPTIONS


def test_the_kubric_flow_row_gives_kubrics_backward_flow_its_sign():
    """Kubric's EXR reader takes Blender's vector pass (previous - now, now - next, y up) as
    forward_flow = (raw[3], -raw[2]) and backward_flow = (raw[1], -raw[0]): the motion from
    the previous frame to this one, equal to its forward flow for a constant motion (its
    maintainers kept one direction of time, kubric issue 152). The page said Kubric's is
    flow[..., ::-1] of ours for both, where our backward_flow points to the previous frame:
    for Kubric's backward flow it is -flow[..., ::-1]. Checked here through our own reading
    of the same pass (motion_vectors: [..., 0:2] backward, [..., 2:4] forward)."""
    from sdg_addon.annotators.flow import MotionVectors

    class Frame:
        passes = {"vector": np.array([[[-3.0, 2.0, -3.0, 2.0]]], np.float32)}  # 3 px right, 2 px down a frame

    ours = MotionVectors().annotate(Frame())[0, 0]
    raw = Frame.passes["vector"][0, 0]
    kubric_forward, kubric_backward = np.array([raw[3], -raw[2]]), np.array([raw[1], -raw[0]])
    assert ours[2:].tolist() == [3.0, 2.0] and ours[:2].tolist() == [-3.0, -2.0]  # next - now, previous - now
    assert np.array_equal(kubric_forward, ours[2:][::-1])
    assert np.array_equal(kubric_backward, -ours[:2][::-1])
    text = PAGE.read_text(encoding="utf-8")
    (row,) = [line for line in text.splitlines() if line.startswith("| `forward_flow`, `backward_flow` |")]
    assert "Kubric's `forward_flow` is `flow[..., ::-1]` of ours" in row, row
    assert "Kubric's is `-flow[..., ::-1]` of our `backward_flow`" in row, row
    annotators = (ROOT / "docs" / "annotators.md").read_text(encoding="utf-8")
    assert "Kubric's is `-flow[..., ::-1]` of ours" in annotators.split("### `backward_flow`")[1].split("###")[0]


def test_the_category_id_row_says_hdf5_ids_are_not_blenderprocs_numbers():
    """The row kept BlenderProc's category numbers by labels class = "3" declared ["1", "2",
    "3"] for COCO and BOP, unsaid for hdf5, BlenderProc's own format, whose category_id_segmaps
    gave that class 4 (checked with h5py: ids 0, 1, 4). The row says so, with the map back
    from instance_attribute_maps, which is checked here on the writer's own entries."""
    from types import SimpleNamespace

    from sdg_addon.frame import LabelTable
    from sdg_addon.writers.hdf5 import attribute_maps

    (row,) = [
        line for line in PAGE.read_text(encoding="utf-8").splitlines() if 'obj.set_cp("category_id", ...)` |' in line
    ]
    assert "`hdf5` writer's `category_id_segmaps`" in row and "category 3 declared third: 4" in row
    table = LabelTable({"class": ["1", "2", "3"]})
    info = {
        "idToLabels": {"0": "BACKGROUND", "1": "UNLABELLED", "2": "/cube"},
        "idToSemantics": {"0": {"class": "BACKGROUND"}, "1": {"class": "UNLABELLED"}, "2": {"class": "3"}},
    }
    maps = attribute_maps(
        SimpleNamespace(annotations={"instance_segmentation": {"info": info}}, label_table=table), "class"
    )
    assert [e["category_id"] for e in maps] == [0, 1, 4]
    code = re.search(r"`(\{e\[\"category_id\"\].*?)`", row).group(1)
    assert eval(code, {"maps": maps}) == {4: 3}
