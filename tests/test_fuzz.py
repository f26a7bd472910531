"""Fuzz: valid parameter files, mutated (hypothesis, bounded time, derandomized).

For every mutated file: exit 0 or 2, never a traceback; on exit 2 every problem line names
a field; a render writes nothing outside its output folder, and nothing at all on exit 2.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import re
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from headless.cli import main  # noqa: E402

BASE = {
    "run": {"seed": 1, "frames": 2},
    "render": {"resolution": [16, 12], "samples": 1, "device": "cpu"},
    "scene": {"ground": {"size": 3.0, "labels": {"class": "floor"}}, "world": {"strength": 0.5}},
    "labels": {"class": ["ball", "box"]},
    "cameras": [{"name": "cam", "location": [0.0, -3.0, 1.0], "look_at": [0.0, 0.0, 0.2]}],
    "lights": [{"name": "sun", "type": "sun", "energy": 3.0}],
    "assets": [
        {"name": "ball", "primitive": "sphere", "size": 0.8, "count": 2, "labels": {"class": "ball"}},
        {"name": "box", "primitive": "cube", "size": 0.5, "labels": {"class": "box"}},
    ],
    "randomizers": [
        {
            "type": "pose",
            "targets": "ball_*",
            "location": {"distribution": "uniform", "low": [-1, -1, 0], "high": [1, 1, 0]},
            "min_distance": 0.2,
        },
        {"type": "material", "targets": "*", "roughness": {"distribution": "uniform", "low": 0.1, "high": 0.9}},
        {
            "type": "property",
            "targets": "box",
            "path": '["fuzz_score"]',
            "value": {"distribution": "mixture", "components": [0.5, {"distribution": "uniform", "low": 0, "high": 1}]},
        },
    ],
    "annotators": {"rgb": {}, "instance_segmentation": {}, "bounding_box_2d_tight": {}},
    "writers": {"basic": {"camera_subfolders": "always"}, "coco": {}, "yolo": {}},
}

HOSTILE_TEXT = ["..", "../../x", "/etc/passwd", "/sdg_abs", "a/b", "a\nb", "a\0b", "x" * 300, "カメラ", "", " ", "CON"]
SCALARS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 2**31, 2**63, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def paths(value, prefix=()):
    """Every (path, value) in a nested structure of dicts and lists."""
    yield prefix, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        yield from paths(v, (*prefix, k))


ALL_PATHS = [p for p, _v in paths(BASE) if p]


NUMBERS = st.one_of(
    st.sampled_from([0, 0.0, 1, -1, 0.5, 1e-9, 1e6, 1e7, -1e7, 2**24, 10**9]),
    st.floats(min_value=-10, max_value=10, allow_nan=False),
)


def similar(draw, original):
    """A value of the original's kind: what passes a type check and tests the bounds."""
    if isinstance(original, bool):
        return draw(st.booleans())
    if isinstance(original, (int, float)):
        near = [original, original * 2, -original, original + 1] if isinstance(original, int) else [original / 2]
        return draw(st.one_of(NUMBERS, st.sampled_from(near)))
    if isinstance(original, str):
        return draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=12)))
    if isinstance(original, list) and original and all(isinstance(x, (int, float)) for x in original):
        return [similar(draw, x) for x in original]
    return draw(VALUES)


def is_leaf(value) -> bool:
    return not isinstance(value, dict) and not (isinstance(value, list) and any(isinstance(x, dict) for x in value))


LEAF_PATHS = [p for p, v in paths(BASE) if p and is_leaf(v)]
ALL_ACTIONS = ("similar", "similar", "replace", "delete", "add")


@st.composite
def mutated(draw, allowed=lambda path: True, actions=ALL_ACTIONS, where=ALL_PATHS):
    doc = copy.deepcopy(BASE)
    choices = [p for p in where if allowed(p)]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(choices))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            key = path[-1]
            action = draw(st.sampled_from(actions))
            if action == "similar":
                parent[key] = similar(draw, parent[key])
            elif action == "delete":
                del parent[key]
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.sampled_from(["extra", "name", "count", "labels", "file", "targets"]))] = draw(VALUES)
            else:
                parent[key] = draw(VALUES)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced the parent
    return doc


def run_cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse
            code = e.code
    return code, err.getvalue()


def write(folder: Path, doc: dict) -> Path:
    path = folder / "p.json"
    # allow_nan: NaN and Infinity are what a JSON file may hold, and must be refused
    path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
    return path


PROBLEM_LINE = re.compile(r"^  \S.*?: (?P<field>[^:]+): got ")


def check_messages(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err, err
    if code == 2:
        lines = [x for x in err.splitlines() if x.startswith("  ")]
        assert lines or err.startswith("error:"), err
        for line in lines:
            m = PROBLEM_LINE.match(line)
            assert m and m["field"].strip(), line


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


@settings(max_examples=200, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_validate_a_mutated_file(doc):
    with tempfile.TemporaryDirectory() as d:
        code, err = run_cli("validate", str(write(Path(d), doc)))
        check_messages(code, err)


def cheap(path) -> bool:
    """Mutations that keep a render small (not frames, resolution, samples or counts)."""
    return not (path[0] in ("run", "render") or (len(path) > 2 and path[2] == "count"))


@settings(max_examples=10, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(mutated(allowed=cheap, actions=("similar",), where=LEAF_PATHS))
def test_render_a_mutated_file(doc):
    pytest.importorskip("bpy")
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        param = write(work, doc)
        out = work / "deep" / "out"
        code, err = run_cli("render", str(param), "--out", str(out), "--quiet", "--worker-mode", "inline")
        check_messages(code, err)
        outside = {f for f in files(work) if not f.startswith("deep/out/")}
        assert outside == {"p.json"}, outside
        if code == 2:
            assert not out.exists(), files(out)
        assert not Path("/sdg_abs").exists() and not Path("/etc/passwd.json").exists()


def test_the_base_file_is_valid(tmp_path):
    """The mutations start from a valid file, so what fails is the mutation."""
    assert run_cli("validate", str(write(tmp_path, BASE))) == (0, "")
    assert not any(isinstance(v, float) and math.isnan(v) for _p, v in paths(BASE))
