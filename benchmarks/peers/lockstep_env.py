"""What the Lockstep engines share: whether a backend can run here, and the versions to report."""

from __future__ import annotations

import importlib.util


def unavailable(backend: str) -> str | None:
    """None when Lockstep can run on ``backend`` here, else the reason (as ``build_core`` gives it)."""
    if importlib.util.find_spec("lockstep.runtime") is None:
        return "lockstep-runtime is not installed"
    if backend == "rust":
        from lockstep.core.backend import native_status

        status = native_status()
        if not status.available:
            return f"the native core is not usable: {status.problem} (nox -s native builds it)"
    return None


def versions(backend: str) -> dict[str, str]:
    from lockstep.core.backend import native_status
    from lockstep.runtime.versions import distribution_versions

    out = {name: v for name, v in distribution_versions().items() if v is not None}
    if backend == "rust" and (native := native_status().version) is not None:
        out["lockstep-native"] = native
    return out
