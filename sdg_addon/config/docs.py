"""docs/parameters.md's tables, made from the declarations (`python -m sdg_addon.config.docs`).

The page marks each generated table with `<!-- fields: NAME -->` ... `<!-- /fields -->`
(a schema section), `<!-- randomizer: TYPE -->` ... `<!-- /randomizer -->` (a randomizer
type's PARAMS and OPTIONS) or `<!-- distribution: NAME -->` ... `<!-- /distribution -->` (a
distribution's PARAMS) or `<!-- catalogue: annotators|writers -->` ... `<!-- /catalogue -->`
(the built-in annotators or writers, their summaries and options); this module rewrites what lies between, and a test fails when
the page is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .fields import Field, _bound, _range_text, default_text, fields_markdown, value_text


def declared_sections() -> dict[str, tuple]:
    """Section name -> its fields, for every section declared with config.fields."""
    from . import schema

    return {name: fields for name, fields in schema.DECLARED_SECTIONS.items()}


MARK = re.compile(r"(<!-- fields: (?P<name>[\w.\[\]]+) -->\n)(?P<body>.*?)(<!-- /fields -->)", re.S)
RANDOMIZER_MARK = re.compile(r"(<!-- randomizer: (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /randomizer -->)", re.S)
CATALOGUE_MARK = re.compile(r"(<!-- catalogue: (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /catalogue -->)", re.S)
DISTRIBUTION_MARK = re.compile(r"(<!-- distribution: (?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /distribution -->)", re.S)

# How the docs name a parameter's kind (sampling.randomizers' kinds).
_PARAM_KIND_TEXT = {
    "number": "number",
    "vec3": "vec3",
    "number_or_vec3": "number or vec3",
    "color": "colour",
    "bool": "bool",
    "string": "string",
    "strings": "list of strings",
    "any": "number, list, bool or string",
}


def _bounds_text(low, high) -> str:
    if low is not None and high is not None and low == -high:
        return f" ±{_bound(high)}"
    return _range_text(low, high)


def param_kind_text(cls, name: str) -> str:
    kind = cls.PARAMS[name][0]
    text = _PARAM_KIND_TEXT[kind]
    bounds = cls.value_range(name)
    if bounds is None or kind == "color":  # a colour's 0 .. 1 is the kind's own
        return text
    return text + _bounds_text(*bounds)


def option_kind_text(cls, name: str) -> str:
    """An option's type, bounds and default, from its declaration (a Field or a tuple)."""
    spec = cls.OPTIONS[name]
    if isinstance(spec, Field):
        # A point is a vec3 as the table's parameters call it (±bounds alike).
        kind = "vec3" + _bounds_text(spec.low, spec.high) if spec.kind == "vec3" else spec.type_text()
        return f"{kind}, default {default_text(spec)}"
    default, typ, _desc = spec
    types = set(typ) if isinstance(typ, tuple) else {typ}
    if types == {bool}:
        text = "bool"
    elif types == {int}:
        text = "int"
    elif float in types:
        text = "number"
    elif types == {str, list}:
        text = "glob or list of globs" + (", or a table of labels" if name in cls.OBJECT_OPTIONS else "")
    elif types == {str}:
        text = "string"
    elif isinstance(default, list) and len(default) == 3:
        text = "vec3"
    else:
        text = "list"
    if name in cls.REQUIRED_OPTIONS:
        return text + ", required"
    return f"{text}, default {value_text(default)}"


def randomizer_markdown(cls) -> str:
    """A randomizer type's reference table: its parameters, then its options."""
    head = "parameter / option" if cls.OPTIONS else "parameter"
    rows = [f"| {head} | kind | meaning |", "|---|---|---|"]
    for name, (_kind, desc) in cls.PARAMS.items():
        rows.append(f"| `{name}` | {param_kind_text(cls, name)} | {_cell(desc)} |")
    for name, spec in cls.OPTIONS.items():
        desc = spec.doc if isinstance(spec, Field) else spec[2]
        rows.append(f"| `{name}` (option) | {option_kind_text(cls, name)} | {_cell(desc)} |")
    return "\n".join(rows)


def distribution_markdown(cls) -> str:
    """A distribution's reference table: its parameters, required or not."""
    if not cls.PARAMS:
        return "No parameters."
    rows = ["| parameter | required | meaning |", "|---|---|---|"]
    for name, (required, desc) in cls.PARAMS.items():
        rows.append(f"| `{name}` | {'yes' if required else 'no'} | {_cell(desc)} |")
    return "\n".join(rows)


def built_in(registry: dict) -> dict:
    """The registry's entries that this package defines (not plugins of installed packages
    or of a test), in name order."""
    return {n: c for n, c in sorted(registry.items()) if c.__module__.startswith(__package__.split(".")[0] + ".")}


def catalogue_markdown(name: str) -> str:
    """The table of the built-in annotators or writers: name, summary, options."""
    if name == "annotators":
        from ..annotators import ANNOTATORS as registry

        head = "| annotator | gives | options |"
    elif name == "writers":
        from ..writers import WRITERS as registry

        head = "| writer | layout | options |"
    else:
        raise KeyError(f"docs mark a catalogue that does not exist: {name}")
    rows = [head, "|---|---|---|"]
    for key, cls in built_in(registry).items():
        options = ", ".join(f"`{o}`" for o in cls.OPTIONS) or "none"
        rows.append(f"| `{key}` | {_cell(cls.summary)} | {options} |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_page(text: str) -> str:
    from ..sampling.distributions import DISTRIBUTIONS
    from ..sampling.randomizers import RANDOMIZERS

    sections = declared_sections()

    def table(m: re.Match) -> str:
        name = m["name"]
        if name not in sections:
            raise KeyError(f"docs mark a section the schema does not declare: {name}")
        return m[1] + fields_markdown(sections[name]) + "\n" + m[4]

    def randomizer_table(m: re.Match) -> str:
        name = m["name"]
        if name not in RANDOMIZERS:
            raise KeyError(f"docs mark a randomizer type that is not registered: {name}")
        return m[1] + randomizer_markdown(RANDOMIZERS[name]) + "\n" + m[4]

    def distribution_table(m: re.Match) -> str:
        name = m["name"]
        if name not in DISTRIBUTIONS:
            raise KeyError(f"docs mark a distribution that is not registered: {name}")
        return m[1] + distribution_markdown(DISTRIBUTIONS[name]) + "\n" + m[4]

    text = MARK.sub(table, text)
    text = CATALOGUE_MARK.sub(lambda m: m[1] + catalogue_markdown(m["name"]) + "\n" + m[4], text)
    text = RANDOMIZER_MARK.sub(randomizer_table, text)
    return DISTRIBUTION_MARK.sub(distribution_table, text)


def marked_sections(text: str) -> set[str]:
    return {m["name"] for m in MARK.finditer(text)}


def marked_randomizers(text: str) -> list[str]:
    return [m["name"] for m in RANDOMIZER_MARK.finditer(text)]


def marked_distributions(text: str) -> list[str]:
    return [m["name"] for m in DISTRIBUTION_MARK.finditer(text)]


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
