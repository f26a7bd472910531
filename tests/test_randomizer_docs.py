"""docs/parameters.md documents every registered randomizer and each of its parameters and
options (a new one without docs fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdg_addon.sampling import RANDOMIZERS

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "parameters.md").read_text(encoding="utf-8")


def section(name: str) -> str:
    m = re.search(rf"^### `{re.escape(name)}`\n(.*?)(?=^##)", PAGE, re.S | re.M)
    return m[1] if m else ""


@pytest.mark.parametrize("name", sorted(RANDOMIZERS))
def test_every_randomizer_parameter_is_documented(name):
    text = section(name)
    assert text, f"docs/parameters.md has no '### `{name}`' section"
    cls = RANDOMIZERS[name]
    rows = set(re.findall(r"^\| `(\w+)`", text, re.M))
    missing = [k for k in (*cls.PARAMS, *cls.OPTIONS) if k not in rows]
    assert not missing, f"{name}: undocumented {missing}"
