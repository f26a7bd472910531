"""Reading the markdown pages in docs/ from tests."""

from __future__ import annotations

import re


def section(text: str, title: str) -> str:
    """The part of a markdown page under the heading that shows `title` in backticks, up to
    the next heading of its level or above (a `#` line inside a code block is no heading)."""
    body, level, fenced = None, 0, False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = line.startswith("#") and not fenced
        depth = len(line) - len(line.lstrip("#")) if heading else 0
        if body is not None:
            if heading and depth <= level:
                break
            body.append(line)
        elif heading and f"`{title}`" in line:
            body, level = [], depth
    if body is None:
        raise AssertionError(f"the page has no heading with `{title}`")
    return "\n".join(body)


def anchors(text: str) -> set[str]:
    """The link targets GitHub makes of the page's headings: lower case, punctuation but `-`
    and `_` dropped, spaces as `-`; a repeated one gets -1, -2, ..."""
    out: set[str] = set()
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("#"):
            continue
        slug = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        name, n = slug, 0
        while name in out:
            n += 1
            name = f"{slug}-{n}"
        out.add(name)
    return out
