"""Declaring signals from a strategy: small builders for the core's declaration.

A strategy whose decisions hang on indicator events (a crossing, a level)
can let the core compute the indicators and wake it only when a condition
holds, instead of being called on every bar (``docs/reference/signals.md``
has the rules and the exact arithmetic; the strategy guide shows a strategy
both ways)::

    from lockstep.runtime.signals import Signals, crossover, crossunder, sma

    class SmaCrossSignals(Strategy):
        def signals(self) -> Signals:
            return Signals(
                indicators={"fast": sma("close", 10), "slow": sma("close", 30)},
                conditions={"enter": crossover("fast", "slow"),
                            "exit": crossunder("fast", "slow")},
            )

        def on_signal(self, ctx, signal):
            ...

The builders only write the JSON declaration; the core checks it (and
refuses it whole, before the run starts) so both backends judge one text.
An operand is an indicator's name, a bar field (``"close"``...) or a number
(``int``, ``Decimal`` or a decimal string), which becomes an exact constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

Spec = dict[str, Any]
Operand = str | int | Decimal


@dataclass(frozen=True, slots=True)
class Signals:
    """Indicators and the named conditions that wake the strategy.

    Each condition that holds on a bar is named in :attr:`Signal.fired`.
    """

    indicators: Mapping[str, Spec]
    conditions: Mapping[str, Spec]

    def declaration(self, instruments: tuple[str, ...] | None) -> Spec:
        """The core's declaration, for ``instruments`` (``None``: all of the setup)."""
        return {
            "instruments": None if instruments is None else list(instruments),
            "indicators": {name: dict(spec) for name, spec in self.indicators.items()},
            "conditions": dict(self.conditions),
        }


def _indicator(kind: str, field: str, period: int) -> Spec:
    return {"kind": kind, "field": field, "period": period}


def sma(field: str, period: int) -> Spec:
    """Simple moving average of ``field`` over ``period`` bars."""
    return _indicator("sma", field, period)


def ema(field: str, period: int) -> Spec:
    """Exponential moving average (weight 2 / (period + 1)), seeded with the SMA."""
    return _indicator("ema", field, period)


def rsi(field: str, period: int) -> Spec:
    """Wilder's relative strength index, 0 to 100."""
    return _indicator("rsi", field, period)


def highest(field: str, period: int) -> Spec:
    """Largest ``field`` of the last ``period`` bars (this one included)."""
    return _indicator("highest", field, period)


def lowest(field: str, period: int) -> Spec:
    """Smallest ``field`` of the last ``period`` bars (this one included)."""
    return _indicator("lowest", field, period)


def operand(value: Operand) -> str | Spec:
    """A name stays a name; a number becomes an exact constant (floats are refused:
    they are not exact)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(
            f"a signal operand is a name, an int or a Decimal, not {type(value).__name__}"
        )
    if isinstance(value, str) and not _is_decimal(value):
        return value
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"a signal constant must be finite, got {value}")
    return {"value": format(number, "f")}


def _is_decimal(text: str) -> bool:
    head = text.removeprefix("-")
    whole, _, frac = head.partition(".")
    return whole.isdigit() and (frac == "" or frac.isdigit()) and head.isascii()


def _compare(op: str, left: Operand, right: Operand) -> Spec:
    return {"op": op, "left": operand(left), "right": operand(right)}


def above(left: Operand, right: Operand) -> Spec:
    """``left > right`` on this bar."""
    return _compare("above", left, right)


def below(left: Operand, right: Operand) -> Spec:
    """``left < right`` on this bar."""
    return _compare("below", left, right)


def crossover(left: Operand, right: Operand) -> Spec:
    """``left`` rose above ``right`` on this bar (it was not above on the previous one)."""
    return _compare("crossover", left, right)


def crossunder(left: Operand, right: Operand) -> Spec:
    """``left`` fell below ``right`` on this bar (it was not below on the previous one)."""
    return _compare("crossunder", left, right)


def all_of(*conditions: Spec) -> Spec:
    """Every condition holds."""
    return {"op": "all", "of": list(conditions)}


def any_of(*conditions: Spec) -> Spec:
    """At least one condition holds."""
    return {"op": "any", "of": list(conditions)}


def not_(condition: Spec) -> Spec:
    """The condition does not hold (unknown stays unknown while indicators warm up)."""
    return {"op": "not", "of": condition}


def decimal_values(
    raw: Mapping[str, int | None], places: Mapping[str, int]
) -> Mapping[str, Decimal | None]:
    """The core's indicator integers as exact decimals (``None`` stays ``None``)."""
    return MappingProxyType(
        {name: None if v is None else Decimal(v).scaleb(-places[name]) for name, v in raw.items()}
    )
