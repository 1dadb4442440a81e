"""Run the same input through both backends and describe any difference."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lockstep.core import LockstepError, build_core
from lockstep.core.canonical import canonical_json

FAILURE_DIR = Path("build") / "fuzz-failures"


def outcome(core: Any, item: Mapping[str, Any]) -> list[str]:
    """What stepping ``item`` did, as comparable text: record lines or the refusal."""
    try:
        return [canonical_json(r).decode() for r in core.step(item)]
    except LockstepError as err:
        return [f"{type(err).__name__} {getattr(err, 'path', '')}"]


def run_both(setup: Mapping[str, Any], items: Iterable[Mapping[str, Any]]) -> tuple[Any, Any, str]:
    """Step ``items`` one by one on both backends; '' when identical, else the first difference."""
    python = build_core(json.loads(json.dumps(setup)), backend="python")
    rust = build_core(json.loads(json.dumps(setup)), backend="rust")
    for n, item in enumerate(items):
        expected, actual = outcome(python, item), outcome(rust, item)
        if expected != actual:
            return python, rust, f"item {n}: python {expected!r}\n  rust {actual!r}"
    if python.state_hash() != rust.state_hash():
        return python, rust, "final state hashes differ"
    if python.snapshot() != rust.snapshot():
        return python, rust, "final snapshots differ"
    return python, rust, ""


def save_failure(setup: Mapping[str, Any], items: list[dict[str, Any]], why: str) -> Path:
    """Write a diverging stream as a golden-case directory (setup + input) for triage."""
    text = "".join(json.dumps(i, sort_keys=True) + "\n" for i in items)
    name = "fuzz_" + hashlib.sha256(text.encode()).hexdigest()[:12]
    case = FAILURE_DIR / name
    case.mkdir(parents=True, exist_ok=True)
    (case / "setup.json").write_text(json.dumps(setup, indent=2, sort_keys=True) + "\n")
    (case / "input.jsonl").write_text(text)
    (case / "case.md").write_text(
        f"# {name}\n\nFound by the differential fuzzer: the backends disagreed.\n\n```\n{why}\n```\n"
    )
    return case
