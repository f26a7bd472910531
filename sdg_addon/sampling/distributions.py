"""Seeded distributions, registered by name.

In a parameter file a sampled value is a table with a `distribution` key, e.g.
`{ distribution = "uniform", low = [-1, -1, 0], high = [1, 1, 0] }`; any other value is a
constant. Every distribution draws from the numpy Generator it is given, so the value of
frame f depends only on the generator's seed (see sampling.sampler).

Every distribution states its support (`SUPPORT`, shown in docs/parameters.md) and
computes it for given parameters (`bounds`), so config can refuse a distribution that
can draw values the randomized parameter does not accept (a normal roughness, say).
"""

from __future__ import annotations

import difflib
import math
from statistics import NormalDist

import numpy as np

from .rotations import matrix_euler, random_rotation

DISTRIBUTIONS: dict[str, type[Distribution]] = {}


def register_distribution(cls):
    DISTRIBUTIONS[cls.name] = cls
    return cls


class Distribution:
    name = ""
    # parameter name -> (required, description)
    PARAMS: dict[str, tuple[bool, str]] = {}
    SUPPORT = ""  # the values it can draw, in words (docs)
    # The kind of value it draws whatever its parameters ("vec3": a point or a rotation), or
    # None when that follows from its parameters (low, high, values...).
    VALUE_KIND: str | None = None

    def __init__(self, **params):
        self.params = params

    def sample(self, rng: np.random.Generator, frame: int):
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"distribution": self.name, **self.params}

    def scalar(self) -> bool:
        """True if it draws single numbers (per_axis entries must)."""
        if "k" in self.params or any(isinstance(self.params.get(k), list) for k in ("low", "high", "mean", "std")):
            return False
        if "values" in self.params and not all(_is_number(v) for v in self.params["values"]):
            return False
        return self.bounds() is not None

    @classmethod
    def check(cls, params: dict) -> list[tuple[str, object, str]]:
        """Problems as (param, value, expected); empty if fine."""
        return []

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Smallest and largest value it can draw, per component (inf where unbounded);
        None when the values are not numbers."""
        return None


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_numbers(x) -> bool:
    return _is_number(x) or (isinstance(x, list) and len(x) > 0 and all(_is_number(v) for v in x))


def _size(x) -> int | None:
    return None if _is_number(x) else len(x)


def _as_value(a: np.ndarray | float, like):
    """Return a float for scalar parameters and a list of floats for vector ones."""
    if _is_number(like):
        return float(np.asarray(a).ravel()[0])
    return [float(v) for v in np.asarray(a).ravel()]


def _check_pair(params, a, b, positive=False, ordered=True):
    out = []
    for k in (a, b):
        if not _is_numbers(params.get(k)):
            out.append((k, params.get(k), "a number or a list of numbers"))
    if out:
        return out
    if _size(params[a]) != _size(params[b]):
        out.append((b, params[b], f"the same length as {a} ({params[a]})"))
        return out
    lo, hi = np.asarray(params[a], float), np.asarray(params[b], float)
    if positive and np.any(lo <= 0):
        out.append((a, params[a], "values > 0"))
    if ordered and np.any(hi < lo):
        out.append((b, params[b], f"values >= {a} ({params[a]})"))
    return out


@register_distribution
class Uniform(Distribution):
    name = "uniform"
    PARAMS = {
        "low": (True, "lower bound: number or list"),
        "high": (
            True,
            "upper bound, ≥ `low` component-wise, same length as `low` (`low == high` gives a constant component)",
        ),
    }
    SUPPORT = "[`low`, `high`] per component"

    @classmethod
    def check(cls, params):
        out = _check_pair(params, "low", "high")
        if not out:
            with np.errstate(over="ignore"):
                span = np.asarray(params["high"], float) - np.asarray(params["low"], float)
            if not np.all(np.isfinite(span)):  # numpy draws low + u (high - low)
                out.append(("high", params["high"], f"values whose span from low ({params['low']}) is below 1.8e308"))
        return out

    def bounds(self):
        return _pair_bounds(self.params["low"], self.params["high"])

    def sample(self, rng, frame):
        low, high = self.params["low"], self.params["high"]
        return _as_value(rng.uniform(np.asarray(low, float), np.asarray(high, float)), low)


@register_distribution
class LogUniform(Distribution):
    name = "log_uniform"
    PARAMS = {"low": (True, "lower bound > 0"), "high": (True, "upper bound ≥ `low`, same length")}
    SUPPORT = "[`low`, `high`] per component (all > 0)"

    @classmethod
    def check(cls, params):
        return _check_pair(params, "low", "high", positive=True)

    def bounds(self):
        return _pair_bounds(self.params["low"], self.params["high"])

    def sample(self, rng, frame):
        low, high = self.params["low"], self.params["high"]
        # math's log and exp, not numpy's: numpy's differ in the last bit on machines with
        # AVX-512 (its own vector code), so a seed would draw other values on another machine
        lo, hi = _each(math.log, low), _each(math.log, high)
        drawn = _each(math.exp, np.atleast_1d(rng.uniform(lo, hi)))
        # exp(log(x)) rounds off x (10 -> 10.000000000000002): kept within the support
        return _as_value(np.clip(drawn, low, high), low)


def _each(f, values) -> np.ndarray:
    return np.array([f(float(v)) for v in np.atleast_1d(np.asarray(values, float))])


def _pair_bounds(low, high):
    return np.atleast_1d(np.asarray(low, float)), np.atleast_1d(np.asarray(high, float))


_STD_NORMAL = NormalDist()


def _std_cdf(x: float) -> float:
    """Phi(x), accurate in the lower tail (erfc does not cancel there)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def truncated_normal(u: float, mean: float, std: float, low: float, high: float) -> float:
    """The value of a normal(mean, std) restricted to [low, high] at quantile u in [0, 1).

    Inverse CDF, not clipping and not redrawing: one uniform per value, so the draws of a
    frame do not depend on how often a bound is hit. An interval above the mean is
    mirrored below it, where Phi is accurate, so narrow windows far in a tail still work.
    """
    if std == 0 or low == high:
        return min(max(mean, low), high)
    a, b = (low - mean) / std, (high - mean) / std
    flip = a > 0
    if flip:
        a, b = -b, -a
    pa, pb = _std_cdf(a), _std_cdf(b)
    if pb - pa <= 0.0:  # beyond double precision (> ~37 std out), or a window too narrow for Phi:
        # the density there, exp(-z^2 / 2) = exp(-b^2 / 2) exp(b (z - b)) exp(-(z - b)^2 / 2), makes
        # b - z exponential with rate -b (cut at b - a) to 1 / b^2 (0.07 % at 37 std); within a
        # narrow window near the mean (rate ~ 0) it is flat
        rate, span = max(-b, 0.0), b - a
        cut = -math.expm1(-rate * span)
        z = b - (u * span if cut < 1e-12 else -math.log1p(-u * cut) / rate)
    else:
        z = _STD_NORMAL.inv_cdf(min(max(pa + u * (pb - pa), 5e-324), 1 - 1e-16))
        z = min(max(z, a), b)
    # mean + std * z rounds: at a bound (where values crowd far in a tail) it may land one ulp
    # past it, outside the support a parameter's range was checked against
    return min(max(mean + std * (-z if flip else z), low), high)


def _check_normal(params):
    out = _check_pair(params, "mean", "std", ordered=False)
    if not out and np.any(np.asarray(params["std"], float) < 0):
        out.append(("std", params["std"], "values >= 0"))
    clips = [k for k in ("low", "high") if k in params]
    for k in clips:
        if not _is_numbers(params[k]):
            out.append((k, params[k], "a number or a list of numbers"))
        elif _is_numbers(params.get("mean")) and _size(params[k]) != _size(params["mean"]):
            out.append((k, params[k], f"the same length as mean ({params['mean']})"))
    if not out and len(clips) == 2:
        out += [x for x in _check_pair(params, "low", "high") if x[0] == "high"]
    if not out:
        # std = 0 is the constant mean: it must lie within the bounds
        mean, std = np.asarray(params["mean"], float), np.asarray(params["std"], float)
        lo = np.asarray(params.get("low", -np.inf), float)
        hi = np.asarray(params.get("high", np.inf), float)
        if np.any((std == 0) & ((mean < lo) | (mean > hi))):
            out.append(("mean", params["mean"], "within [low, high] where std is 0"))
    return out


@register_distribution
class Normal(Distribution):
    name = "normal"
    PARAMS = {
        "mean": (True, "number or list"),
        "std": (True, "standard deviation ≥ 0, same length as `mean` (0 gives a constant component)"),
        "low": (False, "lower bound of the truncation, same length as `mean`"),
        "high": (False, "upper bound of the truncation, same length as `mean`, ≥ `low`"),
    }
    SUPPORT = "all real numbers; [`low`, `high`] when bounds are given (truncated); `mean` where `std` is 0"

    @classmethod
    def check(cls, params):
        return _check_normal(params)

    def bounds(self):
        mean = np.atleast_1d(np.asarray(self.params["mean"], float))
        std = np.atleast_1d(np.asarray(self.params["std"], float))
        lo = np.broadcast_to(np.asarray(self.params.get("low", -np.inf), float), mean.shape)
        hi = np.broadcast_to(np.asarray(self.params.get("high", np.inf), float), mean.shape)
        return np.where(std == 0, mean, lo), np.where(std == 0, mean, hi)

    def reach(self, sigmas: float = 12.0):
        """bounds() with open sides cut at mean -/+ `sigmas` std: where draws land in
        practice (beyond 12 std: probability < 1e-32 per draw)."""
        lo, hi = self.bounds()
        mean = np.atleast_1d(np.asarray(self.params["mean"], float))
        std = np.atleast_1d(np.asarray(self.params["std"], float))
        return np.maximum(lo, mean - sigmas * std), np.minimum(hi, mean + sigmas * std)

    def sample(self, rng, frame):
        mean = self.params["mean"]
        if "low" not in self.params and "high" not in self.params:
            v = rng.normal(np.asarray(mean, float), np.asarray(self.params["std"], float))
            return _as_value(v, mean)
        m = np.atleast_1d(np.asarray(mean, float))
        sd = np.broadcast_to(np.asarray(self.params["std"], float), m.shape)
        lo = np.broadcast_to(np.asarray(self.params.get("low", -np.inf), float), m.shape)
        hi = np.broadcast_to(np.asarray(self.params.get("high", np.inf), float), m.shape)
        u = rng.random(m.shape)
        v = [truncated_normal(u[i], m[i], sd[i], lo[i], hi[i]) for i in range(m.size)]
        return _as_value(np.asarray(v), mean)


@register_distribution
class TruncatedNormal(Normal):
    """A normal restricted to [low, high] (inverse CDF): bounds are required."""

    name = "truncated_normal"
    PARAMS = {
        "mean": (True, "mean of the untruncated normal: number or list"),
        "std": (True, "standard deviation ≥ 0 of the untruncated normal"),
        "low": (True, "lower bound, same length as `mean`"),
        "high": (True, "upper bound, ≥ `low`, same length"),
    }
    SUPPORT = "[`low`, `high`] per component (`mean` where `std` is 0)"


INT64 = (-(2**63), 2**63 - 1)


@register_distribution
class UniformInt(Distribution):
    """Whole numbers low, low + 1, ..., high, equally likely (both bounds included)."""

    name = "uniform_int"
    PARAMS = {
        "low": (True, "smallest value: whole number or list of whole numbers"),
        "high": (True, "largest value (drawn too), ≥ `low`, same length"),
    }
    SUPPORT = "the whole numbers `low` .. `high` per component, both included"

    @classmethod
    def check(cls, params):
        out = _check_pair(params, "low", "high")
        for k in ("low", "high"):
            v = params.get(k)
            items = v if isinstance(v, list) else [v]
            if not out and not all(isinstance(x, int) and not isinstance(x, bool) for x in items):
                out.append((k, v, "a whole number or a list of whole numbers"))
            elif not out and not all(INT64[0] <= x <= INT64[1] for x in items):  # drawn as 64-bit integers
                out.append((k, v, f"whole numbers within {INT64[0]} .. {INT64[1]} (64-bit integers)"))
        return out

    def bounds(self):
        return _pair_bounds(self.params["low"], self.params["high"])

    def sample(self, rng, frame):
        low, high = self.params["low"], self.params["high"]
        v = rng.integers(np.asarray(low, np.int64), np.asarray(high, np.int64), endpoint=True)
        if isinstance(low, list):
            return [int(x) for x in np.asarray(v).ravel()]
        return int(v)


def _weights_fit(w, n: int) -> bool:
    """Relative weights for n choices: n numbers >= 0 with a positive sum (a finite one: numbers
    near 1e308 add up to infinity, and their shares to nothing)."""
    return isinstance(w, list) and len(w) == n and all(_is_number(x) and x >= 0 for x in w) and 0 < sum(w) < math.inf


def _numeric_bounds(values: list):
    """Per-component min and max of a list of numbers or equal-length number lists."""
    if not values or not all(_is_numbers(v) for v in values):
        return None
    if len({_size(v) for v in values}) != 1:
        return None
    a = np.array([np.atleast_1d(np.asarray(v, float)) for v in values])
    return a.min(axis=0), a.max(axis=0)


@register_distribution
class Choice(Distribution):
    name = "choice"
    PARAMS = {
        "values": (True, "non-empty list of values"),
        "weights": (
            False,
            "relative weights, one per value, ≥ 0 with a positive sum; default: all equal. Without replacement, each next value is drawn with the weights of those left",
        ),
        "k": (
            False,
            "draw this many values (a list); without replacement at most the number of values with weight > 0",
        ),
        "replace": (False, "with `k`: `true` lets a value be drawn more than once; default `false`"),
    }
    SUPPORT = "the listed `values` (with `k`: lists of `k` of them)"

    @classmethod
    def check(cls, params):
        values = params.get("values")
        if not isinstance(values, list) or not values:
            return [("values", values, "a non-empty list")]
        w = params.get("weights")
        if w is not None and not _weights_fit(w, len(values)):
            return [("weights", w, f"{len(values)} non-negative numbers with a positive, finite sum")]
        replace = params.get("replace", False)
        if not isinstance(replace, bool):
            return [("replace", replace, "true or false")]
        if "replace" in params and "k" not in params:
            return [("replace", replace, "only together with k")]
        if "k" in params:
            k = params["k"]
            if not (isinstance(k, int) and not isinstance(k, bool) and k >= 1):
                return [("k", k, "a whole number >= 1")]
            possible = len(values) if w is None else sum(1 for x in w if x > 0)
            if not replace and k > possible:
                return [("k", k, f"at most {possible} (values with weight > 0) without replacement")]
        return []

    def bounds(self):
        return _numeric_bounds(self.params["values"])

    def sample(self, rng, frame):
        values = self.params["values"]
        w = self.params.get("weights")
        p = None if w is None else np.asarray(w, float) / float(sum(w))
        if "k" in self.params:
            replace = bool(self.params.get("replace", False))
            picked = rng.choice(len(values), size=int(self.params["k"]), replace=replace, p=p)
            return [values[int(i)] for i in picked]
        return values[int(rng.choice(len(values), p=p))]


@register_distribution
class Sequence(Distribution):
    """Frame f takes values[f % len(values)]: sweeps, not random."""

    name = "sequence"
    PARAMS = {"values": (True, "non-empty list of values")}
    SUPPORT = "the listed `values`"

    @classmethod
    def check(cls, params):
        values = params.get("values")
        if not isinstance(values, list) or not values:
            return [("values", values, "a non-empty list")]
        return []

    def bounds(self):
        return _numeric_bounds(self.params["values"])

    def sample(self, rng, frame):
        values = self.params["values"]
        return values[frame % len(values)]


@register_distribution
class PerAxis(Distribution):
    """A vector whose components have distributions of their own (or are constants)."""

    name = "per_axis"
    PARAMS = {
        "axes": (
            True,
            "one entry per component (3 for a vec3, 3 or 4 for a colour, the property's length for a `property` value): a number or a `{ distribution = ... }` table with scalar parameters (not `per_axis`)",
        )
    }
    SUPPORT = "per component, the support of that component's entry"

    def __init__(self, **params):
        super().__init__(**params)
        self.axes = [make_distribution(a) for a in params["axes"]]

    @classmethod
    def check(cls, params):
        axes = params.get("axes")
        if not isinstance(axes, list) or not axes:
            return [("axes", axes, "a non-empty list of numbers or distribution tables")]
        out = []
        for i, a in enumerate(axes):
            if is_distribution_spec(a):
                if a.get("distribution") == "per_axis":
                    out.append((f"axes[{i}]", a, "a scalar distribution (not per_axis)"))
                    continue
                out += [(f"axes[{i}].{k}", v, e) for k, v, e in check_distribution_spec(a)]
                if not out and make_distribution(a).scalar() is False:
                    out.append((f"axes[{i}]", a, "a distribution of single numbers (scalar bounds)"))
            elif not _is_number(a):
                out.append((f"axes[{i}]", a, "a number or a {distribution = ...} table"))
        return out

    def scalar(self) -> bool:
        return False

    def bounds(self):
        lo, hi = [], []
        for d in self.axes:
            b = d.bounds()
            if b is None:
                return None
            lo.append(float(b[0][0]))
            hi.append(float(b[1][0]))
        return np.asarray(lo), np.asarray(hi)

    def reach(self):
        """bounds() with each component's practical reach (an open normal's mean -/+ 12 std),
        so a per_axis location with a normal x passes the coordinates' sanity limit as a
        vector normal does."""
        parts = [d.reach() if hasattr(d, "reach") else d.bounds() for d in self.axes]
        if any(p is None for p in parts):
            return None
        return np.asarray([float(p[0][0]) for p in parts]), np.asarray([float(p[1][0]) for p in parts])

    def sample(self, rng, frame):
        return [d.sample(rng, frame) for d in self.axes]

    def to_dict(self):
        return {"distribution": self.name, "axes": [d.to_dict() for d in self.axes]}


@register_distribution
class Shell(Distribution):
    """A point between two spheres around `center`, within an elevation and azimuth band."""

    name = "shell"
    PARAMS = {
        "center": (True, "centre of both spheres, [x, y, z] metres"),
        "radius_min": (True, "inner radius ≥ 0, metres"),
        "radius_max": (True, "outer radius ≥ `radius_min`, metres"),
        "elevation_min": (False, "degrees above the horizontal plane through `center`, -90 .. 90; default -90"),
        "elevation_max": (False, "≥ `elevation_min`, at most 90; default 90 (`elevation_min = 0`: upper half)"),
        "azimuth_min": (False, "degrees counter-clockwise from +X seen from above; default 0"),
        "azimuth_max": (False, "≥ `azimuth_min`, at most 360 more; default 360"),
        "uniform_volume": (
            False,
            "`true`: uniform in the volume (more points far out); default `false`: the radius uniform in "
            "[`radius_min`, `radius_max`] (BlenderProc's default)",
        ),
        "uniform_elevation": (
            False,
            "`true`: the elevation uniform in degrees between `elevation_min` and `elevation_max`, as BlenderProc's "
            "`sampler.shell` draws it (more points towards the poles, by area); default `false`: the direction "
            "uniform by area",
        ),
    }
    SUPPORT = "the points of the shell's band: within the radii, the elevation and the azimuth range"
    VALUE_KIND = "vec3"
    DEFAULTS = {"elevation_min": -90.0, "elevation_max": 90.0, "azimuth_min": 0.0, "azimuth_max": 360.0}

    @classmethod
    def check(cls, params):
        c = params.get("center")
        if not (isinstance(c, list) and len(c) == 3 and all(_is_number(x) for x in c)):
            return [("center", c, "a list of 3 numbers [x, y, z]")]
        for k in ("radius_min", "radius_max", *cls.DEFAULTS):
            if k in params and not _is_number(params[k]):
                return [(k, params[k], "a number")]
        v = {**cls.DEFAULTS, **params}
        if v["radius_min"] < 0:
            return [("radius_min", v["radius_min"], "a number >= 0")]
        if v["radius_max"] < v["radius_min"]:
            return [("radius_max", v["radius_max"], f"a number >= radius_min ({v['radius_min']})")]
        for k in ("elevation_min", "elevation_max"):
            if not -90 <= v[k] <= 90:
                return [(k, v[k], "degrees in [-90, 90]")]
        if v["elevation_max"] < v["elevation_min"]:
            return [("elevation_max", v["elevation_max"], f"degrees >= elevation_min ({v['elevation_min']})")]
        if not v["azimuth_min"] <= v["azimuth_max"] <= v["azimuth_min"] + 360:
            return [
                ("azimuth_max", v["azimuth_max"], f"degrees in [azimuth_min, azimuth_min + 360] ({v['azimuth_min']})")
            ]
        for k in ("uniform_volume", "uniform_elevation"):
            if not isinstance(v.get(k, False), bool):
                return [(k, v[k], "true or false")]
        return []

    def _values(self):
        return {**self.DEFAULTS, **self.params}

    def scalar(self) -> bool:
        return False  # a point: never one component of a per_axis

    def bounds(self):
        """A box around the band: x and y within the outer radius, z exact."""
        v = self._values()
        c = np.asarray(v["center"], float)
        r = float(v["radius_max"])
        heights = [
            radius * math.sin(math.radians(el))
            for radius in (float(v["radius_min"]), r)
            for el in (float(v["elevation_min"]), float(v["elevation_max"]))
        ]
        return c + [-r, -r, min(heights)], c + [r, r, max(heights)]

    def sample(self, rng, frame):
        v = self._values()
        u = rng.random(3)  # always three numbers: the draws after it do not depend on the options
        if v.get("uniform_elevation", False):  # uniform in degrees (BlenderProc's shell)
            elevation = math.radians(v["elevation_min"] + u[0] * (v["elevation_max"] - v["elevation_min"]))
        else:  # uniform by area over the band: sin(elevation) uniform
            s0, s1 = math.sin(math.radians(v["elevation_min"])), math.sin(math.radians(v["elevation_max"]))
            elevation = math.asin(min(1.0, max(-1.0, s0 + u[0] * (s1 - s0))))
        azimuth = math.radians(v["azimuth_min"] + u[1] * (v["azimuth_max"] - v["azimuth_min"]))
        a, b = float(v["radius_min"]), float(v["radius_max"])
        if v.get("uniform_volume", False):
            radius = (a**3 + u[2] * (b**3 - a**3)) ** (1.0 / 3.0)
        else:
            radius = a + u[2] * (b - a)
        direction = (
            math.cos(elevation) * math.cos(azimuth),
            math.cos(elevation) * math.sin(azimuth),
            math.sin(elevation),
        )
        return [float(c + radius * d) for c, d in zip(v["center"], direction)]


@register_distribution
class UniformRotation(Distribution):
    """XYZ Euler angles (degrees) of a rotation uniform over all orientations (SO(3))."""

    name = "uniform_rotation"
    PARAMS: dict[str, tuple[bool, str]] = {}
    SUPPORT = "every orientation, equally likely; as XYZ Euler angles x and z in [-180, 180], y in [-90, 90]"
    VALUE_KIND = "vec3"

    def scalar(self) -> bool:
        return False

    def bounds(self):
        return np.array([-180.0, -90.0, -180.0]), np.array([180.0, 90.0, 180.0])

    def sample(self, rng, frame):
        return matrix_euler(random_rotation(rng))  # three uniform numbers (a random unit quaternion)


@register_distribution
class Mixture(Distribution):
    """One of several distributions (or constants), picked by weight for each draw."""

    name = "mixture"
    PARAMS = {
        "components": (
            True,
            "list of at least 2 constants or `{ distribution = ... }` tables, all of the parameter's kind "
            "(not `per_axis` or `mixture`, no `k`)",
        ),
        "weights": (False, "relative weights, one per component, ≥ 0 with a positive sum; default: all equal"),
    }
    SUPPORT = "the union of the components' supports"

    def __init__(self, **params):
        super().__init__(**params)
        self.components = [make_distribution(c) for c in params["components"]]
        kinds = {c.VALUE_KIND for c in self.components if c.VALUE_KIND is not None}
        self.VALUE_KIND = kinds.pop() if len(kinds) == 1 else None

    @classmethod
    def check(cls, params):
        components = params.get("components")
        if not isinstance(components, list) or len(components) < 2:
            return [("components", components, "a list of at least 2 constants or distribution tables")]
        out = []
        for i, c in enumerate(components):
            c = as_spec(c)
            if not is_distribution_spec(c):
                continue
            if c.get("distribution") in ("per_axis", "mixture") or "k" in c:
                out.append((f"components[{i}]", c, "a distribution of single values (not per_axis or mixture, no k)"))
                continue
            out += [(f"components[{i}].{k}", v, e) for k, v, e in check_distribution_spec(c)]
        if out:
            return out
        kinds = {make_distribution(c).VALUE_KIND for c in components} - {None}
        if len(kinds) > 1:
            return [("components", components, "components that draw the same kind of value")]
        w = params.get("weights")
        if w is not None and not _weights_fit(w, len(components)):
            return [("weights", w, f"{len(components)} non-negative numbers with a positive, finite sum")]
        return []

    def scalar(self) -> bool:
        return all(
            c.scalar() if not isinstance(c, Constant) else _is_number(c.params["value"]) for c in self.components
        )

    def _union(self, parts):
        if any(p is None for p in parts) or len({np.size(p[0]) for p in parts}) != 1:
            return None
        return np.min([p[0] for p in parts], axis=0), np.max([p[1] for p in parts], axis=0)

    def bounds(self):
        return self._union([c.bounds() for c in self.components])

    def reach(self):
        return self._union([c.reach() if hasattr(c, "reach") else c.bounds() for c in self.components])

    def sample(self, rng, frame):
        w = self.params.get("weights")
        p = None if w is None else np.asarray(w, float) / float(sum(w))
        return self.components[int(rng.choice(len(self.components), p=p))].sample(rng, frame)

    def to_dict(self):
        out = {"distribution": self.name, "components": [c.to_dict() for c in self.components]}
        return out | ({"weights": self.params["weights"]} if "weights" in self.params else {})


class Constant(Distribution):
    name = "constant"

    def __init__(self, value):
        super().__init__(value=value)

    def sample(self, rng, frame):
        return self.params["value"]

    def to_dict(self):
        return self.params["value"]

    def bounds(self):
        v = self.params["value"]
        if not _is_numbers(v):
            return None
        a = np.atleast_1d(np.asarray(v, float))
        return a, a


def listed_values(d: Distribution) -> list:
    """The values `d` draws from a list it is given: a constant's value, a choice's or
    sequence's values, a mixture's components' (each of those); nothing for a distribution
    that computes its values (a uniform). What a name parameter (a light type, a file) can
    draw, to check every one before anything is built."""
    if isinstance(d, Constant):
        return [d.params["value"]]
    if d.name in ("choice", "sequence"):
        return list(d.params["values"])
    if d.name == "mixture":
        return [v for c in d.components for v in listed_values(c)]
    return []


def certain_values(d: Distribution) -> list:
    """Values `d` draws with a positive probability that can be named: its listed values, and
    the one value of a distribution whose bounds are a single point (a uniform with low ==
    high, a normal with std 0, a shell of radius 0), as much a constant as a constant is."""
    if isinstance(d, Constant) or d.name in ("choice", "sequence"):
        return listed_values(d)
    if d.name == "mixture":
        return [v for c in d.components for v in certain_values(c)]
    b = d.bounds()
    if b is None or not np.array_equal(b[0], b[1]):
        return []
    point = [float(x) for x in np.ravel(b[0])]
    return [point[0] if d.scalar() else point]


def can_draw(d: Distribution, value) -> bool:
    """Whether `d` draws `value` with a positive probability: one of its certain_values, or
    whole numbers within a uniform_int's bounds (0 of uniform_int 0 .. 3, one draw in four);
    a per_axis vector where each component can draw its own ([uniform_int -1 .. 1, -8, 6]
    draws [0, -8, 6] one draw in three)."""
    if d.name == "mixture":
        return any(can_draw(c, value) for c in d.components)
    if d.name == "per_axis":
        v = np.ravel(np.asarray(value, float))
        return len(v) == len(d.axes) and all(can_draw(a, float(x)) for a, x in zip(d.axes, v))
    if d.name == "uniform_int":
        lo, hi = d.bounds()
        v = np.atleast_1d(np.asarray(value, float))
        return v.shape == lo.shape and bool(np.all((v == np.round(v)) & (lo <= v) & (v <= hi)))
    return value in certain_values(d)


def is_distribution_spec(value) -> bool:
    return isinstance(value, dict) and "distribution" in value


def missing_distribution_hint(value) -> str:
    """What a table given for a sampled value lacks when it has no `distribution` key: the
    key that looks like it (`Distribution`, `distrib`), a key naming a distribution
    (`type = "uniform"`, `dist = "normal"`), else the keys it has; "" for no table."""
    if not isinstance(value, dict) or "distribution" in value:
        return ""
    keys = [k for k in value if isinstance(k, str)]
    close = [k for k in keys if difflib.get_close_matches(k.lower(), ["distribution"], n=1, cutoff=0.6)]
    if close:
        return f": did you mean 'distribution' for {close[0]!r}?"
    for k in keys:
        v = value[k]
        if isinstance(v, str) and v in DISTRIBUTIONS:
            return f': did you mean distribution = "{v}" for {k} = "{v}"?'
    listed = ", ".join(repr(k) for k in keys)
    return f": the table has no 'distribution' key (its keys: {listed})" if keys else ": the table is empty"


def is_per_axis_shorthand(value) -> bool:
    """`[0, 0, { distribution = ... }]`: a list with a distribution among its components."""
    return isinstance(value, list) and any(is_distribution_spec(x) for x in value)


def as_spec(value):
    """The value with the per-axis shorthand spelled out as a per_axis table."""
    return {"distribution": "per_axis", "axes": value} if is_per_axis_shorthand(value) else value


def make_distribution(value) -> Distribution:
    """A parameter-file value (constant or `{distribution = ...}` table) -> Distribution."""
    value = as_spec(value)
    if not is_distribution_spec(value):
        return Constant(value)
    params = {k: v for k, v in value.items() if k != "distribution"}
    return DISTRIBUTIONS[value["distribution"]](**params)


def check_distribution_spec(value) -> list[tuple[str, object, str]]:
    """Problems of one `{distribution = ...}` table as (sub-field, value, expected)."""
    name = value.get("distribution")
    cls = DISTRIBUTIONS.get(name) if isinstance(name, str) else None
    if cls is None:
        return [("distribution", name, _one_of(name, sorted(DISTRIBUTIONS), "distribution"))]
    params = {k: v for k, v in value.items() if k != "distribution"}
    out = [
        (k, v, _one_of(k, list(cls.PARAMS), f"parameter of {name}")) for k, v in params.items() if k not in cls.PARAMS
    ]
    out += [
        (k, None, f"{desc} (required by {name})") for k, (req, desc) in cls.PARAMS.items() if req and k not in params
    ]
    if not out:
        out = cls.check(params)
    return out


# What users of Replicator (rep.distribution), numpy / BlenderProc (np.random) and
# BlenderProc's samplers call a distribution or its parameters -> (our name, whose name).
# A close spelling would point elsewhere (numpy's `loc` to `low`, Replicator's `combine`
# to `choice`): these say what the name is here.
PEER_NAMES = {
    "lower": ("low", "Replicator's"),
    "upper": ("high", "Replicator's"),
    "loc": ("mean", "numpy's"),
    "scale": ("std", "numpy's"),
    "stddev": ("std", "a common"),
    "sigma": ("std", "a common"),
    "choices": ("values", "Replicator's"),
    "items": ("values", "Replicator's"),
    "size": ("k", "numpy's"),
    "num_samples": ("k", "Replicator's"),
    "distributions": ("components", "Replicator's"),
    "combine": ("mixture", "Replicator's"),
    "randint": ("uniform_int", "numpy's"),
    "integers": ("uniform_int", "numpy's"),
    "uniformSO3": ("uniform_rotation", "BlenderProc's"),
}


# Replicator's distribution parameters with no counterpart in a distribution that lacks them.
PEER_PARAMS_WITHOUT = {
    "num_samples": "Replicator's num_samples (a value per prim) is not needed here: each target draws its own "
    "value (a list of k values drawn at once is `choice`'s `k`)",
    "with_replacements": "Replicator's choice(with_replacements=False) draws one value per prim without "
    "replacement, so no two prims share one; that has no counterpart here: each target draws its own value from "
    "all of `values` (two may draw the same); `k` draws a list of k values for each target, distinct unless "
    "`replace = true`",
    "ordered": "Replicator's sequence(ordered=...) has no counterpart: a sequence here is always in order, frame f "
    "taking values[f % len(values)] (random picks are `choice`)",
}


# BlenderProc's samplers that are no distribution here: name -> how to write the same.
PEER_SAMPLERS = {
    "upper_region": (
        "BlenderProc's sampler.upper_region (a point above a surface's faces, min_height .. max_height up) is "
        'a region here: a `scatter` entry with `volume = "box"`, its `center` and `size` the box above the '
        "surface (e.g. a ground plane's extent, from min_height to max_height), or a `uniform` location over "
        "that box"
    ),
    "part_sphere": (
        "BlenderProc's sampler.part_sphere is a `shell`: mode SURFACE `radius_min = radius_max = radius`, "
        "INTERIOR `radius_min = 0` with `uniform_volume = true`; on the surface, the part above "
        "distance_above_center d (along +Z) is `elevation_min` = asin(d / radius) in degrees (inside, a band "
        "of elevations is a cone, not a cap)"
    ),
    "sphere": (
        "BlenderProc's sampler.sphere is a `shell`: mode SURFACE `radius_min = radius_max = radius`, INTERIOR "
        "`radius_min = 0` with `uniform_volume = true`"
    ),
}


def _one_of(word, choices: list[str], noun: str) -> str:
    if not choices:  # uniform_rotation takes no parameters: not "a known parameter (known: )"
        if word in ("around_x", "around_y", "around_z"):
            return (
                f"no {noun.replace('parameter', 'parameters', 1)}: it takes none; BlenderProc's "
                "uniformSO3 limited to some axes draws an angle uniform in 0 .. 360 about each: here a `rotation` "
                'with those components uniform, e.g. around_z alone is `[0, 0, { distribution = "uniform", '
                "low = 0, high = 360 }]`"
            )
        return f"no {noun.replace('parameter', 'parameters', 1)}: it takes none"
    if word == "seed" and noun.startswith("parameter"):  # Replicator's distributions take one each
        listed = ", ".join(repr(c) for c in choices)
        return f"a known {noun}: the seed is the run's (`run.seed`), not a distribution's (known: {listed})"
    if noun == "distribution" and isinstance(word, str) and word in PEER_SAMPLERS:
        return f"a known {noun}: {PEER_SAMPLERS[word]} (known: {', '.join(repr(c) for c in choices)})"
    ours, whose = PEER_NAMES.get(word, (None, "")) if isinstance(word, str) else (None, "")
    if ours in choices:
        hint = f": {word!r} is {whose} name for what is {ours!r} here"
        return f"a known {noun}{hint} (known: {', '.join(repr(c) for c in choices)})"
    if isinstance(word, str) and word in PEER_PARAMS_WITHOUT and noun.startswith("parameter"):
        return f"a known {noun}: {PEER_PARAMS_WITHOUT[word]} (known: {', '.join(repr(c) for c in choices)})"
    close = difflib.get_close_matches(word, choices, n=1) if isinstance(word, str) else []
    hint = f": did you mean {close[0]!r}?" if close else ""
    return f"a known {noun}{hint} (known: {', '.join(repr(c) for c in choices)})"
