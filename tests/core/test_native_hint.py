"""The missing-native hint names ways that work from this repository, and they exist.

Every test here hides or fakes ``lockstep_native`` (as the Python-only lane has
it), so they run the same in the native lane.
"""

from __future__ import annotations

import ast
import sys
import tomllib
import types
from pathlib import Path

import pytest

from lockstep.core import NativeBackendUnavailable, build_core
from lockstep.core.backend import BUILD_HINT, NATIVE_MODULE, native_status
from testkit import SETUP

REPO = Path(__file__).resolve().parents[2]
BINDINGS = "rust/lockstep-python"


def _refusal(monkeypatch: pytest.MonkeyPatch, module: object) -> str:
    monkeypatch.setitem(sys.modules, NATIVE_MODULE, module)
    with pytest.raises(NativeBackendUnavailable) as caught:
        build_core(SETUP, backend="rust")
    return str(caught.value)


def test_a_missing_extension_names_the_build_from_the_checkout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _refusal(monkeypatch, None)  # None in sys.modules: the import fails
    assert message.startswith(
        "backend 'rust' was requested but lockstep_native cannot be imported ("
    )
    assert message.endswith(
        "; build the native extension from a Lockstep checkout with "
        f"`pip install ./{BINDINGS}` (needs the Rust toolchain, cargo; pip fetches maturin), "
        "or run the suite on it with `nox -s native`; or choose backend='python'"
    )
    assert "pip install lockstep-native" not in message  # no index serves it


def test_an_extension_from_another_release_gets_the_same_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stale = types.ModuleType(NATIVE_MODULE)
    stale.BOUNDARY = "per-item"  # type: ignore[attr-defined]
    stale.__version__ = "0.0.1"  # type: ignore[attr-defined]
    message = _refusal(monkeypatch, stale)
    assert "version 0.0.1) does not speak the 'block' boundary" in message
    assert message.endswith(f"{BUILD_HINT}; or choose backend='python'")


def test_native_status_reports_the_same_cause_without_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, NATIVE_MODULE, None)
    status = native_status()
    assert not status.available and status.version is None
    assert status.problem is not None
    assert status.problem.startswith("lockstep_native cannot be imported (")
    assert BUILD_HINT not in status.problem  # the cause alone; callers add the hint


def test_the_hinted_build_exists_in_the_repository() -> None:
    """`pip install ./rust/lockstep-python` builds the module build_core imports, with
    maturin; `nox -s native` is a session of the noxfile."""
    project = tomllib.loads((REPO / BINDINGS / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["build-system"]["build-backend"] == "maturin"
    assert any(req.startswith("maturin") for req in project["build-system"]["requires"])
    assert project["tool"]["maturin"]["module-name"] == NATIVE_MODULE
    assert (REPO / BINDINGS / "Cargo.toml").is_file()
    noxfile = ast.parse((REPO / "noxfile.py").read_text(encoding="utf-8"))
    sessions = {
        node.name
        for node in noxfile.body
        if isinstance(node, ast.FunctionDef)
        and any("session" in ast.unparse(d) for d in node.decorator_list)
    }
    assert "native" in sessions
