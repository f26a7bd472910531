"""Seeded distributions, registered by name.

In a parameter file a sampled value is a table with a `distribution` key, e.g.
`{ distribution = "uniform", low = [-1, -1, 0], high = [1, 1, 0] }`; any other value is a
constant. Every distribution draws from the numpy Generator it is given, so the value of
frame f depends only on the generator's seed (see sampling.sampler).
"""

from __future__ import annotations

import difflib
import math

import numpy as np

DISTRIBUTIONS: dict[str, type[Distribution]] = {}


def register_distribution(cls):
    DISTRIBUTIONS[cls.name] = cls
    return cls


class Distribution:
    name = ""
    # parameter name -> (required, description)
    PARAMS: dict[str, tuple[bool, str]] = {}

    def __init__(self, **params):
        self.params = params

    def sample(self, rng: np.random.Generator, frame: int):
        raise NotImplementedError

    def to_dict(self) -> dict:
        return {"distribution": self.name, **self.params}

    @classmethod
    def check(cls, params: dict) -> list[tuple[str, object, str]]:
        """Problems as (param, value, expected); empty if fine."""
        return []


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_numbers(x) -> bool:
    return _is_number(x) or (isinstance(x, list) and len(x) > 0 and all(_is_number(v) for v in x))


def _size(x) -> int | None:
    return None if _is_number(x) else len(x)


def _as_value(a: np.ndarray | float, like):
    """Return a float for scalar parameters and a list of floats for vector ones."""
    if _is_number(like):
        return float(a)
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
    PARAMS = {"low": (True, "lower bound (number or list)"), "high": (True, "upper bound")}

    @classmethod
    def check(cls, params):
        return _check_pair(params, "low", "high")

    def sample(self, rng, frame):
        low, high = self.params["low"], self.params["high"]
        return _as_value(rng.uniform(np.asarray(low, float), np.asarray(high, float)), low)


@register_distribution
class LogUniform(Distribution):
    name = "log_uniform"
    PARAMS = {"low": (True, "lower bound > 0"), "high": (True, "upper bound")}

    @classmethod
    def check(cls, params):
        return _check_pair(params, "low", "high", positive=True)

    def sample(self, rng, frame):
        low, high = self.params["low"], self.params["high"]
        lo, hi = np.log(np.asarray(low, float)), np.log(np.asarray(high, float))
        return _as_value(np.exp(rng.uniform(lo, hi)), low)


@register_distribution
class Normal(Distribution):
    name = "normal"
    PARAMS = {
        "mean": (True, "mean (number or list)"),
        "std": (True, "standard deviation >= 0"),
        "low": (False, "optional lower clip"),
        "high": (False, "optional upper clip"),
    }

    @classmethod
    def check(cls, params):
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
        return out

    def sample(self, rng, frame):
        mean = self.params["mean"]
        v = rng.normal(np.asarray(mean, float), np.asarray(self.params["std"], float))
        if "low" in self.params or "high" in self.params:
            v = np.clip(v, self.params.get("low", -np.inf), self.params.get("high", np.inf))
        return _as_value(v, mean)


@register_distribution
class Choice(Distribution):
    name = "choice"
    PARAMS = {"values": (True, "list of values"), "weights": (False, "relative weights")}

    @classmethod
    def check(cls, params):
        values = params.get("values")
        if not isinstance(values, list) or not values:
            return [("values", values, "a non-empty list")]
        w = params.get("weights")
        if w is not None and (
            not isinstance(w, list)
            or len(w) != len(values)
            or not all(_is_number(x) and x >= 0 for x in w)
            or sum(w) <= 0
        ):
            return [("weights", w, f"{len(values)} non-negative numbers with a positive sum")]
        return []

    def sample(self, rng, frame):
        values = self.params["values"]
        w = self.params.get("weights")
        p = None if w is None else np.asarray(w, float) / float(sum(w))
        return values[int(rng.choice(len(values), p=p))]


@register_distribution
class Sequence(Distribution):
    """Frame f takes values[f % len(values)]: sweeps, not random."""

    name = "sequence"
    PARAMS = {"values": (True, "list of values, cycled through by frame index")}

    @classmethod
    def check(cls, params):
        values = params.get("values")
        if not isinstance(values, list) or not values:
            return [("values", values, "a non-empty list")]
        return []

    def sample(self, rng, frame):
        values = self.params["values"]
        return values[frame % len(values)]


class Constant(Distribution):
    name = "constant"

    def __init__(self, value):
        super().__init__(value=value)

    def sample(self, rng, frame):
        return self.params["value"]

    def to_dict(self):
        return self.params["value"]


def is_distribution_spec(value) -> bool:
    return isinstance(value, dict) and "distribution" in value


def make_distribution(value) -> Distribution:
    """A parameter-file value (constant or `{distribution = ...}` table) -> Distribution."""
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


def _one_of(word, choices: list[str], noun: str) -> str:
    close = difflib.get_close_matches(word, choices, n=1) if isinstance(word, str) else []
    hint = f": did you mean {close[0]!r}?" if close else ""
    return f"a known {noun}{hint} (known: {', '.join(repr(c) for c in choices)})"
