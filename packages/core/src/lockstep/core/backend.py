"""Backend selection: the Python reference core, or the optional native one.

There is deliberately no automatic fallback. A caller that asks for ``rust``
either gets the native core or a :class:`NativeBackendUnavailable` that says
why; numbers from a different engine than the one requested would make parity
claims meaningless.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from lockstep.core.coresetup import CoreSetup
from lockstep.core.engine import Core
from lockstep.core.errors import NativeBackendUnavailable
from lockstep.core.native import NativeCore

BACKENDS = ("python", "rust")
ENV_VAR = "LOCKSTEP_ENGINE"
NATIVE_MODULE = "lockstep_native"
NATIVE_BOUNDARY = "block"
"""The boundary protocol ``lockstep_native.BOUNDARY`` must name (see lockstep.core.native)."""
INSTALL_HINT = (
    "install the native extension with `pip install lockstep-native` or build it from "
    "rust/lockstep-python with `maturin develop`; or choose backend='python'"
)


def resolve_backend(backend: str | None = None) -> str:
    """The backend to use: the argument, else ``$LOCKSTEP_ENGINE``, else ``python``."""
    chosen = backend if backend is not None else os.environ.get(ENV_VAR) or "python"
    if chosen not in BACKENDS:
        raise ValueError(f"unknown engine backend {chosen!r}; expected one of {list(BACKENDS)}")
    return chosen


def build_core(
    setup: CoreSetup | Mapping[str, Any], backend: str | None = None
) -> Core | NativeCore:
    """Build a core for ``setup`` on the chosen backend.

    ``backend=None`` reads ``LOCKSTEP_ENGINE`` and defaults to ``python``.
    """
    parsed = setup if isinstance(setup, CoreSetup) else CoreSetup.from_dict(setup)
    chosen = resolve_backend(backend)
    if chosen == "python":
        return Core(parsed)
    return _build_native(parsed)


def _build_native(setup: CoreSetup) -> NativeCore:
    try:
        module = importlib.import_module(NATIVE_MODULE)
    except Exception as err:  # ImportError, or a broken build failing at import
        raise NativeBackendUnavailable(
            f"backend 'rust' was requested but {NATIVE_MODULE} cannot be imported ({err}); {INSTALL_HINT}"
        ) from err
    if getattr(module, "BOUNDARY", None) != NATIVE_BOUNDARY or not hasattr(module, "NativeCore"):
        raise NativeBackendUnavailable(
            f"backend 'rust' was requested but the installed {NATIVE_MODULE} "
            f"({getattr(module, '__file__', '?')}, version {getattr(module, '__version__', '?')}) "
            f"does not speak the {NATIVE_BOUNDARY!r} boundary this lockstep-core expects; "
            f"it is incomplete or from another release; {INSTALL_HINT}"
        )
    return NativeCore(setup, module)
