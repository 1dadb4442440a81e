"""Compare a run's stored results with the ones recomputed from its verified trace.

Every ``results`` entry belongs to exactly one class, and verify checks each
by its class: derived from the trace (recomputed by
:class:`~lockstep.runtime.tally.Tally` and compared here, value by value),
replayed (the final state hash and trace head, compared by replay), sealed
(see :mod:`lockstep.runtime.seal`), or the seal itself. An entry of no class
was added after the run and is reported as such: nothing a user can read
escapes the check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lockstep.runtime.seal import REPLAYED_RESULTS, SEAL_KEY, SEALED_RESULTS
from lockstep.runtime.tally import RECOMPUTED_RESULTS

MAX_DIFFERENCES = 20
"""Differences listed at most (the first ones in key order); the rest are counted."""
KNOWN_RESULTS = frozenset((*RECOMPUTED_RESULTS, *REPLAYED_RESULTS, *SEALED_RESULTS, SEAL_KEY))


def result_problems(stored: Mapping[str, Any], recomputed: Mapping[str, Any]) -> list[str]:
    """Each stored entry that differs from its recomputation, by path, with both values."""
    differences: list[str] = []
    for key in RECOMPUTED_RESULTS:
        if key not in stored:
            differences.append(f"results.{key}: missing from the store")
            continue
        if _same(stored[key], recomputed[key]):
            continue  # the common case, decided in C without walking the values
        _diff(f"results.{key}", stored[key], recomputed[key], differences)
    for key in sorted(set(stored) - KNOWN_RESULTS):
        differences.append(f"results.{key}: not written by the run (added later)")
    if len(differences) > MAX_DIFFERENCES:
        extra = len(differences) - MAX_DIFFERENCES
        differences = [*differences[:MAX_DIFFERENCES], f"... and {extra} more differences"]
    return differences


def _same(stored: object, fresh: object) -> bool:
    """Equal as JSON values: the same text in one spelling (bools stay apart from ints)."""
    return json.dumps(stored, sort_keys=True) == json.dumps(fresh, sort_keys=True)


def _diff(path: str, stored: object, fresh: object, out: list[str]) -> None:
    if len(out) > MAX_DIFFERENCES:
        return
    if isinstance(stored, Mapping) and isinstance(fresh, Mapping):
        for key in sorted(set(stored) | set(fresh), key=str):
            where = f"{path}.{key}"
            if key not in fresh:
                out.append(f"{where}: not something the run computes (stored {_show(stored[key])})")
            elif key not in stored:
                out.append(f"{where}: missing (recomputed {_show(fresh[key])})")
            else:
                _diff(where, stored[key], fresh[key], out)
        return
    if _is_list(stored) and _is_list(fresh):
        assert isinstance(stored, Sequence) and isinstance(fresh, Sequence)
        if len(stored) != len(fresh):
            out.append(f"{path}: {len(stored)} entries stored, {len(fresh)} recomputed")
        for index, (a, b) in enumerate(zip(stored, fresh, strict=False)):
            _diff(f"{path}[{index}]", a, b, out)
        return
    if type(stored) is not type(fresh) or stored != fresh:
        out.append(f"{path}: stored {_show(stored)}, recomputed {_show(fresh)}")


def _is_list(value: object) -> bool:
    return isinstance(value, list | tuple)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
