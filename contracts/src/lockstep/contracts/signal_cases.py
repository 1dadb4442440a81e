"""Golden signal cases: bars, a declaration, and the firings and values they must give.

``data/signals/<case>/`` holds ``setup.json``, ``spec.json`` (a signal
declaration), ``input.jsonl`` (input items, as in the golden cases) and
``expected.jsonl``: for each input item, once it is committed, the firings
``take_signals()`` hands out and every in-scope instrument's
``signal_values()``. ``data/signals/refusals/`` holds ``setup.json`` and
``cases.jsonl``: declarations with the path and reason of their refusal.
The rules are in ``docs/reference/signals.md``; both cores are held to these
files byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from .golden import read_json, read_jsonl

SPEC_FILE: Final = "spec.json"
EXPECTED_FILE: Final = "expected.jsonl"
REFUSALS: Final = "refusals"
REFUSAL_FILE: Final = "cases.jsonl"


@dataclass(frozen=True)
class SignalCase:
    name: str
    path: Path
    setup: dict[str, Any]
    spec: dict[str, Any]
    inputs: list[dict[str, Any]]
    expected: list[dict[str, Any]] | None
    """``None`` until ``nox -s golden -- --update`` first writes it."""


@dataclass(frozen=True)
class SignalRefusal:
    spec: Any
    path: str
    reason: str


def signals_root() -> Path:
    """The directory of the bundled signal cases (inside the installed package)."""
    root = resources.files("lockstep.contracts") / "data" / "signals"
    if isinstance(root, Path):
        return root
    return Path(__file__).resolve().parent / "data" / "signals"


def list_signal_cases() -> list[str]:
    """Names of the bundled signal cases (not the refusals), sorted."""
    root = signals_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / SPEC_FILE).is_file())


def load_signal_case(name_or_path: str | Path) -> SignalCase:
    path = Path(name_or_path)
    if isinstance(name_or_path, str) and "/" not in name_or_path:
        path = signals_root() / name_or_path
    expected = path / EXPECTED_FILE
    return SignalCase(
        name=path.name,
        path=path,
        setup=read_json(path / "setup.json"),
        spec=read_json(path / SPEC_FILE),
        inputs=read_jsonl(path / "input.jsonl"),
        expected=read_jsonl(expected) if expected.is_file() else None,
    )


def load_signal_refusals() -> tuple[dict[str, Any], list[SignalRefusal]]:
    """The refusal cases' setup and each declaration with its expected refusal."""
    root = signals_root() / REFUSALS
    lines = read_jsonl(root / REFUSAL_FILE)
    return read_json(root / "setup.json"), [
        SignalRefusal(line["spec"], line["path"], line["reason"]) for line in lines
    ]
