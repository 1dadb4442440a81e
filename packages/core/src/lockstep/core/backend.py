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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lockstep.core.api import LockstepCore
from lockstep.core.coresetup import CoreSetup
from lockstep.core.engine import Core
from lockstep.core.errors import NativeBackendUnavailable
from lockstep.core.native import NativeCore

BACKENDS = ("python", "rust")
ENV_VAR = "LOCKSTEP_ENGINE"
NATIVE_MODULE = "lockstep_native"
NATIVE_BOUNDARY = "block"
"""The boundary protocol ``lockstep_native.BOUNDARY`` must name (see lockstep.core.native)."""
BUILD_HINT = (
    "build the native extension from a Lockstep checkout with "
    "`pip install ./rust/lockstep-python` (needs the Rust toolchain, cargo; pip fetches "
    "maturin), or run the suite on it with `nox -s native`"
)
"""How to get the native core. Its sources are in the repository (rust/lockstep-python,
built by maturin) and no index serves it, so the hint names the ways that work from a
checkout."""
INSTALL_HINT = f"{BUILD_HINT}; or choose backend='python'"


@dataclass(frozen=True, slots=True)
class NativeStatus:
    """Whether ``lockstep_native`` can serve ``backend='rust'`` in this interpreter."""

    available: bool
    version: str | None
    """The extension's ``__version__`` (None when it cannot be imported)."""
    location: str | None
    problem: str | None
    """Why ``build_core(..., backend='rust')`` would refuse, without the install hint."""


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


def native_status() -> NativeStatus:
    """Import the extension the way ``build_core`` does and say what came of it.

    Shares :func:`_load_native` with ``build_core``, so ``lockstep --version``
    reports exactly the refusal a ``--engine rust`` run would get.
    """
    try:
        module = _load_native()
    except NativeBackendUnavailable as err:
        return NativeStatus(False, None, None, str(err))
    version = getattr(module, "__version__", None)
    location = getattr(module, "__file__", None)
    return NativeStatus(True, None if version is None else str(version), location, None)


def _build_native(setup: CoreSetup) -> NativeCore:
    try:
        module = _load_native()
    except NativeBackendUnavailable as err:
        raise NativeBackendUnavailable(
            f"backend 'rust' was requested but {err}; {INSTALL_HINT}"
        ) from err.__cause__
    return NativeCore(setup, module)


def _load_native() -> Any:
    """The extension module, or :class:`NativeBackendUnavailable` with the cause alone."""
    try:
        module = importlib.import_module(NATIVE_MODULE)
    except Exception as err:  # ImportError, or a broken build failing at import
        raise NativeBackendUnavailable(f"{NATIVE_MODULE} cannot be imported ({err})") from err
    if getattr(module, "BOUNDARY", None) != NATIVE_BOUNDARY or not hasattr(module, "NativeCore"):
        raise NativeBackendUnavailable(
            f"the installed {NATIVE_MODULE} "
            f"({getattr(module, '__file__', '?')}, version {getattr(module, '__version__', '?')}) "
            f"does not speak the {NATIVE_BOUNDARY!r} boundary this lockstep-core expects; "
            "it is incomplete or from another release"
        )
    return module


if TYPE_CHECKING:

    def _both_backends_offer_the_core_api(
        python: Core, rust: NativeCore
    ) -> tuple[LockstepCore, LockstepCore]:
        """Never called: mypy checks here that each backend satisfies the one Protocol."""
        return python, rust
