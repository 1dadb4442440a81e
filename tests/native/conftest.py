"""The native lane's parity suite: it needs ``lockstep_native`` and fails without it.

This directory is collected only by `nox -s native` (the Python-only lane
passes ``--ignore=tests/native``). A missing or broken extension here is an
error, never a skip: a parity suite that quietly does not run proves nothing.
"""

from __future__ import annotations

try:
    import lockstep_native  # noqa: F401
except ImportError as err:  # pragma: no cover - the failure is the point
    raise RuntimeError(
        f"the parity suite needs the native extension and cannot import it ({err}); "
        "build and install it with `nox -s native` (maturin, rust/lockstep-python)"
    ) from err
