"""Reading the markdown pages in docs/ from tests."""

from __future__ import annotations


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
