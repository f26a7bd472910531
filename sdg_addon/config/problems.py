"""Collecting every problem of a parameter file, each naming file, field, value, expectation."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass


@dataclass
class Problem:
    file: str
    field: str
    value: object
    expected: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '<top level>'}: got {_show(self.value)}; expected {self.expected}"


class ConfigError(ValueError):
    """Raised with every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class Problems:
    """A collector passed through validation; `field` paths look like `cameras[0].location`."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, field: str, value: object, expected: str) -> None:
        self.items.append(Problem(self.file, field, value, expected))

    def unknown_keys(self, table: dict, known, path: str) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(join(path, key), table[key], f"one of the known keys {sorted(known)}{hint}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Missing:
    def __repr__(self) -> str:
        return "nothing (the field is missing)"


MISSING = _Missing()


def _show(value: object) -> str:
    if value is MISSING:
        return repr(value)
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
