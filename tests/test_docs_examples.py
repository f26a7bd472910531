"""Every TOML and JSON example of README.md and docs/*.md is one a user can copy: it
validates as `headless validate` would (docs/porting.md's have tests/test_porting_docs.py).

A fragment (one `[[randomizers]]` entry, a `[writers]` table) is completed with the least
a parameter file needs around it, never by changing its own fields: a camera when it has
neither `[[cameras]]` nor a `[scene] blend`, an object for a lidar `mount` it names, enough
`run.frames` for its `[[cases]]`, and the files and folders it names relative to itself,
made in a temporary folder. An HTML comment on the line before a block says what else it is:

- `<!-- example: invalid -->`: a bad file; it is refused with exactly the problems that the
  page's next ```text block quotes (one a line, without the file's path);
- `<!-- example: values -->`: sampled values, one a line, each as a parameter of the
  randomizer that `VALUE_OWNERS` names;
- `<!-- example: not-a-parameter-file -->`: another file (a plugin's pyproject.toml), only parsed.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from pages import anchors
from PIL import Image

from sdg_addon.config import ConfigError, load_config
from sdg_addon.config.paths import map_file_paths
from sdg_addon.sampling.appearance import IMAGE_SIGNATURES
from sdg_addon.sampling.randomizers import RANDOMIZERS
from sdg_addon.writers.base import unwritten_annotators

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "porting.md")
KINDS = ("file", "invalid", "values", "not-a-parameter-file")
BLOCK = re.compile(r"^(?:<!-- example: (?P<kind>[\w-]+) -->\n)?```(?P<lang>toml|json)\n(?P<text>.*?)^```", re.S | re.M)
QUOTE = re.compile(r"^```text\n(.*?)^```", re.S | re.M)

CAMERA = {"name": "camera", "location": [0.0, -2.0, 1.0], "look_at": [0.0, 0.0, 0.0]}
# The randomizer whose parameter each name of a `values` block is shown for.
VALUE_OWNERS = {
    "location": "pose",
    "rotation": "pose",
    "energy": "light",
    "roughness": "material",
    "metallic": "material",
    "elevation": "camera",
}


def doc_blocks(text: str) -> list[tuple[int, str, str, str, str]]:
    """(line, kind, language, text, quoted problems) of each TOML / JSON block of a page."""
    out = []
    for m in BLOCK.finditer(text):
        quote = QUOTE.search(text, m.end())
        out.append(
            (
                text.count("\n", 0, m.start("lang")) + 1,
                m["kind"] or "file",
                m["lang"],
                m["text"],
                quote[1] if quote else "",
            )
        )
    return out


def all_blocks() -> list[tuple[str, str, str, str, str]]:
    return [
        (f"{page.relative_to(ROOT).as_posix()}:{line}", kind, lang, text, quote)
        for page in PAGES
        for line, kind, lang, text, quote in doc_blocks(page.read_text(encoding="utf-8"))
    ]


def parse(lang: str, text: str) -> dict:
    return json.loads(text) if lang == "json" else tomllib.loads(text)


def completed(data: dict) -> dict:
    """`data` with what a whole parameter file needs that the fragment leaves to its context."""
    out = dict(data)
    if "cameras" not in out and "blend" not in out.get("scene", {}):
        out["cameras"] = [CAMERA]
    names = {a.get("name") for a in out.get("assets", [])} | {c.get("name") for c in out.get("cameras", [])}
    mounts = [t["mount"] for t in out.get("lidars", []) if "mount" in t and t["mount"] not in names]
    if mounts:
        out["assets"] = out.get("assets", []) + [{"name": m, "primitive": "cube"} for m in mounts]
    if "cases" in out and "run" not in out:
        out["run"] = {"frames": sum(c.get("frames", 0) for c in out["cases"])}
    return out


def named_paths(data: dict) -> list[tuple[str, str]]:
    """(path, extension of the file a folder holds) of each file, glob or folder `data`
    names relative to itself: `[scene] blend`, the assets' and the randomizers' paths."""
    found = []

    def note(extension: str):
        def convert(path: str) -> str:
            found.append((path, extension))
            return path

        return convert

    if "blend" in data.get("scene", {}):
        found.append((data["scene"]["blend"], ""))
    for r in data.get("randomizers", []):
        kind = RANDOMIZERS[r["type"]]
        kind.map_paths(r, note(getattr(kind, "EXTENSIONS", ("",))[0]))
    map_file_paths({k: data[k] for k in ("assets", "asset_list") if k in data}, note(""))
    return found


def make_named_files(data: dict, folder: Path) -> None:
    """The files and folders `data` names, in `folder`: a glob's `**` as one sub-folder and
    `*` as `example`; a folder holds one file of the kind its randomizer reads."""
    for path, folder_file in named_paths(data):
        target = folder / path.replace("**", "sub").replace("*", "example")
        if not target.suffix:  # a folder
            target = target / f"example{folder_file}"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_example_file(target)


def write_example_file(path: Path) -> None:
    """A small file of the kind its name says, as far as validation reads it."""
    if path.suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".tga"):
        pixels = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
    elif path.suffix == ".blend":
        path.write_bytes(b"BLENDER-v500")  # the header validation checks; the scene is not built here
    elif path.suffix == ".toml":  # an asset list
        path.write_text('[[assets]]\nname = "listed"\nprimitive = "cube"\n', encoding="utf-8")
    elif path.suffix in (".hdr", ".exr"):  # an HDRI: validation reads how it starts
        path.write_bytes(IMAGE_SIGNATURES[path.suffix][0])
    else:  # a model: validation matches its name only
        path.write_bytes(b"")


def validate(data: dict, folder: Path, lang: str = "json"):
    """load_config of `data` written as a JSON (or, `lang` toml, TOML) parameter file in
    `folder` (what `headless validate` runs): a problem quotes a value in its file's syntax."""
    from sdg_addon.config.toml_out import dumps

    path = folder / ("example.toml" if lang == "toml" else "example.json")
    path.write_text(dumps(data) if lang == "toml" else json.dumps(data), encoding="utf-8")
    return load_config(path)


def test_the_pages_have_their_examples():
    found = all_blocks()
    assert len(found) >= 26
    assert {kind for _where, kind, *_ in found} <= set(KINDS), "an unknown `<!-- example: ... -->` marker"
    for page in PAGES:  # a marker not on the line just before its block would be passed over
        text = page.read_text(encoding="utf-8")
        marked = sum(kind != "file" for _line, kind, *_ in doc_blocks(text))
        assert text.count("<!-- example:") == marked, f"{page.name}: a marker not right before a block"


@pytest.mark.parametrize("where, kind, lang, text, quote", all_blocks(), ids=[b[0] for b in all_blocks()])
def test_a_docs_example_is_what_it_says(tmp_path, where, kind, lang, text, quote):
    if kind == "not-a-parameter-file":
        parse(lang, text)
    elif kind == "values":
        for line in filter(str.strip, text.splitlines()):
            (name, value), *_ = tomllib.loads(line).items()
            owner = VALUE_OWNERS[name]
            assert name in RANDOMIZERS[owner].PARAMS, (where, owner, name)
            validate({"cameras": [CAMERA], "randomizers": [{"type": owner, "targets": "*", name: value}]}, tmp_path)
    elif kind == "invalid":
        data = parse(lang, text)
        make_named_files(data, tmp_path)
        with pytest.raises(ConfigError) as refused:
            validate(completed(data), tmp_path, lang)
        path = (tmp_path / ("example.toml" if lang == "toml" else "example.json")).as_posix()
        got = [str(p).removeprefix(f"{path}: ") for p in refused.value.problems]
        assert got == quote.strip().splitlines(), where
    else:
        data = parse(lang, text)
        make_named_files(data, tmp_path)
        cfg = validate(completed(data), tmp_path)
        assert unwritten_annotators(cfg.annotators_named, cfg.writers, bool(cfg.lidars)) == [], (
            where
        )  # a warning of the run


def test_the_json_example_is_the_toml_example_before_it():
    """docs/parameters.md shows one file in both formats: the same data."""
    blocks = doc_blocks((ROOT / "docs" / "parameters.md").read_text(encoding="utf-8"))
    i = next(i for i, (_line, _kind, lang, _text, _quote) in enumerate(blocks) if lang == "json")
    (_, _, before, toml_text, _), (_, _, _, json_text, _) = blocks[i - 1], blocks[i]
    assert before == "toml"
    assert parse("json", json_text) == parse("toml", toml_text)


def test_every_relative_link_of_the_pages_resolves():
    """README's and docs/*.md's links to files of the repository and to headings (`#anchor`,
    as GitHub spells it, on the page itself or another) lead somewhere; code blocks aside."""
    link = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
    broken = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        fenced = False
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            if fenced:
                continue
            for target in link.findall(line):
                if re.match(r"[a-z]+:", target):  # https:, mailto:
                    continue
                path, _, anchor = target.partition("#")
                dest = (page.parent / path).resolve() if path else page
                where = f"{page.relative_to(ROOT).as_posix()}:{n}: {target}"
                if not dest.exists():
                    broken.append(f"{where} (no such file)")
                elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest.read_text(encoding="utf-8"))):
                    broken.append(f"{where} (no such heading)")
    assert not broken, broken


def test_every_command_line_option_says_what_it_is_in_its_help():
    """Each argument a command's `--help` lists has a description there (headless.bench's
    file, --frames, --device, --chunk, --worker-mode, --workers and bench_sink's file,
    --frames, --device had none, so their defaults, presets/bench30.toml, 30 / 4 frames,
    bench_sink's CPU, were said nowhere)."""
    import subprocess
    import sys

    commands = [["headless"], *(["headless", c] for c in ("validate", "render", "preview", "report", "merge"))]
    commands += [["headless.bench"], ["headless.bench_sink"], ["headless.bench_lidar"], ["headless.bench_blend"]]
    bare = []
    for command in commands:
        shown = subprocess.run(
            [sys.executable, "-m", *command, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "COLUMNS": "80"},
        ).stdout.splitlines()
        in_section = False
        for i, line in enumerate(shown):
            if line and not line.startswith(" "):
                in_section = line.endswith(":")  # "options:", "positional arguments:", a group's title
                continue
            if not in_section or not re.match(r"  \S", line):
                continue  # a description's continuation, a blank line
            described = len(re.split(r"\s{2,}", line.strip())) > 1
            follows = i + 1 < len(shown) and re.match(r" {3,}\S", shown[i + 1])
            if not (described or follows):
                bare.append(f"{' '.join(command)}: {line.strip()}")
    assert not bare, bare


def test_every_command_line_option_is_documented():
    """Each option a command's `--help` lists (headless and its subcommands, the benchmarks)
    is named in README.md or docs/*.md, so a user finds what it does."""
    import subprocess
    import sys

    text = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
    commands = [["headless", c] for c in ("validate", "render", "preview", "report", "merge")]
    commands += [["headless.bench"], ["headless.bench_sink"], ["headless.bench_lidar"], ["headless.bench_blend"]]
    missing = []
    for command in commands:
        shown = subprocess.run(
            [sys.executable, "-m", *command, "--help"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        for option in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", shown)) - {"--help"}):
            if not re.search(rf"(?<![\w-]){option}(?![\w-])", text):
                missing.append(f"{' '.join(command)} {option}")
    assert not missing, missing


def test_every_colour_says_it_is_of_the_working_colour_space():
    """A parameter file's colour is set as Blender's colour picker numbers, in the run's working
    colour space (Blender 5.0: a base .blend's own, e.g. ACEScg); "linear RGB" alone left a user
    of an ACEScg file to guess whether the numbers are converted from Linear Rec.709."""
    from sdg_addon.config import schema
    from sdg_addon.config.fields import Field

    docs = [
        (f"{name}.{f.name}", f.doc)
        for name, fields in vars(schema).items()
        if name.endswith("_FIELDS") and isinstance(fields, tuple)
        for f in fields
        if isinstance(f, Field) and f.kind == "color"
    ]
    docs += [
        (f"{spec.name}.{param}", doc)
        for spec in RANDOMIZERS.values()
        for param, (kind, doc) in spec.PARAMS.items()
        if kind == "color"
    ]
    assert len(docs) >= 9, docs
    for where, doc in docs:
        assert "working colour space" in doc, where
    page = (Path(__file__).parents[1] / "docs" / "parameters.md").read_text()
    assert "numbers of the run's working colour\nspace, as Blender's colour picker shows them" in page
