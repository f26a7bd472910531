"""sampling.DRAWS_VERSION names the draws: the values every randomizer and distribution draws
for a seed and frame (tests/draws/*.toml: every randomizer type, every distribution, clips,
triggers, redraws, and the placements made in a given scene). A change to the sampling code
that draws other values fails here until DRAWS_VERSION is raised and the new fingerprint is
added below: a dataset resumed with the new code then says its frames were drawn by two
versions (the frames after the upgrade are not those a fresh run of the earlier code makes)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sdg_addon.config.schema import load_config
from sdg_addon.sampling import DRAWS_VERSION, RANDOMIZERS, sample_frame

DRAWS = Path(__file__).parent / "draws"

# version -> {file: sha256 of its draws}
FINGERPRINTS = {
    1: {
        "stills": "621e457d827dbbee75c0e4e099e090236c6ce456b6d2e1f39f458a2813e347bf",
        "clips": "11f43a8883b0e22f07a0a941aee96ba09cb093cc3321197d022a992229c8c40b",
        "facts": "fff68010e05e284a4fec79a98d59729ffca28468a8ac277c7e16ecf4817742a3",
    },
    # a truncated normal's value at a bound no longer rounds past it (stills: one far in a tail)
    2: {
        "stills": "1fc92d0df2b389bde7675573a6f32e290902ebfee4c9800f091f69ff46c67866",
        "clips": "11f43a8883b0e22f07a0a941aee96ba09cb093cc3321197d022a992229c8c40b",
        "facts": "fff68010e05e284a4fec79a98d59729ffca28468a8ac277c7e16ecf4817742a3",
    },
    # a scatter that does not fire keeps the draw that placed each target where it fired
    # (facts: a pool, then such a scatter)
    3: {
        "stills": "1fc92d0df2b389bde7675573a6f32e290902ebfee4c9800f091f69ff46c67866",
        "clips": "11f43a8883b0e22f07a0a941aee96ba09cb093cc3321197d022a992229c8c40b",
        "facts": "d43c5a59e2bfe3bf8d7dd9a7a2ac82868403fb9add2e61d2ccac53bfc4d4373f",
        # initial_velocity, added under version 3: a file of its own leaves the others' draws as they were
        "throws": "c4024e627e86382051837484a6b853adb51123e3bff3f1586c46bebe304b8bd6",
    },
    # a truncated normal beyond ~37 std draws from the tail's exponential, not the bound alone
    4: {
        "stills": "822f8ba9a73271629076907d709d22c80d78fa59856b404014ff9ea9491e1dc0",
        "clips": "11f43a8883b0e22f07a0a941aee96ba09cb093cc3321197d022a992229c8c40b",
        "facts": "d43c5a59e2bfe3bf8d7dd9a7a2ac82868403fb9add2e61d2ccac53bfc4d4373f",
        "throws": "c4024e627e86382051837484a6b853adb51123e3bff3f1586c46bebe304b8bd6",
    },
}


def fingerprint(draws) -> str:
    return hashlib.sha256(json.dumps(draws, sort_keys=True).encode()).hexdigest()


def draws_of(name: str, facts=None, targets=None) -> list:
    cfg = load_config(DRAWS / f"{name}.toml")
    targets = targets or [["a", "b"]] * len(cfg.randomizers)
    k, fps = cfg.sequence.clip_length, cfg.sequence.fps
    frames = range(12 if k == 1 else 9)
    out = [sample_frame(cfg.seed, f, cfg.randomizers, targets, k, fps, facts) for f in frames]
    out += [sample_frame(cfg.seed + 1, 4, cfg.randomizers, targets, k, fps, facts, attempt=2)]  # a redraw
    return out


def check(name: str, draws) -> None:
    got, want = fingerprint(draws), FINGERPRINTS[DRAWS_VERSION][name]
    assert got == want, (
        f"the draws of tests/draws/{name}.toml changed (fingerprint {got}): raise sampling.DRAWS_VERSION "
        f"to {DRAWS_VERSION + 1} and add its fingerprints to FINGERPRINTS here"
    )


def test_the_draws_of_every_randomizer_type_and_distribution_are_those_of_this_version():
    check("stills", draws_of("stills"))
    check("clips", draws_of("clips"))
    check("throws", draws_of("throws"))


def test_the_fingerprinted_files_cover_every_randomizer_type():
    """A new randomizer type goes into tests/draws/*.toml: into a file of its own under the
    current DRAWS_VERSION (its fingerprint added there: no earlier draw changes), or into an
    existing file with a new DRAWS_VERSION."""
    covered = set()
    for name in ("stills", "clips", "facts", "throws"):
        covered |= {r.name for r in load_config(DRAWS / f"{name}.toml").randomizers}
    # Drawing from files of the user's (photos, textures, HDRIs) or the scene's own data
    # (materials): their draws are choices among those, covered by `choice`.
    by_files = {"background", "texture", "world_hdri", "material_swap"}
    assert set(RANDOMIZERS) - by_files == covered


def test_the_placements_in_a_given_scene_are_those_of_this_version():
    """scatter, camera_look_at and physics_settle in a scene of two small cubes over a table
    top (the facts a built scene gives them; mathutils' BVH trees decide the overlaps)."""
    pytest.importorskip("bpy")
    from sdg_addon.scene.facts import EntityGeometry, SceneFacts

    corners = np.array([[x, y, z] for x in (-0.1, 0.1) for y in (-0.1, 0.1) for z in (-0.1, 0.1)])
    box_tris = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1]]
        + [[2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )
    top = np.array([[-1, -1, 0.5], [1, -1, 0.5], [1, 1, 0.5], [-1, 1, 0.5]], dtype=float)
    facts = SceneFacts(
        entities={
            "a": EntityGeometry(corners, box_tris, np.eye(4), 1.0),
            "b": EntityGeometry(corners, box_tris, np.eye(4), 1.0),
            "table": EntityGeometry(top, np.array([[0, 1, 2], [0, 2, 3]]), np.eye(4), 1.0),
        },
        cameras=["cam"],
    )
    check("facts", draws_of("facts", facts, [["a", "b"], ["a", "b"], ["cam"], ["a", "b"], ["a", "b"], ["a", "b"]]))


def test_a_seed_draws_the_same_values_whatever_vector_instructions_numpy_uses():
    """numpy computes exp and log with its own AVX-512 code where the CPU has it, which differs
    from the C library's in the last bit (log_uniform's 8.602302730520368 against
    ...373): the same seed drew other values on another machine, and this file's fingerprints
    held on some CI hosts only. The draws of a process whose numpy may use no AVX-512 equal
    this one's."""
    from numpy.core._multiarray_umath import __cpu_features__

    avx512 = [f for f, on in __cpu_features__.items() if on and f.startswith("AVX512")]
    if not avx512:
        pytest.skip("this CPU has no AVX-512: numpy's vector code is the one used elsewhere")
    names = ("stills", "clips", "throws")
    script = (
        "import json, sys; sys.path[:0] = ['tests', '.']\n"
        "from test_draws_version import draws_of, fingerprint\n"
        f"print(json.dumps([fingerprint(draws_of(n)) for n in {names!r}]))"
    )
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(avx512)}
    root = Path(__file__).parent.parent
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [fingerprint(draws_of(n)) for n in names]
