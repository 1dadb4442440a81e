"""Lines: the time series strategies and indicators read with ``[0]``, ``[-1]`` and ``len()``.

Backtrader builds indicators declaratively: inside ``__init__`` an expression
such as ``self.data.close - SMA(self.data, period=20)`` makes a new line that
is computed bar by bar; inside ``next`` the same operators act on the current
values and give plain floats. The layer keeps that two-stage behaviour: while
an owner (a strategy or an indicator) runs its ``__init__`` it is on the
construction stack and operators build lines; afterwards they compute values.

Every derived line has a minimum period (how many bars it needs before its
first value) and a clock (the data feed whose bars drive it). Values are
computed with the same float arithmetic Backtrader uses (``math.fsum`` over
windows, the same smoothing recurrences), because a strategy's decisions, and
so its orders, depend on the last bit of an indicator value at a crossing.
Before its minimum period a line holds NaN.
"""

from __future__ import annotations

import datetime as _dt
import math
import operator
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from lockstep.runtime.compat.backtrader import params as _params
from lockstep.runtime.compat.backtrader.errors import CompatError as CompatError

if TYPE_CHECKING:
    from lockstep.runtime.compat.backtrader.feeds import DataBase

NAN = float("nan")


# --------------------------------------------------------------------------- construction stack

_OWNERS: list[LineOwner] = []


def current_owner() -> LineOwner | None:
    """The strategy or indicator whose ``__init__`` is running, if any."""
    return _OWNERS[-1] if _OWNERS else None


def building() -> bool:
    """True while some ``__init__`` runs: operators then build lines instead of computing."""
    return bool(_OWNERS)


class LineOwner:
    """Something that owns derived lines created while its ``__init__`` ran."""

    _children: list[Steppable]
    datas: list[Any]

    def _adopt(self, child: Steppable) -> None:
        self._children.append(child)


class Steppable:
    """A derived object that computes one more value each time its clock gets a bar."""

    _minperiod: int = 1
    _clock: DataBase | None = None

    def _step(self) -> None:
        raise NotImplementedError


def _register(obj: Steppable) -> None:
    owner = current_owner()
    if owner is None:
        raise CompatError(
            "indicators and line operations must be created in a Strategy or Indicator "
            "__init__ (during next() operators act on current values)"
        )
    owner._adopt(obj)


# --------------------------------------------------------------------------- single lines


def as_line(obj: Any) -> LineBuffer | None:
    """The line behind ``obj``: itself, the first line of a series, or None for a constant."""
    if isinstance(obj, LineBuffer):
        return obj
    if isinstance(obj, LineSeries):
        first: LineBuffer = obj.lines[0]
        return first
    return None


def _line_or_num(obj: Any) -> LineBuffer | LineNum:
    line = as_line(obj)
    return line if line is not None else LineNum(obj)


def _value(obj: Any) -> Any:
    line = as_line(obj)
    return line[0] if line is not None else obj


class LineBuffer:
    """One line of float values, oldest first; ``[0]`` is the current value, ``[-1]`` the one before."""

    __hash__ = object.__hash__

    def __init__(self, name: str = "", clock: DataBase | None = None) -> None:
        self.array: array[float] = array("d")
        """Doubles, as Backtrader's own buffers: a value costs 8 bytes, not a float object."""
        self.name = name
        self._clock = clock
        self._minperiod = 1

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, ago: int) -> float:
        if ago > 0:
            raise IndexError(
                f"line {self.name or '?'}[{ago}] looks into the future; the layer streams "
                "bars and has no look-ahead"
            )
        index = len(self.array) - 1 + ago
        if index < 0:
            return NAN
        return self.array[index]

    def __setitem__(self, ago: int, value: float) -> None:
        index = len(self.array) - 1 + ago
        if index < 0 or ago > 0:
            raise IndexError(f"cannot set line {self.name or '?'}[{ago}]")
        self.array[index] = float(value)

    def get(self, ago: int = 0, size: int = 1) -> list[float]:
        """``size`` values ending ``ago`` bars back (fewer when the line is shorter)."""
        end = len(self.array) + ago
        start = max(0, end - size)
        return self.array[start:end].tolist() if end - start == size else []

    def getzero(self, idx: int = 0, size: int = 1) -> list[float]:
        return self.array[idx : idx + size].tolist()

    @property
    def lines(self) -> Lines:
        return Lines([self], [self.name])

    def buflen(self) -> int:
        return len(self.array)

    # -- call: delayed lines -------------------------------------------------------------------

    def __call__(self, ago: int = 0) -> Any:
        if not building():
            return self[ago]
        if ago > 0:
            raise CompatError("line(+n) (look-ahead lines) is not supported")
        return Delay(self, -ago)

    # -- operators -----------------------------------------------------------------------------

    def _op(self, other: Any, op: Callable[[Any, Any], Any], *, reverse: bool = False) -> Any:
        if not building():
            a, b = self[0], _value(other)
            return op(b, a) if reverse else op(a, b)
        return Binary(self, other, op, reverse=reverse)

    def _own(self, op: Callable[[Any], Any]) -> Any:
        if not building():
            return op(self[0])
        return Unary(self, op)

    def __add__(self, other: Any) -> Any:
        return self._op(other, operator.add)

    def __radd__(self, other: Any) -> Any:
        return self._op(other, operator.add, reverse=True)

    def __sub__(self, other: Any) -> Any:
        return self._op(other, operator.sub)

    def __rsub__(self, other: Any) -> Any:
        return self._op(other, operator.sub, reverse=True)

    def __mul__(self, other: Any) -> Any:
        return self._op(other, operator.mul)

    def __rmul__(self, other: Any) -> Any:
        return self._op(other, operator.mul, reverse=True)

    def __truediv__(self, other: Any) -> Any:
        return self._op(other, operator.truediv)

    def __rtruediv__(self, other: Any) -> Any:
        return self._op(other, operator.truediv, reverse=True)

    def __floordiv__(self, other: Any) -> Any:
        return self._op(other, operator.floordiv)

    def __rfloordiv__(self, other: Any) -> Any:
        return self._op(other, operator.floordiv, reverse=True)

    def __mod__(self, other: Any) -> Any:
        return self._op(other, operator.mod)

    def __rmod__(self, other: Any) -> Any:
        return self._op(other, operator.mod, reverse=True)

    def __pow__(self, other: Any) -> Any:
        return self._op(other, operator.pow)

    def __rpow__(self, other: Any) -> Any:
        return self._op(other, operator.pow, reverse=True)

    def __lt__(self, other: Any) -> Any:
        return self._op(other, operator.lt)

    def __le__(self, other: Any) -> Any:
        return self._op(other, operator.le)

    def __gt__(self, other: Any) -> Any:
        return self._op(other, operator.gt)

    def __ge__(self, other: Any) -> Any:
        return self._op(other, operator.ge)

    def __eq__(self, other: object) -> Any:
        return self._op(other, operator.eq)

    def __ne__(self, other: object) -> Any:
        return self._op(other, operator.ne)

    def __neg__(self) -> Any:
        return self._own(operator.neg)

    def __pos__(self) -> Any:
        return self._own(operator.pos)

    def __abs__(self) -> Any:
        return self._own(abs)

    def __bool__(self) -> bool:
        if building():
            raise CompatError("the truth value of a line is only known during next()")
        return bool(self[0])

    def __float__(self) -> float:
        return float(self[0])

    def __repr__(self) -> str:
        return f"<line {self.name or type(self).__name__} len={len(self)}>"


class DateTimeLine(LineBuffer):
    """A data feed's ``datetime`` line: day numbers, plus the datetimes they stand for."""

    def __init__(self, name: str = "datetime", clock: DataBase | None = None) -> None:
        super().__init__(name, clock)
        self.stamps: list[_dt.datetime] = []

    def _stamp(self, ago: int) -> _dt.datetime:
        index = len(self.stamps) - 1 + ago
        if index < 0 or ago > 0:
            raise IndexError(f"no bar {ago} bars back (the feed has {len(self.stamps)})")
        return self.stamps[index]

    def datetime(self, ago: int = 0, tz: Any = None, naive: bool = True) -> _dt.datetime:
        """The bar's datetime: naive, in UTC (as Backtrader returns it without a ``tz``)."""
        return self._stamp(ago)

    def date(self, ago: int = 0, tz: Any = None, naive: bool = True) -> _dt.date:
        return self._stamp(ago).date()

    def time(self, ago: int = 0, tz: Any = None, naive: bool = True) -> _dt.time:
        return self._stamp(ago).time()


class LineNum:
    """A constant used where a line is expected (``And(line, 1.0)``)."""

    def __init__(self, value: float) -> None:
        self.value = value


# --------------------------------------------------------------------------- derived lines


def _at(line: LineBuffer, i: int) -> float:
    arr = line.array
    if 0 <= i < len(arr):
        return arr[i]
    if i < 0 or not arr:
        return NAN
    return arr[-1]  # an operand on a slower clock: its latest value


class Derived(LineBuffer, Steppable):
    """A line computed from other lines, one value per bar of its clock."""

    def __init__(self, operands: Sequence[Any], minperiod: int, name: str = "") -> None:
        lines = [line for line in (as_line(o) for o in operands) if line is not None]
        clock = next((line._clock for line in lines if line._clock is not None), None)
        super().__init__(name, clock)
        self._minperiod = max(1, minperiod)
        _register(self)

    def _step(self) -> None:
        clock = self._clock
        target = len(clock) if clock is not None else 0
        arr = self.array
        while len(arr) < target:
            i = len(arr)
            if i + 1 < self._minperiod:
                arr.append(NAN)
            else:
                arr.append(float(self._compute(i, i + 1 == self._minperiod)))

    def _compute(self, i: int, first: bool) -> Any:
        raise NotImplementedError


def _mp(obj: Any) -> int:
    line = as_line(obj)
    if line is not None:
        return line._minperiod
    if isinstance(obj, LineSeries):
        return obj._minperiod
    return 1


class Binary(Derived):
    """``a op b`` where either side may be a constant; ``reverse`` computes ``b op a``."""

    def __init__(self, a: Any, b: Any, op: Callable[[Any, Any], Any], *, reverse: bool) -> None:
        self.a = as_line(a)
        self.b_line = as_line(b)
        self.b_value = b
        self.op = op
        self.reverse = reverse
        super().__init__([a, b], max(_mp(a), _mp(b)))

    def _compute(self, i: int, first: bool) -> Any:
        assert self.a is not None
        x = _at(self.a, i)
        y = _at(self.b_line, i) if self.b_line is not None else self.b_value
        return self.op(y, x) if self.reverse else self.op(x, y)


class Unary(Derived):
    def __init__(self, a: LineBuffer, op: Callable[[Any], Any]) -> None:
        self.a = a
        self.op = op
        super().__init__([a], a._minperiod)

    def _compute(self, i: int, first: bool) -> Any:
        return self.op(_at(self.a, i))


class Delay(Derived):
    """``line(-n)``: the value ``n`` bars back."""

    def __init__(self, a: LineBuffer, n: int) -> None:
        self.a = a
        self.n = n
        super().__init__([a], a._minperiod + n)

    def _compute(self, i: int, first: bool) -> Any:
        return _at(self.a, i - self.n)


class Window(Derived):
    """A function of the last ``period`` values of one line (mean, sum, max, min, ...)."""

    def __init__(
        self, a: Any, period: int, func: Callable[[Sequence[float]], Any], name: str = ""
    ) -> None:
        line = as_line(a)
        if line is None:
            raise CompatError("a windowed indicator needs a line, not a constant")
        self.a = line
        self.period = int(period)
        self.func = func
        super().__init__([line], line._minperiod + self.period - 1, name)

    def _compute(self, i: int, first: bool) -> Any:
        return self.func(self.a.array[i - self.period + 1 : i + 1])


class Smoothing(Derived):
    """Exponential smoothing seeded with the simple mean of the first ``period`` values."""

    def __init__(self, a: Any, period: int, alpha: float | None = None) -> None:
        line = as_line(a)
        if line is None:
            raise CompatError("smoothing needs a line, not a constant")
        self.a = line
        self.period = int(period)
        self.alpha = alpha if alpha is not None else 2.0 / (1.0 + self.period)
        self.alpha1 = 1.0 - self.alpha
        super().__init__([line], line._minperiod + self.period - 1)

    def _compute(self, i: int, first: bool) -> Any:
        if first:
            return math.fsum(self.a.array[i - self.period + 1 : i + 1]) / self.period
        return self.array[i - 1] * self.alpha1 + self.a.array[i] * self.alpha


class NonZeroDiff(Derived):
    """``a - b``, carrying the previous value forward while the difference is zero."""

    def __init__(self, a: Any, b: Any) -> None:
        self.a = as_line(a)
        self.b = as_line(b)
        super().__init__([a, b], max(_mp(a), _mp(b)))

    def _compute(self, i: int, first: bool) -> Any:
        assert self.a is not None and self.b is not None
        d = _at(self.a, i) - _at(self.b, i)
        if first:
            return d
        return d if d else self.array[i - 1]


class Multi(Derived):
    """A function of the current values of several lines or constants (``Max``, ``And``...)."""

    def __init__(self, func: Callable[[list[Any]], Any], args: Sequence[Any]) -> None:
        self.args = [_line_or_num(a) for a in args]
        self.func = func
        super().__init__(args, max([_mp(a) for a in args] or [1]))

    def _compute(self, i: int, first: bool) -> Any:
        return self.func([a.value if isinstance(a, LineNum) else _at(a, i) for a in self.args])


class IfLine(Derived):
    def __init__(self, cond: Any, a: Any, b: Any) -> None:
        self.parts = [_line_or_num(x) for x in (cond, a, b)]
        super().__init__([cond, a, b], max(_mp(a), _mp(b), _mp(cond)))

    def _compute(self, i: int, first: bool) -> Any:
        cond, a, b = (p.value if isinstance(p, LineNum) else _at(p, i) for p in self.parts)
        return a if cond else b


class SafeDiv(Derived):
    """``a / b`` with chosen results where ``b`` is zero (``DivByZero``, ``DivZeroByZero``)."""

    def __init__(self, a: Any, b: Any, zero: float, single: float | None = None) -> None:
        self.a = as_line(a)
        self.b = as_line(b)
        self.zero = zero
        self.single = single
        super().__init__([a, b], max(_mp(a), _mp(b)))

    def _compute(self, i: int, first: bool) -> Any:
        assert self.a is not None and self.b is not None
        x, y = _at(self.a, i), _at(self.b, i)
        if y == 0.0:
            if self.single is None:
                return self.zero
            return self.zero if x == 0.0 else self.single
        return x / y


# --------------------------------------------------------------------------- series


class Lines:
    """The lines of a series: by index (``lines[0]``) and by name (``lines.close``)."""

    _lines: list[LineBuffer]
    _names: list[str]

    def __init__(self, lines: list[LineBuffer], names: list[str]) -> None:
        object.__setattr__(self, "_lines", lines)
        object.__setattr__(self, "_names", names)

    def __getitem__(self, index: int) -> LineBuffer:
        return self._lines[index]

    def __setitem__(self, index: int, value: Any) -> None:
        self._bind(index, value)

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[LineBuffer]:
        return iter(list(self._lines))

    def __getattr__(self, name: str) -> LineBuffer:
        names = self.__dict__["_names"]
        if name in names:
            line: LineBuffer = self.__dict__["_lines"][names.index(name)]
            return line
        raise AttributeError(f"no line named {name!r} (lines: {', '.join(names)})")

    def __setattr__(self, name: str, value: Any) -> None:
        names = self._names
        if name not in names:
            raise AttributeError(f"no line named {name!r} (lines: {', '.join(names)})")
        self._bind(names.index(name), value)

    def _bind(self, index: int, value: Any) -> None:
        line = as_line(value)
        if line is None:
            raise CompatError("a line can only be bound to another line or indicator")
        self._lines[index] = line

    def getlinealiases(self) -> tuple[str, ...]:
        return tuple(self._names)

    def _getlinealias(self, index: int) -> str:
        return self._names[index]

    def size(self) -> int:
        return len(self._lines)


class _PlotInfo:
    """Accepts any plotting attribute and ignores it (the layer does not plot)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        return None


class LineSeries:
    """An object with named lines: data feeds, indicators, strategies."""

    __hash__ = object.__hash__
    _line_names: ClassVar[tuple[str, ...]] = ()
    lines: Any
    params: Any
    p: Any
    _minperiod: int = 1

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        lines = self.__dict__.get("lines")
        if lines is not None and name in lines._names:
            return getattr(lines, name)
        if name == "l" and lines is not None:
            return lines
        if name == "line" and lines is not None:
            return lines[0]
        if name.startswith("line") and name[4:].isdigit() and lines is not None:
            return lines[int(name[4:])]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __len__(self) -> int:
        return len(self.lines[0])

    def __getitem__(self, ago: int) -> float:
        return self._first()[ago]

    def __setitem__(self, ago: int, value: float) -> None:
        self.lines[0][ago] = value

    def __call__(self, ago: int = 0) -> Any:
        return self.lines[0](ago)

    def get(self, ago: int = 0, size: int = 1) -> list[float]:
        return self._first().get(ago, size)

    def _first(self) -> LineBuffer:
        line: LineBuffer = self.lines[0]
        return line

    def __add__(self, o: Any) -> Any:
        return self._first() + o

    def __radd__(self, o: Any) -> Any:
        return self._first().__radd__(o)

    def __sub__(self, o: Any) -> Any:
        return self._first() - o

    def __rsub__(self, o: Any) -> Any:
        return self._first().__rsub__(o)

    def __mul__(self, o: Any) -> Any:
        return self._first() * o

    def __rmul__(self, o: Any) -> Any:
        return self._first().__rmul__(o)

    def __truediv__(self, o: Any) -> Any:
        return self._first() / o

    def __rtruediv__(self, o: Any) -> Any:
        return self._first().__rtruediv__(o)

    def __pow__(self, o: Any) -> Any:
        return self._first() ** o

    def __rpow__(self, o: Any) -> Any:
        return self._first().__rpow__(o)

    def __lt__(self, o: Any) -> Any:
        return self._first() < o

    def __le__(self, o: Any) -> Any:
        return self._first() <= o

    def __gt__(self, o: Any) -> Any:
        return self._first() > o

    def __ge__(self, o: Any) -> Any:
        return self._first() >= o

    def __eq__(self, o: object) -> Any:
        return self._first() == o

    def __ne__(self, o: object) -> Any:
        return self._first() != o

    def __neg__(self) -> Any:
        return -self._first()

    def __abs__(self) -> Any:
        return abs(self._first())

    def __bool__(self) -> bool:
        return bool(self._first())

    def __float__(self) -> float:
        return float(self._first()[0])


def merged_line_names(cls: type) -> tuple[str, ...]:
    """Line names declared by ``cls`` and its bases (base names first)."""
    out: list[str] = []
    for klass in reversed(cls.__mro__):
        own = klass.__dict__.get("_own_lines")
        for name in own or ():
            if name not in out:
                out.append(name)
    return tuple(out)


class MetaLineSeries(type):
    """Prepares ``params`` and ``lines`` declarations when a class is created."""

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        raw = namespace.get("lines")
        if raw is not None and not isinstance(raw, property):
            cls._own_lines = tuple(raw) if not isinstance(raw, str) else (raw,)
            delattr(cls, "lines")
        elif "_own_lines" not in namespace:
            cls._own_lines = ()
        cls._line_names = merged_line_names(cls)
        _params.prepare_class(cls)


# --------------------------------------------------------------------------- indicators


def _holds(items: list[LineBuffer], obj: LineBuffer) -> bool:
    """Membership by identity (``in`` would call the lines' overloaded ``==``)."""
    return any(item is obj for item in items)


def _is_data_arg(obj: Any) -> bool:
    return isinstance(obj, LineBuffer | LineSeries)


class MetaIndicator(MetaLineSeries):
    """Builds an indicator: datas and params from the arguments, ``__init__`` on the stack."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        owner = current_owner()
        obj: Any = object.__new__(cls)  # type: ignore[arg-type]
        datas: list[Any] = []
        rest = list(args)
        while rest and _is_data_arg(rest[0]):
            datas.append(rest.pop(0))
        mindatas = int(getattr(cls, "_mindatas", 1))
        if not datas:
            if owner is None:
                raise CompatError(f"{cls.__name__} needs a data line (no owner to take one from)")
            datas = list(owner.datas[:mindatas])
        bag, extra = _params.split_kwargs(cls, kwargs)
        obj._setup(datas, bag)
        _OWNERS.append(obj)
        try:
            obj.__init__(*rest, **extra)
        finally:
            _OWNERS.pop()
        obj._finish()
        if owner is not None:
            owner._adopt(obj)
        return obj


class Indicator(LineSeries, LineOwner, Steppable, metaclass=MetaIndicator):
    """Base of indicators: declare ``lines`` and ``params``, bind lines in ``__init__`` or
    compute them in ``next``; ``addminperiod`` adds bars the computation needs."""

    _mindatas: ClassVar[int] = 1
    plotinfo: Any = None
    plotlines: Any = None
    data: Any
    data0: Any
    data1: Any
    datas: list[Any]

    def _setup(self, datas: list[Any], bag: _params.ParamsBag) -> None:
        self.__dict__["params"] = bag
        self.__dict__["p"] = bag
        self.__dict__["datas"] = datas
        self.__dict__["_children"] = []
        for n, d in enumerate(datas):
            self.__dict__[f"data{n}"] = d
        self.__dict__["data"] = datas[0]
        self.__dict__["plotinfo"] = _PlotInfo()
        self.__dict__["plotlines"] = _PlotInfo()
        clock_line = as_line(datas[0])
        clock = clock_line._clock if clock_line is not None else None
        self.__dict__["_clock"] = clock
        own = [LineBuffer(name, clock) for name in type(self)._line_names]
        self.__dict__["_own_buffers"] = list(own)
        self.__dict__["lines"] = Lines(own, list(type(self)._line_names))
        self.__dict__["_minperiod"] = max([_mp(d) for d in datas] or [1])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setattr__(self, name: str, value: Any) -> None:
        lines = self.__dict__.get("lines")
        if lines is not None and name in lines._names and as_line(value) is not None:
            setattr(lines, name, value)
            return
        object.__setattr__(self, name, value)

    def addminperiod(self, minperiod: int) -> None:
        self.__dict__["_minperiod"] = self._minperiod + minperiod - 1

    def setminperiod(self, minperiod: int) -> None:
        self.__dict__["_minperiod"] = minperiod

    def updateminperiod(self, minperiod: int) -> None:
        self.__dict__["_minperiod"] = max(self._minperiod, minperiod)

    def _finish(self) -> None:
        children = [c._minperiod for c in self._children]
        bound = [line._minperiod for line in self.lines if not _holds(self._own_buffers, line)]
        self.__dict__["_minperiod"] = max([self._minperiod, *children, *bound])
        for line in self._own_buffers:
            line._minperiod = self._minperiod

    def _step(self) -> None:
        for child in self._children:
            child._step()
        clock = self._clock
        if clock is None:
            return
        target = len(clock)
        buffers = [line for line in self._own_buffers if _holds(list(self.lines), line)]
        while buffers and len(buffers[0]) < target:
            for line in buffers:
                line.array.append(NAN)
            n = len(buffers[0])
            if n < self._minperiod:
                self.prenext()
            elif n == self._minperiod:
                self.nextstart()
            else:
                self.next()

    def prenext(self) -> None:
        pass

    def nextstart(self) -> None:
        self.next()

    def next(self) -> None:
        pass

    def once(self, start: int, end: int) -> None:
        pass
