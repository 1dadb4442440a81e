"""Lockstep's deterministic core: the Python reference implementation.

Every other backend is measured against this package: the same setup and the
same input must give the same trace records and the same state hash.
"""

from lockstep.core.api import BlockCursor, ItemBlockCursor, LockstepCore
from lockstep.core.backend import BACKENDS, build_core, resolve_backend
from lockstep.core.bars import BarBlock
from lockstep.core.canonical import canonical_json, sha256_hex
from lockstep.core.coresetup import CoreSetup
from lockstep.core.engine import Core, TraceRecord
from lockstep.core.errors import (
    CoreFailed,
    FixedPointError,
    InputError,
    InvariantViolation,
    LockstepError,
    NativeBackendUnavailable,
    SequenceError,
    SetupError,
)
from lockstep.core.fixedpoint import from_fixed, to_fixed

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "BarBlock",
    "BlockCursor",
    "Core",
    "CoreFailed",
    "CoreSetup",
    "FixedPointError",
    "InputError",
    "InvariantViolation",
    "ItemBlockCursor",
    "LockstepCore",
    "LockstepError",
    "NativeBackendUnavailable",
    "SequenceError",
    "SetupError",
    "TraceRecord",
    "__version__",
    "build_core",
    "canonical_json",
    "from_fixed",
    "resolve_backend",
    "sha256_hex",
    "to_fixed",
]
