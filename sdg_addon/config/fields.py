"""Schema sections declared once: type, default, bounds and doc of every field.

A section is a tuple of `Field`s. From it come the dataclass that holds the values
(`section_class`), the validation (`read_section`), the reference table in
docs/parameters.md (`fields_markdown`, checked by a test) and the UI panels (ui/ reads
the same declarations). Adding a field is adding one `Field(...)` line.

Kinds: "int", "float", "bool", "str", "choice", "vec3", "color", "strings", "name"
(a Blender object name), "labels" (a table of label type -> value or list of values),
"points" (a table of name -> [x, y, z], in file order), "pairs" (a list of [name, name]).
"""

from __future__ import annotations

import copy
import math
import unicodedata
from dataclasses import dataclass, field, make_dataclass

from .problems import MISSING, Problems, join, one_of

KINDS = ("int", "float", "bool", "str", "choice", "vec3", "color", "strings", "name", "labels", "points", "pairs")

MAX_NAME_BYTES = 63  # Blender's limit for ID names (longer ones are cut, then clash)
MAX_LABEL_CHARS = 128  # a label type or value; longer is a mistake, not a class name
# A label type is a key of an object's `semantics` custom property, whose names Blender
# limits to 63 bytes (a longer one raised KeyError where the labels are stored).
MAX_LABEL_TYPE_BYTES = 63
MAX_STRING_CHARS = 4096  # any other string (paths, patterns)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    default: object
    doc: str
    low: float | None = None
    high: float | None = None
    strict_low: bool = False  # value must be > low (not >=)
    choices: tuple = ()
    fold_case: bool = False  # choices match in any case
    nullable: bool = False  # None (absent) is a valid value
    default_text: str | None = None  # how docs show a computed default
    required: bool = False  # a missing value is a problem

    def __post_init__(self):
        assert self.kind in KINDS, self.kind
        assert self.kind != "choice" or self.choices, self.name

    def type_text(self) -> str:
        """The type and bounds as docs and error messages state them."""
        if self.kind == "choice":
            listed = ", ".join(f'`"{c}"`' for c in self.choices)
            return listed + (" (any case)" if self.fold_case else "")
        base = {
            "int": "int",
            "float": "number",
            "bool": "bool",
            "str": "string",
            "vec3": "[x, y, z]",
            "color": "colour [r, g, b] in [0, 1]",
            "strings": "string or list of strings",
            "name": f"string (1 .. {MAX_NAME_BYTES} bytes)",
            "labels": "labels",
            "points": "table of name -> [x, y, z]",
            "pairs": "list of [name, name]",
        }[self.kind]
        return base + _range_text(self.low, self.high, self.strict_low)


def _range_text(low, high, strict_low=False) -> str:
    if low is not None and high is not None and not strict_low:
        return f" {_bound(low)} .. {_bound(high)}"
    text = ""
    if low is not None:
        text += f" {'>' if strict_low else '≥'} {_bound(low)}"
    if high is not None:
        text += f"{',' if text else ''} ≤ {_bound(high)}"
    return text


def _bound(x) -> str:
    """A bound as the reference page writes it: 1e9 rather than 1000000000 (1e6 stays 1000000)."""
    if abs(x) >= 1e7 and math.log10(abs(x)).is_integer():
        return f"{'-' if x < 0 else ''}1e{int(math.log10(abs(x)))}"
    return _num(x)


def _num(x) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def section_class(name: str, fields: tuple[Field, ...], extra: tuple = ()):
    """A dataclass with one attribute per field, defaulting to the declared default.

    `extra` adds (name, type, dataclasses.field(...)) attributes that are not read from the
    file (e.g. values derived by the reader).
    """
    attrs = [(f.name, object, field(default_factory=lambda d=f.default: copy.deepcopy(d))) for f in fields]
    return make_dataclass(name, [*attrs, *extra])


def read_section(
    problems: Problems, table: dict, path: str, fields: tuple[Field, ...], into, known_extra=(), hints=None
):
    """Validate `table` against `fields`, setting attributes on `into`; unknown keys are problems
    (`hints`: key -> where it belongs here, e.g. another tool's name for a field).

    A wrong value is recorded (file, field, value, what was expected) and the default kept,
    so every problem of a file is found in one pass.
    """
    problems.unknown_keys(table, [*(f.name for f in fields), *known_extra], path, hints)
    for f in fields:
        if f.name in table:
            setattr(into, f.name, check_value(problems, f, table[f.name], join(path, f.name)))
        elif f.required:
            problems.add(join(path, f.name), MISSING, f"{_expected(f)} ({f.doc}; required)")
    return into


def check_value(problems: Problems, f: Field, value, where: str):
    """The value converted to the field's type, or the default after recording a problem."""
    if value is None and f.nullable:
        return None
    if f.kind == "labels":
        return check_labels(problems, value, where)
    ok, out = _convert(f, value)
    if ok:
        return out
    expected = one_of(value, f.choices) if f.kind == "choice" else _expected(f)
    if f.kind == "choice" and f.fold_case:
        expected += " (any case)"
    expected = f"{expected} ({f.doc})" if f.doc else expected
    if f.kind in ("str", "name"):
        expected += escape_hint(value)
    problems.add(where, value if value is not MISSING else MISSING, expected)
    return copy.deepcopy(f.default)


def _expected(f: Field) -> str:
    rng = f" {'>' if f.strict_low else '>='} {_num(f.low)}" if f.low is not None else ""
    rng += f"{' and' if rng else ''} <= {_num(f.high)}" if f.high is not None else ""
    return {
        "int": f"a whole number{rng}",
        "float": f"a number{rng}",
        "bool": "true or false",
        "str": f"a string of at most {MAX_STRING_CHARS} characters without control characters (newline, tab, NUL...)",
        "vec3": f"a list of 3 numbers [x, y, z]{rng and ', each' + rng}",
        "color": "a colour [r, g, b], each in [0, 1] (linear)",
        "strings": "a string or a list of strings",
        "name": f"a non-empty string of at most {MAX_NAME_BYTES} bytes without control characters"
        " (Blender's limit for names)",
        "labels": 'a table of label type -> value, e.g. {class = "mug"}',
        "points": f"a table of name -> [x, y, z] (numbers{rng and ', each' + rng}), e.g. {{ tip = [0, 0, 0.1] }}",
        "pairs": 'a list of [name, name] pairs, e.g. [["tip", "base"]]',
    }[f.kind]


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _in_range(f: Field, x) -> bool:
    if f.low is not None and (x <= f.low if f.strict_low else x < f.low):
        return False
    return f.high is None or x <= f.high


def _convert(f: Field, value) -> tuple[bool, object]:
    k = f.kind
    if k == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and _in_range(f, value)
        return ok, value
    if k == "float":
        ok = _is_number(value) and _in_range(f, value)
        return ok, float(value) if ok else None
    if k == "bool":
        return isinstance(value, bool), value
    if k == "str":
        return _plain_text(value, MAX_STRING_CHARS, allow_empty=True), value
    if k == "name":
        ok = _plain_text(value, MAX_STRING_CHARS) and value.strip() != "" and len(value.encode()) <= MAX_NAME_BYTES
        return ok, value
    if k == "choice":
        if isinstance(value, str):
            for c in f.choices:
                if value == c or (f.fold_case and value.lower() == str(c).lower()):
                    return True, c
        return False, None
    if k == "vec3":
        ok = isinstance(value, list) and len(value) == 3 and all(_is_number(x) and _in_range(f, x) for x in value)
        return ok, [float(x) for x in value] if ok else None
    if k == "color":
        ok = isinstance(value, list) and len(value) in (3, 4) and all(_is_number(x) and 0 <= x <= 1 for x in value)
        return ok, [float(x) for x in value] if ok else None
    if k == "points":
        if not isinstance(value, dict) or not all(is_label_text(n) for n in value):
            return False, None
        vec = Field("point", "vec3", None, "", low=f.low, high=f.high)
        converted = {n: _convert(vec, x) for n, x in value.items()}
        ok = all(c[0] for c in converted.values())
        return ok, {n: c[1] for n, c in converted.items()} if ok else None
    if k == "pairs":
        ok = isinstance(value, list) and all(
            isinstance(p, list) and len(p) == 2 and all(is_label_text(n) for n in p) and p[0] != p[1] for p in value
        )
        return ok, [list(p) for p in value] if ok else None
    if k == "strings":
        if isinstance(value, str):
            return True, [value]
        ok = isinstance(value, list) and all(_plain_text(x, MAX_STRING_CHARS, True) for x in value)
        return ok, list(value) if ok else None
    return False, None


# What a "..." string does with a backslash, for a Windows path written in one.
BACKSLASH_ESCAPES = (
    'in a "..." string a backslash starts an escape (\\t a tab, \\n a newline, \\U a character): '
    "write a Windows path with /, or in TOML in '...', where a backslash is itself"
)


def escape_hint(value) -> str:
    """BACKSLASH_ESCAPES, after '; ', for a string holding what a "..." string's escapes make
    of a Windows path ("D:\\temp\\run" read as D:<tab>emp<CR>un); '' otherwise."""
    return f"; {BACKSLASH_ESCAPES}" if isinstance(value, str) and any(c in value for c in "\t\n\r\b\f") else ""


def _plain_text(value, max_chars: int, allow_empty: bool = False) -> bool:
    """A string of at most `max_chars` characters without control characters (NUL, newline...)."""
    if not isinstance(value, str) or len(value) > max_chars or (not value and not allow_empty):
        return False
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)


def is_glob_text(value) -> bool:
    """A name glob (or path glob) in a list of them: a non-empty string without control characters."""
    return _plain_text(value, MAX_STRING_CHARS)


def is_string_text(value) -> bool:
    """A string value of the file (may be empty): no control characters, at most MAX_STRING_CHARS."""
    return _plain_text(value, MAX_STRING_CHARS, allow_empty=True)


# The names Replicator's label files give the masks' ids 0 (nothing hit) and 1 (a surface
# without a label): a label of that name would be a second colour of the same name in
# semantic_segmentation_labels_N.json, one class a reader cannot tell from no class.
RESERVED_LABELS = ("BACKGROUND", "UNLABELLED")

LABEL_TEXT = (
    f"a non-empty string of at most {MAX_LABEL_CHARS} characters without control characters, "
    f"not {' or '.join(RESERVED_LABELS)} (the names of the masks' ids 0 and 1)"
)


def is_label_text(value) -> bool:
    """A label type or value: non-empty, short, no control characters (they break label
    files), not one of the masks' reserved names."""
    return _plain_text(value, MAX_LABEL_CHARS) and value.strip() == value and value not in RESERVED_LABELS


LABEL_TYPE_TEXT = LABEL_TEXT.replace(
    f"at most {MAX_LABEL_CHARS} characters",
    f"at most {MAX_LABEL_TYPE_BYTES} bytes in UTF-8 (Blender's limit on custom property names: a type is a key "
    "of the 'semantics' property)",
)


def is_label_type(value) -> bool:
    """A label type: a label text Blender can store as a key of the `semantics` property."""
    return is_label_text(value) and len(value.encode("utf-8")) <= MAX_LABEL_TYPE_BYTES


def composed(value):
    """A label type or value composed (Unicode NFC), as a parameter file is typed: 'café'
    spelt decomposed (NFD, as macOS gives file names, pasted from one) is the same class,
    and 'catégorie' the same type, not a second that prints alike. Anything else as it is."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def check_labels(problems: Problems, value, where: str) -> dict[str, list[str]]:
    """Labels of an object: {type: value or [values]} -> {type: [values]}; problems recorded."""
    if not isinstance(value, dict):
        problems.add(where, value, 'a table of label type -> value or list of values, e.g. {class = "mug"}')
        return {}
    out = {}
    for k, x in value.items():
        values = [x] if isinstance(x, str) else x
        if not is_label_type(k):
            problems.add(join(where, str(k)), k, f"a label type: {LABEL_TYPE_TEXT}, no spaces at the ends")
        elif composed(k) in out:
            problems.add(
                join(where, k), k, f"distinct label types ({composed(k)!r} is given twice, in two Unicode forms)"
            )
        elif isinstance(values, list) and values and all(is_label_text(s) for s in values):
            out[composed(k)] = [composed(s) for s in values]
        else:
            expected = f"a label value or non-empty list of values, each {LABEL_TEXT}, no spaces at the ends"
            problems.add(join(where, k), x, expected)
    return out


def registry_options(owner: str, declared: dict, given: dict) -> dict:
    """A registry entry's options (annotator, writer): the given ones, the declared defaults
    for the rest; a given value of a `Field` option is converted and checked against its
    declaration (ValueError naming owner, option, value and what was expected), so the
    declaration is the one place its type, bounds and choices live."""
    unknown = set(given) - set(declared)
    if unknown:
        raise ValueError(f"{owner} has no option(s) {sorted(unknown)}")
    out = {}
    for name, spec in declared.items():
        if name not in given:
            out[name] = option_default(spec)
        elif isinstance(spec, Field):
            ok, value = _convert(spec, given[name])
            if not ok:
                expected = one_of(given[name], spec.choices) if spec.kind == "choice" else _expected(spec)
                raise ValueError(f"{owner}: {name} {given[name]!r}: expected {expected}")
            out[name] = value
        else:
            out[name] = given[name]
    return out


def option_default(spec):
    """Default of a registry option: a Field, or the older (default, type, description) tuple."""
    return copy.deepcopy(spec.default) if isinstance(spec, Field) else spec[0]


def default_text(f: Field) -> str:
    if f.required:
        return "required"
    if f.default_text is not None:
        return f.default_text
    return value_text(f.default)


def value_text(d) -> str:
    """A default value as the reference page writes it: `true`, `"text"`, `[0, 0.5]`, `4`."""
    if d is None:
        return "none"
    if isinstance(d, bool):
        return f"`{str(d).lower()}`"
    if isinstance(d, str):
        return f'`"{d}"`'
    if isinstance(d, dict) and not d:
        return "`{}`"
    if isinstance(d, list):
        return "`[" + ", ".join(_num(x) for x in d) + "]`"
    return f"`{_num(d)}`"


def fields_markdown(fields: tuple[Field, ...]) -> str:
    """The reference table of a section, as docs/parameters.md holds it."""
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for f in fields:
        doc = f.doc.replace("|", "\\|")
        rows.append(f"| `{f.name}` | {f.type_text()} | {default_text(f)} | {doc} |")
    return "\n".join(rows)
