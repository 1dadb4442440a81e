"""Lockstep contracts: the shapes and golden behaviour every Lockstep core must honour.

This distribution carries no engine code. It pins what an engine must do:

* JSON Schemas (Draft 2020-12) for setup, input items, trace records and state
  (:mod:`lockstep.contracts.schemas`);
* the machine-readable order transition table
  (:mod:`lockstep.contracts.transitions`);
* golden cases, inputs with the exact trace and state they must produce
  (:mod:`lockstep.contracts.golden`), and golden signal cases, bars with the
  exact firings and indicator values they must produce
  (:mod:`lockstep.contracts.signal_cases`).

Keeping them apart from ``lockstep.core`` lets a second backend (and its tests)
depend on the contract without depending on the Python implementation.
"""

from __future__ import annotations

from .golden import (
    GoldenCase,
    GoldenFormatError,
    golden_root,
    list_cases,
    load_case,
    read_json,
    read_jsonl,
)
from .schemas import (
    SCHEMA_BASE_URI,
    SCHEMA_NAMES,
    ContractViolation,
    iter_errors,
    load_schema,
    registry,
    schema_id,
    validate,
    validator,
)
from .signal_cases import (
    SignalCase,
    SignalRefusal,
    list_signal_cases,
    load_signal_case,
    load_signal_refusals,
    signals_root,
)
from .transitions import KNOWN_GUARDS, TransitionRow, TransitionTable, load_transition_table

__version__ = "0.1.0"

__all__ = [
    "KNOWN_GUARDS",
    "SCHEMA_BASE_URI",
    "SCHEMA_NAMES",
    "ContractViolation",
    "GoldenCase",
    "GoldenFormatError",
    "SignalCase",
    "SignalRefusal",
    "TransitionRow",
    "TransitionTable",
    "__version__",
    "golden_root",
    "iter_errors",
    "list_cases",
    "list_signal_cases",
    "load_case",
    "load_schema",
    "load_signal_case",
    "load_signal_refusals",
    "load_transition_table",
    "read_json",
    "read_jsonl",
    "registry",
    "schema_id",
    "signals_root",
    "validate",
    "validator",
]
