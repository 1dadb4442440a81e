#!/usr/bin/env python3
"""Regenerate the transition section of docs/reference/order_lifecycle.md.

The order transition table in the contracts package is the single source of
truth. This script renders it (states, guards, transition rows and a mermaid
state diagram) into the region of the reference page delimited by

    <!-- BEGIN GENERATED: transitions -->
    <!-- END GENERATED: transitions -->

Usage:
    python tools/gen_lifecycle_doc.py            # rewrite the region
    python tools/gen_lifecycle_doc.py --check    # exit 1 if the page is stale
    python tools/gen_lifecycle_doc.py --doc PATH [--table PATH]

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TABLE = REPO_ROOT / "contracts/src/lockstep/contracts/data/order_transitions.json"
DEFAULT_DOC = REPO_ROOT / "docs/reference/order_lifecycle.md"
BEGIN = "<!-- BEGIN GENERATED: transitions -->"
END = "<!-- END GENERATED: transitions -->"
TOOL = "python tools/gen_lifecycle_doc.py"


class TableError(Exception):
    """The transition table is malformed or internally inconsistent."""


def load_table(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        table = json.load(fh)
    validate_table(table)
    return table


def validate_table(table: dict[str, Any]) -> None:
    """Reject tables the page could not describe truthfully."""
    for key in ("states", "terminal_states", "triggers", "guards", "transitions"):
        if key not in table:
            raise TableError(f"missing key {key!r}")
    states = table["states"]
    triggers = table["triggers"]
    guards = table["guards"]
    terminal = set(table["terminal_states"])
    problems: list[str] = []
    if len(set(states)) != len(states):
        problems.append("duplicate entries in 'states'")
    if len(set(triggers)) != len(triggers):
        problems.append("duplicate entries in 'triggers'")
    for name in sorted(terminal - set(states)):
        problems.append(f"terminal state {name!r} is not in 'states'")
    seen: dict[tuple[str, str], list[str | None]] = {}
    for i, row in enumerate(table["transitions"]):
        where = f"transitions[{i}]"
        for field, allowed in (("from", states), ("to", states), ("trigger", triggers)):
            if row.get(field) not in allowed:
                problems.append(f"{where}: unknown {field} {row.get(field)!r}")
        guard = row.get("guard")
        if guard is not None and guard not in guards:
            problems.append(f"{where}: unknown guard {guard!r}")
        if row.get("from") in terminal:
            problems.append(f"{where}: terminal state {row['from']!r} has an outgoing row")
        seen.setdefault((row.get("from"), row.get("trigger")), []).append(guard)
    for (src, trig), row_guards in seen.items():
        if len(row_guards) > 1 and (None in row_guards or len(set(row_guards)) != len(row_guards)):
            problems.append(
                f"({src}, {trig}) has several rows that are not told apart by distinct guards"
            )
    if problems:
        raise TableError("; ".join(problems))


def render(table: dict[str, Any], table_rel: str) -> str:
    states: list[str] = table["states"]
    terminal = set(table["terminal_states"])
    rows: list[dict[str, str]] = table["transitions"]
    out: list[str] = []
    add = out.append
    add(
        f"<!-- Generated from {table_rel} (version {table.get('version')}) by {TOOL}. Do not edit by hand. -->"
    )
    add("")
    add("### States")
    add("")
    add("| state | terminal | outgoing rows |")
    add("|---|---|---|")
    for state in states:
        count = sum(1 for r in rows if r["from"] == state)
        add(f"| `{state}` | {'yes' if state in terminal else 'no'} | {count} |")
    add("")
    add("### Guards")
    add("")
    add("| guard | holds when |")
    add("|---|---|")
    for name, meaning in table["guards"].items():
        add(f"| `{name}` | {meaning} |")
    add("")
    add("### Transition table")
    add("")
    add("Rows appear in the order of the contract file. A row whose `from` and `to`")
    add("are equal is a self-loop: it is legal and adds no transition entry to the trace.")
    add("")
    add("| # | from | trigger | guard | to | self-loop |")
    add("|---|---|---|---|---|---|")
    for i, r in enumerate(rows, start=1):
        guard = f"`{r['guard']}`" if r.get("guard") else "—"
        loop = "yes" if r["from"] == r["to"] else ""
        add(f"| {i} | `{r['from']}` | `{r['trigger']}` | {guard} | `{r['to']}` | {loop} |")
    add("")
    add("### State diagram")
    add("")
    add("```mermaid")
    add("stateDiagram-v2")
    if states:
        add(f"    [*] --> {states[0]}")
    for r in rows:
        label = r["trigger"] + (f" [{r['guard']}]" if r.get("guard") else "")
        add(f"    {r['from']} --> {r['to']} : {label}")
    for state in states:
        if state in terminal:
            add(f"    {state} --> [*]")
    add("```")
    return "\n".join(out)


def splice(doc_text: str, generated: str, doc_name: str) -> str:
    begin = doc_text.find(BEGIN)
    end = doc_text.find(END)
    if begin < 0 or end < 0 or end < begin:
        raise TableError(f"{doc_name}: markers {BEGIN!r} and {END!r} not found in order")
    head = doc_text[: begin + len(BEGIN)]
    tail = doc_text[end:]
    return f"{head}\n{generated}\n{tail}"


def display(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    parser.add_argument("--doc", type=Path, default=DEFAULT_DOC, help="markdown page to update")
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE, help="transition table JSON")
    args = parser.parse_args(argv)

    doc_name = display(args.doc)
    try:
        table = load_table(args.table)
        current = args.doc.read_text(encoding="utf-8")
        updated = splice(current, render(table, display(args.table)), doc_name)
    except (OSError, json.JSONDecodeError, TableError) as exc:
        print(f"gen_lifecycle_doc: {exc}", file=sys.stderr)
        return 2

    if args.check:
        if updated != current:
            hint = TOOL if args.doc.resolve() == DEFAULT_DOC else f"{TOOL} --doc {doc_name}"
            print(f"{doc_name} is stale; run: {hint}", file=sys.stderr)
            return 1
        return 0
    if updated != current:
        args.doc.write_text(updated, encoding="utf-8", newline="\n")
        print(f"updated {doc_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
