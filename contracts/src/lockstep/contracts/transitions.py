"""The order transition table, loaded from its JSON contract.

``data/order_transitions.json`` is the single source of truth for the order
lifecycle: every backend applies exactly its rows and is tested against it.
Loading it here validates it against ``order_transitions.schema.json`` and
checks the cross-references JSON Schema cannot express, so a broken table
fails loudly at import time of the first user instead of producing a subtly
different state machine.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

from .schemas import ContractViolation, validate

__all__ = ["KNOWN_GUARDS", "TransitionRow", "TransitionTable", "load_transition_table"]

KNOWN_GUARDS: Final[frozenset[str]] = frozenset({"unfilled", "partially_filled"})
"""Guards :meth:`TransitionTable.lookup` knows how to evaluate.

A table naming any other guard is refused: silently ignoring a guard would
make two rows match and the outcome depend on row order.
"""

_SCHEMA: Final = "order_transitions"


@dataclass(frozen=True, slots=True)
class TransitionRow:
    """One row: from ``from_state`` on ``trigger`` go to ``to_state`` when ``guard`` holds (or always)."""

    from_state: str
    trigger: str
    to_state: str
    guard: str | None = None

    def applies(self, filled: bool) -> bool:
        """Whether the guard holds for an order whose filled quantity is above 0 iff ``filled``."""
        if self.guard is None:
            return True
        if self.guard == "unfilled":
            return not filled
        if self.guard == "partially_filled":
            return filled
        raise ValueError(f"unknown guard {self.guard!r}")


@dataclass(frozen=True)
class TransitionTable:
    """The order state machine as data.

    Attributes:
        states: every state, in the table's order.
        terminal_states: the absorbing states (no outgoing rows).
        triggers: every trigger, in the table's order.
        rows: the transitions, in the table's order.
        guards: guard name -> description, as ``(name, text)`` pairs (kept as
            a tuple so the table stays hashable and immutable).
    """

    states: tuple[str, ...]
    terminal_states: frozenset[str]
    triggers: tuple[str, ...]
    rows: tuple[TransitionRow, ...]
    guards: tuple[tuple[str, str], ...] = ()
    _index: Mapping[tuple[str, str], tuple[TransitionRow, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], list[TransitionRow]] = {}
        for row in self.rows:
            index.setdefault((row.from_state, row.trigger), []).append(row)
        object.__setattr__(self, "_index", {key: tuple(rows) for key, rows in index.items()})

    def is_terminal(self, state: str) -> bool:
        """Whether ``state`` absorbs every further report."""
        self._check_state(state)
        return state in self.terminal_states

    def rows_from(self, state: str) -> tuple[TransitionRow, ...]:
        """The rows leaving ``state``, in table order."""
        self._check_state(state)
        return tuple(row for row in self.rows if row.from_state == state)

    def lookup(self, state: str, trigger: str, filled: bool) -> str | None:
        """The next state for ``trigger`` in ``state``, or ``None`` when no row applies.

        ``filled`` tells whether the order's filled quantity is above 0; it
        decides between the ``unfilled`` and ``partially_filled`` guarded rows.
        ``None`` is how the core recognises an unexpected report or an illegal
        request; an undeclared state or trigger is a programming error and
        raises :class:`ValueError`.
        """
        self._check_state(state)
        if trigger not in self.triggers:
            raise ValueError(f"undeclared trigger {trigger!r}")
        for row in self._index.get((state, trigger), ()):
            if row.applies(filled):
                return row.to_state
        return None

    def _check_state(self, state: str) -> None:
        if state not in self.states:
            raise ValueError(f"undeclared state {state!r}")


def _problems(data: Mapping[str, Any]) -> list[str]:
    """Cross-reference errors of a schema-valid table; empty when consistent."""
    states = set(data["states"])
    triggers = set(data["triggers"])
    terminal = set(data["terminal_states"])
    guards = set(data["guards"])
    problems = [f"terminal state {s!r} is not declared" for s in sorted(terminal - states)]
    problems += [f"guard {g!r} is not supported" for g in sorted(guards - KNOWN_GUARDS)]
    seen: dict[tuple[str, str], list[str | None]] = {}
    for i, row in enumerate(data["transitions"]):
        where = f"transitions[{i}]"
        for key, declared in (("from", states), ("to", states), ("trigger", triggers)):
            if row[key] not in declared:
                problems.append(f"{where}.{key}: {row[key]!r} is not declared")
        guard = row.get("guard")
        if guard is not None and guard not in guards:
            problems.append(f"{where}.guard: {guard!r} is not declared")
        if row["from"] in terminal:
            problems.append(f"{where}: terminal state {row['from']!r} has an outgoing row")
        seen.setdefault((row["from"], row["trigger"]), []).append(guard)
    for (src, trig), row_guards in sorted(seen.items()):
        if row_guards == [None]:
            continue
        if (
            sorted(g for g in row_guards if g is not None) != sorted(KNOWN_GUARDS)
            or None in row_guards
        ):
            problems.append(
                f"rows for ({src!r}, {trig!r}) must be one unguarded row or exactly one "
                f"'unfilled' and one 'partially_filled' row, found guards {row_guards!r}"
            )
    return problems


def _build(data: Mapping[str, Any]) -> TransitionTable:
    validate(_SCHEMA, data)
    problems = _problems(data)
    if problems:
        raise ContractViolation(_SCHEMA, "$", "; ".join(problems), keyword="consistency")
    return TransitionTable(
        states=tuple(data["states"]),
        terminal_states=frozenset(data["terminal_states"]),
        triggers=tuple(data["triggers"]),
        rows=tuple(
            TransitionRow(row["from"], row["trigger"], row["to"], row.get("guard"))
            for row in data["transitions"]
        ),
        guards=tuple(sorted(data["guards"].items())),
    )


@functools.cache
def _bundled() -> TransitionTable:
    text = (resources.files("lockstep.contracts") / "data" / "order_transitions.json").read_text(
        encoding="utf-8"
    )
    return _build(json.loads(text))


def load_transition_table(path: str | Path | None = None) -> TransitionTable:
    """Load and check a transition table; the bundled contract (cached) when ``path`` is ``None``.

    Raises :class:`ContractViolation` when the table does not match its schema
    or is internally inconsistent.
    """
    if path is None:
        return _bundled()
    return _build(json.loads(Path(path).read_text(encoding="utf-8")))
