"""Backend selection (no silent fallback) and setup validation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from lockstep.core import Core, NativeBackendUnavailable, SetupError, build_core, resolve_backend
from testkit import SETUP


def test_python_is_the_default_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCKSTEP_ENGINE", raising=False)
    core = build_core(SETUP)
    assert isinstance(core, Core)
    assert core.backend == "python"


def test_asking_for_rust_without_the_native_module_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "lockstep_native", None)  # import fails
    with pytest.raises(
        NativeBackendUnavailable, match=r"lockstep_native cannot be imported.*maturin"
    ):
        build_core(SETUP, backend="rust")


def test_the_environment_variable_selects_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "lockstep_native", None)
    monkeypatch.setenv("LOCKSTEP_ENGINE", "rust")
    assert resolve_backend() == "rust"
    with pytest.raises(NativeBackendUnavailable):
        build_core(SETUP)
    assert isinstance(build_core(SETUP, backend="python"), Core)  # an explicit argument wins


def test_unknown_backend_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine backend 'java'"):
        build_core(SETUP, backend="java")


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    setup = copy.deepcopy(SETUP)
    node: Any = setup
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return setup


@pytest.mark.parametrize(
    ("path", "value", "where", "reason"),
    [
        (
            ["instruments", 0, "price_precision"],
            5,
            "$.instruments[0]",
            "notionals would not be exact",
        ),
        (["instruments", 1, "venue"], "NOPE", "$.instruments[1].venue", "not declared"),
        (["venues", 1, "name"], "SIM", "$.venues[1].name", "declared twice"),
        (["venues", 0, "fee_ppm"], 1.5, "$.venues[0].fee_ppm", "float"),
        (["source_priority"], ["control", "timer"], "$.source_priority", "exactly once"),
        (["starting_cash"], {"JPY": 1}, "$.starting_cash.JPY", "not declared"),
        (["invariant_mode"], "lenient", "$.invariant_mode", "expected one of"),
        (
            ["source_priority"],
            [1, "control", "timer", "market_data"],
            "$.source_priority",
            "exactly once",
        ),
        (
            ["instruments", 0, "quote_currency"],
            ["USD"],
            "$.instruments[0].quote_currency",
            "not declared",
        ),
    ],
)
def test_bad_setups_name_the_field(path: list[Any], value: Any, where: str, reason: str) -> None:
    with pytest.raises(SetupError, match=reason) as info:
        build_core(_broken(path, value))
    assert info.value.path == where
