"""Label values from names ("mug_003" -> "mug"): the one name-rule engine, used by the
Labels panel (SDG_OT_label_by_rule) and by parameter files (`[[label_rules]]`).

No bpy here, so the rule is easy to test and to reuse; labels.blender applies rules to
Blender objects and collections for both front ends.

A rule is applied to a name in three steps:
1. strip the first matching literal prefix (e.g. "SM_", "GEO_");
2. strip a suffix: a regular expression matched at the end of the name, by default
   Blender's duplicate numbers and trailing counters ("_003", ".001", "-2", "_003.001");
3. match `pattern` (a regular expression, searched): a name that does not match gets no
   label. The value is the group named `value` if the pattern has one, else its first
   group, else the whole stripped name.
The name a rule reads is the part after the last "/": an asset's imported part is named
"ASSET/SOURCE_NAME", and the rule sees the name it had in its source file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DEFAULT_SUFFIX = r"([._ -]?\d+)+"
SCOPES = ("meshes", "objects", "collections")


@dataclass(frozen=True)
class NameRule:
    pattern: str = ""
    prefixes: tuple[str, ...] = ()
    suffix: str = DEFAULT_SUFFIX
    lowercase: bool = True
    type: str = "class"
    scope: str = "meshes"
    names: tuple[str, ...] = ("*",)
    overwrite: bool = False

    def __post_init__(self):
        # The type composed, as every label type is (config.fields.composed): 'catégorie'
        # typed decomposed sets the type the parameter file's [labels] declares composed.
        if isinstance(self.type, str):
            object.__setattr__(self, "type", composed(self.type))

    @classmethod
    def from_text(cls, pattern: str, prefixes: str, suffix: str, lowercase: bool, **more) -> NameRule:
        """Prefixes as typed in the UI: comma-separated literals ("SM_, GEO_")."""
        split = tuple(p.strip() for p in prefixes.split(",") if p.strip())
        return cls(pattern, split, suffix, lowercase, **more)

    @classmethod
    def from_section(cls, section) -> NameRule:
        """From a `[[label_rules]]` entry read with config.schema.LABEL_RULE_FIELDS."""
        return cls(
            section.pattern,
            tuple(section.prefixes),
            section.suffix,
            section.lowercase,
            section.type,
            section.scope,
            tuple(section.names),
            section.overwrite,
        )

    def to_table(self) -> dict:
        """The `[[label_rules]]` entry that reproduces this rule."""
        return {
            "type": self.type,
            "pattern": self.pattern,
            "prefixes": list(self.prefixes),
            "suffix": self.suffix,
            "lowercase": self.lowercase,
            "scope": self.scope,
            "names": list(self.names),
            "overwrite": self.overwrite,
        }

    def check(self) -> str | None:
        """None if the rule is usable, else what is wrong with it (for the UI and config)."""
        for what, text in (("pattern", self.pattern), ("suffix", self.suffix)):
            if text:
                try:
                    re.compile(text)
                except (re.error, OverflowError, RecursionError) as e:  # a{99999999999}: OverflowError
                    return f"{what} {text!r} is not a valid regular expression: {e}"
        if not self.type.strip() or any(c in self.type for c in ":,") or self.type.strip() != self.type:
            return f"label type {self.type!r} must be non-empty, without ':' or ',' and without spaces at either end"
        from ..config.fields import LABEL_TYPE_TEXT, is_label_type

        if not is_label_type(self.type):  # it is stored as a key of the 'semantics' property
            return f"label type {self.type!r} is not {LABEL_TYPE_TEXT}"
        return None

    def value(self, name: str) -> str | None:
        """The label value for `name`, or None when the rule does not apply to it. Name,
        prefixes and pattern are read composed (NFC): 'café' typed in a parameter file matches
        an object whose name is spelt decomposed (NFD, as macOS's file names give it)."""
        text = composed(name.rsplit("/", 1)[-1])
        for prefix in self.prefixes:
            if text.startswith(composed(prefix)):
                text = text[len(composed(prefix)) :]
                break
        if self.suffix:
            text = re.sub(f"(?:{self.suffix})$", "", text)
        if self.pattern:
            match = re.search(composed(self.pattern), text)
            if match is None:
                return None
            if "value" in match.re.groupindex:
                text = match.group("value") or ""
            elif match.re.groups:
                text = match.group(1) or ""
        text = text.strip(" _.-")
        if self.lowercase:
            text = text.lower()
        return composed(text.replace(",", "_")) or None  # as label values are (config.fields.composed)


def composed(text: str) -> str:
    """`text` in Unicode's composed form (NFC), in which rules compare names."""
    return unicodedata.normalize("NFC", text)


class RuleValueError(ValueError):
    """A rule made a value no label may have of a name (rule_value_problem's sentence)."""

    def __init__(self, value: str, sentence: str):
        self.value = value
        super().__init__(sentence)


def rule_value_problem(rule: NameRule, idblock) -> str | None:
    """Why the value `rule` makes of an object's or collection's name is no label value (a
    name BACKGROUND_1 read without Lowercase: 'BACKGROUND', the masks' id 0), or None: every
    run refuses such a label, so the rule does not write it."""
    from ..config.fields import LABEL_TEXT, is_label_text

    value = rule.value(idblock.name)
    if value is None or is_label_text(value):
        return None
    kind = "collection" if getattr(idblock, "id_type", "") == "COLLECTION" else "object"
    return (
        f"the rule makes {value!r} of {kind} {idblock.name!r}, and a label value is {LABEL_TEXT}: leave that name "
        "out of the rule or lowercase its values"
    )


def apply_rule(rule: NameRule, labels: dict[str, list[str]], name: str) -> tuple[str, str | None]:
    """What `rule` does to an ID named `name` whose own labels are `labels` (changed in place).

    Returns ("labelled", value), ("kept", None) when a label of the type exists and
    overwrite is off, or ("unmatched", None).
    """
    value = rule.value(name)
    if value is None:
        return "unmatched", None
    if rule.type in labels and not rule.overwrite:
        return "kept", None
    labels[rule.type] = [value]
    return "labelled", value


__all__ = ["DEFAULT_SUFFIX", "NameRule", "RuleValueError", "SCOPES", "apply_rule", "rule_value_problem"]
