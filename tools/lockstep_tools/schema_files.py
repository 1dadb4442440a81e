"""Validate the repository's contract data files against their JSON Schemas.

``tools/golden.py`` validates golden cases too, but it needs the installed
core because it also replays them. A pre-commit hook should be fast and need
only ``jsonschema``, so this module checks just the shapes:

* every golden case under ``contracts/src/lockstep/contracts/data/golden/``
  (setup, inputs, expected trace and state) with the contracts' own
  validators (imported from ``contracts/src`` when the package is not installed);
* every native change record's front matter against ``native_record.schema.json``.

Usage::

    PYTHONPATH=tools python -m lockstep_tools.schema_files check
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lockstep_tools import native_records
from lockstep_tools.common import REPO_ROOT, Problem, rel, report

GOLDEN_REL = "contracts/src/lockstep/contracts/data/golden"


def _contracts_golden(root: Path) -> Any:
    """``lockstep.contracts.golden``, from the source tree if it is not installed."""
    src = str(root / "contracts" / "src")
    try:
        return importlib.import_module("lockstep.contracts.golden")
    except ModuleNotFoundError:
        sys.path.insert(0, src)
        importlib.invalidate_caches()
        return importlib.import_module("lockstep.contracts.golden")


def golden_problems(root: Path) -> tuple[int, list[Problem]]:
    """Schema violations in every golden case of the source tree."""
    golden = _contracts_golden(root)
    base = root / GOLDEN_REL
    problems: list[Problem] = []
    cases = (
        sorted(p for p in base.iterdir() if p.is_dir() and (p / "setup.json").is_file())
        if base.is_dir()
        else []
    )
    for case_dir in cases:
        name = rel(case_dir, root)
        try:
            case = golden.load_case(case_dir)
        except ValueError as exc:
            problems.append(Problem(name, "json", str(exc), "fix the file so it is strict JSON"))
            continue
        for violation in case.schema_violations():
            file, _, message = str(violation).partition(": ")
            problems.append(
                Problem(
                    f"{name}/{file}",
                    "schema",
                    message,
                    "fix the data, or regenerate the expected files with `nox -s golden -- --update`",
                )
            )
    return len(cases), problems


def record_schema_problems(root: Path) -> tuple[int, list[Problem]]:
    """Schema violations in native change records (cross-field rules are the checker's job)."""
    records, problems = native_records.load_records(root)
    for record in records:
        if record.readable:
            problems += native_records.schema_problems(record, root)
    return len(records), problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lockstep_tools.schema_files", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate golden cases and native records against their schemas")
    args = parser.parse_args(argv)
    cases, golden = golden_problems(args.root)
    records, recs = record_schema_problems(args.root)
    return report(
        golden + recs,
        f"schema_files: {cases} golden case(s) and {records} record(s) match their schemas",
    )


if __name__ == "__main__":
    raise SystemExit(main())
