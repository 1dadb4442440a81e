"""Just enough Rust lexing to find ``unsafe`` tokens and item definitions.

A plain text search would count ``unsafe`` inside a comment or a string (and
``// no unsafe here`` would make a record with ``unsafe_rust: none`` fail), so
comments, string literals and char literals are blanked out before searching.
Line structure is preserved, so line numbers stay correct.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_UNSAFE_RE = re.compile(r"\bunsafe\b")
_RAW_STRING_RE = re.compile(r'b?r(#*)"')
_ITEM_KINDS = "fn|struct|enum|trait|type|const|static|mod|union|macro_rules!"


def strip_comments_and_literals(source: str) -> str:
    """``source`` with comments and string/char literals replaced by spaces (newlines kept)."""
    out: list[str] = []
    i = 0
    n = len(source)

    def blank(text: str) -> str:
        return "".join("\n" if c == "\n" else " " for c in text)

    while i < n:
        char = source[i]
        nxt = source[i + 1] if i + 1 < n else ""
        if char == "/" and nxt == "/":
            end = source.find("\n", i)
            end = n if end < 0 else end
            out.append(blank(source[i:end]))
            i = end
        elif char == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if source.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif source.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(source[i:j]))
            i = j
        elif (raw := _RAW_STRING_RE.match(source, i)) and (
            i == 0 or not (source[i - 1].isalnum() or source[i - 1] == "_")
        ):
            closing = '"' + raw.group(1)
            end = source.find(closing, raw.end())
            end = n if end < 0 else end + len(closing)
            out.append(blank(source[i:end]))
            i = end
        elif char == '"':
            j = i + 1
            while j < n and source[j] != '"':
                j += 2 if source[j] == "\\" else 1
            out.append(blank(source[i : j + 1]))
            i = j + 1
        elif char == "'":
            # A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if nxt == "\\":
                end = source.find("'", i + 2)
                end = n if end < 0 else end + 1
                out.append(blank(source[i:end]))
                i = end
            elif i + 2 < n and source[i + 2] == "'":
                out.append("   ")
                i += 3
            else:
                out.append(char)
                i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class UnsafeUse:
    """One ``unsafe`` token: where it is and whether a ``// SAFETY:`` comment justifies it."""

    path: Path
    line: int
    justified: bool


def _has_safety_comment(lines: list[str], index: int) -> bool:
    """True when the line holds, or the comment block just above it holds, ``SAFETY:``."""
    if "// SAFETY:" in lines[index]:
        return True
    j = index - 1
    while j >= 0:
        text = lines[j].strip()
        if text.startswith("//"):
            if "SAFETY:" in text:
                return True
        elif not text.startswith("#["):
            return False
        j -= 1
    return False


def unsafe_uses(path: Path) -> list[UnsafeUse]:
    """Every ``unsafe`` token in code (not comments or strings) of one Rust file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    code_lines = strip_comments_and_literals(text).splitlines()
    raw_lines = text.splitlines()
    found: list[UnsafeUse] = []
    for index, line in enumerate(code_lines):
        if _UNSAFE_RE.search(line):
            found.append(UnsafeUse(path, index + 1, _has_safety_comment(raw_lines, index)))
    return found


def defines(paths: Iterable[Path], item: str) -> bool:
    """True when one of the Rust files defines an item named ``item`` (fn, struct, ...)."""
    pattern = re.compile(
        rf"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:(?:const|async|unsafe|extern\s+\"[^\"]*\")\s+)*"
        rf"(?:{_ITEM_KINDS})\s+{re.escape(item)}\b",
        re.MULTILINE,
    )
    for path in paths:
        if pattern.search(
            strip_comments_and_literals(path.read_text(encoding="utf-8", errors="replace"))
        ):
            return True
    return False
