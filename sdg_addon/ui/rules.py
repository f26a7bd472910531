"""Label values from names ("mug_003" -> "mug"): the pure rule behind SDG_OT_label_by_rule.

No bpy here, so the rule is easy to test and to reuse.

A rule is applied to a name in three steps:
1. strip the first matching literal prefix (e.g. "SM_", "GEO_");
2. strip a suffix: a regular expression matched at the end of the name, by default
   Blender's duplicate numbers and trailing counters ("_003", ".001", "-2", "_003.001");
3. match `pattern` (a regular expression, searched): a name that does not match gets no
   label. The value is the group named `value` if the pattern has one, else its first
   group, else the whole stripped name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_SUFFIX = r"([._ -]?\d+)+"


@dataclass(frozen=True)
class NameRule:
    pattern: str = ""
    prefixes: tuple[str, ...] = ()
    suffix: str = DEFAULT_SUFFIX
    lowercase: bool = True

    @classmethod
    def from_text(cls, pattern: str, prefixes: str, suffix: str, lowercase: bool) -> NameRule:
        """Prefixes as typed in the UI: comma-separated literals ("SM_, GEO_")."""
        return cls(pattern, tuple(p.strip() for p in prefixes.split(",") if p.strip()), suffix, lowercase)

    def check(self) -> str | None:
        """None if the rule is usable, else what is wrong with it (for the UI)."""
        for what, text in (("pattern", self.pattern), ("suffix", self.suffix)):
            if text:
                try:
                    re.compile(text)
                except re.error as e:
                    return f"{what} {text!r} is not a valid regular expression: {e}"
        return None

    def value(self, name: str) -> str | None:
        """The label value for `name`, or None when the rule does not apply to it."""
        text = name
        for prefix in self.prefixes:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        if self.suffix:
            text = re.sub(f"(?:{self.suffix})$", "", text)
        if self.pattern:
            match = re.search(self.pattern, text)
            if match is None:
                return None
            if "value" in match.re.groupindex:
                text = match.group("value") or ""
            elif match.re.groups:
                text = match.group(1) or ""
        text = text.strip(" _.-")
        if self.lowercase:
            text = text.lower()
        return text or None


__all__ = ["DEFAULT_SUFFIX", "NameRule"]
