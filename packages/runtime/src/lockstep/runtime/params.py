"""Declared strategy parameters: defaults, overrides, and text coercion for the CLI.

A strategy declares ``params = {"fast": 10, "slow": 30}``; the defaults' types
are the parameters' types. Overrides are checked against that declaration so a
typo (``--param fsat=5``) is an error instead of a silently ignored value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from lockstep.runtime.errors import StrategyError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class Params:
    """Read-only attribute access to resolved parameters: ``self.p.fast``."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, object]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("strategy parameters are read-only")

    def as_dict(self) -> dict[str, object]:
        return dict(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"


def resolve(
    owner: str, declared: Mapping[str, object], overrides: Mapping[str, object]
) -> dict[str, object]:
    """Defaults updated by ``overrides``; unknown names and wrong types are refused."""
    values = dict(declared)
    for name, value in overrides.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise StrategyError(
                f"strategy {owner} has no parameter {name!r} (declared parameters: {known})"
            )
        values[name] = _coerce(owner, name, declared[name], value)
    return values


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """``["fast=5", "slow=20"]`` as a dict; a pair without ``=`` is an error."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise StrategyError(f"parameter {pair!r} is not of the form NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def to_json(values: Mapping[str, object]) -> dict[str, object]:
    """Parameters for the run store: Decimals as strings, everything else as it is."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in sorted(values.items())}


def _coerce(owner: str, name: str, default: object, value: object) -> object:
    kind = type(default)
    if isinstance(value, str) and kind is not str:
        return _from_text(owner, name, default, value)
    if kind is Decimal and isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if default is None or (isinstance(value, kind) and (kind is bool) == isinstance(value, bool)):
        return value
    raise StrategyError(
        f"strategy {owner}: parameter {name!r} expects {kind.__name__}, got {value!r}"
    )


def _from_text(owner: str, name: str, default: object, text: str) -> object:
    problem = f"strategy {owner}: parameter {name!r} expects {type(default).__name__}, got {text!r}"
    if isinstance(default, bool):
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise StrategyError(problem)
    try:
        if isinstance(default, int):
            return int(text)
        if isinstance(default, Decimal):
            return Decimal(text)
        if isinstance(default, float):
            return float(text)
    except (ValueError, InvalidOperation):
        raise StrategyError(problem) from None
    if default is None:
        return text
    raise StrategyError(problem)
