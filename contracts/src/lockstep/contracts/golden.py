"""Find and read golden cases: fixed inputs with the trace and state every backend must reproduce.

A golden case is a directory holding ``setup.json``, ``input.jsonl``,
``expected_trace.jsonl`` and ``expected_state.json`` (see ``data/golden/README.md``).
The bundled cases live in this package's ``data/golden/`` directory so an installed
``lockstep-contracts`` carries them to any backend's test suite.

JSON is read strictly, because the files are contracts: ``NaN``/``Infinity``
and duplicate object keys are errors (another JSON parser could read them
differently), and every error names the file and the 1-based line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

__all__ = [
    "GoldenCase",
    "GoldenFormatError",
    "golden_root",
    "list_cases",
    "load_case",
    "read_json",
    "read_jsonl",
]

SETUP_FILE: Final = "setup.json"
INPUT_FILE: Final = "input.jsonl"
TRACE_FILE: Final = "expected_trace.jsonl"
STATE_FILE: Final = "expected_state.json"


class GoldenFormatError(ValueError):
    """A golden file is not well-formed JSON of the expected shape.

    Attributes:
        path: the offending file.
        line: 1-based line number, or ``None`` when the problem is not on a line.
    """

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class GoldenCase:
    """One golden case, read but not validated (see :meth:`schema_violations`).

    ``expected_trace`` and ``expected_state`` are ``None`` when the files are
    missing, which is how a new case looks before ``nox -s golden -- --update``
    first writes them.
    """

    name: str
    path: Path
    setup: dict[str, Any]
    inputs: list[dict[str, Any]]
    expected_trace: list[dict[str, Any]] | None
    expected_state: dict[str, Any] | None

    def schema_violations(self) -> list[str]:
        """Every schema violation in the case's files, as ``file:line: message`` strings."""
        from .schemas import iter_errors  # local import: reading cases must not need the validators

        found: list[str] = []
        found += [f"{SETUP_FILE}: {v}" for v in iter_errors("setup", self.setup)]
        for number, item in enumerate(self.inputs, start=1):
            found += [f"{INPUT_FILE}:{number}: {v}" for v in iter_errors("input_item", item)]
        for number, record in enumerate(self.expected_trace or [], start=1):
            found += [f"{TRACE_FILE}:{number}: {v}" for v in iter_errors("trace_record", record)]
        if self.expected_state is not None:
            found += [f"{STATE_FILE}: {v}" for v in iter_errors("state", self.expected_state)]
        return found


def golden_root() -> Path:
    """The directory of the bundled golden cases (inside the installed package)."""
    root = resources.files("lockstep.contracts") / "data" / "golden"
    if isinstance(root, Path):
        return root
    return Path(__file__).resolve().parent / "data" / "golden"


def list_cases() -> list[str]:
    """Names of the bundled golden cases: sub-directories holding a ``setup.json``, sorted."""
    root = golden_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / SETUP_FILE).is_file())


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _loads(text: str) -> Any:
    return json.loads(
        text, parse_constant=_reject_constant, object_pairs_hook=_object_without_duplicates
    )


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a file holding one JSON object, strictly; errors are :class:`GoldenFormatError`."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GoldenFormatError(path, None, f"not UTF-8: {exc}") from exc
    try:
        value = _loads(text)
    except json.JSONDecodeError as exc:
        raise GoldenFormatError(
            path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})"
        ) from exc
    except ValueError as exc:
        raise GoldenFormatError(path, None, f"invalid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise GoldenFormatError(path, None, f"expected a JSON object, got {type(value).__name__}")
    return value


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file of objects, strictly.

    Blank lines are skipped (line numbers still count them); anything else
    that is not one JSON object raises :class:`GoldenFormatError` naming the
    file and the 1-based line.
    """
    path = Path(path)
    items: list[dict[str, Any]] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GoldenFormatError(path, number, f"not UTF-8: {exc}") from exc
        if not line.strip():
            continue
        try:
            value = _loads(line)
        except json.JSONDecodeError as exc:
            raise GoldenFormatError(
                path, number, f"invalid JSON: {exc.msg} (column {exc.colno})"
            ) from exc
        except ValueError as exc:
            raise GoldenFormatError(path, number, f"invalid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise GoldenFormatError(
                path, number, f"expected a JSON object, got {type(value).__name__}"
            )
        items.append(value)
    return items


def _case_dir(name_or_path: str | Path) -> Path:
    """A bare name of a bundled case wins; anything else is a directory path."""
    if isinstance(name_or_path, str) and "/" not in name_or_path and "\\" not in name_or_path:
        bundled = golden_root() / name_or_path
        if (bundled / SETUP_FILE).is_file():
            return bundled
    return Path(name_or_path)


def load_case(name_or_path: str | Path) -> GoldenCase:
    """Read a golden case by bundled name or by directory path.

    Raises :class:`FileNotFoundError` when the directory, ``setup.json`` or
    ``input.jsonl`` is missing and :class:`GoldenFormatError` for malformed
    files. The expected files are optional (``None`` when absent).
    """
    path = _case_dir(name_or_path)
    if not path.is_dir():
        raise FileNotFoundError(f"golden case {str(name_or_path)!r}: no directory {path}")
    for required in (SETUP_FILE, INPUT_FILE):
        if not (path / required).is_file():
            raise FileNotFoundError(f"golden case {path}: missing {required}")
    trace_path = path / TRACE_FILE
    state_path = path / STATE_FILE
    return GoldenCase(
        name=path.name,
        path=path,
        setup=read_json(path / SETUP_FILE),
        inputs=read_jsonl(path / INPUT_FILE),
        expected_trace=read_jsonl(trace_path) if trace_path.is_file() else None,
        expected_state=read_json(state_path) if state_path.is_file() else None,
    )
