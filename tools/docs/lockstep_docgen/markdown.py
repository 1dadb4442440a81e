"""Small Markdown helpers shared by the generators, so escaping is done one way everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, newlines folded."""
    return " ".join(text.replace("|", "\\|").split())


def code(value: str) -> str:
    """An inline code span that survives backticks inside ``value``."""
    fence = "``" if "`" in value else "`"
    pad = " " if "`" in value else ""
    return f"{fence}{pad}{value}{pad}{fence}".replace("|", "\\|")


def json_code(value: Any) -> str:
    """A JSON value as an inline code span (``"buy"``, ``null``, ``0``)."""
    return code(json.dumps(value, ensure_ascii=False))


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A pipe table; cells must already be escaped with :func:`cell` where needed."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def fenced(text: str, language: str = "") -> list[str]:
    """A fenced code block long enough not to be closed by backticks inside ``text``."""
    longest = 0
    run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *text.rstrip("\n").split("\n"), fence]


def generated_notice(source: str) -> str:
    """The HTML comment that opens every generated page (invisible in the site)."""
    return f"<!-- Generated at build time from {source} by tools/docs/lockstep_docgen; not a file in docs/. -->"
