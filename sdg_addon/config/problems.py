"""Collecting every problem of a parameter file, each naming file, field, value, expectation."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass


@dataclass
class Problem:
    file: str
    field: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = _printable(self.field)[:200] or "<top level>"
        shown = _show(self.value, toml=self.file.lower().endswith(".toml"))  # in the file's own syntax
        return f"{_printable(self.file)}: {where}: got {shown}; expected {self.expected}"


class ConfigError(ValueError):
    """Raised with every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FieldError(ValueError):
    """A value of the parameter file that only the built scene can refuse (an asset Blender
    cannot import, a name the .blend lacks, a property path that does not resolve), raised
    where the scene is built. `file`: the file the entry came from, when known there (an
    asset list); else the run adds its parameter file (Config.named). Reported as
    validation reports a Problem."""

    def __init__(self, field: str, value: object, expected: str, file: str = ""):
        self.problem = Problem(file, field, value, expected)
        self.more: list[FieldError] = []  # others found with it (an asset pool's files), reported together
        super().__init__(f"{_printable(field)}: got {_show(value)}; expected {expected}")


class OptionError(ValueError):
    """One option of a writer or annotator that its class refuses (a split that is no plain
    name): `option` is its path in the writer's table ("split", "channels[0]"), `value` the
    value given and `expected` what it takes, so that validation reports it at that field
    (writers.coco.split), not at the whole table. str(): the sentence naming the writer, as
    the API raises it."""

    def __init__(self, message: str, option: str, value: object, expected: str):
        super().__init__(message)
        self.option, self.value, self.expected = option, value, expected


class Problems:
    """A collector passed through validation; `field` paths look like `cameras[0].location`."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, field: str, value: object, expected: str) -> None:
        self.items.append(Problem(self.file, field, value, expected))

    def unknown_keys(self, table: dict, known, path: str, hints: dict[str, str] | None = None) -> None:
        """A problem for each key of `table` not in `known`; `hints` (key -> where that key
        belongs, e.g. another tool's option that is set elsewhere here) replace the
        did-you-mean for the keys they name."""
        known = list(known)
        for key in table:
            if key not in known:
                if hints and key in hints and not known:
                    expected = f"no key here: {hints[key]} (this table takes no keys)"
                elif not known:
                    expected = "no key here (this table takes no keys)"
                elif hints and key in hints:
                    listed = ", ".join(repr(c) for c in sorted(known))
                    expected = f"a known key: {hints[key]} (known: {listed})"
                else:
                    expected = one_of(key, sorted(known), "key")
                self.add(join(path, key), table[key], expected)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)


def did_you_mean(word: object, choices) -> str | None:
    """The choice closest to `word` (case-insensitive), or None when none is close."""
    if not isinstance(word, str):
        return None
    choices = [str(c) for c in choices]
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def one_of(word: object, choices, noun: str | None = None) -> str:
    """Expectation for a value that must be one of `choices`, with a did-you-mean hint.

    `one of 'a', 'b'; did you mean 'a'?` or, with a noun, `a known writer: did you mean
    'basic'? (known: 'basic', 'coco')`.
    """
    listed = ", ".join(repr(c) for c in choices)
    close = did_you_mean(word, choices)
    if noun is None:
        return f"one of {listed}" + (f"; did you mean {close!r}?" if close else "")
    return f"a known {noun}" + (f": did you mean {close!r}?" if close else "") + f" (known: {listed})"


def first_names(names, at_most: int = 5) -> str:
    """The first `at_most` of `names`, comma-separated, and how many more there are."""
    names = list(names)
    more = f" and {len(names) - at_most} more" if len(names) > at_most else ""
    return ", ".join(names[:at_most]) + more


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Missing:
    def __repr__(self) -> str:
        return "nothing (the field is missing)"


MISSING = _Missing()


class Repeated:
    """The values of a key given more than once in one table (a JSON file's), shown in order."""

    def __init__(self, values: list):
        self.values = values

    def __repr__(self) -> str:
        return " and ".join(_show(v) for v in self.values)


def _printable(text: str) -> str:
    """Control and other unprintable characters escaped (\x85 and \u2028 end lines too),
    so one problem stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _show(value: object, toml: bool = False) -> str:
    """`value` as a problem quotes it: JSON, or, with `toml` (a TOML file's), its tables as
    TOML writes them inline (`{ class = "cube" }`, not `{"class": "cube"}`); the rest is
    written alike in both."""
    if value is MISSING:
        return repr(value)
    try:
        # As typed (a name in Japanese reads as such, not "\u30ab\u30e1\u30e9"); what does
        # not print (control characters, line separators) escaped, so a problem stays one line.
        text = _toml_inline(value) if toml else None
        if text is None:
            text = re.sub(r'"\\u0000(.*?)\\u0000"', r"\1", json.dumps(value, default=_not_json, ensure_ascii=False))
        text = _printable(text)
    except (TypeError, ValueError, RecursionError):
        text = repr(value) if not isinstance(value, (list, dict)) else f"a {type(value).__name__} nested too deep"
    return text if len(text) <= 120 else text[:117] + "..."


def quoted(value: object, toml: bool) -> str:
    """`value` in a parameter file's syntax (TOML inline with `toml`, else JSON), for a
    message that quotes one: as a problem shows it."""
    return _show(value, toml)


def _toml_inline(value: object) -> str | None:
    """`value` as TOML writes it inline where it holds a table, else None (JSON's text is
    TOML's: numbers, strings, lists of them); None too where TOML has no form for it (a
    null, a NaN)."""

    def tables(x) -> bool:
        return isinstance(x, dict) or (isinstance(x, list) and any(map(tables, x)))

    if not tables(value):
        return None
    from .toml_out import inline

    try:
        return inline(value)
    except (TypeError, ValueError, RecursionError):
        return None


def _not_json(value: object) -> str:
    """A value JSON has no type for, as a problem shows it: a TOML date or time (`<date
    1979-05-27>`), not a Python repr, nor "nested too deep" when it sits in a list."""
    if not hasattr(value, "isoformat"):
        raise TypeError(type(value).__name__)  # shown by its repr (Repeated)
    return f"\x00<{type(value).__name__} {value.isoformat()}>\x00"  # unquoted by _show: not a string
