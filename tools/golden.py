"""Check or regenerate the bundled golden cases.

Usage (from the repository root, through nox):

    nox -s golden                        # check every case against its expected files
    nox -s golden -- --update            # regenerate expected_trace.jsonl / expected_state.json
    nox -s golden -- --case NAME         # only one case (with or without --update)

The cases are read from the *source tree*, found from this script's location:
``contracts/src/lockstep/contracts/`` plus the path of the bundled cases inside
the package (``lockstep.contracts.golden_root()``, currently ``data/golden/``),
so ``--update`` writes where a reviewer sees the diff even when the package
is installed non-editable. Each case is
run from a fresh core with ``lockstep.core.cases.run_case``; its trace bytes and
state bytes are compared with ``expected_trace.jsonl`` and
``expected_state.json``.

Before running anything, every file of every selected case is validated against
the contracts (``lockstep.contracts.schemas``): ``setup.json`` against
``setup``, each line of ``input.jsonl`` against ``input_item``, each line of
``expected_trace.jsonl`` against ``trace_record`` and ``expected_state.json``
against ``state``. JSON is read strictly (no NaN/Infinity, no duplicate keys)
and every problem is reported as ``file:line: message``. Each case directory
must also carry a ``case.md`` saying what it pins.

Regeneration is always this explicit command, never a test side effect; review
the diff before committing it.

Exit codes: 0 everything matches (or was updated), 1 a case does not match its
expected files, 2 invalid input (bad JSON, schema violation, unknown case,
input the core refuses), 4 the core raised an invariant violation.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_SRC = ROOT / "contracts" / "src" / "lockstep" / "contracts"

SETUP_FILE = "setup.json"
INPUT_FILE = "input.jsonl"
TRACE_FILE = "expected_trace.jsonl"
STATE_FILE = "expected_state.json"
DESCRIPTION_FILE = "case.md"
UPDATE_HINT = "run: nox -s golden -- --update"

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_INVALID = 2
EXIT_INVARIANT = 4


def _import_lockstep() -> tuple[Any, Any, Any, Any]:
    """Import the lockstep packages; fall back to the source tree when they are not installed."""
    try:
        from lockstep.contracts import golden, schemas
        from lockstep.core import cases, errors
    except ImportError:
        for src in (ROOT / "contracts" / "src", ROOT / "packages" / "core" / "src"):
            if str(src) not in sys.path:
                sys.path.insert(0, str(src))
        from lockstep.contracts import golden, schemas
        from lockstep.core import cases, errors
    return golden, schemas, cases, errors


def source_golden_dir(golden: Any) -> Path:
    """The golden directory in the source tree: the package-relative location of ``golden_root()``."""
    package_dir = Path(golden.__file__).resolve().parent
    relative = Path(golden.golden_root()).resolve().relative_to(package_dir)
    return CONTRACTS_SRC / relative


# ---------------------------------------------------------------------------- reading files


class Invalid(Exception):
    """A problem with a case's files: ``file:line: message``."""


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise Invalid(f"{where}: invalid JSON: {err.msg} (column {err.colno})") from None
    except ValueError as err:
        raise Invalid(f"{where}: invalid JSON: {err}") from None


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def read_json_file(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise Invalid(f"{_rel(path)}: not UTF-8: {err}") from None
    return _loads(text, _rel(path))


def read_jsonl_file(path: Path) -> list[tuple[int, Any]]:
    """(1-based line number, value) per non-blank line."""
    out: list[tuple[int, Any]] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        where = f"{_rel(path)}:{number}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise Invalid(f"{where}: not UTF-8: {err}") from None
        if line.strip():
            out.append((number, _loads(line, where)))
    return out


# ---------------------------------------------------------------------------- validation


def schema_problems(schemas: Any, case_dir: Path) -> list[str]:
    """Every schema violation of the case's files, as ``file:line: message``."""
    problems: list[str] = []

    def check(name: str, value: Any, where: str) -> None:
        for violation in schemas.iter_errors(name, value):
            problems.append(f"{where}: {violation}")

    if not (case_dir / DESCRIPTION_FILE).is_file():
        problems.append(f"{_rel(case_dir)}: missing {DESCRIPTION_FILE} (say what the case pins)")
    for required in (SETUP_FILE, INPUT_FILE):
        if not (case_dir / required).is_file():
            problems.append(f"{_rel(case_dir / required)}: missing")
    if problems:
        return problems
    setup_path = case_dir / SETUP_FILE
    try:
        check("setup", read_json_file(setup_path), _rel(setup_path))
    except Invalid as err:
        problems.append(str(err))
    for path, name in (
        (case_dir / INPUT_FILE, "input_item"),
        (case_dir / TRACE_FILE, "trace_record"),
    ):
        if not path.is_file():
            continue
        try:
            for number, value in read_jsonl_file(path):
                check(name, value, f"{_rel(path)}:{number}")
        except Invalid as err:
            problems.append(str(err))
    state_path = case_dir / STATE_FILE
    if state_path.is_file():
        try:
            check("state", read_json_file(state_path), _rel(state_path))
        except Invalid as err:
            problems.append(str(err))
    return problems


def generated_problems(schemas: Any, case_dir: Path, trace: bytes, state: bytes) -> list[str]:
    """Schema violations of freshly generated output (named as the file it would become)."""
    problems: list[str] = []
    for number, line in enumerate(trace.splitlines(), start=1):
        for violation in schemas.iter_errors("trace_record", json.loads(line)):
            problems.append(f"{_rel(case_dir / TRACE_FILE)}:{number} (generated): {violation}")
    for violation in schemas.iter_errors("state", json.loads(state)):
        problems.append(f"{_rel(case_dir / STATE_FILE)} (generated): {violation}")
    return problems


# ---------------------------------------------------------------------------- comparing


def _first_difference(expected: bytes, actual: bytes) -> tuple[int, str | None, str | None] | None:
    """(1-based line, expected line, actual line) of the first difference, None if equal."""
    if expected == actual:
        return None
    old, new = expected.splitlines(), actual.splitlines()
    for number in range(1, max(len(old), len(new)) + 2):
        a = old[number - 1].decode("utf-8", "replace") if number <= len(old) else None
        b = new[number - 1].decode("utf-8", "replace") if number <= len(new) else None
        if a != b:
            return number, a, b
    # Only a trailing newline differs.
    return max(len(old), len(new)), None, None


def _seq_id(line: str | None) -> Any:
    if line is None:
        return None
    try:
        return json.loads(line).get("seq_id")
    except (ValueError, AttributeError):
        return None


def _differing_keys(a: str | None, b: str | None) -> list[str]:
    try:
        old, new = json.loads(a or "null"), json.loads(b or "null")
    except ValueError:
        return []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


def describe_trace_change(expected: bytes | None, actual: bytes) -> str:
    n_new = len(actual.splitlines())
    if expected is None:
        return f"{TRACE_FILE}: missing (the run gives {n_new} records)"
    diff = _first_difference(expected, actual)
    assert diff is not None
    line, old, new = diff
    n_old = len(expected.splitlines())
    if old is None and new is None:
        return f"{TRACE_FILE}: differs only in line endings after line {line}"
    seq = _seq_id(old) if old is not None else _seq_id(new)
    where = f"first difference at line {line} (seq_id {seq})"
    if old is None:
        detail = f"the run has {n_new - n_old} more record(s)"
    elif new is None:
        detail = f"the run has {n_old - n_new} fewer record(s)"
    else:
        keys = _differing_keys(old, new)
        detail = "fields differ: " + ", ".join(keys) if keys else "bytes differ"
    return f"{TRACE_FILE}: {where}: {detail} ({n_old} -> {n_new} records)"


def describe_state_change(expected: bytes | None, actual: bytes) -> str:
    if expected is None:
        return f"{STATE_FILE}: missing"
    diff = _first_difference(expected, actual)
    assert diff is not None
    line, old, new = diff
    return (
        f"{STATE_FILE}: first difference at line {line}: "
        f"expected {old.strip() if old is not None else '<end of file>'!s} | "
        f"got {new.strip() if new is not None else '<end of file>'!s}"
    )


@dataclass
class Outcome:
    name: str
    changes: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


def _read_or_none(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def run_one(case_dir: Path, cases: Any, update: bool, schemas: Any) -> Outcome:
    run = cases.run_case(case_dir)
    trace, state = run.trace_bytes(), run.state_bytes()
    outcome = Outcome(case_dir.name)
    expected_trace = _read_or_none(case_dir / TRACE_FILE)
    expected_state = _read_or_none(case_dir / STATE_FILE)
    if expected_trace != trace:
        outcome.changes.append(describe_trace_change(expected_trace, trace))
    if expected_state != state:
        outcome.changes.append(describe_state_change(expected_state, state))
    if update and outcome.changes:
        problems = generated_problems(schemas, case_dir, trace, state)
        if problems:
            raise Invalid("\n".join(problems))
        if expected_trace != trace:
            (case_dir / TRACE_FILE).write_bytes(trace)
            outcome.written.append(TRACE_FILE)
        if expected_state != state:
            (case_dir / STATE_FILE).write_bytes(state)
            outcome.written.append(STATE_FILE)
    return outcome


SIGNALS_DIR = CONTRACTS_SRC / "data" / "signals"
SIGNAL_EXPECTED = "expected.jsonl"
SIGNAL_REFUSALS = SIGNALS_DIR / "refusals" / "cases.jsonl"


def run_signal_cases(cases: Any, update: bool, only: str | None) -> tuple[int, int, int]:
    """Check (or rewrite) each signal case's expected.jsonl and the refusal list's
    paths and reasons against the Python core: (cases, mismatched, updated)."""
    total = mismatched = updated = 0
    dirs = sorted(p for p in SIGNALS_DIR.iterdir() if (p / "spec.json").is_file())
    for case_dir in dirs:
        if only is not None and case_dir.name != only:
            continue
        total += 1
        actual = cases.run_signal_case(case_dir)
        expected = _read_or_none(case_dir / SIGNAL_EXPECTED)
        if expected == actual:
            print(f"ok       signals/{case_dir.name}")
        elif update:
            (case_dir / SIGNAL_EXPECTED).write_bytes(actual)
            updated += 1
            print(f"updated  signals/{case_dir.name}: wrote {SIGNAL_EXPECTED}")
        else:
            mismatched += 1
            print(f"MISMATCH signals/{case_dir.name}")
            print(f"         {describe_trace_change(expected, actual)}")
    if only is not None and only != "refusals":
        return total, mismatched, updated
    total += 1
    setup = read_json_file(SIGNALS_DIR / "refusals" / SETUP_FILE)
    lines = [line for _, line in read_jsonl_file(SIGNAL_REFUSALS)]
    rewritten, wrong = [], []
    for number, line in enumerate(lines, start=1):
        got = cases.signal_refusal(setup, line["spec"])
        if got is None:
            raise Invalid(f"{_rel(SIGNAL_REFUSALS)}:{number}: the core takes this declaration")
        if got != (line["path"], line["reason"]):
            wrong.append(
                f"line {number}: expected {line['path']}: {line['reason']}, got {got[0]}: {got[1]}"
            )
        rewritten.append({"spec": line["spec"], "path": got[0], "reason": got[1]})
    if not wrong:
        print("ok       signals/refusals")
    elif update:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rewritten)
        SIGNAL_REFUSALS.write_text(text, encoding="utf-8")
        updated += 1
        print("updated  signals/refusals: wrote cases.jsonl")
    else:
        mismatched += 1
        print("MISMATCH signals/refusals")
        for problem in wrong:
            print(f"         {problem}")
    return total, mismatched, updated


def list_case_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / SETUP_FILE).is_file())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="golden", description="Check or regenerate the bundled golden cases."
    )
    parser.add_argument(
        "--update", action="store_true", help="rewrite the expected files from the core"
    )
    parser.add_argument("--case", metavar="NAME", help="only this case (a directory name)")
    parser.add_argument(
        "--root", type=Path, default=None, help=argparse.SUPPRESS
    )  # another golden directory; used by the tests of this script
    args = parser.parse_args(argv)
    golden, schemas, cases, errors = _import_lockstep()
    root: Path = (args.root or source_golden_dir(golden)).resolve()

    case_dirs = list_case_dirs(root)
    signal_names = {p.name for p in SIGNALS_DIR.iterdir() if p.is_dir()}
    with_signals = args.root is None and (args.case is None or args.case in signal_names)
    if args.case is not None:
        case_dirs = [d for d in case_dirs if d.name == args.case]
        if not case_dirs and not with_signals:
            print(f"error: no golden case {args.case!r} under {_rel(root)}", file=sys.stderr)
            return EXIT_INVALID
    if not case_dirs and not with_signals:
        print(f"error: no golden cases under {_rel(root)}", file=sys.stderr)
        return EXIT_INVALID

    problems: list[str] = []
    for case_dir in case_dirs:
        problems += schema_problems(schemas, case_dir)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(problems)} schema problem(s); nothing was run", file=sys.stderr)
        return EXIT_INVALID

    mismatched = 0
    updated = 0
    failed: list[int] = []
    for case_dir in case_dirs:
        try:
            outcome = run_one(case_dir, cases, args.update, schemas)
        except Invalid as err:
            print(
                f"ERROR    {case_dir.name}: generated output violates the schemas", file=sys.stderr
            )
            print(str(err), file=sys.stderr)
            failed.append(EXIT_INVALID)
            continue
        except (errors.InputError, errors.SetupError) as err:
            print(f"ERROR    {case_dir.name}: {err}", file=sys.stderr)
            failed.append(EXIT_INVALID)
            continue
        except errors.InvariantViolation as err:
            print(f"ERROR    {case_dir.name}: invariant violated: {err}", file=sys.stderr)
            failed.append(EXIT_INVARIANT)
            continue
        if not outcome.changes:
            print(f"ok       {outcome.name}")
            continue
        if args.update:
            updated += 1
            print(f"updated  {outcome.name}: wrote {', '.join(outcome.written)}")
        else:
            mismatched += 1
            print(f"MISMATCH {outcome.name}")
        for change in outcome.changes:
            print(f"         {change}")
    total = len(case_dirs)
    if with_signals:
        try:
            signal_total, signal_mismatched, signal_updated = run_signal_cases(
                cases, args.update, args.case
            )
        except (Invalid, errors.InputError, errors.SetupError) as err:
            print(f"ERROR    signals: {err}", file=sys.stderr)
            failed.append(EXIT_INVALID)
        else:
            total += signal_total
            mismatched += signal_mismatched
            updated += signal_updated
    sys.stdout.flush()

    if failed:
        print(f"{len(failed)} of {total} golden case(s) could not be run", file=sys.stderr)
        return EXIT_INVALID if EXIT_INVALID in failed else EXIT_INVARIANT
    if args.update:
        print(f"{total} golden case(s): {updated} updated, {total - updated} unchanged")
        return EXIT_OK
    if mismatched:
        print(f"{mismatched} of {total} golden case(s) do not match their expected files")
        print(UPDATE_HINT)
        return EXIT_MISMATCH
    print(f"{total} golden case(s) match byte for byte")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
