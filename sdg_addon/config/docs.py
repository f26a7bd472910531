"""docs/parameters.md's field tables, made from the declarations (`python -m sdg_addon.config.docs`).

The page marks each generated table with `<!-- fields: NAME -->` ... `<!-- /fields -->`;
this module rewrites what lies between, and a test fails when the page is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .fields import fields_markdown


def declared_sections() -> dict[str, tuple]:
    """Section name -> its fields, for every section declared with config.fields."""
    from . import schema

    return {name: fields for name, fields in schema.DECLARED_SECTIONS.items()}


MARK = re.compile(r"(<!-- fields: (?P<name>[\w.\[\]]+) -->\n)(?P<body>.*?)(<!-- /fields -->)", re.S)


def render_page(text: str) -> str:
    sections = declared_sections()

    def table(m: re.Match) -> str:
        name = m["name"]
        if name not in sections:
            raise KeyError(f"docs mark a section the schema does not declare: {name}")
        return m[1] + fields_markdown(sections[name]) + "\n" + m[4]

    return MARK.sub(table, text)


def marked_sections(text: str) -> set[str]:
    return {m["name"] for m in MARK.finditer(text)}


def main(argv: list[str]) -> int:
    page = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "docs" / "parameters.md"
    text = page.read_text(encoding="utf-8")
    new = render_page(text)
    if new != text:
        page.write_text(new, encoding="utf-8")
        print(f"updated {page.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
