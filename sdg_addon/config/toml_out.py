"""Writing a parameter file (TOML or JSON) from plain data: the recorder panel's Export.

Enough TOML for parameter files: tables, arrays of tables, and inline values (strings,
numbers, booleans, lists, inline tables). `tomllib.loads(dumps(d)) == d` for such data.
"""

from __future__ import annotations

import json
import math
import re

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(data: dict) -> str:
    lines: list[str] = []
    _table(lines, [], data)
    return "\n".join(lines).strip() + "\n"


def dumps_for(path_suffix: str, data: dict) -> str:
    """TOML for .toml, JSON (indented) for .json."""
    if path_suffix.lower() == ".json":
        return json.dumps(data, indent=2) + "\n"
    return dumps(data)


def inline(value) -> str:
    """A value as TOML writes it inline (`{ class = "cube" }`), for a message quoting one."""
    return _value(value)


def _is_table_array(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, dict) for x in value)


def _table(lines: list[str], path: list[str], table: dict) -> None:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_array(v)}
    for k, v in plain.items():
        lines.append(f"{key(k)} = {_value(v)}")
    for k, v in table.items():
        if isinstance(v, dict):
            if lines:
                lines.append("")
            if any(not isinstance(x, dict) and not _is_table_array(x) for x in v.values()) or not v:
                lines.append(f"[{'.'.join(key(p) for p in [*path, k])}]")
            _table(lines, [*path, k], v)
        elif _is_table_array(v):
            for item in v:
                lines.append("")
                lines.append(f"[[{'.'.join(key(p) for p in [*path, k])}]]")
                _table(lines, [*path, k], item)


def key(k: str) -> str:
    """A key as TOML writes it: bare where it may be (`color`), else quoted (`"catégorie"`)."""
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)  # 'catégorie' as typed


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v} has no TOML form in a parameter file")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a TOML basic string is a JSON string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if v is None:
        raise ValueError("None has no TOML form: leave the key out")
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
