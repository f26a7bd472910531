"""The one path sanitizer, and every writer using it: no name ever puts a file outside the
output folder (no bpy)."""

from __future__ import annotations

import os

import pytest
from scenes import files_under
from test_writers_formats import make_frame

from sdg_addon import output
from sdg_addon.writers import WRITERS, create_writer
from sdg_addon.writers.paths import MAX_COMPONENT, UnsafePathError, check_inside, inside, safe_file_name, safe_name

HOSTILE = [
    "..",
    ".",
    "../../escape_cam",
    "/",
    "/etc/passwd",
    "/sdg_abs_cam",
    "a/b",
    "a\\b",
    "nul\0byte",
    "x" * 300,
    "é" * 150,
    "カメラ",
    "CON",
    "nul.txt",
    "-rf",
    ".hidden",
    "",
    " ",
    "a\nb",
    "~",
    "$HOME",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_becomes_one_plain_component(name):
    s = safe_name(name)
    assert s and s not in (".", "..") and not s.startswith((".", "-"))
    assert "/" not in s and "\\" not in s and "\0" not in s and "~" not in s
    assert s.isascii() and len(s) <= MAX_COMPONENT
    assert safe_name(s) == s  # stable


def test_plain_names_are_kept_and_changed_names_stay_distinct():
    assert safe_name("cam_left-01.v2") == "cam_left-01.v2"
    cleaned = [safe_name(n) for n in ["cam/1", "cam:1", "cam 1", "cam_1"]]
    assert len(set(cleaned)) == 4 and cleaned[3] == "cam_1"
    assert len({safe_name("x" * 300), safe_name("x" * 301)}) == 2


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_name_becomes_one_plain_component(name):
    for text in (name, name + ".toml"):
        s = safe_file_name(text)
        assert s and s not in (".", "..") and not s.startswith((".", "-"))
        assert "/" not in s and "\\" not in s and "\0" not in s and "~" not in s and s.isascii()
        assert safe_file_name(s) == s and len(s) <= MAX_COMPONENT + 17  # stable; the extension besides


def test_a_changed_file_name_keeps_its_extension_and_stays_distinct():
    assert safe_file_name("p.toml") == "p.toml" and safe_file_name("v1.2.json") == "v1.2.json"
    names = [safe_file_name(n) for n in ["my scene.toml", "my:scene.toml", "my_scene.toml", "CON.blend"]]
    assert len(set(names)) == 4 and all(n.endswith((".toml", ".blend")) for n in names)
    assert names[2] == "my_scene.toml" and names[3].startswith("_CON-")


def test_input_copies_are_parameter_files_by_name_and_none_is_lost(tmp_path):
    """audit/inputs/: a parameter file named with a space (`my scene.toml`) is copied as
    `my_scene-HASH.toml`, which `validate` and `render` take (before: `my_scene.toml-HASH`,
    refused: "expected a parameter file ending in .toml or .json"); two inputs of one
    name in two folders are both kept (before: with a space in the name the second copy
    replaced the first, and SHA256SUMS listed one name twice)."""
    from sdg_addon.audit import copy_inputs

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "my scene.toml", tmp_path / "b" / "my scene.toml"
    first.write_text("[run]\nframes = 1\n")
    second.write_text("[run]\nframes = 2\n")
    copy_inputs(tmp_path / "audit", [first, second])
    inputs = tmp_path / "audit" / "inputs"
    copies = sorted(p.name for p in inputs.iterdir() if p.name != "SHA256SUMS")
    assert len(copies) == 2 and all(c.endswith(".toml") for c in copies), copies
    assert sorted((inputs / c).read_text() for c in copies) == [first.read_text(), second.read_text()]
    sums = (inputs / "SHA256SUMS").read_text().splitlines()
    assert sorted(line.split("  ")[1] for line in sums) == copies


def test_input_copies_differ_in_more_than_case(tmp_path):
    """A parameter file Shop.toml and an asset list shop.toml (two folders) were copied into
    audit/inputs/ as Shop.toml and shop.toml: on Windows' and macOS' file systems one file,
    the asset list's copy replacing the parameter file's, and SHA256SUMS listing both. The
    second now gets a name of its own there whatever the case."""
    from sdg_addon.audit import copy_inputs

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "Shop.toml", tmp_path / "b" / "shop.toml"
    first.write_text("[run]\nframes = 1\n")
    second.write_text("[[assets]]\n")
    copy_inputs(tmp_path / "audit", [first, second])
    copies = sorted(p.name for p in (tmp_path / "audit" / "inputs").iterdir() if p.name != "SHA256SUMS")
    assert len({c.lower() for c in copies}) == 2, copies
    assert "Shop.toml" in copies  # the parameter file keeps its name


@pytest.mark.parametrize("name", HOSTILE)
def test_inside_stays_inside(tmp_path, name):
    root = tmp_path / "out"
    path = inside(root, name, name)
    assert root in path.parents


def test_check_inside_follows_dotdot_and_symlinks(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    os.symlink(tmp_path, root / "link")
    with pytest.raises(UnsafePathError):
        check_inside(root, root / ".." / "x")
    with pytest.raises(UnsafePathError):
        check_inside(root, root / "link" / "x")
    assert check_inside(root, root / "a" / "b") == root / "a" / "b"


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_no_writer_puts_a_file_outside_the_folder(tmp_path, writer):
    """Hostile camera names, several cameras (one sub-folder each), basic's "always" too."""
    # mot's paths do not depend on its boxes; the synthetic frame has the tight ones.
    options = {"basic": {"camera_subfolders": "always"}, "mot": {"boxes": "visible"}}.get(writer, {})
    missing = set(WRITERS[writer].required_for(options)) - set(make_frame(0).annotations)
    if missing:
        pytest.skip(f"the synthetic frame lacks {sorted(missing)}: see test_safety_bpy / the writer's own bpy tests")
    out = tmp_path / "a" / "b" / "out"
    out.mkdir(parents=True)
    w = create_writer(writer, out, **options)
    w.set_run(make_frame(0).label_table, several_cameras=True)
    output.activate(out)  # as in a run: io refuses any write outside
    try:
        for i, name in enumerate(HOSTILE):
            w.write(make_frame(i, name))
        w.finalize()
    finally:
        output.deactivate(out)
    assert files_under(tmp_path) == ["a/b/out/" + f for f in files_under(out)]
    assert len(files_under(out)) > len(HOSTILE)
    recorded = set(output.written_files(out))
    assert set(files_under(out)) - recorded <= {f for f in files_under(out) if f.startswith("audit/written/")}


def test_a_write_outside_the_active_folder_is_refused(tmp_path):
    from sdg_addon.writers import io

    out = tmp_path / "out"
    out.mkdir()
    output.activate(out)
    try:
        io.write_text(out / "inside.txt", "ok")
        with pytest.raises(UnsafePathError):
            io.write_text(tmp_path / "outside.txt", "no")
        with pytest.raises(UnsafePathError):
            io.write_text(out / ".." / "outside.txt", "no")
    finally:
        output.deactivate(out)
    assert not (tmp_path / "outside.txt").exists()
    assert output.written_files(out) == ["inside.txt"]
