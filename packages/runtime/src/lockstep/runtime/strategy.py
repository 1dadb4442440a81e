"""The event-native strategy API.

A strategy is a class: it declares its parameters and what wakes it, and the
runtime calls it with a :class:`~lockstep.runtime.context.Context` and an
immutable event. It acts only by recording intents (``ctx.buy(...)``) or by
returning intent dicts; the runtime submits them to the core as one intent
batch per time step (ADR 0009). A strategy never sees or touches the core.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from lockstep.runtime.errors import StrategyError
from lockstep.runtime.params import Params, resolve

if TYPE_CHECKING:
    from lockstep.runtime.context import Context
    from lockstep.runtime.signals import Signals
    from lockstep.runtime.views import Event, Fill, OrderUpdate, Signal

Intent = dict[str, Any]
EVENT_TYPES = frozenset({"bar", "trade", "quote", "timer", "halt", "resume", "set_risk_flag"})
_ID = re.compile(r"^[A-Za-z0-9_.:/\-]{1,40}$")


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """What wakes a strategy's ``on_event``.

    ``instruments=None`` means every instrument of the setup. ``event_types``
    are envelope event types (market ``bar``/``trade``/``quote``, ``timer``,
    control ``halt``/``resume``/``set_risk_flag``). ``timers=None`` means every
    timer when ``timer`` is subscribed. Fills and order updates of the
    strategy's own orders always reach ``on_fill``/``on_order``.
    """

    instruments: tuple[str, ...] | None = None
    event_types: frozenset[str] = field(default_factory=lambda: frozenset({"bar"}))
    timers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.event_types) - EVENT_TYPES
        if unknown:
            raise StrategyError(
                f"unknown event types in subscriptions: {sorted(unknown)}; "
                f"expected some of {sorted(EVENT_TYPES)}"
            )

    def wants(self, event_type: str, instrument: str | None, timer_id: str | None = None) -> bool:
        if event_type not in self.event_types:
            return False
        if event_type == "timer":
            return self.timers is None or timer_id in self.timers
        if instrument is None or self.instruments is None:
            return True
        return instrument in self.instruments


class Strategy:
    """Base class of event-native strategies. Override what you need.

    Class attributes:

    ``params``
        declared parameters and their defaults; the default's type is the
        parameter's type. Instances see the resolved values in ``self.p``
        (attribute access) and ``self.param_values`` (a read-only mapping).
    ``subscriptions``
        what wakes :meth:`on_event` (default: bars of every instrument).
    ``history``
        how many recent bars per instrument ``ctx.bars()`` keeps.
    ``name``
        the default strategy id (else the class name in snake case).

    A strategy may also declare signals (:meth:`signals`): indicators the core
    computes on every bar and conditions that wake :meth:`on_signal` only on
    the bars where one holds. Bars then no longer reach :meth:`on_event`.
    """

    name: ClassVar[str] = ""
    params: ClassVar[Mapping[str, object]] = MappingProxyType({})
    subscriptions: ClassVar[Subscriptions] = Subscriptions()
    history: int = 500

    def __init__(self, strategy_id: str | None = None, **overrides: object) -> None:
        sid = strategy_id or type(self).name or _snake(type(self).__name__)
        if not _ID.match(sid):
            raise StrategyError(
                f"strategy id {sid!r} must be 1..40 characters of letters, digits and _.:/-"
            )
        self.strategy_id = sid
        declared = dict(type(self).params)
        self.param_values: Mapping[str, object] = MappingProxyType(
            resolve(sid, declared, overrides)
        )
        self.p = Params(self.param_values)

    # -- callbacks -----------------------------------------------------------------------------

    def on_start(self, ctx: Context) -> Iterable[Intent] | None:
        """Called once before the first event (the clock is 0; no market data yet)."""
        return None

    def on_event(self, ctx: Context, event: Event) -> Iterable[Intent] | None:
        """Called for each subscribed event, after its whole time step was committed."""
        return None

    def signals(self) -> Signals | None:
        """Indicators and conditions for the core to evaluate (default: none).

        Called once before the run, after the parameters are resolved, so
        periods may come from ``self.p``. The core refuses a declaration that
        breaks a rule before anything runs.
        """
        return None

    def on_signal(self, ctx: Context, signal: Signal) -> Iterable[Intent] | None:
        """Called on a bar where a declared condition holds, after its time step was committed."""
        return None

    def on_fill(self, ctx: Context, fill: Fill) -> Iterable[Intent] | None:
        """Called for each fill of this strategy's orders."""
        return None

    def on_order(self, ctx: Context, update: OrderUpdate) -> Iterable[Intent] | None:
        """Called for each state change of this strategy's orders and each rejected intent."""
        return None

    def on_stop(self, ctx: Context) -> None:
        """Called once after the last event; intents are no longer accepted."""
        return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()[:40]
