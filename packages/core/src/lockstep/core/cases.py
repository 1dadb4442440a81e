"""Running a golden-case directory: the shared step behind the CLI, the golden tool and tests.

A case directory holds ``setup.json`` and ``input.jsonl`` (one input item per
line) and, once recorded, ``expected_trace.jsonl`` and ``expected_state.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lockstep.core.backend import build_core
from lockstep.core.canonical import canonical_json_unchecked
from lockstep.core.errors import InputError, SetupError


@dataclass(frozen=True, slots=True)
class CaseRun:
    records: list[dict[str, Any]]
    snapshot: dict[str, Any]
    state_hash: str

    def trace_bytes(self) -> bytes:
        """The trace file: one canonical JSON record per line."""
        return b"".join(canonical_json_unchecked(r) + b"\n" for r in self.records)

    def state_bytes(self) -> bytes:
        return (json.dumps(self.snapshot, indent=2, sort_keys=True) + "\n").encode()


def read_items(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed JSON) for each non-blank line; bad JSON names file and line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(
                    "$", f"invalid JSON ({err.msg})", source=str(path), line=number
                ) from None


def load_setup(case_dir: Path) -> Any:
    path = case_dir / "setup.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupError("", f"{path} does not exist") from None
    except json.JSONDecodeError as err:
        raise SetupError("", f"{path}:{err.lineno}: invalid JSON ({err.msg})") from None


def run_case(case_dir: Path, backend: str | None = None) -> CaseRun:
    """Run a case from a fresh core; errors carry the input file and line."""
    core = build_core(load_setup(case_dir), backend=backend)
    records: list[dict[str, Any]] = []
    input_path = case_dir / "input.jsonl"
    for line, item in read_items(input_path):
        try:
            records.extend(core.step(item))
        except InputError as err:
            raise err.located(str(input_path), line) from None
    return CaseRun(records=records, snapshot=core.snapshot(), state_hash=core.state_hash())


def run_signal_case(case_dir: Path, backend: str | None = None) -> bytes:
    """A signal case's ``expected.jsonl`` as this core computes it: for each input
    item, the firings taken after it and each in-scope instrument's values."""
    core = build_core(load_setup(case_dir), backend=backend)
    spec = json.loads((case_dir / "spec.json").read_text(encoding="utf-8"))
    core.declare_signals(spec)
    instruments = spec.get("instruments") or sorted(core.setup.instruments)
    lines: list[bytes] = []
    input_path = case_dir / "input.jsonl"
    for line, item in read_items(input_path):
        try:
            core.step(item)
        except InputError as err:
            raise err.located(str(input_path), line) from None
        taken = {
            "firings": core.take_signals(),
            "values": {inst: core.signal_values(inst) for inst in instruments},
        }
        lines.append(canonical_json_unchecked(taken) + b"\n")
    return b"".join(lines)


def signal_refusal(setup: Any, spec: Any, backend: str | None = None) -> tuple[str, str] | None:
    """The (path, reason) this core refuses ``spec`` with, or ``None`` if it takes it."""
    core = build_core(setup, backend=backend)
    try:
        core.declare_signals(spec)
    except SetupError as err:
        return err.path, err.reason
    return None
