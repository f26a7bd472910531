"""Seeded sampling: determinism rules, distribution supports, pose spacing (no bpy)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sdg_addon.sampling import DISTRIBUTIONS, RANDOMIZERS, make_distribution, sample_frame
from sdg_addon.sampling.distributions import check_distribution_spec


def spec(kind: str, options: dict | None = None, **params):
    """A randomizer spec as config builds it: parameters become distributions."""
    return RANDOMIZERS[kind]({k: make_distribution(v) for k, v in params.items()}, options or {})


def uniform(low, high):
    return {"distribution": "uniform", "low": low, "high": high}


def draws(dist: dict, n: int, seed: int = 3) -> list:
    """n values of one distribution: frames 0..n-1 of a one-randomizer run."""
    r = spec("world", strength=dist)
    return [sample_frame(seed, f, [r], [[]])[0]["values"]["world"]["strength"] for f in range(n)]


def scene_randomizers():
    return [
        spec(
            "pose",
            {"min_distance": 0.1},
            location=uniform([-1, -1, 0], [1, 1, 0]),
            rotation=uniform([0, 0, 0], [0, 0, 360]),
        ),
        spec(
            "material",
            color=uniform([0, 0, 0], [1, 1, 1]),
            roughness={"distribution": "normal", "mean": 0.5, "std": 0.2},
        ),
        spec("light", energy={"distribution": "log_uniform", "low": 10, "high": 1000}),
    ]


TARGETS = [["b", "a", "c"], ["a", "c", "b"], ["key"]]


# ------------------------------------------------------------------------ determinism


def test_same_seed_and_frame_give_same_values():
    a = sample_frame(7, 3, scene_randomizers(), TARGETS)
    b = sample_frame(7, 3, scene_randomizers(), TARGETS)
    assert a == b


def test_different_frames_and_seeds_differ():
    frames = [sample_frame(7, f, scene_randomizers(), TARGETS) for f in range(5)]
    for x, y in itertools.combinations(frames, 2):
        assert x != y
    assert sample_frame(7, 3, scene_randomizers(), TARGETS) != sample_frame(8, 3, scene_randomizers(), TARGETS)


def test_a_frame_alone_equals_that_frame_in_a_run():
    randomizers = scene_randomizers()
    run = [sample_frame(11, f, randomizers, TARGETS) for f in range(21)]
    alone = sample_frame(11, 17, scene_randomizers(), TARGETS)
    assert alone == run[17]
    # and in any order (shards, resumes)
    assert [sample_frame(11, f, randomizers, TARGETS) for f in (20, 17, 3)] == [run[20], run[17], run[3]]


def test_adding_a_randomizer_after_another_keeps_the_first_ones_values():
    first = scene_randomizers()
    more = [*scene_randomizers(), spec("visibility", visible={"distribution": "choice", "values": [True, False]})]
    for f in range(5):
        before = sample_frame(2, f, first, TARGETS)
        after = sample_frame(2, f, more, [*TARGETS, ["a", "b"]])
        assert after[: len(before)] == before


def test_targets_are_sampled_in_sorted_order_whatever_the_given_order():
    r = [spec("pose", location=uniform([-1, -1, 0], [1, 1, 0]))]
    a = sample_frame(5, 0, r, [["c", "a", "b"]])[0]["values"]
    b = sample_frame(5, 0, r, [["b", "c", "a"]])[0]["values"]
    assert list(a) == ["a", "b", "c"] == list(b)
    assert a == b


def test_output_names_each_randomizer_type_in_order():
    out = sample_frame(0, 0, scene_randomizers(), TARGETS)
    assert [e["type"] for e in out] == ["pose", "material", "light"]
    assert set(out[1]["values"]["a"]) == {"color", "roughness"}  # only the parameters given


def test_constant_parameters_are_returned_as_given():
    r = spec("material", roughness=0.25, color=[1, 0, 0])
    out = sample_frame(0, 4, [r], [["x"]])[0]["values"]["x"]
    assert out == {"roughness": 0.25, "color": [1, 0, 0]}


# ---------------------------------------------------------------------- distributions


def test_every_registered_distribution_is_tested_here():
    assert set(DISTRIBUTIONS) == {
        "uniform",
        "uniform_int",
        "log_uniform",
        "normal",
        "truncated_normal",
        "choice",
        "sequence",
        "per_axis",
        "shell",
        "uniform_rotation",
        "mixture",
    }


def test_uniform_scalar_stays_in_bounds():
    values = np.array(draws(uniform(2.0, 3.0), 400))
    assert values.min() >= 2.0 and values.max() <= 3.0
    assert values.max() - values.min() > 0.9  # it spreads over the range


def test_uniform_vector_bounds_per_component():
    low, high = [-1.0, 10.0, 5.0], [1.0, 20.0, 5.0]
    r = spec("pose", location=uniform(low, high))
    values = np.array([sample_frame(1, f, [r], [["o"]])[0]["values"]["o"]["location"] for f in range(300)])
    assert values.shape == (300, 3)
    assert np.all(values >= low) and np.all(values <= high)
    assert np.all(values[:, 2] == 5.0)  # low == high: a constant component
    assert values[:, 1].max() - values[:, 1].min() > 8  # each component has its own range


def test_log_uniform_is_positive_in_bounds_and_log_spread():
    values = np.array(draws({"distribution": "log_uniform", "low": 0.01, "high": 100.0}, 2000))
    assert np.all(values > 0) and values.min() >= 0.01 and values.max() <= 100.0
    below_one = np.mean(values < 1.0)  # half of the log range lies below 1
    assert 0.4 < below_one < 0.6


def test_log_uniform_low_equal_to_high_draws_that_value():
    """`low == high` is a constant, as for `uniform`: exp(log(10)) is 10.000000000000002, so
    every draw lay outside [10, 10], the support the docs give (1000 drew 999.9999999999998)."""
    for v in (10.0, 1000.0, 0.3, 1e9, [10.0, 100.0]):
        got = draws({"distribution": "log_uniform", "low": v, "high": v}, 5)
        assert all(g == v for g in got), (v, got)


def truncated_moments(mu, sigma, a, b):
    """Mean and variance of normal(mu, sigma) truncated to [a, b] (textbook formulas)."""
    from statistics import NormalDist

    n = NormalDist()
    al, be = (a - mu) / sigma, (b - mu) / sigma
    z = n.cdf(be) - n.cdf(al)
    pa, pb = n.pdf(al), n.pdf(be)
    mean = mu + sigma * (pa - pb) / z
    var = sigma**2 * (1 + (al * pa - be * pb) / z - ((pa - pb) / z) ** 2)
    return mean, var


def test_normal_mean_and_spread():
    free = np.array(draws({"distribution": "normal", "mean": 5.0, "std": 2.0}, 4000))
    assert abs(free.mean() - 5.0) < 0.1 and abs(free.std() - 2.0) < 0.1


@pytest.mark.parametrize(
    "mu, sigma, a, b",
    [
        (5.0, 2.0, 4.0, 6.0),  # a window around the mean
        (0.0, 1.0, 1.0, 3.0),  # one-sided, above the mean
        (0.5, 0.3, 0.0, 1.0),  # roughness-like
        (0.0, 1.0, -5.0, -4.0),  # far in the lower tail
        (0.0, 1.0, 6.0, 6.5),  # far in the upper tail (clipping would give only 6.0)
    ],
)
@pytest.mark.parametrize("name", ["normal", "truncated_normal"])
def test_truncated_normal_is_truncated_not_clipped(name, mu, sigma, a, b):
    n = 4000
    values = np.array(draws({"distribution": name, "mean": mu, "std": sigma, "low": a, "high": b}, n))
    assert values.min() >= a and values.max() <= b
    assert np.mean(values == a) == 0 and np.mean(values == b) == 0  # no mass piled on a bound
    mean, var = truncated_moments(mu, sigma, a, b)
    sd = math.sqrt(var)
    assert abs(values.mean() - mean) < 4 * sd / math.sqrt(n)
    assert abs(values.var() - var) < 0.1 * var
    # Kolmogorov-Smirnov against the truncated CDF
    from statistics import NormalDist

    nd = NormalDist(mu, sigma)
    ca, cb = nd.cdf(a), nd.cdf(b)
    xs = np.sort(values)
    cdf = np.array([(nd.cdf(x) - ca) / (cb - ca) for x in xs]) if cb - ca > 1e-12 else None
    if cdf is not None:
        ecdf = np.arange(1, n + 1) / n
        assert np.max(np.abs(ecdf - cdf)) < 1.63 / math.sqrt(n) * 1.5


def test_truncated_normal_never_rounds_past_a_bound():
    """mean + std * z at a bound rounds: a window 40 std above the mean drew 0.30000000000000004
    for high = 0.3, outside the checked support."""
    from sdg_addon.sampling.distributions import truncated_normal

    rng = np.random.default_rng(0)
    for _ in range(20000):
        mean, std = rng.uniform(-10, 10), 10 ** rng.uniform(-3, 1)
        low = rng.uniform(-10, 10)
        high = low + 10 ** rng.uniform(-3, 1)
        for u in (0.0, rng.random(), 1 - 1e-16):
            assert low <= truncated_normal(u, mean, std, low, high) <= high, (u, mean, std, low, high)


def test_truncated_normal_far_in_a_tail_is_not_piled_on_the_bound():
    """Beyond ~37 std (where Phi underflows) every value was the nearer bound; the normal there
    is exponential from the bound with rate (distance in std): 40 std out, the values lie a
    mean of std / 40 inside it, as the exact density says (Kolmogorov-Smirnov)."""
    from sdg_addon.sampling.distributions import truncated_normal

    far = {"distribution": "truncated_normal", "mean": 0.7, "std": 0.01, "low": 0, "high": 0.3}
    values = np.array(draws(far, 2000))
    assert values.max() <= 0.3 and np.mean(values == 0.3) == 0  # was: all 0.3
    assert abs((0.3 - values).mean() - 0.01**2 / 0.4) < 4 * 0.01**2 / 0.4 / math.sqrt(2000)
    n = 4000
    for a in (30.0, 40.0, 60.0):  # either side of where Phi underflows
        xs = np.linspace(a, a + 0.5, 100001)
        exact = np.cumsum(np.exp(-(xs**2 - a**2) / 2))
        exact /= exact[-1]
        got = np.sort([truncated_normal(u, 0.0, 1.0, a, a + 0.5) for u in np.random.default_rng(1).random(n)])
        ecdf = np.arange(1, n + 1) / n
        assert np.max(np.abs(ecdf - np.interp(got, xs, exact))) < 1.63 / math.sqrt(n), a


def test_truncated_normal_one_bound_and_vectors():
    r = spec(
        "pose",
        location={"distribution": "normal", "mean": [0, 0, 0], "std": [1, 1, 0], "low": [0, -1, -1], "high": [9, 1, 1]},
    )
    values = np.array([sample_frame(2, f, [r], [["o"]])[0]["values"]["o"]["location"] for f in range(2000)])
    assert values[:, 0].min() >= 0 and values[:, 1].min() >= -1 and values[:, 1].max() <= 1
    assert np.all(values[:, 2] == 0)  # std 0: the mean
    half_normal_mean = math.sqrt(2 / math.pi)
    assert abs(values[:, 0].mean() - half_normal_mean) < 0.05


def test_uniform_int_includes_both_bounds_and_is_flat():
    values = draws({"distribution": "uniform_int", "low": 2, "high": 5}, 4000)
    assert all(isinstance(v, int) for v in values)
    assert set(values) == {2, 3, 4, 5}
    counts = np.bincount(values)[2:]
    assert np.all(np.abs(counts / 4000 - 0.25) < 0.03)
    assert abs(np.var(values) - (4**2 - 1) / 12) < 0.08  # discrete uniform variance
    vec = make_distribution({"distribution": "uniform_int", "low": [0, 10], "high": [0, 12]})
    rng = np.random.default_rng(0)
    got = np.array([vec.sample(rng, 0) for _ in range(300)])
    assert np.all(got[:, 0] == 0) and set(got[:, 1]) == {10, 11, 12}


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"distribution": "uniform_int", "low": 0, "high": 2**63}, "high"),
        ({"distribution": "uniform_int", "low": -(2**63) - 1, "high": 0}, "low"),
        ({"distribution": "uniform", "low": -1e308, "high": 1e308}, "high"),
        ({"distribution": "uniform", "low": [0, -1e308, 0], "high": [1, 1e308, 1]}, "high"),
    ],
)
def test_bounds_numpy_cannot_draw_between_are_refused(spec, field):
    """A uniform_int past 64-bit integers (k of a pool, a property's value: no range to stop
    it) and a uniform whose span high - low overflows a double passed validation; the draw
    then stopped validate or render with an OverflowError traceback (exit 1). The widest
    each can draw still passes and draws."""
    assert field in [p[0] for p in check_distribution_spec(spec)]
    edge = {**spec, field: (2**63 - 1 if field == "high" else -(2**63))}
    if spec["distribution"] == "uniform":
        edge = {**spec, "low": -8.98e307, "high": 8.98e307}
    assert not check_distribution_spec(edge)
    make_distribution(edge).sample(np.random.default_rng(1), 0)


def test_choice_k_without_replacement():
    d = make_distribution({"distribution": "choice", "values": list("abcdef"), "k": 3})
    rng = np.random.default_rng(1)
    picks = [d.sample(rng, 0) for _ in range(3000)]
    assert all(len(p) == 3 and len(set(p)) == 3 for p in picks)  # distinct
    share = {v: sum(v in p for p in picks) / 3000 for v in "abcdef"}
    assert all(abs(x - 0.5) < 0.04 for x in share.values())  # each value in k/n of the draws
    every = make_distribution({"distribution": "choice", "values": [1, 2, 3], "k": 3})
    assert sorted(every.sample(rng, 0)) == [1, 2, 3]  # k = n: a permutation
    # zero weight is never picked; with replacement repeats happen
    w = make_distribution({"distribution": "choice", "values": [1, 2, 3], "weights": [1, 0, 1], "k": 2})
    assert all(sorted(w.sample(rng, 0)) == [1, 3] for _ in range(50))
    rep = make_distribution({"distribution": "choice", "values": [1, 2], "k": 5, "replace": True})
    assert any(len(set(rep.sample(rng, 0))) < 5 for _ in range(5))


def test_per_axis_mixes_kinds_per_component():
    d = {
        "distribution": "per_axis",
        "axes": [
            {"distribution": "normal", "mean": 0.0, "std": 1.0},
            {"distribution": "uniform", "low": 2.0, "high": 3.0},
            0.25,
        ],
    }
    r = spec("pose", location=d)
    values = np.array([sample_frame(5, f, [r], [["o"]])[0]["values"]["o"]["location"] for f in range(3000)])
    assert values.shape == (3000, 3)
    assert abs(values[:, 0].mean()) < 0.06 and abs(values[:, 0].std() - 1) < 0.05
    assert values[:, 1].min() >= 2 and values[:, 1].max() <= 3 and abs(values[:, 1].var() - 1 / 12) < 0.01
    assert np.all(values[:, 2] == 0.25)
    lo, hi = make_distribution(d).bounds()
    assert lo.tolist() == [-math.inf, 2.0, 0.25] and hi.tolist() == [math.inf, 3.0, 0.25]


def test_every_distribution_states_its_support_and_bounds():
    for name, cls in DISTRIBUTIONS.items():
        assert cls.SUPPORT, name
    cases = [
        ({"distribution": "uniform", "low": 1, "high": 2}, (1, 2)),
        ({"distribution": "uniform_int", "low": -3, "high": 4}, (-3, 4)),
        ({"distribution": "log_uniform", "low": 0.1, "high": 10}, (0.1, 10)),
        ({"distribution": "normal", "mean": 0, "std": 1}, (-math.inf, math.inf)),
        ({"distribution": "normal", "mean": 0, "std": 1, "low": -1}, (-1, math.inf)),
        ({"distribution": "truncated_normal", "mean": 0, "std": 1, "low": -1, "high": 2}, (-1, 2)),
        ({"distribution": "choice", "values": [3, 1, 2]}, (1, 3)),
        ({"distribution": "sequence", "values": [3, 1, 2]}, (1, 3)),
    ]
    for d, (lo, hi) in cases:
        b = make_distribution(d).bounds()
        assert (float(b[0][0]), float(b[1][0])) == (lo, hi), d
        # and every draw lies inside
        values = draws(d, 300)
        assert all(lo <= v <= hi for v in values), d
    assert make_distribution({"distribution": "choice", "values": ["a", "b"]}).bounds() is None


def test_normal_vector_with_zero_std_component():
    r = spec("camera", look_at={"distribution": "normal", "mean": [0, 0, 1], "std": [0.1, 0.1, 0]})
    values = np.array([sample_frame(0, f, [r], [["cam"]])[0]["values"]["cam"]["look_at"] for f in range(100)])
    assert np.all(values[:, 2] == 1.0) and values[:, 0].std() > 0.05


def test_choice_follows_weights():
    values = draws({"distribution": "choice", "values": [1.0, 2.0, 3.0], "weights": [6, 3, 1]}, 3000)
    assert set(values) == {1.0, 2.0, 3.0}
    share = {v: values.count(v) / len(values) for v in (1.0, 2.0, 3.0)}
    assert abs(share[1.0] - 0.6) < 0.05 and abs(share[2.0] - 0.3) < 0.05 and abs(share[3.0] - 0.1) < 0.05


def test_choice_without_weights_is_uniform_and_zero_weight_never_drawn():
    values = draws({"distribution": "choice", "values": [1.0, 2.0]}, 2000)
    assert 0.45 < values.count(1.0) / 2000 < 0.55
    assert 3.0 not in draws({"distribution": "choice", "values": [1.0, 3.0], "weights": [1, 0]}, 500)


def test_sequence_cycles_by_frame_index():
    seq = {"distribution": "sequence", "values": [10.0, 20.0, 30.0]}
    assert draws(seq, 7) == [10.0, 20.0, 30.0, 10.0, 20.0, 30.0, 10.0]
    r = spec("world", strength=seq)
    assert sample_frame(99, 301, [r], [[]])[0]["values"]["world"]["strength"] == 20.0  # 301 % 3 == 1


def test_choice_and_sequence_return_list_values_whole():
    r = spec("material", color={"distribution": "choice", "values": [[1, 0, 0], [0, 1, 0]]})
    for f in range(10):
        assert sample_frame(0, f, [r], [["x"]])[0]["values"]["x"]["color"] in ([1, 0, 0], [0, 1, 0])


def test_scalar_parameters_give_floats_and_vector_ones_lists():
    assert isinstance(draws(uniform(0, 1), 1)[0], float)
    r = spec("pose", location=uniform([0, 0, 0], [1, 1, 1]))
    loc = sample_frame(0, 0, [r], [["o"]])[0]["values"]["o"]["location"]
    assert isinstance(loc, list) and all(isinstance(x, float) for x in loc)


def test_to_dict_round_trips():
    for d in (
        uniform([0, 0, 0], [1, 1, 1]),
        {"distribution": "normal", "mean": 0.5, "std": 0.1, "low": 0, "high": 1},
        {"distribution": "choice", "values": ["a", "b", "c"], "k": 2},
        {"distribution": "uniform_int", "low": 0, "high": 3},
        {"distribution": "per_axis", "axes": [0, {"distribution": "uniform", "low": 0, "high": 1}, 2]},
        {"distribution": "choice", "values": ["a", "b"], "weights": [1, 2]},
        {"distribution": "sequence", "values": [1, 2]},
    ):
        assert make_distribution(d).to_dict() == d
    assert make_distribution(0.7).to_dict() == 0.7


@pytest.mark.parametrize(
    "value, field",
    [
        (uniform(1.0, 0.0), "high"),  # low > high
        (uniform([0, 0, 0], [1, 1]), "high"),  # length mismatch
        (uniform([0, 0, 0], "x"), "high"),
        ({"distribution": "uniform", "low": 0}, "high"),  # missing
        ({"distribution": "log_uniform", "low": 0, "high": 1}, "low"),  # not positive
        ({"distribution": "normal", "mean": 0, "std": -1}, "std"),
        ({"distribution": "normal", "mean": [0, 0, 0], "std": [1, 1, 1], "low": [0, 0]}, "low"),
        ({"distribution": "normal", "mean": 0, "std": 1, "low": 2, "high": 1}, "high"),
        ({"distribution": "choice", "values": []}, "values"),
        ({"distribution": "choice", "values": [1, 2], "weights": [1]}, "weights"),
        ({"distribution": "choice", "values": [1, 2], "weights": [0, 0]}, "weights"),
        ({"distribution": "choice", "values": [1, 2], "weights": [1e308, 1e308]}, "weights"),  # sum: inf
        ({"distribution": "mixture", "components": [1, 2], "weights": [1e308, 1e308]}, "weights"),
        ({"distribution": "sequence", "values": 3}, "values"),
        ({"distribution": "truncated_normal", "mean": 0, "std": 1, "low": 0}, "high"),  # bounds required
        ({"distribution": "truncated_normal", "mean": 5, "std": 0, "low": 0, "high": 1}, "mean"),
        ({"distribution": "uniform_int", "low": 0.5, "high": 2}, "low"),
        ({"distribution": "uniform_int", "low": 3, "high": 2}, "high"),
        ({"distribution": "choice", "values": [1, 2], "k": 3}, "k"),  # more than n, no replacement
        ({"distribution": "choice", "values": [1, 2], "k": 0}, "k"),
        ({"distribution": "choice", "values": [1, 2], "replace": True}, "replace"),  # without k
        ({"distribution": "per_axis", "axes": []}, "axes"),
        ({"distribution": "per_axis", "axes": [{"distribution": "uniform", "low": [0], "high": [1]}]}, "axes[0]"),
        ({"distribution": "per_axis", "axes": [{"distribution": "uniform", "low": 0}]}, "axes[0].high"),
        ({"distribution": "uniform", "low": 0, "high": 1, "hihg": 2}, "hihg"),
        ({"distribution": "unifrom", "low": 0, "high": 1}, "distribution"),
    ],
)
def test_bad_distribution_specs_are_reported(value, field):
    problems = check_distribution_spec(value)
    assert problems, value
    assert field in [p[0] for p in problems]


def test_a_parameter_of_a_distribution_without_parameters_says_it_takes_none():
    ((field, value, expected),) = check_distribution_spec({"distribution": "uniform_rotation", "low": 0})
    assert (field, value) == ("low", 0)
    assert expected == "no parameters of uniform_rotation: it takes none", expected  # was "(known: )"


def test_did_you_mean_for_distribution_names():
    ((field, value, expected),) = check_distribution_spec({"distribution": "unifrom", "low": 0, "high": 1})
    assert field == "distribution" and value == "unifrom" and "did you mean 'uniform'" in expected


# ------------------------------------------------------------------------------ pose


def test_pose_min_distance_is_honoured():
    r = spec("pose", {"min_distance": 0.3}, location=uniform([-1, -1, 0], [1, 1, 0]))
    names = [f"obj{i}" for i in range(8)]
    for f in range(30):
        values = sample_frame(4, f, [r], [names])[0]["values"]
        xy = np.array([values[n]["location"][:2] for n in names])
        d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)[np.triu_indices(len(names), 1)]
        assert d.min() >= 0.3


def test_pose_min_distance_gives_up_after_max_tries():
    # two targets in a 0.1 m square can never be 1 m apart: the last draw is kept
    r = spec("pose", {"min_distance": 1.0, "max_tries": 5}, location=uniform([0, 0, 0], [0.1, 0.1, 0]))
    values = sample_frame(0, 0, [r], [["a", "b"]])[0]["values"]
    assert set(values) == {"a", "b"}
    assert all(0 <= x <= 0.1 for v in values.values() for x in v["location"][:2])


def test_pose_too_close_names_the_targets_max_tries_could_not_place():
    """dr6: a min_distance no draw can meet (targets in a 0.1 m square, 1 m apart) was kept
    silently, frame after frame. too_close names the targets left nearer than min_distance
    to an earlier one (the recorder logs them as the frame's too_close and warns); where
    every target was placed, and without min_distance, none."""
    r = spec("pose", {"min_distance": 1.0, "max_tries": 5}, location=uniform([0, 0, 0], [0.1, 0.1, 0]))
    values = sample_frame(0, 0, [r], [["a", "b", "c"]])[0]["values"]
    assert r.too_close(values) == ["b", "c"]
    roomy = spec("pose", {"min_distance": 0.3}, location=uniform([-1, -1, 0], [1, 1, 0]))
    names = [f"obj{i}" for i in range(8)]
    assert all(roomy.too_close(sample_frame(4, f, [roomy], [names])[0]["values"]) == [] for f in range(30))
    # At exactly min_distance a target is placed (sample's own test: >=), one ulp nearer it is not.
    edge = {"a": {"location": [0.0, 0.0, 0.0]}, "b": {"location": [0.3, 0.0, 0.0]}}
    assert spec("pose", {"min_distance": 0.3}, location=uniform([0, 0, 0], [1, 1, 0])).too_close(edge) == []
    edge["b"]["location"][0] = math.nextafter(0.3, 0.0)
    assert spec("pose", {"min_distance": 0.3}, location=uniform([0, 0, 0], [1, 1, 0])).too_close(edge) == ["b"]
    assert spec("pose", location=uniform([0, 0, 0], [0.1, 0.1, 0])).too_close(values) == []


def test_pose_options_default():
    r = spec("pose")
    assert r.options == {"min_distance": 0.0, "max_tries": 100}


# --------------------------------------------------------------------------- triggers


def test_interval_trigger_repeats_the_last_draw_and_frames_stay_pure():
    def randomizers():
        every = spec("world", strength=uniform(0, 1))
        tenth = spec("world", strength=uniform(0, 1))
        tenth.interval = 10
        once = spec("world", strength=uniform(0, 1))
        once.trigger = "once"
        return [every, tenth, once]

    run = [sample_frame(3, f, randomizers(), [[], [], []]) for f in range(25)]
    value = [[frame[i]["values"]["world"]["strength"] for frame in run] for i in range(3)]
    assert len(set(value[0])) == 25  # every frame a new value
    assert len(set(value[1])) == 3 and value[1][:10] == [value[1][0]] * 10 and value[1][10] != value[1][9]
    assert value[1][17] == value[1][10] and value[1][20:] == [value[1][20]] * 5
    assert len(set(value[2])) == 1
    # the values of a trigger frame are those a per-frame randomizer at that position draws
    per_frame = [spec("world", strength=uniform(0, 1)) for _ in range(2)]
    assert value[1][10] == sample_frame(3, 10, per_frame, [[], []])[1]["values"]["world"]["strength"]
    # frame f alone == frame f of the run, for every f (shards, resumes)
    for f in (0, 9, 10, 17, 24):
        assert sample_frame(3, f, randomizers(), [[], [], []]) == run[f]
    # the log says which frame's draw a frame repeats
    assert run[17][1]["trigger_frame"] == 10 and "trigger_frame" not in run[10][1]
    assert run[17][2]["trigger_frame"] == 0 and "trigger_frame" not in run[17][0]


def test_sequence_steps_once_per_trigger():
    """A `sequence` advances one value per trigger (Replicator's sequence): with interval 2,
    1 1 2 2 3 3. It used to take values[trigger frame % len]: 1 1 3 3 2 2, and with an
    interval of len(values) (a new HDRI of 10 every 10 frames) always the first value."""

    def run(interval, frames, clip_length=1, trigger="frame"):
        r = spec("world", strength={"distribution": "sequence", "values": [1.0, 2.0, 3.0]})
        r.interval, r.trigger = interval, trigger
        return [sample_frame(0, f, [r], [[]], clip_length)[0]["values"]["world"]["strength"] for f in range(frames)]

    assert run(2, 6) == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert run(3, 9) == [1.0] * 3 + [2.0] * 3 + [3.0] * 3
    assert run(1, 4) == [1.0, 2.0, 3.0, 1.0]
    assert run(5, 4, trigger="once") == [1.0] * 4
    # clips of 2 frames: values change at clip starts only, one step per draw
    assert run(1, 6, clip_length=2) == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert run(4, 8, clip_length=2) == [1.0] * 4 + [2.0] * 4  # a draw every other clip
    assert run(2, 9, clip_length=3) == [1.0] * 3 + [2.0] * 3 + [3.0] * 3  # clip starts 0, 3, 6 draw at 0, 2, 6


def test_uniform_and_log_uniform_moments():
    n = 6000
    u = np.array(draws(uniform(2.0, 5.0), n))
    assert abs(u.mean() - 3.5) < 4 * math.sqrt(0.75 / n) and abs(u.var() - 9 / 12) < 0.05
    a, b = 1.0, 100.0
    lu = np.array(draws({"distribution": "log_uniform", "low": a, "high": b}, n))
    mean = (b - a) / math.log(b / a)
    var = (b * b - a * a) / (2 * math.log(b / a)) - mean**2
    assert abs(lu.mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(np.log(lu).var() - math.log(b / a) ** 2 / 12) < 0.1  # uniform in log space


# ------------------------------------------------------------------------------ shell

SHELL = {"distribution": "shell", "center": [1.0, -2.0, 0.5], "radius_min": 2.0, "radius_max": 4.0}


def polar(points, center):
    d = np.asarray(points) - center
    r = np.linalg.norm(d, axis=1)
    return r, np.degrees(np.arcsin(d[:, 2] / r)), np.degrees(np.arctan2(d[:, 1], d[:, 0])) % 360


def test_shell_points_lie_in_its_band_and_spread_by_area():
    spec = {**SHELL, "elevation_min": 10, "elevation_max": 70, "azimuth_min": -45, "azimuth_max": 45}
    points = np.array(draws(spec, 20000))
    r, el, az = polar(points, SHELL["center"])
    assert r.min() >= 2 - 1e-9 and r.max() <= 4 + 1e-9
    assert el.min() >= 10 - 1e-9 and el.max() <= 70 + 1e-9
    assert np.all((az <= 45 + 1e-9) | (az >= 315 - 1e-9))
    # By area: sin(elevation) is uniform (an elevation uniform in degrees crowds the top).
    s = np.sin(np.radians(el))
    s0, s1 = math.sin(math.radians(10)), math.sin(math.radians(70))
    assert abs(np.mean(s) - (s0 + s1) / 2) < 5 * (s1 - s0) / math.sqrt(12 * len(s))
    assert abs(np.mean(s < (s0 + s1) / 2) - 0.5) < 0.02
    # The radius uniform in [2, 4] by default (BlenderProc's shell).
    assert abs(np.mean(r) - 3.0) < 5 * (2 / math.sqrt(12)) / math.sqrt(len(r))
    b = make_distribution(spec).bounds()
    assert np.all(points >= b[0] - 1e-9) and np.all(points <= b[1] + 1e-9)


def test_shell_uniform_volume_puts_more_points_far_out():
    r, _el, _az = polar(np.array(draws({**SHELL, "uniform_volume": True}, 20000)), SHELL["center"])
    # Radius density ~ r^2 on [2, 4]: mean 3/4 (4^4 - 2^4) / (4^3 - 2^3) = 3.2142...
    expected = 0.75 * (4**4 - 2**4) / (4**3 - 2**3)
    assert abs(np.mean(r) - expected) < 0.01
    assert abs(np.mean(r**3 < (2**3 + 4**3) / 2) - 0.5) < 0.02  # r^3 uniform


def test_shell_edges_and_defaults():
    point = make_distribution({**SHELL, "radius_min": 3.0, "radius_max": 3.0}).sample(np.random.default_rng(1), 0)
    assert math.isclose(float(np.linalg.norm(np.subtract(point, SHELL["center"]))), 3.0, rel_tol=1e-12)
    top = make_distribution({**SHELL, "elevation_min": 90, "elevation_max": 90}).sample(np.random.default_rng(1), 0)
    assert np.allclose(top[:2], SHELL["center"][:2], atol=1e-9) and top[2] > SHELL["center"][2]
    lo, hi = make_distribution(SHELL).bounds()  # the whole shell: a box of the outer radius
    assert lo.tolist() == [-3.0, -6.0, -3.5] and hi.tolist() == [5.0, 2.0, 4.5]
    assert make_distribution(SHELL).to_dict() == SHELL
    assert make_distribution(SHELL).scalar() is False
    assert not check_distribution_spec({**SHELL, "elevation_min": -90, "elevation_max": 90})
    assert not check_distribution_spec({**SHELL, "azimuth_min": -180, "azimuth_max": 180})


@pytest.mark.parametrize(
    "change, field",
    [
        ({"center": [0, 0]}, "center"),
        ({"radius_min": -0.001}, "radius_min"),
        ({"radius_max": 1.999}, "radius_max"),
        ({"elevation_min": -90.5}, "elevation_min"),
        ({"elevation_max": 90.5}, "elevation_max"),
        ({"elevation_min": 30, "elevation_max": 29}, "elevation_max"),
        ({"azimuth_min": 10, "azimuth_max": 370.5}, "azimuth_max"),
        ({"azimuth_min": 10, "azimuth_max": 9}, "azimuth_max"),
        ({"uniform_volume": 1}, "uniform_volume"),
        ({"uniform_elevation": "yes"}, "uniform_elevation"),
        ({"radius_max": "4"}, "radius_max"),
    ],
)
def test_shell_refuses_values_past_its_edges(change, field):
    assert field in [p[0] for p in check_distribution_spec({**SHELL, **change})]
    edge = {**SHELL, **{k: v for k, v in change.items() if k in ("azimuth_min",)}}
    if "azimuth_min" in change:
        assert not check_distribution_spec({**edge, "azimuth_max": change["azimuth_min"] + 360})


def test_uniform_rotation_is_uniform_over_all_orientations():
    """Haar measure on SO(3): each rotated axis is uniform on the sphere (its z component
    uniform in [-1, 1]) and the trace has mean 0; an Euler angle uniform per axis fails both
    (its rotated z axis crowds the poles)."""
    from sdg_addon.sampling.rotations import euler_matrix

    n = 20000
    angles = draws({"distribution": "uniform_rotation"}, n)
    assert all(-180 <= a <= 180 and -90 <= b <= 90 and -180 <= c <= 180 for a, b, c in angles)
    mats = np.array([euler_matrix(a) for a in angles])
    z = mats[:, :, 2]  # the image of +Z
    for k in range(3):
        assert abs(z[:, k].mean()) < 5 / math.sqrt(3 * n)
    assert abs(np.mean(z[:, 2] < 0.5) - 0.75) < 0.015  # z component uniform in [-1, 1]
    trace = np.trace(mats, axis1=1, axis2=2)
    assert abs(trace.mean()) < 5 * 1.0 / math.sqrt(n)  # Var(trace) = 1 under the Haar measure
    naive = np.array([euler_matrix(a) for a in draws(uniform([-180, -90, -180], [180, 90, 180]), 4000)])
    assert abs(np.mean(naive[:, 2, 2] < 0.5) - 0.75) > 0.03  # the check above can fail
    d = make_distribution({"distribution": "uniform_rotation"})
    assert d.scalar() is False and d.to_dict() == {"distribution": "uniform_rotation"}
    assert not check_distribution_spec({"distribution": "uniform_rotation"})
    assert [p[0] for p in check_distribution_spec({"distribution": "uniform_rotation", "low": 0})] == ["low"]


def test_mixture_draws_each_component_by_weight():
    spec = {
        "distribution": "mixture",
        "components": [{"distribution": "uniform", "low": 0, "high": 1}, 10.0],
        "weights": [3, 1],
    }
    values = np.array(draws(spec, 8000))
    tens = values == 10.0
    assert abs(tens.mean() - 0.25) < 5 * math.sqrt(0.25 * 0.75 / len(values))
    assert np.all((values[~tens] >= 0) & (values[~tens] <= 1))
    d = make_distribution(spec)
    assert [float(b[0]) for b in d.bounds()] == [0.0, 10.0] and d.scalar()
    assert d.to_dict() == spec
    # Without weights: equally likely; a normal component keeps the union open, reach cuts it.
    d = make_distribution(
        {"distribution": "mixture", "components": [1.0, {"distribution": "normal", "mean": 5, "std": 1}]}
    )
    assert d.bounds()[1][0] == math.inf and d.reach()[1][0] == 5 + 12
    points = make_distribution({"distribution": "mixture", "components": [[0, 0, 1], {**SHELL}]})
    assert points.VALUE_KIND == "vec3" and not points.scalar()


@pytest.mark.parametrize(
    "params, field",
    [
        ({"components": [1.0]}, "components"),  # one component is no mixture
        ({"components": [1.0, {"distribution": "uniform", "low": 2}]}, "components[1].high"),
        ({"components": [1.0, {"distribution": "per_axis", "axes": [1, 2, 3]}]}, "components[1]"),
        ({"components": [1.0, {"distribution": "choice", "values": [1, 2], "k": 2}]}, "components[1]"),
        ({"components": [[0, 0, 0], {"distribution": "mixture", "components": [1, 2]}]}, "components[1]"),
        ({"components": [1.0, 2.0], "weights": [1]}, "weights"),
        ({"components": [1.0, 2.0], "weights": [0, 0]}, "weights"),
        ({"components": [{"distribution": "uniform_rotation"}, {**SHELL}]}, ""),  # both points: fine
    ],
)
def test_mixture_checks_its_components(params, field):
    found = [p[0] for p in check_distribution_spec({"distribution": "mixture", **params})]
    assert found == ([field] if field else [])
