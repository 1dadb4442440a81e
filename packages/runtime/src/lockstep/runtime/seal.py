"""The run seal: binds what a trace cannot recompute to the trace's own hashes.

Replay re-derives the trace and every number computed from it, but some of
what a user reads is not in the trace: the strategy's identity and source
hash, its parameters, the data digest, package versions, the engine, start
and finish times, skipped data rows, timing. The backtest seals them when the
run completes: a sha256 per field, and a *run hash* over those digests, the
trace head (``last_hash``) and the final state hash. ``replay verify``
recomputes every digest and names the field that differs.

What a seal can and cannot do: it has no secret key, like the hash chain it
extends. An edit that leaves the seal alone is always caught and named; an
edit followed by recomputing the seal gives a different run hash, which is
caught by comparing it with the one printed when the run finished (or kept
anywhere else). Quote the run hash to pin a run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

SEAL_KEY = "seal"
"""The ``results`` entry that holds the seal."""
SEAL_VERSION = 1
SEALED_RESULTS = ("skipped", "timing")
"""``results`` entries the trace does not determine (they describe the data and the machine)."""
REPLAYED_RESULTS = ("final_state_hash", "last_hash")
"""``results`` entries replay checks directly; the seal also binds them, through the run hash."""
UNSEALED_META = ("status",)
"""``meta`` entries outside the seal: ``status`` is checked on its own (only complete runs verify)."""


def digest(value: object) -> str:
    """sha256 of a JSON value in one spelling (sorted keys, no spaces, floats by ``repr``)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def sealed_fields(meta: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, str]:
    """``{"meta.<key>": digest, "results.<key>": digest}`` for everything the seal covers."""
    fields = {f"meta.{k}": digest(v) for k, v in meta.items() if k not in UNSEALED_META}
    fields.update({f"results.{k}": digest(results[k]) for k in SEALED_RESULTS if k in results})
    return dict(sorted(fields.items()))


def _run_hash(fields: Mapping[str, str], last_hash: object, final_state_hash: object) -> str:
    return digest(
        {
            "version": SEAL_VERSION,
            "fields": dict(fields),
            "last_hash": last_hash,
            "final_state_hash": final_state_hash,
        }
    )


def make_seal(meta: Mapping[str, Any], results: Mapping[str, Any]) -> dict[str, Any]:
    """The seal of a completed run (stored under ``results[SEAL_KEY]``)."""
    fields = sealed_fields(meta, results)
    last, final = results.get("last_hash"), results.get("final_state_hash")
    return {
        "version": SEAL_VERSION,
        "fields": fields,
        "run_hash": _run_hash(fields, last, final),
    }


def run_hash(results: Mapping[str, Any]) -> str | None:
    """The stored run hash, if the run was sealed."""
    seal = results.get(SEAL_KEY)
    value = seal.get("run_hash") if isinstance(seal, Mapping) else None
    return value if isinstance(value, str) else None


def seal_problems(meta: Mapping[str, Any], results: Mapping[str, Any]) -> list[str]:
    """Every way the stored metadata and sealed results differ from their seal, by field."""
    seal = results.get(SEAL_KEY)
    if not isinstance(seal, Mapping):
        return [
            f"results.{SEAL_KEY}: missing: the run's metadata (strategy, parameters, data "
            "digest, versions) and timing are bound to nothing (a store written before runs "
            "were sealed, or the seal was removed)"
        ]
    fields = seal.get("fields")
    if seal.get("version") != SEAL_VERSION or not isinstance(fields, Mapping):
        return [f"results.{SEAL_KEY}: malformed (version {seal.get('version')!r})"]
    problems: list[str] = []
    expected = _run_hash(fields, results.get("last_hash"), results.get("final_state_hash"))
    if seal.get("run_hash") != expected:
        problems.append(
            f"results.{SEAL_KEY}: its run hash does not match the sealed fields, last_hash and "
            "final_state_hash (the seal or those hashes were edited)"
        )
    actual = sealed_fields(meta, results)
    for name in sorted(set(fields) | set(actual)):
        if name not in actual:
            problems.append(f"{name}: removed after the run was sealed")
        elif name not in fields:
            problems.append(f"{name}: added after the run was sealed")
        elif fields[name] != actual[name]:
            problems.append(f"{name}: differs from what the run sealed")
    return problems
