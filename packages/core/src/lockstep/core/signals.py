"""Signals: indicators and conditions the core evaluates on every committed bar.

A strategy that only acts when, say, two moving averages cross need not be
woken on the thousands of bars in between. It declares its indicators and
conditions (``docs/reference/signals.md``, the normative rules, and the
``signals`` schema); the core keeps them up to date as it commits bars and a
wake filter with ``signals`` set stops a block only on a bar that fires.

Everything here is integer arithmetic with floor division, so the native
core (``lockstep_core::signals``) computes the same values bit for bit; the
golden cases under ``lockstep/contracts/data/signals/`` pin both. Signal
state is derived from bars, not business state: it is kept out of snapshots,
state hashes and the trace.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from lockstep.core.coresetup import CoreSetup
from lockstep.core.errors import SetupError

EXTRA_PLACES: Final = 6
"""Decimal places every value carries beyond its operand's own (a bar field ``x`` is ``x * 10**6``)."""
SCALE: Final = 10**EXTRA_PLACES
FIELDS: Final = ("close", "high", "low", "open", "volume")
KINDS: Final = ("ema", "highest", "lowest", "rsi", "sma")
COMPARISONS: Final = ("above", "below", "crossover", "crossunder")
OPS: Final = ("above", "all", "any", "below", "crossover", "crossunder", "not")
MAX_ENTRIES: Final = 64
MAX_PERIOD: Final = 10_000
MAX_PARTS: Final = 16
MAX_DEPTH: Final = 8
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_I64: Final[tuple[int, int]] = (-(2**63), 2**63 - 1)
_OPERAND = 'must be an indicator, a bar field or {"value": "<decimal>"}'

# A checked condition is a tuple: ("cmp", op, left, right) with operands
# ("field", name) / ("ind", index) / ("const", value), or ("all"|"any", parts),
# or ("not", part); compiled per instrument, constants are at the places of the
# operand they are compared with.
Operand = tuple[str, Any]
Node = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Indicator:
    name: str
    kind: str
    field: str
    period: int

    @property
    def unit(self) -> str:
        return "percent" if self.kind == "rsi" else _field_unit(self.field)


@dataclass(frozen=True, slots=True)
class Declaration:
    """A checked declaration: indicators and conditions in name order, and per
    instrument the conditions compiled with constants at that instrument's places."""

    instruments: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    condition_names: tuple[str, ...]
    compiled: Mapping[str, tuple[Node, ...]]


def value_places(indicator: Indicator, instrument: str, setup: CoreSetup) -> int:
    """Decimal places of ``indicator``'s values for ``instrument`` (the contract's units table)."""
    return _places(indicator.unit, instrument, setup)


def _places(unit: str, instrument: str, setup: CoreSetup) -> int:
    inst = setup.instruments[instrument]
    if unit == "price":
        return inst.price_precision + EXTRA_PLACES
    if unit == "volume":
        return inst.size_precision + EXTRA_PLACES
    return EXTRA_PLACES


def _field_unit(field: str) -> str:
    return "volume" if field == "volume" else "price"


# -- checking a declaration -----------------------------------------------------------------


def parse_declaration(spec: Any, setup: CoreSetup) -> Declaration:
    """Check ``spec`` against the contract's rules, in its order; refuse the first problem."""
    if not isinstance(spec, Mapping):
        raise SetupError("$", "must be an object")
    for key in sorted(spec):
        if key not in ("instruments", "indicators", "conditions"):
            raise SetupError(f"$.{key}", "unknown field")
    instruments = _instruments(spec.get("instruments"), setup)
    indicators = _indicators(spec)
    by_name = {ind.name: ind for ind in indicators}
    checker = _Checker(by_name, instruments, setup)
    names: list[str] = []
    checked: list[Node] = []
    for name, node in _entries(spec, "conditions", "conditions"):
        names.append(name)
        checked.append(checker.node(node, f"$.conditions.{name}", 1))
    compiled = {
        inst: tuple(_compile(c, inst, setup, by_name) for c in checked) for inst in instruments
    }
    return Declaration(instruments, indicators, tuple(names), compiled)


def _instruments(value: Any, setup: CoreSetup) -> tuple[str, ...]:
    if value is None:
        return tuple(sorted(setup.instruments))
    if not isinstance(value, list) or not value:
        raise SetupError("$.instruments", "must be null or a non-empty array of instrument ids")
    seen: list[str] = []
    for n, inst in enumerate(value):
        path = f"$.instruments[{n}]"
        if not isinstance(inst, str):
            raise SetupError(path, "must be an instrument id")
        if inst not in setup.instruments:
            raise SetupError(path, f"unknown instrument '{inst}'")
        if inst in seen:
            raise SetupError(path, f"duplicate instrument '{inst}'")
        seen.append(inst)
    return tuple(seen)


def _entries(spec: Mapping[str, Any], key: str, what: str) -> Iterator[tuple[str, Any]]:
    """The named entries of ``spec[key]`` in name order, each name checked just before
    its entry is handed out (the contract checks one entry whole, then the next)."""
    if key not in spec:
        raise SetupError(f"$.{key}", "required")
    value = spec[key]
    if not isinstance(value, Mapping) or not 1 <= len(value) <= MAX_ENTRIES:
        raise SetupError(f"$.{key}", f"must be an object of 1 to {MAX_ENTRIES} {what}")
    for name in sorted(value):
        if not _NAME.fullmatch(name):
            raise SetupError(
                f"$.{key}.{name}",
                "names are 1 to 40 letters, digits or _, not starting with a digit",
            )
        yield name, value[name]


def _indicators(spec: Mapping[str, Any]) -> tuple[Indicator, ...]:
    out = []
    for name, body in _entries(spec, "indicators", "indicators"):
        path = f"$.indicators.{name}"
        if name in FIELDS:
            raise SetupError(path, f"'{name}' is a bar field; choose another name")
        if not isinstance(body, Mapping):
            raise SetupError(path, "must be an object")
        for key in sorted(body):
            if key not in ("kind", "field", "period"):
                raise SetupError(f"{path}.{key}", "unknown field")
        for key in ("kind", "field", "period"):
            if key not in body:
                raise SetupError(f"{path}.{key}", "required")
            value = body[key]
            if key == "kind" and value not in KINDS:
                raise SetupError(f"{path}.kind", f"must be one of {', '.join(KINDS)}")
            if key == "field" and value not in FIELDS:
                raise SetupError(f"{path}.field", f"must be one of {', '.join(FIELDS)}")
            if key == "period" and not (
                type(value) is int and 1 <= value <= MAX_PERIOD  # bool is not an integer here
            ):
                raise SetupError(f"{path}.period", f"must be an integer from 1 to {MAX_PERIOD}")
        out.append(Indicator(name, body["kind"], body["field"], body["period"]))
    return tuple(out)


class _Checker:
    """Checks one condition tree depth-first and returns it with operands resolved
    (constants still as their decimal strings: their places differ per instrument)."""

    def __init__(
        self, indicators: Mapping[str, Indicator], instruments: Sequence[str], setup: CoreSetup
    ) -> None:
        self.indicators = indicators
        self.instruments = instruments
        self.setup = setup

    def node(self, node: Any, path: str, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise SetupError(path, f"conditions nest at most {MAX_DEPTH} deep")
        if not isinstance(node, Mapping):
            raise SetupError(path, "must be an object")
        if "op" not in node:
            raise SetupError(f"{path}.op", "required")
        op = node["op"]
        if op not in OPS:
            raise SetupError(f"{path}.op", f"must be one of {', '.join(OPS)}")
        keys = ("op", "left", "right") if op in COMPARISONS else ("op", "of")
        for key in sorted(node):
            if key not in keys:
                raise SetupError(f"{path}.{key}", "unknown field")
        if op in COMPARISONS:
            return self._comparison(op, node, path)
        if "of" not in node:
            raise SetupError(f"{path}.of", "required")
        if op == "not":
            return ("not", self.node(node["of"], f"{path}.of", depth + 1))
        parts = node["of"]
        if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_PARTS:
            raise SetupError(f"{path}.of", f"must be an array of 1 to {MAX_PARTS} conditions")
        return (op, tuple(self.node(p, f"{path}.of[{n}]", depth + 1) for n, p in enumerate(parts)))

    def _comparison(self, op: str, node: Mapping[str, Any], path: str) -> Node:
        sides = []
        for side in ("left", "right"):
            if side not in node:
                raise SetupError(f"{path}.{side}", "required")
            sides.append(self._operand(node[side], f"{path}.{side}"))
        (left, left_unit), (right, right_unit) = sides
        if left_unit is None and right_unit is None:
            raise SetupError(path, "compares two constants")
        if left_unit is not None and right_unit is not None and left_unit != right_unit:
            raise SetupError(path, f"compares {left_unit} with {right_unit}")
        for side, (operand, unit), other in (
            ("left", sides[0], right_unit),
            ("right", sides[1], left_unit),
        ):
            if unit is None:
                assert other is not None
                for inst in self.instruments:
                    _constant(operand[1], _places(other, inst, self.setup), inst, f"{path}.{side}")
        return ("cmp", op, left, right, left_unit or right_unit)

    def _operand(self, value: Any, path: str) -> tuple[Operand, str | None]:
        if isinstance(value, str):
            if value in FIELDS:
                return ("field", value), _field_unit(value)
            if value in self.indicators:
                return ("ind", value), self.indicators[value].unit
            raise SetupError(path, f"unknown indicator '{value}'")
        if (
            isinstance(value, Mapping)
            and list(value) == ["value"]
            and isinstance(value["value"], str)
            and _DECIMAL.fullmatch(value["value"])
        ):
            return ("const", value["value"]), None
        raise SetupError(path, _OPERAND)


def _constant(text: str, places: int, instrument: str, path: str) -> int:
    """``text`` exactly at ``places`` decimal places, or the contract's refusal."""
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text)
    whole, _, frac = digits.partition(".")
    if len(frac) > places:  # places as written: "1.50" has two
        raise SetupError(path, f"{text} has more than {places} decimal places for '{instrument}'")
    significant = (whole + frac).lstrip("0")
    # Over 19 digits at these places is beyond int64 (and beyond int()'s digit limit).
    if len(significant) + places - len(frac) > 19:
        raise SetupError(path, f"{text} is out of range for '{instrument}'")
    scaled: int = sign * int(significant or "0") * 10 ** (places - len(frac))
    if not _I64[0] <= scaled <= _I64[1]:
        raise SetupError(path, f"{text} is out of range for '{instrument}'")
    return scaled


def _compile(
    node: Node, instrument: str, setup: CoreSetup, indicators: Mapping[str, Indicator]
) -> Node:
    """``node`` for one instrument: indicator names become indexes (name order) and
    constants integers at the places of the operand they are compared with."""
    order = {name: n for n, name in enumerate(sorted(indicators))}
    if node[0] == "cmp":
        _, op, left, right, unit = node
        places = _places(unit, instrument, setup)

        def resolve(operand: Operand) -> Operand:
            kind, what = operand
            if kind == "ind":
                return ("ind", order[what])
            if kind == "const":
                return ("const", _constant(what, places, instrument, "$"))
            return operand

        return ("cmp", op, resolve(left), resolve(right))
    if node[0] == "not":
        return ("not", _compile(node[1], instrument, setup, indicators))
    return (node[0], tuple(_compile(p, instrument, setup, indicators) for p in node[1]))


# -- evaluation -----------------------------------------------------------------------------
#
# Per instrument, every operand has a slot in one list per bar: the indicators'
# values (name order), then the five scaled bar fields (FIELDS order), then the
# constants. A condition is a closure over slot numbers reading this bar's list
# and the previous bar's, and answering True, False or None (unknown).

Slots = list[int | None]
Test = Callable[[Slots, Slots], "bool | None"]


class _Sma:
    __slots__ = ("n", "total", "value", "window")

    def __init__(self, n: int) -> None:
        self.n = n
        self.window: deque[int] = deque()
        self.total = 0
        self.value: int | None = None

    def update(self, x: int) -> int | None:
        window = self.window
        window.append(x)
        self.total += x
        if len(window) > self.n:
            self.total -= window.popleft()
        if len(window) == self.n:
            self.value = self.total // self.n
        return self.value


class _Ema:
    __slots__ = ("count", "n", "total", "value")

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = self.total = 0
        self.value: int | None = None

    def update(self, x: int) -> int | None:
        value = self.value
        if value is not None:
            value += (2 * (x - value)) // (self.n + 1)  # floored, also when negative
            self.value = value
            return value
        self.count += 1
        self.total += x
        if self.count == self.n:
            self.value = self.total // self.n  # seeded with the SMA of the first n bars
        return self.value


class _Extreme:
    __slots__ = ("pick", "value", "window")

    def __init__(self, n: int, pick: Callable[[deque[int]], int]) -> None:
        self.window: deque[int] = deque(maxlen=n)
        self.pick = pick
        self.value: int | None = None

    def update(self, x: int) -> int | None:
        window = self.window
        window.append(x)
        if len(window) == window.maxlen:
            self.value = self.pick(window)
        return self.value


class _Rsi:
    __slots__ = ("ad", "au", "count", "n", "previous", "value")

    def __init__(self, n: int) -> None:
        self.n = n
        self.previous: int | None = None
        self.count = self.au = self.ad = 0
        self.value: int | None = None

    def update(self, x: int) -> int | None:
        previous, self.previous = self.previous, x
        if previous is None:
            return None
        n = self.n
        up = x - previous if x > previous else 0
        down = previous - x if x < previous else 0
        self.count += 1
        if self.count < n:
            self.au += up
            self.ad += down
            return None
        if self.count == n:  # seeded with the plain means of the first n changes
            self.au = (self.au + up) // n
            self.ad = (self.ad + down) // n
        else:  # Wilder's smoothing
            self.au = (self.au * (n - 1) + up) // n
            self.ad = (self.ad * (n - 1) + down) // n
        total = self.au + self.ad
        self.value = 50 * SCALE if total == 0 else (100 * SCALE * self.au) // total
        return self.value


_Series = _Sma | _Ema | _Extreme | _Rsi


def _series(indicator: Indicator) -> _Series:
    n, kind = indicator.period, indicator.kind
    if kind == "sma":
        return _Sma(n)
    if kind == "ema":
        return _Ema(n)
    if kind == "rsi":
        return _Rsi(n)
    return _Extreme(n, max if kind == "highest" else min)


class _Instrument:
    """One instrument's indicators and its slots for this bar and the previous one."""

    __slots__ = ("constants", "inputs", "now", "previous", "series", "tests")

    def __init__(self, declaration: Declaration, instrument: str) -> None:
        indicators = declaration.indicators
        self.series = [_series(ind) for ind in indicators]
        self.inputs = [FIELDS.index(ind.field) for ind in indicators]
        self.constants: list[int] = []
        base = len(indicators)
        self.tests = [
            _closure(node, base, self.constants) for node in declaration.compiled[instrument]
        ]
        self.now: Slots = [None] * (base + len(FIELDS)) + self.constants
        self.previous: Slots = self.now


def _closure(node: Node, base: int, constants: list[int]) -> Test:
    """``node`` as a test over slots; constants are appended to ``constants``."""
    head = node[0]
    if head == "cmp":
        _, op, left, right = node
        a, b = (_slot(operand, base, constants) for operand in (left, right))
        return _comparison(op, a, b)
    if head == "not":
        inner = _closure(node[1], base, constants)

        def negation(now: Slots, before: Slots) -> bool | None:
            result = inner(now, before)
            return None if result is None else not result

        return negation
    parts = [_closure(part, base, constants) for part in node[1]]
    decisive = head == "any"  # any: one True decides; all: one False decides

    def combination(now: Slots, before: Slots) -> bool | None:
        unknown = False
        for part in parts:
            result = part(now, before)
            if result is decisive:
                return decisive
            if result is None:
                unknown = True
        return None if unknown else not decisive

    return combination


def _slot(operand: Operand, base: int, constants: list[int]) -> int:
    kind, what = operand
    if kind == "ind":
        return int(what)
    if kind == "field":
        return base + FIELDS.index(what)
    constants.append(int(what))
    return base + len(FIELDS) + len(constants) - 1


def _comparison(op: str, a: int, b: int) -> Test:
    if op == "above":

        def above(now: Slots, before: Slots) -> bool | None:
            x, y = now[a], now[b]
            return None if x is None or y is None else x > y

        return above
    if op == "below":

        def below(now: Slots, before: Slots) -> bool | None:
            x, y = now[a], now[b]
            return None if x is None or y is None else x < y

        return below
    rising = op == "crossover"

    def crossing(now: Slots, before: Slots) -> bool | None:
        x, y, px, py = now[a], now[b], before[a], before[b]
        if x is None or y is None or px is None or py is None:
            return None
        return (x > y and px <= py) if rising else (x < y and px >= py)

    return crossing


class SignalBook:
    """A declaration and its state per instrument; the cores call :meth:`observe`
    for every committed bar."""

    def __init__(self, declaration: Declaration) -> None:
        self.declaration = declaration
        self._names = [ind.name for ind in declaration.indicators]
        self._state: dict[str, _Instrument] = {}
        self._pending: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        """Forget every value and untaken firing (the declaration stays): the state
        after ``restore``, since a snapshot holds no signal state."""
        self._state = {
            inst: _Instrument(self.declaration, inst) for inst in self.declaration.instruments
        }
        self._pending = []

    def observe(
        self, seq_id: int, event_time: int, instrument: str, bar: Mapping[str, int]
    ) -> None:
        state = self._state.get(instrument)
        if state is None:
            return
        fields = [bar[f] * SCALE for f in FIELDS]
        now = [s.update(fields[i]) for s, i in zip(state.series, state.inputs, strict=True)]
        now += fields
        now += state.constants
        before, state.previous, state.now = state.now, state.now, now
        names = self.declaration.condition_names
        fired = [names[k] for k, test in enumerate(state.tests) if test(now, before) is True]
        if fired:
            values = dict(zip(self._names, now, strict=False))
            self._pending.append(
                {
                    "seq_id": seq_id,
                    "event_time": event_time,
                    "instrument": instrument,
                    "fired": fired,
                    "values": values,
                }
            )

    def fired(self, seq_id: int) -> bool:
        """Whether the bar committed as ``seq_id`` fired (and was not taken yet)."""
        # Asked right after the bar's item was committed: its firing, if any, is at the end.
        for firing in reversed(self._pending):
            if firing["seq_id"] <= seq_id:
                return bool(firing["seq_id"] == seq_id)
        return False

    def take(self) -> list[dict[str, Any]]:
        taken, self._pending = self._pending, []
        return taken

    def values(self, instrument: str) -> dict[str, int | None]:
        state = self._state.get(instrument)
        if state is None:
            raise SetupError("$", f"'{instrument}' is not one of the signals' instruments")
        return dict(zip(self._names, state.now, strict=False))


def places_by_instrument(spec: Any, setup: CoreSetup) -> dict[str, dict[str, int]]:
    """For each instrument of a declaration, each indicator's decimal places
    (what turns the integers of a firing into decimals)."""
    declaration = parse_declaration(spec, setup)
    return {
        inst: {ind.name: value_places(ind, inst, setup) for ind in declaration.indicators}
        for inst in declaration.instruments
    }
