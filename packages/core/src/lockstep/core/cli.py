"""``python -m lockstep.core``: run golden cases from the command line.

Exit codes: 0 success, 1 a case does not match its expected files, 2 invalid
input or setup (the message names file, line and field), 3 the requested
backend is unavailable, 4 an invariant was violated.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lockstep.core.backend import BACKENDS
from lockstep.core.cases import run_case
from lockstep.core.errors import (
    InputError,
    InvariantViolation,
    NativeBackendUnavailable,
    SetupError,
)

EXIT_MISMATCH = 1
EXIT_INVALID = 2
EXIT_BACKEND = 3
EXIT_INVARIANT = 4


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lockstep.core", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    trace = sub.add_parser("trace", help="run one case directory and write its trace")
    trace.add_argument("case_dir", type=Path)
    trace.add_argument(
        "--backend", choices=BACKENDS, default=None, help="default: $LOCKSTEP_ENGINE or python"
    )
    trace.add_argument("--out", type=Path, help="write the trace here instead of standard output")
    demo = sub.add_parser(
        "demo", help="run every bundled golden case and compare with its expected files"
    )
    demo.add_argument("--backend", choices=BACKENDS, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "trace":
            return _trace(args.case_dir, args.backend, args.out)
        return _demo(args.backend)
    except (InputError, SetupError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except NativeBackendUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BACKEND
    except InvariantViolation as err:
        print(f"error: invariant violated: {err}", file=sys.stderr)
        return EXIT_INVARIANT


def _trace(case_dir: Path, backend: str | None, out: Path | None) -> int:
    run = run_case(case_dir, backend)
    if out is None:
        sys.stdout.buffer.write(run.trace_bytes())
        sys.stdout.flush()
    else:
        out.write_bytes(run.trace_bytes())
    print(run.state_hash)
    return 0


def _demo(backend: str | None) -> int:
    from lockstep.contracts.golden import golden_root, list_cases

    root = golden_root()
    failures = 0
    names = list_cases()
    width = max((len(n) for n in names), default=4)
    print(f"{'case':<{width}}  records  state hash        result")
    for name in names:
        case_dir = root / name
        run = run_case(case_dir, backend)
        expected_trace = case_dir / "expected_trace.jsonl"
        ok = expected_trace.exists() and expected_trace.read_bytes() == run.trace_bytes()
        failures += not ok
        print(
            f"{name:<{width}}  {len(run.records):>7}  {run.state_hash[:16]}  {'ok' if ok else 'MISMATCH'}"
        )
    print(f"{len(names) - failures}/{len(names)} golden cases reproduced byte for byte")
    return EXIT_MISMATCH if failures else 0
