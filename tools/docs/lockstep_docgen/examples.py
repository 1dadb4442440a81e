"""Example instances for the schema pages, taken from real contract files.

An example written by hand for a documentation page goes stale the day a
field changes. These come from the golden cases (the files every backend is
tested against), the transition table and the native change records, and
each one is validated against its schema while the site builds: a page can
only show an example that the contract accepts today.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator

from lockstep.contracts import golden, signal_cases
from lockstep.contracts import schemas as contract_schemas
from lockstep_docgen.schemas import SCHEMA_DIR_REL

PREFERRED_CASE: Final = "happy_path_market_fill"
"""Looked at first: the simplest case, so the examples read like a small story."""


@dataclass(frozen=True)
class Example:
    """An instance and a sentence saying where it was found."""

    where: str
    value: Any


def _cases() -> list[golden.GoldenCase]:
    names = golden.list_cases()
    ordered = [n for n in names if n == PREFERRED_CASE] + [n for n in names if n != PREFERRED_CASE]
    return [golden.load_case(name) for name in ordered]


def _first(candidates: Iterable[Example]) -> Example | None:
    return next(iter(candidates), None)


def _inputs(cases: list[golden.GoldenCase], kind: str | None = None) -> Iterator[Example]:
    for case in cases:
        for line, item in enumerate(case.inputs, start=1):
            if kind is None or item.get("kind") == kind:
                yield Example(f"golden case `{case.name}`, `{golden.INPUT_FILE}` line {line}", item)


def _intents(cases: list[golden.GoldenCase]) -> Iterator[Example]:
    for batch in _inputs(cases, "intent_batch"):
        for position, intent in enumerate(batch.value.get("intents", []), start=1):
            yield Example(f"{batch.where}, intent {position}", intent)


def _trace_records(cases: list[golden.GoldenCase]) -> Iterator[Example]:
    """Records with a fill first: they show the most fields with content."""
    records = [
        Example(f"golden case `{case.name}`, `{golden.TRACE_FILE}` line {line}", record)
        for case in cases
        for line, record in enumerate(case.expected_trace or [], start=1)
    ]
    yield from (r for r in records if r.value.get("fills"))
    yield from records


def _native_records(root: Path) -> Iterator[Example]:
    from lockstep_tools.common import split_front_matter  # needs tools/ on sys.path and pyyaml

    for path in sorted((root / "changes" / "native").glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        meta, _ = split_front_matter(path.read_text(encoding="utf-8"))
        yield Example(f"the front matter of `changes/native/{path.name}`", meta)


def find_examples(root: Path, names: Iterable[str]) -> dict[str, Example | None]:
    """One validated example per schema name (``None`` where no file holds an instance).

    Raises ValueError when a found example does not validate: that is a broken
    contract file, which the golden and governance lanes would also report.
    """
    cases = _cases()
    table_path = root / "contracts/src/lockstep/contracts/data/order_transitions.json"
    finders: dict[str, Callable[[], Example | None]] = {
        "setup": lambda: _first(
            Example(f"golden case `{c.name}`, `{golden.SETUP_FILE}`", c.setup) for c in cases
        ),
        "input_item": lambda: _first(_inputs(cases)),
        "envelope": lambda: _first(_inputs(cases, "event")),
        "intent_batch": lambda: _first(_inputs(cases, "intent_batch")),
        "intent": lambda: _first(_intents(cases)),
        "event_group": lambda: _first(_inputs(cases, "event_group")),
        "trace_record": lambda: _first(_trace_records(cases)),
        "state": lambda: _first(
            Example(f"golden case `{c.name}`, `{golden.STATE_FILE}`", c.expected_state)
            for c in cases
            if c.expected_state is not None
        ),
        "order_transitions": lambda: Example(
            "the contract file `contracts/src/lockstep/contracts/data/order_transitions.json`",
            golden.read_json(table_path),
        ),
        "native_record": lambda: _first(_native_records(root)),
        "signals": lambda: _first(
            Example(f"signal case `{name}`, `{signal_cases.SPEC_FILE}`", case.spec)
            for name in signal_cases.list_signal_cases()
            for case in [signal_cases.load_signal_case(name)]
        ),
    }
    found: dict[str, Example | None] = {}
    for name in names:
        finder = finders.get(name)
        example = finder() if finder else None
        if example is not None:
            problems = validation_errors(name, example.value, root / SCHEMA_DIR_REL)
            if problems:
                raise ValueError(
                    f"example for schema {name!r} ({example.where}) does not validate: {problems[0]}"
                )
        found[name] = example
    return found


def validation_errors(name: str, value: Any, schema_dir: Path) -> list[str]:
    """Schema violations of ``value``, through the contracts' own validator where it knows the name.

    Other schemas (``native_record``) are read from ``schema_dir`` and validated
    with the contracts' registry, so their cross-file references resolve the same way.
    """
    if name in contract_schemas.SCHEMA_NAMES:
        return [str(v) for v in contract_schemas.iter_errors(name, value)]
    schema_path = schema_dir / f"{name}.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, registry=contract_schemas.registry())
    return [error.message for error in validator.iter_errors(value)]
