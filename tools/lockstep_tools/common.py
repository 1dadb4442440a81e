"""Pieces every checker shares: repository root, problem reports, YAML front matter.

Kept in one place so that all the governance commands print problems the same
way (file, field, fix) and read front matter with the same YAML rules.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository this package lives in (``tools/lockstep_tools/`` is two levels down)."""

RUN = "PYTHONPATH=tools python -m lockstep_tools"
"""Prefix of every regenerate/check command quoted in messages."""


@dataclass(frozen=True, order=True)
class Problem:
    """One failed rule: where it is, which field, what is wrong and how to fix it."""

    file: str
    field: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}. Fix: {self.fix}"


def report(problems: Iterable[Problem], ok: str) -> int:
    """Print problems to stderr (sorted, deduplicated) and return the exit code."""
    found = sorted(set(problems))
    if not found:
        print(ok)
        return 0
    for problem in found:
        print(problem, file=sys.stderr)
    print(f"{len(found)} problem(s) found", file=sys.stderr)
    return 1


def rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, for messages and glob matching."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


# --------------------------------------------------------------------- YAML


class _StrictishLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no octal/sexagesimal integers.

    YAML 1.1 reads ``no`` as ``False`` and ``0010`` as the octal number 8. In
    a record, ``python_only_preserved: no`` and ``adrs: [0010]`` must stay the
    strings a contributor typed, so only ``true``/``false`` are booleans and
    only plain decimals without leading zeros (or ``0x`` hex) are integers.
    """


_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_StrictishLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictishLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictishLoader.add_implicit_resolver(
    _INT,
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)


class FrontMatterError(ValueError):
    """The file has no well-formed YAML front matter mapping."""


def load_yaml(text: str) -> Any:
    """Parse YAML with the loader described in :class:`_StrictishLoader`."""
    return yaml.load(text, Loader=_StrictishLoader)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter mapping, body) of a Markdown file.

    The file must start with a line ``---`` and the front matter ends at the
    next line that is exactly ``---``.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        raise FrontMatterError("the file must start with a '---' line opening YAML front matter")
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r\n") == "---":
            block = "".join(lines[1:index])
            body = "".join(lines[index + 1 :])
            break
    else:
        raise FrontMatterError("the YAML front matter is not closed by a '---' line")
    try:
        data = load_yaml(block)
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"the front matter is not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise FrontMatterError("the front matter must be a YAML mapping of key: value lines")
    return data, body


# ------------------------------------------------------- generated regions


def generated_markers(name: str) -> tuple[str, str]:
    """The begin/end comment pair delimiting the generated region ``name``."""
    return f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"


def replace_generated(text: str, name: str, content: str) -> str:
    """``text`` with the region ``name`` replaced by ``content`` (markers kept).

    Raises ValueError when the markers are missing or out of order, because
    silently appending a second copy would hide the mistake.
    """
    begin, end = generated_markers(name)
    start = text.find(begin)
    stop = text.find(end)
    if start < 0 or stop < 0 or stop < start:
        raise ValueError(f"missing or misordered markers {begin!r} / {end!r}")
    return text[: start + len(begin)] + "\n" + content.rstrip("\n") + "\n" + text[stop:]


def md_cell(value: str) -> str:
    """Escape a value for a Markdown table cell."""
    return value.replace("|", "\\|").replace("\n", " ")
