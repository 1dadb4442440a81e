"""Lint the architecture decision records in ``adr/`` and generate their index.

ADRs are cited by native change records and by the ownership matrix, so a
broken ADR (wrong number, dangling supersede link, unclear status) would make
those citations meaningless. This module checks every rule written in
``adr/README.md`` and owns the generated index table in that README.

Usage (from the repository root)::

    PYTHONPATH=tools python -m lockstep_tools.adr_lint check
    PYTHONPATH=tools python -m lockstep_tools.adr_lint index [--write]

``check`` exits 1 on any problem, including an index that no longer matches
the ADRs (the message quotes the command that regenerates it). ``index``
prints the table, or rewrites it in place with ``--write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lockstep_tools.common import (
    REPO_ROOT,
    RUN,
    FrontMatterError,
    Problem,
    md_cell,
    rel,
    replace_generated,
    report,
    split_front_matter,
)

STATUSES: Final = ("proposed", "accepted", "rejected", "deprecated", "superseded")
REQUIRED_KEYS: Final = ("number", "title", "status", "date", "supersedes", "superseded_by")
SECTIONS: Final = ("Context", "Decision", "Consequences", "Alternatives considered")
EXEMPT: Final = frozenset({"README.md", "template.md"})
FILENAME_RE: Final = re.compile(r"^(\d{4})-[a-z0-9]+(?:-[a-z0-9]+)*\.md$")
ADR_REF_RE: Final = re.compile(r"^\d{4}$")
INDEX_REGION: Final = "adr-index"
INDEX_COMMAND: Final = f"{RUN}.adr_lint index --write"


@dataclass
class Adr:
    """One parsed ADR file; fields are ``None``/empty where the file is broken."""

    path: Path
    number: int | None = None
    title: str = ""
    status: str = ""
    date: str = ""
    supersedes: list[int] = field(default_factory=list)
    superseded_by: list[int] = field(default_factory=list)
    body: str = ""
    parsed: bool = False

    @property
    def ref(self) -> str:
        """The four-digit form used in citations (``"0002"``)."""
        return f"{self.number:04d}" if self.number is not None else "????"


def adr_dir(root: Path) -> Path:
    return root / "adr"


def adr_files(root: Path) -> list[Path]:
    """Every ADR file in ``adr/``: all Markdown files except the README and the template."""
    directory = adr_dir(root)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.md") if p.name not in EXEMPT)


def _number_list(value: Any) -> list[int] | None:
    """Accept ``[4, 7]`` or ``["0004"]``; ``None`` when the value is not such a list."""
    if not isinstance(value, list):
        return None
    out: list[int] = []
    for item in value:
        if isinstance(item, bool):
            return None
        if isinstance(item, int):
            out.append(item)
        elif isinstance(item, str) and ADR_REF_RE.match(item):
            out.append(int(item))
        else:
            return None
    return out


def parse_adr(path: Path, root: Path) -> tuple[Adr, list[Problem]]:
    """Parse one ADR file and report the rules that concern it alone."""
    name = rel(path, root)
    adr = Adr(path=path)
    problems: list[Problem] = []

    def bad(fld: str, message: str, fix: str) -> None:
        problems.append(Problem(name, fld, message, fix))

    match = FILENAME_RE.match(path.name)
    if not match:
        bad(
            "file name",
            "ADR files are named NNNN-slug.md (four digits, lowercase words joined by '-')",
            "rename the file, e.g. adr/0011-short-title.md",
        )
    try:
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    except FrontMatterError as exc:
        bad("front matter", str(exc), "start the file with the front matter of adr/template.md")
        return adr, problems
    adr.body = body
    adr.parsed = True

    for key in REQUIRED_KEYS:
        if key not in meta:
            bad(key, "required front matter key is missing", f"add '{key}:' as in adr/template.md")
    for key in sorted(set(meta) - set(REQUIRED_KEYS)):
        bad(key, "unknown front matter key", f"remove it; allowed keys: {', '.join(REQUIRED_KEYS)}")

    number = meta.get("number")
    if "number" in meta:
        if isinstance(number, int) and not isinstance(number, bool):
            adr.number = number
            if match and int(match.group(1)) != number:
                bad(
                    "number",
                    f"front matter says {number} but the file name says {match.group(1)}",
                    "make the number equal to the file name's NNNN (or rename the file)",
                )
        else:
            bad("number", f"must be an integer, got {number!r}", "write e.g. 'number: 11'")
    elif match:
        adr.number = int(match.group(1))

    title = meta.get("title")
    if "title" in meta:
        if isinstance(title, str) and title.strip():
            adr.title = title.strip()
        else:
            bad("title", "must be a non-empty one-line string", "write a short title")

    status = meta.get("status")
    if "status" in meta:
        if status in STATUSES:
            adr.status = str(status)
        else:
            bad("status", f"{status!r} is not a valid status", f"use one of {', '.join(STATUSES)}")

    date = meta.get("date")
    if isinstance(date, dt.datetime):
        adr.date = date.date().isoformat()
    elif isinstance(date, dt.date):
        adr.date = date.isoformat()
    elif "date" in meta:
        bad("date", f"{date!r} is not an ISO date", "write the date as YYYY-MM-DD")

    for key in ("supersedes", "superseded_by"):
        if key not in meta:
            continue
        numbers = _number_list(meta[key])
        if numbers is None:
            bad(
                key,
                f"must be a list of ADR numbers, got {meta[key]!r}",
                f"write '{key}: []' or e.g. '{key}: [4]'",
            )
        else:
            setattr(adr, key, numbers)

    if adr.status == "superseded" and not adr.superseded_by:
        bad(
            "superseded_by",
            "status is 'superseded' but superseded_by is empty",
            "list the ADR that replaces this one, or change the status",
        )
    if adr.superseded_by and adr.status and adr.status != "superseded":
        bad(
            "status",
            f"superseded_by lists {adr.superseded_by} but the status is {adr.status!r}",
            "set 'status: superseded', or empty superseded_by",
        )
    if adr.number is not None and adr.number in adr.supersedes + adr.superseded_by:
        bad("supersedes", "an ADR cannot supersede itself", "remove its own number from the lists")

    problems += _body_problems(name, adr)
    return adr, problems


def _body_problems(name: str, adr: Adr) -> list[Problem]:
    """The H1 heading and the four required sections, in order."""
    problems: list[Problem] = []
    lines = adr.body.splitlines()
    headings = [line for line in lines if line.startswith("# ")]
    if adr.number is not None and adr.title:
        expected = f"# ADR {adr.number:04d}: {adr.title}"
        if not headings:
            problems.append(
                Problem(name, "heading", "no '# ADR NNNN: title' heading", f"add '{expected}'")
            )
        elif headings[0].rstrip() != expected:
            problems.append(
                Problem(
                    name,
                    "heading",
                    f"heading {headings[0].rstrip()!r} does not match the front matter",
                    f"use '{expected}'",
                )
            )
    sections = [line[3:].strip() for line in lines if line.startswith("## ")]
    positions: list[int] = []
    for section in SECTIONS:
        if section not in sections:
            problems.append(
                Problem(
                    name,
                    "sections",
                    f"required section '## {section}' is missing",
                    "add it (see adr/template.md)",
                )
            )
        else:
            positions.append(sections.index(section))
    if positions != sorted(positions):
        problems.append(
            Problem(
                name,
                "sections",
                "required sections are out of order",
                "order them " + ", ".join(SECTIONS),
            )
        )
    return problems


def load_adrs(root: Path = REPO_ROOT) -> tuple[list[Adr], list[Problem]]:
    """Parse every ADR; return them with the per-file problems."""
    adrs: list[Adr] = []
    problems: list[Problem] = []
    for path in adr_files(root):
        adr, found = parse_adr(path, root)
        adrs.append(adr)
        problems += found
    return adrs, problems


def _cross_problems(adrs: Sequence[Adr], root: Path) -> list[Problem]:
    """Rules between files: unique numbers, supersede links resolving both ways."""
    problems: list[Problem] = []
    by_number: dict[int, Adr] = {}
    for adr in adrs:
        if adr.number is None:
            continue
        if adr.number in by_number:
            first = rel(by_number[adr.number].path, root)
            problems.append(
                Problem(
                    rel(adr.path, root),
                    "number",
                    f"number {adr.number:04d} is already used by {first}",
                    "give this ADR the next free number; numbers are never reused",
                )
            )
        else:
            by_number[adr.number] = adr
    for adr in adrs:
        name = rel(adr.path, root)
        for target in adr.supersedes:
            other = by_number.get(target)
            if other is None:
                problems.append(
                    Problem(
                        name,
                        "supersedes",
                        f"ADR {target:04d} does not exist",
                        "fix the number or remove it",
                    )
                )
            elif adr.number not in other.superseded_by:
                problems.append(
                    Problem(
                        rel(other.path, root),
                        "superseded_by",
                        f"ADR {adr.ref} says it supersedes this one, but superseded_by does not list {adr.number}",
                        f"add {adr.number} to superseded_by and set 'status: superseded'",
                    )
                )
        for target in adr.superseded_by:
            other = by_number.get(target)
            if other is None:
                problems.append(
                    Problem(
                        name,
                        "superseded_by",
                        f"ADR {target:04d} does not exist",
                        "fix the number or remove it",
                    )
                )
                continue
            if adr.number not in other.supersedes:
                problems.append(
                    Problem(
                        rel(other.path, root),
                        "supersedes",
                        f"ADR {adr.ref} says this one supersedes it, but supersedes does not list {adr.number}",
                        f"add {adr.number} to supersedes",
                    )
                )
            if other.status and other.status != "accepted":
                problems.append(
                    Problem(
                        name,
                        "superseded_by",
                        f"ADR {other.ref} replaces this one but its status is {other.status!r}",
                        "only an accepted ADR can supersede another; accept it first or revert this status",
                    )
                )
    return problems


# ------------------------------------------------------------------ index


def render_index(adrs: Iterable[Adr]) -> str:
    """The Markdown table written between the ``adr-index`` markers in adr/README.md."""
    rows = ["| number | title | status | date |", "|---|---|---|---|"]
    for adr in sorted(
        (a for a in adrs if a.number is not None), key=lambda a: (a.number, a.path.name)
    ):
        rows.append(
            f"| [{adr.ref}]({adr.path.name}) | {md_cell(adr.title)} | {adr.status} | {adr.date} |"
        )
    return "\n".join(rows) + "\n"


def _readme(root: Path) -> Path:
    return adr_dir(root) / "README.md"


def index_problems(adrs: Sequence[Adr], root: Path) -> list[Problem]:
    """Report a missing or stale generated index in adr/README.md."""
    readme = _readme(root)
    name = rel(readme, root)
    if not readme.is_file():
        return [
            Problem(
                name, INDEX_REGION, "adr/README.md is missing", "restore it with the index markers"
            )
        ]
    text = readme.read_text(encoding="utf-8")
    try:
        wanted = replace_generated(text, INDEX_REGION, render_index(adrs))
    except ValueError as exc:
        return [
            Problem(
                name, INDEX_REGION, str(exc), "restore the BEGIN/END GENERATED: adr-index markers"
            )
        ]
    if wanted != text:
        return [
            Problem(
                name,
                INDEX_REGION,
                "the generated ADR index is stale",
                f"run `{INDEX_COMMAND}` and commit the result",
            )
        ]
    return []


def write_index(root: Path = REPO_ROOT) -> bool:
    """Rewrite the index region; return True when the file changed."""
    adrs, _ = load_adrs(root)
    readme = _readme(root)
    text = readme.read_text(encoding="utf-8")
    new = replace_generated(text, INDEX_REGION, render_index(adrs))
    if new != text:
        readme.write_text(new, encoding="utf-8")
        return True
    return False


# ---------------------------------------------------------- for other tools


def lint(root: Path = REPO_ROOT) -> list[Problem]:
    """Every ADR problem in the repository at ``root``, index staleness included."""
    adrs, problems = load_adrs(root)
    return problems + _cross_problems(adrs, root) + index_problems(adrs, root)


def adr_statuses(root: Path = REPO_ROOT) -> dict[str, str]:
    """Map of four-digit ADR number to status, for every parseable ADR."""
    adrs, _ = load_adrs(root)
    return {adr.ref: adr.status for adr in adrs if adr.number is not None}


def accepted_adrs(root: Path = REPO_ROOT) -> frozenset[str]:
    """Four-digit numbers of the ADRs whose status is ``accepted``.

    Records and the ownership matrix may cite only these: a proposed ADR is
    not binding yet and a rejected or superseded one no longer is.
    """
    return frozenset(
        number for number, status in adr_statuses(root).items() if status == "accepted"
    )


def citation_problems(
    file: str, fld: str, cited: Iterable[object], statuses: Mapping[str, str]
) -> list[Problem]:
    """Problems with ADR citations: malformed, unknown, or not accepted."""
    problems: list[Problem] = []
    for ref in cited:
        if not (isinstance(ref, str) and ADR_REF_RE.match(ref)):
            problems.append(
                Problem(
                    file,
                    fld,
                    f"{ref!r} is not an ADR number",
                    'write it as a quoted four-digit string, e.g. "0002"',
                )
            )
        elif ref not in statuses:
            problems.append(
                Problem(
                    file,
                    fld,
                    f"ADR {ref} does not exist in adr/",
                    "cite an existing ADR or write the ADR first",
                )
            )
        elif statuses[ref] != "accepted":
            problems.append(
                Problem(
                    file,
                    fld,
                    f"ADR {ref} is {statuses[ref]}, not accepted",
                    "cite an accepted ADR (only accepted ADRs are binding), or get this one accepted",
                )
            )
    return problems


# -------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lockstep_tools.adr_lint", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="lint every ADR and verify the generated index")
    index = sub.add_parser("index", help="print the ADR index, or rewrite it with --write")
    index.add_argument("--write", action="store_true", help="rewrite the region in adr/README.md")
    args = parser.parse_args(argv)
    root: Path = args.root

    if args.command == "index":
        if args.write:
            changed = write_index(root)
            print(
                f"{rel(_readme(root), root)}: index {'rewritten' if changed else 'already up to date'}"
            )
        else:
            adrs, _ = load_adrs(root)
            print(render_index(adrs), end="")
        return 0
    count = len(adr_files(root))
    return report(lint(root), f"adr_lint: {count} ADRs checked, index up to date")


if __name__ == "__main__":
    raise SystemExit(main())
